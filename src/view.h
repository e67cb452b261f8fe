/*
 * view.h - the monitor's view model: rates, history, display filter, sort,
 * scroll and selection over a snapshot. No curses: fully unit-testable.
 *
 * Threads: a view belongs to one thread (the UI thread). It never touches
 * the live flow table; it is fed copies (struct snapshot). view_update
 * keeps one copy of the rows it displays, so the caller may reuse a
 * snapshot as soon as it returns; view_update_borrow keeps none and reads
 * the snapshot's rows in place until the next update.
 *
 * Memory: per live flow, one state entry (struct vent, view_int.h) that
 * is also what is displayed, averages included, an entry of the id hash,
 * a display row and an order entry: the same for a flow that lives for
 * hours. Pausing copies the shown flows (rows included) until resumed.
 *
 * Model. view_update ingests a snapshot: per flow (keyed by flow id) it
 * keeps the counts of the previous update, a reset baseline and the 2 s /
 * 10 s / 40 s averages (exponential, with those time constants: the load
 * average's model over iftop's horizons; view_rate.c); current rates
 * are the deltas against the previous update over CLOCK_MONOTONIC
 * (snapshot.mono_ns), or packet time (view_set_packet_clock). Unless paused, it then rebuilds the displayed flows.
 * While paused, ingestion continues (so rates are right at resume) but the
 * displayed flows and totals stay frozen; sorting, filtering and scrolling
 * still work on them.
 *
 * Display rows are flows (one per conversation) or flow directions (one
 * row per direction that carried packets). view_layout orders the rows that
 * pass the display filter (ties broken on flow id, then direction: rows
 * never jitter), sorting only the visible window when it can, and keeps
 * the selection on its flow (by id) across re-sorts.
 */
#ifndef PKTSTAT_VIEW_H
#define PKTSTAT_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "flowtab.h"
#include "snapshot.h"

struct view;

enum view_unit {
	VIEW_UNIT_BITS,
	VIEW_UNIT_BYTES,
	VIEW_UNIT_PACKETS,
};

/* Sort keys, in column order (view_sort_step walks them in this order).
 * Each is one line of view.c's sort_fields: its name, direction and key. */
enum view_sort {
	VIEW_SORT_PROTO,   /* ascending by default */
	VIEW_SORT_A,	   /* endpoint A (source of a direction row) */
	VIEW_SORT_B,	   /* endpoint B (destination) */
	VIEW_SORT_RATE_AB, /* descending by default, like every number */
	VIEW_SORT_RATE_BA,
	VIEW_SORT_RATE, /* both directions */
	VIEW_SORT_AVG2,
	VIEW_SORT_AVG10,
	VIEW_SORT_AVG40,
	VIEW_SORT_PPS,
	VIEW_SORT_BYTES,
	VIEW_SORT_PKTS,
	VIEW_SORT_LAST, /* most recently seen first */
	VIEW_SORT_PROC, /* process label, unknown last */
	VIEW_SORT_APP,	/* app label, unknown last */
	VIEW_SORT_COUNT
};

/* Direction of a display row. */
#define VIEW_DIR_BOTH 2 /* conversation row; else FLOW_DIR_AB / _BA */

/* Row flags. */
#define VIEW_ROW_NEW 0x1  /* first packet less than VIEW_NEW_NS ago */
#define VIEW_ROW_IDLE 0x2 /* no packet since the previous update */
#define VIEW_ROW_SELF 0x4 /* the user's own SSH session (view_set_self) */

#define VIEW_NEW_NS 2000000000ull
#define VIEW_HIST_SECONDS 60 /* total-rate history: one value per second */
#define VIEW_FILTER_MAX 256
#define VIEW_PROC_MAX 28

/*
 * What the view keeps of one flow for display (frozen while paused): the
 * flow's row is not copied but pointed at (the snapshot's, see
 * view_update_borrow, or the view's one copy); the counts since the last
 * reset, the age, the averages and the process are derived when read
 * (view_row_bytes, view_row_age, view_row_avg, view_row_proc,
 * view_flow_figures).
 */
