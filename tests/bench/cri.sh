#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: pods through Kubernetes' CRI (containerd 1.6's CRI plugin,
# tests/integration/cri.bash), the handlers hull-shim (containerd-shim-hull-v2),
# hull (containerd's runc shim with BinaryName = hull) and runc (the same shim
# with Debian's runc), in one containerd.  Timed as the kubelet sees it, on the
# CRI socket (tests/bench/cri-pods.py): RunPodSandbox (pause container + CNI
# bridge), CreateContainer + StartContainer of one container, StopPodSandbox +
# RemovePodSandbox.  On this machine, in a network and mount namespace of its
# own (the CNI bridge and the pods' veths are made there); the pods' cgroups
# are its own (/hull-cri/ID) and removed.  Prints a Markdown section.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/paths.bash"
RUNS=${CRI_BENCH_RUNS:-10}

if [[ -z ${CRI_BENCH_NETNS:-} ]]; then
	# libcni caches results in /var/lib/cni (no option in containerd 1.6):
	# what the run makes there goes afterwards
	had_cni=0
	[[ -e /var/lib/cni ]] && had_cni=1
	rc=0
	CRI_BENCH_NETNS=1 unshare -n -m bash -c 'ip link set lo up && exec "$0"' "${BASH_SOURCE[0]}" || rc=$?
	if [[ $had_cni -eq 0 ]]; then
		rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
	fi
	exit "$rc"
fi

REPO=$repo RUNTIME=$HULL_BIN
HULL_BUNDLE=$BUNDLE_SRC
. "$repo/tests/integration/engines.bash"
. "$repo/tests/integration/cri.bash"

tmp=$(mktemp -d)
cleanup() {
	cri_teardown >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cri_start "$tmp/c" >"$tmp/start.log" 2>&1 || { echo "containerd with its CRI plugin did not start:"; echo '```'; tail -20 "$tmp/start.log" "$tmp/c/containerd.log"; echo '```'; exit 1; }

echo "## Pods through CRI (tests/bench/cri.sh)"
echo
echo "containerd $(containerd --version | awk '{print $3}')'s CRI plugin, one containerd for the three handlers"
echo "(tests/integration/cri.bash), CNI bridge + host-local, in a network namespace of the benchmark's own on this machine."
echo "Per pod, timed on the CRI socket (tests/bench/cri-pods.py): RunPodSandbox (the pause container and CNI),"
echo "then CreateContainer + StartContainer of one \`sleep\` container, then StopPodSandbox + RemovePodSandbox."
echo "$RUNS pods per handler after one warm-up pod; mean and standard deviation in ms; load average at the start"
echo "$(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cpus."
echo
echo "| handler | RunPodSandbox | Create + Start container | Stop + Remove pod | total |"
echo "| --- | ---: | ---: | ---: | ---: |"
CRI_BENCH_LOGS=$tmp/logs CRI_BENCH_CGROUP=/$CRI_CGROUP /usr/bin/python3 "$repo/tests/bench/cri-pods.py" \
	"$CRI_SOCK" "$RUNS" hull-shim hull runc >"$tmp/res" 2>"$tmp/err" ||
	{ echo; echo "cri-pods.py failed:"; echo '```'; tail -20 "$tmp/err"; echo '```'; exit 1; }
while read -r h rm rs cm cs sm ss; do
	printf '| %s | %s ± %s | %s ± %s | %s ± %s | %.1f |\n' "$h" "$rm" "$rs" "$cm" "$cs" "$sm" "$ss" \
		"$(awk -v a="$rm" -v b="$cm" -v c="$sm" 'BEGIN { print a + b + c }')"
done <"$tmp/res"
echo
echo "hull-shim: one containerd-shim-hull-v2 per pod running \`hull\` per call; hull and runc: containerd's runc shim"
echo "(containerd-shim-runc-v2) per pod running the runtime binary per call. runc $("$RUNC_BIN" --version | awk 'NR == 1 {print $3}')."
echo
