#!/bin/sh
# Symlink the headers of scripts/real-headers.txt from $1/kernel/include into
# $1/real-include, so they win over tools/include's stale copies.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
b=$(cd "$1" && pwd)
rm -rf "$b/real-include.tmp"
for h in $(grep -v '^#' "$here/real-headers.txt"); do
	# A uapi-only name (linux/mei.h) is the kernel's include/uapi/linux/mei.h,
	# as -Iinclude/uapi finds it in a kernel build.
	src="$b/kernel/include/$h"
	[ -f "$src" ] || src="$b/kernel/include/uapi/$h"
	[ -f "$src" ] || { echo "pyforlinux: kernel tree lacks include/$h" >&2; exit 1; }
	mkdir -p "$b/real-include.tmp/$(dirname "$h")"
	ln -s "$src" "$b/real-include.tmp/$h"
done
rm -rf "$b/real-include" && mv "$b/real-include.tmp" "$b/real-include"
