#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The guest image of VM-isolated containers (`make guest`), and the Debian
# cloud kernel it is made of, for everything else that boots that kernel
# (tests/prepare.d/50-microvm.sh).
#
#   guest/build-image.sh image OUTDIR HULL
#       OUTDIR/vmlinuz         Debian's linux-image-cloud-amd64 bzImage
#       OUTDIR/initramfs.cpio  cpio newc: /init = HULL stripped (static; the
#                              agent runs as PID 1), /lib/modules/<kver>/kernel/...ko the
#                              modules below with their dependencies, and
#                              /lib/modules/hull.order: their paths relative
#                              to /lib/modules, dependencies first (PID 1
#                              loads them at boot); /lib/modules/hull.carried:
#                              the same for modules carried but not loaded
#                              (overlay, erofs: loaded when a mount needs them).
#       Rebuilt only when an input changed (the kernel version, HULL's bytes,
#       this script): OUTDIR/.stamp holds their hash.
#   guest/build-image.sh kernel
#       fetches the kernel into the cache if needed and prints
#       KVER=… VMLINUZ=… MODULES=… (the unpacked lib/modules/<kver>)
#   guest/build-image.sh modules NAME...
#       prints the .ko paths of NAMEs and their dependencies, dependencies
#       first, each once; a module the kernel has built in is left out.
#
# The kernel package is resolved through `apt-cache depends`, fetched with
# `apt-get download` and unpacked with `dpkg -x` into the cache
# ($HULL_GUEST_CACHE, default build/cache/guest): never installed on this
# machine.  No root needed: cpio -R 0:0 makes the files root's, and the
# kernel's own built-in initramfs already holds /dev/console.
#
# Exit status 1 with a one-line reason on stderr.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${HULL_GUEST_CACHE:-$top/build/cache/guest}
meta=linux-image-cloud-amd64

# What the agent and the VMM's devices need (ISSUE 11: virtio-pci transport,
# vsock to the host, virtio-fs for the rootfs, block, net, balloon, console,
# rng for early entropy, pvpanic for panics;
# button + evdev: the ACPI power button the host presses to ask for a
# shutdown, read by the agent from /dev/input/eventN).  PID 1 loads every one
# at each boot, before the agent listens (overlay + erofs + libcrc32c were
# ~2 s of a VM container's start under the test host's TCG): nothing goes in
# that no code uses (overlay/erofs: when the guest mounts images).
GUEST_MODULES=(virtio_pci virtio_ring virtio vsock vmw_vsock_virtio_transport_common
	vmw_vsock_virtio_transport fuse virtiofs virtio_blk virtio_net
	virtio_balloon virtio_console virtio-rng pvpanic-mmio button evdev)
# Carried but not loaded at boot (/lib/modules/hull.carried, dependencies
# first): the image file systems a guest mounts on demand.
GUEST_CARRIED=(overlay erofs)

die() {
	echo "build-image: $*" >&2
	exit 1
}

# The versioned package behind the meta package (linux-image-6.1.0-NN-cloud-amd64).
# apt-cache takes most of a second: the answer is remembered until apt's lists change.
resolve_pkg() {
	local memo=$cache/pkg.auto lists=/var/lib/apt/lists pkgcache=/var/cache/apt/pkgcache.bin p
	if [ -s "$memo" ] && [ "$memo" -nt "$lists" ] &&
		{ [ ! -e "$pkgcache" ] || [ "$memo" -nt "$pkgcache" ]; }; then
		cat "$memo"
		return
	fi
	p=$(apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1)
	if [ -z "$p" ]; then
		# no apt lists (apt-get update never ran): the newest kernel in the cache
		p=$(find "$cache" -mindepth 2 -maxdepth 2 -name vmlinuz -printf '%h\n' 2>/dev/null |
			xargs -rn1 basename | sort -V | tail -n1)
		[ -n "$p" ] || die "apt-cache knows no $meta (run apt-get update)"
		echo "linux-image-$p"
		return
	fi
	echo "$p" >"$memo.tmp" && mv "$memo.tmp" "$memo"
	echo "$p"
}

