# shellcheck shell=bash
# bench/lib.sh - namespace set-up and process helpers for bench/bench.sh
# (sourced, not run). Everything made here carries this shell's PID in its
# name, so several runs (and other engineers' tests) never collide, and
# bench_teardown removes it all.

# Two namespaces joined by a veth pair: BNS_CAP holds veth0 (the tools
# capture there), BNS_GEN holds veth1 (the generator sends there). IPv6 is
# off on both ends, so the kernel adds no frame of its own (no DAD, no
# MLD): the only frames on the link are the generator's.
bench_netns_setup() {
	BNS_CAP=pktbcap$$
	BNS_GEN=pktbgen$$
	ip netns add "$BNS_CAP"
	ip netns add "$BNS_GEN"
	ip link add veth0 netns "$BNS_CAP" type veth peer name veth1 \
		netns "$BNS_GEN"
	local ns
	for ns in "$BNS_CAP" "$BNS_GEN"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip netns exec "$ns" sysctl -qw \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$BNS_CAP" link set veth0 up
	ip -n "$BNS_GEN" link set veth1 up
}

bench_netns_teardown() {
	if [ -n "${BNS_CAP:-}" ]; then
		ip netns del "$BNS_CAP" 2>/dev/null || true
	fi
	if [ -n "${BNS_GEN:-}" ]; then
		ip netns del "$BNS_GEN" 2>/dev/null || true
	fi
}

# in_cap CMD...: run in the capture namespace
in_cap() {
	ip netns exec "$BNS_CAP" "$@"
}

# in_gen CMD...: run in the generator namespace
in_gen() {
	ip netns exec "$BNS_GEN" "$@"
}

# rx_packets: veth0's received-frame counter, read inside its namespace
rx_packets() {
	in_cap cat /sys/class/net/veth0/statistics/rx_packets
}

# packet_sockets: how many AF_PACKET sockets the capture namespace has
packet_sockets() {
	in_cap cat /proc/net/packet | tail -n +2 | wc -l
}

# bpf_count NAME: how many BPF programs named NAME are loaded (anyone's)
bpf_count() {
	bpftool prog show 2> /dev/null | grep -c " name $1 " || true
}
# wait_bpf N SECS: until more than N programs named fl_tc are loaded
# (pktstat's tc program: the ebpf backend opens no packet socket), at
# most SECS seconds
wait_bpf() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ "$(bpf_count fl_tc)" -gt "$1" ] && { sleep 0.3; return 0; }
		sleep 0.1
	done
	return 1
}
# bpf_stats_on / bpf_stats_off: the kernel times BPF programs only while
# kernel.bpf_stats_enabled is 1 (it costs two clock reads a run)
bpf_stats_on() { sysctl -qw kernel.bpf_stats_enabled=1; }
bpf_stats_off() { sysctl -qw kernel.bpf_stats_enabled=0; }
# bpf_run NAME PIDS: "RUN_TIME_NS RUN_CNT" summed over the programs named
# NAME that one of PIDS (whitespace-separated) holds open (their ids from
# /proc/PID/fdinfo: this bpftool cannot list a program's processes); 0 0
# without any. The tail-called programs (filter, counting, counters) are
# timed inside their caller.
bpf_run() {
	local p ids=
	for p in $2; do
		ids+=" $(cat /proc/"$p"/fdinfo/* 2> /dev/null |
			awk '$1 == "prog_id:" { print $2 }' | xargs)"
	done
	bpftool -j prog show 2> /dev/null | jq -r --arg n "$1" \
		--arg ids "$ids" '($ids | split(" ") |
		map(select(length > 0) | tonumber)) as $p |
		[.[] | select(.name == $n) | select(.id as $x | $p | index([$x]))] |
		"\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}

