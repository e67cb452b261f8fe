/*
 * flows.bpf.c - count every frame of an interface into per-flow, per-CPU
 * counters, in the kernel: tc (TCX) on ingress and egress, or XDP on
 * ingress. Loaded, attached and drained by capture/ebpf.c.
 *
 * The decoder is src/decode.c's, rewritten for the verifier: the same
 * header walk (VLAN and QinQ tags, IPv4 options and fragments, the IPv6
 * extension header chain, ARP, other ethertypes), the same first-fault
 * malformed reasons, and the same canonical conversation key as
 * src/flowkey.c (struct fl_key == struct flow_key), so the flows it
 * reports are the ones a capture backend's packets would have made.
 * Every packet byte is read with bpf_skb_load_bytes / bpf_xdp_load_bytes
 * against the frame's length (clipped by the IP length fields, as the
 * userspace cursor is), so a truncated header is never half-read.
 *
 * Packets and bytes mean what they mean for a capture backend: frames and
 * wire bytes including the link header (a VLAN tag the device stripped
 * counts its 4 bytes). A GSO or GRO aggregate counts as its gso_segs
 * segments, each with its own copy of the headers.
 *
 * Exact, no LRU: the flows of the current generation (gstate, flows.h) go
 * to its part of "table" (struct fl_slot: lock-free open addressing, the
 * slots in use marked in "marks"), as
 * many slots of it as the loader sized it to for the flows it sees. A flow
 * that finds no slot is added to the per-protocol overflow counters
 * instead, never dropped. The loader flips gstate, waits for the programs
 * still running on the old generation (the fl_cpu enter/exit counts, see
 * flows.h), then reads that half's live slots through its mappings and
 * clears its marks.
 *
 * Filters: the attached program first tail-calls jmp[FL_JMP_FILTER], a
 * capture filter translated at run time from libpcap's classic BPF
 * (capture/cbpf.c); it tail-calls jmp[FL_JMP_COUNT] for an accepted
 * packet. With the slot empty the tail call falls through to counting.
 * Named counters (--count): after counting, a tail call to
 * jmp[FL_JMP_COUNTERS], one program translated from all their filters
 * (cbpf_translate_counters), which reads the packet's count from "cur"
 * and adds it to the "ctr" slot of each counter that matches; with the
 * slot empty the call falls through. XDP uses jmp_xdp the same way.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "flows.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 cfg_link = FL_LINK_ETH;

/* Written by the loader; read once per packet. */
__u64 gstate; /* FL_GEN, FL_GMASK (flows.h) */
/* 0 until the loader has put the capture filter in (or found none): the
 * programs, attached at open, count no frame before the filter. */
__u32 armed;
struct fl_cpu cpus[FL_MAX_CPUS];
struct fl_gen gens[2];

/* Set by the loader before load: slots per generation - 1 (a power of
 * two - 1), and the hash's random seed (crafted keys cannot aim at one
 * chain of probes without it). */
const volatile __u32 cfg_mask = 65535;
const volatile __u64 cfg_seed = 0;

/* Both generations' flow tables, generation g at slots g * (mask + 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * 65536); /* the loader sets --ebpf-flows */
	__type(key, __u32);
	__type(value, struct fl_slot);
} table SEC(".maps");

/* Which slots hold a flow: two bits a slot (flows.h FL_MARK_*), generation
 * g's words at g * FL_MARK_WORDS(cfg_mask + 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * FL_MARK_WORDS(65536)); /* the loader sets it */
	__type(key, __u32);
	__type(value, __u64);
} marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_KIND_COUNT);
	__type(key, __u32);
	__type(value, struct fl_ctr);
} ovf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_CNT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, FL_JMP_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} jmp SEC(".maps");

