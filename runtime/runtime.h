/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime/runtime.h: container lifecycle (create/start/state/kill/delete/
 * exec/run/list/ps), state, hooks and console.  Process confinement
 * (capabilities, seccomp, rlimits, LSM) is confine/confine.h.
 */
#ifndef HULL_RUNTIME_H
#define HULL_RUNTIME_H

#include "common/common.h"
#include "oci/oci.h"

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

/* A bundle read and parsed (create, restore, vmcontainer/). */
struct runtime_bundle {
	char *dir;                  /* realpath of --bundle */
	char *rootfs;               /* realpath of root.path, a directory */
	char *config;               /* config.json text */
	size_t config_len;
	struct oci_spec *spec;
};
/* What create checks before it makes anything, with create's errors: the
 * id, config.json, root.path, the spec's semantics for create (foreground:
 * run), namespaces, confinement and cgroup values.  VM-isolated containers
 * (vmcontainer/) check their bundle with it too. */
int runtime_bundle_check(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
			 struct runtime_bundle *b, struct hull_err **err);
void runtime_bundle_free(struct runtime_bundle *b);

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
