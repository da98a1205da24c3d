#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Containers' cgroups through the CLI on this machine's HYBRID hierarchy:
# linux.resources land in the v1 controllers' files and take effect, pause,
# update, ps, kill --all, events --stats, delete, and bad input leaving
# nothing behind.  Pure cgroup v2 is covered by testhost/cgroups-cli.bats.
#
# Cgroup files are found from the container's pid (/proc/PID/cgroup), so the
# same assertions hold for hull ("hull/<id>" under its own cgroup) and runc
# ("<id>"): HULL=/usr/sbin/runc bats tests/integration/cgroups.bats

load helpers

setup_file() {
	cgroup_top_listing >"$BATS_FILE_TMPDIR/cgroups.before"
}

teardown_file() {
	# Nothing outside the runtimes' own cgroups appeared or went away.  Other
	# suites running at the same time (podman.bats' libpod_parent) add
	# directories for a while: wait up to 10 s for the listings to agree.
	local i
	for ((i = 0; i < 20; i++)); do
		cgroup_top_listing >"$BATS_FILE_TMPDIR/cgroups.after"
		cmp -s "$BATS_FILE_TMPDIR/cgroups.before" "$BATS_FILE_TMPDIR/cgroups.after" && return 0
		sleep 0.5
	done
	diff -u "$BATS_FILE_TMPDIR/cgroups.before" "$BATS_FILE_TMPDIR/cgroups.after" | sed 's/^/# /' >&3
	echo "# cgroup directories outside hull's changed (diff above)" >&3
	return 1
}

# cg_file CONTROLLER FILE: content of FILE in the container's cgroup.
cg_file() {
	local d
	d=$(cgroup_dir "$PID" "$1") || fail "pid $PID has no $1 cgroup"
	cat "$d/$2"
}

@test "pids.limit lands in pids.max and forking past it fails inside" {
	start_with_resources '{"pids": {"limit": 5}}' \
		/bin/sh -c "$HELPER fork-bomb 10; exec $HELPER sleep 60"
	run cg_file pids pids.max
	assert_output 5
	wait_for_output "$CID" '[0-9]*'
	# sh and the helper count: 5 tasks allowed, so 3 children
	run ctr_output "$CID"
	assert_output 3
}

@test "memory.limit lands in memory.limit_in_bytes; going past it is OOM-killed; events --stats shows the limit" {
	start_with_resources '{"memory": {"limit": 33554432}}' \
		/bin/sh -c "$HELPER alloc 64; echo rc=\$?; exec $HELPER sleep 60"
	run cg_file memory memory.limit_in_bytes
	assert_output 33554432
	wait_for_output "$CID" 'rc=.*' 30
	run ctr_output "$CID"
	assert_line rc=137
	run hull events --stats "$CID"
	assert_success
	assert_equal "$(jq -r .type <<<"$output")" stats
	assert_equal "$(jq -r .id <<<"$output")" "$CID"
	assert_equal "$(jq -r .data.memory.usage.limit <<<"$output")" 33554432
	[[ $(jq -r .data.memory.usage.failcnt <<<"$output") -gt 0 ]] || fail "failcnt is 0 after an OOM: $output"
}

@test "events streams an oom event (v1 memory.oom_control eventfd) and ends when the container is gone" {
	start_with_resources '{"memory": {"limit": 33554432}}' "$HELPER" sleep 60
	local ev=$BATS_TEST_TMPDIR/events i
	start_events "$CID" "$ev"
	run hull exec "$CID" "$HELPER" alloc 64 </dev/null
	assert_equal "$status" 137
	wait_for_match "$ev" '"type": *"oom"' || true
	run grep '"type": *"oom"' "$ev"
	assert_success
	# one OOM kill, one event
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r .id <<<"${lines[0]}")" "$CID"
	hull delete --force "$CID"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$EVPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$EVPID" 2>/dev/null; then
		kill "$EVPID"
		fail "events still running 10 s after the container was deleted"
	fi
}

