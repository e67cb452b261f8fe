/*
 * test_fragtab.c - later fragments find their first fragment's flow, and
 * only theirs; the table stays bounded and forgets by timeout.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

#include "../src/fragtab.h"

#define SEC 1000000000ull

static struct dec_pkt frag4(uint8_t proto, uint16_t id, int later, uint8_t s4,
			    uint8_t d4, uint16_t sport, uint16_t dport)
{
	struct dec_pkt d;

	memset(&d, 0, sizeof(d));
	d.ipproto = proto;
	d.flags = DEC_F_FRAG;
	d.frag_id = id;
	d.src[0] = 10, d.src[3] = s4;
	d.dst[0] = 10, d.dst[3] = d4;
	if (later) {
		d.kind = KIND_IP4;
		d.flags |= DEC_F_FRAG_LATER;
	} else {
		d.kind = proto == IPPROTO_UDP	 ? KIND_UDP4
			 : proto == IPPROTO_ICMP ? KIND_ICMP4
						 : KIND_TCP4;
		d.flags |= DEC_F_PORTS;
		d.sport = sport;
		d.dport = dport;
	}
	return d;
}

/* Key and direction as the worker makes them, then the table's say. */
static int track(struct fragtab *t, const struct dec_pkt *d, uint64_t ts,
		 struct flow_key *k, int *dir)
{
	*dir = flowkey_from_pkt(d, k);
	return fragtab_track(t, d, ts, k, dir);
}

Test(fragtab, later_fragments_get_the_first_fragments_flow)
{
	struct fragtab *t = fragtab_new();
	struct dec_pkt first = frag4(IPPROTO_UDP, 7, 0, 2, 1, 5000, 53);
	struct dec_pkt later = frag4(IPPROTO_UDP, 7, 1, 2, 1, 0, 0);
	struct flow_key k1, k2;
	int d1, d2;

	cr_assert_not_null(t);
	cr_assert_eq(track(t, &first, 10 * SEC, &k1, &d1), 0);
	cr_assert_eq(k1.kind, KIND_UDP4);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(track(t, &later, 10 * SEC + (uint64_t)i, &k2, &d2),
			     1, "fragment %d found its datagram", i);
		cr_assert(flowkey_equal(&k1, &k2));
		cr_assert_eq(d1, d2);
		cr_assert_eq(d2, FLOW_DIR_BA, "10.0.0.2 -> 10.0.0.1 is B to A");
	}
	fragtab_free(t);
}

Test(fragtab, icmp_later_fragments_are_the_echo_flow)
{
	struct fragtab *t = fragtab_new();
	/* an echo reply (type 0) of 3000 bytes in three fragments */
	struct dec_pkt first = frag4(IPPROTO_ICMP, 99, 0, 2, 1, 0, 0);
	struct dec_pkt later = frag4(IPPROTO_ICMP, 99, 1, 2, 1, 0, 0);
	struct flow_key k1, k2;
	int d1, d2;

	cr_assert_eq(track(t, &first, SEC, &k1, &d1), 0);
	cr_assert_eq(k1.kind, KIND_ICMP4);
	cr_assert_eq(k1.aport, 8, "echo reply folds into echo");
	cr_assert_eq(track(t, &later, SEC, &k2, &d2), 1);
	cr_assert_eq(k2.kind, KIND_ICMP4);
	cr_assert_eq(k2.aport, 8, "no type-0 flow from a later fragment");
	fragtab_free(t);
}

Test(fragtab, unknown_first_fragment_leaves_the_key)
{
	struct fragtab *t = fragtab_new();
	struct dec_pkt first = frag4(IPPROTO_UDP, 7, 0, 2, 1, 5000, 53);
	struct dec_pkt later = frag4(IPPROTO_UDP, 8, 1, 2, 1, 0, 0);
	struct dec_pkt other_proto = frag4(IPPROTO_TCP, 7, 1, 2, 1, 0, 0);
	struct dec_pkt other_dst = frag4(IPPROTO_UDP, 7, 1, 2, 3, 0, 0);
	struct dec_pkt reverse = frag4(IPPROTO_UDP, 7, 1, 1, 2, 0, 0);
	struct flow_key k;
	int d;

	/* before its first fragment: not known */
	cr_assert_eq(track(t, &later, SEC, &k, &d), 0);
	cr_assert_eq(k.kind, KIND_IP4);
	cr_assert_eq(k.ipproto, IPPROTO_UDP);
	cr_assert_eq(k.aport, 0);
	track(t, &first, SEC, &k, &d);
	/* another identification, protocol, destination or direction */
	cr_assert_eq(track(t, &later, SEC, &k, &d), 0);
	cr_assert_eq(track(t, &other_proto, SEC, &k, &d), 0);
	cr_assert_eq(k.kind, KIND_IP4);
	cr_assert_eq(track(t, &other_dst, SEC, &k, &d), 0);
	cr_assert_eq(track(t, &reverse, SEC, &k, &d), 0);
	fragtab_free(t);
}

