#!/usr/bin/env bats
# list: table and JSON.

load helpers

@test "list of an empty root prints only the header" {
	run hull list
	assert_success
	assert_line --index 0 --regexp '^ID +PID +STATUS +BUNDLE +CREATED +OWNER'
	assert_equal "${#lines[@]}" 1
}

@test "list shows created and running containers" {
	a=$(new_id)
	b=$(new_id)
	create_ctr "$a" "$HELPER" sleep 100 "$a"
	start_detached "$b" "$HELPER" sleep 100 "$b"
	run hull list
	assert_success
	assert_line --regexp "^$a +[0-9]+ +created +$BUNDLE "
	assert_line --regexp "^$b +[0-9]+ +running +$BUNDLE "
}

@test "list --format json is an array of container objects" {
	a=$(new_id)
	start_detached "$a" "$HELPER" sleep 100 "$a"
	run hull list --format json
	assert_success
	echo "$output" | jq -e --arg id "$a" --arg b "$BUNDLE" '
		length == 1 and .[0].id == $id and .[0].status == "running" and
		.[0].bundle == $b and .[0].pid > 0 and (.[0].created | type) == "string"'
}

@test "list --format json of an empty root is an empty array" {
	mkdir -p "$ROOT"
	run hull list --format json
	assert_success
	echo "$output" | jq -e 'length == 0'
}

@test "list -q prints only the ids" {
	a=$(new_id)
	create_ctr "$a" "$HELPER" sleep 100 "$a"
	run hull list -q
	assert_success
	assert_output "$a"
}

@test "list with an unknown format fails with one line" {
	run --separate-stderr hull list --format yaml
	assert_one_line_error 'yaml|format'
}

@test "list is sorted by id" {
	local ids=() id sorted
	for p in c a d b; do
		id="$p-$(new_id)"
		echo "$id" >>"$IDS_FILE"
		ids+=("$id")
		create_ctr "$id" "$HELPER" sleep 100 "$id"
	done
	sorted=$(printf '%s\n' "${ids[@]}" | LC_ALL=C sort)
	run hull list -q
	assert_success
	assert_output "$sorted"
	run hull list --format json
	assert_equal "$(echo "$output" | jq -r '.[].id')" "$sorted"
	run hull list
	assert_equal "$(echo "$output" | awk 'NR > 1 { print $1 }')" "$sorted"
}

