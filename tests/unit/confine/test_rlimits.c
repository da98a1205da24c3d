/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.rlimits and the other plain process attributes of confine_apply
 * (oom_score_adj, personality, ioPriority, scheduler), each in a child, plus
 * confine_validate's messages for them and for the LSM fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sched.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "confine/internal.h"

/* Run confine_apply(spec, proc) in a child; the child writes the error
 * message (or "OK" followed by check output) to a pipe we return. */
struct probe {
	const struct oci_spec *spec;
	const struct oci_process *proc;
	int (*check)(char *out, size_t len); /* runs in the child after apply */
};

static void run_probe(const struct probe *p, char *out, size_t len)
{
	int fds[2], st;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hull_err *err = NULL;
		char buf[512] = "OK";
		int nfd;

		close(fds[0]);
		if (confine_apply(p->spec, p->proc, &nfd, &err) < 0)
			snprintf(buf, sizeof(buf), "%s", err->msg);
		else if (p->check)
			(void)p->check(buf, sizeof(buf)); /* on failure it writes its complaint into buf */
		(void)!write(fds[1], buf, strlen(buf));
		_exit(0);
	}
	close(fds[1]);
	memset(out, 0, len);
	n = read(fds[0], out, len - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_true(n > 0);
}

/* This process's permitted set (this host withholds CAP_SYS_RESOURCE). */
static uint64_t held_caps(void)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapPrm: %llx", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static struct oci_process base_proc(void)
{
	/* root keeps what it holds: only the attribute under test matters */
	uint64_t all = held_caps();

	return (struct oci_process){ .cwd = "/", .has_capabilities = true, .caps = { all, all, 0, all, 0 } };
}

/* ---- rlimits ----------------------------------------------------------------- */

static int check_nofile_512_1024(char *out, size_t len)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur == 512 && rl.rlim_max == 1024)
		return 0;
	snprintf(out, len, "got %llu/%llu", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	return -1;
}

static void test_rlimits_lowering_nofile_works(void **state)
{
	struct oci_rlimit rl = { .resource = RLIMIT_NOFILE, .name = "RLIMIT_NOFILE", .soft = 512, .hard = 1024 };
	struct oci_process proc = base_proc();
	struct probe p = { .proc = &proc, .check = check_nofile_512_1024 };
	char out[512];

	proc.rlimits = &rl;
	proc.n_rlimits = 1;
	run_probe(&p, out, sizeof(out));
	assert_string_equal(out, "OK");
}

/* Can this process raise its hard limit (CAP_SYS_RESOURCE)?  Try in a child. */
static bool can_raise(rlim_t hard)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct rlimit rl = { hard, hard };
		_exit(setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_rlimits_raising_hard_limit_fails_clearly(void **state)
{
	struct rlimit cur;
	struct oci_rlimit rl = { .resource = RLIMIT_NOFILE, .name = "RLIMIT_NOFILE" };
	struct oci_process proc = base_proc();
	struct probe p = { .proc = &proc };
	char out[512], want[256];

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &cur), 0);
	if (cur.rlim_max == RLIM_INFINITY || cur.rlim_max >= 1048576) {
		print_message("skip: RLIMIT_NOFILE hard limit is already at the kernel maximum\n");
		skip();
	}
	rl.soft = rl.hard = cur.rlim_max + 1;
	proc.rlimits = &rl;
	proc.n_rlimits = 1;
	run_probe(&p, out, sizeof(out));
	if (can_raise(cur.rlim_max + 1)) {
		print_message("note: this user holds CAP_SYS_RESOURCE; raising must succeed\n");
		assert_string_equal(out, "OK");
		return;
	}
	snprintf(want, sizeof(want), "setrlimit RLIMIT_NOFILE soft=%llu hard=%llu: Operation not permitted",
		 (unsigned long long)rl.soft, (unsigned long long)rl.hard);
	assert_string_equal(out, want);
}

static void test_rlimits_validate_rejects_soft_above_hard_and_duplicates(void **state)
{
	struct oci_rlimit rl[] = { { .resource = RLIMIT_NOFILE, .name = "RLIMIT_NOFILE", .soft = 10, .hard = 5 },
				   { .resource = RLIMIT_NOFILE, .name = "RLIMIT_NOFILE", .soft = 1, .hard = 5 } };
	struct oci_process proc = base_proc();
	struct hull_err *err = NULL;

	proc.rlimits = rl;
	proc.n_rlimits = 1;
	assert_true(confine_validate(NULL, &proc, &err) < 0);
	assert_string_equal(err->msg, "process.rlimits[0]: soft limit 10 is greater than hard limit 5");
	hull_err_free(&err);
	rl[0].soft = 1;
	proc.n_rlimits = 2;
	assert_true(confine_validate(NULL, &proc, &err) < 0);
	assert_string_equal(err->msg, "process.rlimits[1]: duplicate RLIMIT_NOFILE");
	hull_err_free(&err);
	rl[1].hard = RLIM_INFINITY;
	rl[1].resource = RLIMIT_CORE;
	rl[1].name = "RLIMIT_CORE";
	assert_int_equal(confine_validate(NULL, &proc, NULL), 0);
}

