/* SPDX-License-Identifier: Apache-2.0 */
/* `hull spec`: runc's defaults, and runc's --rootless conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "oci/oci.h"

static struct oci_spec *load(bool rootless, uid_t uid, gid_t gid)
{
	char *s = oci_spec_default_json(rootless, uid, gid);
	struct oci_spec *spec = NULL;
	struct hull_err *err = NULL;

	assert_non_null(s);
	assert_null(strstr(s, "\\/"));
	assert_non_null(strstr(s, "\n  \"process\""));   /* pretty, 2-space indent */
	if (oci_spec_parse(s, strlen(s), "default", &spec, &err) < 0)
		fail_msg("%s", err->msg);
	free(s);
	return spec;
}

static const struct oci_mount *find_mount(const struct oci_spec *s, const char *dst)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, dst) == 0)
			return &s->mounts[i];
	fail_msg("no mount %s", dst);
	return NULL;
}

static bool has_option(const struct oci_mount *m, const char *opt)
{
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], opt) == 0)
			return true;
	return false;
}

static void test_default_spec_matches_runc(void **state)
{
	struct oci_spec *s = load(false, 0, 0);
	uint64_t caps = (1ull << 29) | (1ull << 5) | (1ull << 10); /* AUDIT_WRITE, KILL, NET_BIND_SERVICE */
	static const enum oci_ns_type ns[] = { OCI_NS_PID, OCI_NS_NETWORK, OCI_NS_IPC, OCI_NS_UTS,
					       OCI_NS_MOUNT, OCI_NS_CGROUP };

	(void)state;
	assert_string_equal(s->oci_version, "1.2.0");
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "hull");
	assert_true(s->process.terminal);
	assert_int_equal(s->process.user.uid, 0);
	assert_string_equal(s->process.args[0], "sh");
	assert_int_equal(s->process.n_args, 1);
	assert_string_equal(s->process.env[1], "TERM=xterm");
	assert_non_null(strstr(s->process.env[0], "PATH=/usr/local/sbin:"));
	assert_string_equal(s->process.cwd, "/");
	assert_true(s->process.caps[OCI_CAP_BOUNDING] == caps);
	assert_true(s->process.caps[OCI_CAP_EFFECTIVE] == caps);
	assert_true(s->process.caps[OCI_CAP_PERMITTED] == caps);
	assert_true(s->process.caps[OCI_CAP_INHERITABLE] == 0);
	assert_true(s->process.caps[OCI_CAP_AMBIENT] == 0);
	assert_int_equal(s->process.n_rlimits, 1);
	assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(s->process.rlimits[0].soft == 1024 && s->process.rlimits[0].hard == 1024);
	assert_true(s->process.no_new_privileges);

	assert_int_equal(s->n_mounts, 7);
	assert_string_equal(find_mount(s, "/proc")->type, "proc");
	assert_true(has_option(find_mount(s, "/dev"), "size=65536k"));
	assert_true(has_option(find_mount(s, "/dev/pts"), "gid=5"));
	assert_true(has_option(find_mount(s, "/dev/pts"), "ptmxmode=0666"));
	assert_string_equal(find_mount(s, "/dev/shm")->source, "shm");
	assert_string_equal(find_mount(s, "/dev/mqueue")->type, "mqueue");
	assert_string_equal(find_mount(s, "/sys")->type, "sysfs");
	assert_true(has_option(find_mount(s, "/sys"), "ro"));
	assert_true(has_option(find_mount(s, "/sys/fs/cgroup"), "relatime"));

	assert_int_equal(s->linux_.n_namespaces, 6);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		assert_int_equal(s->linux_.namespaces[i].type, ns[i]);
	assert_false(oci_spec_has_ns(s, OCI_NS_USER));
	assert_true(s->linux_.has_resources);
	assert_int_equal(s->linux_.resources.n_devices, 1);
	assert_false(s->linux_.resources.devices[0].allow);
	assert_string_equal(s->linux_.resources.devices[0].access, "rwm");
	assert_int_equal(s->linux_.n_masked_paths, 11);
	assert_string_equal(s->linux_.masked_paths[0], "/proc/acpi");
	assert_int_equal(s->linux_.n_readonly_paths, 5);
	assert_string_equal(s->linux_.readonly_paths[4], "/proc/sysrq-trigger");
	assert_int_equal(s->linux_.n_uid_mappings, 0);
	oci_spec_free(s);
}

static void test_default_spec_rootless_maps_caller(void **state)
{
	struct oci_spec *s = load(true, 1234, 5678);
	const struct oci_mount *sys;

	(void)state;
	assert_true(oci_spec_has_ns(s, OCI_NS_USER));
	assert_int_equal(s->linux_.namespaces[s->linux_.n_namespaces - 1].type, OCI_NS_USER);
	assert_false(oci_spec_has_ns(s, OCI_NS_NETWORK));
	assert_true(oci_spec_has_ns(s, OCI_NS_CGROUP));
	assert_int_equal(s->linux_.n_namespaces, 6);
	assert_int_equal(s->linux_.n_uid_mappings, 1);
	assert_int_equal(s->linux_.uid_mappings[0].container_id, 0);
	assert_int_equal(s->linux_.uid_mappings[0].host_id, 1234);
	assert_int_equal(s->linux_.uid_mappings[0].size, 1);
	assert_int_equal(s->linux_.n_gid_mappings, 1);
	assert_int_equal(s->linux_.gid_mappings[0].host_id, 5678);
	assert_false(s->linux_.has_resources);
	sys = find_mount(s, "/sys");
	assert_string_equal(sys->type, "none");
	assert_string_equal(sys->source, "/sys");
	assert_true(has_option(sys, "rbind"));
	assert_true(has_option(sys, "ro"));
	assert_false(has_option(find_mount(s, "/dev/pts"), "gid=5"));
	assert_true(has_option(find_mount(s, "/dev/pts"), "mode=0620"));
	oci_spec_free(s);
}

static void test_default_spec_rootless_large_ids(void **state)
{
	struct oci_spec *s = load(true, 4294967294u, 4294967294u);
	(void)state;
	assert_true(s->linux_.uid_mappings[0].host_id == 4294967294u);
	oci_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_spec_matches_runc),
		cmocka_unit_test(test_default_spec_rootless_maps_caller),
		cmocka_unit_test(test_default_spec_rootless_large_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
