/* test_names.c - asynchronous resolver: queue, cache, sanitising. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "names.h"

static int fake_calls;

/* 10.0.0.X resolves to "hostX"; 10.0.0.66 to a hostile name; others fail */
static int fake_resolve(int family, const uint8_t *a, char *buf, size_t len)
{
	__atomic_add_fetch(&fake_calls, 1, __ATOMIC_RELAXED);
	if (family != 4 || a[0] != 10)
		return -1;
	if (a[3] == 66) {
		snprintf(buf, len, "evil\x1b[2J\nname");
		return 0;
	}
	snprintf(buf, len, "host%d", a[3]);
	return 0;
}

static int wait_name(struct names *n, const uint8_t *a, char *buf, size_t len)
{
	for (int i = 0; i < 200; i++) {
		if (names_lookup(n, 4, a, buf, len))
			return 1;
		usleep(5000);
	}
	return 0;
}

Test(names, resolves_asynchronously_then_caches)
{
	struct names *n = names_new(64, 8, fake_resolve);
	uint8_t a[4] = { 10, 0, 0, 7 };
	char buf[64];
	int calls;

	cr_assert_not_null(n);
	cr_assert_eq(names_lookup(n, 4, a, buf, sizeof(buf)), 0,
		     "first lookup must not block for the answer");
	cr_assert(wait_name(n, a, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "host7");
	calls = __atomic_load_n(&fake_calls, __ATOMIC_RELAXED);
	cr_assert_eq(names_lookup(n, 4, a, buf, sizeof(buf)), 1);
	cr_assert_eq(__atomic_load_n(&fake_calls, __ATOMIC_RELAXED), calls,
		     "a cached name is not resolved again");
	names_free(n);
}

Test(names, hostile_names_sanitised)
{
	struct names *n = names_new(64, 8, fake_resolve);
	uint8_t a[4] = { 10, 0, 0, 66 };
	char buf[64];

	cr_assert(wait_name(n, a, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "evil??2J?name");
	for (char *p = buf; *p; p++)
		cr_assert(*p >= 0x20 && *p < 0x7f);
	names_free(n);
}

Test(names, failures_not_retried_and_queue_bounded)
{
	struct names *n = names_new(1024, 2, fake_resolve);
	uint8_t a[4] = { 192, 0, 2, 1 };
	char buf[64];
	uint64_t hits, queued, dropped, failed;

	names_lookup(n, 4, a, buf, sizeof(buf));
	for (int i = 0; i < 200; i++) {
		names_stats(n, &hits, &queued, &dropped, &failed);
		if (failed)
			break;
		usleep(5000);
	}
	cr_assert_eq(failed, 1);
	cr_assert_eq(names_lookup(n, 4, a, buf, sizeof(buf)), 0);
	names_stats(n, &hits, &queued, &dropped, &failed);
	cr_assert_eq(queued, 1, "a failed address is not queued again");
	names_free(n);
}

Test(names, services_and_sanitize)
{
	char s[] = "a\tb\x7f"
		   "c.d-e_f";

	cr_assert_str_eq(names_service(443, 1), "https");
	cr_assert_str_eq(names_service(53, 0), "domain");
	cr_assert_null(names_service(4, 1));
	names_sanitize(s);
	cr_assert_str_eq(s, "a?b?c.d-e_f");
}
