#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A pod in one microVM (docs/vm-containers.md, "A pod in one VM"), inside the
# test host (run-all stage testhost-vm): a sandbox bundle with the CRI's
# annotations container-type=sandbox boots the VM, and the bundles of its
# containers (container-type=container, sandbox-id) are created in that VM
# by its agent, with the sandbox's IPC, UTS and network namespaces, their own
# pid namespace (or the sandbox's: shareProcessNamespace), each its own
# rootfs.  Boots are slow under TCG: each test boots one VM.

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
}

hull_vm() {
	timeout -k 30 600 "$HULL_VM" --root "$ROOT" "$@"
}

# pod_bundle DIR TYPE SANDBOX ARGS...: a bundle at DIR with its own rootfs
# (a file /mine holding DIR's name), writable, with the pod's annotations.
pod_bundle() {
	local dir=$1 type=$2 sb=$3
	shift 3
	mkdir -p "$dir"
	cp -a "$BASE_BUNDLE/rootfs" "$dir/rootfs"
	echo "${dir##*/}" >"$dir/rootfs/mine"
	jq --arg t "$type" --arg s "$sb" --argjson a "$(json_array "$@")" \
		'.root = { path: "rootfs", readonly: false } | .process.args = $a |
		 .annotations["io.kubernetes.cri.container-type"] = $t | .annotations["io.kubernetes.cri.sandbox-id"] = $s' \
		"$BUNDLE/config.json" >"$dir/config.json"
}

# member_ns DIR PID TYPE...: DIR's namespaces TYPE... joined by path, as the
# CRI gives a pod's containers the sandbox's (PID: the sandbox's state.pid);
# no hostname (the UTS namespace is the sandbox's).
member_ns() {
	local dir=$1 pid=$2 t
	shift 2
	for t in "$@"; do
		jq --arg t "$t" --arg p "/proc/$pid/ns/${t/network/net}" \
			'(.linux.namespaces[] | select(.type == $t)) += { path: $p }' "$dir/config.json" >"$dir/c.new"
		mv "$dir/c.new" "$dir/config.json"
	done
	jq 'del(.hostname)' "$dir/config.json" >"$dir/c.new" && mv "$dir/c.new" "$dir/config.json"
}

# The line "KEY VALUE" of file $1 (a container's report), its VALUE.
field() {
	sed -n "s/^$2 //p" "$1" | head -1
}

