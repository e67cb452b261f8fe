/*
 * view.c - the monitor's view model (see view.h): per-flow state keyed by
 * flow id, which is also what is displayed, the copies frozen while
 * paused, groups, display filter, the sort keys of the index array,
 * scrolling and selection. The rates, averages and history
 * are in view_rate.c, the partial sort in rowsort.c (view_int.h is the
 * state they share); number formatting and column fitting are the UI's
 * (ui/view_format.c, ui/columns.c).
 *
 * Owns: the per-flow state pool and its id hash (open addressing, linear
 * probing, backward-shift deletion), the rows' one copy (view_update; none
 * with view_update_borrow), the process labels, the frozen copies, the
 * row and order arrays. No curses, no locks, no shared state: one thread
 * (the UI) owns a view. Never blocks.
 *
 * Costs at 100,000 flows (measured on the 2-core dev box, CPU time: about
 * 4 ms per update and 2-3 ms per layout): view_update is one pass over the
 * snapshot (one hash lookup per row, and its 2/10/40 s averages moved by
 * twelve multiply-adds with weights computed once per update) and a prune
 * pass only when some flow went.
 * view_layout is O(n) to filter and key the rows plus a partial quicksort
 * that orders only the visible window (nothing when the order is frozen).
 */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "group.h"
#include "app.h"
#include "names.h"
#include "procs.h"
#include "view.h"
#include "view_int.h"
#include "selfflow.h"

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Arrays from this size on are mappings of their own (view_new). */
#define VIEW_MMAP_MIN (256 * 1024)

/* An array of this many bytes or more shrinks when four times too big. */
#define SHRINK_MIN_BYTES ((size_t)1 << 20)

/*
 * grow, and the other way: an array at least SHRINK_MIN_BYTES big with
 * four times the room @need takes (the flows of a flood expired) is cut
 * to twice @need. Returns 1 if it shrank (its memory may have moved),
 * 0, or -ENOMEM (the array intact).
 */
static int fit(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = 64;
	void *q;

	if (need > *cap)
		return grow(p, cap, need, size);
	if (*cap * size < SHRINK_MIN_BYTES || *cap / 4 <= need)
		return 0;
	while (n < 2 * need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return 0; /* keep the bigger one */
	*p = q;
	*cap = n;
	return 1;
}

/* ---- id hash -------------------------------------------------------- */

static size_t hslot(const struct view *v, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> (64 - v->tab_bits));
}

static struct vent *ent_find(const struct view *v, uint64_t id)
{
	size_t mask = v->tab_size - 1, i;

	if (!v->tab_size)
		return NULL;
	for (i = hslot(v, id); v->tab[i] != EMPTY; i = (i + 1) & mask) {
		if (v->ents[v->tab[i]].id == id)
			return &v->ents[v->tab[i]];
	}
	return NULL;
}

