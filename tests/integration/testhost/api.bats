#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull vm serve booting a guest through Firecracker's API under the test
# host's nested KVM (docs/sandbox.md): the getting-started flow with curl,
# then pause/resume, a drive swapped under the running guest, metrics and
# the power button.  Inputs from tests/prepare.d/50-microvm.sh
# (build/cache/microvm).  One boot: TCG is slow.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
HULL_BIN=${HULL:-$REPO/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$REPO/$HULL_BIN
C=$REPO/build/cache/microvm

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	for f in vmlinuz initramfs.cpio.gz disk.ext4; do
		[ -f "$C/$f" ] || { echo "missing $C/$f: run tests/prepare.d/50-microvm.sh" >&3; return 1; }
	done
	S=$BATS_TEST_TMPDIR/api.sock
	T=$BATS_TEST_TMPDIR
}

teardown() {
	[ -n "${serve_pid:-}" ] || return 0
	# TERM ends hull vm serve (through timeout too, which forwards it); KILL
	# only what is still there
	kill -TERM "$serve_pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$serve_pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$serve_pid" 2>/dev/null || true
}

api() { # api METHOD PATH [JSON]: "<status> <body>" in $output
	local m=$1 p=$2
	shift 2
	run curl -sS --max-time 120 --unix-socket "$S" -X "$m" -o "$T/body" -w '%{http_code}' \
		${1:+-H 'Content-Type: application/json' -d "$1"} "http://localhost$p"
	output="$output $(cat "$T/body")"
}

wait_for() { # wait_for REGEX: until the guest's serial output has a line matching it
	local i
	for i in $(seq 600); do
		grep -qE "$1" "$T/out" && return 0
		kill -0 "$serve_pid" 2>/dev/null || break
		sleep 1
	done
	grep -qE "$1" "$T/out" || { tail -n 30 "$T/out"; return 1; }
}

@test "api: the getting-started flow boots the guest; pause/resume, PATCH a drive, FlushMetrics, SendCtrlAltDel" {
	"$HULL_BIN" vm serve --api-sock "$S" --id fc-test </dev/null >"$T/out" 2>&1 3>&- &
	serve_pid=$!
	for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.1; done
	cp "$C/disk.ext4" "$T/root.ext4"
	truncate -s 4M "$T/data.img"
	truncate -s 16M "$T/data2.img"
	: >"$T/metrics"

	api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
	assert_output "204 "
	api PUT /boot-source "{\"kernel_image_path\": \"$C/vmlinuz\", \"initrd_path\": \"$C/initramfs.cpio.gz\", \"boot_args\": \"console=ttyS0 hull.test=powerbutton panic=-1\"}"
	assert_output "204 "
	api PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/root.ext4\", \"is_root_device\": true, \"is_read_only\": false}"
	assert_output "204 "
	api PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/data.img\", \"is_root_device\": false, \"is_read_only\": false}"
	assert_output "204 "
	api PUT /metrics "{\"metrics_path\": \"$T/metrics\"}"
	assert_output "204 "
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_output "204 "
	api GET /
	assert_output --partial '"id":"fc-test","state":"Running"'
	# configuration is frozen once the guest runs
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	assert_output '400 {"fault_message":"The requested operation is not supported after starting the microVM."}'

	wait_for '^powerbutton=armed'
	# every thread under its own seccomp filter once the guest runs: the API
	# thread, the VMM's event loop, two vCPUs (pause, PATCH and FlushMetrics
	# below run under them)
	run sh -c "for s in /proc/$serve_pid/task/*/status; do awk '/^Seccomp:/ {m=\$2} /^Seccomp_filters:/ {n=\$2} END {print m, n}' \$s; done"
	assert_output "$(printf '2 1\n2 1\n2 1\n2 1')"
	# the root drive is the guest's vda, on the command line as Firecracker puts it
	run grep -E 'Command line: .*root=/dev/vda rw' "$T/out"
	assert_success

	api PATCH /vm '{"state": "Paused"}'
	assert_output "204 "
	api GET /
	assert_output --partial '"state":"Paused"'
	api PATCH /vm '{"state": "Resumed"}'
	assert_output "204 "
	api GET /
	assert_output --partial '"state":"Running"'
	# the hand-off between the API thread and the vCPUs, many times over
	for _ in $(seq 20); do
		api PATCH /vm '{"state": "Paused"}'
		assert_output "204 "
		api PATCH /vm '{"state": "Resumed"}'
		assert_output "204 "
	done

	# a bigger backing file: the guest learns the new size (config change)
	api PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/data2.img\"}"
	assert_output "204 "
	wait_for 'vdb: detected capacity change from 8192 to 32768|\[vdb\] new size: 32768'

	api PUT /actions '{"action_type": "FlushMetrics"}'
	assert_output "204 "
	run cat "$T/metrics"
	echo "$output"
	assert_output --regexp '"vcpu":\{"exit_io":[1-9][0-9]*,'
	assert_output --regexp '"block":\{"read_count":[1-9][0-9]*,'

	# the resumed guest still runs: it sees the power button and powers off
	api PUT /actions '{"action_type": "SendCtrlAltDel"}'
	assert_output "204 "
	wait_for '^powerbutton=pressed'
	status=0
	wait "$serve_pid" || status=$?
	serve_pid=
	assert_equal "$status" 0
	[ ! -e "$S" ]
}

