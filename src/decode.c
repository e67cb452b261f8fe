/*
 * decode.c - the packet decoder: link layer (Ethernet and its VLAN tags,
 * Linux cooked v1/v2, raw IP, BSD loopback) down to transport ports.
 *
 * Owns no state. Every function is pure and reentrant, callable from any
 * thread with no lock: capture workers call it once per packet at more than
 * a million packets a second, so it walks header chains only (bounded by
 * DEC_MAX_VLAN and DEC_MAX_IP6_EXT), never payload bytes. Every packet byte
 * is read through cursor.h, so nothing outside [p, p + caplen) is touched.
 *
 * A malformed packet is classified as deeply as its valid bytes allow; the
 * first fault found goes into dec_pkt.err and later ones do not overwrite it.
 */
#include "decode.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <pcap/dlt.h>

#include "cursor.h"

/*
 * pcap_datalink() maps a file's LINKTYPE_RAW to DLT_RAW, but a caller that
 * passes the link type straight from a file header gives us this value.
 */
#define LINKTYPE_RAW 101

/*
 * BSD loopback (DLT_NULL, DLT_LOOP) puts the sender's AF_ value in front of
 * the packet: AF_INET is 2 on every system, AF_INET6 differs (NetBSD and
 * OpenBSD 24, FreeBSD and DragonFly 28, Darwin 30).
 */
#define BSD_AF_INET 2
#define BSD_AF_INET6_BSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30

#define IP4_HDR_MIN 20
#define IP6_HDR_LEN 40
#define ARP_HDR_FIXED 8
#define ETH_HDR_LEN 14
#define VLAN_TAG_LEN 4
#define SLL_HDR_LEN 16
#define SLL2_HDR_LEN 20

/* Keep the first fault: it is the cause, later ones are consequences. */
static inline void set_err(struct dec_pkt *out, enum dec_err err)
{
	if (!out->err)
		out->err = (uint8_t)err;
}

/*
 * Shrink the cursor's end to @len bytes past its position if fewer are
 * claimed than captured. The IP length fields use it, so that Ethernet
 * padding after a short datagram is never read as ports. Touches no packet
 * byte.
 */
static inline void cur_clip(struct cursor *c, size_t len)
{
	if (len < cur_left(c))
		c->end = c->p + len;
}

static enum dec_kind kind_ip4(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return KIND_TCP4;
	case IPPROTO_UDP:
		return KIND_UDP4;
	case IPPROTO_ICMP:
		return KIND_ICMP4;
	default:
		return KIND_IP4;
	}
}

static enum dec_kind kind_ip6(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return KIND_TCP6;
	case IPPROTO_UDP:
		return KIND_UDP6;
	case IPPROTO_ICMPV6:
		return KIND_ICMP6;
	default:
		return KIND_IP6;
	}
}

/*
 * Transport header at the cursor; out->kind already says which. TCP and
 * UDP (RFC 793, RFC 768) both open with | source port | dest port |; ICMP
 * and ICMPv6 (RFC 792, RFC 4443) with | type | code |. Ports are taken only
 * when all of their bytes are there, so a truncated header never yields a
 * half-read port.
 */
static void dec_l4(struct cursor *c, struct dec_pkt *out)
{
	uint32_t ports = 0;
	uint16_t tc = 0;

	out->l4_off = cur_off(c);
	switch (out->kind) {
	case KIND_TCP4:
	case KIND_UDP4:
	case KIND_TCP6:
	case KIND_UDP6:
		if (!cur_peek_be32(c, 0, &ports)) {
			set_err(out, DEC_ERR_L4_TRUNC);
			return;
		}
		out->sport = (uint16_t)(ports >> 16);
		out->dport = (uint16_t)ports;
		out->flags |= DEC_F_PORTS;
		break;
	case KIND_ICMP4:
	case KIND_ICMP6:
		if (!cur_peek_be16(c, 0, &tc)) {
			set_err(out, DEC_ERR_L4_TRUNC);
			return;
		}
		out->sport = tc >> 8;
		out->dport = tc & 0xff;
		out->flags |= DEC_F_PORTS;
		break;
	default:
		break;
	}
}

