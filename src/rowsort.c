/*
 * rowsort.c - the partial sort behind rowsort_window (see rowsort.h):
 * quicksort with a median-of-three pivot that descends only into the
 * parts overlapping the window, insertion sort for small parts, heapsort
 * when the pivots go bad. Pure.
 */
#include "rowsort.h"

static inline void ent_swap(struct rowsort_ent *a, struct rowsort_ent *b)
{
	struct rowsort_ent t = *a;

	*a = *b;
	*b = t;
}

static void insertion(struct rowsort_ent *a, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct rowsort_ent t = a[i];

		for (j = i; j > 0 && rowsort_less(&t, &a[j - 1]); j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

static void sift(struct rowsort_ent *a, size_t i, size_t n)
{
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && rowsort_less(&a[c], &a[c + 1]))
			c++;
		if (!rowsort_less(&a[i], &a[c]))
			return;
		ent_swap(&a[i], &a[c]);
		i = c;
	}
}

static void heapsort_ents(struct rowsort_ent *a, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (i = n; i-- > 1;) {
		ent_swap(&a[0], &a[i]);
		sift(a, 0, i);
	}
}

/* Median-of-three partition; keys are distinct (the tie is unique).
 * Returns the pivot's final index. Needs n >= 3. */
static size_t partition(struct rowsort_ent *a, size_t n)
{
	size_t mid = n / 2, i = 0, j = n - 2;
	struct rowsort_ent p;

	if (rowsort_less(&a[mid], &a[0]))
		ent_swap(&a[mid], &a[0]);
	if (rowsort_less(&a[n - 1], &a[0]))
		ent_swap(&a[n - 1], &a[0]);
	if (rowsort_less(&a[n - 1], &a[mid]))
		ent_swap(&a[n - 1], &a[mid]);
	ent_swap(&a[mid], &a[n - 2]);
	p = a[n - 2];
	for (;;) {
		while (rowsort_less(&a[++i], &p))
			;
		while (rowsort_less(&p, &a[--j]))
			;
		if (i >= j)
			break;
		ent_swap(&a[i], &a[j]);
	}
	ent_swap(&a[i], &a[n - 2]);
	return i;
}

/*
 * Put the elements of ranks [lo, hi) of a[0, n) in place, in order:
 * quicksort that only descends into parts overlapping the window, so a
 * window of h rows costs O(n + h log h) on average. Depth-limited: a bad
 * run of pivots ends in heapsort.
 */
static void partial_sort(struct rowsort_ent *a, size_t n, size_t lo, size_t hi,
			 int depth)
{
	while (n > 16) {
		size_t p, r;

		if (hi > n)
			hi = n;
		if (lo >= hi)
			return;
		if (depth-- <= 0) {
			heapsort_ents(a, n);
			return;
		}
		p = partition(a, n);
		r = p + 1; /* right part is a[r, n) */
		if (lo < p && hi > r) {
			/* Both sides: recurse into the smaller. */
			if (p < n - r) {
				partial_sort(a, p, lo, hi, depth);
				a += r;
				n -= r;
				lo = lo > r ? lo - r : 0;
				hi -= r;
			} else {
				partial_sort(a + r, n - r, lo > r ? lo - r : 0,
					     hi - r, depth);
				n = p;
			}
		} else if (lo < p) {
			n = p;
		} else if (hi > r) {
			a += r;
			n -= r;
			lo = lo > r ? lo - r : 0;
			hi -= r;
		} else {
			return;
		}
	}
	insertion(a, n);
}

static int log2ceil(size_t n)
{
	int d = 0;

	while (n > 1) {
		n >>= 1;
		d++;
	}
	return d + 1;
}

void rowsort_window(struct rowsort_ent *a, size_t n, size_t lo, size_t hi)
{
	partial_sort(a, n, lo, hi, 2 * log2ceil(n));
}
