/* test_ipfix.c - the --ipfix collector address and the octet rule. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "ipfix.h"

Test(ipfix, collector_spec)
{
	char h[256], p[16], err[256];
	int tcp = -1;

	cr_assert_eq(ipfix_parse_spec("127.0.0.1:4739", h, sizeof(h), p,
				      sizeof(p), &tcp, err, sizeof(err)),
		     0);
	cr_assert_str_eq(h, "127.0.0.1");
	cr_assert_str_eq(p, "4739");
	cr_assert_eq(tcp, 0);
	cr_assert_eq(ipfix_parse_spec("collector.example:2055/tcp", h,
				      sizeof(h), p, sizeof(p), &tcp, err,
				      sizeof(err)),
		     0);
	cr_assert_str_eq(h, "collector.example");
	cr_assert_eq(tcp, 1);
	cr_assert_eq(ipfix_parse_spec("[2001:db8::1]:4739/udp", h, sizeof(h), p,
				      sizeof(p), &tcp, err, sizeof(err)),
		     0);
	cr_assert_str_eq(h, "2001:db8::1");
	cr_assert_eq(tcp, 0);
	const char *bad[] = { "host",	  "host:",	   ":4739",
			      "h:0",	  "h:65536",	   "h:47x",
			      "h:1/sctp", "2001:db8::1:1", "[::1:4739",
			      "[]:4739",  "h:-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ipfix_parse_spec(bad[i], h, sizeof(h), p,
					      sizeof(p), &tcp, err,
					      sizeof(err)),
			     -EINVAL, "%s accepted", bad[i]);
		cr_assert_not_null(strstr(err, bad[i]));
	}
}

Test(ipfix, octets_less_the_link_header)
{
	struct ipfix_conf c = { .link_hdr = 14 };
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.kind = KIND_UDP4;
	/* 3 frames of 60 bytes: 3 x 46 IP octets */
	cr_assert_eq(ipfix_octets(&c, &k, 3, 180), 138);
	/* a tagged flow: the tag counts only when it is in the frame */
	k.vlan = 100;
	cr_assert_eq(ipfix_octets(&c, &k, 3, 180), 138);
	c.vlan_in_frame = 1;
	cr_assert_eq(ipfix_octets(&c, &k, 3, 192), 138);
	/* Linux cooked capture; never below zero */
	c.link_hdr = 16;
	c.vlan_in_frame = 0;
	cr_assert_eq(ipfix_octets(&c, &k, 2, 100), 68);
	cr_assert_eq(ipfix_octets(&c, &k, 10, 100), 0);
}
