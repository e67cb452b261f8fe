/*
 * savefile.c - the safe file writer (see savefile.h): a temporary file
 * beside the target, filled, fsynced and renamed over it; symbolic links,
 * hard links, non-regular files and, as root, directories another user
 * controls are refused. Any thread.
 */
#include "savefile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * As root: refuse a path any of whose directories another user controls -
 * one they own (they could swap its entries), or a symbolic link they own
 * (they choose where it points). Checked component by component with
 * lstat, so a planted link cannot redirect the write. 0 or -EPERM.
 */
static int check_components(const char *dir, char *err, size_t errlen,
			    const char *path)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t i, len;

	if (geteuid() != 0)
		return 0;
	len = strlen(dir);
	if (len >= sizeof(buf))
		return 0; /* too long: the open below names the problem */
	memcpy(buf, dir, len + 1);
	for (i = 1; i <= len; i++) {
		char c = buf[i];

		if (c != '/' && c != '\0')
			continue;
		buf[i] = '\0';
		if (lstat(buf, &st) == 0 && st.st_uid != 0 &&
		    (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))) {
			snprintf(err, errlen,
				 "%s: %s is owned by another user, refused",
				 path, buf);
			return -EPERM;
		}
		buf[i] = c;
	}
	return 0;
}

/* mkdir -p of @dir's missing components, each 0700 (a new snapshot
 * directory: the files in it are 0600 anyway). 0 or -errno. */
static int make_dirs(const char *dir)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		char c = buf[i];

		if (c != '/' && c != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -errno;
		buf[i] = c;
	}
	return 0;
}

/* @path with "-@n" before its extension: "a/x.json" -> "a/x-2.json". */
static void numbered(const char *path, unsigned int n, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');

	if (!n) {
		snprintf(buf, len, "%s", path);
		return;
	}
	if (!dot || dot == (slash ? slash + 1 : path))
		dot = path + strlen(path);
	snprintf(buf, len, "%.*s-%u%s", (int)(dot - path), path, n, dot);
}

/*
 * Give the finished temporary file @tmp a name that nothing has: @path,
 * else @path-1, @path-2 ... (RENAME_NOREPLACE, or link on a file system
 * without it: either fails with EEXIST instead of replacing). The name
 * taken goes to @final. 0 or -errno.
 */
static int rename_fresh(const char *tmp, const char *path, char *final,
			size_t flen)
{
	char name[PATH_MAX];

	for (unsigned int n = 0; n < 1000; n++) {
		numbered(path, n, name, sizeof(name));
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, name,
			      RENAME_NOREPLACE) == 0) {
			snprintf(final, flen, "%s", name);
			return 0;
		}
		if (errno == EINVAL || errno == ENOSYS) {
			if (link(tmp, name) == 0) {
				unlink(tmp);
				snprintf(final, flen, "%s", name);
				return 0;
			}
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int savefile_write(const char *path, int flags, savefile_fill_fn fill,
		   void *ctx, char *final, size_t flen, char *err,
		   size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX], pcopy[PATH_MAX];
	int fresh = flags & SAVEFILE_NEW;
	struct stat st;
	int fd = -1, dfd = -1, rc;
	FILE *f = NULL;

	if (final && flen)
		final[0] = '\0';
	if (!path || !*path || strlen(path) + 32 >= PATH_MAX) {
		snprintf(err, errlen, "%.64s...: file name too long",
			 path ? path : "");
		return -ENAMETOOLONG;
	}
	snprintf(pcopy, sizeof(pcopy), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(pcopy));
	/* a new name is never an existing file: nothing to check there */
	if (!fresh && lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(err, errlen, "%s: is a symbolic link, refused",
				 path);
			return -ELOOP;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: is a directory", path);
			return -EISDIR;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			return -EINVAL;
		}
		if (st.st_nlink > 1) {
			snprintf(err, errlen,
				 "%s: has other hard links, refused", path);
			return -EMLINK;
		}
	} else if (!fresh && errno == ENAMETOOLONG) {
		snprintf(err, errlen, "%.64s...: file name too long", path);
		return -ENAMETOOLONG;
	}
	rc = check_components(dir, err, errlen, path);
	if (rc)
		return rc;
	if (fresh && (rc = make_dirs(dir)) != 0) {
		snprintf(err, errlen, "%s: cannot make the directory: %s", path,
			 strerror(-rc));
		return rc;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path,
			 errno == ENOENT ? "directory does not exist"
					 : strerror(errno));
		return rc;
	}
	/* As root, a directory another user can write (without the sticky
	 * bit) lets them swap the file under us: refuse it. */
	if (geteuid() == 0 && fstat(dfd, &st) == 0 &&
	    (((st.st_mode & (S_IWOTH | S_IWGRP)) && !(st.st_mode & S_ISVTX)) ||
	     st.st_uid != 0)) {
		close(dfd);
		snprintf(err, errlen,
			 "%s: directory is writable by another user, refused",
			 path);
		return -EPERM;
	}
	for (int tries = 0; tries < 100; tries++) {
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%d", path, (int)getpid(),
			 tries);
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(dfd);
		return rc;
	}
	(void)fchmod(fd, 0600); /* whatever the umask */
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	rc = fill(f, ctx);
	if (rc == 0 && fflush(f) != 0)
		rc = -errno;
	if (rc == 0 && fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc)
		goto fail;
	if (fresh) {
		rc = rename_fresh(tmp, path, final, flen);
		if (rc)
			goto fail;
	} else {
		if (rename(tmp, path) != 0) {
			rc = -errno;
			goto fail;
		}
		if (final && flen)
			snprintf(final, flen, "%s", path);
	}
	(void)fsync(dfd);
	close(dfd);
	return 0;
fail:
	if (rc == -EIO && errno)
		rc = -errno;
	snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	unlink(tmp);
	close(dfd);
	return rc;
}
