#!/bin/bash
# --ipfix against real collectors, end to end in every mode and over both
# transports. One namespace made here, one burst of traffic, four pktstat
# captures of veth0 at once, each exporting with a 2 s active timeout and
# -k 60 (every flow stays in the table, so the final snapshot or report
# lists them all):
#  - the full-screen monitor under tmux, to nfdump's nfcapd (UDP); quit
#    with q, its snapshot written as JSON;
#  - the daemon (-d), to a second nfcapd; stopped with SIGTERM, its
#    snapshot written as JSON;
#  - batch mode (-1 -j), to a third nfcapd;
#  - batch mode over TCP (/tcp) to python3-ipfix's collector (ipfix2csv
#    --collect tcp, an IPFIX implementation of its own, not libfixbuf;
#    nfcapd and pmacct's nfacctd take UDP only), which prints the IPv4
#    records' fields as CSV.
# The traffic: tests/gen/mkpcap's Ethernet mix three times (TCP, UDP,
# ICMP, ICMPv6, IPv6 extension headers, 802.1Q) and a UDP flow of 120
# frames over 6 s that the active timeout cuts into several records.
# Checked for each: per flow and direction, the collector's packets and
# bytes = the JSON snapshot's or report's (packets; bytes - 14 x packets:
# tpacket3 strips the 802.1Q tag), the long flow in >= 3 records; the
# records pktstat says it sent = what the collector stored, none dropped.
# Then IPv6 over TCP: pktstat -r of the mix, exported at the end to a
# second ipfix2csv printing the IPv6 fields (the tool prints the records
# holding every field asked for): its IPv6 flows = the report's (bytes
# less 14, and 4 more for a tagged frame: a file keeps the tag), and its
# records plus the report's IPv4 directions = the records sent. With no
# collector listening, the messages the kernel refuses are counted as
# dropped and nothing but pktstat's own line reaches stderr; a TCP
# collector that stops reading holds the exit at most ~10 s, and what it
# did not take is counted as dropped; a collector address that does not
# parse is a usage error.
. "$(dirname "$0")/lib.sh"
need_root
for t in nfcapd nfdump jq tmux ipfix2csv; do
	command -v $t > /dev/null || { not_ok "export_ipfix: $t not installed (make deps)"; finish; exit 1; }
