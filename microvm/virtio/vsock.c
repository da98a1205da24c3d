/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (virtio 1.2 §5.10) with Firecracker's "hybrid" host side:
 * guest AF_VSOCK stream sockets map to host AF_UNIX stream sockets.
 *
 * - Host-initiated: a host client connects to the listening socket U and
 *   writes "CONNECT <port>\n"; we send REQUEST to that guest port, answer
 *   "OK <local port>\n" when the guest sends RESPONSE (close the client on
 *   RST), then relay bytes.
 * - Guest-initiated to host port P: we connect to "U_P"; no listener there
 *   (or no free connection slot) answers RST to the guest.
 *
 * Queues: rx (0) carries packets to the guest, tx (1) packets from it, and
 * the event queue (2) is never used (no migration: no TRANSPORT_RESET).
 *
 * Nothing is buffered without bound (Firecracker #2177):
 * - host -> guest bytes are read from the Unix socket straight into a guest
 *   rx buffer, only while the guest has posted one and has credit left
 *   (peer buf_alloc - bytes in flight); otherwise the fd is not watched and
 *   the bytes stay in the host socket (the host writer blocks);
 * - guest -> host bytes go straight to the Unix socket; what it cannot take
 *   now waits in a per-connection ring of VSOCK_BUF_ALLOC bytes, which is
 *   exactly the credit we advertise, so a guest that overruns it breaks
 *   only its own connection (RST);
 * - control packets owed to the guest are per-connection flags, and RSTs for
 *   connections that no longer exist a fixed ring (dropped when full);
 * - at most VSOCK_MAX_CONNS connections, host clients still writing their
 *   CONNECT line included; CONNECT lines are at most VSOCK_LINE_MAX bytes.
 *
 * Threads and locks: everything runs under d->lock, from the event loop
 * (queue kicks, our fd callbacks) or a vCPU (reset).  Callbacks get a
 * pointer into the fixed conns[] array, never freed before destroy, so an
 * event already returned by epoll for a connection that a vCPU reset just
 * closed finds a free (or reused) slot and is handled as a spurious wake-up.
 */
#include "microvm/virtio/virtio.h"

#include <endian.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2
#define VSOCK_QUEUE_SIZE 256

#define VSOCK_CID_HOST 2
#define VSOCK_TYPE_STREAM 1
#define VSOCK_F_STREAM 0

enum vsock_op {
	OP_INVALID = 0,
	OP_REQUEST = 1,
	OP_RESPONSE = 2,
	OP_RST = 3,
	OP_SHUTDOWN = 4,
	OP_RW = 5,
	OP_CREDIT_UPDATE = 6,
	OP_CREDIT_REQUEST = 7,
};

#define SHUT_F_RCV 1u  /* the sender will receive no more */
#define SHUT_F_SEND 2u /* the sender will send no more */

/* §5.10.6 struct virtio_vsock_hdr, little endian */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));
#define VSOCK_HDR_SIZE sizeof(struct vsock_hdr) /* 44 */

/* Guest -> host bytes we accept ahead of the Unix socket (our buf_alloc). */
#define VSOCK_BUF_ALLOC (64u * 1024)
/* Largest payload we put in one rx packet (Linux's own cap). */
#define VSOCK_MAX_PKT (64u * 1024)
#define VSOCK_LINE_MAX 32
/* Connections at once, host clients still writing CONNECT included: with
 * the ring above, at most 4 MiB of guest bytes held per device. */
#define VSOCK_MAX_CONNS 64
#define VSOCK_RST_RING 64
/* Packets moved per wake-up, so one busy connection cannot hog the loop
 * (epoll is level-triggered: we are called again). */
#define VSOCK_BATCH 64
/* A host client has this long from accept to its CONNECT line, and the guest
 * from then to its RESPONSE (Firecracker gives the guest 2 s; slow nested
 * guests get more): a silent client or a guest that never answers (or never
 * posts rx buffers) cannot hold a connection slot and its client forever. */
#define VSOCK_HANDSHAKE_MS 10000
/* Host-side ports of host-initiated connections, as Firecracker numbers them. */
#define VSOCK_LOCAL_PORT_BASE (1u << 30)

enum conn_state { C_FREE, C_LINE, C_CONNECTING, C_ESTABLISHED };

/* control packets owed to the guest */
enum {
	P_REQUEST = 1u << 0,
	P_RESPONSE = 1u << 1,
	P_CREDIT_UPDATE = 1u << 2,
	P_CREDIT_REQUEST = 1u << 3,
	P_SHUTDOWN = 1u << 4,
};

struct vsock;

