/*
 * test_tcpstat.c - tcpstat intervals, substitutions, summaries.
 *
 * Where a test says "tcpstat 1.5 printed", the expected text was produced
 * by Debian's tcpstat 1.5 on a pcap holding the same packets; every other
 * expected value is computed here from the packet list.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pcap/dlt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcpstat.h"

#define BASE 1000000000.0 /* seconds */

static uint64_t ns(double s)
{
	return (uint64_t)llround(s * 1e9);
}

/* An Ethernet packet whose IP (or ARP) part is @size bytes. */
static void feed_ns(struct tcpstat *t, int kind, int proto, uint32_t size,
		    uint64_t ts_ns)
{
	struct dec_pkt d;

	memset(&d, 0, sizeof(d));
	d.kind = (uint8_t)kind;
	d.ipproto = (uint8_t)proto;
	d.l3_off = kind == KIND_OTHER ? 0 : 14;
	tcpstat_packet(t, &d, DLT_EN10MB, size + 14, ts_ns);
}

static void feed(struct tcpstat *t, int kind, int proto, uint32_t size,
		 double ts)
{
	feed_ns(t, kind, proto, size, ns(ts));
}

#define BASE_NS 1000000000000000000ull

static struct tcpstat *mk(const char *fmt, double interval, int flags)
{
	struct tcpstat_conf c;
	char err[256] = "";
	struct tcpstat *t;

	memset(&c, 0, sizeof(c));
	c.format = fmt;
	c.interval_ns = ns(interval);
	c.flags = flags;
	t = tcpstat_new(&c, err, sizeof(err));
	cr_assert_not_null(t, "%s", err);
	return t;
}

static char *drain(struct tcpstat *t, int *lines)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int n = tcpstat_drain(t, f);

	cr_assert_geq(n, 0);
	if (lines)
		*lines = n;
	fclose(f);
	return buf;
}

/* The packets of the reference pcap (sizes without Ethernet header). */
static void feed_ref(struct tcpstat *t)
{
	feed(t, KIND_UDP4, 17, 128, BASE + 0.1);
	feed(t, KIND_TCP4, 6, 240, BASE + 0.5);
	feed(t, KIND_ARP, 0, 28, BASE + 1.0);
	feed(t, KIND_TCP6, 6, 70, BASE + 1.7);
	feed(t, KIND_ICMP4, 1, 78, BASE + 4.2);
	feed(t, KIND_ICMP6, 58, 53, BASE + 4.25);
	feed(t, KIND_UDP4, 17, 1028, BASE + 6.0);
}

