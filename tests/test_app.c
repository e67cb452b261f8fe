/*
 * test_app.c - the app sniffers: each protocol's first bytes give its
 * label and detail; near misses and truncations give nothing; the flow
 * table runs them for a flow's first packets only and keeps the detail.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "app.h"
#include "flowtab.h"

/* A TLS 1.3 ClientHello for "example.test" (Python's ssl module). */
static const uint8_t client_hello[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0xd9,
	0x79, 0xb9, 0xb6, 0xbe, 0xe7, 0x19, 0xf9, 0x56, 0x05, 0x6d, 0x48, 0xcb,
	0x9f, 0xb2, 0x9b, 0x57, 0xd6, 0x5a, 0x8c, 0x72, 0xfc, 0xf3, 0x46, 0x4f,
	0x25, 0x36, 0x31, 0x0d, 0x9e, 0x31, 0x2b, 0x20, 0x0c, 0x5b, 0x98, 0xa9,
	0x5e, 0x68, 0xee, 0xf8, 0x22, 0x84, 0xe3, 0x81, 0x0f, 0xb4, 0x26, 0x4b,
	0x9e, 0x68, 0x1f, 0x22, 0x49, 0x72, 0x36, 0xf2, 0x62, 0x40, 0x0e, 0x13,
	0x41, 0x92, 0x5b, 0x89, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x01, 0x75,
	0x00, 0x00, 0x00, 0x11, 0x00, 0x0f, 0x00, 0x00, 0x0c, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x00, 0x0b, 0x00,
	0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00,
	0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01,
	0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00,
	0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00,
	0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08,
	0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04,
	0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04,
	0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04,
	0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,
	0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x72, 0xfc,
	0x62, 0xde, 0xc8, 0xae, 0x90, 0x0f, 0x9f, 0x94, 0x7a, 0x83, 0x43, 0x69,
	0x5f, 0xdb, 0x44, 0xff, 0x5f, 0x4f, 0x3c, 0xd7, 0x3a, 0x7b, 0x20, 0x57,
	0x00, 0xbd, 0x84, 0x6d, 0xbd, 0x62, 0x00, 0x15, 0x00, 0xc3, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00
};
static const size_t client_hello_len = 517;

static int sniff(uint8_t proto, uint16_t sport, uint16_t dport, const void *p,
		 size_t len, struct app_guess *g)
{
	struct app_pkt pkt = { p, (uint32_t)len, proto, sport, dport };

	return app_sniff(&pkt, APP_NONE, "", g);
}

static int sniff_s(uint8_t proto, uint16_t dport, const char *s,
		   struct app_guess *g)
{
	return sniff(proto, 40000, dport, s, strlen(s), g);
}

Test(app, http_request_gives_method_path_and_host)
{
	struct app_guess g;

	cr_assert(sniff_s(IPPROTO_TCP, 8000,
			  "GET /big.bin HTTP/1.1\r\nUser-Agent: x\r\n"
			  "HoSt: example.com\r\n\r\n",
			  &g));
	cr_assert_eq(g.id, APP_HTTP);
	cr_assert_str_eq(g.detail, "GET /big.bin host=example.com");
	cr_assert_eq(g.done, 0, "the response is still to come");
}

Test(app, http_response_adds_its_status)
{
	const char *resp = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n";
	struct app_pkt pkt = { (const uint8_t *)resp, (uint32_t)strlen(resp),
			       IPPROTO_TCP, 8000, 40000 };
	struct app_guess g;

	cr_assert(app_sniff(&pkt, APP_HTTP, "GET /big.bin", &g));
	cr_assert_str_eq(g.detail, "200 GET /big.bin");
	cr_assert(g.done);
}

Test(app, not_http_without_a_version)
{
	struct app_guess g;

	cr_assert_not(sniff_s(IPPROTO_TCP, 80, "GET /x\r\n", &g));
	cr_assert_not(sniff_s(IPPROTO_TCP, 80, "GETS /x HTTP/1.1\r\n", &g));
}

Test(app, tls_client_hello_gives_version_and_sni)
{
	struct app_guess g;

	cr_assert(sniff(IPPROTO_TCP, 40000, 4433, client_hello,
			client_hello_len, &g));
	cr_assert_eq(g.id, APP_TLS);
	cr_assert_str_eq(g.detail, "TLSv1.3 sni=example.test");
}

