#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The guest image of `make guest` boots under hull vm run in the test host:
# the kernel runs the static hull as /init, PID 1, which loads the modules of
# /lib/modules/hull.order (`hull agent --selftest`, guest/selftest.c), lists
# what the kernel then has, and powers off.  Inputs: tests/prepare.d/60-guest.sh.
# In the testhost-vm stage (tests/run-all) with the VM-isolated container tests.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ../bounded
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
HULL_BIN=${HULL:-$REPO/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$REPO/$HULL_BIN
G=$REPO/build/guest

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	for f in vmlinuz initramfs.cpio; do
		[ -f "$G/$f" ] || { echo "missing $G/$f: run make guest" >&3; return 1; }
	done
}

@test "guest image: hull is PID 1, loads every module of hull.order, devices get their drivers, pivot_root works" {
	truncate -s 1M "$BATS_TEST_TMPDIR/disk.img"
	run timeout -s KILL 300 "$HULL_BIN" vm run --kernel "$G/vmlinuz" --initrd "$G/initramfs.cpio" --memory 256 \
		--disk "$BATS_TEST_TMPDIR/disk.img,ro" --console virtio --vsock "cid=3,uds=$BATS_TEST_TMPDIR/v.sock" \
		--cmdline "console=ttyS0 quiet panic=-1 rdinit=/init -- agent --selftest" </dev/null
	echo "$output" | tail -n 40
	# poweroff from PID 1, not a panic (3) or a reboot (2)
	assert_success
	assert_output --partial "HULL-SELFTEST pid=1"
	refute_output --partial "HULL-SELFTEST error"
	assert_output --partial "HULL-SELFTEST end"

	# every module of the list is loaded now (names as /proc/modules has them)
	local want got
	want=$(cpio -i --quiet --to-stdout lib/modules/hull.order <"$G/initramfs.cpio" |
		sed 's|.*/||; s|\.ko$||; s|-|_|g' | sort)
	got=$(sed -n 's/^HULL-SELFTEST module \([^[:space:]]*\).*/\1/p' <<<"$output" | sort)
	[ -n "$want" ]
	assert_equal "$got" "$want"
	assert_output --regexp "HULL-SELFTEST loaded=$(wc -l <<<"$want")"

	# the VMM's virtio devices are bound to the drivers of those modules
	assert_output --regexp 'HULL-SELFTEST device virtio[0-9]+ driver=virtio_blk'
	assert_output --regexp 'HULL-SELFTEST device virtio[0-9]+ driver=virtio_rng'
	assert_output --regexp 'HULL-SELFTEST device virtio[0-9]+ driver=virtio_console'
	assert_output --regexp 'HULL-SELFTEST device virtio[0-9]+ driver=vmw_vsock_virtio_transport'
	refute_output --partial 'driver=none'
	# the root left the initramfs: a container's mount namespace can pivot_root
	assert_output --partial "HULL-SELFTEST pivot_root ok"
}

@test "guest image: /init refuses --selftest when not PID 1" {
	# the same binary on the test host: it must not mount or power off
	run "$HULL_BIN" agent --selftest
	assert_failure 1
	assert_output --partial "runs only as PID 1"
}
