/*
 * ui.c - the monitor's life cycle and event loop: curses set-up and
 * teardown, poll() on the terminal, a signalfd and a timerfd, key and
 * mouse dispatch (from the key table), the prompts (filter, find,
 * interval, counter commands).
 *
 * Threads: the main thread, once the capture workers run. The only thread
 * that calls curses. It reaches the capture side only through its engine
 * port (src/engine.h): a snapshot is a copy taken under the RCU read lock
 * inside the engine, so nothing is held while sorting or drawing and a
 * slow terminal never stalls capture. Signals arrive as data (signalfd),
 * never as handlers, so every exit path can restore the terminal.
 */
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../src/engine.h"
#include "../src/group.h"
#include "../src/history.h"
#include "../src/filterlog.h"
#include "../src/opts.h"
#include "../src/selfflow.h"
#include "../src/view.h"
#include "cpanel.h"
#include "hosts.h"

/* How much lower than the capture the UI thread runs. */
#define UI_NICE 5
#include "draw.h"
#include "keys.h"
#include "prompt.h"
#include "ui.h"
#include "view_format.h"

#include "../src/names.h"

#define NS 1000000000ull
#define MSG_NS (5 * NS)		      /* a status message stays this long */
#define MIN_REFRESH_NS (NS / 10)      /* -w below this is raised */
#define MAX_REFRESH_NS (3600ull * NS) /* and above this lowered */
#define WHEEL_ROWS 3
#define KEY_IGNORED (KEY_MAX + 1) /* an escape sequence swallowed */
#define ESC_DELAY_MS 150	  /* the rest of a sequence, over SSH */
#define UI_MAX_ROWS 500		  /* the area drawn at most */
#define UI_MAX_COLS 1000

enum ui_mode {
	M_NORMAL,
	M_HELP,
	M_DETAIL,
	M_FILTER,
	M_FIND,
	M_INTERVAL,
	M_COUNTER,
	M_RESET
};

/* The counter prompt's label: the verbs when there is room for them. */
#define COUNTER_LABEL_LONG "counter (new|modify|stop|list|show): "
#define COUNTER_LABEL_SHORT "counter: "
#define COUNTER_LABEL_COLS 90

struct ui {
	struct engine_port *eng;
	struct ui_conf conf;
	struct view *v;
	/* rewind: the history recorded at each refresh (NULL: off), and
	 * while rewound the table of second rw_sec in a view of its own */
	struct history *hist;
	struct view *rv;
	int64_t rw_sec;
	struct snapshot rsnap;
	char rw_label[64];
	struct cpanel *cp;   /* the named counters shown */
	struct hosts *hosts; /* the host view's table */
	int host_view;	     /* V: hosts instead of flows */
	struct snapshot snap;
	SCREEN *scr;
	int sfd, tfd;
	uint64_t refresh_ns;
	enum ui_mode mode;
	struct prompt prompt;
	struct prompt_hist hist_filter, hist_find, hist_interval, hist_counter;
	char msg[512];
	int msg_err;
	uint64_t msg_until;
	int totals;
	int details;		  /* the header's details (i) */
	enum view_unit rate_unit; /* bits or bytes: where `p` returns to */
	int utf8, color;
	struct draw_ctx dc;
	int quit, rc;
	int away; /* continued in the background: the terminal is not ours */
	char gone_if[64]; /* the interface last said to be removed */
	uint64_t rebinds; /* capture resumed on a removed one: times seen */
	struct sigaction old_usr1, old_tstp;
	int usr1_set, tstp_set;
	sigset_t old_mask;
	int mask_set;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* The table shown: the rewound one, else the live one. */
static struct view *cur(const struct ui *ui)
{
	return ui->rv ? ui->rv : ui->v;
}

static void __attribute__((format(printf, 3, 4)))
set_msg(struct ui *ui, int is_err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ui->msg, sizeof(ui->msg), fmt, ap);
	va_end(ap);
	ui->msg_err = is_err;
	ui->msg_until = mono_ns() + MSG_NS;
}

static int set_timer(struct ui *ui)
{
	struct itimerspec its;

	/* A refresh forced in between (a counter command, a finished
	 * worker) shows counts but keeps the rates of a whole interval. */
	if (ui->v)
		view_set_min_interval(ui->v, ui->refresh_ns / 2);

	its.it_interval.tv_sec = (time_t)(ui->refresh_ns / NS);
	its.it_interval.tv_nsec = (long)(ui->refresh_ns % NS);
	its.it_value = its.it_interval;
	return timerfd_settime(ui->tfd, 0, &its, NULL) ? -errno : 0;
}

/* ---- drawing --------------------------------------------------------- */

