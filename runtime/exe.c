/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CVE-2019-5736: a container process that execs /proc/self/exe while hull is
 * inside the container gets hull's binary, and could open it for writing once
 * hull exits.  Before entering a container, hull re-executes itself from a
 * detached, read-only overlayfs whose lower layers are hull's directory and
 * an empty tmpfs directory: /proc/self/exe then points into a filesystem that cannot
 * be written at all, and nothing is copied (runc 1.2 does the same).  Where
 * overlayfs is unavailable, a sealed memfd copy is the fallback (logged).
 */
#include "internal.h"

#include <libgen.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

extern char **environ;

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool already_sealed(void)
{
	_cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct statvfs sv;
	int seals;

	if (fd < 0)
		return false;
	/* Any read-only mount is safe, including our own overlay. */
	if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return true;
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

static int detached_mount(const char *type, const char *lower, unsigned attr)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);

	if (fs < 0)
		return -1;
	if (lower && syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
		return -1;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attr | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
}

/*
 * One detached tree: a tmpfs whose empty directory "o" is both the overlay's
 * second lower layer (overlayfs needs two without an upper one) and where the
 * overlay is attached.  Closing the tree's fd then unmounts both at once:
 * every detached tree dissolved costs an expedited RCU grace period.
 */
static int overlay_exe(const char *path, int *tree_out)
{
	_cleanup_free_ char *d = xstrdup(path), *b = xstrdup(path), *rel = NULL;
	_cleanup_close_ int dir = open(dirname(d), O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int tree = detached_mount("tmpfs", NULL, 0);
	_cleanup_close_ int o = -1, mnt = -1;
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	char lower[64];
	int fd;

	if (dir < 0 || tree < 0 || mkdirat(tree, "o", 0700) < 0)
		return -1;
	o = openat(tree, "o", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (o < 0)
		return -1;
	snprintf(lower, sizeof(lower), "/proc/self/fd/%d:/proc/self/fd/%d", dir, o);
	mnt = detached_mount("overlay", lower, MOUNT_ATTR_RDONLY);
	if (mnt < 0 || syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0 ||
	    syscall(SYS_move_mount, mnt, "", o, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -1;
	rel = xasprintf("o/%s", basename(b));
	fd = openat(tree, rel, O_PATH | O_CLOEXEC);
	if (fd >= 0 && tree_out)
		*tree_out = take_fd(&tree);
	return fd;
}

static int memfd_exe(const char *path, struct hull_err **err)
{
	_cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int mfd = -1;
	struct stat st;
	off_t off = 0;

	if (src < 0 || fstat(src, &st) < 0)
		return hull_err_make(err, errno, "open %s", path);
	mfd = memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return hull_err_make(err, errno, "memfd_create");
	while (off < st.st_size) {
		ssize_t n = sendfile(mfd, src, &off, (size_t)(st.st_size - off));
		if (n <= 0)
			return hull_err_make(err, n < 0 ? errno : EIO, "copy %s to memfd", path);
	}
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		return hull_err_make(err, errno, "seal memfd");
	return take_fd(&mfd);
}

int exe_sealed_fd(int *tree_out, struct hull_err **err)
{
	char path[4096];
	ssize_t n;
	int fd;

	if (tree_out)
		*tree_out = -1;
	if (already_sealed()) {
		fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
		return fd >= 0 ? fd : hull_err_make(err, errno, "open /proc/self/exe");
	}
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n < 0)
		return hull_err_make(err, errno, "readlink /proc/self/exe");
	path[n] = '\0';
	/* The file was deleted since it started (the guest's PID 1 runs from the
	 * initramfs it left, guest/rootfs.c; a rebuild replaced it): the path
	 * names nothing, or another file.  /proc/self/exe still is this binary. */
	if (n > 10 && strcmp(path + n - 10, " (deleted)") == 0)
		return memfd_exe("/proc/self/exe", err);
	fd = overlay_exe(path, tree_out);
	if (fd < 0) {
		hull_debug("read-only overlay of %s unavailable (%s); using a sealed memfd copy", path,
			   strerror(errno));
		fd = memfd_exe(path, err);
	}
	return fd;
}

int runtime_ensure_sealed_exe(char **argv, struct hull_err **err)
{
	_cleanup_close_ int fd = -1;

	if (already_sealed())
		return 0;
	fd = exe_sealed_fd(NULL, err);
	if (fd < 0)
		return -1;
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	return hull_err_make(err, errno, "re-exec hull from a sealed copy");
}
