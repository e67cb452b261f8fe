/*
 * flowkey.h - the canonical conversation key, its hash and its text.
 *
 * A flow is a conversation: both directions share one key because the two
 * endpoints are stored in canonical order (smaller address, then port, as
 * endpoint A). The direction of a packet is returned beside the key. Pure
 * functions, any thread.
 */
#ifndef PKTSTAT_FLOWKEY_H
#define PKTSTAT_FLOWKEY_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Packet direction relative to the canonical key. */
#define FLOW_DIR_AB 0 /* sent by endpoint A to endpoint B */
#define FLOW_DIR_BA 1

/*
 * 40 bytes, no padding, so it can be hashed and compared as bytes.
 * For ICMP/ICMPv6 aport holds the message type, with echo reply folded
 * into echo request (and the other query/reply pairs likewise) so a ping
 * and its answer are one flow, and bport the message code, whichever way
 * the message went: port and host unreachable are two flows. For KIND_OTHER, aport holds the ethertype;
 * for an 802.2 LLC frame ipproto holds DEC_LLC_SAP or DEC_LLC_SNAP and
 * bport the SAPs or SNAP protocol ID (decode.h); its A side's text names
 * them ("0x88cc", "llc-0x42", "snap-0x809b"), its B side is "-".
 * For KIND_IP4/KIND_IP6, ipproto holds the IP protocol number.
 */
struct flow_key {
	uint8_t a[16], b[16];
	uint16_t aport, bport;
	uint16_t vlan;
	/* one byte: the kind in its low four bits, as the BPF key's kind
	 * byte (bpf/flows.h) holds it, and above them the ordinal of the
	 * interface the packets were captured on in the run's list of
	 * interfaces (-i), 0 with one: the same conversation seen on two
	 * interfaces is two flows, each counted exactly. kind_byte writes
	 * both at once (a bit-field store reads the byte first). */
	union {
		uint8_t kind_byte;
		struct {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			uint8_t kind : 4;  /* enum dec_kind */
			uint8_t iface : 4; /* below FLOWKEY_IFACES */
#else
			uint8_t iface : 4;
			uint8_t kind : 4;
#endif
		};
	};
	uint8_t ipproto; /* IP protocol number, 0 if none */
};

/* Interfaces a key can tell apart (its iface field's values). */
#define FLOWKEY_IFACES 16

/*
 * flowkey_from_pkt - build the canonical key of a decoded packet.
 * Returns FLOW_DIR_AB or FLOW_DIR_BA: the direction of this packet.
 * Non-first fragments get ports 0 (they carry none).
 */
int flowkey_from_pkt(const struct dec_pkt *pkt, struct flow_key *key);

/* Seeded 64-bit hash of the key (xxHash3). */
uint64_t flowkey_hash(const struct flow_key *key, uint64_t seed);

/* 1 if equal, else 0. Inline: it is on every packet's path. */
static inline int flowkey_equal(const struct flow_key *x,
				const struct flow_key *y)
{
	return __builtin_memcmp(x, y, sizeof(*x)) == 0;
}

/*
 * Total order used to break ties deterministically: interface and
 * protocol (kind_byte), then A address and port, then B, then VLAN.
 * Returns <0, 0, >0.
 */
int flowkey_cmp(const struct flow_key *x, const struct flow_key *y);

/* Address family of a kind: 4, 6, or 0 (KIND_OTHER). ARP is 4. Inline,
 * as the two below: a report asks for every row. */
static inline int flowkey_family(int kind)
{
	switch (kind) {
	case KIND_TCP4:
	case KIND_UDP4:
	case KIND_ICMP4:
	case KIND_IP4:
	case KIND_ARP:
		return 4;
	case KIND_TCP6:
	case KIND_UDP6:
	case KIND_ICMP6:
	case KIND_IP6:
		return 6;
	default:
		return 0;
	}
}

/* Whether this key's kind carries ports (TCP and UDP). */
static inline int flowkey_has_ports(int kind)
{
	return kind == KIND_TCP4 || kind == KIND_UDP4 || kind == KIND_TCP6 ||
	       kind == KIND_UDP6;
}

/* Whether this key's kind is ICMP or ICMPv6: aport holds the type, bport
 * the code. */
static inline int flowkey_is_icmp(int kind)
{
	return kind == KIND_ICMP4 || kind == KIND_ICMP6;
}

/*
 * flowkey_icmp_type_name - the name of ICMP (@kind KIND_ICMP4) or ICMPv6
 * (KIND_ICMP6) message type @type as a key holds it (a reply folded into
 * its request: "echo"), e.g. "unreach", "neighbor solicit"; NULL for a
 * type without a name here or another kind. Const strings, any thread.
 */
const char *flowkey_icmp_type_name(int kind, unsigned int type);

/*
 * flowkey_icmp_code_name - the name of code @code of message type @type
 * (as a key holds it) of ICMP or ICMPv6 (@kind), e.g. "port" for ICMP
 * type 3 code 3; NULL for a code without a name here (code 0 of most
 * types: the type's plain case) or another kind. Const strings, any
 * thread.
 */
const char *flowkey_icmp_code_name(int kind, unsigned int type,
				   unsigned int code);

/*
 * flowkey_icmp_text - the message an ICMP or ICMPv6 key stands for, as
 * the monitor, the text report and -1 name it: the type's name, then the
 * code's ("echo", "unreach port", "time exceeded reassembly"), numbers
 * where there is no name ("type 42", "unreach code 99", "type 42 code
 * 1"; code 0 without a name is left out). "" for another kind.
 * FLOWKEY_ICMP_TEXT_MAX bytes always suffice. snprintf contract.
 */
#define FLOWKEY_ICMP_TEXT_MAX 32
int flowkey_icmp_text(const struct flow_key *key, char *buf, size_t len);

/*
 * Protocol name as dkorunic/pktstat spells it: "TCP", "UDP", "ICMPv4",
 * "ICMPv6", "IPv4", "IPv6", "ARP", "other".
 */
const char *flowkey_proto_name(int kind);

/*
 * Format one endpoint (@side 0 = A, 1 = B) as "10.0.0.1:22",
 * "[2001:db8::1]:443", or the bare address when the kind has no ports
 * (ICMP, ARP, other IP). Always NUL-terminates; returns strlen or the
 * length it would have needed (snprintf contract).
 */
int flowkey_format_endpoint(const struct flow_key *key, int side, char *buf,
			    size_t len);

/* Format just the address of one side ("2001:db8::1", no brackets), or
 * "-" when the kind has none (KIND_OTHER). Same contract. */
int flowkey_format_addr(const struct flow_key *key, int side, char *buf,
			size_t len);

/*
 * One side's endpoint text with its address inside it, for a caller that
 * prints both many times (a report): s is flowkey_format_endpoint's text,
 * NUL terminated, len its length, and s[addr_off .. addr_off + addr_len)
 * is flowkey_format_addr's (addr_off is 1 after an IPv6 endpoint's "[",
 * else 0). The bytes past the NUL are undefined but there, so that a
 * reader may copy a fixed FLOWKEY_TEXT_ROOM - 1 bytes from s + addr_off
 * and keep only the length.
 */
#define FLOWKEY_TEXT_ROOM 64
struct flowkey_text {
	char s[FLOWKEY_TEXT_ROOM];
	uint8_t len, addr_off, addr_len;
};

/* Fill @t with the text of side @side (0 = A, 1 = B) of @key. */
void flowkey_side_text(const struct flow_key *key, int side,
		       struct flowkey_text *t);

#endif
