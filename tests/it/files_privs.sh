#!/bin/bash
# Files and privileges (root): the snapshot writer refuses a symlink
# planted by another user in a sticky world-writable directory, a
# directory another user can write or owns, a path through a directory
# another user controls, and a file with other hard links, leaving every
# target untouched; snapshots are 0600 whatever the umask. After start-up
# as root the capturing process (every thread of it) has dropped uid, gid,
# supplementary groups and capabilities and set no_new_privs, still counts
# traffic and still takes a capture filter edit; -Z root keeps root, -Z
# USER becomes USER, -Z nosuchuser fails in one line. No key runs a
# program (strace: one execve, pktstat's own). A file name with escape
# sequences reaches the terminal sanitised: UI header, text report, error
# lines and the lines printed after the UI quits.
. "$(dirname "$0")/lib.sh"
need_root
SOCK=pktstat-fp-$$
PUB=
at_exit_extra() { [ -n "$PUB" ] && rm -rf "$PUB"; }
PK=$(readlink -f "$PKTSTAT")
SEND=$B/tests/gen/sendframes
FAST=(--max-flows 50000)
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
wait_file() {
	local i
	for i in $(seq $((${2:-5} * 100))); do
		[ -s "$1" ] && return 0
		sleep 0.01
	done
	return 1
}
sum() { sha256sum < "$1"; }
# run the batch writer as root: --snapshot PATH; status in RC, stderr in
# $TMP/w.err
write_snap() {
	"$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$1" > /dev/null 2> "$TMP/w.err"
	RC=$?
	echo "# --snapshot $1: exit $RC, stderr: $(head -1 "$TMP/w.err")"
}
refused() { # refused DESC REASON-REGEX: after write_snap
	check "$1: refused with a non-zero status (got $RC)" test "$RC" -ne 0 -a "$RC" -lt 128
	check "$1: one line on stderr giving the reason" \
		sh -c "test \$(wc -l < '$TMP/w.err') = 1 && grep -qi -- '$2' '$TMP/w.err'"
}

"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
chmod 644 "$TMP/eth.pcap"

# --- snapshot targets planted by another user ---------------------------------
# a /tmp-like directory: root's, world-writable, sticky
PUB=$(mktemp -d /tmp/pktstat-fp.XXXXXX)
chmod 1777 "$PUB"
echo "root's file" > "$TMP/target"
chmod 644 "$TMP/target"
t0=$(sum "$TMP/target")
as_nobody ln -s "$TMP/target" "$PUB/snap.json"
write_snap "$PUB/snap.json"
refused "symlink planted by nobody" 'symbolic link'
check "symlink planted by nobody: its target untouched" test "$(sum "$TMP/target")" = "$t0"
check "symlink planted by nobody: the link itself left in place" \
	sh -c "test -L '$PUB/snap.json' && test \"\$(stat -c %U '$PUB/snap.json')\" = nobody"
check "symlink planted by nobody: no temporary file left" no_tmp_in "$PUB"
# dangling: it would make root create a file of nobody's choosing
as_nobody ln -s "$TMP/created-by-root" "$PUB/dangling.json"
write_snap "$PUB/dangling.json"
refused "dangling symlink planted by nobody" 'symbolic link'
check "dangling symlink: nothing created at its target" test ! -e "$TMP/created-by-root"

# directories another user can write: no sticky bit, or owned by them
D=$PUB/d777
mkdir -m 777 "$D"
chmod 777 "$D" # whatever the umask
write_snap "$D/snap.json"
refused "directory mode 777 without the sticky bit" 'writable by another user\|refused'
check "directory mode 777: nothing written" test -z "$(ls -A "$D")"
D=$PUB/grp
mkdir "$D"
chgrp nogroup "$D"
chmod 775 "$D"
write_snap "$D/snap.json"
refused "directory writable by another group" 'writable by another user\|refused'
check "group-writable directory: nothing written" test -z "$(ls -A "$D")"
D=$PUB/owned
mkdir "$D"
chown nobody:nogroup "$D"
chmod 755 "$D"
write_snap "$D/snap.json"
refused "directory owned by nobody (mode 755)" 'writable by another user\|refused'
check "directory owned by nobody: nothing written" test -z "$(ls -A "$D")"
# a path through a directory nobody controls: nobody swaps a component for
# a symlink to a directory of their choosing (here root's own $TMP/victim)
mkdir -m 700 "$TMP/victim"
D=$PUB/swap
mkdir "$D"
chown nobody:nogroup "$D"
as_nobody ln -s "$TMP/victim" "$D/sub"
write_snap "$D/sub/snap.json"
refused "a path through a directory nobody owns (symlinked component)" 'symbolic link\|another user\|refused'
check "symlinked component: nothing written where it points ($(ls -A "$TMP/victim" | tr '\n' ' '))" \
	test -z "$(ls -A "$TMP/victim")"

