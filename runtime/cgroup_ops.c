/* SPDX-License-Identifier: Apache-2.0 */
/* pause, resume, update and events: operations on a container's cgroup. */
#include "internal.h"

/* Open a live container and its cgroup; "not running" and "no cgroup" are
 * errors, but for a VM-isolated container, whose update, stats and OOM count
 * are the guest's (its agent's): a pod's container in its sandbox's VM has
 * no host cgroup (*cg NULL then). */
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
	if (!*cg && !(*c)->vm) {
		hull_err_make(err, 0, "container \"%s\" has no cgroup (--cgroup-manager=disabled)", id);
		goto fail;
	}
	return 0;
fail:
	container_free(*c);
	*c = NULL;
	return -1;
}

/*
 * A VM-isolated container: the host cgroup's freezer stops the VMM's threads,
 * so the vCPUs and the whole guest (its payload sub-cgroup, apart from KVM's
 * kernel thread: cgroups_vm_split).  The guest's stats are kept first, for
 * `events --stats` while its agent cannot answer; without them (the agent
 * failed) events --stats is refused until resume.
 */
static int pause_vm(const struct runtime_ctx *ctx, struct container *c, struct cgroup *cg, struct hull_err **err)
{
	_cleanup_free_ char *json = NULL;

	if (vm_ops(ctx, NULL) && ctx->vm->stats(ctx, c, &json, NULL) == 0 &&
	    write_file_atomic_at(c->dir_fd, VM_PAUSED_STATS, json, strlen(json), 0600, err) < 0)
		return -1;
	if (cgroups_freeze(cg, true, err) < 0) {
		(void)unlinkat(c->dir_fd, VM_PAUSED_STATS, 0);
		return -1;
	}
	return 0;
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
	if (pause && st != OCI_STATUS_RUNNING)
		hull_err_make(err, 0, "container \"%s\" is %s, not running", id, oci_status_names[st]);
	else if (!pause && st != OCI_STATUS_PAUSED)
		hull_err_make(err, 0, "container \"%s\" is %s, not paused", id, oci_status_names[st]);
	else if (!cg)
		hull_err_make(err, 0, "container \"%s\" has no host cgroup to freeze (a pod's container in its "
			      "sandbox's VM: pause the sandbox; or --cgroup-manager=disabled)", id);
	else if (c->vm && pause)
		r = pause_vm(ctx, c, cg, err);
	else
		r = cgroups_freeze(cg, pause, err);
	/* A VM's stats are the guest's again. */
	if (r == 0 && c->vm && !pause && unlinkat(c->dir_fd, VM_PAUSED_STATS, 0) < 0 && errno != ENOENT)
		r = hull_err_make(err, errno, "unlink %s/%s", c->dir, VM_PAUSED_STATS);
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
		ret = vm_guest(ctx, c, err) ? ctx->vm->update(ctx, c, r, err) : -1;
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
	if (c->vm && container_status(c) == OCI_STATUS_PAUSED &&
	    read_file_at(c->dir_fd, VM_PAUSED_STATS, json, NULL, 0, NULL) == 0)
		r = 0;
	else if (c->vm)
		r = vm_guest(ctx, c, err) ? ctx->vm->stats(ctx, c, json, err) : -1;
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
	if (c->vm)
		r = vm_ops(ctx, err) ? ctx->vm->oom(ctx, c, NULL, count, err) : -1;
	else
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

	/* A VM's watch that turned readable carries the count of a container
	 * that may be ending: read it all the same. */
	if (open_cg(ctx, id, *fd < 0, &c, &cg, err) < 0)
		return -1;
	if (c->vm) {
		r = vm_ops(ctx, err) ? ctx->vm->oom(ctx, c, fd, count, err) : -1;
		container_free(c);
		return r;
	}
	r = cgroups_oom_fd(cg, fd, err);
	if (r == 0)
		r = cgroups_oom_count(cg, count, err);
	container_free(c);
	return r;
}
