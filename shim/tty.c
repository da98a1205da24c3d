// SPDX-License-Identifier: Apache-2.0
/*
 * shim/tty.c: a task's terminal (CreateTaskRequest/ExecProcessRequest
 * terminal: true), as containerd's runc shim does it: `hull create|exec
 * --console-socket S` sends the pty master to S (SCM_RIGHTS), and the shim
 * copies containerd's stdin FIFO to the master and the master to the stdout
 * FIFO (a terminal has no separate stderr).  ResizePty sets the master's
 * window size; CloseIO stops the stdin copy; Delete stops both copies and
 * closes the master.
 */
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "shim/internal.h"

struct shim_tty {
	int master;
	int in, out;     /* containerd's FIFOs, -1 when not named */
	int wake[2];     /* a byte (or close) on wake[1]: the copies stop */
	bool closed_in;  /* CloseIO was called: the stdin copy is gone */
	pthread_t tin, tout;
	bool has_tin, has_tout;
};

int shim_console_listen(char **dir, char **path, struct hull_err **err)
{
	char tmpl[] = "/tmp/hull-shim-XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	/* A short path of our own: containerd's bundle paths can pass sun_path's 108 bytes. */
	if (!mkdtemp(tmpl))
		return hull_err_make(err, errno, "mkdtemp %s", tmpl);
	*dir = xstrdup(tmpl);
	*path = xasprintf("%s/console.sock", tmpl);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", *path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hull_err_make(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
		return hull_err_make(err, errno, "listen %s", *path);
	return take_fd(&fd);
}

void shim_console_unlisten(int lfd, char *dir, char *path)
{
	if (lfd >= 0)
		close(lfd);
	if (path)
		unlink(path);
	if (dir)
		rmdir(dir);
	free(path);
	free(dir);
}

/* hull has exited (it connected and sent before that): the connection and
 * its fd wait in the backlog, so nothing here blocks. */
int shim_console_take(int lfd, int *master, struct hull_err **err)
{
	_cleanup_close_ int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	char byte, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	ssize_t n;

	if (c < 0)
		return hull_err_make(err, errno, "console socket: no connection from hull");
	memset(ctl, 0, sizeof(ctl));
	/* The message is there already; no wait for it either. */
	n = recvmsg(c, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return hull_err_make(err, errno, "console socket: recvmsg");
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)) || (mh.msg_flags & MSG_CTRUNC))
		return hull_err_make(err, EPROTO, "console socket: no pty master fd received");
	memcpy(master, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/* Copy from to to until from ends, to fails or wake fires. */
static void copy(int from, int to, int wake)
{
	char buf[8192];

	for (;;) {
		struct pollfd pf[2] = { { .fd = from, .events = POLLIN }, { .fd = wake, .events = POLLIN } };
		ssize_t n, off = 0;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pf[1].revents)
			return;
		n = read(from, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) /* EIO on the master: every slave fd is closed */
			return;
		while (off < n) {
			ssize_t w = write(to, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			off += w;
		}
	}
}

static void *copy_in(void *arg)
{
	struct shim_tty *t = arg;

	copy(t->in, t->master, t->wake[0]);
	return NULL;
}

static void *copy_out(void *arg)
{
	struct shim_tty *t = arg;

	copy(t->master, t->out, t->wake[0]);
	/* containerd's reader sees EOF once the last output is written. */
	close(t->out);
	t->out = -1;
	return NULL;
}

/* stdin is opened read-write: a FIFO opened for reading alone reads EOF
 * while containerd's writer is not there yet; the copy stops at CloseIO. */
static int open_fifo(const char *path, int flags, struct hull_err **err)
{
	int fd;

	if (!path || !*path)
		return -1;
	if (strstr(path, "://"))
		return hull_err_make(err, EOPNOTSUPP, "stdio %s: only FIFO or file paths are supported", path);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "open %s", path);
	return fd;
}

