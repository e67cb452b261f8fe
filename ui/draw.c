/*
 * draw.c - one frame of the monitor: title, rates, capture health, rate
 * history graph, protocol totals, named counters, the flow table and the
 * status line (or
 * the help screen, generated from the key table).
 *
 * Threads: UI thread only; curses calls only. Reads the view and the
 * context; owns nothing across calls. Every string is cut to the screen
 * width before it is written, so no size (down to 1x1) makes it wrap.
 */
#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/group.h"
#include "../src/app.h"
#include "../src/procs.h"
#include "draw.h"
#include "keys.h"
#include "view_format.h"

enum {
	CP_NEW = 1, /* new flows */
	CP_BAD,	    /* drops, LOSSY, errors */
	CP_BAR,	    /* key names in the footer bar */
	CP_TITLE,   /* column titles */
	CP_GRAPH,   /* rate history */
	CP_SEL,	    /* selected row */
	CP_PAUSE,   /* PAUSED tag */
};

#define LINE_MAX_BYTES 1024

int draw_init(int want)
{
	if (!want || !has_colors() || start_color() == ERR)
		return 0;
	use_default_colors();
	init_pair(CP_NEW, COLOR_GREEN, -1);
	init_pair(CP_BAD, COLOR_RED, -1);
	init_pair(CP_BAR, COLOR_BLACK, COLOR_CYAN);
	init_pair(CP_TITLE, COLOR_BLACK, COLOR_GREEN);
	init_pair(CP_GRAPH, COLOR_CYAN, -1);
	init_pair(CP_SEL, COLOR_BLACK, COLOR_CYAN);
	init_pair(CP_PAUSE, COLOR_BLACK, COLOR_YELLOW);
	return 1;
}

static attr_t attr(const struct draw_ctx *c, int pair, attr_t mono)
{
	return c->color ? (attr_t)COLOR_PAIR(pair) : mono;
}

/* Write ASCII @s at (y, x), cut at the screen edge. Returns the new x. */
static int put(int y, int x, const char *s, attr_t a)
{
	int room = COLS - x, n = (int)strlen(s);

	if (y < 0 || y >= LINES || room <= 0)
		return x;
	if (n > room)
		n = room;
	attron(a);
	mvaddnstr(y, x, s, n);
	attroff(a);
	return x + n;
}

/* ---- fitted lines ---------------------------------------------------- */

#define FIELD_MAX 24
#define FIELD_LEN 128

/*
 * A header line is a list of fields, each whole or not at all: the least
 * important (largest prio, rightmost on a tie) go first until the rest
 * fits, so a number is never cut at the edge (issue 16.1).
 */
struct field {
	char text[FIELD_LEN];
	int prio;
	attr_t a;
};

struct fields {
	struct field f[FIELD_MAX];
	int n;
};