struct view_flow {
	const struct flowtab_row *row;
	float bps[2], pps[2]; /* current rates per direction */
	uint32_t flags;	      /* VIEW_ROW_* */
	uint32_t fpos;	      /* position in the frozen order */
	uint32_t txt;	      /* internal: filter text offset */
	uint32_t proc;	      /* internal: process label, 0 while unknown */
};

/* A flow's figures as shown, for code that sums them (the host view). */
struct view_figures {
	const struct flowtab_row *row;
	uint64_t bytes[2], pkts[2]; /* since the last reset (or the start) */
	double bps[2], pps[2];	    /* current rates */
	uint64_t age_ns;	    /* snapshot now - last packet */
};

/* One display row: a flow, or one direction of it. */
struct view_row {
	const struct view_flow *f;
	int dir; /* VIEW_DIR_BOTH, FLOW_DIR_AB or FLOW_DIR_BA */
};

/* Header figures, frozen while paused. Counts are since the last reset
 * except the capture statistics, which are since the start. */
struct view_totals {
	uint64_t pkts, bytes;
	double bps, pps;	   /* current */
	double avg_bps, avg_pps;   /* since reset */
	double peak_bps, peak_pps; /* since reset */
	struct flowtab_counts proto[PROTO_COUNT];
	double proto_bps[PROTO_COUNT], proto_pps[PROTO_COUNT];
	struct cap_stats cap;	    /* since start */
	struct cap_stats cap_delta; /* this interval */
	int exact;		    /* no drops of any kind since start */
	int link_down;
	size_t flows;
	uint64_t expired_flows;
	uint64_t malformed;
	uint64_t uptime_ns; /* snapshot_duration_ns */
	uint64_t mono_ns;   /* of the snapshot shown */
	uint64_t updates;   /* snapshots ingested */
};

/* view_new - an empty view, sorted by rate, bits. NULL on ENOMEM. */
struct view *view_new(void);
/* view_free(NULL) is a no-op. */
void view_free(struct view *v);

/*
 * view_update - ingest @s (see the model above). @s is only read; its
 * rows are copied (once: the copy is what is displayed). Snapshots must
 * come in mono_ns order. Returns 0 or -ENOMEM (the view then shows no
 * flows, or the frozen ones while paused, until an update succeeds).
 */
int view_update(struct view *v, const struct snapshot *s);
/*
 * view_update_borrow - view_update without the copy: the flows shown
 * point at @s's rows, so @s must stay as it is until the next
 * view_update*, or until view_forget_rows is called: a caller that
 * changes @s and then cannot feed it to the view (taking the snapshot
 * failed) calls view_forget_rows first. While paused the shown flows are
 * the view's own copies and never point at @s.
 */
int view_update_borrow(struct view *v, const struct snapshot *s);
/* view_forget_rows - the snapshot last borrowed is gone: show no flows
 * (but the frozen ones while paused) until the next update. */
void view_forget_rows(struct view *v);

/*
 * view_set_paused - freeze (1) or unfreeze (0) the display at @mono_ns.
 * Freezing copies the shown flows (out of memory: it does not pause).
 * Unfreezing shows the last ingested snapshot at once.
 */
void view_set_paused(struct view *v, int paused, uint64_t mono_ns);
/* Whether paused; *@since gets the pause time (may be NULL). */
int view_paused(const struct view *v, uint64_t *since);

/*
 * view_set_sort - sort by @key; choosing the current key again reverses the
 * order. Unfreezes a frozen order.
 */
void view_set_sort(struct view *v, enum view_sort key);
/*
 * view_sort_step - move the sort key @delta (+1 / -1) places among the keys
 * whose bit is set in @mask (1u << key; 0 means all), wrapping; the
 * direction resets to the key's natural one.
 */
void view_sort_step(struct view *v, int delta, uint32_t mask);
/* Current key; *@reversed (may be NULL) gets whether it is reversed. */
enum view_sort view_sort(const struct view *v, int *reversed);
/* Human name of a sort key ("rate", "2 s avg", ...). */
const char *view_sort_name(enum view_sort key);
/* Whether @key is naturally descending (numbers) or ascending. */
int view_sort_descending(enum view_sort key);

/*
 * view_set_frozen - freeze the current row order: rows keep their places,
 * new rows append at the end, rows gone close up. Never re-sorts while
 * frozen. 0 thaws (sorting by the current key again).
 */
