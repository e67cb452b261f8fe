/*
 * cbpf.c - classic BPF to eBPF, at load time (see cbpf.h).
 *
 * Registers: R6 the context (skb or xdp_md), R7 the accumulator A, R8
 * the index X, both used as 32-bit registers (classic BPF arithmetic is
 * 32-bit unsigned). M[0..15] live at fp-4 .. fp-64, a load's bytes at
 * fp-72. A and X and M[] start at 0, as the kernel's classic filter runs
 * them.
 *
 * Packet loads (classic LD|ABS, LD|IND, LDX|MSH) call bpf_skb_load_bytes
 * or bpf_xdp_load_bytes: they read paged skbs and multi-buffer frames
 * too, and a read past the end returns an error, which jumps to the
 * reject epilogue - libpcap's bpf_filter returns 0 there. The eBPF
 * LD_ABS instruction would do the same for an skb, but it ends the
 * program with 0, which a TCX chain reads as "pass, skip the rest".
 * Classic offsets are unsigned and never wrap: X + k is computed in 64
 * bits. Division or modulo by X = 0 rejects (as bpf_filter does); a shift
 * by X >= 32 gives 0 (bpf_filter's rule, where eBPF would mask it).
 *
 * Layout of the output: prologue, one block per classic instruction (a
 * jump's eBPF offset is patched once every block's start is known), then
 * the reject epilogue (falling off the last instruction also rejects)
 * and the accept epilogue. Classic jumps only go forward, so the result
 * has no loop but one libpcap makes on purpose: "protochain" walks the
 * IPv6 extension headers with a backward JA (its interpreter adds k with
 * wrap-around). Such a jump is kept, with a counter in R9 that rejects
 * the packet after CBPF_MAX_LOOPS of them, so the verifier sees a bounded
 * loop; a real chain is far shorter.
 */
#include "cbpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct cbpf_ebpf) == sizeof(struct bpf_insn),
	       "eBPF instruction layout");

/* Classic opcode fields (linux/bpf_common.h; libpcap's are the same). */
#define C_CLASS(c) ((c)&0x07)
#define C_SIZE(c) ((c)&0x18)
#define C_MODE(c) ((c)&0xe0)
#define C_OP(c) ((c)&0xf0)
#define C_SRC(c) ((c)&0x08)
#define C_RVAL(c) ((c)&0x18)
#define C_MISCOP(c) ((c)&0xf8)
/* linux/filter.h names, not in linux/bpf.h */
#define C_RET_A 0x10
#define C_TAX 0x00
#define C_TXA 0x80

#define R_CTX BPF_REG_6
#define R_A BPF_REG_7
#define R_X BPF_REG_8
#define R_LOOP BPF_REG_9
#define M_OFF(i) (-4 * ((int)(i) + 1))
#define BUF_OFF (-72)
#define SCRATCH_N 16
/* Classic "ancillary" loads start here (SKF_AD_OFF, SKF_NET_OFF...). */
#define ANC_BASE 0xfffff000u
/* The kernel's metadata loads libpcap emits for a live Linux handle
 * (linux/filter.h SKF_AD_*, offsets from ANC_BASE). */
#define ANC_VLAN_TAG 44
#define ANC_VLAN_TAG_PRESENT 48
#define ANC_VLAN_TPID 60
/* The counters program's stack beside M[] and the load buffer: the
 * key of a map lookup, the packet's count and bytes (from "cur"). */
#define KEY_OFF (-76)
#define PKTS_OFF (-88)
#define BYTES_OFF (-96)
/* Wire view (tc counters): the skb's VLAN tag present (u32), its TPID <<
 * 16 | TCI (u32), and the virtual offset of the load in progress (u64). */
#define VPRES_OFF (-100)
#define VTAG_OFF (-104)
#define VPOS_OFF (-112)

/* A jump to patch: its eBPF index and its target. */
enum { T_INSN, T_REJECT, T_ACCEPT };
struct fixup {
	size_t at;
	int kind;
	size_t target; /* classic index for T_INSN */
};

