#!/bin/bash
# Capture filters for --backend ebpf, without a network: each tcpdump
# expression of ebpf_filters.txt (hosts, nets, ports, port ranges,
# protocols, VLAN, MPLS, PPPoE, ip6 protochain, byte offsets, arithmetic,
# len, broadcast and multicast, and/or/not) is compiled by libpcap for the
# link type of every corpus file, translated to eBPF (capture/cbpf.c) and
# run by the kernel (BPF_PROG_TEST_RUN) on every frame of the corpus: the
# verdict must equal libpcap's pcap_offline_filter. As a tc program: every
# expression; as XDP: every 4th (sampled to keep the script near a
# minute; the two share all but the load and length code). Also: the
# translator's fuzz target replays its seeds, and an untranslatable
# filter stops the run with one line.
. "$(dirname "$0")/lib.sh"
need_root
need_corpus
EQ=$B/tests/stress/cbpfeq
EXPRS=$(dirname "$0")/ebpf_filters.txt
n=$(grep -cv '^#' "$EXPRS")
check "at least 200 expressions ($n)" test "$n" -ge 200
"$EQ" "$EXPRS" "$CORPUS"/*.pcap* > "$TMP/tc.out"
rc=$?
if [ $rc -eq 77 ]; then
	echo "# SKIP $(basename "$0"): $(cat "$TMP/tc.out")"; exit 0
fi
tail -1 "$TMP/tc.out"
check "tc: every verdict equals libpcap's" test $rc -eq 0 || head -20 "$TMP/tc.out"
check "tc: verdicts were compared" grep -q ' [1-9][0-9]* verdicts compared' "$TMP/tc.out"
"$EQ" -x -s 4 "$EXPRS" "$CORPUS"/*.pcap* > "$TMP/xdp.out"
rc=$?
tail -1 "$TMP/xdp.out"
check "xdp: every verdict equals libpcap's" test $rc -eq 0 || head -20 "$TMP/xdp.out"
check "xdp: verdicts were compared" grep -q ' [1-9][0-9]* verdicts compared' "$TMP/xdp.out"
finish
