/*
 * invariants.c - the checks shared by the fuzz targets and the regression
 * replay, and the interpretation of each target's input (fuzz/README
 * documents the formats).
 *
 * Owns nothing between calls: every run creates and frees its own flow
 * table, worker and capture handle. Threads: one caller at a time per
 * thread, registered with liburcu and outside a read-side section; the
 * flowtab and pcapfile runs hold rcu_read_lock while feeding packets (as a
 * capture worker does) and expire flows inside it, nested, as often as the
 * input asks, so overflow and expiry run constantly.
 *
 * Every buffer handed to the decoder is a heap copy of exactly the frame's
 * length, so under ASan a read one byte past the frame is a finding.
 */
#include "invariants.h"

#include <errno.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <pcap/dlt.h>
#include <urcu.h>

#include "../capture/capture.h"
#include "../src/app.h"
#include "../src/counters.h"
#include "../src/flowkey.h"
#include "../src/procres.h"
#include "../src/procs.h"
#include "../src/proto.h"

/* Time base and tick of the flowtab target's synthetic clock. */
#define FZ_T0_NS 1000000000000ull
#define FZ_TICK_NS 1000000ull

/* pcapfile: expire every this many packets, idle flows older than this. */
#define FZ_PCAP_EXPIRE_EVERY 4
#define FZ_PCAP_IDLE_NS 1000000ull

/* A dispatch loop that has not met EOF after this many calls is stuck. */
#define FZ_MAX_DISPATCH 200000

/* decode.c's value for a file's LINKTYPE_RAW. */
#define FZ_LINKTYPE_RAW 101

static const int fz_dlts[INVARIANTS_NDLT] = {
	DLT_EN10MB,	 DLT_LINUX_SLL,	 DLT_LINUX_SLL2, DLT_RAW,
	FZ_LINKTYPE_RAW, DLT_IPV4,	 DLT_IPV6,	 DLT_NULL,
	DLT_LOOP,	 DLT_IEEE802_11, /* unsupported */
};

int invariants_dlt(uint8_t sel)
{
	return fz_dlts[sel % INVARIANTS_NDLT];
}

int invariants_dlt_index(int dlt)
{
	for (int i = 0; i < INVARIANTS_NDLT; i++)
		if (fz_dlts[i] == dlt)
			return i;
	return -1;
}

static int fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t be16_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* The swapped packet (addresses, and ports where they are ports) must give
 * the same key; the direction flips unless the key is symmetric (for ICMP:
 * both addresses the same). */
static int check_key(const struct dec_pkt *d, char *why, size_t whylen)
{
	struct dec_pkt r = *d;
	struct flow_key k, rk;
	char buf[64];
	int dir, rdir, n;

	dir = flowkey_from_pkt(d, &k);
	if (dir != FLOW_DIR_AB && dir != FLOW_DIR_BA)
		return fail(why, whylen, "flowkey_from_pkt returned %d", dir);
	if (k.kind != d->kind)
		return fail(why, whylen, "key kind %u != packet kind %u",
			    k.kind, d->kind);
	memcpy(r.src, d->dst, sizeof(r.src));
	memcpy(r.dst, d->src, sizeof(r.dst));
	if (flowkey_has_ports(d->kind)) {
		r.sport = d->dport;
		r.dport = d->sport;
	}
	rdir = flowkey_from_pkt(&r, &rk);
	if (!flowkey_equal(&k, &rk))
		return fail(why, whylen,
			    "key not canonical: the reply of a kind %u packet "
			    "gets another key",
			    d->kind);
	if (d->kind == KIND_OTHER) {
		if (dir != FLOW_DIR_AB || rdir != FLOW_DIR_AB)
			return fail(why, whylen,
				    "kind other: direction %d/%d, not AB", dir,
				    rdir);
	} else if (!memcmp(k.a, k.b, sizeof(k.a)) &&
		   (k.aport == k.bport || flowkey_is_icmp(k.kind))) {
		/* ICMP orders by address alone (type and code are not
		 * swapped in a reply) */
		if (dir != rdir)
			return fail(why, whylen,
				    "symmetric key: directions %d/%d differ",
				    dir, rdir);
	} else if (dir == rdir) {
		return fail(why, whylen,
			    "packet and reply both in direction %d", dir);
	}
	for (int side = 0; side < 2; side++) {
		n = flowkey_format_endpoint(&k, side, buf, sizeof(buf));
		if (n < 0 || strlen(buf) != (size_t)n || n >= (int)sizeof(buf))
			return fail(why, whylen,
				    "endpoint %d formats as %d bytes \"%s\"",
				    side, n, buf);
	}
	return 0;
}