/* The named counters (--count): counts per slot, written by the counters
 * program (capture/cbpf.c cbpf_translate_counters) that the loader
 * builds from their expressions and puts in jmp[FL_JMP_COUNTERS]. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_CTR_SLOTS);
	__type(key, __u32);
	__type(value, struct fl_ctr);
} ctr SEC(".maps");

/* What the packet being counted counts (packets, wire bytes), for the
 * counters program it tail-calls: per CPU, a program runs to its end. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_ctr);
} cur SEC(".maps");

/* The loader's wake-up: a generation's number when it reaches
 * FL_FILL_PCT of its slots (flows.h). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} wake SEC(".maps");

/* The XDP twin of jmp: a program array serves one program type. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, FL_JMP_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} jmp_xdp SEC(".maps");

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ1 0x9100
#define ETH_P_802_3_MIN 0x0600
#define ETH_P_802_3 0x0001
#define ETH_P_802_2 0x0004

#define IPPROTO_HOPOPTS 0
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_AH 51
#define IPPROTO_ICMPV6 58
#define IPPROTO_DSTOPTS 60

#define F_FRAG 0x01
#define F_FRAG_LATER 0x02
#define F_PORTS 0x04

/* A packet being decoded: src/decode.h's struct dec_pkt plus the read
 * window [0, end) the cursor would have. */
struct dec {
	void *ctx;
	__u32 end;
	__u32 l4_off;
	__u16 vlan, ethertype;
	__u16 sport, dport;
	__u8 kind, err, ipproto, flags;
	__u32 frag_id; /* F_FRAG: IPv4 identification or IPv6's */
	__u8 src[16], dst[16];
};

static __always_inline int ld(struct dec *d, int xdp, __u32 off, void *to,
			      __u32 len)
{
	if (off > d->end || d->end - off < len)
		return -1;
	if (xdp)
		return bpf_xdp_load_bytes(d->ctx, off, to, len);
	return bpf_skb_load_bytes(d->ctx, off, to, len);
}

static __always_inline void set_err(struct dec *d, __u8 err)
{
	if (!d->err)
		d->err = err;
}

static __always_inline void clip(struct dec *d, __u32 off, __u32 len)
{
	if (len < d->end - off)
		d->end = off + len;
}

static __always_inline __u8 kind_ip4(__u8 p)
{
	return p == IPPROTO_TCP	   ? FL_KIND_TCP4
	       : p == IPPROTO_UDP  ? FL_KIND_UDP4
	       : p == IPPROTO_ICMP ? FL_KIND_ICMP4
				   : FL_KIND_IP4;
}

static __always_inline __u8 kind_ip6(__u8 p)
{
	return p == IPPROTO_TCP	     ? FL_KIND_TCP6
	       : p == IPPROTO_UDP    ? FL_KIND_UDP6
	       : p == IPPROTO_ICMPV6 ? FL_KIND_ICMP6
				     : FL_KIND_IP6;
}

/* Ports (TCP, UDP) or type and code (ICMP, ICMPv6) at @off. */
static __always_inline void dec_l4(struct dec *d, int xdp, __u32 off)
{
	__u8 b[4] = { 0 };

	d->l4_off = off;
	switch (d->kind) {
	case FL_KIND_TCP4:
	case FL_KIND_UDP4:
	case FL_KIND_TCP6:
	case FL_KIND_UDP6:
		if (ld(d, xdp, off, b, 4)) {
			set_err(d, FL_ERR_L4_TRUNC);
			return;
		}
		d->sport = (__u16)b[0] << 8 | b[1];
		d->dport = (__u16)b[2] << 8 | b[3];
		d->flags |= F_PORTS;
		break;
	case FL_KIND_ICMP4:
	case FL_KIND_ICMP6:
		if (ld(d, xdp, off, b, 2)) {
			set_err(d, FL_ERR_L4_TRUNC);
			return;
		}
		d->sport = b[0];
		d->dport = b[1];
		d->flags |= F_PORTS;
		break;
	default:
		break;
	}
}

/* IPv4 (RFC 791) at @off: see src/decode.c dec_ip4 for the layout. */
static __always_inline void dec_ip4(struct dec *d, int xdp, __u32 off)
{
	__u8 h[20] = { 0 };
	__u32 hlen;
	__u16 tot, frag;

	d->kind = FL_KIND_IP4;
	if (ld(d, xdp, off, h, 20)) {
		set_err(d, FL_ERR_IP4_TRUNC);
		return;
	}
	hlen = (__u32)(h[0] & 0x0f) * 4;
	if ((h[0] >> 4) != 4 || hlen < 20) {
		set_err(d, FL_ERR_IP4_BAD);
		return;
	}
	tot = (__u16)h[2] << 8 | h[3];
	frag = (__u16)h[6] << 8 | h[7];
	d->ipproto = h[9];
	__builtin_memcpy(d->src, h + 12, 4);
	__builtin_memcpy(d->dst, h + 16, 4);
	d->kind = kind_ip4(h[9]);
	if (frag & 0x3fff) {
		d->flags |= F_FRAG;
		d->frag_id = (__u32)h[4] << 8 | h[5];
	}
	/* total length 0: a GSO/TSO or BIG TCP frame, trusted as captured */
	if (tot && tot < hlen)
		set_err(d, FL_ERR_IP4_BAD);
	else if (tot)
		clip(d, off, tot);
	if (d->end - off < hlen) {
		set_err(d, FL_ERR_IP4_TRUNC);
		return;
	}
	if (frag & 0x1fff) {
		/* no transport header: KIND_IP4, its flow from frags */
		d->flags |= F_FRAG_LATER;
		d->kind = FL_KIND_IP4;
		return;
	}
	dec_l4(d, xdp, off + hlen);
}

