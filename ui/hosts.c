/*
 * hosts.c - the host view's table (see hosts.h).
 *
 * Two group.c sets see the same flows in the same order: one sums the
 * counts, the other the rates (as milli-units, so that a group's sums,
 * which are exact integer sums, carry them); their groups come out in the
 * same first-seen order, so row i of one is row i of the other. UI thread
 * only.
 */
#include "hosts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/view.h"

#define MILLI 1000.0

struct hosts {
	struct group_set *counts, *rates;
	struct hosts_row *rows;
	size_t n, cap;
	int failed;
};

struct hosts *hosts_new(void)
{
	struct hosts *h = calloc(1, sizeof(*h));

	if (h)
		hosts_clear(h);
	if (h && (!h->counts || !h->rates)) {
		hosts_free(h);
		return NULL;
	}
	return h;
}

void hosts_clear(struct hosts *h)
{
	group_free(h->counts);
	group_free(h->rates);
	h->counts = group_new(GROUP_HOST, 0, 0);
	h->rates = group_new(GROUP_HOST, 0, 0);
	h->n = 0;
	h->failed = !h->counts || !h->rates;
}

static uint64_t milli(double v)
{
	return v > 0 && isfinite(v) ? (uint64_t)llround(v * MILLI) : 0;
}

int hosts_add(struct hosts *h, const struct view_figures *f)
{
	struct flowtab_row c = *f->row, r = *f->row;

	if (h->failed)
		return -ENOMEM;
	for (int d = 0; d < 2; d++) {
		c.bytes[d] = f->bytes[d];
		c.pkts[d] = f->pkts[d];
		r.bytes[d] = milli(f->bps[d]);
		r.pkts[d] = milli(f->pps[d]);
	}
	if (group_add(h->counts, &c) || group_add(h->rates, &r)) {
		h->failed = 1;
		return -ENOMEM;
	}
	return 0;
}

static int row_order(const void *x, const void *y)
{
	const struct hosts_row *a = x, *b = y;
	double ra = a->bps[0] + a->bps[1], rb = b->bps[0] + b->bps[1];
	uint64_t ba = a->bytes[0] + a->bytes[1], bb = b->bytes[0] + b->bytes[1];

	if (ra != rb)
		return ra > rb ? -1 : 1;
	if (ba != bb)
		return ba > bb ? -1 : 1;
	return strcmp(a->label, b->label);
}

int hosts_sort(struct hosts *h)
{
	const struct group_row *c, *r;
	size_t nc, nr;

	h->n = 0;
	if (h->failed)
		return -ENOMEM;
	c = group_rows(h->counts, &nc);
	r = group_rows(h->rates, &nr);
	if (nc != nr)
		return -EINVAL;
	if (nc > h->cap) {
		struct hosts_row *p = realloc(h->rows, nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		h->rows = p;
		h->cap = nc;
	}
	for (size_t i = 0; i < nc; i++) {
		struct hosts_row *o = &h->rows[i];

		if (strcmp(c[i].label, r[i].label))
			return -EINVAL; /* cannot happen: same flows, order */
		memcpy(o->label, c[i].label, sizeof(o->label));
		for (int d = 0; d < 2; d++) {
			o->bytes[d] = c[i].bytes[d];
			o->pkts[d] = c[i].pkts[d];
			o->bps[d] = (double)r[i].bytes[d] / MILLI;
			o->pps[d] = (double)r[i].pkts[d] / MILLI;
		}
		o->flows = c[i].flows;
	}
	h->n = nc;
	qsort(h->rows, h->n, sizeof(*h->rows), row_order);
	return 0;
}

size_t hosts_count(const struct hosts *h)
{
	return h->n;
}

const struct hosts_row *hosts_row(const struct hosts *h, size_t i)
{
	return i < h->n ? &h->rows[i] : NULL;
}

void hosts_free(struct hosts *h)
{
	if (!h)
		return;
	group_free(h->counts);
	group_free(h->rates);
	free(h->rows);
	free(h);
}
