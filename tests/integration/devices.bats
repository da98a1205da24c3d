#!/usr/bin/env bats
# The default /dev and linux.devices.

load helpers

@test "the default devices exist with the right numbers and modes" {
	run_ctr /bin/sh -c "for d in null zero full random urandom tty; do $HELPER stat /dev/\$d; done"
	assert_success
	assert_line --index 0 'chr 0666 1:3 0 0'
	assert_line --index 1 'chr 0666 1:5 0 0'
	assert_line --index 2 'chr 0666 1:7 0 0'
	assert_line --index 3 'chr 0666 1:8 0 0'
	assert_line --index 4 'chr 0666 1:9 0 0'
	assert_line --index 5 'chr 0666 5:0 0 0'
}

@test "the default devices work" {
	run_ctr /bin/sh -c "head -c 4 /dev/zero | od -An -tx1; $HELPER write /dev/null x; $HELPER write /dev/full x; head -c 16 /dev/urandom | wc -c"
	assert_success
	assert_line --index 0 ' 00 00 00 00'
	assert_line --index 1 OK
	assert_line --index 2 ENOSPC
	assert_line --index 3 16
}

@test "the /dev symlinks point into /proc and /dev/pts" {
	run_ctr /bin/sh -c 'for l in fd stdin stdout stderr ptmx; do echo "$l $(readlink /dev/$l)"; done'
	assert_success
	assert_line 'fd /proc/self/fd'
	assert_line 'stdin /proc/self/fd/0'
	assert_line 'stdout /proc/self/fd/1'
	assert_line 'stderr /proc/self/fd/2'
	assert_line 'ptmx pts/ptmx'
}

@test "no host device leaks into /dev" {
	run_ctr /bin/sh -c 'ls /dev | sort | tr "\n" " "'
	assert_success
	refute_output --regexp '(^| )(sda|vda|kvm|mem|kmsg|loop0)( |$)'
}

@test "linux.devices: a char device with mode and owner" {
	update_config '.linux.devices = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
		"fileMode": 384, "uid": 1000, "gid": 1001}] |
		.linux.resources.devices = [{"allow": false, "access": "rwm"},
		{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}] |
		.process.user = {"uid": 1000, "gid": 1001}'
	run_ctr /bin/sh -c "$HELPER stat /dev/mynull; $HELPER write /dev/mynull x"
	assert_success
	assert_line --index 0 'chr 0600 1:3 1000 1001'
	assert_line --index 1 OK
}

@test "linux.devices: block device, fifo, and a nested path" {
	update_config '.linux.devices = [
		{"path": "/dev/myblk", "type": "b", "major": 7, "minor": 200, "fileMode": 432},
		{"path": "/dev/sub/dir/myfifo", "type": "p", "fileMode": 420}]'
	run_ctr /bin/sh -c "$HELPER stat /dev/myblk; $HELPER stat /dev/sub/dir/myfifo"
	assert_success
	assert_line --index 0 'blk 0660 7:200 0 0'
	assert_line --index 1 --regexp '^fifo 0644 '
}

@test "a device node the device cgroup does not allow cannot be opened" {
	# 10:237 is loop-control: if the controller let it through, read fails
	# at once (EINVAL) instead of blocking like a real device (major 240 may
	# be one); `timeout` bounds the open and the read regardless.
	update_config '.linux.devices = [{"path": "/dev/denied", "type": "c", "major": 10, "minor": 237, "fileMode": 438}] |
		.linux.resources.devices = [{"allow": false, "access": "rwm"}]'
	run_ctr /bin/sh -c "timeout 5 $HELPER read /dev/denied"
	assert_output EPERM
}

@test "a device with an unknown type fails and leaves nothing" {
	update_config '.linux.devices = [{"path": "/dev/x", "type": "z", "major": 1, "minor": 3}]'
	id=$(new_id)
	set_args "$HELPER" exit 0
	run_nopipe hull run --bundle "$BUNDLE" "$id"
	assert_one_line_error 'linux\.devices\[0\]'
	assert_nothing_left "$id"
}
