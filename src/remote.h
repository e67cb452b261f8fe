/*
 * remote.h - a run held by a pktstat -d elsewhere, seen through its flow
 * stream (doc/PROTOCOL): the monitor's data source for --connect.
 *
 * The daemon sends the flows that changed each refresh; this module keeps
 * the client's copy of the table (sorted by flow id) and the last totals,
 * and makes snapshots of them exactly as a local run would. Named
 * counters are the daemon's sessions; the capture filter is the daemon's
 * and is not changed from here (a view filter is the display filter).
 *
 * Threads: one thread (the UI's). Nothing here blocks for longer than a
 * reply to a counter command (at most 2 s).
 */
#ifndef PKTSTAT_REMOTE_H
#define PKTSTAT_REMOTE_H

#include <stddef.h>

#include "snapshot.h"

struct remote;

/*
 * remote_open - connect to the daemon at @path (NULL: the default
 * socket), say hello and subscribe to its flow stream every @refresh_ms
 * (clamped to 100..60000). NULL with one line in @err naming the socket
 * (no daemon, not allowed, another protocol).
 */
struct remote *remote_open(const char *path, unsigned int refresh_ms, char *err,
			   size_t errlen);

/*
 * remote_poll - take in what the daemon sent without waiting. Returns 1
 * if a refresh was completed (the copy changed), 0 if nothing new, or
 * -errno once the connection is gone (remote_error says why).
 */
int remote_poll(struct remote *r);

/* The connection's descriptor, for poll(2) next to the terminal's. */
int remote_fd(const struct remote *r);

/* Why the connection ended ("daemon stopping", "daemon closed the
 * connection"), or "" while it lives. */
const char *remote_error(const struct remote *r);

/*
 * remote_snapshot - fill @s from the copy (rows and totals of the last
 * whole refresh). 0 or -ENOMEM; -EAGAIN before the first refresh came.
 */
int remote_snapshot(struct remote *r, struct snapshot *s);

/* The daemon's source, backend, capture filter and capture threads. */
const char *remote_source(const struct remote *r);
const char *remote_backend(const struct remote *r);
const char *remote_filter(const struct remote *r);
int remote_threads(const struct remote *r);

/*
 * remote_counter_cmd - one line of the counter prompt (countercmd.h:
 * "new NAME EXPR", "NAME=EXPR", "modify NAME EXPR", "stop NAME", "list",
 * "show NAME") run by the daemon on its sessions. Returns 0 with the
 * one-line answer in @msg, or -errno with one line.
 */
int remote_counter_cmd(struct remote *r, const char *line, char *msg,
		       size_t msglen);

/* The daemon's sessions as of the last refresh (up to @max into @out);
 * returns how many there are. */
struct counters_value;
size_t remote_counters_read(const struct remote *r, struct counters_value *out,
			    size_t max);

/*
 * remote_filters - the filters in force during the run, with times: the
 * daemon's (its capture filter, its sessions made, changed and stopped),
 * taken in as its refreshes bring them, and whatever the caller notes
 * there itself (the display filter of this view), on the same thread.
 * Lives as long as @r.
 */
struct filterlog;
struct filterlog *remote_filters(struct remote *r);

/* Close the connection and free. remote_free(NULL) is a no-op. */
void remote_free(struct remote *r);

#endif
