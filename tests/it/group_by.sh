#!/bin/bash
# --group-by KEY: batch reports of groups. The oracle is the same file's
# flow report, regrouped by jq: every group's sent and received counts must
# equal the sums of its flows' directions, and the one-sided keys (port,
# proto, vlan) must add up to the totals exactly. No root, no network,
# but for the last part: --group-by interface on two veth links captured
# at once (as root, in namespaces made here), against tcpdump on each.
. "$(dirname "$0")/lib.sh"

"$GEN" eth "$TMP/t.pcap" "$TMP/exp.txt" || exit 1
"$PKTSTAT" -r "$TMP/t.pcap" -j > "$TMP/flows.json" || not_ok "flow report"

jqok() { jq -e "$@" > /dev/null; }
for key in host net port proto vlan; do
	"$PKTSTAT" -r "$TMP/t.pcap" -j --group-by "$key" > "$TMP/$key.json"
	check "--group-by $key: exit 0, groupBy says $key" jqok --arg k "$key" \
		'.groupBy == $k and (.groups | length) > 0' "$TMP/$key.json"
	check "--group-by $key: totals as in the flow report" test \
		"$(jq -c .totals "$TMP/$key.json")" = "$(jq -c .totals "$TMP/flows.json")"
	check "--group-by $key: sorted by bytes" jqok \
		'[.groups[].bytes] as $b | $b == ($b | sort | reverse)' "$TMP/$key.json"
done

# one-sided keys: every flow in exactly one group
for key in port proto vlan; do
	check "--group-by $key: groups add up to the total bytes" test \
		"$(jq '[.groups[].bytes] | add' "$TMP/$key.json")" = \
		"$(jq '[.flows[].size] | add' "$TMP/flows.json")"
done

# host: a host's sent bytes are the bytes of the directions it sent
hosts_oracle() {
	jq -r '[.flows[] | select(.proto != "other")] |
		(map({h: .srcIp, tx: .size, rx: 0}) + map({h: .dstIp, tx: 0, rx: .size})) |
		group_by(.h)[] | "\(.[0].h) \(map(.tx) | add) \(map(.rx) | add)"' "$1" | LC_ALL=C sort
}
hosts_oracle "$TMP/flows.json" > "$TMP/want.hosts"
jq -r '.groups[] | select(.group != "non-IP") | "\(.group) \(.txBytes) \(.rxBytes)"' \
	"$TMP/host.json" | LC_ALL=C sort > "$TMP/got.hosts"
if cmp -s "$TMP/want.hosts" "$TMP/got.hosts"; then
	ok "--group-by host: each host's sent/received bytes match its flows ($(wc -l < "$TMP/want.hosts") hosts)"
else
	not_ok "--group-by host: per-host bytes"; diff "$TMP/want.hosts" "$TMP/got.hosts" | head
fi

# net with a custom prefix: 10.0.0.1 and 10.0.0.2 share 10.0.0.0/8
"$PKTSTAT" -r "$TMP/t.pcap" -j --group-by net --group-prefix 8,32 > "$TMP/net8.json"
check "--group-prefix 8,32: an IPv4 /8 group" jqok \
	'[.groups[].group] | any(endswith(".0.0.0/8"))' "$TMP/net8.json"
check "--group-prefix 8,32: an IPv6 /32 group" jqok \
	'[.groups[].group] | any(endswith("::/32"))' "$TMP/net8.json"

# text and CSV say the same
"$PKTSTAT" -r "$TMP/t.pcap" --group-by proto > "$TMP/proto.txt"
check "text: one line per group" test "$(grep -c '^bitrate: .*, proto: ' "$TMP/proto.txt")" = \
	"$(jq '.groups | length' "$TMP/proto.json")"
check "text: the TCP group's bytes" grep -q \
	"bytes: $(jq '.groups[] | select(.group == "TCP") | .bytes' "$TMP/proto.json"), proto: TCP," "$TMP/proto.txt"

# bad values: exit 2 with one line naming the flag
for bad in "--group-by hosts" "--group-prefix 33" "--group-prefix 8,129"; do
	# shellcheck disable=SC2086
	"$PKTSTAT" -r "$TMP/t.pcap" $bad > /dev/null 2> "$TMP/err"
	st=$?
	check "$bad: exit 2, one line naming the flag" sh -c \
		"[ $st = 2 ] && head -1 '$TMP/err' | grep -q -- '${bad%% *}'"
