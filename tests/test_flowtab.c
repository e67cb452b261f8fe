/*
 * test_flowtab.c - the flow table: accounting, collection, expiry, the cap,
 * allocation failure, and exact totals under concurrent writers, readers
 * and expiry. Every thread that touches a table registers with liburcu.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu.h>

#include <criterion/criterion.h>

#include "flowtab.h"

/* Sanitizer builds: no RSS budget (other allocator); TSan gets a driver. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

static void setup(void)
{
	rcu_register_thread();
}

static void teardown(void)
{
	rcu_unregister_thread();
}

TestSuite(flowtab, .init = setup, .fini = teardown);

/* Flow @i of a few kinds, built through flowkey_from_pkt as the worker
 * does. Returns the direction of a packet sent by the "client". */
static const uint8_t test_kinds[] = { KIND_TCP4, KIND_UDP4, KIND_ICMP4,
				      KIND_TCP6, KIND_UDP6, KIND_OTHER };
#define NTEST_KINDS (sizeof(test_kinds) / sizeof(test_kinds[0]))

static int make_key(uint32_t i, int reverse, struct flow_key *key)
{
	struct dec_pkt p;
	int kind = test_kinds[i % NTEST_KINDS];
	uint16_t cport = 1024 + (i % 50000), sport = 80;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.flags = DEC_F_PORTS;
	p.ethertype = 0x9000 + (i & 0xfff);
	p.src[0] = 10;
	p.src[1] = (uint8_t)(i >> 16);
	p.src[2] = (uint8_t)(i >> 8);
	p.src[3] = (uint8_t)i;
	p.dst[0] = 192;
	p.dst[3] = 1;
	if (flowkey_family(kind) == 6) {
		p.src[15] = 9;
		p.dst[15] = 1;
	}
	p.sport = kind == KIND_ICMP4 ? 8 : cport;
	p.dport = kind == KIND_ICMP4 ? 0 : sport;
	if (reverse) {
		uint8_t t[16];

		memcpy(t, p.src, 16);
		memcpy(p.src, p.dst, 16);
		memcpy(p.dst, t, 16);
		/* the echo reply: type 0, code 0 */
		p.sport = kind == KIND_ICMP4 ? 0 : sport;
		p.dport = kind == KIND_ICMP4 ? 0 : cport;
	}
	return flowkey_from_pkt(&p, key);
}

static struct flowtab *new_table(size_t max)
{
	char err[128] = "";
	struct flowtab *ft = flowtab_new(max, err, sizeof(err));

	cr_assert_not_null(ft, "flowtab_new: %s", err);
	return ft;
}

static void account(struct flowtab *ft, const struct flow_key *key, int dir,
		    uint32_t len, uint64_t ts)
{
	rcu_read_lock();
	flowtab_account(ft, key, dir, len, ts);
	rcu_read_unlock();
}

static ssize_t collect(struct flowtab *ft, struct flowtab_row **rows,
		       size_t *cap)
{
	ssize_t n = flowtab_collect(ft, rows, cap);

	cr_assert_geq(n, 0);
	cr_assert_eq((size_t)n, flowtab_count(ft));
	return n;
}

static const struct flowtab_row *find_row(const struct flowtab_row *rows,
					  ssize_t n, const struct flow_key *k)
{
	for (ssize_t i = 0; i < n; i++) {
		if (flowkey_equal(&rows[i].key, k))
			return &rows[i];
	}
	return NULL;
}

/*
 * Per-kind live + expired + overflow, after flowtab_barrier; the number of
 * live rows in *@nrows. Returns -1 if collect fails. No Criterion calls:
 * the ThreadSanitizer driver below uses it too.
 */
static int table_sums(struct flowtab *ft, struct flowtab_counts sum[KIND_COUNT],
		      ssize_t *nrows)
{
	struct flowtab_counts exp[KIND_COUNT], ovf[KIND_COUNT];
	struct flowtab_row *rows = NULL;
	size_t cap = 0;
	ssize_t n;

	flowtab_barrier(ft);
	n = flowtab_collect(ft, &rows, &cap);
	if (n < 0)
		return -1;
	memset(sum, 0, KIND_COUNT * sizeof(sum[0]));
	for (ssize_t i = 0; i < n; i++) {
		unsigned int k = rows[i].key.kind;

		if (k >= KIND_COUNT)
			k = KIND_OTHER;
		sum[k].pkts += rows[i].pkts[0] + rows[i].pkts[1];
		sum[k].bytes += rows[i].bytes[0] + rows[i].bytes[1];
	}
	free(rows);
	flowtab_totals(ft, exp, ovf);
	for (int k = 0; k < KIND_COUNT; k++) {
		sum[k].pkts += exp[k].pkts + ovf[k].pkts;
		sum[k].bytes += exp[k].bytes + ovf[k].bytes;
	}
	*nrows = n;
	return 0;
}

static void assert_sums(struct flowtab *ft,
			const struct flowtab_counts want[KIND_COUNT])
{
	struct flowtab_counts got[KIND_COUNT];
	ssize_t n;

	cr_assert_eq(table_sums(ft, got, &n), 0);
	cr_assert_eq((size_t)n, flowtab_count(ft));
	for (int k = 0; k < KIND_COUNT; k++) {
		cr_assert_eq(got[k].pkts, want[k].pkts,
			     "kind %d: %lu packets accounted, %lu fed", k,
			     (unsigned long)got[k].pkts,
			     (unsigned long)want[k].pkts);
		cr_assert_eq(got[k].bytes, want[k].bytes,
			     "kind %d: %lu bytes accounted, %lu fed", k,
			     (unsigned long)got[k].bytes,
			     (unsigned long)want[k].bytes);
	}
}

Test(flowtab, new_and_free)
{
	struct flowtab *ft = new_table(0);

	cr_assert_eq(flowtab_max(ft), FLOWTAB_DEFAULT_MAX);
	cr_assert_eq(flowtab_count(ft), 0);
	cr_assert_eq(flowtab_expired_flows(ft), 0);
	flowtab_free(ft);
	flowtab_free(NULL);

	ft = new_table(10);
	cr_assert_eq(flowtab_max(ft), 10);
	flowtab_free(ft);
}