@test "events: with disableOOMKiller one oom event tells the container waits under OOM; nothing is killed" {
	start_with_resources '{"memory": {"limit": 33554432, "disableOOMKiller": true}}' "$HELPER" sleep 60
	local ev=$BATS_TEST_TMPDIR/events xpid
	run cg_file memory memory.oom_control
	assert_line "oom_kill_disable 1"
	start_events "$CID" "$ev"
	hull exec "$CID" "$HELPER" alloc 64 </dev/null >/dev/null 2>&1 &
	xpid=$!
	wait_for_match "$ev" '"type": *"oom"' || fail "no oom event: $(cat "$ev")"
	run cg_file memory memory.oom_control
	assert_line "under_oom 1"
	assert_line "oom_kill 0"
	# the stall is one event, not one per retry of the allocation
	sleep 3
	run grep -c '"type": *"oom"' "$ev"
	assert_output 1
	kill -0 "$xpid" || fail "the exec ended while its container waits under OOM"
	hull delete --force "$CID"
	wait "$xpid" || true
}

@test "cpu shares, quota and period land in the cpu controller" {
	start_with_resources '{"cpu": {"shares": 512, "quota": 50000, "period": 100000}}' "$HELPER" sleep 60
	run cg_file cpu cpu.shares
	assert_output 512
	run cg_file cpu cpu.cfs_quota_us
	assert_output 50000
	run cg_file cpu cpu.cfs_period_us
	assert_output 100000
}

@test "every hierarchy has the container's cgroup and delete removes it from all of them" {
	start_with_resources '{"pids": {"limit": 50}}' "$HELPER" sleep 60
	local ctrl d dirs=()
	for ctrl in pids memory cpu freezer devices; do
		d=$(cgroup_dir "$PID" "$ctrl") || fail "no $ctrl cgroup for pid $PID"
		[[ -d $d && $d == */"$CID" ]] || fail "$ctrl cgroup $d is not the container's own"
		dirs+=("$d")
	done
	hull kill "$CID" KILL
	wait_for_status "$CID" stopped
	run hull delete "$CID"
	assert_success
	for d in "${dirs[@]}"; do
		[[ ! -e $d ]] || fail "$d left after delete"
	done
	assert_no_cgroup "$CID"
	assert_nothing_left "$CID"
}

@test "the default cgroup is hull/<id> under hull's own cgroup in each v1 hierarchy" {
	hull_only 'default cgroupsPath'
	start_with_resources '{}' "$HELPER" sleep 60
	local own
	own=$(awk -F: '$2 == "pids" { print $3 }' /proc/self/cgroup)
	run cgroup_dir "$PID" pids
	assert_output "/sys/fs/cgroup/pids${own%/}/hull/$CID"
	own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
	run cgroup_dir "$PID" memory
	assert_output "/sys/fs/cgroup/memory${own%/}/hull/$CID"
}

@test "pause freezes the container: status paused and a counter stops until resume" {
	start_with_resources '{}' "$HELPER" count
	wait_for_output "$CID" 3
	run hull pause "$CID"
	assert_success
	run state_field "$CID" status
	assert_output paused
	run cg_file freezer freezer.state
	assert_output FROZEN
	assert_paused_counter_resumes "$CID" 1
}

@test "update --pids-limit and --memory change the limits of a running container" {
	start_with_resources '{"pids": {"limit": 20}, "memory": {"limit": 33554432}}' "$HELPER" sleep 60
	run hull update --pids-limit 7 --memory 64m "$CID"
	assert_success
	run cg_file pids pids.max
	assert_output 7
	run cg_file memory memory.limit_in_bytes
	assert_output 67108864
}

@test "update takes its flags after the container id, as runc's parser does" {
	start_with_resources '{"pids": {"limit": 20}, "memory": {"limit": 33554432}}' "$HELPER" sleep 60
	run hull update "$CID" --pids-limit 7 --memory=64m
	assert_success
	run cg_file pids pids.max
	assert_output 7
	run cg_file memory memory.limit_in_bytes
	assert_output 67108864
	# a word that is not one of update's flags stays an operand: refused
	run --separate-stderr hull update "$CID" --no-such-flag 1
	assert_failure
	run cg_file pids pids.max
	assert_output 7
}

