/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd backend: a transient scope started over the system bus with
 * Delegate=yes and the container's first process, waiting for its job like
 * runc does.  Limits are passed as unit properties and written to the files
 * afterwards by the caller, so both agree.
 */
#include "cgroups/internal.h"

#include <dlfcn.h>
#include <systemd/sd-bus.h>
#include <time.h>

/*
 * libsystemd is loaded on first use: every other hull command would pay for
 * it (and for liblzma, libzstd, libgcrypt behind it) at each exec otherwise.
 */
static struct {
	__typeof__(sd_bus_call) *bus_call;
	__typeof__(sd_bus_call_method) *bus_call_method;
	__typeof__(sd_bus_error_free) *bus_error_free;
	__typeof__(sd_bus_error_has_name) *bus_error_has_name;
	__typeof__(sd_bus_flush_close_unref) *bus_flush_close_unref;
	__typeof__(sd_bus_match_signal) *bus_match_signal;
	__typeof__(sd_bus_message_append) *bus_message_append;
	__typeof__(sd_bus_message_close_container) *bus_message_close_container;
	__typeof__(sd_bus_message_new_method_call) *bus_message_new_method_call;
	__typeof__(sd_bus_message_open_container) *bus_message_open_container;
	__typeof__(sd_bus_message_read) *bus_message_read;
	__typeof__(sd_bus_message_unref) *bus_message_unref;
	__typeof__(sd_bus_open_system) *bus_open_system;
	__typeof__(sd_bus_process) *bus_process;
	__typeof__(sd_bus_slot_unref) *bus_slot_unref;
	__typeof__(sd_bus_wait) *bus_wait;
} sdb;

static int sdb_load(struct hull_err **err)
{
	static const char *const names[] = {
		"sd_bus_call",
		"sd_bus_call_method",
		"sd_bus_error_free",
		"sd_bus_error_has_name",
		"sd_bus_flush_close_unref",
		"sd_bus_match_signal",
		"sd_bus_message_append",
		"sd_bus_message_close_container",
		"sd_bus_message_new_method_call",
		"sd_bus_message_open_container",
		"sd_bus_message_read",
		"sd_bus_message_unref",
		"sd_bus_open_system",
		"sd_bus_process",
		"sd_bus_slot_unref",
		"sd_bus_wait"
	};
	void **slots = (void **)&sdb;
	void *h;

	_Static_assert(sizeof(sdb) == ARRAY_SIZE(names) * sizeof(void *), "one slot per symbol");
	if (sdb.bus_open_system)
		return 0;
	h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return hull_err_make(err, 0, "--systemd-cgroup: load libsystemd.so.0: %s", dlerror());
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		slots[i] = dlsym(h, names[i]);
		if (!slots[i]) {
			memset(&sdb, 0, sizeof(sdb));
			return hull_err_make(err, 0, "--systemd-cgroup: libsystemd lacks %s", names[i]);
		}
	}
	return 0;
}

#define sd_bus_call (*sdb.bus_call)
#define sd_bus_call_method (*sdb.bus_call_method)
#define sd_bus_error_free (*sdb.bus_error_free)
#define sd_bus_error_has_name (*sdb.bus_error_has_name)
#define sd_bus_flush_close_unref (*sdb.bus_flush_close_unref)
#define sd_bus_match_signal (*sdb.bus_match_signal)
#define sd_bus_message_append (*sdb.bus_message_append)
#define sd_bus_message_close_container (*sdb.bus_message_close_container)
#define sd_bus_message_new_method_call (*sdb.bus_message_new_method_call)
#define sd_bus_message_open_container (*sdb.bus_message_open_container)
#define sd_bus_message_read (*sdb.bus_message_read)
#define sd_bus_message_unref (*sdb.bus_message_unref)
#define sd_bus_open_system (*sdb.bus_open_system)
#define sd_bus_process (*sdb.bus_process)
#define sd_bus_slot_unref (*sdb.bus_slot_unref)
#define sd_bus_wait (*sdb.bus_wait)

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_IFACE "org.freedesktop.systemd1.Manager"
#define JOB_TIMEOUT_US (30ull * 1000 * 1000)

bool cg_systemd_running(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

static void bus_unrefp(sd_bus **b) { if (*b) sd_bus_flush_close_unref(*b); }
static void msg_unrefp(sd_bus_message **m) { if (*m) sd_bus_message_unref(*m); }
static void slot_unrefp(sd_bus_slot **s) { if (*s) sd_bus_slot_unref(*s); }
#define _cleanup_bus_ __attribute__((cleanup(bus_unrefp)))
#define _cleanup_msg_ __attribute__((cleanup(msg_unrefp)))
#define _cleanup_slot_ __attribute__((cleanup(slot_unrefp)))

struct job_wait {
	const char *path;           /* the job we wait for (set after the call) */
	char *result;
};

static int on_job_removed(sd_bus_message *m, void *data, sd_bus_error *e)
{
	struct job_wait *w = data;
	const char *path = NULL, *unit = NULL, *result = NULL;
	uint32_t id;

	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->path && strcmp(path, w->path) == 0 && !w->result)
		w->result = xstrdup(result);
	return 0;
}

