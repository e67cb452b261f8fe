# Shared helpers for the integration scripts (sourced, not run).
# PKTSTAT: binary under test; B: build directory.
B=${B:-build/release}
PKTSTAT=${PKTSTAT:-$B/pktstat}
GEN=${GEN:-$B/tests/gen/mkpcap}
TMP=$(mktemp -d /tmp/pktstat-it.XXXXXX)
chmod 700 "$TMP"
# Snapshots a test does not name go to its own temp dir, not the home of
# whoever runs the tests (snapname.h's default directory)
export XDG_STATE_HOME=$TMP/state
FAILS=0
PASSES=0
cleanup_tmp() { rm -rf "$TMP"; }
# One exit trap for everything a script set up (the tmux server, the
# namespaces, the temp dir): setup functions never replace it. A script
# with more to clean defines at_exit_extra.
lib_exit() {
	[ -n "${SOCK:-}" ] && tmux_teardown
	netns_teardown
	declare -F at_exit_extra > /dev/null && at_exit_extra
	cleanup_tmp
}
trap lib_exit EXIT

# Memory budgets hold for the release build; an ASan build carries shadow
# memory and quarantine, so its budget is scaled (the figure is printed).
ASAN_RSS_FACTOR=1
if nm -D "$PKTSTAT" 2>/dev/null | grep -q __asan_init ||
	nm "$PKTSTAT" 2>/dev/null | grep -q __asan_init; then
	ASAN_RSS_FACTOR=3
fi
ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
finish() {
	echo "# $(basename "$0"): $PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if [ -n "${CI:-}" ]; then
			echo "not ok - $(basename "$0") needs root and CI runs as root"; exit 1
		fi
		echo "# SKIP $(basename "$0"): needs root (network namespaces); run make test as root, or with sudo"
		exit 0
	fi
}
# The capture corpus (STYLE.md) lives beside the CI checkout only: a fresh
# clone elsewhere skips the scripts that replay it, with one line; CI fails.
CORPUS=${PKTSTAT_CORPUS:-../shared/pcaps/tcpdump-tests}
need_corpus() {
	[ -d "$CORPUS" ] && return 0
	if [ -n "${CI:-}" ]; then
		echo "not ok - $(basename "$0") needs the corpus $CORPUS and CI has it"; exit 1
	fi
	echo "# SKIP $(basename "$0"): no capture corpus at $CORPUS (set PKTSTAT_CORPUS)"
	exit 0
}
# canonical lines from pktstat -j output (see tests/gen/mkpcap.c)
json_canon() {
	jq -r '(.flows[] | "flow \(.proto) \(.src) \(.dst) \(.packets) \(.size)"),
	       (.protocols | to_entries[] | "proto \(.key) \(.value.packets) \(.value.bytes)"),
	       "total \(.totals.packets) \(.totals.bytes)"' | LC_ALL=C sort
}
# the same from the text report (an ICMP row's ", type: echo" left out)
text_canon() {
	{
		sed -n 's/^bitrate: [^,]*, packets: \([0-9]*\), bytes: \([0-9]*\), proto: \([^,]*\), src: \([^,]*\), dst: \([^,]*\)\(, type: .*\)\{0,1\}$/flow \3 \4 \5 \1 \2/p'
	} < "$1"
	sed -n 's/^  \([A-Za-z0-9]*\) *packets: \([0-9]*\), bytes: \([0-9]*\),.*/proto \1 \2 \3/p' < "$1"
	sed -n 's/^Read total packets: \([0-9]*\), total bytes: \([0-9]*\) in.*/total \1 \2/p' < "$1"
}

# Two namespaces joined by a veth pair: NS_CAP (veth0, where pktstat
# captures) and NS_PEER (veth1, where traffic is sent). IPv6 is disabled on
# both ends so the kernel sends nothing of its own (no DAD, no MLD): the
# only frames on the link are the test's. Removed on exit.
netns_setup() {
	NS_CAP=pktcap$$
	NS_PEER=pktpeer$$
	ip netns add "$NS_CAP" || return 1
	ip netns add "$NS_PEER" || return 1
	ip link add veth0 netns "$NS_CAP" type veth peer name veth1 netns "$NS_PEER" || return 1
	for ns in "$NS_CAP" "$NS_PEER"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
	ip -n "$NS_CAP" link set veth0 up
	ip -n "$NS_PEER" link set veth1 up
	ip -n "$NS_CAP" link set lo up
	ip -n "$NS_PEER" link set lo up
}
netns_teardown() {
	[ -n "${NS_CAP:-}" ] && ip netns del "$NS_CAP" 2>/dev/null
	[ -n "${NS_PEER:-}" ] && ip netns del "$NS_PEER" 2>/dev/null
	true
}
# child_of PID: the first child of PID (as root, pktstat's capturing
# process is the child of its privileged snapshot writer), polled for at
# most 2.5 s; fails if none appears
child_of() {
	local i c
	for i in $(seq 50); do
		c=$(pgrep -P "$1" | head -1)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.05
	done
	return 1
}
no_tmp_in() { # no_tmp_in DIR: no snapshot temporary file left in DIR
	local f
	for f in "$1"/.* "$1"/*; do
		case ${f##*/} in *.tmp.*) return 1 ;; esac
	done
	return 0
}
# wait until pktstat (pid $1) has its capture socket open: poll for it in
# /proc/net/packet of the namespace, at most 5 s
wait_capture_ready() {
	local ns=$1 before=$2 i
	for i in $(seq 50); do
		n=$(ip netns exec "$ns" cat /proc/net/packet | wc -l)
		[ "$n" -gt "$before" ] && break
		sleep 0.1
	done
	[ "$n" -gt "$before" ] || return 1
	# a socket is listed from its creation; it sees frames once bound
	# (column R): a large ring takes a while to allocate before that
	for i in $(seq 100); do
		ip netns exec "$ns" awk 'NR > 1 && $6 != 1 { u++ } END { exit u > 0 }' \
			/proc/net/packet && break
		sleep 0.05
	done
	sleep 0.2
	return 0
}

