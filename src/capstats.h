/*
 * capstats.h - a capture handle's loss and delivery counters: data only,
 * shared by the capture backends (which fill it) and the engine and
 * snapshots (which sum and show it), so neither includes the other.
 */
#ifndef PKTSTAT_CAPSTATS_H
#define PKTSTAT_CAPSTATS_H

#include <stdint.h>

/* Running sums since open (PACKET_STATISTICS resets on read). */
struct cap_stats {
	uint64_t received;     /* frames handed to the callback */
	uint64_t kernel_drops; /* tp_drops / ps_drop */
	uint64_t freezes;      /* tp_freeze_q_cnt */
	uint64_t if_drops;     /* interface rx_dropped delta / ps_ifdrop */
	uint64_t filtered;     /* dropped in user space by a filter swap */
	/* Kernel-side counting (ebpf); 0 for the others. */
	uint64_t map_full;    /* packets counted as overflow: flow map full */
	uint64_t prog_errors; /* packets a BPF program could not count */
	/* times capture resumed on an interface of the same name after
	 * the one it was on had been removed */
	uint64_t rebinds;
	/* frames the kernel put in the ring that were not read by the
	 * time capture stopped (after its drain); 0 while running */
	uint64_t unread;
};

/* cap_stats_add - add every field of @from to @to (a sum over handles). */
static inline void cap_stats_add(struct cap_stats *to,
				 const struct cap_stats *from)
{
	to->received += from->received;
	to->kernel_drops += from->kernel_drops;
	to->freezes += from->freezes;
	to->if_drops += from->if_drops;
	to->filtered += from->filtered;
	to->map_full += from->map_full;
	to->prog_errors += from->prog_errors;
	to->rebinds += from->rebinds;
	to->unread += from->unread;
}

#endif
