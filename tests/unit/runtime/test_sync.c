/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime/sync.c against hostile packets: each case is sent raw on a
 * SOCK_SEQPACKET pair and must give the expected result, hand the caller an
 * fd only on success for a type that carries one, and leave no fd open
 * (/proc/self/fd counted before and after).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runtime/internal.h"

#include <dirent.h>

static size_t count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	size_t n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* One raw packet with nfds fresh fds (of /dev/null), closed here after. */
static void send_raw(int sock, const void *buf, size_t len, size_t nfds)
{
	union { char buf[CMSG_SPACE(64 * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[64];

	assert_true(nfds <= 64);
	for (size_t i = 0; i < nfds; i++)
		assert_true((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
	if (nfds) {
		struct cmsghdr *cm;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	assert_true(sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

enum shape { WHOLE, SHORT, LONG, EMPTY };

struct msg_case {
	const char *name;
	uint32_t type;
	enum shape shape;
	size_t nfds;
	int want;           /* sync_recv's result */
};

static const struct msg_case msg_cases[] = {
	{ "plain message", SYNC_READY, WHOLE, 0, 0 },
	{ "console with its fd", SYNC_CONSOLE, WHOLE, 1, 0 },
	{ "seccomp with its fd", SYNC_SECCOMP, WHOLE, 1, 0 },
	{ "short packet", SYNC_READY, SHORT, 0, -EBADMSG },
	{ "short packet with an fd", SYNC_CONSOLE, SHORT, 1, -EBADMSG },
	{ "oversized packet", SYNC_READY, LONG, 0, -EMSGSIZE },
	{ "oversized packet with an fd", SYNC_CONSOLE, LONG, 1, -EMSGSIZE },
	{ "empty packet", SYNC_READY, EMPTY, 0, -EPIPE },
	{ "fd on a type without fds", SYNC_PID, WHOLE, 1, -EBADMSG },
	{ "fd on an error", SYNC_ERROR, WHOLE, 1, -EBADMSG },
	{ "fd on an unknown type", 999, WHOLE, 1, -EBADMSG },
	{ "console without its fd", SYNC_CONSOLE, WHOLE, 0, -EBADMSG },
	{ "seccomp without its fd", SYNC_SECCOMP, WHOLE, 0, -EBADMSG },
	{ "two fds on the console", SYNC_CONSOLE, WHOLE, 2, -EBADMSG },
	{ "unexpected fds", SYNC_READY, WHOLE, 5, -EBADMSG },
	{ "truncated control message", SYNC_CONSOLE, WHOLE, SYNC_MAX_FDS + 8, -EMSGSIZE },
};

static void send_case(int sock, const struct msg_case *c)
{
	struct { struct sync_msg m; char extra[8]; } pkt;
	size_t len = c->shape == WHOLE ? sizeof(pkt.m)
		   : c->shape == SHORT ? sizeof(pkt.m) - 1
		   : c->shape == LONG ? sizeof(pkt) : 0;

	memset(&pkt, 'x', sizeof(pkt));
	pkt.m.type = c->type;
	send_raw(sock, &pkt, len, c->nfds);
}

static void test_sync_recv_hostile_packets(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(msg_cases); i++) {
		const struct msg_case *c = &msg_cases[i];
		size_t before = count_fds();
		struct sync_msg m;
		int sv[2], fd = 12345, r;

		pair(sv);
		send_case(sv[1], c);
		r = sync_recv(sv[0], &m, &fd);
		if (r != c->want)
			fail_msg("%s: sync_recv returned %d, want %d", c->name, r, c->want);
		if (r == 0 && c->nfds) {
			if (fd < 0)
				fail_msg("%s: no fd", c->name);
			close(fd);
		} else if (fd != -1) {
			fail_msg("%s: fd %d handed out with result %d", c->name, fd, r);
		}
		if (r == 0 && m.text[sizeof(m.text) - 1] != '\0')
			fail_msg("%s: text not terminated", c->name);
		close(sv[0]);
		close(sv[1]);
		if (count_fds() != before)
			fail_msg("%s: %zu fds open before, %zu after", c->name, before, count_fds());
	}
}

/* The same packets when the caller wants no fd: nothing stays open either. */
static void test_sync_recv_without_fd_pointer_closes_everything(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(msg_cases); i++) {
		const struct msg_case *c = &msg_cases[i];
		size_t before = count_fds();
		struct sync_msg m;
		int sv[2];

		pair(sv);
		send_case(sv[1], c);
		assert_int_equal(sync_recv(sv[0], &m, NULL), c->want);
		close(sv[0]);
		close(sv[1]);
		if (count_fds() != before)
			fail_msg("%s: %zu fds open before, %zu after", c->name, before, count_fds());
	}
}

static void test_sync_recv_eof(void **state)
{
	size_t before = count_fds();
	struct sync_msg m;
	int sv[2], fd = 12345;

	pair(sv);
	close(sv[1]);
	assert_int_equal(sync_recv(sv[0], &m, &fd), -EPIPE);
	assert_int_equal(fd, -1);
	close(sv[0]);
	assert_int_equal(count_fds(), before);
}

/* sync_expect: a wrong type or an error fails and hands out no fd. */
static void test_sync_expect_wrong_type_gives_no_fd(void **state)
{
	static const struct msg_case cases[] = {
		{ "console instead of go", SYNC_CONSOLE, WHOLE, 1, -1 },
		{ "error instead of go", SYNC_ERROR, WHOLE, 0, -1 },
		{ "pid instead of go", SYNC_PID, WHOLE, 0, -1 },
		{ "go", SYNC_GO, WHOLE, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t before = count_fds();
		struct hull_err *err = NULL;
		struct sync_msg m;
		int sv[2], fd = 12345, r;

		pair(sv);
		send_case(sv[1], &cases[i]);
		r = sync_expect(sv[0], SYNC_GO, &m, &fd, &err);
		if (r != cases[i].want)
			fail_msg("%s: sync_expect returned %d", cases[i].name, r);
		assert_int_equal(fd, -1);
		assert_true((err != NULL) == (r < 0));
		hull_err_free(&err);
		close(sv[0]);
		close(sv[1]);
		if (count_fds() != before)
			fail_msg("%s: %zu fds open before, %zu after", cases[i].name, before, count_fds());
	}
}

/* sync_send refuses an fd on a type that carries none, and the reverse. */
static void test_sync_send_checks_fd_against_type(void **state)
{
	int sv[2];

	pair(sv);
	assert_int_equal(sync_send(sv[1], SYNC_PID, 1, sv[1], NULL), -EINVAL);
	assert_int_equal(sync_send(sv[1], SYNC_CONSOLE, 0, -1, NULL), -EINVAL);
	assert_int_equal(sync_send(sv[1], SYNC_READY, 0, -1, NULL), 0);
	/* A peer gone with a packet unread, and one gone with none. */
	close(sv[0]);
	assert_int_equal(sync_send(sv[1], SYNC_READY, 0, -1, NULL), -EPIPE);
	close(sv[1]);
	pair(sv);
	close(sv[0]);
	assert_int_equal(sync_send(sv[1], SYNC_READY, 0, -1, NULL), -EPIPE);
	close(sv[1]);
}

struct blob_case {
	const char *name;
	uint32_t type;
	size_t len;         /* bytes after the type; (size_t)-1: a 2-byte packet */
	size_t nfds;
	bool ok;
	size_t want_nfds;
};

static const struct blob_case blob_cases[] = {
	{ "bootstrap with its fd", SYNC_BOOT, 2, 1, true, 1 },
	{ "bootstrap without fds", SYNC_BOOT, 2, 0, true, 0 },
	{ "more fds than the caller takes", SYNC_BOOT, 2, 4, true, 2 },
	{ "wrong type with fds", SYNC_CGROUP, 2, 3, false, 0 },
	{ "error message with an fd", SYNC_ERROR, 2, 1, false, 0 },
	{ "shorter than its type", SYNC_BOOT, (size_t)-1, 1, false, 0 },
	{ "oversized", SYNC_BOOT, SYNC_BLOB_MAX + 1, 1, false, 0 },
	{ "truncated control message", SYNC_BOOT, 2, SYNC_MAX_FDS + 8, false, 0 },
	{ "empty", SYNC_BOOT, (size_t)-2, 0, false, 0 },
};

static void test_sync_recv_blob_hostile_packets(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(blob_cases); i++) {
		const struct blob_case *c = &blob_cases[i];
		size_t before = count_fds(), len, nfds = 99;
		_cleanup_free_ char *pkt = NULL;
		struct hull_err *err = NULL;
		char *data = NULL;
		int sv[2], fds[2], r;

		len = c->len == (size_t)-1 ? 2 : c->len == (size_t)-2 ? 0 : sizeof(uint32_t) + c->len;
		pkt = xmalloc(len + sizeof(uint32_t));
		memset(pkt, '{', len + sizeof(uint32_t));
		if (len >= sizeof(uint32_t))
			memcpy(pkt, &c->type, sizeof(uint32_t));
		pair(sv);
		/* Oversized packets need a larger send buffer than the default. */
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 }, sizeof(int));
		send_raw(sv[1], pkt, len, c->nfds);
		r = sync_recv_blob(sv[0], SYNC_BOOT, NULL, &data, fds, ARRAY_SIZE(fds), &nfds, &err);
		if ((r == 0) != c->ok)
			fail_msg("%s: sync_recv_blob returned %d", c->name, r);
		if (nfds != c->want_nfds)
			fail_msg("%s: %zu fds handed out, want %zu", c->name, nfds, c->want_nfds);
		assert_true((err != NULL) == (r < 0));
		for (size_t k = 0; k < nfds; k++)
			close(fds[k]);
		free(data);
		hull_err_free(&err);
		close(sv[0]);
		close(sv[1]);
		if (count_fds() != before)
			fail_msg("%s: %zu fds open before, %zu after", c->name, before, count_fds());
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_recv_hostile_packets),
		cmocka_unit_test(test_sync_recv_without_fd_pointer_closes_everything),
		cmocka_unit_test(test_sync_recv_eof),
		cmocka_unit_test(test_sync_expect_wrong_type_gives_no_fd),
		cmocka_unit_test(test_sync_send_checks_fd_against_type),
		cmocka_unit_test(test_sync_recv_blob_hostile_packets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
