#!/bin/sh
# Fail when a kernel file compiled here picked a header from the system's
# /usr/include/linux (Debian's uapi, an older kernel) where the kernel tree has
# its own include/linux/NAME or include/uapi/linux/NAME: the wrong header is
# then silent (an older struct, or a missing declaration). Reads the
# dependency files the compiler wrote with -MD (system headers included).
# Usage: check-kernel-headers.sh KERNEL_TREE file.d...
# Fix a hit by listing the header in scripts/real-headers.txt (or a shim).
set -eu
k="$1"
shift
bad=0
for d in "$@"; do
	[ -f "$d" ] || continue
	src=$(sed -n '1s/:.*//p' "$d")	# the object: .../obj/kernel/lib/x.o
	src=${src##*/obj/kernel/}
	src=${src%.o}.c
	for h in $(tr ' \\' '\n\n' < "$d" | grep '^/usr/include/linux/' | sort -u); do
		name=${h#/usr/include/linux/}
		for own in "include/linux/$name" "include/uapi/linux/$name"; do
			if [ -f "$k/$own" ]; then
				echo "pyforlinux: $src picks $h, but the kernel tree has its own $own (list linux/$name in scripts/real-headers.txt)" >&2
				bad=1
				break
			fi
		done
	done
done
exit $bad
