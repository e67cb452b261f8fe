/*
 * origfmt.c - the original pktstat's flow descriptions and -1 output.
 *
 * Owns nothing beyond the arrays it returns. Pure functions over flow rows
 * and snapshots; safe on any thread (services(5) lookups use the
 * reentrant getservbyport_r).
 */
#include "origfmt.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* ICMP type names the original prints, by (folded) type. */
static const char *const icmp_names[] = {
	[0] = "echo",	      [4] = "sourcequench",  [6] = "althostaddr",
	[8] = "echo",	      [9] = "routeradvert",  [10] = "routersolicit",
	[11] = "timxceed",    [12] = "paramprob",    [13] = "tstamp",
	[14] = "tstamp",      [15] = "info",	     [16] = "info",
	[17] = "addrmask",    [18] = "addrmask",     [30] = "traceroute",
	[31] = "dataconverr", [32] = "mobile-redir", [33] = "ipv6-where",
	[34] = "ipv6-where",  [35] = "mobile-reg",   [36] = "mobile-reg",
	[39] = "skip",	      [40] = "photuris",
};

#define ICMP_UNREACH 3
#define ICMP_REDIRECT 5

/* The code words the original puts after "unreach" and "redirect"
 * (RFC 792, RFC 1812 5.2.7.1); other codes print as numbers. */
static const char *const unreach_codes[] = {
	"net",	     "host",	      "protocol",    "port",
	"need-frag", "src-fail",      "unknown-net", "unknown-host",
	"isolated",  "prohib-net",    "prohib-host", "tos-net",
	"tos-host",  "filter-prohib", "host-prec",   "prec-cutoff",
};
static const char *const redirect_codes[] = { "net", "host", "tos-net",
					      "tos-host" };

/* Ethertype names (RFC 1010 era) as the original spells them. */
static const struct {
	uint16_t type;
	const char *name;
} ether_names[] = {
	{ 0x0001, "ipx" }, /* raw 802.3 (Novell), as the decoder names it */
	{ 0x0004, "llc" }, /* 802.2 LLC */
	{ 0x0200, "pup" },     { 0x0600, "idp" },	{ 0x0800, "ip" },
	{ 0x0801, "x.75" },    { 0x0802, "nbs" },	{ 0x0803, "ecma" },
	{ 0x0804, "chaos" },   { 0x0805, "x.25" },	{ 0x0806, "arp" },
	{ 0x0807, "xns" },     { 0x081c, "symbolics" }, { 0x1600, "valid" },
	{ 0x5208, "simnet" },  { 0x6001, "mop" },	{ 0x6002, "mop" },
	{ 0x6003, "decnet" },  { 0x6004, "lat" },	{ 0x6005, "dec" },
	{ 0x6006, "dec" },     { 0x8003, "vln" },	{ 0x8004, "cronus" },
	{ 0x8005, "hp" },      { 0x8006, "nestar" },	{ 0x8010, "excelan" },
	{ 0x8035, "rev-arp" }, { 0x8038, "lanbridge" }, { 0x805b, "svk" },
	{ 0x805c, "svk" },     { 0x807c, "merit" },	{ 0x809b, "appletalk" },
	{ 0x8137, "ipx" },     { 0x8863, "pppoe" },	{ 0x8864, "pppoe" },
	{ 0x888e, "802.1x" },  { 0x9000, "loopback" },
};

static const char *ether_name(uint16_t type, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(ether_names) / sizeof(ether_names[0]);
	     i++) {
		if (ether_names[i].type == type)
			return ether_names[i].name;
	}
	snprintf(buf, len, "ethertype 0x%04x", type);
	return buf;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	if (!len)
		return;
	snprintf(dst, len, "%s", src);
}

/* @s, or the name of the first abbreviation matching it. */
static const char *abbreviate(const struct abbrev *ab, const char *s)
{
	const char *m = abbrev_match(ab, s);

	return m ? m : s;
}

/* Port text: the services(5) name with ORIGFMT_SERVICES, else digits. */
static void port_text(uint16_t port, const char *proto, int flags, char *buf,
		      size_t len)
{
	if (flags & ORIGFMT_SERVICES) {
		struct servent se, *res = NULL;
		char tmp[1024];

		if (getservbyport_r((int)htons(port), proto, &se, tmp,
				    sizeof(tmp), &res) == 0 &&
		    res) {
			copy_str(buf, len, res->s_name);
			return;
		}
	}
	snprintf(buf, len, "%u", port);
}

/* Endpoint @side of @k: "addr:port" (v4), "addr,port" (v6) or "addr". */
static void endpoint(const struct flow_key *k, int side, int flags, char *buf,
		     size_t len)
{
	char addr[64], port[64];
	uint16_t p = side ? k->bport : k->aport;
	int v6 = flowkey_family(k->kind) == 6;

	flowkey_format_addr(k, side, addr, sizeof(addr));
	if (!flowkey_has_ports(k->kind)) {
		copy_str(buf, len, addr);
		return;
	}
	port_text(p,
		  k->kind == KIND_TCP4 || k->kind == KIND_TCP6 ? "tcp" : "udp",
		  flags, port, sizeof(port));
	snprintf(buf, len, "%s%c%s", addr, v6 ? ',' : ':', port);
}

