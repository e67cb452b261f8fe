/*
 * columns.h - the flow table's columns as one const table: title, width
 * range, alignment, sort key, priority and formatter (OpenBSD systat's
 * habit). Pure: no curses, any thread.
 */
#ifndef PKTSTAT_UI_COLUMNS_H
#define PKTSTAT_UI_COLUMNS_H

#include <stddef.h>

#include "../src/view.h"

enum col_id {
	COL_PROTO,
	COL_A,
	COL_B,
	COL_AB,
	COL_BA,
	COL_RATE,
	COL_PCT,
	COL_AVG2,
	COL_AVG10,
	COL_AVG40,
	COL_PPS,
	COL_BYTES,
	COL_PKTS,
	COL_LAST,
	COL_PROC,
	COL_APP,
	COL_IFACE,
	COL_COUNT
};

enum col_align { COL_LEFT, COL_RIGHT };

#define COL_F_CONV 0x1	  /* hidden with one row per direction */
#define COL_F_TOTALS 0x2  /* hidden when the totals columns are off (T) */
#define COL_F_BITS 0x4	  /* hidden when rates are in packets */
#define COL_F_PROCS 0x8	  /* hidden when the run names no process (files) */
#define COL_F_IFACES 0x10 /* shown only with several interfaces (-i) */

/*
 * A formatter writes the cell's text for @r in at most @width columns
 * (plain ASCII) and returns its length. A number that does not fit is
 * '*' fill; an endpoint that does not fit loses its left end, marked '<'.
 */
typedef int (*col_fmt_fn)(const struct view *v, const struct view_row *r,
			  int width, char *buf, size_t len);

struct column {
	const char *title;     /* conversation rows */
	const char *title_dir; /* one row per direction; NULL: title */
	int min, max;	       /* width range */
	enum col_align align;
	int sort;	    /* enum view_sort, or -1 */
	int prio;	    /* 1 = dropped last when the terminal is narrow */
	int prio_max;	    /* prio with a fixed maximum (-m); 0: prio */
	unsigned int flags; /* COL_F_* */
	col_fmt_fn fmt;
};

/* Column @id of the table, or NULL. */
const struct column *columns_get(int id);

/* The totals columns (Bytes, Pkts): off, shown when there is room (the
 * default), or asked for with T (placed before the averages). */
#define COLUMNS_TOTALS_OFF 0
#define COLUMNS_TOTALS_AUTO 1
#define COLUMNS_TOTALS_ON 2

/*
 * columns_layout - widths of the columns for a terminal @width wide (one
 * space between columns), given the view's mode (direction rows, unit,
 * fixed maximum, sort key) and @totals (COLUMNS_TOTALS_*). The sort
 * column is dropped last: a sort key always shows its column.
 * @widths[id] gets 0 for a column not shown. Returns the number shown.
 */
size_t columns_layout(const struct view *v, int width, int totals,
		      int widths[COL_COUNT]);

/*
 * columns_cell - the cell of column @id for row @r, aligned and padded to
 * exactly @width characters (@len > @width). Returns @width.
 */
int columns_cell(int id, const struct view *v, const struct view_row *r,
		 int width, char *buf, size_t len);

/*
 * columns_title - the header cell of column @id, aligned and padded to
 * exactly @width characters. When @hotkey (its sort key, 0 for none)
 * appears in the title (case-insensitively) *@hot gets its index in @buf;
 * otherwise "[k]" is appended when it fits and *@hot points at k; else -1.
 * Returns @width.
 */
int columns_title(int id, const struct view *v, int hotkey, int width,
		  char *buf, size_t len, int *hot);

/* Column whose sort key is @sort, or -1. */
int columns_by_sort(int sort);

/*
 * view_fit_columns - choose which of @n columns fit in @width with @gap
 * spaces between shown ones. A column with prio < 0 is hidden. While the
 * minimum widths do not fit, the column with the largest prio (rightmost on
 * a tie) is dropped; the width left over then widens columns towards their
 * max, most important (smallest prio) first. @out[i] gets the width or 0.
 * Returns the number of columns shown.
 */
struct view_col_spec {
	int min, max;
	int prio; /* 1 = most important; < 0 = hidden */
};
size_t view_fit_columns(const struct view_col_spec *c, size_t n, int width,
			int gap, int *out);

#endif
