/*
 * hosts.h - the monitor's host view (the V key): per host, what it sent
 * (TX) and received (RX), now and in all, as iftop's footer shows for the
 * whole link. Built on each refresh from the view's flows with group.c's
 * host aggregation: a flow counts toward both of its endpoints, once when
 * both are the same host; traffic between two hosts shown is in both.
 *
 * Pure model, no curses: one thread (the UI thread).
 */
#ifndef PKTSTAT_UI_HOSTS_H
#define PKTSTAT_UI_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "../src/group.h"

struct view_figures;

struct hosts_row {
	char label[GROUP_LABEL_MAX]; /* the address, as group.c prints it */
	double bps[2], pps[2];	     /* [0] sent, [1] received: now, bytes/s */
	uint64_t bytes[2], pkts[2];  /* since the view's reset or mark */
	uint64_t flows;		     /* flows it is an end of */
};

struct hosts;

/* An empty host table; NULL when out of memory. */
struct hosts *hosts_new(void);

/* Start again from no flows (each refresh). */
void hosts_clear(struct hosts *h);

/* Count flow @f (view_flow_figures) toward its hosts. 0 or -ENOMEM (the
 * table is then incomplete until the next hosts_clear). */
int hosts_add(struct hosts *h, const struct view_figures *f);

/*
 * hosts_sort - make the rows readable with hosts_row: the busiest now
 * first (sent and received), then the most bytes, then the label. 0 or
 * -ENOMEM.
 */
int hosts_sort(struct hosts *h);

size_t hosts_count(const struct hosts *h);
/* Row @i after hosts_sort, or NULL. */
const struct hosts_row *hosts_row(const struct hosts *h, size_t i);

/* NULL is a no-op. */
void hosts_free(struct hosts *h);

#endif