static __always_inline int ip6_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH ||
	       nh == IPPROTO_FRAGMENT;
}

/* IPv6 (RFC 8200) and its extension headers: src/decode.c dec_ip6. */
static __always_inline void dec_ip6(struct dec *d, int xdp, __u32 off)
{
	__u8 h[40] = { 0 }, e[4] = { 0 };
	__u16 plen, fo;
	__u8 nh;
	__u32 len;

	d->kind = FL_KIND_IP6;
	if (ld(d, xdp, off, h, 40) || (h[0] >> 4) != 6) {
		set_err(d, FL_ERR_IP6_TRUNC);
		return;
	}
	plen = (__u16)h[4] << 8 | h[5];
	nh = h[6];
	__builtin_memcpy(d->src, h + 8, 16);
	__builtin_memcpy(d->dst, h + 24, 16);
	off += 40;
	if (plen)
		clip(d, off, plen);
	for (int n = 0; n <= FL_MAX_IP6_EXT; n++) {
		if (!ip6_ext(nh)) {
			d->ipproto = nh;
			d->kind = kind_ip6(nh);
			dec_l4(d, xdp, off);
			return;
		}
		if (n == FL_MAX_IP6_EXT || ld(d, xdp, off, e, 2))
			break;
		if (nh == IPPROTO_FRAGMENT)
			len = 8;
		else if (nh == IPPROTO_AH)
			len = ((__u32)e[1] + 2) * 4;
		else
			len = ((__u32)e[1] + 1) * 8;
		if (off > d->end || d->end - off < len)
			break;
		if (nh == IPPROTO_FRAGMENT) {
			/* | next | res | offset:13 res:2 M:1 | ident:32 | */
			__u8 f[6] = { 0 };

			if (ld(d, xdp, off + 2, f, 6))
				break;
			fo = (__u16)f[0] << 8 | f[1];
			if (fo & 0xfff9) {
				d->flags |= F_FRAG;
				d->frag_id = (__u32)f[2] << 24 |
					     (__u32)f[3] << 16 |
					     (__u32)f[4] << 8 | f[5];
			}
			if (fo & 0xfff8) {
				d->flags |= F_FRAG_LATER;
				d->ipproto = e[0];
				d->kind = FL_KIND_IP6;
				return;
			}
		}
		off += len;
		nh = e[0];
	}
	d->ipproto = nh;
	set_err(d, FL_ERR_IP6_EXT);
}

/* ARP (RFC 826): the IPv4 addresses when the protocol type is IPv4. */
static __always_inline void dec_arp(struct dec *d, int xdp, __u32 off)
{
	__u8 h[8] = { 0 };
	__u32 hl, pl;

	d->kind = FL_KIND_ARP;
	if (ld(d, xdp, off, h, 8)) {
		set_err(d, FL_ERR_ARP);
		return;
	}
	hl = h[4];
	pl = h[5];
	if (off > d->end || d->end - off < 8 + 2 * hl + 2 * pl) {
		set_err(d, FL_ERR_ARP);
		return;
	}
	if (h[2] == 0x08 && h[3] == 0x00 && pl == 4) {
		ld(d, xdp, off + 8 + hl, d->src, 4);
		ld(d, xdp, off + 8 + 2 * hl + 4, d->dst, 4);
	}
}

/* IEEE 802.2 LLC (src/decode.c dec_llc): | DSAP | SSAP | control |, and
 * for SNAP (0xaaaa, UI) | OUI (3) | protocol ID (2) |: the SNAP protocol
 * in sport with dport LLC_SNAP, else DSAP << 8 | SSAP with LLC_SAP. */
