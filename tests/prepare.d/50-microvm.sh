#!/bin/bash
# Host-side preparation for tests/integration/testhost/microvm.bats and
# tests/bench/microvm.sh: Debian's cloud kernel, a busybox initramfs whose
# /init runs the test named by hull.test= on the kernel command line, and a
# small ext4 disk; a link to the test host's ELF vmlinux (PVH entry).
# Everything lands in build/cache/microvm/ (idempotent).
#
# Guest protocol (/init): load the virtio and pvpanic modules, write the boot
# timer (port 0x440 or MMIO 0xe0100000), print "HULL-TEST-BEGIN", run the test, print
# "HULL-TEST-END", then do what hull.end= says: poweroff (default), reboot,
# panic or hold (sleep until killed).  hull.test=powerbutton sleeps until the ACPI power button is
# pressed (KEY_POWER on its input device), as a guest's shutdown handler would.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$root/build/cache/microvm
mkdir -p "$out"
# Two run-suites of one checkout prepare at once: one at a time (each file is
# replaced by a rename, so a test host already running reads whole ones).
exec 7>"$out/.lock"
flock 7

# The kernel and the module resolution are the guest image's
# (guest/build-image.sh): one cache, one dependency walk.
kinfo=$("$root/guest/build-image.sh" kernel)
eval "$kinfo"
ln -sfn "$VMLINUZ" "$out/vmlinuz"
rm -rf "$out/modules" "$out/kver" # where this script kept its own copy before

# ---- the vsock test program (both ends; busybox has no vsock tool) ---------
cc -std=gnu17 -O2 -Wall -Wextra -Werror -static -o "$out/vsock-test.new" "$root/tests/testhost/vsock-test.c"
mv "$out/vsock-test.new" "$out/vsock-test"

# ---- initramfs -----------------------------------------------------------
# button + evdev: the ACPI power button's input device (hull.test=powerbutton);
# fuse + virtiofs: hull.test=virtiofs; nvme: an NVMe function passed through
# with VFIO (hull.test=nvme; the cloud kernel has no e1000e)
mapfile -t order < <("$root/guest/build-image.sh" modules virtio_pci virtio_blk virtio_console virtio-rng \
	pvpanic-mmio button evdev vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport virtio_net \
	fuse virtiofs nvme)
[ ${#order[@]} -gt 0 ] || { echo "50-microvm: no modules resolved" >&2; exit 1; }

ird=$(mktemp -d)
trap 'rm -rf "$ird"' EXIT
mkdir -p "$ird"/{bin,dev,proc,sys,mnt,lib/modules,tmp}
cp /bin/busybox "$ird/bin/busybox"
cp "$out/vsock-test" "$ird/bin/vsock-test"
: >"$ird/lib/modules/order"
for p in "${order[@]}"; do
	cp "$p" "$ird/lib/modules/"
	basename "$p" >>"$ird/lib/modules/order"
done
cat >"$ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null; done
# boot timer: any byte to port 0x440, or its MMIO twin (Debian has no /dev/port)
if [ -e /dev/port ]; then printf 'x' | dd of=/dev/port bs=1 seek=1088 count=1 2>/dev/null
else devmem 0xe0100000 8 1; fi
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
test=$(arg hull.test)
end=$(arg hull.end)
sleep_s=$(arg hull.sleep)
echo HULL-TEST-BEGIN
case "$test" in
info)
	echo "nproc=$(nproc)"
	echo "memtotal_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
	;;
stdin)
	# lines typed before the UART driver started may be cut: wait for a whole one
	while read -t 60 line; do
		case $line in *typed*host) echo "stdin=$line"; break ;; esac
	done
	;;
sleep)
	sleep "${sleep_s:-5}"
	;;
vsock)
	# guest end of microvm.bats' vsock test: an echo server on port 1024 for
	# the host's connections (2, or hull.vsock_conns=), a connection to host port 5000 (a host
	# listener on U_5000) and one to 5001 (none: RST)
	vsock-test echo 1024 "$(arg hull.vsock_conns | grep . || echo 2)" &
	echo_pid=$!
	vsock-test send 2 5000 "hello from guest"
	echo "nolistener=$(vsock-test send 2 5001 nobody)"
	wait $echo_pid
	echo "echo_done=$?"
	;;
