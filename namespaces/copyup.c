/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tmpcopyup: copy the directory a tmpfs is about to cover into it (crun and
 * runc's "tmpcopyup" extension).  Everything is fd-relative with
 * O_NOFOLLOW/AT_SYMLINK_NOFOLLOW: the image's symlinks are copied as
 * symlinks, never followed.  The guest's PID 1 copies its initramfs with it
 * too (guest/rootfs.c), staying on one file system.
 */
#include "namespaces/internal.h"

#include <dirent.h>
#include <limits.h>
#include <sys/sendfile.h>

#define COPY_MAX_DEPTH 64

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st, struct hull_err **err)
{
	_cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out = -1;

	if (in < 0)
		return hull_err_make(err, errno, "open %s", name);
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return hull_err_make(err, errno, "create %s", name);
	return copy_fd_data(in, out, st->st_size, name, err);
}

/* dev: copy only entries of this file system; 0 = any */
static int copy_dir(int sdir, int ddir, dev_t dev, int depth, struct hull_err **err);

static int copy_entry(int sdir, int ddir, const char *name, dev_t dev, int depth, struct hull_err **err)
{
	struct stat st;
	int r = 0;

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_err_make(err, errno, "stat %s", name);
	if (dev && st.st_dev != dev)
		return 0;   /* a mount point: another file system */
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: {
		_cleanup_close_ int s = -1, d = -1;
		if (mkdirat(ddir, name, st.st_mode & 07777) < 0)
			return hull_err_make(err, errno, "mkdir %s", name);
		s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return hull_err_make(err, errno, "open %s", name);
		r = copy_dir(s, d, dev, depth + 1, err);
		break;
	}
	case S_IFREG:
		r = copy_file(sdir, ddir, name, &st, err);
		break;
	case S_IFLNK: {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
		if (n < 0)
			return hull_err_make(err, errno, "readlink %s", name);
		target[n] = '\0';
		if (symlinkat(target, ddir, name) < 0)
			return hull_err_make(err, errno, "symlink %s", name);
		break;
	}
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
		if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0)
			return hull_err_make(err, errno, "mknod %s", name);
		break;
	default:
		return 0;   /* sockets: nothing to copy */
	}
	if (r < 0)
		return hull_err_wrap(err, "%s", name);
	/* Owner last: a chown to a non-root owner must not block the copy. */
	if (fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
		return hull_err_make(err, errno, "chown %s", name);
	if (!S_ISLNK(st.st_mode) && fchmodat(ddir, name, st.st_mode & 07777, 0) < 0)
		return hull_err_make(err, errno, "chmod %s", name);
	return 0;
}

static int copy_dir(int sdir, int ddir, dev_t dev, int depth, struct hull_err **err)
{
	int dfd;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > COPY_MAX_DEPTH)
		return hull_err_make(err, ELOOP, "directory tree deeper than %d", COPY_MAX_DEPTH);
	dfd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hull_err_make(err, errno, "open directory");
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return hull_err_make(err, errno, "fdopendir");
	}
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = copy_entry(sdir, ddir, de->d_name, dev, depth, err);
	}
	if (r == 0 && errno != 0)
		r = hull_err_make(err, errno, "readdir");
	closedir(d);
	return r;
}

int ns_copy_tree(int src_dirfd, int dst_dirfd, bool one_fs, struct hull_err **err)
{
	struct stat st;

	if (one_fs && fstat(src_dirfd, &st) < 0)
		return hull_err_make(err, errno, "stat the source directory");
	return copy_dir(src_dirfd, dst_dirfd, one_fs ? st.st_dev : 0, 0, err);
}
