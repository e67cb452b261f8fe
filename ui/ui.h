/*
 * ui.h - the full-screen monitor: curses life cycle and event loop.
 *
 * Threads: runs on the main thread after the capture workers started;
 * the only thread that calls curses. It sees the run only through its
 * engine port (src/engine.h): a snapshot is a copy, taken under the RCU
 * read lock inside the engine, and nothing is held while drawing.
 */
#ifndef PKTSTAT_UI_UI_H
#define PKTSTAT_UI_UI_H

#include <stddef.h>
#include <stdint.h>

struct engine_port;
struct filterlog;
struct names;
struct opts;
struct view;

/* How the monitor starts. Borrowed for the monitor's lifetime. */
struct ui_conf {
	const struct opts *o; /* refresh, rate unit, direction, -m, sort,
				 colours */
	struct names *names;  /* the asynchronous resolver, or NULL */
	int numeric;	      /* numeric addresses at start */
	int *group_by;	      /* NULL, or kept up to date with the table's
				 grouping (g, enum group_by): the run's
				 snapshots record it */
	/* the run's filter history: display filters are noted there as
	 * they are set (filterlog.h), or NULL */
	struct filterlog *filters;
};

/*
 * ui_run - run the monitor until the user quits (q), a terminating signal
 * arrives, or a fatal error happens. The caller has blocked SIGINT,
 * SIGTERM, SIGHUP, SIGUSR1 and SIGWINCH in every thread: they are read
 * here through a signalfd (SIGWINCH resizes, SIGUSR1 writes a snapshot).
 * The terminal is restored (endwin) before returning, on every path.
 * Returns 0 on quit, 128 + signo for SIGINT/SIGTERM/SIGHUP, or -errno with
 * one line in @err.
 */
int ui_run(struct engine_port *eng, const struct ui_conf *conf, char *err,
	   size_t errlen);

/*
 * The monitor without its terminal and event loop, for benchmarks and
 * tests: ui_new on the caller's current curses screen (set up by the
 * caller, draw_init done: @utf8 and @color say what it can show), then
 * ui_frame for each refresh, exactly as the event loop's timer does.
 */
struct ui;

/* The CPU time (CLOCK_THREAD_CPUTIME_ID) of each phase of a frame. */
struct ui_frame_cost {
	uint64_t expire_ns, copy_ns, update_ns, layout_ns, draw_ns;
	int table_rows; /* rows of the flow table on screen */
};

/* NULL when out of memory. */
struct ui *ui_new(struct engine_port *eng, const struct ui_conf *conf, int utf8,
		  int color);

/* One refresh: expire, snapshot, update, layout, draw. @cost may be NULL.
 * Returns 0 or -errno (the frame is drawn with a message anyway). */
int ui_frame(struct ui *ui, struct ui_frame_cost *cost);

/* The monitor's view model (view.h), for the keys' effects. */
struct view *ui_view(struct ui *ui);

/* NULL is a no-op. */
void ui_free(struct ui *ui);

#endif
