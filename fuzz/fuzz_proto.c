/*
 * fuzz_proto.c - libFuzzer target: the daemon protocol's reader and the
 * capstats command parser (src/proto.c), as the daemon meets a client's
 * bytes; input format and checks in invariants.h (invariants_proto) and
 * fuzz/README. Single-threaded.
 */
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run("fuzz_proto", invariants_proto, data, size);
}
