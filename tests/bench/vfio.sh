#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: an NVMe virtual function passed through with VFIO, hull against
# QEMU 7.2 (-device vfio-pci, -accel kvm), in the test host with an emulated
# IOMMU (tests/testhost/run --iommu, set up as
# tests/integration/testhost/vfio-vm.bats does: `hull sriov enable`, NVMe
# virtualization management with nvme-cli, `hull vfio bind`).  The same VF,
# kernel and guest (tests/bench/guest.bash: fio on the namespace), 1 vCPU,
# 256 MiB: fio's 4 KiB random reads (IOPS) and 128 KiB sequential reads
# (MiB/s), direct I/O, libaio.  Also hull's virtio-blk on a 64 MiB file in
# the test host's tmpfs, for reference.  The machine's cores are shared, so
# each round runs every VMM (rotating which goes first) and the ratios are
# the median of the rounds' own ratios.  Target (issue 14): >= 1.0x QEMU.
# Prints a Markdown section on stdout.
# shellcheck disable=SC2054 # commas separate QEMU sub-options, not elements
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/paths.bash"
. "$repo/tests/bench/guest.bash"
ROUNDS=${VFIO_BENCH_ROUNDS:-3}
SECS=${VFIO_BENCH_SECS:-8}

if [ -z "${TESTHOST:-}" ]; then
	command -v nvme >/dev/null || { echo "vfio bench: nvme-cli is not installed (make deps)" >&2; exit 1; }
	bench_guest_prepare
	cd "$repo"
	export TESTHOST_ENV="HULL VFIO_BENCH_ROUNDS VFIO_BENCH_SECS" HULL="$HULL_BIN" VFIO_BENCH_ROUNDS="$ROUNDS" \
		VFIO_BENCH_SECS="$SECS"
	bench_in_testhost vfio --iommu --timeout 2400 -- tests/bench/vfio.sh
	exit
fi
[ -c /dev/kvm ] || { echo "vfio bench: no /dev/kvm in the test host" >&2; exit 1; }
[ -d /sys/class/iommu/dmar0 ] || { echo "vfio bench: the test host has no IOMMU (--iommu)" >&2; exit 1; }
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
. "$repo/tests/integration/testhost/pci.bash"

tmp=$(mktemp -d)
ROOT=$tmp/root
vm_pid= pf= vf= ctrl= bound=
hull() { "$HULL_BIN" --root "$ROOT" "$@"; }
cleanup() {
	[ -z "$vm_pid" ] || kill -KILL "$vm_pid" 2>/dev/null || true
	[ -z "$vm_pid" ] || wait "$vm_pid" 2>/dev/null || true
	[ -z "$bound" ] || hull vfio unbind "$vf" >&2 || true
	[ -z "$ctrl" ] || nvme virt-mgmt "$ctrl" -c 1 -a 7 >/dev/null 2>&1 || true
	[ -z "$pf" ] || hull sriov disable "$pf" >&2 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# The VF, as the passthrough test prepares it: 2 VFs enabled, VF 1 (cntlid
# 1) given an admin and an I/O queue and one interrupt, online, on vfio-pci.
pf=$(pci_find 0x1b36 0x010802) || { echo "vfio bench: no NVMe PF in the test host" >&2; exit 1; }
ctrl=/dev/$(ls "/sys/bus/pci/devices/$pf/nvme")
hull sriov enable "$pf" 2 >&2
vf=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn0")")
nvme virt-mgmt "$ctrl" -c 1 -r 0 -a 8 -n 2 >&2
nvme virt-mgmt "$ctrl" -c 1 -r 1 -a 8 -n 1 >&2
nvme virt-mgmt "$ctrl" -c 1 -a 9 >&2
hull vfio bind "$vf" >&2
bound=1

K=$repo/build/cache/microvm/vmlinuz
I=$repo/build/cache/bench/initramfs.cpio.gz
cp "$repo/build/cache/bench/tools.ext4" "$tmp/tools.ext4"
T=$tmp/tools.ext4
# hull's virtio-blk reference: a file of the namespace's size, in tmpfs
head -c 64M /dev/urandom >"$tmp/disk.img"
D=$tmp/disk.img
APPEND="console=ttyS0 quiet panic=-1 bench.mode=blk bench.secs=$SECS"

