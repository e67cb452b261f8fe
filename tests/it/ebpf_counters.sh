#!/bin/bash
# Named counters (--count) on the ebpf backend, and its privilege drop,
# in network namespaces made here. Known frames (tests/gen/mkpcap's
# Ethernet scenario: TCP, UDP, ICMP, ICMPv6, ARP, 802.1Q VLAN 100, QinQ
# 200/300, LLDP) are sent three times from the peer while these count
# them at once on veth0:
#  - tcpdump, writing every frame (the oracle: `tcpdump -r` of its file
#    under each counter's expression, packets and wire bytes);
#  - pktstat on tpacket3, on ebpf (tc) and on ebpf with XDP, each with the
#    same counters, and ebpf (tc) with a capture filter too (counters see
#    what passed it: the oracle is "(FILTER) and (COUNTER)").
# Every counter of every run equals the oracle in packets and bytes.
# The ebpf runs start as root and drop to nobody (-Z's default) before
# their counters are loaded: the test reads the capturing process's
# credentials while it runs (uid nobody, no_new_privs, exactly CAP_BPF
# and CAP_NET_ADMIN effective and permitted, nothing else) and its counts
# come from drains made after the drop.
. "$(dirname "$0")/lib.sh"
need_root
SEND=$B/tests/gen/sendframes
PY=/usr/bin/python3
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }

ebpf_progs() { bpftool prog show 2> /dev/null | grep -cE ' name (fl_tc|fl_xdp|pktstat_counter) '; }
# wait until at least N more of our programs are loaded than BEFORE
wait_progs() { # wait_progs BEFORE N
	local i
	for i in $(seq 50); do
		[ "$(ebpf_progs)" -ge $(($1 + $2)) ] && { sleep 0.2; return 0; }
		sleep 0.1
	done
	return 1
}

"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
REPEAT=3
COUNTERS=(
	'udp=udp'
	'tcp443=tcp port 443'
	'icmp=icmp or icmp6'
	'v100=vlan 100'
	'vlan=vlan'
	'qinq=vlan 200 and vlan 300'
	'arp=arp'
	'big=len > 100'
	'ip6=ip6'
)
CARGS=()
for c in "${COUNTERS[@]}"; do CARGS+=(--count "$c"); done
FILTER='not arp'

before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" tcpdump -Z root -i veth0 -w "$TMP/all.pcap" -U > /dev/null 2> "$TMP/tcpdump.err" &
tpid=$!
wait_capture_ready "$NS_CAP" "$before"
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 60s -1 -j "${CARGS[@]}" > "$TMP/tp3.json" 2> "$TMP/tp3.err" &
p_tp3=$!
wait_capture_ready "$NS_CAP" "$before"
start_ebpf() { # start_ebpf NAME PROGRAMS ARGS...: pid in $pid
	local name=$1 n=$2 b
	shift 2
	b=$(ebpf_progs)
	ip netns exec "$NS_CAP" "$PKTSTAT" --backend ebpf --ebpf-flows 4096 -i veth0 -t 60s -1 -j "$@" > "$TMP/$name.json" 2> "$TMP/$name.err" &
	pid=$!
	wait_progs "$b" "$n" || not_ok "$name: BPF programs loaded"
}
start_ebpf tc 2 "${CARGS[@]}"
p_tc=$pid
start_ebpf xdp 2 --xdp=generic "${CARGS[@]}"
p_xdp=$pid
start_ebpf filtered 2 "${CARGS[@]}" "$FILTER"
p_f=$pid

