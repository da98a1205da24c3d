/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Terminals.  The pty is opened inside the container (its own devpts
 * instance) and the master travels to hull, which either hands it to the
 * engine's --console-socket (conmon/containerd protocol: one SCM_RIGHTS
 * message) or proxies it to its own stdio for a foreground `run`.
 */
#include "internal.h"

#include <sys/ioctl.h>
#include <sys/un.h>
#include <termios.h>

int console_open_pty(int *master, int *slave, const struct oci_process *p, struct hull_err **err)
{
	_cleanup_close_ int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int s, unlock = 0;

	if (m < 0)
		return hull_err_make(err, errno, "open /dev/ptmx");
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return hull_err_make(err, errno, "unlock pty");
	/* TIOCGPTPEER opens the slave through the master: no path lookup that a
	 * hostile /dev/pts could redirect. */
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return hull_err_make(err, errno, "open pty slave");
	/* runc makes the process user own its terminal (the group stays tty). */
	if (fchown(s, p->user.uid, (gid_t)-1) < 0) {
		int e = errno;
		close(s);
		return hull_err_make(err, e, "chown pty to uid %u", p->user.uid);
	}
	if (p->console_size.set) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_size.height,
				      .ws_col = (unsigned short)p->console_size.width };
		ioctl(s, TIOCSWINSZ, &ws);
	}
	*master = take_fd(&m);
	*slave = s;
	return 0;
}

int console_setup_slave(int slave, struct hull_err **err)
{
	if (setsid() < 0 && errno != EPERM)
		return hull_err_make(err, errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return hull_err_make(err, errno, "set controlling terminal");
	hull_log_leave_stdio();
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return hull_err_make(err, errno, "dup2 pty to fd %d", fd);
	return 0;
}

int console_send_to_socket(const char *path, int master, struct hull_err **err)
{
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	char name[] = "/dev/ptmx";
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;

	if (s < 0)
		return hull_err_make(err, errno, "--console-socket: socket");
	if (strlen(path) >= sizeof(sa.sun_path))
		return hull_err_make(err, ENAMETOOLONG, "--console-socket %s", path);
	strcpy(sa.sun_path, path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hull_err_make(err, errno, "--console-socket %s: connect", path);
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0)
		return hull_err_make(err, errno, "--console-socket %s: send pty", path);
	return 0;
}
