/*
 * jsonl.h - the JSON Lines tee (--jsonl FILE): one line appended per
 * refresh or -l interval while pktstat runs.
 *
 * Each line goes out in one write(2) on an O_APPEND descriptor, so lines
 * never interleave or split between writers, and a reader following the
 * file (tail -F | jq) only ever joins whole lines. The file is created mode
 * 0600 and never through a symbolic link. When a line would take the file
 * past its maximum size, FILE is copied into FILE.1 (replacing what it
 * held) and emptied (logrotate's copytruncate: both are opened at start,
 * so rotation needs no right on the directory after the privilege drop;
 * tail -F follows it). At most two files exist.
 *
 * One thread owns a struct jsonl.
 */
#ifndef PKTSTAT_JSONL_H
#define PKTSTAT_JSONL_H

#include <stddef.h>
#include <stdint.h>

struct jsonl;

#define JSONL_DEFAULT_MAX (100ull * 1000 * 1000)

/* Open (append to) @path, rotating at @max_bytes (0: never). NULL with one
 * line in @err naming the file. */
struct jsonl *jsonl_open(const char *path, uint64_t max_bytes, char *err,
			 size_t errlen);

/*
 * jsonl_write - append @len bytes of @line, which holds one JSON object and
 * ends with '\n'. Rotates first when needed. Returns 0 or -errno with one
 * line in @err (the tee then stops; capture goes on). A line longer than
 * the maximum is still written whole, alone in its file.
 */
int jsonl_write(struct jsonl *j, const char *line, size_t len, char *err,
		size_t errlen);

/* Lines written and rotations done since open. */
void jsonl_stats(const struct jsonl *j, uint64_t *lines, uint64_t *rotations);

/* Close; jsonl_close(NULL) is a no-op. */
void jsonl_close(struct jsonl *j);

#endif
