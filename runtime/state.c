/* SPDX-License-Identifier: Apache-2.0 */
/*
 * State store: ROOT/ID/{state.json,config.json,exec.fifo}.
 * Commands on one id are serialised by flock on ROOT/ID itself; state.json is
 * replaced atomically so a reader never sees half a file.
 */
#include "internal.h"

#include <dirent.h>
#include <json-c/json.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>


static char *now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	utc_time(ts.tv_sec, &tm);
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* The lock is on the directory itself: a lock file would be one more inode
 * to create and remove per container. */
static int lock_dir(struct container *c, struct hull_err **err)
{
	c->lock_fd = openat(c->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->lock_fd < 0)
		return hull_err_make(err, errno, "open %s", c->dir);
	while (flock(c->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return hull_err_make(err, errno, "lock %s", c->dir);
	}
	return 0;
}

static struct container *container_alloc(const struct runtime_ctx *ctx, const char *id)
{
	struct container *c = xcalloc(1, sizeof(*c));
	c->id = xstrdup(id);
	c->dir = xasprintf("%s/%s", ctx->root, id);
	c->dir_fd = -1;
	c->lock_fd = -1;
	return c;
}

int container_new(const struct runtime_ctx *ctx, const char *id, struct container **out, struct hull_err **err)
{
	struct container *c;

	if (runtime_validate_id(id, err) < 0)
		return -1;
	if (mkdir_p(ctx->root, 0700, err) < 0)
		return hull_err_wrap(err, "--root");
	c = container_alloc(ctx, id);
	if (mkdir(c->dir, 0700) < 0) {
		int e = errno;
		container_free(c);
		if (e == EEXIST)
			return hull_err_make(err, 0, "container \"%s\" already exists", id);
		return hull_err_make(err, e, "mkdir %s/%s", ctx->root, id);
	}
	c->dir_fd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (c->dir_fd < 0 || lock_dir(c, err) < 0) {
		if (c->dir_fd < 0)
			hull_err_make(err, errno, "open %s", c->dir);
		container_remove_dir(c, NULL);
		container_free(c);
		return -1;
	}
	c->created = now_rfc3339();
	/* The uid, not the name: NSS lookups cost more than the rest of create. */
	c->owner = xasprintf("%u", geteuid());
	*out = c;
	return 0;
}

const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int load_state(struct container *c, struct hull_err **err)
{
	_cleanup_free_ char *text = NULL;
	struct json_object *o;
	int r;

	r = read_file_at(c->dir_fd, STATE_FILE, &text, NULL, 1 << 20, err);
	if (r < 0)
		return hull_err_wrap(err, "container \"%s\"", c->id);
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return hull_err_make(err, 0, "%s/%s: corrupt state file", c->dir, STATE_FILE);
	}
	c->pid = (pid_t)jint(o, "pid");
	c->pid_start = (uint64_t)jint(o, "pidStart");
	c->bundle = xstrdup(jstr(o, "bundle"));
	c->rootfs = xstrdup(jstr(o, "rootfs"));
	c->created = xstrdup(jstr(o, "created"));
	c->owner = xstrdup(jstr(o, "owner"));
	c->cgroup = xstrdup(jstr(o, "cgroup"));
	c->new_pid_ns = jint(o, "newPidNs") != 0;
	c->vm = jstr(o, "isolation") && strcmp(jstr(o, "isolation"), "vm") == 0;
	json_object_put(o);
	return 0;
}

