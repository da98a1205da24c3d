#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull vm run --device vfio=BDF (docs/passthrough.md): an NVMe virtual
# function passed through to a microVM in the test host booted with an
# emulated IOMMU (tests/testhost/run-suite --iommu; run-all stage
# testhost-iommu).  The guest image is tests/prepare.d/50-microvm.sh's, whose
# /init runs hull.test=nvme (write, read back, MSI-X counts) and
# hull.test=pci (the functions the guest enumerated); and the test host's own
# kernel with initramfs-host.cpio.gz, hull.test=e1000e (the NIC's link).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ../bounded
load pci
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
HULL_BIN=${HULL:-$REPO/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$REPO/$HULL_BIN
C=$REPO/build/cache/microvm

setup_file() {
	if [ "${TESTHOST:-}" != 1 ] || [ ! -d /sys/class/iommu/dmar0 ]; then
		echo "# this file runs inside the test host with an IOMMU: tests/testhost/run-suite --iommu $BATS_TEST_FILENAME" >&3
		return 1
	fi
	for f in vmlinuz initramfs.cpio.gz; do
		[ -f "$C/$f" ] || { echo "# missing $C/$f: run tests/prepare.d/50-microvm.sh" >&3; return 1; }
	done
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
}

teardown() {
	[ -z "${vm_pid:-}" ] || kill -KILL "$vm_pid" 2>/dev/null || true
}

hull() {
	"$HULL_BIN" --root "$BATS_TEST_TMPDIR/root" "$@"
}

vm() { # vm TEST ARGS...: boot the test guest running hull.test=TEST
	local t=$1
	shift
	run timeout 600 "$HULL_BIN" vm run --kernel "$C/vmlinuz" --initrd "$C/initramfs.cpio.gz" --memory 256 \
		--cmdline "console=ttyS0 quiet hull.test=$t panic=-1" "$@" </dev/null
}

# The group of bdf is held open by no process (nothing assigned is left).
group_free() {
	local g
	g=$(basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")")
	! ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q " /dev/vfio/$g\$"
}

@test "hull vm run --device refuses a missing device, one not on vfio-pci, bad syntax: one line, nothing left" {
	local nic
	nic=$(pci_find 0x8086 0x020000)
	vm info --device vfio=0000:00:1e.7
	assert_failure 1
	assert_output "hull: vm run: --device: 0000:00:1e.7: no such PCI device"
	vm info --device "vfio=$nic"
	assert_failure 1
	assert_output "hull: vm run: --device: $nic: not bound to vfio-pci (driver: e1000e; hull vfio bind $nic)"
	run driver_of "$nic"
	assert_output e1000e
	vm info --device "nvme=$nic"
	assert_failure 1
	assert_output "hull: vm run: --device \"nvme=$nic\": expected vfio=DDDD:BB:DD.F"
	vm info --device vfio=1:2
	assert_failure 1
	assert_output --partial "not a PCI address"
}

@test "an NVMe VF passed through: the guest's nvme driver writes and reads back its namespace with MSI-X; all undone" {
	command -v nvme >/dev/null || skip "nvme-cli is not installed (make deps)"
	local pf vf vf2 ctrl
	pf=$(pci_find 0x1b36 0x010802)
	ctrl=/dev/$(ls "/sys/bus/pci/devices/$pf/nvme")
	run hull sriov enable "$pf" 2
	assert_success
	vf=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn0")")
	vf2=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn1")")
	# the second VF is unbound (autoprobe off): not passable
	vm info --device "vfio=$vf2"
	assert_failure 1
	assert_output "hull: vm run: --device: $vf2: not bound to vfio-pci (driver: none; hull vfio bind $vf2)"
	# NVMe virtualization management (the operator's step): VF 1 (cntlid 1)
	# gets an admin + an I/O queue and one interrupt, then goes online.
	nvme virt-mgmt "$ctrl" -c 1 -r 0 -a 8 -n 2
	nvme virt-mgmt "$ctrl" -c 1 -r 1 -a 8 -n 1
	nvme virt-mgmt "$ctrl" -c 1 -a 9
	run hull vfio bind "$vf"
	assert_success

	vm nvme --device "vfio=$vf"
	echo "$output" | tail -n 30
	assert_success
	assert_output --partial "nvme_driver=nvme"
	assert_output --partial "nvme_ns=$((64 * 2048))"
	assert_output --partial "nvme_write=ok"
	local sent back before after
	sent=$(echo "$output" | sed -n 's/^data_md5=\([0-9a-f]*\).*/\1/p')
	back=$(echo "$output" | sed -n 's/^back_md5=\([0-9a-f]*\).*/\1/p')
	[ -n "$sent" ] && [ "$sent" = "$back" ] || fail "read back $back, wrote $sent"
	assert_output --regexp 'msix_vectors=[1-9]'
	before=$(echo "$output" | sed -n 's/^nvme_irqs before=\([0-9]*\) after=.*/\1/p')
	after=$(echo "$output" | sed -n 's/^nvme_irqs before=[0-9]* after=\([0-9]*\).*/\1/p')
	[ -n "$after" ] && [ "$after" -gt "$before" ] || fail "MSI-X interrupts did not increase: $before -> $after"
	echo "# guest: nvme MSI-X interrupts $before -> $after across 1 MiB written and read back" >&3
	group_free "$vf" || fail "the VF's group is still held open"

	run hull vfio unbind "$vf"
	assert_success
	run driver_of "$vf"
	assert_output none
	nvme virt-mgmt "$ctrl" -c 1 -a 7
	run hull sriov disable "$pf"
	assert_success
	[ ! -e "/sys/bus/pci/devices/$vf" ] || fail "VF $vf still there"
	run cat "/sys/bus/pci/devices/$pf/sriov_numvfs"
	assert_output 0
}

