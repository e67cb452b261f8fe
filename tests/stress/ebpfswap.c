/*
 * ebpfswap.c - the ebpf backend's filter swap under traffic: open it on
 * IFACE and, for SECONDS, keep replacing the capture filter, alternating
 * two expressions that both accept every UDP frame ("udp" and "udp or
 * icmp"), while draining the counts. A packet counted under both filters
 * or under neither would show in the UDP total, which the caller compares
 * with what it sent. Prints "udp PACKETS BYTES swaps N".
 *
 *   ebpfswap IFACE SECONDS
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "src/decode.h"

struct sum {
	unsigned long long pkts, bytes;
};

static void on_flow(void *user, const struct cap_flow *f)
{
	struct sum *s = user;

	if (f->key.kind != KIND_UDP4 || f->type == CAP_FLOW_MALFORMED)
		return;
	s->pkts += f->pkts[0] + f->pkts[1];
	s->bytes += f->bytes[0] + f->bytes[1];
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *exprs[2] = { "udp", "udp or icmp" };
	struct bpf_program prog[2];
	struct cap_config cfg = { 0 };
	struct cap_handle *h;
	struct sum s = { 0, 0 };
	char err[256];
	unsigned long swaps = 0;
	double end;

	if (argc != 3) {
		fprintf(stderr, "usage: ebpfswap IFACE SECONDS\n");
		return 2;
	}
	for (int i = 0; i < 2; i++)
		if (cap_compile(1, 65535, exprs[i], &prog[i], err,
				sizeof(err))) {
			fprintf(stderr, "ebpfswap: %s\n", err);
			return 1;
		}
	cfg.iface = argv[1];
	if (cap_ebpf_ops.open(&h, &cfg, err, sizeof(err)) ||
	    cap_ebpf_ops.set_filter(h, &prog[0], err, sizeof(err))) {
		fprintf(stderr, "ebpfswap: %s\n", err);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	end = now_s() + atof(argv[2]);
	while (now_s() < end) {
		if (cap_ebpf_ops.set_filter(h, &prog[++swaps & 1], err,
					    sizeof(err)) ||
		    cap_ebpf_ops.dispatch_flows(h, on_flow, &s, 2, err,
						sizeof(err)) < 0) {
			fprintf(stderr, "ebpfswap: %s\n", err);
			return 1;
		}
	}
	if (cap_ebpf_ops.dispatch_flows(h, on_flow, &s, CAP_FLOWS_FINAL, err,
					sizeof(err)) < 0) {
		fprintf(stderr, "ebpfswap: %s\n", err);
		return 1;
	}
	cap_ebpf_ops.close(h);
	for (int i = 0; i < 2; i++)
		pcap_freecode(&prog[i]);
	printf("udp %llu %llu swaps %lu\n", s.pkts, s.bytes, swaps);
	return 0;
}
