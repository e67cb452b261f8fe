/*
 * mkpcap.c - golden-test generator: writes a pcap file of known traffic and
 * the flow table it knows it wrote, independently of pktstat's decoder.
 *
 *   mkpcap SCENARIO OUT.pcap EXPECTED.txt
 *
 * SCENARIO: eth (Ethernet: IPv4/IPv6 TCP, UDP, ICMP, ICMPv6, ARP, VLAN,
 * QinQ, IPv6 extension headers, fragments, truncated frames, other
 * ethertypes), sll, sll2, raw, null (the same IP traffic over other link
 * types), frag (IPv4 and IPv6 fragments of ICMP, UDP and TCP datagrams, in
 * order and last fragment first; BIG TCP frames; LLDP, 802.2 LLC and SNAP
 * frames), many (N flows, for benchmarks and floods:
 * mkpcap many OUT EXP NFLOWS NPKTS [SCANPORTS]: NPKTS 60-byte UDP frames
 * spread over NFLOWS flows (one each when NPKTS == NFLOWS), then a TCP SYN
 * scan of ports 1..SCANPORTS of one host). OUT may be "-" for stdout.
 *
 * EXPECTED.txt holds sorted lines:
 *   flow PROTO SRC DST PACKETS BYTES   (one per direction with packets)
 *   proto NAME PACKETS BYTES           (the 8 protocol totals)
 *   total PACKETS BYTES
 * Bytes are wire lengths including the link header.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXF 4096
#define MAXL 2000000

enum { P_IPV4, P_IPV6, P_TCP, P_UDP, P_ICMP, P_ICMP6, P_ARP, P_OTHER, NP };
static const char *pname[NP] = { "IPv4", "IPv6",   "TCP", "UDP",
				 "ICMP", "ICMPv6", "ARP", "other" };

struct dirc {
	char key[400];
	unsigned long long pkts, bytes;
};

static struct dirc *dirs;
static size_t ndirs;
static unsigned long long ptot[NP][2], tot[2];
static FILE *out;
static int link_type;
static uint32_t tsec = 1700000000, tusec;
static uint32_t rng = 12345;

static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static void count_dir(const char *key, unsigned wire)
{
	for (size_t i = 0; i < ndirs; i++)
		if (strcmp(dirs[i].key, key) == 0) {
			dirs[i].pkts++;
			dirs[i].bytes += wire;
			return;
		}
	dirs = realloc(dirs, (ndirs + 1) * sizeof(*dirs));
	snprintf(dirs[ndirs].key, sizeof(dirs[ndirs].key), "%s", key);
	dirs[ndirs].pkts = 1;
	dirs[ndirs].bytes = wire;
	ndirs++;
}

static void put32(uint32_t v)
{
	fwrite(&v, 4, 1, out);
}

static void write_rec(const uint8_t *p, unsigned caplen, unsigned wire)
{
	tusec += 1000 + rnd() % 1000;
	if (tusec >= 1000000) {
		tsec++;
		tusec -= 1000000;
	}
	put32(tsec);
	put32(tusec);
	put32(caplen);
	put32(wire);
	fwrite(p, 1, caplen, out);
}

/* ---- frame assembly ---------------------------------------------------- */
static uint8_t fb[70000];
static unsigned fl;

static void b8(unsigned v)
{
	fb[fl++] = (uint8_t)v;
}
static void b16(unsigned v)
{
	b8(v >> 8);
	b8(v);
}
static void b32(uint32_t v)
{
	b16(v >> 16);
	b16(v & 0xffff);
}
static void bytes(const void *p, unsigned n)
{
	memcpy(fb + fl, p, n);
	fl += n;
}
static void zeros(unsigned n)
{
	memset(fb + fl, 0, n);
	fl += n;
}

