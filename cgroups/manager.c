/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's cgroup handle: create (every hierarchy), state round trip,
 * enter, destroy.  Only directories hull made are ever removed; existing
 * cgroups are only touched through cgroup.subtree_control on cgroup v2 (the
 * delegation protocol) and v1 cpuset values, copied into the empty ones on
 * the way to the container's (fill_cpuset).
 */
#include "cgroups/internal.h"

#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>

static void add_created(struct cgroup *cg, const char *dir)
{
	cg->created = xrealloc(cg->created, (cg->n_created + 1) * sizeof(*cg->created));
	cg->created[cg->n_created++] = xstrdup(dir);
}

/* A default rule to leave out of the device filter, by type and numbers. */
static void add_dev(struct cgroup *cg, char type, int64_t major, int64_t minor)
{
	cg->devs = xrealloc(cg->devs, (cg->n_devs + 1) * sizeof(*cg->devs));
	cg->devs[cg->n_devs++] = (struct oci_linux_device){ .type = type, .major = major, .minor = minor };
}

static bool was_created(const struct cgroup *cg, const char *dir)
{
	for (size_t i = 0; i < cg->n_created; i++)
		if (strcmp(cg->created[i], dir) == 0)
			return true;
	return false;
}

/* The container's own directory in some hierarchy (not an ancestor). */
static bool is_own_dir(const struct cgroup *cg, const char *dir)
{
	if (cg->unified && strcmp(cg->unified, dir) == 0)
		return true;
	for (int i = 0; i < V1_COUNT; i++)
		if (cg->v1[i] && strcmp(cg->v1[i], dir) == 0)
			return true;
	return false;
}

void cgroups_free(struct cgroup *cg)
{
	if (!cg)
		return;
	free(cg->unit);
	free(cg->rel);
	free(cg->unified);
	for (int i = 0; i < V1_COUNT; i++)
		free(cg->v1[i]);
	for (size_t i = 0; i < cg->n_created; i++)
		free(cg->created[i]);
	free(cg->created);
	free(cg->devs);
	free(cg);
}

const char *cgroups_path(const struct cgroup *cg)
{
	return cg->rel;
}

const char *cgroups_unified_dir(const struct cgroup *cg)
{
	return cg->unified;
}

/* The directory whose cgroup.procs lists every container process. */
static const char *primary_dir(const struct cgroup *cg)
{
	static const enum v1_ctrl order[] = { V1_PIDS, V1_FREEZER, V1_MEMORY, V1_CPU, V1_DEVICES };

	if (cg->unified)
		return cg->unified;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (cg->v1[order[i]])
			return cg->v1[order[i]];
	for (int i = 0; i < V1_COUNT; i++)
		if (cg->v1[i])
			return cg->v1[i];
	return NULL;
}

/* mkdir path and record it.  0: made or already there; 1: its parent is
 * missing (err left alone); <0: err set. */
static int make_dir(struct cgroup *cg, const char *path, struct hull_err **err)
{
	if (mkdir(path, 0755) < 0) {
		if (errno == EEXIST)
			return 0;
		return errno == ENOENT ? 1 : hull_err_make(err, errno, "mkdir %s", path);
	}
	add_created(cg, path);
	return 0;
}

/* v1 refuses tasks in a cpuset with empty cpus or mems, and a child's values
 * must lie within its parent's.  As runc's cpuset ensureParent, fill each
 * empty cpuset.cpus/mems from below the mount down to dir with the nearest
 * ancestor's: another tool may have made a parent and left it empty, which
 * no task can use as it is. */
static int fill_cpuset(const char *mount, const char *dir, struct hull_err **err)
{
	static const char *const f[] = { "cpuset.cpus", "cpuset.mems" };
	_cleanup_free_ char *path = xstrdup(dir);
	size_t start = strlen(mount);

	for (size_t k = 0; k < ARRAY_SIZE(f); k++) {
		_cleanup_free_ char *have = NULL;

		if (cg_read(mount, f[k], &have, err) < 0)
			return -1;
		for (size_t i = start + 1; i <= strlen(dir); i++) {
			_cleanup_free_ char *v = NULL;
			char c = path[i];

			if (c != '/' && c != '\0')
				continue;
			path[i] = '\0';
			if (cg_read(path, f[k], &v, err) < 0)
				return -1;
			if (*v) {
				free(have);
				have = take_ptr(v);
			} else if (*have && cg_write(path, f[k], have, err) < 0) {
				return -1;
			}
			path[i] = c;
		}
	}
	return 0;
}

/* cgroups_plan: record the missing components of mount+rel as if made. */
static void plan_dirs(struct cgroup *cg, const char *mount, const char *rel)
{
	_cleanup_free_ char *path = xasprintf("%s%s", mount, rel);

	for (size_t i = strlen(mount) + 1;; i++) {
		char c = path[i];
		if (c != '/' && c != '\0')
			continue;
		path[i] = '\0';
		if (access(path, F_OK) < 0 && errno == ENOENT)
			add_created(cg, path);
		if (c == '\0')
			return;
		path[i] = c;
	}
}