static void __attribute__((format(printf, 4, 5)))
fld(struct fields *l, int prio, attr_t a, const char *fmt, ...)
{
	va_list ap;

	if (l->n >= FIELD_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(l->f[l->n].text, FIELD_LEN, fmt, ap);
	va_end(ap);
	l->f[l->n].prio = prio;
	l->f[l->n].a = a;
	l->n++;
}

/* Which fields fit in @width with @gap between them: keep[i]. Returns
 * the width used. */
static int fit_fields(const struct fields *l, int width, int gap, int *keep)
{
	int i, used = 0, shown = 0;

	for (i = 0; i < l->n; i++) {
		keep[i] = 1;
		used += (int)strlen(l->f[i].text) + (shown++ ? gap : 0);
	}
	while (used > width && shown) {
		int drop = -1;

		for (i = 0; i < l->n; i++) {
			if (keep[i] &&
			    (drop < 0 || l->f[i].prio >= l->f[drop].prio))
				drop = i;
		}
		keep[drop] = 0;
		used -= (int)strlen(l->f[drop].text) + (--shown ? gap : 0);
	}
	return used < 0 ? 0 : used;
}

/* Draw the fields that fit from (y, x), two spaces apart. Returns x. */
static int put_fields(int y, int x, int width, const struct fields *l)
{
	int keep[FIELD_MAX], i, first = 1;

	fit_fields(l, width, 2, keep);
	for (i = 0; i < l->n; i++) {
		if (!keep[i])
			continue;
		if (!first)
			x = put(y, x, "  ", A_NORMAL);
		x = put(y, x, l->f[i].text, l->f[i].a);
		first = 0;
	}
	return x;
}

/* ---- header ---------------------------------------------------------- */

static void rate_text(const struct view *v, double bps, double pps, char *buf,
		      size_t len)
{
	view_format_rate(view_unit_rate(view_unit(v), bps, pps), 6, buf, len);
}

/* @s cut to @room columns, ending in "..." when cut (text, not a number:
 * a cut filter must look cut). */
static void cut_text(const char *s, int room, char *buf, size_t len)
{
	int n = (int)strlen(s);

	if (room < 0)
		room = 0;
	if ((size_t)room >= len)
		room = (int)len - 1;
	if (n <= room) {
		snprintf(buf, len, "%s", s);
		return;
	}
	if (room < 4) {
		buf[0] = 0;
		return;
	}
	snprintf(buf, len, "%.*s...", room - 3, s);
}

/*
 * Title: what is captured on the left, the state on the right (sort,
 * frozen, end of the file, link down, PAUSED): fields that do not fit go
 * whole, least useful first; the filter, last, is cut visibly ("...").
 */
/* "since mark 18:45:02", "since start" (after M), or nothing before m. */
static void mark_field(const struct draw_ctx *c, struct fields *l)
{
	uint64_t m = view_mark_time(c->v);
	char hm[16];
	time_t t;
	struct tm tm;

	if (!m)
		return;
	if (view_since_start(c->v)) {
		fld(l, 3, attr(c, CP_PAUSE, A_REVERSE), " since start ");
		return;
	}
	t = (time_t)(m / 1000000000ull);
	if (!localtime_r(&t, &tm) || !strftime(hm, sizeof(hm), "%H:%M:%S", &tm))
		snprintf(hm, sizeof(hm), "?");
	fld(l, 3, attr(c, CP_PAUSE, A_REVERSE), " since mark %s ", hm);
}

static int draw_title(struct draw_ctx *c, int y)
{
	const struct view_totals *t = view_totals(c->v);
	enum view_sort key = view_sort(c->v, NULL);
	struct fields left = { .n = 0 }, right = { .n = 0 };
	char up[32], ftxt[LINE_MAX_BYTES];
	int keep[FIELD_MAX], rev, rw, lw, x, i;
	uint64_t since;

	view_sort(c->v, &rev);
	if (c->state && *c->state)
		fld(&right, 2, attr(c, CP_BAD, A_BOLD), "%s", c->state);
	if (view_frozen(c->v))
		fld(&right, 3, A_NORMAL, "order frozen");
	else
		fld(&right, 4, A_NORMAL, "sort: %s %s", view_sort_name(key),
		    view_sort_descending(key) != rev ? "v" : "^");
	if (t->link_down)
		fld(&right, 1, attr(c, CP_BAD, A_BOLD), "LINK DOWN");
	mark_field(c, &right);
	if (view_self_seen(c->v) && !view_hide_self(c->v))
		fld(&right, 6, A_NORMAL, "@ssh: yours, counted");
	if (view_group(c->v))
		fld(&right, 1, A_BOLD, "by %s",
		    group_name((enum group_by)view_group(c->v)));
	if (c->hist_trunc)
		fld(&right, 2, attr(c, CP_BAD, A_BOLD), "history truncated");
	if (c->rewind)
		fld(&right, 0, attr(c, CP_PAUSE, A_REVERSE) | A_BOLD,
		    " %s REWIND ", c->rewind);
	if (view_paused(c->v, &since)) {
		view_format_duration(c->now_mono > since ? c->now_mono - since
							 : 0,
				     up, sizeof(up));
		fld(&right, 0, attr(c, CP_PAUSE, A_REVERSE) | A_BOLD,
		    " PAUSED %s ", up);
	}
	rw = fit_fields(&right, COLS, 2, keep);
	view_format_duration(t->uptime_ns, up, sizeof(up));
	fld(&left, 1, A_BOLD, "pktstat");
	fld(&left, 2, A_NORMAL, "up %s", up);
	fld(&left, 3, A_NORMAL, "%s", c->source ? c->source : "");
	fld(&left, 5, A_NORMAL, "%s x%d", c->backend ? c->backend : "",
	    c->threads);
	lw = fit_fields(&left, COLS - rw - (rw ? 2 : 0), 2, keep);
	move(y, 0);
	clrtoeol();
	x = put_fields(y, 0, COLS - rw - (rw ? 2 : 0), &left);
	/* The filter gets what is left, cut visibly. */
	if (COLS - rw - 2 - lw - 2 >= 12) {
		char f[LINE_MAX_BYTES];

		snprintf(f, sizeof(f), "filter: %s",
			 c->filter && *c->filter ? c->filter : "(none)");
		cut_text(f, COLS - rw - 2 - lw - 2, ftxt, sizeof(ftxt));
		x = put(y, x, "  ", A_NORMAL);
		put(y, x, ftxt, A_NORMAL);
	}
	if (rw) {
		x = COLS - rw;
		for (i = 0; i < right.n; i++) {
			if (!keep[i])
				continue;
			x = put(y, x, right.f[i].text, right.f[i].a);
			if (x < COLS)
				x = put(y, x, "  ", A_NORMAL);
		}
	}
	return y + 1;
}

/*
 * What the "%" column is a share of, when it is on screen: the fixed
 * maximum (-m) in the current unit, or the peak (the original's
 * auto-detected maximum, shown just before).
 */
static void max_text(const struct draw_ctx *c, char *buf, size_t len)
{
	char num[16];
	int fixed;
	double m = view_max_bps(c->v, &fixed);

	buf[0] = 0;
	if (!c->col_w[COL_PCT])
		return;
	if (!fixed) {
		snprintf(buf, len, "max (peak)");
		return;
	}
	rate_text(c->v, m / 8.0, 0, num, sizeof(num));
	snprintf(buf, len, "max %s", num);
}

/*
 * The totals line: rates, flows and the capture's health in one line,
 * least important fields dropped whole when narrow.
 */
static int draw_rates(struct draw_ctx *c, int y)
{
	const struct view_totals *t = view_totals(c->v);
	const struct view *v = c->v;
	const struct cap_stats *s = &t->cap, *d = &t->cap_delta;
	struct fields l = { .n = 0 };
	char a[16], b[16], m[16], mx[32], p1[16], p2[16], p3[16];
	uint64_t drops = s->kernel_drops + s->freezes + s->if_drops;
	uint64_t dnow = d->kernel_drops + d->freezes + d->if_drops;
	int pk = view_unit(v) == VIEW_UNIT_PACKETS;

	max_text(c, mx, sizeof(mx));
	rate_text(v, t->bps, t->pps, a, sizeof(a));
	rate_text(v, t->avg_bps, t->avg_pps, b, sizeof(b));
	rate_text(v, t->peak_bps, t->peak_pps, m, sizeof(m));
	view_format_rate(t->pps, 6, p1, sizeof(p1));
	view_format_rate(t->avg_pps, 6, p2, sizeof(p2));
	view_format_rate(t->peak_pps, 6, p3, sizeof(p3));
	fld(&l, 1, A_NORMAL, "total %s %s", a, view_unit_name(view_unit(v)));
	fld(&l, 5, A_NORMAL, "avg %s", b);
	fld(&l, 3, A_NORMAL, "peak %s", m);
	if (mx[0] && !pk)
		fld(&l, 4, A_NORMAL, "%s", mx);
	if (!pk) {
		fld(&l, 2, A_NORMAL, "%s pkts/s", p1);
		fld(&l, 8, A_NORMAL, "avg %s", p2);
		fld(&l, 8, A_NORMAL, "peak %s", p3);
	}
	fld(&l, 1, A_NORMAL, "flows %zu", t->flows);
	if (drops)
		fld(&l, 1, dnow ? attr(c, CP_BAD, A_BOLD) : A_NORMAL,
		    "drops %llu (+%llu)", (unsigned long long)drops,
		    (unsigned long long)dnow);
	else
		fld(&l, 6, A_NORMAL, "drops 0");
	if (t->exact)
		fld(&l, 2, A_NORMAL, "exact");
	else
		fld(&l, 1, attr(c, CP_BAD, A_REVERSE) | A_BOLD, "LOSSY");
	move(y, 0);
	clrtoeol();
	put_fields(y, 0, COLS, &l);
	return y + 1;
}

/* Details: the capture's losses by kind, each with this interval's. */
static int draw_health(struct draw_ctx *c, int y)
{
	const struct view_totals *t = view_totals(c->v);
	const struct cap_stats *s = &t->cap, *d = &t->cap_delta;
	struct fields l = { .n = 0 };
	attr_t bad = attr(c, CP_BAD, A_BOLD);

	fld(&l, 1, d->kernel_drops ? bad : A_NORMAL,
	    "kernel drops %llu (+%llu)", (unsigned long long)s->kernel_drops,
	    (unsigned long long)d->kernel_drops);
	fld(&l, 2, d->freezes ? bad : A_NORMAL, "freeze %llu (+%llu)",
	    (unsigned long long)s->freezes, (unsigned long long)d->freezes);
	fld(&l, 2, d->if_drops ? bad : A_NORMAL, "if %llu (+%llu)",
	    (unsigned long long)s->if_drops, (unsigned long long)d->if_drops);
	fld(&l, 3, A_NORMAL, "malformed %llu",
	    (unsigned long long)t->malformed);
	fld(&l, 4, A_NORMAL, "expired flows %llu",
	    (unsigned long long)t->expired_flows);
	/* kernel-side counting (ebpf): overflow and uncounted packets */
	if (s->map_full || s->prog_errors)
		fld(&l, 3, s->prog_errors ? bad : A_NORMAL,
		    "map-full %llu  prog-errors %llu",
		    (unsigned long long)s->map_full,
		    (unsigned long long)s->prog_errors);
	move(y, 0);
	clrtoeol();
	put_fields(y, 0, COLS, &l);
	return y + 1;
}

/* The total rate over the last minute, one column per second. */
static int draw_graph(struct draw_ctx *c, int y)
{
	static const char *const blocks[8] = { "\u2581", "\u2582", "\u2583",
					       "\u2584", "\u2585", "\u2586",
					       "\u2587", "\u2588" };
	static const char ascii[] = "_.-:=+*#";
	double hist[VIEW_HIST_SECONDS], max = 0;
	char label[32], mx[16];
	int w, i, x;

	move(y, 0);
	clrtoeol();
	x = put(y, 0, "60s ", A_NORMAL);
	w = COLS - x - 12;
	if (w <= 0)
		return y + 1;
	if (w > VIEW_HIST_SECONDS)
		w = VIEW_HIST_SECONDS;
	view_history(c->v, hist, (size_t)w);
	for (i = 0; i < w; i++) {
		if (hist[i] > max)
			max = hist[i];
	}
	attron(attr(c, CP_GRAPH, A_NORMAL));
	for (i = 0; i < w; i++) {
		int lvl = -1;

		if (hist[i] > 0 && max > 0) {
			lvl = (int)(hist[i] / max * 8.0 + 0.999) - 1;
			if (lvl > 7)
				lvl = 7;
			if (lvl < 0)
				lvl = 0;
		}
		if (lvl < 0)
			mvaddch(y, x + i, hist[i] < 0 ? ' ' : '_');
		else if (c->utf8)
			mvaddstr(y, x + i, blocks[lvl]);
		else
			mvaddch(y, x + i, (chtype)(unsigned char)ascii[lvl]);
	}
	attroff(attr(c, CP_GRAPH, A_NORMAL));
	view_format_rate(max, 6, mx, sizeof(mx));
	snprintf(label, sizeof(label), " max %s", mx);
	put(y, x + w, label, A_NORMAL);
	return y + 1;
}

/* Protocol totals: a small grid, one column per protocol that fits. */
static int draw_protos(struct draw_ctx *c, int y)
{
	const struct view_totals *t = view_totals(c->v);
	static const char *const label[3] = { "pkts", "bytes", "rate" };
	char cell[32], num[16];
	int p, r, x;

	for (r = -1; r < 3; r++) {
		move(y + r + 1, 0);
		clrtoeol();
		x = put(y + r + 1, 0, r < 0 ? "" : label[r], A_NORMAL);
		for (p = 0, x = 6; p < PROTO_COUNT && x + 8 <= COLS; p++) {
			if (r < 0) {
				snprintf(cell, sizeof(cell), "%8s",
					 snapshot_proto_name(p));
				put(y, x, cell, A_BOLD);
			} else {
				/* One format for all: 3 digits, SI. */
				if (r == 0)
					view_format_rate(
						(double)t->proto[p].pkts, 7,
						num, sizeof(num));
				else if (r == 1)
					view_format_rate(
						(double)t->proto[p].bytes, 7,
						num, sizeof(num));
				else
					rate_text(c->v, t->proto_bps[p],
						  t->proto_pps[p], num,
						  sizeof(num));
				snprintf(cell, sizeof(cell), "%8s", num);
				put(y + r + 1, x, cell, A_NORMAL);
			}
			x += 8;
		}
	}
	return y + 4;
}

/* ---- named counters -------------------------------------------------- */

#define CNT_NAME_MAX 16 /* longer names are cut */
#define CNT_NUM_W 9	/* packets, bytes */
#define CNT_RATE_W 8	/* pkts/s, the rate */
#define CNT_EXPR_MIN 6	/* the filter is shown when this much is left */

enum { CNT_PKTS, CNT_BYTES, CNT_PPS, CNT_RATE, CNT_FIELDS };

/*
 * The counters panel: a title line and @lines - 1 counters (the first
 * title says how many more there are: "counter +3 more"). Columns that do
 * not fit drop out, least useful first: the filter, packets/s, the rate,
 * bytes; the name and packets always stay.
 */
static int draw_counters(struct draw_ctx *c, int y, int lines)
{
	static const char *const title[CNT_FIELDS] = { "packets", "bytes",
						       "pkts/s", NULL };
	static const int width[CNT_FIELDS] = { CNT_NUM_W, CNT_NUM_W, CNT_RATE_W,
					       CNT_RATE_W };
	static const int prefer[CNT_FIELDS] = { CNT_PKTS, CNT_BYTES, CNT_RATE,
						CNT_PPS };
	enum view_unit u = view_unit(c->v) == VIEW_UNIT_PACKETS
				   ? VIEW_UNIT_BITS
				   : view_unit(c->v);
	size_t n = cpanel_count(c->counters), shown = (size_t)(lines - 1), i;
	char line[LINE_MAX_BYTES], num[32], name[48];
	int show[CNT_FIELDS] = { 0 }, nw, x, f, expr;

	if (shown > n)
		shown = n;
	if (shown < n)
		snprintf(name, sizeof(name), "counter +%zu more", n - shown);
	else
		snprintf(name, sizeof(name), "counter");
	nw = (int)strlen(name);
	for (i = 0; i < shown; i++) {
		int l = (int)strlen(cpanel_row(c->counters, i)->name);

		if (l > nw)
			nw = l > CNT_NAME_MAX ? CNT_NAME_MAX : l;
	}
	x = nw;
	for (f = 0; f < CNT_FIELDS; f++) {
		if (x + 1 + width[prefer[f]] > COLS)
			break;
		show[prefer[f]] = 1;
		x += 1 + width[prefer[f]];
	}
	expr = COLS - x - 2 >= CNT_EXPR_MIN;

	x = snprintf(line, sizeof(line), "%-*s", nw, name);
	for (f = 0; f < CNT_FIELDS; f++)
		if (show[f])
			x += snprintf(line + x, sizeof(line) - (size_t)x,
				      " %*s", width[f],
				      title[f] ? title[f] : view_unit_name(u));
	if (expr)
		snprintf(line + x, sizeof(line) - (size_t)x, "  filter");
	move(y, 0);
	clrtoeol();
	put(y, 0, line, A_BOLD);
	for (i = 0; i < shown; i++) {
		const struct cpanel_row *r = cpanel_row(c->counters, i);
		int yy = y + 1 + (int)i;

		x = snprintf(line, sizeof(line), "%-*.*s", nw, nw, r->name);
		for (f = 0; f < CNT_FIELDS; f++) {
			if (!show[f])
				continue;
			if (f == CNT_PKTS)
				view_format_count(r->pkts, width[f], num,
						  sizeof(num));
			else if (f == CNT_BYTES)
				view_format_count(r->bytes, width[f], num,
						  sizeof(num));
			else if (f == CNT_PPS)
				view_format_rate(r->pps, width[f], num,
						 sizeof(num));
			else
				view_format_rate(
					view_unit_rate(u, r->Bps, r->pps),
					width[f], num, sizeof(num));
			x += snprintf(line + x, sizeof(line) - (size_t)x,
				      " %*s", width[f], num);
		}
		if (expr)
			snprintf(line + x, sizeof(line) - (size_t)x, "  %s",
				 *r->expr ? r->expr : "(all packets)");
		move(yy, 0);
		clrtoeol();
		put(yy, 0, line, A_NORMAL);
	}
	c->counters_y = y;
	c->counters_rows = (int)shown;
	return y + 1 + (int)shown;
}

/* ---- flow table ------------------------------------------------------ */

static void draw_titles(struct draw_ctx *c, int y)
{
	char buf[LINE_MAX_BYTES];
	int i, x = 0, hot, sort = (int)view_sort(c->v, NULL);
	attr_t base = attr(c, CP_TITLE, A_REVERSE);

	move(y, 0);
	attron(base);
	for (i = 0; i < COLS; i++)
		mvaddch(y, i, ' ');
	attroff(base);
	for (i = 0; i < COL_COUNT; i++) {
		const struct column *col = columns_get(i);
		attr_t a = base | A_BOLD;

		c->col_x[i] = x;
		if (!c->col_w[i])
			continue;
		columns_title(i, c->v, keys_sort_key(col->sort), c->col_w[i],
			      buf, sizeof(buf), &hot);
		if (col->sort == sort && !view_frozen(c->v))
			a = (c->color ? A_REVERSE : A_NORMAL) | A_BOLD;
		put(y, x, buf, a);
		if (hot >= 0 && x + hot < COLS) {
			char k[2] = { buf[hot], 0 };

			put(y, x + hot, k, a | A_UNDERLINE);
		}
		x += c->col_w[i] + 1;
	}
}

static void draw_rows(struct draw_ctx *c, int y, int rows)
{
	char line[LINE_MAX_BYTES], cell[LINE_MAX_BYTES];
	size_t i, n = view_nvisible(c->v), sel = view_selected(c->v);
	size_t top = view_top(c->v);
	int k;

	for (i = 0; i < (size_t)rows; i++) {
		const struct view_row *r = i < n ? view_row_at(c->v, i) : NULL;
		size_t off = 0;
		attr_t a = A_NORMAL;

		move(y + (int)i, 0);
		clrtoeol();
		if (!r)
			continue;
		for (k = 0; k < COL_COUNT && off + 1 < sizeof(line); k++) {
			if (!c->col_w[k])
				continue;
			columns_cell(k, c->v, r, c->col_w[k], cell,
				     sizeof(cell));
			off += (size_t)snprintf(line + off, sizeof(line) - off,
						"%s%s", off ? " " : "", cell);
		}
		if (off >= sizeof(line))
			off = sizeof(line) - 1;
		if ((r->f->flags & VIEW_ROW_SELF) && off + 6 < sizeof(line) &&
		    off + 6 <= (size_t)COLS)
			off += (size_t)snprintf(line + off, sizeof(line) - off,
						" @ssh");
		/* The selection spans the width. */
		while (top + i == sel && off + 1 < sizeof(line) &&
		       off < (size_t)COLS)
			line[off++] = ' ';
		line[off] = 0;
		if (r->f->flags & VIEW_ROW_NEW)
			a = attr(c, CP_NEW, A_NORMAL) | A_BOLD;
		else if (r->f->flags & VIEW_ROW_IDLE)
			a = A_DIM;
		if (top + i == sel)
			a = attr(c, CP_SEL, A_REVERSE) | (a & (A_BOLD | A_DIM));
		put(y + (int)i, 0, line, a);
	}
}

/* ---- host view ------------------------------------------------------- */

enum {
	HC_HOST,
	HC_TX,
	HC_RX,
	HC_RATE,
	HC_TXB,
	HC_RXB,
	HC_BYTES,
	HC_FLOWS,
	HC_COUNT
};

/*
 * The host view (V): per host, the rates it sends (TX) and receives (RX)
 * and its bytes each way since the start (or the mark), busiest first;
 * the last line sums the link as iftop's footer does. Columns that do not
 * fit go whole, the least useful first; numbers are never cut.
 */
static void draw_hosts(struct draw_ctx *c, int y, int rows)
{
	static const struct view_col_spec spec[HC_COUNT] = {
		[HC_HOST] = { 15, 39, 1 },  [HC_TX] = { 10, 10, 2 },
		[HC_RX] = { 10, 10, 2 },    [HC_RATE] = { 10, 10, 4 },
		[HC_TXB] = { 10, 14, 3 },   [HC_RXB] = { 10, 14, 3 },
		[HC_BYTES] = { 10, 14, 5 }, [HC_FLOWS] = { 6, 8, 6 },
	};
	const char *unit = view_unit_name(view_unit(c->v));
	const struct view_totals *t = view_totals(c->v);
	size_t n = hosts_count(c->hosts), i;
	char title[HC_COUNT][32], cell[64], line[LINE_MAX_BYTES], a[16], b[16];
	int w[HC_COUNT], k, off;
	attr_t base = attr(c, CP_TITLE, A_REVERSE);

	snprintf(title[HC_HOST], 32, "Host");
	snprintf(title[HC_TX], 32, "TX %s", unit);
	snprintf(title[HC_RX], 32, "RX %s", unit);
	snprintf(title[HC_RATE], 32, "%s", unit);
	snprintf(title[HC_TXB], 32, "TX bytes");
	snprintf(title[HC_RXB], 32, "RX bytes");
	snprintf(title[HC_BYTES], 32, "Bytes");
	snprintf(title[HC_FLOWS], 32, "Flows");
	view_fit_columns(spec, HC_COUNT, COLS, 1, w);
	if (rows < 1)
		rows = 1;
	if (c->host_top + (size_t)rows > n)
		c->host_top = n > (size_t)rows ? n - (size_t)rows : 0;
	move(y, 0);
	attron(base);
	for (k = 0; k < COLS; k++)
		mvaddch(y, k, ' ');
	attroff(base);
	for (k = 0, off = 0; k < HC_COUNT; k++) {
		if (!w[k])
			continue;
		off += snprintf(line + off, sizeof(line) - (size_t)off,
				k == HC_HOST ? "%s%-*s" : "%s%*s",
				off ? " " : "", w[k], title[k]);
	}
	put(y, 0, line, base | A_BOLD);
	for (i = 0; i < (size_t)rows; i++) {
		const struct hosts_row *r =
			hosts_row(c->hosts, c->host_top + i);
		int yy = y + 1 + (int)i;

		move(yy, 0);
		clrtoeol();
		if (!r)
			continue;
		for (k = 0, off = 0; k < HC_COUNT; k++) {
			double tx = view_unit_rate(view_unit(c->v), r->bps[0],
						   r->pps[0]);
			double rx = view_unit_rate(view_unit(c->v), r->bps[1],
						   r->pps[1]);

			if (!w[k])
				continue;
			if (k == HC_HOST)
				snprintf(cell, sizeof(cell), "%-*.*s", w[k],
					 w[k], r->label);
			else if (k == HC_TX || k == HC_RX || k == HC_RATE)
				view_format_rate(k == HC_TX   ? tx
						 : k == HC_RX ? rx
							      : tx + rx,
						 w[k], cell, sizeof(cell));
			else
				view_format_count(k == HC_TXB	? r->bytes[0]
						  : k == HC_RXB ? r->bytes[1]
						  : k == HC_BYTES
							  ? r->bytes[0] +
								    r->bytes[1]
							  : r->flows,
						  w[k], cell, sizeof(cell));
			/* the host is padded already: one format */
			off += snprintf(line + off, sizeof(line) - (size_t)off,
					"%s%*s", off ? " " : "", w[k], cell);
		}
		put(yy, 0, line, A_NORMAL);
	}
	/* iftop's footer: the link's figures */
	rate_text(c->v, t->bps, t->pps, a, sizeof(a));
	rate_text(c->v, t->peak_bps, t->peak_pps, b, sizeof(b));
	{
		struct fields l = { .n = 0 };
		char cum[24];

		view_format_count(t->bytes, 14, cum, sizeof(cum));
		fld(&l, 1, A_BOLD, "hosts %zu", n);
		fld(&l, 2, A_NORMAL, "link now %s %s", a, unit);
		fld(&l, 3, A_NORMAL, "peak %s", b);
		fld(&l, 2, A_NORMAL, "cum %s bytes", cum);
		fld(&l, 4, A_NORMAL,
		    "(a host's TX+RX counts each flow it "
		    "is in)");
		move(y + 1 + rows, 0);
		clrtoeol();
		put_fields(y + 1 + rows, 0, COLS, &l);
	}
}

/* ---- status line ----------------------------------------------------- */

static void draw_status(struct draw_ctx *c, int y)
{
	size_t n, i, cnt = view_count(c->v), top = view_top(c->v);
	const struct key_binding *k = keys_table(&n);
	char buf[LINE_MAX_BYTES], rows[64];
	int x = 0, paused = view_paused(c->v, NULL), rw;

	move(y, 0);
	clrtoeol();
	if (c->prompt) {
		size_t start;
		int cx, lx;

		lx = put(y, 0, c->prompt_label, A_BOLD);
		cx = prompt_window(c->prompt, COLS - lx, &start);
		snprintf(buf, sizeof(buf), "%s", c->prompt->buf + start);
		/* The pre-filled value, selected: typing replaces it. */
		put(y, lx, buf, c->prompt->selected ? A_REVERSE : A_NORMAL);
		if (lx + cx < COLS) {
			move(y, lx + cx);
			curs_set(1);
		}
		return;
	}
	curs_set(0);
	if (c->question) {
		put(y, 0, c->question, A_BOLD);
		return;
	}
	if (c->msg) {
		put(y, 0, c->msg,
		    c->msg_err ? attr(c, CP_BAD, A_BOLD) | A_BOLD : A_BOLD);
		return;
	}
	/* Right: which rows are on screen, and the display filter's count. */
	if (c->hosts) {
		size_t hn = hosts_count(c->hosts);
		size_t shown = c->table_rows > 0 ? (size_t)c->table_rows : 0;

		if (c->host_top + shown > hn)
			shown = hn - c->host_top;
		if (!hn)
			snprintf(rows, sizeof(rows), "no hosts");
		else
			snprintf(rows, sizeof(rows), "hosts %zu-%zu of %zu",
				 c->host_top + 1, c->host_top + shown, hn);
	} else if (!cnt)
		snprintf(rows, sizeof(rows), "no rows");
	else
		snprintf(rows, sizeof(rows), "rows %zu-%zu of %zu", top + 1,
			 top + view_nvisible(c->v), cnt);
	if (*view_filter(c->v) && !c->hosts)
		snprintf(buf, sizeof(buf), " find: %s (%zu) ",
			 view_filter(c->v), cnt);
	else
		snprintf(buf, sizeof(buf), " %s", rows);
	rw = (int)strlen(buf);
	for (i = 0; i < n && x < COLS; i++) {
		/* The footer shows the state: Space says Resume when paused. */
		const char *label = keys_bar_label(
			&k[i], k[i].action == KA_PAUSE && paused);

		if (!label)
			continue;
		if (x + (int)strlen(k[i].name) + 1 + (int)strlen(label) >
		    COLS - rw - 1)
			break;
		x = put(y, x, k[i].name, attr(c, CP_BAR, A_REVERSE));
		x = put(y, x, " ", A_NORMAL);
		x = put(y, x, label,
			k[i].action == KA_PAUSE && paused
				? attr(c, CP_PAUSE, A_REVERSE)
				: A_NORMAL);
		x = put(y, x, "  ", A_NORMAL);
	}
	if (x + rw <= COLS)
		put(y, COLS - rw, buf,
		    *view_filter(c->v) ? A_REVERSE : A_NORMAL);
}

/* ---- help ------------------------------------------------------------ */

#define HELP_NAME_W 14

struct help_text {
	char (*line)[LINE_MAX_BYTES];
	attr_t *a;
	size_t n, cap;
};

static int help_add(struct help_text *h, const char *s, attr_t a)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 128;
		char(*l)[LINE_MAX_BYTES] = realloc(h->line, cap * sizeof(*l));
		attr_t *aa;

		if (!l)
			return -ENOMEM;
		h->line = l;
		aa = realloc(h->a, cap * sizeof(*aa));
		if (!aa)
			return -ENOMEM;
		h->a = aa;
		h->cap = cap;
	}
	snprintf(h->line[h->n], LINE_MAX_BYTES, "%s", s);
	h->a[h->n++] = a;
	return 0;
}