# Sets KVER, KDIR (the cache dir of that kernel: vmlinuz, config, modules/).
fetch_kernel() {
	mkdir -p "$cache" || die "cannot create $cache"
	exec 8>"$cache/.lock"
	flock 8 # concurrent runs share the cache: one fetches, the others wait
	local pkg tmp deb
	pkg=$(resolve_pkg)
	KVER=${pkg#linux-image-}
	case $KVER in */* | '' | .*) die "bad kernel package name '$pkg'" ;; esac
	KDIR=$cache/$KVER
	if [ -s "$KDIR/vmlinuz" ] && [ -d "$KDIR/modules/kernel" ]; then
		flock -u 8
		return
	fi
	echo "build-image: fetching $pkg" >&2
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	# as root, apt-get warns that _apt cannot write here; only real errors count
	if ! (cd "$tmp" && apt-get download -q "$pkg" >"$tmp/log" 2>&1) && [ "$(id -u)" = 0 ]; then
		echo "build-image: apt-get download $pkg failed; running apt-get update once" >&2
		apt-get update -qq >&2 || true
		(cd "$tmp" && apt-get download -q "$pkg" >"$tmp/log" 2>&1) || true
	fi
	deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
	if [ -z "$deb" ]; then
		grep -v '^W: Download is performed unsandboxed' "$tmp/log" >&2 || true
		rm -rf "$tmp"
		die "cannot fetch $pkg with apt-get download"
	fi
	dpkg -x "$deb" "$tmp/x" || { rm -rf "$tmp"; die "cannot unpack $deb"; }
	[ -s "$tmp/x/boot/vmlinuz-$KVER" ] && [ -d "$tmp/x/lib/modules/$KVER/kernel" ] ||
		{ rm -rf "$tmp"; die "$deb holds no boot/vmlinuz-$KVER and lib/modules/$KVER"; }
	rm -rf "$KDIR"
	mkdir -p "$KDIR"
	mv "$tmp/x/lib/modules/$KVER" "$KDIR/modules"
	mv "$tmp/x/boot/config-$KVER" "$KDIR/config"
	mv "$tmp/x/boot/vmlinuz-$KVER" "$KDIR/vmlinuz" # last: its presence means complete
	rm -rf "$tmp"
	flock -u 8
}

# resolve_modules NAME...: fills ORDER with .ko paths, dependencies first.
resolve_modules() {
	local mods=$KDIR/modules f n
	declare -gA KO=() BUILTIN=() SEEN=()
	ORDER=()
	# module names use '_' where file names may use '-' (virtio-rng.ko)
	while read -r f; do
		n=$(basename "$f" .ko)
		KO[${n//-/_}]=$f
	done < <(find "$mods/kernel" -name '*.ko')
	if [ -f "$mods/modules.builtin" ]; then
		while read -r f; do
			n=$(basename "$f" .ko)
			BUILTIN[${n//-/_}]=1
		done <"$mods/modules.builtin"
	fi
	for n in "$@"; do add_module "$n"; done
}

add_module() { # depth first: a module's dependencies before it
	local n=${1//-/_} path dep deps
	[ -z "${SEEN[$n]:-}" ] || return 0
	SEEN[$n]=1
	[ -z "${BUILTIN[$n]:-}" ] || return 0
	path=${KO[$n]:-}
	[ -n "$path" ] || die "module $1 is neither in $KDIR/modules nor built into $KVER"
	deps=$(modinfo -F depends "$path") || die "modinfo $path failed"
	for dep in ${deps//,/ }; do add_module "$dep"; done
	ORDER+=("$path")
}

# build_image OUTDIR HULL
build_image() {
	local out=$1 hull=$2 stamp want stage p rel size
	[ -f "$hull" ] && [ -x "$hull" ] || die "$hull is not built (make all)"
	# a dynamic binary cannot be /init: the image holds no libc
	if readelf -l "$hull" 2>/dev/null | grep -q "program interpreter"; then
		die "$hull is dynamically linked; /init must be static (not an ASan build)"
	fi
	fetch_kernel
	mkdir -p "$out" || die "cannot create $out"
	exec 9>"$out/.lock"
	flock 9
	want=$( { echo "$KVER"; sha256sum <"$hull"; sha256sum <"${BASH_SOURCE[0]}"; } | sha256sum | cut -d' ' -f1)
	if [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs.cpio" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	resolve_modules "${GUEST_MODULES[@]}"
	local boot=("${ORDER[@]}")
	# SEEN keeps what boot loads: only the rest is carried
	ORDER=()
	for p in "${GUEST_CARRIED[@]}"; do add_module "$p"; done
	local carried=("${ORDER[@]}")
	stage=$(mktemp -d "$out/.stage.XXXXXX")
	# shellcheck disable=SC2064 # expanded now, on purpose
	trap "rm -rf '$stage'" EXIT
	chmod 755 "$stage"
	mkdir -p "$stage/root/lib/modules"
	# without its debug info (half of a -g build's bytes): nobody debugs in there
	strip -o "$stage/root/init" "$hull" || die "strip $hull failed"
	chmod 755 "$stage/root/init"
	: >"$stage/root/lib/modules/hull.order"
	: >"$stage/root/lib/modules/hull.carried"
	for p in "${boot[@]}" "${carried[@]}"; do
		rel=$KVER/${p#"$KDIR/modules/"}
		mkdir -p "$stage/root/lib/modules/$(dirname "$rel")"
		cp "$p" "$stage/root/lib/modules/$rel"
	done
	for p in "${boot[@]}"; do echo "$KVER/${p#"$KDIR/modules/"}"; done >"$stage/root/lib/modules/hull.order"
	for p in "${carried[@]}"; do echo "$KVER/${p#"$KDIR/modules/"}"; done >"$stage/root/lib/modules/hull.carried"
	# fixed times and owners: the same inputs give the same bytes
	find "$stage/root" -exec touch -h -d @0 {} +
	(cd "$stage/root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet) >"$stage/initramfs.cpio" ||
		die "cpio failed"
	cp "$KDIR/vmlinuz" "$stage/vmlinuz"
	mv "$stage/vmlinuz" "$out/vmlinuz"
	mv "$stage/initramfs.cpio" "$out/initramfs.cpio"
	echo "$want" >"$out/.stamp"
	size=$(stat -c %s "$out/initramfs.cpio")
	echo "build-image: $out/initramfs.cpio: $((size / 1024)) KiB (${#boot[@]} modules of $KVER loaded," \
		"${#carried[@]} carried)," \
		"$out/vmlinuz: $(($(stat -c %s "$out/vmlinuz") / 1024)) KiB" >&2
}

case ${1:-} in
image)
	[ $# -eq 3 ] || die "usage: $0 image OUTDIR HULL"
	build_image "$2" "$3"
	;;
kernel)
	[ $# -eq 1 ] || die "usage: $0 kernel"
	fetch_kernel
	printf 'KVER=%s\nVMLINUZ=%s\nMODULES=%s\n' "$KVER" "$KDIR/vmlinuz" "$KDIR/modules"
	;;
modules)
	shift
	[ $# -gt 0 ] || die "usage: $0 modules NAME..."
	fetch_kernel
	resolve_modules "$@"
	printf '%s\n' "${ORDER[@]}"
	;;
*)
	die "usage: $0 image OUTDIR HULL | kernel | modules NAME..."
	;;
esac