struct vsock_conn {
	struct vsock *v;
	enum conn_state state;
	int fd;
	uint32_t events;            /* what d->loop watches on fd, 0 = not registered */
	uint32_t local_port, peer_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt;            /* payload bytes sent to the guest */
	uint32_t fwd_cnt;           /* guest payload bytes written to fd */
	uint32_t fwd_cnt_sent;      /* fwd_cnt in the last packet the guest got */
	uint8_t pend;               /* P_* */
	uint8_t shut_flags;         /* SHUTDOWN flags we owe the guest */
	uint8_t guest_shut;         /* SHUT_F_* the guest sent */
	bool host_eof;              /* fd read returned 0: nothing more to read */
	bool host_wr_shut;          /* shutdown(fd, SHUT_WR) done */
	bool credit_requested;      /* CREDIT_REQUEST sent for the current stall */
	uint64_t since;             /* CLOCK_MONOTONIC ns C_LINE/C_CONNECTING began */
	char line[VSOCK_LINE_MAX];
	size_t line_len;
	uint8_t *txbuf;             /* ring of VSOCK_BUF_ALLOC, allocated on demand */
	uint32_t tx_head, tx_len;
};

struct vsock {
	struct virtio_dev *d;
	uint64_t cid;
	char *uds;
	int listen_fd;
	bool listening;             /* listen_fd registered in d->loop */
	bool active;                /* between activate and reset */
	bool rx_starved;            /* no rx buffer: wait for an rx kick */
	bool accept_paused;         /* out of fds: listener unwatched until settle() */
	int spare_fd;               /* kept to refuse a client when out of fds */
	int timer_fd;               /* handshake deadlines (timerfd, absolute) */
	bool timer_watched;
	uint64_t timer_at;          /* deadline the timer is armed for, 0 = none */
	uint64_t handshake_ns;
	uint32_t next_local_port;
	unsigned int rr;            /* round-robin start for control packets */
	struct { uint32_t local, peer; } rst[VSOCK_RST_RING];
	unsigned int rst_head, rst_n;
	struct vsock_conn conns[VSOCK_MAX_CONNS];
};

static void conn_event(void *opaque, uint32_t events);
static void set_listening(struct vsock *v, bool on);

/* ---- connections ------------------------------------------------------------ */

static uint32_t peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	/* a peer reporting more consumed than we sent gets no credit */
	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void queue_rst(struct vsock *v, uint32_t local, uint32_t peer)
{
	if (v->rst_n == VSOCK_RST_RING) {
		hull_debug("virtio-vsock: RST ring full, dropping RST %u -> %u", local, peer);
		return;
	}
	v->rst[(v->rst_head + v->rst_n) % VSOCK_RST_RING].local = local;
	v->rst[(v->rst_head + v->rst_n) % VSOCK_RST_RING].peer = peer;
	v->rst_n++;
}

static void conn_kill(struct vsock_conn *c, bool rst);

static void set_watch(struct vsock_conn *c, uint32_t want)
{
	struct virtio_dev *d = c->v->d;

	if (want == c->events || !d->loop)
		return;
	if (c->events)
		(void)evloop_del(d->loop, c->fd);
	c->events = 0;
	if (!want)
		return;
	int r = evloop_add(d->loop, c->fd, want, conn_event, c);
	if (r < 0) {
		/* an unwatched connection would hang: end it (want is 0 there) */
		hull_warn("virtio-vsock: watch fd %d: %s", c->fd, strerror(-r));
		conn_kill(c, true);
		return;
	}
	c->events = want;
}

/* Close the host side and free the slot; with rst, tell the guest. */
static void conn_kill(struct vsock_conn *c, bool rst)
{
	struct vsock *v = c->v;

	/* a REQUEST never sent left nothing on the guest's side to reset */
	if (rst && (c->state == C_ESTABLISHED || (c->state == C_CONNECTING && !(c->pend & P_REQUEST))))
		queue_rst(v, c->local_port, c->peer_port);
	set_watch(c, 0);
	if (c->fd >= 0)
		close(c->fd);
	free(c->txbuf);
	*c = (struct vsock_conn){ .v = v, .state = C_FREE, .fd = -1 };
}

static bool want_read(const struct vsock_conn *c)
{
	return c->state == C_ESTABLISHED && !c->host_eof && !(c->guest_shut & SHUT_F_RCV) &&
	       !(c->pend & P_RESPONSE) && !c->v->rx_starved && peer_credit(c) > 0;
}

/* Watch fd for what the connection can do now; a stall on credit asks the
 * guest once for an update (Linux also sends them unasked as it reads). */
static void conn_update(struct vsock_conn *c)
{
	uint32_t want = 0;

	if (c->state == C_FREE)
		return;
	if (c->state == C_LINE)
		want = EPOLLIN;
	if (c->state == C_ESTABLISHED) {
		if (want_read(c))
			want |= EPOLLIN;
		if (c->tx_len)
			want |= EPOLLOUT;
		if (peer_credit(c) > 0) {
			c->credit_requested = false;
		} else if (!c->credit_requested && !c->host_eof && !(c->guest_shut & SHUT_F_RCV)) {
			c->pend |= P_CREDIT_REQUEST;
			c->credit_requested = true;
		}
	}
	set_watch(c, want);
}

