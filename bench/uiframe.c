/*
 * uiframe.c - the UI frame benchmark: what one refresh of the full-screen
 * monitor costs the UI thread, in CPU time, with N flows in the table.
 *
 *   uiframe [-f FRAMES] [-x COLS] [-y ROWS] [-p PACKETS] N...
 *
 * For each N: a flow table (src/flowtab.h) is filled with N flows of
 * mixed kinds (IPv4/IPv6 TCP, UDP, ICMP) and sizes, then FRAMES frames run
 * the monitor's own refresh (ui_frame, ui/ui.h) against a fake engine port
 * (src/engine.h) over that table: expiry at most once a simulated second
 * (flowtab_expire, as engine_expire), the copy under the RCU read lock
 * (flowtab_collect and the totals, as engine_snapshot), then the UI's
 * cpanel_update, view_update, view_layout (partial sort of the visible
 * window) and draw_frame + refresh into a real ncurses
 * screen on a pseudo-terminal of COLS x ROWS (default 200 x 60, TERM
 * xterm-256color, UTF-8 when the C.UTF-8 locale exists), whose other end
 * a second thread drains (a terminal emulator's part: not counted).
 * Then `o` (view_set_frozen) freezes the order and FRAMES more frames run.
 * Between frames, outside the measurement, PACKETS packets are accounted
 * to flows drawn with a skew (a few heavy flows, a long tail; the heavy
 * set moves every 10 frames), so rates and the order change; the clocks
 * the view sees advance 0.1 s a frame (-w 0.1), so rates are real ones.
 *
 * Each phase is timed with CLOCK_THREAD_CPUTIME_ID: this thread's CPU
 * only. One line per N and order, then nothing else on stdout:
 *   uiframe flows=N frozen=0|1 frames=F rows=R frame_med_us=U
 *   frame_p90_us=U frame_max_us=U first_us=U copy_us=U update_us=U
 *   layout_us=U draw_us=U expire_us=U
 * (one line; the phase figures are medians over the frames; expire_us is
 * the median over the frames that expired, -1 when none did; first_us is
 * the very first frame of the sorted run, which allocates everything and
 * is not among the FRAMES measured). Exit 0, 1 on error, 2 on usage.
 *
 * Single-threaded but for the drain thread, which touches only the
 * pseudo-terminal's master side.
 */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "../src/engine.h"
#include "../src/flowtab.h"
#include "../src/opts.h"
#include "../src/snapshot.h"
#include "../src/view.h"
#include "../ui/draw.h"
#include "../ui/ui.h"

#define NS 1000000000ull
#define FRAME_NS (NS / 10) /* -w 0.1 */
#define KEEP_NS (10 * NS)  /* -k default: nothing idles out here */
#define WARM_FRAMES 2	   /* before the measured ones (first_us) */

enum phase { PH_FRAME, PH_COPY, PH_UPDATE, PH_LAYOUT, PH_DRAW, PH_COUNT };

