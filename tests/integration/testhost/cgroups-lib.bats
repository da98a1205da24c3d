#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# cgroups/ library on real, pure cgroup v2 (runs inside tests/testhost).
#
# The cmocka binary tests/unit/cgroups/test_cgroups_live.c drives the library
# directly (create, limits, freeze, devices, kill, update, destroy).  It is
# built from cgroups/ and common/ alone (tests/prepare.d/40-cgroups-lib.sh),
# so the suite does not depend on the rest of the tree building.  Each @test checks one cmocka test's
# result line; on the development machines (hybrid cgroups) the v2 tests skip,
# here they must pass.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ../bounded

REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)

setup_file() {
	local out=$BATS_FILE_TMPDIR bin=$REPO/build/cache/cgroups/test_cgroups_live
	local cflags
	# tests/prepare.d/40-cgroups-lib.sh builds it on the host; compile here
	# (slow under TCG) only when it is missing.
	if [ ! -x "$bin" ]; then
		bin=$out/test_cgroups_live
		cflags="-std=gnu17 -D_GNU_SOURCE -I$REPO -O1 -g $(pkg-config --cflags json-c libsystemd)"
		(cd "$REPO" && gcc $cflags -o "$bin" tests/unit/cgroups/test_cgroups_live.c \
			cgroups/*.c common/*.c $(pkg-config --libs json-c libsystemd) -lpthread -lcmocka) \
			>"$out/build.log" 2>&1 || { cat "$out/build.log" >&3; return 1; }
	fi
	"$bin" >"$out/live.log" 2>&1 || true
}

# Assert that cmocka reported test $1 as passed.
passed() {
	run cat "$BATS_FILE_TMPDIR/live.log"
	assert_output --partial "[       OK ] $1"
}

@test "the test host has pure cgroup v2 with the controllers the tests use" {
	run stat -fc %T /sys/fs/cgroup
	assert_output cgroup2fs
	run cat /sys/fs/cgroup/cgroup.controllers
	for c in cpuset cpu io memory pids; do
		assert_output --partial "$c"
	done
}

@test "pids.max and memory.max are applied, forking past the limit fails, cleanup removes every dir" {
	passed test_live_pids_and_memory_limits_apply_and_cleanup
}

@test "freeze stops a counting child until thawed (cgroup.freeze / cgroup.events)" {
	passed test_live_freeze_stops_progress_until_thawed
}

@test "a VM container's split: freezing the payload sub-cgroup leaves the kvm one running; destroy leaves nothing" {
	passed test_live_vm_split_freezes_the_payload_only
}

@test "default device list: /dev/null and /dev/urandom open, /dev/kmsg is denied" {
	passed test_live_default_devices_allow_null_deny_kmsg
}

@test "device eBPF program blocks /dev/full when not allowed; replacement keeps one program" {
	passed test_live_device_program_blocks_dev_full_when_not_allowed
}

@test "a linux.devices node at a default path drops that rule, also after an update that replaces the rules" {
	passed test_live_linux_device_at_default_path_stays_denied_across_update
}

@test "an OOM kill is counted (memory.events) and wakes the oom fd" {
	passed test_live_oom_kill_is_counted_and_signalled
}

@test "kill_all empties the cgroup (cgroup.kill)" {
	passed test_live_kill_all_empties_the_cgroup
}

@test "update changes pids.max; state round trip; stats JSON" {
	passed test_live_update_changes_pids_limit_and_state_round_trips
}

@test "a create the kernel refuses leaves nothing behind" {
	passed test_live_failed_create_leaves_nothing
}

@test "memory.max/low/swap.max, cpu.weight/max, cpuset, pids, hugetlb, unified (io.max when a disk exists) land in their files; update" {
	passed test_v2_limits_land_in_their_files
}

@test "an unified key whose file does not exist fails naming the key" {
	passed test_v2_unified_key_for_missing_file_fails_naming_the_key
}

@test "no test left a cgroup behind" {
	run find /sys/fs/cgroup -maxdepth 3 -name 'hull-cgtest-*'
	assert_output ''
	run grep -c FAILED "$BATS_FILE_TMPDIR/live.log"
	assert_output 0
}
