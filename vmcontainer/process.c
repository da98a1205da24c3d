/* SPDX-License-Identifier: Apache-2.0 */
/* exec's process, as runtime/ built it from the config and the flags, back
 * into the OCI JSON the guest's hull reads (`exec --process`). */
#include "vmcontainer/internal.h"

#include <json-c/json.h>

static struct json_object *strv(char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static const char *const cap_sets[OCI_CAP_SET_COUNT] = {
	[OCI_CAP_BOUNDING] = "bounding", [OCI_CAP_EFFECTIVE] = "effective",
	[OCI_CAP_INHERITABLE] = "inheritable", [OCI_CAP_PERMITTED] = "permitted",
	[OCI_CAP_AMBIENT] = "ambient",
};

static struct json_object *caps_json(const struct oci_process *p)
{
	struct json_object *o = json_object_new_object();

	for (int set = 0; set < OCI_CAP_SET_COUNT; set++) {
		struct json_object *a = json_object_new_array();
		for (int c = 0; c <= oci_cap_last() && c < 64; c++)
			if (p->caps[set] & (1ull << c))
				json_object_array_add(a, json_object_new_string(oci_cap_name(c)));
		json_object_object_add(o, cap_sets[set], a);
	}
	return o;
}

static struct json_object *user_json(const struct oci_user *u)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "uid", json_object_new_int64(u->uid));
	json_object_object_add(o, "gid", json_object_new_int64(u->gid));
	if (u->has_umask)
		json_object_object_add(o, "umask", json_object_new_int64(u->umask));
	if (u->n_additional_gids) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < u->n_additional_gids; i++)
			json_object_array_add(a, json_object_new_int64(u->additional_gids[i]));
		json_object_object_add(o, "additionalGids", a);
	}
	if (u->username)
		json_object_object_add(o, "username", json_object_new_string(u->username));
	return o;
}

struct json_object *vmc_process_json(const struct oci_process *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "terminal", json_object_new_boolean(p->terminal));
	if (p->console_size.set) {
		struct json_object *cs = json_object_new_object();
		json_object_object_add(cs, "height", json_object_new_int64(p->console_size.height));
		json_object_object_add(cs, "width", json_object_new_int64(p->console_size.width));
		json_object_object_add(o, "consoleSize", cs);
	}
	json_object_object_add(o, "user", user_json(&p->user));
	json_object_object_add(o, "args", strv(p->args, p->n_args));
	json_object_object_add(o, "env", strv(p->env, p->n_env));
	json_object_object_add(o, "cwd", json_object_new_string(p->cwd ? p->cwd : "/"));
	if (p->has_capabilities)
		json_object_object_add(o, "capabilities", caps_json(p));
	if (p->n_rlimits) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < p->n_rlimits; i++) {
			struct json_object *r = json_object_new_object();
			json_object_object_add(r, "type", json_object_new_string(p->rlimits[i].name));
			json_object_object_add(r, "soft", json_object_new_uint64(p->rlimits[i].soft));
			json_object_object_add(r, "hard", json_object_new_uint64(p->rlimits[i].hard));
			json_object_array_add(a, r);
		}
		json_object_object_add(o, "rlimits", a);
	}
	json_object_object_add(o, "noNewPrivileges", json_object_new_boolean(p->no_new_privileges));
	if (p->apparmor_profile)
		json_object_object_add(o, "apparmorProfile", json_object_new_string(p->apparmor_profile));
	if (p->selinux_label)
		json_object_object_add(o, "selinuxLabel", json_object_new_string(p->selinux_label));
	if (p->has_oom_score_adj)
		json_object_object_add(o, "oomScoreAdj", json_object_new_int(p->oom_score_adj));
	return o;
}
