#!/bin/bash
# Every option in `pktstat --help` is documented in pktstat.1, and every
# option the man page documents is in --help; the README opens with the two
# set-up commands and no run history.
. "$(dirname "$0")/lib.sh"
"$PKTSTAT" --help > "$TMP/help" || not_ok "--help exits 0"
grep -o -- '--[a-z][a-z_-]*' "$TMP/help" | sort -u > "$TMP/help.opts"
# man: \-\-name in .BR lines of the OPTIONS section
sed -n '/^\.SH OPTIONS/,/^\.SH /p' pktstat.1 | grep -o -- '\\-\\-[a-z][a-z_\\-]*' |
	sed 's/\\-/-/g' | sort -u > "$TMP/man.opts"
if diff -u "$TMP/help.opts" "$TMP/man.opts"; then ok "--help and pktstat.1 list the same long options ($(wc -l < "$TMP/help.opts"))"; else not_ok "--help and pktstat.1 list the same long options"; fi
check "at least 25 options documented" test "$(wc -l < "$TMP/help.opts")" -ge 25
# the README opens with the two set-up commands, runnable in a root shell
# without sudo (containers), sudo named as the alternative
cmds=$(sed -n 's/^    \(make [a-z]*\) .*/\1/p' README | head -2 | tr '\n' ,)
check "README's first two commands are make run, make test ($cmds)" test "$cmds" = "make run,make test,"
check "README says: as root, or with sudo" grep -q 'As root, or with sudo' README
check "README holds no run history" sh -c "! grep -qiE 'latest full run|what did it since|^earlier \\(' README"
"$PKTSTAT" --bogus > /dev/null 2> "$TMP/usage.err"
check "unknown flag: exit 2" test $? -eq 2
check "unknown flag: first line names it" grep -q -- '^pktstat: --bogus: unknown option' "$TMP/usage.err"
"$PKTSTAT" --version > "$TMP/ver"
check "--version prints the version" grep -q '^pktstat ' "$TMP/ver"
# the KEYS section is generated from the one key table (ui/keys.c)
KM=$B/tests/stress/keysman
sed -n '/KEYS-BEGIN/,/KEYS-END/p' pktstat.1 | sed '1d;$d' > "$TMP/man.keys"
"$KM" > "$TMP/table.keys"
if diff -u "$TMP/table.keys" "$TMP/man.keys"; then ok "pktstat.1 KEYS section equals the key table ($(grep -c '^.TP' "$TMP/table.keys") entries)"; else not_ok "pktstat.1 KEYS section equals the key table (run: make man-keys)"; fi
# ... and the SCREEN section from the same file's legend of the screen
sed -n '/SCREEN-BEGIN/,/SCREEN-END/p' pktstat.1 | sed '1d;$d' > "$TMP/man.screen"
"$KM" screen > "$TMP/table.screen"
if diff -u "$TMP/table.screen" "$TMP/man.screen"; then ok "pktstat.1 SCREEN section equals the screen legend ($(grep -c '^.TP' "$TMP/table.screen") entries)"; else not_ok "pktstat.1 SCREEN section equals the screen legend (run: make man-keys)"; fi
for f in freeze 'if ' '(+N)' exact 'max (peak)' '%' 'A>B' '[f]' 'smaller address'; do
	check "SCREEN explains '$f'" grep -qF -- "$f" "$TMP/table.screen"
done
for k in q t p b n l r '?'; do
	check "the original pktstat's key '$k' is in the table" \
		sh -c "grep -qF '.B \"$k\"' '$TMP/table.keys' || grep -qF '.B \"$k,' '$TMP/table.keys' || grep -qF ', $k\"' '$TMP/table.keys'"
done
finish
