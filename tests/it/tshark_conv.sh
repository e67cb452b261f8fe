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
# one_capture NAME I: the comparisons of one capture, as "ok - " and
# "not ok - " lines, then "conv N" (conversations compared); its files
# are suffixed I, so captures can be compared side by side
one_capture() {
	local name=$1 f=$CORPUS/$1 t=$TMP/$2 mine theirs n_m n_t n_j bad
	[ -f "$f" ] || { echo "not ok - $name present"; return; }
	"$PKTSTAT" -r "$f" -j > "$t.p.json" 2>/dev/null
	mine=$(jq -r '[.protocols.IPv4.packets,.protocols.IPv4.bytes,.protocols.IPv6.packets,.protocols.IPv6.bytes,.protocols.TCP.packets,.protocols.TCP.bytes,.protocols.UDP.packets,.protocols.UDP.bytes,.protocols.ARP.packets,.protocols.ARP.bytes,.totals.packets,.totals.bytes]|join(" ")' "$t.p.json")
	# one tshark run (its start-up dominates): io,stat and conv together
	tshark -r "$f" -q -z 'io,stat,0,ip,ipv6,tcp,udp,arp,frame' -z conv,tcp -z conv,udp > "$t.tshark.out" 2>/dev/null
	theirs=$(awk -F'|' '/<>/ {s=""; for(i=3;i<=NF;i++){gsub(/ /,"",$i); if($i!="") s=s" "$i}; print substr(s,2)}' "$t.tshark.out")
	if [ "$mine" = "$theirs" ]; then echo "ok - $name: protocol totals equal tshark's"; else echo "not ok - $name: protocol totals: pktstat '$mine' tshark '$theirs'"; fi
	# conversations: "PROTO A B frames bytes" with A < B, bytes or "-"
	jq -r '.flows[] | select(.proto=="TCP" or .proto=="UDP") | [.proto, .src, .dst, .packets, .size] | @tsv' "$t.p.json" |
		sed 's/\[\([^]]*\)\]:/\1:/g' |
		awk -F'\t' '{ a=$2; b=$3; k=(a<b)? $1" "a" "b : $1" "b" "a; p[k]+=$4; by[k]+=$5 } END { for (k in p) print k, p[k], by[k] }' |
		LC_ALL=C sort > "$t.mine.conv"
	awk '
		/^TCP Conversations/ {pr="TCP"} /^UDP Conversations/ {pr="UDP"}
		$2 == "<->" {
			a=$1; b=$3; k=(a<b)? pr" "a" "b : pr" "b" "a
			# total frames and bytes: the 3rd frames/bytes pair
			n=0; for (i=4; i<=NF; i++) if ($i ~ /^(bytes|kB|MB|GB)$/) { n++; if (n==3) { fr=$(i-2); by=($i=="bytes")? $(i-1) : "-" } }
			print k, fr, by
		}' "$t.tshark.out" | LC_ALL=C sort > "$t.theirs.conv"
	# where tshark rounded the bytes, compare frames only
	join -j1 <(awk '{print $1"|"$2"|"$3, $4, $5}' "$t.mine.conv") \
		<(awk '{print $1"|"$2"|"$3, $4, $5}' "$t.theirs.conv") > "$t.joined"
	n_m=$(wc -l < "$t.mine.conv"); n_t=$(wc -l < "$t.theirs.conv"); n_j=$(wc -l < "$t.joined")
	bad=$(awk '$2 != $4 || ($5 != "-" && $3 != $5)' "$t.joined" | wc -l)
	if [ "$n_m" -eq "$n_t" ] && [ "$n_j" -eq "$n_m" ] && [ "$bad" -eq 0 ]; then
		echo "ok - $name: $n_j TCP/UDP conversations equal tshark's"
	else
		echo "not ok - $name: conversations differ (pktstat $n_m, tshark $n_t, joined $n_j, mismatched $bad)"
		diff "$t.mine.conv" "$t.theirs.conv" | head -5
	fi
	echo "conv $n_j"
}
mapfile -t names < tests/golden/tshark-files.txt
# tshark's start-up dominates and the captures are independent: one lane
# a core, lane j taking every LANES-th capture, each into its own file;
# the results are then read in the list's order
LANES=$(nproc)
[ "$LANES" -ge 1 ] 2> /dev/null || LANES=1
for ((j = 0; j < LANES; j++)); do
	for ((i = j; i < ${#names[@]}; i += LANES)); do
		one_capture "${names[i]}" $i > "$TMP/res.$i"
	done &
done
wait
nfiles=0; nconv=0
for ((i = 0; i < ${#names[@]}; i++)); do
	while read -r line; do
		case $line in
		"ok - "*) PASSES=$((PASSES + 1)); echo "$line" ;;
		"not ok - "*) FAILS=$((FAILS + 1)); echo "$line" ;;
		"conv "*) nfiles=$((nfiles + 1)); nconv=$((nconv + ${line#conv })) ;;
		*) echo "$line" ;;
		esac
	done < "$TMP/res.$i"
done
echo "# compared $nfiles captures, $nconv conversations"
check "compared at least 40 captures" test $nfiles -ge 40
finish