/* ---- other attributes ------------------------------------------------------------ */

static int check_oom_500(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/oom_score_adj", "re");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -9999;
		fclose(f);
	}
	if (v == 500)
		return 0;
	snprintf(out, len, "oom_score_adj %d", v);
	return -1;
}

static void test_confine_oom_score_adj_written(void **state)
{
	struct oci_process proc = base_proc();
	struct probe p = { .proc = &proc, .check = check_oom_500 };
	char out[512];

	proc.has_oom_score_adj = true;
	proc.oom_score_adj = 500; /* raising needs no privilege */
	run_probe(&p, out, sizeof(out));
	assert_string_equal(out, "OK");
}

static int check_linux32(char *out, size_t len)
{
	int v = personality(0xffffffff);

	if (v == (PER_LINUX32 | ADDR_NO_RANDOMIZE))
		return 0;
	snprintf(out, len, "personality %#x", v);
	return -1;
}

static void test_confine_personality_domain_and_flags(void **state)
{
	char *flags[] = { "ADDR_NO_RANDOMIZE" };
	struct oci_spec spec = { .has_linux = true,
				 .linux_ = { .personality = { .set = true, .domain = "LINUX32", .flags = flags, .n_flags = 1 } } };
	struct oci_process proc = base_proc();
	struct probe p = { .spec = &spec, .proc = &proc, .check = check_linux32 };
	struct hull_err *err = NULL;
	char out[512];

	run_probe(&p, out, sizeof(out));
	assert_string_equal(out, "OK");

	spec.linux_.personality.domain = "LINUX64";
	assert_true(confine_validate(&spec, &proc, &err) < 0);
	assert_string_equal(err->msg, "linux.personality.domain: unknown domain \"LINUX64\" (LINUX or LINUX32)");
	hull_err_free(&err);
	spec.linux_.personality.domain = "LINUX";
	flags[0] = "FAST_MODE";
	assert_true(confine_validate(&spec, &proc, &err) < 0);
	assert_string_equal(err->msg, "linux.personality.flags[0]: unknown flag \"FAST_MODE\"");
	hull_err_free(&err);
}

static int check_ioprio_idle(char *out, size_t len)
{
	long v = syscall(SYS_ioprio_get, 1, 0);

	if (v == (3 << 13))
		return 0;
	snprintf(out, len, "ioprio %#lx", v);
	return -1;
}

static void test_confine_io_priority_set(void **state)
{
	struct oci_process proc = base_proc();
	struct probe p = { .proc = &proc, .check = check_ioprio_idle };
	char out[512];

	proc.io_priority = (struct oci_io_priority){ .set = true, .class_ = 3, .priority = 0 };
	run_probe(&p, out, sizeof(out));
	assert_string_equal(out, "OK");
}

static int check_batch_nice(char *out, size_t len)
{
	int pol = sched_getscheduler(0);
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	if (pol == SCHED_BATCH && nice == 7)
		return 0;
	snprintf(out, len, "policy %d nice %d", pol, nice);
	return -1;
}

static void test_confine_scheduler_policy_and_nice(void **state)
{
	struct oci_process proc = base_proc();
	struct probe p = { .proc = &proc, .check = check_batch_nice };
	char out[512];

	proc.scheduler = (struct oci_scheduler){ .set = true, .policy = SCHED_BATCH, .nice = 7 };
	run_probe(&p, out, sizeof(out));
	assert_string_equal(out, "OK");
}

static void expect_invalid(const struct oci_process *proc, const char *want)
{
	struct hull_err *err = NULL;

	assert_true(confine_validate(NULL, proc, &err) < 0);
	assert_non_null(err);
	assert_string_equal(err->msg, want);
	hull_err_free(&err);
}

static void test_confine_capset_names_a_capability_the_runtime_lacks(void **state)
{
	struct oci_process proc = base_proc();
	struct probe p = { .proc = &proc };
	char out[512];

	if (held_caps() & (1ULL << 24)) {
		print_message("skip: this runtime holds CAP_SYS_RESOURCE, nothing to miss\n");
		skip();
	}
	proc.caps[OCI_CAP_PERMITTED] |= 1ULL << 24;
	run_probe(&p, out, sizeof(out));
	assert_string_equal(out, "process.capabilities: capset: CAP_SYS_RESOURCE is not held by the runtime: Operation not permitted");
}

