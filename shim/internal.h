/* SPDX-License-Identifier: Apache-2.0 */
/* shim/internal.h: the shim daemon's state, shared by its files only. */
#ifndef HULL_SHIM_INTERNAL_H
#define HULL_SHIM_INTERNAL_H

#include <pthread.h>

#include "shim/shim.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"

/* containerd.v1.types.Status */
enum shim_status { ST_UNKNOWN = 0, ST_CREATED = 1, ST_RUNNING = 2, ST_STOPPED = 3, ST_PAUSED = 4 };

/* One process containerd knows: a container's init (exec_id "") or an exec. */
struct shim_proc {
	char *id, *exec_id, *bundle;
	char *stdin_path, *stdout_path, *stderr_path;
	bool terminal, rootfs_mounted;
	char *isolation;            /* hull's --isolation for the container, NULL: hull's default */
	bool vm;                    /* VM-isolated (isolation or the bundle's annotation) */
	char *checkpoint;           /* Create's image to restore at Start (runc's shim), else NULL */
	char *parent_checkpoint;    /* Create's parent of that image (checked by hull restore), else NULL */
	bool hull_gone;             /* a checkpoint with exit deleted hull's container */
	struct shim_tty *tty;       /* terminal: the pty master and its copies (tty.c) */
	pid_t oom_pid;              /* the init's `hull events` (OOM watch), 0: none */
	uint16_t ws_row, ws_col;    /* the last ResizePty: ctr exec -t sends it before Start */
	char *spec;                 /* an exec's OCI process JSON (Exec), else NULL */
	size_t spec_len;
	pid_t pid;                  /* 0 until known */
	enum shim_status status;
	bool exited;
	uint32_t exit_status;
	struct timespec exited_at;
	struct shim_proc *next;
};

/* A `hull` child the shim waits for (the reaper posts its status). */
struct shim_child {
	pid_t pid;
	bool done;
	int wstatus;
	struct shim_child *next;
};

#define SHIM_ORPHANS 64

struct shim {
	char *ns, *address, *ttrpc_address, *id, *root;
	char *socket_path;
	pthread_mutex_t lock;       /* everything below */
	pthread_cond_t changed;     /* a proc exited or a child was reaped */
	struct shim_proc *procs;
	struct shim_child *children;
	/* Exits of pids not known yet: an init can die before `hull create`
	 * returned and its pid file was read. */
	struct { pid_t pid; int wstatus; struct timespec at; } orphans[SHIM_ORPHANS];
	size_t n_orphans;
	const struct shim_backend *backend;
};

/* CheckpointTaskRequest: path (absolute) and runc's CheckpointOptions. */
struct shim_ckpt_opts {
	const char *path;
	bool exit, open_tcp, external_unix_sockets, terminal, file_locks;
	char *cgroups_mode, *work_path; /* NULL: hull's default */
};
/* checkpoint.c: path and the options Any (NULL: runc's defaults) checked
 * and decoded; an error names the field.  clear frees what decode set. */
int shim_ckpt_opts_decode(const char *path, const Google__Protobuf__Any *any, struct shim_ckpt_opts *o,
			  struct hull_err **err);
void shim_ckpt_opts_clear(struct shim_ckpt_opts *o);

/* How a container's processes are run.  Only "container" (hull's CLI as a
 * child process, as containerd's runc shim runs runc) exists; the pod-VM
 * isolation plugs in here with the same calls. */
