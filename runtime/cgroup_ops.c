/* SPDX-License-Identifier: Apache-2.0 */
/* pause, resume, update and events: operations on a container's cgroup. */
#include "internal.h"

/* Open a live container and its cgroup; "not running" and "no cgroup" are errors. */
static int open_cg(const struct runtime_ctx *ctx, const char *id, bool need_running, struct container **c,
		   struct cgroup **cg, struct hull_err **err)
{
	enum oci_status st;

	if (container_open(ctx, id, c, err) < 0)
		return -1;
	st = container_status(*c);
	if (need_running && st != OCI_STATUS_RUNNING && st != OCI_STATUS_PAUSED && st != OCI_STATUS_CREATED) {
		hull_err_make(err, 0, "container \"%s\" is not running", id);
		goto fail;
	}
	if (container_cgroup(*c, cg, err) < 0)
		goto fail;
	if (!*cg) {
		hull_err_make(err, 0, "container \"%s\" has no cgroup (--cgroup-manager=disabled)", id);
		goto fail;
	}
	return 0;
fail:
	container_free(*c);
	*c = NULL;
	return -1;
}

int runtime_pause(const struct runtime_ctx *ctx, const char *id, bool pause, struct hull_err **err)
{
	struct container *c;
	struct cgroup *cg;
	enum oci_status st;
	int r = -1;

	if (open_cg(ctx, id, true, &c, &cg, err) < 0)
		return -1;
	st = container_status(c);
	/* KVM attaches its per-VM kernel thread (kvm-nx-lpage-recovery) to the
	 * VMM's cgroup; kernel threads never freeze, so cgroup v2 never reports
	 * "frozen 1" although every VMM thread stops.  Refuse rather than wait
	 * for a state that cannot come (docs/vm-containers.md). */
	if (c->vm)
		hull_err_make(err, ENOTSUP, "container \"%s\" is VM-isolated: %s is not supported yet "
			      "(KVM's kernel thread in its cgroup never freezes)", id, pause ? "pause" : "resume");
	else if (pause && st != OCI_STATUS_RUNNING)
		hull_err_make(err, 0, "container \"%s\" is %s, not running", id, oci_status_names[st]);
	else if (!pause && st != OCI_STATUS_PAUSED)
		hull_err_make(err, 0, "container \"%s\" is %s, not paused", id, oci_status_names[st]);
	else
		r = cgroups_freeze(cg, pause, err);
	container_free(c);
	return r;
}

int runtime_update(const struct runtime_ctx *ctx, const char *id, const struct oci_resources *r,
		   struct hull_err **err)
{
	struct container *c;
	struct cgroup *cg;
	int ret;

	if (cgroups_validate(r, NULL, false, err) < 0)
		return -1;
	if (open_cg(ctx, id, true, &c, &cg, err) < 0)
		return -1;
	hull_test_pause("update-locked");
	if (c->vm)
		ret = vm_ops(ctx, err) ? ctx->vm->update(ctx, c, r, err) : -1;
	else
		ret = cgroups_update(cg, r, err);
	container_free(c);
	return ret;
}

int runtime_stats_json(const struct runtime_ctx *ctx, const char *id, char **json, struct hull_err **err)
{
	struct container *c;
	struct cgroup *cg;
	int r;

	if (open_cg(ctx, id, true, &c, &cg, err) < 0)
		return -1;
	if (c->vm)
		r = vm_ops(ctx, err) ? ctx->vm->stats(ctx, c, json, err) : -1;
	else
		r = cgroups_stats_json(cg, json, err);
	container_free(c);
	return r;
}

int runtime_oom_count(const struct runtime_ctx *ctx, const char *id, uint64_t *count, struct hull_err **err)
{
	struct container *c;
	struct cgroup *cg;
	int r;

	if (open_cg(ctx, id, false, &c, &cg, err) < 0)
		return -1;
	r = cgroups_oom_count(cg, count, err);
	container_free(c);
	return r;
}

int runtime_oom_watch(const struct runtime_ctx *ctx, const char *id, int *fd, uint64_t *count,
		      struct hull_err **err)
{
	struct container *c;
	struct cgroup *cg;
	int r;

	if (open_cg(ctx, id, true, &c, &cg, err) < 0)
		return -1;
	r = cgroups_oom_fd(cg, fd, err);
	if (r == 0)
		r = cgroups_oom_count(cg, count, err);
	container_free(c);
	return r;
}
