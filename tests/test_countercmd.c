/* test_countercmd.c - the capstats verbs of the UI's counter prompt. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <string.h>
#include <urcu.h>

#include "countercmd.h"
#include "counters.h"

static struct counters *c;
static char msg[512];

static void setup(void)
{
	char err[256];

	rcu_register_thread();
	c = counters_new(1, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
}

static void teardown(void)
{
	counters_free(c);
	rcu_unregister_thread();
}

TestSuite(countercmd, .init = setup, .fini = teardown);

static int cmd(const char *line)
{
	memset(msg, 'x', sizeof(msg));
	return countercmd_run(c, line, msg, sizeof(msg));
}

/* The names, comma-separated, as "list" should say them. */
static void expect_list(const char *want)
{
	cr_assert_eq(cmd("list"), 0, "%s", msg);
	cr_assert_str_eq(msg, want);
}

/* Ethernet + IPv4 + TCP (@proto 6) or UDP (17) to @dport, @len bytes. */
static size_t frame(uint8_t *f, int proto, int dport, size_t len)
{
	memset(f, 0, len);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = (uint8_t)proto;
	f[26] = 10, f[29] = 1;
	f[30] = 10, f[33] = 2;
	f[34] = 0x9c, f[35] = 0x40; /* 40000 */
	f[36] = (uint8_t)(dport >> 8), f[37] = (uint8_t)dport;
	if (proto == 6)
		f[46] = 0x50;
	return len;
}

static void count(int proto, int dport, size_t len)
{
	uint8_t f[1600];

	frame(f, proto, dport, len);
	rcu_read_lock();
	counters_packet(c, 0, DLT_EN10MB, f, (uint32_t)len, (uint32_t)len);
	rcu_read_unlock();
}

Test(countercmd, new_list_show)
{
	cr_assert_eq(cmd("new web tcp port 80"), 0, "%s", msg);
	cr_assert_str_eq(msg, "counter web added");
	cr_assert_eq(cmd("new dns udp port 53"), 0, "%s", msg);
	expect_list("web, dns");
	count(6, 80, 100);
	count(6, 80, 200);
	count(17, 53, 70);
	count(6, 443, 90);
	cr_assert_eq(cmd("show web"), 0, "%s", msg);
	cr_assert_str_eq(msg, "web: 2 packets, 300 bytes (tcp port 80)");
	cr_assert_eq(cmd("show dns"), 0, "%s", msg);
	cr_assert_str_eq(msg, "dns: 1 packets, 70 bytes (udp port 53)");
}

Test(countercmd, name_equals_expr_forms)
{
	struct counters_value v[4];

	cr_assert_eq(cmd("web=tcp port 80"), 0, "%s", msg);
	cr_assert_str_eq(msg, "counter web added");
	cr_assert_eq(cmd("  dns = udp port 53  "), 0, "%s", msg);
	cr_assert_eq(cmd("new ssh=tcp port 22"), 0, "%s", msg);
	cr_assert_eq(cmd("NEW\tall"), 0, "%s", msg); /* empty: every packet */
	cr_assert_eq(counters_read(c, v, 4), 4);
	cr_assert_str_eq(v[0].expr, "tcp port 80");
	cr_assert_str_eq(v[1].name, "dns");
	cr_assert_str_eq(v[1].expr, "udp port 53"); /* blanks trimmed */
	cr_assert_str_eq(v[2].name, "ssh");
	cr_assert_str_eq(v[2].expr, "tcp port 22");
	cr_assert_str_eq(v[3].name, "all");
	cr_assert_str_eq(v[3].expr, "");
	count(17, 9999, 60);
	cr_assert_eq(cmd("show all"), 0, "%s", msg);
	cr_assert_str_eq(msg, "all: 1 packets, 60 bytes (all packets)");
}

Test(countercmd, modify_restarts_counts)
{
	cr_assert_eq(cmd("new web tcp port 80"), 0, "%s", msg);
	count(6, 80, 100);
	cr_assert_eq(cmd("modify web tcp port 8080"), 0, "%s", msg);
	cr_assert_str_eq(msg, "counter web modified");
	count(6, 80, 100);
	count(6, 8080, 120);
	cr_assert_eq(cmd("show web"), 0, "%s", msg);
	cr_assert_str_eq(msg, "web: 1 packets, 120 bytes (tcp port 8080)");
}

