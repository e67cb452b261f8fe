#!/bin/bash
# -r - from a pipe whose writer pauses and stays open (tcpdump -U -w - over
# ssh, "(cat f; sleep 30) |"): SIGINT must count every record read so far
# (records no longer wait in a partly filled read-ahead block) and end
# within the usual bound, though the writer has not closed the pipe.
. "$(dirname "$0")/lib.sh"
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
n=$(grep '^total' "$TMP/eth.exp" | cut -d' ' -f2)
mkfifo "$TMP/fifo"
for fmt in json text; do
	args=(-r -)
	[ $fmt = json ] && args+=(-j)
	"$PKTSTAT" "${args[@]}" < "$TMP/fifo" > "$TMP/out.$fmt" 2> "$TMP/err.$fmt" &
	pid=$!
	exec 3> "$TMP/fifo"
	cat "$TMP/eth.pcap" >&3
	sleep 1.5
	t0=$(date +%s%N)
	kill -INT $pid
	for i in $(seq 100); do kill -0 $pid 2> /dev/null || break; sleep 0.05; done
	t1=$(date +%s%N)
	alive=0; kill -0 $pid 2> /dev/null && alive=1
	exec 3>&-
	wait $pid
	rc=$?
	check "$fmt: SIGINT with the writer still there: ended in $(((t1 - t0) / 1000000)) ms (< 2 s)" \
		test $alive -eq 0 -a $((t1 - t0)) -lt 2000000000
	check "$fmt: exit status 0" test $rc -eq 0
	if [ $fmt = json ]; then
		check "json: every record read counted ($n)" test "$(jq .totals.packets "$TMP/out.json")" = "$n"
	else
		check "text: every record read counted ($n)" grep -q "^Read total packets: $n," "$TMP/out.text"
	fi
done
finish
