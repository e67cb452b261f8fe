#!/bin/bash
# Files read to the end or marked: a pcap cut inside a record, pcapng
# sections joined by cat (same link type: read through; another link
# type: unsupported), a pcapng with two link types; "exact" is false with
# the reason in the JSON ("incomplete") and the text, and the exit status
# is 1 wherever the read failed. Times: seconds at and after 2^31 (pcap
# keeps 32 unsigned bits, libpcap reads them signed), one definition of
# start, end and duration (packet time) with the bitrates from it, and
# null start/end for a file without packets; -r -l reports per second of
# packet time, each saying which interval it covers.
. "$(dirname "$0")/lib.sh"
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
"$GEN" sll "$TMP/sll.pcap" "$TMP/sll.exp"
n_eth=$(grep '^total' "$TMP/eth.exp" | cut -d' ' -f2)
n_sll=$(grep '^total' "$TMP/sll.exp" | cut -d' ' -f2)
editcap -F pcapng "$TMP/eth.pcap" "$TMP/eth.pcapng"
editcap -F pcapng "$TMP/sll.pcap" "$TMP/sll.pcapng"
cat "$TMP/eth.pcapng" "$TMP/eth.pcapng" > "$TMP/same.pcapng"
cat "$TMP/eth.pcapng" "$TMP/sll.pcapng" > "$TMP/diff.pcapng"
mergecap -F pcapng -w "$TMP/mixed.pcapng" "$TMP/eth.pcapng" "$TMP/sll.pcapng"
sz=$(stat -c %s "$TMP/eth.pcap")
head -c $((sz - 30)) "$TMP/eth.pcap" > "$TMP/trunc.pcap"

run() { # NAME FILE: JSON in NAME.json, text in NAME.txt, status in RC
	"$PKTSTAT" -r "$2" -j > "$TMP/$1.json" 2> "$TMP/$1.err"
	RC=$?
	"$PKTSTAT" -r "$2" > "$TMP/$1.txt" 2> /dev/null
}
jqv() { jq -r "$2" "$TMP/$1.json"; }

run same "$TMP/same.pcapng"
check "two pcapng sections, one link type: both read ($((2 * n_eth)) frames), exact, exit 0" \
	test "$(jqv same '"\(.totals.packets) \(.exact)"') $RC" = "$((2 * n_eth)) true 0"

run diff "$TMP/diff.pcapng"
check "second section of another link type: exit 1" test $RC -eq 1
check "second section of another link type: the first section counted, exact false" \
	test "$(jqv diff '"\(.totals.packets) \(.exact)"')" = "$n_eth false"
check "second section of another link type: the JSON says why" \
	grep -q "unsupported second section or interface after $n_eth frames" <(jqv diff .incomplete)
check "second section of another link type: the text says why" \
	grep -q "counts are NOT exact (.*unsupported second section or interface after $n_eth frames" "$TMP/diff.txt"
check "second section of another link type: one line on stderr" \
	test "$(wc -l < "$TMP/diff.err")" -eq 1

run mixed "$TMP/mixed.pcapng"
check "pcapng with two link types: exit 1, exact false, the reason" \
	test "$RC $(jqv mixed '"\(.exact) \(.incomplete != null)"')" = "1 false true"
check "pcapng with two link types: the text is not 'exact'" \
	grep -q "counts are NOT exact (.*unsupported second section" "$TMP/mixed.txt"

run trunc "$TMP/trunc.pcap"
check "truncated pcap: exit 1, exact false, $((n_eth - 1)) frames" \
	test "$RC $(jqv trunc '"\(.exact) \(.totals.packets)"')" = "1 false $((n_eth - 1))"
check "truncated pcap: 'file truncated after N frames' in JSON and text" \
	sh -c "jq -r .incomplete '$TMP/trunc.json' | grep -q 'file truncated after $((n_eth - 1)) frames' &&
	       grep -q 'counts are NOT exact (.*file truncated after $((n_eth - 1)) frames' '$TMP/trunc.txt'"

run whole "$TMP/eth.pcap"
check "a whole file: exact, no reason, exit 0" \
	test "$RC $(jqv whole '"\(.exact) \(.incomplete)"')" = "0 true null"
# one span: duration = end - start (packet time), bitrates from it
check "file: duration = end - start (packet time)" \
	jqe "$JQ_ISO"' ((.end | iso) - (.start | iso) - .duration | fabs) < 0.000002' "$TMP/whole.json"
check "file: every bitrate is bytes * 8 / duration" \
	jqe '.duration as $d | all(.flows[]; ((.bitrate - .size * 8 / $d) | fabs) <= 0.01 * (.bitrate + 1))' "$TMP/whole.json"
