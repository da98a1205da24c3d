/* SPDX-License-Identifier: Apache-2.0 */
/* cgroups/internal.h: private to cgroups/ (and its unit tests). */
#ifndef HULL_CGROUPS_INTERNAL_H
#define HULL_CGROUPS_INTERNAL_H

#include "cgroups/cgroups.h"

#include <linux/bpf.h>

/* ---- host layout (layout.c) ---------------------------------------------- */

/* v1 controllers hull knows; index into layout.v1[] and cgroup.v1[]. */
enum v1_ctrl { V1_CPU, V1_CPUACCT, V1_CPUSET, V1_MEMORY, V1_DEVICES, V1_FREEZER, V1_BLKIO,
	       V1_PIDS, V1_HUGETLB, V1_NET_CLS, V1_NET_PRIO, V1_RDMA, V1_PERF_EVENT, V1_MISC,
	       V1_COUNT };
extern const char *const v1_ctrl_names[V1_COUNT];
/* The V1_* index of a controller name, or -1. */
int v1_ctrl_index(const char *name);

enum cg_mode { CG_NONE, CG_V2, CG_HYBRID, CG_V1 };

struct cg_layout {
	enum cg_mode mode;
	char *unified;              /* cgroup2 mount point, or NULL */
	char *v1[V1_COUNT];         /* mount point of the hierarchy holding each controller */
	char *own_unified;          /* hull's own cgroup ("0::" line of /proc/self/cgroup) */
	char *own_v1[V1_COUNT];
};

/* The host layout, detected once from /proc/self/mountinfo and /proc/self/cgroup. */
const struct cg_layout *cg_layout_get(struct hull_err **err);
/* Tests: replace the detected layout (NULL restores detection).  Takes a copy. */
void cg_layout_set_for_test(const struct cg_layout *l);

/* Controllers enabled in cgroup2 (cgroup.controllers of the root). */
bool cg_v2_has_controller(const struct cg_layout *l, const char *name);
/* Which hierarchy serves a controller: true when it is a v1 one on this host. */
bool cg_ctrl_is_v1(const struct cg_layout *l, enum v1_ctrl c);

/* "a/b/c" -> checked: no "." or ".." components, no newline.  field names the
 * origin in the error. */
int cg_check_path(const char *path, const char *field, struct hull_err **err);
/* Resolve cgroupsPath (or the default) to the path relative to a hierarchy's
 * root ("/" separated, always starting with "/").  own is hull's own cgroup
 * in that hierarchy; parent_of_own selects its parent (cgroup v2). */
char *cg_resolve(const char *cgroups_path, const char *id, const char *own, bool parent_of_own);
/* Parse systemd "slice:prefix:name" into unit and slice. */
int cg_systemd_parse(const char *path, const char *id, char **slice, char **unit, struct hull_err **err);
/* systemd slice name -> path ("a-b.slice" -> "/a.slice/a-b.slice"). */
int cg_systemd_slice_path(const char *slice, char **out, struct hull_err **err);

/* ---- the handle ------------------------------------------------------------ */

/* Who makes, enters, updates and removes the container's cgroup: hull itself
 * (cgroupfs), systemd (a transient scope) or nobody (disabled: a handle with
 * no directory, whose ops return at once without a syscall).  Chosen once,
 * from cgroups_cfg when the handle is made, from the state when it is loaded
 * (manager.c); the handle's ops then go through it.  cgroupfs and systemd
 * share create, enter, update and destroy (limits, devices and pids are
 * written to the files alike) and differ in the steps below them. */