/*
 * "@term @text" word-wrapped to @width: the term in a column of
 * HELP_NAME_W (on a line of its own when longer), the text indented.
 */
static int help_entry(struct help_text *h, const char *term, const char *text,
		      int width)
{
	char line[LINE_MAX_BYTES];
	int ind = HELP_NAME_W + 1, tw = (int)strlen(term);
	const char *p = text;

	if (width < ind + 10)
		ind = 2;
	if (tw > HELP_NAME_W || ind == 2) {
		if (help_add(h, term, A_BOLD))
			return -ENOMEM;
		snprintf(line, sizeof(line), "%*s", ind, "");
	} else {
		snprintf(line, sizeof(line), "%-*s ", HELP_NAME_W, term);
	}
	while (*p) {
		int room = width - ind, n = (int)strlen(p), cut = n;

		if (n > room) {
			for (cut = room; cut > 0 && p[cut] != ' '; cut--)
				;
			if (cut == 0)
				cut = room;
		}
		snprintf(line + ind, sizeof(line) - (size_t)ind, "%.*s", cut,
			 p);
		if (help_add(h, line, A_NORMAL))
			return -ENOMEM;
		p += cut;
		while (*p == ' ')
			p++;
		snprintf(line, sizeof(line), "%*s", ind, "");
	}
	return 0;
}

