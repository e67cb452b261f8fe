/*
 * abbrev.h - the original pktstat's abbreviation patterns (-a, -A, and the
 * ~/.pktstatrc files): flows whose description matches a pattern are shown
 * as one row under the pattern's name.
 *
 * Rules (those of David Leonard's pktstat 1.8, reimplemented):
 *  - A spec is "[NAME@]PATTERN". Spaces and tabs around the first '@' are
 *    dropped; without '@' the pattern text is its own name.
 *  - In a pattern, '*' matches zero or more characters other than space
 *    and tab; a run of spaces/tabs matches a run of one or more spaces/
 *    tabs; any other character matches itself. The whole description
 *    must match.
 *  - Patterns are tried in the order added; the first match wins.
 *  - A file holds one spec per line; leading and trailing blanks are
 *    ignored, as are blank lines and lines whose first non-blank is '#'.
 * Differences: the original split lines longer than 1023 bytes into
 * several patterns (we keep the whole line), and accepted "NAME@" with an
 * empty pattern or "@PATTERN" with an empty name (we refuse both).
 *
 * Threads: build the set (abbrev_add, abbrev_load_*) on one thread; after
 * that it is read-only and abbrev_match may run on any number of threads.
 */
#ifndef PKTSTAT_ABBREV_H
#define PKTSTAT_ABBREV_H

#include <stddef.h>

struct abbrev;

/* The system-wide file the original reads last. */
#define ABBREV_SYSTEM_FILE "/etc/pktstatrc"

/* An empty set. NULL when out of memory. */
struct abbrev *abbrev_new(void);

/* Free the set and its patterns. abbrev_free(NULL) is a no-op. */
void abbrev_free(struct abbrev *ab);

/*
 * abbrev_add - append one "[NAME@]PATTERN" spec (as given to -a).
 * Returns 0, -EINVAL (empty pattern or name; @err says which), -E2BIG
 * (more than ABBREV_MAX patterns) or -ENOMEM.
 */
#define ABBREV_MAX 65536
int abbrev_add(struct abbrev *ab, const char *spec, char *err, size_t errlen);

/*
 * abbrev_load_file - append every spec of the file @path (as -A does).
 * Returns 0 or -errno with "path: reason" (or "path:LINE: reason") in
 * @err. A missing file is -ENOENT: the caller decides whether that
 * matters (it does for -A, not for the default files). A file owned by
 * anyone but root or the real user, or writable by others, is refused
 * (-EPERM). Patterns added before an error stay. Called before the
 * privilege drop: root's own files are readable.
 */
int abbrev_load_file(struct abbrev *ab, const char *path, char *err,
		     size_t errlen);

/*
 * abbrev_load_defaults - what the original does unless "-A none": load
 * ".pktstatrc" (current directory), "@home/.pktstatrc" (skipped when
 * @home is NULL or empty) and ABBREV_SYSTEM_FILE, in that order. Missing
 * or unreadable (EACCES) files are skipped silently. A file that another
 * user could have written (group/other-writable, or owned by someone
 * other than root or the real user) is refused with -EPERM, since
 * pktstat usually runs as root; the files after it are still loaded.
 * Returns 0 or the first error, with its line in @err.
 */
int abbrev_load_defaults(struct abbrev *ab, const char *home, char *err,
			 size_t errlen);

/* Number of patterns in the set. */
size_t abbrev_count(const struct abbrev *ab);

/*
 * abbrev_match - the name of the first pattern matching @description, or
 * NULL when none does (or @ab is NULL). The name lives as long as @ab.
 * Any thread once the set is built. Time is O(len(pattern) *
 * len(description)) per pattern at worst, never exponential.
 */
const char *abbrev_match(const struct abbrev *ab, const char *description);

/* Whether @pattern matches @text under the rules above (for tests). */
int abbrev_pattern_match(const char *pattern, const char *text);

#endif
