/* test_names.c - asynchronous resolver: queue, cache, sanitising. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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

static int slow_started, slow_done;

/* A DNS server that answers after 1.5 s (glibc waits 5 s per try for one
 * that never does). */
static int slow_resolve(int family, const uint8_t *a, char *buf, size_t len)
{
	(void)family;
	(void)a;
	__atomic_store_n(&slow_started, 1, __ATOMIC_RELEASE);
	usleep(1500 * 1000);
	snprintf(buf, len, "late");
	__atomic_store_n(&slow_done, 1, __ATOMIC_RELEASE);
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(names, free_does_not_wait_for_a_lookup_in_flight)
{
	struct names *n = names_new(64, 8, slow_resolve);
	uint8_t a[4] = { 10, 0, 0, 9 };
	char buf[64];
	uint64_t t0, spent;

	cr_assert_not_null(n);
	names_lookup(n, 4, a, buf, sizeof(buf));
	for (int i = 0;
	     i < 400 && !__atomic_load_n(&slow_started, __ATOMIC_ACQUIRE); i++)
		usleep(5000);
	cr_assert(__atomic_load_n(&slow_started, __ATOMIC_ACQUIRE));
	t0 = mono_ms();
	names_free(n);
	spent = mono_ms() - t0;
	cr_assert_lt(spent, 500, "names_free waited %llu ms for the lookup",
		     (unsigned long long)spent);
	cr_assert_eq(__atomic_load_n(&slow_done, __ATOMIC_ACQUIRE), 0);
	/* the orphaned thread finishes and frees the object (ASan: no
	 * use after free, no leak) */
	for (int i = 0;
	     i < 400 && !__atomic_load_n(&slow_done, __ATOMIC_ACQUIRE); i++)
		usleep(5000);
	usleep(50 * 1000);
	cr_assert(__atomic_load_n(&slow_done, __ATOMIC_ACQUIRE));
}
