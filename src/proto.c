/*
 * proto.c - the daemon protocol's framing, payload fields and the
 * capstats command parser (doc/PROTOCOL).
 *
 * Owns nothing but a reader's buffer. Pure and single-threaded per
 * object: the daemon and the client each keep their own readers. The
 * command parser is a libFuzzer target (fuzz/fuzz_proto.c).
 */
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "counters.h"

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void proto_put_hdr(uint8_t *out, uint8_t type, uint32_t len)
{
	put_be32(out, len);
	out[4] = PROTO_VERSION;
	out[5] = type;
	out[6] = out[7] = 0;
}

int proto_check_hdr(const uint8_t *in, size_t max, struct proto_hdr *h,
		    char *err, size_t errlen)
{
	h->len = get_be32(in);
	h->version = in[4];
	h->type = in[5];
	if (h->version != PROTO_VERSION) {
		snprintf(err, errlen, "protocol version %u, expected %u",
			 h->version, PROTO_VERSION);
		return -EPROTO;
	}
	if (h->type < 1 || h->type > PROTO_TYPE_MAX || in[6] || in[7]) {
		snprintf(err, errlen, "bad message header (type %u)", h->type);
		return -EPROTO;
	}
	if (h->len > max) {
		snprintf(err, errlen, "message of %lu bytes, at most %lu",
			 (unsigned long)h->len, (unsigned long)max);
		return -EMSGSIZE;
	}
	return 0;
}

int proto_reader_init(struct proto_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
	r->cap = 4096 < PROTO_HDR_LEN + max ? 4096 : PROTO_HDR_LEN + max;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -ENOMEM;
}

