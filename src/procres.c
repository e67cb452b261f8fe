/*
 * procres.c - the process resolver (see procres.h).
 *
 * A look: four inet_diag dumps (TCP and UDP, IPv4 and IPv6) into an
 * array sorted by inode, merged with the previous look's: a socket only in
 * the new one is new, one only in the old one is closed (PROCS_OP_GONE),
 * one in both keeps what was learnt of it. New sockets are looked up in
 * the inode -> pid map of the last /proc walk; when one is missing, a new
 * walk (if its time has come) rebuilds the map. A socket the walk after
 * its arrival did not find is left alone: only a walk some other socket
 * asks for may still name it.
 *
 * When to look (procres_due): a dump costs the kernel a walk of its whole
 * socket hash tables, shared by every network namespace, however few
 * sockets are ours, so the resolver looks only when something may be new:
 * the store asked (new flows, PROCS_WANT) and the kernel's socket
 * counters of our namespace (/proc/net/sockstat, sockstat6) moved
 * since the last look. Either alone brings a look PROCRES_LAZY_MS later;
 * neither, none.
 *
 * Threads: one (procres_start's); nothing is shared but the socket to the
 * store and the stop pipe.
 */
#include "procres.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "procs.h"
#include "procs_bpf.h"

struct rsock {
	struct procres_sock s;
	int32_t pid;
	uint8_t sent;	/* 0: not yet, 1: without a pid, 2: with one */
	uint8_t orphan; /* a walk after its arrival missed it */
};

struct vec {
	struct rsock *v;
	size_t n, cap;
};

struct ipair {
	uint64_t inode;
	int32_t pid;
};

/* A direct-mapped cache of what /proc/PID says, valid for one walk. */
#define PIDCACHE 256
struct pidinfo {
	int32_t pid;
	uint32_t gen;
	char comm[16], cgroup[128], cmdline[160];
};

#define UIDCACHE 64
struct uidname {
	uint32_t uid;
	int valid;
	char name[32];
};

/* The socket counters a look is due after (procres_due): the TCP and
 * UDP sockets in use (bound or connected) in our network namespace, each
 * read from one of stat_files. Not /proc/net/snmp's TCP opens: that file
 * sums a hundred per-CPU counters and costs ten times as much to read. */
static const char *const stat_files[] = { "self/net/sockstat",
					  "self/net/sockstat6" };
#define NSTATFILES (sizeof(stat_files) / sizeof(*stat_files))
static const struct {
	unsigned int file;
	const char *proto, *name;
} stat_fields[] = {
	{ 0, "TCP", "inuse" },
	{ 0, "UDP", "inuse" },
	{ 1, "TCP6", "inuse" },
	{ 1, "UDP6", "inuse" },
};
#define NSTATS (sizeof(stat_fields) / sizeof(*stat_fields))
#define STATBUF 2048

struct procres {
	int fd;	     /* to the store */
	int stop[2]; /* a byte in stop[1] ends the thread */
	int nl;	     /* sock_diag */
	int procfd;  /* /proc */
	uint32_t seq;
	struct vec cur, prev;
	struct ipair *ipm; /* inode -> pid, sorted by inode */
	size_t nipm, capipm;
	uint32_t gen;
	struct pidinfo pids[PIDCACHE];
	struct uidname uids[UIDCACHE];
	char *buf; /* netlink receive buffer */
	uint64_t next_walk_ns;
	size_t fds; /* descriptors the last walk looked at */
	pthread_t thread;
	int dead;		  /* the store is gone */
	uint64_t dump_ns;	  /* the last dump's duration */
	struct procs_bpf_ctx *pb; /* the eBPF attributor, or NULL */
	int statfd[NSTATFILES];	  /* -1: not readable (always "moved") */
	int64_t stats[NSTATS];	  /* the counters at the last look */
	char *statbuf;
	atomic_ulong ticks, walks, probes, asks;
};

#define NLBUF (64 * 1024)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- parsers (pure) ------------------------------------------------------ */

