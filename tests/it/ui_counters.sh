#!/bin/bash
# Named counters in the full-screen monitor (capstats verbs): pktstat runs
# inside tmux; the counters panel shows --count counters with their counts;
# the C prompt adds, modifies, lists, shows and stops counters; a bad
# expression shows libpcap's error (error style) and changes nothing; Esc
# cancels; the prompt keeps a history; the panel shrinks and hides on small
# terminals; q writes a snapshot whose counters are the ones left. Live (in
# a test namespace): a counter added from the prompt counts exactly the
# frames sent after it, and modify restarts it.
#
# A file is read at start, so counters added from the prompt in -r mode
# count nothing (a counter counts the packets captured after it exists):
# there the counts come from --count.
. "$(dirname "$0")/lib.sh"
tmux_setup pktstat-itc
gone() { # gone REGEX [seconds]: wait until no line matches
	local i
	for i in $(seq $((${2:-10} * 20))); do
		screen | grep -q -- "$1" || return 0
		sleep 0.05
	done
	return 1
}
start() { # start COLS ROWS COMMAND... (arguments kept as they are)
	local cols=$1 rows=$2 cmd; shift 2
	cmd=$(printf '%q ' "$@")
	T kill-session -t ui 2>/dev/null
	T new-session -d -s ui -x "$cols" -y "$rows" \
		"env LC_ALL=C.UTF-8 TERM=xterm-256color $cmd; echo EXITED \$?; sleep 60"
}
# counter COMMAND: open the prompt, wait for it, type COMMAND, Enter
counter() {
	T send-keys -t ui C
	status_is '^counter:\|^counter (new' || echo "# no counter prompt"
	T send-keys -t ui -l "$1"
	T send-keys -t ui Enter
}
# the status line (last line of the screen)
status() { screen | tail -n 1; }
status_is() { # status_is REGEX: the status line matches, within 10 s
	local i
	for i in $(seq 200); do
		status | grep -q -- "$1" && return 0
		sleep 0.05
	done
	echo "# status line: $(status)"
	return 1
}

# the status line is drawn in red (the error style; TERM has colours)
err_style() { T capture-pane -e -p -t ui | tail -n 1 | grep -q $'\e\\[[0-9;]*31m'; }
no_panel() { ! screen | grep -q '^counter '; }

"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"

# ---- from a file, 80x24: --count counters, then prompt edits ------------
start 80 24 "$PKTSTAT" -r "$TMP/eth.pcap" --count "web=tcp port 80" \
	--snapshot "$TMP/snap.json"
check "file: screen comes up with the flow table" wait_for '^Proto'
check "file: counters panel has its title" wait_for '^counter  *packets  *bytes  *pkts/s  *bits/s  filter'
check "file: web counted every port-80 packet (111, 66368 bytes)" wait_for '^web  *111  *66368  .* tcp port 80$'
check "file: the panel sits between the header's totals and the flows" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | awk '/^total /{r=NR} /^counter /{c=NR} /^Proto/{p=NR} END{exit !(r && c > r && p > c)}'"

T send-keys -t ui C
check "file: C opens the counter prompt" status_is '^counter: *$'
T send-keys -t ui Escape
check "file: Esc closes the prompt" gone '^counter:'

counter 'new tmp udp port 53'
check "file: new: status says the counter was added" status_is '^counter tmp added'
check "file: new: the panel shows it with 0 (the file was read before it existed)" \
	wait_for '^tmp  *0  *0  .* udp port 53$'
check "file: web unchanged" wait_for '^web  *111  *66368 '

counter 'modify tmp tcp port 443'
check "file: modify: status says so" status_is '^counter tmp modified'
check "file: modify: the panel shows the new expression" wait_for '^tmp  *0  *0  .* tcp port 443$'

# a bad expression: libpcap's error, in the error style, nothing changes
counter 'modify tmp tcp port ['
check "file: bad expression shows libpcap's error" status_is '^counter tmp: .*syntax error'
check "file: the error is shown in the error style (red)" \
	err_style
check "file: bad expression kept the old one" wait_for '^tmp  *0  *0  .* tcp port 443$'
counter 'new bad tcp port ['
check "file: bad new expression shows the error" status_is '^counter bad: .*syntax error'
counter 'list'
check "file: list after the bad expressions: web, tmp" status_is '^web, tmp$'
check "file: no 'bad' row in the panel" gone '^bad '
counter 'show web'
check "file: show web" status_is '^web: 111 packets, 66368 bytes (tcp port 80)$'
counter 'show nosuch'
check "file: show of a missing counter" status_is '^no counter named nosuch$'
counter 'frobnicate'
check "file: an unknown verb is an error" status_is "^unknown command 'frobnicate'"
counter 'dns = udp port 53'
check "file: NAME = EXPR adds a counter" status_is '^counter dns added'
counter 'stop tmp'
check "file: stop: status says so" status_is '^counter tmp stopped$'
check "file: stop: the row is gone" gone '^tmp '
counter 'list'
check "file: list after stop: web, dns" status_is '^web, dns$'

# Esc cancels a typed command
T send-keys -t ui C
status_is '^counter:'
T send-keys -t ui -l 'new never tcp'
T send-keys -t ui Escape
gone '^counter:'
counter 'list'
check "file: Esc cancelled the command" status_is '^web, dns$'
# history: Up brings back the last command
T send-keys -t ui C
status_is '^counter:'
T send-keys -t ui Up
check "file: Up in the prompt recalls the last command" wait_for '^counter: list$'
T send-keys -t ui Escape
gone '^counter:'

