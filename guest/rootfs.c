/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Leaving the initramfs.  The kernel unpacks the image into rootfs, its first
 * mount, the one without a parent: pivot_root(2) refuses to move that one
 * away (EINVAL), and so every container create in the guest failed.
 * switch_root(8)'s way out: copy the image into a tmpfs, delete what the
 * rootfs held (its pages come back: the image is ~4 MiB of RAM), move the
 * tmpfs onto / and chroot into it.  Then / is a mount with a parent, and a
 * container's mount namespace can pivot_root as on any host.
 */
#include "guest/guest.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define NEWROOT "/.hull-root"

static int copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st, struct hull_err **err)
{
	_cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int out = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return hull_err_make(err, errno, "open %s", name);
	out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st->st_mode & 07777);
	if (out < 0)
		return hull_err_make(err, errno, "create %s", name);
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hull_err_make(err, errno, "read %s", name);
		}
		int r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return hull_err_make(err, -r, "write %s", name);
	}
	/* the umask took bits off at creation */
	if (fchmod(out, st->st_mode & 07777) < 0 || fchown(out, st->st_uid, st->st_gid) < 0)
		return hull_err_make(err, errno, "chmod/chown %s", name);
	return 0;
}

int guest_root_copy(int src_dir, int dst_dir, struct hull_err **err)
{
	struct stat top;
	DIR *d;
	struct dirent *e;
	int dup_fd, ret = 0;

	if (fstat(src_dir, &top) < 0)
		return hull_err_make(err, errno, "stat the source directory");
	dup_fd = openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0)
		return hull_err_make(err, errno, "open the source directory");
	d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return hull_err_make(err, errno, "read the source directory");
	}
	while (ret == 0 && (errno = 0, e = readdir(d))) {
		const char *name = e->d_name;
		struct stat st;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = hull_err_make(err, errno, "stat %s", name);
			break;
		}
		/* mount points (the new root itself, /proc if mounted) are not the image */
		if (st.st_dev != top.st_dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s = -1, t = -1;
			if (mkdirat(dst_dir, name, 0700) < 0)
				ret = hull_err_make(err, errno, "mkdir %s", name);
			else if ((s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
				 (t = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				ret = hull_err_make(err, errno, "open %s", name);
			else if ((ret = guest_root_copy(s, t, err)) < 0)
				hull_err_wrap(err, "%s", name);
			else if (fchmod(t, st.st_mode & 07777) < 0 || fchown(t, st.st_uid, st.st_gid) < 0)
				ret = hull_err_make(err, errno, "chmod/chown %s", name);
		} else if (S_ISREG(st.st_mode)) {
			ret = copy_file(src_dir, dst_dir, name, &st, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
			if (n < 0)
				ret = hull_err_make(err, errno, "readlink %s", name);
			else if ((target[n] = '\0', symlinkat(target, dst_dir, name)) < 0)
				ret = hull_err_make(err, errno, "symlink %s", name);
		} else if (mknodat(dst_dir, name, st.st_mode, st.st_rdev) < 0) {
			/* the kernel's own /dev/console, a fifo or socket someone made */
			ret = hull_err_make(err, errno, "mknod %s", name);
		}
	}
	if (ret == 0 && errno != 0)
		ret = hull_err_make(err, errno, "read the source directory");
	closedir(d);
	return ret;
}

/* Best effort, as switch_root: what cannot be removed only costs memory. */
static void delete_contents(int dir, dev_t dev)
{
	int dup_fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				delete_contents(sub, dev);
				close(sub);
			}
			unlinkat(dir, e->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dir, e->d_name, 0);
		}
	}
	closedir(d);
}

int guest_leave_initramfs(struct hull_err **err)
{
	_cleanup_close_ int old = -1, new = -1;
	struct stat st;

	if (getpid() != 1)
		return hull_err_make(err, 0, "leaving the initramfs is PID 1's work");
	if (mkdir(NEWROOT, 0755) < 0 && errno != EEXIST)
		return hull_err_make(err, errno, "mkdir %s", NEWROOT);
	if (mount("tmpfs", NEWROOT, "tmpfs", 0, "mode=0755") < 0)
		return hull_err_make(err, errno, "mount tmpfs on %s", NEWROOT);
	old = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	new = open(NEWROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (old < 0 || new < 0 || fstat(old, &st) < 0)
		return hull_err_make(err, errno, "open / and %s", NEWROOT);
	if (guest_root_copy(old, new, err) < 0)
		return hull_err_wrap(err, "copy the initramfs to %s", NEWROOT);
	if (chdir(NEWROOT) < 0)
		return hull_err_make(err, errno, "chdir %s", NEWROOT);
	/* the copy is complete: from here on the old files are only memory */
	delete_contents(old, st.st_dev);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return hull_err_make(err, errno, "move %s onto /", NEWROOT);
	if (chroot(".") < 0 || chdir("/") < 0)
		return hull_err_make(err, errno, "chroot into the new root");
	return 0;
}
