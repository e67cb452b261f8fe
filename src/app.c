/*
 * app.c - application protocol sniffers (app.h): what a flow's first
 * payload bytes say it is.
 *
 * Pure and stateless: the flow's label so far is passed in, the new one
 * comes back; every byte is read through cursor.h, so a truncated or
 * hostile payload can only fail a match. Each sniffer looks at a bounded
 * prefix (APP_SCAN_MAX bytes at most for the HTTP header scan), so a
 * call costs a few hundred instructions at worst and nothing is looped
 * over but the payload's own length fields, each bounded by the payload.
 *
 * Formats, with the RFC or the spec each follows:
 *   HTTP/1      RFC 9112 request line, Host header, status line
 *   TLS         RFC 8446 4.1.2 ClientHello, 4.1.3 ServerHello, RFC 6066 3
 *               server_name, RFC 8446 4.2.1 supported_versions
 *   QUIC        RFC 9000 17.2 long header (version), RFC 9369 (v2)
 *   SSH         RFC 4253 4.2 identification string
 *   DNS         RFC 1035 4.1 header and question (TCP: 4.2.2 length)
 *   RDP         RFC 1006 TPKT + X.224 connection request ([MS-RDPBCGR]
 *               2.2.1.1 routing token / cookie)
 *   PostgreSQL  protocol 3.0 StartupMessage, SSLRequest, GSSENCRequest
 *   MQTT        3.1/3.1.1/5.0 CONNECT
 *   WireGuard   the four message types and their fixed sizes
 *   Memcached   text protocol commands and replies, binary magic 0x80/0x81
 *   FTP/SMTP    RFC 959 / RFC 5321 220 greeting and first commands
 *   X11         connection setup: byte order, protocol 11.0
 */
#include "app.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cursor.h"

/* Bytes of an HTTP request searched for its Host header. */
#define APP_SCAN_MAX 2048

static const char *const app_names[APP_COUNT] = {
	[APP_NONE] = "",
	[APP_HTTP] = "http",
	[APP_TLS] = "tls",
	[APP_QUIC] = "quic",
	[APP_SSH] = "ssh",
	[APP_DNS] = "dns",
	[APP_RDP] = "rdp",
	[APP_PGSQL] = "postgresql",
	[APP_MQTT] = "mqtt",
	[APP_WIREGUARD] = "wireguard",
	[APP_MEMCACHED] = "memcached",
	[APP_FTP] = "ftp",
	[APP_X11] = "x11",
	[APP_SMTP] = "smtp",
};

const char *app_name(unsigned int id)
{
	return id < APP_COUNT ? app_names[id] : "";
}

int app_by_name(const char *name)
{
	for (int i = 1; i < APP_COUNT; i++)
		if (!strcasecmp(name, app_names[i]))
			return i;
	return -1;
}

/* ---- detail text -------------------------------------------------------- */

struct det {
	char *s;
	size_t n;
};

static void det_init(struct det *d, char *s)
{
	d->s = s;
	d->n = 0;
	s[0] = '\0';
}

/* Append @len bytes, each non-printable (or quote, backslash) as '.'. */
static void det_mem(struct det *d, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && d->n + 1 < APP_DETAIL_MAX; i++) {
		uint8_t c = p[i];

		d->s[d->n++] = c < 0x20 || c > 0x7e || c == '"' || c == '\\'
				       ? '.'
				       : (char)c;
	}
	d->s[d->n] = '\0';
}

static void det_str(struct det *d, const char *s)
{
	det_mem(d, (const uint8_t *)s, strlen(s));
}

/* Bytes at the cursor up to (not including) CR, LF, NUL or @stop, at
 * most @max; the cursor is not moved. */
static size_t cur_token(const struct cursor *c, size_t off, size_t max,
			uint8_t stop)
{
	size_t n = 0;
	uint8_t v;

	while (n < max && cur_peek_u8(c, off + n, &v) && v != '\r' &&
	       v != '\n' && v && v != stop)
		n++;
	return n;
}

static int cur_prefix(const struct cursor *c, size_t off, const char *s)
{
	size_t n = strlen(s);

	return cur_has(c, off + n) && !memcmp(c->p + off, s, n);
}

/* ---- HTTP/1 ------------------------------------------------------------- */