/* Link header for an L3 protocol, per the scenario's link type. */
static void link_hdr(unsigned ethertype, const unsigned *vlans, int nvlan)
{
	static const uint8_t m1[6] = { 2, 0, 0, 0, 0, 1 },
			     m2[6] = { 2, 0, 0, 0, 0, 2 };
	switch (link_type) {
	case 1: /* Ethernet */
		bytes(m1, 6);
		bytes(m2, 6);
		for (int i = 0; i < nvlan; i++) {
			b16(i == 0 && nvlan > 1 ? 0x88a8 : 0x8100);
			b16(vlans[i]);
		}
		b16(ethertype);
		break;
	case 113: /* Linux cooked */
		b16(0);
		b16(1);
		b16(6);
		bytes(m1, 6);
		b16(0);
		b16(ethertype);
		break;
	case 276: /* SLL2 */
		b16(ethertype);
		b16(0);
		b32(2);
		b16(1);
		b8(0);
		b8(6);
		bytes(m1, 6);
		b16(0);
		break;
	case 0: { /* BSD loopback, host order */
		uint32_t fam = ethertype == 0x86dd ? 24 : 2;
		memcpy(fb + fl, &fam, 4);
		fl += 4;
		break;
	}
	default: /* raw */
		break;
	}
}

static void fmt_ep(char *buf, size_t len, int v6, const uint8_t *a, int port)
{
	char s[64];
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, s, sizeof(s));
	if (port < 0)
		snprintf(buf, len, "%s", s);
	else if (v6)
		snprintf(buf, len, "[%s]:%d", s, port);
	else
		snprintf(buf, len, "%s:%d", s, port);
}

static void account(int l4p, int v6, const char *proto, const char *src,
		    const char *dst, unsigned wire)
{
	char key[400];

	snprintf(key, sizeof(key), "flow %s %s %s", proto, src, dst);
	count_dir(key, wire);
	ptot[v6 ? P_IPV6 : P_IPV4][0]++;
	ptot[v6 ? P_IPV6 : P_IPV4][1] += wire;
	if (l4p >= 0) {
		ptot[l4p][0]++;
		ptot[l4p][1] += wire;
	}
	tot[0]++;
	tot[1] += wire;
}

/*
 * One IP packet: proto 6/17/1/58 with @plen payload bytes after the L4
 * header. @v6ext adds a hop-by-hop + destination options chain. @vlans
 * tags (Ethernet only). @trunc_to: captured bytes limit (0 = all).
 */
static void ip_packet(int v6, const uint8_t *src, const uint8_t *dst, int proto,
		      int sport, int dport, unsigned plen,
		      const unsigned *vlans, int nvlan, int v6ext)
{
	unsigned l4len = proto == 6 ? 20 : 8;
	unsigned iplen, start;
	char s[100], d[100];
	const char *pn;
	int l4p;

	fl = 0;
	link_hdr(v6 ? 0x86dd : 0x0800, vlans, link_type == 1 ? nvlan : 0);
	start = fl;
	if (!v6) {
		iplen = 20 + l4len + plen;
		b8(0x45);
		b8(0);
		b16(iplen);
		b16(rnd() & 0xffff);
		b16(0);
		b8(64);
		b8(proto);
		b16(0);
		bytes(src, 4);
		bytes(dst, 4);
	} else {
		unsigned ext = v6ext ? 16 : 0;
		iplen = 40 + ext + l4len + plen;
		b32(0x60000000);
		b16(ext + l4len + plen);
		b8(v6ext ? 0 : proto);
		b8(64);
		bytes(src, 16);
		bytes(dst, 16);
		if (v6ext) {
			b8(60); /* hop-by-hop -> dest opts */
			b8(0);
			zeros(6);
			b8(proto);
			b8(0);
			zeros(6);
		}
	}
	if (proto == 6) {
		b16(sport);
		b16(dport);
		b32(rnd());
		b32(rnd());
		b8(0x50);
		b8(0x18);
		b16(65535);
		b32(0);
	} else if (proto == 17) {
		b16(sport);
		b16(dport);
		b16(8 + plen);
		b16(0);
	} else {
		b8(sport); /* type */
		b8(0);
		b16(0);
		b16(1);
		b16(1);
	}
	for (unsigned i = 0; i < plen; i++)
		b8(i);
	(void)start;
	if (proto == 6 || proto == 17) {
		fmt_ep(s, sizeof(s), v6, src, sport);
		fmt_ep(d, sizeof(d), v6, dst, dport);
		pn = proto == 6 ? "TCP" : "UDP";
		l4p = proto == 6 ? P_TCP : P_UDP;
	} else {
		fmt_ep(s, sizeof(s), v6, src, -1);
		fmt_ep(d, sizeof(d), v6, dst, -1);
		pn = v6 ? "ICMPv6" : "ICMPv4";
		l4p = v6 ? P_ICMP6 : P_ICMP;
	}
	write_rec(fb, fl, fl);
	account(l4p, v6, pn, s, d, fl);
}

