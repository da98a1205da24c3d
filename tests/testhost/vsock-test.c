/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock-test: both ends of the virtio-vsock checks in
 * tests/integration/testhost/microvm.bats (busybox has no vsock tool).
 * Built static by tests/prepare.d/50-microvm.sh; the guest's copy is
 * /bin/vsock-test in the test initramfs.
 *
 * Guest side (AF_VSOCK):
 *   vsock-test echo PORT N          serve N connections on PORT (in parallel),
 *                                   echoing each until EOF (prints
 *                                   "vsock-echo: listening"); exit 0 if all did
 *   vsock-test send CID PORT MSG    connect, send MSG, half-close, print the
 *                                   reply as "reply=<bytes>", or "error=<errno name>"
 * Host side (the VMM's Unix sockets, Firecracker's hybrid protocol):
 *   vsock-test host-echo UDS PORT BYTES   CONNECT PORT through UDS (retrying
 *                                   while the guest answers with a close),
 *                                   send BYTES of a pattern while reading the
 *                                   echo, half-close, check every byte; prints
 *                                   "host-echo: ok BYTES" or why not
 *   vsock-test host-refused UDS PORT   CONNECT PORT once; prints "refused" when
 *                                   the VMM closes without "OK"
 *   vsock-test host-serve PATH N    accept N connections on a Unix socket,
 *                                   answer each with "host got: <data>"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static void die(const char *what)
{
	const char *name = strerrorname_np(errno);

	printf("error=%s %s\n", what, name ? name : "?");
	fflush(stdout);
	exit(1);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int guest_echo(unsigned int port, int n)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	static char buf[65536];

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0)
		die("listen");
	printf("vsock-echo: listening on %u\n", port);
	fflush(stdout);
	/* one child per connection, so host clients may run in parallel */
	for (int i = 0; i < n; i++) {
		int c = accept(l, NULL, NULL);
		ssize_t r;

		if (c < 0)
			die("accept");
		if (fork() == 0) {
			close(l);
			while ((r = read(c, buf, sizeof(buf))) > 0)
				if (write_all(c, buf, (size_t)r) < 0)
					_exit(1);
			_exit(r < 0);
		}
		close(c);
	}
	close(l);
	int st, failed = 0;
	while (wait(&st) > 0)
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	return failed;
}

static int guest_send(unsigned int cid, unsigned int port, const char *msg)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	char buf[4096];
	size_t got = 0;
	ssize_t r;

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	if (write_all(fd, msg, strlen(msg)) < 0 || shutdown(fd, SHUT_WR) < 0)
		die("write");
	while (got < sizeof(buf) - 1 && (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	printf("reply=%s\n", buf);
	close(fd);
	return 0;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* CONNECT and read the reply line byte by byte (so no payload is eaten):
 * the fd once "OK <n>\n" came, -1 when the VMM closed instead. */
static int hybrid_connect(const char *uds, unsigned int port)
{
	char line[64];
	size_t n = 0;
	int fd = unix_connect(uds);

	if (fd < 0)
		return -2;
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (write_all(fd, line, strlen(line)) < 0) {
		close(fd);
		return -1;
	}
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);
		if (r <= 0)
			break;
		if (line[n++] == '\n') {
			line[n] = '\0';
			if (strncmp(line, "OK ", 3) == 0)
				return fd;
			break;
		}
	}
	close(fd);
	return -1;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static int host_echo(const char *uds, unsigned int port, size_t total)
{
	static unsigned char buf[65536];
	size_t sent = 0, got = 0;
	int fd = -1;

	/* the guest's listener comes up some time after boot: until then the VMM
	 * closes our connection (the guest answered RST) */
	for (int i = 0; i < 1200 && fd < 0; i++) {
		fd = hybrid_connect(uds, port);
		if (fd < 0)
			usleep(250000);
	}
	if (fd < 0) {
		printf("host-echo: never connected\n");
		return 1;
	}
	while (got < total) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0) };

		if (poll(&p, 1, -1) < 0)
			die("poll");
		if ((p.revents & POLLOUT) && sent < total) {
			size_t n = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
			ssize_t w;

			for (size_t k = 0; k < n; k++)
				buf[k] = pattern(sent + k);
			w = send(fd, buf, n, MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN)
				die("send");
			if (w > 0)
				sent += (size_t)w;
			if (sent == total)
				shutdown(fd, SHUT_WR);
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (r < 0 && errno != EAGAIN)
				die("recv");
			if (r == 0) {
				printf("host-echo: EOF after %zu of %zu bytes\n", got, total);
				return 1;
			}
			for (ssize_t k = 0; k < r; k++, got++) {
				if (buf[k] != pattern(got)) {
					printf("host-echo: byte %zu differs\n", got);
					return 1;
				}
			}
		}
	}
	/* and the guest's close arrives as EOF */
	if (recv(fd, buf, 1, 0) != 0) {
		printf("host-echo: no EOF after the echo\n");
		return 1;
	}
	printf("host-echo: ok %zu\n", total);
	close(fd);
	return 0;
}

static int host_refused(const char *uds, unsigned int port)
{
	int fd = hybrid_connect(uds, port);

	if (fd >= 0) {
		printf("accepted\n");
		close(fd);
		return 1;
	}
	printf(fd == -2 ? "no-vmm\n" : "refused\n");
	return fd == -2;
}

static int host_serve(const char *path, int n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0)
		die("listen");
	printf("host-serve: listening\n");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		char buf[4096] = "host got: ";
		size_t got = strlen(buf);
		ssize_t r;
		int c = accept(l, NULL, NULL);

		if (c < 0)
			die("accept");
		while (got < sizeof(buf) - 1 && (r = read(c, buf + got, sizeof(buf) - 1 - got)) > 0)
			got += (size_t)r;
		buf[got] = '\0';
		printf("host-serve: %s\n", buf + strlen("host got: "));
		fflush(stdout);
		if (write_all(c, buf, got) < 0)
			die("write");
		close(c);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "echo") == 0)
		return guest_echo((unsigned int)strtoul(argv[2], NULL, 10), atoi(argv[3]));
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return guest_send((unsigned int)strtoul(argv[2], NULL, 10), (unsigned int)strtoul(argv[3], NULL, 10),
				  argv[4]);
	if (argc == 5 && strcmp(argv[1], "host-echo") == 0)
		return host_echo(argv[2], (unsigned int)strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "host-refused") == 0)
		return host_refused(argv[2], (unsigned int)strtoul(argv[3], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "host-serve") == 0)
		return host_serve(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: see tests/testhost/vsock-test.c\n");
	return 2;
}
