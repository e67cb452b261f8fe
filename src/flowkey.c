/*
 * flowkey.c - canonical conversation keys: building, hashing, ordering and
 * printing them.
 *
 * Owns nothing: every function is pure and may be called from any thread.
 * A key is 40 bytes without padding and is always fully written (zeroed
 * first), so it can be hashed and compared as raw bytes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* xxHash's header-only mode: the 40-byte key hash inlines and
 * specialises for its constant length (it is on every packet's path). */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "flowkey.h"
#include "numfmt.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(struct flow_key) == 40, "flow_key must have no padding");
_Static_assert(KIND_COUNT <= 16, "a kind fits in the key's four bits");

/*
 * ICMP query/reply pairs: a reply is folded into its request so that both
 * halves of an exchange are one flow (RFC 792 and RFC 950; for ICMPv6,
 * RFC 4443 and RFC 4620).
 */
static const uint8_t icmp4_fold[][2] = {
	{ 0, 8 },   /* echo reply -> echo */
	{ 14, 13 }, /* timestamp reply -> timestamp */
	{ 16, 15 }, /* information reply -> information request */
	{ 18, 17 }, /* address mask reply -> address mask request */
};

static const uint8_t icmp6_fold[][2] = {
	{ 129, 128 }, /* echo reply -> echo request */
	{ 140, 139 }, /* node information reply -> query */
};

static uint16_t fold_type(const uint8_t (*tab)[2], size_t n, uint16_t type)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (tab[i][0] == type)
			return tab[i][1];
	}
	return type;
}

/* Message type names (RFC 792, 950, 1256; RFC 4443, 4861, 2710, 3810,
 * 4620). Type 0 is left out: an echo reply is folded into type 8, so a
 * key's type 0 is a message too short to carry one. */
static const struct {
	uint8_t v6, type;
	const char *name;
} icmp_names[] = {
	{ 0, 3, "unreach" },
	{ 0, 4, "source quench" },
	{ 0, 5, "redirect" },
	{ 0, 8, "echo" },
	{ 0, 9, "router advert" },
	{ 0, 10, "router solicit" },
	{ 0, 11, "time exceeded" },
	{ 0, 12, "param problem" },
	{ 0, 13, "timestamp" },
	{ 0, 15, "info" },
	{ 0, 17, "mask" },
	{ 1, 1, "unreach" },
	{ 1, 2, "too big" },
	{ 1, 3, "time exceeded" },
	{ 1, 4, "param problem" },
	{ 1, 128, "echo" },
	{ 1, 130, "mld query" },
	{ 1, 131, "mld report" },
	{ 1, 132, "mld done" },
	{ 1, 133, "router solicit" },
	{ 1, 134, "router advert" },
	{ 1, 135, "neighbor solicit" },
	{ 1, 136, "neighbor advert" },
	{ 1, 137, "redirect" },
	{ 1, 139, "node info" },
	{ 1, 143, "mld2 report" },
};

const char *flowkey_icmp_type_name(int kind, unsigned int type)
{
	int v6 = kind == KIND_ICMP6;

	if (!flowkey_is_icmp(kind))
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(icmp_names); i++)
		if (icmp_names[i].type == type && icmp_names[i].v6 == v6)
			return icmp_names[i].name;
	return NULL;
}

/* Code names (RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1 for ICMP; RFC
 * 4443 for ICMPv6), by the type a key holds. A type's code 0 without a
 * name here is its plain case ("time exceeded" in transit) and shows as
 * the type alone. */
