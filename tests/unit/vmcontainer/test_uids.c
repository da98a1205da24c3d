/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmc_uid_claim / vmc_uid_release: one jail uid per VM container, claimed
 * under a temporary --root (ROOT/@vm-uids/UID -> ID): the lowest free one,
 * reuse after release, the error of an exhausted range, stale claims
 * reclaimed, and creates at once never given the same uid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "vmcontainer/internal.h"

#include <sys/stat.h>
#include <sys/wait.h>

static char root[] = "/tmp/hull-test-uids-XXXXXX";

static int setup(void **state)
{
	strcpy(root, "/tmp/hull-test-uids-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	return rm_rf_at(AT_FDCWD, root) < 0 ? -1 : 0;
}

/* ROOT/ID, as container_new makes it before create claims a uid. */
static void make_container(const char *id)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", root, id);
	assert_int_equal(mkdir(dir, 0700), 0);
}

static void remove_container(const char *id)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", root, id);
	assert_int_equal(rmdir(dir), 0);
}

static uid_t claim(const char *id, uint32_t first, uint32_t last)
{
	struct hull_err *err = NULL;
	uid_t uid = 0;

	if (vmc_uid_claim(root, id, &(struct vmc_uid_range){ first, last }, &uid, &err) < 0)
		fail_msg("claim %s: %s", id, err->msg);
	return uid;
}

/* The container the claim of uid names, "" when there is none. */
static const char *claim_target(uid_t uid)
{
	static char target[64];
	_cleanup_free_ char *p = xasprintf("%s/" VMC_UIDS_DIR "/%u", root, (unsigned)uid);
	ssize_t n = readlink(p, target, sizeof(target) - 1);

	target[n < 0 ? 0 : n] = '\0';
	return target;
}

static void test_uids_lowest_free_distinct_and_reused_after_release(void **state)
{
	struct hull_err *err = NULL;

	make_container("a");
	make_container("b");
	make_container("c");
	assert_int_equal(claim("a", 1000, 1009), 1000);
	assert_int_equal(claim("b", 1000, 1009), 1001);
	assert_string_equal(claim_target(1000), "a");
	assert_string_equal(claim_target(1001), "b");
	assert_int_equal(vmc_uid_release(root, "a", &err), 0);
	assert_string_equal(claim_target(1000), "");
	assert_string_equal(claim_target(1001), "b");
	/* the freed one is the lowest again */
	assert_int_equal(claim("c", 1000, 1009), 1000);
	assert_string_equal(claim_target(1000), "c");
	/* releasing what has no claim, twice, or with no claims directory: fine */
	assert_int_equal(vmc_uid_release(root, "a", &err), 0);
	assert_int_equal(vmc_uid_release(root, "nothing", &err), 0);
	_cleanup_free_ char *other = xasprintf("%s/none", root);
	assert_int_equal(vmc_uid_release(other, "a", &err), 0);
	assert_null(err);
	/* the last release leaves nothing under --root but the containers */
	_cleanup_free_ char *dir = xasprintf("%s/" VMC_UIDS_DIR, root);
	assert_int_equal(vmc_uid_release(root, "b", &err), 0);
	assert_int_equal(access(dir, F_OK), 0);
	assert_int_equal(vmc_uid_release(root, "c", &err), 0);
	assert_true(access(dir, F_OK) < 0 && errno == ENOENT);
	assert_null(err);
	/* and a claim after that makes it again */
	assert_int_equal(claim("a", 1000, 1009), 1000);
	assert_string_equal(claim_target(1000), "a");
}

static void test_uids_exhausted_range_is_an_error_naming_it(void **state)
{
	struct hull_err *err = NULL;
	uid_t uid = 0;

	make_container("a");
	make_container("b");
	make_container("c");
	assert_int_equal(claim("a", 7000, 7001), 7000);
	assert_int_equal(claim("b", 7000, 7001), 7001);
	assert_true(vmc_uid_claim(root, "c", &(struct vmc_uid_range){ 7000, 7001 }, &uid, &err) < 0);
	assert_non_null(strstr(err->msg, "7000-7001"));
	assert_non_null(strstr(err->msg, "claimed"));
	hull_err_free(&err);
	assert_string_equal(claim_target(7000), "a");
	assert_string_equal(claim_target(7001), "b");
	/* a range that is none */
	assert_true(vmc_uid_claim(root, "c", &(struct vmc_uid_range){ 9, 8 }, &uid, &err) < 0);
	assert_non_null(strstr(err->msg, "9-8"));
	hull_err_free(&err);
	assert_true(vmc_uid_claim(root, "c", &(struct vmc_uid_range){ 9, UINT32_MAX }, &uid, &err) < 0);
	hull_err_free(&err);
}

