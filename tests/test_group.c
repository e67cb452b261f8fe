/* test_group.c - flows aggregated by host, network, port, protocol, VLAN,
 * process and app. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "app.h"
#include "flowkey.h"
#include "group.h"

/* A flow between two IPv4 hosts (A must be the smaller, as flowkey makes
 * it) with @ab/@ba packets of 100 bytes each way. */
static struct flowtab_row flow4(int kind, const char *a, const char *b,
				int aport, int bport, int vlan, int ab, int ba)
{
	struct flowtab_row r;

	memset(&r, 0, sizeof(r));
	r.key.kind = (uint8_t)kind;
	cr_assert_eq(inet_pton(AF_INET, a, r.key.a), 1);
	cr_assert_eq(inet_pton(AF_INET, b, r.key.b), 1);
	r.key.aport = (uint16_t)aport;
	r.key.bport = (uint16_t)bport;
	r.key.vlan = (uint16_t)vlan;
	r.pkts[FLOW_DIR_AB] = (uint64_t)ab;
	r.pkts[FLOW_DIR_BA] = (uint64_t)ba;
	r.bytes[FLOW_DIR_AB] = 100u * (uint64_t)ab;
	r.bytes[FLOW_DIR_BA] = 100u * (uint64_t)ba;
	r.first_ns = 1000;
	r.last_ns = 2000;
	return r;
}

static const struct group_row *find(struct group_set *g, const char *label)
{
	size_t n;
	const struct group_row *rows = group_rows(g, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].label, label))
			return &rows[i];
	return NULL;
}

Test(group, host_counts_both_endpoints_with_tx_and_rx)
{
	struct group_set *g = group_new(GROUP_HOST, 24, 64);
	struct flowtab_row r1 =
		flow4(KIND_TCP4, "10.0.0.1", "10.0.0.2", 40000, 80, 0, 3, 5);
	struct flowtab_row r2 =
		flow4(KIND_UDP4, "10.0.0.1", "10.0.1.9", 53, 5353, 0, 7, 11);
	const struct group_row *h;
	size_t n;

	cr_assert(g);
	cr_assert_eq(group_add(g, &r1), 0);
	cr_assert_eq(group_add(g, &r2), 0);
	group_rows(g, &n);
	cr_assert_eq(n, 3);
	h = find(g, "10.0.0.1");
	cr_assert(h);
	cr_assert_eq(h->pkts[0], 3 + 7); /* sent */
	cr_assert_eq(h->pkts[1], 5 + 11);
	cr_assert_eq(h->bytes[0], 1000);
	cr_assert_eq(h->flows, 2);
	h = find(g, "10.0.1.9");
	cr_assert(h);
	cr_assert_eq(h->pkts[0], 11);
	cr_assert_eq(h->pkts[1], 7);
	group_free(g);
}

Test(group, net_prefix_and_port_service)
{
	struct group_set *g = group_new(GROUP_NET, 16, 48);
	struct flowtab_row r1 =
		flow4(KIND_TCP4, "10.1.2.3", "10.1.9.9", 80, 40000, 0, 2, 4);
	struct flowtab_row r2 = flow4(KIND_TCP4, "10.1.2.3", "192.168.7.1",
				      40001, 443, 0, 1, 1);
	const struct group_row *h;

	cr_assert_eq(group_add(g, &r1), 0);
	cr_assert_eq(group_add(g, &r2), 0);
	h = find(g, "10.1.0.0/16");
	cr_assert(h, "10.1.0.0/16 missing");
	/* r1 lies inside the group: it counts once, not once a side */
	cr_assert_eq(h->flows, 2);
	cr_assert_eq(h->pkts[0] + h->pkts[1], 2 + 4 + 1 + 1);
	cr_assert(find(g, "192.168.0.0/16"));
	group_free(g);

	g = group_new(GROUP_PORT, 24, 64);
	cr_assert_eq(group_add(g, &r1), 0);
	cr_assert_eq(group_add(g, &r2), 0);
	h = find(g, "TCP/80");
	cr_assert(h);
	/* the server (port 80, side A) sent A->B */
	cr_assert_eq(h->pkts[0], 2);
	cr_assert_eq(h->pkts[1], 4);
	h = find(g, "TCP/443");
	cr_assert(h);
	cr_assert_eq(h->flows, 1);
	group_free(g);
}

