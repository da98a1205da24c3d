/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create and run of a VM-isolated container.  The checks come first, in the
 * order a caller sees their errors, and none of them makes anything: the
 * bundle as the container path checks it, the VM's size, the guest's view
 * of the config, then the host (no /dev/kvm, PVM).
 */
#include "vmcontainer/vmcontainer.h"
#include "microvm/microvm.h"

/* Everything create needs to know before it makes anything. */
struct vmc_plan {
	struct runtime_bundle b;
	struct vmc_size size;
	char *guest_config;
	struct vmc_share *shares;
	size_t n_shares;
};

static void plan_free(struct vmc_plan *p)
{
	runtime_bundle_free(&p->b);
	free(p->guest_config);
	vmcontainer_shares_free(p->shares, p->n_shares);
	*p = (struct vmc_plan){ 0 };
}

static int plan(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
		struct vmc_plan *p, struct hull_err **err)
{
	*p = (struct vmc_plan){ 0 };
	if (runtime_bundle_check(ctx, o, foreground, &p->b, err) < 0)
		return -1;
	if (vmcontainer_size(p->b.spec, &p->size, err) < 0 ||
	    vmcontainer_rewrite_config(p->b.config, p->b.config_len, p->b.dir, &p->guest_config, &p->shares,
				       &p->n_shares, err) < 0)
		goto fail;
	hull_debug("create %s: VM isolation, %u vCPUs, %llu MiB, %zu shares", o->id, p->size.cpus,
		   (unsigned long long)p->size.mem_mib, p->n_shares);
	if (microvm_check_host(err) < 0) {
		hull_err_wrap(err, "VM isolation");
		goto fail;
	}
	return 0;
fail:
	plan_free(p);
	return -1;
}

static int create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
		  struct hull_err **err)
{
	struct vmc_plan p;

	if (plan(ctx, o, foreground, &p, err) < 0)
		return -1;
	plan_free(&p);
	/* The supervisor (file server, VMM, agent connection) lands with the
	 * guest side; until then a host that could boot a guest says so. */
	return hull_err_make(err, 0, "VM isolation: this build cannot start a VM-isolated container yet");
}

int vmcontainer_create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, struct hull_err **err)
{
	return create(ctx, o, false, err);
}

int vmcontainer_run(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, int *status,
		    struct hull_err **err)
{
	*status = 0;
	return create(ctx, o, !o->detach, err);
}
