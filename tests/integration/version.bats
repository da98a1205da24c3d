#!/usr/bin/env bats
# --version and the global options.

load helpers

@test "--version prints the version, commit and spec lines" {
	run hull --version
	assert_success
	assert_line --index 0 --regexp '^(hull|runc) version [0-9]+\.[0-9]+'
	assert_line --regexp '^commit: .+'
	assert_line --regexp '^spec: 1\.[0-9]+\.[0-9]+'
}

@test "--version names hull and runtime-spec 1.2" {
	hull_only "hull's version lines"
	run hull --version
	assert_success
	assert_line --index 0 --regexp '^hull version [0-9]+\.[0-9]+\.[0-9]+'
	assert_line --index 1 --regexp '^commit: [0-9a-f]+|^commit: unknown'
	assert_line --index 2 --regexp '^spec: 1\.2\.[0-9]+'
}

@test "an unknown subcommand fails with one line" {
	run --separate-stderr hull frobnicate
	assert_failure
	hull_only "one-line message format"
	assert_one_line_error 'frobnicate'
}

@test "an unknown global option fails with one line" {
	run --separate-stderr "$RUNTIME" --no-such-option list
	assert_failure
	hull_only "one-line message format"
	assert_one_line_error 'no-such-option'
}

@test "--log --log-format json writes errors as JSON lines to the log file" {
	run --separate-stderr "$RUNTIME" --root "$ROOT" --log "$BATS_TEST_TMPDIR/log.json" --log-format json state no-such
	assert_failure
	run jq -e -s 'length >= 1 and (.[-1].level == "error") and (.[-1].msg | type) == "string"' "$BATS_TEST_TMPDIR/log.json"
	assert_success
}

@test "--log --log-format text writes errors to the log file" {
	run --separate-stderr "$RUNTIME" --root "$ROOT" --log "$BATS_TEST_TMPDIR/log.txt" state no-such
	assert_failure
	run cat "$BATS_TEST_TMPDIR/log.txt"
	assert_output --partial 'does not exist'
}

@test "--debug still runs a container" {
	set_args "$HELPER" exit 0
	id=$(new_id)
	run "$RUNTIME" --debug --root "$ROOT" run --bundle "$BUNDLE" "$id" </dev/null
	assert_success
}
