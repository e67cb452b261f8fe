#!/bin/bash
# Fragmented traffic live, in network namespaces made here: ICMP and
# ICMPv6 echo with 3000 bytes of data (requests and replies fragmented)
# and 8000-byte UDP datagrams over IPv4 and IPv6 (tests/gen/fragsend.py),
# captured by pktstat and tcpdump on the same interface at once. With the
# tpacket3 backend at 1, 2 and 4 threads (fanout) and with the pcap
# backend, pktstat must count the frames on the wire (tcpdump's count,
# "exact": true), and per direction every fragment in the flow of its
# datagram's first fragment: equal to tshark's independent count of
# tcpdump's file (lib.sh tshark_flows: reassembly off, fragments grouped
# by ip.id / the IPv6 fragment identification).
# Both capture under one filter that keeps the test's IP traffic and drops
# the kernel's own IPv6 chatter (MLD, router and neighbour discovery) and
# ARP, whose timing would make the two windows differ.
. "$(dirname "$0")/lib.sh"
need_root
command -v tshark > /dev/null || { echo "# SKIP $(basename "$0"): no tshark"; exit 0; }
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
ip -n "$NS_CAP" addr add 10.77.0.2/24 dev veth0
ip -n "$NS_PEER" addr add 10.77.0.1/24 dev veth1
for x in "$NS_CAP veth0 2" "$NS_PEER veth1 1"; do
	set -- $x
	ip netns exec "$1" sysctl -qw net.ipv6.conf."$2".accept_dad=0
	ip netns exec "$1" sysctl -qw net.ipv6.conf."$2".router_solicitations=0
	ip netns exec "$1" sysctl -qw net.ipv6.conf."$2".disable_ipv6=0
	ip -n "$1" addr add fd77::"$3"/64 dev "$2" nodad
done
FILTER='ip or (ip6 and not ip6[6] == 0 and not (ip6[6] == 58 and ip6[40] >= 133))'

run_case() { # NAME PKTSTAT-ARGS...
	local name=$1 before tpid pid rc; shift
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" tcpdump -Z root -i veth0 -w "$TMP/$name.pcap" -U "$FILTER" > /dev/null 2> "$TMP/$name.tcpdump.err" &
	tpid=$!
	wait_capture_ready "$NS_CAP" "$before"
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 2s -1 -j "$@" "$FILTER" > "$TMP/$name.json" 2> "$TMP/$name.err" &
	pid=$!
	wait_capture_ready "$NS_CAP" "$before" || not_ok "$name: capture socket appeared"
	ip netns exec "$NS_PEER" /usr/bin/python3 tests/gen/fragsend.py 10.77.0.2 fd77::2 3
	wait $pid
	rc=$?
	sleep 0.3
	kill -INT $tpid; wait $tpid
	check "$name: exit status 0" test $rc -eq 0
	json_ip_flows < "$TMP/$name.json" > "$TMP/$name.got"
	tshark_flows "$TMP/$name.pcap" > "$TMP/$name.exp"
	if diff -u "$TMP/$name.exp" "$TMP/$name.got"; then
		ok "$name: per-direction frames and bytes equal tshark's, fragments in their datagram's flow"
	else
		not_ok "$name: per-direction frames and bytes equal tshark's, fragments in their datagram's flow"
		cat "$TMP/$name.err"
	fi
	local tf tb
	tf=$(tcpdump -r "$TMP/$name.pcap" 2> /dev/null | wc -l)
	tb=$(tshark -r "$TMP/$name.pcap" -T fields -e frame.len 2> /dev/null | awk '{ s += $1 } END { print s + 0 }')
	check "$name: frames on the wire: $tf frames, $tb bytes, as tcpdump" \
		test "$(jq -r '"\(.totals.packets) \(.totals.bytes)"' "$TMP/$name.json")" = "$tf $tb"
	check "$name: report says exact" test "$(jq .exact "$TMP/$name.json")" = true
	# one clock for start, end and duration: the capture's wall-clock
	# span (-t 2s), not the packets' (a fraction of a second here)
	check "$name: duration = end - start, the run's 2 s" \
		jqe "$JQ_ISO"' ((.end | iso) - (.start | iso)) as $d |
		       (($d - .duration) | fabs) < 0.000002 and .duration >= 2 and .duration < 3' "$TMP/$name.json"
	# not vacuous: 3 rounds of 3-fragment echoes (both ways, both
	# families) and 6-fragment UDP datagrams were there
	check "$name: the fragmented flows are there" \
		test "$(grep -c -E '^flow (UDP|ICMPv4|ICMPv6) .*(10\.77|fd77)' "$TMP/$name.exp")" -ge 7 -a "$tf" -ge 90
	check "$name: no flow-unknown fragments" \
		test "$(grep -c -E '^flow IPv[46] ' "$TMP/$name.got")" -eq 0
}

run_case threads1 --threads 1
run_case threads2 --threads 2
run_case threads4 --threads 4
run_case pcap --backend pcap
finish
