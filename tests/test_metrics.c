/* test_metrics.c - the Prometheus exposition text and --metrics addresses. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* The value of the sample line that starts with @prefix, or -1. */
static long long sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return atoll(p + n + 1);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t k = 0;
	const char *p = text;

	while ((p = strstr(p, prefix))) {
		if (p == text || p[-1] == '\n')
			k++;
		p++;
	}
	return k;
}

Test(metrics, counters_per_interface_and_kind)
{
	struct metrics_iface ifs[2];
	struct metrics_input in;
	char *t;
	size_t len;

	memset(ifs, 0, sizeof(ifs));
	memset(&in, 0, sizeof(in));
	ifs[0].name = "eth0";
	ifs[0].pkts[KIND_TCP4] = 7;
	ifs[0].bytes[KIND_TCP4] = 700;
	ifs[0].pkts[KIND_ARP] = 2;
	ifs[0].cap.kernel_drops = 3;
	ifs[1].name = "we\"ird";
	ifs[1].pkts[KIND_UDP6] = 11;
	in.ifaces = ifs;
	in.nifaces = 2;
	in.flows_live = 4;
	in.flows_evicted = 9;
	in.overflow[KIND_UDP4].pkts = 5;
	in.overflow[KIND_TCP6].pkts = 6;
	cr_assert_eq(metrics_format(&in, &t, &len), 0);
	cr_assert_eq(strlen(t), len);
	cr_assert_eq(sample(t, "pktstat_packets_total{interface=\"eth0\","
			       "protocol=\"tcp\",family=\"ipv4\"}"),
		     7);
	cr_assert_eq(sample(t, "pktstat_bytes_total{interface=\"eth0\","
			       "protocol=\"tcp\",family=\"ipv4\"}"),
		     700);
	cr_assert_eq(sample(t, "pktstat_packets_total{interface=\"eth0\","
			       "protocol=\"arp\",family=\"link\"}"),
		     2);
	/* the quote in the interface name is escaped */
	cr_assert_eq(sample(t, "pktstat_packets_total{interface=\"we\\\"ird\","
			       "protocol=\"udp\",family=\"ipv6\"}"),
		     11);
	cr_assert_eq(
		sample(t, "pktstat_kernel_drops_total{interface=\"eth0\"}"), 3);
	cr_assert_eq(sample(t, "pktstat_overflow_packets_total"), 11);
	cr_assert_eq(sample(t, "pktstat_flows"), 4);
	cr_assert_eq(sample(t, "pktstat_flows_evicted_total"), 9);
	/* every kind once per interface: the series add up to everything */
	cr_assert_eq(count_lines(t, "pktstat_packets_total{"), 2 * KIND_COUNT);
	cr_assert_eq(count_lines(t, "# TYPE pktstat_packets_total counter"), 1);
	/* nothing about sessions, top flows or IPFIX when there are none */
	cr_assert_null(strstr(t, "pktstat_session_"));
	cr_assert_null(strstr(t, "pktstat_top_flow_"));
	cr_assert_null(strstr(t, "pktstat_ipfix_"));
	free(t);
}

Test(metrics, sessions_top_and_ipfix)
{
	struct metrics_input in;
	struct counters_value cv[1];
	struct flowtab_row top[2];
	struct metrics_ipfix x = { .records = 12, .drop_pkts = 3 };
	char *t;
	size_t len;

	memset(&in, 0, sizeof(in));
	memset(cv, 0, sizeof(cv));
	memset(top, 0, sizeof(top));
	strcpy(cv[0].name, "web");
	cv[0].pkts = 42;
	cv[0].bytes = 4200;
	top[0].key.kind = KIND_UDP4;
	top[0].key.a[0] = 10;
	top[0].key.a[3] = 1;
	top[0].key.aport = 53;
	top[0].key.b[0] = 10;
	top[0].key.b[3] = 2;
	top[0].key.bport = 5353;
	top[0].bytes[0] = 100;
	top[0].bytes[1] = 50;
	top[0].pkts[0] = 2;
	top[1] = top[0];
	top[1].key.bport = 5354;
	in.sessions = cv;
	in.nsessions = 1;
	in.top = top;
	in.ntop = 2;
	in.ipfix = &x;
	cr_assert_eq(metrics_format(&in, &t, &len), 0);
	cr_assert_eq(
		sample(t, "pktstat_session_packets_total{session=\"web\"}"),
		42);
	cr_assert_eq(sample(t, "pktstat_session_bytes_total{session=\"web\"}"),
		     4200);
	cr_assert_eq(sample(t, "pktstat_top_flow_bytes{rank=\"1\","
			       "protocol=\"udp\",family=\"ipv4\","
			       "a=\"10.0.0.1:53\",b=\"10.0.0.2:5353\"}"),
		     150);
	cr_assert_eq(count_lines(t, "pktstat_top_flow_bytes{"), 2);
	cr_assert_eq(count_lines(t, "pktstat_top_flow_packets{"), 2);
	cr_assert_eq(sample(t, "pktstat_ipfix_records_total"), 12);
	cr_assert_eq(sample(t, "pktstat_ipfix_dropped_packets_total"), 3);
	free(t);
}

Test(metrics, listen_addresses)
{
	struct sockaddr_in6 sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
	unsigned int len;
	char err[256];

	cr_assert_eq(metrics_parse_addr("9417", (struct sockaddr *)&sa, &len,
					err, sizeof(err)),
		     0);
	cr_assert_eq(s4->sin_family, AF_INET);
	cr_assert_eq(ntohl(s4->sin_addr.s_addr), INADDR_LOOPBACK);
	cr_assert_eq(ntohs(s4->sin_port), 9417);
	cr_assert_eq(metrics_parse_addr("0.0.0.0:80", (struct sockaddr *)&sa,
					&len, err, sizeof(err)),
		     0);
	cr_assert_eq(s4->sin_addr.s_addr, 0);
	cr_assert_eq(metrics_parse_addr("[::1]:9100", (struct sockaddr *)&sa,
					&len, err, sizeof(err)),
		     0);
	cr_assert_eq(sa.sin6_family, AF_INET6);
	cr_assert_eq(len, sizeof(sa));
	cr_assert_eq(ntohs(sa.sin6_port), 9100);
	const char *bad[] = { "0",	    "65536", "::1:80",
			      "[::1:80",    "x:80",  "1.2.3.4:",
			      "1.2.3.4:-1", "host:", "1.2.3.4:80x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(metrics_parse_addr(bad[i], (struct sockaddr *)&sa,
						&len, err, sizeof(err)),
			     -EINVAL, "%s accepted", bad[i]);
		cr_assert_not_null(strstr(err, bad[i]));
	}
}
