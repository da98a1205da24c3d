#!/usr/bin/env bats
# containerd-shim-hull-v2 (shim/, docs/shim.md) driven by Debian's containerd
# 1.6: a private containerd (own config, root, state, sockets under
# $BATS_FILE_TMPDIR; never /run/containerd) whose PATH finds the shim as a
# link to $HULL.  Images come from an OCI archive built here from the test
# bundle's rootfs (no registry).  hull-only: runc has no shim of its own here.
# containerd runs in a mount namespace of its own (its snapshot mounts and the
# shims' rootfs mounts are not the machine's), in the containerd namespace
# $NS, so ctr's default cgroupsPath is /$NS/ID: the test's own cgroups.

NS=hull-shim-test

load helpers
load engines

setup() { :; }
# A failed test leaves nothing running for the next one.
teardown() { [[ -n ${D:-} ]] && containerd_clean; }

setup_file() {
	runtime_is_runc && skip "the shim is hull's (containerd-shim-hull-v2)"
	repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	rootfs=${HULL_BUNDLE:-$repo/build/bundle}
	[[ $rootfs == /* ]] || rootfs=$repo/$rootfs
	export rootfs
	mkdir -p "$BATS_FILE_TMPDIR/bin"
	[[ -e /run/containerd ]] && touch "$BATS_FILE_TMPDIR/had-run-containerd"
	ln -s "$RUNTIME" "$BATS_FILE_TMPDIR/bin/containerd-shim-hull-v2"
	containerd_start "$BATS_FILE_TMPDIR" PATH="$BATS_FILE_TMPDIR/bin:$PATH" \
		HULL_SHIM_ROOT="$BATS_FILE_TMPDIR/hullroot"
	make_image "$rootfs/rootfs"
	c image import "$D/image.tar" >/dev/null
}

teardown_file() {
	[[ -f $D/containerd.pid ]] || return 0
	containerd_clean
	containerd_stop
	# A shim containerd lost (a failed test) would outlive the file.
	local pid
	for pid in $(pgrep -f "^$D/bin/containerd-shim-hull-v2 "); do kill -KILL "$pid" || true; done
	# Its mount namespace went with it; the cgroup parents it made go now.
	rmdir /sys/fs/cgroup/*/"$NS" 2>/dev/null || true
}

crun() { c run --fifo-dir "$D/fifo" --runtime io.containerd.hull.v2 "$@"; }

# Nothing of container $1 remains: task, container, shim, hull state, mounts.
assert_gone() {
	! c task ls -q | grep -qx "$1"
	! c container ls -q | grep -qx "$1"
	[[ ! -e $D/hullroot/$NS/$1 ]]
	[[ ! -e $D/state/io.containerd.runtime.v2.task/$NS/$1 ]]
	run grep -c " $D/state/io.containerd.runtime.v2.task/$NS/$1/" "/proc/$(cat "$D/containerd.pid")/mountinfo"
	assert_output 0
	run ls -d /sys/fs/cgroup/*/"$NS/$1"
	assert_failure
	run ls "$D/s"
	assert_output ""
	run pgrep -f "^$D/bin/containerd-shim-hull-v2 .*-id $1 "
	assert_failure
}

@test "shim: ctr run of an image: stdout and the exit code come back, nothing is left" {
	run crun --rm localhost/hull-test:latest img1 sh -c 'echo out; echo err >&2; exit 7'
	assert_equal "$status" 7
	assert_line out
	assert_line err
	assert_gone img1
}

@test "shim: ctr run --rootfs (a directory, no snapshot mount) exit code" {
	run crun --rm --rootfs "$rootfs/rootfs" dir1 sh -c 'exit 3'
	assert_equal "$status" 3
	assert_gone dir1
}

@test "shim: detached task: ls, ps, pause, resume, kill, delete" {
	crun -d localhost/hull-test:latest det1 sleep 1000
	run c task ls
	assert_line --regexp '^det1 +[0-9]+ +RUNNING$'
	pid=$(c task ls | awk '$1 == "det1" {print $2}')
	[[ $(cat "/proc/$pid/comm") == sleep ]]
	# The task's cgroups are the test's own (/$NS/ID), removed by delete.
	run ls -d /sys/fs/cgroup/*/"$NS/det1"
	assert_success
	run c task ps det1
	assert_line --regexp "^$pid "
	c task pause det1
	run c task ls
	assert_line --regexp '^det1 +[0-9]+ +PAUSED$'
	run "$RUNTIME" --root "$D/hullroot/$NS" state det1
	assert_output --partial '"status": "paused"'
	c task resume det1
	run c task ls
	assert_line --regexp '^det1 +[0-9]+ +RUNNING$'
	c task kill -s KILL det1
	for _ in $(seq 100); do c task ls | grep -q '^det1 .*STOPPED' && break; sleep 0.1; done
	run c task ls
	assert_line --regexp '^det1 +[0-9]+ +STOPPED$'
	run c task rm det1
	assert_success
	c container rm det1
	assert_gone det1
}

@test "shim: kill --all reaches every process of the task" {
	crun -d localhost/hull-test:latest all1 sh -c 'sleep 1000 & sleep 1000 & wait'
	for _ in $(seq 100); do [[ $(c task ps all1 | tail -n +2 | wc -l) -ge 3 ]] && break; sleep 0.1; done
	run c task ps all1
	assert_equal "$(tail -n +2 <<< "$output" | wc -l)" 3
	c task kill --all -s KILL all1
	for _ in $(seq 100); do c task ls | grep -q '^all1 .*STOPPED' && break; sleep 0.1; done
	run c task ls
	assert_line --regexp '^all1 +[0-9]+ +STOPPED$'
	c task rm all1
	c container rm all1
	assert_gone all1
}

@test "shim: a container created first, its task started later" {
	c container create --runtime io.containerd.hull.v2 localhost/hull-test:latest cr1 sleep 1000
	c task start --fifo-dir "$D/fifo" -d cr1 2>/dev/null || true
	run c task ls
	assert_line --regexp '^cr1 +[0-9]+ +RUNNING$'
	c task kill -s KILL cr1
	for _ in $(seq 100); do c task ls | grep -q '^cr1 .*STOPPED' && break; sleep 0.1; done
	c task rm cr1
	c container rm cr1
	assert_gone cr1
}

# The shim's socket takes hostile frames on one connection and keeps serving
# containerd on its own.
@test "shim: a malformed frame closes only that connection" {
	crun -d localhost/hull-test:latest bad1 sleep 1000
	sock=$(ls "$D"/s/hull-*)
	run python3 - "$sock" <<-'PY'
	import socket, struct, sys
	def conn():
	    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(30); return s
	def closed(s):
	    while True:
	        b = s.recv(4096)
	        if not b: return True
	# unknown message type
	s = conn(); s.sendall(struct.pack(">IIBB", 0, 1, 9, 0)); print("type", closed(s))
	# over 4 MiB
	s = conn(); s.sendall(struct.pack(">IIBB", (4 << 20) + 1, 1, 1, 0)); print("size", closed(s))
	# unknown method: UNIMPLEMENTED (12), connection kept
	s = conn()
	req = b"\x0a\x17containerd.task.v2.Task\x12\x04Nope"
	s.sendall(struct.pack(">IIBB", len(req), 1, 1, 0) + req)
	h = s.recv(10); n, sid, t, f = struct.unpack(">IIBB", h); body = s.recv(n)
	print("unimpl", sid, t, body[3])
	# garbage State payload: INVALID_ARGUMENT (3)
	req = b"\x0a\x17containerd.task.v2.Task\x12\x05State\x1a\x02\x0a\x7f"
	s.sendall(struct.pack(">IIBB", len(req), 3, 1, 0) + req)
	h = s.recv(10); n, sid, t, f = struct.unpack(">IIBB", h); body = s.recv(n)
	print("garbage", sid, t, body[3])
	PY
	assert_success
	assert_line "type True"
	assert_line "size True"
	assert_line "unimpl 1 2 12"
	assert_line "garbage 3 2 3"
	run c task ls
	assert_line --regexp '^bad1 +[0-9]+ +RUNNING$'
	c task kill -s KILL bad1
	for _ in $(seq 100); do c task ls | grep -q '^bad1 .*STOPPED' && break; sleep 0.1; done
	c task rm bad1
	c container rm bad1
	assert_gone bad1
}

@test "shim: task events reach containerd (create, start, exit with its status, delete)" {
	c events > "$D/events" 2>&1 &
	evpid=$!
	# Subscribed once a container's create event shows up (not a delay).
	for i in $(seq 100); do
		c container create localhost/hull-test:latest "probe$i" true >/dev/null
		c container rm "probe$i"
		grep -q "/containers/create.*probe$i" "$D/events" && break
	done
	grep -q '/containers/create.*probe' "$D/events"
	run crun --rm localhost/hull-test:latest ev1 sh -c 'exit 5'
	assert_equal "$status" 5
	for _ in $(seq 100); do grep -q '/tasks/delete.*"ev1"' "$D/events" && break; sleep 0.1; done
	kill "$evpid"
	wait "$evpid" || true
	run grep -E '/tasks/(create|start|exit|delete) .*ev1' "$D/events"
	assert_line --partial '/tasks/create'
	assert_line --partial '/tasks/start'
	assert_line --regexp '/tasks/exit .*"exit_status":5'
	assert_line --partial '/tasks/delete'
	assert_gone ev1
}

# Containers of one pod (containerd CRI's sandbox id annotation) share one
# shim; it stays while one of them lives and exits after the last.
@test "shim: one shim per pod, by the sandbox id annotation" {
	local a=io.kubernetes.cri.sandbox-id=pod1
	crun -d --annotation "$a" localhost/hull-test:latest podA sleep 1000
	crun -d --annotation "$a" localhost/hull-test:latest podB sleep 1000
	crun -d localhost/hull-test:latest solo sleep 1000
	run c task ls
	assert_line --regexp '^podA +[0-9]+ +RUNNING$'
	assert_line --regexp '^podB +[0-9]+ +RUNNING$'
	# Two sockets: the pod's and solo's; one daemon serves podA and podB.
	run ls "$D/s"
	assert_equal "${#lines[@]}" 2
	run pgrep -f "^$D/bin/containerd-shim-hull-v2 .*-id podB "
	assert_failure
	c task kill -s KILL podA
	for _ in $(seq 100); do c task ls | grep -q '^podA .*STOPPED' && break; sleep 0.1; done
	c task rm podA
	c container rm podA
	# podB still served by the pod's shim.
	run c task ls
	assert_line --regexp '^podB +[0-9]+ +RUNNING$'
	run c task ps podB
	assert_success
	pgrep -f "^$D/bin/containerd-shim-hull-v2 .*-id podA " >/dev/null
	for id in podB solo; do
		c task kill -s KILL "$id"
		for _ in $(seq 100); do c task ls | grep -q "^$id .*STOPPED" && break; sleep 0.1; done
		c task rm "$id"
		c container rm "$id"
	done
	assert_gone podA
	assert_gone podB
	assert_gone solo
}

@test "shim: exec in a running task: output, exit code, ps, kill of the exec" {
	crun -d localhost/hull-test:latest ex1 sleep 1000
	run c task exec --fifo-dir "$D/fifo" --exec-id e1 ex1 sh -c 'echo in-exec; exit 9'
	assert_equal "$status" 9
	assert_output in-exec
	c task exec --fifo-dir "$D/fifo" -d --exec-id e2 ex1 sleep 1000
	for _ in $(seq 100); do [[ $(c task ps ex1 | tail -n +2 | wc -l) -ge 2 ]] && break; sleep 0.1; done
	run c task ps ex1
	assert_equal "$(tail -n +2 <<< "$output" | wc -l)" 2
	c task kill --exec-id e2 -s KILL ex1
	for _ in $(seq 100); do [[ $(c task ps ex1 | tail -n +2 | wc -l) -eq 1 ]] && break; sleep 0.1; done
	run c task ps ex1
	assert_equal "$(tail -n +2 <<< "$output" | wc -l)" 1
	# The init is untouched by the exec's end.
	run c task ls
	assert_line --regexp '^ex1 +[0-9]+ +RUNNING$'
	c task kill -s KILL ex1
	for _ in $(seq 100); do c task ls | grep -q '^ex1 .*STOPPED' && break; sleep 0.1; done
	c task rm ex1
	c container rm ex1
	assert_gone ex1
}

@test "shim: stdin reaches the task, and its end is the task's EOF" {
	run bash -c "printf 'line1\\nline2\\n' | ctr --address '$D/c.sock' -n '$NS' run --rm --fifo-dir '$D/fifo' \
		--runtime io.containerd.hull.v2 localhost/hull-test:latest in1 sh -c 'cat; echo done'"
	assert_success
	assert_output "line1
line2
done"
	assert_gone in1
}

# Last: the host's containerd directory was never touched (ctr's default
# FIFO dir is /run/containerd/fifo; every call here names its own).
@test "shim: nothing was made in the host's /run/containerd" {
	[[ -e $D/had-run-containerd ]] && skip "the machine has a /run/containerd of its own"
	[[ ! -e /run/containerd ]]
}
