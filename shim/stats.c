// SPDX-License-Identifier: Apache-2.0
/*
 * shim/stats.c: Task.Stats' answer.  hull gives runc's `events --stats` data
 * (types.Stats JSON: nanoseconds, bytes); containerd wants the cgroups
 * package's metrics (github.com/containerd/cgroups stats/v1 or v2
 * metrics.proto) in an Any whose type URL is the message's full name, which
 * `ctr task metrics` and the CRI plugin decode.  Like the runc shim, v2 on a
 * cgroup v2 host, v1 otherwise (this includes hybrid hosts).
 */
#include <json-c/json.h>

#include "shim/internal.h"
#include "github.com/containerd/cgroups/stats/v1/metrics.pb-c.h"
#include "github.com/containerd/cgroups/v2/stats/metrics.pb-c.h"

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static uint64_t u64(json_object *o, const char *k)
{
	json_object *v = get(o, k);

	return v && (json_object_is_type(v, json_type_int)) ? json_object_get_uint64(v) : 0;
}

static void entry_v1(Io__Containerd__Cgroups__V1__MemoryEntry *e, json_object *o)
{
	io__containerd__cgroups__v1__memory_entry__init(e);
	e->limit = u64(o, "limit");
	e->usage = u64(o, "usage");
	e->max = u64(o, "max");
	e->failcnt = u64(o, "failcnt");
}

/* memory.stat keys (v1, in "raw") and their MemoryStat fields. */
#define V1_RAW(X)                                                                                         \
	X(rss, "rss") X(rss_huge, "rss_huge") X(mapped_file, "mapped_file") X(dirty, "dirty")              \
	X(writeback, "writeback") X(pg_pg_in, "pgpgin") X(pg_pg_out, "pgpgout") X(pg_fault, "pgfault")    \
	X(pg_maj_fault, "pgmajfault") X(inactive_anon, "inactive_anon") X(active_anon, "active_anon")     \
	X(inactive_file, "inactive_file") X(active_file, "active_file") X(unevictable, "unevictable")      \
	X(hierarchical_memory_limit, "hierarchical_memory_limit")                                           \
	X(hierarchical_swap_limit, "hierarchical_memsw_limit") X(total_cache, "total_cache")               \
	X(total_rss, "total_rss") X(total_rss_huge, "total_rss_huge")                                       \
	X(total_mapped_file, "total_mapped_file") X(total_dirty, "total_dirty")                             \
	X(total_writeback, "total_writeback") X(total_pg_pg_in, "total_pgpgin")                             \
	X(total_pg_pg_out, "total_pgpgout") X(total_pg_fault, "total_pgfault")                              \
	X(total_pg_maj_fault, "total_pgmajfault") X(total_inactive_anon, "total_inactive_anon")             \
	X(total_active_anon, "total_active_anon") X(total_inactive_file, "total_inactive_file")             \
	X(total_active_file, "total_active_file") X(total_unevictable, "total_unevictable")

/* memory.stat keys (v2, in "raw") and their MemoryStat fields. */
#define V2_RAW(X)                                                                                         \
	X(anon, "anon") X(file, "file") X(kernel_stack, "kernel_stack") X(slab, "slab") X(sock, "sock")    \
	X(shmem, "shmem") X(file_mapped, "file_mapped") X(file_dirty, "file_dirty")                        \
	X(file_writeback, "file_writeback") X(anon_thp, "anon_thp") X(inactive_anon, "inactive_anon")     \
	X(active_anon, "active_anon") X(inactive_file, "inactive_file") X(active_file, "active_file")      \
	X(unevictable, "unevictable") X(slab_reclaimable, "slab_reclaimable")                               \
	X(slab_unreclaimable, "slab_unreclaimable") X(pgfault, "pgfault") X(pgmajfault, "pgmajfault")      \
	X(workingset_refault, "workingset_refault") X(workingset_activate, "workingset_activate")           \
	X(workingset_nodereclaim, "workingset_nodereclaim") X(pgrefill, "pgrefill") X(pgscan, "pgscan")    \
	X(pgsteal, "pgsteal") X(pgactivate, "pgactivate") X(pgdeactivate, "pgdeactivate")                  \
	X(pglazyfree, "pglazyfree") X(pglazyfreed, "pglazyfreed") X(thp_fault_alloc, "thp_fault_alloc")    \
	X(thp_collapse_alloc, "thp_collapse_alloc")

static void pack(const ProtobufCMessage *m, uint8_t **value, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	*value = xmalloc(*len ? *len : 1);
	protobuf_c_message_pack(m, *value);
}