Test(tcpstat, default_format_matches_tcpstat)
{
	struct tcpstat *t = mk(NULL, 1, 0);
	char *out;
	int lines;

	feed_ref(t);
	tcpstat_finish(t);
	out = drain(t, &lines);
	/* tcpstat 1.5 printed (tcpstat -r ref.pcap 1): */
	cr_assert_str_eq(out, "Time:1000000001\tn=3\tavg=132.00\tstddev=86.59\t"
			      "bps=3168.00\n"
			      "Time:1000000002\tn=1\tavg=70.00\tstddev=0.00\t"
			      "bps=560.00\n"
			      "Time:1000000003\tn=0\tavg=0.00\tstddev=0.00\t"
			      "bps=0.00\n"
			      "Time:1000000004\tn=0\tavg=0.00\tstddev=0.00\t"
			      "bps=0.00\n"
			      "Time:1000000005\tn=2\tavg=65.50\tstddev=12.50\t"
			      "bps=1048.00\n"
			      "Time:1000000006\tn=1\tavg=1028.00\tstddev=0.00\t"
			      "bps=8224.00\n");
	cr_assert_eq(lines, 6);
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, skip_empty_matches_tcpstat)
{
	struct tcpstat *t = mk("%S %n\n", 1, TCPSTAT_SKIP_EMPTY);
	char *out;

	feed_ref(t);
	tcpstat_finish(t);
	out = drain(t, NULL);
	/* tcpstat 1.5 -e printed these four intervals */
	cr_assert_str_eq(out, "1000000001 3\n1000000002 1\n1000000005 2\n"
			      "1000000006 1\n");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, every_substitution)
{
	static const struct {
		int kind, proto;
		uint32_t size;
	} p[] = {
		{ KIND_TCP4, 6, 100 },	{ KIND_UDP4, 17, 200 },
		{ KIND_ICMP4, 1, 50 },	{ KIND_TCP6, 6, 300 },
		{ KIND_ICMP6, 58, 70 }, { KIND_ARP, 0, 28 },
		{ KIND_OTHER, 0, 500 }, { KIND_UDP6, 17, 90 },
		{ KIND_IP4, 47, 60 },
	};
	const int n = sizeof(p) / sizeof(p[0]);
	const double t0 = BASE + 100.25, iv = 2.0;
	struct tcpstat *t = mk("%A|%a|%B|%b|%C|%d|%I|%l|%M|%m|%N|%n|%p|%R|%r|"
			       "%S|%s|%T|%U|%V\n",
			       iv, 0);
	double sum = 0, var = 0, mean, mid;
	unsigned int mx = 0, mn = ~0u;
	char want[512], *out;

	for (int i = 0; i < n; i++) {
		feed(t, p[i].kind, p[i].proto, p[i].size, t0 + 0.1 * i);
		sum += p[i].size;
		mx = p[i].size > mx ? p[i].size : mx;
		mn = p[i].size < mn ? p[i].size : mn;
	}
	mean = sum / n;
	for (int i = 0; i < n; i++)
		var += (p[i].size - mean) * (p[i].size - mean);
	var /= n; /* population variance, as tcpstat */
	mid = t0 + iv / 2;
	tcpstat_finish(t);
	out = drain(t, NULL);
	snprintf(want, sizeof(want),
		 "%d|%.2f|%.2f|%.2f|%d|%.2f|%d|%.2f|%u|%u|%.0f|%d|%.2f|%d|"
		 "%.6f|%lld|%.6f|%d|%d|%d\n",
		 1, mean, sum / iv, sum / iv * 8, 2, sqrt(var), 4, 1.0, mx, mn,
		 sum, n, n / iv, (int)(iv / 2 + 0.5), iv / 2,
		 (long long)(mid + 0.5), mid, 2, 2, 3);
	cr_assert_str_eq(out, want);
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, escapes_percent_and_unknown)
{
	struct tcpstat *t =
		mk("a\\tb\\nc\\\\d\\qe\\a\\b\\f\\r\\v|%%|%x|%n%", 1, 0);
	char *out;

	feed(t, KIND_UDP4, 17, 10, BASE);
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_str_eq(out, "a\tb\nc\\dqe\a\b\f\r\v|%|%x|1%");
	free(out);
	tcpstat_free(t);

	/* a lone trailing backslash prints nothing */
	t = mk("x\\", 1, 0);
	feed(t, KIND_UDP4, 17, 10, BASE);
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_str_eq(out, "x");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, boundary_belongs_to_the_earlier_interval)
{
	struct tcpstat *t = mk("%n ", 1, 0);
	char *out;

	feed_ns(t, KIND_UDP4, 17, 10, BASE_NS);
	/* the end: still the first interval */
	feed_ns(t, KIND_UDP4, 17, 10, BASE_NS + 1000000000);
	/* the end of the second */
	feed_ns(t, KIND_UDP4, 17, 10, BASE_NS + 2000000000);
	/* one nanosecond later: the third */
	feed_ns(t, KIND_UDP4, 17, 10, BASE_NS + 2000000001);
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_str_eq(out, "2 1 1 ");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, empty_intervals_between_packets)
{
	struct tcpstat *t = mk("%S:%n ", 1, 0);
	char *out;
	int lines;

	feed(t, KIND_UDP4, 17, 10, BASE);
	feed(t, KIND_UDP4, 17, 10, BASE + 5.5);
	tcpstat_finish(t);
	out = drain(t, &lines);
	/* [0,1] [1,2] [2,3] [3,4] [4,5] [5,6]; times are the middles */
	cr_assert_str_eq(out, "1000000001:1 1000000002:0 1000000003:0 "
			      "1000000004:0 1000000005:0 1000000006:1 ");
	cr_assert_eq(lines, 6);
	free(out);
	tcpstat_free(t);

	t = mk("%S:%n ", 1, TCPSTAT_SKIP_EMPTY);
	feed(t, KIND_UDP4, 17, 10, BASE);
	feed(t, KIND_UDP4, 17, 10, BASE + 5.5);
	tcpstat_finish(t);
	out = drain(t, &lines);
	cr_assert_str_eq(out, "1000000001:1 1000000006:1 ");
	cr_assert_eq(lines, 2);
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, long_gap_costs_no_memory_per_interval)
{
	/* one million empty intervals: queued as one record */
	struct tcpstat *t = mk("%n\n", 0.001, 0);
	char *out;
	int lines;
	size_t zeros = 0;

	feed(t, KIND_UDP4, 17, 10, BASE);
	feed(t, KIND_UDP4, 17, 10, BASE + 1000.0005);
	tcpstat_finish(t);
	out = drain(t, &lines);
	cr_assert_eq(lines, 1000001);
	for (char *p = out; *p; p++)
		zeros += *p == '0';
	cr_assert_eq(zeros, 999999);
	cr_assert_eq(strncmp(out, "1\n0\n", 4), 0);
	cr_assert_str_eq(out + strlen(out) - 4, "0\n1\n");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, load_is_an_ewma_over_the_peak)
{
	struct tcpstat *t = mk("%l %b\n", 10, 0);
	double b1 = 1000.0 * 8 / 10, b2 = 100.0 * 8 / 10;
	double a = 1 - exp(-10.0 / 60), load;
	char want[256], *out;

	feed(t, KIND_UDP4, 17, 1000, BASE);
	feed(t, KIND_UDP4, 17, 100, BASE + 15);
	/* a gap of two empty intervals, then one more packet */
	feed(t, KIND_UDP4, 17, 100, BASE + 45);
	tcpstat_finish(t);
	out = drain(t, NULL);

	load = b1; /* seeded with the first interval, then averaged */
	load += (b1 - load) * a;
	snprintf(want, sizeof(want), "%.2f %.2f\n", load / b1, b1);
	load += (b2 - load) * a;
	snprintf(want + strlen(want), sizeof(want) - strlen(want),
		 "%.2f %.2f\n", load / b1, b2);
	for (int i = 0; i < 2; i++) {
		load -= load * a; /* empty interval */
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 "%.2f 0.00\n", load / b1);
	}
	load += (b2 - load) * a;
	snprintf(want + strlen(want), sizeof(want) - strlen(want),
		 "%.2f %.2f\n", load / b1, b2);
	cr_assert_str_eq(out, want);
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, whole_capture_interval)
{
	struct tcpstat *t = mk(NULL, 0, 0);
	char *out;

	feed_ref(t);
	tcpstat_finish(t);
	out = drain(t, NULL);
	/* tcpstat 1.5 printed (tcpstat -r ref.pcap -1): */
	cr_assert_str_eq(out, "Time:1000000003\tn=7\tavg=232.14\t"
			      "stddev=331.26\tbps=2203.39\n");
	free(out);
	tcpstat_free(t);

	/* one packet: zero length, rates print as 0 */
	t = mk("%n %b %p\n", 0, 0);
	feed(t, KIND_UDP4, 17, 10, BASE);
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_str_eq(out, "1 0.00 0.00\n");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, capture_limit_pads_and_ignores)
{
	struct tcpstat_conf c;
	char err[256];
	struct tcpstat *t;
	char *out;

	memset(&c, 0, sizeof(c));
	c.format = "%S %n\n";
	c.interval_ns = ns(2);
	c.capture_ns = ns(9);
	t = tcpstat_new(&c, err, sizeof(err));
	cr_assert_not_null(t);
	feed_ref(t);
	feed(t, KIND_UDP4, 17, 10, BASE + 9.2); /* > first + 9 s: ignored */
	tcpstat_finish(t);
	out = drain(t, NULL);
	/* tcpstat 1.5 printed (tcpstat -r ref.pcap -s 9 2): */
	cr_assert_str_eq(out, "1000000001 4\n1000000003 0\n1000000005 3\n"
			      "1000000007 0\n");
	free(out);
	tcpstat_free(t);

	/* -s shorter than the interval: one interval for everything */
	c.capture_ns = ns(1.5);
	t = tcpstat_new(&c, err, sizeof(err));
	feed_ref(t);
	tcpstat_finish(t);
	out = drain(t, NULL);
	/* packets at +0, +0.4, +0.9 (1.7 is past 1.5 s): middle +0.45 */
	cr_assert_str_eq(out, "1000000001 3\n");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, requested_print_closes_a_partial_interval)
{
	struct tcpstat *t = mk("%n %b %N %s\n", 10, 0);
	char *out;

	feed(t, KIND_UDP4, 17, 100, BASE);
	feed(t, KIND_UDP4, 17, 200, BASE + 1);
	tcpstat_request_print(t);
	/* performed when the next packet comes: [0, 4) then a new start */
	feed(t, KIND_UDP4, 17, 400, BASE + 4);
	feed(t, KIND_UDP4, 17, 800, BASE + 13.5);
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_str_eq(out, "2 600.00 300 1000000002.000000\n"
			      "2 960.00 1200 1000000009.000000\n");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, advance_closes_quiet_intervals)
{
	struct tcpstat *t = mk("%n ", 1, 0);
	char *out;
	int lines;

	tcpstat_advance(t, ns(BASE + 10)); /* before any packet: nothing */
	feed(t, KIND_UDP4, 17, 10, BASE + 0.5);
	tcpstat_advance(t, ns(BASE + 1.2)); /* not past the end yet */
	out = drain(t, &lines);
	cr_assert_eq(lines, 0);
	free(out);
	tcpstat_advance(t, ns(BASE + 3.7));
	out = drain(t, &lines);
	cr_assert_str_eq(out, "1 0 0 ");
	cr_assert_eq(lines, 3);
	free(out);
	/* a late packet counts in the current interval [3.5, 4.5] */
	feed(t, KIND_UDP4, 17, 10, BASE + 3.0);
	tcpstat_request_print(t);
	tcpstat_advance(t, ns(BASE + 3.9));
	out = drain(t, NULL);
	cr_assert_str_eq(out, "1 ");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, packet_sizes)
{
	struct dec_pkt d;

	memset(&d, 0, sizeof(d));
	d.kind = KIND_TCP4;
	d.l3_off = 18; /* one VLAN tag */
	cr_assert_eq(tcpstat_packet_size(&d, DLT_EN10MB, 100, 0), 82);
	cr_assert_eq(tcpstat_packet_size(&d, DLT_EN10MB, 100, TCPSTAT_LINK),
		     100);
	d.kind = KIND_OTHER;
	d.l3_off = 0;
	cr_assert_eq(tcpstat_packet_size(&d, DLT_EN10MB, 100, 0), 86);
	cr_assert_eq(tcpstat_packet_size(&d, DLT_LINUX_SLL, 100, 0), 84);
	cr_assert_eq(tcpstat_packet_size(&d, DLT_LINUX_SLL2, 100, 0), 80);
	cr_assert_eq(tcpstat_packet_size(&d, DLT_NULL, 100, 0), 96);
	cr_assert_eq(tcpstat_packet_size(&d, DLT_RAW, 100, 0), 100);
	cr_assert_eq(tcpstat_packet_size(&d, DLT_EN10MB, 10, 0), 0);
}