static void redraw(struct ui *ui)
{
	struct draw_ctx *c = &ui->dc;
	struct engine_info info;
	uint64_t now = mono_ns();

	if (ui->away)
		return;
	memset(&info, 0, sizeof(info));
	ui->eng->ops->info(ui->eng, &info);
	c->v = cur(ui);
	c->rewind = ui->rv ? ui->rw_label : NULL;
	c->hist_trunc = ui->rv && history_truncated(ui->hist);
	c->source = info.source;
	c->backend = info.backend;
	c->filter = info.filter;
	c->threads = info.threads;
	c->utf8 = ui->utf8;
	c->color = ui->color;
	c->totals = ui->totals;
	/* The reason capture stopped, or the interface that is removed
	 * (capture waits for it), on screen at once (16.8). */
	c->state = info.capture_error;
	if (info.capture_error) {
		const char *e =
			strstr(info.capture_error, ": interface removed");

		if (e)
			snprintf(ui->gone_if, sizeof(ui->gone_if), "%.*s",
				 (int)(e - info.capture_error),
				 info.capture_error);
	}
	if (!c->state && info.capture_done)
		c->state = ui->conf.o->read_file ? "end of file"
						 : "capture stopped";
	c->details = ui->details;
	c->counters = ui->cp;
	c->now_mono = now;
	c->refresh_ns = ui->refresh_ns;
	c->msg = ui->msg[0] && now < ui->msg_until ? ui->msg : NULL;
	c->msg_err = ui->msg_err;
	c->hosts = ui->host_view ? ui->hosts : NULL;
	c->help = ui->mode == M_HELP;
	c->detail = ui->mode == M_DETAIL;
	c->prompt = NULL;
	c->prompt_label = NULL;
	c->question = NULL;
	switch (ui->mode) {
	case M_FILTER:
		c->prompt_label = "capture filter: ";
		c->prompt = &ui->prompt;
		break;
	case M_FIND:
		c->prompt_label = "find: ";
		c->prompt = &ui->prompt;
		break;
	case M_INTERVAL:
		c->prompt_label = "refresh interval (s): ";
		c->prompt = &ui->prompt;
		break;
	case M_COUNTER:
		c->prompt_label = COLS >= COUNTER_LABEL_COLS
					  ? COUNTER_LABEL_LONG
					  : COUNTER_LABEL_SHORT;
		c->prompt = &ui->prompt;
		break;
	case M_RESET:
		c->question = "Reset all counters to zero? (y/n)";
		break;
	case M_NORMAL:
	case M_HELP:
	case M_DETAIL:
		break;
	}
	if (draw_frame(c))
		set_msg(ui, 1, "out of memory");
	refresh();
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* ---- rewind ---------------------------------------------------------- */

/* The history's clock: packet time for a file (its own seconds, however
 * fast it is read), else CLOCK_MONOTONIC, as the view's rates. */
static uint64_t hist_clock(const struct ui *ui)
{
	return ui->conf.o->read_file ? ui->snap.now_ns : ui->snap.mono_ns;
}

/* "-0:42", "-1:02:03": how far second @sec is behind the newest. */
static void rewind_label(struct ui *ui)
{
	int64_t d = history_newest(ui->hist) - ui->rw_sec;

	if (d < 0)
		d = 0;
	if (d >= 3600)
		snprintf(ui->rw_label, sizeof(ui->rw_label),
			 "-%lld:%02lld:%02lld", (long long)(d / 3600),
			 (long long)(d / 60 % 60), (long long)(d % 60));
	else
		snprintf(ui->rw_label, sizeof(ui->rw_label), "-%lld:%02lld",
			 (long long)(d / 60), (long long)(d % 60));
}

/*
 * The table of second @sec (held) in a new view with the shown one's
 * settings: fed the seconds back[] before it (those held) and then @sec
 * itself, so that rates are over that second's refresh and the 2/10/40 s
 * averages (exponential, view_rate.c) are built from the seconds before
 * it, close to what the live screen showed then: each second over the
 * last five, wider steps further back as a second's weight falls (e^-t/2
 * in the 2 s column, e^-t/40 in the 40 s one). Grouped, the groups are
 * made once, of the second itself. Counts are since the start. 0 or
 * -errno (the shown table stays).
 */
static int rewind_build(struct ui *ui, int64_t sec)
{
	static const int64_t back[] = { 120, 80, 60, 45, 30, 20, 14, 10,
					7,   5,	 4,  3,	 2,  1,	 0 };
	struct view *nv = view_new();
	int64_t fed = HISTORY_NONE, at;
	size_t i;
	int rc = 0, grouped;

	if (!nv)
		return -ENOMEM;
	view_copy_settings(nv, cur(ui));
	view_set_since_start(nv, 1);
	grouped = view_group(nv);
	if (grouped)
		view_set_group(nv, 0, 0, 0);
	for (i = 0; i < sizeof(back) / sizeof(back[0]) && !rc; i++) {
		at = history_floor(ui->hist, sec - back[i]);
		if (at == HISTORY_NONE)
			at = history_oldest(ui->hist);
		if (at == HISTORY_NONE || at > sec ||
		    (fed != HISTORY_NONE && at <= fed))
			continue;
		rc = history_snapshot(ui->hist, at, &ui->rsnap);
		if (rc == 0)
			rc = view_update(nv, &ui->rsnap);
		fed = at;
	}
	if (!rc && grouped)
		rc = view_copy_settings(nv, cur(ui));
	if (rc || fed == HISTORY_NONE) {
		view_free(nv);
		return rc ? rc : -ENOENT;
	}
	view_free(ui->rv);
	ui->rv = nv;
	ui->rw_sec = sec;
	rewind_label(ui);
	return 0;
}

/* Back to now: the live table, with what was changed while rewound
 * (sort, grouping, find, units). */
static void rewind_stop(struct ui *ui)
{
	if (!ui->rv)
		return;
	view_copy_settings(ui->v, ui->rv);
	view_free(ui->rv);
	ui->rv = NULL;
}

/* After a refresh: the label moves on; a second that aged out of the
 * history is replaced by the oldest held. */
static void rewind_follow(struct ui *ui)
{
	int64_t oldest;

	if (!ui->rv)
		return;
	oldest = history_oldest(ui->hist);
	if (oldest != HISTORY_NONE && ui->rw_sec < oldest &&
	    rewind_build(ui, oldest) == 0)
		set_msg(ui, 1,
			"that second left the history: the oldest "
			"held is shown");
	rewind_label(ui);
}

/* [ ] { }: move @delta seconds in the history. */
static void rewind_move(struct ui *ui, int delta)
{
	int64_t newest, oldest, from, to, at;
	char win[32];

	if (!ui->hist) {
		set_msg(ui, 1, "rewind is off (--history 0)");
		return;
	}
	newest = history_newest(ui->hist);
	oldest = history_oldest(ui->hist);
	if (newest == HISTORY_NONE || newest == oldest) {
		if (delta > 0 || !ui->rv)
			set_msg(ui, 1, "%s",
				history_truncated(ui->hist)
					? "nothing to rewind: the flows need "
					  "more than --history-max"
					: "nothing to rewind yet");
		return;
	}
	from = ui->rv ? ui->rw_sec : newest;
	to = from + delta;
	if (to >= newest) {
		if (ui->rv)
			set_msg(ui, 0, "back to now");
		else
			set_msg(ui, 0, "this is now: [ and { rewind");
		rewind_stop(ui);
		return;
	}
	if (to < oldest) {
		to = oldest;
		view_format_duration((uint64_t)(newest - oldest) *
					     1000000000ull,
				     win, sizeof(win));
		set_msg(ui, 1, "the oldest second held (%s of history%s)", win,
			history_truncated(ui->hist)
				? ", truncated by --history-max"
				: "");
	}
	at = history_floor(ui->hist, to);
	/* Forward past a second no refresh recorded: the next one held. */
	while (delta > 0 && at <= from && to < newest)
		at = history_floor(ui->hist, ++to);
	if (at == HISTORY_NONE || at >= newest) {
		rewind_stop(ui);
		return;
	}
	if (rewind_build(ui, at))
		set_msg(ui, 1, "rewind: out of memory");
}

/* The host view's table from the shown table's flows (frozen while
 * paused, as they are; rewound, as they were). 0 or -ENOMEM. */
static int fill_hosts(struct ui *ui)
{
	const struct view *v = cur(ui);
	size_t n = view_nflows(v);
	int rc = 0;

	hosts_clear(ui->hosts);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct view_figures x;

		view_flow_figures(v, view_flow_at(v, i), &x);
		rc = hosts_add(ui->hosts, &x);
	}
	return rc ? rc : hosts_sort(ui->hosts);
}

