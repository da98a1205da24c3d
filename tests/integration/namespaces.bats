#!/usr/bin/env bats
# linux.namespaces: what the process observes in each.

load helpers

teardown() {
	[[ -n ${HOLDER:-} ]] && kill "$HOLDER" 2>/dev/null
	teardown_common
}

@test "pid namespace: the process is pid 1 and sees only its own processes" {
	run_ctr /bin/sh -c 'echo $$; ls /proc | grep -c "^[0-9]"'
	assert_success
	assert_line --index 0 1
	# sh and the ls/grep it runs, nothing of the host
	[[ ${lines[1]} -le 3 ]]
}

@test "network namespace: only lo, and it is up" {
	run_ctr /bin/sh -c 'ls /sys/class/net; ip link show lo'
	assert_success
	assert_line --index 0 lo
	assert_equal "$(echo "$output" | grep -c '^[a-z]')" 1
	assert_output --regexp 'lo: <[^>]*\bUP\b'
}

@test "every new namespace differs from the host's" {
	run_helper ns
	assert_success
	for ns in ipc mnt net pid uts; do
		refute_line "$ns $(readlink /proc/self/ns/$ns)"
	done
	# not asked for: shared with the host
	assert_line "user $(readlink /proc/self/ns/user)"
	assert_line "cgroup $(readlink /proc/self/ns/cgroup)"
}

@test "a namespace left out of the config is the host's" {
	update_config '.linux.namespaces |= map(select(.type != "network"))'
	run_helper ns net
	assert_success
	assert_output "net $(readlink /proc/self/ns/net)"
}

@test "uts namespace: hostname from the config, the host's unaffected" {
	update_config '.hostname = "box1"'
	run_helper hostname
	assert_success
	assert_output box1
	refute [ "$(hostname)" = box1 ]
}

@test "uts namespace: domainname from the config" {
	runtime_is_runc && skip "runc 1.1 has no domainname (runtime-spec 1.1)"
	update_config '.hostname = "box1" | .domainname = "example.test"'
	run_helper domainname
	assert_success
	assert_output example.test
}

@test "ipc namespace: a private System V IPC space" {
	run_ctr /bin/sh -c 'cat /proc/sysvipc/shm /proc/sysvipc/msg /proc/sysvipc/sem | grep -vc "^ *key" || true'
	assert_success
	assert_output 0
	run_helper ns ipc
	refute_output "ipc $(readlink /proc/self/ns/ipc)"
}

@test "user namespace: uid_map/gid_map as configured; root inside is not root outside" {
	use_user_namespace
	id=$(new_id)
	start_detached "$id" /bin/sh -c "cat /proc/self/uid_map /proc/self/gid_map; $HELPER status Uid; $HELPER signal-wait"
	wait_for_output "$id" ready
	run ctr_output "$id"
	assert_line --regexp '^ +0 +100000 +65536$'
	assert_line "Uid: 0 0 0 0"
	pid=$(state_field "$id" pid)
	run awk '/^Uid:/ {print $2}' "/proc/$pid/status"
	assert_output 100000
	refute [ "$(readlink "/proc/$pid/ns/user")" = "$(readlink /proc/self/ns/user)" ]
}

@test "user namespace: the rootfs owner maps to nobody, and files stay readable" {
	use_user_namespace
	run_ctr /bin/sh -c "$HELPER stat /etc/motd; $HELPER read /etc/motd"
	assert_success
	assert_line --index 0 --regexp '^file 0644 0:0 65534 65534$'
	assert_line --index 1 "hull test rootfs"
}

@test "user namespace: the new network namespace made inside it has lo up" {
	use_user_namespace
	run_ctr /bin/sh -c 'ip link show lo'
	assert_success
	assert_output --regexp 'lo: <[^>]*\bUP\b'
}

@test "cgroup namespace: the process sees its cgroup as the root" {
	update_config '.linux.namespaces += [{"type": "cgroup"}]'
	run_ctr /bin/sh -c "$HELPER ns cgroup; cat /proc/self/cgroup"
	assert_success
	refute_line --index 0 "cgroup $(readlink /proc/self/ns/cgroup)"
	# every hierarchy line ends in "/" (hybrid hosts list v1 and v2 lines)
	refute_line --regexp ':/.+$'
}

@test "time namespace: boottime and monotonic offsets" {
	runtime_is_runc && skip "runc 1.1 has no time namespace (runtime-spec 1.2)"
	update_config '.linux.namespaces += [{"type": "time"}] |
		.linux.timeOffsets = {"boottime": {"secs": 1000000, "nanosecs": 0},
		                      "monotonic": {"secs": 2000000, "nanosecs": 0}}'
	run_ctr /bin/sh -c "cat /proc/uptime; $HELPER ns time"
	assert_success
	up=${lines[0]%%.*}
	[[ $up -ge 1000000 ]] || fail "uptime $up is not offset"
	refute_line --index 1 "time $(readlink /proc/self/ns/time)"
}