Test(flowtab, insert_then_collect)
{
	struct flowtab *ft = new_table(0);
	struct flowtab_row *rows = NULL;
	struct flow_key k[3];
	size_t cap = 0;
	ssize_t n;

	for (int i = 0; i < 3; i++)
		make_key(i, 0, &k[i]);
	account(ft, &k[0], FLOW_DIR_AB, 100, 1000);
	account(ft, &k[1], FLOW_DIR_AB, 200, 2000);
	account(ft, &k[0], FLOW_DIR_AB, 50, 3000);
	account(ft, &k[2], FLOW_DIR_BA, 60, 4000);
	cr_assert_eq(flowtab_count(ft), 3);

	n = collect(ft, &rows, &cap);
	cr_assert_eq(n, 3);
	cr_assert_geq(cap, 3);

	const struct flowtab_row *r0 = find_row(rows, n, &k[0]);
	const struct flowtab_row *r1 = find_row(rows, n, &k[1]);
	const struct flowtab_row *r2 = find_row(rows, n, &k[2]);

	cr_assert_not_null(r0);
	cr_assert_not_null(r1);
	cr_assert_not_null(r2);
	cr_assert_eq(r0->pkts[FLOW_DIR_AB], 2);
	cr_assert_eq(r0->bytes[FLOW_DIR_AB], 150);
	cr_assert_eq(r0->pkts[FLOW_DIR_BA], 0);
	cr_assert_eq(r0->first_ns, 1000);
	cr_assert_eq(r0->last_ns, 3000);
	cr_assert_eq(r1->bytes[FLOW_DIR_AB], 200);
	cr_assert_eq(r2->pkts[FLOW_DIR_BA], 1);
	cr_assert_eq(r2->bytes[FLOW_DIR_BA], 60);
	/* Ids are unique and follow creation order. */
	cr_assert_lt(r0->id, r1->id);
	cr_assert_lt(r1->id, r2->id);

	free(rows);
	flowtab_free(ft);
}

Test(flowtab, both_directions_counted_separately)
{
	struct flowtab *ft = new_table(0);
	struct flowtab_row *rows = NULL;
	struct flow_key out, back;
	size_t cap = 0;
	int dout, dback;
	ssize_t n;

	dout = make_key(7, 0, &out);
	dback = make_key(7, 1, &back);
	cr_assert(flowkey_equal(&out, &back));
	cr_assert_neq(dout, dback);

	for (int i = 0; i < 5; i++)
		account(ft, &out, dout, 1000, 10 + i);
	for (int i = 0; i < 3; i++)
		account(ft, &back, dback, 64, 20 + i);

	n = collect(ft, &rows, &cap);
	cr_assert_eq(n, 1);
	cr_assert_eq(rows[0].pkts[dout], 5);
	cr_assert_eq(rows[0].bytes[dout], 5000);
	cr_assert_eq(rows[0].pkts[dback], 3);
	cr_assert_eq(rows[0].bytes[dback], 192);
	cr_assert_eq(rows[0].first_ns, 10);
	cr_assert_eq(rows[0].last_ns, 22);
	free(rows);
	flowtab_free(ft);
}

Test(flowtab, last_seen_never_moves_backwards)
{
	struct flowtab *ft = new_table(0);
	struct flowtab_row *rows = NULL;
	struct flow_key k;
	size_t cap = 0;

	make_key(1, 0, &k);
	account(ft, &k, 0, 1, 5000);
	account(ft, &k, 0, 1, 9000);
	account(ft, &k, 1, 1, 7000); /* late packet from another worker */
	account(ft, &k, 1, 1, 3000); /* earlier than the first one */
	cr_assert_eq(collect(ft, &rows, &cap), 1);
	cr_assert_eq(rows[0].last_ns, 9000);
	cr_assert_eq(rows[0].first_ns, 3000);
	cr_assert_eq(rows[0].pkts[0] + rows[0].pkts[1], 4);
	free(rows);
	flowtab_free(ft);
}

Test(flowtab, expiry_folds_counts_into_expired_totals)
{
	struct flowtab *ft = new_table(0);
	struct flowtab_counts want[KIND_COUNT] = { 0 };
	struct flowtab_counts exp[KIND_COUNT], ovf[KIND_COUNT];
	struct flowtab_row *rows = NULL;
	struct flow_key k[12];
	size_t cap = 0;

	for (uint32_t i = 0; i < 12; i++) {
		int dir = make_key(i, i & 1, &k[i]);

		/* Flows 0..5 last seen at 1000 + i, 6..11 at 100000 + i. */
		for (uint32_t j = 0; j <= i; j++)
			account(ft, &k[i], dir ^ (j & 1), 100 + j,
				(i < 6 ? 1000 : 100000) + i);
		want[k[i].kind].pkts += i + 1;
		want[k[i].kind].bytes += (i + 1) * 100 + i * (i + 1) / 2;
	}
	cr_assert_eq(flowtab_count(ft), 12);

	/* Strictly older than now - idle: last 1005 + 500 == 1505 stays. */
	cr_assert_eq(flowtab_expire(ft, 1505, 500), 5);
	cr_assert_eq(flowtab_count(ft), 7);
	cr_assert_eq(flowtab_expire(ft, 1506, 500), 1);
	cr_assert_eq(flowtab_expire(ft, 1506, 500), 0);
	/* now before last: nothing (no unsigned wrap). */
	cr_assert_eq(flowtab_expire(ft, 50, 0), 0);
	cr_assert_eq(flowtab_count(ft), 6);

	flowtab_barrier(ft);
	cr_assert_eq(flowtab_expired_flows(ft), 6);
	flowtab_totals(ft, exp, ovf);
	for (int i = 0; i < KIND_COUNT; i++)
		cr_assert_eq(ovf[i].pkts + ovf[i].bytes, 0);
	/* Flows 0..5 are one of each test kind. */
	for (uint32_t i = 0; i < 6; i++) {
		int kind = k[i].kind;

		cr_assert_eq(exp[kind].pkts, i + 1, "kind %d", kind);
		cr_assert_eq(exp[kind].bytes, (i + 1) * 100 + i * (i + 1) / 2);
	}

	cr_assert_eq(collect(ft, &rows, &cap), 6);
	for (int i = 0; i < 6; i++)
		cr_assert_null(find_row(rows, 6, &k[i]));
	assert_sums(ft, want);

	/* Everything goes; a flow seen again is a new flow. */
	cr_assert_eq(flowtab_expire(ft, UINT64_MAX, 0), 6);
	account(ft, &k[0], 0, 1, 2000000);
	want[k[0].kind].pkts++;
	want[k[0].kind].bytes++;
	cr_assert_eq(collect(ft, &rows, &cap), 1);
	cr_assert_eq(rows[0].pkts[0] + rows[0].pkts[1], 1);
	assert_sums(ft, want);
	cr_assert_eq(flowtab_expired_flows(ft), 12);

	free(rows);
	flowtab_free(ft);
}

/* A stopped table's flows, read in place, are exactly what a copy holds:
 * the same rows once each, none of the expired slots between them. */
Test(flowtab, stopped_table_rows_read_in_place)
{
	struct flowtab *ft = new_table(0);
	struct flowtab_row *rows = NULL;
	struct flowtab_iter it = { 0, 0 };
	const struct flowtab_row *r;
	struct flow_key k;
	size_t cap = 0, seen = 0;
	ssize_t n;
	char *hit;

	/* enough flows for several arena chunks; every third one expires */
	for (uint32_t i = 0; i < 40000; i++) {
		int dir = make_key(i, i & 1, &k);

		account(ft, &k, dir, 60 + i % 7, i % 3 ? 5000 + i : 100);
		if (i % 5 == 0)
			account(ft, &k, !dir, 70, 6000 + i);
	}
	cr_assert_gt(flowtab_expire(ft, 1000, 500), 10000);
	flowtab_barrier(ft);
	n = collect(ft, &rows, &cap);
	hit = calloc((size_t)n, 1);
	while ((r = flowtab_row_next(ft, &it))) {
		const struct flowtab_row *c = find_row(rows, n, &r->key);

		cr_assert_not_null(c, "a row the copy does not have");
		cr_assert_eq(hit[c - rows]++, 0, "a row seen twice");
		cr_assert_eq(memcmp(c, r, sizeof(*r)), 0);
		seen++;
	}
	cr_assert_eq(seen, (size_t)n);
	cr_assert_null(flowtab_row_next(ft, &it), "the end stays the end");
	free(hit);
	free(rows);
	flowtab_free(ft);
}

