#!/bin/bash
# bench/bench.sh - make bench / make bench-quick: pktstat against tcpdump,
# netsniff-ng, tshark, the original pktstat and iftop, on the same exact
# traffic, in network namespaces made (and removed) here.
#
#   bench/bench.sh [--quick]
#
# Environment: B (build directory, build/release), BENCH_KEEP=1 keeps the
# work directory, BENCH_WORKLOADS / BENCH_TOOLS (space-separated ids)
# restrict the live part while developing, BENCH_PARTS selects the parts
# (live ebpf callgrind offline ui; default all of them, quick: all but
# ebpf), BENCH_EBPF_WORKLOADS the ebpf part's workloads (E1 E2 D1).
#
# Every trial: the tool starts in the capture namespace (under
# bench/runtool, which reports its rusage and stop time); once its packet
# socket exists, bench/blast sends COUNT frames from the other end of the
# veth pair, bounded in packets and seconds; when the tool's CPU use has
# settled, veth0's rx_packets delta is the reference, the tool's CPU time
# over that window (every thread of it and its children, from
# /proc/PID/task/TID/schedstat, cross-checked with utime + stime from
# /proc/PID/stat) its cost; then it is stopped and its own count parsed by
# bench/parse.sh. Each trial is one JSON line in a records file that
# bench/report.py turns into the table, results/latest.json and
# results/latest.md.
set -euo pipefail

cd "$(dirname "$0")/.."
QUICK=0
if [ "${1:-}" = --quick ]; then
	QUICK=1
elif [ $# -gt 0 ]; then
	echo "usage: bench/bench.sh [--quick]" >&2
	exit 2
fi
B=${B:-build/release}
PKTSTAT=$PWD/$B/pktstat
BLAST=$PWD/$B/bench/blast
RUNTOOL=$PWD/$B/bench/runtool
UIFRAME=$PWD/$B/bench/uiframe
HISTMEM=$PWD/$B/bench/histmem
FRESHMEM=$PWD/$B/bench/freshmem
MAPREF=$PWD/$B/bench/mapref.bpf.o
PARSE=$PWD/bench/parse.sh
OPKTSTAT=$(command -v /usr/sbin/pktstat /usr/bin/pktstat 2>/dev/null |
	head -n1 || true)
. bench/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (network namespaces, packet sockets)" >&2
	exit 1
fi
for f in "$PKTSTAT" "$BLAST" "$RUNTOOL" "$UIFRAME"; do
	[ -x "$f" ] || {
		echo "bench: $f missing: run 'make bench'" >&2
		exit 1
	}
done

T_START=$(date +%s)
WORK=$(mktemp -d /tmp/pktstat-bench.XXXXXX)
chmod 711 "$WORK"
mkdir -m 1777 "$WORK/snap"
mkdir "$WORK/t"
RECORDS=$WORK/records.jsonl
: > "$RECORDS"
# a FIFO that never has data: `read -t` on it is a sleep without a fork
mkfifo "$WORK/never"
exec {NEVER_FD}<> "$WORK/never"
# children started in the background and not yet reaped (only those may
# be killed: a reaped PID can belong to someone else by now)
BG_PIDS=()
# the full-screen trials run in a private tmux server; UI_PID is the
# runtool in its pane while a trial runs (not our child: it is killed
# only while the trial owns it)
UI_SOCK=pktstat-bench-$$
UI_PID=

bg_reaped() {
	local p keep=()
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

cleanup() {
	local p q
	# the tools under runtool too: a process left in a namespace keeps
	# it (and the veth pair) alive after ip netns del
	for p in "${BG_PIDS[@]}" $UI_PID; do
		for q in $(tree_pids "$p"); do
			kill -KILL "$q" 2>/dev/null || true
		done
	done
	tmux -L "$UI_SOCK" kill-server 2>/dev/null || true
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$UI_SOCK"
	bench_netns_teardown
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM

log() {
	printf '[%4ds] %s\n' $(($(date +%s) - T_START)) "$*" >&2
}

# rec KEY=VALUE...: append one JSON object to the records; numbers stay
# numbers, anything else becomes a string (no quotes or backslashes in
# the values we write)
rec() {
	local kv k v out=
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
			out+="\"$k\":$v,"
		else
			v=${v//\\/\\\\}
			v=${v//\"/\\\"}
			out+="\"$k\":\"$v\","
		fi
	done
	printf '{%s}\n' "${out%,}" >> "$RECORDS"
}

# kv_get KEY LINE: the value of KEY in a "k=v k=v" line
kv_get() {
	local k=$1 w
	for w in $2; do
		if [ "${w%%=*}" = "$k" ]; then
			echo "${w#*=}"
			return 0
		fi
	done
	echo -1
}

now_ns() {
	date +%s%N
}

# within SECS: still less than SECS seconds since the run started
# within N: has the current part (part_start) run for less than N s?
within() {
	[ $(($(date +%s) - T_PART)) -lt "$1" ]
}
part_start() {
	T_PART=$(date +%s)
}
T_PART=$T_START

# ---- machine ------------------------------------------------------------
tool_version() {
	case $1 in
	pktstat) "$PKTSTAT" --version 2>&1 | head -n1 ;;
	tcpdump) tcpdump --version 2>&1 | head -n1 ;;
	libpcap) tcpdump --version 2>&1 | sed -n 2p ;;
	netsniff-ng) netsniff-ng -v 2>&1 | head -n1 ;;
	tshark) tshark -v 2>/dev/null | head -n1 ;;
	pktstat-debian) dpkg-query -W -f '${Version}' pktstat 2>/dev/null ;;
	iftop) iftop -h 2>&1 | grep -i version | head -n1 ;;
	valgrind) valgrind --version 2>&1 ;;
	esac
}
rec type=meta mode="$([ $QUICK = 1 ] && echo quick || echo full)" \
	nproc="$(nproc)" \
	model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo |
		head -n1)" \
	kernel="$(uname -r)" date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	os="$(. /etc/os-release && echo "$PRETTY_NAME")" \
	mem_mb="$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)" \
	load_start="$(cut -d' ' -f1-3 /proc/loadavg)" \
	v_pktstat="$(tool_version pktstat)" \
	v_tcpdump="$(tool_version tcpdump)" \
	v_libpcap="$(tool_version libpcap)" \
	v_netsniff="$(tool_version netsniff-ng)" \
	v_tshark="$(tool_version tshark)" \
	v_opktstat="pktstat $(tool_version pktstat-debian)" \
	v_iftop="$(tool_version iftop)" \
	v_valgrind="$(tool_version valgrind)"

