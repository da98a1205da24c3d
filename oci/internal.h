/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oci/internal.h: private helpers shared by the oci/ sources.
 *
 * Every JSON accessor takes the JSON path of the object it reads from
 * ("process.user") and reports errors with the full path of the field
 * ("process.user.uid: expected integer in [0, 4294967295], got -1").
 * Field getters return 1 when the key is present, 0 when it is absent or
 * null (Go's encoding/json, which runc uses, treats null as absent), and
 * < 0 with *err set on a type or range error.
 */
#ifndef HULL_OCI_INTERNAL_H
#define HULL_OCI_INTERNAL_H

#include "oci/oci.h"

#include <inttypes.h>
#include <json-c/json.h>

/* Paths are built from schema keys plus user-controlled map keys; longer
 * ones are truncated in messages, never overflowed. */
#define JP_MAX 256

typedef struct json_object jobj;

static inline void cleanup_jobjp(jobj **o) { if (*o) json_object_put(*o); }
#define _cleanup_jobj_ __attribute__((cleanup(cleanup_jobjp)))

/* ---- name tables (tables.c) --------------------------------------------- */

struct oci_name_value { const char *name; int value; };

extern const struct oci_name_value oci_sched_policies[];
extern const size_t oci_n_sched_policies;
extern const struct oci_name_value oci_sched_flags[];
extern const size_t oci_n_sched_flags;
extern const struct oci_name_value oci_ioprio_classes[];
extern const size_t oci_n_ioprio_classes;
extern const char *const oci_propagations[];
extern const size_t oci_n_propagations;
extern const char *const oci_cap_set_names[OCI_CAP_SET_COUNT];

/* Value for name, or -1. */
int oci_table_lookup(const struct oci_name_value *t, size_t n, const char *name);
bool oci_strv_contains(const char *const *v, size_t n, const char *s);

/* ---- JSON access (json.c) ----------------------------------------------- */

/* oci_json_parse() (strict parse of a whole document) is in oci/oci.h. */

/* out = path + "." + key (just key when path is empty), out = path + "[i]". */
void jp_key(char out[JP_MAX], const char *path, const char *key);
void jp_idx(char out[JP_MAX], const char *path, size_t i);

/* Type check of a value at `path` (no key lookup). */
int j_expect(jobj *v, enum json_type t, const char *path, struct hull_err **err);
/* Look up key in obj and type-check it; *out borrowed. */
int j_field(jobj *obj, const char *key, enum json_type t, const char *path, jobj **out,
	    struct hull_err **err);

/* Values at a path (already looked up). */
int jv_u64(jobj *v, const char *path, uint64_t max, uint64_t *out, struct hull_err **err);

/* Fields of an object.  *out is only written when the key is present. */
int j_str(jobj *obj, const char *key, const char *path, char **out, struct hull_err **err);
int j_bool(jobj *obj, const char *key, const char *path, bool *out, struct hull_err **err);
int j_u64(jobj *obj, const char *key, const char *path, uint64_t *out, struct hull_err **err);
int j_u32(jobj *obj, const char *key, const char *path, uint32_t *out, struct hull_err **err);
int j_u16(jobj *obj, const char *key, const char *path, uint16_t *out, struct hull_err **err);
int j_i64(jobj *obj, const char *key, const char *path, int64_t *out, struct hull_err **err);
int j_int(jobj *obj, const char *key, const char *path, int *out, struct hull_err **err);
/* Array of strings -> NULL-terminated vector (n may be NULL). */
int j_strv(jobj *obj, const char *key, const char *path, char ***out, size_t *n,
	   struct hull_err **err);
/* Object of strings -> key/value pairs. */
int j_kv(jobj *obj, const char *key, const char *path, struct oci_kv **out, size_t *n,
	 struct hull_err **err);
/* Array of objects: allocates len + 1 zeroed elements of `size` into *base and
 * calls fn(element object, "path.key[i]", *base, i) for each.  *n counts the
 * elements handed to fn so far, so on failure *base and *n still describe what
 * the owner must free; callers store *base in their struct either way. */
typedef int (*j_elem_fn)(jobj *o, const char *path, void *base, size_t i, struct hull_err **err);
int j_objects(jobj *obj, const char *key, const char *path, size_t size, void **base, size_t *n,
	      j_elem_fn fn, struct hull_err **err);
/* Array of {containerID, hostID, size}. */
int j_idmaps(jobj *obj, const char *key, const char *path, struct oci_id_mapping **out, size_t *n,
	     struct hull_err **err);

/* "required" error for path.key. */
int j_required(const char *path, const char *key, struct hull_err **err);
/* Field must be an absolute path. */
int j_abs_path(const char *value, const char *path, const char *key, struct hull_err **err);

/* json-c serialization (no \/ escaping), malloc'd; pretty = 2-space indent. */
char *oci_json_dump(jobj *o, bool pretty);

void kv_free(struct oci_kv *kv, size_t n);
char **strv_copy(char *const *v);

/* ---- sections ----------------------------------------------------------- */

int oci_parse_process(jobj *p, const char *path, struct oci_process *out, struct hull_err **err);
int oci_parse_linux(jobj *l, const char *path, struct oci_linux *out, struct hull_err **err);
void oci_linux_clear(struct oci_linux *l);
int oci_parse_resources(jobj *r, const char *path, struct oci_resources *out, struct hull_err **err);

#endif
