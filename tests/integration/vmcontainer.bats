#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# VM-isolated containers on the development machine (docs/vm-containers.md):
# the three ways to ask for a VM, bad isolation and sizing annotations, the
# bundle checked exactly as for a container, and a PVM /dev/kvm refused with
# one line, exit 1 and nothing left.  Booting one needs hardware KVM:
# tests/integration/testhost/vmcontainer.bats.

load helpers

setup() {
	setup_common
	hull_only "VM isolation has no runc equivalent"
	HULL_VM=$BATS_TEST_TMPDIR/bin/hull-vm
	mkdir -p "${HULL_VM%/*}"
	ln -s "$RUNTIME" "$HULL_VM"
}

is_pvm() {
	[ -e /sys/module/kvm_pvm ] && [ ! -e /sys/module/kvm_intel ] && [ ! -e /sys/module/kvm_amd ]
}

PVM_ERR='VM isolation: /dev/kvm is PVM \(kvm_pvm\): a PVM-enabled guest kernel is required$'

hull_vm() {
	"$HULL_VM" --root "$ROOT" "$@"
}

@test "vm isolation: hull-vm run on a PVM host is one line, exit 1, nothing left" {
	is_pvm || skip "this host's /dev/kvm is not PVM (the test host boots VM-isolated containers)"
	id=$(new_id)
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	assert_one_line_error "^hull: run: $PVM_ERR"
	assert_nothing_left "$id"
}

@test "vm isolation: --isolation vm and the annotation ask for a VM as hull-vm does" {
	is_pvm || skip "this host's /dev/kvm is not PVM (the test host boots VM-isolated containers)"
	id=$(new_id)
	run_nopipe hull --isolation vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error "^hull: create: $PVM_ERR"
	assert_nothing_left "$id"
	update_config '.annotations["org.hull.isolation"] = "vm"'
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error "^hull: run: $PVM_ERR"
	assert_nothing_left "$id"
}

@test "vm isolation: an annotation cannot weaken hull-vm's choice" {
	is_pvm || skip "this host's /dev/kvm is not PVM (the test host boots VM-isolated containers)"
	update_config '.annotations["org.hull.isolation"] = "container"'
	id=$(new_id)
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	assert_one_line_error "^hull: run: $PVM_ERR"
	assert_nothing_left "$id"
}

@test "vm isolation: org.hull.isolation=container and the default are container mode" {
	set_args /bin/sh -c 'exit 7'
	update_config '.annotations["org.hull.isolation"] = "container"'
	id=$(new_id)
	run_nopipe hull --isolation container run --bundle "$BUNDLE" "$id"
	[ "$status" -eq 7 ] || fail "status $status, stderr: $stderr"
	assert_nothing_left "$id"
}

@test "vm isolation: a bad org.hull.isolation value names the annotation" {
	for v in '"VM"' '""' '"kata"' '1' '["vm"]'; do
		update_config ".annotations[\"org.hull.isolation\"] = $v"
		id=$(new_id)
		run_nopipe hull create --bundle "$BUNDLE" "$id"
		assert_one_line_error '^hull: create: annotation org\.hull\.isolation'
		assert_nothing_left "$id"
	done
}

@test "vm isolation: a bad --isolation value names the flag" {
	id=$(new_id)
	run_nopipe hull --isolation microvm run --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: --isolation "microvm": must be vm or container$'
	assert_nothing_left "$id"
}

@test "vm isolation: bad sizing and vhost annotations name themselves, before the host is asked" {
	local kv k
	for kv in 'org.hull.vm.cpus=0' 'org.hull.vm.cpus=65' 'org.hull.vm.cpus=two' \
		'org.hull.vm.memory=63' 'org.hull.vm.memory=2X' 'org.hull.vm.memory=-1' 'org.hull.vm.vhost=yes'; do
		cp "$BASE_BUNDLE/config.json" "$BUNDLE/config.json"
		update_config '.root.path = $r | .annotations[$k] = $v' --arg r "$BASE_BUNDLE/rootfs" \
			--arg k "${kv%%=*}" --arg v "${kv#*=}"
		id=$(new_id)
		k=${kv%%=*}
		run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
		assert_one_line_error "^hull: run: annotation ${k//./\\.} \"${kv#*=}\": must be "
		assert_nothing_left "$id"
	done
}

