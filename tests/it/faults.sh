#!/bin/bash
# Faults: SIGINT, SIGTERM and SIGHUP to the monitor in tmux (on a -r file
# and on live traffic in a test namespace) restore the terminal (stty -g in
# the pane before and after) and leave a complete snapshot within 1 s; a
# killed tmux session (a real hang-up) too, with no process left; SIGPIPE
# and a full stdout; Ctrl-Z then fg, and Ctrl-Z then SIGCONT; a storm of
# 1,000 resizes (RSS before and after, the frame right at 80x24 after);
# tiny terminals, TERM=dumb, an unknown TERM, stdin from /dev/null and
# stdout to a file; snapshot targets that cannot be written (read-only
# directory, missing directory, a directory, names too long, a full disk):
# one line on stderr, non-zero status, the previous snapshot intact, no
# temporary file left; kill -9 at random moments of a large snapshot write:
# the file is always whole. Each scenario prints the figure it checks.
. "$(dirname "$0")/lib.sh"
SOCK=pktstat-faults-$$
NB=
at_exit_extra() { [ -n "$NB" ] && rm -rf "$NB"; }
PK=$(readlink -f "$PKTSTAT")
ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1
# The signal scenarios run with the default flow table (what a user runs);
# the others with a small one so that start-up and teardown stay quick.
FAST=(--max-flows 50000)

