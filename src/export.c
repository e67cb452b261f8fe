/*
 * export.c - the exporters as observers of the run (see export.h): the
 * Prometheus figures gathered from the engine's API at each tick, the
 * IPFIX exporter fed the flows that leave the table and the live flows
 * at the end.
 *
 * Threads: everything here runs on the main thread (the observers' start,
 * tick and finish), except flow_end, which liburcu's call_rcu thread
 * calls and which only hands the row to ipfix_flow_end (thread-safe), and
 * collect, which the IPFIX scanner calls on its own thread (registered
 * with liburcu) and which only copies the table's rows.
 */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "ipfix.h"
#include "metrics.h"
#include "opts.h"
#include "report.h"

#define NS 1000000000ull
#define PUBLISH_NS (NS / 2)	     /* /metrics: twice a second */
#define TOP_NS (2 * NS)		     /* --metrics-top: a copy of the table */
#define IPFIX_EXIT_WAIT_NS (10 * NS) /* a stalled collector at exit */

struct export
{
	struct export_conf c;
	struct engine *e;
	struct metrics *metrics;
	uint64_t last_publish_ns; /* monotonic */
	uint64_t last_top_ns;	  /* monotonic */
	struct snapshot top;	  /* --metrics-top: a copy of the rows */
	size_t ntop;
	int file_failed; /* said once */
	struct ipfix *ipfix;
	struct report_ipfix ipfix_fin; /* its figures at the end */
	int ipfix_done;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

int export_check(const struct export_conf *c, char *err, size_t errlen)
{
	struct sockaddr_in6 sa;
	unsigned int salen;

	if (c->metrics_addr &&
	    metrics_parse_addr(c->metrics_addr, (struct sockaddr *)&sa, &salen,
			       err, errlen))
		return -EINVAL;
	if (c->ipfix) {
		char h[256], p[16];
		int tcp;

		if (ipfix_parse_spec(c->ipfix, h, sizeof(h), p, sizeof(p), &tcp,
				     err, errlen))
			return -EINVAL;
	}
	if (c->metrics_top && !c->metrics_addr && !c->metrics_file) {
		snprintf(err, errlen,
			 "--metrics-top: needs --metrics or --metrics-file");
		return -EINVAL;
	}
	return 0;
}

/* ---- Prometheus ------------------------------------------------------ */

/* Largest first, ties by flow id: a scrape's ranks do not jitter. */
static int top_cmp(const void *x, const void *y)
{
	const struct flowtab_row *a = x, *b = y;
	uint64_t ab = a->bytes[0] + a->bytes[1], bb = b->bytes[0] + b->bytes[1];

	if (ab != bb)
		return ab > bb ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* The --metrics-top rows: every live flow copied, the N largest kept. */
static void collect_top(struct export *x, struct engine *e)
{
	if (engine_snapshot(e, &x->top))
		return; /* out of memory: the previous top stays */
	qsort(x->top.rows, x->top.nrows, sizeof(*x->top.rows), top_cmp);
	x->ntop = x->top.nrows < (size_t)x->c.metrics_top
			  ? x->top.nrows
			  : (size_t)x->c.metrics_top;
}

/*
 * Hand the metrics the run's counters: at most every PUBLISH_NS from the
 * ticks, and @final once the workers stopped (exact figures for a
 * textfile read after the run). The top-N flows cost a copy of the
 * table: every TOP_NS. 0, or -errno with "path: reason" in @err when the
 * textfile failed (the served text is updated anyway).
 */
static int publish(struct export *x, struct engine *e, int final, char *err,
		   size_t errlen)
{
	struct engine_iface_stats es[OPTS_MAX_IFACES];
	struct metrics_iface ifs[OPTS_MAX_IFACES];
	struct metrics_input in;
	struct metrics_ipfix mx;
	struct snapshot tot;
	uint64_t mono = mono_ns();
	int nif, rc;

	if (!x->metrics)
		return 0;
	if (!final && x->last_publish_ns &&
	    mono - x->last_publish_ns < PUBLISH_NS)
		return 0;
	x->last_publish_ns = mono;
	memset(&in, 0, sizeof(in));
	memset(ifs, 0, sizeof(ifs));
	nif = engine_iface_stats(e, es, OPTS_MAX_IFACES);
	for (int f = 0; f < nif; f++) {
		ifs[f].name = es[f].name;
		ifs[f].cap.kernel_drops = es[f].cap.kernel_drops;
		ifs[f].cap.freezes = es[f].cap.freezes;
		ifs[f].cap.if_drops = es[f].cap.if_drops;
		memcpy(ifs[f].pkts, es[f].pkts, sizeof(ifs[f].pkts));
		memcpy(ifs[f].bytes, es[f].bytes, sizeof(ifs[f].bytes));
		in.malformed += es[f].malformed;
	}
	in.ifaces = ifs;
	in.nifaces = (size_t)nif;
	snapshot_init(&tot);
	engine_snapshot_totals(e, &tot);
	memcpy(in.overflow, tot.overflow, sizeof(in.overflow));
	in.flows_live = tot.nrows;
	in.flows_max = tot.max_flows;
	in.flows_expired = tot.expired_flows;
	in.flows_evicted = tot.evicted_flows;
	in.start_wall_ns = tot.start_ns;
	in.sessions = tot.counters;
	in.nsessions = tot.ncounters;
	if (x->c.metrics_top &&
	    (final || !x->last_top_ns || mono - x->last_top_ns >= TOP_NS)) {
		x->last_top_ns = mono;
		collect_top(x, e);
	}
	in.top = x->top.rows;
	in.ntop = x->ntop;
	if (x->ipfix) {
		struct ipfix_stats st;

		ipfix_get_stats(x->ipfix, &st);
		mx.records = st.records;
		mx.drop_records = st.drop_records;
		mx.drop_pkts = st.drop_pkts;
		mx.drop_bytes = st.drop_octets;
		mx.queue_depth = st.queue_depth;
		mx.send_errors = st.send_errors;
		in.ipfix = &mx;
	}
	rc = metrics_publish(x->metrics, &in, err, errlen);
	snapshot_free(&tot);
	return rc;
}

/* A textfile that fails while the run goes on: said once, until it works
 * again. */
static void publish_said(struct export *x, struct engine *e, int final)
{
	char err[4200];

	if (publish(x, e, final, err, sizeof(err))) {
		if (!x->file_failed)
			x->c.say(err);
		x->file_failed = 1;
	} else {
		x->file_failed = 0;
	}
}

/* The first figures before the workers run: a textfile that cannot be
 * written stops the run here. */
static int metrics_start(void *ctx, struct engine *e, char *err, size_t errlen)
{
	return publish(ctx, e, 0, err, errlen);
}

static void metrics_tick(void *ctx, struct engine *e)
{
	publish_said(ctx, e, 0);
}

/* After the IPFIX export's finish (added before): its final figures. */
static void metrics_finish(void *ctx, struct engine *e,
			   const struct snapshot *live)
{
	(void)live;
	publish_said(ctx, e, 1);
}

static const struct engine_observer metrics_observer = {
	.start = metrics_start,
	.tick = metrics_tick,
	.finish = metrics_finish,
};

/* ---- IPFIX ----------------------------------------------------------- */

/* Link header bytes in front of the IP header, by link type. */
static unsigned int link_header_len(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return 14;
	case DLT_LINUX_SLL:
		return 16;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		return 20;
#endif
	case DLT_NULL:
	case DLT_LOOP:
		return 4;
	default: /* DLT_RAW and friends: the frame is the IP packet */
		return 0;
	}
}

/* The scanner's copy of the live flows (its own thread). */
static ssize_t ipfix_collect(void *arg, struct flowtab_row **rows, size_t *cap)
{
	return engine_collect_rows(arg, rows, cap);
}

static int ipfix_obs_start(void *ctx, struct engine *e, char *err,
			   size_t errlen)
{
	struct export *x = ctx;

	return ipfix_start(x->ipfix, ipfix_collect, e, err, errlen);
}

static void ipfix_obs_flow_end(void *ctx, const struct flowtab_row *r,
			       int evicted)
{
	struct export *x = ctx;

	ipfix_flow_end(x->ipfix, r, evicted);
}

/* Everything still unexported goes out, then the line that says how it
 * went. */
static void ipfix_obs_finish(void *ctx, struct engine *e,
			     const struct snapshot *live)
{
	struct export *x = ctx;
	struct ipfix_stats st;
	char line[600];

	(void)e;
	ipfix_finish(x->ipfix, live, IPFIX_EXIT_WAIT_NS);
	ipfix_get_stats(x->ipfix, &st);
	x->ipfix_fin = (struct report_ipfix){
		.collector = ipfix_target(x->ipfix),
		.records = st.records,
		.pkts = st.pkts,
		.octets = st.octets,
		.drop_records = st.drop_records,
		.drop_pkts = st.drop_pkts,
		.drop_octets = st.drop_octets,
	};
	x->ipfix_done = 1;
	snprintf(line, sizeof(line),
		 "ipfix: %" PRIu64 " records (%" PRIu64 " packets, %" PRIu64
		 " octets) sent to %s; dropped %" PRIu64 " records (%" PRIu64
		 " packets, %" PRIu64 " octets)",
		 st.records, st.pkts, st.octets, ipfix_target(x->ipfix),
		 st.drop_records, st.drop_pkts, st.drop_octets);
	x->c.say(line);
}

static const struct engine_observer ipfix_observer = {
	.start = ipfix_obs_start,
	.flow_end = ipfix_obs_flow_end,
	.finish = ipfix_obs_finish,
};

/* The exporter reads the table (a scan each second, the flows that leave
 * it), never the capture path. */
static int ipfix_open(struct export *x, struct engine *e, char *err,
		      size_t errlen)
{
	struct ipfix_conf c;
	int dlt = engine_datalink(e);

	memset(&c, 0, sizeof(c));
	c.spec = x->c.ipfix;
	c.active_ns = x->c.ipfix_active_ns;
	c.idle_ns = x->c.ipfix_idle_ns;
	c.link_hdr = dlt >= 0 ? link_header_len(dlt) : 0;
	/* tpacket3 strips the outer 802.1Q tag (tp_vlan_tci) unless -v puts
	 * it back; libpcap and files keep it in the frame */
	c.vlan_in_frame = engine_vlan_in_frame(e);
	if (x->c.iface && strcmp(x->c.iface, "any"))
		c.ingress_ifindex = if_nametoindex(x->c.iface);
	c.offline = x->c.offline;
	c.queue_len = x->c.ipfix_queue;
	x->ipfix = ipfix_new(&c, err, errlen);
	return x->ipfix ? 0 : -EINVAL;
}

/* ---- life cycle ------------------------------------------------------ */

struct export *export_new(const struct export_conf *c, struct engine *e,
			  char *err, size_t errlen)
{
	struct export *x;

	err[0] = '\0';
	if (!c->metrics_addr && !c->metrics_file && !c->ipfix)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->c = *c;
	x->e = e;
	snapshot_init(&x->top);
	/* IPFIX first: at the end its finish comes before the metrics'
	 * last figures, which show how it went */
	if (c->ipfix && (ipfix_open(x, e, err, errlen) ||
			 engine_observe(e, &ipfix_observer, x)))
		goto fail;
	if (c->metrics_addr || c->metrics_file) {
		/* libmicrohttpd starts a thread */
		x->metrics = metrics_new(c->metrics_addr, c->metrics_file, err,
					 errlen);
		if (!x->metrics || engine_observe(e, &metrics_observer, x))
			goto fail;
	}
	return x;
fail:
	if (!err[0])
		snprintf(err, errlen, "exporters: too many observers");
	export_free(x);
	return NULL;
}

const struct report_ipfix *export_ipfix_report(const struct export *x)
{
	return x && x->ipfix_done ? &x->ipfix_fin : NULL;
}

void export_free(struct export *x)
{
	if (!x)
		return;
	metrics_free(x->metrics);
	ipfix_free(x->ipfix);
	snapshot_free(&x->top);
	free(x);
}
