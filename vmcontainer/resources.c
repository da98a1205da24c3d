/* SPDX-License-Identifier: Apache-2.0 */
/* `update`'s resources, as cli/ parsed them, back into the OCI JSON the
 * guest's hull applies to the container's cgroup inside the guest. */
#include "vmcontainer/internal.h"

#include <json-c/json.h>

#define ADD_I64(o, has, key, v) \
	do { if (has) json_object_object_add(o, key, json_object_new_int64((int64_t)(v))); } while (0)
#define ADD_U64(o, has, key, v) \
	do { if (has) json_object_object_add(o, key, json_object_new_uint64((uint64_t)(v))); } while (0)

static void add_nonempty(struct json_object *parent, const char *key, struct json_object *o)
{
	if (json_object_object_length(o) > 0)
		json_object_object_add(parent, key, o);
	else
		json_object_put(o);
}

struct json_object *vmc_resources_json(const struct oci_resources *r)
{
	struct json_object *o = json_object_new_object(), *m = json_object_new_object(),
			   *c = json_object_new_object(), *p = json_object_new_object(),
			   *b = json_object_new_object();

	ADD_I64(m, r->memory.has_limit, "limit", r->memory.limit);
	ADD_I64(m, r->memory.has_reservation, "reservation", r->memory.reservation);
	ADD_I64(m, r->memory.has_swap, "swap", r->memory.swap);
	ADD_U64(m, r->memory.has_swappiness, "swappiness", r->memory.swappiness);
	if (r->memory.has_disable_oom_killer)
		json_object_object_add(m, "disableOOMKiller", json_object_new_boolean(r->memory.disable_oom_killer));
	ADD_U64(c, r->cpu.has_shares, "shares", r->cpu.shares);
	ADD_I64(c, r->cpu.has_quota, "quota", r->cpu.quota);
	ADD_U64(c, r->cpu.has_burst, "burst", r->cpu.burst);
	ADD_U64(c, r->cpu.has_period, "period", r->cpu.period);
	ADD_I64(c, r->cpu.has_realtime_runtime, "realtimeRuntime", r->cpu.realtime_runtime);
	ADD_U64(c, r->cpu.has_realtime_period, "realtimePeriod", r->cpu.realtime_period);
	ADD_I64(c, r->cpu.has_idle, "idle", r->cpu.idle);
	if (r->cpu.cpus)
		json_object_object_add(c, "cpus", json_object_new_string(r->cpu.cpus));
	if (r->cpu.mems)
		json_object_object_add(c, "mems", json_object_new_string(r->cpu.mems));
	ADD_I64(p, r->pids.has_limit, "limit", r->pids.limit);
	ADD_U64(b, r->block_io.has_weight, "weight", r->block_io.weight);
	add_nonempty(o, "memory", m);
	add_nonempty(o, "cpu", c);
	add_nonempty(o, "pids", p);
	add_nonempty(o, "blockIO", b);
	return o;
}
