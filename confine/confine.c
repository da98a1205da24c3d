/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process confinement: validation up front, then the attributes applied in
 * the container process in runc's order (see confine_apply), with rlimits,
 * oom_score_adj, personality, I/O priority, scheduler, umask and cwd here;
 * capabilities/user in caps.c, seccomp in seccomp.c, LSM labels in lsm.c.
 */
#include "internal.h"

#include <dirent.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* ---- tables ----------------------------------------------------------------- */

static const struct { int res; const char *name; } rlimit_names[] = {
	{ RLIMIT_CPU, "RLIMIT_CPU" },	    { RLIMIT_FSIZE, "RLIMIT_FSIZE" },
	{ RLIMIT_DATA, "RLIMIT_DATA" },	    { RLIMIT_STACK, "RLIMIT_STACK" },
	{ RLIMIT_CORE, "RLIMIT_CORE" },	    { RLIMIT_RSS, "RLIMIT_RSS" },
	{ RLIMIT_NPROC, "RLIMIT_NPROC" },   { RLIMIT_NOFILE, "RLIMIT_NOFILE" },
	{ RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK" }, { RLIMIT_AS, "RLIMIT_AS" },
	{ RLIMIT_LOCKS, "RLIMIT_LOCKS" },   { RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING" },
	{ RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE" }, { RLIMIT_NICE, "RLIMIT_NICE" },
	{ RLIMIT_RTPRIO, "RLIMIT_RTPRIO" }, { RLIMIT_RTTIME, "RLIMIT_RTTIME" },
};

static const struct { const char *name; unsigned long value; } personality_domains[] = {
	{ "LINUX", PER_LINUX },
	{ "LINUX32", PER_LINUX32 },
};

static const struct { const char *name; unsigned long value; } personality_flags[] = {
	{ "UNAME26", UNAME26 },
	{ "ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE },
	{ "FDPIC_FUNCPTRS", FDPIC_FUNCPTRS },
	{ "MMAP_PAGE_ZERO", MMAP_PAGE_ZERO },
	{ "ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT },
	{ "READ_IMPLIES_EXEC", READ_IMPLIES_EXEC },
	{ "ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT },
	{ "SHORT_INODE", SHORT_INODE },
	{ "WHOLE_SECONDS", WHOLE_SECONDS },
	{ "STICKY_TIMEOUTS", STICKY_TIMEOUTS },
	{ "ADDR_LIMIT_3GB", ADDR_LIMIT_3GB },
};

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
/* SCHED_FLAG_RESET_ON_FORK .. SCHED_FLAG_UTIL_CLAMP_MAX (uapi/linux/sched.h). */
#define SCHED_FLAGS_KNOWN 0x7fULL

static const struct { int policy; const char *name; } sched_policies[] = {
	{ SCHED_OTHER, "SCHED_OTHER" }, { SCHED_FIFO, "SCHED_FIFO" },
	{ SCHED_RR, "SCHED_RR" },	{ SCHED_BATCH, "SCHED_BATCH" },
	{ SCHED_IDLE, "SCHED_IDLE" },	{ SCHED_DEADLINE, "SCHED_DEADLINE" },
};

/* uapi struct sched_attr (SCHED_ATTR_SIZE_VER0 fields); glibc 2.36 has no wrapper. */
struct sched_attr_v0 {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_SHIFT 13

static const char *rlimit_name(const struct oci_rlimit *r, char *buf, size_t len)
{
	if (r->name)
		return r->name;
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (rlimit_names[i].res == r->resource)
			return rlimit_names[i].name;
	snprintf(buf, len, "RLIMIT_%d", r->resource);
	return buf;
}

static const char *rlim_str(uint64_t v, char *buf, size_t len)
{
	if (v == (uint64_t)RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

static int personality_value(const struct oci_personality *p, unsigned long *out, struct hull_err **err)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(personality_domains); i++)
		if (p->domain && strcmp(p->domain, personality_domains[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(personality_domains))
		return hull_err_make(err, 0, "linux.personality.domain: unknown domain \"%s\" (LINUX or LINUX32)",
				     p->domain ? p->domain : "");
	v = personality_domains[i].value;
	for (size_t f = 0; f < p->n_flags; f++) {
		for (i = 0; i < ARRAY_SIZE(personality_flags); i++)
			if (p->flags[f] && strcmp(p->flags[f], personality_flags[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(personality_flags))
			return hull_err_make(err, 0, "linux.personality.flags[%zu]: unknown flag \"%s\"", f,
					     p->flags[f] ? p->flags[f] : "");
		v |= personality_flags[i].value;
	}
	*out = v;
	return 0;
}

/* ---- validation --------------------------------------------------------------- */

static int validate_rlimits(const struct oci_process *proc, struct hull_err **err)
{
	char b1[32], b2[32];

	for (size_t i = 0; i < proc->n_rlimits; i++) {
		const struct oci_rlimit *r = &proc->rlimits[i];

		if (r->resource < 0 || r->resource >= RLIMIT_NLIMITS)
			return hull_err_make(err, 0, "process.rlimits[%zu].type: unknown resource %d", i, r->resource);
		if (r->soft > r->hard)
			return hull_err_make(err, 0, "process.rlimits[%zu]: soft limit %s is greater than hard limit %s",
					     i, rlim_str(r->soft, b1, sizeof(b1)), rlim_str(r->hard, b2, sizeof(b2)));
		for (size_t j = 0; j < i; j++)
			if (proc->rlimits[j].resource == r->resource)
				return hull_err_make(err, 0, "process.rlimits[%zu]: duplicate %s", i,
						     rlimit_name(r, b1, sizeof(b1)));
	}
	return 0;
}

static int validate_scheduler(const struct oci_scheduler *s, struct hull_err **err)
{
	size_t i;
	bool rt, dl;

	if (!s->set)
		return 0;
	for (i = 0; i < ARRAY_SIZE(sched_policies); i++)
		if (sched_policies[i].policy == s->policy)
			break;
	if (i == ARRAY_SIZE(sched_policies))
		return hull_err_make(err, 0, "process.scheduler.policy: unknown policy %d", s->policy);
	rt = s->policy == SCHED_FIFO || s->policy == SCHED_RR;
	dl = s->policy == SCHED_DEADLINE;
	if (s->nice < -20 || s->nice > 19)
		return hull_err_make(err, 0, "process.scheduler.nice: %d is out of range (-20..19)", s->nice);
	if (rt && (s->priority < 1 || s->priority > 99))
		return hull_err_make(err, 0, "process.scheduler.priority: %d is out of range (1..99) for %s",
				     s->priority, sched_policies[i].name);
	if (!rt && s->priority != 0)
		return hull_err_make(err, 0, "process.scheduler.priority: must be 0 for %s", sched_policies[i].name);
	if (s->flags & ~SCHED_FLAGS_KNOWN)
		return hull_err_make(err, 0, "process.scheduler.flags: unknown flags 0x%" PRIx64,
				     (uint64_t)(s->flags & ~SCHED_FLAGS_KNOWN));
	if (!dl && (s->runtime || s->deadline || s->period))
		return hull_err_make(err, 0, "process.scheduler: runtime, deadline and period need SCHED_DEADLINE");
	if (dl && (s->runtime == 0 || s->runtime > s->deadline || (s->period && s->deadline > s->period)))
		return hull_err_make(err, 0,
				     "process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= period (period 0 = deadline)");
	return 0;
}

/* The spec requires KEY=value; runc refuses the rest as it sets up the
 * environment.  Checked here so create and exec (--env, --process) agree. */
static int validate_env(const struct oci_process *proc, struct hull_err **err)
{
	for (size_t i = 0; proc->env && proc->env[i]; i++) {
		const char *eq = strchr(proc->env[i], '=');

		if (eq == NULL || eq == proc->env[i])
			return hull_err_make(err, 0, "process.env[%zu]: \"%s\" is not KEY=value", i, proc->env[i]);
	}
	return 0;
}

static int validate_misc(const struct oci_process *proc, struct hull_err **err)
{
	int last = caps_last_known();

	if (proc->has_oom_score_adj && (proc->oom_score_adj < -1000 || proc->oom_score_adj > 1000))
		return hull_err_make(err, 0, "process.oomScoreAdj: %d is out of range (-1000..1000)",
				     proc->oom_score_adj);
	if (proc->user.has_umask && proc->user.umask > 0777)
		return hull_err_make(err, 0, "process.user.umask: %#o is not a permission mask", proc->user.umask);
	if (proc->io_priority.set) {
		if (proc->io_priority.class_ < 1 || proc->io_priority.class_ > 3)
			return hull_err_make(err, 0, "process.ioPriority.class: unknown class %d", proc->io_priority.class_);
		if (proc->io_priority.priority < 0 || proc->io_priority.priority > 7)
			return hull_err_make(err, 0, "process.ioPriority.priority: %d is out of range (0..7)",
					     proc->io_priority.priority);
	}
	for (int set = 0; proc->has_capabilities && set < OCI_CAP_SET_COUNT; set++)
		if (last < 63 && (proc->caps[set] >> (last + 1)))
			hull_debug("capabilities above %d are unknown to this kernel and skipped", last);
	return 0;
}

int confine_validate(const struct oci_spec *spec, const struct oci_process *proc, struct hull_err **err)
{
	if (proc && (validate_env(proc, err) < 0 || validate_rlimits(proc, err) < 0 || validate_scheduler(&proc->scheduler, err) < 0 ||
		     validate_misc(proc, err) < 0 || lsm_validate(proc, err) < 0))
		return -1;
	if (spec && spec->has_linux) {
		unsigned long pers;

		if (spec->linux_.personality.set && personality_value(&spec->linux_.personality, &pers, err) < 0)
			return -1;
		if (confine_seccomp_validate(spec->linux_.seccomp, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- the steps -------------------------------------------------------------- */

static int apply_oom_score_adj(const struct oci_process *proc, struct hull_err **err)
{
	char buf[16];
	int n;

	if (!proc->has_oom_score_adj)
		return 0;
	n = snprintf(buf, sizeof(buf), "%d", proc->oom_score_adj);
	if (write_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, (size_t)n, err) < 0)
		/* Lowering it needs CAP_SYS_RESOURCE. */
		return hull_err_wrap(err, "process.oomScoreAdj %d", proc->oom_score_adj);
	return 0;
}

static int apply_rlimits(const struct oci_process *proc, struct hull_err **err)
{
	char name[32], b1[32], b2[32];

	for (size_t i = 0; i < proc->n_rlimits; i++) {
		const struct oci_rlimit *r = &proc->rlimits[i];
		struct rlimit rl = { .rlim_cur = (rlim_t)r->soft, .rlim_max = (rlim_t)r->hard };

		/* Raising a hard limit needs CAP_SYS_RESOURCE: say which limit. */
		if (setrlimit((__rlimit_resource_t)r->resource, &rl) < 0)
			return hull_err_make(err, errno, "setrlimit %s soft=%s hard=%s", rlimit_name(r, name, sizeof(name)),
					     rlim_str(r->soft, b1, sizeof(b1)), rlim_str(r->hard, b2, sizeof(b2)));
	}
	return 0;
}

static int apply_personality(const struct oci_spec *spec, struct hull_err **err)
{
	unsigned long want;
	int got;

	if (!spec || !spec->has_linux || !spec->linux_.personality.set)
		return 0;
	if (personality_value(&spec->linux_.personality, &want, err) < 0)
		return -1;
	if (personality(want) < 0)
		return hull_err_make(err, errno, "linux.personality: personality %#lx", want);
	/* The kernel stores what it supports; read back to catch the rest. */
	got = personality(0xffffffff);
	if (got < 0 || (unsigned long)got != want)
		return hull_err_make(err, EINVAL, "linux.personality: %#lx not supported by the kernel (got %#x)", want,
				     (unsigned)got);
	return 0;
}

static int apply_io_priority(const struct oci_process *proc, struct hull_err **err)
{
	int v;

	if (!proc->io_priority.set)
		return 0;
	v = (proc->io_priority.class_ << IOPRIO_CLASS_SHIFT) | proc->io_priority.priority;
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, v) < 0)
		return hull_err_make(err, errno, "process.ioPriority: ioprio_set class %d priority %d",
				     proc->io_priority.class_, proc->io_priority.priority);
	return 0;
}

static int apply_scheduler(const struct oci_process *proc, struct hull_err **err)
{
	const struct oci_scheduler *s = &proc->scheduler;
	struct sched_attr_v0 attr = { .size = sizeof(attr) };

	if (!s->set)
		return 0;
	attr.sched_policy = (uint32_t)s->policy;
	attr.sched_flags = s->flags;
	attr.sched_nice = s->nice;
	attr.sched_priority = (uint32_t)s->priority;
	attr.sched_runtime = s->runtime;
	attr.sched_deadline = s->deadline;
	attr.sched_period = s->period;
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		return hull_err_make(err, errno, "process.scheduler: sched_setattr policy %d nice %d priority %d",
				     s->policy, s->nice, s->priority);
	return 0;
}

static void confine_late_free(struct confine_late *late)
{
	free(late->filter.insns);
	late->filter.insns = NULL;
}

/*
 * The order is runc's, with the seccomp load moved to the end:
 *  - oom_score_adj, rlimits, personality, ioprio, scheduler and the LSM exec
 *    label while we still hold every capability;
 *  - no_new_privs, then the filter compiled (libseccomp, memfd) and every
 *    file read (cap_last_cap), but not loaded: a filter whose default refuses,
 *    or a notify action whose listener does not have the fd yet, would catch
 *    our own syscalls (issue 16: openat of cap_last_cap, close_range, chdir);
 *  - bounding set while CAP_SETPCAP is still there, then user switch + capset
 *    (keeping CAP_SYS_ADMIN without no_new_privs: loading needs it);
 *  - chdir before the user switch, and again after it only if refused;
 *    umask last.
 */
int confine_prepare(const struct oci_spec *spec, const struct oci_process *proc, struct confine_late *late,
		    struct hull_err **err)
{
	const uint64_t sys_admin = 1ULL << CAP_SYS_ADMIN;
	bool nnp = proc->no_new_privileges, cwd_done = false;
	uint64_t extra = 0;

	*late = (struct confine_late){ 0 };
	if (apply_oom_score_adj(proc, err) < 0 || apply_rlimits(proc, err) < 0 || apply_personality(spec, err) < 0 ||
	    apply_io_priority(proc, err) < 0 || apply_scheduler(proc, err) < 0 || lsm_apply(proc, err) < 0)
		return -1;
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hull_err_make(err, errno, "process.noNewPrivileges: prctl PR_SET_NO_NEW_PRIVS");
	if (spec && spec->has_linux && confine_seccomp_prepare(spec->linux_.seccomp, &late->filter, err) < 0)
		return -1;
	if (late->filter.insns && !nnp &&
	    !(proc->has_capabilities && (proc->caps[OCI_CAP_EFFECTIVE] & proc->caps[OCI_CAP_PERMITTED] & sys_admin))) {
		extra = sys_admin;
		late->drop_caps = true;
		caps_capset_data(proc, late->caps);
	}
	/* runc's two tries: as root first (a cwd only the runtime can enter),
	 * then as the user only if root was refused (a volume chowned to the
	 * user that root cannot search: root_squash, a runtime without
	 * CAP_DAC_OVERRIDE). */
	if (proc->cwd && chdir(proc->cwd) == 0)
		cwd_done = true;
	else if (proc->cwd && errno != EACCES && errno != EPERM) {
		hull_err_make(err, errno, "process.cwd: chdir %s", proc->cwd);
		goto fail;
	}
	if (caps_drop_bounding(proc, err) < 0 || caps_switch_user(proc, extra, err) < 0)
		goto fail;
	if (proc->cwd && !cwd_done && chdir(proc->cwd) < 0) {
		hull_err_make(err, errno, "process.cwd: chdir %s", proc->cwd);
		goto fail;
	}
	umask(proc->user.has_umask ? (mode_t)proc->user.umask : 0022);
	/* CVE-2024-21626: a cwd reached through a leaked host fd lies outside
	 * the root, and the kernel says so: getcwd() fails with ENOENT. */
	if (proc->cwd) {
		char buf[PATH_MAX];
		if (!getcwd(buf, sizeof(buf)) && errno == ENOENT) {
			hull_err_make(err, 0, "process.cwd: %s is outside the container", proc->cwd);
			goto fail;
		}
	}
	return 0;

fail:
	confine_late_free(late);
	return -1;
}

int confine_load_filter(struct confine_late *late, int *notify_fd, struct hull_err **err)
{
	return confine_seccomp_install(&late->filter, notify_fd, err);
}

int confine_finish(struct confine_late *late, struct hull_err **err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	if (confine_seccomp_install(&late->filter, NULL, err) < 0)
		return -1;
	/* One capset: the spec's sets, CAP_SYS_ADMIN (kept for the load) gone. */
	if (late->drop_caps && syscall(SYS_capset, &hdr, (struct __user_cap_data_struct *)late->caps) < 0)
		return hull_err_make(err, errno, "process.capabilities: capset after loading seccomp");
	late->drop_caps = false;
	return 0;
}

int confine_apply(const struct oci_spec *spec, const struct oci_process *proc, int *notify_fd,
		  struct hull_err **err)
{
	struct confine_late late;
	int r;

	if (notify_fd)
		*notify_fd = -1;
	if (confine_prepare(spec, proc, &late, err) < 0)
		return -1;
	r = confine_load_filter(&late, notify_fd, err);
	if (r == 0 && (r = confine_finish(&late, err)) < 0 && notify_fd && *notify_fd >= 0) {
		close(*notify_fd);
		*notify_fd = -1;
	}
	confine_late_free(&late);
	return r;
}

/* ---- fds ----------------------------------------------------------------- */

static int close_fds_slow(unsigned first, struct hull_err **err)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self;

	if (d == NULL)
		return hull_err_make(err, errno, "open /proc/self/fd");
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		uint64_t fd;

		if (parse_u64(de->d_name, &fd) < 0 || fd < first || (int)fd == self)
			continue;
		close((int)fd);
	}
	closedir(d);
	return 0;
}

int confine_close_fds(int preserve_fds, struct hull_err **err)
{
	unsigned first = 3u + (unsigned)(preserve_fds > 0 ? preserve_fds : 0);

	if (syscall(SYS_close_range, first, ~0U, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return hull_err_make(err, errno, "close_range %u", first);
	return close_fds_slow(first, err);
}
