#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Containers' cgroups through the hull CLI on pure cgroup v2 (runs inside the
# test host: tests/testhost/run-suite).  Every linux.resources field is read
# back from the container's own cgroup files, and the limits are shown to
# take effect: pids.max, memory.max with an OOM event, the freezer, the
# device eBPF program, update, delete, a cgroup namespace.
#
# The runtime and bundle are the machine's build, seen over the read-only 9p
# root: $HULL (default build/bin/hull) and $HULL_BUNDLE (default build/bundle),
# e.g. TESTHOST_ENV="HULL HULL_BUNDLE" HULL=$PWD/build/x/bin/hull
# HULL_BUNDLE=$PWD/build/x/bundle tests/testhost/run-suite <this file>.
# The VM runs under TCG (~10x slower): few containers, generous waits.

load ../helpers

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
	cgroup_top_listing >"$BATS_FILE_TMPDIR/cgroups.before"
}

teardown_file() {
	[[ -f $BATS_FILE_TMPDIR/cgroups.before ]] || return 0
	# nothing outside the containers' cgroups appeared or went away
	cgroup_top_listing >"$BATS_FILE_TMPDIR/cgroups.after"
	if ! cmp -s "$BATS_FILE_TMPDIR/cgroups.before" "$BATS_FILE_TMPDIR/cgroups.after"; then
		diff -u "$BATS_FILE_TMPDIR/cgroups.before" "$BATS_FILE_TMPDIR/cgroups.after" | sed 's/^/# /' >&3
		return 1
	fi
}

