/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `hull agent`: the guest's PID 1 serves the agent protocol (guest/guest.h),
 * one request per connection, each connection in its own thread.  Every
 * container operation runs hull's own CLI in the guest as a child process
 * (/proc/self/exe create/start/exec/...), so a VM's container is built by
 * exactly the code of container mode.  Those children log JSON lines to a
 * file of their own; a failure's last error line becomes the response.
 */
#include "guest/internal.h"
#include "oci/oci.h"
#include "runtime/runtime.h"

#include <dirent.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* The agent's whole state: set once before the first connection, read-only after. */
static struct {
	const char *root;           /* --root for the hull children */
	char *bundles;              /* RUN_DIR/bundles: one bundle per container */
	char *priv;                 /* RUN_DIR/hull-agent (0700): logs, process files, console sockets */
	bool debug, pid1;
	atomic_uint seq;
} A;

/* ---- running hull ---------------------------------------------------------- */

/* The last error line of a child's JSON log as an error; errno from the
 * strerror text that ends it (": No such file or directory"), else EIO. */
static int error_from_log(const char *log, const char *what, int status, struct hull_err **err)
{
	_cleanup_free_ char *text = NULL, *msg = NULL;
	int e = EIO;

	if (read_file_at(AT_FDCWD, log, &text, NULL, 1 << 20, NULL) == 0) {
		char *save = NULL;
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			struct json_object *o = NULL;
			_cleanup_free_ char *level = NULL, *m = NULL;
			if (oci_json_parse(l, strlen(l), "log", &o, NULL) < 0)
				continue;
			if (json_object_is_type(o, json_type_object) &&
			    oci_json_get_str(o, "level", "log", true, &level, NULL) > 0 &&
			    strcmp(level, "error") == 0 && oci_json_get_str(o, "msg", "log", true, &m, NULL) > 0) {
				free(msg);
				msg = take_ptr(m);
			}
			json_object_put(o);
		}
	}
	if (!msg)
		return hull_err_make(err, EIO, "%s: exit status %d", what, status);
	for (int i = 1; i < 134; i++) {
		const char *s = strerror(i);
		size_t ls = strlen(s), lm = strlen(msg);
		if (lm > ls + 2 && strcmp(msg + lm - ls, s) == 0 && msg[lm - ls - 2] == ':') {
			e = i;
			break;
		}
	}
	/* runc's wording, which the host's own CLI matches on. */
	if (e == EIO && strstr(msg, "does not exist"))
		e = ENOENT;
	/* The message as hull printed it, the errno beside it (not appended twice). */
	hull_err_make(err, 0, "%s", msg);
	if (err && *err)
		(*err)->errnum = e;
	return -e;
}

/* argv of a hull child: the agent's binary, its global flags, then args. */
static char **hull_argv(const char *log, const char *const *args)
{
	size_t n = 0, k = 0;
	char **v;

	while (args[n])
		n++;
	v = xcalloc(n + 10, sizeof(*v));
	v[k++] = xstrdup("/proc/self/exe");
	v[k++] = xstrdup("--root");
	v[k++] = xstrdup(A.root);
	v[k++] = xstrdup("--log");
	v[k++] = xstrdup(log);
	v[k++] = xstrdup("--log-format");
	v[k++] = xstrdup("json");
	if (A.debug)
		v[k++] = xstrdup("--debug");
	for (size_t i = 0; i < n; i++)
		v[k++] = xstrdup(args[i]);
	return v;
}

/* Run `hull ARGS` with fds as stdio, wait for it; 0 when it exited 0, else
 * an error made from its log. */
static int run_with(const char *const *args, const int fds[3], struct hull_err **err)
{
	_cleanup_free_ char *log = xasprintf("%s/req-%u.log", A.priv, atomic_fetch_add(&A.seq, 1));
	_cleanup_strv_ char **argv = hull_argv(log, args);
	struct agent_watch *w = NULL;
	int status, r;

	if (agent_spawn(argv, fds, &w, err) < 0)
		return -1;
	status = agent_watch_wait(w);
	agent_watch_free(w);
	r = status == 0 ? 0 : error_from_log(log, args[0], agent_exit_code(status), err);
	unlink(log);
	return r;
}

