/*
 * fuzz_app.c - libFuzzer target: the app sniffers alone (src/app.c).
 *
 * One payload, given as a flow's first packet and as a later packet of
 * every label; input format in invariants.h (invariants_app) and
 * fuzz/README. Checks live in invariants.c so tests/test_fuzz_regress.c
 * replays findings without libFuzzer.
 */
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run("fuzz_app", invariants_app, data, size);
}
