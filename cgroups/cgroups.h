/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups/cgroups.h: the container's cgroup, from create to delete.
 *
 * One handle covers every hierarchy the host has:
 *   - pure cgroup v2 (cgroup2 at /sys/fs/cgroup): one directory;
 *   - hybrid (cgroup2 at /sys/fs/cgroup/unified plus v1 controllers under
 *     /sys/fs/cgroup/<ctrl>): the unified directory for tracking and the
 *     controllers cgroup2 holds, plus one directory per v1 hierarchy, limits
 *     written with v1 files;
 *   - pure v1: one directory per v1 hierarchy.
 * Backends: cgroupfs (default) and systemd (a transient "<prefix>-<name>.scope"
 * with Delegate=yes, started over the system bus; limits are also written to
 * the files afterwards, as runc does), and disabled (no cgroup: every op
 * on its handle does nothing).
 *
 * cgroupsPath (linux.cgroupsPath):
 *   - absolute "/a/b": relative to each hierarchy's mount root;
 *   - relative "a/b": under the parent of hull's own cgroup on cgroup v2 (a
 *     cgroup holding processes cannot delegate controllers: runc does the
 *     same), under hull's own cgroup on v1 hierarchies;
 *   - absent: the relative "hull/<id>"; the intermediate "hull" directory is
 *     removed on destroy when hull created it and it is empty;
 *   - systemd: "slice:prefix:name" (absent: "system.slice:hull:<id>").
 *   Components "." and ".." are rejected.
 *
 * Nothing here prints; warnings (ignored v1-only fields on v2) go to hull_warn.
 */
#ifndef HULL_CGROUPS_H
#define HULL_CGROUPS_H

#include "common/common.h"
#include "oci/oci.h"

struct cgroups_cfg {
	const char *id;                 /* container id (default path, scope name) */
	const char *cgroups_path;       /* linux.cgroupsPath, or NULL */
	bool systemd;                   /* --systemd-cgroup / --cgroup-manager=systemd */
	/* --cgroup-manager=disabled: the handle makes, enters, updates and
	 * removes nothing, and costs no syscall (no check, no layout). */
	bool disabled;
	const struct oci_resources *resources;      /* NULL: no limits, default devices */
	/* linux.devices: one at a default device's path (/dev/null, /dev/full...)
	 * drops that default allow rule, as runc does; the others grant nothing. */
	const struct oci_linux_device *devices;
	size_t n_devices;
	/* Raw files written after the limits (`hull jail --cgroup FILE=VALUE`):
	 * FILE is CONTROLLER.NAME, and goes to the hierarchy serving CONTROLLER
	 * (its v1 one on a hybrid host, else cgroup2).  cgroupfs only. */
	const struct oci_kv *files;
	size_t n_files;
};

struct cgroup;  /* opaque; one per container */

/*
 * Check resources and the path before anything exists: value ranges (each
 * error names the field: "linux.resources.cpu.period: must be > 0 when quota
 * is set"), v2-impossible fields (realtime*), unified keys, hugepage sizes,
 * cgroupsPath syntax.  `systemd` selects the slice:prefix:name syntax.
 */
int cgroups_validate(const struct oci_resources *r, const char *cgroups_path, bool systemd,
		     struct hull_err **err);

/*
 * Validate, create the cgroup (every hierarchy), apply the limits and the
 * device filter, and move pid in (when pid > 0; required with systemd).  On
 * failure everything this call created is removed again and *out is
 * untouched.  An existing directory may be reused when it has no processes
 * (runc refuses a busy one too); only directories hull made are removed later.
 */
int cgroups_create(const struct cgroups_cfg *cfg, pid_t pid, struct cgroup **out, struct hull_err **err);

/*
 * What cgroups_create(cfg) would make, made of nothing: the same paths, the
 * directories missing now listed as made by hull.  Serialized into the state
 * before cgroups_create runs, it lets a `delete --force` after a hull killed
 * in between remove what was made (cgroups_destroy ignores missing ones).
 * *out is NULL (and nothing to save) for a systemd scope or disabled.
 */
