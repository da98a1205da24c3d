/* SPDX-License-Identifier: Apache-2.0 */
/* ns_validate_spec and ns_new_flags on hand-built specs (no parser involved). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "namespaces/internal.h"

#include <sched.h>

struct mount_case {
	const char *dest, *type, *source;
	const char *opts[4];
	const char *error;          /* NULL: valid */
};

static const struct mount_case mount_cases[] = {
	{ "/proc", "proc", "proc", { 0 }, NULL },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" }, NULL },
	{ "/data", NULL, "/srv", { "rbind", "ro" }, NULL },
	{ "/data", "bind", "/srv", { 0 }, NULL },
	{ "/run", "tmpfs", "tmpfs", { "tmpcopyup" }, NULL },
	{ "/x", "ext4", "/dev/sda1", { "rro", "discard" }, NULL },
	{ "tmp", "tmpfs", "tmpfs", { 0 }, "mounts[0].destination: must be an absolute path \"tmp\"" },
	{ NULL, "tmpfs", "tmpfs", { 0 }, "mounts[0].destination: must be an absolute path \"\"" },
	{ "/x", "tmpfs", NULL, { "ro", "" }, "mounts[0].options[1]: empty mount option" },
	{ "/x", NULL, "/srv", { "ro" }, "mounts[0].type: required unless options has bind or rbind" },
	{ "/x", NULL, NULL, { "bind" }, "mounts[0].source: a bind mount needs a source" },
	{ "/x", "bind", "", { 0 }, "mounts[0].source: a bind mount needs a source" },
	{ "/x", "proc", "proc", { "tmpcopyup" }, "mounts[0].options: tmpcopyup needs type \"tmpfs\"" },
	{ "/x", "tmpfs", "tmpfs", { "idmap" }, "mounts[0]: idmapped mounts must be bind mounts" },
};

static void run_mount_case(const struct mount_case *c)
{
	struct oci_mount m = {
		.destination = (char *)c->dest, .type = (char *)c->type, .source = (char *)c->source,
		.options = (char **)c->opts,
	};
	struct oci_spec spec = { .mounts = &m, .n_mounts = 1 };
	struct hull_err *err = NULL;

	while (m.n_options < ARRAY_SIZE(c->opts) && c->opts[m.n_options])
		m.n_options++;
	if (c->error == NULL) {
		assert_int_equal(ns_validate_spec(&spec, &err), 0);
		assert_null(err);
		return;
	}
	assert_true(ns_validate_spec(&spec, &err) < 0);
	assert_non_null(err);
	assert_string_equal(err->msg, c->error);
	hull_err_free(&err);
}

static void test_validate_mount_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(mount_cases); i++)
		run_mount_case(&mount_cases[i]);
}

static void test_validate_error_names_the_mount_index(void **state)
{
	struct oci_mount m[4] = {
		{ .destination = "/proc", .type = "proc" },
		{ .destination = "/dev", .type = "tmpfs" },
		{ .destination = "/sys", .type = "sysfs" },
		{ .destination = "tmp", .type = "tmpfs" },
	};
	struct oci_spec spec = { .mounts = m, .n_mounts = 4 };
	struct hull_err *err = NULL;

	(void)state;
	assert_true(ns_validate_spec(&spec, &err) < 0);
	assert_string_equal(err->msg, "mounts[3].destination: must be an absolute path \"tmp\"");
	hull_err_free(&err);
}

static void test_validate_idmap_needs_both_mappings(void **state)
{
	struct oci_id_mapping map = { 0, 1000, 1 };
	struct oci_mount m = { .destination = "/x", .type = "bind", .source = "/srv",
			       .uid_mappings = &map, .n_uid_mappings = 1 };
	struct oci_spec spec = { .mounts = &m, .n_mounts = 1 };
	struct hull_err *err = NULL;

	(void)state;
	assert_true(ns_validate_spec(&spec, &err) < 0);
	assert_string_equal(err->msg, "mounts[0]: idmapped mounts need both uidMappings and gidMappings");
	hull_err_free(&err);
	m.gid_mappings = &map;
	m.n_gid_mappings = 1;
	assert_int_equal(ns_validate_spec(&spec, NULL), 0);
}

struct dev_case {
	struct oci_linux_device dev;
	const char *error;
};

static const struct dev_case dev_cases[] = {
	{ { .path = "/dev/fuse", .type = 'c', .major = 10, .minor = 229 }, NULL },
	{ { .path = "/dev/sda", .type = 'b', .major = 8, .minor = 0 }, NULL },
	{ { .path = "/dev/fifo", .type = 'p' }, NULL },
	{ { .path = "/dev/u", .type = 'u', .major = 1, .minor = 3 }, NULL },
	{ { .path = "dev/x", .type = 'c', .major = 1, .minor = 3 },
	  "linux.devices[0].path: must be an absolute path \"dev/x\"" },
	{ { .path = "/dev/x", .type = 'x', .major = 1, .minor = 3 },
	  "linux.devices[0].type: must be one of c, b, u, p" },
	{ { .path = "/dev/x", .type = 'c', .major = -1, .minor = 3 },
	  "linux.devices[0]: device number -1:3 out of range" },
	{ { .path = "/dev/x", .type = 'c', .major = 1, .minor = 1 << 20 },
	  "linux.devices[0]: device number 1:1048576 out of range" },
};

