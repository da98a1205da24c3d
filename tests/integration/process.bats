#!/usr/bin/env bats
# process.*: what the container process observes.

load helpers

# cap_mask CAP_NUMBER...: the 16-hex-digit mask /proc/self/status prints.
cap_mask() {
	local m=0 c
	for c in "$@"; do m=$((m | (1 << c))); done
	printf '%016x\n' "$m"
}

@test "args and env reach the process" {
	update_config '.process.env = ["PATH=/bin", "FOO=bar baz", "EMPTY="]'
	run_ctr /bin/sh -c 'echo "$FOO|$EMPTY|$PATH|$0|$1" ; env | sort' arg0 arg1
	assert_success
	assert_line --index 0 'bar baz||/bin|arg0|arg1'
	refute_line --regexp '^TERM='
}

@test "args[0] is looked up in the container's PATH" {
	update_config '.process.env = ["PATH=/usr/local/bin:/bin"]'
	run_ctr hull-test-helper cwd
	assert_success
	assert_output /
}

@test "cwd" {
	update_config '.process.cwd = "/etc"'
	run_helper cwd
	assert_success
	assert_output /etc
}

@test "user uid, gid and additionalGids" {
	update_config '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [1001, 2000]}'
	run_helper id
	assert_success
	assert_line 'Uid: 1000 1000 1000 1000'
	assert_line 'Gid: 1000 1000 1000 1000'
	assert_line 'Groups: 1001 2000'
}

@test "root without additionalGids has no supplementary groups" {
	run_helper status Groups
	assert_output 'Groups:'
}

@test "user.umask" {
	update_config '.process.user.umask = 63'
	run_helper umask
	assert_output 0077
}

@test "the default umask is 0022" {
	run_helper umask
	assert_output 0022
}

@test "rlimits are applied" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
		{"type": "RLIMIT_CORE", "soft": 0, "hard": 0}, {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400}]'
	run_ctr /bin/sh -c "$HELPER rlimit NOFILE; $HELPER rlimit CORE; $HELPER rlimit NPROC"
	assert_success
	assert_line --index 0 '512 1024'
	assert_line --index 1 '0 0'
	assert_line --index 2 '300 400'
}

@test "raising RLIMIT_NOFILE above the hard limit without CAP_SYS_RESOURCE fails clearly and leaves nothing" {
	eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	if (((0x$eff >> 24) & 1)); then
		skip "this host's root has CAP_SYS_RESOURCE: raising would succeed"
	fi
	hard=$(ulimit -Hn)
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": $h, "hard": $h}]' --argjson h $((hard * 4))
	id=$(new_id)
	set_args "$HELPER" sleep 100 "$id"
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_failure
	assert_one_line_error 'setrlimit.*RLIMIT_NOFILE.*(Operation not permitted|EPERM)'
	runtime_is_runc || [[ $stderr == *RLIMIT_NOFILE* ]]
	assert_nothing_left "$id"
}

@test "capabilities: the default set in every capability set that is configured" {
	run_helper caps
	assert_success
	want=$(cap_mask 5 10 29) # KILL, NET_BIND_SERVICE, AUDIT_WRITE
	assert_line "CapEff: $want"
	assert_line "CapPrm: $want"
	assert_line "CapBnd: $want"
	# ambient needs inheritable too (capabilities(7)); the config has none
	assert_line "CapInh: 0000000000000000"
	assert_line "CapAmb: 0000000000000000"
}

@test "capabilities: bounding without effective grants nothing" {
	update_config '.process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"]}'
	run_helper caps
	assert_line "CapBnd: $(cap_mask 0 21)"
	assert_line "CapEff: 0000000000000000"
	assert_line "CapPrm: 0000000000000000"
}

@test "capabilities: an effective capability works, a missing one does not" {
	update_config '.process.capabilities = {"bounding": ["CAP_SYS_ADMIN"], "effective": ["CAP_SYS_ADMIN"], "permitted": ["CAP_SYS_ADMIN"]}'
	run_helper syscall sethostname
	assert_output OK
	update_config '.process.capabilities = {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]}'
	run_helper syscall sethostname
	assert_output EPERM
}

