#!/usr/bin/env bats
# Debian's podman driving the runtime through --runtime (the OCI CLI contract
# a real client depends on: create/start/state/kill/delete/exec, console socket,
# pid files, exit codes).  Private storage under $BATS_FILE_TMPDIR so the
# machine's podman state is untouched; cgroupfs because of the hybrid hierarchy.

load helpers

IMAGE=localhost/hull-test:latest

pm() {
	podman --root "$BATS_FILE_TMPDIR/storage" --runroot "$BATS_FILE_TMPDIR/run" \
		--tmpdir "$BATS_FILE_TMPDIR/tmp" --storage-driver vfs --cgroup-manager=cgroupfs \
		--events-backend none --runtime "$RUNTIME" "$@"
}

# the machine's nofile hard limit is below podman's default and root lacks CAP_SYS_RESOURCE
LIMITS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

setup_file() {
	command -v podman >/dev/null || skip "podman is not installed"
	# remember whether podman's parent cgroup existed, to remove only ours
	[[ -d /sys/fs/cgroup/pids/libpod_parent ]] && touch "$BATS_FILE_TMPDIR/had-libpod-parent"
	repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	rootfs=${HULL_BUNDLE:-$repo/build/bundle}
	[[ $rootfs == /* ]] || rootfs=$repo/$rootfs
	tar -C "$rootfs/rootfs" -c . | pm import - hull-test:latest >/dev/null
}

teardown_file() {
	pm rm -a -f -t 0 >/dev/null 2>&1 || true
	pm rmi -a -f >/dev/null 2>&1 || true
	if [[ ! -e $BATS_FILE_TMPDIR/had-libpod-parent ]]; then
		for c in /sys/fs/cgroup/*/libpod_parent; do
			[[ -d $c ]] || continue
			rmdir "$c"/*/ 2>/dev/null || true
			rmdir "$c" 2>/dev/null || true
		done
	fi
	# vfs layers hold no mounts, but podman's run dir may
	umount -R "$BATS_FILE_TMPDIR/run" 2>/dev/null || true
}

@test "podman run --rm prints the output and cleans up" {
	run pm run --rm "${LIMITS[@]}" "$IMAGE" echo hi
	assert_success
	assert_output hi
	run pm ps -a -q
	assert_output ""
}

@test "podman run passes the exit code" {
	run pm run --rm "${LIMITS[@]}" "$IMAGE" /bin/hull-test-helper exit 42
	assert_equal "$status" 42
}

@test "podman run applies podman's config: user, env, workdir, capabilities" {
	run pm run --rm "${LIMITS[@]}" --user 1000:1000 --env HELLO=world --workdir /tmp \
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
	pm run -d --name "$name" "${LIMITS[@]}" "$IMAGE" /bin/hull-test-helper sleep 100 >/dev/null
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
	run pm run --rm -t "${LIMITS[@]}" "$IMAGE" /bin/hull-test-helper tty </dev/null
	assert_success
	assert_output --regexp 'stdin=1 stdout=1 ttyname=/dev/pts/0'
}

@test "podman stop and kill reach the container process" {
	name=hull-pm-$$-$RANDOM
	pm run -d --name "$name" "${LIMITS[@]}" "$IMAGE" /bin/hull-test-helper signal-wait >/dev/null
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
	run pm run --rm "${LIMITS[@]}" --read-only --tmpfs /scratch "$IMAGE" \
		/bin/sh -c '/bin/hull-test-helper write /etc/x y; /bin/hull-test-helper write /scratch/x y'
	assert_success
	assert_line --index 0 EROFS
	assert_line --index 1 OK
}
