#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: a microVM's virtio-net, hull against QEMU 7.2's virtio-net-pci,
# in the test host (hardware KVM for both: nested AMD-V under QEMU TCG).
# The same kernel and guest (tests/bench/guest.bash: an iperf3 server on
# eth0), 1 vCPU, 256 MiB, the same tap in a network namespace this bench
# creates (tap0, 10.79.0.1/24; the guest 10.79.0.2): TCP throughput with
# Debian's iperf3 host -> guest and guest -> host (-R), and the ping
# round-trip host -> guest (busybox ping, the median of 20).  Four data paths:
# hull with vhost-net and with its event loop (vhost=off), QEMU with
# vhost=on and vhost=off.  The machine's cores are shared, so each round runs
# all four (rotating which goes first) and the ratios are the median of the
# rounds' own ratios.  Targets (issue 12): throughput >= 1.0x QEMU's,
# latency <= 1.0x.  Prints a Markdown section on stdout.
# shellcheck disable=SC2054 # commas separate QEMU sub-options, not elements
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/paths.bash"
. "$repo/tests/bench/guest.bash"
ROUNDS=${NET_BENCH_ROUNDS:-3}
SECS=${NET_BENCH_SECS:-5}

if [ -z "${TESTHOST:-}" ]; then
	bench_guest_prepare
	cd "$repo"
	export TESTHOST_ENV="HULL NET_BENCH_ROUNDS NET_BENCH_SECS" HULL="$HULL_BIN" NET_BENCH_ROUNDS="$ROUNDS" \
		NET_BENCH_SECS="$SECS"
	bench_in_testhost net --timeout 2400 -- tests/bench/net.sh
	exit
fi
for dev in /dev/kvm /dev/net/tun /dev/vhost-net; do
	[ -c $dev ] || { echo "net bench: no $dev in the test host" >&2; exit 1; }
done
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

tmp=$(mktemp -d)
NS=hullbench$$
vm_pid=
cleanup() {
	[ -z "$vm_pid" ] || kill -KILL "$vm_pid" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

K=$repo/build/cache/microvm/vmlinuz
I=$repo/build/cache/bench/initramfs.cpio.gz
# The tools disk into the test host's tmpfs: both VMMs then read it from
# memory, not through the test host's 9p root.
cp "$repo/build/cache/bench/tools.ext4" "$tmp/tools.ext4"
T=$tmp/tools.ext4
MAC=02:00:00:79:00:02
APPEND="console=ttyS0 quiet panic=-1 bench.mode=net bench.ip=10.79.0.2/24"

ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
in_ns ip tuntap add tap0 mode tap
in_ns ip addr add 10.79.0.1/24 dev tap0
in_ns ip link set tap0 up

# vmm_cmd CONFIG: the VMM's command line for one data path, in cmd[].
vmm_cmd() {
	local v=on
	case $1 in *-novhost) v=off ;; esac
	case $1 in
	hull-*)
		cmd=("$HULL_BIN" vm run --kernel "$K" --initrd "$I" --cpus 1 --memory 256 --disk "$T,ro"
			--net "tap=tap0,mac=$MAC,vhost=$v" --cmdline "$APPEND")
		;;
	qemu-*)
		cmd=(qemu-system-x86_64 -M microvm,pcie=on -accel kvm -cpu host -m 256 -smp 1 -nodefaults
			-no-user-config -nographic -serial stdio -no-reboot -kernel "$K" -initrd "$I" -append "$APPEND"
			-drive "file=$T,if=none,id=tools,format=raw,readonly=on" -device virtio-blk-pci,drive=tools
			-netdev "tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=$v"
			-device "virtio-net-pci,netdev=n0,mac=$MAC,romfile=")
		;;
	esac
}
# shown CONFIG: the command as the report prints it
shown() {
	vmm_cmd "$1"
	echo "${cmd[*]}" | sed "s|$K|K|; s|$I|I|; s|$T|T|; s|$APPEND|'A'|; s|$repo/||"
}

