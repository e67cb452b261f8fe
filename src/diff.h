/*
 * diff.h - pktstat --diff OLD.json NEW.json: what changed between two
 * snapshots (per flow direction, per protocol, in total), flows that
 * appeared and vanished, sorted by the size of the change.
 *
 * Front-end layer: reads two files pktstat wrote (-j reports or snapshot
 * files), prints text or JSON. Single-threaded, no global state.
 */
#ifndef PKTSTAT_DIFF_H
#define PKTSTAT_DIFF_H

#include <stddef.h>
#include <stdio.h>

/*
 * diff_files - compare the snapshots @old_path and @new_path and print the
 * differences on @out, as JSON when @json, else as text. At most @top flow
 * lines (0: all). Returns 0, or -errno (-EINVAL for a file that is not a
 * pktstat snapshot) with one line in @err naming the file.
 */
int diff_files(const char *old_path, const char *new_path, int json, size_t top,
	       FILE *out, char *err, size_t errlen);

#endif
