#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# containerd-shim-hull-v2 with isolation=vm (docs/shim.md), inside the test
# host (tests/testhost/run-suite; run-all stage testhost-vm, as vmcontainer*): a
# private containerd 1.6 (tests/integration/engines.bash, shim.bash) runs
# `ctr run --runtime io.containerd.hull.v2` of a container that is its own
# pod, booted as a microVM from the guest image of `make guest`.  Boots are
# slow under TCG: each test boots once and checks several things.

NS=hull-shim-vm

load ../helpers
load ../engines
load ../shim

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
	shim_setup
	# The runtime options file ctr passes as runtimeoptions.v1.Options.config_path.
	printf 'isolation = "vm"\n' > "$D/vm.toml"
}

teardown_file() { shim_teardown; }

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
}

teardown() { [[ -n ${D:-} ]] && containerd_clean; }

# No process of container $1's VM is left: nothing runs in its bundle.
assert_vm_gone() {
	local b=$D/state/io.containerd.runtime.v2.task/$NS/$1 p
	assert_gone "$1"
	for p in /proc/[0-9]*; do
		if [[ $(readlink "$p/cwd" 2>/dev/null) == "$b"* ]] || tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$b"; then
			fail "process ${p#/proc/} of $1 left: $(tr '\0' ' ' <"$p/cmdline")"
		fi
	done
}

@test "vmcontainer-shim: ctr run with org.hull.isolation=vm: the guest's kernel, stdout, exit code, nothing left" {
	local host_kver
	host_kver=$(uname -r)
	run timeout -k 30 600 ctr --address "$D/c.sock" -n "$NS" run --rm --fifo-dir "$D/fifo" \
		--runtime io.containerd.hull.v2 --annotation org.hull.isolation=vm \
		localhost/hull-test:latest vm1 sh -c 'uname -r; grep -c -w hypervisor /proc/cpuinfo; exit 7'
	echo "$output"
	assert_equal "$status" 7
	[[ ${lines[0]} != "$host_kver" ]] || fail "the container runs the test host's kernel $host_kver"
	[[ ${lines[1]} -ge 1 ]] || fail "no hypervisor flag in the guest's /proc/cpuinfo"
	assert_vm_gone vm1
}

@test "vmcontainer-shim: runtime options isolation=vm: detached task, exec, ps, no checkpoint, kill, delete, nothing left" {
	local host_kver
	host_kver=$(uname -r)
	timeout -k 30 600 ctr --address "$D/c.sock" -n "$NS" run -d --fifo-dir "$D/fifo" \
		--runtime io.containerd.hull.v2 --runtime-config-path "$D/vm.toml" \
		localhost/hull-test:latest vm2 sleep 1000
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +RUNNING$'
	# The task's pid is the VM's supervisor on this host; the sleep runs in the guest.
	run timeout -k 30 600 ctr --address "$D/c.sock" -n "$NS" task exec --fifo-dir "$D/fifo" --exec-id e1 vm2 sh -c 'uname -r; exit 9'
	echo "$output"
	assert_equal "$status" 9
	[[ ${lines[0]} != "$host_kver" ]] || fail "the exec runs on the test host's kernel $host_kver"
	# ps lists the guest's processes (guest pids): the one sleep.
	run c task ps vm2
	assert_success
	assert_equal "$(tail -n +2 <<< "$output" | grep -cE '^[0-9]+ ')" 1
	# Checkpoint: UNIMPLEMENTED (12), naming why; nothing is made.
	run shim_checkpoint "$(shim_sock vm2)" vm2 "$BATS_TEST_TMPDIR/img"
	assert_line "code 12"
	assert_line --partial "VM-isolated"
	[[ ! -e $BATS_TEST_TMPDIR/img ]]
	c task kill -s KILL vm2
	for _ in $(seq 600); do c task ls | grep -q '^vm2 .*STOPPED' && break; sleep 0.2; done
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +STOPPED$'
	c task rm vm2
	c container rm vm2
	assert_vm_gone vm2
}

# Processes holding /dev/kvm open: one per VMM.
count_vmms() {
	local p n=0
	for p in /proc/[0-9]*; do
		if ls -l "$p/fd" 2>/dev/null | grep -q ' -> /dev/kvm$'; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

@test "vmcontainer-shim: two ctr run with one io.kubernetes.cri.sandbox-id land in ONE VM (a pod)" {
	local boot1 boot2
	timeout -k 30 600 ctr --address "$D/c.sock" -n "$NS" run -d --fifo-dir "$D/fifo" \
		--runtime io.containerd.hull.v2 --runtime-config-path "$D/vm.toml" \
		--annotation io.kubernetes.cri.container-type=sandbox --annotation io.kubernetes.cri.sandbox-id=pod1 \
		localhost/hull-test:latest pod1 sleep 1000
	timeout -k 30 600 ctr --address "$D/c.sock" -n "$NS" run -d --fifo-dir "$D/fifo" \
		--runtime io.containerd.hull.v2 --runtime-config-path "$D/vm.toml" \
		--annotation io.kubernetes.cri.container-type=container --annotation io.kubernetes.cri.sandbox-id=pod1 \
		localhost/hull-test:latest pod1-c1 sh -c 'echo c1 >/c1-file; exec sleep 1000'
	run c task ls
	assert_line --regexp '^pod1 +[0-9]+ +RUNNING$'
	assert_line --regexp '^pod1-c1 +[0-9]+ +RUNNING$'
	boot1=$(timeout -k 30 300 ctr --address "$D/c.sock" -n "$NS" task exec --fifo-dir "$D/fifo" --exec-id b1 pod1 cat /proc/sys/kernel/random/boot_id)
	boot2=$(timeout -k 30 300 ctr --address "$D/c.sock" -n "$NS" task exec --fifo-dir "$D/fifo" --exec-id b2 pod1-c1 cat /proc/sys/kernel/random/boot_id)
	[[ -n $boot1 && $boot1 == "$boot2" ]] || fail "boot ids: sandbox $boot1, container $boot2"
	[ "$(count_vmms)" -eq 1 ] || fail "$(count_vmms) VMMs for one pod"
	# each its own rootfs
	run timeout -k 30 300 ctr --address "$D/c.sock" -n "$NS" task exec --fifo-dir "$D/fifo" --exec-id b3 pod1 ls /c1-file
	assert_failure
	c task kill -s KILL pod1-c1
	for _ in $(seq 600); do c task ls | grep -q '^pod1-c1 .*STOPPED' && break; sleep 0.2; done
	run c task ls
	assert_line --regexp '^pod1-c1 +[0-9]+ +STOPPED$'
	assert_line --regexp '^pod1 +[0-9]+ +RUNNING$'
	c task rm pod1-c1
	c container rm pod1-c1
	[[ ! -e $D/hullroot/$NS/pod1-c1 ]] || fail "hull's state of pod1-c1 left"
	c task kill -s KILL pod1
	for _ in $(seq 600); do c task ls | grep -q '^pod1 .*STOPPED' && break; sleep 0.2; done
	c task rm pod1
	c container rm pod1
	assert_vm_gone pod1
	# no VM of its own: its task, state, mounts and cgroup (the scan above covered the processes)
	assert_gone pod1-c1
}
