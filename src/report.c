/*
 * report.c - text, JSON and CSV reports from a snapshot, and the safe
 * snapshot file writer.
 *
 * Pure with respect to the run: reads a snapshot owned by the caller,
 * writes to a FILE. The per-direction flow fields are declared once in a
 * table that serves every format (iproute2 ss's habit). Any thread, one
 * snapshot per thread.
 *
 * Speed matters here: the final report is on the exit path (the stop-time
 * target) and is most of the work of `-r` on a file with many flows. Rows
 * are built in a private buffer with hand-written number formatting
 * (stdio's per-field formatting cost ~35,000 instructions per flow), each
 * side's address is formatted once per row direction, and the sort
 * compares integers first. A long report is written by a thread of its
 * own (struct ob_writer) while the rows are formatted: the kernel's
 * copies of megabytes into the file and the snapshot pipe run on the
 * other core.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "flowkey.h"
#include "mem.h"

/* ---- buffered output ---------------------------------------------------- */

/*
 * Output is gathered here and handed to stdio in OB_SIZE chunks: from
 * @own directly, or, with a writer, from OB_NBUF chunks in turn that the
 * writer thread writes in order while the next one fills.
 */
#define OB_SIZE (1 << 16)
#define OB_NBUF 8
/* Rows from which a writer thread pays: a few megabytes of output. */
#define OB_WRITER_ROWS 10000
struct ob_writer {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cv; /* a chunk handed over or written, or quit */
	char *mem;	   /* OB_NBUF chunks */
	size_t len[OB_NBUF];
	uint64_t head, tail; /* chunks handed over, written */
	int quit;
	FILE *out, *tee;
};
struct ob {
	FILE *out;
	FILE *tee; /* a second destination, or NULL */
	size_t n;
	char *buf; /* OB_SIZE bytes: @own or a writer's chunk */
	struct ob_writer *w;
	char own[OB_SIZE];
};

static void ob_write_out(FILE *out, FILE *tee, const void *p, size_t len)
{
	fwrite(p, 1, len, out);
	if (tee)
		fwrite(p, 1, len, tee);
}

static void *ob_writer_main(void *arg)
{
	struct ob_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		size_t i;

		while (w->head == w->tail && !w->quit)
			pthread_cond_wait(&w->cv, &w->lock);
		if (w->head == w->tail)
			break;
		i = w->tail % OB_NBUF;
		pthread_mutex_unlock(&w->lock);
		ob_write_out(w->out, w->tee, w->mem + i * OB_SIZE, w->len[i]);
		pthread_mutex_lock(&w->lock);
		w->tail++;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Hand the filled chunk to the writer and take the next free one. */
static void ob_hand_over(struct ob *o)
{
	struct ob_writer *w = o->w;

	pthread_mutex_lock(&w->lock);
	w->len[w->head % OB_NBUF] = o->n;
	w->head++;
	pthread_cond_broadcast(&w->cv);
	while (w->head - w->tail == OB_NBUF)
		pthread_cond_wait(&w->cv, &w->lock);
	o->buf = w->mem + (w->head % OB_NBUF) * OB_SIZE;
	pthread_mutex_unlock(&w->lock);
	o->n = 0;
}

/* From here on, chunks go through a writer thread (best effort: without
 * one, everything is written directly as before). Before the rows. */
static void ob_writer_start(struct ob *o)
{
	struct ob_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return;
	w->mem = mem_alloc_big((size_t)OB_NBUF * OB_SIZE, 0);
	w->out = o->out;
	w->tee = o->tee;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (!w->mem || pthread_create(&w->tid, NULL, ob_writer_main, w)) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->lock);
		mem_free_big(w->mem, (size_t)OB_NBUF * OB_SIZE);
		free(w);
		return;
	}
	/* what is buffered so far goes first, in order */
	memcpy(w->mem, o->own, o->n);
	o->buf = w->mem;
	o->w = w;
}

/* Everything handed over is written; back to direct writes. */
static void ob_writer_stop(struct ob *o)
{
	struct ob_writer *w = o->w;

	if (!w)
		return;
	if (o->n)
		ob_hand_over(o);
	pthread_mutex_lock(&w->lock);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->tid, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->lock);
	mem_free_big(w->mem, (size_t)OB_NBUF * OB_SIZE);
	free(w);
	o->w = NULL;
	o->buf = o->own;
	o->n = 0;
}