#define LLC_SAP 1
#define LLC_SNAP 2
static __always_inline void dec_llc(struct dec *d, int xdp, __u32 off)
{
	__u8 h[8] = { 0 };

	if (ld(d, xdp, off, h, 3))
		return;
	if (h[0] == 0xaa && h[1] == 0xaa && h[2] == 0x03 &&
	    !ld(d, xdp, off, h, 8)) {
		d->sport = (__u16)h[6] << 8 | h[7];
		d->dport = LLC_SNAP;
		return;
	}
	d->sport = (__u16)h[0] << 8 | h[1];
	d->dport = LLC_SAP;
}

static __always_inline int vlan_tpid(__u16 t)
{
	return t == ETH_P_8021Q || t == ETH_P_8021AD || t == ETH_P_QINQ1;
}

/* An 802.3 length is named as Linux cooked captures name it. */
static __always_inline __u16 eth_type(struct dec *d, int xdp, __u32 off,
				      __u16 type)
{
	__u8 w[2] = { 0 };

	if (type >= ETH_P_802_3_MIN)
		return type;
	if (!ld(d, xdp, off, w, 2) && w[0] == 0xff && w[1] == 0xff)
		return ETH_P_802_3;
	return ETH_P_802_2;
}

/* Payload of ethertype @type at @off, after @tags VLAN tags. */
static __always_inline void dec_ether(struct dec *d, int xdp, __u32 off,
				      __u16 type, __u32 tags)
{
	__u8 t[4] = { 0 };

	for (int i = 0; i <= FL_MAX_VLAN; i++) {
		if (!vlan_tpid(type))
			break;
		d->ethertype = type;
		if (tags >= FL_MAX_VLAN) {
			set_err(d, FL_ERR_VLAN_DEPTH);
			return;
		}
		if (ld(d, xdp, off, t, 4)) {
			set_err(d, FL_ERR_LINK);
			return;
		}
		if (tags++ == 0)
			d->vlan = ((__u16)t[0] << 8 | t[1]) & 0x0fff;
		off += 4;
		type = eth_type(d, xdp, off, (__u16)t[2] << 8 | t[3]);
	}
	d->ethertype = type;
	if (type == ETH_P_IP)
		dec_ip4(d, xdp, off);
	else if (type == ETH_P_IPV6)
		dec_ip6(d, xdp, off);
	else if (type == ETH_P_ARP)
		dec_arp(d, xdp, off);
	else if (type == ETH_P_802_2)
		dec_llc(d, xdp, off);
}

static __always_inline void decode(struct dec *d, int xdp, int vlan_tci)
{
	__u32 tags = 0;
	__u8 b[2] = { 0 };

	d->kind = FL_KIND_OTHER;
	if (vlan_tci >= 0) {
		d->vlan = vlan_tci & 0x0fff;
		tags = 1;
	}
	if (cfg_link == FL_LINK_RAW) {
		if (ld(d, xdp, 0, b, 1)) {
			set_err(d, FL_ERR_LINK);
			return;
		}
		if ((b[0] >> 4) == 4)
			dec_ether(d, xdp, 0, ETH_P_IP, tags);
		else if ((b[0] >> 4) == 6)
			dec_ether(d, xdp, 0, ETH_P_IPV6, tags);
		else
			set_err(d, FL_ERR_IP4_BAD);
		return;
	}
	if (ld(d, xdp, 12, b, 2)) {
		set_err(d, FL_ERR_LINK);
		return;
	}
	dec_ether(d, xdp, 14, eth_type(d, xdp, 14, (__u16)b[0] << 8 | b[1]),
		  tags);
}

/* ICMP query/reply pairs folded into the query (src/flowkey.c). */
static __always_inline __u16 icmp_fold(__u8 kind, __u16 t)
{
	if (kind == FL_KIND_ICMP4)
		return t == 0	 ? 8
		       : t == 14 ? 13
		       : t == 16 ? 15
		       : t == 18 ? 17
				 : t;
	return t == 129 ? 128 : t == 140 ? 139 : t;
}

