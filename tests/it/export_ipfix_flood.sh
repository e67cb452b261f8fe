#!/bin/bash
# IPFIX export under load: bench/blast floods veth0 of a namespace made
# here with 1,000,000 distinct flows of its "mix" (IPv4/IPv6 UDP, TCP,
# ICMP echo, 802.1Q), one frame each, as fast as the kernel takes them,
# while pktstat captures into a ring that holds the whole flood (-b 256),
# with --ipfix to nfcapd on the namespace's loopback and -k 1, so that
# flows leave the table (and their records the end hook) in bursts of
# hundreds of thousands. Then 100,000 flows again with a 256-record
# export queue (PKTSTAT_IPFIX_QUEUE, a testing hook) that must overflow:
# the flows' last records come from the table's end hook, which never
# waits. And 20,000 flows a third time through a 256-record queue, with
# -k 60 and --ipfix-idle 1s: their records now come from the once-a-second
# scan (idle timeout), which waits for room while the sender makes
# progress, so none may be dropped.
# Before stopping pktstat, the script waits (30 s at most) until /metrics
# shows every frame counted and a record sent or dropped for every flow.
# Checked each time: the capture exact (every frame blast sent reached
# veth0 and pktstat's totals = veth0's rx delta, no kernel drops); the
# records nfcapd stored = the records pktstat reports sent; the records
# stored plus the records pktstat reports dropped = every flow, and
# likewise packets (= pktstat's total) and octets (= pktstat's bytes - 14
# per frame); the small queue drops records and says so in the JSON
# report and in /metrics during the run. The wall time of each case is
# printed. FLOOD_IPFIX_FLOWS / FLOOD_IPFIX_PPS (0: unpaced) override.
. "$(dirname "$0")/lib.sh"
need_root
for t in nfcapd nfdump jq curl; do
	command -v $t > /dev/null || { not_ok "export_ipfix_flood: $t not installed (make deps)"; finish; exit 1; }
done
BLAST=$B/bench/blast
FLOWS=${FLOOD_IPFIX_FLOWS:-1000000}
PPS=${FLOOD_IPFIX_PPS:-0}
SMALL_FLOWS=100000
IDLE_FLOWS=20000
RING_MB=256 # ~140 B a frame in the ring: the whole flood, whatever the lag
PORT=4739
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
at_exit_extra() {
	[ -n "${nfc:-}" ] && kill "$nfc" 2> /dev/null && wait "$nfc" 2> /dev/null
	true
}
rxp() { ip netns exec "$NS_CAP" cat "/sys/class/net/veth0/statistics/rx_$1"; }

