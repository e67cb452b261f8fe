/*
 * connect.h - pktstat --connect without a terminal (src/connect.c).
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

#endif
