/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user backend loop: serves one frontend's virtio queues in this
 * process (`hull virtiofsd`).  One thread, one epoll set: the socket and the
 * kick eventfd of every running queue.
 *
 * Trust: the frontend and its guest are hostile.  The memory table is
 * checked whole (region count, fd count, sizes, gpa/uva/offset overflow,
 * overlap) and only memory at least offset+size long is mapped: a memfd
 * sealed against shrinking, or a tmpfs file whose shrink (by the frontend
 * alone) its process turns into a clean exit (map_region).  Ring addresses are frontend virtual addresses translated
 * through the table and then validated by virtq_setup; descriptors by
 * virtq_pop (microvm/virtq.c).  A bad request is refused (REPLY_ACK status
 * 1) and a bad ring stops only its queue (the frontend hears it on the
 * queue's error eventfd); only a message that breaks the framing (short,
 * oversized, stray fds, an unanswerable GET) ends the connection.
 */
#include "microvm/microvm.h"
#include "microvm/virtio/vhost_user.h"

#include <inttypes.h>
#include <linux/magic.h>
#include <sys/epoll.h>
#include <sys/vfs.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define BACKEND_FEATURES                                                                                      \
	(1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX | 1ULL << VIRTIO_F_INDIRECT_DESC |            \
	 1ULL << VHU_F_PROTOCOL_FEATURES)
#define BACKEND_PROTOCOL (1ULL << VHU_PROTOCOL_F_MQ | 1ULL << VHU_PROTOCOL_F_REPLY_ACK)

_Static_assert(VUB_MAX_QUEUES <= VIRTIO_MAX_QUEUES, "queue arrays");

struct vub_queue {
	uint16_t num, base;
	bool num_set, addr_set;
	uint64_t desc, avail, used;        /* frontend virtual addresses */
	int kick, call, err;
	bool enabled;                      /* SET_VRING_ENABLE (implicit without protocol features) */
	bool running;                      /* set up and its kick fd in the epoll set */
	bool broken;                       /* a bad ring: stopped until the next start */
	struct virtq vq;
};

struct vub_map {
	void *base;
	size_t len;
	uint64_t uva;
};

struct vub {
	int sock, epfd;
	const struct vub_ops *ops;
	void *opaque;
	uint64_t features, protocol;
	struct guest_mem gm;               /* gpa -> this process's mappings */
	struct vub_map maps[VHU_MAX_REGIONS];
	struct vub_queue q[VUB_MAX_QUEUES];
};

/* A refused request: say why once, the frontend gets status 1. */
static int refuse(struct vub *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct vub *b, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hull_warn("vhost-user %s: %s", b->ops->name, msg);
	return 1;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		hull_debug("vhost-user: eventfd write: %s", strerror(errno));
}

static void replace_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

/* ---- queues ---------------------------------------------------------------- */

static void queue_stop(struct vub *b, struct vub_queue *q)
{
	if (q->running && q->kick >= 0)
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, q->kick, NULL);
	if (q->running)
		q->base = q->vq.last_avail;
	q->running = false;
	virtq_reset(&q->vq);
}

static void queue_break(struct vub *b, unsigned int qi, const char *why)
{
	struct vub_queue *q = &b->q[qi];

	hull_warn("vhost-user %s: queue %u stopped: %s", b->ops->name, qi, why);
	queue_stop(b, q);
	q->broken = true;
	signal_fd(q->err);
}

static int uva_to_gpa(const struct vub *b, uint64_t uva, uint64_t *gpa)
{
	for (unsigned int i = 0; i < b->gm.n; i++) {
		const struct gm_region *r = &b->gm.regions[i];
		if (uva >= b->maps[i].uva && uva - b->maps[i].uva < r->size) {
			*gpa = r->gpa + (uva - b->maps[i].uva);
			return 0;
		}
	}
	return -EFAULT;
}

