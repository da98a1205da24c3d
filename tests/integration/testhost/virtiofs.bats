#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# virtio-fs end to end under the test host's nested KVM: `hull virtiofsd`
# serves a directory (and a read-only --mount) over vhost-user, `hull vm run
# --fs tag=hull,socket=...` boots Debian's cloud kernel, and the guest
# (tests/prepare.d/50-microvm.sh, hull.test=virtiofs) mounts it: reads,
# writes (4 MiB too), rename, links, attributes, all visible on the host; the
# read-only mount refuses writes; host symlinks pointing out of the tree
# resolve in the guest, never on the host; a program runs from the share
# (a container rootfs), 600 entries list whole with their attributes, a
# device node is refused, a FIFO is made.  The server exits 0 once the VM is
# gone.  The /init case and these checks are shared work with helper
# "virtiofs" (the FUSE server).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load ../bounded
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
HULL_BIN=${HULL:-$REPO/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$REPO/$HULL_BIN
C=$REPO/build/cache/microvm

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	for f in vmlinuz initramfs.cpio.gz; do
		[ -f "$C/$f" ] || { echo "missing $C/$f: run tests/prepare.d/50-microvm.sh" >&3; return 1; }
	done
}

teardown() {
	[ -z "${fsd:-}" ] || kill -KILL "$fsd" 2>/dev/null || true
}

value() { # value KEY: KEY=... line from the guest
	sed -n "s/^$1=//p" <<<"$output" | tr -d '\r' | head -n1
}

# The listening socket is made here and inherited (--fd), renamed into place
# only once it listens: the VMM's connect can never come too early.
start_virtiofsd() { # start_virtiofsd SOCKET ARGS...
	local sock=$1
	shift
	python3 - "$sock" "$HULL_BIN" "$@" <<-'PY' 2>"$BATS_TEST_TMPDIR/fsd.err" 3>&- &
	import os, socket, sys
	sock, hull, args = sys.argv[1], sys.argv[2], sys.argv[3:]
	s = socket.socket(socket.AF_UNIX)
	s.bind(sock + ".tmp")
	os.chmod(sock + ".tmp", 0o600)
	s.listen(1)
	os.rename(sock + ".tmp", sock)
	os.set_inheritable(s.fileno(), True)
	os.execv(hull, [hull, "virtiofsd", "--fd", str(s.fileno())] + args)
	PY
	fsd=$!
	local i
	for i in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.1; done
	return 1
}

@test "virtio-fs: the guest mounts hull virtiofsd's tree, works on host files, reaches nothing else" {
	local d=$BATS_TEST_TMPDIR
	mkdir -p "$d/shared" "$d/outside" "$d/ro"
	echo hello >"$d/shared/hello.txt"
	echo TOPSECRET >"$d/outside/secret"
	ln -s /etc/passwd "$d/shared/esc"
	ln -s ../outside "$d/shared/escdir"
	echo ro >"$d/ro/ro.txt"
	cp /bin/busybox "$d/shared/busybox"
	mkdir "$d/shared/many"
	for i in $(seq 600); do : >"$d/shared/many/file-with-a-long-name-$i"; done
	start_virtiofsd "$d/fs.sock" --shared-dir "$d/shared" --mount "m0=$d/ro,ro"
	run timeout -s KILL 300 "$HULL_BIN" vm run --kernel "$C/vmlinuz" --initrd "$C/initramfs.cpio.gz" --memory 256 \
		--fs tag=hull,socket="$d/fs.sock" --cmdline "console=ttyS0 quiet hull.test=virtiofs panic=-1" </dev/null
	echo "$output" | tail -n 30
	assert_success
	assert_output --partial HULL-TEST-END
	refute_output --partial "device needs reset"
	assert_equal "$(value mount)" ok
	assert_equal "$(value top)" "m0 rootfs "
	assert_equal "$(value read)" hello
	assert_equal "$(value write)" data
	assert_equal "$(value rename)" data
	assert_equal "$(value readlink)" /guest/only
	assert_equal "$(value nlink)" 2
	assert_equal "$(value attrs)" 640:1000:1000
	assert_equal "$(value mtime)" 978307200
	# the host's symlinks resolve in the guest: no host /etc/passwd, no ../outside
	[[ $(value escape) != *root:* ]]
	[[ $(value escdir) != *secret* ]]
	assert_equal "$(value secret_found)" 0
	assert_equal "$(value unlink)" ok
	assert_equal "$(value ro)" refused
	assert_equal "$(value rocontent)" ro
	assert_equal "$(value exec)" exec-ok
	assert_equal "$(value many)" "600 600"
	assert_equal "$(value mknod)" refused
	assert_equal "$(value fifo)" fifo
	assert_equal "$(value umount)" ok
	# what the guest did is on the host
	assert_equal "$(cat "$d/shared/d/moved.txt")" data
	# chown through the hard link changed the host inode; files the guest's
	# root made are root's on the host
	assert_equal "$(stat -c %a:%u:%g "$d/shared/d/moved.txt")" 640:1000:1000
	assert_equal "$(stat -c %u:%g "$d/shared/big")" 0:0
	assert_equal "$(md5sum <"$d/shared/big" | cut -d' ' -f1)" "$(value bigsum)"
	[ -L "$d/shared/ln" ]
	assert_equal "$(readlink "$d/shared/ln")" /guest/only
	[ ! -e "$d/shared/hard" ]
	[ ! -e "$d/ro/x" ]
	[ ! -e "$d/shared/null" ]
	[ -p "$d/shared/fifo" ]
	# the VMM is gone: the server ends by itself, cleanly
	local st=0
	wait "$fsd" || st=$?
	fsd=
	cat "$d/fsd.err"
	assert_equal "$st" 0
}
