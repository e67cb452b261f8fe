/*
 * daemon.c - pktstat -d: clients on a unix socket, admitted by their peer
 * credentials, served from one poll loop (doc/PROTOCOL).
 *
 * Owns the listening socket and the clients: each has a reader (a
 * bounded buffer of its half-read message), an output queue and, when it
 * watches the monitor stream, the image of the flows it was sent (id and
 * counts, sorted by id) from which its next delta is made.
 *
 * Threads: everything here runs on the main thread, registered with
 * liburcu (the run's snapshot and the counters' editor calls need it). The
 * capture workers never wait for this loop: a snapshot is a copy taken
 * under rcu_read_lock, and a slow client only ever holds its own queue.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "engine.h"
#include "filterlog.h"
#include "proto.h"
#include "say.h"
#include "snapshot.h"

#define HELLO_NS (5ull * 1000000000ull)	  /* to say hello */
#define PARTIAL_NS (5ull * 1000000000ull) /* to finish a message */
#define STUCK_NS (5ull * 1000000000ull)	  /* a queue not moving */
#define OUT_MAX (1u << 20)		  /* a command client's queue */
#define DELTA_MAX (8u << 20)		  /* one refresh's flow records */
#define FLOWS_PER_MSG ((PROTO_MSG_MAX - 4) / PROTO_FLOW_LEN)
#define READ_MAX (64u << 10)	/* bytes read from one client per loop */
#define FILTERS_MAX (64u << 10) /* filter log bytes in one TOTALS */
#define REFRESH_MIN_MS 100
#define REFRESH_MAX_MS 60000

/* What a monitor client holds of a flow. */
struct sent {
	uint64_t id;
	uint64_t pkts[2], bytes[2];
};

struct client {
	int fd;
	unsigned int id;
	uid_t uid;
	pid_t pid;
	int hello;
	uint64_t since_ns;   /* connected */
	uint64_t partial_ns; /* a half message started, 0: none */
	uint64_t stuck_ns;   /* the queue stopped moving, 0: moving */
	struct proto_reader rd;
	struct proto_buf out;
	size_t out_off; /* bytes of @out already written */
	/* watch NAME frequency SECONDS */
	char watch[COUNTERS_NAME_MAX];
	uint64_t watch_ns, watch_next;
	/* the monitor stream */
	int subscribed;
	uint64_t refresh_ns, next_ns;
	uint64_t skipped; /* refreshes dropped while its queue was full */
	struct sent *img;
	size_t nimg;
	size_t filters_sent; /* entries of the filter log it was sent */
};

struct daemon {
	struct daemon_conf conf;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	gid_t gid;
	int have_group;
	char group[64];
	struct client **cl;
	int ncl, maxcl;
	unsigned int next_id;
	struct engine_port *run; /* the run, through its front-end door */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the socket -------------------------------------------------------- */

static int resolve_group(struct daemon *d, const char *g, char *err,
			 size_t errlen)
{
	struct group *gr = getgrnam(g);
	char *end;
	unsigned long v;

	if (gr) {
		d->gid = gr->gr_gid;
	} else {
		errno = 0;
		v = strtoul(g, &end, 10);
		if (!*g || *end || errno || v >= (gid_t)-1) {
			snprintf(err, errlen, "-g %s: no such group", g);
			return -ENOENT;
		}
		d->gid = (gid_t)v;
	}
	d->have_group = 1;
	snprintf(d->group, sizeof(d->group), "%s", g);
	return 0;
}

/* A socket file at @path: stale (nobody listening: removed) or live. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: a daemon is already listening",
			 path);
		return -EADDRINUSE;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

struct daemon *daemon_listen(const struct daemon_conf *conf, char *err,
			     size_t errlen)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct sockaddr_un sa;
	mode_t old;
	int rc;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->lfd = -1;
	d->conf = *conf;
	d->maxcl =
		conf->max_clients > 0 ? conf->max_clients : DAEMON_MAX_CLIENTS;
	if (strlen(conf->path ? conf->path : DAEMON_SOCKET) >=
	    sizeof(d->path)) {
		snprintf(err, errlen, "%s: socket path too long", conf->path);
		goto fail;
	}
	snprintf(d->path, sizeof(d->path), "%s",
		 conf->path ? conf->path : DAEMON_SOCKET);
	d->gid = getegid();
	if (conf->group && resolve_group(d, conf->group, err, errlen))
		goto fail;
	d->cl = calloc((size_t)d->maxcl, sizeof(*d->cl));
	if (!d->cl) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = clear_stale(d->path, err, errlen);
	if (rc) {
		if (rc != -EEXIST && rc != -EADDRINUSE)
			snprintf(err, errlen, "%s: %s", d->path, strerror(-rc));
		goto fail;
	}
	d->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->lfd < 0) {
		snprintf(err, errlen, "%s: %s", d->path, strerror(errno));
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, d->path, strlen(d->path));
	/* Never wider than 0600 while it exists with the wrong group. */
	old = umask(0177);
	rc = bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 ||
	    chown(d->path, geteuid(), d->have_group ? d->gid : (gid_t)-1) ||
	    chmod(d->path, 0660) || listen(d->lfd, 128)) {
		snprintf(err, errlen, "%s: %s", d->path, strerror(errno));
		if (rc == 0)
			unlink(d->path);
		goto fail;
	}
	return d;