/* src/flowkey.c flowkey_from_pkt: returns the packet's direction. */
static __always_inline int make_key(const struct dec *d, struct fl_key *k)
{
	__u16 sp = 0, dp = 0, code = 0;
	int c = 0, icmp = d->kind == FL_KIND_ICMP4 || d->kind == FL_KIND_ICMP6;

	__builtin_memset(k, 0, sizeof(*k));
	k->vlan = d->vlan;
	k->kind = d->kind;
	if (d->kind == FL_KIND_OTHER) {
		/* one flow per ethertype, LLC SAP pair or SNAP protocol */
		k->aport = d->ethertype;
		if (d->dport == LLC_SAP || d->dport == LLC_SNAP) {
			k->bport = d->sport;
			k->ipproto = (__u8)d->dport;
		}
		return 0;
	}
	if (d->kind != FL_KIND_ARP)
		k->ipproto = d->ipproto;
	if ((d->flags & F_PORTS) && !(d->flags & F_FRAG_LATER)) {
		if (icmp) {
			/* the type orders by address alone; bport: the code */
			sp = icmp_fold(d->kind, d->sport);
			dp = sp;
			code = d->dport;
		} else if (d->kind != FL_KIND_IP4 && d->kind != FL_KIND_IP6 &&
			   d->kind != FL_KIND_ARP) {
			sp = d->sport;
			dp = d->dport;
		}
	}
	/* IPv4 addresses fill 4 bytes and leave 12 zeros: comparing all 16
	 * orders them as the 4-byte compare does. */
	for (int i = 0; i < 16; i++) {
		if (d->src[i] != d->dst[i]) {
			c = d->src[i] < d->dst[i] ? -1 : 1;
			break;
		}
	}
	if (c < 0 || (c == 0 && sp <= dp)) {
		__builtin_memcpy(k->a, d->src, 16);
		__builtin_memcpy(k->b, d->dst, 16);
		k->aport = sp;
		k->bport = icmp ? code : dp;
		return 0;
	}
	__builtin_memcpy(k->a, d->dst, 16);
	__builtin_memcpy(k->b, d->src, 16);
	k->aport = dp;
	k->bport = icmp ? code : sp;
	return 1;
}

static __always_inline void cnt_add(__u32 slot, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&cnt, &slot);

	if (c)
		*c += v;
}