Test(flowtab, cap_sends_new_flows_to_overflow)
{
	struct flowtab *ft = new_table(10);
	struct flowtab_counts want[KIND_COUNT] = { 0 };
	struct flowtab_counts ovf[KIND_COUNT];
	struct flowtab_row *rows = NULL;
	uint64_t ovf_pkts = 0;
	size_t cap = 0;
	struct flow_key k;

	for (uint32_t i = 0; i < 100; i++) {
		int dir = make_key(i, 0, &k);

		account(ft, &k, dir, 100 + i, 1000 + i);
		account(ft, &k, !dir, 10, 1000 + i);
		want[k.kind].pkts += 2;
		want[k.kind].bytes += 110 + i;
	}
	cr_assert_eq(flowtab_count(ft), 10);
	cr_assert_eq(collect(ft, &rows, &cap), 10);
	/* The first ten flows got in, with both their packets. */
	for (uint32_t i = 0; i < 10; i++) {
		const struct flowtab_row *r;

		make_key(i, 0, &k);
		r = find_row(rows, 10, &k);
		cr_assert_not_null(r, "flow %u", i);
		cr_assert_eq(r->pkts[0] + r->pkts[1], 2);
	}
	flowtab_totals(ft, NULL, ovf);
	for (int i = 0; i < KIND_COUNT; i++)
		ovf_pkts += ovf[i].pkts;
	cr_assert_eq(ovf_pkts, 180);
	assert_sums(ft, want);

	/* Existing flows keep counting at the cap. */
	make_key(3, 0, &k);
	account(ft, &k, 0, 5, 5000);
	want[k.kind].pkts++;
	want[k.kind].bytes += 5;
	assert_sums(ft, want);

	/* Expiry makes room again. */
	cr_assert_eq(flowtab_expire(ft, 4000, 0), 9);
	make_key(50, 0, &k);
	account(ft, &k, 0, 7, 6000);
	want[k.kind].pkts++;
	want[k.kind].bytes += 7;
	cr_assert_eq(flowtab_count(ft), 2);
	assert_sums(ft, want);

	free(rows);
	flowtab_free(ft);
}

Test(flowtab, allocation_failure_counts_as_overflow)
{
	struct flowtab *ft = new_table(0);
	struct flowtab_counts want[KIND_COUNT] = { 0 };
	struct flowtab_counts ovf[KIND_COUNT];
	struct flow_key k;
	uint64_t n = 0;

	flowtab_inject_alloc_failures(ft, 3);
	for (uint32_t i = 0; i < 5; i++) {
		make_key(i, 0, &k);
		account(ft, &k, 0, 1000, 1);
		want[k.kind].pkts++;
		want[k.kind].bytes += 1000;
	}
	/* The first three found no memory; the next two were created. */
	cr_assert_eq(flowtab_count(ft), 2);
	flowtab_totals(ft, NULL, ovf);
	for (int i = 0; i < KIND_COUNT; i++)
		n += ovf[i].pkts;
	cr_assert_eq(n, 3);
	for (uint32_t i = 0; i < 3; i++) {
		make_key(i, 0, &k);
		cr_assert_eq(ovf[k.kind].bytes, 1000);
	}
	assert_sums(ft, want);
	flowtab_free(ft);
}

Test(flowtab, collect_grows_a_small_buffer)
{
	struct flowtab *ft = new_table(0);
	struct flowtab_row *rows = malloc(sizeof(*rows));
	size_t cap = 1;
	struct flow_key k;
	ssize_t n;

	cr_assert_not_null(rows);
	for (uint32_t i = 0; i < 3000; i++) {
		make_key(i, 0, &k);
		account(ft, &k, 0, 1, i);
	}
	n = collect(ft, &rows, &cap);
	cr_assert_eq(n, 3000);
	cr_assert_geq(cap, 3000);
	for (uint32_t i = 0; i < 3000; i += 299) {
		make_key(i, 0, &k);
		cr_assert_not_null(find_row(rows, n, &k), "flow %u", i);
	}
	free(rows);
	flowtab_free(ft);
}

/* ---- buckets ---------------------------------------------------------- */

/* The key of distinct flow @n: make_key's flows but those of KIND_OTHER,
 * which differ only in their 4096 ethertypes. */
static void distinct_key(uint32_t n, struct flow_key *k)
{
	make_key(n / (NTEST_KINDS - 1) * NTEST_KINDS + n % (NTEST_KINDS - 1), 0,
		 k);
}

/* One packet each to flows @first .. @first + @n - 1, 64 to a read-side
 * section, as a worker. */
static void feed_flows(struct flowtab *ft, uint32_t first, uint32_t n)
{
	struct flow_key k;

	for (uint32_t i = first; i < first + n;) {
		rcu_read_lock();
		for (int b = 0; b < 64 && i < first + n; b++, i++) {
			distinct_key(i, &k);
			flowtab_account(ft, &k, 0, 1, i);
		}
		rcu_read_unlock();
	}
}

/* Every flow 0 .. @n - 1 is there once with @pkts packets. */
static void assert_flows(struct flowtab *ft, uint32_t n, uint64_t pkts)
{
	struct flowtab_row *rows = NULL;
	size_t cap = 0;
	ssize_t got = collect(ft, &rows, &cap);
	uint64_t sum = 0;

	cr_assert_eq(got, n, "%zd flows, want %u", got, n);
	cr_assert_eq(flowtab_count(ft), n);
	for (ssize_t i = 0; i < got; i++) {
		cr_assert_eq(rows[i].pkts[0] + rows[i].pkts[1], pkts,
			     "flow %llu", (unsigned long long)rows[i].id);
		sum += rows[i].id;
	}
	/* ids are 1 .. n when no flow was created twice */
	cr_assert_eq(sum, (uint64_t)n * (n + 1) / 2);
	free(rows);
}

/* Buckets: half the cap rounded up to a power of two, at least 1024,
 * fixed for the table's life; 40k flows, then each again: nothing lost
 * or doubled. */
