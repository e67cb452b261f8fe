/*
 * names.c - asynchronous reverse DNS with a bounded queue and cache.
 *
 * Threads: one resolver thread (started by names_new) and any number of
 * callers of names_lookup (in practice the UI thread). Both share the
 * table under one mutex, held only for table operations, never across a
 * lookup. Entries: an address, a state (pending, done, failed) and a name.
 * The cache is a fixed array with linear probing and clock eviction.
 */
#include "names.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { NE_EMPTY, NE_PENDING, NE_DONE, NE_FAILED };

struct names_entry {
	uint8_t addr[16];
	uint8_t family;
	uint8_t state;
	uint8_t used; /* clock bit */
	char name[256];
};

struct names {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t tid;
	int stop;
	int busy;   /* a lookup is in flight (outside the lock) */
	int orphan; /* names_free left: the thread frees the object */
	names_resolve_fn fn;
	struct names_entry *tab;
	size_t cap, hand;
	size_t *queue; /* ring of table indexes awaiting lookup */
	size_t qmax, qhead, qlen;
	uint64_t hits, queued, dropped, failed;
};

static const struct {
	unsigned port;
	const char *name;
} services[] = {
	{ 20, "ftp-data" },
	{ 21, "ftp" },
	{ 22, "ssh" },
	{ 23, "telnet" },
	{ 25, "smtp" },
	{ 53, "domain" },
	{ 67, "bootps" },
	{ 68, "bootpc" },
	{ 69, "tftp" },
	{ 80, "http" },
	{ 110, "pop3" },
	{ 123, "ntp" },
	{ 137, "netbios-ns" },
	{ 143, "imap" },
	{ 161, "snmp" },
	{ 179, "bgp" },
	{ 389, "ldap" },
	{ 443, "https" },
	{ 445, "microsoft-ds" },
	{ 514, "syslog" },
	{ 587, "submission" },
	{ 636, "ldaps" },
	{ 853, "domain-s" },
	{ 993, "imaps" },
	{ 995, "pop3s" },
	{ 1194, "openvpn" },
	{ 1883, "mqtt" },
	{ 3306, "mysql" },
	{ 3389, "ms-wbt-server" },
	{ 5060, "sip" },
	{ 5353, "mdns" },
	{ 5432, "postgresql" },
	{ 6379, "redis" },
	{ 8080, "http-alt" },
	{ 8443, "https-alt" },
	{ 9100, "jetdirect" },
	{ 11211, "memcache" },
	{ 27017, "mongodb" },
};

const char *names_service(unsigned port, int tcp)
{
	(void)tcp; /* the common ports share names across TCP and UDP */
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (services[i].port == port)
			return services[i].name;
	return NULL;
}

void names_sanitize(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_'))
			*s = '?';
	}
}

static int resolve_default(int family, const uint8_t *addr, char *buf,
			   size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sl = sizeof(*sin6);
	}
	return getnameinfo((struct sockaddr *)&ss, sl, buf, (socklen_t)len,
			   NULL, 0, NI_NAMEREQD);
}

static size_t slot_hash(int family, const uint8_t *addr, size_t cap)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)family;

	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		h = (h ^ addr[i]) * 1099511628211ull;
	return (size_t)(h % cap);
}

static void destroy(struct names *n)
{
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	free(n->tab);
	free(n->queue);
	free(n);
}

