/* SPDX-License-Identifier: Apache-2.0 */
/* guest_root_copy() (guest/rootfs.c), the copy by which PID 1 leaves the
 * initramfs: every kind of entry arrives with its mode, nothing is followed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "common/common.h"
#include "guest/guest.h"

struct dirs {
	char src[64], dst[64];
};

static int setup(void **state)
{
	struct dirs *d = xcalloc(1, sizeof(*d));

	strcpy(d->src, "/tmp/hull-test-rootfs-src.XXXXXX");
	strcpy(d->dst, "/tmp/hull-test-rootfs-dst.XXXXXX");
	assert_non_null(mkdtemp(d->src));
	assert_non_null(mkdtemp(d->dst));
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s' '%s'", d->src, d->dst);

	assert_int_equal(system(cmd), 0);
	free(d);
	return 0;
}

static void put(const char *dir, const char *rel, const char *text, mode_t mode)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static mode_t mode_of(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	return st.st_mode;
}

static void test_root_copy_copies_every_kind(void **state)
{
	struct dirs *d = *state;
	_cleanup_free_ char *sub = xasprintf("%s/lib/modules/k", d->src), *text = NULL, *link = NULL,
			    *fifo = xasprintf("%s/fifo", d->src), *got = NULL, *dangling = NULL;
	_cleanup_close_ int s = open(d->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int t = open(d->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct hull_err *err = NULL;
	char target[64];
	ssize_t n;

	assert_int_equal(mkdir_p(sub, 0755, &err), 0);
	put(d->src, "init", "#!static hull\n", 0755);
	put(d->src, "lib/modules/k/a.ko", "module bytes", 0644);
	put(d->src, "lib/modules/hull.order", "k/a.ko\n", 0600);
	link = xasprintf("%s/lib/modules/current", d->src);
	assert_int_equal(symlink("k", link), 0);
	/* a link to a host file is copied as a link, never followed */
	dangling = xasprintf("%s/etc-link", d->src);
	assert_int_equal(symlink("/etc/hostname", dangling), 0);
	assert_int_equal(mkfifo(fifo, 0640), 0);
	_cleanup_free_ char *locked = xasprintf("%s/lib/modules/k", d->src);
	assert_int_equal(chmod(locked, 0750), 0);

	assert_int_equal(guest_root_copy(s, t, &err), 0);
	assert_null(err);

	assert_int_equal(mode_of(d->dst, "init"), S_IFREG | 0755);
	assert_int_equal(mode_of(d->dst, "lib/modules/k"), S_IFDIR | 0750);
	assert_int_equal(mode_of(d->dst, "lib/modules/hull.order"), S_IFREG | 0600);
	assert_int_equal(mode_of(d->dst, "fifo"), S_IFIFO | 0640);
	assert_true(S_ISLNK(mode_of(d->dst, "lib/modules/current")));
	assert_true(S_ISLNK(mode_of(d->dst, "etc-link")));
	got = xasprintf("%s/etc-link", d->dst);
	n = readlink(got, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "/etc/hostname");
	assert_int_equal(read_file_at(t, "lib/modules/k/a.ko", &text, NULL, 0, &err), 0);
	assert_string_equal(text, "module bytes");
}

static void test_root_copy_refuses_existing_target(void **state)
{
	struct dirs *d = *state;
	_cleanup_close_ int s = open(d->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int t = open(d->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct hull_err *err = NULL;

	/* the target is a fresh tmpfs: anything there already is an error, not overwritten */
	put(d->src, "init", "new", 0755);
	put(d->dst, "init", "old", 0644);
	assert_int_equal(guest_root_copy(s, t, &err), -EEXIST);
	assert_string_equal(err->msg, "create init: File exists");
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root_copy_copies_every_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_copy_refuses_existing_target, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
