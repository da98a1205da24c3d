#!/usr/bin/env bats
# tests/testhost/run, from this machine: exit status, output streams, working
# directory, environment, the overlay, the timeout and the cleanup.  Each
# boot costs a few seconds, so one boot in setup_file serves several tests.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0
# A hang is a named `not ok` (see helpers.bash), not a stalled suite.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-600}

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
RUN=$REPO/tests/testhost/run

# Leftovers of a run that used $1 as TMPDIR: its temporary directory and any
# QEMU whose job lived there.
leftovers() {
	find "$1" -mindepth 1 -maxdepth 1 -print
	pgrep -af "testhost_job=$1/" || true
}

setup_file() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/tmp"
	# A fresh checkout builds the kernel cache and initramfs on first use and
	# says so on stderr: do that first, so the measured run's stderr is its own.
	"$REPO/tests/testhost/build" >/dev/null || fail "tests/testhost/build failed"
	# One boot: a single string runs through sh -c, in the caller's cwd (a
	# subdirectory, to tell it from the checkout's top), writes a file into
	# the checkout, shows the soft-lockup watchdog's settings and exits 7.
	export PROBE=$REPO/build/.testhost-run-probe-$$
	(
		cd "$REPO/tests/testhost" &&
			TMPDIR=$d/tmp "$RUN" 'echo "to stdout"; echo "to stderr" >&2; pwd; echo inside >"'"$PROBE"'" && cat "'"$PROBE"'"; cat /proc/sys/kernel/watchdog /proc/sys/kernel/soft_watchdog /proc/sys/kernel/watchdog_thresh; exit 7'
	) >"$d/out" 2>"$d/err" && echo 0 >"$d/status" || echo $? >"$d/status"
	leftovers "$d/tmp" >"$d/leftovers" 2>&1
}

teardown_file() {
	rm -f "${PROBE:-/nonexistent}"
}

@test "the command's non-zero exit status comes back unchanged" {
	run cat "$BATS_FILE_TMPDIR/status"
	assert_output 7
}

@test "the command's stdout comes back on stdout, its stderr on stderr" {
	run cat "$BATS_FILE_TMPDIR/out"
	assert_line --index 0 "to stdout"
	refute_line "to stderr"
	run cat "$BATS_FILE_TMPDIR/err"
	assert_output "to stderr"
}

@test "the command runs in the caller's working directory" {
	run cat "$BATS_FILE_TMPDIR/out"
	assert_line --index 1 "$REPO/tests/testhost"
}

@test "a file written in the test host lands in its overlay, not on this machine" {
	run cat "$BATS_FILE_TMPDIR/out"
	assert_line --index 2 inside
	[ ! -e "$PROBE" ] || fail "$PROBE appeared on the machine"
}

@test "the test host's kernel runs the soft-lockup watchdog, with a 60 s threshold" {
	# it reports a CPU that stops scheduling, which run turns into 125
	run cat "$BATS_FILE_TMPDIR/out"
	# watchdog (nowatchdog clears it), soft_watchdog, watchdog_thresh
	assert_line --index 3 1
	assert_line --index 4 1
	assert_line --index 5 60
}

@test "nothing is left after a run: no temporary directory, no QEMU" {
	run cat "$BATS_FILE_TMPDIR/leftovers"
	assert_output ""
}

@test "arguments pass through unchanged and the environment is the allowlist plus TESTHOST_ENV" {
	mkdir -p "$BATS_TEST_TMPDIR/tmp"
	SECRET=host-only THE_VAR="a b'c" TESTHOST_ENV=THE_VAR TMPDIR=$BATS_TEST_TMPDIR/tmp \
		run --separate-stderr "$RUN" -- sh -c 'printf "<%s>\n" "$@" "$THE_VAR" "${SECRET-unset}" "$HOME" "$TESTHOST"' \
		sh "two words" "it's" '$HOME'
	assert_success
	assert_equal "${lines[*]}" "<two words> <it's> <\$HOME> <a b'c> <unset> </root> <1>"
	run leftovers "$BATS_TEST_TMPDIR/tmp"
	assert_output ""
}