# tmux driving for the UI scripts: a private server per script (SOCK),
# one session "ui"; removed with the namespaces and the temp dir on exit.
tmux_setup() { # tmux_setup NAME
	SOCK=$1-$$
}
tmux_teardown() { # the private server and its socket file
	T kill-server 2> /dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
}
T() { tmux -L "$SOCK" "$@"; }
screen() { T capture-pane -p -t ui; }
wait_for() { # wait_for REGEX [seconds]: poll the screen; dump it on failure
	local i
	for i in $(seq $((${2:-10} * 20))); do
		screen | grep -q -- "$1" && return 0
		sleep 0.05
	done
	screen | sed 's/^/# | /'
	return 1
}

# Per-direction IP flows of a capture counted by tshark, independently of
# pktstat's decoder: "flow PROTO SRC DST PACKETS BYTES" lines, sorted, as
# json_ip_flows prints pktstat's. Reassembly off: every frame counts, and
# every fragment of a datagram (IPv4: source, destination, protocol and
# ip.id; IPv6: source, destination and the fragment header's
# identification) goes to the ports of its first fragment, when that came
# before it; a later fragment whose first fragment did not is counted
# under the bare addresses, proto IPv4 or IPv6 (pktstat's "fragments, flow
# unknown" row).
tshark_flows() { # tshark_flows PCAP
	tshark -r "$1" -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
		-T fields -E separator='|' -E occurrence=f \
		-e frame.len -e frame.protocols -e ip.src -e ip.dst -e ip.proto \
		-e ip.id -e ip.frag_offset -e ip.flags.mf -e ipv6.src -e ipv6.dst \
		-e ipv6.fraghdr.ident -e ipv6.fraghdr.offset -e tcp.srcport \
		-e tcp.dstport -e udp.srcport -e udp.dstport 2> /dev/null |
	awk -F'|' '
	{
		len = $1; n = split($2, pr, ":"); v6 = 0; l4 = ""
		for (i = 1; i <= n; i++) if (pr[i] == "ip" || pr[i] == "ipv6") break
		if (i > n) next
		v6 = pr[i] == "ipv6"
		for (i++; i <= n && pr[i] ~ /^ipv6\./; i++) ;
		if (i <= n) l4 = pr[i]
		if (v6) { s = $9; d = $10; frag = $11 != ""; later = frag && $12 != "0"; key = s "|" d "|" $11 }
		else { s = $3; d = $4; frag = $7 != "0" || $8 == "1"; later = $7 != "0"; key = s "|" d "|" $5 "|" $6 }
		if (later) {
			lab = (key in first) ? first[key] : (v6 ? "IPv6 " s " " d : "IPv4 " s " " d)
		} else {
			if (l4 == "tcp" || l4 == "udp") {
				sp = l4 == "tcp" ? $13 : $15; dp = l4 == "tcp" ? $14 : $16
				if (v6) lab = toupper(l4) " [" s "]:" sp " [" d "]:" dp
				else lab = toupper(l4) " " s ":" sp " " d ":" dp
			} else if (l4 == "icmp") lab = "ICMPv4 " s " " d
			else if (l4 == "icmpv6") lab = "ICMPv6 " s " " d
			else lab = (v6 ? "IPv6 " : "IPv4 ") s " " d
			if (frag) first[key] = lab
		}
		p[lab]++; b[lab] += len
	}
	END { for (k in p) print "flow " k, p[k], b[k] }' | LC_ALL=C sort
}
# pktstat -j's IP flows as tshark_flows prints them (rows with the same
# text, say two ICMP types between two hosts, summed)
json_ip_flows() {
	jq -r '.flows[] | select(.proto != "ARP" and .proto != "other") |
	       "\(.proto) \(.src) \(.dst)\t\(.packets)\t\(.size)"' |
	awk -F'\t' '{ p[$1] += $2; b[$1] += $3 } END { for (k in p) print "flow " k, p[k], b[k] }' |
	LC_ALL=C sort
}
# jq: an ISO-8601 time with microseconds ("...T03:14:13.250000Z") in s
JQ_ISO='def iso: (sub("\\.[0-9]*Z$"; "Z") | fromdate) + (capture("(?<f>\\.[0-9]+)Z$").f | tonumber);'
# jq -e, quiet: a check's condition
jqe() { jq -e "$@" > /dev/null; }
