#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# VM-isolated containers end to end (docs/vm-containers.md), inside the test
# host (tests/testhost/run-suite; its own run-all stage, testhost-vm): the
# test bundle's busybox rootfs in a microVM booted by `hull-vm`, the guest
# kernel and initramfs of `make guest` (tests/prepare.d).  Boots are slow
# under TCG: each test boots once and checks several things.

load ../helpers

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
	build_recvtty
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

# vm_run_detached ID: `hull-vm run -d` of the bundle (output in
# $BATS_TEST_TMPDIR/ID.out); the supervisor's pid in the caller's `pid`.
vm_run_detached() {
	hull_vm run -d --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$1" \
		>"$BATS_TEST_TMPDIR/$1.out" 2>&1 </dev/null
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
}

# Nothing of container ID left: state, supervisor, file server, sockets, cgroup.
assert_vm_gone() {
	local id=$1
	assert_nothing_left "$id"
	assert_no_cgroup "$id"
	if pgrep -f -- "virtiofsd.*$BUNDLE" >/dev/null; then
		fail "file server left behind: $(pgrep -af -- "virtiofsd.*$BUNDLE")"
	fi
}

# vm_diag ID...: what a stalled create leaves to look at: each container's
# state files, create's output and the guest's console, and every user
# thread (state, wait channel, cpu time) sampled twice, 2 s apart: does a
# vCPU still run, or does everyone wait?
vm_diag() {
	local id k
	for id; do
		echo "== $id: $(ls "$ROOT/$id" 2>&1 | tr '\n' ' ')"
		echo "-- create's output:"
		cat "$BATS_TEST_TMPDIR/$id.out" 2>&1
		echo "-- console:"
		tail -n 40 "$ROOT/$id/console.log" 2>&1
	done
	for k in 1 2; do
		echo "-- threads ($k):"
		ps -eLo pid,tid,ppid,user,stat,wchan:24,time,comm,args | awk '$3 != 2 && $1 != 2'
		[ "$k" = 2 ] || sleep 2
	done
}

@test "vmcontainer: hull-vm run: the guest's kernel, a hypervisor, the rootfs shared both ways, exit 0" {
	local host_kver id
	host_kver=$(uname -r)
	id=$(new_id)
	set_args /bin/sh -c 'uname -r; grep -c -w hypervisor /proc/cpuinfo; cat /from-host; echo written >/from-guest'
	echo "from the host" >"$BUNDLE/rootfs/from-host"
	update_config '.root.readonly = false'
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "$host_kver" ] || fail "the container runs the test host's kernel $host_kver"
	[[ ${lines[1]} -ge 1 ]] || fail "no hypervisor flag in the guest's /proc/cpuinfo"
	[ "${lines[2]}" = "from the host" ]
	[ "$(cat "$BUNDLE/rootfs/from-guest")" = written ]
	assert_vm_gone "$id"
}

@test "vmcontainer: stdin to stdout and exit code 7 come back; kill KILL stops it" {
	local id
	id=$(new_id)
	set_args /bin/sh -c 'read line; echo "got:$line"; exit 7'
	status=0
	output=$(echo piped | hull_vm run --bundle "$BUNDLE" "$id" 2>"$BATS_TEST_TMPDIR/err") || status=$?
	[ "$output" = got:piped ] || fail "stdout: $output; stderr: $(cat "$BATS_TEST_TMPDIR/err")"
	[ "$status" -eq 7 ] || fail "status $status: $stderr"
	assert_vm_gone "$id"
	# 128+n: the init killed from outside (its own SIGKILL is ignored: it is its pid namespace's init)
	set_args /bin/sh -c 'echo up; exec sleep 1000'
	hull_vm run -d --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null
	wait_for_output "$id" up 120
	run hull kill "$id" KILL
	assert_success
	wait_for_status "$id" stopped 120
	# SIGKILL ends the VM at once: no power-off of the guest
	run grep -c "reboot: Power down" "$ROOT/$id/console.log"
	assert_output 0
	run hull delete "$id"
	assert_success
	assert_vm_gone "$id"
}

