/*
 * procs.h - what bpf/procs.bpf.c and its loader (src/procs_bpf.c) share:
 * the socket owner kept in socket-local storage and the records of
 * "this 5-tuple belongs to that process" the loader drains. Plain __u*
 * types so that both sides compile it.
 */
#ifndef PKTSTAT_BPF_PROCS_H
#define PKTSTAT_BPF_PROCS_H

/* Who created a socket (cgroup/sock_create), in its sk_storage. */
struct pa_owner {
	__u32 tgid;
	__u32 uid;
	char comm[16];
	__u64 last; /* a hash of the tuple last reported, 0: none */
};

/* A tuple as seen from the socket's side: local first. Addresses as in a
 * flow key (IPv4 in the first 4 bytes), ports in host order. */
struct pa_key {
	__u8 laddr[16], raddr[16];
	__u16 lport, rport;
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* 4 or 6 */
	__u8 pad[2];
};

struct pa_val {
	__u32 tgid;
	__u32 uid;
	char comm[16];
};

#define PA_SEEN_MAX 16384

#endif