static int memfd_with(const char *name, const char *data, size_t len, struct hull_err **err)
{
	_cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return hull_err_make(err, errno, "memfd_create");
	if (len && write_all(fd, data, len) < 0)
		return hull_err_make(err, errno, "write memfd");
	if (lseek(fd, 0, SEEK_SET) < 0)
		return hull_err_make(err, errno, "lseek memfd");
	return take_fd(&fd);
}

/* Run `hull ARGS` with `input` as stdin; *out (if asked) gets its stdout. */
static int run_hull(const char *const *args, const char *input, char **out, struct hull_err **err)
{
	_cleanup_close_ int in = -1, o = -1;
	size_t len;

	if (input && (in = memfd_with("stdin", input, strlen(input), err)) < 0)
		return -1;
	if (out && (o = memfd_with("stdout", NULL, 0, err)) < 0)
		return -1;
	if (run_with(args, (int[3]){ in, o, -1 }, err) < 0)
		return -1;
	if (out && (lseek(o, 0, SEEK_SET) < 0 || read_fd_all(o, "stdout", out, &len, 1 << 20, err) < 0))
		return -1;
	return 0;
}

/* ---- processes with stdio: create and exec ---------------------------------- */

/* A listening Unix socket at path (a stale one there is replaced), 0600. */
static int unix_listen(const char *path, int backlog, const char *what, struct hull_err **err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return hull_err_make(err, errno, "%s: socket", what);
	if (strlen(path) >= sizeof(a.sun_path))
		return hull_err_make(err, ENAMETOOLONG, "%s %s", what, path);
	strcpy(a.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0600) < 0 || listen(fd, backlog) < 0)
		return hull_err_make(err, errno, "%s %s", what, path);
	return take_fd(&fd);
}

/* The pty master hull sent to the console socket before it exited (the
 * connection and its message wait in the backlog). */
static int console_receive(int lfd, struct hull_err **err)
{
	_cleanup_close_ int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char byte, ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	int fd;

	if (c < 0)
		return hull_err_make(err, errno, "console socket: no pty received");
	if (recvmsg(c, &m, MSG_CMSG_CLOEXEC) < 0)
		return hull_err_make(err, errno, "console socket: receive");
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return hull_err_make(err, EPROTO, "console socket: no pty received");
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

struct launched {
	struct agent_stdio stdio;
	struct agent_watch *watch;
	pid_t pid;
};

/*
 * Run `hull ARGS --pid-file PIDFILE [--console-socket S] ID`, whose process
 * (the container's init, a detached exec'd process) outlives it with the
 * agent as its new parent.  With a tty its stdio is the pty master hull sends
 * to our console socket, else pipes the process inherits from hull.
 */
static int launch(const char **args, size_t nargs, const char *id, const char *pid_file, bool tty,
		  struct launched *out, struct hull_err **err)
{
	_cleanup_free_ char *sock = NULL, *pid_text = NULL;
	_cleanup_close_ int lfd = -1;
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 }, master = -1, r = -1;
	int64_t pid = 0;

	args[nargs++] = "--pid-file";
	args[nargs++] = pid_file;
	if (tty) {
		sock = xasprintf("%s/console-%u.sock", A.priv, atomic_fetch_add(&A.seq, 1));
		if ((lfd = unix_listen(sock, 1, "console socket", err)) < 0)
			return -1;
		args[nargs++] = "--console-socket";
		args[nargs++] = sock;
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) {
		hull_err_make(err, errno, "pipe");
		goto out;
	}
	args[nargs++] = id;
	args[nargs] = NULL;
	r = run_with(args, (int[3]){ in[0], o[1], e[1] }, err);
	if (r == 0 && tty && (master = console_receive(lfd, err)) < 0)
		r = -1;
	if (r == 0 && (read_file_at(AT_FDCWD, pid_file, &pid_text, NULL, 64, err) < 0 ||
		       parse_i64(pid_text, &pid) < 0 || pid <= 1 || pid > INT32_MAX))
		r = hull_err_make(err, EIO, "%s: no process id in %s", args[0], pid_file);
	if (r < 0)
		goto out;
	*out = (struct launched){ .pid = (pid_t)pid, .watch = agent_watch_pid((pid_t)pid),
				  .stdio = { .in = tty ? master : in[1], .out = tty ? master : o[0],
					     .err = tty ? -1 : e[0], .tty = tty } };
	master = in[1] = o[0] = e[0] = -1;
out:
	if (sock)
		unlink(sock);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0) close(in[i]);
		if (o[i] >= 0) close(o[i]);
		if (e[i] >= 0) close(e[i]);
	}
	if (master >= 0)
		close(master);
	return r;
}

