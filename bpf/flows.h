/*
 * flows.h - what bpf/flows.bpf.c and its loader (capture/ebpf.c) share:
 * map keys and values, counter slots, the constants the BPF side cannot
 * take from src/ (it sees only vmlinux.h). Plain __u* types so that both
 * sides compile it; the loader checks with _Static_assert that every
 * value here equals its twin in src/decode.h and src/flowkey.h.
 */
#ifndef PKTSTAT_BPF_FLOWS_H
#define PKTSTAT_BPF_FLOWS_H

/* Flow key: byte for byte struct flow_key (src/flowkey.h), 40 bytes. */
struct fl_key {
	__u8 a[16], b[16];
	__u16 aport, bport;
	__u16 vlan;
	__u8 kind;
	__u8 ipproto;
};

/*
 * One slot of the flow table ("table": an mmapped array, two generations
 * of up to cfg_mask + 1 slots each, open addressing with linear probing):
 * a flow's counts and times since its slot was claimed, in one cache line,
 * so that a packet of a known flow touches one line of the table.
 *
 * Whether a slot holds a flow is in "marks", not in the slot: two bits a
 * slot (FL_MARK_*), FL_MARK_SLOTS slots a 64-bit word, a few kB per
 * generation that stay in the caches. A program claims a free slot with an
 * atomic OR of FL_MARK_CLAIMED, writes the whole slot (key, both counts,
 * times), then ORs in FL_MARK_LIVE (a full barrier: the key is whole once
 * seen); a slot claimed but not yet live is passed over, so two CPUs may
 * open a flow twice in a generation, and its two records add up in the
 * flow table. A drain reads the live slots and clears the generation's
 * marks only: the slots keep their stale bytes (a claim overwrites every
 * field), so the reader never writes the lines the programs write, and a
 * drain costs the flows there are plus one word per FL_MARK_SLOTS slots.
 *
 * cnt[dir]: the direction's packets (high FL_CNT_SHIFT bits) and wire
 * bytes (low bits) in one word, one atomic add a packet, shared by the
 * CPUs. A slot takes a direction's packets up to FL_PKTS_MAX and bytes
 * up to FL_BYTES_MAX (the headroom above them takes the adds of CPUs
 * that raced past the check); a packet that would pass either goes on
 * probing and claims another slot for its flow (records that add up, as
 * above), or goes to overflow: exact totals.
 *
 * first, last: CLOCK_MONOTONIC (bpf_ktime_get_coarse_ns) >> FL_TIME_SHIFT,
 * cut to 32 bits (about 1 ms units that wrap every 52 days: the loader
 * takes the latest such time not after its own clock).
 * No lock, so no interrupt masking on the packet path (a BPF hash map's
 * bucket lock and free list mask interrupts at each insert: costly under
 * a hypervisor).
 */
struct fl_slot {
	union {
		struct fl_key key;
		__u64 kw[5];
	};
	__u64 cnt[2];
	__u32 first, last;
};
#define FL_MARK_CLAIMED 1ull
#define FL_MARK_LIVE 2ull
#define FL_MARK_SLOTS 32 /* slots a marks word covers */
/* marks words of a generation of @slots slots (generation g's start at
 * g * FL_MARK_WORDS(cfg_mask + 1)) */
#define FL_MARK_WORDS(slots) (((slots) + FL_MARK_SLOTS - 1) / FL_MARK_SLOTS)
#define FL_CNT_SHIFT 36
#define FL_CNT_PKTS(c) ((c) >> FL_CNT_SHIFT)
#define FL_CNT_BYTES(c) ((c) & ((1ull << FL_CNT_SHIFT) - 1))
#define FL_PKTS_MAX ((1ull << (63 - FL_CNT_SHIFT)) - 1)
#define FL_BYTES_MAX ((1ull << (FL_CNT_SHIFT - 1)) - 1)
#define FL_PROBES 32 /* slots looked at before a flow goes to overflow */
#define FL_TIME_SHIFT 20

/*
 * The generation word "gstate" (bss, written by the loader): bit 0 of the
 * low half is the generation the programs write, the high half that
 * generation's slot mask (its slots are 0 .. mask at g * (cfg_mask + 1)).
 * One 64-bit word, so a program reads a generation and its size at once.
 */