Test(fragtab, ipv6_matches_without_protocol)
{
	struct fragtab *t = fragtab_new();
	struct dec_pkt first, later;
	struct flow_key k1, k2;
	int d1, d2;

	memset(&first, 0, sizeof(first));
	first.kind = KIND_UDP6;
	first.ipproto = IPPROTO_UDP;
	first.flags = DEC_F_FRAG | DEC_F_PORTS;
	first.frag_id = 0xdeadbeef;
	first.src[0] = 0x20, first.src[15] = 1;
	first.dst[0] = 0x20, first.dst[15] = 2;
	first.sport = 40000;
	first.dport = 9;
	later = first;
	later.kind = KIND_IP6;
	/* the fragment header names the first header after it, here a
	 * destination options header, not UDP */
	later.ipproto = IPPROTO_DSTOPTS;
	later.flags = DEC_F_FRAG | DEC_F_FRAG_LATER;
	later.sport = later.dport = 0;
	track(t, &first, SEC, &k1, &d1);
	cr_assert_eq(track(t, &later, SEC, &k2, &d2), 1);
	cr_assert(flowkey_equal(&k1, &k2));
	later.frag_id = 0xdeadbeee;
	cr_assert_eq(track(t, &later, SEC, &k2, &d2), 0);
	fragtab_free(t);
}

Test(fragtab, datagrams_time_out)
{
	struct fragtab *t = fragtab_new();
	struct dec_pkt first = frag4(IPPROTO_UDP, 7, 0, 2, 1, 5000, 53);
	struct dec_pkt later = frag4(IPPROTO_UDP, 7, 1, 2, 1, 0, 0);
	struct flow_key k;
	int d;

	track(t, &first, 100 * SEC, &k, &d);
	/* each fragment keeps its datagram alive */
	cr_assert_eq(track(t, &later, 120 * SEC, &k, &d), 1);
	cr_assert_eq(track(t, &later, 140 * SEC, &k, &d), 1);
	cr_assert_eq(
		track(t, &later, 140 * SEC + FRAGTAB_TIMEOUT_NS + 1, &k, &d), 0,
		"a datagram is forgotten after the timeout");
	cr_assert_eq(k.kind, KIND_IP4);
	fragtab_free(t);
}

Test(fragtab, identification_used_again_is_the_new_datagram)
{
	struct fragtab *t = fragtab_new();
	struct dec_pkt a = frag4(IPPROTO_UDP, 7, 0, 2, 1, 5000, 53);
	struct dec_pkt b = frag4(IPPROTO_UDP, 7, 0, 2, 1, 6000, 53);
	struct dec_pkt later = frag4(IPPROTO_UDP, 7, 1, 2, 1, 0, 0);
	struct flow_key k;
	int d;

	track(t, &a, SEC, &k, &d);
	track(t, &b, 2 * SEC, &k, &d);
	cr_assert_eq(track(t, &later, 2 * SEC, &k, &d), 1);
	cr_assert_eq(k.bport, 6000, "the latest first fragment wins");
	cr_assert_eq(fragtab_evicted(t), 0);
	fragtab_free(t);
}

Test(fragtab, bounded_and_forgets_the_least_recent)
{
	struct fragtab *t = fragtab_new();
	uint32_t n = 4 * FRAGTAB_SLOTS, found = 0;
	struct flow_key k;
	int d;

	for (uint32_t i = 0; i < n; i++) {
		struct dec_pkt f = frag4(IPPROTO_UDP, (uint16_t)i, 0, 2,
					 (uint8_t)(1 + i / 65536), 5000, 53);
		track(t, &f, SEC + i, &k, &d);
	}
	cr_assert_geq(fragtab_evicted(t), n - FRAGTAB_SLOTS,
		      "%u datagrams in %u slots", n, FRAGTAB_SLOTS);
	for (uint32_t i = 0; i < n; i++) {
		struct dec_pkt f = frag4(IPPROTO_UDP, (uint16_t)i, 1, 2,
					 (uint8_t)(1 + i / 65536), 0, 0);
		found += (uint32_t)track(t, &f, SEC + n, &k, &d);
	}
	cr_assert_leq(found, FRAGTAB_SLOTS);
	/* the most recent datagram is always there */
	{
		struct dec_pkt f =
			frag4(IPPROTO_UDP, (uint16_t)(n - 1), 1, 2, 1, 0, 0);
		cr_assert_eq(track(t, &f, SEC + n, &k, &d), 1);
	}
	fragtab_free(t);
}
