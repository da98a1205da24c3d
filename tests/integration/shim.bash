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