@test "capabilities survive the switch to a non-root user through ambient" {
	update_config '.process.user = {"uid": 1000, "gid": 1000} |
		.process.capabilities = {"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
		"permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}'
	run_helper caps
	assert_line "CapEff: $(cap_mask 10)"
	assert_line "CapAmb: $(cap_mask 10)"
}

@test "a non-root user without ambient capabilities has none effective" {
	update_config '.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities.ambient = []'
	run_helper caps
	assert_line "CapEff: 0000000000000000"
	assert_line "CapBnd: $(cap_mask 5 10 29)"
}

@test "noNewPrivileges true and false" {
	run_helper status NoNewPrivs
	assert_output 'NoNewPrivs: 1'
	update_config '.process.noNewPrivileges = false'
	run_helper status NoNewPrivs
	assert_output 'NoNewPrivs: 0'
}

@test "oomScoreAdj" {
	update_config '.process.oomScoreAdj = 500'
	run_helper oom
	assert_output 500
}

@test "sysctl in a new network namespace; the host's value is untouched" {
	host=$(cat /proc/sys/net/ipv4/ip_forward)
	want=$((1 - host))
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": ($v | tostring)}' --argjson v "$want"
	run_helper read /proc/sys/net/ipv4/ip_forward
	assert_success
	assert_output "$want"
	assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$host"
}

@test "a sysctl of a namespace the container does not own is refused" {
	update_config '.linux.sysctl = {"kernel.pid_max": "40000"}'
	id=$(new_id)
	set_args "$HELPER" exit 0
	before=$(cat /proc/sys/kernel/pid_max)
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'kernel\.pid_max'
	assert_equal "$(cat /proc/sys/kernel/pid_max)" "$before"
	assert_nothing_left "$id"
}

@test "an RT policy needs an RT budget under v1 RT group scheduling" {
	[[ -f /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]] || skip "no v1 RT group scheduling on this host"
	update_config '.process.capabilities.bounding += ["CAP_SYS_NICE"] |
		.process.capabilities.effective += ["CAP_SYS_NICE"] | .process.capabilities.permitted += ["CAP_SYS_NICE"]'
	run_helper rt 10
	assert_output EPERM
	update_config '.linux.resources.cpu = {"realtimeRuntime": 10000, "realtimePeriod": 1000000}'
	run_helper rt 10
	assert_success
	assert_output OK
}

@test "personality LINUX32" {
	runtime_is_runc && skip "runc 1.1 has no linux.personality (runtime-spec 1.1)"
	update_config '.linux.personality = {"domain": "LINUX32"}'
	run_helper personality
	assert_success
	assert_output 'LINUX32 0x0008'
}

@test "ioPriority" {
	runtime_is_runc && skip "runc 1.1 has no process.ioPriority (runtime-spec 1.1)"
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
	run_helper ioprio
	assert_output 'IOPRIO_CLASS_IDLE 0'
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 6}'
	run_helper ioprio
	assert_output 'IOPRIO_CLASS_BE 6'
}

@test "scheduler: SCHED_BATCH with nice, and SCHED_FIFO with a priority" {
	runtime_is_runc && skip "runc 1.1 has no process.scheduler (runtime-spec 1.1)"
	update_config '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 5}'
	run_helper sched
	assert_output 'SCHED_BATCH priority=0 nice=5'
	# with v1 RT group scheduling a new cgroup has no RT budget: give it one
	update_config '.process.scheduler = {"policy": "SCHED_FIFO", "priority": 10} |
		.linux.resources.cpu = {"realtimeRuntime": 10000, "realtimePeriod": 1000000}'
	run_helper sched
	# the kernel keeps an RT task's nice as it was: the caller's (make check may run niced)
	assert_output "SCHED_FIFO priority=10 nice=$(nice)"
}

@test "scheduler: without process.scheduler the process keeps the caller's policy" {
	# hull forks its stage as SCHED_BATCH for a moment: nothing of it may stay
	run_helper sched
	assert_output "SCHED_OTHER priority=0 nice=$(nice)"
	set_args "$HELPER" sched
	run chrt --batch 0 "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$(new_id)" </dev/null
	assert_output "SCHED_BATCH priority=0 nice=$(nice)"
}

@test "an unknown scheduler policy fails and leaves nothing" {
	hull_only "runc 1.1 ignores process.scheduler"
	update_config '.process.scheduler = {"policy": "SCHED_NOPE"}'
	id=$(new_id)
	set_args "$HELPER" exit 0
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'process\.scheduler\.policy'
	assert_nothing_left "$id"
}

# assert_uts_sysctl_refused FIELD: kernel.FIELD as a sysctl beside the FIELD
# field is refused before the process (which would print FIELD) runs.
assert_uts_sysctl_refused() {
	update_config ".$1 = \"field\" | .linux.sysctl = {\"kernel.$1\": \"sysctl\"}"
	id=$(new_id)
	set_args "$HELPER" "$1"
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error "linux\\.sysctl: \"kernel\\.$1\" is not allowed: use the $1 field"
	assert_equal "$output" ""
	assert_nothing_left "$id"
}

@test "sysctl kernel.hostname is refused: the hostname field sets it" {
	assert_uts_sysctl_refused hostname
}

@test "sysctl kernel.domainname is refused: the domainname field sets it" {
	hull_only "runc 1.1 predates the domainname field and accepts the sysctl"
	assert_uts_sysctl_refused domainname
}

# assert_env_entry_refused ENTRY: run with ENTRY appended to process.env.
assert_env_entry_refused() {
	update_config '.process.env += [$e]' --arg e "$1"
	id=$(new_id)
	set_args "$HELPER" exit 0
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error "process\\.env\\[2\\]: \"$1\" is not KEY=value"
	assert_nothing_left "$id"
}

@test "a process.env entry without '=' is refused, naming its index" {
	assert_env_entry_refused NOEQUALS
}

@test "a process.env entry with an empty name is refused" {
	assert_env_entry_refused =value
}

