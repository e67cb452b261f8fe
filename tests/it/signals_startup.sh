#!/bin/bash
# SIGINT, SIGTERM and SIGHUP before the capture has started end pktstat at
# once: as root (a privileged writer and its child), each signal sent to
# the started PID while the child waits to open a FIFO nobody writes, and
# while it compiles a 100 KB filter (minutes of pcap_compile). Both
# processes must be gone within 3 s (the figure is printed; load on a shared machine).
# Started as a script's background job, so SIGINT comes ignored: it must
# work anyway, as it does once the capture runs.
. "$(dirname "$0")/lib.sh"
need_root
BOUND_MS=3000
mkfifo "$TMP/fifo"
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
/usr/bin/python3 -c "
import sys
s = ' or '.join('host 10.%d.%d.%d' % (i >> 16 & 255, i >> 8 & 255, i & 255)
               for i in range(1, 100000))
sys.stdout.write(s[:100000].rsplit(' or ', 1)[0])" > "$TMP/filter"
worst=0
alive() { # a process that has not exited (a zombie has)
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}
# stop_case LABEL SIGNAL ARGS...: start, wait for the child, signal, time
stop_case() {
	local label=$1 sig=$2 pid child t0 ms i
	shift 2
	"$PKTSTAT" "$@" > "$TMP/out" 2> "$TMP/err" &
	disown
	pid=$!
	child=$(child_of $pid)
	sleep 0.5 # the child is blocked in open(), or compiling
	if [ -z "$child" ] || ! alive "$child"; then
		not_ok "$label: pktstat's child running before the signal"
		kill -KILL $pid 2> /dev/null
		wait $pid 2> /dev/null
		return
	fi
	t0=$(date +%s%N)
	kill -"$sig" $pid
	for i in $(seq 100); do
		alive $pid || alive "$child" || break
		sleep 0.01
	done
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $ms -gt $worst ] && worst=$ms
	check "$label: SIG$sig ends writer and child within $BOUND_MS ms ($ms ms)" test $ms -le $BOUND_MS
	kill -KILL $pid "$child" 2> /dev/null
	wait $pid 2> /dev/null
}
for sig in INT TERM HUP; do
	stop_case "FIFO without a writer" $sig -r "$TMP/fifo" -1 -j
	stop_case "100 KB filter compiling" $sig -r "$TMP/eth.pcap" -1 -j "$(cat "$TMP/filter")"
done
echo "# signals before start-up: slowest exit $worst ms"
finish
