#!/bin/bash
# The full-screen monitor in a real terminal: pktstat runs inside tmux (on
# -r files and on live traffic in a test namespace); keys go in with
# send-keys, the screen comes out with capture-pane. Covers sorting and
# reversal, the display filter, help, pause, capture-filter edits (good and
# bad), resizes down to 40x12 and tiny sizes, q restoring the terminal and
# writing the snapshot, and SIGHUP from a killed session still leaving a
# complete snapshot; at 80x24 and 200x60, in UTF-8 and in the C locale.
# Live: the "%" column (-m, and the peak without it) against known bytes.
. "$(dirname "$0")/lib.sh"
tmux_setup pktstat-it
keys() { T send-keys -t ui "$@"; sleep 0.3; }
# first flow row: the line after the column header
first_row() { screen | awk '/^Proto/ {getline; print; exit}'; }
start() { # start COLS ROWS LOCALE COMMAND...
	local cols=$1 rows=$2 loc=$3; shift 3
	T kill-session -t ui 2>/dev/null
	T new-session -d -s ui -x "$cols" -y "$rows" \
		"env LC_ALL=$loc TERM=xterm-256color $* ; echo EXITED \$?; sleep 60"
}

"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
for geom in "80 24 C.UTF-8" "200 60 C"; do
	set -- $geom
	tag="${1}x${2} $3"
	rm -f "$TMP/snap.json"
	start "$1" "$2" "$3" "$PKTSTAT" -r "$TMP/eth.pcap" --snapshot "$TMP/snap.json"
	check "$tag: screen comes up with the flow table" wait_for '^Proto'
	check "$tag: header shows the source" wait_for 'eth.pcap'
	# sort by total bytes, then reverse
	keys y
	r1=$(first_row)
	keys y
	r2=$(first_row)
	check "$tag: sorting by bytes puts the biggest flow first" sh -c "echo '$r1' | grep -q '10.0.0.1:40005'"
	check "$tag: pressing the sort key again reverses the order" test "$r1" != "$r2"
	# display filter
	keys / i c m p
	check "$tag: / narrows rows to ICMP" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q '^TCP ')"
	check "$tag: / keeps the ICMP rows" wait_for '^ICMPv4'
	keys Escape
	check "$tag: Esc clears the display filter" wait_for '^TCP '
	# help lists the keys
	keys '?'
	check "$tag: help screen lists sort, pause and filter keys" sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -qi 'pause' && tmux -L $SOCK capture-pane -p -t ui | grep -qi 'filter'"
	keys q
	# resize down and back
	T resize-window -t ui -x 40 -y 12; sleep 0.4
	check "$tag: alive at 40x12" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q EXITED)"
	T resize-window -t ui -x 10 -y 3; sleep 0.4
	check "$tag: alive at 10x3" sh -c "! (tmux -L $SOCK capture-pane -p -t ui | grep -q EXITED)"
	T resize-window -t ui -x "$1" -y "$2"; sleep 0.4
	check "$tag: table back after resizing up" wait_for '^Proto'
	keys q
	check "$tag: q exits with status 0" wait_for 'EXITED 0'
	check "$tag: snapshot written on q with every packet" sh -c "test \"\$(jq .totals.packets '$TMP/snap.json')\" = 162"
	check "$tag: snapshot is mode 0600" test "$(stat -c %a "$TMP/snap.json")" = 600
	check "$tag: a summary printed after the terminal is restored" wait_for 'eth[.]pcap: 162 packets, [0-9]* bytes in'
done

# SIGHUP: the session is killed (an SSH drop) - the snapshot still lands
rm -f "$TMP/hup.json"
start 80 24 C.UTF-8 "$PKTSTAT" -r "$TMP/eth.pcap" --snapshot "$TMP/hup.json"
wait_for '^Proto'
T kill-session -t ui
for i in $(seq 40); do [ -s "$TMP/hup.json" ] && break; sleep 0.05; done
sleep 0.3
check "SIGHUP (tmux kill-session): complete snapshot written" sh -c "test \"\$(jq .totals.packets '$TMP/hup.json')\" = 162"
check "SIGHUP: no pktstat left running" sh -c "! pgrep -f 'hup[.]json' > /dev/null"

