#!/bin/bash
# Configuration (.pktstatrc, -A files) is read as root before the
# privilege drop and trusted only when owned by root or the invoking user:
# root's own 0600 ~/.pktstatrc and -A file are read; a file owned by
# nobody (whom the capture runs as) is refused with one line, whether it
# is a default file (a warning, the run goes on) or named by -A (exit 1).
. "$(dirname "$0")/lib.sh"
need_root
PK=$(readlink -f "$PKTSTAT")
# directories nobody can enter, as a home and a working directory are
PUB=$(mktemp -d /tmp/pktstat-cfg.XXXXXX)
at_exit_extra() { [ -n "$PUB" ] && rm -rf "$PUB"; }
chmod 755 "$PUB"
mkdir -m 755 "$PUB/home" "$PUB/cwd"
"$GEN" eth "$PUB/eth.pcap" "$TMP/eth.exp"
web_exp=$(awk '$1=="flow" && $2=="TCP" && ($4 ~ /:80$/ || $3 ~ /:80$/) {o+=$6; p+=$5} END {print o, p}' "$TMP/eth.exp")
run() { # run OUT ARGS...: -1 report of eth.pcap from $PUB/cwd, HOME=$PUB/home
	local out=$1
	shift
	(cd "$PUB/cwd" && HOME="$PUB/home" "$PK" -r "$PUB/eth.pcap" -1 -n "$@") > "$TMP/$out.out" 2> "$TMP/$out.err"
}

# root's own ~/.pktstatrc, mode 0600
echo 'web@tcp * <-> *:80' > "$PUB/home/.pktstatrc"
chmod 600 "$PUB/home/.pktstatrc"
run home
check "root's 0600 ~/.pktstatrc is read: the web conversations merged ($web_exp web)" grep -qx "$web_exp web" "$TMP/home.out"
check "root's ~/.pktstatrc: no warning" test ! -s "$TMP/home.err"

# the same file owned by nobody: refused, one line, the run goes on
chown nobody "$PUB/home/.pktstatrc"
chmod 644 "$PUB/home/.pktstatrc"
run nobody
rc=$?
check "~/.pktstatrc owned by nobody: not used" sh -c "! grep -q ' web\$' '$TMP/nobody.out'"
check "~/.pktstatrc owned by nobody: one line says so ($(head -1 "$TMP/nobody.err"))" sh -c "test \$(wc -l < '$TMP/nobody.err') -eq 1 && grep -q 'pktstatrc: ignored: owned by uid' '$TMP/nobody.err'"
check "~/.pktstatrc owned by nobody: the report still comes, exit 0 ($rc)" sh -c "test $rc -eq 0 && test \"\$(head -1 '$TMP/nobody.out' | cut -d' ' -f1)\" = 15"
rm -f "$PUB/home/.pktstatrc"

# a .pktstatrc owned by nobody in the working directory
echo 'hidden@*' > "$PUB/cwd/.pktstatrc"
chown nobody "$PUB/cwd/.pktstatrc"
run cwd
check "./.pktstatrc owned by nobody: not used" sh -c "! grep -q ' hidden\$' '$TMP/cwd.out'"
check "./.pktstatrc owned by nobody: one line" sh -c "test \$(wc -l < '$TMP/cwd.err') -eq 1 && grep -q 'ignored: owned by uid' '$TMP/cwd.err'"
rm -f "$PUB/cwd/.pktstatrc"

# -A with root's 0600 file
echo 'web@tcp * <-> *:80' > "$PUB/home/abbr"
chmod 600 "$PUB/home/abbr"
run afile -A "$PUB/home/abbr"
rc=$?
check "-A root's 0600 file: read (exit $rc, $(head -1 "$TMP/afile.err"))" sh -c "test $rc -eq 0 && grep -qx '$web_exp web' '$TMP/afile.out'"

# -A with a file owned by nobody: refused, exit 1, one line
chown nobody "$PUB/home/abbr"
run anobody -A "$PUB/home/abbr"
rc=$?
check "-A file owned by nobody: exit 1 ($rc)" test $rc -eq 1
check "-A file owned by nobody: one line ($(head -1 "$TMP/anobody.err"))" sh -c "test \$(wc -l < '$TMP/anobody.err') -eq 1 && grep -q 'abbr: refused: owned by uid' '$TMP/anobody.err'"
check "-A file owned by nobody: no report" test ! -s "$TMP/anobody.out"
finish
