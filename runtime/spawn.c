/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parent side of create.  Process tree while creating:
 *
 *   hull create (P) --fork--> stage (S): setns to joined namespaces,
 *                                        unshare(USER) [P writes id maps],
 *                                        unshare(rest), fork --> init (C)
 *
 * S exits right after forking C, so C is reparented to the nearest
 * subreaper: the engine's shim for `create`, or hull itself for a foreground
 * `run`.  C then builds the rootfs and stops on the exec fifo until `start`.
 * Every step reports over one SEQPACKET socket (sync.c).
 */
#include "internal.h"
#include "namespaces/namespaces.h"

#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* The seccomp listener receives the spec's containerProcessState. */
static char *process_state_json(struct container *c, pid_t pid)
{
	struct json_object *o = json_object_new_object(), *fds = json_object_new_array(), *st;
	_cleanup_free_ char *state = container_state_json(c, OCI_STATUS_CREATING, false);
	char *out;

	json_object_array_add(fds, json_object_new_string("seccompFd"));
	json_object_object_add(o, "ociVersion", json_object_new_string(HULL_OCI_SPEC_VERSION));
	json_object_object_add(o, "fds", fds);
	json_object_object_add(o, "pid", json_object_new_int(pid));
	if (c->spec->linux_.seccomp && c->spec->linux_.seccomp->listener_metadata)
		json_object_object_add(o, "metadata",
				       json_object_new_string(c->spec->linux_.seccomp->listener_metadata));
	st = json_tokener_parse(state);
	json_object_object_add(o, "state", st);
	out = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static int run_runtime_hooks(struct container *c, struct hull_err **err)
{
	_cleanup_free_ char *st = container_state_json(c, OCI_STATUS_CREATING, false);

	if (hooks_run(c->spec, OCI_HOOK_PRESTART, st, err) < 0 ||
	    hooks_run(c->spec, OCI_HOOK_CREATE_RUNTIME, st, err) < 0)
		return -1;
	return 0;
}

static int handle_console(struct spawn_opts *so, int fd, struct hull_err **err)
{
	int r = 0;

	if (so->o->console_socket) {
		r = console_send_to_socket(so->o->console_socket, fd, err);
		close(fd);
	} else if (so->foreground) {
		so->console_master = fd;
	} else {
		close(fd);
		r = hull_err_make(err, 0, "process.terminal is true but no --console-socket was given");
	}
	return r;
}

int runtime_seccomp_forward(struct container *c, pid_t pid, int fd, struct hull_err **err)
{
	_cleanup_free_ char *st = process_state_json(c, pid);
	return confine_seccomp_send_listener(c->spec->linux_.seccomp, fd, st, err);
}

/* Drive the container-side processes through set-up until SYNC_READY. */
static int converse(struct spawn_opts *so, int sock, pid_t stage, struct hull_err **err)
{
	struct container *c = so->c;
	struct sync_msg m;
	int fd, r;

	if (sync_send(sock, SYNC_GO, 0, -1, NULL) < 0)
		return hull_err_make(err, errno, "sync: send");
	for (;;) {
		r = sync_recv(sock, &m, &fd);
		if (r == -EPIPE)
			return hull_err_make(err, 0, "container process exited during set-up");
		if (r < 0)
			return hull_err_make(err, -r, "sync: receive");
		switch (m.type) {
		case SYNC_ERROR:
			return hull_err_make(err, 0, "%s", m.text);
		case SYNC_USERNS:
			if (ns_write_id_maps(stage, c->spec, err) < 0)
				return -1;
			sync_send(sock, SYNC_USERNS_DONE, 0, -1, NULL);
			break;
		case SYNC_PID:
			c->pid = m.value;
			c->pid_start = proc_start_time(c->pid);
			/* The init waits for this, so it never reports before its pid is
			 * known; it cannot see its own host pid, and hooks want it. */
			sync_send(sock, SYNC_GO, c->pid, -1, NULL);
			break;
		case SYNC_CREATE_RUNTIME:
			if (container_save(c, err) < 0 || run_runtime_hooks(c, err) < 0) {
				sync_send(sock, SYNC_ABORT, 0, -1, NULL);
				return -1;
			}
			sync_send(sock, SYNC_GO, c->pid, -1, NULL);
			break;
		case SYNC_CONSOLE:
			if (fd < 0)
				return hull_err_make(err, 0, "sync: console message without a pty fd");
			if (handle_console(so, fd, err) < 0)
				return -1;
			break;
		case SYNC_SECCOMP:
			if (fd < 0)
				return hull_err_make(err, 0, "sync: seccomp message without an fd");
			r = runtime_seccomp_forward(c, c->pid, fd, err);
			close(fd);
			if (r < 0)
				return -1;
			break;
		case SYNC_READY:
			if (fd >= 0)
				close(fd);
			return 0;
		default:
			if (fd >= 0)
				close(fd);
			return hull_err_make(err, 0, "sync: unexpected message %u", m.type);
		}
	}
}

pid_t fork_into_cgroup(const struct cgroup *cg, bool *cloned_in, struct hull_err **err)
{
	struct clone_args a = {
		.flags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
	};
	_cleanup_close_ int fd = -1;
	int *tid = NULL;
	pid_t pid;

	*cloned_in = false;
	if (cg && cgroups_clone_fd(cg, &fd, err) < 0)
		return -1;
	if (fd < 0)
		goto plain;
	/* glibc's fork() has the kernel store the child's tid in the thread
	 * descriptor, the address glibc gave set_tid_address(); without it,
	 * raise() in the child would signal the parent's tid. */
	if (prctl(PR_GET_TID_ADDRESS, &tid) < 0 || !tid) {
		hull_debug("PR_GET_TID_ADDRESS unavailable: fork, then move into the cgroup");
		goto plain;
	}
	a.child_tid = (uintptr_t)tid;
	a.cgroup = (uint64_t)fd;
	pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0) {
		*cloned_in = true;
		return 0;
	}
	if (pid < 0 && errno != ENOSYS && errno != E2BIG)
		return hull_err_make(err, errno, "clone3 into cgroup %s", cgroups_unified_dir(cg));
	/*
	 * Linux 6.14+ kills a child cloned into a cgroup whose cgroup.kill
	 * count differs from its parent's cgroup's (a reused cgroup that was
	 * killed once, or hull running in one): the SIGKILL is queued before
	 * clone3 returns, so it is visible here.
	 */
	if (pid > 0 && !proc_killed(pid)) {
		*cloned_in = true;
		return pid;
	}
	if (pid > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		hull_debug("child cloned into %s was killed by the kernel: fork, then move in",
			 cgroups_unified_dir(cg));
	} else {
		hull_debug("clone3 CLONE_INTO_CGROUP unavailable: fork, then move into the cgroup");
	}
plain:
	pid = fork();
	if (pid < 0)
		hull_err_make(err, errno, "fork");
	return pid;
}

