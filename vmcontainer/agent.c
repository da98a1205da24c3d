/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's side of the agent protocol (guest/guest.h): one connection per
 * request through the VMM's hybrid vsock socket, and the stdio relay of a
 * container's init or exec'd process.  Everything read is the guest's and
 * hostile: the codec bounds it, and a bad frame ends that connection only.
 */
#include "vmcontainer/internal.h"
#include "guest/guest.h"

#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>

static bool retryable(int e)
{
	return e == ENOENT || e == ECONNREFUSED || e == ECONNRESET || e == EPIPE || e == EAGAIN;
}

/* "OK <port>\n" from the VMM once the guest accepted; EOF: nothing listens. */
static int read_ok(int fd, struct hull_err **err)
{
	char line[32];
	size_t n = 0;

	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return hull_err_make(err, retryable(errno) ? EAGAIN : errno, "agent: read");
		if (r == 0)
			return hull_err_make(err, EAGAIN, "agent: not listening");
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	if (strncmp(line, "OK ", 3) != 0)
		return hull_err_make(err, EPROTO, "agent: the VMM answered \"%.20s\"", line);
	return 0;
}

int vmc_agent_connect(int dir_fd, struct hull_err **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char req[32];
	int n;

	if (fd < 0)
		return hull_err_make(err, errno, "agent: socket");
	/* Through the state dir's fd: ROOT/ID/vsock.sock may not fit sun_path;
	 * AT_FDCWD: the supervisor's cwd (its jail has no /proc). */
	if (dir_fd == AT_FDCWD)
		snprintf(sa.sun_path, sizeof(sa.sun_path), VMC_VSOCK_SOCK);
	else
		snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" VMC_VSOCK_SOCK, dir_fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hull_err_make(err, retryable(errno) ? EAGAIN : errno, "agent: connect " VMC_VSOCK_SOCK);
	n = snprintf(req, sizeof(req), "CONNECT %d\n", GUEST_AGENT_PORT);
	if (write_all(fd, req, (size_t)n) < 0)
		return hull_err_make(err, retryable(errno) ? EAGAIN : errno, "agent: write");
	if (read_ok(fd, err) < 0)
		return -1;
	return take_fd(&fd);
}

int vmc_agent_call(int dir_fd, struct json_object *req, struct json_object **resp, int *fd_out,
		   struct hull_err **err)
{
	_cleanup_close_ int fd = vmc_agent_connect(dir_fd, err);

	*resp = NULL;
	if (fd < 0) {
		json_object_put(req);
		return -1;
	}
	if (vmc_agent_request(fd, req, resp, err) < 0)
		return -1;
	if (fd_out)
		*fd_out = take_fd(&fd);
	return 0;
}

int vmc_agent_request(int fd, struct json_object *req, struct json_object **resp, struct hull_err **err)
{
	int r;

	*resp = NULL;
	r = guest_json_write(fd, GUEST_FRAME_REQUEST, req, err);
	json_object_put(req);
	if (r < 0)
		return -1;
	return vmc_agent_response(fd, resp, err);
}

int vmc_agent_response(int fd, struct json_object **resp, struct hull_err **err)
{
	struct guest_frame f;
	int r;

	*resp = NULL;
	r = guest_frame_read(fd, &f, err);
	if (r == 0)
		return hull_err_make(err, EPIPE, "agent: closed the connection without a response");
	if (r < 0)
		return -1;
	r = guest_json_parse(&f, GUEST_FRAME_RESPONSE, resp, err);
	guest_frame_release(&f);
	if (r < 0)
		return -1;
	if (guest_response_check(*resp, err) < 0) {
		json_object_put(*resp);
		*resp = NULL;
		return -1;
	}
	return 0;
}

void vmc_send_winsize(int s, int tty)
{
	struct winsize ws;

	if (tty >= 0 && ioctl(tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		(void)guest_resize_write(s, ws.ws_row, ws.ws_col, NULL);
}

/* Output for a host fd that went away (conmon closed its pipe) is dropped,
 * as a container's write to a closed pipe would fail: the process goes on. */
static void deliver(int fd, const struct guest_frame *f)
{
	if (fd >= 0 && f->len && write_all(fd, f->data, f->len) < 0)
		hull_debug("relay: write fd %d: %s", fd, strerror(errno));
}

int vmc_relay(int s, int in, int out, int errfd, int tty, int sigfd, void (*on_signal)(void *opaque, int sig),
	      void *opaque, int *exit_code, struct hull_err **err)
{
	char buf[65536];

	for (;;) {
		struct pollfd p[3] = { { .fd = s, .events = POLLIN }, { .fd = in, .events = POLLIN },
				       { .fd = sigfd, .events = POLLIN } };
		struct guest_frame f;
		int r;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hull_err_make(err, errno, "relay: poll");
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH)
					vmc_send_winsize(s, tty);
				else if (on_signal)
					on_signal(opaque, (int)si.ssi_signo);
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(in, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			/* EOF (or an error: the same for the process) ends its stdin. */
			if (guest_frame_write(s, GUEST_FRAME_STDIN, buf, n > 0 ? (size_t)n : 0, NULL) < 0)
				hull_debug("relay: stdin: the agent is gone");
			if (n <= 0)
				in = -1;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = guest_frame_read(s, &f, err);
		if (r == 0)
			return hull_err_make(err, EPIPE, "agent: the stream ended before the process's exit");
		if (r < 0)
			return -1;
		switch (f.type) {
		case GUEST_FRAME_STDOUT: deliver(out, &f); break;
		case GUEST_FRAME_STDERR: deliver(errfd, &f); break;
		case GUEST_FRAME_EXIT:
			r = guest_exit_parse(&f, exit_code, err);
			guest_frame_release(&f);
			return r;
		default:
			guest_frame_release(&f);
			return hull_err_make(err, EPROTO, "agent: unexpected frame type %d in a stream", (int)f.type);
		}
		guest_frame_release(&f);
	}
}
