/* SPDX-License-Identifier: Apache-2.0 */
/* runtime_validate_id: the id becomes a directory name under --root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runtime/runtime.h"

static void test_validate_id_accepts_runc_charset(void **state)
{
	static const char *const ok[] = { "a", "abc", "A-b_c.d+e", "0", "...", ".a", "a..", "x-1.2+3_", "-" };
	char longest[1025];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct hull_err *err = NULL;
		assert_int_equal(runtime_validate_id(ok[i], &err), 0);
		assert_null(err);
	}
	memset(longest, 'a', 1024);
	longest[1024] = '\0';
	assert_int_equal(runtime_validate_id(longest, NULL), 0);
}

static void test_validate_id_rejects_hostile_ids(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "a/b", "/", "../etc", "x\n", "a b", " a", "a\tb", "\xc3\xa9", "a:b", "a\\b",
		"$(id)", "a*", "\x1b[31m",
	};
	char toolong[2001];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct hull_err *err = NULL;
		assert_true(runtime_validate_id(bad[i], &err) < 0);
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "invalid container id"));
		/* never echo control characters */
		for (const char *p = err->msg; *p; p++)
			assert_true((unsigned char)*p >= 0x20);
		hull_err_free(&err);
	}
	memset(toolong, 'a', 2000);
	toolong[2000] = '\0';
	assert_true(runtime_validate_id(toolong, NULL) < 0);
	assert_true(runtime_validate_id(NULL, NULL) < 0);
}

static void test_validate_id_error_message(void **state)
{
	struct hull_err *err = NULL;

	assert_true(runtime_validate_id("a/b", &err) < 0);
	assert_string_equal(err->msg, "invalid container id \"a/b\": only [A-Za-z0-9_.+-] allowed");
	hull_err_free(&err);
	assert_true(runtime_validate_id("..", &err) < 0);
	assert_string_equal(err->msg, "invalid container id \"..\": must not be \".\" or \"..\"");
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_id_accepts_runc_charset),
		cmocka_unit_test(test_validate_id_rejects_hostile_ids),
		cmocka_unit_test(test_validate_id_error_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