# assert_vm_split PID: the supervisor PID sits in its container cgroup's
# payload sub-cgroup "vmm", with the file server, frozen or not as $2 (0/1);
# KVM's kernel thread, made from the sibling "kvm", stays there, never frozen.
assert_vm_split() {
	local pid=$1 frozen=$2 dir t comm kthreads=0 fsd
	dir=/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	[[ $dir == */vmm ]] || fail "supervisor $pid in $dir, not in a vmm sub-cgroup"
	grep -qx "frozen $frozen" "$dir/cgroup.events" || fail "$dir/cgroup.events: $(cat "$dir/cgroup.events")"
	fsd=$(pgrep -P "$pid" -f virtiofsd) || fail "no file server under supervisor $pid"
	grep -qx "$fsd" "$dir/cgroup.procs" || fail "file server $fsd not in $dir"
	for t in $(cat "${dir%/vmm}/kvm/cgroup.threads"); do
		comm=$(cat "/proc/$t/comm" 2>/dev/null) || continue
		echo "# ${dir%/vmm}/kvm: $t $comm" >&3
		[[ $comm == kvm* ]] || fail "not a KVM kernel thread in ${dir%/vmm}/kvm: $t $comm"
		kthreads=$((kthreads + 1))
	done
	[ "$kthreads" -ge 1 ] || fail "no KVM kernel thread in ${dir%/vmm}/kvm"
	grep -qx 'frozen 0' "${dir%/vmm}/kvm/cgroup.events"
}

# assert_vmm_jailed PID ID CAPS: every thread of the VMM PID (container ID)
# is in its jail (docs/vm-containers.md, "The VMM's jail"): the uid claimed
# for ID (in the default range, not nobody's), gid and groups the same
# number, capability sets CAPS (hex; no network: none), an empty bounding set
# but for CAPS, no_new_privs; its root holds only dev/ and state/ (ROOT/ID:
# the sockets, vsock.sock and console.log the jail uid's), the host's
# /etc/shadow is not there; no fd is a directory (one would lead out) and
# every file it holds is one of the expected kinds.
assert_vmm_jailed() {
	local pid=$1 id=$2 caps=$3 s f fd target uid
	uid=$(jail_uid "$id") || fail "no jail uid claimed for $id: $(ls -l "$ROOT/@vm-uids" 2>&1)"
	[[ $uid -ge 1879048192 && $uid -le 1879113727 ]] || fail "jail uid $uid outside 1879048192-1879113727"
	for s in /proc/"$pid"/task/*/status; do
		grep -Eq "^Uid:\s+$uid\s+$uid\s+$uid\s+$uid$" "$s" || fail "$s: $(grep ^Uid: "$s"), want $uid"
		grep -Eq "^Gid:\s+$uid\s+$uid\s+$uid\s+$uid$" "$s" || fail "$s: $(grep ^Gid: "$s"), want $uid"
		grep -Eq "^Groups:\s+$uid\s*$" "$s" || fail "$s: $(grep ^Groups: "$s"), want $uid"
		for c in CapEff CapPrm CapBnd; do
			grep -Eq "^$c:\s+$caps$" "$s" || fail "$s: $(grep "^$c:" "$s"), want $caps"
		done
		grep -Eq '^CapInh:\s+0000000000000000$' "$s" || fail "$s: $(grep ^CapInh: "$s")"
		grep -Eq '^CapAmb:\s+0000000000000000$' "$s" || fail "$s: $(grep ^CapAmb: "$s")"
		grep -Eq '^NoNewPrivs:\s+1$' "$s" || fail "$s: $(grep ^NoNewPrivs: "$s")"
		run ls -A "${s%/status}/root/"
		[ "$(echo $output)" = "dev state" ] || fail "${s%/status}/root holds: $output"
	done
	[ ! -e "/proc/$pid/root/etc/shadow" ] || fail "the host's /etc/shadow in the VMM's root"
	[ -S "/proc/$pid/root/state/vsock.sock" ] || fail "no state/vsock.sock in the VMM's root"
	for f in vsock.sock console.log; do
		[ "$(stat -c %u:%g "$ROOT/$id/$f")" = "$uid:$uid" ] ||
			fail "$ROOT/$id/$f: owner $(stat -c %u:%g "$ROOT/$id/$f"), want $uid:$uid"
	done
	run ls -A "/proc/$pid/root/dev"
	[[ $output == null* ]] || fail "the VMM's /dev: $output"
	for fd in /proc/"$pid"/fd/*; do
		target=$(readlink "$fd") || continue
		[ ! -d "$fd" ] || fail "VMM fd ${fd##*/} is a directory: $target"
		case $target in
		pipe:* | socket:* | anon_inode:* | mnt:* | /dev/kvm | /dev/null | /dev/net/tun | /dev/vhost-net | /dev/pts/*) ;;
		/memfd:hull-guest-ram* | "/hull-guest-ram (deleted)" | "$ROOT/$id/console.log" | "$BATS_TEST_TMPDIR"/*) ;;
		*) fail "VMM fd ${fd##*/}: $target" ;;
		esac
	done
}