static struct vsock_conn *conn_find(struct vsock *v, uint32_t local, uint32_t peer)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];

		if ((c->state == C_CONNECTING || c->state == C_ESTABLISHED) && c->local_port == local &&
		    c->peer_port == peer)
			return c;
	}
	return NULL;
}

static struct vsock_conn *conn_alloc(struct vsock *v, int fd)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];

		if (c->state == C_FREE) {
			*c = (struct vsock_conn){ .v = v, .fd = fd };
			return c;
		}
	}
	return NULL;
}

/* A host-side port no live connection uses, so (local, peer) stays unique. */
static uint32_t alloc_local_port(struct vsock *v)
{
	for (;;) {
		uint32_t p = v->next_local_port++;
		bool used = false;

		if (v->next_local_port == UINT32_MAX)
			v->next_local_port = VSOCK_LOCAL_PORT_BASE;
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS && !used; i++)
			used = v->conns[i].state != C_FREE && v->conns[i].local_port == p;
		if (!used)
			return p; /* at most VSOCK_MAX_CONNS rounds */
	}
}

/* ---- packets to the guest (rx queue) ------------------------------------------ */

static void fill_hdr(struct vsock *v, struct vsock_hdr *h, uint32_t local, uint32_t peer, uint16_t op,
		     uint32_t flags, uint32_t len, struct vsock_conn *c)
{
	*h = (struct vsock_hdr){
		.src_cid = htole64(VSOCK_CID_HOST),
		.dst_cid = htole64(v->cid),
		.src_port = htole32(local),
		.dst_port = htole32(peer),
		.len = htole32(len),
		.type = htole16(VSOCK_TYPE_STREAM),
		.op = htole16(op),
		.flags = htole32(flags),
		.buf_alloc = htole32(VSOCK_BUF_ALLOC),
		.fwd_cnt = htole32(c ? c->fwd_cnt : 0),
	};
	if (c)
		c->fwd_cnt_sent = c->fwd_cnt;
}

/* Pop an rx buffer that can hold at least a header.  1 = got one, 0 = none
 * (device starved or broken). */
static int rx_pop(struct vsock *v, struct virtq_chain *ch)
{
	struct virtio_dev *d = v->d;

	for (;;) {
		int r;

		if (virtio_dev_broken(d) || v->rx_starved)
			return 0;
		r = virtq_pop(&d->vqs[VSOCK_RXQ], ch);
		if (r < 0) {
			virtio_dev_set_broken(d, "malformed rx queue");
			return 0;
		}
		if (r == 0) {
			v->rx_starved = true;
			return 0;
		}
		if (ch->in_len >= VSOCK_HDR_SIZE)
			return 1;
		/* no room for a header: give it back empty, as Firecracker does */
		virtio_dev_complete(d, VSOCK_RXQ, ch->head, 0);
		virtq_chain_release(ch);
	}
}

static bool rx_send_ctl(struct vsock *v, const struct vsock_hdr *h)
{
	struct virtq_chain ch;

	if (!rx_pop(v, &ch))
		return false;
	virtq_chain_write(&ch, 0, h, VSOCK_HDR_SIZE);
	virtio_dev_complete(v->d, VSOCK_RXQ, ch.head, VSOCK_HDR_SIZE);
	virtq_chain_release(&ch);
	return true;
}

/* The next control packet a connection owes, in the order the guest needs. */
static bool conn_send_ctl(struct vsock_conn *c)
{
	static const struct { uint8_t bit; uint16_t op; } order[] = {
		{ P_REQUEST, OP_REQUEST },           { P_RESPONSE, OP_RESPONSE },
		{ P_CREDIT_UPDATE, OP_CREDIT_UPDATE }, { P_CREDIT_REQUEST, OP_CREDIT_REQUEST },
		{ P_SHUTDOWN, OP_SHUTDOWN },
	};
	struct vsock_hdr h;

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (!(c->pend & order[i].bit))
			continue;
		fill_hdr(c->v, &h, c->local_port, c->peer_port, order[i].op,
			 order[i].op == OP_SHUTDOWN ? c->shut_flags : 0, 0, c);
		if (!rx_send_ctl(c->v, &h))
			return false;
		c->pend &= (uint8_t)~order[i].bit;
		/* any packet told the guest our fwd_cnt */
		if (order[i].op != OP_CREDIT_UPDATE)
			c->pend &= (uint8_t)~P_CREDIT_UPDATE;
		return true;
	}
	return false;
}

/* Send every control packet owed while rx buffers last. */
static void rx_flush(struct vsock *v)
{
	struct vsock_hdr h;

	while (v->rst_n) {
		fill_hdr(v, &h, v->rst[v->rst_head].local, v->rst[v->rst_head].peer, OP_RST, 0, 0, NULL);
		if (!rx_send_ctl(v, &h))
			return;
		v->rst_head = (v->rst_head + 1) % VSOCK_RST_RING;
		v->rst_n--;
	}
	for (unsigned int n = 0; n < VSOCK_MAX_CONNS; n++) {
		struct vsock_conn *c = &v->conns[(v->rr + n) % VSOCK_MAX_CONNS];

		while (c->pend && (c->state == C_CONNECTING || c->state == C_ESTABLISHED))
			if (!conn_send_ctl(c)) {
				v->rr = (v->rr + n) % VSOCK_MAX_CONNS;
				return;
			}
	}
}