# ---- workloads and tools ------------------------------------------------
# id: mix size flows rate(pps, 0 = generator max) count tools
# The subset that fits 15 minutes on a 2-core machine: at 1M flows only
# pktstat (1 thread) and tcpdump, since pktstat's exit takes seconds
# there; the slow-starting or fixed-duration tools (tshark, the original
# pktstat, iftop) where they tell something new; the fixed rates with the
# fast tools. At "1M pps" the generator may fall short (it shares the two
# cores with the tool): the table shows the rate reached. U3 is L3 with
# twice the packets, pktstat without and then with its full-screen UI
# (tmux, 200x60, -w 0.1), so that 100k flows are on screen for most of
# the burst: the UI must not cost the capture a packet.
PKTSTAT3="pktstat pktstat-t2 pktstat-pcap"
declare -A WL=(
	[L1]="udp4 60 1 0 300000 $PKTSTAT3 tcpdump netsniff"
	[L2]="mix 60 1000 0 500000 $PKTSTAT3 tcpdump netsniff tshark"
	[L3]="mix 60 100000 0 500000 all"
	[U3]="mix 60 100000 0 1000000 pktstat pktstat-ui"
	[L4]="mix 60 1000000 0 1000000 pktstat tcpdump"
	[L5]="udp4 1514 1000 0 300000 all"
	[L6]="udp4 60 1000 100000 50000 all"
	[L7]="udp4 60 1000 300000 150000 tcpdump pktstat pktstat-t2 netsniff"
	[L8]="udp4 60 1000 1000000 500000 tcpdump pktstat pktstat-t2 netsniff"
	# the ebpf part: the kernel path against a ring copy, same traffic
	# (none = the generator alone); -st: the same with the kernel timing
	# the programs (kernel.bpf_stats_enabled costs two clock reads a
	# run: not in the rates); mapref: no tool, the least per-flow
	# counter a tc program can be (bench/mapref.bpf.c), for reference;
	# D1: four generators at once, a flood of new flows (1M sources), a
	# 2 MB ring against flow maps of 2 MB
	[E1]="mix 60 100000 0 1000000 none tcpdump pktstat pktstat-ebpf pktstat-ebpf-st mapref"
	[E2]="mix 60 1000000 0 1000000 none tcpdump pktstat pktstat-ebpf pktstat-ebpf-st mapref"
	[D1]="mix 60 1000000 0 2000000 pktstat-2m pktstat-ebpf-2m"
)
# generator processes per workload (default 1)
declare -A WL_GENS=([D1]=4)
EBPF_TOOLS="none pktstat-ebpf pktstat-ebpf-st pktstat-2m pktstat-ebpf-2m mapref"
# in this order within a workload: the baseline first, so that a trial
# skipped for time is never tcpdump's ("all" in a workload; the UI trial
# only where named)
ALL_TOOLS="tcpdump $PKTSTAT3 netsniff tshark opktstat iftop"
# Time budgets, each in seconds from the start of its own part (so that
# a slow part cannot take a later part's time): live trials start only
# in the first LIVE_BUDGET s of the live part, the ebpf part's in its
# first EBPF_BUDGET s, callgrind runs in CG_BUDGET, offline runs in
# OFF_BUDGET, the UI frame and history benchmarks in UI_BUDGET; each
# trial is bounded itself and what is skipped is recorded and shown.
# Workloads run in order of importance: the 1-flow baseline, the target
# workloads, the rest.
if [ $QUICK = 1 ]; then
	WORKLOADS=${BENCH_WORKLOADS:-L3 U3}
	PARTS=${BENCH_PARTS:-live callgrind offline ui}
	REPEATS=1
	LIVE_BUDGET=70 CG_BUDGET=10 OFF_BUDGET=15 UI_BUDGET=10
	UI_FLOWS="100000" UI_FRAMES=20
	HIST_PCTS="10"
else
	WORKLOADS=${BENCH_WORKLOADS:-L1 L3 U3 L2 L4 L5 L6 L7 L8}
	PARTS=${BENCH_PARTS:-live ebpf callgrind offline ui}
	REPEATS=3
	LIVE_BUDGET=620 CG_BUDGET=40 OFF_BUDGET=80 UI_BUDGET=60
	UI_FLOWS="10000 100000 1000000" UI_FRAMES=30
	HIST_PCTS="1 10 100"
fi
EBPF_WORKLOADS=${BENCH_EBPF_WORKLOADS:-E1 E2 D1}
EBPF_BUDGET=$((QUICK ? 30 : 300))
TOOLS=${BENCH_TOOLS:-$ALL_TOOLS pktstat-ui $EBPF_TOOLS}
# part NAME: is this part of the benchmark selected?
part() {
	case " $PARTS " in *" $1 "*) return 0 ;; esac
	return 1
}
part ebpf || EBPF_WORKLOADS=""
part live || WORKLOADS=""
# the idle measurement: every tool (quick: pktstat only)
IDLE_TOOLS=$([ $QUICK = 1 ] && echo "${BENCH_TOOLS:-pktstat}" || echo "$TOOLS")
RING_MB=8
# ebpf_2m_flows: flow table slots whose two generations take at most 2 MB,
# as a 2 MB ring (64 bytes a slot and two bits of marks, a power of two:
# 8192, 1 MB)
ebpf_2m_flows() {
	local n=16
	while [ $((4 * n * 64 + 4 * n / 4)) -le $((2 * 1024 * 1024)) ]; do
		n=$((n * 2))
	done
	echo "$n"
}

