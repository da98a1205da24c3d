/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec: a new process in a running container.
 *
 *   hull exec (P) --fork--> join (J): setns(pidfd, the container's namespaces)
 *                                     fork --> process (E): pty, confinement, exec
 *
 * J exits once E exists, so E is reparented to hull (subreaper) when in the
 * foreground, or to the engine's shim with --detach.
 */
#include "internal.h"
#include "namespaces/namespaces.h"

#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void env_set(char ***env, size_t *n, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);

	for (size_t i = 0; i < *n; i++) {
		if (strncmp((*env)[i], kv, kl) == 0 && (*env)[i][kl] == '=') {
			free((*env)[i]);
			(*env)[i] = xstrdup(kv);
			return;
		}
	}
	*env = xrealloc(*env, (*n + 2) * sizeof(char *));
	(*env)[(*n)++] = xstrdup(kv);
	(*env)[*n] = NULL;
}

static int parse_user(const char *s, struct oci_user *u, struct hull_err **err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *colon = strchr(copy, ':');
	uint64_t v;

	if (colon)
		*colon = '\0';
	if (parse_u64(copy, &v) < 0 || v > UINT32_MAX)
		return hull_err_make(err, 0, "--user: \"%s\" is not uid[:gid]", s);
	u->uid = (uint32_t)v;
	if (colon) {
		if (parse_u64(colon + 1, &v) < 0 || v > UINT32_MAX)
			return hull_err_make(err, 0, "--user: \"%s\" is not uid[:gid]", s);
		u->gid = (uint32_t)v;
	}
	return 0;
}

/* runc's exec: the container's process, overridden by flags or --process. */
static int build_process(struct container *c, const struct runtime_exec_opts *o, struct oci_process *p,
			 struct hull_err **err)
{
	if (o->process_file) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		if (read_file_at(AT_FDCWD, o->process_file, &text, &len, 0, err) < 0)
			return hull_err_wrap(err, "--process");
		if (oci_process_parse(text, len, o->process_file, p, err) < 0)
			return -1;
	} else {
		oci_process_copy(p, &c->spec->process);
		strv_free(p->args);
		p->args = NULL;
		p->n_args = 0;
		for (size_t i = 0; o->argv[i]; i++) {
			p->args = xrealloc(p->args, (i + 2) * sizeof(char *));
			p->args[i] = xstrdup(o->argv[i]);
			p->args[i + 1] = NULL;
			p->n_args = i + 1;
		}
		p->terminal = o->tty;
	}
	if (o->tty_set)
		p->terminal = o->tty;
	if (o->cwd) {
		if (o->cwd[0] != '/')
			return hull_err_make(err, 0, "--cwd: \"%s\" must be an absolute path", o->cwd);
		free(p->cwd);
		p->cwd = xstrdup(o->cwd);
	}
	for (size_t i = 0; o->env && o->env[i]; i++)
		env_set(&p->env, &p->n_env, o->env[i]);
	if (o->user && parse_user(o->user, &p->user, err) < 0)
		return -1;
	for (size_t i = 0; o->additional_gids && o->additional_gids[i]; i++) {
		uint64_t g;
		if (parse_u64(o->additional_gids[i], &g) < 0 || g > UINT32_MAX)
			return hull_err_make(err, 0, "--additional-gids: invalid gid \"%s\"", o->additional_gids[i]);
		p->user.additional_gids = xrealloc(p->user.additional_gids,
						   (p->user.n_additional_gids + 1) * sizeof(uint32_t));
		p->user.additional_gids[p->user.n_additional_gids++] = (uint32_t)g;
	}
	for (size_t i = 0; o->caps && o->caps[i]; i++) {
		int cap = oci_cap_from_name(o->caps[i]);
		if (cap < 0)
			return hull_err_make(err, 0, "--cap: unknown capability \"%s\"", o->caps[i]);
		p->has_capabilities = true;
		for (int set = OCI_CAP_BOUNDING; set <= OCI_CAP_PERMITTED; set++)
			p->caps[set] |= 1ULL << cap;
	}
	if (o->no_new_privs_set)
		p->no_new_privileges = o->no_new_privs;
	if (o->apparmor) {
		free(p->apparmor_profile);
		p->apparmor_profile = xstrdup(o->apparmor);
	}
	if (o->process_label) {
		free(p->selinux_label);
		p->selinux_label = xstrdup(o->process_label);
	}
	if (!p->args || !p->args[0])
		return hull_err_make(err, 0, "process.args: must not be empty");
	if (p->terminal && o->detach && !o->console_socket)
		return hull_err_make(err, 0, "--tty with --detach needs --console-socket");
	return 0;
}