# vmm_cmd CONFIG: the VMM's command line, in cmd[].
vmm_cmd() {
	case $1 in
	hull-vfio)
		cmd=("$HULL_BIN" vm run --kernel "$K" --initrd "$I" --cpus 1 --memory 256 --disk "$T,ro"
			--device "vfio=$vf" --cmdline "$APPEND bench.dev=/dev/nvme0n1")
		;;
	qemu-vfio)
		cmd=(qemu-system-x86_64 -M microvm,pcie=on -accel kvm -cpu host -m 256 -smp 1 -nodefaults
			-no-user-config -nographic -serial stdio -no-reboot -kernel "$K" -initrd "$I"
			-append "$APPEND bench.dev=/dev/nvme0n1"
			-drive "file=$T,if=none,id=tools,format=raw,readonly=on" -device virtio-blk-pci,drive=tools
			-device "vfio-pci,host=$vf")
		;;
	hull-blk)
		cmd=("$HULL_BIN" vm run --kernel "$K" --initrd "$I" --cpus 1 --memory 256 --disk "$T,ro"
			--disk "$D,ro" --cmdline "$APPEND bench.dev=/dev/vdb")
		;;
	esac
}
shown() {
	vmm_cmd "$1"
	echo "${cmd[*]}" | sed "s|$K|K|; s|$I|I|; s|$T|T|; s|$D|D|; s|$APPEND\( bench.dev=[^ ]*\)|'A\1'|; s|$repo/||"
}

# one CONFIG ROUND: boot, let the guest's fio run, wait for its poweroff;
# writes "iops seq_MiB/s" to $tmp/CONFIG.ROUND on success.
one() {
	local cfg=$1 r=$2 out=$tmp/$1.$2.out rand seq st=0
	vmm_cmd "$cfg"
	"${cmd[@]}" </dev/null >"$out" 2>&1 &
	vm_pid=$!
	bench_vm_wait "$out" "$vm_pid" '^(BENCH-END|BENCH-FAILED)' || true
	bench_vm_end "$vm_pid" 300 || st=$?
	vm_pid=
	rand=$(tr -d '\r' <"$out" | sed -n 's/^FIO-RAND=//p' | cut -d';' -f8)
	seq=$(tr -d '\r' <"$out" | sed -n 's/^FIO-SEQ=//p' | cut -d';' -f7)
	if [ "$st" != 0 ] || [ -z "$rand" ] || [ -z "$seq" ]; then
		echo "vfio bench: $cfg round $r failed (VMM exit status $st):" >&2
		tail -n 30 "$out" >&2
		return 1
	fi
	seq=$(awk -v k="$seq" 'BEGIN { printf "%.1f", k / 1024 }')
	echo "$rand $seq" >"$tmp/res.$cfg.$r"
	echo "vfio bench: round $r $cfg: 4k random read $rand IOPS, sequential read $seq MiB/s" >&2
}