/* The fake engine the monitor is handed: its port first. */
struct bench {
	struct engine_port port;
	struct flowtab *ft;
	struct ui *ui;
	struct opts o; /* the monitor's settings: -w 0.1, the defaults */
	int table_rows;
	int expired; /* the last frame's expiry ran */
	size_t n;
	uint64_t rng;
	uint64_t mono0, wall0, mono, wall; /* simulated clocks */
	uint64_t last_expire;
	uint64_t frame_no;
	struct flowtab_counts kind[KIND_COUNT];
	uint64_t pkts, bytes;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Flow @f: source 10.0.0.0 + f or 2001:db8::f, as bench/blast numbers
 * them; five kinds in turn. */
static void flow_key_of(size_t f, struct flow_key *k)
{
	static const uint8_t kinds[] = { KIND_UDP4, KIND_TCP4, KIND_ICMP4,
					 KIND_UDP6, KIND_TCP6 };
	uint8_t kind = kinds[f % sizeof(kinds)];
	uint32_t a = 0x0a000000u + (uint32_t)f;

	memset(k, 0, sizeof(*k));
	k->kind = kind;
	if (flowkey_family(kind) == 4) {
		k->a[0] = 10;
		k->a[1] = (uint8_t)(a >> 16);
		k->a[2] = (uint8_t)(a >> 8);
		k->a[3] = (uint8_t)a;
		k->b[0] = 192;
		k->b[1] = 0;
		k->b[2] = 2;
		k->b[3] = 1;
	} else {
		k->a[0] = 0x20;
		k->a[1] = 0x01;
		k->a[2] = 0x0d;
		k->a[3] = 0xb8;
		k->a[12] = (uint8_t)(f >> 24);
		k->a[13] = (uint8_t)(f >> 16);
		k->a[14] = (uint8_t)(f >> 8);
		k->a[15] = (uint8_t)f;
		k->b[0] = 0x20;
		k->b[1] = 0x01;
		k->b[2] = 0x0d;
		k->b[3] = 0xb9;
		k->b[15] = 1;
	}
	if (kind == KIND_ICMP4) {
		k->aport = k->bport = 8;
	} else {
		k->aport = (uint16_t)(1024 + f % 60000);
		k->bport = kind == KIND_TCP4 || kind == KIND_TCP6 ? 443 : 53;
	}
}

/* One packet of flow @f, its size fixed per flow (60 to 1514 bytes). */
static void account(struct bench *b, size_t f, int dir)
{
	struct flow_key k;
	uint32_t len = 60 + (uint32_t)((f * 2654435761u) % 1455);

	flow_key_of(f, &k);
	flowtab_account(b->ft, &k, dir, len, b->wall);
	b->kind[k.kind].pkts++;
	b->kind[k.kind].bytes += len;
	b->pkts++;
	b->bytes += len;
}

static int fill(struct bench *b)
{
	size_t f;

	rcu_read_lock();
	for (f = 0; f < b->n; f++) {
		account(b, f, FLOW_DIR_AB);
		if (f % 3 == 0)
			account(b, f, FLOW_DIR_BA);
	}
	rcu_read_unlock();
	return flowtab_count(b->ft) == b->n ? 0 : -1;
}

/*
 * The capture between two frames: @npkts packets on a skewed draw (flow
 * base + n * u^3: a few heavy flows, a long tail); the heavy set moves
 * every 10 frames, so the order really changes.
 */
static void traffic(struct bench *b, size_t npkts)
{
	size_t base = (size_t)(b->frame_no / 10 * 7919) % b->n, i;

	rcu_read_lock();
	for (i = 0; i < npkts; i++) {
		uint64_t r = xorshift(&b->rng);
		double u = (double)(r >> 11) / (double)(1ull << 53);
		size_t f = (base + (size_t)((double)b->n * u * u * u)) % b->n;

		account(b, f, (int)(r & 1));
	}
	rcu_read_unlock();
}

/* ---- the fake engine: the bench's table, its simulated clocks ------ */

static struct bench *of_port(struct engine_port *p)
{
	return (struct bench *)p;
}

static void fake_info(struct engine_port *p, struct engine_info *info)
{
	(void)p;
	info->source = "uiframe";
	info->backend = "synthetic";
	info->filter = "";
	info->threads = 1;
	info->capture_done = 0;
	info->capture_error = NULL;
}

/* engine_expire's work: at most once a simulated second. */
static void fake_expire(struct engine_port *p)
{
	struct bench *b = of_port(p);

	b->expired = 0;
	if (b->mono - b->last_expire >= NS) {
		b->last_expire = b->mono;
		flowtab_expire(b->ft, b->wall, KEEP_NS);
		b->expired = 1;
	}
}

/* engine_snapshot's work for one table: the copy under the read lock
 * (inside flowtab_collect), the totals, the clocks. */
static int fake_snapshot(struct engine_port *p, struct snapshot *s)
{
	struct bench *b = of_port(p);
	ssize_t n = flowtab_collect(b->ft, &s->rows, &s->rows_cap);

	if (n < 0)
		return (int)n;
	s->nrows = (size_t)n;
	flowtab_totals(b->ft, s->expired, s->overflow);
	s->expired_flows = flowtab_expired_flows(b->ft);
	s->evicted_flows = flowtab_evicted_flows(b->ft);
	memcpy(s->kind, b->kind, sizeof(s->kind));
	s->pkts = b->pkts;
	s->bytes = b->bytes;
	s->cap.received = b->pkts;
	s->mono_ns = b->mono;
	s->wall_ns = b->wall;
	s->first_ts_ns = b->wall0;
	s->last_ts_ns = b->wall;
	s->start_ns = b->wall0 - NS;
	s->now_ns = b->wall;
	s->max_flows = flowtab_max(b->ft);
	return 0;
}

static int fake_tick(struct engine_port *p, const struct snapshot *s)
{
	(void)p;
	(void)s;
	return 0;
}

static size_t fake_counters_read(struct engine_port *p,
				 struct counters_value *out, size_t max)
{
	(void)p;
	(void)out;
	(void)max;
	return 0;
}

static int fake_set_filter(struct engine_port *p, const char *expr,
			   char *err, size_t errlen)
{
	(void)p;
	(void)expr;
	snprintf(err, errlen, "not in the benchmark");
	return -ENOTSUP;
}

static int fake_counter_cmd(struct engine_port *p, const char *line,
			    char *msg, size_t msglen)
{
	(void)p;
	(void)line;
	snprintf(msg, msglen, "not in the benchmark");
	return -ENOTSUP;
}

static int fake_write_snapshot(struct engine_port *p, const char *path,
			       char *written, size_t wlen, char *err,
			       size_t errlen)
{
	(void)p;
	(void)path;
	(void)written;
	(void)wlen;
	snprintf(err, errlen, "not in the benchmark");
	return -ENOTSUP;
}

static const struct engine_ops fake_ops = {
	.info = fake_info,
	.expire = fake_expire,
	.snapshot = fake_snapshot,
	.tick = fake_tick,
	.set_filter = fake_set_filter,
	.counter_cmd = fake_counter_cmd,
	.counters_read = fake_counters_read,
	.write_snapshot = fake_write_snapshot,
};

/*
 * One refresh of the monitor (ui_frame), each phase timed in @t (ns);
 * expire gets the expiry's time, or 0 when it did not run this frame.
 */
static int frame(struct bench *b, uint64_t t[PH_COUNT], uint64_t *expire)
{
	struct ui_frame_cost c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = ui_frame(b->ui, &c);
	b->table_rows = c.table_rows;
	*expire = b->expired ? c.expire_ns : 0;
	t[PH_COPY] = c.copy_ns;
	t[PH_UPDATE] = c.update_ns;
	t[PH_LAYOUT] = c.layout_ns;
	t[PH_DRAW] = c.draw_ns;
	t[PH_FRAME] = c.expire_ns + c.copy_ns + c.update_ns + c.layout_ns +
		      c.draw_ns;
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The @q-quantile (0..1) of @n values, sorting them; -1 when n is 0. */
static long long quantile_us(uint64_t *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp_u64);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return (long long)(v[i] / 1000);
}

/* Run @frames frames and print their line. */
static int run_frames(struct bench *b, int frames, size_t npkts,
		      long long first_us)
{
	uint64_t *t[PH_COUNT], *ex, ph[PH_COUNT], e;
	size_t nex = 0;
	int i, p, rc = 0;

	ex = calloc((size_t)frames, sizeof(*ex));
	for (p = 0; p < PH_COUNT; p++)
		t[p] = calloc((size_t)frames, sizeof(*t[p]));
	for (p = 0; p < PH_COUNT; p++)
		if (!t[p])
			ex = NULL;
	for (i = 0; ex && i < frames && rc == 0; i++) {
		b->frame_no++;
		b->mono += FRAME_NS;
		b->wall += FRAME_NS;
		traffic(b, npkts);
		rc = frame(b, ph, &e);
		for (p = 0; p < PH_COUNT; p++)
			t[p][i] = ph[p];
		if (e)
			ex[nex++] = e;
	}
	if (!ex)
		rc = -ENOMEM;
	if (rc == 0)
		printf("uiframe flows=%zu frozen=%d frames=%d rows=%d "
		       "frame_med_us=%lld frame_p90_us=%lld "
		       "frame_max_us=%lld first_us=%lld copy_us=%lld "
		       "update_us=%lld layout_us=%lld draw_us=%lld "
		       "expire_us=%lld\n",
		       b->n, view_frozen(ui_view(b->ui)), frames, b->table_rows,
		       quantile_us(t[PH_FRAME], (size_t)frames, 0.5),
		       quantile_us(t[PH_FRAME], (size_t)frames, 0.9),
		       quantile_us(t[PH_FRAME], (size_t)frames, 1.0), first_us,
		       quantile_us(t[PH_COPY], (size_t)frames, 0.5),
		       quantile_us(t[PH_UPDATE], (size_t)frames, 0.5),
		       quantile_us(t[PH_LAYOUT], (size_t)frames, 0.5),
		       quantile_us(t[PH_DRAW], (size_t)frames, 0.5),
		       quantile_us(ex, nex, 0.5));
	fflush(stdout);
	for (p = 0; p < PH_COUNT; p++)
		free(t[p]);
	free(ex);
	return rc;
}

/* The terminal emulator's side: read and drop what curses writes. */
static void *drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0 || errno == EINTR)
		;
	return NULL;
}

