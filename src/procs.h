/*
 * procs.h - which local process owns a flow: the store of local sockets
 * and their owners that the resolver (procres.h) feeds, and the lookup the
 * reports and the monitor make per flow.
 *
 * The resolver runs where it can read every process's /proc/PID/fd (the
 * root parent of privs.h, or this process when it was not started as
 * root) and sends what changed as fixed-size messages (struct procs_msg)
 * over a SOCK_SEQPACKET socket; procs_new's thread applies them here.
 * Nothing of it is on the capture path: a flow is matched to a socket
 * only when a front end asks (procs_lookup).
 *
 * Threads: procs_new starts one reader thread, which alone changes the
 * store; procs_lookup and procs_stats may be called from any thread at
 * the same time (a mutex, held for one lookup: a few hash probes).
 */
#ifndef PKTSTAT_PROCS_H
#define PKTSTAT_PROCS_H

#include <stddef.h>
#include <stdint.h>

#include "flowtab.h"

#define PROCS_UID_NONE 0xffffffffu

/* A local socket's owner. Strings are NUL-terminated printable ASCII
 * ("" when unknown; other bytes become '?'). */
struct procs_info {
	int32_t pid;  /* 0: not known (the user may be: the socket's uid) */
	uint32_t uid; /* PROCS_UID_NONE: not known */
	char comm[16];
	char user[32];
	char cgroup[128]; /* the cgroup v2 path ("/system.slice/x.service") */
	char cmdline[160];
};

enum procs_op {
	PROCS_OP_ADD = 1, /* a socket seen, or its owner now known */
	PROCS_OP_GONE,	  /* the socket is closed */
	/* seen at a packet by the eBPF attributor, which does not see the
	 * close: a socket not known open is taken as closed at time_ns (a
	 * little after the packet) unless the resolver finds it open */
	PROCS_OP_SEEN,
};

/*
 * One message from the resolver. Addresses as in a flow key: IPv4 in the
 * first 4 bytes (an IPv4-mapped IPv6 socket address comes as IPv4). A
 * socket not connected anywhere (listening, or UDP without connect) has a
 * zero remote address and port; one bound to no address a zero local
 * address.
 */
struct procs_msg {
	uint8_t op;	 /* enum procs_op */
	uint8_t ipproto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;	 /* 4 or 6 */
	uint8_t pad;
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];
	uint64_t time_ns; /* CLOCK_REALTIME when the resolver saw it */
	struct procs_info info;
};

struct procs;

/*
 * procs_new - an empty store fed by the messages read from @fd (owned
 * from now on; -1: none, for tests that call procs_apply), on a thread of
 * its own (started here: with the signals blocked, after the privilege
 * drop). NULL with one line in @err on failure.
 */
struct procs *procs_new(int fd, char *err, size_t errlen);

/* Stop the reader (if any), free everything. NULL is a no-op. */
void procs_free(struct procs *p);

/*
 * procs_apply - one message, as the reader thread applies it: checked
 * first (an unknown op or protocol is ignored, strings are cut at their
 * end and made printable). 0, or -EINVAL (ignored), -ENOSPC (the store is
 * full: PROCS_MAX sockets). Thread-safe.
 */
#define PROCS_MAX 65536
int procs_apply(struct procs *p, const struct procs_msg *m);

/*
 * procs_lookup - the process owning the local end of row @r's flow (TCP
 * or UDP), as far as known: a socket of exactly its addresses and ports
 * first, then one bound to its local address and port with no peer, then
 * one bound to the port on any address (only for an address of this
 * host). When both ends are local (loopback), the A end's. A socket
 * closed before the flow's first packet is never matched. Returns the
 * side whose socket it is (0 = A, 1 = B) with @out filled, or -1 (not
 * known). Any thread; @p may be NULL (nothing known).
 */
int procs_lookup(struct procs *p, const struct flowtab_row *r,
		 struct procs_info *out);

/* procs_label - "comm[pid]" ("[pid]" without a comm), or "user" when only
 * the socket's user is known; "-" when nothing is. */
void procs_label(const struct procs_info *i, int known, char *buf, size_t len);

/* procs_group_name - group.h's namer for process groups (@arg: the struct
 * procs): "comm[pid]", or the socket's user when only that is known, as
 * the reports name them; the side whose socket it is, or -1. */
int procs_group_name(void *arg, const struct flowtab_row *r, char *buf,
		     size_t len);

/* procs_cgroup_short - a short name of cgroup path @cg: the systemd unit
 * ("ssh.service"), "docker:" and a container id's first 12 digits, else
 * the last component; "" for "" or "/". */
void procs_cgroup_short(const char *cg, char *buf, size_t len);

/* Figures for the man page and tests. */
struct procs_stats {
	uint64_t msgs;	  /* messages applied */
	uint64_t sockets; /* sockets known now (live and recently closed) */
	uint64_t full;	  /* messages refused: store full */
};
void procs_stats(struct procs *p, struct procs_stats *st);

/*
 * procs_set_demand - what tells the resolver that a look may be worth
 * it: @fn(@arg) is a count that grows as flows are created (any thread
 * may call it; it must be cheap: the reader thread calls it every
 * PROCS_DEMAND_MS after it moved, backing off to PROCS_DEMAND_MAX_MS
 * while it does not). When it has moved, the reader sends PROCS_WANT
 * (one byte) back to the resolver, which then looks soon if the kernel's
 * socket counters moved too (procres.h). Without it (NULL, the default)
 * the resolver looks only as slowly as it does when nothing is new.
 * Call before the flows start; @arg must outlive the store's reader.
 */
typedef uint64_t (*procs_demand_fn)(void *arg);
#define PROCS_DEMAND_MS 50
#define PROCS_DEMAND_MAX_MS 200
#define PROCS_WANT 'W'
void procs_set_demand(struct procs *p, procs_demand_fn fn, void *arg);

/* Add @n local addresses (for the any-address match; the reader thread
 * refreshes them itself with getifaddrs every few seconds). Tests. */
void procs_set_local(struct procs *p, const uint8_t (*addr)[16],
		     const uint8_t *family, size_t n);

#endif