/*
 * The original's address-combining step: "src -> dst" with -c, else the
 * first of "src <-> dst" and "dst <-> src" an abbreviation matches, else
 * the one with the smaller side first.
 */
static void combine(const char *src, const char *dst, const struct abbrev *ab,
		    int flags, char *out, size_t len)
{
	char s1[ORIGFMT_DESC_MAX], s2[ORIGFMT_DESC_MAX];
	const char *m;

	if (flags & ORIGFMT_NOCOMBINE) {
		snprintf(s1, sizeof(s1), "%s -> %s", src, dst);
		copy_str(out, len, abbreviate(ab, s1));
		return;
	}
	snprintf(s1, sizeof(s1), "%s <-> %s", src, dst);
	m = abbrev_match(ab, s1);
	if (!m) {
		snprintf(s2, sizeof(s2), "%s <-> %s", dst, src);
		m = abbrev_match(ab, s2);
		if (!m)
			m = strcmp(src, dst) < 0 ? s1 : s2;
	}
	copy_str(out, len, m);
}

static const char *icmp_name(uint16_t type)
{
	if (type < sizeof(icmp_names) / sizeof(icmp_names[0]))
		return icmp_names[type];
	return NULL;
}

const char *origfmt_describe(const struct flowtab_row *row, int dir,
			     const struct abbrev *ab, int flags, char *buf,
			     size_t len)
{
	const struct flow_key *k = &row->key;
	char src[128], dst[128], pair[ORIGFMT_DESC_MAX];
	char tag[ORIGFMT_DESC_MAX + 64], tmp[32];
	char code[FLOWKEY_ICMP_TEXT_MAX];
	int s = dir == FLOW_DIR_BA ? 1 : 0;
	const char *name;

	if (k->kind != KIND_ARP && k->kind != KIND_OTHER) {
		endpoint(k, s, flags, src, sizeof(src));
		endpoint(k, !s, flags, dst, sizeof(dst));
	}
	switch (k->kind) {
	case KIND_TCP4:
	case KIND_TCP6:
	case KIND_UDP4:
	case KIND_UDP6:
		combine(src, dst, ab, flags, pair, sizeof(pair));
		snprintf(tag, sizeof(tag), "%s%s %s",
			 k->kind == KIND_TCP4 || k->kind == KIND_TCP6 ? "tcp"
								      : "udp",
			 flowkey_family(k->kind) == 6 ? "6" : "", pair);
		break;
	case KIND_ICMP4:
		/* errors with their code, in their direction; other named
		 * types as a conversation; the rest as hex type/code */
		if (k->aport == ICMP_UNREACH &&
		    k->bport < sizeof(unreach_codes) / sizeof(*unreach_codes)) {
			snprintf(tag, sizeof(tag), "icmp unreach %s %s -> %s",
				 unreach_codes[k->bport], src, dst);
		} else if (k->aport == ICMP_REDIRECT &&
			   k->bport < sizeof(redirect_codes) /
					      sizeof(*redirect_codes)) {
			snprintf(tag, sizeof(tag), "icmp redirect %s %s -> %s",
				 redirect_codes[k->bport], src, dst);
		} else if ((name = icmp_name(k->aport))) {
			combine(src, dst, ab, flags, pair, sizeof(pair));
			snprintf(tag, sizeof(tag), "icmp %s %s", name, pair);
		} else {
			snprintf(tag, sizeof(tag), "icmp %02x/%02x %s -> %s",
				 k->aport, k->bport, src, dst);
		}
		break;
	case KIND_ICMP6:
		/* the message as the monitor names it; errors (types below
		 * 128, RFC 4443 2.1) keep their direction */
		flowkey_icmp_text(k, code, sizeof(code));
		if (k->aport < 128) {
			snprintf(tag, sizeof(tag), "icmp6 %s %s -> %s", code,
				 src, dst);
		} else {
			combine(src, dst, ab, flags, pair, sizeof(pair));
			snprintf(tag, sizeof(tag), "icmp6 %s %s", code, pair);
		}
		break;
	case KIND_IP4:
		switch (k->ipproto) {
		case IPPROTO_ICMP:
		case IPPROTO_TCP:
		case IPPROTO_UDP:
			/* later fragments whose first fragment was not seen
			 * (fragtab.h): the others are in their flow */
			copy_str(tag, sizeof(tag), "ip fragments");
			break;
		case IPPROTO_IGMP:
			combine(src, dst, ab, flags, pair, sizeof(pair));
			snprintf(tag, sizeof(tag), "igmp %s", pair);
			break;
		default:
			combine(src, dst, ab, flags, pair, sizeof(pair));
			snprintf(tag, sizeof(tag), "ip proto %u %s", k->ipproto,
				 pair);
			break;
		}
		break;
	case KIND_IP6:
		if (k->ipproto == IPPROTO_TCP || k->ipproto == IPPROTO_UDP ||
		    k->ipproto == IPPROTO_ICMPV6) {
			/* as "ip fragments" */
			copy_str(tag, sizeof(tag), "ip6 fragments");
			break;
		}
		combine(src, dst, ab, flags, pair, sizeof(pair));
		snprintf(tag, sizeof(tag), "ip6 %s proto %u", pair, k->ipproto);
		break;
	case KIND_ARP:
		copy_str(tag, sizeof(tag), "arp");
		break;
	default:
		copy_str(tag, sizeof(tag),
			 ether_name(k->aport, tmp, sizeof(tmp)));
		break;
	}
	copy_str(buf, len, abbreviate(ab, tag));
	return buf;
}

