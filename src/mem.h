/*
 * mem.h - memory helpers shared by the table and the reports.
 */
#ifndef PKTSTAT_MEM_H
#define PKTSTAT_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

/* A transparent huge page on x86-64. */
#define MEM_HUGE_SIZE ((size_t)2 << 20)

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
	uintptr_t lo =
		((uintptr_t)p + MEM_HUGE_SIZE - 1) & ~(MEM_HUGE_SIZE - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(MEM_HUGE_SIZE - 1);

	if (p && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

#endif
