/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A `cgroup` mount on a host with cgroup v1 hierarchies (v1 or hybrid): the
 * per-controller layout runc's mountCgroupV1 makes, which programs reading
 * their limits there (JVMs, automaxprocs) expect:
 *
 *   DEST             tmpfs, mode 755, nosuid/nodev/noexec
 *   DEST/<name>      for each v1 hierarchy (basename of its host mount point,
 *                    "cpu,cpuacct" when co-mounted): the container's own
 *                    cgroup there, bound with the mount's flags ("ro"); with a
 *                    cgroup namespace, a fresh mount of that hierarchy
 *   DEST/cpu         -> cpu,cpuacct for each part of a co-mounted name
 *
 * The unified hierarchy of a hybrid host is left out, as runc does.  On a
 * pure cgroup v2 host the caller mounts cgroup2 instead.
 */
#include "namespaces/internal.h"

#include <sys/mount.h>

struct v1_hier {
	char *mountpoint;   /* host path, unescaped */
	char *root;         /* the mount's root inside the hierarchy */
	char *opts;         /* superblock options: "rw,cpu,cpuacct", "rw,name=systemd" */
};

static void free_hiers(struct v1_hier *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].mountpoint);
		free(h[i].root);
		free(h[i].opts);
	}
	free(h);
}

static bool has_token(const char *list, const char *tok, size_t len)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, tok, len) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

/* One entry per v1 hierarchy (the first mount of each superblock). */
static int read_hiers(struct v1_hier **out, size_t *n_out, struct hull_err **err)
{
	_cleanup_free_ char *info = NULL;
	struct v1_hier *h = NULL;
	size_t n = 0;
	struct mountinfo_entry e;
	char *cur;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL, 0, err) < 0)
		return -1;
	for (cur = info; mountinfo_next(&cur, &e);) {
		const char *opts = e.super_opts;
		bool dup = false;

		if (strcmp(e.fstype, "cgroup") != 0)
			continue;
		for (size_t i = 0; i < n && !dup; i++)
			dup = strcmp(h[i].opts, opts) == 0;
		if (dup)
			continue;
		h = xrealloc(h, (n + 1) * sizeof(*h));
		h[n++] = (struct v1_hier){ xstrdup(e.mountpoint), xstrdup(e.root), xstrdup(opts) };
	}
	*out = h;
	*n_out = n;
	return 0;
}

/* The caller's cgroup in the hierarchy whose superblock options are opts,
 * from /proc/self/cgroup ("4:cpu,cpuacct:/path", "1:name=systemd:/path"). */
static char *own_path(const char *cgfile, const char *opts)
{
	_cleanup_free_ char *copy = xstrdup(cgfile);
	char *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		bool all = true;

		if (!c2 || c2 == c1 + 1)
			continue;   /* the unified line "0::/path" */
		*c2 = '\0';
		for (const char *p = c1 + 1; *p && all;) {
			size_t len = strcspn(p, ",");
			all = has_token(opts, p, len);
			p += len + (p[len] == ',');
		}
		if (all)
			return xstrdup(c2 + 1);
	}
	return NULL;
}

/* Host path of the caller's own cgroup in h: the mount shows h->root. */
static char *own_source(const struct v1_hier *h, const char *own)
{
	size_t n = strlen(h->root);

	if (strcmp(h->root, "/") == 0)
		return xasprintf("%s%s", h->mountpoint, strcmp(own, "/") == 0 ? "" : own);
	if (strncmp(own, h->root, n) == 0 && (own[n] == '/' || own[n] == '\0'))
		return xasprintf("%s%s", h->mountpoint, own + n);
	return NULL;   /* the mount does not show the caller's cgroup */
}

/* A fresh mount of h's hierarchy (cgroup namespace: its root is the
 * namespace's), with the controllers of its superblock options. */