void view_set_frozen(struct view *v, int frozen);
int view_frozen(const struct view *v);

/*
 * view_filter_set - show only rows whose protocol (as shown, or icmp4,
 * icmp6), address, port, process (comm[pid], as shown), app label or
 * interface (view_row_iface) text contains every space-separated term of @text (case-insensitive, ANDed);
 * "" or NULL shows all. Totals are not affected. Returns 0, or -EINVAL
 * when longer than VIEW_FILTER_MAX - 1.
 */
int view_filter_set(struct view *v, const char *text);
const char *view_filter(const struct view *v);

void view_set_unit(struct view *v, enum view_unit unit);
enum view_unit view_unit(const struct view *v);
/* One row per direction (1) or per conversation (0). */
void view_set_per_direction(struct view *v, int on);
int view_per_direction(const struct view *v);
/* Numeric addresses and ports (1), or names where known (0): host names
 * from the resolver, service names for ports. */
void view_set_numeric(struct view *v, int on);
int view_numeric(const struct view *v);
/* Which names are shown: host names, port (service) names, both or none
 * (numeric). The n key cycles them. */
#define VIEW_NAMES_HOSTS 0x1
#define VIEW_NAMES_PORTS 0x2
void view_set_names(struct view *v, unsigned int names);
unsigned int view_names(const struct view *v);
/* Whole host names (1, -F), or only their first label (0, the default, as
 * the original pktstat). */
void view_set_full_names(struct view *v, int on);

/*
 * view_set_packet_clock - rates, averages, peaks and the history on the
 * snapshots' packet time (now_ns: for files, the time of the latest
 * packet) instead of CLOCK_MONOTONIC: a file read faster than it was
 * captured shows the rates it was captured at. Set before the first
 * view_update. Off by default.
 */
void view_set_packet_clock(struct view *v, int on);
/*
 * view_set_min_interval - an update less than @ns (on the view's clock)
 * after the last one that measured rates holds them: rates, peaks and
 * averages stay as they were, counts move on, and its packets are
 * measured with the next interval. A refresh forced by a command thus
 * never shows a rate over a few milliseconds. Default and minimum 1 ms.
 */
void view_set_min_interval(struct view *v, uint64_t ns);

/*
 * view_set_max_bps - the link's maximum bit rate (the original pktstat's
 * -m) that view_row_percent divides by; 0 (the default; also anything not
 * a positive finite number): the peak total rate shown (view_totals), as
 * the original auto-detects it.
 */
void view_set_max_bps(struct view *v, double bits_per_s);
/*
 * view_max_bps - the maximum rows are a share of, in bits per second: the
 * fixed one, else the peak shown (0 before any traffic). *@fixed (may be
 * NULL) gets whether it is fixed.
 */
double view_max_bps(const struct view *v, int *fixed);

/*
 * A name for an address (@family 4 or 6): 1 with a printable name in @buf
 * when known, 0 when not (yet). Must not block (names_lookup qualifies).
 */
typedef int (*view_name_fn)(void *ctx, int family, const uint8_t *addr,
			    char *buf, size_t len);
/* Names used for endpoints when not numeric; NULL: none (the default). */
void view_set_resolver(struct view *v, view_name_fn fn, void *ctx);

/*
 * view_reset - counters restart at zero: remember every flow's counts and
 * the totals now and show deltas from here on. Rates, averages and the
 * capture statistics are not affected; peaks restart.
 */
void view_reset(struct view *v);

/*
 * Mark and since-start. view_mark sets the mark at @wall_ns (CLOCK_REALTIME,
 * shown in the header): the counts restart from here as with view_reset,
 * and view_set_since_start(v, 1) shows them since the start again (rows
 * and totals; rates are unaffected), (v, 0) since the mark, at any time.
 * view_mark_time is 0 when no mark was set.
 */
void view_mark(struct view *v, uint64_t wall_ns);
uint64_t view_mark_time(const struct view *v);
void view_set_since_start(struct view *v, int on);
int view_since_start(const struct view *v);

/*
 * The user's own SSH session (selfflow.h): its rows carry VIEW_ROW_SELF;
 * view_set_hide_self hides them from the table (totals still count them).
 * view_self_seen: such a row was seen since the view began.
 */