done

# ---- --group-by interface: two interfaces captured at once -----------------
# A router namespace forwards UDP between two veth links: 30 datagrams
# cross both (one conversation, seen on each), 7 reach the router on the
# first link, 11 on the second. With -i veth0 -i veth2 each interface's
# group must hold exactly what tcpdump captured there, the forwarded
# conversation must be a flow on each interface, and with one -i nothing
# names an interface. tpacket3, the eBPF backend, and the monitor (in
# tmux: g after vlan groups by interface).
if [ "$(id -u)" -ne 0 ]; then
	echo "# SKIP --group-by interface on two interfaces: needs root (network namespaces)"
	finish
	exit
fi
R=grprtr$$ P1=grpa$$ P2=grpb$$
# shellcheck disable=SC2329 # lib_exit calls it
at_exit_extra() { for ns in $R $P1 $P2; do ip netns del "$ns" 2> /dev/null; done; }
for ns in $R $P1 $P2; do
	ip netns add "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip link add veth0 netns $R type veth peer name veth1 netns $P1
ip link add veth2 netns $R type veth peer name veth3 netns $P2
ip -n $R addr add 10.81.0.1/24 dev veth0
ip -n $R addr add 10.81.1.1/24 dev veth2
ip -n $P1 addr add 10.81.0.2/24 dev veth1
ip -n $P2 addr add 10.81.1.2/24 dev veth3
for l in "$R veth0" "$R veth2" "$P1 veth1" "$P2 veth3"; do
	# shellcheck disable=SC2086
	ip -n ${l% *} link set ${l#* } up
done
ip -n $P1 route add default via 10.81.0.1
ip -n $P2 route add default via 10.81.1.1
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
npk() { ip netns exec $R awk 'NR > 1 && $6 == 1' /proc/net/packet | wc -l; }
for i in 0 2; do
	# (immediate: a frame in a block not yet handed over is lost at
	# SIGINT)
	ip netns exec $R timeout 20 tcpdump -Z root -i veth$i --immediate-mode -U \
		-w "$TMP/if$i.pcap" udp 2> /dev/null &
done
before=$(npk)
# the eBPF run's TCX links (bpftool 7.1 calls them "type 11")
links() { bpftool link show 2> /dev/null | grep -cE '^[0-9]+: type (11|tcx) '; }
lbefore=$(links)
# each run until SIGINT (-t only bounds it): start-up times vary
ip netns exec $R "$PKTSTAT" -i veth0 -i veth2 -t 30s -1 -j --group-by interface \
	--snapshot "$TMP/ifc.snap.json" udp > "$TMP/ifc.json" 2> "$TMP/ifc.err" &
p_tp=$!
ip netns exec $R "$PKTSTAT" -i veth0 -t 30s -1 -j udp > "$TMP/one.json" 2> /dev/null &
p_one=$!
ip netns exec $R "$PKTSTAT" --backend ebpf -i veth0 -i veth2 -t 30s -1 -j \
	--group-by interface udp > "$TMP/ifc.ebpf.json" 2> "$TMP/ifc.ebpf.err" &
p_eb=$!
# the monitor, grouped by VLAN: g goes on to the interfaces
tmux_setup pktstat-ifc
T new-session -d -s ui -x 160 -y 30 "ip netns exec $R env TERM=xterm-256color LC_ALL=C \
	$PKTSTAT -i veth0 -i veth2 -n -w 0.5 --group-by vlan udp; sleep 30"
# 2 tcpdumps, 2 + 1 + 2 tpacket3 sockets bound; the eBPF run attached to
# both interfaces, ingress and egress
for i in $(seq 100); do
	[ "$(npk)" -ge $((before + 7)) ] && [ "$(links)" -ge $((lbefore + 4)) ] && break
	sleep 0.1
done
sleep 0.3
sendu() { # NS SRC DST DPORT COUNT
	ip netns exec "$1" timeout 10 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 41000))
