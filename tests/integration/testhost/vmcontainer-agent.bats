#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull agent as the guest's PID 1, driven straight over vsock: `hull vm run`
# boots the guest image of `make guest` (/init = hull, no arguments: the
# agent) with the bundle's rootfs shared by `hull virtiofsd` (tag "hull"),
# and tests/integration/agent-client.py speaks the agent protocol through the
# VMM's hybrid vsock socket.  The agent runs hull's own create/start/exec/kill
# in the guest.  Without the host side (vmcontainer/), which
# vmcontainer.bats covers.  Inputs: tests/prepare.d/60-guest.sh, make bundle.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ../bounded
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
HULL_BIN=${HULL:-$REPO/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$REPO/$HULL_BIN
G=$REPO/build/guest
BUNDLE=$REPO/build/bundle
CLIENT=$REPO/tests/integration/agent-client.py

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	for f in $G/vmlinuz $G/initramfs.cpio $BUNDLE/config.json; do
		[ -f "$f" ] || { echo "missing $f: run make guest bundle" >&3; return 1; }
	done
	T=$BATS_TEST_TMPDIR
	"$HULL_BIN" virtiofsd --socket-path "$T/fs.sock" --shared-dir "$BUNDLE/rootfs" </dev/null >"$T/fsd.log" 2>&1 &
	FSD=$!
	local i
	for ((i = 0; i < 600; i++)); do
		[[ -S $T/fs.sock ]] && break
		kill -0 "$FSD" 2>/dev/null || break
		sleep 0.1
	done
	[[ -S $T/fs.sock ]] || fail "virtiofsd did not listen: $(cat "$T/fsd.log")"
	"$HULL_BIN" vm run --kernel "$G/vmlinuz" --initrd "$G/initramfs.cpio" --memory 512 --cpus 2 \
		--fs "tag=hull,socket=$T/fs.sock" --vsock "cid=3,uds=$T/v.sock" \
		--cmdline "console=ttyS0 quiet panic=-1 rdinit=/init" </dev/null >"$T/console.log" 2>&1 &
	VM=$!
}

teardown() {
	[[ -n ${VM:-} ]] && kill -KILL "$VM" 2>/dev/null
	[[ -n ${FSD:-} ]] && kill -KILL "$FSD" 2>/dev/null
	echo "--- guest console:" >&3
	tail -n 60 "$T/console.log" >&3 || true
}

# request_for ID ARGS-JSON: a create request: the bundle's config with the
# rootfs where the agent mounts the share (the file server serves it as rootfs/).
request_for() {
	jq -c --arg id "$1" --argjson a "$2" \
		'.root.path = "/run/share/rootfs" | .process.args = $a' "$BUNDLE/config.json" |
		jq -Rc --arg id "$1" '{id: $id, config: .}'
}

create_bg() {
	local id=$1 args=$2
	shift 2
	(rc=0; "$CLIENT" --vsock --response "$T/$id.resp" "$@" "$T/v.sock" create "$(request_for "$id" "$args")" \
		>"$T/$id.out" 2>"$T/$id.err" </dev/null || rc=$?; echo $rc >"$T/$id.rc") &
	local i
	for ((i = 0; i < 6000; i++)); do
		[[ -s $T/$id.resp || -s $T/$id.rc ]] && break
		sleep 0.1
	done
	[[ -s $T/$id.resp ]] || fail "no create response: $(cat "$T/$id.err")"
}

wait_rc() {
	local i
	for ((i = 0; i < 6000; i++)); do
		[[ -s $T/$1.rc ]] && break
		sleep 0.1
	done
	cat "$T/$1.rc"
}

agent() {
	run "$CLIENT" --vsock "$T/v.sock" "$@"
}

exec_req() {
	jq -nc --arg id "$1" --argjson args "$2" \
		'{id: $id, process: {args: $args, cwd: "/", env: ["PATH=/bin:/usr/bin", "TERM=dumb"], user: {uid: 0, gid: 0}}}'
}

@test "guest agent: PID 1 serves create/start/exec/kill over vsock and powers off on shutdown" {
	# pipes both ways, the exit code of the container's init
	create_bg c1 '["/bin/sh","-c","echo hi; read x; echo got $x; exit 7"]' --stdin $'in\n'
	run jq -e '.ok == true and .pid > 1' "$T/c1.resp"
	assert_success
	agent start '{"id":"c1"}'
	assert_success
	assert_equal "$(wait_rc c1)" 7
	assert_equal "$(cat "$T/c1.out")" $'hi\ngot in'
	# one agent came up (the first /init execs itself again from its tmpfs root)
	run grep -c 'hull agent: ready on vsock port 1024' "$T/console.log"
	assert_output 1
	# the container is built in the guest by container mode's code: its own
	# pid namespace, the config's hostname, the exec'd process's capabilities
	# (its process object names none: CapEff 0, root or not)
	create_bg s1 '["/bin/sleep","1000"]'
	agent start '{"id":"s1"}'
	run "$CLIENT" --vsock --response "$T/e.resp" "$T/v.sock" exec \
		"$(exec_req s1 '["/bin/sh","-c","echo $$; hostname; grep CapEff /proc/self/status; exit 3"]')"
	[[ $status -eq 3 ]] || fail "exec: $output"
	assert_line --index 0 --regexp '^[0-9]+$'
	assert_line --index 1 "$(jq -r .hostname "$BUNDLE/config.json")"
	assert_line --index 2 --regexp '^CapEff:[[:space:]]+0000000000000000$'
	# a tty whose size comes from RESIZE
	run "$CLIENT" --vsock --tty --resize 33x77 --stdin $'stty size; exit 4\n' "$T/v.sock" exec \
		"$(exec_req s1 '["/bin/sh"]')"
	assert_equal "$status" 4
	assert_output --partial $'33 77\r'
	agent ps '{"id":"s1"}'
	assert_success
	agent kill '{"id":"s1","signal":9}'
	assert_success
	assert_equal "$(wait_rc s1)" 137
	# shutdown: delete everything, power off (the VMM exits 0, not a panic)
	agent shutdown
	assert_success
	local rc=0
	wait "$VM" || rc=$?
	VM=
	assert_equal "$rc" 0
}