static int cmp_desc(const void *x, const void *y)
{
	const struct origfmt_flow *a = x, *b = y;

	return strcmp(a->desc, b->desc);
}

void origfmt_flows_free(struct origfmt_flow *f, size_t n)
{
	if (!f)
		return;
	for (size_t i = 0; i < n; i++)
		free(f[i].desc);
	free(f);
}

ssize_t origfmt_collect(const struct snapshot *s, const struct abbrev *ab,
			int flags, struct origfmt_flow **out)
{
	struct snapshot_iter it = { 0 };
	const struct flowtab_row *r;
	struct origfmt_flow *f;
	char desc[ORIGFMT_DESC_MAX];
	size_t n = 0, m = 0;

	*out = NULL;
	f = calloc(s->nrows * 2 + 1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < s->nrows && (r = snapshot_row_next(s, &it));
	     i++) {
		for (int d = 0; d < 2; d++) {
			if (!r->pkts[d])
				continue;
			origfmt_describe(r, d, ab, flags, desc, sizeof(desc));
			f[n].desc = strdup(desc);
			if (!f[n].desc) {
				origfmt_flows_free(f, n);
				return -ENOMEM;
			}
			f[n].octets = r->bytes[d];
			f[n].packets = r->pkts[d];
			f[n].last_ns = r->last_ns;
			n++;
		}
	}
	qsort(f, n, sizeof(*f), cmp_desc);
	/* merge equal descriptions */
	for (size_t i = 0; i < n; i++) {
		if (m && strcmp(f[m - 1].desc, f[i].desc) == 0) {
			f[m - 1].octets += f[i].octets;
			f[m - 1].packets += f[i].packets;
			if (f[i].last_ns > f[m - 1].last_ns)
				f[m - 1].last_ns = f[i].last_ns;
			free(f[i].desc);
			f[i].desc = NULL;
			continue;
		}
		f[m++] = f[i];
	}
	*out = f;
	return (ssize_t)m;
}

static int cmp_octets(const void *x, const void *y)
{
	const struct origfmt_flow *a = x, *b = y;

	if (a->octets != b->octets)
		return a->octets > b->octets ? -1 : 1;
	return strcmp(a->desc, b->desc);
}

/*
 * Most packets first. (The original's packet comparison sorted the
 * other way round, contrary to its own comment; we follow the comment.)
 */
static int cmp_packets(const void *x, const void *y)
{
	const struct origfmt_flow *a = x, *b = y;

	if (a->packets != b->packets)
		return a->packets > b->packets ? -1 : 1;
	return strcmp(a->desc, b->desc);
}

static int cmp_last(const void *x, const void *y)
{
	const struct origfmt_flow *a = x, *b = y;

	if (a->last_ns != b->last_ns)
		return a->last_ns > b->last_ns ? -1 : 1;
	return strcmp(a->desc, b->desc);
}

void origfmt_sort(struct origfmt_flow *f, size_t n, enum origfmt_sort how)
{
	int (*cmp)(const void *, const void *);

	switch (how) {
	case ORIGFMT_SORT_OCTETS:
		cmp = cmp_octets;
		break;
	case ORIGFMT_SORT_PACKETS:
		cmp = cmp_packets;
		break;
	case ORIGFMT_SORT_LAST:
		cmp = cmp_last;
		break;
	default:
		cmp = cmp_desc;
		break;
	}
	qsort(f, n, sizeof(*f), cmp);
}

int origfmt_write_batch(FILE *out, const struct snapshot *s, double period_s,
			const struct abbrev *ab, int flags,
			enum origfmt_sort how)
{
	struct origfmt_flow *f;
	ssize_t n = origfmt_collect(s, ab, flags, &f);

	if (n < 0)
		return (int)n;
	origfmt_sort(f, (size_t)n, how);
	fprintf(out, "%zd %f\n", n, period_s);
	for (ssize_t i = 0; i < n; i++)
		fprintf(out, "%" PRIu64 " %" PRIu64 " %s\n", f[i].octets,
			f[i].packets, f[i].desc);
	origfmt_flows_free(f, (size_t)n);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
