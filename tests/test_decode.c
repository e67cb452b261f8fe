/*
 * test_decode.c - unit tests for src/decode.c.
 *
 * Frames are assembled by hand with the builders below, then copied into a
 * heap buffer of exactly their length before decoding, so under ASan any
 * read past the captured bytes is reported. The corpus test runs the
 * decoder over every packet of tcpdump's test captures.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <pcap/pcap.h>

#include "decode.h"

/* ---- frame builders ---------------------------------------------------- */

struct frame {
	uint8_t b[1024];
	size_t len;
};

static const uint8_t MAC_A[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t MAC_B[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t IP4_A[4] = { 192, 0, 2, 1 };
static const uint8_t IP4_B[4] = { 198, 51, 100, 7 };
static const uint8_t IP6_A[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t IP6_B[16] = {
	0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2
};
static const uint8_t ZERO[16];

static void put(struct frame *f, const void *d, size_t n)
{
	cr_assert_leq(f->len + n, sizeof(f->b), "frame buffer too small");
	memcpy(f->b + f->len, d, n);
	f->len += n;
}

static void put8(struct frame *f, uint8_t v)
{
	put(f, &v, 1);
}

static void put16(struct frame *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static void put_le32(struct frame *f, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		put8(f, (uint8_t)(v >> (8 * i)));
}

static void zeros(struct frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, 0);
}

static void set16(struct frame *f, size_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static void eth(struct frame *f, uint16_t type)
{
	put(f, MAC_B, 6);
	put(f, MAC_A, 6);
	put16(f, type);
}

static void vlan(struct frame *f, uint16_t tci, uint16_t type)
{
	put16(f, tci);
	put16(f, type);
}

/* Linux cooked v1: pkttype, hatype, halen, addr[8], protocol. */
static void sll(struct frame *f, uint16_t hatype, uint16_t proto)
{
	put16(f, 0);
	put16(f, hatype);
	put16(f, 6);
	put(f, MAC_A, 6);
	zeros(f, 2);
	put16(f, proto);
}

/* Linux cooked v2: protocol, reserved, ifindex, hatype, pkttype, halen,
 * addr[8]. */
static void sll2(struct frame *f, uint16_t hatype, uint16_t proto)
{
	put16(f, proto);
	put16(f, 0);
	put32(f, 3);
	put16(f, hatype);
	put8(f, 4);
	put8(f, 6);
	put(f, MAC_A, 6);
	zeros(f, 2);
}

/* IPv4 header with @optlen bytes of NOP options; ip4_end sets the length. */
static size_t ip4(struct frame *f, uint8_t proto, uint16_t frag, size_t optlen)
{
	size_t off = f->len;

	put8(f, (uint8_t)(0x40 | (5 + optlen / 4)));
	put8(f, 0);
	put16(f, 0);
	put16(f, 0x1234);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put(f, IP4_A, 4);
	put(f, IP4_B, 4);
	for (size_t i = 0; i < optlen; i++)
		put8(f, 1);
	return off;
}

static void ip4_end(struct frame *f, size_t off)
{
	set16(f, off + 2, (uint16_t)(f->len - off));
}

static size_t ip6(struct frame *f, uint8_t nh)
{
	size_t off = f->len;

	put32(f, 0x60000000);
	put16(f, 0);
	put8(f, nh);
	put8(f, 64);
	put(f, IP6_A, 16);
	put(f, IP6_B, 16);
	return off;
}

static void ip6_end(struct frame *f, size_t off)
{
	set16(f, off + 4, (uint16_t)(f->len - off - 40));
}

/* Hop-by-hop, routing or destination options: (units + 1) * 8 bytes. */
static void ext6(struct frame *f, uint8_t next, uint8_t units)
{
	put8(f, next);
	put8(f, units);
	zeros(f, ((size_t)units + 1) * 8 - 2);
}

static void frag6(struct frame *f, uint8_t next, uint16_t off8, int more)
{
	put8(f, next);
	put8(f, 0);
	put16(f, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
	put32(f, 0xdeadbeef);
}

/* Authentication header: (len + 2) * 4 bytes. */
static void ah6(struct frame *f, uint8_t next, uint8_t len)
{
	put8(f, next);
	put8(f, len);
	zeros(f, ((size_t)len + 2) * 4 - 2);
}

static void tcp(struct frame *f, uint16_t sport, uint16_t dport)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 1000);
	put32(f, 0);
	put8(f, 0x50);
	put8(f, 0x02);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
}

static void udp(struct frame *f, uint16_t sport, uint16_t dport, size_t payload)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, (uint16_t)(8 + payload));
	put16(f, 0);
	zeros(f, payload);
}

static void icmp(struct frame *f, uint8_t type, uint8_t code)
{
	put8(f, type);
	put8(f, code);
	put16(f, 0);
	put16(f, 0x77);
	put16(f, 1);
}

static void arp(struct frame *f, uint16_t oper)
{
	put16(f, 1);
	put16(f, 0x0800);
	put8(f, 6);
	put8(f, 4);
	put16(f, oper);
	put(f, MAC_A, 6);
	put(f, IP4_A, 4);
	put(f, MAC_B, 6);
	put(f, IP4_B, 4);
}

/* ---- decoding helpers --------------------------------------------------- */

/* A heap copy of exactly @len bytes, so ASan sees any over-read. */
static uint8_t *exact_copy(const uint8_t *p, size_t len)
{
	uint8_t *q = malloc(len ? len : 1);

	cr_assert_not_null(q);
	if (len)
		memcpy(q, p, len);
	return q;
}

static int dec_tci(int dlt, const struct frame *f, size_t len, int tci,
		   struct dec_pkt *d)
{
	uint8_t *q = exact_copy(f->b, len);
	int rc;

	memset(d, 0xa5, sizeof(*d));
	rc = decode_frame(dlt, q, (uint32_t)len, tci, d);
	free(q);
	return rc;
}

static struct dec_pkt dec(int dlt, const struct frame *f)
{
	struct dec_pkt d;

	cr_assert_eq(dec_tci(dlt, f, f->len, -1, &d), 0);
	return d;
}

static struct dec_pkt dec_len(int dlt, const struct frame *f, size_t len)
{
	struct dec_pkt d;

	cr_assert_leq(len, f->len);
	cr_assert_eq(dec_tci(dlt, f, len, -1, &d), 0);
	return d;
}

static void assert_ip4_addrs(const struct dec_pkt *d)
{
	cr_assert_arr_eq(d->src, IP4_A, 4);
	cr_assert_arr_eq(d->dst, IP4_B, 4);
	cr_assert_arr_eq(d->src + 4, ZERO, 12, "IPv4 src tail not zero");
	cr_assert_arr_eq(d->dst + 4, ZERO, 12, "IPv4 dst tail not zero");
}

static void assert_ip6_addrs(const struct dec_pkt *d)
{
	cr_assert_arr_eq(d->src, IP6_A, 16);
	cr_assert_arr_eq(d->dst, IP6_B, 16);
}

static void assert_no_addrs(const struct dec_pkt *d)
{
	cr_assert_arr_eq(d->src, ZERO, 16);
	cr_assert_arr_eq(d->dst, ZERO, 16);
}

static int is_icmp_kind(int kind)
{
	return kind == KIND_ICMP4 || kind == KIND_ICMP6;
}

static int has_ports_kind(int kind)
{
	return kind == KIND_TCP4 || kind == KIND_UDP4 || kind == KIND_TCP6 ||
	       kind == KIND_UDP6 || is_icmp_kind(kind);
}

/*
 * What must hold for any input: fields in range, offsets inside the
 * capture, ports only when their bytes were captured (4 for TCP/UDP,
 * type and code for ICMP).
 */
static void check_invariants(const struct dec_pkt *d, uint32_t caplen)
{
	cr_assert_lt(d->kind, KIND_COUNT);
	cr_assert_lt(d->err, DEC_ERR_COUNT);
	cr_assert_leq(d->l3_off, caplen);
	cr_assert_leq(d->l4_off, caplen);
	if (d->l4_off)
		cr_assert_gt(d->l4_off, d->l3_off);
	if (d->flags & DEC_F_PORTS) {
		uint32_t need = is_icmp_kind(d->kind) ? 2 : 4;

		cr_assert(has_ports_kind(d->kind), "ports on kind %d", d->kind);
		cr_assert_leq(d->l4_off + need, caplen,
			      "ports set with l4_off %u caplen %u", d->l4_off,
			      caplen);
	}
	if (d->flags & DEC_F_FRAG_LATER) {
		cr_assert(d->flags & DEC_F_FRAG);
		cr_assert_not(d->flags & DEC_F_PORTS);
		cr_assert_eq(d->l4_off, 0);
	}
}

/* ---- Ethernet and IPv4 --------------------------------------------------- */

Test(decode, eth_tcp4)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_TCP, 0x4000, 0);
	tcp(&f, 43210, 443);
	ip4_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ipproto, IPPROTO_TCP);
	cr_assert_eq(d.flags, DEC_F_PORTS, "DF alone is no fragment");
	cr_assert_eq(d.ethertype, 0x0800);
	cr_assert_eq(d.vlan, 0);
	cr_assert_eq(d.sport, 43210);
	cr_assert_eq(d.dport, 443);
	cr_assert_eq(d.l3_off, 14);
	cr_assert_eq(d.l4_off, 34);
	cr_assert_eq(d.ip_len, 40);
	assert_ip4_addrs(&d);
}

