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

/* ============== allowlist filters for hull's own processes (allowlist.c) ===== */

/*
 * A seccomp filter that hull writes for a process of its own (the virtio-fs
 * file server, the VMM), not from a config.json: a list of syscalls, each
 * with an action and optional argument comparisons, and a default action for
 * everything else.  Built with libseccomp for the native architecture only:
 * a syscall through another ABI (x32, int 0x80) kills the process.
 *
 * Actions are the kernel's SECCOMP_RET_* values (as libseccomp's SCMP_ACT_*).
 */
#define CONFINE_ACT_KILL_PROCESS 0x80000000U
#define CONFINE_ACT_KILL_THREAD 0x00000000U
#define CONFINE_ACT_TRAP 0x00030000U
#define CONFINE_ACT_ERRNO(e) (0x00050000U | ((uint32_t)(e) & 0xffffU))
#define CONFINE_ACT_LOG 0x7ffc0000U
#define CONFINE_ACT_ALLOW 0x7fff0000U

/* Argument comparisons; CONFINE_CMP_NONE (0) ends a rule's list. */
enum confine_cmp {
	CONFINE_CMP_NONE = 0,
	CONFINE_CMP_NE,
	CONFINE_CMP_LT,
	CONFINE_CMP_LE,
	CONFINE_CMP_EQ,
	CONFINE_CMP_GE,
	CONFINE_CMP_GT,
	CONFINE_CMP_MASKED_EQ, /* (arg & value) == value_two */
};

#define CONFINE_MAX_ARGS 6

struct confine_arg {
	unsigned index;             /* 0..5 */
	enum confine_cmp op;
	uint64_t value, value_two;
};

/*
 * One syscall.  action 0 means CONFINE_ACT_ALLOW (an allowlist is mostly
 * allows; killing one thread for one syscall is not something hull wants).
 * args: all must match (AND), up to the first CONFINE_CMP_NONE; a rule with
 * none matches every call.  Several rules for one name are ORed, so
 *   { "fcntl", .args = { { 1, CONFINE_CMP_EQ, F_GETFL } } },
 *   { "fcntl", .args = { { 1, CONFINE_CMP_EQ, F_SETFL } } },
 * allows those two commands only.
 */
struct confine_rule {
	const char *name;           /* libseccomp's syscall name */
	uint32_t action;
	struct confine_arg args[CONFINE_MAX_ARGS];
};

/*
 * Compile rules[0..n) into f (struct confine_filter above, f->insns
 * malloc'd; load it with confine_seccomp_install, one seccomp(2) call that
 * needs no_new_privs or CAP_SYS_ADMIN).  Bad input is an error naming the rule: a NULL or unknown syscall
 * name ("seccomp allowlist: rules[3]: unknown syscall \"foo\""), an argument
 * index or comparison out of range, an invalid action.  A name libseccomp
 * knows but the native arch lacks is skipped (it cannot be called here).
 * f->flags has SECCOMP_FILTER_FLAG_TSYNC: the filter covers every thread.
 */
int confine_allowlist_prepare(const struct confine_rule *rules, size_t n, uint32_t default_action,
			      struct confine_filter *f, struct hull_err **err);
/*
 * Compile and load into the calling process (all its threads), after
 * setting no_new_privs.  Once it returns 0 the filter is in force: after the
 * load this function makes no syscall (the compiled program was on the
 * stack), so rules need cover only what the caller does next.  A thread
 * created afterwards (or still starting) needs what glibc's thread start
 * does (clone3, rseq, set_robust_list, rt_sigprocmask, mmap/mprotect for
 * its stack): glibc aborts a thread whose rseq registration fails.
 */
int confine_allowlist_load(const struct confine_rule *rules, size_t n, uint32_t default_action,
			   struct hull_err **err);

/* ============== jails for hull's own processes (jail.c) ====================== */

/*
 * Mount trees for a jail's root (the file server's, a VM container's VMM):
 * a detached copy of the mount at dirfd/path ("" with dirfd alone: the
 * directory dirfd itself), with mount attributes attrs (MOUNT_ATTR_*), and
 * its attachment at name in the directory parent_fd, on a directory or an
 * empty file made for it (a detached mount takes no other before Linux 6.15:
 * the parent must be attached, e.g. a tmpfs moved over "/").
 */
int confine_tree_clone(int dirfd, const char *path, bool recursive, unsigned int attrs, struct hull_err **err);
int confine_tree_attach(int parent_fd, const char *name, int tree, const char *what, struct hull_err **err);
/* A small tmpfs (mode 0755, dev allowed unless attrs says MOUNT_ATTR_NODEV),
 * moved over "/" of the calling process's (new, private) mount namespace;
 * returns its fd. */
int confine_tmpfs_over_root(unsigned int attrs, struct hull_err **err);
/* pivot_root into the mount at top_fd and detach the old root: nothing of
 * the previous tree stays reachable, cwd "/". */
int confine_pivot(int top_fd, struct hull_err **err);

/* Close every fd but keep[0..n) (sorted here; negatives and repeats
 * skipped; 0-2 only if listed). */
int confine_close_all_but(int *keep, size_t n, struct hull_err **err);

/*
 * Drop the calling THREAD to uid:gid (setgroups [gid]) with only the
 * capabilities in keep (a mask of 1 << CAP_*) effective and permitted,
 * every other one gone from the bounding set, no ambient ones.  Raw
 * syscalls: glibc's wrappers would change every thread of the process
 * (in a single-threaded process it is the same).  no_new_privs is the
 * caller's (a seccomp filter sets it).
 */
int confine_drop_privileges(uid_t uid, gid_t gid, uint64_t keep, struct hull_err **err);

/*
 * A jail that several threads of one process enter, each for itself, before
 * it runs anything hostile (a VM container's supervisor and VMM threads): a
 * mount namespace whose root is a read-only tmpfs holding `name` (a bind of
 * the directory dirfd: nodev, nosuid, noexec) and dev/X for each char device
 * of devs the host has (made in the tmpfs, 0600, owned by uid:gid).
 */
struct confine_jail {
	int mntns;                  /* the jail's mount namespace (an nsfs fd) */
	const char *cwd;            /* in it: where the thread starts */
	uid_t uid;
	gid_t gid;
};
/* Build it; the caller stays in its own mount namespace (it must be single-
 * threaded: it leaves and re-enters it).  *mntns: the jail's (close-on-exec). */
int confine_jail_build(int dirfd, const char *name, const char *const *devs, size_t ndevs, uid_t uid, gid_t gid,
		       int *mntns, struct hull_err **err);
/* The calling thread enters j (its own fs_struct, the jail's mount namespace,
 * cwd j->cwd) and drops to j->uid/gid with only keep (confine_drop_privileges). */
int confine_jail_enter(const struct confine_jail *j, uint64_t keep, struct hull_err **err);

#endif
