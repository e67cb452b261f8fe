/*
 * fuzz_pcapfile.c - libFuzzer target: the whole -r path.
 *
 * The input as a pcap/pcapng file in a memfd, opened by the file reader,
 * dispatched until EOF into worker_packet; a header is synthesised when
 * the input has no magic.
 *
 * A broken invariant aborts with its one-line reason (a libFuzzer
 * finding); the checks live in invariants.c so tests/test_fuzz_regress.c
 * replays findings without libFuzzer. Single-threaded: the fuzzing thread
 * registers with liburcu once, in LLVMFuzzerInitialize.
 */
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run("fuzz_pcapfile", invariants_pcapfile, data, size);
}