/* Runs in S.  Never returns. */
static __attribute__((noreturn)) void stage(const struct spawn_opts *so, int sock, int fifo_fd, bool cloned_in)
{
	const struct oci_spec *spec = so->c->spec;
	struct hull_err *err = NULL;
	struct sync_msg m;
	int flags = ns_new_flags(spec);
	const struct oci_namespace *user = oci_spec_get_ns(spec, OCI_NS_USER);
	struct init_args a = {
		.spec = spec,
		.rootfs = so->c->rootfs,
		.sync = sock,
		.fifo_fd = fifo_fd,
		.no_pivot = so->o->no_pivot,
		.in_userns = user != NULL,
		.preserve_fds = so->o->preserve_fds,
		.id = so->c->id,
		.bundle = so->c->bundle,
		.no_new_keyring = so->o->no_new_keyring,
	};
	pid_t pid;

	/* The flock lives on the open file: a copy here would keep the container
	 * locked until the exec, blocking `state` and `start`. */
	close(so->c->lock_fd);
	close(so->c->dir_fd);
	/* Die with hull while set-up is incomplete. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* S enters the cgroup before it unshares, so a new cgroup namespace is
	 * rooted at the container's cgroup and every descendant starts inside. */
	if (so->c->cg && cgroups_enter_self(so->c->cg, cloned_in, &err) < 0)
		sync_fail(sock, err);
	if (sync_expect(sock, SYNC_GO, &m, NULL, &err) < 0)
		_exit(1);
	/* runc resolves relative mount sources against the bundle. */
	if (chdir(so->c->bundle) < 0) {
		hull_err_make(&err, errno, "chdir %s", so->c->bundle);
		sync_fail(sock, err);
	}
	if (ns_join_paths(spec, 0, &err) < 0)
		sync_fail(sock, err);
	if (flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0) {
			hull_err_make(&err, errno, "unshare user namespace");
			sync_fail(sock, err);
		}
		sync_send(sock, SYNC_USERNS, 0, -1, NULL);
		if (sync_expect(sock, SYNC_USERNS_DONE, &m, NULL, &err) < 0)
			_exit(1);
	}
	if (user && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		hull_err_make(&err, errno, "become root in the user namespace (is 0 mapped?)");
		sync_fail(sock, err);
	}
	if (unshare(flags & ~CLONE_NEWUSER) < 0) {
		hull_err_make(&err, errno, "unshare namespaces 0x%x", flags & ~CLONE_NEWUSER);
		sync_fail(sock, err);
	}
	if ((flags & CLONE_NEWTIME) && ns_write_time_offsets(spec, &err) < 0)
		sync_fail(sock, err);
	pid = fork();
	if (pid < 0) {
		hull_err_make(&err, errno, "fork container init");
		sync_fail(sock, err);
	}
	if (pid == 0)
		init_container(&a);
	sync_send(sock, SYNC_PID, pid, -1, NULL);
	_exit(0);
}

