/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (virtio 1.2 §5.1) on a host tap device.
 *
 * Queues: receiveq/transmitq pair i at 2i/2i+1, then the controlq (at 2N
 * with VIRTIO_NET_F_MQ, N = max_virtqueue_pairs, else at 2).  Each pair owns
 * one queue of the tap (a multiqueue tap when N > 1).
 *
 * The tap speaks the same 12-byte virtio_net_hdr as the guest
 * (TUNSETVNETHDRSZ 12, little endian on x86), so translating is checking:
 * a transmitted header may only use offloads the driver acked (else the frame
 * is dropped), and a received header may only carry what the driver accepts
 * (TUNSETOFFLOAD follows the acked GUEST_* bits; num_buffers is ours).
 *
 * Data path: with vhost-net (vhost_net.c) the kernel serves the data queues
 * on the queues' KVM ioeventfds and MSI-X irqfds, and this file only runs the
 * controlq; otherwise the event loop runs everything here.  The guest sees the
 * same device either way.
 *
 * Hostile guest: a malformed ring breaks only this device; a short, oversized
 * or offload-violating frame is dropped.  Receive is bounded: at most one
 * frame per pair is held (rx_len), and with no receive buffer posted the tap
 * is not read until the guest kicks the receiveq again, so the kernel's tap
 * queue (not the VMM) absorbs, then drops, what the guest does not take.
 */
#include "microvm/virtio/virtio.h"
#include "net/net.h"

#include <endian.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/random.h>

#define NET_QUEUE_SIZE 256
#define NET_RX_BATCH 64     /* frames per tap wake-up: others get the loop too */
#define NET_RX_MAX_CHAINS 256

struct net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));
_Static_assert(sizeof(struct net_config) == 12, "virtio_net_config up to mtu");

struct net_pair {
	struct virtio_dev *d;
	unsigned int idx;
	int tap_fd;
	bool watched;               /* tap_fd is in the event loop */
	uint8_t *rxbuf;             /* one frame read from the tap, header first */
	size_t rx_len;              /* bytes of the held frame, 0 none */
	bool rx_paid;               /* the held frame passed the receive limiter */
	uint8_t *txbuf;
};

struct net {
	struct virtio_dev_ops ops;  /* per instance: queue count, vhost */
	struct net_config cfg;
	unsigned int max_pairs, cur_pairs;
	bool is_tap;                /* real tap (tests pass socketpairs) */
	bool multiqueue;            /* TUNSETQUEUE works on the fds */
	bool active;
	struct net_pair pairs[VIRTIO_NET_MAX_PAIRS];
	bool use_vhost;             /* vhost-net serves the data queues (ops.vhost) */
	struct vhost_net *vhost;    /* while active with use_vhost */
	/* with use_vhost: one /dev/vhost-net per pair, opened with the device
	 * (a jailed VMM cannot open it at activation), reused after a reset */
	int vhost_fds[VIRTIO_NET_MAX_PAIRS];
	int ctrl_kick;              /* with vhost: the controlq's kick fd, polled here */
	uint64_t tx_dropped, rx_dropped;
	struct ratelim rx_rl, tx_rl;  /* shared by the pairs; unlimited by default */
};

/* ---- header translation (pure; unit tested) ------------------------------------ */

static bool has(uint64_t features, unsigned int bit)
{
	return features & (1ULL << bit);
}

/* Largest Ethernet frame (without the virtio header) either way. */
static size_t max_frame(uint64_t features, uint16_t mtu)
{
	/* 64 KiB IP packet with GSO, else the MTU; plus Ethernet + VLAN header */
	if (has(features, VIRTIO_NET_F_HOST_TSO4) || has(features, VIRTIO_NET_F_HOST_TSO6) ||
	    has(features, VIRTIO_NET_F_GUEST_TSO4) || has(features, VIRTIO_NET_F_GUEST_TSO6))
		return 65535 + 18;
	return (size_t)(mtu ? mtu : 1500) + 18;
}

