# SPDX-License-Identifier: Apache-2.0
# podman's -p to a VM-isolated container (hull-vm) and to a container, on
# podman's default bridge network through either network backend: netavark
# (vmcontainer-engines.bats) or CNI with containernetworking-plugins' bridge +
# portmap (vmcontainer-cni.bats).  Needs tests/integration/engines.bash's pm.

# pm_vm_setup_file: in setup_file, inside the test host only.  HULL_VM, a
# `hull-vm` link to the runtime; podman's private state (pm_setup, runtime
# hull-vm) and the image hull-test:latest of the test bundle's rootfs.
pm_vm_setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
	HULL_VM=$BATS_FILE_TMPDIR/bin/hull-vm
	export HULL_VM
	mkdir -p "${HULL_VM%/*}"
	ln -s "$RUNTIME" "$HULL_VM"
	pm_setup "$BATS_FILE_TMPDIR/podman" "$HULL_VM"
	pm_import "$BASE_BUNDLE/rootfs" hull-test:latest
}

# pm_net BACKEND ARG...: pm on network backend BACKEND (netavark, podman's
# default on Debian when installed, or cni).  CNI's network configurations
# are private to the test ($PM_DIR/cni, not the machine's /etc/cni/net.d),
# where podman finds none and uses its built-in default network "podman":
# bridge (with host-local IPAM and masquerade), portmap, firewall, tuning.
pm_net() {
	local be=$1
	shift
	if [[ $be == cni ]]; then
		mkdir -p "$PM_DIR/cni"
		pm --network-backend cni --network-config-dir "$PM_DIR/cni" "$@"
	else
		pm --network-backend "$be" "$@"
	fi
}

# pm_publish_teardown BACKEND: in teardown.  The namespace holder of a
# failed pm_publish, and every container removed through BACKEND (another
# backend would not undo its network).
pm_publish_teardown() {
	if [[ -n ${PUB_HOLDER:-} ]]; then
		kill "$PUB_HOLDER" 2>/dev/null || true
		wait "$PUB_HOLDER" 2>/dev/null || true
	fi
	pm_net "$1" rm -a -f -t 0 >/dev/null 2>&1 || true
}

# No podman container left, nor anything of one: podman's record, hull's
# state (podman runs hull with its default root), conmon, the supervisor, the file server, the cgroup (the tests run
# one at a time, alone in the test host).
assert_pm_gone() {
	local left
	run pm ps -a -q
	assert_output ""
	left=$(find /run/hull -mindepth 1 -maxdepth 1 -not -name '*.lock' 2>/dev/null)
	[[ -z $left ]] || fail "hull state left: $left"
	if pgrep -f -- "conmon .*$PM_DIR" >/dev/null; then
		fail "conmon left behind: $(pgrep -af -- "conmon .*$PM_DIR")"
	fi
	if pgrep -f -- "$HULL_VM" >/dev/null; then
		fail "hull-vm left behind: $(pgrep -af -- "$HULL_VM")"
	fi
	if pgrep -f -- "virtiofsd" >/dev/null; then
		fail "file server left behind: $(pgrep -af -- virtiofsd)"
	fi
	assert_no_cgroup "libpod-*"
}

# assert_vhost PID on|off: the VMM process PID's virtio-net data path is
# vhost-net (PID holds /dev/vhost-net open and the kernel runs its worker,
# `vhost-TID` after the VMM's thread TID that set up the ring: a kernel
# thread before Linux 6.4, a thread of PID since), or the VMM's own event
# loop (neither).
assert_vhost() {
	local pid=$1 want=$2 fds workers=0 t
	fds=$(find "/proc/$pid/fd" -lname /dev/vhost-net 2>/dev/null | wc -l)
	for t in /proc/"$pid"/task/*; do
		if pgrep -x "vhost-${t##*/}" >/dev/null || grep -q '^vhost-' "$t/comm" 2>/dev/null; then
			workers=$((workers + 1))
		fi
	done
	if [[ $want == on ]]; then
		((fds > 0)) || fail "the VMM $pid has no /dev/vhost-net open: $(ls -l "/proc/$pid/fd")"
		((workers > 0)) || fail "no vhost worker (vhost-TID, TID a thread of $pid): $(ps -eLo pid,comm | grep vhost)"
	else
		((fds == 0)) || fail "the VMM $pid has /dev/vhost-net open with vhost=off"
		((workers == 0)) || fail "a vhost worker of $pid runs with vhost=off"
	fi
}

