#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Global --debug, --log and --log-format: the lines runc's callers read.

load helpers

LOGRUS='^time="[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z" level=[a-z]+ msg="'
LOGRUS_DEBUG=${LOGRUS/level=\[a-z\]+/level=debug}

# debug_steps CMD ARG...: `--debug CMD ARG...` with stderr in $BATS_TEST_TMPDIR/CMD.err.
debug_steps() {
	local cmd=$1
	"$RUNTIME" --root "$ROOT" --debug "$@" </dev/null >"$BATS_TEST_TMPDIR/$cmd.out" 2>"$BATS_TEST_TMPDIR/$cmd.err"
}

# assert_debug_lines CMD ID: CMD's stderr has debug lines and only lines in
# logrus's text form; hull's name the command and the id.
assert_debug_lines() {
	local f=$BATS_TEST_TMPDIR/$1.err
	grep -Eq "$LOGRUS_DEBUG" "$f" || fail "$1: no debug line: $(cat "$f")"
	run grep -Evc "$LOGRUS" "$f"
	assert_output 0
	runtime_is_runc || grep -Eq "msg=\"$1 $2: " "$f" || fail "$1: no line names '$1 $2': $(cat "$f")"
}

@test "--debug writes logrus text lines for create, start, exec and delete to stderr" {
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	debug_steps create --bundle "$BUNDLE" "$id"
	assert_debug_lines create "$id"
	debug_steps exec "$id" "$HELPER" exit 0
	assert_debug_lines exec "$id"
	debug_steps start "$id"
	runtime_is_runc || assert_debug_lines start "$id" # runc's start logs nothing
	debug_steps delete --force "$id"
	runtime_is_runc || assert_debug_lines delete "$id"
	run hull state "$id"
	assert_failure
}

@test "--debug --log-format json --log FILE writes JSON lines to FILE only" {
	local log=$BATS_TEST_TMPDIR/log.json
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	for step in "create --bundle $BUNDLE $id" "start $id" "exec $id $HELPER exit 0" "delete --force $id"; do
		# shellcheck disable=SC2086 # the words of one step
		run_nopipe "$RUNTIME" --root "$ROOT" --debug --log-format json --log "$log" $step
		assert_success
		assert_equal "$stderr" ""
	done
	# every line a JSON object with level, msg and time; some debug ones
	jq -e -s 'length > 0 and all(.[]; (.level | type) == "string" and (.msg | type) == "string"
		and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")))' "$log" >/dev/null ||
		fail "not JSON lines with level, msg, time: $(head -c 600 "$log")"
	jq -e -s 'any(.[]; .level == "debug")' "$log" >/dev/null || fail "no debug line: $(head -c 600 "$log")"
	if ! runtime_is_runc; then
		for cmd in create start exec delete; do
			jq -e -s --arg p "$cmd $id: " 'any(.[]; .level == "debug" and (.msg | startswith($p)))' "$log" \
				>/dev/null || fail "no debug line for $cmd: $(cat "$log")"
		done
	fi
}

@test "without --debug, create, exec and delete write nothing" {
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	run_nopipe hull create --bundle "$BUNDLE" "$id"
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr hull exec "$id" "$HELPER" exit 0
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr hull delete --force "$id"
	assert_success
	assert_equal "$stderr" ""
}

@test "--debug create: once create has returned, the container's stdio gets only the process's output" {
	# Without a terminal the init's stdio is create's, and becomes the
	# container's: the default config's ambient set (no inheritable bits)
	# has the init log while it confines itself after start, which must
	# not reach the container's stderr (runc's init logs to runc's pipe).
	local out=$BATS_TEST_TMPDIR/ctr.out errf=$BATS_TEST_TMPDIR/ctr.err
	id=$(new_id)
	set_args /bin/sh -c 'echo out; echo err >&2'
	"$RUNTIME" --root "$ROOT" --debug create --bundle "$BUNDLE" "$id" </dev/null >"$out" 2>"$errf"
	grep -Eq "$LOGRUS_DEBUG" "$errf" || fail "create logged no debug line: $(cat "$errf")"
	cp "$errf" "$BATS_TEST_TMPDIR/create.err"
	hull start "$id"
	wait_for_status "$id" stopped
	run cat "$out"
	assert_output "out"
	# stderr: create's own lines, then the process's only
	run diff "$BATS_TEST_TMPDIR/create.err" "$errf"
	assert_output --regexp '^[0-9]+a[0-9]+
> err$'
	hull delete "$id"
}
