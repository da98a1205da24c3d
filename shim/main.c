// SPDX-License-Identifier: Apache-2.0
/*
 * shim/main.c: the life of `containerd-shim-hull-v2` (containerd 1.6's shim
 * v2 protocol, runtime/v2/binary.go):
 *   start   containerd runs it in the bundle with -namespace -address -id;
 *           it prints the ttrpc address on stdout (containerd reads the
 *           combined output, so nothing else may be printed) after forking
 *           the serving daemon.  Containers of one pod share a shim: the
 *           socket name derives from the sandbox id annotation, and a live
 *           socket is reused.
 *   delete  cleanup of a dead shim's bundle: force-delete the container,
 *           print a DeleteResponse.
 * The daemon is a child subreaper: container inits reparent to it when the
 * `hull create` that forked them exits, and one reaper thread collects every
 * exit (hull children and containers alike).
 */
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "shim/internal.h"
#include "github.com/containerd/containerd/api/events/task.pb-c.h"

#define SHIM_NAME "containerd-shim-hull-v2"

bool shim_argv0(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	const char *base = slash ? slash + 1 : argv0;

	return base && strcmp(base, SHIM_NAME) == 0;
}

struct opts {
	const char *ns, *address, *id, *bundle, *action;
	bool debug;
};

/* Go's flag package: -flag value, --flag value, -flag=value. */
static int parse_args(int argc, char **argv, struct opts *o, struct hull_err **err)
{
	static const struct option longopts[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "address", required_argument, NULL, 'a' },
		{ "publish-binary", required_argument, NULL, 'p' },
		{ "id", required_argument, NULL, 'i' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "debug", no_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long_only(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->ns = optarg; break;
		case 'a': o->address = optarg; break;
		case 'i': o->id = optarg; break;
		case 'b': o->bundle = optarg; break;
		case 'd': o->debug = true; break;
		case 'p': case 's': break;
		default:
			return hull_err_make(err, 0, "unknown or incomplete option \"%s\"", argv[optind - 1]);
		}
	}
	o->action = optind < argc ? argv[optind] : NULL;
	if (!o->ns || !*o->ns)
		return hull_err_make(err, 0, "-namespace is required");
	if (!o->id || !*o->id || strchr(o->id, '/'))
		return hull_err_make(err, 0, "-id: missing or not a plain name");
	return 0;
}

/* hull's state root for this namespace; HULL_SHIM_ROOT (from containerd's
 * environment) moves it, e.g. for a private test containerd. */
static char *state_root(const char *ns)
{
	const char *r = getenv("HULL_SHIM_ROOT");

	return r && *r ? xasprintf("%s/%s", r, ns) : xasprintf("/run/hull/containerd/%s", ns);
}

/* The pod's key: containerd CRI's and CRI-O's sandbox id annotations, else
 * the container's own id (a pod's sandbox container carries its own id). */
static char *group_key(const char *bundle_dir, const char *id)
{
	static const char *const keys[] = { "io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID" };
	char *path = xasprintf("%s/config.json", bundle_dir);
	json_object *cfg = json_object_from_file(path), *ann, *v;
	char *key = NULL;

	free(path);
	if (cfg && json_object_object_get_ex(cfg, "annotations", &ann) &&
	    json_object_is_type(ann, json_type_object))
		for (size_t i = 0; i < ARRAY_SIZE(keys) && !key; i++)
			if (json_object_object_get_ex(ann, keys[i], &v) && json_object_is_type(v, json_type_string) &&
			    *json_object_get_string(v))
				key = xstrdup(json_object_get_string(v));
	json_object_put(cfg);
	return key ? key : xstrdup(id);
}

/* <dir of containerd's socket>/s/hull-<fnv1a64(address, ns, key)>: containerd's
 * own /run/containerd/s for the default daemon, a private containerd's
 * directory otherwise.  FNV keeps the name short for sun_path. */
