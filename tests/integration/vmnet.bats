#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# hull vm tap|redirect|link and --net's up-front errors (net/net.h through
# libnl-route), each test in a network namespace of its own (unshare -n):
# nothing here touches the machine's network.  The redirect needs
# cls_matchall (or, without it, cls_u32: this machine's kernel) + act_mirred;
# a kernel without them must refuse with one line and leave nothing behind,
# the test host runs frames through the redirect
# (tests/integration/testhost/net.bats).

load helpers

setup() {
	setup_common
	hull_only "hull vm has no runc equivalent"
}

# in_netns SCRIPT: run bash SCRIPT in a new network namespace, $H = hull
in_netns() {
	run unshare -n env H="$RUNTIME" T="$BATS_TEST_TMPDIR" bash -c "set -e; $1"
}

@test "vm tap: multiqueue tap with an owner; a taken name and a bad name are one-line errors" {
	in_netns '
		$H vm tap --multi-queue --owner 4242 --group 4343 tp0
		ip -d link show tp0
		$H vm tap tp0 2>&1 && exit 9 || true
		$H vm tap "this-name-is-too-long-for-ifnamsiz" 2>&1 && exit 9 || true'
	echo "$output"
	assert_success
	assert_output --regexp 'tun type tap pi off vnet_hdr on multi_queue .*persist on'
	assert_output --regexp 'user 4242 group 4343'
	assert_line "hull: vm: tap tp0: a link of that name exists"
	assert_line 'hull: vm: tap "this-name-is-too-long-for-ifnamsiz": not a network interface name'
}

@test "vm link: MAC, MTU, IPv4 and IPv6 addresses, routes with the default route" {
	in_netns '
		ip link add ve0 type veth peer name ve1
		ip link set ve0 address 02:11:22:33:44:55 mtu 1400 up
		ip link set ve1 up
		ip addr add 10.9.0.2/24 dev ve0
		ip addr add fd00::2/64 dev ve0 nodad
		ip route add default via 10.9.0.1 dev ve0
		$H vm link ve0'
	echo "$output"
	assert_success
	local j=${lines[-1]}
	assert_equal "$(jq -r .mac <<<"$j")" 02:11:22:33:44:55
	assert_equal "$(jq -r .mtu <<<"$j")" 1400
	assert_equal "$(jq -r .up <<<"$j")" true
	assert_equal "$(jq -c '[.addresses[] | select(startswith("fe80") | not)]' <<<"$j")" '["10.9.0.2/24","fd00::2/64"]'
	assert_equal "$(jq -r '.routes[] | select(.dst == "default") | .gateway' <<<"$j")" 10.9.0.1
	jq -e '.routes[] | select(.dst == "10.9.0.0/24")' <<<"$j"
	jq -e '.routes[] | select(.dst == "fd00::/64")' <<<"$j"
	in_netns '$H vm link nosuch0'
	assert_failure 1
	assert_output "hull: vm: link nosuch0: No such device"
}

@test "vm redirect: veth <-> tap both ways, removal leaves no qdisc or filter" {
	in_netns '
		ip link add ve0 type veth peer name ve1
		$H vm tap tp0
		if $H vm redirect ve0 tp0 2>"$T/err"; then
			echo REDIRECTED
			tc filter show dev ve0 ingress
			tc filter show dev tp0 ingress
			$H vm redirect ve0 tp0 2>&1 && exit 9
		else
			echo REFUSED; cat "$T/err"
		fi
		echo ---after
		$H vm redirect --remove ve0 tp0
		$H vm redirect --remove ve0 tp0
		tc qdisc show dev ve0 ingress
		tc qdisc show dev tp0 ingress
		tc filter show dev ve0 ingress
		tc filter show dev tp0 ingress'
	echo "$output"
	assert_success
	if [[ $output == *REFUSED* ]]; then
		# no cls_matchall nor cls_u32 in this kernel: one line, and the
		# ingress qdisc made before the filter failed is gone again
		assert_line --regexp '^hull: vm: ve0: add (matchall )?redirect filter: '
	else
		# matchall, or u32's match-all key where the kernel lacks matchall
		assert_output --regexp 'matchall.*
.*
.*mirred \(Egress Redirect to device tp0\) stolen|match 00000000/00000000 at 0
.*mirred \(Egress Redirect to device tp0\) stolen'
		assert_output --regexp 'mirred \(Egress Redirect to device ve0\) stolen'
		assert_line --regexp '^hull: vm: ve0: add ingress qdisc: '
	fi
	assert_equal "$(sed -n '/^---after/,$p' <<<"$output")" ---after
}

@test "vm redirect: frames cross the redirect (matchall, or u32 where the kernel lacks it)" {
	# two veth pairs: ve1 and va1 in namespaces of their own, ve0 and va0 in
	# this one, redirected into each other as a veth and a tap would be
	in_netns '
		unshare -n sleep 600 3>&- & a=$!
		unshare -n sleep 600 3>&- & b=$!
		trap "kill $a $b" EXIT
		for p in $a $b; do
			until [ "$(readlink /proc/$p/ns/net)" != "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done
		done
		ip link add ve0 type veth peer name ve1
		ip link add va0 type veth peer name va1
		ip link set ve1 netns $a
		ip link set va1 netns $b
		ip link set ve0 up
		ip link set va0 up
		nsenter -t $a -n sh -c "ip addr add 10.7.0.1/24 dev ve1 && ip link set ve1 up"
		nsenter -t $b -n sh -c "ip addr add 10.7.0.2/24 dev va1 && ip link set va1 up"
		$H vm redirect ve0 va0
		tc filter show dev ve0 ingress | grep -o -m1 -e matchall -e u32
		nsenter -t $a -n busybox ping -c 2 -W 5 10.7.0.2'
	echo "$output"
	assert_success
	assert_line --regexp '^(matchall|u32)$'
	assert_line --regexp '^2 packets transmitted, 2 packets received'
}

@test "vm run --net: a missing tap and bad --net values are refused before /dev/kvm" {
	in_netns '$H vm run --kernel /bin/true --net tap=nosuch0'
	assert_failure 1
	assert_output "hull: vm run: --net tap=nosuch0: no such network interface"
	in_netns '$H vm run --kernel /bin/true --net tap=x,mac=01:00:00:00:00:01'
	assert_output "hull: vm run: --net mac=01:00:00:00:00:01: not a unicast MAC address (xx:xx:xx:xx:xx:xx)"
	in_netns '$H vm run --kernel /bin/true --net tap=x,vhost=auto'
	assert_output "hull: vm run: --net vhost=auto: on or off"
	in_netns '$H vm run --kernel /bin/true --net mac=02:00:00:00:00:01'
	assert_output "hull: vm run: --net: tap=NAME is required"
	in_netns '$H vm run --kernel /bin/true --net tap=x,speed=9'
	assert_output 'hull: vm run: --net: unknown key "speed" (tap=, mac=, vhost=)'
}
