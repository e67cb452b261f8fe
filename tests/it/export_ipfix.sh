#!/bin/bash
# --ipfix against a real collector: nfdump's nfcapd listens on the
# loopback of a namespace made here, pktstat captures veth0 there (batch
# mode with -t and -k longer than the run, so its report lists every flow)
# and exports over UDP with a 2 s active timeout while the peer sends
# tests/gen/mkpcap's Ethernet mix three times (TCP, UDP, ICMP, ICMPv6, IPv6
# extension headers, 802.1Q: IP flows of every kind) and one long UDP flow
# of 120 frames over 6 s that the active timeout must cut into several
# records. Checked, per flow and direction: nfdump -r's packets equal the
# JSON report's, and its bytes equal the report's minus 14 per packet (the
# Ethernet header; tpacket3 strips the 802.1Q tag); the long flow arrives
# as at least 3 records; no record lost (the JSON report's "ipfix"
# figures = what nfcapd stored); with no collector listening, the
# messages the kernel refuses are counted as dropped and nothing but
# pktstat's own line reaches stderr; a TCP collector that stops reading
# holds the exit at most ~10 s, and what it did not take is counted as
# dropped; a collector address that does
# not parse is a usage error.
. "$(dirname "$0")/lib.sh"
need_root
for t in nfcapd nfdump jq; do
	command -v $t > /dev/null || { not_ok "export_ipfix: $t not installed (make deps)"; finish; exit 1; }
done
SEND=$B/tests/gen/sendframes
PORT=4739
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
"$GEN" many "$TMP/ll.pcap" "$TMP/ll.exp" 1 1
mkdir "$TMP/nf"
at_exit_extra() {
	[ -n "${nfc:-}" ] && kill "$nfc" 2> /dev/null && wait "$nfc" 2> /dev/null
	true
}
ip netns exec "$NS_CAP" nfcapd -w "$TMP/nf" -b 127.0.0.1 -p $PORT -t 3600 \
	-B 8388608 > "$TMP/nfcapd.log" 2>&1 &
nfc=$!
sleep 0.5

before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -1 -j -t 30s -k 60 \
	--ipfix 127.0.0.1:$PORT --ipfix-active 2s \
	> "$TMP/run.json" 2> "$TMP/run.err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture socket appeared"
ip netns exec "$NS_PEER" "$SEND" -n 120 -p 20 veth1 "$TMP/ll.pcap" > "$TMP/ll.out" &
llpid=$!
ip netns exec "$NS_PEER" "$SEND" -n 3 -p 2000 veth1 "$TMP/eth.pcap" > "$TMP/eth.out"
wait $llpid
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
check "export_ipfix: pktstat exit 0 (got $rc)" test $rc -eq 0
sed 's/^/# /' "$TMP/run.err"
sleep 0.5
kill "$nfc"
wait "$nfc"
nfc=

# per flow and direction: "proto src sport dst dport packets bytes"
# (ports only for TCP and UDP; bytes as IPFIX counts them)
jq -r '.flows[] | select(.ipProto > 0 and .proto != "ARP" and .proto != "other") |
	[.ipProto, .srcIp, (if .ipProto == 6 or .ipProto == 17 then .srcPort else 0 end),
	 .dstIp, (if .ipProto == 6 or .ipProto == 17 then .dstPort else 0 end),
	 .packets, .size - 14 * .packets] | map(tostring) | join(" ")' "$TMP/run.json" |
	LC_ALL=C sort > "$TMP/want"
nfdump -R "$TMP/nf" -q -N -A proto,srcip,srcport,dstip,dstport \
	-o 'fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%fl' > "$TMP/nfdump.out" 2> "$TMP/nfdump.err"
awk -F'|' '{ for (i = 1; i <= NF; i++) gsub(/ /, "", $i)
	p = $1; sp = $3; dp = $5
	if (p != 6 && p != 17) { sp = 0; dp = 0 }
	print p, $2, sp, $4, dp, $6, $7 }' "$TMP/nfdump.out" | LC_ALL=C sort > "$TMP/got"
nw=$(wc -l < "$TMP/want")
check "export_ipfix: the report has IP flows of TCP, UDP, ICMP, ICMPv6 ($nw directions)" \
	sh -c "test $nw -ge 20 && grep -q '^1 ' '$TMP/want' && grep -q '^58 ' '$TMP/want' && grep -q '^6 ' '$TMP/want'"
