/* test_origfmt.c - the original pktstat's descriptions and -1 output. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "origfmt.h"

static struct flowtab_row row4(int kind, const char *a, int ap, const char *b,
			       int bp)
{
	struct flowtab_row r;

	memset(&r, 0, sizeof(r));
	r.key.kind = (uint8_t)kind;
	cr_assert_eq(inet_pton(AF_INET, a, r.key.a), 1);
	cr_assert_eq(inet_pton(AF_INET, b, r.key.b), 1);
	r.key.aport = (uint16_t)ap;
	r.key.bport = (uint16_t)bp;
	return r;
}

static struct flowtab_row row6(int kind, const char *a, int ap, const char *b,
			       int bp)
{
	struct flowtab_row r;

	memset(&r, 0, sizeof(r));
	r.key.kind = (uint8_t)kind;
	cr_assert_eq(inet_pton(AF_INET6, a, r.key.a), 1);
	cr_assert_eq(inet_pton(AF_INET6, b, r.key.b), 1);
	r.key.aport = (uint16_t)ap;
	r.key.bport = (uint16_t)bp;
	return r;
}

static const char *desc(const struct flowtab_row *r, int dir,
			const struct abbrev *ab, int flags)
{
	static char buf[ORIGFMT_DESC_MAX];

	return origfmt_describe(r, dir, ab, flags, buf, sizeof(buf));
}

Test(origfmt, tcp_and_udp_sides_in_string_order)
{
	struct flowtab_row r =
		row4(KIND_UDP4, "127.0.0.1", 5353, "127.0.0.1", 55079);

	/* as pktstat 1.8.5 -1 -n printed for this exchange */
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "udp 127.0.0.1:5353 <-> 127.0.0.1:55079");
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, 0),
			 "udp 127.0.0.1:5353 <-> 127.0.0.1:55079");
	/* numeric order puts .9 first, text order .10 */
	r = row4(KIND_TCP4, "10.0.0.9", 80, "10.0.0.10", 80);
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "tcp 10.0.0.10:80 <-> 10.0.0.9:80");
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, 0),
			 "tcp 10.0.0.10:80 <-> 10.0.0.9:80");
}

Test(origfmt, ipv6_uses_a_comma_before_the_port)
{
	struct flowtab_row r = row6(KIND_UDP6, "::1", 44353, "::1", 9999);

	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "udp6 ::1,44353 <-> ::1,9999");
	r = row6(KIND_TCP6, "2001:db8::2", 80, "2001:db8::1", 51000);
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, 0),
			 "tcp6 2001:db8::1,51000 <-> 2001:db8::2,80");
	r = row6(KIND_ICMP6, "::1", 128, "::1", 0);
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "icmp6 echo ::1 <-> ::1");
	/* an ICMPv6 error keeps its direction, with its code */
	r = row6(KIND_ICMP6, "2001:db8::1", 1, "2001:db8::2", 4);
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, 0),
			 "icmp6 unreach port 2001:db8::2 -> 2001:db8::1");
	r = row6(KIND_IP6, "2001:db8::1", 0, "2001:db8::2", 0);
	r.key.ipproto = 132;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "ip6 2001:db8::1 <-> 2001:db8::2 proto 132");
}

Test(origfmt, icmp_types)
{
	struct flowtab_row r = row4(KIND_ICMP4, "10.0.0.1", 8, "10.0.0.2", 8);

	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, 0),
			 "icmp echo 10.0.0.1 <-> 10.0.0.2");
	r.key.aport = r.key.bport = 13;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "icmp tstamp 10.0.0.1 <-> 10.0.0.2");
	r.key.aport = r.key.bport = 11;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "icmp timxceed 10.0.0.1 <-> 10.0.0.2");
	/* errors keep their direction */
	r.key.aport = r.key.bport = 3;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "icmp unreach port 10.0.0.1 -> 10.0.0.2");
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, 0),
			 "icmp unreach port 10.0.0.2 -> 10.0.0.1");
	r.key.bport = 1; /* the code: host */
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "icmp unreach host 10.0.0.1 -> 10.0.0.2");
	r.key.bport = 16; /* past the original's code words: numbers */
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "icmp 03/10 10.0.0.1 -> 10.0.0.2");
	r.key.aport = 5;
	r.key.bport = 1;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "icmp redirect host 10.0.0.1 -> 10.0.0.2");
	r.key.aport = 42;
	r.key.bport = 0;
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, 0),
			 "icmp 2a/00 10.0.0.2 -> 10.0.0.1");
	r.key.aport = 1; /* a hole in the name table */
	r.key.bport = 2;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "icmp 01/02 10.0.0.1 -> 10.0.0.2");
}

