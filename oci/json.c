/* SPDX-License-Identifier: Apache-2.0 */
/* Strict json-c parsing and typed field access that names the JSON path. */
#include "oci/internal.h"

#include <ctype.h>
#include <inttypes.h>

/*
 * json-c's strict mode still takes single-quoted strings and NaN/Infinity, and
 * it saturates integers that overflow 64 bits instead of failing.  This pass
 * runs over a text json-c already accepted and rejects those three things;
 * the structure itself is json-c's business.
 */
static int check_lexemes(const char *s, size_t len, const char *what, struct hull_err **err)
{
	size_t i = 0;

	while (i < len) {
		char c = s[i];

		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
		} else if (c == '\'') {
			return hull_err_make(err, 0, "%s: invalid JSON at offset %zu: single-quoted string",
					     what, i);
		} else if (isalpha((unsigned char)c)) {
			size_t start = i, n;
			while (i < len && isalnum((unsigned char)s[i]))
				i++;
			n = i - start;
			if (!((n == 4 && (!memcmp(s + start, "true", 4) || !memcmp(s + start, "null", 4))) ||
			      (n == 5 && !memcmp(s + start, "false", 5))))
				return hull_err_make(err, 0, "%s: invalid JSON at offset %zu: unexpected literal \"%.*s\"",
						     what, start, (int)(n > 32 ? 32 : n), s + start);
		} else if (c == '-' || isdigit((unsigned char)c)) {
			size_t start = i;
			bool integer = true;
			char buf[64];
			while (i < len && (isdigit((unsigned char)s[i]) || strchr("-+.eE", s[i]))) {
				if (s[i] != '-' && !isdigit((unsigned char)s[i]))
					integer = false;
				i++;
			}
			if (!integer)
				continue;
			if (i - start >= sizeof(buf))
				goto range;
			memcpy(buf, s + start, i - start);
			buf[i - start] = '\0';
			errno = 0;
			if (buf[0] == '-')
				(void)strtoll(buf, NULL, 10);
			else
				(void)strtoull(buf, NULL, 10);
			if (errno == ERANGE)
				goto range;
			continue;
range:
			return hull_err_make(err, 0, "%s: invalid JSON at offset %zu: integer out of 64-bit range",
					     what, start);
		} else {
			i++;
		}
	}
	return 0;
}

