/*
 * cbpf.h - translate a classic BPF program (what pcap_compile makes) into
 * eBPF instructions that the kernel loads as a tc or XDP program.
 *
 * The design is the one Cloudflare's cbpfc describes: A and X become two
 * 32-bit eBPF registers, the scratch memory M[] a stack area, every
 * packet load a bounds-checked helper call, and each RET a jump to an
 * accept or reject epilogue that the caller chooses (tail call to the
 * counting program, return a verdict, or bump a named counter). Pure and
 * reentrant: any thread; it allocates only the output.
 */
#ifndef PKTSTAT_CBPF_H
#define PKTSTAT_CBPF_H

#include <stddef.h>
#include <stdint.h>

/* struct sock_filter's layout (and libpcap's struct bpf_insn's). */
struct cbpf_insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

/* What the packet is and what the epilogues do. */
enum cbpf_mode {
	CBPF_TC,       /* __sk_buff; accept: tail call, reject: TCX_NEXT */
	CBPF_XDP,      /* xdp_md; accept: tail call, reject: XDP_PASS */
	CBPF_TEST,     /* __sk_buff; return the cBPF verdict (0 = reject) */
	CBPF_TEST_XDP, /* xdp_md; return 1 (accept) or 0 */
};

/* One eBPF instruction (struct bpf_insn of linux/bpf.h). */
struct cbpf_ebpf {
	uint8_t code;
	uint8_t regs; /* dst_reg:4 (low), src_reg:4 (high) */
	int16_t off;
	int32_t imm;
};

#define CBPF_MAX_OUT 65536
/* Backward jumps taken before a packet is rejected (see cbpf.c). */
#define CBPF_MAX_LOOPS 32

/*
 * cbpf_translate - translate @n classic instructions into a complete
 * eBPF program for @mode. @jmp_fd is the program array whose slot
 * @jmp_slot the accept epilogue tail-calls (CBPF_TC, CBPF_XDP). Returns
 * 0 with *@out (malloc'd, free it) and *@nout set, or -EINVAL with one
 * line in @err saying which instruction cannot be translated (an
 * ancillary load, a jump out of the program, a bad opcode), or -ENOMEM.
 * The input is untrusted: any byte pattern gives 0 or -EINVAL.
 */
int cbpf_translate(const struct cbpf_insn *in, size_t n, enum cbpf_mode mode,
		   int jmp_fd, uint32_t jmp_slot, struct cbpf_ebpf **out,
		   size_t *nout, char *err, size_t errlen);

#endif
