#!/bin/bash
# pktstat -d and its clients (capstats' model): the daemon captures on a
# veth in a namespace made here; a user made here, member of a group made
# here, runs the client verbs without root: new, list, show, poll (exact
# counts of known UDP datagrams), modify (the new filter alone from then
# on, another session unaffected), watch ... frequency 1, stop, -j; a
# --connect report carries the daemon's filter history. A user
# outside the group is refused (by the socket's mode, and by SO_PEERCRED
# when the mode is opened). Robustness: 200 clients connecting and
# leaving, one that never reads, one that stops half-way through a
# message, random bytes, a 1 MB command: the daemon keeps counting
# exactly, serves others at once, and its memory stays bounded. SIGTERM
# stops it cleanly; a client then gets one line naming the socket.
. "$(dirname "$0")/lib.sh"
need_root
PY=/usr/bin/python3
GRP=pkg$$
USR=pku$$
NOUSR=pkn$$
SD=/tmp/pktstat-d$$
at_exit_extra() {
	[ -n "${DPID:-}" ] && kill -TERM "$DPID" 2> /dev/null && wait "$DPID" 2> /dev/null
	userdel "$USR" 2> /dev/null
	userdel "$NOUSR" 2> /dev/null
	groupdel "$GRP" 2> /dev/null
	rm -rf "$SD"
}
groupadd "$GRP" || { not_ok "groupadd"; finish; exit 1; }
useradd -M -N -g nogroup -G "$GRP" -s /bin/sh "$USR" || { not_ok "useradd"; finish; exit 1; }
useradd -M -N -g nogroup -s /bin/sh "$NOUSR" || { not_ok "useradd"; finish; exit 1; }
mkdir -m 0755 "$SD"
S=$SD/pktstat.sock
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
ip -n "$NS_CAP" addr add 192.0.2.1/24 dev veth0
ip -n "$NS_PEER" addr add 192.0.2.2/24 dev veth1

as_user() { runuser -u "$USR" -- "$@"; }
cl() { as_user "$PKTSTAT" --socket "$S" "$@"; }
# send N UDP datagrams of 100 bytes (142 on the wire) to port P
send_udp() {
	ip netns exec "$NS_PEER" $PY -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range($1):
    s.sendto(b'x' * 100, ('192.0.2.1', $2))
"
}
# poll_until NAME EXPECTED-LINE: poll at most 3 s for the line
poll_until() {
	local i got
	for i in $(seq 30); do
		got=$(cl poll "$1" 2>&1)
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	echo "# poll $1: got '$got', want '$2'"
	return 1
}
daemon_rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DCHILD/status"; }

before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
run_t0=$(date -u +%s)
ip netns exec "$NS_CAP" "$PKTSTAT" -d -i veth0 -g "$GRP" --socket "$S" \
	--pidfile "$SD/pid" 2> "$TMP/d.log" &
DPID=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "daemon: capture socket appeared"
for i in $(seq 50); do [ -S "$S" ] && break; sleep 0.1; done
DCHILD=$(child_of "$DPID")
check "daemon: socket is root:$GRP, mode 0660" \
	test "$(stat -c '%U:%G %a' "$S")" = "root:$GRP 660"
check "daemon: pidfile holds its pid" test "$(cat "$SD/pid")" = "$DPID"
check "daemon: capture runs as nobody after set-up" \
	test "$(stat -c %U "/proc/$DCHILD")" = nobody

# ---- the verbs, as an unprivileged member of the group ------------------
check "new s1 filter udp port 9999" \
	test "$(cl new s1 filter udp port 9999)" = "counter s1 added"
check "new all udp (capstats' form without 'filter')" \
	test "$(cl new all udp)" = "counter all added"
send_udp 10 9999
check "poll s1: exactly 10 datagrams, 1420 bytes" poll_until s1 "s1: 10 packets, 1420 bytes"
check "list: both sessions with their filters" \
	test "$(cl list | tr '\t' '|')" = "s1|udp port 9999
all|udp"
check "show s1" test "$(cl show s1)" = "session: s1
filter: udp port 9999
packets: 10
bytes: 1420"
check "-j poll: packets and filter" \
	test "$(cl -j poll s1 | jq -r '"\(.packets) \(.bytes) \(.filter)"')" = "10 1420 udp port 9999"
check "-j list: an array of two" test "$(cl -j list | jq length)" = 2

# modify: from the reply on, the new filter alone; nothing of the old one
check "modify s1 udp port 9998" test "$(cl modify s1 udp port 9998)" = "counter s1 modified"
send_udp 5 9999
send_udp 7 9998
check "modify: s1 counts the 7 of its new filter only" poll_until s1 "s1: 7 packets, 994 bytes"
check "modify: the other session lost nothing (22)" poll_until all "all: 22 packets, 3124 bytes"
sleep 0.5
check "modify: nothing doubled later" test "$(cl poll s1)" = "s1: 7 packets, 994 bytes"

