/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Extended attributes: GETXATTR, SETXATTR, LISTXATTR, REMOVEXATTR.
 *
 * Only "user.*" and "security.capability" pass.  The rest would let the
 * guest write host metadata the host acts on: trusted.overlay.* (a host
 * overlayfs whose upper layer is the shared directory follows redirects
 * and metacopy from it), security.selinux and friends (host labels),
 * system.posix_acl_* (not negotiated: the guest keeps ACLs off).  Host
 * attributes outside the list are invisible (ENODATA, not listed), setting
 * them is EOPNOTSUPP, as on a file system without that namespace.
 *
 * Linux allows user.* on regular files and directories only, so those are
 * the nodes opened for it (a directory by "." of its fd, a file through
 * /proc/self/fd); other types have none.
 */
#include "virtiofs/internal.h"

#include <linux/limits.h>
#include <sys/xattr.h>

static bool name_allowed(const char *name)
{
	return strncmp(name, "user.", 5) == 0 || strcmp(name, "security.capability") == 0;
}

/* An fd for f*xattr on the node, or -ENODATA for types without xattrs. */
static int xattr_fd(struct vfs_server *s, const struct vfs_node *n)
{
	if (n->type == S_IFDIR) {
		int fd = openat(n->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (n->type == S_IFREG)
		return vfs_proc_open(s, n->fd, O_RDONLY | O_NONBLOCK);
	return -ENODATA;
}

static int xattr_name(const struct vfs_req *r, size_t *pos, const char **name)
{
	int rc = vfs_arg_name(r, pos, false, name);

	if (rc < 0)
		return rc;
	if (!**name)
		return -EINVAL;
	if (strlen(*name) > XATTR_NAME_MAX)
		return -ERANGE;
	return 0;
}

static ssize_t reply_size(struct vfs_server *s, size_t size)
{
	struct fuse_getxattr_out *o = (void *)vfs_reply_buf(s, sizeof(*o));

	o->size = (uint32_t)size;
	return sizeof(*o);
}

ssize_t vfs_op_getxattr(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_getxattr_in in;
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	const char *name;
	size_t pos = sizeof(in);

	memcpy(&in, r->arg, sizeof(in));
	if (!n)
		return -EBADF;
	int rc = xattr_name(r, &pos, &name);
	if (rc < 0)
		return rc;
	if (!name_allowed(name))
		return -ENODATA;
	if (in.size == 0 && vfs_reply_room(r) < sizeof(struct fuse_getxattr_out))
		return -EINVAL;
	_cleanup_close_ int fd = xattr_fd(s, n);
	if (fd < 0)
		return fd;
	size_t size = in.size < VFS_XATTR_MAX ? in.size : VFS_XATTR_MAX;
	if (size > vfs_reply_room(r))
		size = vfs_reply_room(r);
	uint8_t *buf = vfs_reply_buf(s, size ? size : sizeof(struct fuse_getxattr_out));
	ssize_t got = fgetxattr(fd, name, size ? buf : NULL, size);
	if (got < 0)
		return -errno;
	return in.size == 0 ? reply_size(s, (size_t)got) : got;
}

ssize_t vfs_op_listxattr(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_getxattr_in in;
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	_cleanup_free_ char *all = NULL;
	size_t kept = 0;

	memcpy(&in, r->arg, sizeof(in));
	if (!n)
		return -EBADF;
	if (vfs_reply_room(r) < sizeof(struct fuse_getxattr_out))
		return -EINVAL;
	_cleanup_close_ int fd = xattr_fd(s, n);
	if (fd == -ENODATA)
		return in.size == 0 ? reply_size(s, 0) : 0;
	if (fd < 0)
		return fd;
	all = xmalloc(VFS_XATTR_MAX);
	ssize_t got = flistxattr(fd, all, VFS_XATTR_MAX);
	if (got < 0)
		return -errno;
	/* Keep the allowed names, in place. */
	for (ssize_t p = 0; p < got;) {
		size_t l = strnlen(all + p, (size_t)(got - p));
		if (p + (ssize_t)l >= got)
			break;
		if (name_allowed(all + p)) {
			memmove(all + kept, all + p, l + 1);
			kept += l + 1;
		}
		p += (ssize_t)l + 1;
	}
	if (in.size == 0)
		return reply_size(s, kept);
	if (kept > in.size || kept > vfs_reply_room(r))
		return -ERANGE;
	memcpy(vfs_reply_buf(s, kept), all, kept);
	return (ssize_t)kept;
}

ssize_t vfs_op_setxattr(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_setxattr_in in = { 0 };
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	const char *name;
	size_t pos = FUSE_COMPAT_SETXATTR_IN_SIZE;   /* FUSE_SETXATTR_EXT is not offered */

	memcpy(&in, r->arg, FUSE_COMPAT_SETXATTR_IN_SIZE);
	if (!n)
		return -EBADF;
	int rc = xattr_name(r, &pos, &name);
	if (rc < 0)
		return rc;
	if (in.size > VFS_XATTR_MAX)
		return -E2BIG;
	if (in.size > r->arg_len - pos)
		return -EINVAL;
	if (in.flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (!name_allowed(name))
		return -EOPNOTSUPP;
	_cleanup_close_ int fd = xattr_fd(s, n);
	if (fd == -ENODATA)
		return -EPERM;
	if (fd < 0)
		return fd;
	return fsetxattr(fd, name, r->arg + pos, in.size, (int)in.flags) < 0 ? -errno : 0;
}

ssize_t vfs_op_removexattr(struct vfs_server *s, struct vfs_req *r)
{
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	const char *name;
	size_t pos = 0;

	if (!n)
		return -EBADF;
	int rc = xattr_name(r, &pos, &name);
	if (rc < 0)
		return rc;
	if (!name_allowed(name))
		return -EOPNOTSUPP;
	_cleanup_close_ int fd = xattr_fd(s, n);
	if (fd < 0)
		return fd;
	return fremovexattr(fd, name) < 0 ? -errno : 0;
}
