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
load leaks

teardown() { teardown_foreign; }

# kill_paused: SIGKILL the paused hull and reap it.
kill_paused() {
	kill -KILL "$HPID"
	wait "$HPID" 2>/dev/null || true
}

# The uid/gid mapping namespaces.bats uses.
userns_config() {
	update_config '.linux.namespaces += [{"type": "user"}] |
		.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
		.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
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
	hull_only "test pause points"
	id=$(new_id)
	long_args "$id"
	hull run -d --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
	pause_at delete-cgroup delete --force "$id"
	kill_paused
	# What a hull killed inside its rm -r can leave: no state.json.
	rm "$ROOT/$id/state.json"
	run hull delete --force "$id"
	assert_success
	wait_gone "$id"
	assert_clean "$id"
}

@test "leaks: update killed with the container locked, then delete --force" {
	hull_only "test pause points"
	killed_at update-locked run update --pids-limit 50 ID
}

# ---- delete --force, whatever state the init is in (leaks.bash) -------------

@test "leaks: delete --force of an init moved into another, frozen cgroup removes everything" {
	hull_only "runc's delete --force gives up too: container init still running"
	check_delete_frozen_init
}

@test "leaks: delete --force with a container process frozen in another cgroup removes everything" {
	hull_only "runc's delete --force gives up too: container init still running"
	check_delete_frozen_child
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

# ---- realtime budgets --------------------------------------------------------

@test "leaks: a parent's cpu.rt_runtime_us raised for containers is given back after the last delete" {
	hull_only "which parents hull raises"
	local top=/sys/fs/cgroup/cpu/leaks-rt-$$-$RANDOM
	[[ -f /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]] ||
		skip "no cpu.rt_runtime_us: the kernel lacks CONFIG_RT_GROUP_SCHED (the test host's Debian kernel too)"
	# A parent of the test's own with room, and under it a "hull" level with
	# a budget of its own that hull must raise and give back.
	mkdir "$top" "$top/hull"
	# hull makes the same two levels in every other hierarchy for the
	# containers' cgroupsPath, and (as runc) leaves parents it made
	local h
	for h in /sys/fs/cgroup/*/; do
		echo "$h${top##*/}"
		echo "$h${top##*/}/hull"
	done >>"$BATS_TEST_TMPDIR/foreign"
	echo 100000 >"$top/cpu.rt_runtime_us"
	echo 5000 >"$top/hull/cpu.rt_runtime_us"
	long_args x
	update_config '.linux.resources.cpu = {"realtimeRuntime": 10000, "realtimePeriod": 1000000}'
	a=$(new_id)
	b=$(new_id)
	update_config '.linux.cgroupsPath = $p' --arg p "/${top##*/}/hull/$a"
	hull run -d --bundle "$BUNDLE" "$a" </dev/null >/dev/null 2>&1 || fail "run $a failed"
	update_config '.linux.cgroupsPath = $p' --arg p "/${top##*/}/hull/$b"
	hull run -d --bundle "$BUNDLE" "$b" </dev/null >/dev/null 2>&1 || fail "run $b failed"
	assert_equal "$(cat "$top/hull/$a/cpu.rt_runtime_us")" 10000
	assert_equal "$(cat "$top/hull/cpu.rt_runtime_us")" 20000
	hull delete --force "$a"
	# b still needs its share.
	assert_equal "$(cat "$top/hull/cpu.rt_runtime_us")" 10000
	hull delete --force "$b"
	assert_equal "$(cat "$top/hull/cpu.rt_runtime_us")" 5000
	assert_equal "$(cat "$top/cpu.rt_runtime_us")" 100000
	[[ ! -d $top/hull/$a && ! -d $top/hull/$b ]] || fail "container cgroups left in $top/hull"
}
