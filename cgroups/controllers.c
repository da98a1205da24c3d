/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controllers hull drives, one row each: its cgroup2 name, its v1
 * hierarchy, whether linux.resources asks for it, how it writes them on
 * each version, and its part of `hull events --stats`.  Adding a controller
 * is one row; rows apply in table order (cpuset first: a cpuset must be
 * populated before tasks may enter, runc's order after it).
 */
#include "cgroups/internal.h"

#include <inttypes.h>

#define F "linux.resources."

static bool need_cpuset(const struct oci_resources *r)
{
	return r->cpu.cpus || r->cpu.mems;
}

static bool need_memory(const struct oci_resources *r)
{
	return r->memory.has_limit || r->memory.has_reservation || r->memory.has_swap;
}

static bool need_cpu(const struct oci_resources *r)
{
	return r->cpu.has_shares || r->cpu.has_quota || r->cpu.has_period || r->cpu.has_burst ||
	       r->cpu.has_idle;
}

static bool need_pids(const struct oci_resources *r)
{
	return r->pids.has_limit;
}

static bool need_io(const struct oci_resources *r)
{
	const typeof(r->block_io) *b = &r->block_io;
	return b->has_weight || b->n_weight_device || b->n_throttle_read_bps || b->n_throttle_write_bps ||
	       b->n_throttle_read_iops || b->n_throttle_write_iops;
}

static bool need_hugetlb(const struct oci_resources *r)
{
	return r->n_hugepage_limits > 0;
}

static bool need_rdma(const struct oci_resources *r)
{
	return r->n_rdma > 0;
}

/* cpuset.cpus and cpuset.mems have the same names on both versions. */
static int cpuset_write(const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	if (r->cpu.cpus && cg_write(dir, "cpuset.cpus", r->cpu.cpus, err) < 0)
		return -1;
	if (r->cpu.mems && cg_write(dir, "cpuset.mems", r->cpu.mems, err) < 0)
		return -1;
	return 0;
}

static int v1_cpuset(const struct cgroup *cg, const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	return cpuset_write(dir, r, err);
}

static int v2_memory(const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	return need_memory(r) ? cg_v2_memory(dir, r, err) : 0;
}

/* runc: 0 leaves pids.max alone, -1 is "max"; the same file on both versions. */
static int v2_pids(const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	_cleanup_free_ char *v = NULL;

	if (!r->pids.has_limit || r->pids.limit == 0)
		return 0;
	v = cg_num_or_max(r->pids.limit);
	return cg_write(dir, "pids.max", v, err);
}

static int v1_pids(const struct cgroup *cg, const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	return v2_pids(dir, r, err);
}

static int v1_hugetlb(const struct cgroup *cg, const char *dir, const struct oci_resources *r,
		      struct hull_err **err)
{
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		_cleanup_free_ char *f = xasprintf("hugetlb.%s.limit_in_bytes", r->hugepage_limits[i].page_size);
		if (cg_writef(dir, f, err, "%" PRIu64, r->hugepage_limits[i].limit) < 0)
			return -1;
	}
	return 0;
}

static int v1_net_cls(const struct cgroup *cg, const char *dir, const struct oci_resources *r,
		      struct hull_err **err)
{
	if (r->network.has_class_id && cg_writef(dir, "net_cls.classid", err, "%u", r->network.class_id) < 0)
		return -1;
	return 0;
}

static int v1_net_prio(const struct cgroup *cg, const char *dir, const struct oci_resources *r,
		       struct hull_err **err)
{
	for (size_t i = 0; i < r->network.n_priorities; i++)
		if (cg_writef(dir, "net_prio.ifpriomap", err, "%s %u", r->network.priorities[i].name,
			      r->network.priorities[i].priority) < 0)
			return -1;
	return 0;
}

/* rdma.max has the same name and syntax on both versions. */
static int v2_rdma(const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	for (size_t i = 0; i < r->n_rdma; i++) {
		const struct oci_rdma_limit *d = &r->rdma[i];
		_cleanup_free_ char *h = d->has_handles ? xasprintf(" hca_handle=%u", d->hca_handles) : xstrdup("");
		_cleanup_free_ char *o = d->has_objects ? xasprintf(" hca_object=%u", d->hca_objects) : xstrdup("");
		if (!d->has_handles && !d->has_objects)
			continue;
		if (cg_writef(dir, "rdma.max", err, "%s%s%s", d->device, h, o) < 0)
			return -1;
	}
	return 0;
}