static int help_build(struct help_text *h, int width)
{
	const char *term, *text;
	char names[64];
	size_t i;

	if (help_add(h,
		     "KEYS (a column title's [k] or underlined letter is "
		     "its sort key)",
		     A_BOLD))
		return -ENOMEM;
	for (i = 0; keys_help_entry(i, names, sizeof(names), &text) == 0; i++) {
		if (help_entry(h, names, text, width))
			return -ENOMEM;
	}
	if (help_add(h, "", A_NORMAL) || help_add(h, "SCREEN", A_BOLD))
		return -ENOMEM;
	for (i = 0; keys_legend(i, &term, &text) == 0; i++) {
		if (help_entry(h, term, text, width))
			return -ENOMEM;
	}
	return 0;
}

/*
 * The help: keys then what the screen shows, wrapped to the width; the
 * last line says which lines are shown and how to scroll (issue 16.9).
 */
static int draw_help(struct draw_ctx *c)
{
	struct help_text h = { NULL, NULL, 0, 0 };
	char line[LINE_MAX_BYTES];
	size_t i, avail = LINES > 2 ? (size_t)LINES - 2 : 1;
	int y = 1;

	if (help_build(&h, COLS - 1)) {
		free(h.line);
		free(h.a);
		return -ENOMEM;
	}
	c->help_lines = h.n;
	c->help_page = avail;
	if (c->help_top + avail > h.n)
		c->help_top = h.n > avail ? h.n - avail : 0;
	erase();
	put(0, 0, "pktstat help", A_BOLD);
	for (i = c->help_top; i < h.n && y <= (int)avail; i++, y++)
		put(y, 1, h.line[i], h.a[i]);
	move(LINES - 1, 0);
	clrtoeol();
	if (h.n > avail) {
		struct fields l = { .n = 0 };

		fld(&l, 1, attr(c, CP_BAR, A_REVERSE), "lines %zu-%zu of %zu",
		    c->help_top + 1, c->help_top + avail, h.n);
		fld(&l, 2, A_BOLD, "%s",
		    c->help_top + avail < h.n ? "more below" : "end");
		fld(&l, 3, A_NORMAL, "arrows PgUp PgDn Home End");
		fld(&l, 1, A_NORMAL, "other keys close");
		put_fields(LINES - 1, 0, COLS, &l);
	} else {
		snprintf(line, sizeof(line), "any key closes");
		put(LINES - 1, 0, line, attr(c, CP_BAR, A_REVERSE));
	}
	free(h.line);
	free(h.a);
	return 0;
}

