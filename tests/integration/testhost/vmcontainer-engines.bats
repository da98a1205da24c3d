#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Unchanged engines drive VM-isolated containers through the `hull-vm` link
# (docs/vm-containers.md), inside the test host (its own run-all stage,
# testhost-vm-engines): Debian's podman 4.3 with conmon (`--runtime .../hull-vm`) and
# containerd 1.6's stock runc shim (`ctr run --runc-binary .../hull-vm`), each
# with private state under the file's tmpdir (tests/integration/engines.bash).
# No registry: podman runs a rootfs directory or an image imported from a tar
# of the test bundle's rootfs, containerd an OCI archive of it.  A port is
# published with podman's -p on its netavark bridge, to a VM and (the same
# steps) to a container.  Each test boots one VM (slow under TCG) and checks
# several things.

NS=hull-vm-engines

load ../helpers
load ../engines
load podman-publish

setup_file() {
	pm_vm_setup_file || return 1
	containerd_start "$BATS_FILE_TMPDIR/containerd"
	make_image "$BASE_BUNDLE/rootfs"
	c image import "$D/image.tar" >/dev/null
}

teardown_file() {
	pm_teardown
	if [[ -n ${D:-} ]]; then
		containerd_clean
		containerd_stop
		rmdir /sys/fs/cgroup/"$NS" 2>/dev/null || true
	fi
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	HOST_KVER=$(uname -r)
}

teardown() {
	pm_publish_teardown netavark
	containerd_clean
}

# ctr_vm ARG...: `ctr run` through the stock runc shim with hull-vm as its
# runc, its state under $D/runc (not /run/containerd/runc).
ctr_vm() {
	c run --fifo-dir "$D/fifo" --runtime io.containerd.runc.v2 --runc-binary "$HULL_VM" \
		--runc-root "$D/runc" "$@"
}

# Nothing of containerd task $1 left: task, container, shim, hull state,
# supervisor, file server, rootfs mount, cgroup.
assert_ctr_gone() {
	! c task ls -q | grep -qx "$1" || fail "task $1 left"
	! c container ls -q | grep -qx "$1" || fail "container $1 left"
	[[ ! -e $D/runc/$NS/$1 ]] || fail "hull state $D/runc/$NS/$1 left"
	if pgrep -f -- "-id $1 " >/dev/null; then
		fail "shim left behind: $(pgrep -af -- "-id $1 ")"
	fi
	if pgrep -f -- "$HULL_VM.* $1\$" >/dev/null; then
		fail "hull-vm left behind: $(pgrep -af -- "$HULL_VM")"
	fi
	if pgrep -f -- "virtiofsd.*/$NS/$1/" >/dev/null; then
		fail "file server left behind: $(pgrep -af -- virtiofsd)"
	fi
	run grep -c " $D/state/io.containerd.runtime.v2.task/$NS/$1/" "/proc/$(cat "$D/containerd.pid")/mountinfo"
	assert_output 0
	[[ ! -e /sys/fs/cgroup/$NS/$1 ]] || fail "cgroup /sys/fs/cgroup/$NS/$1 left"
}

@test "vmcontainer-engines: podman run --rm --rootfs: output, exit code, writes in the rootfs, nothing left" {
	local rootfs=$BATS_TEST_TMPDIR/rootfs
	cp -a "$BASE_BUNDLE/rootfs" "$rootfs"
	run_nopipe pm run --rm "${PM_LIMITS[@]}" --rootfs "$rootfs" \
		/bin/sh -c 'uname -r; echo out; echo err >&2; echo written >/from-guest; exit 7'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 7 ]
	[ "${lines[0]}" != "$HOST_KVER" ] || fail "the container runs the test host's kernel"
	[ "${lines[1]}" = out ]
	[[ $stderr == *err* ]]
	[ "$(cat "$rootfs/from-guest")" = written ]
	assert_pm_gone
}