static void put_addr(const __be32 *a, int v6, uint8_t *out, uint8_t *family)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };
	uint8_t b[16];

	memset(out, 0, 16);
	memcpy(b, a, 16);
	if (!v6) {
		memcpy(out, b, 4);
		*family = 4;
	} else if (!memcmp(b, mapped, 12)) {
		memcpy(out, b + 12, 4);
		*family = 4;
	} else {
		memcpy(out, b, 16);
		*family = 6;
	}
}

int procres_parse_diag(const void *buf, size_t len, uint8_t ipproto,
		       procres_sock_fn fn, void *arg)
{
	const uint8_t *p = buf;
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		size_t body;

		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			return -EBADMSG;
		body = h.nlmsg_len - NLMSG_HDRLEN;
		if (h.nlmsg_type == NLMSG_DONE)
			return 1;
		if (h.nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr e;

			if (body < sizeof(e))
				return -EBADMSG;
			memcpy(&e, p + off + NLMSG_HDRLEN, sizeof(e));
			return e.error < 0 && e.error > -4096 ? e.error : -EIO;
		}
		if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    body >= sizeof(struct inet_diag_msg)) {
			struct inet_diag_msg m;
			struct procres_sock s;
			uint8_t f1, f2;

			memcpy(&m, p + off + NLMSG_HDRLEN, sizeof(m));
			if ((m.idiag_family == AF_INET ||
			     m.idiag_family == AF_INET6) &&
			    m.idiag_inode) {
				int v6 = m.idiag_family == AF_INET6;

				memset(&s, 0, sizeof(s));
				s.inode = m.idiag_inode;
				s.uid = m.idiag_uid;
				s.ipproto = ipproto;
				s.state = m.idiag_state;
				s.lport = ntohs(m.id.idiag_sport);
				s.rport = ntohs(m.id.idiag_dport);
				put_addr(m.id.idiag_src, v6, s.laddr, &f1);
				put_addr(m.id.idiag_dst, v6, s.raddr, &f2);
				/* a v6 socket's "::" peer with a mapped
				 * local address: unconnected, IPv4 */
				s.family = f1 == 4 || f2 == 4 ? 4 : 6;
				if (s.family == 4 && (f1 == 6 || f2 == 6)) {
					/* one side mapped, the other "::" */
					if (f1 == 6)
						memset(s.laddr, 0, 16);
					if (f2 == 6)
						memset(s.raddr, 0, 16);
				}
				fn(arg, &s);
			}
		}
		off += NLMSG_ALIGN(h.nlmsg_len);
		if (off > len)
			break;
	}
	return 0;
}

void procres_parse_cgroup(const char *text, size_t len, char *out,
			  size_t outlen)
{
	const char *p = text, *end = text + len;
	int have_v1 = 0;

	out[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);

		if (n >= 3 && !memcmp(p, "0::", 3)) {
			snprintf(out, outlen, "%.*s", (int)(n - 3), p + 3);
			return;
		}
		if (!have_v1) {
			const char *c = memchr(p, ':', n);

			if (c && (size_t)(le - c) > 13 &&
			    !memcmp(c, ":name=systemd:", 14)) {
				snprintf(out, outlen, "%.*s",
					 (int)(le - c - 14), c + 14);
				have_v1 = 1;
			}
		}
		p = le + 1;
	}
}