static void test_uids_stale_claims_are_reclaimed(void **state)
{
	make_container("a");
	make_container("b");
	assert_int_equal(claim("a", 500, 500), 500);
	/* a's state directory went without a delete (hull killed): its claim is stale */
	remove_container("a");
	assert_int_equal(claim("b", 500, 500), 500);
	assert_string_equal(claim_target(500), "b");
	/* an id that was deleted and made again: the earlier container's claim
	 * goes, the new one gets the lowest */
	make_container("c");
	assert_int_equal(claim("c", 500, 501), 501);
	assert_int_equal(claim("c", 500, 502), 501);
	assert_string_equal(claim_target(501), "c");
	/* a claim outside the range still holds its uid; names that are no
	 * claim are left alone */
	make_container("d");
	assert_int_equal(claim("d", 499, 502), 499);
	_cleanup_free_ char *junk = xasprintf("%s/" VMC_UIDS_DIR "/0500", root);
	assert_int_equal(symlink("b", junk), 0);
	make_container("e");
	assert_int_equal(claim("e", 499, 510), 502);
	struct stat st;
	assert_int_equal(lstat(junk, &st), 0);
}

/* Creates at once: each child claims for its own container; none gets a
 * uid another got, and every claim names its own container. */
struct msg {
	uid_t uid;
	int i;
};

static void test_uids_concurrent_claims_are_distinct(void **state)
{
	enum { N = 16 };
	int p[2];
	pid_t kids[N];
	uid_t got[N];

	for (int i = 0; i < N; i++) {
		char id[16];
		snprintf(id, sizeof(id), "c%d", i);
		make_container(id);
	}
	assert_int_equal(pipe(p), 0);
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			struct hull_err *err = NULL;
			char id[16];
			uid_t uid = 0;

			snprintf(id, sizeof(id), "c%d", i);
			if (vmc_uid_claim(root, id, &(struct vmc_uid_range){ 3000, 3000 + N - 1 }, &uid, &err) < 0)
				_exit(1);
			struct msg m = { uid, i };
			_exit(write(p[1], &m, sizeof(m)) == sizeof(m) ? 0 : 1);
		}
	}
	close(p[1]);
	for (int i = 0; i < N; i++) {
		int st;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (int k = 0; k < N; k++) {
		/* a write of a few bytes to a pipe is atomic: one (uid, i) per child */
		struct msg m;
		assert_int_equal(read(p[0], &m, sizeof(m)), sizeof(m));
		assert_true(m.i >= 0 && m.i < N);
		got[m.i] = m.uid;
	}
	close(p[0]);
	for (int i = 0; i < N; i++) {
		char id[16];
		assert_true(got[i] >= 3000 && got[i] < 3000 + N);
		for (int j = 0; j < i; j++)
			assert_true(got[i] != got[j]);
		snprintf(id, sizeof(id), "c%d", i);
		assert_string_equal(claim_target(got[i]), id);
	}
}

/* Claims and releases at once (the last release removes the directory,
 * which a waiting claim must then make again): while a child holds its
 * claim, the claim is its own. */
static void test_uids_concurrent_claims_and_releases_never_share(void **state)
{
	enum { K = 6, ROUNDS = 40 };
	pid_t kids[K];

	for (int i = 0; i < K; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		make_container(id);
	}
	for (int i = 0; i < K; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			char id[16];

			snprintf(id, sizeof(id), "r%d", i);
			for (int r = 0; r < ROUNDS; r++) {
				struct hull_err *err = NULL;
				uid_t uid = 0;

				if (vmc_uid_claim(root, id, &(struct vmc_uid_range){ 40, 40 + K - 1 }, &uid, &err) < 0 ||
				    strcmp(claim_target(uid), id) != 0 || vmc_uid_release(root, id, &err) < 0) {
					fprintf(stderr, "%s round %d: %s (uid %u: %s)\n", id, r, err ? err->msg : "",
						(unsigned)uid, claim_target(uid));
					_exit(1);
				}
			}
			_exit(0);
		}
	}
	for (int i = 0; i < K; i++) {
		int st;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	_cleanup_free_ char *dir = xasprintf("%s/" VMC_UIDS_DIR, root);
	assert_true(access(dir, F_OK) < 0 && errno == ENOENT);
}

