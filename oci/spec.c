/* SPDX-License-Identifier: Apache-2.0 */
/* config.json: top level, root, mounts, hooks, annotations (config.md). */
#include "oci/internal.h"

#include <sys/stat.h>

static int parse_mount(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_mount *m = (struct oci_mount *)base + i;
	int r;

	r = j_str(o, "destination", p, &m->destination, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "destination", err);
	if (j_abs_path(m->destination, p, "destination", err) < 0)
		return -1;
	if (j_str(o, "type", p, &m->type, err) < 0 || j_str(o, "source", p, &m->source, err) < 0 ||
	    j_strv(o, "options", p, &m->options, &m->n_options, err) < 0 ||
	    j_idmaps(o, "uidMappings", p, &m->uid_mappings, &m->n_uid_mappings, err) < 0 ||
	    j_idmaps(o, "gidMappings", p, &m->gid_mappings, &m->n_gid_mappings, err) < 0)
		return -1;
	return 0;
}

static void mount_clear(struct oci_mount *m)
{
	free(m->destination);
	free(m->type);
	free(m->source);
	strv_free(m->options);
	free(m->uid_mappings);
	free(m->gid_mappings);
}

static int parse_mounts(jobj *root, struct oci_spec *s, struct hull_err **err)
{
	void *base = NULL;
	int r = j_objects(root, "mounts", "", sizeof(*s->mounts), &base, &s->n_mounts, parse_mount, err);

	s->mounts = base;
	return r;
}

static int parse_hook(jobj *o, const char *p, void *base, size_t i, struct hull_err **err)
{
	struct oci_hook *h = (struct oci_hook *)base + i;
	char pt[JP_MAX];
	int r;

	r = j_str(o, "path", p, &h->path, err);
	if (r <= 0)
		return r < 0 ? r : j_required(p, "path", err);
	if (j_abs_path(h->path, p, "path", err) < 0 || j_strv(o, "args", p, &h->args, NULL, err) < 0 ||
	    j_strv(o, "env", p, &h->env, NULL, err) < 0)
		return -1;
	r = j_int(o, "timeout", p, &h->timeout, err);
	if (r < 0)
		return -1;
	h->has_timeout = r > 0;
	if (h->has_timeout && h->timeout <= 0) {
		jp_key(pt, p, "timeout");
		return hull_err_make(err, 0, "%s: must be greater than 0, got %d", pt, h->timeout);
	}
	return 0;
}

static int parse_hooks(jobj *root, struct oci_spec *s, struct hull_err **err)
{
	jobj *hooks;
	int r;

	r = j_field(root, "hooks", json_type_object, "", &hooks, err);
	if (r <= 0)
		return r;
	for (int k = 0; k < OCI_HOOK_KIND_COUNT; k++) {
		struct oci_hook_list *l = &s->hooks[k];
		void *base = NULL;

		r = j_objects(hooks, oci_hook_names[k], "hooks", sizeof(*l->hooks), &base, &l->n,
			      parse_hook, err);
		l->hooks = base;
		if (r < 0)
			return -1;
	}
	return 0;
}

static int parse_root(jobj *root, struct oci_spec *s, struct hull_err **err)
{
	jobj *o;
	int r;

	r = j_field(root, "root", json_type_object, "", &o, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hull_err_make(err, 0, "root.path: required");
	r = j_str(o, "path", "root", &s->root_path, err);
	if (r <= 0)
		return r < 0 ? r : j_required("root", "path", err);
	if (s->root_path[0] == '\0')
		return hull_err_make(err, 0, "root.path: must not be empty");
	return j_bool(o, "readonly", "root", &s->root_readonly, err) < 0 ? -1 : 0;
}

static int parse_version(jobj *root, struct oci_spec *s, struct hull_err **err)
{
	int r = j_str(root, "ociVersion", "", &s->oci_version, err);

	if (r <= 0)
		return r < 0 ? r : j_required("", "ociVersion", err);
	/* Any 1.x is accepted (runc does the same): minor versions only add fields. */
	if (strncmp(s->oci_version, "1.", 2) != 0)
		return hull_err_make(err, 0, "ociVersion: unsupported version \"%s\" (want 1.x)",
				     s->oci_version);
	return 0;
}

static int parse_top(jobj *root, struct oci_spec *s, struct hull_err **err)
{
	jobj *o;
	int r;

	if (j_expect(root, json_type_object, "document", err) < 0 || parse_version(root, s, err) < 0 ||
	    parse_root(root, s, err) < 0)
		return -1;
	r = j_field(root, "process", json_type_object, "", &o, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		s->has_process = true;
		if (oci_parse_process(o, "process", &s->process, err) < 0)
			return -1;
	}
	if (j_str(root, "hostname", "", &s->hostname, err) < 0 ||
	    j_str(root, "domainname", "", &s->domainname, err) < 0 || parse_mounts(root, s, err) < 0 ||
	    parse_hooks(root, s, err) < 0 ||
	    j_kv(root, "annotations", "", &s->annotations, &s->n_annotations, err) < 0)
		return -1;
	r = j_field(root, "linux", json_type_object, "", &o, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		s->has_linux = true;
		if (oci_parse_linux(o, "linux", &s->linux_, err) < 0)
			return -1;
	}
	return 0;
}

int oci_spec_parse(const char *json, size_t len, const char *what, struct oci_spec **out,
		   struct hull_err **err)
{
	_cleanup_jobj_ jobj *root = NULL;
	struct oci_spec *s;

	if (oci_json_parse(json, len, what, &root, err) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	if (parse_top(root, s, err) < 0) {
		oci_spec_free(s);
		return hull_err_wrap(err, "%s", what);
	}
	*out = s;
	return 0;
}

int oci_spec_load(const char *path, struct oci_spec **out, struct hull_err **err)
{
	_cleanup_free_ char *file = NULL, *buf = NULL;
	struct stat st;
	size_t len;

	/* Accept the bundle directory (runc's --bundle) or the config file itself. */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		file = xasprintf("%s/config.json", path);
	else
		file = xstrdup(path);
	if (read_file_at(AT_FDCWD, file, &buf, &len, 0, err) < 0)
		return -1;
	return oci_spec_parse(buf, len, file, out, err);
}

void oci_spec_free(struct oci_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->root_path);
	oci_process_clear(&s->process);
	free(s->hostname);
	free(s->domainname);
	for (size_t i = 0; i < s->n_mounts; i++)
		mount_clear(&s->mounts[i]);
	free(s->mounts);
	for (int k = 0; k < OCI_HOOK_KIND_COUNT; k++) {
		for (size_t i = 0; i < s->hooks[k].n; i++) {
			free(s->hooks[k].hooks[i].path);
			strv_free(s->hooks[k].hooks[i].args);
			strv_free(s->hooks[k].hooks[i].env);
		}
		free(s->hooks[k].hooks);
	}
	kv_free(s->annotations, s->n_annotations);
	oci_linux_clear(&s->linux_);
	free(s);
}

const struct oci_namespace *oci_spec_get_ns(const struct oci_spec *spec, enum oci_ns_type t)
{
	for (size_t i = 0; spec->has_linux && i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].type == t)
			return &spec->linux_.namespaces[i];
	return NULL;
}

bool oci_spec_has_ns(const struct oci_spec *spec, enum oci_ns_type t)
{
	return oci_spec_get_ns(spec, t) != NULL;
}
