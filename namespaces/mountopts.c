/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI mount options -> mount flags, propagation, recursive attributes and
 * filesystem data; ns_validate_spec() checks a whole spec before anything is
 * created.  The vocabulary is runc's (libcontainer/specconv mountFlags,
 * mountPropagationMapping, recAttrFlags, extensionFlags).
 */
#include "namespaces/internal.h"

#include <inttypes.h>
#include <sys/mount.h>

enum opt_kind {
	OPT_SET,        /* MS_* flag set */
	OPT_CLEAR,      /* MS_* flag cleared */
	OPT_PROP,       /* propagation */
	OPT_RSET,       /* MOUNT_ATTR_* set recursively */
	OPT_RCLEAR,     /* MOUNT_ATTR_* cleared recursively */
	OPT_BIND,
	OPT_RBIND,
	OPT_IDMAP,
	OPT_RIDMAP,
	OPT_TMPCOPYUP,
	OPT_NONE,       /* accepted, no effect ("defaults") */
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	unsigned long value;
};

static const struct opt_def opt_table[] = {
	{ "acl",            OPT_SET,   MS_POSIXACL },
	{ "async",          OPT_CLEAR, MS_SYNCHRONOUS },
	{ "atime",          OPT_CLEAR, MS_NOATIME },
	{ "bind",           OPT_BIND,  0 },
	{ "defaults",       OPT_NONE,  0 },
	{ "dev",            OPT_CLEAR, MS_NODEV },
	{ "diratime",       OPT_CLEAR, MS_NODIRATIME },
	{ "dirsync",        OPT_SET,   MS_DIRSYNC },
	{ "exec",           OPT_CLEAR, MS_NOEXEC },
	{ "iversion",       OPT_SET,   MS_I_VERSION },
	{ "lazytime",       OPT_SET,   MS_LAZYTIME },
	{ "loud",           OPT_CLEAR, MS_SILENT },
	{ "mand",           OPT_SET,   MS_MANDLOCK },
	{ "noacl",          OPT_CLEAR, MS_POSIXACL },
	{ "noatime",        OPT_SET,   MS_NOATIME },
	{ "nodev",          OPT_SET,   MS_NODEV },
	{ "nodiratime",     OPT_SET,   MS_NODIRATIME },
	{ "noexec",         OPT_SET,   MS_NOEXEC },
	{ "noiversion",     OPT_CLEAR, MS_I_VERSION },
	{ "nolazytime",     OPT_CLEAR, MS_LAZYTIME },
	{ "nomand",         OPT_CLEAR, MS_MANDLOCK },
	{ "norelatime",     OPT_CLEAR, MS_RELATIME },
	{ "nostrictatime",  OPT_CLEAR, MS_STRICTATIME },
	{ "nosuid",         OPT_SET,   MS_NOSUID },
	{ "nosymfollow",    OPT_SET,   MS_NOSYMFOLLOW },
	{ "symfollow",      OPT_CLEAR, MS_NOSYMFOLLOW },
	{ "rbind",          OPT_RBIND, 0 },
	{ "relatime",       OPT_SET,   MS_RELATIME },
	{ "remount",        OPT_SET,   MS_REMOUNT },
	{ "ro",             OPT_SET,   MS_RDONLY },
	{ "rw",             OPT_CLEAR, MS_RDONLY },
	{ "silent",         OPT_SET,   MS_SILENT },
	{ "strictatime",    OPT_SET,   MS_STRICTATIME },
	{ "suid",           OPT_CLEAR, MS_NOSUID },
	{ "sync",           OPT_SET,   MS_SYNCHRONOUS },
	/* propagation */
	{ "private",        OPT_PROP,  MS_PRIVATE },
	{ "rprivate",       OPT_PROP,  MS_PRIVATE | MS_REC },
	{ "shared",         OPT_PROP,  MS_SHARED },
	{ "rshared",        OPT_PROP,  MS_SHARED | MS_REC },
	{ "slave",          OPT_PROP,  MS_SLAVE },
	{ "rslave",         OPT_PROP,  MS_SLAVE | MS_REC },
	{ "unbindable",     OPT_PROP,  MS_UNBINDABLE },
	{ "runbindable",    OPT_PROP,  MS_UNBINDABLE | MS_REC },
	/* recursive attributes (mount_setattr AT_RECURSIVE) */
	{ "rro",            OPT_RSET,   MOUNT_ATTR_RDONLY },
	{ "rrw",            OPT_RCLEAR, MOUNT_ATTR_RDONLY },
	{ "rnosuid",        OPT_RSET,   MOUNT_ATTR_NOSUID },
	{ "rsuid",          OPT_RCLEAR, MOUNT_ATTR_NOSUID },
	{ "rnodev",         OPT_RSET,   MOUNT_ATTR_NODEV },
	{ "rdev",           OPT_RCLEAR, MOUNT_ATTR_NODEV },
	{ "rnoexec",        OPT_RSET,   MOUNT_ATTR_NOEXEC },
	{ "rexec",          OPT_RCLEAR, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime",    OPT_RSET,   MOUNT_ATTR_NODIRATIME },
	{ "rdiratime",      OPT_RCLEAR, MOUNT_ATTR_NODIRATIME },
	{ "rrelatime",      OPT_RSET,   MOUNT_ATTR_RELATIME },
	{ "rnorelatime",    OPT_RCLEAR, MOUNT_ATTR_RELATIME },
	{ "rnoatime",       OPT_RSET,   MOUNT_ATTR_NOATIME },
	{ "ratime",         OPT_RCLEAR, MOUNT_ATTR_NOATIME },
	{ "rstrictatime",   OPT_RSET,   MOUNT_ATTR_STRICTATIME },
	{ "rnostrictatime", OPT_RCLEAR, MOUNT_ATTR_STRICTATIME },
	{ "rnosymfollow",   OPT_RSET,   MOUNT_ATTR_NOSYMFOLLOW },
	{ "rsymfollow",     OPT_RCLEAR, MOUNT_ATTR_NOSYMFOLLOW },
	/* OCI extensions */
	{ "idmap",          OPT_IDMAP,  0 },
	{ "ridmap",         OPT_RIDMAP, 0 },
	{ "tmpcopyup",      OPT_TMPCOPYUP, 0 },
};

/* The kernel copies at most one page of legacy mount data. */
#define DATA_MAX 4095

static const struct opt_def *opt_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (strcmp(opt_table[i].name, name) == 0)
			return &opt_table[i];
	return NULL;
}

