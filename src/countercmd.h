/*
 * countercmd.h - capstats-style command lines that edit named counters
 * (src/counters.h): the verbs of the UI's counter prompt.
 *
 *	new NAME EXPR...	add a counter (EXPR may be empty: every packet)
 *	NAME=EXPR		the same
 *	modify NAME EXPR...	new expression, counts restart from 0
 *	stop NAME		remove the counter
 *	list			the counters' names
 *	show NAME		its counts and expression
 *
 * Verbs are case-insensitive; "NAME = EXPR" and "new NAME=EXPR" work too.
 *
 * Threads: the editor thread of the counters (registered with liburcu,
 * outside a read-side section), since new/modify/stop edit them.
 */
#ifndef PKTSTAT_COUNTERCMD_H
#define PKTSTAT_COUNTERCMD_H

#include <stddef.h>

struct counters;

/*
 * countercmd_run - parse and run one command @line on @c. Returns 0 with
 * a one-line answer in @msg ("counter web added", "web, dns", "web: 12
 * packets, 3400 bytes (tcp port 80)"), or -errno with a one-line error in
 * @msg: -EINVAL for a usage error or an expression libpcap rejects (its
 * message), -ENOENT "no counter named X", and counters_add's -EEXIST,
 * -ENOSPC, -ENOMEM. On error the counters are unchanged. The answer is
 * cut to @msglen - 1 bytes.
 */
int countercmd_run(struct counters *c, const char *line, char *msg,
		   size_t msglen);

#endif
