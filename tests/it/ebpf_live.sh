#!/bin/bash
# --backend ebpf end to end, in network namespaces made here.
#  - Known frames (tests/gen/mkpcap's Ethernet scenario: TCP, UDP, ICMP,
#    ICMPv6, ARP, 802.1Q and QinQ, IPv6 extension headers, fragments,
#    other ethertypes) sent from the peer: counted in the kernel, per flow
#    and per protocol, exactly what the generator wrote, and the total
#    equals tcpdump's; with a filter, equal to tcpdump's capture under the
#    same filter; the same through XDP (generic).
#  - Real TCP and UDP sockets, TSO and GSO off on the sender (so tcpdump
#    there sees the segments on the wire), GRO off and on at the receiver
#    where the kernel counts: per flow and per protocol equal to tcpdump's
#    and tpacket3's on the sender side; the same over a VLAN sub-interface.
#  - A flow map far too small: totals still exact, overflow reported.
#  - kill -9 mid-run: nothing of pktstat left attached or loaded.
#  - A filter that cannot run in the kernel: one line, the run does not
#    start.
. "$(dirname "$0")/lib.sh"
need_root
SEND=$B/tests/gen/sendframes
PY=/usr/bin/python3
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

"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
REPEAT=3
awk -v r=$REPEAT '{ $(NF-1) *= r; $NF *= r; print }' "$TMP/eth.exp" | LC_ALL=C sort > "$TMP/exp"

frames_case() { # NAME EXPECTED-FILE PKTSTAT-ARGS... (filter last)
	local name=$1 exp=$2; shift 2
	local before
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" tcpdump -Z root -i veth0 -w "$TMP/$name.tcpdump.pcap" -U "$@" > /dev/null 2> "$TMP/$name.tcpdump.err" &
	local tpid=$!
	wait_capture_ready "$NS_CAP" "$before"
	before=$(ebpf_progs)
	ip netns exec "$NS_CAP" "$PKTSTAT" --backend ebpf -i veth0 -t 4s -1 -j "${ARGS[@]}" "$@" > "$TMP/$name.json" 2> "$TMP/$name.err" &
	local pid=$!
	wait_ebpf_ready "$before" || not_ok "$name: BPF programs loaded"
	ip netns exec "$NS_PEER" "$SEND" -n $REPEAT -p 2000 veth1 "$TMP/eth.pcap" > /dev/null
	wait $pid
	check "$name: exit status 0" test $? -eq 0
	sleep 0.3
	kill -INT $tpid; wait $tpid
	json_canon < "$TMP/$name.json" > "$TMP/$name.got"
	if [ "$exp" = tcpdump ]; then
		exp=$TMP/$name.exp
		"$PKTSTAT" -r "$TMP/$name.tcpdump.pcap" -j | json_canon > "$exp"
	fi
	if diff -u "$exp" "$TMP/$name.got"; then ok "$name: per-flow and per-protocol counts exact"; else not_ok "$name: per-flow and per-protocol counts exact"; cat "$TMP/$name.err"; fi
	local td
	td=$(tcpdump -r "$TMP/$name.tcpdump.pcap" 2>/dev/null | wc -l)
	check "$name: total equals tcpdump's ($td)" test "$(jq .totals.packets "$TMP/$name.json")" = "$td"
	check "$name: report says exact" test "$(jq .exact "$TMP/$name.json")" = true
	check "$name: backend ebpf, no program errors" test "$(jq -r '"\(.backend) \(.capture.programErrors)"' "$TMP/$name.json")" = "ebpf 0"
}

ARGS=()
frames_case tc "$TMP/exp"
frames_case tc-filter-udp tcpdump udp
check "filter dropped TCP entirely" test "$(jq '.protocols.TCP.packets' "$TMP/tc-filter-udp.json")" = 0
ARGS=(--xdp=generic)
frames_case xdp "$TMP/exp"
frames_case xdp-filter-tcp tcpdump tcp
