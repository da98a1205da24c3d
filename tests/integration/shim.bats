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
load shim

setup() { :; }
# A failed test leaves nothing running for the next one.
teardown() { [[ -n ${D:-} ]] && containerd_clean; }

setup_file() {
	runtime_is_runc && skip "the shim is hull's (containerd-shim-hull-v2)"
	shim_setup
}

teardown_file() { shim_teardown; }

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

@test "shim: task events reach containerd (create, start, exit with its status, delete, exec, pause)" {
	c events > "$D/events" 2>&1 3>&- &
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
	crun -d localhost/hull-test:latest ev2 sleep 1000
	c task exec --fifo-dir "$D/fifo" --exec-id ee ev2 true
	c task pause ev2
	c task resume ev2
	c task kill -s KILL ev2
	for _ in $(seq 100); do c task ls | grep -q '^ev2 .*STOPPED' && break; sleep 0.1; done
	c task rm ev2
	c container rm ev2
	for _ in $(seq 100); do grep -q '/tasks/delete.*"ev2"' "$D/events" && break; sleep 0.1; done
	kill "$evpid"
	wait "$evpid" || true
	run grep -E '/tasks/(create|start|exit|delete) .*ev1' "$D/events"
	assert_line --partial '/tasks/create'
	assert_line --partial '/tasks/start'
	assert_line --regexp '/tasks/exit .*"exit_status":5'
	assert_line --partial '/tasks/delete'
	assert_gone ev1
	run grep -E '/tasks/(exec-added|exec-started|paused|resumed) .*ev2' "$D/events"
	assert_line --regexp '/tasks/exec-added .*"exec_id":"ee"'
	assert_line --regexp '/tasks/exec-started .*"exec_id":"ee"'
	assert_line --partial '/tasks/paused'
	assert_line --partial '/tasks/resumed'
	# No OOM happened: the watch, killed before the cgroup goes, reports none.
	run grep -E '/tasks/oom' "$D/events"
	assert_failure
	assert_gone ev2
}