Test(origfmt, other_ip_and_link_protocols)
{
	struct flowtab_row r = row4(KIND_IP4, "10.0.0.1", 0, "10.0.0.2", 0);

	r.key.ipproto = 2;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0),
			 "igmp 10.0.0.1 <-> 10.0.0.2");
	r.key.ipproto = 47;
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, 0),
			 "ip proto 47 10.0.0.1 <-> 10.0.0.2");
	r.key.ipproto = 6;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0), "ip fragments");
	r.key.kind = KIND_IP6;
	r.key.ipproto = 17;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0), "ip6 fragments");

	memset(&r, 0, sizeof(r));
	r.key.kind = KIND_ARP;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0), "arp");
	r.key.kind = KIND_OTHER;
	r.key.aport = 0x8035;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0), "rev-arp");
	r.key.aport = 0x88cc;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0), "ethertype 0x88cc");
	r.key.aport = 0x0004;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0), "llc");
	r.key.aport = 0x9000;
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, 0), "loopback");
}

Test(origfmt, no_combine_gives_one_description_a_direction)
{
	struct flowtab_row r =
		row4(KIND_TCP4, "10.0.0.1", 22, "10.0.0.2", 51000);

	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, ORIGFMT_NOCOMBINE),
			 "tcp 10.0.0.1:22 -> 10.0.0.2:51000");
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, NULL, ORIGFMT_NOCOMBINE),
			 "tcp 10.0.0.2:51000 -> 10.0.0.1:22");
}

Test(origfmt, service_names)
{
	struct flowtab_row r =
		row4(KIND_TCP4, "10.0.0.1", 22, "10.0.0.2", 51000);
	struct servent se, *res = NULL;
	char tmp[1024], want[128];

	/* expected from services(5) as this machine has it */
	if (getservbyport_r(htons(22), "tcp", &se, tmp, sizeof(tmp), &res) ==
		    0 &&
	    res)
		snprintf(want, sizeof(want),
			 "tcp 10.0.0.1:%s <-> 10.0.0.2:51000", res->s_name);
	else
		snprintf(want, sizeof(want),
			 "tcp 10.0.0.1:22 <-> 10.0.0.2:51000");
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, NULL, ORIGFMT_SERVICES), want);
}

Test(origfmt, abbreviations_at_both_levels)
{
	struct abbrev *ab = abbrev_new();
	char err[256];
	struct flowtab_row r;

	cr_assert_eq(abbrev_add(ab, "dns @ *:53 <-> *", err, sizeof(err)), 0);
	cr_assert_eq(abbrev_add(ab, "web @ tcp * <-> *:80", err, sizeof(err)),
		     0);
	cr_assert_eq(abbrev_add(ab, "mydns @ udp dns", err, sizeof(err)), 0);

	/* pair level, tried in both orders: the name replaces the pair */
	r = row4(KIND_TCP4, "10.0.0.1", 4000, "10.0.0.2", 53);
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, ab, 0), "tcp dns");
	/* then the whole description is abbreviated again */
	r.key.kind = KIND_UDP4;
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, ab, 0), "mydns");
	/* whole-description pattern */
	r = row4(KIND_TCP4, "10.0.0.1", 4000, "10.0.0.2", 80);
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, ab, 0), "web");
	abbrev_free(ab);
}

Test(origfmt, pair_patterns_prefer_the_packet_direction)
{
	struct abbrev *ab = abbrev_new();
	char err[256];
	struct flowtab_row r = row4(KIND_UDP4, "10.0.0.1", 1, "10.0.0.2", 2);

	cr_assert_eq(abbrev_add(ab, "X @ 10.0.0.2:* <-> *", err, sizeof(err)),
		     0);
	cr_assert_eq(abbrev_add(ab, "Y @ 10.0.0.1:* <-> *", err, sizeof(err)),
		     0);
	/* sent by .1: "10.0.0.1:1 <-> 10.0.0.2:2" is tried first */
	cr_assert_str_eq(desc(&r, FLOW_DIR_AB, ab, 0), "udp Y");
	cr_assert_str_eq(desc(&r, FLOW_DIR_BA, ab, 0), "udp X");
	abbrev_free(ab);
}

static void add(struct snapshot *s, struct flowtab_row r, uint64_t pab,
		uint64_t bab, uint64_t pba, uint64_t bba, uint64_t last)
{
	if (s->nrows == s->rows_cap) {
		s->rows_cap = s->rows_cap ? s->rows_cap * 2 : 8;
		s->rows = realloc(s->rows, s->rows_cap * sizeof(r));
	}
	r.pkts[0] = pab;
	r.bytes[0] = bab;
	r.pkts[1] = pba;
	r.bytes[1] = bba;
	r.last_ns = last;
	s->rows[s->nrows++] = r;
}

static char *batch(struct snapshot *s, double period, const struct abbrev *ab,
		   int flags, enum origfmt_sort how)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(origfmt_write_batch(f, s, period, ab, flags, how), 0);
	fclose(f);
	return buf;
}

