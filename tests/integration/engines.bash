# SPDX-License-Identifier: Apache-2.0
# Container engines driving the runtime unchanged: Debian's podman (through
# conmon) and containerd 1.6 (its runc shim, or hull's own), each with state of
# its own under a directory of the test file, so the machine's podman and
# containerd state is never touched.  Used by podman.bats, shim.bats and
# testhost/vmcontainer-engines.bats.

# ---- podman ---------------------------------------------------------------

# pm ARG...: podman with private storage, run root and tmpdir under $PM_DIR
# and the runtime $PM_RUNTIME, vfs storage (no mounts to leak), cgroupfs (no
# systemd), no events.  The runtime keeps its state in its default root
# (/run/hull): podman 4.3 passes --runtime-flag to create and start but not
# to delete (seen: `delete --force ID` without --root), so a private root
# would leave every container's state behind.
pm() {
	podman --root "$PM_DIR/storage" --runroot "$PM_DIR/run" --tmpdir "$PM_DIR/tmp" \
		--storage-driver vfs --cgroup-manager=cgroupfs --events-backend none \
		--runtime "$PM_RUNTIME" "$@"
}

# Options for every container: no network (no netavark, no CNI), and limits
# podman would otherwise take from a host whose nofile hard limit is below its
# default (root lacks CAP_SYS_RESOURCE here).
PM_LIMITS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# pm_setup DIR RUNTIME: in setup_file.  Remembers whether podman's parent
# cgroup existed, so pm_teardown removes only what podman made for the tests.
pm_setup() {
	command -v podman >/dev/null || skip "podman is not installed"
	PM_DIR=$1 PM_RUNTIME=$2
	export PM_DIR PM_RUNTIME
	mkdir -p "$PM_DIR"
	local c
	for c in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent; do
		[[ -d $c ]] && touch "$PM_DIR/had-libpod-parent"
	done
	return 0
}

# pm_import ROOTFS NAME: a local image of a directory (no registry).
pm_import() {
	tar -C "$1" -c . | pm import - "$2" >/dev/null
}

# pm_why CID: why a podman container is not running, for a failure message:
# its state, exit code and error, its output, the runtime's log and, for a VM,
# the guest console's last lines while hull's state still holds them.
pm_why() {
	local cid=$1 f
	echo "state: $(pm inspect --format '{{.State.Status}} exit {{.State.ExitCode}} error "{{.State.Error}}"' "$cid" 2>&1)"
	echo "logs: $(pm logs "$cid" 2>&1 | tail -n 5)"
	for f in $(find "$PM_DIR/run" -name oci-log -path "*$cid*" 2>/dev/null); do
		echo "runtime log: $(tail -n 5 "$f")"
	done
	for f in /run/hull/"$cid"/console.log; do
		[[ -e $f ]] && echo "guest console: $(tail -n 8 "$f")"
	done
	return 0
}

