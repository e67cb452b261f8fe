/*
 * columns.c - the flow table's column table, its cell formatting and the
 * fitting of columns to the terminal's width.
 *
 * Owns only const data. Pure functions over a view: no curses, any thread
 * that owns the view. Cells are plain ASCII, so a byte is a screen column.
 */
#include <stdio.h>
#include <string.h>

#include "../src/group.h"
#include "columns.h"
#include "view_format.h"

#define COL_TOTALS_PRIO 3 /* totals asked for (T): before the averages */

static int fmt_proto(const struct view *v, const struct view_row *r, int width,
		     char *buf, size_t len)
{
	(void)v;
	return snprintf(buf, len, "%.*s", width, view_row_proto(r));
}

/*
 * An endpoint too wide for its column: a name loses its right end (the
 * domain; the host's label stays, 16.11), marked '>', the port kept; an
 * address keeps its right end (the port and the low bytes), marked '<'.
 */
static int fmt_endpoint(const struct view *v, const struct view_row *r,
			int side, int width, char *buf, size_t len)
{
	char host[256], port[32], note[32], tail[80], tmp[400];
	int n, named, tl;

	named = view_row_endpoint_parts(v, r, side, host, sizeof(host), port,
					sizeof(port), note, sizeof(note));
	tl = snprintf(tail, sizeof(tail), "%s%s%s%s", port[0] ? ":" : "", port,
		      note[0] ? " " : "", note);
	n = snprintf(tmp, sizeof(tmp), "%s%s", host, tail);
	if (n < 0)
		n = 0;
	if (n >= (int)sizeof(tmp))
		n = (int)sizeof(tmp) - 1;
	if (width <= 0)
		return snprintf(buf, len, "%s", "");
	if (n <= width)
		return snprintf(buf, len, "%s", tmp);
	if (named && width - tl >= 2)
		return snprintf(buf, len, "%.*s>%s", width - tl - 1, host,
				tail);
	return snprintf(buf, len, "<%s", tmp + n - width + 1);
}

static int fmt_a(const struct view *v, const struct view_row *r, int width,
		 char *buf, size_t len)
{
	return fmt_endpoint(v, r, 0, width, buf, len);
}

static int fmt_b(const struct view *v, const struct view_row *r, int width,
		 char *buf, size_t len)
{
	return fmt_endpoint(v, r, 1, width, buf, len);
}

static int fmt_ab(const struct view *v, const struct view_row *r, int width,
		  char *buf, size_t len)
{
	return view_format_rate(view_row_rate(v, r, VIEW_RATE_AB), width, buf,
				len);
}

static int fmt_ba(const struct view *v, const struct view_row *r, int width,
		  char *buf, size_t len)
{
	return view_format_rate(view_row_rate(v, r, VIEW_RATE_BA), width, buf,
				len);
}

static int fmt_rate(const struct view *v, const struct view_row *r, int width,
		    char *buf, size_t len)
{
	return view_format_rate(view_row_rate(v, r, VIEW_RATE_TOTAL), width,
				buf, len);
}

static int fmt_pct(const struct view *v, const struct view_row *r, int width,
		   char *buf, size_t len)
{
	return view_format_percent(view_row_percent(v, r), width, buf, len);
}

static int fmt_avg2(const struct view *v, const struct view_row *r, int width,
		    char *buf, size_t len)
{
	return view_format_rate(view_row_avg(v, r, 0), width, buf, len);
}

static int fmt_avg10(const struct view *v, const struct view_row *r, int width,
		     char *buf, size_t len)
{
	return view_format_rate(view_row_avg(v, r, 1), width, buf, len);
}

static int fmt_avg40(const struct view *v, const struct view_row *r, int width,
		     char *buf, size_t len)
{
	return view_format_rate(view_row_avg(v, r, 2), width, buf, len);
}

static int fmt_pps(const struct view *v, const struct view_row *r, int width,
		   char *buf, size_t len)
{
	(void)v;
	return view_format_rate(view_row_pps(r), width, buf, len);
}

