/* SPDX-License-Identifier: Apache-2.0 */
/* runtime/internal.h: private to runtime/ (state store, sync protocol, spawn). */
#ifndef HULL_RUNTIME_INTERNAL_H
#define HULL_RUNTIME_INTERNAL_H

#include "runtime/runtime.h"
#include "cgroups/cgroups.h"
#include "confine/confine.h"

#include <signal.h>
#include <sys/socket.h>


/* Fields of a json-c object (state.c): NULL, 0 or false when absent or of
 * another type (jstr). */
struct json_object;
const char *jstr(struct json_object *o, const char *key);
int64_t jint(struct json_object *o, const char *key);
bool jbool(struct json_object *o, const char *key);

/* ---- sync protocol between hull and the container-side processes (sync.c) --- */

enum sync_type {
	SYNC_ERROR = 1,             /* payload: message; errnum in header */
	SYNC_USERNS,                /* child unshared CLONE_NEWUSER: write the id maps */
	SYNC_USERNS_DONE,
	SYNC_GO,                    /* parent: continue */
	SYNC_PID,                   /* payload: pid_t of the container process */
	SYNC_CREATE_RUNTIME,        /* namespaces exist: run prestart/createRuntime hooks */
	SYNC_CONSOLE,               /* fd: pty master */
	SYNC_SECCOMP,               /* fd: seccomp notify fd */
	SYNC_READY,                 /* set-up complete, waiting for start */
	SYNC_ABORT,                 /* parent: give up */
	SYNC_BOOT,                  /* parent -> stage, blob: what to build; fd: config.json */
	SYNC_CGROUP,                /* parent -> stage, blob: the cgroup; fds: fifo, cgroup dirs */
	SYNC_SEAL,                  /* parent -> stage, before BOOT: fd of the sealed binary
	                               to re-execute first (stage_needs_seal) */
};

struct sync_msg {
	uint32_t type;
	int32_t errnum;
	int32_t value;
	char text[1024];
};

/* One packet of a SOCK_SEQPACKET socket, with nfds (<= SYNC_MAX_FDS) fds
 * attached by SCM_RIGHTS (not consumed); 0 or -errno, -EPIPE when the peer
 * is gone.  Also CRIU's swrk RPC (checkpoint.c). */
int sync_send_packet(int sock, const void *buf, size_t len, const int *fds, size_t nfds);
/* One packet into buf; up to cap passed fds into fds[] (*nfds of them, the
 * caller's even on failure; any beyond are closed).  Returns its length, or
 * -errno: -EPIPE on EOF, -EMSGSIZE when it or its fds did not fit. */
ssize_t sync_recv_packet(int sock, void *buf, size_t len, int *fds, size_t cap, size_t *nfds);
/* fd: one to pass (not consumed), exactly when the type carries one
 * (SYNC_CONSOLE, SYNC_SECCOMP), else -1; -EINVAL otherwise. */
int sync_send(int sock, enum sync_type type, int32_t value, int fd, const char *text);
/* Receive one message: 0 or -errno (-EPIPE on EOF, -EBADMSG for a packet of
 * the wrong size or with fds its type does not carry, -EMSGSIZE when
 * truncated).  On success *fd (if fd) gets the caller's own fd when the type
 * carries one, else -1; on failure -1, and nothing received stays open. */
int sync_recv(int sock, struct sync_msg *m, int *fd);
/* Receive and require `want`; SYNC_ERROR becomes an hull_err.  *fd as
 * sync_recv's, -1 on any failure. */
int sync_expect(int sock, enum sync_type want, struct sync_msg *m, int *fd, struct hull_err **err);
/* Messages with a payload of up to SYNC_BLOB_MAX bytes (a JSON object): the
 * stage's bootstrap.  The receiver gets a NUL-terminated malloc'd copy. */
#define SYNC_BLOB_MAX (64u * 1024)
#define SYNC_MAX_FDS 16
int sync_send_blob(int sock, enum sync_type type, const int *fds, size_t nfds, const char *data);
/* got == NULL: only `want` is accepted; else SYNC_SEAL is too, and *got says which came.
 * On failure *nfds is 0: every fd received is closed. */
