/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp-listener SOCKET STATE_OUT: the receiving end of
 * linux.seccomp.listenerPath for tests.
 *
 * Accepts one connection on the AF_UNIX socket SOCKET and receives the
 * runtime's message: the container process state JSON as payload (written to
 * STATE_OUT) and the seccomp notify fd over SCM_RIGHTS.  Then answers the
 * first notification with ENOMSG, so the container observes that the listener
 * (not the kernel, not the filter) handled its syscall.  Prints
 * "notified nr=N" on stdout and exits 0; one line on stderr and 1 on failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "seccomp-listener: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: seccomp-listener SOCKET STATE_OUT\n");
		return 2;
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof addr.sun_path) {
		fprintf(stderr, "seccomp-listener: %s: path too long\n", argv[1]);
		return 1;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 1) < 0)
		return die("listen");
	int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return die("accept");

	static char payload[1 << 16];
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof payload - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof u.buf };
	ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return die("recvmsg");
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		errno = EBADMSG;
		return die("no fd in the message");
	}
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	FILE *out = fopen(argv[2], "we");
	if (!out || fwrite(payload, 1, (size_t)n, out) != (size_t)n || fclose(out) != 0)
		return die(argv[2]);

	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, 20000);
	if (r <= 0) {
		errno = r == 0 ? ETIMEDOUT : errno;
		return die("poll");
	}
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	memset(&req, 0, sizeof req);
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		return die("SECCOMP_IOCTL_NOTIF_RECV");
	memset(&resp, 0, sizeof resp);
	resp.id = req.id;
	resp.error = -ENOMSG;
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
		return die("SECCOMP_IOCTL_NOTIF_SEND");
	printf("notified nr=%d\n", req.data.nr);
	return 0;
}