@test "update --resources - takes the limits as JSON on stdin" {
	start_with_resources '{"pids": {"limit": 20}}' "$HELPER" sleep 60
	run hull update --resources - "$CID" <<<'{"pids": {"limit": 9}, "cpu": {"shares": 256}}'
	assert_success
	run cg_file pids pids.max
	assert_output 9
	run cg_file cpu cpu.shares
	assert_output 256
}

# exec_detached ARG...: `exec -d` ARGS in $CID; prints the new process's pid,
# the one in the container's pids cgroup besides $PID.
exec_detached() {
	local procs i p
	procs=$(cgroup_dir "$PID" pids)/cgroup.procs
	hull exec -d "$CID" "$@" </dev/null >"$BATS_TEST_TMPDIR/exec.out" 2>&1 ||
		{ echo "exec -d failed: $(cat "$BATS_TEST_TMPDIR/exec.out")"; return 1; }
	for ((i = 0; i < 200; i++)); do
		p=$(grep -vx "$PID" "$procs" | head -n1)
		[[ -n $p ]] && { echo "$p"; return 0; }
		sleep 0.05
	done
	echo "no exec'd process in $procs: $(cat "$procs")"
	return 1
}

@test "ps lists processes started with exec" {
	start_with_resources '{}' "$HELPER" sleep 60
	local expid
	expid=$(exec_detached "$HELPER" sleep 77) || fail "$expid"
	[[ $(cat "/proc/$expid/cmdline" | tr '\0' ' ') == "$HELPER sleep 77 " ]] || fail "pid $expid is not the exec'd process"
	run hull ps --format json "$CID"
	assert_success
	assert_equal "$(jq -c 'sort' <<<"$output")" "$(jq -nc --argjson a "$PID" --argjson b "$expid" '[$a, $b] | sort')"
	run cgroup_dir "$expid" pids
	assert_output "$(cgroup_dir "$PID" pids)"
}

@test "kill --all kills exec'd processes too" {
	start_with_resources '{}' "$HELPER" sleep 60
	local expid i
	expid=$(exec_detached "$HELPER" sleep 78) || fail "$expid"
	local procs
	procs=$(cgroup_dir "$PID" pids)/cgroup.procs
	[[ $(wc -l <"$procs") -eq 2 ]] || fail "expected 2 processes in $procs: $(cat "$procs")"
	run hull kill --all "$CID" KILL
	assert_success
	wait_for_status "$CID" stopped
	for ((i = 0; i < 100; i++)); do
		[[ ! -s $procs ]] && break
		sleep 0.05
	done
	[[ ! -s $procs ]] || fail "processes left in the cgroup: $(cat "$procs")"
	[[ ! -e /proc/$expid ]] || fail "exec'd process $expid survived kill --all"
}

@test "exec --cgroup SUB puts the process in the container's sub-cgroup SUB of every hierarchy" {
	start_with_resources '{"pids": {"limit": 50}}' "$HELPER" sleep 60
	make_sub_cgroups sub
	run exec_cgroup_lines --cgroup sub
	assert_success
	assert_output "$(expected_cgroups sub all)"
	# a leading / is still relative to the container's cgroup (runc joins it)
	run exec_cgroup_lines --cgroup /sub
	assert_success
	assert_output "$(expected_cgroups sub all)"
}

@test "exec --cgroup CTRL,CTRL:SUB moves only those controllers' hierarchies" {
	[[ $(stat -fc %T /sys/fs/cgroup) != cgroup2fs ]] || skip "controller:path is for cgroup v1 hierarchies"
	start_with_resources '{"pids": {"limit": 50}}' "$HELPER" sleep 60
	make_sub_cgroups sub
	run exec_cgroup_lines --cgroup pids,memory:sub
	assert_success
	assert_output "$(expected_cgroups sub pids memory)"
	run exec_cgroup_lines --cgroup pids:sub --cgroup freezer:sub
	assert_success
	assert_output "$(expected_cgroups sub pids freezer)"
}