static void update_all(struct vsock *v)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		conn_update(&v->conns[i]);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void timer_event(void *opaque, uint32_t events);

/* Arm the timer for the earliest handshake deadline; watch it only then. */
static void arm_timer(struct vsock *v)
{
	struct virtio_dev *d = v->d;
	uint64_t first = 0;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &v->conns[i];

		if ((c->state == C_LINE || c->state == C_CONNECTING) && (!first || c->since < first))
			first = c->since;
	}
	if (first)
		first += v->handshake_ns;
	if (first == v->timer_at || !d->loop)
		return;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(first / 1000000000u),
						.tv_nsec = (long)(first % 1000000000u) } };
	/* first == 0 disarms */
	if (timerfd_settime(v->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		hull_warn("virtio-vsock: timerfd_settime: %s", strerror(errno));
		return;
	}
	v->timer_at = first;
	if (first && !v->timer_watched) {
		int r = evloop_add(d->loop, v->timer_fd, EPOLLIN, timer_event, v);
		if (r < 0)
			hull_warn("virtio-vsock: watch timer: %s", strerror(-r));
		else
			v->timer_watched = true;
	} else if (!first && v->timer_watched) {
		(void)evloop_del(d->loop, v->timer_fd);
		v->timer_watched = false;
	}
}

/* Finish a device event: owed packets out, then watches match the state. */
static void settle(struct vsock *v)
{
	if (v->accept_paused && v->active) {
		v->accept_paused = false; /* a connection may have ended: try again */
		set_listening(v, true);
	}
	rx_flush(v);
	update_all(v);
	/* a credit stall noticed by update_all queued a CREDIT_REQUEST */
	rx_flush(v);
	arm_timer(v);
}

/* iovecs over a chain's buffers of one direction, for [off, off+len). */
static unsigned int chain_iov(const struct virtq_chain *ch, bool write, uint64_t off, uint64_t len,
			      struct iovec *iov, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ch->n && n < max && len; i++) {
		const struct virtq_buf *b = &ch->bufs[i];

		if (b->write != write)
			continue;
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		uint64_t take = b->len - off < len ? b->len - off : len;
		iov[n++] = (struct iovec){ .iov_base = (uint8_t *)b->hva + off, .iov_len = take };
		len -= take;
		off = 0;
	}
	return n;
}

static void host_eof(struct vsock_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	c->host_eof = true;
	c->shut_flags = SHUT_F_SEND;
	/* both directions gone (the client closed, not only shut its write
	 * side): the guest will get nothing from us either */
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
		c->shut_flags |= SHUT_F_RCV;
	c->pend |= P_SHUTDOWN;
}

/* Host bytes into guest rx buffers, within credit and buffers. */
static void conn_readable(struct vsock_conn *c)
{
	struct vsock *v = c->v;

	for (int i = 0; i < VSOCK_BATCH && want_read(c); i++) {
		struct iovec iov[64];
		struct virtq_chain ch;
		struct vsock_hdr h;
		struct msghdr m = { .msg_iov = iov };
		uint64_t room;
		uint32_t want;
		ssize_t n;

		if (!rx_pop(v, &ch))
			return;
		room = ch.in_len - VSOCK_HDR_SIZE;
		want = peer_credit(c);
		if (want > VSOCK_MAX_PKT)
			want = VSOCK_MAX_PKT;
		if (want > room)
			want = (uint32_t)room;
		m.msg_iovlen = chain_iov(&ch, true, VSOCK_HDR_SIZE, want, iov, ARRAY_SIZE(iov));
		if (want == 0 || m.msg_iovlen == 0) {
			/* header-only buffer: nothing to read into, return it */
			virtio_dev_complete(v->d, VSOCK_RXQ, ch.head, 0);
			virtq_chain_release(&ch);
			continue;
		}
		do
			n = recvmsg(c->fd, &m, MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			fill_hdr(v, &h, c->local_port, c->peer_port, OP_RW, 0, (uint32_t)n, c);
			c->pend &= (uint8_t)~P_CREDIT_UPDATE;
			virtq_chain_write(&ch, 0, &h, VSOCK_HDR_SIZE);
			virtio_dev_complete(v->d, VSOCK_RXQ, ch.head, VSOCK_HDR_SIZE + (uint32_t)n);
			virtq_chain_release(&ch);
			c->rx_cnt += (uint32_t)n;
			continue;
		}
		/* nothing put on the used ring: the buffer is still the guest's
		 * next one, and the next pop re-reads the same avail slot */
		v->d->vqs[VSOCK_RXQ].last_avail--;
		virtq_chain_release(&ch);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == 0)
			host_eof(c);
		else
			conn_kill(c, true);
		return;
	}
}