Test(tcpstat, link_flag_counts_the_header)
{
	struct tcpstat *t = mk("%N %M %m\n", 1, TCPSTAT_LINK);
	char *out;

	feed(t, KIND_UDP4, 17, 100, BASE);
	feed(t, KIND_ARP, 0, 28, BASE + 0.1);
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_str_eq(out, "156 114 42\n");
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, accounting_summary)
{
	struct tcpstat_conf c;
	char err[256];
	struct tcpstat *t;
	char *out;

	memset(&c, 0, sizeof(c));
	c.interval_ns = ns(1);
	c.mode = TCPSTAT_MODE_ACCOUNT;
	t = tcpstat_new(&c, err, sizeof(err));
	cr_assert_not_null(t);
	/* 3 MiB over three one-second intervals: 1 MiB/s */
	feed(t, KIND_UDP4, 17, 1048576, BASE);
	feed(t, KIND_UDP4, 17, 1048576, BASE + 1.5);
	feed(t, KIND_UDP4, 17, 1048576, BASE + 2.5);
	tcpstat_finish(t);
	out = drain(t, NULL);
	/*
	 * Exactly 1 MiB is not above 1 MiB, so KB; 60 MiB/min; 3600 MiB/h
	 * = 3.5 GiB; 84.375 GiB/day; times 30 = 2531.25 GiB.
	 */
	cr_assert_str_eq(out, "Bytes/sec\t=   1024.0 KB\n"
			      "Bytes/minute\t=     60.0 MB\n"
			      "Bytes/hour\t=      3.5 GB\n"
			      "Bytes/day\t=     84.4 GB\n"
			      "Bytes/month\t=   2531.2 GB\n");
	free(out);
	tcpstat_free(t);

	/* nothing captured */
	t = tcpstat_new(&c, err, sizeof(err));
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_eq(strncmp(out, "Bytes/sec\t=      0.0  B\n", 24), 0, "%s",
		     out);
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, accounting_counts_the_last_interval_once)
{
	struct tcpstat_conf c;
	char err[256], want[64], *out;
	struct tcpstat *t;

	memset(&c, 0, sizeof(c));
	c.interval_ns = ns(1);
	c.mode = TCPSTAT_MODE_ACCOUNT;
	t = tcpstat_new(&c, err, sizeof(err));
	feed_ref(t);
	tcpstat_finish(t);
	out = drain(t, NULL);
	/* 1625 bytes over six intervals (tcpstat 1.5 divides by 7) */
	snprintf(want, sizeof(want), "Bytes/sec\t= %8.1f  B\n", 1625.0 / 6);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
	free(out);
	tcpstat_free(t);
}

