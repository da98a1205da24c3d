/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime/runtime.h: container lifecycle (create/start/state/kill/delete/
 * exec/run/list/ps), state, hooks, console and process confinement.
 *
 * The confinement half (capabilities, seccomp, rlimits, user, LSM, misc
 * process attributes) is also what the in-VM guest agent will use.
 */
#ifndef HULL_RUNTIME_H
#define HULL_RUNTIME_H

#include "common/common.h"
#include "oci/oci.h"

/* ======================= confinement (runtime/confine*.c) ================ */

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

/* ============================ hooks (runtime/hooks.c) ===================== */

/*
 * Run each hook of `kind` in order: fork+exec path with args/env, the state
 * JSON on stdin, stdout/stderr to the runtime's stderr, killed after timeout
 * seconds.  Returns the first failure ("hook prestart[1] /bin/x: exit status
 * 3"); the caller decides whether it aborts (spec: poststart/poststop only warn).
 */
int hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
	      struct hull_err **err);
/* The same, but a readable abort_fd (not read; e.g. a signalfd) kills the
 * running hook and stops the list: "hook prestart[0] /bin/x: interrupted". */
int hooks_run_abortable(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
			int abort_fd, struct hull_err **err);

/* ============================ lifecycle (runtime/ lifecycle files) ===================== */

struct runtime_ctx {
	const char *root;           /* --root, default /run/hull */
	bool systemd_cgroup;
	const char *cgroup_manager; /* "cgroupfs", "systemd", "disabled" or NULL */
	bool debug;
};

struct runtime_create_opts {
	const char *id;
	const char *bundle;         /* default "." */
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	/* run only */
	bool detach;
	bool keep;
};

struct runtime_exec_opts {
	const char *id;
	const char *process_file;   /* --process, or NULL: use argv */
	char **argv;
	bool tty, tty_set;
	const char *cwd;
	char **env;                 /* extra KEY=VALUE, appended */
	const char *user;           /* "uid[:gid]" */
	char **caps;                /* extra capability names */
	char **additional_gids;
	bool detach;
	const char *pid_file;
	const char *console_socket;
	int preserve_fds;
	bool no_new_privs_set, no_new_privs;
	const char *apparmor, *process_label;
	bool ignore_paused;         /* exec into a paused container; it runs once resumed */
	char **cgroups;             /* --cgroup [CTRL[,CTRL]:]PATH values, or NULL */
};

struct runtime_info {
	char *id;
	pid_t pid;
	enum oci_status status;
	char *bundle;
	char *created;              /* RFC 3339 */
	char *owner;
};

int runtime_create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, struct hull_err **err);
int runtime_start(const struct runtime_ctx *ctx, const char *id, struct hull_err **err);
/* create + start + wait; *status is the container's exit code or 128+signal. */
int runtime_run(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, int *status,
		struct hull_err **err);
int runtime_state_json(const struct runtime_ctx *ctx, const char *id, char **json, struct hull_err **err);
int runtime_kill(const struct runtime_ctx *ctx, const char *id, int sig, bool all, struct hull_err **err);
int runtime_delete(const struct runtime_ctx *ctx, const char *id, bool force, struct hull_err **err);
int runtime_list(const struct runtime_ctx *ctx, struct runtime_info **out, size_t *n, struct hull_err **err);
void runtime_info_free(struct runtime_info *v, size_t n);
int runtime_ps(const struct runtime_ctx *ctx, const char *id, pid_t **pids, size_t *n, struct hull_err **err);
int runtime_exec(const struct runtime_ctx *ctx, const struct runtime_exec_opts *o, int *status,
		 struct hull_err **err);

/* CVE-2019-5736: before entering a container, make sure this process runs
 * from a read-only mount of its own binary (re-exec through a detached
 * read-only overlayfs), so a container process that execs /proc/self/exe
 * cannot open the host binary for writing.  No copy of the binary is made.
 * `exec` calls it first thing; create and run seal only their stage process. */
int runtime_ensure_sealed_exe(char **argv, struct hull_err **err);
/* `hull __stage SOCK LOGFD JSON LEVEL`: the stage process of create and run,
 * exec'd by hull itself (runtime/stage.c).  Never returns on success. */
int runtime_stage_main(int argc, char **argv);

/* checkpoint / restore with CRIU (runtime/checkpoint.c); runc's flags. */
struct runtime_criu_opts {
	const char *image_path;     /* default "checkpoint" (runc's) */
	const char *work_path;      /* CRIU's logs; default: image_path */
	const char *manage_cgroups_mode; /* soft|full|strict|ignore, NULL: CRIU's */
	bool tcp_established, ext_unix_sk, shell_job, file_locks, lazy_pages;
};
struct runtime_checkpoint_opts {
	const char *id;
	struct runtime_criu_opts c;
	const char *parent_path;    /* a previous (pre-)dump, relative to image_path */
	const char *page_server;    /* ADDRESS:PORT: the pages go there (with lazy_pages: served from there) */
	int status_fd;              /* lazy_pages: gets '\0' when the pages are ready to be served; -1: none */
	bool leave_running, pre_dump;
};
struct runtime_restore_opts {
	const char *id;
	struct runtime_criu_opts c;
	const char *bundle;         /* default "." */
	const char *pid_file;
	const char *console_socket;
	bool detach;
};
/* Dump the running container into image_path; without leave_running (or
 * pre_dump) it is then deleted, as runc does. */
int runtime_checkpoint(const struct runtime_ctx *ctx, const struct runtime_checkpoint_opts *o,
		       struct hull_err **err);
/* A new container `id` from the bundle's config and the images; foreground
 * (not detach): wait like `run`, *status the exit code, then delete. */
int runtime_restore(const struct runtime_ctx *ctx, const struct runtime_restore_opts *o, int *status,
		    struct hull_err **err);

/* cgroup operations (runtime/cgroup_ops.c). */
int runtime_pause(const struct runtime_ctx *ctx, const char *id, bool pause, struct hull_err **err);
int runtime_update(const struct runtime_ctx *ctx, const char *id, const struct oci_resources *r,
		   struct hull_err **err);
/* runc's events --stats "data" object for the container. Malloc'd. */
int runtime_stats_json(const struct runtime_ctx *ctx, const char *id, char **json, struct hull_err **err);
/* An fd that becomes readable/priority on OOM kills (-1 when the host has
 * none) and the OOM count so far. */
int runtime_oom_watch(const struct runtime_ctx *ctx, const char *id, int *fd, uint64_t *count,
		      struct hull_err **err);
int runtime_oom_count(const struct runtime_ctx *ctx, const char *id, uint64_t *count, struct hull_err **err);

/* Container ids: [A-Za-z0-9_.+-]{1,1024}, not "." or "..". */
int runtime_validate_id(const char *id, struct hull_err **err);

/* Signal names ("KILL", "SIGKILL", "kill", "9", "SIGRTMIN+3") to numbers. */
int runtime_signal_parse(const char *s, int *sig, struct hull_err **err);
/* The name table (runtime/signals.c), names without "SIG", for `hull kill -l`
 * style listings; RTMIN..RTMAX are not in it. */
struct runtime_signal { const char *name; int value; };
extern const struct runtime_signal runtime_signals[];
extern const size_t runtime_n_signals;
/* "KILL" for 9, NULL if the table has no name for sig. */
const char *runtime_signal_name(int sig);

#endif