Test(flowtab, buckets_are_half_the_cap_and_fixed)
{
	struct flowtab *ft = new_table(FLOWTAB_DEFAULT_MAX);
	struct flowtab *small = new_table(10);

	cr_assert_eq(flowtab_buckets(small), 1024);
	flowtab_free(small);
	cr_assert_eq(flowtab_buckets(ft), 1UL << 19);
	feed_flows(ft, 0, 40000);
	feed_flows(ft, 0, 40000); /* every flow found again */
	cr_assert_eq(flowtab_buckets(ft), 1UL << 19);
	assert_flows(ft, 40000, 2);
	flowtab_free(ft);
}

/* The batched path (with its bucket and chain prefetches) stays exact:
 * 20k flows, then 100k more each twice through the pipeline, near the
 * cap (chains of about two flows). */
Test(flowtab, batched_path_stays_exact_on_long_chains)
{
	struct flowtab *file = new_table(131072);
	struct flowtab_batch *b = calloc(1, sizeof(*b));
	struct flow_key k;

	feed_flows(file, 0, 20000);
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < 100000;) {
			rcu_read_lock();
			for (int n = 0; n < 64 && i < 100000; n++, i++) {
				distinct_key(20000 + i, &k);
				flowtab_batch_add(file, b, &k, 0, 1, i);
			}
			flowtab_batch_flush(file, b);
			rcu_read_unlock();
		}
	feed_flows(file, 0, 20000); /* the first ones' second packet */
	assert_flows(file, 120000, 2);
	free(b);
	flowtab_free(file);
}

/* A live capture faults its buckets in first (flowtab_presize): their
 * number stays, and the table filled to its cap is exact. */
Test(flowtab, presized_table_exact_up_to_its_cap)
{
	struct flowtab *ft = new_table(100000);

	flowtab_presize(ft);
	cr_assert_eq(flowtab_buckets(ft), 65536);
	feed_flows(ft, 0, 100000);
	cr_assert_eq(flowtab_buckets(ft), 65536, "%zu buckets",
		     flowtab_buckets(ft));
	assert_flows(ft, 100000, 1);
	flowtab_free(ft);
}

/*
 * ---- concurrency ---------------------------------------------------
 *
 * The scenarios below use no Criterion calls from their threads and report
 * a failure as a message, so that the ThreadSanitizer driver at the end of
 * this file can run them too (Criterion's runner cannot start under TSan).
 */

#define FAILF(...)                                  \
	do {                                        \
		snprintf(msg, msglen, __VA_ARGS__); \
		goto out;                           \
	} while (0)
#define CHECK(cond, ...)                    \
	do {                                \
		if (!(cond))                \
			FAILF(__VA_ARGS__); \
	} while (0)

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg)) {
		perror("pthread_create");
		abort();
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

struct race {
	struct flowtab *ft;
	struct flow_key *keys;
	int *dirs;
	uint32_t nflows;
	uint32_t npkts; /* per writer */
	int done;	/* atomic: writers finished */
	size_t deleted; /* atomic: flows the expirer deleted so far */
	pthread_barrier_t start;
};

/*
 * Halfway through, a writer waits (up to 10 s, outside any read-side
 * section) until the expirer has deleted something: on a loaded machine
 * the writers could otherwise finish before the expirer gets a turn, and
 * the race would not be tested.
 */
static void wait_for_expiry(struct race *r)
{
	uint64_t deadline = now_ns() + 10000000000ull;

	while (!__atomic_load_n(&r->deleted, __ATOMIC_RELAXED) &&
	       now_ns() < deadline)
		usleep(100);
}

struct writer {
	struct race *r;
	uint64_t seed;
	struct flowtab_counts fed[KIND_COUNT];
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct race *r = w->r;
	uint64_t s = w->seed;

	rcu_register_thread();
	pthread_barrier_wait(&r->start);
	for (uint32_t i = 0; i < r->npkts;) {
		if (i / 64 == r->npkts / 128)
			wait_for_expiry(r);
		/* One read-side section per "ring block", as a worker. */
		rcu_read_lock();
		for (int b = 0; b < 64 && i < r->npkts; b++, i++) {
			uint64_t x = xorshift(&s);
			uint32_t f = (uint32_t)(x % r->nflows);
			int dir = r->dirs[f] ^ (int)((x >> 32) & 1);
			uint32_t len = 40 + (uint32_t)((x >> 40) % 1461);
			const struct flow_key *k = &r->keys[f];

			flowtab_account(r->ft, k, dir, len, now_ns());
			w->fed[k->kind].pkts++;
			w->fed[k->kind].bytes += len;
		}
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

struct watcher {
	struct race *r;
	size_t collects, rows_seen, expired;
	size_t bad; /* rows that broke an invariant */
};

static void *reader_main(void *arg)
{
	struct watcher *w = arg;
	struct race *r = w->r;
	struct flowtab_row *rows = NULL;
	size_t cap = 0;

	rcu_register_thread();
	pthread_barrier_wait(&r->start);
	do {
		ssize_t n = flowtab_collect(r->ft, &rows, &cap);

		if (n < 0) {
			w->bad++;
			continue;
		}
		for (ssize_t i = 0; i < n; i++) {
			const struct flowtab_row *row = &rows[i];

			if (row->key.kind >= KIND_COUNT ||
			    row->pkts[0] + row->pkts[1] == 0 ||
			    row->first_ns > row->last_ns || row->id == 0)
				w->bad++;
		}
		w->collects++;
		w->rows_seen += (size_t)n;
	} while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE));
	free(rows);
	rcu_unregister_thread();
	return NULL;
}

static void *expirer_main(void *arg)
{
	struct watcher *w = arg;
	struct race *r = w->r;

	rcu_register_thread();
	pthread_barrier_wait(&r->start);
	do {
		/* A tiny idle time: flows die while writers still hit them. */
		w->expired += flowtab_expire(r->ft, now_ns(), 2000);
		__atomic_store_n(&r->deleted, w->expired, __ATOMIC_RELAXED);
	} while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE));
	rcu_unregister_thread();
	return NULL;
}

/*
 * Two writers feed @npkts packets each over @nflows flows while a reader
 * collects and an expirer deletes flows idle for 2 us. Afterwards, per
 * kind, live + expired + overflow must equal what the writers fed, to the
 * packet and byte. Returns 0, or -1 with a message.
 */