Test(countercmd, bad_expression_changes_nothing)
{
	cr_assert_eq(cmd("new web tcp port 80"), 0, "%s", msg);
	cr_assert_eq(cmd("new bad tcp port"), -EINVAL);
	/* libpcap's message, naming the counter */
	cr_assert(strstr(msg, "counter bad: ") == msg, "%s", msg);
	cr_assert(strstr(msg, "syntax error") != NULL, "%s", msg);
	cr_assert_eq(cmd("modify web tcp[["), -EINVAL);
	cr_assert(strstr(msg, "counter web: ") == msg, "%s", msg);
	expect_list("web");
	cr_assert_eq(cmd("show web"), 0, "%s", msg);
	cr_assert_str_eq(msg, "web: 0 packets, 0 bytes (tcp port 80)");
}

Test(countercmd, stop_and_missing_names)
{
	cr_assert_eq(cmd("new web tcp port 80"), 0, "%s", msg);
	cr_assert_eq(cmd("new dns udp port 53"), 0, "%s", msg);
	cr_assert_eq(cmd("stop web"), 0, "%s", msg);
	cr_assert_str_eq(msg, "counter web stopped");
	expect_list("dns");
	cr_assert_eq(cmd("stop web"), -ENOENT);
	cr_assert_str_eq(msg, "no counter named web");
	cr_assert_eq(cmd("show web"), -ENOENT);
	cr_assert_str_eq(msg, "no counter named web");
	cr_assert_eq(cmd("modify web udp"), -ENOENT);
	cr_assert_str_eq(msg, "no counter named web");
	cr_assert_eq(cmd("stop dns"), 0, "%s", msg);
	expect_list("no counters");
}

Test(countercmd, duplicates_and_bad_names)
{
	cr_assert_eq(cmd("new web tcp port 80"), 0, "%s", msg);
	cr_assert_eq(cmd("web=udp"), -EEXIST);
	cr_assert(strstr(msg, "already exists") != NULL, "%s", msg);
	cr_assert_eq(cmd("new we/b tcp"), -EINVAL);
	cr_assert(strstr(msg, "name must be") != NULL, "%s", msg);
	expect_list("web");
}

Test(countercmd, usage_errors)
{
	static const struct {
		const char *line, *prefix;
	} bad[] = {
		{ "", "usage: new NAME EXPR | NAME=EXPR" },
		{ "   \t ", "usage: " },
		{ "new", "usage: new NAME EXPR" },
		{ "modify", "usage: modify NAME EXPR" },
		{ "stop", "usage: stop NAME" },
		{ "stop a b", "usage: stop NAME" },
		{ "show", "usage: show NAME" },
		{ "list all", "usage: list" },
		{ "=tcp", "usage: NAME=EXPR" },
		{ "frobnicate web", "unknown command 'frobnicate': new NAME" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(cmd(bad[i].line), -EINVAL, "'%s'", bad[i].line);
		cr_assert(strncmp(msg, bad[i].prefix, strlen(bad[i].prefix)) ==
				  0,
			  "'%s': %s", bad[i].line, msg);
	}
	expect_list("no counters");
}

Test(countercmd, long_list_is_cut_and_says_so)
{
	char line[64], small[16];

	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "new counter%d", i);
		cr_assert_eq(cmd(line), 0, "%s", msg);
	}
	cr_assert_eq(countercmd_run(c, "list", small, sizeof(small)), 0);
	cr_assert_str_eq(small, "counter0, co...");
	cr_assert_eq(cmd("list"), 0);
	cr_assert(strncmp(msg, "counter0, counter1, ", 20) == 0, "%s", msg);
	cr_assert(strstr(msg, "counter9") != NULL, "%s", msg);
}

Test(countercmd, verbs_ignore_case)
{
	cr_assert_eq(cmd("New web tcp"), 0, "%s", msg);
	cr_assert_eq(cmd("MODIFY web udp"), 0, "%s", msg);
	cr_assert_eq(cmd("Show web"), 0, "%s", msg);
	cr_assert_str_eq(msg, "web: 0 packets, 0 bytes (udp)");
	cr_assert_eq(cmd("LIST"), 0, "%s", msg);
	cr_assert_eq(cmd("sToP web"), 0, "%s", msg);
	expect_list("no counters");
}
