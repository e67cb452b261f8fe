#!/bin/bash
# Golden tests: pcaps from tests/gen/mkpcap with the flow table the
# generator knows it wrote; `pktstat -r` must reproduce it exactly, in
# JSON and in text, for every link type.
. "$(dirname "$0")/lib.sh"
for sc in eth sll sll2 raw null; do
	"$GEN" "$sc" "$TMP/$sc.pcap" "$TMP/$sc.exp" || { not_ok "$sc: generator"; continue; }
	LC_ALL=C sort -o "$TMP/$sc.exp" "$TMP/$sc.exp"
	"$PKTSTAT" -r "$TMP/$sc.pcap" -j > "$TMP/$sc.json" 2> "$TMP/$sc.err"
	check "$sc: JSON exit status 0" test $? -eq 0
	check "$sc: JSON parses" jq -e . "$TMP/$sc.json" > /dev/null
	json_canon < "$TMP/$sc.json" > "$TMP/$sc.jgot"
	if diff -u "$TMP/$sc.exp" "$TMP/$sc.jgot"; then ok "$sc: JSON flows and totals exact"; else not_ok "$sc: JSON flows and totals exact"; fi
	"$PKTSTAT" -r "$TMP/$sc.pcap" > "$TMP/$sc.txt" 2>&1
	text_canon "$TMP/$sc.txt" | LC_ALL=C sort > "$TMP/$sc.tgot"
	if diff -u "$TMP/$sc.exp" "$TMP/$sc.tgot"; then ok "$sc: text flows and totals exact"; else not_ok "$sc: text flows and totals exact"; fi
done
# stdin and a filter
"$GEN" eth "$TMP/f.pcap" "$TMP/f.exp"
LC_ALL=C sort -o "$TMP/f.exp" "$TMP/f.exp"
"$PKTSTAT" -r - -j < "$TMP/f.pcap" | json_canon > "$TMP/stdin.got"
check "-r - reads stdin" diff -q "$TMP/f.exp" "$TMP/stdin.got"
"$PKTSTAT" -r "$TMP/f.pcap" -j udp and port 53 > "$TMP/flt.json"
check "trailing filter expression keeps only matching flow" \
	test "$(jq -r '[.flows[] | .dstPort] | unique | join(",")' "$TMP/flt.json")" = "53"
check "filtered totals: 7 packets" test "$(jq -r .totals.packets "$TMP/flt.json")" = 7
"$PKTSTAT" -r "$TMP/f.pcap" -f "tcp[" > /dev/null 2> "$TMP/badf.err"
check "bad filter: exit 1" test $? -eq 1
check "bad filter: one line naming the problem" test "$(wc -l < "$TMP/badf.err")" -eq 1
finish
