/*
 * ipfix.h - flow export to an IPFIX collector (RFC 7011 transport, RFC
 * 7012 information elements) through libfixbuf: one record per flow
 * direction, cut by an active timeout, ended by an idle timeout, by the
 * flow leaving pktstat's table, or at exit.
 *
 * Threads (none of them a capture thread; the per-packet path is not
 * touched):
 *  - the scanner, registered with liburcu: every second copies the live
 *    flows (through the ipfix_collect_fn it was given) and turns what
 *    changed since the flow's last export into records when a timeout
 *    says so;
 *  - ipfix_flow_end, called for each flow that leaves the table (from
 *    liburcu's call_rcu thread, flowtab_set_end_hook's rules): its final
 *    counts become records at once;
 *  - the sender pops records off a bounded queue and hands them to
 *    libfixbuf. The scanner waits for room while the sender makes
 *    progress; the flows leaving the table never wait: a record that
 *    finds the queue full then is dropped and counted (records, packets,
 *    octets), as is a message the transport refuses.
 * Deltas: the module keeps, per flow id, what it exported so far; the
 * flow table itself carries nothing more.
 *
 * Octets: octetDeltaCount is the IP header and payload (RFC 7012), while
 * pktstat counts frames on the wire. The link header is constant for a
 * flow (one link type per capture; a flow's VLAN tag is part of its key,
 * so all its frames carry it or none do), so octets = bytes - packets x
 * header, the header being the link type's (Ethernet 14, Linux cooked
 * 16 or 20, raw IP 0) plus 4 when the flow's 802.1Q tag is in the frame.
 * What this cannot see: Ethernet padding of frames shorter than 60 bytes
 * on real NICs (counted as octets), a second (QinQ) tag, an 802.1p
 * priority tag (VLAN 0), and a flow seen on interfaces of different link
 * types.
 */
#ifndef PKTSTAT_IPFIX_H
#define PKTSTAT_IPFIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "flowtab.h"

/* RFC 7012 flowEndReason values. */
#define IPFIX_END_IDLE 1
#define IPFIX_END_ACTIVE 2
#define IPFIX_END_FORCED 4
#define IPFIX_END_RESOURCES 5

struct ipfix_conf {
	const char *spec;	  /* HOST:PORT[/udp|/tcp] */
	uint64_t active_ns;	  /* export a flow at least this often */
	uint64_t idle_ns;	  /* end a record after this long idle */
	unsigned int link_hdr;	  /* link header bytes of every frame */
	int vlan_in_frame;	  /* tagged flows' frames carry the tag */
	uint32_t ingress_ifindex; /* ingressInterface (0: several) */
	size_t queue_len;	  /* records; 0: IPFIX_QUEUE_DEFAULT */
	int offline;		  /* -r: no timeouts, all at exit */
};
#define IPFIX_QUEUE_DEFAULT 65536

struct ipfix_stats {
	uint64_t records, pkts, octets;		       /* sent */
	uint64_t drop_records, drop_pkts, drop_octets; /* lost */
	uint64_t queue_depth;
	uint64_t send_errors;
};

struct ipfix;

/*
 * ipfix_parse_spec - "HOST:PORT", "[V6]:PORT", either with "/udp" (the
 * default) or "/tcp". 0 or -EINVAL with a line in @err. Pure.
 */
int ipfix_parse_spec(const char *spec, char *host, size_t hostlen, char *port,
		     size_t portlen, int *tcp, char *err, size_t errlen);

/*
 * ipfix_new - set up the exporter (templates sent at once: a TCP
 * collector that refuses is an error here) and start the sender. After
 * the privilege drop, signals blocked. NULL with a line in @err.
 */
struct ipfix *ipfix_new(const struct ipfix_conf *c, char *err, size_t errlen);

/*
 * A copy of every live flow into *@rows (grown with realloc, capacity in
 * *@cap), as flowtab_collect: the number of rows or -ENOMEM. Called on the
 * scanner thread, registered with liburcu.
 */
typedef ssize_t (*ipfix_collect_fn)(void *arg, struct flowtab_row **rows,
				    size_t *cap);

/*
 * ipfix_start - start the scanner over the flows @collect copies (none
 * offline: everything goes at exit). Before the capture workers start;
 * from then on every flow that leaves the table must be passed to
 * ipfix_flow_end. 0 or -errno with a line in @err.
 */
int ipfix_start(struct ipfix *x, ipfix_collect_fn collect, void *arg, char *err,
		size_t errlen);

/*
 * ipfix_flow_end - a flow left the table (idle expiry, or @evicted under
 * pressure) with these final counts: its last records. Any one thread at
 * a time per flow (the table's call_rcu thread); never waits for the
 * queue.
 */
void ipfix_flow_end(struct ipfix *x, const struct flowtab_row *r, int evicted);

/*
 * ipfix_finish - at exit, once the workers are joined and the table
 * settled: stop the scanner, export what every live flow of @live still
 * holds (flowEndReason forced end), waiting up to @wait_ns in all for
 * room in the queue and for the sender to send everything and stop (at
 * least 2 s for the last message); what is still queued then is counted
 * as dropped and the sender is left to the exit. Main thread.
 */
struct snapshot;
void ipfix_finish(struct ipfix *x, const struct snapshot *live,
		  uint64_t wait_ns);

/* Counters so far. Any thread. */
void ipfix_get_stats(struct ipfix *x, struct ipfix_stats *st);

/* The collector as given ("127.0.0.1:4739/udp"). */
const char *ipfix_target(const struct ipfix *x);

/* Stop everything (ipfix_finish first for a clean end). NULL: no-op. */
void ipfix_free(struct ipfix *x);

/*
 * ipfix_octets - octetDeltaCount of @pkts frames totalling @bytes of a
 * flow with key @k under @c's link header rule (see the top). Pure.
 */
uint64_t ipfix_octets(const struct ipfix_conf *c, const struct flow_key *k,
		      uint64_t pkts, uint64_t bytes);

#endif
