/*
 * pcapbase.h - what the two libpcap backends share: the live capture
 * (pcap.c) and the file reader (pcapfile.c). Private to them.
 *
 * Both handles begin with a struct pcapbase (itself beginning with the
 * struct cap_handle callers hold), so the functions here that take a
 * struct cap_handle * serve as either backend's operations.
 *
 * Threads: a pcap_t is not thread-safe, and libpcap re-runs the filter
 * in user space after a pcap_setfilter (reading the program a concurrent
 * swap frees), so reads and filter changes serialise on op_lock: one lock
 * per batch of up to PCAPBASE_BATCH frames, never one per packet.
 */
#ifndef PKTSTAT_PCAPBASE_H
#define PKTSTAT_PCAPBASE_H

#include "capture.h"

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdint.h>

/* Frames per batch: bounds the time the worker holds rcu_read_lock. */
#define PCAPBASE_BATCH 1024

struct pcapbase {
	struct cap_handle base; /* first: the handle callers hold */
	pcap_t *p;
	pcap_t *cp; /* live: cap_compile_handle, or NULL */
	int dlt;
	int nano;		   /* timestamps are in ns (else us) */
	char name[256];		   /* interface or file, for error lines */
	struct bpf_program accept; /* set_filter(NULL) */
	pthread_mutex_t op_lock;   /* reads vs set_filter */
	uint64_t received;	   /* atomic: frames delivered */
};

/* One batch's delivery: the caller's callback and what it was handed. */
struct pcapbase_ctx {
	const struct pcapbase *b;
	cap_pkt_fn cb;
	void *user;
	uint64_t delivered; /* frames handed over in this batch */
};

/* Set up @b (zeroed by the caller) for the object @name. */
void pcapbase_init(struct pcapbase *b, const char *name);

/*
 * pcapbase_ready - once b->p is open (and b->cp set, if any): link type,
 * time precision, the accept-all program, and @ops tied to the handle.
 * 0 or -ENOMEM with a line in err.
 */
int pcapbase_ready(struct pcapbase *b, const struct cap_ops *ops, char *err,
		   size_t errlen);

/* Close the libpcap handles and free what pcapbase_init/ready made. */
void pcapbase_destroy(struct pcapbase *b);

/* cap_ops.datalink, .set_filter and .set_filter_expr of both backends:
 * the expression is compiled on b->cp when there is one (see
 * cap_compile_handle), else for the link type and snaplen. Any thread. */
int pcapbase_datalink(struct cap_handle *h);
int pcapbase_set_filter(struct cap_handle *h, const struct bpf_program *prog,
			char *err, size_t errlen);
int pcapbase_set_filter_expr(struct cap_handle *h, const char *expr, char *err,
			     size_t errlen);

/*
 * A record's time in ns since the epoch. A pcap record holds its seconds
 * in 32 bits, unsigned in the format's specification, but libpcap reads
 * them as a signed bpf_int32: a time at or after 2^31 s (2038-01-19)
 * arrives negative and is its value plus 2^32. Anything else negative (a
 * 64-bit pcapng time before 1970) and a negative fraction count as 0.
 * Inline: called for every record.
 */
static inline uint64_t pcapbase_ts_ns(const struct pcapbase *b,
				      const struct pcap_pkthdr *ph)
{
	int64_t sec = (int64_t)ph->ts.tv_sec;

	if (sec < 0 && sec >= INT32_MIN)
		sec += (int64_t)1 << 32;
	if (sec < 0 || ph->ts.tv_usec < 0)
		return 0;
	return (uint64_t)sec * 1000000000u +
	       (uint64_t)ph->ts.tv_usec * (b->nano ? 1 : 1000);
}

/* The frame libpcap hands over, as a cap_pkt. */
static inline void pcapbase_pkt(const struct pcapbase *b,
				const struct pcap_pkthdr *ph,
				const u_char *bytes, struct cap_pkt *pkt)
{
	*pkt = (struct cap_pkt){
		.data = bytes,
		.caplen = ph->caplen,
		.wirelen = ph->len,
		.ts_ns = pcapbase_ts_ns(b, ph),
		.dlt = b->dlt,
		.vlan_tci = -1, /* libpcap re-inserts stripped tags itself */
		.ifindex = 0,
	};
}

/* libpcap callback that delivers each frame as it is to ctx->cb (@u is
 * a struct pcapbase_ctx). */
void pcapbase_handler(u_char *u, const struct pcap_pkthdr *ph,
		      const u_char *bytes);

/* Deliver @pkt through @ctx (counts it). */
static inline void pcapbase_deliver(struct pcapbase_ctx *ctx,
				    const struct cap_pkt *pkt)
{
	ctx->delivered++;
	ctx->cb(ctx->user, pkt);
}

/*
 * pcapbase_read - one pcap_dispatch of up to PCAPBASE_BATCH frames
 * through @fn (pcapbase_handler, or one of the backend's own) under
 * op_lock, the end-of-batch call, and the received count. Returns what
 * pcap_dispatch returned. Capture thread.
 */
int pcapbase_read(struct pcapbase *b, struct pcapbase_ctx *ctx,
		  pcap_handler fn);

/* cap_ops.stats of a handle that counts only what it delivered. */
int pcapbase_stats(struct cap_handle *h, struct cap_stats *st);

#endif