struct tr {
	struct bpf_insn *o;
	size_t n, cap;
	struct fixup *fx;
	size_t nfx, fxcap;
	enum cbpf_mode mode;
	int wire; /* tc counters: loads see a stripped VLAN tag put back */
	int nomem;
};

static void emit(struct tr *t, uint8_t code, int dst, int src, int16_t off,
		 int32_t imm)
{
	struct bpf_insn *i;

	if (t->nomem)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct bpf_insn *o;

		if (cap > CBPF_MAX_OUT) {
			t->nomem = 1;
			return;
		}
		o = realloc(t->o, cap * sizeof(*o));
		if (!o) {
			t->nomem = 1;
			return;
		}
		t->o = o;
		t->cap = cap;
	}
	i = &t->o[t->n++];
	memset(i, 0, sizeof(*i));
	i->code = code;
	i->dst_reg = (uint8_t)dst;
	i->src_reg = (uint8_t)src;
	i->off = off;
	i->imm = imm;
}

/* A jump (the code given) whose offset is patched later. */
static void emit_jump(struct tr *t, uint8_t code, int dst, int src, int32_t imm,
		      int kind, size_t target)
{
	if (t->nomem)
		return;
	if (t->nfx == t->fxcap) {
		size_t cap = t->fxcap ? 2 * t->fxcap : 256;
		struct fixup *f = realloc(t->fx, cap * sizeof(*f));

		if (!f) {
			t->nomem = 1;
			return;
		}
		t->fx = f;
		t->fxcap = cap;
	}
	t->fx[t->nfx].at = t->n;
	t->fx[t->nfx].kind = kind;
	t->fx[t->nfx].target = target;
	t->nfx++;
	emit(t, code, dst, src, 0, imm);
}

static int is_xdp(const struct tr *t)
{
	return t->mode == CBPF_XDP || t->mode == CBPF_TEST_XDP;
}

/* Point instruction @at's jump at the next instruction to be emitted. */
static void land(struct tr *t, size_t at)
{
	if (!t->nomem)
		t->o[at].off = (int16_t)(t->n - at - 1);
}

/* Load @size bytes (1, 2, 4) big-endian at offset r2 into @dst; reject
 * if they are not all there. */
static void emit_load_r2(struct tr *t, int dst, int size)
{
	emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, R_CTX, 0, 0);
	emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
	emit(t, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, BUF_OFF);
	emit(t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, size);
	emit(t, BPF_JMP | BPF_CALL, 0, 0, 0,
	     is_xdp(t) ? BPF_FUNC_xdp_load_bytes : BPF_FUNC_skb_load_bytes);
	emit_jump(t, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, T_REJECT, 0);
	emit(t,
	     BPF_LDX | BPF_MEM |
		     (size == 4	  ? BPF_W
		      : size == 2 ? BPF_H
				  : BPF_B),
	     dst, BPF_REG_10, BUF_OFF, 0);
	if (size > 1)
		emit(t, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, size * 8);
}

/*
 * The wire view's load (tc counters), at virtual offset r2: the frame as
 * it was on the wire, where a tag the kernel stripped into the skb sat
 * at bytes 12-15 (| dst MAC | src MAC | TPID | TCI | type ...|), so the
 * skb's byte p is the wire's byte p (p < 12) or p + 4. Without a tag, or
 * wholly before or after it, one load; across it, byte by byte.
 */