Test(app, tls_every_truncation_is_safe_and_still_tls)
{
	struct app_guess g;

	for (size_t n = 0; n < client_hello_len; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* ASan sees overreads */
		int hit;

		memcpy(copy, client_hello, n);
		hit = sniff(IPPROTO_TCP, 40000, 4433, copy, n, &g);
		free(copy);
		cr_assert_eq(hit, n >= 5, "%zu bytes", n);
		if (hit)
			cr_assert_eq(g.id, APP_TLS);
	}
}

Test(app, quic_long_header_gives_version)
{
	uint8_t p[32] = { 0xc3, 0, 0, 0, 1, 8 };
	struct app_guess g;

	p[14] = 0; /* scid length */
	cr_assert(sniff(IPPROTO_UDP, 50000, 443, p, sizeof(p), &g));
	cr_assert_eq(g.id, APP_QUIC);
	cr_assert_str_eq(g.detail, "QUICv1");
	p[4] = 7; /* unknown version */
	cr_assert_not(sniff(IPPROTO_UDP, 50000, 443, p, sizeof(p), &g));
}

Test(app, ssh_banner)
{
	struct app_guess g;

	cr_assert(sniff_s(IPPROTO_TCP, 2222, "SSH-2.0-OpenSSH_9.2p1 Debian\r\n",
			  &g));
	cr_assert_eq(g.id, APP_SSH);
	cr_assert_str_eq(g.detail, "SSH-2.0-OpenSSH_9.2p1 Debian");
}

Test(app, dns_query_name_and_type)
{
	static const uint8_t q[] = { 0x12, 0x34, 1,   0,   0,	1,   0,
				     0,	   0,	 0,   0,   0,	3,   'w',
				     'w',  'w',	 7,   'e', 'x', 'a', 'm',
				     'p',  'l',	 'e', 3,   'c', 'o', 'm',
				     0,	   0,	 28,  0,   1 };
	struct app_guess g;

	cr_assert(sniff(IPPROTO_UDP, 40000, 53, q, sizeof(q), &g));
	cr_assert_eq(g.id, APP_DNS);
	cr_assert_str_eq(g.detail, "AAAA www.example.com");
	/* off the DNS ports: a plain query is, a reply or a query with
	 * bytes after its question is not (tshark's heuristic agrees) */
	cr_assert(sniff(IPPROTO_UDP, 40000, 8053, q, sizeof(q), &g));
	cr_assert_eq(g.id, APP_DNS);
	{
		uint8_t r[sizeof(q) + 1];

		memcpy(r, q, sizeof(q));
		r[sizeof(q)] = 0;
		cr_assert_not(
			sniff(IPPROTO_UDP, 40000, 8053, r, sizeof(r), &g) &&
			g.id == APP_DNS);
		r[2] |= 0x80;
		cr_assert_not(
			sniff(IPPROTO_UDP, 8053, 40000, r, sizeof(q), &g) &&
			g.id == APP_DNS);
	}
	/* a label running past the end */
	cr_assert_not(sniff(IPPROTO_UDP, 40000, 53, q, 20, &g));
}

Test(app, rdp_cookie)
{
	const char x224[] = "\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00"
			    "Cookie: mstshash=alice\r\n\x01\x00\x08\x00"
			    "\x03\x00\x00\x00";
	struct app_guess g;

	cr_assert(sniff(IPPROTO_TCP, 40000, 3389, x224, sizeof(x224) - 1, &g));
	cr_assert_eq(g.id, APP_RDP);
	cr_assert_str_eq(g.detail, "mstshash=alice");
}

Test(app, postgresql_startup_user_and_database)
{
	static const char m[] = "\0\0\0\x29\0\x03\0\0user\0bob\0database\0"
				"shop\0client_encoding\0";
	static const char ssl[] = "\0\0\0\x08\x04\xd2\x16\x2f";
	struct app_guess g;

	cr_assert(sniff(IPPROTO_TCP, 40000, 5433, m, sizeof(m) - 1, &g));
	cr_assert_eq(g.id, APP_PGSQL);
	cr_assert_str_eq(g.detail, "user=bob database=shop");
	cr_assert(sniff(IPPROTO_TCP, 40000, 5433, ssl, 8, &g));
	cr_assert_str_eq(g.detail, "SSLRequest");
}

