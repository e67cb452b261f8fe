/*
 * fuzz_decode.c - libFuzzer target: the decoder alone.
 *
 * decode_frame over every supported link type (and one unsupported), with
 * and without a stripped VLAN tag, then decode_l3 over the same bytes;
 * input format in invariants.h and fuzz/README.
 *
 * A broken invariant aborts with its one-line reason (a libFuzzer
 * finding); the checks live in invariants.c so tests/test_fuzz_regress.c
 * replays findings without libFuzzer. Single-threaded: the fuzzing thread
 * registers with liburcu once, in LLVMFuzzerInitialize.
 */
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run("fuzz_decode", invariants_decode, data, size);
}