/* @len bytes to the destinations, past the buffer. */
static void ob_emit(struct ob *o, const void *p, size_t len)
{
	if (o->w) /* keep the order: what the writer holds goes first */
		ob_writer_stop(o);
	ob_write_out(o->out, o->tee, p, len);
}

static void ob_flush(struct ob *o)
{
	if (!o->n)
		return;
	if (o->w)
		ob_hand_over(o);
	else
		ob_write_out(o->out, o->tee, o->buf, o->n);
	o->n = 0;
}

static inline void ob_mem(struct ob *o, const void *p, size_t len)
{
	if (__builtin_expect(len > OB_SIZE - o->n, 0)) {
		ob_flush(o);
		if (len > OB_SIZE) {
			ob_emit(o, p, len);
			return;
		}
	}
	memcpy(o->buf + o->n, p, len);
	o->n += len;
}

static inline void ob_puts(struct ob *o, const char *s)
{
	ob_mem(o, s, strlen(s));
}

static inline void ob_putc(struct ob *o, char c)
{
	if (o->n == OB_SIZE)
		ob_flush(o);
	o->buf[o->n++] = c;
}

/* @v in decimal at @p (room for 20 digits); returns the length. */
static size_t put_u64(char *p, uint64_t v)
{
	static const char pairs[] = "00010203040506070809"
				    "10111213141516171819"
				    "20212223242526272829"
				    "30313233343536373839"
				    "40414243444546474849"
				    "50515253545556575859"
				    "60616263646566676869"
				    "70717273747576777879"
				    "80818283848586878889"
				    "90919293949596979899";
	size_t n = 1;

	for (uint64_t x = v; x >= 10; x /= 10)
		n++;
	p += n;
	while (v >= 100) {
		p -= 2;
		memcpy(p, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return n;
}

static void ob_u64(struct ob *o, uint64_t v)
{
	char t[20];

	ob_mem(o, t, put_u64(t, v));
}

/* printf into the buffer: for the few lines that are not per flow. */
__attribute__((format(printf, 2, 3))) static void
ob_printf(struct ob *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if ((size_t)r < sizeof(tmp)) {
		ob_mem(o, tmp, (size_t)r);
		return;
	}
	ob_flush(o);
	ob_writer_stop(o); /* straight to stdio, in order */
	va_start(ap, fmt);
	vfprintf(o->out, fmt, ap);
	va_end(ap);
	if (o->tee) {
		va_start(ap, fmt);
		vfprintf(o->tee, fmt, ap);
		va_end(ap);
	}
}

/*
 * @v with @prec (<= 3) decimals, exactly as printf's "%.Nf" would print
 * it. The fast path scales to an integer; when the scaled value is so
 * close to a rounding tie that the scaling's own error could decide it,
 * or out of range, printf does the job.
 */
static void ob_fixed(struct ob *o, double v, int prec)
{
	static const uint64_t p10[] = { 1, 10, 100, 1000 };
	double x = v * (double)p10[prec], fl, fr;
	uint64_t q, ip, fp;
	char t[48];
	int i = (int)sizeof(t);

	if (!(v >= 0) || x >= 1e15) {
		ob_printf(o, "%.*f", prec, v);
		return;
	}
	fl = floor(x);
	fr = x - fl;
	if (fabs(fr - 0.5) <= x * 1e-15 + 1e-12) {
		ob_printf(o, "%.*f", prec, v);
		return;
	}
	q = (uint64_t)fl + (fr > 0.5);
	ip = q / p10[prec];
	fp = q % p10[prec];
	for (int k = 0; k < prec; k++) {
		t[--i] = (char)('0' + fp % 10);
		fp /= 10;
	}
	if (prec)
		t[--i] = '.';
	do {
		t[--i] = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip);
	ob_mem(o, t + i, sizeof(t) - (size_t)i);
}

static const char *const rate_units[] = { "bps", "Kbps", "Mbps", "Gbps",
					  "Tbps" };

/* Scale @bps to dkorunic/pktstat's unit; returns the unit's name. */
static const char *rate_scale(double *bps)
{
	size_t u = 0;

	while (*bps >= 1000 && u < 4) {
		*bps /= 1000;
		u++;
	}
	return rate_units[u];
}

/* dkorunic/pktstat's "12.34 Mbps", the same digits as the snprintf one. */
static void ob_bitrate(struct ob *o, double bps)
{
	const char *unit = rate_scale(&bps);

	ob_fixed(o, bps, 2);
	ob_putc(o, ' ');
	ob_puts(o, unit);
}

void report_format_bitrate(double bps, char *buf, size_t len)
{
	const char *unit = rate_scale(&bps);

	snprintf(buf, len, "%.2f %s", bps, unit);
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

static void fmt_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%06uZ",
		 (unsigned)(ns % 1000000000ull / 1000));
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
 * the direction. Bytes, packets and the key's leading fields (@kpre,
 * @kpre2) sit in the entry, so comparisons touch the row only when all
 * of them are equal. 40 bytes, and up to two entries a flow. @row points
 * into the snapshot's copy or, for a stopped table, at the flow itself.
 */
struct report_dir {
	uint64_t bytes, kpre, kpre2;
	const struct flowtab_row *row;
	uint32_t pkts; /* the row's, or PKTS_SAT: read the row */
	uint32_t dir;  /* FLOW_DIR_AB: src = A */
};
#define PKTS_SAT UINT32_MAX

/*
 * The first fields flowkey_cmp compares, packed into two words so that
 * integer order is its order: the kind, then side A's address; for
 * 4-byte families, whose remaining address bytes are always zero, A's
 * port, B's address and port and the VLAN.
 */
static void key_prefix(const struct flow_key *k, uint64_t *p1, uint64_t *p2)
{
	uint64_t p = (uint64_t)k->kind << 56, q = 0;

	if (flowkey_family(k->kind) == 4) {
		*p1 = p | (uint64_t)k->a[0] << 48 | (uint64_t)k->a[1] << 40 |
		      (uint64_t)k->a[2] << 32 | (uint64_t)k->a[3] << 24 |
		      (uint64_t)k->aport << 8;
		*p2 = (uint64_t)k->b[0] << 56 | (uint64_t)k->b[1] << 48 |
		      (uint64_t)k->b[2] << 40 | (uint64_t)k->b[3] << 32 |
		      (uint64_t)k->bport << 16 | k->vlan;
		return;
	}
	for (int i = 0; i < 7; i++)
		p |= (uint64_t)k->a[i] << (48 - 8 * i);
	for (int i = 0; i < 8; i++)
		q = q << 8 | k->a[7 + i];
	*p1 = p;
	*p2 = q;
}

static inline int dir_order(const struct report_dir *a,
			    const struct report_dir *b)
{
	uint64_t ap, bp;
	int c;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	/* equal bytes are common (a scan, a flood): compare without
	 * reading the rows, scattered over megabytes, while we can */
	if (a->pkts != b->pkts)
		return a->pkts > b->pkts ? -1 : 1;
	if (a->pkts == PKTS_SAT) {
		ap = a->row->pkts[a->dir];
		bp = b->row->pkts[b->dir];
		if (ap != bp)
			return ap > bp ? -1 : 1;
	}
	if (a->kpre != b->kpre)
		return a->kpre < b->kpre ? -1 : 1;
	if (a->kpre2 != b->kpre2)
		return a->kpre2 < b->kpre2 ? -1 : 1;
	c = flowkey_cmp(&a->row->key, &b->row->key);
	if (c)
		return c;
	return (int)a->dir - (int)b->dir;
}

/*
 * Merge sort of @d[0..n) with the comparison inlined (qsort's calls
 * through a pointer were half the sort's cost); @tmp holds n / 2 + 1
 * entries.
 * Stable, though the order is total anyway.
 */
static void dir_sort(struct report_dir *d, struct report_dir *tmp, size_t n)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n <= 16) {
		for (size_t a = 1; a < n; a++) {
			struct report_dir x = d[a];
			size_t b = a;

			for (; b > 0 && dir_order(&x, &d[b - 1]) < 0; b--)
				d[b] = d[b - 1];
			d[b] = x;
		}
		return;
	}
	dir_sort(d, tmp, h);
	dir_sort(d + h, tmp, n - h);
	if (dir_order(&d[h - 1], &d[h]) <= 0)
		return; /* already in order */
	memcpy(tmp, d, h * sizeof(*d));
	/* merge tmp[0..h) and d[h..n) into d[0..): the write position k
	 * never passes the read position j */
	while (i < h && j < n)
		d[k++] = dir_order(&d[j], &tmp[i]) < 0 ? d[j++] : tmp[i++];
	while (i < h)
		d[k++] = tmp[i++];
}