for i in range(int(sys.argv[4])):
    s.sendto(bytes(64), (sys.argv[2], int(sys.argv[3])))' "${@:2}"
}
sendu $P1 10.81.0.2 10.81.1.2 7000 30
sendu $P1 10.81.0.2 10.81.0.1 7001 7
sendu $P2 10.81.1.2 10.81.1.1 7002 11
sleep 0.5
kill -INT $p_tp $p_one $p_eb %1 %2 2> /dev/null
wait $p_tp
check "-i veth0 -i veth2 --group-by interface: exit 0" test $? = 0
wait $p_eb
eb_rc=$?
wait %1 %2 $p_one 2> /dev/null
td0=$(tcpdump -r "$TMP/if0.pcap" 2> /dev/null | wc -l)
td2=$(tcpdump -r "$TMP/if2.pcap" 2> /dev/null | wc -l)
check "tcpdump: veth0 saw 37 datagrams ($td0), veth2 41 ($td2)" test "$td0 $td2" = "37 41"
grp() { jq --arg g "$2" '[.groups[] | select(.group == $g) | .packets] | add // 0' "$1"; }
check "group veth0 = tcpdump -i veth0 ($td0), veth2 = tcpdump -i veth2 ($td2)" \
	test "$(grp "$TMP/ifc.json" veth0) $(grp "$TMP/ifc.json" veth2)" = "$td0 $td2"
check "interface groups: two, adding up to the totals" jqok \
	'(.groups | length) == 2 and ([.groups[].packets] | add) == .totals.packets' "$TMP/ifc.json"
check "the forwarded conversation: a flow on each interface, 30 datagrams each" test \
	"$(jq -r '[.flows[] | select(.dst == "10.81.1.2:7000") | "\(.iface)=\(.packets)"] | sort | join(" ")' \
		"$TMP/ifc.snap.json")" = "veth0=30 veth2=30"
check "with two interfaces every flow names its interface" jqok \
	'(.flows | length) == 4 and all(.flows[]; .iface == "veth0" or .iface == "veth2")' \
	"$TMP/ifc.snap.json"
check "with one interface: no flow names one, totals as tcpdump's" jqok \
	--argjson n "$td0" 'all(.flows[]; has("iface") | not) and .totals.packets == $n' "$TMP/one.json"
check "eBPF backend: exit 0, group veth0 = $td0, veth2 = $td2" test \
	"$eb_rc $(grp "$TMP/ifc.ebpf.json" veth0) $(grp "$TMP/ifc.ebpf.json" veth2)" = "0 $td0 $td2"
# the monitor: g after vlan groups by interface, a row each, as tcpdump
T send-keys -t ui g
check "monitor: g after vlan: by interface, titled Interface" sh -c \
	"sleep 0.8; tmux -L $SOCK capture-pane -p -t ui | grep -q 'by interface' &&
	 tmux -L $SOCK capture-pane -p -t ui | grep -q '^Interface '"
# the Pkts column of row NAME (the title row says where it is)
pkts_of() {
	screen | awk -v n="$1" '$1 == "Interface" { for (i = 1; i <= NF; i++)
		if ($i == "Pkts") c = i } $1 == n && c { print $c; exit }'
}
check "monitor: interface rows veth0 $(pkts_of veth0) = $td0, veth2 $(pkts_of veth2) = $td2" \
	test "$(pkts_of veth0) $(pkts_of veth2)" = "$td0 $td2"
# back to flows (g past process and app): an Iface column tells the
# forwarded conversation's two rows apart, / finds one by interface name,
# Enter's detail view names it
for i in 1 2 3 4; do
	screen | grep -q '^Proto ' && break
	T send-keys -t ui g
	sleep 0.3
done
check "monitor: flows on two interfaces: Iface column, the conversation on veth0 and veth2" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -q '^Proto .* Iface' &&
	 [ \"\$(tmux -L $SOCK capture-pane -p -t ui | grep ':7000 ' | grep -oE 'veth[02]\$' | sort | tr '\n' ' ')\" = 'veth0 veth2 ' ]"
T send-keys -t ui / 'veth2 7000' Enter
check "monitor: find 'veth2 7000': the veth2 row only" sh -c \
	"sleep 0.5; [ \"\$(tmux -L $SOCK capture-pane -p -t ui | grep ':7000 ' | grep -oE 'veth[02]\$' | tr '\n' ' ')\" = 'veth2 ' ]"
T send-keys -t ui Enter
check "monitor: the detail view names the interface" wait_for '^UDP flow [0-9]* on veth2' 3
finish