/*
 * The detail view's process and app lines from line @y: pid, user,
 * cgroup (and its unit or container), command line; the app label and its
 * detail text. Unknown is said so, once (a file has no sockets at all).
 * Returns the next line.
 */
static int draw_detail_proc(struct draw_ctx *c, const struct view_row *r, int y)
{
	char line[LINE_MAX_BYTES], detail[APP_DETAIL_MAX], shortcg[64];
	struct procs_info pi;
	int guess;
	const char *app = view_row_app(r, &guess);

	if (!view_has_procs(c->v)) {
		put(y++, 0, "process: not known (no sockets: read from a file)",
		    A_NORMAL);
	} else if (!view_row_proc_info(c->v, r, &pi) ||
		   (!pi.pid && !pi.user[0])) {
		put(y++, 0, "process: not known (yet)", A_NORMAL);
	} else {
		if (pi.pid)
			snprintf(line, sizeof(line),
				 "process: %s  pid %d  user %s (uid %u)",
				 pi.comm, (int)pi.pid, pi.user,
				 (unsigned)pi.uid);
		else
			snprintf(line, sizeof(line),
				 "process: not known  user %s (uid %u)",
				 pi.user, (unsigned)pi.uid);
		put(y++, 0, line, A_NORMAL);
		if (pi.pid && pi.cgroup[0]) {
			procs_cgroup_short(pi.cgroup, shortcg, sizeof(shortcg));
			snprintf(line, sizeof(line), "cgroup:  %s%s%s%s",
				 pi.cgroup, shortcg[0] ? "  (" : "", shortcg,
				 shortcg[0] ? ")" : "");
			put(y++, 0, line, A_NORMAL);
		}
		if (pi.pid && pi.cmdline[0]) {
			snprintf(line, sizeof(line), "command: %s", pi.cmdline);
			put(y++, 0, line, A_NORMAL);
		}
	}
	if (!app[0]) {
		put(y++, 0, "app:     not known", A_NORMAL);
		return y;
	}
	view_row_app_detail(c->v, r, detail, sizeof(detail));
	snprintf(line, sizeof(line), "app:     %s%s%s%s", app,
		 guess ? " (a guess from the port)" : "", detail[0] ? "  " : "",
		 detail);
	put(y++, 0, line, A_NORMAL);
	return y;
}