/* Entries of the region split_dirs builds: the list (two a flow at most)
 * and the merge sort's scratch. */
static size_t dirs_room(size_t nrows)
{
	return nrows * 3 + 2;
}

/*
 * Build the direction-split list, sorted, in one mem_alloc_big region of
 * dirs_room(s->nrows) entries (caller frees): huge pages, faulted in as
 * the list and the scratch reach them; at exit, page faults 4 KiB at a
 * time would cost more than the sort.
 */
static struct report_dir *split_dirs(const struct snapshot *s, size_t *n)
{
	struct flowtab_iter it = { 0, 0 };
	struct report_dir *d;
	size_t k = 0;

	if (s->nrows >= SIZE_MAX / 4 / sizeof(*d))
		return NULL;
	d = mem_alloc_big(dirs_room(s->nrows) * sizeof(*d), 0);
	if (!d)
		return NULL;
	for (size_t i = 0; i < s->nrows; i++) {
		const struct flowtab_row *r =
			s->table ? flowtab_row_next(s->table, &it)
				 : &s->rows[i];
		uint64_t pre, pre2;

		if (!r)
			break;
		key_prefix(&r->key, &pre, &pre2);

		for (int dir = 0; dir < 2; dir++) {
			if (!r->pkts[dir])
				continue;
			d[k] = (struct report_dir){
				r->bytes[dir],
				pre,
				pre2,
				r,
				r->pkts[dir] < PKTS_SAT ? (uint32_t)r->pkts[dir]
							: PKTS_SAT,
				(uint32_t)dir
			};
			k++;
		}
	}
	if (k > 1)
		dir_sort(d, d + s->nrows * 2 + 1, k);
	*n = k;
	return d;
}

