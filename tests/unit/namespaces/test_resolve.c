/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-root resolution against a hostile tree: absolute symlinks, "../"
 * escapes, loops and dangling links must all stay inside the temp root.
 * Every test runs twice: openat2(RESOLVE_IN_ROOT) and the O_PATH walk used
 * on kernels without openat2.  Pure filesystem: no mounts, no namespaces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "namespaces/internal.h"

#include <ftw.h>
#include <sys/stat.h>

struct tree {
	char base[64];      /* base/r is the root; base/outside is "the host" */
	char root[96];
	int root_fd;
};

static void mk(const char *base, const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void ln(const char *base, const char *target, const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	assert_int_equal(symlink(target, p), 0);
}

static void touch(const char *base, const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static bool exists(const char *base, const char *rel)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	return lstat(p, &st) == 0;
}

static int setup(void **state, bool fallback)
{
	struct tree *t = calloc(1, sizeof(*t));

	snprintf(t->base, sizeof(t->base), "/tmp/hull-ns-resolve-XXXXXX");
	assert_non_null(mkdtemp(t->base));
	snprintf(t->root, sizeof(t->root), "%s/r", t->base);
	mk(t->base, "r");
	mk(t->base, "outside");
	touch(t->base, "outside/marker");
	mk(t->root, "etc");
	touch(t->root, "etc/inside");
	touch(t->root, "file");
	mk(t->root, "a");
	mk(t->root, "a/b");
	ln(t->root, "/etc", "abs");
	ln(t->root, "../../../../../../etc", "up");
	ln(t->root, "/../../etc", "upabs");
	ln(t->root, "../outside", "esc");
	ln(t->root, "../etc", "a/rel");
	ln(t->root, "../../../outside/marker", "a/b/marker");
	ln(t->root, "loop2", "loop1");
	ln(t->root, "loop1", "loop2");
	ln(t->root, "selfloop", "selfloop");
	ln(t->root, "/newdir/sub", "dangling");
	ln(t->root, "../../../created", "danglingup");
	ln(t->root, "/proc/self/root", "magic");
	t->root_fd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->root_fd >= 0);
	ns_resolve_force_fallback = fallback;
	*state = t;
	return 0;
}

static int setup_openat2(void **state) { return setup(state, false); }
static int setup_walk(void **state) { return setup(state, true); }

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct tree *t = *state;
	close(t->root_fd);
	nftw(t->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	ns_resolve_force_fallback = false;
	return 0;
}