/* Answer {"ok":true,"pid":N}, then carry the process's stdio until EXIT. */
static int serve_process(int conn, struct launched *l, struct hull_err **err)
{
	struct json_object *resp = guest_response_ok();
	struct hull_err *relay_err = NULL;
	int r;

	json_object_object_add(resp, "pid", json_object_new_int(l->pid));
	r = guest_json_write(conn, GUEST_FRAME_RESPONSE, resp, err);
	json_object_put(resp);
	if (r == 0 && agent_relay(conn, &l->stdio, l->watch, &relay_err) < 0) {
		/* The host went away: the process runs on (runc: its stdio ends). */
		hull_debug("agent: pid %d: %s", (int)l->pid, relay_err->msg);
		hull_err_free(&relay_err);
	}
	if (r < 0) {
		if (l->stdio.in >= 0 && l->stdio.in != l->stdio.out)
			close(l->stdio.in);
		if (l->stdio.out >= 0)
			close(l->stdio.out);
		if (l->stdio.err >= 0)
			close(l->stdio.err);
	}
	agent_watch_free(l->watch);
	return r;
}

/* ---- ops --------------------------------------------------------------------- */

static const char *const req_path = "request";

static int get_id(struct json_object *req, char **id, struct hull_err **err)
{
	if (oci_json_get_str(req, "id", req_path, true, id, err) < 0)
		return -1;
	return runtime_validate_id(*id, err);
}

static int reply_ok(int conn, struct json_object *extra_key_val, const char *key, struct hull_err **err)
{
	struct json_object *resp = guest_response_ok();
	int r;

	if (key)
		json_object_object_add(resp, key, extra_key_val);
	r = guest_json_write(conn, GUEST_FRAME_RESPONSE, resp, err);
	json_object_put(resp);
	return r;
}

static void bundle_remove(const char *dir)
{
	_cleanup_free_ char *cfg = xasprintf("%s/config.json", dir), *pid = xasprintf("%s/pid", dir);

	unlink(cfg);
	unlink(pid);
	rmdir(dir);
}

static int op_create(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL, *config = NULL, *dir = NULL, *cfg = NULL, *pid_file = NULL;
	const char *args[12] = { "create", "--bundle" };
	struct launched l;
	bool tty = false;

	if (get_id(req, &id, err) < 0 || oci_json_get_str(req, "config", req_path, true, &config, err) < 0 ||
	    oci_json_get_bool(req, "terminal", req_path, false, &tty, err) < 0)
		return -1;
	dir = xasprintf("%s/%s", A.bundles, id);
	if (mkdir(dir, 0700) < 0)
		return hull_err_make(err, errno, "container \"%s\": bundle %s", id, dir);
	cfg = xasprintf("%s/config.json", dir);
	pid_file = xasprintf("%s/pid", dir);
	args[2] = dir;
	if (write_file_atomic_at(AT_FDCWD, cfg, config, strlen(config), 0600, err) < 0 ||
	    launch(args, 3, id, pid_file, tty, &l, err) < 0) {
		bundle_remove(dir);
		return -1;
	}
	return serve_process(conn, &l, err);
}

/* The host's mirror of its container's network namespace (issue 12): each
 * virtio-net device, found by the veth's MAC, gets the veth's name, MTU,
 * addresses and routes (on-link routes before those through a gateway).
 * The container joins the agent's network namespace (the host's config
 * rewrite points the network namespace it joined at /proc/1/ns/net). */
