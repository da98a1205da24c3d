/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp: the string tables, validation messages, and real filters
 * loaded in a forked child (the parent is never filtered).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "confine/internal.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Run fn in a child; returns the raw wait status. */
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

static int load_or_report(const struct oci_seccomp *s, int *notify_fd)
{
	struct hull_err *err = NULL;

	if (confine_seccomp_load(s, notify_fd, &err) < 0) {
		fprintf(stderr, "load: %s\n", err->msg);
		return -1;
	}
	return 0;
}

static void expect_invalid(const struct oci_seccomp *s, const char *msg)
{
	struct hull_err *err = NULL;

	assert_true(confine_seccomp_validate(s, &err) < 0);
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
	hull_err_free(&err);
}

/* ---- tables ------------------------------------------------------------------ */

static void test_seccomp_action_table_maps_every_action(void **state)
{
	static const struct { const char *name; uint32_t want; } t[] = {
		{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
		{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(EPERM) },
		{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(EPERM) },
		{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
		{ "SCMP_ACT_LOG", SCMP_ACT_LOG },
		{ "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY },
	};
	uint32_t act;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		assert_int_equal(confine_seccomp_action(t[i].name, false, 0, &act), 0);
		assert_int_equal(act, t[i].want);
	}
	assert_int_equal(confine_seccomp_action("SCMP_ACT_ERRNO", true, 38, &act), 0);
	assert_int_equal(act, SCMP_ACT_ERRNO(38));
	assert_int_equal(confine_seccomp_action("SCMP_ACT_TRACE", true, 7, &act), 0);
	assert_int_equal(act, SCMP_ACT_TRACE(7));
	/* errnoRet means nothing to other actions */
	assert_int_equal(confine_seccomp_action("SCMP_ACT_ALLOW", true, 7, &act), 0);
	assert_int_equal(act, SCMP_ACT_ALLOW);
	assert_int_equal(confine_seccomp_action("SCMP_ACT_FOO", false, 0, &act), -1);
	assert_int_equal(confine_seccomp_action("scmp_act_allow", false, 0, &act), -1);
	assert_int_equal(confine_seccomp_action(NULL, false, 0, &act), -1);
}

static void test_seccomp_operator_table_maps_every_operator(void **state)
{
	static const struct { const char *name; int want; } t[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	int op;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		assert_int_equal(confine_seccomp_op(t[i].name, &op), 0);
		assert_int_equal(op, t[i].want);
	}
	assert_int_equal(confine_seccomp_op("SCMP_CMP_FOO", &op), -1);
}

static void test_seccomp_arch_and_flag_tables(void **state)
{
	uint32_t arch;
	int attr;

	assert_int_equal(confine_seccomp_arch("SCMP_ARCH_X86_64", &arch), 0);
	assert_int_equal(arch, SCMP_ARCH_X86_64);
	assert_int_equal(confine_seccomp_arch("SCMP_ARCH_X86", &arch), 0);
	assert_int_equal(arch, SCMP_ARCH_X86);
	assert_int_equal(confine_seccomp_arch("SCMP_ARCH_X32", &arch), 0);
	assert_int_equal(arch, SCMP_ARCH_X32);
	assert_int_equal(confine_seccomp_arch("SCMP_ARCH_AARCH64", &arch), 0);
	assert_int_equal(arch, SCMP_ARCH_AARCH64);
	assert_int_equal(confine_seccomp_arch("SCMP_ARCH_RISCV64", &arch), 0);
	/* 2.5.4 (Debian 12) lacks it; a newer libseccomp enables it */
	assert_int_equal(confine_seccomp_arch("SCMP_ARCH_LOONGARCH64", &arch),
			 seccomp_arch_resolve_name("loongarch64") ? 0 : -2);
	assert_int_equal(confine_seccomp_arch("SCMP_ARCH_VAX", &arch), -1);

	assert_int_equal(confine_seccomp_flag("SECCOMP_FILTER_FLAG_LOG", &attr), 0);
	assert_int_equal(attr, SCMP_FLTATR_CTL_LOG);
	assert_int_equal(confine_seccomp_flag("SECCOMP_FILTER_FLAG_SPEC_ALLOW", &attr), 0);
	assert_int_equal(attr, SCMP_FLTATR_CTL_SSB);
	assert_int_equal(confine_seccomp_flag("SECCOMP_FILTER_FLAG_TSYNC", &attr), 0);
	assert_int_equal(attr, SCMP_FLTATR_CTL_TSYNC);
	assert_int_equal(confine_seccomp_flag("SECCOMP_FILTER_FLAG_FOO", &attr), -1);
}

/* ---- validation messages ------------------------------------------------------- */

static void test_seccomp_validate_names_the_bad_field(void **state)
{
	char *names[] = { "mkdir", "nosuchcall" };
	char *one[] = { "mkdir" };
	char *write_[] = { "read", "write" };
	char *archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_VAX" };
	char *lnx[] = { "SCMP_ARCH_LOONGARCH64" };
	char *flagv[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS" };
	struct oci_seccomp_arg badop = { .index = 0, .op = "SCMP_CMP_SIMILAR" };
	struct oci_seccomp_arg badidx = { .index = 6, .op = "SCMP_CMP_EQ" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 2, .action = "SCMP_ACT_ERRNO" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };

	expect_invalid(&s, "linux.seccomp.syscalls[0].names[1]: unknown syscall \"nosuchcall\"");

	sc = (struct oci_seccomp_syscall){ .names = one, .n_names = 1, .action = "SCMP_ACT_BOGUS" };
	expect_invalid(&s, "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_BOGUS\"");

	sc = (struct oci_seccomp_syscall){ .names = one, .n_names = 1, .action = "SCMP_ACT_ERRNO", .args = &badop, .n_args = 1 };
	expect_invalid(&s, "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_SIMILAR\"");
	sc.args = &badidx;
	expect_invalid(&s, "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0-5)");

	sc = (struct oci_seccomp_syscall){ .names = one, .n_names = 1, .action = "SCMP_ACT_ERRNO",
					   .has_errno_ret = true, .errno_ret = 70000 };
	expect_invalid(&s, "linux.seccomp.syscalls[0].errnoRet: 70000 is out of range (0-65535)");

	sc = (struct oci_seccomp_syscall){ .names = one, .n_names = 1, .action = "SCMP_ACT_ERRNO" };
	s.architectures = archs;
	s.n_architectures = 2;
	expect_invalid(&s, "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
	s.architectures = lnx;
	s.n_architectures = 1;
	if (seccomp_arch_resolve_name("loongarch64") == 0) {
		char want[160];
		const struct scmp_version *v = seccomp_version();

		snprintf(want, sizeof(want),
			 "linux.seccomp.architectures[0]: SCMP_ARCH_LOONGARCH64 is not supported by libseccomp %u.%u.%u",
			 v->major, v->minor, v->micro);
		expect_invalid(&s, want);
	}
	s.n_architectures = 0;

	s.flags = flagv;
	s.n_flags = 2;
	expect_invalid(&s, "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"");
	s.n_flags = 0;

	s.default_action = "SCMP_ACT_NOPE";
	expect_invalid(&s, "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");
	s.default_action = "SCMP_ACT_NOTIFY";
	expect_invalid(&s, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action");
	s.default_action = "SCMP_ACT_ALLOW";

	sc = (struct oci_seccomp_syscall){ .names = one, .n_names = 1, .action = "SCMP_ACT_NOTIFY" };
	expect_invalid(&s, "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
	s.listener_path = "/run/listener.sock";
	assert_int_equal(confine_seccomp_validate(&s, NULL), 0);
	sc.names = write_;
	sc.n_names = 2;
	expect_invalid(&s, "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall");

	sc = (struct oci_seccomp_syscall){ .names = NULL, .n_names = 0, .action = "SCMP_ACT_ERRNO" };
	expect_invalid(&s, "linux.seccomp.syscalls[0].names: must not be empty");
}

static void test_seccomp_validate_accepts_other_arch_names(void **state)
{
	/* Not x86_64 syscalls, but libseccomp knows them for some arch: valid. */
	char *names[] = { "socketcall", "_llseek", "arm_fadvise64_64", "cachestat", "ipc" };
	char *archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = ARRAY_SIZE(names), .action = "SCMP_ACT_ERRNO" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1,
				 .architectures = archs, .n_architectures = 3 };
	struct hull_err *err = NULL;

	assert_int_equal(confine_seccomp_validate(&s, &err), 0);
	assert_null(err);
}

/* ---- real filters ---------------------------------------------------------------- */

static char tmpdir[64];

static int child_mkdir_errno(void *arg)
{
	struct oci_seccomp *s = arg;
	char path[128];

	if (load_or_report(s, NULL) < 0)
		return 10;
	snprintf(path, sizeof(path), "%s/child", tmpdir);
	if (mkdir(path, 0700) == 0)
		return 11;
	return errno;
}

static void test_seccomp_errno_rule_blocks_mkdir_in_child_only(void **state)
{
	char *names[] = { "mkdir", "mkdirat" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 2, .action = "SCMP_ACT_ERRNO" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	char path[128];
	int st;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hull-test-seccomp-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	st = in_child(child_mkdir_errno, &s);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), EPERM);
	/* errnoRet chosen by the profile */
	sc.has_errno_ret = true;
	sc.errno_ret = 38;
	st = in_child(child_mkdir_errno, &s);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 38);
	/* the parent was never filtered */
	snprintf(path, sizeof(path), "%s/parent", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	rmdir(path);
	rmdir(tmpdir);
}

static int child_personality(void *arg)
{
	if (load_or_report(arg, NULL) < 0)
		return 10;
	errno = 0;
	/* arg0 == 0xffffffff (the "query" call) is denied ... */
	if (syscall(SYS_personality, 0xffffffffUL) != -1 || errno != ENOSYS)
		return 11;
	/* ... any other value passes */
	if (syscall(SYS_personality, (unsigned long)PER_LINUX) < 0)
		return 12;
	return 0;
}

static void test_seccomp_arg_condition_matches_only_that_value(void **state)
{
	char *names[] = { "personality" };
	struct oci_seccomp_arg a = { .index = 0, .value = 0xffffffffULL, .op = "SCMP_CMP_EQ" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 1, .action = "SCMP_ACT_ERRNO",
					  .has_errno_ret = true, .errno_ret = ENOSYS, .args = &a, .n_args = 1 };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };

	assert_child_ok(in_child(child_personality, &s));
}

static int umask_denied(mode_t m)
{
	errno = 0;
	return syscall(SYS_umask, (unsigned long)m) == -1 && errno == EDOM;
}

static int child_umask_or(void *arg)
{
	if (load_or_report(arg, NULL) < 0)
		return 10;
	/* two conditions on arg0: runc adds one rule each, so either matches */
	if (!umask_denied(011) || !umask_denied(022))
		return 11;
	if (umask_denied(033))
		return 12;
	return 0;
}

static void test_seccomp_same_arg_index_conditions_are_ored(void **state)
{
	char *names[] = { "umask" };
	struct oci_seccomp_arg a[] = { { .index = 0, .value = 011, .op = "SCMP_CMP_EQ" },
				       { .index = 0, .value = 022, .op = "SCMP_CMP_EQ" } };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 1, .action = "SCMP_ACT_ERRNO",
					  .has_errno_ret = true, .errno_ret = EDOM, .args = a, .n_args = 2 };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };

	assert_child_ok(in_child(child_umask_or, &s));
}

static int dup3_denied(int a, int b)
{
	int r;

	errno = 0;
	r = (int)syscall(SYS_dup3, a, b, 0);
	if (r >= 0)
		close(r);
	return r == -1 && errno == EDOM;
}

static int child_dup3_and(void *arg)
{
	if (load_or_report(arg, NULL) < 0)
		return 10;
	if (!dup3_denied(0, 100))
		return 11;
	if (dup3_denied(0, 101) || dup3_denied(1, 100))
		return 12;
	return 0;
}

static void test_seccomp_different_arg_conditions_are_anded(void **state)
{
	char *names[] = { "dup3" };
	struct oci_seccomp_arg a[] = { { .index = 0, .value = 0, .op = "SCMP_CMP_EQ" },
				       { .index = 1, .value = 100, .op = "SCMP_CMP_EQ" } };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 1, .action = "SCMP_ACT_ERRNO",
					  .has_errno_ret = true, .errno_ret = EDOM, .args = a, .n_args = 2 };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };

	assert_child_ok(in_child(child_dup3_and, &s));
}

