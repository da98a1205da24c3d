/* SPDX-License-Identifier: Apache-2.0 */
/* The process object of config.json (also `exec --process FILE`). */
#include "oci/internal.h"

static int parse_user(jobj *proc, const char *path, struct oci_user *u, struct hull_err **err)
{
	jobj *o, *gids;
	char p[JP_MAX], pi[JP_MAX];
	int r;

	r = j_field(proc, "user", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "user");
	if (j_u32(o, "uid", p, &u->uid, err) < 0 || j_u32(o, "gid", p, &u->gid, err) < 0)
		return -1;
	r = j_u32(o, "umask", p, &u->umask, err);
	if (r < 0)
		return -1;
	u->has_umask = r > 0;
	if (j_str(o, "username", p, &u->username, err) < 0)
		return -1;
	r = j_field(o, "additionalGids", json_type_array, p, &gids, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t n = json_object_array_length(gids);
		char pa[JP_MAX];

		jp_key(pa, p, "additionalGids");
		free(u->additional_gids);
		u->additional_gids = xcalloc(n + 1, sizeof(uint32_t));
		u->n_additional_gids = n;
		for (size_t i = 0; i < n; i++) {
			uint64_t g;
			jp_idx(pi, pa, i);
			if (jv_u64(json_object_array_get_idx(gids, i), pi, UINT32_MAX, &g, err) < 0)
				return -1;
			u->additional_gids[i] = (uint32_t)g;
		}
	}
	return 0;
}

static int parse_caps(jobj *proc, const char *path, struct oci_process *out, struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX], ps[JP_MAX], pi[JP_MAX];
	int r;

	r = j_field(proc, "capabilities", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "capabilities");
	out->has_capabilities = true;
	for (int set = 0; set < OCI_CAP_SET_COUNT; set++) {
		jobj *arr;
		size_t n;

		out->caps[set] = 0;
		r = j_field(o, oci_cap_set_names[set], json_type_array, p, &arr, err);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		jp_key(ps, p, oci_cap_set_names[set]);
		n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			jobj *v = json_object_array_get_idx(arr, i);
			int cap;

			jp_idx(pi, ps, i);
			if (j_expect(v, json_type_string, pi, err) < 0)
				return -1;
			cap = oci_cap_from_name(json_object_get_string(v));
			if (cap < 0)
				return hull_err_make(err, 0, "%s: unknown capability \"%s\"", pi,
						     json_object_get_string(v));
			out->caps[set] |= UINT64_C(1) << cap;
		}
	}
	return 0;
}

static int parse_rlimit(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_rlimit *all = base, *rl = &all[i];
	char pt[JP_MAX];
	int r;

	r = j_str(o, "type", p, &rl->name, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "type", err);
	jp_key(pt, p, "type");
	rl->resource = oci_rlimit_from_name(rl->name);
	if (rl->resource < 0)
		return hull_err_make(err, 0, "%s: unknown rlimit \"%s\"", pt, rl->name);
	for (size_t j = 0; j < i; j++)
		if (all[j].resource == rl->resource)
			return hull_err_make(err, 0, "%s: duplicate rlimit \"%s\"", pt, rl->name);
	r = j_u64(o, "soft", p, &rl->soft, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "soft", err);
	r = j_u64(o, "hard", p, &rl->hard, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "hard", err);
	if (rl->soft > rl->hard)
		return hull_err_make(err, 0, "%s: soft limit %" PRIu64 " exceeds hard limit %" PRIu64, p,
				     rl->soft, rl->hard);
	return 0;
}

static int parse_rlimits(jobj *proc, const char *path, struct oci_process *out, struct hull_err **err)
{
	void *base = NULL;
	int r = j_objects(proc, "rlimits", path, sizeof(*out->rlimits), &base, &out->n_rlimits,
			  parse_rlimit, err);

	out->rlimits = base;
	return r;
}

