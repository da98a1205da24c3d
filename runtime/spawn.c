/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parent side of create.  Process tree while creating:
 *
 *   hull create (P) --fork--> stage (S, stage.c: re-executed from a sealed
 *                             binary; namespaces) --clone3 into the cgroup-->
 *                             init (C, init.c)
 *
 * S exits right after starting C, so C is reparented to the nearest
 * subreaper: the engine's shim for `create`, or hull itself for a foreground
 * `run`.  C then builds the rootfs and stops on the exec fifo until `start`.
 * Every step reports over one SEQPACKET socket (sync.c).  This file: the
 * cgroup and the conversation with S and C.
 */
#include "internal.h"
#include "namespaces/namespaces.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
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

/* A signal that aborts set-up kills a hook still running (say so, not
 * "hook ... interrupted"). */
static int run_runtime_hooks(struct spawn_opts *so, struct hull_err **err)
{
	struct container *c = so->c;
	_cleanup_free_ char *st = container_state_json(c, OCI_STATUS_CREATING, false);
	struct hull_err *herr = NULL;

	if (hooks_run_abortable(c->spec, OCI_HOOK_PRESTART, st, so->sigfd, &herr) < 0 ||
	    hooks_run_abortable(c->spec, OCI_HOOK_CREATE_RUNTIME, st, so->sigfd, &herr) < 0) {
		if (spawn_check_abort(so, err) < 0) {
			hull_err_free(&herr);
			return -1;
		}
		if (err && !*err)
			*err = herr;
		else
			hull_err_free(&herr);
		return -1;
	}
	return 0;
}