/* ---- guest -> host bytes ------------------------------------------------------- */

static ssize_t host_send(int fd, const struct iovec *iov, size_t n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t r;

	do
		r = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return r;
}

static void forwarded(struct vsock_conn *c, uint32_t n)
{
	c->fwd_cnt += n;
	/* Tell the guest about freed credit once half the window is back: a
	 * guest stalled on a full window is then always woken. */
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 2)
		c->pend |= P_CREDIT_UPDATE;
}

/* The guest's shutdown takes effect on the host socket once its bytes are out. */
static void apply_guest_shutdown(struct vsock_conn *c)
{
	if (c->tx_len)
		return;
	if ((c->guest_shut & (SHUT_F_RCV | SHUT_F_SEND)) == (SHUT_F_RCV | SHUT_F_SEND)) {
		/* the guest closed: answer RST as Linux's own transport does */
		conn_kill(c, true);
		return;
	}
	if ((c->guest_shut & SHUT_F_SEND) && !c->host_wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
}

static void conn_writable(struct vsock_conn *c)
{
	while (c->tx_len) {
		uint32_t chunk = VSOCK_BUF_ALLOC - c->tx_head;
		struct iovec iov;
		ssize_t n;

		if (chunk > c->tx_len)
			chunk = c->tx_len;
		iov = (struct iovec){ .iov_base = c->txbuf + c->tx_head, .iov_len = chunk };
		n = host_send(c->fd, &iov, 1);
		if (n < 0) {
			conn_kill(c, true);
			return;
		}
		if (n == 0)
			return;
		c->tx_head = (c->tx_head + (uint32_t)n) % VSOCK_BUF_ALLOC;
		c->tx_len -= (uint32_t)n;
		forwarded(c, (uint32_t)n);
	}
	free(c->txbuf);
	c->txbuf = NULL;
	c->tx_head = 0;
	apply_guest_shutdown(c);
}

/* An RW packet's payload: straight to the socket when nothing is queued,
 * the rest into the ring; past our advertised credit is a protocol error. */
static void guest_rw(struct vsock_conn *c, const struct virtq_chain *ch, uint32_t len)
{
	uint32_t done = 0;

	if (len == 0)
		return;
	if ((c->guest_shut & SHUT_F_SEND) || len > VSOCK_BUF_ALLOC - c->tx_len) {
		hull_debug("virtio-vsock: port %u: data after shutdown or beyond credit", c->peer_port);
		conn_kill(c, true);
		return;
	}
	if (c->tx_len == 0) {
		struct iovec iov[64];
		unsigned int n = chain_iov(ch, false, VSOCK_HDR_SIZE, len, iov, ARRAY_SIZE(iov));
		ssize_t w = host_send(c->fd, iov, n);

		if (w < 0) {
			conn_kill(c, true);
			return;
		}
		done = (uint32_t)w;
		forwarded(c, done);
	}
	if (done < len && !c->txbuf)
		c->txbuf = xmalloc(VSOCK_BUF_ALLOC);
	while (done < len) {
		uint32_t tail = (c->tx_head + c->tx_len) % VSOCK_BUF_ALLOC;
		uint32_t chunk = VSOCK_BUF_ALLOC - tail;

		if (chunk > len - done)
			chunk = len - done;
		virtq_chain_read(ch, VSOCK_HDR_SIZE + done, c->txbuf + tail, chunk);
		c->tx_len += chunk;
		done += chunk;
	}
}

/* ---- packets from the guest (tx queue) ------------------------------------------ */

static void guest_connect(struct vsock *v, const struct vsock_hdr *h, uint32_t local, uint32_t peer)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds, local);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A Unix connect completes at once or fails (EAGAIN: backlog full). */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		hull_debug("virtio-vsock: guest port %u -> %s: %s", peer, sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		queue_rst(v, local, peer);
		return;
	}
	c = conn_alloc(v, fd);
	if (!c) {
		hull_debug("virtio-vsock: guest port %u -> host port %u: too many connections", peer, local);
		close(fd);
		queue_rst(v, local, peer);
		return;
	}
	c->state = C_ESTABLISHED;
	c->local_port = local;
	c->peer_port = peer;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	c->pend = P_RESPONSE;
}

