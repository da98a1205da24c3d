/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device nodes and /dev symlinks in the container rootfs, as runc:
 * the default devices (unless linux.devices names the same path), then
 * linux.devices, /dev/ptmx -> pts/ptmx and the /proc/self/fd links.
 * In a user namespace mknod is refused, so the host's node is bind-mounted
 * onto an empty file instead.
 */
#include "namespaces/internal.h"

#include <libgen.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

struct dev_node {
	const char *path;
	char type;                  /* 'c', 'b', 'u', 'p' */
	unsigned int major, minor;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

static const struct dev_node default_devices[] = {
	{ "/dev/null",    'c', 1, 3, 0666, 0, 0 },
	{ "/dev/zero",    'c', 1, 5, 0666, 0, 0 },
	{ "/dev/full",    'c', 1, 7, 0666, 0, 0 },
	{ "/dev/random",  'c', 1, 8, 0666, 0, 0 },
	{ "/dev/urandom", 'c', 1, 9, 0666, 0, 0 },
	{ "/dev/tty",     'c', 5, 0, 0666, 0, 0 },
};

/* {name in /dev, target, only when the host has the target} */
static const struct { const char *name; const char *target; const char *host_check; } dev_links[] = {
	{ "fd",     "/proc/self/fd",   NULL },
	{ "stdin",  "/proc/self/fd/0", NULL },
	{ "stdout", "/proc/self/fd/1", NULL },
	{ "stderr", "/proc/self/fd/2", NULL },
	{ "core",   "/proc/kcore",     "/proc/kcore" },
};

static const struct { char type; mode_t fmt; } dev_types[] = {
	{ 'c', S_IFCHR }, { 'u', S_IFCHR }, { 'b', S_IFBLK }, { 'p', S_IFIFO },
};

static mode_t dev_fmt(char type)
{
	for (size_t i = 0; i < ARRAY_SIZE(dev_types); i++)
		if (dev_types[i].type == type)
			return dev_types[i].fmt;
	return 0;
}

const char *ns_default_device(size_t i)
{
	return i < ARRAY_SIZE(default_devices) ? default_devices[i].path : NULL;
}

bool ns_mount_is_bind(const struct oci_mount *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], "bind") == 0 || strcmp(m->options[i], "rbind") == 0)
			return true;
	return false;
}

bool devices_need_setup(const struct oci_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		_cleanup_free_ char *clean = path_clean(spec->mounts[i].destination);
		if (strcmp(clean, "/dev") == 0 && ns_mount_is_bind(&spec->mounts[i]))
			return false;
	}
	return true;
}

/* Bind the host's node (same path) onto an empty file in the rootfs. */
static int bind_host_node(int root_fd, const char *path, struct hull_err **err)
{
	struct ns_mount_opts o = { 0 };
	_cleanup_close_ int dest = ns_mkdir_p_in_root(root_fd, path, 0755, true, err);
	int mfd;

	if (dest < 0)
		return dest;
	mfd = mnt_bind(AT_FDCWD, path, &o, dest, err);
	if (mfd < 0)
		return mfd;
	close(mfd);
	return 0;
}

/* The directory the last node went into (all of them: /dev, usually),
 * and whether a node made there is owned by our euid/egid already. */
struct dev_dir {
	char *path;
	int fd;
	uid_t uid;
	gid_t gid;
};

static int dev_dir_open(int root_fd, struct dev_dir *dd, const char *dir, struct hull_err **err)
{
	struct stat st;

	if (dd->path && strcmp(dd->path, dir) == 0)
		return dd->fd;
	free(dd->path);
	dd->path = NULL;
	if (dd->fd >= 0)
		close(dd->fd);
	dd->fd = ns_mkdir_p_in_root(root_fd, dir, 0755, false, err);
	if (dd->fd < 0)
		return dd->fd;
	if (fstat(dd->fd, &st) < 0)
		return hull_err_make(err, errno, "stat %s", dir);
	dd->path = xstrdup(dir);
	dd->uid = geteuid();
	/* A set-group-ID directory hands its group to what is made in it. */
	dd->gid = (st.st_mode & S_ISGID) ? st.st_gid : getegid();
	return dd->fd;
}

static void dev_dir_close(struct dev_dir *dd)
{
	free(dd->path);
	if (dd->fd >= 0)
		close(dd->fd);
}

