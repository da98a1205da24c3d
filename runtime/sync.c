/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parent <-> container-side messages over a SOCK_SEQPACKET pair: one packet per
 * message, so a short read can never split a header, and an fd rides along
 * with SCM_RIGHTS.  EOF means the other side died.
 */
#include "internal.h"

#include <poll.h>

int sync_send_packet(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union { char buf[CMSG_SPACE(SYNC_MAX_FDS * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > SYNC_MAX_FDS)
		return -EINVAL;
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
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0) {
		/* A peer that closed with packets unread gives ECONNRESET: for
		 * the callers, as for one that read them, the other side is gone. */
		if (errno == ECONNRESET)
			return -EPIPE;
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* The only messages that carry an fd, and they carry exactly one. */
static bool carries_fd(uint32_t type)
{
	return type == SYNC_CONSOLE || type == SYNC_SECCOMP;
}

int sync_send(int sock, enum sync_type type, int32_t value, int fd, const char *text)
{
	struct sync_msg m = { .type = type, .value = value };

	if (carries_fd(type) != (fd >= 0))
		return -EINVAL;
	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	return sync_send_packet(sock, &m, sizeof(m), &fd, fd >= 0);
}

ssize_t sync_recv_packet(int sock, void *buf, size_t len, int *fds, size_t cap, size_t *nfds)
{
	union { char buf[CMSG_SPACE(SYNC_MAX_FDS * sizeof(int))]; struct cmsghdr align; } u;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*nfds < cap)
				fds[(*nfds)++] = got;
			else
				close(got);
		}
	}
	if (n == 0)
		return -EPIPE;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	return n;
}

static const char *const sync_names[] = {
	[SYNC_ERROR] = "ERROR", [SYNC_USERNS] = "USERNS", [SYNC_USERNS_DONE] = "USERNS_DONE",
	[SYNC_GO] = "GO", [SYNC_PID] = "PID", [SYNC_CREATE_RUNTIME] = "CREATE_RUNTIME",
	[SYNC_CONSOLE] = "CONSOLE", [SYNC_SECCOMP] = "SECCOMP", [SYNC_READY] = "READY",
	[SYNC_ABORT] = "ABORT", [SYNC_BOOT] = "BOOT", [SYNC_CGROUP] = "CGROUP", [SYNC_SEAL] = "SEAL",
};

/* --debug: each step of the set-up as its receiver sees it (every receive
 * happens before a container process points its stdio at the container's). */
static void log_received(uint32_t type, int32_t value)
{
	if (!hull_log_enabled(HULL_LOG_DEBUG))
		return;
	hull_debug("sync[%d]: received %s (%d)", (int)getpid(),
		   type < ARRAY_SIZE(sync_names) && sync_names[type] ? sync_names[type] : "?", value);
}

static void close_fds(int *fds, size_t *nfds)
{
	for (size_t i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
}

int sync_recv(int sock, struct sync_msg *m, int *fd)
{
	/* Room for one more than a message may carry, to tell "too many". */
	int got[2];
	size_t nfds;
	ssize_t n = sync_recv_packet(sock, m, sizeof(*m), got, ARRAY_SIZE(got), &nfds);

	if (fd)
		*fd = -1;
	if (n >= 0 && (size_t)n != sizeof(*m))
		n = -EBADMSG;
	/* A message with fds its type does not carry is a protocol error,
	 * not fds for whoever reads it next. */
	if (n >= 0 && nfds != (carries_fd(m->type) ? 1 : 0))
		n = -EBADMSG;
	if (n < 0) {
		close_fds(got, &nfds);
		return (int)n;
	}
	if (nfds && fd)
		*fd = got[0];
	else
		close_fds(got, &nfds);
	m->text[sizeof(m->text) - 1] = '\0';
	log_received(m->type, m->value);
	return 0;
}

/* Blob packets: the 4-byte type, then the data.  A SYNC_ERROR from the
 * other side is a struct sync_msg, which the receiver recognises by type. */
int sync_send_blob(int sock, enum sync_type type, const int *fds, size_t nfds, const char *data)
{
	size_t len = strlen(data);
	_cleanup_free_ char *pkt = NULL;
	uint32_t t = type;

	if (len > SYNC_BLOB_MAX)
		return -EMSGSIZE;
	pkt = xmalloc(sizeof(t) + len);
	memcpy(pkt, &t, sizeof(t));
	memcpy(pkt + sizeof(t), data, len);
	return sync_send_packet(sock, pkt, sizeof(t) + len, fds, nfds);
}

int sync_recv_blob(int sock, enum sync_type want, enum sync_type *got, char **data, int *fds, size_t cap,
		   size_t *nfds, struct hull_err **err)
{
	size_t len = sizeof(uint32_t) + SYNC_BLOB_MAX + 1;
	_cleanup_free_ char *pkt = xmalloc(len > sizeof(struct sync_msg) ? len : sizeof(struct sync_msg));
	ssize_t n = sync_recv_packet(sock, pkt, len - 1, fds, cap, nfds);
	uint32_t t = 0;

	if (n >= (ssize_t)sizeof(t))
		memcpy(&t, pkt, sizeof(t));
	if (got && t == SYNC_SEAL)
		want = SYNC_SEAL;
	if (n < (ssize_t)sizeof(t) || t != want)
		close_fds(fds, nfds);
	if (n == -EPIPE)
		return hull_err_make(err, 0, "hull exited during set-up");
	if (n < 0)
		return hull_err_make(err, (int)-n, "read sync socket");
	if ((size_t)n < sizeof(t))
		return hull_err_make(err, EBADMSG, "read sync socket");
	if (t != want)
		return hull_err_make(err, 0, "sync: expected message %d, got %u", want, t);
	pkt[n] = '\0';
	*data = xstrdup(pkt + sizeof(t));
	if (got)
		*got = (enum sync_type)t;
	log_received(t, (int32_t)*nfds);
	return 0;
}

int sync_expect(int sock, enum sync_type want, struct sync_msg *m, int *fd, struct hull_err **err)
{
	int r = sync_recv(sock, m, fd);

	if (r == -EPIPE)
		return hull_err_make(err, 0, "container process exited during set-up");
	if (r < 0)
		return hull_err_make(err, -r, "read sync socket");
	if (m->type == want)
		return 0;
	/* Failing: the caller gets no fd. */
	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	if (m->type == SYNC_ERROR)
		return hull_err_make(err, 0, "%s", m->text);
	return hull_err_make(err, 0, "sync: expected message %d, got %u", want, m->type);
}

void sync_fail(int sock, struct hull_err *err)
{
	const char *msg = err ? err->msg : "container set-up failed";
	struct pollfd pfd = { .fd = sock, .events = POLLIN };

	if (sync_send(sock, SYNC_ERROR, err ? err->errnum : 0, -1, msg) < 0)
		dprintf(STDERR_FILENO, "hull: %s\n", msg);
	/* Wait for the parent to read it (it closes its end); avoids racing its
	 * EOF check against our exit. */
	(void)poll(&pfd, 1, 5000);
	_exit(1);
}
