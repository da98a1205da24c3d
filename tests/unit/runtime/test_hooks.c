/* SPDX-License-Identifier: Apache-2.0 */
/* hooks_run: real hooks via /bin/sh, stdin, args/env, failures, timeouts, fds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <time.h>

#include <sys/wait.h>

#include "confine/confine.h"
#include "runtime/runtime.h"

#define STATE "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42,\"bundle\":\"/b\"}"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/hull-test-hooks-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	char *s = NULL;

	if (read_file_at(AT_FDCWD, path, &s, NULL, 0, NULL) < 0)
		return NULL;
	return s;
}

/* One hook running `sh -c script` with OUT=<dir>/<name> in its env. */
struct sh_hook {
	char *args[6];
	char *env[3];
	char out[128];
	char envout[160];
};

static void sh_hook_init(struct sh_hook *s, struct oci_hook *h, const char *script, const char *name)
{
	snprintf(s->out, sizeof(s->out), "%s/%s", dir, name);
	snprintf(s->envout, sizeof(s->envout), "OUT=%s", s->out);
	s->args[0] = "sh";
	s->args[1] = "-c";
	s->args[2] = (char *)script;
	s->args[3] = NULL;
	s->env[0] = s->envout;
	s->env[1] = "PATH=/usr/bin:/bin";
	s->env[2] = NULL;
	*h = (struct oci_hook){ .path = "/bin/sh", .args = s->args, .env = s->env };
}

static void test_hooks_state_json_arrives_on_stdin(void **state)
{
	struct sh_hook s;
	struct oci_hook h;
	struct oci_spec spec = { 0 };
	struct hull_err *err = NULL;
	char *got;

	sh_hook_init(&s, &h, "cat > \"$OUT\"", "stdin");
	spec.hooks[OCI_HOOK_CREATE_RUNTIME] = (struct oci_hook_list){ &h, 1 };
	assert_int_equal(hooks_run(&spec, OCI_HOOK_CREATE_RUNTIME, STATE, &err), 0);
	assert_null(err);
	got = slurp(s.out);
	assert_non_null(got);
	assert_string_equal(got, STATE);
	free(got);
}

static void test_hooks_args_and_env_are_passed(void **state)
{
	struct sh_hook s;
	struct oci_hook h;
	struct oci_spec spec = { 0 };
	char *got;

	sh_hook_init(&s, &h, "printf '%s|%s|%s|%s' \"$0\" \"$1\" \"$FOO\" \"$HOME\" > \"$OUT\"", "args");
	s.args[3] = "zero";
	s.args[4] = "one";
	s.args[5] = NULL;
	s.env[1] = "FOO=bar baz";
	assert_int_equal(hooks_run(&spec, OCI_HOOK_PRESTART, STATE, NULL), 0); /* no hooks: no-op */
	spec.hooks[OCI_HOOK_PRESTART] = (struct oci_hook_list){ &h, 1 };
	assert_int_equal(hooks_run(&spec, OCI_HOOK_PRESTART, STATE, NULL), 0);
	got = slurp(s.out);
	assert_non_null(got);
	/* exactly the env given: HOME from our environment is not there */
	assert_string_equal(got, "zero|one|bar baz|");
	free(got);
}

static void test_hooks_exit_status_names_kind_index_and_path(void **state)
{
	char *t_args[] = { "/bin/true", NULL };
	struct oci_hook h[] = { { .path = "/bin/true", .args = t_args }, { .path = "/bin/false" } };
	struct oci_spec spec = { 0 };
	struct hull_err *err = NULL;

	spec.hooks[OCI_HOOK_PRESTART] = (struct oci_hook_list){ h, 2 };
	assert_true(hooks_run(&spec, OCI_HOOK_PRESTART, STATE, &err) < 0);
	assert_string_equal(err->msg, "hook prestart[1] /bin/false: exit status 1");
	hull_err_free(&err);
}

