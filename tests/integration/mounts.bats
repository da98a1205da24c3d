#!/usr/bin/env bats
# mounts, maskedPaths, readonlyPaths, root.readonly, and hostile rootfs symlinks.

load helpers

# add_mount JSON: append one mount to the config.  The runtime may create the
# mount point in the rootfs, so the test gets a private copy of it.
add_mount() {
	[[ -d $BUNDLE/rootfs ]] || private_rootfs
	update_config '.mounts += [$m]' --argjson m "$1"
}

# mountinfo_line DEST: the container's mountinfo line for DEST (from $output).
mountinfo_line() {
	echo "$output" | awk -v d="$1" '$5 == d' | tail -1
}

@test "tmpfs with size and mode" {
	add_mount '{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=0700", "nosuid"]}'
	run_ctr /bin/sh -c "$HELPER stat /mnt/t; dd if=/dev/zero of=/mnt/t/big bs=1k count=2048 2>/dev/null && echo fits || echo full; cat /proc/self/mountinfo"
	assert_success
	assert_line --index 0 'dir 0700 0:0 0 0'
	assert_line --index 1 full
	line=$(mountinfo_line /mnt/t)
	[[ $line == *" - tmpfs "* && $line == *size=1024k* && $line == *mode=700* && $line == *nosuid* ]] || fail "$line"
}

@test "a read-only tmpfs with mode= gets that mode as a mount option" {
	hull_only "runc 1.1 chmods the tmpfs to the covered directory's mode after mounting (1.2 passes mode=)"
	add_mount '{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "mode=0700"]}'
	run_ctr /bin/sh -c "$HELPER stat /mnt/t; $HELPER write /mnt/t/f x; cat /proc/self/mountinfo"
	assert_success
	assert_line --index 0 'dir 0700 0:0 0 0'
	assert_line --index 1 EROFS
	line=$(mountinfo_line /mnt/t)
	[[ $line == *" - tmpfs "*mode=700* && $(echo "$line" | cut -d' ' -f6) == ro* ]] || fail "$line"
}

@test "a read-only tmpfs over a directory keeps the directory's mode" {
	private_rootfs
	mkdir -p "$BUNDLE/rootfs/mnt/m"
	chmod 0750 "$BUNDLE/rootfs/mnt/m"
	add_mount '{"destination": "/mnt/m", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}'
	run_ctr /bin/sh -c "$HELPER stat /mnt/m; $HELPER write /mnt/m/f x; true"
	assert_success
	assert_line --index 0 'dir 0750 0:0 0 0'
	assert_line --index 1 EROFS
}

@test "a read-only tmpfs can hold later mounts (made read-only after them)" {
	add_mount '{"destination": "/mnt/r", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}'
	add_mount '{"destination": "/mnt/r/in", "type": "tmpfs", "source": "tmpfs"}'
	run_ctr /bin/sh -c "$HELPER write /mnt/r/in/f x; $HELPER write /mnt/r/f x; true"
	assert_success
	assert_line --index 0 OK
	assert_line --index 1 EROFS
}

@test "a read-only /dev tmpfs is populated, then read-only" {
	update_config '(.mounts[] | select(.destination == "/dev") | .options) += ["ro"]'
	run_ctr /bin/sh -c "$HELPER write /dev/null x; $HELPER stat /dev/zero; readlink /dev/ptmx; readlink /dev/fd;
		$HELPER write /dev/pts/ptmx x; $HELPER write /dev/shm/f x; $HELPER write /dev/newfile x; cat /proc/self/mountinfo; true"
	assert_success
	assert_line --index 0 OK
	assert_line --index 1 'chr 0666 1:5 0 0'
	assert_line --index 2 pts/ptmx
	assert_line --index 3 /proc/self/fd
	assert_line --index 4 OK
	assert_line --index 5 OK
	assert_line --index 6 EROFS
	line=$(mountinfo_line /dev)
	[[ $(echo "$line" | cut -d' ' -f6) == ro* ]] || fail "$line"
}

@test "a mount point missing from the rootfs is created inside it" {
	private_rootfs
	add_mount '{"destination": "/new/dir/deep", "type": "tmpfs", "source": "tmpfs"}'
	run_helper stat /new/dir/deep
	assert_success
	assert_output --regexp '^dir '
	[ -d "$BUNDLE/rootfs/new/dir/deep" ]
}