/* Namespaces of the container init that differ from ours: those are joined. */
static int differing_ns(pid_t pid)
{
	int flags = 0;

	for (int t = 0; t < OCI_NS_COUNT; t++) {
		char a[64], b[64];
		struct stat sa, sb;
		snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, oci_ns_table[t].proc_name);
		snprintf(b, sizeof(b), "/proc/self/ns/%s", oci_ns_table[t].proc_name);
		if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino != sb.st_ino)
			flags |= oci_ns_table[t].clone_flag;
	}
	return flags;
}

/*
 * Until start, the init of a container with its own pid namespace is hull's
 * own unsealed binary (stage.c, stage_needs_seal), not dumpable: a process
 * that joins that pid namespace can open /proc/1/exe (CVE-2019-5736) only with
 * CAP_SYS_PTRACE in the user namespace the init's memory belongs to, the
 * host's.  runc allows exec before start (its init is always sealed); hull
 * allows it to every process that cannot hold that capability there.
 */
static bool reaches_unsealed_init(struct container *c, const struct oci_process *p)
{
	uint64_t any = 0;

	if (!p->has_capabilities || stage_needs_seal(c->spec) || (differing_ns(c->pid) & CLONE_NEWUSER))
		return false;
	for (int set = 0; set < OCI_CAP_SET_COUNT; set++)
		any |= p->caps[set];
	return any & (1ULL << CAP_SYS_PTRACE);
}

/* exec --cgroup: existing sub-cgroups of the container's, joined instead. */
static int sub_cgroup(struct container *c, char **specs, struct cgroup **out, struct hull_err **err)
{
	struct cgroup *cg;

	if (container_cgroup(c, &cg, err) < 0)
		return -1;
	if (!cg)
		return hull_err_make(err, 0, "--cgroup: container \"%s\" has no cgroup", c->id);
	return cgroups_sub(cg, (const char *const *)specs, out, err);
}

struct exec_child {
	const struct oci_spec *spec;
	const struct oci_process *proc;
	pid_t target;
	int pidfd;
	int ns_flags;
	int sync;
	int preserve_fds;
	const struct cgroup *cg;    /* the container's, or NULL */
	bool cloned_in;             /* born in its cgroup2 directory */
	const char *chroot;         /* the rootfs, without a mount namespace */
};

static __attribute__((noreturn)) void exec_process(const struct exec_child *x)
{
	struct hull_err *err = NULL;
	_cleanup_free_ char *exe = NULL;
	_cleanup_strv_ char **env = NULL;
	struct confine_late late;
	int notify_fd = -1;

	prctl(PR_SET_DUMPABLE, 0);
	/* Our process group is hull's, outside the container's pid namespace
	 * (getpgrp() would say 0): lead a session of our own, as runc does.
	 * With a terminal, console_setup_slave does it. */
	if (!x->proc->terminal && setsid() < 0) {
		hull_err_make(&err, errno, "setsid");
		sync_fail(x->sync, err);
	}
	if (x->proc->terminal) {
		_cleanup_close_ int master = -1;
		_cleanup_close_ int slave = -1;
		if (console_open_pty(&master, &slave, x->proc, &err) < 0)
			sync_fail(x->sync, err);
		if (sync_send(x->sync, SYNC_CONSOLE, 0, master, NULL) < 0 || console_setup_slave(slave, &err) < 0) {
			hull_err_make(&err, errno, "send console fd");
			sync_fail(x->sync, err);
		}
	}
	/* Without a mount namespace the init is chrooted, not setns'd: so
	 * are we, after the pty came from the host's /dev/ptmx. */
	if (x->chroot && runtime_chroot(x->chroot, &err) < 0)
		sync_fail(x->sync, err);
	env = runtime_process_env(x->proc);
	/* As the init does (init.c): the filter goes last, right before
	 * execve, except with a notify action, whose listener gets the fd
	 * from hull before READY. */
	if (confine_prepare(x->spec, x->proc, &late, &err) < 0)
		sync_fail(x->sync, err);
	if (runtime_find_exec(x->proc, &exe, &err) < 0 || runtime_seal_fds(x->preserve_fds, &err) < 0)
		sync_fail(x->sync, err);
	if (late.filter.notify) {
		if (confine_load_filter(&late, &notify_fd, &err) < 0)
			sync_fail(x->sync, err);
		sync_send(x->sync, SYNC_SECCOMP, 0, notify_fd, NULL);
		close(notify_fd);
	}
	sync_send(x->sync, SYNC_READY, 0, -1, NULL);
	hull_log_leave_stdio();   /* as the init after READY (init.c) */
	/* After READY hull only waits for us: a failure here is our exit. */
	if (confine_finish(&late, &err) < 0) {
		dprintf(STDERR_FILENO, "hull: %s\n", err->msg);
		_exit(1);
	}
	execve(exe, x->proc->args, env);
	dprintf(STDERR_FILENO, "hull: exec %s: %s\n", exe, strerror(errno));
	_exit(127);
}

