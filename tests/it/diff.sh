#!/bin/bash
# pktstat --diff OLD.json NEW.json: the differences between two snapshots.
# The oracle: a generated capture cut in two with editcap. The diff between
# the report of the first part and the report of the whole must equal the
# report of the second part, flow by flow, per protocol and in total; the
# flows only in the second part are "new", and the reverse diff calls them
# "gone". No root, no network.
. "$(dirname "$0")/lib.sh"

"$GEN" eth "$TMP/all.pcap" "$TMP/exp.txt" || exit 1
n=$(capinfos -Mc "$TMP/all.pcap" | sed -n 's/^Number of packets: *//p')
k=$((n / 3))
editcap -r "$TMP/all.pcap" "$TMP/head.pcap" "1-$k" > /dev/null
editcap -r "$TMP/all.pcap" "$TMP/tail.pcap" "$((k + 1))-$n" > /dev/null
for f in head all tail; do
	"$PKTSTAT" -r "$TMP/$f.pcap" -j > "$TMP/$f.json" || not_ok "-r $f.pcap"
done

# flow identity as --diff defines it, with its counts
flows_of() { # JSON-report -> "proto src dst vlan icmp packets bytes" lines
	jq -r '.flows[] | "\(.proto) \(.src) \(.dst) \(.vlan) \(.icmpType) \(.packets) \(.size)"' "$1" | LC_ALL=C sort
}
jqok() { jq -e "$@" > /dev/null; }
diff_flows() { # diff-JSON -> the same lines, counts being the deltas
	jq -r '.flows[] | "\(.proto) \(.src) \(.dst) \(.vlan) \(.icmpType) \(.packets) \(.bytes)"' "$1" | LC_ALL=C sort
}

"$PKTSTAT" --diff -j "$TMP/head.json" "$TMP/all.json" > "$TMP/d.json"
check "--diff -j exits 0 and parses" jqok . "$TMP/d.json"
flows_of "$TMP/tail.json" > "$TMP/want"
diff_flows "$TMP/d.json" > "$TMP/got"
check "per-flow deltas equal the second part's flows ($(wc -l < "$TMP/want") flows)" \
	cmp -s "$TMP/want" "$TMP/got"
[ -s "$TMP/want" ] || not_ok "the second part has flows"
check "totals delta equals the second part's totals" test \
	"$(jq -c '.totals' "$TMP/d.json")" = \
	"$(jq -c '.totals | {packets, bytes}' "$TMP/tail.json")"
check "per-protocol deltas equal the second part's protocols" test \
	"$(jq -c '.protocols' "$TMP/d.json")" = \
	"$(jq -c '.protocols | map_values({packets, bytes})' "$TMP/tail.json")"

# new: in the whole but not in the first part
jq -r '.flows[] | "\(.proto) \(.src) \(.dst) \(.vlan) \(.icmpType)"' "$TMP/head.json" | LC_ALL=C sort -u > "$TMP/headkeys"
jq -r '.flows[] | "\(.proto) \(.src) \(.dst) \(.vlan) \(.icmpType)"' "$TMP/all.json" | LC_ALL=C sort -u > "$TMP/allkeys"
want_new=$(comm -13 "$TMP/headkeys" "$TMP/allkeys" | wc -l)
check "flows absent from OLD are new ($want_new)" test \
	"$(jq '[.flows[] | select(.status == "new")] | length' "$TMP/d.json")" = "$want_new"
check "summary counts agree with the list" test \
	"$(jq '.summary.new' "$TMP/d.json")" = "$want_new"
check "flows sorted by the size of the change" jqok \
	'[.flows[] | .bytes | fabs] as $b | $b == ($b | sort | reverse)' "$TMP/d.json"

# the reverse: the same flows vanish, every delta negated
"$PKTSTAT" --diff -j "$TMP/all.json" "$TMP/head.json" > "$TMP/r.json"
check "reverse diff: the new flows are gone" test \
	"$(jq '[.flows[] | select(.status == "gone")] | length' "$TMP/r.json")" = "$want_new"
