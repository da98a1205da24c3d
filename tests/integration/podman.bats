#!/usr/bin/env bats
# Debian's podman driving the runtime through --runtime (the OCI CLI contract
# a real client depends on: create/start/state/kill/delete/exec, console socket,
# pid files, exit codes).  Private storage under $BATS_FILE_TMPDIR so the
# machine's podman state is untouched; cgroupfs because of the hybrid hierarchy.

load helpers
load engines

IMAGE=localhost/hull-test:latest

setup_file() {
	pm_setup "$BATS_FILE_TMPDIR" "$RUNTIME"
	repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	rootfs=${HULL_BUNDLE:-$repo/build/bundle}
	[[ $rootfs == /* ]] || rootfs=$repo/$rootfs
	pm_import "$rootfs/rootfs" hull-test:latest
}

teardown_file() { pm_teardown; }

@test "podman run --rm prints the output and cleans up" {
	run pm run --rm "${PM_LIMITS[@]}" "$IMAGE" echo hi
	assert_success
	assert_output hi
	run pm ps -a -q
	assert_output ""
}

@test "podman run passes the exit code" {
	run pm run --rm "${PM_LIMITS[@]}" "$IMAGE" /bin/hull-test-helper exit 42
	assert_equal "$status" 42
}

@test "podman run applies podman's config: user, env, workdir, capabilities" {
	run pm run --rm "${PM_LIMITS[@]}" --user 1000:1000 --env HELLO=world --workdir /tmp \
		--cap-drop all --cap-add NET_BIND_SERVICE "$IMAGE" \
		/bin/sh -c 'echo "$HELLO"; /bin/hull-test-helper cwd; /bin/hull-test-helper status Uid CapBnd'
	assert_success
	assert_line --index 0 world
	assert_line --index 1 /tmp
	assert_line --index 2 'Uid: 1000 1000 1000 1000'
	assert_line --index 3 'CapBnd: 0000000000000400'
}

@test "podman exec into a running container" {
	name=hull-pm-$$-$RANDOM
	pm run -d --name "$name" "${PM_LIMITS[@]}" "$IMAGE" /bin/hull-test-helper sleep 100 >/dev/null
	run pm exec "$name" /bin/hull-test-helper read /etc/motd
	assert_success
	assert_output "hull test rootfs"
	run pm exec --user 1000 "$name" /bin/hull-test-helper status Uid
	assert_output 'Uid: 1000 1000 1000 1000'
	run pm exec "$name" /bin/hull-test-helper exit 3
	assert_equal "$status" 3
	pm rm -f -t 0 "$name" >/dev/null
}

@test "podman run -t gives the container a terminal" {
	run pm run --rm -t "${PM_LIMITS[@]}" "$IMAGE" /bin/hull-test-helper tty </dev/null
	assert_success
	assert_output --regexp 'stdin=1 stdout=1 ttyname=/dev/pts/0'
}

@test "podman stop and kill reach the container process" {
	name=hull-pm-$$-$RANDOM
	pm run -d --name "$name" "${PM_LIMITS[@]}" "$IMAGE" /bin/hull-test-helper signal-wait >/dev/null
	for _ in $(seq 100); do pm logs "$name" 2>/dev/null | grep -qx ready && break; sleep 0.1; done
	pm kill --signal USR1 "$name" >/dev/null
	for _ in $(seq 100); do pm logs "$name" 2>/dev/null | grep -qx SIGUSR1 && break; sleep 0.1; done
	run pm logs "$name"
	assert_line SIGUSR1
	run pm wait "$name"
	assert_output 0
	pm rm -f -t 0 "$name" >/dev/null
}

@test "podman with --read-only and a tmpfs" {
	run pm run --rm "${PM_LIMITS[@]}" --read-only --tmpfs /scratch "$IMAGE" \
		/bin/sh -c '/bin/hull-test-helper write /etc/x y; /bin/hull-test-helper write /scratch/x y'
	assert_success
	assert_line --index 0 EROFS
	assert_line --index 1 OK
}
