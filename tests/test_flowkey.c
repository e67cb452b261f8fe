/*
 * test_flowkey.c - canonical keys, ICMP folding, hashing, ordering and
 * endpoint text. Packets are struct dec_pkt filled by hand.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "flowkey.h"

static struct dec_pkt pkt4(int kind, const char *src, uint16_t sport,
			   const char *dst, uint16_t dport)
{
	struct dec_pkt p;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.ipproto = kind == KIND_TCP4 ? 6 : kind == KIND_UDP4 ? 17 : 1;
	p.flags = DEC_F_PORTS;
	p.ethertype = 0x0800;
	p.sport = sport;
	p.dport = dport;
	cr_assert_eq(inet_pton(AF_INET, src, p.src), 1);
	cr_assert_eq(inet_pton(AF_INET, dst, p.dst), 1);
	return p;
}

static struct dec_pkt pkt6(int kind, const char *src, uint16_t sport,
			   const char *dst, uint16_t dport)
{
	struct dec_pkt p;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.ipproto = kind == KIND_TCP6 ? 6 : kind == KIND_UDP6 ? 17 : 58;
	p.flags = DEC_F_PORTS;
	p.ethertype = 0x86dd;
	p.sport = sport;
	p.dport = dport;
	cr_assert_eq(inet_pton(AF_INET6, src, p.src), 1);
	cr_assert_eq(inet_pton(AF_INET6, dst, p.dst), 1);
	return p;
}

/* The same packet seen the other way round. */
static struct dec_pkt reversed(struct dec_pkt p)
{
	struct dec_pkt r = p;

	memcpy(r.src, p.dst, 16);
	memcpy(r.dst, p.src, 16);
	r.sport = p.dport;
	r.dport = p.sport;
	return r;
}

Test(flowkey, both_directions_share_one_key)
{
	struct dec_pkt out = pkt4(KIND_TCP4, "10.0.0.2", 40000, "10.0.0.1", 22);
	struct dec_pkt back = reversed(out);
	struct flow_key k1, k2;
	uint8_t a[4];

	cr_assert_eq(flowkey_from_pkt(&out, &k1), FLOW_DIR_BA);
	cr_assert_eq(flowkey_from_pkt(&back, &k2), FLOW_DIR_AB);
	cr_assert(flowkey_equal(&k1, &k2));
	cr_assert_eq(flowkey_cmp(&k1, &k2), 0);

	/* A is the smaller address, with its own port. */
	inet_pton(AF_INET, "10.0.0.1", a);
	cr_assert_eq(memcmp(k1.a, a, 4), 0);
	cr_assert_eq(k1.aport, 22);
	cr_assert_eq(k1.bport, 40000);
	cr_assert_eq(k1.kind, KIND_TCP4);
	cr_assert_eq(k1.ipproto, 6);
	/* IPv4 uses only the first 4 bytes; the rest is zero. */
	for (int i = 4; i < 16; i++) {
		cr_assert_eq(k1.a[i], 0);
		cr_assert_eq(k1.b[i], 0);
	}
}

Test(flowkey, equal_addresses_ordered_by_port)
{
	struct dec_pkt p = pkt4(KIND_UDP4, "127.0.0.1", 5353, "127.0.0.1", 53);
	struct dec_pkt r = reversed(p);
	struct flow_key k1, k2;

	cr_assert_eq(flowkey_from_pkt(&p, &k1), FLOW_DIR_BA);
	cr_assert_eq(flowkey_from_pkt(&r, &k2), FLOW_DIR_AB);
	cr_assert(flowkey_equal(&k1, &k2));
	cr_assert_eq(k1.aport, 53);
	cr_assert_eq(k1.bport, 5353);
}

Test(flowkey, key_ignores_garbage_in_unused_bytes)
{
	struct dec_pkt p = pkt4(KIND_UDP4, "10.1.1.1", 1, "10.2.2.2", 2);
	struct flow_key k1, k2;

	/* Poison the key first: from_pkt must write every byte. */
	memset(&k2, 0xa5, sizeof(k2));
	flowkey_from_pkt(&p, &k1);
	/* The decoder may leave junk past the IPv4 address. */
	memset(p.src + 4, 0x77, 12);
	flowkey_from_pkt(&p, &k2);
	cr_assert(flowkey_equal(&k1, &k2));
	cr_assert_eq(flowkey_hash(&k1, 7), flowkey_hash(&k2, 7));
}

