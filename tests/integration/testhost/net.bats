#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# virtio-net of `hull vm run --net` in the test host (hardware KVM, tun,
# vhost_net): a tap in a network namespace this test creates, the guest's
# eth0 configured by its /init (tests/prepare.d/50-microvm.sh, hull.test=net),
# ping both ways and 4 MiB over TCP each way with the bytes checked, with vhost-net
# and with the event-loop data path.  Nothing outside the namespace is touched.

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
	[ -c /dev/net/tun ] || skip "no /dev/net/tun in this test host"
	for f in vmlinuz initramfs.cpio.gz; do
		[ -f "$C/$f" ] || { echo "missing $C/$f: run tests/prepare.d/50-microvm.sh" >&3; return 1; }
	done
	NS=hullnet$$
	NS2=
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	vm_pid=
}

teardown() {
	[ -z "${vm_pid:-}" ] || kill -KILL "$vm_pid" 2>/dev/null || true
	[ -z "${vm_pid:-}" ] || wait "$vm_pid" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	[ -z "${NS2:-}" ] || ip netns del "$NS2" 2>/dev/null || true
}

in_ns() { ip netns exec "$NS" "$@"; }

wait_for() { # wait_for REGEX: until the VM's output has a line matching it; fails if hull ended first
	local i
	for i in $(seq 600); do
		grep -qE "$1" "$BATS_TEST_TMPDIR/out" && return 0
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 1
	done
	grep -qE "$1" "$BATS_TEST_TMPDIR/out" || { tail -n 30 "$BATS_TEST_TMPDIR/out"; return 1; }
}

value() { sed -n "s/^$1=//p" "$BATS_TEST_TMPDIR/out" | tr -d '\r' | head -n1; }

