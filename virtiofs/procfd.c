/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one way through /proc/self/fd.  Some calls take no O_PATH fd (open
 * for I/O, chmod, link without CAP_DAC_READ_SEARCH); /proc/self/fd/N of
 * one of OUR fds is a magic link to exactly that inode, so going through
 * it acts on the inode the node already is, never on a path that could
 * have changed.  Only decimal fd numbers we own are ever looked up below
 * s->proc_fd, never a guest string (no "..": /proc/1/root is a door to the
 * host the guest must never be able to name).
 */
#include "virtiofs/internal.h"

#include <stdio.h>

static void fd_name(int fd, char buf[16])
{
	snprintf(buf, 16, "%d", fd);
}

int vfs_proc_open(struct vfs_server *s, int fd, int flags)
{
	char n[16];

	fd_name(fd, n);
	int r = openat(s->proc_fd, n, flags | O_CLOEXEC);
	return r < 0 ? -errno : r;
}

int vfs_proc_chmod(struct vfs_server *s, int fd, mode_t mode)
{
	char n[16];

	fd_name(fd, n);
	return fchmodat(s->proc_fd, n, mode, 0) < 0 ? -errno : 0;
}

int vfs_proc_link(struct vfs_server *s, int fd, int dirfd, const char *name)
{
	char n[16];

	fd_name(fd, n);
	return linkat(s->proc_fd, n, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}
