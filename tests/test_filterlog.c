/*
 * test_filterlog.c - the run's filter history: order, copies, repeated
 * display filters not noted twice, the cap.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "filterlog.h"

Test(filterlog, entries_in_order_with_copies)
{
	struct filterlog *l = filterlog_new();
	char expr[16] = "udp";
	const struct filterlog_entry *e;

	cr_assert_not_null(l);
	cr_assert_eq(filterlog_add(l, 10, FILTERLOG_CAPTURE, NULL, expr), 0);
	strcpy(expr, "tcp");
	cr_assert_eq(filterlog_add(l, 20, FILTERLOG_COUNTER, "x1", "udp"), 0);
	cr_assert_eq(filterlog_add(l, 30, FILTERLOG_COUNTER, "x1", NULL), 0);
	cr_assert_eq(filterlog_count(l), 3);
	e = filterlog_at(l, 0);
	cr_assert_eq(e->wall_ns, 10);
	cr_assert_str_eq(e->text, "udp"); /* a copy */
	cr_assert_null(e->name);
	e = filterlog_at(l, 2);
	cr_assert_str_eq(e->name, "x1");
	cr_assert_null(e->text);
	cr_assert_str_eq(filterlog_kind_name(e->kind), "counter");
	cr_assert_null(filterlog_at(l, 3));
	filterlog_free(l);
	filterlog_free(NULL);
	cr_assert_eq(filterlog_add(NULL, 1, FILTERLOG_CAPTURE, NULL, "x"), 0);
}

Test(filterlog, display_filter_noted_when_it_changes)
{
	struct filterlog *l = filterlog_new();

	filterlog_add(l, 1, FILTERLOG_DISPLAY, NULL, ""); /* as at start */
	filterlog_add(l, 2, FILTERLOG_DISPLAY, NULL, "10.0.0.1");
	filterlog_add(l, 3, FILTERLOG_DISPLAY, NULL, "10.0.0.1");
	filterlog_add(l, 4, FILTERLOG_CAPTURE, NULL, "udp");
	filterlog_add(l, 5, FILTERLOG_DISPLAY, NULL, NULL);
	cr_assert_eq(filterlog_count(l), 3);
	cr_assert_eq(filterlog_at(l, 0)->wall_ns, 2);
	cr_assert_str_eq(filterlog_at(l, 2)->text, "");
	filterlog_free(l);
}

Test(filterlog, capped_and_counted)
{
	struct filterlog *l = filterlog_new();

	for (int i = 0; i < FILTERLOG_MAX + 5; i++)
		filterlog_add(l, (uint64_t)i, FILTERLOG_CAPTURE, NULL, "x");
	cr_assert_eq(filterlog_count(l), FILTERLOG_MAX);
	cr_assert_eq(filterlog_omitted(l), 5);
	filterlog_free(l);
}