Test(decode, eth_udp4)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_UDP, 0, 0);
	udp(&f, 5353, 53, 12);
	ip4_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_UDP4);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.sport, 5353);
	cr_assert_eq(d.dport, 53);
	cr_assert_eq(d.ip_len, 40);
	cr_assert_eq(d.flags, DEC_F_PORTS);
	assert_ip4_addrs(&d);
}

Test(decode, output_fully_reset)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	/* dec_tci() fills the struct with 0xa5 before decoding. */
	eth(&f, 0x88cc);
	zeros(&f, 30);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ethertype, 0x88cc);
	cr_assert_eq(d.ipproto, 0);
	cr_assert_eq(d.flags, 0);
	cr_assert_eq(d.vlan, 0);
	cr_assert_eq(d.sport, 0);
	cr_assert_eq(d.dport, 0);
	cr_assert_eq(d.l3_off, 0);
	cr_assert_eq(d.l4_off, 0);
	cr_assert_eq(d.ip_len, 0);
	assert_no_addrs(&d);
}

Test(decode, ipv4_options_skipped)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_TCP, 0, 12);
	tcp(&f, 1234, 80);
	ip4_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.l3_off, 14);
	cr_assert_eq(d.l4_off, 14 + 32);
	cr_assert_eq(d.sport, 1234);
	cr_assert_eq(d.dport, 80);
	cr_assert_eq(d.ip_len, 52);
}

Test(decode, ipv4_bad_ihl)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_TCP, 0, 0);
	tcp(&f, 1, 2);
	ip4_end(&f, ip);
	f.b[ip] = 0x44;
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.err, DEC_ERR_IP4_BAD);
	cr_assert_eq(d.l3_off, 14);
	cr_assert_eq(d.l4_off, 0);
	cr_assert_not(d.flags & DEC_F_PORTS);
}

Test(decode, ipv4_bad_version)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_UDP, 0, 0);
	udp(&f, 1, 2, 0);
	ip4_end(&f, ip);
	f.b[ip] = 0x65;
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.err, DEC_ERR_IP4_BAD);
	cr_assert_not(d.flags & DEC_F_PORTS);
}

Test(decode, ipv4_total_length_below_header)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_TCP, 0, 0);
	tcp(&f, 1000, 2000);
	set16(&f, ip + 2, 19);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.err, DEC_ERR_IP4_BAD);
	cr_assert_eq(d.ip_len, 19);
	/* The header is whole, so the packet still counts as TCP. */
	cr_assert_eq(d.kind, KIND_TCP4);
	assert_ip4_addrs(&d);

	/* GSO / BIG TCP before segmentation: total length 0 is normal. */
	set16(&f, ip + 2, 0);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.err, DEC_OK, "total length 0 (TSO) is not malformed");
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert(d.flags & DEC_F_PORTS);
	cr_assert_eq(d.sport, 1000);
	cr_assert_eq(d.dport, 2000);
}

Test(decode, ipv4_snaplen_shorter_than_total_length)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_TCP, 0, 0);
	tcp(&f, 22, 50000);
	set16(&f, ip + 2, 1500);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.ip_len, 1500);
	cr_assert_eq(d.sport, 22);
	cr_assert_eq(d.dport, 50000);
}

Test(decode, ipv4_padding_is_not_ports)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	/* A 20-byte datagram claiming TCP, padded to the Ethernet minimum
	 * with bytes that look like ports. */
	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_TCP, 0, 0);
	ip4_end(&f, ip);
	while (f.len < 60)
		put8(&f, 0x11);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.err, DEC_ERR_L4_TRUNC);
	cr_assert_not(d.flags & DEC_F_PORTS);
	cr_assert_eq(d.sport, 0);
	cr_assert_eq(d.dport, 0);
	cr_assert_eq(d.l4_off, 34);
}

