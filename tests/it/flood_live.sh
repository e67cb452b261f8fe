#!/bin/bash
# The flood of tests/it/flood.sh, live: distinct UDP flows (bench/blast
# -m udp4, one frame each) then a TCP SYN scan of all 65,535 ports of one
# host (blast -m scan), sent on a veth pair between two namespaces made
# here and captured by pktstat on the other end in batch mode against
# --max-flows 1000000. A long-lived flow sends one frame a millisecond
# (tests/gen/sendframes) from 1 s before the flood to 3 s after it.
#
# 5 million flows, as in flood.sh, at 120,000 frames/s (42 s): on this
# 2-core machine, shared with other builds, the paced generator keeps one
# core busy and pktstat has the other for capture plus the once-a-second
# eviction pass over a full table; 200k/s lost frames in the ring in some
# runs. -k 60 keeps idle flows longer than the run, so the table fills
# after about 8 s and from then on each pass evicts under pressure (down
# to 85%) while new flows keep coming.
#
# Checked, each figure printed: exit 0; each sender's count exact and
# their sum = veth0's rx_packets/rx_bytes delta; no kernel drops; totals
# = that delta; live + expired + overflow packets and bytes = the totals;
# live flows within the cap; flows evicted under pressure; the long-lived
# flow still in the table with its exact count; RSS, sampled every 0.5 s
# and at its peak, within the README's budget (256 B/flow x cap + 64 MB
# base at the default 8 MB ring, plus the ring above 8 MB).
# FLOOD_LIVE_FLOWS / FLOOD_LIVE_PPS override; lower the rate, never the
# checks, if the kernel drops frames.
. "$(dirname "$0")/lib.sh"
need_root
BLAST=$B/bench/blast
SEND=$B/tests/gen/sendframes
CAP=1000000
BASE_MB=64 # documented fixed base at the default 8 MB ring (README: Memory)
FLOWS=${FLOOD_LIVE_FLOWS:-5000000}
PPS=${FLOOD_LIVE_PPS:-120000}
SCAN=65535
RING_MB=32 # about 2.5 s of the flood
KEEP=60    # -k: longer than the run, so every flood flow removed is evicted
FLOOD_S=$(( (FLOWS + SCAN + PPS - 1) / PPS ))
LL_PKTS=$(( (FLOOD_S + 4) * 1000 ))
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
# the long-lived flow: one 60-byte UDP frame 10.0.0.1:1024 -> 10.128.0.0:9
# (blast's flows all go to 192.0.2.1, so no flood flow shares its key)
"$GEN" many "$TMP/ll.pcap" "$TMP/ll.exp" 1 1
ll_src=10.0.0.1:1024
ll_dst=10.128.0.0:9
rxp() { ip netns exec "$NS_CAP" cat "/sys/class/net/veth0/statistics/rx_$1"; }
echo "# flood_live: $FLOWS flows + $SCAN-port scan at $PPS frames/s (~$FLOOD_S s), cap $CAP, ring $RING_MB MB, -k $KEEP; long-lived $ll_src -> $ll_dst, $LL_PKTS frames at 1000/s"

rx0=$(rxp packets); rb0=$(rxp bytes)
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" /usr/bin/time -f '%M %e' -o "$TMP/time" \
	"$PKTSTAT" -i veth0 -1 -j -b $RING_MB -k $KEEP --max-flows $CAP \
	-t $((FLOOD_S * 4 + 60))s > "$TMP/flood.json" 2> "$TMP/flood.err" &
tpid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture socket appeared"
pid=$(pgrep -P $tpid | head -1)   # pktstat: the privileged writer
cpid=$(pgrep -P "$pid" | head -1) # its capturing child
# RSS of the capturing process every 0.5 s: "seconds kB"
( s0=$(date +%s%N)
  while kill -0 "$cpid" 2> /dev/null; do
	r=$(awk '/^VmRSS:/ {print $2}' "/proc/$cpid/status" 2> /dev/null)
	[ -n "$r" ] && echo "$(( ($(date +%s%N) - s0) / 1000000 )) $r"
	sleep 0.5
  done > "$TMP/rss" ) &
spid=$!

ip netns exec "$NS_PEER" "$SEND" -n $LL_PKTS -p 1000 veth1 "$TMP/ll.pcap" > "$TMP/ll.out" &
llpid=$!
sleep 1
t0=$(date +%s%N)
ip netns exec "$NS_PEER" "$BLAST" -n "$FLOWS" -f "$FLOWS" -r "$PPS" -m udp4 \
	-t $((FLOOD_S * 3 + 10)) veth1 > "$TMP/flood.out"
frc=$?
ip netns exec "$NS_PEER" "$BLAST" -n $SCAN -f $SCAN -r "$PPS" -m scan \
	-t 60 veth1 > "$TMP/scan.out"
src=$?
t1=$(date +%s%N)
kill -0 $llpid 2> /dev/null
ll_alive=$?
wait $llpid
llrc=$?
sleep 1 # let the capture drain its ring
t2=$(date +%s%N)
kill -INT "$pid"
wait $tpid
rc=$?
t3=$(date +%s%N)
wait $spid
rx1=$(rxp packets); rb1=$(rxp bytes)
read -r rss_kb secs < "$TMP/time"
rss_max=$(sort -n -k2 "$TMP/rss" | tail -1 | cut -d' ' -f2)
nrss=$(wc -l < "$TMP/rss")
# RSS when the table reached its cap (CAP / PPS after the flood began)
# and when the flood ended: it should hardly grow in between
cap_ms=$(( 1000 + CAP * 1000 / PPS + 1000 ))
end_ms=$(( 1000 + (t1 - t0) / 1000000 ))
rss_at() { awk -v t="$1" '$1 <= t { r = $2 } END { print int(r / 1024) }' "$TMP/rss"; }

