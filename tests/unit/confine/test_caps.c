/* SPDX-License-Identifier: Apache-2.0 */
/*
 * confine_apply in a forked child, checked through /proc/self/status: the
 * capability sets, ids, groups, no_new_privs, and that seccomp still loads
 * when it must go after the capability drop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "confine/internal.h"

#define BIT(c) (1ULL << (c))

static int in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void assert_child_ok(int st)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("child failed: %s %d", WIFEXITED(st) ? "exit" : "signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* The value after "Key:\t" in /proc/self/status, or "" */
static const char *status_field(const char *key)
{
	static char val[256];
	char line[512];
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	val[0] = '\0';
	if (!f)
		return val;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *p = line + klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			snprintf(val, sizeof(val), "%s", p);
			/* Groups: ends with a space; trailing blanks are not data */
			for (size_t n = strlen(val); n > 0 && strchr(" \t\n", val[n - 1]); n--)
				val[n - 1] = '\0';
			break;
		}
	}
	fclose(f);
	return val;
}

static bool field_is(const char *key, const char *want)
{
	const char *got = status_field(key);

	if (strcmp(got, want) == 0)
		return true;
	fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", key, got, want);
	return false;
}

struct apply_case {
	const struct oci_spec *spec;
	const struct oci_process *proc;
};

static int apply(const struct apply_case *c)
{
	struct hull_err *err = NULL;
	int nfd = -1;

	if (confine_apply(c->spec, c->proc, &nfd, &err) < 0) {
		fprintf(stderr, "confine_apply: %s\n", err->msg);
		return -1;
	}
	return 0;
}

static int child_user_and_caps(void *arg)
{
	if (apply(arg) < 0)
		return 10;
	if (!field_is("CapEff", "0000000000000001") || !field_is("CapPrm", "0000000000000001") ||
	    !field_is("CapBnd", "0000000000000001") || !field_is("CapInh", "0000000000000000") ||
	    !field_is("CapAmb", "0000000000000000"))
		return 11;
	if (!field_is("Uid", "1000\t1000\t1000\t1000") || !field_is("Gid", "1000\t1000\t1000\t1000") ||
	    !field_is("Groups", "5"))
		return 12;
	if (!field_is("NoNewPrivs", "0"))
		return 13;
	/* umask defaults to 0022, cwd applied */
	if (umask(0) != 0022)
		return 14;
	char cwd[64];
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/tmp") != 0)
		return 15;
	return 0;
}

static void test_caps_user_switch_keeps_only_listed_caps(void **state)
{
	uint32_t gids[] = { 5 };
	struct oci_process p = { .cwd = "/tmp", .has_capabilities = true,
				 .user = { .uid = 1000, .gid = 1000, .additional_gids = gids, .n_additional_gids = 1 } };
	struct apply_case c = { .proc = &p };

	p.caps[OCI_CAP_BOUNDING] = p.caps[OCI_CAP_EFFECTIVE] = p.caps[OCI_CAP_PERMITTED] = BIT(CAP_CHOWN);
	assert_child_ok(in_child(child_user_and_caps, &c));
}

static int child_ambient(void *arg)
{
	if (apply(arg) < 0)
		return 10;
	if (!field_is("CapAmb", "0000000000000400") || !field_is("NoNewPrivs", "1"))
		return 11;
	/* Ambient caps survive execve of an unprivileged binary as uid 1000. */
	execl("/bin/sh", "sh", "-c", "grep -q '^CapEff:[[:space:]]*0000000000000400$' /proc/self/status", (char *)NULL);
	return 12;
}

static void test_caps_ambient_survives_exec_as_non_root(void **state)
{
	struct oci_process p = { .cwd = "/", .has_capabilities = true, .no_new_privileges = true,
				 .user = { .uid = 1000, .gid = 1000 } };
	struct apply_case c = { .proc = &p };

	for (int s = 0; s < OCI_CAP_SET_COUNT; s++)
		p.caps[s] = BIT(CAP_NET_BIND_SERVICE);
	assert_child_ok(in_child(child_ambient, &c));
}

static int child_no_caps(void *arg)
{
	if (apply(arg) < 0)
		return 10;
	if (!field_is("CapEff", "0000000000000000") || !field_is("CapBnd", "0000000000000000") ||
	    !field_is("CapPrm", "0000000000000000") || !field_is("Uid", "0\t0\t0\t0") || !field_is("Groups", ""))
		return 11;
	if (umask(0) != 027)
		return 12;
	return 0;
}

static void test_caps_absent_object_drops_everything(void **state)
{
	struct oci_process p = { .cwd = "/", .user = { .has_umask = true, .umask = 027 } };
	struct apply_case c = { .proc = &p };

	assert_child_ok(in_child(child_no_caps, &c));
}

static int child_nnp(void *arg)
{
	if (apply(arg) < 0)
		return 10;
	return field_is("NoNewPrivs", "1") ? 0 : 11;
}

static void test_caps_no_new_privileges_sets_the_bit(void **state)
{
	struct oci_process p = { .cwd = "/", .no_new_privileges = true, .has_capabilities = true };
	struct apply_case c = { .proc = &p };

	assert_child_ok(in_child(child_nnp, &c));
}

