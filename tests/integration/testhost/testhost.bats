#!/usr/bin/env bats
# The test host itself (runs inside it: tests/testhost/run-suite): what the
# other test-host suites rely on is really there.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ../bounded

REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)

setup_file() {
	if [ "${TESTHOST:-}" != 1 ]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
}

@test "cgroup2 is mounted on /sys/fs/cgroup with every controller the tests use" {
	run stat -fc %T /sys/fs/cgroup
	assert_success
	assert_output cgroup2fs
	run cat /sys/fs/cgroup/cgroup.controllers
	assert_success
	for c in cpu memory pids io cpuset hugetlb; do
		assert_output --regexp "(^| )$c( |$)"
	done
}

@test "the root cgroup delegates every available controller to its children" {
	run cat /sys/fs/cgroup/cgroup.subtree_control
	assert_success
	for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
		assert_output --regexp "(^| )$c( |$)"
	done
}

@test "the standing child cgroup from boot exists, empty, with the cpuset controller" {
	# it keeps the kernel's cpuset static keys switched on (tests/testhost/init)
	run cat /sys/fs/cgroup/testhost/cgroup.controllers
	assert_success
	assert_output --regexp '(^| )cpuset( |$)'
	run cat /sys/fs/cgroup/testhost/cgroup.procs
	assert_output ""
}

@test "a child cgroup can be created and gets the memory and pids interface files" {
	local cg=/sys/fs/cgroup/testhost-bats-$$
	mkdir "$cg"
	run ls "$cg"
	rmdir "$cg"
	assert_output --partial memory.max
	assert_output --partial pids.max
	assert_output --partial cpu.max
}

@test "the vCPUs advertise AMD-V (svm)" {
	run grep -cw svm /proc/cpuinfo
	assert_success
	assert_output "$(nproc)"
}

@test "kvm_amd is loaded with nested paging and nested virtualization on" {
	run cat /sys/module/kvm_amd/parameters/npt
	assert_output --regexp '^(Y|1)$'
	run cat /sys/module/kvm_amd/parameters/nested
	assert_output --regexp '^(Y|1)$'
}

@test "/dev/kvm creates a VM and a vCPU that runs guest code to hlt" {
	[ -x "$REPO/build/bin/kvm-probe" ] || fail "build/bin/kvm-probe missing (tests/testhost/run-suite builds it)"
	run "$REPO/build/bin/kvm-probe"
	assert_success
	assert_line "api 12"
	assert_line "create_vm ok"
	assert_line "create_vcpu ok"
	assert_line "exit io port=0x10 value=42"
	assert_line "exit hlt"
}

@test "the devices later suites need exist: vhost-net, vhost-vsock, tun, vfio" {
	for d in /dev/vhost-net /dev/vhost-vsock /dev/net/tun /dev/vfio/vfio; do
		[ -c "$d" ] || fail "$d is not a character device"
	done
}

@test "bridge, veth and tc ingress/mirred/matchall work in a fresh network namespace" {
	local ns=testhost-bats-$$
	ip netns add "$ns"
	run ip -n "$ns" link add br0 type bridge
	assert_success
	run ip -n "$ns" link add v0 type veth peer name v1
	assert_success
	run ip -n "$ns" link set v0 master br0
	assert_success
	run tc -n "$ns" qdisc add dev v1 ingress
	assert_success
	run tc -n "$ns" filter add dev v1 ingress matchall action mirred egress redirect dev v0
	ip netns del "$ns"
	assert_success
}

@test "the machine's / is writable through the overlay and /tmp is a tmpfs" {
	local f=$REPO/build/.testhost-overlay-$$
	echo written >"$f"
	run cat "$f"
	rm -f "$f"
	assert_output written
	run stat -fc %T /
	assert_output overlayfs
	run stat -fc %T /tmp
	assert_output tmpfs
}

@test "the loopback interface is up and no other interface exists" {
	run ip -o link show
	assert_success
	assert_line --regexp '^1: lo: <LOOPBACK,UP,LOWER_UP>'
	assert_equal "${#lines[@]}" 1
}