static int mount_fresh(const struct v1_hier *h, const struct ns_mount_opts *o, int dest, struct hull_err **err)
{
	_cleanup_free_ char *opts = xstrdup(h->opts), *data = NULL;
	struct ns_mount_opts f = *o;
	char *save = NULL;
	int mfd;

	/* Keep the controller names and name=; drop rw/ro/xattr/release_agent=... */
	for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "rw") == 0 || strcmp(t, "ro") == 0 || strcmp(t, "xattr") == 0 ||
		    strcmp(t, "noprefix") == 0 || strcmp(t, "clone_children") == 0 || strcmp(t, "cpuset_v2_mode") == 0 ||
		    strncmp(t, "release_agent=", 14) == 0)
			continue;
		char *d = xasprintf("%s%s%s", data ? data : "", data ? "," : "", t);
		free(data);
		data = d;
	}
	f.bind = f.rec = false;
	f.data = data;
	mfd = mnt_new_fs("cgroup", "cgroup", &f, dest, err);
	return mfd;
}

int mount_cgroup_v1(const struct ns_rootfs *r, const struct oci_mount *m,
		    const struct ns_mount_opts *o, int dest, struct hull_err **err)
{
	struct ns_mount_opts t = { .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC, .propagation = o->propagation };
	struct ns_mount_opts b = *o;
	_cleanup_free_ char *cgfile = NULL;
	_cleanup_close_ int tmpfs = -1;
	struct v1_hier *h = NULL;
	bool cgroupns = oci_spec_has_ns(r->spec, OCI_NS_CGROUP);
	size_t n = 0;
	int ret = -1;

	if (read_hiers(&h, &n, err) < 0)
		goto out;
	if (n == 0) {
		ret = 1;   /* a pure v2 host */
		goto out;
	}
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &cgfile, NULL, 0, err) < 0)
		goto out;
	t.data = "mode=755";
	tmpfs = mnt_new_fs("tmpfs", "tmpfs", &t, dest, err);
	if (tmpfs < 0)
		goto out;
	b.bind = b.rec = true;
	b.data = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *name = strrchr(h[i].mountpoint, '/') + 1;
		_cleanup_free_ char *own = own_path(cgfile, h[i].opts), *src = NULL;
		_cleanup_close_ int sub = -1;
		int mfd;

		/* Left out: a hierarchy the caller is not in, and a named one
		 * (name=systemd) where it sits at the root, or may (a cgroup
		 * namespace shows "/"): hull makes no cgroup there, and the
		 * mount would show the host's whole tree. */
		if (!own || !*name ||
		    (strstr(h[i].opts, "name=") && (cgroupns || strcmp(own, "/") == 0)))
			continue;
		if (mkdirat(tmpfs, name, 0755) < 0 && errno != EEXIST) {
			hull_err_make(err, errno, "mkdir %s/%s", m->destination, name);
			goto out;
		}
		sub = openat(tmpfs, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			hull_err_make(err, errno, "open %s/%s", m->destination, name);
			goto out;
		}
		/* With a cgroup namespace /proc/self/cgroup is relative to it:
		 * only a fresh mount shows the right directory. */
		if (cgroupns) {
			mfd = mount_fresh(&h[i], o, sub, err);
		} else {
			src = own_source(&h[i], own);
			if (!src)
				continue;
			mfd = mnt_bind(AT_FDCWD, src, &b, sub, err);
		}
		if (mfd < 0) {
			hull_err_wrap(err, "%s/%s", m->destination, name);
			goto out;
		}
		close(mfd);
		/* runc: cpu -> cpu,cpuacct for each controller of a co-mounted name. */
		if (strchr(name, ',')) {
			_cleanup_free_ char *parts = xstrdup(name);
			char *save = NULL;
			for (char *p = strtok_r(parts, ",", &save); p; p = strtok_r(NULL, ",", &save))
				if (symlinkat(name, tmpfs, p) < 0 && errno != EEXIST) {
					hull_err_make(err, errno, "symlink %s/%s", m->destination, p);
					goto out;
				}
		}
	}
	/* The layout is complete: the tmpfs takes the mount's read-only too. */
	ret = (o->flags & MS_RDONLY) ? mnt_setattr(tmpfs, false, MOUNT_ATTR_RDONLY, 0, err) : 0;
out:
	free_hiers(h, n);
	return ret;
}
