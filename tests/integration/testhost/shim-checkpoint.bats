#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Checkpoint and restore through containerd-shim-hull-v2 (isolation=container),
# driven by containerd 1.6's ctr as shim.bats drives it.  In the test host:
# Debian's CRIU 3.17 cannot parse the development machine's kernel's vDSO
# (`criu check`: "vdso: Failed to fill self vdso symtable"), the test host's
# 6.1 works (testhost/checkpoint.bats).
#
# The task writes a random token, then counts in a shell variable and
# appends each value to a file on its /dev/shm tmpfs (containerd's default
# spec mounts one): a restored task whose file has the dumped task's token
# and goes on from the dump's count without a gap or a restart is the dumped
# process (its memory, its open file at its offset, its tmpfs) going on.

NS=hull-shim-ckpt

load ../helpers
load ../engines
load ../shim

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
	shim_setup
}

teardown_file() { shim_teardown; }

setup() { :; }

teardown() { [[ -n ${D:-} ]] && containerd_clean; }

COUNTER='exec </dev/null >/dev/null 2>&1; i=0; exec 3>>/dev/shm/log
cat /proc/sys/kernel/random/uuid >&3
while :; do i=$((i + 1)); echo $i >&3; sleep 0.2; done'

task_pid() { c task ls | awk -v id="$1" '$1 == id {print $2}'; }

# last PID: the last count in the task's log (0: none yet).
last() {
	local l
	l=$(tail -n1 "/proc/$1/root/dev/shm/log" 2>/dev/null || true)
	[[ $l =~ ^[0-9]+$ ]] && echo "$l" || echo 0
}

# wait_count PID N: until the task's log reaches N.
wait_count() {
	local i
	for ((i = 0; i < 600; i++)); do
		(($(last "$1") >= $2)) && return 0
		sleep 0.1
	done
	fail "pid $1 never counted to $2 (last: $(last "$1"))"
}

# assert_gapless PID: the log holds the token, then exactly 1..N.
assert_gapless() {
	local log
	log=$(tail -n +2 "/proc/$1/root/dev/shm/log")
	assert_equal "$log" "$(seq 1 "${log##*$'\n'}")"
}

token() { head -n1 "/proc/$1/root/dev/shm/log"; }

# stop_task ID: kill, wait for STOPPED, delete task and container, nothing left.
stop_task() {
	c task kill -s KILL "$1"
	for _ in $(seq 300); do c task ls | grep -q "^$1 .*STOPPED" && break; sleep 0.1; done
	run c task ls
	assert_line --regexp "^$1 +[0-9]+ +STOPPED$"
	c task rm "$1"
	c container rm "$1"
	assert_gone "$1"
}

# ctr 1.6 restores only what `ctr c checkpoint` made (`ctr c restore --live`;
# its run has no --checkpoint): the container's spec, runtime and image with
# the task's dump.  Its restore takes ctr's own stdio (FIFOs in the test
# host's /run/containerd/fifo: it has no --fifo-dir); the task writes none.
@test "shim-checkpoint: ctr c checkpoint --task leaves the task running; ctr c restore --live continues its count" {
	local pid n tok pid2 ref=localhost/ck1-checkpoint:1
	crun -d localhost/hull-test:latest ck1 sh -c "$COUNTER"
	pid=$(task_pid ck1)
	wait_count "$pid" 5
	tok=$(token "$pid")
	[[ -n $tok ]] || fail "no token in ck1's log"
	n=$(last "$pid")
	# ctr pauses the task around the Checkpoint call (the paused task is
	# dumped) and sends runc's CheckpointOptions{file_locks: true}.
	c c checkpoint --task ck1 "$ref"
	run c image ls -q
	assert_line "$ref"
	# Left running (no exit), resumed by ctr.
	run c task ls
	assert_line --regexp '^ck1 +[0-9]+ +RUNNING$'
	wait_count "$pid" $((n + 3))
	assert_gapless "$pid"
	# The restore takes ck1's spec (its cgroup too): ck1 goes first, as with runc.
	stop_task ck1

	c c restore --live ck2 "$ref"
	run c task ls
	assert_line --regexp '^ck2 +[0-9]+ +RUNNING$'
	pid2=$(task_pid ck2)
	# The dumped file, already at least at the count before the dump.
	assert_equal "$(token "$pid2")" "$tok"
	(($(last "$pid2") >= n)) || fail "restored log is behind the dump: $(last "$pid2") < $n"
	wait_count "$pid2" $((n + 3))
	assert_gapless "$pid2"
	# The shim owns the restored init: its exit reaches ctr.
	stop_task ck2
	assert_gone ck1
	c image rm "$ref"
}

@test "shim-checkpoint: options.exit stops the dumped task; its delete leaves nothing" {
	local pid sock img=$BATS_TEST_TMPDIR/img
	crun -d localhost/hull-test:latest ck3 sh -c "$COUNTER"
	pid=$(task_pid ck3)
	wait_count "$pid" 3
	sock=$(shim_sock ck3)
	# containerd.runc.v1.CheckpointOptions{exit: true, file_locks: true}
	run shim_checkpoint "$sock" ck3 "$img" 08012801
	assert_line "code 0"
	[[ -f $img/inventory.img ]] || fail "no inventory.img in $img"
	for _ in $(seq 300); do c task ls | grep -q '^ck3 .*STOPPED' && break; sleep 0.1; done
	run c task ls
	assert_line --regexp '^ck3 +[0-9]+ +STOPPED$'
	[[ ! -d /proc/$pid ]] || fail "pid $pid still runs after a checkpoint with exit"
	# hull's container went with the dump (runc too).
	run "$RUNTIME" --root "$D/hullroot/$NS" state ck3
	assert_failure
	# No CRIU work directory is left in the bundle (the shim's own, removed).
	[[ ! -e $D/state/io.containerd.runtime.v2.task/$NS/ck3/criu-work ]]
	c task rm ck3
	c container rm ck3
	assert_gone ck3
}