#define FL_GEN(w) ((__u32)(w)&1)
#define FL_GMASK(w) ((__u32)((w) >> 32))

/* Per-protocol counts of packets whose flow found its map full. */
struct fl_ctr {
	__u64 pkts, bytes;
};

/* enum dec_kind and enum dec_err (src/decode.h). */
#define FL_KIND_TCP4 0
#define FL_KIND_UDP4 1
#define FL_KIND_ICMP4 2
#define FL_KIND_IP4 3
#define FL_KIND_TCP6 4
#define FL_KIND_UDP6 5
#define FL_KIND_ICMP6 6
#define FL_KIND_IP6 7
#define FL_KIND_ARP 8
#define FL_KIND_OTHER 9
#define FL_KIND_COUNT 10

#define FL_ERR_LINK 1
#define FL_ERR_VLAN_DEPTH 2
#define FL_ERR_IP4_TRUNC 3
#define FL_ERR_IP4_BAD 4
#define FL_ERR_IP6_TRUNC 5
#define FL_ERR_IP6_EXT 6
#define FL_ERR_L4_TRUNC 7
#define FL_ERR_ARP 8
#define FL_ERR_COUNT 9

#define FL_MAX_VLAN 4	  /* DEC_MAX_VLAN */
#define FL_MAX_IP6_EXT 16 /* DEC_MAX_IP6_EXT */

/*
 * Slots of the per-CPU counter array "cnt". 0 .. FL_ERR_COUNT-1 count
 * malformed packets by reason (slot 0 unused); the rest are the loss line.
 */
#define FL_CNT_MAP_FULL (FL_ERR_COUNT + 0) /* packets sent to overflow */
#define FL_CNT_PROG_ERR (FL_ERR_COUNT + 1) /* a helper failed: see below */
#define FL_CNT_FILTERED (FL_ERR_COUNT + 2) /* rejected by the filter */
#define FL_CNT_COUNT (FL_ERR_COUNT + 3)

/* Link layer of the attached device (rodata cfg_link). */
#define FL_LINK_ETH 0 /* Ethernet header at offset 0 */
#define FL_LINK_RAW 1 /* an IP header at offset 0 (tun, wireguard) */

/* Slots of the program array "jmp": the capture filter (absent: count
 * everything), the counting program it jumps to on accept, and the named
 * counters' program the counting one jumps to last (absent: none). */
#define FL_JMP_FILTER 0
#define FL_JMP_COUNT 1
#define FL_JMP_COUNTERS 2
#define FL_JMP_SLOTS 3

/* Slots of the named counters' per-CPU count array "ctr" (struct
 * fl_ctr): more than there can be counters at once (64), so that a slot
 * given up is taken again only after many later changes. */
#define FL_CTR_SLOTS 256

/*
 * The drain handshake (capture/ebpf.c): per CPU, the counting program
 * bumps enter (a full barrier) before it reads gstate and exit after its
 * last map write. The loader flips it, then waits until each CPU's exit has
 * reached the enter it read after the flip: from then on no program
 * writes the map of the old generation, which the loader reads whole and
 * empties. One cache line per CPU.
 */
#define FL_MAX_CPUS 1024
struct fl_cpu {
	__u64 enter, exit;
	__u64 pad[6];
};

/*
 * Each generation's count of slots claimed (fl_gen.claimed, an atomic add
 * per new slot), so that the loader sees the fill. One cache line a
 * generation: the programs read gstate on every packet, the claims write
 * here.
 */
struct fl_gen {
	__u64 claimed;
	__u64 pad[7];
};

/*
 * A generation is drained once it has taken FL_FILL_PCT percent of its
 * slots (open addressing stays short below half full). The claim that
 * takes it there writes the generation's number to the "wake" ring
 * buffer, which the loader polls: the drain follows at once, not at its
 * next look at the fill, so a burst of new flows does not fill the
 * generation past the probes' reach before the flip.
 */
#define FL_FILL_PCT 50
/* The claims that take a generation of @n slots there. */
#define FL_FILL_SLOTS(n) ((__u64)(n)*FL_FILL_PCT / 100)

#endif