Test(decode, ipv4_header_truncated)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_UDP, 0, 8);
	udp(&f, 1, 2, 0);
	ip4_end(&f, ip);

	d = dec_len(DLT_EN10MB, &f, 14 + 19);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.err, DEC_ERR_IP4_TRUNC);
	cr_assert_eq(d.l3_off, 14);
	assert_no_addrs(&d);

	/* Fixed part whole, options cut: addresses and protocol known. */
	d = dec_len(DLT_EN10MB, &f, 14 + 24);
	cr_assert_eq(d.kind, KIND_UDP4);
	cr_assert_eq(d.err, DEC_ERR_IP4_TRUNC);
	cr_assert_eq(d.ipproto, IPPROTO_UDP);
	cr_assert_eq(d.l4_off, 0);
	cr_assert_not(d.flags & DEC_F_PORTS);
	assert_ip4_addrs(&d);
}

Test(decode, ipv4_first_fragment_has_ports)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_UDP, 0x2000, 0);
	udp(&f, 4000, 4001, 64);
	ip4_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_UDP4);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.flags, DEC_F_FRAG | DEC_F_PORTS);
	cr_assert_eq(d.frag_id, 0x1234);
	cr_assert_eq(d.sport, 4000);
	cr_assert_eq(d.dport, 4001);
	cr_assert_eq(d.l4_off, 34);
}

Test(decode, ipv4_later_fragment_has_no_ports)
{
	static const uint16_t frags[] = { 0x2000 | 185, 185, 0x4000 | 1 };
	struct frame f;
	size_t ip;
	struct dec_pkt d;

	for (size_t i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		memset(&f, 0, sizeof(f));
		eth(&f, 0x0800);
		ip = ip4(&f, IPPROTO_TCP, frags[i], 0);
		tcp(&f, 1, 2); /* looks like ports, is data */
		ip4_end(&f, ip);
		d = dec(DLT_EN10MB, &f);
		/* no transport header: the datagram's kind is not known
		 * here (fragtab.h finds its flow) */
		cr_assert_eq(d.kind, KIND_IP4, "frag %#x", frags[i]);
		cr_assert_eq(d.ipproto, IPPROTO_TCP);
		cr_assert_eq(d.err, DEC_OK);
		cr_assert_eq(d.flags, DEC_F_FRAG | DEC_F_FRAG_LATER);
		cr_assert_eq(d.frag_id, 0x1234);
		cr_assert_eq(d.sport, 0);
		cr_assert_eq(d.dport, 0);
		cr_assert_eq(d.l4_off, 0);
		assert_ip4_addrs(&d);
	}
}

Test(decode, ipv4_other_protocol)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_GRE, 0, 0);
	zeros(&f, 8);
	ip4_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.ipproto, IPPROTO_GRE);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.l4_off, 34);
	cr_assert_not(d.flags & DEC_F_PORTS);
}

/* ---- ICMP ----------------------------------------------------------------- */

Test(decode, icmp_echo_type_code)
{
	static const uint8_t tc[][2] = { { 8, 0 }, { 0, 0 }, { 3, 3 } };
	struct frame f;
	size_t ip;
	struct dec_pkt d;

	for (size_t i = 0; i < 3; i++) {
		memset(&f, 0, sizeof(f));
		eth(&f, 0x0800);
		ip = ip4(&f, IPPROTO_ICMP, 0, 0);
		icmp(&f, tc[i][0], tc[i][1]);
		ip4_end(&f, ip);
		d = dec(DLT_EN10MB, &f);
		cr_assert_eq(d.kind, KIND_ICMP4);
		cr_assert_eq(d.err, DEC_OK);
		cr_assert_eq(d.flags, DEC_F_PORTS);
		cr_assert_eq(d.sport, tc[i][0]);
		cr_assert_eq(d.dport, tc[i][1]);
		cr_assert_eq(d.l4_off, 34);
	}
}

Test(decode, icmp6_type_code)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_ICMPV6);
	icmp(&f, 128, 0);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_ICMP6);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.flags, DEC_F_PORTS);
	cr_assert_eq(d.sport, 128);
	cr_assert_eq(d.dport, 0);
	cr_assert_eq(d.ipproto, IPPROTO_ICMPV6);

	f.b[ip + 40] = 135; /* neighbour solicitation */
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.sport, 135);
}

Test(decode, icmp_on_wrong_ip_version)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_ICMP);
	icmp(&f, 8, 0);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.ipproto, IPPROTO_ICMP);
	cr_assert_not(d.flags & DEC_F_PORTS);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_ICMPV6, 0, 0);
	icmp(&f, 128, 0);
	ip4_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.ipproto, IPPROTO_ICMPV6);
	cr_assert_not(d.flags & DEC_F_PORTS);
}

Test(decode, l4_truncated)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_TCP, 0, 0);
	tcp(&f, 0x1234, 0x5678);
	ip4_end(&f, ip);
	d = dec_len(DLT_EN10MB, &f, 34 + 3);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.err, DEC_ERR_L4_TRUNC);
	cr_assert_not(d.flags & DEC_F_PORTS);
	cr_assert_eq(d.sport, 0, "half-read port");
	cr_assert_eq(d.l4_off, 34);
	d = dec_len(DLT_EN10MB, &f, 34 + 4);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert(d.flags & DEC_F_PORTS);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ip = ip4(&f, IPPROTO_ICMP, 0, 0);
	icmp(&f, 8, 0);
	ip4_end(&f, ip);
	d = dec_len(DLT_EN10MB, &f, 34 + 1);
	cr_assert_eq(d.kind, KIND_ICMP4);
	cr_assert_eq(d.err, DEC_ERR_L4_TRUNC);
	cr_assert_not(d.flags & DEC_F_PORTS);
	d = dec_len(DLT_EN10MB, &f, 34 + 2);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert(d.flags & DEC_F_PORTS);
	cr_assert_eq(d.sport, 8);
}

/* ---- IPv6 ----------------------------------------------------------------- */

Test(decode, eth_tcp6)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_TCP);
	tcp(&f, 55555, 22);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_TCP6);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ethertype, 0x86dd);
	cr_assert_eq(d.ipproto, IPPROTO_TCP);
	cr_assert_eq(d.flags, DEC_F_PORTS);
	cr_assert_eq(d.sport, 55555);
	cr_assert_eq(d.dport, 22);
	cr_assert_eq(d.l3_off, 14);
	cr_assert_eq(d.l4_off, 54);
	cr_assert_eq(d.ip_len, 60);
	assert_ip6_addrs(&d);
}

