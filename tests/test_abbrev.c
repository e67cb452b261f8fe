/* test_abbrev.c - abbreviation specs, files and the glob rules. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abbrev.h"

/*
 * The rules written as the obvious (exponential) recursion, to check the
 * one-backtrack matcher against on random inputs.
 */
static int ref_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int ref_match(const char *t, const char *p)
{
	if (!*p)
		return !*t;
	if (*p == '*')
		return (*t && !ref_blank(*t) && ref_match(t + 1, p)) ||
		       ref_match(t, p + 1);
	if (ref_blank(*p)) {
		if (!ref_blank(*t))
			return 0;
		while (ref_blank(*t))
			t++;
		while (ref_blank(*p))
			p++;
		return ref_match(t, p);
	}
	return *p == *t && ref_match(t + 1, p + 1);
}

Test(abbrev, star_matches_within_a_word)
{
	cr_assert(abbrev_pattern_match(
		"udp *:domain <-> *", "udp 10.0.0.1:domain <-> 10.0.0.2:4242"));
	cr_assert(abbrev_pattern_match("*", ""));
	cr_assert(abbrev_pattern_match("*", "abc"));
	cr_assert_not(abbrev_pattern_match("*", "a b"));
	cr_assert(abbrev_pattern_match("* *", "a b"));
	cr_assert(abbrev_pattern_match("a*b*c", "aXbYbZc"));
	cr_assert_not(abbrev_pattern_match("a*b*c", "aXbYbZ c"));
	cr_assert(abbrev_pattern_match("tcp *:22 <-> *",
				       "tcp 10.0.0.1:22 <-> 10.0.0.9:51000"));
	cr_assert_not(abbrev_pattern_match(
		"tcp *:22 <-> *", "tcp 10.0.0.1:220 <-> 10.0.0.9:51000"));
}

Test(abbrev, blank_runs_match_blank_runs)
{
	cr_assert(abbrev_pattern_match("a b", "a \t  b"));
	cr_assert(abbrev_pattern_match("a \t b", "a b"));
	cr_assert_not(abbrev_pattern_match("a b", "ab"));
	cr_assert_not(abbrev_pattern_match("ab", "a b"));
	cr_assert_not(abbrev_pattern_match("a b", "a b "));
	cr_assert(abbrev_pattern_match("a b ", "a b\t"));
}

Test(abbrev, whole_text_must_match)
{
	cr_assert_not(abbrev_pattern_match("arp", "arpx"));
	cr_assert_not(abbrev_pattern_match("arpx", "arp"));
	cr_assert(abbrev_pattern_match("arp*", "arp"));
	cr_assert_not(abbrev_pattern_match("", "x"));
}

Test(abbrev, agrees_with_the_recursive_rules)
{
	static const char alpha[] = "ab *\t";
	char p[12], t[14];
	unsigned int seed = 12345;
	int agree = 0;

	for (int iter = 0; iter < 200000; iter++) {
		int pl = rand_r(&seed) % 10, tl = rand_r(&seed) % 13;

		for (int i = 0; i < pl; i++)
			p[i] = alpha[rand_r(&seed) % 5];
		p[pl] = 0;
		for (int i = 0; i < tl; i++) {
			/* texts hold no '*' most of the time, as flows do */
			int c = rand_r(&seed) % 5;
			t[i] = alpha[c == 2 && rand_r(&seed) % 4 ? 0 : c];
		}
		t[tl] = 0;
		cr_assert_eq(abbrev_pattern_match(p, t), ref_match(t, p),
			     "pattern '%s' text '%s'", p, t);
		agree++;
	}
	cr_assert_eq(agree, 200000);
}

