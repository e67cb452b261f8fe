#!/bin/bash
# A monitor session from start to quit, in tmux (issue 16): what is left on
# the terminal after q (a summary whose last line says where the snapshot
# is; the whole report only with --report; nothing with -q; a snapshot
# error as the last line), snapshot files named after the time in the
# snapshot directory and never written over, with every filter in force
# and when it was set; ICMP types in a text snapshot; the host view (V)
# against the snapshot's flows. Live, in a namespace: creating a counter
# (C) leaves the rates and the peak as they were (16.4); a removed
# interface is named on screen, the monitor stays up and capture resumes
# when an interface of that name comes back (16.8), in the monitor and
# in batch mode (one thread, a fanout group of two, the pcap backend);
# quitting while it is gone ends with status 1.
. "$(dirname "$0")/lib.sh"
tmux_setup pktstat-ses
keys() { T send-keys -t ui "$@"; sleep 0.3; }
start() { # start COLS ROWS ENV... COMMAND...: the screen, then a shell
	local cols=$1 rows=$2 cmd; shift 2
	cmd=$(printf '%q ' "$@")
	T kill-session -t ui 2>/dev/null
	T new-session -d -s ui -x "$cols" -y "$rows" \
		"env LC_ALL=C.UTF-8 TERM=xterm-256color $cmd; echo EXITED \$?; sleep 60"
}
# the screen's lines after the monitor quit (wrapped ones joined), empty
# ones dropped
after() { T capture-pane -p -J -t ui | grep -v '^ *$'; }
# the last line before "EXITED"
last_line() { after | grep -B1 '^EXITED' | head -1; }

"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
H=$TMP/home
mkdir -p "$H"
SD=$H/.local/state/pktstat
t0=$(date -u +%s)

# ---- 16: quit summary, timestamped snapshots with the filter history ----
start 100 40 HOME="$H" XDG_STATE_HOME= "$PKTSTAT" -r "$TMP/eth.pcap" -n \
	--count "web=tcp port 80"
check "screen up" wait_for '^Proto'
keys /
T send-keys -t ui -l '10.0.0.7'; keys Enter
keys e
T send-keys -t ui -l 'not port 9'; keys Enter
check "capture filter changed" wait_for 'capture filter: not port 9'
keys C
T send-keys -t ui -l 'new x1 udp'; keys Enter
check "counter x1 made" wait_for 'counter x1 added'
# the host view (V): per host sent and received, exact bytes
keys V
check "V: the host view's titles" wait_for '^Host  *TX bits/s  *RX bits/s  *bits/s  *TX bytes  *RX bytes  *Bytes  *Flows'
check "V: the link's line (hosts, now, cum)" wait_for '^hosts [0-9]*  link now .* cum 74027 bytes'
screen > "$TMP/hosts.screen"
keys V
check "V again: the flows" wait_for '^Proto'
# three snapshots at once and one at q: four files, none written over
keys s; keys s; keys s
keys q
check "q exits 0" wait_for 'EXITED 0'
t1=$(date -u +%s)
after | sed 's/^/# | /'
nfiles=$(ls "$SD" 2> /dev/null | grep -c '^pktstat-[0-9]\{8\}-[0-9]\{6\}\(-[0-9]*\)\?[.]json$')
check "four snapshots (s, s, s, q) in the default directory, none written over ($nfiles)" test "$nfiles" = 4
check "the snapshot directory is 0700" test "$(stat -c %a "$SD")" = 700
snap=$(last_line | sed -n 's/^pktstat: snapshot written to //p')
check "the last line says where the snapshot is" sh -c "test -n '$snap' && test -f '$snap'"
check "... named pktstat-YYYYmmdd-HHMMSS.json in \$HOME/.local/state/pktstat" \
	sh -c "echo '$snap' | grep -Eq '^$SD/pktstat-[0-9]{8}-[0-9]{6}(-[0-9]+)?[.]json$'"