static void *resolver_run(void *arg)
{
	struct names *n = arg;

	pthread_mutex_lock(&n->mu);
	for (;;) {
		size_t idx;
		struct names_entry e;
		char buf[256];
		int rc;

		while (!n->stop && n->qlen == 0)
			pthread_cond_wait(&n->cv, &n->mu);
		if (n->stop)
			break;
		idx = n->queue[n->qhead];
		n->qhead = (n->qhead + 1) % n->qmax;
		n->qlen--;
		e = n->tab[idx];
		if (e.state != NE_PENDING)
			continue;
		n->busy = 1;
		pthread_mutex_unlock(&n->mu);
		rc = n->fn(e.family, e.addr, buf, sizeof(buf));
		if (rc == 0) {
			buf[sizeof(buf) - 1] = '\0';
			names_sanitize(buf);
		}
		pthread_mutex_lock(&n->mu);
		n->busy = 0;
		if (n->orphan) {
			pthread_mutex_unlock(&n->mu);
			destroy(n);
			return NULL;
		}
		/* the slot may have been reused meanwhile */
		if (n->tab[idx].state == NE_PENDING &&
		    n->tab[idx].family == e.family &&
		    memcmp(n->tab[idx].addr, e.addr, 16) == 0) {
			if (rc == 0) {
				snprintf(n->tab[idx].name,
					 sizeof(n->tab[idx].name), "%s", buf);
				n->tab[idx].state = NE_DONE;
			} else {
				n->tab[idx].state = NE_FAILED;
				n->failed++;
			}
		}
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

struct names *names_new(size_t cache_max, size_t queue_max, names_resolve_fn fn)
{
	struct names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->cap = cache_max < 16 ? 16 : cache_max;
	n->qmax = queue_max < 1 ? 1 : queue_max;
	n->fn = fn ? fn : resolve_default;
	n->tab = calloc(n->cap, sizeof(*n->tab));
	n->queue = calloc(n->qmax, sizeof(*n->queue));
	if (!n->tab || !n->queue) {
		free(n->tab);
		free(n->queue);
		free(n);
		return NULL;
	}
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	if (pthread_create(&n->tid, NULL, resolver_run, n) != 0) {
		free(n->tab);
		free(n->queue);
		free(n);
		return NULL;
	}
	return n;
}

void names_free(struct names *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = 1;
	pthread_cond_signal(&n->cv);
	if (n->busy) {
		/* A getnameinfo in flight waits for its DNS server, seconds
		 * when that server never answers: nobody waits for it. The
		 * thread frees the object when the lookup returns, or dies
		 * with the process, which is usually about to exit. */
		n->orphan = 1;
		pthread_mutex_unlock(&n->mu);
		pthread_detach(n->tid);
		return;
	}
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->tid, NULL);
	destroy(n);
}

/* Find the slot of @addr, or claim one (clock eviction). Lock held. */
static struct names_entry *find_slot(struct names *n, int family,
				     const uint8_t *a16, int *found)
{
	size_t h = slot_hash(family, a16, n->cap);
	struct names_entry *victim = NULL;

	for (size_t i = 0; i < 8; i++) {
		struct names_entry *e = &n->tab[(h + i) % n->cap];

		if (e->state != NE_EMPTY && e->family == family &&
		    memcmp(e->addr, a16, 16) == 0) {
			*found = 1;
			e->used = 1;
			return e;
		}
		if (!victim && e->state == NE_EMPTY)
			victim = e;
	}
	*found = 0;
	if (victim)
		return victim;
	/* probe window full: second chance over the window */
	for (size_t i = 0; i < 16; i++) {
		struct names_entry *e = &n->tab[(h + n->hand++ % 8) % n->cap];

		if (!e->used)
			return e;
		e->used = 0;
	}
	return &n->tab[h];
}

int names_lookup(struct names *n, int family, const uint8_t *addr, char *buf,
		 size_t len)
{
	uint8_t a16[16] = { 0 };
	struct names_entry *e;
	int found, ret = 0;

	if (!n || (family != 4 && family != 6))
		return 0;
	memcpy(a16, addr, family == 4 ? 4 : 16);
	pthread_mutex_lock(&n->mu);
	e = find_slot(n, family, a16, &found);
	if (found) {
		if (e->state == NE_DONE) {
			snprintf(buf, len, "%s", e->name);
			n->hits++;
			ret = 1;
		}
	} else if (n->qlen < n->qmax) {
		memset(e, 0, sizeof(*e));
		memcpy(e->addr, a16, 16);
		e->family = (uint8_t)family;
		e->state = NE_PENDING;
		e->used = 1;
		n->queue[(n->qhead + n->qlen) % n->qmax] = (size_t)(e - n->tab);
		n->qlen++;
		n->queued++;
		pthread_cond_signal(&n->cv);
	} else {
		n->dropped++;
	}
	pthread_mutex_unlock(&n->mu);
	return ret;
}

void names_stats(const struct names *n, uint64_t *hits, uint64_t *queued,
		 uint64_t *dropped, uint64_t *failed)
{
	struct names *m = (struct names *)n;

	pthread_mutex_lock(&m->mu);
	*hits = n->hits;
	*queued = n->queued;
	*dropped = n->dropped;
	*failed = n->failed;
	pthread_mutex_unlock(&m->mu);
}