/*
 * One refresh: expire idle flows, copy the state, ingest it, the run's
 * per-refresh extras (it may end the run: --exit-over), draw. The
 * counters panel is frozen with the display while paused, unless
 * @counters (a counter command just ran: show its effect). With @cost,
 * each phase is timed, the window's layout apart from the drawing (whose
 * own view_layout then finds the window in order).
 */
static int tick_cost(struct ui *ui, int counters, struct ui_frame_cost *cost)
{
	uint64_t t0 = mono_ns(), c[6] = { 0 };
	int rc;

	if (cost)
		c[0] = cpu_ns();
	ui->eng->ops->expire(ui->eng);
	if (cost)
		c[1] = cpu_ns();
	rc = ui->eng->ops->snapshot(ui->eng, &ui->snap);
	if (cost)
		c[2] = cpu_ns();
	if (rc == 0 && (counters || !view_paused(ui->v, NULL)))
		rc = cpanel_update(ui->cp, ui->snap.counters,
				   ui->snap.ncounters, ui->snap.mono_ns);
	/* the view shows the snapshot's rows, not a copy: refilled, they
	 * are either fed to it or forgotten */
	if (rc == 0)
		rc = view_update_borrow(ui->v, &ui->snap);
	else
		view_forget_rows(ui->v);
	if (rc == 0 && ui->hist) {
		/* out of memory: the history says "truncated" */
		(void)history_record(ui->hist, &ui->snap, hist_clock(ui));
		rewind_follow(ui);
	}
	if (rc == 0 && ui->host_view)
		rc = fill_hosts(ui);
	if (rc == 0 && ui->snap.cap.rebinds > ui->rebinds) {
		/* a removed interface came back: the status line says so */
		ui->rebinds = ui->snap.cap.rebinds;
		set_msg(ui, 0, "%s: interface back, capture resumed",
			ui->gone_if[0]	? ui->gone_if
			: ui->dc.source ? ui->dc.source
					: "capture");
	}
	if (rc == 0 && ui->eng->ops->tick(ui->eng, &ui->snap))
		ui->quit = 1; /* --exit-over */
	if (cost)
		c[3] = cpu_ns();
	if (rc == 0 && cost && ui->dc.table_rows > 0)
		rc = view_layout(ui->v, (size_t)ui->dc.table_rows);
	if (cost)
		c[4] = cpu_ns();
	if (rc)
		set_msg(ui, 1, "snapshot: %s", strerror(-rc));
	redraw(ui);
	view_set_frame_cost(ui->v, mono_ns() - t0);
	if (cost) {
		c[5] = cpu_ns();
		cost->expire_ns = c[1] - c[0];
		cost->copy_ns = c[2] - c[1];
		cost->update_ns = c[3] - c[2];
		cost->layout_ns = c[4] - c[3];
		cost->draw_ns = c[5] - c[4];
		cost->table_rows = ui->dc.table_rows;
	}
	return rc;
}

static void tick(struct ui *ui, int counters)
{
	tick_cost(ui, counters, NULL);
}

/* ---- actions --------------------------------------------------------- */

/* The display filter now in force, into the run's filter history (a
 * snapshot says what was looked at, and since when). */
static void note_find(struct ui *ui)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	filterlog_add(ui->conf.filters,
		      (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec,
		      FILTERLOG_DISPLAY, NULL, view_filter(cur(ui)));
}

static void write_snapshot(struct ui *ui)
{
	char written[1024], err[1024];

	if (ui->eng->ops->write_snapshot(ui->eng, NULL, written,
					 sizeof(written), err, sizeof(err)))
		set_msg(ui, 1, "%s", err);
	else
		set_msg(ui, 0, "snapshot written to %s", written);
}

static void set_unit(struct ui *ui, enum view_unit u)
{
	if (u != VIEW_UNIT_PACKETS)
		ui->rate_unit = u;
	view_set_unit(cur(ui), u);
	set_msg(ui, 0, "rates in %s", view_unit_name(u));
}

/* Sort keys of the columns on screen, for < and >. */
static uint32_t visible_sort_mask(const struct ui *ui)
{
	uint32_t mask = 0;
	int i;

	for (i = 0; i < COL_COUNT; i++) {
		if (ui->dc.col_w[i] && columns_get(i)->sort >= 0)
			mask |= 1u << columns_get(i)->sort;
	}
	return mask;
}

static size_t page(const struct ui *ui)
{
	return ui->dc.table_rows > 1 ? (size_t)ui->dc.table_rows : 1;
}

/* Move the host view's first row by @delta (drawing clamps the end). */
static void host_scroll(struct ui *ui, long delta)
{
	size_t top = ui->dc.host_top;

	if (delta < 0)
		ui->dc.host_top =
			(size_t)-delta > top ? 0 : top - (size_t)-delta;
	else
		ui->dc.host_top = top + (size_t)delta;
}