int cgroups_plan(const struct cgroups_cfg *cfg, struct cgroup **out, struct hull_err **err);

/* Text to keep in the container's state dir (no secrets, one line per
 * hierarchy); cgroups_load() turns it back into a handle.  Malloc'd; NULL
 * for a disabled handle (nothing to keep: the state has no cgroup). */
char *cgroups_serialize(const struct cgroup *cg);
int cgroups_load(const char *serialized, struct cgroup **out, struct hull_err **err);

/* `hull update`: apply r on top of what is there (absent fields unchanged).
 * When r has device rules they replace the old ones (plus runc's default list
 * and create's linux.devices, which the handle remembers); on v2 the new eBPF
 * program is attached before the old one is detached. */
int cgroups_update(struct cgroup *cg, const struct oci_resources *r, struct hull_err **err);

/* Move pid into the container's cgroup in every hierarchy.  sub (NULL for
 * none) is one `exec --cgroup` value, as for cgroups_sub. */
int cgroups_enter(struct cgroup *cg, const char *sub, pid_t pid, struct hull_err **err);

/* `exec --cgroup` (runc's): a handle, for joining only, of existing
 * sub-cgroups of cg's.  specs (NULL-terminated): one "PATH" for every
 * hierarchy, or "CTRL[,CTRL...]:PATH" values for v1 controllers (refused on
 * pure cgroup v2).  PATH is relative to the container's cgroup (leading "/"
 * ignored) and may not contain "." or ".." components. */
int cgroups_sub(const struct cgroup *cg, const char *const *specs, struct cgroup **out, struct hull_err **err);

/*
 * Joining without the kernel's global lock.  A pid written to cgroup.procs
 * takes cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
 * period (5-20 ms on a quiet machine) unless another migration just paid for
 * one.  Two moves skip it: a child cloned straight into its cgroup2 directory
 * (clone3 CLONE_INTO_CGROUP), and a single-threaded process writing "0" to a
 * v1 hierarchy's `tasks` file (a move of the calling thread alone).
 *
 * cgroups_clone_fd: an O_PATH fd of the cgroup2 directory for
 * CLONE_INTO_CGROUP, or *fd = -1 when there is none (pure v1, systemd).
 * cgroups_enter_self: run in that child, single-threaded: enter every v1
 * hierarchy, and the cgroup2 one too unless cloned_in.
 */
int cgroups_clone_fd(const struct cgroup *cg, int *fd, struct hull_err **err);
int cgroups_enter_self(const struct cgroup *cg, bool cloned_in, int *v1_fds, size_t n_v1_fds,
		       struct hull_err **err);
/* Each v1 hierarchy's `tasks`, opened for writing by hull so that the child
 * does not walk the paths: pass them as v1_fds (which closes them); with
 * v1_fds NULL, cgroups_enter_self opens the files itself. */
int cgroups_v1_tasks_fds(const struct cgroup *cg, int *fds, size_t cap, size_t *n, struct hull_err **err);

/*
 * VM-isolated containers.  KVM attaches each VM's kernel thread
 * (kvm-nx-lpage-recovery) to the cgroups its creator is in when the VM is
 * made, and kernel threads never freeze: a cgroup2 holding one never reports
 * "frozen 1".  cgroups_vm_split makes two sub-cgroups of cg's in the
 * hierarchies a freeze uses (cgroup2 and the v1 freezer; the others stay
 * as they are): CGROUPS_VM_KVM, where the VMM stands while it creates the
 * VM, so that the kernel thread lands there, and CGROUPS_VM_PAYLOAD, where
 * the VMM and the file server run.  From then on cg's freeze, thaw and
 * frozen state are the payload's (kept by cgroups_serialize), and destroy
 * removes both.  The limits stay on cg's own directory, which bounds both
 * (no controller is enabled below it).  Nothing to do for a disabled handle.
 */
#define CGROUPS_VM_KVM "kvm"
#define CGROUPS_VM_PAYLOAD "vmm"
int cgroups_vm_split(struct cgroup *cg, struct hull_err **err);
/* Move the calling process, all its threads, into the sub-cgroup `sub`
 * (CGROUPS_VM_KVM or CGROUPS_VM_PAYLOAD) of a split cg. */