int sync_recv_blob(int sock, enum sync_type want, enum sync_type *got, char **data, int *fds, size_t cap,
		   size_t *nfds, struct hull_err **err);
/* Report err to the parent and _exit(1): used by container-side code only. */
__attribute__((noreturn)) void sync_fail(int sock, struct hull_err *err);

/* ctx->vm, or NULL with err set (lifecycle.c). */
const struct runtime_vm_ops *vm_ops(const struct runtime_ctx *ctx, struct hull_err **err);
/* vm_ops for a request the guest must answer: NULL (with err) while c is
 * paused, its vCPUs frozen (the request would wait until resume). */
const struct runtime_vm_ops *vm_guest(const struct runtime_ctx *ctx, struct container *c, struct hull_err **err);
/* In a paused VM-isolated container's state dir: the guest's stats taken
 * just before the freeze, what `events --stats` reports until resume
 * (nothing in the guest runs meanwhile, so nothing in them changes). */
#define VM_PAUSED_STATS "paused-stats.json"

/* ---- bundle (create.c) ----------------------------------------------------- */
/* (the state store, container_abandon, write_pid_file and fork_into_cgroup
 * are in runtime.h: vmcontainer/ keeps VM-isolated containers in it) */

/* A bundle read and parsed, nothing created: create and restore. */
int bundle_load(const char *bundle_arg, struct runtime_bundle *b, struct hull_err **err);

/* ---- spawn (spawn.c, init.c) ---------------------------------------------- */

struct spawn_opts {
	const struct runtime_ctx *ctx;
	struct container *c;
	const struct runtime_create_opts *o;
	bool foreground;            /* run: hull stays the parent (subreaper) */
	int console_master;         /* out: pty master when foreground && terminal */
	pid_t stage;                /* S (stage.c), started before the spec is read */
	int sock;                   /* hull's end of the sync socket, or -1 */
	int seal_tree;              /* S's sealed-binary mount tree (exe.c), or -1 */
	char *config;               /* validated config.json text, copied into the state
	                               dir while the init works (then freed) */
	size_t config_len;
	int sigfd;                  /* signalfd of the signals that abort set-up, or -1 */
	sigset_t sigmask;           /* hull's mask before they were blocked: S's */
};

/* A signal that aborts set-up (create.c) was read from so->sigfd: *err says
 * which; 0 if none is pending. */
int spawn_check_abort(struct spawn_opts *so, struct hull_err **err);

/* Whether create needs the CREATE_RUNTIME round trip (hooks run by hull). */
static inline bool spawn_has_runtime_hooks(const struct oci_spec *s)
{
	return s->hooks[OCI_HOOK_PRESTART].n > 0 || s->hooks[OCI_HOOK_CREATE_RUNTIME].n > 0;
}

/* Create the container up to "created": namespaces, rootfs, hooks, waiting
 * on the exec fifo.  On failure everything made is undone. */
int spawn_container(struct spawn_opts *so, struct hull_err **err);
/* `delete`; spec (taken, may be NULL) saves re-reading ROOT/ID/config.json
 * when the caller has it already (a foreground `run`). */
int delete_container(const struct runtime_ctx *ctx, const char *id, bool force, struct oci_spec *spec,
		     struct hull_err **err);
/* The same with an fd of the cgroup2 directory (-1: plain fork). */
pid_t fork_into_cgroup_fd(int cgroup_fd, bool *cloned_in, struct hull_err **err);
/* Its first half: 1 with *pid set (0 in the child) when the child was born in
 * the cgroup; 0 when the caller must fork instead (no cgroup2 fd, clone3
 * unsupported), 2 when it must because the kernel killed the child at birth
 * (reaped already: it never ran); -1 on error.  A child that ran is the
 * caller's, even if it has exited already. */
int clone_into_cgroup(int cgroup_fd, pid_t *pid, struct hull_err **err);
/* Unit tests only (nothing outside the process can set it): called in the
 * parent between clone3 and the killed-at-birth check, to make the race with
 * a child that finishes first deterministic. */
extern void (*clone_into_cgroup_test_hook)(pid_t child);

