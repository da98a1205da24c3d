/* SPDX-License-Identifier: Apache-2.0 */
/* net/ taps in a network namespace of this test's own (unshare), so the
 * machine's network is never touched: create (single and multiqueue, with an
 * owner), open with each error named (missing, busy, not a tap, permission
 * denied), queue fallback and TUNSETQUEUE, link lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "net/net.h"

#include <sched.h>
#include <sys/wait.h>

static int setup(void **state)
{
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		print_message("skipped: /dev/net/tun: %s\n", strerror(errno));
		*state = NULL;
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		print_message("skipped: unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		*state = NULL;
		return 0;
	}
	*state = (void *)1;
	return 0;
}

#define NEED_NETNS(state)                                      \
	do {                                                   \
		if (!*(state))                                 \
			skip();                                \
	} while (0)

/* r is evaluated (the call made) before *ep is read */
static void expect_err(int r, struct hull_err **ep, const char *msg)
{
	assert_true(r < 0);
	assert_non_null(*ep);
	assert_string_equal((*ep)->msg, msg);
	hull_err_free(ep);
}

static void test_tap_open_names_each_error(void **state)
{
	struct hull_err *e = NULL;
	int fds[3] = { -1, -1, -1 };
	unsigned int got = 0;

	NEED_NETNS(state);
	expect_err(net_tap_open("nosuch0", 1, fds, &got, &e), &e, "tap nosuch0: no such network interface");
	expect_err(net_tap_open("lo", 1, fds, &got, &e), &e, "tap lo: not a tap device");
	assert_int_equal(net_tap_create("sq0", false, (uid_t)-1, (gid_t)-1, &e), 0);
	assert_int_equal(net_tap_open("sq0", 1, fds, &got, &e), 0);
	assert_int_equal(got, 1);
	expect_err(net_tap_open("sq0", 1, fds + 1, &got, &e), &e,
		   "tap sq0: busy (a single-queue tap is already attached elsewhere)");
	close(fds[0]);
	expect_err(net_tap_create("sq0", false, (uid_t)-1, (gid_t)-1, &e), &e, "tap sq0: a link of that name exists");
}

/* Not the tap's owner and no CAP_NET_ADMIN (a child switched to nobody). */
static void test_tap_open_permission_denied_for_other_user(void **state)
{
	struct hull_err *e = NULL;
	int p[2], st;
	char msg[256] = { 0 };
	pid_t pid;

	NEED_NETNS(state);
	assert_int_equal(net_tap_create("own0", false, 4242, (gid_t)-1, &e), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;
		unsigned int got;

		close(p[0]);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		if (net_tap_open("own0", 1, &fd, &got, &e) == 0)
			_exit(3);
		if (write(p[1], e->msg, strlen(e->msg)) < 0)
			_exit(4);
		_exit(0);
	}
	close(p[1]);
	assert_true(read(p[0], msg, sizeof(msg) - 1) > 0);
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* /dev/net/tun is 0666 on most hosts and 0600 on some: either way it is EPERM/EACCES */
	assert_string_equal(msg, "tap own0: permission denied (neither its owner or group, nor CAP_NET_ADMIN)");
}

static void test_multiqueue_tap_gives_queues_single_queue_tap_one(void **state)
{
	struct hull_err *e = NULL;
	int fds[3] = { -1, -1, -1 };
	unsigned int got = 0;
	struct net_link_info li;

	NEED_NETNS(state);
	assert_int_equal(net_tap_create("mq0", true, (uid_t)-1, (gid_t)-1, &e), 0);
	assert_int_equal(net_tap_open("mq0", 3, fds, &got, &e), 0);
	assert_int_equal(got, 3);
	assert_int_equal(net_tap_set_queue(fds[2], false, &e), 0);
	assert_int_equal(net_tap_set_queue(fds[2], true, &e), 0);
	assert_int_equal(net_tap_set_vnet_hdr(fds[0], 12, 0, &e), 0);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	/* a single-queue tap asked for three queues: one */
	assert_int_equal(net_tap_create("sq1", false, (uid_t)-1, (gid_t)-1, &e), 0);
	assert_int_equal(net_tap_open("sq1", 3, fds, &got, &e), 0);
	assert_int_equal(got, 1);
	close(fds[0]);
	assert_int_equal(net_link_get("mq0", &li, &e), 0);
	assert_int_equal(li.mtu, 1500);
	assert_true(li.ifindex > 0);
	assert_false(li.up);
	assert_int_equal(net_link_up("mq0", &e), 0);
	assert_int_equal(net_link_get("mq0", &li, &e), 0);
	assert_true(li.up);
	assert_true(li.mac[0] | li.mac[1] | li.mac[2] | li.mac[3] | li.mac[4] | li.mac[5]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_open_names_each_error),
		cmocka_unit_test(test_tap_open_permission_denied_for_other_user),
		cmocka_unit_test(test_multiqueue_tap_gives_queues_single_queue_tap_one),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
