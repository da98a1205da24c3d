#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Kubernetes' CRI end to end (docs/cri.md): containerd 1.6's CRI plugin with
# hull's runtime handlers (../cri.bash), driven by tests/cri/cri-client.py
# (CRI v1 over gRPC) as the kubelet drives it: a pod on a CNI bridge
# network, two containers, ExecSync, logs, stats, stop, remove, nothing
# left.  Inside the test host (run-all stage testhost-cri): CNI's bridge is
# made in containerd's network namespace, and cgroup v2 is the kubelet's.

load ../helpers
load ../engines
load ../cri

setup_file() {
	if [[ ${TESTHOST:-} != 1 ]]; then
		echo "# this file runs inside the test host: tests/testhost/run-suite $BATS_TEST_FILENAME" >&3
		return 1
	fi
	cri_start "$BATS_FILE_TMPDIR"
}

teardown_file() { cri_teardown; }

setup() { :; }

# A failed test leaves no pod for the next one.
teardown() { cri_clean; }

# The JSON of the pod sandbox config of pod $1 (its logs under $2).
pod_config() {
	jq -nc --arg n "$1" --arg logs "$2" --arg cg "/$CRI_CGROUP" '{
		metadata: {name: $n, uid: ("uid-" + $n), namespace: "hull-test", attempt: 0},
		hostname: $n, log_directory: $logs,
		labels: {"hull-test": "cri"},
		linux: {cgroup_parent: $cg}}'
}

# json_array ARG...: the JSON array of the ARGs (jq's --args would take an
# ARG such as -c as its own option).
json_array() {
	local a out=()
	for a in "$@"; do out+=("$(jq -nc --arg a "$a" '$a')"); done
	(IFS=,; echo "[${out[*]}]")
}

# create_ctr POD_ID POD_CONFIG NAME CMD...: CreateContainer + StartContainer of
# NAME (log NAME.log) running CMD; prints the container's id.
create_ctr() {
	local pod=$1 pcfg=$2 name=$3 id
	shift 3
	id=$(cri CreateContainer "$(jq -nc --arg pod "$pod" --argjson pcfg "$pcfg" --arg n "$name" \
		--argjson cmd "$(json_array "$@")" '{pod_sandbox_id: $pod, sandbox_config: $pcfg, config: {
			metadata: {name: $n}, image: {image: "localhost/hull-test:latest"},
			command: $cmd, log_path: ($n + ".log"),
			labels: {"hull-test": "cri"}}}')" | jq -r .container_id)
	[[ -n $id && $id != null ]] || return 1
	cri StartContainer "{\"container_id\":\"$id\"}" >/dev/null
	echo "$id"
}

# exec_sync ID CMD...: ExecSync of CMD in container ID; sets EXEC_OUT (stdout),
# EXEC_ERR (stderr) and EXEC_CODE.
exec_sync() {
	local id=$1 r
	shift
	r=$(cri ExecSync "$(jq -nc --arg id "$id" --argjson cmd "$(json_array "$@")" '{container_id: $id, cmd: $cmd, timeout: 0}')")
	EXEC_OUT=$(jq -r '.stdout | @base64d' <<<"$r")
	EXEC_ERR=$(jq -r '.stderr | @base64d' <<<"$r")
	EXEC_CODE=$(jq -r .exit_code <<<"$r")
}

# wait_log FILE REGEX: until a line of FILE matches REGEX (the CRI plugin
# copies the containers' output asynchronously), at most 60 s.
wait_log() {
	for _ in $(seq 120); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done
	fail "no line matching '$2' in $1: $(cat "$1" 2>&1)"
}

