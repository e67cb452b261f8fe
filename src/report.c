/*
 * report.c - text, JSON and CSV reports from a snapshot, and the report
 * file (through savefile.c's safe writer).
 *
 * Pure with respect to the run: reads a snapshot owned by the caller,
 * writes to a FILE. The per-direction flow fields are declared once in a
 * table that serves every format (iproute2 ss's habit). Any thread, one
 * snapshot per thread.
 *
 * Speed matters here: the final report is on the exit path (the stop-time
 * target) and is most of the work of `-r` on a file with many flows. Rows
 * are built in the output buffer (ob.h) with numfmt.h's number writers
 * (stdio's per-field formatting would dominate), each side's text is
 * formatted once per row direction, one writer goes straight through a
 * row's fields with fixed-size copies of padded separators and texts, and
 * the sort compares integers first. A long report is written by the
 * buffer's writer thread while the rows are formatted.
 */
#include "report.h"
#include "group.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "procs.h"
#include "counters.h"
#include "filterlog.h"
#include "flowkey.h"
#include "mem.h"
#include "numfmt.h"
#include "ob.h"
#include "savefile.h"

/* Rows from which a writer thread pays: a few megabytes of output. */
#define OB_WRITER_ROWS 10000

/* printf's "%.Nf" of @v into the buffer: numfmt_fixed, or printf itself. */
static void ob_fixed(struct ob *o, double v, int prec)
{
	char t[24];
	char *e = numfmt_fixed(t, v, prec);

	if (e)
		ob_mem(o, t, (size_t)(e - t));
	else
		ob_printf(o, "%.*f", prec, v);
}

/* numfmt_bitrate into the buffer, or printf when it cannot. */
static void ob_bitrate(struct ob *o, double bps)
{
	char t[32];
	char *e = numfmt_bitrate(t, bps);
	int u;

	if (e) {
		ob_mem(o, t, (size_t)(e - t));
		return;
	}
	u = numfmt_rate_scale(&bps);
	ob_printf(o, "%.2f %s", bps, numfmt_rate_units[u]);
}

void report_format_bitrate(double bps, char *buf, size_t len)
{
	int u = numfmt_rate_scale(&bps);

	snprintf(buf, len, "%.2f %s", bps, numfmt_rate_units[u]);
}

/* Write @s as a JSON string: every control byte and non-ASCII escaped, so
 * the output is valid JSON whatever bytes a name contains. */
static void json_str(struct ob *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : ""), *run = p;

	ob_putc(o, '"');
	for (; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			continue;
		ob_mem(o, run, (size_t)(p - run));
		run = p + 1;
		if (*p == '"' || *p == '\\') {
			ob_putc(o, '\\');
			ob_putc(o, (char)*p);
		} else {
			char e[6] = { '\\', 'u',	  '0',
				      '0',  hex[*p >> 4], hex[*p & 15] };

			ob_mem(o, e, sizeof(e));
		}
	}
	ob_mem(o, run, (size_t)(p - run));
	ob_putc(o, '"');
}

/* CSV: a quoted field, quotes doubled, control bytes as '?'. */
static void csv_str(struct ob *o, const char *s)
{
	ob_putc(o, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '"')
			ob_mem(o, "\"\"", 2);
		else
			ob_putc(o, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
	ob_putc(o, '"');
}

/* Text output: a name from the network is printed with control bytes
 * replaced, so it cannot drive the terminal. */
static void text_str(struct ob *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : ""), *run = p;

	for (; *p; p++) {
		if (*p >= 0x20 && *p != 0x7f)
			continue;
		ob_mem(o, run, (size_t)(p - run));
		ob_putc(o, '?');
		run = p + 1;
	}
	ob_mem(o, run, (size_t)(p - run));
}

/* @ns as ISO-8601 UTC with microseconds ("2026-12-06T21:00:05.250000Z");
 * "" for 0 (no time: a file without packets). */
static void iso_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	buf[0] = 0;
	if (!ns || !gmtime_r(&t, &tm))
		return;
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%06uZ",
		 (unsigned)(ns % 1000000000ull / 1000));
}

/* @ns as a JSON value: iso_time's string, or null for 0. */
static void fmt_time(uint64_t ns, char *buf, size_t len)
{
	char iso[48];

	iso_time(ns, iso, sizeof(iso));
	if (!iso[0])
		snprintf(buf, len, "null");
	else
		snprintf(buf, len, "\"%s\"", iso);
}

enum report_format report_format_for(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;

	if (dot && strcasecmp(dot, ".json") == 0)
		return REPORT_JSON;
	if (dot && strcasecmp(dot, ".csv") == 0)
		return REPORT_CSV;
	return REPORT_TEXT;
}

/* ---- rows: one per direction of a flow, sorted -------------------------- */

/*
 * One direction of one flow, as reports print it, in the order: bytes
 * descending, packets descending, the flow key's order (flowkey_cmp),
 * the direction. @ord holds bytes (high 48 bits) and packets (low 16),
 * each saturated, and @kpre, @kpre2 the key's leading fields, so
 * comparisons touch the row only when all of them are equal or a figure
 * saturated. 32 bytes, up to two entries a flow. @rowdir is the row's
 * address with the direction (FLOW_DIR_AB: src = A) in its low bit; the
 * row is in the snapshot's copy or, for a stopped table, the flow itself.
 */
struct report_dir {
	uint64_t ord, kpre, kpre2;
	uintptr_t rowdir;
};
#define ORD_PKTS_BITS 16
#define ORD_PKTS_SAT ((UINT64_C(1) << ORD_PKTS_BITS) - 1)
#define ORD_BYTES_SAT ((UINT64_C(1) << (64 - ORD_PKTS_BITS)) - 1)

static inline const struct flowtab_row *dir_row(const struct report_dir *d)
{
	return (const struct flowtab_row *)(d->rowdir & ~(uintptr_t)1);
}

static inline int dir_dir(const struct report_dir *d)
{
	return (int)(d->rowdir & 1);
}

/*
 * The first fields flowkey_cmp compares, packed into two words so that
 * integer order is its order: the kind's byte (with the interface),
 * then side A's address; for
 * 4-byte families, whose remaining address bytes are always zero, A's
 * port, B's address and port and the VLAN.
 */
static void key_prefix(const struct flow_key *k, uint64_t *p1, uint64_t *p2)
{
	uint64_t p = (uint64_t)k->kind_byte << 56, q;

	if (flowkey_family(k->kind) == 4) {
		*p1 = p | (uint64_t)k->a[0] << 48 | (uint64_t)k->a[1] << 40 |
		      (uint64_t)k->a[2] << 32 | (uint64_t)k->a[3] << 24 |
		      (uint64_t)k->aport << 8;
		*p2 = (uint64_t)k->b[0] << 56 | (uint64_t)k->b[1] << 48 |
		      (uint64_t)k->b[2] << 40 | (uint64_t)k->b[3] << 32 |
		      (uint64_t)k->bport << 16 | k->vlan;
		return;
	}
	/* big-endian loads: a[0..7) under the kind, a[7..15) */
	memcpy(&q, k->a, 8);
	*p1 = p | __builtin_bswap64(q) >> 8;
	memcpy(&q, k->a + 7, 8);
	*p2 = __builtin_bswap64(q);
}

