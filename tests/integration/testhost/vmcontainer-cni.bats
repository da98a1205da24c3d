#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# podman's -p through CNI (`--network-backend cni`, Debian's
# containernetworking-plugins: bridge with host-local IPAM, portmap, firewall,
# tuning; their configuration private to the test) to a VM-isolated container
# (`--runtime .../hull-vm`, docs/vm-containers.md) and, the same steps, to a
# container: the checks of vmcontainer-engines.bats' netavark tests
# (podman-publish.bash), and the VM once more with vhost-net off
# (`org.hull.vm.vhost=off`).  Inside the test host (run-all stage testhost-vm-cni),
# podman's state private under the file's tmpdir (../engines.bash).

load ../helpers
load ../engines
load podman-publish

setup_file() {
	pm_vm_setup_file
}

teardown_file() {
	pm_teardown
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	HOST_KVER=$(uname -r)
}

teardown() {
	pm_publish_teardown cni
}

@test "vmcontainer-cni: podman run -d -p on a CNI bridge network: the VM's server answers on the host port, nothing left" {
	pm_publish cni "$HULL_VM" 18082
	[[ $PUB_KERNEL != "$HOST_KVER" ]] || fail "the server runs on the test host's kernel"
}

@test "vmcontainer-cni: podman run -d -p with org.hull.vm.vhost=off: the VMM's own loop carries the bytes, nothing left" {
	pm_publish cni "$HULL_VM" 18084 off
	[[ $PUB_KERNEL != "$HOST_KVER" ]] || fail "the server runs on the test host's kernel"
}

@test "vmcontainer-cni: podman run -d -p on a CNI bridge network in container mode (--runtime hull), as with hull-vm" {
	pm_publish cni "$RUNTIME" 18083
	[[ $PUB_KERNEL == "$HOST_KVER" ]] || fail "the server runs on kernel '$PUB_KERNEL', not the test host's"
}
