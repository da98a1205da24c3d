/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FUSE server: request framing, the node and file-handle tables, the
 * opcode table, INIT/DESTROY/FORGET.  The ops are in entry.c, file.c,
 * dir.c and xattr.c.
 *
 * Framing (virtio-fs, virtio spec 5.11.6): the driver-readable buffers hold
 * fuse_in_header, the op's args and (WRITE) the payload; fuse_in_header.len
 * must equal the bytes present.  The device-writable buffers take
 * fuse_out_header and the reply.  Everything is copied out of the iovecs
 * once (WRITE's payload is written from them directly), so a guest that
 * changes its buffers while we work only confuses itself.
 */
#include "virtiofs/internal.h"

#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#define NODE_IDX(id) ((uint32_t)((id) & 0xffffffffu))
#define NODE_GEN(id) ((uint32_t)((id) >> 32))

/* ---- iovecs --------------------------------------------------------------- */

/* Sum of the lengths; false when it overflows. */
static bool iov_total(const struct iovec *v, int n, size_t *out)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		if (__builtin_add_overflow(t, v[i].iov_len, &t))
			return false;
	*out = t;
	return true;
}

int vfs_iov_slice(const struct iovec *src, int nsrc, size_t off, size_t len, struct iovec *dst, int ndst)
{
	int n = 0;

	for (int i = 0; i < nsrc && len > 0; i++) {
		size_t l = src[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		if (n == ndst)
			return -E2BIG;
		size_t take = l - off < len ? l - off : len;
		dst[n].iov_base = (uint8_t *)src[i].iov_base + off;
		dst[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return len ? -EINVAL : n;
}

static void iov_copy_from(const struct iovec *v, int n, size_t off, void *dst, size_t len)
{
	uint8_t *d = dst;

	for (int i = 0; i < n && len > 0; i++) {
		if (off >= v[i].iov_len) {
			off -= v[i].iov_len;
			continue;
		}
		size_t take = v[i].iov_len - off < len ? v[i].iov_len - off : len;
		memcpy(d, (const uint8_t *)v[i].iov_base + off, take);
		d += take;
		len -= take;
		off = 0;
	}
}

static void iov_copy_to(const struct iovec *v, int n, size_t off, const void *src, size_t len)
{
	const uint8_t *p = src;

	for (int i = 0; i < n && len > 0; i++) {
		if (off >= v[i].iov_len) {
			off -= v[i].iov_len;
			continue;
		}
		size_t take = v[i].iov_len - off < len ? v[i].iov_len - off : len;
		memcpy((uint8_t *)v[i].iov_base + off, p, take);
		p += take;
		len -= take;
		off = 0;
	}
}

/* ---- args and reply -------------------------------------------------------- */

int vfs_arg_name(const struct vfs_req *r, size_t *pos, bool component, const char **name)
{
	if (*pos >= r->arg_len)
		return -EINVAL;
	const char *p = (const char *)r->arg + *pos;
	const char *nul = memchr(p, '\0', r->arg_len - *pos);

	if (!nul)
		return -EINVAL;
	size_t len = (size_t)(nul - p);
	if (component) {
		/* One component: the kernel's own lookup would never send
		 * these, so any of them is a hostile or broken guest. */
		if (len == 0 || strcmp(p, ".") == 0 || strcmp(p, "..") == 0 || memchr(p, '/', len))
			return -EINVAL;
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
	}
	*pos += len + 1;
	*name = p;
	return 0;
}

size_t vfs_reply_room(const struct vfs_req *r)
{
	size_t room = r->out_cap - sizeof(struct fuse_out_header);

	return room < VFS_MAX_REPLY ? room : VFS_MAX_REPLY;
}

uint8_t *vfs_reply_buf(struct vfs_server *s, size_t len)
{
	if (len > s->scratch_cap) {
		s->scratch = xrealloc(s->scratch, len);
		s->scratch_cap = len;
	}
	memset(s->scratch, 0, len);
	return s->scratch;
}

/* ---- nodes ------------------------------------------------------------------ */

static uint32_t node_hash(uint64_t mnt_id, dev_t dev, ino_t ino, uint32_t nbuckets)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull;

	h ^= (dev + (mnt_id << 20)) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (uint32_t)(h % nbuckets);
}

static void hash_insert(struct vfs_server *s, uint32_t idx)
{
	struct vfs_node *n = &s->nodes[idx];
	uint32_t b = node_hash(n->mnt_id, n->dev, n->ino, s->nbuckets);

	n->next = s->buckets[b];
	s->buckets[b] = idx + 1;
}

static void hash_grow(struct vfs_server *s)
{
	uint32_t nb = s->nbuckets ? s->nbuckets * 2 : 256;

	free(s->buckets);
	s->buckets = xcalloc(nb, sizeof(*s->buckets));
	s->nbuckets = nb;
	for (uint32_t i = 0; i < s->nnodes; i++)
		if (s->nodes[i].fd >= 0)
			hash_insert(s, i);
}

static void hash_remove(struct vfs_server *s, uint32_t idx)
{
	struct vfs_node *n = &s->nodes[idx];
	uint32_t *link = &s->buckets[node_hash(n->mnt_id, n->dev, n->ino, s->nbuckets)];

	while (*link && *link != idx + 1)
		link = &s->nodes[*link - 1].next;
	if (*link)
		*link = n->next;
	n->next = 0;
}

struct vfs_node *vfs_node_get(struct vfs_server *s, uint64_t nodeid)
{
	uint32_t idx = NODE_IDX(nodeid);

	if (idx == 0 || idx > s->nnodes)
		return NULL;
	struct vfs_node *n = &s->nodes[idx - 1];
	if (n->fd < 0 || n->gen != NODE_GEN(nodeid))
		return NULL;
	return n;
}

static uint64_t node_id(const struct vfs_server *s, const struct vfs_node *n)
{
	return ((uint64_t)n->gen << 32) | (uint64_t)(n - s->nodes + 1);
}

static void stat_from_statx(struct stat *st, const struct statx *x)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
	st->st_ino = x->stx_ino;
	st->st_mode = x->stx_mode;
	st->st_nlink = x->stx_nlink;
	st->st_uid = x->stx_uid;
	st->st_gid = x->stx_gid;
	st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
	st->st_size = (off_t)x->stx_size;
	st->st_blksize = x->stx_blksize;
	st->st_blocks = (blkcnt_t)x->stx_blocks;
	st->st_atim = (struct timespec){ x->stx_atime.tv_sec, x->stx_atime.tv_nsec };
	st->st_mtim = (struct timespec){ x->stx_mtime.tv_sec, x->stx_mtime.tv_nsec };
	st->st_ctim = (struct timespec){ x->stx_ctime.tv_sec, x->stx_ctime.tv_nsec };
}

int vfs_node_add(struct vfs_server *s, int fd, struct stat *st, uint64_t *nodeid)
{
	struct statx stx;
	uint64_t mnt_id = 0;

	/* One statx for both the node's identity and the guest's attributes. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (stx.stx_mask & STATX_MNT_ID)
		mnt_id = stx.stx_mnt_id;
	if (st)
		stat_from_statx(st, &stx);
	dev_t dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	ino_t ino = stx.stx_ino;

	if (s->nbuckets) {
		for (uint32_t i = s->buckets[node_hash(mnt_id, dev, ino, s->nbuckets)]; i; i = s->nodes[i - 1].next) {
			struct vfs_node *n = &s->nodes[i - 1];
			if (n->ino == ino && n->dev == dev && n->mnt_id == mnt_id) {
				close(fd);
				n->nlookup++;
				*nodeid = node_id(s, n);
				return 0;
			}
		}
	}

	uint32_t idx;
	if (s->free_nodes) {
		idx = s->free_nodes - 1;
		s->free_nodes = s->nodes[idx].next;
	} else {
		if (s->nnodes == UINT32_MAX - 1) {
			close(fd);
			return -ENFILE;
		}
		if (s->nnodes == s->cap_nodes) {
			s->cap_nodes = s->cap_nodes ? s->cap_nodes * 2 : 64;
			s->nodes = xrealloc(s->nodes, s->cap_nodes * sizeof(*s->nodes));
		}
		idx = s->nnodes++;
		s->nodes[idx].gen = 0;
	}
	struct vfs_node *n = &s->nodes[idx];
	/* Slot 0 (the root) keeps generation 0, so node id 1 = FUSE_ROOT_ID;
	 * every other id has a generation >= 1 and never equals it. */
	if (idx != 0 && ++n->gen == 0)
		n->gen = 1;
	n->fd = fd;
	n->nlookup = 1;
	n->mnt_id = mnt_id;
	n->dev = dev;
	n->ino = ino;
	n->type = stx.stx_mode & S_IFMT;
	n->next = 0;
	if (++s->nused > s->nbuckets)
		hash_grow(s);
	else
		hash_insert(s, idx);
	*nodeid = node_id(s, n);
	return 0;
}

static void node_free(struct vfs_server *s, uint32_t idx)
{
	struct vfs_node *n = &s->nodes[idx];

	hash_remove(s, idx);
	close(n->fd);
	n->fd = -1;
	n->nlookup = 0;
	n->next = s->free_nodes;
	s->free_nodes = idx + 1;
	s->nused--;
}

void vfs_node_forget(struct vfs_server *s, uint64_t nodeid, uint64_t count)
{
	struct vfs_node *n = vfs_node_get(s, nodeid);

	/* The root is never forgotten (the kernel holds it for the mount's life). */
	if (!n || n == s->nodes)
		return;
	n->nlookup -= count < n->nlookup ? count : n->nlookup;
	if (n->nlookup == 0)
		node_free(s, (uint32_t)(n - s->nodes));
}

static void node_forget_all(struct vfs_server *s)
{
	for (uint32_t i = 1; i < s->nnodes; i++)
		if (s->nodes[i].fd >= 0)
			node_free(s, i);
}

/* ---- file handles ----------------------------------------------------------- */

struct vfs_file *vfs_file_get(struct vfs_server *s, uint64_t fh, bool dir)
{
	uint32_t idx = NODE_IDX(fh);

	if (idx >= s->nfiles)
		return NULL;
	struct vfs_file *f = &s->files[idx];
	if (f->fd < 0 || f->gen != NODE_GEN(fh) || f->dir != dir)
		return NULL;
	return f;
}

int vfs_file_add(struct vfs_server *s, int fd, bool dir, uint64_t *fh)
{
	uint32_t idx;

	if (s->free_files) {
		idx = s->free_files - 1;
		s->free_files = s->files[idx].next_free;
	} else {
		if (s->nfiles == UINT32_MAX - 1) {
			close(fd);
			return -ENFILE;
		}
		if (s->nfiles == s->cap_files) {
			s->cap_files = s->cap_files ? s->cap_files * 2 : 16;
			s->files = xrealloc(s->files, s->cap_files * sizeof(*s->files));
		}
		idx = s->nfiles++;
		s->files[idx].gen = 0;
	}
	struct vfs_file *f = &s->files[idx];
	if (++f->gen == 0)
		f->gen = 1;
	f->fd = fd;
	f->dir = dir;
	f->dir_off = 0;
	f->next_free = 0;
	*fh = ((uint64_t)f->gen << 32) | idx;
	return 0;
}

static void file_free(struct vfs_server *s, uint32_t idx)
{
	struct vfs_file *f = &s->files[idx];

	close(f->fd);
	f->fd = -1;
	f->next_free = s->free_files;
	s->free_files = idx + 1;
}

void vfs_file_close(struct vfs_server *s, uint64_t fh)
{
	uint32_t idx = NODE_IDX(fh);

	if (idx < s->nfiles && s->files[idx].fd >= 0 && s->files[idx].gen == NODE_GEN(fh))
		file_free(s, idx);
}

static void file_close_all(struct vfs_server *s)
{
	for (uint32_t i = 0; i < s->nfiles; i++)
		if (s->files[i].fd >= 0)
			file_free(s, i);
}

/* ---- INIT, DESTROY, FORGET ---------------------------------------------------- */

static ssize_t op_init(struct vfs_server *s, struct vfs_req *r)
{
	const struct fuse_init_in *in = (const void *)r->arg;

	if (in->major < 7)
		return -EPROTO;
	size_t len = in->major > 7 || in->minor >= 23 ? sizeof(struct fuse_init_out) : FUSE_COMPAT_22_INIT_OUT_SIZE;
	if (len > vfs_reply_room(r))
		return -EINVAL;
	struct fuse_init_out *o = (void *)vfs_reply_buf(s, len);
	o->major = FUSE_KERNEL_VERSION;
	o->minor = FUSE_KERNEL_MINOR_VERSION;
	/* A newer major: answer with ours alone, the kernel retries with 7.x
	 * (fuse_lowlevel's rule). */
	if (in->major > 7)
		return (ssize_t)len;
	/* The virtio-fs driver speaks 7.31+ (Linux 5.4); older is not a guest we boot. */
	if (in->minor < 31)
		return -EPROTO;
	/* A second INIT is a new mount (a guest that rebooted without
	 * DESTROY): its kernel knows none of the old nodes and handles. */
	if (s->inited) {
		file_close_all(s);
		node_forget_all(s);
	}
	s->minor = in->minor;
	/* No POSIX/flock locks (the guest keeps them local), no writeback cache
	 * (writes go through), no DAX, no export (no ".." lookups), no
	 * submounts, no ACLs (default_permissions checks the mode bits). */
	const uint32_t offer = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
			       FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
			       FUSE_CACHE_SYMLINKS;
	o->flags = in->flags & offer;
	o->max_readahead = in->max_readahead;
	o->max_write = VFS_MAX_WRITE;
	o->time_gran = 1;
	o->max_pages = VFS_MAX_PAGES;
	s->inited = true;
	return (ssize_t)len;
}

static ssize_t op_destroy(struct vfs_server *s, struct vfs_req *r)
{
	file_close_all(s);
	node_forget_all(s);
	s->inited = false;
	return 0;
}

static void op_forget(struct vfs_server *s, struct vfs_req *r)
{
	const struct fuse_forget_in *in = (const void *)r->arg;

	if (r->arg_len >= sizeof(*in))
		vfs_node_forget(s, r->h.nodeid, in->nlookup);
}

static void op_batch_forget(struct vfs_server *s, struct vfs_req *r)
{
	const struct fuse_batch_forget_in *in = (const void *)r->arg;

	if (r->arg_len < sizeof(*in))
		return;
	/* count is the guest's: take only the entries really there. */
	size_t have = (r->arg_len - sizeof(*in)) / sizeof(struct fuse_forget_one);
	size_t n = in->count < have ? in->count : have;
	const struct fuse_forget_one *one = (const void *)(r->arg + sizeof(*in));
	for (size_t i = 0; i < n; i++) {
		struct fuse_forget_one f;
		memcpy(&f, &one[i], sizeof(f));
		vfs_node_forget(s, f.nodeid, f.nlookup);
	}
}

/* ---- dispatch ------------------------------------------------------------------ */

struct vfs_op {
	vfs_op_fn fn;
	uint16_t arg;        /* fixed args the op needs at least */
	uint16_t out;        /* reply body it needs room for at least */
};

static const struct vfs_op ops[] = {
	[FUSE_INIT] = { op_init, 16, 0 },
	[FUSE_DESTROY] = { op_destroy, 0, 0 },
	[FUSE_LOOKUP] = { vfs_op_lookup, 0, sizeof(struct fuse_entry_out) },
	[FUSE_GETATTR] = { vfs_op_getattr, sizeof(struct fuse_getattr_in), sizeof(struct fuse_attr_out) },
	[FUSE_SETATTR] = { vfs_op_setattr, sizeof(struct fuse_setattr_in), sizeof(struct fuse_attr_out) },
	[FUSE_READLINK] = { vfs_op_readlink, 0, 0 },
	[FUSE_SYMLINK] = { vfs_op_symlink, 0, sizeof(struct fuse_entry_out) },
	[FUSE_MKNOD] = { vfs_op_mknod, sizeof(struct fuse_mknod_in), sizeof(struct fuse_entry_out) },
	[FUSE_MKDIR] = { vfs_op_mkdir, sizeof(struct fuse_mkdir_in), sizeof(struct fuse_entry_out) },
	[FUSE_UNLINK] = { vfs_op_unlink, 0, 0 },
	[FUSE_RMDIR] = { vfs_op_rmdir, 0, 0 },
	[FUSE_RENAME] = { vfs_op_rename, sizeof(struct fuse_rename_in), 0 },
	[FUSE_RENAME2] = { vfs_op_rename2, sizeof(struct fuse_rename2_in), 0 },
	[FUSE_LINK] = { vfs_op_link, sizeof(struct fuse_link_in), sizeof(struct fuse_entry_out) },
	[FUSE_OPEN] = { vfs_op_open, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out) },
	[FUSE_CREATE] = { vfs_op_create, sizeof(struct fuse_create_in),
			  sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out) },
	[FUSE_READ] = { vfs_op_read, sizeof(struct fuse_read_in), 0 },
	[FUSE_WRITE] = { vfs_op_write, sizeof(struct fuse_write_in), sizeof(struct fuse_write_out) },
	[FUSE_STATFS] = { vfs_op_statfs, 0, sizeof(struct fuse_statfs_out) },
	[FUSE_RELEASE] = { vfs_op_release, sizeof(struct fuse_release_in), 0 },
	[FUSE_FLUSH] = { vfs_op_flush, sizeof(struct fuse_flush_in), 0 },
	[FUSE_FSYNC] = { vfs_op_fsync, sizeof(struct fuse_fsync_in), 0 },
	[FUSE_SETXATTR] = { vfs_op_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE, 0 },
	[FUSE_GETXATTR] = { vfs_op_getxattr, sizeof(struct fuse_getxattr_in), 0 },
	[FUSE_LISTXATTR] = { vfs_op_listxattr, sizeof(struct fuse_getxattr_in), 0 },
	[FUSE_REMOVEXATTR] = { vfs_op_removexattr, 0, 0 },
	[FUSE_OPENDIR] = { vfs_op_opendir, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out) },
	[FUSE_READDIR] = { vfs_op_readdir, sizeof(struct fuse_read_in), 0 },
	[FUSE_READDIRPLUS] = { vfs_op_readdirplus, sizeof(struct fuse_read_in), 0 },
	[FUSE_RELEASEDIR] = { vfs_op_releasedir, sizeof(struct fuse_release_in), 0 },
	[FUSE_FSYNCDIR] = { vfs_op_fsyncdir, sizeof(struct fuse_fsync_in), 0 },
	[FUSE_ACCESS] = { vfs_op_access, sizeof(struct fuse_access_in), 0 },
	[FUSE_FALLOCATE] = { vfs_op_fallocate, sizeof(struct fuse_fallocate_in), 0 },
	[FUSE_LSEEK] = { vfs_op_lseek, sizeof(struct fuse_lseek_in), sizeof(struct fuse_lseek_out) },
	[FUSE_SYNCFS] = { vfs_op_syncfs, 0, 0 },
	/* GETLK/SETLK/SETLKW, IOCTL, POLL, BMAP, COPY_FILE_RANGE, INTERRUPT,
	 * SETUPMAPPING (DAX), TMPFILE: ENOSYS, and the kernel stops asking
	 * (locks are never sent: FUSE_POSIX_LOCKS is not offered). */
};

