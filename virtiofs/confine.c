/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The file server process's own confinement (`hull virtiofsd`): the
 * guest's FUSE requests are the input of a root process, so besides every
 * op staying below its node fds (entry.c), the process itself can reach
 * nothing else:
 *   - a private mount namespace whose root is a small tmpfs holding /share
 *     (rootfs = the shared directory, one entry per --mount, all nodev and
 *     nosuid, the tmpfs itself read-only) and /proc (for /proc/self/fd);
 *     the host's tree is detached after pivot_root, so not even an absolute
 *     path leads back to it;
 *   - it dies with its parent (PR_SET_PDEATHSIG);
 *   - no fd but the ones the caller keeps (the vhost-user socket, stderr);
 *   - only the capabilities file serving needs (chown, DAC override and
 *     search, fowner, fsetid, mknod for whiteouts, setfcap for
 *     security.capability);
 *   - a seccomp allowlist (confine/), everything else kills the process;
 *   - guest memory that shrinks under it ends it cleanly (on_sigbus).
 */
#include "virtiofs/internal.h"

#include <limits.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "confine/confine.h"

int vfs_mount_parse(const char *arg, struct vfs_mount *m, char **buf, struct hull_err **err)
{
	char *s = xstrdup(arg);
	char *eq = strchr(s, '=');

	if (!eq) {
		free(s);
		return hull_err_make(err, 0, "want NAME=SRC[,ro]");
	}
	*eq = '\0';
	char *name = s, *src = eq + 1;
	size_t l = strlen(src);
	m->readonly = false;
	if (l > 3 && strcmp(src + l - 3, ",ro") == 0) {
		m->readonly = true;
		src[l - 3] = '\0';
	} else if (l > 3 && strcmp(src + l - 3, ",rw") == 0) {
		src[l - 3] = '\0';
	}
	/* NAME is an entry of the served root, next to "rootfs". */
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/') ||
	    strcmp(name, "rootfs") == 0 || strlen(name) > NAME_MAX) {
		int r = hull_err_make(err, 0, "NAME \"%s\" must be one path component other than \"rootfs\"", name);
		free(s);
		return r;
	}
	if (src[0] != '/') {
		int r = hull_err_make(err, 0, "SRC \"%s\" must be an absolute path", src);
		free(s);
		return r;
	}
	m->name = name;
	m->source = src;
	*buf = s;
	return 0;
}

