/*
 * test_engine.c - the engine's observers (engine_observe): what the
 * exporters plug into. A run over a small pcap file written here: each
 * observer's start comes once before the capture, tick at each
 * engine_tick, flow_end once for each flow that leaves the table with its
 * final counts, finish once with the flows still live, in the order the
 * observers were added; every packet is in exactly one flow_end row or
 * one live row.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu.h>

#include "engine.h"
#include "flowtab.h"
#include "snapshot.h"

/* One UDP frame 10.0.0.@src:1000 -> 10.0.0.9:53 at @sec.@usec. */
static void put_frame(pcap_dumper_t *d, int src, long sec, long usec)
{
	uint8_t f[60];
	struct pcap_pkthdr h;

	memset(f, 0, sizeof(f));
	f[12] = 0x08; /* IPv4 */
	f[14] = 0x45;
	f[16] = 0;
	f[17] = 46; /* total length */
	f[22] = 64; /* TTL */
	f[23] = 17; /* UDP */
	f[26] = 10;
	f[29] = (uint8_t)src;
	f[30] = 10;
	f[33] = 9;
	f[34] = 1000 >> 8;
	f[35] = 1000 & 0xff;
	f[37] = 53;
	f[39] = 26; /* UDP length */
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = sec;
	h.ts.tv_usec = usec;
	h.caplen = h.len = sizeof(f);
	pcap_dump((u_char *)d, &h, f);
}

/* Flow 1: 3 frames at 1.0-1.2 s; flow 2: 2 frames at 5.0-5.1 s; flow 3:
 * 1 frame at 10 s. */
static void write_pcap(const char *path)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(p, path);

	cr_assert_not_null(d);
	put_frame(d, 1, 1000, 0);
	put_frame(d, 1, 1000, 100000);
	put_frame(d, 1, 1000, 200000);
	put_frame(d, 2, 1004, 0);
	put_frame(d, 2, 1004, 100000);
	put_frame(d, 3, 1009, 0);
	pcap_dump_close(d);
	pcap_close(p);
}

struct obs {
	int id;
	int starts, ticks, finishes;
	int started_before_capture; /* no packet counted at start */
	uint64_t ended_pkts;	    /* atomic: call_rcu thread */
	int ended_flows;	    /* atomic */
	uint64_t live_pkts;
	size_t live_flows;
};

static int finish_order[4], nfinish;

static int ob_start(void *ctx, struct engine *e, char *err, size_t errlen)
{
	struct obs *o = ctx;
	struct snapshot s;

	(void)err;
	(void)errlen;
	snapshot_init(&s);
	cr_assert_eq(engine_snapshot_totals(e, &s), 0);
	o->started_before_capture = s.pkts == 0;
	snapshot_free(&s);
	o->starts++;
	return 0;
}

static void ob_tick(void *ctx, struct engine *e)
{
	(void)e;
	((struct obs *)ctx)->ticks++;
}

static void ob_flow_end(void *ctx, const struct flowtab_row *r, int evicted)
{
	struct obs *o = ctx;

	cr_assert_eq(evicted, 0);
	__atomic_add_fetch(&o->ended_pkts, r->pkts[0] + r->pkts[1],
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&o->ended_flows, 1, __ATOMIC_RELAXED);
}

static void ob_finish(void *ctx, struct engine *e, const struct snapshot *live)
{
	struct obs *o = ctx;
	struct snapshot_iter it;
	const struct flowtab_row *r;

	(void)e;
	memset(&it, 0, sizeof(it));
	while ((r = snapshot_row_next(live, &it))) {
		o->live_pkts += r->pkts[0] + r->pkts[1];
		o->live_flows++;
	}
	o->finishes++;
	finish_order[nfinish++] = o->id;
}

static const struct engine_observer full = {
	.start = ob_start,
	.tick = ob_tick,
	.flow_end = ob_flow_end,
	.finish = ob_finish,
};

static const struct engine_observer finish_only = {
	.finish = ob_finish,
};