@test "vmcontainer: create, state, start, exec, ps, pause, resume, update, stats, delete --force while paused" {
	local id pid
	id=$(new_id)
	set_args /bin/sh -c 'echo started; i=0; while :; do i=$((i + 1)); echo "$i"; sleep 1; done'
	hull_vm create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$id" \
		>"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	[ "$(state_field "$id" status)" = created ]
	[ "$(state_field "$id" pid)" = "$pid" ]
	hull start "$id"
	[ "$(state_field "$id" status)" = running ]
	wait_for_output "$id" started 120
	# every thread of the supervisor (its relay, the VMM's event loop, the
	# vCPUs) under its own seccomp filter: mode 2, one filter each; exec,
	# pause, update and delete below run against it
	run sh -c "for s in /proc/$pid/task/*/status; do awk '/^Seccomp:/ {m=\$2} /^Seccomp_filters:/ {n=\$2} END {print m, n}' \$s; done"
	echo "$output"
	[ "${#lines[@]}" -ge 3 ] || fail "supervisor threads: $output"
	[ -z "$(grep -vx '2 1' <<<"$output")" ] || fail "a supervisor thread without its one filter: $output"
	assert_vmm_jailed "$pid" "$id" 0000000000000000
	# its guest RAM (the file the file server maps too) in huge pages,
	# whatever the test host's shmem_enabled (Debian's never) says
	run awk '/^[0-9a-f]+-[0-9a-f]+ / { g = index($0, "hull-guest-ram") > 0 }
		g && ($1 == "ShmemPmdMapped:" || $1 == "FilePmdMapped:") { n += $2 } END { print n + 0 }' "/proc/$pid/smaps"
	[ "$output" -gt 0 ] ||
		fail "guest RAM in 4 KiB pages only (shmem_enabled: $(cat /sys/kernel/mm/transparent_hugepage/shmem_enabled))"
	run_nopipe hull exec "$id" /bin/sh -c 'echo exec-out; echo exec-err >&2; exit 3'
	[ "$status" -eq 3 ] || fail "exec status $status: $stderr"
	[ "$output" = exec-out ]
	[[ $stderr == *exec-err* ]]
	# exec -t: a host pty master goes to --console-socket, the process has a tty
	start_recvtty
	hull exec -t --console-socket "$SOCK" "$id" /bin/sh -c 'tty; echo tty-ok' </dev/null
	wait_recvtty
	assert_line --regexp '^/dev/pts/[0-9]+$'
	assert_line tty-ok
	run hull ps --format json "$id"
	assert_success
	[[ $(jq length <<<"$output") -ge 1 ]] || fail "ps: $output"
	# pause freezes the VM's payload sub-cgroup (KVM's kernel thread sits in
	# its sibling): the counter the guest prints stops, then goes on after resume
	wait_for_output "$id" 2 120
	assert_vm_split "$pid" 0
	run hull pause "$id"
	assert_success
	[ "$(state_field "$id" status)" = paused ]
	assert_vm_split "$pid" 1
	# while paused: events --stats answers (the guest's stats at the pause),
	# what needs the guest is one line
	run hull events --stats "$id"
	assert_success
	[ "$(jq -r '.type' <<<"$output")" = stats ] || fail "events --stats: $output"
	run_nopipe hull ps "$id"
	assert_one_line_error 'is paused: its VM cannot answer until resume'
	assert_paused_counter_resumes "$id" 4 120
	assert_vm_split "$pid" 0
	run hull list -q
	assert_output --partial "$id"
	# update reaches the container's cgroup in the guest; events --stats reads it
	run hull update --pids-limit 42 "$id"
	assert_success
	run hull events --stats "$id"
	assert_success
	[ "$(jq -r '.data.pids.limit' <<<"$output")" = 42 ] || fail "events --stats: $output"
	# delete --force of a paused VM container leaves nothing, sub-cgroups
	# included (kill KILL of a running one: the test above)
	run hull pause "$id"
	assert_success
	run_nopipe hull kill "$id" KILL
	assert_one_line_error 'is paused: its VM cannot answer until resume'
	run hull delete "$id"
	assert_failure
	assert_output --partial 'not stopped: paused'
	run hull delete --force "$id"
	assert_success
	! kill -0 "$pid" 2>/dev/null || fail "supervisor $pid still alive"
	assert_vm_gone "$id"
}

