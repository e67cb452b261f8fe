#!/bin/bash
# --metrics and --metrics-file against a real Prometheus server: pktstat
# captures veth0 of a namespace made here (batch mode with -t) and serves
# /metrics on the namespace's loopback; Debian's prometheus, started in
# the same namespace with a private config and storage directory and a
# 1 s scrape interval, scrapes it while known frames (tests/gen/mkpcap's
# Ethernet mix: TCP, UDP, ICMP, ICMPv6, ARP, VLAN, LLDP) arrive from the
# peer, and then the monitor's (under tmux) and the daemon's /metrics
# while that mix arrives again. Checked: Prometheus' HTTP API answers sum(pktstat_packets_total)
# and sum(pktstat_bytes_total) with exactly what the sender sent;
# promtool check metrics accepts the exposition; the textfile written at
# exit holds the same totals; a named counter session shows up with its
# label; a port already in use and a malformed address are one line and
# a failed exit; Prometheus' sum(pktstat_packets_total) for the monitor
# and for the daemon = the frames sent while they ran.
. "$(dirname "$0")/lib.sh"
need_root
for t in prometheus promtool curl jq; do
	command -v $t > /dev/null || { not_ok "export_prometheus: $t not installed (make deps)"; finish; exit 1; }
done
SEND=$B/tests/gen/sendframes
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
REPEAT=5
MPORT=9417
PPORT=9418
# the textfile directory: the capturing process runs as nobody (-Z), so
# it is one nobody can reach and write (TMP is root's, 0700)
TEXT=$(mktemp -d /tmp/pktstat-text.XXXXXX)
chown nobody "$TEXT"
at_exit_extra() {
	[ -n "${prom:-}" ] && kill "$prom" 2> /dev/null && wait "$prom" 2> /dev/null
	rm -rf "$TEXT"
}
cat > "$TMP/prometheus.yml" << EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: pktstat
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
  - job_name: monitor
    static_configs:
      - targets: ['127.0.0.1:9421']
  - job_name: daemon
    static_configs:
      - targets: ['127.0.0.1:9422']
EOF
mkdir "$TMP/tsdb"
ip netns exec "$NS_CAP" prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/tsdb" --web.listen-address=127.0.0.1:$PPORT \
	> "$TMP/prom.log" 2>&1 &
prom=$!
q() { # q EXPR: the instant value of a PromQL expression, or nothing
	ip netns exec "$NS_CAP" curl -s --max-time 2 \
		"http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty' 2> /dev/null
}

before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 25s -1 -j \
	--metrics 127.0.0.1:$MPORT --metrics-file "$TEXT/pktstat.prom" \
	--count arp=arp --metrics-top 3 > "$TMP/run.json" 2> "$TMP/run.err" &
pid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "capture socket appeared"
read -r _ sent _ sentb _ < <(ip netns exec "$NS_PEER" "$SEND" -n $REPEAT -p 2000 veth1 "$TMP/eth.pcap")
echo "# sent $sent frames, $sentb bytes"

# Prometheus scrapes once a second: poll its API for at most 20 s
got= gotb=
for i in $(seq 40); do
	got=$(q 'sum(pktstat_packets_total{job="pktstat"})')
	gotb=$(q 'sum(pktstat_bytes_total{job="pktstat"})')
	[ "$got" = "$sent" ] && [ "$gotb" = "$sentb" ] && break
	sleep 0.5
done
check "export_prometheus: Prometheus query sum(pktstat_packets_total) = $sent sent (got ${got:-nothing})" test "$got" = "$sent"
check "export_prometheus: Prometheus query sum(pktstat_bytes_total) = $sentb sent (got ${gotb:-nothing})" test "$gotb" = "$sentb"
up=$(q 'up{job="pktstat"}')
check "export_prometheus: Prometheus sees the target up (up = ${up:-nothing})" test "$up" = 1
sess=$(q 'pktstat_session_packets_total{session="arp"}')
exp_arp=$(awk '$1 == "flow" && $2 == "ARP" { s += $(NF-1) } END { print s * '$REPEAT' }' "$TMP/eth.exp")
check "export_prometheus: session label: counter arp ${sess:-nothing} = $exp_arp ARP frames sent" test "$sess" = "$exp_arp"

ip netns exec "$NS_CAP" curl -s --max-time 2 "http://127.0.0.1:$MPORT/metrics" > "$TMP/scrape.txt"
if promtool check metrics < "$TMP/scrape.txt" > "$TMP/promtool.out" 2>&1; then
	ok "export_prometheus: promtool check metrics passes on /metrics"
else
	not_ok "export_prometheus: promtool check metrics passes on /metrics"
	sed 's/^/# /' "$TMP/promtool.out"
