# SPDX-License-Identifier: Apache-2.0
# delete --force, whatever state the init is in: shared by leaks.bats (v1
# freezer on the machine) and testhost/leaks.bats (cgroup2 cgroup.freeze).
# Needs helpers.bash loaded first.

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

# The container runs a shell that outlives its first command, so its id stays
# in a command line (pgrep) while it runs.
long_args() {
	set_args /bin/sh -c "sleep 1000; echo $1"
}

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
		for _ in $(seq 100); do
			grep -qx 'frozen 1' "$FOREIGN/cgroup.events" && return 0
			sleep 0.05
		done
		fail "$FOREIGN never froze"
	fi
}

# Thaw and remove (innermost first) the cgroups a test listed in
# $BATS_TEST_TMPDIR/foreign (foreign_freezer's); then teardown_common.
teardown_foreign() {
	local d
	if [[ -f $BATS_TEST_TMPDIR/foreign ]]; then
		while read -r d; do
			[[ -d $d ]] || continue
			if [[ -f $d/freezer.state ]]; then
				echo THAWED >"$d/freezer.state"
			elif [[ -f $d/cgroup.freeze ]]; then
				echo 0 >"$d/cgroup.freeze"
			fi
		done <"$BATS_TEST_TMPDIR/foreign"
	fi
	teardown_common
	if [[ -f $BATS_TEST_TMPDIR/foreign ]]; then
		while read -r d; do
			[[ -d $d ]] && rmdir "$d" 2>/dev/null
		done < <(tac "$BATS_TEST_TMPDIR/foreign")
	fi
	true
}

# An init moved into another, frozen cgroup: delete --force removes
# everything, and leaves the other cgroup as it was, empty.
check_delete_frozen_init() {
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

# A process of the container (not the init) frozen in another cgroup: the
# dying init waits for it, delete --force must free it.
check_delete_frozen_child() {
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