static void metrics_v1(json_object *d, uint8_t **value, size_t *len)
{
	Io__Containerd__Cgroups__V1__Metrics m = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
	Io__Containerd__Cgroups__V1__PidsStat pids = IO__CONTAINERD__CGROUPS__V1__PIDS_STAT__INIT;
	Io__Containerd__Cgroups__V1__CPUStat cpu = IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT;
	Io__Containerd__Cgroups__V1__CPUUsage usage = IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT;
	Io__Containerd__Cgroups__V1__Throttle thr = IO__CONTAINERD__CGROUPS__V1__THROTTLE__INIT;
	Io__Containerd__Cgroups__V1__MemoryStat mem = IO__CONTAINERD__CGROUPS__V1__MEMORY_STAT__INIT;
	Io__Containerd__Cgroups__V1__MemoryEntry mu, ms, mk;
	json_object *c = get(d, "cpu"), *cu = get(c, "usage"), *ct = get(c, "throttling");
	json_object *mo = get(d, "memory"), *raw = get(mo, "raw"), *pc = get(cu, "percpu");
	_cleanup_free_ uint64_t *percpu = NULL;

	pids.current = u64(get(d, "pids"), "current");
	pids.limit = u64(get(d, "pids"), "limit");
	m.pids = &pids;
	usage.total = u64(cu, "total");
	usage.kernel = u64(cu, "kernel");
	usage.user = u64(cu, "user");
	if (pc && json_object_is_type(pc, json_type_array)) {
		usage.n_per_cpu = json_object_array_length(pc);
		percpu = xcalloc(usage.n_per_cpu ? usage.n_per_cpu : 1, sizeof(*percpu));
		for (size_t i = 0; i < usage.n_per_cpu; i++)
			percpu[i] = json_object_get_uint64(json_object_array_get_idx(pc, i));
		usage.per_cpu = percpu;
	}
	thr.periods = u64(ct, "periods");
	thr.throttled_periods = u64(ct, "throttledPeriods");
	thr.throttled_time = u64(ct, "throttledTime");
	cpu.usage = &usage;
	cpu.throttling = &thr;
	m.cpu = &cpu;
	/* ctr's table reads Memory.Usage unconditionally: always set. */
	entry_v1(&mu, get(mo, "usage"));
	entry_v1(&ms, get(mo, "swap"));
	entry_v1(&mk, get(mo, "kernel"));
	mem.usage = &mu;
	mem.swap = &ms;
	mem.kernel = &mk;
	mem.cache = u64(mo, "cache");
#define X(field, key) mem.field = u64(raw, key);
	V1_RAW(X)
#undef X
	m.memory = &mem;
	pack(&m.base, value, len);
}

static void metrics_v2(json_object *d, uint8_t **value, size_t *len)
{
	Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
	Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
	Io__Containerd__Cgroups__V2__CPUStat cpu = IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
	Io__Containerd__Cgroups__V2__MemoryStat mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
	json_object *c = get(d, "cpu"), *cu = get(c, "usage"), *ct = get(c, "throttling");
	json_object *mo = get(d, "memory"), *raw = get(mo, "raw");

	pids.current = u64(get(d, "pids"), "current");
	pids.limit = u64(get(d, "pids"), "limit");
	m.pids = &pids;
	/* runc's JSON has nanoseconds; cgroup v2's cpu.stat and these fields microseconds. */
	cpu.usage_usec = u64(cu, "total") / 1000;
	cpu.user_usec = u64(cu, "user") / 1000;
	cpu.system_usec = u64(cu, "kernel") / 1000;
	cpu.nr_periods = u64(ct, "periods");
	cpu.nr_throttled = u64(ct, "throttledPeriods");
	cpu.throttled_usec = u64(ct, "throttledTime") / 1000;
	m.cpu = &cpu;
	mem.usage = u64(get(mo, "usage"), "usage");
	mem.usage_limit = u64(get(mo, "usage"), "limit");
	mem.swap_usage = u64(get(mo, "swap"), "usage");
	mem.swap_limit = u64(get(mo, "swap"), "limit");
#define X(field, key) mem.field = u64(raw, key);
	V2_RAW(X)
#undef X
	m.memory = &mem;
	pack(&m.base, value, len);
}

int shim_stats_metrics(const char *json, bool v2, char **any_url, uint8_t **value, size_t *len,
		       struct hull_err **err)
{
	json_object *root = json_tokener_parse(json), *data;

	/* `hull events --stats` prints {"type":"stats","id":..,"data":{...}}. */
	data = get(root, "data");
	if (!data || !json_object_is_type(data, json_type_object)) {
		json_object_put(root);
		return hull_err_make(err, EPROTO, "hull events --stats: no data object");
	}
	if (v2)
		metrics_v2(data, value, len);
	else
		metrics_v1(data, value, len);
	*any_url = xstrdup(v2 ? io__containerd__cgroups__v2__metrics__descriptor.name
			      : io__containerd__cgroups__v1__metrics__descriptor.name);
	json_object_put(root);
	return 0;
}