first=$(tshark -r "$TMP/eth.pcap" -T fields -e frame.time_epoch 2> /dev/null | head -1)
last=$(tshark -r "$TMP/eth.pcap" -T fields -e frame.time_epoch 2> /dev/null | tail -1)
check "file: duration is the first to the last packet ($first .. $last)" \
	jqe --argjson a "$first" --argjson b "$last" '(.duration - ($b - $a) | fabs) < 0.000002' "$TMP/whole.json"

# times at and after 2^31 s, and a file without packets
/usr/bin/python3 - "$TMP" << 'PY'
import struct, sys
d = sys.argv[1]
def frame(i):
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 46, i, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return eth + ip + struct.pack("!HHHH", 1000, 2000, 26, 0) + bytes(18)
hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
for name, t0 in (("y2038", 2**31 + 5), ("y2106", 2**32 - 10)):
    with open(d + "/" + name + ".pcap", "wb") as f:
        f.write(hdr)
        for i in range(3):
            f.write(struct.pack("<IIII", t0 + 2 * i, 250000, 60, 60) +
                    frame(i))
with open(d + "/empty.pcap", "wb") as f:
    f.write(hdr)
PY
run y2038 "$TMP/y2038.pcap"
run y2106 "$TMP/y2106.pcap"
check "times after 2^31 s: start and end as they are" \
	test "$(jqv y2038 '"\(.start) \(.end)"') $(jqv y2106 '"\(.start) \(.end)"')" = \
	"2038-01-19T03:14:13.250000Z 2038-01-19T03:14:17.250000Z 2106-02-07T06:28:06.250000Z 2106-02-07T06:28:10.250000Z"
check "times after 2^31 s: duration 4 s, rates from it" \
	test "$(jqv y2038 '"\(.duration) \(.flows[0].bitrate)"') $(jqv y2106 '"\(.duration) \(.flows[0].bitrate)"')" = "4 360 4 360"
# -r with -l: one report per interval of packet time from the first
# packet (packets at 0, 0.5, 1.2, 2.7, 4.6 and 4.7 s: 2, 1, 1, none, and
# the last, partial interval 2)
/usr/bin/python3 - "$TMP" << 'PY'
import struct, sys
d = sys.argv[1]
hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00"
with open(d + "/iv.pcap", "wb") as f:
    f.write(hdr)
    for i, t in enumerate((0.0, 0.5, 1.2, 2.7, 4.6, 4.7)):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 46, i, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        udp = struct.pack("!HHHH", 1000, 2000, 26, 0) + bytes(18)
        f.write(struct.pack("<IIII", 1700000000 + int(t),
                            int(round((t - int(t)) * 1e6)), 60, 60) +
                eth + ip + udp)
PY
"$PKTSTAT" -r "$TMP/iv.pcap" -l 1s -j > "$TMP/iv.json"
check "-r -l 1s: one report per second of packet time" \
	test "$(jq -c '[.[].packets] | add // 0' "$TMP/iv.json" | tr '\n' ' ')" = "2 1 1 0 2 "
"$PKTSTAT" -r "$TMP/iv.pcap" -l 1s > "$TMP/iv.txt"
check "-r -l 1s, text: the same five reports" \
	test "$(sed -n 's/^Read total packets: \([0-9]*\),.* in \(.*\) seconds$/\1@\2/p' "$TMP/iv.txt" | tr '\n' ' ')" = "2@1.00 1@1.00 1@1.00 0@1.00 2@0.70 "
# 16: each interval report says which interval it covers (packet time)
T0=2023-11-14T22:13
check "-r -l 1s, text: each report starts with its interval" \
	test "$(sed -n 's/^Interval: \(.*\) to \(.*\)$/\1>\2/p' "$TMP/iv.txt" | tr '\n' ' ')" = "$T0:20.000000Z>$T0:21.000000Z $T0:21.000000Z>$T0:22.000000Z $T0:22.000000Z>$T0:23.000000Z $T0:23.000000Z>$T0:24.000000Z $T0:24.000000Z>$T0:24.700000Z "
check "-r -l 1s, JSON: each row carries its interval's start and end" \
	test "$(jq -c '[.[] | "\(.start)>\(.end)"] | unique | .[]' "$TMP/iv.json" | tr -d '"' | tr '\n' ' ')" = "$T0:20.000000Z>$T0:21.000000Z $T0:21.000000Z>$T0:22.000000Z $T0:22.000000Z>$T0:23.000000Z $T0:24.000000Z>$T0:24.700000Z "
run empty "$TMP/empty.pcap"
check "no packets: start and end null, duration 0, valid JSON, exit 0" \
	test "$RC $(jqv empty '"\(.start) \(.end) \(.duration) \(.totals.packets)"')" = "0 null null 0 0"
finish