static void on_mouse(struct ui *ui)
{
	MEVENT ev;
	int i;

	if (getmouse(&ev) != OK)
		return;
	if (ev.bstate & BUTTON4_PRESSED) {
		view_scroll(cur(ui), -WHEEL_ROWS, page(ui));
		return;
	}
	if (ev.bstate & BUTTON5_PRESSED) {
		view_scroll(cur(ui), WHEEL_ROWS, page(ui));
		return;
	}
	if (!(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)))
		return;
	if (ui->mode == M_HELP) {
		ui->mode = M_NORMAL;
		return;
	}
	if (ev.y == ui->dc.title_y) {
		for (i = 0; i < COL_COUNT; i++) {
			if (ui->dc.col_w[i] && ev.x >= ui->dc.col_x[i] &&
			    ev.x < ui->dc.col_x[i] + ui->dc.col_w[i] &&
			    columns_get(i)->sort >= 0)
				view_set_sort(cur(ui), columns_get(i)->sort);
		}
		return;
	}
	if (ev.y >= ui->dc.table_y &&
	    ev.y < ui->dc.table_y + ui->dc.table_rows &&
	    (size_t)(ev.y - ui->dc.table_y) < view_nvisible(cur(ui)))
		view_select_index(cur(ui),
				  view_top(cur(ui)) +
					  (size_t)(ev.y - ui->dc.table_y));
}

static void open_prompt(struct ui *ui, enum ui_mode mode, const char *init,
			struct prompt_hist *h)
{
	ui->mode = mode;
	if (prompt_start(&ui->prompt, init, h))
		set_msg(ui, 1, "out of memory: the prompt starts empty");
}

/*
 * The key table's actions. No default case: a new action without a case
 * here fails to compile (-Wswitch -Werror).
 */