static int fmt_bytes(const struct view *v, const struct view_row *r, int width,
		     char *buf, size_t len)
{
	(void)v;
	return view_format_count(view_row_bytes(v, r), width, buf, len);
}

static int fmt_pkts(const struct view *v, const struct view_row *r, int width,
		    char *buf, size_t len)
{
	(void)v;
	return view_format_count(view_row_pkts(v, r), width, buf, len);
}

static int fmt_last(const struct view *v, const struct view_row *r, int width,
		    char *buf, size_t len)
{
	return view_format_age(view_row_age(v, r), width, buf, len);
}

/* The process as procs_label names it, "-" while unknown. */
static int fmt_proc(const struct view *v, const struct view_row *r, int width,
		    char *buf, size_t len)
{
	const char *p = view_row_proc(v, r);

	return snprintf(buf, len, "%.*s", width, p[0] ? p : "-");
}

/* The -i interface the flow was captured on (several only). */
static int fmt_iface(const struct view *v, const struct view_row *r, int width,
		     char *buf, size_t len)
{
	const char *i = view_row_iface(v, r);

	return snprintf(buf, len, "%.*s", width, i ? i : "-");
}

/* The app label, "http?" for a port's guess, "-" for none. */
static int fmt_app(const struct view *v, const struct view_row *r, int width,
		   char *buf, size_t len)
{
	int guess;
	const char *a = view_row_app(r, &guess);

	(void)v;
	if (!a[0])
		return snprintf(buf, len, "%.*s", width, "-");
	return snprintf(buf, len, "%.*s%s", width - guess, a, guess ? "?" : "");
}

/*
 * Endpoints are wide enough for "192.168.100.20:54321"; at 80 columns the
 * table shows protocol, endpoints, both directions, rate, 10 s average and
 * last seen; at 40, protocol, endpoint A and rate. Rates are in the unit
 * the header names.
 *
 * "%" is the original pktstat's: the rate as a share of the link's
 * maximum. With -m (a fixed maximum, what the user asked for) it takes the
 * 10 s average's place at 80 columns; against the peak seen it shows from
 * about 85. It has no sort key: its order is the rate's. Not shown for
 * packet rates (the maximum is a bit rate), as in the original.
 */
static const struct column table[COL_COUNT] = {
	[COL_PROTO] = { "Proto", NULL, 6, 6, COL_LEFT, VIEW_SORT_PROTO, 1, 0, 0,
			fmt_proto },
	[COL_A] = { "Endpoint A", "Source", 19, 47, COL_LEFT, VIEW_SORT_A, 1, 0,
		    0, fmt_a },
	[COL_B] = { "Endpoint B", "Destination", 19, 47, COL_LEFT, VIEW_SORT_B,
		    2, 0, 0, fmt_b },
	[COL_AB] = { "A>B", NULL, 6, 7, COL_RIGHT, VIEW_SORT_RATE_AB, 2, 0,
		     COL_F_CONV, fmt_ab },
	[COL_BA] = { "B>A", NULL, 6, 7, COL_RIGHT, VIEW_SORT_RATE_BA, 2, 0,
		     COL_F_CONV, fmt_ba },
	[COL_RATE] = { "Rate", NULL, 6, 7, COL_RIGHT, VIEW_SORT_RATE, 1, 0, 0,
		       fmt_rate },
	[COL_PCT] = { "%", NULL, 4, 5, COL_RIGHT, -1, 5, 3, COL_F_BITS,
		      fmt_pct },
	[COL_AVG2] = { "2s", NULL, 6, 7, COL_RIGHT, VIEW_SORT_AVG2, 5, 0, 0,
		       fmt_avg2 },
	[COL_AVG10] = { "10s", NULL, 6, 7, COL_RIGHT, VIEW_SORT_AVG10, 4, 0, 0,
			fmt_avg10 },
	[COL_AVG40] = { "40s", NULL, 6, 7, COL_RIGHT, VIEW_SORT_AVG40, 5, 0, 0,
			fmt_avg40 },
	[COL_PPS] = { "Pkt/s", NULL, 6, 7, COL_RIGHT, VIEW_SORT_PPS, 6, 0, 0,
		      fmt_pps },
	[COL_BYTES] = { "Bytes", NULL, 6, 12, COL_RIGHT, VIEW_SORT_BYTES, 7, 0,
			COL_F_TOTALS, fmt_bytes },
	[COL_PKTS] = { "Pkts", NULL, 6, 10, COL_RIGHT, VIEW_SORT_PKTS, 8, 0,
		       COL_F_TOTALS, fmt_pkts },
	[COL_LAST] = { "Last", NULL, 5, 5, COL_RIGHT, VIEW_SORT_LAST, 3, 0, 0,
		       fmt_last },
	/* last: dropped before the columns of their priority */
	[COL_PROC] = { "Process", NULL, 18, 24, COL_LEFT, VIEW_SORT_PROC, 5, 0,
		       COL_F_PROCS, fmt_proc },
	[COL_APP] = { "App", NULL, 5, 11, COL_LEFT, VIEW_SORT_APP, 6, 0, 0,
		      fmt_app },
	[COL_IFACE] = { "Iface", NULL, 5, 15, COL_LEFT, -1, 2, 0, COL_F_IFACES,
			fmt_iface },
};

