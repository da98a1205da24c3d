#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# guest/build-image.sh (`make guest`) on the machine: what the initramfs
# holds, that dependencies come before the modules needing them, that an
# unchanged input rebuilds nothing and a changed one does, the same bytes
# from the same inputs, and its refusals.  The image is built into the test's
# own directory; the kernel cache (build/cache/guest) is shared, so the first
# run on a machine downloads the kernel with apt-get (as make guest does).
# That the image boots: tests/integration/testhost/vmcontainer-guestimg.bats.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
B=$REPO/guest/build-image.sh
export PATH=$PATH:/usr/sbin:/sbin

setup() {
	# the image is made of build/bin/hull whatever runtime the suite tests:
	# once is enough (the asan-integration stage runs this file too)
	[[ ${HULL:-build/bin/hull} == build/bin/hull || ${HULL:-} == "$REPO/build/bin/hull" ]] ||
		skip "builds the image from build/bin/hull; runs when HULL is build/bin/hull"
	[ -x "$REPO/build/bin/hull" ] || { echo "build/bin/hull is not built (make all)" >&3; return 1; }
	O=$BATS_TEST_TMPDIR/guest
}

build() { # build HULL_BINARY
	run "$B" image "$O" "$1"
}

@test "image: /init is the stripped static hull, modules after their dependencies, nothing else" {
	build "$REPO/build/bin/hull"
	assert_success
	assert_output --regexp "build-image: .*/initramfs.cpio: [0-9]+ KiB \([0-9]+ modules of [0-9.]+-[0-9]+-cloud-amd64 loaded, [0-9]+ carried\)"
	[ -s "$O/vmlinuz" ]
	# a bzImage: "HdrS" at 0x202
	assert_equal "$(dd if="$O/vmlinuz" bs=1 skip=514 count=4 2>/dev/null)" HdrS

	local x=$BATS_TEST_TMPDIR/x
	mkdir "$x"
	(cd "$x" && cpio -id --quiet <"$O/initramfs.cpio")
	# every entry is root's; only init and lib/modules
	run bash -c "cpio -itv --quiet <'$O/initramfs.cpio' | awk '\$3 != \"root\" || \$4 != \"root\"'"
	assert_output ""
	run bash -c "cd '$x' && find . -mindepth 1 ! -path './lib' ! -path './lib/modules' ! -path './lib/modules/*' ! -path ./init"
	assert_output ""
	# /init: hull without its debug info, statically linked
	strip -o "$BATS_TEST_TMPDIR/stripped" "$REPO/build/bin/hull"
	cmp "$BATS_TEST_TMPDIR/stripped" "$x/init"
	run readelf -l "$x/init"
	refute_output --partial "program interpreter"
	run readelf -S "$x/init"
	refute_output --partial ".debug_info"

	# the order: every listed file exists, the module names asked for are
	# there, and each module's depends= come earlier in the list
	local kver n=0 line dep seen=" "
	kver=$(ls "$x/lib/modules" | grep -v '^hull\.\(order\|carried\)$')
	[ "$(echo "$kver" | wc -l)" = 1 ]
	while read -r line; do
		[[ $line == "$kver"/kernel/*.ko ]] || fail "hull.order line '$line' is not under $kver/kernel"
		[ -f "$x/lib/modules/$line" ] || fail "hull.order names $line, which the image lacks"
		for dep in $(modinfo -F depends "$x/lib/modules/$line" | tr , ' '); do
			[[ $seen == *" $dep "* ]] || fail "$line needs $dep, which does not come before it"
		done
		line=${line##*/}
		line=${line%.ko}
		seen+="${line//-/_} "
		n=$((n + 1))
	done <"$x/lib/modules/hull.order"
	for m in virtio_pci virtio_ring virtio vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport \
		fuse virtiofs virtio_blk virtio_net virtio_balloon virtio_console pvpanic_mmio; do
		[[ $seen == *" $m "* ]] || fail "module $m is not in hull.order"
	done
	# carried, not loaded at boot: overlay and erofs, dependencies first
	# (those boot loads count as before them)
	local c=0
	while read -r line; do
		[ -f "$x/lib/modules/$line" ] || fail "hull.carried names $line, which the image lacks"
		for dep in $(modinfo -F depends "$x/lib/modules/$line" | tr , ' '); do
			[[ $seen == *" $dep "* ]] || fail "$line needs $dep, which does not come before it"
		done
		line=${line##*/}
		line=${line%.ko}
		[[ $seen != *" ${line//-/_} "* ]] || fail "$line is both loaded and carried"
		seen+="${line//-/_} "
		c=$((c + 1))
	done <"$x/lib/modules/hull.carried"
	for m in overlay erofs; do
		grep -q "/$m.ko$" "$x/lib/modules/hull.carried" || fail "module $m is not carried"
	done
	# no .ko the two lists do not name
	assert_equal "$(find "$x/lib/modules/$kver" -name '*.ko' | wc -l)" "$((n + c))"
}

@test "image: unchanged inputs rebuild nothing, the same bytes come back, a new /init rebuilds" {
	build "$REPO/build/bin/hull"
	assert_success
	local ino sum
	ino=$(stat -c %i "$O/initramfs.cpio")
	sum=$(sha256sum <"$O/initramfs.cpio")
	build "$REPO/build/bin/hull"
	assert_success
	assert_output "" # nothing rebuilt, nothing said
	assert_equal "$(stat -c %i "$O/initramfs.cpio")" "$ino"

	# forced: the same inputs give the same bytes
	rm "$O/.stamp"
	build "$REPO/build/bin/hull"
	assert_success
	assert_output --partial "initramfs.cpio"
	assert_equal "$(sha256sum <"$O/initramfs.cpio")" "$sum"

	# another static binary as /init: rebuilt, with it inside
	build /bin/busybox
	assert_success
	assert_output --partial "initramfs.cpio"
	refute [ "$(sha256sum <"$O/initramfs.cpio")" = "$sum" ]
	strip -o "$BATS_TEST_TMPDIR/stripped" /bin/busybox
	cmp "$BATS_TEST_TMPDIR/stripped" <(cpio -i --quiet --to-stdout init <"$O/initramfs.cpio")
}

@test "image: a dynamic binary or a missing one is refused as /init, nothing written" {
	build /bin/ls
	assert_failure 1
	assert_output "build-image: /bin/ls is dynamically linked; /init must be static (not an ASan build)"
	build "$BATS_TEST_TMPDIR/none"
	assert_failure 1
	assert_output "build-image: $BATS_TEST_TMPDIR/none is not built (make all)"
	[ ! -e "$O/initramfs.cpio" ]
}

@test "modules: a built-in module is left out without error, an unknown one is named" {
	# ext4 is built into Debian's cloud kernel (CONFIG_EXT4_FS=y)
	run "$B" modules ext4
	assert_success
	assert_output ""
	run "$B" modules virtio_blk no_such_module
	assert_failure 1
	assert_output --regexp "^build-image: module no_such_module is neither in .*/modules nor built into [0-9.]+-[0-9]+-cloud-amd64$"
	# dashes and underscores name the same module; dependencies first
	run "$B" modules pvpanic_mmio
	assert_success
	assert_line --index 0 --regexp '/pvpanic\.ko$'
	assert_line --index 1 --regexp '/pvpanic-mmio\.ko$'
}

@test "make install: hull, the hull-vm and containerd-shim-hull-v2 links and, once built, the guest image in lib/hull" {
	local d=$BATS_TEST_TMPDIR/dest
	# no image built: hull and the link, and a hint
	run make -s -C "$REPO" install DESTDIR="$d" PREFIX=/usr GUEST="$BATS_TEST_TMPDIR/none"
	assert_success
	assert_output --partial "install: no $BATS_TEST_TMPDIR/none/initramfs.cpio: run \`make guest\`"
	cmp "$REPO/build/bin/hull" "$d/usr/bin/hull"
	assert_equal "$(readlink "$d/usr/bin/hull-vm")" hull
	assert_equal "$(readlink "$d/usr/bin/containerd-shim-hull-v2")" hull
	[ ! -e "$d/usr/lib/hull" ]

	build "$REPO/build/bin/hull"
	assert_success
	run make -s -C "$REPO" install DESTDIR="$d" PREFIX=/usr GUEST="$O"
	assert_success
	cmp "$O/vmlinuz" "$d/usr/lib/hull/vmlinuz"
	cmp "$O/initramfs.cpio" "$d/usr/lib/hull/initramfs.cpio"
	assert_equal "$(stat -c %a "$d/usr/lib/hull/initramfs.cpio")" 644
}
