#!/bin/bash
# bench/parse.sh - reads what each benchmarked tool printed and reduces it
# to numbers, so the benchmark table and tests/test_bench_parse.c share
# one parser per tool.
#
#   bench/parse.sh TOOL FILE...
#
# FILEs are the tool's output (stdout and stderr, any order). Prints one
# line of key=value pairs, -1 where the tool does not report the figure:
#   counted=N drops=N flows=N bytes=N exact=0|1|-1
# TOOL is one of:
#   pktstat    JSON report or snapshot (only its head is read: "totals",
#              "kernelDrops", "flowTable.live", "exact")
#   tcpdump    "N packets captured", "N packets dropped by kernel"
#   netsniff   netsniff-ng's summary: "N  packets passed filter",
#              "N  packets failed filter (out of space)"
#   tshark     "N packets captured", "N packets dropped from IFACE"
#   opktstat   original pktstat -1: "FLOWS SECONDS", then per flow
#              "OCTETS FRAMES description"
#   iftop      iftop -t -B: "Cumulative (sent/received/total): ... TOTAL"
#              (bytes of IP datagrams, 3 significant digits, K = 1024)
#   callgrind  callgrind_annotate --inclusive=yes output; prints
#              total=N decode=N flowtab=N report=N instead: instructions
#              of the whole program, decode_frame, flowtab_account and
#              report_write, each with what they call
#   blast      bench/blast's "sent=N bytes=N ..." line
#   uiframe    bench/uiframe's "uiframe flows=N ..." lines; prints one line
#              per line found instead, with every figure (-1 if absent):
#              flows=N frozen=0|1 frames=N rows=N frame_med_us=N
#              frame_p90_us=N frame_max_us=N first_us=N copy_us=N
#              update_us=N layout_us=N draw_us=N expire_us=N
# Exit status 1 when the tool's main figure is missing from the output
# (uiframe: no line with flows= and frame_med_us=).
# (awk here is often mawk: numbers leave it through printf "%.0f", never
# "%d" or print, which clip at 2^31 or switch to exponents)
set -euo pipefail

tool=${1:?usage: parse.sh TOOL FILE...}
shift
[ $# -ge 1 ] || { echo "parse.sh: no file" >&2; exit 2; }

# all FILEs, carriage returns turned into line ends, read once (a FILE
# may be a pipe); pktstat's reports can be huge and are read by head only
ALL=
if [ "$tool" != pktstat ]; then
	ALL=$(cat "$@" | tr '\r' '\n')
fi
text() {
	printf '%s\n' "$ALL"
}

# first_num REGEX: the first number on the first line matching REGEX
# (stdin, read to its end), or -1
first_num() {
	awk -v re="$1" '!found && $0 ~ re && match($0, /[0-9]+/) {
		v = substr($0, RSTART, RLENGTH); found = 1 }
		END { print found ? v : -1 }'
}

# json_num KEY-PATTERN: the number after KEY-PATTERN in the JSON head, -1
json_num() {
	local v
	v=$(grep -Eo "$1[0-9]+" <<< "$head" | head -n1 | grep -Eo '[0-9]+$' ||
		true)
	echo "${v:--1}"
}

counted=-1 drops=-1 flows=-1 bytes=-1 exact=-1
case $tool in
pktstat)
	# the head of the document, up to the flow list (which can be huge)
	head=$(head -c 65536 "$1" | tr -d '\n' | sed 's/"flows":\[.*//')
	counted=$(json_num '"totals":\{"packets":')
	bytes=$(json_num '"totals":\{"packets":[0-9]+,"bytes":')
	drops=$(json_num '"kernelDrops":')
	flows=$(json_num '"flowTable":\{"live":')
	if grep -q '"exact":true' <<< "$head"; then
		exact=1
	elif grep -q '"exact":false' <<< "$head"; then
		exact=0
	fi
	;;
tcpdump)
	counted=$(text | first_num '^[0-9]+ packets? captured')
	drops=$(text | first_num '^[0-9]+ packets? dropped by kernel')
	;;
netsniff)
	counted=$(text | first_num '^ *[0-9]+ +packets passed filter')
	drops=$(text |
		first_num '^ *[0-9]+ +packets failed filter \(out of space\)')
	;;
