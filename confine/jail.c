/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Jails for hull's own processes: the mount trees of a jail's root (the file
 * server's served tree, a VM container's VMM), the pivot into it, and the
 * drop to an unprivileged uid without capabilities.  `hull jail` does the
 * same for a whole program (jail/); a VM container's VMM is a process whose
 * threads start at different times, so each enters the jail for itself
 * (confine_jail_enter) before it runs anything the guest controls.
 */
#include "confine/internal.h"

#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

int confine_tree_clone(int dirfd, const char *path, bool recursive, unsigned int attrs, struct hull_err **err)
{
	const char *what = *path ? path : "the directory";
	int fd = open_tree(dirfd, path,
			   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (*path ? 0 : AT_EMPTY_PATH) | (recursive ? AT_RECURSIVE : 0));

	if (fd < 0)
		return hull_err_make(err, errno, "open_tree %s", what);
	struct mount_attr a = { .attr_set = attrs };
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0) {
		int r = hull_err_make(err, errno, "mount_setattr %s", what);
		close(fd);
		return r;
	}
	return fd;
}

int confine_tree_attach(int parent_fd, const char *name, int tree, const char *what, struct hull_err **err)
{
	struct stat st;

	if (fstat(tree, &st) < 0)
		return hull_err_make(err, errno, "stat %s", what);
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(parent_fd, name, 0755) < 0)
			return hull_err_make(err, errno, "mkdir for %s", what);
	} else {
		int fd = openat(parent_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return hull_err_make(err, errno, "create the mount point of %s", what);
		close(fd);
	}
	if (move_mount(tree, "", parent_fd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hull_err_make(err, errno, "move_mount %s", what);
	return 0;
}

int confine_tmpfs_over_root(unsigned int attrs, struct hull_err **err)
{
	_cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	_cleanup_close_ int top = -1;

	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "size", "1m", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hull_err_make(err, errno, "tmpfs");
	top = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (top < 0)
		return hull_err_make(err, errno, "fsmount tmpfs");
	/* Over "/" of this namespace: mounts can then be moved onto it, and it
	 * becomes the root (confine_pivot). */
	if (move_mount(top, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hull_err_make(err, errno, "move_mount tmpfs");
	return take_fd(&top);
}

int confine_pivot(int top_fd, struct hull_err **err)
{
	/* pivot_root(".", ".") stacks the old root on the new one; detaching
	 * it leaves the new one as "/" with nothing of the old above or below. */
	if (fchdir(top_fd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		return hull_err_make(err, errno, "pivot_root");
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int confine_close_all_but(int *keep, size_t n, struct hull_err **err)
{
	unsigned int lo = 0;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned int)keep[i] < lo)
			continue;
		if ((unsigned int)keep[i] > lo && syscall(SYS_close_range, lo, (unsigned int)keep[i] - 1, 0) < 0)
			return hull_err_make(err, errno, "close_range");
		lo = (unsigned int)keep[i] + 1;
	}
	if (syscall(SYS_close_range, lo, ~0u, 0) < 0)
		return hull_err_make(err, errno, "close_range");
	return 0;
}

int confine_drop_privileges(uid_t uid, gid_t gid, uint64_t keep, struct hull_err **err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	for (int c = 0; c <= 63; c++)
		if (!(keep & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return hull_err_make(err, errno, "drop capability %d from the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return hull_err_make(err, errno, "clear the ambient capabilities");
	/* The kept ones survive the uid change in the permitted set only. */
	if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hull_err_make(err, errno, "PR_SET_KEEPCAPS");
	if (syscall(SYS_setgroups, 1, &gid) < 0)
		return hull_err_make(err, errno, "setgroups %u", (unsigned)gid);
	if (syscall(SYS_setresgid, gid, gid, gid) < 0)
		return hull_err_make(err, errno, "setresgid %u", (unsigned)gid);
	if (syscall(SYS_setresuid, uid, uid, uid) < 0)
		return hull_err_make(err, errno, "setresuid %u", (unsigned)uid);
	/* uid 0 keeps its sets across setresuid: set them for every uid */
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return hull_err_make(err, errno, "capset");
	if (keep && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hull_err_make(err, errno, "PR_SET_KEEPCAPS");
	return 0;
}

/* The jail's root, in the (new) mount namespace of the caller. */
static int jail_root(int tree, const char *name, const char *const *devs, size_t ndevs, uid_t uid, gid_t gid,
		     struct hull_err **err)
{
	_cleanup_close_ int top = -1, dev = -1;
	struct stat st[8];

	if (ndevs > ARRAY_SIZE(st))
		return hull_err_make(err, E2BIG, "too many devices");
	/* Nothing done here may reach the caller's mount table. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return hull_err_make(err, errno, "make / private");
	/* The devices as the host has them, before the tmpfs hides /dev. */
	for (size_t i = 0; i < ndevs; i++)
		if (stat(devs[i], &st[i]) < 0 || !S_ISCHR(st[i].st_mode))
			st[i].st_mode = 0;
	top = confine_tmpfs_over_root(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
	if (top < 0)
		return -1;
	if (mkdirat(top, "dev", 0755) < 0 || (dev = openat(top, "dev", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return hull_err_make(err, errno, "mkdir dev");
	for (size_t i = 0; i < ndevs; i++) {
		const char *base = strrchr(devs[i], '/') + 1;

		if (!st[i].st_mode)
			continue;
		if (mknodat(dev, base, S_IFCHR | 0600, st[i].st_rdev) < 0 || fchownat(dev, base, uid, gid, 0) < 0)
			return hull_err_make(err, errno, "mknod %s", devs[i]);
	}
	if (confine_tree_attach(top, name, tree, name, err) < 0)
		return -1;
	/* The tmpfs read-only: nothing can be added to the root (the bind
	 * keeps its own flags). */
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(top, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return hull_err_make(err, errno, "tmpfs read-only");
	return confine_pivot(top, err);
}

int confine_jail_build(int dirfd, const char *name, const char *const *devs, size_t ndevs, uid_t uid, gid_t gid,
		       int *mntns, struct hull_err **err)
{
	_cleanup_close_ int home = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int tree = -1, ns = -1;
	int r;

	if (home < 0)
		return hull_err_make(err, errno, "open /proc/thread-self/ns/mnt");
	/* Cloned here: open_tree takes only a mount of the caller's namespace. */
	tree = confine_tree_clone(dirfd, "", false, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
	if (tree < 0)
		return -1;
	if (unshare(CLONE_NEWNS) < 0)
		return hull_err_make(err, errno, "unshare a mount namespace");
	ns = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		r = hull_err_make(err, errno, "open the jail's mount namespace");
	else
		r = jail_root(tree, name, devs, ndevs, uid, gid, err);
	/* Back home (root and cwd become that namespace's root): the jail
	 * lives on in ns. */
	if (setns(home, CLONE_NEWNS) < 0) {
		hull_err_free(err);
		return hull_err_make(err, errno, "setns back to the caller's mount namespace");
	}
	if (r < 0)
		return -1;
	*mntns = take_fd(&ns);
	return 0;
}

int confine_jail_enter(const struct confine_jail *j, uint64_t keep, struct hull_err **err)
{
	/* The threads of a process share one root and cwd: this one gets its
	 * own before it moves. */
	if (unshare(CLONE_FS) < 0)
		return hull_err_make(err, errno, "jail: unshare CLONE_FS");
	if (setns(j->mntns, CLONE_NEWNS) < 0)
		return hull_err_make(err, errno, "jail: enter its mount namespace");
	if (chdir(j->cwd) < 0)
		return hull_err_make(err, errno, "jail: chdir %s", j->cwd);
	if (confine_drop_privileges(j->uid, j->gid, keep, err) < 0)
		return hull_err_wrap(err, "jail");
	return 0;
}