static void do_action(struct ui *ui, const struct key_binding *k)
{
	char buf[64];
	int on;

	switch (k->action) {
	case KA_NONE:
	case KA_COUNT:
		break;
	case KA_QUIT:
		ui->quit = 1;
		break;
	case KA_REDRAW:
		clearok(curscr, TRUE);
		break;
	case KA_HELP:
		ui->mode = M_HELP;
		ui->dc.help_top = 0;
		break;
	case KA_SORT:
		view_set_sort(cur(ui), (enum view_sort)k->arg);
		break;
	case KA_SORT_PREV:
		view_sort_step(cur(ui), -1, visible_sort_mask(ui));
		break;
	case KA_SORT_NEXT:
		view_sort_step(cur(ui), 1, visible_sort_mask(ui));
		break;
	case KA_FREEZE:
		on = !view_frozen(cur(ui));
		view_set_frozen(cur(ui), on);
		set_msg(ui, 0, on ? "row order frozen" : "rows sorted again");
		break;
	case KA_UP:
		if (ui->host_view)
			host_scroll(ui, -1);
		else
			view_scroll(cur(ui), -1, page(ui));
		break;
	case KA_DOWN:
		if (ui->host_view)
			host_scroll(ui, 1);
		else
			view_scroll(cur(ui), 1, page(ui));
		break;
	case KA_PGUP:
		if (ui->host_view)
			host_scroll(ui, -(long)page(ui));
		else
			view_scroll(cur(ui), -(long)page(ui), page(ui));
		break;
	case KA_PGDN:
		if (ui->host_view)
			host_scroll(ui, (long)page(ui));
		else
			view_scroll(cur(ui), (long)page(ui), page(ui));
		break;
	case KA_HOME:
		if (ui->host_view)
			ui->dc.host_top = 0;
		else
			view_select_home(cur(ui));
		break;
	case KA_END:
		if (ui->host_view)
			host_scroll(ui, (long)hosts_count(ui->hosts));
		else
			view_select_end(cur(ui));
		break;
	case KA_HOSTS:
		ui->host_view = !ui->host_view;
		ui->dc.host_top = 0;
		if (ui->host_view && fill_hosts(ui))
			set_msg(ui, 1, "out of memory: host view incomplete");
		else
			set_msg(ui, 0,
				ui->host_view
					? "host view: sent (TX) and received "
					  "(RX) per host; V: flows"
					: "flows");
		break;
	case KA_PAUSE:
		on = !view_paused(cur(ui), NULL);
		view_set_paused(cur(ui), on, mono_ns());
		break;
	case KA_FILTER: {
		struct engine_info info;

		ui->eng->ops->info(ui->eng, &info);
		open_prompt(ui, M_FILTER, info.filter, &ui->hist_filter);
		break;
	}
	case KA_FIND:
		open_prompt(ui, M_FIND, view_filter(cur(ui)), &ui->hist_find);
		break;
	case KA_CLEAR_FIND:
		view_filter_set(cur(ui), "");
		note_find(ui);
		break;
	case KA_BITS:
		set_unit(ui, VIEW_UNIT_BITS);
		break;
	case KA_BYTES:
		set_unit(ui, VIEW_UNIT_BYTES);
		break;
	case KA_PACKETS:
		set_unit(ui, view_unit(cur(ui)) == VIEW_UNIT_PACKETS
				     ? ui->rate_unit
				     : VIEW_UNIT_PACKETS);
		break;
	case KA_DIRECTION:
		on = !view_per_direction(cur(ui));
		view_set_per_direction(cur(ui), on);
		set_msg(ui, 0,
			on ? "one row per direction"
			   : "one row per conversation");
		break;
	case KA_NUMERIC: {
		/* host and port names -> hosts -> ports -> numeric */
		static const unsigned int cycle[] = { VIEW_NAMES_HOSTS |
							      VIEW_NAMES_PORTS,
						      VIEW_NAMES_HOSTS,
						      VIEW_NAMES_PORTS, 0 };
		static const char *const said[] = {
			"host and port names", "host names, numeric ports",
			"port names, numeric addresses",
			"numeric addresses and ports"
		};
		size_t i, nc = sizeof(cycle) / sizeof(cycle[0]);

		for (i = 0; i < nc && cycle[i] != view_names(cur(ui)); i++)
			;
		i = (i + 1) % nc;
		view_set_names(cur(ui), cycle[i]);
		set_msg(ui, 0, "%s", said[i]);
		break;
	}
	case KA_TOTALS: {
		/* T visibly acts: it hides the totals when they are on
		 * screen, else asks for them before the averages. */
		int w[COL_COUNT];

		if (ui->dc.col_w[COL_BYTES] || ui->dc.col_w[COL_PKTS]) {
			ui->totals = COLUMNS_TOTALS_OFF;
			set_msg(ui, 0, "total columns off");
			break;
		}
		ui->totals = COLUMNS_TOTALS_ON;
		columns_layout(cur(ui), COLS, ui->totals, w);
		if (w[COL_BYTES] || w[COL_PKTS])
			set_msg(ui, 0, "total columns on");
		else
			set_msg(ui, 1,
				"total columns on, but no room at %d columns%s",
				COLS,
				view_per_direction(cur(ui)) ? "" : " (try c)");
		break;
	}
	case KA_RESET:
		ui->mode = M_RESET;
		break;
	case KA_MARK: {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		view_mark(cur(ui),
			  (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec);
		cpanel_reset(ui->cp);
		set_msg(ui, 0, "mark set: counts since now (M: since start)");
		break;
	}
	case KA_SINCE:
		view_set_since_start(cur(ui), !view_since_start(cur(ui)));
		set_msg(ui, 0, "counts since %s",
			view_since_start(cur(ui)) ? "the start"
			: view_mark_time(cur(ui)) ? "the mark"
						  : "the last reset");
		tick(ui, 0);
		break;
	case KA_HIDE_SELF:
		if (!view_self_known(cur(ui))) {
			set_msg(ui, 1,
				"no SSH session of yours known "
				"($SSH_CONNECTION is not set)");
			break;
		}
		view_set_hide_self(cur(ui), !view_hide_self(cur(ui)));
		set_msg(ui, 0, "your SSH session's row is %s",
			view_hide_self(cur(ui)) ? "hidden" : "shown");
		break;
	case KA_INTERVAL:
		snprintf(buf, sizeof(buf), "%g", (double)ui->refresh_ns / 1e9);
		open_prompt(ui, M_INTERVAL, buf, &ui->hist_interval);
		break;
	case KA_SNAPSHOT:
		write_snapshot(ui);
		break;
	case KA_COUNTERS:
		open_prompt(ui, M_COUNTER, NULL, &ui->hist_counter);
		break;
	case KA_MOUSE:
		on_mouse(ui);
		break;
	case KA_DETAILS:
		ui->details = !ui->details;
		if (LINES >= DRAW_TALL_ROWS)
			set_msg(ui, 0,
				"details are always shown on %d lines or more",
				DRAW_TALL_ROWS);
		else
			set_msg(ui, 0,
				ui->details ? "header details on"
					    : "header details off");
		break;
	case KA_DETAIL:
		if (view_group(cur(ui)))
			set_msg(ui, 1,
				"details are for flows (g: back to flows)");
		else if (view_selected(cur(ui)) < view_count(cur(ui)))
			ui->mode = M_DETAIL;
		else
			set_msg(ui, 1, "no row selected");
		break;
	case KA_GROUP: {
		const struct opts *o = ui->conf.o;
		int by = (view_group(cur(ui)) + 1) % GROUP_COUNT;

		if (view_set_group(cur(ui), by, o->group_v4_prefix,
				   o->group_v6_prefix)) {
			set_msg(ui, 1, "group by %s: out of memory",
				group_name((enum group_by)by));
			break;
		}
		if (ui->conf.group_by)
			*ui->conf.group_by = by;
		if (by)
			set_msg(ui, 0, "grouped by %s (g: next)",
				group_name((enum group_by)by));
		else
			set_msg(ui, 0, "one row per flow");
		break;
	}
	case KA_REWIND:
		rewind_move(ui, k->arg);
		break;
	case KA_TIMINGS:
		set_msg(ui, 0,
			"last frame %.2f ms (update %.2f, layout %.2f); "
			"refresh %.3g s",
			(double)view_frame_cost_ns(cur(ui)) / 1e6,
			(double)view_cost_update_ns(cur(ui)) / 1e6,
			(double)view_cost_layout_ns(cur(ui)) / 1e6,
			(double)ui->refresh_ns / 1e9);
		break;
	}
}

static void accept_prompt(struct ui *ui)
{
	char err[1024];
	const char *text = ui->prompt.buf;
	uint64_t ns;
	int rc, refresh = 0;

	switch (ui->mode) {
	case M_FILTER:
		prompt_hist_add(&ui->hist_filter, text);
		rc = ui->eng->ops->set_filter(ui->eng, text, err, sizeof(err));
		if (rc)
			set_msg(ui, 1, "filter not changed: %s", err);
		else if (*text)
			set_msg(ui, 0, "capture filter: %s", text);
		else
			set_msg(ui, 0, "capture filter cleared");
		break;
	case M_FIND:
		prompt_hist_add(&ui->hist_find, text);
		note_find(ui);
		break;
	case M_INTERVAL:
		if (opts_parse_duration(text, &ns) || ns == 0) {
			set_msg(ui, 1, "not an interval: \"%s\"", text);
			break;
		}
		prompt_hist_add(&ui->hist_interval, text);
		if (ns < MIN_REFRESH_NS)
			ns = MIN_REFRESH_NS;
		if (ns > MAX_REFRESH_NS)
			ns = MAX_REFRESH_NS;
		ui->refresh_ns = ns;
		rc = set_timer(ui);
		if (rc)
			set_msg(ui, 1, "timer: %s", strerror(-rc));
		else
			set_msg(ui, 0, "refresh every %g s", (double)ns / 1e9);
		break;
	case M_COUNTER:
		prompt_hist_add(&ui->hist_counter, text);
		rc = ui->eng->ops->counter_cmd(ui->eng, text, err, sizeof(err));
		set_msg(ui, rc != 0, "%s", err);
		refresh = 1;
		break;
	case M_NORMAL:
	case M_HELP:
	case M_DETAIL:
	case M_RESET:
		break;
	}
	ui->mode = M_NORMAL;
	if (refresh)
		tick(ui, 1);
}

static void on_prompt_key(struct ui *ui, int ch)
{
	switch (prompt_key(&ui->prompt, ch)) {
	case PROMPT_ACCEPT:
		accept_prompt(ui);
		break;
	case PROMPT_CANCEL:
		if (ui->mode == M_FIND) {
			view_filter_set(cur(ui), ""); /* Esc clears */
			note_find(ui);
		}
		ui->mode = M_NORMAL;
		break;
	case PROMPT_EDITED:
		/* The display filter applies as you type. */
		if (ui->mode == M_FIND)
			view_filter_set(cur(ui), ui->prompt.buf);
		break;
	case PROMPT_FULL:
		/* Never a silent cut: the key is refused, and said so. */
		if (ui->prompt.len + 1 > PROMPT_LIMIT)
			set_msg(ui, 1, "line full: at most %u characters",
				PROMPT_LIMIT);
		else
			set_msg(ui, 1, "out of memory: character not added");
		break;
	case PROMPT_MOVED:
	case PROMPT_IGNORED:
		break;
	}
}

static void on_key(struct ui *ui, int ch)
{
	const struct key_binding *k;
	size_t page_n;

	if (ch == KEY_RESIZE || ch == KEY_IGNORED)
		return; /* sizes come from SIGWINCH */
	switch (ui->mode) {
	case M_FILTER:
	case M_FIND:
	case M_INTERVAL:
	case M_COUNTER:
		on_prompt_key(ui, ch);
		return;
	case M_RESET:
		if (ch == 'y' || ch == 'Y') {
			view_reset(ui->v);
			cpanel_reset(ui->cp);
			set_msg(ui, 0, "counters reset");
		}
		ui->mode = M_NORMAL;
		return;
	case M_HELP:
		/* The help's last line names these keys. */
		page_n = ui->dc.help_page > 1 ? ui->dc.help_page - 1 : 1;
		if (ch == KEY_DOWN || ch == 'j') {
			ui->dc.help_top++;
		} else if ((ch == KEY_UP || ch == 'k') && ui->dc.help_top) {
			ui->dc.help_top--;
		} else if (ch == KEY_NPAGE || ch == ' ') {
			ui->dc.help_top += page_n;
		} else if (ch == KEY_PPAGE) {
			ui->dc.help_top = ui->dc.help_top > page_n
						  ? ui->dc.help_top - page_n
						  : 0;
		} else if (ch == KEY_HOME) {
			ui->dc.help_top = 0;
		} else if (ch == KEY_END) {
			ui->dc.help_top = ui->dc.help_lines;
		} else if (ch == KEY_UP || ch == 'k') {
			/* at the top already */
		} else if (ch == KEY_MOUSE) {
			on_mouse(ui);
		} else {
			ui->mode = M_NORMAL;
		}
		return;
	case M_DETAIL:
		ui->mode = M_NORMAL; /* any key goes back */
		return;
	case M_NORMAL:
		break;
	}
	k = keys_lookup(ch);
	if (!k)
		return;
	if (ui->rv && !keys_rewind_ok(k->action)) {
		/* a live key: now first */
		rewind_stop(ui);
		set_msg(ui, 0, "back to now");
	}
	do_action(ui, k);
}

/*
 * The next key. An escape sequence curses does not know (a terminal whose
 * TERM says otherwise, a key with modifiers) arrives as Esc and its
 * bytes: swallowed whole here, so "\e[1;2P" never pauses (P). A lone
 * Esc (nothing after it within ESCDELAY) is Esc; Alt+key is ignored.
 */
static int read_key(struct ui *ui)
{
	int ch = getch(), n, c;

	if (ch != 27)
		return ch;
	c = getch();
	if (c == ERR)
		return 27;
	if (c == '[') {
		/* CSI: parameters and intermediates, then a final byte */
		for (n = 0; n < 32 && (c = getch()) != ERR; n++) {
			if (c >= 0x40 && c <= 0x7e)
				break;
		}
	} else if (c == 'O') {
		(void)getch(); /* SS3: one byte */
	}
	set_msg(ui, 0, "unknown key ignored");
	return KEY_IGNORED;
}

/* ---- signals --------------------------------------------------------- */

/*
 * The terminal's size, capped: curses keeps three cell buffers of the
 * whole screen, and a 9999x9999 window took 9 GB and the keys went
 * unanswered (issue 17.11). Beyond the cap the top-left part is drawn.
 */
static int term_size(int *rows, int *cols)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
		return -1;
	*rows = ws.ws_row > UI_MAX_ROWS ? UI_MAX_ROWS : ws.ws_row;
	*cols = ws.ws_col > UI_MAX_COLS ? UI_MAX_COLS : ws.ws_col;
	return 0;
}

