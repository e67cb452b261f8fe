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

/*
 * mem_alloc_big - @size zeroed bytes. Large regions are mapped 2 MiB-aligned
 * with transparent huge pages advised before they are touched, and with
 * @populate faulted in at once (MADV_POPULATE_WRITE): page faults are
 * dear (most of all in virtual machines), and a buffer of megabytes
 * touched 4 KiB at a time would take one per page - for the arena while
 * creating its flows, and at exit during the stop.
 * Huge pages also spare TLB misses and make freeing quick. NULL on
 * failure. Free with mem_free_big and the same @size.
 */
void *mem_alloc_big(size_t size, int populate);

/* The bytes a large mem_alloc_big region spans: @size in whole huge
 * pages. */
static inline size_t mem_big_len(size_t size)
{
	return (size + MEM_HUGE_SIZE - 1) & ~(MEM_HUGE_SIZE - 1);
}

void mem_free_big(void *p, size_t size);

/* Below this size mem_alloc_big's memory is malloc's: the two calls
 * below do nothing to it. */
#define MEM_BIG_MIN ((size_t)256 * 1024)

/*
 * mem_release_big - give the pages of a mem_alloc_big region of @size
 * bytes back to the kernel (MADV_DONTNEED): it stays mapped and reads as
 * zeros, and it is resident again only where it is written. 0, or -errno
 * (-EINVAL for a region below MEM_BIG_MIN, which is left alone).
 */
int mem_release_big(void *p, size_t size);

/* mem_populate_big - fault a mem_alloc_big region in at once, as
 * mem_alloc_big does with @populate (after mem_release_big). */
void mem_populate_big(void *p, size_t size);

#endif