# mapref_attach OBJ: the reference program (bench/mapref.bpf.o) on
# veth0's ingress in the capture namespace (tc clsact, direct-action);
# prints its program id, nothing when it could not be attached
mapref_attach() {
	in_cap tc qdisc add dev veth0 clsact 2> /dev/null || true
	in_cap tc filter add dev veth0 ingress bpf direct-action obj "$1" \
		sec tc > /dev/null 2>&1 || return 0
	in_cap tc -j filter show dev veth0 ingress 2> /dev/null |
		jq -r '[.[] | .options.prog.id? // empty][0] // empty'
}
# mapref_seen ID: the frames program ID put in its map (mr_seen, summed
# over the CPUs); -1 when it cannot be read
mapref_seen() {
	local m
	for m in $(bpftool -j prog show id "$1" 2> /dev/null |
		jq '.map_ids[]?'); do
		[ "$(bpftool -j map show id "$m" | jq -r .name)" = mr_seen ] ||
			continue
		bpftool -j map dump id "$m" 2> /dev/null |
			jq '[.[0].formatted.values[].value] | add'
		return 0
	done
	echo -1
}
# mapref_detach: the clsact qdisc and the program with it
mapref_detach() {
	in_cap tc qdisc del dev veth0 clsact 2> /dev/null || true
}

# wait_sockets N SECS: until the capture namespace has more than N packet
# sockets (a tool has opened its capture) and their number has not
# changed for 0.3 s (a tool may open several, and set up its ring and
# bind after creating each); at most SECS seconds
wait_sockets() {
	local n=$1 secs=$2 i c last=-1 same=0
	for ((i = 0; i < secs * 10; i++)); do
		c=$(packet_sockets)
		if [ "$c" -gt "$n" ]; then
			if [ "$c" = "$last" ]; then
				same=$((same + 1))
				[ $same -ge 3 ] && return 0
			else
				same=0
			fi
		fi
		last=$c
		sleep 0.1
	done
	return 1
}

# The /proc readers below use bash builtins only: they run several times
# a trial, while the tool is measured.

# tree_pids PID: PID and all its descendants, one a line
tree_pids() {
	local p=$1 f c line
	echo "$p"
	for f in /proc/"$p"/task/*/children; do
		[ -r "$f" ] || continue
		line=
		{ read -r line < "$f"; } 2>/dev/null || true
		for c in $line; do
			tree_pids "$c"
		done
	done
}

# tree_cpu PID: CPU ticks (utime + stime, every thread, live and exited)
# of PID and its descendants, from /proc/PID/stat
tree_cpu() {
	local p sum=0 line
	local -a f
	for p in $(tree_pids "$1"); do
		line=
		{ read -r line < /proc/"$p"/stat; } 2>/dev/null || continue
		# utime and stime: fields 14 and 15, the 12th and 13th after
		# the ")" that closes the command name
		read -r -a f <<< "${line##*) }"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# tree_runtime_ns PID: nanoseconds on CPU of every live thread of PID and
# its descendants (/proc/PID/task/TID/schedstat, first field); finer than
# tree_cpu, blind to threads that already exited
tree_runtime_ns() {
	local p sum=0 f t
	for p in $(tree_pids "$1"); do
		for f in /proc/"$p"/task/*/schedstat; do
			t=
			{ read -r t _ < "$f"; } 2>/dev/null || continue
			sum=$((sum + ${t:-0}))
		done
	done
	echo "$sum"
}

# status_kb FILE KEY: a "KEY: N kB" figure of a /proc status file, or 0
status_kb() {
	local k v _
	{
		while read -r k v _; do
			if [ "$k" = "$2:" ]; then
				echo "$v"
				return 0
			fi
		done < "$1"
	} 2>/dev/null || true
	echo 0
}

# tree_rss_kb PID: resident set now (VmRSS, kB), summed over the tree
tree_rss_kb() {
	local p sum=0 v
	for p in $(tree_pids "$1"); do
		v=$(status_kb /proc/"$p"/status VmRSS)
		sum=$((sum + v))
	done
	echo "$sum"
}
