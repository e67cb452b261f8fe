/*
 * rowsort.h - ordering of display rows by an index array (OpenBSD systat's
 * habit: sort the index, not the records): entries carry up to three
 * 64-bit keys compared in turn and a unique tie-breaker, so equal keys
 * never jitter. Pure; any thread on its own array.
 */
#ifndef PKTSTAT_ROWSORT_H
#define PKTSTAT_ROWSORT_H

#include <stddef.h>
#include <stdint.h>

/* A row in the order array: keys compared in turn, tie = id, dir. */
struct rowsort_ent {
	uint64_t k0, k1, k2;
	uint64_t tie;
	uint32_t row;
};

static inline int rowsort_less(const struct rowsort_ent *a,
			       const struct rowsort_ent *b)
{
	if (a->k0 != b->k0)
		return a->k0 < b->k0;
	if (a->k1 != b->k1)
		return a->k1 < b->k1;
	if (a->k2 != b->k2)
		return a->k2 < b->k2;
	return a->tie < b->tie;
}

/*
 * rowsort_window - put the entries of ranks [@lo, @hi) of @a[0, @n) in
 * place, in order (the rest partitioned around them): O(n + h log h) on
 * average for a window of h; depth-limited, so never quadratic. The tie
 * must be unique.
 */
void rowsort_window(struct rowsort_ent *a, size_t n, size_t lo, size_t hi);

#endif