static const struct {
	uint8_t v6, type, code;
	const char *name;
} icmp_codes[] = {
	{ 0, 3, 0, "net" },
	{ 0, 3, 1, "host" },
	{ 0, 3, 2, "proto" },
	{ 0, 3, 3, "port" },
	{ 0, 3, 4, "frag needed" },
	{ 0, 3, 5, "source route" },
	{ 0, 3, 6, "net unknown" },
	{ 0, 3, 7, "host unknown" },
	{ 0, 3, 8, "isolated" },
	{ 0, 3, 9, "net prohibited" },
	{ 0, 3, 10, "host prohibited" },
	{ 0, 3, 11, "net tos" },
	{ 0, 3, 12, "host tos" },
	{ 0, 3, 13, "admin prohibited" },
	{ 0, 3, 14, "precedence" },
	{ 0, 3, 15, "precedence cutoff" },
	{ 0, 5, 0, "net" },
	{ 0, 5, 1, "host" },
	{ 0, 5, 2, "tos net" },
	{ 0, 5, 3, "tos host" },
	{ 0, 11, 1, "reassembly" },
	{ 0, 12, 1, "missing option" },
	{ 0, 12, 2, "bad length" },
	{ 1, 1, 0, "no route" },
	{ 1, 1, 1, "admin prohibited" },
	{ 1, 1, 2, "beyond scope" },
	{ 1, 1, 3, "addr" },
	{ 1, 1, 4, "port" },
	{ 1, 1, 5, "policy" },
	{ 1, 1, 6, "reject route" },
	{ 1, 3, 1, "reassembly" },
	{ 1, 4, 1, "next header" },
	{ 1, 4, 2, "option" },
};

const char *flowkey_icmp_code_name(int kind, unsigned int type,
				   unsigned int code)
{
	int v6 = kind == KIND_ICMP6;

	if (!flowkey_is_icmp(kind))
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(icmp_codes); i++)
		if (icmp_codes[i].type == type && icmp_codes[i].code == code &&
		    icmp_codes[i].v6 == v6)
			return icmp_codes[i].name;
	return NULL;
}

int flowkey_icmp_text(const struct flow_key *key, char *buf, size_t len)
{
	const char *t, *c;
	char tn[16], cn[16];

	if (!flowkey_is_icmp(key->kind))
		return snprintf(buf, len, "%s", "");
	t = flowkey_icmp_type_name(key->kind, key->aport);
	c = flowkey_icmp_code_name(key->kind, key->aport, key->bport);
	if (!t) {
		snprintf(tn, sizeof(tn), "type %u", (unsigned int)key->aport);
		t = tn;
	}
	if (!c && key->bport) {
		snprintf(cn, sizeof(cn), "code %u", (unsigned int)key->bport);
		c = cn;
	}
	return snprintf(buf, len, "%s%s%s", t, c ? " " : "", c ? c : "");
}

static const char *const kind_names[KIND_COUNT] = {
	[KIND_TCP4] = "TCP",	 [KIND_UDP4] = "UDP", [KIND_ICMP4] = "ICMPv4",
	[KIND_IP4] = "IPv4",	 [KIND_TCP6] = "TCP", [KIND_UDP6] = "UDP",
	[KIND_ICMP6] = "ICMPv6", [KIND_IP6] = "IPv6", [KIND_ARP] = "ARP",
	[KIND_OTHER] = "other",
};

const char *flowkey_proto_name(int kind)
{
	if (kind < 0 || kind >= KIND_COUNT)
		return "other";
	return kind_names[kind];
}

/* memcmp's sign for 4 and 16 address bytes: big-endian word compares. */
static inline int addr_cmp4(const uint8_t *x, const uint8_t *y)
{
	uint32_t a, b;

	memcpy(&a, x, 4);
	memcpy(&b, y, 4);
	a = __builtin_bswap32(a);
	b = __builtin_bswap32(b);
	return (a > b) - (a < b);
}

static inline int addr_cmp16(const uint8_t *x, const uint8_t *y)
{
	uint64_t a[2], b[2];

	memcpy(a, x, 16);
	memcpy(b, y, 16);
	for (int i = 0; i < 2; i++) {
		a[i] = __builtin_bswap64(a[i]);
		b[i] = __builtin_bswap64(b[i]);
		if (a[i] != b[i])
			return a[i] > b[i] ? 1 : -1;
	}
	return 0;
}

static inline void addr_copy(uint8_t *dst, const uint8_t *src, size_t alen)
{
	if (alen == 4)
		memcpy(dst, src, 4);
	else
		memcpy(dst, src, 16);
}