/*
 * The selected flow in full (Enter): both directions, first and last
 * seen, rates and averages, names and numbers, the -1 style description.
 */
static void draw_detail(struct draw_ctx *c, const struct view_row *r)
{
	const struct view_flow *f = r->f;
	enum view_unit u = view_unit(c->v);
	char line[LINE_MAX_BYTES], a[320], b[320], na[320], nb[320];
	char r1[16], r2[16], r3[16], r4[16], first[32], last[32];
	struct view_row d;
	const char *ifn;
	uint64_t age;
	int y = 0, i;

	erase();
	view_row_endpoint(r, 0, na, sizeof(na));
	view_row_endpoint(r, 1, nb, sizeof(nb));
	view_row_endpoint_text(c->v, r, 0, a, sizeof(a));
	view_row_endpoint_text(c->v, r, 1, b, sizeof(b));
	ifn = view_row_iface(c->v, r);
	snprintf(line, sizeof(line), "%s flow %llu%s%s%s", view_row_proto(r),
		 (unsigned long long)f->row->id, ifn ? " on " : "",
		 ifn ? ifn : "",
		 r->dir == VIEW_DIR_BOTH ? "" : " (one direction)");
	put(y++, 0, line, A_BOLD);
	y++;
	snprintf(line, sizeof(line), "A  %s", na);
	put(y++, 0, line, A_NORMAL);
	if (strcmp(a, na) != 0) {
		snprintf(line, sizeof(line), "   %s", a);
		put(y++, 0, line, A_NORMAL);
	}
	snprintf(line, sizeof(line), "B  %s", nb);
	put(y++, 0, line, A_NORMAL);
	if (strcmp(b, nb) != 0) {
		snprintf(line, sizeof(line), "   %s", b);
		put(y++, 0, line, A_NORMAL);
	}
	y++;
	snprintf(line, sizeof(line), "%-5s %14s %12s %9s %9s %9s %9s %9s", "",
		 "bytes", "packets", view_unit_name(u), "pkts/s", "2s", "10s",
		 "40s");
	put(y++, 0, line, A_BOLD);
	for (i = 0; i < 3; i++) {
		if (i < 2 && r->dir != VIEW_DIR_BOTH && r->dir != i)
			continue;
		d.f = f;
		d.dir = i < 2 ? i : VIEW_DIR_BOTH;
		view_format_rate(view_row_rate(c->v, &d, VIEW_RATE_TOTAL), 9,
				 r1, sizeof(r1));
		view_format_rate(view_row_pps(&d), 9, r2, sizeof(r2));
		view_format_rate(view_row_avg(c->v, &d, 0), 9, r3, sizeof(r3));
		view_format_rate(view_row_avg(c->v, &d, 1), 9, r4, sizeof(r4));
		view_format_rate(view_row_avg(c->v, &d, 2), 9, first,
				 sizeof(first));
		snprintf(line, sizeof(line),
			 "%-5s %14llu %12llu %9s %9s %9s %9s %9s",
			 i == 0	  ? "A>B"
			 : i == 1 ? "B>A"
				  : "both",
			 (unsigned long long)view_row_bytes(c->v, &d),
			 (unsigned long long)view_row_pkts(c->v, &d), r1, r2,
			 r3, r4, first);
		put(y++, 0, line, A_NORMAL);
	}
	y++;
	age = view_row_age(c->v, r);
	view_format_age(age, 10, last, sizeof(last));
	view_format_age(f->row->last_ns > f->row->first_ns
				? age + (f->row->last_ns - f->row->first_ns)
				: age,
			10, first, sizeof(first));
	snprintf(line, sizeof(line), "first seen %s ago, last seen %s ago",
		 first, last);
	put(y++, 0, line, A_NORMAL);
	snprintf(line, sizeof(line), "%s:%s%s%s", view_row_proto(r), na,
		 f->row->pkts[1] ? " <-> " : " -> ", nb);
	put(y++, 0, line, A_NORMAL);
	if (flowkey_is_icmp(f->row->key.kind)) {
		char msg[FLOWKEY_ICMP_TEXT_MAX];

		flowkey_icmp_text(&f->row->key, msg, sizeof(msg));
		snprintf(line, sizeof(line), "message %s (type %u, code %u)",
			 msg, (unsigned int)f->row->key.aport,
			 (unsigned int)f->row->key.bport);
		put(y++, 0, line, A_NORMAL);
	}
	y++;
	y = draw_detail_proc(c, r, y);
	put(LINES - 1, 0, "any key goes back", attr(c, CP_BAR, A_REVERSE));
}

