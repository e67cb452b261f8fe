/*
 * counters.c - named BPF counters for capture workers.
 *
 * Owns the published counter array (RCU), the counters and their
 * compiled programs. The array is published and read with C11
 * release/acquire (the ordering rcu_assign_pointer/rcu_dereference give,
 * in a form ThreadSanitizer understands); liburcu provides the grace
 * periods (call_rcu). Workers: lock-free reads of the array, CAS to
 * publish a lazily compiled program, single-writer slot updates. Editors:
 * a mutex, copy-update-publish, old arrays and replaced counters freed by
 * call_rcu after every worker has left the read-side section that might
 * still see them. counters_free waits for those callbacks by counting
 * them (src/rcupend.h), not with rcu_barrier, which aborts when it cannot
 * allocate.
 */
#include "counters.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "rcupend.h"

#define SNAPLEN 262144

struct cnt_prog {
	int dlt;
	int ok; /* compiled; else this counter never matches on @dlt */
	struct bpf_program bp;
};

/* One worker's counts of one counter: a cache line of its own. */
struct cnt_slot {
	uint64_t pkts, bytes;
} __attribute__((aligned(64)));

struct cnt_entry {
	uint64_t id; /* unique in the set's life: a modify is a new one */
	char name[COUNTERS_NAME_MAX];
	char expr[COUNTERS_EXPR_MAX];
	/* published once each, by CAS (NULL = free) */
	struct cnt_prog *progs[COUNTERS_MAX_DLT];
	uint64_t base_pkts, base_bytes; /* counters_zero; under the mutex */
	struct cnt_slot *slots;		/* one per worker */
};

/* Immutable once published. */
struct cnt_set {
	struct rcu_head rcu;
	struct counters *owner;	   /* whose pending count the free drops */
	struct cnt_entry *retired; /* freed with this set (modify/remove) */
	size_t n;
	struct cnt_entry *e[];
};

struct counters {
	pthread_mutex_t lock; /* editors and readers, never workers */
	struct cnt_set *set;  /* RCU-published; NULL = no counters */
	unsigned int nworkers;
	int dlts[COUNTERS_MAX_DLT]; /* prepared link types */
	size_t ndlts;
	uint64_t pending; /* retired sets not yet freed: rcupend.h */
	uint64_t next_id; /* under the mutex */
	counters_hook_fn hook;
	void *hook_ctx;
};

/* ---- programs ---------------------------------------------------------- */

static struct cnt_prog *compile(const char *expr, int dlt, char *err,
				size_t errlen)
{
	struct cnt_prog *p = calloc(1, sizeof(*p));
	pcap_t *pd;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->dlt = dlt;
	pd = pcap_open_dead(dlt, SNAPLEN);
	if (!pd) {
		snprintf(err, errlen, "out of memory");
		free(p);
		return NULL;
	}
	if (pcap_compile(pd, &p->bp, expr, 1, PCAP_NETMASK_UNKNOWN) == 0)
		p->ok = 1;
	else
		snprintf(err, errlen, "%s", pcap_geterr(pd));
	pcap_close(pd);
	return p;
}

static void prog_free(struct cnt_prog *p)
{
	if (!p)
		return;
	if (p->ok)
		pcap_freecode(&p->bp);
	free(p);
}

/*
 * The program of @e for @dlt, compiled and published on first use. Any
 * thread: a slot is claimed by compare-and-swap, the loser frees its
 * copy. NULL when every slot holds another link type (or no memory).
 */
static struct cnt_prog *get_prog(struct cnt_entry *e, int dlt, char *err,
				 size_t errlen)
{
	for (int i = 0; i < COUNTERS_MAX_DLT; i++) {
		struct cnt_prog *p =
			__atomic_load_n(&e->progs[i], __ATOMIC_ACQUIRE);

		if (!p) {
			struct cnt_prog *np =
				compile(e->expr, dlt, err, errlen);
			struct cnt_prog *expected = NULL;

			if (!np)
				return NULL;
			if (__atomic_compare_exchange_n(&e->progs[i], &expected,
							np, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return np;
			prog_free(np);
			p = expected;
		}
		if (p->dlt == dlt)
			return p;
	}
	snprintf(err, errlen, "too many link types");
	return NULL;
}

/* ---- counters and arrays ---------------------------------------------- */

static void entry_free(struct cnt_entry *e)
{
	if (!e)
		return;
	for (int i = 0; i < COUNTERS_MAX_DLT; i++)
		prog_free(e->progs[i]);
	free(e->slots);
	free(e);
}

int counters_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= COUNTERS_NAME_MAX)
		return 0;
	for (; *s; s++) {
		char ch = *s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.' || ch == ':'))
			return 0;
	}
	return 1;
}

