#!/bin/bash
# Process attribution, live: in a namespace, small python3 senders of
# known pid and comm - a long-lived TCP stream run as nobody, a UDP
# sender, a loop of short connections (each a few ms), and a TCP sender
# in a cgroup of its own - send to a peer namespace while pktstat
# captures, four times at once: tpacket3 (the /proc resolver), the ebpf
# backend (with the eBPF attributor) under ip netns exec (whose own /sys
# has no cgroup v2 mount: the attributor mounts one of its own), tpacket3
# with --procs-ebpf under nsenter --net (the host's mounts) and the
# monitor. The JSON reports must name each flow's pid, comm, user (and
# that cgroup) exactly; with the resolver alone a short connection is
# either named right or not at all (never another process), with the
# attributor every one is named, both ways; --group-by process sums by
# "comm[pid]"; the text report has the process line; the monitor shows
# the Process and App columns, sorts and filters by process and shows the
# details. A file (-r) names no process and says so once: one text line,
# one JSON member, nothing per row, no CSV column.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
need_root

CGROOT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
netns_setup || { not_ok "netns"; finish; exit 1; }
ip -n "$NS_CAP" addr add 10.77.0.1/24 dev veth0
ip -n "$NS_PEER" addr add 10.77.0.2/24 dev veth1
CG=
at_exit_extra() {
	[ -n "${PIDS:-}" ] && kill $PIDS 2> /dev/null
	wait 2> /dev/null
	[ -n "$CG" ] && rmdir "$CG" 2> /dev/null
	true
}

# the peer: a TCP sink on 5001, 5003, 5004 and a UDP sink on 5002, for
# at most 12 s
cat > "$TMP/sink.py" << 'PYEOF'
import selectors, socket, time
sel = selectors.DefaultSelector()
for port in (5001, 5003, 5004):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.2", port)); s.listen(64); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "listen")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("10.77.0.2", 5002)); sel.register(u, selectors.EVENT_READ, "udp")
end = time.time() + 12
while time.time() < end:
    for k, _ in sel.select(0.2):
        if k.data == "listen":
            c, _ = k.fileobj.accept(); c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, "conn")
        elif k.data == "udp":
            k.fileobj.recv(2048)
        else:
            try:
                d = k.fileobj.recv(65536)
            except OSError:
                d = b""
            if not d:
                sel.unregister(k.fileobj); k.fileobj.close()
PYEOF
# a sender (read from stdin: nobody cannot read $TMP): send.py NAME KIND
# PORT [CGROUP]: names itself NAME, waits (2 s at most) to be moved into
# the cgroup if one is named (ip netns exec has its own /sys: the script
# moves it), sends for about 6 s
cat > "$TMP/send.py" << 'PYEOF'
import os, socket, sys, time
name, kind, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
open("/proc/self/comm", "w").write(name)
if len(sys.argv) > 4:
    for _ in range(40):
        if sys.argv[4] in open("/proc/self/cgroup").read():
            break
        time.sleep(0.05)
end = time.time() + 6
dst = ("10.77.0.2", port)
if kind == "stream":
    s = socket.create_connection(dst, timeout=5)
    while time.time() < end:
        s.sendall(b"x" * 1000); time.sleep(0.05)
    s.close()
elif kind == "udp":
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while time.time() < end:
        u.sendto(b"y" * 200, dst); time.sleep(0.05)
elif kind == "short":
    for _ in range(30):
        if time.time() > end:
            break
        s = socket.create_connection(dst, timeout=5)
        s.sendall(b"z" * 100); s.close(); time.sleep(0.1)
PYEOF

ip netns exec "$NS_PEER" $PY "$TMP/sink.py" &
PIDS="$!"
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 8s --snapshot "$TMP/r.json" \
	> "$TMP/r.txt" 2> "$TMP/r.err" &
PKT=$!
# the eBPF attributor both ways: asked for under nsenter (the host's
# /sys/fs/cgroup), implied by the ebpf backend under ip netns exec
nsenter --net=/run/netns/"$NS_CAP" "$PKTSTAT" -i veth0 -t 8s -j \
	--group-by process --procs-ebpf > "$TMP/g.json" 2> "$TMP/g.err" &