fail:
	daemon_free(d);
	return NULL;
}

int daemon_write_pidfile(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "%s: write failed", path);
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* ---- clients ----------------------------------------------------------- */

/* Root, the group itself, or a member of it by the group database. */
static int peer_allowed(const struct daemon *d, uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256;

	if (uid == 0)
		return 1;
	if (!d->have_group)
		return 0;
	if (gid == d->gid)
		return 1;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return 0;
	if (pw.pw_gid == d->gid)
		return 1;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		n = 256; /* more than fit: the first 256 were filled */
	for (int i = 0; i < n; i++)
		if (groups[i] == d->gid)
			return 1;
	return 0;
}

static void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	proto_reader_free(&c->rd);
	proto_buf_free(&c->out);
	free(c->img);
	free(c);
}

static void drop(struct daemon *d, int i, const char *why)
{
	struct client *c = d->cl[i];

	say_fmt("client %u (uid %ld pid %ld): %s", c->id, (long)c->uid,
		(long)c->pid, why);
	client_free(c);
	d->cl[i] = d->cl[--d->ncl];
	d->cl[d->ncl] = NULL;
}

/* Write what the queue holds; 0, or -1 when the peer is gone. */
static int flush_out(struct client *c, uint64_t now)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out_off,
				 c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->stuck_ns)
				c->stuck_ns = now;
			return 0;
		}
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
		c->stuck_ns = 0;
	}
	c->stuck_ns = 0;
	c->out_off = 0;
	c->out.len = 0;
	if (c->out.cap > OUT_MAX) { /* a big refresh went: give it back */
		proto_buf_free(&c->out);
	}
	return 0;
}

/* A one-message answer of @type with a status and a text. */
static void put_reply(struct client *c, int status, const char *text)
{
	size_t s = proto_buf_begin(&c->out, PROTO_REPLY);

	proto_buf_u32(&c->out, (uint32_t)status);
	proto_buf_str(&c->out, text);
	proto_buf_end(&c->out, s);
}

static void put_bye(struct client *c, const char *text)
{
	size_t s = proto_buf_begin(&c->out, PROTO_BYE);

	proto_buf_str(&c->out, text);
	proto_buf_end(&c->out, s);
}

static void put_counter(struct client *c, const struct counters_value *v)
{
	size_t s = proto_buf_begin(&c->out, PROTO_COUNTER);

	proto_buf_str(&c->out, v->name);
	proto_buf_str(&c->out, v->expr);
	proto_buf_u64(&c->out, v->pkts);
	proto_buf_u64(&c->out, v->bytes);
	proto_buf_u64(&c->out, wall_ns());
	proto_buf_end(&c->out, s);
}

