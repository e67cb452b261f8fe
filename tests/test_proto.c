/* test_proto.c - the daemon protocol: framing, fields, command lines. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "proto.h"

static char err[512];

static int parse(const char *line, struct proto_cmd *c)
{
	return proto_cmd_parse(line, strlen(line), c, err, sizeof(err));
}

Test(proto, new_with_and_without_the_filter_keyword)
{
	struct proto_cmd c;

	cr_assert_eq(parse("new web filter tcp port 80", &c), 0, "%s", err);
	cr_assert_eq(c.verb, PROTO_VERB_NEW);
	cr_assert_str_eq(c.name, "web");
	cr_assert_str_eq(c.expr, "tcp port 80");
	cr_assert_eq(parse("NEW dns udp port 53\n", &c), 0, "%s", err);
	cr_assert_str_eq(c.name, "dns");
	cr_assert_str_eq(c.expr, "udp port 53");
	cr_assert_eq(parse("modify web filter icmp", &c), 0, "%s", err);
	cr_assert_eq(c.verb, PROTO_VERB_MODIFY);
	cr_assert_str_eq(c.expr, "icmp");
	cr_assert_eq(parse("new all", &c), 0, "%s", err);
	cr_assert_str_eq(c.expr, "");
}

Test(proto, watch_needs_frequency_in_range)
{
	struct proto_cmd c;

	cr_assert_eq(parse("watch web frequency 5", &c), 0, "%s", err);
	cr_assert_eq(c.freq, 5);
	cr_assert_eq(parse("watch web 5", &c), -EINVAL);
	cr_assert(strstr(err, "frequency"), "%s", err);
	cr_assert_eq(parse("watch web frequency 0", &c), -EINVAL);
	cr_assert_eq(parse("watch web frequency 86401", &c), -EINVAL);
	cr_assert_eq(parse("watch web frequency -1", &c), -EINVAL);
	cr_assert_eq(parse("watch web frequency 1x", &c), -EINVAL);
	cr_assert_eq(parse("watch web frequency 1 more", &c), -EINVAL);
}

Test(proto, names_and_bytes_validated)
{
	struct proto_cmd c;
	char big[2000];

	cr_assert_eq(parse("show we/b", &c), -EINVAL);
	cr_assert(strstr(err, "name"), "%s", err);
	cr_assert_eq(parse("poll", &c), -EINVAL);
	cr_assert_eq(parse("list extra", &c), -EINVAL);
	cr_assert_eq(parse("stop a b", &c), -EINVAL);
	cr_assert_eq(parse("frobnicate x", &c), -EINVAL);
	cr_assert(strstr(err, "unknown command"), "%s", err);
	cr_assert_eq(proto_cmd_parse("new a\0b tcp", 11, &c, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "not text"), "%s", err);
	memset(big, 'a', sizeof(big));
	memcpy(big, "new x ", 6);
	big[sizeof(big) - 1] = 0;
	cr_assert_eq(parse(big, &c), -EINVAL);
	cr_assert(strstr(err, "longer than 1023"), "%s", err);
	cr_assert_eq(parse("list", &c), 0);
	cr_assert_eq(c.verb, PROTO_VERB_LIST);
}

Test(proto, reader_reassembles_pieces_and_rejects_bad_headers)
{
	struct proto_reader r;
	struct proto_buf b = { 0 };
	struct proto_hdr h;
	const uint8_t *p;
	size_t s;

	s = proto_buf_begin(&b, PROTO_CMD);
	proto_buf_bytes(&b, "list", 4);
	proto_buf_end(&b, s);
	s = proto_buf_begin(&b, PROTO_HELLO);
	proto_buf_end(&b, s);
	cr_assert_eq(b.len, 2 * PROTO_HDR_LEN + 4);
	cr_assert_eq(proto_reader_init(&r, PROTO_CMD_MAX), 0);
	for (size_t i = 0; i < b.len; i++) {
		cr_assert_eq(proto_reader_feed(&r, b.p + i, 1), 0);
		if (i < PROTO_HDR_LEN + 3)
			cr_assert_eq(
				proto_reader_next(&r, &h, &p, err, sizeof(err)),
				0);
		if (i == PROTO_HDR_LEN + 3) {
			cr_assert_eq(
				proto_reader_next(&r, &h, &p, err, sizeof(err)),
				1);
			cr_assert_eq(h.type, PROTO_CMD);
			cr_assert_eq(h.len, 4);
			cr_assert_eq(memcmp(p, "list", 4), 0);
		}
	}
	cr_assert_eq(proto_reader_next(&r, &h, &p, err, sizeof(err)), 1);
	cr_assert_eq(h.type, PROTO_HELLO);
	cr_assert_eq(proto_reader_partial(&r), 0);
	/* a 1 MB command: refused from its header alone */
	uint8_t hdr[PROTO_HDR_LEN];

	proto_put_hdr(hdr, PROTO_CMD, 1u << 20);
	cr_assert_eq(proto_reader_feed(&r, hdr, sizeof(hdr)), 0);
	cr_assert_eq(proto_reader_next(&r, &h, &p, err, sizeof(err)),
		     -EMSGSIZE);
	cr_assert(strstr(err, "1048576"), "%s", err);
	proto_reader_free(&r);
	/* another version, a reserved byte, an unknown type */
	cr_assert_eq(proto_reader_init(&r, PROTO_CMD_MAX), 0);
	proto_put_hdr(hdr, PROTO_CMD, 0);
	hdr[4] = 2;
	proto_reader_feed(&r, hdr, sizeof(hdr));
	cr_assert_eq(proto_reader_next(&r, &h, &p, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "version 2"), "%s", err);
	proto_reader_free(&r);
	proto_put_hdr(hdr, 42, 0);
	cr_assert_eq(proto_check_hdr(hdr, 10, &h, err, sizeof(err)), -EPROTO);
	proto_put_hdr(hdr, PROTO_CMD, 0);
	hdr[7] = 1;
	cr_assert_eq(proto_check_hdr(hdr, 10, &h, err, sizeof(err)), -EPROTO);
	proto_buf_free(&b);
}