void proto_reader_free(struct proto_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

size_t proto_reader_room(const struct proto_reader *r)
{
	return PROTO_HDR_LEN + r->max - (r->len - r->used);
}

int proto_reader_feed(struct proto_reader *r, const uint8_t *data, size_t n)
{
	if (n > proto_reader_room(r))
		return -ENOBUFS;
	if (r->used) {
		memmove(r->buf, r->buf + r->used, r->len - r->used);
		r->len -= r->used;
		r->used = 0;
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap * 2;
		uint8_t *nb;

		while (cap < r->len + n)
			cap *= 2;
		if (cap > PROTO_HDR_LEN + r->max)
			cap = PROTO_HDR_LEN + r->max;
		nb = realloc(r->buf, cap);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return 0;
}

int proto_reader_next(struct proto_reader *r, struct proto_hdr *h,
		      const uint8_t **payload, char *err, size_t errlen)
{
	int rc;

	/* Drop the message handed out last time, then look at the next. */
	if (r->used) {
		memmove(r->buf, r->buf + r->used, r->len - r->used);
		r->len -= r->used;
		r->used = 0;
	}
	if (r->len < PROTO_HDR_LEN)
		return 0;
	rc = proto_check_hdr(r->buf, r->max, h, err, errlen);
	if (rc)
		return rc;
	if (r->len < PROTO_HDR_LEN + h->len)
		return 0;
	*payload = r->buf + PROTO_HDR_LEN;
	r->used = PROTO_HDR_LEN + h->len;
	return 1;
}

int proto_reader_partial(const struct proto_reader *r)
{
	return r->len > r->used;
}

/* ---- commands ---------------------------------------------------------- */

static const char *const verb_names[] = {
	[PROTO_VERB_NEW] = "new",     [PROTO_VERB_MODIFY] = "modify",
	[PROTO_VERB_STOP] = "stop",   [PROTO_VERB_LIST] = "list",
	[PROTO_VERB_SHOW] = "show",   [PROTO_VERB_POLL] = "poll",
	[PROTO_VERB_WATCH] = "watch",
};

#define N_VERBS (sizeof(verb_names) / sizeof(verb_names[0]))

const char *proto_verb_name(enum proto_verb v)
{
	return (size_t)v < N_VERBS ? verb_names[v] : "?";
}

#define USAGE                                                           \
	"new NAME filter EXPR | modify NAME EXPR | stop NAME | list | " \
	"show NAME | poll NAME | watch NAME frequency SECONDS"

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next word of @s (@n bytes from *@off): its start and length. */
static size_t next_word(const char *s, size_t n, size_t *off, const char **word)
{
	size_t i = *off, start;

	while (i < n && blank(s[i]))
		i++;
	start = i;
	while (i < n && !blank(s[i]))
		i++;
	*off = i;
	*word = s + start;
	return i - start;
}

static int word_is(const char *w, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp(w, lit, n) == 0;
}

static int usage(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "usage: %s", what);
	return -EINVAL;
}

int proto_cmd_parse(const char *line, size_t len, struct proto_cmd *cmd,
		    char *err, size_t errlen)
{
	const char *w, *rest;
	size_t off = 0, n, i, rn;
	int v = -1;

	memset(cmd, 0, sizeof(*cmd));
	/* a trailing newline is allowed, nothing else outside printable
	 * ASCII and tabs */
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
		       blank(line[len - 1])))
		len--;
	for (i = 0; i < len; i++)
		if ((line[i] < 0x20 && line[i] != '\t') ||
		    (unsigned char)line[i] >= 0x7f) {
			snprintf(err, errlen,
				 "command: byte 0x%02x at %lu is not text",
				 (unsigned char)line[i], (unsigned long)i);
			return -EINVAL;
		}
	n = next_word(line, len, &off, &w);
	for (size_t k = 0; k < N_VERBS; k++)
		if (word_is(w, n, verb_names[k]))
			v = (int)k;
	if (v < 0) {
		snprintf(err, errlen, "unknown command '%.*s': %s",
			 (int)(n > 32 ? 32 : n), w, USAGE);
		return -EINVAL;
	}
	cmd->verb = (enum proto_verb)v;
	n = next_word(line, len, &off, &w);
	if (cmd->verb == PROTO_VERB_LIST) {
		if (n)
			return usage(err, errlen, "list");
		return 0;
	}
	if (!n) {
		switch (cmd->verb) {
		case PROTO_VERB_NEW:
			return usage(err, errlen, "new NAME filter EXPR");
		case PROTO_VERB_MODIFY:
			return usage(err, errlen, "modify NAME EXPR");
		case PROTO_VERB_WATCH:
			return usage(err, errlen,
				     "watch NAME frequency SECONDS");
		default:
			snprintf(err, errlen, "usage: %s NAME",
				 verb_names[cmd->verb]);
			return -EINVAL;
		}
	}
	if (n >= sizeof(cmd->name)) {
		snprintf(err, errlen, "session name longer than %d",
			 (int)sizeof(cmd->name) - 1);
		return -EINVAL;
	}
	memcpy(cmd->name, w, n);
	cmd->name[n] = 0;
	if (!counters_valid_name(cmd->name)) {
		snprintf(err, errlen,
			 "session '%s': name must be 1-%d letters, digits or "
			 "_ - . :",
			 cmd->name, COUNTERS_NAME_MAX - 1);
		return -EINVAL;
	}
	switch (cmd->verb) {
	case PROTO_VERB_NEW:
	case PROTO_VERB_MODIFY: {
		size_t save = off;

		/* the optional keyword "filter" (capstats' own syntax has
		 * none; pktstat's documented one has it) */
		n = next_word(line, len, &off, &w);
		if (!word_is(w, n, "filter"))
			off = save;
		while (off < len && blank(line[off]))
			off++;
		rest = line + off;
		rn = len - off;
		if (rn >= sizeof(cmd->expr)) {
			snprintf(err, errlen,
				 "session %s: filter longer than %d", cmd->name,
				 (int)sizeof(cmd->expr) - 1);
			return -EINVAL;
		}
		memcpy(cmd->expr, rest, rn);
		cmd->expr[rn] = 0;
		return 0;
	}
	case PROTO_VERB_WATCH: {
		char num[16];
		char *end;
		unsigned long f;

		n = next_word(line, len, &off, &w);
		if (!word_is(w, n, "frequency"))
			return usage(err, errlen,
				     "watch NAME frequency SECONDS");
		n = next_word(line, len, &off, &w);
		if (!n || n >= sizeof(num))
			return usage(err, errlen,
				     "watch NAME frequency SECONDS");
		memcpy(num, w, n);
		num[n] = 0;
		errno = 0;
		f = strtoul(num, &end, 10);
		if (*end || num[0] == '-' || num[0] == '+' || errno || f < 1 ||
		    f > PROTO_WATCH_MAX) {
			snprintf(err, errlen,
				 "watch: frequency '%s': expected 1-%d seconds",
				 num, PROTO_WATCH_MAX);
			return -EINVAL;
		}
		cmd->freq = (unsigned int)f;
		break;
	}
	default:
		break;
	}
	n = next_word(line, len, &off, &w);
	if (n) {
		snprintf(err, errlen, "%s: unexpected '%.*s'",
			 verb_names[cmd->verb], (int)(n > 32 ? 32 : n), w);
		return -EINVAL;
	}
	return 0;
}

/* ---- payload fields ---------------------------------------------------- */