uint64_t procres_parse_fdlink(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len < 10 || memcmp(s, "socket:[", 8) || s[len - 1] != ']')
		return 0;
	for (i = 8; i + 1 < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > UINT64_MAX / 10 - 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

/* The next space-separated token of [*p, end): its start and length, 0
 * at the end. */
static size_t next_token(const char **p, const char *end, const char **tok)
{
	const char *s = *p, *e;

	while (s < end && *s == ' ')
		s++;
	for (e = s; e < end && *e != ' '; e++)
		;
	*tok = s;
	*p = e;
	return (size_t)(e - s);
}

/* A decimal number of at most 18 digits, or -1. */
static int64_t stat_number(const char *s, size_t n)
{
	int64_t v = 0;

	if (!n || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int64_t procres_parse_stat(const char *text, size_t len, const char *proto,
			   const char *name)
{
	const char *p = text, *end = text + len;
	size_t plen = strlen(proto), nlen = strlen(name);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		/* "TCP: inuse 3 orphan 0 tw 0 alloc 4 mem 1" */
		if ((size_t)(le - p) > plen && !memcmp(p, proto, plen) &&
		    p[plen] == ':') {
			for (const char *a = p + plen + 1;;) {
				const char *tn, *tv;
				size_t nn = next_token(&a, le, &tn);
				size_t nv = next_token(&a, le, &tv);

				if (!nn || !nv)
					return -1;
				if (nn == nlen && !memcmp(tn, name, nlen))
					return stat_number(tv, nv);
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}

/* ---- the dump ------------------------------------------------------------ */

static void vec_push(void *arg, const struct procres_sock *s)
{
	struct vec *v = arg;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		struct rsock *n = realloc(v->v, cap * sizeof(*n));

		if (!n)
			return; /* this socket stays unseen this tick */
		v->v = n;
		v->cap = cap;
	}
	memset(&v->v[v->n], 0, sizeof(v->v[0]));
	v->v[v->n++].s = *s;
}

static int dump_one(struct procres *r, int family, uint8_t proto)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} q;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	q.nlh.nlmsg_seq = ++r->seq;
	q.req.sdiag_family = (uint8_t)family;
	q.req.sdiag_protocol = proto;
	/* every state but those without a socket of a process */
	q.req.idiag_states = ~((1u << TCP_TIME_WAIT) | (1u << TCP_SYN_RECV));
	if (sendto(r->nl, &q, sizeof(q), 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(r->nl, r->buf, NLBUF, 0);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		rc = procres_parse_diag(r->buf, (size_t)n, proto, vec_push,
					&r->cur);
		if (rc > 0)
			return 0;
		if (rc < 0) {
			/* the rest of this dump must not be read as the
			 * next one's */
			while (recv(r->nl, r->buf, NLBUF, MSG_DONTWAIT) > 0)
				;
			return rc;
		}
	}
}

static int by_inode(const void *a, const void *b)
{
	const struct rsock *x = a, *y = b;

	return x->s.inode < y->s.inode ? -1 : x->s.inode > y->s.inode;
}

static int dump_all(struct procres *r)
{
	static const uint8_t protos[2] = { IPPROTO_TCP, IPPROTO_UDP };
	int rc = 0;

	r->cur.n = 0;
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 2; i++) {
			int e = dump_one(r, f ? AF_INET6 : AF_INET, protos[i]);

			/* no IPv6 in this kernel, no UDP diag module: the
			 * others still count */
			if (e && e != -ENOENT && e != -EAFNOSUPPORT)
				rc = e;
		}
	if (r->cur.n) /* v is NULL before the first socket */
		qsort(r->cur.v, r->cur.n, sizeof(*r->cur.v), by_inode);
	return rc;
}

/* ---- the /proc walk ------------------------------------------------------ */

static int by_ipair(const void *a, const void *b)
{
	const struct ipair *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid; /* lowest pid first */
}

static void ipm_push(struct procres *r, uint64_t inode, int32_t pid)
{
	if (r->nipm == r->capipm) {
		size_t cap = r->capipm ? r->capipm * 2 : 1024;
		struct ipair *n = realloc(r->ipm, cap * sizeof(*n));

		if (!n)
			return;
		r->ipm = n;
		r->capipm = cap;
	}
	r->ipm[r->nipm].inode = inode;
	r->ipm[r->nipm++].pid = pid;
}

static void walk_proc(struct procres *r)
{
	DIR *d;
	struct dirent *de;
	int dfd = dup(r->procfd);

	r->nipm = 0;
	r->fds = 0;
	r->gen++;
	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char path[64], link[64];
		struct dirent *fe;
		DIR *fdd;
		int fd;
		long pid;
		char *end;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		snprintf(path, sizeof(path), "%ld/fd", pid);
		fd = openat(r->procfd, path,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone, or not ours to read */
		fdd = fdopendir(fd);
		if (!fdd) {
			close(fd);
			continue;
		}
		while ((fe = readdir(fdd))) {
			ssize_t n;
			uint64_t ino;

			if (fe->d_name[0] == '.')
				continue;
			r->fds++;
			n = readlinkat(fd, fe->d_name, link, sizeof(link));
			if (n <= 0 || n >= (ssize_t)sizeof(link))
				continue;
			ino = procres_parse_fdlink(link, (size_t)n);
			if (ino)
				ipm_push(r, ino, (int32_t)pid);
		}
		closedir(fdd);
	}
	closedir(d);
	if (r->nipm)
		qsort(r->ipm, r->nipm, sizeof(*r->ipm), by_ipair);
}

static int32_t ipm_find(const struct procres *r, uint64_t inode)
{
	size_t lo = 0, hi = r->nipm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->ipm[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nipm && r->ipm[lo].inode == inode ? r->ipm[lo].pid : 0;
}

/* @name of /proc/PID into @buf (NUL-terminated, NULs inside made
 * spaces, a final newline cut). */
static void read_pidfile(const struct procres *r, int32_t pid, const char *name,
			 char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%d/%s", (int)pid, name);
	fd = openat(r->procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
}

static const struct pidinfo *pid_info(struct procres *r, int32_t pid)
{
	struct pidinfo *pi = &r->pids[(uint32_t)pid % PIDCACHE];
	char cg[1024];

	if (pi->pid == pid && pi->gen == r->gen)
		return pi;
	pi->pid = pid;
	pi->gen = r->gen;
	read_pidfile(r, pid, "comm", pi->comm, sizeof(pi->comm));
	read_pidfile(r, pid, "cmdline", pi->cmdline, sizeof(pi->cmdline));
	read_pidfile(r, pid, "cgroup", cg, sizeof(cg));
	procres_parse_cgroup(cg, strlen(cg), pi->cgroup, sizeof(pi->cgroup));
	return pi;
}

static const char *uid_name(struct procres *r, uint32_t uid)
{
	struct uidname *u = &r->uids[uid % UIDCACHE];

	if (!u->valid || u->uid != uid) {
		struct passwd pw, *res = NULL;
		char buf[1024];

		u->uid = uid;
		u->valid = 1;
		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
			snprintf(u->name, sizeof(u->name), "%s", pw.pw_name);
		else
			snprintf(u->name, sizeof(u->name), "%u", uid);
	}
	return u->name;
}

/* ---- ticks --------------------------------------------------------------- */

static void send_msg(struct procres *r, const struct rsock *x, int op)
{
	struct procs_msg m;
	ssize_t n;

	if (r->dead)
		return;
	memset(&m, 0, sizeof(m));
	m.op = (uint8_t)op;
	m.ipproto = x->s.ipproto;
	m.family = x->s.family;
	m.lport = x->s.lport;
	m.rport = x->s.rport;
	memcpy(m.laddr, x->s.laddr, 16);
	memcpy(m.raddr, x->s.raddr, 16);
	m.time_ns = real_ns();
	m.info.uid = x->s.uid;
	if (op == PROCS_OP_ADD) {
		snprintf(m.info.user, sizeof(m.info.user), "%s",
			 uid_name(r, x->s.uid));
		if (x->pid > 0) {
			const struct pidinfo *pi = pid_info(r, x->pid);

			m.info.pid = x->pid;
			memcpy(m.info.comm, pi->comm, sizeof(m.info.comm));
			memcpy(m.info.cgroup, pi->cgroup,
			       sizeof(m.info.cgroup));
			memcpy(m.info.cmdline, pi->cmdline,
			       sizeof(m.info.cmdline));
		}
	}
	do
		n = send(r->fd, &m, sizeof(m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r->dead = 1;
}

static int same_tuple(const struct procres_sock *a,
		      const struct procres_sock *b)
{
	return a->ipproto == b->ipproto && a->family == b->family &&
	       a->lport == b->lport && a->rport == b->rport &&
	       !memcmp(a->laddr, b->laddr, 16) &&
	       !memcmp(a->raddr, b->raddr, 16);
}

/* One look: dump, merge with the last one, walk /proc if a new socket
 * needs it and its time has come, send what changed. 1 when a socket
 * still waits for a walk that was not due (r->next_walk_ns). */
static int tick(struct procres *r)
{
	size_t i = 0, j = 0, need = 0;
	struct vec t;
	int waiting = 0;

	uint64_t t0 = mono_ns();

	dump_all(r);
	r->dump_ns = mono_ns() - t0;
	atomic_fetch_add(&r->ticks, 1);
	/* merge: what the old tick knew carries over */
	while (i < r->cur.n || j < r->prev.n) {
		struct rsock *c = i < r->cur.n ? &r->cur.v[i] : NULL;
		struct rsock *o = j < r->prev.n ? &r->prev.v[j] : NULL;

		if (c && (!o || c->s.inode < o->s.inode)) {
			i++;
		} else if (!c || o->s.inode < c->s.inode) {
			if (o->sent)
				send_msg(r, o, PROCS_OP_GONE);
			j++;
			continue;
		} else {
			if (same_tuple(&c->s, &o->s)) {
				c->pid = o->pid;
				c->sent = o->sent;
				c->orphan = o->orphan;
			} else if (o->sent) {
				send_msg(r, o, PROCS_OP_GONE);
			}
			i++;
			j++;
		}
		if (!c->pid) {
			c->pid = ipm_find(r, c->s.inode);
			if (!c->pid && !c->orphan)
				need++;
		}
	}
	if (need && mono_ns() < r->next_walk_ns) {
		waiting = 1;
	} else if (need) {
		uint64_t t0 = mono_ns(), d, gap;

		walk_proc(r);
		atomic_fetch_add(&r->walks, 1);
		d = mono_ns() - t0;
		gap = PROCRES_SCAN_GAP_MS * 1000000ull;
		r->next_walk_ns = mono_ns() + (10 * d > gap ? 10 * d : gap);
		for (i = 0; i < r->cur.n; i++) {
			struct rsock *c = &r->cur.v[i];

			if (c->pid)
				continue;
			c->pid = ipm_find(r, c->s.inode);
			if (!c->pid)
				c->orphan = 1;
		}
	}
	for (i = 0; i < r->cur.n; i++) {
		struct rsock *c = &r->cur.v[i];
		uint8_t want = c->pid ? 2 : 1;

		if (c->sent < want) {
			send_msg(r, c, PROCS_OP_ADD);
			c->sent = want;
		}
	}
	t = r->prev;
	r->prev = r->cur;
	r->cur = t;
	return waiting;
}

/* One record of the eBPF attributor: the owner it saw at the packet
 * (comm as at the socket's creation), with the user's name and, while
 * the process lives, its cgroup and command line. */
static void seen_one(void *arg, const struct procres_sock *s, int32_t pid,
		     const char *comm)
{
	struct procres *r = arg;
	struct procs_msg m;
	ssize_t n;

	if (r->dead)
		return;
	memset(&m, 0, sizeof(m));
	m.op = PROCS_OP_SEEN;
	m.ipproto = s->ipproto;
	m.family = s->family;
	m.lport = s->lport;
	m.rport = s->rport;
	memcpy(m.laddr, s->laddr, 16);
	memcpy(m.raddr, s->raddr, 16);
	m.time_ns = real_ns() + PROCRES_SEEN_NS;
	m.info.uid = s->uid;
	snprintf(m.info.user, sizeof(m.info.user), "%s", uid_name(r, s->uid));
	if (pid > 0) {
		const struct pidinfo *pi = pid_info(r, pid);

		m.info.pid = pid;
		snprintf(m.info.comm, sizeof(m.info.comm), "%s", comm);
		memcpy(m.info.cgroup, pi->cgroup, sizeof(m.info.cgroup));
		memcpy(m.info.cmdline, pi->cmdline, sizeof(m.info.cmdline));
	}
	do
		n = send(r->fd, &m, sizeof(m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r->dead = 1;
}

uint64_t procres_due(const struct procres_cadence *c)
{
	uint64_t soon = c->last_ns + c->gap_ns, t = UINT64_MAX;

	if (c->moved_ns && c->asked_ns)
		return soon;
	if (c->moved_ns || c->asked_ns)
		t = (c->moved_ns ? c->moved_ns : c->asked_ns) +
		    PROCRES_LAZY_MS * 1000000ull;
	if (c->walk_ns && c->walk_ns < t)
		t = c->walk_ns;
	return t == UINT64_MAX || t > soon ? t : soon;
}

/* The socket counters now into @v; 1 when they differ from those of the
 * last look (or cannot be read: then every probe says "moved"). */
static int stats_read(struct procres *r, int64_t *v)
{
	int moved = 0;

	atomic_fetch_add(&r->probes, 1);
	for (size_t f = 0; f < NSTATFILES; f++) {
		ssize_t n = r->statfd[f] >= 0 ? pread(r->statfd[f], r->statbuf,
						      STATBUF - 1, 0)
					      : -1;

		if (n < 0)
			n = 0;
		for (size_t i = 0; i < NSTATS; i++) {
			if (stat_fields[i].file != f)
				continue;
			v[i] = procres_parse_stat(r->statbuf, (size_t)n,
						  stat_fields[i].proto,
						  stat_fields[i].name);
			moved |= v[i] < 0 || v[i] != r->stats[i];
		}
	}
	return moved;
}

/* Take the store's asks (PROCS_WANT bytes): how many. A bounded number
 * per call: a child sending without end cannot keep us here. */
static unsigned int take_asks(struct procres *r)
{
	unsigned int n = 0;
	char b[16];

	for (int i = 0; i < 256; i++) {
		ssize_t k = recv(r->fd, b, sizeof(b), MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += k == 1 && b[0] == PROCS_WANT;
	}
	if (n)
		atomic_fetch_add(&r->asks, n);
	return n;
}

/* When the next read of the socket counters is due (UINT64_MAX: none):
 * none once they moved (a look is due anyway); PROCRES_PROBE_MS after
 * the last for a pending ask; every PROCRES_LAZY_MS when idle. */
static uint64_t probe_due(const struct procres_cadence *c, uint64_t last,
			  int asked)
{
	if (c->moved_ns)
		return UINT64_MAX;
	if (asked)
		return last + PROCRES_PROBE_MS * 1000000ull;
	if (!c->asked_ns)
		return last + PROCRES_LAZY_MS * 1000000ull;
	return UINT64_MAX;
}

static void *resolver_main(void *arg)
{
	struct procres *r = arg;
	struct procres_cadence c = { 0 };
	uint64_t last_probe;
	int64_t now_stats[NSTATS];
	int asked = 0; /* an ask not yet followed by a probe */

	/* the first look at once: every socket there is */
	stats_read(r, r->stats);
	c.walk_ns = tick(r) ? r->next_walk_ns : 0;
	c.last_ns = last_probe = mono_ns();
	c.gap_ns = PROCRES_TICK_MS * 1000000ull;
	while (!r->dead) {
		struct pollfd pf[2] = { { r->stop[0], POLLIN, 0 },
					{ r->fd, POLLIN, 0 } };
		uint64_t now = mono_ns(), due, wake;
		int wait_ms;

		if (r->pb)
			procs_bpf_drain(r->pb, seen_one, r);
		/* new flows: new sockets too? (a server's socket comes at
		 * the end of the handshake, after the SYN's flow and its
		 * ask: each ask brings a probe) */
		if (take_asks(r)) {
			if (!c.asked_ns)
				c.asked_ns = now;
			asked = 1;
		}
		if (now >= probe_due(&c, last_probe, asked)) {
			if (stats_read(r, now_stats))
				c.moved_ns = now;
			last_probe = now;
			asked = 0;
		}
		due = procres_due(&c);
		if (now >= due) {
			/* the counters before the dump: a socket made during
			 * it moves them again, never the other way round */
			stats_read(r, r->stats);
			c.walk_ns = tick(r) ? r->next_walk_ns : 0;
			c.last_ns = last_probe = mono_ns();
			/* a dump at most a twentieth of the time (the walks
			 * have their own bound) */
			c.gap_ns = r->dump_ns * 20;
			if (c.gap_ns < PROCRES_TICK_MS * 1000000ull)
				c.gap_ns = PROCRES_TICK_MS * 1000000ull;
			c.moved_ns = c.asked_ns = 0;
			asked = 0;
			due = procres_due(&c);
		}
		wake = probe_due(&c, last_probe, asked);
		if (due < wake)
			wake = due;
		now = mono_ns();
		if (wake <= now)
			wait_ms = 0;
		else if (wake - now >= PROCRES_LAZY_MS * 1000000ull)
			wait_ms = PROCRES_LAZY_MS;
		else
			wait_ms = (int)((wake - now) / 1000000) + 1;
		if (r->pb && wait_ms > PROCRES_EBPF_MS)
			wait_ms = PROCRES_EBPF_MS;
		if (poll(pf, 2, wait_ms) > 0 &&
		    (pf[0].revents || (pf[1].revents & (POLLHUP | POLLERR))))
			break;
	}
	return NULL;
}

static struct procres *procres_new(int fd, char *err, size_t errlen)
{
	struct procres *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "process resolver: out of memory");
		return NULL;
	}
	r->fd = fd;
	r->stop[0] = r->stop[1] = -1;
	for (size_t f = 0; f < NSTATFILES; f++)
		r->statfd[f] = -1;
	r->buf = malloc(NLBUF);
	r->nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
		       NETLINK_SOCK_DIAG);
	r->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r->statbuf = malloc(STATBUF);
	for (size_t f = 0; f < NSTATFILES; f++)
		r->statfd[f] = r->procfd < 0 ? -1
					     : openat(r->procfd, stat_files[f],
						      O_RDONLY | O_CLOEXEC);
	if (!r->buf || !r->statbuf || r->nl < 0 || r->procfd < 0 ||
	    pipe2(r->stop, O_CLOEXEC)) {
		snprintf(err, errlen, "process resolver: %s",
			 !r->buf || !r->statbuf ? "out of memory"
			 : r->nl < 0 ? "sock_diag netlink socket refused"
				     : strerror(errno));
		return r;
	}
	return r;
}

static void procres_free(struct procres *r)
{
	if (!r)
		return;
	if (r->nl >= 0)
		close(r->nl);
	if (r->procfd >= 0)
		close(r->procfd);
	for (size_t f = 0; f < NSTATFILES; f++)
		if (r->statfd[f] >= 0)
			close(r->statfd[f]);
	for (int i = 0; i < 2; i++)
		if (r->stop[i] >= 0)
			close(r->stop[i]);
	if (r->fd >= 0)
		close(r->fd);
	procs_bpf_close(r->pb);
	free(r->buf);
	free(r->statbuf);
	free(r->cur.v);
	free(r->prev.v);
	free(r->ipm);
	free(r);
}

struct procres *procres_start(int fd, unsigned int flags, char *warn,
			      size_t warnlen, char *err, size_t errlen)
{
	struct procres *r;
	sigset_t all, old;
	int rc;

	err[0] = '\0';
	if (warn && warnlen)
		warn[0] = '\0';
	r = procres_new(fd, err, errlen);
	if (!r) {
		close(fd);
		return NULL;
	}
	if (err[0]) {
		procres_free(r);
		return NULL;
	}
	if (flags & PROCRES_EBPF) {
		char e[256];

		r->pb = procs_bpf_open(e, sizeof(e));
		if (!r->pb && warn)
			snprintf(warn, warnlen, "%s", e);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r->thread, NULL, resolver_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "process resolver: %s", strerror(rc));
		procres_free(r);
		return NULL;
	}
	return r;
}

void procres_stop(struct procres *r)
{
	if (!r)
		return;
	while (write(r->stop[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(r->thread, NULL);
	procres_free(r);
}

void procres_counts(struct procres *r, struct procres_counts *c)
{
	c->looks = atomic_load(&r->ticks);
	c->walks = atomic_load(&r->walks);
	c->probes = atomic_load(&r->probes);
	c->asks = atomic_load(&r->asks);
}

int procres_measure(struct procres_cost *c, char *err, size_t errlen)
{
	struct procres *r;
	uint64_t t0;

	err[0] = '\0';
	r = procres_new(-1, err, errlen);
	if (!r)
		return -ENOMEM;
	if (err[0]) {
		procres_free(r);
		return -EIO;
	}
	memset(c, 0, sizeof(*c));
	t0 = mono_ns();
	dump_all(r);
	c->dump_ns = mono_ns() - t0;
	t0 = mono_ns();
	walk_proc(r);
	c->scan_ns = mono_ns() - t0;
	c->sockets = r->cur.n;
	c->fds = r->fds;
	for (size_t i = 0; i < r->cur.n; i++)
		if (ipm_find(r, r->cur.v[i].s.inode))
			c->owned++;
	procres_free(r);
	return 0;
}
