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

@test "kill --all signals every process of the container" {
	id=$(new_id)
	start_detached "$id" "$HELPER" signal-wait
	wait_for_output "$id" ready
	hull exec -d "$id" "$HELPER" sleep 100 "$id-exec"
	wait_for_pgrep "$id-exec"
	hull kill --all "$id" KILL
	wait_for_status "$id" stopped
	for _ in $(seq 50); do pgrep -f -- "$id-exec" >/dev/null || break; sleep 0.1; done
	run pgrep -f -- "$id-exec"
	assert_failure
}

@test "kill of a stopped container fails" {
	id=$(new_id)
	start_detached "$id" "$HELPER" exit 0
	wait_for_status "$id" stopped
	run --separate-stderr hull kill "$id" TERM
	assert_failure
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