# What a stalled transfer leaves to look at: the VMM (alive? where its
# threads wait), the tap's counters and the guest's console.
diag() {
	echo "== $1: VMM $(kill -0 "$vm_pid" 2>/dev/null && echo running || echo gone)"
	local t k
	# state, utime and stime twice, 2 s apart: does a vCPU still run?
	for k in 1 2; do
		for t in /proc/"$vm_pid"/task/*; do
			[ -e "$t/comm" ] && echo "thread $(cat "$t/comm" 2>/dev/null): $(cat "$t/wchan" 2>/dev/null)" \
				"$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1,12,13)"
		done
		[ "$k" = 2 ] || sleep 2
	done
	in_ns ip -s link show tap0 2>&1
	echo "-- console:"
	tail -n 40 "$BATS_TEST_TMPDIR/out"
}

# net_vm VHOST CPUS TAPMODE WIRING: boot, ping both ways, 4 MiB over TCP each way.
# WIRING tap: the peer is the tap itself (10.77.0.1 on tap0); redirect: the
# Kata model, tap0 and veth ve0 in $NS mirrored by `hull vm redirect`, the
# peer at the veth's other end ve1 in $NS2, the guest with ve0's MAC.
net_vm() {
	local vhost=$1 cpus=$2 mode=$3 wiring=$4 data=$BATS_TEST_TMPDIR/data mac=02:00:00:77:00:02 peer
	in_ns ip tuntap add tap0 mode tap $mode
	in_ns ip link set tap0 up
	if [ "$wiring" = redirect ]; then
		NS2=hullpeer$$
		ip netns add "$NS2"
		in_ns ip link add ve0 type veth peer name ve1 netns "$NS2"
		ip -n "$NS2" addr add 10.77.0.1/24 dev ve1
		ip -n "$NS2" link set ve1 up
		in_ns ip link set ve0 up
		in_ns "$HULL_BIN" vm redirect ve0 tap0
		run in_ns tc filter show dev ve0 ingress
		assert_output --partial "mirred (Egress Redirect to device tap0) stolen"
		run in_ns tc filter show dev tap0 ingress
		assert_output --partial "mirred (Egress Redirect to device ve0) stolen"
		mac=$(in_ns "$HULL_BIN" vm link ve0 | jq -r .mac)
		peer=(ip netns exec "$NS2")
	else
		in_ns ip addr add 10.77.0.1/24 dev tap0
		peer=(ip netns exec "$NS")
	fi
	head -c 4194304 /dev/urandom >"$data"
	in_ns "$HULL_BIN" vm run --kernel "$C/vmlinuz" --initrd "$C/initramfs.cpio.gz" --cpus "$cpus" \
		--net tap=tap0,mac=$mac,vhost=$vhost \
		--cmdline "console=ttyS0 quiet hull.test=net hull.ip=10.77.0.2/24 hull.peer=10.77.0.1 panic=-1" \
		</dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	vm_pid=$!
	wait_for '^net_ready'
	assert_equal "$(value ping_host)" ok
	assert_equal "$(value mac)" "$mac"
	run timeout -s KILL 120 "${peer[@]}" busybox ping -c 3 -W 10 10.77.0.2
	echo "$output"
	[ "$status" = 0 ] || { diag "ping of the guest"; false; }
	assert_output --partial "3 packets transmitted, 3 packets received"
	# bash closes the connection after the redirect: the guest's nc sees EOF.
	# Every transfer is bounded (a stall fails this test with what the VMM
	# and the tap show, not the whole suite at its limit) and killed
	# outright: bats' own timeout cannot end a pipeline in $(...).
	timeout -s KILL 240 "${peer[@]}" bash -c "cat '$data' >/dev/tcp/10.77.0.2/5000" ||
		{ diag "host -> guest on 5000 failed or stalled for 240 s"; false; }
	wait_for '^tcp_md5='
	local want; want=$(md5sum <"$data" | cut -d' ' -f1)
	grep -q "^tcp_md5=$want tcp_bytes=4194304" "$BATS_TEST_TMPDIR/out" ||
		{ grep tcp_md5 "$BATS_TEST_TMPDIR/out"; false; }
	# guest -> host: the guest listens on 5001 once it printed send_md5
	wait_for '^send_md5='
	# retried while the guest's nc is not listening yet; 240 s in all
	local i got= deadline=$((SECONDS + 240))
	while :; do
		got=$(timeout -s KILL $((deadline - SECONDS)) "${peer[@]}" bash -c "cat </dev/tcp/10.77.0.2/5001" 2>/dev/null |
			md5sum | cut -d' ' -f1)
		[ "$got" = "$(value send_md5)" ] && break
		[ $((deadline - SECONDS)) -gt 1 ] || break
		sleep 1
	done
	[ "$got" = "$(value send_md5)" ] || { diag "guest -> host on 5001: md5 $got"; false; }
	wait_for '^send_done'
	# the guest powers off after send_done
	for i in $(seq 300); do kill -0 "$vm_pid" 2>/dev/null || break; sleep 1; done
	kill -0 "$vm_pid" 2>/dev/null && { diag "no exit 300 s after send_done"; false; }
	status=0
	wait "$vm_pid" || status=$?
	vm_pid=
	tail -n 5 "$BATS_TEST_TMPDIR/out"
	assert_equal "$status" 0
	if [ "$wiring" = redirect ]; then
		in_ns "$HULL_BIN" vm redirect --remove ve0 tap0
		for l in ve0 tap0; do
			assert_equal "$(in_ns tc qdisc show dev $l ingress)" ""
			assert_equal "$(in_ns tc filter show dev $l ingress)" ""
		done
	fi
}

@test "virtio-net with vhost-net, multiqueue tap mirrored to a veth: ping both ways, 4 MiB each way over TCP intact" {
	[ -c /dev/vhost-net ] || skip "no /dev/vhost-net in this test host"
	net_vm on 2 multi_queue redirect
	assert_equal "$(value queues)" 2
}

@test "virtio-net in the event loop (vhost=off) on a tap: ping both ways, 4 MiB each way over TCP intact" {
	net_vm off 1 "" tap
	assert_equal "$(value queues)" 1
}

@test "--net errors: missing tap, busy tap, not a tap" {
	in_ns ip tuntap add tap1 mode tap
	run in_ns "$HULL_BIN" vm run --kernel "$C/vmlinuz" --net tap=nosuch0
	assert_failure 1
	assert_output "hull: vm run: --net tap=nosuch0: no such network interface"
	run in_ns "$HULL_BIN" vm run --kernel "$C/vmlinuz" --net tap=lo
	assert_failure 1
	assert_output --partial "tap lo: not a tap device"
	# a single-queue tap takes one reader: hold it with a first VM
	in_ns "$HULL_BIN" vm run --kernel "$C/vmlinuz" --initrd "$C/initramfs.cpio.gz" --net tap=tap1,vhost=off \
		--cmdline "console=ttyS0 quiet hull.test=sleep hull.sleep=600 panic=-1" </dev/null \
		>"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	vm_pid=$!
	wait_for HULL-TEST-BEGIN
	run in_ns "$HULL_BIN" vm run --kernel "$C/vmlinuz" --net tap=tap1
	assert_failure 1
	assert_output --partial "tap tap1: busy"
}
