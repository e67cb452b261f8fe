/*
 * procs.c - the store of local sockets and their owners (see procs.h).
 *
 * Sockets live in one array; an open-addressing index (linear probing, at
 * most half full, deletion by backward shift) finds a socket by its
 * addresses and ports, hashed with xxHash3 and a random seed (the remote
 * half of a key is chosen by whoever connects). A count per local port
 * turns most flows away with one load: a flow neither of whose ports is
 * a local socket's is no process's. A closed socket stays known for
 * PROCS_KEEP_NS (the flows it had are still shown and reported), or until
 * the store needs room.
 *
 * Threads: the reader thread (procs_new) applies messages; lookups come
 * from the UI and report threads. One mutex guards everything; it is held
 * for one message or one lookup, never across I/O.
 */
#include "procs.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "decode.h"

/* A closed socket is still matched (for flows begun before it closed)
 * this long. */
#define PROCS_KEEP_NS (600ull * 1000000000ull)
#define PROCS_LOCAL_MAX 256
#define PROCS_REFRESH_MS 2000

struct pkey {
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	uint8_t ipproto, family;
	uint8_t pad[2];
};

struct pent {
	struct pkey k;
	uint64_t gone_ns; /* 0: open */
	struct procs_info info;
};

struct procs {
	pthread_mutex_t mu;
	struct pent *ents;
	size_t n, cap;
	uint32_t *index; /* entry + 1; 0 = empty */
	size_t index_size;
	uint64_t seed;
	uint32_t ports[2][65536]; /* sockets per local port: [0] TCP, [1] UDP */
	uint8_t local[PROCS_LOCAL_MAX][16];
	uint8_t local_fam[PROCS_LOCAL_MAX];
	size_t nlocal;
	struct procs_stats st;
	procs_demand_fn demand; /* procs_set_demand, under mu */
	void *demand_arg;
	int fd;
	int thread_started;
	atomic_int stop;
	pthread_t thread;
};

static uint64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t slot_of(const struct procs *p, const struct pkey *k)
{
	return XXH3_64bits_withSeed(k, sizeof(*k), p->seed) &
	       (p->index_size - 1);
}

/* The index slot holding @k, or the empty slot where it would go. */
static size_t find_slot(const struct procs *p, const struct pkey *k)
{
	size_t s = slot_of(p, k);

	while (p->index[s] &&
	       memcmp(&p->ents[p->index[s] - 1].k, k, sizeof(*k)))
		s = (s + 1) & (p->index_size - 1);
	return s;
}

