#!/bin/bash
# IP fragments and BIG TCP from a generated capture (tests/gen/mkpcap
# frag): ICMP and ICMPv6 echo of 3000 bytes both ways, 8000-byte UDP
# datagrams over IPv4 and IPv6, one IPv4 identification used by two
# protocols, two datagrams sent last fragment first, and GSO / BIG TCP
# frames whose IPv4 total length is 0.
# Every later fragment must be counted in its first fragment's flow
# (never a port-0 flow, never an ICMP type-0 flow), equal both to what the
# generator knows it wrote and to tshark's independent count (lib.sh
# tshark_flows); fragments seen before their first fragment in the
# documented "fragments, flow unknown" row ("ip fragments" in -1 output);
# BIG TCP frames are not malformed; "other" rows name what they carry.
. "$(dirname "$0")/lib.sh"
command -v tshark > /dev/null || { echo "# SKIP $(basename "$0"): no tshark"; exit 0; }
"$GEN" frag "$TMP/f.pcap" "$TMP/f.exp"
LC_ALL=C sort "$TMP/f.exp" > "$TMP/exp"
"$PKTSTAT" -r "$TMP/f.pcap" -j > "$TMP/f.json" 2> "$TMP/f.err"
check "exit status 0" test $? -eq 0
json_canon < "$TMP/f.json" > "$TMP/got"
if diff -u "$TMP/exp" "$TMP/got"; then ok "per-direction flows and totals as generated"; else not_ok "per-direction flows and totals as generated"; fi
tshark_flows "$TMP/f.pcap" > "$TMP/tshark"
json_ip_flows < "$TMP/f.json" > "$TMP/mine"
if diff -u "$TMP/tshark" "$TMP/mine"; then ok "per-direction flows equal tshark's fragment grouping"; else not_ok "per-direction flows equal tshark's fragment grouping"; fi
check "the issue's ping -s 3000 x3: ICMP 18 frames, 18660 bytes" \
	test "$(jq -r '"\(.protocols.ICMP.packets) \(.protocols.ICMP.bytes)"' "$TMP/f.json")" = "18 18660"
check "no ICMP type-0 flow" \
	test "$(jq '[.flows[] | select((.proto == "ICMPv4" or .proto == "ICMPv6") and .icmpType == 0)] | length' "$TMP/f.json")" = 0
check "no port-0 flow" \
	test "$(jq '[.flows[] | select((.proto == "TCP" or .proto == "UDP") and (.srcPort == 0 or .dstPort == 0))] | length' "$TMP/f.json")" = 0
check "flow-unknown rows: IPv4 and IPv6, the datagram's protocol in ipProto" \
	test "$(jq -r '[.flows[] | select(.proto == "IPv4" or .proto == "IPv6") | "\(.proto)/\(.ipProto)/\(.packets)"] | sort | join(" ")' "$TMP/f.json")" = "IPv4/17/2 IPv6/17/2"
check "BIG TCP (IPv4 total length 0) is not malformed" \
	test "$(jq '.malformed.total' "$TMP/f.json")" = 0
check "BIG TCP frames counted at their wire length" \
	test "$(jq '[.flows[] | select(.srcPort == 40100) | .size] | add' "$TMP/f.json")" = $((97082 + 96082 + 95082 + 94082))
"$PKTSTAT" -r "$TMP/f.pcap" -1 -n > "$TMP/f.one"
check "-1: 'ip fragments' is the flow-unknown IPv4 fragments" \
	grep -qx '2596 2 ip fragments' "$TMP/f.one"
check "-1: 'ip6 fragments' is the flow-unknown IPv6 fragments" \
	grep -qx '2684 2 ip6 fragments' "$TMP/f.one"
check "-1: the UDP datagrams with all their fragments" \
	grep -qx '25062 21 udp 10.0.0.50:5000 <-> 10.0.0.51:9' "$TMP/f.one"
check "other rows name their ethertype, LLC SAP or SNAP protocol" \
	test "$(jq -r '[.flows[] | select(.proto == "other") | "\(.src)/\(.packets)"] | sort | join(" ")' "$TMP/f.json")" = \
	"0x88cc/1 llc-0x42/2 snap-0x809b/1"
finish