# wl_tools WORKLOAD: the tools it runs, in order, among TOOLS
wl_tools() {
	local mix size flows rate count list t
	read -r mix size flows rate count list <<< "${WL[$1]}"
	[ "$list" = all ] && list=$ALL_TOOLS
	for t in $TOOLS; do
		case " $list " in *" $t "*) echo "$t" ;; esac
	done
}

for w in $WORKLOADS $EBPF_WORKLOADS; do
	read -r mix size flows rate count _ <<< "${WL[$w]}"
	rec type=workload id="$w" mix="$mix" size="$size" flows="$flows" \
		rate="$rate" count="$count" tools="$(wl_tools "$w" | xargs)" \
		gens="${WL_GENS[$w]:-1}"
done
rec type=config repeats="$REPEATS" ring_mb="$RING_MB" tools="$TOOLS" \
	workloads="$WORKLOADS" ebpf_workloads="$EBPF_WORKLOADS" \
	parts="$PARTS" ebpf_2m_flows="$(ebpf_2m_flows)"

# has_tool TOOL: installed here?
has_tool() {
	case $1 in
	pktstat-ui) command -v tmux > /dev/null ;;
	pktstat* | none) return 0 ;;
	mapref) [ -f "$MAPREF" ] && command -v tc > /dev/null ;;
	tcpdump) command -v tcpdump > /dev/null ;;
	netsniff) command -v netsniff-ng > /dev/null ;;
	tshark) command -v tshark > /dev/null ;;
	opktstat) [ -n "$OPKTSTAT" ] ;;
	iftop) command -v iftop > /dev/null ;;
	esac
}

# applies TOOL MIX: iftop reports bytes of IP datagrams only; its packet
# count is derived from them, which needs one frame size (udp4)
applies() {
	[ "$1" != iftop ] || [ "$2" = udp4 ]
}

# tool_cmd TOOL TRIAL WINDOW: the command line into CMD
tool_cmd() {
	local tool=$1 id=$2 win=$3
	case $tool in
	pktstat)
		CMD=("$PKTSTAT" -i veth0 -t 120s -1 -j -b "$RING_MB"
			--snapshot "$WORK/snap/$id.json")
		;;
	pktstat-t2)
		CMD=("$PKTSTAT" -i veth0 -t 120s -1 -j --threads 2
			-b $((RING_MB / 2)) --snapshot "$WORK/snap/$id.json")
		;;
	pktstat-ebpf | pktstat-ebpf-st)
		# counted in the kernel (tc on veth0): no ring; the flow
		# tables at their default size (40 MB for both)
		CMD=("$PKTSTAT" -i veth0 -t 120s -1 -j --backend ebpf
			--snapshot "$WORK/snap/$id.json")
		;;
	pktstat-2m)
		CMD=("$PKTSTAT" -i veth0 -t 120s -1 -j -b 2
			--snapshot "$WORK/snap/$id.json")
		;;
	pktstat-ebpf-2m)
		CMD=("$PKTSTAT" -i veth0 -t 120s -1 -j --backend ebpf
			--ebpf-flows "$(ebpf_2m_flows)"
			--snapshot "$WORK/snap/$id.json")
		;;
	pktstat-pcap)
		CMD=("$PKTSTAT" -i veth0 -t 120s -1 -j --backend pcap
			-b "$RING_MB" --snapshot "$WORK/snap/$id.json")
		;;
	pktstat-ui)
		# the full-screen monitor (started in tmux by ui_start)
		CMD=("$PKTSTAT" -i veth0 -t 120s -w 0.1 -b "$RING_MB"
			--snapshot "$WORK/snap/$id.json")
		;;
	tcpdump)
		CMD=(tcpdump -i veth0 -n -B $((RING_MB * 1024)) -w /dev/null)
		;;
	netsniff)
		# -A: leave the system's socket memory settings alone;
		# -Q: leave IRQ affinity alone
		CMD=(netsniff-ng -i veth0 -o /dev/null
			--ring-size "${RING_MB}MiB" -s -A -Q)
		;;
	tshark)
		CMD=(tshark -i veth0 -n -B "$RING_MB" -w /dev/null -q)
		;;
	opktstat)
		CMD=("$OPKTSTAT" -1 -n -A none -w "$win" -i veth0)
		;;
	iftop)
		CMD=(iftop -t -s "$win" -n -N -P -B -i veth0)
		;;
	esac
}

# stop_signal TOOL: how it is told to stop (none: it stops by itself)
stop_signal() {
	case $1 in
	pktstat*) echo TERM ;;
	tcpdump | netsniff | tshark) echo INT ;;
	*) echo none ;;
	esac
}

# parse_tool TOOL TRIAL: parse.sh on what the tool wrote
parse_tool() {
	local tool=$1 id=$2 d=$WORK/t
	case $tool in
	pktstat*) "$PARSE" pktstat "$WORK/snap/$id.json" 2>/dev/null ;;
	*) "$PARSE" "$tool" "$d/$id.out" "$d/$id.err" 2>/dev/null ;;
	esac || true
}

