// SPDX-License-Identifier: Apache-2.0
/*
 * shim/container.c: the "container" backend: each Task call runs hull's
 * own CLI as a child process (`hull --root R create/start/kill/...`), as
 * containerd's runc shim runs runc.  A separate process per call keeps the
 * shim's threads away from hull's fork/namespace work and gives the exact
 * behaviour of the CLI users already test.
 */
#include <json-c/json.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "shim/internal.h"
#include "namespaces/namespaces.h"

static char *log_path(const struct shim_proc *p)
{
	return xasprintf("%s/hull.log", p->bundle);
}

/* containerd names FIFOs it already opened for reading (stdout, stderr) or
 * will open for writing (stdin).  O_RDWR never blocks on a FIFO without a
 * peer; stdin opens non-blocking read-only (a later writer is seen) and is
 * then made blocking for the container.  "" is /dev/null (-1). */
static int open_stdio(const char *path, bool input, struct hull_err **err)
{
	int fd;

	if (!path || !*path)
		return -1;
	if (strstr(path, "://"))
		return hull_err_make(err, EOPNOTSUPP, "stdio %s: only FIFO or file paths are supported", path);
	fd = open(path, (input ? O_RDONLY | O_NONBLOCK : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "open %s", path);
	if (input)
		fcntl(fd, F_SETFL, 0);
	return fd;
}

/* CreateTaskRequest.rootfs: containerd's snapshot mounts, mounted on
 * BUNDLE/rootfs (empty when `ctr run --rootfs` gave a directory). */
static int mount_rootfs(struct shim_proc *p, const Containerd__Task__V2__CreateTaskRequest *req,
			struct hull_err **err)
{
	_cleanup_free_ char *target = xasprintf("%s/rootfs", p->bundle);

	if (req->n_rootfs == 0)
		return 0;
	if (req->n_rootfs > 1)
		return hull_err_make(err, EOPNOTSUPP, "rootfs: %zu mounts, only one is supported",
				     req->n_rootfs);
	Containerd__Types__Mount *m = req->rootfs[0];
	struct ns_mount_opts mo;

	if (ns_mount_opts_parse(m->options, m->n_options, &mo, err) < 0)
		return hull_err_wrap(err, "rootfs options");
	if (mkdir(target, 0711) < 0 && errno != EEXIST) {
		ns_mount_opts_clear(&mo);
		return hull_err_make(err, errno, "mkdir %s", target);
	}
	if (mount(m->source, target, m->type, mo.flags | (mo.bind ? MS_BIND : 0) | (mo.rec ? MS_REC : 0),
		  mo.data) < 0) {
		ns_mount_opts_clear(&mo);
		return hull_err_make(err, errno, "mount %s (%s) on %s", m->source, m->type, target);
	}
	ns_mount_opts_clear(&mo);
	p->rootfs_mounted = true;
	return 0;
}

static int read_pid(const char *path, pid_t *pid, struct hull_err **err)
{
	_cleanup_free_ char *buf = NULL;
	int64_t v;

	if (read_file_at(AT_FDCWD, path, &buf, NULL, 64, err) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_i64(buf, &v) < 0 || v <= 0 || v > INT32_MAX)
		return hull_err_make(err, 0, "%s: not a pid", path);
	*pid = (pid_t)v;
	return 0;
}

/* `hull [--isolation X] args` (X: the container's runtime option). */
static int run_hull(struct shim *s, struct shim_proc *p, char *const *args, int in, int out, int errfd,
		    char **output, struct hull_err **err)
{
	_cleanup_free_ char *log = log_path(p);
	size_t n = strv_len(args);
	_cleanup_free_ char **argv = xcalloc(n + 3, sizeof(*argv));
	size_t k = 0;

	if (p->isolation) {
		argv[k++] = (char *)"--isolation";
		argv[k++] = p->isolation;
	}
	memcpy(argv + k, args, n * sizeof(*argv));
	return shim_run_hull(s, log, argv, in, out, errfd, output, err);
}

/* Run `hull args` with p's stdio; its pid file names p's process, which
 * reparents to the shim when hull exits.  A terminal: hull gets
 * --console-socket (args ends in the id and has room for two more) and no stdio; the
 * pty master it sends there is copied to and from p's FIFOs. */
static int run_process(struct shim *s, struct shim_proc *p, char **args, const char *pidfile,
		       struct hull_err **err)
{
	_cleanup_close_ int in = -1, out = -1, errfd = -1;
	char *cdir = NULL, *cpath = NULL;
	int lfd = -1, master = -1, r = -1;
	pid_t pid = 0;

	if (p->terminal) {
		size_t n = strv_len(args);
		if ((lfd = shim_console_listen(&cdir, &cpath, err)) < 0)
			goto out;
		/* before the id, the last argument */
		args[n - 1] = (char *)"--console-socket";
		args[n] = cpath;
		args[n + 1] = p->id;
		args[n + 2] = NULL;
	} else if ((in = open_stdio(p->stdin_path, true, err)) < -1 ||
		   (out = open_stdio(p->stdout_path, false, err)) < -1 ||
		   (errfd = open_stdio(p->stderr_path, false, err)) < -1) {
		goto out;
	}
	if (run_hull(s, p, args, in, out, errfd, NULL, err) < 0 || read_pid(pidfile, &pid, err) < 0)
		goto out;
	if (p->terminal) {
		if (shim_console_take(lfd, &master, err) < 0)
			goto out; /* the process is killed by the caller's cleanup (Delete) */
		/* Under the lock: a ResizePty in between is applied, not lost. */
		pthread_mutex_lock(&s->lock);
		r = shim_tty_start(p, master, err);
		pthread_mutex_unlock(&s->lock);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	if (pid > 0) {
		pthread_mutex_lock(&s->lock);
		p->pid = pid;
		shim_claim_orphan_locked(s, p);
		pthread_mutex_unlock(&s->lock);
	}
	if (lfd >= 0 || cdir)
		shim_console_unlisten(lfd, cdir, cpath);
	return r;
}

/* CRIU's work directory: the client's, kept; else BUNDLE/criu-work,
 * removed after the call (runc's shim).  A failure keeps CRIU's log as
 * BUNDLE/criu-LOG and names it. */
static char *criu_work(const struct shim_proc *p, const char *client)
{
	return client ? xstrdup(client) : xasprintf("%s/criu-work", p->bundle);
}

static int criu_done(const struct shim_proc *p, const char *work, bool ours, const char *log, int r,
		     struct hull_err **err)
{
	_cleanup_free_ char *from = xasprintf("%s/%s", work, log);
	_cleanup_free_ char *to = xasprintf("%s/criu-%s", p->bundle, log);

	if (r < 0 && rename(from, to) == 0)
		hull_err_wrap(err, "CRIU's log is %s", to);
	if (ours)
		rm_rf_at(AT_FDCWD, work);
	return r;
}

static int c_create(struct shim *s, struct shim_proc *p, const Containerd__Task__V2__CreateTaskRequest *req,
		    struct hull_err **err)
{
	_cleanup_free_ char *pidfile = xasprintf("%s/init.pid", p->bundle);
	char *args[] = { "create", "--bundle", p->bundle, "--pid-file", pidfile, p->id, NULL, NULL, NULL };

	if (mount_rootfs(p, req, err) < 0)
		return -1;
	/* A restore: CRIU makes the container at Start (runc's shim), pid 0
	 * until then. */
	if (p->checkpoint)
		return 0;
	if (run_process(s, p, args, pidfile, err) == 0)
		return 0;
	if (p->pid > 0) {
		/* Created, but its terminal could not be taken: nothing may stay. */
		char *del[] = { "delete", "--force", p->id, NULL };
		(void)run_hull(s, p, del, -1, -1, -1, NULL, NULL);
	}
	if (p->rootfs_mounted) {
		shim_unmount_rootfs(p->bundle);
		p->rootfs_mounted = false;
	}
	return -1;
}

static int simple(struct shim *s, struct shim_proc *p, const char *verb, struct hull_err **err)
{
	char *args[] = { (char *)verb, p->id, NULL };

	return run_hull(s, p, args, -1, -1, -1, NULL, err);
}

/* `hull restore --detach` of Create's image into p's bundle, its stdio
 * (or terminal) as `hull create` would have had.  Create's parent_checkpoint
 * goes as --parent-path, as runc's shim passes it (runc's restore has no such
 * flag; hull's checks it is the image's parent). */
static int restore(struct shim *s, struct shim_proc *p, struct hull_err **err)
{
	_cleanup_free_ char *pidfile = xasprintf("%s/init.pid", p->bundle);
	_cleanup_free_ char *work = criu_work(p, NULL);
	/* room for --console-socket PATH (run_process) */
	char *args[16] = { "restore", "--detach", "--image-path", p->checkpoint, "--work-path", work,
			   "--bundle", p->bundle, "--pid-file", pidfile };
	size_t n = 10;

	if (p->parent_checkpoint) {
		args[n++] = "--parent-path";
		args[n++] = p->parent_checkpoint;
	}
	args[n] = p->id;

	return criu_done(p, work, true, "restore.log", run_process(s, p, args, pidfile, err), err);
}

/* The started init gets an OOM watch (`hull events`; its stats lines once
 * a day are ignored): it ends when Delete kills it. */
static void watch_oom(struct shim *s, struct shim_proc *p)
{
	_cleanup_free_ char *log = log_path(p);
	char *args[] = { "events", "--interval", "1440m", p->id, NULL };
	pid_t pid = shim_watch_oom(s, log, args, p->id);

	pthread_mutex_lock(&s->lock);
	p->oom_pid = pid;
	pthread_mutex_unlock(&s->lock);
}

static int c_start(struct shim *s, struct shim_proc *p, struct hull_err **err)
{
	if ((p->checkpoint ? restore(s, p, err) : simple(s, p, "start", err)) < 0)
		return -1;
	watch_oom(s, p);
	return 0;
}

/* `hull exec -d --process F --pid-file P ID`: the process reparents to the
 * shim (a subreaper) when hull exits, like the init. */
static int c_exec(struct shim *s, struct shim_proc *p, struct hull_err **err)
{
	_cleanup_free_ char *spec = xasprintf("%s/exec-%s.json", p->bundle, p->exec_id);
	_cleanup_free_ char *pidfile = xasprintf("%s/exec-%s.pid", p->bundle, p->exec_id);
	char *args[] = { "exec", "--detach", "--process", spec, "--pid-file", pidfile, p->id, NULL, NULL, NULL };
	int ret;

	if (write_file_atomic_at(AT_FDCWD, spec, p->spec, p->spec_len, 0600, err) < 0)
		return -1;
	ret = run_process(s, p, args, pidfile, err);
	unlink(spec);
	unlink(pidfile);
	return ret;
}

static int c_kill(struct shim *s, struct shim_proc *p, int sig, bool all, struct hull_err **err)
{
	char num[16];
	char *args[] = { "kill", p->id, num, NULL, NULL };

	snprintf(num, sizeof(num), "%d", sig);
	if (all) {
		args[1] = "--all";
		args[2] = p->id;
		args[3] = num;
	}
	return run_hull(s, p, args, -1, -1, -1, NULL, err);
}

/* runc's shim's flags: options.exit is runc's default (the container
 * goes), else --leave-running. */
static int c_checkpoint(struct shim *s, struct shim_proc *p, const struct shim_ckpt_opts *o, struct hull_err **err)
{
	_cleanup_free_ char *work = criu_work(p, o->work_path);
	char *args[16] = { "checkpoint", "--image-path", (char *)o->path, "--work-path", work };
	size_t n = 5;
	int r;

	if (!o->exit)
		args[n++] = "--leave-running";
	if (o->open_tcp)
		args[n++] = "--tcp-established";
	if (o->external_unix_sockets)
		args[n++] = "--ext-unix-sk";
	if (o->terminal)
		args[n++] = "--shell-job";
	if (o->file_locks)
		args[n++] = "--file-locks";
	if (o->cgroups_mode) {
		args[n++] = "--manage-cgroups-mode";
		args[n++] = o->cgroups_mode;
	}
	args[n++] = p->id;
	/* The dump with exit deletes the cgroup, which cgroup v1 signals on
	 * the OOM eventfd (Delete's reason, task.c): the watch stops first,
	 * and comes back if the task stays. */
	if (o->exit) {
		pthread_mutex_lock(&s->lock);
		shim_stop_oom_locked(s, p);
		pthread_mutex_unlock(&s->lock);
	}
	r = criu_done(p, work, !o->work_path, "dump.log", run_hull(s, p, args, -1, -1, -1, NULL, err), err);
	if (r < 0 && o->exit)
		watch_oom(s, p);
	if (r == 0 && o->exit) {
		/* hull deleted its container (runc too); the init's exit is
		 * the reaper's, Delete has only the shim's part left. */
		pthread_mutex_lock(&s->lock);
		p->hull_gone = true;
		pthread_mutex_unlock(&s->lock);
	}
	return r;
}

static int c_remove(struct shim *s, struct shim_proc *p, struct hull_err **err)
{
	char *args[] = { "delete", "--force", p->id, NULL };
	bool none;

	/* Nothing of hull's to delete: dumped with exit, or a restore never
	 * started (or failed: hull left nothing). */
	pthread_mutex_lock(&s->lock);
	none = p->hull_gone || (p->checkpoint && p->pid == 0);
	pthread_mutex_unlock(&s->lock);
	if (none)
		return 0;
	return run_hull(s, p, args, -1, -1, -1, NULL, err);
}

static int c_pause(struct shim *s, struct shim_proc *p, bool pause, struct hull_err **err)
{
	return simple(s, p, pause ? "pause" : "resume", err);
}

static int c_pids(struct shim *s, struct shim_proc *p, int **pids, size_t *n, struct hull_err **err)
{
	_cleanup_free_ char *out = NULL;
	char *args[] = { "ps", "--format", "json", p->id, NULL };
	json_object *arr;

	if (run_hull(s, p, args, -1, -1, -1, &out, err) < 0)
		return -1;
	arr = out ? json_tokener_parse(out) : NULL;
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return hull_err_make(err, EPROTO, "hull ps: not a JSON array");
	}
	*n = json_object_array_length(arr);
	*pids = xcalloc(*n ? *n : 1, sizeof(**pids));
	for (size_t i = 0; i < *n; i++)
		(*pids)[i] = json_object_get_int(json_object_array_get_idx(arr, i));
	json_object_put(arr);
	return 0;
}

/* `hull update --resources F ID`: F holds containerd's LinuxResources JSON. */
static int c_update(struct shim *s, struct shim_proc *p, const uint8_t *res, size_t len, struct hull_err **err)
{
	_cleanup_free_ char *file = xasprintf("%s/update.json", p->bundle);
	char *args[] = { "update", "--resources", file, p->id, NULL };
	int ret;

	if (write_file_atomic_at(AT_FDCWD, file, (const char *)res, len, 0600, err) < 0)
		return -1;
	ret = run_hull(s, p, args, -1, -1, -1, NULL, err);
	unlink(file);
	return ret;
}

static int c_stats(struct shim *s, struct shim_proc *p, char **json, struct hull_err **err)
{
	char *args[] = { "events", "--stats", p->id, NULL };

	return run_hull(s, p, args, -1, -1, -1, json, err);
}

const struct shim_backend shim_backend_container = {
	.name = "container",
	.create = c_create,
	.start = c_start,
	.exec = c_exec,
	.kill = c_kill,
	.remove = c_remove,
	.pause = c_pause,
	.pids = c_pids,
	.update = c_update,
	.checkpoint = c_checkpoint,
	.stats = c_stats,
};
