#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Device passthrough (docs/passthrough.md) in the test host booted with an
# emulated IOMMU: tests/testhost/run-suite --iommu (run-all stage
# testhost-iommu).  lspci-free: the PCI functions are read from sysfs.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ../bounded
load pci

setup_file() {
	if [ "${TESTHOST:-}" != 1 ]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite --iommu $BATS_TEST_FILENAME" >&3
		return 1
	fi
	if [ ! -d /sys/class/iommu/dmar0 ]; then
		echo "# this test host has no IOMMU: tests/testhost/run-suite --iommu $BATS_TEST_FILENAME" >&3
		return 1
	fi
}

@test "the IOMMU translates with interrupt remapping and puts each function in a group" {
	run cat /proc/cmdline
	assert_output --partial intel_iommu=on
	run grep -c . /sys/class/iommu/dmar0/intel-iommu/cap
	assert_success
	# interrupt remapping on: VFIO refuses groups without it
	run dmesg
	assert_output --partial "Enabled IRQ remapping"
	local n
	n=$(ls /sys/kernel/iommu_groups | wc -l)
	[ "$n" -ge 4 ] || fail "only $n IOMMU groups"
	for m in vfio vfio_pci vfio_iommu_type1; do
		[ -d "/sys/module/$m" ] || fail "module $m not loaded"
	done
	[ -c /dev/vfio/vfio ] || fail "no /dev/vfio/vfio"
}

@test "the NVMe physical function is there, SR-IOV capable (2 VFs), bound to nvme, alone in its group" {
	local bdf
	bdf=$(pci_find 0x1b36 0x010802) || fail "no NVMe controller (QEMU's 1b36, class 010802) in $(ls /sys/bus/pci/devices)"
	run cat "/sys/bus/pci/devices/$bdf/sriov_totalvfs"
	assert_output 2
	run cat "/sys/bus/pci/devices/$bdf/sriov_numvfs"
	assert_output 0
	run readlink "/sys/bus/pci/devices/$bdf/driver"
	assert_output --regexp '/nvme$'
	run ls "/sys/bus/pci/devices/$bdf/iommu_group/devices"
	assert_output "$bdf"
	[ -b /dev/nvme0n1 ] || fail "no /dev/nvme0n1"
	run cat /sys/block/nvme0n1/size
	assert_output $((64 * 2048))
}

@test "the e1000e NIC is there, bound to e1000e, alone in its group" {
	local bdf
	bdf=$(pci_find 0x8086 0x020000) || fail "no Intel Ethernet controller in $(ls /sys/bus/pci/devices)"
	run cat "/sys/bus/pci/devices/$bdf/device"
	assert_output 0x10d3
	run readlink "/sys/bus/pci/devices/$bdf/driver"
	assert_output --regexp '/e1000e$'
	run ls "/sys/bus/pci/devices/$bdf/iommu_group/devices"
	assert_output "$bdf"
}

HULL=${HULL:-$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)/build/bin/hull}

hull() {
	"$HULL" --root "$BATS_TEST_TMPDIR/root" "$@"
}

@test "hull vfio bind moves the e1000e to vfio-pci (its group appears), unbind gives it back to e1000e" {
	local nic group
	nic=$(pci_find 0x8086 0x020000)
	group=$(basename "$(readlink "/sys/bus/pci/devices/$nic/iommu_group")")
	run hull vfio bind "$nic"
	assert_success
	assert_output ""
	run driver_of "$nic"
	assert_output vfio-pci
	[ -c "/dev/vfio/$group" ] || fail "no /dev/vfio/$group"
	run cat "$BATS_TEST_TMPDIR/root/@vfio/$nic"
	assert_output e1000e
	# a second bind changes nothing
	run hull vfio bind "$nic"
	assert_success
	run hull vfio unbind "$nic"
	assert_success
	run driver_of "$nic"
	assert_output e1000e
	run cat "/sys/bus/pci/devices/$nic/driver_override"
	assert_output "(null)"
	[ ! -e "/dev/vfio/$group" ] || fail "/dev/vfio/$group left behind"
	[ ! -e "$BATS_TEST_TMPDIR/root/@vfio/$nic" ] || fail "state file left behind"
}

