#!/bin/bash
# Allocation failure: an LD_PRELOAD shim (tests/shim/failmalloc.c) makes
# the N-th allocation fail - and every later one, or only that one - for
# every N over start-up, capture and report of `pktstat -r`. Each run must
# end cleanly: exit 0 with exact totals (flows that cannot get an entry
# are counted in overflow), or exit 1 with one "pktstat: ..." line. Never
# a crash, and nothing at all once start-up is over: the flow table's
# index is its own (no liburcu hash table, no resize workqueue) and the
# table waits for its own call_rcu callbacks (no rcu_barrier), so exit
# allocates nothing in liburcu.
#
# The one exception is the allocations liburcu 0.13 makes inside
# flowtab_new, before the first packet is read, and answers with abort
# because none of its calls can report the failure:
#  - get_default_call_rcu_data (its call_rcu thread, started here rather
#    than at a live capture's first expiry) mallocs the thread's data and
#    calls pthread_create, whose TLS calloc fails with EAGAIN; both end
#    in urcu_die ("Unrecoverable error"). create_call_rcu_data and the
#    per-CPU calls go through the same call_rcu_data_init.
# These are counted and must be at most 3 per mode, on consecutive
# allocations, with nothing written to stdout. (With a filter expression
# libpcap 1.10.3's pcap_compile also exits 2 from its flex scanner, and
# crashes when pcap_lex_init fails: not exercised here.)
. "$(dirname "$0")/lib.sh"
SHIM=$PWD/$B/tests/shim/failmalloc.so
[ -f "$SHIM" ] || { not_ok "shim built ($SHIM)"; finish; exit 1; }
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
case "$PKTSTAT" in *asan*) echo "# SKIP under ASan (its allocator replaces malloc)"; finish; exit 0;; esac
# one_run MODE N: pktstat -r with allocation N failing (and every later
# one, or only that one); prints "MODE N VERDICT" (clean, error, lib or
# bad) and, for bad, a "# FAIL" line
one_run() {
	local mode=$1 n=$2 out=$TMP/out.$1.$2 err=$TMP/err.$1.$2 rc v=bad
	FAILMALLOC_NTH=$n FAILMALLOC_ONLY=$([ "$mode" = only ] && echo 1 || echo 0) \
		LD_PRELOAD=$SHIM timeout 20 "$PKTSTAT" -Z root -r "$TMP/eth.pcap" -j \
		> "$out" 2> "$err" &
	wait $! 2>/dev/null
	rc=$?
	if [ $rc -eq 0 ] && [ "$(jq -r .totals.packets "$out" 2>/dev/null)" = 162 ]; then
		v=clean
	elif [ $rc -eq 1 ] && [ "$(wc -l < "$err")" -eq 1 ] && grep -q '^pktstat: ' "$err"; then
		v=error
	elif [ $rc -eq 134 ] && [ ! -s "$out" ] && [ "$(wc -l < "$err")" -eq 1 ] &&
		grep -q "__default_alloc_cds_lfht: Assertion .ht' failed\|^Unexpected error\.$\|call_rcu_data_init@[0-9]*) Unrecoverable error" "$err"; then
		v=lib
	else
		echo "# FAIL $mode n=$n rc=$rc: $(head -c 200 "$err" | tr "\n" " ")"
	fi
	rm -f "$out" "$err"
	echo "$mode $n $v"
}
# The 800 runs are independent: one lane a core, lane j taking every
# LANES-th fail point.
LANES=$(nproc)
[ "$LANES" -ge 1 ] 2> /dev/null || LANES=1
for ((j = 0; j < LANES; j++)); do
	(
		for mode in all only; do
			for ((n = 1 + j; n <= 400; n += LANES)); do
				one_run $mode $n
			done
		done > "$TMP/lane.$j"
	) &
done
wait
cat "$TMP"/lane.* > "$TMP/runs"
grep '^# FAIL' "$TMP/runs"
declare -A at # start-up library aborts: mode -> allocation numbers
for mode in all only; do
	at[$mode]=$(awk -v m=$mode '$1 == m && $3 == "lib" { print $2 }' "$TMP/runs" | sort -n | tr '\n' ' ')
	at[$mode]=${at[$mode]% }
	[ -n "${at[$mode]}" ] && at[$mode]=" ${at[$mode]}"
done
count() { awk -v v="$1" '$3 == v' "$TMP/runs" | wc -l; }
clean=$(count clean); errors=$(count error); lib=$(count lib); bad=$(count bad)
nruns=$(grep -vc '^#' "$TMP/runs")
check "800 runs made ($nruns)" test "$nruns" -eq 800
echo "# failing allocations: 800 runs: $clean exact reports, $errors one-line errors, $lib liburcu start-up aborts (every later allocation failing: at${at[all]:- none}; only one: at${at[only]:- none}), $bad failures"
# the aborts of one mode: how many, and the span from first to last
span() { # span LIST -> "COUNT LAST-FIRST"
	local a=($1)
	[ ${#a[@]} -eq 0 ] && { echo "0 0"; return; }
	echo "${#a[@]} $((a[${#a[@]} - 1] - a[0]))"
}
for mode in all only; do
	read -r cnt width <<< "$(span "${at[$mode]}")"
	check "mode $mode: $cnt liburcu start-up aborts (<= 3), on consecutive allocations (span $width <= 2)" \
		test "$cnt" -le 3 -a "$width" -le 2
done
check "no crash, abort after start-up, wrong count or unclear error under allocation failure ($bad)" test $bad -eq 0
check "most fail points still give an exact report ($clean >= 700)" test $clean -ge 700
finish
