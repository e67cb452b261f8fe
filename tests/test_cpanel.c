/* test_cpanel.c - the counters panel model: rates by name, resets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../ui/cpanel.h"

#define S 1000000000ull

static struct counters_value v[4];

static void set(size_t i, const char *name, const char *expr, uint64_t pkts,
		uint64_t bytes)
{
	memset(&v[i], 0, sizeof(v[i]));
	snprintf(v[i].name, sizeof(v[i].name), "%s", name);
	snprintf(v[i].expr, sizeof(v[i].expr), "%s", expr);
	v[i].pkts = pkts;
	v[i].bytes = bytes;
}

static const struct cpanel_row *row(const struct cpanel *p, size_t i)
{
	const struct cpanel_row *r = cpanel_row(p, i);

	cr_assert_not_null(r, "row %zu", i);
	return r;
}

Test(cpanel, rates_against_the_previous_update)
{
	struct cpanel *p = cpanel_new();

	cr_assert_not_null(p);
	cr_assert_eq(cpanel_count(p), 0);
	cr_assert_null(cpanel_row(p, 0));
	set(0, "web", "tcp port 80", 100, 10000);
	cr_assert_eq(cpanel_update(p, v, 1, 10 * S), 0);
	/* first look: counts, no rate */
	cr_assert_eq(row(p, 0)->pkts, 100);
	cr_assert_eq(row(p, 0)->bytes, 10000);
	cr_assert_float_eq(row(p, 0)->pps, 0.0, 1e-9);
	set(0, "web", "tcp port 80", 300, 50000);
	cr_assert_eq(cpanel_update(p, v, 1, 12 * S), 0);
	cr_assert_float_eq(row(p, 0)->pps, 100.0, 1e-9);
	cr_assert_float_eq(row(p, 0)->Bps, 20000.0, 1e-9);
	cr_assert_str_eq(row(p, 0)->expr, "tcp port 80");
	cpanel_free(p);
	cpanel_free(NULL);
}

Test(cpanel, matched_by_name_whatever_the_order)
{
	struct cpanel *p = cpanel_new();

	set(0, "web", "tcp port 80", 10, 1000);
	set(1, "dns", "udp port 53", 5, 500);
	cpanel_update(p, v, 2, 1 * S);
	/* web removed, dns moved up, ssh new */
	set(0, "dns", "udp port 53", 15, 1500);
	set(1, "ssh", "tcp port 22", 4, 400);
	cr_assert_eq(cpanel_update(p, v, 2, 2 * S), 0);
	cr_assert_eq(cpanel_count(p), 2);
	cr_assert_str_eq(row(p, 0)->name, "dns");
	cr_assert_float_eq(row(p, 0)->pps, 10.0, 1e-9);
	/* new since the last update: it counted from 0 then */
	cr_assert_str_eq(row(p, 1)->name, "ssh");
	cr_assert_float_eq(row(p, 1)->pps, 4.0, 1e-9);
	cr_assert_float_eq(row(p, 1)->Bps, 400.0, 1e-9);
	cpanel_free(p);
}

Test(cpanel, modified_counter_restarts)
{
	struct cpanel *p = cpanel_new();

	set(0, "web", "tcp port 80", 1000, 100000);
	cpanel_update(p, v, 1, 1 * S);
	/* new expression: counts restart, no negative rate */
	set(0, "web", "tcp port 8080", 6, 600);
	cpanel_update(p, v, 1, 3 * S);
	cr_assert_eq(row(p, 0)->pkts, 6);
	cr_assert_float_eq(row(p, 0)->pps, 3.0, 1e-9);
	/* same expression again (modify), counts went down: restarted */
	set(0, "web", "tcp port 8080", 2, 200);
	cpanel_update(p, v, 1, 4 * S);
	cr_assert_eq(row(p, 0)->pkts, 2);
	cr_assert_float_eq(row(p, 0)->pps, 2.0, 1e-9);
	cpanel_free(p);
}

Test(cpanel, too_soon_keeps_the_rates)
{
	struct cpanel *p = cpanel_new();

	set(0, "web", "", 0, 0);
	cpanel_update(p, v, 1, 1 * S);
	set(0, "web", "", 10, 1000);
	cpanel_update(p, v, 1, 2 * S);
	cr_assert_float_eq(row(p, 0)->pps, 10.0, 1e-9);
	/* a forced refresh 10 ms later: new counts, same rate */
	set(0, "web", "", 11, 1100);
	set(1, "new", "udp", 1, 100);
	cpanel_update(p, v, 2, 2 * S + 10000000);
	cr_assert_eq(row(p, 0)->pkts, 11);
	cr_assert_float_eq(row(p, 0)->pps, 10.0, 1e-9);
	cr_assert_float_eq(row(p, 1)->pps, 0.0, 1e-9);
	/* the next full step measures from the last one (2 s) */
	set(0, "web", "", 30, 3000);
	set(1, "new", "udp", 5, 500);
	cpanel_update(p, v, 2, 3 * S);
	cr_assert_float_eq(row(p, 0)->pps, 20.0, 1e-9);
	cr_assert_float_eq(row(p, 1)->pps, 5.0, 1e-9);
	cpanel_free(p);
}

Test(cpanel, reset_zeroes_the_counts_not_the_rates)
{
	struct cpanel *p = cpanel_new();

	set(0, "web", "tcp", 10, 1000);
	cpanel_update(p, v, 1, 1 * S);
	set(0, "web", "tcp", 20, 2000);
	cpanel_update(p, v, 1, 2 * S);
	cpanel_reset(p);
	cr_assert_eq(row(p, 0)->pkts, 0);
	cr_assert_eq(row(p, 0)->bytes, 0);
	set(0, "web", "tcp", 25, 2500);
	cpanel_update(p, v, 1, 3 * S);
	cr_assert_eq(row(p, 0)->pkts, 5);
	cr_assert_eq(row(p, 0)->bytes, 500);
	cr_assert_float_eq(row(p, 0)->pps, 5.0, 1e-9);
	/* every counter gone: an empty panel */
	cr_assert_eq(cpanel_update(p, v, 0, 4 * S), 0);
	cr_assert_eq(cpanel_count(p), 0);
	cpanel_free(p);
}