Test(tcpstat, bandwidth_smart_and_dumb)
{
	struct tcpstat_conf c;
	char err[256], *out;
	struct tcpstat *t;

	memset(&c, 0, sizeof(c));
	c.interval_ns = ns(1);
	c.mode = TCPSTAT_MODE_BANDWIDTH;
	c.bandwidth_bps = 1000;
	t = tcpstat_new(&c, err, sizeof(err));
	cr_assert_not_null(t);
	feed_ref(t);
	tcpstat_finish(t);
	out = drain(t, NULL);
	/*
	 * Per interval (bits/s): 3168, 560, 0, 0, 1048, 8224. The excess of
	 * the first (271 bytes) lifts the second to 2728, whose excess
	 * (216) lifts the fifth to 2776: four intervals over, of six.
	 */
	cr_assert_str_eq(out, "Time exceeding 1000.00 bps:\t4.00 sec.\t"
			      "(66.67% of the time)\n"
			      "Peak Bandwidth: 8224.00 bps\n");
	free(out);
	tcpstat_free(t);

	c.mode = TCPSTAT_MODE_DUMB_BANDWIDTH;
	t = tcpstat_new(&c, err, sizeof(err));
	feed_ref(t);
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_str_eq(out, "(Raw) Time exceeding 1000.00 bps:\t3.00 sec.\t"
			      "(50.00% of the time)\n"
			      "Peak Bandwidth: 8224.00 bps\n");
	free(out);
	tcpstat_free(t);

	c.bandwidth_bps = 0;
	cr_assert_null(tcpstat_new(&c, err, sizeof(err)));
	cr_assert(strstr(err, "-B:"), "%s", err);
}

