/*
 * snapname.h - where snapshot files go and what they are called.
 *
 * By default a snapshot is a new JSON file named after the moment it is
 * written, pktstat-YYYYmmdd-HHMMSS.json (local time), in the snapshot
 * directory: $XDG_STATE_HOME/pktstat, else ~/.local/state/pktstat. Files
 * there are never replaced (savefile_write's SAVEFILE_NEW adds -1, -2
 * ...). --snapshot names a file instead (replaced at each write) or,
 * when it is a directory or ends in '/', another snapshot directory.
 *
 * Pure: reads the environment and the file system's idea of @given only;
 * any thread.
 */
#ifndef PKTSTAT_SNAPNAME_H
#define PKTSTAT_SNAPNAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * snapname_resolve - from --snapshot's argument @given (NULL: none), the
 * snapshot directory into @dir (timestamped new files; returns 1) or the
 * one file into @file (returns 0). The default directory needs $HOME or
 * $XDG_STATE_HOME (absolute); with neither it is "./pktstat". -ENAMETOOLONG
 * when a path does not fit.
 */
int snapname_resolve(const char *given, char *dir, size_t dlen, char *file,
		     size_t flen);

/* "@dir/pktstat-YYYYmmdd-HHMMSS.json" for @wall_ns (CLOCK_REALTIME) in
 * local time. snprintf contract. */
int snapname_make(const char *dir, uint64_t wall_ns, char *buf, size_t len);

#endif