PKT2=$!
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 8s -j --backend ebpf \
	> "$TMP/e.json" 2> "$TMP/e.err" &
PKT3=$!
# the monitor too, wide enough for the Process and App columns
tmux_setup procs
T new-session -d -s ui -x 200 -y 60 \
	"env TERM=xterm-256color LC_ALL=C.UTF-8 ip netns exec $NS_CAP $PKTSTAT -i veth0 -w 0.3 -k 60 -q -t 30s; sleep 30"
wait_capture_ready "$NS_CAP" "$((before + 3))" || not_ok "captures ready"
sleep 0.5 # the ebpf backend's programs: no packet socket to wait for
sleep 0.3
if [ -n "$CGROOT" ] && mkdir "$CGROOT/pktstat-proc-$$" 2> /dev/null; then
	CG=$CGROOT/pktstat-proc-$$
fi
# exec'd by ip netns exec and setpriv: $! is the sender itself
ip netns exec "$NS_CAP" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	$PY - pst-stream stream 5001 < "$TMP/send.py" &
P_STREAM=$!
ip netns exec "$NS_CAP" $PY - pst-udp udp 5002 < "$TMP/send.py" &
P_UDP=$!
ip netns exec "$NS_CAP" $PY - pst-short short 5003 < "$TMP/send.py" &
P_SHORT=$!
ip netns exec "$NS_CAP" $PY - pst-cg stream 5004 ${CG:+pktstat-proc-$$} < "$TMP/send.py" &
P_CG=$!
[ -n "$CG" ] && echo "$P_CG" > "$CG/cgroup.procs"
PIDS="$PIDS $P_STREAM $P_UDP $P_SHORT $P_CG"
check "monitor: Process and App columns" wait_for 'Process.*App' 5
T send-keys -t ui u
check "monitor: u sorts by process" wait_for 'sort: process' 3
# named rows first: the short connections' unnamed ones go below
check "monitor: the UDP sender named in its row" wait_for "pst-udp\[$P_UDP\]" 5
T send-keys -t ui /
T send-keys -t ui -l "pst-stream"
T send-keys -t ui Enter
check "monitor: the display filter matches the process (one row)" \
	wait_for 'find: pst-stream (1)' 5
check "monitor: the filtered table has the stream, not the UDP sender" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -q 'pst-stream\[' &&
		! tmux -L $SOCK capture-pane -p -t ui | grep -q 'pst-udp\['"
T send-keys -t ui Enter
check "monitor: Enter shows the pid, user and command line" \
	wait_for "process: pst-stream  pid $P_STREAM  user nobody" 3
screen | grep -q "command: /usr/bin/python3 - pst-stream stream 5001" ||
	not_ok "monitor: the command line in the details"
wait $PKT $PKT2 $PKT3

# rows of port P (either direction) in report R (r.json), as
# "pid comm user cgroup"
rows() {
	jq -r --argjson p "$1" '.flows[] | select(.srcPort == $p or .dstPort == $p) |
		"\(.pid // "-") \(.comm // "-") \(.user // "-") \(.cgroup // "-")"' \
		"$TMP/${2:-r}.json" | sort -u
}
check "report written" test -s "$TMP/r.json"
check "stream (nobody): pid $P_STREAM pst-stream nobody" \
	test "$(rows 5001 | cut -d' ' -f1-3)" = "$P_STREAM pst-stream nobody"
check "udp sender: pid $P_UDP pst-udp root" \
	test "$(rows 5002 | cut -d' ' -f1-3)" = "$P_UDP pst-udp root"
if [ -n "$CG" ]; then
	check "cgroup sender: pid $P_CG, cgroup /${CG##*/}" \
		test "$(rows 5004)" = "$P_CG pst-cg root /${CG##*/}"
else
	check "cgroup sender: pid $P_CG (no cgroup v2 here)" \
		test "$(rows 5004 | cut -d' ' -f1-3)" = "$P_CG pst-cg root"