static const char *const http_methods[] = { "GET ",    "POST ",	   "PUT ",
					    "DELETE ", "HEAD ",	   "OPTIONS ",
					    "PATCH ",  "CONNECT ", "TRACE " };

/* Offset of the value of header @name ("host") in the request head, or
 * 0. Only the first APP_SCAN_MAX bytes, up to the blank line. */
static size_t http_header(const struct cursor *c, const char *name)
{
	size_t nl = strlen(name), lim = cur_left(c);

	if (lim > APP_SCAN_MAX)
		lim = APP_SCAN_MAX;
	for (size_t i = 0; i + 1 < lim; i++) {
		if (c->p[i] != '\n')
			continue;
		if (c->p[i + 1] == '\r' || c->p[i + 1] == '\n')
			break; /* end of the head */
		if (i + 1 + nl + 1 <= lim &&
		    !strncasecmp((const char *)c->p + i + 1, name, nl) &&
		    c->p[i + 1 + nl] == ':') {
			size_t v = i + 2 + nl;

			while (v < lim && (c->p[v] == ' ' || c->p[v] == '\t'))
				v++;
			return v;
		}
	}
	return 0;
}

static int sniff_http(const struct cursor *c, unsigned int cur,
		      const char *cur_detail, struct app_guess *out)
{
	struct det d;

	det_init(&d, out->detail);
	for (size_t m = 0; m < sizeof(http_methods) / sizeof(*http_methods);
	     m++) {
		size_t ml = strlen(http_methods[m]), tl, h;

		if (!cur_prefix(c, 0, http_methods[m]))
			continue;
		tl = cur_token(c, ml, 1024, ' ');
		/* a request line: METHOD SP target SP HTTP/1.x */
		if (!tl || !cur_prefix(c, ml + tl, " HTTP/1."))
			return 0;
		out->id = APP_HTTP;
		det_mem(&d, c->p, ml + tl);
		h = http_header(c, "host");
		if (h) {
			det_str(&d, " host=");
			det_mem(&d, c->p + h, cur_token(c, h, 255, ' '));
		}
		return 1;
	}
	if (cur_prefix(c, 0, "HTTP/1.") && cur_has(c, 12)) {
		const uint8_t *s = c->p + 9;

		if (c->p[8] != ' ' || s[0] < '1' || s[0] > '5' || s[1] < '0' ||
		    s[1] > '9' || s[2] < '0' || s[2] > '9')
			return 0;
		out->id = APP_HTTP;
		out->done = 1;
		det_mem(&d, s, 3);
		if (cur == APP_HTTP && cur_detail[0] &&
		    !(cur_detail[0] >= '1' && cur_detail[0] <= '5')) {
			det_str(&d, " ");
			det_str(&d, cur_detail);
		}
		return 1;
	}
	return 0;
}

/* ---- TLS ---------------------------------------------------------------- */

static const char *tls_version(uint16_t v)
{
	switch (v) {
	case 0x0300:
		return "SSLv3";
	case 0x0301:
		return "TLSv1.0";
	case 0x0302:
		return "TLSv1.1";
	case 0x0303:
		return "TLSv1.2";
	case 0x0304:
		return "TLSv1.3";
	}
	return "TLS";
}

/* GREASE values (RFC 8701) are 0x?a?a. */
static int tls_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/*
 * Walk a hello's extensions at @c (the 2-byte length first): the
 * server_name into @sni (@sni_len bytes, 0 if absent) and the highest
 * supported version (client: the list's highest, server: the one chosen)
 * into *@ver (left alone if absent). A truncated list yields what fits.
 */
static void tls_exts(struct cursor *c, int server, const uint8_t **sni,
		     size_t *sni_len, uint16_t *ver)
{
	uint16_t total, type, len;

	if (!cur_be16(c, &total))
		return;
	if (cur_left(c) > total)
		c->end = c->p + total;
	while (cur_be16(c, &type) && cur_be16(c, &len)) {
		struct cursor e = *c;

		if (cur_left(&e) > len)
			e.end = e.p + len;
		if (type == 0 && !server) { /* server_name */
			uint16_t nlen;
			uint8_t ntype;

			if (cur_skip(&e, 2) && cur_u8(&e, &ntype) && !ntype &&
			    cur_be16(&e, &nlen) && cur_has(&e, nlen)) {
				*sni = e.p;
				*sni_len = nlen;
			}
		} else if (type == 43 && server) { /* supported_versions */
			uint16_t v;

			if (cur_be16(&e, &v))
				*ver = v;
		} else if (type == 43) {
			uint8_t l;
			uint16_t v;

			if (cur_u8(&e, &l))
				for (unsigned int i = 0; i + 2 <= l; i += 2)
					if (cur_be16(&e, &v) &&
					    !tls_grease(v) && v > *ver &&
					    v <= 0x0304)
						*ver = v;
		}
		if (!cur_skip(c, len))
			break;
	}
}