setup() {
	setup_common
	[[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || fail "not pure cgroup v2"
}

# A cgroup namespace and a read-only cgroup2 mount: the container sees its
# own cgroup at /sys/fs/cgroup.
with_cgroupns() {
	update_config '.linux.namespaces += [{"type": "cgroup"}] |
		.mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
		"options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]'
}

# start_with_resources (helpers.bash), plus CG: the container's cgroup2 dir.
start_with_cgroup() {
	start_with_resources "$@"
	CG=$(cgroup_dir "$PID" unified)
	[[ -d $CG ]] || fail "no cgroup $CG for pid $PID"
}

@test "memory, cpu, cpuset and pids limits are in the container's cgroup files" {
	local res
	res='{"memory": {"limit": 67108864, "reservation": 16777216, "swap": 100663296},
		"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "1", "mems": "0"},
		"pids": {"limit": 42}}'
	update_config '.linux.resources = $r' --argjson r "$res"
	with_cgroupns
	run_ctr /bin/sh -c 'cd /sys/fs/cgroup && for f in memory.max memory.low memory.swap.max cpu.weight cpu.max cpuset.cpus cpuset.mems pids.max; do echo "$f $(cat $f)"; done'
	assert_success
	assert_line 'memory.max 67108864'
	assert_line 'memory.low 16777216'
	# OCI swap is memory+swap: 96M - 64M
	assert_line 'memory.swap.max 33554432'
	# runc's conversion: 1 + (shares - 2) * 9999 / 262142
	assert_line "cpu.weight $((1 + (1024 - 2) * 9999 / 262142))"
	assert_line 'cpu.max 50000 100000'
	assert_line 'cpuset.cpus 1'
	assert_line 'cpuset.mems 0'
	assert_line 'pids.max 42'
}

@test "cpu.shares at both ends of the range map to cpu.weight 1 and 10000, unlimited quota to max" {
	with_cgroupns
	update_config '.linux.resources = {"cpu": {"shares": 2, "quota": -1, "period": 250000}}'
	run_ctr /bin/sh -c 'cat /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/cpu.max'
	assert_success
	assert_line --index 0 1
	assert_line --index 1 'max 250000'
	update_config '.linux.resources = {"cpu": {"shares": 262144}}'
	run_ctr /bin/sh -c 'cat /sys/fs/cgroup/cpu.weight'
	assert_success
	assert_output 10000
}

@test "io.max from blockIO throttle rates (when the VM has a disk)" {
	local dev
	dev=$(cat /sys/block/*/dev 2>/dev/null | head -n1)
	[[ -n $dev ]] || skip "the test host has no block device (/sys/block is empty): io.max cannot be set"
	local maj=${dev%:*} min=${dev#*:}
	update_config '.linux.resources.blockIO = {"throttleReadBpsDevice": [{"major": $a, "minor": $b, "rate": 1048576}],
		"throttleWriteIOPSDevice": [{"major": $a, "minor": $b, "rate": 100}]}' --argjson a "$maj" --argjson b "$min"
	with_cgroupns
	run_ctr /bin/cat /sys/fs/cgroup/io.max
	assert_success
	assert_output "$maj:$min rbps=1048576 wbps=max riops=max wiops=100"
}

@test "hugetlb.<size>.max from hugepageLimits (when the kernel has hugepage sizes)" {
	local dir size
	dir=$(ls -d /sys/kernel/mm/hugepages/hugepages-*kB 2>/dev/null | head -n1)
	[[ -n $dir ]] || skip "the test host kernel has no hugepage sizes (/sys/kernel/mm/hugepages is empty)"
	size=${dir##*hugepages-}
	size=${size%kB}
	local name
	if ((size >= 1048576)); then name=$((size / 1048576))GB
	elif ((size >= 1024)); then name=$((size / 1024))MB
	else name=${size}KB; fi
	update_config '.linux.resources.hugepageLimits = [{"pageSize": $p, "limit": $l}]' \
		--arg p "$name" --argjson l $((size * 1024 * 4))
	with_cgroupns
	run_ctr /bin/cat "/sys/fs/cgroup/hugetlb.$name.max"
	assert_success
	assert_output $((size * 1024 * 4))
}

@test "forking past pids.max fails inside the container" {
	update_config '.linux.resources = {"pids": {"limit": 5}}'
	run_helper fork-bomb 10
	assert_success
	# the helper is one of the 5 tasks
	assert_output 4
}

@test "going past memory.max OOM-kills the process and hull events streams an oom event" {
	start_with_cgroup '{"memory": {"limit": 33554432, "swap": 33554432}}' "$HELPER" sleep 300
	run cat "$CG/memory.max"
	assert_output 33554432
	local ev=$BATS_TEST_TMPDIR/events
	start_events "$CID" "$ev" 30
	run hull exec "$CID" "$HELPER" alloc 128 </dev/null
	assert_equal "$status" 137
	wait_for_match "$ev" '"type": *"oom"' 30 || true
	kill "$EVPID" 2>/dev/null || true
	wait "$EVPID" 2>/dev/null || true
	run grep '"type": *"oom"' "$ev"
	assert_success
	# one OOM kill, one event
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r .id <<<"${lines[0]}")" "$CID"
	run awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events"
	assert_output 1
}

@test "a paused container makes no progress until resumed" {
	start_with_cgroup '{}' "$HELPER" count
	wait_for_output "$CID" 3 60
	run hull pause "$CID"
	assert_success
	run state_field "$CID" status
	assert_output paused
	run grep -x 'frozen 1' "$CG/cgroup.events"
	assert_success
	assert_paused_counter_resumes "$CID" 2 60
}

# The node is /dev/kmsg (1:11: not in the default list), bind-mounted so that
# it is not a linux.devices entry; a write-only open of kmsg needs no
# privilege and never blocks.
@test "a device the cgroup does not allow cannot be opened; with an allow rule it can" {
	device_probe /dev/kmsg '[{"allow": false, "access": "rwm"}]'
	assert_success
	assert_line --partial 'Operation not permitted'
	refute_line OPENED
	assert_line NULL-OK
	device_probe /dev/kmsg '[{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]'
	assert_success
	assert_line OPENED
	assert_line NULL-OK
}

@test "device eBPF: /dev/ptmx and /dev/null listed in linux.devices stay usable" {
	# The program once dropped the default rule of any listed default device.
	listed_devices_write '[{"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2, "fileMode": 438},
		{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 438}]' /dev/ptmx /dev/null
	assert_success
	assert_line --index 0 OK
	assert_line --index 1 OK
}

@test "update changes limits of a running container; delete removes its cgroup" {
	start_with_cgroup '{"memory": {"limit": 67108864}, "pids": {"limit": 20}, "cpu": {"quota": 50000, "period": 100000}}' \
		"$HELPER" sleep 300
	run hull update --memory 128m --pids-limit 9 --cpu-quota 20000 "$CID"
	assert_success
	run cat "$CG/memory.max" "$CG/pids.max" "$CG/cpu.max"
	assert_line --index 0 134217728
	assert_line --index 1 9
	assert_line --index 2 '20000 100000'
	run hull update --resources - "$CID" <<<'{"pids": {"limit": 11}}'
	assert_success
	run cat "$CG/pids.max" "$CG/memory.max"
	assert_line --index 0 11
	assert_line --index 1 134217728
	run hull delete --force "$CID"
	assert_success
	[[ ! -e $CG ]] || fail "$CG left after delete"
	assert_no_cgroup "$CID"
	assert_nothing_left "$CID"
}

@test "kill --all empties the cgroup, exec'd processes included" {
	start_with_cgroup '{}' "$HELPER" sleep 300
	hull exec -d "$CID" "$HELPER" sleep 301
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(wc -l <"$CG/cgroup.procs") -ge 2 ]] && break
		sleep 0.1
	done
	run hull ps --format json "$CID"
	assert_success
	assert_equal "$(jq length <<<"$output")" 2
	run hull kill --all "$CID" KILL
	assert_success
	wait_for_status "$CID" stopped 30
	run cat "$CG/cgroup.procs"
	assert_output ''
	run pgrep -f -x "$HELPER sleep 301"
	assert_failure
}

@test "exec --cgroup SUB runs the process in the container's sub-cgroup; CTRL:SUB is refused on v2" {
	start_with_cgroup '{"pids": {"limit": 50}}' "$HELPER" sleep 60
	make_sub_cgroups sub
	run exec_cgroup_lines --cgroup sub
	assert_success
	assert_output "$(expected_cgroups sub all)"
	assert_output "0::${CG#/sys/fs/cgroup}/sub"
	run --separate-stderr hull exec --cgroup pids:sub "$CID" "$HELPER" exit 0
	assert_exec_error 'cgroup'
	run --separate-stderr hull exec --cgroup ../sub "$CID" "$HELPER" exit 0
	assert_exec_error 'cgroup'
}

@test "with a cgroup namespace the container sees its cgroup as / and /sys/fs/cgroup read-only" {
	with_cgroupns
	update_config '.linux.resources = {"pids": {"limit": 33}}'
	run_ctr /bin/sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max; mkdir /sys/fs/cgroup/x 2>&1; grep " /sys/fs/cgroup " /proc/self/mountinfo'
	assert_success
	assert_line --index 0 '0::/'
	# the root of the mount is the container's own cgroup (its limit)
	assert_line --index 1 33
	assert_line --partial 'Read-only file system'
	assert_line --regexp ' /sys/fs/cgroup ro,.* - cgroup2 '
}

# A container's init put into a frozen cgroup stops at once: create waited for
# it forever.  Refused naming linux.cgroupsPath, for a frozen cgroup and for
# one under a frozen parent (cgroup.events "frozen 1"); the cgroup keeps its
# state and the directories hull made go.
@test "run -d into a frozen cgroupsPath, or under a frozen parent, is refused and the cgroup stays frozen" {
	local rel="hull-frozen-$$-$RANDOM" d
	d=/sys/fs/cgroup/$rel
	mkdir "$d"
	echo 1 >"$d/cgroup.freeze"
	set_args "$HELPER" exit 0
	update_config '.linux.cgroupsPath = $p' --arg p "/$rel"
	CID=$(new_id)
	run_nopipe hull run -d --bundle "$BUNDLE" "$CID"
	local st1=$status err1=$stderr
	update_config '.linux.cgroupsPath = $p' --arg p "/$rel/ctr"
	CID2=$(new_id)
	run_nopipe hull run -d --bundle "$BUNDLE" "$CID2"
	local st2=$status err2=$stderr kids frozen
	kids=$(find "$d" -mindepth 1 -type d)
	frozen=$(cat "$d/cgroup.freeze")
	rmdir "$d"
	status=$st1 stderr=$err1 assert_one_line_error "linux\.cgroupsPath \"/$rel\": cgroup $d is frozen"
	status=$st2 stderr=$err2 assert_one_line_error "linux\.cgroupsPath \"/$rel/ctr\": cgroup $d/ctr is frozen"
	assert_equal "$kids" ""
	assert_equal "$frozen" 1
	assert_nothing_left "$CID"
	assert_nothing_left "$CID2"
}
