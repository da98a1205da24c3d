/* SPDX-License-Identifier: Apache-2.0 */
/*
 * namespaces/internal.h: helpers shared by the files of namespaces/ (and its
 * unit tests).  Other folders include only namespaces/namespaces.h.
 */
#ifndef HULL_NAMESPACES_INTERNAL_H
#define HULL_NAMESPACES_INTERNAL_H

#include "namespaces/namespaces.h"

#include <sys/stat.h>

/* ---- ns.c ---------------------------------------------------------------- */

/* "container host size\n" lines for /proc/PID/{uid,gid}_map; malloc'd. */
char *id_map_text(const struct oci_id_mapping *m, size_t n);
/* O_PATH fd of /proc/PID for `pid` as the caller's pid namespace numbers it,
 * even when /proc belongs to an older pid namespace; *name gets the path. */
int proc_pid_open(pid_t pid, char **name, struct hull_err **err);

/* ---- resolve.c ----------------------------------------------------------- */

/* Tests set this to exercise the O_PATH component walk that replaces
 * openat2() on kernels without it (< 5.6). */
extern bool ns_resolve_force_fallback;
/* Resolve `path` inside root_fd; returns an fd or -errno (no error object:
 * callers decide whether ENOENT is an error). */
int resolve_in_root(int root_fd, const char *path, int flags, mode_t mode);
/* Lexically cleaned absolute path ("/a//b/../c" -> "/a/c"); malloc'd. */
char *path_clean(const char *path);

/* ---- mountopts.c ----------------------------------------------------------- */

/* MS_SHARED/... (+MS_REC) for "shared", "rslave", ...; -1 if unknown. */
long propagation_from_name(const char *name);
/* Parse with a caller-chosen field prefix for errors ("mounts[3].options"). */
int mount_opts_parse_at(char *const *options, size_t n, const char *what, struct ns_mount_opts *out,
			struct hull_err **err);
/* MS_* mount flags -> MOUNT_ATTR_* (per-mount flags only; superblock flags
 * such as MS_SYNCHRONOUS have no per-mount equivalent). */
void mount_attr_from_ms(unsigned long set, unsigned long clear, uint64_t *attr_set, uint64_t *attr_clr);
/* True when the data options contain "key=" (e.g. "mode="). */
bool mount_opts_has_data_key(const struct ns_mount_opts *o, const char *key);

/* ---- mount.c --------------------------------------------------------------- */

/* All mounts go through the new mount API: the target is always an already
 * resolved O_PATH fd (dest_fd) and the returned fd is the new mount itself,
 * so nothing is ever re-resolved through a string path. */

/* Clone src (rec: with submounts), apply per-mount flags of `o` to the top
 * mount, attach it on dest_fd.  Returns the attached mount fd. */
int mnt_bind(int src_dirfd, const char *src, const struct ns_mount_opts *o, int dest_fd,
	     struct hull_err **err);
/* New filesystem of `type` with `o` (flags + data) attached on dest_fd. */
int mnt_new_fs(const char *type, const char *source, const struct ns_mount_opts *o, int dest_fd,
	       struct hull_err **err);
/* Apply propagation (MS_SHARED.. | MS_REC) to the mount `mfd` refers to. */
int mnt_set_propagation(int mfd, unsigned long prop, struct hull_err **err);
/* mount_setattr() wrapper; recursive with AT_RECURSIVE. */
int mnt_setattr(int mfd, bool recursive, uint64_t set, uint64_t clr, struct hull_err **err);
/* Perform spec mount m (index idx) inside root_fd. */
int mount_spec_entry(int root_fd, const struct ns_rootfs *r, size_t idx, struct hull_err **err);
/* After pivot: make read-only the read-only /dev and tmpfs mounts that
 * mount_spec_entry left writable to fill them (runc finalizeRootfs). */
int mount_spec_finalize_ro(int root_fd, const struct oci_spec *spec, struct hull_err **err);

/* ---- rootfs.c / cgroupfs.c ------------------------------------------------ */

/* The v1 per-controller layout of a `cgroup` mount m on dest (cgroupfs.c);
 * 1 without any v1 hierarchy (a pure v2 host), having mounted nothing. */
int mount_cgroup_v1(const struct ns_rootfs *r, const struct oci_mount *m, const struct ns_mount_opts *o,
		    int dest, struct hull_err **err);

/* ---- copyup.c / idmap.c ---------------------------------------------------- */

/* A user namespace fd carrying the given mappings (idmapped mounts). */
int userns_fd_for_maps(const struct oci_id_mapping *uids, size_t n_uids,
		       const struct oci_id_mapping *gids, size_t n_gids, struct hull_err **err);

/* ---- devices.c ------------------------------------------------------------- */

/* Default devices, linux.devices and the /dev symlinks, under root_fd. */
int devices_create(int root_fd, const struct ns_rootfs *r, struct hull_err **err);
/* False when the spec bind-mounts /dev from the host (runc: needsSetupDev). */
bool devices_need_setup(const struct oci_spec *spec);

#endif