static int op_network(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ struct guest_netif *ifs = NULL;
	size_t n = 0;

	if (guest_net_parse(req, &ifs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct guest_netif *f = &ifs[i];

		if (net_link_setup_by_mac(f->mac, f->name, f->mtu, err) < 0)
			return -1;
		for (size_t j = 0; j < f->n_addrs; j++)
			if (net_addr_add(f->name, &f->addrs[j], err) < 0)
				return -1;
		for (int gw = 0; gw < 2; gw++)
			for (size_t j = 0; j < f->n_routes; j++)
				if (f->routes[j].has_gw == gw && net_route_add(f->name, &f->routes[j], err) < 0)
					return -1;
		hull_debug("agent: network: %s up with %zu addresses, %zu routes", f->name, f->n_addrs,
			   f->n_routes);
	}
	return reply_ok(conn, NULL, NULL, err);
}

static int op_exec(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL, *file = NULL, *pid_file = NULL;
	const char *args[12 + 2 * GUEST_EXEC_CGROUPS_MAX] = { "exec", "--detach", "--process" };
	struct json_object *proc = NULL, *cgs = NULL;
	unsigned n = atomic_fetch_add(&A.seq, 1);
	struct launched l;
	bool tty = false;
	size_t na = 4;
	int r;

	if (get_id(req, &id, err) < 0 || oci_json_get_object(req, "process", req_path, true, &proc, err) < 0 ||
	    oci_json_get_bool(req, "terminal", req_path, false, &tty, err) < 0)
		return -1;
	/* exec --cgroup: sub-cgroups of the container's, as runc 1.1; the guest's
	 * hull checks each value as it checks its own command line's. */
	if (oci_json_get_array(req, "cgroups", req_path, false, &cgs, err) < 0)
		return -1;
	if (cgs && json_object_array_length(cgs) > GUEST_EXEC_CGROUPS_MAX)
		return hull_err_make(err, EINVAL, "request.cgroups: more than %d", GUEST_EXEC_CGROUPS_MAX);
	for (size_t i = 0; cgs && i < json_object_array_length(cgs); i++) {
		struct json_object *v = json_object_array_get_idx(cgs, i);
		if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
			return hull_err_make(err, EINVAL, "request.cgroups[%zu]: expected a non-empty string", i);
		args[na++] = "--cgroup";
		args[na++] = json_object_get_string(v);
	}
	/* "terminal" of the request decides, whatever the process object says. */
	json_object_object_add(proc, "terminal", json_object_new_boolean(tty));
	file = xasprintf("%s/exec-%u.json", A.priv, n);
	pid_file = xasprintf("%s/exec-%u.pid", A.priv, n);
	args[3] = file;
	if (tty)
		args[na++] = "--tty";
	{
		size_t len;
		const char *text = json_object_to_json_string_length(proc, JSON_C_TO_STRING_PLAIN, &len);
		r = write_file_atomic_at(AT_FDCWD, file, text, len, 0600, err);
	}
	if (r == 0)
		r = launch(args, na, id, pid_file, tty, &l, err);
	unlink(file);
	unlink(pid_file);
	if (r < 0)
		return -1;
	return serve_process(conn, &l, err);
}

static int op_start(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL;

	if (get_id(req, &id, err) < 0 || run_hull((const char *[]){ "start", id, NULL }, NULL, NULL, err) < 0)
		return -1;
	return reply_ok(conn, NULL, NULL, err);
}

static int op_kill(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL;
	char sig[16];
	int signal = SIGTERM;
	bool all = false;

	if (get_id(req, &id, err) < 0 || oci_json_get_int(req, "signal", req_path, false, &signal, err) < 0 ||
	    oci_json_get_bool(req, "all", req_path, false, &all, err) < 0)
		return -1;
	if (signal < 1 || signal > 64)
		return hull_err_make(err, EINVAL, "request.signal: %d is not a signal", signal);
	snprintf(sig, sizeof(sig), "%d", signal);
	if (run_hull(all ? (const char *[]){ "kill", "--all", id, sig, NULL }
			 : (const char *[]){ "kill", id, sig, NULL }, NULL, NULL, err) < 0)
		return -1;
	return reply_ok(conn, NULL, NULL, err);
}

/* Run a command that prints JSON and parse what it printed. */
static int run_json(const char *const *args, struct json_object **out, struct hull_err **err)
{
	_cleanup_free_ char *text = NULL;

	if (run_hull(args, NULL, &text, err) < 0)
		return -1;
	return oci_json_parse(text, strlen(text), args[0], out, err);
}

static int op_state(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL, *status = NULL;
	struct json_object *st = NULL, *resp;
	int pid = 0, r = -1;

	if (get_id(req, &id, err) < 0 || run_json((const char *[]){ "state", id, NULL }, &st, err) < 0)
		return -1;
	if (oci_json_get_str(st, "status", "state", true, &status, err) < 0 ||
	    oci_json_get_int(st, "pid", "state", false, &pid, err) < 0)
		goto out;
	resp = guest_response_ok();
	json_object_object_add(resp, "status", json_object_new_string(status));
	json_object_object_add(resp, "pid", json_object_new_int(pid));
	r = guest_json_write(conn, GUEST_FRAME_RESPONSE, resp, err);
	json_object_put(resp);
out:
	json_object_put(st);
	return r;
}

static int op_ps(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL;
	struct json_object *pids = NULL;

	if (get_id(req, &id, err) < 0 ||
	    run_json((const char *[]){ "ps", "--format", "json", id, NULL }, &pids, err) < 0)
		return -1;
	if (!json_object_is_type(pids, json_type_array)) {
		json_object_put(pids);
		return hull_err_make(err, EIO, "ps: not a JSON array");
	}
	return reply_ok(conn, pids, "pids", err);
}

static int op_update(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL;
	struct json_object *res = NULL;

	if (get_id(req, &id, err) < 0 || oci_json_get_object(req, "resources", req_path, true, &res, err) < 0 ||
	    run_hull((const char *[]){ "update", "--resources", "-", id, NULL },
		     json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN), NULL, err) < 0)
		return -1;
	return reply_ok(conn, NULL, NULL, err);
}