@test "vmcontainer-engines: podman run -t: the process has a terminal" {
	run_nopipe pm run --rm -t "${PM_LIMITS[@]}" localhost/hull-test:latest \
		/bin/sh -c '/bin/hull-test-helper tty; uname -r'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == *'stdin=1 stdout=1 ttyname=/dev/pts/'* ]]
	[ "$(tr -d '\r' <<<"${lines[1]}")" != "$HOST_KVER" ] || fail "the container runs the test host's kernel"
	assert_pm_gone
}

@test "vmcontainer-engines: podman exec (with and without -t), pause, unpause, stop, rm of a VM container" {
	local cid
	cid=$(pm run -d "${PM_LIMITS[@]}" localhost/hull-test:latest /bin/sh -c 'echo up; exec sleep 1000')
	run_nopipe pm exec "$cid" /bin/sh -c 'uname -r; echo exec-out; echo exec-err >&2; exit 3'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 3 ]
	[ "${lines[0]}" != "$HOST_KVER" ] || fail "the exec runs on the test host's kernel"
	[ "${lines[1]}" = exec-out ]
	[[ $stderr == *exec-err* ]]
	run_nopipe pm exec -t "$cid" /bin/hull-test-helper tty
	[ "$status" -eq 0 ] || fail "exec -t: status $status: $output $stderr"
	[[ $output == *'stdin=1 stdout=1 ttyname=/dev/pts/'* ]] || fail "exec -t: $output"
	for _ in $(seq 60); do [[ $(pm logs "$cid") == up ]] && break; sleep 1; done
	run pm logs "$cid"
	assert_output up
	run pm pause "$cid"
	assert_success
	run pm inspect --format '{{.State.Status}}' "$cid"
	assert_output paused
	run pm unpause "$cid"
	assert_success
	run pm inspect --format '{{.State.Status}}' "$cid"
	assert_output running
	run pm stop -t 1 "$cid"
	assert_success
	run pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$cid"
	assert_output 'exited 137'
	run pm rm "$cid"
	assert_success
	assert_pm_gone
}

@test "vmcontainer-engines: podman run -d -p on a bridge network: the VM's server answers on the host port, nothing left" {
	pm_publish netavark "$HULL_VM" 18080
	[[ $PUB_KERNEL != "$HOST_KVER" ]] || fail "the server runs on the test host's kernel"
}

@test "vmcontainer-engines: podman run -d -p on a bridge network in container mode (--runtime hull), as with hull-vm" {
	pm_publish netavark "$RUNTIME" 18081
	[[ $PUB_KERNEL == "$HOST_KVER" ]] || fail "the server runs on kernel '$PUB_KERNEL', not the test host's"
}

@test "vmcontainer-engines: ctr run --rm through the runc shim: output and exit code" {
	run_nopipe ctr_vm --rm localhost/hull-test:latest vm1 /bin/sh -c 'uname -r; echo out; echo err >&2; exit 7'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 7 ]
	[ "${lines[0]}" != "$HOST_KVER" ] || fail "the container runs the test host's kernel"
	[ "${lines[1]}" = out ]
	[[ $stderr == *err* ]]
	assert_ctr_gone vm1
}

@test "vmcontainer-engines: ctr detached task through the runc shim: exec, ps, pause, resume, kill, delete" {
	ctr_vm -d localhost/hull-test:latest vm2 /bin/sh -c 'exec sleep 1000'
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +RUNNING$'
	run_nopipe c task exec --fifo-dir "$D/fifo" --exec-id e1 vm2 /bin/sh -c 'uname -r; echo in-exec; exit 9'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 9 ]
	[ "${lines[0]}" != "$HOST_KVER" ] || fail "the exec runs on the test host's kernel"
	[ "${lines[1]}" = in-exec ]
	run c task ps vm2
	assert_success
	[[ $(tail -n +2 <<<"$output" | wc -l) -ge 1 ]] || fail "task ps: $output"
	# pause stops the VM (the host cgroup's freezer), resume lets it go on
	run c task pause vm2
	assert_success
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +PAUSED$'
	run c task resume vm2
	assert_success
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +RUNNING$'
	run c task kill -s KILL vm2
	assert_success
	c_wait_stopped vm2 120
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +STOPPED$'
	run c task rm vm2
	assert_success
	run c container rm vm2
	assert_success
	assert_ctr_gone vm2
}