struct selfflow;
void view_set_self(struct view *v, const struct selfflow *sf);
int view_self_known(const struct view *v);
void view_set_hide_self(struct view *v, int on);
int view_hide_self(const struct view *v);
int view_self_seen(const struct view *v);

/*
 * Group-by (the g key). view_set_group makes the rows groups of flows by
 * @by (enum group_by, group.h; GROUP_FLOW = 0: flows again), networks
 * with the given prefix lengths, at once (paused or not). A group row's
 * counts, rates and averages are the sums of its flows' (a flow between
 * two groups counts in both), direction 0 what the group sent, 1 what it
 * received; view_row_endpoint_parts gives its label (side 0) and its
 * number of flows (side 1). Totals are the flows' as ever. Sorting by
 * endpoint A or protocol sorts by the label (numbers as numbers), by B
 * by the number of flows; the display filter matches the label. The row
 * order is not frozen while grouped. 0, -EINVAL or -ENOMEM (then no
 * groups are shown until the next update).
 */
int view_set_group(struct view *v, int by, int v4_prefix, int v6_prefix);
int view_group(const struct view *v);

/*
 * view_copy_settings - @src's display settings into @dst: sort and its
 * direction, display filter, unit, rows per direction, names, -m, the
 * resolver, the SSH session and whether it is hidden, the grouping; and
 * the clock while @dst has ingested nothing. Not copied: counts, marks,
 * pause, a frozen order, the selection. 0 or -ENOMEM (grouping).
 */
int view_copy_settings(struct view *dst, const struct view *src);

/*
 * view_layout - order the rows for a window of @visible rows: apply the
 * display filter, sort (only what the window needs), follow the selected
 * flow, clamp the scroll offset. Call before reading rows or after any
 * setter. Records its cost. Returns 0 or -ENOMEM.
 */
int view_layout(struct view *v, size_t visible);

/* Rows passing the display filter (after view_layout). */
size_t view_count(const struct view *v);
/* Index of the first visible row, and the number visible (<= visible). */
size_t view_top(const struct view *v);
size_t view_nvisible(const struct view *v);
/* Visible row @i (0 .. view_nvisible - 1), or NULL. */
const struct view_row *view_row_at(const struct view *v, size_t i);
/* Index (0 .. view_count - 1) of the selected row; view_count if none. */
size_t view_selected(const struct view *v);

/*
 * Selection. view_scroll moves it by @delta rows (PgDn is +visible); the
 * moved-to row becomes sticky: it is followed by flow id across re-sorts
 * and updates. view_select_home drops the stickiness (the first row stays
 * selected whatever it is); view_select_end selects the last row.
 * view_select_index selects the row at index @i (a mouse click).
 * Applied by the next view_layout.
 */
void view_scroll(struct view *v, long delta, size_t visible);
void view_select_home(struct view *v);
void view_select_end(struct view *v);
void view_select_index(struct view *v, size_t i);

/*
 * The flows shown (frozen while paused), in no particular order and
 * whatever the display filter: for views that aggregate them (the host
 * view). Valid until the next view_update or unpause.
 */
size_t view_nflows(const struct view *v);
const struct view_flow *view_flow_at(const struct view *v, size_t i);

/* Totals and capture health for the header. */
const struct view_totals *view_totals(const struct view *v);

/*
 * view_history - the total rate, one value per whole second, for the last
 * @n (<= VIEW_HIST_SECONDS) seconds, oldest first, in the current unit per
 * second; a second before the view started is -1. Frozen while paused.
 * Returns @n.
 */
size_t view_history(const struct view *v, double *out, size_t n);

/* Row values in the current unit per second (bits, bytes or packets). */
#define VIEW_RATE_AB 0
#define VIEW_RATE_BA 1
#define VIEW_RATE_TOTAL 2
double view_row_rate(const struct view *v, const struct view_row *r, int which);
/* 2 s, 10 s, 40 s average (@h = 0, 1, 2) in the current unit per second. */
double view_row_avg(const struct view *v, const struct view_row *r, int h);
/*
 * view_row_percent - the row's current rate (both directions of a
 * conversation, or its one direction) as a percentage of view_max_bps, in
 * any unit but packets alike. Not clamped: above 100 when a fixed maximum
 * is below the real rate (and, against the peak, by a hair for one
 * refresh now and then: a snapshot copies the rows a moment after the
 * totals). 0 for a row without traffic; -1 when it has some but there is
 * no maximum yet (just after view_reset).
 */