static int op_stats(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL;
	struct json_object *ev = NULL, *data = NULL;

	if (get_id(req, &id, err) < 0 ||
	    run_json((const char *[]){ "events", "--stats", id, NULL }, &ev, err) < 0)
		return -1;
	if (oci_json_get_object(ev, "data", "events", true, &data, err) < 0) {
		json_object_put(ev);
		return -1;
	}
	json_object_get(data);
	json_object_put(ev);
	return reply_ok(conn, data, "stats", err);
}

/*
 * OOM kills in the container's cgroup (memory.events oom_kill): the count at
 * once (after < 0), or once it exceeds `after`, which makes this connection
 * the host's `hull events` watch.  In-process, read-only: the cgroup is the
 * one the guest's hull made.  The host hanging up ends the wait.
 */
static int op_oom(int conn, struct json_object *req, struct hull_err **err)
{
	const struct runtime_ctx ctx = { .root = A.root };
	_cleanup_free_ char *id = NULL;
	_cleanup_close_ int fd = -1;
	int64_t after = -1;
	uint64_t n = 0;
	struct stat st;

	if (get_id(req, &id, err) < 0 || oci_json_get_i64(req, "after", req_path, false, &after, err) < 0)
		return -1;
	/* The count alone also for a container that has just stopped. */
	if (after < 0 ? runtime_oom_count(&ctx, id, &n, err) < 0 : runtime_oom_watch(&ctx, id, &fd, &n, err) < 0)
		return -1;
	/* cgroup v2 (the guest's): memory.events, POLLPRI, re-armed by reading
	 * it; v1 (agent.bats on a hybrid host): an eventfd, POLLIN. */
	if (fd >= 0 && fstat(fd, &st) < 0)
		return hull_err_make(err, errno, "fstat");
	while (after >= 0 && n <= (uint64_t)after) {
		struct pollfd p[2] = { { .fd = fd, .events = S_ISREG(st.st_mode) ? POLLPRI : POLLIN },
				       { .fd = conn, .events = POLLIN } };
		char buf[512];
		uint64_t fired = 0;
		ssize_t r;

		if (fd < 0)
			return hull_err_make(err, ENOTSUP, "container \"%s\": no memory.events to watch", id);
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hull_err_make(err, errno, "poll");
		}
		/* A request carries nothing after it: readable = the host is gone. */
		if (p[1].revents)
			return 0;
		/* Re-armed by reading (kernfs reports a change as POLLPRI|POLLERR:
		 * not an error); a read that fails (the cgroup removed) ends it. */
		if ((S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_SET) < 0) || (r = read(fd, buf, sizeof(buf))) < 0)
			return hull_err_make(err, ENOENT, "container \"%s\": its cgroup is gone", id);
		if (runtime_oom_count(&ctx, id, &n, err) < 0)
			return -1;
		/* v1's eventfd fires before oom_kill counts the kill: its own count
		 * (OOM events, as `hull events` reports them on v1) then stands. */
		if (!S_ISREG(st.st_mode) && r == (ssize_t)sizeof(fired)) {
			memcpy(&fired, buf, sizeof(fired));
			if (n < (uint64_t)after + fired)
				n = (uint64_t)after + fired;
		}
	}
	return reply_ok(conn, json_object_new_int64((int64_t)n), "oom_kill", err);
}

