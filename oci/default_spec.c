/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `hull spec`: runc's default config.json (libcontainer/specconv Example(),
 * with the cgroup namespace that runc adds on cgroup v2 hosts) and, for
 * --rootless, runc's ToRootless() conversion.
 */
#include "oci/internal.h"

static const char *const default_caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };

static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
	"/sys/devices/virtual/tpm",
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

struct default_mount {
	const char *destination, *type, *source;
	const char *options[8];  /* NULL-terminated */
};

static const struct default_mount default_mounts[] = {
	{ "/proc", "proc", "proc", { NULL } },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k", NULL } },
	{ "/dev/pts", "devpts", "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL } },
	{ "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL } },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev", NULL } },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro", NULL } },
	{ "/sys/fs/cgroup", "cgroup", "cgroup", { "nosuid", "noexec", "nodev", "relatime", "ro", NULL } },
};

/* Without a network namespace of its own a rootless container cannot mount
 * sysfs, so runc bind-mounts the host's /sys instead. */
static const struct default_mount rootless_sys = {
	"/sys", "none", "/sys", { "rbind", "nosuid", "noexec", "nodev", "ro", NULL }
};

static const enum oci_ns_type default_ns[] = {
	OCI_NS_PID, OCI_NS_NETWORK, OCI_NS_IPC, OCI_NS_UTS, OCI_NS_MOUNT, OCI_NS_CGROUP,
};

static jobj *str_array(const char *const *v, size_t n)
{
	jobj *a = json_object_new_array();
	for (size_t i = 0; i < n && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static void add(jobj *o, const char *key, jobj *v)
{
	json_object_object_add(o, key, v);
}

static jobj *process(void)
{
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
	};
	static const char *const args[] = { "sh" };
	jobj *p = json_object_new_object(), *user = json_object_new_object(),
	     *caps = json_object_new_object(), *rl = json_object_new_object(),
	     *rls = json_object_new_array();

	add(p, "terminal", json_object_new_boolean(true));
	add(user, "uid", json_object_new_int(0));
	add(user, "gid", json_object_new_int(0));
	add(p, "user", user);
	add(p, "args", str_array(args, ARRAY_SIZE(args)));
	add(p, "env", str_array(env, ARRAY_SIZE(env)));
	add(p, "cwd", json_object_new_string("/"));
	add(caps, "bounding", str_array(default_caps, ARRAY_SIZE(default_caps)));
	add(caps, "effective", str_array(default_caps, ARRAY_SIZE(default_caps)));
	add(caps, "permitted", str_array(default_caps, ARRAY_SIZE(default_caps)));
	add(p, "capabilities", caps);
	add(rl, "type", json_object_new_string("RLIMIT_NOFILE"));
	add(rl, "hard", json_object_new_int(1024));
	add(rl, "soft", json_object_new_int(1024));
	json_object_array_add(rls, rl);
	add(p, "rlimits", rls);
	add(p, "noNewPrivileges", json_object_new_boolean(true));
	return p;
}

static jobj *mount(const struct default_mount *m, bool rootless)
{
	jobj *o = json_object_new_object(), *opts;

	add(o, "destination", json_object_new_string(m->destination));
	add(o, "type", json_object_new_string(m->type));
	add(o, "source", json_object_new_string(m->source));
	if (!m->options[0])
		return o;
	opts = json_object_new_array();
	for (size_t i = 0; m->options[i]; i++) {
		/* Rootless: the mapped user has no gid 5 (tty) to hand out. */
		if (rootless && (!strncmp(m->options[i], "gid=", 4) || !strncmp(m->options[i], "uid=", 4)))
			continue;
		json_object_array_add(opts, json_object_new_string(m->options[i]));
	}
	add(o, "options", opts);
	return o;
}

static jobj *id_mapping(uint32_t host)
{
	jobj *a = json_object_new_array(), *m = json_object_new_object();

	add(m, "containerID", json_object_new_int(0));
	add(m, "hostID", json_object_new_int64(host));
	add(m, "size", json_object_new_int(1));
	json_object_array_add(a, m);
	return a;
}

static jobj *linux_section(bool rootless, uid_t uid, gid_t gid)
{
	jobj *l = json_object_new_object(), *ns = json_object_new_array();

	if (rootless) {
		add(l, "uidMappings", id_mapping((uint32_t)uid));
		add(l, "gidMappings", id_mapping((uint32_t)gid));
	} else {
		/* Rootless drops cgroup settings: the caller cannot write them. */
		jobj *res = json_object_new_object(), *devs = json_object_new_array(),
		     *deny = json_object_new_object();
		add(deny, "allow", json_object_new_boolean(false));
		add(deny, "access", json_object_new_string("rwm"));
		json_object_array_add(devs, deny);
		add(res, "devices", devs);
		add(l, "resources", res);
	}
	for (size_t i = 0; i < ARRAY_SIZE(default_ns); i++) {
		jobj *o;
		/* Rootless shares the host network (as runc): an unprivileged caller could
		 * not connect a new network namespace to anything. */
		if (rootless && default_ns[i] == OCI_NS_NETWORK)
			continue;
		o = json_object_new_object();
		add(o, "type", json_object_new_string(oci_ns_table[default_ns[i]].name));
		json_object_array_add(ns, o);
	}
	if (rootless) {
		jobj *o = json_object_new_object();
		add(o, "type", json_object_new_string(oci_ns_table[OCI_NS_USER].name));
		json_object_array_add(ns, o);
	}
	add(l, "namespaces", ns);
	add(l, "maskedPaths", str_array(masked_paths, ARRAY_SIZE(masked_paths)));
	add(l, "readonlyPaths", str_array(readonly_paths, ARRAY_SIZE(readonly_paths)));
	return l;
}

char *oci_spec_default_json(bool rootless, uid_t uid, gid_t gid)
{
	_cleanup_jobj_ jobj *o = json_object_new_object();
	jobj *root = json_object_new_object(), *mounts = json_object_new_array();

	add(o, "ociVersion", json_object_new_string(HULL_OCI_SPEC_VERSION));
	add(o, "process", process());
	add(root, "path", json_object_new_string("rootfs"));
	add(root, "readonly", json_object_new_boolean(true));
	add(o, "root", root);
	add(o, "hostname", json_object_new_string("hull"));
	for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
		const struct default_mount *m = &default_mounts[i];
		if (rootless && strcmp(m->destination, "/sys") == 0)
			m = &rootless_sys;
		json_object_array_add(mounts, mount(m, rootless));
	}
	add(o, "mounts", mounts);
	add(o, "linux", linux_section(rootless, uid, gid));
	return oci_json_dump(o, true);
}