# pod_flow HANDLER [vm]: the whole life of one pod under HANDLER, every
# check; with vm, the pod is one microVM: its containers share the guest's
# kernel, not the test host's.
pod_flow() {
	local h=$1 vm=${2:-} logs=$BATS_TEST_TMPDIR/logs pcfg pod status ip netns a b bootid
	pcfg=$(pod_config "pod-$h" "$logs")

	# RunPodSandbox: the pause container runs, CNI gave the pod an address
	pod=$(cri RunPodSandbox "$(jq -nc --argjson c "$pcfg" --arg h "$h" '{config: $c, runtime_handler: $h}')" |
		jq -r .pod_sandbox_id)
	[[ $pod =~ ^[0-9a-f]{64}$ ]] || fail "RunPodSandbox: no pod id: $pod"
	status=$(cri PodSandboxStatus "{\"pod_sandbox_id\":\"$pod\",\"verbose\":true}")
	assert_equal "$(jq -r .status.state <<<"$status")" SANDBOX_READY
	assert_equal "$(jq -r .status.runtime_handler <<<"$status")" "$h"
	ip=$(jq -r .status.network.ip <<<"$status")
	[[ $ip =~ ^$CRI_SUBNET\.[0-9]+$ ]] || fail "the pod's IP '$ip' is not in $CRI_SUBNET.0/24"
	netns=$(jq -r '.info.info | fromjson | .runtimeSpec.linux.namespaces[] | select(.type == "network") | .path' <<<"$status")
	[[ $netns == "$D/state/"* && -e $netns ]] || fail "the pod's netns '$netns' is not a file under $D/state"

	# two containers: A serves HTTP on the pod's localhost, B is a client
	a=$(create_ctr "$pod" "$pcfg" server sh -c \
		'echo out-a; echo err-a >&2; mkdir -p /tmp/www; echo hello-from-a >/tmp/www/index.html; exec httpd -f -p 8080 -h /tmp/www')
	b=$(create_ctr "$pod" "$pcfg" client sleep 1000000)
	run cri ListContainers
	assert_success
	[[ $(jq -r '[.containers[] | select(.pod_sandbox_id == "'"$pod"'" and .state == "CONTAINER_RUNNING")] | length' <<<"$output") == 2 ]] ||
		fail "not both containers run: $output; A: $(cri ContainerStatus "{\"container_id\":\"$a\"}"); A's log: $(cat "$logs/server.log")"

	# ExecSync: stdout, stderr and the exit code come back
	exec_sync "$a" sh -c 'cat /proc/sys/kernel/random/boot_id; echo to-err >&2; exit 3'
	assert_equal "$EXEC_CODE" 3
	assert_equal "$EXEC_ERR" to-err
	bootid=$EXEC_OUT
	[[ $bootid =~ ^[0-9a-f-]{36}$ ]] || fail "no boot id from container A: '$bootid'"
	# both containers run on the same kernel: the test host's, or the pod's VM's
	exec_sync "$b" cat /proc/sys/kernel/random/boot_id
	assert_equal "$EXEC_CODE" 0
	assert_equal "$EXEC_OUT" "$bootid"
	if [[ -n $vm ]]; then
		[[ $bootid != "$(cat /proc/sys/kernel/random/boot_id)" ]] || fail "the pod runs on the test host's kernel"
	else
		assert_equal "$bootid" "$(cat /proc/sys/kernel/random/boot_id)"
	fi
	# B is in the pod's network namespace: the pod's address is on its eth0...
	exec_sync "$b" ip -4 -o addr show dev eth0
	assert_equal "$EXEC_CODE" 0
	[[ $EXEC_OUT == *" inet $ip/24 "* ]] || fail "the pod's $ip is not on B's eth0: $EXEC_OUT"
	# ...and it reaches A's server on localhost
	exec_sync "$b" sh -c 'for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.2; done; exit 1'
	assert_equal "$EXEC_CODE" 0
	assert_equal "$EXEC_OUT" hello-from-a

	# ContainerStats: CPU and memory of A's cgroup (in a VM pod: of its
	# cgroup in the guest, through the agent)
	run cri ContainerStats "{\"container_id\":\"$a\"}"
	assert_success
	assert_equal "$(jq -r .stats.attributes.id <<<"$output")" "$a"
	[[ $(jq -r '.stats.cpu.usage_core_nano_seconds.value' <<<"$output") -gt 0 ]] || fail "no CPU usage: $output"
	[[ $(jq -r '.stats.memory.working_set_bytes.value' <<<"$output") -gt 0 ]] || fail "no working set: $output"

	# logs: A's stdout and stderr in its CRI log file, one "TIME STREAM F TEXT" line each
	run cri ContainerStatus "{\"container_id\":\"$a\"}"
	assert_equal "$(jq -r .status.log_path <<<"$output")" "$logs/server.log"
	wait_log "$logs/server.log" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+) stdout F out-a$'
	wait_log "$logs/server.log" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+) stderr F err-a$'

	# StopPodSandbox: the containers exit, the pod is NOTREADY, its netns goes
	cri StopPodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
	run cri ListContainers
	assert_equal "$(jq -r '[.containers[] | select(.state != "CONTAINER_EXITED")] | length' <<<"$output")" 0
	run cri PodSandboxStatus "{\"pod_sandbox_id\":\"$pod\"}"
	assert_equal "$(jq -r .status.state <<<"$output")" SANDBOX_NOTREADY
	[[ ! -e $netns ]] || fail "the pod's netns $netns is left after StopPodSandbox"

	# RemovePodSandbox: nothing is left
	cri RemovePodSandbox "{\"pod_sandbox_id\":\"$pod\"}" >/dev/null
	assert_nothing_left "$pod" "$a" "$b"
}

