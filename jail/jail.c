/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jailer's steps, in the order Firecracker's jailer takes them (see
 * jail.h).  The keeper (this process) makes the root and the cgroup; the
 * child, PID 1 of a new pid namespace, confines itself and execs.
 */
#include "jail/jail.h"
#include "cgroups/cgroups.h"
#include "runtime/runtime.h"
#include "confine/confine.h"

#include <fcntl.h>
#include <libgen.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <grp.h>
#include <poll.h>
#include <unistd.h>

#define DEFAULT_BASE "/srv/jailer"

/* Device nodes a VMM may open, made when the host has them. */
static const char *const default_devices[] = {
	"/dev/kvm", "/dev/net/tun", "/dev/vhost-net", "/dev/vhost-vsock", "/dev/urandom", "/dev/null",
};

int jail_rlimit_parse(const char *s, struct jail_rlimit *out, struct hull_err **err)
{
	static const struct { const char *name; int res; } names[] = {
		{ "fsize", RLIMIT_FSIZE }, { "no-file", RLIMIT_NOFILE },
	};
	const char *eq = strchr(s, '=');
	uint64_t v;

	for (size_t i = 0; eq && i < ARRAY_SIZE(names); i++) {
		if (strlen(names[i].name) != (size_t)(eq - s) || strncmp(s, names[i].name, (size_t)(eq - s)) != 0)
			continue;
		if (parse_u64(eq + 1, &v) < 0)
			return hull_err_make(err, 0, "--resource-limit %s: not a number", s);
		*out = (struct jail_rlimit){ .resource = names[i].res, .value = (rlim_t)v };
		return 0;
	}
	return hull_err_make(err, 0, "--resource-limit %s: want fsize=N or no-file=N", s);
}

/* The jail's directory, <chroot_base>/hull/<id> (malloc'd). */
static char *jail_dir(const struct jail_opts *o)
{
	return xasprintf("%s/hull/%s", o->chroot_base ? o->chroot_base : DEFAULT_BASE, o->id);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Check before anything exists. */
static int check_opts(const struct jail_opts *o, struct hull_err **err)
{
	const char *base = o->chroot_base ? o->chroot_base : DEFAULT_BASE;

	if (runtime_validate_id(o->id, err) < 0)
		return hull_err_wrap(err, "--id");
	if (base[0] != '/')
		return hull_err_make(err, 0, "--chroot-base %s: must be an absolute path", base);
	if (!o->argv || !o->argv[0])
		return hull_err_make(err, 0, "no program after --");
	if (strcmp(o->argv[0], "hull") != 0 && !strchr(o->argv[0], '/'))
		return hull_err_make(err, 0, "program \"%s\": give \"hull\" or a path", o->argv[0]);
	for (size_t i = 0; i < o->n_files; i++) {
		struct stat st;
		const char *b = base_name(o->files[i]);
		if (stat(o->files[i], &st) < 0)
			return hull_err_make(err, errno, "--file %s", o->files[i]);
		if (!S_ISREG(st.st_mode))
			return hull_err_make(err, 0, "--file %s: not a regular file", o->files[i]);
		if (!*b || strcmp(b, "dev") == 0 || strcmp(b, base_name(o->argv[0])) == 0)
			return hull_err_make(err, 0, "--file %s: its name is taken in the jail", o->files[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(base_name(o->files[j]), b) == 0)
				return hull_err_make(err, 0, "--file %s: two files named %s", o->files[i], b);
	}
	for (size_t i = 0; i < o->n_devices; i++) {
		struct stat st;
		if (stat(o->devices[i], &st) < 0)
			return hull_err_make(err, errno, "--device %s", o->devices[i]);
		if (!S_ISCHR(st.st_mode) || strncmp(o->devices[i], "/dev/", 5) != 0 || strstr(o->devices[i], "/../"))
			return hull_err_make(err, 0, "--device %s: not a character device under /dev", o->devices[i]);
	}
	return 0;
}

/* Copy src into dir as name, mode 0555 owned by root: the jailed user runs
 * it but cannot change it. */
static int copy_program(const char *src, int dir, const char *name, struct hull_err **err)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
	struct stat st;

	if (in < 0 || fstat(in, &st) < 0)
		return hull_err_make(err, errno, "program %s", src);
	if (!S_ISREG(st.st_mode))
		return hull_err_make(err, 0, "program %s: not a regular file", src);
	out = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0555);
	if (out < 0)
		return hull_err_make(err, errno, "create %s in the jail", name);
	return copy_fd_data(in, out, st.st_size, src, err);
}