static ssize_t reply(const struct vfs_req *r, int error, size_t body)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(sizeof(oh) + body),
		.error = error,
		.unique = r->h.unique,
	};

	iov_copy_to(r->out, r->nout, 0, &oh, sizeof(oh));
	return (ssize_t)oh.len;
}

static ssize_t dispatch(struct vfs_server *s, struct vfs_req *r, const struct iovec *in, int nin, size_t in_len)
{
	uint32_t op = r->h.opcode;

	if (r->h.len != in_len || r->h.len < sizeof(r->h))
		return -EINVAL;
	size_t args = r->h.len - sizeof(r->h);
	size_t ext = (size_t)r->h.total_extlen * 8;
	if (ext > args)
		return -EINVAL;
	args -= ext;     /* extensions (security context...) are never negotiated: ignored */

	if (op == FUSE_WRITE) {
		if (args < sizeof(struct fuse_write_in))
			return -EINVAL;
		iov_copy_from(in, nin, sizeof(r->h), s->argbuf, sizeof(struct fuse_write_in));
		r->arg_len = sizeof(struct fuse_write_in);
		r->payload_len = args - r->arg_len;
		if (r->payload_len > VFS_MAX_WRITE)
			return -EINVAL;
		size_t off = sizeof(r->h) + r->arg_len;
		int n = vfs_iov_slice(in, nin, off, r->payload_len, r->payload, VFS_MAX_IOV);
		if (n == -E2BIG) {
			/* Scattered finer than pages: copy it once. */
			if (!s->wbuf)
				s->wbuf = xmalloc(VFS_MAX_WRITE);
			iov_copy_from(in, nin, off, s->wbuf, r->payload_len);
			r->payload[0] = (struct iovec){ s->wbuf, r->payload_len };
			n = 1;
		}
		if (n < 0)
			return n;
		r->npayload = n;
	} else {
		if (args > VFS_MAX_ARGS)
			return -EINVAL;
		iov_copy_from(in, nin, sizeof(r->h), s->argbuf, args);
		r->arg_len = args;
	}
	s->argbuf[r->arg_len] = '\0';
	r->arg = s->argbuf;

	if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET) {
		if (op == FUSE_FORGET)
			op_forget(s, r);
		else
			op_batch_forget(s, r);
		return 0;
	}
	if (op >= ARRAY_SIZE(ops) || !ops[op].fn)
		return -ENOSYS;
	if (!s->inited && op != FUSE_INIT)
		return -EIO;
	if (r->arg_len < ops[op].arg || vfs_reply_room(r) < ops[op].out)
		return -EINVAL;
	return ops[op].fn(s, r);
}

