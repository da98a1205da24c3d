#!/usr/bin/env bats
# linux.seccomp: actions, errnoRet, argument conditions, the notify listener.

load helpers

setup_file() {
	gcc -std=gnu17 -O2 -Wall -Wextra -Werror -o "$BATS_FILE_TMPDIR/seccomp-listener" \
		"$BATS_TEST_DIRNAME/../helper/seccomp-listener.c"
}

# seccomp JSON_SYSCALLS [DEFAULT_ACTION]: install a filter.
seccomp() {
	update_config '.linux.seccomp = {"defaultAction": $d, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": $s}' \
		--argjson s "$1" --arg d "${2:-SCMP_ACT_ALLOW}"
}

@test "a filter is installed: Seccomp mode 2" {
	seccomp '[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]'
	run_helper status Seccomp
	assert_output 'Seccomp: 2'
}

@test "SCMP_ACT_ERRNO denies with EPERM by default; other syscalls work" {
	seccomp '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]'
	run_ctr /bin/sh -c "$HELPER syscall mkdir; $HELPER syscall getpid"
	assert_line --index 0 EPERM
	assert_line --index 1 OK
}

@test "errnoRet picks the errno" {
	seccomp '[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]'
	run_helper syscall mkdir
	assert_output ENOMSG
}

@test "argument conditions: only the matching call is denied" {
	seccomp '[{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]'
	run_ctr /bin/sh -c "$HELPER syscall personality 8; $HELPER syscall personality 0xffffffff"
	assert_line --index 0 EPERM
	assert_line --index 1 OK
}

@test "argument conditions: SCMP_CMP_MASKED_EQ" {
	# deny unshare(CLONE_NEWUSER), whatever other flags come with it
	seccomp '[{"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 268435456, "valueTwo": 268435456, "op": "SCMP_CMP_MASKED_EQ"}]}]'
	run_ctr /bin/sh -c "$HELPER syscall unshare 0x10000000; $HELPER syscall unshare 0x10020000; $HELPER syscall unshare 0"
	assert_line --index 0 EPERM
	assert_line --index 1 EPERM
	assert_line --index 2 OK
}

@test "SCMP_ACT_KILL kills the process with SIGSYS" {
	seccomp '[{"names": ["getppid"], "action": "SCMP_ACT_KILL"}]'
	run_helper syscall getppid
	assert_equal "$status" $((128 + 31))
}

@test "SCMP_ACT_KILL_PROCESS kills the process with SIGSYS" {
	seccomp '[{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]'
	run_helper syscall getppid
	assert_equal "$status" $((128 + 31))
}

# A refusing default with an allow list: a syscall the profile does not name
# but that is older than the newest it names gets the default (EPERM); one
# newer than all of them gets ENOSYS, so that libc falls back to an older
# call as it would on an older kernel (runc does the same).
@test "a syscall newer than every syscall in the profile gets ENOSYS, an older unlisted one the default" {
	hull_only 'runc needs more syscalls than this allow list after loading the filter'
	local allow='["access", "arch_prctl", "brk", "capget", "capset", "chdir", "close", "close_range",
		"execve", "exit", "exit_group", "fstat", "futex", "getcwd", "getrandom", "mprotect", "newfstatat",
		"openat", "prctl", "prlimit64", "read", "readlink", "rseq", "sendmsg", "set_robust_list",
		"set_tid_address", "setgroups", "setresgid", "setresuid", "umask", "write"]'
	seccomp "[{\"names\": $allow, \"action\": \"SCMP_ACT_ALLOW\"}]" SCMP_ACT_ERRNO
	update_config '.process.noNewPrivileges = true'
	run_helper syscall getppid
	assert_output EPERM
	run_helper syscall faccessat2
	assert_output ENOSYS
}

@test "exec'd processes get the same filter" {
	seccomp '[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]'
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	run hull exec "$id" "$HELPER" syscall mkdir
	assert_output EPERM
}

@test "SCMP_ACT_NOTIFY: the listener gets the notify fd and the state, and answers the syscall" {
	sock=$BATS_TEST_TMPDIR/seccomp.sock
	"$BATS_FILE_TMPDIR/seccomp-listener" "$sock" "$BATS_TEST_TMPDIR/state.json" \
		>"$BATS_TEST_TMPDIR/listener.out" 2>&1 &
	lpid=$!
	for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.05; done
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $p,
		"listenerMetadata": "hull-test-metadata",
		"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}' --arg p "$sock"
	run_helper syscall mkdir
	assert_output ENOMSG
	wait "$lpid" || fail "listener: $(cat "$BATS_TEST_TMPDIR/listener.out")"
	run cat "$BATS_TEST_TMPDIR/listener.out"
	assert_output --regexp '^notified nr=[0-9]+$'
	run jq -e --arg id "$CID" '.ociVersion and .fds == ["seccompFd"] and .pid > 0 and
		.metadata == "hull-test-metadata" and .state.id == $id' "$BATS_TEST_TMPDIR/state.json"
	assert_success
}

