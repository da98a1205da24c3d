#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull vm serve on the development machine (docs/sandbox.md): Firecracker's
# API over a Unix socket, driven by curl, up to InstanceStart, which fails
# here (a PVM /dev/kvm boots no stock guest) with a fault_message while the
# server keeps serving.  Booting through the API: testhost/api.bats.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
HULL_BIN=${HULL:-$REPO/build/bin/hull}
[[ $HULL_BIN == /* ]] || HULL_BIN=$REPO/$HULL_BIN

setup() {
	[[ $(basename "$HULL_BIN") != runc* ]] || skip "hull vm has no runc equivalent"
	S=$BATS_TEST_TMPDIR/api.sock
	# a syntactically valid bzImage header gets InstanceStart to /dev/kvm
	KERNEL=$REPO/build/cache/microvm/vmlinuz
	if [ ! -f "$KERNEL" ]; then
		KERNEL=$BATS_TEST_TMPDIR/bzImage
		python3 "$BATS_TEST_DIRNAME/fake-bzimage.py" "$KERNEL"
	fi
	truncate -s 8M "$BATS_TEST_TMPDIR/root.img"
}

teardown() {
	[ -z "${serve_pid:-}" ] || { kill -TERM "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; } || true
}

serve() { # serve ARGS...: hull vm serve in the background (serve_pid), until its socket exists
	"$HULL_BIN" vm serve --api-sock "$S" "$@" </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	serve_pid=$!
	for _ in $(seq 100); do
		[ -S "$S" ] && return 0
		kill -0 "$serve_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$BATS_TEST_TMPDIR/out"
	return 1
}

api() { # api METHOD PATH [JSON]: "<status> <body>" in $output
	local m=$1 p=$2
	shift 2
	run curl -sS --max-time 20 --unix-socket "$S" -X "$m" -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' \
		${1:+-H 'Content-Type: application/json' -d "$1"} "http://localhost$p"
	output="$output $(cat "$BATS_TEST_TMPDIR/body")"
}

raw() { # raw BYTES...: send the bytes on one connection, print the reply until the server closes or 5 s pass
	python3 - "$S" "$@" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	for chunk in sys.argv[2:]:
	    s.sendall(chunk.encode().decode('unicode_escape').encode('latin-1'))
	s.settimeout(5)
	out = b''
	try:
	    while True:
	        b = s.recv(65536)
	        if not b:
	            break
	        out += b
	except socket.timeout:
	    pass
	sys.stdout.write(out.decode('latin-1'))
	PY
}

is_pvm() {
	[ -e /sys/module/kvm_pvm ] && [ ! -e /sys/module/kvm_intel ] && [ ! -e /sys/module/kvm_amd ]
}

@test "vm serve: the socket is the owner's alone, GET / describes the instance, SIGTERM removes the socket" {
	serve --id tenant-1
	assert_equal "$(stat -c %a "$S")" 600
	api GET /
	assert_output --regexp '^200 \{"id":"tenant-1","state":"Not started","vmm_version":"[^"]+","app_name":"hull"\}$'
	kill -TERM "$serve_pid"
	status=0
	wait "$serve_pid" || status=$?
	serve_pid=
	assert_equal "$status" 143
	[ ! -e "$S" ]
}

@test "vm serve: Firecracker's getting-started flow up to InstanceStart, which fails with a fault_message" {
	serve
	api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
	assert_output "204 "
	api GET /machine-config
	assert_output '200 {"vcpu_count":2,"mem_size_mib":256,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}'
	api PUT /boot-source "{\"kernel_image_path\": \"$KERNEL\", \"boot_args\": \"console=ttyS0 reboot=k panic=1\"}"
	assert_output "204 "
	api PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$BATS_TEST_TMPDIR/root.img\", \"is_root_device\": true, \"is_read_only\": false}"
	assert_output "204 "
	: >"$BATS_TEST_TMPDIR/metrics"
	api PUT /metrics "{\"metrics_path\": \"$BATS_TEST_TMPDIR/metrics\"}"
	assert_output "204 "
	: >"$BATS_TEST_TMPDIR/log"   # as with Firecracker, the log file (or FIFO) must exist
	api PUT /logger "{\"log_path\": \"$BATS_TEST_TMPDIR/log\", \"level\": \"Debug\"}"
	assert_output "204 "
	api GET /vm/config
	assert_output --partial "\"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"$BATS_TEST_TMPDIR/root.img\",\"is_root_device\":true"
	is_pvm || skip "this host's /dev/kvm is not PVM (InstanceStart boots: testhost/api.bats)"
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_output '400 {"fault_message":"/dev/kvm is PVM (kvm_pvm): a PVM-enabled guest kernel is required"}'
	# the server lives on, the instance did not start, a retry fails the same way
	first=$output
	api PUT /actions '{"action_type": "InstanceStart"}'
	assert_output "$first"
	api GET /
	assert_output --partial '"state":"Not started"'
	api PUT /actions '{"action_type": "FlushMetrics"}'
	assert_output "204 "
	run cat "$BATS_TEST_TMPDIR/metrics"
	assert_output --regexp '^\{"utc_timestamp_ms":[0-9]+,"api_server":\{"requests":[0-9]+,"bad_requests":2\}'
	# PUT /logger's file has the requests (Debug: all of them)
	run cat "$BATS_TEST_TMPDIR/log"
	assert_output --partial 'api: GET /vm/config: 200'
	assert_output --partial 'api: PUT /actions: 400 {\"fault_message\":'
}

@test "vm serve: invalid requests get 400 and a fault_message naming the problem" {
	serve
	api GET /nope
	assert_output '400 {"fault_message":"Invalid request method and/or path: GET /nope."}'
	api DELETE /machine-config
	assert_output '400 {"fault_message":"Invalid request method and/or path: DELETE /machine-config."}'
	api PUT /machine-config '{"vcpu_count": 1}'
	assert_output '400 {"fault_message":"missing field `mem_size_mib`"}'
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128, "cpu": 1}'
	assert_output '400 {"fault_message":"unknown field `cpu`"}'
	api PUT /machine-config '{"vcpu_count": 1,'
	assert_output --regexp '^400 \{"fault_message":"An error occurred when deserializing the json body of a request: '
	api PUT /drives/a '{"drive_id": "b", "path_on_host": "/dev/null", "is_root_device": false}'
	assert_output '400 {"fault_message":"The id from the path does not match the id from the body!"}'
	api PUT /boot-source '{"kernel_image_path": "/nonexistent/vmlinux"}'
	assert_output '400 {"fault_message":"kernel_image_path /nonexistent/vmlinux: No such file or directory"}'
	api PATCH /vm '{"state": "Paused"}'
	assert_output '400 {"fault_message":"The requested operation is not supported before starting the microVM."}'
	api PUT /actions '{"action_type": "Explode"}'
	assert_output '400 {"fault_message":"unknown action_type `Explode`: InstanceStart, SendCtrlAltDel or FlushMetrics"}'
}

@test "vm serve: malformed and oversized HTTP get 400 and the connection is closed" {
	serve
	run raw 'GARBAGE\r\n\r\n'
	assert_output --regexp '^HTTP/1.1 400 Bad Request'
	assert_output --partial 'Connection: close'
	assert_output --partial '"fault_message":"Malformed HTTP request: '
	run raw 'PUT /logger HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n'
	assert_output --partial '"fault_message":"Malformed HTTP request: request body too large."'
	big=$(head -c 9000 /dev/zero | tr '\0' a)
	run raw "GET / HTTP/1.1\r\nX-Big: $big\r\n\r\n"
	assert_output --partial '"fault_message":"Malformed HTTP request: request headers too large."'
	# two pipelined requests on one connection get two answers, in order
	run raw 'GET /machine-config HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\nConnection: close\r\n\r\n'
	assert_output --regexp 'HTTP/1.1 200 OK.*"vcpu_count":1.*HTTP/1.1 400 Bad Request.*GET /nope'
}

@test "vm serve: slow and partial clients do not hold up the others" {
	serve
	# ten clients that sent half a request and wait
	python3 - "$S" >"$BATS_TEST_TMPDIR/slow.out" 2>&1 3>&- <<-'PY' &
	import socket, sys, time
	conns = []
	for i in range(10):
	    s = socket.socket(socket.AF_UNIX)
	    s.connect(sys.argv[1])
	    s.sendall(b'PUT /machine-config HTTP/1.1\r\nContent-Length: 40\r\n\r\n{"vcpu')
	    conns.append(s)
	print('partial', flush=True)
	time.sleep(15)
	PY
	slow=$!
	for _ in $(seq 100); do grep -q partial "$BATS_TEST_TMPDIR/slow.out" && break; sleep 0.1; done
	grep -q partial "$BATS_TEST_TMPDIR/slow.out"
	for i in 1 2 3; do
		api PUT /machine-config "{\"vcpu_count\": $i, \"mem_size_mib\": 128}"
		assert_output "204 "
	done
	api GET /machine-config
	assert_output --partial '"vcpu_count":3'
	kill "$slow" 2>/dev/null || true
	wait "$slow" || true
}

@test "vm serve: a socket path that exists is refused and left alone; usage errors are one line" {
	echo keep >"$S"
	run -1 "$HULL_BIN" vm serve --api-sock "$S"
	assert_output "hull: vm serve: --api-sock $S: Address already in use"
	assert_equal "$(cat "$S")" keep
	run -1 "$HULL_BIN" vm serve
	assert_output "hull: vm serve: --api-sock or --config-file is required"
	run -1 "$HULL_BIN" vm serve --api-sock "$S.2" --id '../x'
	assert_output 'hull: vm serve: --id: invalid container id "../x": only [A-Za-z0-9_.+-] allowed'
	[ ! -e "$S.2" ]
}

@test "vm serve --config-file: the same JSON without a socket; a bad field names its section" {
	cat >"$BATS_TEST_TMPDIR/bad.json" <<-EOF
	{"machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "smtx": false}}
	EOF
	run -1 "$HULL_BIN" vm serve --config-file "$BATS_TEST_TMPDIR/bad.json"
	assert_output "hull: vm serve: --config-file $BATS_TEST_TMPDIR/bad.json: machine-config: unknown field \`smtx\`"
	cat >"$BATS_TEST_TMPDIR/vm.json" <<-EOF
	{"boot-source": {"kernel_image_path": "$KERNEL", "boot_args": "console=ttyS0"},
	 "drives": [{"drive_id": "rootfs", "path_on_host": "$BATS_TEST_TMPDIR/root.img",
	             "is_root_device": true, "is_read_only": true}],
	 "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
	EOF
	is_pvm || skip "this host's /dev/kvm is not PVM (the test host boots through --config-file)"
	run -1 timeout 20 "$HULL_BIN" vm serve --config-file "$BATS_TEST_TMPDIR/vm.json"
	assert_output "hull: vm serve: --config-file $BATS_TEST_TMPDIR/vm.json: /dev/kvm is PVM (kvm_pvm): a PVM-enabled guest kernel is required"
}

@test "vm serve: rate limiters on drives and interfaces; a bad value is a 400 naming the field and changes nothing" {
	serve
	R=$BATS_TEST_TMPDIR/root.img
	api PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$R\", \"is_root_device\": true, \"rate_limiter\": {\"bandwidth\": {\"size\": 1048576, \"one_time_burst\": 8388608, \"refill_time\": 1000}, \"ops\": {\"size\": 500, \"refill_time\": 100}}}"
	assert_output "204 "
	api PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap-rl0", "rx_rate_limiter": {"bandwidth": {"size": 125000, "refill_time": 100}}, "tx_rate_limiter": {"ops": {"size": 1000, "refill_time": 1000}}}'
	assert_output "204 "
	api GET /vm/config
	assert_output --partial '"rate_limiter":{"bandwidth":{"size":1048576,"one_time_burst":8388608,"refill_time":1000},"ops":{"size":500,"one_time_burst":0,"refill_time":100}}'
	assert_output --partial '"rx_rate_limiter":{"bandwidth":{"size":125000,"one_time_burst":0,"refill_time":100}},"tx_rate_limiter":{"ops":{"size":1000,"one_time_burst":0,"refill_time":1000}}'
	before=$output

	bad() { # bad PATH BODY MESSAGE
		api PUT "$1" "$2"
		assert_output "400 {\"fault_message\":\"$3\"}"
	}
	d='"drive_id": "rootfs", "path_on_host": "'$R'", "is_root_device": true'
	bad /drives/rootfs "{$d, \"rate_limiter\": {\"bandwidth\": {\"size\": -1, \"refill_time\": 100}}}" \
		'rate_limiter.bandwidth: field `size`: expected a non-negative integer'
	bad /drives/rootfs "{$d, \"rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": \"fast\"}}}" \
		'rate_limiter.ops: field `refill_time`: expected a non-negative integer'
	bad /drives/rootfs "{$d, \"rate_limiter\": {\"ops\": {\"size\": 10}}}" \
		'rate_limiter.ops: missing field `refill_time`'
	bad /drives/rootfs "{$d, \"rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": 1, \"one_time_burst\": 1.5}}}" \
		'rate_limiter.ops: field `one_time_burst`: expected a non-negative integer'
	bad /drives/rootfs "{$d, \"rate_limiter\": {\"bandwidth\": {\"size\": 100000000000000000000000, \"refill_time\": 1}}}" \
		'rate_limiter.bandwidth: field `size`: out of range (at most 18446744073709551614)'
	bad /drives/rootfs "{$d, \"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 18446744073709552}}}" \
		'rate_limiter.bandwidth: field `refill_time` 18446744073709552: at most 18446744073709 ms'
	bad /drives/rootfs "{$d, \"rate_limiter\": {\"iops\": {}}}" 'rate_limiter: unknown field `iops`'
	bad /drives/rootfs "{$d, \"rate_limiter\": 5}" 'field `rate_limiter`: expected an object'
	bad /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap-rl0", "tx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": -100}}}' \
		'tx_rate_limiter.bandwidth: field `refill_time`: expected a non-negative integer'
	api PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {}}'
	assert_output '400 {"fault_message":"The requested operation is not supported before starting the microVM."}'
	api GET /vm/config
	assert_equal "$output" "$before"
}
