/*
 * draw.h - drawing one frame of the monitor with curses: header, protocol
 * totals, named counters, flow table, status line, help screen.
 *
 * Threads: the UI thread only (curses). Never takes a lock: everything
 * drawn comes from the view (a copy) and the strings in the context.
 */
#ifndef PKTSTAT_UI_DRAW_H
#define PKTSTAT_UI_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "../src/view.h"
#include "columns.h"
#include "cpanel.h"
#include "hosts.h"
#include "prompt.h"

/* Smallest usable terminal; below it a one-line notice is drawn. */
#define DRAW_MIN_COLS 40
#define DRAW_MIN_ROWS 8
/* From this many lines the header's details are shown without asking. */
#define DRAW_TALL_ROWS 30

struct draw_ctx {
	/* What to draw (set by the caller). */
	struct view *v;
	const char *source, *backend, *filter;
	int threads;
	int utf8;	    /* the locale's codeset is UTF-8: block graph */
	int color;	    /* colours in use (draw_init's answer) */
	int totals;	    /* the total bytes/packets columns are on (T) */
	const char *state;  /* "end of file", "eth0: interface removed", or
			      NULL: shown at the title's right */
	int details;	    /* the header's details are on (the key) */
	const char *rewind; /* "-0:42" while rewound, else NULL */
	int hist_trunc;	    /* the rewind history was cut by its cap */
	const struct cpanel *counters; /* named counters, or NULL */
	uint64_t now_mono;	       /* for the pause duration */
	uint64_t refresh_ns;
	const char *msg;	     /* status message, or NULL */
	int msg_err;		     /* shown as an error */
	const char *prompt_label;    /* a prompt is open: its label ... */
	const struct prompt *prompt; /* ... and editor; else NULL */
	const char *question;	     /* a y/n question, or NULL */
	const struct hosts *hosts;   /* the host view (V) instead of flows */
	size_t host_top;	     /* its first row shown (clamped here) */
	int help;		     /* the help screen is shown */
	int detail;		     /* the selected flow's details */
	size_t help_top;	     /* its first line */
	size_t help_page;	     /* lines it shows (set by draw_frame) */

	/* Where things went (set by draw_frame, for the mouse and keys). */
	int too_small;
	int counters_y;	   /* screen row of the counters' title, -1 if none */
	int counters_rows; /* counters shown */
	int title_y;	   /* screen row of the column titles, -1 if none */
	int table_y;	   /* screen row of the first flow row */
	int table_rows;	   /* flow rows that fit */
	int col_x[COL_COUNT], col_w[COL_COUNT]; /* w 0: not shown */
	size_t help_lines;			/* lines of the help text */
};

/*
 * draw_init - set up colours after initscr/newterm. @want: colours wanted
 * (no --no-color, no NO_COLOR). Returns whether colours are in use.
 */
int draw_init(int want);

/*
 * draw_frame - lay the view out for the rows available (view_layout) and
 * draw everything; the caller refreshes. Never writes past the screen,
 * whatever its size (down to 1x1). Returns 0 or -ENOMEM (view_layout).
 */
int draw_frame(struct draw_ctx *c);

#endif
