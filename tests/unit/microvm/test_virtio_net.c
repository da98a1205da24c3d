/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net without KVM or a tap: the backend is a SOCK_SEQPACKET
 * socketpair (one frame per message, like a tap queue).  Transmit, receive
 * (one buffer and mergeable), the controlq, header checks both ways, and the
 * hostile cases: short, oversized and offload-violating frames are dropped,
 * a malformed ring breaks only the device, and a guest that posts no receive
 * buffers makes the device stop reading (one frame held, the rest stays in
 * the socket).  The event loop is faked here (evloop_add/evloop_del). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_guest.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#define QSIZE 16
#define RXQ 0
#define TXQ 1
#define HDR VIRTIO_NET_HDR_LEN

/* ---- fake event loop: the set of watched fds ---------------------------------- */

static struct fake_loop {
	int fd[8];
	evloop_cb cb[8];
	void *opaque[8];
} loop;

static int slot_of(int fd)
{
	for (int i = 0; i < 8; i++)
		if (loop.fd[i] == fd)
			return i;
	return -1;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	int i = slot_of(-1);

	assert_ptr_equal(l, (struct evloop *)&loop);
	assert_int_equal(slot_of(fd), -1);   /* never registered twice */
	assert_true(i >= 0);
	loop.fd[i] = fd;
	loop.cb[i] = cb;
	loop.opaque[i] = opaque;
	return 0;
}

int evloop_del(struct evloop *l, int fd)
{
	int i = slot_of(fd);

	assert_true(i >= 0);
	loop.fd[i] = -1;
	return 0;
}

static bool watched(int fd)
{
	return slot_of(fd) >= 0;
}

static void fire(int fd)
{
	int i = slot_of(fd);

	assert_true(i >= 0);
	loop.cb[i](loop.opaque[i], 1 /* EPOLLIN */);
}

/* ---- fixture ------------------------------------------------------------------- */

struct fx {
	struct fake_guest g;
	struct fake_transport t;
	struct virtio_dev *d;
	int peer[VIRTIO_NET_MAX_PAIRS];   /* the "network" side of each queue pair */
	int dev_fd[VIRTIO_NET_MAX_PAIRS];
	unsigned int pairs;
	uint16_t next_desc[FG_NQUEUES];
};

static const uint64_t base_features = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_NET_F_MAC |
				      1ULL << VIRTIO_NET_F_CTRL_VQ | 1ULL << VIRTIO_NET_F_MTU;

static struct fx *make(unsigned int pairs, uint64_t features, uint16_t mtu)
{
	struct virtio_net_params prm = { .nfds = pairs, .mac = { 0x02, 1, 2, 3, 4, 5 }, .mtu = mtu };
	struct fx *f = calloc(1, sizeof(*f));

	for (int i = 0; i < 8; i++)
		loop.fd[i] = -1;
	fg_init(&f->g);
	f->pairs = pairs;
	for (unsigned int i = 0; i < pairs; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
		prm.fds[i] = f->dev_fd[i] = sv[0];
		f->peer[i] = sv[1];
	}
	f->d = virtio_net_create(&prm, NULL);
	assert_non_null(f->d);
	f->d->acked_features = features;
	fg_attach(&f->g, f->d, &f->t, (struct evloop *)&loop, QSIZE);
	return f;
}

static void destroy(struct fx *f)
{
	virtio_dev_destroy(f->d);
	for (int i = 0; i < 8; i++)
		assert_int_equal(loop.fd[i], -1);   /* destroy unregistered every tap fd */
	for (unsigned int i = 0; i < f->pairs; i++)
		close(f->peer[i]);
	fg_free(&f->g);
	free(f);
}

/* One chain of nbufs device-writable buffers of len bytes each on queue q. */
static uint64_t post_rx(struct fx *f, unsigned int q, unsigned int nbufs, uint32_t len)
{
	uint16_t head = f->next_desc[q];
	uint64_t first = 0;

	for (unsigned int i = 0; i < nbufs; i++) {
		uint64_t a = fg_alloc(&f->g, len);
		uint16_t di = f->next_desc[q]++;

		if (i == 0)
			first = a;
		fg_desc(&f->g, q, di, a, len, DESC_F_WRITE | (i + 1 < nbufs ? DESC_F_NEXT : 0), (uint16_t)(di + 1));
	}
	fg_avail_push(&f->g, q, head);
	return first;
}