static void test_confine_validate_misc_messages(void **state)
{
	struct oci_process proc = base_proc();

	proc.has_oom_score_adj = true;
	proc.oom_score_adj = 1001;
	expect_invalid(&proc, "process.oomScoreAdj: 1001 is out of range (-1000..1000)");
	proc = base_proc();
	proc.user.has_umask = true;
	proc.user.umask = 01777;
	expect_invalid(&proc, "process.user.umask: 01777 is not a permission mask");
	proc = base_proc();
	proc.io_priority = (struct oci_io_priority){ .set = true, .class_ = 2, .priority = 8 };
	expect_invalid(&proc, "process.ioPriority.priority: 8 is out of range (0..7)");
	proc.io_priority = (struct oci_io_priority){ .set = true, .class_ = 9 };
	expect_invalid(&proc, "process.ioPriority.class: unknown class 9");
	proc = base_proc();
	proc.scheduler = (struct oci_scheduler){ .set = true, .policy = SCHED_FIFO, .priority = 0 };
	expect_invalid(&proc, "process.scheduler.priority: 0 is out of range (1..99) for SCHED_FIFO");
	proc.scheduler = (struct oci_scheduler){ .set = true, .policy = SCHED_OTHER, .nice = 20 };
	expect_invalid(&proc, "process.scheduler.nice: 20 is out of range (-20..19)");
	proc.scheduler = (struct oci_scheduler){ .set = true, .policy = 42 };
	expect_invalid(&proc, "process.scheduler.policy: unknown policy 42");
	proc.scheduler = (struct oci_scheduler){ .set = true, .policy = SCHED_OTHER, .runtime = 10 };
	expect_invalid(&proc, "process.scheduler: runtime, deadline and period need SCHED_DEADLINE");
	proc.scheduler = (struct oci_scheduler){ .set = true, .policy = 6, .runtime = 10, .deadline = 5 };
	expect_invalid(&proc,
		       "process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= period (period 0 = deadline)");
	proc.scheduler = (struct oci_scheduler){ .set = true, .policy = SCHED_OTHER, .flags = 0x100 };
	expect_invalid(&proc, "process.scheduler.flags: unknown flags 0x100");
	proc.scheduler = (struct oci_scheduler){ .set = true, .policy = SCHED_RR, .priority = 99 };
	assert_int_equal(confine_validate(NULL, &proc, NULL), 0);
}

static void test_confine_validate_lsm_needs_the_lsm_on_the_host(void **state)
{
	struct oci_process proc = base_proc();
	struct hull_err *err = NULL;

	proc.apparmor_profile = "docker-default";
	if (access("/sys/module/apparmor/parameters/enabled", F_OK) == 0) {
		print_message("note: AppArmor present on this host; only SELinux is checked\n");
	} else {
		assert_true(confine_validate(NULL, &proc, &err) < 0);
		assert_string_equal(err->msg, "process.apparmorProfile: AppArmor is not enabled on this host");
		hull_err_free(&err);
	}
	proc.apparmor_profile = NULL;
	proc.selinux_label = "system_u:system_r:container_t:s0";
	if (access("/sys/fs/selinux", F_OK) == 0) {
		print_message("note: SELinux present on this host\n");
		return;
	}
	assert_true(confine_validate(NULL, &proc, &err) < 0);
	assert_string_equal(err->msg, "process.selinuxLabel: SELinux is not enabled on this host");
	hull_err_free(&err);
	/* an empty string is "not set" */
	proc.selinux_label = "";
	assert_int_equal(confine_validate(NULL, &proc, NULL), 0);
}

static int child_close_fds(void)
{
	struct hull_err *err = NULL;

	for (int fd = 3; fd <= 10; fd++)
		if (dup2(0, fd) != fd)
			return 10;
	if (confine_close_fds(2, &err) < 0)
		return 11;
	for (int fd = 0; fd <= 4; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return 20 + fd; /* 0-2 and the two preserved must stay */
	for (int fd = 5; fd <= 10; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			return 30 + fd;
	return 0;
}

static void test_confine_close_fds_keeps_stdio_and_preserved(void **state)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_close_fds());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rlimits_lowering_nofile_works),
		cmocka_unit_test(test_rlimits_raising_hard_limit_fails_clearly),
		cmocka_unit_test(test_rlimits_validate_rejects_soft_above_hard_and_duplicates),
		cmocka_unit_test(test_confine_oom_score_adj_written),
		cmocka_unit_test(test_confine_personality_domain_and_flags),
		cmocka_unit_test(test_confine_io_priority_set),
		cmocka_unit_test(test_confine_scheduler_policy_and_nice),
		cmocka_unit_test(test_confine_capset_names_a_capability_the_runtime_lacks),
		cmocka_unit_test(test_confine_validate_misc_messages),
		cmocka_unit_test(test_confine_close_fds_keeps_stdio_and_preserved),
		cmocka_unit_test(test_confine_validate_lsm_needs_the_lsm_on_the_host),
	};

	if (geteuid() != 0) {
		print_message("skip: test_rlimits applies capabilities and needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