static void put(const char *name, const char *text)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", root, name);
	struct hull_err *err = NULL;

	if (write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, &err) < 0)
		fail_msg("%s", err->msg);
}

/* The range: vm.conf's jail_uids or the default; a bad value, or an id of
 * /etc in it, is an error naming the file and line. */
static void test_uids_range_from_conf_checked_against_etc(void **state)
{
	_cleanup_free_ char *conf = xasprintf("%s/vm.conf", root);
	struct vmc_uid_range r = { 0 };
	struct hull_err *err = NULL;
	static const char *const bad[] = { "5000", "0-10", "10-5", "abc-def", "1-2147483647", "-5", "5-",
					   "0x10-0x20", "5 - 6", "+5-6", "" };

	/* no vm.conf, no /etc files: the default */
	assert_int_equal(vmc_uid_range_get(conf, root, &r, &err), 0);
	assert_int_equal(r.first, VMC_UIDS_FIRST);
	assert_int_equal(r.last, VMC_UIDS_LAST);
	assert_int_equal(r.last - r.first + 1, 65536);
	put("vm.conf", "# the VMMs\nkernel=/k\n jail_uids = 5000-5009 \n");
	assert_int_equal(vmc_uid_range_get(conf, root, &r, &err), 0);
	assert_int_equal(r.first, 5000);
	assert_int_equal(r.last, 5009);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *text = xasprintf("kernel=/k\njail_uids=%s\n", bad[i]);
		_cleanup_free_ char *want = xasprintf("%s line 2: jail_uids: \"%s\" is not FIRST-LAST", conf, bad[i]);
		put("vm.conf", text);
		assert_true(vmc_uid_range_get(conf, root, &r, &err) < 0);
		if (strncmp(err->msg, want, strlen(want)) != 0)
			fail_msg("\"%s\": %s", bad[i], err->msg);
		hull_err_free(&err);
	}
	/* vm.conf is checked whole: the image's keys too */
	put("vm.conf", "jail_uids=5000-5009\njail_uids=5000-5009\n");
	assert_true(vmc_uid_range_get(conf, root, &r, &err) < 0);
	assert_non_null(strstr(err->msg, "line 2: jail_uids is set twice"));
	hull_err_free(&err);
	put("vm.conf", "jail_uids=5000-5009\n");
	/* ids outside it, comments and lines that name none are fine */
	put("passwd", "root:x:0:0:root:/root:/bin/sh\n# x\n+::::::\nu:x:4999:5010::/:/bin/sh\n\nlast:x:5010:1:::");
	put("group", "g:x:5010:a,b\n");
	put("subuid", "alice:100000:65536\nbob:4990:10\n");
	put("subgid", "bob:5010:1\nbroken:5000\n");
	assert_int_equal(vmc_uid_range_get(conf, root, &r, &err), 0);
	static const struct {
		const char *file, *text, *want;
	} overlap[] = {
		{ "passwd", "root:x:0:0:root:/root:/bin/sh\nvm:x:5009:0::/:/bin/false\n", "passwd line 2: \"vm:x:5009" },
		{ "group", "g:x:5010:\nh:x:5000:\n", "group line 2: \"h:x:5000:\"" },
		{ "subuid", "alice:4000:1001\n", "subuid line 1: \"alice:4000:1001\"" },
		{ "subgid", "carol:5005:100000\n", "subgid line 1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(overlap); i++) {
		_cleanup_free_ char *want = xasprintf("%s/%s", root, overlap[i].want);
		_cleanup_free_ char *path = xasprintf("%s/%s", root, overlap[i].file);
		put(overlap[i].file, overlap[i].text);
		assert_true(vmc_uid_range_get(conf, root, &r, &err) < 0);
		assert_non_null(strstr(err->msg, "jail uids 5000-5009 (jail_uids in "));
		if (!strstr(err->msg, want))
			fail_msg("%s: %s", overlap[i].file, err->msg);
		hull_err_free(&err);
		assert_int_equal(unlink(path), 0);
	}
	/* the default range says where to set another */
	assert_int_equal(unlink(conf), 0);
	put("subuid", "big:1879000000:100000\n");
	assert_true(vmc_uid_range_get(conf, root, &r, &err) < 0);
	assert_non_null(strstr(err->msg, "(the default; jail_uids in "));
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uids_lowest_free_distinct_and_reused_after_release, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uids_exhausted_range_is_an_error_naming_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_stale_claims_are_reclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_concurrent_claims_are_distinct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_concurrent_claims_and_releases_never_share, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uids_range_from_conf_checked_against_etc, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