static char *socket_path(const char *address, const char *ns, const char *key)
{
	const char *parts[] = { address, "\n", ns, "\n", key };
	uint64_t h = 0xcbf29ce484222325ull;
	char *dir = xstrdup(address), *slash = strrchr(dir, '/'), *path;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		for (const unsigned char *c = (const unsigned char *)parts[i]; *c; c++)
			h = (h ^ *c) * 0x100000001b3ull;
	if (slash)
		*slash = '\0';
	path = xasprintf("%s/s/hull-%016llx", slash && *dir ? dir : "/run/containerd", (unsigned long long)h);
	free(dir);
	return path;
}

static int unix_addr(const char *path, struct sockaddr_un *sa, struct hull_err **err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return hull_err_make(err, ENAMETOOLONG, "socket %s", path);
	strcpy(sa->sun_path, path);
	return 0;
}

static bool socket_alive(const char *path)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && unix_addr(path, &sa, NULL) == 0 &&
	       connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

static int listen_on(const char *path, struct hull_err **err)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *dir = xstrdup(path);

	if (unix_addr(path, &sa, err) < 0)
		return -1;
	*strrchr(dir, '/') = '\0';
	if (mkdir_p(dir, 0711, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hull_err_make(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hull_err_make(err, errno, "bind %s", path);
	if (chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		unlink(path);
		return hull_err_make(err, errno, "listen %s", path);
	}
	return take_fd(&fd);
}

/* ---- the reaper ---------------------------------------------------------- */

static uint32_t exit_code(int wstatus)
{
	return WIFEXITED(wstatus) ? (uint32_t)WEXITSTATUS(wstatus) : 128u + (uint32_t)WTERMSIG(wstatus);
}

static void mark_exited(struct shim *s, struct shim_proc *p, int wstatus, const struct timespec *at)
{
	Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	p->exited = true;
	p->status = ST_STOPPED;
	p->exit_status = exit_code(wstatus);
	p->exited_at = *at;
	ev.container_id = p->id;
	ev.id = *p->exec_id ? p->exec_id : p->id;
	ev.pid = (uint32_t)p->pid;
	ev.exit_status = p->exit_status;
	ts.seconds = at->tv_sec;
	ts.nanos = (int32_t)at->tv_nsec;
	ev.exited_at = &ts;
	shim_publish(s, "/tasks/exit", &ev.base);
}

void shim_claim_orphan_locked(struct shim *s, struct shim_proc *p)
{
	for (size_t i = 0; i < s->n_orphans; i++) {
		if (s->orphans[i].pid != p->pid)
			continue;
		mark_exited(s, p, s->orphans[i].wstatus, &s->orphans[i].at);
		s->orphans[i] = s->orphans[--s->n_orphans];
		pthread_cond_broadcast(&s->changed);
		return;
	}
}

static void post_exit(struct shim *s, pid_t pid, int wstatus)
{
	struct timespec at;

	clock_gettime(CLOCK_REALTIME, &at);
	pthread_mutex_lock(&s->lock);
	for (struct shim_child *c = s->children; c; c = c->next)
		if (c->pid == pid) {
			c->done = true;
			c->wstatus = wstatus;
			goto out;
		}
	for (struct shim_proc *p = s->procs; p; p = p->next)
		if (p->pid == pid && !p->exited) {
			mark_exited(s, p, wstatus, &at);
			goto out;
		}
	/* Unknown: an init whose pid file is not read yet, or a reparented
	 * grandchild (dropped when the ring is full: oldest first). */
	if (s->n_orphans == SHIM_ORPHANS)
		memmove(&s->orphans[0], &s->orphans[1], sizeof(s->orphans[0]) * (SHIM_ORPHANS - 1)), s->n_orphans--;
	s->orphans[s->n_orphans].pid = pid;
	s->orphans[s->n_orphans].wstatus = wstatus;
	s->orphans[s->n_orphans].at = at;
	s->n_orphans++;
out:
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

/* SIGCHLD is blocked in every thread; this one takes it synchronously. */
static void *reaper(void *arg)
{
	struct shim *s = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		int wstatus;
		pid_t pid;

		while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
			post_exit(s, pid, wstatus);
		sigwaitinfo(&set, NULL);
	}
	return NULL;
}

/* ---- running hull --------------------------------------------------------- */

static void last_log_line(const char *log, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(log, O_RDONLY | O_CLOEXEC);
	char tail[400];
	off_t end;
	ssize_t n;
	char *nl;

	snprintf(buf, size, "no message");
	if (fd < 0 || (end = lseek(fd, 0, SEEK_END)) < 0)
		return;
	n = pread(fd, tail, sizeof(tail) - 1, end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1 : 0);
	if (n <= 0)
		return;
	tail[n] = '\0';
	while (n > 0 && tail[n - 1] == '\n')
		tail[--n] = '\0';
	nl = strrchr(tail, '\n');
	snprintf(buf, size, "%s", nl ? nl + 1 : tail);
}

/* Fork+exec `hull --root R --log L args` with stdio in/out/errfd (-1:
 * /dev/null), child registered in s->children before the reaper can see
 * its pid.  outfd is closed by no one here. */
static int spawn_hull(struct shim *s, const char *log, char *const *args, int in, int outfd, int errfd,
		      struct shim_child *child, struct hull_err **err)
{
	size_t n = strv_len(args);
	_cleanup_free_ char **argv = xcalloc(n + 6, sizeof(*argv));
	int devnull;
	sigset_t empty;

	argv[0] = (char *)"hull";
	argv[1] = (char *)"--root";
	argv[2] = s->root;
	argv[3] = (char *)"--log";
	argv[4] = (char *)log;
	memcpy(argv + 5, args, n * sizeof(*argv));
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return hull_err_make(err, errno, "open /dev/null");
	sigemptyset(&empty);
	pthread_mutex_lock(&s->lock);
	child->pid = fork();
	if (child->pid == 0) {
		/* Only async-signal-safe calls until exec. */
		int fds[3] = { in >= 0 ? in : devnull, outfd >= 0 ? outfd : devnull, errfd >= 0 ? errfd : devnull };
		for (int i = 0; i < 3; i++) {
			int fd = fds[i] == i ? fcntl(fds[i], F_DUPFD_CLOEXEC, 3) : fds[i];
			fds[i] = fd;
		}
		for (int i = 0; i < 3; i++)
			if (dup2(fds[i], i) < 0)
				_exit(127);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	if (child->pid > 0) {
		child->next = s->children;
		s->children = child;
	}
	pthread_mutex_unlock(&s->lock);
	close(devnull);
	if (child->pid < 0)
		return hull_err_make(err, errno, "fork hull");
	return 0;
}

/* Wait until the reaper saw child exit and take it off the list. */
static void wait_child(struct shim *s, struct shim_child *child)
{
	pthread_mutex_lock(&s->lock);
	while (!child->done)
		pthread_cond_wait(&s->changed, &s->lock);
	for (struct shim_child **c = &s->children; *c; c = &(*c)->next)
		if (*c == child) {
			*c = child->next;
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

int shim_run_hull(struct shim *s, const char *log, char *const *args, int in, int outfd, int errfd,
		  char **out, struct hull_err **err)
{
	struct shim_child child = { 0 };
	int pipefd[2] = { -1, -1 };
	char msg[600];
	size_t n = strv_len(args);

	if (out && pipe2(pipefd, O_CLOEXEC) < 0)
		return hull_err_make(err, errno, "pipe");
	if (spawn_hull(s, log, args, in, out ? pipefd[1] : outfd, errfd, &child, err) < 0) {
		if (out)
			close(pipefd[0]), close(pipefd[1]);
		return -1;
	}
	if (out) {
		size_t len = 0;
		close(pipefd[1]);
		/* A failing read leaves *out NULL; the exit status still decides. */
		if (read_fd_all(pipefd[0], "hull stdout", out, &len, 1 << 20, NULL) < 0)
			*out = NULL;
		close(pipefd[0]);
	}
	wait_child(s, &child);
	if (WIFEXITED(child.wstatus) && WEXITSTATUS(child.wstatus) == 0)
		return 0;
	if (out) {
		free(*out);
		*out = NULL;
	}
	last_log_line(log, msg, sizeof(msg));
	/* The verb, after a leading global flag and its value (--isolation vm). */
	return hull_err_make(err, 0, "hull %s: %s", args[0][0] == '-' && n > 2 ? args[2] : args[0], msg);
}

struct oom_watch {
	struct shim *s;
	struct shim_child child;
	int fd;
	char *id;
};

/* One line per event from `hull events`; {"type":"oom",...} is a TaskOOM. */
static void *oom_thread(void *arg)
{
	struct oom_watch *w = arg;
	FILE *f = fdopen(w->fd, "r");
	char *line = NULL;
	size_t cap = 0;

	while (f && getline(&line, &cap, f) > 0) {
		json_object *o = json_tokener_parse(line), *t;

		if (o && json_object_object_get_ex(o, "type", &t) && json_object_is_type(t, json_type_string) &&
		    strcmp(json_object_get_string(t), "oom") == 0) {
			Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;

			ev.container_id = w->id;
			shim_publish(w->s, "/tasks/oom", &ev.base);
		}
		json_object_put(o);
	}
	free(line);
	if (f)
		fclose(f);
	else
		close(w->fd);
	wait_child(w->s, &w->child);
	free(w->id);
	free(w);
	return NULL;
}

void shim_stop_oom_locked(struct shim *s, struct shim_proc *p)
{
	/* Only while it is on the list unreaped: its pid cannot be reused. */
	for (struct shim_child *c = s->children; c && p->oom_pid > 0; c = c->next)
		if (c->pid == p->oom_pid && !c->done)
			kill(c->pid, SIGKILL);
	p->oom_pid = 0;
}

pid_t shim_watch_oom(struct shim *s, const char *log, char *const *args, const char *id)
{
	struct oom_watch *w = xcalloc(1, sizeof(*w));
	struct hull_err *err = NULL;
	int pipefd[2];
	pthread_attr_t attr;
	pthread_t t;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		hull_warn("shim: %s: no OOM events: pipe: %s", id, strerror(errno));
		free(w);
		return 0;
	}
	w->s = s;
	w->fd = pipefd[0];
	w->id = xstrdup(id);
	if (spawn_hull(s, log, args, -1, pipefd[1], -1, &w->child, &err) < 0) {
		hull_warn("shim: %s: no OOM events: %s", id, err->msg);
		hull_err_free(&err);
		close(pipefd[0]);
		close(pipefd[1]);
		free(w->id);
		free(w);
		return 0;
	}
	close(pipefd[1]);
	pid = w->child.pid; /* the thread frees w */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, oom_thread, w) != 0) {
		/* hull events ends with the container; only its output is lost. */
		hull_warn("shim: %s: no OOM events: thread", id);
		close(w->fd);
		pthread_attr_destroy(&attr);
		return pid; /* w stays: the child's record is on s->children */
	}
	pthread_attr_destroy(&attr);
	return pid;
}

void shim_unmount_rootfs(const char *bundle)
{
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", bundle);

	/* EINVAL: not a mount point (a --rootfs directory we never mounted). */
	(void)umount2(rootfs, MNT_DETACH);
}

/* ---- serving ---------------------------------------------------------------- */

struct conn_arg {
	struct shim *s;
	int fd;
};

static void *conn_thread(void *arg)
{
	struct conn_arg *a = arg;
	struct hull_err *err = NULL;

	if (ttrpc_serve_conn(a->fd, &shim_task_service, 1, a->s, &err) < 0)
		hull_warn("shim: connection: %s", err->msg);
	hull_err_free(&err);
	close(a->fd);
	free(a);
	return NULL;
}

static int serve(struct shim *s, int lfd)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, reaper, s) != 0 || shim_events_start(s) < 0)
		return 1;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		struct conn_arg *a;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
				continue;
			return 1;
		}
		a = xcalloc(1, sizeof(*a));
		a->s = s;
		a->fd = fd;
		if (pthread_create(&t, &attr, conn_thread, a) != 0) {
			close(fd);
			free(a);
		}
	}
}