int virtio_net_tx_hdr(struct virtio_net_hdr_v1 *h, uint64_t features, size_t frame_len)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -EINVAL;  /* DATA_VALID / RSC_INFO are device->driver only */
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint32_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

		if (!has(features, VIRTIO_NET_F_CSUM) || start + off + 2 > frame_len)
			return -EINVAL;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_HOST_ECN))
		return -EINVAL;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!has(features, VIRTIO_NET_F_HOST_TSO4))
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!has(features, VIRTIO_NET_F_HOST_TSO6))
			return -EINVAL;
		break;
	default:
		return -EINVAL;  /* UFO / USO are not offered */
	}
	if (gso != VIRTIO_NET_HDR_GSO_NONE && (h->gso_size == 0 || !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)))
		return -EINVAL;
	h->num_buffers = 0;      /* the tap ignores it; never pass guest bytes on */
	return 0;
}

int virtio_net_rx_hdr(struct virtio_net_hdr_v1 *h, uint64_t features, uint16_t num_buffers)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (!has(features, VIRTIO_NET_F_GUEST_CSUM)) {
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return -EINVAL;
		h->flags = 0;    /* §5.1.6.4.1: no DATA_VALID without GUEST_CSUM */
	}
	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_GUEST_ECN))
		return -EINVAL;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE: break;
	case VIRTIO_NET_HDR_GSO_TCPV4: if (!has(features, VIRTIO_NET_F_GUEST_TSO4)) return -EINVAL; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: if (!has(features, VIRTIO_NET_F_GUEST_TSO6)) return -EINVAL; break;
	default: return -EINVAL;
	}
	h->num_buffers = htole16(num_buffers);
	return 0;
}

unsigned int virtio_net_tap_offloads(uint64_t features)
{
	unsigned int o = 0;

	/* TSO needs checksum offload (the tap refuses it alone, so does §5.1.3.1) */
	if (has(features, VIRTIO_NET_F_GUEST_CSUM)) {
		o |= TUN_F_CSUM;
		if (has(features, VIRTIO_NET_F_GUEST_TSO4))
			o |= TUN_F_TSO4;
		if (has(features, VIRTIO_NET_F_GUEST_TSO6))
			o |= TUN_F_TSO6;
		if ((o & (TUN_F_TSO4 | TUN_F_TSO6)) && has(features, VIRTIO_NET_F_GUEST_ECN))
			o |= TUN_F_TSO_ECN;
	}
	return o;
}

/* ---- queues ------------------------------------------------------------------ */

static unsigned int ctrl_index(const struct virtio_dev *d)
{
	const struct net *n = d->priv;

	return has(d->acked_features, VIRTIO_NET_F_MQ) ? 2 * n->max_pairs : 2;
}

static void tap_readable(void *opaque, uint32_t events);

static void rx_arm(struct net_pair *p)
{
	struct net *n = p->d->priv;
	int r;

	if (p->watched || !n->active || n->use_vhost || p->idx >= n->cur_pairs || !p->d->loop)
		return;
	r = evloop_add(p->d->loop, p->tap_fd, EPOLLIN, tap_readable, p);
	if (r < 0) {
		hull_warn("virtio-net: watch tap queue %u: %s", p->idx, strerror(-r));
		return;
	}
	p->watched = true;
}

static void rx_disarm(struct net_pair *p)
{
	if (!p->watched)
		return;
	(void)evloop_del(p->d->loop, p->tap_fd);
	p->watched = false;
}

static void drop_rx(struct net *n, struct net_pair *p)
{
	n->rx_dropped++;
	p->rx_len = 0;
}

/* Put the held frame into receive buffers.  1: delivered or dropped, 0: not
 * enough buffers posted (frame still held), < 0: malformed ring. */
