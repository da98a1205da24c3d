#!/usr/bin/env bats
# delete: stopped containers, --force on running ones.

load helpers

@test "delete of a stopped container removes it and its state" {
	id=$(new_id)
	start_detached "$id" "$HELPER" exit 0
	wait_for_status "$id" stopped
	run hull delete "$id"
	assert_success
	assert_nothing_left "$id"
}

@test "delete of a running container without --force fails and keeps it" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	run --separate-stderr hull delete "$id"
	assert_one_line_error
	assert_equal "$(state_field "$id" status)" running
}

@test "delete --force kills a running container and removes everything" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	pid=$(state_field "$id" pid)
	run hull delete --force "$id"
	assert_success
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$pid"
	assert_failure
	assert_nothing_left "$id"
}

@test "delete ID --force: the flag after the id, as runc's parser takes it" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	pid=$(state_field "$id" pid)
	run hull delete "$id" --force
	assert_success
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$pid"
	assert_failure
	assert_nothing_left "$id"
}

@test "delete of a created container works" {
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	run hull delete --force "$id"
	assert_success
	assert_nothing_left "$id"
}

@test "delete of an unknown id fails with one line" {
	run --separate-stderr hull delete no-such-container
	assert_one_line_error 'no-such-container'
}

@test "delete --force of an unknown id succeeds like runc" {
	run hull delete --force no-such-container
	assert_success
}
