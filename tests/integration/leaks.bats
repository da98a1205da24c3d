#!/usr/bin/env bats
# Nothing leaks when hull or the container dies at any point (issue 16.4):
# a hull killed with SIGKILL at each phase of create, start, exec, delete and
# update, then `delete --force`, leaves no process, state dir, mount or cgroup
# directory in any hierarchy; `delete --force` succeeds whatever state the
# init is in (frozen in a cgroup it was moved to included).
#
# The phases are hull's test pause points: HULL_TEST_PAUSE=<phase> makes hull
# stop itself (SIGSTOP) there; see docs/testing.md.

load helpers

# kill_paused: SIGKILL the paused hull and reap it; wait (bounded) until no
# process carrying the container's id is left that hull's death should take
# along (PR_SET_PDEATHSIG, EOF on the sync socket).
kill_paused() {
	kill -KILL "$HPID"
	wait "$HPID" 2>/dev/null || true
}

# wait_gone ID: until no process's command line holds ID (10 s).
wait_gone() {
	local i
	for ((i = 0; i < 200; i++)); do
		pgrep -f -- "$1" >/dev/null || return 0
		sleep 0.05
	done
	fail "processes left after hull was killed: $(pgrep -af -- "$1")"
}

# assert_clean ID: nothing of ID anywhere (state dir, process, mount, cgroup).
assert_clean() {
	assert_nothing_left "$1"
	assert_no_cgroup "$1"
}

# The uid/gid mapping namespaces.bats uses.
userns_config() {
	update_config '.linux.namespaces += [{"type": "user"}] |
		.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
		.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
}

# The container runs a shell that outlives its first command, so its id stays
# in a command line (pgrep) while it runs.
long_args() {
	set_args /bin/sh -c "sleep 1000; echo $1"
}

# create_killed_at PHASE: create killed at PHASE, then delete --force.
create_killed_at() {
	local id
	id=$(new_id)
	long_args "$id"
	pause_at "$1" create --bundle "$BUNDLE" "$id"
	kill_paused
	run hull delete --force "$id"
	assert_success
	wait_gone "$id"
	assert_clean "$id"
}

@test "leaks: create killed before its state dir exists leaves nothing, without delete" {
	hull_only "test pause points"
	for phase in create-stage create-booted; do
		id=$(new_id)
		long_args "$id"
		pause_at "$phase" create --bundle "$BUNDLE" "$id"
		kill_paused
		# The stage dies with hull (PR_SET_PDEATHSIG).
		wait_gone "$id"
		assert_clean "$id"
	done
}

@test "leaks: create killed with a state dir but no state, then delete --force" {
	hull_only "test pause points"
	create_killed_at create-statedir
}

@test "leaks: create killed after making the cgroup, then delete --force" {
	hull_only "test pause points"
	create_killed_at create-cgroup
}

@test "leaks: create killed on the init's pid before saving it, then delete --force" {
	hull_only "test pause points"
	create_killed_at create-pid
}

@test "leaks: create killed after saving the state, then delete --force" {
	hull_only "test pause points"
	create_killed_at create-saved
}

@test "leaks: create killed with the init ready, then delete --force" {
	hull_only "test pause points"
	create_killed_at create-ready
}

@test "leaks: create with a user namespace killed at each phase, then delete --force" {
	hull_only "test pause points"
	userns_config
	for phase in create-statedir create-cgroup create-pid create-saved create-ready; do
		create_killed_at "$phase"
	done
}

@test "leaks: foreground run killed with the init ready, then delete --force" {
	hull_only "test pause points"
	id=$(new_id)
	long_args "$id"
	pause_at create-ready run --bundle "$BUNDLE" "$id"
	kill_paused
	run hull delete --force "$id"
	assert_success
	wait_gone "$id"
	assert_clean "$id"
}

# killed_at PHASE PREP CMD...: a container made with `PREP` (create or run
# -d), then `hull CMD` (where the word ID stands for its id) killed at PHASE,
# then delete --force.
killed_at() {
	local phase=$1 prep=$2 id a args=()
	shift 2
	id=$(new_id)
	long_args "$id"
	if [[ $prep == run ]]; then
		hull run -d --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
	else
		hull create --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
	fi
	for a in "$@"; do args+=("${a//ID/$id}"); done
	pause_at "$phase" "${args[@]}"
	kill_paused
	run hull delete --force "$id"
	assert_success
	wait_gone "$id"
	assert_clean "$id"
}

@test "leaks: start killed before and after releasing the init, then delete --force" {
	hull_only "test pause points"
	killed_at start-opened create start ID
	killed_at start-released create start ID
}