powerbutton)
	# PNP0C0C's input device (button.ko); a press is one KEY_POWER event
	ev=
	for n in /sys/class/input/event*; do
		[ "$(cat "$n/device/name" 2>/dev/null)" = "Power Button" ] && ev=/dev/input/${n##*/}
	done
	echo "powerbutton_dev=$ev"
	if [ -n "$ev" ]; then
		dd if="$ev" of=/dev/null bs=24 count=1 2>/dev/null &
		dd_pid=$!
		# a press before the device is open reaches nobody: say when it is
		until ls -l /proc/$dd_pid/fd 2>/dev/null | grep -q "$ev"; do sleep 1; done
		sleep 600 &
		sleep_pid=$!
		echo powerbutton=armed
		wait $dd_pid
		echo powerbutton=pressed
		kill $sleep_pid
	fi
	;;
net)
	# guest end of net.bats: eth0 at hull.ip=, ping the host (hull.peer=),
	# then one TCP connection on port 5000 whose bytes are hashed, and one
	# on port 5001 that sends 4 MiB to the host
	ip link set eth0 up
	ip addr add "$(arg hull.ip)" dev eth0
	echo "mac=$(cat /sys/class/net/eth0/address)"
	echo "mtu=$(cat /sys/class/net/eth0/mtu)"
	echo "queues=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
	if ping -c 3 -W 10 "$(arg hull.peer)" >/tmp/ping.out 2>&1; then echo ping_host=ok
	else echo ping_host=failed; cat /tmp/ping.out; fi
	echo net_ready
	nc -l -p 5000 >/tmp/recv
	echo "tcp_md5=$(md5sum </tmp/recv | cut -d' ' -f1) tcp_bytes=$(wc -c </tmp/recv)"
	# and 4 MiB the other way (the guest's transmit path, TSO included)
	dd if=/dev/urandom of=/tmp/send bs=1M count=4 2>/dev/null
	echo "send_md5=$(md5sum </tmp/send | cut -d' ' -f1)"
	nc -l -p 5001 </tmp/send
	echo send_done
	;;
virtiofs)
	# guest end of virtiofs.bats: tag "hull" from `hull virtiofsd` (rootfs +
	# a read-only --mount m0); the host's symlinks esc -> /etc/passwd and
	# escdir -> ../outside must resolve in the GUEST, never on the host
	mount -t virtiofs hull /mnt && echo mount=ok
	r=/mnt/rootfs
	echo "top=$(ls /mnt | tr '\n' ' ')"
	echo "read=$(cat $r/hello.txt)"
	echo data >$r/new.txt && echo "write=$(cat $r/new.txt)"
	mkdir $r/d && mv $r/new.txt $r/d/moved.txt && echo "rename=$(cat $r/d/moved.txt)"
	ln -s /guest/only $r/ln && echo "readlink=$(readlink $r/ln)"
	ln $r/d/moved.txt $r/hard && echo "nlink=$(stat -c %h $r/hard)"
	chmod 640 $r/hard && chown 1000:1000 $r/hard && echo "attrs=$(stat -c %a:%u:%g $r/hard)"
	touch -t 200101010000 $r/hard && echo "mtime=$(stat -c %Y $r/hard)"
	dd if=/dev/urandom of=$r/big bs=64k count=64 2>/dev/null && echo "bigsum=$(md5sum <$r/big | cut -d' ' -f1)"
	echo "escape=$(cat $r/esc 2>&1 | head -c 60)"
	echo "escdir=$(ls $r/escdir/ 2>&1 | head -c 60)"
	echo "secret_found=$(grep -rl TOPSECRET /mnt 2>/dev/null | wc -l)"
	rm $r/hard && echo "unlink=ok"
	echo "ro=$(touch /mnt/m0/x 2>/dev/null; [ -e /mnt/m0/x ] && echo writable || echo refused)"
	echo "rocontent=$(cat /mnt/m0/ro.txt)"
	# a container rootfs: programs run from it (mmap of FUSE files), big
	# directories list whole; no device node reaches the host, a FIFO does
	echo "exec=$($r/busybox echo exec-ok 2>&1)"
	echo "many=$(ls $r/many | wc -l) $(ls -l $r/many | grep -c '^-')"
	echo "mknod=$(mknod $r/null c 1 3 2>/dev/null && echo made || echo refused)"
	mkfifo $r/fifo && echo "fifo=$(stat -c %F $r/fifo)"
	sync && umount /mnt && echo umount=ok
	;;
nvme)
	# guest end of vfio-vm.bats: the NVMe VF passed through with VFIO.  Its
	# driver binds unchanged; 1 MiB of random data goes to the namespace and
	# comes back (page cache dropped in between, so it is the device's);
	# the device's MSI-X vectors must count interrupts meanwhile.
	irqs() { awk '/nvme/ && /MSI/ {for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i} END {print s + 0}' /proc/interrupts; }
	for i in $(seq 60); do [ -b /dev/nvme0n1 ] && break; sleep 1; done
	echo "nvme_ns=$(cat /sys/block/nvme0n1/size 2>/dev/null)"
	echo "nvme_driver=$(basename "$(readlink /sys/class/nvme/nvme0/device/driver)")"
	before=$(irqs)
	dd if=/dev/urandom of=/tmp/data bs=64k count=16 2>/dev/null
	echo "data_md5=$(md5sum </tmp/data | cut -d' ' -f1)"
	dd if=/tmp/data of=/dev/nvme0n1 bs=64k conv=fsync 2>/dev/null && echo nvme_write=ok
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/nvme0n1 of=/tmp/back bs=64k count=16 2>/dev/null
	echo "back_md5=$(md5sum </tmp/back | cut -d' ' -f1)"
	after=$(irqs)
	echo "msix_vectors=$(grep nvme /proc/interrupts | grep -c MSI)"
	echo "nvme_irqs before=$before after=$after"
	grep nvme /proc/interrupts
	;;