# Processes holding /dev/kvm open: one per VMM.
count_vmms() {
	local p n=0
	for p in /proc/[0-9]*; do
		if ls -l "$p/fd" 2>/dev/null | grep -q ' -> /dev/kvm$'; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

# The pod's one VMM (issue 15: a pod runs in the same jail as a VM
# container, docs/vm-containers.md "The VMM's jail"): every thread as the
# sandbox's claimed jail uid, no capability (no tap here), NoNewPrivs, a root
# holding only dev and state; the pod's containers claim no uid of their own.
assert_pod_vmm_jailed() {
	local sb=$1 p vmm= uid s
	for p in /proc/[0-9]*; do
		if ls -l "$p/fd" 2>/dev/null | grep -q ' -> /dev/kvm$'; then
			vmm=${p#/proc/}
		fi
	done
	[[ -n $vmm ]] || fail "no process holds /dev/kvm"
	uid=$(jail_uid "$sb") || fail "no jail uid claimed for the sandbox: $(ls -l "$ROOT/@vm-uids" 2>&1)"
	run ls -A "$ROOT/@vm-uids"
	[ "$output" = "$uid" ] || fail "jail uid claims while one pod runs: $output"
	for s in /proc/"$vmm"/task/*/status; do
		grep -Eq "^Uid:\s+$uid\s+$uid\s+$uid\s+$uid$" "$s" || fail "$s: $(grep ^Uid: "$s"), want $uid"
		grep -Eq "^Gid:\s+$uid\s+$uid\s+$uid\s+$uid$" "$s" || fail "$s: $(grep ^Gid: "$s"), want $uid"
		grep -Eq '^CapEff:\s+0000000000000000$' "$s" || fail "$s: $(grep ^CapEff: "$s")"
		grep -Eq '^CapPrm:\s+0000000000000000$' "$s" || fail "$s: $(grep ^CapPrm: "$s")"
		grep -Eq '^NoNewPrivs:\s+1$' "$s" || fail "$s: $(grep ^NoNewPrivs: "$s")"
		run ls -A "${s%/status}/root/"
		[ "$(echo $output)" = "dev state" ] || fail "${s%/status}/root holds: $output"
	done
}

# Nothing of member ID left while its sandbox runs: no state, no process,
# no mount of its (under the sandbox's pod directory).
assert_member_gone() {
	local id=$1
	[[ ! -e $ROOT/$id ]] || fail "state dir $ROOT/$id left behind"
	run hull state "$id"
	[[ $status -ne 0 ]] || fail "container $id still known: $output"
	if pgrep -f -- "$id" >/dev/null; then
		fail "process left behind: $(pgrep -af -- "$id")"
	fi
	if grep -F -- "/$id/" /proc/self/mountinfo; then
		fail "mounts of $id left"
	fi
}

REPORT='echo "boot $(cat /proc/sys/kernel/random/boot_id)"; for n in ipc uts pid net; do echo "$n $(readlink /proc/self/ns/$n)"; done; echo "self $$"; echo "host $(hostname)"; echo "mine $(cat /mine)"; echo "mq $(ls /dev/mqueue | tr "\n" " ")"'

@test "vmcontainer-pod: a sandbox and its containers in ONE VM: namespaces, rootfs, exit codes, exec, kill, delete, nothing left" {
	local sb a b c d=$BATS_TEST_TMPDIR sbpid bpid out
	sb=$(new_id)
	a=$(new_id)
	b=$(new_id)
	c=$(new_id)
	pod_bundle "$d/sb" sandbox "$sb" /bin/sh -c "touch /dev/mqueue/podq; $REPORT; echo up; exec sleep 1000"
	jq '.hostname = "podhost"' "$d/sb/config.json" >"$d/sb/c.new" && mv "$d/sb/c.new" "$d/sb/config.json"
	hull_vm run -d --bundle "$d/sb" --pid-file "$d/sb.pid" "$sb" >"$d/$sb.out" 2>&1 </dev/null
	wait_for_output "$sb" up 300
	sbpid=$(cat "$d/sb.pid")
	cat "$d/$sb.out"

	# A: its own pid namespace; exits 3, writes into its own rootfs
	pod_bundle "$d/a" container "$sb" /bin/sh -c "$REPORT; [ -e /sb-only ] && echo sees-sandbox; echo written >/from-a; exit 3"
	member_ns "$d/a" "$sbpid" network ipc uts
	touch "$d/sb/rootfs/sb-only"
	run_nopipe hull_vm run --bundle "$d/a" "$a"
	echo "a: status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 3 ] || fail "member a: exit status $status, expected 3"
	printf '%s\n' "$output" >"$d/a.report"
	for k in boot ipc uts net; do
		[ "$(field "$d/a.report" $k)" = "$(field "$d/$sb.out" $k)" ] ||
			fail "$k: member a $(field "$d/a.report" $k), sandbox $(field "$d/$sb.out" $k)"
	done
	[ "$(field "$d/a.report" pid)" != "$(field "$d/$sb.out" pid)" ] || fail "member a is in the sandbox's pid namespace"
	[ "$(field "$d/a.report" self)" = 1 ] || fail "member a's init is not its pid namespace's pid 1"
	[ "$(field "$d/a.report" host)" = podhost ] || fail "member a's hostname: $(field "$d/a.report" host)"
	[[ $(field "$d/a.report" mq) == *podq* ]] || fail "member a does not see the sandbox's message queue (IPC)"
	[ "$(field "$d/a.report" mine)" = a ] || fail "member a's rootfs: /mine is $(field "$d/a.report" mine)"
	[[ $output != *sees-sandbox* ]] || fail "member a sees the sandbox's rootfs"
	[ "$(cat "$d/a/rootfs/from-a")" = written ] || fail "member a's write did not land in its host rootfs"
	assert_member_gone "$a"
	[ "$(state_field "$sb" status)" = running ] || fail "the sandbox after member a: $(hull state "$sb")"

	# B: the sandbox's pid namespace too (shareProcessNamespace); detached
	pod_bundle "$d/b" container "$sb" /bin/sh -c "$REPORT; echo up; exec sleep 1000"
	member_ns "$d/b" "$sbpid" network ipc uts pid
	hull_vm run -d --bundle "$d/b" --pid-file "$d/b.pid" "$b" >"$d/$b.out" 2>&1 </dev/null
	wait_for_output "$b" up 120
	bpid=$(cat "$d/b.pid")
	cat "$d/$b.out"
	[ "$(field "$d/$b.out" pid)" = "$(field "$d/$sb.out" pid)" ] || fail "member b is not in the sandbox's pid namespace"
	[ "$(field "$d/$b.out" boot)" = "$(field "$d/$sb.out" boot)" ] || fail "member b runs in another VM"
	[ "$(field "$d/$b.out" mine)" = b ] || fail "member b's rootfs: /mine is $(field "$d/$b.out" mine)"
	# one VMM and one file server for the pod; b's state.pid is its own (a supervisor without VMM)
	[ "$(count_vmms)" -eq 1 ] || fail "$(count_vmms) VMMs for one pod"
	[ "$(pgrep -c -f 'hull virtiofsd')" -eq 1 ] || fail "file servers: $(pgrep -af 'hull virtiofsd')"
	assert_pod_vmm_jailed "$sb"
	[ "$(state_field "$b" pid)" = "$bpid" ]
	[ "$(state_field "$b" status)" = running ]
	# exec into b: its rootfs
	run_nopipe hull exec "$b" /bin/sh -c 'cat /mine; exit 4'
	[ "$status" -eq 4 ] || fail "exec: status $status, stderr $stderr"
	[ "$output" = b ] || fail "exec into b: $output"
	run hull ps --format json "$b"
	assert_success
	# stats and update are the guest's: b has no host cgroup (the CRI's
	# ContainerStats and UpdateContainerResources); pause is refused, naming why
	run_nopipe hull update --pids-limit 77 "$b"
	[ "$status" -eq 0 ] || fail "update of a pod's container: $stderr"
	run_nopipe hull events --stats "$b"
	[ "$status" -eq 0 ] || fail "events --stats of a pod's container: $stderr"
	[[ $(jq -r .data.memory.usage.usage <<<"$output") -gt 0 ]] || fail "no memory usage: $output"
	[ "$(jq -r .data.pids.limit <<<"$output")" = 77 ] || fail "pids.limit after update: $output"
	run_nopipe hull pause "$b"
	assert_one_line_error "container \"$b\" has no host cgroup to freeze \(a pod's container in its sandbox's VM: pause the sandbox"
	[ "$(state_field "$b" status)" = running ]
	# kill: b's init ends, b's supervisor relays 128+9; the sandbox stays
	run hull kill "$b" KILL
	assert_success
	wait_for_status "$b" stopped 120
	! kill -0 "$bpid" 2>/dev/null || fail "b's supervisor $bpid still runs"
	[ "$(state_field "$sb" status)" = running ] || fail "the sandbox after killing b: $(hull state "$sb")"
	run hull delete "$b"
	assert_success
	assert_member_gone "$b"

	# C lives on while its sandbox is killed: C ends with the VM
	pod_bundle "$d/c" container "$sb" /bin/sh -c 'echo up; exec sleep 1000'
	member_ns "$d/c" "$sbpid" network ipc uts
	hull_vm run -d --bundle "$d/c" "$c" >"$d/$c.out" 2>&1 </dev/null
	wait_for_output "$c" up 120
	run hull kill "$sb" KILL
	assert_success
	wait_for_status "$sb" stopped 120
	wait_for_status "$c" stopped 120
	# a member of a stopped sandbox: refused, naming it
	run_nopipe hull_vm create --bundle "$d/a" "$a"
	assert_one_line_error "^hull: create: annotation io\\.kubernetes\\.cri\\.sandbox-id \"$sb\": the pod's sandbox is stopped$"
	run hull delete "$sb"
	assert_success
	run hull delete "$c"
	assert_success
	assert_nothing_left "$a"
	assert_nothing_left "$c"
	assert_nothing_left "$sb"
	if pgrep -f 'hull virtiofsd' >/dev/null; then
		fail "file server left behind: $(pgrep -af 'hull virtiofsd')"
	fi
}

@test "vmcontainer-pod: members deleted while they run, then the sandbox: nothing left" {
	local sb a d=$BATS_TEST_TMPDIR sbpid
	sb=$(new_id)
	a=$(new_id)
	pod_bundle "$d/sb" sandbox "$sb" /bin/sh -c 'echo up; exec sleep 1000'
	hull_vm run -d --bundle "$d/sb" --pid-file "$d/sb.pid" "$sb" >"$d/$sb.out" 2>&1 </dev/null
	wait_for_output "$sb" up 300
	sbpid=$(cat "$d/sb.pid")
	pod_bundle "$d/a" container "$sb" /bin/sh -c 'echo up; exec sleep 1000'
	member_ns "$d/a" "$sbpid" network ipc uts
	# a bind mount of the host's, read-only: seen in the member
	mkdir -p "$d/vol"
	echo vol >"$d/vol/f"
	jq --arg s "$d/vol" '.mounts += [{ destination: "/vol", type: "bind", source: $s, options: ["rbind", "ro"] }]' \
		"$d/a/config.json" >"$d/a/c.new" && mv "$d/a/c.new" "$d/a/config.json"
	run_nopipe hull_vm create --bundle "$d/a" "$a"
	[ "$status" -eq 0 ] || fail "create: $stderr"
	[ "$(state_field "$a" status)" = created ]
	run hull start "$a"
	assert_success
	wait_for_status "$a" running 60
	run_nopipe hull exec "$a" /bin/sh -c 'cat /vol/f; echo x >/vol/g'
	[ "$output" = vol ] || fail "exec: $output $stderr"
	[ "$status" -ne 0 ] || fail "a read-only bind mount was written"
	[ ! -e "$d/vol/g" ]
	run hull delete --force "$a"
	assert_success
	assert_member_gone "$a"
	[ "$(state_field "$sb" status)" = running ] || fail "the sandbox after deleting a: $(hull state "$sb")"
	run hull delete --force "$sb"
	assert_success
	assert_nothing_left "$sb"
}
