#!/bin/bash
# Floods: 5 million distinct flows plus a scan of all 65,535 ports,
# streamed into `pktstat -r -` against --max-flows 1000000: the live flow
# count never exceeds the cap, resident memory stays within the documented
# budget (256 bytes per flow at the cap plus a fixed base), and live +
# expired + overflow packets and bytes equal the generator's totals
# exactly. Figures are printed.
. "$(dirname "$0")/lib.sh"
CAP=1000000
BASE_MB=64 # documented fixed base (README: Memory)
FLOWS=5000000
PKTS=$((FLOWS + 65535))
# mkpcap many: one packet for each of FLOWS flows, then a SYN scan of all
# 65,535 ports of one host
"$GEN" many - "$TMP/flood.exp" $FLOWS $FLOWS 65535 |
	/usr/bin/time -f '%M %e' -o "$TMP/time" "$PKTSTAT" -r - -j --max-flows $CAP > "$TMP/flood.json" 2> "$TMP/flood.err"
rc=$?
read -r rss_kb secs < "$TMP/time"
exp_pkts=$(awk '$1=="total"{print $2}' "$TMP/flood.exp")
exp_bytes=$(awk '$1=="total"{print $3}' "$TMP/flood.exp")
# the document's head (line 1) holds the totals; each flow element is one
# line: awk is much faster than jq over two million elements
head -1 "$TMP/flood.json" | sed 's/,"flows":\[$/}/' > "$TMP/head.json"
live=$(jq .flowTable.live "$TMP/head.json")
ovp=$(jq .flowTable.overflowPackets "$TMP/head.json")
ovb=$(jq .flowTable.overflowBytes "$TMP/head.json")
read -r sum_pkts sum_bytes < <(awk -F'[,:]' '/^{"bitrate"/ { for (i = 1; i < NF; i++) { if ($i == "\"packets\"") p += $(i+1); if ($i == "\"size\"") b += $(i+1) } } END { printf "%d %d\n", p, b }' "$TMP/flood.json")
echo "# flood: $PKTS packets, $live live flows (cap $CAP), overflow $ovp packets, RSS $((rss_kb / 1024)) MB, $secs s"
check "flood: exit 0" test $rc -eq 0
check "flood: total packets = generator's ($exp_pkts)" test "$(jq .totals.packets "$TMP/head.json")" = "$exp_pkts"
check "flood: total bytes = generator's ($exp_bytes)" test "$(jq .totals.bytes "$TMP/head.json")" = "$exp_bytes"
check "flood: live flows never above the cap ($live <= $CAP)" test "$live" -le $CAP
check "flood: live + overflow packets = total" test $((sum_pkts + ovp)) -eq "$exp_pkts"
check "flood: live + overflow bytes = total" test $((sum_bytes + ovb)) -eq "$exp_bytes"
budget_kb=$(( ((CAP * 256) / 1024 + BASE_MB * 1024) * ASAN_RSS_FACTOR ))
check "flood: RSS $((rss_kb / 1024)) MB within $((budget_kb / 1024)) MB (256 B/flow x cap + ${BASE_MB} MB, factor $ASAN_RSS_FACTOR: 3 on an ASan build)" test "$rss_kb" -le $budget_kb
finish