static int child_seccomp_after(void *arg)
{
	if (apply(arg) < 0)
		return 10;
	if (!field_is("CapEff", "0000000000000000") || !field_is("Seccomp", "2"))
		return 11;
	if (mkdir("/tmp/hull-test-caps-never", 0700) == 0 || errno != EPERM)
		return 12;
	return 0;
}

/* With noNewPrivileges the filter loads after the drop (no CAP_SYS_ADMIN
 * left); without it, before the drop while CAP_SYS_ADMIN is still held. */
static void test_caps_seccomp_loads_before_or_after_the_drop(void **state)
{
	char *names[] = { "mkdir", "mkdirat" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 2, .action = "SCMP_ACT_ERRNO" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	struct oci_spec spec = { .has_linux = true, .linux_ = { .seccomp = &s } };
	struct oci_process p = { .cwd = "/", .has_capabilities = true, .no_new_privileges = true,
				 .user = { .uid = 1000, .gid = 1000 } };
	struct apply_case c = { .spec = &spec, .proc = &p };

	assert_child_ok(in_child(child_seccomp_after, &c));
	p.no_new_privileges = false;
	assert_child_ok(in_child(child_seccomp_after, &c));
}

static int child_expect_error(void *arg)
{
	const struct apply_case *c = arg;
	struct hull_err *err = NULL;
	int nfd;

	if (confine_apply(c->spec, c->proc, &nfd, &err) == 0)
		return 10;
	/* the message goes back through stdout of the child: print it */
	printf("%s\n", err->msg);
	fflush(stdout);
	return 0;
}

static void expect_apply_error(const struct apply_case *c, const char *want)
{
	int fds[2], st;
	char buf[512] = { 0 };
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		_exit(child_expect_error((void *)c));
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_child_ok(st);
	assert_true(n > 0);
	buf[strcspn(buf, "\n")] = '\0';
	assert_string_equal(buf, want);
}

static void test_caps_cwd_that_does_not_exist_is_named(void **state)
{
	struct oci_process p = { .cwd = "/nonexistent-hull-cwd", .has_capabilities = true,
				 .user = { .uid = 1000, .gid = 1000 } };
	struct apply_case c = { .proc = &p };

	expect_apply_error(&c, "process.cwd: chdir /nonexistent-hull-cwd: No such file or directory");
}

static int child_in_cwd(void *arg)
{
	const struct apply_case *c = arg;
	char cwd[64];

	if (apply(c) < 0)
		return 10;
	if (!field_is("Uid", "1000\t1000\t1000\t1000"))
		return 11;
	return getcwd(cwd, sizeof(cwd)) && strcmp(cwd, c->proc->cwd) == 0 ? 0 : 12;
}

/* runc chdirs before the user switch: a cwd only root can enter works for
 * the user too (it cannot list it, but it starts there). */
static void test_caps_cwd_only_root_can_enter_is_entered_before_the_switch(void **state)
{
	char dir[] = "/tmp/hull-test-cwd-XXXXXX";
	struct oci_process p = { .cwd = dir, .has_capabilities = true, .user = { .uid = 1000, .gid = 1000 } };
	struct apply_case c = { .proc = &p };

	assert_non_null(mkdtemp(dir)); /* 0700, root's */
	assert_child_ok(in_child(child_in_cwd, &c));
	rmdir(dir);
}

static int child_ambient_skipped(void *arg)
{
	if (apply(arg) < 0)
		return 10;
	return field_is("CapAmb", "0000000000000000") && field_is("CapPrm", "0000000000000020") ? 0 : 11;
}

/* runc only logs an ambient cap it cannot raise (engines send ambient sets
 * without the inheritable bits): the container starts without it. */
static void test_caps_ambient_without_inheritable_is_skipped(void **state)
{
	struct oci_process p = { .cwd = "/", .has_capabilities = true, .user = { .uid = 1000, .gid = 1000 } };
	struct apply_case c = { .proc = &p };

	p.caps[OCI_CAP_BOUNDING] = p.caps[OCI_CAP_PERMITTED] = p.caps[OCI_CAP_AMBIENT] = BIT(CAP_KILL);
	assert_child_ok(in_child(child_ambient_skipped, &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_user_switch_keeps_only_listed_caps),
		cmocka_unit_test(test_caps_ambient_survives_exec_as_non_root),
		cmocka_unit_test(test_caps_absent_object_drops_everything),
		cmocka_unit_test(test_caps_no_new_privileges_sets_the_bit),
		cmocka_unit_test(test_caps_seccomp_loads_before_or_after_the_drop),
		cmocka_unit_test(test_caps_cwd_that_does_not_exist_is_named),
		cmocka_unit_test(test_caps_cwd_only_root_can_enter_is_entered_before_the_switch),
		cmocka_unit_test(test_caps_ambient_without_inheritable_is_skipped),
	};

	if (geteuid() != 0) {
		print_message("skip: test_caps needs root (setresuid, capset)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
