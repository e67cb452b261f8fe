#!/bin/bash
# Robustness: `pktstat -r` over every capture of tcpdump's test suite (many
# malformed on purpose) exits 0, or 1 with the one-line unsupported-link-
# type (or unreadable-file) error; never a crash. Under the ASan build any
# sanitizer report fails the file (halt_on_error + exit code 99).
. "$(dirname "$0")/lib.sh"
need_corpus
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:exitcode=99:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:exitcode=99:print_stacktrace=1}
# one_file FILE: "clean", "unsupported" or "bad" (then the error's head)
one_file() {
	local f=$1 out=$TMP/out.$2 err=$TMP/err.$2 rc
	timeout 30 "$PKTSTAT" -r "$f" -j > "$out" 2> "$err"
	rc=$?
	if [ $rc -eq 0 ] && jq -e . "$out" > /dev/null 2>&1; then
		echo clean
	elif [ $rc -eq 1 ] && [ "$(wc -l < "$err")" -eq 1 ] && grep -q '^pktstat: ' "$err"; then
		echo unsupported
	else
		echo "bad # FAIL $f: rc=$rc: $(head -5 "$err" | tr '\n' ' ')"
	fi
	rm -f "$out" "$err"
}
files=()
for f in "$CORPUS"/*; do
	[ -f "$f" ] || continue
	case "$f" in *README*) continue ;; esac
	files+=("$f")
done
n=${#files[@]}
# the files are independent: one lane a core, lane j taking every
# LANES-th file
LANES=$(nproc)
[ "$LANES" -ge 1 ] 2> /dev/null || LANES=1
for ((j = 0; j < LANES; j++)); do
	for ((i = j; i < n; i += LANES)); do
		one_file "${files[i]}" $j
	done > "$TMP/lane.$j" &
done
wait
cat "$TMP"/lane.* > "$TMP/verdicts"
sed -n 's/^bad //p' "$TMP/verdicts"
clean=$(grep -c '^clean$' "$TMP/verdicts")
unsupported=$(grep -c '^unsupported$' "$TMP/verdicts")
bad=$(grep -c '^bad' "$TMP/verdicts")
check "one verdict a file ($(wc -l < "$TMP/verdicts") for $n)" test "$(wc -l < "$TMP/verdicts")" -eq "$n"
echo "# corpus: $n files, $clean decoded, $unsupported refused with one line, $bad failures"
check "corpus has files" test $n -gt 800
check "no crash, sanitizer report or malformed output over the corpus" test $bad -eq 0
finish
