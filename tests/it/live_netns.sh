#!/bin/bash
# Live capture end to end in network namespaces made here: exact, known
# frames (tests/gen/mkpcap's Ethernet scenario: TCP, UDP, ICMP, ICMPv6,
# ARP, 802.1Q and QinQ, IPv6 extension headers, LLDP) are sent from the
# peer; pktstat on the other end of the veth must count exactly what the
# generator knows it wrote, per flow and per protocol, and equal tcpdump's
# count of the same traffic: tpacket3 with 1 and 2 threads, the pcap
# backend, and a BPF filter.
. "$(dirname "$0")/lib.sh"
need_root
SEND=$B/tests/gen/sendframes
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
REPEAT=3
# expected after REPEAT sends: counts times REPEAT
awk -v r=$REPEAT '{ $(NF-1) *= r; $NF *= r; print }' "$TMP/eth.exp" | LC_ALL=C sort > "$TMP/exp"

run_case() { # NAME EXPECTED-FILE PKTSTAT-ARGS...
	local name=$1 exp=$2; shift 2
	local before
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" tcpdump -Z root -i veth0 -w "$TMP/$name.tcpdump.pcap" -U "$@" > /dev/null 2> "$TMP/$name.tcpdump.err" &
	local tpid=$!
	wait_capture_ready "$NS_CAP" "$before"
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 4s -1 -j "${ARGS[@]}" "$@" > "$TMP/$name.json" 2> "$TMP/$name.err" &
	local pid=$!
	wait_capture_ready "$NS_CAP" "$before" || not_ok "$name: capture socket appeared"
	ip netns exec "$NS_PEER" "$SEND" -n $REPEAT -p 2000 veth1 "$TMP/eth.pcap" > /dev/null
	wait $pid
	check "$name: exit status 0" test $? -eq 0
	sleep 0.3
	kill -INT $tpid; wait $tpid
	json_canon < "$TMP/$name.json" > "$TMP/$name.got"
	if [ "$exp" = tcpdump ]; then
		# tcpdump applied the same filter live: the file of what it
		# captured is the reference, read back without a filter
		exp=$TMP/$name.exp
		"$PKTSTAT" -r "$TMP/$name.tcpdump.pcap" -j | json_canon > "$exp"
	fi
	if diff -u "$exp" "$TMP/$name.got"; then ok "$name: per-flow and per-protocol counts exact"; else not_ok "$name: per-flow and per-protocol counts exact"; cat "$TMP/$name.err"; fi
	local td
	td=$(tcpdump -r "$TMP/$name.tcpdump.pcap" 2>/dev/null | wc -l)
	check "$name: total equals tcpdump's ($td)" test "$(jq .totals.packets "$TMP/$name.json")" = "$td"
	check "$name: report says exact" test "$(jq .exact "$TMP/$name.json")" = true
}

ARGS=()
run_case tpacket3 "$TMP/exp"
ARGS=(--threads 2)
run_case fanout2 "$TMP/exp"
ARGS=(--backend pcap)
run_case pcap "$TMP/exp"
# Filtered: live, the kernel has stripped the outer VLAN tag before the
# filter runs, so "udp" also matches 802.1Q-tagged UDP, for tcpdump as for
# us. The reference is tcpdump's capture under the same filter.
ARGS=()
run_case filter-udp tcpdump udp
ARGS=(--threads 2)
run_case filter-udp-fanout tcpdump udp
ARGS=(--backend pcap)
run_case filter-udp-pcap tcpdump udp
check "filter dropped TCP entirely" test "$(jq '.protocols.TCP.packets' "$TMP/filter-udp.json")" = 0

# unknown interface: one line naming it and the available ones, status 1
ip netns exec "$NS_CAP" "$PKTSTAT" -i nosuch0 -t 1s -1 > /dev/null 2> "$TMP/nodev.err"
rc=$?
check "unknown interface: exit 1" test $rc -eq 1
check "unknown interface: one line naming it and listing veth0" \
	sh -c "test \$(wc -l < '$TMP/nodev.err') -eq 1 && grep -q nosuch0 '$TMP/nodev.err' && grep -q veth0 '$TMP/nodev.err'"
finish
