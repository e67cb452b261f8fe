/*
 * procs_bpf.h - the eBPF process attributor's loader (bpf/procs.bpf.c):
 * a cgroup/sock_create program names each new TCP or UDP socket's
 * creator in socket-local storage, cgroup_skb programs record each
 * packet's 5-tuple -> creator, and procs_bpf_drain hands the records to
 * the resolver (procres.c), which sends them to the store like its own.
 * Attached to the cgroup v2 root (found in /proc/self/mountinfo; where
 * none is mounted, as under ip netns exec, a private mount of cgroup2
 * attached nowhere) through bpf_link: they cover every process below it
 * and go away with the process that holds the links.
 *
 * Needs CAP_BPF, CAP_NET_ADMIN and, for the private mount, CAP_SYS_ADMIN
 * (root): run by the resolver, in the privileged parent. One thread.
 */
#ifndef PKTSTAT_PROCS_BPF_H
#define PKTSTAT_PROCS_BPF_H

#include <stddef.h>
#include <stdint.h>

#include "procres.h"

struct procs_bpf_ctx;

/* Load and attach. NULL with one line in @err ("eBPF attributor: ..."). */
struct procs_bpf_ctx *procs_bpf_open(char *err, size_t errlen);

/*
 * procs_bpf_drain - every record so far, as @fn(@arg, socket, pid, comm)
 * (socket: addresses, ports, protocol and uid; inode 0), removed from the
 * map. Returns how many.
 */
typedef void (*procs_bpf_fn)(void *arg, const struct procres_sock *s,
			     int32_t pid, const char *comm);
size_t procs_bpf_drain(struct procs_bpf_ctx *pb, procs_bpf_fn fn, void *arg);

/* procs_bpf_cgroup_root - the cgroup v2 mount point from a mountinfo
 * text (@len bytes) into @out: 0, or -ENOENT. Pure. */
int procs_bpf_cgroup_root(const char *mountinfo, size_t len, char *out,
			  size_t outlen);

/* Detach and free. NULL is a no-op. */
void procs_bpf_close(struct procs_bpf_ctx *pb);

#endif
