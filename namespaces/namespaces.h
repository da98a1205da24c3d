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
 *
 * Mounts use the new mount API: each one is built detached (open_tree clone
 * or fsopen/fsmount), gets its flags, and is attached with move_mount() onto
 * the resolved O_PATH fd.  No phase needs /proc inside the container.
 *
 * Ordering for a container init (what hull create is expected to do):
 *   parent: clone/unshare the child with ns_new_flags(spec) (user namespace
 *           first); ns_write_id_maps(child) once it has unshared CLONE_NEWUSER;
 *   child:  ns_join_paths(spec, skip) -> unshare the rest -> (time ns:
 *           ns_write_time_offsets before the fork that enters it) -> fork so
 *           that pid 1 of a new pid namespace does the mounts (procfs must be
 *           mounted from inside the pid namespace) ->
 *           ns_rootfs_mount -> ns_rootfs_pivot -> open /dev/ptmx of the
 *           container's devpts and ns_bind_console(slave) if process.terminal
 *           -> ns_rootfs_finalize -> exec.
 *   A relative bind source is resolved against the current directory: chdir
 *   to the bundle before ns_rootfs_mount, as runc does.
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
 * only when the caller is unprivileged, as runc does).  Call after PID has
 * unshared CLONE_NEWUSER, from its parent user namespace.  PID is numbered in
 * the caller's pid namespace even if /proc belongs to an older one. */
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

/* Copy the tree under src_dirfd into the empty dst_dirfd (copyup.c): files,
 * directories, symlinks (copied, never followed) and device nodes, with their
 * modes and owners.  one_fs: leave out entries on another file system than
 * src_dirfd (mount points).  tmpcopyup, and the guest leaving its initramfs. */
int ns_copy_tree(int src_dirfd, int dst_dirfd, bool one_fs, struct hull_err **err);

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
/* Parse an OCI options array (runc's vocabulary: flags, propagation, r*
 * recursive attributes, idmap/ridmap, tmpcopyup); anything else becomes fs
 * data ("size=64k").  The last of conflicting options wins.  out->data is
 * malloc'd: release with ns_mount_opts_clear(). */
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
	const int *bind_fds;        /* per spec mount, a detached tree of its bind source made
				     * before the user namespace (ns_open_bind_sources), or -1; NULL: none */
};

/* Before a new user namespace, as runc: clone the tree of every bind
 * source (no idmap) with open_tree, so that a source in a directory the
 * namespace's root cannot search still mounts.  The result (malloc'd, one
 * fd per spec mount, -1 where none; close-on-exec) goes into
 * ns_rootfs.bind_fds.  It cannot fail: a source that cannot be opened is
 * left to ns_rootfs_mount's error, which names the mount. */
int *ns_open_bind_sources(const struct oci_spec *spec);

/* Phase 1, inside the container's new mount namespace, before pivot: set
 * propagation of / (rootfsPropagation, default rslave as runc), bind the rootfs
 * onto itself, perform spec mounts in order, create default devices and
 * linux.devices, /dev symlinks (fd, stdin, stdout, stderr, ptmx, core).
 * Devices are skipped when the spec bind-mounts /dev (runc needsSetupDev).
 * In a user namespace (in_userns) sysfs, mqueue and cgroup mounts the kernel
 * refuses fall back to recursive binds of the host's /sys, /dev/mqueue and
 * (read-only) /sys/fs/cgroup; "cgroup" is runc's per-controller v1 layout
 * on a host with v1 hierarchies (cgroupfs.c), cgroup2 on a pure v2 host.  Call
 * ns_validate_spec() first for field-named errors before anything exists. */
int ns_rootfs_mount(const struct ns_rootfs *r, struct hull_err **err);
/* Phase 2: pivot_root(".", ".") into the rootfs and detach the old root, or
 * (no_pivot) detach the host's procfs/sysfs mounts, MS_MOVE the rootfs onto
 * "/" and chroot, as runc's msMoveRoot; then chdir("/"). */
int ns_rootfs_pivot(const struct ns_rootfs *r, struct hull_err **err);
/* Phase 3, after pivot (and after the console is bound): maskedPaths (a
 * directory gets a read-only tmpfs, anything else the container's /dev/null,
 * which must be the 1:3 device; missing paths are skipped), readonlyPaths
 * (recursive read-only bind onto itself), root.readonly (the root mount only,
 * keeping its other flags), final rootfsPropagation on "/". */
int ns_rootfs_finalize(const struct ns_rootfs *r, struct hull_err **err);

/* Bind the pty slave `slave_fd` over /dev/console (after pivot; creates an
 * empty /dev/console first).  The slave must come from a devpts mounted in
 * the caller's mount namespace (the container's /dev/pts): the kernel refuses
 * to bind a mount of another namespace.  Does not consume slave_fd. */
int ns_bind_console(int slave_fd, struct hull_err **err);

/* A bind mount: type "bind", or a "bind"/"rbind" option (runc's rule). */
bool ns_mount_is_bind(const struct oci_mount *m);
/* The i-th of the devices every container gets (/dev/null, /dev/zero, ...);
 * NULL past the end. */
const char *ns_default_device(size_t i);

#endif
