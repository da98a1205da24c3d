#!/usr/bin/env bats
# exec: extra processes in a running container.

load helpers

start_sleeper() {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	pid=$(state_field "$id" pid)
}

@test "exec runs in the container's namespaces and returns its status" {
	start_sleeper
	run hull exec "$id" "$HELPER" ns
	assert_success
	for ns in ipc mnt net pid uts; do
		assert_line "$ns $(readlink "/proc/$pid/ns/$ns")"
	done
	run hull exec "$id" "$HELPER" exit 5
	assert_equal "$status" 5
}

@test "exec sees the container's root" {
	start_sleeper
	run hull exec "$id" "$HELPER" read /etc/motd
	assert_success
	assert_output "hull test rootfs"
}

@test "exec --env --cwd --user set the process attributes" {
	start_sleeper
	run hull exec --env FOO=bar "$id" /bin/sh -c 'echo "$FOO"'
	assert_output bar
	run hull exec --cwd /etc "$id" "$HELPER" cwd
	assert_output /etc
	run hull exec --user 1000:1000 "$id" "$HELPER" status Uid Gid
	assert_line "Uid: 1000 1000 1000 1000"
	assert_line "Gid: 1000 1000 1000 1000"
}

@test "exec inherits the container's env unless overridden" {
	update_config '.process.env += ["FROMCONFIG=1"]'
	start_sleeper
	run hull exec "$id" /bin/sh -c 'echo "$FROMCONFIG"'
	assert_output 1
}

@test "exec --cap adds a capability" {
	start_sleeper
	run hull exec "$id" "$HELPER" syscall sethostname
	assert_output EPERM
	run hull exec --cap CAP_SYS_ADMIN "$id" "$HELPER" syscall sethostname
	assert_output OK
}

@test "exec --process runs a process.json" {
	start_sleeper
	cat >"$BATS_TEST_TMPDIR/process.json" <<JSON
{
	"terminal": false,
	"user": { "uid": 1000, "gid": 1000, "additionalGids": [1001] },
	"args": [ "$HELPER", "id" ],
	"env": [ "PATH=/bin" ],
	"cwd": "/tmp"
}
JSON
	run hull exec --process "$BATS_TEST_TMPDIR/process.json" "$id"
	assert_success
	assert_line "Uid: 1000 1000 1000 1000"
	assert_line "Groups: 1001"
}

@test "exec --detach --pid-file returns at once" {
	start_sleeper
	hull exec -d --pid-file "$BATS_TEST_TMPDIR/epid" "$id" "$HELPER" sleep 100 "$id-exec"
	epid=$(cat "$BATS_TEST_TMPDIR/epid")
	wait_for_pgrep "$id-exec"
	run cat "/proc/$epid/cmdline"
	assert_output --partial "$id-exec"
	assert_equal "$(readlink "/proc/$epid/ns/pid")" "$(readlink "/proc/$pid/ns/pid")"
}

@test "exec --preserve-fds passes extra fds" {
	start_sleeper
	echo exec-preserved >"$BATS_TEST_TMPDIR/data"
	run hull exec --preserve-fds 1 "$id" "$HELPER" read-fd 3 3<"$BATS_TEST_TMPDIR/data"
	assert_success
	assert_output exec-preserved
}

@test "exec --tty gives the process a terminal" {
	start_sleeper
	run script -qec "'$RUNTIME' --root '$ROOT' exec -t '$id' '$HELPER' tty" /dev/null </dev/null
	assert_success
	assert_output --regexp 'stdin=1 stdout=1 ttyname=/dev/pts/[0-9]+'
}

@test "exec into a stopped container fails with one line" {
	id=$(new_id)
	start_detached "$id" "$HELPER" exit 0
	wait_for_status "$id" stopped
	run --separate-stderr hull exec "$id" "$HELPER" exit 0
	assert_exec_error
}

@test "exec into an unknown container exits 255 with one line" {
	run --separate-stderr hull exec no-such-container "$HELPER" exit 0
	assert_exec_error 'no-such-container'
}

@test "exec of a missing binary exits 255 and the container keeps running" {
	start_sleeper
	run --separate-stderr hull exec "$id" /bin/nope
	assert_exec_error 'nope'
	assert_equal "$(state_field "$id" status)" running
}

@test "exec without a command exits 255; without an id or with a bad flag 1 (usage)" {
	start_sleeper
	run --separate-stderr hull exec "$id"
	assert_exec_error
	run --separate-stderr hull exec
	assert_one_line_error
	run --separate-stderr hull exec --no-such-flag "$id" true
	assert_one_line_error
	[[ $status -eq 1 ]] || fail "usage error exit $status, expected 1"
}

@test "exec with a pid file that cannot be written exits 255 and kills what it started" {
	start_sleeper
	run --separate-stderr hull exec -d --pid-file "$BATS_TEST_TMPDIR/no/dir/pid" "$id" "$HELPER" sleep 100 "$id-x"
	assert_exec_error 'pid'
	for _ in $(seq 50); do pgrep -f -- "$id-x" >/dev/null || break; sleep 0.1; done
	run pgrep -f -- "$id-x"
	assert_failure
}

@test "exec's process exit status 255 and 1 pass through unchanged" {
	start_sleeper
	run hull exec "$id" "$HELPER" exit 1
	assert_equal "$status" 1
	run hull exec "$id" "$HELPER" exit 255
	assert_equal "$status" 255
}

