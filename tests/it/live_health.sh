#!/bin/bash
# Live capture health: privileges dropped (checked in /proc) with traffic
# still counted; no CPU burnt on an idle interface; a prompt stop on
# SIGTERM; drop accounting with a deliberately tiny ring (counted + dropped
# = sent); the interface going down and up, and being deleted, mid-run.
. "$(dirname "$0")/lib.sh"
need_root
SEND=$B/tests/gen/sendframes
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# --- privileges and idle CPU -------------------------------------------------
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 5s -1 -j > "$TMP/priv.json" 2> "$TMP/priv.err" &
ppid=$!
wait_capture_ready "$NS_CAP" "$before"
cpid=$(child_of $ppid)
check "capture runs in a child of the snapshot writer" test -n "$cpid"
st=/proc/$cpid/status
check "uid dropped to nobody" sh -c "grep -q '^Uid:[[:space:]]*65534[[:space:]]65534[[:space:]]65534[[:space:]]65534' $st"
check "gid dropped to nogroup" sh -c "grep -q '^Gid:[[:space:]]*65534[[:space:]]65534[[:space:]]65534[[:space:]]65534' $st"
check "no supplementary groups" sh -c "grep -q '^Groups:[[:space:]]*\$' $st"
check "no effective, permitted or bounding capabilities" sh -c "grep -q '^CapEff:[[:space:]]*0000000000000000' $st && grep -q '^CapPrm:[[:space:]]*0000000000000000' $st && grep -q '^CapBnd:[[:space:]]*0000000000000000' $st"
check "no_new_privs set" sh -c "grep -q '^NoNewPrivs:[[:space:]]*1' $st"
t0=$(cpu_ticks "$cpid")
sleep 2
t1=$(cpu_ticks "$cpid")
echo "# idle: $((t1 - t0)) CPU ticks (1/100 s) in 2 s"
check "idle interface costs under 2% CPU ($((t1 - t0)) ticks in 2 s)" test $((t1 - t0)) -le 4
ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
wait $ppid
check "traffic counted after the drop: 162 packets" test "$(jq .totals.packets "$TMP/priv.json")" = 162

# --- stop latency ---------------------------------------------------------------
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -1 -j --snapshot "$TMP/stop.json" > /dev/null 2>&1 &
pid=$!
wait_capture_ready "$NS_CAP" "$before"
t0=$(date +%s%N)
kill -TERM $pid
wait $pid
rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "# stop: SIGTERM to exit in $ms ms"
check "SIGTERM: exit status 0" test $rc -eq 0
check "SIGTERM: snapshot written" sh -c "jq -e .totals \"$TMP/stop.json\" > /dev/null"
check "SIGTERM: stopped within 500 ms (bench measures the 100 ms target)" test $ms -lt 500

# --- drop accounting with a tiny ring ---------------------------------------
"$GEN" many "$TMP/many.pcap" "$TMP/many.exp" 1000 20000
rx0=$(ip netns exec "$NS_CAP" cat /sys/class/net/veth0/statistics/rx_packets)
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -b 1 -t 4s -1 -j > "$TMP/tiny.json" 2>/dev/null &
pid=$!
wait_capture_ready "$NS_CAP" "$before"
# SIGSTOP the capture so the 1 MB ring must overflow, then let it go
cpid=$(child_of $pid)
kill -STOP "$cpid"
ip netns exec "$NS_PEER" "$SEND" -n 5 veth1 "$TMP/many.pcap" > /dev/null
kill -CONT "$cpid"
wait $pid
rx1=$(ip netns exec "$NS_CAP" cat /sys/class/net/veth0/statistics/rx_packets)
sent=$((rx1 - rx0))
counted=$(jq .totals.packets "$TMP/tiny.json")
dropped=$(jq .capture.kernelDrops "$TMP/tiny.json")
echo "# tiny ring: sent $sent, counted $counted, kernel drops $dropped"
check "tiny ring: some frames were dropped" test "$dropped" -gt 0
check "tiny ring: counted + dropped = sent ($counted + $dropped = $sent)" test $((counted + dropped)) -eq "$sent"
check "tiny ring: report says not exact" test "$(jq .exact "$TMP/tiny.json")" = false

# --- interface down, up, deleted ------------------------------------------------
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 20s -1 -j > "$TMP/down.json" 2> "$TMP/down.err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before"
ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
ip -n "$NS_CAP" link set veth0 down
sleep 0.5
ip -n "$NS_CAP" link set veth0 up
ip -n "$NS_PEER" link set veth1 up
sleep 1
ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
sleep 0.5
# a deleted interface is waited for (it may come back, pktstat.1
# INTERFACES THAT GO AWAY); a stop while it is gone is orderly
ip -n "$NS_CAP" link del veth0
sleep 1
check "interface deleted: still running, waiting for it" kill -0 $pid
t0=$(date +%s)
kill -INT $pid
wait $pid
rc=$?
t1=$(date +%s)
check "interface deleted: orderly exit on SIGINT well before the 20 s timeout" test $((t1 - t0)) -le 3
check "interface deleted: one clear line naming it" grep -q 'veth0.*\(removed\|deleted\|gone\)' "$TMP/down.err"
check "interface down was reported" grep -qi 'veth0.*down' "$TMP/down.err"
check "interface deleted: report still written with both bursts (324 packets)" test "$(jq .totals.packets "$TMP/down.json")" = 324
check "interface deleted: exit status 1" test $rc -eq 1
finish
