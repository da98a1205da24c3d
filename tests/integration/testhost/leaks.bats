#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# delete --force of a container whose processes sit frozen in another cgroup
# (cgroup2 cgroup.freeze), on pure cgroup v2: runs inside the test host
# (tests/testhost/run-suite); the v1 freezer variant is ../leaks.bats.

load ../helpers
load ../leaks

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
}

teardown() { teardown_foreign; }

@test "leaks (v2): delete --force of an init moved into another, frozen cgroup removes everything" {
	check_delete_frozen_init
}

@test "leaks (v2): delete --force with a container process frozen in another cgroup removes everything" {
	check_delete_frozen_child
}
