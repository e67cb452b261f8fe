/*
 * ebpfheavy.c - a flow heavier than one kernel flow slot holds
 * (bpf/flows.h: FL_PKTS_MAX packets a direction): bpf/flows.bpf.c's tc
 * program run with BPF_PROG_TEST_RUN on one UDP frame marked as a GSO
 * aggregate of 65535 segments, RUNS times, the generation never drained.
 * The flow must go on in further slots of the same key, not to overflow.
 * Prints one line:
 *
 *   heavy slots=S pkts=P bytes=B overflow=O want_pkts=P want_bytes=B
 *
 *   ebpfheavy RUNS   (root)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../bpf/flows.h"
#include "flows.skel.h"

#define SLOTS 1024u
#define SEGS 65535u

/* Ethernet, IPv4 (20 bytes, total length 46), UDP 10.0.0.1:1000 ->
 * 10.0.0.2:2000: 60 bytes. */
static void frame_make(uint8_t *f)
{
	static const uint8_t hdr[] = {
		0x02, 0,    0,	  0,	0,    2, 0x02, 0, 0,  0, 0,
		1,    0x08, 0x00, 0x45, 0,    0, 46,   0, 1,  0, 0,
		64,   17,   0,	  0,	10,   0, 0,    1, 10, 0, 0,
		2,    0x03, 0xe8, 0x07, 0xd0, 0, 26,   0, 0,
	};

	memset(f, 0, 60);
	memcpy(f, hdr, sizeof(hdr));
}

int main(int argc, char **argv)
{
	unsigned long runs = argc == 2 ? strtoul(argv[1], NULL, 10) : 0;
	uint64_t pkts = 0, bytes = 0, ovf = 0, want_b;
	uint64_t v[2 * FL_MAX_CPUS];
	uint32_t key = FL_JMP_COUNT, slots = 0;
	struct flows_bpf *s;
	uint8_t frame[60];
	int pfd, ncpu;

	if (!runs || runs > 100000) {
		fprintf(stderr, "usage: ebpfheavy RUNS\n");
		return 2;
	}
	libbpf_set_print(NULL);
	s = flows_bpf__open();
	if (!s)
		return 1;
	s->rodata->cfg_mask = SLOTS - 1;
	bpf_map__set_max_entries(s->maps.table, 2 * SLOTS);
	bpf_map__set_max_entries(s->maps.marks, 2 * FL_MARK_WORDS(SLOTS));
	bpf_program__set_autoload(s->progs.fl_xdp, 0);
	bpf_program__set_autoload(s->progs.fl_xdp_count, 0);
	if (flows_bpf__load(s)) {
		fprintf(stderr, "ebpfheavy: cannot load the programs\n");
		return 1;
	}
	pfd = bpf_program__fd(s->progs.fl_tc_count);
	if (bpf_map_update_elem(bpf_map__fd(s->maps.jmp), &key, &pfd, 0))
		return 1;
	s->bss->gstate = (uint64_t)(SLOTS - 1) << 32;
	s->bss->armed = 1;
	frame_make(frame);
	{
		LIBBPF_OPTS(bpf_test_run_opts, to);
		struct __sk_buff ctx;

		memset(&ctx, 0, sizeof(ctx));
		ctx.wire_len = sizeof(frame);
		ctx.gso_segs = SEGS;
		ctx.gso_size = 1000;
		to.data_in = frame;
		to.data_size_in = sizeof(frame);
		to.ctx_in = &ctx;
		to.ctx_size_in = sizeof(ctx);
		to.repeat = (int)runs;
		if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.fl_tc),
					   &to)) {
			perror("ebpfheavy: test run");
			return 1;
		}
	}
	for (uint32_t i = 0; i < SLOTS; i++) {
		uint32_t wi = i / FL_MARK_SLOTS;
		struct fl_slot sl;
		uint64_t m;

		if (bpf_map_lookup_elem(bpf_map__fd(s->maps.marks), &wi, &m) ||
		    bpf_map_lookup_elem(bpf_map__fd(s->maps.table), &i, &sl))
			return 1;
		if (!(m >> (i % FL_MARK_SLOTS * 2) & FL_MARK_LIVE))
			continue;
		slots++;
		for (int d = 0; d < 2; d++) {
			pkts += FL_CNT_PKTS(sl.cnt[d]);
			bytes += FL_CNT_BYTES(sl.cnt[d]);
		}
	}
	ncpu = libbpf_num_possible_cpus();
	for (uint32_t k = 0; k < FL_KIND_COUNT; k++)
		if (!bpf_map_lookup_elem(bpf_map__fd(s->maps.ovf), &k, v))
			for (int i = 0; i < ncpu; i++)
				ovf += v[2 * i];
	/* each run: the frame once, its 42 bytes of headers SEGS - 1 times */
	want_b = runs * (sizeof(frame) + (uint64_t)(SEGS - 1) * 42);
	printf("heavy slots=%u pkts=%llu bytes=%llu overflow=%llu "
	       "want_pkts=%llu want_bytes=%llu\n",
	       slots, (unsigned long long)pkts, (unsigned long long)bytes,
	       (unsigned long long)ovf, (unsigned long long)runs * SEGS,
	       (unsigned long long)want_b);
	flows_bpf__destroy(s);
	return 0;
}