static void arp_packet(const uint8_t *spa, const uint8_t *tpa, int reply)
{
	char s[64], d[64];
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };

	fl = 0;
	link_hdr(0x0806, NULL, 0);
	b16(1);
	b16(0x0800);
	b8(6);
	b8(4);
	b16(reply ? 2 : 1);
	bytes(mac, 6);
	bytes(spa, 4);
	zeros(6);
	bytes(tpa, 4);
	zeros(18); /* Ethernet padding to 60 */
	inet_ntop(AF_INET, spa, s, sizeof(s));
	inet_ntop(AF_INET, tpa, d, sizeof(d));
	write_rec(fb, fl, fl);
	{
		char key[400];
		snprintf(key, sizeof(key), "flow ARP %s %s", s, d);
		count_dir(key, fl);
	}
	ptot[P_ARP][0]++;
	ptot[P_ARP][1] += fl;
	tot[0]++;
	tot[1] += fl;
}

static void other_packet(unsigned ethertype, unsigned len)
{
	char key[64];

	fl = 0;
	link_hdr(ethertype, NULL, 0);
	zeros(len);
	write_rec(fb, fl, fl);
	/* an "other" row names its ethertype on the A side */
	snprintf(key, sizeof(key), "flow other 0x%04x -", ethertype);
	count_dir(key, fl);
	ptot[P_OTHER][0]++;
	ptot[P_OTHER][1] += fl;
	tot[0]++;
	tot[1] += fl;
}

static int cmpdir(const void *a, const void *b)
{
	return strcmp(((const struct dirc *)a)->key,
		      ((const struct dirc *)b)->key);
}

static void addr4(uint8_t *a, unsigned x)
{
	a[0] = 10;
	a[1] = (uint8_t)(x >> 16);
	a[2] = (uint8_t)(x >> 8);
	a[3] = (uint8_t)x;
}

static void addr6(uint8_t *a, unsigned x)
{
	memset(a, 0, 16);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[13] = (uint8_t)(x >> 16);
	a[14] = (uint8_t)(x >> 8);
	a[15] = (uint8_t)x;
}

