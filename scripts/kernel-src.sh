#!/bin/sh
# Extract the kernel files pyforlinux compiles (scripts/kernel-files.txt) into
# $1/kernel, from KERNEL_SRC if set, else from Debian's linux-source-6.12
# tarball. Checks the version; does nothing when the stamp is current.
set -eu
out="$1/kernel"
here=$(cd "$(dirname "$0")" && pwd)
list="$here/kernel-files.txt"
tarball=/usr/src/linux-source-6.12.tar.xz
die() { echo "pyforlinux: $*" >&2; exit 1; }

if [ -n "${KERNEL_SRC:-}" ]; then
	[ -d "$KERNEL_SRC" ] || die "KERNEL_SRC=$KERNEL_SRC is not a directory; point it at a Linux 6.12 source tree"
	[ -f "$KERNEL_SRC/Makefile" ] && [ -f "$KERNEL_SRC/lib/rbtree.c" ] ||
		die "KERNEL_SRC=$KERNEL_SRC is not a Linux source tree (no Makefile or lib/rbtree.c)"
	src=$(cd "$KERNEL_SRC" && pwd)
	ident="tree:$src"
else
	[ -f "$tarball" ] || die "no kernel source: install it with 'apt-get install linux-source-6.12' or set KERNEL_SRC=/path/to/linux-6.12"
	ident="tarball:$tarball:$(stat -c %Y "$tarball")"
fi

# The stamp names the source and the file list, so a change to either re-extracts.
ident="$ident:$(cksum < "$list" | cut -d' ' -f1)"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$ident" ]; then
	exit 0
fi

mkdir -p "$1" 2>/dev/null || die "cannot create build directory $1"
[ -w "$1" ] || die "build directory $1 is not writable; set BUILD_DIR to a writable path"
rm -rf "$out.tmp" && mkdir -p "$out.tmp" || die "cannot write to build directory $1"
paths=$(grep -v '^#' "$list" | grep -v '^$')

if [ -n "${KERNEL_SRC:-}" ]; then
	for p in $paths; do
		[ -e "$src/$p" ] || die "KERNEL_SRC=$KERNEL_SRC lacks $p; pyforlinux needs a Linux 6.12 tree"
		mkdir -p "$out.tmp/$(dirname "$p")"
		cp -R "$src/${p%/}" "$out.tmp/$(dirname "$p")/"
	done
else
	pats=""
	for p in $paths; do
		case "$p" in */) pats="$pats linux-source-6.12/$p*" ;; *) pats="$pats linux-source-6.12/$p" ;; esac
	done
	# shellcheck disable=SC2086
	tar -xJf "$tarball" -C "$out.tmp" --strip-components=1 --wildcards $pats ||
		die "could not extract $tarball; reinstall linux-source-6.12"
fi

v=$(sed -n 's/^VERSION = //p' "$out.tmp/Makefile")
pl=$(sed -n 's/^PATCHLEVEL = //p' "$out.tmp/Makefile")
sl=$(sed -n 's/^SUBLEVEL = //p' "$out.tmp/Makefile")
if [ "$v.$pl" != "6.12" ]; then
	rm -rf "$out.tmp"
	die "kernel $v.$pl.$sl is not supported: pyforlinux needs Linux 6.12 (apt-get install linux-source-6.12, or KERNEL_SRC=/path/to/linux-6.12)"
fi
[ -f "$out.tmp/drivers/gpu/buddy.c" ] || { rm -rf "$out.tmp"; die "kernel $v.$pl.$sl has no drivers/gpu/buddy.c: pyforlinux needs 6.12.117 or later"; }
echo "$v.$pl.$sl" > "$out.tmp/.version"
echo "$ident" > "$out.tmp/.stamp"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "pyforlinux: Linux $v.$pl.$sl sources in $out"
