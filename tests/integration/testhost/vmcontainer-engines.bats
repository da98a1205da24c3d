#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Unchanged engines drive VM-isolated containers through the `hull-vm` link
# (docs/vm-containers.md), inside the test host (its own run-all stage,
# testhost-vm-engines): Debian's podman 4.3 with conmon (`--runtime .../hull-vm`) and
# containerd 1.6's stock runc shim (`ctr run --runc-binary .../hull-vm`), each
# with private state under the file's tmpdir (tests/integration/engines.bash).
# No registry: podman runs a rootfs directory or an image imported from a tar
# of the test bundle's rootfs, containerd an OCI archive of it.  A port is
# published with podman's -p on its netavark bridge, to a VM and (the same
# steps) to a container.  Each test boots one VM (slow under TCG) and checks
# several things.

NS=hull-vm-engines

load ../helpers
load ../engines

setup_file() {
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
	containerd_start "$BATS_FILE_TMPDIR/containerd"
	make_image "$BASE_BUNDLE/rootfs"
	c image import "$D/image.tar" >/dev/null
}

teardown_file() {
	pm_teardown
	if [[ -n ${D:-} ]]; then
		containerd_clean
		containerd_stop
		rmdir /sys/fs/cgroup/"$NS" 2>/dev/null || true
	fi
}

setup() {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	HOST_KVER=$(uname -r)
}

teardown() {
	if [[ -n ${PUB_HOLDER:-} ]]; then
		kill "$PUB_HOLDER" 2>/dev/null || true
		wait "$PUB_HOLDER" 2>/dev/null || true
	fi
	pm rm -a -f -t 0 >/dev/null 2>&1 || true
	containerd_clean
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

# pm_publish RUNTIME PORT: `podman run -d -p PORT:80` with RUNTIME on
# podman's default bridge network through netavark (iptables-nft: DNAT from
# the host port, masquerade), the container's busybox httpd answering with
# the kernel it runs on; fetched from the test host at 127.0.0.1:PORT and at
# the bridge's address, then `podman rm -f`.  Sets PUB_KERNEL (what the
# server said it runs on) for the caller's checks, and checks that nothing is
# left: podman's container and hull's state (assert_pm_gone), the DNAT rule,
# the host side of the veth, podman's netns; the namespace itself is kept
# alive by a process of the test across the removal, and must hold nothing
# but lo (no veth, no tap of hull's, so no tc filter either).
# The VM test first checks hull's mirror in it: the tap and both redirects.
pm_publish() {
	local rt=$1 port=$2 cid sb br gw reply
	run pmn info --format '{{.Host.NetworkBackend}}'
	assert_output netavark
	cid=$(PM_RUNTIME=$rt pmn run -d --ulimit nofile=1024:1024 \
		--ulimit nproc=1024:1024 -p "$port:80" localhost/hull-test:latest /bin/sh -c \
		'mkdir /www && echo "published $(uname -r)" >/www/index.html && exec httpd -f -p 80 -h /www')
	sb=$(pmn inspect --format '{{.NetworkSettings.SandboxKey}}' "$cid")
	[[ $sb == /run/netns/* && -e $sb ]] || fail "podman's network namespace: '$sb'; $(pm_why "$cid")"
	br=$(pmn network inspect podman --format '{{.NetworkInterface}}')
	gw=$(ip -4 -o addr show dev "$br" | awk '{ sub("/.*", "", $4); print $4; exit }')
	[[ -n $gw ]] || fail "no IPv4 address on podman's bridge '$br': $(ip -o addr)"
	if [[ $rt == "$HULL_VM" ]]; then
		run nsenter --net="$sb" ip -o link show hulltap0
		assert_success
		run nsenter --net="$sb" tc filter show dev eth0 ingress
		assert_output --partial 'Egress Redirect to device hulltap0'
		run nsenter --net="$sb" tc filter show dev hulltap0 ingress
		assert_output --partial 'Egress Redirect to device eth0'
	fi
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
	run pmn rm -f -t 0 "$cid"
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
	assert_pm_gone
}

# pmn ARG...: pm on netavark, podman's default network backend (Debian's
# podman takes CNI when netavark is not installed).
pmn() { pm --network-backend netavark "$@"; }

# ctr_vm ARG...: `ctr run` through the stock runc shim with hull-vm as its
# runc, its state under $D/runc (not /run/containerd/runc).
ctr_vm() {
	c run --fifo-dir "$D/fifo" --runtime io.containerd.runc.v2 --runc-binary "$HULL_VM" \
		--runc-root "$D/runc" "$@"
}

# Nothing of containerd task $1 left: task, container, shim, hull state,
# supervisor, file server, rootfs mount, cgroup.
assert_ctr_gone() {
	! c task ls -q | grep -qx "$1" || fail "task $1 left"
	! c container ls -q | grep -qx "$1" || fail "container $1 left"
	[[ ! -e $D/runc/$NS/$1 ]] || fail "hull state $D/runc/$NS/$1 left"
	if pgrep -f -- "-id $1 " >/dev/null; then
		fail "shim left behind: $(pgrep -af -- "-id $1 ")"
	fi
	if pgrep -f -- "$HULL_VM.* $1\$" >/dev/null; then
		fail "hull-vm left behind: $(pgrep -af -- "$HULL_VM")"
	fi
	if pgrep -f -- "virtiofsd.*/$NS/$1/" >/dev/null; then
		fail "file server left behind: $(pgrep -af -- virtiofsd)"
	fi
	run grep -c " $D/state/io.containerd.runtime.v2.task/$NS/$1/" "/proc/$(cat "$D/containerd.pid")/mountinfo"
	assert_output 0
	[[ ! -e /sys/fs/cgroup/$NS/$1 ]] || fail "cgroup /sys/fs/cgroup/$NS/$1 left"
}

@test "vmcontainer-engines: podman run --rm --rootfs: output, exit code, writes in the rootfs, nothing left" {
	local rootfs=$BATS_TEST_TMPDIR/rootfs
	cp -a "$BASE_BUNDLE/rootfs" "$rootfs"
	run_nopipe pm run --rm "${PM_LIMITS[@]}" --rootfs "$rootfs" \
		/bin/sh -c 'uname -r; echo out; echo err >&2; echo written >/from-guest; exit 7'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 7 ]
	[ "${lines[0]}" != "$HOST_KVER" ] || fail "the container runs the test host's kernel"
	[ "${lines[1]}" = out ]
	[[ $stderr == *err* ]]
	[ "$(cat "$rootfs/from-guest")" = written ]
	assert_pm_gone
}

@test "vmcontainer-engines: podman run -t: the process has a terminal" {
	run_nopipe pm run --rm -t "${PM_LIMITS[@]}" localhost/hull-test:latest \
		/bin/sh -c '/bin/hull-test-helper tty; uname -r'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == *'stdin=1 stdout=1 ttyname=/dev/pts/'* ]]
	[ "$(tr -d '\r' <<<"${lines[1]}")" != "$HOST_KVER" ] || fail "the container runs the test host's kernel"
	assert_pm_gone
}

