/*
 * connect.h - pktstat --connect: a daemon's capture seen from a client,
 * as a report or in the full-screen monitor (src/connect.c).
 */
#ifndef PKTSTAT_CONNECT_H
#define PKTSTAT_CONNECT_H

#include "opts.h"

/*
 * connect_report - --connect without a terminal (or with -1): the
 * daemon's flows for o->timeout_ns (-t; without it, one refresh), then
 * the report on stdout as a local run prints it (text, or JSON with -j).
 * Returns the exit status (1 after one line on stderr).
 */
int connect_report(const struct opts *o);

/*
 * connect_monitor - --connect on a terminal: the full-screen monitor (the
 * same screen, keys and reports as a local run) over the daemon's flow
 * stream, through an engine port whose rows come from the remote copy.
 * The capture filter belongs to the daemon and all its clients: an edit
 * is refused with one line (the display filter, /, narrows this view).
 * Named counters are the daemon's sessions. Snapshots (s, SIGUSR1, the
 * one at exit) are written by this process, with the user's own
 * permissions. Returns the exit status.
 */
int connect_monitor(const struct opts *o);

#endif
