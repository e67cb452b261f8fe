#!/bin/bash
# Live capture end to end in network namespaces made here: exact, known
# frames (tests/gen/mkpcap's Ethernet scenario: TCP, UDP, ICMP, ICMPv6,
# ARP, 802.1Q and QinQ, IPv6 extension headers, LLDP) are sent from the
# peer; pktstat on the other end of the veth must count exactly what the
# generator knows it wrote, per flow and per protocol, and equal tcpdump's
# count of the same traffic: tpacket3 with 1 and 2 threads, the pcap
# backend, and a BPF filter. ICMP errors the kernel sends are rows by type
# and code (unreach port, unreach proto), as tcpdump counts them.
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

# 16.6: ICMP messages by type and code, from the kernel's own replies. UDP
# to a closed port draws port unreachable, an unknown IP protocol
# protocol unreachable: two rows between the same two hosts beside the
# ping's echo, each with tcpdump's count of its type and code, named in
# the text snapshot and the -1 output.
ip -n "$NS_CAP" addr add 192.0.2.1/24 dev veth0
ip -n "$NS_PEER" addr add 192.0.2.2/24 dev veth1
ip netns exec "$NS_CAP" sysctl -qw net.ipv4.icmp_ratelimit=0
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" tcpdump -Z root -i veth0 -w "$TMP/icmp.tcpdump.pcap" -U icmp > /dev/null 2> "$TMP/icmp.tcpdump.err" &
tpid=$!
wait_capture_ready "$NS_CAP" "$before"
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 3s -j --snapshot "$TMP/icmp.txt" > "$TMP/icmp.json" 2> "$TMP/icmp.err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "icmp: capture socket appeared"
ip netns exec "$NS_PEER" /usr/bin/python3 -c "
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20):
    u.sendto(b'x' * 10, ('192.0.2.1', 9))
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
for i in range(7):
    r.sendto(b'y' * 8, ('192.0.2.1', 0))
# three echo requests (the kernel answers each)
e = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for i in range(3):
    m = bytearray(b'\x08\x00\x00\x00\x12\x34\x00' + bytes([i]) + b'p' * 16)
    c = sum((m[j] << 8) + m[j + 1] for j in range(0, len(m), 2))
    c = (c & 0xffff) + (c >> 16)
    c = ~((c & 0xffff) + (c >> 16)) & 0xffff
    m[2], m[3] = c >> 8, c & 0xff
    e.sendto(bytes(m), ('192.0.2.1', 0))
"
wait $pid
check "icmp: exit status 0" test $? -eq 0
sleep 0.3
kill -INT $tpid; wait $tpid
# icmp_count TYPE CODE: packets of that ICMP type and code in tcpdump's
# file, and in pktstat's report
icmp_td() { tcpdump -r "$TMP/icmp.tcpdump.pcap" "icmp[0] == $1 and icmp[1] == $2" 2> /dev/null | wc -l; }
icmp_ps() { jq "[.flows[] | select(.proto == \"ICMPv4\" and .icmpType == $1 and .icmpCode == $2) | .packets] | add // 0" "$TMP/icmp.json"; }
check "icmp: port unreachable, 20, as tcpdump counts them ($(icmp_td 3 3))" \
	test "$(icmp_ps 3 3)" = 20 -a "$(icmp_td 3 3)" = 20
check "icmp: protocol unreachable, 7, as tcpdump counts them ($(icmp_td 3 2))" \
	test "$(icmp_ps 3 2)" = 7 -a "$(icmp_td 3 2)" = 7
check "icmp: the 3 echo requests and 3 replies, as tcpdump counts them" \
	test "$(icmp_ps 8 0)" = 6 -a $(($(icmp_td 8 0) + $(icmp_td 0 0))) = 6
check "icmp: three ICMP flows (echo and two unreachables) between the two hosts" \
	test "$(jq '[.flows[] | select(.proto == "ICMPv4") | .flow] | unique | length' "$TMP/icmp.json")" = 3
check "icmp: the text snapshot says unreach port" \
	grep -q 'packets: 20, bytes: [0-9]*, proto: ICMPv4, src: 192[.]0[.]2[.]1, dst: 192[.]0[.]2[.]2, type: unreach port$' "$TMP/icmp.txt"
check "icmp: ... and unreach proto" \
	grep -q 'packets: 7, .*src: 192[.]0[.]2[.]1, dst: 192[.]0[.]2[.]2, type: unreach proto$' "$TMP/icmp.txt"
"$PKTSTAT" -r "$TMP/icmp.tcpdump.pcap" -1 > "$TMP/icmp.orig" 2>&1
check "icmp: -1 names the code as the original (icmp unreach port)" \
	grep -Eq '^[0-9]+ 20 icmp unreach port 192[.]0[.]2[.]1 -> 192[.]0[.]2[.]2$' "$TMP/icmp.orig"
[ "$FAILS" -gt 0 ] && sed 's/^/# -1: /' "$TMP/icmp.orig" && grep ICMP "$TMP/icmp.txt" | sed 's/^/# text: /'

# unknown interface: one line naming it and the available ones, status 1
ip netns exec "$NS_CAP" "$PKTSTAT" -i nosuch0 -t 1s -1 > /dev/null 2> "$TMP/nodev.err"
rc=$?
check "unknown interface: exit 1" test $rc -eq 1
check "unknown interface: one line naming it and listing veth0" \
	sh -c "test \$(wc -l < '$TMP/nodev.err') -eq 1 && grep -q nosuch0 '$TMP/nodev.err' && grep -q veth0 '$TMP/nodev.err'"
finish