static int delete_one(const char *id, bool force, struct hull_err **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", A.bundles, id);

	if (run_hull(force ? (const char *[]){ "delete", "--force", id, NULL }
			   : (const char *[]){ "delete", id, NULL }, NULL, NULL, err) < 0)
		return -1;
	bundle_remove(dir);
	return 0;
}

/* Containers the agent made and did not delete yet: its bundles. */
static size_t bundles_count(char ***ids)
{
	DIR *d = opendir(A.bundles);
	struct dirent *de;
	size_t n = 0;

	if (ids)
		*ids = xcalloc(1, sizeof(char *));
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (ids) {
			*ids = xrealloc(*ids, (n + 2) * sizeof(char *));
			(*ids)[n] = xstrdup(de->d_name);
			(*ids)[n + 1] = NULL;
		}
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

__attribute__((noreturn)) static void finish(void)
{
	if (A.pid1)
		guest_power_off();
	/* The test mode: the end of the process is the end of the "VM". */
	exit(0);
}

static int op_delete(int conn, struct json_object *req, struct hull_err **err)
{
	_cleanup_free_ char *id = NULL;
	bool force = false;

	if (get_id(req, &id, err) < 0 || oci_json_get_bool(req, "force", req_path, false, &force, err) < 0 ||
	    delete_one(id, force, err) < 0)
		return -1;
	if (reply_ok(conn, NULL, NULL, err) < 0)
		return -1;
	/* One VM per container: once it is deleted the guest has done its work. */
	if (A.pid1 && bundles_count(NULL) == 0)
		finish();
	return 0;
}

/* Every container the agent made, deleted by force. */
static void delete_all(void)
{
	_cleanup_strv_ char **ids = NULL;

	bundles_count(&ids);
	for (size_t i = 0; ids[i]; i++) {
		struct hull_err *e = NULL;
		if (delete_one(ids[i], true, &e) < 0) {
			hull_warn("agent: shutdown: delete %s: %s", ids[i], e->msg);
			hull_err_free(&e);
		}
	}
}

static int op_shutdown(int conn, struct json_object *req, struct hull_err **err)
{
	delete_all();
	(void)reply_ok(conn, NULL, NULL, NULL);
	finish();
}

/* The host's other way to ask for the end (vmmsplit: SIGTERM to the VMM
 * presses the ACPI power button): the same as a shutdown request. */
static void *power_button(void *arg)
{
	int fd = (int)(intptr_t)arg;

	if (agent_power_button_wait(fd)) {
		hull_warn("agent: power button: shutting down");
		delete_all();
		finish();
	}
	hull_warn("agent: power button: read failed, no longer watched");
	close(fd);
	return NULL;
}

static const struct {
	const char *name;
	int (*run)(int conn, struct json_object *req, struct hull_err **err);
} ops[] = {
	{ "create", op_create }, { "start", op_start }, { "kill", op_kill }, { "state", op_state },
	{ "ps", op_ps }, { "update", op_update }, { "stats", op_stats }, { "exec", op_exec },
	{ "delete", op_delete }, { "shutdown", op_shutdown }, { "network", op_network }, { "oom", op_oom },
};

/* ---- connections ---------------------------------------------------------- */

static void serve(int conn)
{
	struct guest_frame f;
	struct json_object *req = NULL, *resp;
	struct hull_err *err = NULL;
	const char *op = NULL;
	int r;

	r = guest_frame_read(conn, &f, &err);
	if (r <= 0) {
		if (r < 0)
			hull_warn("agent: %s", err->msg);
		goto out;
	}
	r = guest_json_parse(&f, GUEST_FRAME_REQUEST, &req, &err);
	guest_frame_release(&f);
	if (r < 0) {
		/* Not a request at all: close, nothing to answer to. */
		hull_warn("agent: %s", err->msg);
		goto out;
	}
	r = guest_request_check(req, &op, &err);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(ops); i++)
		if (strcmp(ops[i].name, op) == 0)
			goto found;
	if (r == 0)
		hull_err_make(&err, EINVAL, "unknown op \"%s\"", op);
	goto fail;
found:
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (strcmp(ops[i].name, op) == 0)
			r = ops[i].run(conn, req, &err);
	if (r == 0 || !err)
		goto out;
fail:
	hull_debug("agent: %s: %s", op ? op : "request", err->msg);
	/* errno 0: the request itself was wrong (a field, an id). */
	resp = guest_response_error(err->errnum ? err->errnum : EINVAL, err->msg);
	(void)guest_json_write(conn, GUEST_FRAME_RESPONSE, resp, NULL);
	json_object_put(resp);
out:
	hull_err_free(&err);
	json_object_put(req);
}