static int parse_io_priority(jobj *proc, const char *path, struct oci_io_priority *io,
			     struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	_cleanup_free_ char *cls = NULL;
	int r;

	r = j_field(proc, "ioPriority", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "ioPriority");
	r = j_str(o, "class", p, &cls, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "class", err);
	io->class_ = oci_table_lookup(oci_ioprio_classes, oci_n_ioprio_classes, cls);
	if (io->class_ < 0)
		return hull_err_make(err, 0, "%s.class: unknown class \"%s\"", p, cls);
	io->priority = 0;
	if (j_int(o, "priority", p, &io->priority, err) < 0)
		return -1;
	if (io->priority < 0 || io->priority > 7)
		return hull_err_make(err, 0, "%s.priority: must be in [0, 7], got %d", p, io->priority);
	io->set = true;
	return 0;
}

static int parse_scheduler(jobj *proc, const char *path, struct oci_scheduler *s,
			   struct hull_err **err)
{
	jobj *o, *flags;
	char p[JP_MAX], pf[JP_MAX], pi[JP_MAX];
	_cleanup_free_ char *policy = NULL;
	int r;

	r = j_field(proc, "scheduler", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "scheduler");
	r = j_str(o, "policy", p, &policy, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "policy", err);
	s->policy = oci_table_lookup(oci_sched_policies, oci_n_sched_policies, policy);
	if (s->policy < 0)
		return hull_err_make(err, 0, "%s.policy: unknown policy \"%s\"", p, policy);
	if (j_int(o, "nice", p, &s->nice, err) < 0 || j_int(o, "priority", p, &s->priority, err) < 0 ||
	    j_u64(o, "runtime", p, &s->runtime, err) < 0 ||
	    j_u64(o, "deadline", p, &s->deadline, err) < 0 ||
	    j_u64(o, "period", p, &s->period, err) < 0)
		return -1;
	r = j_field(o, "flags", json_type_array, p, &flags, err);
	if (r < 0)
		return -1;
	jp_key(pf, p, "flags");
	for (size_t i = 0; r > 0 && i < json_object_array_length(flags); i++) {
		jobj *v = json_object_array_get_idx(flags, i);
		int bit;

		jp_idx(pi, pf, i);
		if (j_expect(v, json_type_string, pi, err) < 0)
			return -1;
		bit = oci_table_lookup(oci_sched_flags, oci_n_sched_flags, json_object_get_string(v));
		if (bit < 0)
			return hull_err_make(err, 0, "%s: unknown flag \"%s\"", pi, json_object_get_string(v));
		s->flags |= (uint32_t)bit;
	}
	s->set = true;
	return 0;
}

static int parse_console_size(jobj *proc, const char *path, struct oci_process *out,
			      struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	int r;

	r = j_field(proc, "consoleSize", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "consoleSize");
	r = j_u32(o, "height", p, &out->console_size.height, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "height", err);
	r = j_u32(o, "width", p, &out->console_size.width, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "width", err);
	out->console_size.set = true;
	return 0;
}

static int parse_cpu_affinity(jobj *proc, const char *path, struct oci_process *out,
			      struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	int r;

	r = j_field(proc, "execCPUAffinity", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "execCPUAffinity");
	if (j_str(o, "initial", p, &out->exec_cpu_affinity_initial, err) < 0 ||
	    j_str(o, "final", p, &out->exec_cpu_affinity_final, err) < 0)
		return -1;
	return 0;
}

