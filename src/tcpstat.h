/*
 * tcpstat.h - Paul Herman's tcpstat(1): interval statistics printed with
 * a -o format, accounting (-a) and bandwidth (-b/-B) summaries.
 *
 * Behaviour follows tcpstat 1.5:
 *  - The first interval starts at the first packet's timestamp; interval k
 *    covers (begin + (k-1)i, begin + ki] (the very first also includes its
 *    start). A packet past the end closes the interval: it is printed, and
 *    every empty interval up to that packet is printed as zeros (unless
 *    TCPSTAT_SKIP_EMPTY, tcpstat -e).
 *  - Rates divide by the interval length, also for the last, partial one;
 *    with interval 0 (tcpstat's "-1": the whole capture) by the time from
 *    the interval's start to the last packet.
 *  - %S/%s print the middle of the interval: begin + length / 2 (%S
 *    rounded to whole seconds); %R/%r the same minus the first packet's
 *    time; -R (relative_s) is subtracted from all four.
 *  - %d is the population standard deviation sqrt(E[x^2] - E[x]^2).
 *  - %l is load / peak: load is an exponential average of %b with a
 *    60-second time constant (seeded with the first interval's %b,
 *    decayed through empty intervals), peak the highest %b so far.
 *  - Packet size: the wire length minus the link header (TCPSTAT_LINK,
 *    tcpstat -l, keeps it). ARP counts in %A, IPv4 and IPv6 in %I and %V,
 *    and by IP protocol TCP %T, UDP %U, ICMP or ICMPv6 %C.
 *  - Unknown "%x" prints as is; "%<digits>" switches the rest of the line
 *    to that file descriptor (> 256 means stdout); "\a \b \f \n \r \t \v"
 *    are escapes and "\x" prints x.
 *  - -a prints "Bytes/sec\t= %8.1f  B" (KB, MB, GB above 1024^n) per
 *    second, minute, hour, day and 30-day month; -b/-B print the time
 *    and share of time above the bandwidth, then the peak. With -b
 *    (smart) an interval's bytes above the bandwidth carry into the next
 *    interval that has packets, as in tcpstat.
 * Chosen differently from tcpstat 1.5, on purpose:
 *  - "%%" prints one '%' as its manual says (1.5 prints "%%").
 *  - -a/-b count the last interval once (1.5 adds its length twice to the
 *    total time, understating bytes/s and the share above bandwidth).
 *  - The link header is the decoded one: VLAN tags and cooked (SLL)
 *    headers are not counted as IP bytes; DLT_NULL's 4-byte header is
 *    removed too. IPv6 packets count as TCP/UDP/ICMPv6 by the protocol
 *    after their extension headers; ARP counts on any link type.
 *  - A rate over a zero-length interval (one packet with interval 0)
 *    prints 0.00, not inf/nan; a capture with no packet prints no
 *    interval line.
 *  - Live captures may close intervals by the clock (tcpstat_advance)
 *    instead of waiting for the next packet.
 *
 * Threads: one producer (the capture thread that reads the packets, in
 * timestamp order) calls tcpstat_packet, tcpstat_advance,
 * tcpstat_wait_room and, once, at the end, tcpstat_finish. Completed
 * lines go to an internal queue guarded by a mutex that is held only to
 * link or unlink entries; the main thread prints them with tcpstat_drain.
 * tcpstat_request_print and tcpstat_release may be called from any
 * thread.
 */
#ifndef PKTSTAT_TCPSTAT_H
#define PKTSTAT_TCPSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decode.h"

/* The format used when none is given. */
#define TCPSTAT_DEFAULT_FORMAT "Time:%S\\tn=%n\\tavg=%a\\tstddev=%d\\tbps=%b\\n"
/* tcpstat's default interval. */
#define TCPSTAT_DEFAULT_INTERVAL_NS 5000000000ull

/* tcpstat_conf.flags */
#define TCPSTAT_LINK 0x01	/* -l: count the link-layer header */
#define TCPSTAT_SKIP_EMPTY 0x02 /* -e: no lines for empty intervals */

enum tcpstat_mode {
	TCPSTAT_MODE_INTERVAL,	    /* each interval, by the format */
	TCPSTAT_MODE_ACCOUNT,	    /* -a: estimated bytes per second.. */
	TCPSTAT_MODE_BANDWIDTH,	    /* -b BPS: excess carried over */
	TCPSTAT_MODE_DUMB_BANDWIDTH /* -B BPS: each interval on its own */
};