@test "an unknown syscall name fails and leaves nothing" {
	hull_only "runc ignores unknown syscall names"
	seccomp '[{"names": ["getpid", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]'
	id=$(new_id)
	set_args "$HELPER" exit 0
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'linux\.seccomp\.syscalls\[0\]\.names\[1\].*no_such_syscall'
	assert_nothing_left "$id"
}

@test "an unknown action fails and leaves nothing" {
	seccomp '[{"names": ["getpid"], "action": "SCMP_ACT_NOPE"}]'
	id=$(new_id)
	set_args "$HELPER" exit 0
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'SCMP_ACT_NOPE'
	assert_nothing_left "$id"
}

# ---- what runs under the filter (issue 16) ------------------------------------
# The init loads the filter right before execve (with a notify action: right
# before it hands the listener fd on), after every file it reads and every
# syscall of its own set-up.  Before, a notify action on a syscall the init
# made itself deadlocked create (openat of cap_last_cap, with the listener
# still waiting for its fd), and a refusing default failed the init's own
# close_range and chdir.

# start_listener: the test listener on $sock, its pid in $lpid.
start_listener() {
	sock=$BATS_TEST_TMPDIR/seccomp.sock
	rm -f "$sock"
	"$BATS_FILE_TMPDIR/seccomp-listener" "$sock" "$BATS_TEST_TMPDIR/state.json" \
		>"$BATS_TEST_TMPDIR/listener.out" 2>&1 &
	lpid=$!
	for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.05; done
	[[ -S $sock ]] || fail "listener: $(cat "$BATS_TEST_TMPDIR/listener.out")"
}

# notify_run NNP NAMES_JSON: run `hull-test-helper syscall mkdir` with those
# syscalls notified; the listener answers the first notification, ENOMSG.
notify_run() {
	start_listener
	update_config '.process.noNewPrivileges = $n | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"listenerPath": $p, "syscalls": [{"names": $s, "action": "SCMP_ACT_NOTIFY"}]}' \
		--argjson n "$1" --argjson s "$2" --arg p "$sock"
	run_helper syscall mkdir
	assert_output ENOMSG
	wait "$lpid" || fail "listener: $(cat "$BATS_TEST_TMPDIR/listener.out")"
	run cat "$BATS_TEST_TMPDIR/listener.out"
	assert_output "notified nr=$(printf '#include <sys/syscall.h>\nSYS_mkdir\n' | cpp -P | tail -n1)"
}

@test "SCMP_ACT_NOTIFY with noNewPrivileges false: the listener gets the fd and answers" {
	notify_run false '["mkdir"]'
}

@test "SCMP_ACT_NOTIFY on openat, which the init itself makes, does not deadlock (noNewPrivileges true and false)" {
	hull_only 'runc opens exec.fifo under the filter: the listener answers that openat'
	notify_run true '["openat", "mkdir"]'
	notify_run false '["openat", "mkdir"]'
}

# refusing_run NNP [EXTRA...]: a default that refuses (ERRNO ENXIO), and an
# allow list of what `hull-test-helper syscall getpid` needs and execve.
refusing_run() {
	local nnp=$1 allow
	shift
	allow=$(json_array arch_prctl brk execve exit_group getpid getrandom mprotect newfstatat prlimit64 \
		readlink rseq set_robust_list set_tid_address write "$@")
	update_config '.process.noNewPrivileges = $n | .linux.seccomp = {"defaultAction": "SCMP_ACT_ERRNO",
		"defaultErrnoRet": 6, "syscalls": [{"names": $a, "action": "SCMP_ACT_ALLOW"}]}' \
		--argjson n "$nnp" --argjson a "$allow"
	run_helper syscall getpid
	assert_success
	assert_output OK
	# and the filter is there: a syscall the list lacks is refused
	set_args "$HELPER" syscall getppid
	run hull run --bundle "$BUNDLE" "$(new_id)" </dev/null
	assert_failure
	assert_output ENXIO
}

@test "a refusing default, allowing only what the process needs and execve, runs it (noNewPrivileges true)" {
	hull_only 'runc needs read, write, close, openat and more after loading the filter'
	refusing_run true
}

@test "a refusing default without noNewPrivileges needs capset on top (CAP_SYS_ADMIN, kept to load the filter, goes)" {
	hull_only 'runc loads the filter before its whole capability drop and chdir'
	refusing_run false capset
	# nothing of CAP_SYS_ADMIN stays (the bundle does not grant it)
	seccomp '[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]'
	update_config '.process.noNewPrivileges = false'
	run_helper caps
	assert_success
	local set v
	for set in CapEff CapPrm; do
		v=$(awk -v s="$set:" '$1 == s { print $2 }' <<<"$output")
		[[ -n $v && $((0x$v & (1 << 21))) -eq 0 ]] || fail "CAP_SYS_ADMIN left in $set: $output"
	done
}
