/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources (config-linux.md "Control groups"), also the document of
 * `update --resources FILE`.  Values are kept raw with their spec signedness;
 * cgroups/ checks ranges against what the controller accepts.
 */
#include "oci/internal.h"

/* An optional field: records presence in *has and passes the getter's result on. */
static int opt(int r, bool *has)
{
	if (r >= 0)
		*has = r > 0;
	return r;
}

static int parse_device_rule(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_device_rule *d = (struct oci_device_rule *)base + i;
	_cleanup_free_ char *type = NULL;
	int r;

	r = j_bool(o, "allow", p, &d->allow, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "allow", err);
	r = j_str(o, "type", p, &type, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (strlen(type) != 1 || !strchr("abc", type[0]))
			return hull_err_make(err, 0, "%s.type: unknown device type \"%s\" (want a, b or c)",
					     p, type);
		d->type = type[0];
	}
	if (opt(j_i64(o, "major", p, &d->major, err), &d->has_major) < 0)
		return -1;
	if (opt(j_i64(o, "minor", p, &d->minor, err), &d->has_minor) < 0)
		return -1;
	if (j_str(o, "access", p, &d->access, err) < 0)
		return -1;
	if (d->access && d->access[strspn(d->access, "rwm")] != '\0')
		return hull_err_make(err, 0, "%s.access: \"%s\" is not a subset of \"rwm\"", p, d->access);
	return 0;
}

static int parse_memory(jobj *res, const char *path, struct oci_resources *out, struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	int r;

	r = j_field(res, "memory", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "memory");
	if (opt(j_i64(o, "limit", p, &out->memory.limit, err), &out->memory.has_limit) < 0)
		return -1;
	if (opt(j_i64(o, "reservation", p, &out->memory.reservation, err),
		&out->memory.has_reservation) < 0)
		return -1;
	if (opt(j_i64(o, "swap", p, &out->memory.swap, err), &out->memory.has_swap) < 0)
		return -1;
	if (opt(j_i64(o, "kernel", p, &out->memory.kernel, err), &out->memory.has_kernel) < 0)
		return -1;
	if (opt(j_i64(o, "kernelTCP", p, &out->memory.kernel_tcp, err),
		&out->memory.has_kernel_tcp) < 0)
		return -1;
	if (opt(j_u64(o, "swappiness", p, &out->memory.swappiness, err),
		&out->memory.has_swappiness) < 0)
		return -1;
	if (opt(j_bool(o, "disableOOMKiller", p, &out->memory.disable_oom_killer, err),
		&out->memory.has_disable_oom_killer) < 0)
		return -1;
	if (opt(j_bool(o, "useHierarchy", p, &out->memory.use_hierarchy, err),
		&out->memory.has_use_hierarchy) < 0)
		return -1;
	if (opt(j_bool(o, "checkBeforeUpdate", p, &out->memory.check_before_update, err),
		&out->memory.has_check_before_update) < 0)
		return -1;
	return 0;
}

static int parse_cpu(jobj *res, const char *path, struct oci_resources *out, struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	int r;

	r = j_field(res, "cpu", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "cpu");
	if (opt(j_u64(o, "shares", p, &out->cpu.shares, err), &out->cpu.has_shares) < 0)
		return -1;
	if (opt(j_i64(o, "quota", p, &out->cpu.quota, err), &out->cpu.has_quota) < 0)
		return -1;
	if (opt(j_u64(o, "burst", p, &out->cpu.burst, err), &out->cpu.has_burst) < 0)
		return -1;
	if (opt(j_u64(o, "period", p, &out->cpu.period, err), &out->cpu.has_period) < 0)
		return -1;
	if (opt(j_i64(o, "realtimeRuntime", p, &out->cpu.realtime_runtime, err),
		&out->cpu.has_realtime_runtime) < 0)
		return -1;
	if (opt(j_u64(o, "realtimePeriod", p, &out->cpu.realtime_period, err),
		&out->cpu.has_realtime_period) < 0)
		return -1;
	if (opt(j_i64(o, "idle", p, &out->cpu.idle, err), &out->cpu.has_idle) < 0)
		return -1;
	if (j_str(o, "cpus", p, &out->cpu.cpus, err) < 0 || j_str(o, "mems", p, &out->cpu.mems, err) < 0)
		return -1;
	return 0;
}