Test(flowkey, icmp_echo_and_reply_are_one_flow)
{
	struct dec_pkt req = pkt4(KIND_ICMP4, "192.0.2.1", 8, "192.0.2.9", 0);
	struct dec_pkt rep = pkt4(KIND_ICMP4, "192.0.2.9", 0, "192.0.2.1", 0);
	struct flow_key k1, k2;

	cr_assert_eq(flowkey_from_pkt(&req, &k1), FLOW_DIR_AB);
	cr_assert_eq(flowkey_from_pkt(&rep, &k2), FLOW_DIR_BA);
	cr_assert(flowkey_equal(&k1, &k2));
	cr_assert_eq(k1.aport, 8);
	cr_assert_eq(k1.bport, 0); /* the code */
	cr_assert_eq(k1.ipproto, 1);
}

/* 16.6: the code is in the key, the same whichever way the message went:
 * port and host unreachable between two hosts are two flows, each named
 * by type and code. */
Test(flowkey, icmp_code_is_part_of_the_key)
{
	/* from the higher address, then from the lower one */
	struct dec_pkt port = pkt4(KIND_ICMP4, "192.0.2.9", 3, "192.0.2.1", 3);
	struct dec_pkt host = pkt4(KIND_ICMP4, "192.0.2.9", 3, "192.0.2.1", 1);
	struct dec_pkt back = pkt4(KIND_ICMP4, "192.0.2.1", 3, "192.0.2.9", 3);
	struct dec_pkt six =
		pkt6(KIND_ICMP6, "2001:db8::9", 1, "2001:db8::1", 4);
	struct dec_pkt six2 =
		pkt6(KIND_ICMP6, "2001:db8::1", 1, "2001:db8::9", 4);
	struct flow_key kp, kh, kb, k6, k62;
	char t[FLOWKEY_ICMP_TEXT_MAX];

	cr_assert_eq(flowkey_from_pkt(&port, &kp), FLOW_DIR_BA);
	cr_assert_eq(flowkey_from_pkt(&host, &kh), FLOW_DIR_BA);
	cr_assert_eq(flowkey_from_pkt(&back, &kb), FLOW_DIR_AB);
	cr_assert_not(flowkey_equal(&kp, &kh));
	cr_assert(flowkey_equal(&kp, &kb), "one flow in both directions");
	cr_assert_eq(kp.aport, 3);
	cr_assert_eq(kp.bport, 3);
	cr_assert_eq(kh.bport, 1);
	cr_assert_eq(flowkey_icmp_text(&kp, t, sizeof(t)), 12);
	cr_assert_str_eq(t, "unreach port");
	flowkey_icmp_text(&kh, t, sizeof(t));
	cr_assert_str_eq(t, "unreach host");
	cr_assert_eq(flowkey_from_pkt(&six, &k6), FLOW_DIR_BA);
	cr_assert_eq(flowkey_from_pkt(&six2, &k62), FLOW_DIR_AB);
	cr_assert(flowkey_equal(&k6, &k62));
	cr_assert_eq(k6.aport, 1);
	cr_assert_eq(k6.bport, 4);
	flowkey_icmp_text(&k6, t, sizeof(t));
	cr_assert_str_eq(t, "unreach port");
	/* the same address on both sides (a message to oneself) */
	memcpy(port.dst, port.src, 16);
	flowkey_from_pkt(&port, &kp);
	cr_assert_eq(kp.aport, 3);
	cr_assert_eq(kp.bport, 3);
}

/* Type and code as text: names, numbers where there are none, nothing
 * for a type's plain code 0 and for other kinds; it fits the room. */