@test "exec --cgroup refuses a path outside the container's cgroup, a missing one and an unknown controller" {
	start_with_resources '{"pids": {"limit": 50}}' "$HELPER" sleep 60
	make_sub_cgroups sub
	local procs
	procs=$(cgroup_dir "$PID" pids)/cgroup.procs
	for bad in ../sub sub/../.. nosuch nosuch:sub "sub --cgroup pids:sub"; do
		# shellcheck disable=SC2086 # the last one is two flags
		run --separate-stderr hull exec --cgroup $bad "$CID" "$HELPER" exit 0
		assert_exec_error 'cgroup'
	done
	assert_equal "$(cat "$procs")" "$PID"
	assert_equal "$(cat "$(cgroup_dir "$PID" pids)/sub/cgroup.procs")" "" # nor in the sub-cgroup
}

@test "--cgroup-manager=disabled puts the container in no cgroup of its own" {
	hull_only '--cgroup-manager'
	update_config '.linux.resources = {"pids": {"limit": 5}}'
	CID=$(new_id)
	set_args "$HELPER" sleep 60
	"$RUNTIME" --cgroup-manager=disabled --root "$ROOT" run -d --bundle "$BUNDLE" "$CID" \
		>"$BATS_TEST_TMPDIR/$CID.out" 2>&1 </dev/null || fail "run failed: $(ctr_output "$CID")"
	PID=$(state_field "$CID" pid)
	run cat "/proc/$PID/cgroup"
	assert_output "$(cat /proc/self/cgroup)"
	assert_no_cgroup "$CID"
	run --separate-stderr hull pause "$CID"
	assert_one_line_error 'no cgroup'
}

# ---- devices ------------------------------------------------------------------
# The node is the host's /dev/loop-control (10:237: not in the default list),
# bind-mounted so that it is not a linux.devices entry (hull allows those in
# the controller); opening it neither blocks nor needs a capability.

@test "devices: a node not in the allow list cannot be opened, the default devices still can" {
	[[ -c /dev/loop-control ]] || skip "no /dev/loop-control on this machine"
	device_probe /dev/loop-control '[{"allow": false, "access": "rwm"}]'
	assert_success
	assert_line --partial 'Operation not permitted'
	refute_line OPENED
	assert_line NULL-OK
}

@test "devices: an allow rule for the node lets it open (the probe can tell)" {
	[[ -c /dev/loop-control ]] || skip "no /dev/loop-control on this machine"
	device_probe /dev/loop-control '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 237, "access": "rw"}]'
	assert_success
	assert_line OPENED
	assert_line NULL-OK
}

@test "devices: a later deny rule overrides an earlier allow" {
	[[ -c /dev/loop-control ]] || skip "no /dev/loop-control on this machine"
	device_probe /dev/loop-control '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 237, "access": "rw"},
		{"allow": false, "type": "c", "major": 10, "minor": 237, "access": "rwm"}]'
	assert_success
	assert_line --partial 'Operation not permitted'
	refute_line OPENED
}

@test "devices: a linux.devices entry putting another device at a default path drops that default rule" {
	# runc (specconv createDevices): the spec's /dev/full (here 1:3) replaces
	# the default one, rule included, so deny-all denies 1:7 (/dev/full2).
	listed_devices_write '[{"path": "/dev/full", "type": "c", "major": 1, "minor": 3, "fileMode": 438},
		{"path": "/dev/full2", "type": "c", "major": 1, "minor": 7, "fileMode": 438}]' /dev/full /dev/full2
	assert_success
	assert_line --index 0 OK
	assert_line --index 1 EPERM
}

@test "devices: /dev/ptmx in linux.devices stays usable (its default rule stays)" {
	# Engines list /dev/ptmx; runc's ptmx rule has no path and always stays.
	listed_devices_write '[{"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2, "fileMode": 438},
		{"path": "/dev/tty", "type": "c", "major": 5, "minor": 0, "fileMode": 438}]' /dev/ptmx /dev/pts/ptmx
	assert_success
	assert_line --index 0 OK
	assert_line --index 1 OK
}

@test "devices: a default device listed again with its own numbers stays usable" {
	hull_only "runc drops /dev/null's rule and then fails reopening /dev/null"
	listed_devices_write '[{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 438},
		{"path": "/dev/full", "type": "c", "major": 1, "minor": 7, "fileMode": 432}]' /dev/null /dev/full
	assert_success
	assert_line --index 0 OK
	assert_line --index 1 ENOSPC
}

