/* SPDX-License-Identifier: Apache-2.0 */
/* Pause/resume (v1 freezer.state or v2 cgroup.freeze) and OOM accounting. */
#include "cgroups/internal.h"

#include <inttypes.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>

#define FREEZE_TIMEOUT_MS 10000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* v1: FREEZING turns into FROZEN once every task stopped; re-write to nudge
 * tasks that were forking (runc does the same). */
static int freeze_v1(const char *dir, bool frozen, struct hull_err **err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	int64_t deadline = now_ms() + FREEZE_TIMEOUT_MS;

	for (;;) {
		_cleanup_free_ char *st = NULL;
		if (cg_write(dir, "freezer.state", want, err) < 0 || cg_read(dir, "freezer.state", &st, err) < 0)
			return -1;
		if (strcmp(st, want) == 0)
			return 0;
		if (now_ms() > deadline) {
			if (frozen)
				(void)cg_write(dir, "freezer.state", "THAWED", NULL);
			return hull_err_make(err, ETIMEDOUT, "%s/freezer.state: still %s", dir, st);
		}
		usleep(1000);
	}
}

static int freeze_v2(const char *dir, bool frozen, struct hull_err **err)
{
	_cleanup_free_ char *ev = xasprintf("%s/cgroup.events", dir);
	_cleanup_close_ int fd = -1;
	int64_t deadline = now_ms() + FREEZE_TIMEOUT_MS;

	if (cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	fd = open(ev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "open %s", ev);
	for (;;) {
		uint64_t v = 2;
		int64_t left;
		/* cgroup.events signals POLLPRI on every change of "frozen". */
		if (cg_read_kv(dir, "cgroup.events", "frozen", &v) == 0 && v == (frozen ? 1 : 0))
			return 0;
		left = deadline - now_ms();
		if (left <= 0) {
			if (frozen)
				(void)cg_write(dir, "cgroup.freeze", "0", NULL);
			return hull_err_make(err, ETIMEDOUT, "%s: \"frozen %d\" not reached", ev, frozen);
		}
		(void)poll(&(struct pollfd){ .fd = fd, .events = POLLPRI }, 1, left > 100 ? 100 : (int)left);
	}
}

/* The directory a freeze acts on: dir itself, or its payload sub-cgroup
 * when cgroups_vm_split moved KVM's kernel thread out of the way. */
static char *freeze_dir(const struct cgroup *cg, const char *dir)
{
	return cg->vm_split ? xasprintf("%s/%s", dir, CGROUPS_VM_PAYLOAD) : xstrdup(dir);
}

int cgroups_freeze(struct cgroup *cg, bool frozen, struct hull_err **err)
{
	_cleanup_free_ char *dir = NULL;

	if (cg->v1[V1_FREEZER]) {
		dir = freeze_dir(cg, cg->v1[V1_FREEZER]);
		return freeze_v1(dir, frozen, err);
	}
	if (cg->unified) {
		dir = freeze_dir(cg, cg->unified);
		return freeze_v2(dir, frozen, err);
	}
	return hull_err_make(err, ENOTSUP, "no freezer on this host");
}

int cgroups_is_frozen(struct cgroup *cg, bool *frozen, struct hull_err **err)
{
	_cleanup_free_ char *v = NULL;

	_cleanup_free_ char *dir = NULL;

	*frozen = false;
	if (cg->v1[V1_FREEZER]) {
		dir = freeze_dir(cg, cg->v1[V1_FREEZER]);
		if (cg_read(dir, "freezer.state", &v, err) < 0)
			return -1;
		/* FREEZING counts as paused: the request was made. */
		*frozen = strcmp(v, "THAWED") != 0;
		return 0;
	}
	if (!cg->unified)
		return 0;
	dir = freeze_dir(cg, cg->unified);
	if (!cg_exists(dir, "cgroup.freeze"))
		return 0;
	if (cg_read(dir, "cgroup.freeze", &v, err) < 0)
		return -1;
	*frozen = strcmp(v, "1") == 0;
	return 0;
}

/* Whether dir (a v1 freezer or a cgroup2 directory) holds its tasks frozen,
 * by its own state or an ancestor's. */
static bool dir_frozen(const char *dir, bool v1)
{
	_cleanup_free_ char *v = NULL;
	uint64_t f = 0;

	if (v1)
		return cg_read(dir, "freezer.state", &v, NULL) == 0 && strcmp(v, "THAWED") != 0;
	return cg_read_kv(dir, "cgroup.events", "frozen", &f) == 0 && f == 1;
}

/* Free pid from a frozen dir other than own: move it into own (thawed
 * first; a move into a thawed cgroup thaws the task, on v1 and v2), which
 * touches nobody else; when that is impossible, thaw dir itself. */
static int release_from(const char *dir, const char *own, bool v1, pid_t pid, struct hull_err **err)
{
	if (!dir_frozen(dir, v1))
		return 0;
	if (own && access(own, F_OK) == 0 && (v1 ? freeze_v1(own, false, NULL) : freeze_v2(own, false, NULL)) == 0 &&
	    cg_writef(own, "cgroup.procs", NULL, "%d", (int)pid) == 0 && !dir_frozen(own, v1))
		return 0;
	hull_debug("pid %d is frozen in %s: thawing it", (int)pid, dir);
	return v1 ? freeze_v1(dir, false, err) : freeze_v2(dir, false, err);
}

int cgroups_thaw_pid(struct cgroup *cg, pid_t pid, struct hull_err **err)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *buf = NULL;
	const struct cg_layout *l;
	char *save = NULL;
	int r = 0;

	if (read_file_at(AT_FDCWD, path, &buf, NULL, 0, NULL) < 0)
		return 0; /* gone */
	l = cg_layout_get(err);
	if (!l)
		return -1;
	/* "ID:controllers:/path", "0::/path" for cgroup2; paths are relative to
	 * our cgroup namespace's root, which is the mounts' root for hull. */
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		_cleanup_free_ char *dir = NULL, *own = NULL;
		const char *mount;
		bool v1;

		if (!c2)
			continue;
		*c2 = '\0';
		v1 = c1[1] != '\0';
		if (v1 && !strstr(c1 + 1, "freezer"))
			continue;
		mount = v1 ? l->v1[V1_FREEZER] : l->unified;
		/* A split VM container's processes live in its payload sub-cgroup. */
		if (cg && (v1 ? cg->v1[V1_FREEZER] : cg->unified))
			own = freeze_dir(cg, v1 ? cg->v1[V1_FREEZER] : cg->unified);
		if (!mount || strcmp(c2 + 1, "/") == 0)
			continue; /* the root cannot be frozen */
		dir = xasprintf("%s%s", mount, c2 + 1);
		if (own && strcmp(dir, own) == 0)
			continue; /* the container's own: its kill thaws it */
		if (release_from(dir, own, v1, pid, r < 0 ? NULL : err) < 0)
			r = -1;
	}
	return r;
}