int shim_tty_start(struct shim_proc *p, int master, struct hull_err **err)
{
	struct shim_tty *t = xcalloc(1, sizeof(*t));

	t->master = master;
	t->in = t->out = -1;
	if (p->ws_row || p->ws_col) {
		struct winsize ws = { .ws_row = p->ws_row, .ws_col = p->ws_col };
		(void)ioctl(master, TIOCSWINSZ, &ws);
	}
	t->wake[0] = t->wake[1] = -1;
	if ((t->in = open_fifo(p->stdin_path, O_RDWR, err)) < -1 ||
	    (t->out = open_fifo(p->stdout_path, O_RDWR, err)) < -1)
		goto fail;
	if (pipe2(t->wake, O_CLOEXEC) < 0) {
		hull_err_make(err, errno, "pipe");
		goto fail;
	}
	if (t->in >= 0) {
		if (pthread_create(&t->tin, NULL, copy_in, t) != 0) {
			hull_err_make(err, EAGAIN, "tty: stdin thread");
			goto fail;
		}
		t->has_tin = true;
	}
	if (t->out >= 0) {
		if (pthread_create(&t->tout, NULL, copy_out, t) != 0) {
			hull_err_make(err, EAGAIN, "tty: stdout thread");
			shim_tty_stop(t);
			return -1;
		}
		t->has_tout = true;
	}
	p->tty = t;
	return 0;
fail:
	shim_tty_stop(t);
	return -1;
}

/* The output copy is given up to SHIM_TTY_DRAIN_S to end on its own (the
 * master's EIO once the processes holding the pty are gone) so output still
 * buffered in the pty reaches containerd before Delete answers: ctr stops
 * reading when Delete returns.  runc's shim waits the same 2 s for its copy.
 * Then both copies are woken and the fds closed.  Called without s->lock. */
#define SHIM_TTY_DRAIN_S 2

void shim_tty_stop(struct shim_tty *t)
{
	struct timespec until;

	if (!t)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SHIM_TTY_DRAIN_S;
	if (t->has_tout && pthread_timedjoin_np(t->tout, NULL, &until) == 0)
		t->has_tout = false;
	if (t->wake[1] >= 0)
		close(t->wake[1]); /* POLLHUP on wake[0] for both copies */
	if (t->has_tin)
		pthread_join(t->tin, NULL);
	if (t->has_tout)
		pthread_join(t->tout, NULL);
	for (int *fd = (int[]){ t->master, t->in, t->out, t->wake[0] }, i = 0; i < 4; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	free(t);
}

/* CloseIO: the stdin copy stops and its FIFO is closed; with the pty in
 * canonical mode the task reads EOF from a ^D, as a user's terminal sends. */
void shim_tty_close_stdin(struct shim_proc *p)
{
	struct shim_tty *t = p->tty;
	struct termios tio;

	if (!t || !t->has_tin || t->closed_in)
		return;
	/* Only the stdin copy is stopped: a second pipe would be needed to
	 * wake one of the two, so the stdin copy is cancelled at its poll. */
	pthread_cancel(t->tin);
	pthread_join(t->tin, NULL);
	t->has_tin = false;
	t->closed_in = true;
	close(t->in);
	t->in = -1;
	if (tcgetattr(t->master, &tio) == 0 && (tio.c_lflag & ICANON))
		(void)!write(t->master, &tio.c_cc[VEOF], 1);
}

/* Before the pty exists (ctr exec -t resizes before Start), the size is
 * kept and set when it comes (shim_tty_start), as runc's shim accepts it. */
int shim_tty_resize(struct shim_proc *p, uint32_t width, uint32_t height, struct hull_err **err)
{
	struct winsize ws = { .ws_row = (unsigned short)height, .ws_col = (unsigned short)width };

	if (!p->terminal)
		return hull_err_make(err, ENOTTY, "%s: the process has no terminal", p->id);
	if (width > USHRT_MAX || height > USHRT_MAX)
		return hull_err_make(err, EINVAL, "resize: %ux%u is out of range", width, height);
	p->ws_row = ws.ws_row;
	p->ws_col = ws.ws_col;
	if (p->tty && ioctl(p->tty->master, TIOCSWINSZ, &ws) < 0)
		return hull_err_make(err, errno, "resize %s", p->id);
	return 0;
}
