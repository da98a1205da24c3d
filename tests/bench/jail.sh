#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: what the jailer (`hull jail`, docs/sandbox.md) adds to a microVM's
# boot, in the test host (hardware KVM: nested AMD-V under QEMU TCG):
#   - boot: `hull jail ... -- hull vm run` against the same `hull vm run`
#     unjailed (same kernel, initramfs, 1 vCPU, 128 MiB), from the launch to
#     the guest's userspace (its boot-timer write, tests/prepare.d/50-microvm.sh)
#     and to the exit (the keeper's clean-up included).  The bench's shell
#     takes the launch time and the time it reads the VMM's `--boot-timer`
#     line (stderr, written when the guest writes the timer), so the jail's
#     steps before the VMM's exec are counted, which the VMM's own boot timer
#     (from its exec) leaves out;
#   - the jail alone: `hull jail ... -- hull --version` against `hull
#     --version`, no VM (hyperfine, no shell).
# The machine's cores are shared, so each round runs both (alternating which
# goes first), and the jail's cost is the median of the rounds' own
# differences.  Prints a Markdown section on stdout.
# shellcheck disable=SC2016 # awk expressions, single-quoted on purpose
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/paths.bash"
. "$repo/tests/bench/guest.bash"
ROUNDS=${JAIL_BENCH_ROUNDS:-7}
NOOP_RUNS=${JAIL_BENCH_NOOP_RUNS:-10}

if [ -z "${TESTHOST:-}" ]; then
	"$repo/tests/prepare.d/50-microvm.sh" >&2
	cd "$repo"
	export TESTHOST_ENV="HULL JAIL_BENCH_ROUNDS JAIL_BENCH_NOOP_RUNS" HULL="$HULL_BIN" \
		JAIL_BENCH_ROUNDS="$ROUNDS" JAIL_BENCH_NOOP_RUNS="$NOOP_RUNS"
	bench_in_testhost jail --timeout 1500 -- tests/bench/jail.sh
	exit
fi
[ -c /dev/kvm ] || { echo "jail bench: no /dev/kvm in the test host" >&2; exit 1; }
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
export LC_ALL=C # $EPOCHREALTIME with a decimal point

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The kernel and initramfs in the test host's tmpfs, beside the jails' base:
# `--file` hard-links them (a copy would be counted as the jail's cost) and
# the unjailed VMM reads the same files.
cp "$repo/build/cache/microvm/vmlinuz" "$repo/build/cache/microvm/initramfs.cpio.gz" "$tmp/"
BASE=$tmp/jails
mkdir "$BASE"
APPEND="console=ttyS0 quiet panic=-1"
U=4321
jail_args="--uid $U --gid $U --chroot-base $BASE --cgroup pids.max=64"
vm_opts="--memory 128 --boot-timer --cmdline '$APPEND'"
jail_cmd="$HULL_BIN jail --id ID $jail_args --file $tmp/vmlinuz --file $tmp/initramfs.cpio.gz -- \
hull vm run --kernel /vmlinuz --initrd /initramfs.cpio.gz $vm_opts"
bare_cmd="$HULL_BIN vm run --kernel $tmp/vmlinuz --initrd $tmp/initramfs.cpio.gz $vm_opts"

# timed NAME ID: run the boot NAME (jail or bare; ID names the jail) and
# print "userspace timer exit": ms from the launch to the boot-timer line,
# the VMM's own boot timer (ms from its exec), ms from the launch to the
# end of its stderr (every writer gone: the keeper has cleaned up).  A
# nested guest under TCG hangs once in a while: every boot is bounded.
timed() {
	local cmd t0 t1="" te bt="" l st=0 fd pid
	cmd=${jail_cmd/--id ID/--id $2}
	[ "$1" = jail ] || cmd=$bare_cmd
	: >"$tmp/$1.err"
	t0=$EPOCHREALTIME
	exec {fd}< <(eval "exec timeout -s KILL 300 $cmd" </dev/null 2>&1 >/dev/null)
	pid=$!
	while IFS= read -r -u "$fd" l; do
		if [ -z "$t1" ] && [[ $l =~ ^hull:\ boot-timer:\ ([0-9.]+)\ ms$ ]]; then
			t1=$EPOCHREALTIME bt=${BASH_REMATCH[1]}
		else
			printf '%s\n' "$l" >>"$tmp/$1.err"
		fi
	done
	te=$EPOCHREALTIME
	exec {fd}<&-
	wait "$pid" || st=$?
	if [ "$st" != 0 ] || [ -z "$t1" ]; then
		echo "jail bench: the $1 boot exited $st$([ -n "$t1" ] || echo ", no boot-timer line"):" >&2
		cat "$tmp/$1.err" >&2
		return 1
	fi
	awk -v a="$t0" -v b="$t1" -v c="$te" -v bt="$bt" 'BEGIN { printf "%.1f %s %.1f\n", (b - a) * 1000, bt, (c - a) * 1000 }'
}

# ---- boot, jailed vs not -------------------------------------------------------
: >"$tmp/boot.tsv"
declare -A r
for ((i = 0; i <= ROUNDS; i++)); do # round 0 is the warm-up
	order=(jail bare)
	((i % 2 == 0)) || order=(bare jail)
	for n in "${order[@]}"; do
		r[$n]=$(timed "$n" "jb$$-$i") || exit 1
	done
	((i == 0)) || printf '%s %s\n' "${r[jail]}" "${r[bare]}" >>"$tmp/boot.tsv"
	echo "jail bench: round $i (to userspace, boot timer, to exit; ms): jail ${r[jail]}, bare ${r[bare]}" >&2