static int run_race(size_t max_flows, uint32_t nflows, uint32_t npkts,
		    char *msg, size_t msglen)
{
	struct race r = { .nflows = nflows, .npkts = npkts };
	struct writer w[2];
	struct watcher rd = { .r = &r }, ex = { .r = &r };
	struct flowtab_counts want[KIND_COUNT] = { 0 };
	struct flowtab_counts got[KIND_COUNT], ovf[KIND_COUNT];
	struct flowtab_row *rows = NULL;
	pthread_t tw[2], tr, te;
	uint64_t ovf_pkts = 0;
	size_t cap = 0;
	char err[128] = "";
	ssize_t n;
	int rc = -1;

	r.ft = flowtab_new(max_flows, err, sizeof(err));
	r.keys = calloc(nflows, sizeof(*r.keys));
	r.dirs = calloc(nflows, sizeof(*r.dirs));
	CHECK(r.ft, "flowtab_new: %s", err);
	CHECK(r.keys && r.dirs, "out of memory");
	for (uint32_t i = 0; i < nflows; i++)
		r.dirs[i] = make_key(i, i & 1, &r.keys[i]);
	pthread_barrier_init(&r.start, NULL, 4);

	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].r = &r;
		w[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		start_thread(&tw[i], writer_main, &w[i]);
	}
	start_thread(&tr, reader_main, &rd);
	start_thread(&te, expirer_main, &ex);
	for (int i = 0; i < 2; i++)
		pthread_join(tw[i], NULL);
	__atomic_store_n(&r.done, 1, __ATOMIC_RELEASE);
	pthread_join(tr, NULL);
	pthread_join(te, NULL);
	pthread_barrier_destroy(&r.start);

	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < KIND_COUNT; k++) {
			want[k].pkts += w[i].fed[k].pkts;
			want[k].bytes += w[i].fed[k].bytes;
		}
	}
	/* The race really happened. */
	CHECK(rd.collects > 0, "the reader never collected");
	CHECK(rd.bad == 0, "%zu bad rows collected", rd.bad);
	CHECK(ex.expired > 0, "expiry never ran against the writers");

	CHECK(table_sums(r.ft, got, &n) == 0, "collect failed");
	for (int k = 0; k < KIND_COUNT; k++) {
		CHECK(got[k].pkts == want[k].pkts,
		      "kind %d: %llu packets accounted, %llu fed", k,
		      (unsigned long long)got[k].pkts,
		      (unsigned long long)want[k].pkts);
		CHECK(got[k].bytes == want[k].bytes,
		      "kind %d: %llu bytes accounted, %llu fed", k,
		      (unsigned long long)got[k].bytes,
		      (unsigned long long)want[k].bytes);
	}
	CHECK((size_t)n == flowtab_count(r.ft), "%zd rows, count %zu", n,
	      flowtab_count(r.ft));
	CHECK(flowtab_expired_flows(r.ft) == ex.expired,
	      "%llu flows folded, %zu deleted",
	      (unsigned long long)flowtab_expired_flows(r.ft), ex.expired);
	CHECK(flowtab_count(r.ft) <= max_flows, "cap exceeded");

	/* Quiescent: every live key is there once. */
	n = flowtab_collect(r.ft, &rows, &cap);
	CHECK(n >= 0, "collect failed");
	for (ssize_t i = 0; i < n; i++) {
		for (ssize_t j = i + 1; j < n; j++) {
			CHECK(!flowkey_equal(&rows[i].key, &rows[j].key),
			      "duplicate flow");
			CHECK(rows[i].id != rows[j].id, "duplicate id");
		}
	}
	flowtab_totals(r.ft, NULL, ovf);
	for (int k = 0; k < KIND_COUNT; k++)
		ovf_pkts += ovf[k].pkts;
	if (max_flows < nflows)
		CHECK(ovf_pkts > 0, "the cap was never reached");
	else
		CHECK(ovf_pkts == 0, "overflow below the cap");
	rc = 0;
out:
	free(rows);
	free(r.keys);
	free(r.dirs);
	flowtab_free(r.ft);
	return rc;
}

/* Several workers create the same new flows at once: one node per key
 * survives, losers free theirs (ASan's leak check), nothing is lost. */
struct same {
	struct flowtab *ft;
	struct flow_key *keys;
	uint32_t nkeys;
	pthread_barrier_t start;
};