static __attribute__((noreturn)) void join(const struct exec_child *x)
{
	struct hull_err *err = NULL;
	struct sync_msg m;
	pid_t pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The container's cgroup first, before the cgroup namespace is joined,
	 * so that it is rooted where the container's is. */
	if (x->cg && cgroups_enter_self(x->cg, x->cloned_in, NULL, 0, &err) < 0)
		sync_fail(x->sync, err);
	if (sync_expect(x->sync, SYNC_GO, &m, NULL, &err) < 0)
		_exit(1);
	if (x->ns_flags && ns_join_pid(x->target, x->pidfd, x->ns_flags, &err) < 0)
		sync_fail(x->sync, err);
	close(x->pidfd);
	pid = fork();
	if (pid < 0) {
		hull_err_make(&err, errno, "fork");
		sync_fail(x->sync, err);
	}
	if (pid == 0)
		exec_process(x);
	sync_send(x->sync, SYNC_PID, pid, -1, NULL);
	_exit(0);
}

static int converse(struct container *c, int sock, const struct runtime_exec_opts *o, pid_t *pid, int *master,
		    struct hull_err **err)
{
	struct sync_msg m;
	bool ready = false;
	int fd, r;

	/* J's PID and E's READY come from two processes on one socket, in
	 * either order: only both together finish set-up. */
	while (!ready || *pid <= 0) {
		r = sync_recv(sock, &m, &fd);
		if (r == -EPIPE)
			return hull_err_make(err, 0, "exec process exited during set-up");
		if (r < 0)
			return hull_err_make(err, -r, "sync: receive");
		switch (m.type) {
		case SYNC_ERROR:
			return hull_err_make(err, 0, "%s", m.text);
		case SYNC_PID:
			*pid = m.value;
			break;
		case SYNC_CONSOLE:
			if (o->console_socket) {
				r = console_send_to_socket(o->console_socket, fd, err);
				close(fd);
				if (r < 0)
					return -1;
			} else {
				if (*master >= 0)
					close(*master);
				*master = fd;
			}
			break;
		case SYNC_SECCOMP:
			r = runtime_seccomp_forward(c, *pid, fd, err);
			close(fd);
			if (r < 0)
				return -1;
			break;
		case SYNC_READY:
			ready = true;
			break;
		default:
			if (fd >= 0)
				close(fd);
			return hull_err_make(err, 0, "sync: unexpected message %u", m.type);
		}
	}
	return 0;
}

int runtime_exec(const struct runtime_ctx *ctx, const struct runtime_exec_opts *o, int *status,
		 struct hull_err **err)
{
	struct container *c = NULL;
	struct oci_process proc = { 0 };
	struct cgroup *cg = NULL, *sub_cg = NULL;
	bool cloned_in = false;
	_cleanup_close_ int pidfd = -1;
	_cleanup_close_ int sock = -1;
	int master = -1, sv[2], r = -1, wst;
	pid_t joiner, pid = 0;
	enum oci_status st;