done
SEND=$B/tests/gen/sendframes
P_UI=4739 P_D=4740 P_TCP=4741 P_TCP6=4742 P_B=4743
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
"$GEN" many "$TMP/ll.pcap" "$TMP/ll.exp" 1 1
mkdir "$TMP/nfm" "$TMP/nfd" "$TMP/nfb"
# the daemon's socket: in a directory its unprivileged process can reach
SD=$(mktemp -d /tmp/pktstat-ipfixd.XXXXXX)
chown nobody "$SD"
COLS4="protocolIdentifier sourceIPv4Address sourceTransportPort destinationIPv4Address destinationTransportPort packetDeltaCount octetDeltaCount"
COLS6="protocolIdentifier sourceIPv6Address sourceTransportPort destinationIPv6Address destinationTransportPort packetDeltaCount octetDeltaCount"
COLL=()
at_exit_extra() {
	local p
	for p in "${COLL[@]}" ${dpid:-} ${upid:-} ${bpid:-} ${stall:-}; do kill "$p" 2> /dev/null && wait "$p" 2> /dev/null; done
	rm -rf "$SD"
	true
}
nfcapd_on() { # PORT DIR
	ip netns exec "$NS_CAP" nfcapd -w "$2" -b 127.0.0.1 -p "$1" -t 3600 \
		-B 8388608 > "$2.log" 2>&1 &
	COLL+=($!)
}
ipfix2csv_on() { # PORT OUT COLUMNS...: unbuffered, so a kill loses no line
	local port=$1 out=$2
	shift 2
	ip netns exec "$NS_CAP" /usr/bin/python3 -u /usr/bin/ipfix2csv \
		--collect tcp --bind 127.0.0.1 --port "$port" "$@" > "$out" 2> "$out.log" &
	COLL+=($!)
}
listening() { # PORT: a TCP listener on the namespace's loopback, 5 s at most
	local i
	for i in $(seq 50); do
		ip netns exec "$NS_CAP" ss -Htln "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
nfcapd_on $P_UI "$TMP/nfm"
nfcapd_on $P_D "$TMP/nfd"
nfcapd_on $P_B "$TMP/nfb"
ipfix2csv_on $P_TCP "$TMP/tcp4.csv" $COLS4
ipfix2csv_on $P_TCP6 "$TMP/tcp6.csv" $COLS6
if listening $P_TCP && listening $P_TCP6; then
	ok "export_ipfix: ipfix2csv listens on TCP ports $P_TCP and $P_TCP6"
else
	not_ok "export_ipfix: ipfix2csv listens on TCP ports $P_TCP and $P_TCP6"
fi

EXP="--ipfix-active 2s -k 60"
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
tmux_setup export-ipfix
T new-session -d -s ui -x 120 -y 40 \
	"ip netns exec $NS_CAP env TERM=xterm-256color $PKTSTAT -i veth0 -q --snapshot $TMP/ui.json --ipfix 127.0.0.1:$P_UI $EXP 2> $TMP/ui.err; echo EXITED \$?; sleep 60"
ip netns exec "$NS_CAP" "$PKTSTAT" -d -i veth0 --socket "$SD/d.sock" \
	--snapshot "$TMP/d.json" --ipfix 127.0.0.1:$P_D $EXP 2> "$TMP/d.err" &
dpid=$!
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -1 -j -t 60s \
	--ipfix 127.0.0.1:$P_B $EXP > "$TMP/b.json" 2> "$TMP/b.err" &
upid=$!
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -1 -j -t 60s \
	--ipfix 127.0.0.1:$P_TCP/tcp $EXP > "$TMP/tcp.json" 2> "$TMP/tcp.err" &
bpid=$!
for i in $(seq 100); do # four capture sockets, 10 s at most
	n=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	[ "$n" -ge $((before + 4)) ] && break
	sleep 0.1
done
sleep 0.3
check "export_ipfix: monitor, daemon and two batch runs capture ($((n - before)) sockets)" test "$n" -ge $((before + 4))
ip netns exec "$NS_PEER" "$SEND" -n 120 -p 20 veth1 "$TMP/ll.pcap" > "$TMP/ll.out" &
llpid=$!
ip netns exec "$NS_PEER" "$SEND" -n 3 -p 2000 veth1 "$TMP/eth.pcap" > "$TMP/eth.out"
wait $llpid
read -r _ lls _ < "$TMP/ll.out"
sleep 0.5
check "export_ipfix: monitor on screen" wait_for 'veth0' 5
T send-keys -t ui q
check "export_ipfix: monitor quit, exit 0" wait_for 'EXITED 0' 20
kill -TERM $dpid
wait $dpid
rc=$?
dpid=
check "export_ipfix: daemon exit 0 on SIGTERM (got $rc)" test $rc -eq 0
kill -INT $upid $bpid
wait $upid
rc=$?
wait $bpid
rc2=$?
upid= bpid=
check "export_ipfix: batch exits 0 (got $rc, $rc2)" test $rc -eq 0 -a $rc2 -eq 0
for f in ui d b tcp; do sed "s/^/# $f: /" "$TMP/$f.err"; done

# per flow and direction, "proto src sport dst dport packets bytes"
# (ports only for TCP and UDP), from a JSON report; $2: jq filter on the
# rows; $3: link header bytes a frame carries beyond the IP packet
want() { # JSON FILTER HDR
	jq -r ".flows[] | select(.ipProto > 0 and .proto != \"ARP\" and .proto != \"other\") | select($2) |
		[.ipProto, .srcIp, (if .ipProto == 6 or .ipProto == 17 then .srcPort else 0 end),
		 .dstIp, (if .ipProto == 6 or .ipProto == 17 then .dstPort else 0 end),
		 .packets, .size - ($3) * .packets] | map(tostring) | join(\" \")" "$1" |
		LC_ALL=C sort
}
# the same from nfdump, and the records it holds per flow direction
nf_got() { # DIR
	nfdump -R "$1" -q -N -A proto,srcip,srcport,dstip,dstport \
		-o 'fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%fl' 2> /dev/null |
		awk -F'|' '{ for (i = 1; i <= NF; i++) gsub(/ /, "", $i)
			p = $1; sp = $3; dp = $5
			if (p != 6 && p != 17) { sp = 0; dp = 0 }
			print p, $2, sp, $4, dp, $6, $7, $8 }' | LC_ALL=C sort
}
# ipfix2csv's rows summed per flow direction, with their record count
csv_got() { # CSV
	awk -F, 'NR > 1 { gsub(/"/, ""); p = $1; sp = $3; dp = $5
			if (p != 6 && p != 17) { sp = 0; dp = 0 }
			k = p " " $2 " " sp " " $4 " " dp; n[k]++; pk[k] += $6; b[k] += $7 }
		END { for (k in n) print k, pk[k], b[k], n[k] }' "$1" | LC_ALL=C sort
}
LL='^17 10.0.0.1 1024 10.128.0.0 9 '
# same_flows NAME JSON SELECT HDR MIN GOT: per flow and direction, the
# collector's packets and bytes (GOT, as nf_got or csv_got print them) =
# the JSON report's rows that SELECT keeps (want), at least MIN directions
same_flows() {
	local name=$1 f=$TMP/${1//[^a-zA-Z0-9]/_} nw
	want "$2" "$3" "$4" > "$f.want"
	cut -d' ' -f1-7 "$6" > "$f.got"
	nw=$(wc -l < "$f.want")
	if [ "$nw" -ge "$5" ] && diff -u "$f.want" "$f.got" > "$f.diff"; then
		ok "export_ipfix: $name: the collector's records per flow and direction = the JSON report ($nw directions)"
	else
		not_ok "export_ipfix: $name: the collector's records per flow and direction = the JSON report ($nw directions, >= $5)"
		sed 's/^/# /' "$f.diff" | head -30
	fi
}
long_flow() { # NAME GOT: the long flow whole, cut by the active timeout
	local llr
	llr=$(grep "$LL" "$2" | cut -d' ' -f6,8)
	check "export_ipfix: $1: the long flow: ${llr% *} of $lls packets in ${llr#* } records (>= 3: active timeout)" \
		test "${llr% *}" = "$lls" -a "${llr#* }" -ge 3
}
compare() { # NAME JSON GOT: one nfcapd's store against its pktstat
	local name=$1 json=$2 got=$3 recs sent drop
	same_flows "$name" "$json" true 14 20 "$got"
	long_flow "$name" "$got"
	recs=$(awk '{ r += $8 } END { print r + 0 }' "$got")
	read -r sent drop < <(jq -r '.ipfix | [.records, .droppedRecords] | @tsv' "$json")
	check "export_ipfix: $name: records sent ${sent:-?} = stored $recs, dropped ${drop:-?}" \
		test "${sent:-x}" = "$recs" -a "${drop:-x}" = 0
}
# nfcapd writes its file when it stops
sleep 0.5
kill "${COLL[0]}" "${COLL[1]}" "${COLL[2]}"
wait "${COLL[0]}" "${COLL[1]}" "${COLL[2]}"
nf_got "$TMP/nfm" > "$TMP/monitor.nf"
nf_got "$TMP/nfd" > "$TMP/daemon.nf"
nf_got "$TMP/nfb" > "$TMP/batch.nf"
compare monitor "$TMP/ui.json" "$TMP/monitor.nf"
compare daemon "$TMP/d.json" "$TMP/daemon.nf"
compare batch "$TMP/b.json" "$TMP/batch.nf"

# TCP: the IPv4 records (the collector prints records holding every
# field asked for: the IPv4 template's)
csv_got "$TMP/tcp4.csv" > "$TMP/tcp4.csv.got"
same_flows "TCP (IPv4)" "$TMP/tcp.json" '.srcIp | test(":") | not' 14 10 "$TMP/tcp4.csv.got"
long_flow "TCP (IPv4)" "$TMP/tcp4.csv.got"
read -r tsent tdrop _ < <(jq -r '.ipfix | [.records, .droppedRecords, .collector] | @tsv' "$TMP/tcp.json")
check "export_ipfix: TCP: none dropped (${tdrop:-?}), collector named /tcp" \
	sh -c "test '${tdrop:-x}' = 0 && jq -e '.ipfix.collector | endswith(\"/tcp\")' '$TMP/tcp.json' > /dev/null"
# IPv6 over TCP: a file's flows, all exported at the end
ip netns exec "$NS_CAP" "$PKTSTAT" -r "$TMP/eth.pcap" -j \
	--ipfix 127.0.0.1:$P_TCP6/tcp > "$TMP/off.json" 2> "$TMP/off.err"
rc=$?
check "export_ipfix: TCP, -r: exit 0 (got $rc)" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$TMP/off.err" | head -5
sleep 0.5
csv_got "$TMP/tcp6.csv" > "$TMP/tcp6.csv.got"
same_flows "TCP, -r (IPv6)" "$TMP/off.json" '.srcIp | test(":")' '14 + (if .vlan > 0 then 4 else 0 end)' 4 "$TMP/tcp6.csv.got"
r6=$(($(wc -l < "$TMP/tcp6.csv") - 1))
n4=$(want "$TMP/off.json" '.srcIp | test(":") | not' 14 | wc -l)
read -r osent odrop < <(jq -r '.ipfix | [.records, .droppedRecords] | @tsv' "$TMP/off.json")
check "export_ipfix: TCP, -r: records sent ${osent:-?} = $r6 IPv6 stored + $n4 IPv4 directions, dropped ${odrop:-?}" \
	test "${osent:-x}" = $((r6 + n4)) -a "${odrop:-x}" = 0
# no collector: the kernel refuses the UDP messages (ICMP port
# unreachable): counted as dropped, and libfixbuf's warnings stay off the
# terminal (stderr holds only pktstat's one ipfix line)
ip netns exec "$NS_CAP" "$PKTSTAT" -r "$TMP/eth.pcap" -j --ipfix 127.0.0.1:4744 > "$TMP/nocoll.json" 2> "$TMP/nocoll.err"
rc=$?
read -r osent odrop < <(jq -r '.ipfix | [.records, .droppedRecords] | @tsv' "$TMP/nocoll.json")
check "export_ipfix: no collector: exit $rc, stderr one line ($(wc -l < "$TMP/nocoll.err")), $odrop records counted dropped, $osent sent" \
	test $rc -eq 0 -a "$(wc -l < "$TMP/nocoll.err")" -eq 1 -a "${odrop:-0}" -ge 1
# a TCP collector that accepts and never reads: the exit waits at most
# about 10 s for it, then counts what it did not take as dropped
"$GEN" many "$TMP/many.pcap" "$TMP/many.exp" 200000 200000
ip netns exec "$NS_CAP" /usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 4745)); s.listen(1)
c, _ = s.accept(); time.sleep(40)' &
stall=$!
sleep 0.5
t0=$(date +%s%N)
ip netns exec "$NS_CAP" "$PKTSTAT" -r "$TMP/many.pcap" -j --ipfix 127.0.0.1:4745/tcp > "$TMP/stall.json" 2> "$TMP/stall.err"
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
