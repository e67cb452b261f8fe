/*
 * mem.c - large zeroed regions backed by transparent huge pages.
 */
#include "mem.h"

#include <errno.h>
#include <stdlib.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Below this, malloc's memory is as good. */
#define BIG_ALLOC MEM_BIG_MIN

void *mem_alloc_big(size_t size, int populate)
{
	size_t len = mem_big_len(size);
	char *p, *a;

	if (size < BIG_ALLOC)
		return calloc(1, size);
	if (len < size || len + MEM_HUGE_SIZE < len)
		return NULL;
	/* over-map by 2 MiB and trim to an aligned region */
	p = mmap(NULL, len + MEM_HUGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + MEM_HUGE_SIZE - 1) & ~(MEM_HUGE_SIZE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + len, (size_t)(p + MEM_HUGE_SIZE - a));
	(void)madvise(a, len, MADV_HUGEPAGE);
	if (populate)
		mem_populate_big(a, size);
	return a;
}

void mem_populate_big(void *p, size_t size)
{
	size_t len = mem_big_len(size);
	volatile char *a = p;

	if (!p || size < BIG_ALLOC)
		return;
	if (madvise(p, len, MADV_POPULATE_WRITE) != 0) {
		/* an older kernel: touch each page (zeros: a fresh mapping,
		 * or one given back, reads as zeros) */
		for (size_t off = 0; off < len; off += 4096)
			a[off] = 0;
	}
}

int mem_release_big(void *p, size_t size)
{
	if (!p || size < BIG_ALLOC)
		return -EINVAL;
	return madvise(p, mem_big_len(size), MADV_DONTNEED) ? -errno : 0;
}

void mem_free_big(void *p, size_t size)
{
	if (!p)
		return;
	if (size < BIG_ALLOC)
		free(p);
	else
		munmap(p, mem_big_len(size));
}