# ---- bad input ------------------------------------------------------------------

# bad_resources JQ_FILTER REGEX: run fails with one line naming the field,
# and nothing is created: no state, no cgroup, no process.
bad_config() {
	update_config "$1"
	local id
	id=$(new_id)
	set_args "$HELPER" sleep 60
	run_nopipe hull run -d --bundle "$BUNDLE" "$id"
	assert_one_line_error "$2"
	assert_nothing_left "$id"
	assert_no_cgroup "$id"
}

@test "bad input: negative memory.limit" {
	bad_config '.linux.resources.memory.limit = -5' 'linux\.resources\.memory\.limit'
}

@test "bad input: cpu.shares above 262144" {
	bad_config '.linux.resources.cpu.shares = 1000000000000' 'linux\.resources\.cpu\.shares'
}

@test "bad input: pids.limit -2" {
	hull_only 'runc takes any negative pids.limit as unlimited'
	bad_config '.linux.resources.pids.limit = -2' 'linux\.resources\.pids\.limit'
}

@test "bad input: negative cpu.quota other than -1" {
	hull_only 'runc writes any negative quota'
	bad_config '.linux.resources.cpu.quota = -5 | .linux.resources.cpu.period = 100000' 'linux\.resources\.cpu\.quota'
}

@test "bad input: unknown unified key" {
	bad_config '.linux.resources.unified = {"foo.bar": "1"}' 'linux\.resources\.unified'
}

# This machine mounts neither net_cls nor net_prio (/proc/cgroups: hierarchy 0).
net_v1_missing() {
	awk -v c="$1" '$1 == c && $2 != 0 { found = 1 } END { exit found }' /proc/cgroups ||
		skip "this machine mounts $1: the error needs a host without it"
}

@test "bad input: network.classID without a net_cls hierarchy is an error naming the field, not a cgroup v2 warning" {
	net_v1_missing net_cls
	bad_config '.linux.resources.network = {"classID": 1048577}' 'linux\.resources\.network\.classID: .*net_cls'
	[[ $stderr != *'cgroup v2'* ]] || fail "$stderr"
}

@test "bad input: network.priorities without a net_prio hierarchy is an error naming the field" {
	net_v1_missing net_prio
	bad_config '.linux.resources.network = {"priorities": [{"name": "lo", "priority": 2}]}' \
		'linux\.resources\.network\.priorities: .*net_prio'
}

@test "bad input: unified with a v1 controller says it is not supported on cgroup v1" {
	bad_config '.linux.resources.unified = {"pids.max": "10"}' \
		'linux\.resources\.unified\."pids\.max": not supported on cgroup v1'
}

@test "bad input: cgroupsPath escaping with ../" {
	hull_only 'runc cleans the path into its root'
	bad_config '.linux.cgroupsPath = "../../hull-escape"' 'linux\.cgroupsPath'
	assert_no_cgroup hull-escape
}

@test "bad input: cgroupsPath with a .. component in the middle" {
	hull_only 'runc cleans the path into its root'
	bad_config '.linux.cgroupsPath = "/hull-bats/../../hull-escape"' 'linux\.cgroupsPath'
	assert_no_cgroup hull-escape
	assert_no_cgroup hull-bats
}

@test "bad input: update with a negative memory limit names the flag and changes nothing" {
	start_with_resources '{"memory": {"limit": 33554432}}' "$HELPER" sleep 60
	run --separate-stderr hull update --memory -5 "$CID"
	assert_one_line_error 'memory'
	run cg_file memory memory.limit_in_bytes
	assert_output 33554432
}

@test "a memory limit too low for set-up: the error says the init was OOM-killed and names the limit" {
	hull_only 'runc words it its own way'
	update_config '.linux.resources = {"memory": {"limit": 32768}}'
	set_args "$HELPER" exit 0
	CID=$(new_id)
	run --separate-stderr hull run --bundle "$BUNDLE" "$CID" </dev/null
	assert_one_line_error 'OOM-killed during set-up: linux\.resources\.memory\.limit 32768 is too low'
	assert_nothing_left "$CID"
	assert_no_cgroup "$CID"
}

