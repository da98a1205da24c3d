/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host layout detection (pure v2, hybrid, pure v1) from /proc/self/mountinfo
 * and /proc/self/cgroup, and cgroupsPath resolution.
 */
#include "cgroups/internal.h"

#include <pthread.h>

const char *const v1_ctrl_names[V1_COUNT] = {
	[V1_CPU] = "cpu", [V1_CPUACCT] = "cpuacct", [V1_CPUSET] = "cpuset", [V1_MEMORY] = "memory",
	[V1_DEVICES] = "devices", [V1_FREEZER] = "freezer", [V1_BLKIO] = "blkio", [V1_PIDS] = "pids",
	[V1_HUGETLB] = "hugetlb", [V1_NET_CLS] = "net_cls", [V1_NET_PRIO] = "net_prio",
	[V1_RDMA] = "rdma", [V1_PERF_EVENT] = "perf_event", [V1_MISC] = "misc",
};

static struct cg_layout detected;
static bool detected_done;
static struct cg_layout *test_layout;
static pthread_mutex_t layout_lock = PTHREAD_MUTEX_INITIALIZER;

static void cg_layout_clear(struct cg_layout *l)
{
	free(l->unified);
	free(l->own_unified);
	for (int i = 0; i < V1_COUNT; i++) {
		free(l->v1[i]);
		free(l->own_v1[i]);
	}
	memset(l, 0, sizeof(*l));
}

static void layout_copy(struct cg_layout *dst, const struct cg_layout *src)
{
	dst->mode = src->mode;
	dst->unified = xstrdup(src->unified);
	dst->own_unified = xstrdup(src->own_unified);
	for (int i = 0; i < V1_COUNT; i++) {
		dst->v1[i] = xstrdup(src->v1[i]);
		dst->own_v1[i] = xstrdup(src->own_v1[i]);
	}
}

void cg_layout_set_for_test(const struct cg_layout *l)
{
	pthread_mutex_lock(&layout_lock);
	if (test_layout) {
		cg_layout_clear(test_layout);
		free(test_layout);
		test_layout = NULL;
	}
	if (l) {
		test_layout = xcalloc(1, sizeof(*test_layout));
		layout_copy(test_layout, l);
	}
	pthread_mutex_unlock(&layout_lock);
}

int v1_ctrl_index(const char *name)
{
	for (int i = 0; i < V1_COUNT; i++)
		if (strcmp(v1_ctrl_names[i], name) == 0)
			return i;
	return -1;
}

static void parse_mountinfo_entry(struct cg_layout *l, const struct mountinfo_entry *e)
{
	char *save = NULL;

	if (strcmp(e->fstype, "cgroup2") == 0) {
		if (!l->unified)
			l->unified = xstrdup(e->mountpoint);
		return;
	}
	if (strcmp(e->fstype, "cgroup") != 0)
		return;
	for (char *tok = strtok_r(e->super_opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int c = v1_ctrl_index(tok);
		if (c >= 0 && !l->v1[c])
			l->v1[c] = xstrdup(e->mountpoint);
	}
}

static void parse_own_cgroups(struct cg_layout *l)
{
	_cleanup_free_ char *buf = NULL;
	char *save = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &buf, NULL, 0, NULL) < 0)
		return;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *s2 = NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (c1[1] == '\0') {
			free(l->own_unified);
			l->own_unified = xstrdup(c2 + 1);
			continue;
		}
		for (char *t = strtok_r(c1 + 1, ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
			int c = v1_ctrl_index(t);
			if (c >= 0 && !l->own_v1[c])
				l->own_v1[c] = xstrdup(c2 + 1);
		}
	}
}

static int detect(struct cg_layout *l, struct hull_err **err)
{
	_cleanup_free_ char *buf = NULL;
	struct mountinfo_entry e;
	bool any_v1 = false;
	char *cur;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &buf, NULL, 0, err) < 0)
		return -1;
	for (cur = buf; mountinfo_next(&cur, &e);)
		parse_mountinfo_entry(l, &e);
	parse_own_cgroups(l);
	for (int i = 0; i < V1_COUNT; i++)
		any_v1 |= l->v1[i] != NULL;
	if (l->unified && !any_v1)
		l->mode = CG_V2;
	else if (l->unified)
		l->mode = CG_HYBRID;
	else if (any_v1)
		l->mode = CG_V1;
	else
		return hull_err_make(err, ENOENT, "no cgroup filesystem is mounted");
	if (!l->own_unified)
		l->own_unified = xstrdup("/");
	for (int i = 0; i < V1_COUNT; i++)
		if (l->v1[i] && !l->own_v1[i])
			l->own_v1[i] = xstrdup("/");
	return 0;
}

const struct cg_layout *cg_layout_get(struct hull_err **err)
{
	const struct cg_layout *r = NULL;

	pthread_mutex_lock(&layout_lock);
	if (test_layout) {
		r = test_layout;
	} else if (detected_done) {
		r = &detected;
	} else if (detect(&detected, err) == 0) {
		detected_done = true;
		r = &detected;
	} else {
		cg_layout_clear(&detected);
	}
	pthread_mutex_unlock(&layout_lock);
	return r;
}

