/* SPDX-License-Identifier: Apache-2.0 */
/* Where the host finds the guest image (guest/image.c): annotations, then
 * vm.conf, then the install tree, then the build tree; strict vm.conf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "common/common.h"
#include "guest/guest.h"
#include "oci/oci.h"

struct t {
	char top[64];
	char *exe;  /* TOP/build/bin/hull (never run: only its path counts) */
	char *conf; /* TOP/vm.conf */
};

static char *at(struct t *t, const char *rel)
{
	return xasprintf("%s/%s", t->top, rel);
}

static void put(struct t *t, const char *rel, const char *text)
{
	_cleanup_free_ char *p = at(t, rel), *dir = xstrdup(p);
	struct hull_err *err = NULL;
	FILE *f;

	*strrchr(dir, '/') = '\0';
	assert_int_equal(mkdir_p(dir, 0755, &err), 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct t *t = xcalloc(1, sizeof(*t));

	strcpy(t->top, "/tmp/hull-test-image.XXXXXX");
	assert_non_null(mkdtemp(t->top));
	t->exe = at(t, "build/bin/hull");
	t->conf = at(t, "vm.conf");
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", t->top);

	assert_int_equal(system(cmd), 0);
	free(t->exe);
	free(t->conf);
	free(t);
	return 0;
}

/* find(t, annotations...): 0 and the two paths relative to top, or < 0 and *msg */
static int find(struct t *t, const struct oci_kv *ann, size_t n, char **kernel, char **initrd, char **msg)
{
	struct hull_err *err = NULL;
	char *k = NULL, *i = NULL;
	int ret = guest_image_find_at(t->conf, t->exe, ann, n, &k, &i, &err);

	*msg = NULL;
	*kernel = *initrd = NULL;
	if (ret < 0) {
		assert_non_null(err);
		*msg = xstrdup(err->msg);
		hull_err_free(&err);
		return ret;
	}
	assert_null(err);
	size_t l = strlen(t->top);
	*kernel = xstrdup(strncmp(k, t->top, l) == 0 ? k + l + 1 : k);
	*initrd = xstrdup(strncmp(i, t->top, l) == 0 ? i + l + 1 : i);
	free(k);
	free(i);
	return 0;
}

static void test_image_build_tree(void **state)
{
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL;

	put(*state, "build/guest/vmlinuz", "k");
	put(*state, "build/guest/initramfs.cpio", "i");
	assert_int_equal(find(*state, NULL, 0, &k, &i, &msg), 0);
	assert_string_equal(k, "build/guest/vmlinuz");
	assert_string_equal(i, "build/guest/initramfs.cpio");
}

static void test_image_install_tree_before_build_tree(void **state)
{
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL;

	put(*state, "build/guest/vmlinuz", "k");
	put(*state, "build/guest/initramfs.cpio", "i");
	put(*state, "build/lib/hull/vmlinuz", "k");
	assert_int_equal(find(*state, NULL, 0, &k, &i, &msg), 0);
	assert_string_equal(k, "build/lib/hull/vmlinuz");
	assert_string_equal(i, "build/guest/initramfs.cpio");
}

static void test_image_missing_says_make_guest(void **state)
{
	struct t *t = *state;
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL, *want = NULL;

	assert_true(find(t, NULL, 0, &k, &i, &msg) < 0);
	want = xasprintf("guest kernel: neither %s/build/lib/hull/vmlinuz nor %s/build/guest/vmlinuz exists; "
			 "run `make guest` (or `make install`)", t->top, t->top);
	assert_string_equal(msg, want);
	free(take_ptr(msg));

	/* the kernel alone is not enough */
	put(t, "build/guest/vmlinuz", "k");
	assert_true(find(t, NULL, 0, &k, &i, &msg) < 0);
	assert_non_null(strstr(msg, "guest initramfs: neither "));
	assert_non_null(strstr(msg, "build/guest/initramfs.cpio exists; run `make guest` (or `make install`)"));
}

static void test_image_not_a_file_names_path(void **state)
{
	struct t *t = *state;
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL, *want = NULL, *d = at(t, "build/guest/vmlinuz");
	struct hull_err *err = NULL;

	assert_int_equal(mkdir_p(d, 0755, &err), 0);
	put(t, "build/guest/initramfs.cpio", "i");
	assert_true(find(t, NULL, 0, &k, &i, &msg) < 0);
	want = xasprintf("guest kernel %s: not a regular file; run `make guest` (or `make install`)", d);
	assert_string_equal(msg, want);
}

static void test_image_annotations_first(void **state)
{
	struct t *t = *state;
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL, *ak = at(t, "custom/bzImage");
	struct oci_kv ann[] = { { "org.other", "x" }, { GUEST_ANN_KERNEL, ak } };

	put(t, "custom/bzImage", "k");
	put(t, "vm.conf", "kernel=/nonexistent/conf-kernel\n");
	put(t, "build/guest/vmlinuz", "k");
	put(t, "build/guest/initramfs.cpio", "i");
	assert_int_equal(find(t, ann, ARRAY_SIZE(ann), &k, &i, &msg), 0);
	assert_string_equal(k, "custom/bzImage");
	assert_string_equal(i, "build/guest/initramfs.cpio");
}

static void test_image_named_but_missing_does_not_fall_through(void **state)
{
	struct t *t = *state;
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL;
	struct oci_kv ann[] = { { GUEST_ANN_INITRD, "/nonexistent/initrd" } };

	put(t, "build/guest/vmlinuz", "k");
	put(t, "build/guest/initramfs.cpio", "i");
	assert_true(find(t, ann, 1, &k, &i, &msg) < 0);
	assert_string_equal(msg, "guest initramfs /nonexistent/initrd from annotation: No such file or directory; "
				 "run `make guest` (or `make install`)");
	free(take_ptr(msg));

	put(t, "vm.conf", "kernel = /nonexistent/k\n");
	assert_true(find(t, NULL, 0, &k, &i, &msg) < 0);
	assert_non_null(strstr(msg, "guest kernel /nonexistent/k from "));
	assert_non_null(strstr(msg, "vm.conf: No such file or directory"));
}

static void test_image_annotation_must_be_absolute(void **state)
{
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL;
	struct oci_kv ann[] = { { GUEST_ANN_KERNEL, "vmlinuz" } };

	assert_true(find(*state, ann, 1, &k, &i, &msg) < 0);
	assert_string_equal(msg, "annotation org.hull.vm.kernel: \"vmlinuz\" is not an absolute path");
}

static void test_image_conf_used_and_comments_skipped(void **state)
{
	struct t *t = *state;
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL, *conf = NULL;

	put(t, "img/k", "k");
	put(t, "img/i", "i");
	conf = xasprintf("# hull VM image\n\n  kernel = %s/img/k  \n\tinitrd=%s/img/i\n", t->top, t->top);
	put(t, "vm.conf", conf);
	assert_int_equal(find(t, NULL, 0, &k, &i, &msg), 0);
	assert_string_equal(k, "img/k");
	assert_string_equal(i, "img/i");
}

static const struct {
	const char *text, *want;
} bad_conf[] = {
	{ "kernel=/a\nmemory=128\n", "vm.conf line 2: unknown key \"memory\" (kernel, initrd or jail_uids)" },
	{ "# c\nkernel\n", "vm.conf line 2: \"kernel\" is not key=value" },
	{ "kernel=/a\nkernel=/b\n", "vm.conf line 2: kernel is set twice" },
	{ "initrd=boot/initrd\n", "vm.conf line 1: initrd: \"boot/initrd\" is not an absolute path" },
	{ "initrd=\n", "vm.conf line 1: initrd: \"\" is not an absolute path" },
	{ "=/a\n", "vm.conf line 1: unknown key \"\" (kernel, initrd or jail_uids)" },
	{ "Kernel=/a\n", "vm.conf line 1: unknown key \"Kernel\"" },
};

static void test_image_conf_is_strict(void **state)
{
	struct t *t = *state;
	/* an annotation naming both does not excuse a bad file */
	_cleanup_free_ char *img = at(t, "img");
	struct oci_kv ann[] = { { GUEST_ANN_KERNEL, img }, { GUEST_ANN_INITRD, img } };

	for (size_t n = 0; n < ARRAY_SIZE(bad_conf); n++) {
		_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL, *want = NULL;

		put(t, "vm.conf", bad_conf[n].text);
		assert_true(find(t, ann, 2, &k, &i, &msg) < 0);
		want = xasprintf("%s/%s", t->top, bad_conf[n].want);
		if (strncmp(msg, want, strlen(want)) != 0)
			fail_msg("case %zu: \"%s\" is not \"%s\"", n, msg, want);
	}
}

static void test_image_conf_unreadable_or_nul(void **state)
{
	struct t *t = *state;
	_cleanup_free_ char *k = NULL, *i = NULL, *msg = NULL;
	struct hull_err *err = NULL;
	FILE *f;

	/* a directory where the file should be: read fails, naming it */
	assert_int_equal(mkdir_p(t->conf, 0755, &err), 0);
	assert_true(find(t, NULL, 0, &k, &i, &msg) < 0);
	assert_non_null(strstr(msg, t->conf));
	assert_non_null(strstr(msg, "Is a directory"));
	free(take_ptr(msg));
	assert_int_equal(rmdir(t->conf), 0);

	f = fopen(t->conf, "w");
	assert_non_null(f);
	assert_int_equal(fwrite("kernel=/a\0\n", 1, 11, f), 11);
	assert_int_equal(fclose(f), 0);
	assert_true(find(t, NULL, 0, &k, &i, &msg) < 0);
	assert_non_null(strstr(msg, "vm.conf: holds a NUL byte"));
}

/* The real entry point: /etc/hull/vm.conf and /proc/self/exe, where the
 * annotations name both files so neither the machine's install nor this
 * test's build tree matters. */
static void test_image_find_takes_annotations(void **state)
{
	struct t *t = *state;
	_cleanup_free_ char *k = at(t, "k"), *i = at(t, "i");
	struct oci_kv ann[] = { { GUEST_ANN_KERNEL, k }, { GUEST_ANN_INITRD, i } };
	struct hull_err *err = NULL;
	char *kernel = NULL, *initrd = NULL;

	if (access(GUEST_IMAGE_CONF, F_OK) == 0)
		skip(); /* this machine's own vm.conf is validated too: not ours to judge */
	put(t, "k", "k");
	put(t, "i", "i");
	assert_int_equal(guest_image_find(ann, 2, &kernel, &initrd, &err), 0);
	assert_string_equal(kernel, k);
	assert_string_equal(initrd, i);
	free(kernel);
	free(initrd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_image_build_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_install_tree_before_build_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_missing_says_make_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_not_a_file_names_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_annotations_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_named_but_missing_does_not_fall_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_annotation_must_be_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_conf_used_and_comments_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_conf_is_strict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_conf_unreadable_or_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_find_takes_annotations, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
