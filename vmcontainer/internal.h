/* SPDX-License-Identifier: Apache-2.0 */
/* vmcontainer/internal.h: private to vmcontainer/. */
#ifndef HULL_VMCONTAINER_INTERNAL_H
#define HULL_VMCONTAINER_INTERNAL_H

#include "vmcontainer/vmcontainer.h"
#include "guest/guest.h"
#include "microvm/microvm.h"

struct json_object;

/* In ROOT/ID: the VMM's host side of virtio-vsock, the file server's
 * vhost-user socket, the guest's serial console (debugging). */
#define VMC_VSOCK_SOCK "vsock.sock"
#define VMC_FS_SOCK "fs.sock"
#define VMC_CONSOLE_LOG "console.log"
#define VMC_FIFO_FILE "exec.fifo"   /* container_status: present while created */
#define VMC_FS_TAG "hull"
/* The VMM's jail (supervisor.c): ROOT/ID is /state in it. */
#define VMC_JAIL_STATE "state"
/* `kill KILL` to the supervisor: end the VM now, its network first (the
 * engine may drop the namespace's path before delete), exit 137.  A real
 * SIGKILL cannot be caught, and the guest's graceful way takes longer than
 * engines wait for state.pid (podman: 5 s). */
#define VMC_SIG_END SIGRTMAX
/* Host memory beyond the guest's RAM that the host cgroup allows: the VMM
 * and the file server. */
#define VMC_HOST_OVERHEAD_MIB 64u

/* ---- agent client (agent.c) ---------------------------------------------- */

/* Connect to the guest agent through dir_fd/vsock.sock ("CONNECT 1024";
 * AT_FDCWD: ./vsock.sock).
 * -1 with err; errno EAGAIN-like cases (nothing listens yet: ENOENT,
 * ECONNREFUSED, ECONNRESET, the VMM closed before OK) are reported as
 * EAGAIN so the supervisor can retry while the guest boots. */
int vmc_agent_connect(int dir_fd, struct hull_err **err);
/* One request (req consumed) on a new connection; *resp is the response
 * (ok checked: the agent's error becomes *err).  fd_out: keep the
 * connection open for the stream that follows (create, exec), else NULL. */
int vmc_agent_call(int dir_fd, struct json_object *req, struct json_object **resp, int *fd_out,
		   struct hull_err **err);

/* The same on an open connection fd (kept open). */
int vmc_agent_request(int fd, struct json_object *req, struct json_object **resp, struct hull_err **err);
/* The response to a request already sent on fd (ok checked as above). */
int vmc_agent_response(int fd, struct json_object **resp, struct hull_err **err);
/* Relay one process's stdio between host fds and an agent stream s until
 * its EXIT frame: in (-1: none) to STDIN frames, STDOUT/STDERR frames to
 * out/errfd, SIGWINCH on sigfd (-1: none) to RESIZE from tty (-1: none),
 * other signals on sigfd to on_signal.  *exit_code: the process's. */
int vmc_relay(int s, int in, int out, int errfd, int tty, int sigfd, void (*on_signal)(void *opaque, int sig),
	      void *opaque, int *exit_code, struct hull_err **err);
/* The window size of tty as a RESIZE frame on s (nothing if tty is not one). */
void vmc_send_winsize(int s, int tty);

/* ---- the container's network (net.c) -------------------------------------- */

#define VMC_NET_FILE "net"          /* in ROOT/ID: what the supervisor made in the namespace */

