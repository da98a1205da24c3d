#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull virtiofsd on the development machine: usage errors, the socket it
# listens on (0600, a stale one replaced), --fd, and that it serves one
# frontend and exits 0 when that frontend goes away.  The FUSE traffic itself
# is tests/unit/microvm/test_virtiofsd.c (confined child, real rings) and
# tests/integration/testhost/virtiofs.bats (a guest mounting it).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
HULL_BIN=${HULL:-$REPO/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$REPO/$HULL_BIN

setup() {
	[[ $(basename "$HULL_BIN") != runc* ]] || skip "hull virtiofsd has no runc equivalent"
	[ "$(id -u)" = 0 ] || skip "needs root (mount namespace)"
	mkdir -p "$BATS_TEST_TMPDIR/share"
	echo hi >"$BATS_TEST_TMPDIR/share/f"
}

@test "virtiofsd usage errors name the option" {
	run -1 "$HULL_BIN" virtiofsd --shared-dir "$BATS_TEST_TMPDIR/share"
	assert_output --regexp '^hull: virtiofsd: usage: hull virtiofsd --socket-path PATH\|--fd N'
	run -1 "$HULL_BIN" virtiofsd --socket-path "$BATS_TEST_TMPDIR/s" --fd 3 --shared-dir "$BATS_TEST_TMPDIR/share"
	assert_output --regexp '^hull: virtiofsd: usage:'
	run -1 "$HULL_BIN" virtiofsd --socket-path "$BATS_TEST_TMPDIR/s" --shared-dir /nonexistent/dir
	assert_output "hull: virtiofsd: --shared-dir /nonexistent/dir: No such file or directory"
	run -1 "$HULL_BIN" virtiofsd --socket-path "$BATS_TEST_TMPDIR/s" --shared-dir /etc/hostname
	assert_output "hull: virtiofsd: --shared-dir /etc/hostname: Not a directory"
	run -1 "$HULL_BIN" virtiofsd --socket-path /etc/hostname --shared-dir "$BATS_TEST_TMPDIR/share"
	assert_output "hull: virtiofsd: --socket-path /etc/hostname: exists and is not a socket: File exists"
	run -1 "$HULL_BIN" virtiofsd --fd 0 --shared-dir "$BATS_TEST_TMPDIR/share"
	assert_output --regexp '^hull: virtiofsd: --fd "0": not a file descriptor number >= 3'
	run -1 "$HULL_BIN" virtiofsd --fd 5 --shared-dir "$BATS_TEST_TMPDIR/share" 5</etc/hostname
	assert_output --regexp '^hull: virtiofsd: --fd 5: Socket operation on non-socket'
	run -1 "$HULL_BIN" virtiofsd --socket-path "$BATS_TEST_TMPDIR/s" --shared-dir "$BATS_TEST_TMPDIR/share" \
		--mount ../x=/tmp
	assert_output --regexp '^hull: virtiofsd: --mount \.\./x=/tmp: '
	[ ! -e "$BATS_TEST_TMPDIR/s" ]
}

# Connect like a frontend, check the socket, hang up; virtiofsd must exit 0.
frontend_hangs_up() {
	python3 - "$1" <<-'PY'
	import os, socket, stat, sys, time
	path = sys.argv[1]
	s = socket.socket(socket.AF_UNIX)
	while True:  # a stale socket refuses: wait for virtiofsd's own
	    try:
	        s.connect(path)
	        break
	    except (ConnectionRefusedError, FileNotFoundError):
	        time.sleep(0.01)
	st = os.lstat(path)
	assert stat.S_ISSOCK(st.st_mode), "not a socket"
	assert stat.S_IMODE(st.st_mode) == 0o600, oct(stat.S_IMODE(st.st_mode))
	s.close()
	PY
}

@test "virtiofsd listens on a 0600 socket, replaces a stale one and exits 0 when its frontend leaves" {
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$BATS_TEST_TMPDIR/fs.sock"
	"$HULL_BIN" virtiofsd --socket-path "$BATS_TEST_TMPDIR/fs.sock" --shared-dir "$BATS_TEST_TMPDIR/share" \
		2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	run frontend_hangs_up "$BATS_TEST_TMPDIR/fs.sock"
	assert_success
	run wait $pid
	assert_success
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output ""
}

@test "virtiofsd serves an inherited socket (--fd)" {
	python3 - "$HULL_BIN" "$BATS_TEST_TMPDIR/share" <<-'PY'
	import os, socket, subprocess, sys
	a, b = socket.socketpair()
	p = subprocess.Popen([sys.argv[1], "virtiofsd", "--fd", str(b.fileno()), "--shared-dir", sys.argv[2]],
	                     pass_fds=[b.fileno()])
	b.close()
	a.close()  # the frontend leaves at once
	assert p.wait() == 0, p.returncode
	PY
}
