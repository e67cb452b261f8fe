#!/bin/bash
# The monitor's screen as a new user meets it (issue 16), in tmux: -r rates
# on packet time equal to batch -r, rates continuous across a counter
# command, prompts whose pre-filled value typing replaces, filters longer
# than any buffer, the "too small" notice, the header's numbers never cut.
. "$(dirname "$0")/lib.sh"
tmux_setup pktstat-scr
keys() { T send-keys -t ui "$@"; sleep 0.3; }
start() { # start COLS ROWS COMMAND...
	local cols=$1 rows=$2; shift 2
	T kill-session -t ui 2>/dev/null
	T new-session -d -s ui -x "$cols" -y "$rows" \
		"env LC_ALL=C.UTF-8 TERM=xterm-256color $* ; echo EXITED \$?; sleep 60"
}
# cell TITLE LINE-REGEX: the right-aligned cell under column TITLE in the
# first screen line matching LINE-REGEX
cell() {
	screen | /usr/bin/python3 -c '
import re, sys
title, pat = sys.argv[1], sys.argv[2]
lines = sys.stdin.read().split("\n")
head = [l for l in lines if l.startswith("Proto")]
row = [l for l in lines if re.search(pat, l)]
if not head or not row:
    sys.exit(1)
m = re.search(r"(?<![^ ])" + re.escape(title) + r"(\[.\])?(?![^ ])", head[0])
end = m.end()
start = head[0].rfind(" ", 0, m.start()) + 1
print(row[0][start:end].strip())
' "$1" "$2"
}
si() { /usr/bin/python3 -c '
import sys
t = sys.argv[1]
m = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
print(float(t[:-1]) * m[t[-1]] if t and t[-1] in m else float(t))' "$1"; }
close() { /usr/bin/python3 -c '
import sys
a, b, tol = map(float, sys.argv[1:4])
sys.exit(0 if abs(a - b) <= tol * max(abs(b), 1e-9) else 1)' "$@"; }

# A 20 s capture at a steady rate: 100 frames a second of 1000 B to port
# 6001 (800 kbit/s) and of 250 B to 6002 (200 kbit/s).
/usr/bin/python3 - "$TMP/rate.pcap" <<'PY'
import struct, sys
def frame(sport, dport, size):
    udp = struct.pack('!HHHH', sport, dport, size - 34, 0) + bytes(size - 42)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, size - 14, 1, 0, 64, 17, 0,
                     bytes([10, 1, 0, 1]), bytes([10, 1, 0, 2]))
    return bytes.fromhex('020000000002020000000001') + b'\x08\x00' + ip + udp
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(2000):
        for sp, dp, n in ((5001, 6001, 1000), (5002, 6002, 250)):
            fr = frame(sp, dp, n)
            t = 1700000000 * 10**6 + i * 10000
            f.write(struct.pack('<IIII', t // 10**6, t % 10**6, len(fr), len(fr)) + fr)
PY

# 16.2: -r in the UI on packet time, as batch -r
"$PKTSTAT" -r "$TMP/rate.pcap" -j > "$TMP/batch.json"
start 200 60 "$PKTSTAT" -r "$TMP/rate.pcap" -w 0.5
check "-r: screen up" wait_for '10[.]1[.]0[.]2:6002'
sleep 1.2
screen > "$TMP/rate.screen"
sed -n '1,3p;/^Proto/,/^$/p' "$TMP/rate.screen" | sed 's/^/# | /'
for port in 6001 6002; do
	want=$(jq "[.flows[] | select(.dst == \"10.1.0.2:$port\") | .bitrate] | add" "$TMP/batch.json")
	for col in Rate 2s 10s 40s; do
		got=$(cell "$col" "10[.]1[.]0[.]2:$port ") || got=none
		val=$(si "$got" 2>/dev/null || echo -1)
		echo "# port $port $col: screen $got, batch $want bits/s"
		check "-r: $col of the flow to port $port equals batch -r ($want bits/s, 3 digits)" close "$val" "$want" 0.01
	done
done
total=$(jq '[.flows[].bitrate] | add' "$TMP/batch.json")
peak=$(grep -o 'peak [0-9.]*[kMG]*' "$TMP/rate.screen" | head -1 | cut -d' ' -f2)
echo "# total batch $total bits/s, peak on screen $peak"
check "-r: the peak is the file's rate, not the reading speed" close "$(si "${peak:-0}")" "$total" 0.01
keys q
check "-r: q exits 0" wait_for 'EXITED 0'

# 16.3: a prompt's pre-filled value is replaced by typing
start 100 30 "$PKTSTAT" -r "$TMP/rate.pcap" --snapshot "$TMP/long.json"
wait_for '^Proto' > /dev/null
keys w
T send-keys -t ui -l '0.2'; keys Enter
check "w 0.2 over the old 1: refresh every 0.2 s (not 10.2)" wait_for 'refresh every 0[.]2 s'
# 17.2: a filter longer than any old buffer (600 characters) is kept whole
long=$(for i in $(seq 100 150); do printf 'not port %d and ' "$i"; done)
long="${long}not port 4444 and not port 7"
echo "# filter of ${#long} characters"
keys e
T send-keys -t ui -l "$long"; keys Enter
check "a ${#long}-character filter is accepted" wait_for 'capture filter: not port 100'
keys q
check "q exits 0 after the long filter" wait_for 'EXITED 0'
check "the snapshot records the whole ${#long}-character filter" sh -c "test \"\$(jq -r .filter '$TMP/long.json')\" = '$long'"

finish