Test(decode, ipv6_ext_chain)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_HOPOPTS);
	ext6(&f, IPPROTO_ROUTING, 0);  /* 8 */
	ext6(&f, IPPROTO_DSTOPTS, 2);  /* 24 */
	ext6(&f, IPPROTO_FRAGMENT, 1); /* 16 */
	frag6(&f, IPPROTO_UDP, 0, 1);  /* 8, first fragment */
	udp(&f, 500, 4500, 100);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_UDP6);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ipproto, IPPROTO_UDP);
	cr_assert_eq(d.flags, DEC_F_FRAG | DEC_F_PORTS);
	cr_assert_eq(d.sport, 500);
	cr_assert_eq(d.dport, 4500);
	cr_assert_eq(d.l3_off, 14);
	cr_assert_eq(d.l4_off, 14 + 40 + 8 + 24 + 16 + 8);
	cr_assert_eq(d.ip_len, 40 + 8 + 24 + 16 + 8 + 108);
	assert_ip6_addrs(&d);
}

Test(decode, ipv6_later_fragment)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_HOPOPTS);
	ext6(&f, IPPROTO_FRAGMENT, 0);
	frag6(&f, IPPROTO_TCP, 181, 0);
	tcp(&f, 1, 2);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.ipproto, IPPROTO_TCP);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.flags, DEC_F_FRAG | DEC_F_FRAG_LATER);
	cr_assert_eq(d.frag_id, 0xdeadbeef);
	cr_assert_eq(d.sport, 0);
	cr_assert_eq(d.l4_off, 0);
}

Test(decode, ipv6_atomic_fragment_is_not_fragment)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_FRAGMENT);
	frag6(&f, IPPROTO_TCP, 0, 0);
	tcp(&f, 7, 8);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_TCP6);
	cr_assert_eq(d.flags, DEC_F_PORTS);
	cr_assert_eq(d.sport, 7);
}

Test(decode, ipv6_ah)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_AH);
	ah6(&f, IPPROTO_TCP, 4); /* (4 + 2) * 4 = 24 bytes */
	tcp(&f, 179, 33000);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_TCP6);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.l4_off, 14 + 40 + 24);
	cr_assert_eq(d.sport, 179);
	cr_assert_eq(d.dport, 33000);
}

Test(decode, ipv6_esp_stops)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_DSTOPTS);
	ext6(&f, IPPROTO_ESP, 0);
	put32(&f, 0x1000); /* SPI: must not be read as ports */
	put32(&f, 1);
	zeros(&f, 32);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.ipproto, IPPROTO_ESP);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_not(d.flags & DEC_F_PORTS);
	cr_assert_eq(d.l4_off, 14 + 40 + 8);
	assert_ip6_addrs(&d);
}

Test(decode, ipv6_no_next_and_unknown)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_NONE);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.ipproto, IPPROTO_NONE);
	cr_assert_eq(d.err, DEC_OK);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_SCTP);
	zeros(&f, 12);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.ipproto, IPPROTO_SCTP);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_not(d.flags & DEC_F_PORTS);
}

Test(decode, ipv6_truncated_ext_header)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_HOPOPTS);
	ext6(&f, IPPROTO_TCP, 1); /* 16 bytes */
	tcp(&f, 1, 2);
	ip6_end(&f, ip);
	d = dec_len(DLT_EN10MB, &f, 14 + 40 + 10);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.err, DEC_ERR_IP6_EXT);
	cr_assert_eq(d.ipproto, IPPROTO_HOPOPTS);
	cr_assert_eq(d.l4_off, 0);
	assert_ip6_addrs(&d);

	d = dec_len(DLT_EN10MB, &f, 14 + 40 + 1);
	cr_assert_eq(d.err, DEC_ERR_IP6_EXT);

	/* A payload length that ends inside the extension header. */
	set16(&f, ip + 4, 8);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.err, DEC_ERR_IP6_EXT);
	cr_assert_eq(d.kind, KIND_IP6);
}

Test(decode, ipv6_ext_header_limit)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_DSTOPTS);
	for (int i = 1; i < DEC_MAX_IP6_EXT; i++)
		ext6(&f, IPPROTO_DSTOPTS, 0);
	ext6(&f, IPPROTO_UDP, 0);
	udp(&f, 9, 10, 0);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_UDP6, "%d headers are allowed",
		     DEC_MAX_IP6_EXT);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.sport, 9);

	memset(&f, 0, sizeof(f));
	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_DSTOPTS);
	for (int i = 0; i < DEC_MAX_IP6_EXT; i++)
		ext6(&f, IPPROTO_DSTOPTS, 0);
	ext6(&f, IPPROTO_UDP, 0);
	udp(&f, 9, 10, 0);
	ip6_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.err, DEC_ERR_IP6_EXT);
	cr_assert_eq(d.ipproto, IPPROTO_DSTOPTS);
	cr_assert_not(d.flags & DEC_F_PORTS);
}

Test(decode, ipv6_fixed_header_truncated)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x86dd);
	ip = ip6(&f, IPPROTO_TCP);
	tcp(&f, 1, 2);
	ip6_end(&f, ip);
	d = dec_len(DLT_EN10MB, &f, 14 + 39);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.err, DEC_ERR_IP6_TRUNC);
	cr_assert_eq(d.l3_off, 14);
	assert_no_addrs(&d);

	/* Wrong version behind the IPv6 ethertype: header unusable. */
	f.b[ip] = 0x45;
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_eq(d.err, DEC_ERR_IP6_TRUNC);
	cr_assert_not(d.flags & DEC_F_PORTS);
}

/* ---- ARP and other ethertypes ---------------------------------------------- */

Test(decode, arp_addresses)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	eth(&f, 0x0806);
	arp(&f, 1);
	zeros(&f, 18); /* Ethernet padding */
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_ARP);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ethertype, 0x0806);
	cr_assert_eq(d.ipproto, 0);
	cr_assert_eq(d.l3_off, 14);
	cr_assert_eq(d.l4_off, 0);
	cr_assert_not(d.flags & DEC_F_PORTS);
	assert_ip4_addrs(&d);
}

Test(decode, arp_truncated)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	eth(&f, 0x0806);
	arp(&f, 2);
	d = dec_len(DLT_EN10MB, &f, 14 + 27);
	cr_assert_eq(d.kind, KIND_ARP);
	cr_assert_eq(d.err, DEC_ERR_ARP);
	assert_no_addrs(&d);
	d = dec_len(DLT_EN10MB, &f, 14 + 5);
	cr_assert_eq(d.kind, KIND_ARP);
	cr_assert_eq(d.err, DEC_ERR_ARP);
}

Test(decode, arp_non_ip_protocol)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	eth(&f, 0x0806);
	arp(&f, 1);
	set16(&f, 14 + 2, 0x809b); /* AppleTalk, plen still 4 */
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_ARP);
	cr_assert_eq(d.err, DEC_OK);
	assert_no_addrs(&d);
}