struct vmc_net {
	size_t n;
	struct guest_netif ifs[GUEST_NET_MAX_IFS];
	char taps[GUEST_NET_MAX_IFS][16];
	struct vm_net vm[GUEST_NET_MAX_IFS];   /* .tap points into taps[] */
};
/* The path of spec's network namespace, or NULL (a new one, or none). */
const char *vmc_netns_path(const struct oci_spec *spec);
/* The annotation org.hull.vm.vhost: on, off, else AUTO. */
int vmc_net_vhost(const struct oci_spec *spec, enum vm_vhost *out, struct hull_err **err);
/* In the supervisor: join netns (NULL: nothing to do) for good and mirror
 * each of its links but lo (a tap, multiqueue when cpus > 1, and the tc
 * redirect both ways), recorded in dir_fd/VMC_NET_FILE.  A link hull cannot
 * mirror (not veth/macvlan/ipvlan, no address) is an error before anything
 * is made; a later failure undoes what was made. */
int vmc_net_setup(int dir_fd, const char *netns, unsigned int cpus, enum vm_vhost vhost, struct vmc_net *out,
		  struct hull_err **err);
/* In the supervisor, still in the namespace: remove what the record lists. */
void vmc_net_teardown(int dir_fd);
/* From any process (delete, an abandoned create): the same in spec's
 * network namespace, by a child that joins it. */
int vmc_net_cleanup(int dir_fd, const struct oci_spec *spec, struct hull_err **err);

/* ---- the jail's uid (uids.c) --------------------------------------------- */

/* The uids (gid: the same number) of the VMMs' jails, one per container:
 * 0x70000000 and up, systemd's unused block between the container ranges
 * (524288-1879048191) and the foreign range (docs/vm-containers.md). */
#define VMC_UIDS_FIRST 1879048192u
#define VMC_UIDS_LAST (VMC_UIDS_FIRST + 65535u)
#define VMC_UIDS_DIR "@vm-uids"     /* in ROOT: UID -> ID claims */
struct vmc_uid_range {
	uint32_t first, last;       /* inclusive */
};
/* The range: conf's (GUEST_IMAGE_CONF) jail_uids=FIRST-LAST, else the
 * default; an error names the file and line of a bad value, or the line of
 * etc/passwd, group, subuid or subgid whose id (or range) is in it. */
int vmc_uid_range_get(const char *conf, const char *etc, struct vmc_uid_range *r, struct hull_err **err);
/* Claim the lowest free uid of r for container id (ROOT/ID made: claims of
 * an id whose ROOT/ID is gone are reclaimed, as are id's own, an earlier
 * container's).  All of r claimed: an error naming the range. */
int vmc_uid_claim(const char *root, const char *id, const struct vmc_uid_range *r, uid_t *uid,
		  struct hull_err **err);
/* Remove id's claims (delete, an abandoned create); none: 0. */
int vmc_uid_release(const char *root, const char *id, struct hull_err **err);

/* ---- create plan and supervisor (create.c, supervisor.c) ------------------ */

struct vmc_plan {
	struct runtime_bundle b;
	struct vmc_size size;
	char *guest_config;
	struct vmc_share *shares;
	size_t n_shares;
	char *kernel, *initrd;
	enum vm_vhost vhost;        /* org.hull.vm.vhost */
	char *pod_dir;              /* a pod's sandbox: ROOT/ID/VMC_POD_DIR, served as "pod" */
	struct vm_vfio *vfios;      /* org.hull.vm.devices */
	unsigned int nvfio;
	struct vmc_uid_range uids;  /* the VMM's jail uid comes from it */
};

struct vmc_supervisor {
	const char *id;
	int dir_fd;                 /* ROOT/ID */
	const struct vmc_plan *plan;
	bool terminal;
	int tty;                    /* the host pty slave (--console-socket), else -1: stdio as it is */
	int report;                 /* to `hull create`: "\0" when created, "\1message" on failure */
	struct cgroup *cg;          /* the container's host cgroup (split: cgroups_vm_split), or NULL */
	uid_t jail_uid;             /* the VMM's jail's uid and gid (vmc_uid_claim) */
};
/* The supervisor's start (a pod member's too): SIGPIPE ignored, umask 077,
 * every fd closed but dir_fd, tty, report, the log's and the stdio, cwd
 * dir_fd, the forwarded signals (and VMC_SIG_END) blocked and read from
 * *sigfd; tty (>= 0: --console-socket's pty slave) made the controlling
 * terminal, raw. */
