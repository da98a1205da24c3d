/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's agent client against a fake VMM + agent on a Unix socket (no
 * KVM): the hybrid vsock handshake, a request and its response, the stdio
 * relay up to EXIT, and a hostile or absent peer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "vmcontainer/internal.h"
#include "guest/guest.h"

#include <json-c/json.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static char dir[] = "/tmp/hull-test-agent-XXXXXX";
static int dir_fd = -1;

/* What the fake does with one connection after reading "CONNECT 1024\n". */
enum script { S_REFUSE, S_OK_RESPONSE, S_ERROR_RESPONSE, S_STREAM, S_GARBAGE, S_PIDS };

/* The "pids" of S_PIDS's response (JSON). */
static const char *pids_json = "[]";

static int listen_here(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" VMC_VSOCK_SOCK, dir);
	unlink(sa.sun_path);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	return l;
}

static void fake_one(int l, enum script s)
{
	int c = accept(l, NULL, NULL);
	char line[32] = { 0 };
	struct guest_frame f;
	struct json_object *req = NULL, *resp;
	const char *op;

	for (size_t n = 0; n < sizeof(line) - 1 && read(c, line + n, 1) == 1 && line[n] != '\n'; n++)
		;
	if (strcmp(line, "CONNECT 1024\n") != 0 || s == S_REFUSE)
		_exit(s == S_REFUSE ? 0 : 2);
	if (write(c, "OK 7\n", 5) != 5)
		_exit(3);
	if (s == S_GARBAGE) {
		(void)write(c, "\xff\xff\xff\xff\x01\0\0\0", 8); /* a 4 GiB frame */
		_exit(0);
	}
	if (guest_frame_read(c, &f, NULL) != 1 || guest_json_parse(&f, GUEST_FRAME_REQUEST, &req, NULL) < 0 ||
	    guest_request_check(req, &op, NULL) < 0)
		_exit(4);
	if (s == S_ERROR_RESPONSE) {
		resp = guest_response_error(ENOENT, "container \"x\" does not exist\nsecond line");
	} else {
		resp = guest_response_ok();
		json_object_object_add(resp, "op", json_object_new_string(op));
		if (s == S_PIDS)
			json_object_object_add(resp, "pids", json_tokener_parse(pids_json));
	}
	if (guest_json_write(c, GUEST_FRAME_RESPONSE, resp, NULL) < 0)
		_exit(5);
	if (s == S_STREAM) {
		/* echo the host's stdin to stdout until its EOF, then exit 7 */
		guest_frame_write(c, GUEST_FRAME_STDERR, "err\n", 4, NULL);
		for (;;) {
			if (guest_frame_read(c, &f, NULL) != 1 || f.type != GUEST_FRAME_STDIN)
				_exit(6);
			if (f.len == 0)
				break;
			guest_frame_write(c, GUEST_FRAME_STDOUT, f.data, f.len, NULL);
			guest_frame_release(&f);
		}
		guest_exit_write(c, 7, NULL);
	}
	_exit(0);
}

static pid_t fake(enum script s)
{
	int l = listen_here();
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		fake_one(l, s);
	close(l);
	return pid;
}

static void reap(pid_t pid)
{
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return dir_fd < 0;
}

static int teardown(void **state)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/" VMC_VSOCK_SOCK, dir);
	unlink(p);
	rmdir(dir);
	close(dir_fd);
	return 0;
}

static void test_agent_call_ok_response(void **state)
{
	pid_t pid = fake(S_OK_RESPONSE);
	struct json_object *resp = NULL, *req = guest_request_new("start");
	struct hull_err *err = NULL;

	json_object_object_add(req, "id", json_object_new_string("x"));
	assert_int_equal(vmc_agent_call(dir_fd, req, &resp, NULL, &err), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(resp, "op")), "start");
	json_object_put(resp);
	reap(pid);
}

static void test_agent_call_error_response_is_one_line_with_its_errno(void **state)
{
	pid_t pid = fake(S_ERROR_RESPONSE);
	struct json_object *resp = NULL;
	struct hull_err *err = NULL;

	assert_true(vmc_agent_call(dir_fd, guest_request_new("kill"), &resp, NULL, &err) < 0);
	assert_null(resp);
	assert_int_equal(err->errnum, ENOENT);
	assert_non_null(strstr(err->msg, "does not exist"));
	assert_null(strchr(err->msg, '\n'));
	hull_err_free(&err);
	reap(pid);
}

