/*
 * privs.h - dropping privileges, and the privileged snapshot writer.
 *
 * Started as root, pktstat forks before it opens anything: the parent
 * keeps root but does nothing except forward signals and create snapshot
 * files (so a snapshot can still go to a root-owned directory): it checks
 * the path, opens the temporary file, lends its descriptor to the child,
 * which writes the report into it, and on the child's commit syncs and
 * renames it; the child opens the capture sockets and files, then
 * drops to -Z USER (default nobody) with no supplementary groups, no
 * capabilities and no_new_privs, and runs everything else. Started
 * without root (file capabilities), the process drops its capabilities
 * after set-up and writes snapshots itself. Main thread only.
 */
#ifndef PKTSTAT_PRIVS_H
#define PKTSTAT_PRIVS_H

#include <stddef.h>

#include "report.h"
#include "snapshot.h"

struct privs;

/*
 * privs_fork - if running as root and @user is not "root", fork the
 * privileged snapshot writer. Returns 0 in the child (which goes on) with
 * *@p set; the parent never returns: it exits with the child's status.
 * Without root it only allocates *@p. 0 or -errno with a line in @err.
 * Must be called before any thread is started.
 *
 * With PRIVS_PROCS in @flags, the forked parent also runs the process
 * resolver (procres.h) on a thread of its own: only root reads every
 * process's /proc/PID/fd, and the child, which parses packets, keeps no
 * capability for it (CAP_SYS_PTRACE would let it read any process's
 * memory). The child takes the resolver's socket with privs_procs_fd.
 */
#define PRIVS_PROCS 1u
#define PRIVS_PROCS_EBPF 2u /* and the eBPF attributor (procres.h) */
/* it was asked for (--procs-ebpf): say why when it cannot run; implied by
 * the ebpf backend, the resolver alone names processes then */
#define PRIVS_PROCS_EBPF_ASKED 4u
int privs_fork(struct privs **p, const char *user, unsigned int flags,
	       char *err, size_t errlen);

/* privs_procs_fd - the child's end of the forked parent's resolver
 * socket, handed over (the caller closes it), or -1: not forked, or no
 * PRIVS_PROCS (resolve in this process, procres_start). */
int privs_procs_fd(struct privs *p);

/*
 * privs_drop - after sockets, rings and files are open: switch to the
 * target user (if forked as root), clear supplementary groups and every
 * capability, set no_new_privs. 0 or -errno with a line in @err.
 */
int privs_drop(struct privs *p, char *err, size_t errlen);

/*
 * privs_keep_bpf - make privs_drop keep CAP_BPF and CAP_NET_ADMIN (the
 * ebpf backend loads a new tc or XDP program when the capture filter
 * changes). Call before privs_drop.
 */
void privs_keep_bpf(struct privs *p);

/*
 * privs_write_report - write a report of @s to @path safely (savefile_write
 * rules and @flags: REPORT_SAVE_NEW never replaces a file), through the
 * privileged parent when there is one; the name written goes to
 * @written (may be NULL).
 */
int privs_write_report(struct privs *p, const char *path, int flags,
		       struct snapshot *s, const struct report_meta *m,
		       char *written, size_t wlen, char *err, size_t errlen);

/* privs_free(NULL) is a no-op. */
void privs_free(struct privs *p);

#endif