# runc (1.1, 1.2) does not reorder exec's arguments (SkipArgReorder): there
# the flag after the id is taken as the command and fails with 255.
@test "exec takes flags between the id and the command; after it they are the command's" {
	hull_only "runc execs \"--env\" as the command"
	start_sleeper
	run hull exec "$id" --env FOO=bar -e BAR=baz --cwd=/etc /bin/sh -c 'echo "$FOO $BAR $(pwd)"'
	assert_success
	assert_output "bar baz /etc"
	# after the command: its own arguments, even when they look like exec's flags
	run hull exec "$id" /bin/echo --env X -t -c CAP_FOO
	assert_success
	assert_output "--env X -t -c CAP_FOO"
	# after --: the command, even if it starts with a dash
	run --separate-stderr hull exec "$id" -- --env
	assert_exec_error
}

@test "exec into a created container runs in it before start; start then runs the init's process" {
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	pid=$(state_field "$id" pid)
	run hull exec "$id" "$HELPER" ns
	assert_success
	for ns in ipc mnt net pid uts; do
		assert_line "$ns $(readlink "/proc/$pid/ns/$ns")"
	done
	assert_equal "$(state_field "$id" status)" created
	hull start "$id"
	wait_for_pgrep "sleep 100 $id"
	assert_equal "$(state_field "$id" status)" running
}

@test "exec sets HOME from the container's /etc/passwd for the exec's user" {
	start_sleeper
	run hull exec "$id" /bin/sh -c 'echo "HOME=$HOME"'
	assert_output "HOME=/root"
	run hull exec --user 1000:1000 "$id" /bin/sh -c 'echo "HOME=$HOME"'
	assert_output "HOME=/home/test"
	run hull exec --user 4242:4242 "$id" /bin/sh -c 'echo "HOME=$HOME"'
	assert_output "HOME=/"
	run hull exec --user 1000:1000 --env HOME=/given "$id" /bin/sh -c 'echo "HOME=$HOME"'
	assert_output "HOME=/given"
}

@test "exec without a terminal leads its own process group inside the pid namespace" {
	start_sleeper
	run hull exec "$id" "$HELPER" pgrp
	assert_success
	[[ $output =~ ^pgrp=([0-9]+)\ sid=([0-9]+)\ pid=([0-9]+)$ ]] || fail "output: $output"
	[[ ${BASH_REMATCH[1]} -ne 0 ]] || fail "process group outside the pid namespace: $output"
	assert_equal "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}"
	run hull exec --detach "$id" /bin/sh -c "$HELPER pgrp > /tmp/pgrp"
	assert_success
	for _ in $(seq 100); do
		run hull exec "$id" "$HELPER" read /tmp/pgrp
		[[ $output == pgrp=* ]] && break
		sleep 0.05
	done
	[[ $output =~ ^pgrp=([1-9][0-9]*)\ sid=([0-9]+)\ pid=([0-9]+)$ ]] || fail "detached: $output"
}

# ntasks DIR: processes in a cgroup directory.
ntasks() {
	grep -c . "$1/cgroup.procs" || true
}

@test "exec into a paused container is refused (as runc), and the container resumes" {
	start_sleeper
	run hull pause "$id"
	assert_success
	run --separate-stderr hull exec "$id" "$HELPER" exit 0
	assert_exec_error 'paused container'
	[[ $stderr =~ "paused container" ]] || fail "stderr does not say paused: $stderr"
	[[ $stderr =~ --ignore-paused ]] || fail "stderr does not name --ignore-paused: $stderr"
	# nothing of the refused exec entered the container
	freezer=$(cgroup_dir "$pid" freezer)
	assert_equal "$(ntasks "$freezer")" 1
	run hull resume "$id"
	assert_success
	assert_equal "$(state_field "$id" status)" running
}

@test "exec --ignore-paused: resume is not blocked meanwhile, then the process runs and returns its status" {
	local out=$BATS_TEST_TMPDIR/exec.out rc=$BATS_TEST_TMPDIR/exec.rc i bg
	start_sleeper
	freezer=$(cgroup_dir "$pid" freezer)
	run hull pause "$id"
	assert_success
	(
		r=0
		hull exec --ignore-paused "$id" sh -c 'echo resumed; exit 3' >"$out" 2>&1 </dev/null || r=$?
		echo "$r" >"$rc"
	) &
	bg=$!
	# until the exec's first process froze in the container's cgroup
	for ((i = 0; i < 400; i++)); do
		[[ $(ntasks "$freezer") -ge 2 ]] && break
		sleep 0.05
	done
	[[ $(ntasks "$freezer") -ge 2 ]] || fail "the exec never entered the cgroup: $(cat "$out")"
	[[ ! -e $rc ]] || fail "exec returned while paused: $(cat "$rc") $(cat "$out")"
	assert_equal "$(state_field "$id" status)" paused
	run hull resume "$id"
	assert_success
	wait "$bg" # not a bare wait: bats' timeout countdown is a job too
	assert_equal "$(cat "$rc")" 3
	assert_equal "$(cat "$out")" resumed
	assert_equal "$(state_field "$id" status)" running
}

# Regression: the guest's PID 1 runs from the initramfs it has left and
# freed (guest/rootfs.c), so its /proc/self/exe reads "/init (deleted)"; exec
# opened that path to seal a copy of itself and failed with ENOENT.  A hull
# binary replaced by a rebuild while running is the same case on a host.
@test "exec by a hull whose binary was deleted since it started" {
	hull_only
	start_sleeper
	cp "$RUNTIME" "$BATS_TEST_TMPDIR/gone"
	# shellcheck disable=SC2016 # expanded by that shell
	run bash -c 'exec 5<"$1"; rm "$1"; /proc/$$/fd/5 --root "$2" exec "$3" "$4" exit 3' _ \
		"$BATS_TEST_TMPDIR/gone" "$ROOT" "$id" "$HELPER"
	assert_equal "$status" 3
	assert_output ""
}