run_case() { # NAME FLOWS QUEUE PKTSTAT-OPTIONS...
	local name=$1 flows=$2 queue=$3 before pid rc t0
	shift 3
	t0=$(date +%s%N)
	rm -rf "$TMP/nf" && mkdir "$TMP/nf"
	ip netns exec "$NS_CAP" nfcapd -w "$TMP/nf" -b 127.0.0.1 -p $PORT \
		-t 3600 -B 8388608 > "$TMP/nfcapd.log" 2>&1 &
	nfc=$!
	local rx0 rb0
	rx0=$(rxp packets); rb0=$(rxp bytes)
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" env ${queue:+PKTSTAT_IPFIX_QUEUE=$queue} \
		"$PKTSTAT" -i veth0 -1 -j -b $RING_MB -t 60s "$@" \
		--ipfix 127.0.0.1:$PORT --metrics 127.0.0.1:9419 \
		> "$TMP/$name.json" 2> "$TMP/$name.err" &
	pid=$!
	wait_capture_ready "$NS_CAP" "$before" || not_ok "$name: capture socket appeared"
	ip netns exec "$NS_PEER" "$BLAST" -n "$flows" -f "$flows" -r "$PPS" \
		-m mix -t 60 veth1 > "$TMP/$name.blast"
	# every frame counted, and every flow's one record sent or dropped
	# (polled, 30 s at most)
	local i m n x
	for i in $(seq 120); do
		sleep 0.25
		m=$(ip netns exec "$NS_CAP" curl -s --max-time 2 http://127.0.0.1:9419/metrics)
		n=$(echo "$m" | awk '/^pktstat_packets_total\{/ { s += $2 } END { print s + 0 }')
		x=$(echo "$m" | awk '/^pktstat_ipfix_(dropped_)?records_total / { s += $2 } END { print s + 0 }')
		[ "$n" = "$flows" ] && [ "$x" = "$flows" ] && break
	done
	echo "$m" > "$TMP/$name.prom"
	kill -INT $pid
	wait $pid
	rc=$?
	sleep 0.5
	kill "$nfc"; wait "$nfc"; nfc=
	local rx=$(( $(rxp packets) - rx0 )) rb=$(( $(rxp bytes) - rb0 )) sent
	sed 's/^/# /' "$TMP/$name.err"
	sent=$(sed -n 's/^sent=\([0-9]*\) .*/\1/p' "$TMP/$name.blast")
	echo "# $name: blast $(cat "$TMP/$name.blast"); veth0 received $rx frames"
	check "$name: pktstat exit 0 (got $rc)" test $rc -eq 0
	local tp tb kd ex
	read -r tp tb kd ex < <(jq -r '[.totals.packets, .totals.bytes, .capture.kernelDrops, .exact] | @tsv' "$TMP/$name.json")
	check "$name: capture exact: $flows flows sent (${sent:-?}), veth0 rx $rx, pktstat $tp frames, $kd kernel drops, exact=$ex" \
		test "${sent:-x}" = "$flows" -a "$rx" = "$flows" -a "$tp" = "$rx" -a "$tb" = "$rb" -a "$kd" = 0 -a "$ex" = true
	local r p o sr dr dp do
	read -r r p o < <(nfdump -R "$TMP/nf" -q -N -o 'fmt:%pkt|%byt|%fl' | awk -F'|' '{ r += $3; p += $1; o += $2 } END { print r + 0, p + 0, o + 0 }')
	read -r sr dr dp do < <(jq -r '.ipfix | [.records, .droppedRecords, .droppedPackets, .droppedOctets] | @tsv' "$TMP/$name.json")
	echo "# $name: nfcapd stored $r records, $p packets, $o octets; pktstat dropped ${dr:-?} records, ${dp:-?} packets, ${do:-?} octets; $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	check "$name: the report's records sent = nfcapd's ($sr = $r)" test "$sr" = "$r"
	check "$name: collector records + dropped = every flow ($r + ${dr:-?} = $flows)" test $((r + ${dr:-0})) -eq "$flows" -a -n "$dr"
	check "$name: collector packets + dropped = pktstat's total ($p + ${dp:-?} = $tp)" test $((p + ${dp:-0})) -eq "$tp" -a -n "$dp"
	check "$name: collector octets + dropped = bytes - 14 x frames ($o + ${do:-?} = $((tb - 14 * tp)))" test $((o + ${do:-0})) -eq $((tb - 14 * tp)) -a -n "$do"
	DROPPED=${dr:-0}
	PROM_DROP=$(sed -n 's/^pktstat_ipfix_dropped_records_total \([0-9]*\)$/\1/p' "$TMP/$name.prom")
}

run_case flood-1m "$FLOWS" "" -k 1
run_case flood-queue-256 $SMALL_FLOWS 256 -k 1
check "flood-queue-256: the small queue dropped records ($DROPPED), counted" test "$DROPPED" -gt 0
check "flood-queue-256: /metrics showed drops during the run (${PROM_DROP:-none})" test "${PROM_DROP:-0}" -gt 0
run_case idle-queue-256 $IDLE_FLOWS 256 -k 60 --ipfix-idle 1s
check "idle-queue-256: the scanner waited for the sender: no record dropped ($DROPPED)" test "$DROPPED" = 0
finish
