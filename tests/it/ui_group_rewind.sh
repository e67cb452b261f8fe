#!/bin/bash
# The monitor's group-by (g) and rewind ([ ] { }), in tmux on live UDP
# traffic in a namespace, sent in two phases three seconds apart:
#   phase 1: flow 1 10.79.0.2:41000 -> :7000, 20 a second for 3 s (60);
#            flow 2 10.79.0.3:41001 -> :7001, 10; flow 3 10.79.1.4:41002
#            -> :7000, 5;
#   phase 2: flow 4 10.79.0.2:41003 -> :7002, 30; then flow 1, 7 more.
# Grouped, every group's counts on screen must equal the snapshot's groups
# and a batch --group-by of the same traffic (tcpdump's capture). Rewound
# to the gap between the phases, the table must show phase 1's counts
# exactly and no flow 4; inside phase 1, flow 1's rate must be its 20 a
# second; grouping works on the rewound table; a live key returns to now.
. "$(dirname "$0")/lib.sh"
need_root
tmux_setup pktstat-grp
netns_setup || { not_ok "netns set-up"; finish; exit 1; }
ip -n "$NS_CAP" addr add 10.79.0.1/24 dev veth0
ip -n "$NS_PEER" addr add 10.79.0.2/24 dev veth1
ip -n "$NS_PEER" addr add 10.79.0.3/24 dev veth1
ip -n "$NS_PEER" addr add 10.79.1.4/24 dev veth1
keys() { T send-keys -t ui "$@"; sleep 0.3; }
# col_of NAME: which field of a table row column NAME is, from the title
# row of the screen on stdin (a flow row's endpoints are one field each,
# their titles "Endpoint A" and "Endpoint B" two words)
col_of() {
	awk -v c="$1" '/ Pkts +Last/ { off = $1 == "Proto" ? 2 : 0
		for (i = 1; i <= NF; i++) if ($i == c) { print i - off; exit } }'
}
# row_field REGEX NAME: column NAME (or a field number) of the first
# screen row whose first field matches REGEX
row_field() {
	local scr i
	scr=$(screen)
	case $2 in [0-9]*) i=$2 ;; *) i=$(col_of "$2" <<< "$scr") ;; esac
	awk -v re="$1" -v i="${i:-0}" '$1 ~ re { print $i; exit }' <<< "$scr"
}
send() { # send SRC SPORT DPORT COUNT GAP: COUNT datagrams of 100 bytes
	ip netns exec "$NS_PEER" timeout 10 /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
for i in range(int(sys.argv[4])):
    s.sendto(bytes(100), ("10.79.0.1", int(sys.argv[3])))
    time.sleep(float(sys.argv[5]))' "$@"
}

ip netns exec "$NS_CAP" timeout 40 tcpdump -i veth0 -U -w "$TMP/cap.pcap" \
	udp 2> "$TMP/tcpdump.err" &
T new-session -d -s ui -x 200 -y 50 \
	"ip netns exec $NS_CAP env TERM=xterm-256color LC_ALL=C $PKTSTAT -i veth0 -n -w 1 -k 120 --snapshot $TMP/snap.json udp; echo EXITED \$?; sleep 60"
check "screen comes up" wait_for '^Proto'
sleep 1
# phase 1
send 10.79.0.3 41001 7001 10 0 &
send 10.79.1.4 41002 7000 5 0 &
send 10.79.0.2 41000 7000 60 0.05
wait_for '10.79.0.2:41000.* 60  *[0-9]*s' 5 > /dev/null
sleep 3
# phase 2
send 10.79.0.2 41003 7002 30 0
send 10.79.0.2 41000 7000 7 0
check "phase 2 on screen" wait_for '10.79.0.1:7002'
check "flow 1: 67 packets in all" wait_for '10.79.0.2:41000.* 67  *[0-9]*s'
sleep 1

# ---- rewind: step back to the gap, then into phase 1 ----------------------
gap=0 in1=0 pps1= label=
# column NAME of flow B's row (endpoint B: the sender) on screen $scr
fl() {
	awk -v b="$1" -v i="$(col_of "$2" <<< "$scr")" \
		'$3 == b { print $i; exit }' <<< "$scr"
}
for i in $(seq 20); do
	T send-keys -t ui '['
	sleep 0.2
	scr=$(screen)
	label=$(grep -o -- '-[0-9]:[0-9][0-9] REWIND' <<< "$scr" | head -1)
	[ -n "$label" ] || continue
	f1=$(fl 10.79.0.2:41000 Pkts)
	if [ $gap = 0 ] && ! grep -q ':7002' <<< "$scr"; then
		gap=1
		echo "# gap at $label: flow 1 shows $f1 packets"
		check "rewound to the gap ($label): flow 1 shows phase 1's 60" test "$f1" = 60
		check "rewound: flow 2 shows its 10" test "$(fl 10.79.0.3:41001 Pkts)" = 10
		check "rewound: flow 3 shows its 5" test "$(fl 10.79.1.4:41002 Pkts)" = 5
		check "rewound: the header's protocol table says 75 UDP" test \
			"$(awk '$1 == "pkts" { print $5; exit }' <<< "$scr")" = 75
	fi
	if [ $gap = 1 ] && [ -n "$f1" ] && [ "$f1" -ge 15 ] && [ "$f1" -le 45 ]; then
		in1=1
		pps1=$(fl 10.79.0.2:41000 Pkt/s)
		echo "# inside phase 1 at $label: flow 1 $f1 packets, $pps1 a second"
		break
	fi