@test "a VMM killed with a device assigned leaves nothing: the kernel releases the group, unbind works" {
	local nic
	nic=$(pci_find 0x8086 0x020000)
	run hull vfio bind "$nic"
	assert_success
	"$HULL_BIN" vm run --kernel "$C/vmlinuz" --initrd "$C/initramfs.cpio.gz" --memory 256 \
		--cmdline "console=ttyS0 quiet hull.test=pci hull.end=hold panic=-1" --device "vfio=$nic" \
		</dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	vm_pid=$!
	local i
	for i in $(seq 600); do
		grep -q HULL-TEST-END "$BATS_TEST_TMPDIR/out" && break
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 1
	done
	cat "$BATS_TEST_TMPDIR/out" | tail -n 20
	run cat "$BATS_TEST_TMPDIR/out"
	# the guest enumerated the NIC with its own identity (the cloud kernel
	# has no e1000e driver: the link is not tested)
	assert_output --partial "pci=0x8086:0x10d3 0x020000"
	kill -KILL "$vm_pid"
	wait "$vm_pid" || true
	vm_pid=
	group_free "$nic" || fail "the NIC's group is still held open after the VMM died"
	run hull vfio unbind "$nic"
	assert_success
	run driver_of "$nic"
	assert_output e1000e
}

@test "the e1000e passed through gets its link up in the guest (the test host's kernel, which has e1000e)" {
	local nic
	nic=$(pci_find 0x8086 0x020000)
	[ -f "$C/initramfs-host.cpio.gz" ] && [ -e "$C/vmlinux-pvh" ] || fail "missing $C/initramfs-host.cpio.gz or vmlinux-pvh"
	run hull vfio bind "$nic"
	assert_success
	run timeout 600 "$HULL_BIN" vm run --kernel "$C/vmlinux-pvh" --initrd "$C/initramfs-host.cpio.gz" --memory 256 \
		--cmdline "console=ttyS0 quiet hull.test=e1000e panic=-1" --device "vfio=$nic" </dev/null
	echo "$output" | tail -n 20
	assert_success
	assert_output --regexp 'e1000e_if=eth[0-9]'
	assert_output --partial "e1000e_carrier=1"
	group_free "$nic" || fail "the NIC's group is still held open"
	run hull vfio unbind "$nic"
	assert_success
	run driver_of "$nic"
	assert_output e1000e
}