# live: pause, filter edits
if [ "$(id -u)" -eq 0 ]; then
	SEND=$B/tests/gen/sendframes
	netns_setup
	rm -f "$TMP/live.json"
	start 100 40 C.UTF-8 ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -w 0.2 --snapshot "$TMP/live.json"
	check "live: screen up" wait_for '^Proto'
	sleep 0.5
	keys ' '
	check "live: header says PAUSED" wait_for 'PAUSED'
	before=$(screen | grep -A3 'IPv4' | head -4)
	ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
	sleep 0.6
	after=$(screen | grep -A3 'IPv4' | head -4)
	check "live: paused numbers stay frozen while traffic arrives" test "$before" = "$after"
	keys ' '
	check "live: resuming shows the traffic (131 IPv4 packets)" wait_for ' 131 '
	# a bad filter shows its error and changes nothing
	keys e
	T send-keys -t ui -l 'tcp['; keys Enter
	check "live: bad filter shows an error" wait_for '[Ee]rror\|syntax\|illegal\|unexpected'
	# a good filter: udp only from now on
	keys Escape
	keys e
	T send-keys -t ui C-u; T send-keys -t ui -l 'udp'; keys Enter
	check "live: header shows the new filter" wait_for 'filter: udp'
	ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
	sleep 0.6
	keys q
	check "live: q exits 0" wait_for 'EXITED 0'
	# first burst: all 162 packets; second burst under "udp": only UDP
	# (what the kernel's filter passes, as for tcpdump: 25 of the 32 UDP
	# frames - the VLAN-tagged ones are not "udp" to BPF).
	got=$(jq .totals.packets "$TMP/live.json"); echo "# live snapshot: $got packets"
	check "live: snapshot has both bursts exactly (162 + 25 packets)" test "$got" = 187
	check "live: no TCP after the filter change (115 from the first burst)" test "$(jq .protocols.TCP.packets "$TMP/live.json")" = 115
	check "live: UDP from both bursts (32 + 25)" test "$(jq .protocols.UDP.packets "$TMP/live.json")" = 57
	check "live: snapshot records the filter in force" sh -c "test \"\$(jq -r .filter '$TMP/live.json')\" = udp"

	# -m: the "%" column. One burst of three UDP flows (20000, 60000 and
	# 400 bytes) sent just after a refresh, so that one 2 s interval holds
	# all of it; the screen showing that interval is checked against the
	# bytes the exit snapshot counted (see pct_check below).
	/usr/bin/python3 - "$TMP/pct.pcap" <<'PY'
import struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
def frame(sport, dport, size):
    udp = struct.pack('!HHHH', sport, dport, size - 34, 0) + bytes(size - 42)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, size - 14, 1, 0, 64, 17, 0,
                     bytes([10, 1, 0, 1]), bytes([10, 1, 0, 2]))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return bytes.fromhex('020000000002020000000001') + b'\x08\x00' + ip + udp
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    # 20 x 1000 B to port 6001, 60 x 1000 B to 6002, 4 x 100 B to 6003
    plan = [(5001, 6001, 1000)] * 20 + [(5002, 6002, 1000)] * 60 + \
           [(5003, 6003, 100)] * 4
    for i, (sp, dp, n) in enumerate(plan):
        fr = frame(sp, dp, n)
        f.write(struct.pack('<IIII', 1, i, len(fr), len(fr)) + fr)
