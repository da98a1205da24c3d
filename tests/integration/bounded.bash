# SPDX-License-Identifier: Apache-2.0
# Every test is bounded, so a hang is a named `not ok N ... # timeout after
# Ns` (bats kills the test's processes and runs its teardown) and the file
# goes on, instead of the whole suite stalling until its own limit.  Loaded by
# helpers.bash (the OCI CLI suites) and by the test-host suites that do not
# load it.  The test host passes its own limit (run-suite: 600 s under TCG);
# 300 s is far above the slowest test on the machine.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}

# bats 1.8.2 ends a timed-out test with SIGABRT to the test's shell and
# SIGTERM to that shell's direct children only.  A test blocked in `run CMD`,
# or in any $(...), reads a command substitution, and the shell runs its trap
# only once every writer of that pipe is gone: CMD's own children (a hull vm
# run, a transfer in a pipeline), which outlive a SIGTERM to their parent.
# Without this the "timeout" never fires (measured: `run sh -c 'sleep 1000 &
# sleep 1000'` hung bats for good).  So every descendant of the test's shell
# but this watchdog gets SIGKILL (a VMM may take SIGTERM as its guest's power
# button).  helpers.bash adds the test's containers.
bats_kill_childprocesses_of() {
	kill_descendants "$1"
}

# kill_descendants PID: SIGKILL every descendant of PID but this shell.
kill_descendants() {
	local pid self=$BASHPID # here, not in the $(...) below: that is another process
	for pid in $(ps -e -o pid=,ppid= | awk -v top="$1" -v self="$self" '
		{ kids[$2] = kids[$2] " " $1 }
		END {
			n = split(kids[top], q, " ")
			for (i = 1; i <= n; i++) {
				if (q[i] == self) continue
				print q[i]
				m = split(kids[q[i]], more, " ")
				for (j = 1; j <= m; j++) q[++n] = more[j]
			}
		}'); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}