static int parse_pids(jobj *res, const char *path, struct oci_resources *out, struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	int r;

	r = j_field(res, "pids", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "pids");
	if (opt(j_i64(o, "limit", p, &out->pids.limit, err), &out->pids.has_limit) < 0)
		return -1;
	return 0;
}

/* {major, minor} shared by weightDevice and the throttle lists. */
static int parse_major_minor(jobj *o, const char *p, int64_t *major, int64_t *minor,
			     struct hull_err **err)
{
	int r;

	r = j_i64(o, "major", p, major, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "major", err);
	r = j_i64(o, "minor", p, minor, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "minor", err);
	return 0;
}

static int parse_throttle_device(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_throttle_device *t = (struct oci_throttle_device *)base + i;
	int r;

	if (parse_major_minor(o, p, &t->major, &t->minor, err) < 0)
		return -1;
	r = j_u64(o, "rate", p, &t->rate, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "rate", err);
	return 0;
}

static int parse_weight_device(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_weight_device *w = (struct oci_weight_device *)base + i;

	if (parse_major_minor(o, p, &w->major, &w->minor, err) < 0 ||
	    opt(j_u16(o, "weight", p, &w->weight, err), &w->has_weight) < 0 ||
	    opt(j_u16(o, "leafWeight", p, &w->leaf_weight, err), &w->has_leaf_weight) < 0)
		return -1;
	return 0;
}

static int parse_throttle(jobj *bio, const char *path, const char *key,
			  struct oci_throttle_device **out, size_t *n, struct hull_err **err)
{
	void *base = NULL;
	int r = j_objects(bio, key, path, sizeof(**out), &base, n, parse_throttle_device, err);

	*out = base;
	return r;
}

static int parse_block_io(jobj *res, const char *path, struct oci_resources *out,
			  struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	void *wd = NULL;
	int r;

	r = j_field(res, "blockIO", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "blockIO");
	if (opt(j_u16(o, "weight", p, &out->block_io.weight, err), &out->block_io.has_weight) < 0)
		return -1;
	if (opt(j_u16(o, "leafWeight", p, &out->block_io.leaf_weight, err),
		&out->block_io.has_leaf_weight) < 0)
		return -1;
	r = j_objects(o, "weightDevice", p, sizeof(*out->block_io.weight_device), &wd,
		      &out->block_io.n_weight_device, parse_weight_device, err);
	out->block_io.weight_device = wd;
	if (r < 0)
		return -1;
	if (parse_throttle(o, p, "throttleReadBpsDevice", &out->block_io.throttle_read_bps,
			   &out->block_io.n_throttle_read_bps, err) < 0 ||
	    parse_throttle(o, p, "throttleWriteBpsDevice", &out->block_io.throttle_write_bps,
			   &out->block_io.n_throttle_write_bps, err) < 0 ||
	    parse_throttle(o, p, "throttleReadIOPSDevice", &out->block_io.throttle_read_iops,
			   &out->block_io.n_throttle_read_iops, err) < 0 ||
	    parse_throttle(o, p, "throttleWriteIOPSDevice", &out->block_io.throttle_write_iops,
			   &out->block_io.n_throttle_write_iops, err) < 0)
		return -1;
	return 0;
}

static int parse_hugepage(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_hugepage_limit *h = (struct oci_hugepage_limit *)base + i;
	int r;

	r = j_str(o, "pageSize", p, &h->page_size, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "pageSize", err);
	r = j_u64(o, "limit", p, &h->limit, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "limit", err);
	return 0;
}

static int parse_rdma(jobj *res, const char *path, struct oci_resources *out, struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX], pk[JP_MAX];
	int r;

	r = j_field(res, "rdma", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "rdma");
	out->rdma = xcalloc((size_t)json_object_object_length(o) + 1, sizeof(*out->rdma));
	json_object_object_foreach(o, dev, val) {
		struct oci_rdma_limit *l = &out->rdma[out->n_rdma];

		jp_key(pk, p, dev);
		if (j_expect(val, json_type_object, pk, err) < 0)
			return -1;
		l->device = xstrdup(dev);
		out->n_rdma++;
		if (opt(j_u32(val, "hcaHandles", pk, &l->hca_handles, err), &l->has_handles) < 0)
			return -1;
		if (opt(j_u32(val, "hcaObjects", pk, &l->hca_objects, err), &l->has_objects) < 0)
			return -1;
	}
	return 0;
}