Test(flowkey, icmp_text)
{
	static const struct {
		int kind;
		uint16_t type, code;
		const char *text;
	} t[] = {
		{ KIND_ICMP4, 8, 0, "echo" },
		{ KIND_ICMP4, 8, 5, "echo code 5" },
		{ KIND_ICMP4, 3, 0, "unreach net" },
		{ KIND_ICMP4, 3, 3, "unreach port" },
		{ KIND_ICMP4, 3, 4, "unreach frag needed" },
		{ KIND_ICMP4, 3, 13, "unreach admin prohibited" },
		{ KIND_ICMP4, 3, 99, "unreach code 99" },
		{ KIND_ICMP4, 5, 1, "redirect host" },
		{ KIND_ICMP4, 11, 0, "time exceeded" },
		{ KIND_ICMP4, 11, 1, "time exceeded reassembly" },
		{ KIND_ICMP4, 12, 2, "param problem bad length" },
		{ KIND_ICMP4, 42, 0, "type 42" },
		{ KIND_ICMP4, 255, 255, "type 255 code 255" },
		{ KIND_ICMP6, 1, 0, "unreach no route" },
		{ KIND_ICMP6, 1, 3, "unreach addr" },
		{ KIND_ICMP6, 1, 4, "unreach port" },
		{ KIND_ICMP6, 3, 0, "time exceeded" },
		{ KIND_ICMP6, 4, 1, "param problem next header" },
		{ KIND_ICMP6, 128, 0, "echo" },
		{ KIND_ICMP6, 135, 0, "neighbor solicit" },
		{ KIND_ICMP6, 135, 255, "neighbor solicit code 255" },
		{ KIND_UDP4, 3, 3, "" },
	};
	char buf[FLOWKEY_ICMP_TEXT_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct flow_key k;
		int n;

		memset(&k, 0, sizeof(k));
		k.kind = (uint8_t)t[i].kind;
		k.aport = t[i].type;
		k.bport = t[i].code;
		n = flowkey_icmp_text(&k, buf, sizeof(buf));
		cr_assert_str_eq(buf, t[i].text);
		cr_assert_eq(n, (int)strlen(t[i].text));
	}
	/* the longest text of any type and code fits */
	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned int ty = 0; ty < 256; ty++)
			for (unsigned int c = 0; c < 256; c++) {
				struct flow_key k;

				memset(&k, 0, sizeof(k));
				k.kind = v6 ? KIND_ICMP6 : KIND_ICMP4;
				k.aport = (uint16_t)ty;
				k.bport = (uint16_t)c;
				cr_assert_lt(flowkey_icmp_text(&k, NULL, 0),
					     FLOWKEY_ICMP_TEXT_MAX);
			}
	cr_assert_null(flowkey_icmp_code_name(KIND_ICMP4, 8, 0));
	cr_assert_str_eq(flowkey_icmp_code_name(KIND_ICMP6, 1, 4), "port");
	cr_assert_null(flowkey_icmp_code_name(KIND_TCP4, 3, 3));
}

/* Message types by name, as a key holds them (replies folded into their
 * request), per family; nothing for other kinds or unnamed types. */
Test(flowkey, icmp_type_names)
{
	static const struct {
		int kind;
		unsigned int type;
		const char *name;
	} t[] = {
		{ KIND_ICMP4, 8, "echo" },
		{ KIND_ICMP4, 3, "unreach" },
		{ KIND_ICMP4, 11, "time exceeded" },
		{ KIND_ICMP4, 0, NULL }, /* folded into 8: too short */
		{ KIND_ICMP4, 135, NULL },
		{ KIND_ICMP6, 128, "echo" },
		{ KIND_ICMP6, 1, "unreach" },
		{ KIND_ICMP6, 135, "neighbor solicit" },
		{ KIND_ICMP6, 136, "neighbor advert" },
		{ KIND_ICMP6, 8, NULL },
		{ KIND_UDP4, 8, NULL },
		{ KIND_TCP6, 128, NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *n = flowkey_icmp_type_name(t[i].kind, t[i].type);

		if (!t[i].name)
			cr_assert_null(n, "kind %d type %u: %s", t[i].kind,
				       t[i].type, n);
		else
			cr_assert_str_eq(n, t[i].name);
	}
}

Test(flowkey, icmp_query_reply_pairs_fold)
{
	static const uint16_t v4[][2] = { { 0, 8 },   { 8, 8 },	  { 14, 13 },
					  { 16, 15 }, { 18, 17 }, { 3, 3 },
					  { 11, 11 } };
	static const uint16_t v6[][2] = {
		{ 129, 128 }, { 128, 128 }, { 140, 139 }, { 1, 1 }, { 135, 135 }
	};
	struct flow_key k;

	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		struct dec_pkt p =
			pkt4(KIND_ICMP4, "10.0.0.1", v4[i][0], "10.0.0.2", 0);

		flowkey_from_pkt(&p, &k);
		cr_assert_eq(k.aport, v4[i][1], "icmp type %u", v4[i][0]);
		cr_assert_eq(k.bport, 0);
	}
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		struct dec_pkt p =
			pkt6(KIND_ICMP6, "fe80::2", v6[i][0], "fe80::1", 0);

		cr_assert_eq(flowkey_from_pkt(&p, &k), FLOW_DIR_BA);
		cr_assert_eq(k.aport, v6[i][1], "icmp6 type %u", v6[i][0]);
		cr_assert_eq(k.bport, 0);
		cr_assert_eq(k.ipproto, 58);
	}
}