static void scenario_ip(void)
{
	uint8_t a[16], b[16], c[16];
	unsigned v1[1] = { 100 }, v2[2] = { 200, 300 };

	/* TCP conversations, both directions, varied sizes. */
	for (int f = 0; f < 6; f++) {
		addr4(a, 1);
		addr4(b, 2 + (unsigned)f);
		for (int i = 0; i < 5 + f * 3; i++) {
			ip_packet(0, a, b, 6, 40000 + f, 80, rnd() % 1400, NULL,
				  0, 0);
			if (i % 2)
				ip_packet(0, b, a, 6, 80, 40000 + f,
					  rnd() % 200, NULL, 0, 0);
		}
	}
	/* UDP one way, IPv4 and IPv6 (with extension headers). */
	addr4(a, 10);
	addr4(b, 11);
	for (int i = 0; i < 7; i++)
		ip_packet(0, a, b, 17, 5353, 53, 100 + (unsigned)i, NULL, 0, 0);
	addr6(a, 1);
	addr6(b, 2);
	for (int i = 0; i < 9; i++) {
		ip_packet(1, a, b, 17, 1000, 2000, 50 + (unsigned)i * 7, NULL,
			  0, i % 2);
		ip_packet(1, b, a, 17, 2000, 1000, 30, NULL, 0, 0);
	}
	/* IPv6 TCP */
	addr6(c, 3);
	for (int i = 0; i < 4; i++)
		ip_packet(1, c, a, 6, 443, 50000, 500, NULL, 0, 0);
	/* ICMP echo request/reply: one flow. */
	addr4(a, 20);
	addr4(b, 21);
	for (int i = 0; i < 3; i++) {
		ip_packet(0, a, b, 1, 8, 0, 56, NULL, 0, 0);
		ip_packet(0, b, a, 1, 0, 0, 56, NULL, 0, 0);
	}
	/* ICMPv6 echo */
	addr6(a, 20);
	addr6(b, 21);
	for (int i = 0; i < 2; i++) {
		ip_packet(1, a, b, 58, 128, 0, 56, NULL, 0, 0);
		ip_packet(1, b, a, 58, 129, 0, 56, NULL, 0, 0);
	}
	if (link_type == 1) {
		/* VLAN and QinQ: separate flows from the untagged ones. */
		addr4(a, 30);
		addr4(b, 31);
		for (int i = 0; i < 4; i++)
			ip_packet(0, a, b, 17, 7000, 7001, 64, v1, 1, 0);
		for (int i = 0; i < 3; i++)
			ip_packet(0, a, b, 17, 7000, 7002, 64, v2, 2, 0);
		/* ARP */
		addr4(a, 40);
		addr4(b, 41);
		arp_packet(a, b, 0);
		arp_packet(b, a, 1);
		arp_packet(a, b, 0);
		/* LLDP */
		other_packet(0x88cc, 46);
		other_packet(0x88cc, 100);
	}
}

/* ---- fragments (scenario frag) ----------------------------------------- */

/*
 * One datagram of protocol @proto (17 UDP, 1 ICMP echo type @sport, 58
 * ICMPv6 echo, 6 TCP) with @dlen data bytes, cut into fragments of at
 * most 1480 (IPv4) or 1448 (IPv6) payload bytes, written in order or,
 * with @reverse, last fragment first. Expected: each fragment counts in
 * the flow of the first fragment when that was written before it, else
 * in the "flow unknown" row "IPv4 SRC DST" / "IPv6 SRC DST" (IP totals
 * only), as the README says.
 */
