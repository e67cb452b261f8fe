/*
 * cpanel.c - counters panel model: per-counter rates by name, and the
 * reset baseline.
 *
 * Owns two arrays of entries (the current update and a scratch one it
 * builds the next into). Each entry keeps the raw counts (as the counters
 * module reports them), the raw counts at the last rate step (the rates'
 * reference) and the baseline of the last reset. UI thread only.
 */
#include "cpanel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000.0

struct cp_ent {
	struct cpanel_row row;
	uint64_t raw_pkts, raw_bytes;
	uint64_t ref_pkts, ref_bytes;	/* raw counts at the last rate step */
	uint64_t base_pkts, base_bytes; /* raw counts at the last reset */
};

struct cpanel {
	struct cp_ent *e, *next;
	size_t n, cap;
	uint64_t ref_mono; /* time of the last rate step */
	int have_ref;
};

struct cpanel *cpanel_new(void)
{
	return calloc(1, sizeof(struct cpanel));
}

void cpanel_free(struct cpanel *p)
{
	if (!p)
		return;
	free(p->e);
	free(p->next);
	free(p);
}

static const struct cp_ent *find(const struct cpanel *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->e[i].row.name, name) == 0)
			return &p->e[i];
	return NULL;
}

static double per_s(uint64_t d, uint64_t dt)
{
	return (double)d * NS / (double)dt;
}

int cpanel_update(struct cpanel *p, const struct counters_value *v, size_t n,
		  uint64_t mono_ns)
{
	uint64_t dt = p->have_ref && mono_ns > p->ref_mono
			      ? mono_ns - p->ref_mono
			      : 0;
	int step = !p->have_ref || dt >= CPANEL_MIN_DT_NS;
	struct cp_ent *t;

	if (n > p->cap) {
		struct cp_ent *a = calloc(n, sizeof(*a)), *b;

		b = a ? calloc(n, sizeof(*b)) : NULL;
		if (!b) {
			free(a);
			return -ENOMEM;
		}
		if (p->n)
			memcpy(a, p->e, p->n * sizeof(*a));
		free(p->e);
		free(p->next);
		p->e = a;
		p->next = b;
		p->cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cp_ent *old = find(p, v[i].name);
		struct cp_ent *e = &p->next[i];

		memset(e, 0, sizeof(*e));
		memcpy(e->row.name, v[i].name, sizeof(e->row.name));
		memcpy(e->row.expr, v[i].expr, sizeof(e->row.expr));
		e->row.name[sizeof(e->row.name) - 1] = 0;
		e->row.expr[sizeof(e->row.expr) - 1] = 0;
		e->raw_pkts = v[i].pkts;
		e->raw_bytes = v[i].bytes;
		if (old && strcmp(old->row.expr, e->row.expr) == 0 &&
		    e->raw_pkts >= old->raw_pkts &&
		    e->raw_bytes >= old->raw_bytes) {
			/* the same counter, still counting */
			e->ref_pkts = old->ref_pkts;
			e->ref_bytes = old->ref_bytes;
			e->base_pkts = old->base_pkts;
			e->base_bytes = old->base_bytes;
			e->row.pps = old->row.pps;
			e->row.Bps = old->row.Bps;
		} else if (!p->have_ref) {
			/* the first look: no rate yet */
			e->ref_pkts = e->raw_pkts;
			e->ref_bytes = e->raw_bytes;
		}
		/* else new or modified: it had counted 0 at the last step */
		if (step && p->have_ref && dt) {
			e->row.pps = per_s(e->raw_pkts - e->ref_pkts, dt);
			e->row.Bps = per_s(e->raw_bytes - e->ref_bytes, dt);
		}
		if (step) {
			e->ref_pkts = e->raw_pkts;
			e->ref_bytes = e->raw_bytes;
		}
		e->row.pkts = e->raw_pkts - e->base_pkts;
		e->row.bytes = e->raw_bytes - e->base_bytes;
	}
	t = p->e;
	p->e = p->next;
	p->next = t;
	p->n = n;
	if (step) {
		p->ref_mono = mono_ns;
		p->have_ref = 1;
	}
	return 0;
}

void cpanel_reset(struct cpanel *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct cp_ent *e = &p->e[i];

		e->base_pkts = e->raw_pkts;
		e->base_bytes = e->raw_bytes;
		e->row.pkts = e->row.bytes = 0;
	}
}

size_t cpanel_count(const struct cpanel *p)
{
	return p ? p->n : 0;
}

const struct cpanel_row *cpanel_row(const struct cpanel *p, size_t i)
{
	return i < p->n ? &p->e[i].row : NULL;
}
