#!/bin/bash
# `vlan` in live capture filters and --count counters counts what tcpdump
# counts. The kernel strips a received tag into the packet's metadata
# (tp_vlan_tci), so a filter compiled for the frame as it was on the wire
# (pcap_open_dead) never sees it: the capture filter must be compiled as
# libpcap does for a live handle (and run with that meaning where it runs
# in user space: after a filter swap, on -i any), and counters run on the
# frame with its tag put back. In a test namespace (with a VLAN
# sub-interface veth0.5 and QinQ ones, 802.1ad 10 with 802.1Q 20 inside,
# where the kernel has VLAN devices), known frames are sent on the peer:
# 3 on VLAN 5, 2 on VLAN 7, 2 QinQ 10/20, 4 untagged. Captured at once by
# tcpdump and by pktstat on both backends (and -i any), with and without
# -v, with filters `vlan 5`, `vlan`, `vlan 10 and vlan 20` and counters;
# and by the ebpf backend, in the kernel: tc, where the received tag is in
# the skb's metadata (the translated filter and counters read it as a
# packet socket's filter does), and XDP (generic), which sees the frame
# with its tag.
. "$(dirname "$0")/lib.sh"
need_root
SEND=$B/tests/gen/sendframes
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
# VLAN sub-interfaces where the kernel has 802.1Q support (not needed:
# receive-side tag stripping is in the core)
if ip -n "$NS_CAP" link add link veth0 name veth0.5 type vlan id 5 2> /dev/null; then
	ip -n "$NS_CAP" link add link veth0 name veth0.10 type vlan proto 802.1ad id 10
	ip -n "$NS_CAP" link add link veth0.10 name veth0.10.20 type vlan id 20
	for i in veth0.5 veth0.10 veth0.10.20; do ip -n "$NS_CAP" link set "$i" up; done
	echo "# sub-interfaces veth0.5, veth0.10 (802.1ad), veth0.10.20"
else
	echo "# this kernel has no VLAN devices: frames are captured on veth0 alone"
fi
# the frames, written by hand (Ethernet, tags, IPv4, UDP; checksums 0)
/usr/bin/python3 - "$TMP/vlan.pcap" << 'EOF' || { not_ok "frames written"; finish; exit 1; }
import struct, sys
def frame(tags, sport):
    payload = b"x" * 20
    udp = struct.pack("!HHHH", sport, 53, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])) + udp
    eth = bytes.fromhex("020000000099") + bytes.fromhex("020000000001")
    for tpid, vid in tags:
        eth += struct.pack("!HH", tpid, vid)
    return eth + struct.pack("!H", 0x0800) + ip
f = []
f += [frame([(0x8100, 5)], 1000 + i) for i in range(3)]
f += [frame([(0x8100, 7)], 2000 + i) for i in range(2)]
f += [frame([(0x88a8, 10), (0x8100, 20)], 3000 + i) for i in range(2)]
f += [frame([], 4000 + i) for i in range(4)]
with open(sys.argv[1], "wb") as out:
    out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(f):
        out.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
        out.write(fr)
EOF
pids=()
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ncap=0
td() { # td NAME FILTER: tcpdump on veth0 into NAME.pcap
	ip netns exec "$NS_CAP" tcpdump -i veth0 -n -U -w "$TMP/$1.pcap" "$2" 2> /dev/null &
	pids+=($!)
	ncap=$((ncap + 1))
}
pk() { # pk NAME ARGS...: pktstat -j on veth0 into NAME.json
	local n=$1
	shift
	ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -j -t 60s "$@" > "$TMP/$n.json" 2> "$TMP/$n.err" &
	pids+=($!)
	ncap=$((ncap + 1))
}
td td5 'vlan 5'
td tdv 'vlan'
td tdq 'vlan 10 and vlan 20'
for be in tpacket3 pcap; do
	pk "$be-5" --backend $be 'vlan 5'
	pk "$be-v" --backend $be 'vlan'
	pk "$be-q" --backend $be 'vlan 10 and vlan 20'
	pk "$be-5v" --backend $be -v 'vlan 5'
	pk "$be-c" --backend $be --count 'v5=vlan 5' --count 'v=vlan' --count 'q=vlan 10 and vlan 20'
done
# ebpf: programs, no packet socket to wait for (small maps: eight runs)
eb() { # eb NAME ARGS...: pktstat --backend ebpf -j on veth0 into NAME.json
	local n=$1
	shift
	ip netns exec "$NS_CAP" "$PKTSTAT" --backend ebpf --ebpf-flows 4096 -i veth0 -j -t 60s "$@" > "$TMP/$n.json" 2> "$TMP/$n.err" &
	pids+=($!)
}
progs() { bpftool prog show 2> /dev/null | grep -cE " name $1 "; }
tc0=$(progs fl_tc)
xdp0=$(progs fl_xdp)
eb ebpf-tc-5 'vlan 5'
eb ebpf-tc-v 'vlan'
eb ebpf-tc-q 'vlan 10 and vlan 20'
eb ebpf-tc-c --count 'v5=vlan 5' --count 'v=vlan' --count 'q=vlan 10 and vlan 20'
# one XDP program per device: the filter and the counters in one run
eb ebpf-xdp --xdp=generic --count 'v5=vlan 5' --count 'v=vlan' --count 'q=vlan 10 and vlan 20' 'vlan'
# "any": no kernel filter, the program runs in user space only
any() { # any NAME ARGS...: pktstat -i any
	local n=$1
	shift
	ip netns exec "$NS_CAP" "$PKTSTAT" -i any -j -t 60s "$@" > "$TMP/$n.json" 2> "$TMP/$n.err" &
	pids+=($!)
	ncap=$((ncap + 1))
}
any any-5 'vlan 5'
any any-q 'vlan 10 and vlan 20'
# every capture's socket open (tcpdump: one each; pktstat: at least one)
for i in $(seq 100); do
	[ $(( $(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l) - before )) -ge $ncap ] && break
	sleep 0.1
