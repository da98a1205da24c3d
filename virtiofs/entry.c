/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Name and attribute ops: LOOKUP, GETATTR, SETATTR, READLINK, SYMLINK,
 * MKNOD, MKDIR, UNLINK, RMDIR, RENAME(2), LINK, STATFS, ACCESS.
 *
 * Why no path can leave the served root: the guest names a directory only
 * by a node id, i.e. an O_PATH fd this server opened, and a child only by
 * one component (vfs_arg_name refuses "", ".", ".." and "/").  Every host
 * call is relative to that fd with that one name (openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or an *at call that does not
 * follow the last component), so no string is ever resolved from "/", and
 * a symlink is never followed on the host: the guest's kernel reads it
 * (READLINK) and resolves it in the guest.  A rename that races a lookup
 * cannot help either: an fd stays on its inode wherever the directory
 * moves, and the guest can only move things within one mount of the served
 * tree (rename(2) refuses to cross mounts), so a node never ends up above
 * the root.  (Only a host process could move a directory out; what is
 * below it is then what the guest sees, never what is above.)
 */
#include "virtiofs/internal.h"

#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

int vfs_open_child(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	for (int tries = 0; tries < 64; tries++) {
		long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno == ENOSYS)   /* < 5.6: one checked component + O_NOFOLLOW is as tight */
			break;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	int fd = openat(dirfd, name, (int)how.flags, how.mode);
	return fd < 0 ? -errno : fd;
}

int vfs_stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* The kernel's new_encode_dev(): fuse_attr.rdev is 32 bits. */
static uint32_t encode_dev(dev_t d)
{
	uint32_t ma = major(d), mi = minor(d);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

void vfs_fill_attr(struct fuse_attr *a, const struct stat *st)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = encode_dev(st->st_rdev);
	a->blksize = (uint32_t)st->st_blksize;
}

static void fill_entry(struct fuse_entry_out *e, uint64_t nodeid, const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->nodeid = nodeid;
	e->entry_valid = VFS_TTL;
	e->attr_valid = VFS_TTL;
	vfs_fill_attr(&e->attr, st);
}

int vfs_do_lookup(struct vfs_server *s, int parent_fd, const char *name, struct fuse_entry_out *e)
{
	struct stat st;
	uint64_t id;
	int fd = vfs_open_child(parent_fd, name, O_PATH, 0);

	if (fd < 0)
		return fd;
	int r = vfs_node_add(s, fd, &st, &id);
	if (r < 0)
		return r;
	fill_entry(e, id, &st);
	return 0;
}

/* The parent named by the header and the first name of the args. */
static int parent_and_name(struct vfs_server *s, const struct vfs_req *r, size_t *pos, int *pfd, const char **name)
{
	const struct vfs_node *p = vfs_node_get(s, r->h.nodeid);

	if (!p)
		return -EBADF;
	if (p->type != S_IFDIR)
		return -ENOTDIR;
	*pfd = p->fd;
	return vfs_arg_name(r, pos, true, name);
}

static ssize_t reply_entry(struct vfs_server *s, const struct fuse_entry_out *e)
{
	memcpy(vfs_reply_buf(s, sizeof(*e)), e, sizeof(*e));
	return sizeof(*e);
}

ssize_t vfs_op_lookup(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_entry_out e;
	const char *name;
	size_t pos = 0;
	int pfd;
	int rc = parent_and_name(s, r, &pos, &pfd, &name);

	if (rc < 0)
		return rc;
	rc = vfs_do_lookup(s, pfd, name, &e);
	return rc < 0 ? rc : reply_entry(s, &e);
}

static ssize_t reply_attr(struct vfs_server *s, int fd)
{
	struct stat st;
	int rc = vfs_stat_fd(fd, &st);

	if (rc < 0)
		return rc;
	struct fuse_attr_out *o = (void *)vfs_reply_buf(s, sizeof(*o));
	o->attr_valid = VFS_TTL;
	vfs_fill_attr(&o->attr, &st);
	return sizeof(*o);
}