# Linux 6.14+ kills a child cloned (clone3 CLONE_INTO_CGROUP) into a cgroup
# whose cgroup.kill count differs from its parent's cgroup's.  hull sees the
# pending SIGKILL and forks the usual way instead.
@test "a reused cgroup that once had cgroup.kill written still takes the container" {
	hull_only 'hull-specific: clone3 into the cgroup'
	local v2 rel d
	v2=$(findmnt -n -t cgroup2 -o TARGET | head -1)
	[[ -n $v2 ]] || skip "no cgroup2 hierarchy on this machine"
	rel="hull-reused-$$-$RANDOM"
	d=$v2/$rel
	mkdir "$d"
	echo 1 >"$d/cgroup.kill"
	update_config '.linux.cgroupsPath = $p' --arg p "/$rel"
	run_helper read /proc/self/cgroup
	rmdir "$d"
	assert_success
	assert_output --partial "::/$rel"
	assert_no_cgroup "$CID"
}

@test "a cgroupsPath that already holds processes is joined with a warning; a frozen one is refused" {
	local rel="hull-shared-$$-$RANDOM" a b c
	update_config '.linux.cgroupsPath = $p' --arg p "/$rel"
	a=$(new_id)
	b=$(new_id)
	c=$(new_id)
	start_detached "$a" "$HELPER" sleep 300
	run_nopipe hull run -d --bundle "$BUNDLE" "$b"
	assert_success
	[[ $stderr == *"cgroup"*"is not empty"* ]] || fail "no warning: $stderr"
	assert_equal "$(grep :pids: "/proc/$(state_field "$b" pid)/cgroup")" \
		"$(grep :pids: "/proc/$(state_field "$a" pid)/cgroup")"
	run hull pause "$a"
	assert_success
	run_nopipe hull run -d --bundle "$BUNDLE" "$c"
	[[ $status -ne 0 ]] || fail "a frozen cgroup was joined"
	[[ $stderr == *frozen* ]] || fail "$stderr"
	run hull state "$c"
	assert_failure
	hull resume "$a"
	# the container that did not make the cgroup goes first (hull's delete
	# --force empties the whole cgroup, a's init included)
	hull delete --force "$b"
	hull delete --force "$a"
	assert_no_cgroup "$rel"
}

@test "a v1 cpuset parent another tool left with empty cpus and mems: the container gets the nearest ancestor's" {
	local top=/sys/fs/cgroup/cpuset rel="hull-emptycpuset-$$-$RANDOM"
	[[ -f $top/cpuset.cpus ]] || skip "no cgroup v1 cpuset hierarchy on this machine"
	mkdir "$top/$rel"
	echo 0 >"$top/$rel/cgroup.clone_children"
	[[ -z $(cat "$top/$rel/cpuset.cpus") ]] || fail "a new cpuset dir was not empty"
	update_config '.linux.cgroupsPath = $p' --arg p "/$rel/ctr"
	run_helper status Cpus_allowed_list Mems_allowed_list
	local st=$status out=$output d
	# the other tool's directory stays; runc also leaves the parents it made
	[[ -d $top/$rel ]] || fail "the pre-existing cpuset parent was removed"
	for d in /sys/fs/cgroup/*/"$rel" /sys/fs/cgroup/*/"$rel"/ctr; do
		[[ -d $d ]] && echo "$d"
	done | sort -r | xargs -r rmdir
	status=$st output=$out
	assert_success
	assert_line --index 0 "Cpus_allowed_list: $(cat $top/cpuset.cpus)"
	assert_line --index 1 "Mems_allowed_list: $(cat $top/cpuset.mems)"
}