static void emit_wire_load(struct tr *t, int dst, int size)
{
	size_t no_tag, after, before, slow_end, at;

	emit(t, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_2, VPOS_OFF, 0);
	emit(t, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_10, VPRES_OFF, 0);
	no_tag = t->n;
	emit(t, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 0, 0);
	after = t->n;
	emit(t, BPF_JMP | BPF_JGE | BPF_K, BPF_REG_2, 0, 0, 16);
	before = t->n;
	emit(t, BPF_JMP | BPF_JLE | BPF_K, BPF_REG_2, 0, 0, 12 - size);
	/* across the tag: one byte at a time into @dst */
	emit(t, BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, 0);
	for (int i = 0; i < size; i++) {
		size_t lt12, ge16, tag_end;

		emit(t, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_3, BPF_REG_10,
		     VPOS_OFF, 0);
		emit(t, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, i);
		lt12 = t->n;
		emit(t, BPF_JMP | BPF_JLT | BPF_K, BPF_REG_3, 0, 0, 12);
		ge16 = t->n;
		emit(t, BPF_JMP | BPF_JGE | BPF_K, BPF_REG_3, 0, 0, 16);
		/* a tag byte: (TPID << 16 | TCI) >> 8 * (15 - p) */
		emit(t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 15);
		emit(t, BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_4, BPF_REG_3, 0,
		     0);
		emit(t, BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_4, 0, 0, 3);
		emit(t, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_10,
		     VTAG_OFF, 0);
		emit(t, BPF_ALU64 | BPF_RSH | BPF_X, BPF_REG_1, BPF_REG_4, 0,
		     0);
		tag_end = t->n;
		emit(t, BPF_JMP | BPF_JA, 0, 0, 0, 0);
		land(t, ge16);
		emit(t, BPF_ALU64 | BPF_SUB | BPF_K, BPF_REG_3, 0, 0, 4);
		land(t, lt12);
		emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_3, 0,
		     0);
		emit_load_r2(t, BPF_REG_1, 1);
		land(t, tag_end);
		emit(t, BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, 0xff);
		emit(t, BPF_ALU | BPF_LSH | BPF_K, dst, 0, 0, 8);
		emit(t, BPF_ALU | BPF_OR | BPF_X, dst, BPF_REG_1, 0, 0);
	}
	slow_end = t->n;
	emit(t, BPF_JMP | BPF_JA, 0, 0, 0, 0);
	/* after the tag: 4 bytes earlier in the skb */
	land(t, after);
	emit(t, BPF_ALU64 | BPF_SUB | BPF_K, BPF_REG_2, 0, 0, 4);
	at = t->n;
	if (!t->nomem) {
		t->o[no_tag].off = (int16_t)(at - no_tag - 1);
		t->o[before].off = (int16_t)(at - before - 1);
	}
	emit_load_r2(t, dst, size);
	land(t, slow_end);
}

/*
 * Load @size bytes (1, 2, 4) big-endian from the packet at k (@ind: X + k)
 * into @dst; reject if they are not all there.
 */
static void emit_load(struct tr *t, int dst, int size, int ind, uint32_t k)
{
	if (k > 0x7fffffffu) { /* past any packet, indexed or not */
		emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, T_REJECT, 0);
		return;
	}
	if (ind) {
		emit(t, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_2, R_X, 0, 0);
		emit(t, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0,
		     (int32_t)k);
		emit_jump(t, BPF_JMP | BPF_JGT | BPF_K, BPF_REG_2, 0,
			  0x7fffffff, T_REJECT, 0);
	} else {
		emit(t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0,
		     (int32_t)k);
	}
	if (t->wire && (ind || k + (uint32_t)size > 12))
		emit_wire_load(t, dst, size);
	else
		emit_load_r2(t, dst, size);
}

/* The packet's length: the skb's (what a packet socket's filter sees),
 * the test run's wire length, or the XDP frame's with its fragments. */
static void emit_len(struct tr *t, int dst)
{
	if (is_xdp(t)) {
		emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, R_CTX, 0, 0);
		emit(t, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_xdp_get_buff_len);
		emit(t, BPF_ALU | BPF_MOV | BPF_X, dst, BPF_REG_0, 0, 0);
		return;
	}
	emit(t, BPF_LDX | BPF_MEM | BPF_W, dst, R_CTX,
	     t->mode == CBPF_TEST ? offsetof(struct __sk_buff, wire_len)
				  : offsetof(struct __sk_buff, len),
	     0);
	if (t->wire) { /* with a stripped tag: 4 bytes more on the wire */
		emit(t, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_10,
		     VPRES_OFF, 0);
		emit(t, BPF_ALU | BPF_LSH | BPF_K, BPF_REG_1, 0, 0, 2);
		emit(t, BPF_ALU | BPF_ADD | BPF_X, dst, BPF_REG_1, 0, 0);
	}
}

static int bad(char *err, size_t errlen, size_t pc, const char *why)
{
	snprintf(err, errlen,
		 "filter: cannot run in the kernel: %s "
		 "(instruction %zu)",
		 why, pc);
	return -EINVAL;
}

