/*
 * ipfix.c - IPFIX flow export through libfixbuf (see ipfix.h for the
 * threads and the octet rule).
 *
 * Records: per flow id, the module remembers what it has exported (per
 * direction packets and bytes) and since when the current record runs.
 * Three producers turn the difference into records, under x->lock:
 *  - the scanner, once a second, over a copy of the live flows: a
 *    direction with news is exported when the flow has been idle for the
 *    idle timeout (flowEndReason idleTimeout) or its record has run for
 *    the active timeout (activeTimeout);
 *  - ipfix_flow_end, when a flow leaves pktstat's table (idleTimeout, or
 *    lackOfResources when it was evicted): its final counts, after which
 *    the flow's entry becomes a tombstone;
 *  - ipfix_finish at exit (forcedEnd).
 * A tombstone keeps a copy of the live flows taken just before the flow
 * left from exporting it again: it is dropped by the first scan that
 * started after it was made (that scan's copy cannot hold the flow).
 *
 * Queue: a ring of records under x->qlock between the producers and the
 * sender; a push never waits (except at exit, bounded): when full, the
 * record is dropped and counted. The scanner waits before a row's
 * records instead, while the sender makes progress (wait_room), so only
 * the flows leaving the table in a burst (the call_rcu thread, which
 * must not hold back every later free) and a stalled sender lose
 * records. The sender converts records to the template's layout,
 * appends them to a manual-mode fBuf and emits a
 * message when it is full or the queue is empty; a message the transport
 * refuses counts its records as dropped, and the next record rebuilds the
 * session (a new TCP connection). Over UDP the templates are sent again
 * every IPFIX_TEMPLATE_S seconds (RFC 7011, 8.4).
 */
#include "ipfix.h"

#include <errno.h>
#include <fixbuf/public.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu.h>

#include "flowkey.h"
#include "snapshot.h"

#define IPFIX_TEMPLATE_S 10 /* UDP template refresh */
#define IPFIX_SCAN_NS 1000000000ull
#define IPFIX_STALL_NS 1000000000ull /* sender without progress: stalled */
#define TID_V4 256
#define TID_V6 257

/* What was exported of one flow. */
struct ent {
	uint64_t id;
	uint64_t pkts[2], bytes[2]; /* exported so far */
	uint64_t since_ns;	    /* the current record runs since */
	uint64_t start_ns;	    /* flowStart of the next record */
	uint64_t tomb_gen;	    /* tombstone: made during this scan */
	int tomb;
	struct ent *next;
};

/* One record on its way to the sender. */
struct rec {
	struct flow_key key;
	uint64_t pkts, octets;
	uint64_t start_ms, end_ms;
	uint8_t dir, reason;
};

/* The data records, as the internal templates describe them. */
struct rec4 {
	uint64_t start_ms, end_ms, octets, pkts;
	uint32_t src, dst;
	uint32_t ingress, egress;
	uint16_t sport, dport;
	uint16_t icmp;
	uint16_t vlan;
	uint8_t proto, reason;
	uint8_t pad[6];
};

struct rec6 {
	uint64_t start_ms, end_ms, octets, pkts;
	uint8_t src[16], dst[16];
	uint32_t ingress, egress;
	uint16_t sport, dport;
	uint16_t icmp;
	uint16_t vlan;
	uint8_t proto, reason;
	uint8_t pad[6];
};

/* flag 1: the padding is in the internal template only */
static fbInfoElementSpec_t spec4[] = {
	{ "flowStartMilliseconds", 8, 0 }, { "flowEndMilliseconds", 8, 0 },
	{ "octetDeltaCount", 8, 0 },	   { "packetDeltaCount", 8, 0 },
	{ "sourceIPv4Address", 4, 0 },	   { "destinationIPv4Address", 4, 0 },
	{ "ingressInterface", 4, 0 },	   { "egressInterface", 4, 0 },
	{ "sourceTransportPort", 2, 0 },   { "destinationTransportPort", 2, 0 },
	{ "icmpTypeCodeIPv4", 2, 0 },	   { "vlanId", 2, 0 },
	{ "protocolIdentifier", 1, 0 },	   { "flowEndReason", 1, 0 },
	{ "paddingOctets", 6, 1 },	   FB_IESPEC_NULL,
};

