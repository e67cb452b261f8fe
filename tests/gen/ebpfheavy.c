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
 * With -w, the loader's wake-up instead (flows.h FL_FILL_PCT): one frame
 * each of new flows, and the wake ring read after each; prints the
 * wake-ups seen before the claim that takes the generation to
 * FL_FILL_PCT of its slots, at it, and after it (up to 3/4 full), and
 * the generation the one at it named:
 *
 *   wake before=N at=N after=N gen=G
 *
 *   ebpfheavy RUNS   (root)
 *   ebpfheavy -w     (root)
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

static int wakes;
static uint32_t wake_gen = ~0u;

static int on_wake(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len == sizeof(uint32_t))
		memcpy(&wake_gen, data, sizeof(wake_gen));
	wakes++;
	return 0;
}

/* The tc program on the 60-byte frame @f, @repeat times; marked as a GSO
 * aggregate of @segs segments of 1000 bytes when @segs > 1. */
static int run_frame(struct flows_bpf *s, uint8_t *f, uint32_t segs, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, to);
	struct __sk_buff ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.wire_len = 60;
	if (segs > 1) {
		ctx.gso_segs = segs;
		ctx.gso_size = 1000;
	}
	to.data_in = f;
	to.data_size_in = 60;
	to.ctx_in = &ctx;
	to.ctx_size_in = sizeof(ctx);
	to.repeat = repeat;
	return bpf_prog_test_run_opts(bpf_program__fd(s->progs.fl_tc), &to);
}

/* Frame @f of flow @i (source address 10.1.(i >> 8).(i & 255)), once. */
static int run_flow(struct flows_bpf *s, uint8_t *f, uint32_t i)
{
	f[28] = (uint8_t)(i >> 8);
	f[29] = (uint8_t)i;
	return run_frame(s, f, 1, 1);
}

/* -w: the wake-up at FL_FILL_PCT of a generation's slots, exactly once. */
static int wake_test(struct flows_bpf *s)
{
	uint32_t at = SLOTS * FL_FILL_PCT / 100;
	int before, atn;
	struct ring_buffer *rb;
	uint8_t f[60];

	rb = ring_buffer__new(bpf_map__fd(s->maps.wake), on_wake, NULL, NULL);
	if (!rb) {
		perror("ebpfheavy: wake ring");
		return 1;
	}
	frame_make(f);
	f[27] = 1;
	for (uint32_t i = 1; i < at; i++)
		if (run_flow(s, f, i))
			return 1;
	ring_buffer__consume(rb);
	before = wakes;
	if (run_flow(s, f, at))
		return 1;
	ring_buffer__consume(rb);
	atn = wakes - before;
	for (uint32_t i = at + 1; i <= SLOTS * 3 / 4; i++)
		if (run_flow(s, f, i))
			return 1;
	ring_buffer__consume(rb);
	printf("wake before=%d at=%d after=%d gen=%u\n", before, atn,
	       wakes - before - atn, wake_gen);
	ring_buffer__free(rb);
	return 0;
}

int main(int argc, char **argv)
{
	int wake = argc == 2 && !strcmp(argv[1], "-w");
	unsigned long runs = argc == 2 ? strtoul(argv[1], NULL, 10) : 0;
	uint64_t pkts = 0, bytes = 0, ovf = 0, want_b;
	uint64_t v[2 * FL_MAX_CPUS];
	uint32_t key = FL_JMP_COUNT, slots = 0;
	struct flows_bpf *s;
	uint8_t frame[60];
	int pfd, ncpu;

	if (!wake && (!runs || runs > 100000)) {
		fprintf(stderr, "usage: ebpfheavy RUNS | -w\n");
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
	if (wake) {
		int rc = wake_test(s);

		flows_bpf__destroy(s);
		return rc;
	}
	frame_make(frame);
	if (run_frame(s, frame, SEGS, (int)runs)) {
		perror("ebpfheavy: test run");
		return 1;
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
