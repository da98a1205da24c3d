/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clone_into_cgroup (runtime/cgfork.c): which child counts as killed at birth.
 * Each test makes its own cgroup2 directory (hull-unit-spawn-PID-N) under
 * the cgroup2 root and removes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runtime/internal.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

struct cg {
	char *path;
	int fd;
};

static int seq;

static const char *cgroup2_root(void)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup";
	if (access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup/unified";
	return NULL;
}

static int setup(void **state)
{
	const char *root = cgroup2_root();
	struct cg *c;

	if (geteuid() != 0 || !root) {
		print_message("skip: needs root and a cgroup2 hierarchy\n");
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->path = xasprintf("%s/hull-unit-spawn-%d-%d", root, (int)getpid(), seq++);
	if (mkdir(c->path, 0755) < 0)
		fail_msg("mkdir %s: %s", c->path, strerror(errno));
	c->fd = open(c->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(c->fd >= 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct cg *c = *state;
	int r;

	close(c->fd);
	/* A reaped child leaves the cgroup asynchronously: retry while busy. */
	while ((r = rmdir(c->path)) < 0 && errno == EBUSY)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	if (r < 0)
		fail_msg("rmdir %s: %s", c->path, strerror(errno));
	free(c->path);
	free(c);
	clone_into_cgroup_test_hook = NULL;
	return 0;
}

static void write_cg(struct cg *c, const char *file, const char *val)
{
	char *p = xasprintf("%s/%s", c->path, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		fail_msg("write %s: %s", p, strerror(errno));
	close(fd);
	free(p);
}

/* Hooks: run between clone3 and the check, in the parent. */
static void wait_exited(pid_t child)
{
	siginfo_t si;
	while (waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
}

static void kill_and_wait(pid_t child)
{
	kill(child, SIGKILL);
	wait_exited(child);
}

/*
 * Issue 16 part 2: under load the stage's child S2 did its whole job and
 * exited before the stage looked; a zombie was taken for a child the kernel
 * killed at birth, and a second S2 waited forever for USERNS_DONE.
 */
static void test_clone_into_cgroup_child_that_ran_and_exited_is_ours(void **state)
{
	struct cg *c = *state;
	struct hull_err *err = NULL;
	pid_t pid = -1, w;
	int r, st;

	clone_into_cgroup_test_hook = wait_exited;
	r = clone_into_cgroup(c->fd, &pid, &err);
	if (r == 1 && pid == 0)
		_exit(7);
	assert_null(err);
	assert_int_equal(r, 1);
	assert_true(pid > 0);
	/* Not reaped behind the caller's back: its status is the caller's. */
	w = waitpid(pid, &st, 0);
	assert_int_equal(w, pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 7);
}

/* A child that dies before it runs an instruction (here: born frozen, then
 * SIGKILLed, as the kernel does to one cloned into a killed cgroup) is
 * reaped and reported as such, so that the caller forks instead. */
static void test_clone_into_cgroup_child_killed_before_it_ran(void **state)
{
	struct cg *c = *state;
	struct hull_err *err = NULL;
	pid_t pid = -1;
	int r;

	write_cg(c, "cgroup.freeze", "1");
	clone_into_cgroup_test_hook = kill_and_wait;
	r = clone_into_cgroup(c->fd, &pid, &err);
	if (r == 1 && pid == 0)
		_exit(7);   /* would be the bug: a frozen child never gets here */
	write_cg(c, "cgroup.freeze", "0");
	assert_null(err);
	assert_int_equal(r, 2);
	/* Reaped already. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* A live child is simply returned. */
static void test_clone_into_cgroup_live_child_is_ours(void **state)
{
	struct cg *c = *state;
	struct hull_err *err = NULL;
	pid_t pid = -1;
	int r, st;

	r = clone_into_cgroup(c->fd, &pid, &err);
	if (r == 1 && pid == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(r, 1);
	assert_true(pid > 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clone_into_cgroup_child_that_ran_and_exited_is_ours, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_clone_into_cgroup_child_killed_before_it_ran, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_into_cgroup_live_child_is_ours, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
