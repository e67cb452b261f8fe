/*
 * view_int.h - the view's private state, shared by the files that make up
 * the view model (view.c: ingestion, settings, rows, filter, order and
 * selection; view_rate.c: rates, averages and history). Not for callers:
 * they see view.h only.
 */
#ifndef PKTSTAT_VIEW_INT_H
#define PKTSTAT_VIEW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "group.h"
#include "rowsort.h"
#include "selfflow.h"
#include "view.h"

#define NS 1000000000ull
#define TOT_W_NS NS /* total-rate history: one bucket per second */
#define TOT_SLOTS (VIEW_HIST_SECONDS + 2)
#define MIN_DT_NS 1000000ull /* below this an interval has no rate */
#define NO_POS UINT32_MAX
#define EMPTY UINT32_MAX

/*
 * Per-flow state, keyed by id; lives while the flow does. It is also what
 * is displayed: @f, its head, is what a display row points at (not while
 * paused: then the rows point at frozen copies, struct vcopy). The row
 * itself is not copied here: f.row points at the snapshot's row
 * (view_update_borrow) or at the view's one copy of it (own).
 *
 * Its 2/10/40 s averages are exponentially weighted moving averages (top's
 * load average model, iftop's horizons) of its bytes and packets per
 * second in each direction, ew[horizon][bytes AB, BA, packets AB, BA],
 * updated at every rated update from the interval's deltas (view_rate.c):
 * a fixed 48 bytes, however long the flow lives. Live entries hold them
 * as weighted sums from the run's origin (the shown value is that times
 * the view's ew.norm); a frozen copy or a group holds the shown values.
 */
struct vent {
	struct view_flow f; /* first: vent_of */
	uint64_t id;	    /* free entry: the next free one's index */
	uint64_t prev_bytes[2], prev_pkts[2]; /* at the last rated update */
	float ew[3][4];			      /* the averages, see above */
	uint32_t gen;	     /* update that last saw it; 0 = free slot */
	uint32_t proc_final; /* f.proc names the process (not a user) */
};

static inline const struct vent *vent_of(const struct view_flow *f)
{
	return (const struct vent *)(const void *)f; /* f is its first member */
}

/* The 2/10/40 s averages of a flow as shown: [direction][horizon]. */
struct vavg {
	float bps[2][3], pps[2][3];
};

/* A flow's counts at the last reset (view_reset, view_mark). */
struct vbase {
	uint64_t bytes[2], pkts[2];
};

/* A flow's display state that does not move: a frozen copy (paused) or a
 * group of flows. Its entry's f.row points at its own row. */
struct vcopy {
	struct vent e;
	struct vbase base;
	struct flowtab_row row;
};

/*
 * What one rated update does to every flow's averages: every flow shares
 * the interval, so the weights are computed once per update.
 */
struct ewplan {
	double keep[3]; /* exp(-dt / tau): what is left of the average */
	double gain[3]; /* (1 - keep) / dt in s: weight of a count */
	double norm[3]; /* 1 / (1 - exp(-(t - origin) / tau)), 0 at origin */
};

struct totstate {
	int have_prev;
	uint64_t prev_mono;
	uint64_t prev_pkts, prev_bytes;
	struct flowtab_counts prev_kind[KIND_COUNT];
	struct cap_stats prev_cap;
	uint64_t base_pkts, base_bytes;
	struct flowtab_counts base_kind[KIND_COUNT];
	uint64_t avg_origin; /* mono the averages start from */
	uint64_t origin;     /* mono the history starts from */
	double peak_bps, peak_pps;
	double bps, pps; /* the last rates, held through a short interval */
	double proto_bps[PROTO_COUNT], proto_pps[PROTO_COUNT];
	int64_t last_b;
	float ring[TOT_SLOTS][2]; /* bytes, packets a second */
};

/* A group row (g): its figures are its flows' sums (c). */
struct vgroup {
	struct vcopy c;
	char label[GROUP_LABEL_MAX];
	uint64_t flows;
	uint64_t order[3]; /* group.h's sort key */
};

/* What is displayed besides the flows: header totals, history. */
struct dispstate {
	struct view_totals tot;
	double hist[VIEW_HIST_SECONDS][2];
	uint64_t now_ns; /* the snapshot's now (the rows' ages) */
	int valid;
};

