/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user: the message codec both sides use, and the frontend (the VMM
 * side) that hands a device's rings to a backend process.
 *
 * The frontend runs on a vCPU thread (a status write reaching DRIVER_OK or 0)
 * under the device lock, so every exchange is synchronous and bounded: a
 * backend that stops answering for VHU_TIMEOUT_S or closes the socket makes
 * the call fail (the device then needs a reset), never hangs or kills the
 * VMM (MSG_NOSIGNAL: no SIGPIPE).  Every reply is checked: the request it
 * echoes, the REPLY flag and version, its exact size, and that it carries no
 * fds.
 */
#include "microvm/virtio/vhost_user.h"

#include <inttypes.h>
#include <sys/socket.h>
#include <sys/un.h>

#define VHU_TIMEOUT_S 30

/* The protocol features this frontend uses when the backend offers them. */
#define VHU_FRONT_PROTOCOL (1ULL << VHU_PROTOCOL_F_REPLY_ACK)

void vhu_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int vhu_send(int sock, const struct vhu_msg *m, const int *fds, unsigned int nfds)
{
	union { char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))]; struct cmsghdr align; } u;
	/* On the wire the payload follows the 12-byte header directly; in
	 * struct vhu_msg the union is 8-aligned at offset 16. */
	uint8_t wire[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
	struct iovec iov = { .iov_base = wire };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t len, done = 0;

	if (nfds > VHU_MAX_FDS || m->size > VHU_MAX_PAYLOAD)
		return -EINVAL;
	len = VHU_HDR_SIZE + m->size;
	memcpy(wire, m, VHU_HDR_SIZE);
	memcpy(wire + VHU_HDR_SIZE, &m->p, m->size);
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
	while (done < len) {
		ssize_t n;

		iov.iov_base = wire + done;
		iov.iov_len = len - done;
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECONNRESET ? -EPIPE : -errno;
		}
		/* The fds went with the first byte; the rest is plain data. */
		done += (size_t)n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	return 0;
}

/* Read exactly len bytes.  fds may arrive only with the first byte of a
 * message (the header read, fds != NULL); any others are a protocol error.
 * EOF before the first header byte is -EPIPE, inside a message -EPROTO. */
static int recv_exact(int sock, void *buf, size_t len, bool header, int *fds, unsigned int cap,
		      unsigned int *nfds)
{
	size_t done = 0;

	while (done < len) {
		union { char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))]; struct cmsghdr align; } u;
		struct iovec iov = { .iov_base = (uint8_t *)buf + done, .iov_len = len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				     .msg_controllen = sizeof(u.buf) };
		bool stray = false;
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return errno == ECONNRESET ? -EPIPE : -errno;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int got;
				memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (header && done == 0 && fds && *nfds < cap)
					fds[(*nfds)++] = got;
				else {
					close(got);
					stray = true;
				}
			}
		}
		if (stray || (mh.msg_flags & MSG_CTRUNC))
			return -EPROTO;
		if (n == 0)
			return header && done == 0 ? -EPIPE : -EPROTO;
		done += (size_t)n;
	}
	return 0;
}

int vhu_recv(int sock, struct vhu_msg *m, int *fds, unsigned int cap, unsigned int *nfds)
{
	unsigned int got = 0;
	int r;

	if (nfds)
		*nfds = 0;
	r = recv_exact(sock, m, VHU_HDR_SIZE, true, fds, fds ? cap : 0, &got);
	if (r == 0 && m->size > VHU_MAX_PAYLOAD)
		r = -EPROTO;
	if (r == 0 && m->size)
		r = recv_exact(sock, &m->p, m->size, false, NULL, 0, NULL);
	if (r < 0) {
		if (fds)
			vhu_close_fds(fds, got);
		return r;
	}
	if (nfds)
		*nfds = got;
	return 0;
}

/* ---- frontend ------------------------------------------------------------ */

