#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull vm run on the development machine: usage errors come first (before
# /dev/kvm is touched), a PVM /dev/kvm is refused with a clear message instead
# of hanging, and the ACPI tables disassemble cleanly with iasl.  Booting real
# kernels needs hardware KVM: tests/integration/testhost/microvm.bats.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0
# A hang is a named `not ok` (see helpers.bash), not a stalled suite.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
HULL_BIN=${HULL:-$REPO/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$REPO/$HULL_BIN

setup() {
	[[ $(basename "$HULL_BIN") != runc* ]] || skip "hull vm has no runc equivalent"
	# A syntactically valid bzImage header is all the PVM test needs: the
	# Debian kernel from tests/prepare.d/50-microvm.sh when present, else a
	# hand-made setup header.
	KERNEL=$REPO/build/cache/microvm/vmlinuz
	if [ ! -f "$KERNEL" ]; then
		KERNEL=$BATS_TEST_TMPDIR/bzImage
		python3 "$BATS_TEST_DIRNAME/fake-bzimage.py" "$KERNEL"
	fi
}

is_pvm() {
	[ -e /sys/module/kvm_pvm ] && [ ! -e /sys/module/kvm_intel ] && [ ! -e /sys/module/kvm_amd ]
}

@test "vm run on a PVM /dev/kvm says a PVM guest kernel is needed and exits 1" {
	is_pvm || skip "this host's /dev/kvm is not PVM (covered by the test host suite)"
	run -1 timeout 20 "$HULL_BIN" vm run --kernel "$KERNEL"
	assert_output "hull: vm run: /dev/kvm is PVM (kvm_pvm): a PVM-enabled guest kernel is required"
}

@test "vm run with a missing kernel names the file" {
	run -1 "$HULL_BIN" vm run --kernel /nonexistent/bzImage
	assert_output "hull: vm run: --kernel /nonexistent/bzImage: No such file or directory"
}

@test "vm run with a file that is not a kernel says so" {
	echo "not a kernel" >"$BATS_TEST_TMPDIR/notakernel"
	run -1 "$HULL_BIN" vm run --kernel "$BATS_TEST_TMPDIR/notakernel"
	assert_output --regexp "^hull: vm run: --kernel $BATS_TEST_TMPDIR/notakernel: not a Linux kernel"
}

@test "vm run with a truncated bzImage header is refused" {
	head -c 600 "$KERNEL" >"$BATS_TEST_TMPDIR/short"
	run -1 "$HULL_BIN" vm run --kernel "$BATS_TEST_TMPDIR/short"
	assert_output --regexp "^hull: vm run: --kernel .*/short: (bzImage truncated|not a Linux kernel)"
}

@test "vm run checks the initrd and disks before touching /dev/kvm" {
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --initrd /nonexistent/initrd
	assert_output "hull: vm run: --initrd /nonexistent/initrd: No such file or directory"
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --disk /nonexistent/disk.img,ro
	assert_output "hull: vm run: --disk /nonexistent/disk.img: No such file or directory"
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --disk /etc,ro
	assert_output "hull: vm run: --disk /etc: not a regular file or block device"
}

@test "vm run checks --fs before touching /dev/kvm" {
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --fs tag=hull
	assert_output "hull: vm run: --fs: expected tag=TAG,socket=PATH"
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --fs tag=hull,sock=/x
	assert_output 'hull: vm run: --fs: "sock=/x": expected tag=TAG,socket=PATH'
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --fs tag=hull,socket=/nonexistent/fs.sock
	assert_output "hull: vm run: --fs socket=/nonexistent/fs.sock: No such file or directory"
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --fs tag=hull,socket=/etc/hostname
	assert_output "hull: vm run: --fs socket=/etc/hostname: not a Unix socket"
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --fs tag=0123456789012345678901234567890123456,socket=/x
	assert_output "hull: vm run: --fs tag=0123456789012345678901234567890123456: 1..36 bytes"
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$BATS_TEST_TMPDIR/s"
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --fs tag=a,socket="$BATS_TEST_TMPDIR/s" \
		--fs socket="$BATS_TEST_TMPDIR/s",tag=a
	assert_output "hull: vm run: --fs tag=a: used twice"
}

@test "vm run rejects too little memory, bad cpu counts and unknown options" {
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --memory 16
	assert_output --regexp '^hull: vm run: --memory 16: must be 32\.\.'
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --cpus 0
	assert_output --regexp '^hull: vm run: --cpus "0": must be 1\.\.'
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --console vga
	assert_output --regexp '^hull: vm run: --console "vga"'
	run -1 "$HULL_BIN" vm run --bogus
	assert_output --regexp '^hull: vm run: unknown option'
	run -1 "$HULL_BIN" vm run
	assert_output "hull: vm run: --kernel is required"
}

@test "vm run checks --vsock before touching /dev/kvm" {
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --vsock cid=2,uds="$BATS_TEST_TMPDIR/v.sock"
	assert_output 'hull: vm run: --vsock cid "2": must be 3..4294967294'
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --vsock cid=3
	assert_output 'hull: vm run: --vsock: uds=PATH is required'
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --vsock port=1
	assert_output 'hull: vm run: --vsock "port=1": expected cid=N,uds=PATH'
	touch "$BATS_TEST_TMPDIR/taken"
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --vsock uds="$BATS_TEST_TMPDIR/taken"
	assert_output "hull: vm run: vsock uds $BATS_TEST_TMPDIR/taken: File exists"
	local long; long=/tmp/$(printf 'x%.0s' {1..100})
	run -1 "$HULL_BIN" vm run --kernel "$KERNEL" --vsock uds="$long"
	assert_output --regexp "^hull: vm run: vsock uds $long: longer than 96 bytes"
}

@test "vm ACPI tables disassemble with iasl without errors" {
	command -v iasl >/dev/null || skip "iasl (acpica-tools) not installed"
	local d=$BATS_TEST_TMPDIR/acpi
	run -0 "$HULL_BIN" vm run --dump-acpi "$d" --cpus 4
	for t in DSDT FACP APIC MCFG XSDT; do
		[ -s "$d/$t.dat" ]
		run iasl -d "$d/$t.dat"
		assert_success
		refute_output --regexp '[Ee]rror|Invalid|checksum is incorrect'
		[ -s "$d/$t.dsl" ]
	done
	run grep -c 'Processor Local APIC' "$d/APIC.dsl"
	assert_output 4
	run grep -E 'PNP0A08|PNP0501|_S5_|QEMU0001' "$d/DSDT.dsl"
	assert_success
	# the power button's Generic Event Device (SIGTERM presses it)
	run sed -n '/Device (GED0)/,/^        }/p' "$d/DSDT.dsl"
	assert_output --partial 'Name (_HID, "ACPI0013"'
	assert_output --partial 'Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )'
	assert_output --partial '0x00000005,'
	assert_output --partial 'Method (_EVT, 1, NotSerialized)'
	assert_output --partial 'Notify (\_SB.PWRB, 0x80)'
	run grep 'Control Method Power Button (V1) : 1' "$d/FACP.dsl"
	assert_success
	# RSDP: iasl cannot disassemble it from a file; its checksums are unit-tested
	[ "$(head -c 8 "$d/RSDP.dat")" = "RSD PTR " ]
}
