#!/bin/bash
# make install puts the systemd unit (and the sysusers group file) beside
# the binary and the man page; the unit's hardening is the real thing: the
# daemon runs under the unit's own capability bounding set and
# no_new_privs (setpriv, as systemd would apply them), serves a client,
# and stops on SIGTERM sent to the pid systemd would track. make uninstall
# removes everything; the README documents systemctl enable --now.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
need_root
V=${B#build/}
R=$TMP/root
make --no-print-directory -s install DESTDIR="$R" PREFIX=/usr/local VARIANT="$V" > "$TMP/inst.out" 2>&1
check "make install: exit 0" test $? -eq 0
U=$R/usr/local/lib/systemd/system/pktstat.service
check "installed: binary, man page, unit, sysusers file" \
	test -x "$R/usr/local/bin/pktstat" -a -f "$R/usr/local/share/man/man1/pktstat.1" -a -f "$U" -a -f "$R/usr/local/lib/sysusers.d/pktstat.conf"
check "unit: mode 0644" test "$(stat -c %a "$U")" = 644
check "unit: ExecStart runs the installed binary as a daemon" \
	grep -q '^ExecStart=/usr/local/bin/pktstat -d -g pktstat ' "$U"
for k in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	'CapabilityBoundingSet=CAP_' 'WantedBy=multi-user.target'; do
	check "unit: $k" grep -q "^$k" "$U"
done
check "sysusers: the group pktstat" grep -q '^g pktstat ' "$R/usr/local/lib/sysusers.d/pktstat.conf"
if command -v systemd-analyze > /dev/null; then
	systemd-analyze verify --root="$R" /usr/local/lib/systemd/system/pktstat.service > "$TMP/verify" 2>&1
	# a container has no sysinit.target to order against: only that may fail
	check "systemd-analyze verify: no error in the unit itself" \
		test -z "$(grep -v 'sysinit.target\|^$' "$TMP/verify")"
	[ -s "$TMP/verify" ] && sed 's/^/# verify: /' "$TMP/verify"
fi
check "README: systemctl enable --now pktstat" grep -q 'systemctl enable --now pktstat' README

# the daemon under the unit's bounding set and no_new_privs
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$U" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
S=$TMP/unit.sock
setpriv --bounding-set "-all,$caps" --no-new-privs \
	"$PKTSTAT" -d -i lo --socket "$S" 2> "$TMP/d.log" &
pid=$!
for i in $(seq 50); do [ -S "$S" ] && break; sleep 0.1; done
"$PKTSTAT" --socket "$S" new all udp > /dev/null 2> "$TMP/c.err"
check "under the unit's capabilities ($caps): the daemon serves a client" test $? -eq 0
c=$(child_of "$pid")
check "the capture process kept no capability" \
	test "$(awk '/^CapEff/ { print $2 }' "/proc/$c/status")" = 0000000000000000
kill -TERM "$pid"
for i in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2> /dev/null; then
	not_ok "SIGTERM to the unit's main pid stops the daemon"
	kill -KILL "$pid" "$c" 2> /dev/null
else
	wait "$pid"
	check "SIGTERM to the unit's main pid stops the daemon, exit 0" test $? -eq 0
fi
[ "$FAILS" -gt 0 ] && sed 's/^/# daemon: /' "$TMP/d.log" "$TMP/c.err"

make --no-print-directory -s uninstall DESTDIR="$R" PREFIX=/usr/local > /dev/null 2>&1
check "make uninstall: nothing left" test -z "$(find "$R" -type f)"
finish