double view_row_percent(const struct view *v, const struct view_row *r);
double view_row_pps(const struct view_row *r);
/* Bytes and packets since the last reset (or the start: since-start). */
uint64_t view_row_bytes(const struct view *v, const struct view_row *r);
uint64_t view_row_pkts(const struct view *v, const struct view_row *r);
/* Time since the row's last packet, at the snapshot shown. */
uint64_t view_row_age(const struct view *v, const struct view_row *r);
/* The local process, procs_label's "comm[pid]" (or the socket's user
 * alone); "" while unknown: once known it stays. */
const char *view_row_proc(const struct view *v, const struct view_row *r);
/* Flow @f's figures as shown (a flow of view_flow_at). */
void view_flow_figures(const struct view *v, const struct view_flow *f,
		       struct view_figures *out);
/*
 * view_row_endpoint - the row's first (@side 0) or second endpoint as
 * flowkey_format_endpoint prints it; for a B->A direction row the sides
 * swap, so side 0 is always the sender. snprintf contract.
 */
int view_row_endpoint(const struct view_row *r, int side, char *buf,
		      size_t len);
/*
 * view_row_endpoint_parts - the row's endpoint @side as shown: the host
 * (a name when host names are on and the resolver knows it, else the
 * address, IPv6 bracketed when it has a port), the port (a service name
 * when port names are on and it has one; "" without ports) and a note
 * ("" or, beside the second endpoint of an ICMP row, the message's type
 * and code: "echo", "unreach port", "neighbor solicit"; 32 bytes hold
 * it). Returns 1 when the host is a
 * name. Sorting and the display filter always use the numbers.
 */
int view_row_endpoint_parts(const struct view *v, const struct view_row *r,
			    int side, char *host, size_t hlen, char *port,
			    size_t plen, char *note, size_t nlen);
/*
 * view_row_endpoint_text - the parts joined: "host:port note". snprintf
 * contract.
 */
int view_row_endpoint_text(const struct view *v, const struct view_row *r,
			   int side, char *buf, size_t len);
/* Protocol name of the row (flowkey_proto_name). */
const char *view_row_proto(const struct view_row *r);
/*
 * view_row_iface - the -i interface a flow row was captured on, NULL when
 * that tells no rows apart: one interface (or not known: a file, a
 * --connect client), or a group row.
 */
const char *view_row_iface(const struct view *v, const struct view_row *r);
/* Whether view_row_iface names the flows' interfaces (several -i). */
int view_has_ifaces(const struct view *v);
/*
 * view_row_app - the row's app label (app_name), "" when none; *@guess
 * (may be NULL) gets 1 when it is only the port's guess (shown "http?").
 */
const char *view_row_app(const struct view_row *r, int *guess);
/*
 * view_row_app_detail - the app label's detail text ("GET /x host=y"),
 * read from the run's table through the last snapshot's app_table (a
 * lock-free copy, flowtab_app_detail): its length, 0 when none.
 */
size_t view_row_app_detail(const struct view *v, const struct view_row *r,
			   char *buf, size_t len);
/*
 * view_row_proc_info - the process owning the row's local socket, looked
 * up now in the last snapshot's process store (procs_lookup): 1 with @out
 * filled, 0 when not known (no store: a file).
 */
struct procs_info;
int view_row_proc_info(const struct view *v, const struct view_row *r,
		       struct procs_info *out);
/* Whether the run names processes at all (live, not --no-procs). */
int view_has_procs(const struct view *v);

/* Scale a byte/packet rate to the unit (bits = bytes * 8). */
double view_unit_rate(enum view_unit unit, double bps, double pps);
/* "bits/s", "bytes/s", "pkts/s" */
const char *view_unit_name(enum view_unit unit);

/* Cost of the last view_update and view_layout, and of the last whole
 * frame as the UI reports it (ns). */
uint64_t view_cost_update_ns(const struct view *v);
uint64_t view_cost_layout_ns(const struct view *v);
void view_set_frame_cost(struct view *v, uint64_t ns);
uint64_t view_frame_cost_ns(const struct view *v);

#endif