/* The stage process (stage.c).  stage_spawn forks S, which execs `hull
 * __stage` from a sealed binary (so->stage, so->sock); spawn_container
 * then drives it; stage_abort kills it when create fails before that. */
#define STAGE_ARG "__stage"
int stage_spawn(struct spawn_opts *so, struct hull_err **err);
void stage_abort(struct spawn_opts *so);
/* Close so->seal_tree once S has exec'd (the last reference unmounts it). */
void stage_close_seal(struct spawn_opts *so);
/* Whether the init must come from a sealed copy of hull (stage.c). */
bool stage_needs_seal(const struct oci_spec *spec);
/* SEAL then, and BOOT: S's bootstrap, with the validated config.json text. */
int stage_boot(struct spawn_opts *so, const struct oci_spec *spec, const char *bundle, const char *rootfs,
	       const char *cfg, size_t len, struct hull_err **err);
/* exe.c: an fd of hull's binary that cannot be written through (a read-only
 * overlay, else a sealed memfd copy; /proc/self/exe when it already is).
 * With tree_out, the overlay's detached mount tree stays open in *tree_out
 * (else -1): closing it unmounts the tree, which costs an expedited RCU grace
 * period, so the caller picks the moment; NULL closes it at once. */
int exe_sealed_fd(int *tree_out, struct hull_err **err);

/* Container-side init (init.c): never returns. */
struct init_args {
	const struct oci_spec *spec;
	const char *rootfs;
	int sync;
	int fifo_fd;
	bool no_pivot;
	bool in_userns;
	int preserve_fds;
	const char *id;
	const char *bundle;
	bool no_new_keyring;
	int pid_pipe;               /* read end: our host pid, then lo's status, from the stage */
	const int *bind_fds;        /* ns_rootfs.bind_fds, or NULL */
};
__attribute__((noreturn)) void init_container(const struct init_args *a);

/* Release a created container (start.c): write the fifo, wait for exec. */
int start_release(struct container *c, struct hull_err **err);

/* PATH lookup of process.args[0] as the exec will do it (init.c). */
int runtime_find_exec(const struct oci_process *p, char **out, struct hull_err **err);
/* Mark every fd above 2 + preserve_fds close-on-exec. */
int runtime_seal_fds(int preserve_fds, struct hull_err **err);

/* The value of KEY in a KEY=value list, or NULL (procsetup.c). */
const char *runtime_env_get(char *const *env, const char *key);
/* The home field of the first line of passwd `text` (modified) for uid, or NULL. */
const char *runtime_passwd_home(char *text, uint32_t uid);
/* A copy of process.env, with HOME from the container's /etc/passwd (or "/")
 * when it has none; our root must be the container's.  Before confinement. */
char **runtime_process_env(const struct oci_process *p);
/* mkdir -p process.cwd inside our root (create only, as runc), as root,
 * before confinement and before the rootfs turns read-only. */
int runtime_make_cwd(const struct oci_process *p, struct hull_err **err);
/* chroot into dir and chdir to its "/": the root of a container without a
 * mount namespace (runc's), for its init and for exec. */
int runtime_chroot(const char *dir, struct hull_err **err);

/* Hand a seccomp notify fd of process `pid` to linux.seccomp.listenerPath. */
int runtime_seccomp_forward(struct container *c, pid_t pid, int fd, struct hull_err **err);

/* ---- console (console.c) ---------------------------------------------------- */

/* Make slave the controlling terminal and stdio of the calling process. */
int console_setup_slave(int slave, struct hull_err **err);
/* Proxy the caller's stdio to/from master until the child exits; returns when
 * master hangs up. Puts the caller's tty in raw mode for the duration. */
struct console_proxy;
int console_proxy_start(int master, struct console_proxy **out, struct hull_err **err);
void console_proxy_stop(struct console_proxy *p);

/* ---- wait (wait.c) ---------------------------------------------------------- */


/* ---- misc ------------------------------------------------------------------- */

/* Re-exec from a read-only mount of our own binary (CVE-2019-5736). */
int exe_ensure_sealed(char **argv, struct hull_err **err);

#endif
