#!/bin/sh
# Install the Debian packages pyforlinux needs, if any is missing.
# Idempotent: when everything is there it only asks dpkg (well under a second).
set -eu
# umockdev (its preload fakes /dev and /sys for real clients), libdrm-dev and
# pkg-config (tools/nova-drm-client), libdrm-tests (drmdevice), fuse3 and
# libfuse3-3 (mmap through the page cache; mfusepy loads libfuse3), drm-info.
pkgs="linux-source-6.12 liburcu-dev gcc make xz-utils python3 python3-venv python3-dev libc6-dev
umockdev libumockdev0 libdrm-dev pkg-config libdrm-tests fuse3 libfuse3-3 drm-info"
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
