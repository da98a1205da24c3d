#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull jail (jail/jail.h): the jailed program is busybox (static), watched
# from outside through /proc, as the issue asks ("from /proc of the VMM").
# A jailed VMM booting a guest is tests/integration/testhost/microvm.bats.

load helpers

BB=/bin/busybox
IN=/busybox # the same, inside the jail

setup() {
	setup_common
	hull_only "hull jail has no runc equivalent"
	[ -x $BB ] || skip "no static $BB (busybox-static)"
	BASE=$BATS_TEST_TMPDIR/base
	JID=jt$$-$BATS_TEST_NUMBER
}

teardown() {
	# the program first: its keeper then cleans up
	[ -z "${CPID:-}" ] || kill -KILL "$CPID" 2>/dev/null || true
	[ -z "${KPID:-}" ] || wait "$KPID" 2>/dev/null || true
	"$RUNTIME" jail --id "$JID" --chroot-base "$BASE" --cleanup 2>/dev/null || true
	[ -z "${NS_MOUNT:-}" ] || umount "$NS_MOUNT" || true
	teardown_common
}

# start_jailed ARGS...: hull jail ARGS in the background (KPID), its program CPID
start_jailed() {
	"$RUNTIME" jail --id "$JID" --uid 1234 --gid 2345 --chroot-base "$BASE" "$@" </dev/null 3>&- &
	KPID=$!
	for _ in $(seq 100); do CPID=$(pgrep -P "$KPID") && break; sleep 0.1; done
	[ -n "$CPID" ]
	# until it runs the program, not hull
	for _ in $(seq 100); do [ "$(cat "/proc/$CPID/comm")" != hull ] && break; sleep 0.1; done
	[ "$(cat "/proc/$CPID/comm")" != hull ]
}

jail() { # jail ARGS...: hull jail with the test's id, uid and base
	"$RUNTIME" jail --id "$JID" --uid 1234 --gid 2345 --chroot-base "$BASE" "$@"
}

# cg_dir CTRL PID: the directory of PID's cgroup that holds CTRL's files
cg_dir() {
	local line
	line=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" "/proc/$2/cgroup") ||
		line=$(grep '^0::' "/proc/$2/cgroup")
	if [[ $line == 0::* ]]; then
		echo "$(findmnt -n -t cgroup2 -o TARGET | head -n1)${line#0::}"
	else
		echo "$(findmnt -n -t cgroup -O "$1" -o TARGET | head -n1)${line##*:}"
	fi
}