static void test_validate_device_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(dev_cases); i++) {
		struct oci_linux_device d = dev_cases[i].dev;
		struct oci_spec spec = { .has_linux = true };
		struct hull_err *err = NULL;
		int r;

		spec.linux_.devices = &d;
		spec.linux_.n_devices = 1;
		r = ns_validate_spec(&spec, &err);
		if (dev_cases[i].error == NULL) {
			assert_int_equal(r, 0);
			continue;
		}
		assert_true(r < 0);
		assert_string_equal(err->msg, dev_cases[i].error);
		hull_err_free(&err);
	}
}

static void test_validate_paths_and_propagation(void **state)
{
	char *masked[] = { "/proc/kcore", "proc/keys" };
	char *ro[] = { "/proc/sys", "sys" };
	struct oci_spec spec = { .has_linux = true };
	struct hull_err *err = NULL;

	(void)state;
	spec.linux_.rootfs_propagation = "rslave";
	assert_int_equal(ns_validate_spec(&spec, NULL), 0);
	spec.linux_.rootfs_propagation = "sideways";
	assert_true(ns_validate_spec(&spec, &err) < 0);
	assert_string_equal(err->msg, "linux.rootfsPropagation: unknown propagation \"sideways\"");
	hull_err_free(&err);
	spec.linux_.rootfs_propagation = NULL;

	spec.linux_.masked_paths = masked;
	spec.linux_.n_masked_paths = 2;
	assert_true(ns_validate_spec(&spec, &err) < 0);
	assert_string_equal(err->msg, "linux.maskedPaths[1]: must be an absolute path \"proc/keys\"");
	hull_err_free(&err);
	spec.linux_.n_masked_paths = 1;
	spec.linux_.readonly_paths = ro;
	spec.linux_.n_readonly_paths = 2;
	assert_true(ns_validate_spec(&spec, &err) < 0);
	assert_string_equal(err->msg, "linux.readonlyPaths[1]: must be an absolute path \"sys\"");
	hull_err_free(&err);
}

static void test_new_flags_counts_only_pathless_namespaces(void **state)
{
	struct oci_namespace ns[] = {
		{ OCI_NS_PID, NULL }, { OCI_NS_NETWORK, "/var/run/netns/x" }, { OCI_NS_MOUNT, NULL },
		{ OCI_NS_USER, NULL }, { OCI_NS_CGROUP, NULL }, { OCI_NS_TIME, NULL },
	};
	struct oci_spec spec = { .has_linux = true };

	(void)state;
	spec.linux_.namespaces = ns;
	spec.linux_.n_namespaces = ARRAY_SIZE(ns);
	assert_int_equal(ns_new_flags(&spec),
			 CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME);
}

static void test_join_paths_error_names_namespace_and_path(void **state)
{
	/* A regular file is no namespace: open works, setns says EINVAL. */
	struct oci_namespace ns[] = { { OCI_NS_UTS, NULL }, { OCI_NS_NETWORK, "/etc/hostname" } };
	struct oci_spec spec = { .has_linux = true };
	struct hull_err *err = NULL;

	(void)state;
	spec.linux_.namespaces = ns;
	spec.linux_.n_namespaces = 2;
	assert_true(ns_join_paths(&spec, 0, &err) < 0);
	assert_string_equal(err->msg, "linux.namespaces[1] (network) /etc/hostname: setns: Invalid argument");
	hull_err_free(&err);
	/* Skipped types are neither opened nor joined. */
	assert_int_equal(ns_join_paths(&spec, CLONE_NEWNET, NULL), 0);
	ns[1].path = "/nonexistent/netns";
	assert_true(ns_join_paths(&spec, 0, &err) < 0);
	assert_string_equal(err->msg,
			    "linux.namespaces[1] (network) /nonexistent/netns: open: No such file or directory");
	hull_err_free(&err);
}

static void test_id_map_text_format(void **state)
{
	struct oci_id_mapping m[] = { { 0, 100000, 65536 }, { 65536, 1000, 1 } };
	char *s = id_map_text(m, 2);

	(void)state;
	assert_string_equal(s, "0 100000 65536\n65536 1000 1\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_mount_table),
		cmocka_unit_test(test_validate_error_names_the_mount_index),
		cmocka_unit_test(test_validate_idmap_needs_both_mappings),
		cmocka_unit_test(test_validate_device_table),
		cmocka_unit_test(test_validate_paths_and_propagation),
		cmocka_unit_test(test_new_flags_counts_only_pathless_namespaces),
		cmocka_unit_test(test_join_paths_error_names_namespace_and_path),
		cmocka_unit_test(test_id_map_text_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