struct view {
	/* ingestion */
	struct vent *ents;
	size_t ents_cap, ents_hw; /* capacity, high-water mark */
	uint32_t free_head;	  /* first free entry (chained by id), EMPTY */
	/*
	 * Beside the entries, by index, made at their first use (so a
	 * flow costs them nothing before): the counts at the last reset,
	 * once a reset or mark was made; the cached filter text (or NULL),
	 * once a display filter was set.
	 */
	struct vbase *base;
	size_t base_cap;
	char **etxt;
	size_t etxt_cap;
	/* the live entries in the last update's row order */
	uint32_t *idx;
	size_t nidx, idx_cap;
	int rows_gone; /* the rows pointed at are gone: show no flows */
	/* the rows' one copy (view_update; unused by view_update_borrow) */
	struct flowtab_row *own;
	size_t own_cap;
	/* process labels, each once: f.proc is an index (0: none) */
	char (*plab)[VIEW_PROC_MAX];
	size_t nplab, plab_cap;
	uint32_t *ptab; /* hash of labels: plab index or 0 */
	size_t ptab_size;
	int compacted;	  /* arrays cut since the last malloc_trim */
	struct ewplan ew; /* of the last rated update */
	uint32_t *tab;	  /* id hash: entry index or EMPTY */
	size_t tab_size, nlive;
	unsigned int tab_bits;
	uint32_t gen;
	struct totstate tot;
	int packet_clock; /* rates on the snapshots' packet time (files) */
	uint64_t min_dt;  /* a shorter interval holds the rates */
	int hold;	  /* this update holds them */
	uint64_t updates;

	/* m: counts since the mark (the reset baseline) or since the start */
	int since_start;
	uint64_t mark_wall_ns; /* 0: no mark set */
	/* the user's own SSH session: marked, and hidden on request */
	struct selfflow self;
	int hide_self, self_seen;

	/* g: rows are groups of flows (group.h), not flows */
	int group_by, group_v4, group_v6;
	struct group_set *gs; /* reused: a label keeps its id */
	struct procs *procs;  /* the last snapshot's, for process groups */
	const char *const *ifnames; /* the last snapshot's, for interface */
	int nifaces;		    /* groups (borrowed, as procs) */
	struct vgroup *gx;	    /* the groups of the shown flows */
	size_t ngx, gxcap;

	/* Shown totals, and the latest ones built while paused. */
	struct dispstate shown, latest;
	int paused;
	uint64_t paused_since;
	struct vcopy *frz; /* paused: copies of the flows shown */
	size_t nfrz;

	/* filter text arena */
	char *txt;
	size_t txt_len, txt_cap;
	int txt_valid;

	/* settings */
	enum view_sort sort;
	int reversed;
	int frozen;
	uint32_t next_fpos;
	char filter[VIEW_FILTER_MAX];
	enum view_unit unit;
	int per_dir;
	unsigned int names; /* VIEW_NAMES_* shown */
	int full_names;	    /* whole host names (-F), not the first label */
	double max_bits;    /* fixed maximum (-m) in bits/s; 0: the peak */
	view_name_fn name_fn;
	void *name_ctx;
	/* the last snapshot's app table, borrowed (it lives as long as the
	 * run); its process store is procs above */
	const struct flowtab *app_table;

	/* rows and order */
	struct view_row *rows;
	size_t nrows, rows_cap;
	int rows_dirty;
	struct rowsort_ent *ord;
	size_t nord, ord_cap;
	int ord_dirty;
	int ord_full; /* ord fully sorted */
	size_t sorted_lo, sorted_hi;
	uint32_t *perm; /* scratch for the frozen order */
	size_t perm_cap;

	/* selection */
	size_t top, sel, nvis, visible;
	int sticky;
	uint64_t sel_tie;
	int have_sel;
	enum { PEND_NONE, PEND_HOME, PEND_END, PEND_INDEX } pend;
	size_t pend_index;
	long pend_delta;

	uint64_t cost_update, cost_layout, cost_frame;
};

static inline uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static inline double per_s(uint64_t d, uint64_t dt)
{
	return dt >= MIN_DT_NS ? (double)d * (double)NS / (double)dt : 0.0;
}

/* view_rate.c: the averages, totals and history (one thread: the view's). */
/* The weights of a rated update at @t1 covering the @dt before it, the
 * averages running from @origin. */
void view_rate_plan(struct ewplan *p, uint64_t t1, uint64_t dt,
		    uint64_t origin);
/* Fold entry @x's deltas @d (bytes AB, BA, packets AB, BA) in per the plan. */
void view_rate_flow_add(const struct view *v, struct vent *x,
			const double d[4]);
/* Entry @x's averages as shown (the state of the last rated update). */
void view_rate_flow_avgs(const struct view *v, const struct vent *x,
			 struct vavg *out);
/* view.c: the averages of a shown flow, a frozen copy's or a group's. */
void view_flow_avgs(const struct view *v, const struct view_flow *f,
		    struct vavg *out);
/* Header totals into @d at @now on the view's clock (see view_rate.c). */
void view_rate_totals(struct view *v, const struct snapshot *s, uint64_t now,
		      uint64_t dt, struct dispstate *d);
/* The last VIEW_HIST_SECONDS whole seconds of the total-rate ring. */
void view_rate_history(struct view *v, struct dispstate *d);

#endif
