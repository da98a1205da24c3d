/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Namespaces: which ones to create, joining existing ones (by path or by
 * process), user-namespace id maps and time-namespace offsets.
 */
#include "namespaces/internal.h"

#include <inttypes.h>
#include <sched.h>
#include <sys/pidfd.h>

/* {type, CLONE_* flag, name in errors}; index = enum oci_ns_type.  Kept here
 * (not oci_ns_table) so the guest agent can link namespaces/ without oci/'s
 * parser. */
static const struct { int flag; const char *name; const char *proc; } ns_types[OCI_NS_COUNT] = {
	[OCI_NS_PID]     = { CLONE_NEWPID,    "pid",     "pid" },
	[OCI_NS_NETWORK] = { CLONE_NEWNET,    "network", "net" },
	[OCI_NS_MOUNT]   = { CLONE_NEWNS,     "mount",   "mnt" },
	[OCI_NS_IPC]     = { CLONE_NEWIPC,    "ipc",     "ipc" },
	[OCI_NS_UTS]     = { CLONE_NEWUTS,    "uts",     "uts" },
	[OCI_NS_USER]    = { CLONE_NEWUSER,   "user",    "user" },
	[OCI_NS_CGROUP]  = { CLONE_NEWCGROUP, "cgroup",  "cgroup" },
	[OCI_NS_TIME]    = { CLONE_NEWTIME,   "time",    "time" },
};

static bool ns_type_valid(enum oci_ns_type t)
{
	return (unsigned int)t < OCI_NS_COUNT;
}

int ns_new_flags(const struct oci_spec *spec)
{
	int flags = 0;

	for (size_t i = 0; i < spec->linux_.n_namespaces; i++) {
		const struct oci_namespace *n = &spec->linux_.namespaces[i];
		if (ns_type_valid(n->type) && n->path == NULL)
			flags |= ns_types[n->type].flag;
	}
	return flags;
}

struct ns_join {
	size_t idx;
	int fd;
	int flag;
};

static int join_one(const struct oci_spec *spec, const struct ns_join *j, struct hull_err **err)
{
	const struct oci_namespace *n = &spec->linux_.namespaces[j->idx];

	if (setns(j->fd, j->flag) < 0)
		return hull_err_make(err, errno, "linux.namespaces[%zu] (%s) %s: setns", j->idx,
				     ns_types[n->type].name, n->path);
	return 0;
}

int ns_join_paths(const struct oci_spec *spec, int skip, struct hull_err **err)
{
	const struct oci_linux *l = &spec->linux_;
	struct ns_join joins[OCI_NS_COUNT * 2];
	size_t n = 0;
	int r = 0;

	/* Open every path first: joining the mount namespace changes what the
	 * remaining paths name (runc's nsexec opens them all up front too). */
	for (size_t i = 0; i < l->n_namespaces; i++) {
		const struct oci_namespace *ns = &l->namespaces[i];
		int fd;

		if (!ns_type_valid(ns->type) || ns->path == NULL || (ns_types[ns->type].flag & skip))
			continue;
		if (n == ARRAY_SIZE(joins)) {
			r = hull_err_make(err, 0, "linux.namespaces[%zu]: too many namespaces", i);
			goto out;
		}
		fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = hull_err_make(err, errno, "linux.namespaces[%zu] (%s) %s: open", i,
					  ns_types[ns->type].name, ns->path);
			goto out;
		}
		joins[n++] = (struct ns_join){ .idx = i, .fd = fd, .flag = ns_types[ns->type].flag };
	}

	/* The user namespace first: it grants the capabilities needed to join
	 * namespaces it owns; then the others in spec order. */
	for (size_t i = 0; i < n && r == 0; i++)
		if (joins[i].flag == CLONE_NEWUSER)
			r = join_one(spec, &joins[i], err);
	for (size_t i = 0; i < n && r == 0; i++)
		if (joins[i].flag != CLONE_NEWUSER)
			r = join_one(spec, &joins[i], err);
out:
	for (size_t i = 0; i < n; i++)
		close(joins[i].fd);
	return r;
}

static pid_t pid_in_proc(pid_t pid);