/*
 * IPv4, RFC 791:
 *
 *  0       4       8               16   19                         31
 * +-------+-------+---------------+-----+---------------------------+
 * |Version|  IHL  |      TOS      |         Total Length            |
 * |        Identification         |Flags|     Fragment Offset       |
 * |      TTL      |   Protocol    |        Header Checksum          |
 * |                        Source Address                           |
 * |                      Destination Address                        |
 * |                   Options (IHL > 5)  ...                        |
 * +-----------------------------------------------------------------+
 *
 * Flags: 0x4000 DF, 0x2000 MF; offset in 8-byte units. A total length
 * beyond the captured bytes is normal (snaplen). A total length of 0 is
 * normal too: GSO/TSO and BIG TCP frames (over 64 KB) seen before
 * segmentation carry 0 there (tshark: "reported as 0, presumed TSO"), so
 * the transport header is decoded and the capture trusted (no clipping).
 * Any other total length below the header length is invalid.
 * A non-first fragment (offset > 0) carries no transport header: it is
 * KIND_IP4 whatever its protocol, and the caller (fragtab.h) finds its
 * flow from its identification.
 */
static void dec_ip4(struct cursor *c, struct dec_pkt *out)
{
	uint8_t vihl = 0, proto = 0;
	uint16_t tot = 0, frag = 0, id = 0;
	size_t hlen;

	out->kind = KIND_IP4;
	out->l3_off = cur_off(c);
	if (!cur_has(c, IP4_HDR_MIN)) {
		set_err(out, DEC_ERR_IP4_TRUNC);
		return;
	}
	cur_peek_u8(c, 0, &vihl);
	hlen = (size_t)(vihl & 0x0f) * 4;
	if ((vihl >> 4) != 4 || hlen < IP4_HDR_MIN) {
		set_err(out, DEC_ERR_IP4_BAD);
		return;
	}
	cur_peek_be16(c, 2, &tot);
	cur_peek_be16(c, 6, &frag);
	cur_peek_u8(c, 9, &proto);
	cur_peek_bytes(c, 12, out->src, 4);
	cur_peek_bytes(c, 16, out->dst, 4);
	out->ipproto = proto;
	out->ip_len = tot;
	out->kind = (uint8_t)kind_ip4(proto);
	if (frag & 0x3fff) {
		out->flags |= DEC_F_FRAG;
		cur_peek_be16(c, 4, &id);
		out->frag_id = id;
	}
	if (tot && tot < hlen)
		set_err(out, DEC_ERR_IP4_BAD);
	else if (tot)
		cur_clip(c, tot);
	if (!cur_skip(c, hlen)) {
		set_err(out, DEC_ERR_IP4_TRUNC);
		return;
	}
	/* Only the first fragment carries the transport header. */
	if (frag & 0x1fff) {
		out->flags |= DEC_F_FRAG_LATER;
		out->kind = KIND_IP4;
		return;
	}
	dec_l4(c, out);
}

/*
 * IPv6, RFC 8200:
 *
 * +-------+---------------+----------------------------------------+
 * |Version| Traffic Class |              Flow Label                |
 * |        Payload Length         |  Next Header  |   Hop Limit    |
 * |                  Source Address (16 bytes)                     |
 * |               Destination Address (16 bytes)                   |
 * +----------------------------------------------------------------+
 *
 * Extension headers we walk, each opening with | next | len |:
 *   hop-by-hop (0), routing (43), destination options (60): (len + 1) * 8
 *   authentication (51, RFC 4302): (len + 2) * 4
 *   fragment (44): 8 bytes, | next | res | offset:13 res:2 M:1 | id:32 |
 * ESP (50) encrypts what follows and 59 says nothing follows: both end the
 * walk like any upper-layer or unknown protocol does.
 * decode.h has no "bad IPv6 header" reason, so a version other than 6 is
 * reported as DEC_ERR_IP6_TRUNC: the fixed header is not usable.
 */
