#!/bin/bash
# -i any counts bytes one way on both backends: each frame as its own
# interface carries it (a veth's 14-byte Ethernet header), as a capture on
# that interface does; not libpcap's cooked header (16 bytes, tcpdump -i
# any: 20 with SLL2). UDP datagrams sent over a veth pair in namespaces
# made here; the reference is tcpdump on the veth itself.
. "$(dirname "$0")/lib.sh"
need_root
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
ip -n "$NS_CAP" addr add 10.78.0.2/24 dev veth0
ip -n "$NS_PEER" addr add 10.78.0.1/24 dev veth1
send() {
	ip netns exec "$NS_PEER" /usr/bin/python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(bytes(56 + i), ("10.78.0.2", 9))
    time.sleep(0.01)'
}
for be in tpacket3 pcap; do
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" tcpdump -Z root -i veth0 -w "$TMP/$be.pcap" -U udp > /dev/null 2>&1 &
	tpid=$!
	wait_capture_ready "$NS_CAP" "$before"
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" "$PKTSTAT" -i any --backend $be -t 2s -j udp > "$TMP/$be.json" 2> "$TMP/$be.err" &
	pid=$!
	wait_capture_ready "$NS_CAP" "$before" || not_ok "$be: capture socket appeared"
	send
	wait $pid
	sleep 0.2
	kill -INT $tpid; wait $tpid
	ref=$(tshark -r "$TMP/$be.pcap" -T fields -e frame.len 2> /dev/null | awk '{ n++; s += $1 } END { print n + 0, s + 0 }')
	check "-i any, $be: frames and bytes as on veth0 itself ($ref)" \
		test "$(jq -r '"\(.totals.packets) \(.totals.bytes)"' "$TMP/$be.json")" = "$ref"
done
check "-i any: both backends count the same bytes" \
	test "$(jq .totals.bytes "$TMP/tpacket3.json")" = "$(jq .totals.bytes "$TMP/pcap.json")"
check "-i any: 5 datagrams, 14 + 20 + 8 + 56..60 bytes each" \
	test "$(jq -r '"\(.totals.packets) \(.totals.bytes)"' "$TMP/pcap.json")" = "5 $((5 * 98 + 10))"
finish
