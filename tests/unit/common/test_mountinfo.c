/* SPDX-License-Identifier: Apache-2.0 */
/* The one mountinfo parser (common/mountinfo.c): escapes, optional fields,
 * the " - " separator, and lines that are not mountinfo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"

struct good_case {
	const char *line;
	const char *root, *mountpoint, *mount_opts, *optional, *fstype, *source, *super_opts;
};

static const struct good_case good[] = {
	/* proc(5)'s example */
	{ "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
	  "/mnt1", "/mnt2", "rw,noatime", "master:1", "ext3", "/dev/root", "rw,errors=continue" },
	/* no optional field: the separator follows the mount options */
	{ "25 1 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct",
	  "/", "/sys/fs/cgroup/cpu,cpuacct", "rw,nosuid", "", "cgroup", "cgroup", "rw,cpu,cpuacct" },
	/* several optional fields */
	{ "40 30 0:5 / /a rw shared:2 master:7 propagate_from:3 unbindable - tmpfs none rw",
	  "/", "/a", "rw", "shared:2 master:7 propagate_from:3 unbindable", "tmpfs", "none", "rw" },
	/* the four escapes the kernel writes: space, tab, newline, backslash */
	{ "41 30 0:5 /r\\040oot /m\\040p\\011t\\012x\\134y rw - tmpfs s\\040rc rw",
	  "/r oot", "/m p\tt\nx\\y", "rw", "", "tmpfs", "s rc", "rw" },
	/* an escaped "-" field is a mount point, not the separator */
	{ "42 30 0:5 / /\\055 rw shared:1 - tmpfs none rw",
	  "/", "/-", "rw", "shared:1", "tmpfs", "none", "rw" },
	/* a mount point named " - " itself */
	{ "43 30 0:5 / /x\\040-\\040y rw - tmpfs none rw",
	  "/", "/x - y", "rw", "", "tmpfs", "none", "rw" },
};

static void test_mountinfo_parses_good_lines(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		_cleanup_free_ char *line = xstrdup(good[i].line);
		struct mountinfo_entry e;

		assert_int_equal(mountinfo_parse_line(line, &e), 0);
		assert_string_equal(e.root, good[i].root);
		assert_string_equal(e.mountpoint, good[i].mountpoint);
		assert_string_equal(e.mount_opts, good[i].mount_opts);
		assert_string_equal(e.optional, good[i].optional);
		assert_string_equal(e.fstype, good[i].fstype);
		assert_string_equal(e.source, good[i].source);
		assert_string_equal(e.super_opts, good[i].super_opts);
	}
}

static const char *const bad[] = {
	"",
	"36",
	"36 35 98:0 /",                                 /* truncated before the mount point */
	"36 35 98:0 / /mnt",                            /* ... before the mount options */
	"36 35 98:0 / /mnt rw",                         /* ... before the separator */
	"36 35 98:0 / /mnt rw shared:1",                /* no separator */
	"36 35 98:0 / /mnt rw -",                       /* nothing after it */
	"36 35 98:0 / /mnt rw - ext3",
	"36 35 98:0 / /mnt rw - ext3 /dev/sda",         /* no superblock options */
	"36 35 98:0 / /mnt rw - ext3 /dev/sda rw x",    /* one field too many */
	"36 35 98:0 / /mnt rw shared:1 -ext3 /dev/sda rw",
	"36  35 98:0 / /mnt rw - ext3 /dev/sda rw",     /* empty field */
	"x 35 98:0 / /mnt rw - ext3 /dev/sda rw",       /* mount id not a number */
	"36 35 980 / /mnt rw - ext3 /dev/sda rw",       /* no major:minor */
	"36 35 98:0 / /m\\09 rw - ext3 /dev/sda rw",     /* 9 is not octal */
	"36 35 98:0 / /m\\8aa rw - ext3 /dev/sda rw",
	"36 35 98:0 / /m\\400 rw - ext3 /dev/sda rw",    /* above \377 */
	"36 35 98:0 / /m\\000 rw - ext3 /dev/sda rw",    /* NUL would cut the path */
	"36 35 98:0 / /m\\04 rw - ext3 /dev/sda rw",     /* short escape */
	"36 35 98:0 / /m\\ rw - ext3 /dev/sda rw",       /* lone backslash */
	"36 35 98:0 /r\\x / rw - ext3 /dev/sda rw",      /* in the root */
	"36 35 98:0 / / rw - ext3 /dev/s\\1 rw",         /* in the source */
	"36 35 98:0 / /mnt\\",                          /* backslash at the end of a truncated line */
};

static void test_mountinfo_rejects_bad_lines(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *line = xstrdup(bad[i]);
		struct mountinfo_entry e;

		if (mountinfo_parse_line(line, &e) != -EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
}

static void test_mountinfo_unescape_in_place(void **state)
{
	char s[] = "a\\040b\\134\\011", lone[] = "a\\", upper[] = "\\377";

	assert_int_equal(mountinfo_unescape(s), 0);
	assert_string_equal(s, "a b\\\t");
	assert_int_equal(mountinfo_unescape(lone), -EINVAL);
	assert_int_equal(mountinfo_unescape(upper), 0);
	assert_int_equal((unsigned char)upper[0], 0377);
	assert_int_equal(upper[1], '\0');
}

/* mountinfo_next skips what does not parse and keeps the rest in order. */
static void test_mountinfo_next_skips_bad_lines(void **state)
{
	_cleanup_free_ char *buf = xstrdup("1 0 0:1 / / rw - ext4 /dev/a rw\n"
					   "garbage\n"
					   "\n"
					   "2 1 0:2 / /m\\09 rw - tmpfs t rw\n"
					   "3 1 0:3 / /p rw shared:4 - proc proc rw\n"
					   "4 1 0:4 / /last rw - tmpfs t rw");
	struct mountinfo_entry e;
	char *cur = buf;

	assert_true(mountinfo_next(&cur, &e));
	assert_string_equal(e.mountpoint, "/");
	assert_true(mountinfo_next(&cur, &e));
	assert_string_equal(e.mountpoint, "/p");
	assert_string_equal(e.optional, "shared:4");
	assert_true(mountinfo_next(&cur, &e));
	assert_string_equal(e.mountpoint, "/last");
	assert_false(mountinfo_next(&cur, &e));
	assert_false(mountinfo_next(&cur, &e));
}

/* Every line of this process's real mountinfo parses. */
static void test_mountinfo_reads_own_mountinfo(void **state)
{
	_cleanup_free_ char *buf = NULL;
	size_t lines = 0, parsed = 0;
	struct mountinfo_entry e;
	char *cur;

	assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/mountinfo", &buf, NULL, 0, NULL), 0);
	for (const char *p = buf; *p; p++)
		lines += *p == '\n';
	for (cur = buf; mountinfo_next(&cur, &e);)
		parsed++;
	assert_true(lines > 0);
	assert_int_equal(parsed, lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mountinfo_parses_good_lines),
		cmocka_unit_test(test_mountinfo_rejects_bad_lines),
		cmocka_unit_test(test_mountinfo_unescape_in_place),
		cmocka_unit_test(test_mountinfo_next_skips_bad_lines),
		cmocka_unit_test(test_mountinfo_reads_own_mountinfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
