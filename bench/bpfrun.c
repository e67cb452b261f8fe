/*
 * bpfrun.c - the ebpf backend's counting program alone, without a
 * network: every frame of a pcap file (bench/blast -w) run through
 * bpf/flows.bpf.c's fl_tc with BPF_PROG_TEST_RUN, in file order, PASSES
 * times, the generation flipped and the old one emptied every DRAIN
 * frames (what capture/ebpf.c does once a second). Prints one line:
 *
 *   bpfrun frames=N ns_mean=T ns_p10=T ns_p50=T ns_p90=T drains=D
 *          overflow=O slots=S
 *
 * The times are the kernel's own of each run (repeat 1: one clock read
 * pair included, the same for every build of the program); the median
 * stays put on a busy machine, where a run can be preempted.
 *
 * -r REPEAT runs each frame REPEAT times in a row (the kernel's mean of
 * them): the program's own instructions, its flow's slot in the caches.
 *
 *   bpfrun [-p PASSES] [-d DRAIN] [-s SLOTS] [-r REPEAT] FILE.pcap  (root)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../bpf/flows.h"
#include "flows.skel.h"

struct frame {
	uint32_t len;
	uint8_t data[128];
};

/* The frames of a classic little-endian pcap file (blast -w writes one);
 * libpcap's header would clash with linux/bpf.h's struct bpf_insn. */
static int frames_read(const char *path, struct frame **out, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint32_t gh[6], rh[4];
	size_t cap = 0;
	uint8_t skip[65536];

	if (!f || fread(gh, sizeof(gh), 1, f) != 1 || gh[0] != 0xa1b2c3d4) {
		fprintf(stderr, "bpfrun: %s: not a pcap file\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	*out = NULL;
	*n = 0;
	while (fread(rh, sizeof(rh), 1, f) == 1 && rh[2] <= sizeof(skip)) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 65536;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				break;
		}
		if (fread(skip, 1, rh[2], f) != rh[2])
			break;
		(*out)[*n].len = rh[2] < 128 ? rh[2] : 128;
		memcpy((*out)[*n].data, skip, (*out)[*n].len);
		(*n)++;
	}
	fclose(f);
	return *out ? 0 : -1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long passes = 1, drain = 100000, slots = 131072, repeat = 1;
	struct flows_bpf *s;
	struct frame *fr;
	size_t n, len;
	uint64_t total = 0, runs = 0, drains = 0, ovf = 0;
	uint32_t *dur;
	uint32_t key = FL_JMP_COUNT;
	int c, pfd, mfd;
	void *mk;

	while ((c = getopt(argc, argv, "p:d:s:r:")) != -1) {
		switch (c) {
		case 'p':
			passes = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			drain = strtoul(optarg, NULL, 10);
			break;
		case 's':
			slots = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			repeat = strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1 || !drain || !slots || (slots & (slots - 1)) ||
	    !repeat || repeat > 1000000)
		goto usage;
	if (frames_read(argv[optind], &fr, &n) || !n)
		return 1;
	dur = calloc(n * passes, sizeof(*dur));
	if (!dur)
		return 1;
	s = flows_bpf__open();
	if (!s)
		return 1;
	s->rodata->cfg_mask = (uint32_t)slots - 1;
	s->rodata->cfg_seed = 0x12345678abcdefull;
	bpf_map__set_max_entries(s->maps.table, 2 * (uint32_t)slots);
	bpf_map__set_max_entries(s->maps.marks,
				 2 * FL_MARK_WORDS((uint32_t)slots));
	bpf_program__set_autoload(s->progs.fl_xdp, 0);
	bpf_program__set_autoload(s->progs.fl_xdp_count, 0);
	if (flows_bpf__load(s)) {
		fprintf(stderr, "bpfrun: cannot load the programs (root?)\n");
		return 1;
	}
	pfd = bpf_program__fd(s->progs.fl_tc_count);
	if (bpf_map_update_elem(bpf_map__fd(s->maps.jmp), &key, &pfd, 0))
		return 1;
	s->bss->gstate = (uint64_t)(slots - 1) << 32;
	s->bss->armed = 1;
	mfd = bpf_map__fd(s->maps.marks);
	len = 2 * FL_MARK_WORDS(slots) * sizeof(uint64_t);
	len = (len + 4095) & ~(size_t)4095;
	mk = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (mk == MAP_FAILED)
		return 1;
	for (unsigned long p = 0; p < passes; p++) {
		for (size_t i = 0; i < n; i++) {
			LIBBPF_OPTS(bpf_test_run_opts, to);
			struct __sk_buff ctx;

			memset(&ctx, 0, sizeof(ctx));
			ctx.wire_len = fr[i].len;
			to.data_in = fr[i].data;
			to.data_size_in = fr[i].len;
			to.ctx_in = &ctx;
			to.ctx_size_in = sizeof(ctx);
			to.repeat = (int)repeat;
			if (bpf_prog_test_run_opts(
				    bpf_program__fd(s->progs.fl_tc), &to)) {
				perror("bpfrun: test run");
				return 1;
			}
			total += to.duration;
			dur[runs] = to.duration;
			if (++runs % drain == 0) {
				/* no other runner: the old generation is
				 * idle as soon as gstate moves */
				uint64_t w = s->bss->gstate;

				s->bss->gstate = (uint64_t)(slots - 1) << 32 |
						 (uint32_t)(w + 1);
				memset((uint64_t *)mk +
					       FL_GEN(w) * FL_MARK_WORDS(slots),
				       0,
				       FL_MARK_WORDS(slots) * sizeof(uint64_t));
				s->bss->gens[FL_GEN(w)].claimed = 0;
				drains++;
			}
		}
	}
	{
		uint64_t v[2 * FL_MAX_CPUS];
		int ncpu = libbpf_num_possible_cpus();

		for (uint32_t k = 0; k < FL_KIND_COUNT; k++)
			if (!bpf_map_lookup_elem(bpf_map__fd(s->maps.ovf), &k,
						 v))
				for (int i = 0; i < ncpu; i++)
					ovf += v[2 * i];
	}
	qsort(dur, runs, sizeof(*dur), cmp_u32);
	printf("bpfrun frames=%llu ns_mean=%.1f ns_p10=%u ns_p50=%u ns_p90=%u "
	       "drains=%llu overflow=%llu slots=%lu claimed=%llu\n",
	       (unsigned long long)runs, (double)total / (double)runs,
	       dur[runs / 10], dur[runs / 2], dur[runs * 9 / 10],
	       (unsigned long long)drains, (unsigned long long)ovf, slots,
	       (unsigned long long)(s->bss->gens[0].claimed +
				    s->bss->gens[1].claimed));
	free(dur);
	munmap(mk, len);
	flows_bpf__destroy(s);
	free(fr);
	return 0;
usage:
	fprintf(stderr, "usage: bpfrun [-p PASSES] [-d DRAIN] [-s SLOTS] "
			"[-r REPEAT] FILE.pcap\n");
	return 2;
}