Test(proto, reader_never_takes_more_than_one_message)
{
	struct proto_reader r;
	uint8_t junk[PROTO_HDR_LEN + PROTO_CMD_MAX + 1];

	memset(junk, 0, sizeof(junk));
	cr_assert_eq(proto_reader_init(&r, PROTO_CMD_MAX), 0);
	cr_assert_eq(proto_reader_room(&r), PROTO_HDR_LEN + PROTO_CMD_MAX);
	cr_assert_eq(proto_reader_feed(&r, junk, sizeof(junk)), -ENOBUFS);
	cr_assert_eq(proto_reader_feed(&r, junk, sizeof(junk) - 1), 0);
	cr_assert_eq(proto_reader_room(&r), 0);
	proto_reader_free(&r);
}

Test(proto, flow_record_round_trip)
{
	struct flowtab_row a, b2;
	struct proto_buf b = { 0 };
	struct proto_in in;

	memset(&a, 0, sizeof(a));
	a.id = 0x1122334455667788ull;
	a.key.kind = 3;
	a.key.ipproto = 17;
	a.key.vlan = 4095;
	a.key.aport = 53;
	a.key.bport = 40000;
	memset(a.key.a, 0xab, 16);
	memset(a.key.b, 0xcd, 16);
	a.pkts[0] = 1;
	a.pkts[1] = 1ull << 40;
	a.bytes[0] = 64;
	a.bytes[1] = ~0ull;
	a.first_ns = 5;
	a.last_ns = 6;
	proto_buf_flow(&b, &a);
	cr_assert_eq(b.len, PROTO_FLOW_LEN);
	in = (struct proto_in){ .p = b.p, .len = b.len };
	proto_in_flow(&in, &b2);
	cr_assert_eq(in.bad, 0);
	cr_assert_eq(memcmp(&a, &b2, sizeof(a)), 0);
	in = (struct proto_in){ .p = b.p, .len = b.len - 1 };
	proto_in_flow(&in, &b2);
	cr_assert_eq(in.bad, 1, "a short record is refused");
	proto_buf_free(&b);
}

Test(proto, strings_are_bounded_and_cleaned)
{
	struct proto_buf b = { 0 };
	struct proto_in in;
	char out[8];

	proto_buf_str(&b, "ab\033[2Jcdefgh");
	in = (struct proto_in){ .p = b.p, .len = b.len };
	proto_in_str(&in, out, sizeof(out));
	cr_assert_eq(in.bad, 0);
	cr_assert_str_eq(out, "ab?[2Jc");
	proto_buf_free(&b);
}
