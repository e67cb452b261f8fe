#!/bin/bash
# The full-screen monitor in a real terminal: pktstat runs inside tmux (on
# -r files and on live traffic in a test namespace); keys go in with
# send-keys, the screen comes out with capture-pane. Covers sorting and
# reversal, the display filter, help, pause, capture-filter edits (good and
# bad), resizes down to 40x12 and tiny sizes, q restoring the terminal and
# writing the snapshot, and SIGHUP from a killed session still leaving a
# complete snapshot; at 80x24 and 200x60, in UTF-8 and in the C locale.
. "$(dirname "$0")/lib.sh"
tmux_setup pktstat-it
keys() { T send-keys -t ui "$@"; sleep 0.3; }
# first flow row: the line after the column header
first_row() { screen | awk '/^Proto/ {getline; print; exit}'; }
start() { # start COLS ROWS LOCALE COMMAND...
	local cols=$1 rows=$2 loc=$3; shift 3
	T kill-session -t ui 2>/dev/null
	T new-session -d -s ui -x "$cols" -y "$rows" \
		"env LC_ALL=$loc TERM=xterm-256color $* ; echo EXITED \$?; sleep 60"
}

"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
for geom in "80 24 C.UTF-8" "200 60 C"; do
	set -- $geom
	tag="${1}x${2} $3"
	rm -f "$TMP/snap.json"
	start "$1" "$2" "$3" "$PKTSTAT" -r "$TMP/eth.pcap" --snapshot "$TMP/snap.json"
	check "$tag: screen comes up with the flow table" wait_for '^Proto'
	check "$tag: header shows the source" wait_for 'eth.pcap'
	# sort by total bytes, then reverse
	keys y
	r1=$(first_row)
	keys y
	r2=$(first_row)
	check "$tag: sorting by bytes puts the biggest flow first" sh -c "echo '$r1' | grep -q '10.0.0.1:40005'"
	check "$tag: pressing the sort key again reverses the order" test "$r1" != "$r2"
	# display filter
	keys / i c m p
	check "$tag: / narrows rows to ICMP" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q '^TCP ')"
	check "$tag: / keeps the ICMP rows" wait_for '^ICMPv4'
	keys Escape
	check "$tag: Esc clears the display filter" wait_for '^TCP '
	# help lists the keys
	keys '?'
	check "$tag: help screen lists sort, pause and filter keys" sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -qi 'pause' && tmux -L $SOCK capture-pane -p -t ui | grep -qi 'filter'"
	keys q
	# resize down and back
	T resize-window -t ui -x 40 -y 12; sleep 0.4
	check "$tag: alive at 40x12" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q EXITED)"
	T resize-window -t ui -x 10 -y 3; sleep 0.4
	check "$tag: alive at 10x3" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q EXITED)"
	T resize-window -t ui -x "$1" -y "$2"; sleep 0.4
	check "$tag: table back after resizing up" wait_for '^Proto'
	keys q
	check "$tag: q exits with status 0" wait_for 'EXITED 0'
	check "$tag: snapshot written on q with every packet" sh -c "test \"\$(jq .totals.packets '$TMP/snap.json')\" = 162"
	check "$tag: snapshot is mode 0600" test "$(stat -c %a "$TMP/snap.json")" = 600
	check "$tag: report printed after the terminal is restored" wait_for 'Read total packets: 162'
done

# SIGHUP: the session is killed (an SSH drop) - the snapshot still lands
rm -f "$TMP/hup.json"
start 80 24 C.UTF-8 "$PKTSTAT" -r "$TMP/eth.pcap" --snapshot "$TMP/hup.json"
wait_for '^Proto'
T kill-session -t ui
for i in $(seq 40); do [ -s "$TMP/hup.json" ] && break; sleep 0.05; done
sleep 0.3
check "SIGHUP (tmux kill-session): complete snapshot written" sh -c "test \"\$(jq .totals.packets '$TMP/hup.json')\" = 162"
check "SIGHUP: no pktstat left running" sh -c "! pgrep -f 'hup[.]json' > /dev/null"

# live: pause, filter edits
if [ "$(id -u)" -eq 0 ]; then
	SEND=$B/tests/gen/sendframes
	netns_setup
	rm -f "$TMP/live.json"
	start 100 30 C.UTF-8 ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -w 0.2 --snapshot "$TMP/live.json"
	check "live: screen up" wait_for '^Proto'
	sleep 0.5
	keys ' '
	check "live: header says PAUSED" wait_for 'PAUSED'
	before=$(screen | grep -A3 'IPv4' | head -4)
	ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
	sleep 0.6
	after=$(screen | grep -A3 'IPv4' | head -4)
	check "live: paused numbers stay frozen while traffic arrives" test "$before" = "$after"
	keys ' '
	check "live: resuming shows the traffic (131 IPv4 packets)" wait_for ' 131 '
	# a bad filter shows its error and changes nothing
	keys e
	T send-keys -t ui -l 'tcp['; keys Enter
	check "live: bad filter shows an error" wait_for '[Ee]rror\|syntax\|illegal\|unexpected'
	# a good filter: udp only from now on
	keys Escape
	keys e
	T send-keys -t ui C-u; T send-keys -t ui -l 'udp'; keys Enter
	check "live: header shows the new filter" wait_for 'filter: udp'
	ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
	sleep 0.6
	keys q
	check "live: q exits 0" wait_for 'EXITED 0'
	# first burst: all 162 packets; second burst under "udp": only UDP
	# (what the kernel's filter passes, as for tcpdump: 25 of the 32 UDP
	# frames - the VLAN-tagged ones are not "udp" to BPF).
	got=$(jq .totals.packets "$TMP/live.json"); echo "# live snapshot: $got packets"
	check "live: snapshot has both bursts exactly (162 + 25 packets)" test "$got" = 187
	check "live: no TCP after the filter change (115 from the first burst)" test "$(jq .protocols.TCP.packets "$TMP/live.json")" = 115
	check "live: UDP from both bursts (32 + 25)" test "$(jq .protocols.UDP.packets "$TMP/live.json")" = 57
	check "live: snapshot records the filter in force" sh -c "test \"\$(jq -r .filter '$TMP/live.json')\" = udp"
fi
finish