static int append_props(sd_bus_message *m, const char *unit, const char *slice, pid_t pid,
			const struct oci_resources *r)
{
	int k = 0;

	k |= sd_bus_message_open_container(m, 'a', "(sv)");
	k |= sd_bus_message_append(m, "(sv)", "Description", "s", "hull container");
	if (strstr(unit, ".scope"))
		k |= sd_bus_message_append(m, "(sv)", "Slice", "s", slice);
	k |= sd_bus_message_append(m, "(sv)", "Delegate", "b", 1);
	k |= sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t)pid);
	k |= sd_bus_message_append(m, "(sv)", "DefaultDependencies", "b", 0);
	k |= sd_bus_message_append(m, "(sv)", "MemoryAccounting", "b", 1);
	k |= sd_bus_message_append(m, "(sv)", "CPUAccounting", "b", 1);
	k |= sd_bus_message_append(m, "(sv)", "TasksAccounting", "b", 1);
	k |= sd_bus_message_append(m, "(sv)", "IOAccounting", "b", 1);
	if (r) {
		int64_t swap = 0;
		if (r->memory.has_limit && r->memory.limit != 0)
			k |= sd_bus_message_append(m, "(sv)", "MemoryMax", "t",
						   r->memory.limit < 0 ? UINT64_MAX : (uint64_t)r->memory.limit);
		if (r->memory.has_reservation && r->memory.reservation > 0)
			k |= sd_bus_message_append(m, "(sv)", "MemoryLow", "t", (uint64_t)r->memory.reservation);
		if (cgroups_swap_to_v2(r->memory.has_swap ? r->memory.swap : 0,
				       r->memory.has_limit ? r->memory.limit : 0, &swap, NULL) == 0 && swap != 0)
			k |= sd_bus_message_append(m, "(sv)", "MemorySwapMax", "t",
						   swap < 0 ? UINT64_MAX : (uint64_t)swap);
		if (r->cpu.has_shares && r->cpu.shares)
			k |= sd_bus_message_append(m, "(sv)", "CPUWeight", "t", cgroups_shares_to_weight(r->cpu.shares));
		if (r->cpu.has_quota && r->cpu.quota > 0) {
			uint64_t period = r->cpu.has_period && r->cpu.period ? r->cpu.period : 100000;
			/* systemd wants quota per second, rounded up to 10 ms like runc. */
			uint64_t persec = (uint64_t)r->cpu.quota * 1000000 / period;
			persec = (persec + 9999) / 10000 * 10000;
			k |= sd_bus_message_append(m, "(sv)", "CPUQuotaPerSecUSec", "t", persec);
			k |= sd_bus_message_append(m, "(sv)", "CPUQuotaPeriodUSec", "t", period);
		}
		if (r->pids.has_limit)
			k |= sd_bus_message_append(m, "(sv)", "TasksMax", "t",
						   r->pids.limit > 0 ? (uint64_t)r->pids.limit : UINT64_MAX);
	}
	k |= sd_bus_message_close_container(m);
	return k < 0 ? k : 0;
}

int cg_systemd_start(const char *unit, const char *slice, pid_t pid, const struct oci_resources *r,
		     struct hull_err **err)
{
	_cleanup_bus_ sd_bus *bus = NULL;
	_cleanup_msg_ sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_slot_ sd_bus_slot *slot = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct job_wait w = { 0 };
	const char *job = NULL;
	uint64_t deadline;
	int k;

	if (sdb_load(err) < 0)
		return -1;
	if ((k = sd_bus_open_system(&bus)) < 0)
		return hull_err_make(err, -k, "--systemd-cgroup: connect to the system bus");
	if ((k = sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_IFACE, "JobRemoved", on_job_removed, &w)) < 0)
		return hull_err_make(err, -k, "--systemd-cgroup: subscribe to JobRemoved");
	if ((k = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_IFACE, "StartTransientUnit")) < 0 ||
	    (k = sd_bus_message_append(m, "ss", unit, "fail")) < 0 ||
	    (k = append_props(m, unit, slice, pid, r)) < 0 ||
	    (k = sd_bus_message_append(m, "a(sa(sv))", 0)) < 0)
		return hull_err_make(err, -k, "--systemd-cgroup: build StartTransientUnit");
	k = sd_bus_call(bus, m, JOB_TIMEOUT_US, &e, &reply);
	if (k < 0) {
		int ret = hull_err_make(err, -k, "--systemd-cgroup: start %s: %s", unit,
					e.message ? e.message : "failed");
		sd_bus_error_free(&e);
		return ret;
	}
	if ((k = sd_bus_message_read(reply, "o", &job)) < 0)
		return hull_err_make(err, -k, "--systemd-cgroup: start %s: bad reply", unit);
	w.path = job;
	deadline = (uint64_t)time(NULL) + JOB_TIMEOUT_US / 1000000;
	while (!w.result) {
		k = sd_bus_process(bus, NULL);
		if (k < 0)
			return hull_err_make(err, -k, "--systemd-cgroup: wait for %s", unit);
		if (k > 0)
			continue;
		if ((uint64_t)time(NULL) > deadline)
			return hull_err_make(err, ETIMEDOUT, "--systemd-cgroup: job for %s", unit);
		(void)sd_bus_wait(bus, 1000000);
	}
	if (strcmp(w.result, "done") != 0) {
		int ret = hull_err_make(err, 0, "--systemd-cgroup: start %s: job %s", unit, w.result);
		free(w.result);
		return ret;
	}
	free(w.result);
	return 0;
}

int cg_systemd_stop(const char *unit, struct hull_err **err)
{
	_cleanup_bus_ sd_bus *bus = NULL;
	_cleanup_msg_ sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int k;

	if (!unit || !cg_systemd_running())
		return 0;
	if (sdb_load(err) < 0)
		return -1;
	if ((k = sd_bus_open_system(&bus)) < 0)
		return hull_err_make(err, -k, "--systemd-cgroup: connect to the system bus");
	k = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_IFACE, "StopUnit", &e, &reply, "ss", unit, "replace");
	if (k < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
		int ret = hull_err_make(err, -k, "--systemd-cgroup: stop %s: %s", unit, e.message ? e.message : "");
		sd_bus_error_free(&e);
		return ret;
	}
	sd_bus_error_free(&e);
	return 0;
}
