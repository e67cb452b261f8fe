#!/bin/bash
# Runs libFuzzer targets one after the other (one core each, no -jobs),
# FUZZ_SECONDS each, and fails if any of them has a finding (crash, leak,
# timeout, out-of-memory, sanitizer report or broken invariant).
# FUZZ_JOBS=N runs the targets in N lanes side by side (target i in lane
# i % N), each target still for its full FUZZ_SECONDS.
#
#   FUZZ_SECONDS=60 bash fuzz/run.sh fuzz_decode fuzz_flowtab fuzz_pcapfile
#
# Called by `make fuzz`, which first builds build/fuzz/fuzz/*. Layout:
#   build/fuzz-corpus/seeds/<t>/   seeds made by mkseeds from the capture
#                                  corpus (made once; delete to remake)
#   build/fuzz-corpus/regress/<t>/ tests/regress/<t>-* copied as seeds
#   build/fuzz-corpus/<t>/         the growing corpus, kept across runs
#   build/fuzz-findings/<t>/       crash-*, leak-*, timeout-*, oom-* inputs
#   build/fuzz-logs/<t>.log        libFuzzer's full output of the last run
#   build/fuzz-logs/<t>.line       the target's line of the summary
# Env: FUZZ_SECONDS (60), FUZZ_JOBS (1), FUZZ_BUILD (build/fuzz),
# FUZZ_ARGS (extra libFuzzer flags), PKTSTAT_CORPUS
# (../shared/pcaps/tcpdump-tests).
set -u
cd "$(dirname "$0")/.." || exit 1
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
BIN=${FUZZ_BUILD:-build/fuzz}/fuzz
CAPS=${PKTSTAT_CORPUS:-../shared/pcaps/tcpdump-tests}
C=build/fuzz-corpus
F=build/fuzz-findings
L=build/fuzz-logs
[ $# -gt 0 ] || set -- fuzz_decode fuzz_flowtab fuzz_pcapfile
case $JOBS in [1-9] | [1-9][0-9]) ;; *) echo "fuzz: FUZZ_JOBS=$JOBS: want 1..99"; exit 2 ;; esac

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$PWD/fuzz/ubsan.supp}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

mkdir -p "$C" "$F" "$L"
if [ ! -d "$C/seeds/fuzz_decode" ]; then
	if [ -d "$CAPS" ]; then
		"$BIN/mkseeds" "$CAPS" "$C/seeds" || exit 1
	else
		echo "fuzz: no capture corpus at $CAPS: starting without seeds"
	fi
fi

# run_target T: fuzz T for SECS seconds; writes its summary line to
# $L/T.line; returns 1 on a finding or failure
run_target() {
	local t=$1 before after new rc runs rate last cov ft corp secs status
	if [ ! -x "$BIN/$t" ]; then
		echo "$t: FAIL (not built: $BIN/$t)" | tee "$L/$t.line"
		return 1
	fi
	mkdir -p "$C/$t" "$C/seeds/$t" "$C/regress/$t" "$F/$t"
	for r in tests/regress/"$t"-*; do
		[ -f "$r" ] && cp -f "$r" "$C/regress/$t/"
	done
	before=$(ls "$F/$t" | grep -cE '^(crash|leak|timeout|oom)-')
	echo "== $t: ${SECS}s, corpus $C/$t, findings $F/$t/"
	# shellcheck disable=SC2086
	"$BIN/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$F/$t/" ${FUZZ_ARGS:-} \
		"$C/$t" "$C/seeds/$t" "$C/regress/$t" > "$L/$t.log" 2>&1
	rc=$?
	after=$(ls "$F/$t" | grep -cE '^(crash|leak|timeout|oom)-')
	new=$((after - before))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$L/$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$L/$t.log")
	last=$(grep -E '^#[0-9]+.*cov: ' "$L/$t.log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$L/$t.log")
	if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
		status="FAIL (exit $rc)"
		grep -E 'ERROR|runtime error|invariant broken|Test unit written' \
			"$L/$t.log" | head -5
	else
		status=ok
	fi
	echo "$t: $status, ${runs:-0} runs in ${secs:-?} s (${rate:-0}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, $new new findings" |
		tee "$L/$t.line"
	[ "$status" = ok ]
}

targets=("$@")
for t in "${targets[@]}"; do rm -f "$L/$t.line"; done
lanes=()
for ((j = 0; j < JOBS; j++)); do
	(
		st=0
		for ((i = j; i < ${#targets[@]}; i += JOBS)); do
			run_target "${targets[i]}" || st=1
		done
		exit $st
	) &
	lanes+=($!)
done
failed=0
for p in "${lanes[@]}"; do
	wait "$p" || failed=1
done
echo "== fuzz summary (logs in $L/)"
for t in "${targets[@]}"; do
	cat "$L/$t.line" 2> /dev/null || { echo "$t: FAIL (no result)"; failed=1; }
done
if [ "$failed" -ne 0 ]; then
	echo "fuzz: FAILED: reproduce with $BIN/<target> <file in $F/<target>/>, then see fuzz/README"
	exit 1
fi