static inline int dir_order(const struct report_dir *a,
			    const struct report_dir *b)
{
	uint64_t ax = a->ord >> ORD_PKTS_BITS, bx = b->ord >> ORD_PKTS_BITS;
	int c;

	if (ax == bx && ax == ORD_BYTES_SAT) {
		ax = dir_row(a)->bytes[dir_dir(a)];
		bx = dir_row(b)->bytes[dir_dir(b)];
	}
	if (ax != bx)
		return ax > bx ? -1 : 1;
	/* equal bytes are common (a scan, a flood): compare without
	 * reading the rows, scattered over megabytes, while we can */
	ax = a->ord & ORD_PKTS_SAT;
	bx = b->ord & ORD_PKTS_SAT;
	if (ax == bx && ax == ORD_PKTS_SAT) {
		ax = dir_row(a)->pkts[dir_dir(a)];
		bx = dir_row(b)->pkts[dir_dir(b)];
	}
	if (ax != bx)
		return ax > bx ? -1 : 1;
	if (a->kpre != b->kpre)
		return a->kpre < b->kpre ? -1 : 1;
	if (a->kpre2 != b->kpre2)
		return a->kpre2 < b->kpre2 ? -1 : 1;
	c = flowkey_cmp(&dir_row(a)->key, &dir_row(b)->key);
	if (c)
		return c;
	return dir_dir(a) - dir_dir(b);
}

static inline void dir_swap(struct report_dir *a, struct report_dir *b)
{
	struct report_dir t = *a;

	*a = *b;
	*b = t;
}

/* Heapsort: the introsort's guard against a quadratic partitioning. */
static void dir_heapsort(struct report_dir *d, size_t n)
{
	for (size_t end = n, i = n / 2; end > 1;) {
		size_t r, c;

		if (i > 0) {
			r = --i;
		} else {
			dir_swap(&d[0], &d[--end]);
			r = 0;
		}
		while ((c = 2 * r + 1) < end) {
			if (c + 1 < end && dir_order(&d[c], &d[c + 1]) < 0)
				c++;
			if (dir_order(&d[r], &d[c]) >= 0)
				break;
			dir_swap(&d[r], &d[c]);
			r = c;
		}
	}
}

/*
 * Sort @d[0..n) in place (an introsort with the comparison inlined:
 * qsort's calls through a pointer were half the sort's cost, and a merge
 * sort's scratch is memory the exit would fault in). No two entries are
 * equal: the direction breaks the last tie.
 */