/* ---- per-direction fields: the one definition all formats print --------- */

/*
 * What the field getters read: the row, its direction, the texts. The
 * texts sit in FLD_PAD-byte arrays so a writer may copy a whole array
 * with one fixed-size memcpy and keep only the length.
 */
#define FLD_PAD 64
struct fld_ctx {
	const struct flowtab_row *row;
	int dir;
	double bitrate;
	char addr[2][FLD_PAD]; /* side A, side B */
	char ep[2][FLD_PAD];
	int addr_len[2], ep_len[2];
};
_Static_assert(FLD_PAD >= INET6_ADDRSTRLEN + 8, "room for an endpoint");

static void fld_prepare(struct fld_ctx *c, const struct report_dir *d,
			double secs)
{
	c->row = d->row;
	c->dir = (int)d->dir;
	c->bitrate = secs > 0 ? 8.0 * (double)d->bytes / secs : 0;
	for (int side = 0; side < 2; side++) {
		c->addr_len[side] =
			flowkey_format_addr(&c->row->key, side, c->addr[side],
					    sizeof(c->addr[side]));
		c->ep_len[side] =
			flowkey_endpoint_of(&c->row->key, side, c->addr[side],
					    c->ep[side], sizeof(c->ep[side]));
	}
}

/* FLD_STR values are text this file or flowkey.c made (addresses,
 * protocol names): printable ASCII without quotes or backslashes, so they
 * are written without escaping in every format. */
enum fld_type { FLD_STR, FLD_U64, FLD_RATE };
struct fld_val {
	enum fld_type type;
	const char *s;
	uint64_t u;
	int len;    /* of s; -1: unknown (strlen) */
	int padded; /* s is a FLD_PAD-byte array */
};
struct report_field {
	const char *json; /* JSON key and CSV header */
	const char *text; /* text label, NULL: not in the text line */
	struct fld_val (*get)(const struct fld_ctx *c);
};

static uint16_t side_port(const struct flow_key *k, int side)
{
	return side ? k->bport : k->aport;
}

#define V_U64(x) ((struct fld_val){ FLD_U64, NULL, (x), 0, 0 })
#define V_STR(x) ((struct fld_val){ FLD_STR, (x), 0, -1, 0 })
#define V_TEXT(a, n) ((struct fld_val){ FLD_STR, (a), 0, (n), 1 })

static struct fld_val get_bitrate(const struct fld_ctx *c)
{
	(void)c;
	return (struct fld_val){ FLD_RATE, NULL, 0, 0, 0 };
}
static struct fld_val get_packets(const struct fld_ctx *c)
{
	return V_U64(c->row->pkts[c->dir]);
}
static struct fld_val get_bytes(const struct fld_ctx *c)
{
	return V_U64(c->row->bytes[c->dir]);
}
static struct fld_val get_proto(const struct fld_ctx *c)
{
	return V_STR(flowkey_proto_name(c->row->key.kind));
}
static struct fld_val get_src(const struct fld_ctx *c)
{
	return V_TEXT(c->ep[c->dir], c->ep_len[c->dir]);
}
static struct fld_val get_dst(const struct fld_ctx *c)
{
	return V_TEXT(c->ep[!c->dir], c->ep_len[!c->dir]);
}
static struct fld_val get_srcip(const struct fld_ctx *c)
{
	return V_TEXT(c->addr[c->dir], c->addr_len[c->dir]);
}
static struct fld_val get_dstip(const struct fld_ctx *c)
{
	return V_TEXT(c->addr[!c->dir], c->addr_len[!c->dir]);
}
static struct fld_val get_srcport(const struct fld_ctx *c)
{
	const struct flow_key *k = &c->row->key;