Test(group, proto_and_vlan_totals_are_exact)
{
	struct group_set *gp = group_new(GROUP_PROTO, 24, 64);
	struct group_set *gv = group_new(GROUP_VLAN, 24, 64);
	uint64_t want = 0, got = 0;
	size_t n;

	for (int i = 0; i < 5000; i++) {
		char b[32];
		struct flowtab_row r;

		snprintf(b, sizeof(b), "10.9.%d.%d", i / 250, i % 250 + 1);
		r = flow4(i % 3 ? KIND_UDP4 : KIND_TCP4, "10.0.0.1", b, 1000,
			  2000 + i, i % 7, i % 13, i % 5);
		want += r.pkts[0] + r.pkts[1];
		cr_assert_eq(group_add(gp, &r), 0);
		cr_assert_eq(group_add(gv, &r), 0);
	}
	const struct group_row *rows = group_rows(gp, &n);
	cr_assert_eq(n, 2);
	for (size_t i = 0; i < n; i++)
		got += rows[i].pkts[0] + rows[i].pkts[1];
	cr_assert_eq(got, want);
	rows = group_rows(gv, &n);
	cr_assert_eq(n, 7); /* untagged + vlans 1..6 */
	got = 0;
	for (size_t i = 0; i < n; i++)
		got += rows[i].pkts[0] + rows[i].pkts[1];
	cr_assert_eq(got, want);
	cr_assert(find(gv, "untagged"));
	cr_assert(find(gv, "6"));
	group_free(gp);
	group_free(gv);
}

Test(group, many_hosts_grow_the_index)
{
	struct group_set *g = group_new(GROUP_HOST, 24, 64);
	size_t n;

	for (int i = 0; i < 20000; i++) {
		char a[32];
		struct flowtab_row r;

		snprintf(a, sizeof(a), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
			 i & 255);
		r = flow4(KIND_UDP4, a, "200.0.0.1", 1, 2, 0, 1, 0);
		cr_assert_eq(group_add(g, &r), 0);
	}
	group_rows(g, &n);
	cr_assert_eq(n, 20001);
	cr_assert_eq(find(g, "200.0.0.1")->pkts[1], 20000);
	cr_assert_eq(find(g, "10.0.78.31")->pkts[0], 1);
	group_free(g);
}

Test(group, parse_names_and_prefixes)
{
	enum group_by by;
	int v4 = 24, v6 = 64;

	cr_assert_eq(group_parse("host", &by), 0);
	cr_assert_eq(by, GROUP_HOST);
	cr_assert_eq(group_parse("vlan", &by), 0);
	cr_assert_eq(group_parse("hosts", &by), -EINVAL);
	cr_assert_str_eq(group_name(GROUP_PORT), "port");
	cr_assert_eq(group_parse_prefix("16,48", &v4, &v6), 0);
	cr_assert_eq(v4, 16);
	cr_assert_eq(v6, 48);
	cr_assert_eq(group_parse_prefix(",56", &v4, &v6), 0);
	cr_assert_eq(v4, 16);
	cr_assert_eq(v6, 56);
	cr_assert_eq(group_parse_prefix("33", &v4, &v6), -EINVAL);
	cr_assert_eq(group_parse_prefix("8,129", &v4, &v6), -EINVAL);
	cr_assert_eq(group_parse_prefix("x", &v4, &v6), -EINVAL);
	cr_assert_eq(group_parse_prefix("", &v4, &v6), -EINVAL);
	cr_assert_eq(v4, 16);
}

