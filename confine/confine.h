/* SPDX-License-Identifier: Apache-2.0 */
/*
 * confine/confine.h: process confinement, the attributes a process gets
 * before it execs the user's program: capabilities and user (caps.c),
 * seccomp (seccomp.c, seccomp_enosys.c), LSM exec labels (lsm.c), rlimits
 * and the other process attributes, in runc's order (confine.c).
 *
 * Its own folder so that every process hull confines uses the same code:
 * the container init and exec (runtime/), the in-VM guest agent, and hull's
 * own helper processes (the virtio-fs file server).
 */
#ifndef HULL_CONFINE_H
#define HULL_CONFINE_H

#include "common/common.h"
#include "oci/oci.h"

/*
 * Validate before anything is created (create/exec): capability sets,
 * rlimits, seccomp (syscall names via libseccomp, actions, operators, arches,
 * flags), scheduler/ioPriority values, personality domain, LSM availability
 * (apparmor profile given but no AppArmor on the host => clear error).
 * Error messages name the field: "linux.seccomp.syscalls[2].names[0]: unknown
 * syscall \"foo\"".
 */
int confine_validate(const struct oci_spec *spec, const struct oci_process *proc, struct hull_err **err);

/* A compiled seccomp filter (struct sock_filter[len]): loading it is one
 * seccomp(2) call, so that almost nothing runs under it before execve. */
struct confine_filter {
	void *insns;                /* NULL: no filter */
	unsigned short len;
	unsigned flags;             /* SECCOMP_FILTER_FLAG_*, NEW_LISTENER with notify */
	bool notify;                /* an action is SCMP_ACT_NOTIFY */
	bool loaded;
};

/* What confine_prepare leaves for the moment before execve (confine_finish). */
struct confine_late {
	struct confine_filter filter;
	bool drop_caps;             /* capset(caps) after the filter: CAP_SYS_ADMIN was kept for it */
	uint32_t caps[6];           /* struct __user_cap_data_struct[2] */
};

/*
 * The process attributes in runc's order, in the container process, after
 * pivot_root; everything that can fail or read a file, so that after the
 * seccomp filter only execve runs:
 *   oom_score_adj, rlimits, personality, ioPriority, scheduler, LSM exec
 *   labels, no_new_privs, compile the filter (and read cap_last_cap),
 *   chdir(cwd) as root, bounding set, keep-caps + setgroups/setresgid/
 *   setresuid, capset, ambient, chdir again as the user if root could not,
 *   umask.
 * Without noNewPrivileges loading the filter needs CAP_SYS_ADMIN: it stays in
 * the effective and permitted sets until confine_finish drops it with one
 * capset, right after loading (runc loads the filter before its whole
 * capability drop instead).  A failure names the syscall and value:
 * "setrlimit RLIMIT_NOFILE 4096/4096: Operation not permitted".
 */
int confine_prepare(const struct oci_spec *spec, const struct oci_process *proc, struct confine_late *late,
		    struct hull_err **err);
/* Load the filter now, if not yet (with a notify action, before create
 * returns: the listener must have *notify_fd, which gets -1 otherwise). */
int confine_load_filter(struct confine_late *late, int *notify_fd, struct hull_err **err);
/* Right before execve: the filter (unless loaded) and the capset of
 * drop_caps; nothing else, so a profile need allow only execve (and capset
 * without noNewPrivileges when the process lacks CAP_SYS_ADMIN). */
int confine_finish(struct confine_late *late, struct hull_err **err);
/* All three at once (tests): *notify_fd gets the listener or -1. */
int confine_apply(const struct oci_spec *spec, const struct oci_process *proc, int *notify_fd,
		  struct hull_err **err);

/* Seccomp alone (exposed for tests): compile, then load. */
int confine_seccomp_load(const struct oci_seccomp *s, int *notify_fd, struct hull_err **err);
int confine_seccomp_prepare(const struct oci_seccomp *s, struct confine_filter *f, struct hull_err **err);
int confine_seccomp_install(struct confine_filter *f, int *notify_fd, struct hull_err **err);
/* Send the notify fd to listenerPath over SCM_RIGHTS with the container state
 * (the spec's "containerProcessState" JSON) as the message. */
int confine_seccomp_send_listener(const struct oci_seccomp *s, int notify_fd, const char *state_json,
				  struct hull_err **err);

/* Close every fd >= first_keep + n_keep except 0..2 and [3, 3+preserve). */
int confine_close_fds(int preserve_fds, struct hull_err **err);

#endif
