# SPDX-License-Identifier: Apache-2.0
# containerd 1.6's CRI plugin with hull's runtime handlers, for
# testhost/cri.bats: a private containerd (config,
# root, state, sockets under DIR; engines.bash's containerd_launch, in a
# mount namespace of its own) whose CRI plugin has the handlers
#   hull       io.containerd.runc.v2 (containerd's runc shim), BinaryName = hull
#   hull-shim  io.containerd.hull.v2 (containerd-shim-hull-v2, a link to hull
#              on containerd's PATH), isolation=container
#   hull-vm    the same shim with isolation=vm: a pod in one microVM
#   runc       io.containerd.runc.v2 with Debian's runc, to compare with
# every runtime's state under DIR; CNI's bridge + host-local plugins
# (Debian's containernetworking-plugins in /usr/lib/cni) with their
# configuration and IP leases under DIR (libcni's result cache is its
# default, /var/lib/cni/results: go-cni 1.1 has no option for it): the bridge `hullcri0`,
# 10.88.77.0/24.  The bridge is made in the netns containerd runs in, so only
# the test host (or a netns of the caller's own) runs this.  The pod
# sandbox image localhost/hull-pause:latest (sleeps) and the containers'
# localhost/hull-test:latest are imported into the namespace k8s.io from OCI
# archives of the test bundle's rootfs: nothing comes from a registry.
# Pods' netns are bind mounts under containerd's state dir
# (netns_mounts_under_state_dir), never /run/netns.  The caller loads helpers
# and engines first.

CRI_CLIENT=$REPO/tests/cri/cri-client.py
CRI_BRIDGE=hullcri0
CRI_SUBNET=10.88.77
# The pods' cgroup parent (cgroupfs): each container's cgroup is /hull-cri/ID.
CRI_CGROUP=hull-cri

# cri_start DIR: containerd with the CRI plugin, ready to serve CRI calls.
# Sets and exports D, CRI_SOCK.
cri_start() {
	D=$1
	export D CRI_SOCK=$1/c.sock
	local rootfs=${HULL_BUNDLE:-$REPO/build/bundle}
	[[ $rootfs == /* ]] || rootfs=$REPO/$rootfs
	mkdir -p "$D/bin" "$D/cni/net.d" "$D/fifo" "$D/hull-shim-root" "$D/hull-runc-root" "$D/runc-root"
	ln -sf "$RUNTIME" "$D/bin/containerd-shim-hull-v2"
	printf 'isolation = "container"\n' >"$D/shim-container.toml"
	printf 'isolation = "vm"\n' >"$D/shim-vm.toml"
	# CRI_GEN_DIR: cri-client.py's protoc output, once per file
	export CRI_GEN_DIR=$D/cri-gen
	cat >"$D/cni/net.d/10-hullcri.conflist" <<-CONF
	{
	  "cniVersion": "1.0.0",
	  "name": "hullcri",
	  "plugins": [{
	    "type": "bridge", "bridge": "$CRI_BRIDGE", "isGateway": true, "ipMasq": false,
	    "ipam": { "type": "host-local", "dataDir": "$D/cni/ipam",
	      "ranges": [[{ "subnet": "$CRI_SUBNET.0/24" }]] }
	  }]
	}
	CONF
	# The pause container asks for oom_score_adj -998, which needs
	# CAP_SYS_RESOURCE: where root lacks it (this machine; the test host has
	# it) the CRI plugin clamps to its own score, as for rootless kubelets.
	local restrict_oom=false capeff
	capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	(((0x$capeff >> 24) & 1)) || restrict_oom=true
	containerd_config >"$D/config.toml"
	cat >>"$D/config.toml" <<-CONF
	[plugins."io.containerd.grpc.v1.cri"]
	  sandbox_image = "localhost/hull-pause:latest"
	  # no AppArmor profile loaded into the kernel, no SELinux
	  disable_apparmor = true
	  enable_selinux = false
	  netns_mounts_under_state_dir = true
	  restrict_oom_score_adj = $restrict_oom
	  stream_server_address = "127.0.0.1"
	  stream_server_port = "0"
	  [plugins."io.containerd.grpc.v1.cri".cni]
	    bin_dir = "/usr/lib/cni"
	    conf_dir = "$D/cni/net.d"
	  [plugins."io.containerd.grpc.v1.cri".containerd]
	    snapshotter = "overlayfs"
	    default_runtime_name = "hull-shim"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hull]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hull.options]
	        BinaryName = "$RUNTIME"
	        Root = "$D/hull-runc-root"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hull-shim]
	      runtime_type = "io.containerd.hull.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hull-shim.options]
	        ConfigPath = "$D/shim-container.toml"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hull-vm]
	      runtime_type = "io.containerd.hull.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hull-vm.options]
	        ConfigPath = "$D/shim-vm.toml"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
	        BinaryName = "/usr/sbin/runc"
	        Root = "$D/runc-root"
	CONF
	containerd_launch PATH="$D/bin:$PATH" HULL_SHIM_ROOT="$D/hull-shim-root"
	make_image "$rootfs/rootfs" localhost/hull-pause:latest '["sleep","2147483647"]'
	ctr --address "$D/c.sock" -n k8s.io image import "$D/image.tar" >/dev/null
	make_image "$rootfs/rootfs" localhost/hull-test:latest
	ctr --address "$D/c.sock" -n k8s.io image import "$D/image.tar" >/dev/null
	# The CRI service answers once it has initialised (Version fails until then).
	for _ in $(seq 60); do
		cri Version >/dev/null 2>&1 && break
		sleep 1
	done
	cri Version >/dev/null
}

# cri METHOD [JSON]: one CRI call (tests/cri/cri-client.py), its response as JSON.
cri() { /usr/bin/python3 "$CRI_CLIENT" "$CRI_SOCK" "$@"; }

# cri_clean: every pod stopped and removed (a failed test leaves nothing
# running for the next one).
cri_clean() {
	[[ -n ${CRI_SOCK:-} && -S $CRI_SOCK ]] || return 0
	local id
	for id in $(cri ListPodSandbox 2>/dev/null | jq -r '.items[]?.id'); do
		cri StopPodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null 2>&1 || true
		cri RemovePodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null 2>&1 || true
	done
}

# cri_teardown: in teardown_file.
cri_teardown() {
	[[ -f ${D:-}/containerd.pid ]] || return 0
	cri_clean
	containerd_stop
	local pid
	for pid in $(pgrep -f -- "-address $D/c.sock"); do kill -KILL "$pid" || true; done
	# the pods' cgroup parent (v2 in the test host; each v1 hierarchy elsewhere)
	rmdir /sys/fs/cgroup/"$CRI_CGROUP"/*/ /sys/fs/cgroup/{,*/}"$CRI_CGROUP" 2>/dev/null || true
	ip link del "$CRI_BRIDGE" 2>/dev/null || true
}
