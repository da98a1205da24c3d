/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmcontainer/vmcontainer.h: the host side of VM-isolated containers (issue
 * 11, docs/vm-containers.md): which isolation a container gets, the VM's
 * size, the bundle's config.json as the guest's hull sees it, and the runc
 * lifecycle of a container whose processes run in a microVM.
 */
#ifndef HULL_VMCONTAINER_H
#define HULL_VMCONTAINER_H

#include "common/common.h"
#include "oci/oci.h"
#include "runtime/runtime.h"

#define VMC_ANN_ISOLATION "org.hull.isolation"
#define VMC_ANN_CPUS "org.hull.vm.cpus"
#define VMC_ANN_MEMORY "org.hull.vm.memory"
/* "on" / "off": vhost-net for the container's NICs (default: when it opens) */
#define VMC_ANN_VHOST "org.hull.vm.vhost"
#define VMC_ANN_DEVICES "org.hull.vm.devices"
/* The name of the link that asks for VM isolation (make install makes it). */
#define VMC_ARGV0 "hull-vm"

/* RAM the guest gets beyond linux.resources.memory.limit: the guest kernel,
 * its page cache and the agent; and the whole RAM without a limit. */
#define VMC_MEM_MARGIN_MIB 256u
#define VMC_MEM_DEFAULT_MIB 256u
#define VMC_MEM_MIN_MIB 64u
#define VMC_MEM_MAX_MIB (1024u * 1024u)
/* Where the agent mounts the file server's tree (tag "hull") in the guest. */
#define VMC_GUEST_SHARE "/run/share"

enum vmc_isolation { VMC_ISOLATION_UNSET = 0, VMC_ISOLATION_CONTAINER, VMC_ISOLATION_VM };

/* "vm" or "container" (what names the value in the error: "--isolation"). */
int vmcontainer_isolation_parse(const char *s, const char *what, enum vmc_isolation *out, struct hull_err **err);
/* VMC_ISOLATION_VM when argv0's basename is hull-vm, else UNSET. */
enum vmc_isolation vmcontainer_isolation_argv0(const char *argv0);
/*
 * The isolation of one container from the command line's choice (the
 * --isolation flag, else the binary's name; UNSET: neither) and the spec's
 * org.hull.isolation annotation.  The stronger wins: any of them asking for
 * a VM gives a VM, so a container's annotation cannot weaken what the
 * operator chose with the runtime's name (containerd's BinaryName, podman's
 * --runtime), and the other way round.  A bad annotation value is an error
 * naming the annotation.
 */
int vmcontainer_isolation_choose(enum vmc_isolation cmdline, const struct oci_spec *spec, bool *vm,
				 struct hull_err **err);
/* The same from the config.json text, parsed only when it mentions the
 * annotation (the container path pays no second parse). */
int vmcontainer_isolation_of_config(enum vmc_isolation cmdline, const char *config, size_t len, bool *vm,
				    struct hull_err **err);
/* The same for the bundle's config.json; one that cannot be read is the
 * create path's error to report (*vm then follows cmdline alone). */
int vmcontainer_isolation_of_bundle(enum vmc_isolation cmdline, const char *bundle, bool *vm,
				    struct hull_err **err);

struct vmc_size {
	unsigned int cpus;
	uint64_t mem_mib;
};
/*
 * vCPUs = ceil(cpu.quota / cpu.period) (period 100000 when unset; 1 without
 * a quota), at most MICROVM_MAX_CPUS; RAM = ceil(memory.limit in MiB) +
 * VMC_MEM_MARGIN_MIB, VMC_MEM_DEFAULT_MIB without a limit.  The annotations
 * org.hull.vm.cpus (1..MICROVM_MAX_CPUS) and org.hull.vm.memory (MiB, or
 * with an M/MiB/G/GiB suffix; VMC_MEM_MIN_MIB..VMC_MEM_MAX_MIB) override.
 */
int vmcontainer_size(const struct oci_spec *spec, struct vmc_size *out, struct hull_err **err);

/* org.hull.vm.devices ("vfio=BDF[,vfio=BDF]..."): the PCI functions passed
 * through to the VM, each checked with vfio_passthrough_check against h's
 * sysfs; none without the annotation.  *out is freed with
 * vmcontainer_devices_free. */
struct vm_vfio;
struct vfio_host;
int vmcontainer_devices(const struct oci_spec *spec, const struct vfio_host *h, struct vm_vfio **out,
			unsigned int *n, struct hull_err **err);
void vmcontainer_devices_free(struct vm_vfio *v, unsigned int n);

/* One host path the file server exports: `--mount NAME=SOURCE[,ro]`, seen
 * in the guest at VMC_GUEST_SHARE/NAME. */
struct vmc_share {
	char *name;
	char *source;               /* absolute host path */
	bool ro;
};
void vmcontainer_shares_free(struct vmc_share *v, size_t n);

/*
 * The guest's config.json: root.path is VMC_GUEST_SHARE/rootfs, each bind
 * mount's source (relative ones against bundle_dir) becomes a share
 * VMC_GUEST_SHARE/mN (N: its index in mounts[]) and is listed in *shares;
 * namespace paths are dropped (host namespaces do not exist in the guest; a
 * network namespace given by path goes entirely: the container shares the
 * guest's, into which vmcontainer/net.c mirrors the host one's links),
 * so are the hooks the host runs (all but createContainer and
 * startContainer; createContainer's path is made to resolve in the rootfs), and
 * org.hull.isolation is "container" so the guest's hull does not recurse.
 * Everything else stays as it was, for the guest's hull to apply.
 */
int vmcontainer_rewrite_config(const char *config, size_t len, const char *bundle_dir, char **out,
			       struct vmc_share **shares, size_t *n_shares, struct hull_err **err);

/*
 * The VM-isolated create (and run: create + start + wait, *status the
 * container's exit code).  What runtime_create does for a container, up to
 * the point where the VM must boot; the checks in the order a caller sees
 * them: id, bundle (the container path's errors), sizing annotations, the
 * host (no /dev/kvm, PVM), the guest image.  Nothing is left behind on error.
 */
int vmcontainer_create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, struct hull_err **err);
int vmcontainer_run(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, int *status,
		    struct hull_err **err);

/* What runtime/ hands over for a VM-isolated container (cli/ sets
 * runtime_ctx.vm to it): start, kill, ps and exec through the guest's agent. */
extern const struct runtime_vm_ops vmcontainer_ops;

#endif