static void test_hooks_stop_at_first_failure(void **state)
{
	struct sh_hook s;
	struct oci_hook h[2];
	struct oci_spec spec = { 0 };
	struct hull_err *err = NULL;

	h[0] = (struct oci_hook){ .path = "/bin/false" };
	sh_hook_init(&s, &h[1], "touch \"$OUT\"", "second");
	spec.hooks[OCI_HOOK_CREATE_CONTAINER] = (struct oci_hook_list){ h, 2 };
	assert_true(hooks_run(&spec, OCI_HOOK_CREATE_CONTAINER, STATE, &err) < 0);
	assert_string_equal(err->msg, "hook createContainer[0] /bin/false: exit status 1");
	assert_int_equal(access(s.out, F_OK), -1);
	hull_err_free(&err);
}

static void test_hooks_timeout_kills_the_hook(void **state)
{
	char *args[] = { "sleep", "30", NULL };
	struct oci_hook h = { .path = "/bin/sleep", .args = args, .has_timeout = true, .timeout = 1 };
	struct oci_spec spec = { 0 };
	struct hull_err *err = NULL;
	struct timespec a, b;

	spec.hooks[OCI_HOOK_CREATE_RUNTIME] = (struct oci_hook_list){ &h, 1 };
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_true(hooks_run(&spec, OCI_HOOK_CREATE_RUNTIME, STATE, &err) < 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_string_equal(err->msg, "hook createRuntime[0] /bin/sleep: timed out after 1s");
	assert_true(b.tv_sec - a.tv_sec < 10);
	hull_err_free(&err);
}

static void test_hooks_killed_by_signal_is_reported(void **state)
{
	struct sh_hook s;
	struct oci_hook h;
	struct oci_spec spec = { 0 };
	struct hull_err *err = NULL;

	sh_hook_init(&s, &h, "kill -TERM $$", "sig");
	spec.hooks[OCI_HOOK_POSTSTOP] = (struct oci_hook_list){ &h, 1 };
	assert_true(hooks_run(&spec, OCI_HOOK_POSTSTOP, STATE, &err) < 0);
	assert_string_equal(err->msg, "hook poststop[0] /bin/sh: killed by signal 15 SIGTERM");
	hull_err_free(&err);
}

static void test_hooks_missing_binary_reports_exec_error(void **state)
{
	struct oci_hook h = { .path = "/nonexistent/hook" };
	struct oci_spec spec = { 0 };
	struct hull_err *err = NULL;

	spec.hooks[OCI_HOOK_POSTSTART] = (struct oci_hook_list){ &h, 1 };
	assert_true(hooks_run(&spec, OCI_HOOK_POSTSTART, STATE, &err) < 0);
	assert_string_equal(err->msg, "hook poststart[0] /nonexistent/hook: exec: No such file or directory");
	hull_err_free(&err);
}

static void test_hooks_inherit_no_fds_and_write_stdout_to_stderr(void **state)
{
	struct sh_hook s;
	struct oci_hook h;
	struct oci_spec spec = { 0 };
	char outp[160], errp[160];
	int leak, saved1, saved2, o, e;
	char *got;

	/* a descriptor the runtime forgot to mark CLOEXEC */
	leak = dup2(0, 57);
	assert_int_equal(leak, 57);
	assert_int_equal(fcntl(leak, F_SETFD, 0), 0);
	snprintf(outp, sizeof(outp), "%s/stdout", dir);
	snprintf(errp, sizeof(errp), "%s/stderr", dir);
	o = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	e = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(o >= 0 && e >= 0);

	sh_hook_init(&s, &h, "echo to-stdout; echo to-stderr >&2; ls /proc/self/fd > \"$OUT\"", "fds");
	spec.hooks[OCI_HOOK_START_CONTAINER] = (struct oci_hook_list){ &h, 1 };
	fflush(stdout);
	fflush(stderr);
	saved1 = dup(1);
	saved2 = dup(2);
	dup2(o, 1);
	dup2(e, 2);
	int r = hooks_run(&spec, OCI_HOOK_START_CONTAINER, STATE, NULL);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1), close(saved2), close(o), close(e), close(leak);
	assert_int_equal(r, 0);

	got = slurp(outp);
	assert_string_equal(got, "");
	free(got);
	got = slurp(errp);
	assert_string_equal(got, "to-stdout\nto-stderr\n");
	free(got);
	/* ls sees 0, 1, 2 (its stdout is the file), and its own dir fd 3 */
	got = slurp(s.out);
	assert_string_equal(got, "0\n1\n2\n3\n");
	free(got);
}

