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

/* Instructions out at most (the kernel's limit for a privileged program:
 * 64 counters of long expressions fit). */
#define CBPF_MAX_OUT (1 << 20)
/* Backward jumps taken before a packet is rejected (see cbpf.c). */
#define CBPF_MAX_LOOPS 32

/*
 * cbpf_translate - translate @n classic instructions into a complete
 * eBPF program for @mode. @jmp_fd is the program array whose slot
 * @jmp_slot the accept epilogue tail-calls (CBPF_TC, CBPF_XDP). Returns
 * 0 with *@out (malloc'd, free it) and *@nout set, or -EINVAL with one
 * line in @err saying which instruction cannot be translated (an
 * ancillary load other than the VLAN metadata SKF_AD_VLAN_TAG,
 * _TAG_PRESENT and _TPID, which tc programs read from the skb and XDP
 * has not; a jump out of the program; a bad opcode), or -ENOMEM. The
 * input is untrusted: any byte pattern gives 0 or -EINVAL.
 */
int cbpf_translate(const struct cbpf_insn *in, size_t n, enum cbpf_mode mode,
		   int jmp_fd, uint32_t jmp_slot, struct cbpf_ebpf **out,
		   size_t *nout, char *err, size_t errlen);

/* One named counter's classic program and its slot in the count array. */
struct cbpf_counter {
	const struct cbpf_insn *insns;
	size_t n;
	uint32_t slot;
};

/*
 * cbpf_translate_counters - one program that runs each of the @nc
 * classic programs @c in turn on the packet, each from a fresh start (A,
 * X and M[] zero), and for each that accepts adds the packet's count and
 * bytes to slot c[i].slot of the per-CPU array @ctr_fd (struct { u64
 * pkts, bytes; } values). The count and bytes are read first from the
 * per-CPU array @cur_fd (key 0, the same layout), where the counting
 * program leaves them. A tc program (sched_cls) returning TCX_NEXT, or
 * XDP (@xdp) returning XDP_PASS. Counters see the frame as it was on the
 * wire, as tpacket3's do: under tc, a VLAN tag the kernel stripped into
 * the skb is put back for their loads (bytes 12-15) and their length,
 * so the programs are pcap_open_dead's for the link type. Returns as cbpf_translate, with
 * *@failed the index of the counter an error is about.
 */
int cbpf_translate_counters(const struct cbpf_counter *c, size_t nc, int xdp,
			    int ctr_fd, int cur_fd, struct cbpf_ebpf **out,
			    size_t *nout, size_t *failed, char *err,
			    size_t errlen);

#endif