bool cgroups_host_is_v2(void)
{
	const struct cg_layout *l = cg_layout_get(NULL);
	return l && l->mode == CG_V2;
}

bool cg_v2_has_controller(const struct cg_layout *l, const char *name)
{
	_cleanup_free_ char *buf = NULL;
	char *save = NULL;

	if (!l->unified || cg_read(l->unified, "cgroup.controllers", &buf, NULL) < 0)
		return false;
	for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (strcmp(t, name) == 0)
			return true;
	return false;
}

bool cg_ctrl_is_v1(const struct cg_layout *l, enum v1_ctrl c)
{
	return l->v1[c] != NULL;
}

/* ---- paths ------------------------------------------------------------------ */

int cg_check_path(const char *path, const char *field, struct hull_err **err)
{
	const char *p = path;

	if (strchr(path, '\n'))
		return hull_err_make(err, 0, "%s: \"%s\" contains a newline", field, path);
	while (*p) {
		size_t len;
		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if ((len == 2 && strncmp(p, "..", 2) == 0))
			return hull_err_make(err, 0, "%s: \"%s\" escapes the cgroup root", field, path);
		if (len == 1 && p[0] == '.')
			return hull_err_make(err, 0, "%s: \"%s\" has a \".\" component", field, path);
		p += len;
	}
	return 0;
}

/* Join a and b with single slashes; result starts with "/" and has no trailing "/". */
static char *join_clean(const char *a, const char *b)
{
	_cleanup_free_ char *cat = xasprintf("/%s/%s", a ? a : "", b ? b : "");
	char *r = xmalloc(strlen(cat) + 2), *o = r;

	for (const char *s = cat; *s; s++) {
		if (*s == '/' && o > r && o[-1] == '/')
			continue;
		*o++ = *s;
	}
	if (o > r + 1 && o[-1] == '/')
		o--;
	*o = '\0';
	return r;
}

char *cg_resolve(const char *cgroups_path, const char *id, const char *own, bool parent_of_own)
{
	_cleanup_free_ char *def = NULL, *base = NULL;
	const char *p = cgroups_path;

	if (!p || !*p)
		p = def = xasprintf("hull/%s", id);
	if (p[0] == '/')
		return join_clean(p, NULL);
	base = join_clean(own ? own : "/", NULL);
	if (parent_of_own) {
		char *slash = strrchr(base, '/');
		if (slash == base)
			base[1] = '\0';
		else
			*slash = '\0';
	}
	return join_clean(base, p);
}

int cg_systemd_parse(const char *path, const char *id, char **slice, char **unit, struct hull_err **err)
{
	_cleanup_free_ char *copy = NULL;
	char *f[3];

	if (!path || !*path) {
		*slice = xstrdup("system.slice");
		*unit = xasprintf("hull-%s.scope", id);
		return 0;
	}
	copy = xstrdup(path);
	f[0] = copy;
	f[1] = strchr(f[0], ':');
	f[2] = f[1] ? strchr(f[1] + 1, ':') : NULL;
	if (!f[1] || !f[2] || strchr(f[2] + 1, ':'))
		return hull_err_make(err, 0, "linux.cgroupsPath: \"%s\": expected \"slice:prefix:name\" "
				     "with --systemd-cgroup", path);
	*f[1]++ = '\0';
	*f[2]++ = '\0';
	for (int i = 0; i < 3; i++)
		if (strchr(f[i], '/') || strcmp(f[i], "..") == 0)
			return hull_err_make(err, 0, "linux.cgroupsPath: \"%s\": \"%s\" is not a unit name",
					     path, f[i]);
	if (!*f[2])
		return hull_err_make(err, 0, "linux.cgroupsPath: \"%s\": empty name", path);
	*slice = xstrdup(*f[0] ? f[0] : "system.slice");
	/* runc: a name ending in .slice is taken as is; otherwise prefix-name.scope. */
	if (strlen(f[2]) > 6 && strcmp(f[2] + strlen(f[2]) - 6, ".slice") == 0)
		*unit = xstrdup(f[2]);
	else if (*f[1])
		*unit = xasprintf("%s-%s.scope", f[1], f[2]);
	else
		*unit = xasprintf("%s.scope", f[2]);
	return 0;
}

int cg_systemd_slice_path(const char *slice, char **out, struct hull_err **err)
{
	size_t len = strlen(slice);
	char *r, *o;

	if (strcmp(slice, "-.slice") == 0) {
		*out = xstrdup("");
		return 0;
	}
	if (len <= 6 || strcmp(slice + len - 6, ".slice") != 0 || slice[0] == '-' ||
	    strstr(slice, "--") || slice[len - 7] == '-')
		return hull_err_make(err, 0, "linux.cgroupsPath: invalid slice name \"%s\"", slice);
	/* "a-b-c.slice" lives in /a.slice/a-b.slice/a-b-c.slice */
	r = xmalloc(len * len + 8);
	o = r;
	for (size_t i = 0; i < len - 6; i++) {
		if (slice[i] != '-')
			continue;
		o += sprintf(o, "/%.*s.slice", (int)i, slice);
	}
	sprintf(o, "/%s", slice);
	*out = r;
	return 0;
}