static void resize(void)
{
	int rows, cols;

	if (term_size(&rows, &cols) == 0)
		resizeterm(rows, cols);
}

/* Our process group owns the terminal (or there is no job control). */
static int foreground(void)
{
	pid_t fg = tcgetpgrp(STDIN_FILENO);

	return fg < 0 || fg == getpgrp();
}

/* Take the terminal again, at whatever size it has now. */
static void resume(struct ui *ui)
{
	ui->away = 0;
	reset_prog_mode();
	resize();
	clearok(curscr, TRUE);
}

/*
 * Ctrl-Z: give the terminal back, stop the whole process (SIGSTOP cannot
 * be caught, so no thread runs a handler), and take the terminal again
 * when continued by fg. Continued in the background (bg, or the shell's
 * kill %1, which sends SIGCONT after the signal), touching the terminal
 * would stop us again with SIGTTOU: stay away from it (no drawing, no
 * keys, no endwin) until the job is in the foreground again.
 */
static void suspend(struct ui *ui)
{
	def_prog_mode();
	endwin();
	fflush(stdout);
	kill(getpid(), SIGSTOP);
	if (foreground())
		resume(ui);
	else
		ui->away = 1;
}

static void on_signals(struct ui *ui)
{
	struct signalfd_siginfo si;

	while (read(ui->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGWINCH:
			resize();
			break;
		case SIGUSR1:
			write_snapshot(ui);
			break;
		case SIGUSR2:
			tick(ui, 0);
			break;
		case SIGTSTP:
			suspend(ui);
			break;
		case SIGINT:
		case SIGTERM:
		case SIGHUP:
			ui->quit = 1;
			ui->rc = 128 + (int)si.ssi_signo;
			return;
		default:
			break;
		}
	}
}

