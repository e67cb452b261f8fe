#!/bin/bash
# --backend ebpf on real sockets, in network namespaces made here: three
# TCP connections of 1.5 MB, 300 UDP datagrams and 20 to a closed port
# (ICMP port unreachable back), TSO and GSO off on both
# ends (so that tcpdump and tpacket3 on the sender's side see each
# segment as the wire carries it), GRO off and then on at the receiver,
# where the kernel counts (GRO hands tc one aggregate for several
# segments: the backend counts its gso_segs segments with their headers).
# Per flow and per protocol the counts equal tcpdump's and tpacket3's on
# the sender's side, with and without a filter; the same over an 802.1Q
# sub-interface where the kernel has them (skipped with one line if not).
. "$(dirname "$0")/lib.sh"
need_root
PY=/usr/bin/python3
command -v ethtool > /dev/null || { echo "# SKIP $(basename "$0"): no ethtool (make deps installs it)"; exit 0; }
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
# The ebpf backend has no packet socket to wait for: wait for its programs
# to be loaded and attached (bpftool lists the tc program fl_tc/fl_xdp).
ebpf_progs() { bpftool prog show 2> /dev/null | grep -cE ' name (fl_tc|fl_xdp|fl_tc_count|fl_xdp_count|pktstat_filter) '; }
wait_ebpf_ready() {
	local i
	for i in $(seq 50); do
		[ "$(ebpf_progs)" -gt "$1" ] && { sleep 0.3; return 0; }
		sleep 0.1
	done
	return 1
}

ip -n "$NS_CAP" addr add 10.77.0.1/24 dev veth0
ip netns exec "$NS_CAP" sysctl -qw net.ipv4.icmp_ratelimit=0
ip -n "$NS_PEER" addr add 10.77.0.2/24 dev veth1
# permanent neighbours: no ARP probe can fall between the moments the
# three captures stop (the ebpf one first), which they would count apart
mac() { ip -n "$1" -br link show "$2" | awk '{ print $3 }'; }
ip -n "$NS_CAP" neigh replace 10.77.0.2 lladdr "$(mac "$NS_PEER" veth1)" dev veth0 nud permanent
ip -n "$NS_PEER" neigh replace 10.77.0.1 lladdr "$(mac "$NS_CAP" veth0)" dev veth1 nud permanent
HAVE_VLAN=1
if ip -n "$NS_CAP" link add link veth0 name veth0.100 type vlan id 100 2> /dev/null &&
	ip -n "$NS_PEER" link add link veth1 name veth1.100 type vlan id 100; then
	ip -n "$NS_CAP" addr add 10.78.0.1/24 dev veth0.100
	ip -n "$NS_PEER" addr add 10.78.0.2/24 dev veth1.100
	ip -n "$NS_CAP" link set veth0.100 up
	ip -n "$NS_PEER" link set veth1.100 up
	ip -n "$NS_CAP" neigh replace 10.78.0.2 lladdr "$(mac "$NS_PEER" veth1.100)" dev veth0.100 nud permanent
	ip -n "$NS_PEER" neigh replace 10.78.0.1 lladdr "$(mac "$NS_CAP" veth0.100)" dev veth1.100 nud permanent
else
	HAVE_VLAN=0
fi
# segments on the wire: no TSO/GSO on either end, so tcpdump and tpacket3
# on the sender's side see each segment as the wire carries it
ip netns exec "$NS_PEER" ethtool -K veth1 tso off gso off > /dev/null 2>&1
ip netns exec "$NS_CAP" ethtool -K veth0 tso off gso off > /dev/null 2>&1

# receiver in NS_CAP: accepts 3 connections, reads each to the end
cat > "$TMP/sink.py" << 'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(8); s.settimeout(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[1], 5002))
print("ready", flush=True)
for _ in range(3):
    c, _ = s.accept(); c.settimeout(8)
    while c.recv(65536): pass
    c.close()
PY
# sender in NS_PEER: 3 TCP connections of 1.5 MB, 300 UDP datagrams
cat > "$TMP/source.py" << 'PY'
import socket, sys
for i in range(3):
    c = socket.create_connection((sys.argv[1], 5001), timeout=8)
    c.sendall(b"x" * 1500000); c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    u.sendto(b"y" * (100 + i), (sys.argv[1], 5002))
# to a closed port: ICMP port unreachable back (the BPF key's ICMP code)
for i in range(20):
    u.sendto(b"z", (sys.argv[1], 5003))
PY