pm_teardown() {
	[[ -n ${PM_DIR:-} && -d $PM_DIR ]] || return 0
	pm rm -a -f -t 0 >/dev/null 2>&1 || true
	pm rmi -a -f >/dev/null 2>&1 || true
	if [[ ! -e $PM_DIR/had-libpod-parent ]]; then
		local c
		for c in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent; do
			[[ -d $c ]] || continue
			rmdir "$c"/*/ 2>/dev/null || true
			rmdir "$c" 2>/dev/null || true
		done
	fi
	# vfs layers hold no mounts, but podman's run dir may
	umount -R "$PM_DIR/run" 2>/dev/null || true
}

# ---- containerd -----------------------------------------------------------

# containerd_start DIR [VAR=VALUE...]: a private containerd 1.6 (config,
# root, state, sockets under DIR; never /run/containerd) in a mount namespace
# of its own (its snapshot mounts and the shims' rootfs mounts are not the
# machine's), with the environment VAR=VALUE (e.g. PATH finding a shim).
# Sets and exports D=DIR.
containerd_start() {
	D=$1
	shift
	export D
	mkdir -p "$D/fifo"
	containerd_config '"io.containerd.grpc.v1.cri", ' >"$D/config.toml"
	containerd_launch "$@"
}

# containerd_config [DISABLED]: the top of a private containerd's config
# (root, state, sockets under $D), with the plugins DISABLED (a TOML list's
# items, each followed by ", ") and those none of the tests needs disabled.
containerd_config() {
	cat <<-CONF
	version = 2
	root = "$D/root"
	state = "$D/state"
	disabled_plugins = [${1:-}"io.containerd.snapshotter.v1.btrfs",
	  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
	  "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt",
	  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
	[grpc]
	  address = "$D/c.sock"
	[ttrpc]
	  address = "$D/c.sock.ttrpc"
	[debug]
	  address = "$D/debug.sock"
	[metrics]
	  address = ""
	CONF
}

# containerd_launch [VAR=VALUE...]: containerd on the config $D/config.toml
# (written by containerd_start, or cri.bash's cri_start with the CRI
# plugin), as containerd_start says.
containerd_launch() {
	env "$@" unshare -m --propagation private \
		containerd --config "$D/config.toml" >"$D/containerd.log" 2>&1 3>&- &
	echo $! >"$D/containerd.pid"
	for _ in $(seq 100); do
		ctr --address "$D/c.sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	ctr --address "$D/c.sock" version >/dev/null
}

# containerd_stop: after the tests' own cleanup.
containerd_stop() {
	[[ -f ${D:-}/containerd.pid ]] || return 0
	kill "$(cat "$D/containerd.pid")" 2>/dev/null || true
	wait "$(cat "$D/containerd.pid")" 2>/dev/null || true
}

# c ARG...: ctr on the private containerd, in the containerd namespace $NS.
# Every call that makes FIFOs names --fifo-dir: ctr's default is the host's
# /run/containerd/fifo.
c() { ctr --address "$D/c.sock" -n "$NS" "$@"; }

# make_image ROOTFS [NAME [CMD_JSON]]: $D/image.tar, an OCI image layout
# archive of ROOTFS (one uncompressed layer) named NAME (default
# localhost/hull-test:latest) whose command is CMD_JSON (default ["sh"]) and
# whose environment sets PATH as Docker's images do (runc finds no
# executable without it; hull falls back to a default PATH), for `c image
# import`.
make_image() {
	local img=$D/img ld ls cd cs md ms name=${2:-localhost/hull-test:latest} cmd=${3:-'["sh"]'}
	mkdir -p "$img/blobs/sha256"
	blob() {
		local d
		d=$(sha256sum "$1" | cut -d' ' -f1)
		mv "$1" "$img/blobs/sha256/$d"
		echo "$d $(stat -c %s "$img/blobs/sha256/$d")"
	}
	tar -C "$1" -cf "$D/layer.tar" .
	read -r ld ls < <(blob "$D/layer.tar")
	printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$cmd" "$ld" >"$D/cfg"
	read -r cd cs < <(blob "$D/cfg")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$cd" "$cs" "$ld" "$ls" >"$D/man"
	read -r md ms < <(blob "$D/man")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s"}}]}' \
		"$md" "$ms" "$name" >"$img/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$img/oci-layout"
	tar -C "$img" -cf "$D/image.tar" .
}

# containerd_clean: every task killed and deleted, every container removed
# (in $NS): a failed test leaves nothing running for the next one.
containerd_clean() {
	[[ -n ${D:-} ]] || return 0
	local id
	for id in $(c task ls -q 2>/dev/null); do c task kill -s KILL "$id" 2>/dev/null || true; done
	for id in $(c container ls -q 2>/dev/null); do
		c task rm -f "$id" >/dev/null 2>&1 || true
		c container rm "$id" >/dev/null 2>&1 || true
	done
}

# c_wait_stopped ID [SECONDS]: until task ID is STOPPED, or SECONDS (default
# 10) passed: the caller asserts the state.
c_wait_stopped() {
	for _ in $(seq $((${2:-10} * 10))); do c task ls | grep -q "^$1 .*STOPPED" && return 0; sleep 0.1; done
}