@test "joining a network namespace by path" {
	# held by a process, not `ip netns add`, which would leave a /run/netns
	# mount on the machine
	unshare --net sleep 1000 &
	HOLDER=$!
	local ns=/proc/$HOLDER/ns/net want i
	for ((i = 0; i < 100; i++)); do # until unshare(2) has run
		want=$(readlink "$ns")
		[[ $want != "$(readlink /proc/self/ns/net)" ]] && break
		sleep 0.01
	done
	[[ $i -lt 100 ]] || fail "unshare --net: no new network namespace"
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' --arg p "$ns"
	run_helper ns net
	assert_success
	assert_output "net $want"
	# the runtime does not set the lo of a namespace it only joined up
	run nsenter --net="$ns" ip link show lo
	assert_success
	refute_output --regexp 'lo: <[^>]*\bUP\b'
	assert_output --partial 'state DOWN'
}

@test "a namespace path that is not a namespace fails and leaves nothing" {
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/etc/hostname" else . end)'
	set_args "$HELPER" exit 0
	id=$(new_id)
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'network|/etc/hostname'
	assert_nothing_left "$id"
}

# ---- no mount namespace (and no other): the runtime's namespaces ----

# no_namespaces: linux.namespaces empty, and nothing that needs a mount
# namespace (the default config's mounts, masked and read-only paths,
# read-only root) or a uts one (hostname).
no_namespaces() {
	update_config '.linux.namespaces = [] | .mounts = [] | .root.readonly = false
		| del(.linux.maskedPaths, .linux.readonlyPaths, .linux.rootfsPropagation, .linux.devices, .hostname)'
}

@test "no namespaces: the process shares the runtime's, chrooted into the rootfs, mounting nothing" {
	hull_only "runc 1.1 bind-mounts the rootfs onto itself in the host's mount namespace and leaves it there"
	no_namespaces
	id=$(new_id)
	start_detached "$id" "$HELPER" signal-wait || fail "run -d: $(ctr_output "$id")"
	wait_for_output "$id" ready
	pid=$(state_field "$id" pid)
	for ns in cgroup ipc mnt net pid uts user; do
		assert_equal "$(readlink "/proc/$pid/ns/$ns")" "$(readlink "/proc/self/ns/$ns")"
	done
	assert_equal "$(readlink "/proc/$pid/root")" "$(realpath "$BASE_BUNDLE/rootfs")"
	# the image's files, not the host's
	run hull exec "$id" "$HELPER" read /etc/motd
	assert_success
	assert_output "hull test rootfs"
	run hull exec "$id" /bin/sh -c 'echo "HOME=$HOME"; readlink /proc/self/root || echo no-proc'
	assert_output "$(printf '%s\n' HOME=/root no-proc)"
	assert_no_new_host_mounts
}

@test "no mount namespace: mounts, devices, rootfsPropagation and a read-only root are refused" {
	hull_only "runc 1.1 makes the mounts and devices in the host's mount namespace and leaves them there"
	no_namespaces
	set_args "$HELPER" exit 0
	local -A asks=(
		[mounts]='.mounts = [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]'
		[linux.devices]='.linux.devices = [{"path": "/dev/hull-null", "type": "c", "major": 1, "minor": 3}]'
		[linux.rootfsPropagation]='.linux.rootfsPropagation = "private"'
		[root.readonly]='.root.readonly = true'
	)
	for field in "${!asks[@]}"; do
		no_namespaces
		update_config "${asks[$field]}"
		id=$(new_id)
		run_nopipe hull run --bundle "$BUNDLE" "$id"
		assert_one_line_error "^hull: run: ${field//./\\.}: needs a mount namespace"
		assert_nothing_left "$id"
	done
	[[ ! -e $BASE_BUNDLE/rootfs/dev/hull-null ]]
}

@test "no mount namespace: maskedPaths and readonlyPaths are refused" {
	no_namespaces
	set_args "$HELPER" exit 0
	for field in maskedPaths readonlyPaths; do
		update_config 'del(.linux.maskedPaths, .linux.readonlyPaths) | .linux[$f] = ["/proc/sys"]' --arg f "$field"
		id=$(new_id)
		run_nopipe hull run --bundle "$BUNDLE" "$id"
		assert_one_line_error "linux\\.$field: needs a mount namespace"
		assert_nothing_left "$id"
	done
}