static int sniff_tls(const struct cursor *pc, const char *cur_detail,
		     struct app_guess *out)
{
	struct cursor c = *pc;
	uint8_t type, hs, sid;
	uint16_t rver, rlen, hver, l16;
	const uint8_t *sni = NULL;
	size_t sni_len = 0;
	struct det d;

	if (!cur_u8(&c, &type) || !cur_be16(&c, &rver) || !cur_be16(&c, &rlen))
		return 0;
	if (type < 20 || type > 23 || (rver >> 8) != 3 || (rver & 0xff) > 4 ||
	    !rlen || rlen > 18432)
		return 0;
	out->id = APP_TLS;
	det_init(&d, out->detail);
	if (type != 22 || !cur_u8(&c, &hs) || (hs != 1 && hs != 2)) {
		/* mid-stream (or an alert): TLS, nothing more to learn */
		out->done = type != 22;
		return 1;
	}
	if (!cur_skip(&c, 3) || !cur_be16(&c, &hver)) {
		det_str(&d, tls_version(rver));
		return 1;
	}
	if (hs == 2) { /* ServerHello: the version chosen */
		const char *sp = strchr(cur_detail, ' ');

		out->done = 1;
		if (cur_skip(&c, 32) && cur_u8(&c, &sid) && cur_skip(&c, sid) &&
		    cur_skip(&c, 3))
			tls_exts(&c, 1, &sni, &sni_len, &hver);
		det_str(&d, tls_version(hver));
		if (sp)
			det_str(&d, sp);
		return 1;
	}
	/* ClientHello */
	if (cur_skip(&c, 32) && cur_u8(&c, &sid) && cur_skip(&c, sid) &&
	    cur_be16(&c, &l16) && cur_skip(&c, l16) && cur_u8(&c, &sid) &&
	    cur_skip(&c, sid))
		tls_exts(&c, 0, &sni, &sni_len, &hver);
	det_str(&d, tls_version(hver));
	if (sni_len) {
		det_str(&d, " sni=");
		det_mem(&d, sni, sni_len);
	}
	return 1;
}

/* ---- QUIC --------------------------------------------------------------- */

static int sniff_quic(const struct cursor *pc, struct app_guess *out)
{
	struct cursor c = *pc;
	uint8_t b0, dl, sl;
	uint32_t v;
	struct det d;

	if (!cur_u8(&c, &b0) || (b0 & 0xc0) != 0xc0 || !cur_be32(&c, &v) ||
	    !cur_u8(&c, &dl) || dl > 20 || !cur_skip(&c, dl) ||
	    !cur_u8(&c, &sl) || sl > 20 || !cur_skip(&c, sl))
		return 0;
	det_init(&d, out->detail);
	if (v == 1) {
		det_str(&d, "QUICv1");
	} else if (v == 0x6b3343cf) {
		det_str(&d, "QUICv2");
	} else if ((v & 0xffffff00) == 0xff000000) {
		char s[16];

		snprintf(s, sizeof(s), "draft-%u", v & 0xff);
		det_str(&d, s);
	} else {
		return 0;
	}
	out->id = APP_QUIC;
	/* an Initial's SNI is encrypted (RFC 9001 5.2): not read here */
	out->done = 1;
	return 1;
}

/* ---- SSH ---------------------------------------------------------------- */

static int sniff_ssh(const struct cursor *c, struct app_guess *out)
{
	struct det d;

	if (!cur_prefix(c, 0, "SSH-1.") && !cur_prefix(c, 0, "SSH-2.0-"))
		return 0;
	out->id = APP_SSH;
	out->done = 1;
	det_init(&d, out->detail);
	det_mem(&d, c->p, cur_token(c, 0, 255, 0));
	return 1;
}

/* ---- DNS ---------------------------------------------------------------- */