now_ns() { date +%s%N; }
section() { echo "# [${SECONDS}s] $*"; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
wait_file() { # wait_file FILE [seconds]: FILE exists, non-empty
	local i
	for i in $(seq $((${2:-5} * 100))); do
		[ -s "$1" ] && return 0
		sleep 0.01
	done
	return 1
}
# pid of the pktstat started with $TMP/TAG in its arguments (this run's
# only, should another run be going on): the
# oldest one (as root, the privileged snapshot writer; its child captures)
pk_pid() { pgrep -o -f "^$PK .*$TMP/$1"; }
pk_gone() { # pk_gone TAG [seconds]: no pktstat with TAG left
	local i
	for i in $(seq $((${2:-5} * 20))); do
		pgrep -f "^$PK .*$TMP/$1" > /dev/null || return 0
		sleep 0.05
	done
	return 1
}
reap() { # reap TAG: kill -9 what a failed scenario left behind
	local p
	for p in $(pgrep -f "^$PK .*$TMP/$1"); do kill -9 "$p" 2> /dev/null; done
}
# the process that runs the UI: the child of the writer as root
ui_pid() {
	local p=$1 c
	c=$(pgrep -P "$p" | head -1)
	echo "${c:-$p}"
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# start COLS ROWS TAG COMMAND...: COMMAND in a fresh pane, between two
# `stty -g` (TAG.before, TAG.after); its exit status lands in TAG.rc, its
# stderr in TAG.err. TERM_UI overrides the terminal type.
start() {
	local cols=$1 rows=$2 tag=$3
	shift 3
	T kill-session -t ui 2> /dev/null
	rm -f "$TMP/$tag".*
	{
		echo '#!/bin/bash'
		echo "stty -g > $TMP/$tag.before"
		printf '%q ' env TERM="${TERM_UI:-xterm-256color}" LC_ALL=C.UTF-8 "$@"
		echo "2> $TMP/$tag.err"
		echo "echo \$? > $TMP/$tag.rc"
		echo "stty -g > $TMP/$tag.after"
		echo "exec sleep 120"
	} > "$TMP/$tag.sh"
	chmod 700 "$TMP/$tag.sh"
	T new-session -d -s ui -x "$cols" -y "$rows" "$TMP/$tag.sh"
}
rc_of() { cat "$TMP/$1.rc" 2> /dev/null; }
tty_same() { cmp -s "$TMP/$1.before" "$TMP/$1.after"; }
packets() { jq .totals.packets "$1" 2> /dev/null; }

"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"
"$GEN" many "$TMP/many.pcap" "$TMP/many.exp" 5000 5000
"$GEN" many "$TMP/big.pcap" "$TMP/big.exp" 20000 20000
"$GEN" many "$TMP/big2.pcap" "$TMP/big2.exp" 19000 19000

# --- SIGINT, SIGTERM, SIGHUP to the UI --------------------------------------
section "signals"
# signal_ui TAG SIG KIND: the UI is up (and, live, has counted the
# traffic); send SIG to the process the shell started; time the snapshot
signal_ui() {
	local tag=$1 sig=$2 kind=$3 pid t0 snap_ms=-1 exit_ms=-1
	pid=$(pk_pid "$tag")
	t0=$(now_ns)
	if [ "$sig" = "INT-key" ]; then
		T send-keys -t ui C-c # from the terminal: the whole group
	else
		kill -"$sig" "$pid"
	fi
	# rename(2) makes the snapshot appear whole or not at all
	wait_file "$TMP/$tag.json" 10 && snap_ms=$(ms_since "$t0")
	wait_file "$TMP/$tag.rc" 10 && exit_ms=$(ms_since "$t0")
	echo "# SIG$sig to the UI ($kind): snapshot after $snap_ms ms, exit after $exit_ms ms"
	check "SIG$sig ($kind): exit status 0 (got $(rc_of "$tag"))" test "$(rc_of "$tag")" = 0
	check "SIG$sig ($kind): terminal restored (stty -g before = after)" tty_same "$tag"
	check "SIG$sig ($kind): snapshot has all 162 packets" test "$(packets "$TMP/$tag.json")" = 162
	check "SIG$sig ($kind): snapshot within 1 s of the signal ($snap_ms ms)" \
		test "$snap_ms" -ge 0 -a "$snap_ms" -le 1000
	check "SIG$sig ($kind): no pktstat left" pk_gone "$tag"
}
for sig in INT TERM HUP INT-key; do
	tag=sig-file-$sig
	start 80 24 "$tag" "$PK" -r "$TMP/eth.pcap" --snapshot "$TMP/$tag.json"
	if ! wait_for '^Proto' 10; then
		not_ok "SIG$sig (file): the UI never came up: $(head -c 300 "$TMP/$tag.err")"
		continue
	fi
	signal_ui "$tag" "$sig" file
done

# a real hang-up: the session is killed (the terminal goes away)
hangup() { # hangup TAG KIND
	local tag=$1 kind=$2 t0 snap_ms=-1
	t0=$(now_ns)
	T kill-session -t ui
	wait_file "$TMP/$tag.json" 10 && snap_ms=$(ms_since "$t0")
	echo "# hang-up ($kind): snapshot after $snap_ms ms"
	check "hang-up ($kind): snapshot has all 162 packets" test "$(packets "$TMP/$tag.json")" = 162
	check "hang-up ($kind): snapshot within 1 s ($snap_ms ms)" \
		test "$snap_ms" -ge 0 -a "$snap_ms" -le 1000
	check "hang-up ($kind): no pktstat process left" pk_gone "$tag"
}
tag=hup-file
start 80 24 "$tag" "$PK" -r "$TMP/eth.pcap" --snapshot "$TMP/$tag.json"
wait_for '^Proto' 10
hangup "$tag" file

if [ $ROOT -eq 1 ]; then
	SEND=$B/tests/gen/sendframes
	if netns_setup; then
		live_up() { # live_up TAG: start on veth0, send the 162 frames
			local tag=$1 before
			before=$(ip netns exec "$NS_CAP" cat /proc/net/packet | wc -l)
			start 100 30 "$tag" ip netns exec "$NS_CAP" "$PK" -i veth0 \
				-w 0.2 --snapshot "$TMP/$tag.json"
			wait_for '^Proto' 10 || return 1
			wait_capture_ready "$NS_CAP" "$before" || return 1
			ip netns exec "$NS_PEER" "$SEND" veth1 "$TMP/eth.pcap" > /dev/null
			wait_for ' 131 ' 5 # IPv4 packets counted and shown
		}
		for sig in INT TERM HUP; do
			tag=sig-live-$sig
			if ! live_up "$tag"; then
				not_ok "SIG$sig (live): the UI did not show the traffic: $(head -c 300 "$TMP/$tag.err")"
				continue
			fi
			signal_ui "$tag" "$sig" live
		done
		tag=hup-live
		if live_up "$tag"; then
			hangup "$tag" live
		else
			not_ok "hang-up (live): the UI did not show the traffic"
		fi
		netns_teardown
	else
		not_ok "namespace set-up"
	fi
else
	echo "# SKIP live signal scenarios: need root (network namespaces)"
fi

# --- SIGPIPE and a full stdout -------------------------------------------------
section "SIGPIPE"
for args in "-1 -r eth.pcap" "-j -r eth.pcap" "-1 -r many.pcap" "-j -r many.pcap"; do
	set -- $args
	t0=$(now_ns)
	timeout -s KILL 20 "$PK" "${FAST[@]}" "$1" "$2" "$TMP/$3" 2> "$TMP/pipe.err" | head -c1 > /dev/null
	prc=${PIPESTATUS[0]}
	ms=$(ms_since "$t0")
	echo "# pktstat $args | head -c1: exit $prc in $ms ms"
	check "SIGPIPE ($args | head -c1): exit 0 or 1, no signal death or hang (got $prc)" \
		test "$prc" = 0 -o "$prc" = 1
done
# a report that cannot be written must not pass for a success (today -j
# and the text report exit 0: print_report in src/pktstat.c drops
# report_write's error; -1 exits 1 without a word)
for args in "-1" "-j" ""; do
	"$PK" "${FAST[@]}" $args -r "$TMP/eth.pcap" > /dev/full 2> "$TMP/full.err"
	rc=$?
	echo "# pktstat ${args:-(text)} > /dev/full: exit $rc, stderr: $(head -1 "$TMP/full.err")"
	check "report ${args:-(text)} to a full stdout: exit 1 and a line saying why (got $rc)" \
		sh -c "test $rc = 1 && grep -qi 'space\|stdout\|write' '$TMP/full.err'"
done

# --- Ctrl-Z --------------------------------------------------------------------
section "Ctrl-Z"
# with job control: an interactive bash in the pane; three rounds of Ctrl-Z
# then fg (as root the process group holds the privileged writer and the
# capturing child: both must stop and come back)
T kill-session -t ui 2> /dev/null
T new-session -d -s ui -x 80 -y 24 "env PS1='$ ' TERM=xterm-256color LC_ALL=C.UTF-8 bash --norc --noprofile -i"
sleep 0.3
line() { T send-keys -t ui -l "$1"; T send-keys -t ui Enter; }
stopped() { # every pktstat with TAG is stopped (state T)
	local p n=0
	for p in $(pgrep -f "^$PK .*$TMP/$1"); do
		ps -o stat= -p "$p" | grep -q T || return 1
		n=$((n + 1))
	done
	[ $n -gt 0 ]
}
line "stty -g > $TMP/tstp.before"
line "$PK ${FAST[*]} -r $TMP/eth.pcap --snapshot $TMP/tstp.json"
wait_for '^Proto' 10
back=1
for round in 1 2 3; do
	T send-keys -t ui C-z
	sleep 0.5
	line jobs
	check "Ctrl-Z ($round): the shell has the job stopped" wait_for '^\[1\]+ *Stopped' 3
	check "Ctrl-Z ($round): every pktstat process is stopped" stopped tstp.json
	line "stty -g > $TMP/tstp.mid"
	sleep 0.3
	check "Ctrl-Z ($round): the terminal is the shell's again (stty as before)" cmp -s "$TMP/tstp.before" "$TMP/tstp.mid"
	line clear
	line fg
	if ! wait_for '^Proto' 5; then
		# where each process is: state and kernel wait channel
		st=$(for p in $(pgrep -f "^$PK .*$TMP/tstp.json"); do ps -o pid=,stat=,wchan:22= -p "$p"; done | tr -s ' \n' ' ')
		not_ok "fg ($round): the monitor is not back (pktstat:$st)"
		back=0
		break
	fi
	ok "fg ($round): the monitor is back on the screen"
done
if [ $back = 1 ]; then
	T send-keys -t ui q
	wait_file "$TMP/tstp.json" 5
	line 'echo RC=$?'
	check "after fg, q exits 0" wait_for '^RC=0' 5
	line "stty -g > $TMP/tstp.after"
	sleep 0.3
	check "after fg and q: terminal restored" cmp -s "$TMP/tstp.before" "$TMP/tstp.after"
	check "after fg, q writes the snapshot (162 packets)" test "$(packets "$TMP/tstp.json")" = 162
else
	not_ok "after fg: q, the terminal and the snapshot cannot be checked: the monitor is stuck"
fi
reap tstp.json
# suspended, then the terminal goes away (an SSH drop with a stopped job):
# the shell continues it with SIGHUP; the snapshot must still land
T kill-session -t ui 2> /dev/null
T new-session -d -s ui -x 80 -y 24 "env PS1='$ ' TERM=xterm-256color LC_ALL=C.UTF-8 bash --norc --noprofile -i"
sleep 0.3
line "$PK ${FAST[*]} -r $TMP/eth.pcap --snapshot $TMP/tstphup.json"
wait_for '^Proto' 10
T send-keys -t ui C-z
sleep 0.5
T kill-session -t ui
t0=$(now_ns)
wait_file "$TMP/tstphup.json" 5
echo "# hang-up while suspended: snapshot after $(ms_since "$t0") ms"
check "hang-up while suspended: snapshot with 162 packets" test "$(packets "$TMP/tstphup.json")" = 162
check "hang-up while suspended: no pktstat left" pk_gone tstphup.json
reap tstphup.json
# without job control (the pane's process group is orphaned): Ctrl-Z
# stops pktstat and only SIGCONT brings it back
tag=tstp2
start 80 24 "$tag" "$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$TMP/$tag.json"
wait_for '^Proto' 10
p=$(pk_pid "$tag")
T send-keys -t ui C-z
sleep 0.5
pg=$(ps -o pgid= -p "$p" | tr -d ' ')
kill -CONT -- -"$pg"
check "Ctrl-Z then SIGCONT: the monitor is back on the screen" wait_for '^Proto' 5
T send-keys -t ui q
wait_file "$TMP/$tag.rc" 5
check "Ctrl-Z then SIGCONT: q exits 0 (got $(rc_of $tag))" test "$(rc_of $tag)" = 0
check "Ctrl-Z then SIGCONT: terminal restored" tty_same "$tag"
check "Ctrl-Z then SIGCONT: snapshot has 162 packets" test "$(packets "$TMP/$tag.json")" = 162

# --- a storm of resizes ------------------------------------------------------------
section "resize storm"
tag=storm
start 80 24 "$tag" "$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$TMP/$tag.json"
wait_for '^Proto' 10
sleep 1
up=$(ui_pid "$(pk_pid "$tag")")
rss0=$(rss_kb "$up")
# 1,000 sizes from 1x1 to 300x100 (the extremes every tenth step), ten
# per tmux call; bounded at 30 s
n=0
t0=$(now_ns)
RANDOM=42
while [ $n -lt 1000 ] && [ "$(ms_since "$t0")" -lt 30000 ]; do
	cmd=()
	for i in 0 1 2 3 4 5 6 7 8 9; do
		case $i in
		0) x=1 y=1 ;;
		5) x=300 y=100 ;;
		*) x=$((RANDOM % 300 + 1)) y=$((RANDOM % 100 + 1)) ;;
		esac
		cmd+=(resize-window -t ui -x "$x" -y "$y" \;)
	done
	T "${cmd[@]}" 2> /dev/null
	n=$((n + 10))
	[ $((n % 100)) -eq 0 ] && sleep 0.05 # let some land one by one