/*
 * A new counter, compiled for Ethernet and every prepared link type.
 * Caller holds the mutex. NULL with "counter NAME: why" in @err.
 */
static struct cnt_entry *entry_new(struct counters *c, const char *name,
				   const char *expr, int *rc, char *err,
				   size_t errlen)
{
	struct cnt_entry *e;
	char why[PCAP_ERRBUF_SIZE + 64];
	int dlts[COUNTERS_MAX_DLT + 1];
	size_t nd = 0;

	if (!counters_valid_name(name)) {
		snprintf(err, errlen,
			 "counter '%.*s': name must be 1-%d letters, digits "
			 "or _ - . :",
			 COUNTERS_NAME_MAX, name, COUNTERS_NAME_MAX - 1);
		*rc = -EINVAL;
		return NULL;
	}
	if (strlen(expr) >= COUNTERS_EXPR_MAX) {
		snprintf(err, errlen, "counter %s: expression longer than %d",
			 name, COUNTERS_EXPR_MAX - 1);
		*rc = -EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e)
		e->slots = aligned_alloc(64,
					 sizeof(struct cnt_slot) * c->nworkers);
	if (!e || !e->slots) {
		free(e);
		snprintf(err, errlen, "counter %s: out of memory", name);
		*rc = -ENOMEM;
		return NULL;
	}
	memset(e->slots, 0, sizeof(struct cnt_slot) * c->nworkers);
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->expr, sizeof(e->expr), "%s", expr);
	e->id = ++c->next_id;

	dlts[nd++] = DLT_EN10MB;
	for (size_t i = 0; i < c->ndlts; i++)
		if (c->dlts[i] != DLT_EN10MB)
			dlts[nd++] = c->dlts[i];
	for (size_t i = 0; i < nd && i < COUNTERS_MAX_DLT; i++) {
		struct cnt_prog *p = get_prog(e, dlts[i], why, sizeof(why));

		if (!p || !p->ok) {
			if (dlts[i] == DLT_EN10MB)
				snprintf(err, errlen, "counter %s: %s", name,
					 why);
			else
				snprintf(err, errlen,
					 "counter %s: link type %s: %s", name,
					 pcap_datalink_val_to_name(dlts[i])
						 ?: "?",
					 why);
			*rc = p ? -EINVAL : -ENOMEM;
			entry_free(e);
			return NULL;
		}
	}
	return e;
}

static struct cnt_set *set_alloc(size_t n)
{
	struct cnt_set *s = calloc(1, sizeof(*s) + n * sizeof(s->e[0]));

	if (s)
		s->n = n;
	return s;
}

static void set_free_cb(struct rcu_head *head)
{
	struct cnt_set *s = caa_container_of(head, struct cnt_set, rcu);
	struct counters *c = s->owner;

	entry_free(s->retired);
	free(s);
	rcupend_done(&c->pending); /* last: counters_free may free @c */
}

/*
 * Tell the hook (a backend counting in the kernel) about the change from
 * @old to @ns before it is published; 0, or its error (nothing changes).
 */
static int run_hook(struct counters *c, const struct cnt_set *old,
		    const struct cnt_set *ns, char *err, size_t errlen)
{
	struct counters_def od[COUNTERS_MAX], nd[COUNTERS_MAX];
	size_t no = old ? old->n : 0, nn = ns ? ns->n : 0;

	if (!c->hook)
		return 0;
	for (size_t i = 0; i < no; i++)
		od[i] = (struct counters_def){ old->e[i]->id, old->e[i]->expr };
	for (size_t i = 0; i < nn; i++)
		nd[i] = (struct counters_def){ ns->e[i]->id, ns->e[i]->expr };
	return c->hook(c->hook_ctx, od, no, nd, nn, err, errlen);
}

/* Publish @ns and retire the old array (and @gone) after a grace period. */
static void publish(struct counters *c, struct cnt_set *ns,
		    struct cnt_entry *gone)
{
	struct cnt_set *old = c->set;

	/* rcu_assign_pointer, as a C11 release TSan can see */
	__atomic_store_n(&c->set, ns, __ATOMIC_RELEASE);
	/* @gone, if any, was in @old, so @old is not NULL then */
	if (old) {
		old->retired = gone;
		old->owner = c;
		rcupend_add(&c->pending);
		call_rcu(&old->rcu, set_free_cb);
	}
}

