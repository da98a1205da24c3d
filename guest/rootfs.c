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
#include "namespaces/namespaces.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define NEWROOT "/.hull-root"

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
	if (ns_copy_tree(old, new, true, err) < 0)
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