check "the snapshot is 0600" test "$(stat -c %a "$snap")" = 600
check "summary: totals (162 packets, 74027 bytes), counts exact" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -q 'eth[.]pcap: 162 packets, 74027 bytes in .* counts exact'"
nrows=$(after | grep -Ec '^ +[0-9]+ +[0-9]+  [A-Za-z0-9]+ ')
check "summary: the top 10 flows, not one line per flow ($nrows)" test "$nrows" = 10
big=$(jq -r '[.flows[] | select(.flow)] | group_by(.flow) | map({b: (map(.size) | add), f: .[0].flow}) | sort_by(-.b) | .[0].b' "$snap")
first=$(after | grep -A1 '^ *bytes  *packets' | tail -1 | awk '{ print $1 }')
check "summary: the largest flow first, its bytes exact ($big)" test "$first" = "$big"
check "summary: says how many more flows the snapshot has" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -q '\\.\\.\\. 5 more: every live flow is in the snapshot'"
check "no per-flow report after the monitor (no 'bitrate:' lines)" \
	sh -c "! tmux -L $SOCK capture-pane -p -t ui | grep -q '^bitrate: '"
# the snapshot's flows summed per address: sent (as src) and received
jq -r '.flows[] | select(.srcIp != "" and (.proto | test("^(TCP|UDP|ICMP)"))) | "\(.srcIp) \(.dstIp) \(.size)"' "$snap" |
	awk '{ tx[$1] += $3; rx[$2] += $3 } END { for (h in tx) print h, tx[h], rx[h] + 0; for (h in rx) if (!(h in tx)) print h, 0, rx[h] }' |
	sort > "$TMP/hosts.want"
bad=0; n=0
while read -r h tx rx; do
	n=$((n + 1))
	line=$(grep -E "^$(echo "$h" | sed 's/[.]/[.]/g') " "$TMP/hosts.screen")
	set -- $line
	[ "${5:-x}" = "$tx" ] && [ "${6:-x}" = "$rx" ] || { bad=$((bad + 1)); echo "# $h: want TX $tx RX $rx, screen: $line"; }
done < "$TMP/hosts.want"
check "V: each host's TX and RX bytes are its flows' ($n hosts)" test "$bad" = 0 -a "$n" -ge 10
# every filter in force, with the time it was set (within the run)
fh=$(jq -c '[.filterHistory[] | [.kind, .name, .filter]]' "$snap")
echo "# filterHistory: $fh"
check "snapshot: the filters in force in order (counter web, display, capture, counter x1)" \
	test "$fh" = '[["counter","web","tcp port 80"],["display",null,"10.0.0.7"],["capture",null,"not port 9"],["counter","x1","udp"]]'
check "snapshot: each with its time, during the run" \
	jq -e "$JQ_ISO [.filterHistory[].time | iso] | all(. >= $t0 and . <= $t1 + 1)" "$snap"

# --report: the whole report; -q: nothing but where the snapshot is
start 100 30 HOME="$H" "$PKTSTAT" -r "$TMP/eth.pcap" --report --snapshot "$TMP/rep.txt"
wait_for '^Proto' > /dev/null
keys q
check "--report: the whole report after the monitor" wait_for 'Read total packets: 162'
check "--report: the snapshot line is still the last" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -v '^ *\$' | grep -B1 '^EXITED' | head -1 | grep -q '^pktstat: snapshot written to $TMP/rep.txt\$'"
check "a text snapshot names the ICMP types (echo)" \
	grep -q 'proto: ICMPv4, src: 10.0.0.20, dst: 10.0.0.21, type: echo$' "$TMP/rep.txt"
check "... ICMPv6 too" grep -q 'proto: ICMPv6, .*, type: echo$' "$TMP/rep.txt"
# -q, and --snapshot DIR/: timestamped files there
mkdir "$TMP/snaps"
start 100 30 "$PKTSTAT" -r "$TMP/eth.pcap" -q --snapshot "$TMP/snaps/"
wait_for '^Proto' > /dev/null
keys q
wait_for EXITED > /dev/null
check "-q: only where the snapshot is" \
	sh -c "test \"\$(tmux -L $SOCK capture-pane -p -J -t ui | grep -v '^ *\$' | grep -v '^EXITED')\" = \"pktstat: snapshot written to \$(ls -d $TMP/snaps/*)\""
check "--snapshot DIR/: a timestamped file there" \
	sh -c "ls '$TMP/snaps' | grep -Eq '^pktstat-[0-9]{8}-[0-9]{6}[.]json$'"
