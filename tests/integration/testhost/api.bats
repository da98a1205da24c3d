#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull vm serve booting a guest through Firecracker's API under the test
# host's nested KVM (docs/sandbox.md): the getting-started flow with curl,
# then pause/resume, a drive swapped under the running guest, metrics and
# the power button.  Inputs from tests/prepare.d/50-microvm.sh
# (build/cache/microvm).  One boot: TCG is slow.

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
	for f in vmlinuz initramfs.cpio.gz disk.ext4; do
		[ -f "$C/$f" ] || { echo "missing $C/$f: run tests/prepare.d/50-microvm.sh" >&3; return 1; }
	done
	S=$BATS_TEST_TMPDIR/api.sock
	T=$BATS_TEST_TMPDIR
}

teardown() {
	stop_serve
	# the test's own network namespace (its tap goes with it)
	[ -z "${NS:-}" ] || ip netns del "$NS" 2>/dev/null || true
}

stop_serve() {
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
	grep -qE "$1" "$T/out" && return 0
	tail -n 30 "$T/out"
	# how the server ended, if it did: 159 is a seccomp kill (SIGSYS)
	if ! kill -0 "$serve_pid" 2>/dev/null; then
		local st=0
		wait "$serve_pid" || st=$?
		echo "vm serve ended with status $st"
	fi
	return 1
}

