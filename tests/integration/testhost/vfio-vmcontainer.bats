#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The org.hull.vm.devices annotation (docs/passthrough.md): a VM-isolated
# container whose VM gets a host PCI function with VFIO, in the test host
# booted with an emulated IOMMU (tests/testhost/run-suite --iommu; run-all
# stage testhost-iommu).  The function is the e1000e: the guest image has no
# driver for it, the container sees it on the guest's PCI bus.  A pod in one
# VM (docs/vm-containers.md) asks for it on its sandbox.

load ../helpers
load pci

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]] || [ ! -d /sys/class/iommu/dmar0 ]; then
		echo "# this file runs inside the test host with an IOMMU: tests/testhost/run-suite --iommu $BATS_TEST_FILENAME" >&3
		return 1
	fi
}

setup() {
	setup_common
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	HULL_VM=$BATS_TEST_TMPDIR/bin/hull-vm
	mkdir -p "${HULL_VM%/*}"
	ln -s "$RUNTIME" "$HULL_VM"
	private_rootfs
	nic=$(pci_find 0x8086 0x020000)
}

teardown() {
	teardown_common
	# the NIC goes back to e1000e whatever the test did
	[ "$(driver_of "$nic")" != vfio-pci ] || vfio unbind "$nic" || true
}

# hull vfio keeps its state under its own --root, not the containers' one
vfio() {
	"$RUNTIME" --root "$BATS_TEST_TMPDIR/vfio-root" vfio "$@"
}

hull_vm() {
	timeout 600 "$HULL_VM" --root "$ROOT" "$@"
}

@test "vfio: org.hull.vm.devices gives a VM-isolated container's VM the NIC; unbind works after" {
	local id
	id=$(new_id)
	run vfio bind "$nic"
	[ "$status" -eq 0 ] || fail "bind: $output"
	set_args /bin/sh -c 'for d in /sys/bus/pci/devices/*; do echo "pci=$(cat $d/vendor):$(cat $d/device)"; done'
	update_config '.annotations["org.hull.vm.devices"] = $d' --arg d "vfio=$nic"
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[[ $output == *"pci=0x8086:0x10d3"* ]] || fail "the container's VM has no 8086:10d3 function"
	assert_nothing_left "$id"
	run vfio unbind "$nic"
	[ "$status" -eq 0 ] || fail "unbind: $output"
	[ "$(driver_of "$nic")" = e1000e ]
}

@test "vfio: org.hull.vm.devices naming a function not on vfio-pci, or bad syntax: one line, nothing made" {
	local id
	id=$(new_id)
	set_args /bin/true
	update_config '.annotations["org.hull.vm.devices"] = $d' --arg d "vfio=$nic"
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	assert_one_line_error "^hull: (run|create): annotation org.hull.vm.devices: $nic: not bound to vfio-pci \\(driver: e1000e; hull vfio bind $nic\\)\$"
	assert_nothing_left "$id"
	update_config '.annotations["org.hull.vm.devices"] = "nvme=0000:00:00.0"'
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'expected vfio=DDDD:BB:DD.F'
	assert_nothing_left "$id"
	[ "$(driver_of "$nic")" = e1000e ]
}

@test "vfio: a pod in one VM asks for the NIC on its sandbox: the pod's container sees it; nothing left" {
	local sb m d=$BATS_TEST_TMPDIR out
	sb=$(new_id)
	m=$(new_id)
	run vfio bind "$nic"
	[ "$status" -eq 0 ] || fail "bind: $output"
	# the sandbox (the CRI's pause container) carries the pod's annotation
	# (containerd's CRI passes it with pod_annotations, docs/cri.md)
	set_args /bin/sh -c 'echo up; exec sleep 1000'
	update_config '.annotations["org.hull.vm.devices"] = $d |
		.annotations["io.kubernetes.cri.container-type"] = "sandbox" |
		.annotations["io.kubernetes.cri.sandbox-id"] = $s' --arg d "vfio=$nic" --arg s "$sb"
	hull_vm run -d --bundle "$BUNDLE" "$sb" >"$d/$sb.out" 2>&1 </dev/null
	wait_for_output "$sb" up 300
	# a container of the pod: containerd's pod_annotations copies the pod's
	# annotations to every container, so it carries the device too (ignored:
	# the pod's VM is the sandbox's)
	mkdir -p "$d/m"
	cp -a "$BASE_BUNDLE/rootfs" "$d/m/rootfs"
	jq --arg s "$sb" --argjson a "$(json_array /bin/sh -c 'for d in /sys/bus/pci/devices/*; do echo "pci=$(cat $d/vendor):$(cat $d/device)"; done')" \
		'.root = { path: "rootfs", readonly: false } | .process.args = $a |
		 .annotations["io.kubernetes.cri.container-type"] = "container" |
		 .annotations["io.kubernetes.cri.sandbox-id"] = $s' "$BUNDLE/config.json" >"$d/m/config.json"
	run_nopipe hull_vm run --bundle "$d/m" "$m"
	echo "member: status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ] || fail "the pod's container: status $status"
	[[ $output == *"pci=0x8086:0x10d3"* ]] || fail "the pod's container does not see the 8086:10d3 function"
	run hull kill "$sb" KILL
	assert_success
	wait_for_status "$sb" stopped 120
	run hull delete "$sb"
	assert_success
	assert_nothing_left "$m"
	assert_nothing_left "$sb"
	run vfio unbind "$nic"
	[ "$status" -eq 0 ] || fail "unbind: $output"
	[ "$(driver_of "$nic")" = e1000e ]
}
