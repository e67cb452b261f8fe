/*
 * test_say.c - the one error line: prefix, optional path, control bytes
 * shown as '?', long messages cut, printf formats.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "say.h"

/* What the calls so far wrote to stderr, into @buf. */
static void err_text(char *buf, size_t len)
{
	FILE *f = cr_get_redirected_stderr();
	size_t n;

	fflush(stderr);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
}

Test(say, path_then_message, .init = cr_redirect_stderr)
{
	char buf[256];

	say_path("/run/pktstat.sock", "connection refused");
	say_path(NULL, "no path");
	say_line("one line");
	say_line(NULL);
	err_text(buf, sizeof(buf));
	cr_assert_str_eq(buf, "pktstat: /run/pktstat.sock: connection refused\n"
			      "pktstat: no path\n"
			      "pktstat: one line\n"
			      "pktstat: \n");
}

Test(say, control_bytes_shown_as_question_marks, .init = cr_redirect_stderr)
{
	char buf[256];

	say_path("a\033[2Jb", "x\ny\tz\177!");
	say_fmt("%s %d", "\r\a", 7);
	err_text(buf, sizeof(buf));
	cr_assert_str_eq(buf, "pktstat: a?[2Jb: x?y?z?!\n"
			      "pktstat: ?? 7\n");
}

Test(say, long_message_cut_to_one_line, .init = cr_redirect_stderr)
{
	static char msg[3000], buf[4000];
	size_t n;

	memset(msg, 'm', sizeof(msg) - 1);
	say_path("p", msg);
	err_text(buf, sizeof(buf));
	n = strlen(buf);
	cr_assert_eq(n, strlen("pktstat: ") + SAY_MAX + 1);
	cr_assert_eq(buf[n - 1], '\n');
	cr_assert_eq(strchr(buf, '\n'), buf + n - 1);
	cr_assert_eq(strncmp(buf, "pktstat: p: mmm", 15), 0);
}
