/*
 * target.h - the libFuzzer entry points, shared by the three targets:
 * register the fuzzing thread with liburcu once, then run one invariant
 * check per input and abort (a finding) with its reason when it breaks.
 * Include once, from a fuzz_*.c file, after defining nothing else.
 */
#ifndef PKTSTAT_FUZZ_TARGET_H
#define PKTSTAT_FUZZ_TARGET_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <urcu.h>

#include "invariants.h"

typedef int (*fuzz_check_fn)(const uint8_t *data, size_t size,
			     struct invariants_run *run, char *why,
			     size_t whylen);

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rcu_register_thread();
	return 0;
}

/* Run @check on one input; abort naming @target when it fails. */
static inline int fuzz_run(const char *target, fuzz_check_fn check,
			   const uint8_t *data, size_t size)
{
	char why[512];

	if (check(data, size, NULL, why, sizeof(why))) {
		fprintf(stderr, "%s: invariant broken: %s\n", target, why);
		abort();
	}
	return 0;
}

#endif
