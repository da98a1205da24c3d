/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtiofs/virtiofs.h: the FUSE file server behind the virtio-fs device
 * (`hull virtiofsd`), and the confinement of the process that runs it.
 *
 * The guest is hostile.  Every request is parsed against the bytes really
 * present; every name it sends is one path component, resolved with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * relative to the O_PATH fd of a node the server handed out, so no lookup,
 * `..`, symlink or rename can reach a file outside the served root.  Node
 * ids and file handles are indexes into the server's own tables (with a
 * generation), never host pointers: a stale or forged one gets an error
 * reply.
 */
#ifndef HULL_VIRTIOFS_H
#define HULL_VIRTIOFS_H

#include <sys/uio.h>

#include "common/common.h"

struct vfs_server;

/* A server for the tree below root_dirfd (consumed, even on failure; any
 * fd of a directory, O_PATH is enough).  It also keeps an fd of
 * /proc/self/fd (reopening a node's O_PATH fd for I/O goes through it), so
 * /proc must be visible when it is called. */
int vfs_server_new(int root_dirfd, struct vfs_server **out, struct hull_err **err);
void vfs_server_free(struct vfs_server *s);

/* One FUSE request.  in: the driver->device buffers (fuse_in_header, args,
 * write payload); out: the device->driver buffers (fuse_out_header, reply).
 * Returns the bytes written into out (>= sizeof(struct fuse_out_header)), 0
 * for a request that has no reply (FORGET, BATCH_FORGET), or < 0 only when
 * `out` cannot even hold a fuse_out_header.  A malformed request gets an
 * error reply, never a crash.  Calls are serialised by a mutex inside. */
ssize_t vfs_handle(struct vfs_server *s, const struct iovec *in, int nin, const struct iovec *out, int nout);

/* ---- the server process (`hull virtiofsd`) ------------------------------- */

struct vfs_mount {
	const char *name;        /* one path component: the entry in the served root */
	const char *source;      /* absolute path of a host file or directory */
	bool readonly;
};

/* Parse one `--mount NAME=SRC[,ro]` argument; the strings point into *buf
 * (malloc'd, the caller frees it).  NAME is one component, not "rootfs".
 * Errors name the part ("SRC \"x\" must be an absolute path"); the caller
 * adds the option. */
int vfs_mount_parse(const char *arg, struct vfs_mount *m, char **buf, struct hull_err **err);

struct vfs_confine_opts {
	const char *shared_dir;          /* served as "rootfs" */
	const struct vfs_mount *mounts;  /* served as their names */
	size_t nmounts;
	/* served as "pod" (NULL: none), read-only itself: a pod's directory
	 * (docs/vm-containers.md, "A pod in one VM"), a shared mount of the
	 * host's whose later submounts (the members' rootfs and bind mounts,
	 * nodev,nosuid) show here: the clone is its slave. */
	const char *pod_dir;
	const int *keep_fds;             /* fds to keep open (the vhost-user socket, stderr) */
	size_t nkeep;
};

/* Confine the calling process (root, single-threaded: the seccomp filter
 * covers the threads there are, and later ones need more) for serving:
 * a private mount namespace whose root is a read-only tmpfs holding /proc
 * (this process's view, for the /proc/self/fd reopen) and /share (rootfs =
 * bind of shared_dir, one entry per mount, all nodev,nosuid), pivoted into
 * with the host's tree detached; PR_SET_PDEATHSIG SIGKILL; umask 0 (the
 * guest applied its own); every fd but keep_fds closed; capabilities cut to
 * file serving's; a seccomp allowlist (anything else kills the process).
 * *root_fd: an O_PATH fd of /share, for vfs_server_new. */
int vfs_confine_process(const struct vfs_confine_opts *o, int *root_fd, struct hull_err **err);

#endif
