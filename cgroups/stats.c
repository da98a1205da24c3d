/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `events --stats` data in runc's types.Stats JSON shape.  Each controller is
 * read from its v1 hierarchy when the host has one, else from cgroup v2.
 * Zero numbers that runc tags omitempty are left out the same way.
 */
#include "cgroups/internal.h"

#include <dirent.h>
#include <inttypes.h>
#include <json-c/json.h>

static void put_u64(struct json_object *o, const char *k, uint64_t v, bool omitempty)
{
	if (v || !omitempty)
		json_object_object_add(o, k, json_object_new_uint64(v));
}

static uint64_t read_u64(const char *dir, const char *file)
{
	_cleanup_free_ char *s = NULL;
	uint64_t v = 0;

	if (cg_read(dir, file, &s, NULL) < 0)
		return 0;
	if (strcmp(s, "max") == 0)
		return UINT64_MAX;
	(void)parse_u64(s, &v);
	return v;
}

static uint64_t kv(const char *dir, const char *file, const char *key)
{
	uint64_t v = 0;
	(void)cg_read_kv(dir, file, key, &v);
	return v;
}

/* Every "key value" line of a flat keyed file into obj. */
static struct json_object *flat_keyed(const char *dir, const char *file)
{
	_cleanup_free_ char *buf = NULL;
	struct json_object *o = json_object_new_object();
	char *save = NULL;

	if (cg_read(dir, file, &buf, NULL) < 0)
		return o;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		uint64_t v;
		if (!sp)
			continue;
		*sp = '\0';
		if (parse_u64(sp + 1, &v) == 0)
			json_object_object_add(o, l, json_object_new_uint64(v));
	}
	return o;
}

static uint64_t obj_u64(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_uint64(v) : 0;
}

static struct json_object *entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt)
{
	struct json_object *o = json_object_new_object();
	put_u64(o, "limit", limit, false);
	put_u64(o, "usage", usage, true);
	put_u64(o, "max", max, true);
	put_u64(o, "failcnt", failcnt, false);
	return o;
}

struct json_object *cg_stats_cpu(const struct cgroup *cg)
{
	struct json_object *cpu = json_object_new_object(), *u = json_object_new_object();
	struct json_object *t = json_object_new_object();
	const char *acct = cg->v1[V1_CPUACCT], *c1 = cg->v1[V1_CPU];

	if (acct) {
		_cleanup_free_ char *percpu = NULL;
		char *save = NULL;
		/* cpuacct.stat counts USER_HZ ticks. */
		uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);
		put_u64(u, "total", read_u64(acct, "cpuacct.usage"), true);
		if (cg_read(acct, "cpuacct.usage_percpu", &percpu, NULL) == 0) {
			struct json_object *a = json_object_new_array();
			for (char *x = strtok_r(percpu, " ", &save); x; x = strtok_r(NULL, " ", &save)) {
				uint64_t v = 0;
				(void)parse_u64(x, &v);
				json_object_array_add(a, json_object_new_uint64(v));
			}
			json_object_object_add(u, "percpu", a);
		}
		put_u64(u, "kernel", kv(acct, "cpuacct.stat", "system") * (1000000000 / (hz ? hz : 100)), false);
		put_u64(u, "user", kv(acct, "cpuacct.stat", "user") * (1000000000 / (hz ? hz : 100)), false);
	} else if (cg->unified) {
		put_u64(u, "total", kv(cg->unified, "cpu.stat", "usage_usec") * 1000, true);
		put_u64(u, "kernel", kv(cg->unified, "cpu.stat", "system_usec") * 1000, false);
		put_u64(u, "user", kv(cg->unified, "cpu.stat", "user_usec") * 1000, false);
	}
	if (c1) {
		put_u64(t, "periods", kv(c1, "cpu.stat", "nr_periods"), true);
		put_u64(t, "throttledPeriods", kv(c1, "cpu.stat", "nr_throttled"), true);
		put_u64(t, "throttledTime", kv(c1, "cpu.stat", "throttled_time"), true);
	} else if (cg->unified) {
		put_u64(t, "periods", kv(cg->unified, "cpu.stat", "nr_periods"), true);
		put_u64(t, "throttledPeriods", kv(cg->unified, "cpu.stat", "nr_throttled"), true);
		put_u64(t, "throttledTime", kv(cg->unified, "cpu.stat", "throttled_usec") * 1000, true);
	}
	json_object_object_add(cpu, "usage", u);
	json_object_object_add(cpu, "throttling", t);
	return cpu;
}