/* ---- life cycle ------------------------------------------------------ */

/*
 * Signals some other thread may receive, sent on to the UI thread:
 * - SIGUSR1: liburcu-cds's hash-table worker thread unblocks it (its
 *   SIGRCU, for the signal flavour) whatever mask it was created with
 *   (seen with 0.13: "all blocked but SIGUSR1"); with the default action a
 *   kill -USR1 landing there ends the process, terminal not restored.
 * - SIGTSTP (Ctrl-Z): not blocked in the capture workers; curses' own
 *   handler would run there and call curses off the UI thread.
 * This handler runs only on such threads (the UI thread blocks both): it
 * redirects the signal to the main thread (tid == pid), which reads it
 * from the signalfd. tgkill is a plain system call: async-signal-safe.
 */
static void to_main(int sig)
{
	int saved = errno;

	syscall(SYS_tgkill, getpid(), getpid(), sig);
	errno = saved;
}

static int utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

/* One line "what: strerror" into @err; returns -@e. */
static int fail(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -e;
}

/* view_name_fn over the run's asynchronous resolver: never blocks. */
static int ui_name(void *ctx, int family, const uint8_t *addr, char *buf,
		   size_t len)
{
	return names_lookup(ctx, family, addr, buf, len);
}

/* newterm, at most UI_MAX_ROWS x UI_MAX_COLS from the start: curses takes
 * the size from LINES and COLUMNS when they are set. */
static SCREEN *newterm_capped(void)
{
	char *lines = getenv("LINES"), *columns = getenv("COLUMNS");
	char *ol = lines ? strdup(lines) : NULL;
	char *oc = columns ? strdup(columns) : NULL;
	char buf[16];
	int rows, cols, set = 0;
	struct winsize ws;
	SCREEN *scr;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    (ws.ws_row > UI_MAX_ROWS || ws.ws_col > UI_MAX_COLS) &&
	    term_size(&rows, &cols) == 0) {
		snprintf(buf, sizeof(buf), "%d", rows);
		setenv("LINES", buf, 1);
		snprintf(buf, sizeof(buf), "%d", cols);
		setenv("COLUMNS", buf, 1);
		set = 1;
	}
	scr = newterm(NULL, stdout, stdin);
	if (set) {
		if (ol)
			setenv("LINES", ol, 1);
		else
			unsetenv("LINES");
		if (oc)
			setenv("COLUMNS", oc, 1);
		else
			unsetenv("COLUMNS");
	}
	free(ol);
	free(oc);
	return scr;
}

/*
 * The model side of the monitor, from the configuration: refresh, view,
 * counters panel, resolver, units, sort. No terminal. 0 or -ENOMEM.
 */
static int model_init(struct ui *ui)
{
	const struct opts *o = ui->conf.o;

	ui->refresh_ns = o->refresh_ns ? o->refresh_ns : NS;
	if (ui->refresh_ns < MIN_REFRESH_NS)
		ui->refresh_ns = MIN_REFRESH_NS;
	if (ui->refresh_ns > MAX_REFRESH_NS)
		ui->refresh_ns = MAX_REFRESH_NS;
	ui->v = view_new();
	ui->cp = cpanel_new();
	ui->hosts = hosts_new();
	if (!ui->v || !ui->cp || !ui->hosts)
		return -ENOMEM;
	/* A refresh forced in between keeps the rates of a whole interval
	 * (set_timer says it again when the interval changes). */
	view_set_min_interval(ui->v, ui->refresh_ns / 2);
	/* A file's rates are its own: on packet time, as batch -r. */
	if (o->read_file)
		view_set_packet_clock(ui->v, 1);
	if (!o->read_file) {
		/* the row that carries this very screen over SSH */
		struct selfflow sf;

		if (selfflow_parse(&sf, getenv("SSH_CONNECTION")) == 0)
			view_set_self(ui->v, &sf);
	}
	if (ui->conf.names) {
		view_set_resolver(ui->v, ui_name, ui->conf.names);
		view_set_numeric(ui->v, ui->conf.numeric);
	}
	ui->rate_unit =
		o->unit == OPTS_UNIT_BYTES ? VIEW_UNIT_BYTES : VIEW_UNIT_BITS;
	view_set_unit(ui->v, o->unit == OPTS_UNIT_PACKETS ? VIEW_UNIT_PACKETS
							  : ui->rate_unit);
	view_set_per_direction(ui->v, o->per_direction);
	view_set_max_bps(ui->v, o->max_bps); /* 0: the peak, as the original */
	view_set_numeric(ui->v, ui->conf.numeric);
	view_set_full_names(ui->v, o->full_names);
	/* the original pktstat's -t (top: by rate) and -l (last seen) */
	if (o->last)
		view_set_sort(ui->v, VIEW_SORT_LAST);
	else if (o->top)
		view_set_sort(ui->v, VIEW_SORT_RATE);
	/* the original's -T is the default here, where there is room */
	ui->totals = COLUMNS_TOTALS_AUTO;
	/* --group-by: the table starts grouped */
	if (o->group_by &&
	    view_set_group(ui->v, o->group_by, o->group_v4_prefix,
			   o->group_v6_prefix))
		return -ENOMEM;
	if (ui->conf.group_by)
		*ui->conf.group_by = o->group_by;
	snapshot_init(&ui->rsnap);
	if (o->history_ns) {
		ui->hist = history_new(o->history_ns / NS, o->history_max);
		if (!ui->hist)
			return -ENOMEM;
	}
	return 0;
}

static void model_free(struct ui *ui)
{
	view_free(ui->rv);
	ui->rv = NULL;
	history_free(ui->hist);
	ui->hist = NULL;
	snapshot_free(&ui->rsnap);
	view_free(ui->v);
	cpanel_free(ui->cp);
	hosts_free(ui->hosts);
	snapshot_free(&ui->snap);
	prompt_hist_free(&ui->hist_filter);
	prompt_hist_free(&ui->hist_find);
	prompt_hist_free(&ui->hist_interval);
	prompt_hist_free(&ui->hist_counter);
	prompt_free(&ui->prompt);
}

