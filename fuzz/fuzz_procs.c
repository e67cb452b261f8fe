/*
 * fuzz_procs.c - libFuzzer target: process attribution's parsers (the
 * inet_diag reply walker, /proc/PID/cgroup and fd link texts in
 * src/procres.c) and the socket store (src/procs.c). Input format in
 * invariants.h (invariants_procs) and fuzz/README.
 */
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_run("fuzz_procs", invariants_procs, data, size);
}