Test(app, mqtt_connect)
{
	static const uint8_t c[] = { 0x10, 17, 0, 4, 'M', 'Q', 'T', 'T', 4,  2,
				     0,	   60, 0, 5, 's', 'e', 'n', 's', 'r' };
	struct app_guess g;

	cr_assert(sniff(IPPROTO_TCP, 40000, 1884, c, sizeof(c), &g));
	cr_assert_eq(g.id, APP_MQTT);
	cr_assert_str_eq(g.detail, "v3.1.1 client=sensr");
}

Test(app, wireguard_by_type_and_size)
{
	uint8_t m[148] = { 1 };
	struct app_guess g;

	cr_assert(sniff(IPPROTO_UDP, 40000, 51821, m, 148, &g));
	cr_assert_eq(g.id, APP_WIREGUARD);
	cr_assert_str_eq(g.detail, "handshake-initiation");
	cr_assert_not(sniff(IPPROTO_UDP, 40000, 51821, m, 147, &g));
}

Test(app, memcached_text_and_binary)
{
	uint8_t bin[24] = { 0x80, 0x00 };
	struct app_guess g;

	cr_assert(sniff_s(IPPROTO_TCP, 11212, "get user:42\r\n", &g));
	cr_assert_eq(g.id, APP_MEMCACHED);
	cr_assert_str_eq(g.detail, "get user:42");
	cr_assert(sniff(IPPROTO_TCP, 40000, 11212, bin, sizeof(bin), &g));
	cr_assert_str_eq(g.detail, "binary request");
	cr_assert_not(sniff_s(IPPROTO_TCP, 11212, "get user:42", &g));
	/* Redis's inline protocol on its port is not memcached */
	cr_assert_not(sniff_s(IPPROTO_TCP, 6379, "get user:42\r\n", &g));
}

Test(app, ftp_smtp_and_x11)
{
	static const uint8_t x11[] = { 'l', 0,	 11,  0,   0,	0,   18,  0,
				       16,  0,	 0,   0,   'M', 'I', 'T', '-',
				       'M', 'A', 'G', 'I', 'C', '-', 'C', 'O',
				       'O', 'K', 'I', 'E', '-', '1' };
	struct app_guess g;

	cr_assert(sniff_s(IPPROTO_TCP, 2100, "220 (vsFTPd 3.0.3)\r\n", &g));
	cr_assert_eq(g.id, APP_FTP);
	cr_assert(sniff_s(IPPROTO_TCP, 2100, "USER anonymous\r\n", &g));
	cr_assert_eq(g.id, APP_FTP);
	cr_assert_str_eq(g.detail, "USER anonymous");
	cr_assert(sniff_s(IPPROTO_TCP, 2100, "PASS secret\r\n", &g));
	cr_assert_str_eq(g.detail, "PASS", "never the password");
	cr_assert(sniff_s(IPPROTO_TCP, 2525, "220 mx.example ESMTP\r\n", &g));
	cr_assert_eq(g.id, APP_SMTP);
	cr_assert(sniff_s(IPPROTO_TCP, 2525, "EHLO client.example\r\n", &g));
	cr_assert_eq(g.id, APP_SMTP);
	cr_assert_str_eq(g.detail, "EHLO client.example");
	cr_assert(sniff(IPPROTO_TCP, 40000, 6001, x11, sizeof(x11), &g));
	cr_assert_eq(g.id, APP_X11);
	cr_assert_str_eq(g.detail, "X11.0 auth=MIT-MAGIC-COOKIE-1");
}

Test(app, a_label_is_not_replaced_by_another_protocol)
{
	struct app_pkt pkt = { client_hello, (uint32_t)client_hello_len,
			       IPPROTO_TCP, 40000, 5432 };
	struct app_guess g;

	/* PostgreSQL's SSLRequest, then TLS: still PostgreSQL, done */
	cr_assert_not(app_sniff(&pkt, APP_PGSQL, "SSLRequest", &g));
	cr_assert(g.done);
}

