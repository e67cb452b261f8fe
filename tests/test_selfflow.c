/* test_selfflow.c - the user's own SSH session found among flows. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "selfflow.h"

static struct flow_key tcp4(const char *a, int ap, const char *b, int bp)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.kind = KIND_TCP4;
	cr_assert_eq(inet_pton(AF_INET, a, k.a), 1);
	cr_assert_eq(inet_pton(AF_INET, b, k.b), 1);
	k.aport = (uint16_t)ap;
	k.bport = (uint16_t)bp;
	return k;
}

Test(selfflow, matches_its_conversation_in_either_order)
{
	struct selfflow sf;
	struct flow_key k1 = tcp4("10.0.0.1", 22, "10.0.0.9", 51000);
	struct flow_key k2 = tcp4("10.0.0.9", 51000, "10.0.0.1", 22);
	struct flow_key other = tcp4("10.0.0.1", 22, "10.0.0.9", 51001);

	cr_assert_eq(selfflow_parse(&sf, "10.0.0.9 51000 10.0.0.1 22"), 0);
	cr_assert(selfflow_match(&sf, &k1));
	cr_assert(selfflow_match(&sf, &k2));
	cr_assert_not(selfflow_match(&sf, &other));
	k1.kind = KIND_UDP4;
	cr_assert_not(selfflow_match(&sf, &k1));
}

Test(selfflow, ipv6_and_mapped_addresses)
{
	struct selfflow sf;
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.kind = KIND_TCP6;
	inet_pton(AF_INET6, "2001:db8::1", k.a);
	inet_pton(AF_INET6, "2001:db8::2", k.b);
	k.aport = 22;
	k.bport = 40000;
	cr_assert_eq(selfflow_parse(&sf, "2001:db8::2 40000 2001:db8::1 22"),
		     0);
	cr_assert(selfflow_match(&sf, &k));
	cr_assert_eq(
		selfflow_parse(&sf, "::ffff:10.0.0.9 51000 ::ffff:10.0.0.1 22"),
		0);
	cr_assert_eq(sf.family, 4);
	k = tcp4("10.0.0.1", 22, "10.0.0.9", 51000);
	cr_assert(selfflow_match(&sf, &k));
}

Test(selfflow, garbage_is_unknown_and_matches_nothing)
{
	struct selfflow sf;
	struct flow_key k = tcp4("10.0.0.1", 22, "10.0.0.9", 51000);
	const char *bad[] = { NULL,
			      "",
			      "10.0.0.9 51000 10.0.0.1",
			      "10.0.0.9 0 10.0.0.1 22",
			      "10.0.0.9 51000 10.0.0.1 70000",
			      "10.0.0.9 x 10.0.0.1 22",
			      "10.0.0.9 51000 2001:db8::1 22",
			      "host 51000 10.0.0.1 22" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(selfflow_parse(&sf, bad[i]), -EINVAL, "%zu", i);
		cr_assert_eq(sf.known, 0);
		cr_assert_not(selfflow_match(&sf, &k));
	}
}