long propagation_from_name(const char *name)
{
	const struct opt_def *d = name ? opt_lookup(name) : NULL;
	return d && d->kind == OPT_PROP ? (long)d->value : -1;
}

static bool is_atime_attr(uint64_t a)
{
	return a == MOUNT_ATTR_RELATIME || (a & MOUNT_ATTR__ATIME);
}

static void apply_opt(const struct opt_def *d, struct ns_mount_opts *o)
{
	switch (d->kind) {
	case OPT_SET:
		o->flags |= d->value;
		o->clear &= ~d->value;
		break;
	case OPT_CLEAR:
		o->flags &= ~d->value;
		o->clear |= d->value;
		break;
	case OPT_PROP:
		/* One propagation type per mount: the last one wins, as mount(8). */
		o->propagation = d->value;
		break;
	case OPT_RSET:
		/* The atime modes are one field: setting one replaces the others. */
		if (is_atime_attr(d->value)) {
			o->attr_set = (o->attr_set & ~MOUNT_ATTR__ATIME) | (unsigned int)d->value;
			o->attr_clr |= MOUNT_ATTR__ATIME;
		} else {
			o->attr_set |= (unsigned int)d->value;
			o->attr_clr &= ~(unsigned int)d->value;
		}
		break;
	case OPT_RCLEAR:
		if (is_atime_attr(d->value)) {
			/* "ratime" etc.: back to the kernel default (relatime). */
			o->attr_set &= ~MOUNT_ATTR__ATIME;
			o->attr_clr |= MOUNT_ATTR__ATIME;
		} else {
			o->attr_clr |= (unsigned int)d->value;
			o->attr_set &= ~(unsigned int)d->value;
		}
		break;
	case OPT_BIND:
		o->bind = true;
		break;
	case OPT_RBIND:
		o->bind = o->rec = true;
		break;
	case OPT_IDMAP:
		o->idmap = true;
		break;
	case OPT_RIDMAP:
		o->idmap = o->ridmap = true;
		break;
	case OPT_TMPCOPYUP:
		o->tmpcopyup = true;
		break;
	case OPT_NONE:
		break;
	}
}