struct op_case { const char *op; uint64_t v, v2; mode_t denied, allowed; };

static int child_op(void *arg)
{
	const struct op_case *c = arg;
	char *names[] = { "umask" };
	struct oci_seccomp_arg a = { .index = 0, .value = c->v, .value_two = c->v2, .op = (char *)c->op };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 1, .action = "SCMP_ACT_ERRNO",
					  .has_errno_ret = true, .errno_ret = EDOM, .args = &a, .n_args = 1 };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };

	if (load_or_report(&s, NULL) < 0)
		return 10;
	if (!umask_denied(c->denied))
		return 11;
	if (umask_denied(c->allowed))
		return 12;
	return 0;
}

static void test_seccomp_every_operator_filters_for_real(void **state)
{
	static const struct op_case cases[] = {
		{ "SCMP_CMP_EQ", 022, 0, 022, 023 },
		{ "SCMP_CMP_NE", 022, 0, 023, 022 },
		{ "SCMP_CMP_LT", 022, 0, 021, 022 },
		{ "SCMP_CMP_LE", 022, 0, 022, 023 },
		{ "SCMP_CMP_GT", 022, 0, 023, 022 },
		{ "SCMP_CMP_GE", 022, 0, 022, 021 },
		/* (arg & value) == valueTwo, as Docker's clone rule uses it */
		{ "SCMP_CMP_MASKED_EQ", 0700, 0700, 0777, 0077 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int st = in_child(child_op, (void *)&cases[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("%s: child status %#x", cases[i].op, st);
	}
}

static int child_getppid(void *arg)
{
	if (load_or_report(arg, NULL) < 0)
		return 10;
	syscall(SYS_getppid);
	return 0;
}

static void test_seccomp_kill_process_kills_with_sigsys(void **state)
{
	char *names[] = { "getppid" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 1, .action = "SCMP_ACT_KILL_PROCESS" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	int st = in_child(child_getppid, &s);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void test_seccomp_arches_flags_and_redundant_rules_load(void **state)
{
	char *names[] = { "socketcall", "getppid", "mkdir" };
	char *allow[] = { "getpid" };
	char *archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" };
	char *flagv[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC" };
	struct oci_seccomp_syscall sc[] = {
		{ .names = names, .n_names = 3, .action = "SCMP_ACT_LOG" },
		/* same action as the default: dropped like runc, not an error */
		{ .names = allow, .n_names = 1, .action = "SCMP_ACT_ALLOW" },
	};
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = sc, .n_syscalls = 2,
				 .architectures = archs, .n_architectures = 3, .flags = flagv, .n_flags = 3 };

	assert_child_ok(in_child(child_getppid, &s));
}

/* podman's default profile on this host, through the same code path. */
static char **strv_from_json(struct json_object *a, size_t *n)
{
	size_t len = a ? json_object_array_length(a) : 0;
	char **v = xcalloc(len + 1, sizeof(char *));

	for (size_t i = 0; i < len; i++)
		v[i] = xstrdup(json_object_get_string(json_object_array_get_idx(a, i)));
	*n = len;
	return v;
}

static int child_profile(void *arg)
{
	if (load_or_report(arg, NULL) < 0)
		return 10;
	/* the profile allows these; a wrong translation would kill or fail us */
	if (getpid() <= 0 || getppid() <= 0)
		return 11;
	errno = 0;
	/* and denies these: ERRNO (EPERM) with defaultErrnoRet ENOSYS for unknown */
	if (syscall(SYS_kexec_load, 0, 0, NULL, 0) != -1 || errno != EPERM)
		return 12;
	return 0;
}

static void test_seccomp_podman_default_profile_loads(void **state)
{
	const char *path = "/usr/share/containers/seccomp.json";
	struct json_object *root, *v, *arr;
	struct oci_seccomp s = { 0 };


	if (access(path, R_OK) < 0) {
		print_message("skip: %s not installed (podman's containers-common)\n", path);
		skip();
	}
	root = json_object_from_file(path);
	assert_non_null(root);
	s.default_action = (char *)json_object_get_string(json_object_object_get(root, "defaultAction"));
	if (json_object_object_get_ex(root, "defaultErrnoRet", &v)) {
		s.has_default_errno_ret = true;
		s.default_errno_ret = (uint32_t)json_object_get_int(v);
	}
	s.architectures = xcalloc(2, sizeof(char *));
	s.architectures[0] = "SCMP_ARCH_X86_64";
	s.architectures[1] = "SCMP_ARCH_X86";
	s.n_architectures = 2;
	arr = json_object_object_get(root, "syscalls");
	s.n_syscalls = json_object_array_length(arr);
	s.syscalls = xcalloc(s.n_syscalls, sizeof(*s.syscalls));
	for (size_t i = 0; i < s.n_syscalls; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *args;
		struct oci_seccomp_syscall *sc = &s.syscalls[i];

		sc->names = strv_from_json(json_object_object_get(o, "names"), &sc->n_names);
		sc->action = (char *)json_object_get_string(json_object_object_get(o, "action"));
		if (json_object_object_get_ex(o, "errnoRet", &v)) {
			sc->has_errno_ret = true;
			sc->errno_ret = (uint32_t)json_object_get_int(v);
		}
		args = json_object_object_get(o, "args");
		sc->n_args = args ? json_object_array_length(args) : 0;
		sc->args = xcalloc(sc->n_args + 1, sizeof(*sc->args));
		for (size_t k = 0; k < sc->n_args; k++) {
			struct json_object *ao = json_object_array_get_idx(args, k);
			sc->args[k].index = (uint32_t)json_object_get_int(json_object_object_get(ao, "index"));
			sc->args[k].value = (uint64_t)json_object_get_uint64(json_object_object_get(ao, "value"));
			sc->args[k].value_two = (uint64_t)json_object_get_uint64(json_object_object_get(ao, "valueTwo"));
			sc->args[k].op = (char *)json_object_get_string(json_object_object_get(ao, "op"));
		}
	}
	assert_int_equal(confine_seccomp_validate(&s, NULL), 0);
	assert_child_ok(in_child(child_profile, &s));
	for (size_t i = 0; i < s.n_syscalls; i++) {
		strv_free(s.syscalls[i].names);
		free(s.syscalls[i].args);
	}
	free(s.syscalls);
	free(s.architectures);
	json_object_put(root);
}

/* ---- NOTIFY + listener -------------------------------------------------------- */

#define STATE_JSON "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":1,\"state\":{}}"

static int child_notify(void *arg)
{
	struct oci_seccomp *s = arg;
	struct hull_err *err = NULL;
	int fd = -1;

	if (load_or_report(s, &fd) < 0)
		return 10;
	if (fd < 0)
		return 11;
	if (confine_seccomp_send_listener(s, fd, STATE_JSON, &err) < 0) {
		fprintf(stderr, "send: %s\n", err->msg);
		return 12;
	}
	close(fd);
	/* the parent answers this one with 4242 */
	return syscall(SYS_getppid) == 4242 ? 0 : 13;
}

static void test_seccomp_notify_fd_reaches_listener_and_works(void **state)
{
	char *names[] = { "getppid" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 1, .action = "SCMP_ACT_NOTIFY" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/hull-test-notify-XXXXXX", buf[512] = { 0 };
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	int lsock, conn, nfd, st;
	pid_t pid;
	ssize_t n;

	if (seccomp_api_get() < 5) {
		print_message("skip: libseccomp API level %u has no user notification\n", seccomp_api_get());
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/l.sock", dir);
	s.listener_path = addr.sun_path;
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lsock >= 0);
	assert_int_equal(bind(lsock, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(lsock, 1), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_notify(&s));
	conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	assert_true(conn >= 0);
	n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	assert_true(n > 0);
	assert_string_equal(buf, STATE_JSON);
	assert_non_null(CMSG_FIRSTHDR(&msg));
	assert_int_equal(CMSG_FIRSTHDR(&msg)->cmsg_type, SCM_RIGHTS);
	memcpy(&nfd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));

	assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
	assert_int_equal(seccomp_notify_receive(nfd, req), 0);
	assert_int_equal(req->pid, pid);
	assert_int_equal(req->data.nr, SYS_getppid);
	resp->id = req->id;
	resp->val = 4242;
	resp->error = 0;
	resp->flags = 0;
	assert_int_equal(seccomp_notify_respond(nfd, resp), 0);
	seccomp_notify_free(req, resp);

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_child_ok(st);
	close(nfd);
	close(conn);
	close(lsock);
	unlink(addr.sun_path);
	rmdir(dir);
}

static int child_notify_tsync(void *arg)
{
	int fd = -1;

	if (load_or_report(arg, &fd) < 0)
		return 10;
	return fd >= 0 ? 0 : 11;
}

/* The kernel refuses TSYNC with a listener unless TSYNC_ESRCH is also set;
 * libseccomp >= 2.5 (API level 6) does that for us. */
static void test_seccomp_notify_with_tsync_flag_loads(void **state)
{
	char *names[] = { "getppid" };
	char *flagv[] = { "SECCOMP_FILTER_FLAG_TSYNC" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 1, .action = "SCMP_ACT_NOTIFY" };
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1,
				 .flags = flagv, .n_flags = 1, .listener_path = "/unused" };

	if (seccomp_api_get() < 6) {
		print_message("skip: libseccomp API level %u cannot combine TSYNC and notify\n", seccomp_api_get());
		skip();
	}
	assert_child_ok(in_child(child_notify_tsync, &s));
}

static void test_seccomp_send_listener_reports_connect_failure(void **state)
{
	struct oci_seccomp s = { .default_action = "SCMP_ACT_ALLOW", .listener_path = "/nonexistent/hull.sock" };
	struct hull_err *err = NULL;

	assert_true(confine_seccomp_send_listener(&s, 0, "{}", &err) < 0);
	assert_string_equal(err->msg, "seccomp listener: connect /nonexistent/hull.sock: No such file or directory");
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_action_table_maps_every_action),
		cmocka_unit_test(test_seccomp_operator_table_maps_every_operator),
		cmocka_unit_test(test_seccomp_arch_and_flag_tables),
		cmocka_unit_test(test_seccomp_validate_names_the_bad_field),
		cmocka_unit_test(test_seccomp_validate_accepts_other_arch_names),
		cmocka_unit_test(test_seccomp_errno_rule_blocks_mkdir_in_child_only),
		cmocka_unit_test(test_seccomp_arg_condition_matches_only_that_value),
		cmocka_unit_test(test_seccomp_same_arg_index_conditions_are_ored),
		cmocka_unit_test(test_seccomp_different_arg_conditions_are_anded),
		cmocka_unit_test(test_seccomp_every_operator_filters_for_real),
		cmocka_unit_test(test_seccomp_kill_process_kills_with_sigsys),
		cmocka_unit_test(test_seccomp_arches_flags_and_redundant_rules_load),
		cmocka_unit_test(test_seccomp_podman_default_profile_loads),
		cmocka_unit_test(test_seccomp_notify_fd_reaches_listener_and_works),
		cmocka_unit_test(test_seccomp_notify_with_tsync_flag_loads),
		cmocka_unit_test(test_seccomp_send_listener_reports_connect_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