static void put_hello(struct daemon *d, struct client *c)
{
	size_t s = proto_buf_begin(&c->out, PROTO_HELLO);
	struct engine_info in;

	d->run->ops->info(d->run, &in);
	proto_buf_str(&c->out, in.source);
	proto_buf_str(&c->out, in.backend);
	proto_buf_str(&c->out, in.filter);
	proto_buf_u32(&c->out, (uint32_t)in.threads);
	proto_buf_end(&c->out, s);
}

/* The session @name's counts; 0, or -ENOENT. */
static int read_session(struct daemon *d, const char *name,
			struct counters_value *out)
{
	struct counters_value *v = calloc(COUNTERS_MAX, sizeof(*v));
	size_t n;
	int rc = -ENOENT;

	if (!v)
		return -ENOMEM;
	n = d->run->ops->counters_read(d->run, v, COUNTERS_MAX);
	for (size_t i = 0; i < n && i < COUNTERS_MAX; i++)
		if (strcmp(v[i].name, name) == 0) {
			*out = v[i];
			rc = 0;
			break;
		}
	free(v);
	return rc;
}

static void run_cmd(struct daemon *d, struct client *c, const uint8_t *p,
		    size_t len, uint64_t now)
{
	struct proto_cmd cmd;
	struct counters_value v;
	char msg[1200], line[1200];
	int rc;

	rc = proto_cmd_parse((const char *)p, len, &cmd, msg, sizeof(msg));
	if (rc) {
		put_reply(c, rc, msg);
		say_fmt("client %u: refused command: %s", c->id, msg);
		return;
	}
	switch (cmd.verb) {
	case PROTO_VERB_NEW:
	case PROTO_VERB_MODIFY:
	case PROTO_VERB_STOP:
		snprintf(line, sizeof(line), "%s %s%s%s",
			 proto_verb_name(cmd.verb), cmd.name,
			 cmd.verb == PROTO_VERB_STOP ? "" : " ", cmd.expr);
		rc = d->run->ops->counter_cmd(d->run, line, msg, sizeof(msg));
		put_reply(c, rc, msg);
		say_fmt("client %u (uid %ld): %s %s%s%s: %s", c->id,
			(long)c->uid, proto_verb_name(cmd.verb), cmd.name,
			*cmd.expr ? " filter " : "", cmd.expr, msg);
		return;
	case PROTO_VERB_LIST: {
		struct counters_value *all = calloc(COUNTERS_MAX, sizeof(*all));
		size_t n;

		if (!all) {
			put_reply(c, -ENOMEM, "out of memory");
			return;
		}
		n = d->run->ops->counters_read(d->run, all, COUNTERS_MAX);
		if (n > COUNTERS_MAX)
			n = COUNTERS_MAX;
		for (size_t i = 0; i < n; i++)
			put_counter(c, &all[i]);
		free(all);
		snprintf(msg, sizeof(msg), "%lu session%s", (unsigned long)n,
			 n == 1 ? "" : "s");
		put_reply(c, 0, msg);
		break;
	}
	case PROTO_VERB_SHOW:
	case PROTO_VERB_POLL:
	case PROTO_VERB_WATCH:
		rc = read_session(d, cmd.name, &v);
		if (rc) {
			snprintf(msg, sizeof(msg), "no session named %s",
				 cmd.name);
			put_reply(c, rc, msg);
			break;
		}
		put_counter(c, &v);
		if (cmd.verb == PROTO_VERB_WATCH) {
			/* then one every SECONDS until the client goes */
			snprintf(c->watch, sizeof(c->watch), "%s", cmd.name);
			c->watch_ns = cmd.freq * 1000000000ull;
			c->watch_next = now + c->watch_ns;
			break;
		}
		put_reply(c, 0, "ok");
		break;
	}
	if (d->conf.debug)
		say_fmt("client %u: %s %s", c->id, proto_verb_name(cmd.verb),
			cmd.name);
}