int invariants_check_dec(int dlt, uint32_t caplen, int vlan_tci, int rc,
			 const struct dec_pkt *d, char *why, size_t whylen)
{
	uint32_t need, hdr;
	int fam;

	if (dlt >= 0 && (rc == 0) != !!decode_link_supported(dlt))
		return fail(why, whylen,
			    "dlt %d: rc %d but decode_link_supported %d", dlt,
			    rc, decode_link_supported(dlt));
	if (dlt >= 0 && rc && rc != -EPROTONOSUPPORT)
		return fail(why, whylen, "dlt %d: rc %d", dlt, rc);
	if (dlt < 0 && rc)
		return fail(why, whylen, "decode_l3 returned %d", rc);
	if (d->kind >= KIND_COUNT)
		return fail(why, whylen, "kind %u >= KIND_COUNT", d->kind);
	if (d->err >= DEC_ERR_COUNT)
		return fail(why, whylen, "err %u >= DEC_ERR_COUNT", d->err);
	if (rc && d->kind != KIND_OTHER)
		return fail(why, whylen, "unsupported dlt %d gave kind %u", dlt,
			    d->kind);
	if (d->l3_off > caplen)
		return fail(why, whylen, "l3_off %u > caplen %u", d->l3_off,
			    caplen);
	if (d->l4_off > caplen)
		return fail(why, whylen, "l4_off %u > caplen %u", d->l4_off,
			    caplen);
	if (d->vlan > 0x0fff)
		return fail(why, whylen, "vlan %u > 4095", d->vlan);
	if (dlt >= 0 && !rc && vlan_tci >= 0 && d->vlan != (vlan_tci & 0x0fff))
		return fail(why, whylen,
			    "stripped tag %d: outermost vlan %u, not %d",
			    vlan_tci, d->vlan, vlan_tci & 0x0fff);
	if ((d->flags & DEC_F_FRAG_LATER) && !(d->flags & DEC_F_FRAG))
		return fail(why, whylen, "FRAG_LATER without FRAG");
	if ((d->flags & DEC_F_FRAG_LATER) && (d->flags & DEC_F_PORTS))
		return fail(why, whylen, "non-first fragment with ports");
	if (d->kind == KIND_OTHER &&
	    (d->ipproto || d->l4_off || (d->flags & DEC_F_PORTS)))
		return fail(why, whylen,
			    "kind other with ipproto %u, l4_off %u, flags %#x",
			    d->ipproto, d->l4_off, d->flags);
	if (d->flags & DEC_F_PORTS) {
		switch (d->kind) {
		case KIND_TCP4:
		case KIND_UDP4:
		case KIND_TCP6:
		case KIND_UDP6:
			need = 4;
			break;
		case KIND_ICMP4:
		case KIND_ICMP6:
			need = 2;
			if (d->sport > 0xff || d->dport > 0xff)
				return fail(why, whylen,
					    "icmp type %u code %u > 255",
					    d->sport, d->dport);
			break;
		default:
			return fail(why, whylen, "ports on kind %u", d->kind);
		}
		if ((uint64_t)d->l4_off + need > caplen)
			return fail(why, whylen,
				    "ports at l4_off %u + %u > caplen %u",
				    d->l4_off, need, caplen);
	}
	/* A transport header lies behind a whole IP header. */
	fam = flowkey_family(d->kind);
	if (d->l4_off && d->kind != KIND_ARP && fam) {
		hdr = fam == 4 ? 20 : 40;
		if ((uint64_t)d->l3_off + hdr > d->l4_off)
			return fail(why, whylen,
				    "l4_off %u within the IPv%d header at %u",
				    d->l4_off, fam, d->l3_off);
	}
	if (!strcmp(decode_err_name(d->err), "unknown"))
		return fail(why, whylen, "err %u has no name", d->err);
	return check_key(d, why, whylen);
}

int invariants_check_frame(int dlt, const uint8_t *p, uint32_t caplen,
			   int vlan_tci, struct dec_pkt *out, char *why,
			   size_t whylen)
{
	struct dec_pkt d, again;
	int rc, rc2;

	rc = decode_frame(dlt, p, caplen, vlan_tci, &d);
	if (invariants_check_dec(dlt, caplen, vlan_tci, rc, &d, why, whylen))
		return -1;
	rc2 = decode_frame(dlt, p, caplen, vlan_tci, &again);
	if (rc2 != rc || memcmp(&d, &again, sizeof(d)))
		return fail(why, whylen, "dlt %d: decode not deterministic",
			    dlt);
	if (out)
		*out = d;
	return 0;
}