/* Run every chain the driver made available, then interrupt it if it wants. */
static void queue_process(struct vub *b, unsigned int qi)
{
	struct vub_queue *q = &b->q[qi];
	bool pushed = false;

	while (q->running) {
		struct virtq_chain c;
		struct iovec *in, *out;
		int nin = 0, nout = 0;
		ssize_t n;
		int r = virtq_pop(&q->vq, &c);

		if (r == 0)
			break;
		if (r < 0) {
			queue_break(b, qi, "malformed ring");
			return;
		}
		in = xcalloc(c.n, sizeof(*in));
		out = xcalloc(c.n, sizeof(*out));
		for (unsigned int i = 0; i < c.n; i++) {
			struct iovec v = { .iov_base = c.bufs[i].hva, .iov_len = c.bufs[i].len };
			if (c.bufs[i].write)
				out[nout++] = v;
			else
				in[nin++] = v;
		}
		n = b->ops->handle(b->opaque, qi, in, nin, out, nout);
		/* The used length never claims more than the chain could hold. */
		if (n < 0)
			n = 0;
		if ((uint64_t)n > c.in_len)
			n = (ssize_t)c.in_len;
		r = virtq_push(&q->vq, c.head, (uint32_t)n);
		free(in);
		free(out);
		virtq_chain_release(&c);
		if (r < 0) {
			queue_break(b, qi, "used ring not writable");
			return;
		}
		pushed = true;
	}
	if (pushed && virtq_should_signal(&q->vq))
		signal_fd(q->call);
}

/* A queue runs once it has a size, addresses, a kick fd and is enabled. */
static int queue_try_start(struct vub *b, unsigned int qi)
{
	struct vub_queue *q = &b->q[qi];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = qi + 1 };
	uint64_t desc, avail, used;

	if (q->running || !q->enabled || q->kick < 0 || !q->num_set || !q->addr_set)
		return 0;
	q->broken = false;
	if (uva_to_gpa(b, q->desc, &desc) < 0 || uva_to_gpa(b, q->avail, &avail) < 0 ||
	    uva_to_gpa(b, q->used, &used) < 0) {
		queue_break(b, qi, "ring address outside the memory table");
		return 1;
	}
	if (virtq_setup(&q->vq, &b->gm, q->num, desc, avail, used, b->features & (1ULL << VIRTIO_F_EVENT_IDX),
			b->features & (1ULL << VIRTIO_F_INDIRECT_DESC)) < 0) {
		queue_break(b, qi, "invalid ring layout");
		return 1;
	}
	q->vq.last_avail = q->vq.used_idx = q->base;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, q->kick, &ev) < 0) {
		queue_break(b, qi, "kick fd cannot be polled");
		return 1;
	}
	q->running = true;
	/* Buffers made available before the kick fd arrived. */
	queue_process(b, qi);
	return 0;
}

/* ---- memory table ------------------------------------------------------------ */

static void unmap_all(struct vub *b)
{
	for (unsigned int i = 0; i < VHU_MAX_REGIONS; i++) {
		if (b->maps[i].base)
			munmap(b->maps[i].base, b->maps[i].len);
		b->maps[i] = (struct vub_map){ 0 };
	}
	memset(&b->gm, 0, sizeof(b->gm));
}