done
storm_ms=$(ms_since "$t0")
sleep 1
alive=0
kill -0 "$up" 2> /dev/null && alive=1
rss1=$(rss_kb "$up" 2> /dev/null)
echo "# resize storm: $n resizes in $storm_ms ms; RSS ${rss0} kB before, ${rss1:-?} kB after"
check "resize storm: $n resizes done" test $n -ge 1000
check "resize storm: pktstat alive" test $alive = 1
check "resize storm: RSS grew by less than 20 MB (${rss0} -> ${rss1:-?} kB)" \
	test -n "$rss1" -a $((${rss1:-0} - rss0)) -lt 20480
T resize-window -t ui -x 80 -y 24
check "after the storm, at 80x24: the flow table header" wait_for '^Proto ' 5
check "after the storm: the title line" sh -c "tmux -L $SOCK capture-pane -p -t ui | head -1 | grep -q '^pktstat .*eth.pcap'"
check "after the storm: the key bar on the last line" sh -c "tmux -L $SOCK capture-pane -p -t ui | tail -1 | grep -q '^q Quit'"
check "after the storm: 24 lines of 80 columns at most" sh -c "test \$(tmux -L $SOCK capture-pane -p -t ui | wc -l) -eq 24 && ! tmux -L $SOCK capture-pane -p -t ui | grep -q '.\{81\}'"
T send-keys -t ui q
wait_file "$TMP/$tag.rc" 5
check "after the storm: q exits 0" test "$(rc_of $tag)" = 0
check "after the storm: terminal restored" tty_same "$tag"
check "after the storm: snapshot has 162 packets" test "$(packets "$TMP/$tag.json")" = 162