# settle PID MIN_MS: wait until PID's tree stops using CPU (less than 2 ms
# in a 100 ms step, twice in a row) and at least MIN_MS have passed; at
# most 3 s more (wall clock: on a loaded machine the steps take longer)
settle() {
	local pid=$1 min=$2 a b quiet=0 start end now
	start=$(now_ns)
	end=$((start + (min + 3000) * 1000000))
	a=$(tree_runtime_ns "$pid")
	while :; do
		sleep 0.1
		b=$(tree_runtime_ns "$pid")
		now=$(now_ns)
		if [ $((b - a)) -lt 2000000 ]; then
			quiet=$((quiet + 1))
		else
			quiet=0
		fi
		a=$b
		[ $quiet -ge 2 ] && [ $((now - start)) -ge $((min * 1000000)) ] &&
			return 0
		[ "$now" -ge "$end" ] && return 0
	done
}

# ui_start TRIAL SECS: start CMD (the full-screen pktstat) under runtool
# in the capture namespace, in a 200x60 tmux pane of the private server
# (a real terminal: pktstat sees one and runs its UI); UI_PID gets
# runtool's pid (the pane's shell execs into it), empty on failure
ui_start() {
	local id=$1 secs=$2 d=$WORK/t line i
	line=$(printf '%q ' ip netns exec "$BNS_CAP" env TERM=xterm-256color \
		LC_ALL=C.UTF-8 "$RUNTOOL" -t "$secs" "$d/$id.ru" "${CMD[@]}")
	UI_PID=
	tmux -L "$UI_SOCK" new-session -d -s "$id" -x 200 -y 60 \
		"exec $line 2> $(printf '%q' "$d/$id.err")" || return 0
	for ((i = 0; i < 20; i++)); do
		UI_PID=$(tmux -L "$UI_SOCK" display-message -p -t "$id" \
			'#{pane_pid}' 2>/dev/null || true)
		[ -n "$UI_PID" ] && return 0
		sleep 0.1
	done
}

# ui_flows_shown TRIAL: the flow count in the header of the UI's screen
# ("flows N"), -1 when not found
ui_flows_shown() {
	local n
	n=$(tmux -L "$UI_SOCK" capture-pane -p -t "$1" 2>/dev/null |
		grep -Eo 'flows [0-9]+' | head -n1 | grep -Eo '[0-9]+' || true)
	echo "${n:--1}"
}

# settle_ms TOOL: how long a tool may hold packets back after the last
# one arrived. libpcap's TPACKET_V3 ring hands over a block when it is
# full or when its timeout expires (tcpdump asks for 1000 ms), and
# tcpdump counts only what it read before the stop signal: waiting
# 1.1 s is what every libpcap-based tool needs to see the whole burst.
settle_ms() {
	case $1 in
	tcpdump | tshark | pktstat-pcap | opktstat | iftop) echo 1100 ;;
	*) echo 200 ;;
	esac
}

# stop_bound PID SECS: give the tool under runtool PID SECS to exit, then
# SIGKILL it (runtool then reports status 137). The tool's stop time is
# measured while this waits, so the wait forks nothing: a subshell, `wc`
# and `sleep` every 0.1 s took CPU from the tool on a 2-core machine.
STOP_LIMIT=30
stop_bound() {
	local pid=$1 i p line
	for ((i = 0; i < $2 * 10; i++)); do
		line=
		{ read -r line < "/proc/$pid/task/$pid/children"; } \
			2>/dev/null || true
		[ -z "$line" ] && return 0
		read -r -t 0.1 -u "$NEVER_FD" line || true
	done
	log "pid $pid: not gone after $2 s: SIGKILL"
	for p in $(tree_pids "$pid" | tail -n +2); do
		kill -KILL "$p" 2>/dev/null || true
	done
}

# reap PID TRIAL: REAP_ST gets the exit status of the trial's runtool
# PID once it is gone: our child, waited for; the UI trial's (the pane
# closes with runtool), from runtool's report
reap() {
	REAP_ST=0
	if [ -n "$UI_PID" ] && [ "$1" = "$UI_PID" ]; then
		stop_bound "$1" 5
		UI_PID=
		REAP_ST=$(kv_get status "$(cat "$WORK/t/$2.ru" 2>/dev/null)")
	else
		wait "$1" || REAP_ST=$?
		bg_reaped "$1"
	fi
}

# blast_run WORKLOAD COUNT RATE FLOWS SIZE MIX EST: the workload's
# generators (WL_GENS, each COUNT / N frames, all at once) on veth1; one
# line "sent=N bytes=B seconds=S pps=R" for them all (pps: their sum)
blast_run() {
	local w=$1 count=$2 rate=$3 flows=$4 size=$5 mix=$6 est=$7
	local n=${WL_GENS[$w]:-1} i pids=() out
	if [ "$n" = 1 ]; then
		ip netns exec "$BNS_GEN" "$BLAST" -n "$count" -r "$rate" \
			-f "$flows" -s "$size" -m "$mix" -t $((est + 10)) \
			veth1 || true
		return 0
	fi
	for ((i = 0; i < n; i++)); do
		ip netns exec "$BNS_GEN" "$BLAST" -n $((count / n)) -r "$rate" \
			-f "$flows" -s "$size" -m "$mix" -t $((est + 10)) \
			veth1 > "$WORK/t/gen-$i.out" 2>/dev/null &
		pids+=($!)
		BG_PIDS+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || true
		bg_reaped "$i"
	done
	out=$(cat "$WORK/t"/gen-*.out)
	rm -f "$WORK/t"/gen-*.out
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		s += v["sent"]; b += v["bytes"]; p += v["pps"]
		if (v["seconds"] > t) t = v["seconds"] }
		END { printf "sent=%.0f bytes=%.0f seconds=%s pps=%.0f\n", s, b, t, p }' \
		<<< "$out"
}