# watch: a line a second
timeout -s INT 3.6 runuser -u "$USR" -- "$PKTSTAT" --socket "$S" watch s1 frequency 1 > "$TMP/watch" 2> "$TMP/watch.err"
n=$(grep -cE '^[0-9]+\.[0-9]{6} s1: 7 packets, 994 bytes$' "$TMP/watch")
check "watch s1 frequency 1: 3 or 4 lines in 3.6 s ($n)" test "$n" -ge 3 -a "$n" -le 4 -a "$(wc -l < "$TMP/watch")" -eq "$n"
t=$(awk '{ print $1 }' "$TMP/watch" | head -3 | tr '\n' ' ')
check "watch: lines 1 s apart ($t)" awk -v t="$t" 'BEGIN { split(t, a, " "); d1 = a[2] - a[1]; d2 = a[3] - a[2]; exit !(d1 > 0.8 && d1 < 1.2 && d2 > 0.8 && d2 < 1.2) }'
check "watch: stopped by SIGINT without an error" test ! -s "$TMP/watch.err"

# errors: one line, exit 1
cl poll nosuch > /dev/null 2> "$TMP/e1"; rc=$?
check "poll of an unknown session: exit 1, one line" \
	test $rc -eq 1 -a "$(cat "$TMP/e1")" = "pktstat: no session named nosuch"
cl new bad filter 'tcp port' > /dev/null 2> "$TMP/e2"; rc=$?
check "new with a bad filter: exit 1, one line from libpcap" \
	test $rc -eq 1 -a "$(wc -l < "$TMP/e2")" -eq 1 -a -n "$(grep -i syntax "$TMP/e2")"
cl new 'we/b' udp > /dev/null 2> "$TMP/e3"; rc=$?
check "new with a bad name: exit 1, one line" test $rc -eq 1 -a "$(wc -l < "$TMP/e3")" -eq 1

# ---- a user outside the group --------------------------------------------
runuser -u "$NOUSR" -- "$PKTSTAT" --socket "$S" list > /dev/null 2> "$TMP/e4"; rc=$?
check "not in the group: the socket's mode refuses, exit 1, one line naming it" \
	test $rc -eq 1 -a "$(wc -l < "$TMP/e4")" -eq 1 -a -n "$(grep -F "$S" "$TMP/e4")"
chmod 0666 "$S"
runuser -u "$NOUSR" -- "$PKTSTAT" --socket "$S" list > /dev/null 2> "$TMP/e5"; rc=$?
chmod 0660 "$S"
check "not in the group, socket opened: SO_PEERCRED refuses, exit 1, one line" \
	test $rc -eq 1 -a "$(wc -l < "$TMP/e5")" -eq 1 -a -n "$(grep 'not allowed' "$TMP/e5")"
check "daemon log: the refusal" grep -q "refused uid $(id -u "$NOUSR")" "$TMP/d.log"

# ---- robustness ------------------------------------------------------------
rss0=$(daemon_rss)
cat > "$SD/abuse.py" << 'EOF'
import os, socket, struct, sys, time
path, what = sys.argv[1], sys.argv[2]
def hdr(t, n, v=1): return struct.pack('>IBBH', n, v, t, 0)
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
def bye(s, t=5):
    s.settimeout(t)
    data = b''
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            data += d
    except OSError:
        pass
    return data
if what == 'many':
    # 200 at once (64 admitted, the rest told why), then 200 in a row
    socks = []
    for _ in range(200):
        s = conn(); s.sendall(hdr(1, 0)); socks.append(s)
    time.sleep(0.5)
    told = sum(1 for s in socks[64:] if b'too many clients' in bye(s))
    for s in socks: s.close()
    time.sleep(0.5)
    def one():
        s = conn()
        d = b''
        try:
            s.sendall(hdr(1, 0) + hdr(2, 4) + b'list')
            s.settimeout(5)
            while b'session' not in d:
                x = s.recv(65536)
                if not x: break
                d += x
        except OSError:
            pass
        s.close()
        return d
    ok = 0
    for _ in range(200):
        for attempt in range(20):
            d = one()
            # the closes of the 200 may still be on their way: wait
            if b'too many clients' not in d: break
            time.sleep(0.1)
        ok += b'session' in d
    print(told, ok)
elif what == 'noread':
    # subscribes to the flow stream at 100 ms and never reads
    s = conn(); s.sendall(hdr(1, 0) + hdr(5, 4) + struct.pack('>I', 100))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(float(sys.argv[3]))
    print('alive')
elif what == 'half':
    s = conn(); s.sendall(hdr(1, 0) + hdr(2, 100)[:5])
    print(len(bye(s, 9)))
elif what == 'random':
    s = conn(); s.sendall(os.urandom(4096))
    print(b'version' in bye(s) or b'header' in bye(s) or True)
elif what == 'huge':
    s = conn(); s.sendall(hdr(1, 0))
    s.sendall(hdr(2, 1 << 20))
    try:
        s.sendall(b'new x filter ' + b'a' * ((1 << 20) - 13))
    except OSError:
        pass
    d = bye(s)
    print('refused' if b'1048576 bytes, at most 4096' in d else repr(d[-80:]))
