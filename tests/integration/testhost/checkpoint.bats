#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# checkpoint / restore through CRIU (runs inside the test host: Debian's CRIU
# 3.17 cannot parse the development machine's kernel's vDSO; the test host's
# 6.1 works).  tests/testhost/run-suite tests/integration/testhost/checkpoint.bats
#
# The container counts in a shell variable and appends each value to a file it
# holds open on its /tmp tmpfs: after a restore the file holds 1..N without a
# gap or a restart, so the process's memory (the counter), its open file (fd 3
# at its offset) and the tmpfs all came back.  The VM runs under TCG (~10x
# slower): generous waits, few containers.

load ../helpers

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
}

setup() {
	setup_common
	IMG=$BATS_TEST_TMPDIR/img
}

teardown() { teardown_common; }

COUNTER='exec </dev/null >/dev/null 2>&1; i=0; exec 3>>/tmp/log
while :; do i=$((i + 1)); echo $i >&3; sleep 0.2; done'

# start_counter ID: a detached container running COUNTER; sets PID.
start_counter() {
	start_detached "$1" sh -c "$COUNTER" || fail "run -d failed: $(ctr_output "$1")"
	PID=$(state_field "$1" pid)
	wait_for_count "$PID" 3
}

# wait_for_count PID N: until the container's /tmp/log reaches N.
wait_for_count() {
	local i last
	for ((i = 0; i < 600; i++)); do
		last=$(tail -n1 "/proc/$1/root/tmp/log" 2>/dev/null || true)
		[[ $last =~ ^[0-9]+$ ]] && ((last >= $2)) && return 0
		sleep 0.1
	done
	fail "pid $1 never counted to $2 (last: ${last:-none})"
}