done
check "stepped back to the gap between the phases" test $gap = 1
check "the header shows -M:SS REWIND in reverse video" test -n "$label"
check "stepped back into phase 1" test $in1 = 1
check "rewound inside phase 1: flow 1's rate is its 20 a second ($pps1)" \
	awk -v p="$pps1" 'BEGIN { exit !(p + 0 >= 16 && p + 0 <= 24) }'
# group-by on the rewound table: host 10.79.0.2 sent what flow 1 had
keys g
check "g while rewound: grouped by host, still rewound" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -q 'REWIND' &&
		tmux -L $SOCK capture-pane -p -t ui | grep -q 'by host'"
check "rewound host 10.79.0.2: the packets flow 1 had then ($f1)" test \
	"$(row_field '^10[.]79[.]0[.]2$' Pkts)" = "$f1"
keys g
keys g
keys g
keys g
for i in $(seq 6); do screen | grep -q '^Proto' && break; keys g; done
check "g cycles back to flows (still rewound)" sh -c \
	"tmux -L $SOCK capture-pane -p -t ui | grep -q '^Proto' &&
	 tmux -L $SOCK capture-pane -p -t ui | grep -q 'REWIND'"
for i in $(seq 8); do screen | grep -q REWIND || break; keys '}'; done
check "} past the newest second: back to now" sh -c \
	"! tmux -L $SOCK capture-pane -p -t ui | grep -q REWIND"
check "now again: flow 4 on screen" wait_for '10.79.0.1:7002' 3
keys '{'
check "{ rewinds ten seconds" wait_for '-0:1[0-9] REWIND' 3
keys o
check "a live key (o) returns to now" sh -c \
	"! tmux -L $SOCK capture-pane -p -t ui | grep -q REWIND"

# ---- group-by on the live table --------------------------------------------
kill %1 2> /dev/null
wait 2> /dev/null
"$PKTSTAT" -r "$TMP/cap.pcap" -j --group-by host > "$TMP/batch.json" 2> /dev/null
check "tcpdump's capture holds all 112 datagrams" test \
	"$(jq '.totals.packets' "$TMP/batch.json")" = 112
keys g
check "g: grouped by host (header)" wait_for 'by host' 3
check "g: the first column is Host" wait_for '^Host' 3
keys s
check "s: snapshot written" wait_for 'snapshot written'
check "the snapshot records the grouping" test \
	"$(jq -r '.groupBy' "$TMP/snap.json")" = host
check "the snapshot still lists every flow" test \
	"$(jq '[.flows[] | select(.proto == "UDP")] | length' "$TMP/snap.json")" = 4
for h in 10.79.0.1 10.79.0.2 10.79.0.3 10.79.1.4; do
	scr=$(row_field "^${h//./[.]}\$" Pkts)
	snap=$(jq --arg h "$h" '.groups[] | select(.group == $h) | .packets' "$TMP/snap.json")
	batch=$(jq --arg h "$h" '.groups[] | select(.group == $h) | .packets' "$TMP/batch.json")
	check "host $h: screen $scr = snapshot $snap = batch --group-by $batch" \
		test -n "$scr" -a "$scr" = "$snap" -a "$snap" = "$batch"
done
check "host 10.79.0.2: 2 flows, sent 97" test \
	"$(row_field '^10[.]79[.]0[.]2$' 2) $(jq '.groups[] | select(.group == "10.79.0.2") | .txPackets' "$TMP/snap.json")" = "2 97"
keys g
check "g: by net" wait_for 'by net' 3
check "net 10.79.0.0/24: 4 flows, 112 packets" test \
	"$(row_field '^10[.]79[.]0[.]0/24$' 2) $(row_field '^10[.]79[.]0[.]0/24$' Pkts)" = "4 112"
check "net 10.79.1.0/24: 5 packets" test "$(row_field '^10[.]79[.]1[.]0/24$' Pkts)" = 5
keys g
check "g: by port" wait_for 'by port' 3
check "service UDP/7000: flows 1 and 3, 72 packets" test \
	"$(row_field '^UDP/7000$' 2) $(row_field '^UDP/7000$' Pkts)" = "2 72"
keys /
T send-keys -t ui -l '7002'
keys Enter
check "find on groups: one row, UDP/7002" test \
	"$(screen | grep -c '^UDP/') $(row_field '^UDP/' 1)" = "1 UDP/7002"
keys Escape
keys g
check "g: by proto, the UDP group holds all 112" wait_for '^UDP  *4 .* 112  ' 3
keys q
check "q exits 0" wait_for 'EXITED 0'
check "the snapshot written on q records the grouping (proto)" test \
	"$(jq -r '.groupBy' "$TMP/snap.json") $(jq '.groups[] | select(.group == "UDP") | .packets' "$TMP/snap.json")" = "proto 112"
finish