static void conn_packet(struct vsock_conn *c, const struct vsock_hdr *h, const struct virtq_chain *ch)
{
	uint16_t op = le16toh(h->op);
	char ok[32];
	int n;

	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	if (op == OP_RST) {
		conn_kill(c, false);
		return;
	}
	if (c->state == C_CONNECTING) {
		if (op != OP_RESPONSE) {
			conn_kill(c, true);
			return;
		}
		n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
		struct iovec iov = { .iov_base = ok, .iov_len = (size_t)n };
		/* a fresh socket's buffer always takes a dozen bytes */
		if (host_send(c->fd, &iov, 1) != n) {
			conn_kill(c, true);
			return;
		}
		c->state = C_ESTABLISHED;
		return;
	}
	switch (op) {
	case OP_RW:
		guest_rw(c, ch, le32toh(h->len));
		return;
	case OP_CREDIT_UPDATE:
		return; /* the credit fields were read above */
	case OP_CREDIT_REQUEST:
		c->pend |= P_CREDIT_UPDATE;
		return;
	case OP_SHUTDOWN:
		c->guest_shut |= (uint8_t)(le32toh(h->flags) & (SHUT_F_RCV | SHUT_F_SEND));
		if ((c->guest_shut & SHUT_F_RCV) && !c->host_eof) {
			/* the host writer gets EPIPE instead of filling a socket nobody reads */
			shutdown(c->fd, SHUT_RD);
		}
		apply_guest_shutdown(c);
		return;
	default:
		/* REQUEST or RESPONSE on a live connection, or an unknown op */
		hull_debug("virtio-vsock: port %u: unexpected op %u", c->peer_port, op);
		conn_kill(c, true);
		return;
	}
}

static void guest_packet(struct vsock *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	struct vsock_conn *c;
	uint32_t local, peer, len;
	uint16_t op;

	if (ch->out_len < VSOCK_HDR_SIZE || virtq_chain_read(ch, 0, &h, VSOCK_HDR_SIZE) != VSOCK_HDR_SIZE) {
		hull_debug("virtio-vsock: tx packet shorter than its header");
		return;
	}
	/* not from our guest or not for the host: nobody to answer (Firecracker drops these) */
	if (le64toh(h.src_cid) != v->cid || le64toh(h.dst_cid) != VSOCK_CID_HOST) {
		hull_debug("virtio-vsock: tx packet %" PRIu64 " -> %" PRIu64 " dropped", (uint64_t)le64toh(h.src_cid),
			   (uint64_t)le64toh(h.dst_cid));
		return;
	}
	local = le32toh(h.dst_port);
	peer = le32toh(h.src_port);
	op = le16toh(h.op);
	len = le32toh(h.len);
	c = conn_find(v, local, peer);
	if (len > ch->out_len - VSOCK_HDR_SIZE || (op != OP_RW && len != 0) ||
	    le16toh(h.type) != VSOCK_TYPE_STREAM) {
		/* a length the buffers do not hold, or a type we never offered */
		hull_debug("virtio-vsock: port %u: bad tx packet (op %u, len %u)", peer, op, len);
		if (c)
			conn_kill(c, op != OP_RST);
		else if (op != OP_RST)
			queue_rst(v, local, peer);
		return;
	}
	if (c) {
		conn_packet(c, &h, ch);
		return;
	}
	if (op == OP_REQUEST)
		guest_connect(v, &h, local, peer);
	else if (op != OP_RST)
		queue_rst(v, local, peer); /* never answer an RST with one */
}

static void process_tx(struct vsock *v)
{
	struct virtio_dev *d = v->d;
	struct virtq_chain ch;
	int r;

	while ((r = virtq_pop(&d->vqs[VSOCK_TXQ], &ch)) > 0) {
		guest_packet(v, &ch);
		virtio_dev_complete(d, VSOCK_TXQ, ch.head, 0);
		virtq_chain_release(&ch);
		if (virtio_dev_broken(d))
			return;
	}
	if (r < 0)
		virtio_dev_set_broken(d, "malformed tx queue");
}

/* ---- host clients ----------------------------------------------------------------- */

/* "CONNECT <port>\n", port decimal 0..2^32-2 (2^32-1 is VMADDR_PORT_ANY). */
static int parse_connect(const char *s, size_t len, uint32_t *port)
{
	static const char pfx[] = "CONNECT ";
	uint64_t v = 0;
	size_t i = sizeof(pfx) - 1;

	if (len < i + 2 || memcmp(s, pfx, i) != 0 || s[len - 1] != '\n')
		return -EINVAL;
	for (; i < len - 1; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v >= UINT32_MAX)
			return -ERANGE;
	}
	*port = (uint32_t)v;
	return 0;
}

/* Read the CONNECT line without consuming a byte past its newline: those
 * are the client's first payload bytes. */
static void conn_line(struct vsock_conn *c)
{
	char buf[VSOCK_LINE_MAX];
	size_t room = sizeof(c->line) - c->line_len, take;
	char *nl;
	ssize_t n;
	uint32_t port;

	do
		n = recv(c->fd, buf, room, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		conn_kill(c, false);
		return;
	}
	nl = memchr(buf, '\n', (size_t)n);
	take = nl ? (size_t)(nl - buf) + 1 : (size_t)n;
	do
		n = recv(c->fd, c->line + c->line_len, take, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)take) {
		conn_kill(c, false);
		return;
	}
	c->line_len += take;
	if (!nl) {
		if (c->line_len == sizeof(c->line)) {
			hull_debug("virtio-vsock: host client: no CONNECT line in %zu bytes", c->line_len);
			conn_kill(c, false);
		}
		return;
	}
	if (parse_connect(c->line, c->line_len, &port) < 0) {
		hull_debug("virtio-vsock: host client: bad CONNECT line");
		conn_kill(c, false);
		return;
	}
	c->state = C_CONNECTING;
	c->since = now_ns();
	c->local_port = alloc_local_port(c->v);
	c->peer_port = port;
	c->pend = P_REQUEST;
}