int invariants_check_totals(const struct worker_stats *st,
			    const struct flowtab_counts expired[KIND_COUNT],
			    const struct flowtab_counts overflow[KIND_COUNT],
			    const struct flowtab_row *rows, size_t nrows,
			    size_t max, uint64_t pkts, uint64_t bytes,
			    char *why, size_t whylen)
{
	uint64_t live_p[KIND_COUNT] = { 0 }, live_b[KIND_COUNT] = { 0 };
	uint64_t sum_p = 0, sum_b = 0, errs = 0;

	if (nrows > max)
		return fail(why, whylen, "%zu live flows > cap %zu", nrows,
			    max);
	for (size_t i = 0; i < nrows; i++) {
		const struct flowtab_row *r = &rows[i];
		uint64_t rp = r->pkts[0] + r->pkts[1];
		uint64_t rb = r->bytes[0] + r->bytes[1];

		if (r->key.kind >= KIND_COUNT)
			return fail(why, whylen, "flow %" PRIu64 ": kind %u",
				    r->id, r->key.kind);
		if (!rp)
			return fail(why, whylen, "flow %" PRIu64 ": 0 packets",
				    r->id);
		if (rb > bytes)
			return fail(why, whylen,
				    "flow %" PRIu64 ": %" PRIu64
				    " bytes > %" PRIu64 " fed",
				    r->id, rb, bytes);
		if (r->first_ns > r->last_ns)
			return fail(why, whylen,
				    "flow %" PRIu64 ": first %" PRIu64
				    " > last %" PRIu64,
				    r->id, r->first_ns, r->last_ns);
		for (size_t j = 0; j < i && nrows <= 4096; j++)
			if (rows[j].id == r->id)
				return fail(why, whylen,
					    "two flows with id %" PRIu64,
					    r->id);
		live_p[r->key.kind] += rp;
		live_b[r->key.kind] += rb;
	}
	for (int k = 0; k < KIND_COUNT; k++) {
		uint64_t p = live_p[k] + expired[k].pkts + overflow[k].pkts;
		uint64_t b = live_b[k] + expired[k].bytes + overflow[k].bytes;

		if (st->kind_pkts[k] != p)
			return fail(why, whylen,
				    "kind %d: %" PRIu64 " packets counted, "
				    "live %" PRIu64 " + expired %" PRIu64
				    " + overflow %" PRIu64,
				    k, st->kind_pkts[k], live_p[k],
				    expired[k].pkts, overflow[k].pkts);
		if (st->kind_bytes[k] != b)
			return fail(why, whylen,
				    "kind %d: %" PRIu64 " bytes counted, "
				    "live %" PRIu64 " + expired %" PRIu64
				    " + overflow %" PRIu64,
				    k, st->kind_bytes[k], live_b[k],
				    expired[k].bytes, overflow[k].bytes);
		sum_p += st->kind_pkts[k];
		sum_b += st->kind_bytes[k];
	}
	if (sum_p != pkts || sum_b != bytes)
		return fail(why, whylen,
			    "fed %" PRIu64 " packets / %" PRIu64
			    " bytes, counted %" PRIu64 " / %" PRIu64,
			    pkts, bytes, sum_p, sum_b);
	for (int e = 0; e < DEC_ERR_COUNT; e++)
		errs += st->err[e];
	if (st->err[DEC_OK] || errs > pkts)
		return fail(why, whylen,
			    "%" PRIu64 " malformed (%" PRIu64 " ok) of %" PRIu64
			    " packets",
			    errs, st->err[DEC_OK], pkts);
	return 0;
}

/* ---- decode ------------------------------------------------------------ */

int invariants_decode(const uint8_t *data, size_t size,
		      struct invariants_run *run, char *why, size_t whylen)
{
	struct dec_pkt d;
	uint8_t *buf;
	uint32_t n;
	int dlt, tci, rc;

	if (size < 2 || size - 2 > UINT32_MAX)
		return 0;
	dlt = invariants_dlt(data[0]);
	tci = data[1] ? (int)(data[1] << 8 | data[1]) : -1;
	n = (uint32_t)(size - 2);
	/* Exactly the frame: ASan then flags a read one past its end. */
	buf = malloc(n ? n : 1);
	if (!buf)
		return fail(why, whylen, "out of memory");
	memcpy(buf, data + 2, n);
	rc = invariants_check_frame(dlt, buf, n, tci, &d, why, whylen);
	if (run) {
		memset(run, 0, sizeof(*run));
		run->dlt = dlt;
		run->status = decode_frame(dlt, buf, n, tci, &run->dec);
	}
	if (!rc && n >= 2) {
		struct dec_pkt l3;
		int r3 = decode_l3((uint16_t)be16_at(buf), buf + 2, n - 2, &l3);

		rc = invariants_check_dec(-1, n - 2, -1, r3, &l3, why, whylen);
	}
	free(buf);
	return rc;
}

/* ---- the app sniffers ---------------------------------------------------- */