static void dec_ip6(struct cursor *c, struct dec_pkt *out)
{
	uint8_t vtc = 0, nh = 0, next = 0, hl = 0;
	uint16_t plen = 0, fo = 0;
	size_t len;

	out->kind = KIND_IP6;
	out->l3_off = cur_off(c);
	if (!cur_has(c, IP6_HDR_LEN)) {
		set_err(out, DEC_ERR_IP6_TRUNC);
		return;
	}
	cur_peek_u8(c, 0, &vtc);
	if ((vtc >> 4) != 6) {
		set_err(out, DEC_ERR_IP6_TRUNC);
		return;
	}
	cur_peek_be16(c, 4, &plen);
	cur_peek_u8(c, 6, &nh);
	cur_peek_bytes(c, 8, out->src, 16);
	cur_peek_bytes(c, 24, out->dst, 16);
	out->ip_len = IP6_HDR_LEN + (uint32_t)plen;
	cur_skip(c, IP6_HDR_LEN);
	/* 0 is a jumbogram (RFC 2675) or BIG TCP: trust the capture then. */
	if (plen)
		cur_clip(c, plen);

	for (unsigned int n = 0;; n++) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			out->ipproto = nh;
			out->kind = (uint8_t)kind_ip6(nh);
			dec_l4(c, out);
			return;
		}
		/* Past the chain limit, or a header cut short: stop here. */
		if (n == DEC_MAX_IP6_EXT || !cur_peek_u8(c, 0, &next) ||
		    !cur_peek_u8(c, 1, &hl))
			goto bad;
		if (nh == IPPROTO_FRAGMENT)
			len = 8;
		else if (nh == IPPROTO_AH)
			len = ((size_t)hl + 2) * 4;
		else
			len = ((size_t)hl + 1) * 8;
		if (!cur_has(c, len))
			goto bad;
		if (nh == IPPROTO_FRAGMENT) {
			cur_peek_be16(c, 2, &fo);
			if (fo & 0xfff9) {
				out->flags |= DEC_F_FRAG;
				cur_peek_be32(c, 4, &out->frag_id);
			}
			if (fo & 0xfff8) {
				/* The rest is fragment data, not headers:
				 * KIND_IP6, as a later IPv4 fragment. */
				out->flags |= DEC_F_FRAG_LATER;
				out->ipproto = next;
				out->kind = KIND_IP6;
				return;
			}
		}
		cur_skip(c, len);
		nh = next;
	}
bad:
	out->ipproto = nh;
	set_err(out, DEC_ERR_IP6_EXT);
}

/*
 * ARP, RFC 826:
 * | htype(2) | ptype(2) | hlen(1) | plen(1) | oper(2) |
 * | sender hw (hlen) | sender proto (plen) | target hw | target proto |
 * Any hardware type works: only ptype 0x0800 with plen 4 is needed to
 * locate the IPv4 addresses (Ethernet has hlen 6, InfiniBand 20).
 */
static void dec_arp(struct cursor *c, struct dec_pkt *out)
{
	uint16_t ptype = 0;
	uint8_t hlen = 0, plen = 0;

	out->kind = KIND_ARP;
	out->l3_off = cur_off(c);
	if (!cur_has(c, ARP_HDR_FIXED)) {
		set_err(out, DEC_ERR_ARP);
		return;
	}
	cur_peek_be16(c, 2, &ptype);
	cur_peek_u8(c, 4, &hlen);
	cur_peek_u8(c, 5, &plen);
	if (!cur_has(c, ARP_HDR_FIXED + 2 * (size_t)hlen + 2 * (size_t)plen)) {
		set_err(out, DEC_ERR_ARP);
		return;
	}
	if (ptype == ETH_P_IP && plen == 4) {
		cur_peek_bytes(c, ARP_HDR_FIXED + hlen, out->src, 4);
		cur_peek_bytes(c, ARP_HDR_FIXED + 2 * (size_t)hlen + 4,
			       out->dst, 4);
	}
}

/*
 * IEEE 802.2 LLC, to name an "other" frame's protocol (sport; kind stays
 * KIND_OTHER): | DSAP | SSAP | control |, and with DSAP = SSAP = 0xaa
 * (SNAP, RFC 1042) | OUI (3) | protocol ID (2) | after a UI control
 * (0x03). sport is the SNAP protocol ID with dport DEC_LLC_SNAP, or
 * DSAP << 8 | SSAP with dport DEC_LLC_SAP; both 0 when too short.
 */
static void dec_llc(struct cursor *c, struct dec_pkt *out)
{
	uint16_t saps = 0, pid = 0;
	uint8_t ctl = 0;

	if (!cur_peek_be16(c, 0, &saps) || !cur_peek_u8(c, 2, &ctl))
		return;
	if (saps == 0xaaaa && ctl == 0x03 && cur_peek_be16(c, 6, &pid)) {
		out->sport = pid;
		out->dport = DEC_LLC_SNAP;
		return;
	}
	out->sport = saps;
	out->dport = DEC_LLC_SAP;
}