@test "read-only bind mount: readable, not writable" {
	mkdir "$BATS_TEST_TMPDIR/src"
	echo from-host >"$BATS_TEST_TMPDIR/src/file"
	add_mount "{\"destination\": \"/mnt/b\", \"type\": \"bind\", \"source\": \"$BATS_TEST_TMPDIR/src\", \"options\": [\"rbind\", \"ro\"]}"
	run_ctr /bin/sh -c "$HELPER read /mnt/b/file; $HELPER write /mnt/b/new x"
	assert_line --index 0 from-host
	assert_line --index 1 EROFS
	[ ! -e "$BATS_TEST_TMPDIR/src/new" ]
}

@test "read-write bind mount: writes reach the host" {
	mkdir "$BATS_TEST_TMPDIR/src"
	add_mount "{\"destination\": \"/mnt/b\", \"type\": \"bind\", \"source\": \"$BATS_TEST_TMPDIR/src\", \"options\": [\"bind\"]}"
	run_helper write /mnt/b/new from-container
	assert_success
	run cat "$BATS_TEST_TMPDIR/src/new"
	assert_output from-container
}

@test "user namespace: bind sources in a directory its root cannot search still mount (opened before it)" {
	local d=$BATS_TEST_TMPDIR/locked
	mkdir -p "$d/src"
	echo hello >"$d/src/f"
	chmod 0755 "$d/src"
	chmod 0644 "$d/src/f"
	chmod 0700 "$d"
	use_user_namespace
	# existing mount points: the shared rootfs is not the mapped root's
	update_config '.mounts += [{"destination": "/mnt", "type": "bind", "source": $s, "options": ["rbind", "ro"]},
		{"destination": "/etc/motd", "type": "bind", "source": $f, "options": ["bind"]}]' \
		--arg s "$d/src" --arg f "$d/src/f"
	run_ctr /bin/sh -c "cat /mnt/f; cat /etc/motd; $HELPER write /mnt/g x; true"
	assert_success
	assert_line --index 0 hello
	assert_line --index 1 hello
	assert_line --index 2 EROFS
}

@test "bind mount of a single file" {
	echo file-content >"$BATS_TEST_TMPDIR/one"
	add_mount "{\"destination\": \"/etc/one\", \"type\": \"bind\", \"source\": \"$BATS_TEST_TMPDIR/one\", \"options\": [\"bind\", \"ro\"]}"
	run_helper read /etc/one
	assert_success
	assert_output file-content
}

@test "proc, sysfs (ro), mqueue and devpts are mounted as configured" {
	run_helper mountinfo
	assert_success
	[[ $(mountinfo_line /proc) == *" - proc "* ]] || fail "/proc: $(mountinfo_line /proc)"
	line=$(mountinfo_line /sys)
	[[ $line == *" - sysfs "* && $(echo "$line" | cut -d' ' -f6) == ro,* ]] || fail "/sys: $line"
	[[ $(mountinfo_line /dev/mqueue) == *" - mqueue "* ]] || fail "mqueue missing"
	[[ $(mountinfo_line /dev/pts) == *" - devpts "* ]] || fail "devpts missing"
	[[ $(mountinfo_line /dev/shm) == *" - tmpfs "* ]] || fail "/dev/shm missing"
}

@test "sysfs is read-only" {
	run_helper write /sys/kernel/uevent_helper x
	assert_output EROFS
}

@test "masked paths: files read as empty, directories are empty" {
	# /proc/kcore does not exist on every kernel; /proc/keys and /proc/acpi do here
	update_config '.linux.maskedPaths = ["/proc/keys", "/proc/timer_list", "/proc/acpi", "/sys/firmware"]'
	run_ctr /bin/sh -c "$HELPER stat /proc/keys; wc -c </proc/keys; ls -A /proc/acpi | wc -l; ls -A /sys/firmware | wc -l"
	assert_success
	assert_line --index 0 --regexp '^chr [0-7]+ 1:3 '
	assert_line --index 1 0
	assert_line --index 2 0
	assert_line --index 3 0
}

@test "a masked path that does not exist is ignored" {
	update_config '.linux.maskedPaths += ["/proc/does-not-exist"] | .linux.readonlyPaths += ["/proc/nope"]'
	run_helper exit 0
	assert_success
}

@test "readonly paths cannot be written even with CAP_SYS_ADMIN" {
	update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	run_ctr /bin/sh -c "$HELPER write /proc/sys/kernel/hostname evil; $HELPER mountinfo"
	assert_line --index 0 EROFS
	[[ $(mountinfo_line /proc/sys | cut -d' ' -f6) == ro* ]] || fail "/proc/sys: $(mountinfo_line /proc/sys)"
	[[ $(mountinfo_line /proc/irq | cut -d' ' -f6) == ro* ]] || fail "/proc/irq: $(mountinfo_line /proc/irq)"
}