static int check_guess(const struct app_guess *g, int hit, char *why,
		       size_t whylen)
{
	const char *nul = memchr(g->detail, 0, sizeof(g->detail));

	if (!nul)
		return fail(why, whylen, "app detail not NUL-terminated");
	if (g->id >= APP_COUNT || (hit && g->id == APP_NONE))
		return fail(why, whylen, "app id %u (hit %d)", g->id, hit);
	for (const char *p = g->detail; p < nul; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return fail(why, whylen, "app detail byte %#x",
				    (unsigned char)*p);
	return 0;
}

int invariants_app(const uint8_t *data, size_t size, struct invariants_run *run,
		   char *why, size_t whylen)
{
	struct app_guess g, g2;
	struct app_pkt pkt;
	uint8_t *buf;
	int rc, hit;

	(void)run;
	if (size < 5 || size - 5 > UINT32_MAX)
		return 0;
	buf = malloc(size - 5 ? size - 5 : 1);
	if (!buf)
		return fail(why, whylen, "out of memory");
	memcpy(buf, data + 5, size - 5);
	pkt.p = buf;
	pkt.len = (uint32_t)(size - 5);
	pkt.ipproto = data[0] & 1 ? IPPROTO_UDP : IPPROTO_TCP;
	pkt.sport = (uint16_t)(data[1] << 8 | data[2]);
	pkt.dport = (uint16_t)(data[3] << 8 | data[4]);
	hit = app_sniff(&pkt, APP_NONE, "", &g);
	rc = check_guess(&g, hit, why, whylen);
	for (unsigned int id = 1; !rc && id < APP_COUNT; id++) {
		hit = app_sniff(&pkt, id, hit ? g.detail : "x", &g2);
		rc = check_guess(&g2, hit, why, whylen);
		if (!rc && hit && g2.id != id)
			rc = fail(why, whylen, "label %u replaced by %u", id,
				  g2.id);
	}
	free(buf);
	return rc;
}

/* ---- process attribution: the resolver's parsers and the store ---------- */

struct diag_check {
	uint8_t proto;
	int bad;
	char *why;
	size_t whylen;
};

static void diag_sock(void *arg, const struct procres_sock *s)
{
	struct diag_check *c = arg;

	if (c->bad)
		return;
	if (!s->inode || (s->family != 4 && s->family != 6) ||
	    s->ipproto != c->proto)
		c->bad = fail(c->why, c->whylen,
			      "diag socket: inode %" PRIu64 " family %u",
			      s->inode, s->family);
}

static int printable(const char *s, size_t len)
{
	size_t n = strnlen(s, len);

	if (n == len)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int procs_store_run(const uint8_t *data, size_t size, char *why,
			   size_t whylen)
{
	char err[128];
	struct procs *p = procs_new(-1, err, sizeof(err));
	int rc = 0;

	if (!p)
		return fail(why, whylen, "procs_new: %s", err);
	for (size_t off = 0; !rc && size - off >= sizeof(struct procs_msg);
	     off += sizeof(struct procs_msg)) {
		struct procs_msg m;
		struct flowtab_row r;
		struct procs_info pi;

		memcpy(&m, data + off, sizeof(m));
		procs_apply(p, &m);
		memset(&r, 0, sizeof(r));
		r.key.kind = (uint8_t)((m.family == 4 ? KIND_TCP4 : KIND_TCP6) +
				       (m.ipproto == IPPROTO_UDP));
		memcpy(r.key.a, m.laddr, 16);
		memcpy(r.key.b, m.raddr, 16);
		r.key.aport = m.lport;
		r.key.bport = m.rport;
		r.first_ns = m.time_ns;
		for (int swap = 0; !rc && swap < 2; swap++) {
			int side = procs_lookup(p, &r, &pi);

			if (side < -1 || side > 1)
				rc = fail(why, whylen, "lookup side %d", side);
			else if (side >= 0 &&
				 (!printable(pi.comm, sizeof(pi.comm)) ||
				  !printable(pi.user, sizeof(pi.user)) ||
				  !printable(pi.cgroup, sizeof(pi.cgroup)) ||
				  !printable(pi.cmdline, sizeof(pi.cmdline)) ||
				  pi.pid < 0))
				rc = fail(why, whylen, "stored info not clean");
			memcpy(r.key.a, m.raddr, 16);
			memcpy(r.key.b, m.laddr, 16);
			r.key.aport = m.rport;
			r.key.bport = m.lport;
		}
	}
	procs_free(p);
	return rc;
}

int invariants_procs(const uint8_t *data, size_t size,
		     struct invariants_run *run, char *why, size_t whylen)
{
	uint8_t *buf;
	int rc = 0;

	(void)run;
	if (size < 2)
		return 0;
	/* exactly the input's bytes, so ASan sees any read past them */
	buf = malloc(size - 2 ? size - 2 : 1);
	if (!buf)
		return fail(why, whylen, "out of memory");
	memcpy(buf, data + 2, size - 2);
	switch (data[0] % 4) {
	case 0: {
		struct diag_check c = { data[1] & 1 ? IPPROTO_UDP : IPPROTO_TCP,
					0, why, whylen };
		int r = procres_parse_diag(buf, size - 2, c.proto, diag_sock,
					   &c);

		rc = c.bad;
		if (!rc && (r > 1 || r < -4095))
			rc = fail(why, whylen, "parse_diag returned %d", r);
		break;
	}
	case 1: {
		char out[128];

		procres_parse_cgroup((const char *)buf, size - 2, out,
				     sizeof(out));
		if (strnlen(out, sizeof(out)) == sizeof(out))
			rc = fail(why, whylen, "cgroup not terminated");
		break;
	}
	case 2: {
		/* an fd link's text; the same bytes as a /proc/net/sockstat
		 * text, one of the resolver's fields */
		static const char *const f[][2] = {
			{ "TCP", "inuse" },
			{ "UDP", "inuse" },
			{ "TCP6", "inuse" },
			{ "UDP6", "inuse" },
		};
		int64_t v = procres_parse_stat((const char *)buf, size - 2,
					       f[data[1] % 4][0],
					       f[data[1] % 4][1]);

		(void)procres_parse_fdlink((const char *)buf, size - 2);
		if (v < -1 || v >= 1000000000000000000ll)
			rc = fail(why, whylen, "parse_stat gave %lld",
				  (long long)v);
		break;
	}
	default:
		rc = procs_store_run(buf, size - 2, why, whylen);
		break;
	}
	free(buf);
	return rc;
}

/* ---- the per-packet path: flow table + worker -------------------------- */

struct feed {
	struct worker w;
	uint64_t pkts, bytes;
	uint64_t now_ns;
	uint64_t idle_ns;
	unsigned int expire_every;
	int bad; /* a violation was found; why holds it */
	char *why;
	size_t whylen;
	/* frames handed to the worker since its last flush: they must stay
	 * valid until then (its deferred updates sniff their payload) */
	uint8_t *held[64];
	int nheld;
};

/* End the worker's batch, then give its frames back. In a read-side
 * section, as worker_run. */
static void feed_flush(struct feed *f)
{
	worker_flush(&f->w);
	while (f->nheld)
		free(f->held[--f->nheld]);
}

static int feed_init(struct feed *f, unsigned int expire_every,
		     uint64_t idle_ns, char *why, size_t whylen)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	f->w.ft = flowtab_new(INVARIANTS_MAX_FLOWS, err, sizeof(err));
	if (!f->w.ft)
		return fail(why, whylen, "%s", err);
	f->expire_every = expire_every ? expire_every : 1;
	f->idle_ns = idle_ns;
	f->why = why;
	f->whylen = whylen;
	return 0;
}

/*
 * One packet through the checks and the real per-packet path. Caller
 * holds rcu_read_lock (flowtab_expire nests its own).
 */
static void feed_packet(struct feed *f, const struct cap_pkt *pkt)
{
	struct cap_pkt copy = *pkt;
	uint8_t *buf;

	if (f->bad)
		return;
	buf = malloc(pkt->caplen ? pkt->caplen : 1);
	if (!buf) {
		f->bad = fail(f->why, f->whylen, "out of memory");
		return;
	}
	if (pkt->caplen)
		memcpy(buf, pkt->data, pkt->caplen);
	copy.data = buf;
	if (invariants_check_frame(copy.dlt, buf, copy.caplen, copy.vlan_tci,
				   NULL, f->why, f->whylen)) {
		f->bad = -1;
		free(buf);
		return;
	}
	if (f->nheld == (int)(sizeof(f->held) / sizeof(f->held[0])))
		feed_flush(f);
	worker_packet(&f->w, &copy);
	f->held[f->nheld++] = buf;
	f->pkts++;
	f->bytes += copy.wirelen;
	if (copy.ts_ns > f->now_ns)
		f->now_ns = copy.ts_ns;
	if (f->pkts % f->expire_every == 0)
		flowtab_expire(f->w.ft, f->now_ns, f->idle_ns);
}

/* Outside any read-side section: settle, check, free. */
static int feed_finish(struct feed *f, struct invariants_run *run)
{
	struct flowtab_counts exp[KIND_COUNT], ovf[KIND_COUNT];
	struct flowtab_row *rows = NULL;
	size_t cap = 0, live;
	ssize_t n;
	int rc = f->bad;

	while (f->nheld) /* every path flushed: nothing refers to them */
		free(f->held[--f->nheld]);
	flowtab_barrier(f->w.ft);
	flowtab_totals(f->w.ft, exp, ovf);
	n = flowtab_collect(f->w.ft, &rows, &cap);
	live = flowtab_count(f->w.ft);
	if (!rc && n < 0)
		rc = fail(f->why, f->whylen, "flowtab_collect: %zd", n);
	if (!rc && (size_t)n != live)
		rc = fail(f->why, f->whylen,
			  "quiescent table: %zd rows but count %zu", n, live);
	if (!rc)
		rc = invariants_check_totals(&f->w.st, exp, ovf, rows,
					     (size_t)n, INVARIANTS_MAX_FLOWS,
					     f->pkts, f->bytes, f->why,
					     f->whylen);
	if (run) {
		run->pkts = f->pkts;
		run->bytes = f->bytes;
		run->live = live;
		run->expired = flowtab_expired_flows(f->w.ft);
		run->overflow = 0;
		for (int k = 0; k < KIND_COUNT; k++)
			run->overflow += ovf[k].pkts;
		run->st = f->w.st;
	}
	free(rows);
	worker_release(&f->w);
	flowtab_free(f->w.ft);
	f->w.ft = NULL;
	return rc;
}

/* ---- flowtab ----------------------------------------------------------- */

/*
 * | dlt sel | cfg | records...
 * cfg: bits 0-2 expire every 1..8 packets, bits 3-4 idle 0..3 ticks,
 *      bits 5-7 that many node allocations fail.
 * record: | len | meta | len bytes (fewer if the input ends) |
 * meta: bits 0-1 clock step (0, +1, +10, -1 tick), bit 2 a stripped tag
 *       (tci = meta >> 3), bits 3-7 wire length = len + 64 * (meta >> 3).
 */
int invariants_flowtab(const uint8_t *data, size_t size,
		       struct invariants_run *run, char *why, size_t whylen)
{
	static const int64_t steps[4] = { 0, 1, 10, -1 };
	struct feed f;
	uint64_t ts = FZ_T0_NS;
	size_t off = 2;
	int held = 0; /* packets in the current read-side section */
	int dlt;

	if (size < 2)
		return 0;
	dlt = invariants_dlt(data[0]);
	if (feed_init(&f, 1 + (data[1] & 7), ((data[1] >> 3) & 3) * FZ_TICK_NS,
		      why, whylen))
		return -1;
	flowtab_inject_alloc_failures(f.w.ft, data[1] >> 5);
	if (run) {
		memset(run, 0, sizeof(*run));
		run->dlt = dlt;
	}
	while (off + 2 <= size && f.pkts < INVARIANTS_MAX_PKTS && !f.bad) {
		uint8_t len = data[off], meta = data[off + 1];
		size_t avail = size - off - 2;
		struct cap_pkt pkt = {
			.data = data + off + 2,
			.caplen = len < avail ? len : (uint32_t)avail,
			.dlt = dlt,
			.vlan_tci = meta & 4 ? meta >> 3 : -1,
			.ifindex = 1,
		};

		pkt.wirelen = pkt.caplen + 64u * (meta >> 3);
		ts += (uint64_t)(steps[meta & 3] * (int64_t)FZ_TICK_NS);
		pkt.ts_ns = ts;
		off += 2 + pkt.caplen;
		/* read-side sections of up to 13 packets: the deferred flow
		 * updates (worker_flush) run at every boundary */
		if (!held++)
			rcu_read_lock();
		feed_packet(&f, &pkt);
		if (held == 13) {
			feed_flush(&f);
			rcu_read_unlock();
			held = 0;
		}
	}
	if (held) {
		feed_flush(&f);
		rcu_read_unlock();
	}
	return feed_finish(&f, run);
}

/* ---- pcapfile ---------------------------------------------------------- */

struct pcap_feed {
	struct feed f;
	int dlt;
	uint64_t calls; /* callbacks in the current dispatch */
};

static void pcap_cb(void *user, const struct cap_pkt *pkt)
{
	struct pcap_feed *pf = user;

	if (!pkt) /* end of a batch */
		return;
	pf->calls++;
	if (pf->f.bad)
		return;
	if (pkt->dlt != pf->dlt || pkt->vlan_tci != -1 ||
	    (pkt->caplen && !pkt->data)) {
		pf->f.bad = fail(pf->f.why, pf->f.whylen,
				 "frame with dlt %d (handle %d), tci %d, "
				 "data %p",
				 pkt->dlt, pf->dlt, pkt->vlan_tci,
				 (const void *)pkt->data);
		return;
	}
	feed_packet(&pf->f, pkt);
}

static int one_line(const char *err, int rc, const char *what, char *why,
		    size_t whylen)
{
	if (!err[0] || strchr(err, '\n'))
		return fail(why, whylen, "%s failed (%d) with message \"%s\"",
			    what, rc, err);
	return 0;
}

static int is_magic(const uint8_t *p, size_t size)
{
	static const uint8_t magics[][4] = {
		{ 0xd4, 0xc3, 0xb2, 0xa1 }, { 0xa1, 0xb2, 0xc3, 0xd4 },
		{ 0x4d, 0x3c, 0xb2, 0xa1 }, { 0xa1, 0xb2, 0x3c, 0x4d },
		{ 0x34, 0xcd, 0xb2, 0xa1 }, { 0xa1, 0xb2, 0xcd, 0x34 },
		{ 0x0a, 0x0d, 0x0d, 0x0a }, /* pcapng section header */
	};

	if (size < 4)
		return 0;
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (!memcmp(p, magics[i], 4))
			return 1;
	return 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The input as a file in a memfd. Without a pcap/pcapng magic, a pcap
 * header is put in front: byte 0 selects the link type (bit 7: ns
 * timestamps), byte 1 the snaplen (16 * byte, 0xff: 262144), and the
 * records start at byte 2.
 */
static int pcap_memfd(const uint8_t *data, size_t size, char *why,
		      size_t whylen)
{
	int fd = memfd_create("fuzz_pcapfile", MFD_CLOEXEC);

	if (fd < 0)
		return fail(why, whylen, "memfd_create: %s", strerror(errno));
	if (!is_magic(data, size)) {
		uint8_t hdr[24] = { 0 };
		uint8_t sel = size > 0 ? data[0] : 0;
		uint8_t snap = size > 1 ? data[1] : 0;

		put_le32(hdr, sel & 0x80 ? 0xa1b23c4d : 0xa1b2c3d4);
		hdr[4] = 2; /* version 2.4 */
		hdr[6] = 4;
		put_le32(hdr + 16, snap == 0xff ? 262144u : 16u * snap);
		put_le32(hdr + 20, (uint32_t)invariants_dlt(sel));
		if (write_all(fd, hdr, sizeof(hdr))) {
			close(fd);
			return fail(why, whylen, "memfd write failed");
		}
		data += size > 2 ? 2 : size;
		size -= size > 2 ? 2 : size;
	}
	if (write_all(fd, data, size)) {
		close(fd);
		return fail(why, whylen, "memfd write failed");
	}
	return fd;
}

int invariants_pcapfile(const uint8_t *data, size_t size,
			struct invariants_run *run, char *why, size_t whylen)
{
	struct pcap_feed pf;
	struct cap_handle *h = NULL;
	struct cap_stats cs = { 0 };
	struct cap_config cfg = { .snaplen = 65535 };
	char path[64], err[256] = "";
	int fd, rc, status = 0;
	long calls = 0;

	if (run)
		memset(run, 0, sizeof(*run));
	fd = pcap_memfd(data, size, why, whylen);
	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cfg.file = path;

	rc = cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err));
	if (rc) {
		close(fd);
		if (run)
			run->status = rc;
		if (rc > 0 || h)
			return fail(why, whylen, "open returned %d, handle %p",
				    rc, (void *)h);
		return one_line(err, rc, "open", why, whylen);
	}
	if (feed_init(&pf.f, FZ_PCAP_EXPIRE_EVERY, FZ_PCAP_IDLE_NS, why,
		      whylen)) {
		cap_pcapfile_ops.close(h);
		close(fd);
		return -1;
	}
	pf.dlt = cap_pcapfile_ops.datalink(h);
	if (run)
		run->dlt = pf.dlt;
	/* pktstat -r refuses an unsupported link type before reading. */
	if (!decode_link_supported(pf.dlt)) {
		status = -EPROTONOSUPPORT;
		goto out;
	}
	for (;;) {
		pf.calls = 0;
		err[0] = '\0';
		rcu_read_lock();
		rc = cap_pcapfile_ops.dispatch(h, pcap_cb, &pf, 0, err,
					   sizeof(err));
		feed_flush(&pf.f);
		rcu_read_unlock();
		if (pf.f.bad)
			break;
		if (rc == CAP_EOF)
			break;
		if (rc < 0) {
			status = rc;
			pf.f.bad = one_line(err, rc, "dispatch", why, whylen);
			break;
		}
		if ((uint64_t)rc != pf.calls) {
			pf.f.bad = fail(why, whylen,
					"dispatch returned %d after %" PRIu64
					" frames",
					rc, pf.calls);
			break;
		}
		if (++calls > FZ_MAX_DISPATCH ||
		    pf.f.pkts > INVARIANTS_MAX_PKTS) {
			pf.f.bad = fail(why, whylen,
					"no EOF after %ld dispatch calls, "
					"%" PRIu64 " frames",
					calls, pf.f.pkts);
			break;
		}
	}
	/*
	 * Also after a read error: capture/pcapbase.c counts what its callback
	 * delivered, not pcap_dispatch's -1 (fuzz/RESULTS.md, finding 1).
	 */
	if (cap_pcapfile_ops.stats(h, &cs))
		cs.received = 0;
	if (!pf.f.bad && cs.received != pf.f.pkts)
		pf.f.bad = fail(why, whylen,
				"stats: %" PRIu64 " received, %" PRIu64 " fed",
				cs.received, pf.f.pkts);
out:
	rc = feed_finish(&pf.f, run);
	if (run) {
		run->status = status;
		run->received = cs.received;
	}
	cap_pcapfile_ops.close(h);
	close(fd);
	return rc;
}

