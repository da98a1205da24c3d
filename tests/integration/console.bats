#!/usr/bin/env bats
# The console: process.terminal with --console-socket (pty master over SCM_RIGHTS).

load helpers

setup_file() { build_recvtty; }

@test "run -d --console-socket hands over a pty master; the process's stdio is the slave" {
	update_config '.process.terminal = true'
	start_recvtty
	id=$(new_id)
	set_args "$HELPER" tty
	hull run -d --console-socket "$SOCK" --bundle "$BUNDLE" "$id" </dev/null
	wait_recvtty
	assert_line --index 0 --regexp '^pty /dev/pts/[0-9]+$'
	assert_line --regexp '^stdin=1 stdout=1 ttyname=/dev/pts/[0-9]+$'
}

@test "a read-only /dev still gets /dev/console bound to the pty (made read-only after it)" {
	update_config '.process.terminal = true | (.mounts[] | select(.destination == "/dev") | .options) += ["ro"]'
	start_recvtty
	id=$(new_id)
	set_args /bin/sh -c "$HELPER stat /dev/console; $HELPER tty; $HELPER write /dev/x x"
	hull run -d --console-socket "$SOCK" --bundle "$BUNDLE" "$id" </dev/null
	wait_recvtty
	assert_line --regexp '^chr 0620 136:[0-9]+ '
	assert_line --regexp '^stdin=1 stdout=1 ttyname=/dev/pts/[0-9]+$'
	assert_line EROFS
}

@test "input written to the master reaches the process" {
	update_config '.process.terminal = true'
	start_recvtty "hello-tty"
	id=$(new_id)
	set_args /bin/sh -c 'read line; echo "got:$line"'
	hull run -d --console-socket "$SOCK" --bundle "$BUNDLE" "$id" </dev/null
	wait_recvtty
	assert_line "got:hello-tty"
}

@test "create --console-socket then start" {
	update_config '.process.terminal = true'
	start_recvtty
	id=$(new_id)
	set_args "$HELPER" tty
	hull create --console-socket "$SOCK" --bundle "$BUNDLE" "$id" </dev/null
	assert_equal "$(state_field "$id" status)" created
	hull start "$id"
	wait_recvtty
	assert_line --regexp '^stdin=1 stdout=1 ttyname=/dev/pts/[0-9]+$'
}

@test "exec -t -d --console-socket gives the exec'd process its own pty" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	start_recvtty
	hull exec -t -d --console-socket "$SOCK" "$id" "$HELPER" tty </dev/null
	wait_recvtty
	assert_line --regexp '^stdin=1 stdout=1 ttyname=/dev/pts/[0-9]+$'
}

@test "the pty is the container's devpts, owned by the process user" {
	update_config '.process.terminal = true | .process.user = {"uid": 1000, "gid": 1000}'
	start_recvtty
	id=$(new_id)
	set_args /bin/sh -c "$HELPER stat \$(tty)"
	hull run -d --console-socket "$SOCK" --bundle "$BUNDLE" "$id" </dev/null
	wait_recvtty
	assert_line --regexp '^chr 0620 136:[0-9]+ 1000 5$'
}

@test "terminal without --console-socket on create fails and leaves nothing" {
	update_config '.process.terminal = true'
	id=$(new_id)
	set_args "$HELPER" tty
	run_nopipe hull create --bundle "$BUNDLE" "$id"
	assert_one_line_error 'console-socket|terminal'
	assert_nothing_left "$id"
}

@test "a console socket nobody listens on fails create and leaves nothing" {
	update_config '.process.terminal = true'
	id=$(new_id)
	set_args "$HELPER" tty
	run_nopipe hull create --console-socket "$BATS_TEST_TMPDIR/nobody.sock" --bundle "$BUNDLE" "$id"
	assert_one_line_error 'nobody.sock'
	assert_nothing_left "$id"
}

@test "init's debug lines stay out of the container's pty under --debug" {
	# The default config's ambient set lacks inheritable bits, so the init
	# logs a debug line per capability while it confines itself, after the
	# pty has become its stdio: those lines must not reach the pty.
	update_config '.process.terminal = true'
	start_recvtty
	id=$(new_id)
	set_args "$HELPER" tty
	hull --debug run -d --console-socket "$SOCK" --bundle "$BUNDLE" "$id" </dev/null 2>"$BATS_TEST_TMPDIR/hull.err"
	wait_recvtty
	assert_line --index 0 --regexp '^pty /dev/pts/[0-9]+$'
	assert_line --index 1 --regexp '^stdin=1 stdout=1 ttyname=/dev/pts/[0-9]+$'
	assert_equal "${#lines[@]}" 2
	# and hull did log (the flag was not a no-op)
	grep -q 'level=debug' "$BATS_TEST_TMPDIR/hull.err"
}
