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
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "keys.h"

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

/* ---- header ---------------------------------------------------------- */

static void rate_text(const struct view *v, double bps, double pps, char *buf,
		      size_t len)
{
	view_format_rate(view_unit_rate(view_unit(v), bps, pps), 6, buf, len);
}

/*
 * Title: what is captured on the left, the state on the right (sort,
 * frozen, capture done, link down, PAUSED); the right side wins when
 * they do not both fit.
 */
static int draw_title(struct draw_ctx *c, int y)
{
	const struct view_totals *t = view_totals(c->v);
	enum view_sort key = view_sort(c->v, NULL);
	char left[LINE_MAX_BYTES], right[256], up[32], paused[64];
	uint64_t since;
	int rev, n, rx, px;

	view_format_duration(t->uptime_ns, up, sizeof(up));
	snprintf(left, sizeof(left), "pktstat  up %s  %s  %s x%d  filter: %s",
		 up, c->source ? c->source : "", c->backend ? c->backend : "",
		 c->threads, c->filter && *c->filter ? c->filter : "(none)");
	view_sort(c->v, &rev);
	n = snprintf(right, sizeof(right), "  %s%s%s%s",
		     view_frozen(c->v) ? "order frozen" : "sort: ",
		     view_frozen(c->v) ? "" : view_sort_name(key),
		     view_frozen(c->v)			? ""
		     : view_sort_descending(key) != rev ? " v"
							: " ^",
		     c->capture_done ? "  capture done" : "");
	if (t->link_down && n > 0 && (size_t)n < sizeof(right))
		snprintf(right + n, sizeof(right) - (size_t)n, "  LINK DOWN");
	paused[0] = 0;
	if (view_paused(c->v, &since)) {
		view_format_duration(c->now_mono > since ? c->now_mono - since
							 : 0,
				     up, sizeof(up));
		snprintf(paused, sizeof(paused), " PAUSED %s ", up);
	}
	px = COLS - (int)strlen(paused);
	rx = px - (int)strlen(right);
	if (rx < 0)
		rx = 0;
	if (px < 0)
		px = 0;
	move(y, 0);
	clrtoeol();
	if (rx > 0) {
		left[rx < (int)sizeof(left) ? rx : (int)sizeof(left) - 1] = 0;
		put(y, 0, left, A_BOLD);
	}
	if (px > rx) {
		right[px - rx < (int)sizeof(right) ? px - rx
						   : (int)sizeof(right) - 1] =
			0;
		put(y, rx, right, A_NORMAL);
	}
	if (paused[0])
		put(y, px, paused, attr(c, CP_PAUSE, A_REVERSE) | A_BOLD);
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
		snprintf(buf, len, "  max (peak)");
		return;
	}
	rate_text(c->v, m / 8.0, 0, num, sizeof(num));
	snprintf(buf, len, "  max %s", num);
}

static int draw_rates(struct draw_ctx *c, int y)
{
	const struct view_totals *t = view_totals(c->v);
	const struct view *v = c->v;
	char line[LINE_MAX_BYTES], a[16], b[16], d[16], p1[16], p2[16], p3[16];
	char mx[32];

	max_text(c, mx, sizeof(mx));
	rate_text(v, t->bps, t->pps, a, sizeof(a));
	rate_text(v, t->avg_bps, t->avg_pps, b, sizeof(b));
	rate_text(v, t->peak_bps, t->peak_pps, d, sizeof(d));
	view_format_rate(t->pps, 6, p1, sizeof(p1));
	view_format_rate(t->avg_pps, 6, p2, sizeof(p2));
	view_format_rate(t->peak_pps, 6, p3, sizeof(p3));
	if (view_unit(v) == VIEW_UNIT_PACKETS)
		snprintf(line, sizeof(line),
			 "total %s pkts/s  avg %s  peak %s   flows %zu", a, b,
			 d, t->flows);
	else
		snprintf(line, sizeof(line),
			 "total %s %s  avg %s  peak %s%s   %s pkts/s  avg %s  "
			 "peak %s   flows %zu",
			 a, view_unit_name(view_unit(v)), b, d, mx, p1, p2, p3,
			 t->flows);
	move(y, 0);
	clrtoeol();
	put(y, 0, line, A_NORMAL);
	return y + 1;
}