# a file with another hard link (made by root: protected_hardlinks stops
# nobody linking root's files)
mkdir -m 700 "$TMP/hl"
echo "old snapshot" > "$TMP/hl/snap.json"
ln "$TMP/hl/snap.json" "$TMP/hl/other"
h0=$(sum "$TMP/hl/other")
write_snap "$TMP/hl/snap.json"
refused "file with two hard links" 'hard link'
check "hard link: not written through (the other name unchanged)" test "$(sum "$TMP/hl/other")" = "$h0"
check "hard link: still two links" test "$(stat -c %h "$TMP/hl/other")" = 2
check "hard link: no temporary file left" no_tmp_in "$TMP/hl"

# --- modes -----------------------------------------------------------------------
mkdir -m 700 "$TMP/modes"
for um in 000 022 077; do
	(umask $um && "$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$TMP/modes/new-$um.json" > /dev/null)
	m=$(stat -c '%a %U' "$TMP/modes/new-$um.json" 2> /dev/null)
	echo "# umask $um, as root: new snapshot mode/owner $m"
	check "umask $um (root): new snapshot is 0600, root's (got $m)" test "$m" = "600 root"
done
echo old > "$TMP/modes/old.json"
chmod 644 "$TMP/modes/old.json"
(umask 000 && "$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$TMP/modes/old.json" > /dev/null)
m=$(stat -c %a "$TMP/modes/old.json")
check "umask 000 (root): a replaced 0644 snapshot becomes 0600 (got $m)" test "$m" = 600
# not root: the writer is pktstat itself
mkdir "$PUB/nb"
chown nobody:nogroup "$PUB/nb"
cp "$TMP/eth.pcap" "$PUB/nb/eth.pcap"
chmod 644 "$PUB/nb/eth.pcap"
for um in 000 077; do
	(umask $um && as_nobody "$PK" "${FAST[@]}" -r "$PUB/nb/eth.pcap" --snapshot "$PUB/nb/s-$um.csv" > /dev/null)
	m=$(stat -c '%a %U' "$PUB/nb/s-$um.csv" 2> /dev/null)
	echo "# umask $um, as nobody: new snapshot mode/owner $m"
	check "umask $um (nobody): new snapshot is 0600, nobody's (got $m)" test "$m" = "600 nobody"
done

# --- privileges after start-up ---------------------------------------------------
netns_setup || { not_ok "namespace set-up"; finish; exit 1; }
start() { # start TAG COMMAND...: in a fresh 120x30 pane; status in TAG.rc
	local tag=$1
	shift
	T kill-session -t ui 2> /dev/null
	{
		echo '#!/bin/bash'
		printf '%q ' env TERM=xterm-256color LC_ALL=C.UTF-8 "$@"
		echo "2> $TMP/$tag.err"
		echo "echo \$? > $TMP/$tag.rc"
		echo "exec sleep 120"
	} > "$TMP/$tag.sh"
	chmod 700 "$TMP/$tag.sh"
	T new-session -d -s ui -x "${COLS_UI:-120}" -y 30 "$TMP/$tag.sh"
}
pk_pid() { pgrep -o -f "^$PK .*$TMP/$1"; }
field() { awk -v f="$2:" '$1 == f {$1 = ""; print substr($0, 2)}' "$1"; }
# dropped PID UID GID: every thread of PID runs as UID/GID with no
# supplementary group, no capability at all and no_new_privs
dropped() {
	local pid=$1 uid=$2 gid=$3 t s c bad=
	for t in /proc/"$pid"/task/*; do
		s=$t/status
		[ "$(field "$s" Uid | tr -s '\t ' ' ')" = "$uid $uid $uid $uid" ] || bad="$bad ${t##*/}:uid"
		[ "$(field "$s" Gid | tr -s '\t ' ' ')" = "$gid $gid $gid $gid" ] || bad="$bad ${t##*/}:gid"
		[ -z "$(field "$s" Groups | tr -d ' \t')" ] || bad="$bad ${t##*/}:groups"
		for c in CapInh CapPrm CapEff CapBnd CapAmb; do
			[ "$(field "$s" $c)" = 0000000000000000 ] || bad="$bad ${t##*/}:$c=$(field "$s" $c)"
		done
		[ "$(field "$s" NoNewPrivs)" = 1 ] || bad="$bad ${t##*/}:nnp"
	done
	[ -z "$bad" ] || { echo "# not dropped:$bad"; return 1; }
}