fi
# short connections: named right or not named, never someone else
short_all=$(jq '[.flows[] | select(.dstPort == 5003)] | length' "$TMP/r.json")
short_named=$(jq --argjson p "$P_SHORT" '[.flows[] | select(.dstPort == 5003 and .pid == $p and .comm == "pst-short")] | length' "$TMP/r.json")
short_wrong=$(jq --argjson p "$P_SHORT" '[.flows[] | select((.dstPort == 5003 or .srcPort == 5003) and has("pid") and .pid != $p)] | length' "$TMP/r.json")
echo "# short connections: $short_named of $short_all named by the resolver (tpacket3)"
check "short connections: several flows, none named wrongly" \
	test "$short_all" -ge 10 -a "$short_wrong" -eq 0
check "ebpf: report written, no error line" test -s "$TMP/e.json" -a ! -s "$TMP/e.err"
check "ebpf: stream (nobody): pid $P_STREAM pst-stream nobody" \
	test "$(rows 5001 e | cut -d' ' -f1-3)" = "$P_STREAM pst-stream nobody"
check "ebpf: udp sender: pid $P_UDP pst-udp root" \
	test "$(rows 5002 e | cut -d' ' -f1-3)" = "$P_UDP pst-udp root"
e_all=$(jq '[.flows[] | select(.dstPort == 5003)] | length' "$TMP/e.json")
e_named=$(jq --argjson p "$P_SHORT" '[.flows[] | select(.dstPort == 5003 and .pid == $p and .comm == "pst-short" and .user == "root")] | length' "$TMP/e.json")
echo "# short connections: $e_named of $e_all named with the eBPF attributor"
check "ebpf under ip netns exec: every short connection named (pid, comm, user)" \
	test "$e_all" -ge 10 -a "$e_named" = "$e_all"
g_short=$(jq -r --arg l "pst-short[$P_SHORT]" '[.groups[] | select(.group == $l) | .flows] | add // 0' "$TMP/g.json")
check "--procs-ebpf under nsenter: every short connection named ($g_short of $short_all)" \
	test "$g_short" = "$short_all"
check "text report: a process line for the stream" \
	grep -q "^    process: pst-stream\[$P_STREAM\] user nobody" "$TMP/r.txt"
check "--group-by process: pst-udp[$P_UDP] with its flow" \
	test "$(jq -r --arg l "pst-udp[$P_UDP]" '.groups[] | select(.group == $l) | .flows' "$TMP/g.json")" = 1
check "--group-by process: pst-stream sent what it sent" \
	test "$(jq -r --arg l "pst-stream[$P_STREAM]" '.groups[] | select(.group == $l) | .txBytes > .rxBytes' "$TMP/g.json")" = true
check "no error line" test ! -s "$TMP/r.err" -a ! -s "$TMP/g.err"

# a file: no process fields; said once that processes are unknown
ip netns exec "$NS_CAP" tcpdump -i veth0 -w "$TMP/f.pcap" -c 4 2> /dev/null &
TD=$!
sleep 0.5
ip netns exec "$NS_CAP" $PY -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"q", ("10.77.0.2", 5002)) for _ in range(4)]'
wait $TD
"$PKTSTAT" -r "$TMP/f.pcap" -j > "$TMP/f.json" 2> "$TMP/f.err"
check "-r: flows, none with process fields, nothing on stderr" \
	test "$(jq '[.flows[] | select(has("pid") or has("user"))] | length' "$TMP/f.json")" = 0 \
	-a "$(jq '.flows | length' "$TMP/f.json")" -ge 1 -a ! -s "$TMP/f.err"
check "-r: JSON says once: processes unknown, read from a file" \
	test "$(jq -r .processes "$TMP/f.json")" = "unknown: read from a file" \
	-a "$(grep -o '"processes"' "$TMP/f.json" | wc -l)" = 1
"$PKTSTAT" -r "$TMP/f.pcap" --snapshot "$TMP/f.csv" > "$TMP/f.txt" 2> "$TMP/f.err"
check "-r: text says it on one line, no process line under a row" \
	test "$(grep -c '^Processes: unknown (read from a file)$' "$TMP/f.txt")" = 1 \
	-a "$(grep -ci process "$TMP/f.txt")" = 1 -a ! -s "$TMP/f.err"
check "-r: CSV has no process column" \
	sh -c "head -n1 '$TMP/f.csv' | grep -q ',appDetail' &&
		! head -n1 '$TMP/f.csv' | grep -qE '(^|,)(pid|comm|user|cgroup)(,|\$)'"

finish