	return V_U64(flowkey_has_ports(k->kind) ? side_port(k, c->dir) : 0);
}
static struct fld_val get_dstport(const struct fld_ctx *c)
{
	const struct flow_key *k = &c->row->key;

	return V_U64(flowkey_has_ports(k->kind) ? side_port(k, !c->dir) : 0);
}
static struct fld_val get_icmptype(const struct fld_ctx *c)
{
	const struct flow_key *k = &c->row->key;

	return V_U64(k->kind == KIND_ICMP4 || k->kind == KIND_ICMP6 ? k->aport
								    : 0);
}
static struct fld_val get_ipproto(const struct fld_ctx *c)
{
	return V_U64(c->row->key.ipproto);
}
static struct fld_val get_vlan(const struct fld_ctx *c)
{
	return V_U64(c->row->key.vlan);
}
static struct fld_val get_flow(const struct fld_ctx *c)
{
	return V_U64(c->row->id);
}

/* dkorunic/pktstat's names first (srcIp ... bitrate), then ours. */
static const struct report_field report_fields[] = {
	{ "bitrate", "bitrate", get_bitrate },
	{ "packets", "packets", get_packets },
	{ "size", "bytes", get_bytes },
	{ "proto", "proto", get_proto },
	{ "src", "src", get_src },
	{ "dst", "dst", get_dst },
	{ "srcIp", NULL, get_srcip },
	{ "dstIp", NULL, get_dstip },
	{ "srcPort", NULL, get_srcport },
	{ "dstPort", NULL, get_dstport },
	{ "icmpType", NULL, get_icmptype },
	{ "ipProto", NULL, get_ipproto },
	{ "vlan", NULL, get_vlan },
	{ "flow", NULL, get_flow },
};
#define N_FIELDS (sizeof(report_fields) / sizeof(report_fields[0]))

/* ---- formats ------------------------------------------------------------ */

static void text_row(struct ob *o, const struct fld_ctx *c)
{
	int first = 1;

	for (size_t f = 0; f < N_FIELDS; f++) {
		struct fld_val v;

		if (!report_fields[f].text)
			continue;
		v = report_fields[f].get(c);
		if (!first)
			ob_mem(o, ", ", 2);
		first = 0;
		ob_puts(o, report_fields[f].text);
		ob_mem(o, ": ", 2);
		if (v.type == FLD_U64)
			ob_u64(o, v.u);
		else if (v.type == FLD_RATE)
			ob_bitrate(o, c->bitrate);
		else
			ob_puts(o, v.s);
	}
	ob_putc(o, '\n');
}

