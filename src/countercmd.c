/*
 * countercmd.c - the capstats verbs over struct counters: one command line
 * in, one line of answer out.
 *
 * Owns nothing between calls (the line is parsed in a private copy). Runs
 * on the counters' editor thread; the counters module does the locking.
 */
#include "countercmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "counters.h"

#define USAGE                                                                \
	"new NAME EXPR | NAME=EXPR | modify NAME EXPR | stop NAME | list | " \
	"show NAME"

static char *skip_blanks(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
		     s[n - 1] == '\r'))
		s[--n] = 0;
}

/*
 * Split "NAME EXPR", "NAME=EXPR" or "NAME = EXPR" at @s: NUL-terminates
 * the name in place, returns the expression (maybe "").
 */
static char *split_name(char *s)
{
	char *end = s + strcspn(s, " \t="), *rest = skip_blanks(end);

	if (*rest == '=')
		rest = skip_blanks(rest + 1);
	*end = 0;
	return rest;
}

/* All counters, heap-allocated; NULL with -ENOMEM. */
static struct counters_value *read_all(struct counters *c, size_t *n)
{
	struct counters_value *v = calloc(COUNTERS_MAX, sizeof(*v));

	if (!v)
		return NULL;
	*n = counters_read(c, v, COUNTERS_MAX);
	if (*n > COUNTERS_MAX)
		*n = COUNTERS_MAX;
	return v;
}

static int do_list(struct counters *c, char *msg, size_t msglen)
{
	char buf[COUNTERS_MAX * (COUNTERS_NAME_MAX + 2) + 1];
	struct counters_value *v;
	size_t n, off = 0;

	v = read_all(c, &n);
	if (!v) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					i ? ", " : "", v[i].name);
	free(v);
	if (!n)
		snprintf(msg, msglen, "no counters");
	else if ((size_t)snprintf(msg, msglen, "%s", buf) >= msglen &&
		 msglen >= 4)
		memcpy(msg + msglen - 4, "...", 4); /* cut: say so */
	return 0;
}

static int do_show(struct counters *c, const char *name, char *msg,
		   size_t msglen)
{
	struct counters_value *v;
	size_t n, i;

	v = read_all(c, &n);
	if (!v) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n && strcmp(v[i].name, name) != 0; i++)
		;
	if (i == n) {
		free(v);
		snprintf(msg, msglen, "no counter named %s", name);
		return -ENOENT;
	}
	snprintf(msg, msglen, "%s: %llu packets, %llu bytes (%s)", v[i].name,
		 (unsigned long long)v[i].pkts, (unsigned long long)v[i].bytes,
		 *v[i].expr ? v[i].expr : "all packets");
	free(v);
	return 0;
}

/* new (@modify 0) or modify (1) @name to @expr. */
static int do_set(struct counters *c, int modify, const char *name,
		  const char *expr, char *msg, size_t msglen)
{
	int rc;

	if (!*name) {
		snprintf(msg, msglen, "usage: %s NAME EXPR",
			 modify ? "modify" : "new");
		return -EINVAL;
	}
	rc = modify ? counters_modify(c, name, expr, msg, msglen)
		    : counters_add(c, name, expr, msg, msglen);
	if (rc == -ENOENT)
		snprintf(msg, msglen, "no counter named %s", name);
	else if (rc == 0)
		snprintf(msg, msglen, "counter %s %s", name,
			 modify ? "modified" : "added");
	return rc;
}

static int do_stop(struct counters *c, const char *name, char *msg,
		   size_t msglen)
{
	int rc = counters_remove(c, name, msg, msglen);

	if (rc == -ENOENT)
		snprintf(msg, msglen, "no counter named %s", name);
	else if (rc == 0)
		snprintf(msg, msglen, "counter %s stopped", name);
	return rc;
}

/* The verbs taking exactly one NAME: @rest must be one word. */
static int one_name(const char *verb, char *rest, char *msg, size_t msglen)
{
	size_t n = strcspn(rest, " \t");

	if (!n || rest[n]) {
		snprintf(msg, msglen, "usage: %s NAME", verb);
		return -EINVAL;
	}
	return 0;
}

static int run(struct counters *c, char *line, char *msg, size_t msglen)
{
	char *p = skip_blanks(line), *end, *rest, *expr;

	trim_end(p);
	if (!*p) {
		snprintf(msg, msglen, "usage: %s", USAGE);
		return -EINVAL;
	}
	end = p + strcspn(p, " \t=");
	rest = skip_blanks(end);
	if (*rest == '=') {
		/* NAME=EXPR */
		if (end == p) {
			snprintf(msg, msglen, "usage: NAME=EXPR");
			return -EINVAL;
		}
		expr = split_name(p);
		return do_set(c, 0, p, expr, msg, msglen);
	}
	*end = 0;
	if (strcasecmp(p, "new") == 0 || strcasecmp(p, "modify") == 0) {
		int modify = strcasecmp(p, "modify") == 0;

		expr = split_name(rest);
		return do_set(c, modify, rest, expr, msg, msglen);
	}
	if (strcasecmp(p, "stop") == 0 || strcasecmp(p, "show") == 0) {
		int show = strcasecmp(p, "show") == 0;

		if (one_name(show ? "show" : "stop", rest, msg, msglen))
			return -EINVAL;
		return show ? do_show(c, rest, msg, msglen)
			    : do_stop(c, rest, msg, msglen);
	}
	if (strcasecmp(p, "list") == 0) {
		if (*rest) {
			snprintf(msg, msglen, "usage: list");
			return -EINVAL;
		}
		return do_list(c, msg, msglen);
	}
	snprintf(msg, msglen, "unknown command '%s': %s", p, USAGE);
	return -EINVAL;
}

int countercmd_run(struct counters *c, const char *line, char *msg,
		   size_t msglen)
{
	char *copy = strdup(line ? line : "");
	int rc;

	if (!copy) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	rc = run(c, copy, msg, msglen);
	free(copy);
	return rc;
}
