#!/bin/bash
# Robustness: `pktstat -r` over every capture of tcpdump's test suite (many
# malformed on purpose) exits 0, or 1 with the one-line unsupported-link-
# type (or unreadable-file) error; never a crash. Under the ASan build any
# sanitizer report fails the file (halt_on_error + exit code 99).
. "$(dirname "$0")/lib.sh"
need_corpus
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:exitcode=99:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:exitcode=99:print_stacktrace=1}
n=0; clean=0; unsupported=0; bad=0
for f in "$CORPUS"/*; do
	[ -f "$f" ] || continue
	case "$f" in *README*) continue ;; esac
	n=$((n + 1))
	timeout 30 "$PKTSTAT" -r "$f" -j > "$TMP/out.json" 2> "$TMP/err"
	rc=$?
	if [ $rc -eq 0 ] && jq -e . "$TMP/out.json" > /dev/null 2>&1; then
		clean=$((clean + 1))
	elif [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q '^pktstat: ' "$TMP/err"; then
		unsupported=$((unsupported + 1))
	else
		bad=$((bad + 1))
		echo "# FAIL $f: rc=$rc"; head -5 "$TMP/err"
	fi
done
echo "# corpus: $n files, $clean decoded, $unsupported refused with one line, $bad failures"
check "corpus has files" test $n -gt 800
check "no crash, sanitizer report or malformed output over the corpus" test $bad -eq 0
finish
