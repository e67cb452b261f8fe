#!/bin/bash
# Allocation failure: an LD_PRELOAD shim (tests/shim/failmalloc.c) makes
# the N-th allocation fail - and every later one, or only that one - for
# every N over start-up, capture and report of `pktstat -r`. Each run must
# end cleanly: exit 0 with exact totals (flows that cannot get an entry
# are counted in overflow), or exit 1 with one "pktstat: ..." line. Never
# a crash. The exceptions are inside libraries and are counted and
# reported: at start-up (before the first packet is read; the test fails
# past the first 40 allocations) liburcu 0.13 aborts ("Unrecoverable
# error") and glibc aborts ("Unexpected error.") when a helper thread
# cannot be set up, and libpcap's filter scanner exits with status 2 ("out
# of dynamic memory"); at shutdown liburcu 0.13 aborts when rcu_barrier or
# its workqueue cannot allocate - allowed only when the complete, exact
# report had already been written.
. "$(dirname "$0")/lib.sh"
SHIM=$PWD/$B/tests/shim/failmalloc.so
[ -f "$SHIM" ] || { not_ok "shim built ($SHIM)"; finish; exit 1; }
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
case "$PKTSTAT" in *asan*) echo "# SKIP under ASan (its allocator replaces malloc)"; finish; exit 0;; esac
clean=0; errors=0; urcu=0; bad=0; last_lib=0; late=0
for mode in all only; do
	for n in $(seq 1 400); do
		FAILMALLOC_NTH=$n FAILMALLOC_ONLY=$([ $mode = only ] && echo 1 || echo 0) \
			LD_PRELOAD=$SHIM timeout 20 "$PKTSTAT" -Z root -r "$TMP/eth.pcap" -j \
			> "$TMP/out" 2> "$TMP/err" &
		wait $! 2>/dev/null
		rc=$?
		if [ $rc -eq 0 ] && [ "$(jq -r .totals.packets "$TMP/out" 2>/dev/null)" = 162 ]; then
			clean=$((clean + 1))
		elif [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q '^pktstat: ' "$TMP/err"; then
			errors=$((errors + 1))
		elif [ $rc -eq 134 ] && grep -q 'urcu.*Unrecoverable error' "$TMP/err" &&
			[ "$(jq -r .totals.packets "$TMP/out" 2>/dev/null)" = 162 ]; then
			late=$((late + 1))
		elif { [ $rc -eq 134 ] && grep -q 'urcu.*Unrecoverable error\|^Unexpected error\.\|rculfhash.*Assertion' "$TMP/err"; } ||
			{ [ $rc -eq 2 ] && grep -q '^out of dynamic memory in yy' "$TMP/err"; }; then
			urcu=$((urcu + 1))
			[ $n -gt $last_lib ] && last_lib=$n
		else
			bad=$((bad + 1))
			echo "# FAIL $mode n=$n rc=$rc: $(head -c 200 "$TMP/err")"
		fi
	done
done
echo "# failing allocations: 800 runs: $clean exact reports, $errors one-line errors, $urcu library start-up exits (last at allocation $last_lib), $late liburcu shutdown aborts after the full report, $bad failures"
check "library exits only at start-up (last at allocation $last_lib <= 40)" test $last_lib -le 40
check "no crash, wrong count or unclear error under allocation failure" test $bad -eq 0
check "most fail points still give an exact report" test $clean -ge 400
finish
