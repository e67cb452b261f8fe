#!/bin/bash
# bench/mksamples.sh - captures the real output of every benchmarked tool
# into bench/samples/, for tests/test_bench_parse.c: each tool watches the
# same known traffic (1000 IPv4 UDP frames of 60 bytes over 10 flows, at
# 5000 pps, so nothing is dropped) in namespaces made and removed here.
#
#   bench/mksamples.sh        (as root, after make bench-quick built the
#                              helpers; B = build directory)
#
# The samples with drops (*-drops.*) come from real overloaded bench runs
# and are kept as they are. After regenerating, check the numbers in
# tests/test_bench_parse.c against the new files.
set -euo pipefail

cd "$(dirname "$0")/.."
B=${B:-build/release}
BLAST=$B/bench/blast
S=bench/samples
. bench/lib.sh

[ "$(id -u)" -eq 0 ] || {
	echo "mksamples: needs root" >&2
	exit 1
}
for f in "$BLAST" "$B/bench/uiframe"; do
	[ -x "$f" ] || {
		echo "mksamples: $f missing: run make bench-quick" >&2
		exit 1
	}
done
TMP=$(mktemp -d /tmp/pktstat-samples.XXXXXX)
chmod 711 "$TMP"
trap 'bench_netns_teardown; rm -rf "$TMP"' EXIT
bench_netns_setup
mkdir -p "$S"

# sample NAME SIGNAL CMD...: run CMD in the capture namespace, send the
# known traffic, stop it with SIGNAL (none: it stops by itself, and a
# trickle of 20 more frames a second keeps iftop's clock going)
sample() {
	local name=$1 sig=$2 n0 pid tpid=
	shift 2
	n0=$(packet_sockets)
	ip netns exec "$BNS_CAP" "$@" > "$TMP/$name.out" \
		2> "$TMP/$name.err" < /dev/null &
	pid=$!
	wait_sockets "$n0" 20
	ip netns exec "$BNS_GEN" "$BLAST" -n 1000 -r 5000 -f 10 veth1 \
		> "$TMP/blast.out"
	if [ "$sig" = none ]; then
		ip netns exec "$BNS_GEN" "$BLAST" -n 200 -r 20 -f 10 -t 10 \
			veth1 > /dev/null &
		tpid=$!
	else
		sleep 1.5
		kill -"$sig" "$pid"
	fi
	wait "$pid" || true
	if [ -n "$tpid" ]; then
		kill "$tpid" 2>/dev/null || true
		wait "$tpid" || true
	fi
}

sample pktstat TERM "$B/pktstat" -Z root -i veth0 -t 60s -1 -j \
	--snapshot "$TMP/pktstat.json"
cp "$TMP/pktstat.json" "$S/pktstat.json"
chmod 644 "$S/pktstat.json"
cp "$TMP/blast.out" "$S/blast.out"
sample tcpdump INT tcpdump -i veth0 -n -B 8192 -w /dev/null
cp "$TMP/tcpdump.err" "$S/tcpdump.err"
sample netsniff INT netsniff-ng -i veth0 -o /dev/null --ring-size 8MiB \
	-s -A -Q
cp "$TMP/netsniff.out" "$S/netsniff.out"
sample tshark INT tshark -i veth0 -n -B 8 -w /dev/null -q
cp "$TMP/tshark.err" "$S/tshark.err"
OPKTSTAT=$(command -v /usr/sbin/pktstat /usr/bin/pktstat | head -n1)
sample opktstat none "$OPKTSTAT" -1 -n -A none -w 3 -i veth0
cp "$TMP/opktstat.out" "$S/opktstat.out"
sample iftop none iftop -t -s 3 -n -N -P -B -i veth0
cp "$TMP/iftop.out" "$S/iftop.out"

# callgrind_annotate on pktstat reading the same kind of traffic
"$BLAST" -n 1000 -f 10 -w "$TMP/cg.pcap" > /dev/null
chmod 644 "$TMP/cg.pcap"
valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" \
	"$B/pktstat" -Z root -r "$TMP/cg.pcap" -j > /dev/null 2>&1
# (kept small: the header and every function of 10,000+ instructions)
callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$TMP/cg.out" |
	sed "s|$TMP|/tmp/pktstat-samples|g" |
	awk '{ c = $1; gsub(/,/, "", c) }
		NR <= 24 || (c ~ /^[0-9]+$/ && c + 0 >= 10000)' \
		> "$S/callgrind.txt"
# bench/uiframe's lines (no traffic: it fills its own flow table)
"$B/bench/uiframe" -f 20 10000 100000 > "$S/uiframe.out"
echo "samples written to $S"