int oci_json_parse(const char *json, size_t len, const char *what, jobj **out, struct hull_err **err)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	jobj *o;
	size_t end;

	if (len > INT32_MAX)
		return hull_err_make(err, EFBIG, "%s: too large", what);
	tok = json_tokener_new();
	if (!tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success) {
		json_object_put(o);
		if (jerr == json_tokener_continue || jerr == json_tokener_success)
			return hull_err_make(err, 0, "%s: invalid JSON at offset %zu: unexpected end of data",
					     what, end);
		return hull_err_make(err, 0, "%s: invalid JSON at offset %zu: %s", what, end,
				     json_tokener_error_desc(jerr));
	}
	/* A NUL byte ends json-c's scan early; anything after it is not JSON. */
	for (size_t i = end; i < len; i++) {
		if (!isspace((unsigned char)json[i])) {
			json_object_put(o);
			return hull_err_make(err, 0, "%s: invalid JSON at offset %zu: unexpected character",
					     what, i);
		}
	}
	if (check_lexemes(json, end, what, err) < 0) {
		json_object_put(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* A truncated path ends in "..." so the message does not pretend to be whole. */
static void mark_truncated(char out[JP_MAX], int n)
{
	if (n >= JP_MAX)
		memcpy(out + JP_MAX - 4, "...", 4);
}

void jp_key(char out[JP_MAX], const char *path, const char *key)
{
	int n;

	if (path[0])
		n = snprintf(out, JP_MAX, "%s.%s", path, key);
	else
		n = snprintf(out, JP_MAX, "%s", key);
	mark_truncated(out, n);
}

void jp_idx(char out[JP_MAX], const char *path, size_t i)
{
	mark_truncated(out, snprintf(out, JP_MAX, "%s[%zu]", path, i));
}

static const char *type_word(enum json_type t)
{
	static const char *const words[] = {
		[json_type_null] = "null", [json_type_boolean] = "boolean",
		[json_type_double] = "number", [json_type_int] = "integer",
		[json_type_object] = "object", [json_type_array] = "array",
		[json_type_string] = "string",
	};
	return (size_t)t < ARRAY_SIZE(words) && words[t] ? words[t] : "?";
}

int j_expect(jobj *v, enum json_type t, const char *path, struct hull_err **err)
{
	if (json_object_is_type(v, t))
		return 0;
	return hull_err_make(err, 0, "%s: expected %s, got %s", path, type_word(t),
			     type_word(json_object_get_type(v)));
}

int j_field(jobj *obj, const char *key, enum json_type t, const char *path, jobj **out,
	    struct hull_err **err)
{
	jobj *v = NULL;
	char p[JP_MAX];

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0;
	jp_key(p, path, key);
	if (j_expect(v, t, p, err) < 0)
		return -1;
	*out = v;
	return 1;
}

int j_required(const char *path, const char *key, struct hull_err **err)
{
	char p[JP_MAX];
	jp_key(p, path, key);
	return hull_err_make(err, 0, "%s: required", p);
}

int j_abs_path(const char *value, const char *path, const char *key, struct hull_err **err)
{
	char p[JP_MAX];
	if (value[0] == '/')
		return 0;
	jp_key(p, path, key);
	return hull_err_make(err, 0, "%s: must be an absolute path, got \"%s\"", p, value);
}

static int jv_str(jobj *v, const char *path, char **out, struct hull_err **err)
{
	const char *s;
	if (j_expect(v, json_type_string, path, err) < 0)
		return -1;
	s = json_object_get_string(v);
	/* "\u0000" would silently truncate every C consumer of the value. */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return hull_err_make(err, 0, "%s: string contains a NUL character", path);
	*out = xstrdup(s);
	return 0;
}

int jv_u64(jobj *v, const char *path, uint64_t max, uint64_t *out, struct hull_err **err)
{
	int64_t s;
	uint64_t u;

	if (!json_object_is_type(v, json_type_int))
		goto bad;
	s = json_object_get_int64(v);
	if (s < 0)
		goto bad;
	u = s == INT64_MAX ? json_object_get_uint64(v) : (uint64_t)s;
	if (u > max)
		goto bad;
	*out = u;
	return 0;
bad:
	return hull_err_make(err, 0, "%s: expected integer in [0, %" PRIu64 "], got %s", path, max,
			     json_object_to_json_string_ext(v, JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int jv_i64(jobj *v, const char *path, int64_t min, int64_t max, int64_t *out, struct hull_err **err)
{
	int64_t s;

	if (!json_object_is_type(v, json_type_int))
		goto bad;
	s = json_object_get_int64(v);
	/* Values above INT64_MAX are kept unsigned by json-c and read back saturated. */
	if (s == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		goto bad;
	if (s < min || s > max)
		goto bad;
	*out = s;
	return 0;
bad:
	return hull_err_make(err, 0, "%s: expected integer in [%" PRId64 ", %" PRId64 "], got %s", path,
			     min, max, json_object_to_json_string_ext(v, JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Look up key; absent/null -> 0, present -> 1 with *v and the full path in p. */
static int lookup(jobj *obj, const char *key, const char *path, jobj **v, char p[JP_MAX])
{
	if (!json_object_object_get_ex(obj, key, v) || *v == NULL)
		return 0;
	jp_key(p, path, key);
	return 1;
}

int j_str(jobj *obj, const char *key, const char *path, char **out, struct hull_err **err)
{
	jobj *v;
	char p[JP_MAX];
	char *s = NULL;

	if (!lookup(obj, key, path, &v, p))
		return 0;
	if (jv_str(v, p, &s, err) < 0)
		return -1;
	free(*out);
	*out = s;
	return 1;
}

int j_bool(jobj *obj, const char *key, const char *path, bool *out, struct hull_err **err)
{
	jobj *v;
	char p[JP_MAX];

	if (!lookup(obj, key, path, &v, p))
		return 0;
	if (j_expect(v, json_type_boolean, p, err) < 0)
		return -1;
	*out = json_object_get_boolean(v);
	return 1;
}

static int get_u(jobj *obj, const char *key, const char *path, uint64_t max, uint64_t *out,
		 struct hull_err **err)
{
	jobj *v;
	char p[JP_MAX];

	if (!lookup(obj, key, path, &v, p))
		return 0;
	if (jv_u64(v, p, max, out, err) < 0)
		return -1;
	return 1;
}

int j_u64(jobj *obj, const char *key, const char *path, uint64_t *out, struct hull_err **err)
{
	return get_u(obj, key, path, UINT64_MAX, out, err);
}

int j_u32(jobj *obj, const char *key, const char *path, uint32_t *out, struct hull_err **err)
{
	uint64_t u;
	int r = get_u(obj, key, path, UINT32_MAX, &u, err);
	if (r > 0)
		*out = (uint32_t)u;
	return r;
}

int j_u16(jobj *obj, const char *key, const char *path, uint16_t *out, struct hull_err **err)
{
	uint64_t u;
	int r = get_u(obj, key, path, UINT16_MAX, &u, err);
	if (r > 0)
		*out = (uint16_t)u;
	return r;
}

int j_i64(jobj *obj, const char *key, const char *path, int64_t *out, struct hull_err **err)
{
	jobj *v;
	char p[JP_MAX];

	if (!lookup(obj, key, path, &v, p))
		return 0;
	if (jv_i64(v, p, INT64_MIN, INT64_MAX, out, err) < 0)
		return -1;
	return 1;
}

int j_int(jobj *obj, const char *key, const char *path, int *out, struct hull_err **err)
{
	jobj *v;
	char p[JP_MAX];
	int64_t s;

	if (!lookup(obj, key, path, &v, p))
		return 0;
	if (jv_i64(v, p, INT32_MIN, INT32_MAX, &s, err) < 0)
		return -1;
	*out = (int)s;
	return 1;
}

int j_strv(jobj *obj, const char *key, const char *path, char ***out, size_t *n,
	   struct hull_err **err)
{
	jobj *v;
	char p[JP_MAX], pi[JP_MAX];
	_cleanup_strv_ char **res = NULL;
	size_t len;

	if (!lookup(obj, key, path, &v, p))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return hull_err_make(err, 0, "%s: expected array of strings, got %s", p,
				     type_word(json_object_get_type(v)));
	len = json_object_array_length(v);
	res = xcalloc(len + 1, sizeof(*res));
	for (size_t i = 0; i < len; i++) {
		jp_idx(pi, p, i);
		if (jv_str(json_object_array_get_idx(v, i), pi, &res[i], err) < 0)
			return -1;
	}
	strv_free(*out);
	*out = take_ptr(res);
	if (n)
		*n = len;
	return 1;
}

void kv_free(struct oci_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int j_kv(jobj *obj, const char *key, const char *path, struct oci_kv **out, size_t *n,
	 struct hull_err **err)
{
	jobj *v;
	char p[JP_MAX], pk[JP_MAX];
	struct oci_kv *res;
	size_t cnt = 0;

	if (!lookup(obj, key, path, &v, p))
		return 0;
	if (j_expect(v, json_type_object, p, err) < 0)
		return -1;
	res = xcalloc((size_t)json_object_object_length(v) + 1, sizeof(*res));
	json_object_object_foreach(v, k, val) {
		jp_key(pk, p, k);
		if (jv_str(val, pk, &res[cnt].value, err) < 0) {
			kv_free(res, cnt);
			return -1;
		}
		res[cnt++].key = xstrdup(k);
	}
	kv_free(*out, *n);
	*out = res;
	*n = cnt;
	return 1;
}

int j_objects(jobj *obj, const char *key, const char *path, size_t size, void **base, size_t *n,
	      j_elem_fn fn, struct hull_err **err)
{
	jobj *arr;
	char p[JP_MAX], pi[JP_MAX];
	size_t len;
	int r;

	r = j_field(obj, key, json_type_array, path, &arr, err);
	if (r <= 0)
		return r;
	jp_key(p, path, key);
	len = json_object_array_length(arr);
	*base = xcalloc(len + 1, size);
	*n = 0;
	for (size_t i = 0; i < len; i++) {
		jobj *o = json_object_array_get_idx(arr, i);

		jp_idx(pi, p, i);
		if (j_expect(o, json_type_object, pi, err) < 0)
			return -1;
		*n = i + 1;
		if (fn(o, pi, *base, i, err) < 0)
			return -1;
	}
	return 1;
}

static int parse_idmap(jobj *m, const char *p, void *base, size_t i, struct hull_err **err)
{
	static const char *const keys[] = { "containerID", "hostID", "size" };
	struct oci_id_mapping *map = (struct oci_id_mapping *)base + i;
	uint32_t *fields[] = { &map->container_id, &map->host_id, &map->size };

	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		int r = j_u32(m, keys[k], p, fields[k], err);
		if (r <= 0)
			return r < 0 ? r : j_required(p, keys[k], err);
	}
	if (map->size == 0)
		return hull_err_make(err, 0, "%s: size must be greater than 0", p);
	if ((uint64_t)map->container_id + map->size > (uint64_t)UINT32_MAX + 1 ||
	    (uint64_t)map->host_id + map->size > (uint64_t)UINT32_MAX + 1)
		return hull_err_make(err, 0, "%s: range exceeds 32-bit ids", p);
	return 0;
}

int j_idmaps(jobj *obj, const char *key, const char *path, struct oci_id_mapping **out, size_t *n,
	     struct hull_err **err)
{
	void *base = NULL;
	int r = j_objects(obj, key, path, sizeof(**out), &base, n, parse_idmap, err);

	if (r != 0)
		*out = base;
	return r;
}

char **strv_copy(char *const *v)
{
	size_t n;
	char **r;

	if (!v)
		return NULL;
	n = strv_len(v);
	r = xcalloc(n + 1, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	return r;
}

/* ---- the door's typed getters (oci/oci.h) -------------------------------- */

static int present(int r, bool required, const char *path, const char *key, struct hull_err **err)
{
	if (r == 0 && required)
		return j_required(path, key, err);
	return r;
}

int oci_json_get_str(jobj *o, const char *key, const char *path, bool required, char **out,
		     struct hull_err **err)
{
	return present(j_str(o, key, path, out, err), required, path, key, err);
}

int oci_json_get_bool(jobj *o, const char *key, const char *path, bool required, bool *out,
		      struct hull_err **err)
{
	return present(j_bool(o, key, path, out, err), required, path, key, err);
}

int oci_json_get_int(jobj *o, const char *key, const char *path, bool required, int *out,
		     struct hull_err **err)
{
	return present(j_int(o, key, path, out, err), required, path, key, err);
}

int oci_json_get_i64(jobj *o, const char *key, const char *path, bool required, int64_t *out,
		     struct hull_err **err)
{
	return present(j_i64(o, key, path, out, err), required, path, key, err);
}

int oci_json_get_object(jobj *o, const char *key, const char *path, bool required, jobj **out,
			struct hull_err **err)
{
	return present(j_field(o, key, json_type_object, path, out, err), required, path, key, err);
}

int oci_json_get_array(jobj *o, const char *key, const char *path, bool required, jobj **out,
		       struct hull_err **err)
{
	return present(j_field(o, key, json_type_array, path, out, err), required, path, key, err);
}
