#!/bin/bash
# --exit-over and --jsonl on a file: intervals of packet time. The file
# holds 5 s of a trickle (10 frames/s of 142 bytes), a 1 s burst (1000
# frames of 1042 bytes: ~8.3 Mbit/s) and 5 s of trickle again; averaged
# over the file it is ~0.8 Mbit/s. A limit of 2M must fire on the burst's
# interval (an average over the whole file would not), 20M must not.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 - "$TMP/burst.pcap" << 'PY'
import struct, sys
f = open(sys.argv[1], "wb")
f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
def frame(t, size):
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    udp_len = size - 14 - 20
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size - 14, 0, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    udp = struct.pack("!HHHH", 4000, 5000, udp_len, 0) + bytes(udp_len - 8)
    pkt = eth + ip + udp
    sec = 1700000000 + int(t); usec = int(round((t - int(t)) * 1e6))
    f.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)) + pkt)
t = 0.0
for i in range(50): frame(t + i * 0.1, 142)
for i in range(1000): frame(5.0 + i * 0.001, 1042)
for i in range(50): frame(6.0 + i * 0.1, 142)
f.close()
PY
jqok() { jq -e "$@" > /dev/null; }
"$PKTSTAT" -r "$TMP/burst.pcap" -j --exit-over 2M > "$TMP/r.json" 2> "$TMP/err"
st=$?
check "--exit-over 2M: the burst's second fires it, exit 3 (got $st)" test "$st" = 3
check "--exit-over: one line says the rate reached" grep -q 'over --exit-over 2.00 Mbps' "$TMP/err"
check "--exit-over: the report is still written" jqok '.totals.packets > 0' "$TMP/r.json"
"$PKTSTAT" -r "$TMP/burst.pcap" -j --exit-over 20M > /dev/null 2> "$TMP/err"
check "--exit-over 20M: never over it, exit 0" test $? = 0
"$PKTSTAT" -r "$TMP/burst.pcap" -j --jsonl "$TMP/f.jsonl" > "$TMP/all.json"
check "--jsonl on a file: about one line per second of packet time ($(wc -l < "$TMP/f.jsonl"))" \
	sh -c "[ \$(wc -l < '$TMP/f.jsonl') -ge 10 ] && [ \$(wc -l < '$TMP/f.jsonl') -le 12 ]"
check "--jsonl on a file: the burst is one line of 1000 packets" jqok -s \
	'[.[].delta.packets] | max == 1000 or max == 1001' "$TMP/f.jsonl"
check "--jsonl on a file: the last line's totals equal the report's" test \
	"$(tail -1 "$TMP/f.jsonl" | jq -c .totals)" = "$(jq -c .totals "$TMP/all.json")"
finish