static void conn_event(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct vsock *v = c->v;

	pthread_mutex_lock(&v->d->lock);
	/* the slot may have been closed (or reused) since epoll returned */
	if (c->events && !virtio_dev_broken(v->d)) {
		if (c->state == C_LINE)
			conn_line(c);
		if (c->state == C_ESTABLISHED && c->tx_len && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			conn_writable(c);
		if (c->state == C_ESTABLISHED && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			conn_readable(c);
		settle(v);
	}
	pthread_mutex_unlock(&v->d->lock);
}

/* Out of fds (or memory): the pending client cannot even be accepted to be
 * refused, and the level-triggered listener would spin.  The spare fd kept
 * for this moment lets us accept and close it; failing that, the listener
 * is unwatched until the next device event (settle). */
static void refuse_one(struct vsock *v, int why)
{
	if (v->spare_fd >= 0) {
		int fd;

		close(v->spare_fd);
		fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		v->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			hull_debug("virtio-vsock: %s: client refused: %s", v->uds, strerror(why));
			return;
		}
	}
	hull_warn("virtio-vsock: accept on %s: %s (pausing)", v->uds, strerror(why));
	set_listening(v, false);
	v->accept_paused = true;
}

static void listen_event(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;

	pthread_mutex_lock(&v->d->lock);
	for (int i = 0; v->listening && i < VSOCK_BATCH; i++) {
		struct vsock_conn *c;
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				refuse_one(v, errno);
			break;
		}
		c = conn_alloc(v, fd);
		if (!c) {
			/* over the limit: the client sees its connection closed */
			hull_debug("virtio-vsock: %s: too many connections", v->uds);
			close(fd);
			continue;
		}
		c->state = C_LINE;
		c->since = now_ns();
	}
	settle(v);
	pthread_mutex_unlock(&v->d->lock);
}

/* Handshakes past their deadline end: a silent client is closed, a guest
 * that never answered gets RST and its client is closed. */
static void timer_event(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	uint64_t expirations, now;

	pthread_mutex_lock(&v->d->lock);
	if (v->timer_watched && !virtio_dev_broken(v->d)) {
		if (read(v->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
			hull_debug("virtio-vsock: timerfd read: %s", strerror(errno));
		now = now_ns();
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
			struct vsock_conn *c = &v->conns[i];

			if ((c->state == C_LINE || c->state == C_CONNECTING) && c->since + v->handshake_ns <= now) {
				hull_debug("virtio-vsock: %s: handshake timed out (port %u)", v->uds, c->peer_port);
				conn_kill(c, c->state == C_CONNECTING);
			}
		}
		v->timer_at = UINT64_MAX; /* force re-arming */
		settle(v);
	}
	pthread_mutex_unlock(&v->d->lock);
}

/* ---- device ops ---------------------------------------------------------------------- */

static uint64_t vsock_features(struct virtio_dev *d)
{
	return 1ull << VSOCK_F_STREAM;
}

/* §5.10.4: le64 guest_cid */
static void vsock_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct vsock *v = d->priv;
	uint64_t cid = htole64(v->cid);

	if (off >= sizeof(cid) || len > sizeof(cid) - off)
		return;
	memcpy(buf, (const uint8_t *)&cid + off, len);
}

static void vsock_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
	/* guest_cid is read-only */
}

static void set_listening(struct vsock *v, bool on)
{
	struct virtio_dev *d = v->d;

	if (on == v->listening || !d->loop)
		return;
	if (!on) {
		(void)evloop_del(d->loop, v->listen_fd);
		v->listening = false;
		return;
	}
	int r = evloop_add(d->loop, v->listen_fd, EPOLLIN, listen_event, v);
	if (r < 0)
		hull_warn("virtio-vsock: watch %s: %s", v->uds, strerror(-r));
	else
		v->listening = true;
}

/* Host clients that connect before the driver is up wait in the listen
 * backlog until here. */
static int vsock_activate(struct virtio_dev *d)
{
	struct vsock *v = d->priv;

	v->active = true;
	v->rx_starved = false;
	set_listening(v, true);
	return 0;
}

static void vsock_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct vsock *v = d->priv;

	if (!v->active || virtio_dev_broken(d))
		return;
	if (qi == VSOCK_RXQ)
		v->rx_starved = false; /* new rx buffers */
	else if (qi == VSOCK_TXQ)
		process_tx(v);
	/* the event queue only holds buffers for events we never send */
	if (virtio_dev_broken(d))
		return;
	settle(v);
}