# --- odd terminals ----------------------------------------------------------------
section "odd terminals"
for geom in 1x1 80x1 10x3; do
	tag=tiny-$geom
	start "${geom%x*}" "${geom#*x}" "$tag" "$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$TMP/$tag.json"
	sleep 1.5
	check "$geom terminal: running after 1.5 s" sh -c "! test -e '$TMP/$tag.rc' && pgrep -f '^$PK .*$TMP/$tag' > /dev/null"
	T send-keys -t ui q
	wait_file "$TMP/$tag.rc" 5
	echo "# $geom terminal: exit $(rc_of "$tag")"
	check "$geom terminal: q exits 0 (got $(rc_of "$tag"))" test "$(rc_of "$tag")" = 0
	check "$geom terminal: terminal restored" tty_same "$tag"
	check "$geom terminal: snapshot has 162 packets" test "$(packets "$TMP/$tag.json")" = 162
done

# TERM=dumb cannot address the cursor: the monitor must say so (or fall
# back to the report), not show a blank screen
tag=term-dumb
TERM_UI=dumb start 80 24 "$tag" "$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$TMP/$tag.json"
sleep 2
if [ -e "$TMP/$tag.rc" ]; then
	shown="exited $(rc_of "$tag"): $(head -1 "$TMP/$tag.err")"
