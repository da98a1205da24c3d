/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Spec mounts through the new mount API.
 *
 * Every mount is built detached (open_tree(OPEN_TREE_CLONE) for binds,
 * fsopen/fsconfig/fsmount for filesystems), gets its flags while nothing
 * can see it, and is attached with move_mount() onto the destination fd that
 * ns_mkdir_p_in_root() resolved inside the rootfs.  The fd we keep is the
 * new mount itself, so propagation and recursive attributes are applied to
 * it without resolving any path again, and no /proc is needed (finalize runs
 * after pivot_root, when the container may have no /proc at all).
 */
#include "namespaces/internal.h"

#include <sys/mount.h>
#include <sys/stat.h>

/* Superblock flags fsconfig(FSCONFIG_SET_FLAG) understands for every fs
 * (the kernel's common_set_sb_flag); MS_SILENT/MS_I_VERSION have no fsconfig
 * spelling and are dropped, as they only tune messages/NFS change counters. */
static const struct { unsigned long ms; const char *name; } sb_flag_table[] = {
	{ MS_RDONLY,      "ro" },
	{ MS_SYNCHRONOUS, "sync" },
	{ MS_DIRSYNC,     "dirsync" },
	{ MS_LAZYTIME,    "lazytime" },
	{ MS_MANDLOCK,    "mand" },
	{ MS_POSIXACL,    "posixacl" },
};