tshark)
	counted=$(text | first_num '^[0-9]+ packets? captured')
	# one line per interface, absent when nothing was dropped
	drops=$(text | awk '/^[0-9]+ packets? dropped from / {
		s += $1; n++ } END { printf "%.0f\n", n ? s : 0 }')
	;;
opktstat)
	read -r flows counted bytes < <(text | awk '
		NR == 1 && $1 ~ /^[0-9]+$/ { f = $1; next }
		$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { p += $2; b += $1; n++ }
		END {
			if (f == "")
				print -1, -1, -1
			else
				printf "%.0f %.0f %.0f\n", f, p, b
		}')
	;;
iftop)
	bytes=$(text | awk '/^Cumulative \(sent\/received\/total\):/ {
		v = $NF; m = 1
		if (v ~ /KB$/) m = 1024
		else if (v ~ /MB$/) m = 1024 * 1024
		else if (v ~ /GB$/) m = 1024 * 1024 * 1024
		sub(/[KMG]?B$/, "", v)
		printf "%.0f\n", v * m; found = 1; exit }
		END { if (!found) print -1 }')
	;;
callgrind)
	# summary lines "  12,345 (12.34%)  FILE:FUNCTION [OBJECT]"; a
	# function appears once per source file its code came from (inlined
	# headers) plus once whole, under its absolute path: the largest
	# entry is the whole function. Call lines ("=> ...") never match.
	text | awk '
		function num(s) { gsub(/,/, "", s); return s + 0 }
		function fn(line, name) {
			return line ~ ("^ *[0-9,]+ \\( *[0-9.]+%\\)  [^ ]*:" name \
				"( \\[.*\\])?$")
		}
		/^ *[0-9,]+ +\( *[0-9.]+%\) +PROGRAM TOTALS/ { total = num($1) }
		fn($0, "decode_frame") && num($1) > decode { decode = num($1) }
		fn($0, "flowtab_account") && num($1) > flowtab { flowtab = num($1) }
		fn($0, "report_write") && num($1) > report { report = num($1) }
		END {
			if (total == "") {
				print "total=-1 decode=-1 flowtab=-1 report=-1"
				exit 1
			}
			printf "total=%.0f decode=%.0f flowtab=%.0f report=%.0f\n",
				total,
				decode == "" ? -1 : decode,
				flowtab == "" ? -1 : flowtab,
				report == "" ? -1 : report
		}'
	exit $?
	;;
uiframe)
	text | awk '
		BEGIN {
			n = split("flows frozen frames rows frame_med_us " \
				"frame_p90_us frame_max_us first_us copy_us " \
				"update_us layout_us draw_us expire_us", keys, " ")
		}
		$1 == "uiframe" {
			delete v
			for (i = 2; i <= NF; i++) {
				eq = index($i, "=")
				if (eq && substr($i, eq + 1) ~ /^-?[0-9]+$/)
					v[substr($i, 1, eq - 1)] = substr($i, eq + 1)
			}
			if (!("flows" in v) || !("frame_med_us" in v))
				next
			out = ""
			for (i = 1; i <= n; i++)
				out = out (i > 1 ? " " : "") keys[i] "=" \
					(keys[i] in v ? v[keys[i]] : -1)
			print out
			found++
		}
		END { exit found ? 0 : 1 }'
	exit $?
	;;
blast)
	line=$(text | grep -E -m1 '^sent=[0-9]+ bytes=[0-9]+' || true)
	if [ -n "$line" ]; then
		counted=$(sed -E 's/^sent=([0-9]+).*/\1/' <<< "$line")
		bytes=$(sed -E 's/^sent=[0-9]+ bytes=([0-9]+).*/\1/' <<< "$line")
	fi
	;;
*)
	echo "parse.sh: $tool: unknown tool" >&2
	exit 2
	;;
esac
echo "counted=$counted drops=$drops flows=$flows bytes=$bytes exact=$exact"
if [ "$tool" = iftop ]; then
	[ "$bytes" != -1 ]
else
	[ "$counted" != -1 ]
fi
