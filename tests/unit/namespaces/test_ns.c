/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Joining namespaces, id maps and time offsets against real namespaces of
 * forked children (nothing changes in the test process itself).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "namespaces/internal.h"

#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

static int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A child that unshares `flags`, sets a hostname, says "ready" and waits for EOF. */
struct holder {
	pid_t pid;
	int ready, hold;
};

static void holder_start(struct holder *h, int flags, const char *hostname)
{
	int rp[2], hp[2];
	char c;

	assert_int_equal(pipe(rp), 0);
	assert_int_equal(pipe(hp), 0);
	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		close(rp[0]);
		close(hp[1]);
		if (unshare(flags) < 0 || (hostname && sethostname(hostname, strlen(hostname)) < 0))
			_exit(1);
		if (write(rp[1], "r", 1) != 1)
			_exit(2);
		while (read(hp[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(rp[1]);
	close(hp[0]);
	h->ready = rp[0];
	h->hold = hp[1];
	assert_int_equal(read(h->ready, &c, 1), 1);
}

static void holder_stop(struct holder *h)
{
	close(h->hold);
	close(h->ready);
	assert_int_equal(wait_exit(h->pid), 0);
}

static int hostname_is(const char *want)
{
	char buf[128] = "";
	return gethostname(buf, sizeof(buf)) == 0 && strcmp(buf, want) == 0 ? 0 : 1;
}

static void test_join_pid_enters_uts_and_ipc_at_once(void **state)
{
	struct holder h;
	pid_t pid;

	(void)state;
	holder_start(&h, CLONE_NEWUTS | CLONE_NEWIPC, "hull-joined");
	pid = fork();
	if (pid == 0) {
		struct hull_err *err = NULL;
		if (ns_join_pid(h.pid, -1, CLONE_NEWUTS | CLONE_NEWIPC, &err) < 0) {
			fprintf(stderr, "%s\n", err->msg);
			_exit(3);
		}
		_exit(hostname_is("hull-joined"));
	}
	assert_int_equal(wait_exit(pid), 0);
	holder_stop(&h);
}

static void test_join_paths_joins_user_namespace_first(void **state)
{
	struct holder h;
	char uts[64], user[64];
	/* The uts namespace is listed first and owned by the new user namespace. */
	struct oci_namespace ns[2] = { { OCI_NS_UTS, uts }, { OCI_NS_USER, user } };
	struct oci_spec spec = { .has_linux = true };
	pid_t pid;

	(void)state;
	holder_start(&h, CLONE_NEWUSER | CLONE_NEWUTS, NULL);
	snprintf(uts, sizeof(uts), "/proc/%d/ns/uts", (int)h.pid);
	snprintf(user, sizeof(user), "/proc/%d/ns/user", (int)h.pid);
	spec.linux_.namespaces = ns;
	spec.linux_.n_namespaces = 2;
	pid = fork();
	if (pid == 0) {
		struct hull_err *err = NULL;
		char mine[64], theirs[64];
		ssize_t a, b;
		if (ns_join_paths(&spec, 0, &err) < 0) {
			fprintf(stderr, "%s\n", err->msg);
			_exit(3);
		}
		a = readlink("/proc/self/ns/user", mine, sizeof(mine));
		b = readlink(user, theirs, sizeof(theirs));
		_exit(a > 0 && a == b && memcmp(mine, theirs, (size_t)a) == 0 ? 0 : 4);
	}
	assert_int_equal(wait_exit(pid), 0);
	holder_stop(&h);
}

static void test_write_id_maps_as_root_keeps_setgroups(void **state)
{
	struct oci_id_mapping map = { 0, 1000, 10 };
	struct oci_spec spec = { .has_linux = true };
	struct holder h;
	char *text = NULL;
	char path[64];

	(void)state;
	spec.linux_.uid_mappings = spec.linux_.gid_mappings = &map;
	spec.linux_.n_uid_mappings = spec.linux_.n_gid_mappings = 1;
	holder_start(&h, CLONE_NEWUSER, NULL);
	assert_int_equal(ns_write_id_maps(h.pid, &spec, NULL), 0);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)h.pid);
	assert_int_equal(read_file_at(AT_FDCWD, path, &text, NULL, 0, NULL), 0);
	assert_non_null(strstr(text, "0       1000         10"));
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)h.pid);
	assert_int_equal(read_file_at(AT_FDCWD, path, &text, NULL, 0, NULL), 0);
	assert_string_equal(text, "allow\n");
	free(text);
	holder_stop(&h);
}