int container_open(const struct runtime_ctx *ctx, const char *id, struct container **out, struct hull_err **err)
{
	struct container *c;
	struct stat st;

	if (runtime_validate_id(id, err) < 0)
		return -1;
	c = container_alloc(ctx, id);
	c->dir_fd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (c->dir_fd < 0) {
		int e = errno;
		container_free(c);
		if (e == ENOENT)
			return hull_err_make(err, 0, "container \"%s\" does not exist", id);
		return hull_err_make(err, e, "open %s/%s", ctx->root, id);
	}
	if (lock_dir(c, err) < 0)
		goto fail;
	/* A delete that held the lock before us removed the directory. */
	if (fstat(c->dir_fd, &st) < 0 || st.st_nlink == 0) {
		hull_err_make(err, 0, "container \"%s\" does not exist", id);
		goto fail;
	}
	if (load_state(c, err) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	container_free(c);
	return -1;
}

int container_remove_stateless(const struct runtime_ctx *ctx, const char *id, struct hull_err **err)
{
	struct container *c = container_alloc(ctx, id);
	struct stat st;
	int r = 1;

	c->dir_fd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (c->dir_fd < 0) {
		r = errno == ENOENT ? 1 : hull_err_make(err, errno, "open %s", c->dir);
		goto out;
	}
	/* A create still running holds the lock until it has saved its state. */
	if (lock_dir(c, err) < 0) {
		r = -1;
		goto out;
	}
	if (fstat(c->dir_fd, &st) < 0 || st.st_nlink == 0)
		goto out;
	if (faccessat(c->dir_fd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		r = 0;
		goto out;
	}
	hull_debug("container \"%s\" has no %s: removing its directory", id, STATE_FILE);
	if (container_remove_dir(c, err) < 0)
		r = -1;
out:
	container_free(c);
	return r;
}

int container_save(struct container *c, struct hull_err **err)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	int r;

	json_object_object_add(o, "id", json_object_new_string(c->id));
	json_object_object_add(o, "pid", json_object_new_int64(c->pid));
	json_object_object_add(o, "pidStart", json_object_new_int64((int64_t)c->pid_start));
	json_object_object_add(o, "bundle", json_object_new_string(c->bundle ? c->bundle : ""));
	json_object_object_add(o, "rootfs", json_object_new_string(c->rootfs ? c->rootfs : ""));
	json_object_object_add(o, "created", json_object_new_string(c->created ? c->created : ""));
	json_object_object_add(o, "owner", json_object_new_string(c->owner ? c->owner : ""));
	if (c->cgroup)
		json_object_object_add(o, "cgroup", json_object_new_string(c->cgroup));
	json_object_object_add(o, "newPidNs", json_object_new_int(c->new_pid_ns));
	if (c->vm)
		json_object_object_add(o, "isolation", json_object_new_string("vm"));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	r = write_file_atomic_at(c->dir_fd, STATE_FILE, text, strlen(text), 0600, err);
	json_object_put(o);
	return r;
}

int container_load_spec(struct container *c, struct hull_err **err)
{
	_cleanup_free_ char *path = NULL;

	if (c->spec)
		return 0;
	path = xasprintf("%s/%s", c->dir, CONFIG_FILE);
	return oci_spec_load(path, &c->spec, err);
}

int container_remove_dir(struct container *c, struct hull_err **err)
{
	int r = rm_rf_at(AT_FDCWD, c->dir);
	if (r < 0)
		return hull_err_make(err, -r, "remove %s", c->dir);
	return 0;
}

void container_free(struct container *c)
{
	if (!c)
		return;
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	if (c->dir_fd >= 0)
		close(c->dir_fd);
	if (c->spec)
		oci_spec_free(c->spec);
	cgroups_free(c->cg);
	free(c->id);
	free(c->dir);
	free(c->bundle);
	free(c->rootfs);
	free(c->created);
	free(c->owner);
	free(c->cgroup);
	free(c);
}

/* Field 22 of /proc/PID/stat; the comm field may contain spaces and ')'. */
/* State (field 3) and the numeric field `field` (>= 4) of /proc/PID/stat. */
static int proc_stat(pid_t pid, int field, char *state, uint64_t *val)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p += 2;
	*state = *p;
	for (int f = 3; f < field && p; f++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -EIO;
	*val = strtoull(p, NULL, 10);
	return 0;
}

uint64_t proc_start_time(pid_t pid)
{
	char st;
	uint64_t start = 0;
	return proc_stat(pid, 22, &st, &start) == 0 ? start : 0;
}

bool proc_killed(pid_t pid)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ char *path = xasprintf("/proc/%d/status", (int)pid);
	static const char *const keys[] = { "\nSigPnd:", "\nShdPnd:" };
	const char *st;

	if (read_file_at(AT_FDCWD, path, &buf, NULL, 1 << 16, NULL) < 0)
		return true;
	st = strstr(buf, "\nState:\t");
	if (st && (st[8] == 'Z' || st[8] == 'X'))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *k = strstr(buf, keys[i]);
		if (k && (strtoull(k + strlen(keys[i]), NULL, 16) & (1ull << (SIGKILL - 1))))
			return true;
	}
	return false;
}

bool proc_alive(pid_t pid, uint64_t start)
{
	char st;
	uint64_t s;

	if (pid <= 0 || proc_stat(pid, 22, &st, &s) < 0)
		return false;
	if (st == 'Z' || st == 'X')
		return false;
	return start == 0 || s == start;
}