Test(flowkey, later_fragments_and_missing_ports_get_port_zero)
{
	struct dec_pkt p = pkt4(KIND_UDP4, "10.0.0.1", 1000, "10.0.0.2", 2000);
	struct flow_key k;

	p.flags = DEC_F_PORTS | DEC_F_FRAG | DEC_F_FRAG_LATER;
	flowkey_from_pkt(&p, &k);
	cr_assert_eq(k.aport, 0);
	cr_assert_eq(k.bport, 0);

	p.flags = 0; /* truncated: no ports decoded */
	flowkey_from_pkt(&p, &k);
	cr_assert_eq(k.aport, 0);
	cr_assert_eq(k.bport, 0);

	p.flags = DEC_F_PORTS | DEC_F_FRAG; /* first fragment has ports */
	flowkey_from_pkt(&p, &k);
	cr_assert_eq(k.aport, 1000);
	cr_assert_eq(k.bport, 2000);
}

Test(flowkey, ip_kinds_keep_protocol_not_ports)
{
	struct dec_pkt p = pkt4(KIND_IP4, "10.0.0.2", 0, "10.0.0.1", 0);
	struct flow_key k;

	p.ipproto = 47; /* GRE */
	p.sport = 1234; /* even if something were there */
	p.dport = 4321;
	cr_assert_eq(flowkey_from_pkt(&p, &k), FLOW_DIR_BA);
	cr_assert_eq(k.ipproto, 47);
	cr_assert_eq(k.aport, 0);
	cr_assert_eq(k.bport, 0);
	cr_assert_eq(flowkey_has_ports(k.kind), 0);
	cr_assert_str_eq(flowkey_proto_name(k.kind), "IPv4");
}

Test(flowkey, other_is_one_flow_per_ethertype)
{
	struct dec_pkt p;
	struct flow_key k, k2;
	char buf[64];

	memset(&p, 0, sizeof(p));
	p.kind = KIND_OTHER;
	p.ethertype = 0x88cc; /* LLDP */
	p.vlan = 7;
	memset(p.src, 0x11, 16); /* must be ignored */
	cr_assert_eq(flowkey_from_pkt(&p, &k), FLOW_DIR_AB);
	cr_assert_eq(k.aport, 0x88cc);
	cr_assert_eq(k.bport, 0);
	cr_assert_eq(k.vlan, 7);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(k.a[i] | k.b[i], 0);
	cr_assert_eq(flowkey_family(k.kind), 0);
	cr_assert_str_eq(flowkey_proto_name(k.kind), "other");
	/* the A side names the protocol, the B side has nothing */
	cr_assert_eq(flowkey_format_addr(&k, 0, buf, sizeof(buf)), 6);
	cr_assert_str_eq(buf, "0x88cc");
	flowkey_format_endpoint(&k, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "-");
	/* 802.2 LLC: its SAPs or SNAP protocol (decode.h) */
	p.ethertype = 0x0004;
	p.sport = 0x4242;
	p.dport = DEC_LLC_SAP;
	flowkey_from_pkt(&p, &k2);
	flowkey_format_endpoint(&k2, 0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "llc-0x42");
	p.sport = 0x809b;
	p.dport = DEC_LLC_SNAP;
	flowkey_from_pkt(&p, &k2);
	flowkey_format_endpoint(&k2, 0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "snap-0x809b");
	p.sport = p.dport = 0;

	p.ethertype = 0x88a8;
	flowkey_from_pkt(&p, &k2);
	cr_assert_not(flowkey_equal(&k, &k2));
}

