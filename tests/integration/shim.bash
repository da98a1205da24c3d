# SPDX-License-Identifier: Apache-2.0
# containerd-shim-hull-v2 under the private containerd of engines.bash, for
# shim.bats (this machine) and testhost/vmcontainer-shim.bats (the test
# host): PATH finds the shim as a link to $RUNTIME, hull's state goes under
# the test file's tmpdir (HULL_SHIM_ROOT), the image localhost/hull-test is
# imported from the test bundle's rootfs.  The caller sets NS (the
# containerd namespace: ctr's default cgroupsPath is /$NS/ID, the test's own
# cgroups) and loads helpers and engines first.

# shim_setup: in setup_file.
shim_setup() {
	rootfs=${HULL_BUNDLE:-$REPO/build/bundle}
	[[ $rootfs == /* ]] || rootfs=$REPO/$rootfs
	export rootfs
	mkdir -p "$BATS_FILE_TMPDIR/bin"
	[[ -e /run/containerd ]] && touch "$BATS_FILE_TMPDIR/had-run-containerd"
	ln -s "$RUNTIME" "$BATS_FILE_TMPDIR/bin/containerd-shim-hull-v2"
	containerd_start "$BATS_FILE_TMPDIR" PATH="$BATS_FILE_TMPDIR/bin:$PATH" \
		HULL_SHIM_ROOT="$BATS_FILE_TMPDIR/hullroot"
	make_image "$rootfs/rootfs"
	c image import "$D/image.tar" >/dev/null
}

# shim_teardown: in teardown_file.
shim_teardown() {
	[[ -f ${D:-}/containerd.pid ]] || return 0
	containerd_clean
	containerd_stop
	# A shim containerd lost (a failed test) would outlive the file.
	local pid
	for pid in $(pgrep -f "^$D/bin/containerd-shim-hull-v2 "); do kill -KILL "$pid" || true; done
	# Its mount namespace went with it; the cgroup parents it made go now
	# (v1 on this machine, v2 in the test host).
	rmdir /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS" 2>/dev/null || true
}

crun() { c run --fifo-dir "$D/fifo" --runtime io.containerd.hull.v2 "$@"; }

# Nothing of container $1 remains: task, container, shim, hull state, mounts, cgroups.
assert_gone() {
	! c task ls -q | grep -qx "$1"
	! c container ls -q | grep -qx "$1"
	[[ ! -e $D/hullroot/$NS/$1 ]]
	[[ ! -e $D/state/io.containerd.runtime.v2.task/$NS/$1 ]]
	run grep -c " $D/state/io.containerd.runtime.v2.task/$NS/$1/" "/proc/$(cat "$D/containerd.pid")/mountinfo"
	assert_output 0
	run bash -c "ls -d /sys/fs/cgroup/*/'$NS/$1' /sys/fs/cgroup/'$NS/$1' 2>/dev/null"
	assert_output ""
	run ls "$D/s"
	assert_output ""
	run pgrep -f "^$D/bin/containerd-shim-hull-v2 .*-id $1 "
	assert_failure
}

# shim_call SOCK METHOD FIELD...: one containerd.task.v2.Task call straight on
# the shim's socket, for what ctr cannot send.  The request is the FIELDs in
# order: N=TEXT a string field N; N=any:TYPE:HEX an Any of message TYPE whose
# encoding is HEX.  Prints "code N" (0: OK) and "msg TEXT".
shim_call() {
	python3 - "$@" <<-'PY'
	import socket, struct, sys
	def s(field, b):
	    n, v = len(b), b""
	    while True:
	        v += bytes([(n & 0x7f) | (0x80 if n > 0x7f else 0)]); n >>= 7
	        if not n: break
	    return bytes([field << 3 | 2]) + v + b
	sock, method = sys.argv[1:3]
	req = b""
	for f in sys.argv[3:]:
	    n, v = f.split("=", 1)
	    if v.startswith("any:"):
	        _, t, h = v.split(":", 2)
	        req += s(int(n), s(1, t.encode()) + s(2, bytes.fromhex(h)))
	    else:
	        req += s(int(n), v.encode())
	msg = s(1, b"containerd.task.v2.Task") + s(2, method.encode()) + s(3, req)
	c = socket.socket(socket.AF_UNIX); c.connect(sock); c.settimeout(600)
	c.sendall(struct.pack(">IIBB", len(msg), 1, 1, 0) + msg)
	def recv(n):
	    b = b""
	    while len(b) < n:
	        x = c.recv(n - len(b))
	        if not x: sys.exit("the shim closed the connection")
	        b += x
	    return b
	n, sid, t, f = struct.unpack(">IIBB", recv(10)); body = recv(n)
	def varint(b, i):
	    v, sh = 0, 0
	    while True:
	        v |= (b[i] & 0x7f) << sh; sh += 7; i += 1
	        if not b[i - 1] & 0x80: return v, i
	code, text = 0, ""
	if body[:1] == b"\x0a":  # Response.status: {code = 1, message = 2}
	    l, i = varint(body, 1); st = body[i:i + l]; i = 0
	    while i < len(st):
	        k = st[i]; i += 1
	        if k == 0x08: code, i = varint(st, i)
	        elif k == 0x12: l, i = varint(st, i); text = st[i:i + l].decode(); i += l
	        else: break
	print("code", code); print("msg", text)
	PY
}

# shim_checkpoint SOCK ID PATH [OPTIONS_HEX]: one Checkpoint call (ctr sends
# no options to a runtime not named runc, so exit, a relative path or bad
# options cannot come through it).  OPTIONS_HEX: a
# containerd.runc.v1.CheckpointOptions message, sent as its Any.
shim_checkpoint() {
	shim_call "$1" Checkpoint "1=$2" "2=$3" ${4:+"3=any:containerd.runc.v1.CheckpointOptions:$4"}
}

# shim_sock ID: the socket of container ID's shim (the address file
# containerd keeps in the task's bundle).
shim_sock() { sed 's|^unix://||' "$D/state/io.containerd.runtime.v2.task/$NS/$1/address"; }
