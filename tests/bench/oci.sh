#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: `run` of a container whose process exits at once
# (hull-test-helper exit 0), hull vs Debian's runc on the same bundle, in one
# hyperfine invocation (no shell, 3 warm-ups, 30 runs); and the peak RSS of the
# runtime (GNU time's "Maximum resident set size": the largest process of the
# runtime's tree).  Prints a Markdown section.
# Targets: hull <= 0.2x runc's time, <= 2 MB peak RSS.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/paths.bash"
RUNS=${OCI_BENCH_RUNS:-30}

tmp=$(mktemp -d)
cleanup() {
	"$HULL_BIN" --root "$tmp/hull-root" delete --force bench-hull >/dev/null 2>&1 || true
	"$RUNC_BIN" --root "$tmp/runc-root" delete --force bench-runc >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/bundle"
jq --arg r "$BUNDLE_SRC/rootfs" '.root.path = $r | .process.args = ["/bin/hull-test-helper", "exit", "0"]' \
	"$BUNDLE_SRC/config.json" >"$tmp/bundle/config.json"

hull_cmd="$HULL_BIN --root $tmp/hull-root run --bundle $tmp/bundle bench-hull"
runc_cmd="$RUNC_BIN --root $tmp/runc-root run --bundle $tmp/bundle bench-runc"

echo "## OCI runtime: \`run\` of a container that exits at once"
echo
echo "Container: the test bundle (busybox rootfs, pid/net/ipc/uts/mount namespaces,"
echo "runc's default mounts, masked paths and capabilities), process \`hull-test-helper exit 0\`."
echo "Command, each runtime with its own \`--root\`: \`RUNTIME --root DIR run --bundle BUNDLE ID\`."
echo "Targets: hull at most **0.2x** runc's time and at most **2 MB** peak RSS."
echo

hull_ok=1
if [[ ! -x $HULL_BIN ]] || ! $hull_cmd </dev/null >/dev/null 2>"$tmp/hull.err"; then
	hull_ok=0
	echo "hull could not run the container ($HULL_BIN): \`$(head -c 300 "$tmp/hull.err" 2>/dev/null || echo not built)\`;"
	echo "runc alone is measured below."
	echo
fi

cmds=()
[[ $hull_ok -eq 1 ]] && cmds+=("$hull_cmd")
cmds+=("$runc_cmd")
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$tmp/h.json" "${cmds[@]}" </dev/null >"$tmp/hyperfine.log" 2>&1 ||
	{ echo "hyperfine failed:"; echo '```'; tail -20 "$tmp/hyperfine.log"; echo '```'; exit 1; }

# peak_rss CMD: max over 5 runs of GNU time's maximum resident set size, in KiB.
peak_rss() {
	local max=0 i kb
	for i in 1 2 3 4 5; do
		kb=$(/usr/bin/time -v "$@" </dev/null 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}')
		[[ ${kb:-0} -gt $max ]] && max=$kb
	done
	echo "$max"
}

mean_ms() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .mean * 1000' "$tmp/h.json"; }
sd_ms() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .stddev * 1000' "$tmp/h.json"; }

runc_mean=$(mean_ms "$runc_cmd")
runc_rss=$(peak_rss $runc_cmd)

echo "| runtime | mean time (ms) | stddev (ms) | peak RSS (KiB) | time vs runc | target |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
if [[ $hull_ok -eq 1 ]]; then
	hull_mean=$(mean_ms "$hull_cmd")
	hull_rss=$(peak_rss $hull_cmd)
	ratio=$(awk -v a="$hull_mean" -v b="$runc_mean" 'BEGIN { printf "%.3f", a / b }')
	verdict_t=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.2) ? "met" : "missed" }')
	verdict_m=$(awk -v k="$hull_rss" 'BEGIN { print (k <= 2048) ? "met" : "missed" }')
	printf '| hull | %.2f | %.2f | %d | %sx | time %s (<= 0.2x), RSS %s (<= 2048 KiB) |\n' \
		"$hull_mean" "$(sd_ms "$hull_cmd")" "$hull_rss" "$ratio" "$verdict_t" "$verdict_m"
fi
printf '| runc %s | %.2f | %.2f | %d | 1x | peer |\n' \
	"$("$RUNC_BIN" --version | awk 'NR == 1 {print $3}')" "$runc_mean" "$(sd_ms "$runc_cmd")" "$runc_rss"
echo
echo "hyperfine $(hyperfine --version | awk '{print $2}'), \`-N --warmup 3 --runs $RUNS\`; RSS: max of 5 runs of \`/usr/bin/time -v\`."