int flowkey_from_pkt(const struct dec_pkt *pkt, struct flow_key *key)
{
	uint16_t sport = 0, dport = 0, code = 0;
	size_t alen;
	int kind = pkt->kind;
	int c;

	memset(key, 0, sizeof(*key));
	key->vlan = pkt->vlan;

	if (kind >= KIND_COUNT)
		kind = KIND_OTHER;
	key->kind_byte = (uint8_t)kind; /* interface 0 */

	if (kind == KIND_OTHER) {
		/* No addresses we understand: one flow per ethertype (and
		 * per LLC SAP pair or SNAP protocol for 802.2 frames). */
		key->aport = pkt->ethertype;
		if (pkt->dport == DEC_LLC_SAP || pkt->dport == DEC_LLC_SNAP) {
			key->bport = pkt->sport;
			key->ipproto = (uint8_t)pkt->dport;
		}
		return FLOW_DIR_AB;
	}

	/* IPv4 and ARP addresses sit in the first 4 bytes; the rest stay 0. */
	alen = flowkey_family(kind) == 4 ? 4 : 16;
	if (kind != KIND_ARP)
		key->ipproto = pkt->ipproto;

	/* ICMP: the (folded) type on both sides orders the key by address
	 * alone; bport then takes the code, in either direction. */
	if ((pkt->flags & DEC_F_PORTS) && !(pkt->flags & DEC_F_FRAG_LATER)) {
		if (flowkey_has_ports(kind)) {
			sport = pkt->sport;
			dport = pkt->dport;
		} else if (kind == KIND_ICMP4) {
			sport = fold_type(icmp4_fold, ARRAY_LEN(icmp4_fold),
					  pkt->sport);
			dport = sport;
			code = pkt->dport;
		} else if (kind == KIND_ICMP6) {
			sport = fold_type(icmp6_fold, ARRAY_LEN(icmp6_fold),
					  pkt->sport);
			dport = sport;
			code = pkt->dport;
		}
	}

	/* fixed sizes, so the compiler inlines the compare and the copies
	 * (a call to memcmp and two to memcpy were a tenth of a packet's
	 * decoding) */
	c = alen == 4 ? addr_cmp4(pkt->src, pkt->dst)
		      : addr_cmp16(pkt->src, pkt->dst);
	if (c < 0 || (c == 0 && sport <= dport)) {
		addr_copy(key->a, pkt->src, alen);
		addr_copy(key->b, pkt->dst, alen);
		key->aport = sport;
		key->bport = flowkey_is_icmp(kind) ? code : dport;
		return FLOW_DIR_AB;
	}
	addr_copy(key->a, pkt->dst, alen);
	addr_copy(key->b, pkt->src, alen);
	key->aport = dport;
	key->bport = flowkey_is_icmp(kind) ? code : sport;
	return FLOW_DIR_BA;
}

uint64_t flowkey_hash(const struct flow_key *key, uint64_t seed)
{
	return XXH3_64bits_withSeed(key, sizeof(*key), seed);
}

static int cmp_u(unsigned int x, unsigned int y)
{
	return (x > y) - (x < y);
}

int flowkey_cmp(const struct flow_key *x, const struct flow_key *y)
{
	int c;

	/* the interface, then the kind: their byte as a number */
	if ((c = cmp_u(x->kind_byte, y->kind_byte)))
		return c;
	if ((c = memcmp(x->a, y->a, sizeof(x->a))))
		return c;
	if ((c = cmp_u(x->aport, y->aport)))
		return c;
	if ((c = memcmp(x->b, y->b, sizeof(x->b))))
		return c;
	if ((c = cmp_u(x->bport, y->bport)))
		return c;
	if ((c = cmp_u(x->vlan, y->vlan)))
		return c;
	return cmp_u(x->ipproto, y->ipproto);
}

/*
 * Number texts as const tables, each entry spelled by the preprocessor
 * from the number itself: TEXT(n) is "n"; OCTET(n) is "n" with its
 * length; TEN(m, t) is m applied to t0 to t9 (with t empty, to 0 to 9);
 * SIXTEEN(t) is the texts t0 to tf.
 */