configs=(hull-vfio qemu-vfio hull-blk)
failed=()
for ((r = 1; r <= ROUNDS; r++)); do
	for ((i = 0; i < ${#configs[@]}; i++)); do
		cfg=${configs[(i + r - 1) % ${#configs[@]}]}
		one "$cfg" "$r" || failed+=("$cfg round $r")
	done
done

col() { # col CONFIG N: the median over the rounds of field N (1 IOPS, 2 MiB/s)
	cat "$tmp/res.$1".* 2>/dev/null | awk -v n="$2" '{print $n}' >"$tmp/col"
	bench_median "$tmp/col"
}
ratio() { # ratio A B N: median and range of the rounds' own A/B ratios of field N
	local r
	: >"$tmp/ratios"
	for ((r = 1; r <= ROUNDS; r++)); do
		if [ -f "$tmp/res.$1.$r" ] && [ -f "$tmp/res.$2.$r" ]; then
			paste -d' ' "$tmp/res.$1.$r" "$tmp/res.$2.$r" | awk -v n="$3" '{ printf "%.4f\n", $n / $(n + 2) }' >>"$tmp/ratios"
		fi
	done
	if [ -s "$tmp/ratios" ]; then
		printf '%.2fx (%s)' "$(bench_median "$tmp/ratios")" "$(sort -g "$tmp/ratios" | awk 'NR == 1 {a = $1} {b = $1} END {printf "%.2f-%.2f", a, b}')"
	else
		printf 'n/a'
	fi
}
n_ok() { find "$tmp" -maxdepth 1 -name "res.$1.*" | wc -l; }
row() { printf '| %s | %.0f | %.1f | %s |\n' "$1" "$(col "$2" 1)" "$(col "$2" 2)" "$(n_ok "$2")"; }
verdict() {
	local a b
	a=$(ratio hull-vfio qemu-vfio 1 | cut -dx -f1) b=$(ratio hull-vfio qemu-vfio 2 | cut -dx -f1)
	awk -v a="$a" -v b="$b" 'BEGIN { if (a == "n/a") print "n/a"; else print (a >= 1 && b >= 1) ? "met" : "missed" }'
}

cat <<EOF
## NVMe VF passed through with VFIO: hull vs QEMU (tests/bench/vfio.sh)

Inside the test host with an emulated IOMMU (\`tests/testhost/run --iommu\`:
QEMU TCG, q35, intel-iommu, nested AMD-V KVM); the NVMe controller and its
SR-IOV VF are QEMU's emulation one level down, so absolute IOPS and
bandwidth are those of emulated hardware under emulation, far from a real
disk's; only the ratio is worth comparing.  The VF ($vf, of PF $pf) is
prepared as tests/integration/testhost/vfio-vm.bats does (\`hull sriov
enable\`, \`nvme virt-mgmt\`: 1 I/O queue, 1 interrupt; \`hull vfio bind\`) and
passed to each VMM in turn.  Guest: the kernel $(bench_guest_kernel), 1 vCPU,
256 MiB, the same kernel and initramfs (tests/bench/guest-init) for both; a
virtio-blk disk carries Debian's fio ($(fio --version)) to the guest.  Per run, on
/dev/nvme0n1 (the 64 MiB namespace): \`fio --rw=randread --bs=4k
--iodepth=16\`, then \`--rw=read --bs=128k --iodepth=8\`, each \`--direct=1
--ioengine=libaio --runtime=$SECS --time_based\`.  $ROUNDS rounds, each running
every VMM one after the other, the first one rotating; medians over the
rounds, ratios the medians of the rounds' own ratios (range in brackets:
how far the shared machine's load moves them).

| VMM, device | 4 KiB random read (IOPS) | 128 KiB sequential read (MiB/s) | runs |
| --- | ---: | ---: | ---: |
$(row "\`hull vm run --device vfio=$vf\`" hull-vfio)
$(row "QEMU 7.2 \`-device vfio-pci,host=$vf\` (peer)" qemu-vfio)
$(row "\`hull vm run --disk\` (virtio-blk, 64 MiB file in tmpfs; reference)" hull-blk)

| ratio | 4 KiB random read | sequential read | target (>= 1.0x) |
| --- | ---: | ---: | --- |
| hull VFIO / QEMU VFIO | **$(ratio hull-vfio qemu-vfio 1)** | **$(ratio hull-vfio qemu-vfio 2)** | $(verdict) |
| hull virtio-blk / hull VFIO | $(ratio hull-blk hull-vfio 1) | $(ratio hull-blk hull-vfio 2) | |
EOF
if [ ${#failed[@]} -gt 0 ]; then
	echo
	echo "Runs that failed (left out; see the make bench log): ${failed[*]}."
fi
cat <<EOF

Commands (K = build/cache/microvm/vmlinuz, I = build/cache/bench/initramfs.cpio.gz,
T = build/cache/bench/tools.ext4 and D = the 64 MiB file, both in the test host's tmpfs,
A = \`$APPEND\`):

    $(shown hull-vfio)
    $(shown qemu-vfio)
    $(shown hull-blk)
EOF
[ ${#failed[@]} -lt $((ROUNDS * ${#configs[@]})) ]