Test(engine, observers_see_every_flow_once)
{
	char path[] = "/tmp/test_engine.XXXXXX", err[256];
	struct engine_conf c;
	struct engine *e;
	struct obs a = { .id = 1 }, b = { .id = 2 };
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_pcap(path);
	rcu_register_thread();
	memset(&c, 0, sizeof(c));
	c.read_file = path;
	c.keep_ns = 2000000000ull; /* flows 1 and 2 idle by 10 s */
	c.snaplen = 65535;
	cr_assert_eq(engine_open(&e, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(engine_observe(e, &full, &a), 0);
	cr_assert_eq(engine_observe(e, &finish_only, &b), 0);
	cr_assert_eq(engine_start(e, pthread_self(), 0, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(engine_observe(e, &full, &a), -EBUSY);
	cr_assert_eq(a.starts, 1);
	cr_assert(a.started_before_capture);
	for (int i = 0; i < 500 && !engine_capture_done(e); i++)
		usleep(10000);
	cr_assert(engine_capture_done(e));
	/* expiry runs at most once a second */
	usleep(1100000);
	engine_tick(e);
	engine_tick(e);
	cr_assert_eq(a.ticks, 2);
	engine_finish(e);
	engine_finish(e); /* idempotent */
	cr_assert_eq(a.finishes, 1);
	cr_assert_eq(b.finishes, 1);
	cr_assert_eq(nfinish, 2);
	cr_assert_eq(finish_order[0], 1, "in the order added");
	cr_assert_eq(finish_order[1], 2);
	/* flows 1 and 2 left the table (all their packets in flow_end
	 * rows); flow 3 is live at the end */
	cr_assert_eq(__atomic_load_n(&a.ended_flows, __ATOMIC_RELAXED), 2);
	cr_assert_eq(__atomic_load_n(&a.ended_pkts, __ATOMIC_RELAXED), 5);
	cr_assert_eq(a.live_flows, 1);
	cr_assert_eq(a.live_pkts, 1);
	cr_assert_eq(b.live_pkts, 1);
	engine_free(e);
	rcu_unregister_thread();
	unlink(path);
}

/*
 * A file's rates are on packet time: a snapshot taken while the file is
 * being read must pair its counts with the packet clock read with them.
 * 400,000 frames 1 ms apart: every snapshot during the read holds exactly
 * the frames up to its clock (one frame in flight at most).
 */
Test(engine, file_counts_go_with_their_packet_clock)
{
	char path[] = "/tmp/test_engine.XXXXXX", err[256];
	const uint64_t t0 = 1000ull * 1000000000ull, n = 400000;
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;
	struct engine_conf c;
	struct engine *e;
	struct snapshot s;
	int fd = mkstemp(path), during = 0;

	cr_assert_geq(fd, 0);
	close(fd);
	d = pcap_dump_open(p, path);
	cr_assert_not_null(d);
	for (uint64_t i = 0; i < n; i++)
		put_frame(d, 1 + (int)(i % 200), 1000 + (long)(i / 1000),
			  (long)(i % 1000) * 1000);
	pcap_dump_close(d);
	pcap_close(p);

	rcu_register_thread();
	memset(&c, 0, sizeof(c));
	c.read_file = path;
	c.keep_ns = 3600ull * 1000000000ull;
	c.snaplen = 65535;
	cr_assert_eq(engine_open(&e, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(engine_start(e, pthread_self(), 0, err, sizeof(err)), 0,
		     "%s", err);
	snapshot_init(&s);
	for (int i = 0; i < 2000000 && !engine_capture_done(e); i++) {
		uint64_t want;

		cr_assert_eq(engine_snapshot_totals(e, &s), 0);
		if (!s.last_ts_ns || !s.pkts)
			continue;
		want = (s.last_ts_ns - t0) / 1000000 + 1;
		cr_assert(s.pkts >= want && s.pkts <= want + 1,
			  "snapshot %d: %llu frames counted with the clock at "
			  "frame %llu",
			  i, (unsigned long long)s.pkts,
			  (unsigned long long)want);
		during += s.pkts < n;
	}
	cr_assert(engine_capture_done(e));
	cr_assert_eq(engine_snapshot_totals(e, &s), 0);
	cr_assert_eq(s.pkts, n);
	cr_log_info("%d snapshots during the read\n", during);
	snapshot_free(&s);
	engine_finish(e);
	engine_free(e);
	rcu_unregister_thread();
	unlink(path);
}
