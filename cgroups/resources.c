/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources: validation, runc's v1 -> v2 conversions, and the cgroup v2
 * files.  Field semantics follow runc's libcontainer/cgroups/fs2 so a config
 * gives the same files under hull and runc.
 */
#include "cgroups/internal.h"

#include <ctype.h>
#include <inttypes.h>

#define F "linux.resources."

/* ---- conversions ------------------------------------------------------------ */

uint64_t cgroups_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	/* The v1 kernel clamps shares to [2, 262144]; do the same before runc's
	 * linear map so 1 does not underflow. */
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroups_blkio_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + ((weight - 10) * 9999) / 990;
}

int cgroups_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, struct hull_err **err)
{
	/* v1 compatibility: memory unlimited and swap unset means both unlimited. */
	if (limit == -1 && swap == 0) {
		*out = -1;
		return 0;
	}
	if (swap == -1 || swap == 0) {
		*out = swap;
		return 0;
	}
	if (swap < -1)
		return hull_err_make(err, 0, F "memory.swap: invalid value %" PRId64, swap);
	if (limit == 0 || limit == -1)
		return hull_err_make(err, 0, F "memory.swap: cannot set a swap limit without a memory limit");
	if (limit < 0)
		return hull_err_make(err, 0, F "memory.limit: invalid value %" PRId64, limit);
	if (swap < limit)
		return hull_err_make(err, 0, F "memory.swap: %" PRId64 " is below memory.limit %" PRId64
				     " (swap is memory+swap)", swap, limit);
	*out = swap - limit;
	return 0;
}

char *cg_num_or_max(int64_t v)
{
	return v < 0 ? xstrdup("max") : xasprintf("%" PRId64, v);
}

int64_t cg_hugepage_kb(const char *name)
{
	char *end;
	unsigned long long v;

	if (!name || !isdigit((unsigned char)name[0]))
		return -1;
	errno = 0;
	v = strtoull(name, &end, 10);
	if (errno || v == 0 || v > (1ull << 30))
		return -1;
	if (strcmp(end, "KB") == 0)
		return (int64_t)v;
	if (strcmp(end, "MB") == 0)
		return (int64_t)v << 10;
	if (strcmp(end, "GB") == 0)
		return (int64_t)v << 20;
	return -1;
}

/* ---- validation ---------------------------------------------------------------- */