Test(flowkey, vlan_separates_flows)
{
	struct dec_pkt p = pkt4(KIND_TCP4, "10.0.0.1", 1, "10.0.0.2", 2);
	struct flow_key k1, k2;

	flowkey_from_pkt(&p, &k1);
	p.vlan = 100;
	flowkey_from_pkt(&p, &k2);
	cr_assert_eq(k2.vlan, 100);
	cr_assert_not(flowkey_equal(&k1, &k2));
	cr_assert_lt(flowkey_cmp(&k1, &k2), 0);
}

/* The interface ordinal shares the kind's byte: the BPF key (bpf/flows.h)
 * writes that byte as the kind alone, which must read back as the kind
 * on interface 0; another interface is another flow, ordered last. */
Test(flowkey, interface_separates_flows_and_keeps_the_kind_byte)
{
	struct dec_pkt p = pkt4(KIND_UDP4, "10.0.0.1", 1, "10.0.0.2", 2);
	struct flow_key k1, k2, raw;
	uint8_t bytes[sizeof(raw)];

	flowkey_from_pkt(&p, &k1);
	cr_assert_eq(k1.iface, 0);
	k2 = k1;
	k2.iface = FLOWKEY_IFACES - 1;
	cr_assert_eq(k2.kind, KIND_UDP4);
	cr_assert_not(flowkey_equal(&k1, &k2));
	cr_assert_neq(flowkey_hash(&k1, 1), flowkey_hash(&k2, 1));
	cr_assert_lt(flowkey_cmp(&k1, &k2), 0);
	cr_assert_gt(flowkey_cmp(&k2, &k1), 0);
	k2.iface = 0;
	cr_assert(flowkey_equal(&k1, &k2));

	memset(bytes, 0, sizeof(bytes));
	/* the byte after a, b, aport, bport and vlan, before ipproto */
	bytes[offsetof(struct flow_key, ipproto) - 1] = 4;
	memcpy(&raw, bytes, sizeof(raw));
	cr_assert_eq(raw.kind, 4);
	cr_assert_eq(raw.iface, 0);
	raw.iface = 3;
	memcpy(bytes, &raw, sizeof(raw));
	cr_assert_eq(bytes[offsetof(struct flow_key, ipproto) - 1] & 0x0f, 4);
}

Test(flowkey, arp_uses_protocol_addresses)
{
	struct dec_pkt p = pkt4(KIND_ARP, "192.168.1.20", 0, "192.168.1.1", 0);
	struct flow_key k;
	char buf[64];

	p.ipproto = 0;
	p.flags = 0;
	cr_assert_eq(flowkey_from_pkt(&p, &k), FLOW_DIR_BA);
	cr_assert_eq(flowkey_family(k.kind), 4);
	cr_assert_eq(k.ipproto, 0);
	flowkey_format_endpoint(&k, 0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "192.168.1.1");
	flowkey_format_endpoint(&k, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "192.168.1.20");
	cr_assert_str_eq(flowkey_proto_name(k.kind), "ARP");
}

