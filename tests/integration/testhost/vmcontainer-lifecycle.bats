#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# VM-isolated containers behave like containers for runc's callers
# (docs/vm-containers.md): OCI hooks (the runtime namespace's on the host,
# the container's in the guest), OOM events, exec --cgroup, the init's tty
# following the console's window size, and the lifecycle's refusals with
# container mode's words.  Inside the test host (run-all stage testhost-vm):
# tests/testhost/run-suite tests/integration/testhost/vmcontainer-lifecycle.bats

load ../helpers

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
}

setup() {
	setup_common
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	HULL_VM=$BATS_TEST_TMPDIR/bin/hull-vm
	mkdir -p "${HULL_VM%/*}"
	ln -s "$RUNTIME" "$HULL_VM"
	private_rootfs
}

hull_vm() {
	timeout -k 30 600 "$HULL_VM" --root "$ROOT" "$@"
}

assert_vm_gone() {
	local id=$1
	assert_nothing_left "$id"
	assert_no_cgroup "$id"
	if pgrep -f -- "virtiofsd.*$BUNDLE" >/dev/null; then
		fail "file server left behind: $(pgrep -af -- "virtiofsd.*$BUNDLE")"
	fi
}

# hook SCRIPT: a hook object running /bin/sh -c SCRIPT (the state on its stdin).
hook() {
	jq -nc --arg s "$1" '{path: "/bin/sh", args: ["sh", "-c", $s], env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}'
}

@test "vmcontainer hooks: prestart/createRuntime on the host, createContainer/startContainer in the guest" {
	local id pid T=$BATS_TEST_TMPDIR bundle
	id=$(new_id)
	bundle=$(realpath "$BUNDLE")
	update_config '.root.readonly = false'
	# host hooks write where only the host can; the guest's write into the rootfs
	# (createContainer's cwd is the rootfs, as runc; its path resolves in the
	# rootfs, but the guest's own root has no /bin: shell builtins only;
	# startContainer runs inside the container)
	update_config '.hooks = {prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
		startContainer: [$sc], poststart: [$ps]}' \
		--argjson pre "$(hook "cat >$T/prestart.json")" --argjson cr "$(hook "cat >$T/createRuntime.json")" \
		--argjson cc "$(hook 'read -r s; echo "$s" >createContainer.json')" --argjson sc "$(hook 'cat >/startContainer.json')" \
		--argjson ps "$(hook "cat >$T/poststart.json")"
	set_args /bin/sh -c 'echo up; while :; do sleep 1; done'
	hull_vm create --bundle "$BUNDLE" --pid-file "$T/pid" "$id" >"$T/$id.out" 2>&1 </dev/null 3>&-
	pid=$(cat "$T/pid")
	local f
	for f in prestart createRuntime; do
		[ -s "$T/$f.json" ] || fail "the $f hook did not run on the host"
		run jq -e --arg id "$id" --argjson pid "$pid" --arg b "$bundle" \
			'.id == $id and .status == "creating" and .pid == $pid and .bundle == $b' "$T/$f.json"
		assert_success
	done
	# createContainer ran in the guest before create returned, from the rootfs
	run jq -e --arg id "$id" '.id == $id and .status == "creating"' "$BUNDLE/rootfs/createContainer.json"
	assert_success
	[ ! -e "$BUNDLE/rootfs/startContainer.json" ]
	[ ! -e "$T/poststart.json" ]
	hull start "$id"
	wait_for_output "$id" up 120
	run jq -e --arg id "$id" '.id == $id and .status == "running"' "$BUNDLE/rootfs/startContainer.json"
	assert_success
	run jq -e --arg id "$id" --argjson pid "$pid" '.id == $id and .status == "running" and .pid == $pid' \
		"$T/poststart.json"
	assert_success
	hull delete --force "$id"
	assert_vm_gone "$id"
}

@test "vmcontainer hooks: a failing prestart or createRuntime hook fails create as in container mode, nothing left" {
	local id cid kind
	for kind in prestart createRuntime; do
		id=$(new_id)
		update_config '.hooks = {($k): [{path: "/bin/false"}]}' --arg k "$kind"
		set_args /bin/true
		run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
		assert_one_line_error "^hull: create: hook $kind\\[0\\] /bin/false: exit status 1\$"
		assert_vm_gone "$id"
		# container mode's words exactly
		local vm_err=$stderr
		cid=$(new_id)
		run_nopipe hull create --bundle "$BUNDLE" "$cid"
		[ "$stderr" = "${vm_err//$id/$cid}" ] || fail "container mode: $stderr; VM: $vm_err"
	done
}