# pm_publish BACKEND RUNTIME PORT [VHOST]: `podman run -d -p PORT:80` with RUNTIME on
# podman's default bridge network through BACKEND (pm_net; both write
# iptables-nft rules: DNAT from the host port, masquerade), the container's
# busybox httpd answering with the kernel it runs on; fetched from the test
# host at 127.0.0.1:PORT and at the bridge's address, then `podman rm -f`.
# Sets PUB_KERNEL (what the server said it runs on) for the caller's checks,
# and checks that nothing is left: podman's container and hull's state
# (assert_pm_gone), the DNAT rule, the host side of the veth, podman's netns,
# with CNI host-local's lease of the address; the namespace itself is kept
# alive by a process of the test across the removal, and must hold nothing
# but lo (no veth, no tap of hull's, so no tc filter either).
# The VM test first checks hull's mirror in it: the tap and both redirects,
# and the data path: VHOST (on, the default, or off) is the annotation
# org.hull.vm.vhost given to podman, and what the VMM must use (assert_vhost).
pm_publish() {
	local be=$1 rt=$2 port=$3 vhost=${4:-on} cid sb br gw ip reply ann=()
	run pm_net "$be" info --format '{{.Host.NetworkBackend}}'
	assert_output "$be"
	[[ $vhost == on ]] || ann=(--annotation "org.hull.vm.vhost=$vhost")
	cid=$(PM_RUNTIME=$rt pm_net "$be" run -d "${ann[@]}" --ulimit nofile=1024:1024 \
		--ulimit nproc=1024:1024 -p "$port:80" localhost/hull-test:latest /bin/sh -c \
		'mkdir /www && echo "published $(uname -r)" >/www/index.html && exec httpd -f -p 80 -h /www')
	sb=$(pm_net "$be" inspect --format '{{.NetworkSettings.SandboxKey}}' "$cid")
	[[ $sb == /run/netns/* && -e $sb ]] || fail "podman's network namespace: '$sb'; $(pm_why "$cid")"
	br=$(pm_net "$be" network inspect podman --format '{{.NetworkInterface}}')
	gw=$(ip -4 -o addr show dev "$br" | awk '{ sub("/.*", "", $4); print $4; exit }')
	[[ -n $gw ]] || fail "no IPv4 address on podman's bridge '$br': $(ip -o addr)"
	ip=$(pm_net "$be" inspect --format '{{.NetworkSettings.IPAddress}}' "$cid")
	[[ -n $ip ]] || fail "no IPv4 address for the container"
	if [[ $be == cni ]]; then
		[[ -e /var/lib/cni/networks/podman/$ip ]] ||
			fail "no host-local lease of $ip: $(ls /var/lib/cni/networks/podman 2>&1)"
	fi
	if [[ $rt == "$HULL_VM" ]]; then
		run nsenter --net="$sb" ip -o link show hulltap0
		assert_success
		run nsenter --net="$sb" tc filter show dev eth0 ingress
		assert_output --partial 'Egress Redirect to device hulltap0'
		run nsenter --net="$sb" tc filter show dev hulltap0 ingress
		assert_output --partial 'Egress Redirect to device eth0'
		assert_vhost "$(pm_net "$be" inspect --format '{{.State.Pid}}' "$cid")" "$vhost"
	fi
	run iptables -t nat -S
	assert_output --partial -- "--dport $port -j DNAT --to-destination $ip:80"
	# The server starts after `run -d` returns: wait for its first answer.
	for _ in $(seq 120); do
		reply=$(curl -sS -m 5 "http://127.0.0.1:$port/" 2>/dev/null) && break
		sleep 1
	done
	[[ $reply == "published "* ]] || fail "127.0.0.1:$port: '$reply' ($(pm logs "$cid" 2>&1))"
	PUB_KERNEL=${reply#published }
	run curl -sS -m 20 "http://$gw:$port/"
	assert_success
	assert_output "$reply"
	nsenter --net="$sb" sleep 1000 3>&- &
	PUB_HOLDER=$!
	run pm_net "$be" rm -f -t 0 "$cid"
	assert_success
	[[ ! -e $sb ]] || fail "podman's network namespace $sb left"
	run nsenter --net="/proc/$PUB_HOLDER/ns/net" ip -o link show
	assert_success
	assert_output --regexp '^1: lo: '
	[[ ${#lines[@]} -eq 1 ]] || fail "links left in the container's network namespace: $output"
	run iptables -t nat -S
	assert_success
	refute_output --partial -- "--dport $port "
	[[ -z $(ip -o link show master "$br" 2>/dev/null) ]] || fail "left on $br: $(ip -o link show master "$br")"
	[[ ! -e /var/lib/cni/networks/podman/$ip ]] || fail "host-local's lease of $ip left"
	assert_pm_gone
}