else
	shown=$(screen | grep -v '^ *$' | head -3 | tr '\n' '|')
fi
echo "# TERM=dumb: $shown"
check "TERM=dumb: the flow table, or a line saying why not" \
	sh -c "tmux -L $SOCK capture-pane -p -t ui | grep -q '^Proto\|TERM\|terminal' || grep -q 'TERM\|terminal' '$TMP/$tag.err'"
[ -e "$TMP/$tag.rc" ] || T send-keys -t ui q
wait_file "$TMP/$tag.rc" 5
check "TERM=dumb: no crash (exit $(rc_of "$tag"))" test "$(rc_of "$tag")" = 0 -o "$(rc_of "$tag")" = 1
check "TERM=dumb: terminal restored" tty_same "$tag"

tag=term-unknown
TERM_UI=nonexistent-term-xyz start 80 24 "$tag" "$PK" "${FAST[@]}" -r "$TMP/eth.pcap" --snapshot "$TMP/$tag.json"
wait_file "$TMP/$tag.rc" 5 || T send-keys -t ui q
wait_file "$TMP/$tag.rc" 5
echo "# TERM=nonexistent-term-xyz: exit $(rc_of "$tag"), stderr: $(grep -i 'term' "$TMP/$tag.err" | head -1)"
check "unknown TERM: exit 1, or 0 after a fallback (got $(rc_of "$tag"))" test "$(rc_of "$tag")" = 0 -o "$(rc_of "$tag")" = 1
check "unknown TERM: one line naming it" test "$(grep -c 'nonexistent-term-xyz' "$TMP/$tag.err")" = 1
check "unknown TERM: terminal untouched" tty_same "$tag"

