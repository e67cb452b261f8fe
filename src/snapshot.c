/*
 * snapshot.c - helpers over a snapshot: the row iterator, protocol totals
 * derived from the per-kind counts, malformed and exactness summaries,
 * lifetime.
 *
 * Owns only the rows array of a snapshot. A snapshot belongs to one thread
 * at a time; nothing here touches the live table or any shared state (a
 * table read in place is a stopped one).
 */
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

static const char *const proto_names[PROTO_COUNT] = {
	[PROTO_IPV4] = "IPv4", [PROTO_IPV6] = "IPv6",
	[PROTO_TCP] = "TCP",   [PROTO_UDP] = "UDP",
	[PROTO_ICMP] = "ICMP", [PROTO_ICMP6] = "ICMPv6",
	[PROTO_ARP] = "ARP",   [PROTO_OTHER] = "other",
};

const char *snapshot_proto_name(int proto)
{
	if (proto < 0 || proto >= PROTO_COUNT)
		return "other";
	return proto_names[proto];
}

static void add(struct flowtab_counts *to, const struct flowtab_counts *c)
{
	to->pkts += c->pkts;
	to->bytes += c->bytes;
}

/*
 * The families overlap the transports: IPv4 = TCP4 + UDP4 + ICMP4 + IP4,
 * TCP = TCP4 + TCP6, and so on; ICMP is ICMPv4 only. ARP and other stand
 * alone. ICMPv6 inside IPv4 is KIND_IP4 (decode.h), counted in IPv4 only.
 */
void snapshot_proto_totals(const struct flowtab_counts kind[KIND_COUNT],
			   struct flowtab_counts out[PROTO_COUNT])
{
	int k;

	memset(out, 0, PROTO_COUNT * sizeof(out[0]));
	for (k = 0; k < KIND_COUNT; k++) {
		const struct flowtab_counts *c = &kind[k];

		switch (k) {
		case KIND_TCP4:
			add(&out[PROTO_IPV4], c);
			add(&out[PROTO_TCP], c);
			break;
		case KIND_UDP4:
			add(&out[PROTO_IPV4], c);
			add(&out[PROTO_UDP], c);
			break;
		case KIND_ICMP4:
			add(&out[PROTO_IPV4], c);
			add(&out[PROTO_ICMP], c);
			break;
		case KIND_IP4:
			add(&out[PROTO_IPV4], c);
			break;
		case KIND_TCP6:
			add(&out[PROTO_IPV6], c);
			add(&out[PROTO_TCP], c);
			break;
		case KIND_UDP6:
			add(&out[PROTO_IPV6], c);
			add(&out[PROTO_UDP], c);
			break;
		case KIND_ICMP6:
			add(&out[PROTO_IPV6], c);
			add(&out[PROTO_ICMP6], c);
			break;
		case KIND_IP6:
			add(&out[PROTO_IPV6], c);
			break;
		case KIND_ARP:
			add(&out[PROTO_ARP], c);
			break;
		default:
			add(&out[PROTO_OTHER], c);
			break;
		}
	}
}

/* err[DEC_OK] is not a fault: only the reasons from 1 on are summed. */
uint64_t snapshot_malformed(const struct snapshot *s)
{
	uint64_t n = 0;
	int i;

	for (i = DEC_OK + 1; i < DEC_ERR_COUNT; i++)
		n += s->err[i];
	return n;
}

/*
 * Exact means nothing was lost at the capture point: no ring drops, no
 * queue freezes, no frame left unread in the ring at stop. The interface's rx_dropped is reported beside it but not
 * counted here: it also counts frames the stack discards after the tap
 * (unknown ethertypes, QinQ without a handler), which the capture saw.
 */
int snapshot_exact(const struct snapshot *s)
{
	/* map_full packets are counted (as overflow); prog_errors not */
	return s->cap.kernel_drops == 0 && s->cap.freezes == 0 &&
	       s->cap.prog_errors == 0 && s->cap.unread == 0 &&
	       !s->incomplete[0];
}

/*
 * The run's span: now_ns - start_ns when start_ns is set and not after
 * now_ns (live capture: both wall time); otherwise, e.g. for a file where
 * the producer leaves start_ns 0, the packet-time span last_ts_ns -
 * first_ts_ns (0 without packets). Never negative.
 */
uint64_t snapshot_duration_ns(const struct snapshot *s)
{
	if (s->start_ns && s->now_ns >= s->start_ns)
		return s->now_ns - s->start_ns;
	if (s->first_ts_ns && s->last_ts_ns >= s->first_ts_ns)
		return s->last_ts_ns - s->first_ts_ns;
	return 0;
}

void snapshot_init(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->counters);
	free(s->rows);
	snapshot_init(s);
}

const struct flowtab_row *snapshot_row_next(const struct snapshot *s,
					    struct snapshot_iter *it)
{
	if (s->rows_omitted)
		return NULL;
	if (s->table)
		return flowtab_row_next(s->table, &it->ft);
	if (!s->rows || it->i >= s->nrows)
		return NULL;
	return &s->rows[it->i++];
}