ssize_t vfs_handle(struct vfs_server *s, const struct iovec *in, int nin, const struct iovec *out, int nout)
{
	struct vfs_req r = { .out = out, .nout = nout > 0 ? nout : 0 };
	size_t in_len = 0;

	if (nin < 0 || !iov_total(in, nin, &in_len))
		in_len = 0;
	if (!iov_total(out, r.nout, &r.out_cap))
		r.out_cap = SIZE_MAX;
	if (in_len >= sizeof(r.h))
		iov_copy_from(in, nin, 0, &r.h, sizeof(r.h));
	else
		memset(&r.h, 0, sizeof(r.h));
	bool noreply = in_len >= sizeof(r.h) && (r.h.opcode == FUSE_FORGET || r.h.opcode == FUSE_BATCH_FORGET);
	/* Nothing runs for a request whose answer could not be delivered. */
	if (!noreply && r.out_cap < sizeof(struct fuse_out_header))
		return -EINVAL;
	if (in_len < sizeof(r.h))
		return reply(&r, -EINVAL, 0);

	pthread_mutex_lock(&s->lock);
	ssize_t n = dispatch(s, &r, in, nin, in_len);
	if (noreply) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (n >= 0 && (size_t)n > vfs_reply_room(&r))
		n = -EIO;    /* an op that overran its room: a bug, never the guest's memory */
	if (n > 0 && !r.direct)
		iov_copy_to(out, r.nout, sizeof(struct fuse_out_header), s->scratch, (size_t)n);
	pthread_mutex_unlock(&s->lock);
	return n < 0 ? reply(&r, (int)n, 0) : reply(&r, 0, (size_t)n);
}

/* ---- lifetime ------------------------------------------------------------------ */

int vfs_server_new(int root_dirfd, struct vfs_server **out, struct hull_err **err)
{
	_cleanup_close_ int root = root_dirfd;
	_cleanup_close_ int proc = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int rfd = -1;
	struct vfs_server *s;
	uint64_t id;

	if (proc < 0)
		return hull_err_make(err, errno, "open /proc/self/fd");
	rfd = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return hull_err_make(err, errno, "open the shared directory");

	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->argbuf = xmalloc(VFS_MAX_ARGS + 1);
	s->proc_fd = take_fd(&proc);
	int r = vfs_node_add(s, take_fd(&rfd), NULL, &id);
	if (r < 0) {
		vfs_server_free(s);
		return hull_err_make(err, -r, "stat the shared directory");
	}
	*out = s;
	return 0;
}

void vfs_server_free(struct vfs_server *s)
{
	if (!s)
		return;
	file_close_all(s);
	for (uint32_t i = 0; i < s->nnodes; i++)
		if (s->nodes[i].fd >= 0)
			close(s->nodes[i].fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->nodes);
	free(s->buckets);
	free(s->files);
	free(s->scratch);
	free(s->argbuf);
	free(s->wbuf);
	free(s);
}