@test "root.readonly: the rootfs is read-only, /tmp (tmpfs) writable" {
	run_ctr /bin/sh -c "$HELPER write /etc/new x; $HELPER write /tmp/new x"
	assert_line --index 0 EROFS
	assert_line --index 1 OK
}

@test "root.readonly false: the rootfs is writable" {
	private_rootfs
	update_config '.root.readonly = false'
	run_helper write /etc/new x
	assert_success
	run cat "$BUNDLE/rootfs/etc/new"
	assert_output x
}

@test "the host's mount table is unchanged by a running container" {
	id=$(new_id)
	start_detached "$id" "$HELPER" sleep 100 "$id"
	assert_no_new_host_mounts
}

@test "hostile rootfs: an absolute symlink to a host path stays inside the rootfs" {
	private_rootfs
	target=$BATS_TEST_TMPDIR/host-target
	mkdir "$target"
	echo untouched >"$target/marker"
	ln -s "$target" "$BUNDLE/rootfs/mnt/evil"
	add_mount '{"destination": "/mnt/evil", "type": "tmpfs", "source": "tmpfs"}'
	id=$(new_id)
	set_args /bin/sh -c "$HELPER write /mnt/evil/from-container x; $HELPER mountinfo; $HELPER signal-wait"
	hull run -d --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null || true
	wait_for_output "$id" ready || true
	# the host path: no mount on it, the same single file, nothing written
	refute grep -q " $target " /proc/self/mountinfo
	assert_no_new_host_mounts
	run ls -A "$target"
	assert_output marker
	assert_equal "$(cat "$target/marker")" untouched
	# if the runtime ran it, the mount is inside the rootfs
	if grep -qx ready "$BATS_TEST_TMPDIR/$id.out"; then
		run ctr_output "$id"
		assert_line --index 0 OK
		assert_output --partial " $target rw"
	fi
}

@test "hostile rootfs: a relative symlink climbing out of the rootfs stays inside" {
	private_rootfs
	target=$BATS_TEST_TMPDIR/host-target2
	mkdir "$target"
	ln -s "../../../../../../../../../../..$target" "$BUNDLE/rootfs/mnt/evil"
	add_mount '{"destination": "/mnt/evil", "type": "tmpfs", "source": "tmpfs"}'
	id=$(new_id)
	set_args "$HELPER" write /mnt/evil/escaped x
	hull run --bundle "$BUNDLE" "$id" >/dev/null 2>&1 </dev/null || true
	refute grep -q " $target " /proc/self/mountinfo
	[ ! -e "$target/escaped" ]
	run ls -A "$target"
	assert_output ""
}

@test "hostile rootfs: a symlinked bind source inside the rootfs does not expose host files" {
	private_rootfs
	# /proc mount destination replaced by a symlink to the host's /etc
	rm -rf "$BUNDLE/rootfs/proc"
	ln -s /etc "$BUNDLE/rootfs/proc"
	id=$(new_id)
	set_args "$HELPER" read /etc/motd
	hull run --bundle "$BUNDLE" "$id" >/dev/null 2>&1 </dev/null || true
	# the host's /etc has not had proc mounted over it
	refute grep -q ' /etc proc ' /proc/self/mountinfo
	[ ! -e /etc/self ]
}

@test "the cgroup filesystem can be mounted read-only" {
	add_mount '{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}'
	run_helper mountinfo
	assert_success
	cg=$(echo "$output" | awk '$5 ~ "^/sys/fs/cgroup" && / - cgroup2? /')
	[[ -n $cg ]] || fail "no cgroup mount"
	# every cgroup mount (one per v1 hierarchy on hybrid hosts) is read-only
	run bash -c "echo '$cg' | awk '\$6 !~ /^ro/'"
	assert_output ""
}

# v1_controller_dirs: the names a v1 `cgroup` mount shows, from the host's
# mount points of the v1 controller hierarchies (cpu,cpuacct when co-mounted).
v1_controller_dirs() {
	awk '$0 ~ / - cgroup / { print $5 }' /proc/self/mountinfo | while read -r mp; do
		grep -q ' - cgroup [^ ]* .*name=' <(awk -v m="$mp" '$5 == m' /proc/self/mountinfo) || basename "$mp"
	done | sort -u
}

cgroup_v1_mount() {
	grep -q ' - cgroup ' /proc/self/mountinfo || skip "no cgroup v1 hierarchy here (testhost/cgroups-cli.bats covers cgroup2)"
	update_config '.mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": $o}] |
		.linux.resources.memory = {"limit": 67108864}' --argjson o "$1"
}

