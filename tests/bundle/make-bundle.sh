#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# make-bundle.sh OUT HELPER HULL
#
# Builds the OCI bundle every test, benchmark and demo starts from:
#   OUT/rootfs       busybox-static (Debian) with its applets as symlinks in /bin,
#                    /bin/hull-test-helper, etc/passwd (root, nobody, test=1000),
#                    etc/group, and the usual empty mount points;
#   OUT/config.json  the base config (runc's `runc spec` defaults, but
#                    terminal=false, args = hull-test-helper exit 0, a tmpfs on
#                    /tmp because the root is read-only).
#
# The config is written from a template, not from `HULL spec`: the tests must
# run the same bundle under hull and under runc, and must not depend on the
# spec generator they are testing (tests/integration/spec.bats covers it).
# HULL is accepted (the Makefile passes it) and recorded in the stamp only.
#
# Idempotent: nothing is rewritten when the inputs (this script, busybox, the
# helper) are unchanged; otherwise the rootfs is rebuilt beside OUT and swapped in.
set -euo pipefail

if [[ $# -ne 3 ]]; then
	echo "usage: $0 OUT HELPER HULL" >&2
	exit 2
fi
out=$1 helper=$2
busybox=/bin/busybox

for f in "$busybox" "$helper"; do
	if [[ ! -x $f ]]; then
		echo "make-bundle.sh: $f: not an executable (busybox comes from Debian's busybox-static)" >&2
		exit 1
	fi
done
# No pipe into head: under pipefail, busybox's SIGPIPE would fail the check at random.
file_out=$(LC_ALL=C "$busybox" --help 2>&1 || true)
if [[ ${file_out%%$'\n'*} != BusyBox* ]]; then
	echo "make-bundle.sh: $busybox: not busybox" >&2
	exit 1
fi

stamp_of() { cat "$0" "$busybox" "$helper" | sha256sum | cut -d' ' -f1; }
stamp=$(stamp_of)
if [[ -f $out/.stamp && $(cat "$out/.stamp") == "$stamp" && -f $out/config.json && -x $out/rootfs/bin/sh ]]; then
	touch "$out/config.json" # keep make's timestamp check satisfied
	exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
r=$tmp/rootfs
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,home/test,run,var/tmp,mnt}
chmod 1777 "$r/tmp" "$r/var/tmp"
chmod 0700 "$r/root"
chown 1000:1000 "$r/home/test"

install -m 0755 "$busybox" "$r/bin/busybox"
install -m 0755 "$helper" "$r/bin/hull-test-helper"
# One symlink per applet in /bin (PATH covers it), like `busybox --install -s /bin`.
while read -r applet; do
	[[ -n $applet && $applet != busybox && ! -e $r/bin/$applet ]] && ln -s busybox "$r/bin/$applet"
done < <("$busybox" --list)
[[ -e $r/bin/sh ]] || ln -s busybox "$r/bin/sh"

cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
test:x:1000:1000:test:/home/test:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$r/etc/group" <<'EOF'
root:x:0:
tty:x:5:
test:x:1000:
extra:x:1001:test
nogroup:x:65534:
EOF
echo hull-rootfs >"$r/etc/hostname"
echo "hull test rootfs" >"$r/etc/motd"
: >"$r/etc/hosts"
: >"$r/etc/resolv.conf"

cat >"$tmp/config.json" <<'EOF'
{
	"ociVersion": "1.0.2",
	"process": {
		"terminal": false,
		"user": { "uid": 0, "gid": 0 },
		"args": [ "/bin/hull-test-helper", "exit", "0" ],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"effective": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"permitted": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"ambient": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ]
		},
		"rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
		"noNewPrivileges": true
	},
	"root": { "path": "rootfs", "readonly": true },
	"hostname": "hull",
	"mounts": [
		{ "destination": "/proc", "type": "proc", "source": "proc" },
		{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		  "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
		{ "destination": "/dev/pts", "type": "devpts", "source": "devpts",
		  "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" ] },
		{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		  "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
		{ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
		  "options": [ "nosuid", "noexec", "nodev" ] },
		{ "destination": "/sys", "type": "sysfs", "source": "sysfs",
		  "options": [ "nosuid", "noexec", "nodev", "ro" ] },
		{ "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
		  "options": [ "nosuid", "nodev", "mode=1777", "size=16m" ] }
	],
	"linux": {
		"namespaces": [
			{ "type": "pid" }, { "type": "network" }, { "type": "ipc" },
			{ "type": "uts" }, { "type": "mount" }
		],
		"maskedPaths": [
			"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
		]
	}
}
EOF

# Swap in: the old rootfs goes away only after the new one is complete.
rm -rf "$out/rootfs.old"
[[ -d $out/rootfs ]] && mv "$out/rootfs" "$out/rootfs.old"
mv "$r" "$out/rootfs"
mv "$tmp/config.json" "$out/config.json"
rm -rf "$out/rootfs.old"
echo "$stamp" >"$out/.stamp"
echo "make-bundle.sh: $out ready ($(ls "$out/rootfs/bin" | wc -l) entries in /bin)"