tag=priv
before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
start "$tag" ip netns exec "$NS_CAP" "$PK" -i veth0 -w 0.2 --snapshot "$TMP/$tag.json"
wait_for '^Proto' 10
wait_capture_ready "$NS_CAP" "$before"
pp=$(pk_pid "$tag")
cp=$(child_of "$pp")
check "UI, live: the capture runs in a child of the snapshot writer" test -n "$cp"
nthreads=$(ls /proc/"$cp"/task | wc -l)
echo "# capture process $cp ($nthreads threads): $(grep -E '^(Uid|Gid|Groups|CapEff|CapBnd|NoNewPrivs):' /proc/"$cp"/status | tr -s '\t\n' '  ')"
echo "# snapshot writer $pp: $(grep -E '^(Uid|CapEff):' /proc/"$pp"/status | tr -s '\t\n' '  ')"
check "UI, live: every thread of the capture process: uid and gid nobody (real, effective, saved, fs), no groups, no capabilities (inheritable, permitted, effective, bounding, ambient), no_new_privs" \
	dropped "$cp" 65534 65534
ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
check "UI, live: traffic counted after the drop (131 IPv4 packets shown)" wait_for ' 131 ' 5
# the capture filter is still editable after the drop (ui_tmux.sh checks
# what the new filter then captures)
T send-keys -t ui e
sleep 0.3
T send-keys -t ui C-u
T send-keys -t ui -l udp
T send-keys -t ui Enter
check "UI, live: capture filter edited after the drop" wait_for 'filter: udp' 5
T send-keys -t ui q
wait_file "$TMP/$tag.rc" 10
check "UI, live: q exits 0" test "$(cat "$TMP/$tag.rc" 2> /dev/null)" = 0
check "UI, live: snapshot has the 162 packets and the new filter" \
	sh -c "test \"\$(jq -r '\"\(.totals.packets) \(.filter)\"' '$TMP/$tag.json')\" = '162 udp'"

# -Z root: no separation, root kept; -Z daemon: the capture runs as daemon
batch_live() { # batch_live TAG ARGS...: 3 s batch capture on veth0, frames sent
	local tag=$1
	shift
	before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
	ip netns exec "$NS_CAP" "$PK" "$@" -i veth0 -t 3s -1 -j > "$TMP/$tag.json" 2> "$TMP/$tag.err" &
	BPID=$!
	wait_capture_ready "$NS_CAP" "$before"
}
batch_live zroot -Z root
check "-Z root: no separate writer (one process)" test -z "$(pgrep -P $BPID)"
echo "# -Z root: $(grep -E '^(Uid|CapEff):' /proc/$BPID/status | tr -s '\t\n' '  ')"
check "-Z root: still uid 0" sh -c "grep -q '^Uid:[[:space:]]*0[[:space:]]0[[:space:]]0[[:space:]]0' /proc/$BPID/status"
ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
wait $BPID
rc=$?
check "-Z root: exit 0 and 162 packets" sh -c "test $rc = 0 && test \"\$(jq .totals.packets '$TMP/zroot.json')\" = 162"
du=$(id -u daemon)
dg=$(id -g daemon)
batch_live zdaemon -Z daemon
cp=$(child_of $BPID)
check "-Z daemon: every thread of the capture process is daemon ($du/$dg), no groups, no capabilities" \
	dropped "$cp" "$du" "$dg"
ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
wait $BPID
rc=$?
check "-Z daemon: exit 0 and 162 packets" sh -c "test $rc = 0 && test \"\$(jq .totals.packets '$TMP/zdaemon.json')\" = 162"
"$PK" -Z nosuchuser-xyz -r "$TMP/eth.pcap" -j > /dev/null 2> "$TMP/nouser.err"
rc=$?
echo "# -Z nosuchuser-xyz: exit $rc, stderr: $(cat "$TMP/nouser.err")"
check "-Z nosuchuser-xyz: fails (exit $rc)" test $rc -ne 0 -a $rc -lt 128
check "-Z nosuchuser-xyz: one line naming the user" \
	sh -c "test \$(wc -l < '$TMP/nouser.err') = 1 && grep -q 'nosuchuser-xyz' '$TMP/nouser.err'"

