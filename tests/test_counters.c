/* test_counters.c - named BPF counters: matching, editing, concurrency. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "counters.h"

static void setup(void)
{
	rcu_register_thread();
}

static void teardown(void)
{
	rcu_unregister_thread();
}

TestSuite(counters, .init = setup, .fini = teardown);

/* IPv4 + TCP/UDP header with the given ports, @pad payload bytes. */
static size_t ip_frame(uint8_t *f, int proto, int sport, int dport, int pad)
{
	size_t l4 = proto == 6 ? 20 : 8;
	size_t tot = 20 + l4 + (size_t)pad;

	memset(f, 0, tot);
	f[0] = 0x45;
	f[2] = (uint8_t)(tot >> 8);
	f[3] = (uint8_t)tot;
	f[8] = 64;
	f[9] = (uint8_t)proto;
	f[12] = 10, f[15] = 1; /* 10.0.0.1 */
	f[16] = 10, f[19] = 2; /* 10.0.0.2 */
	f[20] = (uint8_t)(sport >> 8), f[21] = (uint8_t)sport;
	f[22] = (uint8_t)(dport >> 8), f[23] = (uint8_t)dport;
	if (proto == 6)
		f[32] = 0x50;
	else
		f[25] = (uint8_t)(8 + pad);
	return tot;
}

static size_t eth_frame(uint8_t *f, int proto, int sport, int dport, int pad)
{
	memset(f, 0, 14);
	f[5] = 1;
	f[11] = 2;
	f[12] = 0x08;
	return 14 + ip_frame(f + 14, proto, sport, dport, pad);
}

static void count(struct counters *c, unsigned int w, int dlt, const uint8_t *f,
		  size_t len)
{
	rcu_read_lock();
	counters_packet(c, w, dlt, f, (uint32_t)len, (uint32_t)len);
	rcu_read_unlock();
}

