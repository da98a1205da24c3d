/* SPDX-License-Identifier: Apache-2.0 */
/* The linux section of config.json (config-linux.md), except linux.resources. */
#include "oci/internal.h"

static int parse_namespace(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_namespace *all = base, *ns = &all[i];
	_cleanup_free_ char *type = NULL;
	char pt[JP_MAX];
	int r, t;

	r = j_str(o, "type", p, &type, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "type", err);
	jp_key(pt, p, "type");
	t = oci_ns_from_name(type);
	if (t < 0)
		return hull_err_make(err, 0, "%s: unknown namespace \"%s\"", pt, type);
	for (size_t j = 0; j < i; j++)
		if (all[j].type == (enum oci_ns_type)t)
			return hull_err_make(err, 0, "%s: duplicate namespace \"%s\"", pt, type);
	ns->type = (enum oci_ns_type)t;
	if (j_str(o, "path", p, &ns->path, err) < 0 ||
	    (ns->path && j_abs_path(ns->path, p, "path", err) < 0))
		return -1;
	return 0;
}

static int parse_time_offsets(jobj *l, const char *path, struct oci_linux *out, struct hull_err **err)
{
	static const char *const clocks[] = { "monotonic", "boottime" };
	jobj *o;
	char p[JP_MAX], pk[JP_MAX];
	int r;

	r = j_field(l, "timeOffsets", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "timeOffsets");
	json_object_object_foreach(o, key, val) {
		size_t c;
		struct oci_time_offset *t;

		(void)val;
		jp_key(pk, p, key);
		for (c = 0; c < ARRAY_SIZE(clocks); c++)
			if (strcmp(clocks[c], key) == 0)
				break;
		if (c == ARRAY_SIZE(clocks))
			return hull_err_make(err, 0, "%s: unknown clock (want monotonic or boottime)", pk);
		if (j_field(o, key, json_type_object, p, &val, err) < 0)
			return -1;
		if (val == NULL)
			continue;
		t = &out->time_offsets[c];
		if (j_i64(val, "secs", pk, &t->secs, err) < 0 ||
		    j_u32(val, "nanosecs", pk, &t->nanosecs, err) < 0)
			return -1;
		if (t->nanosecs >= 1000000000u)
			return hull_err_make(err, 0, "%s.nanosecs: must be below 1000000000", pk);
		t->set = true;
	}
	return 0;
}

static int parse_device(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_linux_device *d = (struct oci_linux_device *)base + i;
	_cleanup_free_ char *type = NULL;
	int r, rmaj, rmin;

	r = j_str(o, "path", p, &d->path, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "path", err);
	if (j_abs_path(d->path, p, "path", err) < 0)
		return -1;
	r = j_str(o, "type", p, &type, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "type", err);
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return hull_err_make(err, 0, "%s.type: unknown device type \"%s\" (want c, b, u or p)", p,
				     type);
	d->type = type[0];
	rmaj = j_i64(o, "major", p, &d->major, err);
	if (rmaj < 0)
		return -1;
	rmin = j_i64(o, "minor", p, &d->minor, err);
	if (rmin < 0)
		return -1;
	/* A FIFO has no device number; every other type needs both. */
	if (d->type != 'p' && (rmaj == 0 || rmin == 0))
		return j_required(p, rmaj == 0 ? "major" : "minor", err);
	r = j_u32(o, "fileMode", p, &d->file_mode, err);
	if (r < 0)
		return -1;
	d->has_file_mode = r > 0;
	r = j_u32(o, "uid", p, &d->uid, err);
	if (r < 0)
		return -1;
	d->has_uid = r > 0;
	r = j_u32(o, "gid", p, &d->gid, err);
	if (r < 0)
		return -1;
	d->has_gid = r > 0;
	return 0;
}

static int parse_seccomp_arg(jobj *a, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_seccomp_arg *arg = (struct oci_seccomp_arg *)base + i;
	int r;

	r = j_u32(a, "index", p, &arg->index, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "index", err);
	r = j_u64(a, "value", p, &arg->value, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "value", err);
	if (j_u64(a, "valueTwo", p, &arg->value_two, err) < 0)
		return -1;
	r = j_str(a, "op", p, &arg->op, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "op", err);
	return 0;
}

static int parse_seccomp_syscall(jobj *o, const char *p, void *base, size_t i,
				 struct hull_err **err)
{
	struct oci_seccomp_syscall *sc = (struct oci_seccomp_syscall *)base + i;
	void *args = NULL;
	int r;

	r = j_strv(o, "names", p, &sc->names, &sc->n_names, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "names", err);
	r = j_str(o, "action", p, &sc->action, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "action", err);
	r = j_u32(o, "errnoRet", p, &sc->errno_ret, err);
	if (r < 0)
		return -1;
	sc->has_errno_ret = r > 0;
	r = j_objects(o, "args", p, sizeof(*sc->args), &args, &sc->n_args, parse_seccomp_arg, err);
	sc->args = args;
	return r < 0 ? -1 : 0;
}

static void seccomp_free(struct oci_seccomp *s)
{
	if (!s)
		return;
	free(s->default_action);
	strv_free(s->architectures);
	strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		strv_free(s->syscalls[i].names);
		free(s->syscalls[i].action);
		for (size_t j = 0; j < s->syscalls[i].n_args; j++)
			free(s->syscalls[i].args[j].op);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
	free(s);
}