/* mkdir every missing component of mount+rel (make_dir each), then with
 * cpuset fill its empty values (fill_cpuset); with plan, only record them
 * (plan_dirs). */
static int make_dirs(struct cgroup *cg, const char *mount, const char *rel, bool cpuset, bool plan,
		     struct hull_err **err)
{
	_cleanup_free_ char *path = xasprintf("%s%s", mount, rel);
	size_t start = strlen(mount);
	int r;

	if (plan) {
		plan_dirs(cg, mount, rel);
		return 0;
	}
	/* The parents usually exist: one mkdir, and the walk only if not. */
	r = make_dir(cg, path, err);
	if (r < 0)
		return r;
	for (size_t i = start + 1; r > 0; i++) {
		char c = path[i];
		if (c != '/' && c != '\0')
			continue;
		path[i] = '\0';
		r = make_dir(cg, path, err);
		if (r < 0)
			return r;
		if (r > 0) /* removed under us */
			return hull_err_make(err, ENOENT, "mkdir %s", path);
		path[i] = c;
		if (c != '\0')
			r = 1;
	}
	return cpuset ? fill_cpuset(mount, path, err) : 0;
}

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/*
 * cgroup v2 delegation: each ancestor enables the controllers its children
 * use, top-down.  Needed controllers must succeed; on a pure v2 host the rest
 * of the available ones are enabled best effort for stats (runc enables all).
 */
static int enable_controllers(const struct cg_layout *l, const char *rel, const char **need, size_t n_need,
			      struct hull_err **err)
{
	_cleanup_free_ char *root_ctrls = NULL, *dir = xstrdup(l->unified);
	_cleanup_free_ char *walk = xstrdup(rel);
	char *save = NULL, *comp;

	if (cg_read(l->unified, "cgroup.controllers", &root_ctrls, err) < 0)
		return -1;
	for (size_t i = 0; i < n_need; i++)
		if (!word_in(root_ctrls, need[i]))
			return hull_err_make(err, 0, "cgroup controller \"%s\" is not available in "
					     "%s/cgroup.controllers", need[i], l->unified);
	/* Walk root .. parent of the container's dir. */
	comp = strtok_r(walk, "/", &save);
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		_cleanup_free_ char *have = NULL, *avail = NULL;
		char *s2 = NULL;

		if (cg_read(dir, "cgroup.subtree_control", &have, err) < 0 ||
		    cg_read(dir, "cgroup.controllers", &avail, err) < 0)
			return -1;
		for (size_t i = 0; i < n_need; i++) {
			if (word_in(have, need[i]))
				continue;
			if (cg_writef(dir, "cgroup.subtree_control", err, "+%s", need[i]) < 0)
				return hull_err_wrap(err, "enable cgroup controller \"%s\"", need[i]);
		}
		if (l->mode == CG_V2)
			for (char *t = strtok_r(avail, " ", &s2); t; t = strtok_r(NULL, " ", &s2))
				if (!word_in(have, t))
					(void)cg_writef(dir, "cgroup.subtree_control", NULL, "+%s", t);
		{
			char *nd = xasprintf("%s/%s", dir, comp);
			free(dir);
			dir = nd;
		}
		comp = next;
	}
	return 0;
}

/* runc 1.1/1.2: a cgroup that already holds processes is joined with a
 * warning ("container's cgroup is not empty"); a frozen one is refused by
 * check_thawed, for every cgroup, made or not. */
static int check_existing(const char *dir, struct hull_err **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, cap = 0;

	if (cg_collect_pids(dir, &pids, &n, &cap, err) < 0)
		return -1;
	if (n > 0)
		hull_warn("container's cgroup %s is not empty: %zu process(es) found", dir, n);
	return 0;
}

/* A process put into a frozen cgroup stops at once, the container's init
 * with it, and create would wait for it forever (runc: "container's cgroup
 * unexpectedly frozen", but only for the cgroup itself; v1: a child of a frozen
 * cgroup is frozen too; v2: cgroup.events says "frozen 1" for one under a
 * frozen parent).  Refuse instead; only reads, so the cgroup keeps its state. */