check "reverse diff: totals negated" test \
	"$(jq '.totals.bytes' "$TMP/r.json")" = "$(jq '-.totals.bytes' "$TMP/d.json")"
check "a gone flow's delta is minus its old count" jqok \
	'[.flows[] | select(.status == "gone") | .bytes == -.oldBytes and .newBytes == 0] | all' \
	"$TMP/r.json"

# text: the same numbers
"$PKTSTAT" --diff "$TMP/head.json" "$TMP/all.json" > "$TMP/d.txt"
tb=$(jq '.totals.bytes' "$TMP/tail.json")
check "text totals line" grep -q "bytes: +$tb (" "$TMP/d.txt"
check "text lists one line per changed flow" test \
	"$(grep -c '^bytes: ' "$TMP/d.txt")" = "$(jq '.flows | length' "$TMP/d.json")"
check "identical snapshots: nothing changed" grep -q \
	'^Flows: 0 changed, 0 new, 0 gone' <("$PKTSTAT" --diff "$TMP/all.json" "$TMP/all.json")

# not exact: said
jq '.exact = false' "$TMP/head.json" > "$TMP/inexact.json"
check "an inexact snapshot is marked" grep -q 'not exact' \
	<("$PKTSTAT" --diff "$TMP/inexact.json" "$TMP/all.json")

# bad input: one line, exit 1 (2 for usage)
bad() { # DESCRIPTION WANT-STATUS ARGS...
	local d=$1 want=$2; shift 2
	"$PKTSTAT" "$@" > "$TMP/out" 2> "$TMP/err"
	local st=$?
	# a usage error adds the --help hint line
	if [ "$st" = "$want" ] && [ "$(wc -l < "$TMP/err")" = $((want == 2 ? 2 : 1)) ] &&
		[ ! -s "$TMP/out" ]; then
		ok "$d: exit $st, $(head -1 "$TMP/err")"
	else
		not_ok "$d: exit $st (want $want), stderr: $(head -c 300 "$TMP/err")"
	fi
}
# with several interfaces a flow is per interface ("iface"): the same
# conversation on two of them is two flows to --diff, not one. The old
# snapshot has every flow on eth0; the new one the same flows on eth0 and
# again on eth1: nothing changed on eth0, everything on eth1 is new.
jq '.flows |= map(. + {iface: "eth0"})' "$TMP/all.json" > "$TMP/if-old.json"
jq '.flows |= (map(. + {iface: "eth0"}) + map(. + {iface: "eth1"}))' \
	"$TMP/all.json" > "$TMP/if-new.json"
"$PKTSTAT" --diff -j "$TMP/if-old.json" "$TMP/if-new.json" > "$TMP/if-d.json"
check "iface: every eth1 flow new, with its interface, none on eth0 changed" jqok \
	--argjson n "$(jq '.flows | length' "$TMP/all.json")" \
	'(.flows | length) == $n and all(.flows[]; .status == "new" and .iface == "eth1")
	 and .summary.same == $n' "$TMP/if-d.json"
"$PKTSTAT" --diff "$TMP/if-old.json" "$TMP/if-new.json" > "$TMP/if-d.txt"
check "iface: the text diff names it" grep -q ', iface: eth1, new$' "$TMP/if-d.txt"

printf '{"flows":' > "$TMP/cut.json"
echo '{"a":1}' > "$TMP/other.json"
bad "missing file" 1 --diff "$TMP/nope.json" "$TMP/all.json"
bad "truncated JSON" 1 --diff "$TMP/cut.json" "$TMP/all.json"
bad "JSON that is no snapshot" 1 --diff "$TMP/all.json" "$TMP/other.json"
bad "a pcap instead of JSON" 1 --diff "$TMP/all.pcap" "$TMP/all.json"
bad "one file only" 2 --diff "$TMP/all.json"
finish
