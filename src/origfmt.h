/*
 * origfmt.h - flow descriptions and -1 batch output of the original C
 * pktstat (David Leonard's, 1.8), built from our flow rows.
 *
 * Descriptions, numeric addresses (the original resolves names unless
 * -n; that is left to a resolver in front of this module):
 *   tcp 10.0.0.1:22 <-> 10.0.0.2:51000      udp ... / tcp6 / udp6 with
 *   tcp6 2001:db8::1,22 <-> 2001:db8::2,80  "addr,port" for IPv6
 *   icmp echo 10.0.0.1 <-> 10.0.0.2         named ICMP types (echo,
 *                 tstamp, info, addrmask, routeradvert, timxceed, ...)
 *   icmp unreach 10.0.0.1 -> 10.0.0.2       redirect likewise; directional
 *   icmp 42 10.0.0.1 -> 10.0.0.2            unnamed types
 *   icmp6 2001:db8::1 <-> 2001:db8::2
 *   igmp A <-> B   ip proto 47 A <-> B   ip6 A <-> B proto 0
 *   ip fragments   ip6 fragments         (later fragments, flow unknown)
 *   arp   rev-arp   ipx   llc   pppoe   loopback   ethertype 0x88cc
 * The two sides of "<->" are ordered by strcmp of their text (so
 * "10.0.0.1:5353" comes before "10.0.0.1:55079"), as in the original.
 * Abbreviations apply twice, as there: to the "A <-> B" part (tried as
 * "src <-> dst" first, then "dst <-> src") and to the whole description.
 *
 * Differences forced by our flow key, which keeps neither the ICMP code
 * nor 802.2 SAPs nor the inner packet of a tunnel: "icmp unreach" and
 * "icmp redirect" lack the code word ("port", "host", ...), unnamed ICMP
 * types print "icmp T" instead of "icmp T/C", 802.3 frames are "llc" or
 * "ipx" without SAPs, IPv6-in-IPv4 is "ip proto 41 A <-> B", and a later
 * IP fragment is counted in its datagram's flow (the original reassembled
 * datagrams), or as "ip fragments" / "ip6 fragments" when the first
 * fragment was not seen (fragtab.h).
 *
 * Pure: no globals, no I/O but the FILE given; any thread.
 */
#ifndef PKTSTAT_ORIGFMT_H
#define PKTSTAT_ORIGFMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "abbrev.h"
#include "flowtab.h"
#include "snapshot.h"

/* Flags */
#define ORIGFMT_NOCOMBINE 0x01 /* -c: "src -> dst", one flow a direction */
#define ORIGFMT_SERVICES \
	0x02 /* port names from services(5), as without
				  -n (getservbyport_r) */

/* The original's TAGLEN: descriptions are cut to this many bytes - 1. */
#define ORIGFMT_DESC_MAX 1024

/* Batch line order. */
enum origfmt_sort {
	ORIGFMT_SORT_DESC,    /* default: by description (strcmp) */
	ORIGFMT_SORT_OCTETS,  /* -t: most octets first */
	ORIGFMT_SORT_PACKETS, /* -t -p: most packets first */
	ORIGFMT_SORT_LAST,    /* -l: most recently seen first */
};

/* One row of output: every flow row and direction with this description. */
struct origfmt_flow {
	char *desc;
	uint64_t octets, packets; /* link-layer bytes, frames */
	uint64_t last_ns;	  /* latest last-seen of the rows merged */
};

/*
 * origfmt_describe - the description of the packets of @row sent in
 * direction @dir (FLOW_DIR_AB: by endpoint A), after abbreviation by @ab
 * (may be NULL). Without ORIGFMT_NOCOMBINE both directions of most flows
 * describe alike. Writes at most @len bytes into @buf and returns @buf.
 */
const char *origfmt_describe(const struct flowtab_row *row, int dir,
			     const struct abbrev *ab, int flags, char *buf,
			     size_t len);

/*
 * origfmt_collect - merge the rows of @s by description (each direction
 * with packets counts under its own description) into *@out, sorted by
 * description. Returns the number of flows or -ENOMEM. Free the result
 * with origfmt_flows_free.
 */
ssize_t origfmt_collect(const struct snapshot *s, const struct abbrev *ab,
			int flags, struct origfmt_flow **out);

/* Order @f for output; ties keep description order. */
void origfmt_sort(struct origfmt_flow *f, size_t n, enum origfmt_sort how);

void origfmt_flows_free(struct origfmt_flow *f, size_t n);

/*
 * origfmt_write_batch - the original's -1 output:
 *   "<flows> <period>\n" (period "%f", seconds), then per flow
 *   "<octets> <packets> <description>\n".
 * The original prints these same columns whatever -B, -p or -T say; only
 * the order changes (@how). Returns 0, -ENOMEM, or -EIO when a write
 * failed.
 */
int origfmt_write_batch(FILE *out, const struct snapshot *s, double period_s,
			const struct abbrev *ab, int flags,
			enum origfmt_sort how);

#endif