@test "vmcontainer-engines: podman exec (with and without -t), pause, unpause, stop, rm of a VM container" {
	local cid
	cid=$(pm run -d "${PM_LIMITS[@]}" localhost/hull-test:latest /bin/sh -c 'echo up; exec sleep 1000')
	run_nopipe pm exec "$cid" /bin/sh -c 'uname -r; echo exec-out; echo exec-err >&2; exit 3'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 3 ]
	[ "${lines[0]}" != "$HOST_KVER" ] || fail "the exec runs on the test host's kernel"
	[ "${lines[1]}" = exec-out ]
	[[ $stderr == *exec-err* ]]
	run_nopipe pm exec -t "$cid" /bin/hull-test-helper tty
	[ "$status" -eq 0 ] || fail "exec -t: status $status: $output $stderr"
	[[ $output == *'stdin=1 stdout=1 ttyname=/dev/pts/'* ]] || fail "exec -t: $output"
	for _ in $(seq 60); do [[ $(pm logs "$cid") == up ]] && break; sleep 1; done
	run pm logs "$cid"
	assert_output up
	run pm pause "$cid"
	assert_success
	run pm inspect --format '{{.State.Status}}' "$cid"
	assert_output paused
	run pm unpause "$cid"
	assert_success
	run pm inspect --format '{{.State.Status}}' "$cid"
	assert_output running
	run pm stop -t 1 "$cid"
	assert_success
	run pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$cid"
	assert_output 'exited 137'
	run pm rm "$cid"
	assert_success
	assert_pm_gone
}

@test "vmcontainer-engines: podman run -d -p on a bridge network: the VM's server answers on the host port, nothing left" {
	pm_publish "$HULL_VM" 18080
	[[ $PUB_KERNEL != "$HOST_KVER" ]] || fail "the server runs on the test host's kernel"
}

@test "vmcontainer-engines: podman run -d -p on a bridge network in container mode (--runtime hull), as with hull-vm" {
	pm_publish "$RUNTIME" 18081
	[[ $PUB_KERNEL == "$HOST_KVER" ]] || fail "the server runs on kernel '$PUB_KERNEL', not the test host's"
}

@test "vmcontainer-engines: ctr run --rm through the runc shim: output and exit code" {
	run_nopipe ctr_vm --rm localhost/hull-test:latest vm1 /bin/sh -c 'uname -r; echo out; echo err >&2; exit 7'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 7 ]
	[ "${lines[0]}" != "$HOST_KVER" ] || fail "the container runs the test host's kernel"
	[ "${lines[1]}" = out ]
	[[ $stderr == *err* ]]
	assert_ctr_gone vm1
}

@test "vmcontainer-engines: ctr detached task through the runc shim: exec, ps, pause, resume, kill, delete" {
	ctr_vm -d localhost/hull-test:latest vm2 /bin/sh -c 'exec sleep 1000'
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +RUNNING$'
	run_nopipe c task exec --fifo-dir "$D/fifo" --exec-id e1 vm2 /bin/sh -c 'uname -r; echo in-exec; exit 9'
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 9 ]
	[ "${lines[0]}" != "$HOST_KVER" ] || fail "the exec runs on the test host's kernel"
	[ "${lines[1]}" = in-exec ]
	run c task ps vm2
	assert_success
	[[ $(tail -n +2 <<<"$output" | wc -l) -ge 1 ]] || fail "task ps: $output"
	# pause stops the VM (the host cgroup's freezer), resume lets it go on
	run c task pause vm2
	assert_success
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +PAUSED$'
	run c task resume vm2
	assert_success
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +RUNNING$'
	run c task kill -s KILL vm2
	assert_success
	c_wait_stopped vm2 120
	run c task ls
	assert_line --regexp '^vm2 +[0-9]+ +STOPPED$'
	run c task rm vm2
	assert_success
	run c container rm vm2
	assert_success
	assert_ctr_gone vm2
}
