/*
 * pcapbase.c - the libpcap handle shared by the live backend (pcap.c)
 * and the file reader (pcapfile.c): set-up, filters, record times and
 * batch reads. Thread rules in pcapbase.h.
 */
#include "pcapbase.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pcapbase_init(struct pcapbase *b, const char *name)
{
	pthread_mutex_init(&b->op_lock, NULL);
	snprintf(b->name, sizeof(b->name), "%s", name);
}

int pcapbase_ready(struct pcapbase *b, const struct cap_ops *ops, char *err,
		   size_t errlen)
{
	b->dlt = pcap_datalink(b->p);
	b->nano = pcap_get_tstamp_precision(b->p) == PCAP_TSTAMP_PRECISION_NANO;
	/* accept-all, built by hand: one "ret #snaplen" instruction (libpcap's
	 * compiler is not safe when an allocation fails inside it) */
	b->accept.bf_insns = malloc(sizeof(*b->accept.bf_insns));
	if (!b->accept.bf_insns) {
		snprintf(err, errlen, "%s: out of memory", b->name);
		return -ENOMEM;
	}
	b->accept.bf_len = 1;
	b->accept.bf_insns[0] =
		(struct bpf_insn){ BPF_RET | BPF_K, 0, 0,
				   (bpf_u_int32)pcap_snapshot(b->p) };
	b->base.ops = ops;
	return 0;
}

void pcapbase_destroy(struct pcapbase *b)
{
	if (b->p)
		pcap_close(b->p);
	b->p = NULL;
	if (b->cp)
		pcap_close(b->cp);
	b->cp = NULL;
	pcap_freecode(&b->accept);
	pthread_mutex_destroy(&b->op_lock);
}

static struct pcapbase *pcapbase_of(struct cap_handle *h)
{
	return (struct pcapbase *)h;
}

int pcapbase_datalink(struct cap_handle *h)
{
	return pcapbase_of(h)->dlt;
}

int pcapbase_set_filter(struct cap_handle *h, const struct bpf_program *prog,
			char *err, size_t errlen)
{
	struct pcapbase *b = pcapbase_of(h);
	int rc = 0;

	pthread_mutex_lock(&b->op_lock);
	/* pcap_setfilter copies the program; its pointer is not const. */
	if (pcap_setfilter(b->p,
			   prog ? (struct bpf_program *)prog : &b->accept)) {
		snprintf(err, errlen, "%s: %s", b->name, pcap_geterr(b->p));
		rc = -EINVAL;
	}
	pthread_mutex_unlock(&b->op_lock);
	return rc;
}

/* Live, the filter is compiled as for our own handle on the compile
 * handle: compiling on b->p would race with a read, or stall it under
 * op_lock for as long as a huge expression takes. libpcap puts stripped
 * VLAN tags back in the frames it hands us, so nothing else is needed. */
int pcapbase_set_filter_expr(struct cap_handle *h, const char *expr, char *err,
			     size_t errlen)
{
	struct pcapbase *b = pcapbase_of(h);
	struct bpf_program prog;
	int rc;

	if (!expr || !*expr)
		return pcapbase_set_filter(h, NULL, err, errlen);
	rc = b->cp ? cap_compile_on(b->cp, expr, &prog, err, errlen)
		   : cap_compile(b->dlt, pcap_snapshot(b->p), expr, &prog, err,
				 errlen);
	if (rc)
		return rc;
	rc = pcapbase_set_filter(h, &prog, err, errlen);
	pcap_freecode(&prog);
	return rc;
}

void pcapbase_handler(u_char *u, const struct pcap_pkthdr *ph,
		      const u_char *bytes)
{
	struct pcapbase_ctx *c = (struct pcapbase_ctx *)u;
	struct cap_pkt pkt;

	pcapbase_pkt(c->b, ph, bytes, &pkt);
	pcapbase_deliver(c, &pkt);
}

int pcapbase_read(struct pcapbase *b, struct pcapbase_ctx *ctx, pcap_handler fn)
{
	int n;

	pthread_mutex_lock(&b->op_lock);
	ctx->delivered = 0;
	n = pcap_dispatch(b->p, PCAPBASE_BATCH, fn, (u_char *)ctx);
	if (ctx->delivered) /* end of batch: libpcap's buffer still holds it */
		ctx->cb(ctx->user, NULL);
	pthread_mutex_unlock(&b->op_lock);
	/* Count what the callback saw: after a read error libpcap returns
	 * -1 although it already delivered part of the batch. */
	__atomic_fetch_add(&b->received, ctx->delivered, __ATOMIC_RELAXED);
	return n;
}

int pcapbase_stats(struct cap_handle *h, struct cap_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->received =
		__atomic_load_n(&pcapbase_of(h)->received, __ATOMIC_RELAXED);
	return 0;
}