const struct column *columns_get(int id)
{
	return id >= 0 && id < COL_COUNT ? &table[id] : NULL;
}

int columns_by_sort(int sort)
{
	int i;

	for (i = 0; i < COL_COUNT; i++) {
		if (table[i].sort == sort)
			return i;
	}
	return -1;
}

size_t view_fit_columns(const struct view_col_spec *c, size_t n, int width,
			int gap, int *out)
{
	size_t i, shown = 0;
	long used = 0;
	int prio, maxprio = 0;

	for (i = 0; i < n; i++) {
		out[i] = c[i].prio >= 0 && c[i].min > 0 ? c[i].min : 0;
		if (out[i] && c[i].prio > maxprio)
			maxprio = c[i].prio;
		if (out[i]) {
			used += out[i] + (shown ? gap : 0);
			shown++;
		}
	}
	while (shown && used > width) {
		size_t drop = n;

		for (i = 0; i < n; i++) {
			if (out[i] && (drop == n || c[i].prio >= c[drop].prio))
				drop = i;
		}
		used -= out[drop] + (shown > 1 ? gap : 0);
		out[drop] = 0;
		shown--;
	}
	/* Widen, most important first (leftmost on a tie). */
	for (prio = 0; prio <= maxprio && used < width; prio++) {
		for (i = 0; i < n && used < width; i++) {
			long add;

			if (!out[i] || c[i].prio != prio || out[i] >= c[i].max)
				continue;
			add = c[i].max - out[i];
			if (add > width - used)
				add = width - used;
			out[i] += (int)add;
			used += add;
		}
	}
	return shown;
}

/* The first column's title for a grouping (g). */
static const char *group_title(int by)
{
	switch (by) {
	case GROUP_HOST:
		return "Host";
	case GROUP_NET:
		return "Network";
	case GROUP_PORT:
		return "Service";
	case GROUP_PROTO:
		return "Protocol";
	case GROUP_VLAN:
		return "VLAN";
	case GROUP_IFACE:
		return "Interface";
	case GROUP_PROC:
		return "Process";
	case GROUP_APP:
		return "App";
	default:
		return group_name((enum group_by)by);
	}
}