# The evidence of a hang that silences the console: QEMU's state through QMP.
assert_qmp_dump() { # $1 stderr or log, $2 the reason in the header
	local header="testhost: ==== QEMU state at $2 (QMP; see docs/testing.md) ===="
	assert_equal "$(grep -cxF "$header" <<<"$1")" 1
	assert_regex "$1" $'\ntesthost: \\[query-status\\] status=running running=True\n'
	# both vCPUs' registers, and whether each moved a second later
	assert_equal "$(grep -cE '^testhost: \| RIP=[0-9a-f]{16} RFL=' <<<"$1")" 2
	assert_regex "$1" $'\ntesthost: \\| CPU#0 RIP=[0-9a-f]{16} (same|moved)\ntesthost: \\| CPU#1 RIP='
	# the QEMU thread of each vCPU, with how busy it was
	assert_regex "$1" $'\ntesthost: \\| [0-9]+ +CPU 1/TCG +[0-9]+%\n'
	assert_regex "$1" $'\ntesthost: ==== end of QEMU state ====(\n|$)'
}

@test "a command that outlives --timeout is killed: status 124, a message, QEMU's state, nothing left" {
	mkdir -p "$BATS_TEST_TMPDIR/tmp"
	# 20 s: the job must have started before the limit, and a boot takes
	# 2-7 s, more on a machine whose cores other work keeps busy
	TESTHOST_CONSOLE_LOG=$BATS_TEST_TMPDIR/console.log TMPDIR=$BATS_TEST_TMPDIR/tmp \
		run --separate-stderr "$RUN" --timeout 20 -- sleep 100
	assert_equal "$status" 124
	assert_equal "${stderr_lines[0]}" "testhost: timed out after 20s; VM killed"
	# the console tail follows, and shows the job had started
	assert_equal "${stderr_lines[1]}" "testhost: last console lines:"
	assert_regex "$stderr" $'\ntesthost: \\| testhost init: running the job \\([0-9.]+ s after boot\\)'
	# then what QEMU was doing, taken before it was killed; the kept console
	# log ends with the same
	assert_qmp_dump "$stderr" "the run's timeout (20s)"
	assert_qmp_dump "$(cat "$BATS_TEST_TMPDIR/console.log")" "the run's timeout (20s)"
	run leftovers "$BATS_TEST_TMPDIR/tmp"
	assert_output ""
}

@test "a test host whose kernel reports an RCU stall is killed at once: 125, 'the test host died', nothing left" {
	mkdir -p "$BATS_TEST_TMPDIR/tmp"
	# the report as the kernel prints it (level 3 reaches the console), and a
	# job that would otherwise outlive this test's own limit
	TMPDIR=$BATS_TEST_TMPDIR/tmp run --separate-stderr "$RUN" --timeout 500 -- \
		sh -c 'echo "<3>rcu: INFO: rcu_preempt self-detected stall on CPU" >/dev/kmsg; sleep 1000'
	assert_equal "$status" 125
	assert_equal "${stderr_lines[0]}" "testhost: the test host died: its kernel reported an RCU stall (rcu: INFO: rcu_preempt self-detected stall on CPU); VM killed"
	assert_equal "${stderr_lines[1]}" "testhost: last console lines:"
	assert_qmp_dump "$stderr" "the kernel's report: rcu: INFO: rcu_preempt self-detected stall on CPU"
	run leftovers "$BATS_TEST_TMPDIR/tmp"
	assert_output ""
}

@test "a test host whose kernel reports a soft lockup is killed at once: 125, 'the test host died', nothing left" {
	mkdir -p "$BATS_TEST_TMPDIR/tmp"
	# as the soft-lockup watchdog prints it (pr_emerg)
	TMPDIR=$BATS_TEST_TMPDIR/tmp run --separate-stderr "$RUN" --timeout 500 -- \
		sh -c 'echo "<0>watchdog: BUG: soft lockup - CPU#1 stuck for 123s! [hull:321]" >/dev/kmsg; sleep 1000'
	assert_equal "$status" 125
	assert_equal "${stderr_lines[0]}" "testhost: the test host died: its kernel reported a lockup (watchdog: BUG: soft lockup - CPU#1 stuck for 123s! [hull:321]); VM killed"
	assert_equal "${stderr_lines[1]}" "testhost: last console lines:"
	run leftovers "$BATS_TEST_TMPDIR/tmp"
	assert_output ""
}