int spawn_container(struct spawn_opts *so, struct hull_err **err)
{
	struct container *c = so->c;
	_cleanup_close_ int fifo_fd = -1;
	_cleanup_close_ int sock = -1;
	bool systemd = false, cloned_in = false;
	int sv[2], r, wst;
	pid_t pid;

	if (mkfifoat(c->dir_fd, FIFO_FILE, 0600) < 0)
		return hull_err_make(err, errno, "mkfifo %s/%s", c->dir, FIFO_FILE);
	/* O_RDWR: the init holds both ends, so opening never blocks here and
	 * `start`'s writer sees POLLERR exactly when the init execs (CLOEXEC). */
	fifo_fd = openat(c->dir_fd, FIFO_FILE, O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0)
		return hull_err_make(err, errno, "open %s/%s", c->dir, FIFO_FILE);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hull_err_make(err, errno, "socketpair");
	if (so->foreground && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		close(sv[0]);
		close(sv[1]);
		return hull_err_make(err, errno, "prctl PR_SET_CHILD_SUBREAPER");
	}
	/* The cgroup exists before S, so that S starts inside it (cgroupfs); a
	 * systemd scope is started for S's pid instead. */
	if (runtime_cgroups_enabled(so->ctx)) {
		const struct oci_linux *l = &c->spec->linux_;
		struct cgroups_cfg cfg = { .id = c->id, .cgroups_path = l->cgroups_path,
					   .systemd = so->ctx->systemd_cgroup,
					   .resources = l->has_resources ? &l->resources : NULL,
					   .devices = l->devices, .n_devices = l->n_devices };
		systemd = cfg.systemd;
		if (!systemd && cgroups_create(&cfg, 0, &c->cg, err) < 0)
			goto fail_sock;
	}
	fflush(NULL);
	pid = fork_into_cgroup(c->cg, &cloned_in, err);
	if (pid < 0)
		goto fail_sock;
	if (pid == 0) {
		close(sv[0]);
		stage(so, sv[1], fifo_fd, cloned_in);
	}
	close(sv[1]);
	sock = sv[0];
	/* Only the init may hold the fifo, or `start` would never see it close. */
	close(take_fd(&fifo_fd));

	r = 0;
	if (systemd) {
		const struct oci_linux *l = &c->spec->linux_;
		struct cgroups_cfg cfg = { .id = c->id, .cgroups_path = l->cgroups_path, .systemd = true,
					   .resources = l->has_resources ? &l->resources : NULL,
					   .devices = l->devices, .n_devices = l->n_devices };
		r = cgroups_create(&cfg, pid, &c->cg, err);
	}
	if (r == 0 && c->cg)
		c->cgroup = cgroups_serialize(c->cg);
	if (r == 0)
		r = converse(so, sock, pid, err);
	if (r < 0 && c->pid > 0)
		kill(c->pid, SIGKILL);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	return r;
fail_sock:
	close(sv[0]);
	close(sv[1]);
	return -1;
}