# assert_nothing_left POD CTR...: neither CRI nor containerd knows them, and
# nothing of them remains: runtime state, shim, process, cgroup, mount,
# veth, IP lease.
assert_nothing_left() {
	local id
	run cri ListPodSandbox
	assert_equal "$(jq -r '.items // [] | length' <<<"$output")" 0
	run cri ListContainers
	assert_equal "$(jq -r '.containers // [] | length' <<<"$output")" 0
	run ctr --address "$D/c.sock" -n k8s.io containers ls -q
	assert_output ""
	run ctr --address "$D/c.sock" -n k8s.io tasks ls -q
	assert_output ""
	for id in "$@"; do
		run find "$D/hull-shim-root" "$D/hull-runc-root" "$D/runc-root" -name "$id"
		assert_output ""
		[[ ! -e $D/state/io.containerd.runtime.v2.task/k8s.io/$id ]] || fail "containerd's bundle of $id is left"
		run grep -c "$id" "/proc/$(cat "$D/containerd.pid")/mountinfo"
		assert_output 0
		run bash -c "ls -d /sys/fs/cgroup/{,*/}'$CRI_CGROUP/$id' 2>/dev/null"
		assert_output ""
	done
	# no process names an id (shims, hull, the containers' processes by
	# their bundle path)
	if [[ $# -gt 0 ]]; then
		local pats=() procs
		for id in "$@"; do pats+=(-e "$id"); done
		procs=$(ps -e -o pid=,args=)
		run grep -F "${pats[@]}" <<<"$procs"
		assert_output ""
	fi
	run pgrep -f -- "-address $D/c.sock"
	assert_failure
	run ip -o link show type veth
	assert_output ""
	run find "$D/cni/ipam" -name "$CRI_SUBNET.*"
	assert_output ""
}

@test "cri: handler hull-shim (containerd-shim-hull-v2): pod on a CNI bridge, two containers, exec, localhost, stats, logs, nothing left" {
	pod_flow hull-shim
}

@test "cri: handler hull (runc shim, BinaryName = hull): pod on a CNI bridge, two containers, exec, localhost, stats, logs, nothing left" {
	pod_flow hull
}

@test "cri: an unknown runtime handler is refused, nothing is made" {
	run cri RunPodSandbox "$(jq -nc --argjson c "$(pod_config pod-bad "$BATS_TEST_TMPDIR/logs")" '{config: $c, runtime_handler: "no-such-handler"}')"
	assert_failure
	assert_output --partial "no-such-handler"
	assert_nothing_left
}

@test "cri: handler hull-vm (the shim, isolation = vm): the pod is one microVM, its containers share its kernel, nothing left" {
	[ -c /dev/kvm ] || skip "no /dev/kvm in this test host"
	pod_flow hull-vm vm
}