/*
 * An ancillary load: the VLAN metadata a live Linux handle's program reads
 * (tcpdump's 'vlan' on a live interface), from the skb's fields as the
 * kernel's classic interpreter reads them: the TCI as stored, the TPID in
 * host order (__sk_buff.vlan_proto holds it in network order). XDP has no
 * such metadata: refused there.
 */
static int emit_anc(struct tr *t, uint32_t k, size_t pc, char *err,
		    size_t errlen)
{
	int16_t off;

	if (is_xdp(t))
		return bad(err, errlen, pc,
			   "ancillary load (Linux extension) under XDP");
	switch (k - ANC_BASE) {
	case ANC_VLAN_TAG_PRESENT:
		off = offsetof(struct __sk_buff, vlan_present);
		break;
	case ANC_VLAN_TAG:
		off = offsetof(struct __sk_buff, vlan_tci);
		break;
	case ANC_VLAN_TPID:
		off = offsetof(struct __sk_buff, vlan_proto);
		break;
	default:
		return bad(err, errlen, pc, "ancillary load (Linux extension)");
	}
	emit(t, BPF_LDX | BPF_MEM | BPF_W, R_A, R_CTX, off, 0);
	if (k - ANC_BASE == ANC_VLAN_TPID)
		emit(t, BPF_ALU | BPF_END | BPF_TO_BE, R_A, 0, 0, 16);
	return 0;
}

static int emit_alu(struct tr *t, uint16_t code, uint32_t k, size_t pc,
		    char *err, size_t errlen)
{
	int op = C_OP(code), x = C_SRC(code) == BPF_X;

	switch (op) {
	case BPF_ADD:
	case BPF_SUB:
	case BPF_MUL:
	case BPF_OR:
	case BPF_AND:
	case BPF_XOR:
		break;
	case BPF_DIV:
	case BPF_MOD:
		if (x)
			emit_jump(t, BPF_JMP32 | BPF_JEQ | BPF_K, R_X, 0, 0,
				  T_REJECT, 0);
		else if (k == 0)
			return bad(err, errlen, pc, "division by zero");
		break;
	case BPF_LSH:
	case BPF_RSH:
		if (!x) {
			if (k >= 32) {
				emit(t, BPF_ALU | BPF_MOV | BPF_K, R_A, 0, 0,
				     0);
				return 0;
			}
			break;
		}
		/* X >= 32: A = 0; else shift */
		emit(t, BPF_JMP32 | BPF_JLT | BPF_K, R_X, 0, 2, 32);
		emit(t, BPF_ALU | BPF_MOV | BPF_K, R_A, 0, 0, 0);
		emit(t, BPF_JMP | BPF_JA, 0, 0, 1, 0);
		break;
	case BPF_NEG:
		emit(t, BPF_ALU | BPF_NEG, R_A, 0, 0, 0);
		return 0;
	default:
		return bad(err, errlen, pc, "unknown ALU operation");
	}
	if (x)
		emit(t, BPF_ALU | op | BPF_X, R_A, R_X, 0, 0);
	else
		emit(t, BPF_ALU | op | BPF_K, R_A, 0, 0, (int32_t)k);
	return 0;
}

static int emit_jmp(struct tr *t, const struct cbpf_insn *c, size_t pc,
		    size_t n, char *err, size_t errlen)
{
	int op = C_OP(c->code), x = C_SRC(c->code) == BPF_X;
	size_t jt = pc + 1 + c->jt, jf = pc + 1 + c->jf;

	if (op == BPF_JA) {
		/* libpcap's interpreter adds k with wrap-around: a huge k
		 * jumps back (its "protochain" code loops that way) */
		uint32_t to = (uint32_t)pc + 1 + c->k;

		if (to >= n)
			return bad(err, errlen, pc, "jump out of the program");
		if (to <= pc) {
			/* bounded for the verifier: R9 counts the backward
			 * jumps taken; past CBPF_MAX_LOOPS, reject */
			emit(t, BPF_ALU64 | BPF_SUB | BPF_K, R_LOOP, 0, 0, 1);
			emit_jump(t, BPF_JMP | BPF_JSLE | BPF_K, R_LOOP, 0, 0,
				  T_REJECT, 0);
		}
		emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, T_INSN, to);
		return 0;
	}
	if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET)
		return bad(err, errlen, pc, "unknown jump");
	if (jt >= n || jf >= n)
		return bad(err, errlen, pc, "jump out of the program");
	if (x)
		emit_jump(t, BPF_JMP32 | op | BPF_X, R_A, R_X, 0, T_INSN, jt);
	else
		emit_jump(t, BPF_JMP32 | op | BPF_K, R_A, 0, (int32_t)c->k,
			  T_INSN, jt);
	if (jf != pc + 1)
		emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, T_INSN, jf);
	return 0;
}

