#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The harness itself: every test is bounded (BATS_TEST_TIMEOUT, bounded.bash,
# which helpers.bash loads), so a hang is a named `not ok` and the suite, and
# tests/run-all, go on.

load helpers

# probe FILE NAME=BODY...: a bats file with those tests (the "@" is spelled
# apart so that bats does not take these lines for tests of this file), that
# loads helpers.bash, or $PROBE_LOAD (bounded: the test-host suites' way).
probe() {
	local f=$PROBE_DIR/$1 t at=@
	shift
	printf "load '%s'\nsetup() { :; }\nteardown() { :; }\n" "$REPO/tests/integration/${PROBE_LOAD:-helpers}" >"$f"
	for t in "$@"; do
		printf '%stest "%s" { %s; }\n' "$at" "${t%%=*}" "${t#*=}" >>"$f"
	done
}

setup() {
	setup_common
	PROBE_DIR=$BATS_TEST_TMPDIR/probe
	mkdir -p "$PROBE_DIR"
	# hangs the way a runtime does: in `run`, with a grandchild holding the
	# output pipe (what a container started by the command does)
	probe "hang-probe-$$-a.bats" "hangs in run=run sh -c 'sleep 1000 & exec sleep 1000'" \
		"hangs outside run=sleep 1000 | cat" "the next test runs=true"
	probe "hang-probe-$$-b.bats" "the next file runs=true"
	# a test-host suite without helpers.bash: a transfer in a pipeline
	# inside $(...) (net.bats' way), a VMM that ignores SIGTERM
	PROBE_LOAD=bounded probe "hang-probe-$$-c.bats" \
		"hangs in a substitution=x=\$(sleep 1000 | md5sum)" \
		"ignores TERM=run sh -c 'trap \"\" TERM; sleep 1000 & wait; wait'" "the next test runs=true"
}

teardown() {
	rm -f "$REPO"/build/check/*hang-probe-$$-*
	teardown_common
}

@test "a hanging test is a named not ok and the file goes on" {
	BATS_TEST_TIMEOUT=2 run bats --tap "$PROBE_DIR/hang-probe-$$-a.bats"
	assert_failure
	assert_line --index 0 '1..3'
	assert_line 'not ok 1 hangs in run # timeout after 2s'
	assert_line 'not ok 2 hangs outside run # timeout after 2s'
	assert_line 'ok 3 the next test runs'
	# nothing of the hung tests is left
	run pgrep -f "^sleep 1000\$" -s 0
	assert_failure
}

@test "bounded.bash alone (the test-host suites) ends a test hung in a substitution or on a TERM-proof child" {
	BATS_TEST_TIMEOUT=2 run bats --tap "$PROBE_DIR/hang-probe-$$-c.bats"
	assert_failure
	assert_line 'not ok 1 hangs in a substitution # timeout after 2s'
	assert_line 'not ok 2 ignores TERM # timeout after 2s'
	assert_line 'ok 3 the next test runs'
	run pgrep -f "^sleep 1000\$" -s 0
	assert_failure
}

@test "run-all reports a hanging test by name and goes on to the next file" {
	BATS_TEST_TIMEOUT=2 HULL_CHECK_STAGES=integration \
		HULL_CHECK_BATS="$PROBE_DIR/hang-probe-$$-a.bats $PROBE_DIR/hang-probe-$$-b.bats" \
		run "$REPO/tests/run-all"
	assert_failure
	assert_line --regexp "^  integration/hang-probe-$$-a +pass +1  fail +2 "
	assert_line '    not ok 1 hangs in run # timeout after 2s'
	assert_line --regexp "^  integration/hang-probe-$$-b +pass +1  fail +0 "
	assert_line --index -1 '2 passed, 2 failed, 0 skipped'
}
