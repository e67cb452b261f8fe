#!/bin/bash
# Install the Debian packages named on the command line that are missing.
# On a system without apt-get/dpkg, print what is needed and fail.
set -u
missing=()
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "pktstat: not a Debian system; install the equivalents of: $*" >&2
	exit 1
fi
for p in "$@"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "pktstat: missing packages: ${missing[*]}; run 'make deps' as root, or with sudo" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq || exit 1
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
	echo "pktstat: apt-get install failed for: ${missing[*]}" >&2
	exit 1
}
