/*
 * test_hosts.c - the monitor's host view: per host sent and received,
 * now and in all, from the view's flows; a flow toward both its hosts,
 * once when both ends are one host; busiest first.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../ui/hosts.h"
#include "view.h"

/* the flows' rows (a flow points at its row) */
static struct flowtab_row rows[8];
static size_t nrows;

static void flow(struct view_figures *f, int a, int b, uint64_t ab, uint64_t ba,
		 double bps_ab, double bps_ba)
{
	struct flowtab_row *r = &rows[nrows++ % 8];

	memset(f, 0, sizeof(*f));
	memset(r, 0, sizeof(*r));
	r->key.kind = KIND_UDP4;
	r->key.a[0] = 10;
	r->key.a[3] = (uint8_t)a;
	r->key.b[0] = 10;
	r->key.b[3] = (uint8_t)b;
	r->bytes[0] = ab * 10; /* since the start: not what is shown */
	r->bytes[1] = ba * 10;
	f->row = r;
	f->bytes[0] = ab;
	f->bytes[1] = ba;
	f->pkts[0] = ab / 100;
	f->pkts[1] = ba / 100;
	f->bps[0] = bps_ab;
	f->bps[1] = bps_ba;
	f->pps[0] = bps_ab / 100;
	f->pps[1] = bps_ba / 100;
}

Test(hosts, sent_and_received_per_host)
{
	struct hosts *h = hosts_new();
	struct view_figures f[4];
	const struct hosts_row *r;

	cr_assert_not_null(h);
	flow(&f[0], 1, 2, 1000, 200, 100.5, 20);
	flow(&f[1], 1, 3, 500, 0, 50, 0);
	flow(&f[2], 4, 4, 70, 30, 0, 0); /* a host to itself: once */
	for (int round = 0; round < 2; round++) {
		hosts_clear(h);
		for (int i = 0; i < 3; i++)
			cr_assert_eq(hosts_add(h, &f[i]), 0);
		cr_assert_eq(hosts_sort(h), 0);
		cr_assert_eq(hosts_count(h), 4);
		r = hosts_row(h, 0);
		cr_assert_str_eq(r->label, "10.0.0.1");
		cr_assert_eq(r->bytes[0], 1500);
		cr_assert_eq(r->bytes[1], 200);
		cr_assert_eq(r->pkts[0], 15);
		cr_assert_float_eq(r->bps[0], 150.5, 1e-9);
		cr_assert_float_eq(r->bps[1], 20, 1e-9);
		cr_assert_eq(r->flows, 2);
		r = hosts_row(h, 1);
		cr_assert_str_eq(r->label, "10.0.0.2");
		cr_assert_eq(r->bytes[0], 200);
		cr_assert_eq(r->bytes[1], 1000);
		cr_assert_float_eq(r->bps[1], 100.5, 1e-9);
		r = hosts_row(h, 2);
		cr_assert_str_eq(r->label, "10.0.0.3");
		cr_assert_eq(r->bytes[1], 500);
		r = hosts_row(h, 3);
		cr_assert_str_eq(r->label, "10.0.0.4");
		cr_assert_eq(r->bytes[0] + r->bytes[1], 100);
		cr_assert_eq(r->flows, 1);
		cr_assert_null(hosts_row(h, 4));
	}
	hosts_free(h);
	hosts_free(NULL);
}

/* Ties on the rate: the most bytes first, then the label. */
Test(hosts, order_without_traffic_now)
{
	struct hosts *h = hosts_new();
	struct view_figures f[2];

	flow(&f[0], 5, 6, 10, 0, 0, 0);
	flow(&f[1], 7, 8, 0, 900, 0, 0);
	hosts_add(h, &f[0]);
	hosts_add(h, &f[1]);
	cr_assert_eq(hosts_sort(h), 0);
	cr_assert_str_eq(hosts_row(h, 0)->label, "10.0.0.7");
	cr_assert_str_eq(hosts_row(h, 1)->label, "10.0.0.8");
	cr_assert_str_eq(hosts_row(h, 2)->label, "10.0.0.5");
	cr_assert_str_eq(hosts_row(h, 3)->label, "10.0.0.6");
	hosts_free(h);
}