# ---- systemd driver -------------------------------------------------------------
# hull is a static binary that dlopens libsystemd for --systemd-cgroup.  This
# machine runs no systemd, so a private bus stands in for the system bus (in a
# private mount namespace where /run/systemd/system exists): without a
# systemd1 on it, the StartTransientUnit call fails with the bus's own error,
# which proves libsystemd was loaded and talked to the bus.
@test "--systemd-cgroup: the static binary loads libsystemd and calls systemd over the system bus" {
	hull_only 'hull-specific: a static binary with libsystemd dlopened'
	local t=$BATS_TEST_TMPDIR
	cat >"$t/bus.conf" <<-EOF2
		<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
		 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
		<busconfig><type>system</type><listen>unix:path=$t/bus</listen><auth>EXTERNAL</auth>
		<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
		<allow own="*"/></policy></busconfig>
	EOF2
	dbus-daemon --config-file="$t/bus.conf" --fork --print-pid >"$t/bus.pid"
	CID=$(new_id)
	run --separate-stderr env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$t/bus" \
		unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$@"' \
		sh "$RUNTIME" --systemd-cgroup --root "$ROOT" run --bundle "$BUNDLE" "$CID"
	kill "$(cat "$t/bus.pid")"
	assert_one_line_error 'systemd-cgroup: start .*\.scope: .*org\.freedesktop\.systemd1'
	assert_nothing_left "$CID"
	assert_no_cgroup "$CID"
}

# ---- a frozen cgroupsPath -----------------------------------------------------
# A container's init put into a frozen cgroup stops at once: create waited for
# it forever.  hull (and runc) refuse instead, leave nothing of their own, and
# do not touch the cgroup's state.

# frozen_freezer REL: a v1 freezer cgroup of this test's, frozen (removed in teardown).
frozen_freezer() {
	local d=/sys/fs/cgroup/freezer/$1
	[[ -f /sys/fs/cgroup/freezer/cgroup.procs ]] ||
		skip "no v1 freezer hierarchy on this machine (testhost/cgroups-cli.bats covers v2)"
	mkdir "$d"
	echo "$d" >>"$BATS_TEST_TMPDIR/rmdirs"
	echo FROZEN >"$d/freezer.state"
	assert_equal "$(cat "$d/freezer.state")" FROZEN
}

teardown() {
	local d
	teardown_common
	# the deepest first
	[[ -f $BATS_TEST_TMPDIR/rmdirs ]] || return 0
	tac "$BATS_TEST_TMPDIR/rmdirs" | while read -r d; do rmdir "$d" 2>/dev/null || true; done
}

@test "run -d into a frozen cgroupsPath is refused naming linux.cgroupsPath, and the cgroup stays frozen" {
	local rel="hull-frozen-$$-$RANDOM"
	frozen_freezer "$rel"
	update_config '.linux.cgroupsPath = $p' --arg p "/$rel"
	set_args "$HELPER" exit 0
	CID=$(new_id)
	run_nopipe hull run -d --bundle "$BUNDLE" "$CID"
	assert_one_line_error "linux\.cgroupsPath \"/$rel\": cgroup .*/freezer/$rel is frozen"
	assert_nothing_left "$CID"
	assert_equal "$(cat "/sys/fs/cgroup/freezer/$rel/freezer.state")" FROZEN
	# only the freezer's directory, which was there before
	assert_equal "$(cgroup_dirs_named "$rel")" "/sys/fs/cgroup/freezer/$rel"
}

@test "create under a frozen parent cgroup is refused and removes the directories it made" {
	hull_only 'runc 1.1.5 checks only the cgroup itself, and hangs here'
	local rel="hull-frozen-$$-$RANDOM"
	frozen_freezer "$rel"
	update_config '.linux.cgroupsPath = $p' --arg p "/$rel/ctr"
	set_args "$HELPER" exit 0
	CID=$(new_id)
	run_nopipe hull create --bundle "$BUNDLE" "$CID"
	assert_one_line_error "linux\.cgroupsPath \"/$rel/ctr\": cgroup .*/freezer/$rel/ctr is frozen"
	assert_nothing_left "$CID"
	assert_equal "$(cat "/sys/fs/cgroup/freezer/$rel/freezer.state")" FROZEN
	assert_equal "$(cgroup_dirs_named "$rel")" "/sys/fs/cgroup/freezer/$rel"
	assert_equal "$(find /sys/fs/cgroup -maxdepth 4 -path "*/$rel/ctr" -type d)" ""
}