# the privilege drop, read while the capture runs (as root, the
# capturing process is the child of the snapshot writer)
child=$(child_of $p_tc)
st=$(cat /proc/"$child"/status 2> /dev/null)
echo "# ebpf after the drop: $(echo "$st" | grep -E '^(Uid|CapEff|CapPrm|CapInh|CapBnd|NoNewPrivs):' | tr -s '\t ' ' ' | paste -sd';')"
check "-Z: the capturing process runs as nobody" sh -c "echo '$st' | grep -q '^Uid:[[:space:]]*65534[[:space:]]'"
check "-Z: no_new_privs" sh -c "echo '$st' | grep -q '^NoNewPrivs:[[:space:]]*1'"
# CAP_NET_ADMIN is bit 12, CAP_BPF bit 39: 0x8000001000, nothing more
check "-Z: effective capabilities exactly CAP_BPF and CAP_NET_ADMIN" sh -c "echo '$st' | grep -q '^CapEff:[[:space:]]*0000008000001000'"
check "-Z: permitted capabilities exactly CAP_BPF and CAP_NET_ADMIN" sh -c "echo '$st' | grep -q '^CapPrm:[[:space:]]*0000008000001000'"
check "-Z: no inheritable capabilities" sh -c "echo '$st' | grep -q '^CapInh:[[:space:]]*0000000000000000'"

# the traffic, after every drop
ip netns exec "$NS_PEER" "$SEND" -n $REPEAT -p 2000 veth1 "$TMP/eth.pcap" > /dev/null
sleep 0.5
for p in $p_tp3 $p_tc $p_xdp $p_f; do kill -INT $p; done
for p in $p_tp3 $p_tc $p_xdp $p_f; do
	wait $p
	check "exit status 0 ($p)" test $? -eq 0
done
sleep 0.3
kill -INT $tpid
wait $tpid

# tcpdump -r under EXPR: "PACKETS BYTES" (wire lengths)
oracle() {
	rm -f "$TMP/sub.pcap"
	tcpdump -r "$TMP/all.pcap" -w "$TMP/sub.pcap" "$1" 2> /dev/null || { echo "0 0"; return; }
	$PY - "$TMP/sub.pcap" << 'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
e = "<" if d[:4] == b"\xd4\xc3\xb2\xa1" else ">"
off, n, b = 24, 0, 0
while off + 16 <= len(d):
    _, _, incl, orig = struct.unpack(e + "IIII", d[off:off + 16])
    off += 16 + incl
    n += 1
    b += orig
print(n, b)
EOF
}
cnt() { jq -r ".counters[] | select(.name==\"$2\") | \"\(.packets) \(.bytes)\"" "$TMP/$1.json" 2> /dev/null; }
total=$(tcpdump -r "$TMP/all.pcap" 2> /dev/null | wc -l)
sent=$(($(sed -n 's/^total \([0-9]*\) .*/\1/p' "$TMP/eth.exp") * REPEAT))
check "tcpdump saw every frame sent ($total of $sent)" test "$total" -eq "$sent"
check "ebpf counted what tcpdump saw ($(jq .totals.packets "$TMP/tc.json") = $total)" test "$(jq .totals.packets "$TMP/tc.json")" = "$total"
for c in "${COUNTERS[@]}"; do
	name=${c%%=*}
	expr=${c#*=}
	exp=$(oracle "$expr")
	fexp=$(oracle "($FILTER) and ($expr)")
	check "counter $name ($expr): tpacket3 $(cnt tp3 "$name") = tcpdump $exp" test "$(cnt tp3 "$name")" = "$exp"
	check "counter $name: ebpf $(cnt tc "$name") = tcpdump" test "$(cnt tc "$name")" = "$exp"
	check "counter $name: ebpf XDP $(cnt xdp "$name") = tcpdump" test "$(cnt xdp "$name")" = "$exp"
	check "counter $name: ebpf under '$FILTER' $(cnt filtered "$name") = tcpdump's $fexp" test "$(cnt filtered "$name")" = "$fexp"
	[ "${exp%% *}" -gt 0 ] || not_ok "counter $name: the traffic has packets for it"
done
for r in tc xdp filtered; do
	check "$r: report says exact, no program errors" test "$(jq -r '"\(.exact) \(.capture.programErrors)"' "$TMP/$r.json")" = "true 0"
done
finish
