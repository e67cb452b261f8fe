# Shared helpers for the integration scripts (sourced, not run).
# PKTSTAT: binary under test; B: build directory.
B=${B:-build/release}
PKTSTAT=${PKTSTAT:-$B/pktstat}
GEN=${GEN:-$B/tests/gen/mkpcap}
TMP=$(mktemp -d /tmp/pktstat-it.XXXXXX)
chmod 700 "$TMP"
FAILS=0
PASSES=0
cleanup_tmp() { rm -rf "$TMP"; }
trap cleanup_tmp EXIT

ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
finish() {
	echo "# $(basename "$0"): $PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if [ -n "${CI:-}" ]; then
			echo "not ok - $(basename "$0") needs root and CI runs as root"; exit 1
		fi
		echo "# SKIP $(basename "$0"): needs root (network namespaces); run 'sudo make test'"
		exit 0
	fi
}
# canonical lines from pktstat -j output (see tests/gen/mkpcap.c)
json_canon() {
	jq -r '(.flows[] | "flow \(.proto) \(.src) \(.dst) \(.packets) \(.size)"),
	       (.protocols | to_entries[] | "proto \(.key) \(.value.packets) \(.value.bytes)"),
	       "total \(.totals.packets) \(.totals.bytes)"' | LC_ALL=C sort
}
# the same from the text report
text_canon() {
	{
		sed -n 's/^bitrate: [^,]*, packets: \([0-9]*\), bytes: \([0-9]*\), proto: \([^,]*\), src: \([^,]*\), dst: \(.*\)$/flow \3 \4 \5 \1 \2/p'
	} < "$1"
	sed -n 's/^  \([A-Za-z0-9]*\) *packets: \([0-9]*\), bytes: \([0-9]*\),.*/proto \1 \2 \3/p' < "$1"
	sed -n 's/^Read total packets: \([0-9]*\), total bytes: \([0-9]*\) in.*/total \1 \2/p' < "$1"
}