@test "a test host whose heartbeat stops is killed: 125, 'the test host died', QEMU's state, nothing left" {
	mkdir -p "$BATS_TEST_TMPDIR/tmp"
	# a kernel spinning with interrupts off runs no process: here only the
	# heartbeat's loop is stopped (the pattern does not match this job's own
	# command line), and the job would otherwise outlive this test's limit
	TESTHOST_HEARTBEAT_TIMEOUT=15 TMPDIR=$BATS_TEST_TMPDIR/tmp run --separate-stderr "$RUN" --timeout 500 -- \
		sh -c 'pkill -STOP -f "whil[e] :" || echo "no heartbeat loop" >&2; sleep 1000'
	assert_equal "$status" 125
	assert_equal "${stderr_lines[0]}" "testhost: the test host died: its heartbeat stopped (no tick from stage2 for 15s: its kernel runs nothing); VM killed"
	assert_equal "${stderr_lines[1]}" "testhost: last console lines:"
	assert_qmp_dump "$stderr" "the heartbeat's silence (15s)"
	run leftovers "$BATS_TEST_TMPDIR/tmp"
	assert_output ""
}

@test "a VM whose job does not start within TESTHOST_BOOT_TIMEOUT is booted once more" {
	mkdir -p "$BATS_TEST_TMPDIR/tmp"
	# the init stalls the first boot only; 15 s: boots take 2-7 s, also
	# with both cores busy
	TESTHOST_BOOT_TIMEOUT=15 TESTHOST_APPEND=testhost_stall=1 TMPDIR=$BATS_TEST_TMPDIR/tmp \
		run --separate-stderr "$RUN" -- echo ran
	assert_equal "$status" 0
	assert_equal "$output" ran
	assert_equal "${stderr_lines[0]}" "testhost: the job did not start within 15s of boot (attempt 1 of 2); VM killed"
	assert_equal "${stderr_lines[1]}" "testhost: last console lines:"
	assert_regex "$stderr" 'testhost: \| testhost init: stalling boot 1'
	run leftovers "$BATS_TEST_TMPDIR/tmp"
	assert_output ""
}

@test "a second stalled boot fails with 125, the job never run" {
	mkdir -p "$BATS_TEST_TMPDIR/tmp"
	TESTHOST_BOOT_TIMEOUT=15 TESTHOST_APPEND=testhost_stall=1,2 TMPDIR=$BATS_TEST_TMPDIR/tmp \
		run --separate-stderr "$RUN" -- echo ran
	assert_equal "$status" 125
	assert_equal "$output" ""
	assert_equal "$(grep -c '^testhost: the job did not start within 15s of boot' <<<"$stderr")" 2
	# each boot's QEMU state, taken before the kill
	assert_equal "$(grep -cxF "testhost: ==== QEMU state at the boot watchdog (15s) (QMP; see docs/testing.md) ====" <<<"$stderr")" 2
	assert_equal "$(grep -cE '^testhost: \| RIP=[0-9a-f]{16} RFL=' <<<"$stderr")" 4
	assert_regex "$stderr" 'testhost: \| testhost init: stalling boot 2'
	run leftovers "$BATS_TEST_TMPDIR/tmp"
	assert_output ""
}

@test "bad usage fails with 125 and a reason, without booting" {
	run --separate-stderr "$RUN" --mem lots -- true
	assert_equal "$status" 125
	assert_equal "$stderr" "testhost: --mem: not a number of MiB: 'lots'"
	run --separate-stderr "$RUN"
	assert_equal "$status" 125
	assert_equal "$stderr" "testhost: no command given (or --shell)"
}

@test "a working directory under /tmp is overlaid into the test host, and writes stay there" {
	# CI may clone into /tmp, which the guest covers with its own tmpfs.
	local d
	d=$(mktemp -d /tmp/testhost-cwd.XXXXXX)
	echo from-host >"$d/marker"
	cd "$d"
	run --separate-stderr "$RUN" -- sh -c 'pwd; cat marker; echo guest >written; cat written'
	cd /
	local found_written=no
	[[ -e $d/written ]] && found_written=yes
	rm -rf "$d"
	assert_success
	assert_equal "${lines[0]}" "$d"
	assert_equal "${lines[1]}" from-host
	assert_equal "${lines[2]}" guest
	assert_equal "$found_written" no
}

@test "/tmp itself as the working directory fails with 125 before booting" {
	cd /tmp
	run --separate-stderr "$RUN" -- true
	assert_equal "$status" 125
	assert_equal "$stderr" "testhost: the working directory is /tmp itself, which the test host replaces with its own tmpfs"
}