/* The key's hash: a multiply-xorshift mix of its five words, seeded. */
static __always_inline __u64 key_hash(const __u64 *w)
{
	__u64 h = cfg_seed;

	for (int i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h;
}

static __always_inline void to_overflow(__u32 kind, __u64 pkts, __u64 bytes)
{
	struct fl_ctr *o;

	if (kind >= FL_KIND_COUNT)
		kind = FL_KIND_OTHER;
	o = bpf_map_lookup_elem(&ovf, &kind);
	if (o) {
		o->pkts += pkts;
		o->bytes += bytes;
	}
	cnt_add(FL_CNT_MAP_FULL, pkts);
}

/* Add the packet to its flow in the current generation's table, or to the
 * overflow counters when its FL_PROBES slots are all other flows' (or
 * its own, full: flows.h). */
static __always_inline void account(const struct fl_key *k, int dir, __u64 pkts,
				    __u64 bytes)
{
	__u32 cpu = bpf_get_smp_processor_id();
	union {
		struct fl_key k;
		__u64 w[5];
	} key;
	struct fl_cpu *cc;
	__u32 now = (__u32)(bpf_ktime_get_coarse_ns() >> FL_TIME_SHIFT);
	__u64 h, w, v, add;
	__u32 base, mbase, mask;

	if (cpu >= FL_MAX_CPUS) {
		cnt_add(FL_CNT_PROG_ERR, 1);
		return;
	}
	if (pkts > FL_PKTS_MAX || bytes > FL_BYTES_MAX) {
		to_overflow(k->kind, pkts, bytes); /* cannot be: skb sizes */
		return;
	}
	add = pkts << FL_CNT_SHIFT | bytes;
	__builtin_memcpy(&key.k, k, sizeof(key.k));
	h = key_hash(key.w);
	dir &= 1;
	cc = &cpus[cpu];
	/* A fetching atomic: a full barrier before gstate is read. */
	if (__sync_fetch_and_add(&cc->enter, 1) == ~0ull)
		return;
	w = *(volatile __u64 *)&gstate;
	mask = FL_GMASK(w) & cfg_mask;
	base = FL_GEN(w) ? cfg_mask + 1 : 0;
	mbase = FL_GEN(w) ? FL_MARK_WORDS(cfg_mask + 1) : 0;
	for (__u32 i = 0; i < FL_PROBES; i++) {
		__u32 li = ((__u32)h + i) & mask;
		__u32 idx = base + li, wi = mbase + li / FL_MARK_SLOTS;
		__u32 sh = (li % FL_MARK_SLOTS) * 2;
		__u64 *m = bpf_map_lookup_elem(&marks, &wi);
		struct fl_slot *s;
		__u64 c;

		if (!m)
			break;
		v = *(volatile __u64 *)m >> sh;
		if (!(v & FL_MARK_CLAIMED)) {
			v = __sync_fetch_and_or(m, FL_MARK_CLAIMED << sh) >> sh;
			if (!(v & FL_MARK_CLAIMED)) {
				/* ours: every field (the slot holds what a
				 * drained flow left), then live */
				s = bpf_map_lookup_elem(&table, &idx);
				if (!s)
					break;
				for (int j = 0; j < 5; j++)
					s->kw[j] = key.w[j];
				s->cnt[dir] = add;
				s->cnt[dir ^ 1] = 0;
				s->first = now;
				s->last = now;
				__sync_fetch_and_or(m, FL_MARK_LIVE << sh);
				if (__sync_fetch_and_add(
					    &gens[FL_GEN(w)].claimed, 1) +
					    1 ==
				    FL_FILL_SLOTS((__u64)mask + 1)) {
					__u32 g = FL_GEN(w);

					bpf_ringbuf_output(&wake, &g, sizeof(g),
							   BPF_RB_FORCE_WAKEUP);
				}
				goto out;
			}
		}
		if (!(v & FL_MARK_LIVE))
			continue; /* being claimed: passed over (flows.h) */
		s = bpf_map_lookup_elem(&table, &idx);
		if (!s)
			break;
		if (s->kw[4] != key.w[4] || s->kw[0] != key.w[0] ||
		    s->kw[1] != key.w[1] || s->kw[2] != key.w[2] ||
		    s->kw[3] != key.w[3])
			continue;
		c = *(volatile __u64 *)&s->cnt[dir];
		if (FL_CNT_PKTS(c) > FL_PKTS_MAX - pkts ||
		    FL_CNT_BYTES(c) > FL_BYTES_MAX - bytes)
			continue; /* full: another slot (flows.h) */
		__sync_fetch_and_add(&s->cnt[dir], add);
		s->last = now;
		goto out;
	}
	to_overflow(k->kind, pkts, bytes);
out:
	__sync_fetch_and_add(&cc->exit, 1);
}

/*
 * Which flow a fragment belongs to (src/fragtab.h): a first fragment's key
 * and direction are remembered under its datagram (addresses, IP
 * identification, and for IPv4 the protocol); a later fragment of a
 * remembered datagram takes them, else it stays in the "fragments, flow
 * unknown" row make_key gave it. Forgotten FRAG_TIMEOUT_NS after the
 * datagram's last fragment, or least recently used first when full.
 */
#define FRAG_TIMEOUT_NS (30ull * 1000000000ull)
struct frag_key {
	__u8 src[16], dst[16];
	__u32 id;
	__u16 vlan;
	__u8 fam, proto;
};
struct frag_val {
	struct fl_key key;
	__u64 ts_ns;
	__u32 dir;
	__u32 pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct frag_key);
	__type(value, struct frag_val);
} frags SEC(".maps");

static __always_inline void frag_track(const struct dec *d, struct fl_key *k,
				       int *dir, __u64 now)
{
	struct frag_key fk;
	struct frag_val *v, nv;
	int v4 = d->kind <= FL_KIND_IP4 || d->kind == FL_KIND_ARP;

	if (d->kind == FL_KIND_OTHER || d->kind == FL_KIND_ARP)
		return;
	__builtin_memset(&fk, 0, sizeof(fk));
	__builtin_memcpy(fk.src, d->src, 16);
	__builtin_memcpy(fk.dst, d->dst, 16);
	fk.id = d->frag_id;
	fk.vlan = d->vlan;
	fk.fam = v4 ? 4 : 6;
	fk.proto = v4 ? d->ipproto : 0;
	if (d->flags & F_FRAG_LATER) {
		v = bpf_map_lookup_elem(&frags, &fk);
		if (!v)
			return;
		if (now > v->ts_ns && now - v->ts_ns > FRAG_TIMEOUT_NS) {
			bpf_map_delete_elem(&frags, &fk);
			return;
		}
		if (now > v->ts_ns)
			v->ts_ns = now;
		__builtin_memcpy(k, &v->key, sizeof(*k));
		*dir = (int)v->dir;
		return;
	}
	__builtin_memset(&nv, 0, sizeof(nv));
	__builtin_memcpy(&nv.key, k, sizeof(*k));
	nv.ts_ns = now;
	nv.dir = (__u32)*dir;
	bpf_map_update_elem(&frags, &fk, &nv, BPF_ANY);
}