@test "exec --env without '=' is refused and runs nothing" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 || fail "run -d: $(ctr_output "$id")"
	run_nopipe hull exec --env NOEQUALS "$id" "$HELPER" exit 0
	[[ $status -ne 0 ]] || fail "exec succeeded"
	if ! runtime_is_runc; then
		[[ $stderr =~ process\.env\[[0-9]+\]:\ \"NOEQUALS\"\ is\ not\ KEY=value ]] || fail "stderr: $stderr"
	fi
}

# ---- HOME and cwd (runc's init) ----

# assert_home JQ_FILTER WANT: with the config edited by JQ_FILTER, the
# process sees HOME=WANT.
assert_home() {
	update_config "$1"
	run_ctr /bin/sh -c 'echo "HOME=$HOME"'
	assert_success
	assert_output "HOME=$2"
}

@test "HOME comes from the container's /etc/passwd when process.env has none" {
	assert_home '.process.env = ["PATH=/bin"]' /root
	assert_home '.process.user = {"uid": 1000, "gid": 1000}' /home/test
}

@test "HOME is / for a uid without a passwd entry, and process.env's HOME wins" {
	assert_home '.process.env = ["PATH=/bin"] | .process.user = {"uid": 4242, "gid": 4242}' /
	assert_home '.process.env += ["HOME=/given"]' /given
}

@test "hostile rootfs: an /etc/passwd that is a FIFO does not block; HOME is /" {
	hull_only "runc 1.1 opens /etc/passwd with a blocking open"
	private_rootfs
	rm -f "$BUNDLE/rootfs/etc/passwd"
	mkfifo "$BUNDLE/rootfs/etc/passwd"
	assert_home '.process.env = ["PATH=/bin"]' /
}

@test "a missing process.cwd is created (0755, root) and the process starts in it" {
	# /tmp is the config's tmpfs: nothing is created in the shared rootfs
	update_config '.process.cwd = "/tmp/a/b" | .process.user = {"uid": 1000, "gid": 1000}'
	run_ctr /bin/sh -c "$HELPER cwd; $HELPER stat /tmp/a; $HELPER stat /tmp/a/b"
	assert_success
	assert_line --index 0 "/tmp/a/b"
	[[ ${lines[1]} =~ ^dir\ 0?755\ .*\ 0\ 0$ ]] || fail "/tmp/a: ${lines[1]}"
	[[ ${lines[2]} =~ ^dir\ 0?755\ .*\ 0\ 0$ ]] || fail "/tmp/a/b: ${lines[2]}"
}

# cwd_volume: $BATS_TEST_TMPDIR/vol mounted at /vol, with rootonly (0700,
# root) and useronly (0700, uid 1000).
cwd_volume() {
	mkdir -p "$BATS_TEST_TMPDIR/vol/rootonly" "$BATS_TEST_TMPDIR/vol/useronly"
	chmod 0755 "$BATS_TEST_TMPDIR/vol"
	chmod 0700 "$BATS_TEST_TMPDIR/vol/rootonly" "$BATS_TEST_TMPDIR/vol/useronly"
	chown 1000:1000 "$BATS_TEST_TMPDIR/vol/useronly"
	update_config '.mounts += [{"destination": "/vol", "type": "bind", "source": $s, "options": ["rbind"]}]
		| .process.user = {"uid": 1000, "gid": 1000}' --arg s "$BATS_TEST_TMPDIR/vol"
}

@test "a cwd only root can enter: chdir happens before the user switch" {
	cwd_volume
	update_config '.process.cwd = "/vol/rootonly"'
	run_helper cwd
	assert_success
	assert_output "/vol/rootonly"
}

@test "a cwd only the user can enter: chdir is tried again after the user switch" {
	cwd_volume
	# Seen through a mount that maps only id 1000, the directory's group
	# (4242) has no mapping, so root's CAP_DAC_OVERRIDE does not apply to it
	# (capable_wrt_inode_uidgid): root is refused, its owner 1000 is not.
	# (runc 1.1 has no idmapped mounts: root enters a plain bind at once.)
	chown 1000:4242 "$BATS_TEST_TMPDIR/vol/useronly"
	update_config '.mounts[-1].options += ["idmap"]
		| .mounts[-1].uidMappings = [{"containerID": 1000, "hostID": 1000, "size": 1}]
		| .mounts[-1].gidMappings = [{"containerID": 1000, "hostID": 1000, "size": 1}]
		| .process.cwd = "/vol/useronly"'
	run_ctr /bin/sh -c "$HELPER cwd; $HELPER stat /vol/useronly"
	assert_success
	assert_line --index 0 "/vol/useronly"
	if ! runtime_is_runc; then
		[[ ${lines[1]} =~ ^dir\ 0?700\ .*\ 1000\ 65534$ ]] || fail "not idmapped as expected: ${lines[1]}"
	fi
}

@test "the init leads its own session and process group inside the pid namespace" {
	run_helper pgrp
	assert_success
	assert_output "pgrp=1 sid=1 pid=1"
}