static fbInfoElementSpec_t spec6[] = {
	{ "flowStartMilliseconds", 8, 0 }, { "flowEndMilliseconds", 8, 0 },
	{ "octetDeltaCount", 8, 0 },	   { "packetDeltaCount", 8, 0 },
	{ "sourceIPv6Address", 16, 0 },	   { "destinationIPv6Address", 16, 0 },
	{ "ingressInterface", 4, 0 },	   { "egressInterface", 4, 0 },
	{ "sourceTransportPort", 2, 0 },   { "destinationTransportPort", 2, 0 },
	{ "icmpTypeCodeIPv6", 2, 0 },	   { "vlanId", 2, 0 },
	{ "protocolIdentifier", 1, 0 },	   { "flowEndReason", 1, 0 },
	{ "paddingOctets", 6, 1 },	   FB_IESPEC_NULL,
};

_Static_assert(sizeof(struct rec4) == 64, "rec4 matches spec4");
_Static_assert(sizeof(struct rec6) == 88, "rec6 matches spec6");

struct ipfix {
	struct ipfix_conf c;
	char target[320];
	char host[256], port[16];
	int tcp;

	/* flows: under lock */
	pthread_mutex_t lock;
	struct ent **tab;
	size_t nbuckets, nents;
	uint64_t gen; /* scans started */

	/* the queue: under qlock */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;  /* a record arrived, or stop */
	pthread_cond_t qspace; /* a record left (ipfix_finish waits) */
	struct rec *q;
	size_t qcap, qhead, qlen;
	int sender_stop;
	int abandoned;	       /* the sender missed the exit deadline */
	uint64_t progress_ns;  /* monotonic: the sender last took records */
	uint64_t stalled_ns;   /* a waiting scanner gave up then (0: never) */
	struct ipfix_stats st; /* under qlock */

	/* the scanner */
	ipfix_collect_fn collect;
	void *collect_arg;
	pthread_t scan_tid, send_tid;
	int scan_started, send_started;
	pthread_mutex_t slock;
	pthread_cond_t scond;
	int scan_stop;
	int scan_abort; /* atomic: stop_scanner wants the scan to end */

	/* libfixbuf: the sender's alone (and ipfix_new's before it starts) */
	fbInfoModel_t *model;
	fBuf_t *fbuf;
	uint64_t templates_ns; /* when the templates were last sent */
	/* in the open message, and taken off the queue but not yet in it:
	 * under qlock (the exit may give up on the sender) */
	uint64_t pend_recs, pend_pkts, pend_octets;
	uint64_t hand_recs, hand_pkts, hand_octets;
	int send_lost;	   /* libfixbuf logged a failed send (see on_fb_log) */
	guint log_handler; /* 0: none */
	char last_err[512];
};

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ipfix_parse_spec(const char *spec, char *host, size_t hostlen, char *port,
		     size_t portlen, int *tcp, char *err, size_t errlen)
{
	char buf[320], *slash, *colon, *end;
	unsigned long p;

	if (strlen(spec) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", spec);
	*tcp = 0;
	slash = strrchr(buf, '/');
	if (slash) {
		if (strcmp(slash, "/tcp") == 0)
			*tcp = 1;
		else if (strcmp(slash, "/udp") != 0)
			goto bad;
		*slash = '\0';
	}
	colon = strrchr(buf, ':');
	if (!colon || colon == buf)
		goto bad;
	*colon = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p == 0 || p > 65535 ||
	    colon[1] == '-' || colon[1] == '+')
		goto bad;
	if (buf[0] == '[') {
		size_t l = strlen(buf);

		if (l < 3 || buf[l - 1] != ']')
			goto bad;
		buf[l - 1] = '\0';
		memmove(buf, buf + 1, l - 1);
	} else if (strchr(buf, ':')) {
		goto bad; /* an IPv6 address needs brackets */
	}
	if (!buf[0] || strlen(buf) >= hostlen)
		goto bad;
	snprintf(host, hostlen, "%s", buf);
	snprintf(port, portlen, "%lu", p);
	return 0;
bad:
	snprintf(err, errlen,
		 "--ipfix %s: not HOST:PORT[/udp|/tcp] (port 1-65535, "
		 "[brackets] around an IPv6 address)",
		 spec);
	return -EINVAL;
}

uint64_t ipfix_octets(const struct ipfix_conf *c, const struct flow_key *k,
		      uint64_t pkts, uint64_t bytes)
{
	uint64_t hdr = c->link_hdr + (k->vlan && c->vlan_in_frame ? 4 : 0);

	return bytes > pkts * hdr ? bytes - pkts * hdr : 0;
}

/* Only IP flows are exported (ARP and other link protocols are not). */
static int exportable(const struct flow_key *k)
{
	return k->kind != KIND_ARP && k->kind != KIND_OTHER &&
	       flowkey_family(k->kind) != 0;
}

/* ---- the queue -------------------------------------------------------- */

/* Account a record that will never reach the collector. qlock held. */
static void count_drop(struct ipfix *x, const struct rec *r)
{
	x->st.drop_records++;
	x->st.drop_pkts += r->pkts;
	x->st.drop_octets += r->octets;
}