@test "vmcontainer: delete --force after the supervisor was SIGKILLed leaves nothing" {
	local id pid uid
	id=$(new_id)
	set_args /bin/sh -c 'while :; do sleep 1; done'
	vm_run_detached "$id"
	uid=$(jail_uid "$id") || fail "no jail uid claimed for $id"
	kill -KILL "$pid"
	wait_for_status "$id" stopped 60
	# the claim stays with the state directory; delete --force releases it
	[ "$(readlink "$ROOT/@vm-uids/$uid")" = "$id" ] || fail "claim of uid $uid gone before delete"
	run hull delete --force "$id"
	assert_success
	[ ! -e "$ROOT/@vm-uids/$uid" ] || fail "claim of uid $uid left after delete --force"
	assert_vm_gone "$id"
}

@test "vmcontainer: VMMs created at once have uids of their own; delete and delete --force after SIGKILL release them" {
	local n=3 i uid ids=() bg=() pids=() uids=()
	set_args /bin/sh -c 'while :; do sleep 1; done'
	for ((i = 0; i < n; i++)); do
		ids+=("$(new_id)")
	done
	for ((i = 0; i < n; i++)); do
		hull_vm create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid$i" "${ids[i]}" \
			>"$BATS_TEST_TMPDIR/${ids[i]}.out" 2>&1 </dev/null &
		bg+=($!)
	done
	# a stalled create is shown while it still runs (the test's own limit
	# would only kill it): 450 s, seven times what it takes under TCG, idle
	local deadline=$((SECONDS + 450)) alive=1
	while ((alive && SECONDS < deadline)); do
		alive=0
		for ((i = 0; i < n; i++)); do
			! kill -0 "${bg[i]}" 2>/dev/null || alive=1
		done
		((alive == 0)) || sleep 1
	done
	if ((alive)); then
		vm_diag "${ids[@]}"
		fail "creates still running after 450 s"
	fi
	for ((i = 0; i < n; i++)); do
		wait "${bg[i]}" || fail "create ${ids[i]}: $(cat "$BATS_TEST_TMPDIR/${ids[i]}.out")"
	done
	for ((i = 0; i < n; i++)); do
		pids+=("$(cat "$BATS_TEST_TMPDIR/pid$i")")
		uid=$(jail_uid "${ids[i]}") || fail "no jail uid claimed for ${ids[i]}"
		uids+=("$uid")
		assert_vmm_jailed "${pids[i]}" "${ids[i]}" 0000000000000000
	done
	echo "# jail uids: ${uids[*]}" >&3
	[ "$(printf '%s\n' "${uids[@]}" | sort -u | wc -l)" -eq "$n" ] || fail "uids not distinct: ${uids[*]}"
	[ "$(ls "$ROOT/@vm-uids" | wc -l)" -eq "$n" ] || fail "claims: $(ls -l "$ROOT/@vm-uids")"
	# a uid's only process is its own VMM (pgrep -U: the real uid)
	for ((i = 0; i < n; i++)); do
		run pgrep -U "${uids[i]}"
		[ "$output" = "${pids[i]}" ] || fail "processes of uid ${uids[i]}: '$output', want VMM ${pids[i]}"
	done
	# a SIGKILLed supervisor keeps its claim until delete --force
	kill -KILL "${pids[1]}"
	wait_for_status "${ids[1]}" stopped 60
	[ "$(readlink "$ROOT/@vm-uids/${uids[1]}")" = "${ids[1]}" ] || fail "claim of ${uids[1]} gone before delete"
	run hull delete --force "${ids[1]}"
	assert_success
	[ ! -e "$ROOT/@vm-uids/${uids[1]}" ] || fail "claim of ${uids[1]} left after delete --force"
	[ -L "$ROOT/@vm-uids/${uids[0]}" ] && [ -L "$ROOT/@vm-uids/${uids[2]}" ] || fail "claims: $(ls -l "$ROOT/@vm-uids")"
	# plain delete of stopped ones (kill KILL), delete --force of a running one
	run hull kill "${ids[0]}" KILL
	assert_success
	wait_for_status "${ids[0]}" stopped 120
	run hull delete "${ids[0]}"
	assert_success
	run hull delete --force "${ids[2]}"
	assert_success
	# no claim left: the directory of claims went with the last one
	[ ! -e "$ROOT/@vm-uids" ] || fail "left: $(ls -l "$ROOT/@vm-uids")"
	for ((i = 0; i < n; i++)); do
		assert_vm_gone "${ids[i]}"
	done
}