Test(decode, other_ethertypes)
{
	static const uint16_t types[] = { 0x8137 /* IPX */, 0x88cc /* LLDP */,
					  0x8035 /* RARP */, 0x8863 };
	struct frame f;
	struct dec_pkt d;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&f, 0, sizeof(f));
		eth(&f, types[i]);
		zeros(&f, 46);
		d = dec(DLT_EN10MB, &f);
		cr_assert_eq(d.kind, KIND_OTHER);
		cr_assert_eq(d.err, DEC_OK);
		cr_assert_eq(d.ethertype, types[i]);
		cr_assert_eq(d.l3_off, 0);
	}
}

Test(decode, ieee8023_length_frames)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	/* 802.3 + 802.2 LLC (STP): named like Linux cooked captures do. */
	eth(&f, 0x0026);
	put8(&f, 0x42);
	put8(&f, 0x42);
	put8(&f, 0x03);
	zeros(&f, 35);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ethertype, 0x0004);

	/* Novell raw 802.3: the IPX checksum 0xffff follows the length. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0040);
	put16(&f, 0xffff);
	zeros(&f, 44);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.ethertype, 0x0001);

	/* Zero bytes after the length field. */
	d = dec_len(DLT_EN10MB, &f, 14);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ethertype, 0x0004);
}

Test(decode, eth_truncated)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	eth(&f, 0x0800);
	for (size_t len = 0; len < 14; len++) {
		d = dec_len(DLT_EN10MB, &f, len);
		cr_assert_eq(d.kind, KIND_OTHER);
		cr_assert_eq(d.err, DEC_ERR_LINK);
		cr_assert_eq(d.ethertype, 0);
	}
	d = dec_len(DLT_EN10MB, &f, 14);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.err, DEC_ERR_IP4_TRUNC);
	cr_assert_eq(d.l3_off, 14);
}

/* ---- VLAN ------------------------------------------------------------------ */

Test(decode, vlan_single)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	eth(&f, 0x8100);
	vlan(&f, 0xa000 | 100, 0x0800); /* PCP 5 must be masked off */
	ip = ip4(&f, IPPROTO_UDP, 0, 0);
	udp(&f, 67, 68, 0);
	ip4_end(&f, ip);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.vlan, 100);
	cr_assert_eq(d.kind, KIND_UDP4);
	cr_assert_eq(d.ethertype, 0x0800);
	cr_assert_eq(d.l3_off, 18);
	cr_assert_eq(d.l4_off, 38);
	cr_assert_eq(d.sport, 67);
}

Test(decode, vlan_qinq)
{
	static const uint16_t outer[] = { 0x88a8, 0x9100, 0x8100 };
	struct frame f;
	size_t ip;
	struct dec_pkt d;

	for (size_t i = 0; i < 3; i++) {
		memset(&f, 0, sizeof(f));
		eth(&f, outer[i]);
		vlan(&f, 10, 0x8100);
		vlan(&f, 20, 0x86dd);
		ip = ip6(&f, IPPROTO_TCP);
		tcp(&f, 80, 8080);
		ip6_end(&f, ip);
		d = dec(DLT_EN10MB, &f);
		cr_assert_eq(d.vlan, 10, "outer tag wins (TPID %#x)", outer[i]);
		cr_assert_eq(d.kind, KIND_TCP6);
		cr_assert_eq(d.err, DEC_OK);
		cr_assert_eq(d.ethertype, 0x86dd);
		cr_assert_eq(d.l3_off, 22);
		cr_assert_eq(d.l4_off, 62);
		cr_assert_eq(d.dport, 8080);
	}
}

static void tagged_frame(struct frame *f, int tags)
{
	size_t ip;

	memset(f, 0, sizeof(*f));
	eth(f, tags ? 0x88a8 : 0x0800);
	for (int i = 0; i < tags; i++)
		vlan(f, (uint16_t)(100 + i), i + 1 < tags ? 0x8100 : 0x0800);
	ip = ip4(f, IPPROTO_TCP, 0, 0);
	tcp(f, 1, 2);
	ip4_end(f, ip);
}

Test(decode, vlan_too_deep)
{
	struct frame f;
	struct dec_pkt d;

	tagged_frame(&f, DEC_MAX_VLAN);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.vlan, 100);
	cr_assert_eq(d.l3_off, 14 + 4 * DEC_MAX_VLAN);

	tagged_frame(&f, DEC_MAX_VLAN + 1);
	d = dec(DLT_EN10MB, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_ERR_VLAN_DEPTH);
	cr_assert_eq(d.vlan, 100);
	cr_assert_eq(d.l3_off, 0);
	cr_assert_not(d.flags & DEC_F_PORTS);
}

Test(decode, vlan_tag_truncated)
{
	struct frame f;
	struct dec_pkt d;

	tagged_frame(&f, 2);
	d = dec_len(DLT_EN10MB, &f, 14 + 4 + 3);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_ERR_LINK);
	cr_assert_eq(d.vlan, 100);
}

Test(decode, vlan_stripped_tci)
{
	struct frame f;
	struct dec_pkt d;

	tagged_frame(&f, 0);
	cr_assert_eq(dec_tci(DLT_EN10MB, &f, f.len, 0x2000 | 42, &d), 0);
	cr_assert_eq(d.vlan, 42);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.l3_off, 14);

	/* VID 0 (priority tag) stays 0. */
	cr_assert_eq(dec_tci(DLT_EN10MB, &f, f.len, 0xe000, &d), 0);
	cr_assert_eq(d.vlan, 0);

	/* The stripped tag is the outermost one and counts toward depth. */
	tagged_frame(&f, 1);
	cr_assert_eq(dec_tci(DLT_EN10MB, &f, f.len, 7, &d), 0);
	cr_assert_eq(d.vlan, 7);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.l3_off, 18);

	tagged_frame(&f, DEC_MAX_VLAN - 1);
	cr_assert_eq(dec_tci(DLT_EN10MB, &f, f.len, 7, &d), 0);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.err, DEC_OK);

	tagged_frame(&f, DEC_MAX_VLAN);
	cr_assert_eq(dec_tci(DLT_EN10MB, &f, f.len, 7, &d), 0);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_ERR_VLAN_DEPTH);
	cr_assert_eq(d.vlan, 7);

	/* A stripped tag also applies to cooked captures. */
	memset(&f, 0, sizeof(f));
	sll(&f, 1, 0x0806);
	arp(&f, 1);
	cr_assert_eq(dec_tci(DLT_LINUX_SLL, &f, f.len, 0x0fff, &d), 0);
	cr_assert_eq(d.vlan, 0xfff);
	cr_assert_eq(d.kind, KIND_ARP);
}

/* ---- Linux cooked ---------------------------------------------------------- */