int cgroups_oom_count(struct cgroup *cg, uint64_t *n, struct hull_err **err)
{
	*n = 0;
	if (cg->v1[V1_MEMORY]) {
		if (cg_read_kv(cg->v1[V1_MEMORY], "memory.oom_control", "oom_kill", n) < 0)
			*n = 0;
		return 0;
	}
	if (cg->unified && cg_read_kv(cg->unified, "memory.events", "oom_kill", n) < 0)
		*n = 0;
	return 0;
}

int cgroups_oom_fd(struct cgroup *cg, int *fd, struct hull_err **err)
{
	*fd = -1;
	if (cg->v1[V1_MEMORY]) {
		/* v1: an eventfd registered through cgroup.event_control. */
		const char *dir = cg->v1[V1_MEMORY];
		_cleanup_free_ char *p = xasprintf("%s/memory.oom_control", dir);
		_cleanup_close_ int ofd = open(p, O_RDONLY | O_CLOEXEC);
		_cleanup_close_ int efd = -1;
		if (ofd < 0)
			return hull_err_make(err, errno, "open %s", p);
		efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0)
			return hull_err_make(err, errno, "eventfd");
		if (cg_writef(dir, "cgroup.event_control", err, "%d %d", efd, ofd) < 0)
			return -1;
		*fd = take_fd(&efd);
		return 0;
	}
	if (cg->unified && cg_exists(cg->unified, "memory.events")) {
		_cleanup_free_ char *p = xasprintf("%s/memory.events", cg->unified);
		*fd = open(p, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return hull_err_make(err, errno, "open %s", p);
	}
	return 0;
}