/* Queue @r; when full, wait until @deadline_ns (monotonic; 0: never
 * wait) and then drop it, counted. */
static void push(struct ipfix *x, const struct rec *r, uint64_t deadline_ns)
{
	pthread_mutex_lock(&x->qlock);
	while (x->qlen == x->qcap && deadline_ns && !x->sender_stop) {
		uint64_t now = mono_ns();
		struct timespec ts;

		if (now >= deadline_ns)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&x->qspace, &x->qlock, &ts);
	}
	if (x->qlen == x->qcap) {
		count_drop(x, r);
	} else {
		x->q[(x->qhead + x->qlen) % x->qcap] = *r;
		x->qlen++;
		pthread_cond_signal(&x->qcond);
	}
	pthread_mutex_unlock(&x->qlock);
}

/* ---- flows ------------------------------------------------------------ */

static size_t bucket_of(const struct ipfix *x, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 20) & (x->nbuckets - 1);
}

/* The entry of @id, or NULL. lock held. */
static struct ent *ent_find(struct ipfix *x, uint64_t id)
{
	for (struct ent *e = x->tab[bucket_of(x, id)]; e; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

/* Double the buckets when the entries outnumber them (best effort: on
 * allocation failure the chains just grow). lock held. */
static void ent_grow(struct ipfix *x)
{
	size_t nb = x->nbuckets * 2;
	struct ent **t;

	if (x->nents < x->nbuckets)
		return;
	t = calloc(nb, sizeof(*t));
	if (!t)
		return;
	for (size_t b = 0; b < x->nbuckets; b++) {
		struct ent *e = x->tab[b], *n;

		for (; e; e = n) {
			size_t nbk;

			n = e->next;
			nbk = (size_t)((e->id * 0x9e3779b97f4a7c15ull) >> 20) &
			      (nb - 1);
			e->next = t[nbk];
			t[nbk] = e;
		}
	}
	free(x->tab);
	x->tab = t;
	x->nbuckets = nb;
}

/* A new entry for @r (nothing exported yet), or NULL when out of memory.
 * lock held. */
static struct ent *ent_add(struct ipfix *x, const struct flowtab_row *r)
{
	struct ent *e = calloc(1, sizeof(*e));
	size_t b;

	if (!e)
		return NULL;
	ent_grow(x);
	e->id = r->id;
	e->since_ns = r->first_ns;
	e->start_ns = r->first_ns;
	b = bucket_of(x, r->id);
	e->next = x->tab[b];
	x->tab[b] = e;
	x->nents++;
	return e;
}

/*
 * Turn what @r holds beyond @e's exported counts into records (one per
 * direction with news) with @reason, and mark them exported. @e NULL:
 * nothing exported yet and nothing to remember (out of memory, or the
 * flow's last word). lock held.
 */
static void emit_delta(struct ipfix *x, struct ent *e,
		       const struct flowtab_row *r, int reason,
		       uint64_t deadline_ns)
{
	uint64_t start = e ? e->start_ns : r->first_ns;

	if (start < r->first_ns)
		start = r->first_ns;
	for (int d = 0; d < 2; d++) {
		uint64_t dp = r->pkts[d] - (e ? e->pkts[d] : 0);
		uint64_t db = r->bytes[d] - (e ? e->bytes[d] : 0);
		struct rec rec;

		if (!dp)
			continue;
		memset(&rec, 0, sizeof(rec));
		rec.key = r->key;
		rec.dir = (uint8_t)d;
		rec.reason = (uint8_t)reason;
		rec.pkts = dp;
		rec.octets = ipfix_octets(&x->c, &r->key, dp, db);
		rec.start_ms = start / 1000000u;
		rec.end_ms = r->last_ns / 1000000u;
		push(x, &rec, deadline_ns);
		if (e) {
			e->pkts[d] = r->pkts[d];
			e->bytes[d] = r->bytes[d];
		}
	}
	if (e) {
		e->start_ns = r->last_ns;
		e->since_ns = 0; /* set by the caller */
	}
}

void ipfix_flow_end(struct ipfix *x, const struct flowtab_row *r, int evicted)
{
	struct ent *e;

	if (!exportable(&r->key))
		return;
	pthread_mutex_lock(&x->lock);
	e = ent_find(x, r->id);
	if (e && e->tomb) {
		pthread_mutex_unlock(&x->lock);
		return;
	}
	if (!e)
		e = ent_add(x, r);
	emit_delta(x, e, r, evicted ? IPFIX_END_RESOURCES : IPFIX_END_IDLE, 0);
	if (e) {
		e->tomb = 1;
		e->tomb_gen = x->gen;
	}
	pthread_mutex_unlock(&x->lock);
}

/* Free the tombstones made before scan @gen began. lock held. */
static void sweep(struct ipfix *x, uint64_t gen)
{
	for (size_t b = 0; b < x->nbuckets; b++) {
		struct ent **pp = &x->tab[b];

		while (*pp) {
			struct ent *e = *pp;

			if (e->tomb && e->tomb_gen < gen) {
				*pp = e->next;
				free(e);
				x->nents--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/*
 * The scanner waits for room in the queue for a row's records (at most
 * two) while the sender is making progress: records that go idle or
 * reach the active timeout together (a table of a million flows that
 * fell silent at once) are sent, not dropped, and only the scan is
 * slower. A sender that took nothing for IPFIX_STALL_NS (a collector
 * that stopped reading TCP) no longer holds it: records that find the
 * queue full are then dropped and counted. Returns -1 when stop_scanner
 * wants the scan to end (the rows left are ipfix_finish's).
 */
static int wait_room(struct ipfix *x)
{
	uint64_t since = mono_ns();
	int rc = 0;

	pthread_mutex_lock(&x->qlock);
	while (x->qlen && x->qlen + 2 > x->qcap && !x->sender_stop) {
		uint64_t now = mono_ns(), last;
		struct timespec ts;

		if (__atomic_load_n(&x->scan_abort, __ATOMIC_ACQUIRE)) {
			rc = -1;
			break;
		}
		/* still stalled since an earlier wait gave up: no new wait */
		if (x->stalled_ns && x->progress_ns < x->stalled_ns)
			break;
		last = x->progress_ns > since ? x->progress_ns : since;
		if (now - last > IPFIX_STALL_NS) {
			x->stalled_ns = now;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&x->qspace, &x->qlock, &ts);
	}
	pthread_mutex_unlock(&x->qlock);
	return rc;
}

/* One pass over a copy of the live flows. Scanner thread. */
static void scan(struct ipfix *x, struct flowtab_row **rows, size_t *cap)
{
	uint64_t gen, now;
	ssize_t n;

	pthread_mutex_lock(&x->lock);
	gen = ++x->gen;
	pthread_mutex_unlock(&x->lock);
	n = x->collect(x->collect_arg, rows, cap);
	if (n < 0)
		return; /* out of memory: next time */
	now = wall_ns();
	for (ssize_t i = 0; i < n; i++) {
		const struct flowtab_row *r = &(*rows)[i];
		struct ent *e;
		int reason = 0;

		if (!exportable(&r->key))
			continue;
		pthread_mutex_lock(&x->lock);
		e = ent_find(x, r->id);
		if (!e)
			e = ent_add(x, r);
		if (!e || e->tomb) {
			pthread_mutex_unlock(&x->lock);
			continue;
		}
		if (r->pkts[0] == e->pkts[0] && r->pkts[1] == e->pkts[1]) {
			/* nothing new: the next record starts afresh */
			e->since_ns = 0;
		} else {
			if (!e->since_ns)
				e->since_ns = e->start_ns;
			if (now > r->last_ns &&
			    now - r->last_ns >= x->c.idle_ns)
				reason = IPFIX_END_IDLE;
			else if (now > e->since_ns &&
				 now - e->since_ns >= x->c.active_ns)
				reason = IPFIX_END_ACTIVE;
		}
		if (reason) {
			/* room for its records first, the lock let go (the
			 * end hook takes it): the flow may have left then */
			pthread_mutex_unlock(&x->lock);
			if (wait_room(x))
				break;
			pthread_mutex_lock(&x->lock);
			e = ent_find(x, r->id);
			if (e && !e->tomb) {
				emit_delta(x, e, r, reason, 0);
				e->since_ns =
					reason == IPFIX_END_ACTIVE ? now : 0;
			}
		}
		pthread_mutex_unlock(&x->lock);
	}
	pthread_mutex_lock(&x->lock);
	sweep(x, gen);
	pthread_mutex_unlock(&x->lock);
}

static void *scanner(void *arg)
{
	struct ipfix *x = arg;
	struct flowtab_row *rows = NULL;
	size_t cap = 0;

	rcu_register_thread();
	pthread_mutex_lock(&x->slock);
	while (!x->scan_stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += IPFIX_SCAN_NS / 1000000000ull;
		pthread_cond_timedwait(&x->scond, &x->slock, &ts);
		if (x->scan_stop)
			break;
		pthread_mutex_unlock(&x->slock);
		scan(x, &rows, &cap);
		pthread_mutex_lock(&x->slock);
	}
	pthread_mutex_unlock(&x->slock);
	free(rows);
	rcu_unregister_thread();
	return NULL;
}

/* ---- libfixbuf -------------------------------------------------------- */

static void set_gerr(struct ipfix *x, GError *ge)
{
	snprintf(x->last_err, sizeof(x->last_err), "%s: %s", x->target,
		 ge && ge->message ? ge->message : "error");
}

/*
 * libfixbuf reports a failed UDP send (the kernel's ECONNREFUSED after an
 * ICMP port unreachable) only through g_warning ("packets will be lost")
 * and goes on as if the message was sent. That text must not reach the
 * terminal (the monitor's screen), and the message's records are lost:
 * the warning marks them so, for settle(). Called synchronously on the
 * thread inside libfixbuf: the sender (or ipfix_new before it starts).
 */
static void on_fb_log(const gchar *domain, GLogLevelFlags level,
		      const gchar *msg, gpointer arg)
{
	struct ipfix *x = arg;

	(void)domain;
	if (level &
	    (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) {
		x->send_lost = 1;
		snprintf(x->last_err, sizeof(x->last_err), "%s: %s", x->target,
			 msg ? msg : "send failed");
	}
}

/* The templates in a message of their own, sent now. libfixbuf starts a
 * message for them only in automatic mode; records go in manual mode,
 * so that a message's records are known when it is sent or lost. */
static gboolean export_templates(struct ipfix *x, GError **ge)
{
	gboolean ok;

	fBufSetAutomaticMode(x->fbuf, TRUE);
	ok = fbSessionExportTemplates(fBufGetSession(x->fbuf), ge) &&
	     fBufEmit(x->fbuf, ge);
	fBufSetAutomaticMode(x->fbuf, FALSE);
	return ok;
}

/* A session with both templates, an exporter and a manual-mode buffer,
 * templates queued for the first message. 0 or -1 (x->last_err). */
static int fb_open(struct ipfix *x)
{
	fbConnSpec_t cs;
	fbSession_t *s;
	fbExporter_t *ex;
	fbTemplate_t *t4i, *t4e, *t6i, *t6e;
	GError *ge = NULL;

	s = fbSessionAlloc(x->model);
	t4i = fbTemplateAlloc(x->model);
	t4e = fbTemplateAlloc(x->model);
	t6i = fbTemplateAlloc(x->model);
	t6e = fbTemplateAlloc(x->model);
	if (!fbTemplateAppendSpecArray(t4i, spec4, 1, &ge) ||
	    !fbTemplateAppendSpecArray(t4e, spec4, 0, &ge) ||
	    !fbTemplateAppendSpecArray(t6i, spec6, 1, &ge) ||
	    !fbTemplateAppendSpecArray(t6e, spec6, 0, &ge) ||
	    !fbSessionAddTemplate(s, TRUE, TID_V4, t4i, &ge) ||
	    !fbSessionAddTemplate(s, FALSE, TID_V4, t4e, &ge) ||
	    !fbSessionAddTemplate(s, TRUE, TID_V6, t6i, &ge) ||
	    !fbSessionAddTemplate(s, FALSE, TID_V6, t6e, &ge)) {
		set_gerr(x, ge);
		g_clear_error(&ge);
		fbSessionFree(s);
		return -1;
	}
	memset(&cs, 0, sizeof(cs));
	cs.transport = x->tcp ? FB_TCP : FB_UDP;
	cs.host = x->host;
	cs.svc = x->port;
	ex = fbExporterAllocNet(&cs);
	if (!ex) {
		snprintf(x->last_err, sizeof(x->last_err), "%s: cannot resolve",
			 x->target);
		fbSessionFree(s);
		return -1;
	}
	x->fbuf = fBufAllocForExport(s, ex);
	if (!export_templates(x, &ge)) {
		set_gerr(x, ge);
		g_clear_error(&ge);
		fBufFree(x->fbuf);
		x->fbuf = NULL;
		return -1;
	}
	x->templates_ns = mono_ns();
	return 0;
}

static void fb_close(struct ipfix *x)
{
	if (x->fbuf)
		fBufFree(x->fbuf);
	x->fbuf = NULL;
}

/* The records of the open message: sent (@ok) or lost. */
static void settle(struct ipfix *x, int ok)
{
	pthread_mutex_lock(&x->qlock);
	if (x->abandoned) {
		/* counted as dropped when the exit gave up */
	} else if (ok) {
		x->st.records += x->pend_recs;
		x->st.pkts += x->pend_pkts;
		x->st.octets += x->pend_octets;
	} else {
		x->st.drop_records += x->pend_recs;
		x->st.drop_pkts += x->pend_pkts;
		x->st.drop_octets += x->pend_octets;
		x->st.send_errors++;
	}
	x->pend_recs = x->pend_pkts = x->pend_octets = 0;
	pthread_mutex_unlock(&x->qlock);
}

/* Emit the open message, if any. 0 or -1 (the session is closed). */
static int fb_flush(struct ipfix *x)
{
	GError *ge = NULL;

	uint64_t pending;

	if (!x->fbuf)
		return -1;
	pthread_mutex_lock(&x->qlock);
	pending = x->pend_recs;
	pthread_mutex_unlock(&x->qlock);
	if (!pending)
		return 0;
	x->send_lost = 0;
	if (fBufEmit(x->fbuf, &ge)) {
		settle(x, !x->send_lost);
		return 0;
	}
	set_gerr(x, ge);
	g_clear_error(&ge);
	settle(x, 0);
	fb_close(x);
	return -1;
}

static void fill(const struct ipfix *x, const struct rec *r, void *out,
		 size_t *len, uint16_t *tid)
{
	const struct flow_key *k = &r->key;
	const uint8_t *src = r->dir == FLOW_DIR_AB ? k->a : k->b;
	const uint8_t *dst = r->dir == FLOW_DIR_AB ? k->b : k->a;
	uint16_t sport = r->dir == FLOW_DIR_AB ? k->aport : k->bport;
	uint16_t dport = r->dir == FLOW_DIR_AB ? k->bport : k->aport;
	uint16_t icmp = 0;

	if (flowkey_is_icmp(k->kind)) {
		/* the flow's message type (a reply folds into its request)
		 * and code */
		icmp = (uint16_t)(k->aport << 8 | (k->bport & 0xff));
		sport = dport = 0;
	} else if (!flowkey_has_ports(k->kind)) {
		sport = dport = 0;
	}
	if (flowkey_family(k->kind) == 4) {
		struct rec4 *o = out;

		memset(o, 0, sizeof(*o));
		o->src = (uint32_t)src[0] << 24 | (uint32_t)src[1] << 16 |
			 (uint32_t)src[2] << 8 | src[3];
		o->dst = (uint32_t)dst[0] << 24 | (uint32_t)dst[1] << 16 |
			 (uint32_t)dst[2] << 8 | dst[3];
		o->start_ms = r->start_ms;
		o->end_ms = r->end_ms;
		o->octets = r->octets;
		o->pkts = r->pkts;
		o->ingress = x->c.ingress_ifindex;
		o->sport = sport;
		o->dport = dport;
		o->icmp = icmp;
		o->vlan = k->vlan;
		o->proto = k->ipproto;
		o->reason = r->reason;
		*len = sizeof(*o);
		*tid = TID_V4;
	} else {
		struct rec6 *o = out;

		memset(o, 0, sizeof(*o));
		memcpy(o->src, src, 16);
		memcpy(o->dst, dst, 16);
		o->start_ms = r->start_ms;
		o->end_ms = r->end_ms;
		o->octets = r->octets;
		o->pkts = r->pkts;
		o->ingress = x->c.ingress_ifindex;
		o->sport = sport;
		o->dport = dport;
		o->icmp = icmp;
		o->vlan = k->vlan;
		o->proto = k->ipproto;
		o->reason = r->reason;
		*len = sizeof(*o);
		*tid = TID_V6;
	}
}

/* Record @r, taken off the queue, is now in the open message (@appended)
 * or lost. Not after the exit gave up on the sender: it counted them. */
static void hand_done(struct ipfix *x, const struct rec *r, int appended)
{
	pthread_mutex_lock(&x->qlock);
	if (!x->abandoned) {
		x->hand_recs--;
		x->hand_pkts -= r->pkts;
		x->hand_octets -= r->octets;
		if (appended) {
			x->pend_recs++;
			x->pend_pkts += r->pkts;
			x->pend_octets += r->octets;
		} else {
			count_drop(x, r);
		}
	}
	pthread_mutex_unlock(&x->qlock);
}

/* Hand one record to libfixbuf (a message is emitted when full). */
static void send_one(struct ipfix *x, const struct rec *r)
{
	union {
		struct rec4 r4;
		struct rec6 r6;
	} u;
	size_t len;
	uint16_t tid;
	GError *ge = NULL;

	if (!x->fbuf && fb_open(x)) {
		hand_done(x, r, 0);
		return;
	}
	fill(x, r, &u, &len, &tid);
	for (int tries = 0; tries < 2; tries++) {
		if (!fBufSetInternalTemplate(x->fbuf, tid, &ge) ||
		    !fBufSetExportTemplate(x->fbuf, tid, &ge))
			break;
		if (fBufAppend(x->fbuf, (uint8_t *)&u, len, &ge)) {
			hand_done(x, r, 1);
			return;
		}
		if (!g_error_matches(ge, FB_ERROR_DOMAIN, FB_ERROR_EOM))
			break;
		g_clear_error(&ge);
		/* the message is full: send it, then try again */
		if (fb_flush(x))
			break;
	}
	if (ge) {
		set_gerr(x, ge);
		g_clear_error(&ge);
	}
	hand_done(x, r, 0);
}

/* Over UDP, the templates again every IPFIX_TEMPLATE_S seconds. */
static void refresh_templates(struct ipfix *x)
{
	GError *ge = NULL;

	if (x->tcp || !x->fbuf ||
	    mono_ns() - x->templates_ns < IPFIX_TEMPLATE_S * 1000000000ull)
		return;
	if (fb_flush(x))
		return;
	if (!export_templates(x, &ge)) {
		set_gerr(x, ge);
		g_clear_error(&ge);
		fb_close(x);
		return;
	}
	x->templates_ns = mono_ns();
}

static void *sender(void *arg)
{
	struct ipfix *x = arg;
	struct rec batch[64];

	for (;;) {
		size_t n = 0;
		int stop;

		pthread_mutex_lock(&x->qlock);
		while (!x->qlen && !x->sender_stop) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			if (pthread_cond_timedwait(&x->qcond, &x->qlock, &ts))
				break;
		}
		while (x->qlen && n < sizeof(batch) / sizeof(batch[0])) {
			batch[n++] = x->q[x->qhead];
			x->hand_recs++;
			x->hand_pkts += x->q[x->qhead].pkts;
			x->hand_octets += x->q[x->qhead].octets;
			x->qhead = (x->qhead + 1) % x->qcap;
			x->qlen--;
		}
		stop = x->sender_stop && !x->qlen;
		if (n) {
			x->progress_ns = mono_ns();
			pthread_cond_broadcast(&x->qspace);
		}
		pthread_mutex_unlock(&x->qlock);
		for (size_t i = 0; i < n; i++)
			send_one(x, &batch[i]);
		if (n < sizeof(batch) / sizeof(batch[0]))
			fb_flush(x); /* the queue ran dry: do not hold them */
		refresh_templates(x);
		if (stop && !n)
			break;
	}
	fb_flush(x);
	return NULL;
}

/* ---- life cycle ------------------------------------------------------- */

struct ipfix *ipfix_new(const struct ipfix_conf *c, char *err, size_t errlen)
{
	struct ipfix *x = calloc(1, sizeof(*x));

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->c = *c;
	if (!x->c.queue_len)
		x->c.queue_len = IPFIX_QUEUE_DEFAULT;
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->qlock, NULL);
	pthread_mutex_init(&x->slock, NULL);
	pthread_cond_init(&x->qcond, NULL);
	pthread_cond_init(&x->qspace, NULL);
	pthread_cond_init(&x->scond, NULL);
	if (ipfix_parse_spec(c->spec, x->host, sizeof(x->host), x->port,
			     sizeof(x->port), &x->tcp, err, errlen)) {
		ipfix_free(x);
		return NULL;
	}
	snprintf(x->target, sizeof(x->target), "%s:%s/%s", x->host, x->port,
		 x->tcp ? "tcp" : "udp");
	x->nbuckets = 1024;
	x->tab = calloc(x->nbuckets, sizeof(*x->tab));
	x->qcap = x->c.queue_len;
	x->q = calloc(x->qcap, sizeof(*x->q));
	x->model = fbInfoModelAlloc();
	x->log_handler = g_log_set_handler(NULL,
					   G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL |
						   G_LOG_FLAG_RECURSION,
					   on_fb_log, x);
	if (!x->tab || !x->q || !x->model) {
		snprintf(err, errlen, "out of memory");
		ipfix_free(x);
		return NULL;
	}
	if (fb_open(x)) {
		snprintf(err, errlen, "--ipfix %s", x->last_err);
		ipfix_free(x);
		return NULL;
	}
	if (pthread_create(&x->send_tid, NULL, sender, x)) {
		snprintf(err, errlen, "--ipfix: cannot start a thread");
		ipfix_free(x);
		return NULL;
	}
	x->send_started = 1;
	return x;
}

int ipfix_start(struct ipfix *x, ipfix_collect_fn collect, void *arg, char *err,
		size_t errlen)
{
	x->collect = collect;
	x->collect_arg = arg;
	if (x->c.offline)
		return 0; /* packet time, not the clock: all at the end */
	if (pthread_create(&x->scan_tid, NULL, scanner, x)) {
		snprintf(err, errlen, "--ipfix: cannot start a thread");
		return -EAGAIN;
	}
	x->scan_started = 1;
	return 0;
}

static void stop_scanner(struct ipfix *x)
{
	if (!x->scan_started)
		return;
	__atomic_store_n(&x->scan_abort, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&x->slock);
	x->scan_stop = 1;
	pthread_cond_signal(&x->scond);
	pthread_mutex_unlock(&x->slock);
	pthread_join(x->scan_tid, NULL);
	x->scan_started = 0;
}

static void stop_sender(struct ipfix *x)
{
	if (!x->send_started)
		return;
	pthread_mutex_lock(&x->qlock);
	x->sender_stop = 1;
	pthread_cond_signal(&x->qcond);
	pthread_mutex_unlock(&x->qlock);
	pthread_join(x->send_tid, NULL);
	x->send_started = 0;
}

/*
 * Wait for the sender to send everything and stop, until @deadline
 * (monotonic). A collector that stops reading a TCP connection blocks the
 * sender in write(2) for as long as it likes: past the deadline the
 * records still queued are counted as dropped and the sender is left
 * behind (the process is exiting; ipfix_free then frees nothing it
 * uses).
 */
static void stop_sender_by(struct ipfix *x, uint64_t deadline)
{
	struct timespec ts;
	uint64_t now = mono_ns(), left;

	if (!x->send_started)
		return;
	pthread_mutex_lock(&x->qlock);
	x->sender_stop = 1;
	pthread_cond_signal(&x->qcond);
	pthread_mutex_unlock(&x->qlock);
	left = deadline > now ? deadline - now : 0;
	if (left < 2000000000ull)
		left = 2000000000ull; /* the last message's own time */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(left / 1000000000ull);
	ts.tv_nsec += (long)(left % 1000000000ull);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(x->send_tid, NULL, &ts) == 0) {
		x->send_started = 0;
		return;
	}
	pthread_mutex_lock(&x->qlock);
	while (x->qlen) {
		count_drop(x, &x->q[x->qhead]);
		x->qhead = (x->qhead + 1) % x->qcap;
		x->qlen--;
	}
	/* the message being written when the deadline passed, and the
	 * records the sender holds: not known to have arrived */
	x->st.drop_records += x->pend_recs + x->hand_recs;
	x->st.drop_pkts += x->pend_pkts + x->hand_pkts;
	x->st.drop_octets += x->pend_octets + x->hand_octets;
	x->pend_recs = x->pend_pkts = x->pend_octets = 0;
	x->hand_recs = x->hand_pkts = x->hand_octets = 0;
	x->abandoned = 1;
	pthread_mutex_unlock(&x->qlock);
}

void ipfix_finish(struct ipfix *x, const struct snapshot *live,
		  uint64_t wait_ns)
{
	uint64_t deadline = mono_ns() + wait_ns;
	struct snapshot_iter it;
	const struct flowtab_row *r;

	stop_scanner(x);
	memset(&it, 0, sizeof(it));
	pthread_mutex_lock(&x->lock);
	while (live && (r = snapshot_row_next(live, &it))) {
		struct ent *e;

		if (!exportable(&r->key))
			continue;
		e = ent_find(x, r->id);
		if (e && e->tomb)
			continue;
		emit_delta(x, e, r, IPFIX_END_FORCED, deadline);
	}
	pthread_mutex_unlock(&x->lock);
	stop_sender_by(x, deadline);
}

void ipfix_get_stats(struct ipfix *x, struct ipfix_stats *st)
{
	pthread_mutex_lock(&x->qlock);
	*st = x->st;
	st->queue_depth = x->qlen;
	pthread_mutex_unlock(&x->qlock);
}

const char *ipfix_target(const struct ipfix *x)
{
	return x->target;
}

void ipfix_free(struct ipfix *x)
{
	if (!x)
		return;
	stop_scanner(x);
	if (x->abandoned)
		return; /* its sender still uses everything (see above) */
	stop_sender(x);
	fb_close(x);
	if (x->model)
		fbInfoModelFree(x->model);
	if (x->log_handler)
		g_log_remove_handler(NULL, x->log_handler);
	for (size_t b = 0; x->tab && b < x->nbuckets; b++) {
		struct ent *e = x->tab[b], *n;

		for (; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(x->tab);
	free(x->q);
	pthread_cond_destroy(&x->qcond);
	pthread_cond_destroy(&x->qspace);
	pthread_cond_destroy(&x->scond);
	pthread_mutex_destroy(&x->lock);
	pthread_mutex_destroy(&x->qlock);
	pthread_mutex_destroy(&x->slock);
	free(x);
}
