/*
 * summary.c - the lines printed after the monitor quits (summary.h).
 *
 * One pass over the rows keeps the largest @top in a small sorted array
 * (a snapshot at exit may hold a million flows read in place: no copy,
 * no sort of them all). Pure; any one thread.
 */
#include "summary.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../src/flowkey.h"
#include "../src/report.h"
#include "../src/snapshot.h"

/* @s with every control byte shown as '?': a file name or a reason
 * can come from anyone and must not drive the terminal. */
static void put_plain(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static uint64_t row_bytes(const struct flowtab_row *r)
{
	return r->bytes[0] + r->bytes[1];
}

/* Whether @a goes before @b: more bytes, then the older flow. */
static int before(const struct flowtab_row *a, const struct flowtab_row *b)
{
	uint64_t x = row_bytes(a), y = row_bytes(b);

	return x != y ? x > y : a->id < b->id;
}

/* One flow: bytes, packets, protocol, the endpoints, an ICMP message. */
static void flow_line(FILE *out, const struct flowtab_row *r)
{
	const struct flow_key *k = &r->key;
	char a[160], b[160];
	char type[FLOWKEY_ICMP_TEXT_MAX];

	flowkey_format_endpoint(k, 0, a, sizeof(a));
	flowkey_format_endpoint(k, 1, b, sizeof(b));
	fprintf(out, "  %14" PRIu64 " %10" PRIu64 "  %-7s %s %s %s",
		row_bytes(r), r->pkts[0] + r->pkts[1],
		flowkey_proto_name(k->kind), a,
		r->pkts[1] && r->pkts[0] ? "<->"
		: r->pkts[1]		 ? "<-"
					 : "->",
		b);
	if (flowkey_is_icmp(k->kind)) {
		flowkey_icmp_text(k, type, sizeof(type));
		fprintf(out, " %s", type);
	}
	fputc('\n', out);
}

int summary_write(FILE *out, const struct snapshot *s,
		  const struct report_meta *m, size_t top)
{
	struct flowtab_counts proto[PROTO_COUNT];
	const struct flowtab_row **best = NULL, *r;
	struct snapshot_iter it = { 0 };
	double secs = snapshot_duration_ns(s) / 1e9;
	size_t nbest = 0, nflows = 0, i;
	char rate[32];
	int first = 1;

	if (top) {
		best = calloc(top, sizeof(*best));
		if (!best)
			return -ENOMEM;
	}
	while ((r = snapshot_row_next(s, &it))) {
		nflows++;
		if (!top || (nbest == top && !before(r, best[top - 1])))
			continue;
		i = nbest < top ? nbest++ : top - 1;
		for (; i > 0 && before(r, best[i - 1]); i--)
			best[i] = best[i - 1];
		best[i] = r;
	}
	report_format_bitrate(secs > 0 ? 8.0 * (double)s->bytes / secs : 0,
			      rate, sizeof(rate));
	put_plain(out, m && m->source ? m->source : "pktstat");
	fprintf(out,
		": %" PRIu64 " packets, %" PRIu64
		" bytes in %.1f s (%s average), ",
		s->pkts, s->bytes, secs, rate);
	if (snapshot_exact(s)) {
		fputs("counts exact\n", out);
	} else if (s->incomplete[0]) {
		fputs("counts NOT exact (", out);
		put_plain(out, s->incomplete);
		fputs(")\n", out);
	} else if (!s->cap.unread) {
		fprintf(out,
			"counts NOT exact (%" PRIu64 " packets lost in the "
			"kernel)\n",
			s->cap.kernel_drops + s->cap.freezes);
	} else {
		fprintf(out,
			"counts NOT exact (%" PRIu64 " packets lost in the "
			"kernel, %" PRIu64 " frames left unread in the ring at "
			"stop)\n",
			s->cap.kernel_drops + s->cap.freezes, s->cap.unread);
	}
	snapshot_proto_totals(s->kind, proto);
	for (int p = 0; p < PROTO_COUNT; p++) {
		if (!proto[p].pkts)
			continue;
		fprintf(out, "%s%s %" PRIu64, first ? "Packets: " : ", ",
			snapshot_proto_name(p), proto[p].pkts);
		first = 0;
	}
	if (!first)
		fputc('\n', out);
	fprintf(out, "Flows: %zu live, %" PRIu64 " expired\n",
		s->rows_omitted ? s->nrows : nflows, s->expired_flows);
	if (nbest) {
		fprintf(out, "Top %zu of %zu live flows by bytes:\n", nbest,
			nflows);
		fprintf(out, "  %14s %10s  %-7s %s\n", "bytes", "packets",
			"proto", "endpoints");
		for (i = 0; i < nbest; i++)
			flow_line(out, best[i]);
		if (nflows > nbest)
			fprintf(out,
				"  ... %zu more: every live flow is in the "
				"snapshot\n",
				nflows - nbest);
	}
	free(best);
	if (fflush(out) || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -EIO;
	}
	return 0;
}