struct term {
	int master, slave;
	FILE *out, *in;
	pthread_t drainer;
	int drainer_on;
	SCREEN *scr;
};

static int term_open(struct term *t, int cols, int rows)
{
	struct winsize ws = { .ws_row = (unsigned short)rows,
			      .ws_col = (unsigned short)cols };

	memset(t, 0, sizeof(*t));
	t->slave = -1;
	t->master = posix_openpt(O_RDWR | O_NOCTTY);
	if (t->master < 0 || grantpt(t->master) || unlockpt(t->master))
		return -1;
	t->slave = open(ptsname(t->master), O_RDWR | O_NOCTTY);
	if (t->slave < 0 || ioctl(t->slave, TIOCSWINSZ, &ws))
		return -1;
	if (pthread_create(&t->drainer, NULL, drain, &t->master))
		return -1;
	t->drainer_on = 1;
	t->out = fdopen(dup(t->slave), "w");
	t->in = fdopen(dup(t->slave), "r");
	if (!t->out || !t->in)
		return -1;
	/* The size comes from the terminal, as in the real UI. */
	unsetenv("LINES");
	unsetenv("COLUMNS");
	t->scr = newterm("xterm-256color", t->out, t->in);
	if (!t->scr)
		return -1;
	set_term(t->scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	return 0;
}

static void term_close(struct term *t)
{
	if (t->scr) {
		endwin();
		delscreen(t->scr);
	}
	if (t->out)
		fclose(t->out);
	if (t->in)
		fclose(t->in);
	if (t->slave >= 0)
		close(t->slave);
	/* every slave descriptor closed: the drain thread's read fails */
	if (t->drainer_on)
		pthread_join(t->drainer, NULL);
	if (t->master >= 0)
		close(t->master);
}

static int bench_one(size_t n, int frames, size_t npkts, int utf8, int color)
{
	struct bench b;
	struct ui_conf conf;
	char err[256];
	uint64_t ph[PH_COUNT], e;
	long long first_us = -1;
	int i, rc = 0;

	memset(&b, 0, sizeof(b));
	b.port.ops = &fake_ops;
	b.o.refresh_ns = FRAME_NS;
	conf = (struct ui_conf){ .o = &b.o, .names = NULL, .numeric = 1 };
	b.n = n;
	b.rng = 0x9e3779b97f4a7c15ull ^ n;
	/* twice the flows: no eviction under pressure (95% of the cap) */
	b.ft = flowtab_new(2 * n, err, sizeof(err));
	b.ui = ui_new(&b.port, &conf, utf8, color);
	if (!b.ft || !b.ui) {
		fprintf(stderr, "uiframe: %s\n", b.ft ? "out of memory" : err);
		rc = -1;
		goto out;
	}
	b.mono0 = b.mono = clock_ns(CLOCK_MONOTONIC);
	b.wall0 = b.wall = clock_ns(CLOCK_REALTIME);
	b.last_expire = b.mono;
	if (fill(&b)) {
		fprintf(stderr, "uiframe: %zu flows asked, %zu in the table\n",
			n, flowtab_count(b.ft));
		rc = -1;
		goto out;
	}
	erase();
	clearok(curscr, TRUE);
	for (i = 0; i < WARM_FRAMES && rc == 0; i++) {
		b.frame_no++;
		b.mono += FRAME_NS;
		b.wall += FRAME_NS;
		traffic(&b, npkts);
		rc = frame(&b, ph, &e);
		if (i == 0)
			first_us = (long long)(ph[PH_FRAME] / 1000);
	}
	if (rc == 0)
		rc = run_frames(&b, frames, npkts, first_us);
	if (rc == 0) {
		view_set_frozen(ui_view(b.ui), 1); /* the `o` key */
		rc = run_frames(&b, frames, npkts, -1);
	}
	if (rc)
		fprintf(stderr, "uiframe: %zu flows: %s\n", n, strerror(-rc));
out:
	ui_free(b.ui);
	flowtab_free(b.ft);
	return rc ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: uiframe [-f FRAMES] [-x COLS] [-y ROWS] "
			"[-p PACKETS] N...\n");
}