int container_pidfd(struct container *c)
{
	int fd;

	if (c->pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (fd < 0)
		return -1;
	/* The pidfd pins the pid: if the start time still matches now, it is ours. */
	if (!proc_alive(c->pid, c->pid_start)) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}

bool runtime_cgroups_enabled(const struct runtime_ctx *ctx)
{
	return !ctx->cgroup_manager || strcmp(ctx->cgroup_manager, "disabled") != 0;
}

int container_cgroup(struct container *c, struct cgroup **cg, struct hull_err **err)
{
	if (!c->cg && c->cgroup && cgroups_load(c->cgroup, &c->cg, err) < 0)
		return hull_err_wrap(err, "container \"%s\" cgroup", c->id);
	*cg = c->cg;
	return 0;
}

enum oci_status container_status(struct container *c)
{
	struct cgroup *cg = NULL;
	bool frozen = false;
	struct stat st;

	if (!proc_alive(c->pid, c->pid_start))
		return OCI_STATUS_STOPPED;
	if (fstatat(c->dir_fd, FIFO_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return OCI_STATUS_CREATED;
	if (container_cgroup(c, &cg, NULL) == 0 && cg && cgroups_is_frozen(cg, &frozen, NULL) == 0 && frozen)
		return OCI_STATUS_PAUSED;
	return OCI_STATUS_RUNNING;
}

char *container_state_json(struct container *c, enum oci_status st, bool pretty)
{
	struct oci_state s = {
		.oci_version = (char *)HULL_OCI_SPEC_VERSION,
		.id = c->id,
		.status = st,
		.pid = st == OCI_STATUS_STOPPED ? 0 : c->pid,
		.bundle = c->bundle,
	};
	if (c->spec) {
		s.oci_version = c->spec->oci_version;
		s.annotations = c->spec->annotations;
		s.n_annotations = c->spec->n_annotations;
	}
	return oci_state_to_json(&s, pretty);
}

/*
 * /etc/passwd read directly, as runc does: hull is a static binary, and
 * getpwuid() would need glibc's NSS modules at run time.
 */
static char *owner_name(const char *uid)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct passwd *pw;
	uint64_t u;

	if (!uid || parse_u64(uid, &u) < 0 || !(f = fopen("/etc/passwd", "re")))
		return xstrdup(uid ? uid : "");
	while ((pw = fgetpwent(f)))
		if (pw->pw_uid == (uid_t)u)
			return xstrdup(pw->pw_name);
	return xstrdup(uid);
}

void runtime_info_free(struct runtime_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].bundle);
		free(v[i].created);
		free(v[i].owner);
	}
	free(v);
}

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct runtime_info *)a)->id, ((const struct runtime_info *)b)->id);
}

int runtime_list(const struct runtime_ctx *ctx, struct runtime_info **out, size_t *n, struct hull_err **err)
{
	struct runtime_info *v = NULL;
	struct dirent *e;
	size_t cnt = 0;
	DIR *d = opendir(ctx->root);

	*out = NULL;
	*n = 0;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return hull_err_make(err, errno, "open %s", ctx->root);
	}
	while ((e = readdir(d))) {
		struct container *c = NULL;
		struct hull_err *ignored = NULL;
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		/* Skip containers being created or deleted right now. */
		if (container_open(ctx, e->d_name, &c, &ignored) < 0) {
			hull_err_free(&ignored);
			continue;
		}
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		v[cnt].id = xstrdup(c->id);
		v[cnt].status = container_status(c);
		v[cnt].pid = v[cnt].status == OCI_STATUS_STOPPED ? 0 : c->pid;
		v[cnt].bundle = xstrdup(c->bundle ? c->bundle : "");
		v[cnt].created = xstrdup(c->created ? c->created : "");
		v[cnt].owner = owner_name(c->owner);
		cnt++;
		container_free(c);
	}
	closedir(d);
	/* runc lists in id order (Go's ReadDir sorts by name). */
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), info_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

int runtime_state_json(const struct runtime_ctx *ctx, const char *id, char **json, struct hull_err **err)
{
	struct container *c = NULL;

	if (container_open(ctx, id, &c, err) < 0)
		return -1;
	/* Annotations come from the saved config; a broken copy must not hide the state. */
	(void)container_load_spec(c, NULL);
	*json = container_state_json(c, container_status(c), true);
	container_free(c);
	return 0;
}