# stdin not a terminal, stdout one: the report, no hang
tag=stdin-null
start 80 24 "$tag" sh -c "exec \"\$0\" \"\$@\" < /dev/null" "$PK" "${FAST[@]}" -r "$TMP/eth.pcap"
t0=$(now_ns)
wait_file "$TMP/$tag.rc" 10
echo "# stdin from /dev/null: exit $(rc_of "$tag") after $(ms_since "$t0") ms"
check "stdin from /dev/null: exits by itself with 0 (got $(rc_of "$tag"))" test "$(rc_of "$tag")" = 0
check "stdin from /dev/null: the report is on the terminal" wait_for 'Read total packets: 162' 2
check "stdin from /dev/null: terminal untouched" tty_same "$tag"

# stdout a file, stdin a terminal: plain text
tag=stdout-file
start 80 24 "$tag" sh -c "exec \"\$0\" \"\$@\" > '$TMP/out.txt'" "$PK" "${FAST[@]}" -r "$TMP/eth.pcap"
wait_file "$TMP/$tag.rc" 10
esc=$(grep -c $'\x1b' "$TMP/out.txt")
echo "# stdout to a file: exit $(rc_of "$tag"), $(wc -c < "$TMP/out.txt") bytes, $esc lines with ESC"
check "stdout to a file: exit 0" test "$(rc_of "$tag")" = 0
check "stdout to a file: the report (162 packets)" grep -q 'Read total packets: 162' "$TMP/out.txt"
check "stdout to a file: no escape sequence in it" test "$esc" = 0
T kill-session -t ui 2> /dev/null

# --- snapshot targets that cannot be written --------------------------------------
section "snapshot targets"
# snap_fail DESC PATH REASON-REGEX [RUNAS...]: batch run, --snapshot PATH
snap_fail() {
	local desc=$1 path=$2 reason=$3 rc lines
	shift 3
	"$@" "$PK" "${FAST[@]}" -r "$PCAP" --snapshot "$path" > /dev/null 2> "$TMP/sf.err"
	rc=$?
	lines=$(wc -l < "$TMP/sf.err")
	echo "# $desc: exit $rc, stderr: $(head -1 "$TMP/sf.err" | cut -c1-150)"
	check "$desc: non-zero exit status (got $rc)" test $rc -ne 0 -a $rc -lt 128
	check "$desc: one line on stderr (got $lines)" test "$lines" = 1
	check "$desc: the line names the path" grep -qF -- "$(printf '%s' "$path" | cut -c1-48)" "$TMP/sf.err"
	check "$desc: the line gives the reason" grep -qi -- "$reason" "$TMP/sf.err"
}
PCAP=$TMP/eth.pcap
# a read-only directory, as a user it is read-only for
if [ $ROOT -eq 1 ]; then
	NB=$(mktemp -d /tmp/pktstat-faults-nobody.XXXXXX)
	chmod 755 "$NB"
	cp "$TMP/eth.pcap" "$NB/eth.pcap"
	chmod 644 "$NB/eth.pcap"
	mkdir "$NB/ro"
	"$PK" "${FAST[@]}" -r "$NB/eth.pcap" --snapshot "$NB/ro/snap.json" > /dev/null
	chown -R nobody:nogroup "$NB/ro"
	chmod 555 "$NB/ro"
	sum0=$(sha256sum < "$NB/ro/snap.json")
	PCAP=$NB/eth.pcap snap_fail "read-only directory (as nobody)" "$NB/ro/snap.json" \
		'permission denied' setpriv --reuid=nobody --regid=nogroup --clear-groups
	check "read-only directory: previous snapshot intact" test "$(sha256sum < "$NB/ro/snap.json")" = "$sum0"
	check "read-only directory: no temporary file left" no_tmp_in "$NB/ro"
else
	echo "# SKIP read-only directory: needs root to run as nobody (root ignores permissions)"