# a snapshot that cannot be written: its error is the last line, status 1
start 100 30 "$PKTSTAT" -r "$TMP/eth.pcap" --snapshot "$TMP/no/such/dir/x.json"
wait_for '^Proto' > /dev/null
keys q
check "unwritable snapshot: status 1" wait_for 'EXITED 1'
check "unwritable snapshot: its error is the last line" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -v '^ *\$' | grep -B1 '^EXITED' | head -1 | grep -q '^pktstat: $TMP/no/such/dir/x.json: directory does not exist'"

# ---- live ---------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	echo "# live part skipped: needs root (network namespaces)"
	finish
	exit
fi
SEND=$B/tests/gen/sendframes
netns_setup || { not_ok "netns set-up"; finish; exit 1; }

# 16.4: a counter command leaves rates and peak continuous. Steady
# traffic (3000 frames a second); C commands in quick succession force
# refreshes a few tens of milliseconds apart, which, measured as rates
# (the ring hands frames over in 50 ms blocks), read 0 or many times the
# real one.
start 100 30 ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -w 1 -n --snapshot "$TMP/c.json"
wait_for '^Proto' > /dev/null
wait_capture_ready "$NS_CAP" 1 || echo "# capture socket not seen"
ip netns exec "$NS_PEER" "$SEND" -p 3000 -n 250 veth1 "$TMP/eth.pcap" > /dev/null &
bursts=$!
# header line 2: "total R bits/s  avg A  peak P ..."
sample() { screen | sed -n '2s/^total \([0-9.]*[kMG]*\) bits\/s .* peak \([0-9.]*[kMG]*\) .*/\1 \2/p'; }
si() { /usr/bin/python3 -c '
import sys
t = sys.argv[1]
m = {"k": 1e3, "M": 1e6, "G": 1e9}
print(float(t[:-1]) * m[t[-1]] if t and t[-1] in m else float(t))' "$1"; }
sleep 2 # the first refreshes: traffic starting
for i in $(seq 6); do sample; sleep 0.1; done > "$TMP/before.txt"
keys C; T send-keys -t ui -l 'new x1 udp'; T send-keys -t ui Enter
for i in 1 2 3 4 5; do T send-keys -t ui C; sleep 0.03; T send-keys -t ui -l 'list'; T send-keys -t ui Enter; sleep 0.03; done
for i in $(seq 6); do sample; sleep 0.1; done > "$TMP/after.txt"
kill "$bursts" 2> /dev/null
wait "$bursts"
keys q
wait_for EXITED > /dev/null
/usr/bin/python3 - "$TMP/before.txt" "$TMP/after.txt" > "$TMP/cont.res" <<'PY'
import sys, statistics
def si(t):
    m = {"k": 1e3, "M": 1e6, "G": 1e9}
    return float(t[:-1]) * m[t[-1]] if t and t[-1] in m else float(t)
def load(p):
    return [tuple(si(x) for x in l.split()) for l in open(p) if len(l.split()) == 2]
b, a = load(sys.argv[1]), load(sys.argv[2])
steady = [r for r, _ in b]
med = statistics.median(steady)
peak0 = max(p for _, p in b)
rates = [r for r, _ in a]
peak1 = max(p for _, p in a)
print("# steady %.3g bits/s, peak before %.3g; after: rates %s, peak %.3g"
      % (med, peak0, " ".join("%.3g" % r for r in rates), peak1))
ok = med > 0 and all(0.75 * med <= r <= 1.25 * med for r in rates)
print("%s - the total rate stays within 25%% of %.3g across counter commands" % ("ok" if ok else "not ok", med))
ok = peak1 <= 1.2 * peak0
print("%s - the peak is not raised by counter commands (%.3g, was %.3g)" % ("ok" if ok else "not ok", peak1, peak0))
PY
grep '^#' "$TMP/cont.res"
while read -r verdict rest; do
	case $verdict in ok) ok "${rest#- }" ;; not) not_ok "${rest#ok - }" ;; esac
done < <(grep -v '^#' "$TMP/cont.res")
check "counter: the snapshot has x1" test "$(jq -r '.counters[].name' "$TMP/c.json" | tr '\n' ' ')" = "x1 "

