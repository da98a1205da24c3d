/* SPDX-License-Identifier: Apache-2.0 */
/* start, kill, delete and ps on an existing container. */
#include "internal.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int start_release(struct container *c, struct hull_err **err)
{
	_cleanup_close_ int fd = openat(c->dir_fd, FIFO_FILE, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	struct pollfd pfd;
	char b = '0';

	if (fd < 0) {
		if (errno == ENXIO)
			return hull_err_make(err, 0, "container \"%s\" is not running", c->id);
		if (errno == ENOENT)
			return hull_err_make(err, 0, "container \"%s\" has already been started", c->id);
		return hull_err_make(err, errno, "open %s/%s", c->dir, FIFO_FILE);
	}
	hull_test_pause("start-opened");
	hull_debug("start %s: releasing init %d through %s", c->id, (int)c->pid, FIFO_FILE);
	if (write(fd, &b, 1) != 1)
		return hull_err_make(err, errno, "write %s/%s", c->dir, FIFO_FILE);
	hull_test_pause("start-released");
	/* POLLERR once no reader is left: the init's fifo fd is close-on-exec, so
	 * this returns when the user process has been exec'd (or the init died). */
	pfd = (struct pollfd){ .fd = fd, .events = 0 };
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	unlinkat(c->dir_fd, FIFO_FILE, 0);
	hull_debug("start %s: the user process is exec'd", c->id);
	return 0;
}

/* The VM-isolated container's commands; NULL (with err) in a program that
 * has none (unit tests). */
const struct runtime_vm_ops *vm_ops(const struct runtime_ctx *ctx, struct hull_err **err)
{
	if (!ctx->vm)
		hull_err_make(err, ENOTSUP, "VM-isolated container");
	return ctx->vm;
}

const struct runtime_vm_ops *vm_guest(const struct runtime_ctx *ctx, struct container *c, struct hull_err **err)
{
	if (container_status(c) == OCI_STATUS_PAUSED) {
		hull_err_make(err, 0, "container \"%s\" is paused: its VM cannot answer until resume", c->id);
		return NULL;
	}
	return vm_ops(ctx, err);
}

int runtime_start(const struct runtime_ctx *ctx, const char *id, struct hull_err **err)
{
	struct container *c = NULL;
	_cleanup_free_ char *st = NULL;
	struct hull_err *herr = NULL;
	enum oci_status s;
	int r = -1;

	if (container_open(ctx, id, &c, err) < 0)
		return -1;
	s = container_status(c);
	if (s != OCI_STATUS_CREATED) {
		hull_err_make(err, 0, "cannot start container \"%s\": it is %s", id, oci_status_names[s]);
		goto out;
	}
	if (container_load_spec(c, err) < 0 || (c->vm ? vm_ops(ctx, err) == NULL || ctx->vm->start(ctx, c, err) < 0
						    : start_release(c, err) < 0))
		goto out;
	st = container_state_json(c, OCI_STATUS_RUNNING, false);
	hull_debug("start %s: poststart hooks", id);
	/* Spec: a poststart failure is only a warning. */
	if (hooks_run(c->spec, OCI_HOOK_POSTSTART, st, &herr) < 0) {
		hull_warn("%s", herr->msg);
		hull_err_free(&herr);
	}
	r = 0;
out:
	container_free(c);
	return r;
}

static uint64_t ns_inode(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static pid_t ppid_of(pid_t pid)
{
	char path[64], buf[512], *p;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p ? (pid_t)strtol(p + 4, NULL, 10) : 0;
}

/* Processes of a container: everything in its pid namespace, or, when it
 * shares the host's, the init and its descendants. */
static int container_pids(struct container *c, pid_t **out, size_t *n, struct hull_err **err)
{
	uint64_t want;
	pid_t *v = NULL;
	size_t cnt = 0;
	struct cgroup *cg;
	struct dirent *e;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (container_cgroup(c, &cg, err) < 0)
		return -1;
	if (cg)
		return cgroups_pids(cg, out, n, err);
	if (!proc_alive(c->pid, c->pid_start))
		return 0;
	want = c->new_pid_ns ? ns_inode(c->pid, "pid") : 0;
	d = opendir("/proc");
	if (!d)
		return hull_err_make(err, errno, "open /proc");
	v = xmalloc(sizeof(pid_t));
	v[cnt++] = c->pid;
	while ((e = readdir(d))) {
		pid_t p = (pid_t)strtol(e->d_name, NULL, 10);
		if (p <= 0 || p == c->pid)
			continue;
		if (want) {
			if (ns_inode(p, "pid") != want)
				continue;
		} else {
			pid_t q = p;
			for (int depth = 0; q > 1 && q != c->pid && depth < 64; depth++)
				q = ppid_of(q);
			if (q != c->pid)
				continue;
		}
		v = xrealloc(v, (cnt + 1) * sizeof(pid_t));
		v[cnt++] = p;
	}
	closedir(d);
	*out = v;
	*n = cnt;
	return 0;
}

int runtime_ps(const struct runtime_ctx *ctx, const char *id, pid_t **pids, size_t *n, struct hull_err **err)
{
	struct container *c = NULL;
	int r;

	if (container_open(ctx, id, &c, err) < 0)
		return -1;
	if (c->vm)
		r = vm_guest(ctx, c, err) ? ctx->vm->ps(ctx, c, pids, n, err) : -1;
	else
		r = container_pids(c, pids, n, err);
	container_free(c);
	return r;
}

static int signal_all(struct container *c, int sig, struct hull_err **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	struct cgroup *cg;
	size_t n = 0;

	if (container_cgroup(c, &cg, err) < 0)
		return -1;
	if (cg)
		return cgroups_kill_all(cg, sig, err);
	if (container_pids(c, &pids, &n, err) < 0)
		return -1;
	/* The init last, so a pid namespace is not torn down under the others' feet. */
	for (size_t i = n; i-- > 0;)
		kill(pids[i], sig);
	return 0;
}

int runtime_kill(const struct runtime_ctx *ctx, const char *id, int sig, bool all, struct hull_err **err)
{
	struct container *c = NULL;
	_cleanup_close_ int pidfd = -1;
	int r = 0;

	if (container_open(ctx, id, &c, err) < 0)
		return -1;
	pidfd = container_pidfd(c);
	if (all && pidfd < 0) {
		/* runc: --all signals what is left in the cgroup, and a stopped
		 * container with nothing left is not an error. */
		struct cgroup *cg;
		r = container_cgroup(c, &cg, err);
		if (r == 0 && cg)
			r = cgroups_kill_all(cg, sig, err);
	} else if (pidfd < 0) {
		r = hull_err_make(err, 0, "container \"%s\" is not running", id);
	} else if (c->vm) {
		r = vm_guest(ctx, c, err) ? ctx->vm->kill(ctx, c, sig, all, err) : -1;
	} else if (all) {
		r = signal_all(c, sig, err);
	} else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
		r = hull_err_make(err, errno, "kill %d with signal %d", c->pid, sig);
	}
	container_free(c);
	return r;
}

/* Thaw every process of the pid namespace `ns` frozen outside the
 * container's cgroup: the dying init waits for each of them. */
static void thaw_pid_ns(struct cgroup *cg, uint64_t ns)
{
	struct dirent *e;
	DIR *d = opendir("/proc");

	if (!d)
		return;
	while ((e = readdir(d))) {
		pid_t p = (pid_t)strtol(e->d_name, NULL, 10);
		if (p > 0 && ns_inode(p, "pid") == ns)
			(void)cgroups_thaw_pid(cg, p, NULL);
	}
	closedir(d);
}

/*
 * SIGKILL everything and wait for the init to be gone (reaped by its parent).
 * Whatever state the init is in: one frozen in another cgroup (moved there
 * from the container's) dies only once thawed, so it is brought back first;
 * a pid namespace's init dies only after all its processes, so if it lingers
 * those are freed too.
 */
static int kill_and_wait(struct container *c, struct hull_err **err)
{
	_cleanup_close_ int pidfd = container_pidfd(c);
	struct cgroup *cg = NULL;
	struct pollfd pfd;
	uint64_t ns;

	if (pidfd < 0)
		return 0;
	ns = c->new_pid_ns ? ns_inode(c->pid, "pid") : 0;
	if (container_cgroup(c, &cg, err) < 0 || cgroups_thaw_pid(cg, c->pid, err) < 0)
		return -1;
	if (signal_all(c, SIGKILL, err) < 0)
		return -1;
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (poll(&pfd, 1, ns ? 1000 : 10000) == 0 && ns) {
		thaw_pid_ns(cg, ns);
		if (cg)
			(void)cgroups_kill_all(cg, SIGKILL, NULL);
		if (poll(&pfd, 1, 10000) == 0)
			return hull_err_make(err, ETIMEDOUT, "wait for container init %d to die", c->pid);
	} else if (pfd.revents == 0 && !ns) {
		return hull_err_make(err, ETIMEDOUT, "wait for container init %d to die", c->pid);
	}
	/* Our own child (foreground run): reap it here. */
	waitpid(c->pid, NULL, WNOHANG);
	return 0;
}

int runtime_delete(const struct runtime_ctx *ctx, const char *id, bool force, struct hull_err **err)
{
	return delete_container(ctx, id, force, NULL, err);
}

int delete_container(const struct runtime_ctx *ctx, const char *id, bool force, struct oci_spec *spec,
		     struct hull_err **err)
{
	struct container *c = NULL;
	struct hull_err *herr = NULL;
	struct cgroup *cg = NULL;
	enum oci_status s;
	int r = -1;

	if (force && runtime_validate_id(id, err) == 0) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", ctx->root, id);
		/* runc: deleting an unknown id with --force succeeds. */
		if (access(dir, F_OK) < 0 && errno == ENOENT)
			return 0;
		/* A create or delete killed before state.json, or while removing
		 * the directory, left it without one: nothing else to undo. */
		r = container_remove_stateless(ctx, id, err);
		if (r != 0) {
			oci_spec_free(spec);
			return r < 0 ? -1 : 0;
		}
	}
	if (container_open(ctx, id, &c, err) < 0) {
		oci_spec_free(spec);
		return -1;
	}
	c->spec = spec;
	s = container_status(c);
	if ((s == OCI_STATUS_RUNNING || s == OCI_STATUS_PAUSED) && !force) {
		hull_err_make(err, 0, "cannot delete container \"%s\" that is not stopped: %s", id,
			      oci_status_names[s]);
		goto out;
	}
	hull_debug("delete %s: it is %s%s", id, oci_status_names[s], force ? ", forced" : "");
	if (kill_and_wait(c, err) < 0)
		goto out;
	hull_test_pause("delete-killed");
	if (c->vm && ctx->vm && ctx->vm->cleanup && ctx->vm->cleanup(ctx, c, err) < 0)
		goto out;
	hull_debug("delete %s: no process left; removing the cgroup", id);
	if (container_cgroup(c, &cg, err) < 0 || (cg && cgroups_destroy(cg, err) < 0))
		goto out;
	hull_test_pause("delete-cgroup");
	hull_debug("delete %s: poststop hooks", id);
	if (container_load_spec(c, &herr) == 0) {
		_cleanup_free_ char *st = container_state_json(c, OCI_STATUS_STOPPED, false);
		/* Spec: poststop failures are logged, and delete goes on. */
		if (hooks_run(c->spec, OCI_HOOK_POSTSTOP, st, &herr) < 0)
			hull_warn("%s", herr->msg);
	} else {
		hull_warn("container \"%s\": %s", id, herr->msg);
	}
	hull_err_free(&herr);
	r = container_remove_dir(c, err);
	if (r == 0)
		hull_debug("delete %s: state directory removed", id);
out:
	container_free(c);
	return r;
}