Test(flowkey, format_ipv4_and_ipv6_endpoints)
{
	struct dec_pkt p4 = pkt4(KIND_TCP4, "10.0.0.1", 22, "10.0.0.2", 5000);
	struct dec_pkt p6 =
		pkt6(KIND_TCP6, "2001:db8::1", 443, "2001:db8::2", 51000);
	struct dec_pkt i6 = pkt6(KIND_ICMP6, "2001:db8::1", 128, "::1", 0);
	struct flow_key k;
	char buf[64];

	flowkey_from_pkt(&p4, &k);
	cr_assert_eq(flowkey_format_endpoint(&k, 0, buf, sizeof(buf)), 11);
	cr_assert_str_eq(buf, "10.0.0.1:22");
	flowkey_format_endpoint(&k, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "10.0.0.2:5000");

	flowkey_from_pkt(&p6, &k);
	flowkey_format_endpoint(&k, 0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "[2001:db8::1]:443");
	flowkey_format_endpoint(&k, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "[2001:db8::2]:51000");
	flowkey_format_addr(&k, 0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2001:db8::1");
	cr_assert_str_eq(flowkey_proto_name(k.kind), "TCP");
	cr_assert_eq(flowkey_family(k.kind), 6);

	/* ICMPv6 has no ports: bare address, no brackets. */
	cr_assert_eq(flowkey_from_pkt(&i6, &k), FLOW_DIR_BA);
	flowkey_format_endpoint(&k, 0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "::1");
	flowkey_format_endpoint(&k, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2001:db8::1");
	cr_assert_str_eq(flowkey_proto_name(k.kind), "ICMPv6");
}

Test(flowkey, format_truncates_like_snprintf)
{
	struct dec_pkt p =
		pkt6(KIND_UDP6, "2001:db8::1", 53, "2001:db8::2", 40000);
	struct flow_key k;
	char buf[8];

	flowkey_from_pkt(&p, &k);
	memset(buf, 'x', sizeof(buf));
	/* "[2001:db8::1]:53" is 16 characters. */
	cr_assert_eq(flowkey_format_endpoint(&k, 0, buf, sizeof(buf)), 16);
	cr_assert_str_eq(buf, "[2001:d");
	cr_assert_eq(flowkey_format_endpoint(&k, 0, NULL, 0), 16);
	cr_assert_eq(flowkey_format_addr(&k, 1, buf, 1), 11);
	cr_assert_str_eq(buf, "");
}

Test(flowkey, hash_depends_on_seed_and_key)
{
	struct dec_pkt p = pkt4(KIND_TCP4, "10.0.0.1", 1, "10.0.0.2", 2);
	struct dec_pkt q = pkt4(KIND_TCP4, "10.0.0.1", 1, "10.0.0.2", 3);
	struct flow_key k, k2;

	flowkey_from_pkt(&p, &k);
	flowkey_from_pkt(&q, &k2);
	cr_assert_eq(flowkey_hash(&k, 1), flowkey_hash(&k, 1));
	cr_assert_neq(flowkey_hash(&k, 1), flowkey_hash(&k, 2));
	cr_assert_neq(flowkey_hash(&k, 1), flowkey_hash(&k2, 1));
}

Test(flowkey, cmp_is_a_total_order)
{
	struct flow_key keys[6];
	struct dec_pkt p[6] = {
		pkt4(KIND_TCP4, "10.0.0.1", 1, "10.0.0.2", 2),
		pkt4(KIND_TCP4, "10.0.0.1", 1, "10.0.0.2", 3),
		pkt4(KIND_TCP4, "10.0.0.1", 1, "10.0.0.3", 1),
		pkt4(KIND_TCP4, "10.0.0.1", 2, "10.0.0.2", 1),
		pkt4(KIND_UDP4, "10.0.0.1", 1, "10.0.0.2", 2),
		pkt6(KIND_TCP6, "::1", 1, "::2", 2),
	};
	int n = 6;

	for (int i = 0; i < n; i++)
		flowkey_from_pkt(&p[i], &keys[i]);
	/* Listed in ascending order: kind, A, A port, B, B port. */
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < n; j++) {
			int c = flowkey_cmp(&keys[i], &keys[j]);
			int want = (i > j) - (i < j);

			cr_assert_eq((c > 0) - (c < 0), want,
				     "cmp(%d, %d) = %d", i, j, c);
		}
	}

	/* Equal except for the last field: ipproto. */
	keys[1] = keys[0];
	keys[1].ipproto++;
	cr_assert_lt(flowkey_cmp(&keys[0], &keys[1]), 0);
	cr_assert_gt(flowkey_cmp(&keys[1], &keys[0]), 0);
}

Test(flowkey, names_and_families_cover_every_kind)
{
	static const char *const want[KIND_COUNT] = {
		"TCP", "UDP",	 "ICMPv4", "IPv4", "TCP",
		"UDP", "ICMPv6", "IPv6",   "ARP",  "other",
	};
	static const int fam[KIND_COUNT] = { 4, 4, 4, 4, 6, 6, 6, 6, 4, 0 };

	for (int k = 0; k < KIND_COUNT; k++) {
		cr_assert_str_eq(flowkey_proto_name(k), want[k]);
		cr_assert_eq(flowkey_family(k), fam[k]);
		cr_assert_eq(flowkey_has_ports(k),
			     k == KIND_TCP4 || k == KIND_UDP4 ||
				     k == KIND_TCP6 || k == KIND_UDP6);
	}
	cr_assert_str_eq(flowkey_proto_name(-1), "other");
	cr_assert_str_eq(flowkey_proto_name(KIND_COUNT), "other");
}