struct shim_backend {
	const char *name;
	int (*create)(struct shim *s, struct shim_proc *p, const Containerd__Task__V2__CreateTaskRequest *req,
		      struct hull_err **err);
	int (*start)(struct shim *s, struct shim_proc *p, struct hull_err **err);
	/* Run the exec p (p->spec) in its container; sets p->pid. */
	int (*exec)(struct shim *s, struct shim_proc *p, struct hull_err **err);
	int (*kill)(struct shim *s, struct shim_proc *p, int sig, bool all, struct hull_err **err);
	int (*remove)(struct shim *s, struct shim_proc *p, struct hull_err **err);
	int (*pause)(struct shim *s, struct shim_proc *p, bool pause, struct hull_err **err);
	int (*pids)(struct shim *s, struct shim_proc *p, int **pids, size_t *n, struct hull_err **err);
	/* resources: OCI LinuxResources JSON (containerd's Any of it). */
	int (*update)(struct shim *s, struct shim_proc *p, const uint8_t *resources, size_t len,
		      struct hull_err **err);
	/* Dump p's container to o->path (`hull checkpoint`). */
	int (*checkpoint)(struct shim *s, struct shim_proc *p, const struct shim_ckpt_opts *o, struct hull_err **err);
	/* runc's `events --stats` data JSON (malloc'd). */
	int (*stats)(struct shim *s, struct shim_proc *p, char **json, struct hull_err **err);
};

extern const struct shim_backend shim_backend_container;

/* Queue a containerd event (events.c): topic "/tasks/exit", ev a
 * containerd.events message.  Never blocks; dropped without TTRPC_ADDRESS. */
void shim_publish(struct shim *s, const char *topic, const ProtobufCMessage *ev);
int shim_events_start(struct shim *s);
/* Wait until every queued event was sent or dropped (before the shim exits). */
void shim_events_flush(struct shim *s);

/* The Task service (task.c). */
extern const struct ttrpc_service shim_task_service;

/* The pid of p just became known: take an exit the reaper already saw. */
void shim_claim_orphan_locked(struct shim *s, struct shim_proc *p);
/* Fork+exec `hull --root R --log L args...` with fds 0-2 (-1 = /dev/null),
 * wait for it; non-zero exit is an error carrying hull's last log line.
 * out (optional) receives its stdout (fd 1 must then be -1). */
int shim_run_hull(struct shim *s, const char *log, char *const *args, int in, int outfd, int errfd,
		  char **out, struct hull_err **err);
/* Terminals (tty.c).  listen: a console socket in a fresh directory
 * (returns its fd); take: the pty master hull sent there; start: copy p's
 * FIFOs to and from master (consumed); stop: let the output drain (at most
 * 2 s), end the copies, close all (take it off the proc under s->lock, call
 * without). */
struct shim_tty;
int shim_console_listen(char **dir, char **path, struct hull_err **err);
void shim_console_unlisten(int lfd, char *dir, char *path);
int shim_console_take(int lfd, int *master, struct hull_err **err);
int shim_tty_start(struct shim_proc *p, int master, struct hull_err **err);
void shim_tty_stop(struct shim_tty *t);
void shim_tty_close_stdin(struct shim_proc *p);
int shim_tty_resize(struct shim_proc *p, uint32_t width, uint32_t height, struct hull_err **err);

/* Stats (stats.c): runc's stats JSON as containerd's cgroup metrics: an
 * Any of io.containerd.cgroups.v1.Metrics, or .v2.Metrics on a cgroup v2
 * host, as the runc shim answers.  *any_url and *value are malloc'd. */
int shim_stats_metrics(const char *json, bool v2, char **any_url, uint8_t **value, size_t *len,
		       struct hull_err **err);

/* OOM events: run `hull args` (`events ... ID`) in the background and
 * publish a TaskOOM for container id per {"type":"oom"} line it prints;
 * returns its pid (0: not started, a warning is logged).  stop: kill it
 * (before the container's cgroup goes: v1 signals the eventfd on removal). */
pid_t shim_watch_oom(struct shim *s, const char *log, char *const *args, const char *id);
void shim_stop_oom_locked(struct shim *s, struct shim_proc *p);

/* Unmount the rootfs the shim mounted for p (Delete, and `delete` cleanup). */
void shim_unmount_rootfs(const char *bundle);

#endif
