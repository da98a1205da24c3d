/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oci/oci.h: the OCI runtime-spec 1.2 model (config.json), the state JSON and
 * the features JSON.  Parsing validates everything that is spec vocabulary
 * (types, namespace/capability/rlimit names, absolute paths) and reports the
 * JSON path of the offending field: "process.capabilities.bounding[2]: unknown
 * capability \"CAP_FOO\"".  Mount options, syscall names and cgroup values are
 * validated by the modules that apply them (namespaces/, runtime/, cgroups/).
 *
 * All strings are owned by the struct and freed by oci_spec_free().
 * Absent optional values: NULL pointers, n_* == 0, has_* == false.
 */
#ifndef HULL_OCI_H
#define HULL_OCI_H

#include "common/common.h"

#include <sys/resource.h>

struct json_object;

/* ---- namespaces --------------------------------------------------------- */

enum oci_ns_type {
	OCI_NS_PID, OCI_NS_NETWORK, OCI_NS_MOUNT, OCI_NS_IPC, OCI_NS_UTS,
	OCI_NS_USER, OCI_NS_CGROUP, OCI_NS_TIME,
	OCI_NS_COUNT
};

struct oci_namespace {
	enum oci_ns_type type;
	char *path;                 /* join this namespace; NULL = create a new one */
};

/* {name, CLONE_* flag, /proc/PID/ns/<file>} for each type; index = enum value. */
struct oci_ns_info { const char *name; int clone_flag; const char *proc_name; };
extern const struct oci_ns_info oci_ns_table[OCI_NS_COUNT];
int oci_ns_from_name(const char *name);     /* enum value, or -1 */

struct oci_id_mapping { uint32_t container_id, host_id, size; };

/* ---- mounts ------------------------------------------------------------- */

struct oci_mount {
	char *destination;          /* absolute (validated) */
	char *type;                 /* may be NULL (bind mounts) */
	char *source;               /* may be NULL */
	char **options;             /* NULL-terminated, may be NULL */
	size_t n_options;
	struct oci_id_mapping *uid_mappings, *gid_mappings; /* idmapped mounts */
	size_t n_uid_mappings, n_gid_mappings;
};

/* ---- process ------------------------------------------------------------ */

enum oci_cap_set { OCI_CAP_BOUNDING, OCI_CAP_EFFECTIVE, OCI_CAP_INHERITABLE,
		   OCI_CAP_PERMITTED, OCI_CAP_AMBIENT, OCI_CAP_SET_COUNT };

struct oci_rlimit { int resource; char *name; uint64_t soft, hard; };

struct oci_user {
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username;
};

struct oci_io_priority { bool set; int class_; int priority; }; /* class_: IOPRIO_CLASS_* */

struct oci_scheduler {
	bool set;
	int policy;                 /* SCHED_* */
	int nice;
	int priority;
	uint32_t flags;             /* SCHED_FLAG_* */
	uint64_t runtime, deadline, period;
};

struct oci_process {
	bool terminal;
	struct { uint32_t height, width; bool set; } console_size;
	char *cwd;                  /* absolute */
	char **args;                /* NULL-terminated; n_args >= 1 for create */
	size_t n_args;
	char *command_line;         /* Windows-only; rejected */
	char **env;
	size_t n_env;
	struct oci_user user;
	bool has_capabilities;
	uint64_t caps[OCI_CAP_SET_COUNT];   /* bit N = capability N */
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
	struct oci_io_priority io_priority;
	struct oci_scheduler scheduler;
	/* execCPUAffinity */
	char *exec_cpu_affinity_initial, *exec_cpu_affinity_final;
};

/* Capability names (CAP_CHOWN .. CAP_CHECKPOINT_RESTORE), index = number. */
int oci_cap_from_name(const char *name);   /* number, or -1 */
const char *oci_cap_name(int cap);         /* NULL if unknown */
int oci_cap_last(void);                    /* highest number hull knows */
int oci_rlimit_from_name(const char *name); /* RLIMIT_*, or -1 */

/* ---- hooks -------------------------------------------------------------- */

struct oci_hook {
	char *path;
	char **args;                /* NULL-terminated, may be NULL */
	char **env;
	bool has_timeout;
	int timeout;                /* seconds, > 0 */
};

enum oci_hook_kind { OCI_HOOK_PRESTART, OCI_HOOK_CREATE_RUNTIME, OCI_HOOK_CREATE_CONTAINER,
		     OCI_HOOK_START_CONTAINER, OCI_HOOK_POSTSTART, OCI_HOOK_POSTSTOP,
		     OCI_HOOK_KIND_COUNT };
