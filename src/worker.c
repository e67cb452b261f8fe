/*
 * worker.c - the capture thread loop and the per-packet accounting path.
 *
 * Threads: worker_run is the capture thread; it registers with liburcu,
 * holds rcu_read_lock for one dispatch (one ring block at most) at a time
 * and never waits on anything but the backend's poll. Stats are written
 * only by this thread; other threads read them with relaxed loads.
 */
#include "worker.h"

#include <errno.h>
#include <pcap/dlt.h>
#include <signal.h>
#include <time.h>
#include <string.h>
#include <urcu.h>

#include "app.h"
#include "counters.h"
#include "flowkey.h"
#include "fragtab.h"
#include "tcpstat.h"

/* Single-writer counter bump: a relaxed load and store, no lock prefix. */
static inline void bump(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v,
			 __ATOMIC_RELAXED);
}

/*
 * A fragment's flow (fragtab.h): a later fragment of a datagram whose
 * first fragment was seen is counted in that flow, and under its kind in
 * the totals, so totals stay the sum of the rows. Without a table (out of
 * memory) it stays in the "flow unknown" row.
 */
static void worker_fragment(struct worker *w, struct dec_pkt *d, uint64_t ts_ns,
			    struct flow_key *key, int *dir)
{
	if (!w->frag) {
		w->frag = fragtab_new();
		if (!w->frag)
			return;
	}
	if (fragtab_track(w->frag, d, ts_ns, key, dir))
		d->kind = key->kind;
}

/*
 * Offline -l: hand every interval boundary at or before @ts_ns to the
 * reporting thread and wait for its report, so an interval's report
 * holds exactly the packets before its end. The wait leaves the
 * read-side section (the flow updates flushed first); file reading only.
 */
