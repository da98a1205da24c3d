/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directory ops: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR (FSYNCDIR is
 * file.c's fsync).  The guest's readdir offset is the host's d_off cookie:
 * each call seeks the handle's fd there and reads on, so the handle keeps
 * no state the guest could desynchronise.
 */
#include "virtiofs/internal.h"

#include <dirent.h>

ssize_t vfs_op_opendir(struct vfs_server *s, struct vfs_req *r)
{
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	uint64_t fh;

	if (!n)
		return -EBADF;
	if (n->type != S_IFDIR)
		return -ENOTDIR;
	/* "." of the node's own fd: that directory, wherever it is now. */
	int fd = openat(n->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = vfs_file_add(s, fd, true, &fh);
	if (rc < 0)
		return rc;
	struct fuse_open_out *o = (void *)vfs_reply_buf(s, sizeof(*o));
	o->fh = fh;
	return sizeof(*o);
}

static ssize_t readdir_common(struct vfs_server *s, struct vfs_req *r, bool plus)
{
	struct fuse_read_in in;
	char dents[32768] __attribute__((aligned(8)));

	memcpy(&in, r->arg, sizeof(in));
	struct vfs_file *f = vfs_file_get(s, in.fh, true);
	if (!f)
		return -EBADF;
	if (in.offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	size_t size = in.size < vfs_reply_room(r) ? in.size : vfs_reply_room(r);
	uint8_t *buf = vfs_reply_buf(s, size);
	size_t used = 0;
	int dfd = f->fd;

	if (lseek(dfd, (off_t)in.offset, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t got = getdents64(dfd, dents, sizeof(dents));
		if (got < 0)
			return used ? (ssize_t)used : -errno;
		if (got == 0)
			break;
		for (ssize_t pos = 0; pos < got;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(dents + pos);
			size_t namelen = strlen(d->d_name);
			size_t head = plus ? offsetof(struct fuse_direntplus, dirent.name) : offsetof(struct fuse_dirent, name);
			size_t rec = FUSE_DIRENT_ALIGN(head + namelen);

			pos += d->d_reclen;
			if (rec > size - used) {
				/* Full: the guest asks again from the last d_off. */
				if (used == 0)
					return -EINVAL;
				return (ssize_t)used;
			}
			struct fuse_dirent *fd;
			if (plus) {
				struct fuse_direntplus *dp = (void *)(buf + used);
				memset(dp, 0, rec);
				/* "." and ".." (and an entry that vanished) get node id 0:
				 * the kernel then takes the name and type only. */
				bool dots = strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0;
				if (!dots && vfs_do_lookup(s, dfd, d->d_name, &dp->entry_out) < 0)
					memset(&dp->entry_out, 0, sizeof(dp->entry_out));
				fd = &dp->dirent;
			} else {
				fd = (void *)(buf + used);
				memset(fd, 0, rec);
			}
			fd->ino = d->d_ino;
			fd->off = (uint64_t)d->d_off;
			fd->namelen = (uint32_t)namelen;
			fd->type = d->d_type;
			memcpy(fd->name, d->d_name, namelen);
			used += rec;
		}
	}
	return (ssize_t)used;
}

ssize_t vfs_op_readdir(struct vfs_server *s, struct vfs_req *r) { return readdir_common(s, r, false); }
ssize_t vfs_op_readdirplus(struct vfs_server *s, struct vfs_req *r) { return readdir_common(s, r, true); }

ssize_t vfs_op_releasedir(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_release_in in;

	memcpy(&in, r->arg, sizeof(in));
	if (!vfs_file_get(s, in.fh, true))
		return -EBADF;
	vfs_file_close(s, in.fh);
	return 0;
}
