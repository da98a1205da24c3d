/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources on cgroup v1 hierarchies (hybrid and v1 hosts), with the
 * file names and write orders of runc's libcontainer/cgroups/fs.
 */
#include "cgroups/internal.h"

#include <dirent.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/xattr.h>

#define F "linux.resources."

static int w_i64(const char *dir, const char *file, int64_t v, struct hull_err **err)
{
	return cg_writef(dir, file, err, "%" PRId64, v);
}

int cg_v1_memory(const struct cgroup *cg, const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	const typeof(r->memory) *m = &r->memory;
	int64_t limit = m->has_limit ? m->limit : 0, swap = m->has_swap ? m->swap : 0;
	bool memsw = cg_exists(dir, "memory.memsw.limit_in_bytes");

	/* runc: unlimited memory and unset swap means unlimited swap too. */
	if (limit == -1 && swap == 0)
		swap = -1;
	if (swap != 0 && !memsw) {
		if (swap > 0)
			hull_warn(F "memory.swap: no swap accounting on this host (memory.memsw.*); ignored");
		swap = 0;
	}
	if (limit != 0 && swap != 0) {
		/* The kernel wants memsw >= limit at every step: raise memsw first
		 * when it grows, lower the limit first when it shrinks. */
		_cleanup_free_ char *cur = NULL;
		uint64_t curv = UINT64_MAX;
		if (cg_read(dir, "memory.limit_in_bytes", &cur, NULL) == 0)
			(void)parse_u64(cur, &curv);
		if (swap == -1 || curv < (uint64_t)swap) {
			if (w_i64(dir, "memory.memsw.limit_in_bytes", swap, err) < 0 ||
			    w_i64(dir, "memory.limit_in_bytes", limit, err) < 0)
				return -1;
		} else if (w_i64(dir, "memory.limit_in_bytes", limit, err) < 0 ||
			   w_i64(dir, "memory.memsw.limit_in_bytes", swap, err) < 0) {
			return -1;
		}
	} else {
		if (limit != 0 && w_i64(dir, "memory.limit_in_bytes", limit, err) < 0)
			return -1;
		if (swap != 0 && w_i64(dir, "memory.memsw.limit_in_bytes", swap, err) < 0)
			return -1;
	}
	if (m->has_reservation && m->reservation != 0 &&
	    w_i64(dir, "memory.soft_limit_in_bytes", m->reservation, err) < 0)
		return -1;
	if (m->has_kernel && m->kernel != 0)
		hull_warn(F "memory.kernel: kernel memory limits are deprecated; ignored");
	if (m->has_kernel_tcp && m->kernel_tcp != 0 && cg_exists(dir, "memory.kmem.tcp.limit_in_bytes") &&
	    w_i64(dir, "memory.kmem.tcp.limit_in_bytes", m->kernel_tcp, err) < 0)
		return -1;
	if (m->has_swappiness && cg_writef(dir, "memory.swappiness", err, "%" PRIu64, m->swappiness) < 0)
		return -1;
	if (m->has_disable_oom_killer && m->disable_oom_killer &&
	    cg_write(dir, "memory.oom_control", "1", err) < 0)
		return -1;
	return 0;
}

/*
 * RT group scheduling: a cgroup's cpu.rt_runtime_us must fit in its parent's.
 * Intermediate directories hull makes (the default "hull/" level, or the
 * parents of a cgroupsPath it created) start with 0, so raise each of them,
 * outermost first, to the container's budget before the container's own
 * write.  runc avoids this only because its default cgroup sits at the root.
 */
static bool hull_made(const struct cgroup *cg, const char *p)
{
	const char *base = strrchr(p, '/');

	if (base && strcmp(base + 1, "hull") == 0)
		return true;
	for (size_t i = 0; i < cg->n_created; i++)
		if (strcmp(cg->created[i], p) == 0)
			return true;
	return false;
}

/*
 * The budget a level had before hull first raised it, kept on the level
 * itself (a trusted.* xattr, which cgroupfs supports): several containers
 * share one parent, and only the last one out may give back the rest.  A
 * value already recorded stays (set before the raise, so a concurrent create
 * that reads the raised value finds it there).
 */