# 16.8: a removed interface, on screen at once; capture resumes when one of
# that name comes back; quitting while it is gone: status 1
mkveth() {
	ip -n "$NS_CAP" link add uxa0 type veth peer name uxa1 &&
	ip -n "$NS_CAP" link set uxa0 up && ip -n "$NS_CAP" link set uxa1 up
}
ip netns exec "$NS_CAP" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
mkveth
start 100 30 ip netns exec "$NS_CAP" "$PKTSTAT" -i uxa0 -w 0.2 -n --snapshot "$TMP/rm.json"
wait_for '^Proto' > /dev/null
wait_capture_ready "$NS_CAP" 1 || echo "# capture socket not seen"
ip netns exec "$NS_CAP" "$SEND" uxa1 "$TMP/eth.pcap" > /dev/null
check "removed: first burst counted" wait_for '  flows 15 '
ip -n "$NS_CAP" link del uxa0
check "removed: the title says so at once" wait_for 'uxa0: interface removed' 3
sleep 0.5
check "removed: the monitor stays up" sh -c "! tmux -L $SOCK capture-pane -p -t ui | grep -q EXITED"
mkveth
check "back: the status line says capture resumed" wait_for 'uxa0: interface back, capture resumed' 5
check "back: the title no longer says removed" sh -c "! tmux -L $SOCK capture-pane -p -t ui | head -1 | grep -q 'interface removed'"
ip netns exec "$NS_CAP" "$SEND" uxa1 "$TMP/eth.pcap" > /dev/null
sleep 0.6
keys q
check "back: q exits 0" wait_for 'EXITED 0'
check "back: the snapshot has both bursts (324 packets)" test "$(jq .totals.packets "$TMP/rm.json")" = 324
# gone at the end: status 1, the reason, then the snapshot line
start 100 30 ip netns exec "$NS_CAP" "$PKTSTAT" -i uxa0 -w 0.2 -n --snapshot "$TMP/rm2.json"
wait_for '^Proto' > /dev/null
ip -n "$NS_CAP" link del uxa0
wait_for 'uxa0: interface removed' 3 > /dev/null
keys q
check "gone at quit: status 1" wait_for 'EXITED 1'
check "gone at quit: the reason is said" \
	sh -c "tmux -L $SOCK capture-pane -p -J -t ui | grep -q '^pktstat: uxa0: interface removed, not back when capture stopped\$'"
check "gone at quit: where the snapshot is, last" \
	test "$(last_line)" = "pktstat: snapshot written to $TMP/rm2.json"
# batch mode says it on stderr and counts on: one thread; two in a
# fanout group (whose sockets the kernel never binds again: each takes a
# new one, in a new group), twice over; the pcap backend
batch_case() { # NAME ROUNDS PKTSTAT-ARGS...
	local name=$1 rounds=$2 bpid brc before; shift 2
	mkveth
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" "$PKTSTAT" -i uxa0 -t 20s -j "$@" > "$TMP/$name.json" 2> "$TMP/$name.err" &
	bpid=$!
	wait_capture_ready "$NS_CAP" "$before"
	for round in $(seq "$rounds"); do
		ip netns exec "$NS_CAP" "$SEND" uxa1 "$TMP/eth.pcap" > /dev/null
		sleep 0.2
		ip -n "$NS_CAP" link del uxa0
		sleep 0.4
		mkveth
		sleep 0.4
	done
	ip netns exec "$NS_CAP" "$SEND" uxa1 "$TMP/eth.pcap" > /dev/null
	sleep 0.4
	kill -INT "$bpid"
	wait "$bpid"
	brc=$?
	sed "s/^/# $name stderr: /" "$TMP/$name.err"
	check "batch ($name): $rounds removals and returns said on stderr" \
		sh -c "test \$(grep -c '^pktstat: uxa0: interface removed, capture waits for it to come back' '$TMP/$name.err') = $rounds && test \$(grep -c '^pktstat: uxa0: interface back' '$TMP/$name.err') = $rounds && test \$(grep -c 'capture resumed' '$TMP/$name.err') = $rounds"
	check "batch ($name): every burst counted ($(((rounds + 1) * 162))), status 0 ($brc)" \
		sh -c "test \"\$(jq .totals.packets '$TMP/$name.json')\" = $(((rounds + 1) * 162)) && test $brc = 0"
	ip -n "$NS_CAP" link del uxa0 2> /dev/null
}
batch_case b1 1
batch_case fanout 2 --threads 2
batch_case pcap 1 --backend pcap
finish