/* The served tree in a fresh tmpfs pivoted to "/"; returns an O_PATH fd of /share. */
static int build_tree(const struct vfs_confine_opts *o, struct hull_err **err)
{
	const unsigned int bind_attrs = MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID;
	size_t ntrees = o->nmounts + 3;
	_cleanup_free_ int *trees = xmalloc(ntrees * sizeof(int));
	_cleanup_close_ int top = -1, share = -1;
	int r = -1;

	for (size_t i = 0; i < ntrees; i++)
		trees[i] = -1;
	if (unshare(CLONE_NEWNS) < 0)
		return hull_err_make(err, errno, "unshare the mount namespace");
	if (o->pod_dir) {
		/* Slaves first: the pod's clone (detached, so untouched by the
		 * private below) stays a slave of the host's peer group and
		 * receives the members' mounts; nothing propagates back. */
		if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
			return hull_err_make(err, errno, "make / a slave");
		trees[ntrees - 1] = confine_tree_clone(AT_FDCWD, o->pod_dir, false,
						       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC |
							       MOUNT_ATTR_RDONLY, err);
		if (trees[ntrees - 1] < 0)
			goto out;
	}
	/* Nothing done here may reach the host's mount table. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return hull_err_make(err, errno, "make / private");

	/* Clones first: the tmpfs goes over "/" and would hide the sources. */
	trees[0] = confine_tree_clone(AT_FDCWD, "/proc", false, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
	if (trees[0] < 0)
		goto out;
	trees[1] = confine_tree_clone(AT_FDCWD, o->shared_dir, true, bind_attrs, err);
	if (trees[1] < 0)
		goto out;
	for (size_t i = 0; i < o->nmounts; i++) {
		trees[i + 2] = confine_tree_clone(AT_FDCWD, o->mounts[i].source, true,
					  bind_attrs | (o->mounts[i].readonly ? MOUNT_ATTR_RDONLY : 0), err);
		if (trees[i + 2] < 0)
			goto out;
	}

	top = confine_tmpfs_over_root(MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
	if (top < 0)
		goto out;
	if (confine_tree_attach(top, "proc", trees[0], "/proc", err) < 0)
		goto out;
	if (mkdirat(top, "share", 0755) < 0) {
		r = hull_err_make(err, errno, "mkdir share");
		goto out;
	}
	share = openat(top, "share", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (share < 0) {
		r = hull_err_make(err, errno, "open share");
		goto out;
	}
	if (confine_tree_attach(share, "rootfs", trees[1], o->shared_dir, err) < 0)
		goto out;
	for (size_t i = 0; i < o->nmounts; i++)
		if (confine_tree_attach(share, o->mounts[i].name, trees[i + 2], o->mounts[i].source, err) < 0)
			goto out;
	if (o->pod_dir && confine_tree_attach(share, "pod", trees[ntrees - 1], o->pod_dir, err) < 0)
		goto out;
	/* The tmpfs itself read-only: the guest cannot fill it (the binds
	 * below keep their own flags). */
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(top, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0) {
		r = hull_err_make(err, errno, "tmpfs read-only");
		goto out;
	}
	if (confine_pivot(top, err) < 0) {
		hull_err_wrap(err, "into the served tree");
		goto out;
	}
	r = openat(AT_FDCWD, "/share", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r < 0)
		r = hull_err_make(err, errno, "open /share");
out:
	for (size_t i = 0; i < ntrees; i++)
		if (trees[i] >= 0)
			close(trees[i]);
	return r;
}

static int drop_caps(struct hull_err **err)
{
	static const cap_value_t keep[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
					    CAP_FSETID, CAP_MKNOD, CAP_SETFCAP };
	cap_t c = cap_init();
	int r = 0;

	if (!c)
		return hull_err_make(err, errno, "cap_init");
	if (cap_set_flag(c, CAP_EFFECTIVE, ARRAY_SIZE(keep), keep, CAP_SET) < 0 ||
	    cap_set_flag(c, CAP_PERMITTED, ARRAY_SIZE(keep), keep, CAP_SET) < 0 || cap_set_proc(c) < 0)
		r = hull_err_make(err, errno, "drop capabilities");
	cap_free(c);
	return r;
}

/*
 * What the server does (virtiofs ops, malloc, the vhost-user loop: epoll,
 * the frontend's messages with fds, mmap of guest memory, eventfds).
 * Nothing that opens by absolute path matters any more (the root is the
 * tmpfs); no exec, no socket, no mount, no ptrace, no namespace change.
 */
static const struct confine_rule rules[] = {
	{ .name = "read" }, { .name = "write" }, { .name = "readv" }, { .name = "writev" }, { .name = "pread64" }, { .name = "pwrite64" },
	{ .name = "preadv" }, { .name = "pwritev" }, { .name = "preadv2" }, { .name = "pwritev2" }, { .name = "close" }, { .name = "lseek" },
	{ .name = "openat" }, { .name = "openat2" }, { .name = "newfstatat" }, { .name = "fstat" }, { .name = "statx" }, { .name = "fstatfs" },
	{ .name = "getdents64" }, { .name = "mkdirat" }, { .name = "mknodat" }, { .name = "symlinkat" }, { .name = "linkat" }, { .name = "unlinkat" },
	{ .name = "renameat" }, { .name = "renameat2" }, { .name = "readlinkat" }, { .name = "fchmod" }, { .name = "fchmodat" }, { .name = "fchown" },
	{ .name = "fchownat" }, { .name = "utimensat" }, { .name = "ftruncate" }, { .name = "fallocate" }, { .name = "fsync" }, { .name = "fdatasync" },
	{ .name = "syncfs" }, { .name = "fgetxattr" }, { .name = "fsetxattr" }, { .name = "flistxattr" }, { .name = "fremovexattr" },
	{ .name = "fcntl" }, { .name = "dup" }, { .name = "brk" }, { .name = "mmap" }, { .name = "munmap" }, { .name = "mremap" }, { .name = "madvise" },
	{ .name = "mprotect" }, { .name = "futex" }, { .name = "rt_sigreturn" }, { .name = "rt_sigprocmask" }, { .name = "rt_sigaction" },
	{ .name = "exit" }, { .name = "exit_group" }, { .name = "getpid" }, { .name = "gettid" }, { .name = "tgkill" }, { .name = "clock_gettime" },
	{ .name = "gettimeofday" }, { .name = "clock_nanosleep" }, { .name = "nanosleep" }, { .name = "getrandom" }, { .name = "sched_yield" },
	{ .name = "restart_syscall" }, { .name = "sigaltstack" }, { .name = "accept4" }, { .name = "accept" }, { .name = "epoll_create1" }, { .name = "epoll_ctl" },
	{ .name = "epoll_wait" }, { .name = "epoll_pwait" }, { .name = "ppoll" }, { .name = "poll" }, { .name = "recvmsg" }, { .name = "sendmsg" },
	{ .name = "recvfrom" }, { .name = "sendto" }, { .name = "getsockopt" }, { .name = "shutdown" }, { .name = "eventfd2" },
};

/*
 * Every node the guest's kernel holds is an O_PATH fd here, and it holds one
 * per cached inode: a rootfs walk passes the usual 1024 at once.  As
 * many as the kernel allows (fs.nr_open), as virtiofsd does.
 */
static int raise_nofile(struct hull_err **err)
{
	_cleanup_free_ char *buf = NULL;
	struct rlimit rl;
	uint64_t nr = 0;

	if (read_file_at(AT_FDCWD, "/proc/sys/fs/nr_open", &buf, NULL, 64, NULL) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		parse_u64(buf, &nr);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return hull_err_make(err, errno, "getrlimit RLIMIT_NOFILE");
	if (nr > rl.rlim_max) {
		struct rlimit up = { nr, nr };
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return 0;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return hull_err_make(err, errno, "setrlimit RLIMIT_NOFILE");
	return 0;
}

/* A guest RAM file that shrinks under the server (the tmpfs kind, which
 * cannot be sealed: map_region in microvm/virtio/vhost_user_backend.c) makes
 * the next access past its end a SIGBUS.  Only the frontend can shrink it,
 * and it can as well hang up: end as a hang-up would, with one line. */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "hull: virtiofsd: the guest's memory shrank under the file server (SIGBUS); exiting\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

int vfs_confine_process(const struct vfs_confine_opts *o, int *root_fd, struct hull_err **err)
{
	_cleanup_close_ int root = -1;
	_cleanup_free_ int *keep = xmalloc((o->nkeep + 1) * sizeof(int));

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return hull_err_make(err, errno, "PR_SET_PDEATHSIG");
	if (sigaction(SIGBUS, &(struct sigaction){ .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO }, NULL) < 0)
		return hull_err_make(err, errno, "sigaction SIGBUS");
	if (raise_nofile(err) < 0)
		return hull_err_wrap(err, "virtiofsd");
	root = build_tree(o, err);
	if (root < 0)
		return hull_err_wrap(err, "virtiofsd: served tree");
	/* The guest's kernel applied its umask already (no FUSE_DONT_MASK). */
	umask(0);
	for (size_t i = 0; i < o->nkeep; i++)
		keep[i] = o->keep_fds[i];
	keep[o->nkeep] = root;
	if (confine_close_all_but(keep, o->nkeep + 1, err) < 0 || drop_caps(err) < 0 ||
	    confine_allowlist_load(rules, ARRAY_SIZE(rules), CONFINE_ACT_KILL_PROCESS, err) < 0)
		return hull_err_wrap(err, "virtiofsd: confine");
	*root_fd = take_fd(&root);
	return 0;
}
