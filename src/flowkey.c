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

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(struct flow_key) == 40, "flow_key must have no padding");

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

static const char *const kind_names[KIND_COUNT] = {
	[KIND_TCP4] = "TCP",	 [KIND_UDP4] = "UDP", [KIND_ICMP4] = "ICMPv4",
	[KIND_IP4] = "IPv4",	 [KIND_TCP6] = "TCP", [KIND_UDP6] = "UDP",
	[KIND_ICMP6] = "ICMPv6", [KIND_IP6] = "IPv6", [KIND_ARP] = "ARP",
	[KIND_OTHER] = "other",
};

int flowkey_family(int kind)
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

const char *flowkey_proto_name(int kind)
{
	if (kind < 0 || kind >= KIND_COUNT)
		return "other";
	return kind_names[kind];
}

int flowkey_has_ports(int kind)
{
	return kind == KIND_TCP4 || kind == KIND_UDP4 || kind == KIND_TCP6 ||
	       kind == KIND_UDP6;
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
	uint16_t sport = 0, dport = 0;
	size_t alen;
	int kind = pkt->kind;
	int c;

	memset(key, 0, sizeof(*key));
	key->vlan = pkt->vlan;

	if (kind >= KIND_COUNT)
		kind = KIND_OTHER;
	key->kind = (uint8_t)kind;

	if (kind == KIND_OTHER) {
		/* No addresses we understand: one flow per ethertype. */
		key->aport = pkt->ethertype;
		return FLOW_DIR_AB;
	}

	/* IPv4 and ARP addresses sit in the first 4 bytes; the rest stay 0. */
	alen = flowkey_family(kind) == 4 ? 4 : 16;
	if (kind != KIND_ARP)
		key->ipproto = pkt->ipproto;

	if ((pkt->flags & DEC_F_PORTS) && !(pkt->flags & DEC_F_FRAG_LATER)) {
		if (flowkey_has_ports(kind)) {
			sport = pkt->sport;
			dport = pkt->dport;
		} else if (kind == KIND_ICMP4) {
			sport = fold_type(icmp4_fold, ARRAY_LEN(icmp4_fold),
					  pkt->sport);
			dport = sport;
		} else if (kind == KIND_ICMP6) {
			sport = fold_type(icmp6_fold, ARRAY_LEN(icmp6_fold),
					  pkt->sport);
			dport = sport;
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
		key->bport = dport;
		return FLOW_DIR_AB;
	}
	addr_copy(key->a, pkt->dst, alen);
	addr_copy(key->b, pkt->src, alen);
	key->aport = dport;
	key->bport = sport;
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

	if ((c = cmp_u(x->kind, y->kind)))
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

/* Decimal digits of @v at @p; returns the end. */
static char *put_uint(char *p, unsigned int v)
{
	char t[10];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static char *put_v4(char *p, const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = put_uint(p, a[i]);
	}
	return p;
}

/*
 * RFC 5952 text of an IPv6 address, as glibc's inet_ntop prints it: the
 * longest run of two or more zero groups (the first of equal runs)
 * becomes "::", hex in lower case without leading zeros, and the
 * IPv4-compatible (::a.b.c.d, not ::1 or ::0.0.0.1) and IPv4-mapped
 * (::ffff:a.b.c.d) forms end in dotted quad. By hand: inet_ntop formats
 * each group with sprintf, ~5,000 instructions an address, and a report
 * prints millions of them. tests/test_flowkey.c compares the two.
 */
static char *put_v6(char *p, const uint8_t *a)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int w[8];
	int best = -1, blen = 0, cur = -1, clen = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] == 0) {
			if (cur < 0)
				cur = i, clen = 0;
			if (++clen > blen)
				best = cur, blen = clen;
		} else {
			cur = -1;
		}
	}
	if (blen < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + blen) {
			if (i == best)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		if (i == 6 && best == 0 &&
		    (blen == 6 || (blen == 7 && w[7] != 1) ||
		     (blen == 5 && w[5] == 0xffff)))
			return put_v4(p, a + 12);
		/* the group in hex without leading zeros: 1 to 4 digits */
		{
			unsigned int x = w[i];
			int n = x >= 0x1000  ? 4
				: x >= 0x100 ? 3
				: x >= 0x10  ? 2
					     : 1;

			for (int k = n - 1; k >= 0; k--, x >>= 4)
				p[k] = hex[x & 15];
			p += n;
		}
	}
	if (best >= 0 && best + blen == 8)
		*p++ = ':';
	return p;
}

/*
 * The printed address of one side into @tmp (INET6_ADDRSTRLEN bytes, NUL
 * terminated); returns its length, or -1 when the kind has no address.
 */
static int addr_text(const struct flow_key *key, int side, char *tmp)
{
	const uint8_t *addr = side ? key->b : key->a;
	char *p;

	switch (flowkey_family(key->kind)) {
	case 4:
		p = put_v4(tmp, addr);
		break;
	case 6:
		p = put_v6(tmp, addr);
		break;
	default:
		return -1;
	}
	*p = '\0';
	return (int)(p - tmp);
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
	char tmp[INET6_ADDRSTRLEN];
	int n = addr_text(key, side, tmp);

	if (n < 0)
		return put_out(buf, len, "-", 1);
	return put_out(buf, len, tmp, n);
}

int flowkey_endpoint_of(const struct flow_key *key, int side, const char *addr,
			char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN + 8], *p = tmp;
	int v6 = flowkey_family(key->kind) == 6;
	size_t n = strlen(addr);

	if (!flowkey_has_ports(key->kind) || !flowkey_family(key->kind) ||
	    n >= INET6_ADDRSTRLEN)
		return put_out(buf, len, addr, (int)n);
	if (v6)
		*p++ = '[';
	memcpy(p, addr, n);
	p += n;
	if (v6)
		*p++ = ']';
	*p++ = ':';
	p = put_uint(p, side ? key->bport : key->aport);
	return put_out(buf, len, tmp, (int)(p - tmp));
}

int flowkey_format_endpoint(const struct flow_key *key, int side, char *buf,
			    size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	flowkey_format_addr(key, side, addr, sizeof(addr));
	return flowkey_endpoint_of(key, side, addr, buf, len);
}