static int check_thawed(const struct cgroup *cg, const char *path, struct hull_err **err)
{
	_cleanup_free_ char *v1 = NULL, *v2 = NULL;
	uint64_t frozen = 0;
	const char *dir = NULL, *why = NULL;

	if (cg->v1[V1_FREEZER] && cg_read(cg->v1[V1_FREEZER], "freezer.state", &v1, NULL) == 0 &&
	    strcmp(v1, "THAWED") != 0) {
		dir = cg->v1[V1_FREEZER];
		why = strcmp(v1, "FROZEN") == 0 ? "freezer.state FROZEN" : "freezer.state FREEZING";
	} else if (cg->unified && ((cg_read_kv(cg->unified, "cgroup.events", "frozen", &frozen) == 0 && frozen) ||
				   /* a cgroup made just now has cgroup.freeze 0: only a
				    * frozen parent (cgroup.events) can freeze it */
				   (!was_created(cg, cg->unified) && cg_read(cg->unified, "cgroup.freeze", &v2, NULL) == 0 &&
				    strcmp(v2, "1") == 0))) {
		dir = cg->unified;
		why = frozen ? "cgroup.events: frozen 1" : "cgroup.freeze 1";
	}
	if (!dir)
		return 0;
	if (path)
		return hull_err_make(err, 0, "linux.cgroupsPath \"%s\": cgroup %s is frozen (%s): thaw it first", path,
				     dir, why);
	return hull_err_make(err, 0, "cgroup %s is frozen (%s): thaw it first", dir, why);
}

/* The spec's rules and the defaults, minus those linux.devices replaced
 * (cg->devs, computed once at create and kept in the state). */
static int install_devices(const struct cgroup *cg, const struct oci_resources *r, struct hull_err **err)
{
	_cleanup_free_ struct cg_dev_rule *rules = NULL;
	_cleanup_free_ struct bpf_insn *insns = NULL;
	_cleanup_close_ int prog = -1;
	size_t n = 0, n_insns = 0;

	if (cg_dev_rules(r, cg->devs, cg->n_devs, &rules, &n, err) < 0)
		return -1;
	if (cg->v1[V1_DEVICES])
		return cg_devices_v1(cg->v1[V1_DEVICES], rules, n, err);
	if (!cg->unified)
		return 0;
	if (cg_bpf_build(rules, n, &insns, &n_insns, err) < 0)
		return -1;
	prog = cg_bpf_load(insns, n_insns, err);
	if (prog < 0)
		return -1;
	return cg_bpf_install(cg->unified, prog, err);
}

static int destroy_dirs(struct cgroup *cg, struct hull_err **err)
{
	int ret = 0;

	cg_rt_release(cg);
	/* The container's own dirs (and sub-cgroups it made) first... */
	if (cg->unified && was_created(cg, cg->unified) && cg_rmdir(cg->unified, err) < 0)
		ret = -1;
	for (int i = 0; i < V1_COUNT; i++) {
		if (!cg->v1[i] || !was_created(cg, cg->v1[i]))
			continue;
		if (cg_rmdir(cg->v1[i], ret < 0 ? NULL : err) < 0)
			ret = -1;
	}
	/* ...then the ancestors hull made, deepest first, when nothing else uses them. */
	for (size_t i = cg->n_created; i-- > 0;)
		if (!is_own_dir(cg, cg->created[i]) && rmdir(cg->created[i]) < 0 && errno != ENOENT &&
		    errno != ENOTEMPTY && errno != EBUSY && ret == 0)
			ret = hull_err_make(err, errno, "rmdir %s", cg->created[i]);
	return ret;
}

/* cg->v1[i] exists and is not a hierarchy an earlier controller shares. */
static bool v1_first(const struct cgroup *cg, int i)
{
	if (!cg->v1[i])
		return false;
	for (int j = 0; j < i; j++)
		if (cg->v1[j] && strcmp(cg->v1[j], cg->v1[i]) == 0)
			return false;
	return true;
}

/* Point *dir at its existing sub-cgroup `path`. */
static int descend(char **dir, const char *path, struct hull_err **err)
{
	char *d = xasprintf("%s/%s", *dir, path);
	struct stat st;

	if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode)) {
		hull_err_make(err, S_ISDIR(st.st_mode) ? errno : ENOTDIR, "--cgroup: %s", d);
		free(d);
		return -1;
	}
	free(*dir);
	*dir = d;
	return 0;
}

/* One `--cgroup` value: "PATH" (every hierarchy) or "CTRL[,CTRL...]:PATH". */
static int sub_one(const struct cgroup *cg, struct cgroup *sub, const char *spec, bool alone,
		   struct hull_err **err)
{
	const char *colon = strchr(spec, ':'), *path = colon ? colon + 1 : spec;
	bool pick[V1_COUNT] = { 0 };