int main(int argc, char **argv)
{
	int frames = 30, cols = 200, rows = 60, c, utf8, color, status = 0;
	long packets = -1;
	struct term t;
	const char *cs;

	while ((c = getopt(argc, argv, "f:x:y:p:")) != -1) {
		switch (c) {
		case 'f':
			frames = atoi(optarg);
			break;
		case 'x':
			cols = atoi(optarg);
			break;
		case 'y':
			rows = atoi(optarg);
			break;
		case 'p':
			packets = atol(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc || frames < 1 || frames > 100000 || cols < 1 ||
	    cols > 1000 || rows < 1 || rows > 1000) {
		usage();
		return 2;
	}
	if (!setlocale(LC_ALL, "C.UTF-8"))
		setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	cs = nl_langinfo(CODESET);
	utf8 = cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
	rcu_register_thread();
	if (term_open(&t, cols, rows)) {
		fprintf(stderr, "uiframe: pseudo-terminal: %s\n",
			strerror(errno));
		term_close(&t);
		rcu_unregister_thread();
		return 1;
	}
	color = draw_init(1);
	for (; optind < argc && status == 0; optind++) {
		long n = atol(argv[optind]);
		/* default: a fifth of the flows a frame, 10k to 200k */
		size_t np = packets >= 0     ? (size_t)packets
			    : n / 5 < 10000  ? 10000
			    : n / 5 > 200000 ? 200000
					     : (size_t)n / 5;

		if (n < 1 || n > 16000000) {
			usage();
			status = 2;
			break;
		}
		status = bench_one((size_t)n, frames, np, utf8, color);
	}
	term_close(&t);
	rcu_unregister_thread();
	return status;
}
