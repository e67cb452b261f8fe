/*
 * pktstat.h - run state: capture threads, the flow table, the exit
 * sequence. The only module that starts and stops threads.
 *
 * Threads: pktstat_main runs on the main thread, which becomes the UI (or
 * batch) thread after starting the capture workers. Functions below are
 * called from that thread unless stated otherwise.
 */
#ifndef PKTSTAT_PKTSTAT_H
#define PKTSTAT_PKTSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "opts.h"
#include "snapshot.h"

struct pktstat;

/* The whole program; returns the exit status. */
int pktstat_main(int argc, char **argv);

/*
 * pktstat_pulse - the refresh tick's extras (--jsonl line, --exit-over
 * check) for the snapshot @s the caller just took. Returns 1 once
 * --exit-over has fired: the caller ends the run (exit status 3).
 */
int pktstat_pulse(struct pktstat *run, const struct snapshot *s);

/* Options in force. */
const struct opts *pktstat_opts(const struct pktstat *run);

/*
 * pktstat_snapshot - fill @s with a copy of the current state (flows,
 * totals, capture stats). Never blocks the capture threads. 0 or -ENOMEM.
 */
int pktstat_snapshot(struct pktstat *run, struct snapshot *s);

/*
 * pktstat_set_filter - compile @expr and swap it in on every capture
 * socket. On a compile error the old filter stays and @err holds
 * libpcap's message. Returns 0 or -errno.
 */
int pktstat_set_filter(struct pktstat *run, const char *expr, char *err,
		       size_t errlen);

/* The capture filter in force ("" for none). Valid until the next swap. */
const char *pktstat_filter(const struct pktstat *run);

/* Interface description for headers ("eth0", "any", "file.pcap"). */
const char *pktstat_source(const struct pktstat *run);

/* Backend name and number of capture threads. */
const char *pktstat_backend(const struct pktstat *run);
int pktstat_threads(const struct pktstat *run);

/* Expire flows idle for longer than -k. UI/batch thread only. */
void pktstat_expire(struct pktstat *run);

/*
 * pktstat_write_snapshot - write a full snapshot to @path (format by
 * extension) or the configured path when @path is NULL. Safe file
 * handling: temp name, fsync, rename, 0600, no symlink following.
 * Returns 0 or -errno with "path: reason" in @err; @written gets the path.
 */
int pktstat_write_snapshot(struct pktstat *run, const char *path, char *written,
			   size_t wlen, char *err, size_t errlen);

/* The asynchronous name resolver (UI mode), or NULL. */
struct names *pktstat_names(const struct pktstat *run);

/* Whether names start off (numeric): only with -n. Names are on by
 * default, started as root or not: the resolver thread runs after the
 * privilege drop and its answers are sanitised. */
int pktstat_numeric_default(const struct pktstat *run);

/* Why a capture thread stopped ("uxa0: interface removed"), or NULL
 * while every one runs or ended cleanly (end of file). Valid for the
 * run. */
const char *pktstat_capture_error(const struct pktstat *run);

/* Whether capture has ended (file fully read, or interface gone). */
int pktstat_capture_done(const struct pktstat *run);

/*
 * pktstat_counter_cmd - run one capstats-style counter command (see
 * src/countercmd.h: "new NAME EXPR", "NAME=EXPR", "modify NAME EXPR",
 * "stop NAME", "list", "show NAME") on the run's named counters. A
 * counter counts the packets captured after it exists. Returns 0 with a
 * one-line answer in @msg, or -errno with a one-line error (libpcap's
 * message for a bad expression, "no counter named X"); on error nothing
 * changes. UI thread (registered with liburcu).
 */
int pktstat_counter_cmd(struct pktstat *run, const char *line, char *msg,
			size_t msglen);

/*
 * pktstat_counters_read - copy up to @max named counters with their
 * counts into @out (counters_read); returns how many there are, 0 when
 * the run has none. UI/daemon thread.
 */
struct counters_value;
size_t pktstat_counters_read(struct pktstat *run, struct counters_value *out,
			     size_t max);

#endif