static int check_unified_key(const char *key, struct hull_err **err)
{
	const char *dot = strchr(key, '.');

	if (!dot || dot == key || !dot[1] || strchr(key, '/') || strstr(key, ".."))
		return hull_err_make(err, 0, F "unified: key \"%s\" is not \"<controller>.<file>\"", key);
	for (const char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return hull_err_make(err, 0, F "unified: key \"%s\" has an invalid character", key);
	return 0;
}

static int check_weight(uint64_t w, const char *field, struct hull_err **err)
{
	if (w != 0 && (w < 10 || w > 1000))
		return hull_err_make(err, 0, F "%s: %" PRIu64 " is outside [10, 1000]", field, w);
	return 0;
}

int cgroups_validate(const struct oci_resources *r, const char *cgroups_path, bool systemd,
		     struct hull_err **err)
{
	const struct cg_layout *l = NULL;

	if (systemd) {
		_cleanup_free_ char *slice = NULL, *unit = NULL, *sp = NULL;
		if (cg_systemd_parse(cgroups_path, "x", &slice, &unit, err) < 0 ||
		    cg_systemd_slice_path(slice, &sp, err) < 0)
			return -1;
	} else if (cgroups_path) {
		if (cg_check_path(cgroups_path, "linux.cgroupsPath", err) < 0)
			return -1;
		if (cgroups_path[strspn(cgroups_path, "/")] == '\0')
			return hull_err_make(err, 0, "linux.cgroupsPath: \"%s\" is the root cgroup", cgroups_path);
	}
	if (!r)
		return 0;
	if (r->memory.has_limit && r->memory.limit < -1)
		return hull_err_make(err, 0, F "memory.limit: invalid value %" PRId64, r->memory.limit);
	if (r->memory.has_reservation && r->memory.reservation < -1)
		return hull_err_make(err, 0, F "memory.reservation: invalid value %" PRId64,
				     r->memory.reservation);
	if (r->memory.has_swap) {
		int64_t out;
		if (cgroups_swap_to_v2(r->memory.swap, r->memory.has_limit ? r->memory.limit : 0, &out, err) < 0)
			return -1;
	}
	if (r->pids.has_limit && r->pids.limit < -1)
		return hull_err_make(err, 0, F "pids.limit: invalid value %" PRId64, r->pids.limit);
	if (r->memory.has_swappiness && r->memory.swappiness > 100)
		return hull_err_make(err, 0, F "memory.swappiness: %" PRIu64 " is outside [0, 100]",
				     r->memory.swappiness);
	if (r->cpu.has_shares && r->cpu.shares > 262144)
		return hull_err_make(err, 0, F "cpu.shares: %" PRIu64 " is above 262144", r->cpu.shares);
	if (r->cpu.has_quota && (r->cpu.quota < -1 || (r->cpu.quota > 0 && r->cpu.quota < 1000)))
		return hull_err_make(err, 0, F "cpu.quota: %" PRId64 " must be -1 or >= 1000", r->cpu.quota);
	if (r->cpu.has_period && r->cpu.period != 0 && (r->cpu.period < 1000 || r->cpu.period > 1000000))
		return hull_err_make(err, 0, F "cpu.period: %" PRIu64 " is outside [1000, 1000000]",
				     r->cpu.period);
	if (r->cpu.has_quota && r->cpu.quota > 0 && r->cpu.has_period && r->cpu.period == 0)
		return hull_err_make(err, 0, F "cpu.period: must be > 0 when quota is set");
	if (r->cpu.has_idle && r->cpu.idle != 0 && r->cpu.idle != 1)
		return hull_err_make(err, 0, F "cpu.idle: %" PRId64 " is neither 0 nor 1", r->cpu.idle);
	if (r->cpu.has_burst && r->cpu.has_quota && r->cpu.quota > 0 && r->cpu.burst > (uint64_t)r->cpu.quota)
		return hull_err_make(err, 0, F "cpu.burst: %" PRIu64 " is above quota %" PRId64,
				     r->cpu.burst, r->cpu.quota);
	if (check_weight(r->block_io.has_weight ? r->block_io.weight : 0, "blockIO.weight", err) < 0 ||
	    check_weight(r->block_io.has_leaf_weight ? r->block_io.leaf_weight : 0, "blockIO.leafWeight",
			 err) < 0)
		return -1;
	for (size_t i = 0; i < r->block_io.n_weight_device; i++) {
		const struct oci_weight_device *w = &r->block_io.weight_device[i];
		_cleanup_free_ char *f = xasprintf("blockIO.weightDevice[%zu].weight", i);
		if (w->major < 0 || w->minor < 0)
			return hull_err_make(err, 0, F "blockIO.weightDevice[%zu]: negative device number", i);
		if (check_weight(w->has_weight ? w->weight : 0, f, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const char *ps = r->hugepage_limits[i].page_size;
		int64_t kb = cg_hugepage_kb(ps);
		_cleanup_free_ char *dir = NULL;
		if (kb < 0)
			return hull_err_make(err, 0, F "hugepageLimits[%zu].pageSize: \"%s\" is not like \"2MB\"",
					     i, ps ? ps : "");
		dir = xasprintf("/sys/kernel/mm/hugepages/hugepages-%" PRId64 "kB", kb);
		if (access(dir, F_OK) < 0)
			return hull_err_make(err, 0, F "hugepageLimits[%zu].pageSize: \"%s\" is not a huge page "
					     "size of this host (%s)", i, ps, dir);
	}
	for (size_t i = 0; i < r->n_rdma; i++) {
		const char *d = r->rdma[i].device;
		if (!d || !*d || strpbrk(d, " \n\t="))
			return hull_err_make(err, 0, F "rdma: invalid device name \"%s\"", d ? d : "");
	}
	for (size_t i = 0; i < r->n_unified; i++) {
		if (check_unified_key(r->unified[i].key, err) < 0)
			return -1;
		if (!r->unified[i].value || strchr(r->unified[i].value, '\n'))
			return hull_err_make(err, 0, F "unified.\"%s\": value has a newline", r->unified[i].key);
	}
	if (r->cpu.cpus && strspn(r->cpu.cpus, "0123456789,- ") != strlen(r->cpu.cpus))
		return hull_err_make(err, 0, F "cpu.cpus: \"%s\" is not a cpu list", r->cpu.cpus);
	if (r->cpu.mems && strspn(r->cpu.mems, "0123456789,- ") != strlen(r->cpu.mems))
		return hull_err_make(err, 0, F "cpu.mems: \"%s\" is not a node list", r->cpu.mems);

	/* Checks that depend on where each controller lives. */
	l = cg_layout_get(err);
	if (!l)
		return -1;
	if (!cg_ctrl_is_v1(l, V1_CPU) &&
	    ((r->cpu.has_realtime_runtime && r->cpu.realtime_runtime != 0) ||
	     (r->cpu.has_realtime_period && r->cpu.realtime_period != 0)))
		return hull_err_make(err, 0, F "cpu.realtimeRuntime: not supported on cgroup v2");
	/* runc's v1 manager fails to set a limit of a controller the host has
	 * not mounted; on pure cgroup v2 (no net_cls/net_prio) both warn. */
	if (l->mode != CG_V2 && r->network.has_class_id && !cg_ctrl_is_v1(l, V1_NET_CLS))
		return hull_err_make(err, 0, F "network.classID: this host has no net_cls cgroup (v1) hierarchy");
	if (l->mode != CG_V2 && r->network.n_priorities && !cg_ctrl_is_v1(l, V1_NET_PRIO))
		return hull_err_make(err, 0, F "network.priorities: this host has no net_prio cgroup (v1) hierarchy");
	for (size_t i = 0; i < r->n_unified; i++) {
		_cleanup_free_ char *ctrl = xstrndup(r->unified[i].key, strcspn(r->unified[i].key, "."));
		if (!l->unified)
			return hull_err_make(err, 0, F "unified: not supported on cgroup v1");
		/* A hybrid host's unified hierarchy takes only its own controllers
		 * (runc refuses every unified key there: docs/compat.md). */
		if (l->mode == CG_HYBRID && strcmp(ctrl, "cgroup") != 0 && !cg_v2_has_controller(l, ctrl))
			return hull_err_make(err, 0, F "unified.\"%s\": not supported on cgroup v1 (\"%s\" is a "
					     "cgroup v1 controller on this host)", r->unified[i].key, ctrl);
		if (strcmp(ctrl, "cgroup") != 0 && !cg_v2_has_controller(l, ctrl))
			return hull_err_make(err, 0, F "unified.\"%s\": cgroup controller \"%s\" is not available "
					     "in %s/cgroup.controllers", r->unified[i].key, ctrl, l->unified);
	}
	return 0;
}

/* ---- cgroup v2 ------------------------------------------------------------------- */

int cg_v2_memory(const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	const typeof(r->memory) *m = &r->memory;
	int64_t swap = 0;

	if (m->has_kernel || m->has_kernel_tcp)
		hull_warn("linux.resources.memory.kernel/kernelTCP: ignored on cgroup v2");
	if (m->has_disable_oom_killer && m->disable_oom_killer)
		hull_warn("linux.resources.memory.disableOOMKiller: ignored on cgroup v2");
	if (cgroups_swap_to_v2(m->has_swap ? m->swap : 0, m->has_limit ? m->limit : 0, &swap, err) < 0)
		return -1;
	if (m->has_check_before_update && m->check_before_update && m->has_limit && m->limit > 0) {
		uint64_t cur = 0;
		_cleanup_free_ char *s = NULL;
		if (cg_read(dir, "memory.current", &s, NULL) == 0 && parse_u64(s, &cur) == 0 &&
		    cur > (uint64_t)m->limit)
			return hull_err_make(err, 0, F "memory.limit: %" PRId64 " is below the current usage %"
					     PRIu64, m->limit, cur);
	}
	if (swap != 0) {
		_cleanup_free_ char *v = cg_num_or_max(swap);
		struct hull_err *e = NULL;
		/* runc: without swap accounting, "max" and "0" are silently fine. */
		if (cg_write(dir, "memory.swap.max", v, &e) < 0) {
			if (!(e->errnum == ENOENT && (swap < 0))) {
				*err = e;
				return hull_err_ret(e);
			}
			hull_err_free(&e);
		}
	}
	if (m->has_limit && m->limit != 0) {
		_cleanup_free_ char *v = cg_num_or_max(m->limit);
		if (cg_write(dir, "memory.max", v, err) < 0)
			return -1;
	}
	if (m->has_reservation && m->reservation != 0) {
		_cleanup_free_ char *v = cg_num_or_max(m->reservation);
		if (cg_write(dir, "memory.low", v, err) < 0)
			return -1;
	}
	return 0;
}

int cg_v2_cpu(const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	const typeof(r->cpu) *c = &r->cpu;

	if (c->has_shares && c->shares != 0 &&
	    cg_writef(dir, "cpu.weight", err, "%" PRIu64, cgroups_shares_to_weight(c->shares)) < 0)
		return -1;
	if ((c->has_quota && c->quota != 0) || (c->has_period && c->period != 0)) {
		_cleanup_free_ char *q = NULL, *cur = NULL;
		if (c->has_quota && c->quota != 0) {
			q = cg_num_or_max(c->quota);
		} else {
			/* Only the period changes: keep the quota that is there. */
			if (cg_read(dir, "cpu.max", &cur, err) < 0)
				return -1;
			q = xstrndup(cur, strcspn(cur, " "));
		}
		if (c->has_period && c->period != 0) {
			if (cg_writef(dir, "cpu.max", err, "%s %" PRIu64, q, c->period) < 0)
				return -1;
		} else if (cg_write(dir, "cpu.max", q, err) < 0) {
			return -1;
		}
	}
	if (c->has_burst && cg_writef(dir, "cpu.max.burst", err, "%" PRIu64, c->burst) < 0)
		return -1;
	if (c->has_idle && cg_writef(dir, "cpu.idle", err, "%" PRId64, c->idle) < 0)
		return -1;
	return 0;
}

int cg_v2_io(const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	const typeof(r->block_io) *b = &r->block_io;
	/* runc: BFQ takes the v1 range directly; otherwise convert for io.weight. */
	bool bfq = cg_exists(dir, "io.bfq.weight");
	const struct { const char *key; const struct oci_throttle_device *d; size_t n; } thr[] = {
		{ "rbps", b->throttle_read_bps, b->n_throttle_read_bps },
		{ "wbps", b->throttle_write_bps, b->n_throttle_write_bps },
		{ "riops", b->throttle_read_iops, b->n_throttle_read_iops },
		{ "wiops", b->throttle_write_iops, b->n_throttle_write_iops },
	};

	if (b->has_leaf_weight)
		hull_warn("linux.resources.blockIO.leafWeight: ignored on cgroup v2");
	if (b->has_weight && b->weight != 0) {
		if ((bfq ? cg_writef(dir, "io.bfq.weight", err, "%u", b->weight)
			 : cg_writef(dir, "io.weight", err, "default %" PRIu64,
				     cgroups_blkio_to_io_weight(b->weight))) < 0)
			return -1;
	}
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct oci_weight_device *w = &b->weight_device[i];
		if (!w->has_weight)
			continue;
		if ((bfq ? cg_writef(dir, "io.bfq.weight", err, "%" PRId64 ":%" PRId64 " %u", w->major,
				     w->minor, w->weight)
			 : cg_writef(dir, "io.weight", err, "%" PRId64 ":%" PRId64 " %" PRIu64, w->major,
				     w->minor, cgroups_blkio_to_io_weight(w->weight))) < 0)
			return -1;
	}
	for (size_t t = 0; t < ARRAY_SIZE(thr); t++)
		for (size_t i = 0; i < thr[t].n; i++) {
			const struct oci_throttle_device *d = &thr[t].d[i];
			_cleanup_free_ char *v = d->rate ? xasprintf("%" PRIu64, d->rate) : xstrdup("max");
			if (cg_writef(dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%s", d->major, d->minor,
				      thr[t].key, v) < 0)
				return -1;
		}
	return 0;
}

int cg_v2_hugetlb(const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
		_cleanup_free_ char *f = xasprintf("hugetlb.%s.max", h->page_size);
		_cleanup_free_ char *rsvd = xasprintf("hugetlb.%s.rsvd.max", h->page_size);
		if (cg_writef(dir, f, err, "%" PRIu64, h->limit) < 0)
			return -1;
		/* Reservations count too where the kernel tracks them (runc 1.2). */
		if (cg_exists(dir, rsvd) && cg_writef(dir, rsvd, err, "%" PRIu64, h->limit) < 0)
			return -1;
	}
	return 0;
}