static void tab_put(struct view *v, uint32_t e)
{
	size_t mask = v->tab_size - 1, i;

	for (i = hslot(v, v->ents[e].id); v->tab[i] != EMPTY;
	     i = (i + 1) & mask)
		;
	v->tab[i] = e;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void tab_del(struct view *v, uint32_t e)
{
	size_t mask = v->tab_size - 1, i, j, k;

	for (i = hslot(v, v->ents[e].id); v->tab[i] != e; i = (i + 1) & mask)
		;
	v->tab[i] = EMPTY;
	for (j = (i + 1) & mask; v->tab[j] != EMPTY; j = (j + 1) & mask) {
		k = hslot(v, v->ents[v->tab[j]].id);
		/* Leave it if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		v->tab[i] = v->tab[j];
		v->tab[j] = EMPTY;
		i = j;
	}
}

/* A hash of @n entries at most 70% full: its size and bits. */
static void tab_dims(size_t n, size_t *size, unsigned int *bits)
{
	*size = 1024;
	*bits = 10;
	while (*size * 7 < n * 10) {
		*size *= 2;
		(*bits)++;
	}
}

/* The id hash at @size (@bits) slots, every live entry put back. */
static int tab_resize(struct view *v, size_t size, unsigned int bits)
{
	uint32_t *tab = malloc(size * sizeof(*tab));
	size_t i;

	if (!tab)
		return -ENOMEM;
	memset(tab, 0xff, size * sizeof(*tab));
	free(v->tab);
	v->tab = tab;
	v->tab_size = size;
	v->tab_bits = bits;
	for (i = 0; i < v->ents_hw; i++) {
		if (v->ents[i].gen)
			tab_put(v, (uint32_t)i);
	}
	return 0;
}

/*
 * Room for @more new flows in the pool (its untouched room costs no
 * memory). The id hash grows as flows are added
 * (ent_new), so that it fits the flows, not the room.
 */
static int reserve(struct view *v, size_t more)
{
	if (grow((void **)&v->ents, &v->ents_cap, v->ents_hw + more,
		 sizeof(*v->ents)))
		return -ENOMEM;
	if (v->base && v->base_cap < v->ents_cap) {
		if (grow((void **)&v->base, &v->base_cap, v->ents_cap,
			 sizeof(*v->base)))
			return -ENOMEM;
	}
	if (v->etxt && v->etxt_cap < v->ents_cap) {
		if (grow((void **)&v->etxt, &v->etxt_cap, v->ents_cap,
			 sizeof(*v->etxt)))
			return -ENOMEM;
	}
	if (!v->tab_size) {
		size_t size;
		unsigned int bits;

		tab_dims(0, &size, &bits);
		return tab_resize(v, size, bits);
	}
	return 0;
}

/* A new entry for flow @id (room reserved); NULL when the hash cannot
 * grow. */
static struct vent *ent_new(struct view *v, uint64_t id)
{
	uint32_t e;
	struct vent *x;

	if ((v->nlive + 1) * 10 > v->tab_size * 7 &&
	    tab_resize(v, v->tab_size * 2, v->tab_bits + 1))
		return NULL;
	if (v->free_head != EMPTY) {
		e = v->free_head;
		v->free_head = (uint32_t)v->ents[e].id;
	} else {
		e = (uint32_t)v->ents_hw++;
	}
	x = &v->ents[e];
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->f.fpos = NO_POS;
	if (v->base)
		memset(&v->base[e], 0, sizeof(v->base[e]));
	if (v->etxt)
		v->etxt[e] = NULL;
	tab_put(v, e);
	v->nlive++;
	return x;
}

static void ent_del(struct view *v, uint32_t e)
{
	tab_del(v, e);
	if (v->etxt) {
		free(v->etxt[e]);
		v->etxt[e] = NULL;
	}
	v->ents[e].gen = 0;
	v->ents[e].id = v->free_head;
	v->free_head = e;
	v->nlive--;
}

/* ---- life cycle ------------------------------------------------------ */

struct view *view_new(void)
{
	struct view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	/*
	 * The view's arrays grow to megabytes per 10k flows: from 256 KiB on
	 * they are mappings of their own (a fixed threshold, not glibc's
	 * sliding one), so realloc moves pages instead of copying them (and
	 * making untouched room resident), and cutting or freeing one gives
	 * its pages back at once. Process-wide, and harmless elsewhere.
	 */
	mallopt(M_MMAP_THRESHOLD, VIEW_MMAP_MIN);
	v->sort = VIEW_SORT_RATE;
	v->unit = VIEW_UNIT_BITS;
	v->rows_dirty = 1;
	v->tot.last_b = INT64_MIN;
	v->min_dt = MIN_DT_NS;
	v->names = VIEW_NAMES_HOSTS | VIEW_NAMES_PORTS;
	v->free_head = EMPTY;
	return v;
}

void view_free(struct view *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v->etxt && i < v->ents_hw; i++)
		free(v->etxt[i]);
	free(v->etxt);
	free(v->base);
	free(v->ents);
	free(v->tab);
	free(v->idx);
	free(v->own);
	free(v->plab);
	free(v->ptab);
	free(v->frz);
	free(v->gx);
	group_free(v->gs);
	free(v->txt);
	free(v->rows);
	free(v->ord);
	free(v->perm);
	free(v);
}

/* ---- process labels --------------------------------------------------- */

static size_t plab_slot(const struct view *v, const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h & (v->ptab_size - 1));
}

/*
 * The index of label @s (1 on; 0: out of memory, shown as unknown). Labels
 * are kept once each: a flow holds 4 bytes, not the text. The labels are
 * those of processes seen, a few per process (gc_labels bounds them).
 */
static uint32_t plab_intern(struct view *v, const char *s)
{
	size_t i;

	if (!s[0])
		return 0;
	if ((v->nplab + 1) * 2 > v->ptab_size) {
		size_t size = v->ptab_size ? 2 * v->ptab_size : 256;
		uint32_t *t = calloc(size, sizeof(*t));

		if (!t)
			return 0;
		free(v->ptab);
		v->ptab = t;
		v->ptab_size = size;
		for (i = 1; i <= v->nplab; i++) {
			size_t j = plab_slot(v, v->plab[i]);

			while (t[j])
				j = (j + 1) & (size - 1);
			t[j] = (uint32_t)i;
		}
	}
	for (i = plab_slot(v, s); v->ptab[i]; i = (i + 1) & (v->ptab_size - 1))
		if (!strncmp(v->plab[v->ptab[i]], s, VIEW_PROC_MAX))
			return v->ptab[i];
	/* index 0 is never used: a label's index is never 0 */
	if (grow((void **)&v->plab, &v->plab_cap, v->nplab + 2,
		 sizeof(*v->plab)))
		return 0;
	v->nplab++;
	snprintf(v->plab[v->nplab], sizeof(v->plab[0]), "%s", s);
	v->ptab[i] = (uint32_t)v->nplab;
	return (uint32_t)v->nplab;
}

static const char *plab_text(const struct view *v, uint32_t i)
{
	return i && i <= v->nplab ? v->plab[i] : "";
}

/*
 * Labels of processes long gone pile up (a pid is in the label): when
 * there are many more than flows, keep only the live flows' (not while
 * paused: the frozen copies hold indices too). Out of memory: kept.
 */
static void plab_gc(struct view *v)
{
	char(*old)[VIEW_PROC_MAX] = v->plab;
	uint32_t *oldt = v->ptab;
	size_t n = v->nplab, i;

	if (v->frz || n < 4096 || n < 4 * v->nlive)
		return;
	v->plab = NULL;
	v->ptab = NULL;
	v->nplab = v->plab_cap = v->ptab_size = 0;
	for (i = 0; i < v->ents_hw; i++) {
		struct vent *e = &v->ents[i];

		if (e->gen && e->f.proc)
			e->f.proc = plab_intern(v, old[e->f.proc]);
	}
	free(old);
	free(oldt);
}

/* ---- shown flows ------------------------------------------------------ */

/* The flows shown: the frozen copies while paused, else the live entries
 * in the last update's row order. */
static size_t shown_n(const struct view *v)
{
	if (v->frz)
		return v->nfrz;
	return v->rows_gone ? 0 : v->nidx;
}

static struct vent *shown_at(const struct view *v, size_t i)
{
	if (v->frz)
		return &v->frz[i].e;
	return &v->ents[v->idx[i]];
}

/* The group or frozen copy @f is the head of, or NULL (a live entry). */
static const struct vcopy *copy_of(const struct view *v,
				   const struct view_flow *f)
{
	const struct vent *e = vent_of(f);
	size_t i;

	if (v->group_by && v->ngx && (const void *)e >= (const void *)v->gx &&
	    (const void *)e < (const void *)(v->gx + v->ngx)) {
		i = (size_t)((const char *)e - (const char *)v->gx) /
		    sizeof(*v->gx);
		return &v->gx[i].c;
	}
	if (v->frz && v->nfrz && e >= &v->frz[0].e &&
	    e <= &v->frz[v->nfrz - 1].e) {
		i = (size_t)((const char *)e - (const char *)v->frz) /
		    sizeof(*v->frz);
		return &v->frz[i];
	}
	return NULL;
}

void view_flow_avgs(const struct view *v, const struct view_flow *f,
		    struct vavg *out)
{
	const struct vcopy *c = copy_of(v, f);
	int h, i;

	if (!c) {
		view_rate_flow_avgs(v, vent_of(f), out);
		return;
	}
	/* a copy holds the averages as shown */
	for (h = 0; h < 3; h++) {
		for (i = 0; i < 2; i++) {
			out->bps[i][h] = c->e.ew[h][i];
			out->pps[i][h] = c->e.ew[h][2 + i];
		}
	}
}

double view_row_avg(const struct view *v, const struct view_row *r, int h)
{
	struct vavg a;
	double b, p;

	if (h < 0 || h > 2)
		return 0.0;
	view_flow_avgs(v, r->f, &a);
	if (r->dir != VIEW_DIR_BOTH) {
		b = a.bps[r->dir][h];
		p = a.pps[r->dir][h];
	} else {
		b = (double)a.bps[0][h] + a.bps[1][h];
		p = (double)a.pps[0][h] + a.pps[1][h];
	}
	return view_unit_rate(v->unit, b, p);
}

/* The counts of @f at the last reset; NULL: none was made. */
static const struct vbase *base_of(const struct view *v,
				   const struct view_flow *f)
{
	const struct vcopy *c = copy_of(v, f);

	if (c)
		return &c->base;
	return v->base ? &v->base[vent_of(f) - v->ents] : NULL;
}

/* ---- ingestion ------------------------------------------------------- */

/* Rates, history and display values of one flow, shown with row @r. */
static void ingest_flow(struct view *v, struct vent *e,
			const struct flowtab_row *r, const struct snapshot *s,
			uint64_t dt)
{
	struct view_flow *out = &e->f;
	double d[4];
	uint64_t db[2], dp[2];
	int i;

	for (i = 0; i < 2; i++) {
		db[i] = sub0(r->bytes[i], e->prev_bytes[i]);
		dp[i] = sub0(r->pkts[i], e->prev_pkts[i]);
		d[i] = (double)db[i];
		d[2 + i] = (double)dp[i];
	}
	if (!v->hold) {
		/* held: the last rates stay */
		view_rate_flow_add(v, e, d);
		for (i = 0; i < 2; i++) {
			out->bps[i] = (float)per_s(db[i], dt);
			out->pps[i] = (float)per_s(dp[i], dt);
		}
	}
	out->row = r;
	out->flags = 0;
	if (s->now_ns >= r->first_ns && s->now_ns - r->first_ns < VIEW_NEW_NS)
		out->flags |= VIEW_ROW_NEW;
	if (v->tot.have_prev && !dp[0] && !dp[1])
		out->flags |= VIEW_ROW_IDLE;
	if (selfflow_match(&v->self, &r->key)) {
		out->flags |= VIEW_ROW_SELF;
		v->self_seen = 1;
	}
	out->txt = UINT32_MAX;
	/* named once known: a flow's process never changes (its user
	 * alone, the resolver not having found the process yet, is shown
	 * but looked up again) */
	if (!e->proc_final && s->procs) {
		struct procs_info pi;
		char lab[VIEW_PROC_MAX];

		if (procs_lookup(s->procs, r, &pi) >= 0 &&
		    (pi.pid || pi.user[0])) {
			procs_label(&pi, 1, lab, sizeof(lab));
			out->proc = plab_intern(v, lab);
			e->proc_final = pi.pid != 0 && out->proc;
		}
	}
	/* Held: the next interval counts these packets. */
	for (i = 0; i < 2 && !v->hold; i++) {
		e->prev_bytes[i] = r->bytes[i];
		e->prev_pkts[i] = r->pkts[i];
	}
}

/* Positions of a frozen order only grow; close the gaps now and then. */
static int frozen_renumber(struct view *v)
{
	size_t i, n = shown_n(v), span = v->next_fpos;
	uint32_t pos = 0;

	if (grow((void **)&v->perm, &v->perm_cap, span + 1, sizeof(*v->perm)))
		return -ENOMEM;
	memset(v->perm, 0xff, span * sizeof(*v->perm));
	for (i = 0; i < n; i++) {
		if (shown_at(v, i)->f.fpos < span)
			v->perm[shown_at(v, i)->f.fpos] = (uint32_t)i;
	}
	for (i = 0; i < v->ents_hw; i++)
		v->ents[i].f.fpos = NO_POS;
	for (i = 0; i < span; i++) {
		struct vent *f, *e;

		if (v->perm[i] == UINT32_MAX)
			continue;
		f = shown_at(v, v->perm[i]);
		f->f.fpos = pos++;
		e = ent_find(v, f->id);
		if (e)
			e->f.fpos = f->f.fpos;
	}
	v->next_fpos = pos;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Give the shown flows their frozen positions (from their state entries,
 * which keep them across updates); flows new to the order append in
 * creation (id) order.
 */
static int frozen_append(struct view *v)
{
	uint64_t *ids;
	size_t i, n = 0, nshown = shown_n(v);

	for (i = 0; i < nshown; i++) {
		struct vent *f = shown_at(v, i);

		if (v->frz && f->f.fpos == NO_POS) {
			struct vent *e = ent_find(v, f->id);

			if (e && e->f.fpos != NO_POS)
				f->f.fpos = e->f.fpos;
		}
		n += f->f.fpos == NO_POS;
	}
	if (n) {
		ids = malloc(n * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		for (i = 0, n = 0; i < nshown; i++) {
			if (shown_at(v, i)->f.fpos == NO_POS)
				ids[n++] = shown_at(v, i)->id;
		}
		qsort(ids, n, sizeof(*ids), cmp_u64);
		for (i = 0; i < n; i++) {
			struct vent *e = ent_find(v, ids[i]);

			if (e)
				e->f.fpos = v->next_fpos++;
		}
		for (i = 0; i < nshown; i++) {
			struct vent *f = shown_at(v, i), *e;

			if (f->f.fpos != NO_POS)
				continue;
			e = ent_find(v, f->id);
			f->f.fpos = e ? e->f.fpos : v->next_fpos++;
		}
		free(ids);
	}
	if (v->next_fpos > 2 * nshown + 1024)
		return frozen_renumber(v);
	return 0;
}

/* The shown state changed: rows, texts and order are stale. */
static void shown_changed(struct view *v)
{
	v->txt_valid = 0;
	v->rows_dirty = 1;
	if (v->frozen && frozen_append(v))
		v->frozen = 0; /* out of memory: sort instead */
}

/* ---- groups (g) ------------------------------------------------------ */

static void group_acc(struct vgroup *x, const struct vent *e,
		      const struct vbase *b, const struct vavg *a, int tx)
{
	const struct view_flow *f = &e->f;
	struct vcopy *g = &x->c;
	int rx = !tx, h;

	g->row.pkts[0] += f->row->pkts[tx];
	g->row.pkts[1] += f->row->pkts[rx];
	g->row.bytes[0] += f->row->bytes[tx];
	g->row.bytes[1] += f->row->bytes[rx];
	if (b) {
		g->base.bytes[0] += b->bytes[tx];
		g->base.bytes[1] += b->bytes[rx];
		g->base.pkts[0] += b->pkts[tx];
		g->base.pkts[1] += b->pkts[rx];
	}
	g->e.f.bps[0] += f->bps[tx];
	g->e.f.bps[1] += f->bps[rx];
	g->e.f.pps[0] += f->pps[tx];
	g->e.f.pps[1] += f->pps[rx];
	for (h = 0; h < 3; h++) {
		g->e.ew[h][0] += a->bps[tx][h];
		g->e.ew[h][1] += a->bps[rx][h];
		g->e.ew[h][2] += a->pps[tx][h];
		g->e.ew[h][3] += a->pps[rx][h];
	}
	if (!g->row.first_ns ||
	    (f->row->first_ns && f->row->first_ns < g->row.first_ns))
		g->row.first_ns = f->row->first_ns;
	if (f->row->last_ns > g->row.last_ns)
		g->row.last_ns = f->row->last_ns;
	/* new while all its flows are, idle while all are; yours if any */
	g->e.f.flags &= f->flags | ~(unsigned)(VIEW_ROW_NEW | VIEW_ROW_IDLE);
	g->e.f.flags |= f->flags & VIEW_ROW_SELF;
	x->flows++;
}

/*
 * The groups of the shown flows into v->gx: every figure of a group is
 * the sum of its flows' (a flow between two groups counts in both,
 * group.h), the sent side being the group's. O(flows): one label and
 * hash each.
 */
static int build_groups(struct view *v)
{
	const struct group_row *gr;
	size_t i, j, n, ng = 0, nshown = shown_n(v);

	v->ngx = 0;
	if (!v->group_by)
		return 0;
	group_clear(v->gs);
	group_set_proc(v->gs, procs_group_name, v->procs);
	group_set_ifaces(v->gs, v->ifnames, v->nifaces);
	for (i = 0; i < nshown; i++) {
		const struct vent *e = shown_at(v, i);
		struct group_place p;
		struct vavg a;

		if (group_place(v->gs, e->f.row, &p))
			return -ENOMEM;
		group_rows(v->gs, &n);
		if (n > ng) {
			if (grow((void **)&v->gx, &v->gxcap, n, sizeof(*v->gx)))
				return -ENOMEM;
			memset(v->gx + ng, 0, (n - ng) * sizeof(*v->gx));
			for (j = ng; j < n; j++)
				v->gx[j].c.e.f.flags =
					VIEW_ROW_NEW | VIEW_ROW_IDLE;
			ng = n;
		}
		view_flow_avgs(v, &e->f, &a);
		for (j = 0; j < p.n; j++)
			group_acc(&v->gx[p.row[j]], e, base_of(v, &e->f), &a,
				  p.tx[j]);
	}
	gr = group_rows(v->gs, &n);
	for (j = 0; j < n; j++) {
		struct vgroup *g = &v->gx[j];

		snprintf(g->label, sizeof(g->label), "%s", gr[j].label);
		memcpy(g->order, gr[j].order, sizeof(gr[j].order));
		g->c.row.id = g->c.e.id = gr[j].id;
		g->c.e.f.row = &g->c.row;
		g->c.e.f.fpos = NO_POS;
		g->c.e.f.txt = UINT32_MAX;
	}
	v->ngx = n;
	return 0;
}

/* The group of a shown row, or NULL for a flow row. */
static const struct vgroup *row_group(const struct view *v,
				      const struct view_flow *f)
{
	const struct vent *e = vent_of(f);

	if (!v->group_by || !v->ngx || (const void *)e < (const void *)v->gx ||
	    (const void *)e >= (const void *)(v->gx + v->ngx))
		return NULL;
	return &v->gx[((const char *)e - (const char *)v->gx) / sizeof(*v->gx)];
}

/* Compaction is worth it from this many entries handed out. */
#define COMPACT_MIN 4096

/*
 * After a flood: fewer than a quarter of the entries handed out are live.
 * Move the live ones to the front, in order (the update's walk relies on
 * it), cut the arrays to twice what is live,
 * rebuild the id hash, and give the memory back to the kernel
 * (malloc_trim). Not while paused (the frozen copies look entries up).
 * Allocates nothing it needs: a failed realloc keeps the bigger array.
 */
static void view_compact(struct view *v)
{
	size_t i, n = 0, cap = 64, size;
	unsigned int bits;

	if (v->frz || v->ents_hw < COMPACT_MIN || v->nlive * 4 > v->ents_hw)
		return;
	for (i = 0; i < v->ents_hw; i++) {
		if (!v->ents[i].gen)
			continue;
		if (i != n) {
			v->ents[n] = v->ents[i];
			if (v->base)
				v->base[n] = v->base[i];
			if (v->etxt)
				v->etxt[n] = v->etxt[i];
		}
		n++;
	}
	v->ents_hw = n;
	v->free_head = EMPTY;
	while (cap < 2 * n)
		cap *= 2;
	fit((void **)&v->ents, &v->ents_cap, cap / 2, sizeof(*v->ents));
	if (v->base)
		fit((void **)&v->base, &v->base_cap, cap / 2, sizeof(*v->base));
	if (v->etxt)
		fit((void **)&v->etxt, &v->etxt_cap, cap / 2, sizeof(*v->etxt));
	tab_dims(n, &size, &bits);
	if (size >= v->tab_size || tab_resize(v, size, bits)) {
		memset(v->tab, 0xff, v->tab_size * sizeof(*v->tab));
		for (i = 0; i < n; i++)
			tab_put(v, (uint32_t)i);
	}
	/* the entries moved: the update that follows (the only caller)
	 * points the shown flows at them again */
	v->rows_gone = 1;
	v->rows_dirty = 1;
	v->compacted = 1;
}

static int update(struct view *v, const struct snapshot *s, int borrow)
{
	struct dispstate *d = v->frz ? &v->latest : &v->shown;
	uint64_t t0 = mono_now(), dt, now;
	struct snapshot_iter it = { 0 };
	const struct flowtab_row *r;
	size_t i, seen = 0;
	int first, rc, rc2;
	uint32_t guess = 0;

	view_compact(v);
	/* Whatever happens now, the live entries no longer show what they
	 * showed: they may move, their rows change. */
	v->rows_gone = 1;
	v->rows_dirty |= !v->frz;
	rc = borrow ? 0
		    : fit((void **)&v->own, &v->own_cap, s->nrows,
			  sizeof(*v->own));
	rc2 = fit((void **)&v->idx, &v->idx_cap, s->nrows, sizeof(*v->idx));
	if (rc < 0 || rc2 < 0 || reserve(v, s->nrows))
		return -ENOMEM;
	v->compacted |= rc | rc2;
	v->procs = s->procs;
	if (s->ifnames) {
		v->ifnames = s->ifnames;
		v->nifaces = s->nifaces;
	}
	v->app_table = s->app_table;
	/* Files: packet time (the file's own rates, however fast it is
	 * read); before the first packet there is no packet time yet. */
	now = v->packet_clock ? s->now_ns : s->mono_ns;
	first = !v->tot.have_prev || (v->packet_clock && !v->tot.prev_mono);
	if (!first) {
		dt = sub0(now, v->tot.prev_mono);
	} else {
		/* First look: everything so far happened during the run. */
		dt = snapshot_duration_ns(s);
		if (dt > now)
			dt = now;
		v->tot.origin = now - dt;
		v->tot.avg_origin = v->tot.origin;
	}
	/*
	 * An update sooner than min_dt after the last one (a refresh forced
	 * by a command, a file whose packet time stood still) holds the
	 * rates: a short interval is mostly noise, and would move the peak.
	 */
	v->hold = !first && dt < v->min_dt;
	if (!++v->gen)
		v->gen = 1;
	v->updates++;
	if (!v->hold)
		view_rate_plan(&v->ew, now, dt, v->tot.origin);
	for (i = 0; i < s->nrows && (r = snapshot_row_next(s, &it)); i++) {
		struct vent *e = NULL;

		/*
		 * Rows keep their relative order from one snapshot to the
		 * next (the table's iteration order), and entries are made
		 * in that order: try the next entry in line before hashing. A
		 * flow found a little further on means flows in between
		 * went: the walk goes on from there. One found elsewhere (a
		 * newer flow) leaves the walk where it was.
		 */
		if (guess < v->ents_hw && v->ents[guess].gen &&
		    v->ents[guess].id == r->id) {
			e = &v->ents[guess];
			guess++;
		} else {
			uint32_t at;

			e = ent_find(v, r->id);
			if (!e && !(e = ent_new(v, r->id)))
				return -ENOMEM;
			at = (uint32_t)(e - v->ents);
			if (at >= guess && at - guess < 64)
				guess = at + 1;
		}
		seen += e->gen != v->gen;
		e->gen = v->gen;
		if (!borrow) {
			v->own[i] = *r;
			r = &v->own[i];
		}
		ingest_flow(v, e, r, s, dt);
		v->idx[i] = (uint32_t)(e - v->ents);
	}
	v->nidx = i;
	v->rows_gone = 0;
	/* Prune flows gone, unless every live entry was just seen. */
	for (i = 0; i < v->ents_hw && v->nlive > seen; i++) {
		if (v->ents[i].gen && v->ents[i].gen != v->gen)
			ent_del(v, (uint32_t)i);
	}
	plab_gc(v);
	view_rate_totals(v, s, now, dt, d);
	view_rate_history(v, d);
	d->now_ns = s->now_ns;
	d->valid = 1;
	v->tot.have_prev = 1;
	rc = 0;
	if (!v->frz) {
		rc = build_groups(v);
		if (rc)
			v->ngx = 0;
		shown_changed(v);
	}
	v->cost_update = mono_now() - t0;
	return rc;
}

int view_update(struct view *v, const struct snapshot *s)
{
	return update(v, s, 0);
}

int view_update_borrow(struct view *v, const struct snapshot *s)
{
	return update(v, s, 1);
}

void view_forget_rows(struct view *v)
{
	v->rows_gone = 1;
	if (!v->frz) {
		v->ngx = 0;
		shown_changed(v);
	}
}

/* ---- settings -------------------------------------------------------- */

/* Copies of the shown flows, rows and averages included: the display
 * while paused. 0 or -ENOMEM. */
static int freeze_shown(struct view *v)
{
	size_t i, n = shown_n(v);
	struct vcopy *c = malloc((n ? n : 1) * sizeof(*c));
	struct vavg a;
	int h, k;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct vent *e = shown_at(v, i);

		const struct vbase *b = base_of(v, &e->f);

		c[i].e = *e;
		if (b)
			c[i].base = *b;
		else
			memset(&c[i].base, 0, sizeof(c[i].base));
		c[i].row = *e->f.row;
		c[i].e.f.row = &c[i].row;
		/* the copy holds the averages as shown */
		view_rate_flow_avgs(v, e, &a);
		for (h = 0; h < 3; h++) {
			for (k = 0; k < 2; k++) {
				c[i].e.ew[h][k] = a.bps[k][h];
				c[i].e.ew[h][2 + k] = a.pps[k][h];
			}
		}
	}
	v->frz = c;
	v->nfrz = n;
	return 0;
}

void view_set_paused(struct view *v, int paused, uint64_t mono_ns)
{
	paused = !!paused;
	if (paused == v->paused)
		return;
	if (paused) {
		/* Ingestion moves the entries on: show copies. Out of
		 * memory: not paused. */
		if (freeze_shown(v))
			return;
		v->paused = 1;
		v->paused_since = mono_ns;
		v->latest.valid = 0;
		v->txt_valid = 0;
		v->rows_dirty = 1;
		return;
	}
	v->paused = 0;
	v->paused_since = 0;
	free(v->frz);
	v->frz = NULL;
	v->nfrz = 0;
	/* Resume: show the latest state ingested while paused. */
	if (v->latest.valid)
		v->shown = v->latest;
	v->latest.valid = 0;
	if (build_groups(v))
		v->ngx = 0;
	shown_changed(v);
}

int view_paused(const struct view *v, uint64_t *since)
{
	if (since)
		*since = v->paused_since;
	return v->paused;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < 8; i++)
		x = (x << 8) | p[i];
	return x;
}

/* Non-negative doubles order like their bit patterns. */
static uint64_t dkey(double d)
{
	uint64_t k;

	if (!(d > 0.0))
		d = 0.0;
	memcpy(&k, &d, sizeof(k));
	return k;
}

/*
 * Sort keys of a row: k0, then k1 and k2 (zero unless set), ascending; the
 * row's natural direction and reversal are applied by row_key.
 */
typedef void (*sort_key_fn)(const struct view *v, const struct view_row *r,
			    struct rowsort_ent *e);

static void key_proto(const struct view *v, const struct view_row *r,
		      struct rowsort_ent *e)
{
	const struct flow_key *k = &r->f->row->key;

	(void)v;
	e->k0 = (uint64_t)k->kind << 8 | k->ipproto;
}

/* Endpoint @side as shown: for a B->A direction row the sides swap. */
static void key_endpoint(const struct view_row *r, int side,
			 struct rowsort_ent *e)
{
	const struct flow_key *k = &r->f->row->key;

	if (r->dir == FLOW_DIR_BA)
		side = !side;
	e->k0 = be64(side ? k->b : k->a);
	e->k1 = be64((side ? k->b : k->a) + 8);
	e->k2 = side ? k->bport : k->aport;
}

static void key_a(const struct view *v, const struct view_row *r,
		  struct rowsort_ent *e)
{
	(void)v;
	key_endpoint(r, 0, e);
}

static void key_b(const struct view *v, const struct view_row *r,
		  struct rowsort_ent *e)
{
	(void)v;
	key_endpoint(r, 1, e);
}

static void key_rate_ab(const struct view *v, const struct view_row *r,
			struct rowsort_ent *e)
{
	e->k0 = dkey(view_row_rate(v, r, VIEW_RATE_AB));
}

static void key_rate_ba(const struct view *v, const struct view_row *r,
			struct rowsort_ent *e)
{
	e->k0 = dkey(view_row_rate(v, r, VIEW_RATE_BA));
}

static void key_rate(const struct view *v, const struct view_row *r,
		     struct rowsort_ent *e)
{
	e->k0 = dkey(view_row_rate(v, r, VIEW_RATE_TOTAL));
}

static void key_avg2(const struct view *v, const struct view_row *r,
		     struct rowsort_ent *e)
{
	e->k0 = dkey(view_row_avg(v, r, 0));
}

static void key_avg10(const struct view *v, const struct view_row *r,
		      struct rowsort_ent *e)
{
	e->k0 = dkey(view_row_avg(v, r, 1));
}

static void key_avg40(const struct view *v, const struct view_row *r,
		      struct rowsort_ent *e)
{
	e->k0 = dkey(view_row_avg(v, r, 2));
}

static void key_pps(const struct view *v, const struct view_row *r,
		    struct rowsort_ent *e)
{
	(void)v;
	e->k0 = dkey(view_row_pps(r));
}

static void key_bytes(const struct view *v, const struct view_row *r,
		      struct rowsort_ent *e)
{
	e->k0 = view_row_bytes(v, r);
}

static void key_pkts(const struct view *v, const struct view_row *r,
		     struct rowsort_ent *e)
{
	e->k0 = view_row_pkts(v, r);
}

static void key_last(const struct view *v, const struct view_row *r,
		     struct rowsort_ent *e)
{
	(void)v;
	e->k0 = r->f->row->last_ns;
}

/* Up to 16 bytes of @t as a big-endian pair: byte order is text order. */
static void key_text(const char *t, struct rowsort_ent *e)
{
	uint8_t b[16] = { 0 };

	memcpy(b, t, strnlen(t, sizeof(b)));
	e->k0 = be64(b);
	e->k1 = be64(b + 8);
}

/* Known first in the natural (ascending) order: unknown gets the top
 * byte set, above any printable text. */
static void key_proc(const struct view *v, const struct view_row *r,
		     struct rowsort_ent *e)
{
	const char *proc = view_row_proc(v, r);
	size_t n = strnlen(proc, VIEW_PROC_MAX);
	uint8_t b[8] = { 0 };

	if (!n) {
		e->k0 = UINT64_MAX;
		return;
	}
	key_text(proc, e);
	if (n > 16)
		memcpy(b, proc + 16, n - 16 < 8 ? n - 16 : 8);
	e->k2 = be64(b);
}

static void key_app(const struct view *v, const struct view_row *r,
		    struct rowsort_ent *e)
{
	int guess = 0;
	const char *a = view_row_app(r, &guess);

	(void)v;
	if (!a[0]) {
		e->k0 = UINT64_MAX;
		return;
	}
	key_text(a, e);
	e->k2 = (uint64_t)guess; /* a label seen before a guess */
}

/*
 * The sortable fields, one entry each (OpenBSD systat's order table): the
 * name shown, whether numbers-first (descending) is natural, the key.
 * A new sort key is an enum view_sort member and one line here (and, to
 * show it, a column in ui/columns.c).
 */
static const struct {
	const char *name;
	int desc;
	sort_key_fn key;
} sort_fields[VIEW_SORT_COUNT] = {
	[VIEW_SORT_PROTO] = { "protocol", 0, key_proto },
	[VIEW_SORT_A] = { "endpoint A", 0, key_a },
	[VIEW_SORT_B] = { "endpoint B", 0, key_b },
	[VIEW_SORT_RATE_AB] = { "rate A>B", 1, key_rate_ab },
	[VIEW_SORT_RATE_BA] = { "rate B>A", 1, key_rate_ba },
	[VIEW_SORT_RATE] = { "rate", 1, key_rate },
	[VIEW_SORT_AVG2] = { "2 s average", 1, key_avg2 },
	[VIEW_SORT_AVG10] = { "10 s average", 1, key_avg10 },
	[VIEW_SORT_AVG40] = { "40 s average", 1, key_avg40 },
	[VIEW_SORT_PPS] = { "packets/s", 1, key_pps },
	[VIEW_SORT_BYTES] = { "bytes", 1, key_bytes },
	[VIEW_SORT_PKTS] = { "packets", 1, key_pkts },
	[VIEW_SORT_LAST] = { "last seen", 1, key_last },
	[VIEW_SORT_PROC] = { "process", 0, key_proc },
	[VIEW_SORT_APP] = { "app", 0, key_app },
};

const char *view_sort_name(enum view_sort key)
{
	return (unsigned)key < VIEW_SORT_COUNT ? sort_fields[key].name : "?";
}

int view_sort_descending(enum view_sort key)
{
	return (unsigned)key < VIEW_SORT_COUNT ? sort_fields[key].desc : 0;
}

void view_set_sort(struct view *v, enum view_sort key)
{
	if ((unsigned)key >= VIEW_SORT_COUNT)
		return;
	if (key == v->sort && !v->frozen) {
		v->reversed = !v->reversed;
	} else if (key != v->sort) {
		v->sort = key;
		v->reversed = 0;
	}
	v->frozen = 0;
	v->ord_dirty = 1;
}

void view_sort_step(struct view *v, int delta, uint32_t mask)
{
	int k = (int)v->sort, i;

	if (!mask)
		mask = (1u << VIEW_SORT_COUNT) - 1;
	for (i = 0; i < VIEW_SORT_COUNT; i++) {
		k = (k + (delta < 0 ? VIEW_SORT_COUNT - 1 : 1)) %
		    VIEW_SORT_COUNT;
		if (mask & (1u << k))
			break;
	}
	if (!(mask & (1u << k)))
		return;
	v->sort = (enum view_sort)k;
	v->reversed = 0;
	v->frozen = 0;
	v->ord_dirty = 1;
}

enum view_sort view_sort(const struct view *v, int *reversed)
{
	if (reversed)
		*reversed = v->reversed;
	return v->sort;
}

static int layout_order(struct view *v);

void view_set_frozen(struct view *v, int frozen)
{
	char filter0 = v->filter[0];
	size_t i;
	int rc;

	frozen = !!frozen;
	if (frozen == v->frozen)
		return;
	v->ord_dirty = 1;
	if (!frozen) {
		v->frozen = 0;
		return;
	}
	/* Freeze the order the rows have now, filtered out or not. */
	v->filter[0] = 0;
	rc = layout_order(v);
	v->filter[0] = filter0;
	v->ord_dirty = 1;
	if (rc)
		return;
	rowsort_window(v->ord, v->nord, 0, v->nord);
	for (i = 0; i < v->ents_hw; i++)
		v->ents[i].f.fpos = NO_POS;
	for (i = 0; i < shown_n(v); i++)
		shown_at(v, i)->f.fpos = NO_POS;
	v->next_fpos = 0;
	for (i = 0; i < v->nord; i++) {
		struct view_flow *f =
			(struct view_flow *)v->rows[v->ord[i].row].f;
		struct vent *e;

		if (f->fpos != NO_POS)
			continue;
		f->fpos = v->next_fpos++;
		e = ent_find(v, vent_of(f)->id);
		if (e)
			e->f.fpos = f->fpos;
	}
	v->frozen = 1;
}

int view_frozen(const struct view *v)
{
	return v->frozen && !v->group_by;
}

int view_filter_set(struct view *v, const char *text)
{
	size_t i, n = text ? strlen(text) : 0;

	if (n >= VIEW_FILTER_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = text[i];

		v->filter[i] =
			(c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	v->filter[n] = 0;
	v->ord_dirty = 1;
	return 0;
}

const char *view_filter(const struct view *v)
{
	return v->filter;
}

void view_set_unit(struct view *v, enum view_unit unit)
{
	if (unit == v->unit)
		return;
	v->unit = unit;
	v->ord_dirty = 1;
}

enum view_unit view_unit(const struct view *v)
{
	return v->unit;
}

void view_set_per_direction(struct view *v, int on)
{
	if (!!on == v->per_dir)
		return;
	v->per_dir = !!on;
	v->rows_dirty = 1;
}

int view_per_direction(const struct view *v)
{
	return v->per_dir;
}

void view_set_numeric(struct view *v, int on)
{
	v->names = on ? 0 : VIEW_NAMES_HOSTS | VIEW_NAMES_PORTS;
}

int view_numeric(const struct view *v)
{
	return !v->names;
}

void view_set_names(struct view *v, unsigned int names)
{
	v->names = names & (VIEW_NAMES_HOSTS | VIEW_NAMES_PORTS);
}

unsigned int view_names(const struct view *v)
{
	return v->names;
}

void view_set_full_names(struct view *v, int on)
{
	v->full_names = !!on;
}

void view_set_packet_clock(struct view *v, int on)
{
	v->packet_clock = !!on;
}

void view_set_min_interval(struct view *v, uint64_t ns)
{
	v->min_dt = ns > MIN_DT_NS ? ns : MIN_DT_NS;
}

void view_set_max_bps(struct view *v, double bits_per_s)
{
	/* NaN fails the comparison: auto-detect, as for 0. */
	v->max_bits = bits_per_s > 0 && isfinite(bits_per_s) ? bits_per_s : 0;
}

double view_max_bps(const struct view *v, int *fixed)
{
	if (fixed)
		*fixed = v->max_bits > 0;
	if (v->max_bits > 0)
		return v->max_bits;
	return v->shown.tot.peak_bps * 8.0;
}

void view_set_resolver(struct view *v, view_name_fn fn, void *ctx)
{
	v->name_fn = fn;
	v->name_ctx = ctx;
}

void view_mark(struct view *v, uint64_t wall_ns)
{
	view_reset(v);
	v->mark_wall_ns = wall_ns ? wall_ns : 1;
	v->since_start = 0;
}

uint64_t view_mark_time(const struct view *v)
{
	return v->mark_wall_ns;
}

void view_set_since_start(struct view *v, int on)
{
	v->since_start = !!on;
	v->rows_dirty = 1;
	v->ord_dirty = 1;
}

int view_since_start(const struct view *v)
{
	return v->since_start;
}

void view_set_self(struct view *v, const struct selfflow *sf)
{
	v->self = *sf;
}

int view_self_known(const struct view *v)
{
	return v->self.known;
}

void view_set_hide_self(struct view *v, int on)
{
	v->hide_self = !!on;
	v->ord_dirty = 1;
}

int view_hide_self(const struct view *v)
{
	return v->hide_self;
}

int view_self_seen(const struct view *v)
{
	return v->self_seen;
}

int view_set_group(struct view *v, int by, int v4_prefix, int v6_prefix)
{
	struct group_set *gs = NULL;

	if (by < 0 || by >= GROUP_COUNT)
		return -EINVAL;
	if (by == v->group_by &&
	    (!by || (v4_prefix == v->group_v4 && v6_prefix == v->group_v6)))
		return 0;
	if (by && !(gs = group_new((enum group_by)by, v4_prefix, v6_prefix)))
		return -ENOMEM;
	group_free(v->gs);
	v->gs = gs;
	v->group_by = by;
	v->group_v4 = v4_prefix;
	v->group_v6 = v6_prefix;
	/* at once, paused or not: the groups of what is shown */
	if (build_groups(v)) {
		v->ngx = 0;
		return -ENOMEM;
	}
	v->txt_valid = 0;
	v->rows_dirty = 1;
	v->ord_dirty = 1;
	return 0;
}

int view_group(const struct view *v)
{
	return v->group_by;
}

int view_copy_settings(struct view *dst, const struct view *src)
{
	dst->sort = src->sort;
	dst->reversed = src->reversed;
	memcpy(dst->filter, src->filter, sizeof(dst->filter));
	dst->unit = src->unit;
	dst->per_dir = src->per_dir;
	dst->names = src->names;
	dst->full_names = src->full_names;
	dst->max_bits = src->max_bits;
	dst->name_fn = src->name_fn;
	dst->name_ctx = src->name_ctx;
	dst->self = src->self;
	dst->hide_self = src->hide_self;
	if (!dst->procs)
		dst->procs = src->procs;
	if (!dst->ifnames) {
		dst->ifnames = src->ifnames;
		dst->nifaces = src->nifaces;
	}
	if (!dst->app_table)
		dst->app_table = src->app_table;
	if (!dst->updates)
		dst->packet_clock = src->packet_clock;
	dst->rows_dirty = 1;
	dst->ord_dirty = 1;
	return view_set_group(dst, src->group_by, src->group_v4, src->group_v6);
}

void view_reset(struct view *v)
{
	struct totstate *t = &v->tot;
	size_t i;
	int k;

	/* the baselines are made now (out of memory: the flows' counts go
	 * on from the start) */
	if (!v->base && v->ents_cap) {
		v->base = calloc(v->ents_cap, sizeof(*v->base));
		v->base_cap = v->base ? v->ents_cap : 0;
	}
	for (i = 0; v->base && i < v->ents_hw; i++) {
		struct vent *e = &v->ents[i];

		if (!e->gen)
			continue;
		for (k = 0; k < 2; k++) {
			v->base[i].bytes[k] = e->prev_bytes[k];
			v->base[i].pkts[k] = e->prev_pkts[k];
		}
	}
	/* what is shown restarts at zero (held updates counted too) */
	for (i = 0; i < shown_n(v); i++) {
		struct vent *e = shown_at(v, i);
		struct vbase *b = (struct vbase *)base_of(v, &e->f);

		for (k = 0; b && k < 2; k++) {
			b->bytes[k] = e->f.row->bytes[k];
			b->pkts[k] = e->f.row->pkts[k];
		}
	}
	for (i = 0; i < v->ngx; i++) {
		struct vcopy *g = &v->gx[i].c;

		for (k = 0; k < 2; k++) {
			g->base.bytes[k] = g->row.bytes[k];
			g->base.pkts[k] = g->row.pkts[k];
		}
	}
	for (k = 0; k < 2; k++) {
		struct dispstate *d = k ? &v->latest : &v->shown;

		d->tot.pkts = d->tot.bytes = 0;
		d->tot.avg_bps = d->tot.avg_pps = 0;
		d->tot.peak_bps = d->tot.peak_pps = 0;
		memset(d->tot.proto, 0, sizeof(d->tot.proto));
	}
	t->base_pkts = t->prev_pkts;
	t->base_bytes = t->prev_bytes;
	memcpy(t->base_kind, t->prev_kind, sizeof(t->base_kind));
	t->avg_origin = t->prev_mono;
	t->peak_bps = t->peak_pps = 0;
	v->ord_dirty = 1;
}

/* ---- row values ------------------------------------------------------ */

/* Counts since the last reset: the row's less its entry's base. */
static uint64_t flow_bytes(const struct view *v, const struct view_flow *f,
			   int d)
{
	const struct vbase *b = v->since_start ? NULL : base_of(v, f);

	return b ? sub0(f->row->bytes[d], b->bytes[d]) : f->row->bytes[d];
}

static uint64_t flow_pkts(const struct view *v, const struct view_flow *f,
			  int d)
{
	const struct vbase *b = v->since_start ? NULL : base_of(v, f);

	return b ? sub0(f->row->pkts[d], b->pkts[d]) : f->row->pkts[d];
}

uint64_t view_row_bytes(const struct view *v, const struct view_row *r)
{
	if (r->dir != VIEW_DIR_BOTH)
		return flow_bytes(v, r->f, r->dir);
	return flow_bytes(v, r->f, 0) + flow_bytes(v, r->f, 1);
}

uint64_t view_row_pkts(const struct view *v, const struct view_row *r)
{
	if (r->dir != VIEW_DIR_BOTH)
		return flow_pkts(v, r->f, r->dir);
	return flow_pkts(v, r->f, 0) + flow_pkts(v, r->f, 1);
}

uint64_t view_row_age(const struct view *v, const struct view_row *r)
{
	return sub0(v->shown.now_ns, r->f->row->last_ns);
}

const char *view_row_proc(const struct view *v, const struct view_row *r)
{
	return plab_text(v, r->f->proc);
}

void view_flow_figures(const struct view *v, const struct view_flow *f,
		       struct view_figures *out)
{
	int d;

	out->row = f->row;
	for (d = 0; d < 2; d++) {
		out->bytes[d] = flow_bytes(v, f, d);
		out->pkts[d] = flow_pkts(v, f, d);
		out->bps[d] = f->bps[d];
		out->pps[d] = f->pps[d];
	}
	out->age_ns = sub0(v->shown.now_ns, f->row->last_ns);
}

int view_row_endpoint(const struct view_row *r, int side, char *buf, size_t len)
{
	if (r->dir == FLOW_DIR_BA)
		side = !side;
	return flowkey_format_endpoint(&r->f->row->key, side ? 1 : 0, buf, len);
}

int view_row_endpoint_parts(const struct view *v, const struct view_row *r,
			    int side, char *host, size_t hlen, char *port,
			    size_t plen, char *note, size_t nlen)
{
	const struct flow_key *k = &r->f->row->key;
	int s = r->dir == FLOW_DIR_BA ? !side : !!side;
	int fam = flowkey_family(k->kind), named = 0;
	unsigned int pn = s ? k->bport : k->aport;
	char num[160], name[256], *colon;
	const char *svc;

	port[0] = note[0] = 0;
	if (row_group(v, r->f)) {
		/* a group: its label, then how many flows */
		if (side)
			snprintf(host, hlen, "%llu",
				 (unsigned long long)row_group(v, r->f)->flows);
		else
			snprintf(host, hlen, "%s", row_group(v, r->f)->label);
		return 0;
	}
	view_row_endpoint(r, side, num, sizeof(num));
	if (flowkey_has_ports(k->kind) && (colon = strrchr(num, ':')) &&
	    (num[0] != '[' || colon > strchr(num, ']')))
		*colon = 0;
	if ((v->names & VIEW_NAMES_HOSTS) && v->name_fn && fam &&
	    v->name_fn(v->name_ctx, fam, s ? k->b : k->a, name, sizeof(name)) ==
		    1) {
		name[sizeof(name) - 1] = 0;
		/* The host's first label, unless full names (-F). */
		if (!v->full_names && strchr(name, '.') && !isdigit(name[0]))
			*strchr(name, '.') = 0;
		snprintf(host, hlen, "%s", name);
		named = 1;
	} else {
		snprintf(host, hlen, "%s", num);
	}
	if (flowkey_has_ports(k->kind)) {
		svc = (v->names & VIEW_NAMES_PORTS)
			      ? names_service(pn, k->kind == KIND_TCP4 ||
							  k->kind == KIND_TCP6)
			      : NULL;
		if (svc)
			snprintf(port, plen, "%s", svc);
		else
			snprintf(port, plen, "%u", pn);
	}
	/* The ICMP message, type and code, beside the second endpoint
	 * (16.6). */
	if (flowkey_is_icmp(k->kind) && side == 1)
		flowkey_icmp_text(k, note, nlen);
	return named;
}

int view_row_endpoint_text(const struct view *v, const struct view_row *r,
			   int side, char *buf, size_t len)
{
	char host[256], port[32], note[32];

	view_row_endpoint_parts(v, r, side, host, sizeof(host), port,
				sizeof(port), note, sizeof(note));
	return snprintf(buf, len, "%s%s%s%s%s", host, port[0] ? ":" : "", port,
			note[0] ? " " : "", note);
}

const char *view_row_app(const struct view_row *r, int *guess)
{
	const struct flow_key *k = &r->f->row->key;
	unsigned int app = APP_WORD_ID(r->f->row->app);

	if (guess)
		*guess = 0;
	if (!app) {
		app = app_port_guess(k->ipproto, k->aport, k->bport);
		if (guess)
			*guess = app != 0;
	}
	return app_name(app);
}

size_t view_row_app_detail(const struct view *v, const struct view_row *r,
			   char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	if (!v->app_table || !APP_WORD_ID(r->f->row->app))
		return 0;
	return flowtab_app_detail(v->app_table, r->f->row, buf, len);
}

int view_row_proc_info(const struct view *v, const struct view_row *r,
		       struct procs_info *out)
{
	return procs_lookup(v->procs, r->f->row, out) >= 0;
}

int view_has_procs(const struct view *v)
{
	return v->procs != NULL;
}

const char *view_row_proto(const struct view_row *r)
{
	return flowkey_proto_name(r->f->row->key.kind);
}

/* The flow's interface name with several, else NULL (grouped or not). */
static const char *flow_iface(const struct view *v, const struct view_flow *f)
{
	unsigned int i = f->row->key.iface;

	if (!v->ifnames || v->nifaces < 2 || i >= (unsigned int)v->nifaces)
		return NULL;
	return v->ifnames[i];
}

int view_has_ifaces(const struct view *v)
{
	return v->ifnames && v->nifaces > 1 && !v->group_by;
}

const char *view_row_iface(const struct view *v, const struct view_row *r)
{
	return view_has_ifaces(v) ? flow_iface(v, r->f) : NULL;
}

/* ---- rows, filter, order --------------------------------------------- */

static int build_rows(struct view *v)
{
	size_t i, n = 0, need, nshown = shown_n(v);

	need = v->per_dir ? 2 * nshown : nshown;
	if (v->group_by && v->ngx > need)
		need = v->ngx;
	if (fit((void **)&v->rows, &v->rows_cap, need, sizeof(*v->rows)) < 0)
		return -ENOMEM;
	if (v->group_by) {
		/* groups: one row each, sent and received */
		for (i = 0; i < v->ngx; i++)
			v->rows[n++] = (struct view_row){ &v->gx[i].c.e.f,
							  VIEW_DIR_BOTH };
		v->nrows = n;
		v->rows_dirty = 0;
		v->ord_dirty = 1;
		return 0;
	}
	for (i = 0; i < nshown; i++) {
		const struct view_flow *f = &shown_at(v, i)->f;

		if (!v->per_dir) {
			v->rows[n++] = (struct view_row){ f, VIEW_DIR_BOTH };
			continue;
		}
		/* A direction that never carried a packet has no row. */
		if (f->row->pkts[FLOW_DIR_AB] || !f->row->pkts[FLOW_DIR_BA])
			v->rows[n++] = (struct view_row){ f, FLOW_DIR_AB };
		if (f->row->pkts[FLOW_DIR_BA])
			v->rows[n++] = (struct view_row){ f, FLOW_DIR_BA };
	}
	v->nrows = n;
	v->rows_dirty = 0;
	v->ord_dirty = 1;
	return 0;
}

/* "proto\1endpoint A\1endpoint B", lower case, for the display filter. */
static int flow_text(const struct flow_key *k, char *buf, size_t len)
{
	int n, m;
	char *p;

	/* The name as shown, and the spellings people type: icmp6, icmp4. */
	n = snprintf(buf, len, "%s%s\1", flowkey_proto_name(k->kind),
		     k->kind == KIND_ICMP6   ? " icmp6"
		     : k->kind == KIND_ICMP4 ? " icmp4 icmp"
					     : "");
	if (n < 0 || (size_t)n >= len)
		return -1;
	m = flowkey_format_endpoint(k, 0, buf + n, len - (size_t)n);
	if (m < 0 || (size_t)(n + m + 1) >= len)
		return -1;
	n += m;
	buf[n++] = '\1';
	m = flowkey_format_endpoint(k, 1, buf + n, len - (size_t)n);
	if (m < 0 || (size_t)(n + m) >= len)
		return -1;
	for (p = buf; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return n + m;
}

#define VIEW_IFACE_ROOM 64 /* "\1" and an interface name, cut to fit */

/* "\1proc\1app" (and "\1iface" with several), lowercased, into @buf
 * (room @len): its length. */
static size_t lower_labels(const struct view *v, const struct view_flow *f,
			   char *buf, size_t len)
{
	struct view_row r = { f, VIEW_DIR_BOTH };
	const char *ifn = flow_iface(v, f);
	int n = snprintf(buf, len, "\1%s\1%s%s%s", plab_text(v, f->proc),
			 view_row_app(&r, NULL), ifn ? "\1" : "",
			 ifn ? ifn : "");
	size_t m = n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;

	for (size_t i = 0; i < m; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	return m;
}

/* Formatting addresses is the costly part: each flow's text is cached in
 * its state entry for its whole life, and copied into an arena per build. */
static int build_text(struct view *v)
{
	char tmp[160];
	size_t i;

	v->txt_len = 0;
	for (i = 0; v->group_by && i < v->ngx; i++) {
		/* a group's text is its label */
		struct view_flow *g = &v->gx[i].c.e.f;
		size_t n = strlen(v->gx[i].label) + 1, k;

		if (grow((void **)&v->txt, &v->txt_cap, v->txt_len + n, 1))
			return -ENOMEM;
		for (k = 0; k < n; k++)
			v->txt[v->txt_len + k] =
				(char)tolower((unsigned char)v->gx[i].label[k]);
		g->txt = (uint32_t)v->txt_len;
		v->txt_len += n;
	}
	if (!v->etxt && v->ents_cap) {
		/* out of memory: no cache, each text made each time */
		v->etxt = calloc(v->ents_cap, sizeof(*v->etxt));
		v->etxt_cap = v->etxt ? v->ents_cap : 0;
	}
	for (i = 0; i < shown_n(v); i++) {
		struct view_flow *f = &shown_at(v, i)->f;
		struct vent *e = ent_find(v, vent_of(f)->id);
		char **cache = e && v->etxt ? &v->etxt[e - v->ents] : NULL;
		const char *t = cache ? *cache : NULL;
		size_t n;

		if (!t) {
			if (flow_text(&f->row->key, tmp, sizeof(tmp)) < 0)
				tmp[0] = 0;
			t = tmp;
			if (cache)
				*cache = strdup(tmp);
		}
		n = strlen(t) + 1;
		/* the process and app labels join the cached text here:
		 * they become known later than the addresses */
		if (grow((void **)&v->txt, &v->txt_cap,
			 v->txt_len + n + 2 * VIEW_PROC_MAX + 4 +
				 VIEW_IFACE_ROOM,
			 1))
			return -ENOMEM;
		memcpy(v->txt + v->txt_len, t, n);
		f->txt = (uint32_t)v->txt_len;
		v->txt_len += n - 1;
		v->txt_len +=
			lower_labels(v, f, v->txt + v->txt_len,
				     2 * VIEW_PROC_MAX + 4 + VIEW_IFACE_ROOM);
		v->txt[v->txt_len++] = '\0';
	}
	v->txt_valid = 1;
	return 0;
}

static int row_matches(const struct view *v, const struct view_row *r)
{
	if (v->hide_self && (r->f->flags & VIEW_ROW_SELF))
		return 0;
	if (!v->filter[0])
		return 1;
	if (r->f->txt == UINT32_MAX)
		return 0;
	/* Space-separated terms, all of which must match (AND). */
	{
		const char *t = v->txt + r->f->txt, *p = v->filter;
		char term[VIEW_FILTER_MAX];

		while (*p) {
			size_t n = strcspn(p, " ");

			if (n) {
				memcpy(term, p, n);
				term[n] = 0;
				if (!strstr(t, term))
					return 0;
			}
			p += n;
			p += strspn(p, " ");
		}
	}
	return 1;
}

static void row_key(const struct view *v, const struct view_row *r,
		    uint32_t idx, struct rowsort_ent *e)
{
	const struct vgroup *x = row_group(v, r->f);

	e->k1 = e->k2 = 0;
	if (x && (v->sort == VIEW_SORT_PROTO || v->sort == VIEW_SORT_A ||
		  v->sort == VIEW_SORT_B)) {
		/* a group: by label (numbers as numbers), or by flows (B) */
		e->k0 = v->sort == VIEW_SORT_B ? x->flows : x->order[0];
		e->k1 = v->sort == VIEW_SORT_B ? 0 : x->order[1];
		e->k2 = v->sort == VIEW_SORT_B ? 0 : x->order[2];
	} else {
		sort_fields[v->sort].key(v, r, e);
	}
	if (view_sort_descending(v->sort) != v->reversed) {
		e->k0 = ~e->k0;
		e->k1 = ~e->k1;
		e->k2 = ~e->k2;
	}
	e->tie = r->f->row->id << 2 | (uint64_t)r->dir;
	e->row = idx;
}

/* Rebuild the order array: filtered rows with their keys, or the frozen
 * order (placed by position: no sort at all). */
static int layout_order(struct view *v)
{
	size_t i, n = 0;

	if (v->rows_dirty && build_rows(v))
		return -ENOMEM;
	if (v->filter[0] && !v->txt_valid && build_text(v))
		return -ENOMEM;
	if (fit((void **)&v->ord, &v->ord_cap, v->nrows, sizeof(*v->ord)) < 0)
		return -ENOMEM;
	if (v->compacted) {
		/* the arrays cut since the flood: their pages back too */
		malloc_trim(0);
		v->compacted = 0;
	}
	if (!v->frozen || v->group_by) {
		for (i = 0; i < v->nrows; i++) {
			if (row_matches(v, &v->rows[i]))
				row_key(v, &v->rows[i], (uint32_t)i,
					&v->ord[n++]);
		}
		v->nord = n;
		v->ord_full = n <= 1;
	} else {
		/*
		 * Frozen positions are unique per flow and below next_fpos;
		 * rows of one flow are adjacent (AB then BA). A counting
		 * placement: the rows are read in their order (a walk in
		 * position order would miss the cache on every row at 1M
		 * flows), only the writes land in scattered places. The
		 * position is the key: no sort key is computed.
		 */
		size_t span;
		uint32_t sum = 0, c;

		if (frozen_append(v))
			return -ENOMEM;
		span = v->next_fpos;
		if (grow((void **)&v->perm, &v->perm_cap, span + 1,
			 sizeof(*v->perm)))
			return -ENOMEM;
		memset(v->perm, 0, span * sizeof(*v->perm));
		for (i = 0; i < v->nrows; i++) {
			if (v->rows[i].f->fpos < span)
				v->perm[v->rows[i].f->fpos]++;
		}
		for (i = 0; i < span; i++) {
			c = v->perm[i];
			v->perm[i] = sum;
			sum += c;
		}
		for (i = 0; i < v->nrows; i++) {
			const struct view_row *w = &v->rows[i];
			uint32_t pos = w->f->fpos;
			struct rowsort_ent *o;

			if (pos >= span)
				continue;
			o = &v->ord[v->perm[pos]++];
			o->k0 = pos;
			o->k1 = o->k2 = 0;
			o->tie = w->f->row->id << 2 | (uint64_t)w->dir;
			o->row = row_matches(v, w) ? (uint32_t)i : UINT32_MAX;
		}
		/* Rows the display filter hides leave their places. */
		for (i = 0; i < sum; i++) {
			if (v->ord[i].row != UINT32_MAX)
				v->ord[n++] = v->ord[i];
		}
		v->nord = n;
		v->ord_full = 1;
	}
	v->sorted_lo = v->sorted_hi = 0;
	v->ord_dirty = 0;
	return 0;
}

/* Index of the selected row in the order, or nord if it is gone. */
static size_t find_sel(const struct view *v)
{
	const struct rowsort_ent *s = NULL;
	size_t i, rank = 0;

	for (i = 0; i < v->nord; i++) {
		if (v->ord[i].tie == v->sel_tie) {
			s = &v->ord[i];
			break;
		}
	}
	if (!s) {
		/* Conversation <-> direction switch: same flow, any row. */
		for (i = 0; i < v->nord; i++) {
			if (v->ord[i].tie >> 2 == v->sel_tie >> 2) {
				s = &v->ord[i];
				break;
			}
		}
	}
	if (!s)
		return v->nord;
	if (v->ord_full || (i >= v->sorted_lo && i < v->sorted_hi))
		return i;
	for (i = 0; i < v->nord; i++)
		rank += rowsort_less(&v->ord[i], s);
	return rank;
}

int view_layout(struct view *v, size_t visible)
{
	uint64_t t0 = mono_now();
	size_t n, rank, screen_pos;

	if ((v->rows_dirty || v->ord_dirty) && layout_order(v))
		return -ENOMEM;
	n = v->nord;
	screen_pos = v->sel >= v->top ? v->sel - v->top : 0;
	rank = v->sel;
	if (v->have_sel && v->sticky) {
		size_t r = find_sel(v);

		if (r < n) {
			rank = r;
			v->top = r > screen_pos ? r - screen_pos : 0;
		}
	}
	switch (v->pend) {
	case PEND_HOME:
		rank = 0;
		v->top = 0;
		v->sticky = 0;
		break;
	case PEND_END:
		rank = n ? n - 1 : 0;
		v->sticky = 1;
		break;
	case PEND_INDEX:
		rank = v->pend_index;
		v->sticky = 1;
		break;
	case PEND_NONE:
		break;
	}
	if (v->pend_delta) {
		long d = v->pend_delta;

		if (d < 0)
			rank = (size_t)-d > rank ? 0 : rank - (size_t)-d;
		else
			rank += (size_t)d;
		if ((size_t)labs(d) >= visible && visible > 1) {
			if (d < 0)
				v->top = (size_t)-d > v->top
						 ? 0
						 : v->top - (size_t)-d;
			else
				v->top += (size_t)d;
		}
		v->sticky = 1;
	}
	v->pend = PEND_NONE;
	v->pend_delta = 0;
	if (rank >= n)
		rank = n ? n - 1 : 0;
	if (rank < v->top)
		v->top = rank;
	if (visible && rank >= v->top + visible)
		v->top = rank - visible + 1;
	if (n <= visible)
		v->top = 0;
	else if (v->top > n - visible)
		v->top = n - visible;
	v->nvis = n - v->top < visible ? n - v->top : visible;
	v->visible = visible;
	if (v->nvis && !v->ord_full &&
	    (v->top < v->sorted_lo || v->top + v->nvis > v->sorted_hi)) {
		rowsort_window(v->ord, n, v->top, v->top + v->nvis);
		v->sorted_lo = v->top;
		v->sorted_hi = v->top + v->nvis;
	}
	v->sel = rank;
	v->have_sel = n > 0;
	if (n)
		v->sel_tie = v->ord[rank].tie;
	v->cost_layout = mono_now() - t0;
	return 0;
}

size_t view_count(const struct view *v)
{
	return v->nord;
}

size_t view_top(const struct view *v)
{
	return v->top;
}

size_t view_nvisible(const struct view *v)
{
	return v->nvis;
}

const struct view_row *view_row_at(const struct view *v, size_t i)
{
	if (i >= v->nvis || v->top + i >= v->nord)
		return NULL;
	return &v->rows[v->ord[v->top + i].row];
}

size_t view_selected(const struct view *v)
{
	return v->have_sel ? v->sel : v->nord;
}

void view_scroll(struct view *v, long delta, size_t visible)
{
	(void)visible;
	v->pend_delta += delta;
}

void view_select_home(struct view *v)
{
	v->pend = PEND_HOME;
	v->pend_delta = 0;
}

void view_select_end(struct view *v)
{
	v->pend = PEND_END;
	v->pend_delta = 0;
}

void view_select_index(struct view *v, size_t i)
{
	v->pend = PEND_INDEX;
	v->pend_index = i;
	v->pend_delta = 0;
}

const struct view_totals *view_totals(const struct view *v)
{
	return &v->shown.tot;
}

uint64_t view_cost_update_ns(const struct view *v)
{
	return v->cost_update;
}

uint64_t view_cost_layout_ns(const struct view *v)
{
	return v->cost_layout;
}

void view_set_frame_cost(struct view *v, uint64_t ns)
{
	v->cost_frame = ns;
}

uint64_t view_frame_cost_ns(const struct view *v)
{
	return v->cost_frame;
}

size_t view_nflows(const struct view *v)
{
	return shown_n(v);
}

const struct view_flow *view_flow_at(const struct view *v, size_t i)
{
	return i < shown_n(v) ? &shown_at(v, i)->f : NULL;
}