static void dir_sort(struct report_dir *d, size_t n, unsigned int depth)
{
	while (n > 16) {
		struct report_dir p;
		size_t i = 0, j = n - 1, m = n / 2;

		if (!depth--) {
			dir_heapsort(d, n);
			return;
		}
		/* median of three; d[0] and d[n - 1] then bound both scans */
		if (dir_order(&d[m], &d[0]) < 0)
			dir_swap(&d[m], &d[0]);
		if (dir_order(&d[n - 1], &d[0]) < 0)
			dir_swap(&d[n - 1], &d[0]);
		if (dir_order(&d[n - 1], &d[m]) < 0)
			dir_swap(&d[n - 1], &d[m]);
		p = d[m];
		for (;;) {
			while (dir_order(&d[++i], &p) < 0)
				;
			while (dir_order(&p, &d[--j]) < 0)
				;
			if (i >= j)
				break;
			dir_swap(&d[i], &d[j]);
		}
		/* [0, j] before or at p, (j, n) at or after it: the smaller
		 * side by recursion, the larger by the loop */
		if (j + 1 < n - j - 1) {
			dir_sort(d, j + 1, depth);
			d += j + 1;
			n -= j + 1;
		} else {
			dir_sort(d + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	for (size_t a = 1; a < n; a++) {
		struct report_dir x = d[a];
		size_t b = a;

		for (; b > 0 && dir_order(&x, &d[b - 1]) < 0; b--)
			d[b] = d[b - 1];
		d[b] = x;
	}
}

/* Entries of the region split_dirs builds: two a flow at most. */
static size_t dirs_room(size_t nrows)
{
	return nrows * 2 + 1;
}

/* The introsort's depth limit for @n entries: twice its log2. */
static unsigned int sort_depth(size_t n)
{
	unsigned int depth = 0;

	for (; n > 1; n >>= 1)
		depth += 2;
	return depth;
}

struct dir_run {
	struct report_dir *d;
	size_t n;
};

static void *dir_run_sort(void *arg)
{
	struct dir_run *r = arg;

	dir_sort(r->d, r->n, sort_depth(r->n));
	return NULL;
}

/*
 * Lists at least this long are sorted as two halves on two threads (at
 * exit the other CPU is free), merged as they are printed (dir_next).
 */
#define DIR_SPLIT_MIN 32768

/*
 * Build the direction-split list in one mem_alloc_big region of
 * dirs_room(s->nrows) entries (caller frees): huge pages, faulted in as
 * the list reaches them; at exit, page faults 4 KiB at a time would cost
 * more than the sort. It comes back as two sorted runs, [0, *h) and
 * [*h, *n); the second is empty when the list was sorted whole.
 */
static struct report_dir *split_dirs(const struct snapshot *s, size_t *n,
				     size_t *h)
{
	struct snapshot_iter it = { 0 };
	const struct flowtab_row *r;
	struct report_dir *d;
	struct dir_run run;
	pthread_t tid;
	size_t k = 0;

	if (s->nrows >= SIZE_MAX / 4 / sizeof(*d))
		return NULL;
	d = mem_alloc_big(dirs_room(s->nrows) * sizeof(*d), 0);
	if (!d)
		return NULL;
	for (size_t i = 0; i < s->nrows && (r = snapshot_row_next(s, &it));
	     i++) {
		uint64_t pre, pre2;

		key_prefix(&r->key, &pre, &pre2);
		for (int dir = 0; dir < 2; dir++) {
			uint64_t b = r->bytes[dir], p = r->pkts[dir];

			if (!p)
				continue;
			d[k++] = (struct report_dir){
				(b < ORD_BYTES_SAT ? b : ORD_BYTES_SAT)
						<< ORD_PKTS_BITS |
					(p < ORD_PKTS_SAT ? p : ORD_PKTS_SAT),
				pre, pre2, (uintptr_t)r | (uintptr_t)dir
			};
		}
	}
	*n = k;
	*h = k / 2;
	run = (struct dir_run){ d + *h, k - *h };
	if (k >= DIR_SPLIT_MIN &&
	    pthread_create(&tid, NULL, dir_run_sort, &run) == 0) {
		dir_sort(d, *h, sort_depth(*h));
		pthread_join(tid, NULL);
	} else {
		*h = k;
		dir_sort(d, k, sort_depth(k));
	}
	return d;
}

/* The next entry of the two sorted runs [*i, h) and [*j, n) of @d. */
static const struct report_dir *dir_next(const struct report_dir *d, size_t *i,
					 size_t h, size_t *j, size_t n)
{
	if (*j < n && (*i == h || dir_order(&d[*j], &d[*i]) < 0))
		return &d[(*j)++];
	return &d[(*i)++];
}

/* ---- per-direction fields: the one definition all formats print --------- */

/*
 * The fields of a row, in the order every format prints them: the text
 * line has the first TEXT_FIELDS (dkorunic/pktstat's line), JSON and CSV
 * all of them.
 */
enum fld_id {
	F_BITRATE,
	F_PACKETS,
	F_SIZE,
	F_PROTO,
	F_SRC,
	F_DST,
	F_SRCIP,
	F_DSTIP,
	F_SRCPORT,
	F_DSTPORT,
	F_ICMPTYPE,
	F_IPPROTO,
	F_VLAN,
	F_FLOW,
	F_COUNT
};
#define TEXT_FIELDS F_SRCIP

/* FLD_STR values are text this file or flowkey.c made (addresses,
 * protocol names): printable ASCII without quotes or backslashes, so they
 * are written without escaping in every format. */
enum fld_type { FLD_STR, FLD_U64, FLD_RATE };
struct report_field {
	const char *json; /* JSON key and CSV header */
	const char *text; /* text label; the first TEXT_FIELDS have one */
	enum fld_type type;
};

/* dkorunic/pktstat's names first (srcIp ... bitrate), then ours. */
static const struct report_field report_fields[F_COUNT] = {
	[F_BITRATE] = { "bitrate", "bitrate", FLD_RATE },
	[F_PACKETS] = { "packets", "packets", FLD_U64 },
	[F_SIZE] = { "size", "bytes", FLD_U64 },
	[F_PROTO] = { "proto", "proto", FLD_STR },
	[F_SRC] = { "src", "src", FLD_STR },
	[F_DST] = { "dst", "dst", FLD_STR },
	[F_SRCIP] = { "srcIp", NULL, FLD_STR },
	[F_DSTIP] = { "dstIp", NULL, FLD_STR },
	[F_SRCPORT] = { "srcPort", NULL, FLD_U64 },
	[F_DSTPORT] = { "dstPort", NULL, FLD_U64 },
	[F_ICMPTYPE] = { "icmpType", NULL, FLD_U64 },
	[F_IPPROTO] = { "ipProto", NULL, FLD_U64 },
	[F_VLAN] = { "vlan", NULL, FLD_U64 },
	[F_FLOW] = { "flow", NULL, FLD_U64 },
};

/*
 * What one format puts around the values: before field f, sep[f] - the
 * separator, the JSON key or text label, the quote that closes the
 * previous value if it was a string and the one that opens this one if
 * it is; after the last field, sep[nf]. So in JSON, sep[F_SRC] is
 * "\",\"src\":\"". Each separator, and each protocol name, is
 * zero-padded to SEP_PAD bytes: a row writes it with one fixed-size copy
 * and keeps only its length.
 */
#define SEP_PAD 16
struct row_style {
	int nf;	  /* fields printed: TEXT_FIELDS or F_COUNT */
	int text; /* the text line: the bitrate with 2 decimals and a unit */
	int csv;
	char sep[F_COUNT + 1][SEP_PAD];
	uint8_t sep_len[F_COUNT + 1];
	char proto[KIND_COUNT][SEP_PAD];
	uint8_t proto_len[KIND_COUNT];
	/* JSON rows of an interval report (-l): ,"start":..,"end":.. */
	char stamp[192];
	/* several interfaces: each row names its own (row_iface) */
	int ifaces;
};

/* The style of @fmt (REPORT_JSON_ARRAY's rows are REPORT_JSON's). The
 * longest separator, "\",\"srcPort\":", is 12 bytes; one too long for
 * SEP_PAD would be cut (and tests/test_report.c would see it). */
static void row_style_init(struct row_style *st, enum report_format fmt)
{
	int quoted = fmt != REPORT_TEXT;

	memset(st, 0, sizeof(*st));
	st->text = fmt == REPORT_TEXT;
	st->csv = fmt == REPORT_CSV;
	st->nf = st->text ? TEXT_FIELDS : F_COUNT;
	for (int f = 0; f <= st->nf; f++) {
		int last = f == st->nf;
		const char *close =
			f && quoted && report_fields[f - 1].type == FLD_STR
				? "\""
				: "";
		const char *open =
			!last && quoted && report_fields[f].type == FLD_STR
				? "\""
				: "";
		char *s = st->sep[f];
		int n;

		if (fmt == REPORT_TEXT)
			n = last ? snprintf(s, SEP_PAD, "\n")
				 : snprintf(s, SEP_PAD, "%s%s: ", f ? ", " : "",
					    report_fields[f].text);
		else if (fmt == REPORT_CSV)
			n = snprintf(s, SEP_PAD, "%s%s%s", close,
				     last ? "\n"
				     : f  ? ","
					  : "",
				     open);
		else
			n = last ? snprintf(s, SEP_PAD, "%s}", close)
				 : snprintf(s, SEP_PAD, "%s%s\"%s\":%s", close,
					    f ? "," : "{",
					    report_fields[f].json, open);
		st->sep_len[f] = (uint8_t)(n < SEP_PAD ? n : SEP_PAD - 1);
	}
	for (int k = 0; k < KIND_COUNT; k++) {
		int n = snprintf(st->proto[k], SEP_PAD, "%s",
				 flowkey_proto_name(k));

		st->proto_len[k] = (uint8_t)(n < SEP_PAD ? n : SEP_PAD - 1);
	}
}

/* What a row prints: one direction of a flow, both sides' texts made
 * once (each is printed twice in JSON and CSV). */
struct fld_ctx {
	const struct snapshot *snap;
	const struct flowtab_row *row;
	int dir;
	double bitrate;
	struct flowkey_text t[2]; /* side A, side B */
};

static void fld_prepare(struct fld_ctx *c, const struct report_dir *d,
			double secs)
{
	c->row = dir_row(d);
	c->dir = dir_dir(d);
	c->bitrate = secs > 0 ? 8.0 * (double)c->row->bytes[c->dir] / secs : 0;
	flowkey_side_text(&c->row->key, 0, &c->t[0]);
	flowkey_side_text(&c->row->key, 1, &c->t[1]);
}

static uint16_t side_port(const struct flow_key *k, int side)
{
	return side ? k->bport : k->aport;
}

/* Room a row takes at most: each field and the end a padded separator
 * and at most FLOWKEY_TEXT_ROOM bytes (a copied text, 20 digits, a
 * bitrate numfmt_fixed or numfmt_bitrate prints). */
#define ROW_MAX ((F_COUNT + 1) * (SEP_PAD + FLOWKEY_TEXT_ROOM))

static inline char *put_sep(char *p, const struct row_style *st, int f)
{
	memcpy(p, st->sep[f], SEP_PAD);
	return p + st->sep_len[f];
}

/* @len bytes of text from @s, a flowkey_text's s or s + addr_off (so at
 * least FLOWKEY_TEXT_ROOM - 1 bytes are readable): one fixed-size copy. */
static inline char *put_text(char *p, const char *s, size_t len)
{
	memcpy(p, s, FLOWKEY_TEXT_ROOM - 1);
	return p + len;
}

/* The extra columns, in CSV (always, empty when unknown: icmpCode on all
 * but ICMP rows); then, for a live run that names processes
 * (snapshot.procs), the process's. */
static const char *const tail_cols[] = { "app", "appSource", "appDetail",
					 "icmpCode" };
static const char *const proc_cols[] = { "pid", "comm", "user", "cgroup" };

/*
 * The process of row @r's flow, where the run names them: pid, comm,
 * user and cgroup in JSON (each only when known), CSV columns (empty when
 * unknown), a "process:" line in text. Nothing at all when the snapshot
 * has no process store (a file): the reports of files stay as they were.
 */
static void row_proc(struct ob *o, const struct row_style *st,
		     const struct snapshot *s, const struct flowtab_row *r)
{
	struct procs_info pi;
	int side;

	if (!s || !s->procs)
		return;
	side = procs_lookup(s->procs, r, &pi);
	if (side < 0) {
		memset(&pi, 0, sizeof(pi));
		pi.uid = PROCS_UID_NONE;
	}
	if (st->csv) {
		ob_putc(o, ',');
		if (pi.pid)
			ob_printf(o, "%d", (int)pi.pid);
		ob_putc(o, ',');
		if (pi.pid)
			csv_str(o, pi.comm);
		ob_putc(o, ',');
		if (pi.user[0])
			csv_str(o, pi.user);
		ob_putc(o, ',');
		if (pi.pid && pi.cgroup[0])
			csv_str(o, pi.cgroup);
		return;
	}
	if (st->text) {
		if (side < 0 || (!pi.pid && !pi.user[0]))
			return;
		ob_puts(o, "\n    process: ");
		if (pi.pid) {
			text_str(o, pi.comm);
			ob_printf(o, "[%d]", (int)pi.pid);
		} else {
			ob_putc(o, '-');
		}
		if (pi.user[0]) {
			ob_puts(o, " user ");
			text_str(o, pi.user);
		}
		if (pi.pid && pi.cgroup[0]) {
			ob_puts(o, " cgroup ");
			text_str(o, pi.cgroup);
		}
		return;
	}
	if (pi.pid) {
		ob_printf(o, ",\"pid\":%d,\"comm\":", (int)pi.pid);
		json_str(o, pi.comm);
	}
	if (pi.user[0]) {
		ob_puts(o, ",\"user\":");
		json_str(o, pi.user);
	}
	if (pi.pid && pi.cgroup[0]) {
		ob_puts(o, ",\"cgroup\":");
		json_str(o, pi.cgroup);
	}
}

/*
 * The interface row @r's packets were captured on, in a run of several
 * (row_style's ifaces: a flow is per interface, flowkey.h); never
 * called with one, whose reports (and a file's) stay as they were.
 */
static const char *row_iface(const struct snapshot *s,
			     const struct flowtab_row *r)
{
	return r->key.iface < s->nifaces ? s->ifnames[r->key.iface] : "-";
}

/*
 * After the fixed fields: the row's app label, where known (JSON and
 * text leave it out when unknown; CSV has empty columns), and in CSV an
 * ICMP row's code (JSON has it after icmpType, text in the type).
 * The label comes from the payload, else from the ports ("http?" in
 * text, appSource "port").
 */
static void row_tail(struct ob *o, const struct row_style *st,
		     const struct fld_ctx *c)
{
	const struct flowtab_row *r = c->row;
	const struct snapshot *s = c->snap;
	unsigned int app = APP_WORD_ID(r->app);
	const char *src = "payload";
	char detail[APP_DETAIL_MAX] = "";
	int csv = st->csv;

	if (!app) {
		app = app_port_guess(r->key.ipproto, r->key.aport,
				     r->key.bport);
		src = "port";
	} else if (s && s->app_table) {
		flowtab_app_detail(s->app_table, r, detail, sizeof(detail));
	}
	if (csv) {
		ob_putc(o, ',');
		if (app) {
			ob_puts(o, app_name(app));
			ob_putc(o, ',');
			ob_puts(o, src);
		} else {
			ob_putc(o, ',');
		}
		ob_putc(o, ',');
		if (detail[0])
			csv_str(o, detail);
		ob_putc(o, ',');
		if (flowkey_is_icmp(r->key.kind))
			ob_printf(o, "%u", (unsigned int)r->key.bport);
		row_proc(o, st, s, r);
		if (st->ifaces) {
			ob_putc(o, ',');
			csv_str(o, row_iface(s, r));
		}
		return;
	}
	if (st->text) {
		/* a second, indented line (the original pktstat's place
		 * for "GET /path"): the line above stays dkorunic's */
		if (app) {
			ob_puts(o, "\n    app: ");
			ob_puts(o, app_name(app));
			if (*src == 'p' && src[1] == 'o')
				ob_putc(o, '?');
			if (detail[0]) {
				ob_puts(o, " (");
				text_str(o, detail);
				ob_putc(o, ')');
			}
		}
		row_proc(o, st, s, r);
		if (st->ifaces) {
			ob_puts(o, "\n    interface: ");
			text_str(o, row_iface(s, r));
		}
		return;
	}
	if (st->stamp[0])
		ob_puts(o, st->stamp);
	if (st->ifaces) {
		ob_puts(o, ",\"iface\":");
		json_str(o, row_iface(s, r));
	}
	if (app) {
		/* names and sources are identifiers (test_app): no escapes */
		ob_puts(o, ",\"app\":\"");
		ob_puts(o, app_name(app));
		ob_puts(o, "\",\"appSource\":\"");
		ob_puts(o, src);
		ob_putc(o, '"');
		if (detail[0]) {
			ob_puts(o, ",\"appDetail\":");
			json_str(o, detail);
		}
	}
	row_proc(o, st, s, r);
}

/*
 * One row in @st's format: the fields in enum fld_id's order, straight
 * through rather than a call per field, with the whole row's room made
 * once so that nothing below checks it.
 */
static void row_write(struct ob *o, const struct row_style *st,
		      const struct fld_ctx *c)
{
	const struct flowtab_row *r = c->row;
	const struct flow_key *k = &r->key;
	const struct flowkey_text *src = &c->t[c->dir], *dst = &c->t[!c->dir];
	/* read once: the writes below into o->buf (chars) may alias it */
	const int raw = k->kind;
	int kind = raw < KIND_COUNT ? raw : KIND_OTHER;
	char *p, *e;

	if (OB_SIZE - o->n < ROW_MAX)
		ob_flush(o);
	p = put_sep(o->buf + o->n, st, F_BITRATE);
	e = st->text ? numfmt_bitrate(p, c->bitrate)
		     : numfmt_fixed(p, c->bitrate, 3);
	if (!e) {
		/* rare: printf's digits, then the room again */
		o->n = (size_t)(p - o->buf);
		if (st->text)
			ob_bitrate(o, c->bitrate);
		else
			ob_fixed(o, c->bitrate, 3);
		if (OB_SIZE - o->n < ROW_MAX)
			ob_flush(o);
		e = o->buf + o->n;
	}
	p = numfmt_u64(put_sep(e, st, F_PACKETS), r->pkts[c->dir]);
	p = numfmt_u64(put_sep(p, st, F_SIZE), r->bytes[c->dir]);
	p = put_sep(p, st, F_PROTO);
	memcpy(p, st->proto[kind], SEP_PAD);
	p += st->proto_len[kind];
	p = put_text(put_sep(p, st, F_SRC), src->s, src->len);
	p = put_text(put_sep(p, st, F_DST), dst->s, dst->len);
	if (st->text && flowkey_is_icmp(raw)) {
		/* the message, as the monitor and -1 show it: echo and port
		 * unreachable rows differ (JSON has icmpType, icmpCode) */
		char t[FLOWKEY_ICMP_TEXT_MAX];
		int n = flowkey_icmp_text(k, t, sizeof(t));
		/* an unnamed type is its number after "type: " */
		int skip = flowkey_icmp_type_name(raw, k->aport) ? 0 : 5;

		memcpy(p, ", type: ", 8);
		memcpy(p + 8, t + skip, (size_t)(n - skip));
		p += 8 + n - skip;
	}
	if (st->nf > F_SRCIP) {
		int ports = flowkey_has_ports(raw);
		int icmp = flowkey_is_icmp(raw);

		p = put_text(put_sep(p, st, F_SRCIP), src->s + src->addr_off,
			     src->addr_len);
		p = put_text(put_sep(p, st, F_DSTIP), dst->s + dst->addr_off,
			     dst->addr_len);
		p = numfmt_u64(put_sep(p, st, F_SRCPORT),
			       ports ? side_port(k, c->dir) : 0);
		p = numfmt_u64(put_sep(p, st, F_DSTPORT),
			       ports ? side_port(k, !c->dir) : 0);
		p = numfmt_u64(put_sep(p, st, F_ICMPTYPE), icmp ? k->aport : 0);
		if (icmp && !st->csv) {
			/* JSON: an ICMP row's code beside its type (CSV has
			 * the column after appDetail) */
			memcpy(p, ",\"icmpCode\":", 12);
			p = numfmt_u64(p + 12, k->bport);
		}
		p = numfmt_u64(put_sep(p, st, F_IPPROTO),
			       raw == KIND_OTHER ? 0 : k->ipproto);
		p = numfmt_u64(put_sep(p, st, F_VLAN), k->vlan);
		p = numfmt_u64(put_sep(p, st, F_FLOW), r->id);
	}
	o->n = (size_t)(p - o->buf);
	row_tail(o, st, c);
	ob_mem(o, st->sep[st->nf], st->sep_len[st->nf]);
}

/* ---- formats ------------------------------------------------------------ */

/* ---- the summary: one list of fields, printed by format ----------------- */

/*
 * iproute2's print_* habit: every summary figure is written by one call
 * that says where it goes - SUM_TEXT, SUM_JSON or both - with its JSON
 * key and the text around it in the text line. A figure is computed once
 * (struct sum_in) and printed from one place, so text and JSON cannot
 * disagree. The sections are written in each format's own order
 * (sum_order_*), as the reports have always printed them.
 */
#define SUM_TEXT 0x1
#define SUM_JSON 0x2
#define SUM_ANY (SUM_TEXT | SUM_JSON)

struct sum_out {
	struct ob *o;
	int json;  /* else text */
	int depth; /* JSON nesting below the document */
	int n[4];  /* JSON: members written so far at each depth */
};

/* What the summary says, computed once. */
struct sum_in {
	const struct snapshot *s;
	const struct report_meta *m;
	double secs;
	struct flowtab_counts proto[PROTO_COUNT];
	uint64_t over_pkts, over_bytes, exp_pkts, exp_bytes;
};

static int sum_on(const struct sum_out *p, int where)
{
	return where & (p->json ? SUM_JSON : SUM_TEXT);
}

/* JSON: the separator, then "key": (keys are ASCII names of ours). */
static void sum_key(struct sum_out *p, const char *key)
{
	if (p->n[p->depth]++)
		ob_putc(p->o, ',');
	if (key) {
		ob_putc(p->o, '"');
		ob_puts(p->o, key);
		ob_mem(p->o, "\":", 2);
	}
}

/* JSON: an object ('{') or array ('[') member; nothing in text. */
static void sum_open(struct sum_out *p, const char *key, char brace)
{
	if (!p->json)
		return;
	sum_key(p, key);
	ob_putc(p->o, brace);
	p->n[++p->depth] = 0;
}

static void sum_close(struct sum_out *p, char brace)
{
	if (!p->json)
		return;
	ob_putc(p->o, brace);
	p->depth--;
}

/* Text only: words between the figures. */
static void sum_text(struct sum_out *p, const char *t)
{
	if (!p->json)
		ob_puts(p->o, t);
}

/* A field's start: JSON its separator and key, text @pre. 0: the field
 * is not in this format. */
static int sum_field(struct sum_out *p, int where, const char *key,
		     const char *pre)
{
	if (!sum_on(p, where))
		return 0;
	if (p->json)
		sum_key(p, key);
	else
		ob_puts(p->o, pre);
	return 1;
}

/* Text: @post after the value. */
static void sum_post(struct sum_out *p, const char *post)
{
	if (!p->json)
		ob_puts(p->o, post);
}

static void sum_u64(struct sum_out *p, int where, const char *key,
		    const char *pre, uint64_t v, const char *post)
{
	if (!sum_field(p, where, key, pre))
		return;
	ob_printf(p->o, "%" PRIu64, v);
	sum_post(p, post);
}

/* @v with @prec decimals, as printf's "%.Nf". */
static void sum_fixed(struct sum_out *p, int where, const char *key,
		      const char *pre, double v, int prec, const char *post)
{
	if (!sum_field(p, where, key, pre))
		return;
	ob_printf(p->o, "%.*f", prec, v);
	sum_post(p, post);
}

/* A string from anywhere: escaped for JSON, control bytes as '?' in
 * text. */
static void sum_str(struct sum_out *p, int where, const char *key,
		    const char *pre, const char *v, const char *post)
{
	if (!sum_field(p, where, key, pre))
		return;
	if (p->json) {
		json_str(p->o, v);
		return;
	}
	text_str(p->o, v);
	ob_puts(p->o, post);
}

/* JSON only: a value already in JSON (true, null, a quoted time). */
static void sum_json(struct sum_out *p, const char *key, const char *v)
{
	if (!p->json)
		return;
	sum_key(p, key);
	ob_puts(p->o, v);
}

static void sum_meta(struct sum_out *p, const struct sum_in *in)
{
	const struct report_meta *m = in->m;

	sum_str(p, SUM_ANY, "source", "\nCapture: ", m->source, "");
	sum_str(p, SUM_JSON, "filter", "", m->filter ? m->filter : "", "");
	sum_str(p, SUM_ANY, "backend", ", backend ", m->backend, "");
	sum_u64(p, SUM_ANY, "threads", ", threads ",
		(uint64_t)(m->threads > 0 ? m->threads : 0), "");
	sum_str(p, SUM_TEXT, NULL,
		", filter: ", m->filter && *m->filter ? m->filter : "(none)",
		"");
}

/* Processes that cannot be known (report_meta's procs_unknown): said
 * once for the whole report, never per row. */
static void sum_procs(struct sum_out *p, const struct sum_in *in)
{
	const char *why = in->m ? in->m->procs_unknown : NULL;
	char v[128];

	if (!why)
		return;
	snprintf(v, sizeof(v), "unknown: %s", why);
	sum_str(p, SUM_JSON, "processes", "", v, "");
	sum_str(p, SUM_TEXT, NULL, "Processes: unknown (", why, ")\n");
}

/* One span for start, end, duration and every bitrate: the run's
 * (snapshot.h: packet time for a file, the wall clock live). */
static void sum_span(struct sum_out *p, const struct sum_in *in)
{
	const struct snapshot *s = in->s;
	char t0[64], t1[64];

	if (!p->json)
		return;
	fmt_time(s->start_ns, t0, sizeof(t0));
	fmt_time(s->start_ns ? s->start_ns + snapshot_duration_ns(s) : 0, t1,
		 sizeof(t1));
	sum_json(p, "start", t0);
	sum_json(p, "end", t1);
	sum_fixed(p, SUM_JSON, "duration", "", in->secs, 6, "");
}

static void sum_exact(struct sum_out *p, const struct sum_in *in)
{
	const struct snapshot *s = in->s;
	int exact = snapshot_exact(s), inc = s->incomplete[0] != 0;

	sum_json(p, "exact", exact ? "true" : "false");
	sum_text(p, ", counts are ");
	if (exact)
		sum_text(p, "exact\n");
	else if (!inc && s->cap.unread && !s->cap.kernel_drops &&
		 !s->cap.freezes)
		sum_u64(p, SUM_TEXT, NULL, "NOT exact (", s->cap.unread,
			" frames left unread in the ring at stop)\n");
	else if (!inc)
		sum_text(p, "NOT exact (packets were lost)\n");
	/* the reason a file was not read to its end */
	sum_str(p, (inc ? SUM_JSON : 0) | (inc && !exact ? SUM_TEXT : 0),
		"incomplete", "NOT exact (", s->incomplete, ")\n");
}

static void sum_totals(struct sum_out *p, const struct sum_in *in)
{
	sum_open(p, "totals", '{');
	sum_u64(p, SUM_ANY, "packets", "\nRead total packets: ", in->s->pkts,
		"");
	sum_u64(p, SUM_ANY, "bytes", ", total bytes: ", in->s->bytes, "");
	sum_close(p, '}');
	sum_fixed(p, SUM_TEXT, NULL, " in ", in->secs, 2, " seconds\n");
}

static void sum_protocols(struct sum_out *p, const struct sum_in *in)
{
	sum_text(p, "\nProtocol totals:\n");
	sum_open(p, "protocols", '{');
	for (int k = 0; k < PROTO_COUNT; k++) {
		const struct flowtab_counts *c = &in->proto[k];
		const char *name = snapshot_proto_name(k);

		sum_open(p, name, '{');
		if (!p->json)
			ob_printf(p->o, "  %-7s ", name);
		sum_u64(p, SUM_ANY, "packets", "packets: ", c->pkts, "");
		sum_u64(p, SUM_ANY, "bytes", ", bytes: ", c->bytes, "");
		sum_close(p, '}');
		if (!p->json) {
			ob_puts(p->o, ", bitrate: ");
			ob_bitrate(p->o, in->secs > 0 ? 8.0 * (double)c->bytes /
								in->secs
						      : 0);
			ob_putc(p->o, '\n');
		}
	}
	sum_close(p, '}');
}

static void sum_malformed(struct sum_out *p, const struct sum_in *in)
{
	const struct snapshot *s = in->s;

	sum_open(p, "malformed", '{');
	sum_u64(p, SUM_ANY, "total", "Malformed: ", snapshot_malformed(s), "");
	/* text names only the reasons seen */
	for (int e = 1; e < DEC_ERR_COUNT; e++) {
		if (!p->json && !s->err[e])
			continue;
		if (!p->json)
			ob_printf(p->o, ", %s: ", decode_err_name(e));
		sum_u64(p, SUM_ANY, decode_err_name(e), "", s->err[e], "");
	}
	sum_close(p, '}');
}

static void sum_flowtable(struct sum_out *p, const struct sum_in *in)
{
	const struct snapshot *s = in->s;

	sum_open(p, "flowTable", '{');
	sum_u64(p, SUM_ANY, "live", "Flows: ", s->nrows, " live");
	sum_u64(p, SUM_ANY, "expired", ", ", s->expired_flows, " expired");
	sum_u64(p, SUM_ANY, "evicted", " (", s->evicted_flows,
		" evicted under pressure)");
	sum_u64(p, SUM_JSON, "expiredPackets", "", in->exp_pkts, "");
	sum_u64(p, SUM_JSON, "expiredBytes", "", in->exp_bytes, "");
	sum_u64(p, SUM_ANY, "max", ", overflow (table full, cap ", s->max_flows,
		"): ");
	sum_u64(p, SUM_ANY, "overflowPackets", "packets: ", in->over_pkts, "");
	sum_u64(p, SUM_ANY, "overflowBytes", ", bytes: ", in->over_bytes, "\n");
	sum_close(p, '}');
}

static void sum_capture(struct sum_out *p, const struct sum_in *in)
{
	const struct cap_stats *c = &in->s->cap;
	/* kernel-side counting: the map-full packets are in the overflow
	 * totals; program errors are packets not counted */
	int ebpf = in->m->backend && !strcmp(in->m->backend, "ebpf");

	sum_open(p, "capture", '{');
	sum_u64(p, SUM_JSON, "received", "", c->received, "");
	sum_u64(p, SUM_ANY, "kernelDrops",
		"\nLoss: kernel drops: ", c->kernel_drops, "");
	sum_u64(p, SUM_ANY, "freezes", ", freezes: ", c->freezes, "");
	sum_u64(p, SUM_ANY, "ifDrops", ", interface drops: ", c->if_drops, "");
	sum_u64(p, SUM_JSON, "filtered", "", c->filtered, "");
	sum_u64(p, SUM_ANY, "unreadAtStop", ", unread at stop: ", c->unread,
		"");
	if (ebpf) {
		sum_u64(p, SUM_ANY, "mapFull",
			", map full (counted as overflow): ", c->map_full, "");
		sum_u64(p, SUM_ANY, "programErrors",
			", program errors: ", c->prog_errors, "");
	}
	sum_close(p, '}');
}

static void sum_ipfix(struct sum_out *p, const struct sum_in *in)
{
	const struct report_ipfix *x = in->m->ipfix;

	if (!x)
		return;
	sum_open(p, "ipfix", '{');
	sum_str(p, SUM_ANY, "collector", "IPFIX: ", x->collector, "");
	sum_u64(p, SUM_ANY, "records", ": ", x->records, " records sent");
	sum_u64(p, SUM_ANY, "packets", " (", x->pkts, " packets");
	sum_u64(p, SUM_ANY, "octets", ", ", x->octets, " octets)");
	sum_u64(p, SUM_ANY, "droppedRecords", ", dropped ", x->drop_records,
		" records");
	sum_u64(p, SUM_ANY, "droppedPackets", " (", x->drop_pkts, " packets");
	sum_u64(p, SUM_ANY, "droppedOctets", ", ", x->drop_octets,
		" octets)\n");
	sum_close(p, '}');
}

static void sum_counters(struct sum_out *p, const struct sum_in *in)
{
	const struct snapshot *s = in->s;

	sum_open(p, "counters", '[');
	for (size_t c = 0; c < s->ncounters; c++) {
		const struct counters_value *v = &s->counters[c];

		sum_open(p, NULL, '{');
		sum_str(p, SUM_ANY, "name", c ? "  " : "Counters:\n  ", v->name,
			"");
		sum_str(p, SUM_JSON, "filter", "", v->expr, "");
		sum_u64(p, SUM_ANY, "packets", " packets: ", v->pkts, "");
		sum_u64(p, SUM_ANY, "bytes", ", bytes: ", v->bytes, "");
		sum_str(p, SUM_TEXT, NULL, " (", v->expr, ")\n");
		sum_close(p, '}');
	}
	sum_close(p, ']');
}

/* Every filter in force during the run (filterlog.h), when any. */
static void sum_filters(struct sum_out *p, const struct sum_in *in)
{
	const struct filterlog *l = in->m->filters;
	const struct filterlog_entry *e;
	uint64_t omitted = filterlog_omitted(l);
	char t[64];

	if (p->json && !filterlog_count(l))
		return;
	sum_open(p, "filterHistory", '[');
	for (size_t i = 0; (e = filterlog_at(l, i)); i++) {
		sum_open(p, NULL, '{');
		if (p->json) {
			fmt_time(e->wall_ns, t, sizeof(t));
			sum_json(p, "time", t);
		} else {
			iso_time(e->wall_ns, t, sizeof(t));
			ob_printf(p->o, "%s  %s ",
				  i ? "" : "Filters in force:\n", t);
		}
		sum_str(p, SUM_ANY, "kind", "", filterlog_kind_name(e->kind),
			" ");
		sum_str(p, e->name ? SUM_ANY : 0, "name", "", e->name, " ");
		if (e->text)
			sum_str(p, SUM_JSON, "filter", "", e->text, "");
		else
			sum_json(p, "filter", "null");
		sum_str(p, SUM_TEXT, NULL, "= ",
			!e->text   ? "(stopped)"
			: *e->text ? e->text
				   : "(none)",
			"\n");
		sum_close(p, '}');
	}
	sum_close(p, ']');
	sum_u64(p, omitted ? SUM_ANY : 0, "filterHistoryOmitted", "  (",
		omitted, " later changes not kept)\n");
}

typedef void (*sum_section_fn)(struct sum_out *p, const struct sum_in *in);

/* The sections in each format's order. */
static const sum_section_fn sum_order_text[] = {
	sum_protocols, sum_flowtable, sum_counters, sum_filters,
	sum_malformed, sum_meta,      sum_capture,  sum_exact,
	sum_procs,     sum_ipfix,     sum_totals,
};
static const sum_section_fn sum_order_json[] = {
	sum_meta,    sum_procs,	    sum_span,	   sum_exact,
	sum_totals,  sum_protocols, sum_malformed, sum_flowtable,
	sum_capture, sum_ipfix,	    sum_filters,   sum_counters,
};

/*
 * The summary of @s in @fmt: text after the rows, JSON's members before
 * "flows" (the caller opens the document and goes on after it). CSV has
 * none: a CSV file is one table.
 */
static void sum_write(struct ob *o, enum report_format fmt,
		      const struct snapshot *s, const struct report_meta *m,
		      double secs)
{
	struct sum_out p = { .o = o, .json = fmt == REPORT_JSON };
	struct sum_in in = { .s = s, .m = m, .secs = secs };
	const sum_section_fn *order = p.json ? sum_order_json : sum_order_text;
	size_t n = p.json ? sizeof(sum_order_json) / sizeof(*sum_order_json)
			  : sizeof(sum_order_text) / sizeof(*sum_order_text);

	if (fmt != REPORT_JSON && fmt != REPORT_TEXT)
		return;
	snapshot_proto_totals(s->kind, in.proto);
	for (int k = 0; k < KIND_COUNT; k++) {
		in.over_pkts += s->overflow[k].pkts;
		in.over_bytes += s->overflow[k].bytes;
		in.exp_pkts += s->expired[k].pkts;
		in.exp_bytes += s->expired[k].bytes;
	}
	for (size_t i = 0; i < n; i++)
		order[i](&p, &in);
}

/*
 * An interval report (-l) says which interval it covers: a first line in
 * text, the interval's start and end in each JSON row (the one-line array
 * stays dkorunic/pktstat's, its rows gain two keys).
 */
static void interval_stamp(struct ob *o, struct row_style *st,
			   enum report_format fmt, const struct snapshot *s)
{
	uint64_t end = s->start_ns ? s->start_ns + snapshot_duration_ns(s) : 0;
	char t0[64], t1[64];

	if (fmt == REPORT_TEXT) {
		iso_time(s->start_ns, t0, sizeof(t0));
		iso_time(end, t1, sizeof(t1));
		ob_printf(o, "Interval: %s to %s\n", t0[0] ? t0 : "-",
			  t1[0] ? t1 : "-");
	} else if (fmt != REPORT_CSV) {
		fmt_time(s->start_ns, t0, sizeof(t0));
		fmt_time(end, t1, sizeof(t1));
		snprintf(st->stamp, sizeof(st->stamp),
			 ",\"start\":%s,\"end\":%s", t0, t1);
	}
}

/* Group order: bytes descending, then the label. */
static int group_order(const void *a, const void *b)
{
	const struct group_row *x = a, *y = b;
	uint64_t bx = x->bytes[0] + x->bytes[1], by = y->bytes[0] + y->bytes[1];

	if (bx != by)
		return bx > by ? -1 : 1;
	return strcmp(x->label, y->label);
}

/*
 * The rows of a --group-by report: every live flow of @s added to its
 * groups, sorted. NULL when out of memory.
 */
static struct group_set *collect_groups(const struct snapshot *s,
					const struct report_meta *m)
{
	struct group_set *g = group_new((enum group_by)m->group_by,
					m->group_v4_prefix, m->group_v6_prefix);
	const struct flowtab_row *r;
	struct snapshot_iter it = { 0 };
	struct group_row *rows;
	size_t n;

	if (!g)
		return NULL;
	group_set_proc(g, procs_group_name, s->procs);
	group_set_ifaces(g, s->ifnames, s->nifaces);
	while ((r = snapshot_row_next(s, &it))) {
		if (group_add(g, r)) {
			group_free(g);
			return NULL;
		}
	}
	rows = (struct group_row *)group_rows(g, &n);
	qsort(rows, n, sizeof(*rows), group_order);
	return g;
}

static void write_group(struct ob *o, enum report_format fmt,
			const struct group_row *g, const char *by, double secs)
{
	uint64_t pk = g->pkts[0] + g->pkts[1], by_ = g->bytes[0] + g->bytes[1];
	double bps = secs > 0 ? 8.0 * (double)by_ / secs : 0;

	if (fmt == REPORT_TEXT) {
		ob_puts(o, "bitrate: ");
		ob_bitrate(o, bps);
		ob_printf(o, ", packets: %" PRIu64 ", bytes: %" PRIu64 ", %s: ",
			  pk, by_, by);
		text_str(o, g->label);
		ob_printf(o,
			  ", sent packets: %" PRIu64 ", sent bytes: %" PRIu64
			  ", received packets: %" PRIu64
			  ", received bytes: %" PRIu64 ", flows: %" PRIu64 "\n",
			  g->pkts[0], g->bytes[0], g->pkts[1], g->bytes[1],
			  g->flows);
		return;
	}
	if (fmt == REPORT_CSV) {
		json_str(o, g->label);
		ob_putc(o, ',');
		ob_fixed(o, bps, 3);
		ob_printf(o,
			  ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			  ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
			  pk, by_, g->pkts[0], g->bytes[0], g->pkts[1],
			  g->bytes[1], g->flows);
		return;
	}
	ob_puts(o, "{\"group\":");
	json_str(o, g->label);
	ob_puts(o, ",\"bitrate\":");
	ob_fixed(o, bps, 3);
	ob_printf(o,
		  ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		  ",\"txPackets\":%" PRIu64 ",\"txBytes\":%" PRIu64
		  ",\"rxPackets\":%" PRIu64 ",\"rxBytes\":%" PRIu64
		  ",\"flows\":%" PRIu64 "}",
		  pk, by_, g->pkts[0], g->bytes[0], g->pkts[1], g->bytes[1],
		  g->flows);
}

/* A --group-by report: the same head and tail as a flow report, groups
 * in place of the flows. */
static int report_write_groups(struct ob *o, enum report_format fmt,
			       struct snapshot *s,
			       const struct report_meta *meta, double secs)
{
	struct group_set *g = collect_groups(s, meta);
	const char *by = group_name((enum group_by)meta->group_by);
	const struct group_row *rows;
	size_t n;

	if (!g)
		return -ENOMEM;
	rows = group_rows(g, &n);
	/* the JSON head ends in "flows":[ : left empty, groups follow */
	if (fmt == REPORT_JSON_ARRAY)
		ob_putc(o, '[');
	else if (fmt == REPORT_JSON)
		ob_printf(o, "],\"groupBy\":\"%s\",\"groups\":[", by);
	else if (fmt == REPORT_CSV)
		ob_puts(o, "group,bitrate,packets,bytes,txPackets,txBytes,"
			   "rxPackets,rxBytes,flows\n");
	for (size_t i = 0; i < n; i++) {
		if (fmt == REPORT_JSON || fmt == REPORT_JSON_ARRAY)
			ob_puts(o, i ? ",\n" : "\n");
		write_group(o, fmt, &rows[i], by, secs);
	}
	if (fmt == REPORT_JSON_ARRAY)
		ob_puts(o, "]\n");
	else if (fmt == REPORT_JSON)
		ob_puts(o, "\n]}\n");
	else if (fmt == REPORT_TEXT)
		sum_write(o, REPORT_TEXT, s, meta, secs);
	group_free(g);
	return 0;
}

/* The groups after the flows (report_meta's group_with_flows): JSON
 * closes the flows array and adds them; text lists them before the tail. */
static int write_groups_after(struct ob *o, enum report_format fmt,
			      struct snapshot *s,
			      const struct report_meta *meta, double secs)
{
	struct group_set *g = collect_groups(s, meta);
	const char *by = group_name((enum group_by)meta->group_by);
	const struct group_row *rows;
	size_t n;

	if (!g)
		return -ENOMEM;
	rows = group_rows(g, &n);
	if (fmt == REPORT_JSON)
		ob_printf(o, "\n],\"groupBy\":\"%s\",\"groups\":[", by);
	else
		ob_printf(o, "groups by %s:\n", by);
	for (size_t i = 0; i < n; i++) {
		if (fmt == REPORT_JSON)
			ob_puts(o, i ? ",\n" : "\n");
		write_group(o, fmt, &rows[i], by, secs);
	}
	if (fmt == REPORT_JSON)
		ob_puts(o, "\n]}\n");
	group_free(g);
	return 0;
}

int report_write(FILE *out, enum report_format fmt, struct snapshot *s,
		 const struct report_meta *meta)
{
	double secs = snapshot_duration_ns(s) / 1e9;
	struct report_dir *d;
	struct fld_ctx c;
	struct row_style st;
	struct ob *o;
	size_t nd = 0, nh = 0;
	int err, rc = 0, grouped = meta && meta->group_by;
	int also = grouped && meta->group_with_flows &&
		   (fmt == REPORT_JSON || fmt == REPORT_TEXT);

	if (grouped && meta->group_with_flows)
		grouped = 0;

	row_style_init(&st, fmt == REPORT_JSON_ARRAY ? REPORT_JSON : fmt);
	st.ifaces = s->nifaces > 1 && s->ifnames;
	o = malloc(sizeof(*o));
	d = o && !grouped ? split_dirs(s, &nd, &nh) : NULL;
	if (!o || (!grouped && !d)) {
		free(o);
		return -ENOMEM;
	}
	ob_init(o, out, meta ? meta->tee : NULL);
	if (fmt == REPORT_JSON) {
		ob_putc(o, '{');
		sum_write(o, fmt, s, meta, secs);
		ob_puts(o, ",\"flows\":[");
	}
	if (meta && meta->interval)
		interval_stamp(o, &st, fmt, s);
	if (grouped) {
		rc = report_write_groups(o, fmt, s, meta, secs);
		goto done;
	}
	if (fmt == REPORT_JSON_ARRAY)
		ob_putc(o, '[');
	else if (fmt == REPORT_CSV)
		for (size_t f = 0; f < F_COUNT; f++) {
			if (f)
				ob_putc(o, ',');
			ob_puts(o, report_fields[f].json);
		}
	if (fmt == REPORT_CSV)
		for (size_t f = 0; f < sizeof(tail_cols) / sizeof(*tail_cols);
		     f++) {
			ob_putc(o, ',');
			ob_puts(o, tail_cols[f]);
		}
	if (fmt == REPORT_CSV && s->procs)
		for (size_t f = 0; f < sizeof(proc_cols) / sizeof(*proc_cols);
		     f++) {
			ob_putc(o, ',');
			ob_puts(o, proc_cols[f]);
		}
	if (fmt == REPORT_CSV && st.ifaces)
		ob_puts(o, ",iface");
	if (fmt == REPORT_CSV)
		ob_putc(o, '\n');
	if (nd >= OB_WRITER_ROWS)
		ob_writer_start(o);
	for (size_t i = 0, a = 0, b = nh; i < nd; i++) {
		fld_prepare(&c, dir_next(d, &a, nh, &b, nd), secs);
		c.snap = s;
		if (fmt == REPORT_JSON_ARRAY && i)
			ob_putc(o, ',');
		else if (fmt == REPORT_JSON && i)
			ob_mem(o, ",\n", 2);
		else if (fmt == REPORT_JSON)
			ob_putc(o, '\n');
		row_write(o, &st, &c);
	}
	if (also && (rc = write_groups_after(o, fmt, s, meta, secs)))
		goto done;
	if (fmt == REPORT_JSON_ARRAY)
		ob_puts(o, "]\n");
	else if (fmt == REPORT_JSON && !also)
		ob_puts(o, "\n]}\n");
	else if (fmt == REPORT_TEXT)
		sum_write(o, REPORT_TEXT, s, meta, secs);
done:
	ob_flush(o);
	ob_writer_stop(o);
	if (o->tee) {
		fflush(o->tee);
		if (meta->tee_done)
			*meta->tee_done = 1;
	}
	err = o->err;
	free(o);
	if (d)
		mem_free_big(d, dirs_room(s->nrows) * sizeof(*d));
	if (rc)
		return rc;
	if (fflush(out) && !err)
		err = errno ? errno : EIO;
	if (ferror(out) && !err)
		err = EIO;
	if (!err)
		return 0;
	errno = err; /* the reason, for the caller's line */
	return -EIO;
}

struct fill_report {
	struct snapshot *s;
	const struct report_meta *m;
};

static int fill_report(FILE *out, void *ctx)
{
	struct fill_report *fr = ctx;

	return report_write(out, report_format_for(fr->m->path), fr->s, fr->m);
}

int report_write_file(const char *path, int flags, struct snapshot *s,
		      const struct report_meta *meta, char *final, size_t flen,
		      char *err, size_t errlen)
{
	struct report_meta m = *meta;
	struct fill_report fr = { s, &m };

	m.path = path;
	return savefile_write(path, flags, fill_report, &fr, final, flen, err,
			      errlen);
}