/* One command line: parse, check, and parse its canonical form again. */
static int proto_line(const char *line, size_t len, char *why, size_t whylen)
{
	struct proto_cmd c, c2;
	char err[512], canon[1200];
	int rc = proto_cmd_parse(line, len, &c, err, sizeof(err));

	if (rc) {
		if (rc != -EINVAL || !*err || strchr(err, '\n'))
			return fail(why, whylen, "error %d not one line: %s",
				    rc, err);
		return 0;
	}
	if ((int)c.verb < PROTO_VERB_NEW || c.verb > PROTO_VERB_WATCH)
		return fail(why, whylen, "verb %d", (int)c.verb);
	if (c.verb == PROTO_VERB_LIST ? c.name[0] != 0
				      : !counters_valid_name(c.name))
		return fail(why, whylen, "name '%s' for %s", c.name,
			    proto_verb_name(c.verb));
	if (strlen(c.expr) >= COUNTERS_EXPR_MAX)
		return fail(why, whylen, "expression of %zu bytes",
			    strlen(c.expr));
	if (c.verb == PROTO_VERB_WATCH &&
	    (c.freq < 1 || c.freq > PROTO_WATCH_MAX))
		return fail(why, whylen, "watch frequency %u", c.freq);
	if (c.verb == PROTO_VERB_WATCH)
		snprintf(canon, sizeof(canon), "watch %s frequency %u", c.name,
			 c.freq);
	else
		snprintf(canon, sizeof(canon), "%s %s%s%s",
			 proto_verb_name(c.verb), c.name,
			 c.verb == PROTO_VERB_NEW || c.verb == PROTO_VERB_MODIFY
				 ? " filter "
				 : "",
			 c.expr);
	if (proto_cmd_parse(canon, strlen(canon), &c2, err, sizeof(err)))
		return fail(why, whylen, "canonical '%s' refused: %s", canon,
			    err);
	if (c2.verb != c.verb || strcmp(c2.name, c.name) ||
	    strcmp(c2.expr, c.expr) || c2.freq != c.freq)
		return fail(why, whylen, "canonical '%s' parses differently",
			    canon);
	return 0;
}