Test(group, place_says_where_and_ids_survive_clear)
{
	struct group_set *g = group_new(GROUP_HOST, 24, 64);
	struct flowtab_row r =
		flow4(KIND_TCP4, "10.0.0.9", "10.0.0.10", 40000, 80, 0, 3, 5);
	struct group_place p;
	const struct group_row *rows;
	uint64_t id9, id10;
	size_t n;

	cr_assert_eq(group_place(g, &r, &p), 0);
	cr_assert_eq(p.n, 2);
	rows = group_rows(g, &n);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(rows[p.row[0]].label, "10.0.0.9");
	cr_assert_eq(p.tx[0], FLOW_DIR_AB);
	cr_assert_str_eq(rows[p.row[1]].label, "10.0.0.10");
	cr_assert_eq(p.tx[1], FLOW_DIR_BA);
	cr_assert_eq(rows[0].pkts[0], 0, "placed, not added");
	/* numbers order as numbers: .9 before .10 */
	cr_assert_lt(rows[p.row[0]].order[2] | rows[p.row[0]].order[1],
		     rows[p.row[1]].order[2] | rows[p.row[1]].order[1]);
	id9 = rows[p.row[0]].id;
	id10 = rows[p.row[1]].id;
	cr_assert_neq(id9, id10);
	group_clear(g);
	group_rows(g, &n);
	cr_assert_eq(n, 0);
	/* the other way round after a clear: same ids */
	r = flow4(KIND_UDP4, "10.0.0.10", "10.0.0.11", 1, 2, 0, 1, 1);
	cr_assert_eq(group_place(g, &r, &p), 0);
	rows = group_rows(g, &n);
	cr_assert_str_eq(rows[p.row[0]].label, "10.0.0.10");
	cr_assert_eq(rows[p.row[0]].id, id10);
	group_free(g);
}

Test(group, port_order_is_numeric)
{
	struct group_set *g = group_new(GROUP_PORT, 24, 64);
	struct flowtab_row a =
		flow4(KIND_TCP4, "10.0.0.1", "10.0.0.2", 40000, 443, 0, 1, 1);
	struct flowtab_row b =
		flow4(KIND_TCP4, "10.0.0.1", "10.0.0.2", 40001, 80, 0, 1, 1);
	const struct group_row *x, *y;

	cr_assert_eq(group_add(g, &a), 0);
	cr_assert_eq(group_add(g, &b), 0);
	x = find(g, "TCP/80");
	y = find(g, "TCP/443");
	cr_assert(x && y);
	cr_assert_eq(x->order[0], y->order[0]);
	cr_assert_lt(x->order[1], y->order[1]);
	group_free(g);
}

/* GROUP_PROC's namer for the tests: flows to port 80 are curl's on side
 * A, port 53 named's on side B, the rest unknown. */
static int fake_proc(void *arg, const struct flowtab_row *r, char *buf,
		     size_t len)
{
	(void)arg;
	if (r->key.bport == 80) {
		snprintf(buf, len, "curl[42]");
		return 0;
	}
	if (r->key.aport == 53 || r->key.bport == 53) {
		snprintf(buf, len, "named[7]");
		return 1;
	}
	return -1;
}

Test(group, process_groups_by_the_namers_label_and_side)
{
	struct group_set *g = group_new(GROUP_PROC, 24, 64);
	struct flowtab_row r1 =
		flow4(KIND_TCP4, "10.0.0.1", "10.0.0.2", 40000, 80, 0, 3, 5);
	struct flowtab_row r2 =
		flow4(KIND_TCP4, "10.0.0.1", "10.0.0.3", 40001, 80, 0, 1, 1);
	struct flowtab_row r3 =
		flow4(KIND_UDP4, "10.0.0.1", "10.0.0.9", 5000, 53, 0, 2, 4);
	struct flowtab_row r4 =
		flow4(KIND_UDP4, "10.0.0.1", "10.0.0.9", 5000, 99, 0, 1, 0);
	const struct group_row *c, *n, *u;
	enum group_by by;

	cr_assert_eq(group_parse("process", &by), 0);
	cr_assert_eq(by, GROUP_PROC);
	cr_assert_str_eq(group_name(GROUP_PROC), "process");
	group_set_proc(g, fake_proc, NULL);
	cr_assert_eq(group_add(g, &r1), 0);
	cr_assert_eq(group_add(g, &r2), 0);
	cr_assert_eq(group_add(g, &r3), 0);
	cr_assert_eq(group_add(g, &r4), 0);
	c = find(g, "curl[42]");
	n = find(g, "named[7]");
	u = find(g, "-");
	cr_assert(c && n && u);
	cr_assert_eq(c->flows, 2);
	cr_assert_eq(c->pkts[0], 4); /* curl on side A sent A->B */
	cr_assert_eq(c->pkts[1], 6);
	cr_assert_eq(n->pkts[0], 4); /* named on side B sent B->A */
	cr_assert_eq(n->pkts[1], 2);
	cr_assert_eq(u->flows, 1);
	group_free(g);
}

