#!/bin/bash
# pktstat -r agrees with tshark on real captures: per-protocol frames and
# bytes (tshark -z io,stat with the filters ip, ipv6, tcp, udp, arp, frame)
# and per-conversation frames and bytes (tshark -z conv,tcp / conv,udp;
# tshark rounds bytes above 10 kB to "kB", so bytes are compared where it
# prints them exactly).
# The files (tests/golden/tshark-files.txt) are the corpus captures with at
# least 30 packets and no encapsulation that the two tools classify
# differently: pktstat counts a packet once, by its outermost IP layer
# (GRE/Geneve/ERSPAN payloads are not re-counted) and counts every IP
# fragment under its protocol; tshark counts inner layers and only
# reassembled fragments.
. "$(dirname "$0")/lib.sh"
need_corpus
nfiles=0; nconv=0
while read -r name; do
	f=$CORPUS/$name
	[ -f "$f" ] || { not_ok "$name present"; continue; }
	nfiles=$((nfiles + 1))
	"$PKTSTAT" -r "$f" -j > "$TMP/p.json" 2>/dev/null
	mine=$(jq -r '[.protocols.IPv4.packets,.protocols.IPv4.bytes,.protocols.IPv6.packets,.protocols.IPv6.bytes,.protocols.TCP.packets,.protocols.TCP.bytes,.protocols.UDP.packets,.protocols.UDP.bytes,.protocols.ARP.packets,.protocols.ARP.bytes,.totals.packets,.totals.bytes]|join(" ")' "$TMP/p.json")
	# one tshark run (its start-up dominates): io,stat and conv together
	tshark -r "$f" -q -z 'io,stat,0,ip,ipv6,tcp,udp,arp,frame' -z conv,tcp -z conv,udp > "$TMP/tshark.out" 2>/dev/null
	theirs=$(awk -F'|' '/<>/ {s=""; for(i=3;i<=NF;i++){gsub(/ /,"",$i); if($i!="") s=s" "$i}; print substr(s,2)}' "$TMP/tshark.out")
	if [ "$mine" = "$theirs" ]; then ok "$name: protocol totals equal tshark's"; else not_ok "$name: protocol totals: pktstat '$mine' tshark '$theirs'"; fi
	# conversations: "PROTO A B frames bytes" with A < B, bytes or "-"
	jq -r '.flows[] | select(.proto=="TCP" or .proto=="UDP") | [.proto, .src, .dst, .packets, .size] | @tsv' "$TMP/p.json" |
		sed 's/\[\([^]]*\)\]:/\1:/g' |
		awk -F'\t' '{ a=$2; b=$3; k=(a<b)? $1" "a" "b : $1" "b" "a; p[k]+=$4; by[k]+=$5 } END { for (k in p) print k, p[k], by[k] }' |
		LC_ALL=C sort > "$TMP/mine.conv"
	awk '
		/^TCP Conversations/ {pr="TCP"} /^UDP Conversations/ {pr="UDP"}
		$2 == "<->" {
			a=$1; b=$3; k=(a<b)? pr" "a" "b : pr" "b" "a
			# total frames and bytes: the 3rd frames/bytes pair
			n=0; for (i=4; i<=NF; i++) if ($i ~ /^(bytes|kB|MB|GB)$/) { n++; if (n==3) { fr=$(i-2); by=($i=="bytes")? $(i-1) : "-" } }
			print k, fr, by
		}' "$TMP/tshark.out" | LC_ALL=C sort > "$TMP/theirs.conv"
	# where tshark rounded the bytes, compare frames only
	join -j1 <(awk '{print $1"|"$2"|"$3, $4, $5}' "$TMP/mine.conv") \
		<(awk '{print $1"|"$2"|"$3, $4, $5}' "$TMP/theirs.conv") > "$TMP/joined"
	n_m=$(wc -l < "$TMP/mine.conv"); n_t=$(wc -l < "$TMP/theirs.conv"); n_j=$(wc -l < "$TMP/joined")
	bad=$(awk '$2 != $4 || ($5 != "-" && $3 != $5)' "$TMP/joined" | wc -l)
	nconv=$((nconv + n_j))
	if [ "$n_m" -eq "$n_t" ] && [ "$n_j" -eq "$n_m" ] && [ "$bad" -eq 0 ]; then
		ok "$name: $n_j TCP/UDP conversations equal tshark's"
	else
		not_ok "$name: conversations differ (pktstat $n_m, tshark $n_t, joined $n_j, mismatched $bad)"
		diff "$TMP/mine.conv" "$TMP/theirs.conv" | head -5
	fi
done < tests/golden/tshark-files.txt
echo "# compared $nfiles captures, $nconv conversations"
check "compared at least 40 captures" test $nfiles -ge 40
finish