size_t columns_layout(const struct view *v, int width, int totals,
		      int widths[COL_COUNT])
{
	struct view_col_spec spec[COL_COUNT];
	int grouped = view_group(v) != GROUP_FLOW;
	int i, fixed, per_dir = view_per_direction(v) && !grouped;
	int pkts = view_unit(v) == VIEW_UNIT_PACKETS;

	view_max_bps(v, &fixed);
	for (i = 0; i < COL_COUNT; i++) {
		const struct column *c = &table[i];
		int hidden = ((c->flags & COL_F_CONV) && per_dir) ||
			     ((c->flags & COL_F_TOTALS) && !totals) ||
			     ((c->flags & COL_F_BITS) && pkts) ||
			     ((c->flags & COL_F_PROCS) && !view_has_procs(v)) ||
			     ((c->flags & COL_F_IFACES) && !view_has_ifaces(v));

		spec[i].min = c->min;
		spec[i].max = c->max;
		spec[i].prio = fixed && c->prio_max ? c->prio_max : c->prio;
		/* Asked for with T: before the averages. */
		if ((c->flags & COL_F_TOTALS) && totals == COLUMNS_TOTALS_ON)
			spec[i].prio = COL_TOTALS_PRIO;
		/* A sort key must visibly act: its column stays. */
		if (c->sort >= 0 && c->sort == (int)view_sort(v, NULL) &&
		    !view_frozen(v))
			spec[i].prio = 0;
		/* Groups: the label says the protocol where it matters; a
		 * group has no one process or app (g groups by them) */
		if (hidden || (grouped && (i == COL_PROTO || i == COL_PROC ||
					   i == COL_APP)))
			spec[i].prio = -1;
	}
	return view_fit_columns(spec, COL_COUNT, width, 1, widths);
}

/* Pad @text (@n chars) to @width in @buf, aligned. */
static int pad(const char *text, int n, int width, enum col_align align,
	       char *buf, size_t len)
{
	int lead;

	if (width < 0)
		width = 0;
	if ((size_t)width >= len)
		width = len ? (int)len - 1 : 0;
	if (n > width)
		n = width;
	lead = align == COL_RIGHT ? width - n : 0;
	memset(buf, ' ', (size_t)width);
	memcpy(buf + lead, text, (size_t)n);
	buf[width] = 0;
	return width;
}

int columns_cell(int id, const struct view *v, const struct view_row *r,
		 int width, char *buf, size_t len)
{
	char tmp[160];
	int n;

	if (id < 0 || id >= COL_COUNT || width <= 0) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	if (width >= (int)sizeof(tmp))
		width = (int)sizeof(tmp) - 1;
	n = table[id].fmt(v, r, width, tmp, sizeof(tmp));
	if (n < 0)
		n = 0;
	if (n > width) {
		/* A formatter that overflows still never spills. */
		memset(tmp, '*', (size_t)width);
		n = width;
	}
	return pad(tmp, n, width, table[id].align, buf, len);
}

int columns_title(int id, const struct view *v, int hotkey, int width,
		  char *buf, size_t len, int *hot)
{
	char tmp[64];
	const char *t, *p = NULL;
	int n, h = -1, lead;

	*hot = -1;
	if (id < 0 || id >= COL_COUNT || width <= 0) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	t = table[id].title;
	if (view_per_direction(v) && table[id].title_dir &&
	    view_group(v) == GROUP_FLOW)
		t = table[id].title_dir;
	if (view_group(v) != GROUP_FLOW) {
		/* a group's row: what it is, its flows, sent, received */
		if (id == COL_A)
			t = group_title(view_group(v));
		else if (id == COL_B)
			t = "Flows";
		else if (id == COL_AB)
			t = "Sent";
		else if (id == COL_BA)
			t = "Rcvd";
	}
	/* The rate column's title names the unit of every rate column. */
	if (id == COL_RATE)
		t = view_unit(v) == VIEW_UNIT_BITS    ? "bits/s"
		    : view_unit(v) == VIEW_UNIT_BYTES ? "Byte/s"
						      : "pkts/s";
	n = snprintf(tmp, sizeof(tmp), "%s", t);
	if (hotkey > 0 && hotkey < 128) {
		char lc = (char)(hotkey | 0x20);

		for (p = tmp; *p; p++) {
			if (((*p | 0x20) == lc) &&
			    ((*p >= 'a' && *p <= 'z') ||
			     (*p >= 'A' && *p <= 'Z') || *p == hotkey))
				break;
		}
		if (*p) {
			h = (int)(p - tmp);
		} else if (n + 3 <= width) {
			n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "[%c]",
				      hotkey);
			h = n - 2;
		}
	}
	if (n > width)
		n = width;
	if (h >= n)
		h = -1;
	lead = table[id].align == COL_RIGHT && width > n ? width - n : 0;
	pad(tmp, n, width, table[id].align, buf, len);
	if (h >= 0)
		*hot = h + lead;
	return width;
}