e1000e)
	# the e1000e passed through (vfio-vm.bats, initramfs-host): its driver
	# binds and the link comes up
	n=
	for i in $(seq 60); do n=$(ls /sys/bus/pci/drivers/e1000e/*/net 2>/dev/null | head -n1); [ -n "$n" ] && break; sleep 1; done
	echo "e1000e_if=$n"
	ip link set "$n" up
	for i in $(seq 30); do [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" = 1 ] && break; sleep 1; done
	echo "e1000e_carrier=$(cat /sys/class/net/$n/carrier 2>/dev/null)"
	grep "$n" /proc/interrupts
	;;
pci)
	# the PCI functions the guest enumerated, vendor:device class
	for d in /sys/bus/pci/devices/*; do
		echo "pci=$(cat $d/vendor):$(cat $d/device) $(cat $d/class)"
	done
	;;
blkread)
	# all of the first disk, for the host to compare (api.bats: rate limiter)
	echo "blk_md5=$(dd if=/dev/vda bs=64k 2>/dev/null | md5sum | cut -d' ' -f1)"
	;;
hvc)
	echo "hvc=$(cat /sys/class/tty/hvc0/dev 2>/dev/null)"
	echo "hello over virtio-console" >/dev/hvc0
	;;
all)
	echo "nproc=$(nproc)"
	echo "memtotal_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
	mount -t ext4 -o ro /dev/vda /mnt && echo "disk=$(cat /mnt/hello.txt)" && umount /mnt
	if dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/tmp/ro.err; then echo "rodisk=writable";
	else echo "rodisk=refused $(head -n1 /tmp/ro.err)"; fi
	echo "rng_current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	echo "rng_bytes=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')"
	echo "tsc_deadline=$(grep -c -w tsc_deadline_timer /proc/cpuinfo)"
	echo "acpi_errors=$(dmesg | grep -cE 'ACPI (BIOS )?Error')"
	dmesg | grep -E 'ACPI (BIOS )?Error' | head -n5
	;;
esac
echo HULL-TEST-END
case "$end" in
reboot) reboot -f ;;
panic) echo c >/proc/sysrq-trigger ;;
hold) sleep 3600 ;; # until the host kills the VMM
*) poweroff -f ;;
esac
sleep 10
INIT
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.new"
mv "$out/initramfs.new" "$out/initramfs.cpio.gz"

# The benchmark's guest: power off as soon as userspace starts.
pod=$(mktemp -d)
mkdir -p "$pod/bin"
cp /bin/busybox "$pod/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox poweroff -f\n' >"$pod/init"
chmod +x "$pod/init"
(cd "$pod" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/poweroff.cpio.gz.new"
mv "$out/poweroff.cpio.gz.new" "$out/poweroff.cpio.gz"
rm -rf "$pod"

# ---- disks -----------------------------------------------------------------
if [ ! -f "$out/disk.ext4" ]; then
	d=$(mktemp -d)
	echo "hello from virtio-blk" >"$d/hello.txt"
	rm -f "$out/disk.ext4"
	mkfs.ext4 -q -F -d "$d" "$out/disk.ext4.new" 16M >/dev/null
	mv "$out/disk.ext4.new" "$out/disk.ext4"
	rm -rf "$d"
fi
[ -f "$out/ro.img" ] || truncate -s 1M "$out/ro.img"

# ---- an ELF vmlinux with a PVH note --------------------------------------------
# The cloud kernel is a bzImage; the PVH boot test uses the test host's own
# kernel, which tests/testhost/build unpacks to an ELF vmlinux anyway.
th=$("$root/tests/testhost/build")
kernel=$(sed -n 's/^KERNEL=//p' <<<"$th")
[ -n "$kernel" ] || { echo "50-microvm: tests/testhost/build named no kernel" >&2; exit 1; }
ln -sfn "$kernel" "$out/vmlinux-pvh"

# ---- the same /init for that kernel, with its e1000e --------------------------
# The cloud kernel has no e1000e: vfio-vm.bats boots vmlinux-pvh with this
# initramfs to see the passed-through NIC's link (hull.test=e1000e).  The
# module comes from the test host's own initramfs (same kernel, unsigned).
th_initrd=$(sed -n 's/^INITRD=//p' <<<"$th")
hrd=$(mktemp -d)
trap 'rm -rf "$ird" "$hrd"' EXIT
cp -a "$ird/." "$hrd/"
rm -f "$hrd"/lib/modules/*
(cd "$hrd" && cpio -i --quiet lib/modules/e1000e.ko <"$th_initrd")
[ -f "$hrd/lib/modules/e1000e.ko" ] || { echo "50-microvm: no e1000e.ko in $th_initrd" >&2; exit 1; }
echo e1000e.ko >"$hrd/lib/modules/order"
(cd "$hrd" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs-host.cpio.gz.new"
mv "$out/initramfs-host.cpio.gz.new" "$out/initramfs-host.cpio.gz"
echo "50-microvm: $out ready"
