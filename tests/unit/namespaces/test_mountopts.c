/* SPDX-License-Identifier: Apache-2.0 */
/* Mount option table: flags, clears, propagation, recursive attrs, data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "namespaces/internal.h"

#include <sys/mount.h>

struct opt_case {
	const char *opts[6];
	unsigned long flags, clear, propagation;
	bool bind, rec, idmap, ridmap, tmpcopyup;
	unsigned int attr_set, attr_clr;
	const char *data;
};

static const struct opt_case cases[] = {
	{ { "ro" }, .flags = MS_RDONLY },
	{ { "ro", "rw" }, .clear = MS_RDONLY },
	{ { "rw", "ro" }, .flags = MS_RDONLY },
	{ { "nosuid", "nodev", "noexec" }, .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ { "nosuid", "suid" }, .clear = MS_NOSUID },
	{ { "relatime", "strictatime" }, .flags = MS_RELATIME | MS_STRICTATIME },
	{ { "bind" }, .bind = true },
	{ { "rbind" }, .bind = true, .rec = true },
	{ { "rprivate" }, .propagation = MS_PRIVATE | MS_REC },
	{ { "shared", "rslave" }, .propagation = MS_SLAVE | MS_REC },
	{ { "unbindable" }, .propagation = MS_UNBINDABLE },
	{ { "rro" }, .attr_set = MOUNT_ATTR_RDONLY },
	{ { "rro", "rrw" }, .attr_clr = MOUNT_ATTR_RDONLY },
	{ { "rnosuid", "rnodev" }, .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV },
	{ { "rnoatime" }, .attr_set = MOUNT_ATTR_NOATIME, .attr_clr = MOUNT_ATTR__ATIME },
	{ { "rnoatime", "rstrictatime" }, .attr_set = MOUNT_ATTR_STRICTATIME, .attr_clr = MOUNT_ATTR__ATIME },
	{ { "size=64k" }, .data = "size=64k" },
	{ { "nosuid", "size=64k", "mode=1777" }, .flags = MS_NOSUID, .data = "size=64k,mode=1777" },
	{ { "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" },
	  .data = "newinstance,ptmxmode=0666,mode=0620,gid=5" },
	{ { "tmpcopyup", "mode=755" }, .tmpcopyup = true, .data = "mode=755" },
	{ { "idmap" }, .idmap = true },
	{ { "ridmap", "rbind" }, .idmap = true, .ridmap = true, .bind = true, .rec = true },
	{ { "defaults" }, .flags = 0 },
	/* A flag name with a value is not the flag: it is the filesystem's business. */
	{ { "ro=1" }, .data = "ro=1" },
};

static void test_mount_opts_table_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct opt_case *c = &cases[i];
		struct ns_mount_opts o;
		struct hull_err *err = NULL;
		size_t n = 0;

		while (n < ARRAY_SIZE(c->opts) && c->opts[n])
			n++;
		assert_int_equal(ns_mount_opts_parse((char *const *)c->opts, n, &o, &err), 0);
		assert_null(err);
		assert_int_equal(o.flags, c->flags);
		assert_int_equal(o.clear, c->clear);
		assert_int_equal(o.propagation, c->propagation);
		assert_int_equal(o.bind, c->bind);
		assert_int_equal(o.rec, c->rec);
		assert_int_equal(o.idmap, c->idmap);
		assert_int_equal(o.ridmap, c->ridmap);
		assert_int_equal(o.tmpcopyup, c->tmpcopyup);
		assert_int_equal(o.attr_set, c->attr_set);
		assert_int_equal(o.attr_clr, c->attr_clr);
		if (c->data)
			assert_string_equal(o.data, c->data);
		else
			assert_null(o.data);
		ns_mount_opts_clear(&o);
	}
}

static void test_mount_opts_rejects_empty_option(void **state)
{
	char *opts[] = { "ro", "", NULL };
	struct ns_mount_opts o;
	struct hull_err *err = NULL;

	(void)state;
	assert_true(ns_mount_opts_parse(opts, 2, &o, &err) < 0);
	assert_non_null(err);
	assert_string_equal(err->msg, "options[1]: empty mount option");
	hull_err_free(&err);
}

static void test_mount_opts_rejects_data_longer_than_a_page(void **state)
{
	char big[3000];
	char *opts[] = { big, big };
	struct ns_mount_opts o;
	struct hull_err *err = NULL;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(ns_mount_opts_parse(opts, 2, &o, &err) < 0);
	assert_non_null(strstr(err->msg, "options[1]: filesystem data longer than"));
	hull_err_free(&err);
}

static void test_mount_opts_data_key_lookup(void **state)
{
	char *opts[] = { "nomode", "size=1m", "mode=700" };
	struct ns_mount_opts o;

	(void)state;
	assert_int_equal(ns_mount_opts_parse(opts, 3, &o, NULL), 0);
	assert_true(mount_opts_has_data_key(&o, "mode"));
	assert_true(mount_opts_has_data_key(&o, "size"));
	assert_false(mount_opts_has_data_key(&o, "nomode"));
	assert_false(mount_opts_has_data_key(&o, "uid"));
	ns_mount_opts_clear(&o);
}

static void test_mount_attr_from_ms_maps_per_mount_flags_only(void **state)
{
	uint64_t set, clr;

	(void)state;
	mount_attr_from_ms(MS_RDONLY | MS_NOSUID | MS_SYNCHRONOUS, MS_NODEV, &set, &clr);
	assert_int_equal(set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
	assert_int_equal(clr, MOUNT_ATTR_NODEV);
	mount_attr_from_ms(MS_NOATIME, 0, &set, &clr);
	assert_int_equal(set, MOUNT_ATTR_NOATIME);
	assert_int_equal(clr, MOUNT_ATTR__ATIME);
}

static void test_propagation_names(void **state)
{
	(void)state;
	assert_int_equal(propagation_from_name("rslave"), MS_SLAVE | MS_REC);
	assert_int_equal(propagation_from_name("private"), MS_PRIVATE);
	assert_int_equal(propagation_from_name("rshared"), MS_SHARED | MS_REC);
	assert_int_equal(propagation_from_name("ro"), -1);
	assert_int_equal(propagation_from_name("sideways"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_opts_table_cases),
		cmocka_unit_test(test_mount_opts_rejects_empty_option),
		cmocka_unit_test(test_mount_opts_rejects_data_longer_than_a_page),
		cmocka_unit_test(test_mount_opts_data_key_lookup),
		cmocka_unit_test(test_mount_attr_from_ms_maps_per_mount_flags_only),
		cmocka_unit_test(test_propagation_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
