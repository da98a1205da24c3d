/* SPDX-License-Identifier: Apache-2.0 */
/* ns_copy_tree() (namespaces/copyup.c): tmpcopyup's copy and the guest's
 * way out of its initramfs (guest/rootfs.c).  Every kind of entry arrives
 * with its mode, nothing is followed, one_fs leaves mount points out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "common/common.h"
#include "namespaces/namespaces.h"

#include <sched.h>
#include <sys/mount.h>

struct dirs {
	char src[64], dst[64];
};

static int setup(void **state)
{
	struct dirs *d = xcalloc(1, sizeof(*d));

	strcpy(d->src, "/tmp/hull-test-copytree-src.XXXXXX");
	strcpy(d->dst, "/tmp/hull-test-copytree-dst.XXXXXX");
	assert_non_null(mkdtemp(d->src));
	assert_non_null(mkdtemp(d->dst));
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s' '%s'", d->src, d->dst);
	_cleanup_free_ char *mnt = xasprintf("%s/mnt", d->src);

	umount2(mnt, MNT_DETACH); /* a failed test's mount, if any */

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

static void test_copy_tree_copies_every_kind(void **state)
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

	assert_int_equal(ns_copy_tree(s, t, false, &err), 0);
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

static void test_copy_tree_refuses_existing_target(void **state)
{
	struct dirs *d = *state;
	_cleanup_close_ int s = open(d->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int t = open(d->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct hull_err *err = NULL;

	/* the target is a fresh tmpfs: anything there already is an error, not overwritten */
	put(d->src, "init", "new", 0755);
	put(d->dst, "init", "old", 0644);
	assert_int_equal(ns_copy_tree(s, t, false, &err), -EEXIST);
	assert_string_equal(err->msg, "init: create init: File exists");
	hull_err_free(&err);
}

static void test_copy_tree_one_fs_leaves_mount_points_out(void **state)
{
	struct dirs *d = *state;
	_cleanup_free_ char *mnt = xasprintf("%s/mnt", d->src), *inner = NULL, *plain = NULL;
	_cleanup_close_ int s = -1, t = -1;
	struct hull_err *err = NULL;
	struct stat st;

	/* a mount of our own, in a mount namespace of our own */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		skip(); /* not root: no mount namespace here */
	put(d->src, "init", "x", 0755);
	assert_int_equal(mkdir(mnt, 0755), 0);
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, NULL), 0);
	put(d->src, "mnt/on-the-mount", "y", 0644);

	/* opened in this mount namespace, where the mount is */
	s = open(d->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	t = open(d->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ns_copy_tree(s, t, true, &err) < 0)
		fail_msg("%s", err->msg);
	plain = xasprintf("%s/init", d->dst);
	inner = xasprintf("%s/mnt", d->dst);
	assert_int_equal(stat(plain, &st), 0);
	assert_int_equal(stat(inner, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* without one_fs the mount's files come along */
	_cleanup_free_ char *rm = xasprintf("rm -rf '%s'/*", d->dst);
	assert_int_equal(system(rm), 0);
	if (ns_copy_tree(s, t, false, &err) < 0)
		fail_msg("%s", err->msg);
	free(inner);
	inner = xasprintf("%s/mnt/on-the-mount", d->dst);
	assert_int_equal(stat(inner, &st), 0);
	assert_int_equal(umount(mnt), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_tree_copies_every_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_tree_refuses_existing_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_tree_one_fs_leaves_mount_points_out, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
