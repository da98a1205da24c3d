#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: microVM boot-to-poweroff wall time, hull vs QEMU's microvm
# machine, with the same Debian cloud kernel and an initramfs whose /init
# powers off at once; the VMM's own memory (RSS minus the guest RAM it
# touched); and hull's boot-timer figure (process start -> guest userspace).
# Needs hardware KVM, so on a development machine it re-runs itself inside
# the test host (tests/testhost/run).  Prints a Markdown section on stdout.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/paths.bash"
C=$repo/build/cache/microvm
RUNS=${MICROVM_BENCH_RUNS:-5}

if [ -z "${TESTHOST:-}" ]; then
	"$repo/tests/prepare.d/50-microvm.sh" >&2
	cd "$repo"
	exec env TESTHOST_ENV="HULL MICROVM_BENCH_RUNS" HULL="$HULL_BIN" MICROVM_BENCH_RUNS="$RUNS" \
		tests/testhost/run --timeout 1500 -- tests/bench/microvm.sh
fi
[ -c /dev/kvm ] || { echo "microvm bench: no /dev/kvm in the test host" >&2; exit 1; }
# bats/hyperfine need /dev/fd, which the test host's /dev may lack
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
K=$C/vmlinuz
P=$C/poweroff.cpio.gz
APPEND="console=ttyS0 quiet panic=-1"
hull_cmd="$HULL_BIN vm run --kernel $K --initrd $P --memory 128 --cmdline '$APPEND'"
qemu_cmd="qemu-system-x86_64 -M microvm -enable-kvm -cpu host -m 128 -smp 1 -nodefaults -no-user-config \
-nographic -serial stdio -no-reboot -kernel $K -initrd $P -append '$APPEND'"

# ---- boot to poweroff ------------------------------------------------------
# A nested guest under TCG hangs once in a while: bound every boot, so a hang
# fails this section in minutes instead of stalling make bench.
hyperfine --style none --runs "$RUNS" --warmup 1 --export-json "$tmp/boot.json" \
	-n hull "timeout 120 $hull_cmd </dev/null >/dev/null" \
	-n qemu-microvm "timeout 120 $qemu_cmd </dev/null >/dev/null" >&2
read -r hull_mean hull_sd qemu_mean qemu_sd < <(jq -r '[(.results[] | select(.command == "hull") | .mean, (.stddev // 0)),
	(.results[] | select(.command == "qemu-microvm") | .mean, (.stddev // 0))] | @tsv' "$tmp/boot.json")

# ---- VMM memory overhead -----------------------------------------------------
# RSS of the whole process minus the RSS of the 128 MiB guest RAM mapping,
# sampled while the guest sleeps in userspace.
overhead_kb() { # overhead_kb PID -> "overhead total guest" in KiB
	awk '$1 == "Size:" { size = $2 } $1 == "Rss:" { total += $2; if (size == 128 * 1024) guest += $2 }
		END { print total - guest, total, guest }' "/proc/$1/smaps"
}
sample() { # sample NAME CMD...: start, wait for userspace, measure, wait
	local name=$1 pid out
	shift
	"$@" </dev/null >"$tmp/$name.out" 2>&1 &
	pid=$!
	for _ in $(seq 600); do
		grep -q HULL-TEST-BEGIN "$tmp/$name.out" 2>/dev/null && break
		sleep 0.2
	done
	out=$(overhead_kb "$pid" || echo "0 0 0")
	wait "$pid" || true
	echo "$out"
}
SLEEP_APPEND="console=ttyS0 quiet panic=-1 hull.test=sleep hull.sleep=20"
read -r hull_ovh hull_rss hull_guest < <(sample hull "$HULL_BIN" vm run --kernel "$K" --initrd "$C/initramfs.cpio.gz" \
	--memory 128 --cmdline "$SLEEP_APPEND")
read -r qemu_ovh qemu_rss qemu_guest < <(sample qemu qemu-system-x86_64 -M microvm -enable-kvm -cpu host -m 128 \
	-smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel "$K" \
	-initrd "$C/initramfs.cpio.gz" -append "$SLEEP_APPEND")

# ---- boot timer ----------------------------------------------------------------
timers=()
for _ in 1 2 3; do
	t=$("$HULL_BIN" vm run --kernel "$K" --initrd "$C/initramfs.cpio.gz" --memory 128 --boot-timer \
		--cmdline "console=ttyS0 quiet panic=-1" </dev/null 2>&1 >/dev/null |
		sed -n 's/^hull: boot-timer: \([0-9.]*\) ms$/\1/p')
	timers+=("${t:-n/a}")
done

ratio=$(awk -v h="$hull_mean" -v q="$qemu_mean" 'BEGIN { printf "%.2f", h / q }')
ms() { awk -v x="$1" 'BEGIN { printf "%.0f", x * 1000 }'; }
mib() { awk -v x="$1" 'BEGIN { printf "%.1f", x / 1024 }'; }

cat <<EOF2
## microVM boot (tests/bench/microvm.sh)

Inside the test host (QEMU TCG with nested AMD-V KVM): absolute times are
inflated by emulation, the ratio is what to compare.  Guest: Debian cloud
kernel $(cat "$C/kver" 2>/dev/null), 1 vCPU, 128 MiB, initramfs whose /init
powers off at once; hyperfine, $RUNS runs after 1 warm-up.

| VMM | process start to guest poweroff | VMM memory (RSS - guest RAM) |
| --- | --- | --- |
| \`hull vm run\` | $(ms "$hull_mean") ms ± $(ms "$hull_sd") | $(mib "$hull_ovh") MiB (RSS $(mib "$hull_rss"), guest $(mib "$hull_guest")) |
| \`qemu-system-x86_64 -M microvm -enable-kvm\` | $(ms "$qemu_mean") ms ± $(ms "$qemu_sd") | $(mib "$qemu_ovh") MiB (RSS $(mib "$qemu_rss"), guest $(mib "$qemu_guest")) |

hull / QEMU boot time: **$ratio** (lower is better for hull).

hull boot timer (process start to the guest's first userspace write, the
initramfs loads the virtio modules first): ${timers[*]} ms.

Commands (paths relative to the checkout):

    ${hull_cmd//"$repo/"/}
    ${qemu_cmd//"$repo/"/}
EOF2
