#!/bin/bash
# --group-by KEY: batch reports of groups. The oracle is the same file's
# flow report, regrouped by jq: every group's sent and received counts must
# equal the sums of its flows' directions, and the one-sided keys (port,
# proto, vlan) must add up to the totals exactly. No root, no network.
. "$(dirname "$0")/lib.sh"

"$GEN" eth "$TMP/t.pcap" "$TMP/exp.txt" || exit 1
"$PKTSTAT" -r "$TMP/t.pcap" -j > "$TMP/flows.json" || not_ok "flow report"

jqok() { jq -e "$@" > /dev/null; }
for key in host net port proto vlan; do
	"$PKTSTAT" -r "$TMP/t.pcap" -j --group-by "$key" > "$TMP/$key.json"
	check "--group-by $key: exit 0, groupBy says $key" jqok --arg k "$key" \
		'.groupBy == $k and (.groups | length) > 0' "$TMP/$key.json"
	check "--group-by $key: totals as in the flow report" test \
		"$(jq -c .totals "$TMP/$key.json")" = "$(jq -c .totals "$TMP/flows.json")"
	check "--group-by $key: sorted by bytes" jqok \
		'[.groups[].bytes] as $b | $b == ($b | sort | reverse)' "$TMP/$key.json"
done

# one-sided keys: every flow in exactly one group
for key in port proto vlan; do
	check "--group-by $key: groups add up to the total bytes" test \
		"$(jq '[.groups[].bytes] | add' "$TMP/$key.json")" = \
		"$(jq '[.flows[].size] | add' "$TMP/flows.json")"
done

# host: a host's sent bytes are the bytes of the directions it sent
hosts_oracle() {
	jq -r '[.flows[] | select(.proto != "other")] |
		(map({h: .srcIp, tx: .size, rx: 0}) + map({h: .dstIp, tx: 0, rx: .size})) |
		group_by(.h)[] | "\(.[0].h) \(map(.tx) | add) \(map(.rx) | add)"' "$1" | LC_ALL=C sort
}
hosts_oracle "$TMP/flows.json" > "$TMP/want.hosts"
jq -r '.groups[] | select(.group != "non-IP") | "\(.group) \(.txBytes) \(.rxBytes)"' \
	"$TMP/host.json" | LC_ALL=C sort > "$TMP/got.hosts"
if cmp -s "$TMP/want.hosts" "$TMP/got.hosts"; then
	ok "--group-by host: each host's sent/received bytes match its flows ($(wc -l < "$TMP/want.hosts") hosts)"
else
	not_ok "--group-by host: per-host bytes"; diff "$TMP/want.hosts" "$TMP/got.hosts" | head
fi

# net with a custom prefix: 10.0.0.1 and 10.0.0.2 share 10.0.0.0/8
"$PKTSTAT" -r "$TMP/t.pcap" -j --group-by net --group-prefix 8,32 > "$TMP/net8.json"
check "--group-prefix 8,32: an IPv4 /8 group" jqok \
	'[.groups[].group] | any(endswith(".0.0.0/8"))' "$TMP/net8.json"
check "--group-prefix 8,32: an IPv6 /32 group" jqok \
	'[.groups[].group] | any(endswith("::/32"))' "$TMP/net8.json"

# text and CSV say the same
"$PKTSTAT" -r "$TMP/t.pcap" --group-by proto > "$TMP/proto.txt"
check "text: one line per group" test "$(grep -c '^bitrate: .*, proto: ' "$TMP/proto.txt")" = \
	"$(jq '.groups | length' "$TMP/proto.json")"
check "text: the TCP group's bytes" grep -q \
	"bytes: $(jq '.groups[] | select(.group == "TCP") | .bytes' "$TMP/proto.json"), proto: TCP," "$TMP/proto.txt"

# bad values: exit 2 with one line naming the flag
for bad in "--group-by hosts" "--group-prefix 33" "--group-prefix 8,129"; do
	# shellcheck disable=SC2086
	"$PKTSTAT" -r "$TMP/t.pcap" $bad > /dev/null 2> "$TMP/err"
	st=$?
	check "$bad: exit 2, one line naming the flag" sh -c \
		"[ $st = 2 ] && head -1 '$TMP/err' | grep -q -- '${bad%% *}'"
done
finish