static void *same_main(void *arg)
{
	struct same *s = arg;

	rcu_register_thread();
	pthread_barrier_wait(&s->start);
	for (uint32_t i = 0; i < s->nkeys; i++) {
		rcu_read_lock();
		flowtab_account(s->ft, &s->keys[i], 0, 10, i);
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static int run_same_keys(char *msg, size_t msglen)
{
	enum { NT = 4, NK = 2000 };
	struct same s = { .nkeys = NK };
	struct flowtab_row *rows = NULL;
	pthread_t t[NT];
	size_t cap = 0;
	char err[128] = "";
	ssize_t n;
	int rc = -1;

	s.ft = flowtab_new(0, err, sizeof(err));
	s.keys = calloc(NK, sizeof(*s.keys));
	CHECK(s.ft, "flowtab_new: %s", err);
	CHECK(s.keys, "out of memory");
	for (uint32_t i = 0; i < NK; i++)
		make_key(i, 0, &s.keys[i]);
	pthread_barrier_init(&s.start, NULL, NT);
	for (int i = 0; i < NT; i++)
		start_thread(&t[i], same_main, &s);
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&s.start);

	n = flowtab_collect(s.ft, &rows, &cap);
	CHECK(n == NK, "%zd flows, want %d", n, NK);
	for (ssize_t i = 0; i < n; i++) {
		CHECK(rows[i].pkts[0] == NT && rows[i].bytes[0] == 10 * NT,
		      "flow %llu: %llu packets, want %d",
		      (unsigned long long)rows[i].id,
		      (unsigned long long)rows[i].pkts[0], NT);
	}
	rc = 0;
out:
	free(rows);
	free(s.keys);
	flowtab_free(s.ft);
	return rc;
}

/*
 * Writers insert new flows into shared chains (a table capped at its 60k
 * flows: chains of about two) while a reader collects: no flow is lost
 * or created twice.
 */
struct grow {
	struct flowtab *ft;
	uint32_t per_writer;
	int done;
	pthread_barrier_t start;
	size_t collects;
};

struct grow_writer {
	struct grow *g;
	uint32_t first;
};

static void *grow_writer_main(void *arg)
{
	struct grow_writer *w = arg;
	struct grow *g = w->g;
	struct flow_key k;

	rcu_register_thread();
	pthread_barrier_wait(&g->start);
	for (uint32_t i = w->first; i < w->first + g->per_writer;) {
		rcu_read_lock();
		for (int b = 0; b < 64 && i < w->first + g->per_writer;
		     b++, i++) {
			distinct_key(i, &k);
			flowtab_account(g->ft, &k, 0, 1, i);
		}
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static void *grow_reader_main(void *arg)
{
	struct grow *g = arg;
	struct flowtab_row *rows = NULL;
	size_t cap = 0;

	rcu_register_thread();
	pthread_barrier_wait(&g->start);
	while (!__atomic_load_n(&g->done, __ATOMIC_ACQUIRE)) {
		if (flowtab_collect(g->ft, &rows, &cap) >= 0)
			g->collects++;
	}
	free(rows);
	rcu_unregister_thread();
	return NULL;
}

static int run_grow(char *msg, size_t msglen)
{
	enum { NW = 2, PER = 30000 };
	struct grow g = { .per_writer = PER };
	struct grow_writer w[NW];
	struct flowtab_row *rows = NULL;
	pthread_t t[NW], tr;
	size_t cap = 0;
	char err[128] = "";
	uint64_t ids = 0;
	ssize_t n;
	int rc = -1;

	g.ft = flowtab_new(NW * PER, err, sizeof(err));
	CHECK(g.ft, "flowtab_new: %s", err);
	pthread_barrier_init(&g.start, NULL, NW + 1);
	for (int i = 0; i < NW; i++) {
		w[i].g = &g;
		w[i].first = (uint32_t)i * PER;
		start_thread(&t[i], grow_writer_main, &w[i]);
	}
	start_thread(&tr, grow_reader_main, &g);
	for (int i = 0; i < NW; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&g.done, 1, __ATOMIC_RELEASE);
	pthread_join(tr, NULL);
	pthread_barrier_destroy(&g.start);

	CHECK(g.collects > 0, "the reader never collected");
	n = flowtab_collect(g.ft, &rows, &cap);
	CHECK(n == NW * PER, "%zd flows, want %d", n, NW * PER);
	for (ssize_t i = 0; i < n; i++) {
		CHECK(rows[i].pkts[0] == 1, "flow %llu: %llu packets",
		      (unsigned long long)rows[i].id,
		      (unsigned long long)rows[i].pkts[0]);
		ids += rows[i].id;
	}
	CHECK(ids == (uint64_t)n * (uint64_t)(n + 1) / 2,
	      "flow ids not 1..%zd: a flow was created twice", n);
	rc = 0;
out:
	free(rows);
	flowtab_free(g.ft);
	return rc;
}

Test(flowtab, concurrent_inserts_keep_every_flow_once)
{
	char msg[256] = "";

	cr_assert_eq(run_grow(msg, sizeof(msg)), 0, "%s", msg);
}

/* Many short-lived flows in 2 MiB chunks: chunks empty and are given
 * back while the writers take new slots; the totals stay exact. */
Test(flowtab, concurrent_churn_through_released_chunks_exact)
{
	char msg[256] = "";

	cr_assert_eq(run_race(100000, 60000, 200000, msg, sizeof(msg)), 0, "%s",
		     msg);
}

Test(flowtab, concurrent_writers_reader_expiry_exact)
{
	char msg[256] = "";

	cr_assert_eq(
		run_race(FLOWTAB_DEFAULT_MAX, 5000, 100000, msg, sizeof(msg)),
		0, "%s", msg);
}

Test(flowtab, concurrent_at_the_cap_exact)
{
	char msg[256] = "";

	cr_assert_eq(run_race(1000, 5000, 100000, msg, sizeof(msg)), 0, "%s",
		     msg);
}

Test(flowtab, racing_inserts_keep_one_flow_per_key)
{
	char msg[256] = "";

	cr_assert_eq(run_same_keys(msg, sizeof(msg)), 0, "%s", msg);
}

/* ---- memory ---------------------------------------------------------- */

#if !UNDER_ASAN && !UNDER_TSAN
static size_t rss_bytes(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Target: at most 256 resident bytes per flow at 1M flows, buckets and
 * malloc overhead included. (Sanitizer builds change the allocator.) */
Test(flowtab, a_million_flows_fit_in_256_bytes_each, .timeout = 120)
{
	enum { N = 1000000 };
	struct flowtab *ft;
	struct flow_key k;
	size_t before, after;

	before = rss_bytes();
	ft = new_table(N);
	memset(&k, 0, sizeof(k));
	k.kind = KIND_UDP4;
	k.ipproto = 17;
	for (uint32_t i = 0; i < N; i += 1000) {
		rcu_read_lock();
		for (uint32_t j = i; j < i + 1000; j++) {
			memcpy(k.a, &j, sizeof(j));
			k.aport = (uint16_t)j;
			flowtab_account(ft, &k, 0, 100, j);
		}
		rcu_read_unlock();
	}
	cr_assert_eq(flowtab_count(ft), N);
	/* 512K buckets (4 MB) */
	cr_assert_eq(flowtab_buckets(ft), 1UL << 19, "%zu buckets",
		     flowtab_buckets(ft));
	after = rss_bytes();
	cr_log_info("%.1f resident bytes per flow",
		    (double)(after - before) / N);
	cr_assert_leq((after - before) / N, 256, "%zu resident bytes per flow",
		      (after - before) / N);
	flowtab_free(ft);
}

/* The table holds @n flows, each with @pkts packets A to B. */
static void assert_each_flow(struct flowtab *ft, ssize_t n, uint64_t pkts)
{
	struct flowtab_row *rows = NULL;
	size_t cap = 0;
	ssize_t got = collect(ft, &rows, &cap);

	cr_assert_eq(got, n, "%zd flows, want %zd", got, n);
	for (ssize_t i = 0; i < got; i++)
		cr_assert_eq(rows[i].pkts[0], pkts, "flow %llu: %llu packets",
			     (unsigned long long)rows[i].id,
			     (unsigned long long)rows[i].pkts[0]);
	free(rows);
}

/*
 * Expired flows give their memory back: 200k flows fill 13 arena chunks;
 * once they all expired and their grace periods ended, the fourth expiry
 * pass in a row that finds them empty returns every empty chunk but the
 * one new flows come from, a
 * collect buffer four times too big shrinks, and the process's resident
 * size falls by at least as much as the arena gave back. New flows afterwards
 * are counted exactly in chunks faulted in again.
 */
Test(flowtab, empty_chunks_go_back_to_the_kernel, .timeout = 60)
{
	enum { N = 200000 };
	struct flowtab *ft = new_table(FLOWTAB_DEFAULT_MAX);
	struct flowtab_row *rows = NULL;
	size_t full, empty, rss_full, rss_empty, cap = 0;

	feed_flows(ft, 0, N);
	cr_assert_eq(flowtab_count(ft), N);
	cr_assert_eq(collect(ft, &rows, &cap), N);
	full = flowtab_arena_bytes(ft);
	rss_full = rss_bytes();
	cr_assert_geq(full, (size_t)N * 128, "%zu arena bytes", full);
	cr_assert_eq(flowtab_expire(ft, UINT64_MAX, 0), N);
	flowtab_barrier(ft);
	/* kept while they may be needed again (the pass that deleted the
	 * flows may have found them freed already: at most two passes so
	 * far), back after four */
	cr_assert_eq(flowtab_expire(ft, UINT64_MAX, 0), 0);
	cr_assert_eq(flowtab_arena_bytes(ft), full);
	for (int pass = 0; pass < 3; pass++)
		cr_assert_eq(flowtab_expire(ft, UINT64_MAX, 0), 0);
	/* the collect buffer shrinks to size too */
	cr_assert_eq(collect(ft, &rows, &cap), 0);
	cr_assert_leq(cap, 64, "collect buffer of %zu rows kept", cap);
	empty = flowtab_arena_bytes(ft);
	rss_empty = rss_bytes();
	cr_log_info("arena %zu -> %zu bytes, RSS %zu -> %zu bytes", full, empty,
		    rss_full, rss_empty);
	cr_assert_leq(empty, (size_t)2 << 20, "%zu arena bytes kept", empty);
	cr_assert_geq(rss_full - rss_empty, (full - empty) * 9 / 10,
		      "RSS fell by %zu bytes of %zu given back",
		      rss_full - rss_empty, full - empty);
	free(rows);
	/* again, through chunks faulted in anew: every flow once, exact */
	feed_flows(ft, N, N);
	feed_flows(ft, N, N);
	assert_each_flow(ft, N, 2);
	cr_assert_leq(flowtab_arena_bytes(ft), full);
	flowtab_free(ft);
}

/*
 * A live capture's table faults in flow slots for an eighth of its cap at
 * once (the process's resident size grows by them before any flow) and
 * keeps them when every flow has expired; chunks beyond them go back.
 */
Test(flowtab, presized_reserve_is_resident_and_kept, .timeout = 60)
{
	enum { N = 200000 };
	struct flowtab *ft = new_table(FLOWTAB_DEFAULT_MAX);
	size_t rss0, rss1, reserve, full, empty;

	rss0 = rss_bytes();
	flowtab_presize(ft);
	rss1 = rss_bytes();
	reserve = flowtab_arena_bytes(ft);
	cr_assert_geq(reserve, (size_t)FLOWTAB_DEFAULT_MAX / 8 * 128,
		      "%zu reserved bytes", reserve);
	cr_assert_lt(reserve, (size_t)FLOWTAB_DEFAULT_MAX / 8 * 128 + (4 << 20),
		     "%zu reserved bytes", reserve);
	cr_assert_geq(rss1 - rss0, reserve, "RSS grew by %zu of %zu reserved",
		      rss1 - rss0, reserve);
	feed_flows(ft, 0, N);
	full = flowtab_arena_bytes(ft);
	cr_assert_gt(full, reserve, "%zu arena bytes for %d flows", full, N);
	cr_assert_eq(flowtab_expire(ft, UINT64_MAX, 0), N);
	flowtab_barrier(ft);
	for (int pass = 0; pass < 5; pass++)
		cr_assert_eq(flowtab_expire(ft, UINT64_MAX, 0), 0);
	empty = flowtab_arena_bytes(ft);
	cr_assert_geq(empty, reserve, "%zu arena bytes kept of %zu reserved",
		      empty, reserve);
	cr_assert_leq(empty, reserve + ((size_t)2 << 20),
		      "%zu arena bytes kept, %zu reserved", empty, reserve);
	/* new flows again, in the reserve first: each once, exact */
	feed_flows(ft, N, N);
	assert_each_flow(ft, N, 1);
	flowtab_free(ft);
}

/*
 * Past the reserve, the grower makes each next chunk while the newest
 * fills: 400k new flows, a thousand at a time with a millisecond between
 * (a chunk holds 16,383), find all but at most the first chunk past the
 * reserve made ahead by it; every flow counted once.
 */
Test(flowtab, grower_makes_chunks_ahead_of_new_flows, .timeout = 60)
{
	enum { N = 400000, STEP = 1000 };
	struct flowtab *ft = new_table(FLOWTAB_DEFAULT_MAX);
	size_t reserve, past;
	uint64_t grown;

	flowtab_presize(ft);
	reserve = flowtab_arena_bytes(ft);
	for (uint32_t i = 0; i < N; i += STEP) {
		feed_flows(ft, i, STEP);
		usleep(1000);
	}
	past = (flowtab_arena_bytes(ft) - reserve) / ((size_t)2 << 20);
	grown = flowtab_chunks_grown(ft);
	cr_log_info("%zu chunks past the reserve, %llu made by the grower",
		    past, (unsigned long long)grown);
	cr_assert_geq(past, (size_t)(N - reserve / 128) / 16383,
		      "%zu chunks past the reserve", past);
	cr_assert_geq(grown + 1, past, "%llu of %zu chunks made ahead",
		      (unsigned long long)grown, past);
	assert_each_flow(ft, N, 1);
	flowtab_free(ft);
}
#endif

#if UNDER_TSAN
/*
 * ThreadSanitizer driver. Criterion cannot start under TSan: its sandbox
 * maps an arena at random fixed addresses inside the range TSan reserves
 * for its shadow memory and gives up ("Could not initialize inheritable
 * arena", Snaipe/Criterion#274). So in a TSan build this main() takes the
 * place of Criterion's and runs the concurrent scenarios directly; the
 * single-threaded tests have nothing to show TSan. Arguments (--jobs 2
 * from tests/run.sh) are ignored. Exits 1 if a scenario fails; TSan itself
 * exits 66 on a report.
 */
/*
 * The same reviewed list as tests/tsan.supp (liburcu's own frames only), built
 * in so that tests/run.sh needs no TSAN_OPTIONS; TSAN_OPTIONS still adds to
 * it. suppress_equal_addresses=0: every node freed after a grace period is a
 * distinct (suppressed) report address, and TSan's linear de-duplication by
 * address then turns a 5 s run into many minutes.
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_options(void);

const char *__tsan_default_suppressions(void)
{
	return "race:liburcu.so\n"
	       "race:liburcu-cds.so\n";
}

const char *__tsan_default_options(void)
{
	return "suppress_equal_addresses=0";
}

int main(int argc, char **argv)
{
	char msg[256];
	int failed = 0;

	(void)argc;
	(void)argv;
	rcu_register_thread();
	msg[0] = 0;
	if (run_race(FLOWTAB_DEFAULT_MAX, 5000, 100000, msg, sizeof(msg))) {
		fprintf(stderr, "FAIL flowtab::concurrent_writers: %s\n", msg);
		failed++;
	}
	msg[0] = 0;
	if (run_race(1000, 5000, 100000, msg, sizeof(msg))) {
		fprintf(stderr, "FAIL flowtab::concurrent_at_the_cap: %s\n",
			msg);
		failed++;
	}
	msg[0] = 0;
	if (run_race(100000, 60000, 200000, msg, sizeof(msg))) {
		fprintf(stderr, "FAIL flowtab::concurrent_churn: %s\n", msg);
		failed++;
	}
	msg[0] = 0;
	if (run_same_keys(msg, sizeof(msg))) {
		fprintf(stderr, "FAIL flowtab::racing_inserts: %s\n", msg);
		failed++;
	}
	msg[0] = 0;
	if (run_grow(msg, sizeof(msg))) {
		fprintf(stderr, "FAIL flowtab::concurrent_inserts: %s\n", msg);
		failed++;
	}
	rcu_unregister_thread();
	fprintf(stderr, "test_flowtab (tsan driver): 5 scenarios, %d failed\n",
		failed);
	return failed ? 1 : 0;
}
#endif

/* Pressure eviction: least recently seen first, down to 85% of the cap;
 * a flow that keeps sending keeps its entry; totals stay exact. */
Test(flowtab, evicts_least_recent_under_pressure)
{
	struct flowtab_counts exp[KIND_COUNT], ov[KIND_COUNT];
	struct flowtab_row *rows = NULL;
	size_t cap = 0, found_long = 0;
	struct flowtab *ft;
	struct flow_key k;
	char err[128];
	ssize_t n;
	uint64_t live_p = 0;

	ft = flowtab_new(100, err, sizeof(err));
	cr_assert_not_null(ft);
	rcu_read_lock();
	for (int i = 0; i < 100; i++) {
		memset(&k, 0, sizeof(k));
		k.kind = KIND_UDP4;
		k.a[0] = 10;
		k.a[3] = (uint8_t)i;
		k.aport = 7;
		/* flow 0 is the oldest but keeps sending */
		flowtab_account(ft, &k, 0, 100, 1000 + (uint64_t)i);
	}
	memset(&k, 0, sizeof(k));
	k.kind = KIND_UDP4;
	k.a[0] = 10;
	k.aport = 7;
	flowtab_account(ft, &k, 0, 100, 5000);
	rcu_read_unlock();
	/* no flow is idle for 1e9 ns: only pressure evicts */
	cr_assert_eq(flowtab_expire(ft, 6000, 1000000000ull), 15);
	flowtab_barrier(ft);
	cr_assert_eq(flowtab_count(ft), 85);
	cr_assert_eq(flowtab_evicted_flows(ft), 15);
	n = flowtab_collect(ft, &rows, &cap);
	cr_assert_eq(n, 85);
	for (ssize_t i = 0; i < n; i++) {
		live_p += rows[i].pkts[0];
		if (rows[i].key.a[3] == 0)
			found_long = 1;
		/* flows 1..15 were the least recently seen */
		cr_assert(rows[i].key.a[3] == 0 || rows[i].key.a[3] > 15,
			  "flow %d should have been evicted", rows[i].key.a[3]);
	}
	cr_assert(found_long, "the flow that kept sending was evicted");
	flowtab_totals(ft, exp, ov);
	cr_assert_eq(live_p + exp[KIND_UDP4].pkts + ov[KIND_UDP4].pkts, 101);
	free(rows);
	flowtab_free(ft);
}

/*
 * The deferred (batched, prefetching) path: packets to a few hundred flows
 * in a pattern with repeats inside one batch, flows deleted by expiry
 * while their packets are still pending (their hint slots go stale), and
 * both the locked and the single-writer counter updates. Every packet is
 * counted exactly once, each live flow's counts are exact, and a flow
 * that was expired and comes back is a new flow.
 */
static void batch_run(unsigned int writers)
{
	/* room for the slots of deleted flows whose grace period has
	 * not ended yet: this loop deletes thousands within milliseconds */
	struct flowtab *ft = new_table(100000);
	struct flowtab_batch b;
	struct flowtab_counts want[KIND_COUNT];
	struct flowtab_row *rows = NULL;
	size_t cap = 0;
	uint64_t fed[300][2];
	ssize_t n;

	flowtab_set_writers(ft, writers);
	memset(&b, 0, sizeof(b));
	memset(want, 0, sizeof(want));
	memset(fed, 0, sizeof(fed));
	for (uint32_t i = 0; i < 20000; i++) {
		/* runs of 1-3 packets to the same flow, then a jump */
		uint32_t fl = (i / (1 + i % 3)) * 7919 % 300;
		int rev = (i >> 4) & 1;
		struct flow_key k;
		int dir = make_key(fl, rev, &k);
		uint32_t len = 60 + i % 1400;

		if (i % 97 == 0)
			rcu_read_lock();
		flowtab_batch_add(ft, &b, &k, dir, len, 1000 + i);
		want[k.kind].pkts++;
		want[k.kind].bytes += len;
		if (i < 19000)
			/* expire everything idle for 50 ticks, mid-batch */
			if (i % 500 == 499)
				flowtab_expire(ft, 1000 + i, 50);
		if (i >= 19000)
			fed[fl][dir]++;
		if (i % 97 == 96 || i == 19999) {
			flowtab_batch_flush(ft, &b);
			rcu_read_unlock();
		}
		if (i == 18999) {
			/* everything so far expires: the last 1000 packets
			 * start fresh flows whose counts we know exactly */
			flowtab_batch_flush(ft, &b);
			rcu_read_unlock();
			flowtab_expire(ft, 1000000, 1);
			rcu_read_lock();
		}
	}
	cr_assert_eq(b.n, 0);
	assert_sums(ft, want);
	n = collect(ft, &rows, &cap);
	cr_assert_gt(n, 0);
	for (uint32_t fl = 0; fl < 300; fl++) {
		struct flow_key k;
		const struct flowtab_row *r;

		make_key(fl, 0, &k);
		r = find_row(rows, n, &k);
		if (!fed[fl][0] && !fed[fl][1]) {
			cr_assert_null(r, "flow %u came back unfed", fl);
			continue;
		}
		cr_assert_not_null(r, "flow %u lost", fl);
		cr_assert_eq(r->pkts[0], fed[fl][0], "flow %u A->B", fl);
		cr_assert_eq(r->pkts[1], fed[fl][1], "flow %u B->A", fl);
	}
	free(rows);
	flowtab_free(ft);
}

Test(flowtab, batched_updates_exact_across_expiry_locked)
{
	batch_run(2);
}

Test(flowtab, batched_updates_exact_across_expiry_single_writer)
{
	batch_run(1);
}

/* What the end hook saw. */
struct end_seen {
	uint64_t flows, evicted, pkts, bytes;
};

static void end_hook(void *arg, const struct flowtab_row *r, int evicted)
{
	struct end_seen *s = arg;

	__atomic_fetch_add(&s->flows, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->evicted, evicted ? 1 : 0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->pkts, r->pkts[0] + r->pkts[1], __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->bytes, r->bytes[0] + r->bytes[1],
			   __ATOMIC_RELAXED);
}

Test(flowtab, end_hook_gets_final_counts_and_evictions)
{
	struct flowtab *ft = new_table(100);
	struct end_seen s = { 0 };
	struct flow_key k;

	flowtab_set_end_hook(ft, end_hook, &s);
	/* 100 flows (the cap), flow i: i + 1 packets of 10 bytes, last seen
	 * at 1000 + i */
	for (uint32_t i = 0; i < 100; i++) {
		int dir = make_key(i, 0, &k);

		for (uint32_t j = 0; j <= i; j++)
			account(ft, &k, dir ^ (j & 1), 10, 1000 + i);
	}
	/* idle: flows 0 and 1 (last 1000, 1001 < 1003 - 1); then 98 left,
	 * above 95% of the cap: the least recently seen go down to 85 */
	size_t n = flowtab_expire(ft, 1003, 1);
	flowtab_barrier(ft);
	cr_assert_eq(n, 15);
	cr_assert_eq(s.flows, n);
	cr_assert_eq(flowtab_count(ft), 100 - n);
	cr_assert_eq(s.evicted, flowtab_evicted_flows(ft));
	cr_assert_eq(s.flows - s.evicted, 2, "idle ones: %lu",
		     (unsigned long)(s.flows - s.evicted));
	cr_assert_gt(s.evicted, 0);
	/* the oldest n flows went: 1 + 2 + ... + n packets */
	cr_assert_eq(s.pkts, (uint64_t)n * (n + 1) / 2);
	cr_assert_eq(s.bytes, 10 * s.pkts);
	flowtab_free(ft);
}