static void frag_dgram(int v6, const uint8_t *src, const uint8_t *dst,
		       int proto, int sport, int dport, unsigned dlen,
		       uint32_t id, int reverse)
{
	static uint8_t dg[70000];
	unsigned n = 0, per = v6 ? 1448 : 1480, nfr, l4len;
	char s[100], d[100], lab[400], unk[400];
	int l4p;

	/* the whole transport datagram */
	if (proto == 17) {
		dg[n++] = (uint8_t)(sport >> 8), dg[n++] = (uint8_t)sport;
		dg[n++] = (uint8_t)(dport >> 8), dg[n++] = (uint8_t)dport;
		dg[n++] = (uint8_t)((8 + dlen) >> 8),
		dg[n++] = (uint8_t)(8 + dlen);
		dg[n++] = 0, dg[n++] = 0;
	} else if (proto == 6) {
		memset(dg, 0, 20);
		dg[0] = (uint8_t)(sport >> 8), dg[1] = (uint8_t)sport;
		dg[2] = (uint8_t)(dport >> 8), dg[3] = (uint8_t)dport;
		dg[12] = 0x50;
		dg[13] = 0x18;
		n = 20;
	} else {
		dg[n++] = (uint8_t)sport; /* type */
		memset(dg + n, 0, 7);
		n += 7;
	}
	l4len = n;
	for (unsigned i = 0; i < dlen; i++)
		dg[n++] = (uint8_t)i;
	if (proto == 6 || proto == 17) {
		fmt_ep(s, sizeof(s), v6, src, sport);
		fmt_ep(d, sizeof(d), v6, dst, dport);
		l4p = proto == 6 ? P_TCP : P_UDP;
		snprintf(lab, sizeof(lab), "flow %s %s %s",
			 proto == 6 ? "TCP" : "UDP", s, d);
	} else {
		fmt_ep(s, sizeof(s), v6, src, -1);
		fmt_ep(d, sizeof(d), v6, dst, -1);
		l4p = v6 ? P_ICMP6 : P_ICMP;
		snprintf(lab, sizeof(lab), "flow %s %s %s",
			 v6 ? "ICMPv6" : "ICMPv4", s, d);
	}
	fmt_ep(s, sizeof(s), v6, src, -1);
	fmt_ep(d, sizeof(d), v6, dst, -1);
	snprintf(unk, sizeof(unk), "flow %s %s %s", v6 ? "IPv6" : "IPv4", s, d);
	(void)l4len;
	nfr = (n + per - 1) / per;
	for (unsigned k = 0; k < nfr; k++) {
		unsigned i = reverse ? nfr - 1 - k : k;
		unsigned off = i * per, len = n - off < per ? n - off : per;
		int more = i + 1 < nfr, known = !reverse || i == 0;

		fl = 0;
		link_hdr(v6 ? 0x86dd : 0x0800, NULL, 0);
		if (!v6) {
			b8(0x45);
			b8(0);
			b16(20 + len);
			b16(id & 0xffff);
			b16((more ? 0x2000 : 0) | off / 8);
			b8(64);
			b8(proto);
			b16(0);
			bytes(src, 4);
			bytes(dst, 4);
		} else {
			b32(0x60000000);
			b16(8 + len);
			b8(44);
			b8(64);
			bytes(src, 16);
			bytes(dst, 16);
			b8(proto);
			b8(0);
			b16(off | (more ? 1 : 0));
			b32(id);
		}
		bytes(dg + off, len);
		write_rec(fb, fl, fl);
		count_dir(known ? lab : unk, fl);
		ptot[v6 ? P_IPV6 : P_IPV4][0]++;
		ptot[v6 ? P_IPV6 : P_IPV4][1] += fl;
		if (known) {
			ptot[l4p][0]++;
			ptot[l4p][1] += fl;
		}
		tot[0]++;
		tot[1] += fl;
	}
}

/*
 * A GSO / BIG TCP frame as a capture before segmentation shows it: IPv4
 * total length 0 (the frame is longer than 64 KB), @wire bytes on the
 * wire, the headers captured. Normal traffic, not malformed.
 */
static void big_tcp(const uint8_t *src, const uint8_t *dst, unsigned wire)
{
	char s[100], d[100];

	fl = 0;
	link_hdr(0x0800, NULL, 0);
	b8(0x45);
	b8(0);
	b16(0);
	b16(rnd() & 0xffff);
	b16(0x4000);
	b8(64);
	b8(6);
	b16(0);
	bytes(src, 4);
	bytes(dst, 4);
	b16(40100);
	b16(5201);
	b32(1);
	b32(1);
	b8(0x50);
	b8(0x10);
	b16(512);
	b32(0);
	zeros(64);
	write_rec(fb, fl, wire);
	fmt_ep(s, sizeof(s), 0, src, 40100);
	fmt_ep(d, sizeof(d), 0, dst, 5201);
	account(P_TCP, 0, "TCP", s, d, wire);
}