static ssize_t find(const struct cnt_set *s, const char *name)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i]->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* ---- the API ------------------------------------------------------------ */

struct counters *counters_new(unsigned int nworkers, char *err, size_t errlen)
{
	struct counters *c;

	if (nworkers == 0) {
		snprintf(err, errlen, "counters: no capture workers");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "counters: out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->nworkers = nworkers;
	return c;
}

void counters_free(struct counters *c)
{
	struct cnt_set *s;

	if (!c)
		return;
	rcupend_wait(&c->pending);
	s = c->set;
	if (s) {
		for (size_t i = 0; i < s->n; i++)
			entry_free(s->e[i]);
		entry_free(s->retired);
		free(s);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int counters_add(struct counters *c, const char *name, const char *expr,
		 char *err, size_t errlen)
{
	struct cnt_set *old, *ns;
	struct cnt_entry *e;
	size_t n;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	old = c->set;
	n = old ? old->n : 0;
	if (find(old, name) >= 0) {
		snprintf(err, errlen, "counter %s: already exists", name);
		rc = -EEXIST;
		goto out;
	}
	if (n >= COUNTERS_MAX) {
		snprintf(err, errlen, "counter %s: at most %d counters", name,
			 COUNTERS_MAX);
		rc = -ENOSPC;
		goto out;
	}
	e = entry_new(c, name, expr, &rc, err, errlen);
	if (!e)
		goto out;
	ns = set_alloc(n + 1);
	if (!ns) {
		entry_free(e);
		snprintf(err, errlen, "counter %s: out of memory", name);
		rc = -ENOMEM;
		goto out;
	}
	if (n)
		memcpy(ns->e, old->e, n * sizeof(ns->e[0]));
	ns->e[n] = e;
	rc = run_hook(c, old, ns, err, errlen);
	if (rc) {
		entry_free(e);
		free(ns);
		goto out;
	}
	publish(c, ns, NULL);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int counters_modify(struct counters *c, const char *name, const char *expr,
		    char *err, size_t errlen)
{
	struct cnt_set *old, *ns;
	struct cnt_entry *e;
	ssize_t i;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	old = c->set;
	i = find(old, name);
	if (i < 0) {
		snprintf(err, errlen, "counter %s: no such counter", name);
		rc = -ENOENT;
		goto out;
	}
	e = entry_new(c, name, expr, &rc, err, errlen);
	if (!e)
		goto out;
	ns = set_alloc(old->n);
	if (!ns) {
		entry_free(e);
		snprintf(err, errlen, "counter %s: out of memory", name);
		rc = -ENOMEM;
		goto out;
	}
	memcpy(ns->e, old->e, old->n * sizeof(ns->e[0]));
	ns->e[i] = e;
	rc = run_hook(c, old, ns, err, errlen);
	if (rc) {
		entry_free(e);
		free(ns);
		goto out;
	}
	publish(c, ns, old->e[i]);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int counters_remove(struct counters *c, const char *name, char *err,
		    size_t errlen)
{
	struct cnt_set *old, *ns;
	ssize_t i;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	old = c->set;
	i = find(old, name);
	if (i < 0) {
		snprintf(err, errlen, "counter %s: no such counter", name);
		rc = -ENOENT;
		goto out;
	}
	ns = NULL;
	if (old->n > 1) {
		ns = set_alloc(old->n - 1);
		if (!ns) {
			snprintf(err, errlen, "counter %s: out of memory",
				 name);
			rc = -ENOMEM;
			goto out;
		}
		memcpy(ns->e, old->e, (size_t)i * sizeof(ns->e[0]));
		memcpy(ns->e + i, old->e + i + 1,
		       (old->n - (size_t)i - 1) * sizeof(ns->e[0]));
	}
	rc = run_hook(c, old, ns, err, errlen);
	if (rc) {
		free(ns);
		goto out;
	}
	publish(c, ns, old->e[i]);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void sum(const struct counters *c, const struct cnt_entry *e,
		uint64_t *pkts, uint64_t *bytes)
{
	uint64_t p = 0, b = 0;

	for (unsigned int w = 0; w < c->nworkers; w++) {
		p += __atomic_load_n(&e->slots[w].pkts, __ATOMIC_RELAXED);
		b += __atomic_load_n(&e->slots[w].bytes, __ATOMIC_RELAXED);
	}
	*pkts = p;
	*bytes = b;
}

void counters_zero(struct counters *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->set) {
		for (size_t i = 0; i < c->set->n; i++) {
			struct cnt_entry *e = c->set->e[i];

			sum(c, e, &e->base_pkts, &e->base_bytes);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

int counters_prepare_dlt(struct counters *c, int dlt, char *err, size_t errlen)
{
	char why[PCAP_ERRBUF_SIZE + 64];
	int rc = 0;
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->ndlts; i++)
		if (c->dlts[i] == dlt)
			break;
	if (i == c->ndlts) {
		if (c->ndlts >= COUNTERS_MAX_DLT - 1) {
			snprintf(err, errlen,
				 "counters: more than %d link types",
				 COUNTERS_MAX_DLT - 1);
			rc = -ENOSPC;
			goto out;
		}
		c->dlts[c->ndlts++] = dlt;
	}
	for (i = 0; c->set && i < c->set->n; i++) {
		struct cnt_entry *e = c->set->e[i];
		struct cnt_prog *p = get_prog(e, dlt, why, sizeof(why));

		if ((!p || !p->ok) && !rc) {
			snprintf(err, errlen, "counter %s: link type %s: %s",
				 e->name, pcap_datalink_val_to_name(dlt) ?: "?",
				 p ? why : "out of memory");
			rc = p ? -EINVAL : -ENOMEM;
		}
	}
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void counters_packet(struct counters *c, unsigned int worker_idx, int dlt,
		     const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	/* rcu_dereference, as a C11 acquire (free on x86, seen by TSan) */
	struct cnt_set *s = __atomic_load_n(&c->set, __ATOMIC_ACQUIRE);
	char why[PCAP_ERRBUF_SIZE + 64];

	if (!s || worker_idx >= c->nworkers)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct cnt_entry *e = s->e[i];
		struct cnt_prog *p = NULL;
		struct cnt_slot *sl;

		/* the common case, without the compile path's buffer */
		for (int k = 0; k < COUNTERS_MAX_DLT; k++) {
			struct cnt_prog *q =
				__atomic_load_n(&e->progs[k], __ATOMIC_ACQUIRE);

			if (!q || q->dlt == dlt) {
				p = q;
				break;
			}
		}
		if (!p)
			p = get_prog(e, dlt, why, sizeof(why));
		if (!p || !p->ok ||
		    !bpf_filter(p->bp.bf_insns, data, wirelen, caplen))
			continue;
		sl = &e->slots[worker_idx];
		__atomic_store_n(&sl->pkts,
				 __atomic_load_n(&sl->pkts, __ATOMIC_RELAXED) +
					 1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&sl->bytes,
				 __atomic_load_n(&sl->bytes, __ATOMIC_RELAXED) +
					 wirelen,
				 __ATOMIC_RELAXED);
	}
}

size_t counters_read(struct counters *c, struct counters_value *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->set ? c->set->n : 0;
	for (size_t i = 0; i < n && i < max; i++) {
		const struct cnt_entry *e = c->set->e[i];
		uint64_t p, b;

		sum(c, e, &p, &b);
		memcpy(out[i].name, e->name, sizeof(out[i].name));
		memcpy(out[i].expr, e->expr, sizeof(out[i].expr));
		out[i].pkts = p - e->base_pkts;
		out[i].bytes = b - e->base_bytes;
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t counters_count(struct counters *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->set ? c->set->n : 0;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void counters_set_hook(struct counters *c, counters_hook_fn fn, void *ctx)
{
	pthread_mutex_lock(&c->lock);
	c->hook = fn;
	c->hook_ctx = ctx;
	pthread_mutex_unlock(&c->lock);
}

void counters_credit(struct counters *c, unsigned int worker_idx, uint64_t id,
		     uint64_t pkts, uint64_t bytes)
{
	struct cnt_set *s = __atomic_load_n(&c->set, __ATOMIC_ACQUIRE);
	struct cnt_slot *sl;

	if (!s || worker_idx >= c->nworkers)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i]->id != id)
			continue;
		sl = &s->e[i]->slots[worker_idx];
		__atomic_store_n(&sl->pkts,
				 __atomic_load_n(&sl->pkts, __ATOMIC_RELAXED) +
					 pkts,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&sl->bytes,
				 __atomic_load_n(&sl->bytes, __ATOMIC_RELAXED) +
					 bytes,
				 __ATOMIC_RELAXED);
		return;
	}
}
