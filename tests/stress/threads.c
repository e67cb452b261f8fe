/*
 * threads.c - the capture workers, a UI-like reader and expiry together
 * under load, for the sanitizer builds (make tsan / make asan): N writer
 * threads feed synthetic frames through the real per-packet path
 * (worker_packet: decode -> flow key -> flowtab), one reader copies rows
 * the way the UI does, and the same reader expires idle flows with a tiny
 * idle time; the table is presized as a live capture's, so its grower
 * makes chunks meanwhile. At the end the invariant must hold exactly, per
 * kind:
 *   packets fed = live flows + expired + overflow.
 *
 *   threads [WRITERS] [PACKETS_PER_WRITER] [MAX_FLOWS]
 *   threads --canary   (a deliberate data race: TSan must report it)
 *
 * Exit 0 when the invariant holds, 1 otherwise.
 */
#include <pcap/dlt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "../../src/worker.h"
#include "../../src/flowtab.h"

static int canary_value;

static void *canary_thread(void *arg)
{
	(void)arg;
	canary_value++; /* racy on purpose */
	return NULL;
}

static int canary(void)
{
	pthread_t t1, t2;

	pthread_create(&t1, NULL, canary_thread, NULL);
	pthread_create(&t2, NULL, canary_thread, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	printf("canary: %d\n", canary_value);
	return 0;
}

struct writer {
	struct worker w;
	long npkts;
	int seed;
};

static int stop_reader;

/* 60-byte Ethernet/IPv4/UDP (or IPv6/TCP) frame for flow number f. */
static unsigned make_frame(uint8_t *p, unsigned f, int v6)
{
	memset(p, 0, 128);
	p[12] = v6 ? 0x86 : 0x08;
	p[13] = v6 ? 0xdd : 0x00;
	if (!v6) {
		p[14] = 0x45;
		p[17] = 46;
		p[22] = 64;
		p[23] = 17;
		p[26] = 10;
		p[27] = (uint8_t)(f >> 16);
		p[28] = (uint8_t)(f >> 8);
		p[29] = (uint8_t)f;
		p[30] = 10;
		p[33] = 1;
		p[34] = (uint8_t)(f >> 8);
		p[35] = (uint8_t)f;
		p[37] = 53;
		p[39] = 26;
		return 60;
	}
	p[14] = 0x60;
	p[19] = 20;
	p[20] = 6;
	p[21] = 64;
	p[22] = 0x20;
	p[23] = 0x01;
	p[35] = (uint8_t)(f >> 16);
	p[36] = (uint8_t)(f >> 8);
	p[37] = (uint8_t)f;
	p[38] = 0x20;
	p[39] = 0x01;
	p[53] = 1;
	p[54] = (uint8_t)(f >> 8);
	p[55] = (uint8_t)f;
	p[57] = 80;
	p[66] = 0x50;
	return 74;
}

static void *writer_run(void *arg)
{
	struct writer *wr = arg;
	uint8_t frame[128];
	uint32_t r = (uint32_t)wr->seed;

	rcu_register_thread();
	for (long i = 0; i < wr->npkts; i++) {
		struct cap_pkt pkt;
		unsigned f;

		r = r * 1103515245u + 12345u;
		f = (r >> 8) % 20000;
		pkt.caplen = make_frame(frame, f, f % 3 == 0);
		pkt.data = frame;
		pkt.wirelen = pkt.caplen;
		pkt.ts_ns = 1000000000ull + (uint64_t)i * 1000;
		pkt.dlt = DLT_EN10MB;
		pkt.vlan_tci = -1;
		pkt.ifindex = 1;
		if (i % 64 == 0)
			rcu_read_lock();
		worker_packet(&wr->w, &pkt);
		if (i % 64 == 63 || i == wr->npkts - 1) {
			worker_flush(&wr->w);
			rcu_read_unlock();
		}
	}
	rcu_unregister_thread();
	return NULL;
}

static void *reader_run(void *arg)
{
	struct flowtab *ft = arg;
	struct flowtab_row *rows = NULL;
	size_t cap = 0;
	long rounds = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&stop_reader, __ATOMIC_ACQUIRE)) {
		ssize_t n = flowtab_collect(ft, &rows, &cap);
		uint64_t newest = 0;

		for (ssize_t i = 0; i < n; i++)
			if (rows[i].last_ns > newest)
				newest = rows[i].last_ns;
		/* expire everything idle for more than 2 ms of packet time */
		if (newest > 2000000)
			flowtab_expire(ft, newest, 2000000);
		rounds++;
	}
	free(rows);
	printf("reader: %ld collect/expire rounds\n", rounds);
	rcu_unregister_thread();
	return NULL;
}