static int rx_deliver(struct virtio_dev *d, struct net_pair *p)
{
	struct net *n = d->priv;
	struct virtq *q = &d->vqs[2 * p->idx];
	bool mrg = has(d->acked_features, VIRTIO_NET_F_MRG_RXBUF);
	struct virtq_chain c[NET_RX_MAX_CHAINS];
	uint32_t lens[NET_RX_MAX_CHAINS];
	unsigned int cnt = 0;
	uint64_t room = 0;
	size_t off = 0;
	int r = 0;

	while (room < p->rx_len) {
		if (cnt == (mrg ? NET_RX_MAX_CHAINS : 1u))
			break;
		r = virtq_pop(q, &c[cnt]);
		if (r <= 0)
			break;
		room += c[cnt].in_len;
		cnt++;
	}
	if (r < 0 || (r == 0 && room < p->rx_len) || (cnt > 0 && c[0].in_len < VIRTIO_NET_HDR_LEN)) {
		bool too_small = r > 0 || (cnt > 0 && c[0].in_len < VIRTIO_NET_HDR_LEN);

		/* hand the chains back unused: they are re-read on the next pop */
		q->last_avail = (uint16_t)(q->last_avail - cnt);
		for (unsigned int i = 0; i < cnt; i++)
			virtq_chain_release(&c[i]);
		if (r < 0)
			return r;
		if (too_small && r >= 0) {
			drop_rx(n, p);  /* buffers the frame can never fit */
			return 1;
		}
		return 0;
	}
	if (room < p->rx_len) {
		/* NET_RX_MAX_CHAINS (or, without MRG_RXBUF, one chain) cannot hold it */
		q->last_avail = (uint16_t)(q->last_avail - cnt);
		for (unsigned int i = 0; i < cnt; i++)
			virtq_chain_release(&c[i]);
		drop_rx(n, p);
		return 1;
	}
	/* cnt chains hold it; the last may be partly used, later ones none */
	if (virtio_net_rx_hdr((struct virtio_net_hdr_v1 *)p->rxbuf, d->acked_features, (uint16_t)cnt) < 0) {
		q->last_avail = (uint16_t)(q->last_avail - cnt);
		for (unsigned int i = 0; i < cnt; i++)
			virtq_chain_release(&c[i]);
		drop_rx(n, p);
		return 1;
	}
	for (unsigned int i = 0; i < cnt; i++) {
		size_t want = p->rx_len - off;

		if (want > c[i].in_len)
			want = (size_t)c[i].in_len;
		lens[i] = (uint32_t)virtq_chain_write(&c[i], 0, p->rxbuf + off, want);
		off += want;
	}
	for (unsigned int i = 0; i < cnt; i++) {
		if (virtq_push(q, c[i].head, lens[i]) < 0)
			r = -EFAULT;
		virtq_chain_release(&c[i]);
	}
	p->rx_len = 0;
	if (r < 0)
		return r;
	if (virtq_should_signal(q) && d->signal_used)
		d->signal_used(d, 2 * p->idx);
	return 1;
}

static void rx_rl_fired(void *opaque, uint32_t events);

/* Called with d->lock held. */
static void rx_pump(struct virtio_dev *d, struct net_pair *p)
{
	struct net *n = d->priv;
	size_t cap = VIRTIO_NET_HDR_LEN + max_frame(d->acked_features, le16toh(n->cfg.mtu));

	for (int i = 0; i < NET_RX_BATCH; i++) {
		int r;

		if (virtio_dev_broken(d) || !n->active) {
			rx_disarm(p);
			return;
		}
		if (p->rx_len == 0) {
			ssize_t got = read(p->tap_fd, p->rxbuf, cap);

			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (got <= 0) {
				hull_warn("virtio-net: read tap queue %u: %s", p->idx, got < 0 ? strerror(errno) : "EOF");
				rx_disarm(p);
				return;
			}
			if ((size_t)got < VIRTIO_NET_HDR_LEN + 14) {
				n->rx_dropped++;
				continue;
			}
			p->rx_len = (size_t)got;
			p->rx_paid = false;
		}
		if (!p->rx_paid && ratelim_limits(&n->rx_rl)) {
			/* throttled: hold the frame and stop reading the tap (its
			 * queue absorbs the rest) until the timer retries */
			if (!ratelim_consume(&n->rx_rl, p->rx_len - VIRTIO_NET_HDR_LEN, d->loop, rx_rl_fired, d)) {
				rx_disarm(p);
				return;
			}
			p->rx_paid = true;
		}
		r = rx_deliver(d, p);
		if (r == 0) {
			rx_disarm(p);  /* wait for the guest's receiveq kick */
			return;
		}
		if (r < 0) {
			rx_disarm(p);
			virtio_dev_set_broken(d, "malformed receiveq");
			return;
		}
	}
}