@test "a cgroup mount on a v1 host: one directory per controller, the container's own cgroup, read-only" {
	cgroup_v1_mount '["nosuid", "noexec", "nodev", "relatime", "ro"]'
	run_ctr /bin/sh -c "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; grep -qx \$\$ /sys/fs/cgroup/pids/cgroup.procs && echo OWN;
		$HELPER write /sys/fs/cgroup/memory/memory.limit_in_bytes 1; ls /sys/fs/cgroup"
	assert_success
	assert_line --index 0 67108864
	assert_line --index 1 OWN
	assert_line --index 2 EROFS
	local want
	for want in $(v1_controller_dirs); do
		assert_line "$want"
	done
	for want in cpu memory pids; do
		assert_line "$want"
	done
}

@test "a cgroup mount on a v1 host with a cgroup namespace: fresh hierarchies rooted at the container's cgroup" {
	cgroup_v1_mount '["nosuid", "noexec", "nodev", "relatime", "ro"]'
	update_config '.linux.namespaces += [{"type": "cgroup"}]'
	run_ctr /bin/sh -c "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; grep -qx \$\$ /sys/fs/cgroup/pids/cgroup.procs && echo OWN;
		$HELPER write /sys/fs/cgroup/memory/memory.limit_in_bytes 1; true"
	assert_success
	assert_line --index 0 67108864
	assert_line --index 1 OWN
	assert_line --index 2 EROFS
}

@test "a cgroup mount on a v1 host in a user namespace: the container's own cgroups, bound" {
	cgroup_v1_mount '["nosuid", "noexec", "nodev", "relatime", "ro"]'
	use_user_namespace
	run_ctr /bin/sh -c "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; grep -qx \$\$ /sys/fs/cgroup/pids/cgroup.procs && echo OWN"
	assert_success
	assert_line --index 0 67108864
	assert_line --index 1 OWN
}

@test "a cgroup mount on a v1 host without ro: the controllers are writable" {
	cgroup_v1_mount '["nosuid", "noexec", "nodev", "relatime"]'
	run_ctr /bin/sh -c "$HELPER write /sys/fs/cgroup/memory/memory.limit_in_bytes 33554432; cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
	assert_success
	assert_line --index 0 OK
	assert_line --index 1 33554432
}

@test "a cgroup mount on a v1 host: co-mounted controllers get runc's symlinks (cpu -> cpu,cpuacct)" {
	local co
	co=$(v1_controller_dirs | grep , | head -1)
	[[ -n $co ]] || skip "no co-mounted v1 controllers on this machine (the test host is pure cgroup v2)"
	cgroup_v1_mount '["ro"]'
	run_ctr /bin/sh -c "readlink /sys/fs/cgroup/${co%%,*}"
	assert_success
	assert_output "$co"
}

@test "a relative mount destination fails and leaves nothing" {
	add_mount '{"destination": "relative/path", "type": "tmpfs", "source": "tmpfs"}'
	hull_only "runc 1.1 accepts relative destinations"
	id=$(new_id)
	set_args "$HELPER" exit 0
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'mounts\[[0-9]+\]\.destination'
	assert_nothing_left "$id"
}

@test "an unknown filesystem type fails and leaves nothing" {
	add_mount '{"destination": "/mnt/x", "type": "nosuchfs", "source": "none"}'
	id=$(new_id)
	set_args "$HELPER" exit 0
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'nosuchfs|/mnt/x'
	assert_nothing_left "$id"
}

# assert_symlinked_dest_refused DIR INDEX FSTYPE: DIR in a private rootfs is a
# symlink (to /tmp); the create fails at mounts[INDEX] and mounts nothing.
assert_symlinked_dest_refused() {
	private_rootfs
	rm -rf "$BUNDLE/rootfs/$1"
	ln -s /tmp "$BUNDLE/rootfs/$1"
	id=$(new_id)
	set_args "$HELPER" exit 0
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error "mounts\\[$2\\] /$1: $3 must be mounted on an ordinary directory \\(/$1 is a symlink\\)"
	refute grep -q " $BUNDLE/rootfs/tmp " /proc/self/mountinfo
	assert_nothing_left "$id"
}

@test "a /proc destination that is a symlink is refused: proc needs an ordinary directory" {
	assert_symlinked_dest_refused proc 0 proc
}

@test "a /sys destination that is a symlink is refused: sysfs needs an ordinary directory" {
	assert_symlinked_dest_refused sys 5 sysfs
}
