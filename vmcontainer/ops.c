/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The commands runtime/ hands over for a VM-isolated container (struct
 * runtime_vm_ops): each is one request to the guest's agent.  state, list,
 * pause, resume, update, events and delete need nothing of the guest: the
 * state store, the supervisor's pid and the host cgroup answer them.
 */
#include "vmcontainer/internal.h"
#include "guest/guest.h"

#include <json-c/json.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static struct json_object *request(const char *op, const struct container *c)
{
	struct json_object *req = guest_request_new(op);
	json_object_object_add(req, "id", json_object_new_string(c->id));
	return req;
}

static int call(struct container *c, struct json_object *req, struct json_object **resp, struct hull_err **err)
{
	if (vmc_agent_call(c->dir_fd, req, resp, NULL, err) < 0)
		return hull_err_wrap(err, "container \"%s\" (VM)", c->id);
	return 0;
}

static int vm_start(const struct runtime_ctx *ctx, struct container *c, struct hull_err **err)
{
	struct json_object *resp = NULL;

	if (call(c, request("start", c), &resp, err) < 0)
		return -1;
	json_object_put(resp);
	/* No longer "created" (container_status). */
	if (unlinkat(c->dir_fd, VMC_FIFO_FILE, 0) < 0 && errno != ENOENT)
		return hull_err_make(err, errno, "unlink %s/%s", c->dir, VMC_FIFO_FILE);
	return 0;
}

static int vm_kill(const struct runtime_ctx *ctx, struct container *c, int sig, bool all, struct hull_err **err)
{
	struct json_object *req, *resp = NULL;

	/* The VM is the container's init: SIGKILL ends it and all in it at once
	 * (the supervisor's VMC_SIG_END), with no round trip to the guest.  A
	 * pod's member shares its VM: the agent kills it, its supervisor
	 * relays the exit. */
	if (sig == SIGKILL && !vmc_is_member(c)) {
		_cleanup_close_ int pidfd = container_pidfd(c);
		if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, VMC_SIG_END, NULL, 0) < 0)
			return hull_err_make(err, pidfd < 0 ? ESRCH : errno, "container \"%s\" (VM): signal supervisor %d",
					     c->id, c->pid);
		return 0;
	}
	req = request("kill", c);
	json_object_object_add(req, "signal", json_object_new_int(sig));
	json_object_object_add(req, "all", json_object_new_boolean(all));
	if (call(c, req, &resp, err) < 0)
		return -1;
	json_object_put(resp);
	return 0;
}

static int vm_ps(const struct runtime_ctx *ctx, struct container *c, pid_t **pids, size_t *n, struct hull_err **err)
{
	struct json_object *resp = NULL, *a = NULL;
	int r = -1;

	*pids = NULL;
	*n = 0;
	/* Stopped: the VM is gone with its processes; as for a container, none. */
	{
		_cleanup_close_ int pidfd = container_pidfd(c);
		if (pidfd < 0)
			return 0;
	}
	if (call(c, request("ps", c), &resp, err) < 0)
		return -1;
	if (oci_json_get_array(resp, "pids", "response", true, &a, err) < 0)
		goto out;
	*pids = xcalloc(json_object_array_length(a) + 1, sizeof(pid_t));
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		int64_t pid = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || pid <= 0 || pid > INT32_MAX) {
			hull_err_make(err, EPROTO, "response.pids[%zu]: not a pid", i);
			free(*pids);
			*pids = NULL;
			*n = 0;
			goto out;
		}
		(*pids)[(*n)++] = (pid_t)pid;
	}
	r = 0;
out:
	json_object_put(resp);
	return r;
}

/*
 * exec: the relay process R stands for the guest's process on the host: its
 * pid is the exec pid (--pid-file), its exit code the process's, its stdio
 * the process's (or the host pty whose master went to --console-socket).
 */
static int vm_exec(const struct runtime_ctx *ctx, struct container **cp, const struct oci_process *proc,
		   const struct runtime_exec_opts *o, int *status, struct hull_err **err)
{
	struct container *c = *cp;
	struct json_object *req = request("exec", c), *resp = NULL;
	_cleanup_close_ int s = -1, master = -1, slave = -1;
	int tty = -1;
	pid_t relay;

	if (proc->terminal && o->console_socket &&
	    (console_open_pty(&master, &slave, proc, err) < 0 ||
	     console_send_to_socket(o->console_socket, master, err) < 0))
		return -1;
	json_object_object_add(req, "process", vmc_process_json(proc));
	json_object_object_add(req, "terminal", json_object_new_boolean(proc->terminal));
	if (o->cgroups) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; o->cgroups[i]; i++)
			json_object_array_add(a, json_object_new_string(o->cgroups[i]));
		json_object_object_add(req, "cgroups", a);
	}
	if (vmc_agent_call(c->dir_fd, req, &resp, &s, err) < 0)
		return hull_err_wrap(err, "container \"%s\" (VM)", c->id);
	json_object_put(resp);
	/* The process may live long: do not hold the container's lock. */
	container_free(c);
	*cp = NULL;
	if (proc->terminal)
		tty = slave >= 0 ? slave : (isatty(STDIN_FILENO) ? STDIN_FILENO : -1);
	fflush(NULL);
	relay = fork();
	if (relay < 0)
		return hull_err_make(err, errno, "fork");
	if (relay > 0) {
		/* The relay holds the pty now: its end is the console's EOF. */
		if (slave >= 0)
			close(take_fd(&slave));
		if (master >= 0)
			close(take_fd(&master));
	}
	if (relay == 0) {
		struct hull_err *e = NULL;
		int code = 255;

		signal(SIGPIPE, SIG_IGN);
		if (slave >= 0 && setsid() >= 0)
			(void)ioctl(slave, TIOCSCTTY, 0);
		vmc_send_winsize(s, tty);
		if (vmc_relay(s, slave >= 0 ? slave : STDIN_FILENO, slave >= 0 ? slave : STDOUT_FILENO,
			      STDERR_FILENO, tty, -1, NULL, NULL, &code, &e) < 0) {
			hull_warn("exec %s: %s", o->id, e->msg);
			code = 255;
		}
		_exit(code);
	}
	if (o->pid_file && write_pid_file(o->pid_file, relay, err) < 0) {
		kill(relay, SIGKILL);
		waitpid(relay, NULL, 0);
		return -1;
	}
	if (o->detach) {
		*status = 0;
		return 0;
	}
	return wait_forward(relay, -1, status, err);
}