/* Driver reset: every connection ends (host clients see EOF), nothing owed. */
static void vsock_reset(struct virtio_dev *d)
{
	struct vsock *v = d->priv;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state != C_FREE)
			conn_kill(&v->conns[i], false);
	v->rst_n = 0;
	v->rst_head = 0;
	v->rx_starved = false;
	v->active = false;
	v->accept_paused = false;
	set_listening(v, false);
	arm_timer(v); /* no handshakes left: disarmed and unwatched */
}

static void vsock_destroy(struct virtio_dev *d)
{
	struct vsock *v = d->priv;

	if (!v)
		return;
	vsock_reset(d);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->uds);
	}
	if (v->spare_fd >= 0)
		close(v->spare_fd);
	close(v->timer_fd);
	free(v->uds);
	free(v);
	d->priv = NULL;
}

static const struct virtio_dev_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.pci_class = 0x07, /* communication, other */
	.pci_subclass = 0x80,
	.num_queues = 3,
	.queue_max_size = VSOCK_QUEUE_SIZE,
	.config_size = sizeof(uint64_t),
	.features = vsock_features,
	.config_read = vsock_config_read,
	.config_write = vsock_config_write,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
};

static int check(uint64_t cid, const char *uds, struct hull_err **err)
{
	struct sockaddr_un sa;
	struct stat st;

	if (cid < MICROVM_VSOCK_CID_MIN || cid > MICROVM_VSOCK_CID_MAX)
		return hull_err_make(err, 0, "vsock cid %" PRIu64 ": must be %u..%u", cid, MICROVM_VSOCK_CID_MIN,
				     MICROVM_VSOCK_CID_MAX);
	if (!uds || !*uds)
		return hull_err_make(err, 0, "vsock: a Unix socket path (uds=) is required");
	/* room for the "_<port>" of guest-initiated connections */
	if (strlen(uds) + sizeof("_4294967295") > sizeof(sa.sun_path))
		return hull_err_make(err, ENAMETOOLONG, "vsock uds %s: longer than %zu bytes", uds,
				     sizeof(sa.sun_path) - sizeof("_4294967295"));
	/* an existing path is refused, as Firecracker does: it may be another VM's */
	if (lstat(uds, &st) == 0)
		return hull_err_make(err, EEXIST, "vsock uds %s", uds);
	return 0;
}

struct virtio_dev *virtio_vsock_create(uint64_t cid, const char *uds, struct hull_err **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct virtio_dev *d;
	struct vsock *v;
	int fd;

	if (check(cid, uds, err) < 0)
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		hull_err_make(err, errno, "vsock: socket");
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	/* bind fails on an existing path (a race with check() included) */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		hull_err_make(err, errno, "vsock: bind %s", uds);
		close(fd);
		return NULL;
	}
	/* only the owner may reach the guest's ports */
	if (chmod(uds, 0600) < 0 || listen(fd, 64) < 0) {
		hull_err_make(err, errno, "vsock: listen %s", uds);
		close(fd);
		unlink(uds);
		return NULL;
	}
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0) {
		hull_err_make(err, errno, "vsock: timerfd_create");
		close(fd);
		unlink(uds);
		return NULL;
	}
	v = xcalloc(1, sizeof(*v));
	v->timer_fd = tfd;
	v->handshake_ns = VSOCK_HANDSHAKE_MS * 1000000ull;
	v->cid = cid;
	v->uds = xstrdup(uds);
	v->listen_fd = fd;
	v->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	v->next_local_port = VSOCK_LOCAL_PORT_BASE;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i] = (struct vsock_conn){ .v = v, .state = C_FREE, .fd = -1 };

	d = xcalloc(1, sizeof(*d));
	d->ops = &vsock_ops;
	d->priv = v;
	v->d = d;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

unsigned int virtio_vsock_count(const struct vm_config *cfg)
{
	return cfg->vsock_uds || cfg->vsock_cid;
}

static uint64_t cfg_cid(const struct vm_config *cfg)
{
	return cfg->vsock_cid ? cfg->vsock_cid : MICROVM_VSOCK_CID_DEFAULT;
}

int virtio_vsock_check(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	return check(cfg_cid(cfg), cfg->vsock_uds, err);
}

struct virtio_dev *virtio_vsock_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	struct virtio_dev *d = virtio_vsock_create(cfg_cid(cfg), cfg->vsock_uds, err);

	if (!d)
		hull_err_wrap(err, "virtio-vsock");
	return d;
}

void virtio_vsock_set_handshake_ms(struct virtio_dev *d, unsigned int ms)
{
	struct vsock *v = d->priv;

	pthread_mutex_lock(&d->lock);
	v->handshake_ns = ms * 1000000ull;
	v->timer_at = UINT64_MAX; /* handshakes under way get the new limit too */
	arm_timer(v);
	pthread_mutex_unlock(&d->lock);
}