metric() { # metric NAME: its value in the last line FlushMetrics wrote
	tail -n 1 "$T/metrics" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
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
	# Firecracker's group; a refused call would have ended the process
	assert_output --regexp '"seccomp":\{"num_faults":0\}'

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

@test "api: a forbidden syscall of the API thread: one line naming it, counted in the metrics, killed by SIGSYS" {
	# HULL_TEST_SECCOMP_FAULT (docs/testing.md): the thread of that kind
	# makes a call no filter allows (getppid) right after installing its own
	HULL_TEST_SECCOMP_FAULT=api "$HULL_BIN" vm serve --api-sock "$S" --id fc-fault </dev/null >"$T/out" 2>&1 3>&- &
	serve_pid=$!
	for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.1; done
	: >"$T/metrics"
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	assert_output "204 "
	api PUT /boot-source "{\"kernel_image_path\": \"$C/vmlinuz\", \"initrd_path\": \"$C/initramfs.cpio.gz\", \"boot_args\": \"console=ttyS0 quiet\"}"
	assert_output "204 "
	api PUT /metrics "{\"metrics_path\": \"$T/metrics\"}"
	assert_output "204 "
	# the API thread filters itself while it starts the guest: no answer
	api PUT /actions '{"action_type": "InstanceStart"}'
	status=0
	wait "$serve_pid" || status=$?
	serve_pid=
	cat "$T/out"
	assert_equal "$status" 159 # 128 + SIGSYS
	run grep -c '^hull: seccomp: ' "$T/out"
	assert_output 1
	run grep -Fx 'hull: seccomp: api thread: forbidden syscall getppid (110)' "$T/out"
	assert_success
	run cat "$T/metrics"
	assert_output --regexp '^\{"utc_timestamp_ms":[0-9]+,"seccomp":\{"num_faults":1\}\}$'
}

@test "api: a forbidden syscall of a vCPU thread is named, and the VMM dies by SIGSYS" {
	cat >"$T/vm.json" <<-JSON
	{"machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
	 "boot-source": {"kernel_image_path": "$C/vmlinuz", "initrd_path": "$C/initramfs.cpio.gz",
	                 "boot_args": "console=ttyS0 quiet"}}
	JSON
	HULL_TEST_SECCOMP_FAULT=vcpu run -159 timeout -s KILL 300 "$HULL_BIN" vm serve --config-file "$T/vm.json" </dev/null
	echo "$output"
	assert_line 'hull: seccomp: vcpu thread: forbidden syscall getppid (110)'
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

@test "api: a network interface's rate limiters throttle both ways, bytes intact; PATCH adds one to the running VM" {
	[ -c /dev/net/tun ] || skip "no /dev/net/tun in this test host"
	NS=hullapi$$
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" tuntap add tap0 mode tap
	ip -n "$NS" addr add 10.78.0.1/24 dev tap0
	ip -n "$NS" link set tap0 up
	head -c 1048576 /dev/urandom >"$T/data"
	want=$(md5sum <"$T/data" | cut -d' ' -f1)
	: >"$T/metrics"
	# the tap is in $NS; the socket, kernel and files are paths as before
	timeout -s KILL 600 ip netns exec "$NS" "$HULL_BIN" vm serve --api-sock "$S" </dev/null >"$T/out" 2>&1 3>&- &
	serve_pid=$!
	for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.1; done

	# hull.test=net (tests/prepare.d/50-microvm.sh): eth0 up, ping the host,
	# receive on port 5000 until EOF, then send 4 MiB on port 5001; then it
	# holds, so that the metrics are still there to flush
	api PUT /boot-source "{\"kernel_image_path\": \"$C/vmlinuz\", \"initrd_path\": \"$C/initramfs.cpio.gz\", \"boot_args\": \"console=ttyS0 quiet hull.test=net hull.ip=10.78.0.2/24 hull.peer=10.78.0.1 hull.end=hold panic=-1\"}"
	assert_output "204 "
	# 64 KiB per 100 ms into the guest: a TSO frame empties the bucket.  The
	# limiter also keeps the queues out of vhost-net, so tx can be PATCHed.
	api PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "02:00:00:78:00:02", "rx_rate_limiter": {"bandwidth": {"size": 65536, "refill_time": 100}}}'
	assert_output "204 "
	api PUT /metrics "{\"metrics_path\": \"$T/metrics\"}"
	assert_output "204 "
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_output "204 "

	wait_for '^net_ready'
	run sh -c "sed -n 's/^ping_host=//p' '$T/out' | tr -d '\\r'"
	assert_output ok
	# host -> guest through the rx limiter; bash closes after the redirect:
	# the guest's nc sees EOF
	timeout -s KILL 300 ip netns exec "$NS" bash -c "cat '$T/data' >/dev/tcp/10.78.0.2/5000"
	wait_for '^tcp_md5='
	run sh -c "grep '^tcp_md5=' '$T/out' | tr -d '\\r'"
	assert_output "tcp_md5=$want tcp_bytes=1048576"
	api PUT /actions '{"action_type": "FlushMetrics"}'
	assert_output "204 "
	tail -n 1 "$T/metrics"
	[ "$(metric rx_rate_limiter_throttled)" -gt 0 ]
	assert_equal "$(metric tx_rate_limiter_throttled)" 0

	# the running VM gets a tx limiter before the guest sends
	api PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "tx_rate_limiter": {"bandwidth": {"size": 65536, "refill_time": 100}}}'
	assert_output "204 "
	api GET /vm/config
	assert_output --partial '"rx_rate_limiter":{"bandwidth":{"size":65536,"one_time_burst":0,"refill_time":100}},"tx_rate_limiter":{"bandwidth":{"size":65536,"one_time_burst":0,"refill_time":100}}'
	# guest -> host: the guest listens on 5001 once it printed send_md5
	wait_for '^send_md5='
	local sent got=
	sent=$(sed -n 's/^send_md5=//p' "$T/out" | tr -d '\r')
	for _ in $(seq 60); do
		got=$(timeout -s KILL 300 ip netns exec "$NS" bash -c "cat </dev/tcp/10.78.0.2/5001" 2>/dev/null |
			md5sum | cut -d' ' -f1) && [ "$got" = "$sent" ] && break
		sleep 1
	done
	assert_equal "$got" "$sent"
	api PUT /actions '{"action_type": "FlushMetrics"}'
	assert_output "204 "
	tail -n 1 "$T/metrics"
	[ "$(metric tx_rate_limiter_throttled)" -gt 0 ]

	wait_for '^send_done'
	kill -TERM "$serve_pid"
	status=0
	wait "$serve_pid" || status=$?
	serve_pid=
	assert_equal "$status" 143
}
