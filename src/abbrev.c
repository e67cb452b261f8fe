/*
 * abbrev.c - abbreviation patterns: parsing specs and files, matching.
 *
 * Owns the pattern list (name + pattern strings). Built by one thread,
 * then read-only: abbrev_match keeps no state and may run concurrently.
 */
#include "abbrev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct abbrev_pat {
	char *name;	     /* malloc'd; owns the storage */
	const char *pattern; /* inside name's allocation, or name itself */
};

struct abbrev {
	struct abbrev_pat *pats;
	size_t n, cap;
};

static inline int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

struct abbrev *abbrev_new(void)
{
	return calloc(1, sizeof(struct abbrev));
}

void abbrev_free(struct abbrev *ab)
{
	if (!ab)
		return;
	for (size_t i = 0; i < ab->n; i++)
		free(ab->pats[i].name);
	free(ab->pats);
	free(ab);
}

size_t abbrev_count(const struct abbrev *ab)
{
	return ab ? ab->n : 0;
}

int abbrev_add(struct abbrev *ab, const char *spec, char *err, size_t errlen)
{
	char *copy, *at, *pat, *end;

	if (ab->n >= ABBREV_MAX) {
		snprintf(err, errlen,
			 "abbreviation '%s': more than %d patterns", spec,
			 ABBREV_MAX);
		return -E2BIG;
	}
	if (ab->n == ab->cap) {
		size_t ncap = ab->cap ? ab->cap * 2 : 16;
		struct abbrev_pat *np = realloc(ab->pats, ncap * sizeof(*np));

		if (!np) {
			snprintf(err, errlen, "abbreviation: out of memory");
			return -ENOMEM;
		}
		ab->pats = np;
		ab->cap = ncap;
	}
	copy = strdup(spec);
	if (!copy) {
		snprintf(err, errlen, "abbreviation: out of memory");
		return -ENOMEM;
	}
	pat = copy;
	at = strchr(copy, '@');
	if (at) {
		/* "name @ pattern": blanks around the '@' belong to neither */
		end = at;
		while (end > copy && is_blank(end[-1]))
			end--;
		*end = '\0';
		pat = at + 1;
		while (is_blank(*pat))
			pat++;
		if (!*copy) {
			snprintf(err, errlen,
				 "abbreviation '%s': empty name before '@'",
				 spec);
			free(copy);
			return -EINVAL;
		}
	}
	if (!*pat) {
		snprintf(err, errlen, "abbreviation '%s': empty pattern", spec);
		free(copy);
		return -EINVAL;
	}
	ab->pats[ab->n].name = copy;
	ab->pats[ab->n].pattern = pat;
	ab->n++;
	return 0;
}

/* One line of a file: blanks trimmed, comments and blank lines skipped. */
static int add_line(struct abbrev *ab, char *line, const char *path,
		    unsigned long lineno, char *err, size_t errlen)
{
	char *p = line, *q;
	char e[256];
	int rc;

	while (is_blank(*p))
		p++;
	if (*p == '#')
		return 0;
	q = p + strcspn(p, "\r\n");
	while (q > p && is_blank(q[-1]))
		q--;
	*q = '\0';
	if (!*p)
		return 0;
	rc = abbrev_add(ab, p, e, sizeof(e));
	if (rc)
		snprintf(err, errlen, "%s:%lu: %s", path, lineno, e);
	return rc;
}

static int load_stream(struct abbrev *ab, FILE *f, const char *path, char *err,
		       size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = 0;

	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		rc = add_line(ab, line, path, lineno, err, errlen);
		if (rc)
			break;
	}
	if (!rc && ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	free(line);
	return rc;
}

/*
 * Configuration is read as root, before the privilege drop, and changes
 * what reports say: trust only a file that its owner (root, or the user
 * who started us: the real uid, as root under sudo) alone can write. A
 * file owned by "nobody", whom the capture runs as, would let any process
 * of that user relabel or hide flows. Checked on the open descriptor.
 */
static int trusted(FILE *f, const char *path, const char *verb, char *err,
		   size_t errlen)
{
	struct stat st;

	if (fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		snprintf(err, errlen,
			 "%s: %s: owned by uid %u, not by root or you", path,
			 verb, (unsigned)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "%s: %s: writable by other users than its owner", path,
			 verb);
		return -EPERM;
	}
	return 0;
}

int abbrev_load_file(struct abbrev *ab, const char *path, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	rc = trusted(f, path, "refused", err, errlen);
	if (rc == 0)
		rc = load_stream(ab, f, path, err, errlen);
	fclose(f);
	return rc;
}

/* A default file is read without being named on the command line, often
 * by root from whatever directory it was started in. */
static int load_default(struct abbrev *ab, const char *path, char *err,
			size_t errlen)
{
	FILE *f = fopen(path, "re");
	int rc;

	if (!f)
		return 0; /* missing or unreadable: the original ignores it */
	rc = trusted(f, path, "ignored", err, errlen);
	if (rc == 0)
		rc = load_stream(ab, f, path, err, errlen);
	fclose(f);
	return rc;
}

int abbrev_load_defaults(struct abbrev *ab, const char *home, char *err,
			 size_t errlen)
{
	char path[4096];
	char e[512];
	int rc, first = 0;

	rc = load_default(ab, ".pktstatrc", e, sizeof(e));
	if (rc && !first) {
		first = rc;
		snprintf(err, errlen, "%s", e);
	}
	if (home && *home) {
		if ((size_t)snprintf(path, sizeof(path), "%s/.pktstatrc",
				     home) < sizeof(path)) {
			rc = load_default(ab, path, e, sizeof(e));
			if (rc && !first) {
				first = rc;
				snprintf(err, errlen, "%s", e);
			}
		}
	}
	rc = load_default(ab, ABBREV_SYSTEM_FILE, e, sizeof(e));
	if (rc && !first) {
		first = rc;
		snprintf(err, errlen, "%s", e);
	}
	return first;
}

/*
 * Glob with one backtrack point. Since '*' never crosses a blank and a
 * blank run in the pattern must meet a blank run in the text, each
 * blank-free word of the pattern has exactly one place it can end, so
 * only the latest '*' ever needs to grow: an earlier star's extra
 * characters are non-blank and the latest star can absorb them instead.
 * That makes the search O(pattern * text) instead of the exponential
 * recursion the rules suggest.
 */
int abbrev_pattern_match(const char *p, const char *t)
{
	const char *star_p = NULL; /* pattern just after the latest '*' */
	const char *star_t = NULL; /* text where that star's match ends */

	while (*p || *t) {
		if (*p == '*') {
			star_p = ++p;
			star_t = t;
			continue;
		}
		if (is_blank(*p)) {
			if (is_blank(*t)) {
				while (is_blank(*t))
					t++;
				while (is_blank(*p))
					p++;
				continue;
			}
		} else if (*p && *p == *t) {
			p++;
			t++;
			continue;
		}
		/* Mismatch: let the latest star take one more character. */
		if (star_p && *star_t && !is_blank(*star_t)) {
			t = ++star_t;
			p = star_p;
			continue;
		}
		return 0;
	}
	return 1;
}

const char *abbrev_match(const struct abbrev *ab, const char *description)
{
	if (!ab || !description)
		return NULL;
	for (size_t i = 0; i < ab->n; i++) {
		if (abbrev_pattern_match(ab->pats[i].pattern, description))
			return ab->pats[i].name;
	}
	return NULL;
}
