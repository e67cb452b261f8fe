/*
 * fuzz_flowtab.c - libFuzzer target: the per-packet path.
 *
 * Many small packets through worker_packet into a flow table of 8 flows,
 * expiring every few packets with a tiny idle time; at the end the
 * accounting invariant must hold exactly.
 *
 * A broken invariant aborts with its one-line reason (a libFuzzer
 * finding); the checks live in invariants.c so tests/test_fuzz_regress.c
 * replays findings without libFuzzer. Single-threaded: the fuzzing thread
 * registers with liburcu once, in LLVMFuzzerInitialize.
 */
#include <stdio.h>
#include <stdlib.h>
#include <urcu.h>

#include "invariants.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rcu_register_thread();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512];

	if (invariants_flowtab(data, size, NULL, why, sizeof(why))) {
		fprintf(stderr, "fuzz_flowtab: invariant broken: %s\n", why);
		abort();
	}
	return 0;
}