/* Bigger than a pipe buffer: a hook that never reads stdin must not block us,
 * and one that reads gets every byte. */
static void test_hooks_large_state_with_and_without_reader(void **state)
{
	size_t len = 300000;
	char *big = xmalloc(len + 1);
	struct sh_hook s;
	struct oci_hook h[2];
	struct oci_spec spec = { 0 };
	char *got;

	memset(big, 'x', len);
	big[len] = '\0';
	h[0] = (struct oci_hook){ .path = "/bin/true" };
	sh_hook_init(&s, &h[1], "cat > \"$OUT\"", "big");
	spec.hooks[OCI_HOOK_PRESTART] = (struct oci_hook_list){ h, 2 };
	assert_int_equal(hooks_run(&spec, OCI_HOOK_PRESTART, big, NULL), 0);
	got = slurp(s.out);
	assert_non_null(got);
	assert_int_equal(strlen(got), len);
	assert_string_equal(got, big);
	free(got);
	free(big);
}

/* startContainer hooks run inside the container, where the profile may deny
 * pidfd_open: the hook still runs, fails and times out the same way. */
static int child_without_pidfd(void)
{
	char *names[] = { "pidfd_open" };
	struct oci_seccomp_syscall sc = { .names = names, .n_names = 1, .action = "SCMP_ACT_ERRNO",
					  .has_errno_ret = true, .errno_ret = ENOSYS };
	struct oci_seccomp sec = { .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1 };
	char *args[] = { "sleep", "30", NULL };
	struct oci_hook ok = { .path = "/bin/true" };
	struct oci_hook bad = { .path = "/bin/false" };
	struct oci_hook slow = { .path = "/bin/sleep", .args = args, .has_timeout = true, .timeout = 1 };
	struct oci_spec spec = { 0 };
	struct hull_err *err = NULL;

	if (confine_seccomp_load(&sec, NULL, NULL) < 0)
		return 10;
	spec.hooks[OCI_HOOK_START_CONTAINER] = (struct oci_hook_list){ &ok, 1 };
	if (hooks_run(&spec, OCI_HOOK_START_CONTAINER, STATE, NULL) < 0)
		return 11;
	spec.hooks[OCI_HOOK_START_CONTAINER] = (struct oci_hook_list){ &bad, 1 };
	if (hooks_run(&spec, OCI_HOOK_START_CONTAINER, STATE, &err) == 0 ||
	    strcmp(err->msg, "hook startContainer[0] /bin/false: exit status 1") != 0)
		return 12;
	hull_err_free(&err);
	spec.hooks[OCI_HOOK_START_CONTAINER] = (struct oci_hook_list){ &slow, 1 };
	if (hooks_run(&spec, OCI_HOOK_START_CONTAINER, STATE, &err) == 0 ||
	    strcmp(err->msg, "hook startContainer[0] /bin/sleep: timed out after 1s") != 0)
		return 13;
	hull_err_free(&err);
	return 0;
}

static void test_hooks_work_when_pidfd_open_is_denied(void **state)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_without_pidfd());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hooks_state_json_arrives_on_stdin),
		cmocka_unit_test(test_hooks_args_and_env_are_passed),
		cmocka_unit_test(test_hooks_exit_status_names_kind_index_and_path),
		cmocka_unit_test(test_hooks_stop_at_first_failure),
		cmocka_unit_test(test_hooks_timeout_kills_the_hook),
		cmocka_unit_test(test_hooks_killed_by_signal_is_reported),
		cmocka_unit_test(test_hooks_missing_binary_reports_exec_error),
		cmocka_unit_test(test_hooks_inherit_no_fds_and_write_stdout_to_stderr),
		cmocka_unit_test(test_hooks_large_state_with_and_without_reader),
		cmocka_unit_test(test_hooks_work_when_pidfd_open_is_denied),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