#define TEXT(n) #n
/* clang-format off */
#define OCTET(n) { #n, sizeof(#n) - 1 }
/* clang-format on */
#define TEN(m, t)                                                      \
	m(t##0), m(t##1), m(t##2), m(t##3), m(t##4), m(t##5), m(t##6), \
		m(t##7), m(t##8), m(t##9)
#define SIXTEEN(t)                                                    \
	TEN(TEXT, t), TEXT(t##a), TEXT(t##b), TEXT(t##c), TEXT(t##d), \
		TEXT(t##e), TEXT(t##f)

/* "0" to "255", each in 4 bytes: an octet of a dotted quad is one
 * fixed-size copy and a length (divisions were most of the cost of an
 * IPv4 address). */
static const struct {
	char s[4];
	uint8_t len;
} octet_text[256] = {
	TEN(OCTET, ),	TEN(OCTET, 1),	TEN(OCTET, 2),	TEN(OCTET, 3),
	TEN(OCTET, 4),	TEN(OCTET, 5),	TEN(OCTET, 6),	TEN(OCTET, 7),
	TEN(OCTET, 8),	TEN(OCTET, 9),	TEN(OCTET, 10), TEN(OCTET, 11),
	TEN(OCTET, 12), TEN(OCTET, 13), TEN(OCTET, 14), TEN(OCTET, 15),
	TEN(OCTET, 16), TEN(OCTET, 17), TEN(OCTET, 18), TEN(OCTET, 19),
	TEN(OCTET, 20), TEN(OCTET, 21), TEN(OCTET, 22), TEN(OCTET, 23),
	TEN(OCTET, 24), OCTET(250),	OCTET(251),	OCTET(252),
	OCTET(253),	OCTET(254),	OCTET(255),
};

/* "00" to "ff": an IPv6 group is two of them. */
static const char hex_pairs[256][3] = {
	SIXTEEN(0), SIXTEEN(1), SIXTEEN(2), SIXTEEN(3), SIXTEEN(4), SIXTEEN(5),
	SIXTEEN(6), SIXTEEN(7), SIXTEEN(8), SIXTEEN(9), SIXTEEN(a), SIXTEEN(b),
	SIXTEEN(c), SIXTEEN(d), SIXTEEN(e), SIXTEEN(f),
};
#undef SIXTEEN
#undef TEN
#undef OCTET
#undef TEXT

/*
 * Dotted quad of @a at @p; returns the end. Each octet is copied as its
 * whole 4-byte entry, so up to 4 bytes past the end are scribbled on:
 * the caller's buffer has that slack.
 */
static char *put_v4(char *p, const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		memcpy(p, octet_text[a[i]].s, 4);
		p += octet_text[a[i]].len;
		*p++ = '.';
	}
	return p - 1;
}

/* Decimal digits of a port at @p; returns the end. The digit count
 * first, then two digits at a time from the right. */
static char *put_port(char *p, unsigned int v)
{
	char *end = p + 1 + (v >= 10) + (v >= 100) + (v >= 1000) + (v >= 10000);

	p = end;
	while (v >= 100) {
		p -= 2;
		memcpy(p, numfmt_digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(p - 2, numfmt_digit_pairs + 2 * v, 2);
	else
		p[-1] = (char)('0' + v);
	return end;
}

/*
 * RFC 5952 text of an IPv6 address, as glibc's inet_ntop prints it: the
 * longest run of two or more zero groups (the first of equal runs)
 * becomes "::", hex in lower case without leading zeros, and the
 * IPv4-compatible (::a.b.c.d, not ::1 or ::0.0.0.1) and IPv4-mapped
 * (::ffff:a.b.c.d) forms end in dotted quad. By hand because inet_ntop
 * formats each group with sprintf and a report prints millions of
 * addresses. tests/test_flowkey.c compares the two. May
 * scribble on 4 bytes past the end (put_v4).
 */
/* One 16-bit group in hex without leading zeros at @p (1 to 4 digits,
 * one for each started 4 bits; x | 1 so that 0 has one); returns the
 * end. All four digits are made and copied from where the kept ones
 * start, so up to 3 bytes past the end are scribbled on. */
static char *put_group(char *p, unsigned int x)
{
	int n = (32 - __builtin_clz(x | 1) + 3) / 4;
	char d[8] = { 0 };

	memcpy(d, hex_pairs[x >> 8], 2);
	memcpy(d + 2, hex_pairs[x & 255], 2);
	memcpy(p, d + 4 - n, 4);
	return p + n;
}

static char *put_v6(char *p, const uint8_t *a)
{
	unsigned int zeros = 0;
	int best = 8, blen = 0;

	/* a bit for each zero group (byte order does not matter to that);
	 * unrolled, the loop's own counting was half its cost */
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++) {
		uint16_t g;

		memcpy(&g, a + 2 * i, 2);
		zeros |= (unsigned int)(g == 0) << i;
	}
	/* the longest run of zero groups, the first of equal ones, a run of
	 * bits at a time: adding its lowest bit carries through the lowest
	 * run, so z & (z + bit) clears it */
	for (unsigned int z = zeros; z;) {
		int start = __builtin_ctz(z);
		int len = __builtin_ctz(~(z >> start));

		if (len > blen)
			best = start, blen = len;
		z &= z + (1u << start);
	}
	if (blen < 2)
		best = 8;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			/* "::" for the run: one colon here, the other is the
			 * next group's, or this one's when the run ends the
			 * address */
			*p++ = ':';
			i += blen - 1;
			if (i == 7)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		/* (a run of 7 from group 0 skips group 6: "::2" stays) */
		if (i == 6 && best == 0 &&
		    (blen == 6 ||
		     (blen == 5 && a[10] == 0xff && a[11] == 0xff)))
			return put_v4(p, a + 12);
		p = put_group(p, (unsigned int)a[2 * i] << 8 | a[2 * i + 1]);
	}
	return p;
}

/* An "other" row's protocol, as its A side's text: "0x88cc" (the
 * ethertype), "llc-0x42" (DSAP, an 802.2 frame; "-0x42/0x43" when SSAP
 * differs) or "snap-0x809b" (the SNAP protocol ID). */
static char *put_other(char *p, const struct flow_key *key)
{
	if (key->ipproto == DEC_LLC_SNAP)
		return p + sprintf(p, "snap-0x%04x", key->bport);
	if (key->ipproto == DEC_LLC_SAP &&
	    key->bport >> 8 == (key->bport & 0xff))
		return p + sprintf(p, "llc-0x%02x", key->bport >> 8);
	if (key->ipproto == DEC_LLC_SAP)
		return p + sprintf(p, "llc-0x%02x/0x%02x", key->bport >> 8,
				   key->bport & 0xff);
	return p + sprintf(p, "0x%04x", key->aport);
}

/* The longest text: "[", an IPv6 address (INET6_ADDRSTRLEN - 1), "]:",
 * five port digits and the NUL. */
_Static_assert(FLOWKEY_TEXT_ROOM >= INET6_ADDRSTRLEN + 9,
	       "room for the longest endpoint");
_Static_assert(FLOWKEY_TEXT_ROOM <= UINT8_MAX, "lengths fit in a byte");

void flowkey_side_text(const struct flow_key *key, int side,
		       struct flowkey_text *t)
{
	const uint8_t *addr = side ? key->b : key->a;
	int family = flowkey_family(key->kind);
	int ports = flowkey_has_ports(key->kind); /* then family is 4 or 6 */
	char *p = t->s;

	if (ports && family == 6)
		*p++ = '[';
	t->addr_off = (uint8_t)(p - t->s);
	if (family == 4)
		p = put_v4(p, addr);
	else if (family == 6)
		p = put_v6(p, addr);
	else if (side == 0)
		p = put_other(p, key); /* what the frame carries */
	else
		*p++ = '-'; /* no address we understand */
	t->addr_len = (uint8_t)(p - t->s - t->addr_off);
	if (ports) {
		if (family == 6)
			*p++ = ']';
		*p++ = ':';
		p = put_port(p, side ? key->bport : key->aport);
	}
	*p = '\0';
	t->len = (uint8_t)(p - t->s);
}

/* snprintf's contract for an assembled string of @n bytes. */
static int put_out(char *buf, size_t len, const char *s, int n)
{
	if (len) {
		size_t c = (size_t)n < len ? (size_t)n : len - 1;

		memcpy(buf, s, c);
		buf[c] = '\0';
	}
	return n;
}

int flowkey_format_addr(const struct flow_key *key, int side, char *buf,
			size_t len)
{
	struct flowkey_text t;

	flowkey_side_text(key, side, &t);
	return put_out(buf, len, t.s + t.addr_off, t.addr_len);
}

int flowkey_format_endpoint(const struct flow_key *key, int side, char *buf,
			    size_t len)
{
	struct flowkey_text t;

	flowkey_side_text(key, side, &t);
	return put_out(buf, len, t.s, t.len);
}