static int draw_health(struct draw_ctx *c, int y)
{
	const struct view_totals *t = view_totals(c->v);
	const struct cap_stats *s = &t->cap, *d = &t->cap_delta;
	char line[LINE_MAX_BYTES];
	int x, bad_now = d->kernel_drops || d->freezes || d->if_drops;

	snprintf(line, sizeof(line),
		 "drops: kernel %llu (+%llu)  freeze %llu (+%llu)  "
		 "if %llu (+%llu)  malformed %llu  ",
		 (unsigned long long)s->kernel_drops,
		 (unsigned long long)d->kernel_drops,
		 (unsigned long long)s->freezes, (unsigned long long)d->freezes,
		 (unsigned long long)s->if_drops,
		 (unsigned long long)d->if_drops,
		 (unsigned long long)t->malformed);
	move(y, 0);
	clrtoeol();
	x = put(y, 0, line, bad_now ? attr(c, CP_BAD, A_BOLD) : A_NORMAL);
	if (t->exact)
		put(y, x, "exact", A_NORMAL);
	else
		put(y, x, "LOSSY", attr(c, CP_BAD, A_REVERSE) | A_BOLD);
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
				if (r == 0)
					view_format_count(t->proto[p].pkts, 7,
							  num, sizeof(num));
				else if (r == 1)
					view_format_count(t->proto[p].bytes, 7,
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

/* ---- status line ----------------------------------------------------- */

static void draw_status(struct draw_ctx *c, int y)
{
	size_t n, i;
	const struct key_binding *k = keys_table(&n);
	char buf[LINE_MAX_BYTES];
	int x = 0;

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
	for (i = 0; i < n && x < COLS; i++) {
		if (!k[i].bar)
			continue;
		x = put(y, x, k[i].name, attr(c, CP_BAR, A_REVERSE));
		x = put(y, x, " ", A_NORMAL);
		x = put(y, x, k[i].bar, A_NORMAL);
		x = put(y, x, "  ", A_NORMAL);
	}
	if (*view_filter(c->v)) {
		snprintf(buf, sizeof(buf), " find: %s ", view_filter(c->v));
		if (x + (int)strlen(buf) <= COLS)
			put(y, COLS - (int)strlen(buf), buf, A_REVERSE);
	}
}

/* ---- help ------------------------------------------------------------ */

static void draw_help(struct draw_ctx *c)
{
	char line[LINE_MAX_BYTES];
	size_t i, lines = 0;
	int y = 2, avail = LINES - 4;

	while (keys_help_line(lines, 14, line, sizeof(line)) >= 0)
		lines++;
	c->help_lines = lines;
	if (avail < 1)
		avail = 1;
	if (c->help_top + (size_t)avail > lines)
		c->help_top = lines > (size_t)avail ? lines - (size_t)avail : 0;
	erase();
	put(0, 0, "pktstat keys (column titles show their sort key)", A_BOLD);
	for (i = c->help_top; i < lines && y < LINES - 2; i++, y++) {
		keys_help_line(i, 14, line, sizeof(line));
		put(y, 2, line, A_NORMAL);
	}
	snprintf(line, sizeof(line),
		 "last frame %.2f ms (update %.2f, layout %.2f); "
		 "refresh %.3g s; any other key closes",
		 (double)view_frame_cost_ns(c->v) / 1e6,
		 (double)view_cost_update_ns(c->v) / 1e6,
		 (double)view_cost_layout_ns(c->v) / 1e6,
		 (double)c->refresh_ns / 1e9);
	put(LINES - 1, 0, line, A_DIM);
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
		erase();
		put(0, 0, "terminal too small (need at least 40x8)", A_NORMAL);
		return 0;
	}
	if (c->help) {
		draw_help(c);
		return 0;
	}
	/* Before the header, which names the "%" column's maximum. */
	columns_layout(c->v, COLS, c->totals, c->col_w);
	y = draw_title(c, y);
	if (LINES >= 10)
		y = draw_rates(c, y);
	if (LINES >= 12)
		y = draw_health(c, y);
	if (LINES >= 14)
		y = draw_graph(c, y);
	if (LINES >= 20)
		y = draw_protos(c, y);
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