int mount_opts_parse_at(char *const *options, size_t n, const char *what, struct ns_mount_opts *out,
			struct hull_err **err)
{
	struct ns_mount_opts o = { 0 };
	_cleanup_free_ char *data = NULL;
	size_t dlen = 0;

	if (options == NULL)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		const char *opt = options[i];
		const struct opt_def *d;
		size_t len;

		if (opt == NULL || *opt == '\0')
			return hull_err_make(err, 0, "%s[%zu]: empty mount option", what, i);
		d = opt_lookup(opt);
		if (d) {
			apply_opt(d, &o);
			continue;
		}
		/* Anything else ("size=64k", "mode=755", "newinstance") is for the
		 * filesystem: the kernel is the one that knows its vocabulary. */
		len = strlen(opt);
		if (dlen + len + 1 > DATA_MAX)
			return hull_err_make(err, 0, "%s[%zu]: filesystem data longer than %d bytes",
					     what, i, DATA_MAX);
		data = xrealloc(data, dlen + len + 2);
		if (dlen)
			data[dlen++] = ',';
		memcpy(data + dlen, opt, len + 1);
		dlen += len;
	}
	o.data = take_ptr(data);
	*out = o;
	return 0;
}

int ns_mount_opts_parse(char *const *options, size_t n, struct ns_mount_opts *out, struct hull_err **err)
{
	return mount_opts_parse_at(options, n, "options", out, err);
}

void ns_mount_opts_clear(struct ns_mount_opts *o)
{
	if (!o)
		return;
	free(o->data);
	memset(o, 0, sizeof(*o));
}

bool mount_opts_has_data_key(const struct ns_mount_opts *o, const char *key)
{
	size_t klen = strlen(key);
	const char *p = o->data;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=')
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* Per-mount flags that exist as MOUNT_ATTR_* (the rest are superblock flags). */
static const struct { unsigned long ms; uint64_t attr; } ms_attr_table[] = {
	{ MS_RDONLY,      MOUNT_ATTR_RDONLY },
	{ MS_NOSUID,      MOUNT_ATTR_NOSUID },
	{ MS_NODEV,       MOUNT_ATTR_NODEV },
	{ MS_NOEXEC,      MOUNT_ATTR_NOEXEC },
	{ MS_NODIRATIME,  MOUNT_ATTR_NODIRATIME },
	{ MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW },
};

void mount_attr_from_ms(unsigned long set, unsigned long clear, uint64_t *attr_set, uint64_t *attr_clr)
{
	uint64_t s = 0, c = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ms_attr_table); i++) {
		if (set & ms_attr_table[i].ms)
			s |= ms_attr_table[i].attr;
		else if (clear & ms_attr_table[i].ms)
			c |= ms_attr_table[i].attr;
	}
	/* atime is one field: MS_NOATIME beats MS_STRICTATIME beats MS_RELATIME. */
	if (set & MS_NOATIME) {
		s |= MOUNT_ATTR_NOATIME;
		c |= MOUNT_ATTR__ATIME;
	} else if (set & MS_STRICTATIME) {
		s |= MOUNT_ATTR_STRICTATIME;
		c |= MOUNT_ATTR__ATIME;
	} else if (set & MS_RELATIME) {
		c |= MOUNT_ATTR__ATIME;
	} else if (clear & (MS_NOATIME | MS_STRICTATIME)) {
		c |= MOUNT_ATTR__ATIME;
	}
	*attr_set = s;
	*attr_clr = c;
}

