# SPDX-License-Identifier: Apache-2.0
# Sourced by the I/O benchmarks (tests/bench/net.sh, tests/bench/vfio.sh): the
# guest both VMMs boot.  Run on the development machine, before the test host.
#
#   bench_guest_prepare: build/cache/bench/
#     initramfs.cpio.gz  tests/prepare.d/50-microvm.sh's initramfs (busybox,
#                        the virtio and nvme modules) followed by a second
#                        archive whose /init (tests/bench/guest-init) replaces
#                        the first one's: the kernel unpacks both in order
#     tools.ext4         Debian's iperf3 and fio with every library they load
#                        (ldd) and the dynamic loader; too big for an
#                        initramfs (fio links ceph and gluster), so the guest
#                        mounts it read-only from a virtio-blk disk, the first
#                        disk of either VMM (/dev/vda)
#
# The kernel is build/cache/microvm/vmlinuz (Debian's cloud kernel).

bench_guest_prepare() {
	local out=$repo/build/cache/bench m tree bin f
	for bin in iperf3 fio; do
		command -v "$bin" >/dev/null || { echo "bench: $bin is not installed (make deps)" >&2; return 1; }
	done
	"$repo/tests/prepare.d/50-microvm.sh" >&2 || return 1
	mkdir -p "$out"

	m=$(mktemp -d)
	cp "$repo/tests/bench/guest-init" "$m/init"
	chmod 0755 "$m/init"
	{
		cat "$repo/build/cache/microvm/initramfs.cpio.gz"
		(cd "$m" && echo init | cpio -o -H newc --quiet | gzip -1)
	} >"$out/initramfs.cpio.gz.new"
	rm -rf "$m"
	mv "$out/initramfs.cpio.gz.new" "$out/initramfs.cpio.gz"

	# Rebuilt only when a binary or a library changed (an upgrade).
	local stamp
	stamp=$({
		for bin in iperf3 fio; do
			f=$(command -v "$bin")
			echo "$f"
			ldd "$f"
		done | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u |
			xargs -r ls -lL --time-style=+%s
	} | md5sum | cut -d' ' -f1)
	if [ -f "$out/tools.ext4" ] && [ "$(cat "$out/tools.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	tree=$(mktemp -d)
	mkdir -p "$tree/bin" "$tree/lib"
	for bin in iperf3 fio; do
		f=$(command -v "$bin")
		cp -L "$f" "$tree/bin/$bin"
		ldd "$f" | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r l; do
			cp -L "$l" "$tree/lib/"
		done
	done
	[ -e "$tree/lib/ld-linux-x86-64.so.2" ] || { echo "bench: no dynamic loader in ldd's output" >&2; rm -rf "$tree"; return 1; }
	local kib
	kib=$(du -sk "$tree" | cut -f1)
	rm -f "$out/tools.ext4.new"
	mkfs.ext4 -q -F -d "$tree" "$out/tools.ext4.new" "$((kib * 5 / 4 + 8192))K" >/dev/null
	rm -rf "$tree"
	mv "$out/tools.ext4.new" "$out/tools.ext4"
	echo "$stamp" >"$out/tools.stamp"
}

# What the report names the guest by.
bench_guest_kernel() {
	basename "$(dirname "$(readlink -f "$repo/build/cache/microvm/vmlinuz")")"
}

# bench_in_testhost NAME TESTHOST-ARGS... -- SCRIPT: run SCRIPT in the test
# host and print its section (a heading line, then the rest) with a line
# after the heading: the date, the commit and the machine's load average
# before and after (the test host cannot see it; the machine's cores are
# shared, which is why the rounds are interleaved).
bench_in_testhost() {
	local name=$1 out rc=0 before
	shift
	out=$(mktemp)
	before="$(cut -d' ' -f1-3 /proc/loadavg)"
	local start; start=$(date -u '+%Y-%m-%d %H:%M')
	"$repo/tests/testhost/run" "$@" >"$out" || rc=$?
	sed -n 1p "$out"
	echo
	echo "_Measured $start-$(date -u '+%H:%M') UTC, commit $(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown), machine load average (1, 5, 15 min) $before before and $(cut -d' ' -f1-3 /proc/loadavg) after._"
	sed 1d "$out"
	rm -f "$out"
	[ "$rc" = 0 ] || echo "$name bench: the test host's job exited $rc" >&2
	return "$rc"
}

# median FILE: the median of the numbers in FILE, one a line.
bench_median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_vm_wait OUT PID REGEX: until the VM's console (file OUT) has a line
# matching REGEX; fails if the VMM (PID) ended first or after 600 s.
bench_vm_wait() {
	local i
	for i in $(seq 600); do
		grep -qE "$3" "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 1
	done
	grep -qE "$3" "$1"
}

# bench_vm_end PID SECS: wait for the VMM (a child of this shell) at most
# SECS seconds, then SIGKILL it (SIGTERM would be the guest's power button);
# its exit status, 137 when killed.
bench_vm_end() {
	local i st=0
	for ((i = 0; i < $2 * 5; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" || st=$?
	return "$st"
}