/* Fills *out, which must start zeroed; on failure the caller clears it. */
int oci_parse_process(jobj *p, const char *path, struct oci_process *out, struct hull_err **err)
{
	char pa[JP_MAX];
	int r;

	if (j_expect(p, json_type_object, path[0] ? path : "process", err) < 0)
		return -1;
	if (j_bool(p, "terminal", path, &out->terminal, err) < 0 ||
	    parse_console_size(p, path, out, err) < 0)
		return -1;

	r = j_str(p, "cwd", path, &out->cwd, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return j_required(path, "cwd", err);
	if (j_abs_path(out->cwd, path, "cwd", err) < 0)
		return -1;

	r = j_strv(p, "args", path, &out->args, &out->n_args, err);
	if (r < 0)
		return -1;
	jp_key(pa, path, "args");
	if (out->n_args == 0)
		return hull_err_make(err, 0, "%s: must contain at least one element", pa);
	if (out->args[0][0] == '\0')
		return hull_err_make(err, 0, "%s[0]: must not be empty", pa);

	r = j_str(p, "commandLine", path, &out->command_line, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		jp_key(pa, path, "commandLine");
		return hull_err_make(err, 0, "%s: Windows only, use args", pa);
	}
	if (j_strv(p, "env", path, &out->env, &out->n_env, err) < 0 ||
	    parse_user(p, path, &out->user, err) < 0 || parse_caps(p, path, out, err) < 0 ||
	    parse_rlimits(p, path, out, err) < 0 ||
	    j_bool(p, "noNewPrivileges", path, &out->no_new_privileges, err) < 0 ||
	    j_str(p, "apparmorProfile", path, &out->apparmor_profile, err) < 0 ||
	    j_str(p, "selinuxLabel", path, &out->selinux_label, err) < 0)
		return -1;
	r = j_int(p, "oomScoreAdj", path, &out->oom_score_adj, err);
	if (r < 0)
		return -1;
	out->has_oom_score_adj = r > 0;
	if (parse_io_priority(p, path, &out->io_priority, err) < 0 ||
	    parse_scheduler(p, path, &out->scheduler, err) < 0 ||
	    parse_cpu_affinity(p, path, out, err) < 0)
		return -1;
	return 0;
}

void oci_process_clear(struct oci_process *p)
{
	if (!p)
		return;
	free(p->cwd);
	strv_free(p->args);
	free(p->command_line);
	strv_free(p->env);
	free(p->user.additional_gids);
	free(p->user.username);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].name);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->exec_cpu_affinity_initial);
	free(p->exec_cpu_affinity_final);
	memset(p, 0, sizeof(*p));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void oci_process_copy(struct oci_process *dst, const struct oci_process *src)
{
	*dst = *src;
	dst->cwd = dup_or_null(src->cwd);
	dst->args = strv_copy(src->args);
	dst->command_line = dup_or_null(src->command_line);
	dst->env = strv_copy(src->env);
	dst->user.username = dup_or_null(src->user.username);
	dst->user.additional_gids = NULL;
	if (src->user.additional_gids) {
		dst->user.additional_gids = xcalloc(src->user.n_additional_gids + 1, sizeof(uint32_t));
		memcpy(dst->user.additional_gids, src->user.additional_gids,
		       src->user.n_additional_gids * sizeof(uint32_t));
	}
	dst->rlimits = NULL;
	if (src->rlimits) {
		dst->rlimits = xcalloc(src->n_rlimits + 1, sizeof(*dst->rlimits));
		for (size_t i = 0; i < src->n_rlimits; i++) {
			dst->rlimits[i] = src->rlimits[i];
			dst->rlimits[i].name = dup_or_null(src->rlimits[i].name);
		}
	}
	dst->apparmor_profile = dup_or_null(src->apparmor_profile);
	dst->selinux_label = dup_or_null(src->selinux_label);
	dst->exec_cpu_affinity_initial = dup_or_null(src->exec_cpu_affinity_initial);
	dst->exec_cpu_affinity_final = dup_or_null(src->exec_cpu_affinity_final);
}

int oci_process_parse(const char *json, size_t len, const char *what, struct oci_process *out,
		      struct hull_err **err)
{
	_cleanup_jobj_ jobj *root = NULL;
	struct oci_process p = { 0 };

	if (oci_json_parse(json, len, what, &root, err) < 0)
		return -1;
	/* Field paths are relative to the process object: "args", "user.uid". */
	if (oci_parse_process(root, "", &p, err) < 0) {
		oci_process_clear(&p);
		return hull_err_wrap(err, "%s", what);
	}
	*out = p;
	return 0;
}