static void write_text_tail(struct ob *o, const struct snapshot *s,
			    const struct report_meta *m, double secs)
{
	struct flowtab_counts proto[PROTO_COUNT];
	uint64_t op = 0, ob = 0;

	snapshot_proto_totals(s->kind, proto);
	ob_puts(o, "\nProtocol totals:\n");
	for (int p = 0; p < PROTO_COUNT; p++) {
		ob_printf(o,
			  "  %-7s packets: %" PRIu64 ", bytes: %" PRIu64
			  ", bitrate: ",
			  snapshot_proto_name(p), proto[p].pkts,
			  proto[p].bytes);
		ob_bitrate(o,
			   secs > 0 ? 8.0 * (double)proto[p].bytes / secs : 0);
		ob_putc(o, '\n');
	}
	for (int k = 0; k < KIND_COUNT; k++) {
		op += s->overflow[k].pkts;
		ob += s->overflow[k].bytes;
	}
	ob_printf(o,
		  "Flows: %zu live, %" PRIu64 " expired (%" PRIu64
		  " evicted under pressure), overflow (table full, cap %zu): "
		  "packets: %" PRIu64 ", bytes: %" PRIu64 "\n",
		  s->nrows, s->expired_flows, s->evicted_flows, s->max_flows,
		  op, ob);
	for (size_t c = 0; c < s->ncounters; c++) {
		ob_puts(o, c ? "  " : "Counters:\n  ");
		text_str(o, s->counters[c].name);
		ob_printf(o, " packets: %" PRIu64 ", bytes: %" PRIu64 " (",
			  s->counters[c].pkts, s->counters[c].bytes);
		text_str(o, s->counters[c].expr);
		ob_puts(o, ")\n");
	}
	ob_printf(o, "Malformed: %" PRIu64, snapshot_malformed(s));
	for (int e = 1; e < DEC_ERR_COUNT; e++)
		if (s->err[e])
			ob_printf(o, ", %s: %" PRIu64, decode_err_name(e),
				  s->err[e]);
	ob_puts(o, "\nCapture: ");
	text_str(o, m->source);
	ob_printf(o, ", backend %s, threads %d, filter: ", m->backend,
		  m->threads);
	text_str(o, m->filter && *m->filter ? m->filter : "(none)");
	ob_printf(o,
		  "\nLoss: kernel drops: %" PRIu64 ", freezes: %" PRIu64
		  ", interface drops: %" PRIu64 ", counts are %s\n",
		  s->cap.kernel_drops, s->cap.freezes, s->cap.if_drops,
		  snapshot_exact(s) ? "exact"
				    : "NOT exact (packets were lost)");
	ob_printf(o,
		  "\nRead total packets: %" PRIu64 ", total bytes: %" PRIu64
		  " in %0.2f seconds\n",
		  s->pkts, s->bytes, secs);
}

/*
 * The JSON keys with their separators ("{\"bitrate\":", ",\"packets\":"
 * ...), each in a zero-padded 16-byte array: a row writes a key with one
 * fixed-size copy.
 */
#define JSON_KEY_PAD 16
struct json_keys {
	char k[N_FIELDS][JSON_KEY_PAD];
	size_t len[N_FIELDS];
};

static void json_keys_init(struct json_keys *jk)
{
	memset(jk, 0, sizeof(*jk));
	for (size_t f = 0; f < N_FIELDS; f++)
		jk->len[f] = (size_t)snprintf(jk->k[f], sizeof(jk->k[f]),
					      "%s\"%s\":", f ? "," : "{",
					      report_fields[f].json);
}

/* Room a JSON row can take at most: keys (under 16 bytes each), numbers
 * (20 digits), texts (FLD_PAD copied whole), quotes and the brace. */
#define JSON_ROW_MAX (N_FIELDS * (JSON_KEY_PAD + FLD_PAD + 4) + 64)

static void json_row(struct ob *o, const struct fld_ctx *c,
		     const struct json_keys *jk)
{
	/* with room for the whole row, nothing below needs a check */
	if (OB_SIZE - o->n < JSON_ROW_MAX)
		ob_flush(o);
	for (size_t f = 0; f < N_FIELDS; f++) {
		struct fld_val v = report_fields[f].get(c);

		memcpy(o->buf + o->n, jk->k[f], JSON_KEY_PAD);
		o->n += jk->len[f];
		if (v.type == FLD_U64) {
			o->n += put_u64(o->buf + o->n, v.u);
		} else if (v.type == FLD_RATE) {
			ob_fixed(o, c->bitrate, 3);
		} else {
			size_t len = v.len < 0	       ? strlen(v.s)
				     : v.len < FLD_PAD ? (size_t)v.len
						       : FLD_PAD - 1;

			o->buf[o->n++] = '"';
			if (v.padded)
				memcpy(o->buf + o->n, v.s, FLD_PAD);
			else
				memcpy(o->buf + o->n, v.s, len);
			o->n += len;
			o->buf[o->n++] = '"';
		}
	}
	o->buf[o->n++] = '}';
}

