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
clean=0; errors=0; lib=0; bad=0
declare -A at # start-up library aborts: mode -> allocation numbers
for mode in all only; do
	at[$mode]=""
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
		elif [ $rc -eq 134 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] &&
			grep -q "__default_alloc_cds_lfht: Assertion .ht' failed\|^Unexpected error\.$\|call_rcu_data_init@[0-9]*) Unrecoverable error" "$TMP/err"; then
			lib=$((lib + 1))
			at[$mode]="${at[$mode]} $n"
		else
			bad=$((bad + 1))
			echo "# FAIL $mode n=$n rc=$rc: $(head -c 200 "$TMP/err")"
		fi
	done
done
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
