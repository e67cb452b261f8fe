/*
 * tcpstat.c - tcpstat(1) interval statistics, formats and summaries.
 *
 * Owns the interval state (written only by the producer: the capture
 * thread that feeds packets in timestamp order) and the output queue. The
 * queue is the only shared part: a singly linked list under a mutex that
 * is held just to link or unlink entries, never while formatting or
 * writing; the producer never waits in the packet path (it runs inside
 * the worker's RCU read-side section) but may wait for room between ring
 * blocks (tcpstat_wait_room). Runs of empty intervals are queued as one
 * record and only formatted by the drainer, so a long quiet gap costs
 * O(1) memory.
 */
#include "tcpstat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pcap/dlt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000.0L
#define MAX_FD 256 /* tcpstat: a larger descriptor means stdout */

/* Counters of one interval (tcpstat's "statistics" minus the globals). */
struct tc_ival {
	uint64_t packets, arp, ip, ip6, tcp, udp, icmp;
	uint64_t sum;		/* bytes */
	unsigned __int128 sum2; /* sum of squared sizes: exact */
	uint32_t min, max;	/* min 0 until the first packet */
	uint64_t begin_ns;	/* start of the interval */
	uint64_t delta_ns;	/* its length as printed */
	double load, peak;	/* for %l */
};

/* One formatted interval: text cut into per-descriptor segments. */
struct tc_seg {
	int fd;
	size_t off, len;
};

struct tc_line {
	char *buf;
	size_t len, cap;
	struct tc_seg *segs;
	size_t nsegs, segcap;
	int oom;
};

enum { OUT_TEXT, OUT_ZEROS };

struct tc_out {
	struct tc_out *next;
	int type;
	struct tc_line line; /* OUT_TEXT */
	/* OUT_ZEROS: @count empty intervals from @begin_ns on */
	uint64_t begin_ns, count;
	double load, decay, peak;
};

struct tcpstat {
	/* configuration: immutable after tcpstat_new */
	char *format;
	uint64_t interval_ns;
	int flags;
	enum tcpstat_mode mode;
	double bandwidth;
	uint64_t capture_ns;
	double relative_s;

	/* producer state */
	int started, finished;
	uint64_t bigbang_ns; /* first packet */
	uint64_t begin_ns;   /* start of the current interval */
	uint64_t now_ns;     /* latest packet */
	struct tc_ival cur;
	double smartb;	   /* bytes carried into the next interval (-b) */
	double load, peak; /* %l */
	int load_set;
	double total_time; /* seconds covered by closed intervals */
	double total_over; /* of which above the bandwidth */
	uint64_t total_bytes;
	int print_req; /* atomic: tcpstat_request_print */

	/* the queue */
	pthread_mutex_t lock;
	pthread_cond_t drained;
	struct tc_out *head, **tail;
	size_t queued;
	int released; /* atomic as well as under the lock */
};

/* ---- formatting ---------------------------------------------------- */

static void line_reset(struct tc_line *ln)
{
	ln->len = 0;
	ln->nsegs = 0;
	ln->oom = 0;
}

static void line_free(struct tc_line *ln)
{
	free(ln->buf);
	free(ln->segs);
	memset(ln, 0, sizeof(*ln));
}

/* Start a segment for @fd unless the current one already writes there. */
static void line_fd(struct tc_line *ln, int fd)
{
	if (ln->nsegs && ln->segs[ln->nsegs - 1].fd == fd)
		return;
	if (ln->nsegs && ln->segs[ln->nsegs - 1].len == 0) {
		ln->segs[ln->nsegs - 1].fd = fd;
		return;
	}
	if (ln->nsegs == ln->segcap) {
		size_t ncap = ln->segcap ? ln->segcap * 2 : 2;
		struct tc_seg *ns = realloc(ln->segs, ncap * sizeof(*ns));

		if (!ns) {
			ln->oom = 1;
			return;
		}
		ln->segs = ns;
		ln->segcap = ncap;
	}
	ln->segs[ln->nsegs].fd = fd;
	ln->segs[ln->nsegs].off = ln->len;
	ln->segs[ln->nsegs].len = 0;
	ln->nsegs++;
}

