/* SPDX-License-Identifier: Apache-2.0 */
/* State JSON shape (runtime-spec runtime.md "State"), read back with json-c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "oci/oci.h"

#include <json-c/json.h>

static struct json_object *parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);
	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_object));
	return o;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static void test_state_running_has_pid_and_annotations(void **state)
{
	struct oci_kv ann[] = { { "a", "1" }, { "org.example/key", "v/w" } };
	struct oci_state st = { .oci_version = "1.2.0", .id = "c1", .status = OCI_STATUS_RUNNING,
				.pid = 4242, .bundle = "/var/b", .annotations = ann, .n_annotations = 2 };
	char *s = oci_state_to_json(&st, false);
	struct json_object *o = parse(s), *v, *a;

	(void)state;
	assert_string_equal(get_str(o, "ociVersion"), "1.2.0");
	assert_string_equal(get_str(o, "id"), "c1");
	assert_string_equal(get_str(o, "status"), "running");
	assert_string_equal(get_str(o, "bundle"), "/var/b");
	assert_true(json_object_object_get_ex(o, "pid", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int(v), 4242);
	assert_true(json_object_object_get_ex(o, "annotations", &a));
	assert_int_equal(json_object_object_length(a), 2);
	assert_string_equal(get_str(a, "org.example/key"), "v/w");
	assert_null(strstr(s, "\\/"));     /* paths are not slash-escaped */
	assert_null(strchr(s, '\n'));      /* compact unless asked */
	json_object_put(o);
	free(s);
}

static void test_state_stopped_omits_pid_and_empty_annotations(void **state)
{
	struct oci_state st = { .id = "c2", .status = OCI_STATUS_STOPPED, .bundle = "/b" };
	char *s = oci_state_to_json(&st, true);
	struct json_object *o = parse(s), *v;

	(void)state;
	assert_string_equal(get_str(o, "status"), "stopped");
	assert_string_equal(get_str(o, "ociVersion"), HULL_OCI_SPEC_VERSION);
	assert_false(json_object_object_get_ex(o, "pid", &v));
	assert_false(json_object_object_get_ex(o, "annotations", &v));
	assert_int_equal(json_object_object_length(o), 4);
	assert_non_null(strchr(s, '\n'));
	json_object_put(o);
	free(s);
}

static void test_state_names_every_status(void **state)
{
	static const char *const want[] = { "creating", "created", "running", "stopped" };
	(void)state;
	for (int i = 0; i < 4; i++) {
		struct oci_state st = { .id = "x", .status = (enum oci_status)i, .pid = 1, .bundle = "/" };
		char *s = oci_state_to_json(&st, false);
		struct json_object *o = parse(s);
		assert_string_equal(get_str(o, "status"), want[i]);
		json_object_put(o);
		free(s);
	}
}

static void test_state_escapes_hostile_strings(void **state)
{
	struct oci_kv ann[] = { { "k\"}", "\n\x01" } };
	struct oci_state st = { .id = "id\"with\\quote", .status = OCI_STATUS_CREATED, .pid = 7,
				.bundle = "/b", .annotations = ann, .n_annotations = 1 };
	char *s = oci_state_to_json(&st, false);
	struct json_object *o = parse(s), *a;

	(void)state;
	assert_string_equal(get_str(o, "id"), "id\"with\\quote");
	assert_true(json_object_object_get_ex(o, "annotations", &a));
	assert_string_equal(get_str(a, "k\"}"), "\n\x01");
	json_object_put(o);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_running_has_pid_and_annotations),
		cmocka_unit_test(test_state_stopped_omits_pid_and_empty_annotations),
		cmocka_unit_test(test_state_names_every_status),
		cmocka_unit_test(test_state_escapes_hostile_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