# gen_words GEN: blast_run's line GEN as a trial record's generator fields
gen_words() {
	echo "gen_sent=$(kv_get sent "$1") gen_bytes=$(kv_get bytes "$1")" \
		"gen_secs=$(kv_get seconds "$1") gen_pps=$(kv_get pps "$1")"
}

# none_trial WORKLOAD REP EST: the generator alone, nothing capturing
none_trial() {
	local w=$1 rep=$2 est=$3 mix size flows rate count gen rx0 rx1
	read -r mix size flows rate count _ <<< "${WL[$w]}"
	rx0=$(rx_packets)
	gen=$(blast_run "$w" "$count" "$rate" "$flows" "$size" "$mix" "$est")
	rx1=$(rx_packets)
	# shellcheck disable=SC2046 # gen_words: key=value words
	rec type=live workload="$w" tool=none rep="$rep" \
		$(gen_words "$gen") rx=$((rx1 - rx0)) status=0
	log "$w-none-$rep: sent $(kv_get sent "$gen") at $(kv_get pps "$gen")" \
		"pps with nothing capturing, rx $((rx1 - rx0))"
}

# mapref_trial WORKLOAD REP EST: the generator with the reference per-flow
# counter (bench/mapref.bpf.c) on veth0's ingress and no tool running
mapref_trial() {
	local w=$1 rep=$2 est=$3 mix size flows rate count gen rx0 rx1 id seen
	read -r mix size flows rate count _ <<< "${WL[$w]}"
	id=$(mapref_attach "$MAPREF")
	if [ -z "$id" ]; then
		mapref_detach
		rec type=live workload="$w" tool=mapref rep="$rep" \
			error="could not attach bench/mapref.bpf.o"
		return 0
	fi
	rx0=$(rx_packets)
	gen=$(blast_run "$w" "$count" "$rate" "$flows" "$size" "$mix" "$est")
	rx1=$(rx_packets)
	seen=$(mapref_seen "$id")
	mapref_detach
	# shellcheck disable=SC2046 # gen_words: key=value words
	rec type=live workload="$w" tool=mapref rep="$rep" \
		$(gen_words "$gen") rx=$((rx1 - rx0)) counted="$seen" status=0
	log "$w-mapref-$rep: sent $(kv_get sent "$gen") at" \
		"$(kv_get pps "$gen") pps with the reference map, rx" \
		"$((rx1 - rx0)), in its map $seen"
}