fi
snap_fail "missing directory" "$TMP/no/such/dir/snap.json" 'does not exist\|no such'
check "missing directory: nothing created" test ! -e "$TMP/no"
mkdir "$TMP/isdir"
echo keep > "$TMP/isdir/f"
# a directory is where new timestamped snapshots go (pktstat.1), beside
# what is there, which is left alone
rc=0
"$PK" "${FAST[@]}" -r "$PCAP" --snapshot "$TMP/isdir" > /dev/null 2> "$TMP/sf.err" || rc=$?
check "path is a directory: exit 0 (got $rc)" test $rc -eq 0
check "path is a directory: a new pktstat-*.json in it" sh -c "ls '$TMP/isdir' | grep -q '^pktstat-[0-9]\{8\}-[0-9]\{6\}\(-[0-9]*\)\?\.json$'"
check "path is a directory: its content untouched" sh -c "test \"\$(cat '$TMP/isdir/f')\" = keep && test \"\$(ls -A '$TMP/isdir' | wc -l)\" = 2"
check "path is a directory: no temporary file left" no_tmp_in "$TMP"
c250=$(printf 'd%.0s' $(seq 250))
long=$TMP
for i in $(seq 17); do long=$long/$c250; done
long=$long/x.json
echo "# path longer than PATH_MAX: ${#long} bytes"
snap_fail "path longer than PATH_MAX" "$long" 'too long'
comp=$TMP/$(printf 'n%.0s' $(seq 300)).json
snap_fail "a component longer than NAME_MAX" "$comp" 'too long'
check "names too long: no temporary file left" no_tmp_in "$TMP"

# a full disk: a 64 kB tmpfs in a private mount namespace
if [ $ROOT -eq 1 ]; then
	mkdir "$TMP/full"
	cat > "$TMP/full.sh" << EOF
set -u
mount -t tmpfs -o size=64k,mode=755 tmpfs "$TMP/full" || exit 3
"$PK" ${FAST[*]} -r "$TMP/eth.pcap" --snapshot "$TMP/full/snap.json" > /dev/null || exit 4
sha256sum < "$TMP/full/snap.json" > "$TMP/full.sum0"
"$PK" ${FAST[*]} -r "$TMP/many.pcap" --snapshot "$TMP/full/snap.json" > /dev/null 2> "$TMP/full.err"
echo \$? > "$TMP/full.rc"
sha256sum < "$TMP/full/snap.json" > "$TMP/full.sum1"
ls -A "$TMP/full" > "$TMP/full.ls"
df -k "$TMP/full" | tail -1 > "$TMP/full.df"
EOF
	unshare -m --propagation private bash "$TMP/full.sh"
	st=$?
	check "full disk: tmpfs mounted in a private namespace (status $st)" test $st = 0
	check "full disk: the mount did not leak" sh -c "! grep -q ' $TMP/full ' /proc/mounts"
	rc=$(cat "$TMP/full.rc" 2> /dev/null)
	echo "# full disk (64 kB tmpfs, a $("$PK" "${FAST[@]}" -r "$TMP/many.pcap" -j | wc -c)-byte report): exit $rc, stderr: $(head -1 "$TMP/full.err")"
	check "full disk: non-zero exit (got $rc)" test -n "$rc" -a "$rc" != 0
	check "full disk: one line on stderr" test "$(wc -l < "$TMP/full.err")" = 1
	check "full disk: the line names the path and says no space" grep -q "$TMP/full/snap.json: .*[Nn]o space" "$TMP/full.err"
	check "full disk: previous snapshot intact" cmp -s "$TMP/full.sum0" "$TMP/full.sum1"
	check "full disk: no temporary file left ($(tr '\n' ' ' < "$TMP/full.ls"))" test "$(cat "$TMP/full.ls")" = snap.json
else
	echo "# SKIP full disk: needs root (mount)"
fi

