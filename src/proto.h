/*
 * proto.h - the daemon protocol (doc/PROTOCOL): versioned, length-prefixed
 * binary messages over a unix stream socket, and the capstats command
 * lines a client sends in them.
 *
 * Every message is an 8-byte header and a payload:
 *
 *	0      4        5     6          8
 *	+------+--------+-----+----------+------------------+
 *	| len  | version| type| reserved | payload (len)    |
 *	+------+--------+-----+----------+------------------+
 *	len: payload bytes, big-endian; version: PROTO_VERSION; reserved: 0
 *
 * Integers in payloads are big-endian; strings are a 16-bit big-endian
 * length and that many bytes (no NUL). Sizes are bounded: a client's
 * message at most PROTO_CMD_MAX bytes, the daemon's at most PROTO_MSG_MAX.
 *
 * Pure: no I/O, no allocation but the reader's own buffer. Any thread;
 * one object per thread.
 */
#ifndef PKTSTAT_PROTO_H
#define PKTSTAT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "flowtab.h"

#define PROTO_VERSION 1
#define PROTO_HDR_LEN 8
#define PROTO_CMD_MAX 4096	 /* payload of a client's message */
#define PROTO_MSG_MAX (1u << 20) /* payload of a daemon's message */
#define PROTO_FLOW_LEN 96	 /* one flow record in PROTO_FLOWS */
#define PROTO_WATCH_MAX 86400	 /* watch ... frequency SECONDS, at most */

enum proto_type {
	PROTO_HELLO = 1,     /* C: empty; D: PROTO_INFO payload */
	PROTO_CMD = 2,	     /* C: one command line (text) */
	PROTO_REPLY = 3,     /* D: i32 status (0 or -errno), then text */
	PROTO_COUNTER = 4,   /* D: one session's counts (see doc) */
	PROTO_SUBSCRIBE = 5, /* C: u32 refresh in ms: the monitor stream */
	PROTO_FLOWS = 6,     /* D: u32 n, n flow records (changed flows) */
	PROTO_GONE = 7,	     /* D: u32 n, n u64 flow ids (removed flows) */
	PROTO_TOTALS = 8,    /* D: the totals, closing one refresh */
	PROTO_BYE = 9,	     /* D: text: why the daemon closes */
	PROTO_TYPE_MAX = PROTO_BYE
};

struct proto_hdr {
	uint32_t len;
	uint8_t version;
	uint8_t type;
};

/* Write a header for @type with @len payload bytes at @out (8 bytes). */
void proto_put_hdr(uint8_t *out, uint8_t type, uint32_t len);

/*
 * proto_check_hdr - decode and validate the 8 bytes at @in: version,
 * type (1..PROTO_TYPE_MAX), reserved bytes 0, len <= @max. Returns 0, or
 * -EPROTO / -EMSGSIZE with one line in @err ("message of 1048576 bytes,
 * at most 4096").
 */
int proto_check_hdr(const uint8_t *in, size_t max, struct proto_hdr *h,
		    char *err, size_t errlen);

/*
 * A reader: bytes arrive in any pieces; whole messages come out. Holds at
 * most PROTO_HDR_LEN + max bytes.
 */
struct proto_reader {
	uint8_t *buf;
	size_t len, cap, max;
	size_t used; /* bytes of the message handed out last */
};

/* 0 or -ENOMEM. @max: the payload size accepted (PROTO_CMD_MAX...). */
int proto_reader_init(struct proto_reader *r, size_t max);
void proto_reader_free(struct proto_reader *r);

/*
 * proto_reader_feed - append @n bytes at @data (at most what
 * proto_reader_room says). 0, or -ENOBUFS when they do not fit.
 */
int proto_reader_feed(struct proto_reader *r, const uint8_t *data, size_t n);

/* How many bytes the reader can take now. */
size_t proto_reader_room(const struct proto_reader *r);

/*
 * proto_reader_next - the next whole message: 1 with *@h and *@payload
 * (valid until the next call on @r), 0 when more bytes are needed, or
 * -EPROTO / -EMSGSIZE with a line in @err (a bad header: the stream
 * cannot be resynchronised, the caller closes it).
 */
int proto_reader_next(struct proto_reader *r, struct proto_hdr *h,
		      const uint8_t **payload, char *err, size_t errlen);

/* Whether part of a message is waiting (a half message). */
int proto_reader_partial(const struct proto_reader *r);

/* The capstats verbs. */
enum proto_verb {
	PROTO_VERB_NEW,
	PROTO_VERB_MODIFY,
	PROTO_VERB_STOP,
	PROTO_VERB_LIST,
	PROTO_VERB_SHOW,
	PROTO_VERB_POLL,
	PROTO_VERB_WATCH,
};

struct proto_cmd {
	enum proto_verb verb;
	char name[64];	   /* COUNTERS_NAME_MAX; "" for list */
	char expr[1024];   /* COUNTERS_EXPR_MAX; new and modify */
	unsigned int freq; /* watch: seconds, 1..PROTO_WATCH_MAX */
};

/*
 * proto_cmd_parse - parse one command line of @len bytes (not
 * NUL-terminated, any bytes): "new NAME filter EXPR" (or "new NAME
 * EXPR"), "modify NAME EXPR" (or "modify NAME filter EXPR"), "stop NAME",
 * "list", "show NAME", "poll NAME", "watch NAME frequency SECONDS". Verbs
 * are case-insensitive; names follow the named counters' rule
 * (counters_valid_name); an expression is printable ASCII, at most
 * COUNTERS_EXPR_MAX - 1 bytes. 0, or -EINVAL with one line in @err.
 */
int proto_cmd_parse(const char *line, size_t len, struct proto_cmd *cmd,
		    char *err, size_t errlen);

/* "new", "modify", ... */
const char *proto_verb_name(enum proto_verb v);

/*
 * Payload builders and readers. A writer appends to a caller buffer
 * (struct proto_buf, growing up to its max); a reader walks a payload
 * and fails (returns -EPROTO) on any short or inconsistent field.
 */
struct proto_buf {
	uint8_t *p;
	size_t len, cap;
	int oom; /* an append failed: the message is incomplete */
};

void proto_buf_u8(struct proto_buf *b, uint8_t v);
void proto_buf_u16(struct proto_buf *b, uint16_t v);
void proto_buf_u32(struct proto_buf *b, uint32_t v);
void proto_buf_u64(struct proto_buf *b, uint64_t v);
void proto_buf_str(struct proto_buf *b, const char *s); /* cut at 65535 */
void proto_buf_bytes(struct proto_buf *b, const void *p, size_t n);
void proto_buf_free(struct proto_buf *b);

/* Start a message: the header, to be finished by proto_buf_end. */
size_t proto_buf_begin(struct proto_buf *b, uint8_t type);
void proto_buf_end(struct proto_buf *b, size_t start);

/* One flow record (PROTO_FLOW_LEN bytes). */
void proto_buf_flow(struct proto_buf *b, const struct flowtab_row *r);

struct proto_in {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

uint8_t proto_in_u8(struct proto_in *in);
uint16_t proto_in_u16(struct proto_in *in);
uint32_t proto_in_u32(struct proto_in *in);
uint64_t proto_in_u64(struct proto_in *in);
/* A string into @out (NUL-terminated, cut to @outlen - 1; control bytes
 * become '?'). */
void proto_in_str(struct proto_in *in, char *out, size_t outlen);
void proto_in_flow(struct proto_in *in, struct flowtab_row *r);

#endif
