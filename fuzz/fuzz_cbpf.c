/*
 * fuzz_cbpf.c - libFuzzer target: the classic-to-eBPF filter translator
 * (capture/cbpf.c) on arbitrary classic programs.
 *
 * Input: 8-byte classic instructions (code le16, jt, jf, k le32), as many
 * as the input holds (a short tail is ignored). Each is translated for
 * every mode, and as two named counters (cbpf_translate_counters, tc
 * and XDP). Checked on success: a non-empty program that ends with
 * EXIT; every jump lands inside the program and not on the second half of
 * a 64-bit immediate load; only registers 0-10 are named, r10 only as a
 * base. A failure must leave an error line and no output. The kernel is
 * not involved (no privilege needed): the live tests and
 * tests/it/ebpf_filters.sh load real translations. Single-threaded.
 */
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/cbpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why, int mode)
{
	fprintf(stderr, "fuzz_cbpf: mode %d: %s\n", mode, why);
	abort();
}

static void check(const struct bpf_insn *o, size_t n, int mode)
{
	uint8_t *second = calloc(n, 1);

	if (!second)
		return;
	if (!n || o[n - 1].code != (BPF_JMP | BPF_EXIT))
		fail("program does not end with exit", mode);
	for (size_t i = 0; i < n; i++) {
		if (o[i].code == (BPF_LD | BPF_DW | BPF_IMM)) {
			if (i + 1 >= n)
				fail("truncated 64-bit load", mode);
			second[i + 1] = 1;
		}
		if (o[i].dst_reg > 10 || o[i].src_reg > 10)
			fail("bad register", mode);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t cls = o[i].code & 0x07, op = o[i].code & 0xf0;
		long to;

		if (second[i] || (cls != BPF_JMP && cls != BPF_JMP32) ||
		    op == BPF_CALL || op == BPF_EXIT)
			continue;
		to = (long)i + 1 + o[i].off;
		if (to < 0 || (size_t)to >= n || second[to])
			fail("jump out of the program", mode);
	}
	free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / 8;
	struct cbpf_insn *in;

	if (n > 8192)
		n = 8192;
	in = calloc(n ? n : 1, sizeof(*in));
	if (!in)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = data + 8 * i;

		in[i].code = (uint16_t)(p[0] | p[1] << 8);
		in[i].jt = p[2];
		in[i].jf = p[3];
		in[i].k = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
			  (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	}
	for (int mode = CBPF_TC; mode <= CBPF_TEST_XDP; mode++) {
		struct cbpf_ebpf *out = NULL;
		size_t nout = 0;
		char err[256] = "";
		int rc = cbpf_translate(in, n, (enum cbpf_mode)mode, 3, 1, &out,
					&nout, err, sizeof(err));

		if (rc) {
			if (out || nout || !err[0] || strchr(err, '\n'))
				fail("failure without one error line", mode);
			continue;
		}
		check((const struct bpf_insn *)out, nout, mode);
		free(out);
	}
	/* the named counters' program: the input as two counters */
	for (int xdp = 0; xdp <= 1; xdp++) {
		struct cbpf_counter c[2] = { { in, n / 2, 7 },
					     { in + n / 2, n - n / 2, 200 } };
		struct cbpf_ebpf *out = NULL;
		size_t nout = 0, failed = 9;
		char err[256] = "";
		int rc = cbpf_translate_counters(c, 2, xdp, 3, 4, &out, &nout,
						 &failed, err, sizeof(err));

		if (rc) {
			if (out || nout || !err[0] || strchr(err, '\n') ||
			    failed > 1)
				fail("counters: failure without one error line",
				     4 + xdp);
			continue;
		}
		check((const struct bpf_insn *)out, nout, 4 + xdp);
		free(out);
	}
	free(in);
	return 0;
}