static int dns_port(uint16_t p)
{
	return p == 53 || p == 5353 || p == 5355;
}

static const char *dns_type(uint16_t t)
{
	switch (t) {
	case 1:
		return "A";
	case 2:
		return "NS";
	case 5:
		return "CNAME";
	case 6:
		return "SOA";
	case 12:
		return "PTR";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	case 33:
		return "SRV";
	case 64:
		return "SVCB";
	case 65:
		return "HTTPS";
	case 255:
		return "ANY";
	}
	return NULL;
}

static int sniff_dns(const struct app_pkt *pkt, const struct cursor *pc,
		     struct app_guess *out)
{
	struct cursor c = *pc;
	uint16_t flags, qd, an, ns, ar, qtype, tlen;
	uint8_t l, opt[3];
	size_t total = 0;
	struct det d;
	char name[256];
	size_t nn = 0;
	int port = dns_port(pkt->sport) || dns_port(pkt->dport);

	if (!port && pkt->ipproto != IPPROTO_UDP)
		return 0;
	if (pkt->ipproto == IPPROTO_TCP && (!cur_be16(&c, &tlen) || tlen < 12))
		return 0;
	if (!cur_skip(&c, 2) || !cur_be16(&c, &flags) || !cur_be16(&c, &qd) ||
	    !cur_be16(&c, &an) || !cur_be16(&c, &ns) || !cur_be16(&c, &ar))
		return 0;
	if (((flags >> 11) & 0xf) > 6 || qd == 0 || qd > 32)
		return 0;
	/* Off the DNS ports only a plain query: one question, nothing else
	 * but an EDNS OPT record, and it must end the datagram. */
	if (!port && ((flags & 0x8000) || (flags & 0x7800) || qd != 1 || an ||
		      ns || ar > 1))
		return 0;
	/* QNAME: labels, no compression in a question */
	while (cur_u8(&c, &l) && l) {
		if (l > 63 || total + l + 1 > 255 || !cur_has(&c, l))
			return 0;
		if (nn)
			name[nn++] = '.';
		memcpy(name + nn, c.p, l);
		nn += l;
		total += l + 1;
		cur_skip(&c, l);
	}
	if (!cur_be16(&c, &qtype) || !cur_skip(&c, 2))
		return 0;
	/* the OPT record: root name, type 41, then at least 8 bytes */
	if (!port && (ar ? !cur_peek_bytes(&c, 0, opt, 3) || opt[0] || opt[1] ||
				      opt[2] != 41 || cur_left(&c) < 11
			 : cur_left(&c) != 0))
		return 0;
	name[nn] = '\0';
	out->id = APP_DNS;
	out->done = 1;
	det_init(&d, out->detail);
	if (dns_type(qtype)) {
		det_str(&d, dns_type(qtype));
	} else {
		char t[16];

		snprintf(t, sizeof(t), "TYPE%u", qtype);
		det_str(&d, t);
	}
	det_str(&d, " ");
	det_mem(&d, (const uint8_t *)(nn ? name : "."), nn ? nn : 1);
	return 1;
}

/* ---- RDP ---------------------------------------------------------------- */

static int sniff_rdp(const struct cursor *pc, struct app_guess *out)
{
	struct cursor c = *pc;
	uint8_t v, r, li, code;
	uint16_t len;
	struct det d;

	if (!cur_u8(&c, &v) || v != 3 || !cur_u8(&c, &r) || r ||
	    !cur_be16(&c, &len) || len < 11 || !cur_u8(&c, &li) ||
	    !cur_u8(&c, &code) || li < 6 || li + 5u > len)
		return 0;
	if (code != 0xe0 && code != 0xd0) /* X.224 CR, CC */
		return 0;
	out->id = APP_RDP;
	out->done = 1;
	det_init(&d, out->detail);
	if (code == 0xe0 && cur_skip(&c, 5) &&
	    cur_prefix(&c, 0, "Cookie: mstshash=")) {
		det_str(&d, "mstshash=");
		det_mem(&d, c.p + 17, cur_token(&c, 17, 64, 0));
	}
	return 1;
}

/* ---- PostgreSQL --------------------------------------------------------- */