static void line_put(struct tc_line *ln, const char *s, size_t n)
{
	if (ln->oom || !ln->nsegs)
		return;
	if (ln->len + n + 1 > ln->cap) {
		size_t ncap = ln->cap ? ln->cap : 128;
		char *nb;

		while (ln->len + n + 1 > ncap)
			ncap *= 2;
		nb = realloc(ln->buf, ncap);
		if (!nb) {
			ln->oom = 1;
			return;
		}
		ln->buf = nb;
		ln->cap = ncap;
	}
	memcpy(ln->buf + ln->len, s, n);
	ln->len += n;
	ln->buf[ln->len] = '\0';
	ln->segs[ln->nsegs - 1].len += n;
}

static void __attribute__((format(printf, 2, 3)))
line_printf(struct tc_line *ln, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		line_put(ln, tmp,
			 (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* "%123": the descriptor named, and the digits consumed in *@len. */
static int parse_fd(const char *s, size_t *len)
{
	long v = 0;
	size_t i = 0;

	while (s[i] >= '0' && s[i] <= '9') {
		if (v <= MAX_FD)
			v = v * 10 + (s[i] - '0');
		i++;
	}
	*len = i;
	return v > MAX_FD ? 1 : (int)v;
}

static char escape_char(char c)
{
	switch (c) {
	case 'a':
		return '\a';
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'v':
		return '\v';
	default:
		return c;
	}
}

/* x / seconds, or 0 over an empty span. */
static double per_s(double x, uint64_t ns)
{
	return ns ? (double)(x / ((long double)ns / NS_PER_S)) : 0.0;
}

/* Expand the format for one interval into @ln (tcpstat's show_interval). */
static void format_ival(const struct tcpstat *t, const struct tc_ival *iv,
			struct tc_line *ln)
{
	double avg = 0, sd = 0;
	long double mid, rel0, rel1;
	const char *f = t->format;

	if (iv->packets) {
		unsigned __int128 n = iv->packets, s = iv->sum;
		/* n^2 var = n sum2 - sum^2, exact and never negative */
		unsigned __int128 v = n * iv->sum2 - s * s;

		avg = (double)iv->sum / (double)iv->packets;
		sd = sqrt((double)v) / (double)iv->packets;
	}
	mid = (long double)iv->begin_ns / NS_PER_S +
	      (long double)iv->delta_ns / (2 * NS_PER_S);
	rel0 = (long double)t->relative_s;
	rel1 = rel0 + (long double)t->bigbang_ns / NS_PER_S;

	line_reset(ln);
	line_fd(ln, 1);
	while (*f) {
		char c = *f++;

		if (c == '\\') {
			if (!*f)
				break;
			c = escape_char(*f++);
			line_put(ln, &c, 1);
			continue;
		}
		if (c != '%') {
			line_put(ln, &c, 1);
			continue;
		}
		c = *f;
		if (!c) {
			line_put(ln, "%", 1);
			break;
		}
		f++;
		switch (c) {
		case 'A':
			line_printf(ln, "%" PRIu64, iv->arp);
			break;
		case 'a':
			line_printf(ln, "%.2f", avg);
			break;
		case 'B':
			line_printf(ln, "%.2f",
				    per_s((double)iv->sum, iv->delta_ns));
			break;
		case 'b':
			line_printf(ln, "%.2f",
				    per_s((double)iv->sum, iv->delta_ns) * 8.0);
			break;
		case 'C':
			line_printf(ln, "%" PRIu64, iv->icmp);
			break;
		case 'd':
			line_printf(ln, "%.2f", sd);
			break;
		case 'I':
			line_printf(ln, "%" PRIu64, iv->ip);
			break;
		case 'l':
			line_printf(ln, "%.2f",
				    iv->peak == 0.0 ? 1.0
						    : iv->load / iv->peak);
			break;
		case 'M':
			line_printf(ln, "%" PRIu32, iv->max);
			break;
		case 'm':
			line_printf(ln, "%" PRIu32, iv->min);
			break;
		case 'N':
			line_printf(ln, "%" PRIu64, iv->sum);
			break;
		case 'n':
			line_printf(ln, "%" PRIu64, iv->packets);
			break;
		case 'p':
			line_printf(ln, "%.2f",
				    per_s((double)iv->packets, iv->delta_ns));
			break;
		case 'R':
			line_printf(ln, "%lld", (long long)(mid + 0.5L - rel1));
			break;
		case 'r':
			line_printf(ln, "%.6Lf", mid - rel1);
			break;
		case 'S':
			line_printf(ln, "%lld", (long long)(mid + 0.5L - rel0));
			break;
		case 's':
			line_printf(ln, "%.6Lf", mid - rel0);
			break;
		case 'T':
			line_printf(ln, "%" PRIu64, iv->tcp);
			break;
		case 'U':
			line_printf(ln, "%" PRIu64, iv->udp);
			break;
		case 'V':
			line_printf(ln, "%" PRIu64, iv->ip6);
			break;
		case '%':
			line_put(ln, "%", 1);
			break;
		default:
			if (c >= '0' && c <= '9') {
				size_t n;

				line_fd(ln, parse_fd(f - 1, &n));
				f += n - 1;
			} else {
				char two[2] = { '%', c };

				line_put(ln, two, 2);
			}
			break;
		}
	}
}

/* ---- the queue ------------------------------------------------------ */

static size_t out_size(const struct tc_out *o)
{
	return sizeof(*o) + (o->type == OUT_TEXT ? o->line.cap : 0);
}

static void out_free(struct tc_out *o)
{
	line_free(&o->line);
	free(o);
}

static void enqueue(struct tcpstat *t, struct tc_out *o)
{
	pthread_mutex_lock(&t->lock);
	o->next = NULL;
	*t->tail = o;
	t->tail = &o->next;
	t->queued += out_size(o);
	pthread_mutex_unlock(&t->lock);
}

int tcpstat_wait_room(struct tcpstat *t)
{
	struct timespec until;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (t->queued > TCPSTAT_QUEUE_MAX && !t->released) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TCPSTAT_WAIT_MS / 1000;
		until.tv_nsec += (TCPSTAT_WAIT_MS % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (t->queued > TCPSTAT_QUEUE_MAX && !t->released) {
			if (pthread_cond_timedwait(&t->drained, &t->lock,
						   &until) == ETIMEDOUT) {
				rc = -ETIMEDOUT;
				break;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Queue one formatted interval; a line that ran out of memory is lost. */
static void emit(struct tcpstat *t, const struct tc_ival *iv)
{
	struct tc_out *o = calloc(1, sizeof(*o));

	if (!o)
		return;
	o->type = OUT_TEXT;
	format_ival(t, iv, &o->line);
	if (o->line.oom) {
		out_free(o);
		return;
	}
	enqueue(t, o);
}

static void __attribute__((format(printf, 2, 3)))
emit_text(struct tcpstat *t, const char *fmt, ...)
{
	struct tc_out *o = calloc(1, sizeof(*o));
	char tmp[256];
	va_list ap;
	int n;

	if (!o)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	o->type = OUT_TEXT;
	line_fd(&o->line, 1);
	if (n > 0)
		line_put(&o->line, tmp, (size_t)n);
	if (o->line.oom) {
		out_free(o);
		return;
	}
	enqueue(t, o);
}

static void emit_zeros(struct tcpstat *t, uint64_t begin_ns, uint64_t count,
		       double load, double decay)
{
	struct tc_out *o = calloc(1, sizeof(*o));

	if (!o)
		return;
	o->type = OUT_ZEROS;
	o->begin_ns = begin_ns;
	o->count = count;
	o->load = load;
	o->decay = decay;
	o->peak = t->peak;
	enqueue(t, o);
}

/* ---- intervals ------------------------------------------------------- */

static void reset_counts(struct tc_ival *iv)
{
	memset(iv, 0, sizeof(*iv));
}

/*
 * Close the current interval (tcpstat's do_the_printing). @elapsed_ns is
 * the time from its start to @ts_ns, the time that closes it; unless the
 * close was requested (SIGUSR1) it counts as exactly one interval, and
 * the empty intervals between its end and @ts_ns follow it.
 */
static void close_interval(struct tcpstat *t, uint64_t elapsed_ns,
			   uint64_t ts_ns, int requested)
{
	uint64_t iv_ns = t->interval_ns;
	double e, bps, over_bps, decay;
	uint64_t n = 0;

	if (!requested && iv_ns)
		elapsed_ns = iv_ns;
	e = (double)((long double)elapsed_ns / NS_PER_S);

	bps = per_s((double)t->cur.sum, elapsed_ns) * 8.0;
	if (bps > t->peak)
		t->peak = bps;
	if (!t->load_set) {
		t->load = bps;
		t->load_set = 1;
	}
	t->load += (bps - t->load) * (1.0 - exp(-e / 60.0));

	over_bps = per_s((double)t->cur.sum + t->smartb, elapsed_ns) * 8.0;
	if (elapsed_ns && over_bps > t->bandwidth)
		t->total_over += e;

	if (t->mode == TCPSTAT_MODE_INTERVAL &&
	    (!(t->flags & TCPSTAT_SKIP_EMPTY) || t->cur.packets)) {
		t->cur.begin_ns = t->begin_ns;
		if (iv_ns)
			t->cur.delta_ns = elapsed_ns;
		else
			t->cur.delta_ns = t->now_ns > t->begin_ns
						  ? t->now_ns - t->begin_ns
						  : 0;
		t->cur.load = t->load;
		t->cur.peak = t->peak;
		emit(t, &t->cur);
	}
	t->begin_ns += elapsed_ns;
	t->total_time += e;

	/* The empty intervals that end before @ts_ns. */
	if (iv_ns && ts_ns > t->begin_ns)
		n = (ts_ns - t->begin_ns + iv_ns - 1) / iv_ns - 1;
	if (n) {
		decay = exp(-(double)((long double)iv_ns / NS_PER_S) / 60.0);
		if (t->mode == TCPSTAT_MODE_INTERVAL &&
		    !(t->flags & TCPSTAT_SKIP_EMPTY))
			emit_zeros(t, t->begin_ns, n, t->load, decay);
		t->begin_ns += n * iv_ns;
		t->total_time += (double)((long double)(n * iv_ns) / NS_PER_S);
		if (n < 1000000) {
			for (uint64_t k = 0; k < n; k++)
				t->load -= t->load * (1.0 - decay);
		} else {
			t->load *= pow(decay, (double)n);
		}
	}

	reset_counts(&t->cur);
	t->smartb = 0;
	if (t->mode == TCPSTAT_MODE_BANDWIDTH && over_bps > t->bandwidth)
		t->smartb = (over_bps - t->bandwidth) * e / 8.0;
	if (requested)
		__atomic_store_n(&t->print_req, 0, __ATOMIC_RELAXED);
}

static uint32_t link_len(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return 14;
	case DLT_LINUX_SLL:
		return 16;
	case DLT_LINUX_SLL2:
		return 20;
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_PPP:
		return 4;
	default:
		return 0;
	}
}

uint32_t tcpstat_packet_size(const struct dec_pkt *d, int dlt, uint32_t wirelen,
			     int flags)
{
	uint32_t hdr;

	if (flags & TCPSTAT_LINK)
		return wirelen;
	hdr = d->l3_off ? d->l3_off : link_len(dlt);
	return wirelen > hdr ? wirelen - hdr : 0;
}

/* Close what is due at @ts_ns (a packet or the clock). */
static void maybe_close(struct tcpstat *t, uint64_t ts_ns)
{
	uint64_t elapsed = ts_ns > t->begin_ns ? ts_ns - t->begin_ns : 0;
	int req = __atomic_load_n(&t->print_req, __ATOMIC_RELAXED);

	if ((t->interval_ns && elapsed > t->interval_ns) || (req && elapsed))
		close_interval(t, elapsed, ts_ns, req);
}

void tcpstat_packet(struct tcpstat *t, const struct dec_pkt *d, int dlt,
		    uint32_t wirelen, uint64_t ts_ns)
{
	struct tc_ival *c = &t->cur;
	uint32_t size;

	if (t->finished)
		return;
	if (!t->started) {
		t->started = 1;
		t->bigbang_ns = t->begin_ns = t->now_ns = ts_ns;
	}
	if (t->capture_ns && ts_ns > t->bigbang_ns &&
	    ts_ns - t->bigbang_ns > t->capture_ns)
		return;
	maybe_close(t, ts_ns);
	if (ts_ns > t->now_ns)
		t->now_ns = ts_ns;

	size = tcpstat_packet_size(d, dlt, wirelen, t->flags);
	c->packets++;
	c->sum += size;
	c->sum2 += (unsigned __int128)((uint64_t)size * size);
	t->total_bytes += size;
	if (size > c->max)
		c->max = size;
	if (size < c->min || c->min == 0)
		c->min = size;

	switch (d->kind) {
	case KIND_ARP:
		c->arp++;
		return;
	case KIND_TCP4:
	case KIND_UDP4:
	case KIND_ICMP4:
	case KIND_IP4:
		c->ip++;
		break;
	case KIND_TCP6:
	case KIND_UDP6:
	case KIND_ICMP6:
	case KIND_IP6:
		c->ip6++;
		break;
	default:
		return;
	}
	switch (d->ipproto) {
	case 6:
		c->tcp++;
		break;
	case 17:
		c->udp++;
		break;
	case 1:
	case 58:
		c->icmp++;
		break;
	default:
		break;
	}
}

void tcpstat_advance(struct tcpstat *t, uint64_t now_ns)
{
	if (!t->started || t->finished)
		return;
	maybe_close(t, now_ns);
}

void tcpstat_request_print(struct tcpstat *t)
{
	__atomic_store_n(&t->print_req, 1, __ATOMIC_RELAXED);
}

void tcpstat_release(struct tcpstat *t)
{
	pthread_mutex_lock(&t->lock);
	t->released = 1;
	pthread_cond_broadcast(&t->drained);
	pthread_mutex_unlock(&t->lock);
}

/* tcpstat's human-readable byte count: "%8.1f KB" (1024-based). */
static void wr_bytes(double b, char *buf, size_t len)
{
	const double kil = 1024.0, meg = kil * 1024.0, gig = meg * 1024.0;

	if (b > gig)
		snprintf(buf, len, "%8.1f GB", b / gig);
	else if (b > meg)
		snprintf(buf, len, "%8.1f MB", b / meg);
	else if (b > kil)
		snprintf(buf, len, "%8.1f KB", b / kil);
	else
		snprintf(buf, len, "%8.1f  B", b);
}

static void summaries(struct tcpstat *t)
{
	static const struct {
		const char *name;
		double secs;
	} per[] = {
		{ "sec", 1 },	  { "minute", 60 },	     { "hour", 3600 },
		{ "day", 86400 }, { "month", 86400.0 * 30 },
	};
	char b[64];
	double x;

	switch (t->mode) {
	case TCPSTAT_MODE_ACCOUNT:
		x = t->total_time > 0 ? (double)t->total_bytes / t->total_time
				      : 0.0;
		for (size_t i = 0; i < sizeof(per) / sizeof(per[0]); i++) {
			wr_bytes(x * per[i].secs, b, sizeof(b));
			emit_text(t, "Bytes/%s\t= %s\n", per[i].name, b);
		}
		break;
	case TCPSTAT_MODE_BANDWIDTH:
	case TCPSTAT_MODE_DUMB_BANDWIDTH:
		emit_text(t,
			  "%sTime exceeding %.2f bps:\t%.2f sec.\t"
			  "(%.2f%% of the time)\n",
			  t->mode == TCPSTAT_MODE_BANDWIDTH ? "" : "(Raw) ",
			  t->bandwidth, t->total_over,
			  t->total_time > 0
				  ? 100.0 * t->total_over / t->total_time
				  : 0.0);
		emit_text(t, "Peak Bandwidth: %.2f bps\n", t->peak);
		break;
	default:
		break;
	}
}

void tcpstat_finish(struct tcpstat *t)
{
	uint64_t x, r, n;

	if (t->finished)
		return;
	t->finished = 1;
	if (!t->started) {
		summaries(t);
		return;
	}
	x = t->interval_ns ? t->interval_ns : t->now_ns - t->bigbang_ns;
	close_interval(t, x, t->now_ns, 0);

	/* -s: empty intervals up to the capture length (tcpstat pads the
	 * file's output as if it had lasted that long). */
	r = t->now_ns - t->bigbang_ns;
	if (t->mode == TCPSTAT_MODE_INTERVAL && t->capture_ns &&
	    t->interval_ns && r + x < t->capture_ns) {
		double decay = exp(-(double)((long double)x / NS_PER_S) / 60.0);

		/* one per k >= 1 with r + k x < capture */
		n = (t->capture_ns - r + x - 1) / x - 1;
		if (!(t->flags & TCPSTAT_SKIP_EMPTY))
			emit_zeros(t, t->begin_ns, n, t->load, decay);
		t->begin_ns += n * x;
		t->total_time += (double)((long double)(n * x) / NS_PER_S);
	}
	summaries(t);
}

/* ---- draining --------------------------------------------------------- */

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_line(const struct tc_line *ln, FILE *out)
{
	int rc = 0;

	for (size_t i = 0; i < ln->nsegs; i++) {
		const struct tc_seg *s = &ln->segs[i];
		int r = 0;

		if (!s->len)
			continue;
		if (s->fd == 1) {
			if (fwrite(ln->buf + s->off, 1, s->len, out) != s->len)
				r = errno ? -errno : -EIO;
		} else {
			r = write_all(s->fd, ln->buf + s->off, s->len);
		}
		if (r && !rc)
			rc = r;
	}
	return rc;
}

/* Format and write a run of empty intervals. */
static int write_zeros(const struct tcpstat *t, const struct tc_out *o,
		       FILE *out, struct tc_line *ln)
{
	struct tc_ival iv;
	double load = o->load;
	int rc = 0;

	memset(&iv, 0, sizeof(iv));
	iv.delta_ns = t->interval_ns;
	iv.peak = o->peak;
	for (uint64_t k = 0; k < o->count; k++) {
		int r;

		load -= load * (1.0 - o->decay);
		iv.begin_ns = o->begin_ns + k * t->interval_ns;
		iv.load = load;
		format_ival(t, &iv, ln);
		if (ln->oom)
			return -ENOMEM;
		r = write_line(ln, out);
		if (r) {
			rc = r;
			break;
		}
	}
	return rc;
}

int tcpstat_drain(struct tcpstat *t, FILE *out)
{
	struct tc_out *list, *o;
	struct tc_line ln;
	int rc = 0, lines = 0;

	pthread_mutex_lock(&t->lock);
	list = t->head;
	t->head = NULL;
	t->tail = &t->head;
	t->queued = 0;
	pthread_cond_broadcast(&t->drained);
	pthread_mutex_unlock(&t->lock);

	memset(&ln, 0, sizeof(ln));
	while ((o = list)) {
		int r = 0;

		list = o->next;
		if (!rc) {
			if (o->type == OUT_TEXT) {
				r = write_line(&o->line, out);
				lines++;
			} else {
				r = write_zeros(t, o, out, &ln);
				lines += (int)o->count;
			}
			if (r)
				rc = r;
		}
		out_free(o);
	}
	line_free(&ln);
	if (fflush(out) != 0 && !rc)
		rc = errno ? -errno : -EIO;
	return rc ? rc : lines;
}

/* ---- set-up ------------------------------------------------------------ */

/* Every "%N" descriptor of @fmt must be safe to write to. */
static int check_fds(const char *fmt, char *err, size_t errlen)
{
	for (const char *f = fmt; *f; f++) {
		struct stat st;
		size_t n;
		int fd, fl;

		if (*f == '\\' && f[1]) {
			f++;
			continue;
		}
		if (*f != '%' || !f[1])
			continue;
		f++;
		if (*f < '0' || *f > '9')
			continue;
		fd = parse_fd(f, &n);
		f += n - 1;
		if (fd == 1)
			continue;
		fl = fcntl(fd, F_GETFL);
		if (fl < 0) {
			snprintf(err, errlen, "-o: descriptor %d is not open",
				 fd);
			return -EBADF;
		}
		if ((fl & O_ACCMODE) == O_RDONLY) {
			snprintf(err, errlen,
				 "-o: descriptor %d is not open for writing",
				 fd);
			return -EBADF;
		}
		if (fstat(fd, &st) < 0 ||
		    !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
		      S_ISCHR(st.st_mode))) {
			snprintf(err, errlen,
				 "-o: descriptor %d is not a file, pipe or "
				 "terminal",
				 fd);
			return -EBADF;
		}
	}
	return 0;
}

struct tcpstat *tcpstat_new(const struct tcpstat_conf *conf, char *err,
			    size_t errlen)
{
	struct tcpstat *t;
	const char *fmt = conf->format ? conf->format : TCPSTAT_DEFAULT_FORMAT;

	if ((conf->mode == TCPSTAT_MODE_BANDWIDTH ||
	     conf->mode == TCPSTAT_MODE_DUMB_BANDWIDTH) &&
	    !(conf->bandwidth_bps > 0)) {
		snprintf(err, errlen, "%s: the bandwidth must be above 0 bps",
			 conf->mode == TCPSTAT_MODE_BANDWIDTH ? "-b" : "-B");
		return NULL;
	}
	if (conf->relative_s < 0) {
		snprintf(err, errlen, "-R: must not be negative");
		return NULL;
	}
	if (conf->mode == TCPSTAT_MODE_INTERVAL && check_fds(fmt, err, errlen))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->format = strdup(fmt))) {
		free(t);
		snprintf(err, errlen, "tcpstat: out of memory");
		return NULL;
	}
	t->interval_ns = conf->interval_ns;
	t->capture_ns = conf->capture_ns;
	/* tcpstat: an interval longer than the capture becomes all of it */
	if (t->capture_ns && t->capture_ns < t->interval_ns)
		t->interval_ns = 0;
	t->flags = conf->flags;
	t->mode = conf->mode;
	t->bandwidth = t->mode == TCPSTAT_MODE_BANDWIDTH ||
				       t->mode == TCPSTAT_MODE_DUMB_BANDWIDTH
			       ? conf->bandwidth_bps
			       : 0.0;
	t->relative_s = conf->relative_s;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->drained, NULL);
	t->tail = &t->head;
	return t;
}

void tcpstat_free(struct tcpstat *t)
{
	struct tc_out *o;

	if (!t)
		return;
	while ((o = t->head)) {
		t->head = o->next;
		out_free(o);
	}
	pthread_cond_destroy(&t->drained);
	pthread_mutex_destroy(&t->lock);
	free(t->format);
	free(t);
}