Test(tcpstat, descriptor_switch)
{
	int p[2];
	char fmt[64], buf[64], *out;
	struct tcpstat *t;
	ssize_t n;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(dup2(p[1], 200), 200);
	t = mk("A%200B%1C%300D\n", 1, 0);
	feed(t, KIND_UDP4, 17, 10, BASE);
	tcpstat_finish(t);
	out = drain(t, NULL);
	cr_assert_str_eq(out, "ACD\n"); /* 300 > 256 means stdout */
	n = read(p[0], buf, sizeof(buf) - 1);
	cr_assert_eq(n, 1);
	buf[n] = 0;
	cr_assert_str_eq(buf, "B");
	free(out);
	tcpstat_free(t);
	close(200);

	/* closed, read-only and socket descriptors are refused */
	{
		struct tcpstat_conf c;
		char err[256] = "";
		int sv[2];

		memset(&c, 0, sizeof(c));
		c.interval_ns = ns(1);
		c.format = "%200x";
		cr_assert_null(tcpstat_new(&c, err, sizeof(err)));
		cr_assert(strstr(err, "descriptor 200 is not open"), "%s", err);
		cr_assert_eq(dup2(p[0], 201), 201);
		c.format = "%201x";
		cr_assert_null(tcpstat_new(&c, err, sizeof(err)));
		cr_assert(strstr(err, "not open for writing"), "%s", err);
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		cr_assert_eq(dup2(sv[0], 202), 202);
		snprintf(fmt, sizeof(fmt), "%%%d", 202);
		c.format = fmt;
		cr_assert_null(tcpstat_new(&c, err, sizeof(err)));
		cr_assert(strstr(err, "not a file, pipe or terminal"), "%s",
			  err);
		/* escaped or literal percent signs are not switches */
		c.format = "\\%200 %%200";
		cr_assert_not_null(t = tcpstat_new(&c, err, sizeof(err)));
		tcpstat_free(t);
	}
}