int cgroups_vm_enter_self(const struct cgroup *cg, const char *sub, struct hull_err **err);

/* Freeze (pause) or thaw (resume); returns once the kernel reports the new
 * state, or fails with ETIMEDOUT after 10 s (the cgroup is thawed again). */
int cgroups_freeze(struct cgroup *cg, bool frozen, struct hull_err **err);
/*
 * `delete --force` of a process that may sit frozen outside the container's
 * cgroup (moved into another, frozen, v1 freezer or cgroup2 cgroup): a task
 * frozen by the v1 freezer dies of SIGKILL only once thawed, and a pid
 * namespace's init waits for all its processes.  Moves pid back into cg
 * (NULL: none) when it can, else thaws the cgroup holding it.  A pid in its
 * own cgroup, or in none frozen, is left alone.
 */
int cgroups_thaw_pid(struct cgroup *cg, pid_t pid, struct hull_err **err);
/* Whether the cgroup is frozen now (status "paused"). */
int cgroups_is_frozen(struct cgroup *cg, bool *frozen, struct hull_err **err);

/* Signal every process in the cgroup (`kill --all`).  SIGKILL uses cgroup.kill
 * when the kernel has it; otherwise (and for other signals) cgroup.procs is
 * walked, recursively, repeating for SIGKILL until no new pid shows up. */
int cgroups_kill_all(struct cgroup *cg, int sig, struct hull_err **err);

/* All pids in the cgroup and its sub-cgroups (`hull ps`), sorted. Malloc'd. */
int cgroups_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct hull_err **err);

/* runc's `events --stats` "data" object: {"cpu":..,"memory":..,"pids":..,
 * "blkio":..,"hugetlb":..}, from v2 files or, per controller, v1 files. */
int cgroups_stats_json(struct cgroup *cg, char **json, struct hull_err **err);

/* OOM kills so far (memory.events oom_kill on v2, memory.oom_control on v1). */
int cgroups_oom_count(struct cgroup *cg, uint64_t *n, struct hull_err **err);
/* An fd that wakes the caller when OOM events happen; *fd is -1 when the host
 * has none.  The caller owns it.  v2: memory.events, poll for POLLPRI, then
 * re-read cgroups_oom_count().  v1 memory: an eventfd registered on
 * memory.oom_control, poll for POLLIN and read its 8-byte counter. */
int cgroups_oom_fd(struct cgroup *cg, int *fd, struct hull_err **err);

/*
 * Remove the cgroup: SIGKILL what is left, wait until empty, rmdir every
 * hierarchy's directory (retrying EBUSY), then the parents hull created if
 * empty, and stop the systemd scope.  Missing directories are not errors.
 */
int cgroups_destroy(struct cgroup *cg, struct hull_err **err);

/* The container's cgroup relative to the cgroup2 root ("/hull/abc"), or the
 * v1 memory/pids path relative to its root on pure v1.  Owned by cg. */
const char *cgroups_path(const struct cgroup *cg);
/* Absolute cgroup2 directory of the container, or NULL when there is no
 * cgroup2 hierarchy.  Owned by cg. */
const char *cgroups_unified_dir(const struct cgroup *cg);
/* True when the host is pure cgroup v2. */
bool cgroups_host_is_v2(void);

void cgroups_free(struct cgroup *cg);

/* ---- conversions (runc's; exposed for tests and `hull features`) ---------- */

/* cpu.shares [2, 262144] -> cpu.weight [1, 10000]; 0 -> 0 (unset). */
uint64_t cgroups_shares_to_weight(uint64_t shares);
/* blkio.weight [10, 1000] -> io.weight [1, 10000]; 0 -> 0 (unset). */
uint64_t cgroups_blkio_to_io_weight(uint64_t weight);
/* OCI memory.swap (memory+swap) -> memory.swap.max; -1 means "max", 0 unset.
 * Fails when swap < limit or swap is set without a memory limit. */
int cgroups_swap_to_v2(int64_t swap, int64_t limit, int64_t *out, struct hull_err **err);

#endif
