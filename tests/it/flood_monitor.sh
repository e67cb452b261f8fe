#!/bin/bash
# The monitor's memory under a flood of flows, and after they expire
# (issue 17.7): the full-screen monitor in tmux captures veth0 of a
# namespace made here while bench/blast sends FLOWS UDP flows (each its
# own source address) at its maximum rate, ROUNDS times GAP s apart: the
# same flows each time, so every flow sends for longer than 4 s (its
# averages then run over several refreshes, as a long-lived flow's do);
# -k KEEP keeps every flow past the end of the flood, so the live flows
# level off at what was captured (read on screen), then all expire
# together. Rewind's history
# is off (--history 0): it keeps past seconds on purpose, within its own
# --history-max.
#
# Checked, each figure printed: the peak resident memory of the
# capturing process (VmHWM) stays within the README's bound for the whole
# monitor (table, snapshot, rate history, screen state): PER_FLOW bytes
# per live flow + 64 MB; once every flood flow has expired (the screen says flows
# 0) the idle monitor gives the memory back: its RSS falls to within 16
# MB of what it was before the flood (which holds the table's reserve of
# flow slots), keeping under a quarter of what the flood added; q
# still exits 0 (under ASan: with no report). The memory checks are for
# the release build: ASan's allocator keeps freed memory in quarantine
# and its slow UI lags the screen. FLOOD_MON_FLOWS and FLOOD_MON_ROUNDS
# override.
. "$(dirname "$0")/lib.sh"
need_root
BLAST=$B/bench/blast
FLOWS=${FLOOD_MON_FLOWS:-250000}
ROUNDS=${FLOOD_MON_ROUNDS:-3}
GAP=3
KEEP=8
BASE_MB=64
PER_FLOW=512 # README: Memory
SLACK_MB=16 # what an idle monitor may keep after the flood (malloc's pools)
tmux_setup flood_monitor
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
echo "# flood_monitor: $FLOWS UDP flows at blast's maximum rate, $ROUNDS rounds $GAP s apart, -k $KEEP --history 0"

before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
T new-session -d -s ui -x 100 -y 30 \
	"env LC_ALL=C.UTF-8 TERM=tmux-256color ip netns exec $NS_CAP $PKTSTAT -i veth0 -k $KEEP --history 0; echo EXITED \$?; sleep 60"
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture socket appeared"
wait_for 'flows 0' > /dev/null
pane=$(T list-panes -t ui -F '#{pane_pid}')
# the pane's shell runs ip netns exec, which becomes pktstat (the
# privileged writer); its child captures and draws
writer=$(child_of "$pane")
cpid=$([ -n "$writer" ] && child_of "$writer")
if [ -z "$cpid" ]; then
	screen | sed 's/^/# | /'
	not_ok "flood_monitor: the monitor is running (its capturing process found)"
	finish
	exit 1
fi
st() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$cpid/status" 2> /dev/null; }
flows_on_screen() { screen | grep -o 'flows [0-9]*' | head -1 | cut -d' ' -f2; }
sleep 1
base_kb=$(st VmRSS)
echo "# capturing process $cpid: RSS $((base_kb / 1024)) MB before the flood"

# samples "ms kB flows" every 0.2 s until told to stop
( s0=$(date +%s%N)
  while [ ! -e "$TMP/stop" ] && kill -0 "$cpid" 2> /dev/null; do
	echo "$(( ($(date +%s%N) - s0) / 1000000 )) $(st VmRSS) $(flows_on_screen)"
	sleep 0.2
  done > "$TMP/samples" ) &
spid=$!
t0=$(date +%s%N)
brc=0
for r in $(seq "$ROUNDS"); do
	[ "$r" -gt 1 ] && sleep "$GAP"
	ip netns exec "$NS_PEER" "$BLAST" -n "$FLOWS" -f "$FLOWS" -m udp4 -t 30 veth1 > "$TMP/blast.out"
	rc=$?
	[ "$rc" -ne 0 ] && brc=$rc
	echo "# blast round $r: $(cat "$TMP/blast.out") (exit $rc)"
done
t1=$(date +%s%N)
echo "# blast: $ROUNDS rounds in $(( (t1 - t0) / 1000000 )) ms"
sleep 2 # the last frames counted, two screen refreshes
live=$(flows_on_screen)
hwm_kb=$(st VmHWM)
# every flood flow expires KEEP s after its frame; the screen then says
# flows 0 (an expiry pass runs at most once a second)
wait_for '[^d] flows 0 ' $((KEEP + 15)) > /dev/null
gone=$?
t2=$(date +%s%N)
# grace periods end, a chunk empty at four expiry passes in a row goes
# back, the view compacts: RSS polled for up to 12 s
for i in $(seq 60); do
	idle_kb=$(st VmRSS)
	[ "$idle_kb" -le $((base_kb + SLACK_MB * 1024)) ] && break
	sleep 0.2
done
t3=$(date +%s%N)
touch "$TMP/stop"
wait $spid
max_flows=$(awk '$3 > m { m = $3 } END { print m + 0 }' "$TMP/samples")
max_rss=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$TMP/samples")
nsamp=$(wc -l < "$TMP/samples")
echo "# samples: $nsamp; most flows on screen $max_flows, $live after the flood; sampled RSS max $((max_rss / 1024)) MB; peak (VmHWM) $((hwm_kb / 1024)) MB; all expired $(( (t2 - t1) / 1000000 )) ms after the flood; RSS $((idle_kb / 1024)) MB $(( (t3 - t2) / 1000000 )) ms later"
check "flood_monitor: blast sent all $FLOWS frames in each of $ROUNDS rounds (exit $brc)" test "$brc" -eq 0
live=${live:-0}
check "flood_monitor: every flood flow expired (the screen says flows 0)" test "$gone" -eq 0
if [ "$ASAN_RSS_FACTOR" -ne 1 ]; then
	echo "# ASan build: memory checks skipped (quarantine, a lagging screen)"
else
	check "flood_monitor: at least half the flood's flows live at once ($live of $FLOWS)" test "$live" -ge $((FLOWS / 2)) -a "$live" -le "$FLOWS"
	check "flood_monitor: the screen's flow count levelled off ($max_flows sampled, $live after the flood)" test "$max_flows" -le $((live + live / 50 + 10))
	[ "$live" -gt 0 ] && echo "# peak bytes a live flow over the idle monitor: $(( (hwm_kb - base_kb) * 1024 / live ))"
	budget_kb=$(( live * PER_FLOW / 1024 + BASE_MB * 1024 ))
	check "flood_monitor: peak RSS $((hwm_kb / 1024)) MB within $((budget_kb / 1024)) MB ($PER_FLOW B x $live live flows + $BASE_MB MB)" test "$hwm_kb" -le "$budget_kb"
	check "flood_monitor: idle RSS after expiry $((idle_kb / 1024)) MB within $SLACK_MB MB of the $((base_kb / 1024)) MB before" test "$idle_kb" -le $(( base_kb + SLACK_MB * 1024 ))
	check "flood_monitor: the flood's memory given back: $(( (idle_kb - base_kb) / 1024 )) MB kept of $(( (hwm_kb - base_kb) / 1024 )) MB, under a quarter" test $(( (idle_kb - base_kb) * 4 )) -le $(( hwm_kb - base_kb ))
fi
T send-keys -t ui q
check "flood_monitor: q exits 0" wait_for 'EXITED 0'
finish
