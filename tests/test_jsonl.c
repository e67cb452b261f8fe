/* test_jsonl.c - the JSON Lines tee: whole lines, 0600, rotation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonl.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_jsonl.XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(jsonl, .init = setup, .fini = teardown);

static size_t count_lines(const char *path, size_t *bytes)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, b = 0;
	int c, last = '\n';

	if (!f)
		return (size_t)-1;
	while ((c = fgetc(f)) != EOF) {
		b++;
		n += c == '\n';
		last = c;
	}
	fclose(f);
	cr_assert_eq(last, '\n', "%s ends in the middle of a line", path);
	if (bytes)
		*bytes = b;
	return n;
}

Test(jsonl, appends_whole_lines_mode_0600_and_rotates_once)
{
	char path[128], old[140], err[256], line[200];
	struct stat st;
	struct jsonl *j;
	uint64_t lines, rot;
	size_t b0, b1, n0, n1;

	snprintf(path, sizeof(path), "%s/t.jsonl", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	j = jsonl_open(path, 1000, err, sizeof(err));
	cr_assert(j, "%s", err);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(line, sizeof(line),
				 "{\"seq\":%d,\"pad\":\"%*s\"}\n", i,
				 20 + i % 30, "");
		cr_assert_eq(jsonl_write(j, line, (size_t)n, err, sizeof(err)),
			     0, "%s", err);
	}
	jsonl_stats(j, &lines, &rot);
	cr_assert_eq(lines, 100);
	cr_assert_gt(rot, 2);
	jsonl_close(j);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	n0 = count_lines(path, &b0);
	n1 = count_lines(old, &b1);
	cr_assert_leq(b0, 1000);
	cr_assert_leq(b1, 1000);
	cr_assert_gt(n0, 0);
	cr_assert_gt(n1, 0);
	/* only FILE and FILE.1 exist */
	snprintf(old, sizeof(old), "%s.2", path);
	cr_assert_neq(access(old, F_OK), 0);
	/* the last line is the last written */
	FILE *f = fopen(path, "r");
	char buf[256], last[256] = "";
	while (fgets(buf, sizeof(buf), f))
		snprintf(last, sizeof(last), "%s", buf);
	fclose(f);
	cr_assert(strstr(last, "\"seq\":99,"), "%s", last);
}

Test(jsonl, refuses_a_symbolic_link_and_makes_an_old_file_private)
{
	char path[128], link[128], err[256];
	struct stat st;
	struct jsonl *j;
	FILE *f;

	snprintf(path, sizeof(path), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/link.jsonl", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("{}\n", f);
	fclose(f);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(symlink(path, link), 0);
	j = jsonl_open(link, 0, err, sizeof(err));
	cr_assert_null(j);
	cr_assert(strstr(err, "symbolic link"), "%s", err);
	j = jsonl_open(path, 0, err, sizeof(err));
	cr_assert(j, "%s", err);
	cr_assert_eq(jsonl_write(j, "{\"a\":1}\n", 8, err, sizeof(err)), 0);
	jsonl_close(j);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(count_lines(path, NULL), 2);
	jsonl_close(NULL);
}