Test(decode, sll_ipv4)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	sll(&f, 1, 0x0800);
	ip = ip4(&f, IPPROTO_TCP, 0, 0);
	tcp(&f, 5000, 6000);
	ip4_end(&f, ip);
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ethertype, 0x0800);
	cr_assert_eq(d.l3_off, 16);
	cr_assert_eq(d.l4_off, 36);
	cr_assert_eq(d.sport, 5000);
	assert_ip4_addrs(&d);
}

Test(decode, sll_vlan_in_band)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	sll(&f, 1, 0x8100);
	vlan(&f, 300, 0x0800);
	ip = ip4(&f, IPPROTO_UDP, 0, 0);
	udp(&f, 123, 123, 48);
	ip4_end(&f, ip);
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.vlan, 300);
	cr_assert_eq(d.kind, KIND_UDP4);
	cr_assert_eq(d.l3_off, 20);
}

Test(decode, sll_arphrd_types)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	/* GRE tunnel device: the protocol is a GRE type, an ethertype. */
	sll(&f, 778, 0x86dd);
	ip = ip6(&f, IPPROTO_UDP);
	udp(&f, 1, 2, 0);
	ip6_end(&f, ip);
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.kind, KIND_UDP6);
	cr_assert_eq(d.l3_off, 16);

	/* Loopback, tun (ARPHRD_NONE): ethertype too. */
	set16(&f, 2, 772);
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.kind, KIND_UDP6);
	set16(&f, 2, 0xfffe);
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.kind, KIND_UDP6);

	/* Netlink monitor: the field is a netlink family, never IP. */
	set16(&f, 2, 824);
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.l3_off, 0);

	/* 802.11 radiotap: payload opens with its own header. */
	set16(&f, 2, 803);
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
}

Test(decode, sll_non_ethertype_protocol)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	sll(&f, 1, 0x0004); /* LINUX_SLL_P_802_2 */
	put8(&f, 0x42);
	put8(&f, 0x42);
	put8(&f, 0x03);
	zeros(&f, 35);
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ethertype, 0x0004);

	set16(&f, 14, 0x000c); /* CAN */
	d = dec(DLT_LINUX_SLL, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.ethertype, 0x000c);
}

Test(decode, sll_truncated)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	sll(&f, 1, 0x0800);
	d = dec_len(DLT_LINUX_SLL, &f, 15);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_ERR_LINK);
	d = dec_len(DLT_LINUX_SLL, &f, 16);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.err, DEC_ERR_IP4_TRUNC);
}

Test(decode, sll2_ipv6)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;

	sll2(&f, 1, 0x86dd);
	ip = ip6(&f, IPPROTO_TCP);
	tcp(&f, 443, 60000);
	ip6_end(&f, ip);
	d = dec(DLT_LINUX_SLL2, &f);
	cr_assert_eq(d.kind, KIND_TCP6);
	cr_assert_eq(d.err, DEC_OK);
	cr_assert_eq(d.ethertype, 0x86dd);
	cr_assert_eq(d.l3_off, 20);
	cr_assert_eq(d.l4_off, 60);
	cr_assert_eq(d.sport, 443);
	assert_ip6_addrs(&d);

	set16(&f, 8, 824); /* netlink */
	d = dec(DLT_LINUX_SLL2, &f);
	cr_assert_eq(d.kind, KIND_OTHER);

	d = dec_len(DLT_LINUX_SLL2, &f, 19);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_ERR_LINK);
}

/* ---- raw IP and loopback ----------------------------------------------------- */

Test(decode, raw_ip_both_dlt_values)
{
	static const int dlts[] = { DLT_RAW, 101 /* LINKTYPE_RAW */ };
	struct frame f4 = { 0 }, f6 = { 0 };
	size_t ip;
	struct dec_pkt d;

	ip = ip4(&f4, IPPROTO_UDP, 0, 0);
	udp(&f4, 53, 40000, 20);
	ip4_end(&f4, ip);
	ip = ip6(&f6, IPPROTO_TCP);
	tcp(&f6, 80, 40001);
	ip6_end(&f6, ip);

	for (size_t i = 0; i < 2; i++) {
		d = dec(dlts[i], &f4);
		cr_assert_eq(d.kind, KIND_UDP4, "dlt %d", dlts[i]);
		cr_assert_eq(d.ethertype, 0x0800);
		cr_assert_eq(d.l3_off, 0);
		cr_assert_eq(d.l4_off, 20);
		cr_assert_eq(d.sport, 53);
		assert_ip4_addrs(&d);

		d = dec(dlts[i], &f6);
		cr_assert_eq(d.kind, KIND_TCP6, "dlt %d", dlts[i]);
		cr_assert_eq(d.ethertype, 0x86dd);
		cr_assert_eq(d.l3_off, 0);
		cr_assert_eq(d.l4_off, 40);
		cr_assert_eq(d.dport, 40001);
	}
}

Test(decode, raw_ip_bad_or_empty)
{
	struct frame f = { 0 };
	struct dec_pkt d;

	put8(&f, 0x55);
	zeros(&f, 39);
	d = dec(DLT_RAW, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_ERR_IP4_BAD);

	d = dec_len(DLT_RAW, &f, 0);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_ERR_LINK);

	/* Truncated but recognisable: v4 nibble only. */
	f.b[0] = 0x45;
	d = dec_len(DLT_RAW, &f, 1);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.err, DEC_ERR_IP4_TRUNC);
}

Test(decode, dlt_ipv4_ipv6)
{
	struct frame f4 = { 0 }, f6 = { 0 };
	size_t ip;
	struct dec_pkt d;

	ip = ip4(&f4, IPPROTO_ICMP, 0, 0);
	icmp(&f4, 0, 0);
	ip4_end(&f4, ip);
	ip = ip6(&f6, IPPROTO_UDP);
	udp(&f6, 546, 547, 4);
	ip6_end(&f6, ip);

	d = dec(DLT_IPV4, &f4);
	cr_assert_eq(d.kind, KIND_ICMP4);
	cr_assert_eq(d.l4_off, 20);
	d = dec(DLT_IPV6, &f6);
	cr_assert_eq(d.kind, KIND_UDP6);
	cr_assert_eq(d.sport, 546);

	/* The link type, not the version nibble, decides here. */
	d = dec(DLT_IPV4, &f6);
	cr_assert_eq(d.kind, KIND_IP4);
	cr_assert_eq(d.err, DEC_ERR_IP4_BAD);
	d = dec(DLT_IPV6, &f4);
	cr_assert_eq(d.kind, KIND_IP6);
	cr_assert_neq(d.err, DEC_OK);
}

static void loop_frame(struct frame *f, uint32_t fam, int little, int v6)
{
	size_t ip;

	memset(f, 0, sizeof(*f));
	if (little)
		put_le32(f, fam);
	else
		put32(f, fam);
	if (v6) {
		ip = ip6(f, IPPROTO_UDP);
		udp(f, 1111, 2222, 0);
		ip6_end(f, ip);
	} else {
		ip = ip4(f, IPPROTO_UDP, 0, 0);
		udp(f, 1111, 2222, 0);
		ip4_end(f, ip);
	}
}