static void test_write_id_maps_unprivileged_denies_setgroups(void **state)
{
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0) {
		/* An unprivileged runtime mapping its own ids (rootless). */
		struct oci_id_mapping uid = { 0, 65534, 1 }, gid = { 0, 65534, 1 };
		struct oci_spec spec = { .has_linux = true };
		struct hull_err *err = NULL;
		struct holder h;
		char *text = NULL;
		char path[64];
		int ok;

		spec.linux_.uid_mappings = &uid;
		spec.linux_.gid_mappings = &gid;
		spec.linux_.n_uid_mappings = spec.linux_.n_gid_mappings = 1;
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		prctl(PR_SET_DUMPABLE, 1);
		holder_start(&h, CLONE_NEWUSER, NULL);
		if (ns_write_id_maps(h.pid, &spec, &err) < 0) {
			fprintf(stderr, "%s\n", err->msg);
			_exit(11);
		}
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)h.pid);
		ok = read_file_at(AT_FDCWD, path, &text, NULL, 0, NULL) == 0 && strcmp(text, "deny\n") == 0;
		holder_stop(&h);
		_exit(ok ? 0 : 12);
	}
	assert_int_equal(wait_exit(pid), 0);
}

static void test_write_time_offsets_shift_child_clocks(void **state)
{
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0) {
		struct oci_spec spec = { .has_linux = true };
		struct hull_err *err = NULL;
		pid_t child;

		spec.linux_.time_offsets[0] = (struct oci_time_offset){ .secs = 1000000, .nanosecs = 5, .set = true };
		spec.linux_.time_offsets[1] = (struct oci_time_offset){ .secs = 2000000, .set = true };
		if (unshare(CLONE_NEWTIME) < 0)
			_exit(20);
		if (ns_write_time_offsets(&spec, &err) < 0) {
			fprintf(stderr, "%s\n", err->msg);
			_exit(21);
		}
		/* Offsets apply to children born after the write. */
		child = fork();
		if (child == 0) {
			struct timespec mono, boot;
			clock_gettime(CLOCK_MONOTONIC, &mono);
			clock_gettime(CLOCK_BOOTTIME, &boot);
			_exit(mono.tv_sec >= 1000000 && boot.tv_sec >= 2000000 ? 0 : 22);
		}
		_exit(wait_exit(child));
	}
	assert_int_equal(wait_exit(pid), 0);
}

static void test_write_time_offsets_nothing_set_writes_nothing(void **state)
{
	struct oci_spec spec = { .has_linux = true };

	(void)state;
	/* Outside a fresh time namespace a write would fail: success means no write. */
	assert_int_equal(ns_write_time_offsets(&spec, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_pid_enters_uts_and_ipc_at_once),
		cmocka_unit_test(test_join_paths_joins_user_namespace_first),
		cmocka_unit_test(test_write_id_maps_as_root_keeps_setgroups),
		cmocka_unit_test(test_write_id_maps_unprivileged_denies_setgroups),
		cmocka_unit_test(test_write_time_offsets_shift_child_clocks),
		cmocka_unit_test(test_write_time_offsets_nothing_set_writes_nothing),
	};
	if (geteuid() != 0) {
		fprintf(stderr, "skip: test_ns needs root (setns, foreign id maps)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