static int create_node(int root_fd, struct dev_dir *dd, const struct dev_node *d, bool in_userns,
		       struct hull_err **err)
{
	_cleanup_free_ char *clean = path_clean(d->path);
	_cleanup_free_ char *dir = xstrdup(clean);
	const char *base = strrchr(clean, '/') + 1;
	mode_t fmt = dev_fmt(d->type);
	dev_t rdev = d->type == 'p' ? 0 : makedev(d->major, d->minor);
	int parent;

	if (*base == '\0' || fmt == 0)
		return hull_err_make(err, EINVAL, "device %s: bad path or type", d->path);
	/* A FIFO needs no privilege; device nodes in a user namespace would be
	 * refused (or unusable), so the host's node is bound instead. */
	if (in_userns && d->type != 'p')
		return bind_host_node(root_fd, clean, err);
	parent = dev_dir_open(root_fd, dd, dirname(dir), err);
	if (parent < 0)
		return parent;
	if (mknodat(parent, base, fmt | (d->mode & 07777), rdev) < 0) {
		if (errno == EEXIST)
			return 0;   /* the image already has it: keep it, as runc */
		if (errno == EPERM)
			return bind_host_node(root_fd, clean, err);
		return hull_err_make(err, errno, "mknod %s", clean);
	}
	if ((d->uid != dd->uid || d->gid != dd->gid) &&
	    fchownat(parent, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_err_make(err, errno, "chown %s", clean);
	return 0;
}

static bool spec_has_device(const struct oci_linux *l, const char *path)
{
	for (size_t i = 0; i < l->n_devices; i++) {
		_cleanup_free_ char *clean = path_clean(l->devices[i].path);
		if (strcmp(clean, path) == 0)
			return true;
	}
	return false;
}

static int create_links(int root_fd, struct hull_err **err)
{
	_cleanup_close_ int dev = ns_mkdir_p_in_root(root_fd, "/dev", 0755, false, err);

	if (dev < 0)
		return dev;
	/* /dev/ptmx must be the devpts instance's multiplexer (runc setupPtmx). */
	if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
		return hull_err_make(err, errno, "remove /dev/ptmx");
	if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
		return hull_err_make(err, errno, "symlink /dev/ptmx");
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++) {
		if (dev_links[i].host_check && access(dev_links[i].host_check, F_OK) < 0)
			continue;
		if (symlinkat(dev_links[i].target, dev, dev_links[i].name) < 0 && errno != EEXIST)
			return hull_err_make(err, errno, "symlink /dev/%s", dev_links[i].name);
	}
	return 0;
}

static int create_nodes(int root_fd, struct dev_dir *dd, const struct ns_rootfs *r, struct hull_err **err)
{
	const struct oci_linux *l = &r->spec->linux_;
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		if (spec_has_device(l, default_devices[i].path))
			continue;
		ret = create_node(root_fd, dd, &default_devices[i], r->in_userns, err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct oci_linux_device *sd = &l->devices[i];
		struct dev_node d = {
			.path = sd->path, .type = sd->type,
			.major = (unsigned int)sd->major, .minor = (unsigned int)sd->minor,
			.mode = sd->has_file_mode ? sd->file_mode : 0666,
			.uid = sd->has_uid ? sd->uid : 0, .gid = sd->has_gid ? sd->gid : 0,
		};
		if (sd->path == NULL)
			return hull_err_make(err, EINVAL, "linux.devices[%zu].path: missing", i);
		ret = create_node(root_fd, dd, &d, r->in_userns, err);
		if (ret < 0)
			return hull_err_wrap(err, "linux.devices[%zu]", i);
	}
	return 0;
}

static int create_all(int root_fd, const struct ns_rootfs *r, struct hull_err **err)
{
	struct dev_dir dd = { .fd = -1 };
	int ret = create_nodes(root_fd, &dd, r, err);

	dev_dir_close(&dd);
	return ret < 0 ? ret : create_links(root_fd, err);
}

int devices_create(int root_fd, const struct ns_rootfs *r, struct hull_err **err)
{
	/* Modes are the spec's, not reduced by the runtime's umask. */
	mode_t old = umask(0);
	int ret = create_all(root_fd, r, err);

	umask(old);
	return ret;
}