static void write_json_head(struct ob *o, const struct snapshot *s,
			    const struct report_meta *m, double secs)
{
	struct flowtab_counts proto[PROTO_COUNT];
	char t0[64], t1[64];
	uint64_t op = 0, ob = 0, ep = 0, eb = 0;

	fmt_time(s->first_ts_ns, t0, sizeof(t0));
	fmt_time(s->last_ts_ns, t1, sizeof(t1));
	ob_puts(o, "{\"source\":");
	json_str(o, m->source);
	ob_puts(o, ",\"filter\":");
	json_str(o, m->filter ? m->filter : "");
	ob_puts(o, ",\"backend\":");
	json_str(o, m->backend);
	ob_printf(o, ",\"threads\":%d,\"start\":\"%s\",\"end\":\"%s\"",
		  m->threads, t0, t1);
	ob_printf(o, ",\"duration\":%.6f,\"exact\":%s", secs,
		  snapshot_exact(s) ? "true" : "false");
	ob_printf(o,
		  ",\"totals\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
		  s->pkts, s->bytes);
	snapshot_proto_totals(s->kind, proto);
	ob_puts(o, ",\"protocols\":{");
	for (int p = 0; p < PROTO_COUNT; p++)
		ob_printf(o,
			  "%s\"%s\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
			  "}",
			  p ? "," : "", snapshot_proto_name(p), proto[p].pkts,
			  proto[p].bytes);
	ob_printf(o, "},\"malformed\":{\"total\":%" PRIu64,
		  snapshot_malformed(s));
	for (int e = 1; e < DEC_ERR_COUNT; e++)
		ob_printf(o, ",\"%s\":%" PRIu64, decode_err_name(e), s->err[e]);
	for (int k = 0; k < KIND_COUNT; k++) {
		op += s->overflow[k].pkts;
		ob += s->overflow[k].bytes;
		ep += s->expired[k].pkts;
		eb += s->expired[k].bytes;
	}
	ob_printf(o,
		  "},\"flowTable\":{\"live\":%zu,\"expired\":%" PRIu64
		  ",\"evicted\":%" PRIu64 ",\"expiredPackets\":%" PRIu64
		  ",\"expiredBytes\":%" PRIu64
		  ",\"max\":%zu,\"overflowPackets\":%" PRIu64
		  ",\"overflowBytes\":%" PRIu64 "}",
		  s->nrows, s->expired_flows, s->evicted_flows, ep, eb,
		  s->max_flows, op, ob);
	ob_printf(o,
		  ",\"capture\":{\"received\":%" PRIu64
		  ",\"kernelDrops\":%" PRIu64 ",\"freezes\":%" PRIu64
		  ",\"ifDrops\":%" PRIu64 ",\"filtered\":%" PRIu64 "}",
		  s->cap.received, s->cap.kernel_drops, s->cap.freezes,
		  s->cap.if_drops, s->cap.filtered);
	ob_puts(o, ",\"counters\":[");
	for (size_t c = 0; c < s->ncounters; c++) {
		ob_puts(o, c ? ",{\"name\":" : "{\"name\":");
		json_str(o, s->counters[c].name);
		ob_puts(o, ",\"filter\":");
		json_str(o, s->counters[c].expr);
		ob_printf(o, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			  s->counters[c].pkts, s->counters[c].bytes);
	}
	ob_puts(o, "],\"flows\":[");
}

static void csv_row(struct ob *o, const struct fld_ctx *c)
{
	for (size_t f = 0; f < N_FIELDS; f++) {
		struct fld_val v = report_fields[f].get(c);

		if (f)
			ob_putc(o, ',');
		if (v.type == FLD_U64)
			ob_u64(o, v.u);
		else if (v.type == FLD_RATE)
			ob_fixed(o, c->bitrate, 3);
		else {
			ob_putc(o, '"');
			ob_puts(o, v.s);
			ob_putc(o, '"');
		}
	}
	ob_putc(o, '\n');
}

int report_write(FILE *out, enum report_format fmt, struct snapshot *s,
		 const struct report_meta *meta)
{
	double secs = snapshot_duration_ns(s) / 1e9;
	struct report_dir *d;
	struct fld_ctx c;
	struct json_keys jk;
	struct ob *o;
	size_t nd = 0;

	json_keys_init(&jk);
	o = malloc(sizeof(*o));
	d = o ? split_dirs(s, &nd) : NULL;
	if (!d) {
		free(o);
		return -ENOMEM;
	}
	o->out = out;
	o->tee = meta ? meta->tee : NULL;
	o->n = 0;
	o->buf = o->own;
	o->w = NULL;
	if (fmt == REPORT_JSON_ARRAY)
		ob_putc(o, '[');
	else if (fmt == REPORT_JSON)
		write_json_head(o, s, meta, secs);
	else if (fmt == REPORT_CSV)
		for (size_t f = 0; f < N_FIELDS; f++) {
			if (f)
				ob_putc(o, ',');
			ob_puts(o, report_fields[f].json);
		}
	if (fmt == REPORT_CSV)
		ob_putc(o, '\n');
	if (nd >= OB_WRITER_ROWS)
		ob_writer_start(o);
	for (size_t i = 0; i < nd; i++) {
		fld_prepare(&c, &d[i], secs);
		switch (fmt) {
		case REPORT_JSON_ARRAY:
			if (i)
				ob_putc(o, ',');
			json_row(o, &c, &jk);
			break;
		case REPORT_JSON:
			ob_puts(o, i ? ",\n" : "\n");
			json_row(o, &c, &jk);
			break;
		case REPORT_CSV:
			csv_row(o, &c);
			break;
		default:
			text_row(o, &c);
		}
	}
	if (fmt == REPORT_JSON_ARRAY)
		ob_puts(o, "]\n");
	else if (fmt == REPORT_JSON)
		ob_puts(o, "\n]}\n");
	else if (fmt == REPORT_TEXT)
		write_text_tail(o, s, meta, secs);
	ob_flush(o);
	ob_writer_stop(o);
	if (o->tee) {
		fflush(o->tee);
		if (meta->tee_done)
			*meta->tee_done = 1;
	}
	free(o);
	mem_free_big(d, dirs_room(s->nrows) * sizeof(*d));
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}