done
[ -z "$(ls -A "$BASE/hull" 2>/dev/null)" ] || { echo "jail bench: a jail was left in $BASE/hull" >&2; exit 1; }

# med EXPR [TSV], range EXPR [TSV]: the median, the least and greatest of
# awk's EXPR over the rounds, rows of TSV (default boot.tsv: the jailed
# boot's to userspace, timer, to exit, then the unjailed one's)
med() {
	awk "{ print $1 }" "${2:-$tmp/boot.tsv}" >"$tmp/col"
	bench_median "$tmp/col"
}
range() {
	awk "{ print $1 }" "${2:-$tmp/boot.tsv}" | sort -g | sed -n '1p;$p' | paste -sd' ' |
		awk '{ printf "%.1f to %.1f", $1, $2 }'
}
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
f2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }

# ---- the jail alone ------------------------------------------------------------
# hyperfine -N: no shell in between.  One id for a round's runs: each run's
# jail is gone when the next starts.
: >"$tmp/noop.tsv"
for ((i = 0; i <= ROUNDS; i++)); do
	a=(-n jail "$HULL_BIN jail --id jn$$-$i $jail_args -- hull --version")
	b=(-n bare "$HULL_BIN --version")
	if ((i % 2)); then set -- "${b[@]}" "${a[@]}"; else set -- "${a[@]}" "${b[@]}"; fi
	hyperfine -N --style none --runs "$NOOP_RUNS" --export-json "$tmp/noop$i.json" "$@" >/dev/null 2>"$tmp/noop.err" || {
		cat "$tmp/noop.err" >&2
		exit 1
	}
	((i == 0)) || jq -r '[(.results[] | select(.command == "jail") | .median * 1000),
		(.results[] | select(.command == "bare") | .median * 1000)] | @tsv' "$tmp/noop$i.json" >>"$tmp/noop.tsv"
done

cat <<EOF
## Jailed microVM boot (tests/bench/jail.sh)

Inside the test host (QEMU TCG with nested AMD-V KVM): absolute times are
inflated by emulation (on real hardware the jail should cost a few
milliseconds); the differences are the jail's cost here.  Guest: Debian
cloud kernel $(bench_guest_kernel), 1 vCPU, 128 MiB, the test
initramfs (virtio modules, the boot-timer write, poweroff).  The jail:
uid/gid $U, a \`pids.max\` cgroup, the kernel and initramfs hard-linked
(the same tmpfs), the \`hull\` binary copied into the chroot (as every jail
does).  $ROUNDS rounds after a warm-up round, each booting both (alternating
which goes first); medians of the rounds, and the jail's cost is the median
of the rounds' own differences (jail - unjailed).  "To userspace" is from
the launch (the bench's \`\$EPOCHREALTIME\`) to the moment the bench reads
the VMM's \`--boot-timer\` line; the VMM boot timer is the VMM's own figure,
from its exec (after the jail's steps) to the guest's write; their
difference is the time from the launch to the VMM's exec, which holds the
jail's steps; "to exit" adds the guest's poweroff and the keeper's clean-up
(cgroup and chroot removed).

| command | to userspace | VMM boot timer | launch to the VMM's exec | to exit |
| --- | ---: | ---: | ---: | ---: |
| \`hull jail ... -- hull vm run\` | $(f1 "$(med '$1')") ms | $(f1 "$(med '$2')") ms | $(f1 "$(med '$1 - $2')") ms | $(f1 "$(med '$3')") ms |
| \`hull vm run\` (peer) | $(f1 "$(med '$4')") ms | $(f1 "$(med '$5')") ms | $(f1 "$(med '$4 - $5')") ms | $(f1 "$(med '$6')") ms |
| jail - unjailed | $(f1 "$(med '$1 - $4')") ms ($(range '$1 - $4')), $(f2 "$(med '$1 / $4')")x | $(f1 "$(med '$2 - $5')") ms ($(range '$2 - $5')) | **$(f1 "$(med '($1 - $2) - ($4 - $5)')") ms** ($(range '($1 - $2) - ($4 - $5)')) | $(f1 "$(med '$3 - $6')") ms ($(range '$3 - $6')) |

(Ranges: the least and greatest of the rounds.)  Under TCG on shared cores
the guest's boot varies by seconds from one run to the next (the ranges),
which "to userspace", "to exit" and their ratio carry; the launch to the
VMM's exec is the jail's setup measured without the guest's boot.

The jail alone, without a VM: \`hull jail ... -- hull --version\` against
\`hull --version\` (hyperfine -N, $NOOP_RUNS runs of each per round, the
medians of the rounds' medians): $(f1 "$(med '$1' "$tmp/noop.tsv")") ms against $(f1 "$(med '$2' "$tmp/noop.tsv")") ms, the jail's
steps (directory, copy, device nodes, pid and mount namespaces,
pivot_root, cgroup, privileges dropped, exec, then the clean-up)
**$(f1 "$(med '$1 - $2' "$tmp/noop.tsv")") ms** (rounds: $(range '$1 - $2' "$tmp/noop.tsv")).

Commands (TMP = the bench's directory in the test host's tmpfs; ID a new id each run):

$(for c in "$jail_cmd" "$bare_cmd" "$HULL_BIN jail --id ID $jail_args -- hull --version" "$HULL_BIN --version"; do
	c=${c//"$tmp/"/TMP/}
	echo "    ${c//"$repo/"/}"
done)
EOF