/*
 * An IEEE 802.3 frame (length field) with an 802.2 LLC header: DSAP and
 * SSAP @sap, or SNAP (0xaa 0xaa 0x03, OUI 0, protocol @pid) when @pid.
 * Expected: an "other" row named "llc-0x42" or "snap-0x809b".
 */
static void llc_packet(unsigned sap, unsigned pid)
{
	char key[64];

	fl = 0;
	link_hdr(46, NULL, 0);
	if (pid) {
		b8(0xaa);
		b8(0xaa);
		b8(0x03);
		zeros(3);
		b16(pid);
		snprintf(key, sizeof(key), "flow other snap-0x%04x -", pid);
	} else {
		b8(sap);
		b8(sap);
		b8(0x03);
		snprintf(key, sizeof(key), "flow other llc-0x%02x -", sap);
	}
	zeros(46 - (pid ? 8 : 3));
	write_rec(fb, fl, fl);
	count_dir(key, fl);
	ptot[P_OTHER][0]++;
	ptot[P_OTHER][1] += fl;
	tot[0]++;
	tot[1] += fl;
}

static void scenario_frag(void)
{
	uint8_t a[16], b[16];

	for (int i = 0; i < 3; i++) {
		/* ping -s 3000, both ways: no type-0 flow of fragments */
		addr4(a, 50);
		addr4(b, 51);
		frag_dgram(0, a, b, 1, 8, 0, 3000, 0x100 + (unsigned)i, 0);
		frag_dgram(0, b, a, 1, 0, 0, 3000, 0x200 + (unsigned)i, 0);
		/* 8000-byte UDP datagrams from two ports, one small one */
		frag_dgram(0, a, b, 17, 5000, 9, 8000, 0x300 + (unsigned)i, 0);
		frag_dgram(0, a, b, 17, 5001, 9, 8000, 0x400 + (unsigned)i, 0);
		ip_packet(0, a, b, 17, 5000, 9, 100, NULL, 0, 0);
		/* IPv6: UDP and ICMPv6 echo */
		addr6(a, 50);
		addr6(b, 51);
		frag_dgram(1, a, b, 17, 6000, 9, 8000, 0xabc00 + (unsigned)i,
			   0);
		frag_dgram(1, a, b, 58, 128, 0, 3000, 0xdef00 + (unsigned)i, 0);
		frag_dgram(1, b, a, 58, 129, 0, 3000, 0xdef80 + (unsigned)i, 0);
	}
	/* the same identification on another protocol is another datagram */
	addr4(a, 60);
	addr4(b, 61);
	frag_dgram(0, a, b, 17, 7000, 7, 3000, 0x77, 0);
	frag_dgram(0, a, b, 6, 7000, 7, 3000, 0x77, 0);
	/* last fragment first: the fragments before the first are "flow
	 * unknown", the first one is its flow */
	frag_dgram(0, a, b, 17, 7001, 7, 4000, 0x78, 1);
	addr6(a, 60);
	addr6(b, 61);
	frag_dgram(1, a, b, 17, 7001, 7, 4000, 0x79, 1);
	/* BIG TCP: IPv4 total length 0 */
	addr4(a, 70);
	addr4(b, 71);
	for (int i = 0; i < 4; i++)
		big_tcp(a, b, 97082 - (unsigned)i * 1000);
	/* "other" rows say what they carry */
	other_packet(0x88cc, 46);
	llc_packet(0x42, 0);
	llc_packet(0x42, 0);
	llc_packet(0, 0x809b);
}