/*
 * As root: refuse a path any of whose directories another user controls -
 * one they own (they could swap its entries), or a symbolic link they own
 * (they choose where it points). Checked component by component with
 * lstat, so a planted link cannot redirect the write. 0 or -EPERM.
 */
static int check_components(const char *dir, char *err, size_t errlen,
			    const char *path)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t i, len;

	if (geteuid() != 0)
		return 0;
	len = strlen(dir);
	if (len >= sizeof(buf))
		return 0; /* too long: the open below names the problem */
	memcpy(buf, dir, len + 1);
	for (i = 1; i <= len; i++) {
		char c = buf[i];

		if (c != '/' && c != '\0')
			continue;
		buf[i] = '\0';
		if (lstat(buf, &st) == 0 && st.st_uid != 0 &&
		    (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))) {
			snprintf(err, errlen,
				 "%s: %s is owned by another user, refused",
				 path, buf);
			return -EPERM;
		}
		buf[i] = c;
	}
	return 0;
}

int report_save(const char *path, report_fill_fn fill, void *ctx, char *err,
		size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX], pcopy[PATH_MAX];
	struct stat st;
	int fd = -1, dfd = -1, rc;
	FILE *f = NULL;

	if (!path || !*path || strlen(path) + 32 >= PATH_MAX) {
		snprintf(err, errlen, "%.64s...: file name too long",
			 path ? path : "");
		return -ENAMETOOLONG;
	}
	snprintf(pcopy, sizeof(pcopy), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(pcopy));
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(err, errlen, "%s: is a symbolic link, refused",
				 path);
			return -ELOOP;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: is a directory", path);
			return -EISDIR;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			return -EINVAL;
		}
		if (st.st_nlink > 1) {
			snprintf(err, errlen,
				 "%s: has other hard links, refused", path);
			return -EMLINK;
		}
	} else if (errno == ENAMETOOLONG) {
		snprintf(err, errlen, "%.64s...: file name too long", path);
		return -ENAMETOOLONG;
	}
	rc = check_components(dir, err, errlen, path);
	if (rc)
		return rc;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path,
			 errno == ENOENT ? "directory does not exist"
					 : strerror(errno));
		return rc;
	}
	/* As root, a directory another user can write (without the sticky
	 * bit) lets them swap the file under us: refuse it. */
	if (geteuid() == 0 && fstat(dfd, &st) == 0 &&
	    (((st.st_mode & (S_IWOTH | S_IWGRP)) && !(st.st_mode & S_ISVTX)) ||
	     st.st_uid != 0)) {
		close(dfd);
		snprintf(err, errlen,
			 "%s: directory is writable by another user, refused",
			 path);
		return -EPERM;
	}
	for (int tries = 0; tries < 100; tries++) {
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%d", path, (int)getpid(),
			 tries);
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(dfd);
		return rc;
	}
	(void)fchmod(fd, 0600); /* whatever the umask */
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	rc = fill(f, ctx);
	if (rc == 0 && fflush(f) != 0)
		rc = -errno;
	if (rc == 0 && fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc)
		goto fail;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto fail;
	}
	(void)fsync(dfd);
	close(dfd);
	return 0;
fail:
	if (rc == -EIO && errno)
		rc = -errno;
	snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	unlink(tmp);
	close(dfd);
	return rc;
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

int report_write_file(const char *path, struct snapshot *s,
		      const struct report_meta *meta, char *err, size_t errlen)
{
	struct report_meta m = *meta;
	struct fill_report fr = { s, &m };

	m.path = path;
	return report_save(path, fill_report, &fr, err, errlen);
}
