/*
 * metrics.h - Prometheus metrics: the text exposition format of what the
 * engine counts, served on /metrics by libmicrohttpd (--metrics) and/or
 * written to a file for node_exporter's textfile collector
 * (--metrics-file).
 *
 * Threads: the engine's tick thread (UI or batch loop) fills a struct
 * metrics_input from the engine's counters and calls metrics_publish,
 * which formats the text and swaps it in under a mutex. libmicrohttpd's
 * own thread answers each scrape with a copy of the latest text: a scrape
 * never reaches the capture threads, the flow table or the tick thread,
 * and a slow scraper holds only its own copy.
 */
#ifndef PKTSTAT_METRICS_H
#define PKTSTAT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../capture/capture.h"
#include "counters.h"
#include "decode.h"
#include "flowtab.h"

/* One captured interface ("any" when capturing on all of them). */
struct metrics_iface {
	const char *name;
	uint64_t pkts[KIND_COUNT]; /* per enum dec_kind */
	uint64_t bytes[KIND_COUNT];
	struct cap_stats cap;
};

/* IPFIX export counters (src/ipfix.h), when the export is on. */
struct metrics_ipfix {
	uint64_t records;      /* data records handed to the collector */
	uint64_t drop_records; /* records lost: queue full or send failed */
	uint64_t drop_pkts;    /* packets in those records */
	uint64_t drop_bytes;   /* octets (octetDeltaCount) in them */
	uint64_t queue_depth;  /* records waiting now */
	uint64_t send_errors;  /* messages the transport refused */
};

struct metrics_input {
	const struct metrics_iface *ifaces;
	size_t nifaces;
	struct flowtab_counts overflow[KIND_COUNT];
	uint64_t flows_live, flows_max, flows_expired, flows_evicted;
	uint64_t malformed;
	const struct counters_value *sessions; /* named counters */
	size_t nsessions;
	const struct flowtab_row *top; /* largest flows, largest first */
	size_t ntop;
	const struct metrics_ipfix *ipfix; /* NULL: no IPFIX export */
	uint64_t start_wall_ns;		   /* when the run started */
};

struct metrics;

/*
 * metrics_format - the exposition text of @in into *@buf (malloc'd,
 * NUL-terminated; the caller frees it), length in *@len. Pure; any
 * thread. 0 or -ENOMEM.
 */
int metrics_format(const struct metrics_input *in, char **buf, size_t *len);

/*
 * metrics_parse_addr - "PORT", "ADDR:PORT" or "[V6ADDR]:PORT" into a
 * socket address (loopback when only a port is given; "0.0.0.0:PORT"
 * or "[::]:PORT" for every address). @sa must hold a sockaddr_in6.
 * 0 or -EINVAL with a line in @err.
 */
struct sockaddr;
int metrics_parse_addr(const char *spec, struct sockaddr *sa,
		       unsigned int *salen, char *err, size_t errlen);

/*
 * metrics_new - serve /metrics on @addr (NULL: no server) and/or keep
 * @file (NULL: none) up to date. Starts libmicrohttpd's thread: call
 * after the privilege drop (a thread made before would keep root's
 * capabilities) with the signals the main thread handles blocked.
 * Until the first metrics_publish a scrape gets only the start time.
 * NULL with a line in @err ("127.0.0.1:9100: Address already in use").
 */
struct metrics *metrics_new(const char *addr, const char *file, char *err,
			    size_t errlen);

/*
 * metrics_publish - format @in and make it what the next scrape sees;
 * with a file, write it (temporary file in the same directory, then
 * rename: node_exporter never reads half a file). Tick thread. 0, or
 * -errno with "path: reason" in @err (the served text is updated
 * anyway).
 */
int metrics_publish(struct metrics *m, const struct metrics_input *in,
		    char *err, size_t errlen);

/* Scrapes answered so far. Any thread. */
uint64_t metrics_scrapes(const struct metrics *m);

/* Stop the server (waits for its thread) and free. NULL is a no-op. */
void metrics_free(struct metrics *m);

#endif