static int vm_update(const struct runtime_ctx *ctx, struct container *c, const struct oci_resources *r,
		     struct hull_err **err)
{
	struct json_object *req = request("update", c), *resp = NULL;

	json_object_object_add(req, "resources", vmc_resources_json(r));
	if (call(c, req, &resp, err) < 0)
		return -1;
	json_object_put(resp);
	return 0;
}

static int vm_stats(const struct runtime_ctx *ctx, struct container *c, char **json, struct hull_err **err)
{
	struct json_object *resp = NULL, *st = NULL;
	int r = -1;

	*json = NULL;
	if (call(c, request("stats", c), &resp, err) < 0)
		return -1;
	if (oci_json_get_object(resp, "stats", "response", true, &st, err) > 0) {
		*json = xstrdup(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
		r = 0;
	}
	json_object_put(resp);
	return r;
}

/* The supervisor removes the taps and filters it made when it ends; one
 * that was killed left them listed in ROOT/ID/net.  The jail's uid is free
 * once the VMM is gone (uids.c). */
static int vm_cleanup(const struct runtime_ctx *ctx, struct container *c, struct hull_err **err)
{
	struct hull_err *e = NULL;
	bool member = false;
	int r;

	/* A pod's member: its container in the VM, its mounts in the pod's
	 * directory; a sandbox: that directory, what is left in it. */
	if (vmc_member_cleanup(ctx, c, &member, err) < 0)
		return -1;
	if (member)
		return 0;
	if (vmc_pod_dir_remove(c->dir_fd, err) < 0)
		return -1;

	if (container_load_spec(c, &e) < 0) {
		/* no config: no namespace to look into */
		hull_err_free(&e);
		r = vmc_net_cleanup(c->dir_fd, NULL, err);
	} else {
		r = vmc_net_cleanup(c->dir_fd, c->spec, err);
	}
	if (r < 0)
		return r;
	return vmc_uid_release(ctx->root, c->id, err);
}

static struct json_object *oom_request_json(struct container *c, int64_t after)
{
	struct json_object *req = request("oom", c);

	json_object_object_add(req, "after", json_object_new_int64(after));
	return req;
}

/* The count in an "oom" response. */
static int oom_count(struct json_object *resp, uint64_t *count, struct hull_err **err)
{
	int64_t n = 0;

	if (oci_json_get_i64(resp, "oom_kill", "response", true, &n, err) < 0)
		return -1;
	if (n < 0)
		return hull_err_make(err, EPROTO, "response.oom_kill: %lld is not a count", (long long)n);
	*count = (uint64_t)n;
	return 0;
}

/*
 * The guest's cgroup counts the OOM kills (memory.events oom_kill); the
 * agent answers "oom" with that count at once (after = -1), or once it
 * exceeds `after`: that request's connection is the watch fd.  A watch fd
 * that turned readable (*fd >= 0) holds the new count: it is read, then a
 * new watch is armed (none, *fd -1, when the agent cannot take one: the
 * container is ending).
 */
static int vm_oom(const struct runtime_ctx *ctx, struct container *c, int *fd, uint64_t *count,
		  struct hull_err **err)
{
	struct json_object *resp = NULL, *req;
	int r, s;

	if (fd && *fd >= 0) {
		r = vmc_agent_response(*fd, &resp, err);
		close(*fd);
		*fd = -1;
	} else {
		r = vmc_agent_call(c->dir_fd, oom_request_json(c, -1), &resp, NULL, err);
	}
	if (r < 0 || oom_count(resp, count, err) < 0) {
		json_object_put(resp);
		return hull_err_wrap(err, "container \"%s\" (VM)", c->id);
	}
	json_object_put(resp);
	if (!fd)
		return 0;
	s = vmc_agent_connect(c->dir_fd, NULL);
	req = oom_request_json(c, (int64_t)*count);
	if (s >= 0 && guest_json_write(s, GUEST_FRAME_REQUEST, req, NULL) == 0)
		*fd = take_fd(&s);
	if (s >= 0)
		close(s);
	json_object_put(req);
	return 0;
}

const struct runtime_vm_ops vmcontainer_ops = {
	.start = vm_start,
	.kill = vm_kill,
	.ps = vm_ps,
	.exec = vm_exec,
	.update = vm_update,
	.stats = vm_stats,
	.cleanup = vm_cleanup,
	.oom = vm_oom,
};
