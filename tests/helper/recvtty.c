/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recvtty SOCKET [INPUT]: the receiving end of --console-socket for tests.
 *
 * Listens on the AF_UNIX socket SOCKET, accepts one connection, receives one
 * fd over SCM_RIGHTS and checks that it is a pty master (TIOCGPTN).  Prints
 * "pty /dev/pts/N" on the first line, writes INPUT (if any, plus a newline)
 * to the master, then copies everything read from the master to stdout until
 * the slave side is closed (EIO) or 20 seconds pass.  Exit status 0 on
 * success, 1 with a one-line reason on stderr otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "recvtty: %s: %s\n", what, strerror(errno));
	return 1;
}

static int recv_fd(int conn)
{
	char data[256];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof u.buf };
	if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
		errno = EBADMSG;
		return -1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: recvtty SOCKET [INPUT]\n");
		return 2;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof addr.sun_path) {
		fprintf(stderr, "recvtty: %s: path too long\n", argv[1]);
		return 1;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 1) < 0)
		return die("listen");
	int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return die("accept");
	int master = recv_fd(conn);
	if (master < 0)
		return die("recvmsg");
	close(conn);
	close(s);

	unsigned ptn = 0;
	if (ioctl(master, TIOCGPTN, &ptn) < 0)
		return die("not a pty master (TIOCGPTN)");
	printf("pty /dev/pts/%u\n", ptn);
	fflush(stdout);

	if (argc > 2) {
		/* typed input: the line discipline echoes it back like a terminal */
		dprintf(master, "%s\n", argv[2]);
	}
	time_t end = time(NULL) + 20;
	char buf[4096];
	while (time(NULL) < end) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		int r = poll(&p, 1, 500);
		if (r < 0 && errno != EINTR)
			return die("poll");
		if (r <= 0)
			continue;
		ssize_t n = read(master, buf, sizeof buf);
		if (n < 0 && errno == EIO)
			return 0; /* every slave fd closed: the container exited */
		if (n < 0)
			return die("read");
		if (n == 0)
			return 0;
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
	}
	fprintf(stderr, "recvtty: timed out waiting for the container to close the pty\n");
	return 1;
}
