/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's module list (guest/modules.c): the hull.order parser against
 * hostile text, and guest_load_modules() on entries that must not load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "common/common.h"
#include "guest/guest.h"

static void test_modules_parse_keeps_order_skips_comments(void **state)
{
	_cleanup_free_ char *text = xstrdup("6.1.0-57-cloud-amd64/kernel/drivers/virtio/virtio_ring.ko\n"
					    "# virtio next\n\n"
					    "6.1.0-57-cloud-amd64/kernel/drivers/virtio/virtio.ko\n"
					    "pvpanic-mmio.ko");
	_cleanup_free_ char **v = NULL;
	struct hull_err *err = NULL;
	size_t n = 0;

	assert_int_equal(guest_modules_parse(text, "hull.order", &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "6.1.0-57-cloud-amd64/kernel/drivers/virtio/virtio_ring.ko");
	assert_string_equal(v[1], "6.1.0-57-cloud-amd64/kernel/drivers/virtio/virtio.ko");
	assert_string_equal(v[2], "pvpanic-mmio.ko");
	assert_null(v[3]);
}

static void test_modules_parse_empty_is_no_module(void **state)
{
	char text[] = "";
	_cleanup_free_ char **v = NULL;
	struct hull_err *err = NULL;
	size_t n = 7;

	assert_int_equal(guest_modules_parse(text, "hull.order", &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v[0]);
}

static const struct {
	const char *text, *want;
} bad[] = {
	{ "/lib/modules/x.ko\n", "hull.order line 1: an absolute path" },
	{ "../x.ko\n", "line 1: a \".\" or \"..\" component" },
	{ "ok.ko\nk/../../../etc/x.ko\n", "line 2: a \".\" or \"..\" component" },
	{ "k/./x.ko", "line 1: a \".\" or \"..\" component" },
	{ "k/..", "line 1: not a .ko file" },
	{ "k//x.ko", "line 1: an empty path component" },
	{ "x.ko/", "line 1: not a .ko file" },
	{ ".ko", "line 1: not a .ko file" },
	{ "x.txt", "line 1: not a .ko file" },
	{ "a b.ko", "line 1: a space or control character" },
	{ "x.ko\r\n", "line 1: not a .ko file" },
	{ "\x1b[2Jx.ko", "line 1: a space or control character" },
	{ "a\x7f.ko", "line 1: a space or control character" },
	{ " x.ko", "line 1: a space or control character" },
};

static void test_modules_parse_rejects_hostile_lines(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *text = xstrdup(bad[i].text);
		_cleanup_free_ char **v = NULL;
		struct hull_err *err = NULL;
		size_t n = 0;

		assert_true(guest_modules_parse(text, "hull.order", &v, &n, &err) < 0);
		assert_non_null(err);
		if (!strstr(err->msg, bad[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->msg, bad[i].want);
		assert_null(v);
		hull_err_free(&err);
	}
}

static void test_modules_parse_rejects_long_line_and_too_many(void **state)
{
	_cleanup_free_ char *lng = xmalloc(5000), *many = xmalloc(300 * 8 + 1);
	_cleanup_free_ char **v = NULL;
	struct hull_err *err = NULL;
	size_t n = 0;

	memset(lng, 'a', 4996);
	strcpy(lng + 4996, ".ko");
	assert_true(guest_modules_parse(lng, "hull.order", &v, &n, &err) < 0);
	assert_non_null(strstr(err->msg, "line 1: longer than 1024 bytes"));
	hull_err_free(&err);

	many[0] = '\0';
	for (int i = 0; i < 300; i++)
		sprintf(many + strlen(many), "m%03d.ko\n", i);
	assert_true(guest_modules_parse(many, "hull.order", &v, &n, &err) < 0);
	assert_non_null(strstr(err->msg, "line 257: more than 256 modules"));
	hull_err_free(&err);
}

/* ---- guest_load_modules on a directory of ours --------------------------- */

struct dir {
	char path[64];
};

static int dir_setup(void **state)
{
	struct dir *d = xcalloc(1, sizeof(*d));

	strcpy(d->path, "/tmp/hull-test-modules.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", d->path);

	assert_int_equal(system(cmd), 0);
	free(d);
	return 0;
}

static void put(struct dir *d, const char *name, const void *data, size_t len)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", d->path, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* load(d, order text): guest_load_modules' return; *msg its error message */
static int load(struct dir *d, const char *order, size_t len, char **msg)
{
	_cleanup_free_ char *p = xasprintf("%s/hull.order", d->path);
	struct hull_err *err = NULL;
	int ret;

	put(d, "hull.order", order, len);
	ret = guest_load_modules(p, &err);
	*msg = err ? xstrdup(err->msg) : NULL;
	hull_err_free(&err);
	return ret;
}

static void test_load_modules_empty_list_loads_nothing(void **state)
{
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(load(*state, "# nothing\n", 10, &msg), 0);
	assert_null(msg);
}

static void test_load_modules_names_missing_module(void **state)
{
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(load(*state, "k/missing.ko\n", 13, &msg), -ENOENT);
	assert_string_equal(msg, "modules: open k/missing.ko: No such file or directory");
}

static void test_load_modules_refuses_symlink_out(void **state)
{
	struct dir *d = *state;
	_cleanup_free_ char *msg = NULL, *link = xasprintf("%s/out.ko", d->path);

	assert_int_equal(symlink("/etc/hostname", link), 0);
	assert_int_equal(load(d, "out.ko\n", 7, &msg), -ELOOP);
	assert_non_null(strstr(msg, "modules: open out.ko"));
}

static void test_load_modules_names_module_the_kernel_refuses(void **state)
{
	_cleanup_free_ char *msg = NULL;

	/* not an ELF: finit_module fails (ENOEXEC, or EPERM without CAP_SYS_MODULE) */
	put(*state, "junk.ko", "not a module", 12);
	assert_true(load(*state, "junk.ko\n", 8, &msg) < 0);
	assert_non_null(strstr(msg, "modules: load junk.ko: "));
}

static void test_load_modules_rejects_nul_and_huge_and_missing_file(void **state)
{
	struct dir *d = *state;
	_cleanup_free_ char *msg = NULL, *big = xmalloc(70000), *p = xasprintf("%s/none/hull.order", d->path);
	struct hull_err *err = NULL;

	assert_true(load(d, "a.ko\0b.ko\n", 10, &msg) < 0);
	assert_non_null(strstr(msg, "holds a NUL byte"));
	free(take_ptr(msg));

	memset(big, '#', 70000);
	assert_int_equal(load(d, big, 70000, &msg), -EFBIG);
	assert_non_null(strstr(msg, "larger than 65536 bytes"));

	assert_int_equal(guest_load_modules(p, &err), -ENOENT);
	assert_non_null(strstr(err->msg, p));
	hull_err_free(&err);
}

static void test_load_modules_parse_error_loads_nothing(void **state)
{
	_cleanup_free_ char *msg = NULL;

	/* the bad line comes second: the first, missing, is never opened */
	assert_int_equal(load(*state, "missing.ko\n../x.ko\n", 19, &msg), -EINVAL);
	assert_non_null(strstr(msg, "hull.order line 2: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modules_parse_keeps_order_skips_comments),
		cmocka_unit_test(test_modules_parse_empty_is_no_module),
		cmocka_unit_test(test_modules_parse_rejects_hostile_lines),
		cmocka_unit_test(test_modules_parse_rejects_long_line_and_too_many),
		cmocka_unit_test_setup_teardown(test_load_modules_empty_list_loads_nothing, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_modules_names_missing_module, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_modules_refuses_symlink_out, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_modules_names_module_the_kernel_refuses, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_modules_rejects_nul_and_huge_and_missing_file, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_modules_parse_error_loads_nothing, dir_setup, dir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