if diff -u "$TMP/want" "$TMP/got" > "$TMP/diff"; then
	ok "export_ipfix: nfdump per flow and direction = the JSON report (packets; bytes - 14 x packets), $nw directions"
else
	not_ok "export_ipfix: nfdump per flow and direction = the JSON report (packets; bytes - 14 x packets)"
	sed 's/^/# /' "$TMP/diff" | head -40
fi
# the long flow 10.0.0.1:1024 -> 10.128.0.0:9: cut by the 2 s active timeout
read -r llp llr < <(awk -F'|' '{ for (i = 1; i <= NF; i++) gsub(/ /, "", $i) }
	$2 == "10.0.0.1" && $3 == 1024 && $4 == "10.128.0.0" && $5 == 9 { print $6, $8 }' "$TMP/nfdump.out")
read -r _ lls _ < "$TMP/ll.out"
check "export_ipfix: the long flow: ${llp:-no} packets of $lls sent, in ${llr:-no} records (>= 3: active timeout)" \
	test "${llp:-0}" = "$lls" -a "${llr:-0}" -ge 3
read -r tot_r tot_p tot_b < <(awk -F'|' '{ r += $8; p += $6; b += $7 } END { print r + 0, p + 0, b + 0 }' "$TMP/nfdump.out")
read -r sent drop < <(jq -r '.ipfix | [.records, .droppedRecords] | @tsv' "$TMP/run.json")
check "export_ipfix: records: pktstat sent $sent, nfcapd stored $tot_r, dropped ${drop:-?}" test "${sent:-x}" = "$tot_r" -a "${drop:-x}" = 0

# no collector: the kernel refuses the UDP messages (ICMP port
# unreachable): counted as dropped, and libfixbuf's warnings stay off the
# terminal (stderr holds only pktstat's one ipfix line)
ip netns exec "$NS_CAP" "$PKTSTAT" -r "$TMP/eth.pcap" -j --ipfix 127.0.0.1:$((PORT + 1)) > "$TMP/off.json" 2> "$TMP/off.err"
rc=$?
read -r osent odrop < <(jq -r '.ipfix | [.records, .droppedRecords] | @tsv' "$TMP/off.json")
check "export_ipfix: no collector: exit $rc, stderr one line ($(wc -l < "$TMP/off.err")), $odrop records counted dropped, $osent sent" \
	test $rc -eq 0 -a "$(wc -l < "$TMP/off.err")" -eq 1 -a "${odrop:-0}" -ge 1
# a TCP collector that accepts and never reads: the exit waits at most
# about 10 s for it, then counts what it did not take as dropped
"$GEN" many "$TMP/many.pcap" "$TMP/many.exp" 200000 200000
ip netns exec "$NS_CAP" /usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", '$((PORT + 2))')); s.listen(1)
c, _ = s.accept(); time.sleep(40)' &
stall=$!
sleep 0.5
t0=$(date +%s%N)
ip netns exec "$NS_CAP" "$PKTSTAT" -r "$TMP/many.pcap" -j --ipfix 127.0.0.1:$((PORT + 2))/tcp > "$TMP/stall.json" 2> "$TMP/stall.err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill $stall 2> /dev/null; wait $stall 2> /dev/null
read -r ssent sdrop < <(jq -r '.ipfix | [.records, .droppedRecords] | @tsv' "$TMP/stall.json")
check "export_ipfix: stalled TCP collector: exit $rc in $ms ms (< 20 s)" test $rc -eq 0 -a $ms -lt 20000
check "export_ipfix: stalled TCP collector: sent $ssent + dropped $sdrop = 200000 flows, dropped > 0" \
	test $((${ssent:-0} + ${sdrop:-0})) -eq 200000 -a "${sdrop:-0}" -gt 0
"$PKTSTAT" -i lo -t 1s -1 -j --ipfix 127.0.0.1 > /dev/null 2> "$TMP/bad.err"
rc=$?
check "export_ipfix: collector without a port: exit 2, one line ($rc: $(head -1 "$TMP/bad.err"))" test $rc -eq 2 -a "$(wc -l < "$TMP/bad.err")" -eq 1
"$PKTSTAT" -i lo -t 1s -1 -j --ipfix 127.0.0.1:4739/sctp > /dev/null 2> "$TMP/bad.err"
rc=$?
check "export_ipfix: unknown transport: exit 2, one line ($rc: $(head -1 "$TMP/bad.err"))" test $rc -eq 2 -a "$(wc -l < "$TMP/bad.err")" -eq 1
finish