Test(counters, two_counters_over_frames)
{
	char err[256] = "";
	struct counters *c = counters_new(2, err, sizeof(err));
	struct counters_value v[4];
	uint8_t f[1600];
	size_t web, dns, ssh;

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(counters_add(c, "web", "tcp port 80", err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(counters_add(c, "dns", "udp port 53", err, sizeof(err)), 0,
		     "%s", err);
	web = eth_frame(f, 6, 40000, 80, 100);
	count(c, 0, DLT_EN10MB, f, web);
	count(c, 1, DLT_EN10MB, f, web); /* another worker's slot */
	dns = eth_frame(f, 17, 53, 5353, 30);
	count(c, 0, DLT_EN10MB, f, dns);
	ssh = eth_frame(f, 6, 22, 50000, 0);
	count(c, 1, DLT_EN10MB, f, ssh);
	count(c, 7, DLT_EN10MB, f, web); /* bad worker index: ignored */

	cr_assert_eq(counters_read(c, v, 4), 2);
	cr_assert_str_eq(v[0].name, "web");
	cr_assert_str_eq(v[0].expr, "tcp port 80");
	cr_assert_eq(v[0].pkts, 2);
	cr_assert_eq(v[0].bytes, 2 * web);
	cr_assert_str_eq(v[1].name, "dns");
	cr_assert_eq(v[1].pkts, 1);
	cr_assert_eq(v[1].bytes, dns);
	cr_assert_eq(counters_count(c), 2);
	counters_free(c);
}

Test(counters, modify_restarts_and_keeps_the_place)
{
	char err[256] = "";
	struct counters *c = counters_new(1, err, sizeof(err));
	struct counters_value v[4];
	uint8_t f[1600];
	size_t web, ssh;

	counters_add(c, "a", "tcp port 80", err, sizeof(err));
	counters_add(c, "b", "", err, sizeof(err)); /* everything */
	web = eth_frame(f, 6, 40000, 80, 10);
	count(c, 0, DLT_EN10MB, f, web);
	cr_assert_eq(counters_modify(c, "a", "tcp port 22", err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(counters_read(c, v, 4), 2);
	cr_assert_str_eq(v[0].name, "a");
	cr_assert_str_eq(v[0].expr, "tcp port 22");
	cr_assert_eq(v[0].pkts, 0);
	cr_assert_eq(v[1].pkts, 1);
	count(c, 0, DLT_EN10MB, f, web);
	ssh = eth_frame(f, 6, 22, 50000, 0);
	count(c, 0, DLT_EN10MB, f, ssh);
	counters_read(c, v, 4);
	cr_assert_eq(v[0].pkts, 1);
	cr_assert_eq(v[0].bytes, ssh);
	cr_assert_eq(v[1].pkts, 3);
	cr_assert_eq(v[1].bytes, 2 * web + ssh);
	counters_free(c);
}

Test(counters, remove_and_zero)
{
	char err[256] = "";
	struct counters *c = counters_new(1, err, sizeof(err));
	struct counters_value v[4];
	uint8_t f[1600];
	size_t n;

	counters_add(c, "a", "tcp", err, sizeof(err));
	counters_add(c, "b", "udp", err, sizeof(err));
	counters_add(c, "c", "ip", err, sizeof(err));
	n = eth_frame(f, 17, 1, 2, 0);
	count(c, 0, DLT_EN10MB, f, n);
	cr_assert_eq(counters_remove(c, "b", err, sizeof(err)), 0);
	cr_assert_eq(counters_read(c, v, 4), 2);
	cr_assert_str_eq(v[0].name, "a");
	cr_assert_str_eq(v[1].name, "c");
	cr_assert_eq(v[1].pkts, 1);
	count(c, 0, DLT_EN10MB, f, n);
	counters_zero(c);
	counters_read(c, v, 4);
	cr_assert_eq(v[1].pkts, 0);
	cr_assert_eq(v[1].bytes, 0);
	count(c, 0, DLT_EN10MB, f, n);
	counters_read(c, v, 4);
	cr_assert_eq(v[1].pkts, 1);
	cr_assert_eq(counters_remove(c, "b", err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no such counter"), "%s", err);
	cr_assert_eq(counters_remove(c, "a", err, sizeof(err)), 0);
	cr_assert_eq(counters_remove(c, "c", err, sizeof(err)), 0);
	cr_assert_eq(counters_read(c, v, 4), 0);
	count(c, 0, DLT_EN10MB, f, n); /* no counters: nothing to do */
	counters_free(c);
}

Test(counters, bad_expression_changes_nothing)
{
	char err[256] = "";
	struct counters *c = counters_new(1, err, sizeof(err));
	struct counters_value v[4];
	uint8_t f[1600];
	size_t n;

	counters_add(c, "web", "tcp port 80", err, sizeof(err));
	n = eth_frame(f, 6, 1, 80, 0);
	count(c, 0, DLT_EN10MB, f, n);

	cr_assert_eq(counters_add(c, "bad", "tcp port", err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "counter bad: "), "%s", err);
	cr_assert(strstr(err, "syntax error"), "%s", err);
	cr_assert_eq(counters_modify(c, "web", "port 99999", err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "counter web: "), "%s", err);
	cr_assert_eq(counters_read(c, v, 4), 1);
	cr_assert_str_eq(v[0].expr, "tcp port 80");
	cr_assert_eq(v[0].pkts, 1);
	count(c, 0, DLT_EN10MB, f, n);
	counters_read(c, v, 4);
	cr_assert_eq(v[0].pkts, 2);

	cr_assert_eq(counters_add(c, "web", "udp", err, sizeof(err)), -EEXIST);
	cr_assert_eq(counters_add(c, "no spaces", "udp", err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(counters_add(c, "", "udp", err, sizeof(err)), -EINVAL);
	cr_assert_eq(counters_modify(c, "nope", "udp", err, sizeof(err)),
		     -ENOENT);
	cr_assert_eq(counters_count(c), 1);
	counters_free(c);
}

Test(counters, limit)
{
	char err[256] = "", name[16];
	struct counters *c = counters_new(1, err, sizeof(err));

	for (int i = 0; i < COUNTERS_MAX; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		cr_assert_eq(counters_add(c, name, "", err, sizeof(err)), 0);
	}
	cr_assert_eq(counters_add(c, "one-more", "", err, sizeof(err)),
		     -ENOSPC);
	cr_assert_eq(counters_count(c), COUNTERS_MAX);
	counters_free(c);
}

Test(counters, other_link_types)
{
	char err[256] = "";
	struct counters *c = counters_new(1, err, sizeof(err));
	struct counters_value v[4];
	uint8_t f[1600];
	size_t n;

	counters_add(c, "web", "tcp port 80", err, sizeof(err));
	counters_add(c, "mac", "ether host 00:00:00:00:00:01", err,
		     sizeof(err));
	/* raw IP, never announced: compiled on first use in the packet
	 * path; "ether host" cannot compile there and never matches */
	n = ip_frame(f, 6, 1, 80, 0);
	count(c, 0, DLT_RAW, f, n);
	count(c, 0, DLT_RAW, f, n);
	cr_assert_eq(counters_read(c, v, 4), 2);
	cr_assert_eq(v[0].pkts, 2);
	cr_assert_eq(v[0].bytes, 2 * n);
	cr_assert_eq(v[1].pkts, 0);
	/* announcing it names the counter that cannot work there */
	cr_assert_eq(counters_prepare_dlt(c, DLT_RAW, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "counter mac: link type RAW"), "%s", err);
	/* and new counters must compile for it */
	cr_assert_eq(counters_add(c, "mac2", "ether src 00:00:00:00:00:02", err,
				  sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "link type RAW"), "%s", err);
	cr_assert_eq(counters_add(c, "udp", "udp", err, sizeof(err)), 0);
	cr_assert_eq(counters_prepare_dlt(c, DLT_LINUX_SLL, err, sizeof(err)),
		     -EINVAL); /* "mac" again: SLL has no ether dst */
	n = eth_frame(f, 6, 1, 80, 0);
	count(c, 0, DLT_EN10MB, f, n);
	counters_read(c, v, 4);
	cr_assert_eq(v[0].pkts, 3);
	cr_assert_eq(v[1].pkts, 1);
	counters_free(c);
}

struct worker {
	struct counters *c;
	unsigned int idx;
	int n;
	uint64_t bytes;
	int done;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint8_t web[1600], ssh[1600];
	size_t lw = eth_frame(web, 6, 40000, 80, 7);
	size_t ls = eth_frame(ssh, 6, 22, 50000, 3);

	rcu_register_thread();
	for (int i = 0; i < w->n;) {
		/* one "ring block" per read-side section */
		rcu_read_lock();
		for (int k = 0; k < 64 && i < w->n; k++, i++) {
			const uint8_t *f = i & 1 ? ssh : web;
			size_t len = i & 1 ? ls : lw;

			counters_packet(w->c, w->idx, DLT_EN10MB, f,
					(uint32_t)len, (uint32_t)len);
			w->bytes += len;
		}
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(counters, edits_while_workers_count)
{
	char err[256] = "";
	struct counters *c = counters_new(2, err, sizeof(err));
	struct worker w[2] = { { c, 0, 200000, 0, 0 }, { c, 1, 200000, 0, 0 } };
	struct counters_value v[8];
	pthread_t th[2];
	int edits = 0;

	cr_assert_eq(counters_add(c, "all", "", err, sizeof(err)), 0);
	cr_assert_eq(counters_add(c, "web", "tcp port 80", err, sizeof(err)),
		     0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	/* edit for as long as the workers run (and at least 300 times) */
	for (int i = 0;
	     i < 300 || !__atomic_load_n(&w[0].done, __ATOMIC_ACQUIRE) ||
	     !__atomic_load_n(&w[1].done, __ATOMIC_ACQUIRE);
	     i++) {
		cr_assert_eq(
			counters_modify(c, "web",
					i & 1 ? "tcp port 80" : "tcp port 22",
					err, sizeof(err)),
			0);
		cr_assert_eq(counters_add(c, "tmp", "tcp", err, sizeof(err)),
			     0);
		counters_read(c, v, 8);
		cr_assert_eq(counters_remove(c, "tmp", err, sizeof(err)), 0);
		edits++;
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(counters_read(c, v, 8), 2);
	/* the counter never edited saw every packet exactly once */
	cr_assert_str_eq(v[0].name, "all");
	cr_assert_eq(v[0].pkts, 400000);
	cr_assert_eq(v[0].bytes, w[0].bytes + w[1].bytes);
	cr_assert_leq(v[1].pkts, 400000);
	cr_assert_geq(edits, 300);
	counters_free(c);
	counters_free(NULL);
}

Test(counters, new_needs_workers)
{
	char err[256] = "";

	cr_assert_null(counters_new(0, err, sizeof(err)));
	cr_assert(strstr(err, "no capture workers"), "%s", err);
}

/* What a kernel-counting backend would be told: the last change. */
struct hook_log {
	int calls, refuse;
	size_t nold, nnew;
	uint64_t new_ids[COUNTERS_MAX];
	char new_expr[COUNTERS_MAX][64];
};

static int log_hook(void *ctx, const struct counters_def *old, size_t nold,
		    const struct counters_def *new_, size_t nnew, char *err,
		    size_t errlen)
{
	struct hook_log *l = ctx;

	(void)old;
	l->calls++;
	if (l->refuse) {
		snprintf(err, errlen, "refused by the backend");
		return -EINVAL;
	}
	l->nold = nold;
	l->nnew = nnew;
	for (size_t i = 0; i < nnew; i++) {
		l->new_ids[i] = new_[i].id;
		snprintf(l->new_expr[i], sizeof(l->new_expr[i]), "%s",
			 new_[i].expr);
	}
	return 0;
}

static uint64_t pkts_of(struct counters *c, const char *name)
{
	struct counters_value v[COUNTERS_MAX];
	size_t n = counters_read(c, v, COUNTERS_MAX);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return v[i].pkts;
	return (uint64_t)-1;
}

Test(counters, hook_sees_each_change_and_can_refuse)
{
	char err[256];
	struct hook_log l;
	struct counters *c = counters_new(1, err, sizeof(err));
	uint64_t web_id;

	memset(&l, 0, sizeof(l));
	counters_set_hook(c, log_hook, &l);
	cr_assert_eq(counters_add(c, "web", "tcp port 80", err, sizeof(err)),
		     0);
	cr_assert_eq(l.calls, 1);
	cr_assert_eq(l.nold, 0);
	cr_assert_eq(l.nnew, 1);
	cr_assert_str_eq(l.new_expr[0], "tcp port 80");
	web_id = l.new_ids[0];
	cr_assert_eq(counters_add(c, "dns", "udp port 53", err, sizeof(err)),
		     0);
	cr_assert_eq(l.nnew, 2);
	cr_assert_eq(l.new_ids[0], web_id, "a kept counter keeps its id");
	cr_assert_neq(l.new_ids[1], web_id);
	/* refused: nothing changes, the backend's line is the error */
	l.refuse = 1;
	cr_assert_eq(counters_add(c, "x", "icmp", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "refused by the backend");
	cr_assert_eq(counters_count(c), 2);
	cr_assert_eq(counters_modify(c, "web", "tcp", err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(counters_remove(c, "dns", err, sizeof(err)), -EINVAL);
	cr_assert_eq(counters_count(c), 2);
	l.refuse = 0;
	/* a modified counter is a new one to the backend */
	cr_assert_eq(counters_modify(c, "web", "tcp", err, sizeof(err)), 0);
	cr_assert_neq(l.new_ids[0], web_id);
	cr_assert_str_eq(l.new_expr[0], "tcp");
	cr_assert_eq(counters_remove(c, "web", err, sizeof(err)), 0);
	cr_assert_eq(counters_remove(c, "dns", err, sizeof(err)), 0);
	cr_assert_eq(l.nnew, 0);
	counters_free(c);
}

Test(counters, credit_adds_by_id_and_ignores_old_ids)
{
	char err[256];
	struct hook_log l;
	struct counters *c = counters_new(2, err, sizeof(err));
	uint64_t id, old_id;

	memset(&l, 0, sizeof(l));
	counters_set_hook(c, log_hook, &l);
	cr_assert_eq(counters_add(c, "a", "udp", err, sizeof(err)), 0);
	id = l.new_ids[0];
	rcu_read_lock();
	counters_credit(c, 0, id, 5, 500);
	counters_credit(c, 1, id, 2, 200);
	counters_credit(c, 0, id + 100, 7, 700); /* no such counter */
	counters_credit(c, 9, id, 7, 700);	 /* no such worker */
	rcu_read_unlock();
	cr_assert_eq(pkts_of(c, "a"), 7);
	counters_zero(c);
	cr_assert_eq(pkts_of(c, "a"), 0);
	rcu_read_lock();
	counters_credit(c, 1, id, 3, 300);
	rcu_read_unlock();
	cr_assert_eq(pkts_of(c, "a"), 3);
	/* after a modify, counts for the old id are the old counter's */
	old_id = id;
	cr_assert_eq(counters_modify(c, "a", "tcp", err, sizeof(err)), 0);
	rcu_read_lock();
	counters_credit(c, 0, old_id, 4, 400);
	counters_credit(c, 0, l.new_ids[0], 1, 100);
	rcu_read_unlock();
	cr_assert_eq(pkts_of(c, "a"), 1);
	counters_free(c);
}