struct json_object *cg_stats_memory(const struct cgroup *cg)
{
	struct json_object *m = json_object_new_object(), *raw;
	const char *d = cg->v1[V1_MEMORY];

	if (d) {
		raw = flat_keyed(d, "memory.stat");
		put_u64(m, "cache", obj_u64(raw, "cache"), true);
		json_object_object_add(m, "usage", entry(read_u64(d, "memory.limit_in_bytes"),
			read_u64(d, "memory.usage_in_bytes"), read_u64(d, "memory.max_usage_in_bytes"),
			read_u64(d, "memory.failcnt")));
		if (cg_exists(d, "memory.memsw.usage_in_bytes"))
			json_object_object_add(m, "swap", entry(read_u64(d, "memory.memsw.limit_in_bytes"),
				read_u64(d, "memory.memsw.usage_in_bytes"),
				read_u64(d, "memory.memsw.max_usage_in_bytes"), read_u64(d, "memory.memsw.failcnt")));
		if (cg_exists(d, "memory.kmem.usage_in_bytes"))
			json_object_object_add(m, "kernel", entry(read_u64(d, "memory.kmem.limit_in_bytes"),
				read_u64(d, "memory.kmem.usage_in_bytes"),
				read_u64(d, "memory.kmem.max_usage_in_bytes"), read_u64(d, "memory.kmem.failcnt")));
	} else if (cg->unified && cg_exists(cg->unified, "memory.current")) {
		const char *u = cg->unified;
		uint64_t lim = read_u64(u, "memory.max"), use = read_u64(u, "memory.current");
		uint64_t slim = read_u64(u, "memory.swap.max"), suse = read_u64(u, "memory.swap.current");
		raw = flat_keyed(u, "memory.stat");
		put_u64(m, "cache", obj_u64(raw, "file"), true);
		json_object_object_add(m, "usage", entry(lim, use, read_u64(u, "memory.peak"),
							 kv(u, "memory.events", "max")));
		/* runc reports v2 swap as memory+swap, like v1's memsw. */
		json_object_object_add(m, "swap", entry(lim == UINT64_MAX || slim == UINT64_MAX ? UINT64_MAX
							: lim + slim, use + suse, 0, 0));
	} else {
		return m;
	}
	json_object_object_add(m, "raw", raw);
	return m;
}

struct json_object *cg_stats_pids(const struct cgroup *cg)
{
	struct json_object *p = json_object_new_object();
	const char *d = cg->v1[V1_PIDS] ? cg->v1[V1_PIDS] : cg->unified;
	uint64_t lim;

	if (!d || !cg_exists(d, "pids.current"))
		return p;
	lim = read_u64(d, "pids.max");
	put_u64(p, "current", read_u64(d, "pids.current"), true);
	put_u64(p, "limit", lim == UINT64_MAX ? 0 : lim, true);
	return p;
}

static void blk_add(struct json_object *arr, uint64_t maj, uint64_t min, const char *op, uint64_t v)
{
	struct json_object *e = json_object_new_object();
	put_u64(e, "major", maj, true);
	put_u64(e, "minor", min, true);
	json_object_object_add(e, "op", json_object_new_string(op));
	put_u64(e, "value", v, true);
	json_object_array_add(arr, e);
}

/* v1 "8:0 Read 123" lines. */
static struct json_object *blk_v1(const char *dir, const char *file)
{
	_cleanup_free_ char *buf = NULL;
	struct json_object *a = json_object_new_array();
	char *save = NULL;

	if (cg_read(dir, file, &buf, NULL) < 0)
		return a;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long maj, min, v;
		char op[16];
		if (sscanf(l, "%llu:%llu %15s %llu", &maj, &min, op, &v) == 4)
			blk_add(a, maj, min, op, v);
	}
	return a;
}

struct json_object *cg_stats_blkio(const struct cgroup *cg)
{
	struct json_object *b = json_object_new_object();
	const char *d = cg->v1[V1_BLKIO];

