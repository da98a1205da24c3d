// SPDX-License-Identifier: Apache-2.0
/*
 * shim/checkpoint.c: CheckpointTaskRequest's path and options decoded into
 * what `hull checkpoint` takes.  The options are runc's (containerd.runc.v1.
 * CheckpointOptions, runtime/v2/runc/options/oci.proto), which is what
 * containerd's client sends for a checkpoint (`ctr c checkpoint --task`);
 * runc's shim maps them to runc's flags the same way.
 */
#include <limits.h>

#include "shim/internal.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb-c.h"

static const char *const cg_modes[] = { "soft", "full", "strict", "ignore" };

void shim_ckpt_opts_clear(struct shim_ckpt_opts *o)
{
	free(o->cgroups_mode);
	free(o->work_path);
	*o = (struct shim_ckpt_opts){ 0 };
}

static int abs_path(const char *what, const char *p, struct hull_err **err)
{
	if (!*p)
		return hull_err_make(err, 0, "checkpoint: %s is required", what);
	if (p[0] != '/' || strlen(p) >= PATH_MAX)
		return hull_err_make(err, 0, "checkpoint: %s \"%.64s\" is not an absolute path", what, p);
	return 0;
}

int shim_ckpt_opts_decode(const char *path, const Google__Protobuf__Any *any, struct shim_ckpt_opts *o,
			  struct hull_err **err)
{
	Containerd__Runc__V1__CheckpointOptions *c;
	const char *url;
	bool cg_ok = false;
	int r = -1;

	*o = (struct shim_ckpt_opts){ 0 };
	if (abs_path("path", path, err) < 0)
		return -1;
	o->path = path;
	if (!any || !any->type_url || !*any->type_url)
		return 0; /* runc's defaults: leave running, nothing allowed */
	url = strrchr(any->type_url, '/') ? strrchr(any->type_url, '/') + 1 : any->type_url;
	if (strcmp(url, containerd__runc__v1__checkpoint_options__descriptor.name) != 0)
		return hull_err_make(err, 0, "checkpoint: options type %s is not %s", any->type_url,
				     containerd__runc__v1__checkpoint_options__descriptor.name);
	c = containerd__runc__v1__checkpoint_options__unpack(NULL, any->value.len, any->value.data);
	if (!c)
		return hull_err_make(err, 0, "checkpoint: options (%s) do not decode", any->type_url);
	if (c->n_empty_namespaces) {
		/* runc's --empty-ns: hull's checkpoint has no such flag (compat.md). */
		hull_err_make(err, EOPNOTSUPP, "checkpoint: options.empty_namespaces is not supported");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cg_modes); i++)
		cg_ok |= strcmp(c->cgroups_mode, cg_modes[i]) == 0;
	if (*c->cgroups_mode && !cg_ok) {
		hull_err_make(err, 0, "checkpoint: options.cgroups_mode \"%.32s\": expected soft, full, strict or ignore",
			      c->cgroups_mode);
		goto out;
	}
	/* containerd made `path` from image_path for runc's runtimes; any
	 * other image path would be a second place the client expects. */
	if (*c->image_path && strcmp(c->image_path, path) != 0) {
		hull_err_make(err, 0, "checkpoint: options.image_path \"%.64s\" is not the request's path", c->image_path);
		goto out;
	}
	if (*c->work_path && abs_path("options.work_path", c->work_path, err) < 0)
		goto out;
	o->exit = c->exit;
	o->open_tcp = c->open_tcp;
	o->external_unix_sockets = c->external_unix_sockets;
	o->terminal = c->terminal;
	o->file_locks = c->file_locks;
	o->cgroups_mode = *c->cgroups_mode ? xstrdup(c->cgroups_mode) : NULL;
	o->work_path = *c->work_path ? xstrdup(c->work_path) : NULL;
	r = 0;
out:
	containerd__runc__v1__checkpoint_options__free_unpacked(c, NULL);
	return r;
}
