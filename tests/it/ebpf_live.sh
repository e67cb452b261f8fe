#!/bin/bash
# --backend ebpf end to end, in network namespaces made here.
#  - Known frames (tests/gen/mkpcap's Ethernet scenario: TCP, UDP, ICMP,
#    ICMPv6, ARP, 802.1Q and QinQ, IPv6 extension headers, fragments,
#    other ethertypes) sent from the peer: counted in the kernel, per flow
#    and per protocol, exactly what the generator wrote, and the total
#    equals tcpdump's; with a filter, equal to tcpdump's capture under the
#    same filter; the same through XDP (generic). IP fragments (mkpcap
#    frag) in their first fragment's flow, as pktstat files tcpdump's
#    capture of them.
#    (Real sockets, GRO and VLAN devices: ebpf_sockets.sh.)
#  - The filter replaced about a thousand times while 30,000 UDP frames
#    pass, between two expressions that both accept them all: every frame
#    counted exactly once (none under both filters or neither).
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

# settled FILE: FILE's size unchanged for 0.5 s (5 s at most)
settled() {
	local i last=-1 size same=0
	for i in $(seq 50); do
		size=$(stat -c %s "$1" 2> /dev/null || echo 0)
		if [ "$size" = "$last" ]; then
			same=$((same + 1))
			[ $same -ge 5 ] && return 0
		else
			same=0
		fi
		last=$size
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
	ip netns exec "$NS_CAP" tcpdump -Z root -i veth0 --immediate-mode -w "$TMP/$name.tcpdump.pcap" -U "$@" > /dev/null 2> "$TMP/$name.tcpdump.err" &
	local tpid=$!
	wait_capture_ready "$NS_CAP" "$before"
	before=$(ebpf_progs)
	ip netns exec "$NS_CAP" "$PKTSTAT" --backend ebpf -i veth0 -t 60s -1 -j "${ARGS[@]}" "$@" > "$TMP/$name.json" 2> "$TMP/$name.err" &
	local pid=$!
	wait_ebpf_ready "$before" || not_ok "$name: BPF programs loaded"
	ip netns exec "$NS_PEER" "$SEND" -n $REPEAT -p 2000 veth1 "${FRAMES:-$TMP/eth.pcap}" > /dev/null
	# stopped once the frames are through: tcpdump's tap sees each frame
	# just before the tc program (XDP runs before both), so when its
	# file has stopped growing the kernel has counted them all
	settled "$TMP/$name.tcpdump.pcap"
	kill -INT $pid
	wait $pid
	check "$name: exit status 0" test $? -eq 0
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
# IP fragments (mkpcap frag: ICMP, ICMPv6 and UDP datagrams in fragments,
# one identification used by two protocols, last fragment first): later
# fragments in their first fragment's flow, as pktstat's own fragment
# table files them from tcpdump's capture of the same frames
"$GEN" frag "$TMP/frag.pcap" "$TMP/frag.exp"
FRAMES=$TMP/frag.pcap
ARGS=()
frames_case tc-fragments tcpdump
check "fragments: no ICMP type-0 or port-0 flow" test "$(jq '[.flows[] | select(((.proto == "ICMPv4" or .proto == "ICMPv6") and .icmpType == 0) or ((.proto == "TCP" or .proto == "UDP") and (.srcPort == 0 or .dstPort == 0)))] | length' "$TMP/tc-fragments.json")" = 0
ARGS=(--xdp=generic)
frames_case xdp-fragments tcpdump
FRAMES=

# ---- a flow map far too small: totals exact, overflow reported ----
# (pktstat is stopped while the frames arrive: the programs keep counting
# into 64 slots that no drain empties, as when the loader falls behind;
# running, it is woken at half full and may keep up with the sender)
"$GEN" many "$TMP/many.pcap" "$TMP/many.exp" 3000 3000
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" tcpdump -Z root -i veth0 --immediate-mode -w "$TMP/small.tcpdump.pcap" -U > /dev/null 2>&1 &
tpid=$!
wait_capture_ready "$NS_CAP" "$before"
before=$(ebpf_progs)
ip netns exec "$NS_CAP" "$PKTSTAT" --backend ebpf --ebpf-flows 64 -i veth0 -t 60s -1 -j > "$TMP/small.json" 2> "$TMP/small.err" &
pid=$!
wait_ebpf_ready "$before" || not_ok "small map: BPF programs loaded"
# (ip netns exec may run pktstat as its child)
stopped=$(pgrep -P $pid -x pktstat || echo $pid)
kill -STOP $stopped
ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/many.pcap" > /dev/null
settled "$TMP/small.tcpdump.pcap"
kill -CONT $stopped
kill -INT $pid
wait $pid
check "small map: exit status 0" test $? -eq 0
kill -INT $tpid; wait $tpid
exp=$(sed -n 's/^total //p' "$TMP/many.exp")
got=$(jq -r '"\(.totals.packets) \(.totals.bytes)"' "$TMP/small.json")
check "small map: totals exact ($got, expected $exp)" test "$got" = "$exp"
check "small map: overflow reported ($(jq .flowTable.overflowPackets "$TMP/small.json") packets, map full $(jq .capture.mapFull "$TMP/small.json"))" \
	test "$(jq '.flowTable.overflowPackets > 0 and .capture.mapFull == .flowTable.overflowPackets' "$TMP/small.json")" = true
check "small map: live + expired + overflow = totals" \
	test "$(jq '([.flows[].packets] | add) + .flowTable.expiredPackets + .flowTable.overflowPackets == .totals.packets' "$TMP/small.json")" = true
check "small map: report says exact" test "$(jq .exact "$TMP/small.json")" = true
check "small map: text loss line names the map" sh -c "ip netns exec '$NS_CAP' '$PKTSTAT' --backend ebpf -i veth0 -t 1s | grep -q 'map full (counted as overflow): 0, program errors: 0, counts are exact'"

# ---- kill -9 mid-run: nothing of pktstat stays attached or loaded ----
before=$(ebpf_progs)
links_before=$(bpftool link show 2> /dev/null | grep -c '^[0-9]')
ip netns exec "$NS_CAP" "$PKTSTAT" --backend ebpf -i veth0 -t 60s -1 -j udp > /dev/null 2>&1 &
pid=$!
disown $pid
wait_ebpf_ready "$before" || not_ok "kill -9: BPF programs loaded"
check "kill -9: programs and links there while it runs" \
	test "$(ebpf_progs)" -gt "$before" -a "$(bpftool link show 2> /dev/null | grep -c '^[0-9]')" -gt "$links_before"
child=$(pgrep -P $pid | head -1)
kill -9 ${child:-$pid} $pid 2> /dev/null
for i in $(seq 40); do
	[ "$(ebpf_progs)" -le "$before" ] && break
	sleep 0.1
done
check "kill -9: bpftool prog shows no pktstat program" test "$(ebpf_progs)" -le "$before"
check "kill -9: bpftool link shows no pktstat link" test "$(bpftool link show 2> /dev/null | grep -c '^[0-9]')" -le "$links_before"
check "kill -9: bpftool net show lists nothing on veth0" sh -c "! ip netns exec '$NS_CAP' bpftool net show dev veth0 | grep -q '[0-9]'"

# ---- a filter that cannot run in the kernel: one line, no run ----
big=$(seq 1 2300 | sed 's/^/len = /' | paste -sd'|' | sed 's/|/ or /g')
ip netns exec "$NS_CAP" "$PKTSTAT" --backend ebpf -i veth0 -t 5s -1 "$big" > "$TMP/big.out" 2> "$TMP/big.err"
rc=$?
check "untranslatable filter: exit 1" test $rc -eq 1
check "untranslatable filter: one line saying why ($(cut -c1-90 "$TMP/big.err"))" \
	sh -c "test \$(wc -l < '$TMP/big.err') -eq 1 && grep -q 'cannot run in the kernel' '$TMP/big.err'"
check "untranslatable filter: no report" test ! -s "$TMP/big.out"

# ---- filter swaps under traffic: each frame counted exactly once ----
"$GEN" many "$TMP/udp.pcap" "$TMP/udp.exp" 100 30000
ip netns exec "$NS_CAP" "$B/tests/stress/ebpfswap" veth0 3 > "$TMP/swap.out" 2> "$TMP/swap.err" &
pid=$!
for i in $(seq 50); do grep -q ready "$TMP/swap.out" && break; sleep 0.1; done
ip netns exec "$NS_PEER" "$SEND" -p 20000 veth1 "$TMP/udp.pcap" > /dev/null
wait $pid
check "swaps: ran ($(tail -1 "$TMP/swap.out"; cat "$TMP/swap.err"))" test $? -eq 0
exp=$(sed -n 's/^proto UDP //p' "$TMP/udp.exp")
got=$(sed -n 's/^udp \([0-9]* [0-9]*\) swaps.*/\1/p' "$TMP/swap.out")
swaps=$(sed -n 's/.* swaps //p' "$TMP/swap.out")
check "swaps: every UDP frame counted once ($got, sent $exp) across $swaps filter swaps" test "$got" = "$exp"
check "swaps: at least 100 swaps during the traffic" test "${swaps:-0}" -ge 100

# ---- a flow heavier than a kernel slot holds goes on in another slot ----
# 2100 GSO aggregates of 65535 segments: more packets than FL_PKTS_MAX
out=$("$B/tests/gen/ebpfheavy" 2100 2>&1)
kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<< "$out"; }
check "heavy flow: counted in more than one slot ($out)" test "$(kv slots)" -ge 2
check "heavy flow: every packet and byte in its flow, none in overflow" \
	test "$(kv pkts)/$(kv bytes)/$(kv overflow)" = "$(kv want_pkts)/$(kv want_bytes)/0"

# ---- the programs wake the loader when a generation is half full ----
# one frame each of new flows into a 1024-slot generation: the 512th
# claim, and only it, writes the generation's number to the wake ring
out=$("$B/tests/gen/ebpfheavy" -w 2>&1)
check "wake-up: once, at the claim that half fills the generation ($out)" \
	test "$(kv before)/$(kv at)/$(kv after)/$(kv gen)" = "0/1/0/0"
finish