	if (container_open(ctx, o->id, &c, err) < 0)
		return -1;
	st = container_status(c);
	if (st != OCI_STATUS_RUNNING && st != OCI_STATUS_CREATED && st != OCI_STATUS_PAUSED) {
		hull_err_make(err, 0, "cannot exec in container \"%s\": it is %s", o->id, oci_status_names[st]);
		goto out;
	}
	/* runc's refusal: the new process would freeze as it enters the cgroup. */
	if (st == OCI_STATUS_PAUSED && !o->ignore_paused) {
		hull_err_make(err, 0, "cannot exec in paused container \"%s\" (use --ignore-paused to override)",
			      o->id);
		goto out;
	}
	if (container_load_spec(c, err) < 0)
		goto out;
	if (build_process(c, o, &proc, err) < 0 || confine_validate(c->spec, &proc, err) < 0)
		goto out;
	if (st == OCI_STATUS_CREATED && reaches_unsealed_init(c, &proc)) {
		hull_err_make(err, 0, "cannot exec with CAP_SYS_PTRACE in container \"%s\" before it is started",
			      o->id);
		goto out;
	}
	if (c->vm) {
		/* --cgroup names sub-cgroups of the container's cgroup in the
		 * guest: the guest's hull checks and joins them. */
		if (vm_guest(ctx, c, err))
			r = ctx->vm->exec(ctx, &c, &proc, o, status, err);
		goto out;
	}
	if (o->cgroups && sub_cgroup(c, o->cgroups, &sub_cg, err) < 0)
		goto out;
	pidfd = container_pidfd(c);
	if (pidfd < 0) {
		hull_err_make(err, 0, "container \"%s\" is not running", o->id);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		hull_err_make(err, errno, "socketpair");
		goto out;
	}
	if (!o->detach && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		hull_err_make(err, errno, "prctl PR_SET_CHILD_SUBREAPER");
		goto out;
	}
	if (container_cgroup(c, &cg, err) < 0) {
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	if (sub_cg)
		cg = sub_cg;
	fflush(NULL);
	joiner = fork_into_cgroup(cg, &cloned_in, err);
	if (joiner < 0) {
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	if (joiner == 0) {
		/* Do not keep the container locked (flock follows the open file). */
		close(c->lock_fd);
		close(c->dir_fd);
		struct exec_child x = { .spec = c->spec, .proc = &proc, .target = c->pid, .pidfd = pidfd,
					.ns_flags = differing_ns(c->pid), .sync = sv[1],
					.preserve_fds = o->preserve_fds, .cg = cg, .cloned_in = cloned_in,
					.chroot = oci_spec_has_ns(c->spec, OCI_NS_MOUNT) ? NULL : c->rootfs };
		close(sv[0]);
		join(&x);
	}
	close(sv[1]);
	sock = sv[0];
	hull_debug("exec %s: %s joins init %d's namespaces through process %d", o->id, proc.args[0],
		   (int)c->pid, (int)joiner);
	hull_test_pause("exec-forked");
	/* With --ignore-paused J froze as it was born into the cgroup, and only
	 * `resume` (which takes this lock) lets set-up finish: let go of it.
	 * Otherwise it keeps `pause` and `delete` out until the process exists. */
	if (st == OCI_STATUS_PAUSED && flock(c->lock_fd, LOCK_UN) < 0) {
		r = hull_err_make(err, errno, "unlock %s", c->dir);
		kill(joiner, SIGKILL);
		while (waitpid(joiner, &wst, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	r = 0;
	if (sync_send(sock, SYNC_GO, 0, -1, NULL) < 0)
		r = hull_err_make(err, errno, "sync: send");
	if (r == 0)
		r = converse(c, sock, o, &pid, &master, err);
	else
		kill(joiner, SIGKILL);
	while (waitpid(joiner, &wst, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		r = write_file_atomic_at(AT_FDCWD, o->pid_file, buf, (size_t)n, 0644, err);
	}
	if (r < 0) {
		if (pid > 0)
			kill(pid, SIGKILL);
		goto out;
	}
	hull_debug("exec %s: process %d runs %s", o->id, (int)pid, o->detach ? "detached" : "in the foreground");
	/* The exec'd process may live long: do not hold the container's lock. */
	container_free(c);
	c = NULL;
	hull_test_pause("exec-started");
	if (o->detach) {
		*status = 0;
	} else {
		r = wait_forward(pid, master, status, err);
	}
out:
	if (master >= 0)
		close(master);
	oci_process_clear(&proc);
	cgroups_free(sub_cg);
	container_free(c);
	return r;
}
