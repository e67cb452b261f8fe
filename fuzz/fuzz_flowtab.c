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
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run("fuzz_flowtab", invariants_flowtab, data, size);
}
