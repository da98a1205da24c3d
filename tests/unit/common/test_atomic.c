/* SPDX-License-Identifier: Apache-2.0 */
/* write_file_atomic_at: a new file, a file replaced (swapped out with
 * RENAME_EXCHANGE), and a directory in the way, which stays as it was:
 * never a temporary file left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"

#include <dirent.h>
#include <sys/stat.h>

static char dir[] = "/tmp/hull-unit-atomic-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The entries of the test's directory, in one sorted string. */
static void assert_entries(const char *want)
{
	struct dirent **v;
	char got[256] = "";
	int n = scandir(dir, &v, NULL, alphasort);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(v[i]->d_name, ".") != 0 && strcmp(v[i]->d_name, "..") != 0) {
			strcat(got, got[0] ? " " : "");
			strcat(got, v[i]->d_name);
		}
		free(v[i]);
	}
	free(v);
	assert_string_equal(got, want);
}

static void assert_content(const char *name, const char *want)
{
	char path[128];
	char *buf = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(read_file_at(AT_FDCWD, path, &buf, NULL, 4096, NULL), 0);
	assert_string_equal(buf, want);
	free(buf);
}

static void test_atomic_new_then_replaced(void **state)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct hull_err *err = NULL;
	struct stat st;

	assert_true(d >= 0);
	assert_int_equal(write_file_atomic_at(d, "state.json", "first", 5, 0600, &err), 0);
	assert_content("state.json", "first");
	assert_int_equal(write_file_atomic_at(d, "state.json", "second, longer", 14, 0600, &err), 0);
	assert_content("state.json", "second, longer");
	assert_int_equal(fstatat(d, "state.json", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_entries("state.json");
	close(d);
}

static void test_atomic_directory_in_the_way(void **state)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct hull_err *err = NULL;
	struct stat st;

	assert_true(d >= 0);
	assert_int_equal(mkdirat(d, "pid", 0700), 0);
	assert_int_equal(mkdirat(d, "pid/inside", 0700), 0);
	assert_int_equal(write_file_atomic_at(d, "pid", "42", 2, 0644, &err), -EISDIR);
	assert_non_null(err);
	assert_int_equal(err->errnum, EISDIR);
	hull_err_free(&err);
	assert_int_equal(fstatat(d, "pid/inside", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_entries("pid state.json");
	close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_new_then_replaced),
		cmocka_unit_test(test_atomic_directory_in_the_way),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