#define RT_XATTR "trusted.hull.rt_runtime_us"

/* Raises and releases of realtime budgets are serialised host-wide (flock on
 * the cpu hierarchy's root, advisory, written nowhere): a delete lowering a
 * shared parent must not take the room a concurrent create just made. */
static int rt_lock(void)
{
	const struct cg_layout *l = cg_layout_get(NULL);
	int fd;

	if (!l || !l->v1[V1_CPU])
		return -1;
	fd = open(l->v1[V1_CPU], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd >= 0 && flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	return fd;
}

static void remember_rt(const char *dir, int64_t orig)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, orig);

	if (setxattr(dir, RT_XATTR, buf, (size_t)n, XATTR_CREATE) < 0 && errno != EEXIST)
		hull_debug("%s: cannot remember cpu.rt_runtime_us %s (%s): it stays raised after delete", dir, buf,
			   strerror(errno));
}

static int64_t rt_runtime(const char *dir)
{
	_cleanup_free_ char *cur = NULL;
	int64_t v = 0;

	if (cg_read(dir, "cpu.rt_runtime_us", &cur, NULL) < 0 || parse_i64(cur, &v) < 0)
		return 0;
	return v;
}

/* Sum of the children's budgets, with `child` counted as `child_budget`. */
static int64_t rt_children(const char *dir, const char *child, int64_t child_budget)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int64_t sum = child_budget;

	if (!d)
		return sum;
	while ((e = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, e->d_name);
		if (strcmp(sub, child) != 0)
			sum += rt_runtime(sub);
	}
	closedir(d);
	return sum;
}

static int v1_rt_budget_parents(const struct cgroup *cg, const char *dir, int64_t runtime,
				struct hull_err **err)
{
	_cleanup_free_ char *p = xstrdup(dir);
	char *chain[16];
	int64_t target[16];
	const char *child = dir;
	int64_t budget = runtime;
	size_t n = 0;
	int r = 0;

	/* Innermost first: each hull-made level needs its children's budgets. */
	for (char *slash; n < ARRAY_SIZE(chain) && (slash = strrchr(p, '/')) && slash != p;) {
		*slash = '\0';
		if (!hull_made(cg, p))
			break;
		chain[n] = xstrdup(p);
		target[n] = rt_children(chain[n], child, budget);
		budget = target[n];
		child = chain[n];
		n++;
	}
	/* Outermost first when writing: a parent must have room before its child grows. */
	for (size_t i = n; i-- > 0;) {
		int64_t cur = rt_runtime(chain[i]);
		if (r == 0 && cur < target[i]) {
			remember_rt(chain[i], cur);
			r = w_i64(chain[i], "cpu.rt_runtime_us", target[i], err);
		}
		free(chain[i]);
	}
	return r;
}

void cg_rt_release(const struct cgroup *cg)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int lock = -1;
	char *slash;

	if (!cg->v1[V1_CPU])
		return;
	p = xstrdup(cg->v1[V1_CPU]);
	/* Most containers: the parent was never raised, no lock taken. */
	slash = strrchr(p, '/');
	if (!slash || slash == p)
		return;
	*slash = '\0';
	if (getxattr(p, RT_XATTR, NULL, 0) < 0)
		return;
	*slash = '/';
	lock = rt_lock();
	/* The kernel counts a removed child's budget until its task group is
	 * freed (after an RCU grace period): give it back before the rmdir. */
	if (rt_runtime(p) > 0 && w_i64(p, "cpu.rt_runtime_us", 0, NULL) < 0)
		return;
	/* Then innermost first: a parent cannot go below its children's sum.
	 * The raised levels are contiguous above the container's dir. */
	while ((slash = strrchr(p, '/')) && slash != p) {
		char buf[32];
		ssize_t len;
		int64_t orig, want, cur;

		*slash = '\0';
		len = getxattr(p, RT_XATTR, buf, sizeof(buf) - 1);
		if (len < 0)
			return;
		buf[len] = '\0';
		if (parse_i64(buf, &orig) < 0)
			return;
		/* What the children (the container's, 0 now) hold. */
		want = rt_children(p, "", 0);
		cur = rt_runtime(p);
		if (want <= orig) {
			if (cur > orig && w_i64(p, "cpu.rt_runtime_us", orig, NULL) < 0)
				return;
			/* Back to what it was: a later raise records afresh. */
			(void)removexattr(p, RT_XATTR);
		} else if (cur > want && w_i64(p, "cpu.rt_runtime_us", want, NULL) < 0) {
			return;
		}
	}
}

