#!/bin/bash
# Reports byte for byte, before and after a change: runs two pktstat
# binaries over every capture of a corpus and compares, per file, the exit
# status, stderr and every report format:
#   run 1: -r FILE --snapshot S.csv    text on stdout, CSV snapshot file
#   run 2: -r FILE -j --snapshot S.json   JSON on stdout and the same JSON
#          written once for both (the tee path)
#
#   tools/report_compare.sh OLD_BIN NEW_BIN [CORPUS]
#
# e.g. build main in a clone (make build/release/pktstat) as OLD_BIN.
# CORPUS defaults to $PKTSTAT_CORPUS or ../shared/pcaps/tcpdump-tests.
# A change meant to alter every report: NEW_SED, a sed script applied to
# each of NEW_BIN's outputs before the comparison, takes out exactly what
# was meant to change, so that identical then means "nothing else did",
# e.g. NEW_SED='/^Processes: unknown/d'.
# Prints one line per differing file and a summary; exit 0 when every
# file gives identical bytes, 1 otherwise, 2 on usage.
set -u
[ $# -ge 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN [CORPUS]" >&2; exit 2; }
OLD=$1
NEW=$2
CORPUS=${3:-${PKTSTAT_CORPUS:-../shared/pcaps/tcpdump-tests}}
[ -x "$OLD" ] && [ -x "$NEW" ] || { echo "$0: binaries not executable" >&2; exit 2; }
[ -d "$CORPUS" ] || { echo "$0: no corpus at $CORPUS" >&2; exit 2; }
T=$(mktemp -d /tmp/pktstat-cmp.XXXXXX)
chmod 700 "$T"
trap 'rm -rf "$T"' EXIT

# outputs BIN DIR FILE: every output of the two runs into DIR
outputs() {
	local bin=$1 d=$2 f=$3
	mkdir -p "$d"
	rm -f "$d"/*
	timeout 30 "$bin" -r "$f" --snapshot "$d/s.csv" > "$d/text" 2> "$d/text.err"
	echo "rc $?" >> "$d/text.err"
	timeout 30 "$bin" -r "$f" -j --snapshot "$d/s.json" > "$d/json" 2> "$d/json.err"
	echo "rc $?" >> "$d/json.err"
	if [ "$bin" = "$NEW" ] && [ -n "${NEW_SED:-}" ]; then
		for o in "$d"/*; do
			sed -e "$NEW_SED" "$o" > "$o.sed" && mv "$o.sed" "$o"
		done
	fi
}

n=0; same=0; differ=0
for f in "$CORPUS"/*; do
	[ -f "$f" ] || continue
	case "$f" in *README*) continue ;; esac
	n=$((n + 1))
	outputs "$OLD" "$T/old" "$f"
	outputs "$NEW" "$T/new" "$f"
	if diff -r -q "$T/old" "$T/new" > "$T/d" 2>&1; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
		echo "DIFF ${f##*/}: $(sed 's|.*/||; s/ differ$//' "$T/d" | tr '\n' ' ')"
	fi
done
echo "report_compare: $n files, $same identical in text, JSON and CSV, $differ differ"
[ "$differ" -eq 0 ] && [ "$n" -gt 0 ]