static uint8_t *buf_room(struct proto_buf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return NULL;
		}
		b->p = np;
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

void proto_buf_bytes(struct proto_buf *b, const void *p, size_t n)
{
	uint8_t *d = buf_room(b, n);

	if (d && n)
		memcpy(d, p, n);
}

void proto_buf_u8(struct proto_buf *b, uint8_t v)
{
	proto_buf_bytes(b, &v, 1);
}

void proto_buf_u16(struct proto_buf *b, uint16_t v)
{
	uint8_t d[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	proto_buf_bytes(b, d, 2);
}

void proto_buf_u32(struct proto_buf *b, uint32_t v)
{
	uint8_t d[4];

	put_be32(d, v);
	proto_buf_bytes(b, d, 4);
}

void proto_buf_u64(struct proto_buf *b, uint64_t v)
{
	proto_buf_u32(b, (uint32_t)(v >> 32));
	proto_buf_u32(b, (uint32_t)v);
}

void proto_buf_str(struct proto_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n > 65535)
		n = 65535;
	proto_buf_u16(b, (uint16_t)n);
	proto_buf_bytes(b, s, n);
}

void proto_buf_free(struct proto_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

size_t proto_buf_begin(struct proto_buf *b, uint8_t type)
{
	uint8_t *h = buf_room(b, PROTO_HDR_LEN);

	if (h)
		proto_put_hdr(h, type, 0);
	return b->len - PROTO_HDR_LEN;
}

void proto_buf_end(struct proto_buf *b, size_t start)
{
	if (!b->oom)
		put_be32(b->p + start,
			 (uint32_t)(b->len - start - PROTO_HDR_LEN));
}

void proto_buf_flow(struct proto_buf *b, const struct flowtab_row *r)
{
	proto_buf_u64(b, r->id);
	proto_buf_u8(b, r->key.kind);
	proto_buf_u8(b, r->key.ipproto);
	proto_buf_u16(b, r->key.vlan);
	proto_buf_u16(b, r->key.aport);
	proto_buf_u16(b, r->key.bport);
	proto_buf_bytes(b, r->key.a, 16);
	proto_buf_bytes(b, r->key.b, 16);
	for (int d = 0; d < 2; d++) {
		proto_buf_u64(b, r->pkts[d]);
		proto_buf_u64(b, r->bytes[d]);
	}
	proto_buf_u64(b, r->first_ns);
	proto_buf_u64(b, r->last_ns);
}

static const uint8_t *in_take(struct proto_in *in, size_t n)
{
	if (in->bad || in->len - in->off < n) {
		in->bad = 1;
		return NULL;
	}
	in->off += n;
	return in->p + in->off - n;
}

uint8_t proto_in_u8(struct proto_in *in)
{
	const uint8_t *p = in_take(in, 1);

	return p ? p[0] : 0;
}

uint16_t proto_in_u16(struct proto_in *in)
{
	const uint8_t *p = in_take(in, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t proto_in_u32(struct proto_in *in)
{
	const uint8_t *p = in_take(in, 4);

	return p ? get_be32(p) : 0;
}

uint64_t proto_in_u64(struct proto_in *in)
{
	uint64_t hi = proto_in_u32(in);

	return hi << 32 | proto_in_u32(in);
}

void proto_in_str(struct proto_in *in, char *out, size_t outlen)
{
	size_t n = proto_in_u16(in), k;
	const uint8_t *p = in_take(in, n);

	if (!outlen)
		return;
	out[0] = 0;
	if (!p)
		return;
	k = n < outlen - 1 ? n : outlen - 1;
	for (size_t i = 0; i < k; i++)
		out[i] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
	out[k] = 0;
}

void proto_in_flow(struct proto_in *in, struct flowtab_row *r)
{
	const uint8_t *p;

	memset(r, 0, sizeof(*r));
	r->id = proto_in_u64(in);
	r->key.kind = proto_in_u8(in);
	r->key.ipproto = proto_in_u8(in);
	r->key.vlan = proto_in_u16(in);
	r->key.aport = proto_in_u16(in);
	r->key.bport = proto_in_u16(in);
	if ((p = in_take(in, 16)))
		memcpy(r->key.a, p, 16);
	if ((p = in_take(in, 16)))
		memcpy(r->key.b, p, 16);
	for (int d = 0; d < 2; d++) {
		r->pkts[d] = proto_in_u64(in);
		r->bytes[d] = proto_in_u64(in);
	}
	r->first_ns = proto_in_u64(in);
	r->last_ns = proto_in_u64(in);
}