static int v1_rdma(const struct cgroup *cg, const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	return v2_rdma(dir, r, err);
}

const struct cg_controller cg_controllers[] = {
	{ "cpuset", V1_CPUSET, need_cpuset, cpuset_write, v1_cpuset, NULL, NULL },
	{ "memory", V1_MEMORY, need_memory, v2_memory, cg_v1_memory, "memory", cg_stats_memory },
	{ "cpu", V1_CPU, need_cpu, cg_v2_cpu, cg_v1_cpu, "cpu", cg_stats_cpu },
	{ "pids", V1_PIDS, need_pids, v2_pids, v1_pids, "pids", cg_stats_pids },
	{ "io", V1_BLKIO, need_io, cg_v2_io, cg_v1_blkio, "blkio", cg_stats_blkio },
	{ "hugetlb", V1_HUGETLB, need_hugetlb, cg_v2_hugetlb, v1_hugetlb, "hugetlb", cg_stats_hugetlb },
	/* v1 only: cgroup2 has no network controllers (cg_apply_v2 warns). */
	{ NULL, V1_NET_CLS, NULL, NULL, v1_net_cls, NULL, NULL },
	{ NULL, V1_NET_PRIO, NULL, NULL, v1_net_prio, NULL, NULL },
	{ "rdma", V1_RDMA, need_rdma, v2_rdma, v1_rdma, NULL, NULL },
};
const size_t cg_n_controllers = ARRAY_SIZE(cg_controllers);

size_t cg_v2_needed(const struct cg_layout *l, const struct oci_resources *r, const char **out, size_t max)
{
	size_t n = 0;

	if (!r)
		return 0;
	for (size_t t = 0; t < cg_n_controllers && n < max; t++) {
		const struct cg_controller *c = &cg_controllers[t];
		size_t len = c->v2 ? strlen(c->v2) : 0;
		bool want;

		if (!c->v2 || cg_ctrl_is_v1(l, c->v1))
			continue;
		want = c->needed(r);
		/* A unified key "<controller>.<file>" needs its controller too. */
		for (size_t i = 0; i < r->n_unified && !want; i++)
			want = strncmp(r->unified[i].key, c->v2, len) == 0 && r->unified[i].key[len] == '.';
		if (want)
			out[n++] = c->v2;
	}
	return n;
}

int cg_apply_v2(const struct cg_layout *l, const char *dir, const struct oci_resources *r,
		struct hull_err **err)
{
	if (!r)
		return 0;
	for (size_t t = 0; t < cg_n_controllers; t++) {
		const struct cg_controller *c = &cg_controllers[t];
		if (c->apply_v2 && !cg_ctrl_is_v1(l, c->v1) && c->apply_v2(dir, r, err) < 0)
			return -1;
	}
	if ((r->network.has_class_id || r->network.n_priorities) && l->mode == CG_V2)
		hull_warn("linux.resources.network: ignored on cgroup v2");
	for (size_t i = 0; i < r->n_unified; i++) {
		const struct oci_kv *kv = &r->unified[i];
		if (!cg_exists(dir, kv->key))
			return hull_err_make(err, ENOENT, F "unified.\"%s\": no such file in %s", kv->key, dir);
		if (cg_write(dir, kv->key, kv->value, err) < 0)
			return hull_err_wrap(err, F "unified.\"%s\"", kv->key);
	}
	return 0;
}

int cg_apply_v1(const struct cgroup *cg, const struct oci_resources *r, struct hull_err **err)
{
	if (!r)
		return 0;
	for (size_t t = 0; t < cg_n_controllers; t++) {
		const struct cg_controller *c = &cg_controllers[t];
		const char *d = cg->v1[c->v1];
		if (d && c->apply_v1(cg, d, r, err) < 0)
			return -1;
	}
	return 0;
}
