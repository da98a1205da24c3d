/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rootfs phases (runc libcontainer/rootfs_linux.go order):
 *   1. ns_rootfs_mount    propagation of /, rootfs bound onto itself, spec
 *                         mounts, devices (still in the host's view of paths);
 *   2. ns_rootfs_pivot    pivot_root(".", ".") and detach the old root;
 *   3. ns_rootfs_finalize maskedPaths, readonlyPaths, read-only root,
 *                         rootfsPropagation (container paths).
 */
#include "namespaces/internal.h"

#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static unsigned long root_propagation(const struct oci_spec *spec)
{
	long p = spec->linux_.rootfs_propagation ? propagation_from_name(spec->linux_.rootfs_propagation) : -1;
	return p < 0 ? 0 : (unsigned long)p;
}

/* After "/" became rslave or rprivate, no mount in the namespace is shared:
 * the rootfs parent needs no private remount, the old root no slave one. */
static bool no_shared_mounts(const struct oci_spec *spec)
{
	unsigned long p = root_propagation(spec);

	return p == 0 || p == (MS_SLAVE | MS_REC) || p == (MS_PRIVATE | MS_REC);
}

static bool is_under(const char *path, const char *mnt)
{
	size_t n = strlen(mnt);

	if (strcmp(mnt, "/") == 0)
		return true;
	return strncmp(path, mnt, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* pivot_root refuses a new root whose parent mount is shared, and a shared
 * parent would propagate the rootfs bind to the host: make it private, as
 * runc's rootfsParentMountPrivate. */
static int make_parent_private(const char *rootfs, struct hull_err **err)
{
	_cleanup_free_ char *info = NULL, *best = NULL;
	char real[PATH_MAX];
	bool best_shared = false;
	struct mountinfo_entry e;
	char *cur;

	if (!realpath(rootfs, real))
		return hull_err_make(err, errno, "rootfs %s", rootfs);
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL, 0, err) < 0)
		return -1;
	for (cur = info; mountinfo_next(&cur, &e);) {
		if (!is_under(real, e.mountpoint) || (best && strlen(e.mountpoint) < strlen(best)))
			continue;
		free(best);
		best = xstrdup(e.mountpoint);
		best_shared = strstr(e.optional, "shared:") != NULL;
	}
	if (best && best_shared && mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
		return hull_err_make(err, errno, "make %s private", best);
	return 0;
}

int ns_rootfs_mount(const struct ns_rootfs *r, struct hull_err **err)
{
	unsigned long prop = root_propagation(r->spec);
	_cleanup_close_ int root_fd = -1;
	int ret;

	/* Nothing done below may reach the host: slave by default (runc). */
	if (mount(NULL, "/", NULL, prop ? prop : MS_SLAVE | MS_REC, NULL) < 0)
		return hull_err_make(err, errno, "set propagation of /");
	ret = no_shared_mounts(r->spec) ? 0 : make_parent_private(r->rootfs, err);
	if (ret < 0)
		return ret;
	/* pivot_root needs the new root to be a mount point. */
	if (mount(r->rootfs, r->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hull_err_make(err, errno, "bind rootfs %s onto itself", r->rootfs);
	root_fd = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return hull_err_make(err, errno, "open rootfs %s", r->rootfs);
	for (size_t i = 0; i < r->spec->n_mounts; i++) {
		ret = mount_spec_entry(root_fd, r, i, err);
		if (ret < 0)
			return ret;
	}
	if (devices_need_setup(r->spec))
		return devices_create(root_fd, r, err);
	return 0;
}

/* Full procfs/sysfs mounts of the host outside the rootfs. */
static bool host_proc_or_sys(const struct mountinfo_entry *e, const char *real_rootfs)
{
	if (strcmp(e->root, "/") != 0 || is_under(e->mountpoint, real_rootfs))
		return false;
	return strcmp(e->fstype, "proc") == 0 || strcmp(e->fstype, "sysfs") == 0;
}

/* chroot leaves the host's mounts in the namespace: the kernel would then
 * allow procfs/sysfs mounts it refuses when a masked instance is the only
 * one visible.  As runc's msMoveRoot, detach every full host procfs and
 * sysfs outside the rootfs, or cover it with a tmpfs when that is refused. */
static int hide_host_proc_sys(const char *rootfs, struct hull_err **err)
{
	_cleanup_free_ char *info = NULL;
	char real[PATH_MAX];
	struct mountinfo_entry e;
	char *cur;

	if (!realpath(rootfs, real))
		return hull_err_make(err, errno, "rootfs %s", rootfs);
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL, 0, err) < 0)
		return -1;
	for (cur = info; mountinfo_next(&cur, &e);) {
		const char *mnt = e.mountpoint;

		if (!host_proc_or_sys(&e, real))
			continue;
		/* The unmount must not propagate to the host. */
		if (mount(NULL, mnt, NULL, MS_SLAVE | MS_REC, NULL) < 0 && errno != ENOENT && errno != EINVAL)
			return hull_err_make(err, errno, "make %s rslave", mnt);
		if (umount2(mnt, MNT_DETACH) == 0 || errno == ENOENT)
			continue;
		if (errno != EINVAL && errno != EPERM)
			return hull_err_make(err, errno, "detach host %s", mnt);
		if (mount("tmpfs", mnt, "tmpfs", 0, NULL) < 0 && errno != ENOENT)
			return hull_err_make(err, errno, "cover host %s", mnt);
	}
	return 0;
}

static int move_root(const char *rootfs, struct hull_err **err)
{
	if (hide_host_proc_sys(rootfs, err) < 0)
		return -1;
	if (chdir(rootfs) < 0)
		return hull_err_make(err, errno, "chdir %s", rootfs);
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return hull_err_make(err, errno, "move %s to /", rootfs);
	if (chroot(".") < 0)
		return hull_err_make(err, errno, "chroot %s", rootfs);
	if (chdir("/") < 0)
		return hull_err_make(err, errno, "chdir /");
	return 0;
}

int ns_rootfs_pivot(const struct ns_rootfs *r, struct hull_err **err)
{
	_cleanup_close_ int oldroot = -1, newroot = -1;

	if (r->no_pivot)
		return move_root(r->rootfs, err);
	oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		return hull_err_make(err, errno, "open /");
	newroot = open(r->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (newroot < 0)
		return hull_err_make(err, errno, "open rootfs %s", r->rootfs);
	if (fchdir(newroot) < 0)
		return hull_err_make(err, errno, "chdir %s", r->rootfs);
	/* pivot_root(".", "."): the old root is stacked on top of the new one at
	 * "/", so no directory for it is needed inside the image. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return hull_err_make(err, errno, "pivot_root %s", r->rootfs);
	if (fchdir(oldroot) < 0)
		return hull_err_make(err, errno, "chdir to old root");
	/* The unmount must not propagate to the host's mounts. */
	if (!no_shared_mounts(r->spec) && mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return hull_err_make(err, errno, "make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return hull_err_make(err, errno, "detach old root");
	if (chdir("/") < 0)
		return hull_err_make(err, errno, "chdir /");
	return 0;
}

/* A file is masked with the container's /dev/null, which must be the real
 * null device: an image-supplied /dev could offer any content. */
static int open_null(int root, struct hull_err **err)
{
	_cleanup_close_ int fd = resolve_in_root(root, "/dev/null", O_PATH, 0);
	struct stat st;

	if (fd < 0)
		return hull_err_make(err, -fd, "open /dev/null");
	if (fstat(fd, &st) < 0)
		return hull_err_make(err, errno, "stat /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return hull_err_make(err, EPERM, "/dev/null is not the null device");
	return take_fd(&fd);
}

static int mask_path(int root, int *null_fd, const char *path, struct hull_err **err)
{
	_cleanup_close_ int fd = resolve_in_root(root, path, O_PATH, 0);
	struct ns_mount_opts o = { 0 };
	struct stat st;
	int mfd;

	if (fd == -ENOENT)
		return 0;   /* nothing to hide */
	if (fd < 0)
		return hull_err_make(err, -fd, "open %s", path);
	if (fstat(fd, &st) < 0)
		return hull_err_make(err, errno, "stat %s", path);
	if (S_ISDIR(st.st_mode)) {
		o.flags = MS_RDONLY;
		mfd = mnt_new_fs("tmpfs", "tmpfs", &o, fd, err);
	} else {
		if (*null_fd < 0) {
			*null_fd = open_null(root, err);
			if (*null_fd < 0)
				return *null_fd;
		}
		mfd = mnt_bind(*null_fd, "", &o, fd, err);
	}
	if (mfd < 0)
		return mfd;
	close(mfd);
	return 0;
}

static int readonly_path(int root, const char *path, struct hull_err **err)
{
	_cleanup_close_ int fd = resolve_in_root(root, path, O_PATH, 0);
	/* Only the recursive attribute: it covers the top mount too. */
	struct ns_mount_opts o = { .bind = true, .rec = true, .attr_set = MOUNT_ATTR_RDONLY };
	int mfd;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return hull_err_make(err, -fd, "open %s", path);
	/* Bind onto itself, read-only including what is mounted below it. */
	mfd = mnt_bind(fd, "", &o, fd, err);
	if (mfd < 0)
		return mfd;
	close(mfd);
	return 0;
}

int ns_rootfs_finalize(const struct ns_rootfs *r, struct hull_err **err)
{
	const struct oci_linux *l = &r->spec->linux_;
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int null_fd = -1;
	unsigned long prop = root_propagation(r->spec);
	int ret;

	if (root < 0)
		return hull_err_make(err, errno, "open /");
	for (size_t i = 0; i < l->n_masked_paths; i++) {
		ret = mask_path(root, &null_fd, l->masked_paths[i], err);
		if (ret < 0)
			return hull_err_wrap(err, "linux.maskedPaths[%zu]", i);
	}
	for (size_t i = 0; i < l->n_readonly_paths; i++) {
		ret = readonly_path(root, l->readonly_paths[i], err);
		if (ret < 0)
			return hull_err_wrap(err, "linux.readonlyPaths[%zu]", i);
	}
	if (mount_spec_finalize_ro(root, r->spec, err) < 0)
		return -1;
	/* Only the root mount: nosuid/nodev/... it has are kept (mount_setattr
	 * changes nothing but RDONLY); spec mounts keep their own flags. */
	if (r->spec->root_readonly && mnt_setattr(root, false, MOUNT_ATTR_RDONLY, 0, err) < 0)
		return hull_err_wrap(err, "root.readonly");
	if (prop && mnt_set_propagation(root, prop, err) < 0)
		return hull_err_wrap(err, "linux.rootfsPropagation");
	return 0;
}

int ns_bind_console(int slave_fd, struct hull_err **err)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dest = -1;
	struct ns_mount_opts o = { 0 };
	int mfd;

	if (root < 0)
		return hull_err_make(err, errno, "open /");
	dest = ns_mkdir_p_in_root(root, "/dev/console", 0755, true, err);
	if (dest < 0)
		return hull_err_wrap(err, "console");
	mfd = mnt_bind(slave_fd, "", &o, dest, err);
	if (mfd < 0)
		return hull_err_wrap(err, "bind console onto /dev/console");
	close(mfd);
	return 0;
}
