#!/usr/bin/env bats
# run: create + start + wait, in the foreground or detached.

load helpers

@test "run returns the container's exit status" {
	run_helper exit 7
	assert_equal "$status" 7
}

@test "run passes stdout through and deletes the container afterwards" {
	run_helper read /etc/motd
	assert_success
	assert_output "hull test rootfs"
	run hull state "$CID"
	assert_failure
}

@test "run --detach returns at once with the container running" {
	id=$(new_id)
	start_detached "$id" "$HELPER" signal-wait
	wait_for_output "$id" ready
	assert_equal "$(state_field "$id" status)" running
	hull kill "$id" USR1
	wait_for_output "$id" SIGUSR1
	wait_for_status "$id" stopped
}

@test "run --pid-file writes the pid of the container process" {
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	hull run -d --pid-file "$BATS_TEST_TMPDIR/pid" --bundle "$BUNDLE" "$id" >/dev/null 2>&1 </dev/null
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	assert_equal "$pid" "$(state_field "$id" pid)"
	wait_for_pgrep "$id"
	run cat "/proc/$pid/cmdline"
	assert_output --partial "$id"
}

@test "run --keep keeps the stopped container" {
	runtime_is_runc && skip "runc 1.1 has no run --keep"
	set_args "$HELPER" exit 3
	id=$(new_id)
	run hull run --keep --bundle "$BUNDLE" "$id" </dev/null
	assert_equal "$status" 3
	assert_equal "$(state_field "$id" status)" stopped
	hull delete "$id"
	assert_nothing_left "$id"
}

@test "a process killed by a signal exits with 128+signal" {
	# without a PID namespace: pid 1 cannot SIGKILL itself
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	run_ctr /bin/sh -c 'kill -KILL $$'
	assert_equal "$status" 137
}

@test "run of a missing executable fails and leaves nothing" {
	run_ctr /bin/does-not-exist
	assert_failure
	assert_nothing_left "$CID"
}

@test "the container's stdin is the caller's stdin" {
	set_args /bin/sh -c 'read line; echo "got $line"'
	id=$(new_id)
	run bash -c "echo piped | '$RUNTIME' --root '$ROOT' run --bundle '$BUNDLE' '$id'"
	assert_success
	assert_output "got piped"
}

@test "the container's stderr is the caller's stderr" {
	set_args /bin/sh -c 'echo to-stderr >&2'
	id=$(new_id)
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_success
	assert_equal "$output" ""
	assert_equal "$stderr" to-stderr
}