struct producer {
	struct tcpstat *t;
	int packets;
	int done;
	int waited_ok;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	/* every 2 ms with 1 ms intervals: one packet line, one empty;
	 * room is awaited between "ring blocks" of 64 packets */
	for (int i = 0; i < p->packets; i++) {
		feed_ns(p->t, KIND_UDP4, 17, 10, BASE_NS + i * 2000000ull);
		if (i % 64 == 63 && tcpstat_wait_room(p->t) == 0)
			p->waited_ok++;
	}
	tcpstat_finish(p->t);
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(tcpstat, full_queue_waits_for_the_drain_and_loses_nothing)
{
	char fmt[1100];
	struct producer p;
	pthread_t th;
	FILE *f = fopen("/dev/null", "w");
	long total = 0;

	/* ~1 KiB per line, 10000 full ones: more than twice the queue cap */
	memset(fmt, 'x', 1024);
	strcpy(fmt + 1024, "%n\\n");
	p.t = mk(fmt, 0.001, 0);
	p.packets = 10000;
	p.done = 0;
	p.waited_ok = 0;
	cr_assert_eq(pthread_create(&th, NULL, produce, &p), 0);
	while (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE)) {
		int n = tcpstat_drain(p.t, f);

		cr_assert_geq(n, 0);
		total += n;
		/* slower than the producer: it has to wait for room */
		usleep(20000);
	}
	pthread_join(th, NULL);
	total += tcpstat_drain(p.t, f);
	cr_assert_eq(total, 19998);
	/* every wait found room in the end: the drainer kept up */
	cr_assert_eq(p.waited_ok, 10000 / 64);
	fclose(f);
	tcpstat_free(p.t);
}

Test(tcpstat, released_producer_does_not_wait)
{
	char fmt[1100];
	struct producer p;
	struct timespec a, b;
	char *out;
	int lines;

	memset(fmt, 'x', 1024);
	strcpy(fmt + 1024, "%n\\n");
	p.t = mk(fmt, 0.001, 0);
	p.packets = 10000;
	p.waited_ok = 0;
	tcpstat_release(p.t);
	clock_gettime(CLOCK_MONOTONIC, &a);
	produce(&p);
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* nobody drained: without release each wait would take a second */
	cr_assert_lt(b.tv_sec - a.tv_sec, 5);
	cr_assert_eq(p.waited_ok, 10000 / 64);
	out = drain(p.t, &lines);
	cr_assert_eq(lines, 19998);
	free(out);
	tcpstat_free(p.t);
}

Test(tcpstat, wait_room_times_out_without_a_drainer)
{
	char fmt[1100];
	struct timespec a, b;
	struct tcpstat *t;
	double waited;

	memset(fmt, 'x', 1024);
	strcpy(fmt + 1024, "%n\\n");
	t = mk(fmt, 0.001, 0);
	cr_assert_eq(tcpstat_wait_room(t), 0); /* empty: no wait */
	/* ~10 MiB queued: over the cap, and nobody drains */
	for (int i = 0; i < 10000; i++)
		feed_ns(t, KIND_UDP4, 17, 10, BASE_NS + i * 2000000ull);
	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_assert_eq(tcpstat_wait_room(t), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	waited = (double)(b.tv_sec - a.tv_sec) +
		 (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	cr_assert_geq(waited, TCPSTAT_WAIT_MS / 1000.0 - 0.05);
	cr_assert_lt(waited, TCPSTAT_WAIT_MS / 1000.0 + 2);
	free(drain(t, NULL));
	cr_assert_eq(tcpstat_wait_room(t), 0); /* room again */
	tcpstat_free(t);
}

Test(tcpstat, no_packets_no_interval_line)
{
	struct tcpstat *t = mk(NULL, 1, 0);
	char *out;
	int lines;

	tcpstat_finish(t);
	feed(t, KIND_UDP4, 17, 10, BASE); /* after finish: ignored */
	out = drain(t, &lines);
	cr_assert_eq(lines, 0);
	cr_assert_str_eq(out, "");
	free(out);
	tcpstat_free(t);
	tcpstat_free(NULL);
}