int invariants_proto(const uint8_t *data, size_t size,
		     struct invariants_run *run, char *why, size_t whylen)
{
	struct proto_reader rd;
	size_t chunk, off = 1;
	int rc = 0;

	(void)run;
	if (size < 1)
		return 0;
	chunk = 1 + data[0] % 64;
	if (proto_reader_init(&rd, PROTO_CMD_MAX))
		return 0;
	while (off < size && rc == 0) {
		size_t n = size - off < chunk ? size - off : chunk;
		struct proto_hdr h;
		const uint8_t *p;
		char err[256];
		int got;

		if (n > proto_reader_room(&rd))
			n = proto_reader_room(&rd);
		if (proto_reader_feed(&rd, data + off, n)) {
			rc = fail(why, whylen, "feed of %zu refused", n);
			break;
		}
		off += n;
		if (rd.len - rd.used > PROTO_HDR_LEN + PROTO_CMD_MAX)
			rc = fail(why, whylen, "reader holds %zu bytes",
				  rd.len - rd.used);
		while (rc == 0 && (got = proto_reader_next(&rd, &h, &p, err,
							   sizeof(err))) == 1) {
			if (h.len > PROTO_CMD_MAX)
				rc = fail(why, whylen, "message of %u bytes",
					  h.len);
			else if (h.type == PROTO_CMD)
				rc = proto_line((const char *)p, h.len, why,
						whylen);
		}
		if (rc == 0 && got < 0)
			break; /* the daemon closes such a stream */
	}
	proto_reader_free(&rd);
	if (rc == 0)
		rc = proto_line((const char *)data + 1, size - 1, why, whylen);
	return rc;
}