@test "leaks: exec killed after forking and after starting, then delete --force" {
	hull_only "test pause points"
	killed_at exec-forked run exec ID /bin/sh -c "sleep 1000; echo ID"
	killed_at exec-started run exec ID /bin/sh -c "sleep 1000; echo ID"
}

@test "leaks: delete killed after the kill and after the cgroup, then delete --force" {
	hull_only "test pause points"
	killed_at delete-killed run delete --force ID
	killed_at delete-cgroup run delete --force ID
}

@test "leaks: a delete killed while removing the state dir is finished by delete --force" {
	hull_only "state dir layout"
	id=$(new_id)
	long_args "$id"
	hull run -d --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
	hull kill "$id" KILL
	wait_for_status "$id" stopped
	# What rm -r leaves when killed after the first file: no state.json.
	rm "$ROOT/$id/state.json"
	run hull delete --force "$id"
	assert_success
	wait_gone "$id"
	[[ ! -e $ROOT/$id ]] || fail "state dir left: $(ls -la "$ROOT/$id")"
}

@test "leaks: update killed with the container locked, then delete --force" {
	hull_only "test pause points"
	killed_at update-locked run update --pids-limit 50 ID
}

# ---- delete --force, whatever state the init is in --------------------------

# foreign_freezer NAME: a v1 freezer cgroup of this test's own (removed in
# teardown), or a cgroup2 one on a pure v2 host; its path in FOREIGN.
foreign_freezer() {
	if [[ -d /sys/fs/cgroup/freezer ]]; then
		FOREIGN=/sys/fs/cgroup/freezer/$1
		FOREIGN_V1=1
	else
		FOREIGN=/sys/fs/cgroup/$1
		FOREIGN_V1=0
	fi
	mkdir "$FOREIGN"
	echo "$FOREIGN" >>"$BATS_TEST_TMPDIR/foreign"
}

freeze_foreign() {
	if ((FOREIGN_V1)); then
		echo FROZEN >"$FOREIGN/freezer.state"
		for _ in $(seq 100); do
			[[ $(cat "$FOREIGN/freezer.state") == FROZEN ]] && return 0
			sleep 0.05
		done
		fail "$FOREIGN never froze"
	else
		echo 1 >"$FOREIGN/cgroup.freeze"
	fi
}

teardown() {
	local d
	if [[ -f $BATS_TEST_TMPDIR/foreign ]]; then
		while read -r d; do
			[[ -d $d ]] || continue
			if [[ -f $d/freezer.state ]]; then echo THAWED >"$d/freezer.state"; else echo 0 >"$d/cgroup.freeze"; fi
		done <"$BATS_TEST_TMPDIR/foreign"
	fi
	teardown_common
	if [[ -f $BATS_TEST_TMPDIR/foreign ]]; then
		while read -r d; do
			[[ -d $d ]] && rmdir "$d" 2>/dev/null
		done <"$BATS_TEST_TMPDIR/foreign"
	fi
	true
}

@test "leaks: delete --force of an init moved into another, frozen cgroup removes everything" {
	hull_only "runc's delete --force gives up too: container init still running"
	id=$(new_id)
	long_args "$id"
	hull run -d --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
	pid=$(state_field "$id" pid)
	foreign_freezer "$id-foreign"
	echo "$pid" >"$FOREIGN/cgroup.procs"
	freeze_foreign
	run hull delete --force "$id"
	assert_success
	wait_gone "$id"
	assert_clean "$id"
	# The other cgroup stays as the test made it, and is empty.
	[[ -d $FOREIGN ]] || fail "$FOREIGN was removed"
	[[ -z $(cat "$FOREIGN/cgroup.procs") ]] || fail "processes left in $FOREIGN: $(cat "$FOREIGN/cgroup.procs")"
}

@test "leaks: delete --force with a container process frozen in another cgroup removes everything" {
	hull_only "runc's delete --force gives up too: container init still running"
	id=$(new_id)
	set_args /bin/sh -c "sleep 1000 & sleep 1000; echo $id"
	hull run -d --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
	pid=$(state_field "$id" pid)
	child=
	for _ in $(seq 100); do
		child=$(pgrep -P "$pid" sleep | head -n1) && [[ -n $child ]] && break
		sleep 0.05
	done
	[[ -n $child ]] || fail "no child of the init $pid"
	foreign_freezer "$id-foreign"
	echo "$child" >"$FOREIGN/cgroup.procs"
	freeze_foreign
	run hull delete --force "$id"
	assert_success
	wait_gone "$id"
	run kill -0 "$child"
	assert_failure
	assert_clean "$id"
}

@test "leaks: delete --force of a paused container removes everything" {
	id=$(new_id)
	long_args "$id"
	hull run -d --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
	hull pause "$id"
	run hull delete --force "$id"
	assert_success
	wait_gone "$id"
	assert_clean "$id"
}