extern const char *const oci_hook_names[OCI_HOOK_KIND_COUNT]; /* "prestart", "createRuntime", ... */

struct oci_hook_list { struct oci_hook *hooks; size_t n; };

/* ---- seccomp (kept close to the JSON; runtime/ translates to libseccomp) - */

struct oci_seccomp_arg {
	uint32_t index;
	uint64_t value, value_two;
	char *op;                   /* "SCMP_CMP_EQ", ... */
};

struct oci_seccomp_syscall {
	char **names;
	size_t n_names;
	char *action;               /* "SCMP_ACT_ERRNO", ... */
	bool has_errno_ret;
	uint32_t errno_ret;
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	char *default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures;       /* "SCMP_ARCH_X86_64", ... */
	size_t n_architectures;
	char **flags;               /* "SECCOMP_FILTER_FLAG_LOG", ... */
	size_t n_flags;
	char *listener_path;
	char *listener_metadata;
	struct oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

/* ---- linux resources (cgroups/ applies them) ---------------------------- */

struct oci_device_rule {
	bool allow;
	char type;                  /* 'a', 'b', 'c' (0 when absent = 'a') */
	bool has_major, has_minor;
	int64_t major, minor;
	char *access;               /* subset of "rwm"; NULL = "rwm" */
};

struct oci_weight_device { int64_t major, minor; bool has_weight, has_leaf_weight; uint16_t weight, leaf_weight; };
struct oci_throttle_device { int64_t major, minor; uint64_t rate; };
struct oci_hugepage_limit { char *page_size; uint64_t limit; };
struct oci_rdma_limit { char *device; bool has_handles, has_objects; uint32_t hca_handles, hca_objects; };
struct oci_kv { char *key, *value; };

/* Each optional numeric has a has_ flag; int64 fields keep the spec's signedness
 * so that -1 ("unlimited") and invalid negatives can both be seen. */
struct oci_resources {
	struct oci_device_rule *devices; size_t n_devices;
	struct {
		bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp,
		     has_swappiness, has_disable_oom_killer, has_use_hierarchy, has_check_before_update;
		int64_t limit, reservation, swap, kernel, kernel_tcp;
		uint64_t swappiness;
		bool disable_oom_killer, use_hierarchy, check_before_update;
	} memory;
	struct {
		bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime,
		     has_realtime_period, has_idle;
		uint64_t shares, period, realtime_period, burst;
		int64_t quota, realtime_runtime, idle;
		char *cpus, *mems;
	} cpu;
	struct { bool has_limit; int64_t limit; } pids;
	struct {
		bool has_weight, has_leaf_weight;
		uint16_t weight, leaf_weight;
		struct oci_weight_device *weight_device; size_t n_weight_device;
		struct oci_throttle_device *throttle_read_bps, *throttle_write_bps,
			*throttle_read_iops, *throttle_write_iops;
		size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops,
			n_throttle_write_iops;
	} block_io;
	struct oci_hugepage_limit *hugepage_limits; size_t n_hugepage_limits;
	struct oci_rdma_limit *rdma; size_t n_rdma;
	struct oci_kv *unified; size_t n_unified;
	struct {
		bool has_class_id;
		uint32_t class_id;
		struct oci_net_priority { char *name; uint32_t priority; } *priorities;
		size_t n_priorities;
	} network;
};

/* ---- linux ------------------------------------------------------------- */

struct oci_linux_device {
	char *path;                 /* absolute, inside the container */
	char type;                  /* 'c', 'b', 'u', 'p' */
	int64_t major, minor;
	bool has_file_mode, has_uid, has_gid;
	uint32_t file_mode, uid, gid;
};

struct oci_time_offset { int64_t secs; uint32_t nanosecs; bool set; };

struct oci_personality { bool set; char *domain; char **flags; size_t n_flags; };

struct oci_linux {
	struct oci_namespace *namespaces; size_t n_namespaces;
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct oci_time_offset time_offsets[2];  /* [0] = monotonic, [1] = boottime */
	struct oci_linux_device *devices; size_t n_devices;
	char *cgroups_path;
	bool has_resources;
	struct oci_resources resources;
	char *rootfs_propagation;   /* "private", "rprivate", "slave", ... */
	struct oci_seccomp *seccomp; /* NULL = none */
	struct oci_kv *sysctl; size_t n_sysctl;
	char **masked_paths; size_t n_masked_paths;
	char **readonly_paths; size_t n_readonly_paths;
	char *mount_label;
	struct oci_personality personality;
	struct { bool set; char *domain; } intel_rdt;
};

/* ---- the whole config ---------------------------------------------------- */

struct oci_spec {
	char *oci_version;
	char *root_path;            /* as written (may be relative to the bundle) */
	bool root_readonly;
	bool has_process;
	struct oci_process process;
	char *hostname, *domainname;
	struct oci_mount *mounts; size_t n_mounts;
	struct oci_hook_list hooks[OCI_HOOK_KIND_COUNT];
	struct oci_kv *annotations; size_t n_annotations;
	bool has_linux;
	struct oci_linux linux_;
};

/* Parse and validate a config.json text.  `what` names the source in errors
 * (usually the file path).  On failure *out is untouched. */
int oci_spec_parse(const char *json, size_t len, const char *what, struct oci_spec **out,
		   struct hull_err **err);
/* Read BUNDLE/config.json and parse it. */
int oci_spec_load(const char *path, struct oci_spec **out, struct hull_err **err);
void oci_spec_free(struct oci_spec *spec);
/* Parse a process object alone (`exec --process FILE`), with the same checks. */
int oci_process_parse(const char *json, size_t len, const char *what, struct oci_process *out,
		      struct hull_err **err);
void oci_process_clear(struct oci_process *p);
/* Deep copy of a process (exec starts from the container's process then overrides). */
void oci_process_copy(struct oci_process *dst, const struct oci_process *src);
/* Resources alone (`update --resources FILE`). */
int oci_resources_parse(const char *json, size_t len, const char *what, struct oci_resources *out,
			struct hull_err **err);
void oci_resources_clear(struct oci_resources *r);

bool oci_spec_has_ns(const struct oci_spec *spec, enum oci_ns_type t);
const struct oci_namespace *oci_spec_get_ns(const struct oci_spec *spec, enum oci_ns_type t);

/* The default config.json of `hull spec` (runc's defaults); rootless adds a user
 * namespace with the caller's ids mapped.  Returns a malloc'd JSON text. */
char *oci_spec_default_json(bool rootless, uid_t uid, gid_t gid);

/* ---- state JSON --------------------------------------------------------- */

/* PAUSED is runc's addition (a frozen cgroup); the spec has the first four. */
enum oci_status { OCI_STATUS_CREATING, OCI_STATUS_CREATED, OCI_STATUS_RUNNING, OCI_STATUS_STOPPED,
		  OCI_STATUS_PAUSED };
extern const char *const oci_status_names[5];

struct oci_state {
	char *oci_version;
	char *id;
	enum oci_status status;
	pid_t pid;                  /* 0 when stopped */
	char *bundle;               /* absolute */
	struct oci_kv *annotations; size_t n_annotations;
};

/* The spec's state JSON (pretty when pretty=true). Malloc'd. */
char *oci_state_to_json(const struct oci_state *st, bool pretty);

/* ---- features JSON ------------------------------------------------------ */

/* Runtime-spec "features" document; the lists must be true to what hull does. */
char *oci_features_json(void);

/* ---- strict JSON for other parsers of untrusted JSON (oci/json.c) ---------- */

/* Parse a whole document strictly (json-c's depth limit of 32, UTF-8 checked,
 * no NaN/Infinity/single quotes/64-bit overflow, nothing after it); errors read
 * "WHAT: invalid JSON at offset N: why".  *out is a new reference. */
int oci_json_parse(const char *json, size_t len, const char *what, struct json_object **out,
		   struct hull_err **err);
/* Typed fields of an object, errors naming "path.key": absent or null -> 0 (an
 * error "path.key: required" when `required`), present with the right type
 * -> 1 with *out set, present with another type -> error.  Strings must not
 * hold a NUL; *str_out is malloc'd (the old value freed); objects and arrays
 * are borrowed from `o`. */
int oci_json_get_str(struct json_object *o, const char *key, const char *path, bool required,
		     char **out, struct hull_err **err);
int oci_json_get_bool(struct json_object *o, const char *key, const char *path, bool required,
		      bool *out, struct hull_err **err);
int oci_json_get_int(struct json_object *o, const char *key, const char *path, bool required,
		     int *out, struct hull_err **err);
int oci_json_get_i64(struct json_object *o, const char *key, const char *path, bool required,
		     int64_t *out, struct hull_err **err);
int oci_json_get_object(struct json_object *o, const char *key, const char *path, bool required,
			struct json_object **out, struct hull_err **err);
int oci_json_get_array(struct json_object *o, const char *key, const char *path, bool required,
		       struct json_object **out, struct hull_err **err);

#endif
