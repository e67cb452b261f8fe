/*
 * remote.c - the client's copy of a daemon's flow table, kept from the
 * deltas of its flow stream (doc/PROTOCOL), for pktstat --connect.
 *
 * Owns the connection, the rows (sorted by flow id), the pending changes
 * of the refresh being received and the last totals. One thread (the
 * UI's); the socket is non-blocking and only a counter command waits for
 * its reply (2 s at most), taking in stream messages meanwhile.
 */
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "counters.h"
#include "filterlog.h"
#include "proto.h"

#define REPLY_WAIT_MS 2000

struct remote {
	int fd;
	struct proto_reader rd;
	char err[512];
	/* the copy */
	struct flowtab_row *rows;
	size_t nrows;
	int have_totals;
	struct snapshot tot; /* totals of the last refresh, no rows */
	/* the refresh being received */
	struct flowtab_row *chg;
	size_t nchg, capchg;
	uint64_t *gone;
	size_t ngone, capgone;
	/* what the daemon said about itself */
	char source[512], backend[64], filter[1024];
	int threads;
	/* a counter command's answer */
	int waiting, replied, status;
	char reply[1024];
	struct counters_value *got;
	size_t ngot;
	/* the filters the daemon ran (TOTALS' tail), and the caller's */
	struct filterlog *filters;
	size_t nfilters; /* the daemon's entries taken */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int row_by_id(const void *a, const void *b)
{
	const struct flowtab_row *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Send one message, waiting for room at most REPLY_WAIT_MS. */
static int send_msg(struct remote *r, int type, const void *p, size_t len)
{
	uint8_t buf[PROTO_HDR_LEN + PROTO_CMD_MAX];
	size_t off = 0, n = PROTO_HDR_LEN + len;

	if (len > PROTO_CMD_MAX)
		return -EMSGSIZE;
	proto_put_hdr(buf, (uint8_t)type, (uint32_t)len);
	if (len)
		memcpy(buf + PROTO_HDR_LEN, p, len);
	while (off < n) {
		ssize_t k = send(r->fd, buf + off, n - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = { .fd = r->fd, .events = POLLOUT };

			if (poll(&pf, 1, REPLY_WAIT_MS) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (k <= 0)
			return -EPIPE;
		off += (size_t)k;
	}
	return 0;
}

/* Apply the refresh's changes to the copy: one merge by id. */
static int apply(struct remote *r)
{
	size_t cap = r->nrows + r->nchg, i = 0, j = 0, k = 0, n = 0;
	struct flowtab_row *out;

	if (r->nchg)
		qsort(r->chg, r->nchg, sizeof(*r->chg), row_by_id);
	if (r->ngone)
		qsort(r->gone, r->ngone, sizeof(*r->gone), u64_cmp);
	out = malloc((cap ? cap : 1) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	while (i < r->nrows || j < r->nchg) {
		const struct flowtab_row *a = i < r->nrows ? &r->rows[i] : NULL;
		const struct flowtab_row *c = j < r->nchg ? &r->chg[j] : NULL;

		if (c && (!a || c->id <= a->id)) {
			if (a && a->id == c->id)
				i++;
			/* two records of one flow in a refresh: the last */
			while (j + 1 < r->nchg && r->chg[j + 1].id == c->id)
				c = &r->chg[++j];
			out[n++] = *c;
			j++;
			continue;
		}
		while (k < r->ngone && r->gone[k] < a->id)
			k++;
		if (!(k < r->ngone && r->gone[k] == a->id))
			out[n++] = *a;
		i++;
	}
	free(r->rows);
	r->rows = out;
	r->nrows = n;
	r->nchg = r->ngone = 0;
	return 0;
}

static int take_flows(struct remote *r, struct proto_in *in)
{
	uint32_t n = proto_in_u32(in);

	if (in->bad || (size_t)n * PROTO_FLOW_LEN != in->len - in->off)
		return -EPROTO;
	if (r->nchg + n > r->capchg) {
		size_t cap = (r->nchg + n) * 2;
		struct flowtab_row *p = realloc(r->chg, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->chg = p;
		r->capchg = cap;
	}
	for (uint32_t i = 0; i < n; i++)
		proto_in_flow(in, &r->chg[r->nchg++]);
	return in->bad ? -EPROTO : 0;
}

static int take_gone(struct remote *r, struct proto_in *in)
{
	uint32_t n = proto_in_u32(in);

	if (in->bad || (size_t)n * 8 != in->len - in->off)
		return -EPROTO;
	if (r->ngone + n > r->capgone) {
		size_t cap = (r->ngone + n) * 2;
		uint64_t *p = realloc(r->gone, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->gone = p;
		r->capgone = cap;
	}
	for (uint32_t i = 0; i < n; i++)
		r->gone[r->ngone++] = proto_in_u64(in);
	return in->bad ? -EPROTO : 0;
}

/*
 * TOTALS' tail, where the daemon sends it: entries of its filter log from
 * index first on, each once; noted in r->filters in their order. 0, or
 * -EPROTO / -ENOMEM.
 */
static int take_filters(struct remote *r, struct proto_in *in)
{
	uint32_t first = proto_in_u32(in);
	uint16_t n = proto_in_u16(in);
	char name[COUNTERS_NAME_MAX], *text = malloc(UINT16_MAX + 1);
	int rc = 0;

	if (!text)
		return -ENOMEM;
	for (uint16_t i = 0; i < n && !in->bad && !rc; i++) {
		uint64_t t = proto_in_u64(in);
		uint8_t kind = proto_in_u8(in), has = proto_in_u8(in);

		proto_in_str(in, name, sizeof(name));
		proto_in_str(in, text, UINT16_MAX + 1);
		if (in->bad || kind > FILTERLOG_COUNTER)
			rc = -EPROTO;
		else if ((size_t)first + i == r->nfilters &&
			 !(rc = filterlog_add(r->filters, t, kind,
					      kind == FILTERLOG_COUNTER ? name
									: NULL,
					      has ? text : NULL)))
			r->nfilters++;
	}
	free(text);
	return in->bad ? -EPROTO : rc;
}

static int take_totals(struct remote *r, struct proto_in *in)
{
	struct snapshot *t = &r->tot;
	uint16_t nk, ne, nc;

	free(t->counters);
	t->counters = NULL;
	t->ncounters = 0;
	t->wall_ns = proto_in_u64(in);
	t->start_ns = proto_in_u64(in);
	t->now_ns = proto_in_u64(in);
	t->first_ts_ns = proto_in_u64(in);
	t->last_ts_ns = proto_in_u64(in);
	t->pkts = proto_in_u64(in);
	t->bytes = proto_in_u64(in);
	nk = proto_in_u16(in);
	for (uint16_t k = 0; k < nk && !in->bad; k++) {
		struct flowtab_counts v[3];

		for (int m = 0; m < 3; m++) {
			v[m].pkts = proto_in_u64(in);
			v[m].bytes = proto_in_u64(in);
		}
		if (k < KIND_COUNT) {
			t->kind[k] = v[0];
			t->expired[k] = v[1];
			t->overflow[k] = v[2];
		}
	}
	t->expired_flows = proto_in_u64(in);
	t->evicted_flows = proto_in_u64(in);
	t->max_flows = (size_t)proto_in_u64(in);
	(void)proto_in_u64(in); /* the daemon's live flows */
	ne = proto_in_u16(in);
	for (uint16_t k = 0; k < ne && !in->bad; k++) {
		uint64_t v = proto_in_u64(in);

		if (k < DEC_ERR_COUNT)
			t->err[k] = v;
	}
	t->cap.received = proto_in_u64(in);
	t->cap.kernel_drops = proto_in_u64(in);
	t->cap.freezes = proto_in_u64(in);
	t->cap.if_drops = proto_in_u64(in);
	t->cap.filtered = proto_in_u64(in);
	t->link_down = proto_in_u8(in);
	nc = proto_in_u16(in);
	if (nc > COUNTERS_MAX)
		return -EPROTO;
	if (nc) {
		t->counters = calloc(nc, sizeof(*t->counters));
		if (!t->counters)
			return -ENOMEM;
	}
	for (uint16_t k = 0; k < nc && !in->bad; k++) {
		struct counters_value *v = &t->counters[k];

		proto_in_str(in, v->name, sizeof(v->name));
		proto_in_str(in, v->expr, sizeof(v->expr));
		v->pkts = proto_in_u64(in);
		v->bytes = proto_in_u64(in);
	}
	t->ncounters = nc;
	proto_in_str(in, r->source, sizeof(r->source));
	proto_in_str(in, r->backend, sizeof(r->backend));
	proto_in_str(in, r->filter, sizeof(r->filter));
	r->threads = (int)proto_in_u32(in);
	if (in->bad)
		return -EPROTO;
	/* a daemon before the filter log ends here */
	if (in->off < in->len) {
		int rc = take_filters(r, in);

		if (rc)
			return rc;
	}
	t->mono_ns = mono_ns();
	r->have_totals = 1;
	return apply(r);
}

/* One message; 1 when it closed a refresh, 0, or -errno (r->err). */
static int on_message(struct remote *r, const struct proto_hdr *h,
		      const uint8_t *p)
{
	struct proto_in in = { .p = p, .len = h->len };
	int rc = 0;

	switch (h->type) {
	case PROTO_FLOWS:
		rc = take_flows(r, &in);
		break;
	case PROTO_GONE:
		rc = take_gone(r, &in);
		break;
	case PROTO_TOTALS:
		rc = take_totals(r, &in);
		if (rc == 0)
			return 1;
		break;
	case PROTO_COUNTER:
		if (r->waiting && r->ngot < COUNTERS_MAX) {
			struct counters_value *v = &r->got[r->ngot++];

			proto_in_str(&in, v->name, sizeof(v->name));
			proto_in_str(&in, v->expr, sizeof(v->expr));
			v->pkts = proto_in_u64(&in);
			v->bytes = proto_in_u64(&in);
		}
		break;
	case PROTO_REPLY:
		r->status = (int32_t)proto_in_u32(&in);
		proto_in_str(&in, r->reply, sizeof(r->reply));
		r->replied = 1;
		break;
	case PROTO_BYE:
		proto_in_str(&in, r->err, sizeof(r->err));
		return -ECONNRESET;
	default:
		snprintf(r->err, sizeof(r->err),
			 "protocol error: message type %u", h->type);
		return -EPROTO;
	}
	if (rc == -EPROTO)
		snprintf(r->err, sizeof(r->err), "protocol error: bad %s",
			 h->type == PROTO_TOTALS ? "totals" : "flow records");
	else if (rc)
		snprintf(r->err, sizeof(r->err), "%s", strerror(-rc));
	return rc;
}

int remote_poll(struct remote *r)
{
	int done = 0;

	if (*r->err)
		return -ECONNRESET;
	for (;;) {
		uint8_t buf[65536];
		struct proto_hdr h;
		const uint8_t *p;
		size_t room;
		ssize_t n;
		int rc;

		while ((rc = proto_reader_next(&r->rd, &h, &p, r->err,
					       sizeof(r->err))) == 1) {
			rc = on_message(r, &h, p);
			if (rc < 0)
				return rc;
			done |= rc;
		}
		if (rc < 0)
			return rc;
		room = proto_reader_room(&r->rd);
		n = recv(r->fd, buf, room < sizeof(buf) ? room : sizeof(buf),
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return done;
		if (n <= 0) {
			snprintf(r->err, sizeof(r->err), "%s",
				 n == 0 ? "daemon closed the connection"
					: strerror(errno));
			return -ECONNRESET;
		}
		if (proto_reader_feed(&r->rd, buf, (size_t)n)) {
			snprintf(r->err, sizeof(r->err), "out of memory");
			return -ENOMEM;
		}
	}
}

struct remote *remote_open(const char *path, unsigned int refresh_ms, char *err,
			   size_t errlen)
{
	struct remote *r = calloc(1, sizeof(*r));
	char info[2048], *f[4], *save = NULL;
	uint8_t sub[4];
	int fd;

	if (!r || proto_reader_init(&r->rd, PROTO_MSG_MAX) ||
	    !(r->filters = filterlog_new())) {
		if (r)
			proto_reader_free(&r->rd);
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snapshot_init(&r->tot);
	r->fd = -1;
	fd = client_open(path, info, sizeof(info), err, errlen);
	if (fd < 0) {
		remote_free(r);
		return NULL;
	}
	r->fd = fd;
	f[0] = strtok_r(info, "\t", &save);
	for (int i = 1; i < 4; i++)
		f[i] = strtok_r(NULL, "\t", &save);
	snprintf(r->source, sizeof(r->source), "%s", f[0] ? f[0] : "?");
	snprintf(r->backend, sizeof(r->backend), "%s", f[1] ? f[1] : "?");
	/* an empty filter leaves its field out of strtok's count */
	if (f[3]) {
		snprintf(r->filter, sizeof(r->filter), "%s", f[2]);
		r->threads = atoi(f[3]);
	} else {
		r->threads = f[2] ? atoi(f[2]) : 0;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (refresh_ms < 100)
		refresh_ms = 100;
	if (refresh_ms > 60000)
		refresh_ms = 60000;
	sub[0] = (uint8_t)(refresh_ms >> 24);
	sub[1] = (uint8_t)(refresh_ms >> 16);
	sub[2] = (uint8_t)(refresh_ms >> 8);
	sub[3] = (uint8_t)refresh_ms;
	if (send_msg(r, PROTO_SUBSCRIBE, sub, sizeof(sub))) {
		snprintf(err, errlen, "%s: cannot subscribe",
			 path ? path : "daemon");
		remote_free(r);
		return NULL;
	}
	/* The first refresh (the whole table) before the screen shows. */
	for (uint64_t end = mono_ns() + 5000000000ull; !r->have_totals;) {
		struct pollfd pf = { .fd = r->fd, .events = POLLIN };
		uint64_t now = mono_ns();
		int rc;

		if (now >= end ||
		    poll(&pf, 1, (int)((end - now) / 1000000ull) + 1) == 0) {
			snprintf(err, errlen, "%s: no refresh from the daemon",
				 path ? path : "daemon");
			remote_free(r);
			return NULL;
		}
		rc = remote_poll(r);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", path ? path : "daemon",
				 r->err);
			remote_free(r);
			return NULL;
		}
	}
	return r;
}

int remote_fd(const struct remote *r)
{
	return r->fd;
}

const char *remote_error(const struct remote *r)
{
	return r->err;
}

int remote_snapshot(struct remote *r, struct snapshot *s)
{
	struct flowtab_row *rows = s->rows;
	size_t cap = s->rows_cap;

	remote_poll(r);
	if (!r->have_totals)
		return -EAGAIN;
	if (cap < r->nrows || !rows) {
		rows = realloc(rows, (r->nrows ? r->nrows : 1) * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		cap = r->nrows ? r->nrows : 1;
	}
	free(s->counters);
	*s = r->tot;
	s->rows = rows;
	s->rows_cap = cap;
	s->table = NULL;
	s->nrows = r->nrows;
	if (r->nrows)
		memcpy(rows, r->rows, r->nrows * sizeof(*rows));
	s->counters = NULL;
	s->ncounters = 0;
	if (r->tot.ncounters) {
		s->counters = malloc(r->tot.ncounters * sizeof(*s->counters));
		if (s->counters) {
			memcpy(s->counters, r->tot.counters,
			       r->tot.ncounters * sizeof(*s->counters));
			s->ncounters = r->tot.ncounters;
		}
	}
	return 0;
}

const char *remote_source(const struct remote *r)
{
	return r->source;
}

const char *remote_backend(const struct remote *r)
{
	return r->backend;
}

const char *remote_filter(const struct remote *r)
{
	return r->filter;
}

int remote_threads(const struct remote *r)
{
	return r->threads;
}

/* The prompt's "NAME=EXPR" and "new NAME=EXPR" in capstats' words. */
static void to_capstats(const char *line, char *out, size_t outlen)
{
	const char *eq = strchr(line, '='), *p = line;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!eq) {
		snprintf(out, outlen, "%s", p);
		return;
	}
	if (strncmp(p, "new ", 4) == 0 || strncmp(p, "new\t", 4) == 0)
		for (p += 4; *p == ' ' || *p == '\t'; p++)
			;
	n = (size_t)(eq - p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (memchr(p, ' ', n) || memchr(p, '\t', n)) { /* '=' in the EXPR */
		snprintf(out, outlen, "%s", line);
		return;
	}
	snprintf(out, outlen, "new %.*s %s", (int)n, p, eq + 1);
}

int remote_counter_cmd(struct remote *r, const char *line, char *msg,
		       size_t msglen)
{
	char cmd[PROTO_CMD_MAX + 1];
	struct proto_cmd pc;
	uint64_t deadline;
	int rc;

	to_capstats(line ? line : "", cmd, sizeof(cmd));
	rc = proto_cmd_parse(cmd, strlen(cmd), &pc, msg, msglen);
	if (rc)
		return rc;
	if (pc.verb == PROTO_VERB_POLL || pc.verb == PROTO_VERB_WATCH) {
		snprintf(msg, msglen, "%s: use show here (the panel watches)",
			 proto_verb_name(pc.verb));
		return -EINVAL;
	}
	r->got = calloc(COUNTERS_MAX, sizeof(*r->got));
	if (!r->got) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	r->ngot = 0;
	r->waiting = 1;
	r->replied = 0;
	rc = send_msg(r, PROTO_CMD, cmd, strlen(cmd));
	deadline = mono_ns() + REPLY_WAIT_MS * 1000000ull;
	while (rc == 0 && !r->replied) {
		struct pollfd pf = { .fd = r->fd, .events = POLLIN };
		uint64_t now = mono_ns();

		if (now >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(&pf, 1, (int)((deadline - now) / 1000000ull) + 1) <
			    0 &&
		    errno != EINTR) {
			rc = -errno;
			break;
		}
		rc = remote_poll(r);
		if (rc > 0)
			rc = 0;
	}
	r->waiting = 0;
	if (rc) {
		snprintf(msg, msglen, "daemon: %s",
			 *r->err ? r->err : strerror(-rc));
	} else if (r->status) {
		rc = r->status;
		snprintf(msg, msglen, "%s", r->reply);
	} else if (pc.verb == PROTO_VERB_LIST) {
		size_t off = 0;

		msg[0] = 0;
		for (size_t i = 0; i < r->ngot && off < msglen; i++)
			off += (size_t)snprintf(msg + off, msglen - off, "%s%s",
						i ? ", " : "", r->got[i].name);
		if (!r->ngot)
			snprintf(msg, msglen, "no counters");
	} else if (pc.verb == PROTO_VERB_SHOW && r->ngot) {
		snprintf(msg, msglen, "%s: %llu packets, %llu bytes (%s)",
			 r->got[0].name, (unsigned long long)r->got[0].pkts,
			 (unsigned long long)r->got[0].bytes,
			 *r->got[0].expr ? r->got[0].expr : "all packets");
	} else {
		snprintf(msg, msglen, "%s", r->reply);
	}
	free(r->got);
	r->got = NULL;
	return rc;
}

size_t remote_counters_read(const struct remote *r, struct counters_value *out,
			    size_t max)
{
	size_t n = r->tot.ncounters;

	if (n && max)
		memcpy(out, r->tot.counters,
		       (n < max ? n : max) * sizeof(*out));
	return n;
}

void remote_free(struct remote *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	proto_reader_free(&r->rd);
	free(r->rows);
	free(r->chg);
	free(r->gone);
	snapshot_free(&r->tot);
	filterlog_free(r->filters);
	free(r);
}

struct filterlog *remote_filters(struct remote *r)
{
	return r->filters;
}