@test "vmcontainer events: an OOM kill in the guest is an oom event; exec 137; the stream ends with the container" {
	local id
	id=$(new_id)
	update_config '.linux.resources.memory = {"limit": 33554432}'
	set_args /bin/sh -c 'echo up; while :; do sleep 1; done'
	hull_vm run -d --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null 3>&-
	wait_for_output "$id" up 120
	start_events "$id" "$BATS_TEST_TMPDIR/events" 120
	run_nopipe hull exec "$id" /bin/sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
	[ "$status" -eq 137 ] || fail "exec: status $status: $output $stderr"
	wait_for_match "$BATS_TEST_TMPDIR/events" '"type": *"oom"' 120 ||
		fail "no oom event: $(head -c 600 "$BATS_TEST_TMPDIR/events")"
	run jq -c --arg id "$id" 'select(.type == "oom") | .id == $id' "$BATS_TEST_TMPDIR/events"
	assert_line true
	refute_line false
	hull kill "$id" KILL
	wait_for_status "$id" stopped 120
	# the container gone, the stream ends (runc's events does the same)
	local i
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$EVPID" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$EVPID" 2>/dev/null || fail "events still runs after the container stopped"
	hull delete "$id"
	assert_vm_gone "$id"
}

@test "vmcontainer exec --cgroup: a sub-cgroup of the container's cgroup in the guest" {
	local id
	id=$(new_id)
	update_config '.linux.namespaces += [{"type": "cgroup"}]
		| .mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup", "options": ["rw"]}]'
	set_args /bin/sh -c 'echo up; while :; do sleep 1; done'
	hull_vm run -d --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null 3>&-
	wait_for_output "$id" up 120
	run hull exec "$id" cat /proc/self/cgroup
	assert_success
	assert_output '0::/'
	hull exec "$id" mkdir /sys/fs/cgroup/sub
	run hull exec --cgroup sub "$id" cat /proc/self/cgroup
	assert_success
	assert_output '0::/sub'
	# one that does not exist: the guest's hull refuses it, one line
	run_nopipe hull exec --cgroup nosuch "$id" /bin/true
	ONE_LINE_STATUS=255 assert_one_line_error '^hull: exec: .*--cgroup: .*nosuch'
	hull delete --force "$id"
	assert_vm_gone "$id"
}

@test "vmcontainer terminal: the init's tty follows the console's window size" {
	local id py=$BATS_TEST_TMPDIR/resize.py
	id=$(new_id)
	# the console socket's receiver: after the init's first line, set the
	# master's size (TIOCSWINSZ), then type a line; everything read goes to stdout
	cat >"$py" <<'EOF'
import fcntl, os, socket, struct, sys, termios
path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind(path)
ls.listen(1)
print("listening", flush=True)
conn, _ = ls.accept()
_, fds, _, _ = socket.recv_fds(conn, 256, 1)
master, out, resized = fds[0], b"", False
while True:
    try:
        b = os.read(master, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
    sys.stdout.buffer.write(b)
    sys.stdout.flush()
    if not resized and b"\n" in out:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.write(master, b"go\n")
        resized = True
EOF
	python3 "$py" "$BATS_TEST_TMPDIR/console.sock" 33 77 >"$BATS_TEST_TMPDIR/tty.out" 2>"$BATS_TEST_TMPDIR/tty.err" 3>&- &
	local rpid=$! i
	for ((i = 0; i < 600; i++)); do [[ -S $BATS_TEST_TMPDIR/console.sock ]] && break; sleep 0.1; done
	update_config '.process.terminal = true'
	set_args /bin/sh -c 'stty size; read x; stty size'
	hull_vm create --bundle "$BUNDLE" --console-socket "$BATS_TEST_TMPDIR/console.sock" "$id" </dev/null 3>&-
	hull start "$id"
	wait_for_status "$id" stopped 300
	# an init that exits: the guest powers off (a SIGKILL does not wait for it)
	grep -q "reboot: Power down" "$ROOT/$id/console.log" || fail "no power-off: $(tail -n 5 "$ROOT/$id/console.log")"
	wait "$rpid" || fail "receiver: $(cat "$BATS_TEST_TMPDIR/tty.err")"
	run tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out"
	assert_output --partial $'go\n33 77'
	hull delete "$id"
	assert_vm_gone "$id"
}

@test "vmcontainer lifecycle: start twice, delete running, kill/ps/exec stopped: container mode's answers" {
	local id
	id=$(new_id)
	set_args /bin/sh -c 'echo up; while :; do sleep 1; done'
	hull_vm create --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null 3>&-
	# a created container takes exec and ps as in container mode
	run hull ps --format json "$id"
	assert_success
	hull start "$id"
	wait_for_output "$id" up 120
	run_nopipe hull start "$id"
	assert_one_line_error "^hull: start: cannot start container \"$id\": it is running\$"
	run_nopipe hull delete "$id"
	assert_one_line_error "^hull: delete: cannot delete container \"$id\" that is not stopped: running\$"
	[ "$(state_field "$id" status)" = running ]
	hull kill "$id" KILL
	wait_for_status "$id" stopped 120
	run_nopipe hull kill "$id" TERM
	assert_one_line_error "^hull: kill: container \"$id\" is not running\$"
	run_nopipe hull start "$id"
	assert_one_line_error "^hull: start: cannot start container \"$id\": it is stopped\$"
	run_nopipe hull exec "$id" /bin/true
	ONE_LINE_STATUS=255 assert_one_line_error "^hull: exec: cannot exec in container \"$id\": it is stopped\$"
	# ps of a stopped container: nothing, no error (its VM is gone)
	run hull ps --format json "$id"
	assert_success
	assert_output '[]'
	run hull kill --all "$id" KILL
	assert_success
	run hull delete "$id"
	assert_success
	assert_vm_gone "$id"
}
