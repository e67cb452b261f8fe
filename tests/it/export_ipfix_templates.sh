#!/bin/bash
# IPFIX over UDP: templates sent again (RFC 7011, 8.4), so a collector
# that restarts, and so lost the templates, can decode records again
# without pktstat noticing anything. nfcapd runs on the loopback of a
# namespace made here; pktstat captures a flow of one frame every 50 ms
# for 16 s with a 1 s active timeout. After 3 s nfcapd is replaced by a
# fresh one writing elsewhere: records reach it at once, but it cannot
# decode them before the templates come again (10 s after pktstat sent
# them first). Checked: the first collector stored records; the second
# stored records too (only possible after a template refresh), the first
# of them ending at least 3 s after the restart (a record sent at once
# ends within 2 s of it: active timeout plus the once-a-second scan);
# packets stored by both are fewer than were sent (the gap is lost on
# UDP, nothing is stored twice).
. "$(dirname "$0")/lib.sh"
need_root
for t in nfcapd nfdump jq; do
	command -v $t > /dev/null || { not_ok "export_ipfix_templates: $t not installed (make deps)"; finish; exit 1; }
done
SEND=$B/tests/gen/sendframes
PORT=4739
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
"$GEN" many "$TMP/ll.pcap" "$TMP/ll.exp" 1 1
mkdir "$TMP/nf1" "$TMP/nf2"
at_exit_extra() {
	[ -n "${nfc:-}" ] && kill "$nfc" 2> /dev/null && wait "$nfc" 2> /dev/null
	true
}
collector() { # DIR
	ip netns exec "$NS_CAP" nfcapd -w "$1" -b 127.0.0.1 -p $PORT -t 3600 > "$1.log" 2>&1 &
	nfc=$!
	sleep 0.3
}
collector "$TMP/nf1"
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -1 -j -t 30s \
	--ipfix 127.0.0.1:$PORT --ipfix-active 1s > "$TMP/run.json" 2> "$TMP/run.err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture socket appeared"
ip netns exec "$NS_PEER" "$SEND" -n 320 -p 20 veth1 "$TMP/ll.pcap" > "$TMP/ll.out" &
spid=$!
sleep 3
kill "$nfc"; wait "$nfc"
t_restart=$(date +%s)
collector "$TMP/nf2"
wait $spid
sleep 1.5
kill -INT $pid
wait $pid
rc=$?
sleep 0.5
kill "$nfc"; wait "$nfc"; nfc=
check "export_ipfix_templates: pktstat exit 0 (got $rc)" test $rc -eq 0
sum() { nfdump -R "$1" -q -N -o 'fmt:%pkt|%fl' 2> /dev/null | awk -F'|' '{ p += $1; r += $2 } END { print p + 0, r + 0 }'; }
read -r p1 r1 < <(sum "$TMP/nf1")
read -r p2 r2 < <(sum "$TMP/nf2")
first2=$(nfdump -R "$TMP/nf2" -q -N -o 'fmt:%te' 2> /dev/null | sort | head -1)
first2_s=$(date -d "${first2% *} ${first2#* }" +%s 2> /dev/null || echo 0)
read -r _ sent _ < "$TMP/ll.out"
echo "# first collector: $r1 records, $p1 packets; second (from $((t_restart % 100))s): $r2 records, $p2 packets, first record ending $first2; sent $sent"
check "export_ipfix_templates: the first collector stored records ($r1)" test "$r1" -gt 0
check "export_ipfix_templates: the restarted collector decoded records after a template refresh ($r2)" test "$r2" -gt 0
check "export_ipfix_templates: its first record ends >= 3 s after the restart ($((first2_s - t_restart)) s)" test $((first2_s - t_restart)) -ge 3
check "export_ipfix_templates: stored packets $p1 + $p2 < $sent sent (the gap is lost, not doubled)" test $((p1 + p2)) -lt "$sent"
finish