# --- no key runs a program ---------------------------------------------------------
# Every key of ui/keys.c's table, in the namespace (so that 'n' has no
# resolver to reach), under strace. After each key: x, Backspace, Enter,
# Escape - a prompt gets an edit and is accepted, help and the reset
# question are left, the display filter is cleared.
keyname() { # tmux name for a key table entry
	case $1 in
	"' '") echo Space ;;
	"'"?"'") echo "${1:1:1}" ;;
	27) echo Escape ;;
	"'\\r'" | "'\\n'" | KEY_ENTER) echo Enter ;;
	"CTRL('"?"')") echo "C-$(echo "${1:6:1}" | tr A-Z a-z)" ;;
	KEY_UP) echo Up ;;
	KEY_DOWN) echo Down ;;
	KEY_LEFT) echo Left ;;
	KEY_RIGHT) echo Right ;;
	KEY_PPAGE) echo PPage ;;
	KEY_NPAGE) echo NPage ;;
	KEY_HOME) echo Home ;;
	KEY_END) echo End ;;
	KEY_MOUSE) echo MOUSE ;;
	KEY_F\(*\)) echo "F${1:6:-1}" ;;
	*) return 1 ;;
	esac
}
mapfile -t ktab < <(sed -n 's/^[[:space:]]*{ \([^,]*\), KA_.*/\1/p' ui/keys.c)
echo "# key table: ${#ktab[@]} keys"
check "key table read from ui/keys.c (${#ktab[@]} keys)" test ${#ktab[@]} -ge 20
tag=keys
start "$tag" ip netns exec "$NS_CAP" strace -f -e trace=execve,execveat -o "$TMP/strace.log" \
	"$PK" -i veth0 -w 0.2 --snapshot "$TMP/$tag.json"
wait_for '^Proto' 15
unmapped=
pressed=0
for k in "${ktab[@]}"; do
	name=$(keyname "$k") || { unmapped="$unmapped $k"; continue; }
	[ "$name" = q ] && continue
	if [ "$name" = MOUSE ]; then
		# an SGR mouse click (press, release) on the column titles
		T send-keys -t ui -l $'\e[<0;10;10M'
		T send-keys -t ui -l $'\e[<0;10;10m'
	elif [ ${#name} = 1 ]; then
		T send-keys -t ui -l "$name"
	else
		T send-keys -t ui "$name"
	fi
	sleep 0.1
	T send-keys -t ui -l x
	T send-keys -t ui BSpace Enter Escape
	sleep 0.1
	pressed=$((pressed + 1))
done
# the prompts once more, with real content
T send-keys -t ui e C-u
T send-keys -t ui -l 'tcp or udp'
T send-keys -t ui Enter / Enter w C-u
T send-keys -t ui -l 0.5
T send-keys -t ui Enter s r y n n
sleep 0.5
check "every key of the table has a tmux name (unmapped:${unmapped:- none})" test -z "$unmapped"
alive=0
# the title row: flows, or a grouping's first column after g
screen | grep -qE '^(Proto|Host|Network|Service|Protocol|VLAN|Process|App)' && alive=1
check "all $pressed keys pressed: the monitor is still up" test $alive = 1
T send-keys -t ui q
wait_file "$TMP/$tag.rc" 10
check "keys: q exits 0" test "$(cat "$TMP/$tag.rc" 2> /dev/null)" = 0
n=$(grep -c 'execve\(at\)\?(' "$TMP/strace.log")
echo "# strace: $n execve calls over $pressed keys: $(grep 'execve\(at\)\?(' "$TMP/strace.log" | cut -c1-120 | tr '\n' '|')"
check "no key runs a program: exactly one execve (pktstat itself; got $n)" test "$n" = 1
check "the one execve is pktstat's" grep -q "execve(\"$PK\"" "$TMP/strace.log"
netns_teardown

# --- escape sequences from names -----------------------------------------------------
# A name that would set the terminal's title (OSC 2) and its colour (SGR 31)
# if printed raw.
BAD=$'\e]2;PWNED\a\e[31mX'
no_ctl() { ! grep -q $'[\x1b\x07]' "$1"; } # no raw ESC or BEL in FILE
EVIL=$TMP/evil${BAD}.pcap
cp "$TMP/eth.pcap" "$EVIL"
"$PK" "${FAST[@]}" -r "$EVIL" > "$TMP/evil.txt" 2> "$TMP/evil.err"
echo "# text report for a hostile file name: $(grep -a '^Capture:' "$TMP/evil.txt" | cat -v)"
check "hostile file name: the text report has no raw ESC or BEL" no_ctl "$TMP/evil.txt"
check "hostile file name: the text report still names the file" grep -q 'evil.*PWNED' "$TMP/evil.txt"
"$PK" "${FAST[@]}" -r "$EVIL" -j > "$TMP/evil.json" 2> /dev/null
check "hostile file name: the JSON report escapes it (no raw ESC)" no_ctl "$TMP/evil.json"
check "hostile file name: the JSON report is valid and holds the exact name" \
	test "$(jq -r .source "$TMP/evil.json")" = "$EVIL"
"$PK" "${FAST[@]}" -r "$TMP/missing${BAD}.pcap" > /dev/null 2> "$TMP/evil2.err"
echo "# error line for a missing hostile file: $(cat -v "$TMP/evil2.err")"
check "hostile file name: the error line on stderr has no raw ESC or BEL" no_ctl "$TMP/evil2.err"
"$PK" "${FAST[@]}" -r "$TMP/eth.pcap" "host evil${BAD}" > /dev/null 2> "$TMP/evil3.err"
echo "# error line for a hostile filter: $(cat -v "$TMP/evil3.err")"
check "hostile filter expression: the error line on stderr has no raw ESC or BEL" no_ctl "$TMP/evil3.err"
"$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --count "w${BAD}eb=tcp port 80" > /dev/null 2> "$TMP/evil4.err"
rc=$?
echo "# hostile counter name: exit $rc, stderr: $(cat -v "$TMP/evil4.err")"
check "hostile counter name: refused as a usage error (exit $rc)" test $rc = 2
check "hostile counter name: the error line on stderr has no raw ESC or BEL" no_ctl "$TMP/evil4.err"
"$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$TMP/nodir${BAD}/s.json" > /dev/null 2> "$TMP/evil5.err"
echo "# error line for a hostile snapshot path: $(cat -v "$TMP/evil5.err")"
check "hostile snapshot path: the error line on stderr has no raw ESC or BEL" no_ctl "$TMP/evil5.err"
# in the UI: the header shows the name as text; after q the lines printed
# on the terminal (the report, the snapshot path) must not drive it either
tag=evilui
COLS_UI=220 start "$tag" "$PK" "${FAST[@]}" -r "$EVIL" --snapshot "$TMP/snap${BAD}.json"
wait_for '^Proto' 10
title=$(T display -p -t ui '#{pane_title}')
echo "# UI header: $(screen | head -1 | cut -c1-110); pane title: $title"
check "UI: the header shows the hostile name as text" sh -c "tmux -L $SOCK capture-pane -p -t ui | head -1 | grep -q 'evil.*2;PWNED.*\[31mX'"
check "UI: the name did not set the terminal's title" test "$title" != PWNED
T send-keys -t ui q
wait_file "$TMP/$tag.rc" 10
title=$(T display -p -t ui '#{pane_title}')
echo "# after q: pane title: $title; stderr: $(cat -v "$TMP/$tag.err" | head -2 | tr '\n' '|')"
check "after q: the report printed on the terminal did not set its title" test "$title" != PWNED
check "after q: stderr (the snapshot path) has no raw ESC or BEL" no_ctl "$TMP/$tag.err"
finish
