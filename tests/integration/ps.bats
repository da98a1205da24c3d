#!/usr/bin/env bats
# ps: processes of a container.

load helpers

@test "ps --format json lists the init and exec'd processes by host pid" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	pid=$(state_field "$id" pid)
	hull exec -d --pid-file "$BATS_TEST_TMPDIR/epid" "$id" "$HELPER" sleep 100 "$id-x"
	epid=$(cat "$BATS_TEST_TMPDIR/epid")
	run hull ps --format json "$id"
	assert_success
	echo "$output" | jq -e --argjson p "$pid" --argjson e "$epid" 'sort == ([$p, $e] | sort)'
}

@test "ps prints a ps(1) table that includes the container process" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	pid=$(state_field "$id" pid)
	run hull ps "$id"
	assert_success
	assert_line --index 0 --regexp 'PID'
	assert_line --regexp "^[^ ]+ +$pid "
}

@test "ps of an unknown id fails with one line" {
	run --separate-stderr hull ps no-such-container
	assert_one_line_error 'no-such-container'
}