@test "hull vfio and sriov refuse bad input with one line, changing nothing" {
	local nic pf
	nic=$(pci_find 0x8086 0x020000)
	pf=$(pci_find 0x1b36 0x010802)
	run hull vfio bind 0000:00:1e.7
	assert_failure 1
	assert_output "hull: vfio: 0000:00:1e.7: no such PCI device"
	run hull vfio bind 1:2:3
	assert_failure 1
	assert_output --partial "not a PCI address"
	run hull vfio unbind "$nic"
	assert_failure 1
	assert_output "hull: vfio: $nic: not bound to vfio-pci (driver: e1000e)"
	run hull sriov enable "$nic" 1
	assert_failure 1
	assert_output "hull: sriov: $nic: not an SR-IOV physical function (no virtual functions)"
	run hull sriov enable "$pf" 3
	assert_failure 1
	assert_output "hull: sriov: $pf: 3 virtual functions asked, it has 1..2"
	run cat "/sys/bus/pci/devices/$pf/sriov_numvfs"
	assert_output 0
	run driver_of "$nic"
	assert_output e1000e
}

@test "hull sriov enables NVMe VFs; after nvme virt-mgmt a VF binds to vfio-pci alone in its group; all undone" {
	command -v nvme >/dev/null || skip "nvme-cli is not installed (make deps)"
	local pf vf ctrl group
	pf=$(pci_find 0x1b36 0x010802)
	ctrl=/dev/$(ls "/sys/bus/pci/devices/$pf/nvme")
	run hull sriov enable "$pf" 2
	assert_success
	run cat "/sys/bus/pci/devices/$pf/sriov_numvfs" "/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe"
	assert_output $'2\n0'
	vf=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn0")")
	run driver_of "$vf"
	assert_output none
	run hull sriov enable "$pf" 1
	assert_failure 1
	assert_output --partial "2 virtual functions already enabled"
	# NVMe virtualization management: the secondary controller of VF 1
	# (cntlid 1) gets 2 queues (admin + 1 I/O) and 1 interrupt, then goes online.
	nvme virt-mgmt "$ctrl" -c 1 -r 0 -a 8 -n 2
	nvme virt-mgmt "$ctrl" -c 1 -r 1 -a 8 -n 1
	nvme virt-mgmt "$ctrl" -c 1 -a 9
	run nvme list-secondary "$ctrl"
	assert_output --regexp 'Secondary Controller State *: 0x0001 \(Online\)'

	run hull vfio bind "$vf"
	assert_success
	run driver_of "$vf"
	assert_output vfio-pci
	group=$(basename "$(readlink "/sys/bus/pci/devices/$vf/iommu_group")")
	run ls "/sys/bus/pci/devices/$vf/iommu_group/devices"
	assert_output "$vf"
	[ -c "/dev/vfio/$group" ] || fail "no /dev/vfio/$group"
	run hull sriov disable "$pf"
	assert_failure 1
	assert_output "hull: sriov: $pf: in use: virtual function $vf is bound to vfio-pci (hull vfio unbind $vf)"
	# a process holding the group open blocks unbind (the kernel would wait)
	exec {gfd}<>"/dev/vfio/$group"
	run hull vfio unbind "$vf"
	exec {gfd}>&-
	assert_failure 1
	assert_output --partial "in use: process $$ holds /dev/vfio/$group open"
	run hull vfio unbind "$vf"
	assert_success
	run driver_of "$vf"
	assert_output none

	nvme virt-mgmt "$ctrl" -c 1 -a 7
	run hull sriov disable "$pf"
	assert_success
	run cat "/sys/bus/pci/devices/$pf/sriov_numvfs" "/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe"
	assert_output $'0\n1'
	[ ! -e "/sys/bus/pci/devices/$vf" ] || fail "VF $vf still there"
}