int mnt_setattr(int mfd, bool recursive, uint64_t set, uint64_t clr, struct hull_err **err)
{
	struct mount_attr a = { .attr_set = set, .attr_clr = clr };

	if (set == 0 && clr == 0)
		return 0;
	if (mount_setattr(mfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0)
		return hull_err_make(err, errno, "mount_setattr%s", recursive ? " (recursive)" : "");
	return 0;
}

int mnt_set_propagation(int mfd, unsigned long prop, struct hull_err **err)
{
	struct mount_attr a = { .propagation = prop & ~(unsigned long)MS_REC };

	if (a.propagation == 0)
		return 0;
	if (mount_setattr(mfd, "", AT_EMPTY_PATH | ((prop & MS_REC) ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0)
		return hull_err_make(err, errno, "set mount propagation");
	return 0;
}

/* Per-mount flags on the top mount only: runc's "rbind,ro" is not recursive
 * (that is what "rro" is for).  Flags a user namespace locked on the source
 * cannot be cleared; as runc, keep them rather than fail. */
static int apply_top_flags(int mfd, const struct ns_mount_opts *o, struct hull_err **err)
{
	uint64_t set, clr;
	struct mount_attr a;

	mount_attr_from_ms(o->flags, o->clear, &set, &clr);
	if (set == 0 && clr == 0)
		return 0;
	a = (struct mount_attr){ .attr_set = set, .attr_clr = clr };
	if (mount_setattr(mfd, "", AT_EMPTY_PATH, &a, sizeof(a)) == 0)
		return 0;
	if (errno == EPERM && (clr & ~(uint64_t)MOUNT_ATTR__ATIME)) {
		a = (struct mount_attr){ .attr_set = set, .attr_clr = clr & MOUNT_ATTR__ATIME };
		if (mount_setattr(mfd, "", AT_EMPTY_PATH, &a, sizeof(a)) == 0)
			return 0;
	}
	return hull_err_make(err, errno, "set mount flags");
}

static int attach(int mfd, int dest_fd, const struct ns_mount_opts *o, struct hull_err **err)
{
	int r = mnt_setattr(mfd, true, o->attr_set, o->attr_clr, err);

	if (r < 0)
		return r;
	if (move_mount(mfd, "", dest_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hull_err_make(err, errno, "move_mount");
	/* Propagation only means something once the mount has a peer group. */
	return mnt_set_propagation(mfd, o->propagation, err);
}

/* A detached tree (open_tree) gets the top flags and goes onto dest_fd. */
static int attach_tree(int tree, const struct ns_mount_opts *o, int dest_fd, struct hull_err **err)
{
	int r = apply_top_flags(tree, o, err);

	return r == 0 ? attach(tree, dest_fd, o, err) : r;
}

/* mnt_bind, with the clone idmapped through userns_fd (>= 0) first. */
static int mnt_bind_idmapped(int src_dirfd, const char *src, const struct ns_mount_opts *o, int userns_fd,
			     int dest_fd, struct hull_err **err)
{
	unsigned int fl = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o->rec ? AT_RECURSIVE : 0);
	_cleanup_close_ int tree = -1;
	int r;

	if (src == NULL || *src == '\0') {
		src = "";
		fl |= AT_EMPTY_PATH;
	}
	tree = open_tree(src_dirfd, src, fl);
	if (tree < 0)
		return hull_err_make(err, errno, "bind %s: open_tree", *src ? src : "fd");
	if (userns_fd >= 0) {
		struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
		if (mount_setattr(tree, "", AT_EMPTY_PATH | (o->ridmap ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0)
			return hull_err_make(err, errno, "bind %s: idmap", src);
	}
	r = attach_tree(tree, o, dest_fd, err);
	if (r < 0)
		return hull_err_wrap(err, "bind %s", *src ? src : "fd");
	return take_fd(&tree);
}

int mnt_bind(int src_dirfd, const char *src, const struct ns_mount_opts *o, int dest_fd,
	     struct hull_err **err)
{
	return mnt_bind_idmapped(src_dirfd, src, o, -1, dest_fd, err);
}

/* The last error the filesystem logged on its context fd ("Bad value for 'size'"). */
static void fs_log_last(int fsfd, char *buf, size_t sz)
{
	char msg[512];
	ssize_t n;

	buf[0] = '\0';
	while ((n = read(fsfd, msg, sizeof(msg) - 1)) > 0) {
		msg[n] = '\0';
		if (msg[0] == 'e' && msg[1] == ' ') {
			size_t len = strcspn(msg + 2, "\n");
			len = len < sz - 1 ? len : sz - 1;
			memcpy(buf, msg + 2, len);
			buf[len] = '\0';
		}
	}
}

static int fs_config(int fsfd, const char *type, const char *source, const struct ns_mount_opts *o)
{
	_cleanup_free_ char *data = xstrdup(o->data);
	char *save = NULL;

	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source ? source : type, 0) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(sb_flag_table); i++)
		if ((o->flags & sb_flag_table[i].ms) &&
		    fsconfig(fsfd, FSCONFIG_SET_FLAG, sb_flag_table[i].name, NULL, 0) < 0)
			return -1;
	for (char *kv = data ? strtok_r(data, ",", &save) : NULL; kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		int r;
		if (eq) {
			*eq = '\0';
			r = fsconfig(fsfd, FSCONFIG_SET_STRING, kv, eq + 1, 0);
		} else {
			r = fsconfig(fsfd, FSCONFIG_SET_FLAG, kv, NULL, 0);
		}
		if (r < 0)
			return -1;
	}
	return fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
}

/* mnt_new_fs, calling prepare(mfd) on the still detached mount (tmpcopyup). */
static int mnt_new_fs_prepared(const char *type, const char *source, const struct ns_mount_opts *o,
			       int dest_fd, int (*prepare)(int mfd, void *arg, struct hull_err **err),
			       void *arg, struct hull_err **err)
{
	_cleanup_close_ int fsfd = -1, mfd = -1;
	uint64_t set, clr;
	char log[256];
	int r;

	fsfd = fsopen(type, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return hull_err_make(err, errno, "mount %s: fsopen", type);
	if (fs_config(fsfd, type, source, o) < 0) {
		int e = errno;
		fs_log_last(fsfd, log, sizeof(log));
		if (*log)
			return hull_err_make(err, e, "mount %s: %s", type, log);
		return hull_err_make(err, e, "mount %s", type);
	}
	mount_attr_from_ms(o->flags, 0, &set, &clr);
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned int)set);
	if (mfd < 0)
		return hull_err_make(err, errno, "mount %s: fsmount", type);
	r = prepare ? prepare(mfd, arg, err) : 0;
	if (r == 0)
		r = attach(mfd, dest_fd, o, err);
	if (r < 0)
		return hull_err_wrap(err, "mount %s", type);
	return take_fd(&mfd);
}

int mnt_new_fs(const char *type, const char *source, const struct ns_mount_opts *o, int dest_fd,
	       struct hull_err **err)
{
	return mnt_new_fs_prepared(type, source, o, dest_fd, NULL, NULL, err);
}

/* ---- spec mounts ------------------------------------------------------------ */

/* Files under /proc a bind may cover (runc checkProcMount, lxcfs):
 * anything else there could hide what the runtime writes later
 * (/proc/self/attr, /proc/sys/...). */
static const char *const proc_allowed[] = {
	"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
	"/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid",
	"/proc/sys/crypto/fips_enabled",
};

static int check_proc_dest(const char *clean, struct hull_err **err)
{
	if (strncmp(clean, "/proc/", 6) != 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(proc_allowed); i++)
		if (strcmp(clean, proc_allowed[i]) == 0)
			return 0;
	return hull_err_make(err, EPERM, "only proc itself and a few files (/proc/cpuinfo, ...) may be "
			     "covered inside /proc");
}

/* Filesystems the kernel refuses in a user namespace that does not own the
 * matching namespace: runc then binds the host's instance instead. */
static const struct { const char *type; const char *host; bool ebusy; bool ro; } fs_fallback[] = {
	{ "sysfs",   "/sys",           false, false },
	{ "mqueue",  "/dev/mqueue",    false, false },
	{ "cgroup",  "/sys/fs/cgroup", true,  true },
	{ "cgroup2", "/sys/fs/cgroup", true,  true },
};

/* runc (mountPropagate) mounts /dev and every tmpfs writable, fills them,
 * and makes them read-only in finalizeRootfs: a read-only /dev still gets
 * its devices and symlinks, a read-only tmpfs its copy and nested mounts. */
static bool ro_delayed(const struct oci_mount *m, const struct ns_mount_opts *o)
{
	_cleanup_free_ char *clean = NULL;

	if (!(o->flags & MS_RDONLY) || o->bind || !m->type || strcmp(m->type, "bind") == 0)
		return false;
	if (strcmp(m->type, "tmpfs") == 0)
		return true;
	clean = path_clean(m->destination);
	return strcmp(clean, "/dev") == 0;
}

/* Runs on the detached tmpfs: the copy is complete before anyone sees it. */
static int tmpfs_copyup(int mfd, void *arg, struct hull_err **err)
{
	const int *from = arg;
	_cleanup_close_ int root = openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (root < 0)
		return hull_err_make(err, errno, "open new tmpfs");
	if (ns_copy_tree(*from, root, false, err) < 0)
		return hull_err_wrap(err, "tmpcopyup tmpcopyup");
	return 0;
}

static int mount_fs(int root_fd, const struct oci_mount *m, const struct ns_mount_opts *o, int dest,
		    const struct stat *before, struct hull_err **err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_close_ int shadowed = -1;
	struct ns_mount_opts t = *o;
	struct hull_err *e = NULL;
	const char *type = m->type;
	int mfd;

	if (strcmp(type, "cgroup") == 0)
		type = "cgroup2";   /* a pure v2 host (mount_cgroup_v1 otherwise) */
	if (ro_delayed(m, o))
		t.flags &= ~(unsigned long)MS_RDONLY;
	if (strcmp(type, "tmpfs") == 0) {
		/* runc 1.2 keeps the mode of the directory the tmpfs covers, as a
		 * mount option (a chmod would fail on a read-only tmpfs). */
		if (before && !mount_opts_has_data_key(o, "mode")) {
			data = xasprintf("mode=%04o%s%s", (unsigned)(before->st_mode & 07777), o->data ? "," : "",
					 o->data ? o->data : "");
			t.data = data;
		}
		if (o->tmpcopyup && before) {
			shadowed = openat(dest, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (shadowed < 0)
				return hull_err_make(err, errno, "tmpcopyup: open %s", m->destination);
		}
	}
	o = &t;
	mfd = mnt_new_fs_prepared(type, m->source, o, dest, shadowed >= 0 ? tmpfs_copyup : NULL, &shadowed, &e);
	if (mfd >= 0)
		return mfd;
	for (size_t i = 0; i < ARRAY_SIZE(fs_fallback); i++) {
		struct ns_mount_opts fb = *o;

		if (strcmp(m->type, fs_fallback[i].type) != 0)
			continue;
		if (e->errnum != EPERM && !(fs_fallback[i].ebusy && e->errnum == EBUSY))
			break;
		hull_debug("mount %s on %s: %s; binding %s instead", m->type, m->destination, e->msg,
			   fs_fallback[i].host);
		hull_err_free(&e);
		fb.bind = fb.rec = true;
		if (fs_fallback[i].ro) {
			fb.flags |= MS_RDONLY;
			fb.attr_set |= MOUNT_ATTR_RDONLY;
		}
		return mnt_bind(AT_FDCWD, fs_fallback[i].host, &fb, dest, err);
	}
	if (err && !*err)
		*err = e;
	else
		hull_err_free(&e);
	return hull_err_ret(err ? *err : NULL);
}

static int mount_bind_entry(const struct ns_rootfs *r, int root_fd, size_t idx, const struct oci_mount *m,
			    const struct ns_mount_opts *o, struct hull_err **err)
{
	const struct oci_linux *l = &r->spec->linux_;
	_cleanup_close_ int dest = -1, userns = -1;
	int tree = r->bind_fds ? r->bind_fds[idx] : -1, mfd;
	struct stat st;

	if ((tree >= 0 ? fstat(tree, &st) : stat(m->source, &st)) < 0)
		return hull_err_make(err, errno, "bind source %s", m->source);
	dest = ns_mkdir_p_in_root(root_fd, m->destination, 0755, !S_ISDIR(st.st_mode), err);
	if (dest < 0)
		return dest;
	if (tree >= 0)
		return attach_tree(tree, o, dest, err) < 0 ? hull_err_wrap(err, "bind %s", m->source) : 0;
	if (o->idmap || m->n_uid_mappings || m->n_gid_mappings) {
		/* Without per-mount mappings, runc uses the container's own. */
		bool own = m->n_uid_mappings || m->n_gid_mappings;
		userns = userns_fd_for_maps(own ? m->uid_mappings : l->uid_mappings,
					    own ? m->n_uid_mappings : l->n_uid_mappings,
					    own ? m->gid_mappings : l->gid_mappings,
					    own ? m->n_gid_mappings : l->n_gid_mappings, err);
		if (userns < 0)
			return userns;
	}
	mfd = mnt_bind_idmapped(AT_FDCWD, m->source, o, userns, dest, err);
	if (mfd < 0)
		return mfd;
	close(mfd);
	return 0;
}

static int mount_entry(const struct ns_rootfs *r, int root_fd, size_t idx, const struct ns_mount_opts *o,
		       struct hull_err **err)
{
	const struct oci_mount *m = &r->spec->mounts[idx];
	_cleanup_free_ char *clean = path_clean(m->destination);
	_cleanup_close_ int dest = -1, probe = -1;
	struct stat before;
	bool existed = false, procsys;
	int mfd, ret;

	if (check_proc_dest(clean, err) < 0)
		return -1;
	if (o->bind || strcmp(m->type, "bind") == 0) {
		return mount_bind_entry(r, root_fd, idx, m, o, err);
	}
	/* A symlinked /proc or /sys would let the image choose where procfs or
	 * sysfs lands: their destination is looked up without following the
	 * last link, and must be a directory if it exists (runc's rule). */
	procsys = strcmp(m->type, "proc") == 0 || strcmp(m->type, "sysfs") == 0;
	probe = resolve_in_root(root_fd, m->destination, procsys ? O_PATH | O_NOFOLLOW : O_PATH | O_DIRECTORY, 0);
	if (probe >= 0 && fstat(probe, &before) == 0) {
		if (procsys && !S_ISDIR(before.st_mode))
			return hull_err_make(err, 0, "%s must be mounted on an ordinary directory (%s is a %s)",
					     m->type, m->destination, S_ISLNK(before.st_mode) ? "symlink" : "file");
		existed = S_ISDIR(before.st_mode);
	}
	dest = existed ? take_fd(&probe) : ns_mkdir_p_in_root(root_fd, m->destination, 0755, false, err);
	if (dest < 0)
		return dest;
	if (strcmp(m->type, "cgroup") == 0) {
		/* One read of mountinfo both tells a v1 or hybrid host and
		 * lists its hierarchies; 1: none, cgroup2 below. */
		ret = mount_cgroup_v1(r, m, o, dest, err);
		if (ret <= 0)
			return ret;
	}
	mfd = mount_fs(root_fd, m, o, dest, existed ? &before : NULL, err);
	if (mfd < 0)
		return mfd;
	close(mfd);
	return 0;
}

int mount_spec_entry(int root_fd, const struct ns_rootfs *r, size_t idx, struct hull_err **err)
{
	const struct oci_mount *m = &r->spec->mounts[idx];
	_cleanup_free_ char *what = xasprintf("mounts[%zu].options", idx);
	struct ns_mount_opts o;
	int ret;

	ret = mount_opts_parse_at(m->options, m->n_options, what, &o, err);
	if (ret < 0)
		return ret;
	if (m->type == NULL && !o.bind)
		ret = hull_err_make(err, 0, "mounts[%zu].type: required unless options has bind or rbind", idx);
	else
		ret = mount_entry(r, root_fd, idx, &o, err);
	ns_mount_opts_clear(&o);
	if (ret < 0)
		return hull_err_wrap(err, "mounts[%zu] %s", idx, m->destination);
	return 0;
}

int mount_spec_finalize_ro(int root_fd, const struct oci_spec *spec, struct hull_err **err)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		_cleanup_close_ int fd = -1;
		struct ns_mount_opts o;
		bool delayed;

		if (mount_opts_parse_at(m->options, m->n_options, "options", &o, err) < 0)
			return -1;
		delayed = ro_delayed(m, &o);
		ns_mount_opts_clear(&o);
		if (!delayed)
			continue;
		fd = resolve_in_root(root_fd, m->destination, O_PATH | O_DIRECTORY, 0);
		if (fd < 0)
			return hull_err_make(err, -fd, "mounts[%zu] %s: open", i, m->destination);
		if (mnt_setattr(fd, false, MOUNT_ATTR_RDONLY, 0, err) < 0)
			return hull_err_wrap(err, "mounts[%zu] %s: make read-only", i, m->destination);
	}
	return 0;
}

/* Binds that need no idmapping: the ones a user namespace's root might not
 * reach, and the only ones whose tree can be cloned before it exists. */
static bool plain_bind(const struct oci_mount *m, const struct ns_mount_opts *o)
{
	return (o->bind || (m->type && strcmp(m->type, "bind") == 0)) && !o->idmap && !o->ridmap &&
	       !m->n_uid_mappings && !m->n_gid_mappings;
}

int *ns_open_bind_sources(const struct oci_spec *spec)
{
	int *fds = xcalloc(spec->n_mounts + 1, sizeof(*fds));

	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		struct ns_mount_opts o;
		bool plain;

		fds[i] = -1;
		if (mount_opts_parse_at(m->options, m->n_options, "options", &o, NULL) < 0)
			continue;   /* the init reports it, naming the field */
		plain = plain_bind(m, &o) && m->source;
		if (plain)
			fds[i] = open_tree(AT_FDCWD, m->source,
					   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o.rec ? AT_RECURSIVE : 0));
		/* A source that cannot be opened here fails in the init as before,
		 * with the same message. */
		ns_mount_opts_clear(&o);
	}
	return fds;
}