# live_trial WORKLOAD TOOL REP
live_trial() {
	local w=$1 tool=$2 rep=$3
	local mix size flows rate count
	read -r mix size flows rate count _ <<< "${WL[$w]}"
	local id=$w-$tool-$rep d=$WORK/t
	local est win sig n0 pid tpid=
	# expected burst length (at 200k pps if as fast as possible), for the
	# self-stopping tools' window and the generator's own bound
	est=$(((count / (rate > 0 ? rate : 200000)) + 1))
	if [ "$tool" = none ]; then
		none_trial "$w" "$rep" "$est"
		return 0
	fi
	if [ "$tool" = mapref ]; then
		mapref_trial "$w" "$rep" "$est"
		return 0
	fi
	win=$((est + 2 > 4 ? est + 2 : 4))
	tool_cmd "$tool" "$id" "$win"
	sig=$(stop_signal "$tool")
	local ts0 ts1 ts2 ts3
	ts0=$(now_ns)
	n0=$(packet_sockets)
	if [ "$tool" = pktstat-ui ]; then
		ui_start "$id" $((win + 150))
		pid=$UI_PID
		if [ -z "$pid" ]; then
			rec type=live workload="$w" tool="$tool" rep="$rep" \
				error="no tmux pane"
			return 0
		fi
	else
		ip netns exec "$BNS_CAP" "$RUNTOOL" -t $((win + 150)) \
			"$d/$id.ru" "${CMD[@]}" > "$d/$id.out" 2> "$d/$id.err" \
			< /dev/null &
		pid=$!
		BG_PIDS+=("$pid")
	fi
	local bpf0="0 0" bpf1="0 0" is_ebpf=0 b0
	case $tool in pktstat-ebpf*) is_ebpf=1 ;; esac
	if [ $is_ebpf = 1 ]; then
		# no packet socket: wait for its programs; -st: have the
		# kernel time them (kernel.bpf_stats_enabled)
		b0=$(bpf_count fl_tc)
		if ! wait_bpf "$b0" 20; then
			log "$id: no BPF program after 20 s"
		fi
		if [ "$tool" = pktstat-ebpf-st ]; then
			bpf_stats_on
			bpf0=$(bpf_run fl_tc "$(tree_pids "$pid")")
		fi
	elif ! wait_sockets "$n0" 20; then
		log "$id: no capture socket after 20 s"
		kill -TERM "$pid" 2>/dev/null || true
		reap "$pid" "$id"
		rec type=live workload="$w" tool="$tool" rep="$rep" \
			error="no capture socket"
		return 0
	fi
	local rx0 rx1 ns0 ns1 tk0 tk1 t0 t1 gen rss
	ts1=$(now_ns)
	rx0=$(rx_packets)
	ns0=$(tree_runtime_ns "$pid")
	tk0=$(tree_cpu "$pid")
	t0=$(now_ns)
	gen=$(blast_run "$w" "$count" "$rate" "$flows" "$size" "$mix" "$est")
	if [ "$tool" = iftop ]; then
		# iftop only looks at the clock when a packet arrives: a
		# trickle of the same frames lets it reach its -s deadline
		ip netns exec "$BNS_GEN" "$BLAST" -n $((win * 200 + 2000)) \
			-r 200 -f 1 -s "$size" -m "$mix" -t $((win + 10)) \
			veth1 > /dev/null &
		tpid=$!
		BG_PIDS+=("$tpid")
	fi
	ts2=$(now_ns)
	local ui_flows=-1
	if [ "$tool" = pktstat-ui ]; then
		# the UI keeps working at every refresh (100k flows at -w
		# 0.1): its CPU never goes quiet. 1 s is ten frames, and far
		# longer than the ring's block timeout.
		sleep 1
		ui_flows=$(ui_flows_shown "$id")
	else
		settle "$pid" "$(settle_ms "$tool")"
	fi
	t1=$(now_ns)
	ns1=$(tree_runtime_ns "$pid")
	tk1=$(tree_cpu "$pid")
	rss=$(tree_rss_kb "$pid")
	rx1=$(rx_packets)
	if [ "$tool" = pktstat-ebpf-st ]; then
		bpf1=$(bpf_run fl_tc "$(tree_pids "$pid")")
		bpf_stats_off
	fi
	# a tool gone before the end of the window: its CPU is unknown and
	# its count may miss packets; the table says so
	# (runtool itself lingers as a zombie until reaped: look for its child)
	local early=0
	if [ "$(tree_pids "$pid" | wc -l)" -lt 2 ]; then
		early=1
		ns1=$ns0 tk1=-1
	fi
	if [ "$sig" != none ]; then
		kill -"$sig" "$pid" 2>/dev/null || true
	fi
	stop_bound "$pid" $((win + STOP_LIMIT))
	reap "$pid" "$id"
	local st=$REAP_ST
	ts3=$(now_ns)
	if [ -n "$tpid" ]; then
		rx1=$(rx_packets)
		kill -TERM "$tpid" 2>/dev/null || true
		wait "$tpid" || true
		bg_reaped "$tpid"
	fi
	local ru parsed
	ru=$(cat "$d/$id.ru" 2>/dev/null || echo "")
	parsed=$(parse_tool "$tool" "$id")
	local snap_ok=-1 ovf=-1
	case $tool in
	pktstat*)
		snap_ok=0
		[ -s "$WORK/snap/$id.json" ] && snap_ok=1
		ovf=$(head -c 65536 "$WORK/snap/$id.json" 2>/dev/null |
			grep -Eo '"overflowPackets":[0-9]+' | head -n1 |
			grep -Eo '[0-9]+$' || true)
		ovf=${ovf:--1}
		;;
	esac
	# shellcheck disable=SC2046 # gen_words: key=value words
	rec type=live workload="$w" tool="$tool" rep="$rep" \
		$(gen_words "$gen") \
		rx=$((rx1 - rx0)) \
		counted="$(kv_get counted "$parsed")" \
		drops="$(kv_get drops "$parsed")" \
		flows="$(kv_get flows "$parsed")" \
		tool_bytes="$(kv_get bytes "$parsed")" \
		exact="$(kv_get exact "$parsed")" \
		cpu_ns="$([ $early = 1 ] && echo -1 || echo $((ns1 - ns0)))" \
		cpu_ticks="$([ $early = 1 ] && echo -1 || echo $((tk1 - tk0)))" \
		early_exit=$early \
		clk_tck="$(getconf CLK_TCK)" \
		window_ns=$((t1 - t0)) rss_kb="$rss" \
		maxrss_kb="$(kv_get maxrss_kb "$ru")" \
		stop_us="$(kv_get stop_us "$ru")" \
		timed_out="$(kv_get timed_out "$ru")" \
		status="$st" snapshot_ok="$snap_ok" ui_flows="$ui_flows" \
		overflow="$ovf" \
		ready_ms=$(((ts1 - ts0) / 1000000)) \
		burst_ms=$(((ts2 - ts1) / 1000000)) \
		settle_ms=$(((t1 - ts2) / 1000000)) \
		stop_ms=$(((ts3 - t1) / 1000000)) \
		bpf_run_ns=$((${bpf1% *} - ${bpf0% *})) \
		bpf_run_cnt=$((${bpf1#* } - ${bpf0#* }))
	log "$id: sent $(kv_get sent "$gen") at $(kv_get pps "$gen") pps," \
		"rx $((rx1 - rx0)), counted $(kv_get counted "$parsed")" \
		"(bytes $(kv_get bytes "$parsed")), drops" \
		"$(kv_get drops "$parsed"), cpu $(((ns1 - ns0) / 1000000)) ms;" \
		"$([ "$ui_flows" != -1 ] && echo "UI showed $ui_flows flows;")" \
		"phases (ms): start $(((ts1 - ts0) / 1000000))," \
		"burst $(((ts2 - ts1) / 1000000))," \
		"settle $(((t1 - ts2) / 1000000)), stop $(((ts3 - t1) / 1000000))"
	# flow lists of 100k+ flows are big and not needed any more
	find "$WORK/snap/$id.json" "$d/$id.out" -size +4M -delete \
		2>/dev/null || true
}

# idle_trial TOOL: the tool's CPU and RSS over 2 s without traffic, so
# that periodic work can be told apart from per-packet work
idle_trial() {
	local tool=$1 id=idle-$1 d=$WORK/t n0 pid ns0 ns1 t0 t1 rss
	local early=0 st=0
	tool_cmd "$tool" "$id" 8
	n0=$(packet_sockets)
	ip netns exec "$BNS_CAP" "$RUNTOOL" -t 60 "$d/$id.ru" \
		"${CMD[@]}" > "$d/$id.out" 2> "$d/$id.err" < /dev/null &
	pid=$!
	BG_PIDS+=("$pid")
	local b0
	b0=$(bpf_count fl_tc)
	if { [ "$tool" = pktstat-ebpf ] && wait_bpf "$b0" 20; } ||
		{ [ "$tool" != pktstat-ebpf ] && wait_sockets "$n0" 20; }; then
		ns0=$(tree_runtime_ns "$pid")
		t0=$(now_ns)
		sleep 2
		ns1=$(tree_runtime_ns "$pid")
		t1=$(now_ns)
		rss=$(tree_rss_kb "$pid")
		[ "$(tree_pids "$pid" | wc -l)" -lt 2 ] && early=1
	else
		early=1
	fi
	kill -TERM "$pid" 2>/dev/null || true
	stop_bound "$pid" "$STOP_LIMIT"
	wait "$pid" || st=$?
	bg_reaped "$pid"
	if [ $early = 1 ]; then
		rec type=idle tool="$tool" error="no capture or exited early"
		return 0
	fi
	rec type=idle tool="$tool" cpu_ns=$((ns1 - ns0)) \
		window_ns=$((t1 - t0)) rss_kb="$rss" status="$st"
	log "$id: $(((ns1 - ns0) / 1000000)) ms CPU in" \
		"$(((t1 - t0) / 1000000)) ms without traffic, RSS $rss kB"
}

# ---- live ---------------------------------------------------------------
if part live || part ebpf; then
bench_netns_setup
log "namespaces $BNS_CAP and $BNS_GEN ready"
part_start
for tool in $IDLE_TOOLS; do
	# (the UI's own cost is bench/uiframe's, below; the ebpf part's
	# variants idle as pktstat-ebpf does)
	case " pktstat-ui none pktstat-ebpf-st pktstat-2m pktstat-ebpf-2m mapref " in
	*" $tool "*) continue ;;
	esac
	# only the tools the selected workloads run
	used=0
	for w in $WORKLOADS $EBPF_WORKLOADS; do
		case " $(wl_tools "$w" | xargs) " in *" $tool "*) used=1 ;; esac
	done
	[ $used = 1 ] || continue
	has_tool "$tool" && idle_trial "$tool"