# help lists the key (on a later page at 80x24: paged through)
T send-keys -t ui '?'
wait_for '^pktstat help'
help_c='^ *C  *Named counters (capstats verbs): new NAME EXPR'
for i in $(seq 8); do
	wait_for "$help_c" 1 > /dev/null 2>&1 && break
	T send-keys -t ui NPage
done
check "file: help screen lists C and the verbs" wait_for "$help_c"
T send-keys -t ui Escape
check "file: help closed" wait_for '^Proto'

# small terminals: the panel shrinks, then hides; nothing overflows
counter 'new ssh tcp port 22'
check "file: a third counter" wait_for '^ssh  *0  *0  .* tcp port 22$'
# (the header is two lines: 40x12 has room for all three)
T resize-window -t ui -x 40 -y 12
check "40x12: every counter shown (ssh)" wait_for '^ssh  *0  *0  *0 *$'
check "40x12: web row, numbers whole" wait_for '^web  *111  *66368  *[0-9.kM]* *$'
check "40x12: the flow table is still there" wait_for '^Proto'
T resize-window -t ui -x 40 -y 10
check "40x10: the panel is hidden" gone '^counter '
check "40x10: the flow table is still there" wait_for '^Proto'
T resize-window -t ui -x 10 -y 3
sleep 0.5
check "10x3: alive" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q EXITED)"
T resize-window -t ui -x 120 -y 30
check "120x30: the panel is back (dns)" wait_for '^dns  *0  *0  .* udp port 53$'
check "120x30: all three counters shown (ssh)" wait_for '^ssh  *0  *0  .* tcp port 22$'
T send-keys -t ui C
check "120x30: the wide prompt names the verbs" wait_for '^counter (new|modify|stop|list|show):'
T send-keys -t ui Escape
gone '^counter (new'

T send-keys -t ui q
check "file: q exits with status 0" wait_for 'EXITED 0'
check "file: snapshot holds web (111 packets, 66368 bytes), dns and ssh" \
	test "$(jq -c '[.counters[] | [.name, .packets, .bytes]]' "$TMP/snap.json")" = '[["web",111,66368],["dns",0,0],["ssh",0,0]]'

# ---- no counters: no panel ---------------------------------------------
start 80 24 "$PKTSTAT" -r "$TMP/eth.pcap" --snapshot "$TMP/none.json"
check "no counters: screen up" wait_for '^Proto'
check "no counters: no panel" no_panel
counter 'list'
check "no counters: list says so" status_is '^no counters$'
counter 'all='
check "no counters: NAME= adds a match-all counter" status_is '^counter all added$'
check "no counters: the panel appears" wait_for '^all  *0  *0  .*(all packets)$'
T send-keys -t ui q
check "no counters: q exits 0" wait_for 'EXITED 0'

# ---- live: counters added from the prompt count what comes after -------
if [ "$(id -u)" -eq 0 ]; then
	SEND=$B/tests/gen/sendframes
	netns_setup
	# 40 lines: the header's details (protocol totals) are shown
	start 100 40 ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -w 0.2 \
		--snapshot "$TMP/live.json"
	check "live: screen up" wait_for '^Proto'
	wait_capture_ready "$NS_CAP" 1 || echo "# capture socket not seen"
	# before any counter: one burst nobody counts
	ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
	check "live: first burst seen (162 packets in the flows)" wait_for '^pkts  *131 '
	check "live: no panel without counters" no_panel
	counter 'new web tcp port 80'
	check "live: web added" status_is '^counter web added$'
	counter 'dns=udp port 53'
	check "live: dns added" status_is '^counter dns added$'
	check "live: web starts at 0" wait_for '^web  *0  *0 '
	ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
	check "live: web counted exactly the second burst's port-80 frames (111)" wait_for '^web  *111  *66368 '
	check "live: dns counted its 7 frames" wait_for '^dns  *7  *1015 '
	counter 'show web'
	check "live: show web" status_is '^web: 111 packets, 66368 bytes (tcp port 80)$'
	# modify restarts from 0 and counts the new expression from then on
	counter 'modify web udp'
	check "live: modify" status_is '^counter web modified$'
	check "live: modified counter restarts at 0" wait_for '^web  *0  *0  .* udp$'
	ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
	# Counters see each frame as it was on the wire, its VLAN tag put
	# back (pktstat.1): "udp" matches what tcpdump -r matches in the
	# file the burst replays, packets and bytes counted by capinfos.
	tcpdump -r "$TMP/eth.pcap" -w "$TMP/udp.pcap" udp 2> /dev/null
	up=$(capinfos -Mc "$TMP/udp.pcap" | sed -n 's/^Number of packets: *//p')
	ub=$(capinfos -Md "$TMP/udp.pcap" | sed -n 's/^Data size: *\([0-9]*\) bytes/\1/p')
	check "live: modified counter counts the third burst's UDP ($up, $ub bytes)" wait_for "^web  *$up  *$ub "
	check "live: dns went on (7 + 7)" wait_for '^dns  *14  *2030 '
	counter 'stop dns'
	check "live: stop" status_is '^counter dns stopped$'
	ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
	check "live: web after the fourth burst ($up + $up)" wait_for "^web  *$((2 * up))  *$((2 * ub)) "
	T send-keys -t ui q
	check "live: q exits 0" wait_for 'EXITED 0'
	check "live: snapshot counters: web only, $((2 * up)) packets" \
		test "$(jq -c '[.counters[] | [.name, .filter, .packets, .bytes]]' "$TMP/live.json")" = "[[\"web\",\"udp\",$((2 * up)),$((2 * ub))]]"
	check "live: snapshot totals: four bursts (648 packets)" \
		test "$(jq .totals.packets "$TMP/live.json")" = 648
else
	echo "# live part skipped: needs root (network namespaces)"
fi
finish