static inline bool is_vlan_tpid(uint16_t type)
{
	return type == ETH_P_8021Q || type == ETH_P_8021AD ||
	       type == ETH_P_QINQ1;
}

/*
 * An Ethernet type field below 0x600 is an 802.3 length, not a type. Name
 * the payload the way Linux cooked captures do (LINUX_SLL_P_802_3 for raw
 * Novell IPX, which opens with 0xffff, else LINUX_SLL_P_802_2) so a frame
 * gets the same ethertype whichever link type captured it, and one flow
 * does not split by frame length. @c is at the payload.
 */
static uint16_t eth_type(const struct cursor *c, uint16_t type)
{
	uint16_t w = 0;

	if (type >= ETH_P_802_3_MIN)
		return type;
	if (cur_peek_be16(c, 0, &w) && w == 0xffff)
		return ETH_P_802_3;
	return ETH_P_802_2;
}

/*
 * Payload of ethertype @type at the cursor. 802.1Q tags:
 * | TPID (the @type just read) | PCP:3 DEI:1 VID:12 | inner type |
 * @tags counts the tags seen so far, including one the capture stripped.
 */
static void dec_ether(struct cursor *c, uint16_t type, unsigned int tags,
		      struct dec_pkt *out)
{
	uint16_t tci = 0, inner = 0;

	while (is_vlan_tpid(type)) {
		out->ethertype = type;
		if (tags >= DEC_MAX_VLAN) {
			set_err(out, DEC_ERR_VLAN_DEPTH);
			return;
		}
		if (!cur_peek_be16(c, 0, &tci) ||
		    !cur_peek_be16(c, 2, &inner)) {
			set_err(out, DEC_ERR_LINK);
			return;
		}
		if (tags++ == 0)
			out->vlan = tci & 0x0fff;
		cur_skip(c, VLAN_TAG_LEN);
		type = eth_type(c, inner);
	}
	out->ethertype = type;
	switch (type) {
	case ETH_P_IP:
		dec_ip4(c, out);
		break;
	case ETH_P_IPV6:
		dec_ip6(c, out);
		break;
	case ETH_P_ARP:
		dec_arp(c, out);
		break;
	case ETH_P_802_2:
		dec_llc(c, out);
		break;
	default:
		break;
	}
}

/*
 * Linux cooked headers (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2):
 * v1, 16 bytes: | pkttype(2) | hatype(2) | halen(2) | addr(8) | proto(2) |
 * v2, 20 bytes: | proto(2) | res(2) | ifindex(4) | hatype(2) | pkttype(1)
 *               | halen(1) | addr(8) |
 * The protocol is an ethertype (for ARPHRD_IPGRE a GRE protocol type, the
 * same numbers), except below 0x600 where it is a LINUX_SLL_P_* value (802.2,
 * CAN, ...), and except for device types whose payload opens with its own
 * header whatever the protocol says: netlink (the field is then a netlink
 * family) and 802.11.
 */
static void dec_sll(struct cursor *c, size_t hdr_len, size_t proto_off,
		    size_t hatype_off, unsigned int tags, struct dec_pkt *out)
{
	uint16_t proto = 0, hatype = 0;

	if (!cur_has(c, hdr_len)) {
		set_err(out, DEC_ERR_LINK);
		return;
	}
	cur_peek_be16(c, proto_off, &proto);
	cur_peek_be16(c, hatype_off, &hatype);
	cur_skip(c, hdr_len);
	out->ethertype = proto;
	switch (hatype) {
	case ARPHRD_NETLINK:
	case ARPHRD_IEEE80211:
	case ARPHRD_IEEE80211_PRISM:
	case ARPHRD_IEEE80211_RADIOTAP:
		return;
	default:
		break;
	}
	if (proto >= ETH_P_802_3_MIN)
		dec_ether(c, proto, tags, out);
}

/*
 * BSD loopback: a 4-byte AF_ value, in the capturing host's byte order for
 * DLT_NULL (so either order may reach us: AF_ values are small, so a value
 * with high bytes set is byte-swapped) and in network order for DLT_LOOP.
 */
static void dec_loop(struct cursor *c, bool host_order, unsigned int tags,
		     struct dec_pkt *out)
{
	uint32_t fam = 0;

