#!/bin/bash
# The tools pktstat replaces, on generated pcaps whose contents the
# generator knows: tcpstat's -o lines equal the real tcpstat's (Debian's
# tcpstat 1.5) for every substitution, with -e and --link; %d, the average
# and the accounting figures worked out independently here; the original
# pktstat's -1 output and abbreviations; capstats-style --count counters;
# dkorunic/pktstat's -l interval JSON; clashing or bad flags.
. "$(dirname "$0")/lib.sh"
"$GEN" many "$TMP/m.pcap" "$TMP/m.exp" 300 20000 500
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
F='%S %s %R %r %n %N %a %d %M %m %b %B %p %T %U %C %I %V %A %l %%\n'
# tcpstat 1.5 prints "%%" literally; its manual (and pktstat) print "%".
# Intervals are binary fractions: tcpstat adds them up in floating point
# and drifts after many short decimal ones (0.1); pktstat counts in ns.
for iv in 0.25 0.5 2; do
	tcpstat -r "$TMP/m.pcap" -o "$F" $iv 2>/dev/null | sed 's/%%$/%/' > "$TMP/t.out"
	"$PKTSTAT" -r "$TMP/m.pcap" -o "$F" $iv > "$TMP/p.out"
	if diff -q "$TMP/t.out" "$TMP/p.out" > /dev/null && [ -s "$TMP/p.out" ]; then ok "tcpstat -o, interval $iv: every substitution equals tcpstat's ($(wc -l < "$TMP/p.out") lines)"; else not_ok "tcpstat -o, interval $iv"; diff "$TMP/t.out" "$TMP/p.out" | head -4; fi
done
tcpstat -r "$TMP/m.pcap" -e -l -o "$F" 0.25 2>/dev/null | sed 's/%%$/%/' > "$TMP/t.out"
"$PKTSTAT" -r "$TMP/m.pcap" -e --link -o "$F" 0.25 > "$TMP/p.out"
check "tcpstat -e -l: equal to tcpstat's" cmp -s "$TMP/t.out" "$TMP/p.out"
tcpstat -r "$TMP/m.pcap" 1 2>/dev/null > "$TMP/t.out"
"$PKTSTAT" -r "$TMP/m.pcap" 1 > "$TMP/p.out"
check "interval alone: tcpstat's default format, equal" cmp -s "$TMP/t.out" "$TMP/p.out"

# independent arithmetic over the whole capture as one interval (a large
# interval): 20000 UDP packets of 46 IP bytes and 500 SYNs of 40
"$PKTSTAT" -r "$TMP/m.pcap" -o '%n %N %a %d %M %m %T %U %I\n' 1000 > "$TMP/one.out"
read -r n N a d M m T U I < "$TMP/one.out"
exp=$(awk 'BEGIN { n=20500; s=20000*46+500*40; q=20000*46*46+500*40*40; mean=s/n;
	printf "%d %d %.2f %.2f 46 40 500 20000 20500", n, s, mean, sqrt(q/n-mean*mean) }')
check "one interval: n N avg stddev max min T U I = $exp" test "$n $N $a $d $M $m $T $U $I" = "$exp"
"$PKTSTAT" -r "$TMP/m.pcap" --accounting > "$TMP/acc.out"
check "--accounting: five lines, per second to per month" test "$(grep -c '^Bytes/' "$TMP/acc.out")" -eq 5
check "--bandwidth: time above the bandwidth reported" sh -c "'$PKTSTAT' -r '$TMP/m.pcap' --bandwidth 100000 0.1 | grep -q 'Time exceeding 100000.00 bps'"

# the original pktstat: -1 output; conversations sum both directions
"$PKTSTAT" -r "$TMP/eth.pcap" -1 -n > "$TMP/o.out"
read -r nflows period < "$TMP/o.out"
check "-1: first line is the flow count (15) and the period" test "$nflows" = 15
check "-1: octets sum to every byte (74027)" test "$(awk 'NR>1 {s+=$1} END {print s}' "$TMP/o.out")" = 74027
check "-1: a tcp conversation: both directions' octets and packets" grep -qx '3705 7 tcp 10.0.0.1:40000 <-> 10.0.0.2:80' "$TMP/o.out"
check "-1: icmp echo described as the original does" grep -q ' icmp echo 10.0.0.20 <-> 10.0.0.21$' "$TMP/o.out"
"$PKTSTAT" -r "$TMP/eth.pcap" -1 -n -a 'web@tcp * <-> *:80' > "$TMP/ab.out"
web_exp=$(awk '$1=="flow" && $2=="TCP" && ($4 ~ /:80$/ || $3 ~ /:80$/) {o+=$6; p+=$5} END {print o, p}' "$TMP/eth.exp")
check "-a NAME@PATTERN merges the six web conversations ($web_exp)" grep -qx "$web_exp web" "$TMP/ab.out"
check "-1 --top: biggest conversation first" sh -c "'$PKTSTAT' -r '$TMP/eth.pcap' -1 -n --top | sed -n 2p | grep -q '10.0.0.7:80'"

# capstats: named counters
"$PKTSTAT" -r "$TMP/eth.pcap" -j --count 'web=tcp port 80' --count 'dns=udp port 53' > "$TMP/c.json"
check "--count web: packets of the six web conversations" test "$(jq '.counters[] | select(.name=="web") | .packets' "$TMP/c.json")" = "$(echo "$web_exp" | cut -d' ' -f2)"
check "--count web: bytes" test "$(jq '.counters[] | select(.name=="web") | .bytes' "$TMP/c.json")" = "$(echo "$web_exp" | cut -d' ' -f1)"
check "--count dns: 7 packets" test "$(jq '.counters[] | select(.name=="dns") | .packets' "$TMP/c.json")" = 7

# dkorunic/pktstat: -l interval, JSON one array per line
"$PKTSTAT" -r "$TMP/eth.pcap" -j -l 10s > "$TMP/l.out"
check "-l -j: one JSON array per line" sh -c "test \$(wc -l < '$TMP/l.out') -eq 1 && jq -e 'type == \"array\"' '$TMP/l.out' > /dev/null"
check "-l -j: the interval's flows hold every packet" test "$(jq '[.[].packets] | add' "$TMP/l.out")" = 162
check "-l -j: dkorunic's element fields" test "$(jq -r '.[0] | [has("srcIp"), has("dstIp"), has("srcPort"), has("dstPort"), has("size"), has("packets"), has("bitrate"), has("proto")] | all' "$TMP/l.out")" = true

# bad or clashing flags: one line naming the flag, status 2
for args in "-o %n -j" "--count nofilter" "--count bad=tcp[" "-m zero" "--bandwidth -5" "-a"; do
	"$PKTSTAT" -r "$TMP/eth.pcap" $args > /dev/null 2> "$TMP/e.err"
	rc=$?
	check "'$args': exit 2 with one line" sh -c "test $rc -eq 2 && test \$(grep -c '^pktstat: ' '$TMP/e.err') -eq 1"
done
finish