# The shim's OOM watch (`hull events`) starts after Start answers, so the
# exec that runs out of memory repeats until the watch has seen one.
@test "shim: an OOM kill in the task is a /tasks/oom event" {
	c events > "$D/events-oom" 2>&1 3>&- &
	evpid=$!
	for i in $(seq 100); do
		c container create localhost/hull-test:latest "oprobe$i" true >/dev/null
		c container rm "oprobe$i"
		grep -q "/containers/create.*oprobe$i" "$D/events-oom" && break
	done
	crun -d --memory-limit 33554432 localhost/hull-test:latest oom1 sleep 1000
	for i in $(seq 20); do
		run c task exec --fifo-dir "$D/fifo" --exec-id "a$i" oom1 hull-test-helper alloc 64
		assert_equal "$status" 137
		for _ in $(seq 20); do grep -q '/tasks/oom .*"oom1"' "$D/events-oom" && break 2; sleep 0.1; done
	done
	kill "$evpid"
	wait "$evpid" || true
	run grep '/tasks/oom .*"oom1"' "$D/events-oom"
	assert_success
	c task kill -s KILL oom1
	for _ in $(seq 100); do c task ls | grep -q '^oom1 .*STOPPED' && break; sleep 0.1; done
	c task rm oom1
	c container rm oom1
	assert_gone oom1
	# The watch ended with the task: no `hull events` of oom1 is left.
	run pgrep -f -- "events --interval 1440m oom1"
	assert_failure
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

# ctr -t needs a terminal of its own: script(1) gives it one, sized COLSxROWS,
# which ctr sends as ResizePty (the task polls until it came); script
# forwards its stdin to that terminal, which ctr copies to the task.
# tty_script FILE COLS ROWS CTR-ARGS... -- prints a bash script running ctr
# with the task command `sh -c INNER` ($inner).
# (busybox stty prints nothing but exits 0 while the size is 0x0)
inner='for i in $(seq 100); do s=$(stty size 2>/dev/null); case $s in [1-9]*) break ;; esac; sleep 0.1; done
tty; echo "size $s"; read -r x; echo "got:$x"; exit 3'
tty_run() {
	local cols=$1 rows=$2
	shift 2
	printf 'stty cols %s rows %s\nexec ctr --address %q -n %q' "$cols" "$rows" "$D/c.sock" "$NS" > "$BATS_TEST_TMPDIR/tty.sh"
	printf ' %q' "$@" sh -c "$inner" >> "$BATS_TEST_TMPDIR/tty.sh"
	echo >> "$BATS_TEST_TMPDIR/tty.sh"
	run bash -c "printf 'typed\n' | timeout 120 script -qec 'bash $BATS_TEST_TMPDIR/tty.sh' /dev/null"
	echo "$output"
}

@test "shim: a terminal: the task's stdio is a pty, ResizePty sizes it, input and exit code come back" {
	tty_run 100 30 run -t --rm --fifo-dir "$D/fifo" --runtime io.containerd.hull.v2 localhost/hull-test:latest tty1
	assert_equal "$status" 3
	assert_line --regexp '/dev/pts/[0-9]+'
	assert_line --partial 'size 30 100'
	assert_line --partial 'got:typed'
	assert_gone tty1
}

@test "shim: exec -t in a running task: a pty of its own, sized, input, exit code" {
	crun -d localhost/hull-test:latest tty2 sleep 1000
	tty_run 90 20 task exec -t --fifo-dir "$D/fifo" --exec-id et tty2
	assert_equal "$status" 3
	assert_line --regexp '/dev/pts/[0-9]+'
	assert_line --partial 'size 20 90'
	assert_line --partial 'got:typed'
	c task kill -s KILL tty2
	for _ in $(seq 100); do c task ls | grep -q '^tty2 .*STOPPED' && break; sleep 0.1; done
	c task rm tty2
	c container rm tty2
	assert_gone tty2
}

@test "shim: ctr task metrics: the task's cgroup metrics (v1 types on this host)" {
	crun -d localhost/hull-test:latest met1 sh -c 'sleep 1000 & sleep 1000 & wait'
	for _ in $(seq 100); do [[ $(c task ps met1 | tail -n +2 | wc -l) -ge 3 ]] && break; sleep 0.1; done
	run c task metrics met1
	echo "$output"
	assert_success
	assert_line --regexp '^pids.current +3 *$'
	usage=$(awk '$1 == "memory.usage_in_bytes" {print $2}' <<< "$output")
	[[ $usage -gt 0 ]]
	[[ $(awk '$1 == "cpuacct.usage" {print $2}' <<< "$output") -gt 0 ]]
	# The same number the cgroup holds (v1 here; the test host runs v2).
	if [[ -f /sys/fs/cgroup/pids/$NS/met1/pids.current ]]; then
		assert_equal "$(cat "/sys/fs/cgroup/pids/$NS/met1/pids.current")" 3
	fi
	c task kill -s KILL --all met1
	for _ in $(seq 100); do c task ls | grep -q '^met1 .*STOPPED' && break; sleep 0.1; done
	c task rm met1
	c container rm met1
	assert_gone met1
}

# ctr has no `task update`: the Update call goes on the shim's socket as
# containerd sends it (UpdateTaskRequest with an Any of LinuxResources JSON).
@test "shim: Update sets the task's resources (pids limit)" {
	[[ -d /sys/fs/cgroup/pids ]] || skip "no cgroup v1 pids hierarchy on this host"
	crun -d localhost/hull-test:latest upd1 sleep 1000
	sock=$(ls "$D"/s/hull-*)
	run python3 - "$sock" upd1 <<-'PY'
	import socket, struct, sys
	def s_(n, b): return bytes([n << 3 | 2]) + varint(len(b)) + b
	def varint(v):
	    o = b""
	    while True:
	        if v < 0x80: return o + bytes([v])
	        o += bytes([v & 0x7f | 0x80]); v >>= 7
	res = b'{"pids":{"limit":42}}'
	anyv = s_(1, b"types.containerd.io/opencontainers/runtime-spec/1/LinuxResources") + s_(2, res)
	payload = s_(1, sys.argv[2].encode()) + s_(2, anyv)
	req = s_(1, b"containerd.task.v2.Task") + s_(2, b"Update") + s_(3, payload)
	s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(60)
	s.sendall(struct.pack(">IIBB", len(req), 1, 1, 0) + req)
	n, sid, t, f = struct.unpack(">IIBB", s.recv(10))
	body = b""
	while len(body) < n: body += s.recv(n - len(body))
	print("status", body[:2].hex(), body)
	PY
	echo "$output"
	assert_success
	assert_equal "$(cat "/sys/fs/cgroup/pids/$NS/upd1/pids.max")" 42
	c task kill -s KILL upd1
	for _ in $(seq 100); do c task ls | grep -q '^upd1 .*STOPPED' && break; sleep 0.1; done
	c task rm upd1
	c container rm upd1
	assert_gone upd1
}

@test "shim: runtime options (--runtime-config-path): isolation = \"container\" runs, a bad file is refused, vm reaches hull" {
	printf '# hull shim options\nisolation = "container"\n' > "$D/opt-c.toml"
	run crun --rm --runtime-config-path "$D/opt-c.toml" localhost/hull-test:latest opt1 sh -c 'echo ran; exit 2'
	assert_equal "$status" 2
	assert_output ran
	assert_gone opt1
	printf 'isolation = "bogus"\n' > "$D/opt-b.toml"
	run crun --rm --runtime-config-path "$D/opt-b.toml" localhost/hull-test:latest opt2 true
	assert_failure
	assert_output --partial "opt-b.toml:1: expected isolation = \"vm\" or \"container\""
	c container rm opt2 2>/dev/null || true
	assert_gone opt2
	# vm: hull creates a VM-isolated container (tests/integration/testhost/shim-vm.bats
	# runs it); where this host cannot, hull's own refusal comes back.
	printf 'isolation = "vm"\n' > "$D/opt-v.toml"
	run crun --rm --runtime-config-path "$D/opt-v.toml" localhost/hull-test:latest opt3 true
	if [[ $status -ne 0 ]]; then
		assert_output --partial 'hull create: '
		assert_output --partial 'VM isolation'
	fi
	c container rm opt3 2>/dev/null || true
	assert_gone opt3
}

# Checkpoint itself needs CRIU, which fails on this machine's kernel
# (testhost/shim-checkpoint.bats runs it); what is refused before CRIU is
# tested here, straight on the shim's socket (ctr cannot send these).
@test "shim: Checkpoint refuses an empty or relative path, bad options, an unknown id; nothing is made, the task runs on" {
	local sock b=$D/state/io.containerd.runtime.v2.task/$NS/ckb
	crun -d localhost/hull-test:latest ckb sleep 1000
	sock=$(shim_sock ckb)
	run shim_checkpoint "$sock" ckb ""
	assert_line "code 3"
	assert_line "msg checkpoint: path is required"
	run shim_checkpoint "$sock" ckb rel/img
	assert_line "code 3"
	assert_line 'msg checkpoint: path "rel/img" is not an absolute path'
	# empty_namespaces (runc's --empty-ns): hull has no such dump
	run shim_checkpoint "$sock" ckb "$BATS_TEST_TMPDIR/img" "3207$(printf network | od -An -tx1 | tr -d ' \n')"
	assert_line "code 12"
	assert_line --partial "empty_namespaces"
	run shim_checkpoint "$sock" ckb "$BATS_TEST_TMPDIR/img" "3a056c6f6f7365"
	assert_line "code 3"
	assert_line --partial 'cgroups_mode "loose"'
	run shim_checkpoint "$sock" nope "$BATS_TEST_TMPDIR/img"
	assert_line "code 5"
	# hull's own refusal (an image directory that cannot be made) comes back
	# as the answer, the task untouched.
	run shim_checkpoint "$sock" ckb /proc/version/img
	assert_line "code 2"
	assert_line --partial "/proc/version/img"
	[[ ! -e $BATS_TEST_TMPDIR/img && ! -e $b/rel && ! -e $b/criu-work ]] || fail "a checkpoint directory was made"
	run c task ls
	assert_line --regexp '^ckb +[0-9]+ +RUNNING$'
	c task kill -s KILL ckb
	for _ in $(seq 100); do c task ls | grep -q '^ckb .*STOPPED' && break; sleep 0.1; done
	c task rm ckb
	c container rm ckb
	assert_gone ckb
}

# runc's shim passes a Create's parent_checkpoint to the restore as
# --parent-path (containerd never sets it: on the shim's socket).  CRIU fails
# here, but hull restore checks the parent before CRIU: its refusal, naming
# the parent, is what Start answers.
@test "shim: a restoring Create's parent_checkpoint reaches hull restore as --parent-path" {
	local sock t=$BATS_TEST_TMPDIR
	crun -d localhost/hull-test:latest ckp sleep 1000
	sock=$(shim_sock ckp)
	# a bundle of its own on the test rootfs, an image with no parent link
	mkdir -p "$t/b" "$t/img" "$t/pre"
	jq --arg r "$BASE_BUNDLE/rootfs" '.root.path = $r' "$BASE_BUNDLE/config.json" >"$t/b/config.json"
	touch "$t/img/inventory.img"
	run shim_call "$sock" Create 1=ckp2 "2=$t/b" "8=$t/img" 9=pre
	assert_line "code 3"
	assert_line 'msg create: parent_checkpoint "pre": is not an absolute path'
	run shim_call "$sock" Create 1=ckp2 "2=$t/b" "9=$t/pre"
	assert_line "code 3"
	assert_line --partial "without a checkpoint"
	run shim_call "$sock" Create 1=ckp2 "2=$t/b" "8=$t/img" "9=$t/pre"
	assert_line "code 0"
	run shim_call "$sock" Start 1=ckp2
	assert_line "code 2"
	assert_line --regexp "^msg .*--parent-path $t/pre: $t/img has no parent"
	run shim_call "$sock" Delete 1=ckp2
	assert_line "code 0"
	run "$RUNTIME" --root "$D/hullroot/$NS" state ckp2
	assert_failure
	[[ ! -e $t/b/criu-work ]] || fail "the restore's work directory was left"
	run c task ls
	assert_line --regexp '^ckp +[0-9]+ +RUNNING$'
	c task kill -s KILL ckp
	for _ in $(seq 100); do c task ls | grep -q '^ckp .*STOPPED' && break; sleep 0.1; done
	c task rm ckp
	c container rm ckp
	assert_gone ckp
}

# Last: the host's containerd directory was never touched (ctr's default
# FIFO dir is /run/containerd/fifo; every call here names its own).
@test "shim: nothing was made in the host's /run/containerd" {
	[[ -e $D/had-run-containerd ]] && skip "the machine has a /run/containerd of its own"
	[[ ! -e /run/containerd ]]
}