@test "api: --config-file boots the same JSON without a socket; the guest's exit is hull's" {
	cat >"$T/vm.json" <<-JSON
	{"machine-config": {"vcpu_count": 2, "mem_size_mib": 192},
	 "boot-source": {"kernel_image_path": "$C/vmlinuz", "initrd_path": "$C/initramfs.cpio.gz",
	                 "boot_args": "console=ttyS0 quiet hull.test=info"}}
	JSON
	run timeout -s KILL 300 "$HULL_BIN" vm serve --config-file "$T/vm.json" </dev/null
	echo "$output" | tail -n 20
	assert_success
	assert_line --partial 'nproc=2'
	assert_output --regexp 'memtotal_kb=1[0-9]{5}'
	assert_output --partial 'HULL-TEST-END'
}

@test "api: a drive's bandwidth rate limiter throttles the guest's reads, which stay intact" {
	head -c 262144 /dev/urandom >"$T/data.img"
	want=$(md5sum <"$T/data.img" | cut -d' ' -f1)
	: >"$T/metrics"
	# bounded: SIGTERM (below) ends hull vm serve, SIGKILL after 600 s whatever happens
	timeout -s KILL 600 "$HULL_BIN" vm serve --api-sock "$S" </dev/null >"$T/out" 2>&1 3>&- &
	serve_pid=$!
	for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.1; done

	api PUT /boot-source "{\"kernel_image_path\": \"$C/vmlinuz\", \"initrd_path\": \"$C/initramfs.cpio.gz\", \"boot_args\": \"console=ttyS0 hull.test=blkread hull.end=hold panic=-1\"}"
	assert_output "204 "
	# 16 KiB per 100 ms: the 256 KiB read waits for refills many times
	api PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/data.img\", \"is_root_device\": false, \"is_read_only\": true, \"rate_limiter\": {\"bandwidth\": {\"size\": 16384, \"refill_time\": 100}, \"ops\": {\"size\": 1000, \"refill_time\": 1000}}}"
	assert_output "204 "
	api GET /vm/config
	assert_output --partial '"rate_limiter":{"bandwidth":{"size":16384,"one_time_burst":0,"refill_time":100},"ops":{"size":1000,'
	api PUT /metrics "{\"metrics_path\": \"$T/metrics\"}"
	assert_output "204 "
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_output "204 "

	wait_for '^blk_md5='
	run sh -c "grep '^blk_md5=' '$T/out' | tr -d '\\r'"
	assert_output "blk_md5=$want"
	api PUT /actions '{"action_type": "FlushMetrics"}'
	assert_output "204 "
	run cat "$T/metrics"
	echo "$output"
	throttled=$(sed -n 's/.*"rate_limiter_throttled_events":\([0-9]*\).*/\1/p' "$T/metrics" | tail -n 1)
	read_bytes=$(sed -n 's/.*"read_bytes":\([0-9]*\).*/\1/p' "$T/metrics" | tail -n 1)
	[ "$throttled" -gt 0 ]
	[ "$read_bytes" -ge 262144 ]

	# lifted at run time: size 0 turns the bucket off
	api PATCH /drives/data '{"drive_id": "data", "rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}}'
	assert_output "204 "
	api GET /vm/config
	assert_output --partial '"rate_limiter":{"ops":{"size":1000,'

	kill -TERM "$serve_pid"
	status=0
	wait "$serve_pid" || status=$?
	serve_pid=
	assert_equal "$status" 143
}