Test(decode, null_loopback_both_byte_orders)
{
	static const uint32_t fam6[] = { 24, 28, 30 };
	struct frame f;
	struct dec_pkt d;

	for (int little = 0; little < 2; little++) {
		loop_frame(&f, 2, little, 0);
		d = dec(DLT_NULL, &f);
		cr_assert_eq(d.kind, KIND_UDP4, "little %d", little);
		cr_assert_eq(d.ethertype, 0x0800);
		cr_assert_eq(d.l3_off, 4);
		cr_assert_eq(d.l4_off, 24);
		cr_assert_eq(d.sport, 1111);
		for (size_t i = 0; i < 3; i++) {
			loop_frame(&f, fam6[i], little, 1);
			d = dec(DLT_NULL, &f);
			cr_assert_eq(d.kind, KIND_UDP6, "family %u little %d",
				     fam6[i], little);
			cr_assert_eq(d.ethertype, 0x86dd);
			cr_assert_eq(d.l4_off, 44);
		}
		loop_frame(&f, 7, little, 0);
		d = dec(DLT_NULL, &f);
		cr_assert_eq(d.kind, KIND_OTHER);
		cr_assert_eq(d.err, DEC_OK);
	}
	d = dec_len(DLT_NULL, &f, 3);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.err, DEC_ERR_LINK);
}

Test(decode, loop_network_order)
{
	struct frame f;
	struct dec_pkt d;

	loop_frame(&f, 2, 0, 0);
	d = dec(DLT_LOOP, &f);
	cr_assert_eq(d.kind, KIND_UDP4);
	cr_assert_eq(d.l3_off, 4);
	loop_frame(&f, 30, 0, 1);
	d = dec(DLT_LOOP, &f);
	cr_assert_eq(d.kind, KIND_UDP6);

	/* DLT_LOOP is network order only: 02 00 00 00 is not AF_INET. */
	loop_frame(&f, 2, 1, 0);
	d = dec(DLT_LOOP, &f);
	cr_assert_eq(d.kind, KIND_OTHER);
	d = dec_len(DLT_LOOP, &f, 2);
	cr_assert_eq(d.err, DEC_ERR_LINK);
}

/* ---- API edges ----------------------------------------------------------------- */

Test(decode, unsupported_dlt)
{
	static const int bad[] = { DLT_IEEE802_11, DLT_PPP, DLT_FDDI, -1,
				   100000 };
	static const int good[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2,
				    DLT_RAW,	101,	       DLT_IPV4,
				    DLT_IPV6,	DLT_NULL,      DLT_LOOP };
	struct frame f;
	struct dec_pkt d;

	tagged_frame(&f, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(dec_tci(bad[i], &f, f.len, -1, &d),
			     -EPROTONOSUPPORT, "dlt %d", bad[i]);
		cr_assert_eq(d.kind, KIND_OTHER);
		cr_assert_not(decode_link_supported(bad[i]));
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(decode_link_supported(good[i]), "dlt %d", good[i]);
}

Test(decode, decode_l3_entry)
{
	struct frame f = { 0 };
	size_t ip;
	struct dec_pkt d;
	uint8_t *q;

	ip = ip4(&f, IPPROTO_TCP, 0, 4);
	tcp(&f, 8443, 1025);
	ip4_end(&f, ip);
	q = exact_copy(f.b, f.len);
	cr_assert_eq(decode_l3(0x0800, q, (uint32_t)f.len, &d), 0);
	free(q);
	cr_assert_eq(d.kind, KIND_TCP4);
	cr_assert_eq(d.ethertype, 0x0800);
	cr_assert_eq(d.l3_off, 0);
	cr_assert_eq(d.l4_off, 24);
	cr_assert_eq(d.sport, 8443);
	cr_assert_eq(d.vlan, 0);

	memset(&f, 0, sizeof(f));
	vlan(&f, 55, 0x0806);
	arp(&f, 1);
	q = exact_copy(f.b, f.len);
	cr_assert_eq(decode_l3(0x8100, q, (uint32_t)f.len, &d), 0);
	free(q);
	cr_assert_eq(d.kind, KIND_ARP);
	cr_assert_eq(d.vlan, 55);
	cr_assert_eq(d.l3_off, 4);
	assert_ip4_addrs(&d);

	cr_assert_eq(decode_l3(0x88cc, f.b, 0, &d), 0);
	cr_assert_eq(d.kind, KIND_OTHER);
	cr_assert_eq(d.ethertype, 0x88cc);
}

Test(decode, err_names)
{
	static const char *const want[DEC_ERR_COUNT] = {
		"ok",
		"link-truncated",
		"vlan-depth",
		"ipv4-truncated",
		"ipv4-bad-header",
		"ipv6-truncated",
		"ipv6-ext-header",
		"l4-truncated",
		"arp-truncated",
	};

	for (int i = 0; i < DEC_ERR_COUNT; i++)
		cr_assert_str_eq(decode_err_name(i), want[i]);
	cr_assert_str_eq(decode_err_name(-1), "unknown");
	cr_assert_str_eq(decode_err_name(DEC_ERR_COUNT), "unknown");
	cr_assert_str_eq(decode_err_name(1000), "unknown");
}

/* ---- truncation: every prefix of real frames ---------------------------------- */

static void frame_tcp4_opts(struct frame *f)
{
	size_t ip;

	memset(f, 0, sizeof(*f));
	eth(f, 0x0800);
	ip = ip4(f, IPPROTO_TCP, 0x4000, 8);
	tcp(f, 40000, 443);
	zeros(f, 10);
	ip4_end(f, ip);
}

static void frame_udp6_ext(struct frame *f)
{
	size_t ip;

	memset(f, 0, sizeof(*f));
	eth(f, 0x86dd);
	ip = ip6(f, IPPROTO_HOPOPTS);
	ext6(f, IPPROTO_ROUTING, 0);
	ext6(f, IPPROTO_FRAGMENT, 2);
	frag6(f, IPPROTO_AH, 0, 1);
	ah6(f, IPPROTO_DSTOPTS, 1);
	ext6(f, IPPROTO_UDP, 0);
	udp(f, 547, 546, 16);
	ip6_end(f, ip);
}

static void frame_qinq_icmp(struct frame *f)
{
	size_t ip;

	memset(f, 0, sizeof(*f));
	eth(f, 0x88a8);
	vlan(f, 2, 0x8100);
	vlan(f, 3, 0x0800);
	ip = ip4(f, IPPROTO_ICMP, 0, 0);
	icmp(f, 8, 0);
	ip4_end(f, ip);
}

static void frame_arp(struct frame *f)
{
	memset(f, 0, sizeof(*f));
	eth(f, 0x0806);
	arp(f, 2);
}

static void frame_sll2_tcp6(struct frame *f)
{
	size_t ip;

	memset(f, 0, sizeof(*f));
	sll2(f, 1, 0x86dd);
	ip = ip6(f, IPPROTO_DSTOPTS);
	ext6(f, IPPROTO_TCP, 1);
	tcp(f, 993, 50001);
	ip6_end(f, ip);
}

Test(decode, every_prefix_of_real_frames)
{
	static const struct {
		void (*build)(struct frame *f);
		int dlt;
		uint8_t kind;
	} cases[] = {
		{ frame_tcp4_opts, DLT_EN10MB, KIND_TCP4 },
		{ frame_udp6_ext, DLT_EN10MB, KIND_UDP6 },
		{ frame_qinq_icmp, DLT_EN10MB, KIND_ICMP4 },
		{ frame_arp, DLT_EN10MB, KIND_ARP },
		{ frame_sll2_tcp6, DLT_LINUX_SLL2, KIND_TCP6 },
	};
	struct frame f;
	struct dec_pkt full, d;
	size_t need;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cases[i].build(&f);
		full = dec(cases[i].dlt, &f);
		cr_assert_eq(full.kind, cases[i].kind, "case %zu", i);
		cr_assert_eq(full.err, DEC_OK, "case %zu: %s", i,
			     decode_err_name(full.err));
		check_invariants(&full, (uint32_t)f.len);
		/* Bytes the decoder needs: through the ports, or ARP's 28. */
		if (full.kind == KIND_ARP)
			need = full.l3_off + 28;
		else
			need = full.l4_off + (is_icmp_kind(full.kind) ? 2 : 4);
		for (size_t len = 0; len <= f.len; len++) {
			d = dec_len(cases[i].dlt, &f, len);
			check_invariants(&d, (uint32_t)len);
			if (len < need) {
				cr_assert_neq(d.err, DEC_OK, "case %zu len %zu",
					      i, len);
				cr_assert_not(d.flags & DEC_F_PORTS);
				continue;
			}
			cr_assert_eq(d.err, DEC_OK, "case %zu len %zu: %s", i,
				     len, decode_err_name(d.err));
			cr_assert_eq(d.kind, full.kind);
			cr_assert_eq(d.flags, full.flags);
			cr_assert_eq(d.sport, full.sport);
			cr_assert_eq(d.dport, full.dport);
			cr_assert_eq(d.l3_off, full.l3_off);
			cr_assert_eq(d.l4_off, full.l4_off);
			cr_assert_arr_eq(d.src, full.src, 16);
			cr_assert_arr_eq(d.dst, full.dst, 16);
		}
	}
}

