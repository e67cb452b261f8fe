#!/bin/bash
# Exit does not wait for a reverse lookup in flight. The monitor runs in
# tmux inside a test namespace whose resolv.conf (ip netns exec mounts
# /etc/netns/NS/resolv.conf) names a DNS server that reads every query and
# never answers; names are turned on (n), UDP datagrams make flows to name, and q
# is pressed once the server has seen a query: glibc's resolver then waits
# 5 s per try. Both pktstat processes must be gone within 2 s of q (the
# figure is printed), with the snapshot written.
. "$(dirname "$0")/lib.sh"
need_root
tmux_setup pktstat-dns
BOUND_MS=2000 # before: 8-9 s; measured well under 1 s when the machine is quiet
DNS=10.99.0.53
dnspid=
at_exit_extra() {
	[ -n "$dnspid" ] && kill "$dnspid" 2> /dev/null
	[ -n "${NS_CAP:-}" ] && rm -rf "/etc/netns/$NS_CAP"
}
alive() { # a process that has not exited (a zombie has)
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
ip -n "$NS_CAP" addr add 10.99.0.1/24 dev veth0
ip -n "$NS_PEER" addr add 10.99.0.2/24 dev veth1
ip -n "$NS_CAP" addr add $DNS/32 dev lo
mkdir -p "/etc/netns/$NS_CAP"
echo "nameserver $DNS" > "/etc/netns/$NS_CAP/resolv.conf"
: > "$TMP/queries"
ip netns exec "$NS_CAP" /usr/bin/python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$DNS', 53))
while True:
    s.recvfrom(4096)
    with open('$TMP/queries', 'a') as f:
        f.write('q\n')
" &
dnspid=$!

T new-session -d -s ui -x 120 -y 30 \
	"ip netns exec $NS_CAP env TERM=xterm-256color $PKTSTAT -i veth0 --snapshot $TMP/snap.json; echo EXITED \$?; sleep 60"
check "screen comes up" wait_for '^Proto'
pid=$(pgrep -f -- "^$PKTSTAT -i veth0 --snapshot $TMP/snap.json" | head -1)
child=$(child_of "${pid:-0}")
check "root writer ($pid) and capturing child ($child) found" test -n "$pid" -a -n "$child"
T send-keys -t ui n
ip netns exec "$NS_PEER" /usr/bin/python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b'x' * 20, ('10.99.0.1', 9))
    time.sleep(0.2)
"
for i in $(seq 100); do
	[ -s "$TMP/queries" ] && break
	sleep 0.05
done
check "the dead DNS server got a query ($(wc -l < "$TMP/queries"))" test -s "$TMP/queries"
sleep 0.3
t0=$(date +%s%N)
T send-keys -t ui q
for i in $(seq 1000); do
	alive "$pid" || alive "$child" || break
	sleep 0.01
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# exit with a DNS server that never answers: $ms ms from q"
check "q ends both processes within $BOUND_MS ms with a lookup in flight ($ms ms)" test $ms -le $BOUND_MS
check "exit status 0" wait_for 'EXITED 0' 3
check "snapshot written with the datagrams" test "$(jq '.protocols.UDP.packets' "$TMP/snap.json" 2> /dev/null)" -ge 5
finish