static int sniff_pgsql(const struct cursor *pc, struct app_guess *out)
{
	struct cursor c = *pc;
	uint32_t len, code;
	struct det d;

	if (!cur_be32(&c, &len) || !cur_be32(&c, &code))
		return 0;
	det_init(&d, out->detail);
	if (len == 8 && (code == 80877103 || code == 80877104)) {
		det_str(&d, code == 80877103 ? "SSLRequest" : "GSSENCRequest");
	} else if (code == 196608 && len >= 9 && len <= 10000) {
		/* name\0value\0 pairs, then \0 */
		if (cur_left(&c) > len - 8)
			c.end = c.p + (len - 8);
		while (cur_left(&c) && *c.p) {
			size_t k = cur_token(&c, 0, 64, 0), v;
			int keep;

			if (!cur_has(&c, k + 1) || c.p[k])
				break;
			keep = (k == 4 && !memcmp(c.p, "user", 4)) ||
			       (k == 8 && !memcmp(c.p, "database", 8));
			v = cur_token(&c, k + 1, 64, 0);
			if (keep) {
				if (d.n)
					det_str(&d, " ");
				det_mem(&d, c.p, k);
				det_str(&d, "=");
				det_mem(&d, c.p + k + 1, v);
			}
			if (!cur_skip(&c, k + 1 + v + 1))
				break;
		}
	} else {
		return 0;
	}
	out->id = APP_PGSQL;
	out->done = 1;
	return 1;
}

/* ---- MQTT --------------------------------------------------------------- */

