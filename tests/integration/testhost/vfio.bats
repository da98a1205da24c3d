#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Device passthrough (docs/passthrough.md) in the test host booted with an
# emulated IOMMU: tests/testhost/run-suite --iommu (run-all stage
# testhost-iommu).  lspci-free: the PCI functions are read from sysfs.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

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

# pci_find VENDOR CLASS: the BDF of the first function with that vendor id and
# class code (0xVVVV, 0xCCCCCC), from sysfs.
pci_find() {
	local d
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/class")" = "$2" ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
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