done
for i in $(seq 100); do
	[ "$(progs fl_tc)" -ge $((tc0 + 4)) ] && [ "$(progs fl_xdp)" -ge $((xdp0 + 1)) ] && break
	sleep 0.1
done
sleep 1
ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/vlan.pcap" > "$TMP/send.out"
sleep 1
for p in "${pids[@]}"; do kill -INT "$p" 2> /dev/null; done
for p in "${pids[@]}"; do wait "$p"; done
echo "# sent: $(cat "$TMP/send.out")"
tdcount() { tcpdump -r "$TMP/$1.pcap" -n 2> /dev/null | wc -l; }
pkts() { jq .totals.packets "$TMP/$1.json" 2> /dev/null; }
cnt() { jq ".counters[] | select(.name==\"$2\") | .packets" "$TMP/$1.json" 2> /dev/null; }
t5=$(tdcount td5); tv=$(tdcount tdv); tq=$(tdcount tdq)
echo "# tcpdump: vlan 5: $t5, vlan: $tv, vlan 10 and vlan 20: $tq"
check "tcpdump sees the 3 frames of VLAN 5 ($t5), 7 tagged ($tv), 2 QinQ 10/20 ($tq)" test "$t5" = 3 -a "$tv" = 7 -a "$tq" = 2
for be in tpacket3 pcap; do
	echo "# $be: vlan 5: $(pkts "$be-5"), vlan: $(pkts "$be-v"), vlan 10 and vlan 20: $(pkts "$be-q"), -v vlan 5: $(pkts "$be-5v"); counters v5 $(cnt "$be-c" v5), v $(cnt "$be-c" v), q $(cnt "$be-c" q) of $(pkts "$be-c")"
	check "$be: 'vlan 5' counts what tcpdump counts ($(pkts "$be-5") = $t5)" test "$(pkts "$be-5")" = "$t5"
	check "$be: 'vlan' counts what tcpdump counts ($(pkts "$be-v") = $tv)" test "$(pkts "$be-v")" = "$tv"
	check "$be: 'vlan 10 and vlan 20' counts what tcpdump counts ($(pkts "$be-q") = $tq)" test "$(pkts "$be-q")" = "$tq"
	check "$be: -v 'vlan 5' counts what tcpdump counts ($(pkts "$be-5v") = $t5)" test "$(pkts "$be-5v")" = "$t5"
	check "$be: --count v5=vlan 5 ($(cnt "$be-c" v5) = $t5)" test "$(cnt "$be-c" v5)" = "$t5"
	check "$be: --count v=vlan ($(cnt "$be-c" v) = $tv)" test "$(cnt "$be-c" v)" = "$tv"
	check "$be: --count q=vlan 10 and vlan 20 ($(cnt "$be-c" q) = $tq)" test "$(cnt "$be-c" q)" = "$tq"
	check "$be: every frame captured without a filter ($(pkts "$be-c") = 11)" test "$(pkts "$be-c")" = 11
done
be=ebpf-tc
echo "# $be: vlan 5: $(pkts "$be-5"), vlan: $(pkts "$be-v"), vlan 10 and vlan 20: $(pkts "$be-q"); counters v5 $(cnt "$be-c" v5), v $(cnt "$be-c" v), q $(cnt "$be-c" q) of $(pkts "$be-c")"
check "$be: 'vlan 5' counts what tcpdump counts ($(pkts "$be-5") = $t5)" test "$(pkts "$be-5")" = "$t5"
check "$be: 'vlan' counts what tcpdump counts ($(pkts "$be-v") = $tv)" test "$(pkts "$be-v")" = "$tv"
check "$be: 'vlan 10 and vlan 20' counts what tcpdump counts ($(pkts "$be-q") = $tq)" test "$(pkts "$be-q")" = "$tq"
check "$be: --count v5=vlan 5 ($(cnt "$be-c" v5) = $t5)" test "$(cnt "$be-c" v5)" = "$t5"
check "$be: --count v=vlan ($(cnt "$be-c" v) = $tv)" test "$(cnt "$be-c" v)" = "$tv"
check "$be: --count q=vlan 10 and vlan 20 ($(cnt "$be-c" q) = $tq)" test "$(cnt "$be-c" q)" = "$tq"
check "$be: every frame counted without a filter ($(pkts "$be-c") = 11)" test "$(pkts "$be-c")" = 11
be=ebpf-xdp
echo "# $be (generic): vlan: $(pkts "$be"); counters v5 $(cnt "$be" v5), v $(cnt "$be" v), q $(cnt "$be" q)"
check "$be: 'vlan' counts what tcpdump counts ($(pkts "$be") = $tv)" test "$(pkts "$be")" = "$tv"
check "$be: --count v5=vlan 5 under it ($(cnt "$be" v5) = $t5)" test "$(cnt "$be" v5)" = "$t5"
check "$be: --count v=vlan under it ($(cnt "$be" v) = $tv)" test "$(cnt "$be" v)" = "$tv"
check "$be: --count q=vlan 10 and vlan 20 under it ($(cnt "$be" q) = $tq)" test "$(cnt "$be" q)" = "$tq"
echo "# -i any: vlan 5: $(pkts any-5), vlan 10 and vlan 20: $(pkts any-q)"
check "-i any: 'vlan 5' counts what tcpdump counts on veth0 ($(pkts any-5) = $t5)" test "$(pkts any-5)" = "$t5"
check "-i any: 'vlan 10 and vlan 20' ($(pkts any-q) = $tq)" test "$(pkts any-q)" = "$tq"
finish