@test "vmcontainer: the supervisor's forbidden syscall is a line in hull's --log, not in the container's stderr" {
	local id
	id=$(new_id)
	set_args /bin/sh -c 'echo up'
	# HULL_TEST_SECCOMP_FAULT (docs/testing.md): the supervisor thread calls
	# getppid right after its filter, before it reports: create fails
	run_nopipe env HULL_TEST_SECCOMP_FAULT=supervisor timeout -k 30 600 "$HULL_VM" --root "$ROOT" \
		--log "$BATS_TEST_TMPDIR/log" --log-format json create --bundle "$BUNDLE" "$id"
	echo "status $status; stdout: $output; stderr: $stderr; log: $(cat "$BATS_TEST_TMPDIR/log")"
	[ "$status" -ne 0 ]
	[[ $output$stderr != *seccomp* ]] || fail "the seccomp line went to the container's stdio"
	run jq -r 'select(.level == "error") | .msg' "$BATS_TEST_TMPDIR/log"
	assert_success
	assert_line 'seccomp: supervisor thread: forbidden syscall getppid (110)'
	assert_vm_gone "$id"
}

@test "vmcontainer: masked paths, capabilities and seccomp as in container mode" {
	local id
	id=$(new_id)
	update_config '.process.capabilities = {"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"],"permitted":["CAP_CHOWN"]}
		| .linux.maskedPaths = ["/proc/kcore"]
		| .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
	update_config '.linux.maskedPaths += ["/sys/firmware"]'
	set_args /bin/sh -c 'grep CapEff /proc/self/status; cat /proc/kcore 2>/dev/null | wc -c; ls -A /sys/firmware | wc -l
		mkdir /x 2>/dev/null || echo mkdir-refused'
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "CapEff:	0000000000000001" ]
	[ "$(tr -d ' ' <<<"${lines[1]}")" = 0 ]
	[ "$(tr -d ' ' <<<"${lines[2]}")" = 0 ]
	[ "${lines[3]}" = mkdir-refused ]
	assert_vm_gone "$id"
}

@test "vmcontainer: OOM inside the guest is exit 137" {
	local id
	id=$(new_id)
	update_config '.linux.resources.memory = {"limit": 33554432}'
	set_args /bin/sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	[ "$status" -eq 137 ] || fail "status $status: $output $stderr"
	assert_vm_gone "$id"
}

@test "vmcontainer: a guest without an agent is one line, exit 1, nothing left" {
	local id initrd=$REPO/build/cache/microvm/poweroff.cpio.gz
	[ -f "$initrd" ] || fail "missing $initrd: tests/prepare.d/50-microvm.sh makes it"
	id=$(new_id)
	update_config '.annotations["org.hull.vm.initrd"] = $i' --arg i "$initrd"
	run_nopipe hull_vm create --bundle "$BUNDLE" "$id"
	assert_one_line_error '^hull: create: VM isolation: the guest powered off before its agent answered'
	# the guest's last console line (or that it printed none) comes with it
	[[ $stderr =~ \;\ (its\ console\'s\ last\ line:\ \".+\"|no\ console\ output)$ ]] || fail "no console line: $stderr"
	assert_vm_gone "$id"
}

@test "vmcontainer: a guest kernel that panics under its container: exit 255, the supervisor says how the guest ended, nothing left" {
	local id
	id=$(new_id)
	# sysrq's crash, from the container: nothing masks /proc/sysrq-trigger
	update_config '.linux.maskedPaths = [] | .linux.readonlyPaths = []'
	set_args /bin/sh -c 'echo started; echo c >/proc/sysrq-trigger; sleep 600'
	run_nopipe hull_vm run --bundle "$BUNDLE" "$id"
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 255 ]
	assert_output started
	# pvpanic: the VMM ends on the crash report, before panic=-1's reboot
	[[ $stderr == *"the guest crashed; its console's panic line: \"Kernel panic - not syncing: sysrq triggered crash\""* ]] || fail "no end of the guest: $stderr"
	assert_vm_gone "$id"
}