/* The "too small" notice, in the words that fit (issue 16.14). */
static void draw_too_small(void)
{
	static const char *const msg[] = {
		"terminal too small: need at least %dx%d",
		"too small: need %dx%d",
		"need %dx%d",
		"%dx%d",
	};
	char line[64];
	size_t i;

	erase();
	for (i = 0; i < sizeof(msg) / sizeof(msg[0]); i++) {
		snprintf(line, sizeof(line), msg[i], DRAW_MIN_COLS,
			 DRAW_MIN_ROWS);
		if ((int)strlen(line) <= COLS)
			break;
	}
	if ((int)strlen(line) <= COLS)
		put(0, 0, line, A_BOLD);
	else
		put(0, 0, "!", A_BOLD);
}

/* ---- frame ----------------------------------------------------------- */

int draw_frame(struct draw_ctx *c)
{
	int y = 0, rows;

	c->title_y = -1;
	c->counters_y = -1;
	c->counters_rows = 0;
	c->table_y = 0;
	c->table_rows = 0;
	c->too_small = COLS < DRAW_MIN_COLS || LINES < DRAW_MIN_ROWS;
	memset(c->col_w, 0, sizeof(c->col_w));
	if (c->too_small) {
		draw_too_small();
		return 0;
	}
	if (c->help)
		return draw_help(c);
	if (c->detail) {
		size_t sel = view_selected(c->v), top = view_top(c->v);
		const struct view_row *r =
			sel >= top ? view_row_at(c->v, sel - top) : NULL;

		if (r) {
			draw_detail(c, r);
			return 0;
		}
	}
	/* Before the header, which names the "%" column's maximum. The
	 * columns leave room for the " @ssh" mark of your own session's row
	 * (they widen to the whole width otherwise). */
	columns_layout(
		c->v,
		COLS - (view_self_seen(c->v) && !view_hide_self(c->v) ? 6 : 0),
		c->totals, c->col_w);
	/*
	 * Two header lines: the flow table is the product (80x24 shows 20
	 * rows). The details (losses by kind, the rate graph, protocol
	 * totals) on the key, or when the terminal is tall.
	 */
	y = draw_title(c, y);
	y = draw_rates(c, y);
	if (c->details || LINES >= DRAW_TALL_ROWS) {
		y = draw_health(c, y);
		y = draw_graph(c, y);
		if (LINES - y >= 12)
			y = draw_protos(c, y);
	}
	if (LINES >= 12 && cpanel_count(c->counters)) {
		/* At most half of what is left, and the flow table keeps
		 * three rows; a title without a counter is not shown. */
		int left = LINES - y - 2,
		    want = 1 + (int)cpanel_count(c->counters);

		if (want > left / 2)
			want = left / 2;
		if (want > left - 3)
			want = left - 3;
		if (want >= 2)
			y = draw_counters(c, y, want);
	}
	if (c->hosts) {
		/* titles, rows, the link's line, the status line */
		rows = LINES - y - 3;
		c->table_rows = rows > 0 ? rows : 1;
		draw_hosts(c, y, rows);
		draw_status(c, LINES - 1);
		return 0;
	}
	/* Titles, at least one row, the status line. */
	rows = LINES - y - 2;
	if (rows < 1)
		rows = 1;
	if (view_layout(c->v, (size_t)rows))
		return -ENOMEM;
	c->title_y = y;
	draw_titles(c, y);
	c->table_y = y + 1;
	c->table_rows = rows;
	draw_rows(c, y + 1, rows);
	draw_status(c, LINES - 1);
	return 0;
}
