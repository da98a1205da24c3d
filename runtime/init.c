/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container side of create (C): runs in the new namespaces, builds the
 * rootfs, confines itself, reports READY, then waits on the exec fifo until
 * `start` and execs the user process.  Every failure is sent to hull over
 * the sync socket (sync_fail) so create reports it with context.
 */
#include "internal.h"
#include "namespaces/namespaces.h"

#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define KEYCTL_JOIN_SESSION_KEYRING 1

static int set_sysctls(const struct oci_spec *s, struct hull_err **err)
{
	for (size_t i = 0; i < s->linux_.n_sysctl; i++) {
		_cleanup_free_ char *path = xasprintf("/proc/sys/%s", s->linux_.sysctl[i].key);
		const char *v = s->linux_.sysctl[i].value;
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		if (write_file_at(AT_FDCWD, path, v, strlen(v), err) < 0)
			return hull_err_wrap(err, "linux.sysctl %s", s->linux_.sysctl[i].key);
	}
	return 0;
}

static int set_names(const struct oci_spec *s, struct hull_err **err)
{
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return hull_err_make(err, errno, "sethostname \"%s\"", s->hostname);
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return hull_err_make(err, errno, "setdomainname \"%s\"", s->domainname);
	return 0;
}

/* Resolve args[0] as execvp will (PATH from the process env), so a missing
 * binary fails `create` with a clear message instead of a dead container. */
int runtime_find_exec(const struct oci_process *p, char **out, struct hull_err **err)
{
	const char *arg0 = p->args[0];
	const char *path = runtime_env_get(p->env, "PATH");
	_cleanup_free_ char *copy = NULL;
	char *save = NULL, *dir;

	if (strchr(arg0, '/')) {
		if (access(arg0, X_OK) < 0)
			return hull_err_make(err, errno, "exec \"%s\"", arg0);
		*out = xstrdup(arg0);
		return 0;
	}
	copy = xstrdup(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", arg0);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			*out = take_ptr(cand);
			return 0;
		}
	}
	return hull_err_make(err, 0, "exec \"%s\": executable file not found in $PATH", arg0);
}

/* Close-on-exec everything the container must not inherit; the exec fifo
 * stays open until the exec itself so `start` returns only after it. */
