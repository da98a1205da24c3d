/* SPDX-License-Identifier: Apache-2.0 */
/* Spec vocabulary: namespace, capability, rlimit, scheduler and ioprio names. */
#include "oci/internal.h"

#include <sched.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

const struct oci_ns_info oci_ns_table[OCI_NS_COUNT] = {
	[OCI_NS_PID]     = { "pid",     CLONE_NEWPID,    "pid" },
	[OCI_NS_NETWORK] = { "network", CLONE_NEWNET,    "net" },
	[OCI_NS_MOUNT]   = { "mount",   CLONE_NEWNS,     "mnt" },
	[OCI_NS_IPC]     = { "ipc",     CLONE_NEWIPC,    "ipc" },
	[OCI_NS_UTS]     = { "uts",     CLONE_NEWUTS,    "uts" },
	[OCI_NS_USER]    = { "user",    CLONE_NEWUSER,   "user" },
	[OCI_NS_CGROUP]  = { "cgroup",  CLONE_NEWCGROUP, "cgroup" },
	[OCI_NS_TIME]    = { "time",    CLONE_NEWTIME,   "time" },
};

int oci_ns_from_name(const char *name)
{
	for (size_t i = 0; i < OCI_NS_COUNT; i++)
		if (strcmp(oci_ns_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Index = capability number (linux/capability.h). */
static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};
_Static_assert(ARRAY_SIZE(cap_names) == 41, "CAP_CHOWN (0) .. CAP_CHECKPOINT_RESTORE (40)");

int oci_cap_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcmp(cap_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *oci_cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

int oci_cap_last(void)
{
	return (int)ARRAY_SIZE(cap_names) - 1;
}

const char *const oci_cap_set_names[OCI_CAP_SET_COUNT] = {
	[OCI_CAP_BOUNDING] = "bounding", [OCI_CAP_EFFECTIVE] = "effective",
	[OCI_CAP_INHERITABLE] = "inheritable", [OCI_CAP_PERMITTED] = "permitted",
	[OCI_CAP_AMBIENT] = "ambient",
};

static const struct oci_name_value rlimits[] = {
	{ "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

int oci_rlimit_from_name(const char *name)
{
	return oci_table_lookup(rlimits, ARRAY_SIZE(rlimits), name);
}

/* sched(7) policy numbers; SCHED_ISO is reserved by the kernel but named by the spec. */
const struct oci_name_value oci_sched_policies[] = {
	{ "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 }, { "SCHED_BATCH", 3 },
	{ "SCHED_ISO", 4 },   { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 },
};
const size_t oci_n_sched_policies = ARRAY_SIZE(oci_sched_policies);

/* sched_setattr(2) sched_flags bits (linux/sched.h). */
const struct oci_name_value oci_sched_flags[] = {
	{ "SCHED_FLAG_RESET_ON_FORK", 0x01 }, { "SCHED_FLAG_RECLAIM", 0x02 },
	{ "SCHED_FLAG_DL_OVERRUN", 0x04 },    { "SCHED_FLAG_KEEP_POLICY", 0x08 },
	{ "SCHED_FLAG_KEEP_PARAMS", 0x10 },   { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
	{ "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};
const size_t oci_n_sched_flags = ARRAY_SIZE(oci_sched_flags);

/* ioprio_set(2) classes (linux/ioprio.h). */
const struct oci_name_value oci_ioprio_classes[] = {
	{ "IOPRIO_CLASS_RT", 1 }, { "IOPRIO_CLASS_BE", 2 }, { "IOPRIO_CLASS_IDLE", 3 },
};
const size_t oci_n_ioprio_classes = ARRAY_SIZE(oci_ioprio_classes);

/* linux.rootfsPropagation: the spec's four plus runc's recursive variants. */
const char *const oci_propagations[] = {
	"shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
};
const size_t oci_n_propagations = ARRAY_SIZE(oci_propagations);

const char *const oci_hook_names[OCI_HOOK_KIND_COUNT] = {
	[OCI_HOOK_PRESTART] = "prestart",
	[OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
	[OCI_HOOK_CREATE_CONTAINER] = "createContainer",
	[OCI_HOOK_START_CONTAINER] = "startContainer",
	[OCI_HOOK_POSTSTART] = "poststart",
	[OCI_HOOK_POSTSTOP] = "poststop",
};

const char *const oci_status_names[5] = {
	[OCI_STATUS_CREATING] = "creating", [OCI_STATUS_CREATED] = "created",
	[OCI_STATUS_RUNNING] = "running",   [OCI_STATUS_STOPPED] = "stopped",
	[OCI_STATUS_PAUSED] = "paused",
};

int oci_table_lookup(const struct oci_name_value *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].value;
	return -1;
}

bool oci_strv_contains(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}