static void worker_interval(struct worker *w, uint64_t ts_ns)
{
	if (!w->iv_next_ns) {
		w->iv_next_ns = ts_ns + w->iv_ns;
		return;
	}
	while (ts_ns >= w->iv_next_ns &&
	       !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		struct timespec nap = { 0, 200000 };

		worker_flush(w);
		__atomic_store_n(&w->iv_end_ns, w->iv_next_ns,
				 __ATOMIC_RELEASE);
		if (w->notify_sig)
			pthread_kill(w->notify, w->notify_sig);
		rcu_read_unlock();
		while (__atomic_load_n(&w->iv_end_ns, __ATOMIC_ACQUIRE) &&
		       !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
			nanosleep(&nap, NULL);
		rcu_read_lock();
		w->iv_next_ns += w->iv_ns;
	}
}

/* ---- packet sinks (worker.h) ----------------------------------------- */

static int sink_tcpstat_packet(void *ctx, const struct dec_pkt *d,
			       const struct cap_pkt *pkt)
{
	tcpstat_packet(ctx, d, pkt->dlt, pkt->wirelen, pkt->ts_ns);
	return 0;
}

/* Backpressure: a slow reader of the lines slows the capture. */
static void sink_tcpstat_wait(void *ctx)
{
	tcpstat_wait_room(ctx);
}

/* Live: close quiet intervals by the clock, leaving 200 ms for frames
 * still in the ring. */
static void sink_tcpstat_tick_live(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	tcpstat_advance(ctx, (uint64_t)ts.tv_sec * 1000000000ull +
				     (uint64_t)ts.tv_nsec - 200000000ull);
	tcpstat_wait_room(ctx);
}

/* The last interval and the summary, once the last packet is in. */
static void sink_tcpstat_finish(void *ctx)
{
	tcpstat_finish(ctx);
}

const struct worker_sink_ops worker_sink_tcpstat_live = {
	.name = "tcpstat",
	.packet = sink_tcpstat_packet,
	.tick = sink_tcpstat_tick_live,
	.finish = sink_tcpstat_finish,
};

const struct worker_sink_ops worker_sink_tcpstat_file = {
	.name = "tcpstat",
	.packet = sink_tcpstat_packet,
	.tick = sink_tcpstat_wait,
	.finish = sink_tcpstat_finish,
};

static int sink_ts_limit_packet(void *ctx, const struct dec_pkt *d,
				const struct cap_pkt *pkt)
{
	struct worker *w = ctx;
	uint64_t first = __atomic_load_n(&w->st.first_ts_ns, __ATOMIC_RELAXED);

	(void)d;
	if (first && pkt->ts_ns >= first + w->ts_limit_ns) {
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

const struct worker_sink_ops worker_sink_ts_limit = {
	.name = "time limit",
	.packet = sink_ts_limit_packet,
};

static int sink_interval_packet(void *ctx, const struct dec_pkt *d,
				const struct cap_pkt *pkt)
{
	(void)d;
	worker_interval(ctx, pkt->ts_ns);
	return 0;
}

const struct worker_sink_ops worker_sink_interval = {
	.name = "interval",
	.packet = sink_interval_packet,
};

int worker_add_sink(struct worker *w, const struct worker_sink_ops *ops,
		    void *ctx)
{
	if (w->nsinks == WORKER_MAX_SINKS)
		return -ENOSPC;
	w->sinks[w->nsinks].ops = ops;
	w->sinks[w->nsinks].ctx = ctx;
	w->nsinks++;
	return 0;
}

/*
 * Counter programs are compiled for the frame as it was on the wire: a
 * tag the kernel stripped goes back in first, on a copy (the frame is
 * the ring's). Off the common path: only tagged frames with counters.
 */
static __attribute__((noinline)) void count_retagged(struct counters *c,
						     const struct worker *w,
						     const struct cap_pkt *pkt)
{
	uint8_t buf[pkt->caplen + 4];
	uint32_t n = cap_vlan_insert(buf, pkt->data, pkt->caplen,
				     pkt->vlan_tpid, (uint16_t)pkt->vlan_tci);

	counters_packet(c, w->idx, pkt->dlt, buf, n, pkt->wirelen);
}

void worker_packet(void *user, const struct cap_pkt *pkt)
{
	struct worker *w = user;
	struct counters *counters;
	struct dec_pkt d;
	struct flow_key key;
	int dir;

	if (!pkt) { /* end of a batch: its frames are about to go */
		flowtab_batch_flush(w->ft, &w->batch);
		return;
	}
	decode_frame(pkt->dlt, pkt->data, pkt->caplen, pkt->vlan_tci, &d);
	for (int i = 0; i < w->nsinks; i++)
		if (w->sinks[i].ops->packet &&
		    w->sinks[i].ops->packet(w->sinks[i].ctx, &d, pkt))
			return;
	dir = flowkey_from_pkt(&d, &key);
	if (w->ifo) /* the key says 0: the first interface, or the only */
		key.iface = w->ifo & (FLOWKEY_IFACES - 1);
	if (__builtin_expect(d.flags & DEC_F_FRAG, 0))
		worker_fragment(w, &d, pkt->ts_ns, &key, &dir);
	flowtab_batch_add(w->ft, &w->batch, &key, dir, pkt->wirelen,
			  pkt->ts_ns);
	/* the app sniffers look at it if its flow is young (flowtab.h):
	 * its payload is found then; none past a bare TCP or UDP header */
	if (app_l4_known(&d)) {
		uint32_t end = app_frame_end(&d, pkt->caplen);

		if (end > d.l4_off + (d.ipproto == IPPROTO_TCP ? 20 : 8))
			flowtab_batch_payload(&w->batch, pkt->data, end,
					      d.l4_off, d.ipproto);
	}
	/* NULL while there are no counters (pktstat.c publishes it): the
	 * common case costs one load, not a call. */
	counters = __atomic_load_n(&w->counters, __ATOMIC_ACQUIRE);
	if (counters && pkt->vlan_tci >= 0 && pkt->dlt == DLT_EN10MB &&
	    pkt->caplen >= 12)
		count_retagged(counters, w, pkt);
	else if (counters)
		counters_packet(counters, w->idx, pkt->dlt, pkt->data,
				pkt->caplen, pkt->wirelen);
	bump(&w->st.kind_pkts[d.kind], 1);
	bump(&w->st.kind_bytes[d.kind], pkt->wirelen);
	if (d.err)
		bump(&w->st.err[d.err], 1);
	if (!__atomic_load_n(&w->st.first_ts_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&w->st.first_ts_ns,
				 pkt->ts_ns ? pkt->ts_ns : 1, __ATOMIC_RELAXED);
	if (pkt->ts_ns > __atomic_load_n(&w->st.last_ts_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&w->st.last_ts_ns, pkt->ts_ns,
				 __ATOMIC_RELAXED);
}

/* Fold the oldest deferred delta into the flow table. */
static void fq_fold(struct worker *w)
{
	const struct worker_fq *q = &w->fq[w->fq_head];

	for (int d = 0; d < 2; d++)
		flowtab_add(w->ft, &q->key, d, q->pkts[d], q->bytes[d],
			    q->first_ns, q->last_ns);
	w->fq_head = (w->fq_head + 1) % WORKER_FLOWQ;
	w->fq_n--;
}

void worker_flush(struct worker *w)
{
	flowtab_batch_flush(w->ft, &w->batch);
	while (w->fq_n)
		fq_fold(w);
}

/*
 * A delta waits WORKER_FLOWQ records: its bucket is prefetched as it
 * comes in, its chain's first flow half-way (flowtab_prefetch), so the
 * lookup at the fold mostly hits the caches (it missed twice a record at
 * 100k flows: half the drain's time).
 */
static void fq_add(struct worker *w, const struct cap_flow *f)
{
	struct worker_fq *q;

	if (w->fq_n == WORKER_FLOWQ)
		fq_fold(w);
	q = &w->fq[(w->fq_head + w->fq_n) % WORKER_FLOWQ];
	q->key = f->key;
	/* the kernel's key has no interface: each handle has one */
	q->key.iface = w->ifo & (FLOWKEY_IFACES - 1);
	for (int d = 0; d < 2; d++) {
		q->pkts[d] = f->pkts[d];
		q->bytes[d] = f->bytes[d];
	}
	q->first_ns = f->first_ns;
	q->last_ns = f->last_ns;
	flowtab_prefetch(w->ft, &q->key, 0);
	if (++w->fq_n > WORKER_FLOWQ / 2)
		flowtab_prefetch(
			w->ft,
			&w->fq[(w->fq_head + w->fq_n - 1 - WORKER_FLOWQ / 2) %
			       WORKER_FLOWQ]
				 .key,
			1);
}

void worker_flow(void *user, const struct cap_flow *f)
{
	struct worker *w = user;
	int kind = f->key.kind < KIND_COUNT ? f->key.kind : KIND_OTHER;
	uint64_t pkts = f->pkts[0] + f->pkts[1];
	uint64_t bytes = f->bytes[0] + f->bytes[1];

	switch (f->type) {
	case CAP_FLOW_DELTA:
		fq_add(w, f);
		break;
	case CAP_FLOW_OVERFLOW:
		flowtab_add_overflow(w->ft, kind, pkts, bytes);
		break;
	case CAP_FLOW_MALFORMED:
		if (f->err < DEC_ERR_COUNT)
			bump(&w->st.err[f->err], pkts);
		return;
	case CAP_FLOW_COUNTER: {
		struct counters *c =
			__atomic_load_n(&w->counters, __ATOMIC_ACQUIRE);

		if (c)
			counters_credit(c, w->idx, f->counter, pkts, bytes);
		return;
	}
	default:
		return;
	}
	bump(&w->st.kind_pkts[kind], pkts);
	bump(&w->st.kind_bytes[kind], bytes);
	if (f->type != CAP_FLOW_DELTA || !pkts)
		return;
	if (!__atomic_load_n(&w->st.first_ts_ns, __ATOMIC_RELAXED) ||
	    f->first_ns < __atomic_load_n(&w->st.first_ts_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&w->st.first_ts_ns,
				 f->first_ns ? f->first_ns : 1,
				 __ATOMIC_RELAXED);
	if (f->last_ns > __atomic_load_n(&w->st.last_ts_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&w->st.last_ts_ns, f->last_ns,
				 __ATOMIC_RELAXED);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int rc = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		rcu_read_lock();
		/* A backend that counts in the kernel hands over flow
		 * deltas, not frames (the ebpf backend). */
		if (cap_counts_flows(w->h))
			rc = cap_dispatch_flows(w->h, worker_flow, w, 100,
						w->err, sizeof(w->err));
		else
			rc = cap_dispatch(w->h, worker_packet, w, 100, w->err,
					  sizeof(w->err));
		/* a backend that did not end its batch (cap_pkt_fn): its
		 * frames may be gone, account them unread */
		flowtab_batch_forget_payload(&w->batch);
		worker_flush(w);
		rcu_read_unlock();
		if (rc == CAP_EOF || rc < 0)
			break;
		rc = 0;
		for (int i = 0; i < w->nsinks; i++)
			if (w->sinks[i].ops->tick)
				w->sinks[i].ops->tick(w->sinks[i].ctx);
	}
	if (!cap_counts_flows(w->h) && rc == 0) {
		/* stopped: what is already in the ring is read before the
		 * end (bounded); what is not, the stats count as unread */
		rcu_read_lock();
		(void)cap_dispatch(w->h, worker_packet, w, CAP_DRAIN, w->err,
				   sizeof(w->err));
		flowtab_batch_forget_payload(&w->batch);
		worker_flush(w);
		rcu_read_unlock();
	}
	if (cap_counts_flows(w->h) && rc >= 0) {
		/* what the kernel counted after the last delivery */
		rcu_read_lock();
		rc = cap_dispatch_flows(w->h, worker_flow, w, CAP_FLOWS_FINAL,
					w->err, sizeof(w->err));
		worker_flush(w);
		rcu_read_unlock();
		if (rc > 0)
			rc = 0;
	}
	rcu_unregister_thread();
	for (int i = 0; i < w->nsinks; i++)
		if (w->sinks[i].ops->finish)
			w->sinks[i].ops->finish(w->sinks[i].ctx);
	worker_release(w);
	w->status = rc;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	if (w->notify_sig)
		pthread_kill(w->notify, w->notify_sig);
	return NULL;
}

void worker_release(struct worker *w)
{
	fragtab_free(w->frag);
	w->frag = NULL;
}

int worker_start(struct worker *w)
{
	int rc = pthread_create(&w->tid, NULL, worker_run, w);

	if (rc)
		return -rc;
	w->started = 1;
	return 0;
}

void worker_stop(struct worker *w)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	if (w->h)
		cap_wakeup(w->h);
}

int worker_join(struct worker *w)
{
	if (w->started) {
		pthread_join(w->tid, NULL);
		w->started = 0;
	}
	return w->status;
}

int worker_done(const struct worker *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

void worker_stats_add(const struct worker *w, struct worker_stats *sum)
{
	const struct worker_stats *s = &w->st;
	uint64_t f, l;

	for (int k = 0; k < KIND_COUNT; k++) {
		sum->kind_pkts[k] +=
			__atomic_load_n(&s->kind_pkts[k], __ATOMIC_RELAXED);
		sum->kind_bytes[k] +=
			__atomic_load_n(&s->kind_bytes[k], __ATOMIC_RELAXED);
	}
	for (int e = 0; e < DEC_ERR_COUNT; e++)
		sum->err[e] += __atomic_load_n(&s->err[e], __ATOMIC_RELAXED);
	f = __atomic_load_n(&s->first_ts_ns, __ATOMIC_RELAXED);
	l = __atomic_load_n(&s->last_ts_ns, __ATOMIC_RELAXED);
	if (f && (!sum->first_ts_ns || f < sum->first_ts_ns))
		sum->first_ts_ns = f;
	if (l > sum->last_ts_ns)
		sum->last_ts_ns = l;
}