Test(abbrev, long_star_pattern_is_fast)
{
	char p[200], t[4000];

	/* exponential for the naive recursion */
	strcpy(p, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
	memset(t, 'a', sizeof(t) - 1);
	t[sizeof(t) - 1] = 0;
	cr_assert_not(abbrev_pattern_match(p, t));
	t[sizeof(t) - 2] = 'b';
	cr_assert(abbrev_pattern_match(p, t));
}

Test(abbrev, name_and_pattern_split_at_first_at)
{
	struct abbrev *ab = abbrev_new();
	char err[256];

	cr_assert_eq(
		abbrev_add(ab, "dns  @\t udp *:domain <-> *", err, sizeof(err)),
		0);
	cr_assert_eq(abbrev_add(ab, "tcp * <-> *:22", err, sizeof(err)), 0);
	cr_assert_eq(abbrev_add(ab, "mail@tcp * <-> *@x", err, sizeof(err)), 0);
	cr_assert_eq(abbrev_count(ab), 3);
	cr_assert_str_eq(abbrev_match(ab, "udp 1.2.3.4:domain <-> 5.6.7.8:99"),
			 "dns");
	/* no '@': the pattern text is the name */
	cr_assert_str_eq(abbrev_match(ab, "tcp 1.2.3.4:99 <-> 5.6.7.8:22"),
			 "tcp * <-> *:22");
	/* only the first '@' splits */
	cr_assert_str_eq(abbrev_match(ab, "tcp 1:2 <-> 3:4@x"), "mail");
	cr_assert_null(abbrev_match(ab, "udp 1.2.3.4:53 <-> 5.6.7.8:99"));
	cr_assert_null(abbrev_match(NULL, "x"));
	abbrev_free(ab);
	abbrev_free(NULL);
}

Test(abbrev, first_match_wins)
{
	struct abbrev *ab = abbrev_new();
	char err[256];

	cr_assert_eq(abbrev_add(ab, "one@tcp *", err, sizeof(err)), 0);
	cr_assert_eq(abbrev_add(ab, "two@*", err, sizeof(err)), 0);
	cr_assert_str_eq(abbrev_match(ab, "tcpx"), "two");
	cr_assert_str_eq(abbrev_match(ab, "tcp a"), "one");
	abbrev_free(ab);
}

Test(abbrev, empty_name_or_pattern_refused)
{
	struct abbrev *ab = abbrev_new();
	char err[256] = "";

	cr_assert_eq(abbrev_add(ab, "name @  ", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "empty pattern"), "%s", err);
	cr_assert_eq(abbrev_add(ab, " @ x", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "empty name"), "%s", err);
	cr_assert_eq(abbrev_add(ab, "", err, sizeof(err)), -EINVAL);
	cr_assert_eq(abbrev_count(ab), 0);
	abbrev_free(ab);
}

static char *write_tmp(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/test_abbrev.XXXXXX");
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
	return path;
}

Test(abbrev, file_comments_blanks_and_trim)
{
	struct abbrev *ab = abbrev_new();
	char err[256] = "";
	char *path = write_tmp("# comment\n"
			       "\n"
			       "   \t\n"
			       "  dns @ udp *:domain <-> *   \n"
			       "\t# indented comment\n"
			       "web@tcp * <-> *:http\r\n"
			       "arp",
			       0600);

	cr_assert_eq(abbrev_load_file(ab, path, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(abbrev_count(ab), 3);
	cr_assert_str_eq(abbrev_match(ab, "udp a:domain <-> b:1"), "dns");
	/* trailing blanks were trimmed: the pattern ends at '*' */
	cr_assert_null(abbrev_match(ab, "udp a:domain <-> b:1 "));
	cr_assert_str_eq(abbrev_match(ab, "tcp a:1 <-> b:http"), "web");
	cr_assert_str_eq(abbrev_match(ab, "arp"), "arp");
	unlink(path);
	free(path);
	abbrev_free(ab);
}

Test(abbrev, file_errors_name_the_file)
{
	struct abbrev *ab = abbrev_new();
	char err[256] = "";
	char *path = write_tmp("ok\nbad@\n", 0600);

	cr_assert_eq(abbrev_load_file(ab, "/nonexistent/pktstatrc", err,
				      sizeof(err)),
		     -ENOENT);
	cr_assert(strstr(err, "/nonexistent/pktstatrc: "), "%s", err);
	cr_assert_eq(abbrev_load_file(ab, path, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":2: "), "%s", err);
	cr_assert_eq(abbrev_count(ab), 1);
	unlink(path);
	free(path);
	abbrev_free(ab);
}

Test(abbrev, defaults_load_home_and_skip_missing)
{
	struct abbrev *ab = abbrev_new();
	char dir[] = "/tmp/test_abbrev_home.XXXXXX";
	char path[256], err[512] = "";
	FILE *f;
	size_t base;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.pktstatrc", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("home@udp *\n", f);
	fclose(f);
	chmod(path, 0644);

	/* cwd == $HOME here, so the file loads twice: harmless */
	cr_assert_eq(chdir(dir), 0);
	base = abbrev_count(ab);
	cr_assert_eq(abbrev_load_defaults(ab, dir, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_geq(abbrev_count(ab), base + 2);
	cr_assert_str_eq(abbrev_match(ab, "udp x"), "home");

	/* a group-writable file is refused, the others still load */
	chmod(path, 0664);
	abbrev_free(ab);
	ab = abbrev_new();
	cr_assert_eq(abbrev_load_defaults(ab, dir, err, sizeof(err)), -EPERM);
	cr_assert(strstr(err, ".pktstatrc: ignored"), "%s", err);
	cr_assert_null(abbrev_match(ab, "udp x"));

	/* no home: only cwd and /etc */
	abbrev_free(ab);
	ab = abbrev_new();
	cr_assert_eq(chdir("/"), 0);
	cr_assert_eq(abbrev_load_defaults(ab, NULL, err, sizeof(err)), 0);
	cr_assert_null(abbrev_match(ab, "udp x"));
	unlink(path);
	rmdir(dir);
	abbrev_free(ab);
}