/* Many flows of small UDP packets (benchmarks; 1 packet = 60 bytes). */
static void scenario_many(unsigned nflows, unsigned npkts)
{
	uint8_t a[16], b[16];

	for (unsigned i = 0; i < npkts; i++) {
		unsigned f = (unsigned)((uint64_t)i * 2654435761u % nflows);
		addr4(a, 1 + f / 60000);
		addr4(b, 0x800000 + f / 60000);
		fl = 0;
		link_hdr(0x0800, NULL, 0);
		b8(0x45);
		b8(0);
		b16(46);
		b16(0);
		b16(0);
		b8(64);
		b8(17);
		b16(0);
		bytes(a, 4);
		bytes(b, 4);
		b16(1024 + f % 60000);
		b16(9);
		b16(26);
		b16(0);
		zeros(18);
		write_rec(fb, fl, fl);
		tot[0]++;
		tot[1] += fl;
	}
	ptot[P_IPV4][0] = ptot[P_UDP][0] = tot[0];
	ptot[P_IPV4][1] = ptot[P_UDP][1] = tot[1];
}

/* A SYN scan of ports 1..nports of one host (54-byte TCP frames). */
static void scenario_scan(unsigned nports)
{
	uint8_t a[16], b[16];

	addr4(a, 0xfffe01);
	addr4(b, 0xfffe02);
	for (unsigned port = 1; port <= nports; port++) {
		fl = 0;
		link_hdr(0x0800, NULL, 0);
		b8(0x45);
		b8(0);
		b16(40);
		b16(0);
		b16(0);
		b8(64);
		b8(6);
		b16(0);
		bytes(a, 4);
		bytes(b, 4);
		b16(40000);
		b16(port);
		b32(0);
		b32(0);
		b8(0x50);
		b8(0x02);
		b16(1024);
		b32(0);
		write_rec(fb, fl, fl);
		tot[0]++;
		tot[1] += fl;
		ptot[P_IPV4][0]++;
		ptot[P_IPV4][1] += fl;
		ptot[P_TCP][0]++;
		ptot[P_TCP][1] += fl;
	}
}

int main(int argc, char **argv)
{
	FILE *ex;
	const char *sc;

	if (argc < 4) {
		fprintf(stderr, "usage: mkpcap SCENARIO OUT.pcap EXPECTED\n");
		return 2;
	}
	sc = argv[1];
	if (!strcmp(sc, "eth") || !strcmp(sc, "many") || !strcmp(sc, "frag"))
		link_type = 1;
	else if (!strcmp(sc, "sll"))
		link_type = 113;
	else if (!strcmp(sc, "sll2"))
		link_type = 276;
	else if (!strcmp(sc, "raw"))
		link_type = 101;
	else if (!strcmp(sc, "null"))
		link_type = 0;
	else {
		fprintf(stderr, "mkpcap: %s: unknown scenario\n", sc);
		return 2;
	}
	out = strcmp(argv[2], "-") ? fopen(argv[2], "wb") : stdout;
	if (!out) {
		perror(argv[2]);
		return 1;
	}
	put32(0xa1b2c3d4);
	put32(0x00040002);
	put32(0);
	put32(0);
	put32(65535);
	put32((uint32_t)link_type);
	if (!strcmp(sc, "many")) {
		scenario_many(argc > 4 ? (unsigned)atoi(argv[4]) : 1000,
			      argc > 5 ? (unsigned)atoi(argv[5]) : 100000);
		if (argc > 6)
			scenario_scan((unsigned)atoi(argv[6]));
	} else if (!strcmp(sc, "frag"))
		scenario_frag();
	else
		scenario_ip();
	if (out != stdout)
		fclose(out);
	ex = fopen(argv[3], "w");
	if (!ex) {
		perror(argv[3]);
		return 1;
	}
	if (ndirs) /* many: no per-direction table (dirs is NULL) */
		qsort(dirs, ndirs, sizeof(*dirs), cmpdir);
	for (size_t i = 0; i < ndirs; i++)
		fprintf(ex, "%s %llu %llu\n", dirs[i].key, dirs[i].pkts,
			dirs[i].bytes);
	for (int p = 0; p < NP; p++)
		fprintf(ex, "proto %s %llu %llu\n", pname[p], ptot[p][0],
			ptot[p][1]);
	fprintf(ex, "total %llu %llu\n", tot[0], tot[1]);
	fclose(ex);
	return 0;
}
