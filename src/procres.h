/*
 * procres.h - the process resolver: which process owns each local TCP and
 * UDP socket, sent to the store (procs.h) as what changed.
 *
 * A look: sock_diag netlink (inet_diag: TCP and UDP, IPv4 and IPv6)
 * lists the sockets with their inode, owner uid and addresses; a socket
 * not seen before is matched to a process through the socket:[INODE]
 * links of /proc/PID/fd (the nethogs technique), with comm, cmdline and
 * cgroup read from /proc/PID. The /proc walk runs only when a new socket's
 * owner is not known yet, and at most once per PROCRES_SCAN_GAP or ten
 * times its own last duration, whichever is longer. A socket no process
 * holds (the kernel's own) triggers no walk after the first that missed
 * it.
 *
 * When: one look at the start; then only when something may be new
 * (procres_due): the store asks (PROCS_WANT: new flows, procs.h) and the
 * kernel's socket counters of this network namespace moved since the
 * last look (a socket made, connected or closed); then at once, but not
 * sooner than PROCRES_TICK_MS or twenty times the last dump's duration
 * after the last look (at most about 15% of one CPU however many sockets
 * there are). Each ask brings a read of the counters (at most every
 * PROCRES_PROBE_MS). Either sign alone brings a look PROCRES_LAZY_MS
 * later (a closed socket, a socket that moved no counter, as when one
 * opened as another closed); neither, none: idle, the resolver reads two
 * small /proc/net files every PROCRES_LAZY_MS.
 *
 * Threads: procres_start runs it on a thread of its own (all signals
 * blocked); it ends when procres_stop is called or the store's end of the
 * socket is closed. Reads /proc as whoever runs it: as root, every
 * process; otherwise the user's own (other sockets keep only their uid).
 */
#ifndef PKTSTAT_PROCRES_H
#define PKTSTAT_PROCRES_H

#include <stddef.h>
#include <stdint.h>

#define PROCRES_TICK_MS 200
#define PROCRES_LAZY_MS 10000
#define PROCRES_PROBE_MS 100
#define PROCRES_SCAN_GAP_MS 200

struct procres;

/*
 * procres_start - resolve on a new thread, sending struct procs_msg
 * records into @fd (a SOCK_SEQPACKET socket; owned from now on). With
 * PROCRES_EBPF, also load the eBPF attributor (procs_bpf.h, root only)
 * and drain it every PROCRES_EBPF_MS: what it records goes to the store
 * as PROCS_OP_SEEN. If it cannot be loaded, @warn (when not NULL) gets
 * one line saying why and the resolver runs without it. NULL with one
 * line in @err on failure.
 */
#define PROCRES_EBPF 1u
#define PROCRES_EBPF_MS 50
#define PROCRES_SEEN_NS 2000000000ull /* SEEN: closed this long after */
struct procres *procres_start(int fd, unsigned int flags, char *warn,
			      size_t warnlen, char *err, size_t errlen);

/* Stop and join the thread, close the socket. NULL is a no-op. */
void procres_stop(struct procres *r);

/* One socket of an inet_diag reply. Addresses as in a flow key: IPv4 in
 * the first 4 bytes (IPv4-mapped IPv6 ones made IPv4). */
struct procres_sock {
	uint64_t inode;
	uint32_t uid;
	uint8_t ipproto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;	 /* 4 or 6 */
	uint8_t state;	 /* TCP_* (UDP: TCP_ESTABLISHED when connected) */
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];
};

typedef void (*procres_sock_fn)(void *arg, const struct procres_sock *s);

/*
 * procres_parse_diag - one datagram (@len bytes at @buf) of a
 * SOCK_DIAG_BY_FAMILY dump reply for @ipproto: @fn for each socket that
 * has an inode. Every read is bounds-checked (the bytes are the kernel's,
 * but the parser is fuzzed as if they were anyone's). Returns 1 at the
 * dump's end (NLMSG_DONE), 0 when more datagrams follow, -errno for an
 * NLMSG_ERROR or a malformed message. Pure.
 */
int procres_parse_diag(const void *buf, size_t len, uint8_t ipproto,
		       procres_sock_fn fn, void *arg);

/*
 * procres_parse_cgroup - the cgroup of a /proc/PID/cgroup text (@len
 * bytes): the v2 line's path ("0::/system.slice/x.service"), else the
 * name=systemd v1 line's; "" when neither. Pure.
 */
void procres_parse_cgroup(const char *text, size_t len, char *out,
			  size_t outlen);

/* procres_parse_fdlink - the inode of a /proc/PID/fd link's text
 * ("socket:[12345]"), or 0 when it is not a socket. Pure. */
uint64_t procres_parse_fdlink(const char *s, size_t len);

/*
 * procres_parse_stat - field @name of protocol @proto ("TCP", "UDP6") in
 * a /proc/net/sockstat or sockstat6 text of @len bytes ("TCP: inuse 3
 * orphan 0 tw 0 ..."): -1 when absent or not a number. Pure.
 */
int64_t procres_parse_stat(const char *text, size_t len, const char *proto,
			   const char *name);

/* When a look is due (CLOCK_MONOTONIC ns, UINT64_MAX: never), from the
 * last one and the signs of something new since: new flows and moved
 * counters together at once (but not within the gap), either alone
 * PROCRES_LAZY_MS later; a socket the last look left waiting for a /proc
 * walk, when the walk is due. Pure. */
struct procres_cadence {
	uint64_t last_ns;  /* the last look ended */
	uint64_t gap_ns;   /* the least time from one look to the next */
	uint64_t moved_ns; /* socket counters first seen moved, 0: not */
	uint64_t asked_ns; /* the store's first ask since, 0: none */
	uint64_t walk_ns;  /* a walk due for a waiting socket, 0: none */
};
uint64_t procres_due(const struct procres_cadence *c);

/* What the thread has done so far. Any thread. */
struct procres_counts {
	uint64_t looks;	 /* sock_diag dumps */
	uint64_t walks;	 /* /proc walks */
	uint64_t probes; /* reads of the socket counters */
	uint64_t asks;	 /* PROCS_WANT received */
};
void procres_counts(struct procres *r, struct procres_counts *c);

/* Measurement (tools, the man page's figures): one full resolve in this
 * process: the dump, a /proc walk; the sockets found, how many got a
 * process, and the time each part took. */
struct procres_cost {
	size_t sockets, owned, fds;
	uint64_t dump_ns, scan_ns;
};
int procres_measure(struct procres_cost *c, char *err, size_t errlen);

#endif