int runtime_seal_fds(int preserve_fds, struct hull_err **err)
{
	if (syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	return confine_close_fds(preserve_fds, err);
}

static int setup_terminal(const struct init_args *a, struct hull_err **err)
{
	_cleanup_close_ int master = -1;
	_cleanup_close_ int slave = -1;

	if (console_open_pty(&master, &slave, &a->spec->process, err) < 0)
		return -1;
	/* Without a mount namespace /dev/console is the host's. */
	if (oci_spec_has_ns(a->spec, OCI_NS_MOUNT) && ns_bind_console(slave, err) < 0)
		return -1;
	if (sync_send(a->sync, SYNC_CONSOLE, 0, master, NULL) < 0)
		return hull_err_make(err, errno, "send console fd");
	return console_setup_slave(slave, err);
}

/* createContainer/startContainer hooks, run in here; no state JSON is built
 * when there are none. */
static int container_hooks(const struct init_args *a, enum oci_hook_kind kind, enum oci_status status,
			   pid_t host_pid, struct hull_err **err)
{
	const struct oci_spec *s = a->spec;
	struct oci_state st = { .oci_version = s->oci_version, .id = (char *)a->id, .status = status,
				.pid = host_pid, .bundle = (char *)a->bundle, .annotations = s->annotations,
				.n_annotations = s->n_annotations };
	_cleanup_free_ char *json = NULL;

	if (s->hooks[kind].n == 0)
		return 0;
	json = oci_state_to_json(&st, false);
	return hooks_run(s, kind, json, err);
}

void init_container(const struct init_args *a)
{
	const struct oci_spec *s = a->spec;
	const struct oci_process *p = &s->process;
	struct ns_rootfs r = { .spec = s, .rootfs = a->rootfs, .no_pivot = a->no_pivot, .in_userns = a->in_userns,
				 .bind_fds = a->bind_fds };
	/* Without a mount namespace the process shares the runtime's mounts:
	 * it is chrooted into the rootfs (as by runc), and nothing is mounted
	 * (runc would mount in the host's namespace; create refuses a config
	 * asking for it, see check_semantics). */
	bool mnt = oci_spec_has_ns(s, OCI_NS_MOUNT);
	struct hull_err *err = NULL;
	_cleanup_free_ char *exe = NULL;
	_cleanup_strv_ char **env = NULL;
	struct sync_msg m;
	struct confine_late late;
	int notify_fd = -1;
	pid_t host_pid;
	int st;
	char b;

	/* Keep other container processes out of /proc/<us> while we hold host fds. */
	prctl(PR_SET_DUMPABLE, 0);
	/* Out of hull's session and process group, which lie outside a new pid
	 * namespace (getpgrp() would say 0): runc's init leads its own. */
	if (setsid() < 0) {
		hull_err_make(&err, errno, "setsid");
		sync_fail(a->sync, err);
	}
	/* Our host pid, which we cannot see from in here and hooks want.  The
	 * stage writes it once it has told hull, so hull knows it before any
	 * message of ours arrives. */
	if (read(a->pid_pipe, &host_pid, sizeof(host_pid)) != (ssize_t)sizeof(host_pid))
		_exit(1);
	if (set_names(s, &err) < 0)
		sync_fail(a->sync, err);
	if (!a->no_new_keyring) {
		_cleanup_free_ char *name = xasprintf("_ses.%s", a->id);
		if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0 && errno != ENOSYS) {
			hull_err_make(&err, errno, "join session keyring");
			sync_fail(a->sync, err);
		}
	}
	if (mnt && ns_rootfs_mount(&r, &err) < 0)
		sync_fail(a->sync, err);
	/* The bind sources' trees are mounted now: no fd to them stays. */
	for (size_t i = 0; a->bind_fds && i < s->n_mounts; i++)
		if (a->bind_fds[i] >= 0)
			close(a->bind_fds[i]);

	/* The stage has brought up lo meanwhile; on failure it told hull why. */
	if (read(a->pid_pipe, &st, sizeof(st)) != (ssize_t)sizeof(st) || st != 0)
		_exit(1);
	close(a->pid_pipe);

	/* Without prestart/createRuntime hooks hull has nothing to do here:
	 * skip the round trip (each one is a pair of context switches). */
	if (spawn_has_runtime_hooks(s)) {
		sync_send(a->sync, SYNC_CREATE_RUNTIME, 0, -1, NULL);
		if (sync_recv(a->sync, &m, NULL) < 0 || m.type != SYNC_GO)
			_exit(1);
	}
	/* runc runs createContainer hooks from the container's rootfs. */
	if (chdir(a->rootfs) < 0) {
		hull_err_make(&err, errno, "chdir %s", a->rootfs);
		sync_fail(a->sync, err);
	}
	if (container_hooks(a, OCI_HOOK_CREATE_CONTAINER, OCI_STATUS_CREATING, host_pid, &err) < 0)
		sync_fail(a->sync, err);
	if (mnt && ns_rootfs_pivot(&r, &err) < 0)
		sync_fail(a->sync, err);
	if (p->terminal && setup_terminal(a, &err) < 0)
		sync_fail(a->sync, err);
	if (set_sysctls(s, &err) < 0)
		sync_fail(a->sync, err);
	/* After the pty and sysctls, which need the host's /dev and /proc then. */
	if (!mnt && runtime_chroot(a->rootfs, &err) < 0)
		sync_fail(a->sync, err);
	if (runtime_make_cwd(p, &err) < 0 || (mnt && ns_rootfs_finalize(&r, &err) < 0))
		sync_fail(a->sync, err);
	env = runtime_process_env(p);
	/* Everything but loading the seccomp filter, which confine_finish does
	 * right before execve: a profile that refuses by default need not allow
	 * our own syscalls.  The fds are marked close-on-exec now for the same
	 * reason (the startContainer hooks do not get them either). */
	if (confine_prepare(s, p, &late, &err) < 0)
		sync_fail(a->sync, err);
	if (runtime_find_exec(p, &exe, &err) < 0 || runtime_seal_fds(a->preserve_fds, &err) < 0)
		sync_fail(a->sync, err);
	/* A notify listener must have its fd before create returns, as in runc:
	 * load now, and hand the fd on at once (hull forwards it before it
	 * reads on), so none of our syscalls waits on a listener that has not
	 * got it.  Only sendmsg, close, the fifo's read and the startContainer
	 * hooks then run under this filter. */
	if (late.filter.notify) {
		if (confine_load_filter(&late, &notify_fd, &err) < 0)
			sync_fail(a->sync, err);
		sync_send(a->sync, SYNC_SECCOMP, 0, notify_fd, NULL);
		close(notify_fd);
	}
	/* hull gone (killed during set-up): nobody will start or delete us. */
	if (sync_send(a->sync, SYNC_READY, 0, -1, NULL) < 0)
		_exit(1);
	close(a->sync);
	/* create returns now, and our stdio is the container's alone: no
	 * line of ours may land there (runc's init logs to runc's pipe). */
	hull_log_leave_stdio();

	/* Wait for `start`.  EOF cannot happen: we hold a write end ourselves. */
	while (read(a->fifo_fd, &b, 1) < 0) {
		if (errno != EINTR)
			_exit(1);
	}
	if (container_hooks(a, OCI_HOOK_START_CONTAINER, OCI_STATUS_RUNNING, host_pid, &err) < 0) {
		dprintf(STDERR_FILENO, "hull: %s\n", err->msg);
		_exit(1);
	}
	if (confine_finish(&late, &err) < 0) {
		dprintf(STDERR_FILENO, "hull: %s\n", err->msg);
		_exit(1);
	}
	execve(exe, p->args, env);
	dprintf(STDERR_FILENO, "hull: exec %s: %s\n", exe, strerror(errno));
	_exit(127);
}