/* The fd must be root/etc/inside (same inode), whatever the path said. */
static void assert_is_inside(struct tree *t, int fd)
{
	char p[256];
	struct stat a, b;

	assert_true(fd >= 0);
	snprintf(p, sizeof(p), "%s/etc/inside", t->root);
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(fstat(fd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_dev, b.st_dev);
	close(fd);
}

static void test_open_in_root_clamps_absolute_and_dotdot_symlinks(void **state)
{
	struct tree *t = *state;
	static const char *const paths[] = {
		"abs/inside", "/abs/inside", "up/inside", "upabs/inside", "a/rel/inside",
		"../../../etc/inside", "/../../etc/inside", "a/b/../../etc/./inside", "etc/inside",
	};

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		assert_is_inside(t, ns_open_in_root(t->root_fd, paths[i], O_RDONLY, 0, NULL));
}

static void test_open_in_root_never_reaches_host_files(void **state)
{
	struct tree *t = *state;
	struct hull_err *err = NULL;

	/* The host has /etc/passwd and base/outside/marker; the root has neither. */
	assert_int_equal(ns_open_in_root(t->root_fd, "/etc/passwd", O_RDONLY, 0, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "open /etc/passwd in rootfs"));
	hull_err_free(&err);
	assert_int_equal(ns_open_in_root(t->root_fd, "abs/passwd", O_RDONLY, 0, NULL), -ENOENT);
	assert_int_equal(ns_open_in_root(t->root_fd, "esc/marker", O_RDONLY, 0, NULL), -ENOENT);
	assert_int_equal(ns_open_in_root(t->root_fd, "a/b/marker", O_RDONLY, 0, NULL), -ENOENT);
}

static void test_open_in_root_reports_symlink_loops(void **state)
{
	struct tree *t = *state;

	assert_int_equal(ns_open_in_root(t->root_fd, "loop1", O_RDONLY, 0, NULL), -ELOOP);
	assert_int_equal(ns_open_in_root(t->root_fd, "selfloop/x", O_RDONLY, 0, NULL), -ELOOP);
}

static void test_open_in_root_magic_link_target_stays_inside(void **state)
{
	struct tree *t = *state;
	/* "/proc/self/root" inside the root does not exist: no way to the host's /proc. */
	int fd = ns_open_in_root(t->root_fd, "magic/etc/passwd", O_RDONLY, 0, NULL);
	assert_true(fd < 0);
}

static void test_open_in_root_creates_through_symlink_inside(void **state)
{
	struct tree *t = *state;
	int fd = ns_open_in_root(t->root_fd, "abs/created", O_WRONLY | O_CREAT | O_EXCL, 0600, NULL);

	assert_true(fd >= 0);
	close(fd);
	assert_true(exists(t->root, "etc/created"));
	assert_false(access("/etc/created", F_OK) == 0);
}

static void test_open_in_root_nofollow_path_returns_the_link(void **state)
{
	struct tree *t = *state;
	struct stat st;
	int fd = ns_open_in_root(t->root_fd, "abs", O_PATH | O_NOFOLLOW, 0, NULL);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
}

static void test_mkdir_p_in_root_follows_escape_link_inside(void **state)
{
	struct tree *t = *state;
	int fd = ns_mkdir_p_in_root(t->root_fd, "esc/new/deep", 0755, false, NULL);
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
	assert_true(exists(t->root, "outside/new/deep"));
	assert_false(exists(t->base, "outside/new"));
}

static void test_mkdir_p_in_root_creates_dangling_link_targets_inside(void **state)
{
	struct tree *t = *state;
	int fd = ns_mkdir_p_in_root(t->root_fd, "/dangling/x", 0755, false, NULL);

	assert_true(fd >= 0);
	close(fd);
	assert_true(exists(t->root, "newdir/sub/x"));
	assert_false(access("/newdir", F_OK) == 0);

	fd = ns_mkdir_p_in_root(t->root_fd, "danglingup", 0755, false, NULL);
	assert_true(fd >= 0);
	close(fd);
	assert_true(exists(t->root, "created"));
	assert_false(exists(t->base, "created"));
}

static void test_mkdir_p_in_root_creates_file_for_file_binds(void **state)
{
	struct tree *t = *state;
	struct stat st;
	char p[256];
	int fd = ns_mkdir_p_in_root(t->root_fd, "/abs/sub/hosts", 0755, true, NULL);

	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/etc/sub/hosts", t->root);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	/* Existing files are reused, not truncated or replaced. */
	fd = ns_mkdir_p_in_root(t->root_fd, "/abs/sub/hosts", 0755, true, NULL);
	assert_true(fd >= 0);
	close(fd);
}

static void test_mkdir_p_in_root_errors_name_the_path(void **state)
{
	struct tree *t = *state;
	struct hull_err *err = NULL;

	assert_int_equal(ns_mkdir_p_in_root(t->root_fd, "/file/x", 0755, false, &err), -ENOTDIR);
	assert_string_equal(err->msg, "mkdir /file/x in rootfs: Not a directory");
	hull_err_free(&err);
	assert_int_equal(ns_mkdir_p_in_root(t->root_fd, "/loop1/x", 0755, false, &err), -ELOOP);
	hull_err_free(&err);
	assert_int_equal(ns_mkdir_p_in_root(t->root_fd, "/selfloop", 0755, false, &err), -ELOOP);
	hull_err_free(&err);
}

static void test_mkdir_p_in_root_root_itself(void **state)
{
	struct tree *t = *state;
	struct stat a, b;
	int fd = ns_mkdir_p_in_root(t->root_fd, "/", 0755, false, NULL);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(t->root_fd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);
}

static void test_path_clean_is_lexical(void **state)
{
	static const char *const cases[][2] = {
		{ "/", "/" }, { "", "/" }, { "/proc//cpuinfo", "/proc/cpuinfo" },
		{ "/proc/../etc/./x/", "/etc/x" }, { "/../../dev", "/dev" }, { "dev/pts", "/dev/pts" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *c = path_clean(cases[i][0]);
		assert_string_equal(c, cases[i][1]);
		free(c);
	}
}

#define BOTH(t) \
	cmocka_unit_test_setup_teardown(t, setup_openat2, teardown), \
	cmocka_unit_test_setup_teardown(t, setup_walk, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_open_in_root_clamps_absolute_and_dotdot_symlinks),
		BOTH(test_open_in_root_never_reaches_host_files),
		BOTH(test_open_in_root_reports_symlink_loops),
		BOTH(test_open_in_root_magic_link_target_stays_inside),
		BOTH(test_open_in_root_creates_through_symlink_inside),
		BOTH(test_open_in_root_nofollow_path_returns_the_link),
		BOTH(test_mkdir_p_in_root_follows_escape_link_inside),
		BOTH(test_mkdir_p_in_root_creates_dangling_link_targets_inside),
		BOTH(test_mkdir_p_in_root_creates_file_for_file_binds),
		BOTH(test_mkdir_p_in_root_errors_name_the_path),
		BOTH(test_mkdir_p_in_root_root_itself),
		cmocka_unit_test(test_path_clean_is_lexical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
