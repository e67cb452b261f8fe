/*
 * decode.h - pure packet decoder: link layer to transport ports.
 *
 * No allocation, no globals, no I/O: safe from any thread. Every read is
 * bounds-checked against the captured length (cursor.h). A malformed or
 * truncated packet is still classified as deeply as its valid bytes allow
 * and its fault is reported in dec_pkt.err, so the caller can count it in
 * both a flow and a per-reason malformed counter.
 */
#ifndef PKTSTAT_DECODE_H
#define PKTSTAT_DECODE_H

#include <stdint.h>

/*
 * What a packet is, as one value: protocol totals and flow keys derive from
 * it. IPv4 "totals" are KIND_TCP4 + KIND_UDP4 + KIND_ICMP4 + KIND_IP4, etc.
 * ICMPv6 carried over IPv4 (or ICMP over IPv6) is KIND_IP4 / KIND_IP6.
 */
enum dec_kind {
	KIND_TCP4,
	KIND_UDP4,
	KIND_ICMP4,
	KIND_IP4, /* any other IPv4 payload, or a non-first fragment */
	KIND_TCP6,
	KIND_UDP6,
	KIND_ICMP6,
	KIND_IP6, /* any other IPv6 payload, ESP, unknown ext header, or
		   * a non-first fragment */
	KIND_ARP,
	KIND_OTHER, /* not IP, not ARP, or undecodable link layer */
	KIND_COUNT
};

/* Why a packet is malformed; DEC_OK (0) when it is not. */
enum dec_err {
	DEC_OK = 0,
	DEC_ERR_LINK,	    /* link header truncated */
	DEC_ERR_VLAN_DEPTH, /* more stacked VLAN tags than DEC_MAX_VLAN */
	DEC_ERR_IP4_TRUNC,  /* IPv4 header truncated */
	DEC_ERR_IP4_BAD,    /* IPv4 version, IHL or total length invalid */
	DEC_ERR_IP6_TRUNC,  /* IPv6 fixed header truncated or invalid */
	DEC_ERR_IP6_EXT,    /* IPv6 extension header truncated or too long */
	DEC_ERR_L4_TRUNC,   /* TCP/UDP/ICMP header too short for its ports */
	DEC_ERR_ARP,	    /* ARP truncated */
	DEC_ERR_COUNT
};

/* Stacked VLAN tags decoded before giving up (802.1ad QinQ is 2). */
#define DEC_MAX_VLAN 4
/* IPv6 extension headers followed before giving up. */
#define DEC_MAX_IP6_EXT 16

/* dec_pkt.dport of an 802.2 LLC frame: what sport holds. */
#define DEC_LLC_SAP 1
#define DEC_LLC_SNAP 2

/* Flags in dec_pkt.flags. */
#define DEC_F_FRAG 0x01 /* IP fragment (any) */
#define DEC_F_FRAG_LATER \
	0x02		 /* non-first fragment: no ports, kind
				* KIND_IP4/KIND_IP6, ipproto the datagram's */
#define DEC_F_PORTS 0x04 /* sport/dport valid */

struct dec_pkt {
	uint8_t kind;	    /* enum dec_kind */
	uint8_t err;	    /* enum dec_err */
	uint8_t ipproto;    /* final IP next-header (0 if not IP) */
	uint8_t flags;	    /* DEC_F_* */
	uint16_t vlan;	    /* outermost VLAN ID (12 bits), 0 if untagged */
	uint16_t ethertype; /* innermost ethertype / SLL protocol */
	/* TCP/UDP ports; ICMP/ICMPv6: sport = type, dport = code; 802.2
	 * LLC frames (KIND_OTHER, ethertype ETH_P_802_2): sport = SNAP
	 * protocol ID (dport DEC_LLC_SNAP) or DSAP << 8 | SSAP (dport
	 * DEC_LLC_SAP). */
	uint16_t sport, dport;
	uint8_t src[16], dst[16]; /* IPv4 (and ARP SPA/TPA) in first 4 */
	uint32_t l3_off;	  /* offset of the IP/ARP header, or 0 */
	uint32_t l4_off;	  /* offset of the transport header, or 0 */
	uint32_t ip_len;  /* IP total length as the header says (v6: 40+plen) */
	uint32_t frag_id; /* DEC_F_FRAG: IPv4 identification (16 bits) or
			   * IPv6 fragment header identification */
};

/*
 * decode_frame - classify one captured frame.
 * @dlt: libpcap DLT_* link type of the frame.
 * @p, @caplen: captured bytes.
 * @vlan_tci: a VLAN tag the capture layer stripped (tp_vlan_tci), or -1.
 *	It is treated as the outermost tag.
 * @out: filled on every return of 0, also for malformed packets.
 * Returns 0, or -EPROTONOSUPPORT if @dlt is not a supported link type
 * (then @out->kind is KIND_OTHER). Never reads outside [p, p + caplen).
 * Any thread; pure.
 */
int decode_frame(int dlt, const uint8_t *p, uint32_t caplen, int vlan_tci,
		 struct dec_pkt *out);

/* Whether decode_frame supports @dlt. */
int decode_link_supported(int dlt);

/* A short human name for a dec_err reason ("ipv4-truncated"). */
const char *decode_err_name(int err);

/*
 * Decode starting at an ethertype-like protocol (used for cooked capture
 * where the link header is known from sockaddr_ll, and for tests).
 * @proto: ethertype of the payload at @p. Same contract as decode_frame.
 */
int decode_l3(uint16_t proto, const uint8_t *p, uint32_t caplen,
	      struct dec_pkt *out);

#endif
