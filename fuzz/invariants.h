/*
 * invariants.h - what must hold for any input, whoever feeds it: the three
 * libFuzzer targets (fuzz/fuzz_*.c) and the regression replay
 * (tests/test_fuzz_regress.c) run the same functions, so a finding replays
 * exactly as it was found, without libFuzzer.
 *
 * Each invariants_<target> function interprets one input the way its
 * fuzz target documents it (see fuzz/README), runs it through the real
 * code, checks every invariant and returns 0, or -1 with one line naming
 * the broken invariant in @why. A malformed input is not a violation: only
 * a broken promise of decode.h, flowkey.h, flowtab.h, worker.h or
 * capture.h is.
 *
 * Threads: the caller is registered with liburcu (rcu_register_thread) and
 * outside any read-side section; the functions are not reentrant for one
 * thread (they take and drop rcu_read_lock themselves).
 */
#ifndef PKTSTAT_FUZZ_INVARIANTS_H
#define PKTSTAT_FUZZ_INVARIANTS_H

#include <stddef.h>
#include <stdint.h>

#include "../src/worker.h"
#include "../src/decode.h"
#include "../src/flowtab.h"

/* Link types a selector byte picks from (the last one is unsupported). */
#define INVARIANTS_NDLT 10

/* Live flows the flowtab and pcapfile targets allow: overflow constantly. */
#define INVARIANTS_MAX_FLOWS 8

/* Packets one input may feed (bounds an input's run time). */
#define INVARIANTS_MAX_PKTS 100000

/* What one run did, for tests that assert more than "no violation". */
struct invariants_run {
	int dlt;	   /* link type used (pcapfile: of the opened file) */
	int status;	   /* decode: decode_frame's return; pcapfile: 0 at
			  * EOF, else open's or dispatch's -errno */
	uint64_t pkts;	   /* packets fed through worker_packet */
	uint64_t bytes;	   /* sum of their wire lengths */
	size_t live;	   /* live flows at the end */
	uint64_t expired;  /* flows expired */
	uint64_t overflow; /* packets counted in the overflow totals */
	uint64_t received; /* pcapfile: the backend's cap_stats.received */
	struct worker_stats st; /* the worker's per-kind counters */
	struct dec_pkt dec;	/* decode: the frame's result */
};

/* The link type for selector byte @sel (sel % INVARIANTS_NDLT). */
int invariants_dlt(uint8_t sel);

/* The selector of @dlt in that table, or -1. */
int invariants_dlt_index(int dlt);

/*
 * invariants_check_dec - the decoder's promises for one result: @rc of
 * decode_frame (@dlt >= 0) or decode_l3 (@dlt < 0) over @caplen bytes with
 * stripped tag @vlan_tci (-1: none). Offsets within the frame, kind and
 * err in range, ports only with their bytes present, fragment flags
 * consistent, the flow key canonical. Pure; any thread.
 */
int invariants_check_dec(int dlt, uint32_t caplen, int vlan_tci, int rc,
			 const struct dec_pkt *d, char *why, size_t whylen);

/*
 * invariants_check_frame - decode @p (twice: the decoder must be
 * deterministic) and check the result. @p should end exactly at
 * p + caplen so that ASan sees an overread. Pure; any thread.
 */
int invariants_check_frame(int dlt, const uint8_t *p, uint32_t caplen,
			   int vlan_tci, struct dec_pkt *out, char *why,
			   size_t whylen);

/*
 * invariants_check_totals - the accounting invariant at a quiescent point
 * (no read-side section, flowtab_barrier done): per kind, the worker's
 * packets and bytes equal live flows + expired + overflow; the kinds sum
 * to @pkts and @bytes; every live flow holds at least one packet, no more
 * bytes than were fed, first <= last, a unique id; at most @max rows.
 * Pure over its arguments; any thread.
 */
int invariants_check_totals(const struct worker_stats *st,
			    const struct flowtab_counts expired[KIND_COUNT],
			    const struct flowtab_counts overflow[KIND_COUNT],
			    const struct flowtab_row *rows, size_t nrows,
			    size_t max, uint64_t pkts, uint64_t bytes,
			    char *why, size_t whylen);

/*
 * invariants_app - fuzz_app's input: byte 0 bit 0 picks UDP (else TCP),
 * bytes 1-4 the source and destination ports (big-endian), the rest is
 * the payload, given to app_sniff in a buffer of exactly its size, as a
 * first packet and as a later one of each label. The label must be known,
 * its detail NUL-terminated and printable (no quote, no backslash). @run
 * is unused.
 */
int invariants_app(const uint8_t *data, size_t size, struct invariants_run *run,
		   char *why, size_t whylen);

/*
 * invariants_procs - fuzz_procs's input: byte 0 picks the parser (mod 4):
 * 0 an inet_diag dump reply (byte 1 bit 0: UDP) for procres_parse_diag,
 * 1 a /proc/PID/cgroup text, 2 a /proc/PID/fd link, 3 a run of struct
 * procs_msg records applied to a store, each followed by lookups of flows
 * built from the record's own addresses. Sockets must come out with a
 * known family and an inode, strings NUL-terminated and printable,
 * lookups answer a side or -1. @run is unused.
 */
int invariants_procs(const uint8_t *data, size_t size,
		     struct invariants_run *run, char *why, size_t whylen);

/*
 * invariants_decode - fuzz_decode's input: byte 0 selects the link type,
 * byte 1 a stripped VLAN tag (0: none), the rest is the frame; its first
 * two bytes are also the ethertype for decode_l3 over the bytes after
 * them. @run may be NULL.
 */
int invariants_decode(const uint8_t *data, size_t size,
		      struct invariants_run *run, char *why, size_t whylen);

/*
 * invariants_flowtab - fuzz_flowtab's input: byte 0 selects the link
 * type, byte 1 the expiry period, idle time and injected allocation
 * failures, then records | len | meta | len bytes | fed through
 * worker_packet into a table of INVARIANTS_MAX_FLOWS flows. @run may be
 * NULL.
 */
int invariants_flowtab(const uint8_t *data, size_t size,
		       struct invariants_run *run, char *why, size_t whylen);

/*
 * invariants_pcapfile - fuzz_pcapfile's input: a pcap or pcapng file (or,
 * without a magic, a pcap body behind a synthesised header: byte 0 selects
 * the link type, byte 1 the snaplen) read through the pcap backend from a
 * memfd and dispatched until EOF into worker_packet. @run may be NULL.
 */
int invariants_pcapfile(const uint8_t *data, size_t size,
			struct invariants_run *run, char *why, size_t whylen);

/*
 * invariants_proto - fuzz_proto's input: | chunk | stream... |. The stream
 * goes through a daemon-side proto_reader in pieces of 1 + chunk % 64
 * bytes; each whole PROTO_CMD message is parsed with proto_cmd_parse,
 * and so is the whole stream as one line. Checked: the reader never holds
 * more than a header and PROTO_CMD_MAX; a bad header ends the stream
 * (the daemon closes it); a parsed command has a valid verb, a valid name
 * (none for list), an expression under COUNTERS_EXPR_MAX, a watch
 * frequency in range, and parses again to the same command from its
 * canonical form; an error is one line. @run is unused.
 */
int invariants_proto(const uint8_t *data, size_t size,
		     struct invariants_run *run, char *why, size_t whylen);

#endif
