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
	int fd, old_fd; /* FILE (read-write, append) and FILE.1 */
	uint64_t size, max;
	uint64_t lines, rotations;
};

static int open_file(struct jsonl *j, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(j->path,
		      O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
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

/* FILE.1, opened once (before any privilege drop, as FILE): rotation
 * then needs no right on the directory. */
static int open_old(struct jsonl *j, char *err, size_t errlen)
{
	size_t n = strlen(j->path) + 3;
	char *old = malloc(n);
	int e;

	if (!old) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(old, n, "%s.1", j->path);
	j->old_fd =
		open(old, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	e = errno;
	if (j->old_fd < 0)
		snprintf(err, errlen, "%s: %s", old,
			 e == ELOOP ? "is a symbolic link: refused"
				    : strerror(e));
	else if (fchmod(j->old_fd, 0600) < 0)
		(void)0; /* owned by another user: it stays as it was */
	free(old);
	return j->old_fd < 0 ? -e : 0;
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
	j->fd = j->old_fd = -1;
	if (open_file(j, err, errlen) ||
	    (max_bytes && open_old(j, err, errlen))) {
		jsonl_close(j);
		return NULL;
	}
	return j;
}

/*
 * Copy FILE into FILE.1 and empty FILE (logrotate's copytruncate): works
 * with the two descriptors alone, after pktstat dropped its privileges,
 * and tail -F follows the truncation. Nothing is written meanwhile (one
 * thread owns the tee), so no line is lost or split.
 */
static int rotate(struct jsonl *j, char *err, size_t errlen)
{
	loff_t in = 0, out = 0;
	uint64_t left = j->size;

	if (ftruncate(j->old_fd, 0) < 0)
		goto fail;
	while (left) {
		ssize_t n =
			copy_file_range(j->fd, &in, j->old_fd, &out, left, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		left -= (uint64_t)n;
	}
	if (ftruncate(j->fd, 0) < 0)
		goto fail;
	j->size = 0;
	j->rotations++;
	return 0;
fail:
	snprintf(err, errlen, "%s: cannot rotate into %s.1: %s", j->path,
		 j->path, strerror(errno ? errno : EIO));
	return -(errno ? errno : EIO);
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
	if (j->old_fd >= 0)
		close(j->old_fd);
	free(j->path);
	free(j);
}