@test "vm isolation: the bundle gets the container path's errors" {
	local want
	id=$(new_id)
	update_config '.process.args = "not-an-array"'
	run_nopipe hull create --bundle "$BUNDLE" "$id"
	want=$stderr
	[[ $want == *process.args* ]] || fail "container path: $want"
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error
	[ "$stderr" = "$want" ] || fail "hull-vm: $stderr, container: $want"
	assert_nothing_left "$id"

	cp "$BASE_BUNDLE/config.json" "$BUNDLE/config.json"
	update_config '.root.path = "/nonexistent/rootfs" | .process.terminal = true'
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: create: root\.path /nonexistent/rootfs: No such file or directory$'
	update_config '.root.path = $r' --arg r "$BASE_BUNDLE/rootfs"
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: create: process\.terminal is true but no --console-socket was given$'
	run_nopipe hull_vm create --bundle "$BUNDLE" ../bad
	assert_one_line_error '^hull: create: '
	assert_nothing_left "$id"
}

# pod_annotations TYPE SANDBOX [PREFIX]: the CRI's pod annotations (containerd's
# io.kubernetes.cri.*, or CRI-O's with PREFIX cri-o).
pod_annotations() {
	if [[ ${3:-} == cri-o ]]; then
		update_config '.annotations["io.kubernetes.cri-o.ContainerType"] = $t | .annotations["io.kubernetes.cri-o.SandboxID"] = $s' \
			--arg t "$1" --arg s "$2"
	else
		update_config '.annotations["io.kubernetes.cri.container-type"] = $t | .annotations["io.kubernetes.cri.sandbox-id"] = $s' \
			--arg t "$1" --arg s "$2"
	fi
}

@test "vm isolation: a pod's container whose sandbox is not a live pod VM names the annotation; nothing left" {
	local id sb
	id=$(new_id)
	# no such sandbox (checked before the host's KVM: a member boots nothing)
	pod_annotations container no-such-sandbox
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: create: annotation io\.kubernetes\.cri\.sandbox-id "no-such-sandbox": the pod.s sandbox: container "no-such-sandbox" does not exist$'
	assert_nothing_left "$id"
	pod_annotations container no-such-sandbox cri-o
	update_config 'del(.annotations["io.kubernetes.cri.container-type"])'
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: create: annotation io\.kubernetes\.cri-o\.SandboxID "no-such-sandbox": '
	assert_nothing_left "$id"
	# no sandbox id; a bad one; a bad type
	cp "$BASE_BUNDLE/config.json" "$BUNDLE/config.json"
	update_config '.root.path = $r | .annotations["io.kubernetes.cri.container-type"] = "container"' --arg r "$BASE_BUNDLE/rootfs"
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: create: annotation io\.kubernetes\.cri\.sandbox-id: a pod.s container .* needs it$'
	pod_annotations container ../x
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: create: annotation io\.kubernetes\.cri\.sandbox-id: '
	pod_annotations pause x
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: create: annotation io\.kubernetes\.cri\.container-type "pause": must be sandbox or container$'
	assert_nothing_left "$id"
	# a sandbox in container mode has no VM to share
	sb=$(new_id)
	pod_annotations sandbox "$sb"
	set_args sleep 1000
	hull run -d --bundle "$BUNDLE" "$sb" >/dev/null 2>&1 </dev/null
	pod_annotations container "$sb"
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error "^hull: create: annotation io\\.kubernetes\\.cri\\.sandbox-id \"$sb\": the pod's sandbox is not VM-isolated$"
	[[ ! -e $ROOT/$id ]] || fail "state dir $ROOT/$id left behind"
	hull delete --force "$sb"
	assert_nothing_left "$id"
	assert_nothing_left "$sb"
}

@test "vm isolation: the annotations of a pod mean nothing in container mode" {
	local id
	id=$(new_id)
	pod_annotations container no-such-sandbox
	set_args /bin/sh -c 'exit 5'
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	[ "$status" -eq 5 ] || fail "status $status, stderr: $stderr"
	assert_nothing_left "$id"
}

@test "vm isolation: features lists the org.hull.isolation values" {
	run hull features
	assert_success
	[ "$(jq -r '.annotations["org.hull.isolation"]' <<<"$output")" = "container,vm" ]
}
