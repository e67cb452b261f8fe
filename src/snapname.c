/*
 * snapname.c - snapshot directory and file names (see snapname.h).
 *
 * No state; any thread.
 */
#include "snapname.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int fits(int n, size_t len)
{
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int snapname_resolve(const char *given, char *dir, size_t dlen, char *file,
		     size_t flen)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct stat st;
	size_t n;
	int rc;

	dir[0] = file[0] = '\0';
	if (given && *given) {
		n = strlen(given);
		if (given[n - 1] == '/' ||
		    (stat(given, &st) == 0 && S_ISDIR(st.st_mode))) {
			/* a directory: without its trailing slashes */
			while (n > 1 && given[n - 1] == '/')
				n--;
			rc = fits(snprintf(dir, dlen, "%.*s", (int)n, given),
				  dlen);
			return rc ? rc : 1;
		}
		rc = fits(snprintf(file, flen, "%s", given), flen);
		return rc ? rc : 0;
	}
	/* XDG base directories: a relative $XDG_STATE_HOME is to be
	 * ignored */
	if (xdg && xdg[0] == '/')
		rc = fits(snprintf(dir, dlen, "%s/pktstat", xdg), dlen);
	else if (home && *home)
		rc = fits(snprintf(dir, dlen, "%s/.local/state/pktstat", home),
			  dlen);
	else
		rc = fits(snprintf(dir, dlen, "./pktstat"), dlen);
	return rc ? rc : 1;
}

int snapname_make(const char *dir, uint64_t wall_ns, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;
	char stamp[32];

	if (!localtime_r(&t, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm))
		snprintf(stamp, sizeof(stamp), "%llu", (unsigned long long)t);
	return snprintf(buf, len, "%s/pktstat-%s.json", dir, stamp);
}