static int parse_network(jobj *res, const char *path, struct oci_resources *out,
			 struct hull_err **err)
{
	jobj *o, *prio = NULL;
	char p[JP_MAX], pp[JP_MAX], pi[JP_MAX];
	int r;

	r = j_field(res, "network", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "network");
	if (opt(j_u32(o, "classID", p, &out->network.class_id, err),
		&out->network.has_class_id) < 0)
		return -1;
	/* priorities: cgroup v1 net_prio.ifpriomap lines. */
	r = j_field(o, "priorities", json_type_array, p, &prio, err);
	if (r <= 0)
		return r;
	jp_key(pp, p, "priorities");
	out->network.priorities = xcalloc(json_object_array_length(prio) + 1, sizeof(*out->network.priorities));
	for (size_t i = 0; i < json_object_array_length(prio); i++) {
		jobj *e = json_object_array_get_idx(prio, i);
		struct oci_net_priority *x = &out->network.priorities[i];

		jp_idx(pi, pp, i);
		out->network.n_priorities = i + 1;
		if (j_expect(e, json_type_object, pi, err) < 0 || j_str(e, "name", pi, &x->name, err) < 0 ||
		    j_u32(e, "priority", pi, &x->priority, err) < 0)
			return -1;
		if (!x->name || !*x->name || strpbrk(x->name, " \n"))
			return hull_err_make(err, 0, "%s.name: want an interface name", pi);
	}
	return 0;
}

int oci_parse_resources(jobj *res, const char *path, struct oci_resources *out,
			struct hull_err **err)
{
	void *devs = NULL, *huge = NULL;
	int r;

	if (j_expect(res, json_type_object, path[0] ? path : "resources", err) < 0)
		return -1;
	r = j_objects(res, "devices", path, sizeof(*out->devices), &devs, &out->n_devices,
		      parse_device_rule, err);
	out->devices = devs;
	if (r < 0)
		return -1;
	r = j_objects(res, "hugepageLimits", path, sizeof(*out->hugepage_limits), &huge,
		      &out->n_hugepage_limits, parse_hugepage, err);
	out->hugepage_limits = huge;
	if (r < 0 || parse_memory(res, path, out, err) < 0 ||
	    parse_cpu(res, path, out, err) < 0 || parse_pids(res, path, out, err) < 0 ||
	    parse_block_io(res, path, out, err) < 0 ||
	    parse_rdma(res, path, out, err) < 0 ||
	    j_kv(res, "unified", path, &out->unified, &out->n_unified, err) < 0 ||
	    parse_network(res, path, out, err) < 0)
		return -1;
	return 0;
}

void oci_resources_clear(struct oci_resources *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_devices; i++)
		free(r->devices[i].access);
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->block_io.weight_device);
	free(r->block_io.throttle_read_bps);
	free(r->block_io.throttle_write_bps);
	free(r->block_io.throttle_read_iops);
	free(r->block_io.throttle_write_iops);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	for (size_t i = 0; i < r->n_rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	kv_free(r->unified, r->n_unified);
	for (size_t i = 0; i < r->network.n_priorities; i++)
		free(r->network.priorities[i].name);
	free(r->network.priorities);
	memset(r, 0, sizeof(*r));
}

int oci_resources_parse(const char *json, size_t len, const char *what, struct oci_resources *out,
			struct hull_err **err)
{
	_cleanup_jobj_ jobj *root = NULL;
	struct oci_resources r = { 0 };

	if (oci_json_parse(json, len, what, &root, err) < 0)
		return -1;
	/* Field paths are relative to the resources object: "memory.limit". */
	if (oci_parse_resources(root, "", &r, err) < 0) {
		oci_resources_clear(&r);
		return hull_err_wrap(err, "%s", what);
	}
	*out = r;
	return 0;
}