/* One whole message from @c. -1 when the client must go (@why set). */
static int on_message(struct daemon *d, struct client *c,
		      const struct proto_hdr *h, const uint8_t *p, uint64_t now,
		      char *why, size_t whylen)
{
	if (d->conf.debug)
		say_fmt("client %u: message type %u, %lu bytes", c->id, h->type,
			(unsigned long)h->len);
	if (!c->hello) {
		if (h->type != PROTO_HELLO) {
			snprintf(why, whylen, "protocol error: no hello");
			return -1;
		}
		c->hello = 1;
		put_hello(d, c);
		return 0;
	}
	switch (h->type) {
	case PROTO_CMD:
		run_cmd(d, c, p, h->len, now);
		return 0;
	case PROTO_SUBSCRIBE: {
		struct proto_in in = { .p = p, .len = h->len };
		uint32_t ms = proto_in_u32(&in);

		if (in.bad || ms < REFRESH_MIN_MS || ms > REFRESH_MAX_MS) {
			put_reply(c, -EINVAL,
				  "subscribe: refresh out of range");
			return 0;
		}
		c->subscribed = 1;
		c->refresh_ns = ms * 1000000ull;
		c->next_ns = now;
		say_fmt("client %u (uid %ld): monitor, refresh %u ms", c->id,
			(long)c->uid, ms);
		return 0;
	}
	default:
		snprintf(why, whylen, "protocol error: message type %u",
			 h->type);
		return -1;
	}
}

/* Read what @c sent, run its whole messages. -1: drop it (@why). */
static int on_readable(struct daemon *d, struct client *c, uint64_t now,
		       char *why, size_t whylen)
{
	uint8_t buf[PROTO_HDR_LEN + PROTO_CMD_MAX];
	size_t got = 0;

	while (got < READ_MAX) {
		size_t room = proto_reader_room(&c->rd);
		ssize_t n;
		struct proto_hdr h;
		const uint8_t *p;
		char e[256];
		int rc;

		if (room > sizeof(buf))
			room = sizeof(buf);
		n = recv(c->fd, buf, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			snprintf(why, whylen, "%s",
				 proto_reader_partial(&c->rd)
					 ? "left in the middle of a message"
					 : "left");
			return -1;
		}
		got += (size_t)n;
		if (proto_reader_feed(&c->rd, buf, (size_t)n)) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		while ((rc = proto_reader_next(&c->rd, &h, &p, e, sizeof(e))) ==
		       1)
			if (on_message(d, c, &h, p, now, why, whylen))
				return -1;
		if (rc < 0) {
			put_bye(c, e);
			flush_out(c, now);
			snprintf(why, whylen, "protocol error: %s", e);
			return -1;
		}
		c->partial_ns = proto_reader_partial(&c->rd)
					? (c->partial_ns ? c->partial_ns : now)
					: 0;
	}
	return 0;
}

/* Say why in a PROTO_BYE (best effort: one non-blocking send) and close.
 * The client reads it before its hello is answered. */