int main(int argc, char **argv)
{
	int nw = argc > 1 ? atoi(argv[1]) : 2;
	long np = argc > 2 ? atol(argv[2]) : 200000;
	size_t maxf = argc > 3 ? (size_t)atol(argv[3]) : 5000;
	struct flowtab_counts expired[KIND_COUNT], overflow[KIND_COUNT];
	struct flowtab_row *rows = NULL;
	size_t cap = 0;
	struct writer *wr;
	pthread_t *tid, rd;
	struct flowtab *ft;
	char err[256];
	ssize_t n;
	int bad = 0;

	if (argc > 1 && strcmp(argv[1], "--canary") == 0)
		return canary();
	if (nw < 1 || nw > 64 || np < 1)
		return 2;
	rcu_register_thread();
	ft = flowtab_new(maxf, err, sizeof(err));
	if (!ft) {
		fprintf(stderr, "threads: %s\n", err);
		return 1;
	}
	flowtab_set_writers(ft, (unsigned int)nw); /* 1: the unlocked path */
	flowtab_presize(ft); /* as a live capture: the reserve, the grower */
	wr = calloc((size_t)nw, sizeof(*wr));
	tid = calloc((size_t)nw, sizeof(*tid));
	pthread_create(&rd, NULL, reader_run, ft);
	for (int i = 0; i < nw; i++) {
		wr[i].w.ft = ft;
		wr[i].npkts = np;
		wr[i].seed = i + 1;
		pthread_create(&tid[i], NULL, writer_run, &wr[i]);
	}
	for (int i = 0; i < nw; i++)
		pthread_join(tid[i], NULL);
	__atomic_store_n(&stop_reader, 1, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);
	flowtab_barrier(ft);
	n = flowtab_collect(ft, &rows, &cap);
	flowtab_totals(ft, expired, overflow);
	for (int k = 0; k < KIND_COUNT; k++) {
		struct worker_stats sum;
		uint64_t lp = 0, lb = 0;

		memset(&sum, 0, sizeof(sum));
		for (int i = 0; i < nw; i++)
			worker_stats_add(&wr[i].w, &sum);
		for (ssize_t i = 0; i < n; i++)
			if (rows[i].key.kind == k) {
				lp += rows[i].pkts[0] + rows[i].pkts[1];
				lb += rows[i].bytes[0] + rows[i].bytes[1];
			}
		if (sum.kind_pkts[k] !=
			    lp + expired[k].pkts + overflow[k].pkts ||
		    sum.kind_bytes[k] !=
			    lb + expired[k].bytes + overflow[k].bytes) {
			fprintf(stderr,
				"kind %d: fed %llu pkts, live %llu + expired "
				"%llu + overflow %llu\n",
				k, (unsigned long long)sum.kind_pkts[k],
				(unsigned long long)lp,
				(unsigned long long)expired[k].pkts,
				(unsigned long long)overflow[k].pkts);
			bad = 1;
		}
		if (sum.kind_pkts[k])
			printf("kind %d: fed %llu = live %llu + expired %llu + "
			       "overflow %llu\n",
			       k, (unsigned long long)sum.kind_pkts[k],
			       (unsigned long long)lp,
			       (unsigned long long)expired[k].pkts,
			       (unsigned long long)overflow[k].pkts);
	}
	printf("%zd live flows (cap %zu, %zu buckets), %llu expired, %llu "
	       "chunks made ahead; invariant %s\n",
	       n, maxf, flowtab_buckets(ft),
	       (unsigned long long)flowtab_expired_flows(ft),
	       (unsigned long long)flowtab_chunks_grown(ft),
	       bad ? "BROKEN" : "holds");
	free(rows);
	for (int i = 0; i < nw; i++)
		worker_release(&wr[i].w);
	flowtab_free(ft);
	free(wr);
	free(tid);
	rcu_unregister_thread();
	return bad;
}