/* ---- corpus: every packet of tcpdump's test captures -------------------------- */

static DIR *open_corpus(char *path, size_t pathlen)
{
	const char *env = getenv("PKTSTAT_CORPUS");
	DIR *dir;

	snprintf(path, pathlen, "%s", "../shared/pcaps/tcpdump-tests");
	dir = opendir(path);
	if (!dir && env && *env) {
		snprintf(path, pathlen, "%s", env);
		dir = opendir(path);
	}
	return dir;
}

Test(decode, tcpdump_corpus, .timeout = 300)
{
	char dirpath[4096], file[8192], errbuf[PCAP_ERRBUF_SIZE];
	unsigned long files = 0, opened = 0, pkts = 0, unsupported = 0;
	unsigned long kinds[KIND_COUNT] = { 0 }, errs[DEC_ERR_COUNT] = { 0 };
	struct dirent *de;
	DIR *dir = open_corpus(dirpath, sizeof(dirpath));

	/* The corpus sits beside the CI checkout only; CI must run this.
	 * The line goes to stderr: Criterion 2.4 makes a run that logged a
	 * warning exit 1, and a skip's own message shows only with
	 * --verbose. */
	if (!dir && !getenv("CI")) {
		fprintf(stderr,
			"# SKIP decode::tcpdump_corpus: no corpus at "
			"../shared/pcaps/tcpdump-tests nor $PKTSTAT_CORPUS\n");
		cr_skip_test("no corpus");
	}
	cr_assert_not_null(dir,
			   "corpus not found: ../shared/pcaps/tcpdump-tests "
			   "(from %s) nor $PKTSTAT_CORPUS",
			   getenv("PWD") ? getenv("PWD") : "?");
	while ((de = readdir(dir))) {
		struct pcap_pkthdr *h;
		const u_char *data;
		pcap_t *pc;
		int dlt, rc;

		if (de->d_name[0] == '.')
			continue;
		files++;
		snprintf(file, sizeof(file), "%s/%s", dirpath, de->d_name);
		pc = pcap_open_offline(file, errbuf);
		if (!pc)
			continue;
		opened++;
		dlt = pcap_datalink(pc);
		while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
			uint8_t *q = exact_copy(data, h->caplen);
			struct dec_pkt d;

			memset(&d, 0xa5, sizeof(d));
			rc = decode_frame(dlt, q, h->caplen, -1, &d);
			free(q);
			pkts++;
			if (!decode_link_supported(dlt)) {
				cr_assert_eq(rc, -EPROTONOSUPPORT, "%s dlt %d",
					     de->d_name, dlt);
				cr_assert_eq(d.kind, KIND_OTHER);
				unsupported++;
				continue;
			}
			cr_assert_eq(rc, 0, "%s", de->d_name);
			check_invariants(&d, h->caplen);
			kinds[d.kind]++;
			errs[d.err]++;
		}
		pcap_close(pc);
	}
	closedir(dir);

	cr_log_info("corpus %s: %lu files, %lu opened, %lu packets, "
		    "%lu on unsupported links",
		    dirpath, files, opened, pkts, unsupported);
	for (int k = 0; k < KIND_COUNT; k++)
		cr_log_info("kind %d: %lu", k, kinds[k]);
	for (int e = 0; e < DEC_ERR_COUNT; e++)
		cr_log_info("%s: %lu", decode_err_name(e), errs[e]);
	cr_assert_gt(opened, 500, "only %lu of %lu captures opened", opened,
		     files);
	cr_assert_gt(unsupported, 0);
	/* A decoder that classified nothing would pass the invariants. */
	for (int k = 0; k < KIND_COUNT; k++)
		cr_assert_gt(kinds[k], 0, "no packet of kind %d", k);
	for (int e = DEC_ERR_LINK; e < DEC_ERR_COUNT; e++)
		if (e != DEC_ERR_VLAN_DEPTH)
			cr_assert_gt(errs[e], 0, "no %s packet",
				     decode_err_name(e));
}