static const char *req_name(uint32_t req)
{
	static const char *const names[] = {
		[VHU_GET_FEATURES] = "GET_FEATURES", [VHU_SET_FEATURES] = "SET_FEATURES",
		[VHU_SET_OWNER] = "SET_OWNER", [VHU_RESET_OWNER] = "RESET_OWNER",
		[VHU_SET_MEM_TABLE] = "SET_MEM_TABLE", [VHU_SET_VRING_NUM] = "SET_VRING_NUM",
		[VHU_SET_VRING_ADDR] = "SET_VRING_ADDR", [VHU_SET_VRING_BASE] = "SET_VRING_BASE",
		[VHU_GET_VRING_BASE] = "GET_VRING_BASE", [VHU_SET_VRING_KICK] = "SET_VRING_KICK",
		[VHU_SET_VRING_CALL] = "SET_VRING_CALL", [VHU_SET_VRING_ERR] = "SET_VRING_ERR",
		[VHU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VHU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES", [VHU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
		[VHU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	};
	return req < ARRAY_SIZE(names) && names[req] ? names[req] : "request";
}

static int front_fail(struct vhu_front *f, int r, uint32_t req, struct hull_err **err)
{
	f->dead = true;
	if (r == -EPIPE)
		return hull_err_make(err, EPIPE, "vhost-user %s: %s: backend disconnected", f->name, req_name(req));
	if (r == -ETIMEDOUT)
		return hull_err_make(err, ETIMEDOUT, "vhost-user %s: %s: no reply in %d s", f->name, req_name(req),
				     VHU_TIMEOUT_S);
	if (r == -EPROTO)
		return hull_err_make(err, EPROTO, "vhost-user %s: %s: malformed reply", f->name, req_name(req));
	return hull_err_make(err, -r, "vhost-user %s: %s", f->name, req_name(req));
}

/* Receive the reply to `req` with exactly `size` payload bytes. */
static int recv_reply(struct vhu_front *f, uint32_t req, struct vhu_msg *rep, uint32_t size, struct hull_err **err)
{
	int fds[VHU_MAX_FDS];
	unsigned int nfds = 0;
	int r = vhu_recv(f->sock, rep, fds, VHU_MAX_FDS, &nfds);

	if (r < 0)
		return front_fail(f, r, req, err);
	vhu_close_fds(fds, nfds);
	if (nfds || rep->request != req || (rep->flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION ||
	    !(rep->flags & VHU_FLAG_REPLY) || rep->size != size) {
		f->dead = true;
		return hull_err_make(err, EPROTO,
				     "vhost-user %s: %s: bad reply (request %" PRIu32 ", flags 0x%" PRIx32
				     ", size %" PRIu32 ", %u fds)", f->name, req_name(req), rep->request, rep->flags,
				     rep->size, nfds);
	}
	return 0;
}

/* Send a request without a payload reply; with REPLY_ACK, wait for the
 * backend's status (0 = success). */
static int request(struct vhu_front *f, struct vhu_msg *m, const int *fds, unsigned int nfds,
		   struct hull_err **err)
{
	uint32_t req = m->request;
	struct vhu_msg rep;
	int r;

	if (f->dead)
		return hull_err_make(err, EPIPE, "vhost-user %s: %s: backend is gone", f->name, req_name(req));
	m->flags = VHU_VERSION | (f->reply_ack ? VHU_FLAG_NEED_REPLY : 0);
	r = vhu_send(f->sock, m, fds, nfds);
	if (r < 0)
		return front_fail(f, r, req, err);
	if (!f->reply_ack)
		return 0;
	if (recv_reply(f, req, &rep, sizeof(uint64_t), err) < 0)
		return -1;
	if (rep.p.u64 != 0)
		return hull_err_make(err, EINVAL, "vhost-user %s: %s refused by the backend (%" PRIu64 ")", f->name,
				     req_name(req), rep.p.u64);
	return 0;
}

/* A request whose reply is a u64 (GET_FEATURES, GET_PROTOCOL_FEATURES). */
static int get_u64(struct vhu_front *f, uint32_t req, uint64_t *v, struct hull_err **err)
{
	struct vhu_msg m = { .request = req, .flags = VHU_VERSION }, rep;
	int r;

	if (f->dead)
		return hull_err_make(err, EPIPE, "vhost-user %s: %s: backend is gone", f->name, req_name(req));
	r = vhu_send(f->sock, &m, NULL, 0);
	if (r < 0)
		return front_fail(f, r, req, err);
	if (recv_reply(f, req, &rep, sizeof(uint64_t), err) < 0)
		return -1;
	*v = rep.p.u64;
	return 0;
}

static int set_u64(struct vhu_front *f, uint32_t req, uint64_t v, struct hull_err **err)
{
	struct vhu_msg m = { .request = req, .size = sizeof(uint64_t), .p.u64 = v };
	return request(f, &m, NULL, 0, err);
}

int vhu_front_open_fd(struct vhu_front *f, int sock, const char *name, struct hull_err **err)
{
	struct timeval tv = { .tv_sec = VHU_TIMEOUT_S };
	uint64_t proto;

	memset(f, 0, sizeof(*f));
	f->sock = sock;
	f->name = xstrdup(name);
	/* A backend that never answers fails the request instead of hanging the
	 * vCPU thread that is waiting for it. */
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return hull_err_make(err, errno, "vhost-user %s: SO_RCVTIMEO", name);
	if (get_u64(f, VHU_GET_FEATURES, &f->backend_features, err) < 0)
		return -1;
	if (f->backend_features & (1ULL << VHU_F_PROTOCOL_FEATURES)) {
		if (get_u64(f, VHU_GET_PROTOCOL_FEATURES, &proto, err) < 0)
			return -1;
		f->protocol_features = proto & VHU_FRONT_PROTOCOL;
		if (set_u64(f, VHU_SET_PROTOCOL_FEATURES, f->protocol_features, err) < 0)
			return -1;
		/* REPLY_ACK applies from the next request on. */
		f->reply_ack = f->protocol_features & (1ULL << VHU_PROTOCOL_F_REPLY_ACK);
	}
	struct vhu_msg m = { .request = VHU_SET_OWNER };
	return request(f, &m, NULL, 0, err);
}

int vhu_front_connect(struct vhu_front *f, const char *path, struct hull_err **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memset(f, 0, sizeof(*f));
	f->sock = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return hull_err_make(err, ENAMETOOLONG, "vhost-user socket %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hull_err_make(err, errno, "vhost-user socket %s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return hull_err_make(err, e, "vhost-user socket %s: connect", path);
	}
	return vhu_front_open_fd(f, fd, path, err);
}

void vhu_front_close(struct vhu_front *f)
{
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	free(f->name);
	f->name = NULL;
}

int vhu_front_set_features(struct vhu_front *f, uint64_t features, struct hull_err **err)
{
	if (f->backend_features & (1ULL << VHU_F_PROTOCOL_FEATURES))
		features |= 1ULL << VHU_F_PROTOCOL_FEATURES;
	if (features & ~f->backend_features)
		return hull_err_make(err, EINVAL, "vhost-user %s: features 0x%" PRIx64 " not offered by the backend",
				     f->name, features & ~f->backend_features);
	return set_u64(f, VHU_SET_FEATURES, features, err);
}

int vhu_front_set_mem_table(struct vhu_front *f, const struct guest_mem *gm, struct hull_err **err)
{
	struct vhu_msg m = { .request = VHU_SET_MEM_TABLE };
	int fds[VHU_MAX_REGIONS];

	if (gm->n == 0 || gm->n > VHU_MAX_REGIONS)
		return hull_err_make(err, EINVAL, "vhost-user %s: %u memory regions", f->name, gm->n);
	for (unsigned int i = 0; i < gm->n; i++) {
		const struct gm_region *g = &gm->regions[i];
		if (g->fd < 0)
			return hull_err_make(err, EINVAL, "vhost-user %s: guest memory at 0x%" PRIx64
					     " is not shareable (no memfd)", f->name, g->gpa);
		m.p.mem.regions[i] = (struct vhu_region){ .gpa = g->gpa, .size = g->size,
							  .uva = (uintptr_t)g->hva, .mmap_offset = g->fd_offset };
		fds[i] = g->fd;
	}
	m.p.mem.nregions = gm->n;
	m.size = VHU_MEM_SIZE(gm->n);
	return request(f, &m, fds, gm->n, err);
}

static int vring_fd(struct vhu_front *f, uint32_t req, unsigned int idx, int fd, struct hull_err **err)
{
	struct vhu_msg m = { .request = req, .size = sizeof(uint64_t), .p.u64 = idx };

	if (fd < 0)
		m.p.u64 |= VHU_VRING_NOFD;
	return request(f, &m, fd >= 0 ? &fd : NULL, fd >= 0, err);
}

static int vring_state(struct vhu_front *f, uint32_t req, unsigned int idx, uint32_t num, struct hull_err **err)
{
	struct vhu_msg m = { .request = req, .size = sizeof(struct vhu_vring_state),
			     .p.state = { .index = idx, .num = num } };
	return request(f, &m, NULL, 0, err);
}

int vhu_front_vring_start(struct vhu_front *f, unsigned int idx, const struct vhu_vring_cfg *c,
			  struct hull_err **err)
{
	struct vhu_msg m = { .request = VHU_SET_VRING_ADDR, .size = sizeof(struct vhu_vring_addr),
			     .p.addr = { .index = idx, .desc = c->desc, .used = c->used, .avail = c->avail } };

	if (idx > VHU_VRING_IDX_MASK || c->kick < 0)
		return hull_err_make(err, EINVAL, "vhost-user %s: queue %u", f->name, idx);
	if (vring_state(f, VHU_SET_VRING_NUM, idx, c->num, err) < 0 ||
	    vring_state(f, VHU_SET_VRING_BASE, idx, c->base, err) < 0 || request(f, &m, NULL, 0, err) < 0 ||
	    vring_fd(f, VHU_SET_VRING_CALL, idx, c->call, err) < 0 ||
	    (c->err >= 0 && vring_fd(f, VHU_SET_VRING_ERR, idx, c->err, err) < 0) ||
	    vring_fd(f, VHU_SET_VRING_KICK, idx, c->kick, err) < 0)
		return hull_err_wrap(err, "queue %u", idx);
	/* With protocol features, rings start disabled (vhost-user.rst "Ring states"). */
	if ((f->backend_features & (1ULL << VHU_F_PROTOCOL_FEATURES)) &&
	    vring_state(f, VHU_SET_VRING_ENABLE, idx, 1, err) < 0)
		return hull_err_wrap(err, "queue %u", idx);
	return 0;
}

int vhu_front_vring_stop(struct vhu_front *f, unsigned int idx, uint16_t *base, struct hull_err **err)
{
	struct vhu_msg m = { .request = VHU_GET_VRING_BASE, .flags = VHU_VERSION,
			     .size = sizeof(struct vhu_vring_state), .p.state = { .index = idx } }, rep;
	int r;

	if ((f->backend_features & (1ULL << VHU_F_PROTOCOL_FEATURES)) &&
	    vring_state(f, VHU_SET_VRING_ENABLE, idx, 0, err) < 0)
		return hull_err_wrap(err, "queue %u", idx);
	if (f->dead)
		return hull_err_make(err, EPIPE, "vhost-user %s: GET_VRING_BASE: backend is gone", f->name);
	r = vhu_send(f->sock, &m, NULL, 0);
	if (r < 0)
		return front_fail(f, r, VHU_GET_VRING_BASE, err);
	if (recv_reply(f, VHU_GET_VRING_BASE, &rep, sizeof(struct vhu_vring_state), err) < 0)
		return -1;
	if (rep.p.state.index != idx || rep.p.state.num > UINT16_MAX) {
		f->dead = true;
		return hull_err_make(err, EPROTO, "vhost-user %s: GET_VRING_BASE: reply for queue %" PRIu32
				     " base %" PRIu32, f->name, rep.p.state.index, rep.p.state.num);
	}
	if (base)
		*base = (uint16_t)rep.p.state.num;
	return 0;
}