ssize_t vfs_op_getattr(struct vfs_server *s, struct vfs_req *r)
{
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);

	return n ? reply_attr(s, n->fd) : -EBADF;
}

static int set_times(int fd, const struct fuse_setattr_in *in)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

	if (in->valid & FATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (in->valid & FATTR_ATIME)
		ts[0] = (struct timespec){ .tv_sec = (time_t)in->atime, .tv_nsec = in->atimensec };
	if (in->valid & FATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (in->valid & FATTR_MTIME)
		ts[1] = (struct timespec){ .tv_sec = (time_t)in->mtime, .tv_nsec = in->mtimensec };
	if ((in->valid & FATTR_ATIME && !(in->valid & FATTR_ATIME_NOW) && in->atimensec >= 1000000000u) ||
	    (in->valid & FATTR_MTIME && !(in->valid & FATTR_MTIME_NOW) && in->mtimensec >= 1000000000u))
		return -EINVAL;
	return utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

ssize_t vfs_op_setattr(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_setattr_in in;
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	const struct vfs_file *f = NULL;

	memcpy(&in, r->arg, sizeof(in));
	if (!n)
		return -EBADF;
	if (in.valid & FATTR_FH) {
		f = vfs_file_get(s, in.fh, false);
		if (!f)
			return -EBADF;
	}
	if (in.valid & FATTR_MODE) {
		/* chmod of a symlink is meaningless (Linux: EOPNOTSUPP). */
		if (n->type == S_IFLNK)
			return -EOPNOTSUPP;
		int rc = f ? (fchmod(f->fd, in.mode & 07777) < 0 ? -errno : 0)
			   : vfs_proc_chmod(s, n->fd, in.mode & 07777);
		if (rc < 0)
			return rc;
	}
	if (in.valid & (FATTR_UID | FATTR_GID)) {
		uid_t uid = in.valid & FATTR_UID ? in.uid : (uid_t)-1;
		gid_t gid = in.valid & FATTR_GID ? in.gid : (gid_t)-1;
		if (fchownat(n->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (in.valid & FATTR_SIZE) {
		if (in.size > (uint64_t)INT64_MAX)
			return -EFBIG;
		if (f) {
			if (ftruncate(f->fd, (off_t)in.size) < 0)
				return -errno;
		} else {
			if (n->type == S_IFDIR)
				return -EISDIR;
			if (n->type != S_IFREG)
				return -EINVAL;
			int fd = vfs_proc_open(s, n->fd, O_WRONLY);
			if (fd < 0)
				return fd;
			int rc = ftruncate(fd, (off_t)in.size) < 0 ? -errno : 0;
			close(fd);
			if (rc < 0)
				return rc;
		}
	}
	if (in.valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		int rc = set_times(n->fd, &in);
		if (rc < 0)
			return rc;
	}
	return reply_attr(s, n->fd);
}

ssize_t vfs_op_readlink(struct vfs_server *s, struct vfs_req *r)
{
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	char buf[PATH_MAX];

	if (!n)
		return -EBADF;
	if (n->type != S_IFLNK)
		return -EINVAL;
	ssize_t len = readlinkat(n->fd, "", buf, sizeof(buf));
	if (len < 0)
		return -errno;
	if ((size_t)len > vfs_reply_room(r))
		return -ENAMETOOLONG;
	memcpy(vfs_reply_buf(s, (size_t)len), buf, (size_t)len);
	return len;
}

/*
 * A new entry belongs to the guest's caller (the header's uid/gid), as if it
 * had made it; a set-group-ID directory gives its group, as the kernel does.
 * It is made by this (root) process and handed over on its own fd, never by
 * name, so nothing can be swapped in between.  On failure the entry goes.
 */
int vfs_give_to_caller(struct vfs_server *s, const struct vfs_req *r, int pfd, const char *name,
		       const struct fuse_entry_out *e, bool dir)
{
	const struct vfs_node *n = vfs_node_get(s, e->nodeid);
	struct stat pst;
	gid_t gid = r->h.gid;

	if (!n)
		return -EIO;
	if (vfs_stat_fd(pfd, &pst) == 0 && (pst.st_mode & S_ISGID))
		gid = pst.st_gid;
	if (e->attr.uid == r->h.uid && e->attr.gid == gid)
		return 0;
	if (fchownat(n->fd, "", r->h.uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int rc = -errno;
		vfs_node_forget(s, e->nodeid, 1);
		unlinkat(pfd, name, dir ? AT_REMOVEDIR : 0);
		return rc;
	}
	return 0;
}

/* Lookup after a create, ownership, and the entry reply. */
static ssize_t finish_create(struct vfs_server *s, const struct vfs_req *r, int pfd, const char *name, bool dir)
{
	struct fuse_entry_out e;
	struct stat st;
	int rc = vfs_do_lookup(s, pfd, name, &e);

	if (rc < 0)
		return rc;
	rc = vfs_give_to_caller(s, r, pfd, name, &e, dir);
	if (rc < 0)
		return rc;
	const struct vfs_node *n = vfs_node_get(s, e.nodeid);
	if (n && vfs_stat_fd(n->fd, &st) == 0)
		vfs_fill_attr(&e.attr, &st);
	return reply_entry(s, &e);
}

ssize_t vfs_op_symlink(struct vfs_server *s, struct vfs_req *r)
{
	const char *name, *target;
	size_t pos = 0;
	int pfd;
	int rc = parent_and_name(s, r, &pos, &pfd, &name);

	if (rc < 0)
		return rc;
	/* The target is data, never resolved here: any non-empty string. */
	rc = vfs_arg_name(r, &pos, false, &target);
	if (rc < 0)
		return rc;
	if (!*target)
		return -ENOENT;
	if (strlen(target) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (symlinkat(target, pfd, name) < 0)
		return -errno;
	return finish_create(s, r, pfd, name, false);
}

ssize_t vfs_op_mknod(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_mknod_in in;
	const char *name;
	size_t pos = sizeof(in);
	int pfd;

	memcpy(&in, r->arg, sizeof(in));
	int rc = parent_and_name(s, r, &pos, &pfd, &name);
	if (rc < 0)
		return rc;
	unsigned int ma = (in.rdev & 0xfff00) >> 8, mi = (in.rdev & 0xff) | ((in.rdev >> 12) & 0xfff00);
	switch (in.mode & S_IFMT) {
	case S_IFREG: case S_IFIFO: case S_IFSOCK:
		break;
	case S_IFCHR:
		/* 0:0 is overlayfs' whiteout; any real device node would be a
		 * door to the host's hardware for whoever reaches the file. */
		if (ma == 0 && mi == 0)
			break;
		return -EPERM;
	default:
		return -EPERM;
	}
	if (mknodat(pfd, name, in.mode & (S_IFMT | 07777), makedev(ma, mi)) < 0)
		return -errno;
	return finish_create(s, r, pfd, name, false);
}

ssize_t vfs_op_mkdir(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_mkdir_in in;
	const char *name;
	size_t pos = sizeof(in);
	int pfd;

	memcpy(&in, r->arg, sizeof(in));
	int rc = parent_and_name(s, r, &pos, &pfd, &name);
	if (rc < 0)
		return rc;
	if (mkdirat(pfd, name, in.mode & 07777) < 0)
		return -errno;
	return finish_create(s, r, pfd, name, true);
}

static ssize_t remove_entry(struct vfs_server *s, struct vfs_req *r, int flags)
{
	const char *name;
	size_t pos = 0;
	int pfd;
	int rc = parent_and_name(s, r, &pos, &pfd, &name);

	if (rc < 0)
		return rc;
	return unlinkat(pfd, name, flags) < 0 ? -errno : 0;
}

ssize_t vfs_op_unlink(struct vfs_server *s, struct vfs_req *r) { return remove_entry(s, r, 0); }
ssize_t vfs_op_rmdir(struct vfs_server *s, struct vfs_req *r) { return remove_entry(s, r, AT_REMOVEDIR); }

static ssize_t do_rename(struct vfs_server *s, struct vfs_req *r, uint64_t newdir, uint32_t flags, size_t pos)
{
	const char *oldname, *newname;
	int ofd;
	int rc = parent_and_name(s, r, &pos, &ofd, &oldname);

	if (rc < 0)
		return rc;
	rc = vfs_arg_name(r, &pos, true, &newname);
	if (rc < 0)
		return rc;
	const struct vfs_node *nd = vfs_node_get(s, newdir);
	if (!nd)
		return -EBADF;
	if (nd->type != S_IFDIR)
		return -ENOTDIR;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	return renameat2(ofd, oldname, nd->fd, newname, flags) < 0 ? -errno : 0;
}

ssize_t vfs_op_rename(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_rename_in in;

	memcpy(&in, r->arg, sizeof(in));
	return do_rename(s, r, in.newdir, 0, sizeof(in));
}

ssize_t vfs_op_rename2(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_rename2_in in;

	memcpy(&in, r->arg, sizeof(in));
	return do_rename(s, r, in.newdir, in.flags, sizeof(in));
}

ssize_t vfs_op_link(struct vfs_server *s, struct vfs_req *r)
{
	struct fuse_link_in in;
	struct fuse_entry_out e;
	const char *name;
	size_t pos = sizeof(in);
	int pfd;

	memcpy(&in, r->arg, sizeof(in));
	int rc = parent_and_name(s, r, &pos, &pfd, &name);
	if (rc < 0)
		return rc;
	const struct vfs_node *old = vfs_node_get(s, in.oldnodeid);
	if (!old)
		return -EBADF;
	if (old->type == S_IFDIR)
		return -EPERM;
	if (linkat(old->fd, "", pfd, name, AT_EMPTY_PATH) < 0) {
		/* AT_EMPTY_PATH wants CAP_DAC_READ_SEARCH (ENOENT without it);
		 * the /proc/self/fd link names the same inode. */
		if (errno != ENOENT)
			return -errno;
		rc = vfs_proc_link(s, old->fd, pfd, name);
		if (rc < 0)
			return rc;
	}
	rc = vfs_do_lookup(s, pfd, name, &e);
	return rc < 0 ? rc : reply_entry(s, &e);
}

ssize_t vfs_op_statfs(struct vfs_server *s, struct vfs_req *r)
{
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	struct statfs sf;

	if (!n)
		return -EBADF;
	if (fstatfs(n->fd, &sf) < 0)
		return -errno;
	struct fuse_statfs_out *o = (void *)vfs_reply_buf(s, sizeof(*o));
	o->st.blocks = sf.f_blocks;
	o->st.bfree = sf.f_bfree;
	o->st.bavail = sf.f_bavail;
	o->st.files = sf.f_files;
	o->st.ffree = sf.f_ffree;
	o->st.bsize = (uint32_t)sf.f_bsize;
	o->st.namelen = (uint32_t)sf.f_namelen;
	o->st.frsize = (uint32_t)sf.f_frsize;
	return sizeof(*o);
}

/* ACCESS: only sent for access(2) when default_permissions is off (it is on
 * for virtio-fs); answered from the mode bits for the header's uid/gid,
 * as the guest's generic_permission would (root: rw always, x if any x). */
ssize_t vfs_op_access(struct vfs_server *s, struct vfs_req *r)
{
	const struct vfs_node *n = vfs_node_get(s, r->h.nodeid);
	struct fuse_access_in in;
	struct stat st;

	memcpy(&in, r->arg, sizeof(in));
	if (!n)
		return -EBADF;
	int rc = vfs_stat_fd(n->fd, &st);
	if (rc < 0)
		return rc;
	uint32_t want = in.mask & (R_OK | W_OK | X_OK);
	if (r->h.uid == 0) {
		if ((want & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111))
			return -EACCES;
		return 0;
	}
	uint32_t bits = st.st_mode & 07;
	if (st.st_uid == r->h.uid)
		bits = (st.st_mode >> 6) & 07;
	else if (st.st_gid == r->h.gid)
		bits = (st.st_mode >> 3) & 07;
	return (want & ~bits) ? -EACCES : 0;
}
