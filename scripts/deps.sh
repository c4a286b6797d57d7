#!/bin/sh
# Install the Debian packages pyforlinux needs, if any is missing.
# Idempotent: when everything is there it only asks dpkg (well under a second).
set -eu
pkgs="linux-source-6.12 liburcu-dev gcc make xz-utils python3 python3-venv python3-dev libc6-dev"
[ "${SANITIZE:-}" ] && pkgs="$pkgs libasan8 libubsan1"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "pyforlinux: missing Debian packages:$missing; install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "pyforlinux: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || { echo "pyforlinux: apt-get update failed; cannot install$missing" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -qq $missing >/dev/null || { echo "pyforlinux: apt-get install$missing failed" >&2; exit 1; }