static int parse_seccomp(jobj *l, const char *path, struct oci_linux *out, struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	struct oci_seccomp *s;
	void *syscalls = NULL;
	int r;

	r = j_field(l, "seccomp", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "seccomp");
	s = out->seccomp = xcalloc(1, sizeof(*s));
	r = j_str(o, "defaultAction", p, &s->default_action, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "defaultAction", err);
	r = j_u32(o, "defaultErrnoRet", p, &s->default_errno_ret, err);
	if (r < 0)
		return -1;
	s->has_default_errno_ret = r > 0;
	if (j_strv(o, "architectures", p, &s->architectures, &s->n_architectures, err) < 0 ||
	    j_strv(o, "flags", p, &s->flags, &s->n_flags, err) < 0 ||
	    j_str(o, "listenerPath", p, &s->listener_path, err) < 0 ||
	    j_str(o, "listenerMetadata", p, &s->listener_metadata, err) < 0)
		return -1;
	if (s->listener_path && j_abs_path(s->listener_path, p, "listenerPath", err) < 0)
		return -1;
	r = j_objects(o, "syscalls", p, sizeof(*s->syscalls), &syscalls, &s->n_syscalls,
		      parse_seccomp_syscall, err);
	s->syscalls = syscalls;
	return r < 0 ? -1 : 0;
}

static int parse_personality(jobj *l, const char *path, struct oci_personality *pe,
			     struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	int r;

	r = j_field(l, "personality", json_type_object, path, &o, err);
	if (r <= 0)
		return r;
	jp_key(p, path, "personality");
	/* "LINUX" / "LINUX32" are checked by runtime/ (it owns the personality(2) table). */
	r = j_str(o, "domain", p, &pe->domain, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "domain", err);
	if (j_strv(o, "flags", p, &pe->flags, &pe->n_flags, err) < 0)
		return -1;
	pe->set = true;
	return 0;
}

static int parse_paths(jobj *l, const char *path, const char *key, char ***out, size_t *n,
		       struct hull_err **err)
{
	char p[JP_MAX], pi[JP_MAX];

	if (j_strv(l, key, path, out, n, err) < 0)
		return -1;
	jp_key(p, path, key);
	for (size_t i = 0; i < *n; i++) {
		if ((*out)[i][0] != '/') {
			jp_idx(pi, p, i);
			return hull_err_make(err, 0, "%s: must be an absolute path, got \"%s\"", pi, (*out)[i]);
		}
	}
	return 0;
}

int oci_parse_linux(jobj *l, const char *path, struct oci_linux *out, struct hull_err **err)
{
	jobj *o;
	char p[JP_MAX];
	void *ns = NULL, *devs = NULL;
	int r;

	r = j_objects(l, "namespaces", path, sizeof(*out->namespaces), &ns, &out->n_namespaces,
		      parse_namespace, err);
	out->namespaces = ns;
	if (r < 0)
		return -1;
	r = j_objects(l, "devices", path, sizeof(*out->devices), &devs, &out->n_devices, parse_device,
		      err);
	out->devices = devs;
	if (r < 0 ||
	    j_idmaps(l, "uidMappings", path, &out->uid_mappings, &out->n_uid_mappings, err) < 0 ||
	    j_idmaps(l, "gidMappings", path, &out->gid_mappings, &out->n_gid_mappings, err) < 0 ||
	    parse_time_offsets(l, path, out, err) < 0 ||
	    j_str(l, "cgroupsPath", path, &out->cgroups_path, err) < 0)
		return -1;
	r = j_field(l, "resources", json_type_object, path, &o, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		jp_key(p, path, "resources");
		out->has_resources = true;
		if (oci_parse_resources(o, p, &out->resources, err) < 0)
			return -1;
	}
	r = j_str(l, "rootfsPropagation", path, &out->rootfs_propagation, err);
	if (r < 0)
		return -1;
	if (r > 0 && !oci_strv_contains(oci_propagations, oci_n_propagations, out->rootfs_propagation)) {
		jp_key(p, path, "rootfsPropagation");
		return hull_err_make(err, 0, "%s: unknown propagation \"%s\"", p, out->rootfs_propagation);
	}
	if (parse_seccomp(l, path, out, err) < 0 ||
	    j_kv(l, "sysctl", path, &out->sysctl, &out->n_sysctl, err) < 0 ||
	    parse_paths(l, path, "maskedPaths", &out->masked_paths, &out->n_masked_paths, err) < 0 ||
	    parse_paths(l, path, "readonlyPaths", &out->readonly_paths, &out->n_readonly_paths, err) < 0 ||
	    j_str(l, "mountLabel", path, &out->mount_label, err) < 0 ||
	    parse_personality(l, path, &out->personality, err) < 0)
		return -1;
	r = j_field(l, "intelRdt", json_type_object, path, &o, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		/* hull has no RDT support (features: intelRdt disabled); keep closID so
		 * runtime/ can refuse the config by name. */
		jp_key(p, path, "intelRdt");
		out->intel_rdt.set = true;
		if (j_str(o, "closID", p, &out->intel_rdt.domain, err) < 0)
			return -1;
	}
	return 0;
}

void oci_linux_clear(struct oci_linux *l)
{
	for (size_t i = 0; i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	oci_resources_clear(&l->resources);
	free(l->rootfs_propagation);
	seccomp_free(l->seccomp);
	kv_free(l->sysctl, l->n_sysctl);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	free(l->mount_label);
	free(l->personality.domain);
	strv_free(l->personality.flags);
	free(l->intel_rdt.domain);
	memset(l, 0, sizeof(*l));
}