Test(group, app_groups_by_label_port_guess_marked)
{
	struct group_set *g = group_new(GROUP_APP, 24, 64);
	struct flowtab_row r1 =
		flow4(KIND_TCP4, "10.0.0.1", "10.0.0.2", 40000, 8080, 0, 1, 1);
	struct flowtab_row r2 =
		flow4(KIND_TCP4, "10.0.0.1", "10.0.0.2", 40001, 443, 0, 1, 1);
	struct flowtab_row r3 =
		flow4(KIND_UDP4, "10.0.0.1", "10.0.0.2", 40002, 7, 0, 1, 1);
	enum group_by by;

	cr_assert_eq(group_parse("app", &by), 0);
	cr_assert_eq(by, GROUP_APP);
	r1.key.ipproto = IPPROTO_TCP;
	r2.key.ipproto = IPPROTO_TCP;
	r3.key.ipproto = IPPROTO_UDP;
	r1.app = APP_WORD(APP_HTTP, 1, 0); /* from the payload */
	cr_assert_eq(group_add(g, &r1), 0);
	cr_assert_eq(group_add(g, &r2), 0);
	cr_assert_eq(group_add(g, &r3), 0);
	cr_assert_not_null(find(g, "http"));
	cr_assert_not_null(find(g, "tls?"));
	cr_assert_not_null(find(g, "-"));
	group_free(g);
}

/* With several -i interfaces a conversation is a flow per interface (the
 * key's iface): each interface's group holds exactly its own flows. */
Test(group, interface_groups_sum_each_interface_exactly)
{
	static const char *const names[] = { "veth0", "veth2" };
	struct group_set *g = group_new(GROUP_IFACE, 24, 64);
	/* one conversation, forwarded: seen on both interfaces */
	struct flowtab_row fwd0 =
		flow4(KIND_UDP4, "10.0.0.2", "10.0.1.2", 40000, 7000, 0, 5, 1);
	struct flowtab_row fwd1 = fwd0;
	struct flowtab_row own =
		flow4(KIND_TCP4, "10.0.1.1", "10.0.1.2", 22, 50000, 0, 3, 4);
	struct flowtab_row stray = own;
	const struct group_row *a, *b, *u;
	enum group_by by;
	size_t n;

	cr_assert_eq(group_parse("interface", &by), 0);
	cr_assert_eq(by, GROUP_IFACE);
	cr_assert_str_eq(group_name(GROUP_IFACE), "interface");
	cr_assert(g);
	group_set_ifaces(g, names, 2);
	fwd0.key.iface = 0;
	fwd1.key.iface = 1;
	fwd1.pkts[FLOW_DIR_AB] = 4; /* one lost on the way */
	fwd1.bytes[FLOW_DIR_AB] = 400;
	own.key.iface = 1;
	stray.key.iface = 7; /* past the names given */
	cr_assert_eq(group_add(g, &fwd0), 0);
	cr_assert_eq(group_add(g, &fwd1), 0);
	cr_assert_eq(group_add(g, &own), 0);
	cr_assert_eq(group_add(g, &stray), 0);
	group_rows(g, &n);
	cr_assert_eq(n, 3);
	a = find(g, "veth0");
	b = find(g, "veth2");
	u = find(g, "-");
	cr_assert(a && b && u);
	cr_assert_eq(a->flows, 1);
	cr_assert_eq(a->pkts[0] + a->pkts[1], 6);
	cr_assert_eq(a->bytes[0], 500); /* A->B is the group's "sent" */
	cr_assert_eq(b->flows, 2);
	cr_assert_eq(b->pkts[0], 4 + 3);
	cr_assert_eq(b->pkts[1], 1 + 4);
	cr_assert_eq(b->bytes[0] + b->bytes[1], 1200);
	cr_assert_eq(u->flows, 1);
	/* the run's order, not the names' */
	cr_assert_lt(a->order[0], b->order[0]);

	/* without names (a daemon's flows): one group "-" */
	group_set_ifaces(g, NULL, 2);
	group_clear(g);
	cr_assert_eq(group_add(g, &fwd0), 0);
	cr_assert_eq(group_add(g, &own), 0);
	group_rows(g, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(find(g, "-")->flows, 2);
	group_free(g);
}