int cg_v1_cpu(const struct cgroup *cg, const char *dir, const struct oci_resources *r,
		  struct hull_err **err)
{
	const typeof(r->cpu) *c = &r->cpu;

	if (c->has_shares && c->shares != 0 && cg_writef(dir, "cpu.shares", err, "%" PRIu64, c->shares) < 0)
		return -1;
	if (c->has_period && c->period != 0 &&
	    cg_writef(dir, "cpu.cfs_period_us", err, "%" PRIu64, c->period) < 0)
		return -1;
	if (c->has_quota && c->quota != 0 && w_i64(dir, "cpu.cfs_quota_us", c->quota, err) < 0)
		return -1;
	if (c->has_burst && cg_writef(dir, "cpu.cfs_burst_us", err, "%" PRIu64, c->burst) < 0)
		return -1;
	/* Period before runtime: the runtime must fit the period. */
	if (c->has_realtime_period && c->realtime_period != 0 &&
	    cg_writef(dir, "cpu.rt_period_us", err, "%" PRIu64, c->realtime_period) < 0)
		return -1;
	if (c->has_realtime_runtime && c->realtime_runtime != 0) {
		_cleanup_close_ int lock = c->realtime_runtime > 0 ? rt_lock() : -1;
		if (c->realtime_runtime > 0 && v1_rt_budget_parents(cg, dir, c->realtime_runtime, err) < 0)
			return -1;
		if (w_i64(dir, "cpu.rt_runtime_us", c->realtime_runtime, err) < 0)
			return -1;
	}
	if (c->has_idle && cg_exists(dir, "cpu.idle") && w_i64(dir, "cpu.idle", c->idle, err) < 0)
		return -1;
	return 0;
}

int cg_v1_blkio(const struct cgroup *cg, const char *dir, const struct oci_resources *r, struct hull_err **err)
{
	const typeof(r->block_io) *b = &r->block_io;
	const char *wfile = cg_exists(dir, "blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
	const struct { const char *file; const struct oci_throttle_device *d; size_t n; } thr[] = {
		{ "blkio.throttle.read_bps_device", b->throttle_read_bps, b->n_throttle_read_bps },
		{ "blkio.throttle.write_bps_device", b->throttle_write_bps, b->n_throttle_write_bps },
		{ "blkio.throttle.read_iops_device", b->throttle_read_iops, b->n_throttle_read_iops },
		{ "blkio.throttle.write_iops_device", b->throttle_write_iops, b->n_throttle_write_iops },
	};

	if (b->has_weight && b->weight != 0 && cg_writef(dir, wfile, err, "%u", b->weight) < 0)
		return -1;
	if (b->has_leaf_weight && b->leaf_weight != 0 && cg_exists(dir, "blkio.leaf_weight") &&
	    cg_writef(dir, "blkio.leaf_weight", err, "%u", b->leaf_weight) < 0)
		return -1;
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct oci_weight_device *w = &b->weight_device[i];
		const char *wdfile = cg_exists(dir, "blkio.weight_device") ? "blkio.weight_device"
									   : "blkio.bfq.weight_device";
		if (w->has_weight && cg_writef(dir, wdfile, err, "%" PRId64 ":%" PRId64 " %u", w->major,
					       w->minor, w->weight) < 0)
			return -1;
		if (w->has_leaf_weight && cg_exists(dir, "blkio.leaf_weight_device") &&
		    cg_writef(dir, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %u", w->major,
			      w->minor, w->leaf_weight) < 0)
			return -1;
	}
	for (size_t t = 0; t < ARRAY_SIZE(thr); t++)
		for (size_t i = 0; i < thr[t].n; i++)
			if (cg_writef(dir, thr[t].file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, thr[t].d[i].major,
				      thr[t].d[i].minor, thr[t].d[i].rate) < 0)
				return -1;
	return 0;
}