/*
 * Addresses are formatted by hand (speed): the text must be inet_ntop's,
 * byte for byte, for every shape of zero run, the IPv4-compatible and
 * IPv4-mapped forms and their near misses, and a million random
 * addresses biased towards zero groups.
 */
Test(flowkey, address_text_matches_inet_ntop)
{
	static const char *const shapes[] = {
		"::",
		"::1",
		"::2",
		"1::",
		"::ffff:1.2.3.4",
		"::1.2.3.4",
		"::0.0.0.2",
		"::ffff:0:0",
		"::fffe:1.2.3.4",
		"0:0:0:0:1:ffff:1.2.3.4",
		"1:0:0:2:0:0:0:3",
		"1:0:0:2:0:0:3:4",
		"1:0:2:0:3:0:4:0",
		"0:0:1:0:0:1:0:0",
		"fe80::1:2",
		"2001:db8::ffff:1.2.3.4",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"0:1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:0",
		"::ffff:ffff",
		"::1:0:0:0",
		"64:ff9b::1.2.3.4",
	};
	struct flow_key k;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char want[INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN + 8];
	size_t n = sizeof(shapes) / sizeof(shapes[0]);

	memset(&k, 0, sizeof(k));
	k.kind = KIND_UDP6;
	for (size_t i = 0; i < n + 1000000; i++) {
		if (i < n) {
			cr_assert_eq(inet_pton(AF_INET6, shapes[i], k.a), 1,
				     "%s", shapes[i]);
		} else {
			for (int g = 0; g < 8; g++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				/* zero, 1, ffff or random: runs of zeros */
				unsigned int v = x % 4 == 0   ? 0
						 : x % 4 == 1 ? (x >> 8) % 3
						 : x % 4 == 2
							 ? 0xffff
							 : (x >> 16) & 0xffff;

				k.a[2 * g] = (uint8_t)(v >> 8);
				k.a[2 * g + 1] = (uint8_t)v;
			}
		}
		cr_assert_not_null(
			inet_ntop(AF_INET6, k.a, want, sizeof(want)));
		flowkey_format_addr(&k, 0, got, sizeof(got));
		cr_assert_str_eq(got, want);
	}
	k.kind = KIND_UDP4;
	for (unsigned int i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(k.a, &x, 4);
		cr_assert_not_null(inet_ntop(AF_INET, k.a, want, sizeof(want)));
		flowkey_format_addr(&k, 0, got, sizeof(got));
		cr_assert_str_eq(got, want);
	}
}

/* The endpoint text as the slow, obviously right way makes it: inet_ntop
 * and printf. */
#define SLOW_ADDR 64
#define SLOW_EP (SLOW_ADDR + 16)
static void ref_other(const struct flow_key *k, int side, char *addr,
		      size_t len)
{
	/* an "other" row: its protocol on the A side (flowkey.h) */
	if (side)
		snprintf(addr, len, "-");
	else if (k->ipproto == DEC_LLC_SNAP)
		snprintf(addr, len, "snap-0x%04x", k->bport);
	else if (k->ipproto == DEC_LLC_SAP &&
		 k->bport >> 8 == (k->bport & 0xff))
		snprintf(addr, len, "llc-0x%02x", k->bport >> 8);
	else if (k->ipproto == DEC_LLC_SAP)
		snprintf(addr, len, "llc-0x%02x/0x%02x", k->bport >> 8,
			 k->bport & 0xff);
	else
		snprintf(addr, len, "0x%04x", k->aport);
}

static void slow_endpoint(const struct flow_key *k, int side,
			  char addr[SLOW_ADDR], char ep[SLOW_EP])
{
	const uint8_t *a = side ? k->b : k->a;
	unsigned int port = side ? k->bport : k->aport;
	int fam = k->kind == KIND_OTHER ? 0
		  : k->kind == KIND_TCP6 || k->kind == KIND_UDP6 ||
				  k->kind == KIND_ICMP6 || k->kind == KIND_IP6
			  ? 6
			  : 4;
	int ports = k->kind == KIND_TCP4 || k->kind == KIND_UDP4 ||
		    k->kind == KIND_TCP6 || k->kind == KIND_UDP6;

	if (!fam)
		ref_other(k, side, addr, SLOW_ADDR);
	else
		cr_assert_not_null(inet_ntop(fam == 4 ? AF_INET : AF_INET6, a,
					     addr, SLOW_ADDR));
	if (!ports)
		snprintf(ep, SLOW_EP, "%s", addr);
	else if (fam == 6)
		snprintf(ep, SLOW_EP, "[%s]:%u", addr, port);
	else
		snprintf(ep, SLOW_EP, "%s:%u", addr, port);
}