sockets_run() { # NAME GRO(on|off) DST-ADDR [filter...]: the captures
	local name=$1 gro=$2 dst=$3; shift 3
	ip netns exec "$NS_CAP" ethtool -K veth0 gro "$gro" > /dev/null 2>&1
	ip netns exec "$NS_CAP" $PY "$TMP/sink.py" "$dst" > "$TMP/$name.sink" 2>&1 &
	local spid=$! before i
	for i in $(seq 50); do grep -q ready "$TMP/$name.sink" && break; sleep 0.1; done
	before=$(ip netns exec "$NS_PEER" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_PEER" tcpdump -B 16384 -Z root -i veth1 -w "$TMP/$name.tcpdump.pcap" -U "$@" > /dev/null 2> "$TMP/$name.tcpdump.err" &
	local tpid=$!
	wait_capture_ready "$NS_PEER" "$before"
	before=$(ip netns exec "$NS_PEER" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_PEER" "$PKTSTAT" -i veth1 -t 60s -1 -j "$@" > "$TMP/$name.tp3.json" 2> /dev/null &
	local ppid=$!
	wait_capture_ready "$NS_PEER" "$before"
	before=$(ebpf_progs)
	ip netns exec "$NS_CAP" "$PKTSTAT" --backend ebpf -i veth0 -t 60s -1 -j "$@" > "$TMP/$name.json" 2> "$TMP/$name.err" &
	local pid=$!
	wait_ebpf_ready "$before" || not_ok "$name: BPF programs loaded"
	ip netns exec "$NS_PEER" $PY "$TMP/source.py" "$dst"
	check "$name: traffic sent" test $? -eq 0 || sed "s/^/# sink: /" "$TMP/$name.sink"
	# every run stopped after the traffic (the sink has read it all and
	# closed, then a second for the last segments), not by a window that
	# a slow start-up under load could end before it
	wait $spid
	sleep 1
	kill -INT $pid
	wait $pid
	check "$name: exit status 0" test $? -eq 0
	kill -INT $ppid; wait $ppid
	kill -INT $tpid; wait $tpid
}

# veth_drops: packets the pair dropped between the two sides' captures
# (veth0's receive ring with GRO on, either device's drop counters, the
# receive backlogs' drops in /proc/net/softnet_stat)
veth_drops() {
	local n=0 v
	while read -r _ v _; do n=$((n + 16#$v)); done < /proc/net/softnet_stat
	for v in $(ip netns exec "$NS_CAP" ethtool -S veth0 2> /dev/null | awk '/_drops:/ { print $2 }') \
		$(ip -n "$NS_CAP" -s -j link show veth0 | jq '.[0].stats64.rx.dropped') \
		$(ip -n "$NS_PEER" -s -j link show veth1 | jq '.[0].stats64.tx.dropped'); do
		n=$((n + v))
	done
	echo "$n"
}

sockets_case() { # NAME GRO(on|off) DST-ADDR [filter...]
	local name=$1 gro=$2 dst=$3 try d0 d1
	shift 3
	# a segment the pair drops is counted on the sender's side (and
	# again when TCP sends it again) but never at the receiver: the
	# counts cannot agree, and the run is made again
	for try in 1 2 3; do
		d0=$(veth_drops)
		sockets_run "$name" "$gro" "$dst" "$@"
		d1=$(veth_drops)
		[ "$d1" = "$d0" ] && break
		echo "# $name: the veth pair dropped $((d1 - d0)) packets between the captures (run $try): run again"
	done
	json_canon < "$TMP/$name.json" > "$TMP/$name.got"
	"$PKTSTAT" -r "$TMP/$name.tcpdump.pcap" -j | json_canon > "$TMP/$name.exp"
	json_canon < "$TMP/$name.tp3.json" > "$TMP/$name.tp3"
	if diff -u "$TMP/$name.exp" "$TMP/$name.got" > "$TMP/$name.diff"; then ok "$name: per flow and protocol equal to tcpdump's ($(tail -1 "$TMP/$name.got"))"; else not_ok "$name: per flow and protocol equal to tcpdump's"; head -20 "$TMP/$name.diff"; grep -i drop "$TMP/$name.tcpdump.err"; fi
	if diff -u "$TMP/$name.tp3" "$TMP/$name.got" > /dev/null; then ok "$name: equal to tpacket3's"; else not_ok "$name: equal to tpacket3's"; fi
	check "$name: report says exact" test "$(jq .exact "$TMP/$name.json")" = true
	check "$name: TCP counted" test "$(jq .protocols.TCP.packets "$TMP/$name.json")" -gt 1000
	# (more when the sink closed its UDP socket before the last of the
	# 300: those draw port unreachables too)
	[ "$name" = gro-on-filter ] ||
		check "$name: the port unreachables (type 3 code 3) among the flows, 20 or more" test "$(jq '[.flows[] | select(.icmpType == 3 and .icmpCode == 3) | .packets] | add // 0' "$TMP/$name.json")" -ge 20
}
sockets_case gro-off off 10.77.0.1
sockets_case gro-on on 10.77.0.1
sockets_case gro-on-filter on 10.77.0.1 tcp
if [ $HAVE_VLAN = 1 ]; then
	sockets_case vlan off 10.78.0.1
	check "vlan: the flows carry VLAN 100" test "$(jq '[.flows[] | select(.proto == "TCP") | .vlan] | unique | tostring' "$TMP/vlan.json")" = '[100]'
else
	echo "# SKIP vlan sub-interface: this kernel has no 802.1Q devices (tagged frames are covered by the known-frames cases above)"
fi

finish
