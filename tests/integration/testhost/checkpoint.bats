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

teardown() {
	# a lazy dump and its daemon left by a failed test (see the lazy test)
	[[ -z ${CPT:-} ]] || kill -KILL -- "-$CPT" 2>/dev/null || true
	[[ -z ${LP:-} ]] || kill -KILL -- "-$LP" 2>/dev/null || true
	teardown_common
}

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

# containerd pauses a task around its checkpoint: runc dumps a paused
# container, and CRIU leaves the frozen cgroup frozen.
@test "a paused container is dumped (runc); with --leave-running it stays paused, then counts on" {
	local id n
	id=$(new_id)
	start_counter "$id"
	hull pause "$id"
	n=$(tail -n1 "/proc/$PID/root/tmp/log")
	run --separate-stderr hull checkpoint --leave-running --image-path "$IMG" "$id"
	assert_success
	[[ -f $IMG/inventory.img ]] || fail "no inventory.img in $IMG"
	run state_field "$id" status
	assert_output paused
	# frozen all along: not one count since the pause
	assert_equal "$(tail -n1 "/proc/$PID/root/tmp/log")" "$n"
	hull resume "$id"
	assert_counts_on "$PID" "$n"
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

# runc's iterative migration: pre-dumps copy the memory while the container
# runs on, each on top of the last (--parent-path), and the final dump writes
# only the pages dirtied since (CRIU's stats: pages_skipped_parent).
@test "pre-dumps then a dump on top of them (--parent-path) restores" {
	local id n skipped
	id=$(new_id)
	start_counter "$id"
	run --separate-stderr hull checkpoint --pre-dump --image-path "$BATS_TEST_TMPDIR/pre1" "$id"
	assert_success
	[[ -f $BATS_TEST_TMPDIR/pre1/inventory.img ]] || fail "no inventory.img in pre1"
	# memory only: the same process counts on
	run state_field "$id" status
	assert_output running
	assert_equal "$(state_field "$id" pid)" "$PID"
	assert_counts_on "$PID" "$(tail -n1 "/proc/$PID/root/tmp/log")"
	run --separate-stderr hull checkpoint --pre-dump --parent-path ../pre1 --image-path "$BATS_TEST_TMPDIR/pre2" "$id"
	assert_success
	assert_equal "$(readlink "$BATS_TEST_TMPDIR/pre2/parent")" ../pre1
	run --separate-stderr hull checkpoint --parent-path ../pre2 --image-path "$IMG" "$id"
	assert_success
	assert_equal "$(readlink "$IMG/parent")" ../pre2
	# CRIU's own count of the pages it took from the parent, not wrote again
	run crit show "$IMG/stats-dump"
	assert_success
	skipped=$(grep -o '"pages_skipped_parent": [0-9]*' <<<"$output" | grep -o '[0-9]*$')
	((${skipped:-0} > 0)) || fail "the dump took no page from its parent: $output"
	if runtime_is_runc; then
		run --separate-stderr hull restore -d --image-path "$IMG" --bundle "$BUNDLE" "$id"
	else
		# hull's restore checks the parent it is given (the shim passes
		# containerd's parent_checkpoint so)
		run --separate-stderr hull restore -d --parent-path ../pre2 --image-path "$IMG" --bundle "$BUNDLE" "$id"
	fi
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

# wait_ready FIFO: until the process writing FIFO writes its byte or closes it.
wait_ready() {
	dd if="$1" bs=1 count=1 2>/dev/null | od -An -tu1 | tr -d ' '
}

# lazy_pages_daemon PORT: runc's recipe, CRIU's lazy-pages daemon on the
# restore side, fetching from the dump's page server; its own process group
# (LP) for teardown.  A restore can only connect once it listens: it closes
# --status-fd then (written or not, the fd ends).
lazy_pages_daemon() {
	mkfifo "$BATS_TEST_TMPDIR/lp-ready"
	setsid criu lazy-pages --page-server --address 127.0.0.1 --port "$1" -D "$IMG" -o lazy-pages.log -v4 \
		--status-fd 5 5>"$BATS_TEST_TMPDIR/lp-ready" 3>&- &
	LP=$!
	wait_ready "$BATS_TEST_TMPDIR/lp-ready" >/dev/null
}

@test "--lazy-pages: the memory comes from the dump's page server, through a lazy-pages daemon" {
	local id new port=27277 ready out n npid
	id=$(new_id)
	new=$(new_id)
	criu check --feature uffd-noncoop || fail "the test host's kernel has no userfaultfd for criu"
	start_counter "$id"
	mkdir "$IMG"
	ready=$BATS_TEST_TMPDIR/ready
	mkfifo "$ready"
	# its own process group (CPT): a lazy dump holds the container's lock
	# until every page is taken, teardown must be able to end it
	setsid "$RUNTIME" --root "$ROOT" checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd 5 \
		--image-path "$IMG" "$id" 5>"$ready" 3>&- 2>"$BATS_TEST_TMPDIR/cpt.err" &
	CPT=$!
	# runc's contract: one '\0' once the pages can be served (EOF: never)
	out=$(wait_ready "$ready")
	assert_equal "$out" 0
	[[ -f $IMG/inventory.img ]] || fail "no inventory.img in $IMG"

	# a lazy restore with no daemon to ask for pages: one line, nothing left
	run --separate-stderr hull restore -d --lazy-pages --image-path "$IMG" --bundle "$BUNDLE" "$new"
	assert_one_line_error "criu restore: .*lazy-pages.socket"
	# (not assert_nothing_left: the dumped container still holds --root)
	[[ ! -e $ROOT/$new ]] || fail "state dir $ROOT/$new left behind"
	run hull state "$new"
	assert_failure

	lazy_pages_daemon "$port"
	run --separate-stderr hull restore -d --lazy-pages --image-path "$IMG" --bundle "$BUNDLE" "$new"
	assert_success
	npid=$(state_field "$new" pid)
	# the daemon takes every page, then the dump ends and the original goes
	wait "$LP" || fail "criu lazy-pages failed: $(tail -n3 "$IMG/lazy-pages.log")"
	LP=
	wait "$CPT" || fail "checkpoint failed: $(cat "$BATS_TEST_TMPDIR/cpt.err")"
	CPT=
	grep -q "UFFD transferred pages" "$IMG/lazy-pages.log" || fail "no page went through the daemon"
	run hull state "$id"
	assert_failure
	[[ ! -d /proc/$PID ]] || fail "pid $PID still runs after the lazy dump"
	# the counter (memory served lazily) went on from where it was dumped
	n=$(tail -n1 "/proc/$npid/root/tmp/log")
	((n > 3)) || fail "restored count $n: restarted"
	assert_counts_on "$npid" "$n"
}

@test "lazy-pages flags: bad values and combinations are one line" {
	local id
	id=$(new_id)
	run --separate-stderr hull checkpoint --status-fd 1 "$id"
	assert_one_line_error "--status-fd: only with --lazy-pages"
	run --separate-stderr hull checkpoint --lazy-pages --pre-dump "$id"
	assert_one_line_error "--lazy-pages: not with --pre-dump"
	run --separate-stderr hull checkpoint --lazy-pages --status-fd 0 "$id" </dev/null
	assert_one_line_error "--status-fd 0: not open for writing"
	run --separate-stderr hull checkpoint --lazy-pages --status-fd 97 "$id"
	assert_one_line_error "--status-fd 97: Bad file descriptor"
	run --separate-stderr hull checkpoint --lazy-pages --page-server 127.0.0.1 "$id"
	assert_one_line_error "--page-server: invalid value \"127.0.0.1\""
	run --separate-stderr hull checkpoint --lazy-pages --page-server ::1:80 "$id"
	assert_one_line_error "--page-server: invalid value"
	run --separate-stderr hull checkpoint --lazy-pages --page-server 127.0.0.1:0 "$id"
	assert_one_line_error "--page-server: invalid value"
	# a valid one reaches the container lookup
	run --separate-stderr hull checkpoint --lazy-pages --page-server "[::1]:27277" "$id"
	assert_one_line_error "container \"$id\" does not exist"
	run --separate-stderr hull restore --page-server 127.0.0.1:1 "$id"
	assert_failure
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

@test "restore of a bundle that asks for VM isolation is refused: one line, nothing left" {
	hull_only "--isolation is hull's"
	local id
	id=$(new_id)
	mkdir "$IMG"
	touch "$IMG/inventory.img"
	run --separate-stderr hull --isolation vm restore -d --image-path "$IMG" --bundle "$BUNDLE" "$id"
	assert_one_line_error "bundle .*: VM-isolated; CRIU restores only isolation=container"
	assert_nothing_left "$id"
}