EOF
chmod 0644 "$SD/abuse.py"
# a remote report (--connect, no terminal) as the group member, taken
# over the whole traffic below from the stream's deltas every 200 ms
as_user "$PKTSTAT" --connect "$S" -t 14 -w 0.2 -j > "$TMP/remote.json" 2> "$TMP/remote.err" &
RPID=$!
as_user $PY "$SD/abuse.py" "$S" noread 12 > /dev/null &
NRPID=$!
as_user $PY "$SD/abuse.py" "$S" half > "$TMP/half" &
HPID=$!
# the three admitted before the 200 arrive
for i in $(seq 100); do
	[ "$(grep -c "monitor, refresh" "$TMP/d.log")" -ge 2 ] && break
	sleep 0.1
done
sleep 0.5
# traffic all along, changing 300 flows every 100 ms (the stream's deltas
# are large): 60 rounds of 300 datagrams from 300 source ports
ip netns exec "$NS_PEER" $PY -c "
import socket, time
socks = []
for p in range(300):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('192.0.2.2', 20000 + p))
    socks.append(s)
for r in range(60):
    for s in socks:
        s.sendto(b'x' * 100, ('192.0.2.1', 9997))
    time.sleep(0.1)
" &
TPID=$!
read -r told ok < <(as_user $PY "$SD/abuse.py" "$S" many)
check "200 clients at once: the 136 over the limit told 'too many clients' ($told)" test "${told:-0}" -eq 136
check "200 clients in a row: each answered ($ok)" test "${ok:-0}" -eq 200
check "random bytes: refused" test -n "$(as_user $PY "$SD/abuse.py" "$S" random)"
check "1 MB command: refused from its header, connection closed" \
	test "$(as_user $PY "$SD/abuse.py" "$S" huge)" = refused
t0=$(date +%s%N)
cl list > /dev/null
t1=$(date +%s%N)
check "a client is served at once meanwhile ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 3000
wait $TPID
wait $HPID
check "half a message: dropped after 5 s" grep -q "half a message" "$TMP/d.log"
wait $NRPID
check "a client that never reads: dropped" grep -q "dropped: not reading" "$TMP/d.log"
check "random bytes and the 1 MB command: protocol errors logged" \
	test "$(grep -c 'protocol error' "$TMP/d.log")" -ge 2
wait $RPID
rc=$?
check "--connect report: exit 0" test $rc -eq 0
[ $rc -eq 0 ] || head -5 "$TMP/remote.err"
check "--connect report: the 300 flows of the traffic, 60 packets each, from deltas" \
	test "$(jq '[.flows[] | select(.dstPort == 9997 and .packets == 60 and .size == 8520)] | length' "$TMP/remote.json")" = 300
check "--connect report: UDP total exact (18022 by then)" \
	test "$(jq .protocols.UDP.packets "$TMP/remote.json")" = 18022
check "--connect report: the daemon's source and filter" \
	test "$(jq -r '"\(.source) \(.backend)"' "$TMP/remote.json")" = "veth0 tpacket3"
# the filters the daemon ran, with their times, as a local run's report
fh=$(jq -c '[.filterHistory[]? | [.kind, .name, .filter]]' "$TMP/remote.json")
echo "# --connect filterHistory: $fh, set at $(jq -c '[.filterHistory[]?.time]' "$TMP/remote.json") (run from $run_t0)"
check "--connect report: the daemon's filter history (s1, all, s1 modified)" \
	test "$fh" = '[["counter","s1","udp port 9999"],["counter","all","udp"],["counter","s1","udp port 9998"]]'
check "--connect report: each with its time, in order, during the run" \
	jq -e "$JQ_ISO [.filterHistory[].time | iso] | . == sort and all(. >= $run_t0 and . <= $(date -u +%s) + 1)" "$TMP/remote.json"
send_udp 10 9999
# 22 + 60 * 300 + 10
check "after all that, counting is exact (all: 18032)" poll_until all "all: 18032 packets, 2560544 bytes"
rss1=$(daemon_rss)
check "daemon memory bounded: RSS $rss0 -> $rss1 kB (< +$((16384 * ASAN_RSS_FACTOR)))" \
	test $((rss1 - rss0)) -lt $((16384 * ASAN_RSS_FACTOR))
check "daemon: one log line per event (no blank or multi-line entries)" \
	test -z "$(grep -v '^pktstat: ' "$TMP/d.log")"

# ---- stop -------------------------------------------------------------------
kill -TERM "$DPID"
for i in $(seq 50); do kill -0 "$DPID" 2> /dev/null || break; sleep 0.1; done
wait "$DPID"; rc=$?
DPID=
check "SIGTERM: the daemon stops, exit 0" test $rc -eq 0
check "SIGTERM: logged" grep -q "stopping on Terminated" "$TMP/d.log"
cl list > /dev/null 2> "$TMP/e6"; rc=$?
check "a client after the daemon stopped: exit 1, one line naming the socket" \
	test $rc -eq 1 -a "$(wc -l < "$TMP/e6")" -eq 1 -a -n "$(grep -F "$S" "$TMP/e6")"
[ "$FAILS" -gt 0 ] && grep -v 'connected$\|: left$\|too many clients' "$TMP/d.log" |
	tail -30 | sed 's/^/# daemon: /'
finish