struct cg_backend {
	/* The ops (cgroups_create, cgroups_enter, cgroups_update, cgroups_destroy). */
	int (*create)(const struct cg_backend *b, const struct cgroups_cfg *cfg, pid_t pid, struct cgroup **out,
		      struct hull_err **err);
	int (*enter)(struct cgroup *cg, const char *sub, pid_t pid, struct hull_err **err);
	int (*update)(struct cgroup *cg, const struct oci_resources *r, struct hull_err **err);
	int (*destroy)(struct cgroup *cg, struct hull_err **err);
	/* Steps of the file-writing create and destroy. */
	/* Refuse early what this backend cannot do here.  NULL: nothing to refuse. */
	int (*check)(const struct cgroups_cfg *cfg, pid_t pid, struct hull_err **err);
	/* Name the cgroup: cg->rel (cgroup2, or pure v1's pids hierarchy), cg->unit. */
	int (*locate)(struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg,
		      struct hull_err **err);
	/* Its path relative to v1 hierarchy i.  Malloc'd. */
	char *(*v1_rel)(const struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg, int i);
	/* Before hull's steps: systemd starts the scope, with pid in it.  NULL: none. */
	int (*start)(struct cgroup *cg, const struct cgroups_cfg *cfg, pid_t pid, struct hull_err **err);
	/* Undo start before the directories go.  NULL: none. */
	int (*stop)(struct cgroup *cg, struct hull_err **err);
	/* hull makes the cgroup2 directory: it refuses a populated existing one,
	 * can plan it ahead (cgroups_plan) and clones the init into it. */
	bool owns_unified;
};

struct cgroup {
	const struct cg_backend *backend;
	char *unit;                 /* systemd scope, or NULL */
	char *rel;                  /* path relative to the cgroup2 root (or v1 root) */
	char *unified;              /* absolute cgroup2 dir, or NULL */
	bool pure_v2;
	char *v1[V1_COUNT];         /* absolute dir per v1 controller (comounted share one) */
	char **created;             /* dirs hull made, creation order (rmdir in reverse) */
	size_t n_created;
	/* linux.devices of create, allowed again when `update` replaces the rules. */
	struct oci_linux_device *devs;
	size_t n_devs;
	/* cgroups_vm_split: freeze, thaw and the frozen state act on the
	 * CGROUPS_VM_PAYLOAD sub-cgroup of unified and v1[V1_FREEZER]. */
	bool vm_split;
};

/* ---- files (fs.c) ---------------------------------------------------------- */

