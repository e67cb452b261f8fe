/*
 * savefile.h - write a file safely: a temporary file in the same
 * directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), fsync, rename over
 * the path, fsync the directory. On failure no temporary file is left and
 * the old file is intact. Any thread.
 */
#ifndef PKTSTAT_SAVEFILE_H
#define PKTSTAT_SAVEFILE_H

#include <stddef.h>
#include <stdio.h>

/* Writes the file's content into @out; 0 or -errno. */
typedef int (*savefile_fill_fn)(FILE *out, void *ctx);

/* savefile_write's flags: */
#define SAVEFILE_NEW \
	0x1 /* never replace: @path if free, else the first free of       	       NAME-1.EXT, NAME-2.EXT ...; missing directories are made   	       (0700) */

/*
 * savefile_write - write what @fill produces to @path as above (with
 * SAVEFILE_NEW, to a name nothing has). Refused: a symbolic link or a
 * hard-linked file at @path, a directory or other non-regular file, and
 * (as root) a path through a directory another user owns or can write.
 * The name written goes to @final (may be NULL). Returns 0 or -errno
 * with "path: reason" in @err.
 */
int savefile_write(const char *path, int flags, savefile_fill_fn fill,
		   void *ctx, char *final, size_t flen, char *err,
		   size_t errlen);

#endif
