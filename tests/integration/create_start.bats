#!/usr/bin/env bats
# create + start: the two-step lifecycle (runtime-spec "Lifecycle").

load helpers

@test "create leaves the container in created state with a live init pid" {
	id=$(new_id)
	create_ctr "$id" "$HELPER" signal-wait
	assert_equal "$(state_field "$id" status)" created
	pid=$(state_field "$id" pid)
	[[ $pid -gt 0 ]]
	kill -0 "$pid"
	# the user process has not run yet
	refute [ -s "$BATS_TEST_TMPDIR/$id.out" ]
}

@test "start runs the process; it observes its args" {
	id=$(new_id)
	create_ctr "$id" "$HELPER" signal-wait
	run hull start "$id"
	assert_success
	wait_for_output "$id" ready
	assert_equal "$(state_field "$id" status)" running
	hull kill "$id" TERM
	wait_for_output "$id" SIGTERM
	wait_for_status "$id" stopped
}

@test "create --pid-file writes the init pid" {
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	hull create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$id" >/dev/null 2>&1 </dev/null
	run cat "$BATS_TEST_TMPDIR/pid"
	assert_output "$(state_field "$id" pid)"
}

@test "create resolves a relative --bundle against the cwd" {
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	cd "$BATS_TEST_TMPDIR"
	hull create --bundle bundle "$id" >/dev/null 2>&1 </dev/null
	assert_equal "$(state_field "$id" bundle)" "$BUNDLE"
}

@test "create with the default bundle uses the cwd" {
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	cd "$BUNDLE"
	hull create "$id" >/dev/null 2>&1 </dev/null
	assert_equal "$(state_field "$id" bundle)" "$BUNDLE"
}

@test "start twice fails the second time" {
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	hull start "$id"
	run_nopipe hull start "$id"
	assert_failure
	assert_one_line_error
}

@test "start of an unknown id fails with one line" {
	run_nopipe hull start does-not-exist
	assert_one_line_error 'does-not-exist'
}

@test "create --no-pivot still gives the container its own root" {
	id=$(new_id)
	set_args "$HELPER" read /etc/hostname
	hull create --no-pivot --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null
	hull start "$id"
	wait_for_status "$id" stopped
	run ctr_output "$id"
	assert_output hull-rootfs
}

@test "create --preserve-fds passes fd 3 to the container" {
	id=$(new_id)
	echo preserved-data >"$BATS_TEST_TMPDIR/data"
	set_args "$HELPER" read-fd 3
	hull create --preserve-fds 1 --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null 3<"$BATS_TEST_TMPDIR/data"
	hull start "$id"
	wait_for_status "$id" stopped
	run ctr_output "$id"
	assert_output preserved-data
}

@test "a created container that is killed and deleted leaves nothing" {
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	hull kill "$id" KILL
	wait_for_status "$id" stopped
	hull delete "$id"
	assert_nothing_left "$id"
}