static int ui_setup(struct ui *ui, char *err, size_t errlen)
{
	const struct opts *o = ui->conf.o;
	const char *nc = getenv("NO_COLOR");
	struct sigaction sa;
	sigset_t set, old;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGTSTP);
	/* Already blocked by the caller in every thread; make sure here. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ui->old_mask = old;
	ui->mask_set = 1;
	/* The caller's "a worker finished" note: refresh at once. */
	if (sigismember(&old, SIGUSR2))
		sigaddset(&set, SIGUSR2);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = to_main;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	ui->usr1_set = sigaction(SIGUSR1, &sa, &ui->old_usr1) == 0;
	/* Installed before newterm, so curses keeps its hands off it. */
	ui->tstp_set = sigaction(SIGTSTP, &sa, &ui->old_tstp) == 0;
	ui->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ui->sfd < 0)
		return fail(err, errlen, "signalfd", errno);
	ui->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ui->tfd < 0)
		return fail(err, errlen, "timerfd", errno);
	rc = model_init(ui);
	if (rc) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	rc = set_timer(ui);
	if (rc)
		return fail(err, errlen, "timerfd", -rc);

	ui->utf8 = utf8_locale();
	ui->scr = newterm_capped();
	if (!ui->scr) {
		const char *term = getenv("TERM");

		snprintf(err, errlen, "cannot use the terminal (TERM=%s)",
			 term ? term : "");
		return -ENOTTY;
	}
	set_term(ui->scr);
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	/* Long enough for a sequence split over SSH packets; the user's
	 * ESCDELAY wins (curses read it already). */
	if (!getenv("ESCDELAY"))
		set_escdelay(ESC_DELAY_MS);
	curs_set(0);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED |
			  BUTTON5_PRESSED,
		  NULL);
	ui->color = draw_init(!o->no_color && !(nc && *nc));
	return 0;
}

static void ui_teardown(struct ui *ui)
{
	if (ui->scr) {
		if (!ui->away) { /* else endwin was done by suspend */
			curs_set(1);
			endwin();
		}
		delscreen(ui->scr);
		ui->scr = NULL;
	}
	if (ui->usr1_set)
		sigaction(SIGUSR1, &ui->old_usr1, NULL);
	if (ui->tstp_set)
		sigaction(SIGTSTP, &ui->old_tstp, NULL);
	if (ui->sfd >= 0)
		close(ui->sfd);
	if (ui->mask_set)
		pthread_sigmask(SIG_SETMASK, &ui->old_mask, NULL);
	if (ui->tfd >= 0)
		close(ui->tfd);
	model_free(ui);
}

static int loop(struct ui *ui, char *err, size_t errlen)
{
	struct pollfd pfd[3] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = ui->sfd, .events = POLLIN },
		{ .fd = ui->tfd, .events = POLLIN },
	};
	uint64_t expirations;
	int ch;

	tick(ui, 0);
	while (!ui->quit) {
		int dirty = 0;

		/* no keys read from the background: that would be SIGTTIN */
		pfd[0].fd = ui->away ? -1 : STDIN_FILENO;
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail(err, errlen, "poll", errno);
		}
		if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			/* The terminal went away: nothing left to show. */
			ui->rc = 128 + SIGHUP;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			on_signals(ui);
			dirty = 1;
		}
		if (ui->quit)
			break;
		if (pfd[0].revents & POLLIN) {
			while (!ui->quit && (ch = read_key(ui)) != ERR)
				on_key(ui, ch);
			dirty = 1;
		}
		if (ui->quit)
			break;
		if (pfd[2].revents & POLLIN) {
			/* Missed ticks are not replayed: one refresh. */
			if (read(ui->tfd, &expirations, sizeof(expirations)) <
				    0 &&
			    errno != EAGAIN)
				return fail(err, errlen, "timerfd", errno);
			if (ui->away && foreground())
				resume(ui); /* fg after bg */
			tick(ui, 0);
			dirty = 0;
		}
		if (dirty)
			redraw(ui); /* reuses the rates of the last tick */
	}
	return 0;
}

int ui_run(struct engine_port *eng, const struct ui_conf *conf, char *err,
	   size_t errlen)
{
	struct ui ui;
	char *saved = NULL;
	const char *cur;
	int rc;

	memset(&ui, 0, sizeof(ui));
	ui.eng = eng;
	ui.conf = *conf;
	ui.sfd = ui.tfd = -1;
	snapshot_init(&ui.snap);
	/* The screen yields to the capture: when both want the same core
	 * (a generator or the machine's own work on the other), the
	 * capture threads, started before us at nice 0, win. The nice value
	 * is per thread on Linux; lowering it needs no privilege. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), UI_NICE);
	/* The user's locale for the terminal's character set; numbers stay
	 * in the C locale (reports are written after us). */
	cur = setlocale(LC_ALL, NULL);
	if (cur)
		saved = strdup(cur);
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	rc = ui_setup(&ui, err, errlen);
	if (rc == 0)
		rc = loop(&ui, err, errlen);
	if (rc == 0)
		rc = ui.rc;
	ui_teardown(&ui);
	if (saved) {
		setlocale(LC_ALL, saved);
		free(saved);
	}
	return rc;
}

struct ui *ui_new(struct engine_port *eng, const struct ui_conf *conf, int utf8,
		  int color)
{
	struct ui *ui = calloc(1, sizeof(*ui));

	if (!ui)
		return NULL;
	ui->eng = eng;
	ui->conf = *conf;
	ui->sfd = ui->tfd = -1;
	ui->utf8 = utf8;
	ui->color = color;
	snapshot_init(&ui->snap);
	if (model_init(ui)) {
		ui_free(ui);
		return NULL;
	}
	return ui;
}

int ui_frame(struct ui *ui, struct ui_frame_cost *cost)
{
	return tick_cost(ui, 0, cost);
}

struct view *ui_view(struct ui *ui)
{
	return ui->v;
}

void ui_free(struct ui *ui)
{
	if (!ui)
		return;
	model_free(ui);
	free(ui);
}