static int handle_console(struct spawn_opts *so, int fd, struct hull_err **err)
{
	int r = 0;

	if (so->o->console_socket) {
		r = console_send_to_socket(so->o->console_socket, fd, err);
		close(fd);
	} else if (so->foreground) {
		if (so->console_master >= 0)
			close(so->console_master);
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

/* A reply to the container side.  A peer that died (EPIPE) said why, or
 * not: the next read returns its error or its EOF. */
static int reply(int sock, enum sync_type type, int32_t value, struct hull_err **err)
{
	int r = sync_send(sock, type, value, -1, NULL);

	if (r < 0 && r != -EPIPE)
		return hull_err_make(err, -r, "sync: send");
	return 0;
}

int spawn_check_abort(struct spawn_opts *so, struct hull_err **err)
{
	struct signalfd_siginfo si;
	const char *name;

	if (so->sigfd < 0 || read(so->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	name = runtime_signal_name((int)si.ssi_signo);
	return hull_err_make(err, 0, "interrupted by SIG%s during set-up", name ? name : "?");
}

/* Wait until the sync socket has a message, or a signal aborts set-up. */
static int wait_message(struct spawn_opts *so, int sock, struct hull_err **err)
{
	struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = so->sigfd, .events = POLLIN } };

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return hull_err_make(err, errno, "poll");
	/* poll said whether a signal is there: no read of the signalfd per
	 * message just to hear EAGAIN. */
	return p[1].revents ? spawn_check_abort(so, err) : 0;
}

/* Drive the container-side processes through set-up until SYNC_READY.
 * sync_recv gives an fd only with CONSOLE and SECCOMP, whose cases own it. */
static int converse(struct spawn_opts *so, int sock, pid_t stage, struct hull_err **err)
{
	struct container *c = so->c;
	struct sync_msg m;
	int fd, r;

	for (;;) {
		if (wait_message(so, sock, err) < 0)
			return -1;
		r = sync_recv(sock, &m, &fd);
		if (r == -EPIPE)
			return hull_err_make(err, 0, "container process exited during set-up");
		if (r < 0)
			return hull_err_make(err, -r, "sync: receive");
		switch (m.type) {
		case SYNC_ERROR:
			return hull_err_make(err, 0, "%s", m.text);
		case SYNC_USERNS:
			/* The stage's child unshares it (stage.c); it says its pid. */
			if (ns_write_id_maps(m.value > 0 ? m.value : stage, c->spec, err) < 0 ||
			    reply(sock, SYNC_USERNS_DONE, 0, err) < 0)
				return -1;
			break;
		case SYNC_PID:
			c->pid = m.value;
			c->pid_start = proc_start_time(c->pid);
			hull_test_pause("create-pid");
			/* While the init works: unmount S's binary's tree (S has
			 * long exec'd) and write the state dir's files. */
			stage_close_seal(so);
			if (write_file_atomic_at(c->dir_fd, CONFIG_FILE, so->config, so->config_len, 0600, err) < 0 ||
			    container_save(c, err) < 0)
				return -1;
			hull_test_pause("create-saved");
			break;
		case SYNC_CREATE_RUNTIME:
			if (run_runtime_hooks(so, err) < 0) {
				/* Failing anyway: the init is killed next if it
				 * cannot be told. */
				(void)sync_send(sock, SYNC_ABORT, 0, -1, NULL);
				return -1;
			}
			if (reply(sock, SYNC_GO, c->pid, err) < 0)
				return -1;
			break;
		case SYNC_CONSOLE:
			if (handle_console(so, fd, err) < 0)
				return -1;
			break;
		case SYNC_SECCOMP:
			r = runtime_seccomp_forward(c, c->pid, fd, err);
			close(fd);
			if (r < 0)
				return -1;
			break;
		case SYNC_READY:
			return 0;
		default:
			return hull_err_make(err, 0, "sync: unexpected message %u", m.type);
		}
	}
}

/* A set-up process killed by the memory limit only looks like an early exit:
 * say what happened, as runc does. */
static void explain_oom(struct container *c, struct hull_err **err)
{
	const struct oci_resources *r = &c->spec->linux_.resources;
	uint64_t n = 0;

	if (!c->cg || cgroups_oom_count(c->cg, &n, NULL) < 0 || n == 0)
		return;
	hull_err_free(err);
	if (c->spec->linux_.has_resources && r->memory.has_limit)
		hull_err_make(err, 0, "container init was OOM-killed during set-up: "
			      "linux.resources.memory.limit %" PRId64 " is too low", r->memory.limit);
	else
		hull_err_make(err, 0, "container init was OOM-killed during set-up");
}

/* Send a bootstrap message to S; a dead S is not an error here: converse()
 * then reads the error S reported, or its EOF. */
static void send_stage(int sock, enum sync_type type, const int *fds, size_t nfds, const char *text)
{
	int r = sync_send_blob(sock, type, fds, nfds, text);
	if (r < 0 && r != -EPIPE)
		hull_debug("sync: send to the stage: %s", strerror(-r));
}

int spawn_container(struct spawn_opts *so, struct hull_err **err)
{
	struct container *c = so->c;
	_cleanup_close_ int fifo_fd = -1, cg_fd = -1;
	_cleanup_free_ char *cgmsg = NULL;
	struct json_object *o;
	int fds[SYNC_MAX_FDS];
	size_t nfds = 0, n_tasks = 0;
	int r = 0, wst;

	hull_test_pause("create-statedir");
	if (mkfifoat(c->dir_fd, FIFO_FILE, 0600) < 0)
		r = hull_err_make(err, errno, "mkfifo %s/%s", c->dir, FIFO_FILE);
	/* O_RDWR: the init holds both ends, so opening never blocks here and
	 * `start`'s writer sees POLLERR exactly when the init execs (CLOEXEC). */
	else if ((fifo_fd = openat(c->dir_fd, FIFO_FILE, O_RDWR | O_CLOEXEC)) < 0)
		r = hull_err_make(err, errno, "open %s/%s", c->dir, FIFO_FILE);
	if (r < 0)
		goto out;
	fds[nfds++] = fifo_fd;

	/* While S builds the namespaces: the cgroup, which S's child (the init)
	 * is cloned into.  A systemd scope is started for S itself instead.
	 * --cgroup-manager=disabled: a handle that makes nothing (no syscall),
	 * no state (serialized to NULL), no fd. */
	{
		const struct oci_linux *l = &c->spec->linux_;
		struct cgroups_cfg cfg = { .id = c->id, .cgroups_path = l->cgroups_path,
					   .systemd = so->ctx->systemd_cgroup,
					   .disabled = !runtime_cgroups_enabled(so->ctx),
					   .resources = l->has_resources ? &l->resources : NULL,
					   .devices = l->devices, .n_devices = l->n_devices };
		struct cgroup *plan = NULL;

		/* The state names the cgroup before it exists: a hull killed
		 * from here on leaves what `delete --force` removes. */
		r = cgroups_plan(&cfg, &plan, err);
		if (r == 0 && plan) {
			c->cgroup = cgroups_serialize(plan);
			cgroups_free(plan);
			r = container_save(c, err);
			free(c->cgroup);
			c->cgroup = NULL;
		}
		if (r == 0)
			r = cgroups_create(&cfg, cfg.systemd ? so->stage : 0, &c->cg, err);
		if (r == 0 && !cfg.disabled)
			hull_debug("create %s: cgroup made", c->id);
		hull_test_pause("create-cgroup");
		if (r == 0) {
			c->cgroup = cgroups_serialize(c->cg);
			r = cgroups_clone_fd(c->cg, &cg_fd, err);
		}
		if (r == 0 && cg_fd >= 0)
			fds[nfds++] = cg_fd;
		if (r == 0 && cgroups_v1_tasks_fds(c->cg, fds + nfds, SYNC_MAX_FDS - nfds, &n_tasks, err) < 0)
			r = -1;
		if (r < 0)
			goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "cgroup", c->cgroup ? json_object_new_string(c->cgroup) : NULL);
	json_object_object_add(o, "inUnified", json_object_new_boolean(so->ctx->systemd_cgroup));
	/* fds: the exec fifo, the cgroup2 directory when there is one, then v1
	 * `tasks` files. */
	json_object_object_add(o, "cgroup2Fd", json_object_new_boolean(cg_fd >= 0));
	cgmsg = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	send_stage(so->sock, SYNC_CGROUP, fds, nfds + n_tasks, cgmsg);
	/* Only the init may hold the fifo, or `start` would never see it close. */
	close(take_fd(&fifo_fd));
	close(take_fd(&cg_fd));
	for (size_t i = 0; i < n_tasks; i++)
		close(fds[nfds + i]);
	r = converse(so, so->sock, so->stage, err);
	if (r < 0)
		explain_oom(c, err);
out:
	if (r < 0 && c->pid > 0)
		kill(c->pid, SIGKILL);
	if (r < 0)
		kill(so->stage, SIGKILL);
	while (waitpid(so->stage, &wst, 0) < 0 && errno == EINTR)
		;
	so->stage = 0;
	close(so->sock);
	so->sock = -1;
	stage_close_seal(so);
	return r;
}
