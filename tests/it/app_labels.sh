#!/bin/bash
# App labels against tshark as the oracle (tests/it/app_oracle.py): the
# corpus captures that hold HTTP, TLS, QUIC, SSH and DNS, and captures
# made here on a namespace's loopback - HTTP (python3 http.server), TLS
# with SNI (openssl s_server / s_client), DNS (a python3 responder, dig) -
# read back with -r, while a live pktstat (tpacket3) watches the same
# traffic and must label the same flows.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
ORACLE=$(dirname "$0")/app_oracle.py
CORPUS=${PKTSTAT_CORPUS:-../shared/pcaps/tcpdump-tests}

oracle() { # oracle NAME PCAP JSON: no mismatch, at least one label
	local r
	r=$($PY "$ORACLE" "$2" "$3")
	grep '^mismatch' <<< "$r" | head -5 | sed 's/^/# /'
	set -- "$1" $(sed -n 's/^labels //p' <<< "$r")
	check "$1: $2 app labels agree with tshark, $3 do not" \
		test "${2:-0}" -ge 1 -a "${3:-1}" -eq 0
}

if [ -d "$CORPUS" ]; then
	for f in ssh ipv4_tcp_http_xml dns_udp dns_tcp dnssec quic_handshake \
		quic_retry gquic edns-opts; do
		"$PKTSTAT" -r "$CORPUS/$f.pcap" -j > "$TMP/c.json" 2> /dev/null
		oracle "$f.pcap" "$CORPUS/$f.pcap" "$TMP/c.json"
	done
else
	echo "# SKIP corpus part: no $CORPUS"
fi

need_root
NS=pktapp$$
ip netns add "$NS" || { not_ok "netns"; finish; exit 1; }
at_exit_extra() {
	[ -n "${PIDS:-}" ] && kill $PIDS 2> /dev/null
	wait 2> /dev/null
	ip netns del "$NS" 2> /dev/null
}
ip -n "$NS" link set lo up
IN() { ip netns exec "$NS" "$@"; }

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=example.test \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2> /dev/null
mkdir "$TMP/www" && echo hello > "$TMP/www/big.bin"
cat > "$TMP/dns.py" << 'PYEOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
s.settimeout(10)
for _ in range(4):  # a few queries at most, then exit
    try:
        q, a = s.recvfrom(512)
    except socket.timeout:
        break
    # the question back, QR and RA set, NXDOMAIN
    s.sendto(q[:2] + bytes([q[2] | 0x80, 0x83]) + q[4:6] + b"\0\0\0\0\0\0" + q[12:], a)
PYEOF

# started directly (ip netns exec execs it): $! is tcpdump itself
ip netns exec "$NS" tcpdump -i lo -w "$TMP/live.pcap" -U -s 0 2> /dev/null &
PIDS="$!"
ip netns exec "$NS" "$PKTSTAT" -i lo -t 8s -1 -j > "$TMP/live.json" 2> "$TMP/live.err" &
PKT=$!
(cd "$TMP/www" && exec ip netns exec "$NS" $PY -m http.server -b 127.0.0.1 8080) > /dev/null 2>&1 &
PIDS="$PIDS $!"
ip netns exec "$NS" openssl s_server -accept 4433 -cert "$TMP/cert.pem" -key "$TMP/key.pem" \
	-naccept 1 -quiet < /dev/null > /dev/null 2>&1 &
PIDS="$PIDS $!"
ip netns exec "$NS" $PY "$TMP/dns.py" &
PIDS="$PIDS $!"
sleep 1.5
IN $PY -c 'import urllib.request as u; u.urlopen("http://127.0.0.1:8080/big.bin", timeout=5).read()' ||
	not_ok "http client"
echo Q | IN timeout 5 openssl s_client -connect 127.0.0.1:4433 \
	-servername example.test > /dev/null 2>&1
IN dig +tries=1 +time=2 @127.0.0.1 example.test A > /dev/null
wait $PKT
sleep 0.5
kill $PIDS 2> /dev/null
wait 2> /dev/null
PIDS=

"$PKTSTAT" -r "$TMP/live.pcap" -j > "$TMP/file.json" 2> /dev/null
oracle "captured here" "$TMP/live.pcap" "$TMP/file.json"
detail() { # detail JSON APP: the detail texts of APP's flows
	jq -r --arg a "$2" '.flows[] | select(.app == $a and .appSource == "payload") | .appDetail // ""' "$1" | sort -u
}
for src in file live; do
	j=$TMP/$src.json
	check "$src: HTTP request and status (got '$(detail "$j" http | head -1)')" \
		grep -qx '200 GET /big.bin host=127.0.0.1:8080' <(detail "$j" http)
	check "$src: TLS version and SNI (got '$(detail "$j" tls | head -1)')" \
		grep -qx 'TLSv1.3 sni=example.test' <(detail "$j" tls)
	check "$src: DNS query (got '$(detail "$j" dns | head -1)')" \
		grep -qx 'A example.test' <(detail "$j" dns)
done
check "live and file agree on every flow's label" \
	diff <(jq -r '.flows[] | select(.proto == "TCP" or .proto == "UDP") | "\(.src) \(.dst) \(.app // "-") \(.appDetail // "-")"' "$TMP/file.json" | sort) \
	<(jq -r '.flows[] | select(.proto == "TCP" or .proto == "UDP") | "\(.src) \(.dst) \(.app // "-") \(.appDetail // "-")"' "$TMP/live.json" | sort)
finish