Test(app, detail_text_is_printable)
{
	struct app_guess g;

	cr_assert(sniff_s(IPPROTO_TCP, 80,
			  "GET /a\"b\\c\x7f HTTP/1.1\r\nHost: \x1b[2J\r\n\r\n",
			  &g));
	for (const char *p = g.detail; *p; p++)
		cr_assert(*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\',
			  "byte %#x", *p);
}

Test(app, port_guess_and_names)
{
	cr_assert_eq(app_port_guess(IPPROTO_TCP, 51000, 443), APP_TLS);
	cr_assert_eq(app_port_guess(IPPROTO_UDP, 443, 51000), APP_QUIC);
	cr_assert_eq(app_port_guess(IPPROTO_TCP, 6010, 40000), APP_X11);
	cr_assert_eq(app_port_guess(IPPROTO_UDP, 40000, 40001), APP_NONE);
	cr_assert_str_eq(app_name(APP_PGSQL), "postgresql");
	cr_assert_eq(app_by_name("WireGuard"), APP_WIREGUARD);
	cr_assert_eq(app_by_name("nope"), -1);
	cr_assert_str_eq(app_name(999), "");
}

/* Every port of TCP, UDP and one other protocol against the documented
 * well-known ports, so a reordered or mis-bisected table shows. */
Test(app, port_guess_every_port)
{
	static const struct {
		uint8_t ipproto;
		uint16_t lo, hi;
		unsigned int id;
	} want[] = {
		{ IPPROTO_TCP, 21, 21, APP_FTP },
		{ IPPROTO_TCP, 22, 22, APP_SSH },
		{ IPPROTO_TCP, 25, 25, APP_SMTP },
		{ IPPROTO_TCP, 53, 53, APP_DNS },
		{ IPPROTO_TCP, 80, 80, APP_HTTP },
		{ IPPROTO_TCP, 443, 443, APP_TLS },
		{ IPPROTO_TCP, 587, 587, APP_SMTP },
		{ IPPROTO_TCP, 1883, 1883, APP_MQTT },
		{ IPPROTO_TCP, 3389, 3389, APP_RDP },
		{ IPPROTO_TCP, 5432, 5432, APP_PGSQL },
		{ IPPROTO_TCP, 6000, 6063, APP_X11 },
		{ IPPROTO_TCP, 8080, 8080, APP_HTTP },
		{ IPPROTO_TCP, 8443, 8443, APP_TLS },
		{ IPPROTO_TCP, 11211, 11211, APP_MEMCACHED },
		{ IPPROTO_UDP, 53, 53, APP_DNS },
		{ IPPROTO_UDP, 443, 443, APP_QUIC },
		{ IPPROTO_UDP, 5353, 5353, APP_DNS },
		{ IPPROTO_UDP, 11211, 11211, APP_MEMCACHED },
		{ IPPROTO_UDP, 51820, 51820, APP_WIREGUARD },
	};
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_SCTP };
	unsigned int hits = 0;

	for (size_t p = 0; p < sizeof(protos); p++) {
		for (unsigned int port = 0; port <= 65535; port++) {
			unsigned int id = APP_NONE;

			for (size_t i = 0; i < sizeof(want) / sizeof(*want);
			     i++)
				if (want[i].ipproto == protos[p] &&
				    port >= want[i].lo && port <= want[i].hi)
					id = want[i].id;
			cr_assert_eq(app_port_guess(protos[p], (uint16_t)port,
						    (uint16_t)port),
				     id, "proto %u port %u", protos[p], port);
			hits += id != APP_NONE;
		}
	}
	cr_assert_eq(hits, 82);
}

/* The JSON report writes app names unescaped: they must stay identifiers. */
Test(app, names_are_identifiers)
{
	unsigned int named = 0;

	for (unsigned int id = 1; id < 256; id++) {
		const char *n = app_name(id);

		if (!*n)
			continue;
		named++;
		for (const char *p = n; *p; p++)
			cr_assert((*p >= 'a' && *p <= 'z') ||
					  (*p >= '0' && *p <= '9'),
				  "app %u name \"%s\"", id, n);
	}
	cr_assert_geq(named, 13);
}