/* Length of the headers copied into each segment of a GSO aggregate. */
static __always_inline __u32 seg_hdr_len(struct dec *d, int xdp)
{
	__u8 doff = 0;

	if (!(d->flags & F_PORTS))
		return d->l4_off;
	if (d->kind == FL_KIND_UDP4 || d->kind == FL_KIND_UDP6)
		return d->l4_off + 8;
	if ((d->kind == FL_KIND_TCP4 || d->kind == FL_KIND_TCP6) &&
	    !bpf_skb_load_bytes(d->ctx, d->l4_off + 12, &doff, 1))
		return d->l4_off + (doff >> 4) * 4;
	return d->l4_off;
}

/* Leave what the packet counted for the counters program. */
static __always_inline void set_cur(__u64 pkts, __u64 bytes)
{
	__u32 zero = 0;
	struct fl_ctr *c = bpf_map_lookup_elem(&cur, &zero);

	if (c) {
		c->pkts = pkts;
		c->bytes = bytes;
	}
}

static __always_inline void count_skb(struct __sk_buff *skb)
{
	struct dec d = { .ctx = skb, .end = skb->len };
	struct fl_key k;
	int vlan = skb->vlan_present ? (int)skb->vlan_tci : -1;
	__u64 len = skb->len, pkts = 1, bytes;
	__u32 segs = skb->gso_segs;
	int dir;

	decode(&d, 0, vlan);
	if (d.err)
		cnt_add(d.err, 1);
	dir = make_key(&d, &k);
	if (d.flags & F_FRAG)
		frag_track(&d, &k, &dir, bpf_ktime_get_ns());
	if (vlan >= 0)
		len += 4;
	bytes = len;
	if (segs > 1 && skb->gso_size) {
		/* n segments: the payload once, the headers n times */
		pkts = segs;
		bytes = len + (__u64)(segs - 1) * (seg_hdr_len(&d, 0) +
						   (vlan >= 0 ? 4 : 0));
	}
	account(&k, dir, pkts, bytes);
	set_cur(pkts, bytes);
}

static __always_inline void count_xdp(struct xdp_md *ctx)
{
	struct dec d = { .ctx = ctx };
	struct fl_key k;
	__u64 len = bpf_xdp_get_buff_len(ctx);
	int dir;

	d.end = (__u32)len;
	decode(&d, 1, -1);
	if (d.err)
		cnt_add(d.err, 1);
	dir = make_key(&d, &k);
	if (d.flags & F_FRAG)
		frag_track(&d, &k, &dir, bpf_ktime_get_ns());
	account(&k, dir, 1, len);
	set_cur(1, len);
}

/* TCX_NEXT: let the programs after ours see the packet. */
#define TC_NEXT (-1)

SEC("tc")
int fl_tc(struct __sk_buff *skb)
{
	if (!*(volatile __u32 *)&armed)
		return TC_NEXT;
	bpf_tail_call(skb, &jmp, FL_JMP_FILTER);
	count_skb(skb);
	bpf_tail_call(skb, &jmp, FL_JMP_COUNTERS);
	return TC_NEXT;
}

SEC("tc")
int fl_tc_count(struct __sk_buff *skb)
{
	count_skb(skb);
	bpf_tail_call(skb, &jmp, FL_JMP_COUNTERS);
	return TC_NEXT;
}

SEC("xdp")
int fl_xdp(struct xdp_md *ctx)
{
	if (!*(volatile __u32 *)&armed)
		return XDP_PASS;
	bpf_tail_call(ctx, &jmp_xdp, FL_JMP_FILTER);
	count_xdp(ctx);
	bpf_tail_call(ctx, &jmp_xdp, FL_JMP_COUNTERS);
	return XDP_PASS;
}

SEC("xdp")
int fl_xdp_count(struct xdp_md *ctx)
{
	count_xdp(ctx);
	bpf_tail_call(ctx, &jmp_xdp, FL_JMP_COUNTERS);
	return XDP_PASS;
}