# assert_counts_on PID FROM: the log holds exactly 1..N with N > FROM + 2.
assert_counts_on() {
	local log
	wait_for_count "$1" $(($2 + 3))
	# one read: the process appends while we look
	log=$(cat "/proc/$1/root/tmp/log")
	assert_equal "$log" "$(seq 1 "${log##*$'\n'}")"
	# the same open file, not one opened anew
	assert_equal "$(readlink "/proc/$1/fd/3")" /tmp/log
}

@test "memory and an open file survive checkpoint and restore" {
	local id n
	id=$(new_id)
	start_counter "$id"
	run --separate-stderr hull checkpoint --image-path "$IMG" "$id"
	assert_success
	# runc: without --leave-running the container is gone
	run hull state "$id"
	assert_failure
	[[ ! -d /proc/$PID ]] || fail "pid $PID still runs after checkpoint"
	[[ -f $IMG/inventory.img ]] || fail "no inventory.img in $IMG"

	run --separate-stderr hull restore -d --image-path "$IMG" --bundle "$BUNDLE" "$id"
	assert_success
	run state_field "$id" status
	assert_output running
	PID=$(state_field "$id" pid)
	n=$(tail -n1 "/proc/$PID/root/tmp/log")
	assert_counts_on "$PID" "$n"
}

@test "--leave-running keeps the original; a restore into a new id runs beside it" {
	local id new before npid
	id=$(new_id)
	new=$(new_id)
	start_counter "$id"
	run --separate-stderr hull checkpoint --leave-running --image-path "$IMG" "$id"
	assert_success
	run state_field "$id" status
	assert_output running
	assert_equal "$(state_field "$id" pid)" "$PID"
	before=$(tail -n1 "/proc/$PID/root/tmp/log")
	wait_for_count "$PID" $((before + 3))

	run --separate-stderr hull restore -d --image-path "$IMG" --bundle "$BUNDLE" "$new"
	assert_success
	npid=$(state_field "$new" pid)
	[[ $npid != "$PID" ]] || fail "the new container has the old pid"
	assert_counts_on "$npid" 1
	# its own cgroup, named after the new id
	[[ $(cat "/proc/$npid/cgroup") == *"/$new" ]] || fail "cgroup of $npid: $(cat "/proc/$npid/cgroup")"
}

@test "a restored container has the lifecycle of any other: state, exec, kill, delete" {
	local id cg
	id=$(new_id)
	start_counter "$id"
	run --separate-stderr hull checkpoint --image-path "$IMG" "$id"
	assert_success
	run --separate-stderr hull restore -d --pid-file "$BATS_TEST_TMPDIR/pid" --image-path "$IMG" \
		--bundle "$BUNDLE" "$id"
	assert_success
	PID=$(state_field "$id" pid)
	assert_equal "$(cat "$BATS_TEST_TMPDIR/pid")" "$PID"
	assert_equal "$(state_field "$id" bundle)" "$BUNDLE"
	cg=$(cgroup_dir "$PID" unified)
	[[ -d $cg ]] || fail "no cgroup $cg"
	run hull exec "$id" cat /tmp/log
	assert_success
	assert_line --index 0 1
	run hull delete "$id"
	assert_failure
	run hull kill "$id" KILL
	assert_success
	wait_for_status "$id" stopped 30
	run hull delete "$id"
	assert_success
	[[ ! -d $cg ]] || fail "cgroup $cg left behind"
	assert_nothing_left "$id"
}

@test "a foreground restore waits and returns the container's exit status" {
	local id
	id=$(new_id)
	start_detached "$id" sh -c 'exec </dev/null >/dev/null 2>&1; i=0; exec 3>>/tmp/log
		while [ $i -lt 40 ]; do i=$((i + 1)); echo $i >&3; sleep 0.2; done; exit 7'
	PID=$(state_field "$id" pid)
	wait_for_count "$PID" 3
	run --separate-stderr hull checkpoint --image-path "$IMG" "$id"
	assert_success
	run_nopipe hull restore --image-path "$IMG" --bundle "$BUNDLE" "$id"
	assert_equal "$status" 7
	assert_nothing_left "$id"
}

@test "pre-dump then a dump on top of it (--parent-path) restores" {
	local id n
	id=$(new_id)
	start_counter "$id"
	run --separate-stderr hull checkpoint --pre-dump --image-path "$BATS_TEST_TMPDIR/pre" "$id"
	assert_success
	run state_field "$id" status
	assert_output running
	run --separate-stderr hull checkpoint --parent-path ../pre --image-path "$IMG" "$id"
	assert_success
	[[ -L $IMG/parent ]] || fail "no parent link in $IMG"
	run --separate-stderr hull restore -d --image-path "$IMG" --bundle "$BUNDLE" "$id"
	assert_success
	PID=$(state_field "$id" pid)
	n=$(tail -n1 "/proc/$PID/root/tmp/log")
	assert_counts_on "$PID" "$n"
}

# pipe_from OUT CMD...: CMD with stdin an empty pipe and stdout+stderr a pipe
# that a background cat copies to OUT (no bats fd stays open in either).
pipe_from() {
	local out=$1
	shift
	{ : | "$@" 2>&1 | cat >"$out"; } 3>&- &
}

@test "stdio pipes of the dumped init are reconnected to restore's own (descriptors.json)" {
	local id first last
	id=$(new_id)
	set_args sh -c 'i=0; while :; do i=$((i + 1)); echo $i; sleep 0.2; done'
	pipe_from "$BATS_TEST_TMPDIR/out1" hull run -d --bundle "$BUNDLE" "$id"
	wait_for_match "$BATS_TEST_TMPDIR/out1" '^3$' 60
	run --separate-stderr hull checkpoint --image-path "$IMG" "$id"
	assert_success
	grep -q '"pipe:\[' "$IMG/descriptors.json" || fail "no pipe in $(cat "$IMG/descriptors.json")"
	last=$(tail -n1 "$BATS_TEST_TMPDIR/out1")
	pipe_from "$BATS_TEST_TMPDIR/out2" hull restore -d --image-path "$IMG" --bundle "$BUNDLE" "$id"
	wait_for_match "$BATS_TEST_TMPDIR/out2" "^$((last + 3))\$" 60
	# the counter went on in the new pipe: no restart from 1
	first=$(head -n1 "$BATS_TEST_TMPDIR/out2")
	((first > 1 && first <= last + 1)) || fail "first line after restore: $first (last before: $last)"
}

@test "a dump CRIU refuses is one line and leaves the container running" {
	local id
	id=$(new_id)
	# stdout stays a file of the host's /tmp, outside the container's mount
	# namespace: CRIU cannot dump it (runc's tests use pipes for this reason)
	start_detached "$id" sh -c 'i=0; while :; do i=$((i + 1)); echo $i; sleep 0.2; done' ||
		fail "run -d failed: $(ctr_output "$id")"
	PID=$(state_field "$id" pid)
	wait_for_output "$id" 3 60
	run --separate-stderr hull checkpoint --image-path "$IMG" "$id"
	assert_one_line_error "criu dump: .* \\(see $IMG/dump.log\\)"
	run state_field "$id" status
	assert_output running
	assert_equal "$(state_field "$id" pid)" "$PID"
	wait_for_output "$id" $(($(ctr_output "$id" | tail -n1) + 3)) 60
}

@test "bad input: one line, nothing left" {
	local id
	id=$(new_id)
	run --separate-stderr hull checkpoint --image-path "$IMG" "$id"
	assert_one_line_error "container \"$id\" does not exist"
	[[ ! -e $IMG ]] || fail "checkpoint of an unknown id made $IMG"

	run --separate-stderr hull restore -d --image-path "$BATS_TEST_TMPDIR/none" --bundle "$BUNDLE" "$id"
	assert_one_line_error "--image-path .*/none: No such file or directory"
	assert_nothing_left "$id"

	mkdir "$IMG"
	run --separate-stderr hull restore -d --image-path "$IMG" --bundle "$BUNDLE" "$id"
	assert_one_line_error "not a CRIU checkpoint"
	assert_nothing_left "$id"

	run --separate-stderr hull checkpoint --manage-cgroups-mode bogus "$id"
	assert_one_line_error "--manage-cgroups-mode: invalid value"
}
