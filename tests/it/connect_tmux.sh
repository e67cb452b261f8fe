#!/bin/bash
# pktstat --connect in tmux, run by an unprivileged member of the daemon's
# group (made here): the full-screen monitor over a daemon capturing on a
# veth in a namespace made here. The screen shows the flows of known
# traffic with exact counts; keys work (the display filter, the refused
# capture-filter edit, a named counter made through the daemon, the
# snapshot key); the snapshot is the user's own file with exact counts
# and the filters in force (the daemon's counter, the view's filter);
# two monitors at once; q exits 0; a daemon that stops ends the monitor
# with one line naming the socket.
. "$(dirname "$0")/lib.sh"
need_root
tmux_setup connect
PY=/usr/bin/python3
GRP=pcg$$
USR=pcu$$
SD=/tmp/pktstat-c$$
at_exit_extra() {
	[ -n "${DPID:-}" ] && kill -TERM "$DPID" 2> /dev/null && wait "$DPID" 2> /dev/null
	userdel "$USR" 2> /dev/null
	groupdel "$GRP" 2> /dev/null
	rm -rf "$SD"
}
groupadd "$GRP" || { not_ok "groupadd"; finish; exit 1; }
useradd -M -N -g nogroup -G "$GRP" -s /bin/sh "$USR" || { not_ok "useradd"; finish; exit 1; }
mkdir -m 0755 "$SD"
H=$SD/home
mkdir -m 0700 "$H" && chown "$USR" "$H"
S=$SD/pktstat.sock
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
ip -n "$NS_CAP" addr add 192.0.2.1/24 dev veth0
ip -n "$NS_PEER" addr add 192.0.2.2/24 dev veth1
send_udp() { # N PORT: N datagrams of 100 bytes (142 on the wire)
	ip netns exec "$NS_PEER" $PY -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('192.0.2.2', 40000 + $2 % 1000))
for _ in range($1):
    s.sendto(b'x' * 100, ('192.0.2.1', $2))
"
}
keys() { T send-keys -t "${W:-ui}" "$@"; sleep 0.3; }

before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -d -i veth0 -g "$GRP" --socket "$S" 2> "$TMP/d.log" &
DPID=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "daemon: capture socket appeared"
for i in $(seq 50); do [ -S "$S" ] && break; sleep 0.1; done
send_udp 7 9998
send_udp 11 9999

# the monitor, as the user, in its home; the snapshot file in JSON
mon="runuser -u $USR -- env HOME=$H TERM=xterm-256color $PKTSTAT --connect $S -n --snapshot $H/snap.json"
T new-session -d -s ui -x 160 -y 40 "$mon; echo EXITED \$?; sleep 60"
check "screen comes up with the flow table" wait_for '^Proto'
check "header names the daemon's interface" wait_for 'veth0'
check "the 11 datagrams to 9999: one row, exact count" wait_for '^UDP .*192\.0\.2\.1:9999 .* 1562 *11 '
check "the 7 to 9998: exact count" wait_for '^UDP .*192\.0\.2\.1:9998 .* 994 *7 '
send_udp 5 9999
check "new traffic arrives as a delta: 16 now" wait_for '^UDP .*192\.0\.2\.1:9999 .* 2272 *16 '

# keys: the display filter narrows this view only
keys / 9 9 9 8
check "/ 9998: the 9999 row is hidden" \
	sh -c "for i in \$(seq 60); do tmux -L '$SOCK' capture-pane -p -t ui | grep -q '^UDP .*:9999 ' || exit 0; sleep 0.1; done; exit 1"
check "/ 9998: the 9998 row stays" wait_for '^UDP .*192\.0\.2\.1:9998 ' 
[ "$FAILS" -gt 0 ] && screen | sed 's/^/# | /' | head -20
keys Escape
check "Esc: the 9999 row is back" wait_for '^UDP .*192\.0\.2\.1:9999 '
# the capture filter is the daemon's: refused with one line
keys e
keys C-u "udp port 1" Enter
check "e: capture-filter edit refused with a clear line" wait_for "the capture filter is the daemon's"
# a named counter through the daemon
keys C
keys "new web udp port 9999" Enter
check "C: the counter is made by the daemon" wait_for 'counter web added'
check "the daemon lists it for other clients" \
	sh -c "runuser -u $USR -- $PKTSTAT --socket $S list | grep -q '^web'"
send_udp 3 9999
check "the counter panel counts the 3 sent since" wait_for '^web  *3 '
# the snapshot key: the user's own file, exact counts (a display filter
# that keeps every row, for its history)
keys / 1 9 2 Enter
keys s
check "s: snapshot written" wait_for "snapshot written to $H/snap.json"
check "snapshot: owned by the user, mode 0600" \
	test "$(stat -c '%U %a' "$H/snap.json" 2> /dev/null)" = "$USR 600"
check "snapshot: the 9999 flow with 19 packets, 2698 bytes" \
	test "$(jq '[.flows[] | select(.dstPort == 9999) | "\(.packets) \(.size)"] | .[0]' "$H/snap.json")" = '"19 2698"'
# the filters in force: this view's display filter, the daemon's counter
fh=$(jq -c '[.filterHistory[]? | [.kind, .name, .filter]]' "$H/snap.json")
echo "# snapshot filterHistory: $fh"
check "snapshot: the filter history has the display filter and the daemon's counter, with times" \
	sh -c "echo '$fh' | grep -qF '[\"display\",null,\"192\"]' && echo '$fh' | grep -qF '[\"counter\",\"web\",\"udp port 9999\"]' && jq -e '[.filterHistory[].time | strings] | length == ($(echo "$fh" | jq length))' '$H/snap.json' > /dev/null"

# a second monitor at once
W=two
T new-window -d -n two "$mon -q --snapshot $H/snap2.json; echo EXITED \$?; sleep 60"
check "a second monitor at the same time shows the same flow" \
	sh -c "for i in \$(seq 100); do tmux -L '$SOCK' capture-pane -p -t two | grep -q '^UDP .*:9999 .* 19 ' && exit 0; sleep 0.1; done; exit 1"
check "the daemon serves both monitors" test "$(grep -c 'monitor, refresh' "$TMP/d.log")" -ge 2
W=ui
keys q
check "q: exit status 0" wait_for 'EXITED 0'
check "the final snapshot is the user's too" test "$(stat -c %U "$H/snap.json")" = "$USR"

# the daemon stops under a monitor: one line naming the socket
kill -TERM "$DPID"
wait "$DPID"
DPID=
check "daemon stopped: the second monitor ends" \
	sh -c "for i in \$(seq 100); do tmux -L '$SOCK' capture-pane -p -t two | grep -q 'EXITED 1' && exit 0; sleep 0.1; done; exit 1"
check "daemon stopped: one line naming the socket and why" \
	sh -c "tmux -L '$SOCK' capture-pane -p -t two | grep -q 'pktstat: $S: daemon stopping'"
[ "$FAILS" -gt 0 ] && sed 's/^/# daemon: /' "$TMP/d.log" | tail -20
finish