# nothing_left: no jail directory, no cgroup named after the jail
nothing_left() {
	[ ! -e "$BASE/hull/$JID" ] || { ls -laR "$BASE"; return 1; }
	local left
	left=$(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/hull-jail/$JID" 2>/dev/null)
	[ -z "$left" ] || { echo "left: $left"; return 1; }
}

@test "jail: uid:gid, no capabilities, no_new_privs, PID 1 of its own pid namespace, in its root and cgroup" {
	local v2=pids.max val=7
	start_jailed --cgroup $v2=$val --resource-limit fsize=1048576 --resource-limit no-file=64 -- $BB sleep 1000
	run cat /proc/$CPID/status
	assert_line --regexp '^Uid:\s+1234\s+1234\s+1234\s+1234$'
	assert_line --regexp '^Gid:\s+2345\s+2345\s+2345\s+2345$'
	assert_line --regexp '^Groups:\s+2345\s*$'
	assert_line --regexp '^CapEff:\s+0+$'
	assert_line --regexp '^CapPrm:\s+0+$'
	assert_line --regexp '^CapBnd:\s+0+$'
	assert_line --regexp '^CapAmb:\s+0+$'
	assert_line --regexp '^NoNewPrivs:\s+1$'
	assert_line --regexp "^NSpid:\s+$CPID\s+1$"
	[ "$(readlink /proc/$CPID/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]
	[ "$(readlink /proc/$CPID/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]
	# its / is the jail's root: the program and dev/, nothing else
	run ls -A /proc/$CPID/root/
	assert_output "$(printf 'busybox\ndev')"
	run stat -c '%u:%g %a %F' /proc/$CPID/root/dev/null /proc/$CPID/root/dev/urandom
	assert_output "$(printf '1234:2345 600 character special file\n1234:2345 600 character special file')"
	if [ -c /dev/kvm ]; then
		[ "$(stat -c '%t:%T %u' /proc/$CPID/root/dev/kvm)" = "$(stat -c '%t:%T' /dev/kvm) 1234" ]
	fi
	# no fd but 0-2
	run ls /proc/$CPID/fd
	assert_output "$(printf '0\n1\n2')"
	run grep -E '^Max (file size|open files)' /proc/$CPID/limits
	assert_line --regexp '^Max file size +1048576 +1048576 +bytes'
	assert_line --regexp '^Max open files +64 +64 +files'
	# its cgroup, with the file as given
	local dir
	dir=$(cg_dir pids "$CPID")
	[[ $dir == */hull-jail/$JID ]]
	[ "$(cat "$dir/$v2")" = "$val" ]
	grep -qx "$CPID" "$dir/cgroup.procs"
	# PID 1 of a namespace takes SIGKILL from outside; the keeper reports it
	kill -KILL "$CPID"
	local st=0
	wait "$KPID" || st=$?
	KPID= CPID=
	assert_equal "$st" 137
	nothing_left
}

@test "jail: the program sees only its root, not the host's /etc/shadow, opens its /dev/kvm, and its exit code comes back" {
	[ -c /dev/kvm ] || skip "no /dev/kvm: the jail's device cgroup is checked on it"
	run jail --resource-limit no-file=77 -- $BB sh -c \
		"$IN ls -A /; $IN cat /etc/shadow; echo cat=\$?; $IN id; ulimit -n;
		 $IN dd if=/dev/kvm of=/dev/null count=0 && echo kvm=opened; exit 7"
	echo "$output"
	assert_equal "$status" 7
	assert_line busybox
	assert_line dev
	assert_line --partial "can't open '/etc/shadow': No such file or directory"
	assert_line cat=1
	assert_line 'uid=1234 gid=2345 groups=2345'
	assert_line 77
	# the device cgroup lets the jail's nodes through
	assert_line kvm=opened
	nothing_left
}

@test "jail: --file puts a file into the root under its name" {
	echo kernel-bytes >"$BATS_TEST_TMPDIR/vmlinuz"
	run jail --file "$BATS_TEST_TMPDIR/vmlinuz" -- $BB sh -c "$IN cat /vmlinuz; $IN ls -A /"
	echo "$output"
	assert_success
	assert_output "$(printf 'kernel-bytes\nbusybox\ndev\nvmlinuz')"
	# the host's file is still there, unchanged
	[ "$(cat "$BATS_TEST_TMPDIR/vmlinuz")" = kernel-bytes ]
	nothing_left
}

@test "jail: --netns is the namespace the program runs in" {
	touch "$BATS_TEST_TMPDIR/ns"
	unshare --net="$BATS_TEST_TMPDIR/ns" true
	NS_MOUNT=$BATS_TEST_TMPDIR/ns
	start_jailed --netns "$BATS_TEST_TMPDIR/ns" -- $BB sleep 1000
	[ "$(stat -L -c %i /proc/$CPID/ns/net)" = "$(stat -L -c %i "$BATS_TEST_TMPDIR/ns")" ]
	[ "$(stat -L -c %i /proc/$CPID/ns/net)" != "$(stat -L -c %i /proc/self/ns/net)" ]
	kill -KILL "$CPID"
	wait "$KPID" || true
	KPID= CPID=
	nothing_left
}

@test "jail --daemonize: returns once the program runs; the keeper cleans up after it" {
	run jail --daemonize -- $BB sleep 1000
	assert_success
	assert_output ""
	# the jailed sleep: PID 1 of its namespace, its root the jail's
	for p in $(pgrep -x busybox); do
		[ "$(stat -c %i "/proc/$p/root/")" = "$(stat -c %i "$BASE/hull/$JID/root")" ] && CPID=$p
	done
	[ -n "$CPID" ]
	grep -q "^NSpid:.*\s1$" "/proc/$CPID/status"
	[ -d "$BASE/hull/$JID/root" ]
	kill -KILL "$CPID"
	for _ in $(seq 100); do [ ! -e "$BASE/hull/$JID" ] && break; sleep 0.1; done
	CPID=
	nothing_left
}

@test "jail: bad input is one line, exit 1, nothing left" {
	mkdir -p "$BATS_TEST_TMPDIR/d"
	local cases=(
		"--id ../x --uid 1 --gid 1 -- $BB true|--id: "
		"--id ok --gid 1 -- $BB true|--uid and --gid are required"
		"--id ok --uid 1 --gid 1|usage: hull jail"
		"--id ok --uid x --gid 1 -- $BB true|--uid \"x\": not a number"
		"--id ok --uid 1 --gid 1 -- busybox true|program \"busybox\": give \"hull\" or a path"
		"--id ok --uid 1 --gid 1 --file /nonexistent -- $BB true|--file /nonexistent: No such file or directory"
		"--id ok --uid 1 --gid 1 --file $BATS_TEST_TMPDIR/d -- $BB true|not a regular file"
		"--id ok --uid 1 --gid 1 --device /etc/passwd -- $BB true|--device /etc/passwd: not a character device under /dev"
		"--id ok --uid 1 --gid 1 --netns /etc/hostname -- $BB true|--netns /etc/hostname: not a network namespace"
		"--id ok --uid 1 --gid 1 --cgroup nosuchctl.max=1 -- $BB true|no hierarchy on this host has the \"nosuchctl\" controller"
		"--id ok --uid 1 --gid 1 --cgroup pids.nosuchfile=1 -- $BB true|pids.nosuchfile\": no such file"
		"--id ok --uid 1 --gid 1 --resource-limit core=1 -- $BB true|want fsize=N or no-file=N"
		"--id ok --uid 1 --gid 1 -- /nonexistent|program /nonexistent: No such file or directory"
		"--id ok --uid 1 --gid 1 --chroot-base rel -- $BB true|--chroot-base rel: must be an absolute path"
	)
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086 # the case's words
		run "$RUNTIME" jail --chroot-base "$BASE" ${c%%|*}
		echo "case: ${c%%|*} -> $status: $output"
		assert_equal "$status" 1
		[ "${#lines[@]}" -eq 1 ]
		assert_output --regexp "^hull: jail: .*${c#*|}"
		[ ! -e "$BASE/hull/ok" ]
		[ -z "$(find /sys/fs/cgroup -maxdepth 3 -type d -path '*/hull-jail/ok' 2>/dev/null)" ]
	done
	# an id in use
	mkdir -p "$BASE/hull/$JID"
	run jail -- $BB true
	assert_equal "$status" 1
	assert_output --partial "jail $JID: $BASE/hull/$JID exists"
	[ -d "$BASE/hull/$JID" ]
	rmdir "$BASE/hull/$JID"
}

@test "jail --cleanup: after a keeper killed with SIGKILL, its program is gone with it and --cleanup removes the rest" {
	start_jailed --cgroup pids.max=9 -- $BB sleep 1000
	local dir
	dir=$(cg_dir pids "$CPID")
	kill -KILL "$KPID"
	wait "$KPID" || true
	KPID=
	# PR_SET_PDEATHSIG: the program dies with its keeper
	for _ in $(seq 100); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$CPID"
	assert_failure
	CPID=
	[ -d "$BASE/hull/$JID" ]
	[ -d "$dir" ]
	run "$RUNTIME" jail --id "$JID" --chroot-base "$BASE" --cleanup
	assert_success
	[ ! -d "$dir" ]
	nothing_left
	run "$RUNTIME" jail --id "$JID" --chroot-base "$BASE" --cleanup
	assert_failure
	assert_output --regexp "^hull: jail: jail $JID: .*: No such file or directory$"
}
