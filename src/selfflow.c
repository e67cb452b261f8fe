/*
 * selfflow.c - the user's own SSH session as a flow (see selfflow.h).
 */
#include "selfflow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One address into @out (16 bytes, IPv4 in the first 4); its family. */
static int parse_addr(const char *s, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };
	uint8_t a6[16];

	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, a6) != 1)
		return 0;
	if (!memcmp(a6, mapped, sizeof(mapped))) {
		memcpy(out, a6 + 12, 4);
		return 4;
	}
	memcpy(out, a6, 16);
	return 6;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || !v || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int selfflow_parse(struct selfflow *sf, const char *v)
{
	char f[4][64];
	int fam_c, fam_s;

	memset(sf, 0, sizeof(*sf));
	if (!v || sscanf(v, "%63s %63s %63s %63s", f[0], f[1], f[2], f[3]) != 4)
		return -EINVAL;
	fam_c = parse_addr(f[0], sf->client);
	fam_s = parse_addr(f[2], sf->server);
	if (!fam_c || fam_c != fam_s || parse_port(f[1], &sf->client_port) ||
	    parse_port(f[3], &sf->server_port)) {
		memset(sf, 0, sizeof(*sf));
		return -EINVAL;
	}
	sf->family = fam_c;
	sf->known = 1;
	return 0;
}

static int side_is(const struct flow_key *k, int side, const uint8_t *addr,
		   uint16_t port, int len)
{
	return !memcmp(side ? k->b : k->a, addr, (size_t)len) &&
	       (side ? k->bport : k->aport) == port;
}

int selfflow_match(const struct selfflow *sf, const struct flow_key *k)
{
	int len;

	if (!sf->known)
		return 0;
	if (!(sf->family == 4 ? k->kind == KIND_TCP4 : k->kind == KIND_TCP6))
		return 0;
	len = sf->family == 4 ? 4 : 16;
	return (side_is(k, 0, sf->client, sf->client_port, len) &&
		side_is(k, 1, sf->server, sf->server_port, len)) ||
	       (side_is(k, 1, sf->client, sf->client_port, len) &&
		side_is(k, 0, sf->server, sf->server_port, len));
}