static int map_region(struct vub *b, const struct vhu_region *r, int fd, struct vub_map *m)
{
	struct statfs sfs;
	struct stat st;
	uint64_t end;
	int seals;
	void *p;

	if (r->size == 0 || r->size > SIZE_MAX)
		return refuse(b, "memory region at 0x%" PRIx64 ": size 0x%" PRIx64, r->gpa, r->size);
	if (__builtin_add_overflow(r->mmap_offset, r->size, &end) || end > INT64_MAX ||
	    __builtin_add_overflow(r->uva, r->size - 1, &end))
		return refuse(b, "memory region at 0x%" PRIx64 ": offset or address wraps", r->gpa);
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < r->mmap_offset + r->size)
		return refuse(b, "memory region at 0x%" PRIx64 ": file smaller than offset+size", r->gpa);
	/* Memory truncated under us would make each access past the new end a
	 * SIGBUS.  A memfd sealed against shrinking cannot be; a tmpfs file
	 * (hull's huge-page guest RAM, which cannot be sealed) can, by the
	 * frontend alone, which can end this connection anyway: the process
	 * that serves it turns that SIGBUS into a clean exit
	 * (cmd_virtiofsd.c).  Anything else (a disk file's I/O errors) is
	 * refused. */
	seals = fcntl(fd, F_GET_SEALS);
	if ((seals < 0 || !(seals & F_SEAL_SHRINK)) && (fstatfs(fd, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC))
		return refuse(b, "memory region at 0x%" PRIx64 ": neither a memfd sealed against shrinking nor a tmpfs file",
			      r->gpa);
	p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, (off_t)r->mmap_offset);
	if (p == MAP_FAILED)
		return refuse(b, "memory region at 0x%" PRIx64 ": mmap: %s", r->gpa, strerror(errno));
	madvise(p, r->size, MADV_DONTDUMP);
	*m = (struct vub_map){ .base = p, .len = r->size, .uva = r->uva };
	return 0;
}

static int set_mem_table(struct vub *b, const struct vhu_msg *m, int *fds, unsigned int nfds)
{
	const struct vhu_mem *mem = &m->p.mem;
	struct vub_map maps[VHU_MAX_REGIONS] = { 0 };
	struct guest_mem gm = { 0 };
	struct hull_err *e = NULL;
	unsigned int i;
	int r = 0;

	if (m->size < 8 || mem->nregions == 0 || mem->nregions > VHU_MAX_REGIONS ||
	    m->size != VHU_MEM_SIZE(mem->nregions) || nfds != mem->nregions)
		return refuse(b, "SET_MEM_TABLE: %" PRIu32 " regions in %" PRIu32 " bytes with %u fds",
			      m->size >= 8 ? mem->nregions : 0, m->size, nfds);
	for (i = 0; i < mem->nregions && r == 0; i++) {
		r = map_region(b, &mem->regions[i], fds[i], &maps[i]);
		if (r == 0 && gm_add_region(&gm, mem->regions[i].gpa, mem->regions[i].size, maps[i].base, &e) < 0) {
			r = refuse(b, "SET_MEM_TABLE: %s", e->msg);
			hull_err_free(&e);
		}
	}
	if (r) {
		for (i = 0; i < VHU_MAX_REGIONS; i++)
			if (maps[i].base)
				munmap(maps[i].base, maps[i].len);
		return r;
	}
	/* Running rings keep their guest addresses; they are re-checked against
	 * the new table before anything touches them again. */
	for (i = 0; i < VUB_MAX_QUEUES; i++)
		queue_stop(b, &b->q[i]);
	unmap_all(b);
	b->gm = gm;
	memcpy(b->maps, maps, sizeof(maps));
	for (i = 0; i < VUB_MAX_QUEUES; i++)
		queue_try_start(b, i);
	return 0;
}

/* ---- messages ------------------------------------------------------------------ */

static bool needs_fds(const struct vhu_msg *m, unsigned int *n)
{
	switch (m->request) {
	case VHU_SET_MEM_TABLE:
		*n = m->size >= 8 && m->p.mem.nregions <= VHU_MAX_REGIONS ? m->p.mem.nregions : 0;
		return true;
	case VHU_SET_VRING_KICK:
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR:
		*n = m->size == sizeof(uint64_t) && !(m->p.u64 & VHU_VRING_NOFD) ? 1 : 0;
		return true;
	default:
		*n = 0;
		return false;
	}
}

static int reply(struct vub *b, uint32_t req, const void *payload, uint32_t size, struct hull_err **err)
{
	struct vhu_msg m = { .request = req, .flags = VHU_VERSION | VHU_FLAG_REPLY, .size = size };
	int r;

	memcpy(&m.p, payload, size);
	r = vhu_send(b->sock, &m, NULL, 0);
	return r < 0 ? hull_err_make(err, -r, "vhost-user %s: reply", b->ops->name) : 0;
}

