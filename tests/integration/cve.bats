#!/usr/bin/env bats
# Regression tests for runc CVE classes; each fails on a vulnerable runtime.

load helpers

@test "CVE-2019-5736: no process in the container can reach the runtime binary through /proc/PID/exe" {
	sum_before=$(sha256sum "$RUNTIME" | cut -d' ' -f1)
	read -r dev ino < <(stat -L -c '%d %i' "$RUNTIME")
	id=$(new_id)
	# the watcher scans every /proc/PID/exe while the runtime execs into the container
	start_detached "$id" "$HELPER" exe-watch "$dev" "$ino" 6 "$id"
	wait_for_output "$id" ready
	for _ in $(seq 20); do
		hull exec "$id" "$HELPER" exit 0 || true
	done
	wait_for_status "$id" stopped 15
	run ctr_output "$id"
	assert_line safe
	refute_line --regexp '^VULNERABLE'
	assert_equal "$(sha256sum "$RUNTIME" | cut -d' ' -f1)" "$sum_before"
}

@test "CVE-2019-5736: the runtime binary is not writable via /proc/self/exe of an exec'd runtime process" {
	sum_before=$(sha256sum "$RUNTIME" | cut -d' ' -f1)
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	# a process exec'd as the binary at /proc/self/exe of the runtime's own
	# in-container process: with a cloned binary it is not the host file
	run hull exec "$id" /proc/self/exe --version
	run hull exec "$id" /bin/sh -c 'echo evil >> /proc/self/exe; echo rc=$?'
	assert_equal "$(sha256sum "$RUNTIME" | cut -d' ' -f1)" "$sum_before"
}

# hull seals the init only when other containers' processes share its pid
# namespace: this watcher may open every /proc/PID/exe (CAP_SYS_PTRACE, which
# a non-dumpable process does not keep out) while a second container that
# joins its pid namespace sits created, its init still hull's code.
@test "CVE-2019-5736: an init joining another container's pid namespace runs from a sealed binary" {
	sum_before=$(sha256sum "$RUNTIME" | cut -d' ' -f1)
	read -r dev ino < <(stat -L -c '%d %i' "$RUNTIME")
	update_config '.process.capabilities |= with_entries(.value += ["CAP_SYS_PTRACE"])'
	a=$(new_id)
	start_detached "$a" "$HELPER" exe-watch "$dev" "$ino" 4 "$a"
	wait_for_output "$a" ready
	update_config '.linux.namespaces |= map(if .type == "pid" then .path = $p else . end)' \
		--arg p "/proc/$(state_field "$a" pid)/ns/pid"
	b=$(new_id)
	create_ctr "$b" "$HELPER" sleep 100
	[[ $(state_field "$b" status) == created ]]
	wait_for_status "$a" stopped 15
	run ctr_output "$a"
	refute_line WRITABLE
	# runc 1.1 seals its init with a read-only bind mount of its own binary
	# (same inode, so the probe sees it); hull's init runs from a copy
	if ! runtime_is_runc; then
		assert_line safe
		refute_line --regexp '^VULNERABLE'
	fi
	assert_equal "$(sha256sum "$RUNTIME" | cut -d' ' -f1)" "$sum_before"
	hull delete --force "$b"
}

# With a pid namespace of its own the init is hull's unsealed, non-dumpable
# code until start: a process that joins that namespace before start reaches
# /proc/1/exe only with CAP_SYS_PTRACE, so only such an exec waits for start
# (runc always seals its init and allows every exec before start).
@test "exec before start cannot reach the init's binary; with CAP_SYS_PTRACE it waits for start" {
	hull_only "runc always seals its init and allows exec before start"
	id=$(new_id)
	create_ctr "$id" "$HELPER" sleep 100 "$id"
	run hull exec "$id" /bin/sh -c 'cat /proc/1/exe >/dev/null 2>&1 && echo REACHED; { echo x >>/proc/1/exe; } 2>/dev/null && echo WROTE; echo done'
	assert_success
	assert_output done
	run --separate-stderr hull exec --cap CAP_SYS_PTRACE "$id" "$HELPER" exit 0
	assert_exec_error "cannot exec with CAP_SYS_PTRACE in container \"$id\" before it is started"
	hull start "$id"
	run hull exec --cap CAP_SYS_PTRACE "$id" "$HELPER" exit 0
	assert_success
}

@test "CVE-2024-21626: process.cwd through a leaked fd does not reach the host" {
	host_hostname=$(cat /etc/hostname)
	for fd in 3 4 5 6 7 8 9 10; do
		update_config '.process.cwd = $c' --arg c "/proc/self/fd/$fd"
		run_helper read ../../../../../../../../../etc/hostname
		# either refused, or the path resolved inside the container
		if [[ $status -eq 0 ]]; then
			[[ $output != "$host_hostname" || $output == hull-rootfs ]] || fail "fd $fd reached the host: $output"
		fi
		refute_output --partial '(unreachable)'
	done
}

# The caller hands over a host directory on purpose (--preserve-fds): a cwd
# through it is refused, since getcwd() then reports it outside the root.
@test "CVE-2024-21626: a cwd through a preserved host directory fd is refused" {
	update_config '.process.cwd = "/proc/self/fd/3"'
	set_args "$HELPER" read ../../../../../../../../../etc/hostname
	CID=$(new_id)
	run --separate-stderr hull run --preserve-fds 1 --bundle "$BUNDLE" "$CID" 3</ </dev/null
	assert_one_line_error 'process\.cwd: /proc/self/fd/3 is outside the container'
	assert_nothing_left "$CID"
	update_config '.process.cwd = "/"'
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	run --separate-stderr hull exec --preserve-fds 1 --cwd /proc/self/fd/3 "$id" "$HELPER" read ../../../../etc/hostname 3</
	assert_exec_error 'process\.cwd: /proc/self/fd/3 is outside the container'
}

@test "CVE-2024-21626: exec --cwd through a leaked fd does not reach the host" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	host_hostname=$(cat /etc/hostname)
	for fd in 3 4 5 6 7 8 9 10; do
		run hull exec --cwd "/proc/self/fd/$fd" "$id" "$HELPER" read ../../../../../../../../../etc/hostname
		if [[ $status -eq 0 ]]; then
			[[ $output != "$host_hostname" || $output == hull-rootfs ]] || fail "fd $fd reached the host: $output"
		fi
	done
}

@test "CVE-2022-29162: exec does not grant inheritable capabilities" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	run hull exec "$id" "$HELPER" caps
	assert_line 'CapInh: 0000000000000000'
}

@test "CVE-2016-9962: the runtime's in-container processes are not ptrace-able or dumpable" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	# while an exec is in flight, no process in the container may expose fds
	# of the runtime: every /proc/PID/fd listing it can read shows only its own
	exec 7</etc/hostname
	run hull exec "$id" /bin/sh -c 'for p in /proc/[0-9]*; do ls -l $p/fd 2>/dev/null; done'
	exec 7<&-
	refute_output --partial '/etc/hostname'
	refute_output --partial "$ROOT"
}

@test "a container cannot see or signal host processes" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	run hull exec "$id" /bin/sh -c "kill -0 $$ 2>&1 && echo reached || echo isolated"
	assert_output --partial isolated
}
