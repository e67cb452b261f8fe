#!/bin/bash
# Runs every test: Criterion unit suites, then the integration scripts in
# tests/it (named after what they cover). Prints a closing
# "N passed, N failed" line and exits non-zero on any failure.
# B is the build directory (build/release, build/asan, ...).
set -u
B=${B:-build/release}
export B
export PKTSTAT=${PKTSTAT:-$B/pktstat}
pass=0
fail=0
failed=()
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o|*.d) continue ;; esac
	echo "== unit: $(basename "$t")"
	if "$t" --jobs 2; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$t"); fi
done
if [ -z "${UNIT_ONLY:-}" ]; then
	for s in tests/it/*.sh; do
		[ -f "$s" ] || continue
		echo "== it: $(basename "$s")"
		t0=$SECONDS
		if timeout 600 bash "$s"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$s"); fi
		echo "== it: $(basename "$s"): $((SECONDS - t0)) s"
	done
fi
[ ${#failed[@]} -gt 0 ] && printf 'FAILED: %s\n' "${failed[@]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
