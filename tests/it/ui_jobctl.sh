#!/bin/bash
# Job control of the full-screen monitor started as root (a privileged
# snapshot writer and its capturing child, which runs as nobody), in tmux:
# - SIGSTOP then SIGCONT of the child alone (a debugger, a test) leaves the
#   writer running: `s` then writes a snapshot and `q` ends both;
# - Ctrl-Z in an interactive shell stops the whole job, and `kill %1`
#   (SIGTERM, then the shell's SIGCONT) ends it: the child, continued in
#   the background, must not touch the terminal (SIGTTOU would stop it
#   again) and writes its snapshot.
. "$(dirname "$0")/lib.sh"
need_root
tmux_setup pktstat-jobctl
keys() { T send-keys -t ui "$@"; }
state() { awk '{print $3}' "/proc/$1/stat" 2> /dev/null; }
gone_within() { # gone_within SECONDS PID...: all PIDs exit in time
	local i p alive
	for i in $(seq $(($1 * 20))); do
		alive=0
		for p in "${@:2}"; do kill -0 "$p" 2> /dev/null && alive=1; done
		[ $alive -eq 0 ] && return 0
		sleep 0.05
	done
	return 1
}
writer_of() { # writer_of NAME: the pktstat started with --snapshot NAME.json
	local i p
	for i in $(seq 50); do
		p=$(pgrep -f -- "^$PKTSTAT -r $TMP/eth.pcap --snapshot $TMP/$1.json" | head -1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
	done
}
"$GEN" eth "$TMP/eth.pcap" "$TMP/eth.exp"

# 1. SIGSTOP + SIGCONT of the child only
T new-session -d -s ui -x 100 -y 30 \
	"env TERM=xterm-256color $PKTSTAT -r $TMP/eth.pcap --snapshot $TMP/s1.json; echo EXITED \$?; sleep 60"
check "stop: screen comes up" wait_for '^Proto'
parent=$(writer_of s1)
child=$(child_of "${parent:-0}")
check "stop: root writer ($parent) and capturing child ($child) found" test -n "$parent" -a -n "$child"
kill -STOP "$child"
sleep 0.5
st_child=$(state "$child")
st_parent=$(state "$parent")
kill -CONT "$child"
sleep 0.3
st_parent2=$(state "$parent")
echo "# stop: child state $st_child, writer $st_parent while the child was stopped, $st_parent2 after SIGCONT"
check "stop: child stopped by SIGSTOP ($st_child)" test "$st_child" = T
check "stop: writer not stopped with it ($st_parent)" test "$st_parent" != T
check "stop: writer running after the child's SIGCONT ($st_parent2)" test "$st_parent2" != T
keys s
check "stop: s writes a snapshot afterwards" wait_for 'snapshot written' 5
check "stop: snapshot file holds every packet" test "$(jq .totals.packets "$TMP/s1.json" 2> /dev/null)" = 162
keys q
check "stop: q ends writer and child within 3 s" gone_within 3 "$parent" "$child"
check "stop: exit status 0" wait_for 'EXITED 0' 3
T kill-session -t ui 2> /dev/null

# 2. Ctrl-Z, then kill %1 from the shell
T new-session -d -s ui -x 100 -y 30 "env TERM=xterm-256color PS1='$ ' bash --norc --noprofile -i"
sleep 0.3
keys "$PKTSTAT -r $TMP/eth.pcap --snapshot $TMP/s2.json" Enter
check "ctrl-z: screen comes up" wait_for '^Proto'
parent=$(writer_of s2)
child=$(child_of "${parent:-0}")
check "ctrl-z: root writer ($parent) and capturing child ($child) found" test -n "$parent" -a -n "$child"
keys C-z
check "ctrl-z: the shell reports the job stopped" wait_for 'Stopped' 5
sleep 0.2
check "ctrl-z: child and writer both stopped ($(state "$child") $(state "$parent"))" test "$(state "$child")" = T -a "$(state "$parent")" = T
t0=$(date +%s%N)
keys 'kill %1' Enter
gone_within 5 "$parent" "$child"
g=$?
t1=$(date +%s%N)
echo "# ctrl-z: kill %1 ended the job in $(( (t1 - t0) / 1000000 )) ms (child state now: $(state "$child"))"
check "ctrl-z: kill %1 ends writer and child within 5 s" test $g -eq 0
check "ctrl-z: snapshot written with every packet" test "$(jq .totals.packets "$TMP/s2.json" 2> /dev/null)" = 162
keys 'echo SHELL-OK' Enter
check "ctrl-z: the shell is usable afterwards" wait_for '^SHELL-OK' 3

# 3. Ctrl-Z on a busy machine, three times: the writer at SCHED_IDLE
#    beside a busy loop on one CPU (it is preempted wherever it is, also
#    on its way back to user space with its SIGTSTP), the child on the
#    other at a real-time priority (it stops at once). The child's SIGCHLD
#    then often lands before the writer's SIGTSTP handler has run, and
#    its handler runs first. The shell must get the terminal back every
#    time; fg brings the screen back; q ends both.
T send-keys -t ui clear Enter
keys "$PKTSTAT -r $TMP/eth.pcap --snapshot $TMP/s3.json" Enter
check "busy ctrl-z: screen comes up" wait_for '^Proto'
parent=$(writer_of s3)
child=$(child_of "${parent:-0}")
timeout 30 taskset -c 0 sh -c 'while :; do :; done' &
hog=$!
at_exit_extra() { kill "$hog" 2> /dev/null; }
other=$(($(nproc) > 1 ? 1 : 0))
chrt --idle -p 0 "${parent:-0}" && taskset -p -c 0 "${parent:-0}" > /dev/null &&
	taskset -a -p -c $other "${child:-0}" > /dev/null && chrt -a -f -p 1 "${child:-0}"
check "busy ctrl-z: writer ($parent) at SCHED_IDLE on the busy CPU, child ($child) real-time" test $? -eq 0
for round in 1 2 3; do
	T send-keys -t ui C-z
	if ! wait_for '^\[1\]+ *Stopped' 5; then
		not_ok "busy ctrl-z ($round): the shell reports the job stopped (child $(state "$child"), writer $(state "$parent"))"
		break
	fi
	ok "busy ctrl-z ($round): the shell reports the job stopped"
	T send-keys -t ui clear Enter fg Enter
	if ! wait_for '^Proto' 5; then
		not_ok "busy ctrl-z ($round): fg brings the screen back"
		break
	fi
	ok "busy ctrl-z ($round): fg brings the screen back"
done
kill "$hog" 2> /dev/null
wait "$hog" 2> /dev/null
check "busy ctrl-z: three rounds" test "$round" = 3 -a "$(state "$parent")" != T
keys q
if gone_within 3 "$parent" "$child"; then
	ok "busy ctrl-z: q ends writer and child within 3 s"
else
	not_ok "busy ctrl-z: q ends writer and child within 3 s"
	kill -9 "$parent" "$child" 2> /dev/null
fi
check "busy ctrl-z: snapshot written with every packet" test "$(jq .totals.packets "$TMP/s3.json" 2> /dev/null)" = 162
keys 'echo SHELL-OK2' Enter
check "busy ctrl-z: the shell is usable afterwards" wait_for '^SHELL-OK2' 3
finish
