#!/bin/bash
# The UI never blocks capture: pktstat runs full screen on a pseudo-
# terminal whose reader (script(1)) is stopped with SIGSTOP, so once the
# pty buffer is full every screen write blocks the UI thread. Traffic sent
# meanwhile must still be counted exactly: the snapshot written after the
# terminal is released has every frame, with no kernel drops.
. "$(dirname "$0")/lib.sh"
need_root
SEND=$B/tests/gen/sendframes
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
# 200 columns and a 0.1 s refresh: the pty buffer fills within seconds
TERM=xterm-256color COLUMNS=200 LINES=60 script -q -e -c \
	"stty cols 200 rows 60; ip netns exec $NS_CAP $PKTSTAT -i veth0 -w 0.1 --snapshot $TMP/stall.json" \
	/dev/null > /dev/null 2>&1 < /dev/null &
spid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture socket appeared"
sleep 0.5
kill -STOP $spid
pk=$(pgrep -f "snapshot $TMP/stall[.]json" | tail -1)
# fill the terminal's output buffer (nobody reads it now), so that the
# UI's next screen write blocks
timeout 20 sh -c "cat /dev/zero > /proc/$pk/fd/1" 2>/dev/null &
fill=$!
sleep 1.5
ip netns exec "$NS_PEER" "$SEND" -n 20 veth1 "$TMP/eth.pcap" > /dev/null
sleep 1
wchan=$(cat /proc/"$pk"/wchan 2>/dev/null)
echo "# while the terminal reader is stopped, pktstat's UI thread waits in: $wchan"
check "the UI thread was really blocked writing to the full terminal" \
	sh -c "echo '$wchan' | grep -q 'tty\|wait_woken'"
# the UI thread (the process's main thread) runs below the capture
# threads: field 19 of /proc/PID/task/TID/stat is the nice value
ui_nice=$(awk '{print $19}' /proc/"$pk"/task/"$pk"/stat 2>/dev/null)
other_nice=$(for t in /proc/"$pk"/task/*; do
	[ "${t##*/}" = "$pk" ] || awk '{print $19}' "$t"/stat
done 2>/dev/null | sort -n | head -1)
echo "# nice: UI thread ${ui_nice:-?}, lowest of the other threads (capture) ${other_nice:-?}"
check "the UI thread yields to the capture (nice ${ui_nice:-?} > ${other_nice:-?})" \
	test "${ui_nice:-0}" -gt "${other_nice:-0}"
kill $fill 2>/dev/null
kill -CONT $spid
sleep 0.3
kill -TERM "$pk"
for i in $(seq 100); do [ -s "$TMP/stall.json" ] && break; sleep 0.05; done
kill $spid 2>/dev/null; wait $spid 2>/dev/null
got=$(jq .totals.packets "$TMP/stall.json" 2>/dev/null)
drops=$(jq .capture.kernelDrops "$TMP/stall.json" 2>/dev/null)
echo "# stalled terminal: sent $((162 * 20)), counted $got, kernel drops $drops"
check "stalled terminal: every frame counted (3240)" test "$got" = 3240
check "stalled terminal: no kernel drops" test "$drops" = 0
finish