/* Kernels before 5.8 only take namespace fds: one setns per type. */
static int join_pid_per_type(pid_t pid, int flags, struct hull_err **err)
{
	static const enum oci_ns_type order[] = { OCI_NS_USER, OCI_NS_IPC, OCI_NS_UTS, OCI_NS_NETWORK,
						  OCI_NS_PID, OCI_NS_CGROUP, OCI_NS_TIME, OCI_NS_MOUNT };
	int fds[ARRAY_SIZE(order)];
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		fds[i] = -1;
		if (!(flags & ns_types[order[i]].flag))
			continue;
		_cleanup_free_ char *p = xasprintf("/proc/%d/ns/%s", (int)pid_in_proc(pid),
						ns_types[order[i]].proc);
		fds[i] = open(p, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 && r == 0)
			r = hull_err_make(err, errno, "open %s", p);
	}
	for (size_t i = 0; i < ARRAY_SIZE(order) && r == 0; i++)
		if (fds[i] >= 0 && setns(fds[i], ns_types[order[i]].flag) < 0)
			r = hull_err_make(err, errno, "setns %s namespace of pid %d", ns_types[order[i]].name,
					  (int)pid);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

int ns_join_pid(pid_t pid, int pidfd, int flags, struct hull_err **err)
{
	_cleanup_close_ int own = -1;

	if (flags == 0)
		return 0;
	if (pidfd < 0) {
		own = pidfd_open(pid, 0);
		if (own < 0)
			return hull_err_make(err, errno, "pidfd_open %d", (int)pid);
		pidfd = own;
	}
	/* One setns for all types is atomic: either every namespace is joined or none. */
	if (setns(pidfd, flags) == 0)
		return 0;
	if (errno != EINVAL)
		return hull_err_make(err, errno, "setns namespaces of pid %d", (int)pid);
	return join_pid_per_type(pid, flags, err);
}

char *id_map_text(const struct oci_id_mapping *m, size_t n)
{
	size_t len = 0;
	char *buf = xmalloc(n * 36 + 1);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
	return buf;
}

/* "Pid:" of a pidfd's fdinfo is the pid in the pid namespace of the /proc
 * mount, which differs from `pid` when the caller sits in a newer pid
 * namespace than its /proc (container init before pivot_root). */
static pid_t pid_in_proc(pid_t pid)
{
	_cleanup_close_ int pidfd = pidfd_open(pid, 0);
	_cleanup_free_ char *path = NULL, *info = NULL;
	char *line;
	int64_t v;

	if (pidfd < 0)
		return pid;
	path = xasprintf("/proc/self/fdinfo/%d", pidfd);
	if (read_file_at(AT_FDCWD, path, &info, NULL, 0, NULL) < 0)
		return pid;
	line = strstr(info, "\nPid:\t");
	if (!line)
		return pid;
	line += 6;
	line[strcspn(line, "\n")] = '\0';
	return parse_i64(line, &v) == 0 && v > 0 ? (pid_t)v : pid;
}

int proc_pid_open(pid_t pid, char **name, struct hull_err **err)
{
	_cleanup_free_ char *dir = xasprintf("/proc/%d", (int)pid_in_proc(pid));
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return hull_err_make(err, errno, "open %s", dir);
	*name = take_ptr(dir);
	return fd;
}

int ns_write_id_maps(pid_t pid, const struct oci_spec *spec, struct hull_err **err)
{
	const struct oci_linux *l = &spec->linux_;
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = proc_pid_open(pid, &dir, err);
	int r;

	if (dfd < 0)
		return dfd;
	/* An unprivileged writer may only map its gids once setgroups is denied
	 * (user_namespaces(7)); root keeps setgroups so the process can drop
	 * supplementary groups later, as runc. */
	if (geteuid() != 0 && l->n_gid_mappings) {
		r = write_file_at(dfd, "setgroups", "deny", 4, err);
		if (r < 0)
			return hull_err_wrap(err, "%s", dir);
	}
	if (l->n_uid_mappings) {
		_cleanup_free_ char *m = id_map_text(l->uid_mappings, l->n_uid_mappings);
		r = write_file_at(dfd, "uid_map", m, strlen(m), err);
		if (r < 0)
			return hull_err_wrap(err, "linux.uidMappings: %s", dir);
	}
	if (l->n_gid_mappings) {
		_cleanup_free_ char *m = id_map_text(l->gid_mappings, l->n_gid_mappings);
		r = write_file_at(dfd, "gid_map", m, strlen(m), err);
		if (r < 0)
			return hull_err_wrap(err, "linux.gidMappings: %s", dir);
	}
	return 0;
}

int ns_write_time_offsets(const struct oci_spec *spec, struct hull_err **err)
{
	static const char *const clocks[2] = { "monotonic", "boottime" };
	char buf[128];
	size_t len = 0;

	for (size_t i = 0; i < 2; i++) {
		const struct oci_time_offset *t = &spec->linux_.time_offsets[i];
		if (t->set)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %" PRId64 " %u\n", clocks[i],
						t->secs, t->nanosecs);
	}
	if (len == 0)
		return 0;
	if (write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, len, err) < 0)
		return hull_err_wrap(err, "linux.timeOffsets");
	return 0;
}
