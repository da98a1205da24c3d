/* SPDX-License-Identifier: Apache-2.0 */
/*
 * confine_allowlist_*: filters hull builds for its own processes.  Every
 * filter is loaded in a forked child (the test process is never filtered);
 * the child reports over a pipe, with nothing but the syscalls it allows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "confine/confine.h"

/* ---- helpers ---------------------------------------------------------------- */

struct child {
	pid_t pid;
	int rd;                     /* what the child wrote */
};

/* fork; the child runs fn(arg, wr) and exits with its result. */
static struct child start(int (*fn)(void *arg, int wr), void *arg)
{
	struct child c;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		close(p[0]);
		syscall(SYS_exit_group, fn(arg, p[1]));
	}
	close(p[1]);
	c.rd = p[0];
	return c;
}

/* Everything the child wrote, and its wait status. */
static int finish(struct child *c, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int st;

	while (len + 1 < cap && (n = read(c->rd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(c->rd);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	return st;
}

static int run(int (*fn)(void *arg, int wr), char *out, size_t cap)
{
	struct child c = start(fn, NULL);

	return finish(&c, out, cap);
}

static void say(int fd, const char *s)
{
	(void)!write(fd, s, strlen(s));
}

/* In the child: load or report why not (exit 100). */
static int load(const struct confine_rule *rules, size_t n, uint32_t def, int wr)
{
	struct hull_err *err = NULL;

	if (confine_allowlist_load(rules, n, def, &err) < 0) {
		say(wr, "load failed: ");
		say(wr, err->msg);
		return -1;
	}
	return 0;
}

static void assert_killed_by_sigsys(int st, const char *out, const char *want_out)
{
	assert_string_equal(out, want_out);
	if (!WIFSIGNALED(st))
		fail_msg("child exited %d, not killed by SIGSYS", WEXITSTATUS(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void assert_exited(int st, int code, const char *out, const char *want_out)
{
	if (strcmp(out, want_out) != 0)
		fail_msg("child said \"%s\", not \"%s\" (wait status %#x)", out, want_out, (unsigned)st);
	if (!WIFEXITED(st))
		fail_msg("child killed by signal %d", WTERMSIG(st));
	assert_int_equal(WEXITSTATUS(st), code);
}

/* ---- the filter in force ------------------------------------------------------ */

static const struct confine_rule write_exit[] = {
	{ .name = "write" },
	{ .name = "exit_group" },
};

static int unlisted_syscall(void *arg, int wr)
{
	if (load(write_exit, ARRAY_SIZE(write_exit), CONFINE_ACT_KILL_PROCESS, wr) < 0)
		return 100;
	say(wr, "loaded");
	syscall(SYS_getppid); /* not in the list */
	say(wr, " alive");
	return 0;
}

static void test_allowlist_kills_on_an_unlisted_syscall(void **state)
{
	char out[256];
	int st = run(unlisted_syscall, out, sizeof(out));

	/* write ran under the filter; getppid killed the whole process. */
	assert_killed_by_sigsys(st, out, "loaded");
}

static const struct confine_rule with_getppid[] = {
	{ .name = "write" },
	{ .name = "getppid" },
	{ .name = "exit_group" },
};

static int listed_syscalls(void *arg, int wr)
{
	pid_t parent = getppid();

	if (load(with_getppid, ARRAY_SIZE(with_getppid), CONFINE_ACT_KILL_PROCESS, wr) < 0)
		return 100;
	say(wr, syscall(SYS_getppid) == parent ? "same parent" : "other parent");
	return 7;
}

static void test_allowlist_listed_syscalls_run(void **state)
{
	char out[256];
	int st = run(listed_syscalls, out, sizeof(out));

	assert_exited(st, 7, out, "same parent");
}

static const struct confine_rule getppid_enotty[] = {
	{ .name = "write" },
	{ .name = "exit_group" },
	{ .name = "getppid", .action = CONFINE_ACT_ERRNO(ENOTTY) },
};

static int rule_action(void *arg, int wr)
{
	long r;

	if (load(getppid_enotty, ARRAY_SIZE(getppid_enotty), CONFINE_ACT_KILL_PROCESS, wr) < 0)
		return 100;
	r = syscall(SYS_getppid);
	say(wr, r == -1 && errno == ENOTTY ? "ENOTTY" : "not ENOTTY");
	return 0;
}

static void test_allowlist_rule_action_errno(void **state)
{
	char out[256];
	int st = run(rule_action, out, sizeof(out));

	assert_exited(st, 0, out, "ENOTTY");
}

static int default_errno(void *arg, int wr)
{
	long r;

	if (load(write_exit, ARRAY_SIZE(write_exit), CONFINE_ACT_ERRNO(EPERM), wr) < 0)
		return 100;
	r = syscall(SYS_getppid);
	say(wr, r == -1 && errno == EPERM ? "EPERM" : "not EPERM");
	return 0;
}

static void test_allowlist_default_action_errno(void **state)
{
	char out[256];
	int st = run(default_errno, out, sizeof(out));

	assert_exited(st, 0, out, "EPERM");
}

/* write only to two fds (two rules for one name: ORed); a third fd kills. */
static int arg_compare(void *arg, int wr)
{
	int null1 = open("/dev/null", O_WRONLY | O_CLOEXEC), null2 = open("/dev/null", O_WRONLY | O_CLOEXEC);
	const struct confine_rule rules[] = {
		{ .name = "write", .args = { { 0, CONFINE_CMP_EQ, (uint64_t)wr, 0 } } },
		{ .name = "write", .args = { { 0, CONFINE_CMP_EQ, (uint64_t)null1, 0 } } },
		{ .name = "exit_group" },
	};

	if (null1 < 0 || null2 < 0)
		return 101;
	if (load(rules, ARRAY_SIZE(rules), CONFINE_ACT_KILL_PROCESS, wr) < 0)
		return 100;
	if (write(null1, "x", 1) != 1)
		return 102;
	say(wr, "second fd ok");
	(void)!write(null2, "x", 1);
	say(wr, " third fd alive");
	return 0;
}

static void test_allowlist_argument_comparisons(void **state)
{
	char out[256];
	int st = run(arg_compare, out, sizeof(out));

	assert_killed_by_sigsys(st, out, "second fd ok");
}

/* TSYNC: a thread that exists before the load is filtered too.  It must be
 * running first: glibc aborts a thread whose start (rseq registration, under
 * this default action) fails. */
struct thread_pipes { int ready[2], go[2], ack[2], result; };

static void *thread_fn(void *arg)
{
	struct thread_pipes *t = arg;
	char b;
	long r;

	if (write(t->ready[1], "r", 1) != 1 || read(t->go[0], &b, 1) != 1)
		return NULL;
	r = syscall(SYS_getppid);
	say(t->result, r == -1 && errno == EPERM ? "thread EPERM" : "thread not filtered");
	(void)!write(t->ack[1], "a", 1);
	for (;;)
		(void)!read(t->go[0], &b, 1); /* the process exits under it */
}

static const struct confine_rule read_write_exit[] = {
	{ .name = "read" },
	{ .name = "write" },
	{ .name = "exit_group" },
};

static int other_thread(void *arg, int wr)
{
	struct thread_pipes t = { .result = wr };
	pthread_t th;
	char b;

	if (pipe(t.ready) < 0 || pipe(t.go) < 0 || pipe(t.ack) < 0 || pthread_create(&th, NULL, thread_fn, &t) != 0 ||
	    read(t.ready[0], &b, 1) != 1)
		return 101;
	if (load(read_write_exit, ARRAY_SIZE(read_write_exit), CONFINE_ACT_ERRNO(EPERM), wr) < 0)
		return 100;
	if (write(t.go[1], "g", 1) != 1 || read(t.ack[0], &b, 1) != 1)
		return 102;
	return 0;
}

static void test_allowlist_covers_every_thread(void **state)
{
	char out[256];
	int st = run(other_thread, out, sizeof(out));

	assert_exited(st, 0, out, "thread EPERM");
}

/* ---- bad input: nothing is built, nothing loaded -------------------------------- */

static void expect_refused(const struct confine_rule *rules, size_t n, uint32_t def, const char *msg)
{
	struct confine_filter f = { .insns = (void *)1 };
	struct hull_err *err = NULL;

	assert_int_equal(confine_allowlist_prepare(rules, n, def, &f, &err), -1);
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
	assert_null(f.insns);
	hull_err_free(&err);
	/* The test process itself is never filtered. */
	assert_int_equal(prctl(PR_GET_SECCOMP), 0);
}

static void test_allowlist_unknown_syscall_is_named(void **state)
{
	const struct confine_rule rules[] = { { .name = "write" }, { .name = "no_such_syscall" } };

	expect_refused(rules, 2, CONFINE_ACT_KILL_PROCESS,
		       "seccomp allowlist: rules[1]: unknown syscall \"no_such_syscall\"");
}

static void test_allowlist_refuses_bad_rules(void **state)
{
	const struct confine_rule no_name[] = { { .name = NULL } };
	const struct confine_rule bad_index[] = { { .name = "read", .args = { { 6, CONFINE_CMP_EQ, 0, 0 } } } };
	const struct confine_rule bad_op[] = { { .name = "read", .args = { { 0, CONFINE_CMP_EQ, 0, 0 },
									    { 1, (enum confine_cmp)99, 0, 0 } } } };
	const struct confine_rule bad_action[] = { { .name = "read", .action = SECCOMP_RET_USER_NOTIF } };

	expect_refused(no_name, 1, CONFINE_ACT_KILL_PROCESS, "seccomp allowlist: rules[0]: no syscall name");
	expect_refused(bad_index, 1, CONFINE_ACT_KILL_PROCESS,
		       "seccomp allowlist: rules[0] (read): args[0].index 6 is out of range (0-5)");
	expect_refused(bad_op, 1, CONFINE_ACT_KILL_PROCESS, "seccomp allowlist: rules[0] (read): args[1].op 99 is unknown");
	expect_refused(bad_action, 1, CONFINE_ACT_KILL_PROCESS,
		       "seccomp allowlist: rules[0] (read): invalid action 0x7fc00000");
	expect_refused(write_exit, 2, SECCOMP_RET_TRACE, "seccomp allowlist: invalid default action 0x7ff00000");
}

/* Compiling alone: a program that starts at the arch check and ends in a return. */
static void test_allowlist_prepare_compiles(void **state)
{
	struct confine_filter f;
	struct hull_err *err = NULL;

	assert_int_equal(confine_allowlist_prepare(with_getppid, ARRAY_SIZE(with_getppid), CONFINE_ACT_KILL_PROCESS,
						   &f, &err), 0);
	assert_null(err);
	assert_non_null(f.insns);
	assert_true(f.len > 3);
	assert_true(f.flags & SECCOMP_FILTER_FLAG_TSYNC);
	assert_false(f.notify);
	free(f.insns);
	assert_int_equal(prctl(PR_GET_SECCOMP), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowlist_kills_on_an_unlisted_syscall),
		cmocka_unit_test(test_allowlist_listed_syscalls_run),
		cmocka_unit_test(test_allowlist_rule_action_errno),
		cmocka_unit_test(test_allowlist_default_action_errno),
		cmocka_unit_test(test_allowlist_argument_comparisons),
		cmocka_unit_test(test_allowlist_covers_every_thread),
		cmocka_unit_test(test_allowlist_unknown_syscall_is_named),
		cmocka_unit_test(test_allowlist_refuses_bad_rules),
		cmocka_unit_test(test_allowlist_prepare_compiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
