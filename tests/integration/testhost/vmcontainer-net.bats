#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The network of VM-isolated containers (issue 12, docs/networking.md), in
# the test host: network namespaces wired by Debian's CNI plugins
# (containernetworking-plugins: bridge + host-local, run the way CNI
# specifies), each mirrored into its container's VM by hull (a tap, the tc
# redirect both ways, a virtio-net device with the veth's MAC; the agent
# sets the name, MTU, addresses and routes).  Only objects these tests made
# are checked: their namespaces, their bridge, their containers.

load ../helpers

CNI_BIN=/usr/lib/cni

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
}

setup() {
	setup_common
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun in this test host"
	[ -x $CNI_BIN/bridge ] && [ -x $CNI_BIN/host-local ] ||
		fail "no CNI plugins in $CNI_BIN: install containernetworking-plugins (tools/deps.txt)"
	HULL_VM=$BATS_TEST_TMPDIR/bin/hull-vm
	mkdir -p "${HULL_VM%/*}"
	ln -s "$RUNTIME" "$HULL_VM"
	private_rootfs
	# names of at most 15 bytes, this test's own
	NSA=hvna$$
	NSB=hvnb$$
	BR=hvbr$$
	NETS=()
}

teardown() {
	local ns
	# the containers first (delete --force): their taps are in the namespaces
	teardown_common
	for ns in "${NETS[@]}"; do
		cni DEL "${ns%%:*}" "${ns#*:}" >/dev/null 2>&1 || true
	done
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	ip link del "$BR" 2>/dev/null || true
}

hull_vm() {
	timeout -k 30 600 "$HULL_VM" --root "$ROOT" "$@"
}

