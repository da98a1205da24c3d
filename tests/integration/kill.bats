#!/usr/bin/env bats
# kill: signals by name and number, --all.

load helpers

start_waiter() {
	id=$(new_id)
	start_detached "$id" "$HELPER" signal-wait
	wait_for_output "$id" ready
}

@test "kill without a signal sends SIGTERM" {
	start_waiter
	hull kill "$id"
	wait_for_output "$id" SIGTERM
	wait_for_status "$id" stopped
}

@test "kill accepts names with and without SIG and numbers" {
	start_waiter
	hull kill "$id" USR1
	wait_for_output "$id" SIGUSR1
	start_waiter
	hull kill "$id" SIGINT
	wait_for_output "$id" SIGINT
	start_waiter
	hull kill "$id" 1
	wait_for_output "$id" SIGHUP
}

@test "kill KILL stops a process that ignores TERM" {
	id=$(new_id)
	start_detached "$id" /bin/sh -c 'trap "" TERM; echo ready; while :; do sleep 1; done'
	wait_for_output "$id" ready
	hull kill "$id" KILL
	wait_for_status "$id" stopped
}

# A waiting container plus an exec'd process "$id-exec"; KILL_ARGS... with
# the id substituted for ID must stop both.
assert_kill_all_stops_exec() {
	id=$(new_id)
	start_detached "$id" "$HELPER" signal-wait
	wait_for_output "$id" ready
	hull exec -d "$id" "$HELPER" sleep 100 "$id-exec"
	wait_for_pgrep "$id-exec"
	hull kill "${@/#ID/$id}"
	wait_for_status "$id" stopped
	for _ in $(seq 50); do pgrep -f -- "$id-exec" >/dev/null || break; sleep 0.1; done
	run pgrep -f -- "$id-exec"
	assert_failure
}

@test "kill --all signals every process of the container" {
	assert_kill_all_stops_exec --all ID KILL
}

@test "kill of a stopped container fails" {
	id=$(new_id)
	start_detached "$id" "$HELPER" exit 0
	wait_for_status "$id" stopped
	run --separate-stderr hull kill "$id" TERM
	assert_failure
}

@test "kill --all of a stopped container succeeds: nothing to signal" {
	id=$(new_id)
	start_detached "$id" "$HELPER" exit 0
	wait_for_status "$id" stopped
	run --separate-stderr hull kill --all "$id" KILL
	assert_success
	assert_equal "$(state_field "$id" status)" stopped
	run --separate-stderr hull kill --all no-such-container KILL
	assert_failure
}

@test "kill takes --all after the operands" {
	assert_kill_all_stops_exec ID KILL --all
}

@test "kill with an unknown signal fails with one line and the container survives" {
	start_waiter
	run --separate-stderr hull kill "$id" SIGNOPE
	assert_one_line_error 'SIGNOPE|signal'
	assert_equal "$(state_field "$id" status)" running
}

@test "kill of an unknown id fails with one line" {
	run --separate-stderr hull kill no-such-container TERM
	assert_one_line_error 'no-such-container'
}