static int sniff_mqtt(const struct cursor *pc, struct app_guess *out)
{
	struct cursor c = *pc;
	uint8_t b0, b, level, flags;
	uint16_t nl, cl;
	uint32_t rem = 0;
	struct det d;
	int i;

	if (!cur_u8(&c, &b0) || b0 != 0x10)
		return 0;
	for (i = 0; i < 4; i++) {
		if (!cur_u8(&c, &b))
			return 0;
		rem |= (uint32_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			break;
	}
	if (i == 4 || rem < 10 || !cur_be16(&c, &nl))
		return 0;
	if (!((nl == 4 && cur_prefix(&c, 0, "MQTT")) ||
	      (nl == 6 && cur_prefix(&c, 0, "MQIsdp"))))
		return 0;
	cur_skip(&c, nl);
	if (!cur_u8(&c, &level) || level < 3 || level > 5 ||
	    !cur_u8(&c, &flags) || !cur_skip(&c, 2))
		return 0;
	out->id = APP_MQTT;
	out->done = 1;
	det_init(&d, out->detail);
	det_str(&d, level == 3 ? "v3.1" : level == 4 ? "v3.1.1" : "v5.0");
	if (level == 5) { /* properties: a variable byte integer length */
		uint32_t pl = 0;

		for (i = 0; i < 4; i++) {
			if (!cur_u8(&c, &b))
				return 1;
			pl |= (uint32_t)(b & 0x7f) << (7 * i);
			if (!(b & 0x80))
				break;
		}
		if (i == 4 || !cur_skip(&c, pl))
			return 1;
	}
	if (cur_be16(&c, &cl) && cl && cur_has(&c, cl)) {
		det_str(&d, " client=");
		det_mem(&d, c.p, cl);
	}
	return 1;
}

/* ---- WireGuard ---------------------------------------------------------- */

static int sniff_wireguard(const struct cursor *c, struct app_guess *out)
{
	static const char *const kinds[] = { "", "handshake-initiation",
					     "handshake-response",
					     "cookie-reply", "data" };
	uint8_t t, z[3];
	size_t len = cur_left(c);
	int ok;

	if (!cur_peek_u8(c, 0, &t) || !cur_peek_bytes(c, 1, z, 3) || z[0] ||
	    z[1] || z[2])
		return 0;
	ok = (t == 1 && len == 148) || (t == 2 && len == 92) ||
	     (t == 3 && len == 64) || (t == 4 && len >= 32 && !(len % 16));
	if (!ok)
		return 0;
	out->id = APP_WIREGUARD;
	out->done = 1;
	snprintf(out->detail, APP_DETAIL_MAX, "%s", kinds[t]);
	return 1;
}

/* ---- Memcached ---------------------------------------------------------- */

static const char *const mc_text[] = {
	"get ",	     "gets ",	       "set ",		"add ",
	"replace ",  "append ",	       "prepend ",	"cas ",
	"delete ",   "incr ",	       "decr ",		"touch ",
	"gat ",	     "gats ",	       "stats",		"version",
	"flush_all", "verbosity ",     "VALUE ",	"STORED\r\n",
	"END\r\n",   "NOT_STORED\r\n", "NOT_FOUND\r\n", "DELETED\r\n",
	"STAT ",
};

static int sniff_memcached(const struct app_pkt *pkt, const struct cursor *pc,
			   struct app_guess *out)
{
	struct cursor c = *pc;
	uint8_t magic, op, dtype;
	uint16_t hdr[4];
	struct det d;

	/* Redis's inline commands look the same ("get k\r\n"): not on its
	 * port (tshark's resp_2_inline.pcap) */
	if (pkt->sport == 6379 || pkt->dport == 6379)
		return 0;
	/* UDP: an 8-byte frame header (request id, sequence, count, 0) */
	if (pkt->ipproto == IPPROTO_UDP) {
		if (!cur_be16(&c, &hdr[0]) || !cur_be16(&c, &hdr[1]) ||
		    !cur_be16(&c, &hdr[2]) || !cur_be16(&c, &hdr[3]) ||
		    hdr[3] || !hdr[2] || hdr[1] >= hdr[2])
			return 0;
	}
	det_init(&d, out->detail);
	if (cur_peek_u8(&c, 0, &magic) && (magic == 0x80 || magic == 0x81) &&
	    cur_peek_u8(&c, 1, &op) && op < 0x50 &&
	    cur_peek_u8(&c, 5, &dtype) && !dtype && cur_has(&c, 24)) {
		det_str(&d, magic == 0x80 ? "binary request" : "binary reply");
		goto found;
	}
	for (size_t i = 0; i < sizeof(mc_text) / sizeof(*mc_text); i++) {
		size_t n;

		if (!cur_prefix(&c, 0, mc_text[i]))
			continue;
		n = cur_token(&c, 0, 128, 0);
		/* a whole line: CRLF within the payload */
		if (!cur_prefix(&c, n, "\r\n"))
			return 0;
		det_mem(&d, c.p, n);
		goto found;
	}
	return 0;
found:
	out->id = APP_MEMCACHED;
	out->done = 1;
	return 1;
}

/* ---- FTP, SMTP ---------------------------------------------------------- */

static int ftp_port(uint16_t p)
{
	return p == 21 || p == 2121;
}

static int smtp_port(uint16_t p)
{
	return p == 25 || p == 465 || p == 587 || p == 2525;
}

/* Whether @s (length @n) contains @w, case-insensitive. */
static int mem_has(const uint8_t *s, size_t n, const char *w)
{
	size_t wl = strlen(w);

	for (size_t i = 0; i + wl <= n; i++)
		if (!strncasecmp((const char *)s + i, w, wl))
			return 1;
	return 0;
}

static const char *const ftp_cmds[] = { "USER ",    "PASS ",	"AUTH TLS",
					"SYST\r\n", "PASV\r\n", "EPSV",
					"RETR ",    "STOR ",	"CWD " };
static const char *const smtp_cmds[] = { "EHLO ", "HELO ", "MAIL FROM:",
					 "RCPT TO:", "STARTTLS\r\n" };

static int sniff_ftp_smtp(const struct app_pkt *pkt, const struct cursor *c,
			  unsigned int cur, struct app_guess *out)
{
	struct det d;
	size_t n;

	det_init(&d, out->detail);
	/* the client's first command settles it */
	for (size_t i = 0; i < sizeof(smtp_cmds) / sizeof(*smtp_cmds); i++)
		if (cur_prefix(c, 0, smtp_cmds[i]) &&
		    (cur == APP_SMTP || cur == APP_NONE) &&
		    cur_prefix(c, cur_token(c, 0, 255, 0), "\r\n")) {
			out->id = APP_SMTP;
			out->done = 1;
			det_mem(&d, c->p, cur_token(c, 0, 255, 0));
			return 1;
		}
	for (size_t i = 0; i < sizeof(ftp_cmds) / sizeof(*ftp_cmds); i++)
		if (cur_prefix(c, 0, ftp_cmds[i]) &&
		    (cur == APP_FTP || cur == APP_NONE) &&
		    cur_prefix(c, cur_token(c, 0, 255, 0), "\r\n")) {
			n = cur_token(c, 0, 255, 0);
			out->id = APP_FTP;
			out->done = 1;
			/* never a password */
			det_mem(&d, c->p, cur_prefix(c, 0, "PASS ") ? 4 : n);
			return 1;
		}
	if (cur != APP_NONE ||
	    !(cur_prefix(c, 0, "220 ") || cur_prefix(c, 0, "220-")))
		return 0;
	/* the server's greeting: by its words, else by the port */
	n = cur_token(c, 4, 255, 0);
	if (mem_has(c->p + 4, n, "SMTP") ||
	    (!mem_has(c->p + 4, n, "FTP") &&
	     (smtp_port(pkt->sport) || smtp_port(pkt->dport))))
		out->id = APP_SMTP;
	else if (mem_has(c->p + 4, n, "FTP") || ftp_port(pkt->sport) ||
		 ftp_port(pkt->dport))
		out->id = APP_FTP;
	else
		return 0;
	det_mem(&d, c->p + 4, n);
	return 1;
}

/* ---- X11 ---------------------------------------------------------------- */

static int sniff_x11(const struct cursor *pc, struct app_guess *out)
{
	struct cursor c = *pc;
	uint8_t order, pad;
	uint16_t v[5];
	struct det d;

	if (!cur_u8(&c, &order) || (order != 'l' && order != 'B') ||
	    !cur_u8(&c, &pad) || pad)
		return 0;
	for (int i = 0; i < 5; i++) {
		uint8_t b[2];

		if (!cur_peek_bytes(&c, 0, b, 2) || !cur_skip(&c, 2))
			return 0;
		v[i] = order == 'l' ? (uint16_t)(b[0] | b[1] << 8)
				    : (uint16_t)(b[0] << 8 | b[1]);
	}
	/* major 11, minor 0, auth name and data lengths, 2 unused */
	if (v[0] != 11 || v[1] != 0 || v[2] > 64 || v[3] > 256)
		return 0;
	out->id = APP_X11;
	out->done = 1;
	det_init(&d, out->detail);
	det_str(&d, "X11.0");
	if (v[2] && cur_has(&c, v[2])) {
		det_str(&d, " auth=");
		det_mem(&d, c.p, v[2]);
	}
	return 1;
}

/* ---- dispatch ----------------------------------------------------------- */

/*
 * Which sniffers can match, from the first four bytes: most payloads that
 * are none of ours (bulk data, a benchmark's zeros) are turned away here
 * after a few compares, before any sniffer walks them.
 */
static int udp_candidates(const struct app_pkt *pkt, const uint8_t b[4],
			  uint32_t w2)
{
	return dns_port(pkt->sport) || dns_port(pkt->dport) ||
	       (b[0] & 0xc0) == 0xc0 || /* QUIC long header */
	       (b[0] >= 1 && b[0] <= 4 && !b[1] && !b[2] && !b[3]) || /* WG */
	       (!(b[2] & 0xf8) && w2 == 0x00010000) || /* a DNS query */
	       (!(w2 & 0xffff) && (w2 >> 16));	       /* memcached frame */
}

int app_sniff(const struct app_pkt *pkt, unsigned int cur,
	      const char *cur_detail, struct app_guess *out)
{
	struct cursor c;
	uint8_t b[4] = { 0, 0, 0, 0 };
	uint32_t w2 = 0;
	int hit = 0;

	out->id = APP_NONE;
	out->done = 0;
	out->detail[0] = '\0';
	if (!pkt->len)
		return 0;
	cur_init(&c, pkt->p, pkt->len);
	if (!cur_peek_bytes(&c, 0, b, 4))
		cur_peek_bytes(&c, 0, b, pkt->len < 4 ? pkt->len : 4);
	cur_peek_be32(&c, 4, &w2);
	if (pkt->ipproto == IPPROTO_UDP) {
		if (udp_candidates(pkt, b, w2))
			hit = sniff_dns(pkt, &c, out) || sniff_quic(&c, out) ||
			      sniff_wireguard(&c, out) ||
			      sniff_memcached(pkt, &c, out);
	} else if (pkt->ipproto == IPPROTO_TCP) {
		switch (b[0]) {
		case 'S':
			hit = sniff_ssh(&c, out);
			break;
		case 0x16:
		case 0x14:
		case 0x15:
		case 0x17:
			hit = sniff_tls(&c, cur_detail, out);
			break;
		case 3:
			hit = sniff_rdp(&c, out);
			break;
		case 0x10:
			hit = sniff_mqtt(&c, out);
			break;
		case 'l':
		case 'B':
			hit = sniff_x11(&c, out);
			break;
		case 0: /* a PostgreSQL length, or DNS's over TCP */
			hit = sniff_pgsql(&c, out) || sniff_dns(pkt, &c, out);
			break;
		case 0x80: /* memcached's binary magic */
		case 0x81:
			hit = sniff_memcached(pkt, &c, out);
			break;
		}
		/* text protocols start with a letter or a reply code */
		if (!hit && ((b[0] >= 'A' && b[0] <= 'Z') ||
			     (b[0] >= 'a' && b[0] <= 'z') || b[0] == '2'))
			hit = sniff_http(&c, cur, cur_detail, out) ||
			      sniff_ftp_smtp(pkt, &c, cur, out) ||
			      sniff_memcached(pkt, &c, out);
		if (!hit && b[0] &&
		    (dns_port(pkt->sport) || dns_port(pkt->dport)))
			hit = sniff_dns(pkt, &c, out);
	}
	if (!hit)
		return 0;
	/* A label, once found, is only refined by its own protocol. */
	if (cur != APP_NONE && out->id != cur) {
		out->done = 1;
		return 0;
	}
	if (out->id == cur && !strcmp(out->detail, cur_detail))
		return 0;
	return 1;
}

/* ---- ports ---------------------------------------------------------------- */

struct app_port {
	uint16_t lo, hi;
	uint8_t ipproto, id;
};

/* The port ranges of each app: port_ids_init spreads them into a
 * table. Ranges do not overlap. */
static const struct app_port app_ports[] = {
	{ 21, 21, IPPROTO_TCP, APP_FTP },
	{ 22, 22, IPPROTO_TCP, APP_SSH },
	{ 25, 25, IPPROTO_TCP, APP_SMTP },
	{ 53, 53, IPPROTO_TCP, APP_DNS },
	{ 80, 80, IPPROTO_TCP, APP_HTTP },
	{ 443, 443, IPPROTO_TCP, APP_TLS },
	{ 587, 587, IPPROTO_TCP, APP_SMTP },
	{ 1883, 1883, IPPROTO_TCP, APP_MQTT },
	{ 3389, 3389, IPPROTO_TCP, APP_RDP },
	{ 5432, 5432, IPPROTO_TCP, APP_PGSQL },
	{ 6000, 6063, IPPROTO_TCP, APP_X11 },
	{ 8080, 8080, IPPROTO_TCP, APP_HTTP },
	{ 8443, 8443, IPPROTO_TCP, APP_TLS },
	{ 11211, 11211, IPPROTO_TCP, APP_MEMCACHED },
	{ 53, 53, IPPROTO_UDP, APP_DNS },
	{ 443, 443, IPPROTO_UDP, APP_QUIC },
	{ 5353, 5353, IPPROTO_UDP, APP_DNS },
	{ 11211, 11211, IPPROTO_UDP, APP_MEMCACHED },
	{ 51820, 51820, IPPROTO_UDP, APP_WIREGUARD },
};

/* The app of each TCP and UDP port (app_ports has no other protocol),
 * APP_NONE where app_ports has no range: a report asks for every row,
 * twice, so one load answers. */
static uint8_t port_ids[2][65536];

static int port_ids_idx(uint8_t ipproto)
{
	return ipproto == IPPROTO_TCP ? 0 : ipproto == IPPROTO_UDP ? 1 : -1;
}

__attribute__((constructor)) static void port_ids_init(void)
{
	for (size_t i = 0; i < sizeof(app_ports) / sizeof(*app_ports); i++) {
		int t = port_ids_idx(app_ports[i].ipproto);

		for (uint32_t p = app_ports[i].lo;
		     t >= 0 && p <= app_ports[i].hi; p++)
			port_ids[t][p] = app_ports[i].id;
	}
}

static unsigned int port_app(uint8_t ipproto, uint16_t port)
{
	int t = port_ids_idx(ipproto);

	return t < 0 ? APP_NONE : port_ids[t][port];
}

unsigned int app_port_guess(uint8_t ipproto, uint16_t aport, uint16_t bport)
{
	unsigned int a = port_app(ipproto, aport), b = port_app(ipproto, bport);

	if (a && b)
		return aport < bport ? a : b;
	return a ? a : b;
}
