/*
 * mem.h - memory helpers shared by the table and the reports.
 */
#ifndef PKTSTAT_MEM_H
#define PKTSTAT_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

/*
 * mem_advise_huge - back the 2 MiB-aligned part of a large, fresh buffer
 * (from malloc, so not aligned itself) with transparent huge pages. The
 * buffers built at exit (a snapshot's rows, the report's sort directory)
 * are megabytes of memory touched once: at 4 KiB a page that is thousands
 * of page faults, each costly in a virtual machine. Best effort: where
 * THP is off, nothing changes.
 */
static inline void mem_advise_huge(void *p, size_t len)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(huge - 1);

	if (p && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

#endif
