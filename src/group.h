/*
 * group.h - aggregate flows into groups: by host, network, service port,
 * protocol, VLAN, capture interface, local process or application label
 * (the table's `g` key and --group-by).
 *
 * A group's counts are the exact sums of its flows' counts. A flow counts
 * toward the groups of both its endpoints for the keys that have two
 * (host, network), once when both endpoints fall in the same group: each
 * group's figures are exact, and traffic between two groups is in both. Sent ("tx") is what the group's side sent,
 * received ("rx") what it received; for protocol, VLAN and interface
 * groups, which have no side, tx is A->B and rx is B->A.
 *
 * Pure: one thread owns a group set; no locks, no I/O.
 */
#ifndef PKTSTAT_GROUP_H
#define PKTSTAT_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "flowtab.h"

enum group_by {
	GROUP_FLOW, /* no grouping: one row per flow */
	GROUP_HOST,
	GROUP_NET,  /* address prefix, /24 and /64 unless told */
	GROUP_PORT, /* service: the lower port of TCP/UDP flows */
	GROUP_PROTO,
	GROUP_VLAN,
	GROUP_IFACE, /* the capture interface, named by group_set_ifaces */
	GROUP_PROC,  /* the local process, named by group_set_proc's function */
	GROUP_APP,   /* the app label (app.h); "http?" from the port alone */
	GROUP_COUNT
};

#define GROUP_LABEL_MAX 64

struct group_row {
	char label[GROUP_LABEL_MAX]; /* "10.0.0.1", "10.0.0.0/24", "TCP/443" */
	uint64_t pkts[2];	     /* [0] sent by the group, [1] received */
	uint64_t bytes[2];
	uint64_t flows;		    /* flows that count toward it */
	uint64_t first_ns, last_ns; /* packet time, over its flows */
	uint64_t id;		    /* the label's hash: same label, same id
				       for the set's life (group_clear too) */
	uint64_t order[3];	    /* sort key: addresses and ports as
				       numbers, not text */
};

/* Where one flow counts: @n groups (1 or 2), row indexes and, for each,
 * the flow's direction (FLOW_DIR_AB/BA) that the group sent. */
struct group_place {
	size_t n;
	size_t row[2];
	int tx[2];
};

struct group_set;

/* "flow", "host", "net", "port", "proto", "vlan", "interface",
 * "process", "app" (also used by the UI). */
const char *group_name(enum group_by by);

/* Parse a name as above into @by: 0 or -EINVAL. */
int group_parse(const char *s, enum group_by *by);

/* Parse "--group-prefix V4,V6" ("16,48"; either may be empty): 0 or
 * -EINVAL (V4 in 0..32, V6 in 0..128). */
int group_parse_prefix(const char *s, int *v4, int *v6);

/*
 * group_new - an empty set aggregating by @by (not GROUP_FLOW) with the
 * given prefix lengths for GROUP_NET. NULL when out of memory.
 */
struct group_set *group_new(enum group_by by, int v4_prefix, int v6_prefix);

/*
 * group_proc_fn - GROUP_PROC's namer: the process owning the local socket
 * of row @r, as a label ("curl[1234]") in @buf (@len bytes); returns the
 * side owning it (0 = A, 1 = B: what that side sent is the group's "tx"),
 * or -1 when unknown (the flow joins the group "-").
 */
typedef int (*group_proc_fn)(void *arg, const struct flowtab_row *r, char *buf,
			     size_t len);

/* Set @g's namer for GROUP_PROC (without one every flow is "-"). */
void group_set_proc(struct group_set *g, group_proc_fn fn, void *arg);

/*
 * Name GROUP_IFACE's groups: a flow whose key's iface (flowkey.h) is i
 * joins group @names[i] when i < @n, else "-". Borrowed: the names must
 * outlive their use by @g (the run's, snapshot.h).
 */
void group_set_ifaces(struct group_set *g, const char *const *names, int n);

/* Add one flow's counts to its group(s). 0, or -ENOMEM: no count of the
 * flow was added (a new group may stay behind, empty). */
int group_add(struct group_set *g, const struct flowtab_row *row);

/*
 * group_place - the groups flow @row counts toward (created empty when
 * new) into @p, without adding anything: for callers that sum their own
 * figures per group (the monitor's rates). 0 or -ENOMEM.
 */
int group_place(struct group_set *g, const struct flowtab_row *row,
		struct group_place *p);

/* Forget every group, keeping the set (and its ids: a label seen again
 * gets the id it had). */
void group_clear(struct group_set *g);

/* The groups so far, in the order they were first seen; valid until the
 * next group_add, group_place, group_clear or group_free. */
const struct group_row *group_rows(const struct group_set *g, size_t *n);

void group_free(struct group_set *g);

#endif