static void test_agent_connect_retryable_when_nothing_listens(void **state)
{
	struct hull_err *err = NULL;
	pid_t pid;

	/* no socket at all: the VMM is not up yet */
	assert_true(vmc_agent_connect(dir_fd, &err) < 0);
	assert_int_equal(err->errnum, EAGAIN);
	hull_err_free(&err);
	/* the VMM closes: the guest does not listen yet */
	pid = fake(S_REFUSE);
	assert_true(vmc_agent_connect(dir_fd, &err) < 0);
	assert_int_equal(err->errnum, EAGAIN);
	hull_err_free(&err);
	reap(pid);
}

static void test_agent_hostile_frame_is_an_error_not_a_crash(void **state)
{
	pid_t pid = fake(S_GARBAGE);
	struct json_object *resp = NULL;
	struct hull_err *err = NULL;

	assert_true(vmc_agent_call(dir_fd, guest_request_new("ps"), &resp, NULL, &err) < 0);
	assert_null(resp);
	hull_err_free(&err);
	reap(pid);
}

static void test_relay_stdio_until_exit(void **state)
{
	pid_t pid = fake(S_STREAM);
	struct json_object *resp = NULL;
	struct hull_err *err = NULL;
	int s = -1, in[2], out[2], errp[2], code = -1;
	char buf[64] = { 0 };

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(errp), 0);
	assert_int_equal(vmc_agent_call(dir_fd, guest_request_new("exec"), &resp, &s, &err), 0);
	json_object_put(resp);
	assert_int_equal(write(in[1], "hello\n", 6), 6);
	close(in[1]);
	assert_int_equal(vmc_relay(s, in[0], out[1], errp[1], -1, -1, NULL, NULL, &code, &err), 0);
	assert_int_equal(code, 7);
	close(out[1]);
	close(errp[1]);
	assert_int_equal(read(out[0], buf, sizeof(buf)), 6);
	assert_string_equal(buf, "hello\n");
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(errp[0], buf, sizeof(buf)), 4);
	assert_string_equal(buf, "err\n");
	close(s);
	close(in[0]);
	close(out[0]);
	close(errp[0]);
	reap(pid);
}

/* ps through vmcontainer_ops: the guest's pids, and a hostile list refused. */
static void test_ps_takes_pids_and_refuses_hostile_ones(void **state)
{
	static const char *const bad[] = { "[1,\"2\"]", "[0]", "[-5]", "[4294967297]", "[1.5]", "{}", "null" };
	/* running: its pid (this process) alive with its start time */
	struct container c = { .id = (char *)"x", .dir_fd = dir_fd, .pid = getpid(),
			       .pid_start = proc_start_time(getpid()) };
	struct container stopped = { .id = (char *)"x", .dir_fd = dir_fd };
	struct hull_err *err = NULL;
	pid_t *pids = NULL;
	size_t n = 9;
	pid_t pid;

	/* stopped: none, as for a container, and the agent is not asked */
	assert_int_equal(vmcontainer_ops.ps(NULL, &stopped, &pids, &n, &err), 0);
	assert_null(pids);
	assert_int_equal(n, 0);
	pids_json = "[1,42,7]";
	pid = fake(S_PIDS);
	assert_int_equal(vmcontainer_ops.ps(NULL, &c, &pids, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[1], 42);
	free(pids);
	reap(pid);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		pids_json = bad[i];
		pid = fake(S_PIDS);
		assert_true(vmcontainer_ops.ps(NULL, &c, &pids, &n, &err) < 0);
		assert_null(pids);
		assert_int_equal(n, 0);
		hull_err_free(&err);
		reap(pid);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_call_ok_response),
		cmocka_unit_test(test_agent_call_error_response_is_one_line_with_its_errno),
		cmocka_unit_test(test_agent_connect_retryable_when_nothing_listens),
		cmocka_unit_test(test_agent_hostile_frame_is_an_error_not_a_crash),
		cmocka_unit_test(test_relay_stdio_until_exit),
		cmocka_unit_test(test_ps_takes_pids_and_refuses_hostile_ones),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