static int emit_insn(struct tr *t, const struct cbpf_insn *c, size_t pc,
		     size_t n, char *err, size_t errlen)
{
	int size;

	switch (C_CLASS(c->code)) {
	case BPF_LD:
	case BPF_LDX: {
		int ldx = C_CLASS(c->code) == BPF_LDX;
		int dst = ldx ? R_X : R_A;

		size = C_SIZE(c->code) == BPF_W	  ? 4
		       : C_SIZE(c->code) == BPF_H ? 2
		       : C_SIZE(c->code) == BPF_B ? 1
						  : 0;
		switch (C_MODE(c->code)) {
		case BPF_IMM:
			emit(t, BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0,
			     (int32_t)c->k);
			return 0;
		case BPF_MEM:
			if (c->k >= SCRATCH_N)
				return bad(err, errlen, pc,
					   "scratch memory out of range");
			emit(t, BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_10,
			     (int16_t)M_OFF(c->k), 0);
			return 0;
		case BPF_LEN:
			emit_len(t, dst);
			return 0;
		case BPF_ABS:
		case BPF_IND:
			if (ldx || !size)
				break;
			if (c->k >= ANC_BASE && C_MODE(c->code) == BPF_ABS)
				return emit_anc(t, c->k, pc, err, errlen);
			if (c->k >= ANC_BASE)
				return bad(err, errlen, pc,
					   "ancillary load (Linux extension)");
			emit_load(t, R_A, size, C_MODE(c->code) == BPF_IND,
				  c->k);
			return 0;
		case BPF_MSH:
			if (!ldx || size != 1)
				break;
			if (c->k >= ANC_BASE)
				return bad(err, errlen, pc,
					   "ancillary load (Linux extension)");
			emit_load(t, R_X, 1, 0, c->k);
			emit(t, BPF_ALU | BPF_AND | BPF_K, R_X, 0, 0, 0xf);
			emit(t, BPF_ALU | BPF_LSH | BPF_K, R_X, 0, 0, 2);
			return 0;
		default:
			break;
		}
		return bad(err, errlen, pc, "unknown load");
	}
	case BPF_ST:
	case BPF_STX:
		if (c->k >= SCRATCH_N)
			return bad(err, errlen, pc,
				   "scratch memory out of range");
		emit(t, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10,
		     C_CLASS(c->code) == BPF_ST ? R_A : R_X,
		     (int16_t)M_OFF(c->k), 0);
		return 0;
	case BPF_ALU:
		return emit_alu(t, c->code, c->k, pc, err, errlen);
	case BPF_JMP:
		return emit_jmp(t, c, pc, n, err, errlen);
	case BPF_RET:
		if (C_RVAL(c->code) == BPF_K) {
			emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0,
				  c->k ? T_ACCEPT : T_REJECT, 0);
			return 0;
		}
		if (C_RVAL(c->code) == C_RET_A) {
			emit_jump(t, BPF_JMP32 | BPF_JEQ | BPF_K, R_A, 0, 0,
				  T_REJECT, 0);
			emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, T_ACCEPT, 0);
			return 0;
		}
		return bad(err, errlen, pc, "unknown return");
	case BPF_MISC:
		if (C_MISCOP(c->code) == C_TAX) {
			emit(t, BPF_ALU | BPF_MOV | BPF_X, R_X, R_A, 0, 0);
			return 0;
		}
		if (C_MISCOP(c->code) == C_TXA) {
			emit(t, BPF_ALU | BPF_MOV | BPF_X, R_A, R_X, 0, 0);
			return 0;
		}
		return bad(err, errlen, pc, "unknown operation");
	default:
		return bad(err, errlen, pc, "unknown instruction class");
	}
}