static void *conn_main(void *arg)
{
	int conn = (int)(intptr_t)arg;

	serve(conn);
	close(conn);
	return NULL;
}

int guest_agent_run(const struct guest_agent_opts *o, struct hull_err **err)
{
	_cleanup_close_ int lfd = -1;
	const char *run_dir = o->run_dir ? o->run_dir : "/run";
	sigset_t set;

	A.root = o->root;
	A.debug = o->debug;
	A.pid1 = !o->listen_unix;
	/* Children reach the reaper only as SIGCHLD blocked everywhere and
	 * waited for in its thread; a pipe whose reader left is EPIPE. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (A.pid1) {
		/* what PID 1 execs from its tmpfs root (guest/pid1.c) */
		char *argv[] = { "/init", "--root", (char *)o->root, o->debug ? "--debug" : "agent",
				 o->debug ? "agent" : NULL, NULL };
		agent_pid1_setup(argv);
	}
	else if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return hull_err_make(err, errno, "prctl PR_SET_CHILD_SUBREAPER");
	A.bundles = xasprintf("%s/bundles", run_dir);
	A.priv = xasprintf("%s/hull-agent", run_dir);
	if ((mkdir(A.bundles, 0700) < 0 && errno != EEXIST) || (mkdir(A.priv, 0700) < 0 && errno != EEXIST))
		return hull_err_make(err, errno, "mkdir %s", run_dir);
	if (agent_reaper_start(err) < 0)
		return -1;
	if (A.pid1) {
		int pb = agent_power_button_open();
		pthread_t t;
		if (pb < 0)
			hull_warn("agent: no power button: the host's ACPI shutdown is not seen");
		else if (pthread_create(&t, NULL, power_button, (void *)(intptr_t)pb) != 0)
			close(pb);
		else
			pthread_detach(t);
	}
	lfd = A.pid1 ? agent_listen_vsock(err) : unix_listen(o->listen_unix, 64, "--listen-unix", err);
	if (lfd < 0)
		return -1;
	/* One line on the guest's console: the host's log shows how far the
	 * guest came (the set-up's failures are logged above it). */
	if (A.pid1)
		fprintf(stderr, "hull agent: ready on vsock port %d\n", GUEST_AGENT_PORT);
	hull_debug("agent: listening on %s", A.pid1 ? "vsock port 1024" : o->listen_unix);
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;
		int r;

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			hull_warn("agent: accept: %s", strerror(errno));
			/* Out of fds or memory: let the connections that hold
			 * them finish instead of spinning on the error. */
			usleep(100000);
			continue;
		}
		r = pthread_create(&t, NULL, conn_main, (void *)(intptr_t)c);
		if (r != 0) {
			hull_warn("agent: thread: %s", strerror(r));
			close(c);
			continue;
		}
		pthread_detach(t);
	}
}
