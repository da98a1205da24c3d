/* SPDX-License-Identifier: Apache-2.0 */
/* The state JSON of `hull state` (runtime-spec runtime.md "State"). */
#include "oci/internal.h"

/* Serialize with json-c and hand back a malloc'd copy (json-c owns its buffer). */
char *oci_json_dump(jobj *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= pretty ? (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) : JSON_C_TO_STRING_PLAIN;
	return xstrdup(json_object_to_json_string_ext(o, flags));
}

static void add_str(jobj *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val ? val : ""));
}

char *oci_state_to_json(const struct oci_state *st, bool pretty)
{
	_cleanup_jobj_ jobj *o = json_object_new_object();
	unsigned status = (unsigned)st->status;

	add_str(o, "ociVersion", st->oci_version ? st->oci_version : HULL_OCI_SPEC_VERSION);
	add_str(o, "id", st->id);
	add_str(o, "status", status < ARRAY_SIZE(oci_status_names) ? oci_status_names[status] : "unknown");
	/* The spec makes pid REQUIRED only while the process exists (created/running). */
	if (st->pid > 0)
		json_object_object_add(o, "pid", json_object_new_int64(st->pid));
	add_str(o, "bundle", st->bundle);
	if (st->n_annotations > 0) {
		jobj *a = json_object_new_object();
		for (size_t i = 0; i < st->n_annotations; i++)
			add_str(a, st->annotations[i].key, st->annotations[i].value);
		json_object_object_add(o, "annotations", a);
	}
	return oci_json_dump(o, pretty);
}
