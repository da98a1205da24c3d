#!/usr/bin/env bats
# Bad input: one line "hull: <what>: <why>" on stderr, exit 1, and nothing left
# behind (no state under --root, no host mount, no process).

load helpers

# try_create [EXTRA ARGS...]: create with a fresh id; sets $id.
try_create() {
	id=$(new_id)
	run_nopipe hull create "$@" --bundle "$BUNDLE" "$id"
}

@test "malformed JSON" {
	printf '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
	try_create
	assert_one_line_error 'config\.json'
	assert_nothing_left "$id"
}

@test "config.json is not an object" {
	echo '[1, 2, 3]' >"$BUNDLE/config.json"
	try_create
	assert_one_line_error 'config\.json'
	assert_nothing_left "$id"
}

@test "a field of the wrong type names the field" {
	update_config '.process.args = "not-an-array"'
	try_create
	assert_one_line_error 'process\.args'
	assert_nothing_left "$id"
}

@test "a negative uid names the field" {
	update_config '.process.user.uid = -1'
	try_create
	assert_one_line_error 'process\.user\.uid'
	assert_nothing_left "$id"
}

@test "an unknown namespace type" {
	update_config '.linux.namespaces += [{"type": "bogus"}]'
	try_create
	assert_one_line_error 'linux\.namespaces\[5\].*bogus'
	assert_nothing_left "$id"
}

@test "an unknown capability" {
	hull_only "runc 1.1 ignores unknown capabilities with a warning"
	update_config '.process.capabilities.bounding += ["CAP_FOO"]'
	try_create
	assert_one_line_error 'process\.capabilities\.bounding\[3\].*CAP_FOO'
	assert_nothing_left "$id"
}

@test "an unknown rlimit" {
	update_config '.process.rlimits += [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]'
	try_create
	assert_one_line_error 'process\.rlimits\[1\].*RLIMIT_BOGUS'
	assert_nothing_left "$id"
}

@test "a missing rootfs" {
	update_config '.root.path = "/does/not/exist"'
	try_create
	assert_one_line_error '/does/not/exist'
	assert_nothing_left "$id"
}

@test "no process in the config" {
	update_config 'del(.process)'
	try_create
	assert_one_line_error 'process'
	assert_nothing_left "$id"
}

@test "empty process.args" {
	update_config '.process.args = []'
	try_create
	assert_one_line_error 'process\.args'
	assert_nothing_left "$id"
}

@test "a relative mount destination" {
	hull_only "runc 1.1 accepts relative destinations"
	update_config '.mounts += [{"destination": "relative", "type": "tmpfs", "source": "tmpfs"}]'
	try_create
	assert_one_line_error 'mounts\[7\]\.destination'
	assert_nothing_left "$id"
}

@test "a relative cwd" {
	update_config '.process.cwd = "relative/dir"'
	try_create
	assert_one_line_error 'process\.cwd'
	assert_nothing_left "$id"
}

@test "an unknown syscall name" {
	hull_only "runc ignores unknown syscall names"
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["nope_syscall"], "action": "SCMP_ACT_ERRNO"}]}'
	try_create
	assert_one_line_error 'linux\.seccomp\.syscalls\[0\]\.names\[0\].*nope_syscall'
	assert_nothing_left "$id"
}

@test "an unsupported ociVersion" {
	hull_only "runc accepts any ociVersion"
	update_config '.ociVersion = "9.0.0"'
	try_create
	assert_one_line_error 'ociVersion'
	assert_nothing_left "$id"
}

@test "a uid mapping without a user namespace" {
	hull_only "runc 1.1 ignores mappings without a user namespace"
	update_config '.linux.uidMappings = [{"containerID": 0, "hostID": 1000, "size": 1}]'
	try_create
	assert_one_line_error 'uidMappings|user'
	assert_nothing_left "$id"
}

@test "a duplicate id fails and leaves the first container alone" {
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	pid=$(state_field "$id" pid)
	run_nopipe hull create --bundle "$BUNDLE" "$id"
	assert_one_line_error "$id"
	assert_equal "$(state_field "$id" status)" created
	assert_equal "$(state_field "$id" pid)" "$pid"
}

@test "an unknown id for start/state/kill/delete/exec/ps" {
	for cmd in start state kill delete ps; do
		run --separate-stderr hull "$cmd" no-such-id
		assert_one_line_error 'no-such-id'
	done
	run --separate-stderr hull exec no-such-id /bin/true
	assert_exec_error 'no-such-id'
	assert_nothing_left
}

@test "a missing bundle directory" {
	id=$(new_id)
	run_nopipe hull create --bundle "$BATS_TEST_TMPDIR/no-bundle" "$id"
	assert_one_line_error 'no-bundle'
	assert_nothing_left "$id"
}

@test "a bundle without config.json" {
	rm "$BUNDLE/config.json"
	try_create
	assert_one_line_error 'config\.json'
	assert_nothing_left "$id"
}

@test "invalid container ids" {
	for bad in '../escape' 'a/b' '.' '..' "$(printf 'new\nline')" ' spaced'; do
		run_nopipe hull create --bundle "$BUNDLE" "$bad"
		assert_one_line_error 'id|ID'
	done
	[[ ! -e $BATS_TEST_TMPDIR/escape ]]
	assert_nothing_left
}

@test "an empty id" {
	run_nopipe hull create --bundle "$BUNDLE" ""
	assert_one_line_error
	assert_nothing_left
}

@test "a missing id" {
	run_nopipe hull create --bundle "$BUNDLE"
	assert_one_line_error
	assert_nothing_left
}

@test "an unknown option of a subcommand" {
	id=$(new_id)
	run_nopipe hull create --frobnicate --bundle "$BUNDLE" "$id"
	assert_one_line_error 'frobnicate'
	assert_nothing_left "$id"
}

@test "a non-numeric --preserve-fds" {
	id=$(new_id)
	run_nopipe hull create --preserve-fds many --bundle "$BUNDLE" "$id"
	assert_one_line_error 'preserve-fds'
	assert_nothing_left "$id"
}

@test "a --pid-file in a missing directory fails and leaves nothing" {
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	run_nopipe hull create --pid-file /does/not/exist/pid --bundle "$BUNDLE" "$id"
	assert_one_line_error 'pid'
	assert_nothing_left "$id"
}

@test "a process.json that is not JSON for exec" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	echo 'nope' >"$BATS_TEST_TMPDIR/process.json"
	run --separate-stderr hull exec --process "$BATS_TEST_TMPDIR/process.json" "$id"
	assert_exec_error 'process\.json'
	assert_equal "$(state_field "$id" status)" running
}

# The stage process's entry point is internal: by hand it refuses and says so.
@test "hull __stage run by hand refuses with one line" {
	hull_only 'hull-internal entry point'
	run --separate-stderr "$RUNTIME" __stage
	[[ $status -eq 1 ]] || fail "exit status $status"
	assert_equal "$stderr" "hull: __stage is internal to create and run"
	run --separate-stderr "$RUNTIME" __stage 9 2 0 1 1
	[[ $status -eq 1 ]] || fail "exit status $status"
}
