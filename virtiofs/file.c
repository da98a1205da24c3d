/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File ops: OPEN, CREATE, READ, WRITE, RELEASE, FLUSH, FSYNC, FALLOCATE,
 * LSEEK, SYNCFS.  A file handle is an index into the server's table of
 * open fds (with a generation): a forged or released one is EBADF.
 */
#include "virtiofs/internal.h"

#include <sys/uio.h>

/*
 * The guest's open flags, minus what must not reach the host: O_CREAT,
 * O_EXCL, O_TMPFILE, O_PATH, O_DIRECTORY, O_NOCTTY are the server's
 * business; O_DIRECT would impose the host file system's alignment on
 * guest buffers (the guest's own O_DIRECT bypasses only its page cache).
 */
static int open_flags(uint32_t f, int *out)
{
	const uint32_t keep = O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC | O_NOATIME |
			      O_LARGEFILE;

	if ((f & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	*out = (int)(f & keep);
	return 0;
}

static ssize_t reply_open(struct vfs_server *s, uint64_t fh)
{
	struct fuse_open_out *o = (void *)vfs_reply_buf(s, sizeof(*o));

	o->fh = fh;
	return sizeof(*o);
}

ssize_t vfs_op_open(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_open_in in;
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	uint64_t fh;
	int flags;

	memcpy(&in, r->arg, sizeof(in));
	if (!n)
		return -EBADF;
	/* Only regular files are opened on the host: the guest handles
	 * devices, FIFOs and sockets itself, and a reopen must never hand a
	 * host device or a FIFO (that would block this server) to the guest. */
	if (n->type == S_IFDIR)
		return -EISDIR;
	if (n->type == S_IFLNK)
		return -ELOOP;
	if (n->type != S_IFREG)
		return -EINVAL;
	int rc = open_flags(in.flags, &flags);
	if (rc < 0)
		return rc;
	int fd = vfs_proc_open(s, n->fd, flags);
	if (fd < 0)
		return fd;
	rc = vfs_file_add(s, fd, false, &fh);
	return rc < 0 ? rc : reply_open(s, fh);
}

ssize_t vfs_op_create(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_create_in in;
	struct fuse_entry_out e;
	const struct vfs_node *p = vfs_node_get(s, r->h.nodeid);
	const char *name;
	size_t pos = sizeof(in);
	uint64_t fh, id;
	bool made = true;
	int flags;

	memcpy(&in, r->arg, sizeof(in));
	if (!p)
		return -EBADF;
	if (p->type != S_IFDIR)
		return -ENOTDIR;
	int pfd = p->fd;
	int rc = vfs_arg_name(r, &pos, true, &name);
	if (rc < 0)
		return rc;
	rc = open_flags(in.flags, &flags);
	if (rc < 0)
		return rc;
	/* O_EXCL first, so that only a file this call made changes owner. */
	_cleanup_close_ int fd = vfs_open_child(pfd, name, flags | O_CREAT | O_EXCL, in.mode & 07777);
	if (fd == -EEXIST && !(in.flags & O_EXCL)) {
		made = false;
		fd = vfs_open_child(pfd, name, flags, 0);
	}
	if (fd < 0)
		return fd;
	/* The node is the inode just opened (through /proc/self/fd), not
	 * whatever the name means a moment later. */
	int pathfd = vfs_proc_open(s, fd, O_PATH);
	if (pathfd < 0)
		return pathfd;
	struct stat st;
	rc = vfs_node_add(s, pathfd, &st, &id);
	if (rc < 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.nodeid = id;
	e.entry_valid = VFS_TTL;
	e.attr_valid = VFS_TTL;
	vfs_fill_attr(&e.attr, &st);
	if (made) {
		rc = vfs_give_to_caller(s, r, pfd, name, &e, false);
		if (rc < 0)
			return rc;
		if (vfs_stat_fd(fd, &st) == 0)
			vfs_fill_attr(&e.attr, &st);
	}
	rc = vfs_file_add(s, take_fd(&fd), false, &fh);
	if (rc < 0) {
		vfs_node_forget(s, id, 1);
		return rc;
	}
	uint8_t *b = vfs_reply_buf(s, sizeof(e) + sizeof(struct fuse_open_out));
	memcpy(b, &e, sizeof(e));
	((struct fuse_open_out *)(void *)(b + sizeof(e)))->fh = fh;
	return sizeof(e) + sizeof(struct fuse_open_out);
}

ssize_t vfs_op_read(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_read_in in;
	struct iovec iov[VFS_MAX_IOV];

	memcpy(&in, r->arg, sizeof(in));
	const struct vfs_file *f = vfs_file_get(s, in.fh, false);
	if (!f)
		return -EBADF;
	if (in.offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	/* Never more than the guest gave room for. */
	size_t size = in.size < vfs_reply_room(r) ? in.size : vfs_reply_room(r);
	int n = vfs_iov_slice(r->out, r->nout, sizeof(struct fuse_out_header), size, iov, VFS_MAX_IOV);
	if (n == -E2BIG) {
		ssize_t got = pread(f->fd, vfs_reply_buf(s, size), size, (off_t)in.offset);
		return got < 0 ? -errno : got;
	}
	if (n < 0)
		return n;
	ssize_t got = n ? preadv(f->fd, iov, n, (off_t)in.offset) : 0;
	if (got < 0)
		return -errno;
	r->direct = true;
	return got;
}

ssize_t vfs_op_write(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_write_in in;
	struct iovec iov[VFS_MAX_IOV];

	memcpy(&in, r->arg, sizeof(in));
	const struct vfs_file *f = vfs_file_get(s, in.fh, false);
	if (!f)
		return -EBADF;
	if (in.offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	/* size must be the payload that is there (Linux sends exactly it). */
	if (in.size != r->payload_len)
		return -EINVAL;
	int n = vfs_iov_slice(r->payload, r->npayload, 0, in.size, iov, VFS_MAX_IOV);
	if (n < 0)
		return n;
	ssize_t put = n ? pwritev(f->fd, iov, n, (off_t)in.offset) : 0;
	if (put < 0)
		return -errno;
	struct fuse_write_out *o = (void *)vfs_reply_buf(s, sizeof(*o));
	o->size = (uint32_t)put;
	return sizeof(*o);
}

ssize_t vfs_op_release(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_release_in in;

	memcpy(&in, r->arg, sizeof(in));
	if (!vfs_file_get(s, in.fh, false))
		return -EBADF;
	vfs_file_close(s, in.fh);
	return 0;
}

ssize_t vfs_op_flush(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_flush_in in;

	memcpy(&in, r->arg, sizeof(in));
	/* Nothing is buffered here; no locks to drop (none offered). */
	return vfs_file_get(s, in.fh, false) ? 0 : -EBADF;
}

static ssize_t do_fsync(struct vfs_server *s, struct vfs_req *r, bool dir)
{
	struct fuse_fsync_in in;

	memcpy(&in, r->arg, sizeof(in));
	const struct vfs_file *f = vfs_file_get(s, in.fh, dir);
	if (!f)
		return -EBADF;
	int rc = (in.fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(f->fd) : fsync(f->fd);
	return rc < 0 ? -errno : 0;
}

ssize_t vfs_op_fsync(struct vfs_server *s, struct vfs_req *r) { return do_fsync(s, r, false); }
ssize_t vfs_op_fsyncdir(struct vfs_server *s, struct vfs_req *r) { return do_fsync(s, r, true); }

ssize_t vfs_op_fallocate(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_fallocate_in in;

	memcpy(&in, r->arg, sizeof(in));
	const struct vfs_file *f = vfs_file_get(s, in.fh, false);
	if (!f)
		return -EBADF;
	if (in.offset > (uint64_t)INT64_MAX || in.length > (uint64_t)INT64_MAX)
		return -EINVAL;
	return fallocate(f->fd, (int)in.mode, (off_t)in.offset, (off_t)in.length) < 0 ? -errno : 0;
}

ssize_t vfs_op_lseek(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_lseek_in in;

	memcpy(&in, r->arg, sizeof(in));
	const struct vfs_file *f = vfs_file_get(s, in.fh, false);
	if (!f)
		return -EBADF;
	if (in.whence != SEEK_SET && in.whence != SEEK_CUR && in.whence != SEEK_END && in.whence != SEEK_DATA &&
	    in.whence != SEEK_HOLE)
		return -EINVAL;
	off_t o = lseek(f->fd, (off_t)in.offset, (int)in.whence);
	if (o < 0)
		return -errno;
	struct fuse_lseek_out *out = (void *)vfs_reply_buf(s, sizeof(*out));
	out->offset = (uint64_t)o;
	return sizeof(*out);
}

ssize_t vfs_op_syncfs(struct vfs_server *s, struct vfs_req *r)
{
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);

	if (!n || n->type != S_IFDIR)
		n = vfs_node_get(s, FUSE_ROOT_ID);
	int fd = openat(n->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = syncfs(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}