PY
	# pct_check MODE SCREEN JSON [MAXBPS]: one "ok|not ok - ..." line per
	# figure. peak: each row's % is its share of the interval's bytes (the
	# peak interval: the only one with traffic). fixed: its bits over the
	# 2 s interval against MAXBPS (5% slack for the timer), and exactly
	# (to display rounding) the Rate shown against MAXBPS.
	pct_check() {
		/usr/bin/python3 - "$@" <<'PY'
import json, sys
mode, screen, snap = sys.argv[1:4]
mx = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else 0
js = json.load(open(snap))
total = js['totals']['bytes']
si = {'k': 1e3, 'M': 1e6, 'G': 1e9}
def num(t):
    return float(t[:-1]) * si[t[-1]] if t[-1] in si else float(t)
def res(p):  # what the display rounds to: one decimal below 10%
    return 0.05 if p < 9.95 else 0.5
for port in (6001, 6002, 6003):
    dst = '10.1.0.2:%d' % port
    size = sum(f['size'] for f in js['flows'] if f['dst'] == dst)
    rows = [l.split() for l in open(screen) if dst in l]
    if len(rows) != 1 or not [t for t in rows[0] if t.endswith('%')]:
        print('not ok - %s %s: no row with a %% cell on screen' % (mode, dst))
        continue
    toks = rows[0]
    k = [i for i, t in enumerate(toks) if t.endswith('%')][0]
    shown, rate = float(toks[k][:-1]), num(toks[k - 1])
    if mode == 'peak':
        want = 100.0 * size / total
        good = abs(shown - want) <= res(want) + 1e-9
        print('%s - peak %s: %s of %d B in the peak interval of %d B '
              '(want %.3f%%)' % ('ok' if good else 'not ok', dst, toks[k],
                                 size, total, want))
    else:
        want = 100.0 * size * 8 / 2.0 / mx
        good = abs(shown - want) <= 0.05 * want + res(want)
        print('%s - -m %g %s: %s for %d B in 2 s (want %.2f%% +- 5%%)' %
              ('ok' if good else 'not ok', mx, dst, toks[k], size, want))
        want = 100.0 * rate / mx
        good = abs(shown - want) <= 0.005 * want + res(want) + 1e-9
        print('%s - -m %g %s: %s for the Rate shown, %s (want %.3f%%)' %
              ('ok' if good else 'not ok', mx, dst, toks[k], toks[k - 1], want))
PY
	}
	# pct_run MODE ARGS...: start, send the burst after a refresh, save the
	# screen that shows it (every row's % not 0), quit, check.
	pct_run() {
		local mode=$1 up i; shift
		rm -f "$TMP/pct.json" "$TMP/pct.screen"
		start 100 30 C.UTF-8 ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -w 2 --snapshot "$TMP/pct.json" "$@"
		wait_for '^Proto' > /dev/null
		up=$(screen | grep -o ' up [0-9a-z]*' | head -1)
		for i in $(seq 100); do # a refresh has just happened
			[ "$(screen | grep -o ' up [0-9a-z]*' | head -1)" != "$up" ] && break
			sleep 0.04
		done
		ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/pct.pcap" > /dev/null
		for i in $(seq 100); do
			screen > "$TMP/pct.try"
			if [ "$(grep -Ec '10[.]1[.]0[.]2:600[123] .* [0-9.]*[1-9][0-9.]*%' "$TMP/pct.try")" = 3 ]; then
				mv "$TMP/pct.try" "$TMP/pct.screen"
				break
			fi
			sleep 0.05
		done
		check "-m ($mode): a screen shows the burst's three rows" test -s "$TMP/pct.screen"
		sed -n '2p;/^Proto/,$p' "$TMP/pct.screen" 2> /dev/null | grep -v '^ *$' | sed 's/^/# | /'
		keys q
		check "-m ($mode): q exits 0" wait_for 'EXITED 0'
		check "-m ($mode): the snapshot counted the burst (84 packets)" test "$(jq .totals.packets "$TMP/pct.json")" = 84
		pct_check "$mode" "$TMP/pct.screen" "$TMP/pct.json" "${MAXBPS:-}" > "$TMP/pct.res"
		check "-m ($mode): a verdict for each figure" test "$(grep -c '^\(not \)\?ok - ' "$TMP/pct.res")" = "$([ "$mode" = peak ] && echo 3 || echo 6)"
		while read -r verdict rest; do
			if [ "$verdict" = ok ]; then ok "${rest#- }"; else not_ok "${rest#- }"; fi
		done < <(sed 's/^not ok/not_ok/' "$TMP/pct.res")
	}
	MAXBPS=
	pct_run peak
	check "-m: without it the header says the maximum is the peak" grep -q 'peak [0-9.kM]*  max (peak) ' "$TMP/pct.screen"
	MAXBPS=100000
	pct_run fixed -m "$MAXBPS"
	check "-m 100000: the header names the maximum" grep -q '  max 100k ' "$TMP/pct.screen"
	check "-m 100000: the 60000 B flow above 100% (240), not clamped" grep -Eq '10[.]1[.]0[.]2:6002 .* [1-9][0-9]{2,}%' "$TMP/pct.screen"
fi

# -m: bad values are a usage error naming the flag (one line, status 2)
for a in "-m 0" "--max-bps -1" "-m 10M" "-m garbage"; do
	"$PKTSTAT" -r "$TMP/eth.pcap" $a > /dev/null 2> "$TMP/m.err"
	rc=$?
	echo "# '$a': status $rc, $(head -1 "$TMP/m.err")"
	check "'$a': status 2, one line naming the flag" sh -c "test $rc -eq 2 && test \$(grep -c '^pktstat: ' '$TMP/m.err') -eq 1 && grep -q -- '^pktstat: ${a%% *} ' '$TMP/m.err'"
done
finish
