#!/bin/bash
# --jsonl FILE and --exit-over RATE on live traffic in a namespace.
# A reader follows the file with tail -F during the run and checks every
# line it reads whole; lines parse, their totals only grow, the last equals
# the final report; rotation keeps exactly FILE and FILE.1, mode 0600.
# --exit-over: status 3 when the traffic's rate is over the limit, 0 under.
. "$(dirname "$0")/lib.sh"
need_root
netns_setup || { not_ok "netns set-up"; finish; exit 1; }
ip -n "$NS_CAP" addr add 10.77.0.1/24 dev veth0
ip -n "$NS_PEER" addr add 10.77.0.2/24 dev veth1

# send N datagrams of SIZE bytes payload at RATE packets a second to port P
send_udp() { # N SIZE RATE PORT
	ip netns exec "$NS_PEER" /usr/bin/python3 - "$@" << 'EOF'
import socket, sys, time
n, size, rate, port = (int(x) for x in sys.argv[1:5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i in range(n):
    s.sendto(bytes(size), ("10.77.0.1", port + i % 20))
    d = t0 + (i + 1) / rate - time.monotonic()
    if d > 0:
        time.sleep(d)
EOF
}

F=$TMP/tee.jsonl
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 4s -w 0.25 -j \
	--jsonl "$F" --jsonl-top 5 --jsonl-max 6k > "$TMP/report.json" 2> "$TMP/err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture ready"
# the reader: only whole lines (read returns at a newline), each checked
(tail -n +1 -F "$F" 2> /dev/null | while IFS= read -r line; do
	if printf '%s\n' "$line" | jq -e '.totals.packets >= 0' > /dev/null 2>&1; then
		echo good
	else
		echo "bad: ${line:0:80}"
	fi
done > "$TMP/reader") &
reader=$!
send_udp 600 200 250 7000
wait "$pid"
st=$?
sleep 0.5
pkill -P "$reader" tail 2> /dev/null
kill "$reader" 2> /dev/null
wait "$reader" 2> /dev/null
check "pktstat exits 0 ($(head -c 200 "$TMP/err"))" test "$st" = 0
good=$(grep -c '^good$' "$TMP/reader")
check "the tailing reader saw only whole, parsable lines ($good)" \
	sh -c "[ $good -ge 8 ] && ! grep -q '^bad' '$TMP/reader'"
check "FILE is mode 0600" test "$(stat -c %a "$F")" = 600
check "rotation: FILE.1 exists" test -f "$F.1"
check "rotation keeps only FILE and FILE.1" test "$(ls "$TMP" | grep -c '^tee.jsonl')" = 2
check "files stay within --jsonl-max" sh -c \
	"[ \$(stat -c %s '$F') -le 6000 ] && [ \$(stat -c %s '$F.1') -le 6000 ]"
cat "$F.1" "$F" > "$TMP/all"
jqok() { jq -e "$@" > /dev/null; }
check "every line parses" jqok -s 'length > 0' "$TMP/all"
check "totals never decrease" jqok -s \
	'[.[].totals.packets] as $p | $p == ($p | sort)' "$TMP/all"
check "the last line's totals equal the final report's" test \
	"$(tail -1 "$F" | jq -c '.totals')" = "$(jq -c '.totals' "$TMP/report.json")"
check "the report counted the 600 datagrams" test \
	"$(jq '[.flows[] | select(.proto == "UDP") | .packets] | add' "$TMP/report.json")" = 600
check "lines carry at most --jsonl-top flows, with interval bytes" jqok -s \
	'all(.[]; (.flows | length) <= 5) and any(.[].flows[]; .intervalBytes > 0)' "$TMP/all"
check "each line's delta is the change of the totals since the line before" jqok -s \
	'[range(1; length) as $i | .[$i].delta.packets == .[$i].totals.packets - .[$i - 1].totals.packets] | all' \
	"$TMP/all"

# --exit-over: about 250 pkt/s of 1042-byte frames is ~2 Mbit/s
t0=$(date +%s%N)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 8s -j --exit-over 500k \
	> /dev/null 2> "$TMP/err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture ready"
send_udp 1000 1000 250 7100 &
sender=$!
wait "$pid"
st=$?
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$sender"
check "--exit-over 500k at ~2 Mbit/s: exit 3 within 4 s ($st, $ms ms)" \
	sh -c "[ $st = 3 ] && [ $ms -lt 4000 ]"
check "--exit-over says why on one line" grep -q 'over --exit-over' "$TMP/err"
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 2s -j --exit-over 100M \
	> /dev/null 2> "$TMP/err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture ready"
send_udp 300 1000 250 7200
wait "$pid"
check "--exit-over 100M at ~2 Mbit/s: exit 0" test $? = 0

# The monitor: its refreshes tick the engine's port, which writes --jsonl
# lines and fires --exit-over (the monitor then ends with status 3).
tmux_setup pktstat-jsonl
U=$TMP/ui.jsonl
T new-session -d -s ui -x 120 -y 30 "env TERM=tmux-256color ip netns exec \
	$NS_CAP $PKTSTAT -i veth0 -w 0.25 --jsonl $U --exit-over 500k; \
	echo EXITED \$? > $TMP/ui.st; sleep 30"
wait_capture_ready "$NS_CAP" "$before" || not_ok "monitor capture ready"
send_udp 1500 1000 500 7300 &
sender=$!
for i in $(seq 100); do [ -s "$TMP/ui.st" ] && break; sleep 0.1; done
wait "$sender"
check "monitor: --exit-over 500k at ~4 Mbit/s ends it with status 3" \
	grep -q 'EXITED 3' "$TMP/ui.st"
check "monitor: --jsonl lines from its refreshes, the last counting packets" \
	sh -c "[ \$(wc -l < '$U') -ge 2 ] && tail -1 '$U' | jq -e '.totals.packets > 0' > /dev/null"
tmux_teardown

# tcpstat live (-o): the worker's tcpstat sink closes quiet intervals by
# the clock, so lines come while nothing arrives, and its finish prints
# the last one.
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -o '%n\n' --flush --seconds 4 1 \
	> "$TMP/ts.out" 2> "$TMP/ts.err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "tcpstat capture ready"
send_udp 40 100 100 7400
sleep 2.5
mid=$(wc -l < "$TMP/ts.out")
wait "$pid"
check "tcpstat live: lines while quiet ($mid after ~3 s)" test "$mid" -ge 2
check "tcpstat live: the 40 datagrams counted in its lines" \
	awk '{ s += $1 } END { exit !(s >= 40 && NR >= 3) }' "$TMP/ts.out"

# bad values
for bad in "--exit-over 0" "--exit-over 5X" "--jsonl-max 0" "--jsonl-top -1"; do
	# shellcheck disable=SC2086
	"$PKTSTAT" -r /dev/null $bad > /dev/null 2> "$TMP/err"
	st=$?
	check "$bad: exit 2 naming the flag" sh -c \
		"[ $st = 2 ] && head -1 '$TMP/err' | grep -q -- '${bad%% *}'"
done
ln -s "$TMP/elsewhere" "$TMP/link.jsonl"
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 1s -j --jsonl "$TMP/link.jsonl" \
	> /dev/null 2> "$TMP/err"
check "--jsonl through a symbolic link: refused, exit 1" sh -c \
	"[ $? = 1 ] && grep -q 'symbolic link' '$TMP/err'"
finish