static int grow_index(struct procs *p)
{
	size_t size = p->index_size * 2;
	uint32_t *idx = calloc(size, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	free(p->index);
	p->index = idx;
	p->index_size = size;
	for (size_t i = 0; i < p->n; i++)
		p->index[find_slot(p, &p->ents[i].k)] = (uint32_t)(i + 1);
	return 0;
}

static int proto_slot(uint8_t ipproto)
{
	return ipproto == IPPROTO_UDP;
}

/* Remove the entry in index slot @s: backward-shift the probe run behind
 * it, and move the last entry into its place in the array. */
static void remove_slot(struct procs *p, size_t s)
{
	size_t mask = p->index_size - 1, e = p->index[s] - 1, last, i, j;
	struct pent *ent = &p->ents[e];
	uint32_t *cnt = &p->ports[proto_slot(ent->k.ipproto)][ent->k.lport];

	if (*cnt)
		(*cnt)--;
	p->index[s] = 0;
	i = s;
	for (j = (s + 1) & mask; p->index[j]; j = (j + 1) & mask) {
		size_t home = slot_of(p, &p->ents[p->index[j] - 1].k);

		/* move j back to i unless its home lies in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			p->index[i] = p->index[j];
			p->index[j] = 0;
			i = j;
		}
	}
	last = p->n - 1;
	if (e != last) {
		size_t ls = find_slot(p, &p->ents[last].k);

		p->ents[e] = p->ents[last];
		p->index[ls] = (uint32_t)(e + 1);
	}
	p->n--;
}

/* Drop closed sockets older than @before; with @need, also the oldest
 * closed ones until a quarter of the store is free. Lock held. */
static void sweep(struct procs *p, uint64_t before, int need)
{
	uint64_t cut = before;

	if (need) {
		/* the closing time a quarter of the closed ones are under:
		 * one pass to bound it roughly (a histogram of 64 steps) */
		uint64_t lo = UINT64_MAX, hi = 0, step;
		size_t hist[64] = { 0 }, want = p->n / 4, acc = 0;

		for (size_t i = 0; i < p->n; i++) {
			uint64_t g = p->ents[i].gone_ns;

			if (!g)
				continue;
			lo = g < lo ? g : lo;
			hi = g > hi ? g : hi;
		}
		if (lo <= hi) {
			step = (hi - lo) / 64 + 1;
			for (size_t i = 0; i < p->n; i++)
				if (p->ents[i].gone_ns)
					hist[(p->ents[i].gone_ns - lo) /
					     step]++;
			for (int b = 0; b < 64; b++) {
				acc += hist[b];
				if (acc >= want || b == 63) {
					uint64_t c =
						lo + (uint64_t)(b + 1) * step;

					cut = c > cut ? c : cut;
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < p->n;) {
		uint64_t g = p->ents[i].gone_ns;

		if (g && g < cut)
			remove_slot(p, find_slot(p, &p->ents[i].k));
		else
			i++; /* a removal moved the last entry to i */
	}
}

/* Cut @s (@len bytes) at its first NUL or its end, and make it
 * printable. */
static void clean_str(char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
	s[i] = '\0';
}

int procs_apply(struct procs *p, const struct procs_msg *mm)
{
	struct procs_msg m = *mm;
	struct pkey k;
	size_t s;
	int rc = 0, created = 0;

	if ((m.op != PROCS_OP_ADD && m.op != PROCS_OP_GONE &&
	     m.op != PROCS_OP_SEEN) ||
	    (m.ipproto != IPPROTO_TCP && m.ipproto != IPPROTO_UDP) ||
	    (m.family != 4 && m.family != 6))
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	memcpy(k.laddr, m.laddr, m.family == 4 ? 4 : 16);
	memcpy(k.raddr, m.raddr, m.family == 4 ? 4 : 16);
	k.lport = m.lport;
	k.rport = m.rport;
	k.ipproto = m.ipproto;
	k.family = m.family;
	clean_str(m.info.comm, sizeof(m.info.comm));
	clean_str(m.info.user, sizeof(m.info.user));
	clean_str(m.info.cgroup, sizeof(m.info.cgroup));
	clean_str(m.info.cmdline, sizeof(m.info.cmdline));
	if (m.info.pid < 0)
		m.info.pid = 0;

	pthread_mutex_lock(&p->mu);
	p->st.msgs++;
	s = find_slot(p, &k);
	if (m.op == PROCS_OP_GONE) {
		if (p->index[s])
			p->ents[p->index[s] - 1].gone_ns =
				m.time_ns ? m.time_ns : 1;
		goto out;
	}
	if (!p->index[s]) {
		if (p->n >= PROCS_MAX) {
			sweep(p, 0, 1);
			s = find_slot(p, &k);
		}
		if (p->n >= PROCS_MAX) {
			p->st.full++;
			rc = -ENOSPC;
			goto out;
		}
		if ((p->n + 1) * 2 > p->index_size) {
			if (grow_index(p)) {
				rc = -ENOMEM;
				goto out;
			}
			s = find_slot(p, &k);
		}
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 256;
			struct pent *e = realloc(p->ents, cap * sizeof(*e));

			if (!e) {
				rc = -ENOMEM;
				goto out;
			}
			p->ents = e;
			p->cap = cap;
		}
		memset(&p->ents[p->n], 0, sizeof(p->ents[0]));
		p->ents[p->n].k = k;
		p->index[s] = (uint32_t)++p->n;
		created = 1;
		p->ports[proto_slot(k.ipproto)][k.lport]++;
	}
	{
		struct pent *e = &p->ents[p->index[s] - 1];

		if (m.op == PROCS_OP_ADD) {
			/* found open, its process not (yet): the owner the
			 * attributor saw at its packets stays, while its
			 * record is not taken as closed (the same socket) */
			if (m.info.pid || !e->info.pid || !e->gone_ns ||
			    e->gone_ns <= m.time_ns)
				e->info = m.info;
			e->gone_ns = 0;
		} else if (created || e->gone_ns) {
			/* new, or a closed socket's tuple used again */
			e->gone_ns = m.time_ns ? m.time_ns : 1;
			e->info = m.info;
		} else if (!e->info.pid) {
			/* open, its owner not found by the resolver yet */
			e->info = m.info;
		}
	}
out:
	p->st.sockets = p->n;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int is_local(const struct procs *p, const uint8_t *a, int family)
{
	for (size_t i = 0; i < p->nlocal; i++)
		if (p->local_fam[i] == family &&
		    !memcmp(p->local[i], a, family == 4 ? 4 : 16))
			return 1;
	return 0;
}

int procs_lookup(struct procs *p, const struct flowtab_row *r,
		 struct procs_info *out)
{
	const struct flow_key *fk = &r->key;
	uint8_t proto, fam;
	int found = -1;

	if (!p)
		return -1;
	switch (fk->kind) {
	case KIND_TCP4:
	case KIND_TCP6:
		proto = IPPROTO_TCP;
		break;
	case KIND_UDP4:
	case KIND_UDP6:
		proto = IPPROTO_UDP;
		break;
	default:
		return -1;
	}
	fam = fk->kind == KIND_TCP4 || fk->kind == KIND_UDP4 ? 4 : 6;
	pthread_mutex_lock(&p->mu);
	for (int step = 0; step < 4 && found < 0; step++) {
		for (int side = 0; side < 2 && found < 0; side++) {
			const uint8_t *la = side ? fk->b : fk->a;
			const uint8_t *ra = side ? fk->a : fk->b;
			uint16_t lp = side ? fk->bport : fk->aport;
			uint16_t rp = side ? fk->aport : fk->bport;
			struct pkey k;
			size_t s;
			const struct pent *e;

			if (!p->ports[proto_slot(proto)][lp])
				continue;
			memset(&k, 0, sizeof(k));
			k.ipproto = proto;
			k.family = fam;
			k.lport = lp;
			if (step == 0) {
				memcpy(k.laddr, la, 16);
				memcpy(k.raddr, ra, 16);
				k.rport = rp;
			} else if (step == 1) {
				memcpy(k.laddr, la, 16);
			} else if (!is_local(p, la, fam)) {
				continue;
			} else if (step == 3) {
				if (fam != 4)
					continue;
				k.family = 6; /* a dual-stack socket on :: */
			}
			s = find_slot(p, &k);
			if (!p->index[s])
				continue;
			e = &p->ents[p->index[s] - 1];
			if (e->gone_ns && r->first_ns > e->gone_ns)
				continue; /* closed before the flow began */
			*out = e->info;
			found = side;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return found;
}

void procs_label(const struct procs_info *i, int known, char *buf, size_t len)
{
	if (!known || (!i->pid && !i->user[0]))
		snprintf(buf, len, "-");
	else if (!i->pid)
		snprintf(buf, len, "%s", i->user);
	else
		snprintf(buf, len, "%s[%d]", i->comm, (int)i->pid);
}

void procs_cgroup_short(const char *cg, char *buf, size_t len)
{
	const char *last = strrchr(cg, '/');
	const char *d;
	size_t n;

	last = last ? last + 1 : cg;
	n = strlen(last);
	/* docker-<64 hex>.scope, or a bare 64-digit id (docker, k8s) */
	d = strstr(cg, "docker-");
	if (d && strlen(d) >= 7 + 64) {
		snprintf(buf, len, "docker:%.12s", d + 7);
		return;
	}
	if (n == 64 && strspn(last, "0123456789abcdef") == 64) {
		snprintf(buf, len, "%.12s", last);
		return;
	}
	snprintf(buf, len, "%s", last);
}

void procs_stats(struct procs *p, struct procs_stats *st)
{
	pthread_mutex_lock(&p->mu);
	*st = p->st;
	pthread_mutex_unlock(&p->mu);
}

void procs_set_local(struct procs *p, const uint8_t (*addr)[16],
		     const uint8_t *family, size_t n)
{
	pthread_mutex_lock(&p->mu);
	if (n > PROCS_LOCAL_MAX)
		n = PROCS_LOCAL_MAX;
	for (size_t i = 0; i < n; i++) {
		memcpy(p->local[i], addr[i], 16);
		p->local_fam[i] = family[i];
	}
	p->nlocal = n;
	pthread_mutex_unlock(&p->mu);
}

void procs_set_demand(struct procs *p, procs_demand_fn fn, void *arg)
{
	pthread_mutex_lock(&p->mu);
	p->demand = fn;
	p->demand_arg = arg;
	pthread_mutex_unlock(&p->mu);
}

/* Ask the resolver for a look when the flow count moved since the last
 * ask (@last). Reader thread. Never blocks: a full socket means asks are
 * queued already. How long to wait before the next: PROCS_DEMAND_MS
 * after an ask, twice @wait_ms up to PROCS_DEMAND_MAX_MS while nothing
 * moves (each wake-up of an idle thread costs tens of microseconds on a
 * loaded machine); PROCS_REFRESH_MS with no demand count. */
static int ask(struct procs *p, uint64_t *last, int wait_ms)
{
	procs_demand_fn fn;
	void *arg;
	uint64_t v;
	char w = PROCS_WANT;

	pthread_mutex_lock(&p->mu);
	fn = p->demand;
	arg = p->demand_arg;
	pthread_mutex_unlock(&p->mu);
	if (!fn)
		return PROCS_REFRESH_MS;
	v = fn(arg);
	if (v == *last)
		return wait_ms * 2 < PROCS_DEMAND_MAX_MS ? wait_ms * 2
							 : PROCS_DEMAND_MAX_MS;
	*last = v;
	while (send(p->fd, &w, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	       errno == EINTR)
		;
	return PROCS_DEMAND_MS;
}

/* This host's addresses (in the network namespace we capture in). */
static void refresh_local(struct procs *p)
{
	uint8_t addr[PROCS_LOCAL_MAX][16];
	uint8_t fam[PROCS_LOCAL_MAX];
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i && n < PROCS_LOCAL_MAX; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		memset(addr[n], 0, 16);
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *s =
				(const struct sockaddr_in *)i->ifa_addr;

			memcpy(addr[n], &s->sin_addr, 4);
			fam[n++] = 4;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s =
				(const struct sockaddr_in6 *)i->ifa_addr;

			memcpy(addr[n], &s->sin6_addr, 16);
			fam[n++] = 6;
		}
	}
	freeifaddrs(ifa);
	procs_set_local(p, (const uint8_t(*)[16])addr, fam, n);
}

static void *reader_main(void *arg)
{
	struct procs *p = arg;
	struct procs_msg m;
	uint64_t next = 0, asked = 0;
	int wait = PROCS_DEMAND_MS;

	while (!atomic_load(&p->stop)) {
		struct pollfd pfd = { p->fd, POLLIN, 0 };
		uint64_t now = now_real_ns();
		ssize_t n;

		if (now >= next) {
			refresh_local(p);
			pthread_mutex_lock(&p->mu);
			if (now > PROCS_KEEP_NS)
				sweep(p, now - PROCS_KEEP_NS, 0);
			pthread_mutex_unlock(&p->mu);
			next = now + PROCS_REFRESH_MS * 1000000ull;
		}
		wait = ask(p, &asked, wait);
		if (poll(&pfd, 1, wait) <= 0)
			continue;
		n = recv(p->fd, &m, sizeof(m), 0);
		if (n == 0)
			break; /* the resolver is gone: what is known stays */
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		if ((size_t)n == sizeof(m))
			procs_apply(p, &m); /* anything else: not ours */
	}
	return NULL;
}

struct procs *procs_new(int fd, char *err, size_t errlen)
{
	struct procs *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "process store: out of memory");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	p->fd = fd;
	p->index_size = 512;
	p->index = calloc(p->index_size, sizeof(*p->index));
	if (getrandom(&p->seed, sizeof(p->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(p->seed))
		p->seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)now_real_ns();
	if (!p->index) {
		snprintf(err, errlen, "process store: out of memory");
		procs_free(p);
		return NULL;
	}
	if (fd >= 0) {
		int rc = pthread_create(&p->thread, NULL, reader_main, p);

		if (rc) {
			snprintf(err, errlen, "process store: %s",
				 strerror(rc));
			procs_free(p);
			return NULL;
		}
		p->thread_started = 1;
	}
	return p;
}

void procs_free(struct procs *p)
{
	if (!p)
		return;
	if (p->thread_started) {
		atomic_store(&p->stop, 1);
		shutdown(p->fd, SHUT_RDWR); /* wakes the reader's poll */
		pthread_join(p->thread, NULL);
	}
	if (p->fd >= 0)
		close(p->fd);
	pthread_mutex_destroy(&p->mu);
	free(p->ents);
	free(p->index);
	free(p);
}

int procs_group_name(void *arg, const struct flowtab_row *r, char *buf,
		     size_t len)
{
	struct procs_info pi;
	int side = procs_lookup(arg, r, &pi);

	if (side < 0 || (!pi.pid && !pi.user[0]))
		return -1;
	procs_label(&pi, 1, buf, len);
	return side;
}