/* ---- validation -------------------------------------------------------------- */

static bool is_abs(const char *p)
{
	return p && p[0] == '/';
}

static int validate_mount(const struct oci_mount *m, size_t i, struct hull_err **err)
{
	_cleanup_free_ char *what = xasprintf("mounts[%zu].options", i);
	struct ns_mount_opts o;
	bool bind;
	int r;

	if (!is_abs(m->destination))
		return hull_err_make(err, 0, "mounts[%zu].destination: must be an absolute path \"%s\"", i,
				     m->destination ? m->destination : "");
	r = mount_opts_parse_at(m->options, m->n_options, what, &o, err);
	if (r < 0)
		return r;
	bind = o.bind || (m->type && strcmp(m->type, "bind") == 0);
	if (!bind && (m->type == NULL || *m->type == '\0'))
		r = hull_err_make(err, 0, "mounts[%zu].type: required unless options has bind or rbind", i);
	else if (bind && (m->source == NULL || *m->source == '\0'))
		r = hull_err_make(err, 0, "mounts[%zu].source: a bind mount needs a source", i);
	else if (o.tmpcopyup && (m->type == NULL || strcmp(m->type, "tmpfs") != 0))
		r = hull_err_make(err, 0, "%s: tmpcopyup needs type \"tmpfs\"", what);
	else if ((o.idmap || m->n_uid_mappings || m->n_gid_mappings) && !bind)
		r = hull_err_make(err, 0, "mounts[%zu]: idmapped mounts must be bind mounts", i);
	else if ((m->n_uid_mappings == 0) != (m->n_gid_mappings == 0))
		r = hull_err_make(err, 0, "mounts[%zu]: idmapped mounts need both uidMappings and gidMappings", i);
	ns_mount_opts_clear(&o);
	return r;
}

static int validate_paths(char *const *paths, size_t n, const char *field, struct hull_err **err)
{
	for (size_t i = 0; i < n; i++)
		if (!is_abs(paths[i]))
			return hull_err_make(err, 0, "%s[%zu]: must be an absolute path \"%s\"", field, i,
					     paths[i] ? paths[i] : "");
	return 0;
}

static int validate_devices(const struct oci_linux *l, struct hull_err **err)
{
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct oci_linux_device *d = &l->devices[i];

		if (!is_abs(d->path))
			return hull_err_make(err, 0, "linux.devices[%zu].path: must be an absolute path \"%s\"",
					     i, d->path ? d->path : "");
		if (d->type == 0 || !strchr("cbup", d->type))
			return hull_err_make(err, 0, "linux.devices[%zu].type: must be one of c, b, u, p", i);
		if (d->type != 'p' && (d->major < 0 || d->minor < 0 || d->major > 0xfff ||
				       d->minor > 0xfffff))
			return hull_err_make(err, 0, "linux.devices[%zu]: device number %" PRId64 ":%" PRId64
					     " out of range", i, d->major, d->minor);
	}
	return 0;
}

int ns_validate_spec(const struct oci_spec *spec, struct hull_err **err)
{
	const struct oci_linux *l = &spec->linux_;
	int r;

	for (size_t i = 0; i < spec->n_mounts; i++) {
		r = validate_mount(&spec->mounts[i], i, err);
		if (r < 0)
			return r;
	}
	if (!spec->has_linux)
		return 0;
	if (l->rootfs_propagation && propagation_from_name(l->rootfs_propagation) < 0)
		return hull_err_make(err, 0, "linux.rootfsPropagation: unknown propagation \"%s\"",
				     l->rootfs_propagation);
	r = validate_devices(l, err);
	if (r < 0)
		return r;
	r = validate_paths(l->masked_paths, l->n_masked_paths, "linux.maskedPaths", err);
	if (r < 0)
		return r;
	return validate_paths(l->readonly_paths, l->n_readonly_paths, "linux.readonlyPaths", err);
}