Test(app, payload_of_a_decoded_frame)
{
	/* Ethernet + IPv4 (total 44) + TCP (doff 5) + 4 bytes + 6 padding */
	uint8_t f[64] = { 0 };
	struct dec_pkt d;
	uint32_t off, len;

	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 44;
	f[23] = 6;
	f[14 + 20 + 12] = 0x50;
	memcpy(f + 54, "SSH-", 4);
	cr_assert_eq(decode_frame(1, f, 64, -1, &d), 0);
	cr_assert(app_l4_known(&d));
	cr_assert_eq(app_l4_payload(f, app_frame_end(&d, 64), d.l4_off,
				    d.ipproto, &off, &len),
		     0);
	cr_assert_eq(off, 54);
	cr_assert_eq(len, 4, "Ethernet padding excluded");
	f[14 + 20 + 12] = 0xf0; /* header past the frame */
	cr_assert_eq(app_l4_payload(f, app_frame_end(&d, 64), d.l4_off,
				    d.ipproto, &off, &len),
		     -1);
}

/* The flow_table tests' set-up: a registered thread, a small table, an
 * empty batch and a TCP key from port 40000 (each test sets B's port). */
static struct flowtab *ft;
static struct flowtab_batch b;
static struct flow_key k;
static struct flowtab_row *rows;
static size_t rows_cap;

static void table_setup(void)
{
	char err[128];

	rcu_register_thread();
	ft = flowtab_new(16, err, sizeof(err));
	cr_assert(ft, "%s", err);
	memset(&b, 0, sizeof(b));
	memset(&k, 0, sizeof(k));
	k.kind = KIND_TCP4;
	k.ipproto = IPPROTO_TCP;
	k.aport = 40000;
	rows = NULL;
	rows_cap = 0;
}

static void table_teardown(void)
{
	free(rows);
	flowtab_free(ft);
	rcu_unregister_thread();
}

/* One packet of @pl in direction @dir of the key, accounted at once. */
static void account(int dir, const char *pl)
{
	rcu_read_lock();
	uint8_t frame[20 + 256] = { [12] = 0x50 }; /* a bare TCP header */
	size_t n = strlen(pl);

	cr_assert_leq(n, sizeof(frame) - 20);
	memcpy(frame + 20, pl, n);
	flowtab_batch_add(ft, &b, &k, dir, 100, 1);
	flowtab_batch_payload(&b, frame, (uint32_t)(20 + n), 0, IPPROTO_TCP);
	flowtab_batch_flush(ft, &b);
	rcu_read_unlock();
}

Test(app, flow_table_keeps_label_and_detail, .init = table_setup,
     .fini = table_teardown)
{
	char det[APP_DETAIL_MAX];

	k.bport = 8000;
	account(FLOW_DIR_AB, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	account(FLOW_DIR_BA, "HTTP/1.1 404 Not Found\r\n\r\n");
	cr_assert_eq(flowtab_collect(ft, &rows, &rows_cap), 1);
	cr_assert_eq(APP_WORD_ID(rows[0].app), APP_HTTP);
	cr_assert(rows[0].app & APP_WORD_DONE);
	cr_assert_gt(flowtab_app_detail(ft, &rows[0], det, sizeof(det)), 0);
	cr_assert_str_eq(det, "404 GET / host=h");
	/* a row whose id is not the owner's gets nothing */
	rows[0].id++;
	cr_assert_eq(flowtab_app_detail(ft, &rows[0], det, sizeof(det)), 0);
}

Test(app, flow_table_stops_looking_after_the_first_packets, .init = table_setup,
     .fini = table_teardown)
{
	k.bport = 22;
	for (int i = 0; i < APP_INSPECT_PKTS; i++)
		account(FLOW_DIR_AB, "xxxx");
	account(FLOW_DIR_AB, "SSH-2.0-late\r\n");
	cr_assert_eq(flowtab_collect(ft, &rows, &rows_cap), 1);
	cr_assert_eq(APP_WORD_ID(rows[0].app), APP_NONE,
		     "packet %d is not inspected", APP_INSPECT_PKTS + 1);
}