# iperf CONFIG ROUND [-R]: Mbit/s received, from the client's JSON.  The
# guest's one-off server may not listen yet: a refused connection is retried.
iperf() {
	local cfg=$1 r=$2 j=$tmp/$1.$2.iperf${3:-}.json i
	shift 2
	for i in $(seq 60); do
		if in_ns timeout 120 iperf3 -c 10.79.0.2 -t "$SECS" -O 1 -J "$@" >"$j" 2>&1; then
			jq -r '.end.sum_received.bits_per_second / 1e6' "$j"
			return 0
		fi
		grep -q 'Connection refused' "$j" || break
		sleep 1
	done
	echo "net bench: $cfg round $r: iperf3 $* failed:" >&2
	cat "$j" >&2
	return 1
}

# one CONFIG ROUND: boot, measure, wait for the guest's poweroff; appends
# "tx rx rtt" to $tmp/CONFIG.ROUND on success.
one() {
	local cfg=$1 r=$2 out=$tmp/$1.$2.out tx rx rtt
	vmm_cmd "$cfg"
	# ip netns exec execs the VMM: $! is the VMM itself
	ip netns exec "$NS" "${cmd[@]}" </dev/null >"$out" 2>&1 &
	vm_pid=$!
	if ! bench_vm_wait "$out" "$vm_pid" '^BENCH-READY'; then
		echo "net bench: $cfg round $r: the guest never got ready:" >&2
		tail -n 30 "$out" >&2
		bench_vm_end "$vm_pid" 0 || true
		vm_pid=
		return 1
	fi
	in_ns busybox ping -c 20 -i 0.2 -W 10 10.79.0.2 >"$tmp/$cfg.$r.ping" 2>&1 || true
	sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' "$tmp/$cfg.$r.ping" >"$tmp/$cfg.$r.rtts"
	rtt=$(bench_median "$tmp/$cfg.$r.rtts")
	tx=$(iperf "$cfg" "$r") || tx=
	rx=$(iperf "$cfg" "$r" -R) || rx=
	if ! bench_vm_end "$vm_pid" 300; then
		echo "net bench: $cfg round $r: the VMM did not exit cleanly:" >&2
		tail -n 30 "$out" >&2
	fi
	vm_pid=
	[ -n "$tx" ] && [ -n "$rx" ] && [ "$rtt" != nan ] || return 1
	echo "$tx $rx $rtt" >"$tmp/res.$cfg.$r"
	echo "net bench: round $r $cfg: host->guest $tx Mbit/s, guest->host $rx Mbit/s, rtt $rtt ms" >&2
}

