/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Foreground `run`/`exec`: wait for the container process, forward signals
 * sent to hull, and proxy a pty to hull's own stdio.  hull is a subreaper
 * here, so orphans from a container without a pid namespace are reaped too.
 */
#include "internal.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>

static int copy_once(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return n == 0 || (errno != EINTR && errno != EAGAIN) ? -1 : 0;
	return write_all(to, buf, (size_t)n) < 0 ? -1 : 0;
}

static void resize(int master)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

int wait_forward(pid_t pid, int master, int *status, struct hull_err **err)
{
	sigset_t all, old;
	_cleanup_close_ int sfd = -1;
	struct termios saved, raw;
	bool restore_tty = false, stdin_open = master >= 0;
	int r = 0, wst;

	/* kill(0 or -1, sig) would signal hull's own process group or everything. */
	if (pid <= 0)
		return hull_err_make(err, EINVAL, "wait for process %d", (int)pid);

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigprocmask(SIG_BLOCK, &all, &old);
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) {
		r = hull_err_make(err, errno, "signalfd");
		goto out;
	}
	if (master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		raw.c_oflag = saved.c_oflag;   /* keep output processing: the pty already does it */
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		restore_tty = true;
		resize(master);
	}
	/* The child may have exited before SIGCHLD was blocked: look first. */
	bool check = true;
	for (;;) {
		struct pollfd pf[3] = { { .fd = sfd, .events = POLLIN },
					{ .fd = master, .events = POLLIN },
					{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN } };
		/* Reap everything: orphans reparent to us as subreaper. */
		for (pid_t w; check && (w = waitpid(-1, &wst, WNOHANG)) > 0;) {
			if (w != pid)
				continue;
			*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
			/* Drain what the pty still holds. */
			for (struct pollfd p = { .fd = master, .events = POLLIN };
			     master >= 0 && poll(&p, 1, 0) > 0 && copy_once(master, STDOUT_FILENO) == 0;)
				;
			goto out;
		}
		check = false;
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = hull_err_make(err, errno, "poll");
			break;
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (copy_once(master, STDOUT_FILENO) < 0)
				master = -1;   /* slave closed: output done; keep waiting for exit */
		}
		if (pf[2].revents & (POLLIN | POLLHUP)) {
			if (copy_once(STDIN_FILENO, master) < 0)
				stdin_open = false;
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGWINCH && master >= 0)
				resize(master);
			else if (si.ssi_signo == SIGCHLD)
				check = true;
			else
				kill(pid, (int)si.ssi_signo);
		}
	}
out:
	if (restore_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