done
# repeat by repeat, so that a run cut short by its time budget still has
# every workload once
for ((rep = 1; rep <= REPEATS; rep++)); do
	for w in $WORKLOADS; do
		read -r mix size flows rate count _ <<< "${WL[$w]}"
		log "repeat $rep, workload $w: $mix frames of $size bytes," \
			"$flows flows, rate" \
			"$([ "$rate" = 0 ] && echo max || echo "$rate pps")," \
			"$count packets"
		for tool in $(wl_tools "$w"); do
			if ! has_tool "$tool"; then
				rec type=live workload="$w" tool="$tool" \
					rep="$rep" error="not installed"
				continue
			fi
			applies "$tool" "$mix" || continue
			if ! within "$LIVE_BUDGET"; then
				rec type=live workload="$w" tool="$tool" \
					rep="$rep" error="skipped: time budget"
				continue
			fi
			live_trial "$w" "$tool" "$rep"
		done
	done
done

# ---- the ebpf backend ---------------------------------------------------
# E1/E2: 100k and 1M mixed flows at the generator's maximum, against the
# generator alone, tcpdump and tpacket3; D1: the DoS run. Repeat by repeat
# as above.
part_start
for ((rep = 1; rep <= REPEATS; rep++)); do
	# what a new flow's 128-byte slot costs in memory new to a process
	# (E2: each packet a new flow), after 3 s without a trial: memory
	# freed moments ago can come back cheap, which a trial's tool, started
	# seconds after the last one ended, does not see
	if [ -x "$FRESHMEM" ] && within "$EBPF_BUDGET"; then
		sleep 3
		line=$("$FRESHMEM" 128 2>/dev/null || true)
		case $line in
		"freshmem "*)
			# shellcheck disable=SC2086 # key=value words
			rec type=freshmem rep="$rep" ${line#freshmem } ;;
		esac
		log "freshmem: $line"
	fi
	for w in $EBPF_WORKLOADS; do
		read -r mix size flows rate count _ <<< "${WL[$w]}"
		log "ebpf repeat $rep, workload $w: $mix frames of $size" \
			"bytes, $flows flows, ${WL_GENS[$w]:-1} generator(s)" \
			"at max, $count packets"
		for tool in $(wl_tools "$w"); do
			if ! within "$EBPF_BUDGET"; then
				rec type=live workload="$w" tool="$tool" \
					rep="$rep" error="skipped: time budget"
				continue
			fi
			live_trial "$w" "$tool" "$rep"
		done
	done
done
bench_netns_teardown
fi

# ---- instructions per packet (callgrind) --------------------------------
# The same generator writes the pcaps: 100k packets (quick: 10k) of the
# mixed workload here, 1M (quick: 200k) with 1k and 100k flows below.
if [ $QUICK = 1 ]; then
	OFF_PKTS=200000 OFF_FLOWS="100000" CG_PKTS=10000 CG_FLOWS="100000"
else
	OFF_PKTS=1000000 OFF_FLOWS="1000 100000" CG_PKTS=100000
	CG_FLOWS="1000 100000"
fi
part_start
if part callgrind && command -v valgrind > /dev/null; then
	for f in $CG_FLOWS; do
		if ! within "$CG_BUDGET"; then
			rec type=callgrind flows="$f" packets="$CG_PKTS" \
				error="skipped: time budget"
			continue
		fi
		pc=$WORK/cg-$f.pcap
		"$BLAST" -n "$CG_PKTS" -f "$f" -m mix -w "$pc" > /dev/null
		chmod 644 "$pc"
		st=0
		# -Z root: callgrind writes its profile after the drop
		timeout 120 valgrind --tool=callgrind \
			--callgrind-out-file="$WORK/cg-$f.out" \
			"$PKTSTAT" -Z root -r "$pc" -j > /dev/null \
			2> "$WORK/cg-$f.err" || st=$?
		callgrind_annotate --inclusive=yes --threshold=100 --auto=no \
			"$WORK/cg-$f.out" \
			> "$WORK/cg-$f.txt" 2>/dev/null || true
		cg=$("$PARSE" callgrind "$WORK/cg-$f.txt" 2>/dev/null || true)
		rec type=callgrind flows="$f" packets="$CG_PKTS" status="$st" \
			total="$(kv_get total "$cg")" \
			decode="$(kv_get decode "$cg")" \
			flowtab="$(kv_get flowtab "$cg")" \
			report="$(kv_get report "$cg")"
		log "callgrind $f flows: $cg"
	done
fi

# ---- offline ------------------------------------------------------------
part_start
part offline || OFF_FLOWS=""
for f in $OFF_FLOWS; do
	"$BLAST" -n "$OFF_PKTS" -f "$f" -m mix -w "$WORK/off-$f.pcap" > /dev/null
	chmod 644 "$WORK/off-$f.pcap"
	rec type=pcap flows="$f" packets="$OFF_PKTS" \
		bytes="$(stat -c %s "$WORK/off-$f.pcap")"
done

# off_cmd TOOL FILE: the command line into CMD
off_cmd() {
	case $1 in
	pktstat) CMD=("$PKTSTAT" -r "$2" -j) ;;
	tcpdump) CMD=(tcpdump -r "$2" -w /dev/null) ;;
	tshark) CMD=(tshark -r "$2" -n -q -z "conv,ip") ;;
	esac
}