/* Hard link, or a copy with the same mode when src is on another file system. */
static int place_file(const char *src, int dir, const char *name, struct hull_err **err)
{
	_cleanup_close_ int in = -1, out = -1;
	struct stat st;

	if (linkat(AT_FDCWD, src, dir, name, 0) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM)
		return hull_err_make(err, errno, "--file %s: link into the jail", src);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		return hull_err_make(err, errno, "--file %s", src);
	out = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
	if (out < 0)
		return hull_err_make(err, errno, "--file %s: create %s in the jail", src, name);
	return copy_fd_data(in, out, st.st_size, src, err);
}

/* The host's node at the same path under root, owned by the jailed user. */
static int make_device(int root, const char *path, uid_t uid, gid_t gid, struct hull_err **err)
{
	_cleanup_free_ char *rel = xstrdup(path + 1), *parent = NULL;
	struct stat st;

	if (stat(path, &st) < 0)
		return hull_err_make(err, errno, "device %s", path);
	parent = xstrdup(rel);
	/* dev/net/tun: the directories first (mode 0755, root's) */
	for (char *s = strchr(parent, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(root, parent, 0755) < 0 && errno != EEXIST)
			return hull_err_make(err, errno, "mkdir %s in the jail", parent);
		*s = '/';
	}
	if (mknodat(root, rel, S_IFCHR | 0600, st.st_rdev) < 0)
		return hull_err_make(err, errno, "mknod %s in the jail", path);
	if (fchownat(root, rel, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_err_make(err, errno, "chown %s in the jail", path);
	return 0;
}

static int build_root(const struct jail_opts *o, const char *root_path, struct hull_err **err)
{
	_cleanup_close_ int root = open(root_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	const char *prog = strcmp(o->argv[0], "hull") == 0 ? "/proc/self/exe" : o->argv[0];

	if (root < 0)
		return hull_err_make(err, errno, "open %s", root_path);
	if (copy_program(prog, root, base_name(o->argv[0]), err) < 0)
		return -1;
	for (size_t i = 0; i < o->n_files; i++)
		if (place_file(o->files[i], root, base_name(o->files[i]), err) < 0)
			return -1;
	if (mkdirat(root, "dev", 0755) < 0)
		return hull_err_make(err, errno, "mkdir dev in the jail");
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++)
		if (access(default_devices[i], F_OK) == 0 &&
		    make_device(root, default_devices[i], o->uid, o->gid, err) < 0)
			return -1;
	for (size_t i = 0; i < o->n_devices; i++) {
		_cleanup_free_ char *rel = xstrdup(o->devices[i] + 1);
		if (faccessat(root, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue; /* a default one */
		if (make_device(root, o->devices[i], o->uid, o->gid, err) < 0)
			return -1;
	}
	/* "/" of the jail: the VMM makes its API socket there. */
	if (fchown(root, o->uid, o->gid) < 0 || fchmod(root, 0700) < 0)
		return hull_err_make(err, errno, "chown %s", root_path);
	return 0;
}

/* ---- the child: PID 1 of the new pid namespace ----------------------------- */

/* The failure reaches the keeper through the pipe as one line; exit 127. */
static _Noreturn void child_fail(int fd, struct hull_err *e)
{
	if (write_all(fd, e->msg, strlen(e->msg)) < 0)
		_exit(126);
	_exit(127);
}

static int drop_privileges(const struct jail_opts *o, struct hull_err **err)
{
	if (confine_drop_privileges(o->uid, o->gid, 0, err) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hull_err_make(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
	return 0;
}

static int enter_root(const char *root, struct hull_err **err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return hull_err_make(err, errno, "unshare a mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return hull_err_make(err, errno, "make / private");
	if (mount(root, root, NULL, MS_BIND, NULL) < 0)
		return hull_err_make(err, errno, "bind %s", root);
	/* Whatever the base's file system says, the root is nosuid but takes
	 * device nodes and runs the program. */
	if (mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID, NULL) < 0)
		return hull_err_make(err, errno, "remount %s nosuid", root);
	_cleanup_close_ int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "open %s", root);
	if (confine_pivot(fd, err) < 0)
		return hull_err_wrap(err, "%s", root);
	return 0;
}

static _Noreturn void child_main(const struct jail_opts *o, const char *root, int netns, int go, int report)
{
	struct hull_err *e = NULL;
	char c;

	/* until the keeper has put us into the cgroup */
	if (read(go, &c, 1) != 1)
		_exit(127);
	/* With --daemonize the program must not hold the caller's stdio. */
	if (o->daemonize) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
			hull_err_make(&e, errno, "/dev/null as stdio");
			child_fail(report, e);
		}
		close(null);
	}
	if (netns >= 0 && setns(netns, CLONE_NEWNET) < 0) {
		hull_err_make(&e, errno, "join the network namespace %s", o->netns);
		child_fail(report, e);
	}
	if (netns >= 0)
		close(netns);
	if (enter_root(root, &e) < 0)
		child_fail(report, e);
	for (size_t i = 0; i < o->n_rlimits; i++) {
		struct rlimit rl = { o->rlimits[i].value, o->rlimits[i].value };
		if (setrlimit(o->rlimits[i].resource, &rl) < 0) {
			hull_err_make(&e, errno, "setrlimit %d %llu", o->rlimits[i].resource,
				      (unsigned long long)o->rlimits[i].value);
			child_fail(report, e);
		}
	}
	if (drop_privileges(o, &e) < 0)
		child_fail(report, e);
	/* The program dies with its keeper, which alone can clean up after it
	 * (set after setresuid, which clears it).  The keeper holds the write
	 * end of `go` until we exec: a hangup now means it died before. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		hull_err_make(&e, errno, "prctl PR_SET_PDEATHSIG");
		child_fail(report, e);
	}
	{
		struct pollfd p = { .fd = go, .events = POLLIN };
		if (poll(&p, 1, 0) != 0)
			_exit(127);
	}
	close(go);
	/* Every fd but 0-2 and the report pipe (close-on-exec) goes. */
	for (int fd = 3; fd < report; fd++)
		close(fd);
	if (syscall(SYS_close_range, (unsigned)report + 1, ~0U, 0) < 0) {
		hull_err_make(&e, errno, "close_range");
		child_fail(report, e);
	}
	{
		_cleanup_free_ char *path = xasprintf("/%s", base_name(o->argv[0]));
		execv(path, o->argv);
		hull_err_make(&e, errno, "exec %s in the jail", path);
	}
	child_fail(report, e);
}

/* ---- the keeper -------------------------------------------------------------- */

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static int open_netns(const char *path, struct hull_err **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return hull_err_make(err, errno, "--netns %s", path);
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return hull_err_make(err, 0, "--netns %s: not a network namespace", path);
	}
	return fd;
}

/* Read the child's report: "" when it exec'd (the pipe closed on exec). */
static int read_report(int fd, struct hull_err **err)
{
	char buf[1024];
	ssize_t n, len = 0;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0 && len < (ssize_t)sizeof(buf) - 1)
		len += n;
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	return hull_err_make(err, 0, "%s", buf);
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 255;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The jail's directory, and <base>/hull when no other jail uses it. */
static void remove_dir(const char *dir)
{
	_cleanup_free_ char *parent = xstrdup(dir);

	(void)rm_rf_at(AT_FDCWD, dir);
	*strrchr(parent, '/') = '\0';
	(void)rmdir(parent);
}

static void cleanup(const char *dir, struct cgroup *cg)
{
	if (cg) {
		(void)cgroups_destroy(cg, NULL);
		cgroups_free(cg);
	}
	remove_dir(dir);
}

#define PLAN_FILE "cgroup"

static int save_plan(const struct cgroups_cfg *cfg, const char *dir, struct hull_err **err)
{
	struct cgroup *plan = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dfd = -1;

	if (cgroups_plan(cfg, &plan, err) < 0)
		return -1;
	text = plan ? cgroups_serialize(plan) : NULL;
	cgroups_free(plan);
	if (!text)
		return 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hull_err_make(err, errno, "open %s", dir);
	return write_file_atomic_at(dfd, PLAN_FILE, text, strlen(text), 0600, err);
}

int jail_cleanup(const struct jail_opts *o, struct hull_err **err)
{
	_cleanup_free_ char *dir = NULL, *text = NULL, *path = NULL;
	struct cgroup *cg = NULL;
	size_t len;

	if (runtime_validate_id(o->id, err) < 0)
		return hull_err_wrap(err, "--id");
	dir = jail_dir(o);
	if (access(dir, F_OK) < 0)
		return hull_err_make(err, errno, "jail %s: %s", o->id, dir);
	path = xasprintf("%s/%s", dir, PLAN_FILE);
	if (access(path, F_OK) == 0 && read_file_at(AT_FDCWD, path, &text, &len, 0, err) < 0)
		return -1;
	if (text) {
		if (cgroups_load(text, &cg, err) < 0)
			return hull_err_wrap(err, "jail %s: its cgroup", o->id);
		/* kills what is left in it first */
		if (cgroups_destroy(cg, err) < 0) {
			cgroups_free(cg);
			return hull_err_wrap(err, "jail %s: remove its cgroup", o->id);
		}
		cgroups_free(cg);
	}
	remove_dir(dir);
	return 0;
}

/*
 * From here on the keeper: it makes the pid namespace, the child and the
 * cgroup, tells `ready` (the daemonizing parent, or -1) how that went, and
 * waits.
 */
static int keep(const struct jail_opts *o, const char *dir, const char *root, int netns, int ready, int *status,
		struct hull_err **err)
{
	_cleanup_free_ char *cgpath = xasprintf("/hull-jail/%s", o->id);
	_cleanup_free_ struct oci_device_rule *rules = NULL;
	struct oci_resources res = { 0 };
	struct cgroups_cfg cfg = { .id = o->id, .cgroups_path = cgpath, .files = o->cgroup_files,
				   .n_files = o->n_cgroup_files, .resources = &res };
	struct cgroup *cg = NULL;
	int go[2], report[2];
	pid_t pid;
	struct sigaction sa = { .sa_handler = forward };

	/* The device cgroup allows the nodes the root has, beside runc's
	 * default list (/dev/null, /dev/urandom, ...) that every cgroup hull
	 * makes starts from. */
	rules = xcalloc(ARRAY_SIZE(default_devices) + o->n_devices, sizeof(*rules));
	for (size_t i = 0; i < ARRAY_SIZE(default_devices) + o->n_devices; i++) {
		const char *path = i < ARRAY_SIZE(default_devices) ? default_devices[i]
								     : o->devices[i - ARRAY_SIZE(default_devices)];
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		rules[res.n_devices++] = (struct oci_device_rule){ .allow = true, .type = 'c', .has_major = true,
								   .has_minor = true, .major = major(st.st_rdev),
								   .minor = minor(st.st_rdev) };
	}
	res.devices = rules;
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0)
		return hull_err_make(err, errno, "pipe");
	/* The new pid namespace is the child's alone (not unshare in the keeper,
	 * which could then never fork again once the child is gone). */
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return hull_err_make(err, errno, "clone a pid namespace");
	if (pid == 0) {
		close(go[1]);
		close(report[0]);
		if (ready >= 0)
			close(ready);
		child_main(o, root, netns, go[0], report[1]);
	}
	child_pid = pid;
	close(go[0]);
	close(report[1]);
	/* What the cgroup will be, kept beside the root (out of the program's
	 * reach) first: `hull jail --cleanup` removes it after a killed keeper. */
	if (save_plan(&cfg, dir, err) < 0 || cgroups_create(&cfg, pid, &cg, err) < 0) {
		kill(pid, SIGKILL);
		wait_status(pid);
		return hull_err_wrap(err, "the jail's cgroup");
	}
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	if (write(go[1], "g", 1) != 1 || read_report(report[0], err) < 0) {
		if (!*err)
			hull_err_make(err, errno, "start the jailed program");
		kill(pid, SIGKILL);
		wait_status(pid);
		close(go[1]);
		close(report[0]);
		cleanup(dir, cg);
		return -1;
	}
	close(go[1]);
	close(report[0]);
	if (ready >= 0) {
		/* the caller returns now; stdio would tie it to its terminal */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		(void)!write(ready, "k", 1);
		close(ready);
		if (null >= 0) {
			dup2(null, 0), dup2(null, 1), dup2(null, 2);
			close(null);
		}
	}
	*status = wait_status(pid);
	child_pid = 0;
	cleanup(dir, cg);
	return 0;
}

int jail_run(const struct jail_opts *o, int *status, struct hull_err **err)
{
	_cleanup_free_ char *dir = NULL, *root = NULL, *parent = NULL;
	_cleanup_close_ int netns = -1;
	int r, made;

	if (check_opts(o, err) < 0)
		return -1;
	if (o->netns && (netns = open_netns(o->netns, err)) < 0)
		return -1;
	dir = jail_dir(o);
	root = xasprintf("%s/root", dir);
	parent = xstrdup(dir);
	*strrchr(parent, '/') = '\0';
	/* A jail ending now may rmdir the parent in between: once more then. */
	for (int i = 0;; i++) {
		if (mkdir_p(parent, 0755, err) < 0)
			return -1;
		made = mkdir(dir, 0700) == 0 ? 0 : errno;
		if (made != ENOENT || i == 1)
			break;
	}
	if (made) {
		if (made == EEXIST)
			return hull_err_make(err, EEXIST, "jail %s: %s exists (a jail with this id runs, or its "
					     "keeper was killed: remove it)", o->id, dir);
		return hull_err_make(err, made, "mkdir %s", dir);
	}
	if (mkdir(root, 0700) < 0) {
		hull_err_make(err, errno, "mkdir %s", root);
		goto fail;
	}
	if (build_root(o, root, err) < 0)
		goto fail;
	if (o->daemonize) {
		int ready[2];
		pid_t pid;
		char c;

		if (pipe2(ready, O_CLOEXEC) < 0) {
			hull_err_make(err, errno, "pipe");
			goto fail;
		}
		pid = fork();
		if (pid < 0) {
			hull_err_make(err, errno, "fork");
			goto fail;
		}
		if (pid == 0) {
			struct hull_err *e = NULL;
			int st;
			close(ready[0]);
			setsid();
			if (keep(o, dir, root, netns, ready[1], &st, &e) < 0) {
				(void)!write(ready[1], "e", 1);
				(void)!write(ready[1], e->msg, strlen(e->msg));
				remove_dir(dir);
				_exit(1);
			}
			_exit(st);
		}
		close(ready[1]);
		/* "k" when the program runs, else "e" and the error's text */
		while ((r = (int)read(ready[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (r == 1 && c == 'k') {
			close(ready[0]);
			*status = 0;
			return 0;
		}
		if (r == 1 && c == 'e')
			read_report(ready[0], err);
		else
			hull_err_make(err, 0, "jail %s: the keeper died before the program ran", o->id);
		close(ready[0]);
		waitpid(pid, NULL, 0);
		remove_dir(dir);
		return -1;
	}
	if (keep(o, dir, root, netns, -1, status, err) < 0)
		goto fail;
	return 0;
fail:
	remove_dir(dir);
	return -1;
}