configs=(hull-vhost qemu-vhost hull-novhost qemu-novhost)
failed=()
for ((r = 1; r <= ROUNDS; r++)); do
	for ((i = 0; i < ${#configs[@]}; i++)); do
		cfg=${configs[(i + r - 1) % ${#configs[@]}]}
		one "$cfg" "$r" || failed+=("$cfg round $r")
	done
done

# col CONFIG N: the median over the rounds of field N (1 tx, 2 rx, 3 rtt).
col() {
	cat "$tmp/res.$1".* 2>/dev/null | awk -v n="$2" '{print $n}' >"$tmp/col"
	bench_median "$tmp/col"
}
# ratio A B N: the median of the rounds' own A/B ratios of field N, and
# their range; only rounds where both ran.
ratio() {
	local r
	: >"$tmp/ratios"
	for ((r = 1; r <= ROUNDS; r++)); do
		[ -f "$tmp/res.$1.$r" ] && [ -f "$tmp/res.$2.$r" ] || continue
		paste -d' ' "$tmp/res.$1.$r" "$tmp/res.$2.$r" | awk -v n="$3" '{ printf "%.4f\n", $n / $(n + 3) }' >>"$tmp/ratios"
	done
	if [ -s "$tmp/ratios" ]; then
		printf '%.2fx (%s)' "$(bench_median "$tmp/ratios")" "$(sort -g "$tmp/ratios" | awk 'NR == 1 {a = $1} {b = $1} END {printf "%.2f-%.2f", a, b}')"
	else
		printf 'n/a'
	fi
}
verdict() { # verdict A B: throughput >= 1.0x and latency <= 1.0x
	local t x l
	t=$(ratio "$1" "$2" 1 | cut -dx -f1) x=$(ratio "$1" "$2" 2 | cut -dx -f1) l=$(ratio "$1" "$2" 3 | cut -dx -f1)
	awk -v t="$t" -v x="$x" -v l="$l" 'BEGIN { if (t == "n/a" || l == "n/a") print "n/a"; else printf "throughput %s, latency %s", (t >= 1 && x >= 1) ? "met" : "missed", (l <= 1) ? "met" : "missed" }'
}
row() { printf '| %s | %.1f | %.1f | %.2f |\n' "$1" "$(col "$2" 1)" "$(col "$2" 2)" "$(col "$2" 3)"; }
n_ok() { find "$tmp" -maxdepth 1 -name "res.$1.*" | wc -l; }

cat <<EOF
## virtio-net: hull vs QEMU (tests/bench/net.sh)

Inside the test host (QEMU TCG with nested AMD-V KVM): absolute numbers are
deflated for throughput and inflated for latency by the emulation (every
guest exit and every host packet goes through TCG), so only the ratio is
worth comparing.  Guest: the kernel $(bench_guest_kernel), 1 vCPU, 256 MiB, for both VMMs
the same kernel, initramfs (tests/bench/guest-init) and tap (\`tap0\` in a
network namespace the bench creates, 10.79.0.1/24; the guest 10.79.0.2/24);
a virtio-blk disk carries Debian's $(iperf3 --version | head -n1 | cut -d' ' -f1-2) to the guest.
Per run: \`busybox ping -c 20 -i 0.2\` host -> guest (median RTT), then
\`iperf3 -c 10.79.0.2 -t $SECS -O 1\` (host -> guest) and the same with \`-R\`
(guest -> host), TCP, one stream.  $ROUNDS rounds, each running the four
VMMs one after the other, the first one rotating; the table gives each
VMM's median over its rounds, the ratios are the medians of the rounds'
own ratios (range in brackets: how far the shared machine's load moves them).

| VMM, data path | host -> guest (Mbit/s) | guest -> host (Mbit/s) | ping RTT (ms) | runs |
| --- | ---: | ---: | ---: | ---: |
$(row "\`hull vm run\`, vhost-net" hull-vhost | sed "s/|\$/| $(n_ok hull-vhost) |/")
$(row "\`hull vm run\`, vhost=off (hull's event loop)" hull-novhost | sed "s/|\$/| $(n_ok hull-novhost) |/")
$(row "QEMU 7.2 virtio-net-pci, vhost=on (peer)" qemu-vhost | sed "s/|\$/| $(n_ok qemu-vhost) |/")
$(row "QEMU 7.2 virtio-net-pci, vhost=off (peer)" qemu-novhost | sed "s/|\$/| $(n_ok qemu-novhost) |/")

| hull / QEMU | host -> guest | guest -> host | ping RTT | target (throughput >= 1.0x, RTT <= 1.0x) |
| --- | ---: | ---: | ---: | --- |
| vhost-net: hull / QEMU vhost=on | **$(ratio hull-vhost qemu-vhost 1)** | **$(ratio hull-vhost qemu-vhost 2)** | **$(ratio hull-vhost qemu-vhost 3)** | $(verdict hull-vhost qemu-vhost) |
| event loop: hull vhost=off / QEMU vhost=off | $(ratio hull-novhost qemu-novhost 1) | $(ratio hull-novhost qemu-novhost 2) | $(ratio hull-novhost qemu-novhost 3) | $(verdict hull-novhost qemu-novhost) |
EOF
if [ ${#failed[@]} -gt 0 ]; then
	echo
	echo "Runs that failed (left out; see the make bench log): ${failed[*]}."
fi
cat <<EOF

Commands (in the namespace; K = build/cache/microvm/vmlinuz, I =
build/cache/bench/initramfs.cpio.gz, T = build/cache/bench/tools.ext4 copied to the test host's tmpfs,
A = \`$APPEND\`):

    $(shown hull-vhost)
    $(shown qemu-vhost)
    (vhost=off: the same with vhost=off)
    busybox ping -c 20 -i 0.2 -W 10 10.79.0.2
    iperf3 -c 10.79.0.2 -t $SECS -O 1 -J [-R]
EOF
[ ${#failed[@]} -lt $((ROUNDS * ${#configs[@]})) ]