/* The daemon's stdio: containerd's `log` FIFO in the bundle when it has a
 * reader (containerd copies it to its own log), else /dev/null. */
static void daemon_stdio(void)
{
	int null = open("/dev/null", O_RDWR), log = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (log >= 0)
		fcntl(log, F_SETFL, 0);
	dup2(null, 0);
	dup2(null, 1);
	dup2(log >= 0 ? log : null, 2);
	if (null > 2)
		close(null);
	if (log > 2)
		close(log);
}

/* The serving daemon, in the forked child; never returns.  Its state is
 * made here, so the `start` process that prints the address owns nothing. */
static void daemon_main(const struct opts *o, const char *key, const char *path, int lfd)
{
	struct shim *s = xcalloc(1, sizeof(*s));
	const char *ttrpc = getenv("TTRPC_ADDRESS");

	setsid();
	daemon_stdio();
	/* Orphaned container inits come to us, not to PID 1. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	s->ns = xstrdup(o->ns);
	s->address = xstrdup(o->address);
	s->ttrpc_address = ttrpc && *ttrpc ? xstrdup(ttrpc) : NULL;
	s->id = xstrdup(key);
	s->root = state_root(o->ns);
	s->socket_path = xstrdup(path);
	s->backend = &shim_backend_container;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	_exit(serve(s, lfd));
}

static int cmd_start(const struct opts *o, struct hull_err **err)
{
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *key = NULL, *path = NULL, *addr = NULL;
	_cleanup_close_ int lfd = -1;
	pid_t pid;

	if (!o->address || !*o->address)
		return hull_err_make(err, 0, "-address is required");
	if (!cwd)
		return hull_err_make(err, errno, "getcwd");
	key = group_key(cwd, o->id);
	path = socket_path(o->address, o->ns, key);
	addr = xasprintf("unix://%s", path);
	if (socket_alive(path))
		goto print; /* the pod's shim already runs: it serves this container too */
	(void)unlink(path); /* a dead shim's socket */
	lfd = listen_on(path, err);
	if (lfd < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		unlink(path);
		return hull_err_make(err, errno, "fork");
	}
	if (pid == 0)
		daemon_main(o, key, path, lfd);
print:
	if (write_file_atomic_at(AT_FDCWD, "address", addr, strlen(addr), 0644, err) < 0)
		return -1;
	printf("%s\n", addr);
	return 0;
}

