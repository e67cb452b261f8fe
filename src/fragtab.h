/*
 * fragtab.h - which flow an IP fragment belongs to.
 *
 * Only the first fragment of a datagram carries its transport header
 * (ports, ICMP type). The table remembers, per datagram, the flow key of
 * its first fragment, under (source, destination, protocol,
 * identification) for IPv4 (RFC 791) and (source, destination,
 * identification) for IPv6 (RFC 8200, section 4.5), so that the later
 * fragments are counted in the same flow. Nothing is reassembled or held:
 * every fragment is counted when it is seen, as a frame on the wire.
 *
 * A later fragment whose first fragment was not seen (lost, reordered
 * before it, filtered out, before the capture began, or forgotten) keeps
 * the key flowkey_from_pkt gave it: kind KIND_IP4 / KIND_IP6 with the
 * datagram's protocol and addresses and no ports, the "fragments, flow
 * unknown" row.
 *
 * Bounded: FRAGTAB_SLOTS datagrams (FRAGTAB_WAYS-way sets; a full set
 * forgets its least recently seen datagram), each forgotten
 * FRAGTAB_TIMEOUT_NS of packet time after its last fragment (the IPv4
 * reassembly timeout of Linux, net.ipv4.ipfrag_time, is 30 s).
 *
 * One table per capture worker, used by that thread only: no locks. Every
 * fragment of a datagram reaches the same worker because the fanout hash
 * of a fragment covers its addresses and protocol only (tpacket3.c).
 */
#ifndef PKTSTAT_FRAGTAB_H
#define PKTSTAT_FRAGTAB_H

#include <stdint.h>

#include "decode.h"
#include "flowkey.h"

#define FRAGTAB_WAYS 4
#define FRAGTAB_SLOTS 4096
#define FRAGTAB_TIMEOUT_NS (30ull * 1000000000ull)

struct fragtab;

/* A table, or NULL when out of memory. Any thread. */
struct fragtab *fragtab_new(void);

/* fragtab_free(NULL) is a no-op. */
void fragtab_free(struct fragtab *t);

/*
 * fragtab_track - @d is a fragment (DEC_F_FRAG set), @key and *@dir what
 * flowkey_from_pkt made of it, @ts_ns its time. A first fragment is
 * remembered with its key and direction. A later fragment of a
 * remembered datagram gets that datagram's key and direction in @key and
 * *@dir. Returns 1 when @key was replaced, else 0 (@key untouched). The
 * owning worker thread only.
 */
int fragtab_track(struct fragtab *t, const struct dec_pkt *d, uint64_t ts_ns,
		  struct flow_key *key, int *dir);

/* Datagrams forgotten while still within their timeout (a full set). */
uint64_t fragtab_evicted(const struct fragtab *t);

#endif