kv() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$2"; }
f_pkts=$(kv sent "$TMP/flood.out"); f_bytes=$(kv bytes "$TMP/flood.out")
s_pkts=$(kv sent "$TMP/scan.out"); s_bytes=$(kv bytes "$TMP/scan.out")
read -r _ l_pkts _ l_bytes _ < "$TMP/ll.out"
sent_pkts=$((f_pkts + s_pkts + l_pkts))
sent_bytes=$((f_bytes + s_bytes + l_bytes))
rx_pkts=$((rx1 - rx0)); rx_bytes=$((rb1 - rb0))
echo "# senders: flood $(cat "$TMP/flood.out"); scan $(cat "$TMP/scan.out"); long-lived $(cat "$TMP/ll.out")"
echo "# flood + scan took $(( (t1 - t0) / 1000000 )) ms; veth0 received $rx_pkts frames, $rx_bytes bytes; SIGINT to exit (report of the live flows) $(( (t3 - t2) / 1000000 )) ms"
check "flood_live: pktstat exit 0 (got $rc)" test $rc -eq 0
[ $rc -eq 0 ] || head -5 "$TMP/flood.err"
check "flood_live: blast sent all $FLOWS flood frames (exit $frc, sent $f_pkts)" test $frc -eq 0 -a "$f_pkts" = "$FLOWS"
check "flood_live: blast sent all $SCAN scan frames (exit $src, sent $s_pkts)" test $src -eq 0 -a "$s_pkts" = $SCAN
check "flood_live: long-lived sender sent $l_pkts of $LL_PKTS (exit $llrc)" test $llrc -eq 0 -a "$l_pkts" = $LL_PKTS
check "flood_live: long-lived sender still sending when the flood ended" test $ll_alive -eq 0
check "flood_live: veth0 rx delta = senders' total ($rx_pkts = $sent_pkts frames)" test $rx_pkts -eq $sent_pkts
check "flood_live: veth0 rx bytes = senders' total ($rx_bytes = $sent_bytes)" test $rx_bytes -eq $sent_bytes

# the report's head (line 1) holds everything but the flows, one a line
head -1 "$TMP/flood.json" | sed 's/,"flows":\[$/}/' > "$TMP/head.json"
read -r tot_p tot_b live exp_f evi ep eb op ob kd fz ifd exact < <(jq -r '[.totals.packets, .totals.bytes, .flowTable.live, .flowTable.expired, .flowTable.evicted, .flowTable.expiredPackets, .flowTable.expiredBytes, .flowTable.overflowPackets, .flowTable.overflowBytes, .capture.kernelDrops, .capture.freezes, .capture.ifDrops, .exact] | @tsv' "$TMP/head.json")
read -r sum_p sum_b < <(awk -F'[,:]' '/^{"bitrate"/ { for (i = 1; i < NF; i++) { if ($i == "\"packets\"") p += $(i+1); if ($i == "\"size\"") b += $(i+1) } } END { printf "%d %d\n", p, b }' "$TMP/flood.json")
echo "# report: $tot_p packets, $tot_b bytes; live $live flows ($sum_p packets), expired $exp_f flows ($evi evicted under pressure; $ep packets), overflow $op packets; kernel drops $kd, freezes $fz, interface drops $ifd"
check "flood_live: no kernel drops ($kd), no freezes ($fz), report exact ($exact)" test "$kd" = 0 -a "$fz" = 0 -a "$exact" = true
check "flood_live: total packets = veth0 rx delta ($tot_p = $rx_pkts)" test "$tot_p" = $rx_pkts
check "flood_live: total bytes = veth0 rx delta ($tot_b = $rx_bytes)" test "$tot_b" = $rx_bytes
check "flood_live: live + expired + overflow packets = total ($sum_p + $ep + $op = $tot_p)" test $((sum_p + ep + op)) -eq "$tot_p"
check "flood_live: live + expired + overflow bytes = total ($sum_b + $eb + $ob = $tot_b)" test $((sum_b + eb + ob)) -eq "$tot_b"
check "flood_live: live flows within the cap ($live <= $CAP)" test "$live" -le $CAP
check "flood_live: flows evicted under pressure during the run ($evi)" test "$evi" -gt 0

# the long-lived flow keeps its entry and its exact count
read -r ll_p ll_b < <(grep -F "\"src\":\"$ll_src\",\"dst\":\"$ll_dst\"" "$TMP/flood.json" | sed 's/,$//' | jq -r '[.packets, .size] | @tsv')
check "flood_live: long-lived flow kept: ${ll_p:-no entry} packets = $l_pkts sent" test "${ll_p:-0}" = "$l_pkts"
check "flood_live: long-lived flow bytes: ${ll_b:-none} = $l_bytes sent" test "${ll_b:-0}" = "$l_bytes"

budget_kb=$(( ((CAP * 256) / 1024 + (BASE_MB + RING_MB - 8) * 1024) * ASAN_RSS_FACTOR ))
echo "# RSS: $(rss_at $cap_ms) MB when the table filled, $(rss_at $end_ms) MB when the flood ended, sampled max $((${rss_max:-0} / 1024)) MB ($nrss samples), peak $((rss_kb / 1024)) MB (exit report included); pktstat ran $secs s"
check "flood_live: peak RSS $((rss_kb / 1024)) MB within $((budget_kb / 1024)) MB (256 B x $CAP + $BASE_MB MB + $((RING_MB - 8)) MB of ring above 8)" test "$rss_kb" -le $budget_kb
check "flood_live: RSS sampled during the run ($nrss samples, max $((${rss_max:-0} / 1024)) MB) within budget" test "$nrss" -gt 10 -a "${rss_max:-0}" -le $budget_kb
finish