/* containerd's cleanup of a dead shim: nothing may be left of the container. */
static int cmd_delete(const struct opts *o, struct hull_err **err)
{
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	_cleanup_free_ char *cwd = getcwd(NULL, 0), *root = state_root(o->ns);
	const char *bundle = o->bundle ? o->bundle : cwd;
	_cleanup_free_ uint8_t *buf = NULL;
	struct timespec now;
	size_t n;
	pid_t pid;

	if (!bundle)
		return hull_err_make(err, errno, "getcwd");
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1);
		execl("/proc/self/exe", "hull", "--root", root, "delete", "--force", o->id, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	shim_unmount_rootfs(bundle);
	clock_gettime(CLOCK_REALTIME, &now);
	ts.seconds = now.tv_sec;
	ts.nanos = (int32_t)now.tv_nsec;
	resp.exited_at = &ts;
	resp.exit_status = 128 + SIGKILL; /* what containerd's runc shim reports */
	n = containerd__task__v2__delete_response__get_packed_size(&resp);
	buf = xmalloc(n);
	containerd__task__v2__delete_response__pack(&resp, buf);
	if (write_all(STDOUT_FILENO, buf, n) < 0)
		return hull_err_make(err, errno, "write DeleteResponse");
	return 0;
}

int shim_main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct hull_err *err = NULL;
	int ret = -1;

	hull_log_init(STDERR_FILENO, false, HULL_LOG_WARN);
	if (parse_args(argc, argv, &o, &err) < 0)
		goto fail;
	if (o.action && strcmp(o.action, "start") == 0)
		ret = cmd_start(&o, &err);
	else if (o.action && strcmp(o.action, "delete") == 0)
		ret = cmd_delete(&o, &err);
	else
		ret = hull_err_make(&err, 0, "action: want start or delete, got \"%s\"", o.action ? o.action : "");
	if (ret >= 0)
		return 0;
fail:
	fprintf(stderr, "%s: %s\n", SHIM_NAME, err->msg);
	hull_err_free(&err);
	return 1;
}