int cg_write(const char *dir, const char *file, const char *val, struct hull_err **err);
int cg_writef(const char *dir, const char *file, struct hull_err **err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Read a small file; trailing newline stripped.  Malloc'd. */
int cg_read(const char *dir, const char *file, char **out, struct hull_err **err);
bool cg_exists(const char *dir, const char *file);
/* Value of `key` in a "key value\n" file (cpu.stat, memory.events). */
int cg_read_kv(const char *dir, const char *file, const char *key, uint64_t *out);
/* Wait up to timeout_ms until cgroup.procs (recursively) is empty. */
int cg_wait_empty(const char *dir, int timeout_ms);
/* rmdir with retries on EBUSY; children first.  ENOENT is success. */
int cg_rmdir(const char *dir, struct hull_err **err);
/* Append pids in dir and below. */
int cg_collect_pids(const char *dir, pid_t **pids, size_t *n, size_t *cap, struct hull_err **err);

/* ---- controllers (controllers.c, resources.c, resources_v1.c, stats.c) ------ */

struct json_object;

/* One controller: adding one is a row in cg_controllers[] (controllers.c). */
struct cg_controller {
	const char *v2;             /* cgroup2 name, NULL when only v1 has it */
	enum v1_ctrl v1;            /* its v1 hierarchy */
	/* linux.resources asks for it: enable it in cgroup2's subtree_control. */
	bool (*needed)(const struct oci_resources *r);
	/* Write its part of r into the container's directory (each checks what r sets). */
	int (*apply_v2)(const char *dir, const struct oci_resources *r, struct hull_err **err);
	int (*apply_v1)(const struct cgroup *cg, const char *dir, const struct oci_resources *r,
			struct hull_err **err);
	const char *stats_key;      /* its object in `events --stats`, NULL: none */
	struct json_object *(*stats)(const struct cgroup *cg);
};
extern const struct cg_controller cg_controllers[];
extern const size_t cg_n_controllers;

/* The rows' parts that have their own file. */
int cg_v2_memory(const char *dir, const struct oci_resources *r, struct hull_err **err);
int cg_v2_cpu(const char *dir, const struct oci_resources *r, struct hull_err **err);
int cg_v2_io(const char *dir, const struct oci_resources *r, struct hull_err **err);
int cg_v2_hugetlb(const char *dir, const struct oci_resources *r, struct hull_err **err);
int cg_v1_memory(const struct cgroup *cg, const char *dir, const struct oci_resources *r, struct hull_err **err);
int cg_v1_cpu(const struct cgroup *cg, const char *dir, const struct oci_resources *r, struct hull_err **err);
int cg_v1_blkio(const struct cgroup *cg, const char *dir, const struct oci_resources *r, struct hull_err **err);
struct json_object *cg_stats_cpu(const struct cgroup *cg);
struct json_object *cg_stats_memory(const struct cgroup *cg);
struct json_object *cg_stats_pids(const struct cgroup *cg);
struct json_object *cg_stats_blkio(const struct cgroup *cg);
struct json_object *cg_stats_hugetlb(const struct cgroup *cg);
/* "max" for a negative value (runc's -1), the number otherwise.  Malloc'd. */
char *cg_num_or_max(int64_t v);

/* ---- raw controller files (files.c) ---------------------------------------- */

/* cfg->files: names CTRL.FILE, values one line, each controller served here. */
int cg_files_check(const struct cg_layout *l, const struct cgroups_cfg *cfg, struct hull_err **err);
/* Add to need[n..max) the cgroup2 controllers the files use; the new n. */
size_t cg_files_needed(const struct cg_layout *l, const struct cgroups_cfg *cfg, const char **need, size_t n,
		       size_t max);
/* Write each file into the directory of the hierarchy serving it. */
int cg_files_apply(const struct cgroup *cg, const struct cg_layout *l, const struct cgroups_cfg *cfg,
		   struct hull_err **err);

/* ---- resources (walks of cg_controllers[]) --------------------------------- */

/* The controllers (cgroup2 names, static strings) r needs that cgroup2 serves,
 * at most max of them into out; returns how many. */
size_t cg_v2_needed(const struct cg_layout *l, const struct oci_resources *r, const char **out, size_t max);
int cg_apply_v2(const struct cg_layout *l, const char *dir, const struct oci_resources *r,
		struct hull_err **err);
int cg_apply_v1(const struct cgroup *cg, const struct oci_resources *r, struct hull_err **err);
/* Before the container's cpu dir is removed (its processes gone): give each
 * parent hull raised for its realtime budget back what it had, down to what
 * its other children still need (resources_v1.c). */
void cg_rt_release(const struct cgroup *cg);
/* Hugepage size name ("2MB", "1GB", "64KB") -> kB; -1 when malformed. */
int64_t cg_hugepage_kb(const char *name);

/* ---- devices (ebpf.c) ------------------------------------------------------ */

struct cg_dev_rule { bool allow; char type; int64_t major, minor; unsigned access; };
#define CG_ACC_MKNOD 1u
#define CG_ACC_READ 2u
#define CG_ACC_WRITE 4u

/* If path is one of runc's default device nodes, its rule's type and numbers. */
bool cg_default_device(const char *path, char *type, int64_t *major, int64_t *minor);
/* Deny-all, the spec's rules, then runc's defaults minus those in devs
 * (defaults that linux.devices redefined). */
int cg_dev_rules(const struct oci_resources *r, const struct oci_linux_device *devs, size_t n_devs,
		 struct cg_dev_rule **out, size_t *n, struct hull_err **err);
/* Assemble a BPF_PROG_TYPE_CGROUP_DEVICE program (last matching rule wins). */
int cg_bpf_build(const struct cg_dev_rule *rules, size_t n, struct bpf_insn **insns, size_t *n_insns,
		 struct hull_err **err);
/* Load it; returns the program fd. */
int cg_bpf_load(const struct bpf_insn *insns, size_t n, struct hull_err **err);
/* Attach prog_fd to the cgroup dir, then detach every other device program
 * that was attached before (replacement without a window). */
int cg_bpf_install(const char *dir, int prog_fd, struct hull_err **err);
/* v1: devices.deny / devices.allow. */
int cg_devices_v1(const char *dir, const struct cg_dev_rule *rules, size_t n, struct hull_err **err);

/* ---- systemd (systemd.c) --------------------------------------------------- */

int cg_systemd_start(const char *unit, const char *slice, pid_t pid, const struct oci_resources *r,
		     struct hull_err **err);
int cg_systemd_stop(const char *unit, struct hull_err **err);
bool cg_systemd_running(void);

#endif