struct tcpstat_conf {
	const char *format;   /* -o, NULL = TCPSTAT_DEFAULT_FORMAT */
	uint64_t interval_ns; /* 0 = one interval for the whole capture */
	int flags;	      /* TCPSTAT_* */
	enum tcpstat_mode mode;
	double bandwidth_bps; /* -b / -B, > 0 in the bandwidth modes */
	uint64_t capture_ns;  /* -s: ignore packets later than the first
				 packet + this, and pad the output up to
				 it at the end; 0 = no limit. When shorter
				 than the interval, the interval becomes
				 the whole capture (as tcpstat does). */
	double relative_s;    /* -R: subtracted from printed times */
};

struct tcpstat;

/*
 * tcpstat_new - check @conf and build the state. The format is checked
 * for "%N" descriptor switches: each descriptor other than 1 (and below
 * 257) must be open now and be a regular file, FIFO or character device
 * (never one of our sockets), so call this before pktstat opens its own
 * descriptors. Returns NULL with one line in @err (-o or -b named).
 * Main thread.
 */
struct tcpstat *tcpstat_new(const struct tcpstat_conf *conf, char *err,
			    size_t errlen);

/* Free everything, queued lines included. tcpstat_free(NULL) is a no-op.
 * No other thread may use @t any more. */
void tcpstat_free(struct tcpstat *t);

/*
 * tcpstat_packet - account one packet. @d is its decoding, @dlt its link
 * type (used for the link header length when @d found no network
 * layer), @wirelen its length on the wire, @ts_ns its timestamp.
 * Producer thread only; never blocks (closing an interval formats it
 * into the queue). A packet older than the current interval's start
 * counts in the current interval.
 */
void tcpstat_packet(struct tcpstat *t, const struct dec_pkt *d, int dlt,
		    uint32_t wirelen, uint64_t ts_ns);

/*
 * tcpstat_advance - the clock says it is @now_ns: close every interval
 * that ended before it, as if a packet had arrived at @now_ns (live
 * captures, so that quiet periods still print; pass the wall clock minus
 * a small allowance for packets still in flight). Also performs a
 * pending tcpstat_request_print. Does nothing before the first packet or
 * in whole-capture mode without a request. Producer thread only.
 */
void tcpstat_advance(struct tcpstat *t, uint64_t now_ns);

/*
 * tcpstat_request_print - SIGUSR1: print the current, partial interval
 * now (its length is then the time actually elapsed) and start a new one
 * there. Performed by the producer at its next tcpstat_packet (tcpstat's
 * own rule) or tcpstat_advance. Any thread; async-signal-safe (one
 * atomic store).
 */
void tcpstat_request_print(struct tcpstat *t);

/*
 * tcpstat_finish - the end of the capture (end of file, -s reached,
 * SIGINT): print the last interval (and, with capture_ns, the empty ones
 * up to it), then the -a or -b/-B summary. Later packets are ignored.
 * Producer thread, or any thread once the producer has stopped.
 */
void tcpstat_finish(struct tcpstat *t);

/*
 * tcpstat_drain - print and free the queued lines: descriptor 1 goes to
 * @out (flushed at the end), other descriptors are written with write(2).
 * Returns the number of lines (interval outputs) printed, or -errno
 * (e.g. -EPIPE) from the first failed write; the lines are freed either
 * way. Main thread (one drainer at a time).
 */
int tcpstat_drain(struct tcpstat *t, FILE *out);

/*
 * tcpstat_wait_room - backpressure: while more than TCPSTAT_QUEUE_MAX
 * bytes of output wait for tcpstat_drain, wait for it (at most
 * TCPSTAT_WAIT_MS per call), so that a slow reader slows the capture
 * instead of growing the queue without bound. Producer thread, between
 * ring blocks: never inside an RCU read-side section. Returns 0, or
 * -ETIMEDOUT when the queue is still full.
 */
#define TCPSTAT_QUEUE_MAX (4u << 20)
#define TCPSTAT_WAIT_MS 1000
int tcpstat_wait_room(struct tcpstat *t);

/*
 * tcpstat_release - stop tcpstat_wait_room from waiting, now and later
 * (call it before joining the producer, so that a full queue cannot hold
 * the exit). Any thread.
 */
void tcpstat_release(struct tcpstat *t);

/*
 * tcpstat_packet_size - the size tcpstat counts for a packet: @wirelen
 * minus the link header (unless TCPSTAT_LINK is in @flags). Pure.
 */
uint32_t tcpstat_packet_size(const struct dec_pkt *d, int dlt, uint32_t wirelen,
			     int flags);

#endif