	if (!cur_be32(c, &fam)) {
		set_err(out, DEC_ERR_LINK);
		return;
	}
	if (host_order && (fam & 0xffff0000))
		fam = __builtin_bswap32(fam);
	switch (fam) {
	case BSD_AF_INET:
		dec_ether(c, ETH_P_IP, tags, out);
		break;
	case BSD_AF_INET6_BSD:
	case BSD_AF_INET6_FREEBSD:
	case BSD_AF_INET6_DARWIN:
		dec_ether(c, ETH_P_IPV6, tags, out);
		break;
	default:
		break;
	}
}

/*
 * Raw IP: the version nibble names the protocol. A frame too short to hold
 * it is a truncated link header; another version is a bad IP header.
 */
static void dec_raw(struct cursor *c, unsigned int tags, struct dec_pkt *out)
{
	uint8_t v = 0;

	if (!cur_peek_u8(c, 0, &v)) {
		set_err(out, DEC_ERR_LINK);
		return;
	}
	switch (v >> 4) {
	case 4:
		dec_ether(c, ETH_P_IP, tags, out);
		break;
	case 6:
		dec_ether(c, ETH_P_IPV6, tags, out);
		break;
	default:
		set_err(out, DEC_ERR_IP4_BAD);
		break;
	}
}

static inline void dec_reset(struct dec_pkt *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = KIND_OTHER;
}

int decode_frame(int dlt, const uint8_t *p, uint32_t caplen, int vlan_tci,
		 struct dec_pkt *out)
{
	struct cursor c;
	uint16_t type = 0;
	unsigned int tags = 0;

	dec_reset(out);
	if (vlan_tci >= 0) {
		out->vlan = (uint16_t)(vlan_tci & 0x0fff);
		tags = 1;
	}
	cur_init(&c, p, caplen);
	switch (dlt) {
	case DLT_EN10MB:
		/* | dst(6) | src(6) | type or 802.3 length(2) | */
		if (!cur_skip(&c, ETH_HDR_LEN - 2) || !cur_be16(&c, &type)) {
			set_err(out, DEC_ERR_LINK);
			break;
		}
		dec_ether(&c, eth_type(&c, type), tags, out);
		break;
	case DLT_LINUX_SLL:
		dec_sll(&c, SLL_HDR_LEN, 14, 2, tags, out);
		break;
	case DLT_LINUX_SLL2:
		dec_sll(&c, SLL2_HDR_LEN, 0, 8, tags, out);
		break;
	case DLT_RAW:
#if DLT_RAW != LINKTYPE_RAW
	case LINKTYPE_RAW:
#endif
		dec_raw(&c, tags, out);
		break;
	case DLT_IPV4:
		dec_ether(&c, ETH_P_IP, tags, out);
		break;
	case DLT_IPV6:
		dec_ether(&c, ETH_P_IPV6, tags, out);
		break;
	case DLT_NULL:
		dec_loop(&c, true, tags, out);
		break;
	case DLT_LOOP:
		dec_loop(&c, false, tags, out);
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int decode_l3(uint16_t proto, const uint8_t *p, uint32_t caplen,
	      struct dec_pkt *out)
{
	struct cursor c;

	dec_reset(out);
	cur_init(&c, p, caplen);
	dec_ether(&c, proto, 0, out);
	return 0;
}

int decode_link_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
#if DLT_RAW != LINKTYPE_RAW
	case LINKTYPE_RAW:
#endif
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	default:
		return 0;
	}
}

static const char *const dec_err_names[DEC_ERR_COUNT] = {
	[DEC_OK] = "ok",
	[DEC_ERR_LINK] = "link-truncated",
	[DEC_ERR_VLAN_DEPTH] = "vlan-depth",
	[DEC_ERR_IP4_TRUNC] = "ipv4-truncated",
	[DEC_ERR_IP4_BAD] = "ipv4-bad-header",
	[DEC_ERR_IP6_TRUNC] = "ipv6-truncated",
	[DEC_ERR_IP6_EXT] = "ipv6-ext-header",
	[DEC_ERR_L4_TRUNC] = "l4-truncated",
	[DEC_ERR_ARP] = "arp-truncated",
};

const char *decode_err_name(int err)
{
	if (err < 0 || err >= DEC_ERR_COUNT || !dec_err_names[err])
		return "unknown";
	return dec_err_names[err];
}