static void tap_readable(void *opaque, uint32_t events)
{
	struct net_pair *p = opaque;
	struct virtio_dev *d = p->d;

	pthread_mutex_lock(&d->lock);
	if (p->watched)  /* a reset may have unregistered us after epoll_wait */
		rx_pump(d, p);
	pthread_mutex_unlock(&d->lock);
}

/* One transmit chain to the tap; false when the frame is dropped. */
static bool tx_one(struct virtio_dev *d, struct net_pair *p, const struct virtq_chain *c)
{
	struct net *n = d->priv;
	size_t max = max_frame(d->acked_features, le16toh(n->cfg.mtu));
	size_t frame;
	ssize_t w;

	if (c->out_len < VIRTIO_NET_HDR_LEN + 14 || c->out_len - VIRTIO_NET_HDR_LEN > max)
		return false;
	frame = (size_t)c->out_len - VIRTIO_NET_HDR_LEN;
	/* one copy: the guest cannot change the header after we checked it */
	virtq_chain_read(c, 0, p->txbuf, (size_t)c->out_len);
	if (virtio_net_tx_hdr((struct virtio_net_hdr_v1 *)p->txbuf, d->acked_features, frame) < 0)
		return false;
	do
		w = write(p->tap_fd, p->txbuf, (size_t)c->out_len);
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)c->out_len;
}

static void tx_rl_fired(void *opaque, uint32_t events);

static void tx_pump(struct virtio_dev *d, struct net_pair *p)
{
	struct net *n = d->priv;
	struct virtq_chain c;
	int r;

	if (n->tx_rl.blocked)
		return;  /* the limiter's timer pumps */
	while ((r = virtq_pop(&d->vqs[2 * p->idx + 1], &c)) > 0) {
		if (ratelim_limits(&n->tx_rl) &&
		    !ratelim_consume(&n->tx_rl, c.out_len > VIRTIO_NET_HDR_LEN ? c.out_len - VIRTIO_NET_HDR_LEN : 0,
				     d->loop, tx_rl_fired, d)) {
			/* hand the chain back: the timer pops it again */
			d->vqs[2 * p->idx + 1].last_avail--;
			virtq_chain_release(&c);
			return;
		}
		if (!tx_one(d, p, &c))
			n->tx_dropped++;
		virtio_dev_complete(d, 2 * p->idx + 1, c.head, 0);
		virtq_chain_release(&c);
		if (virtio_dev_broken(d))
			return;
	}
	if (r < 0)
		virtio_dev_set_broken(d, "malformed transmitq");
}

