/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One process's stdio over its connection: STDIN/RESIZE frames from the host
 * to the process, its output as STDOUT/STDERR frames, EXIT once it was
 * reaped.  One thread per connection runs this poll loop, so frames on the
 * connection have a single writer.  Stdin is written non-blocking, one frame
 * at a time: a process that does not read its stdin stops the host's frames
 * (the connection is not read meanwhile), never the relay of its output.
 */
#include "guest/internal.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

#define CHUNK 65536

struct relay {
	int conn;
	struct agent_stdio *s;
	char *pending;              /* stdin bytes not written yet */
	size_t pending_len, pending_off;
	bool stdin_eof;             /* the host sent EOF: close stdin once pending is out */
};

/* Read what there is on an output fd and send it: 1 sent, 2 nothing there
 * now, 0 the stream ended (and its EOF frame went out), < 0 error. */
static int pump(struct relay *r, int *fd, enum guest_frame_type type, struct hull_err **err)
{
	char buf[CHUNK];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 2;
	/* A pty master reads EIO once no slave is left open: its end. */
	if (n <= 0) {
		if (n < 0 && errno != EIO)
			hull_warn("agent: read %s: %s", type == GUEST_FRAME_STDOUT ? "stdout" : "stderr",
				  strerror(errno));
		if (r->s->tty && *fd == r->s->in)
			r->s->in = -1;
		close(*fd);
		*fd = -1;
		/* The empty frame tells the host this stream ended. */
		return guest_frame_write(r->conn, type, "", 0, err) < 0 ? -1 : 0;
	}
	return guest_frame_write(r->conn, type, buf, (size_t)n, err) < 0 ? -1 : 1;
}

static void close_stdin(struct relay *r)
{
	/* With a tty, stdin is the master that also carries the output: EOF
	 * of the host's stdin does not end the terminal. */
	if (!r->s->tty && r->s->in >= 0) {
		close(r->s->in);
		r->s->in = -1;
	}
	free(r->pending);
	r->pending = NULL;
	r->pending_len = r->pending_off = 0;
}

/* One frame from the host.  < 0: the connection is done (closed or broken). */
static int from_host(struct relay *r, struct hull_err **err)
{
	struct guest_frame f;
	uint16_t rows, cols;
	int n = guest_frame_read(r->conn, &f, err);

	if (n <= 0)
		return n == 0 ? hull_err_make(err, 0, "the host closed the connection") : -1;
	switch (f.type) {
	case GUEST_FRAME_STDIN:
		if (f.len == 0) {
			r->stdin_eof = true;
			guest_frame_release(&f);
			if (!r->pending)
				close_stdin(r);
			return 0;
		}
		if (r->s->in < 0 || r->stdin_eof) {
			guest_frame_release(&f);     /* nobody reads it any more: dropped */
			return 0;
		}
		r->pending = f.data;
		r->pending_len = f.len;
		r->pending_off = 0;
		return 0;
	case GUEST_FRAME_RESIZE:
		if (guest_resize_parse(&f, &rows, &cols, err) < 0) {
			guest_frame_release(&f);
			return -1;
		}
		guest_frame_release(&f);
		if (r->s->tty && r->s->out >= 0) {
			struct winsize ws = { .ws_row = rows, .ws_col = cols };
			if (ioctl(r->s->out, TIOCSWINSZ, &ws) < 0)
				hull_warn("agent: TIOCSWINSZ: %s", strerror(errno));
		}
		return 0;
	default:
		n = hull_err_make(err, EPROTO, "agent: unexpected frame type %d during stdio", f.type);
		guest_frame_release(&f);
		return n;
	}
}

static void write_stdin(struct relay *r)
{
	ssize_t n = write(r->s->in, r->pending + r->pending_off, r->pending_len - r->pending_off);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* EPIPE: the process closed its stdin; the rest is dropped. */
		close_stdin(r);
		return;
	}
	r->pending_off += (size_t)n;
	if (r->pending_off == r->pending_len) {
		free(r->pending);
		r->pending = NULL;
		r->pending_len = r->pending_off = 0;
		if (r->stdin_eof)
			close_stdin(r);
	}
}

static void set_nonblock(int fd)
{
	int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int agent_relay(int conn, struct agent_stdio *s, struct agent_watch *w, struct hull_err **err)
{
	struct relay r = { .conn = conn, .s = s };
	int ret = -1;

	set_nonblock(s->in);
	set_nonblock(s->out);
	set_nonblock(s->err);
	for (;;) {
		struct pollfd p[5];
		int np = 0, i_conn = -1, i_in = -1, i_out = -1, i_err = -1, i_exit;

		p[i_exit = np++] = (struct pollfd){ .fd = agent_watch_fd(w), .events = POLLIN };
		/* The host's next frame only once the last stdin frame is out. */
		if (!r.pending)
			p[i_conn = np++] = (struct pollfd){ .fd = conn, .events = POLLIN };
		if (r.pending && s->in >= 0)
			p[i_in = np++] = (struct pollfd){ .fd = s->in, .events = POLLOUT };
		if (s->out >= 0)
			p[i_out = np++] = (struct pollfd){ .fd = s->out, .events = POLLIN };
		if (s->err >= 0)
			p[i_err = np++] = (struct pollfd){ .fd = s->err, .events = POLLIN };
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			hull_err_make(err, errno, "agent: poll");
			goto out;
		}
		if (i_out >= 0 && p[i_out].revents && pump(&r, &s->out, GUEST_FRAME_STDOUT, err) < 0)
			goto out;
		if (i_err >= 0 && p[i_err].revents && pump(&r, &s->err, GUEST_FRAME_STDERR, err) < 0)
			goto out;
		if (i_in >= 0 && p[i_in].revents && r.pending && s->in >= 0)
			write_stdin(&r);
		if (r.pending && s->in < 0)
			close_stdin(&r);
		if (i_conn >= 0 && p[i_conn].revents && from_host(&r, err) < 0)
			goto out;
		if (p[i_exit].revents) {
			/* What the process wrote before it died is in the pipe or
			 * the pty now: send it all, then EXIT.  A daemon that
			 * inherited the output may keep writing; it is not waited
			 * for (the fds are non-blocking, EAGAIN ends the drain). */
			int k = 1;
			while (s->out >= 0 && (k = pump(&r, &s->out, GUEST_FRAME_STDOUT, err)) == 1)
				;
			if (k < 0)
				goto out;
			while (s->err >= 0 && (k = pump(&r, &s->err, GUEST_FRAME_STDERR, err)) == 1)
				;
			if (k < 0)
				goto out;
			ret = guest_exit_write(conn, agent_exit_code(agent_watch_status(w)), err);
			goto out;
		}
	}
out:
	free(r.pending);
	if (s->in >= 0 && s->in != s->out)
		close(s->in);
	if (s->out >= 0)
		close(s->out);
	if (s->err >= 0)
		close(s->err);
	s->in = s->out = s->err = -1;
	return ret;
}