fi
# --metrics-top 3: three series, rank 1 the largest flow (both directions)
for i in $(seq 20); do
	ip netns exec "$NS_CAP" curl -s --max-time 2 "http://127.0.0.1:$MPORT/metrics" > "$TMP/top.txt"
	top1=$(sed -n 's/^pktstat_top_flow_bytes{rank="1",.*} \([0-9]*\)$/\1/p' "$TMP/top.txt")
	[ "${top1:-0}" -gt 0 ] && [ "$(grep -c '^pktstat_top_flow_bytes{' "$TMP/top.txt")" = 3 ] && break
	sleep 0.25
done
ntop=$(grep -c '^pktstat_top_flow_bytes{' "$TMP/top.txt")
check "export_prometheus: --metrics-top 3: 3 series of pktstat_top_flow_bytes ($ntop)" test "$ntop" = 3
code=$(ip netns exec "$NS_CAP" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/nothing")
check "export_prometheus: other paths are 404 (got $code)" test "$code" = 404

# a second pktstat on the same port: one line, exit 1, while the first runs
ip netns exec "$NS_CAP" "$PKTSTAT" -i veth0 -t 1s -1 -j --metrics 127.0.0.1:$MPORT > /dev/null 2> "$TMP/busy.err"
rc=$?
check "export_prometheus: port in use: exit 1, one line ($rc: $(head -1 "$TMP/busy.err"))" test $rc -eq 1 -a "$(wc -l < "$TMP/busy.err")" -eq 1
"$PKTSTAT" -i lo -t 1s -1 -j --metrics 1.2.3:99999 > /dev/null 2> "$TMP/bad.err"
rc=$?
check "export_prometheus: malformed address: exit 2, one line ($rc: $(head -1 "$TMP/bad.err"))" test $rc -eq 2 -a "$(wc -l < "$TMP/bad.err")" -eq 1

kill -INT $pid
wait $pid
rc=$?
check "export_prometheus: pktstat exit 0 (got $rc)" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$TMP/run.err"
tot=$(jq .totals.packets "$TMP/run.json")
check "export_prometheus: report total = sent ($tot = $sent)" test "$tot" = "$sent"
big=$(jq '[.flows | group_by(.flow)[] | map(.size) | add] | max' "$TMP/run.json")
check "export_prometheus: rank 1 = the report's largest flow ($top1 = $big bytes)" test "${top1:-x}" = "$big"
tf=$TEXT/pktstat.prom
fp=$(awk '/^pktstat_packets_total\{/ { s += $2 } END { print s + 0 }' "$tf" 2> /dev/null)
fb=$(awk '/^pktstat_bytes_total\{/ { s += $2 } END { print s + 0 }' "$tf" 2> /dev/null)
check "export_prometheus: textfile at exit: $fp packets, $fb bytes = sent" test "$fp" = "$sent" -a "$fb" = "$sentb"
check "export_prometheus: textfile passes promtool check metrics" promtool check metrics < "$tf"
check "export_prometheus: no temporary file left beside the textfile" test "$(ls "$TEXT")" = pktstat.prom

# the monitor and the daemon: Prometheus scrapes them while they run
prom_sum() { # JOB: Prometheus' sum(pktstat_packets_total), polled until = $sent (10 s)
	local i v
	for i in $(seq 40); do
		v=$(q "sum(pktstat_packets_total{job=\"$1\"})")
		[ "$v" = "$sent" ] && break
		sleep 0.25
	done
	echo "${v:-nothing}"
}
tmux_setup export-prom
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
T new-session -d -s ui -x 120 -y 40 \
	"ip netns exec $NS_CAP env TERM=xterm-256color $PKTSTAT -i veth0 -q --snapshot $TMP/ui.txt --metrics 127.0.0.1:9421; sleep 30"
wait_capture_ready "$NS_CAP" "$before" || not_ok "monitor: capture socket appeared"
read -r _ sent _ < <(ip netns exec "$NS_PEER" "$SEND" -n 2 -p 2000 veth1 "$TMP/eth.pcap")
v=$(prom_sum monitor)
check "export_prometheus: monitor: Prometheus query sum(pktstat_packets_total) = $sent sent (got $v)" test "$v" = "$sent"
T send-keys -t ui q
S=$TEXT/d.sock
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
ip netns exec "$NS_CAP" "$PKTSTAT" -d -i veth0 --socket "$S" --metrics 127.0.0.1:9422 2> "$TMP/d.log" &
dpid=$!
wait_capture_ready "$NS_CAP" "$before" || not_ok "daemon: capture socket appeared"
read -r _ sent _ < <(ip netns exec "$NS_PEER" "$SEND" -n 2 -p 2000 veth1 "$TMP/eth.pcap")
v=$(prom_sum daemon)
check "export_prometheus: daemon: Prometheus query sum(pktstat_packets_total) = $sent sent (got $v)" test "$v" = "$sent"
kill -TERM $dpid
wait $dpid
finish
