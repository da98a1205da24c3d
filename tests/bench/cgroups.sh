#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: what cgroup set-up adds to `run`, hull vs runc, measured in one
# hyperfine invocation inside the test host (pure cgroup v2 with every
# controller; this machine's hybrid hierarchy is not what users run).
# Commands: `run` of a container that exits at once (hull-test-helper exit 0)
# with no linux.resources and with memory+pids+cpu limits, for each runtime;
# plus hull with --cgroup-manager=disabled (no cgroup at all) as the floor.
# Prints a Markdown section: the times, the added cost of the limits for each
# runtime, and the ratios hull/runc.  About 2.5 minutes under TCG.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/paths.bash"
RUNS=${CGROUPS_BENCH_RUNS:-15}

if [[ -z ${TESTHOST:-} ]]; then
	cd "$repo"
	exec env TESTHOST_ENV="HULL HULL_BUNDLE RUNC CGROUPS_BENCH_RUNS" HULL="$HULL_BIN" HULL_BUNDLE="$BUNDLE_SRC" \
		RUNC="$RUNC_BIN" CGROUPS_BENCH_RUNS="$RUNS" \
		tests/testhost/run --timeout 600 -- tests/bench/cgroups.sh
fi

tmp=$(mktemp -d)
cleanup() {
	local rt
	for rt in hull runc; do
		"$([[ $rt == hull ]] && echo "$HULL_BIN" || echo "$RUNC_BIN")" --root "$tmp/$rt-root" \
			delete --force "bench-$rt" >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

RES='{"memory": {"limit": 268435456}, "pids": {"limit": 100},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000}}'
mkdir -p "$tmp/plain" "$tmp/limits"
jq --arg r "$BUNDLE_SRC/rootfs" '.root.path = $r | .process.args = ["/bin/hull-test-helper", "exit", "0"]' \
	"$BUNDLE_SRC/config.json" >"$tmp/plain/config.json"
jq --argjson res "$RES" '.linux.resources = $res' "$tmp/plain/config.json" >"$tmp/limits/config.json"

hull_plain="$HULL_BIN --root $tmp/hull-root run --bundle $tmp/plain bench-hull"
hull_limits="$HULL_BIN --root $tmp/hull-root run --bundle $tmp/limits bench-hull"
hull_none="$HULL_BIN --cgroup-manager=disabled --root $tmp/hull-root run --bundle $tmp/plain bench-hull"
runc_plain="$RUNC_BIN --root $tmp/runc-root run --bundle $tmp/plain bench-runc"
runc_limits="$RUNC_BIN --root $tmp/runc-root run --bundle $tmp/limits bench-runc"

echo "## cgroups: what cgroup set-up adds to \`run\`"
echo
echo "Measured inside the test host (QEMU TCG, pure cgroup v2, every controller; times are ~10x a real"
echo "machine's, the ratios are what matter). Container: the test bundle, process \`hull-test-helper exit 0\`."
echo "Limits: \`linux.resources\` = memory.limit 256 MiB, pids.limit 100, cpu shares 512, quota 50000/100000."
echo "Without limits both runtimes still create the container's cgroup; \`--cgroup-manager=disabled\` creates none."
echo

for c in "$hull_limits" "$runc_limits"; do
	if ! $c </dev/null >/dev/null 2>"$tmp/err"; then
		echo "\`$c\` failed: \`$(head -c 300 "$tmp/err")\`"
		exit 1
	fi
done

hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$tmp/h.json" \
	"$hull_none" "$hull_plain" "$hull_limits" "$runc_plain" "$runc_limits" </dev/null >"$tmp/hyperfine.log" 2>&1 ||
	{ echo "hyperfine failed:"; echo '```'; tail -20 "$tmp/hyperfine.log"; echo '```'; exit 1; }

mean_ms() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .mean * 1000' "$tmp/h.json"; }
sd_ms() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .stddev * 1000' "$tmp/h.json"; }
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }

hn=$(mean_ms "$hull_none") hp=$(mean_ms "$hull_plain") hl=$(mean_ms "$hull_limits")
rp=$(mean_ms "$runc_plain") rl=$(mean_ms "$runc_limits")
runc_ver=$("$RUNC_BIN" --version | awk 'NR == 1 { print $3 }')

echo "| command | mean (ms) | stddev (ms) |"
echo "| --- | ---: | ---: |"
printf '| hull run, no cgroup (`--cgroup-manager=disabled`) | %.1f | %.1f |\n' "$hn" "$(sd_ms "$hull_none")"
printf '| hull run, cgroup without limits | %.1f | %.1f |\n' "$hp" "$(sd_ms "$hull_plain")"
printf '| hull run, cgroup with limits | %.1f | %.1f |\n' "$hl" "$(sd_ms "$hull_limits")"
printf '| runc %s run, without limits | %.1f | %.1f |\n' "$runc_ver" "$rp" "$(sd_ms "$runc_plain")"
printf '| runc %s run, with limits | %.1f | %.1f |\n' "$runc_ver" "$rl" "$(sd_ms "$runc_limits")"
echo
echo "| | hull (ms) | runc (ms) | hull/runc |"
echo "| --- | ---: | ---: | ---: |"
printf '| `run` with limits | %.1f | %.1f | %sx |\n' "$hl" "$rl" "$(calc %.3f "$hl / $rl")"
printf '| added by the limits (with - without) | %.1f | %.1f | %s |\n' "$(calc %.1f "$hl - $hp")" \
	"$(calc %.1f "$rl - $rp")" "$(calc %s "($rl - $rp) > 0 ? sprintf(\"%.2fx\", ($hl - $hp) / ($rl - $rp)) : \"n/a (runc adds none)\"")"
printf '| hull: the cgroup itself (without limits - no cgroup) | %.1f | | |\n' "$(calc %.1f "$hp - $hn")"
echo
echo "The added costs are differences of means; with a stddev of the same size they are within noise."
echo "hyperfine $(hyperfine --version | awk '{ print $2 }'), \`-N --warmup 2 --runs $RUNS\`, all five commands in one invocation."