/* Index of a queue-addressed request, or -1 (refused). */
static int vring_index(struct vub *b, const struct vhu_msg *m, uint32_t size, uint32_t idx)
{
	if (m->size != size)
		return -refuse(b, "request %" PRIu32 ": %" PRIu32 " payload bytes", m->request, m->size);
	if (idx >= b->ops->num_queues)
		return -refuse(b, "request %" PRIu32 ": queue %" PRIu32 " of %u", m->request, idx,
			       b->ops->num_queues);
	return (int)idx;
}

static bool is_get(uint32_t req)
{
	return req == VHU_GET_FEATURES || req == VHU_GET_PROTOCOL_FEATURES || req == VHU_GET_QUEUE_NUM ||
	       req == VHU_GET_VRING_BASE;
}

/* Requests answered with a payload: 0, or -1 (err set) when the reply
 * cannot be sent or the request is too malformed to answer. */
static int handle_get(struct vub *b, const struct vhu_msg *m, struct hull_err **err)
{
	uint64_t v;

	switch (m->request) {
	case VHU_GET_FEATURES:
		v = BACKEND_FEATURES | b->ops->features;
		return reply(b, m->request, &v, sizeof(v), err);
	case VHU_GET_PROTOCOL_FEATURES:
		v = BACKEND_PROTOCOL;
		return reply(b, m->request, &v, sizeof(v), err);
	case VHU_GET_QUEUE_NUM:
		v = b->ops->num_queues;
		return reply(b, m->request, &v, sizeof(v), err);
	case VHU_GET_VRING_BASE: {
		struct vhu_vring_state st;
		int qi;
		if (m->size != sizeof(st))
			return hull_err_make(err, EPROTO, "vhost-user %s: GET_VRING_BASE of %" PRIu32 " bytes",
					     b->ops->name, m->size);
		st = m->p.state;
		qi = vring_index(b, m, sizeof(st), st.index);
		if (qi >= 0) {
			/* Stops the ring (vhost-user.rst): a new KICK restarts it. */
			queue_stop(b, &b->q[qi]);
			replace_fd(&b->q[qi].kick, -1);
			st.num = b->q[qi].base;
		} else {
			st.num = 0;
		}
		return reply(b, m->request, &st, sizeof(st), err);
	}
	default:
		return hull_err_make(err, EINVAL, "vhost-user: request %" PRIu32 " is not a GET", m->request);
	}
}