/* flowkey_side_text, and the two snprintf-style formatters built on it,
 * against slow_endpoint; the address must be the part addr_off and
 * addr_len name, whatever garbage the text buffer held before. */
static void check_side_text(const struct flow_key *k)
{
	char addr[SLOW_ADDR], ep[SLOW_EP], got[SLOW_EP];

	for (int side = 0; side < 2; side++) {
		struct flowkey_text t;

		memset(&t, 0x5a, sizeof(t));
		slow_endpoint(k, side, addr, ep);
		flowkey_side_text(k, side, &t);
		cr_assert_str_eq(t.s, ep, "kind %d side %d", k->kind, side);
		cr_assert_eq(t.len, strlen(ep));
		cr_assert_leq(t.addr_off, 1);
		cr_assert_eq(t.addr_len, strlen(addr), "%s", ep);
		cr_assert_eq(memcmp(t.s + t.addr_off, addr, t.addr_len), 0,
			     "%s", ep);
		cr_assert_eq(flowkey_format_endpoint(k, side, got, sizeof(got)),
			     (int)strlen(ep));
		cr_assert_str_eq(got, ep);
		cr_assert_eq(flowkey_format_addr(k, side, got, sizeof(got)),
			     (int)strlen(addr));
		cr_assert_str_eq(got, addr);
	}
}

/*
 * The report prints each side from flowkey_side_text: every kind, IPv4
 * octets at each digit-count edge in every position, every port, IPv6
 * groups at each hex-digit edge, with and without brackets.
 */
Test(flowkey, side_text_matches_inet_ntop_and_printf)
{
	static const uint8_t oct[] = {
		0, 1, 9, 10, 11, 99, 100, 101, 199, 255
	};
	static const uint16_t grp[] = { 0,     1,     0xf,    0x10,  0xff,
					0x100, 0xfff, 0x1000, 0xffff };
	const size_t no = sizeof(oct), ng = sizeof(grp) / sizeof(grp[0]);
	struct flow_key k;
	size_t checked = 0;
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (int kind = 0; kind < KIND_COUNT; kind++) {
		memset(&k, 0, sizeof(k));
		k.kind = (uint8_t)kind;
		/* every combination of edge octets, on both sides */
		for (size_t i = 0; i < no * no * no * no; i++) {
			k.a[0] = oct[i % no];
			k.a[1] = oct[i / no % no];
			k.a[2] = oct[i / no / no % no];
			k.a[3] = oct[i / no / no / no];
			memcpy(k.b, k.a, 4);
			k.b[0] = (uint8_t)~k.a[0];
			k.aport = (uint16_t)(i * 7);
			k.bport = (uint16_t)(65535 - i);
			if (flowkey_family(kind) == 6) {
				/* two groups from the edges, the rest
				 * random or zero: runs of every shape */
				for (int g = 0; g < 8; g++) {
					x ^= x << 13, x ^= x >> 7, x ^= x << 17;
					unsigned int v =
						g == (int)(i % 8)
							? grp[i / 8 % ng]
						: x % 3 == 0 ? 0
						: x % 3 == 1
							? grp[x / 3 % ng]
							: (x >> 20) & 0xffff;

					k.a[2 * g] = (uint8_t)(v >> 8);
					k.a[2 * g + 1] = (uint8_t)v;
				}
				memcpy(k.b, k.a, 16);
				k.b[15] ^= (uint8_t)i;
			}
			check_side_text(&k);
			checked++;
		}
		/* every port, and every octet in every position */
		for (unsigned int port = 0; port < 65536; port++) {
			k.aport = (uint16_t)port;
			k.bport = (uint16_t)(65535 - port);
			if (flowkey_family(kind) == 4)
				k.a[port % 4] = (uint8_t)(port / 4);
			check_side_text(&k);
			checked++;
		}
	}
	printf("side_text: %zu keys checked, both sides\n", checked);
	cr_assert_eq(checked, (size_t)KIND_COUNT * (no * no * no * no + 65536));
}