/* A limiter's timer: tokens have refilled, every enabled pair goes again. */
static void rx_rl_fired(void *opaque, uint32_t events)
{
	struct virtio_dev *d = opaque;
	struct net *n = d->priv;

	pthread_mutex_lock(&d->lock);
	if (n->rx_rl.watched) {  /* a reset may have unregistered us after epoll_wait */
		ratelim_timer_fired(&n->rx_rl);
		for (unsigned int i = 0; i < n->cur_pairs && n->active && !virtio_dev_broken(d); i++) {
			rx_arm(&n->pairs[i]);
			rx_pump(d, &n->pairs[i]);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static void tx_rl_fired(void *opaque, uint32_t events)
{
	struct virtio_dev *d = opaque;
	struct net *n = d->priv;

	pthread_mutex_lock(&d->lock);
	if (n->tx_rl.watched) {
		ratelim_timer_fired(&n->tx_rl);
		for (unsigned int i = 0; i < n->cur_pairs && n->active && !virtio_dev_broken(d); i++)
			tx_pump(d, &n->pairs[i]);
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- controlq (§5.1.6.5) ------------------------------------------------------- */

static int set_pairs(struct virtio_dev *d, unsigned int want)
{
	struct net *n = d->priv;

	if (want < 1 || want > n->max_pairs)
		return -EINVAL;
	for (unsigned int i = 0; i < n->max_pairs; i++) {
		struct net_pair *p = &n->pairs[i];
		struct hull_err *e = NULL;

		/* a detached tap queue gets no frames the guest would not read */
		if (n->multiqueue && net_tap_set_queue(p->tap_fd, i < want, &e) < 0) {
			hull_warn("virtio-net: queue %u: %s", i, e->msg);
			hull_err_free(&e);
		}
		if (i >= want) {
			rx_disarm(p);
			p->rx_len = 0;
		}
	}
	n->cur_pairs = want;
	for (unsigned int i = 0; i < want; i++)
		rx_arm(&n->pairs[i]);
	return 0;
}

static uint8_t ctrl_command(struct virtio_dev *d, const struct virtq_chain *c)
{
	struct { uint8_t class, cmd; } h;
	uint16_t pairs;

	if (c->out_len < sizeof(h))
		return VIRTIO_NET_ERR;
	virtq_chain_read(c, 0, &h, sizeof(h));
	if (h.class == VIRTIO_NET_CTRL_MQ && h.cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
	    has(d->acked_features, VIRTIO_NET_F_MQ) && c->out_len >= sizeof(h) + sizeof(pairs)) {
		virtq_chain_read(c, sizeof(h), &pairs, sizeof(pairs));
		return set_pairs(d, le16toh(pairs)) < 0 ? VIRTIO_NET_ERR : VIRTIO_NET_OK;
	}
	return VIRTIO_NET_ERR;  /* RX/MAC/VLAN/ANNOUNCE classes are not offered */
}

static void ctrl_pump(struct virtio_dev *d)
{
	unsigned int qi = ctrl_index(d);
	struct virtq_chain c;
	int r;

	while ((r = virtq_pop(&d->vqs[qi], &c)) > 0) {
		uint8_t ack;

		if (c.in_len < 1) {
			virtq_chain_release(&c);
			virtio_dev_set_broken(d, "controlq command without an ack byte");
			return;
		}
		ack = ctrl_command(d, &c);
		virtq_chain_write(&c, c.in_len - 1, &ack, 1);
		virtio_dev_complete(d, qi, c.head, 1);
		virtq_chain_release(&c);
		if (virtio_dev_broken(d))
			return;
	}
	if (r < 0)
		virtio_dev_set_broken(d, "malformed controlq");
}

/* ---- device ops -------------------------------------------------------------- */

static uint64_t net_features(struct virtio_dev *d)
{
	struct net *n = d->priv;
	uint64_t f = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS | 1ULL << VIRTIO_NET_F_MTU |
		     1ULL << VIRTIO_NET_F_MRG_RXBUF | 1ULL << VIRTIO_NET_F_CTRL_VQ;

	if (n->is_tap)
		f |= 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM | 1ULL << VIRTIO_NET_F_HOST_TSO4 |
		     1ULL << VIRTIO_NET_F_HOST_TSO6 | 1ULL << VIRTIO_NET_F_GUEST_TSO4 |
		     1ULL << VIRTIO_NET_F_GUEST_TSO6;
	if (n->max_pairs > 1)
		f |= 1ULL << VIRTIO_NET_F_MQ;
	return f;
}

static void net_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct net *n = d->priv;

	if (off >= sizeof(n->cfg) || len > sizeof(n->cfg) - off)
		return;
	memcpy(buf, (const uint8_t *)&n->cfg + off, len);
}

/* The MAC is driver-writable only in legacy mode (§5.1.4); nothing else is. */
static void net_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
}

/* vhost mode: the guest kicked the controlq (event loop thread). */
static void ctrl_kicked(void *opaque, uint32_t events)
{
	struct virtio_dev *d = opaque;
	struct net *n = d->priv;
	uint64_t cnt;

	if (read(n->ctrl_kick, &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	if (n->active && n->ctrl_kick >= 0 && !virtio_dev_broken(d))
		ctrl_pump(d);
	pthread_mutex_unlock(&d->lock);
}

static int net_activate(struct virtio_dev *d)
{
	struct net *n = d->priv;
	struct hull_err *e = NULL;

	if (n->is_tap && net_tap_set_vnet_hdr(n->pairs[0].tap_fd, VIRTIO_NET_HDR_LEN,
					      virtio_net_tap_offloads(d->acked_features), &e) < 0) {
		hull_warn("virtio-net: %s", e->msg);
		hull_err_free(&e);
		return -1;
	}
	n->active = true;
	n->cur_pairs = 1;  /* §5.1.6.5.5: only the first pair until VQ_PAIRS_SET */
	if (n->use_vhost) {
		int fds[VIRTIO_NET_MAX_PAIRS], call = -1;

		/* ops.vhost keeps every kick fd out of the transport's loop; the
		 * controlq is still ours */
		if (has(d->acked_features, VIRTIO_NET_F_CTRL_VQ) && d->queue_fds) {
			d->queue_fds(d, ctrl_index(d), &n->ctrl_kick, &call);
			if (n->ctrl_kick >= 0 && evloop_add(d->loop, n->ctrl_kick, EPOLLIN, ctrl_kicked, d) < 0)
				n->ctrl_kick = -1;
		}
		for (unsigned int i = 0; i < n->max_pairs; i++)
			fds[i] = n->pairs[i].tap_fd;
		/* without MQ queue 2 is the controlq, never a pair's receiveq */
		if (virtio_net_vhost_start(d, fds, n->vhost_fds, has(d->acked_features, VIRTIO_NET_F_MQ) ? n->max_pairs : 1,
					   &n->vhost, &e) < 0) {
			hull_warn("virtio-net: %s", e->msg);
			hull_err_free(&e);
			return -1;
		}
	}
	return set_pairs(d, 1);
}

static void net_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct net *n = d->priv;

	if (virtio_dev_broken(d) || !n->active)
		return;
	if (has(d->acked_features, VIRTIO_NET_F_CTRL_VQ) && qi == ctrl_index(d)) {
		ctrl_pump(d);
		return;
	}
	if (n->use_vhost || qi / 2 >= n->cur_pairs)
		return;  /* a pair the driver did not enable: nothing is read or sent */
	if (qi % 2 == 0) {
		struct net_pair *p = &n->pairs[qi / 2];

		/* new receive buffers: deliver the held frame, read the tap again */
		rx_arm(p);
		rx_pump(d, p);
	} else {
		tx_pump(d, &n->pairs[qi / 2]);
	}
}

static void net_reset(struct virtio_dev *d)
{
	struct net *n = d->priv;

	virtio_net_vhost_stop(n->vhost);
	n->vhost = NULL;
	if (n->ctrl_kick >= 0) {
		(void)evloop_del(d->loop, n->ctrl_kick);
		n->ctrl_kick = -1;  /* the transport's fd: not ours to close */
	}
	for (unsigned int i = 0; i < n->max_pairs; i++) {
		rx_disarm(&n->pairs[i]);
		n->pairs[i].rx_len = 0;
	}
	ratelim_stop(&n->rx_rl, d->loop);
	ratelim_stop(&n->tx_rl, d->loop);
	n->active = false;
}

static void net_destroy(struct virtio_dev *d)
{
	struct net *n = d->priv;

	if (!n)
		return;
	net_reset(d);
	ratelim_free(&n->rx_rl, d->loop);
	ratelim_free(&n->tx_rl, d->loop);
	for (unsigned int i = 0; i < n->max_pairs; i++) {
		if (n->vhost_fds[i] >= 0)
			close(n->vhost_fds[i]);
		if (n->pairs[i].tap_fd >= 0)
			close(n->pairs[i].tap_fd);
		free(n->pairs[i].rxbuf);
		free(n->pairs[i].txbuf);
	}
	d->priv = NULL;
	free(n);  /* d->ops points into n: the caller reads nothing more from it */
}

static const struct virtio_dev_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.pci_class = 0x02, /* network, Ethernet */
	.queue_max_size = NET_QUEUE_SIZE,
	.config_size = sizeof(struct net_config),
	.features = net_features,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.destroy = net_destroy,
};

struct virtio_dev *virtio_net_create(const struct virtio_net_params *prm, struct hull_err **err)
{
	struct virtio_dev *d;
	struct net *n;

	if (prm->nfds < 1 || prm->nfds > VIRTIO_NET_MAX_PAIRS) {
		hull_err_make(err, EINVAL, "virtio-net: %u queue pairs (1..%d)", prm->nfds, VIRTIO_NET_MAX_PAIRS);
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	ratelim_init(&n->rx_rl);
	ratelim_init(&n->tx_rl);
	n->ops = net_ops;
	n->ops.num_queues = (uint16_t)(2 * prm->nfds + 1);
	n->use_vhost = n->ops.vhost = prm->vhost;
	n->ctrl_kick = -1;
	for (unsigned int i = 0; i < VIRTIO_NET_MAX_PAIRS; i++)
		n->vhost_fds[i] = -1;
	if (n->use_vhost)
		virtio_net_vhost_open(n->vhost_fds, prm->nfds);
	n->max_pairs = n->cur_pairs = prm->nfds;
	n->is_tap = prm->is_tap;
	n->multiqueue = prm->is_tap && prm->nfds > 1;
	memcpy(n->cfg.mac, prm->mac, sizeof(n->cfg.mac));
	n->cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->cfg.max_virtqueue_pairs = htole16((uint16_t)prm->nfds);
	n->cfg.mtu = htole16(prm->mtu ? prm->mtu : 1500);

	d = xcalloc(1, sizeof(*d));
	d->ops = &n->ops;
	d->priv = n;
	pthread_mutex_init(&d->lock, NULL);
	for (unsigned int i = 0; i < prm->nfds; i++) {
		n->pairs[i] = (struct net_pair){ .d = d, .idx = i, .tap_fd = prm->fds[i] };
		n->pairs[i].rxbuf = xmalloc(VIRTIO_NET_HDR_LEN + 65535 + 18);
		n->pairs[i].txbuf = xmalloc(VIRTIO_NET_HDR_LEN + 65535 + 18);
	}
	return d;
}

int virtio_net_set_limiter(struct virtio_dev *d, const struct vm_rate_limiter *rx, const struct vm_rate_limiter *tx,
			   struct hull_err **err)
{
	struct net *n = d->priv;
	int r = 0;

	if (d->ops->device_id != VIRTIO_ID_NET)
		return hull_err_make(err, EINVAL, "not a virtio-net device");
	pthread_mutex_lock(&d->lock);
	/* both sides checked before either is set: a refusal changes nothing */
	if (n->use_vhost && ((rx && vm_rate_limiter_set(rx)) || (tx && vm_rate_limiter_set(tx)))) {
		r = hull_err_make(err, 0, "vhost-net serves this interface's queues, which no limiter can throttle "
				  "(set a limiter when the interface is added)");
	} else {
		if (rx)
			ratelim_set(&n->rx_rl, rx);
		if (tx)
			ratelim_set(&n->tx_rl, tx);
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

uint64_t virtio_net_throttled(struct virtio_dev *d, bool rx)
{
	struct net *n = d->priv;

	if (d->ops->device_id != VIRTIO_ID_NET)
		return 0;
	return __atomic_load_n(rx ? &n->rx_rl.throttled : &n->tx_rl.throttled, __ATOMIC_RELAXED);
}

uint64_t virtio_net_dropped(const struct virtio_dev *d, bool rx)
{
	const struct net *n = d->priv;

	return rx ? n->rx_dropped : n->tx_dropped;
}

/* ---- the device table's functions ------------------------------------------------ */

unsigned int virtio_net_count(const struct vm_config *cfg)
{
	return cfg->nnets;
}

int virtio_net_check(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	const struct vm_net *nc = &cfg->nets[i];

	if (!nc->tap || !*nc->tap || strlen(nc->tap) >= IFNAMSIZ)
		return hull_err_make(err, 0, "--net tap=\"%s\": not a network interface name",
				     nc->tap ? nc->tap : "");
	if (if_nametoindex(nc->tap) == 0)
		return hull_err_make(err, 0, "--net tap=%s: no such network interface", nc->tap);
	if (nc->vhost == VM_VHOST_ON && (vm_rate_limiter_set(&nc->rx_rl) || vm_rate_limiter_set(&nc->tx_rl)))
		return hull_err_make(err, 0, "--net tap=%s,vhost=on: a rate limiter needs the data path in hull "
				     "(vhost-net would bypass it)", nc->tap);
	if (nc->vhost == VM_VHOST_ON && access("/dev/vhost-net", R_OK | W_OK) < 0)
		return hull_err_make(err, errno, "--net tap=%s,vhost=on: /dev/vhost-net", nc->tap);
	return 0;
}

struct virtio_dev *virtio_net_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	const struct vm_net *nc = &cfg->nets[i];
	struct virtio_net_params prm = { .is_tap = true };
	unsigned int want = cfg->cpus < VIRTIO_NET_MAX_PAIRS ? cfg->cpus : VIRTIO_NET_MAX_PAIRS;
	struct net_link_info li;
	struct virtio_dev *d;
	bool limited;

	if (want < 1)
		want = 1;
	if (net_link_get(nc->tap, &li, err) < 0 || net_tap_open(nc->tap, want, prm.fds, &prm.nfds, err) < 0)
		goto fail;
	/* the header length is the tap's, for every queue (vhost-net too) */
	if (net_tap_set_vnet_hdr(prm.fds[0], VIRTIO_NET_HDR_LEN, 0, err) < 0)
		goto fail_fds;
	if (nc->has_mac) {
		memcpy(prm.mac, nc->mac, 6);
	} else {
		/* locally administered unicast: no vendor's range, never multicast */
		if (getrandom(prm.mac, 6, 0) != 6)
			memcpy(prm.mac, li.mac, 6);
		prm.mac[0] = (uint8_t)((prm.mac[0] & 0xfe) | 0x02);
	}
	prm.mtu = li.mtu > 65535 ? 65535 : (uint16_t)li.mtu;
	limited = vm_rate_limiter_set(&nc->rx_rl) || vm_rate_limiter_set(&nc->tx_rl);
	/* a limiter throttles the queues here: vhost-net would bypass it */
	prm.vhost = nc->vhost != VM_VHOST_OFF && !limited &&
		    virtio_net_vhost_usable(nc->vhost == VM_VHOST_ON, err) == 1;
	if (nc->vhost == VM_VHOST_ON && !prm.vhost)
		goto fail_fds;
	d = virtio_net_create(&prm, err);
	if (!d)
		goto fail_fds;
	ratelim_set(&((struct net *)d->priv)->rx_rl, &nc->rx_rl);
	ratelim_set(&((struct net *)d->priv)->tx_rl, &nc->tx_rl);
	return d;
fail_fds:
	for (unsigned int k = 0; k < prm.nfds; k++)
		close(prm.fds[k]);
fail:
	hull_err_wrap(err, "--net tap=%s", nc->tap);
	return NULL;
}