# --- kill -9 during a snapshot write ----------------------------------------------
section "kill -9"
# Python polls the directory (a tight loop, microseconds) for the writer's
# temporary file and kills at a random moment of the write window.
cat > "$TMP/killwrite.py" << 'EOF'
import json, os, random, subprocess, sys, time
pk, snap, who, n = sys.argv[1:5]
pcaps = sys.argv[5:]  # FILE:PACKETS, used in turn: old and new differ
n = int(n)
d, base = os.path.dirname(snap), os.path.basename(snap) + ".tmp."
def tmps():
    return [f for f in os.listdir(d) if f.startswith(base)]
def kids(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []
def stat(pid):  # (state, start time): who a pid is, so that a pid
    try:        # reused by another process is never signalled
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
            return v[0], v[19]
    except OSError:
        return None, None
def alive(pid, start):  # a zombie waiting for a slow reaper is gone
    st, t = stat(pid)
    return st is not None and st != "Z" and t == start
def kill(pid, start):
    if alive(pid, start):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
def packets(b):
    try:
        return json.loads(b)["totals"]["packets"]
    except Exception:
        return None
def run(i):
    return subprocess.Popen([pk, "--max-flows", "50000", "-r",
                             pcaps[i % len(pcaps)].split(":")[0],
                             "--snapshot", snap, "-j"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
whole = {int(x.split(":")[1]) for x in pcaps}
random.seed(int(os.environ.get("SEED", "7")))
# one undisturbed run: the write window
p = run(0)
while not tmps() and p.poll() is None:
    pass
t0 = time.monotonic()
while tmps():
    pass
window = time.monotonic() - t0
p.wait()
mid = kept = replaced = broken = left = orphans = 0
for i in range(1, n + 1):
    old = open(snap, "rb").read()
    p = run(i)
    ch, t0 = [], time.monotonic()
    while not tmps() and p.poll() is None and time.monotonic() - t0 < 20:
        if not ch:
            ch = [(c, stat(c)[1]) for c in kids(p.pid)]
    time.sleep(random.uniform(0, window))
    mid += bool(tmps())
    if who == "writer" or not ch:
        p.kill()  # not waited for yet: the pid is still ours
    else:
        kill(*ch[0])
    p.wait()
    for c, start in ch:  # the other process must go too
        for _ in range(100):
            if not alive(c, start):
                break
            time.sleep(0.02)
        else:
            orphans += 1
            kill(c, start)
    new = open(snap, "rb").read()
    if new == old:
        kept += 1
    elif packets(new) in whole:
        replaced += 1
    else:
        broken += 1
        print(f"# iteration {i}: {len(new)} bytes, not a whole snapshot", flush=True)
        with open(snap, "wb") as f:
            f.write(old)
    for f in tmps():
        left += 1
        os.unlink(os.path.join(d, f))
print(f"{window * 1000:.0f} {mid} {kept} {replaced} {broken} {left} {orphans}")
EOF
kill9() { # kill9 WHO N
	local who=$1 n=$2 out
	"$PK" "${FAST[@]}" -r "$TMP/big.pcap" --snapshot "$TMP/k9.json" -j > /dev/null
	out=$(SEED=$RANDOM timeout 120 /usr/bin/python3 "$TMP/killwrite.py" "$PK" "$TMP/k9.json" "$who" "$n" "$TMP/big.pcap:20000" "$TMP/big2.pcap:19000")
	printf '%s\n' "$out" | grep '^#'
	read -r win mid kept repl broken left orph <<< "$(printf '%s\n' "$out" | tail -1)"
	echo "# kill -9 of the $who ($n times, write window $win ms): $mid mid-write; previous kept $kept, whole new one $repl, broken $broken; $left temporary files left (kill -9 cannot clean up); $orph processes left"
	check "kill -9 of the $who: at least a quarter of the kills landed mid-write ($mid of $n)" test "${mid:-0}" -ge $((n / 4))
	check "kill -9 of the $who: snapshot always whole, old or new ($broken broken)" test "${broken:-1}" = 0
	check "kill -9 of the $who: no process left behind" test "${orph:-1}" = 0
}
if [ $ROOT -eq 1 ]; then
	# as root the writer is the privileged parent; its child produces the
	# report and pipes it over
	kill9 writer 20
	kill9 "report producer" 10
else
	kill9 writer 20
fi
finish