for ((rep = 1; rep <= REPEATS; rep++)); do
	for f in $OFF_FLOWS; do
		cat "$WORK/off-$f.pcap" > /dev/null
		for tool in pktstat tcpdump tshark; do
			has_tool "$tool" || continue
			if ! within "$OFF_BUDGET"; then
				rec type=offline flows="$f" tool="$tool" \
					rep="$rep" error="skipped: time budget"
				continue
			fi
			off_cmd "$tool" "$WORK/off-$f.pcap"
			id=off-$f-$tool-$rep
			t0=$(now_ns)
			st=0
			"$RUNTOOL" -t 60 "$WORK/t/$id.ru" "${CMD[@]}" \
				> "$WORK/t/$id.out" 2> "$WORK/t/$id.err" ||
				st=$?
			t1=$(now_ns)
			ru=$(cat "$WORK/t/$id.ru")
			counted=-1
			if [ "$tool" = pktstat ]; then
				counted=$(kv_get counted "$("$PARSE" pktstat \
					"$WORK/t/$id.out" 2>/dev/null || true)")
			fi
			rec type=offline flows="$f" tool="$tool" rep="$rep" \
				packets="$OFF_PKTS" wall_ns=$((t1 - t0)) \
				utime_us="$(kv_get utime_us "$ru")" \
				stime_us="$(kv_get stime_us "$ru")" \
				maxrss_kb="$(kv_get maxrss_kb "$ru")" \
				status="$st" counted="$counted"
			log "$id: $(((t1 - t0) / 1000000)) ms"
			find "$WORK/t/$id.out" -size +4M -delete
		done
	done
done

# ---- UI frame cost ------------------------------------------------------
# bench/uiframe: the UI thread's own work per refresh (copy, view update,
# layout, curses draw into a 200x60 pseudo-terminal) with N flows, in
# thread CPU time, sorted and then with the order frozen (`o`); one
# record per N and order. Nothing else runs in the trial: no namespace.
part ui || UI_FLOWS=""
part_start
for f in $UI_FLOWS; do
	if ! within "$UI_BUDGET"; then
		rec type=uiframe flows="$f" error="skipped: time budget"
		continue
	fi
	st=0
	timeout 300 "$UIFRAME" -f "$UI_FRAMES" "$f" > "$WORK/ui-$f.out" \
		2> "$WORK/ui-$f.err" || st=$?
	n=0
	while read -r line; do
		# shellcheck disable=SC2086 # key=value words
		rec type=uiframe status="$st" $line
		n=$((n + 1))
	done < <("$PARSE" uiframe "$WORK/ui-$f.out" 2>/dev/null || true)
	[ $n -gt 0 ] || rec type=uiframe flows="$f" status="$st" \
		error="no result (status $st): $(head -c 200 "$WORK/ui-$f.err" |
			tr -d '\n\"\\')"
	log "uiframe $f flows: $(tr '\n' ';' < "$WORK/ui-$f.out")"
done

# ---- rewind history ----------------------------------------------------
# bench/histmem: the monitor's --history 10m at 100k flows (src/history.c
# alone: memory and CPU, no network), with 1, 10 and 100 percent of the
# flows changing every second under the default --history-max.
for p in $HIST_PCTS; do
	if ! within "$UI_BUDGET" || [ ! -x "$HISTMEM" ]; then
		rec type=histmem flows=100000 pct="$p" error="skipped"
		continue
	fi
	st=0
	line=$(timeout 120 "$HISTMEM" 100000 "$p" 2> "$WORK/hist-$p.err") ||
		st=$?
	case $line in
	"histmem "*)
		# shellcheck disable=SC2086 # key=value words
		rec type=histmem status="$st" ${line#histmem } ;;
	*) rec type=histmem flows=100000 pct="$p" status="$st" \
		error="no result: $(head -c 200 "$WORK/hist-$p.err" |
			tr -d '\n\"\\')" ;;
	esac
	log "histmem $p%: $line"
done

rec type=end seconds=$(($(date +%s) - T_START)) \
	load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
log "done in $(($(date +%s) - T_START)) s; writing the report"
# a full run is the one the README quotes: results/latest.*; a quick run
# writes results/quick.*, a run of some parts results/partial.*
NAME=$([ $QUICK = 1 ] && echo quick || echo latest)
# a full run of some parts only (BENCH_PARTS) leaves latest.* alone too
[ $QUICK = 0 ] && [ -n "${BENCH_PARTS:-}" ] && NAME=partial
mkdir -p bench/results
python3 bench/report.py "$RECORDS" "bench/results/$NAME"