/* A transmit chain: header then frame, split after split bytes. */
static void post_tx(struct fx *f, unsigned int q, const struct virtio_net_hdr_v1 *h, const void *frame,
		    uint32_t len, uint32_t split)
{
	uint32_t total = HDR + len;
	uint64_t a = fg_alloc(&f->g, total);
	uint16_t di = f->next_desc[q];

	memcpy(fg_hva(&f->g, a), h, HDR);
	memcpy(fg_hva(&f->g, a + HDR), frame, len);
	if (split && split < total) {
		fg_desc(&f->g, q, di, a, split, DESC_F_NEXT, (uint16_t)(di + 1));
		fg_desc(&f->g, q, (uint16_t)(di + 1), a + split, total - split, 0, 0);
		f->next_desc[q] += 2;
	} else {
		fg_desc(&f->g, q, di, a, total, 0, 0);
		f->next_desc[q]++;
	}
	fg_avail_push(&f->g, q, di);
}

static void fill_frame(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static ssize_t peer_pending(int fd)
{
	uint8_t buf[70000];

	return recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
}

/* ---- transmit ------------------------------------------------------------------ */

static void test_net_transmits_frame_to_tap_with_clean_header(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	struct virtio_net_hdr_v1 h = { .num_buffers = htole16(77) };
	uint8_t frame[60], got[200];
	uint32_t id, len;

	fill_frame(frame, sizeof(frame), 1);
	post_tx(f, TXQ, &h, frame, sizeof(frame), 5);
	fg_kick(f->d, TXQ);

	assert_int_equal(recv(f->peer[0], got, sizeof(got), 0), HDR + 60);
	assert_int_equal(((struct virtio_net_hdr_v1 *)got)->num_buffers, 0);  /* guest bytes not passed on */
	assert_memory_equal(got + HDR, frame, 60);
	assert_int_equal(fg_used_idx(&f->g, TXQ), 1);
	fg_used_elem(&f->g, TXQ, 0, &id, &len);
	assert_int_equal(len, 0);
	assert_int_equal(f->t.used_signals[TXQ], 1);
	destroy(f);
}

/* ---- rate limiters ------------------------------------------------------------- */

/* The fd in the loop that is no tap queue's: a limiter's timer. */
static int timer_fd(struct fx *f)
{
	for (int i = 0; i < 8; i++) {
		bool tap = false;
		for (unsigned int p = 0; p < f->pairs; p++)
			tap |= loop.fd[i] == f->dev_fd[p];
		if (loop.fd[i] >= 0 && !tap)
			return loop.fd[i];
	}
	return -1;
}

/* A throttled transmitq keeps the frame in the ring (kicks change nothing)
 * until the limiter's timer; one throttle is one event. */
static void test_net_tx_rate_limiter_holds_frames_until_its_timer(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	struct vm_rate_limiter rl = { .ops = { .size = 1, .refill_ms = 3600 * 1000 } };
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t frame[60], got[200];

	assert_int_equal(virtio_net_set_limiter(f->d, NULL, &rl, NULL), 0);
	fill_frame(frame, sizeof(frame), 1);
	post_tx(f, TXQ, &h, frame, sizeof(frame), 0);
	post_tx(f, TXQ, &h, frame, sizeof(frame), 0);
	fg_kick(f->d, TXQ);
	fg_kick(f->d, TXQ);
	assert_int_equal(fg_used_idx(&f->g, TXQ), 1);
	assert_int_equal(recv(f->peer[0], got, sizeof(got), 0), HDR + 60);
	assert_true(peer_pending(f->peer[0]) < 0);
	assert_int_equal(virtio_net_throttled(f->d, false), 1);
	assert_int_equal(virtio_net_throttled(f->d, true), 0);
	assert_true(timer_fd(f) >= 0);

	rl.ops.size = 0;  /* lifted: the timer retries */
	assert_int_equal(virtio_net_set_limiter(f->d, NULL, &rl, NULL), 0);
	fire(timer_fd(f));
	assert_int_equal(fg_used_idx(&f->g, TXQ), 2);
	assert_int_equal(recv(f->peer[0], got, sizeof(got), 0), HDR + 60);
	destroy(f);
}

/* A throttled receive holds the frame and stops reading the tap; the timer
 * delivers it, whole. */
static void test_net_rx_rate_limiter_holds_the_frame_until_its_timer(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	struct vm_rate_limiter rl = { .bw = { .size = 100, .refill_ms = 3600 * 1000 } };
	uint8_t msg[HDR + 80];
	uint64_t a1, a2;

	assert_int_equal(virtio_net_set_limiter(f->d, &rl, NULL, NULL), 0);
	memset(msg, 0, HDR);
	fill_frame(msg + HDR, 80, 3);
	a1 = post_rx(f, RXQ, 1, 1526);
	a2 = post_rx(f, RXQ, 1, 1526);
	fg_kick(f->d, RXQ);
	assert_int_equal(send(f->peer[0], msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	assert_int_equal(send(f->peer[0], msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	fire(f->dev_fd[0]);
	assert_int_equal(fg_used_idx(&f->g, RXQ), 1);  /* 80 of 100 bytes: the second waits */
	assert_false(watched(f->dev_fd[0]));            /* the tap is not read meanwhile */
	fg_kick(f->d, RXQ);
	assert_int_equal(fg_used_idx(&f->g, RXQ), 1);
	assert_int_equal(virtio_net_throttled(f->d, true), 1);

	rl.bw.size = 0;
	assert_int_equal(virtio_net_set_limiter(f->d, &rl, NULL, NULL), 0);
	fire(timer_fd(f));
	assert_int_equal(fg_used_idx(&f->g, RXQ), 2);
	assert_memory_equal((uint8_t *)fg_hva(&f->g, a1) + HDR, msg + HDR, 80);
	assert_memory_equal((uint8_t *)fg_hva(&f->g, a2) + HDR, msg + HDR, 80);
	assert_true(watched(f->dev_fd[0]));
	destroy(f);
}

/* Each bad frame is completed (the guest gets its buffer back) and dropped;
 * the device keeps working for the next good frame. */
static void test_net_drops_short_oversized_and_unnegotiated_offload_frames(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	struct virtio_net_hdr_v1 h = { 0 }, csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 14 },
				 tso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					 .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	static uint8_t big[9000];
	uint8_t got[200];

	post_tx(f, TXQ, &h, big, 10, 0);               /* shorter than an Ethernet header */
	post_tx(f, TXQ, &h, big, 1500 + 18 + 1, 0);    /* larger than MTU + 18 */
	post_tx(f, TXQ, &csum, big, 100, 0);           /* NEEDS_CSUM without F_CSUM */
	post_tx(f, TXQ, &tso, big, 1000, 0);           /* GSO without HOST_TSO4 */
	fill_frame(big, 64, 9);
	post_tx(f, TXQ, &h, big, 64, 0);
	fg_kick(f->d, TXQ);

	assert_false(virtio_dev_broken(f->d));
	assert_int_equal(fg_used_idx(&f->g, TXQ), 5);
	assert_int_equal(virtio_net_dropped(f->d, false), 4);
	assert_int_equal(recv(f->peer[0], got, sizeof(got), 0), HDR + 64);
	assert_memory_equal(got + HDR, big, 64);
	assert_true(peer_pending(f->peer[0]) < 0);     /* nothing else reached the tap */
	destroy(f);
}

static void test_net_malformed_transmitq_breaks_only_the_device(void **state)
{
	struct fx *f = make(1, base_features, 1500);

	/* a descriptor pointing outside guest memory */
	fg_desc(&f->g, TXQ, 0, 0xfff0000000ull, 100, 0, 0);
	fg_avail_push(&f->g, TXQ, 0);
	fg_kick(f->d, TXQ);
	assert_true(virtio_dev_broken(f->d));
	assert_int_equal(f->t.config_signals, 1);
	assert_int_equal(fg_used_idx(&f->g, TXQ), 0);
	destroy(f);
}

/* ---- receive ------------------------------------------------------------------- */

static void test_net_receives_frame_into_one_buffer(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	uint8_t msg[HDR + 80];
	uint64_t a;
	uint32_t id, len;
	struct virtio_net_hdr_v1 *h;

	assert_true(watched(f->dev_fd[0]));
	memset(msg, 0, HDR);
	fill_frame(msg + HDR, 80, 3);
	a = post_rx(f, RXQ, 1, 1526);
	fg_kick(f->d, RXQ);
	assert_int_equal(send(f->peer[0], msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	fire(f->dev_fd[0]);

	assert_int_equal(fg_used_idx(&f->g, RXQ), 1);
	fg_used_elem(&f->g, RXQ, 0, &id, &len);
	assert_int_equal(len, HDR + 80);
	h = fg_hva(&f->g, a);
	assert_int_equal(le16toh(h->num_buffers), 1);
	assert_memory_equal((uint8_t *)fg_hva(&f->g, a) + HDR, msg + HDR, 80);
	assert_int_equal(f->t.used_signals[RXQ], 1);
	destroy(f);
}

/* With MRG_RXBUF a 3000-byte frame spans four 1000-byte chains; num_buffers
 * in the first says so, and each used entry has its own length. */
static void test_net_mergeable_frame_spans_chains(void **state)
{
	struct fx *f = make(1, base_features | 1ULL << VIRTIO_NET_F_MRG_RXBUF, 9000);
	static uint8_t msg[HDR + 3000];
	uint64_t a[5];
	uint32_t id, len, lens[4] = { 1000, 1000, 1000, 12 };
	size_t off = 0;

	memset(msg, 0, HDR);
	fill_frame(msg + HDR, 3000, 5);
	for (int i = 0; i < 5; i++)
		a[i] = post_rx(f, RXQ, 1, 1000);
	assert_int_equal(send(f->peer[0], msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	fire(f->dev_fd[0]);

	assert_int_equal(fg_used_idx(&f->g, RXQ), 4);
	assert_int_equal(le16toh(((struct virtio_net_hdr_v1 *)fg_hva(&f->g, a[0]))->num_buffers), 4);
	for (uint16_t i = 0; i < 4; i++) {
		fg_used_elem(&f->g, RXQ, i, &id, &len);
		assert_int_equal(id, i);
		assert_int_equal(len, lens[i]);
		if (i > 0)
			assert_memory_equal(fg_hva(&f->g, a[i]), msg + off, len);
		off += len;
	}
	assert_memory_equal((uint8_t *)fg_hva(&f->g, a[0]) + HDR, msg + HDR, 1000 - HDR);
	destroy(f);
}

/* A guest that posts no receive buffers: the device reads one frame, holds
 * it, stops watching the tap; the rest stays in the socket.  Buffers plus a
 * receiveq kick deliver in order and resume reading. */
static void test_net_without_rx_buffers_stops_reading_the_tap(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	uint8_t msg[HDR + 64];
	uint32_t id, len;
	uint64_t a, b;

	memset(msg, 0, sizeof(msg));
	for (int i = 0; i < 10; i++) {
		msg[HDR] = (uint8_t)i;
		assert_int_equal(send(f->peer[0], msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	}
	fire(f->dev_fd[0]);
	assert_false(watched(f->dev_fd[0]));
	assert_int_equal(fg_used_idx(&f->g, RXQ), 0);
	{
		int queued = 0;
		assert_int_equal(ioctl(f->dev_fd[0], FIONREAD, &queued), 0);
		assert_true(queued > 0);   /* 9 frames still in the socket */
	}
	a = post_rx(f, RXQ, 1, 1526);
	b = post_rx(f, RXQ, 1, 1526);
	fg_kick(f->d, RXQ);
	assert_int_equal(fg_used_idx(&f->g, RXQ), 2);
	fg_used_elem(&f->g, RXQ, 0, &id, &len);
	assert_int_equal(len, HDR + 64);
	assert_int_equal(((uint8_t *)fg_hva(&f->g, a))[HDR], 0);
	assert_int_equal(((uint8_t *)fg_hva(&f->g, b))[HDR], 1);
	assert_false(watched(f->dev_fd[0]));   /* out of buffers again, frame 2 held */
	destroy(f);
}

/* Without MRG_RXBUF a frame larger than the posted chain is dropped and the
 * chain stays available for the next frame. */
static void test_net_drops_frame_larger_than_the_only_buffer(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	uint8_t big[HDR + 1000], small[HDR + 60];
	uint32_t id, len;

	memset(big, 0, sizeof(big));
	memset(small, 0, sizeof(small));
	post_rx(f, RXQ, 1, 200);
	assert_int_equal(send(f->peer[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(send(f->peer[0], small, sizeof(small), 0), (ssize_t)sizeof(small));
	fire(f->dev_fd[0]);
	assert_int_equal(virtio_net_dropped(f->d, true), 1);
	assert_int_equal(fg_used_idx(&f->g, RXQ), 1);
	fg_used_elem(&f->g, RXQ, 0, &id, &len);
	assert_int_equal(len, HDR + 60);
	assert_false(virtio_dev_broken(f->d));
	destroy(f);
}

static void test_net_malformed_receiveq_breaks_only_the_device(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	uint8_t msg[HDR + 64] = { 0 };

	fg_desc(&f->g, RXQ, 0, 0xfff0000000ull, 1526, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, RXQ, 0);
	assert_int_equal(send(f->peer[0], msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	fire(f->dev_fd[0]);
	assert_true(virtio_dev_broken(f->d));
	assert_false(watched(f->dev_fd[0]));
	destroy(f);
}

/* ---- controlq and several queue pairs ------------------------------------------------ */

static uint8_t ctrl(struct fx *f, unsigned int cq, uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	uint64_t a = fg_alloc(&f->g, 2 + len), ack = fg_alloc(&f->g, 1);
	uint16_t di = f->next_desc[cq];
	uint8_t *p = fg_hva(&f->g, a);

	p[0] = class;
	p[1] = cmd;
	memcpy(p + 2, data, len);
	*(uint8_t *)fg_hva(&f->g, ack) = 0xee;
	fg_desc(&f->g, cq, di, a, 2 + len, DESC_F_NEXT, (uint16_t)(di + 1));
	fg_desc(&f->g, cq, (uint16_t)(di + 1), ack, 1, DESC_F_WRITE, 0);
	f->next_desc[cq] += 2;
	fg_avail_push(&f->g, cq, di);
	fg_kick(f->d, cq);
	return *(uint8_t *)fg_hva(&f->g, ack);
}

static void test_net_mq_pairs_set_enables_second_pair(void **state)
{
	struct fx *f = make(2, base_features | 1ULL << VIRTIO_NET_F_MQ, 1500);
	const unsigned int cq = 4;   /* 2 * max_virtqueue_pairs with MQ */
	uint16_t two = htole16(2), three = htole16(3), zero = 0;
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t frame[60] = { 0 }, got[200];

	/* §5.1.6.5.5: only the first pair until the driver sets more */
	assert_true(watched(f->dev_fd[0]));
	assert_false(watched(f->dev_fd[1]));
	post_tx(f, 3, &h, frame, sizeof(frame), 0);
	fg_kick(f->d, 3);
	assert_true(peer_pending(f->peer[1]) < 0);

	assert_int_equal(ctrl(f, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &three, 2), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &zero, 2), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, cq, 0 /* RX class, not offered */, 0, &zero, 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(f, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two, 2), VIRTIO_NET_OK);
	assert_true(watched(f->dev_fd[1]));
	post_tx(f, 3, &h, frame, sizeof(frame), 0);
	fg_kick(f->d, 3);
	assert_int_equal(recv(f->peer[1], got, sizeof(got), 0), HDR + 60);
	assert_int_equal(ctrl(f, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &(uint16_t){ htole16(1) }, 2),
			 VIRTIO_NET_OK);
	assert_false(watched(f->dev_fd[1]));
	destroy(f);
}

static void test_net_ctrl_command_without_ack_byte_breaks_device(void **state)
{
	struct fx *f = make(1, base_features, 1500);
	uint64_t a = fg_alloc(&f->g, 4);

	fg_desc(&f->g, 2, 0, a, 4, 0, 0);   /* controlq at 2 without MQ */
	fg_avail_push(&f->g, 2, 0);
	fg_kick(f->d, 2);
	assert_true(virtio_dev_broken(f->d));
	destroy(f);
}

static void test_net_config_space_has_mac_status_pairs_mtu(void **state)
{
	struct fx *f = make(2, base_features, 9000);
	uint8_t cfg[12], beyond[4] = { 0xaa, 0xaa, 0xaa, 0xaa };

	f->d->ops->config_read(f->d, 0, cfg, sizeof(cfg));
	assert_memory_equal(cfg, ((uint8_t[]){ 0x02, 1, 2, 3, 4, 5 }), 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(cfg[8] | cfg[9] << 8, 2);
	assert_int_equal(cfg[10] | cfg[11] << 8, 9000);
	f->d->ops->config_read(f->d, 10, beyond, 4);   /* past the end: untouched */
	assert_int_equal(beyond[0], 0xaa);
	assert_true(f->d->ops->features(f->d) & 1ULL << VIRTIO_NET_F_MQ);
	assert_int_equal(f->d->ops->num_queues, 5);
	destroy(f);
}

/* vhost mode: the transport leaves the kick fds alone (ops.vhost), the VMM
 * never touches the data queues, and when vhost-net cannot start (no
 * /dev/vhost-net here, or no kick/call fds from the transport) activation
 * fails with nothing left registered. */
static void test_net_vhost_mode_keeps_data_queues_out_of_the_vmm(void **state)
{
	struct virtio_net_params prm = { .nfds = 1, .vhost = true, .mtu = 1500 };
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t frame[60] = { 0 };
	int sv[2];

	for (int i = 0; i < 8; i++)
		loop.fd[i] = -1;
	fg_init(&f->g);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	prm.fds[0] = sv[0];
	f->peer[0] = sv[1];
	f->pairs = 1;
	f->d = virtio_net_create(&prm, NULL);
	assert_non_null(f->d);
	assert_true(f->d->ops->vhost);
	/* a limit on either side is refused before either is set; none is fine */
	assert_int_equal(virtio_net_set_limiter(f->d, &(struct vm_rate_limiter){ 0 },
						&(struct vm_rate_limiter){ .bw = { .size = 5, .refill_ms = 1 } }, NULL), -1);
	assert_int_equal(virtio_net_set_limiter(f->d, &(struct vm_rate_limiter){ 0 }, NULL, NULL), 0);
	f->d->acked_features = base_features;
	f->d->gm = &f->g.gm;
	f->d->loop = (struct evloop *)&loop;
	f->d->transport = &f->t;
	f->d->signal_used = fake_signal_used;
	f->d->signal_config = fake_signal_config;
	for (unsigned int i = 0; i < f->d->ops->num_queues; i++)
		fg_setup_queue(&f->g, i, &f->d->vqs[i], QSIZE, false, false);
	/* no queue_fds from this transport: vhost-net cannot be wired */
	assert_int_equal(f->d->ops->activate(f->d), -1);
	for (int i = 0; i < 8; i++)
		assert_int_equal(loop.fd[i], -1);   /* no tap fd, no error eventfd left */
	/* a transmit kick reaching the device anyway is not served here */
	post_tx(f, TXQ, &h, frame, sizeof(frame), 0);
	fg_kick(f->d, TXQ);
	assert_int_equal(fg_used_idx(&f->g, TXQ), 0);
	assert_true(peer_pending(f->peer[0]) < 0);
	f->d->ops->reset(f->d);
	destroy(f);
}

/* ---- header translation ------------------------------------------------------------ */

static void test_net_tx_header_checks_against_acked_features(void **state)
{
	const uint64_t csum = 1ULL << VIRTIO_NET_F_CSUM, tso4 = csum | 1ULL << VIRTIO_NET_F_HOST_TSO4,
		       tso6 = csum | 1ULL << VIRTIO_NET_F_HOST_TSO6;
	static const struct {
		struct virtio_net_hdr_v1 h;
		uint64_t features;
		size_t frame;
		int want;
	} cases[] = {
		{ { 0 }, 0, 60, 0 },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 }, csum, 60, 0 },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 }, 0, 60, -EINVAL },
		/* checksum field past the frame's end */
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 0xfff0, .csum_offset = 0x20 }, csum, 60, -EINVAL },
		{ { .flags = VIRTIO_NET_HDR_F_DATA_VALID }, csum, 60, -EINVAL },
		{ { .flags = 0x80 }, csum, 60, -EINVAL },
		{ { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448, .csum_start = 34,
		    .csum_offset = 16 }, tso4, 9000, 0 },
		{ { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1428, .csum_start = 54,
		    .csum_offset = 16 }, tso4, 9000, -EINVAL },
		{ { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1428, .csum_start = 54,
		    .csum_offset = 16 }, tso6, 9000, 0 },
		{ { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 0, .csum_start = 34,
		    .csum_offset = 16 }, tso4, 9000, -EINVAL },
		{ { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 }, tso4, 9000, -EINVAL },
		{ { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_UDP, .gso_size = 1448, .csum_start = 34 }, tso4 | tso6,
		  9000, -EINVAL },
		{ { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, .gso_size = 1448,
		    .csum_start = 34 }, tso4, 9000, -EINVAL },
		{ { .gso_type = 0x42 }, tso4 | tso6, 60, -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct virtio_net_hdr_v1 h = cases[i].h;

		h.num_buffers = 9;
		assert_int_equal(virtio_net_tx_hdr(&h, cases[i].features, cases[i].frame), cases[i].want);
		if (cases[i].want == 0)
			assert_int_equal(h.num_buffers, 0);
	}
}

static void test_net_rx_header_fixed_for_the_driver(void **state)
{
	const uint64_t gcsum = 1ULL << VIRTIO_NET_F_GUEST_CSUM, gtso4 = gcsum | 1ULL << VIRTIO_NET_F_GUEST_TSO4;
	struct virtio_net_hdr_v1 h;

	/* DATA_VALID is dropped for a driver without GUEST_CSUM */
	h = (struct virtio_net_hdr_v1){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	assert_int_equal(virtio_net_rx_hdr(&h, 0, 1), 0);
	assert_int_equal(h.flags, 0);
	assert_int_equal(le16toh(h.num_buffers), 1);
	h = (struct virtio_net_hdr_v1){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	assert_int_equal(virtio_net_rx_hdr(&h, gcsum, 3), 0);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(le16toh(h.num_buffers), 3);
	h = (struct virtio_net_hdr_v1){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	assert_int_equal(virtio_net_rx_hdr(&h, 0, 1), -EINVAL);
	h = (struct virtio_net_hdr_v1){ .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	assert_int_equal(virtio_net_rx_hdr(&h, gcsum, 1), -EINVAL);
	assert_int_equal(virtio_net_rx_hdr(&h, gtso4, 1), 0);
	h = (struct virtio_net_hdr_v1){ .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1448 };
	assert_int_equal(virtio_net_rx_hdr(&h, gtso4, 1), -EINVAL);
	/* offloads asked of the tap follow the acked GUEST_* bits; TSO only with CSUM */
	assert_int_equal(virtio_net_tap_offloads(0), 0);
	assert_int_equal(virtio_net_tap_offloads(1ULL << VIRTIO_NET_F_GUEST_TSO4), 0);
	assert_int_equal(virtio_net_tap_offloads(gtso4), 0x01 | 0x02 /* TUN_F_CSUM | TUN_F_TSO4 */);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_transmits_frame_to_tap_with_clean_header),
		cmocka_unit_test(test_net_tx_rate_limiter_holds_frames_until_its_timer),
		cmocka_unit_test(test_net_rx_rate_limiter_holds_the_frame_until_its_timer),
		cmocka_unit_test(test_net_drops_short_oversized_and_unnegotiated_offload_frames),
		cmocka_unit_test(test_net_malformed_transmitq_breaks_only_the_device),
		cmocka_unit_test(test_net_receives_frame_into_one_buffer),
		cmocka_unit_test(test_net_mergeable_frame_spans_chains),
		cmocka_unit_test(test_net_without_rx_buffers_stops_reading_the_tap),
		cmocka_unit_test(test_net_drops_frame_larger_than_the_only_buffer),
		cmocka_unit_test(test_net_malformed_receiveq_breaks_only_the_device),
		cmocka_unit_test(test_net_mq_pairs_set_enables_second_pair),
		cmocka_unit_test(test_net_ctrl_command_without_ack_byte_breaks_device),
		cmocka_unit_test(test_net_config_space_has_mac_status_pairs_mtu),
		cmocka_unit_test(test_net_vhost_mode_keeps_data_queues_out_of_the_vmm),
		cmocka_unit_test(test_net_tx_header_checks_against_acked_features),
		cmocka_unit_test(test_net_rx_header_fixed_for_the_driver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
