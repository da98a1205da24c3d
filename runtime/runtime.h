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
	const struct runtime_vm_ops *vm; /* VM-isolated containers' commands, or NULL */
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
	/* checkpoint: a previous (pre-)dump, relative to image_path (runc's);
	 * restore: the image's parent, checked (relative to image_path or absolute) */
	const char *parent_path;
	bool tcp_established, ext_unix_sk, shell_job, file_locks, lazy_pages;
};
struct runtime_checkpoint_opts {
	const char *id;
	struct runtime_criu_opts c;
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
 * none) and the OOM count so far.  The fd is memory.events (v2: POLLPRI),
 * an eventfd (v1: POLLIN, its counter) or, for a VM-isolated container, the
 * agent connection (a socket: POLLIN at the next OOM kill; call again with it
 * in *fd: it is read for the count and replaced by the next watch, or -1).
 * *fd is -1 on the first call. */
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

/* ======================= state store (runtime/state.c) ====================
 * Shared with vmcontainer/, which keeps VM-isolated containers in the same
 * ROOT/ID directories (state.json says "isolation":"vm"), so that list, state,
 * pause, resume, update, events and delete work on both unchanged. */
struct cgroup;

/* What hull remembers of a container, in ROOT/ID/state.json (json-c). */
struct container {
	char *id;
	char *dir;                  /* ROOT/ID */
	int dir_fd;                 /* O_PATH|O_DIRECTORY of dir, -1 if not open */
	int lock_fd;                /* flock'd ROOT/ID (the directory), -1 if not held */
	pid_t pid;                  /* container init, 0 before it exists */
	uint64_t pid_start;         /* /proc/PID/stat starttime, guards pid reuse */
	char *bundle;               /* absolute */
	char *rootfs;               /* absolute */
	char *created;              /* RFC 3339 */
	char *owner;
	char *cgroup;               /* cgroups_serialize() or NULL (--cgroup-manager=disabled) */
	struct cgroup *cg;          /* loaded from `cgroup` by container_cgroup() */
	bool new_pid_ns;
	bool vm;                    /* VM-isolated (vmcontainer/): pid is its supervisor */
	struct oci_spec *spec;      /* ROOT/ID/config.json, loaded lazily by container_load_spec */
};

#define STATE_FILE "state.json"
#define CONFIG_FILE "config.json"
#define FIFO_FILE "exec.fifo"

/* Create ROOT/ID exclusively and lock it: "container \"x\" already exists". */
int container_new(const struct runtime_ctx *ctx, const char *id, struct container **out, struct hull_err **err);
/* Open and lock an existing container: "container \"x\" does not exist". */
int container_open(const struct runtime_ctx *ctx, const char *id, struct container **out, struct hull_err **err);
/* delete --force: ROOT/ID exists but has no state.json (a create killed
 * before writing it, a delete killed while removing it): remove it, 1.
 * 0 when it has a state (or is gone: 1); -1 on error. */
int container_remove_stateless(const struct runtime_ctx *ctx, const char *id, struct hull_err **err);
int container_save(struct container *c, struct hull_err **err);
int container_load_spec(struct container *c, struct hull_err **err);
/* Remove ROOT/ID entirely (after the lock is dropped by free). */
int container_remove_dir(struct container *c, struct hull_err **err);
void container_free(struct container *c);
/* The container's cgroup handle (NULL without one); loaded on first use. */
int container_cgroup(struct container *c, struct cgroup **cg, struct hull_err **err);
bool runtime_cgroups_enabled(const struct runtime_ctx *ctx);

/* Current status from the process and the exec fifo. */
enum oci_status container_status(struct container *c);
/* pidfd of the live init (checked against pid_start), or -1 with errno ESRCH. */
int container_pidfd(struct container *c);
/* The spec's state JSON for hooks and `state`. */
char *container_state_json(struct container *c, enum oci_status st, bool pretty);
uint64_t proc_start_time(pid_t pid);   /* 0 if gone */
/* Dead, or SIGKILL pending for it or its thread group (/proc/PID/status). */
bool proc_killed(pid_t pid);
bool proc_alive(pid_t pid, uint64_t start); /* running (not zombie) with that start time */
/* Undo a failed create or restore: kill the init, remove the cgroup and the
 * state dir, free c. */
void container_abandon(struct container *c);
/* --pid-file, written atomically. */
int write_pid_file(const char *path, pid_t pid, struct hull_err **err);
/* cgfork.c: fork(), the child born in cg's cgroup2 directory when cg has one (see
 * cgroups_enter_self(), which the child must call next with *cloned_in).
 * cg may be NULL.  Returns like fork(); -1 with err set on failure. */
pid_t fork_into_cgroup(const struct cgroup *cg, bool *cloned_in, struct hull_err **err);

/* console.c, wait.c (vmcontainer/ too) */
/* Open a new pty in the current mount namespace's /dev/ptmx; master and slave fds. */
int console_open_pty(int *master, int *slave, const struct oci_process *p, struct hull_err **err);
/* Send the master fd to a --console-socket path (SCM_RIGHTS). */
int console_send_to_socket(const char *path, int master, struct hull_err **err);
/* Wait for pid (our child), forwarding signals; return exit code or 128+sig. */
int wait_forward(pid_t pid, int console_master, int *status, struct hull_err **err);

/*
 * What runtime/ cannot do itself for a VM-isolated container (c->vm): the
 * commands that reach the container's processes go to the guest's agent.
 * cli/ sets runtime_ctx.vm to vmcontainer/'s table (runtime/ does not link
 * against it: vmcontainer/ builds on runtime/).  Each gets c open and locked.
 */
struct runtime_vm_ops {
	/* c is created: let the init run. */
	int (*start)(const struct runtime_ctx *ctx, struct container *c, struct hull_err **err);
	int (*kill)(const struct runtime_ctx *ctx, struct container *c, int sig, bool all, struct hull_err **err);
	int (*ps)(const struct runtime_ctx *ctx, struct container *c, pid_t **pids, size_t *n,
		  struct hull_err **err);
	/* proc: the process built from the config and o (validated); *c may be
	 * freed (set to NULL) once the process runs, so as not to hold the lock. */
	int (*exec)(const struct runtime_ctx *ctx, struct container **c, const struct oci_process *proc,
		    const struct runtime_exec_opts *o, int *status, struct hull_err **err);
	/* The limits of the container's cgroup inside the guest, and its stats
	 * (events --stats "data", malloc'd); the host cgroup bounds the VM. */
	int (*update)(const struct runtime_ctx *ctx, struct container *c, const struct oci_resources *r,
		      struct hull_err **err);
	int (*stats)(const struct runtime_ctx *ctx, struct container *c, char **json, struct hull_err **err);
	/* delete, once no process of c is left: what the supervisor made outside
	 * the state directory (taps and filters in the network namespace). */
	int (*cleanup)(const struct runtime_ctx *ctx, struct container *c, struct hull_err **err);
	/* OOM kills in the container's cgroup inside the guest so far; with fd
	 * also a connection that turns readable (POLLIN) at the next one, for
	 * runtime_oom_watch (the host cgroup sees none of them). */
	int (*oom)(const struct runtime_ctx *ctx, struct container *c, int *fd, uint64_t *count,
		   struct hull_err **err);
};


#endif