static void emit_epilogue(struct tr *t, int accept, int jmp_fd,
			  uint32_t jmp_slot)
{
	/* reject: TCX_NEXT lets later tc programs run; XDP_PASS */
	int32_t pass = is_xdp(t) ? 2 : -1;

	switch (t->mode) {
	case CBPF_TEST:
	case CBPF_TEST_XDP:
		emit(t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, accept);
		break;
	default:
		if (accept) {
			emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, R_CTX,
			     0, 0);
			emit(t, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2,
			     BPF_PSEUDO_MAP_FD, 0, jmp_fd);
			emit(t, 0, 0, 0, 0, 0);
			emit(t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0,
			     (int32_t)jmp_slot);
			emit(t, BPF_JMP | BPF_CALL, 0, 0, 0,
			     BPF_FUNC_tail_call);
		}
		emit(t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, pass);
		break;
	}
	emit(t, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* Whether execution can go on to the next instruction after @c. */
static int falls_through(const struct cbpf_insn *c)
{
	return C_CLASS(c->code) != BPF_RET &&
	       !(C_CLASS(c->code) == BPF_JMP && C_OP(c->code) == BPF_JA);
}

/* Which instructions can run (from 0, along every jump), as bytes. A
 * jump out of the program is left for emit_jmp to report. */
static uint8_t *reachable(const struct cbpf_insn *in, size_t n)
{
	uint8_t *r = calloc(n, 1);
	size_t *todo = malloc(n * sizeof(*todo)), nt = 0;

	if (!r || !todo) {
		free(r);
		free(todo);
		return NULL;
	}
	r[0] = 1;
	todo[nt++] = 0;
	while (nt) {
		size_t pc = todo[--nt], to[2];
		int nto = 0;
		const struct cbpf_insn *c = &in[pc];

		if (C_CLASS(c->code) == BPF_JMP) {
			if (C_OP(c->code) == BPF_JA) {
				to[nto++] = (uint32_t)pc + 1 + c->k;
			} else {
				to[nto++] = pc + 1 + c->jt;
				to[nto++] = pc + 1 + c->jf;
			}
		} else if (C_CLASS(c->code) != BPF_RET) {
			to[nto++] = pc + 1;
		}
		for (int i = 0; i < nto; i++) {
			if (to[i] >= n || r[to[i]])
				continue;
			r[to[i]] = 1;
			todo[nt++] = to[i];
		}
	}
	free(todo);
	return r;
}

/* A, X, the loop budget and M[] as a classic program starts them. */
static void emit_reset(struct tr *t)
{
	emit(t, BPF_ALU | BPF_MOV | BPF_K, R_A, 0, 0, 0);
	emit(t, BPF_ALU | BPF_MOV | BPF_K, R_X, 0, 0, 0);
	emit(t, BPF_ALU64 | BPF_MOV | BPF_K, R_LOOP, 0, 0, CBPF_MAX_LOOPS);
	for (int i = 0; i < SCRATCH_N; i++)
		emit(t, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0,
		     (int16_t)M_OFF(i), 0);
}

static int check_len(size_t n, char *err, size_t errlen)
{
	/* the kernel's limit for classic programs (BPF_MAXINSNS) */
	if (n == 0 || n > 4096) {
		snprintf(err, errlen,
			 "filter: cannot run in the kernel: %zu classic "
			 "instructions (1 to 4096)",
			 n);
		return -EINVAL;
	}
	return 0;
}

/*
 * One classic program's blocks; @start (n entries) gets each block's
 * eBPF index. Its jumps are the fixups from t->nfx on, for patch().
 */
static int emit_body(struct tr *t, const struct cbpf_insn *in, size_t n,
		     size_t *start, char *err, size_t errlen)
{
	uint8_t *reach = reachable(in, n);
	int rc = 0;

	if (!reach) {
		t->nomem = 1;
		return 0;
	}
	for (size_t pc = 0; pc < n; pc++) {
		start[pc] = t->n;
		/* the verifier refuses code that cannot run */
		if (!reach[pc])
			continue;
		rc = emit_insn(t, &in[pc], pc, n, err, errlen);
		if (rc)
			break;
		if (pc == n - 1 && falls_through(&in[pc]))
			emit_jump(t, BPF_JMP | BPF_JA, 0, 0, 0, T_REJECT, 0);
	}
	free(reach);
	return rc;
}

/* Which epilogues the fixups from @fx0 on jump to. */
static void needs(const struct tr *t, size_t fx0, int need[3])
{
	need[0] = need[1] = need[2] = 0;
	for (size_t i = fx0; i < t->nfx; i++)
		need[t->fx[i].kind] = 1;
}

/* Patch the jumps of one body (fixups from @fx0 on). */
static int patch(struct tr *t, size_t fx0, const size_t *start, size_t reject,
		 size_t accept, char *err, size_t errlen)
{
	for (size_t i = fx0; i < t->nfx; i++) {
		size_t to = t->fx[i].kind == T_REJECT ? reject
			    : t->fx[i].kind == T_ACCEPT
				    ? accept
				    : start[t->fx[i].target];
		long off = (long)to - (long)t->fx[i].at - 1;

		if (off < -32768 || off > 32767) {
			snprintf(err, errlen,
				 "filter: cannot run in the "
				 "kernel: program too long");
			return -EINVAL;
		}
		t->o[t->fx[i].at].off = (int16_t)off;
	}
	return 0;
}

static int finish(struct tr *t, int rc, struct cbpf_ebpf **out, size_t *nout,
		  char *err, size_t errlen)
{
	if (!rc && t->nomem) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	if (!rc) {
		*out = (struct cbpf_ebpf *)t->o;
		*nout = t->n;
		t->o = NULL;
	}
	free(t->fx);
	free(t->o);
	return rc;
}

int cbpf_translate(const struct cbpf_insn *in, size_t n, enum cbpf_mode mode,
		   int jmp_fd, uint32_t jmp_slot, struct cbpf_ebpf **out,
		   size_t *nout, char *err, size_t errlen)
{
	struct tr t = { .mode = mode };
	size_t *start, reject, accept;
	int need[3];
	int rc;

	*out = NULL;
	*nout = 0;
	rc = check_len(n, err, errlen);
	if (rc)
		return rc;
	start = calloc(n, sizeof(*start));
	if (!start) {
		t.nomem = 1;
		return finish(&t, 0, out, nout, err, errlen);
	}
	emit(&t, BPF_ALU64 | BPF_MOV | BPF_X, R_CTX, BPF_REG_1, 0, 0);
	emit_reset(&t);
	rc = emit_body(&t, in, n, start, err, errlen);
	if (!rc && !t.nomem) {
		reject = accept = t.n;
		needs(&t, 0, need);
		if (need[T_REJECT]) {
			emit_epilogue(&t, 0, jmp_fd, jmp_slot);
			accept = t.n;
		}
		if (need[T_ACCEPT])
			emit_epilogue(&t, 1, jmp_fd, jmp_slot);
		if (!t.nomem)
			rc = patch(&t, 0, start, reject, accept, err, errlen);
	}
	free(start);
	return finish(&t, rc, out, nout, err, errlen);
}

/* ld_imm64 of map @fd into @reg. */
static void emit_map(struct tr *t, int reg, int fd)
{
	emit(t, BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_FD, 0, fd);
	emit(t, 0, 0, 0, 0, 0);
}

/* r0 = bpf_map_lookup_elem(map @fd, &(u32)@key) */
static void emit_lookup(struct tr *t, int fd, uint32_t key)
{
	emit(t, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, KEY_OFF, (int32_t)key);
	emit_map(t, BPF_REG_1, fd);
	emit(t, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	emit(t, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, KEY_OFF);
	emit(t, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
}

/* Add the packet's count and bytes to slot @slot of @ctr_fd (per CPU:
 * plain adds, as the counting program's). */
static void emit_bump(struct tr *t, int ctr_fd, uint32_t slot)
{
	emit_lookup(t, ctr_fd, slot);
	emit(t, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 8, 0);
	for (int i = 0; i < 2; i++) {
		emit(t, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_10,
		     i ? BYTES_OFF : PKTS_OFF, 0);
		emit(t, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_2, BPF_REG_0,
		     (int16_t)(8 * i), 0);
		emit(t, BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_2, BPF_REG_1, 0,
		     0);
		emit(t, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_2,
		     (int16_t)(8 * i), 0);
	}
}

int cbpf_translate_counters(const struct cbpf_counter *c, size_t nc, int xdp,
			    int ctr_fd, int cur_fd, struct cbpf_ebpf **out,
			    size_t *nout, size_t *failed, char *err,
			    size_t errlen)
{
	struct tr t = { .mode = xdp ? CBPF_XDP : CBPF_TC, .wire = !xdp };
	int32_t pass = xdp ? 2 : -1;
	size_t *start = NULL, maxn = 1;
	int need[3];
	int rc = 0;

	*out = NULL;
	*nout = 0;
	*failed = 0;
	for (size_t i = 0; i < nc; i++) {
		*failed = i;
		rc = check_len(c[i].n, err, errlen);
		if (rc)
			return rc;
		if (c[i].n > maxn)
			maxn = c[i].n;
	}
	start = calloc(maxn, sizeof(*start));
	if (!start)
		t.nomem = 1;
	/* the packet's count and bytes, left by the counting program */
	emit(&t, BPF_ALU64 | BPF_MOV | BPF_X, R_CTX, BPF_REG_1, 0, 0);
	emit_lookup(&t, cur_fd, 0);
	emit(&t, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 2, 0);
	emit(&t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, pass);
	emit(&t, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		emit(&t, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_0,
		     (int16_t)(8 * i), 0);
		emit(&t, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_1,
		     i ? BYTES_OFF : PKTS_OFF, 0);
	}
	if (t.wire) {
		/* the tag the kernel stripped, for the wire view's loads */
		emit(&t, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, R_CTX,
		     offsetof(struct __sk_buff, vlan_present), 0);
		emit(&t, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_1,
		     VPRES_OFF, 0);
		emit(&t, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, R_CTX,
		     offsetof(struct __sk_buff, vlan_proto), 0);
		emit(&t, BPF_ALU | BPF_END | BPF_TO_BE, BPF_REG_1, 0, 0, 16);
		emit(&t, BPF_ALU | BPF_LSH | BPF_K, BPF_REG_1, 0, 0, 16);
		emit(&t, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, R_CTX,
		     offsetof(struct __sk_buff, vlan_tci), 0);
		emit(&t, BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
		emit(&t, BPF_ALU | BPF_OR | BPF_X, BPF_REG_1, BPF_REG_2, 0, 0);
		emit(&t, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_1,
		     VTAG_OFF, 0);
	}
	for (size_t i = 0; i < nc && !rc && !t.nomem; i++) {
		size_t fx0 = t.nfx, reject, accept, stub = 0;

		*failed = i;
		emit_reset(&t);
		rc = emit_body(&t, c[i].insns, c[i].n, start, err, errlen);
		if (rc || t.nomem)
			break;
		/* reject: on to the next counter; accept: bump, then on */
		needs(&t, fx0, need);
		reject = accept = t.n;
		if (need[T_ACCEPT] && need[T_REJECT]) {
			stub = t.n;
			emit(&t, BPF_JMP | BPF_JA, 0, 0, 0, 0);
			accept = t.n;
		}
		if (need[T_ACCEPT])
			emit_bump(&t, ctr_fd, c[i].slot);
		if (t.nomem)
			break;
		if (stub)
			t.o[stub].off = (int16_t)(t.n - stub - 1);
		else if (!need[T_ACCEPT])
			reject = t.n;
		rc = patch(&t, fx0, start, reject, accept, err, errlen);
	}
	emit(&t, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, pass);
	emit(&t, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	free(start);
	return finish(&t, rc, out, nout, err, errlen);
}