/* Requests without a payload reply: 0 done, 1 refused.  Consumes fds. */
static int handle_set(struct vub *b, const struct vhu_msg *m, int *fds, unsigned int nfds)
{
	unsigned int want = 0;
	struct vub_queue *q;
	int qi, fd;

	if (needs_fds(m, &want) ? nfds != want : nfds != 0) {
		vhu_close_fds(fds, nfds);
		return refuse(b, "request %" PRIu32 " with %u fds", m->request, nfds);
	}
	switch (m->request) {
	case VHU_SET_OWNER:
		return m->size == 0 ? 0 : refuse(b, "SET_OWNER with a payload");
	case VHU_RESET_OWNER:
		for (unsigned int i = 0; i < VUB_MAX_QUEUES; i++)
			queue_stop(b, &b->q[i]);
		b->features = 0;
		return 0;
	case VHU_SET_FEATURES:
		if (m->size != sizeof(uint64_t) || (m->p.u64 & ~(BACKEND_FEATURES | b->ops->features)))
			return refuse(b, "SET_FEATURES: bits never offered");
		b->features = m->p.u64;
		/* Without protocol features a ring is enabled from the start. */
		for (unsigned int i = 0; i < VUB_MAX_QUEUES; i++)
			if (!(b->features & (1ULL << VHU_F_PROTOCOL_FEATURES)))
				b->q[i].enabled = true;
		return 0;
	case VHU_SET_PROTOCOL_FEATURES:
		if (m->size != sizeof(uint64_t) || (m->p.u64 & ~BACKEND_PROTOCOL))
			return refuse(b, "SET_PROTOCOL_FEATURES: bits never offered");
		b->protocol = m->p.u64;
		return 0;
	case VHU_SET_MEM_TABLE: {
		int r = set_mem_table(b, m, fds, nfds);
		vhu_close_fds(fds, nfds); /* the mappings keep the files */
		return r;
	}
	case VHU_SET_VRING_NUM:
		if ((qi = vring_index(b, m, sizeof(struct vhu_vring_state), m->p.state.index)) < 0)
			return 1;
		q = &b->q[qi];
		if (q->running)
			return refuse(b, "SET_VRING_NUM on running queue %d", qi);
		if (m->p.state.num == 0 || m->p.state.num > VIRTQ_MAX_SIZE || (m->p.state.num & (m->p.state.num - 1)))
			return refuse(b, "SET_VRING_NUM: queue %d size %" PRIu32, qi, m->p.state.num);
		q->num = (uint16_t)m->p.state.num;
		q->num_set = true;
		return 0;
	case VHU_SET_VRING_BASE:
		if ((qi = vring_index(b, m, sizeof(struct vhu_vring_state), m->p.state.index)) < 0)
			return 1;
		if (b->q[qi].running || m->p.state.num > UINT16_MAX)
			return refuse(b, "SET_VRING_BASE: queue %d base %" PRIu32, qi, m->p.state.num);
		b->q[qi].base = (uint16_t)m->p.state.num;
		return 0;
	case VHU_SET_VRING_ADDR:
		if ((qi = vring_index(b, m, sizeof(struct vhu_vring_addr), m->p.addr.index)) < 0)
			return 1;
		q = &b->q[qi];
		if (q->running || m->p.addr.flags != 0)
			return refuse(b, "SET_VRING_ADDR: queue %d running or flags 0x%" PRIx32, qi, m->p.addr.flags);
		q->desc = m->p.addr.desc;
		q->avail = m->p.addr.avail;
		q->used = m->p.addr.used;
		q->addr_set = true;
		return 0;
	case VHU_SET_VRING_KICK:
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR:
		fd = nfds ? fds[0] : -1;
		if ((qi = vring_index(b, m, sizeof(uint64_t), (uint32_t)(m->p.u64 & VHU_VRING_IDX_MASK))) < 0 ||
		    (m->p.u64 & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD))) {
			if (fd >= 0)
				close(fd);
			return qi < 0 ? 1 : refuse(b, "request %" PRIu32 ": bad flags", m->request);
		}
		q = &b->q[qi];
		if (m->request == VHU_SET_VRING_CALL) {
			replace_fd(&q->call, fd);
			return 0;
		}
		if (m->request == VHU_SET_VRING_ERR) {
			replace_fd(&q->err, fd);
			return 0;
		}
		if (fd < 0)
			return refuse(b, "SET_VRING_KICK: queue %d: polling mode is not supported", qi);
		/* A new kick fd (re)starts the ring. */
		queue_stop(b, q);
		replace_fd(&q->kick, fd);
		if (!(b->features & (1ULL << VHU_F_PROTOCOL_FEATURES)))
			q->enabled = true;
		return queue_try_start(b, (unsigned int)qi);
	case VHU_SET_VRING_ENABLE:
		if ((qi = vring_index(b, m, sizeof(struct vhu_vring_state), m->p.state.index)) < 0)
			return 1;
		if (m->p.state.num > 1)
			return refuse(b, "SET_VRING_ENABLE: queue %d: %" PRIu32, qi, m->p.state.num);
		b->q[qi].enabled = m->p.state.num;
		if (!b->q[qi].enabled) {
			queue_stop(b, &b->q[qi]);
			return 0;
		}
		return queue_try_start(b, (unsigned int)qi);
	default:
		return refuse(b, "unsupported request %" PRIu32, m->request);
	}
}