cni_conf() {
	cat <<EOF
{"cniVersion": "1.0.0", "name": "hullnet$$", "type": "bridge", "bridge": "$BR",
 "isGateway": true, "ipMasq": false, "mtu": 1400,
 "ipam": {"type": "host-local", "dataDir": "$BATS_TEST_TMPDIR/ipam",
          "ranges": [[{"subnet": "10.99.0.0/24", "gateway": "10.99.0.1"}],
                     [{"subnet": "fd99::/64", "gateway": "fd99::1"}]],
          "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}}
EOF
}

# cni COMMAND NETNS IFNAME: the bridge plugin as CNI runs it (its result on stdout).
cni() {
	cni_conf | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 CNI_IFNAME=$3 CNI_PATH=$CNI_BIN \
		$CNI_BIN/bridge
}

# netns NAME IFNAME: a namespace with CNI's veth in it; prints its IPv4 address.
netns() {
	local res
	ip netns add "$1"
	ip -n "$1" link set lo up
	res=$(cni ADD "$1" "$2") || fail "CNI ADD $1: $res"
	NETS+=("$1:$2")
	jq -r '.ips[] | select(.address | contains(".")) | .address | sub("/.*"; "")' <<<"$res"
}

# bundle NAME NETNS [ANNOTATION=VALUE]: a bundle joining NETNS, whose init
# prints its network and serves TCP port 5000 (the bytes' md5) once; its
# processes may ping (CAP_NET_RAW: busybox ping uses a raw socket).
bundle() {
	local b=$BATS_TEST_TMPDIR/$1
	mkdir -p "$b"
	jq --arg ns "/run/netns/$2" --arg root "$BUNDLE/rootfs" --arg ann "${3:-}" '
		.root.path = $root |
		.process.capabilities |= with_entries(.value += ["CAP_NET_RAW"]) |
		.linux.namespaces = ([.linux.namespaces[] | select(.type != "network")] + [{type: "network", path: $ns}]) |
		if $ann != "" then .annotations[($ann | sub("=.*"; ""))] = ($ann | sub("^[^=]*="; "")) else . end |
		.process.args = ["/bin/sh", "-c",
			"ip -o link; ip -o addr; ip route; ip -6 route; echo READY; nc -l -p 5000 | md5sum; echo DONE; while :; do sleep 1; done"]
		' "$BUNDLE/config.json" >"$b/config.json"
	echo "$b"
}

# Nothing of hull's in namespace NS: no tap, no ingress qdisc, no filter.
assert_ns_clean() {
	local ns=$1 links
	links=$(ip -n "$ns" -o link show)
	[[ $links != *hulltap* ]] || fail "tap left in $ns: $links"
	[ -z "$(ip netns exec "$ns" tc qdisc show ingress)" ] ||
		fail "ingress qdisc left in $ns: $(ip netns exec "$ns" tc qdisc show ingress)"
	local dev
	for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
		[ -z "$(ip netns exec "$ns" tc filter show dev "$dev" ingress)" ] || fail "filter left on $dev in $ns"
	done
}

# send IP FILE: the bytes to the guest's port 5000 from the test host (the bridge's side).
send() {
	local i
	for i in $(seq 100); do
		timeout 60 bash -c "cat '$2' >/dev/tcp/$1/5000" 2>/dev/null && return 0
		sleep 0.2
	done
	fail "could not send to $1:5000"
}

@test "vmcontainer-net: two VMs on a CNI bridge: name, MTU, v4/v6 addresses and routes, ping, TCP bytes, vhost on and off, nothing left" {
	local ipa ipb ba bb ida idb pida pidb data sum
	ipa=$(netns "$NSA" eth0)
	ipb=$(netns "$NSB" net1)
	[ -n "$ipa" ] && [ -n "$ipb" ] || fail "CNI gave no IPv4 address: '$ipa' '$ipb'"
	mounts_baseline
	ba=$(bundle a "$NSA")
	bb=$(bundle b "$NSB" org.hull.vm.vhost=off)
	ida=$(new_id)
	idb=$(new_id)
	mac_a=$(ip -n "$NSA" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)

	hull_vm create --bundle "$ba" --pid-file "$BATS_TEST_TMPDIR/pa" "$ida" >"$BATS_TEST_TMPDIR/$ida.out" 2>&1 </dev/null ||
		fail "create A: $(cat "$BATS_TEST_TMPDIR/$ida.out")"
	hull_vm create --bundle "$bb" --pid-file "$BATS_TEST_TMPDIR/pb" "$idb" >"$BATS_TEST_TMPDIR/$idb.out" 2>&1 </dev/null ||
		fail "create B: $(cat "$BATS_TEST_TMPDIR/$idb.out")"
	pida=$(cat "$BATS_TEST_TMPDIR/pa")
	pidb=$(cat "$BATS_TEST_TMPDIR/pb")
	# the redirect both ways in the namespace, while it runs
	run ip netns exec "$NSA" tc filter show dev eth0 ingress
	assert_output --partial 'Egress Redirect to device hulltap0'
	run ip netns exec "$NSA" tc filter show dev hulltap0 ingress
	assert_output --partial 'Egress Redirect to device eth0'
	# vhost-net for A (the default when it opens), the VMM's loop for B (annotation)
	ls -l "/proc/$pida/fd" | grep -q vhost-net || fail "A's VMM has no /dev/vhost-net open"
	! ls -l "/proc/$pidb/fd" | grep -q vhost-net || fail "B's VMM has /dev/vhost-net open despite vhost=off"
	# the VMM's jail (vm-containers.md): a uid of its own; the main thread keeps
	# CAP_NET_ADMIN alone (it removes the taps at the end), the VMM's threads none
	local s uida uidb
	uida=$(jail_uid "$ida") || fail "no jail uid claimed for A"
	uidb=$(jail_uid "$idb") || fail "no jail uid claimed for B"
	[ "$uida" != "$uidb" ] || fail "A and B share the jail uid $uida"
	grep -Eq "^Uid:\s+$uida\s+$uida\s+$uida\s+$uida$" "/proc/$pida/status" || fail "A: $(grep ^Uid: "/proc/$pida/status")"
	grep -Eq "^Uid:\s+$uidb\s+$uidb\s+$uidb\s+$uidb$" "/proc/$pidb/status" || fail "B: $(grep ^Uid: "/proc/$pidb/status")"
	grep -Eq '^CapEff:\s+0000000000001000$' "/proc/$pida/status" || fail "A: $(grep ^CapEff: "/proc/$pida/status")"
	grep -Eq '^CapBnd:\s+0000000000001000$' "/proc/$pida/status" || fail "A: $(grep ^CapBnd: "/proc/$pida/status")"
	for s in /proc/"$pida"/task/*/status; do
		[ "$s" = "/proc/$pida/task/$pida/status" ] || grep -Eq '^CapEff:\s+0000000000000000$' "$s" ||
			fail "$s: $(grep ^CapEff: "$s")"
	done
	hull start "$ida"
	hull start "$idb"
	wait_for_output "$ida" READY 300
	wait_for_output "$idb" READY 300
	cat "$BATS_TEST_TMPDIR/$ida.out"
	cat "$BATS_TEST_TMPDIR/$idb.out"
	# the guest's interface: the veth's name, MAC, MTU, addresses; routes with the default ones
	grep -q "eth0: <.*UP.*> mtu 1400 .*link/ether $mac_a" "$BATS_TEST_TMPDIR/$ida.out" || fail "A's eth0"
	grep -q "net1: <.*UP.*> mtu 1400 " "$BATS_TEST_TMPDIR/$idb.out" || fail "B's net1"
	grep -q "eth0 *inet $ipa/24" "$BATS_TEST_TMPDIR/$ida.out" || fail "A's IPv4 address"
	grep -q "eth0 *inet6 fd99::.*/64 scope global" "$BATS_TEST_TMPDIR/$ida.out" || fail "A's IPv6 address"
	grep -qx "default via 10.99.0.1 dev eth0 *" "$BATS_TEST_TMPDIR/$ida.out" || fail "A's default route"
	grep -q "^default via fd99::1 dev eth0" "$BATS_TEST_TMPDIR/$ida.out" || fail "A's IPv6 default route"
	grep -qx "default via 10.99.0.1 dev net1 *" "$BATS_TEST_TMPDIR/$idb.out" || fail "B's default route"
	# /etc/resolv.conf and /etc/hosts are the bundle's, as they are: nothing to see here
	# ping: guest to guest, guest to the bridge, the host side to the guests (busybox:
	# the test host has no iputils), IPv6 too
	run hull exec "$ida" ping -c 2 -W 5 "$ipb"
	assert_success
	run hull exec "$ida" ping -c 2 -W 5 10.99.0.1
	assert_success
	run hull exec "$idb" ping -c 2 -W 5 "$ipa"
	assert_success
	run hull exec "$ida" ping6 -c 2 -W 5 fd99::1
	assert_success
	run busybox ping -c 2 -W 5 "$ipa"
	assert_success
	run busybox ping -c 2 -W 5 "$ipb"
	assert_success
	# 4 MiB over TCP from the host side into each guest (vhost on, off): the bytes' md5
	data=$BATS_TEST_TMPDIR/data
	head -c 4194304 /dev/urandom >"$data"
	sum=$(md5sum <"$data" | cut -d' ' -f1)
	send "$ipa" "$data"
	send "$ipb" "$data"
	wait_for_output "$ida" DONE 300
	wait_for_output "$idb" DONE 300
	grep -q "^$sum" "$BATS_TEST_TMPDIR/$ida.out" || fail "A received other bytes: $(cat "$BATS_TEST_TMPDIR/$ida.out")"
	grep -q "^$sum" "$BATS_TEST_TMPDIR/$idb.out" || fail "B received other bytes: $(cat "$BATS_TEST_TMPDIR/$idb.out")"
	hull kill "$ida" KILL
	hull kill "$idb" KILL
	wait_for_status "$ida" stopped 120
	wait_for_status "$idb" stopped 120
	hull delete "$ida"
	hull delete "$idb"
	assert_nothing_left "$ida"
	assert_nothing_left "$idb"
	assert_ns_clean "$NSA"
	assert_ns_clean "$NSB"
	# the engine's veth is as CNI made it
	run ip -n "$NSA" -o addr show eth0
	assert_output --partial "inet $ipa/24"
}

@test "vmcontainer-net: delete --force after the supervisor was SIGKILLed removes the taps and filters" {
	local b id pid
	netns "$NSA" eth0 >/dev/null
	mounts_baseline
	b=$(bundle a "$NSA")
	id=$(new_id)
	hull_vm create --bundle "$b" --pid-file "$BATS_TEST_TMPDIR/p" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null ||
		fail "create: $(cat "$BATS_TEST_TMPDIR/$id.out")"
	pid=$(cat "$BATS_TEST_TMPDIR/p")
	ip -n "$NSA" -o link show hulltap0 >/dev/null || fail "no tap while it runs"
	kill -KILL "$pid"
	# the persistent tap and the filters outlive the supervisor ...
	ip -n "$NSA" -o link show hulltap0 >/dev/null || fail "the tap went with the supervisor"
	# ... until delete --force
	hull delete --force "$id"
	assert_nothing_left "$id"
	assert_ns_clean "$NSA"
}

@test "vmcontainer-net: an interface hull cannot mirror is one clear error, and nothing is left" {
	local b id
	ip netns add "$NSA"
	mounts_baseline
	# a veth without an address
	ip -n "$NSA" link add vx0 type veth peer name vx1
	b=$(bundle a "$NSA")
	id=$(new_id)
	run_nopipe hull_vm create --bundle "$b" "$id"
	assert_failure 1
	[ "${#lines[@]}" -eq 0 ] && [ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "not one line: $stderr"
	[[ $stderr =~ interface\ vx[01]\ has\ no\ IPv4\ or\ IPv6\ address:\ hull\ cannot\ mirror\ it\ into\ the\ VM ]] ||
		fail "stderr: $stderr"
	assert_nothing_left "$id"
	assert_ns_clean "$NSA"
	# a link of a kind hull does not mirror (a bridge: the test host's kernel has no dummy)
	ip -n "$NSA" link del vx0
	ip -n "$NSA" link add dm0 type bridge
	ip -n "$NSA" addr add 10.98.0.2/24 dev dm0
	run_nopipe hull_vm create --bundle "$b" "$id"
	assert_failure 1
	[ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "not one line: $stderr"
	[[ $stderr == *"interface dm0 (bridge): hull mirrors only veth, macvlan and ipvlan interfaces into a VM"* ]] ||
		fail "stderr: $stderr"
	assert_nothing_left "$id"
	assert_ns_clean "$NSA"
}