static void fill(struct snapshot *s)
{
	struct flowtab_row r;

	snapshot_init(s);
	/* two directions of one conversation: one line */
	r = row4(KIND_UDP4, "10.0.0.1", 5353, "10.0.0.2", 53);
	add(s, r, 2, 200, 1, 300, 50);
	/* the same conversation on another VLAN: merged too */
	r.key.vlan = 7;
	add(s, r, 1, 100, 0, 0, 70);
	/* ARP rows all merge into "arp" */
	memset(&r, 0, sizeof(r));
	r.key.kind = KIND_ARP;
	r.key.a[0] = 1;
	add(s, r, 1, 60, 1, 60, 10);
	r.key.a[0] = 2;
	add(s, r, 1, 42, 0, 0, 90);
	/* an unreach: one line per direction */
	r = row4(KIND_ICMP4, "10.0.0.1", 3, "10.0.0.2", 3);
	add(s, r, 5, 1000, 1, 70, 20);
}

Test(origfmt, batch_merges_and_orders_by_description)
{
	struct snapshot s;
	char *out;

	fill(&s);
	out = batch(&s, 5.25, NULL, 0, ORIGFMT_SORT_DESC);
	cr_assert_str_eq(out, "4 5.250000\n"
			      "162 3 arp\n"
			      "1000 5 icmp unreach port 10.0.0.1 -> 10.0.0.2\n"
			      "70 1 icmp unreach port 10.0.0.2 -> 10.0.0.1\n"
			      "600 4 udp 10.0.0.1:5353 <-> 10.0.0.2:53\n");
	free(out);

	out = batch(&s, 5, NULL, 0, ORIGFMT_SORT_OCTETS);
	cr_assert_str_eq(out, "4 5.000000\n"
			      "1000 5 icmp unreach port 10.0.0.1 -> 10.0.0.2\n"
			      "600 4 udp 10.0.0.1:5353 <-> 10.0.0.2:53\n"
			      "162 3 arp\n"
			      "70 1 icmp unreach port 10.0.0.2 -> 10.0.0.1\n");
	free(out);

	out = batch(&s, 5, NULL, 0, ORIGFMT_SORT_PACKETS);
	cr_assert_str_eq(out, "4 5.000000\n"
			      "1000 5 icmp unreach port 10.0.0.1 -> 10.0.0.2\n"
			      "600 4 udp 10.0.0.1:5353 <-> 10.0.0.2:53\n"
			      "162 3 arp\n"
			      "70 1 icmp unreach port 10.0.0.2 -> 10.0.0.1\n");
	free(out);

	/* last seen: arp 90, udp 70, both unreach lines 20 (then by text) */
	out = batch(&s, 5, NULL, 0, ORIGFMT_SORT_LAST);
	cr_assert_str_eq(out, "4 5.000000\n"
			      "162 3 arp\n"
			      "600 4 udp 10.0.0.1:5353 <-> 10.0.0.2:53\n"
			      "1000 5 icmp unreach port 10.0.0.1 -> 10.0.0.2\n"
			      "70 1 icmp unreach port 10.0.0.2 -> 10.0.0.1\n");
	free(out);
	snapshot_free(&s);
}

Test(origfmt, batch_with_abbreviations_and_no_combine)
{
	struct snapshot s;
	struct abbrev *ab = abbrev_new();
	char err[256], *out;

	cr_assert_eq(abbrev_add(ab, "noise@icmp *", err, sizeof(err)), 0);
	cr_assert_eq(abbrev_add(ab, "noise@arp", err, sizeof(err)), 0);
	fill(&s);
	out = batch(&s, 1, ab, ORIGFMT_NOCOMBINE, ORIGFMT_SORT_DESC);
	/* "icmp *" does not match "icmp unreach a -> b": '*' stops at
	 * blanks; the pattern needs the words */
	cr_assert_str_eq(out, "5 1.000000\n"
			      "1000 5 icmp unreach port 10.0.0.1 -> 10.0.0.2\n"
			      "70 1 icmp unreach port 10.0.0.2 -> 10.0.0.1\n"
			      "162 3 noise\n"
			      "300 3 udp 10.0.0.1:5353 -> 10.0.0.2:53\n"
			      "300 1 udp 10.0.0.2:53 -> 10.0.0.1:5353\n");
	free(out);
	abbrev_free(ab);
	snapshot_free(&s);
}

Test(origfmt, empty_snapshot)
{
	struct snapshot s;
	char *out;

	snapshot_init(&s);
	out = batch(&s, 5, NULL, 0, ORIGFMT_SORT_DESC);
	cr_assert_str_eq(out, "0 5.000000\n");
	free(out);
	snapshot_free(&s);
}