	if (d) {
		json_object_object_add(b, "ioServiceBytesRecursive",
				       blk_v1(d, "blkio.throttle.io_service_bytes_recursive"));
		json_object_object_add(b, "ioServicedRecursive", blk_v1(d, "blkio.throttle.io_serviced_recursive"));
	} else if (cg->unified && cg_exists(cg->unified, "io.stat")) {
		_cleanup_free_ char *buf = NULL;
		struct json_object *bytes = json_object_new_array(), *ios = json_object_new_array();
		char *save = NULL;
		if (cg_read(cg->unified, "io.stat", &buf, NULL) == 0)
			for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
				unsigned long long maj, min;
				char *s2 = NULL;
				if (sscanf(l, "%llu:%llu", &maj, &min) != 2)
					continue;
				/* runc's op names for v2 keys. */
				for (char *t = strtok_r(strchr(l, ' '), " ", &s2); t; t = strtok_r(NULL, " ", &s2)) {
					char *eq = strchr(t, '=');
					uint64_t v = 0;
					if (!eq)
						continue;
					*eq = '\0';
					(void)parse_u64(eq + 1, &v);
					if (strcmp(t, "rbytes") == 0)
						blk_add(bytes, maj, min, "Read", v);
					else if (strcmp(t, "wbytes") == 0)
						blk_add(bytes, maj, min, "Write", v);
					else if (strcmp(t, "rios") == 0)
						blk_add(ios, maj, min, "Read", v);
					else if (strcmp(t, "wios") == 0)
						blk_add(ios, maj, min, "Write", v);
				}
			}
		json_object_object_add(b, "ioServiceBytesRecursive", bytes);
		json_object_object_add(b, "ioServicedRecursive", ios);
	}
	return b;
}

/* "hugepages-2048kB" -> "2MB" (the cgroup file naming). */
static void hp_name(const char *dirent, char *out, size_t len)
{
	unsigned long kb = strtoul(dirent + strlen("hugepages-"), NULL, 10);
	if (kb >= (1ul << 20) && kb % (1ul << 20) == 0)
		snprintf(out, len, "%luGB", kb >> 20);
	else if (kb >= 1024 && kb % 1024 == 0)
		snprintf(out, len, "%luMB", kb >> 10);
	else
		snprintf(out, len, "%luKB", kb);
}

struct json_object *cg_stats_hugetlb(const struct cgroup *cg)
{
	struct json_object *h = json_object_new_object();
	const char *d = cg->v1[V1_HUGETLB] ? cg->v1[V1_HUGETLB] : cg->unified;
	bool v1 = cg->v1[V1_HUGETLB] != NULL;
	DIR *sys = opendir("/sys/kernel/mm/hugepages");
	struct dirent *e;

	while (d && sys && (e = readdir(sys))) {
		char name[32];
		_cleanup_free_ char *cur = NULL, *mx = NULL, *ev = NULL;
		struct json_object *o;
		if (strncmp(e->d_name, "hugepages-", 10) != 0)
			continue;
		hp_name(e->d_name, name, sizeof(name));
		cur = xasprintf(v1 ? "hugetlb.%s.usage_in_bytes" : "hugetlb.%s.current", name);
		if (!cg_exists(d, cur))
			continue;
		o = json_object_new_object();
		put_u64(o, "usage", read_u64(d, cur), true);
		if (v1) {
			mx = xasprintf("hugetlb.%s.max_usage_in_bytes", name);
			ev = xasprintf("hugetlb.%s.failcnt", name);
			put_u64(o, "max", read_u64(d, mx), true);
			put_u64(o, "failcnt", read_u64(d, ev), false);
		} else {
			ev = xasprintf("hugetlb.%s.events", name);
			put_u64(o, "failcnt", kv(d, ev, "max"), false);
		}
		json_object_object_add(h, name, o);
	}
	if (sys)
		closedir(sys);
	return h;
}

int cgroups_stats_json(struct cgroup *cg, char **json, struct hull_err **err)
{
	struct json_object *root = json_object_new_object();

	for (size_t i = 0; i < cg_n_controllers; i++)
		if (cg_controllers[i].stats)
			json_object_object_add(root, cg_controllers[i].stats_key, cg_controllers[i].stats(cg));
	*json = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return 0;
}
