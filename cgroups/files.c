/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw controller files, written as given (`hull jail --cgroup FILE=VALUE`,
 * as Firecracker's jailer takes them): the cgroup a jailed VMM runs in.  A
 * file's controller is its name up to the first '.', and the hierarchy that
 * serves that controller gets the file: its v1 hierarchy on a v1 or hybrid
 * host, else cgroup2, where the controller is enabled like a limit's.
 */
#include "internal.h"

/* The controller of a file name, or NULL when the name is not CTRL.FILE. */
static char *file_ctrl(const char *key)
{
	const char *dot = strchr(key, '.');

	if (!dot || dot == key || !dot[1] || strchr(key, '/'))
		return NULL;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
			return NULL;
	return xstrndup(key, (size_t)(dot - key));
}

/* Where a controller's files go: the V1_* index (>= 0), -1 for cgroup2, -2
 * for no hierarchy on this host. */
static int ctrl_home(const struct cg_layout *l, const char *ctrl)
{
	int i = v1_ctrl_index(ctrl);

	if (i >= 0 && cg_ctrl_is_v1(l, i))
		return i;
	if (l->unified && (strcmp(ctrl, "cgroup") == 0 || cg_v2_has_controller(l, ctrl)))
		return -1;
	return -2;
}

int cg_files_check(const struct cg_layout *l, const struct cgroups_cfg *cfg, struct hull_err **err)
{
	for (size_t i = 0; i < cfg->n_files; i++) {
		const struct oci_kv *f = &cfg->files[i];
		_cleanup_free_ char *ctrl = file_ctrl(f->key);

		if (!ctrl)
			return hull_err_make(err, 0, "cgroup file \"%s\": not CONTROLLER.FILE", f->key);
		if (strchr(f->value, '\n'))
			return hull_err_make(err, 0, "cgroup file \"%s\": the value contains a newline", f->key);
		if (ctrl_home(l, ctrl) == -2)
			return hull_err_make(err, 0, "cgroup file \"%s\": no hierarchy on this host has the "
					     "\"%s\" controller", f->key, ctrl);
	}
	return 0;
}

/* cgroup2's controllers (Documentation/admin-guide/cgroup-v2.rst). */
static const char *const v2_names[] = { "cpu", "cpuset", "io", "memory", "hugetlb", "pids", "rdma", "misc" };

size_t cg_files_needed(const struct cg_layout *l, const struct cgroups_cfg *cfg, const char **need, size_t n,
		       size_t max)
{
	for (size_t i = 0; i < cfg->n_files && n < max; i++) {
		_cleanup_free_ char *ctrl = file_ctrl(cfg->files[i].key);
		size_t j;

		if (!ctrl || strcmp(ctrl, "cgroup") == 0 || ctrl_home(l, ctrl) != -1)
			continue;
		for (j = 0; j < n && strcmp(need[j], ctrl) != 0; j++)
			;
		if (j < n)
			continue;
		/* need[] holds static strings */
		for (size_t t = 0; t < ARRAY_SIZE(v2_names); t++)
			if (strcmp(v2_names[t], ctrl) == 0)
				need[n++] = v2_names[t];
	}
	return n;
}

int cg_files_apply(const struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg,
		   struct hull_err **err)
{
	for (size_t i = 0; i < cfg->n_files; i++) {
		const struct oci_kv *f = &cfg->files[i];
		_cleanup_free_ char *ctrl = file_ctrl(f->key);
		int home = ctrl ? ctrl_home(l, ctrl) : -2;
		const char *dir = home >= 0 ? cg->v1[home] : home == -1 ? cg->unified : NULL;

		if (!dir)
			return hull_err_make(err, 0, "cgroup file \"%s\": no hierarchy for it", f->key);
		if (!cg_exists(dir, f->key))
			return hull_err_make(err, ENOENT, "cgroup file \"%s\": no such file in %s", f->key, dir);
		if (cg_write(dir, f->key, f->value, err) < 0)
			return hull_err_wrap(err, "cgroup file \"%s\"", f->key);
	}
	return 0;
}
