#!/bin/bash
# The monitor's mark (m, M) and its own-SSH-session mark (@ssh, H), in tmux
# on live traffic in a namespace. A fake SSH_CONNECTION names a TCP flow
# the test makes; UDP datagrams sent before and after the mark must show
# as exactly the counts since the mark, then since the start after M, and
# the snapshot must agree.
. "$(dirname "$0")/lib.sh"
need_root
tmux_setup pktstat-mark
netns_setup || { not_ok "netns set-up"; finish; exit 1; }
ip -n "$NS_CAP" addr add 10.78.0.1/24 dev veth0
ip -n "$NS_PEER" addr add 10.78.0.2/24 dev veth1
keys() { T send-keys -t ui "$@"; sleep 0.3; }
# the header's protocol table: the "pkts" row's UDP column
udp_pkts() { screen | awk '$1 == "pkts" { print $5; exit }'; }
wait_udp() { # wait_udp N: the UDP column shows N (at most 5 s)
	local i
	for i in $(seq 50); do
		[ "$(udp_pkts)" = "$1" ] && return 0
		sleep 0.1
	done
	echo "# UDP pkts shown: $(udp_pkts), want $1"
	return 1
}
send_udp() { # N datagrams of 100 bytes from port 41000 to 7000
	ip netns exec "$NS_PEER" /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.78.0.2", 41000))
for i in range(int(sys.argv[1])):
    s.sendto(bytes(100), ("10.78.0.1", 7000))
    time.sleep(0.01)' "$1"
}

# the "SSH session": a TCP stream 10.78.0.2:40222 -> 10.78.0.1:2222,
# one small message every 0.2 s for at most 20 s
ip netns exec "$NS_CAP" timeout 25 /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.1", 2222)); s.listen(1)
c, _ = s.accept()
while c.recv(4096): pass' &
sleep 0.3
ip netns exec "$NS_PEER" timeout 25 /usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.bind(("10.78.0.2", 40222))
s.connect(("10.78.0.1", 2222))
for i in range(100):
    s.send(b"x" * 64); time.sleep(0.2)' &

T new-session -d -s ui -x 200 -y 50 \
	"ip netns exec $NS_CAP env TERM=xterm-256color LC_ALL=C SSH_CONNECTION='10.78.0.2 40222 10.78.0.1 2222' $PKTSTAT -i veth0 -w 0.3 --snapshot $TMP/snap.json; echo EXITED \$?; sleep 60"
check "screen comes up" wait_for '^Proto'
check "the SSH session's row is marked @ssh" wait_for '10.78.0.1:2222.* @ssh'
check "the header says the own session is counted" wait_for '@ssh: yours, counted'
keys H
check "H hides the row" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q ':2222')"
check "H: the header no longer claims it" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q '@ssh: yours')"
keys H
check "H again shows it" wait_for '10.78.0.1:2222.* @ssh'

send_udp 30
check "30 UDP datagrams before the mark" wait_udp 30
keys m
check "m: the header says since mark" wait_for 'since mark [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'
check "m: counts restart at 0" wait_udp 0
send_udp 20
check "since the mark: exactly the 20 datagrams sent after it" wait_udp 20
keys M
check "M: the header says since start" wait_for 'since start'
check "since the start: 50" wait_udp 50
keys M
check "M again: back to since the mark, 20" wait_udp 20
keys s
check "s: snapshot written" wait_for 'snapshot written'
check "the snapshot counts all 50 UDP datagrams" test \
	"$(jq '.protocols.UDP.packets' "$TMP/snap.json")" = 50
check "the snapshot's UDP flow: 50 packets" test \
	"$(jq '[.flows[] | select(.proto == "UDP") | .packets] | add' "$TMP/snap.json")" = 50
keys q
check "q exits 0" wait_for 'EXITED 0'

# without SSH_CONNECTION: nothing marked, H says why
T kill-session -t ui
T new-session -d -s ui -x 120 -y 30 \
	"ip netns exec $NS_CAP env -u SSH_CONNECTION TERM=xterm-256color LC_ALL=C $PKTSTAT -i veth0 -w 0.3 --snapshot $TMP/snap2.json; echo EXITED \$?; sleep 60"
check "no SSH_CONNECTION: screen comes up" wait_for '^Proto'
check "no SSH_CONNECTION: no row marked" sh -c "sleep 1; ! (tmux -L $SOCK capture-pane -p -t ui | grep -q '@ssh')"
keys H
check "no SSH_CONNECTION: H says it knows no session" wait_for 'no SSH session of yours known'
keys q
check "q exits 0" wait_for 'EXITED 0'
finish
