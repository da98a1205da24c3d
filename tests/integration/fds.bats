#!/usr/bin/env bats
# No host fd reaches the container: only stdio and --preserve-fds.

load helpers

# fd_numbers: the fd numbers in $output ("FD TARGET" lines), space-separated.
fd_numbers() {
	echo "$output" | awk '{print $1}' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

@test "the container process has only fds 0, 1, 2 although the caller has more" {
	exec 7</etc/hostname 8>"$BATS_TEST_TMPDIR/extra" 9<"$BATS_TEST_TMPDIR"
	run_helper fds
	exec 7<&- 8>&- 9<&-
	assert_success
	assert_equal "$(fd_numbers)" "0 1 2"
	refute_output --partial /etc/hostname
	refute_output --partial "$BATS_TEST_TMPDIR"
}

@test "a detached container's init has only fds 0, 1, 2" {
	exec 7</etc/hostname
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	exec 7<&-
	pid=$(state_field "$id" pid)
	wait_for_pgrep "$id"
	run ls "/proc/$pid/fd"
	assert_equal "$(echo "$output" | sort -n | tr '\n' ' ')" "0 1 2 "
}

@test "--preserve-fds 2 passes exactly fds 3 and 4" {
	exec 5</etc/hostname
	set_args "$HELPER" fds
	id=$(new_id)
	run hull run --preserve-fds 2 --bundle "$BUNDLE" "$id" </dev/null 3</etc/hostname 4<"$BATS_TEST_TMPDIR"
	exec 5<&-
	assert_success
	assert_equal "$(fd_numbers)" "0 1 2 3 4"
	assert_line '3 /etc/hostname'
}

@test "an exec'd process has only fds 0, 1, 2" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	exec 7</etc/hostname
	run hull exec "$id" "$HELPER" fds
	exec 7<&-
	assert_success
	assert_equal "$(fd_numbers)" "0 1 2"
}

@test "hooks do not inherit the runtime's internal fds" {
	mkdir -p "$BATS_TEST_TMPDIR/hooks"
	update_config '.hooks.prestart = [{"path": "/bin/sh", "args": ["sh", "-c", $s]}]' \
		--arg s "ls /proc/self/fd > $BATS_TEST_TMPDIR/hooks/fds"
	exec 7</etc/hostname
	run_helper exit 0
	exec 7<&-
	assert_success
	# sh's own fds: 0 (state), 1, 2, and the directory ls has open
	run sort -n "$BATS_TEST_TMPDIR/hooks/fds"
	refute_line 7
	[[ $(wc -l <"$BATS_TEST_TMPDIR/hooks/fds") -le 4 ]] || fail "$(cat "$BATS_TEST_TMPDIR/hooks/fds")"
}