int vmc_supervisor_begin(int dir_fd, int tty, int report, int *sigfd, struct hull_err **err);
/* To `hull create` on *fd, then closed (-1): created (err NULL), or why not. */
void vmc_report(int *fd, struct hull_err *err);
/* The supervisor process: never returns; exits with the init's exit code. */
__attribute__((noreturn)) void vmc_supervise(struct vmc_supervisor *s);
/* The supervisor pid's report on fd ("\0" created, "\1message" failed, EOF:
 * it died); once created, pid is c's state.pid, saved, and in pid_file. */
int vmc_created(struct container *c, int report, pid_t pid, const char *pid_file, struct hull_err **err);
/* prestart and createRuntime hooks, on the host, state.pid ours (supervisor.c). */
int vmc_runtime_hooks(const char *id, const struct vmc_plan *p, struct hull_err **err);

/* vmcontainer_rewrite_config with the guest's view of the bundle at share
 * (VMC_GUEST_SHARE, or a pod member's VMC_GUEST_SHARE/pod/ID) and, for a
 * pod's member, sandbox_pid > 0: its sandbox's init in the guest, whose
 * network, IPC, UTS and pid namespaces replace those the spec joins by path. */
int vmc_rewrite_config(const char *config, size_t len, const char *bundle_dir, const char *share,
		       pid_t sandbox_pid, char **out, struct vmc_share **shares, size_t *n_shares,
		       struct hull_err **err);

/* ---- a pod in one VM (pod.c; docs/vm-containers.md) ----------------------- */

/* In a sandbox's ROOT/ID: the pod's directory, a shared mount the file
 * server serves as "pod" (members' rootfs and binds at pod/MEMBER/...). */
#define VMC_POD_DIR "pod"
/* In a member's ROOT/ID: its sandbox's id; vsock.sock is a symlink to the
 * sandbox's, so every op reaches the pod's agent unchanged. */
#define VMC_SANDBOX_FILE "sandbox"

enum vmc_pod_role { VMC_POD_NONE, VMC_POD_SANDBOX, VMC_POD_MEMBER };
/* The role from the CRI annotations (containerd's io.kubernetes.cri.*,
 * CRI-O's io.kubernetes.cri-o.*); a member's *sandbox (pointing into spec)
 * and *key, the annotation that named it. */
int vmc_pod_role(const struct oci_spec *spec, enum vmc_pod_role *role, const char **sandbox, const char **key,
		 struct hull_err **err);
/* The sandbox's ROOT/ID/pod: a directory bind-mounted on itself, shared. */
int vmc_pod_dir_make(struct container *c, struct hull_err **err);
/* Undo it (and every member's mount below it): detach, then rmdir only. */
int vmc_pod_dir_remove(int dir_fd, struct hull_err **err);
/* create (and run's) of a member: in its sandbox's VM, through its agent. */
int vmc_member_create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
		      struct vmc_plan *p, const char *sandbox, const char *key, struct container **out,
		      struct hull_err **err);
/* A member's delete: the guest's container, its mounts in the pod's dir.
 * 0 also when c is no member (*member false). */
int vmc_member_cleanup(const struct runtime_ctx *ctx, struct container *c, bool *member, struct hull_err **err);
/* c is a pod's member (its state dir names its sandbox). */
bool vmc_is_member(const struct container *c);

/* ---- exec's process object (process.c) ------------------------------------ */

/* The OCI process object of proc as JSON (what `exec` sends the agent). */
struct json_object *vmc_process_json(const struct oci_process *proc);

/* update's linux.resources as JSON: memory, cpu, pids and blockIO weight
 * (what `hull update` sets; devices and the rest are create's). */
struct json_object *vmc_resources_json(const struct oci_resources *r);

#endif
