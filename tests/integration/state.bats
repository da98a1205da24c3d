#!/usr/bin/env bats
# state: the runtime-spec state JSON.

load helpers

@test "state of a created container follows the runtime spec" {
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	run hull state "$id"
	assert_success
	echo "$output" | jq -e --arg id "$id" --arg b "$BUNDLE" '
		.id == $id and .status == "created" and .bundle == $b and
		(.pid | type) == "number" and .pid > 0 and (.ociVersion | type) == "string"'
}

@test "state reports running and the annotations" {
	update_config '.annotations = {"org.hull.test": "yes"}'
	id=$(new_id)
	start_detached "$id" "$HELPER" signal-wait
	wait_for_output "$id" ready
	run hull state "$id"
	assert_success
	echo "$output" | jq -e '.status == "running" and .annotations["org.hull.test"] == "yes"'
}

@test "state reports stopped after the process exits" {
	id=$(new_id)
	start_detached "$id" "$HELPER" exit 0
	wait_for_status "$id" stopped
	run hull state "$id"
	echo "$output" | jq -e '.status == "stopped"'
}

@test "state of an unknown id fails with one line" {
	run --separate-stderr hull state no-such-container
	assert_one_line_error 'no-such-container'
	assert_equal "$output" ""
}

@test "state without an id fails" {
	run --separate-stderr hull state
	assert_failure
}
