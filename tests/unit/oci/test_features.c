/* SPDX-License-Identifier: Apache-2.0 */
/* The features document: valid JSON with the fields runtime callers read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "oci/oci.h"

#include <json-c/json.h>
#include <seccomp.h>

static struct json_object *doc;

static int setup(void **state)
{
	char *s = oci_features_json();
	(void)state;
	doc = json_tokener_parse(s);
	free(s);
	return doc ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_object_put(doc);
	return 0;
}

static struct json_object *at(const char *path)
{
	struct json_object *o = doc;
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		struct json_object *next = NULL;
		if (!json_object_object_get_ex(o, k, &next))
			fail_msg("features: no %s", path);
		o = next;
	}
	return o;
}

static bool array_has(const char *path, const char *s)
{
	struct json_object *a = at(path);
	assert_true(json_object_is_type(a, json_type_array));
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
			return true;
	return false;
}

static void test_features_versions_and_hooks(void **state)
{
	(void)state;
	assert_string_equal(json_object_get_string(at("ociVersionMin")), "1.0.0");
	assert_string_equal(json_object_get_string(at("ociVersionMax")), "1.2.0");
	assert_int_equal(json_object_array_length(at("hooks")), 6);
	assert_true(array_has("hooks", "createContainer"));
	assert_true(array_has("hooks", "poststop"));
	{
		struct json_object *a = at("annotations"), *v;
		assert_true(json_object_object_get_ex(a, "io.github.hull.version", &v));
		assert_string_equal(json_object_get_string(v), HULL_VERSION);
		/* docs/vm-containers.md: the values hull takes for the isolation. */
		assert_true(json_object_object_get_ex(a, "org.hull.isolation", &v));
		assert_string_equal(json_object_get_string(v), "container,vm");
	}
}

static void test_features_mount_options(void **state)
{
	static const char *const want[] = { "bind", "rbind", "ro", "rro", "nosymfollow", "tmpcopyup",
					    "idmap", "ridmap", "runbindable", "strictatime" };
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_true(array_has("mountOptions", want[i]));
	assert_int_equal(json_object_array_length(at("mountOptions")), 62);
}

static void test_features_linux_lists_tables(void **state)
{
	(void)state;
	assert_int_equal(json_object_array_length(at("linux.namespaces")), OCI_NS_COUNT);
	for (int i = 0; i < OCI_NS_COUNT; i++)
		assert_true(array_has("linux.namespaces", oci_ns_table[i].name));
	assert_int_equal(json_object_array_length(at("linux.capabilities")), oci_cap_last() + 1);
	assert_true(array_has("linux.capabilities", "CAP_CHECKPOINT_RESTORE"));
	assert_true(json_object_get_boolean(at("linux.cgroup.v2")));
	assert_true(json_object_get_boolean(at("linux.cgroup.rdma")));
	assert_false(json_object_get_boolean(at("linux.cgroup.systemdUser")));
	assert_true(json_object_get_boolean(at("linux.apparmor.enabled")));
	assert_false(json_object_get_boolean(at("linux.intelRdt.enabled")));
	assert_true(json_object_get_boolean(at("linux.mountExtensions.idmap.enabled")));
}

static void test_features_seccomp_follows_libseccomp(void **state)
{
	struct json_object *archs = at("linux.seccomp.archs");
	(void)state;
	assert_true(json_object_get_boolean(at("linux.seccomp.enabled")));
	assert_true(array_has("linux.seccomp.actions", "SCMP_ACT_NOTIFY"));
	assert_int_equal(json_object_array_length(at("linux.seccomp.actions")), 9);
	assert_true(array_has("linux.seccomp.operators", "SCMP_CMP_MASKED_EQ"));
	assert_int_equal(json_object_array_length(at("linux.seccomp.operators")), 7);
	assert_true(array_has("linux.seccomp.archs", "SCMP_ARCH_X86_64"));
	assert_true(array_has("linux.seccomp.archs", "SCMP_ARCH_AARCH64"));
	/* entries are OCI names (SCMP_ARCH_*), not libseccomp's ("x86_64") */
	for (size_t i = 0; i < json_object_array_length(archs); i++) {
		const char *n = json_object_get_string(json_object_array_get_idx(archs, i));
		assert_int_equal(strncmp(n, "SCMP_ARCH_", 10), 0);
	}
	assert_true(array_has("linux.seccomp.knownFlags", "SECCOMP_FILTER_FLAG_LOG"));
	assert_true(array_has("linux.seccomp.supportedFlags", "SECCOMP_FILTER_FLAG_TSYNC"));
	assert_true(array_has("linux.seccomp.supportedFlags", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
	if (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR < 6) {
		/* loongarch64 and WAIT_KILLABLE_RECV arrived in libseccomp 2.6 */
		assert_false(array_has("linux.seccomp.archs", "SCMP_ARCH_LOONGARCH64"));
		assert_false(array_has("linux.seccomp.knownFlags", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_versions_and_hooks),
		cmocka_unit_test(test_features_mount_options),
		cmocka_unit_test(test_features_linux_lists_tables),
		cmocka_unit_test(test_features_seccomp_follows_libseccomp),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
