/*
 * jsonl.c - the JSON Lines tee (see jsonl.h).
 */
#include "jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct jsonl {
	char *path;
	int fd;
	uint64_t size, max;
	uint64_t lines, rotations;
};

static int open_file(struct jsonl *j, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(j->path,
		      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		      0600);

	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", j->path,
			 e == ELOOP ? "is a symbolic link: refused"
				    : strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", j->path);
		close(fd);
		return -EINVAL;
	}
	/* an existing file keeps its owner's choice only if it is private */
	if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: cannot make it private: %s", j->path,
			 strerror(e));
		close(fd);
		return -e;
	}
	j->fd = fd;
	j->size = (uint64_t)st.st_size;
	return 0;
}

struct jsonl *jsonl_open(const char *path, uint64_t max_bytes, char *err,
			 size_t errlen)
{
	struct jsonl *j = calloc(1, sizeof(*j));

	if (!j || !(j->path = strdup(path))) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->max = max_bytes;
	if (open_file(j, err, errlen)) {
		free(j->path);
		free(j);
		return NULL;
	}
	return j;
}

static int rotate(struct jsonl *j, char *err, size_t errlen)
{
	size_t n = strlen(j->path) + 3;
	char *old = malloc(n);
	int rc;

	if (!old) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(old, n, "%s.1", j->path);
	if (rename(j->path, old) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot rotate to %s: %s", j->path,
			 old, strerror(-rc));
		free(old);
		return rc;
	}
	free(old);
	close(j->fd);
	j->fd = -1;
	j->rotations++;
	return open_file(j, err, errlen);
}

int jsonl_write(struct jsonl *j, const char *line, size_t len, char *err,
		size_t errlen)
{
	ssize_t w;

	if (j->fd < 0) {
		snprintf(err, errlen, "%s: closed after an error", j->path);
		return -EBADF;
	}
	if (j->max && j->size && j->size + len > j->max) {
		int rc = rotate(j, err, errlen);

		if (rc)
			return rc;
	}
	do
		w = write(j->fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != len) {
		int e = w < 0 ? errno : ENOSPC;

		snprintf(err, errlen, "%s: %s", j->path, strerror(e));
		/* a short write left part of a line: end it, so the next
		 * reader's line is whole, and stop */
		if (w > 0 && write(j->fd, "\n", 1) < 0)
			(void)0;
		return -e;
	}
	j->size += len;
	j->lines++;
	return 0;
}

void jsonl_stats(const struct jsonl *j, uint64_t *lines, uint64_t *rotations)
{
	*lines = j->lines;
	*rotations = j->rotations;
}

void jsonl_close(struct jsonl *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}