static int handle_msg(struct vub *b, struct hull_err **err)
{
	int fds[VHU_MAX_FDS];
	unsigned int nfds = 0;
	struct vhu_msg m;
	int r = vhu_recv(b->sock, &m, fds, VHU_MAX_FDS, &nfds);

	if (r == -EPIPE)
		return 1; /* the frontend went away: the normal end */
	if (r < 0)
		return hull_err_make(err, -r == EPROTO ? EPROTO : -r, "vhost-user %s: receive", b->ops->name);
	if ((m.flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION || (m.flags & VHU_FLAG_REPLY)) {
		vhu_close_fds(fds, nfds);
		return hull_err_make(err, EPROTO, "vhost-user %s: request %" PRIu32 " with flags 0x%" PRIx32,
				     b->ops->name, m.request, m.flags);
	}
	if (is_get(m.request)) {
		vhu_close_fds(fds, nfds);
		if (nfds)
			return hull_err_make(err, EPROTO, "vhost-user %s: fds with request %" PRIu32, b->ops->name,
					     m.request);
		return handle_get(b, &m, err);
	}
	r = handle_set(b, &m, fds, nfds);
	if ((m.flags & VHU_FLAG_NEED_REPLY) && (b->protocol & (1ULL << VHU_PROTOCOL_F_REPLY_ACK))) {
		uint64_t status = (uint64_t)r;
		return reply(b, m.request, &status, sizeof(status), err);
	}
	return 0;
}

/* ---- the loop ------------------------------------------------------------------- */

static int serve(struct vub *b, struct hull_err **err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };

	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->sock, &ev) < 0)
		return hull_err_make(err, errno, "vhost-user %s: epoll", b->ops->name);
	for (;;) {
		struct epoll_event evs[VUB_MAX_QUEUES + 1];
		int n = epoll_wait(b->epfd, evs, ARRAY_SIZE(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hull_err_make(err, errno, "vhost-user %s: epoll_wait", b->ops->name);
		}
		for (int i = 0; i < n; i++) {
			uint32_t id = evs[i].data.u32;
			if (id == 0) {
				int r = handle_msg(b, err);
				if (r != 0)
					return r > 0 ? 0 : r;
				continue;
			}
			/* A queue stopped by a message earlier in this batch is no
			 * longer in the set; its event is stale. */
			if (id - 1 < VUB_MAX_QUEUES && b->q[id - 1].running) {
				uint64_t cnt;
				if (read(b->q[id - 1].kick, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
					hull_debug("vhost-user: kick read: %s", strerror(errno));
				queue_process(b, id - 1);
			}
		}
	}
}

int vhost_user_backend_run(int fd, const struct vub_ops *ops, void *opaque, struct hull_err **err)
{
	struct vub b = { .sock = -1, .epfd = -1, .ops = ops, .opaque = opaque };
	int listening = 0;
	socklen_t len = sizeof(listening);
	int r;

	if (!ops || !ops->handle || ops->num_queues == 0 || ops->num_queues > VUB_MAX_QUEUES)
		return hull_err_make(err, EINVAL, "vhost-user backend: bad device ops");
	for (unsigned int i = 0; i < VUB_MAX_QUEUES; i++)
		b.q[i].kick = b.q[i].call = b.q[i].err = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return hull_err_make(err, errno, "vhost-user %s: socket", ops->name);
	if (listening) {
		do
			b.sock = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		while (b.sock < 0 && errno == EINTR);
		if (b.sock < 0)
			return hull_err_make(err, errno, "vhost-user %s: accept", ops->name);
	} else {
		b.sock = fd;
	}
	b.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b.epfd < 0)
		r = hull_err_make(err, errno, "vhost-user %s: epoll_create1", ops->name);
	else
		r = serve(&b, err);
	for (unsigned int i = 0; i < VUB_MAX_QUEUES; i++) {
		queue_stop(&b, &b.q[i]);
		replace_fd(&b.q[i].kick, -1);
		replace_fd(&b.q[i].call, -1);
		replace_fd(&b.q[i].err, -1);
	}
	unmap_all(&b);
	if (b.epfd >= 0)
		close(b.epfd);
	if (listening)
		close(b.sock);
	return r;
}
