#!/bin/bash
# One-way layers: among the object files of src/, capture/ and ui/ (main.o
# aside), no link-level cycle - a symbol used by A and defined in B never
# leads back from B to A, directly or through others. The graph comes from
# nm on the build's objects; tsort finds the cycles. Also checks that the
# checker sees a planted cycle, and that the front ends reach the engine
# only through its API (ui/ names no engine_ symbol but engine_port's).
. "$(dirname "$0")/lib.sh"
OBJS=()
for d in src capture ui; do
	for o in "$B/$d"/*.o; do
		[ -f "$o" ] && [ "${o##*/}" != main.o ] && OBJS+=("$o")
	done
done
check "objects of src/, capture/ and ui/ built (${#OBJS[@]})" test "${#OBJS[@]}" -ge 20

# edges FILE: "USER DEFINER SYMBOL" for every undefined symbol of an object
# that another object defines
for o in "${OBJS[@]}"; do
	nm -P --defined-only "$o" | awk -v o="${o#"$B"/}" '$2 ~ /^[TDBRVWG]$/ {print $1, o}'
done | sort -u > "$TMP/defs"
for o in "${OBJS[@]}"; do
	nm -P --undefined-only "$o" | awk -v o="${o#"$B"/}" '{print $1, o}'
done | sort -u > "$TMP/uses"
join "$TMP/uses" "$TMP/defs" | awk '$2 != $3 {print $2, $3, $1}' > "$TMP/edges"
check "the link graph has edges ($(wc -l < "$TMP/edges"))" test -s "$TMP/edges"

# cycles DEPFILE: tsort's loop report, one object a line, each loop
# after a "loop" line ("" when none)
cycles() {
	awk '{print $1, $2}' "$1" | sort -u | tsort 2>&1 > /dev/null |
		sed 's/^tsort: .*input contains a loop:$/loop/; s/^tsort: //'
}
# the checker itself: a planted cycle must be found
{ cat "$TMP/edges"; echo "capture/capture.o src/engine.o x"; echo "src/engine.o capture/capture.o y"; } > "$TMP/planted"
if [ -n "$(cycles "$TMP/planted")" ]; then ok "a planted cycle is found"; else not_ok "a planted cycle is found"; fi

loop=$(cycles "$TMP/edges")
if [ -z "$loop" ]; then
	ok "no link-level cycle among ${#OBJS[@]} objects"
else
	not_ok "no link-level cycle; found:"
	# each loop's edges: tsort names the objects, the edges say why
	echo "$loop" | awk -v edges="$TMP/edges" '
		$0 == "loop" { n++; next }
		{ in_loop[n, $0] = 1 }
		END {
			while ((getline line < edges) > 0) {
				split(line, f, " ")
				for (i = 1; i <= n; i++)
					if (in_loop[i, f[1]] && in_loop[i, f[2]])
						print "#   loop " i ": " f[1] " -> " f[2] " (" f[3] ")"
			}
		}' | sort -u | head -30
fi

# the front ends see the engine only through its API: ui/ objects use no
# engine_ symbol but the port's, and nothing of the workers or the table's
# writers
bad=$(awk '$1 ~ /^ui\// && ($2 == "src/engine.o" || $2 == "src/worker.o" || $2 ~ /^capture\//) {print $1 " -> " $2 " (" $3 ")"}' "$TMP/edges")
if [ -z "$bad" ]; then ok "ui/ reaches no engine, worker or capture symbol"; else not_ok "ui/ reaches into the engine: $bad"; fi
# capture/ is the bottom layer: it uses nothing of ui/ or the engine
bad=$(awk '$1 ~ /^capture\// && ($2 ~ /^ui\// || $2 == "src/engine.o" || $2 == "src/worker.o" || $2 == "src/pktstat.o") {print $1 " -> " $2 " (" $3 ")"}' "$TMP/edges")
if [ -z "$bad" ]; then ok "capture/ uses nothing above it"; else not_ok "capture/ reaches up: $bad"; fi
finish
