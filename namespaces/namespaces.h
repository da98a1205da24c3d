/* SPDX-License-Identifier: Apache-2.0 */
/*
 * namespaces/namespaces.h: namespaces, rootfs, mounts and devices.
 *
 * One library for both the runtime (hull create) and, later, the in-VM guest
 * agent: nothing here knows about state dirs, the CLI or the sync protocol.
 *
 * Hostile rootfs: every destination (mount target, device node, masked path,
 * symlink) is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) and mounted through the resolved fd, so a symlink
 * in the image can never redirect a mount onto the host.
 */
#ifndef HULL_NAMESPACES_H
#define HULL_NAMESPACES_H

#include "common/common.h"
#include "oci/oci.h"

/* ---- namespaces ---------------------------------------------------------- */

/* CLONE_* flags of the namespaces the spec asks to create (path == NULL). */
int ns_new_flags(const struct oci_spec *spec);
/* setns() into every namespace the spec gives a path for, user namespace first.
 * `skip` is a CLONE_* mask of types not to join here (e.g. CLONE_NEWPID handled
 * by the caller).  Errors name the namespace type and path. */
int ns_join_paths(const struct oci_spec *spec, int skip, struct hull_err **err);
/* Join the namespaces of a running process (exec): pidfd-based setns of all
 * types in `flags` at once. */
int ns_join_pid(pid_t pid, int pidfd, int flags, struct hull_err **err);
/* Write /proc/PID/{uid_map,gid_map} from the spec (writes "deny" to setgroups
 * only when the caller is unprivileged, as runc does). */
int ns_write_id_maps(pid_t pid, const struct oci_spec *spec, struct hull_err **err);
/* Write /proc/self/timens_offsets (after unshare(CLONE_NEWTIME), before fork). */
int ns_write_time_offsets(const struct oci_spec *spec, struct hull_err **err);

/* ---- paths inside the rootfs --------------------------------------------- */

/* Open `path` (absolute or relative, interpreted inside root_fd) without
 * leaving root_fd: RESOLVE_IN_ROOT semantics.  flags as for openat. */
int ns_open_in_root(int root_fd, const char *path, int flags, mode_t mode, struct hull_err **err);
/* mkdir -p inside root_fd (same resolution rules); returns an O_PATH fd of the
 * final directory.  If `file` is true the last component is created as an
 * empty regular file instead (bind mounts of files). */
int ns_mkdir_p_in_root(int root_fd, const char *path, mode_t mode, bool file, struct hull_err **err);

/* ---- mount options -------------------------------------------------------- */

struct ns_mount_opts {
	unsigned long flags;        /* MS_* to set */
	unsigned long clear;        /* MS_* explicitly cleared ("rw", "suid", ...) */
	unsigned long propagation;  /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (+MS_REC) */
	bool bind, rec;             /* "bind" / "rbind" */
	bool idmap, ridmap;
	bool tmpcopyup;             /* "tmpcopyup": copy the shadowed directory into the tmpfs */
	unsigned int attr_set, attr_clr; /* MOUNT_ATTR_* for recursive ro etc. (rro, rnosuid...) */
	char *data;                 /* comma-joined filesystem-specific options, or NULL */
};
/* Parse an OCI options array; unknown flag-like options become fs data. */
int ns_mount_opts_parse(char *const *options, size_t n, struct ns_mount_opts *out, struct hull_err **err);
void ns_mount_opts_clear(struct ns_mount_opts *o);
/* Check every spec mount (destination absolute, options valid, type known)
 * before anything is created: the error names "mounts[3].options[1]". */
int ns_validate_spec(const struct oci_spec *spec, struct hull_err **err);

/* ---- rootfs --------------------------------------------------------------- */

struct ns_rootfs {
	const struct oci_spec *spec;
	const char *rootfs;         /* absolute host path of the container rootfs */
	bool no_pivot;              /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
	bool in_userns;             /* new user namespace: bind host devices instead of mknod */
};

/* Phase 1, inside the container's new mount namespace, before pivot: set
 * propagation of / (rootfsPropagation, default rslave as runc), bind the rootfs
 * onto itself, perform spec mounts in order, create default devices and
 * linux.devices, /dev symlinks (fd, stdin, stdout, stderr, ptmx, core). */
int ns_rootfs_mount(const struct ns_rootfs *r, struct hull_err **err);
/* Phase 2: pivot_root into the rootfs (or move + chroot), chdir("/"). */
int ns_rootfs_pivot(const struct ns_rootfs *r, struct hull_err **err);
/* Phase 3, after pivot (and after the console is bound): maskedPaths,
 * readonlyPaths, readonly root, final propagation. */
int ns_rootfs_finalize(const struct ns_rootfs *r, struct hull_err **err);

/* Bind the pty slave `slave_fd` over /dev/console (after pivot). */
int ns_bind_console(int slave_fd, struct hull_err **err);

#endif
