/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtiofs/internal.h: private to virtiofs/ (server.c: requests, tables,
 * dispatch; entry.c, file.c, dir.c, xattr.c: the ops; confine.c).
 */
#ifndef HULL_VIRTIOFS_INTERNAL_H
#define HULL_VIRTIOFS_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>
#include <sys/stat.h>

#include "virtiofs/virtiofs.h"

/* What the server offers in INIT.  Requests and replies are bounded by these
 * (plus the out buffers' real size). */
#define VFS_MAX_WRITE   (1u << 20)
#define VFS_MAX_PAGES   256u
/* Largest reply body (READ, READDIR, xattr lists). */
#define VFS_MAX_REPLY   VFS_MAX_WRITE
/* Iovecs of a READ or WRITE payload: a page each and then some. */
#define VFS_MAX_IOV     (VFS_MAX_PAGES + 8)
/* Largest request without a payload: SETXATTR's value (XATTR_SIZE_MAX) +
 * its name, or SYMLINK's target (PATH_MAX) + name. */
#define VFS_MAX_ARGS    (65536u + 4096u)
#define VFS_XATTR_MAX   65536u
/* Attribute and entry cache time the guest is told (seconds): the tree is
 * the guest's alone, but the host may still touch it (hull writes files
 * into the bundle), so not forever. */
#define VFS_TTL         1

struct vfs_node {
	int fd;              /* O_PATH|O_NOFOLLOW; -1 = free slot */
	uint32_t gen;        /* bumped on reuse: a stale node id no longer matches */
	uint32_t next;       /* hash chain (idx + 1) or free list; 0 = end */
	uint64_t nlookup;    /* the guest's lookup count; FORGET drops it */
	uint64_t mnt_id;     /* (mnt_id, dev, ino): the same file under a ro and */
	dev_t dev;           /* a rw bind are two nodes, so a lookup through the */
	ino_t ino;           /* ro one never hands out the rw one's fd */
	mode_t type;         /* S_IFMT: an inode never changes type */
};

struct vfs_file {
	int fd;              /* -1 = free slot */
	uint32_t gen;
	uint32_t next_free;  /* idx + 1; 0 = end */
	bool dir;
	uint64_t dir_off;    /* dir: where the fd's position is (d_off cookie) */
};

struct vfs_server {
	pthread_mutex_t lock;
	int proc_fd;         /* /proc/self/fd: reopen a node fd for I/O */
	bool inited;
	uint32_t minor;      /* the guest's FUSE minor version */

	struct vfs_node *nodes;
	uint32_t nnodes, cap_nodes, free_nodes;   /* free_nodes: idx + 1 */
	uint32_t *buckets;   /* idx + 1; 0 = empty */
	uint32_t nbuckets, nused;

	struct vfs_file *files;
	uint32_t nfiles, cap_files, free_files;

	uint8_t *scratch;    /* reply body */
	size_t scratch_cap;
	uint8_t *argbuf;     /* the request's args, linearised: VFS_MAX_ARGS + 1 */
	uint8_t *wbuf;       /* a WRITE payload in more pieces than VFS_MAX_IOV */
};

/* One request, parsed. */
struct vfs_req {
	struct fuse_in_header h;
	const uint8_t *arg;  /* the args (linearised; NUL after the last byte) */
	size_t arg_len;
	struct iovec payload[VFS_MAX_IOV];  /* WRITE: the data, a slice of the in iovecs */
	int npayload;
	size_t payload_len;
	const struct iovec *out;    /* the out iovecs, and their byte count */
	int nout;
	size_t out_cap;
	bool direct;         /* the handler put its body into out itself (READ) */
};

typedef ssize_t (*vfs_op_fn)(struct vfs_server *s, struct vfs_req *r);

/* server.c */
uint8_t *vfs_reply_buf(struct vfs_server *s, size_t len);
size_t vfs_reply_room(const struct vfs_req *r);
/* The slice [off, off + len) of an iovec array into dst (at most ndst entries). */
int vfs_iov_slice(const struct iovec *src, int nsrc, size_t off, size_t len, struct iovec *dst, int ndst);
/* The next NUL-terminated string of r's args at *pos; checked to be one
 * path component when `component`.  -EINVAL when unterminated. */
int vfs_arg_name(const struct vfs_req *r, size_t *pos, bool component, const char **name);

struct vfs_node *vfs_node_get(struct vfs_server *s, uint64_t nodeid);
/* The node for an O_PATH fd (consumed): an existing one (nlookup + 1) or a
 * new; *st (if non-NULL) gets the file's attributes. */
int vfs_node_add(struct vfs_server *s, int fd, struct stat *st, uint64_t *nodeid);
void vfs_node_forget(struct vfs_server *s, uint64_t nodeid, uint64_t n);
struct vfs_file *vfs_file_get(struct vfs_server *s, uint64_t fh, bool dir);
int vfs_file_add(struct vfs_server *s, int fd, bool dir, uint64_t *fh);
void vfs_file_close(struct vfs_server *s, uint64_t fh);

/* entry.c */
int vfs_open_child(int dirfd, const char *name, int flags, mode_t mode);
int vfs_stat_fd(int fd, struct stat *st);
void vfs_fill_attr(struct fuse_attr *a, const struct stat *st);
/* LOOKUP's work: name in parent -> entry (nlookup + 1). */
int vfs_do_lookup(struct vfs_server *s, int parent_fd, const char *name, struct fuse_entry_out *e);
/* A new entry (e, name in pfd) goes to the request's uid/gid (the
 * parent's group when it is set-group-ID); undone (unlinked, forgotten) on
 * failure. */
int vfs_give_to_caller(struct vfs_server *s, const struct vfs_req *r, int pfd, const char *name,
		       const struct fuse_entry_out *e, bool dir);

/* procfd.c: /proc/self/fd/N of one of our fds (the inode itself); -errno. */
int vfs_proc_open(struct vfs_server *s, int fd, int flags);
int vfs_proc_chmod(struct vfs_server *s, int fd, mode_t mode);
int vfs_proc_link(struct vfs_server *s, int fd, int dirfd, const char *name);
ssize_t vfs_op_lookup(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_getattr(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_setattr(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_readlink(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_symlink(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_mknod(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_mkdir(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_unlink(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_rmdir(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_rename(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_rename2(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_link(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_statfs(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_access(struct vfs_server *s, struct vfs_req *r);

/* file.c */
ssize_t vfs_op_open(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_create(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_read(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_write(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_release(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_flush(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_fsync(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_fallocate(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_lseek(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_syncfs(struct vfs_server *s, struct vfs_req *r);

/* dir.c */
ssize_t vfs_op_opendir(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_readdir(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_readdirplus(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_releasedir(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_fsyncdir(struct vfs_server *s, struct vfs_req *r);

/* xattr.c */
ssize_t vfs_op_getxattr(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_setxattr(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_listxattr(struct vfs_server *s, struct vfs_req *r);
ssize_t vfs_op_removexattr(struct vfs_server *s, struct vfs_req *r);

#endif
