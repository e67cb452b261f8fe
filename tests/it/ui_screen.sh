#!/bin/bash
# The monitor's screen as a new user meets it (issue 16), in tmux: -r rates
# on packet time equal to batch -r (ui_session.sh: rates continuous
# across counter commands), prompts whose pre-filled value typing
# replaces, filters longer
# than any buffer, the "too small" notice, the header's numbers never cut,
# nor the flow table's and the host view's cells.
. "$(dirname "$0")/lib.sh"
tmux_setup pktstat-scr
keys() { T send-keys -t ui "$@"; sleep 0.3; }
start() { # start COLS ROWS COMMAND...
	local cols=$1 rows=$2; shift 2
	T kill-session -t ui 2>/dev/null
	T new-session -d -s ui -x "$cols" -y "$rows" \
		"env LC_ALL=C.UTF-8 TERM=tmux-256color $* ; echo EXITED \$?; sleep 60"
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
	for col in bits/s 2s 10s 40s; do
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

# 1032 UDP flows, one packet each, a millisecond apart
/usr/bin/python3 - "$TMP/many.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(1032):
        size = 100
        udp = struct.pack('!HHHH', 1024 + i, 53, size - 34, 0) + bytes(size - 42)
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, size - 14, 1, 0, 64, 17, 0,
                         bytes([10, 2, i // 256, i % 256]), bytes([10, 3, 0, 1]))
        fr = bytes.fromhex('020000000002020000000001') + b'\x08\x00' + ip + udp
        t = 1700000000 * 10**6 + i * 1000
        f.write(struct.pack('<IIII', t // 10**6, t % 10**6, len(fr), len(fr)) + fr)
PY
# header_whole FILE: lines 1-2 made of whole fields only (16.1)
header_whole() {
	/usr/bin/python3 - "$1" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split('\n')
num = r'[0-9][0-9.]*[kMGT]?'
field = (r'(total %s (bits|bytes|pkts)/s|avg %s|peak %s|max \(peak\)|max %s|'
         r'%s pkts/s|flows [0-9]+|drops [0-9]+( \(\+[0-9]+\))?|exact|LOSSY)'
         % (num, num, num, num, num))
ok = re.fullmatch(r'%s(  %s)* *' % (field, field), lines[1]) is not None
t = re.fullmatch(r'pktstat(  up [0-9a-z]+)?(  \S+)?(  \w+ x[0-9]+)?'
                 r'(  filter: .*)?( +(end of file  )?sort: [a-z0-9 ]+ [v^])? *',
                 lines[0]) is not None
print('line1 %s line2 %s' % ('whole' if t else 'CUT', 'whole' if ok else 'CUT'))
sys.exit(0 if ok and t else 1)
PY
}
# cells_whole FILE: in the flow table (rows under "Proto") and the host
# view (rows under "Host"), every cell after the endpoints is a whole
# number as the columns print them (3 digits and an SI prefix, an exact
# count, a percentage, an age, "-", or "***" when it does not fit); words
# (App and Process cells, which start with a letter) are not numbers
cells_whole() {
	/usr/bin/python3 - "$1" <<'PY'
import re, sys
num = re.compile(r'([0-9]+(\.[0-9]+)?[kMGT]?%?|\*+|-|[0-9]+[smhd]([0-9]+)?)$')
lines = open(sys.argv[1]).read().split('\n')
bad, n, skip, table = [], 0, 0, None
for l in lines:
    if l.startswith('Proto'):
        table, skip = 'flows', 3
        continue
    if l.startswith('Host '):
        table, skip = 'hosts', 1
        continue
    if table is None or not l.strip() or l.startswith('hosts ') or \
            re.match(r'^(q Quit|rows |find:)', l):
        if l.startswith('hosts '):
            table = None
        continue
    if table == 'flows' and not re.match(r'^(UDP|TCP|ICMPv[46]|IPv[46]|ARP|other) ', l):
        continue
    for t in l.split()[skip:]:
        if re.match(r'^[A-Za-z]', t):
            continue  # the App and Process columns' words: not numbers
        n += 1
        if not num.match(t):
            bad.append(t)
print('%d cells, %d not whole: %s' % (n, len(bad), ' '.join(bad[:8])))
sys.exit(0 if n and not bad else 1)
PY
}
for geom in "80 24" "100 30" "200 60"; do
	set -- $geom
	start "$1" "$2" "$PKTSTAT" -r "$TMP/many.pcap"
	wait_for 'flows' > /dev/null
	sleep 0.5
	screen > "$TMP/hdr.screen"
	sed -n '1,2p' "$TMP/hdr.screen" | sed 's/^/# | /'
	check "${1}x$2: header shows every flow ('flows 1032' whole)" grep -Eq '(^|  )flows 1032( |$)' "$TMP/hdr.screen"
	check "${1}x$2: the header's fields are whole, no number cut" header_whole "$TMP/hdr.screen"
	rows=$(grep -c '^UDP ' "$TMP/hdr.screen")
	echo "# ${1}x$2: $rows flow rows"
	if [ "$1" = 80 ]; then
		check "80x24: at least 18 flow rows ($rows)" test "$rows" -ge 18
		check "80x24: footer says which rows are shown" grep -q "rows 1-$rows of 1032" "$TMP/hdr.screen"
	fi
	check "${1}x$2: every number in the flow table is whole" cells_whole "$TMP/hdr.screen"
	keys V
	screen > "$TMP/hosts.screen"
	check "${1}x$2: host view: every number whole" cells_whole "$TMP/hosts.screen"
	check "${1}x$2: host view: the footer counts every host (1033)" grep -q '^hosts 1033  ' "$TMP/hosts.screen"
	keys q
done

# 16.14: the "too small" notice is never cut; 16.9: help readable at 80x24
start 20 5 "$PKTSTAT" -r "$TMP/many.pcap"
sleep 1
screen | head -1 | sed 's/^/# | /'
check "20x5: the too-small notice is whole" sh -c "tmux -L $SOCK capture-pane -p -t ui | head -1 | grep -Eq '^(terminal too small: need at least 40x8|too small: need 40x8|need 40x8|40x8) *$'"
T resize-window -t ui -x 80 -y 24; sleep 0.4
keys '?'
screen | tail -1 | sed 's/^/# | /'
check "help at 80x24: its last line says which lines and that more follow" sh -c "tmux -L $SOCK capture-pane -p -t ui | tail -1 | grep -Eq 'lines 1-[0-9]+ of [0-9]+  more below'"
check "help at 80x24: its last line names the scroll keys" sh -c "tmux -L $SOCK capture-pane -p -t ui | tail -1 | grep -q 'PgUp PgDn Home End'"
keys NPage
check "help at 80x24: PgDn shows the keys after S" wait_for 'Names: cycle host and port names'
keys End
check "help at 80x24: End reaches the screen legend's last entry" wait_for 'rows 1-20 of N'
check "help at 80x24: ... and says it is the end" sh -c "tmux -L $SOCK capture-pane -p -t ui | tail -1 | grep -q ' end '"
check "help: no debug timings in its footer" sh -c "! tmux -L $SOCK capture-pane -p -t ui | grep -q 'last frame'"
keys Escape
# 16.10: a sort key shows its column; T visibly acts
T resize-window -t ui -x 100 -y 30; sleep 0.4
check "100x30: no Pkts column by default" sh -c "! tmux -L $SOCK capture-pane -p -t ui | grep -q '^Proto.* Pkts'"
keys S
check "100x30: S (sort by packets) shows the Pkts column" wait_for '^Proto.* Pkts'
keys t
keys T
check "100x30: T shows the total columns" wait_for '^Proto.* Bytes.* Pkts'
check "100x30: T says so" wait_for 'total columns on'
keys T
check "100x30: T again hides them" sh -c "sleep 0.3; ! tmux -L $SOCK capture-pane -p -t ui | grep -q '^Proto.* Bytes'"
# unknown escape sequences never become commands: ESC [ 1 ; 9 P is not P
T send-keys -t ui -H 1b 5b 31 3b 39 50; sleep 0.5
check "an unknown escape sequence ending in P does not pause" sh -c "! tmux -L $SOCK capture-pane -p -t ui | grep -q PAUSED"
# the footer reflects the state
keys Space
check "Space: the header says PAUSED" wait_for 'PAUSED'
check "Space: the footer offers Resume" wait_for 'Space Resume' 8
keys q
check "q exits 0" wait_for 'EXITED 0'

# 17.11: a 9999x9999 window: the drawn area is capped, memory stays small
# and keys are answered
start 80 24 "$PKTSTAT" -r "$TMP/many.pcap"
wait_for '^Proto' > /dev/null
T resize-window -t ui -x 9999 -y 9999; sleep 2
pane=$(T list-panes -t ui -F '#{pane_pid}')
rss=0
for p in $(pgrep -P "$pane") $(for c in $(pgrep -P "$pane"); do pgrep -P "$c"; done); do
	r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)
	[ -n "$r" ] && [ "$r" -gt "$rss" ] && rss=$r
done
echo "# 9999x9999: largest pktstat RSS $rss kB"
check "9999x9999: RSS under 200 MB ($rss kB)" test "$rss" -gt 0 -a "$rss" -lt $((200 * 1024 * ASAN_RSS_FACTOR))
T send-keys -t ui q; sleep 1
T resize-window -t ui -x 80 -y 24; sleep 0.3
check "9999x9999: q is answered" wait_for 'EXITED 0'

# 16.5, 16.12: names on by default (as root too), n cycles host and port
# names; 16.6: ICMP rows say their type
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp" > /dev/null
start 100 30 "$PKTSTAT" -r "$TMP/eth.pcap"
wait_for '^Proto' > /dev/null
echo "# running as uid $(id -u)"
check "names on by default (uid $(id -u)): port 80 shows as http" wait_for '10[.]0[.]0[.]2:http '
keys n
check "n: host names, numeric ports" wait_for 'host names, numeric ports'
check "n: ... port 80 again" wait_for '10[.]0[.]0[.]2:80 '
keys n
check "n again: port names" wait_for '10[.]0[.]0[.]2:http '
keys n
check "n a third time: numeric" wait_for 'numeric addresses and ports'
check "n a third time: port 80" wait_for '10[.]0[.]0[.]2:80 '
check "ICMP echo rows say echo" wait_for '^ICMPv4 .*10[.]0[.]0[.]21 echo'
check "ICMPv6 rows say their type" wait_for '^ICMPv6 .*2001:db8::15 [a-z]'
keys q
# ... with the code: port and host unreachable between the same two hosts
# are two rows (3 and 2 messages)
/usr/bin/python3 - "$TMP/unreach.pcap" <<'PY'
import struct, sys
def frame(code):
    inner = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28, 1, 0, 64, 17, 0,
                        bytes([10, 9, 0, 2]), bytes([10, 9, 0, 1])) + bytes(8)
    icmp = struct.pack('!BBHI', 3, code, 0, 0) + inner
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
                     bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    return bytes.fromhex('020000000002020000000001') + b'\x08\x00' + ip + icmp
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, code in enumerate((3, 3, 1, 3, 1)):
        fr = frame(code)
        f.write(struct.pack('<IIII', 1700000000, i * 1000, len(fr), len(fr)) + fr)
PY
start 200 30 "$PKTSTAT" -r "$TMP/unreach.pcap" -n
wait_for '^Proto' > /dev/null
check "ICMP rows say type and code: unreach port (3 messages, 210 bytes)" wait_for '^ICMPv4  *10[.]9[.]0[.]1  *10[.]9[.]0[.]2 unreach port .* 210  *3 '
check "... and unreach host, a row of its own (2, 140 bytes)" wait_for '^ICMPv4  *10[.]9[.]0[.]1  *10[.]9[.]0[.]2 unreach host .* 140  *2 '
keys Enter
check "Enter on it: the message with its numbers" wait_for '^message unreach port (type 3, code 3)$'
keys x
keys q
# 16.7: an interface given twice is refused with one line, status 2
"$PKTSTAT" -i lo -i lo > /dev/null 2> "$TMP/twice.err"
rc=$?
check "-i lo -i lo: status 2 and one line naming it" sh -c "test $rc = 2 && head -1 '$TMP/twice.err' | grep -q '^pktstat: -i lo: given twice'"

# 16.8: a removed interface says so on screen at once (not "capture done")
# and the monitor stays up
if [ "$(id -u)" -eq 0 ]; then
	NS_RM=pktrm$$
	at_exit_extra() { ip netns del "$NS_RM" 2> /dev/null; }
	ip netns add "$NS_RM"
	ip -n "$NS_RM" link add uxa0 type veth peer name uxa1
	ip -n "$NS_RM" link set uxa0 up; ip -n "$NS_RM" link set uxa1 up
	start 100 30 ip netns exec "$NS_RM" "$PKTSTAT" -i uxa0 -w 0.2 --snapshot "$TMP/rm.json"
	wait_for '^Proto' > /dev/null
	sleep 0.5
	ip -n "$NS_RM" link del uxa0
	check "interface removed: the title says why, at once" wait_for 'uxa0: interface removed' 5
	check "interface removed: the monitor stays up" sh -c "sleep 1; ! tmux -L $SOCK capture-pane -p -t ui | grep -q EXITED"
	keys q
	wait_for EXITED > /dev/null
else
	echo "# SKIP interface removal: needs root (network namespaces)"
fi

# display filter: space-separated terms ANDed, with the match count
start 100 30 "$PKTSTAT" -r "$TMP/eth.pcap"
wait_for '^Proto' > /dev/null
keys /
T send-keys -t ui -l 'udp 10.0.0.31'
sleep 0.4
check "find 'udp 10.0.0.31': both terms must match (2 rows)" sh -c "test \$(tmux -L $SOCK capture-pane -p -t ui | grep -c '^UDP ') = 2 && ! tmux -L $SOCK capture-pane -p -t ui | grep -q '^TCP '"
keys Enter
check "find: the footer shows the match count" wait_for 'find: udp 10[.]0[.]0[.]31 (2)' 8
keys /
T send-keys -t ui -l 'icmp6'; keys Enter
check "find 'icmp6' matches the ICMPv6 row" wait_for '^ICMPv6 '
keys q

# TERM=dumb: the report instead of a screen, and how to stop it
start 120 100 env TERM=dumb "$PKTSTAT" -r "$TMP/eth.pcap"
check "TERM=dumb says how to stop (Ctrl-C)" wait_for 'TERM=dumb: .*Ctrl-C stops'

# Enter: the selected flow's details, then any key back
start 100 30 "$PKTSTAT" -r "$TMP/eth.pcap" -n
wait_for '^Proto' > /dev/null
keys y
keys Enter
check "Enter: the detail view names the flow" wait_for '^TCP flow [0-9]'
check "Enter: both directions with bytes and packets" sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -Eq '^A>B  *[0-9]+  *[0-9]+ ' && tmux -L $SOCK capture-pane -p -t ui | grep -Eq '^B>A  *[0-9]+  *[0-9]+ '"
check "Enter: first and last seen" wait_for '^first seen .* ago, last seen .* ago'
keys x
check "any key goes back to the table" wait_for '^Proto'
keys q

finish