	while (*path == '/')
		path++;
	if (!*path)
		return hull_err_make(err, 0, "--cgroup: \"%s\" names no sub-cgroup", spec);
	if (strchr(path, ':'))
		return hull_err_make(err, 0, "--cgroup: \"%s\" is not [CONTROLLER[,...]:]PATH", spec);
	if (cg_check_path(path, "--cgroup", err) < 0)
		return -1;
	if (!colon) {
		/* runc: a path without controllers must be the only --cgroup. */
		if (!alone)
			return hull_err_make(err, 0, "--cgroup: \"%s\" needs a CONTROLLER: prefix with other --cgroup",
					     spec);
		if (sub->unified && descend(&sub->unified, path, err) < 0)
			return -1;
		for (int i = 0; i < V1_COUNT; i++)
			pick[i] = cg->v1[i] != NULL;
	} else {
		_cleanup_free_ char *ctrls = xstrndup(spec, (size_t)(colon - spec));
		char *save = NULL;
		if (cg->pure_v2)
			return hull_err_make(err, 0, "--cgroup: \"%s\": cgroup v2 takes a path without controllers",
					     spec);
		for (char *t = strtok_r(ctrls, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			int c = v1_ctrl_index(t);
			if (c < 0 || !cg->v1[c])
				return hull_err_make(err, 0, "--cgroup: \"%s\": unknown controller \"%s\"", spec, t);
			/* Comounted controllers share one directory: all or none. */
			for (int i = 0; i < V1_COUNT; i++)
				pick[i] |= cg->v1[i] && strcmp(cg->v1[i], cg->v1[c]) == 0;
		}
		if (!ctrls[0] || ctrls[strlen(ctrls) - 1] == ',' || strstr(ctrls, ",,"))
			return hull_err_make(err, 0, "--cgroup: \"%s\": empty controller name", spec);
	}
	for (int i = 0; i < V1_COUNT; i++)
		if (pick[i] && descend(&sub->v1[i], path, err) < 0)
			return -1;
	return 0;
}

int cgroups_sub(const struct cgroup *cg, const char *const *specs, struct cgroup **out, struct hull_err **err)
{
	_cleanup_free_ char *ser = cgroups_serialize(cg);
	struct cgroup *sub = NULL;
	size_t n = 0;

	*out = NULL;
	while (specs[n])
		n++;
	if (!ser)
		return hull_err_make(err, 0, "--cgroup: the container has no cgroup (--cgroup-manager=disabled)");
	if (cgroups_load(ser, &sub, err) < 0)
		return -1;
	/* Only a view for joining: it owns no directory. */
	for (size_t i = 0; i < sub->n_created; i++)
		free(sub->created[i]);
	sub->n_created = 0;
	for (size_t i = 0; i < n; i++) {
		if (sub_one(cg, sub, specs[i], n == 1, err) < 0) {
			cgroups_free(sub);
			return -1;
		}
	}
	*out = sub;
	return 0;
}

/* The hierarchies a freeze acts on (cgroups_freeze): cgroup2, the v1 freezer. */
static const char *split_dir(const struct cgroup *cg, int i)
{
	return i == 0 ? cg->unified : cg->v1[V1_FREEZER];
}

int cgroups_vm_split(struct cgroup *cg, struct hull_err **err)
{
	static const char *const subs[] = { CGROUPS_VM_KVM, CGROUPS_VM_PAYLOAD };

	for (int i = 0; i < 2; i++) {
		for (size_t k = 0; split_dir(cg, i) && k < ARRAY_SIZE(subs); k++) {
			_cleanup_free_ char *d = xasprintf("%s/%s", split_dir(cg, i), subs[k]);
			/* Recorded as made: destroy removes them even in a reused directory. */
			int r = make_dir(cg, d, err);
			if (r != 0)
				return r < 0 ? -1 : hull_err_make(err, ENOENT, "mkdir %s", d);
		}
	}
	cg->vm_split = cg->unified || cg->v1[V1_FREEZER];
	return 0;
}

int cgroups_vm_enter_self(const struct cgroup *cg, const char *sub, struct hull_err **err)
{
	if (!cg->vm_split)
		return 0;
	for (int i = 0; i < 2; i++) {
		_cleanup_free_ char *d = NULL;
		if (!split_dir(cg, i))
			continue;
		d = xasprintf("%s/%s", split_dir(cg, i), sub);
		/* "0" in cgroup.procs: the writer's whole thread group. */
		if (cg_write(d, "cgroup.procs", "0", err) < 0)
			return -1;
	}
	return 0;
}

int cgroups_enter(struct cgroup *cg, const char *sub, pid_t pid, struct hull_err **err)
{
	return cg->backend->enter(cg, sub, pid, err);
}

/* cgroupfs and systemd: pid written to each hierarchy's cgroup.procs. */
static int fs_enter(struct cgroup *cg, const char *sub, pid_t pid, struct hull_err **err)
{
	struct cgroup *s = NULL;
	int r = 0;

	if (sub && cgroups_sub(cg, (const char *const[]){ sub, NULL }, &s, err) < 0)
		return -1;
	if (s)
		cg = s;
	if (cg->unified)
		r = cg_writef(cg->unified, "cgroup.procs", err, "%d", (int)pid);
	for (int i = 0; r == 0 && i < V1_COUNT; i++)
		if (v1_first(cg, i))
			r = cg_writef(cg->v1[i], "cgroup.procs", err, "%d", (int)pid);
	cgroups_free(s);
	return r;
}

int cgroups_clone_fd(const struct cgroup *cg, int *fd, struct hull_err **err)
{
	*fd = -1;
	/* systemd starts the scope with the pid it is given: nothing to clone into. */
	if (!cg->unified || !cg->backend->owns_unified)
		return 0;
	*fd = open(cg->unified, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return hull_err_make(err, errno, "open %s", cg->unified);
	return 0;
}

int cgroups_v1_tasks_fds(const struct cgroup *cg, int *fds, size_t cap, size_t *n, struct hull_err **err)
{
	*n = 0;
	for (int i = 0; i < V1_COUNT; i++) {
		_cleanup_free_ char *p = NULL;
		int fd;
		if (!v1_first(cg, i))
			continue;
		p = xasprintf("%s/tasks", cg->v1[i]);
		if (*n == cap || (fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
			int e = *n == cap ? E2BIG : errno;
			while (*n > 0)
				close(fds[--*n]);
			return hull_err_make(err, e, "open %s", p);
		}
		fds[(*n)++] = fd;
	}
	return 0;
}

int cgroups_enter_self(const struct cgroup *cg, bool cloned_in, int *v1_fds, size_t n_v1_fds,
		       struct hull_err **err)
{
	int r = 0;

	if (cg->unified && !cloned_in && cg_write(cg->unified, "cgroup.procs", "0", err) < 0)
		r = -1;
	/* "0" in tasks moves the calling thread, which is the whole
	 * (single-threaded) process, without the global lock. */
	for (size_t i = 0; i < n_v1_fds; i++) {
		if (r == 0 && write(v1_fds[i], "0", 1) != 1)
			r = hull_err_make(err, errno, "enter the container's v1 cgroups: write \"0\" to tasks");
		close(v1_fds[i]);
	}
	if (r < 0 || v1_fds)
		return r;
	for (int i = 0; i < V1_COUNT; i++)
		if (v1_first(cg, i) && cg_write(cg->v1[i], "tasks", "0", err) < 0)
			return -1;
	return 0;
}

/* ---- backends ------------------------------------------------------------------- */

static int fs_locate(struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg,
		     struct hull_err **err)
{
	/* On pure v1 the name is the pids hierarchy's path. */
	const char *own = l->mode == CG_V1 ? l->own_v1[V1_PIDS] : l->own_unified;

	cg->rel = cg_resolve(cfg->cgroups_path, cfg->id, own ? own : "/", l->mode != CG_V1);
	return 0;
}

static char *fs_v1_rel(const struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg, int i)
{
	return cg_resolve(cfg->cgroups_path, cfg->id, l->own_v1[i], false);
}

static int fs_create(const struct cg_backend *b, const struct cgroups_cfg *cfg, pid_t pid, struct cgroup **out,
		     struct hull_err **err);
static int fs_update(struct cgroup *cg, const struct oci_resources *r, struct hull_err **err);
static int fs_destroy(struct cgroup *cg, struct hull_err **err);

static const struct cg_backend backend_cgroupfs = {
	.create = fs_create,
	.enter = fs_enter,
	.update = fs_update,
	.destroy = fs_destroy,
	.locate = fs_locate,
	.v1_rel = fs_v1_rel,
	.owns_unified = true,
};

static int sd_check(const struct cgroups_cfg *cfg, pid_t pid, struct hull_err **err)
{
	if (!cg_systemd_running())
		return hull_err_make(err, 0, "--systemd-cgroup: systemd is not running on this host");
	if (pid <= 0)
		return hull_err_make(err, EINVAL, "--systemd-cgroup: a scope needs a process");
	return 0;
}

static int sd_locate(struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg,
		     struct hull_err **err)
{
	_cleanup_free_ char *slice = NULL, *sp = NULL;

	if (cg_systemd_parse(cfg->cgroups_path, cfg->id, &slice, &cg->unit, err) < 0 ||
	    cg_systemd_slice_path(slice, &sp, err) < 0)
		return -1;
	cg->rel = xasprintf("%s/%s", sp, cg->unit);
	return 0;
}

/* systemd puts the scope at the same path in every hierarchy. */
static char *sd_v1_rel(const struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg, int i)
{
	return xstrdup(cg->rel);
}

static int sd_start(struct cgroup *cg, const struct cgroups_cfg *cfg, pid_t pid, struct hull_err **err)
{
	_cleanup_free_ char *slice = NULL, *unit = NULL;

	if (cg_systemd_parse(cfg->cgroups_path, cfg->id, &slice, &unit, err) < 0)
		return -1;
	return cg_systemd_start(unit, slice, pid, cfg->resources, err);
}

static int sd_stop(struct cgroup *cg, struct hull_err **err)
{
	return cg_systemd_stop(cg->unit, err);
}

static const struct cg_backend backend_systemd = {
	.create = fs_create,
	.enter = fs_enter,
	.update = fs_update,
	.destroy = fs_destroy,
	.check = sd_check,
	.locate = sd_locate,
	.v1_rel = sd_v1_rel,
	.start = sd_start,
	.stop = sd_stop,
};

/* --cgroup-manager=disabled: a handle naming no directory, so that the
 * queries (pids, stats, freeze, clone_fd...) find nothing either. */
static int none_create(const struct cg_backend *b, const struct cgroups_cfg *cfg, pid_t pid, struct cgroup **out,
		       struct hull_err **err)
{
	*out = xcalloc(1, sizeof(**out));
	(*out)->backend = b;
	return 0;
}

static int none_enter(struct cgroup *cg, const char *sub, pid_t pid, struct hull_err **err)
{
	return 0;
}

static int none_update(struct cgroup *cg, const struct oci_resources *r, struct hull_err **err)
{
	return 0;
}

static int none_destroy(struct cgroup *cg, struct hull_err **err)
{
	return 0;
}

static const struct cg_backend backend_disabled = {
	.create = none_create,
	.enter = none_enter,
	.update = none_update,
	.destroy = none_destroy,
};

static const struct cg_backend *backend_for(const struct cgroups_cfg *cfg)
{
	if (cfg->disabled)
		return &backend_disabled;
	return cfg->systemd ? &backend_systemd : &backend_cgroupfs;
}

static int create_paths(struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg, bool plan,
			struct hull_err **err)
{
	const char *need[16];
	size_t n_need = cg_v2_needed(l, cfg->resources, need, ARRAY_SIZE(need));

	n_need = cg_files_needed(l, cfg, need, n_need, ARRAY_SIZE(need));

	if (cg->backend->locate(cg, l, cfg, err) < 0)
		return -1;
	cg->pure_v2 = l->mode == CG_V2;
	if (l->unified) {
		cg->unified = xasprintf("%s%s", l->unified, cg->rel);
		/* Directories first: the walk reads each ancestor's files. */
		if (cg->backend->owns_unified && make_dirs(cg, l->unified, cg->rel, false, plan, err) < 0)
			return -1;
		if (!plan && (n_need || l->mode == CG_V2) && enable_controllers(l, cg->rel, need, n_need, err) < 0)
			return -1;
	}
	for (int i = 0; i < V1_COUNT; i++) {
		_cleanup_free_ char *rel = NULL;
		if (!l->v1[i])
			continue;
		rel = cg->backend->v1_rel(cg, l, cfg, i);
		cg->v1[i] = xasprintf("%s%s", l->v1[i], rel);
		for (int j = 0; j < i; j++)
			if (cg->v1[j] && strcmp(cg->v1[j], cg->v1[i]) == 0)
				goto next; /* comounted (cpu,cpuacct) */
		if (make_dirs(cg, l->v1[i], rel, i == V1_CPUSET || (l->v1[V1_CPUSET] &&
			      strcmp(l->v1[i], l->v1[V1_CPUSET]) == 0), plan, err) < 0)
			return -1;
next:;
	}
	return 0;
}

int cgroups_create(const struct cgroups_cfg *cfg, pid_t pid, struct cgroup **out, struct hull_err **err)
{
	const struct cg_backend *b = backend_for(cfg);

	return b->create(b, cfg, pid, out, err);
}

static int fs_create(const struct cg_backend *b, const struct cgroups_cfg *cfg, pid_t pid, struct cgroup **out,
		     struct hull_err **err)
{
	const struct cg_layout *l;
	struct cgroup *cg;
	const char *prim;

	if (cgroups_validate(cfg->resources, cfg->cgroups_path, cfg->systemd, err) < 0)
		return -1;
	l = cg_layout_get(err);
	if (!l)
		return -1;
	if (b->check && b->check(cfg, pid, err) < 0)
		return -1;
	if (cg_files_check(l, cfg, err) < 0)
		return -1;
	cg = xcalloc(1, sizeof(*cg));
	cg->backend = b;
	/* runc: a linux.devices node at a default device's path replaces that
	 * default, and its allow rule goes with it.  The same device listed
	 * again (to set its mode or owner) keeps its rule: runc drops it and
	 * then cannot even reopen /dev/null (docs/compat.md). */
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const struct oci_linux_device *d = &cfg->devices[i];
		char t;
		int64_t maj, min;
		if (cg_default_device(d->path, &t, &maj, &min) &&
		    !((d->type == t || (d->type == 'u' && t == 'c')) && d->major == maj && d->minor == min))
			add_dev(cg, t, maj, min);
	}
	if (b->start && b->start(cg, cfg, pid, err) < 0) {
		cgroups_free(cg);
		return -1;
	}
	if (create_paths(cg, l, cfg, false, err) < 0)
		goto fail;
	prim = primary_dir(cg);
	if (b->owns_unified && prim && !was_created(cg, prim) && check_existing(prim, err) < 0)
		goto fail;
	if (check_thawed(cg, cfg->cgroups_path, err) < 0)
		goto fail;
	if ((cg->unified && cg_apply_v2(l, cg->unified, cfg->resources, err) < 0) ||
	    cg_apply_v1(cg, cfg->resources, err) < 0 || cg_files_apply(cg, l, cfg, err) < 0)
		goto fail;
	if (install_devices(cg, cfg->resources, err) < 0)
		goto fail;
	if (pid > 0 && fs_enter(cg, NULL, pid, err) < 0)
		goto fail;
	*out = cg;
	return 0;
fail:
	if (b->stop)
		(void)b->stop(cg, NULL);
	(void)destroy_dirs(cg, NULL);
	cgroups_free(cg);
	return hull_err_ret(*err);
}

int cgroups_plan(const struct cgroups_cfg *cfg, struct cgroup **out, struct hull_err **err)
{
	const struct cg_backend *b = backend_for(cfg);
	const struct cg_layout *l;
	struct cgroup *cg;

	*out = NULL;
	/* A scope is named by systemd, and stopped by name; disabled has no
	 * cgroup: nothing to plan. */
	if (!b->owns_unified)
		return 0;
	if (cgroups_validate(cfg->resources, cfg->cgroups_path, false, err) < 0)
		return -1;
	l = cg_layout_get(err);
	if (!l)
		return -1;
	cg = xcalloc(1, sizeof(*cg));
	cg->backend = b;
	if (create_paths(cg, l, cfg, true, err) < 0) {
		cgroups_free(cg);
		return -1;
	}
	*out = cg;
	return 0;
}

int cgroups_update(struct cgroup *cg, const struct oci_resources *r, struct hull_err **err)
{
	if (cgroups_validate(r, NULL, false, err) < 0)
		return -1;
	return cg->backend->update(cg, r, err);
}

static int fs_update(struct cgroup *cg, const struct oci_resources *r, struct hull_err **err)
{
	const struct cg_layout *l;
	const char *need[16];
	size_t n_need;

	l = cg_layout_get(err);
	if (!l)
		return -1;
	n_need = cg_v2_needed(l, r, need, ARRAY_SIZE(need));
	if (cg->unified && n_need && enable_controllers(l, cg->rel, need, n_need, err) < 0)
		return -1;
	if ((cg->unified && cg_apply_v2(l, cg->unified, r, err) < 0) || cg_apply_v1(cg, r, err) < 0)
		return -1;
	if (r && r->n_devices && install_devices(cg, r, err) < 0)
		return -1;
	return 0;
}

/* Processes may be left in the cgroup or below it: a thaw and kill pass is
 * due.  cgroup2 tracks it (the unified hierarchy sees every process on a
 * hybrid host too) in cgroup.events, whose read also says whether the
 * cgroup is still there; without cgroup2, the primary v1 directory's. */
static bool maybe_populated(const struct cgroup *cg, const char *prim)
{
	uint64_t populated;

	if (cg->unified) {
		int r = cg_read_kv(cg->unified, "cgroup.events", "populated", &populated);
		if (r == 0 || access(prim, F_OK) < 0)
			return r == 0 && populated != 0;
		return true;
	}
	return access(prim, F_OK) == 0;
}

int cgroups_destroy(struct cgroup *cg, struct hull_err **err)
{
	return cg->backend->destroy(cg, err);
}

static int fs_destroy(struct cgroup *cg, struct hull_err **err)
{
	const char *prim = primary_dir(cg);

	if (cg->backend->stop && cg->backend->stop(cg, err) < 0)
		return -1;
	if (prim && maybe_populated(cg, prim)) {
		(void)cgroups_freeze(cg, false, NULL);
		(void)cgroups_kill_all(cg, SIGKILL, NULL);
		if (cg_wait_empty(prim, 5000) == -ETIMEDOUT)
			return hull_err_make(err, EBUSY, "cgroup %s: processes left after SIGKILL", prim);
	}
	return destroy_dirs(cg, err);
}

int cgroups_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct hull_err **err)
{
	const char *prim = primary_dir(cg);
	pid_t *v = NULL;
	size_t cnt = 0, cap = 0;

	if (prim && cg_collect_pids(prim, &v, &cnt, &cap, err) < 0) {
		free(v);
		return -1;
	}
	for (size_t i = 1; i < cnt; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			pid_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*pids = v;
	*n = cnt;
	return 0;
}

int cgroups_kill_all(struct cgroup *cg, int sig, struct hull_err **err)
{
	const char *prim = primary_dir(cg);
	bool v1_freeze = cg->v1[V1_FREEZER] && !cg->unified;

	if (!prim)
		return 0;
	if (sig == SIGKILL && cg->unified && cg_exists(cg->unified, "cgroup.kill")) {
		if (cg_write(cg->unified, "cgroup.kill", "1", err) < 0)
			return -1;
		/* A task frozen by the v1 freezer dies only once thawed (runc thaws too). */
		if (cg->v1[V1_FREEZER])
			(void)cgroups_freeze(cg, false, NULL);
		return 0;
	}
	/* Freeze so nothing forks behind our back; SIGKILL lands on thaw. */
	if (v1_freeze && cgroups_freeze(cg, true, err) < 0)
		return -1;
	for (int round = 0; round < (sig == SIGKILL ? 100 : 1); round++) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0, cap = 0;
		if (cg_collect_pids(prim, &pids, &n, &cap, err) < 0)
			break;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (kill(pids[i], sig) < 0 && errno != ESRCH && !*err)
				hull_err_make(err, errno, "kill %d", (int)pids[i]);
		if (sig != SIGKILL || v1_freeze)
			break;
		usleep(10000);
	}
	if (v1_freeze)
		(void)cgroups_freeze(cg, false, NULL);
	return *err ? hull_err_ret(*err) : 0;
}

/* ---- state round trip ------------------------------------------------------------ */

char *cgroups_serialize(const struct cgroup *cg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	/* disabled: nothing to keep; its container's state has no cgroup. */
	if (cg->backend == &backend_disabled)
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		abort();
	fprintf(f, "hull-cgroups 1\nsystemd %d\npure_v2 %d\nrel %s\n", cg->backend == &backend_systemd, cg->pure_v2,
		cg->rel);
	if (cg->unit)
		fprintf(f, "unit %s\n", cg->unit);
	if (cg->unified)
		fprintf(f, "unified %s\n", cg->unified);
	for (int i = 0; i < V1_COUNT; i++)
		if (cg->v1[i])
			fprintf(f, "v1 %s %s\n", v1_ctrl_names[i], cg->v1[i]);
	for (size_t i = 0; i < cg->n_created; i++)
		fprintf(f, "created %s\n", cg->created[i]);
	if (cg->vm_split)
		fprintf(f, "vm_split 1\n");
	for (size_t i = 0; i < cg->n_devs; i++)
		fprintf(f, "dev %c %" PRId64 " %" PRId64 "\n", cg->devs[i].type, cg->devs[i].major, cg->devs[i].minor);
	fclose(f);
	return buf;
}

int cgroups_load(const char *serialized, struct cgroup **out, struct hull_err **err)
{
	_cleanup_free_ char *copy = xstrdup(serialized);
	struct cgroup *cg = xcalloc(1, sizeof(*cg));
	char *save = NULL, *line;
	int lineno = 0;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, ' ');
		lineno++;
		if (!val)
			goto bad;
		*val++ = '\0';
		if (lineno == 1) {
			if (strcmp(line, "hull-cgroups") != 0 || strcmp(val, "1") != 0)
				goto bad;
		} else if (strcmp(line, "systemd") == 0) {
			cg->backend = strcmp(val, "1") == 0 ? &backend_systemd : &backend_cgroupfs;
		} else if (strcmp(line, "pure_v2") == 0) {
			cg->pure_v2 = strcmp(val, "1") == 0;
		} else if (strcmp(line, "rel") == 0 && !cg->rel && val[0] == '/') {
			cg->rel = xstrdup(val);
		} else if (strcmp(line, "unit") == 0 && !cg->unit) {
			cg->unit = xstrdup(val);
		} else if (strcmp(line, "unified") == 0 && !cg->unified && val[0] == '/') {
			cg->unified = xstrdup(val);
		} else if (strcmp(line, "dev") == 0) {
			char t;
			int64_t ma, mi;
			if (sscanf(val, "%c %" SCNd64 " %" SCNd64, &t, &ma, &mi) != 3 || !strchr("cbup", t))
				goto bad;
			add_dev(cg, t, ma, mi);
		} else if (strcmp(line, "vm_split") == 0) {
			cg->vm_split = strcmp(val, "1") == 0;
		} else if (strcmp(line, "created") == 0 && val[0] == '/') {
			add_created(cg, val);
		} else if (strcmp(line, "v1") == 0) {
			char *p = strchr(val, ' ');
			int c = -1;
			if (!p || p[1] != '/')
				goto bad;
			*p++ = '\0';
			for (int i = 0; i < V1_COUNT; i++)
				if (strcmp(v1_ctrl_names[i], val) == 0)
					c = i;
			if (c < 0 || cg->v1[c])
				goto bad;
			cg->v1[c] = xstrdup(p);
		} else {
			goto bad;
		}
	}
	if (lineno == 0 || !cg->rel)
		goto bad;
	if (!cg->backend)
		cg->backend = &backend_cgroupfs;
	*out = cg;
	return 0;
bad:
	cgroups_free(cg);
	return hull_err_make(err, EINVAL, "cgroup state: line %d is malformed", lineno ? lineno : 1);
}