static void refuse(int fd, const char *why)
{
	struct proto_buf b = { 0 };
	size_t s = proto_buf_begin(&b, PROTO_BYE);
	ssize_t n;

	proto_buf_str(&b, why);
	proto_buf_end(&b, s);
	if (!b.oom) {
		n = send(fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	proto_buf_free(&b);
	close(fd);
}

static void on_accept(struct daemon *d, uint64_t now)
{
	for (int k = 0; k < 64; k++) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		struct client *c;
		char e[160];
		int fd = accept4(d->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0) {
			close(fd);
			continue;
		}
		if (!peer_allowed(d, cr.uid, cr.gid)) {
			snprintf(e, sizeof(e),
				 "not allowed: uid %ld is neither root nor in "
				 "group %s",
				 (long)cr.uid,
				 d->have_group ? d->group : "(none given)");
			refuse(fd, e);
			say_fmt("refused uid %ld pid %ld: not root nor in "
				"group "
				"%s",
				(long)cr.uid, (long)cr.pid,
				d->have_group ? d->group : "(none given)");
			continue;
		}
		if (d->ncl >= d->maxcl) {
			snprintf(e, sizeof(e), "too many clients (%d)",
				 d->maxcl);
			refuse(fd, e);
			say_fmt("refused uid %ld pid %ld: %s", (long)cr.uid,
				(long)cr.pid, e);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || proto_reader_init(&c->rd, PROTO_CMD_MAX)) {
			free(c);
			close(fd);
			say_fmt("refused uid %ld: out of memory", (long)cr.uid);
			continue;
		}
		c->fd = fd;
		c->id = ++d->next_id;
		c->uid = cr.uid;
		c->pid = cr.pid;
		c->since_ns = now;
		d->cl[d->ncl++] = c;
		say_fmt("client %u (uid %ld pid %ld): connected", c->id,
			(long)c->uid, (long)c->pid);
	}
}

/* ---- the monitor stream ------------------------------------------------- */

static int row_by_id(const void *a, const void *b)
{
	const struct flowtab_row *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int changed(const struct sent *s, const struct flowtab_row *r)
{
	return s->pkts[0] != r->pkts[0] || s->pkts[1] != r->pkts[1] ||
	       s->bytes[0] != r->bytes[0] || s->bytes[1] != r->bytes[1];
}

/* A string field's bytes: its length, cut as proto_buf_str cuts it. */
static size_t str_field(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return 2 + (n > UINT16_MAX ? UINT16_MAX : n);
}

/*
 * TOTALS' tail: the entries of the filter log @l that @c was not sent yet
 * (u32 index of the first, u16 N, N entries: u64 time, u8 kind, u8 1
 * when it has an expression, str name, str expression), FILTERS_MAX
 * bytes at most (at least one entry): the rest goes with the next.
 */
static void put_filters(struct client *c, const struct filterlog *l)
{
	struct proto_buf *b = &c->out;
	size_t first = c->filters_sent, n = filterlog_count(l), bytes = 0;
	const struct filterlog_entry *e;
	uint16_t k = 0;

	if (first > n)
		first = n;
	for (size_t i = first; i < n && k < UINT16_MAX; i++, k++) {
		size_t sz;

		e = filterlog_at(l, i);
		sz = 10 + str_field(e->name) + str_field(e->text);
		if (k && bytes + sz > FILTERS_MAX)
			break;
		bytes += sz;
	}
	proto_buf_u32(b, (uint32_t)first);
	proto_buf_u16(b, k);
	for (uint16_t i = 0; i < k; i++) {
		e = filterlog_at(l, first + i);
		proto_buf_u64(b, e->wall_ns);
		proto_buf_u8(b, (uint8_t)e->kind);
		proto_buf_u8(b, e->text != NULL);
		proto_buf_str(b, e->name ? e->name : "");
		proto_buf_str(b, e->text ? e->text : "");
	}
	c->filters_sent = first + k;
}

static void put_totals(struct client *c, const struct snapshot *s,
		       struct daemon *d)
{
	struct proto_buf *b = &c->out;
	size_t st = proto_buf_begin(b, PROTO_TOTALS);
	struct engine_info in;

	proto_buf_u64(b, s->wall_ns);
	proto_buf_u64(b, s->start_ns);
	proto_buf_u64(b, s->now_ns);
	proto_buf_u64(b, s->first_ts_ns);
	proto_buf_u64(b, s->last_ts_ns);
	proto_buf_u64(b, s->pkts);
	proto_buf_u64(b, s->bytes);
	proto_buf_u16(b, KIND_COUNT);
	for (int k = 0; k < KIND_COUNT; k++) {
		proto_buf_u64(b, s->kind[k].pkts);
		proto_buf_u64(b, s->kind[k].bytes);
		proto_buf_u64(b, s->expired[k].pkts);
		proto_buf_u64(b, s->expired[k].bytes);
		proto_buf_u64(b, s->overflow[k].pkts);
		proto_buf_u64(b, s->overflow[k].bytes);
	}
	proto_buf_u64(b, s->expired_flows);
	proto_buf_u64(b, s->evicted_flows);
	proto_buf_u64(b, s->max_flows);
	proto_buf_u64(b, s->nrows);
	proto_buf_u16(b, DEC_ERR_COUNT);
	for (int k = 0; k < DEC_ERR_COUNT; k++)
		proto_buf_u64(b, s->err[k]);
	proto_buf_u64(b, s->cap.received);
	proto_buf_u64(b, s->cap.kernel_drops);
	proto_buf_u64(b, s->cap.freezes);
	proto_buf_u64(b, s->cap.if_drops);
	proto_buf_u64(b, s->cap.filtered);
	proto_buf_u8(b, (uint8_t)s->link_down);
	proto_buf_u16(b, (uint16_t)s->ncounters);
	for (size_t i = 0; i < s->ncounters; i++) {
		proto_buf_str(b, s->counters[i].name);
		proto_buf_str(b, s->counters[i].expr);
		proto_buf_u64(b, s->counters[i].pkts);
		proto_buf_u64(b, s->counters[i].bytes);
	}
	d->run->ops->info(d->run, &in);
	proto_buf_str(b, in.source);
	proto_buf_str(b, in.backend);
	proto_buf_str(b, in.filter);
	proto_buf_u32(b, (uint32_t)in.threads);
	put_filters(c, in.filters);
	proto_buf_end(b, st);
}

/*
 * The flows that changed since @c's image, the ids of those gone, then
 * the totals. At most DELTA_MAX bytes of flow records: what does not fit
 * stays out of the image and goes with the next refresh. -ENOMEM leaves
 * the image as it was.
 */
static int send_delta(struct daemon *d, struct client *c,
		      const struct snapshot *s)
{
	size_t cap = s->nrows + c->nimg, ni = 0, nflow = 0, ngone = 0;
	size_t budget = DELTA_MAX / PROTO_FLOW_LEN, i = 0, j = 0;
	struct sent *img = malloc((cap ? cap : 1) * sizeof(*img));
	uint64_t *gone = malloc((c->nimg ? c->nimg : 1) * sizeof(*gone));
	size_t fstart = 0, fcount_at = 0, in_msg = 0;

	if (!img || !gone) {
		free(img);
		free(gone);
		return -ENOMEM;
	}
	while (i < s->nrows || j < c->nimg) {
		const struct flowtab_row *r = i < s->nrows ? &s->rows[i] : NULL;
		const struct sent *p = j < c->nimg ? &c->img[j] : NULL;
		int emit = 0;

		if (p && (!r || p->id < r->id)) {
			/* gone */
			if (ngone + nflow < budget)
				gone[ngone++] = p->id;
			else
				img[ni++] = *p;
			j++;
			continue;
		}
		if (p && p->id == r->id) {
			if (!changed(p, r)) {
				img[ni++] = *p;
				i++;
				j++;
				continue;
			}
			j++;
			emit = nflow + ngone < budget;
			if (!emit)
				img[ni++] = *p;
		} else {
			emit = nflow + ngone < budget;
		}
		if (emit) {
			if (in_msg == 0) {
				fstart = proto_buf_begin(&c->out, PROTO_FLOWS);
				fcount_at = c->out.len;
				proto_buf_u32(&c->out, 0);
			}
			proto_buf_flow(&c->out, r);
			nflow++;
			if (++in_msg == FLOWS_PER_MSG) {
				if (!c->out.oom) {
					uint8_t *q = c->out.p + fcount_at;

					q[0] = (uint8_t)(in_msg >> 24);
					q[1] = (uint8_t)(in_msg >> 16);
					q[2] = (uint8_t)(in_msg >> 8);
					q[3] = (uint8_t)in_msg;
				}
				proto_buf_end(&c->out, fstart);
				in_msg = 0;
			}
			img[ni].id = r->id;
			memcpy(img[ni].pkts, r->pkts, sizeof(r->pkts));
			memcpy(img[ni].bytes, r->bytes, sizeof(r->bytes));
			ni++;
		}
		i++;
	}
	if (in_msg) {
		if (!c->out.oom) {
			uint8_t *q = c->out.p + fcount_at;

			q[0] = (uint8_t)(in_msg >> 24);
			q[1] = (uint8_t)(in_msg >> 16);
			q[2] = (uint8_t)(in_msg >> 8);
			q[3] = (uint8_t)in_msg;
		}
		proto_buf_end(&c->out, fstart);
	}
	for (size_t k = 0; k < ngone;) {
		size_t n =
			ngone - k > FLOWS_PER_MSG ? FLOWS_PER_MSG : ngone - k;
		size_t st = proto_buf_begin(&c->out, PROTO_GONE);

		proto_buf_u32(&c->out, (uint32_t)n);
		for (size_t m = 0; m < n; m++)
			proto_buf_u64(&c->out, gone[k + m]);
		proto_buf_end(&c->out, st);
		k += n;
	}
	put_totals(c, s, d);
	free(gone);
	if (c->out.oom) {
		free(img);
		return -ENOMEM;
	}
	free(c->img);
	c->img = img;
	c->nimg = ni;
	return 0;
}

/* Refresh the monitor clients that are due; one copy of the table. */
static void refresh_monitors(struct daemon *d, uint64_t now)
{
	struct snapshot s;
	int due = 0;

	for (int i = 0; i < d->ncl; i++) {
		struct client *c = d->cl[i];

		if (c->subscribed && now >= c->next_ns) {
			if (c->out.len) { /* still sending: skip this one */
				c->skipped++;
				c->next_ns = now + c->refresh_ns;
				if (d->conf.debug)
					say_fmt("client %u: refresh dropped "
						"(%llu so far)",
						c->id,
						(unsigned long long)c->skipped);
			} else {
				due = 1;
			}
		}
	}
	if (!due)
		return;
	snapshot_init(&s);
	if (d->run->ops->snapshot(d->run, &s) == 0) {
		if (s.nrows)
			qsort(s.rows, s.nrows, sizeof(*s.rows), row_by_id);
		for (int i = 0; i < d->ncl; i++) {
			struct client *c = d->cl[i];

			if (!c->subscribed || now < c->next_ns || c->out.len)
				continue;
			c->next_ns = now + c->refresh_ns;
			if (send_delta(d, c, &s))
				c->out.len = c->out_off = 0;
		}
	}
	snapshot_free(&s);
}

static void watch_tick(struct daemon *d, struct client *c, uint64_t now)
{
	struct counters_value v;
	char msg[128];

	if (!*c->watch || now < c->watch_next)
		return;
	c->watch_next += c->watch_ns;
	if (c->watch_next < now)
		c->watch_next = now + c->watch_ns;
	if (c->out.len > OUT_MAX / 2)
		return; /* not reading: the line is dropped */
	if (read_session(d, c->watch, &v) == 0) {
		put_counter(c, &v);
		return;
	}
	snprintf(msg, sizeof(msg), "no session named %s", c->watch);
	put_reply(c, -ENOENT, msg);
	c->watch[0] = 0;
}

/* ---- the loop ---------------------------------------------------------- */

int daemon_run(struct daemon *d, struct engine_port *run, const sigset_t *sigs,
	       char *err, size_t errlen)
{
	struct engine_info in;
	struct pollfd *pfd;
	int sfd, sig = 0;

	d->run = run;
	sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	pfd = calloc((size_t)d->maxcl + 2, sizeof(*pfd));
	if (sfd < 0 || !pfd) {
		snprintf(err, errlen, "daemon: %s",
			 sfd < 0 ? strerror(errno) : "out of memory");
		if (sfd >= 0)
			close(sfd);
		free(pfd);
		return -ENOMEM;
	}
	run->ops->info(run, &in);
	say_fmt("daemon on %s (%s, backend %s), socket %s, %s%s, at most %d "
		"clients",
		in.source, *in.filter ? in.filter : "no filter", in.backend,
		d->path, d->have_group ? "group " : "",
		d->have_group ? d->group : "root only", d->maxcl);
	while (!sig) {
		uint64_t now = mono_ns();
		int n, timeout = 200;
		struct signalfd_siginfo si;

		for (int i = 0; i < d->ncl; i++) {
			struct client *c = d->cl[i];

			pfd[i].fd = c->fd;
			pfd[i].events = POLLIN | (c->out.len ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		pfd[d->ncl] = (struct pollfd){ .fd = d->lfd, .events = POLLIN };
		pfd[d->ncl + 1] =
			(struct pollfd){ .fd = sfd, .events = POLLIN };
		for (int i = 0; i < d->ncl; i++) {
			struct client *c = d->cl[i];
			uint64_t next = UINT64_MAX;

			if (c->subscribed)
				next = c->next_ns;
			if (*c->watch && c->watch_next < next)
				next = c->watch_next;
			if (next != UINT64_MAX) {
				int ms = next > now ? (int)((next - now) /
							    1000000ull) +
							      1
						    : 0;
				if (ms < timeout)
					timeout = ms;
			}
		}
		int ncl = d->ncl;

		n = poll(pfd, (nfds_t)ncl + 2, timeout);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "daemon: poll: %s",
				 strerror(errno));
			sig = -errno;
			break;
		}
		now = mono_ns();
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM ||
			    si.ssi_signo == SIGHUP)
				sig = (int)si.ssi_signo;
			if (si.ssi_signo == SIGUSR1) {
				char w[4096], e[4400];

				if (run->ops->write_snapshot(run, NULL, w,
							     sizeof(w), e,
							     sizeof(e)))
					say_line(e);
				else
					say_fmt("snapshot written to %s", w);
			}
		}
		if (sig)
			break;
		/* Clients, newest first so that a drop (the last moves into
		 * its place) never skips one. */
		for (int i = ncl - 1; i >= 0; i--) {
			struct client *c = d->cl[i];
			char why[300] = "";

			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (on_readable(d, c, now, why, sizeof(why))) {
					drop(d, i, why);
					continue;
				}
			}
			watch_tick(d, c, now);
			if (c->out.len && flush_out(c, now)) {
				drop(d, i, "left (write failed)");
				continue;
			}
			if (!c->hello && now - c->since_ns > HELLO_NS) {
				drop(d, i, "dropped: no hello within 5 s");
				continue;
			}
			if (c->partial_ns && now - c->partial_ns > PARTIAL_NS) {
				drop(d, i, "dropped: half a message for 5 s");
				continue;
			}
			if (c->stuck_ns && now - c->stuck_ns > STUCK_NS) {
				drop(d, i, "dropped: not reading (5 s)");
				continue;
			}
			if (!c->subscribed && c->out.len > OUT_MAX) {
				drop(d, i, "dropped: not reading");
				continue;
			}
		}
		if (pfd[ncl].revents & POLLIN)
			on_accept(d, now);
		refresh_monitors(d, now);
		for (int i = d->ncl - 1; i >= 0; i--)
			if (d->cl[i]->out.len && flush_out(d->cl[i], now))
				drop(d, i, "left (write failed)");
		run->ops->expire(run);
	}
	if (sig > 0)
		say_fmt("stopping on %s, %d client%s", strsignal(sig), d->ncl,
			d->ncl == 1 ? "" : "s");
	for (int i = d->ncl - 1; i >= 0; i--) {
		put_bye(d->cl[i], "daemon stopping");
		flush_out(d->cl[i], mono_ns());
		drop(d, i, "closed: daemon stopping");
	}
	close(sfd);
	free(pfd);
	return sig;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->ncl; i++)
		client_free(d->cl[i]);
	free(d->cl);
	if (d->lfd >= 0)
		close(d->lfd);
	free(d);
}
