#!/bin/bash
# Sanitizer smoke, part of every `make test`: the capture workers, a
# UI-like reader and expiry together under load (tests/stress/threads.c)
# under ThreadSanitizer with zero reports (suppressions limited to liburcu
# 0.13's own frames: tests/tsan.supp), a deliberately racy canary proving
# TSan still reports, and the same load plus the golden files under
# ASan+UBSan. (`make asan` runs the whole suite on the ASan build.)
. "$(dirname "$0")/lib.sh"
MAKE=${MAKE:-make}
$MAKE --no-print-directory -s -j"$(nproc)" VARIANT=tsan build/tsan/tests/stress/threads > "$TMP/build.log" 2>&1 ||
	{ cat "$TMP/build.log"; not_ok "TSan build"; finish; exit 1; }
$MAKE --no-print-directory -s -j"$(nproc)" VARIANT=asan build/asan/tests/stress/threads build/asan/pktstat build/asan/tests/gen/mkpcap > "$TMP/build.log" 2>&1 ||
	{ cat "$TMP/build.log"; not_ok "ASan build"; finish; exit 1; }
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp suppress_equal_addresses=0 halt_on_error=1 exitcode=66"
for args in "2 200000 5000" "3 100000 100000" "2 100000 64" "1 200000 5000"; do
	build/tsan/tests/stress/threads $args > "$TMP/tsan.out" 2>&1
	rc=$?
	tail -1 "$TMP/tsan.out"
	check "TSan: workers + reader + expiry ($args): no report, invariant holds" test $rc -eq 0
	[ $rc -eq 0 ] || head -40 "$TMP/tsan.out"
done
build/tsan/tests/stress/threads --canary > "$TMP/canary.out" 2>&1
rc=$?
check "TSan canary: a deliberate race is reported (exit 66)" test $rc -eq 66
check "TSan canary: report names a data race" grep -q 'WARNING: ThreadSanitizer: data race' "$TMP/canary.out"
# pktstat itself under TSan, live as root: two capture threads, the
# privilege drop's root parent with its process resolver thread (joined at
# exit: TSan counts a thread never joined as a leak, exit 66)
if [ "$(id -u)" -eq 0 ]; then
	if $MAKE --no-print-directory -s -j"$(nproc)" VARIANT=tsan build/tsan/pktstat > "$TMP/build.log" 2>&1; then
		(for i in $(seq 20); do echo x > /dev/udp/127.0.0.1/9 2>/dev/null; sleep 0.05; done) &
		build/tsan/pktstat -i lo --threads 2 -t 2 -j > "$TMP/live.json" 2> "$TMP/live.err"
		rc=$?
		wait
		check "TSan: pktstat live on lo, 2 threads, privilege drop: exit 0, no report (rc $rc)" test $rc -eq 0
		[ $rc -eq 0 ] || head -40 "$TMP/live.err"
		check "TSan: pktstat live: the report counted the UDP frames" grep -q '"dst": *"127.0.0.1:9"' "$TMP/live.json"
	else
		cat "$TMP/build.log"; not_ok "TSan build of pktstat"
	fi
else
	echo "# SKIP TSan live run: needs root (capture on lo)"
fi
export ASAN_OPTIONS=halt_on_error=1:exitcode=99:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:exitcode=99:print_stacktrace=1
build/asan/tests/stress/threads 2 200000 5000 > "$TMP/asan.out" 2>&1
check "ASan+UBSan: workers + reader + expiry: clean, invariant holds" test $? -eq 0
for sc in eth sll raw; do
	build/asan/tests/gen/mkpcap $sc "$TMP/$sc.pcap" "$TMP/$sc.exp"
	build/asan/pktstat -r "$TMP/$sc.pcap" -j > "$TMP/$sc.json" 2> "$TMP/$sc.err"
	check "ASan+UBSan: pktstat -r ($sc) clean" test $? -eq 0
done
finish
