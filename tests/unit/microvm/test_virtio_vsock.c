/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-vsock with the hybrid Unix-socket host side, driven without KVM:
 * a fake guest (fake_guest.h) posts rx buffers and sends tx packets, real
 * Unix sockets play the host clients, and this file's fake event loop
 * polls the fds the device registered (so evloop.o is never linked). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_guest.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define QSIZE 64
#define RXQ 0
#define TXQ 1
#define EVQ 2
#define CID 3
#define RXBUF (44 + 4096)
#define TXBUF (44 + 4096)
#define BIG (44 + 128 * 1024)

/* device constants the tests observe */
#define BUF_ALLOC (64 * 1024)
#define MAX_CONNS 64
#define RST_RING 64
#define LOCAL_PORT_BASE (1u << 30)

enum { OP_REQUEST = 1, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE, OP_CREDIT_REQUEST };

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

/* ---- fake event loop: a table of fds, polled by pump() ------------------------ */

#define LOOP_MAX 256
static struct fake_loop {
	struct { int fd; uint32_t events; evloop_cb cb; void *opaque; bool live; } e[LOOP_MAX];
} loop;

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	assert_ptr_equal(l, (struct evloop *)&loop);
	for (int i = 0; i < LOOP_MAX; i++)
		assert_false(loop.e[i].live && loop.e[i].fd == fd); /* never registered twice */
	for (int i = 0; i < LOOP_MAX; i++) {
		if (!loop.e[i].live) {
			loop.e[i].fd = fd;
			loop.e[i].events = events;
			loop.e[i].cb = cb;
			loop.e[i].opaque = opaque;
			loop.e[i].live = true;
			return 0;
		}
	}
	fail_msg("fake loop full");
	return -ENOMEM;
}

int evloop_del(struct evloop *l, int fd)
{
	assert_ptr_equal(l, (struct evloop *)&loop);
	for (int i = 0; i < LOOP_MAX; i++) {
		if (loop.e[i].live && loop.e[i].fd == fd) {
			loop.e[i].live = false;
			return 0;
		}
	}
	fail_msg("evloop_del of fd %d that is not registered", fd);
	return -ENOENT;
}

static unsigned int loop_count(void)
{
	unsigned int n = 0;

	for (int i = 0; i < LOOP_MAX; i++)
		n += loop.e[i].live;
	return n;
}

/* Run ready callbacks until nothing is ready.  A device that keeps an fd
 * registered while it cannot make progress would spin the real event loop:
 * here it fails the bound. */
static void pump(void)
{
	for (int round = 0; round < 200; round++) {
		struct pollfd p[LOOP_MAX];
		int idx[LOOP_MAX], n = 0, ready = 0;

		for (int i = 0; i < LOOP_MAX; i++) {
			if (!loop.e[i].live)
				continue;
			p[n] = (struct pollfd){ .fd = loop.e[i].fd, .events = (short)loop.e[i].events };
			idx[n++] = i;
		}
		assert_true(poll(p, (nfds_t)n, 0) >= 0);
		for (int k = 0; k < n; k++) {
			int i = idx[k];

			if (!p[k].revents || !loop.e[i].live || loop.e[i].fd != p[k].fd)
				continue;
			ready++;
			loop.e[i].cb(loop.e[i].opaque, (uint32_t)p[k].revents);
		}
		if (!ready)
			return;
	}
	fail_msg("event loop never quiesced (an fd stays ready that the device does not drain)");
}

/* ---- fixture ------------------------------------------------------------------ */

struct fx {
	struct fake_guest g;
	struct fake_transport t;
	struct virtio_dev *d;
	char dir[64];
	char uds[128];
	uint64_t rxbuf[QSIZE], txbuf[QSIZE], big;
	uint16_t rx_posted, rx_seen, tx_next;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	memset(&loop, 0, sizeof(loop));
	fg_init(&f->g);
	for (int i = 0; i < QSIZE; i++) {
		f->rxbuf[i] = fg_alloc(&f->g, RXBUF);
		f->txbuf[i] = fg_alloc(&f->g, TXBUF);
	}
	f->big = fg_alloc(&f->g, BIG);
	strcpy(f->dir, "/tmp/hull-vsock-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->uds, sizeof(f->uds), "%s/v.sock", f->dir);
	return f;
}

static int setup(void **state)
{
	struct fx *f = fx_new();

	f->d = virtio_vsock_create(CID, f->uds, NULL);
	assert_non_null(f->d);
	fg_attach(&f->g, f->d, &f->t, (struct evloop *)&loop, QSIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	virtio_dev_destroy(f->d);
	assert_int_equal(loop_count(), 0);          /* every fd unregistered */
	assert_int_equal(access(f->uds, F_OK), -1); /* U unlinked */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	fg_free(&f->g);
	free(f);
	return 0;
}

/* ---- the guest's side ----------------------------------------------------------- */

static void post_rx(struct fx *f, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++) {
		uint16_t i = f->rx_posted % QSIZE;

		fg_desc(&f->g, RXQ, i, f->rxbuf[i], RXBUF, DESC_F_WRITE, 0);
		fg_avail_push(&f->g, RXQ, i);
		f->rx_posted++;
	}
	fg_kick(f->d, RXQ);
}

/* Next packet the device put on the rx used ring; false if none. */
static bool get_pkt(struct fx *f, struct hdr *h, void *data, uint32_t *dlen)
{
	uint32_t id, len;

	if (fg_used_idx(&f->g, RXQ) == f->rx_seen)
		return false;
	fg_used_elem(&f->g, RXQ, f->rx_seen, &id, &len);
	f->rx_seen++;
	assert_true(id < QSIZE);
	assert_true(len >= sizeof(*h) && len <= RXBUF);
	memcpy(h, fg_hva(&f->g, f->rxbuf[id]), sizeof(*h));
	assert_int_equal(le32toh(h->len), len - sizeof(*h));
	assert_int_equal(le64toh(h->src_cid), 2);
	assert_int_equal(le64toh(h->dst_cid), CID);
	assert_int_equal(le16toh(h->type), 1);
	assert_int_equal(le32toh(h->buf_alloc), BUF_ALLOC);
	if (data)
		memcpy(data, fg_hva(&f->g, f->rxbuf[id]) + sizeof(*h), len - sizeof(*h));
	if (dlen)
		*dlen = len - (uint32_t)sizeof(*h);
	return true;
}

static void expect_pkt(struct fx *f, uint16_t op, uint32_t src_port, uint32_t dst_port, struct hdr *out)
{
	struct hdr h;

	assert_true(get_pkt(f, &h, NULL, NULL));
	assert_int_equal(le16toh(h.op), op);
	if (src_port)
		assert_int_equal(le32toh(h.src_port), src_port);
	assert_int_equal(le32toh(h.dst_port), dst_port);
	if (out)
		*out = h;
}

static void expect_no_pkt(struct fx *f)
{
	struct hdr h;

	assert_false(get_pkt(f, &h, NULL, NULL));
}

/* Send a raw tx packet: header h, payload, buffer of out_len readable bytes. */
static void send_raw(struct fx *f, const struct hdr *h, const void *data, uint32_t dlen, uint32_t out_len)
{
	uint16_t i = f->tx_next % QSIZE;
	uint64_t a = dlen + sizeof(*h) > TXBUF || out_len > TXBUF ? f->big : f->txbuf[i];
	uint16_t used = fg_used_idx(&f->g, TXQ);

	memcpy(fg_hva(&f->g, a), h, sizeof(*h));
	if (dlen)
		memcpy(fg_hva(&f->g, a) + sizeof(*h), data, dlen);
	fg_desc(&f->g, TXQ, i, a, out_len, 0, 0);
	fg_avail_push(&f->g, TXQ, i);
	f->tx_next++;
	fg_kick(f->d, TXQ);
	if (!virtio_dev_broken(f->d))
		assert_int_equal(fg_used_idx(&f->g, TXQ), (uint16_t)(used + 1)); /* always returned */
}

static struct hdr mkhdr(uint32_t src_port, uint32_t dst_port, uint16_t op, uint32_t len)
{
	return (struct hdr){ .src_cid = htole64(CID), .dst_cid = htole64(2), .src_port = htole32(src_port),
			     .dst_port = htole32(dst_port), .len = htole32(len), .type = htole16(1),
			     .op = htole16(op), .buf_alloc = htole32(BUF_ALLOC) };
}

static void send_op(struct fx *f, uint32_t src_port, uint32_t dst_port, uint16_t op, uint32_t flags,
		    uint32_t fwd_cnt)
{
	struct hdr h = mkhdr(src_port, dst_port, op, 0);

	h.flags = htole32(flags);
	h.fwd_cnt = htole32(fwd_cnt);
	send_raw(f, &h, NULL, 0, sizeof(h));
}

static void send_rw(struct fx *f, uint32_t src_port, uint32_t dst_port, const void *data, uint32_t len,
		    uint32_t fwd_cnt)
{
	struct hdr h = mkhdr(src_port, dst_port, OP_RW, len);

	h.fwd_cnt = htole32(fwd_cnt);
	send_raw(f, &h, data, len, (uint32_t)sizeof(h) + len);
}

/* ---- host clients ------------------------------------------------------------------ */

static int client(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(f->uds) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->uds, strlen(f->uds) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Bytes readable now (0 at EOF, -1 if nothing yet). */
static ssize_t get_now(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	if (n < 0) {
		assert_true(errno == EAGAIN || errno == ECONNRESET);
		return errno == ECONNRESET ? 0 : -1;
	}
	return n;
}

static bool closed_by_vmm(int fd)
{
	char c;

	return get_now(fd, &c, 1) == 0;
}

/* Host client + guest handshake: returns the client fd, *local = host port. */
static int connect_to_guest(struct fx *f, uint32_t port, uint32_t *local)
{
	char line[32], want[32];
	struct hdr h;
	int fd = client(f);
	ssize_t n;

	post_rx(f, 16);
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	put(fd, line);
	pump();
	expect_pkt(f, OP_REQUEST, 0, port, &h);
	*local = le32toh(h.src_port);
	assert_true(*local >= LOCAL_PORT_BASE);
	send_op(f, port, *local, OP_RESPONSE, 0, 0);
	pump();
	snprintf(want, sizeof(want), "OK %u\n", *local);
	n = get_now(fd, line, sizeof(line) - 1);
	assert_int_equal(n, (ssize_t)strlen(want));
	line[n] = '\0';
	assert_string_equal(line, want);
	return fd;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_vsock_config_features_and_socket(void **state)
{
	struct fx *f = *state;
	uint8_t cfg[8];
	struct stat st;
	uint64_t cid;

	memset(cfg, 0xff, sizeof(cfg));
	f->d->ops->config_read(f->d, 0, cfg, sizeof(cfg));
	memcpy(&cid, cfg, 8);
	assert_int_equal(le64toh(cid), CID);
	memset(cfg, 0, sizeof(cfg));
	f->d->ops->config_read(f->d, 4, cfg, 4); /* high half */
	assert_int_equal(cfg[0] | cfg[1] | cfg[2] | cfg[3], 0);
	f->d->ops->config_write(f->d, 0, "\x09\0\0\0\0\0\0\0", 8);
	f->d->ops->config_read(f->d, 0, cfg, 8);
	assert_int_equal(cfg[0], CID);
	assert_int_equal(f->d->ops->device_id, 19);
	assert_int_equal(f->d->ops->num_queues, 3);
	assert_int_equal(f->d->ops->features(f->d), 1); /* VIRTIO_VSOCK_F_STREAM */
	assert_int_equal(stat(f->uds, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_vsock_host_connect_handshake_and_data_both_ways(void **state)
{
	struct fx *f = *state;
	char buf[64];
	uint32_t local, dlen;
	struct hdr h;
	int fd = connect_to_guest(f, 1024, &local);

	put(fd, "hello");
	pump();
	assert_true(get_pkt(f, &h, buf, &dlen));
	assert_int_equal(le16toh(h.op), OP_RW);
	assert_int_equal(le32toh(h.src_port), local);
	assert_int_equal(le32toh(h.dst_port), 1024);
	assert_int_equal(dlen, 5);
	assert_memory_equal(buf, "hello", 5);

	send_rw(f, 1024, local, "world!", 6, 5);
	pump();
	assert_int_equal(get_now(fd, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "world!", 6);
	/* the next packet to the guest carries fwd_cnt = 6 */
	put(fd, "x");
	pump();
	assert_true(get_pkt(f, &h, buf, &dlen));
	assert_int_equal(le32toh(h.fwd_cnt), 6);
	expect_no_pkt(f);
	close(fd);
}

/* Two-descriptor chains (header, payload) as older Linux drivers post
 * them, on both queues. */
static void test_vsock_split_header_and_payload_descriptors(void **state)
{
	struct fx *f = *state;
	uint64_t hb = fg_alloc(&f->g, 44), pb = fg_alloc(&f->g, 100), rh = fg_alloc(&f->g, 44),
		 rp = fg_alloc(&f->g, 100);
	char buf[16];
	uint32_t local, id, len;
	struct hdr h;
	int fd = connect_to_guest(f, 1024, &local);

	h = mkhdr(1024, local, OP_RW, 3);
	memcpy(fg_hva(&f->g, hb), &h, 44);
	memcpy(fg_hva(&f->g, pb), "abc", 3);
	fg_desc(&f->g, TXQ, 60, hb, 44, DESC_F_NEXT, 61);
	fg_desc(&f->g, TXQ, 61, pb, 3, 0, 0);
	fg_avail_push(&f->g, TXQ, 60);
	fg_kick(f->d, TXQ);
	pump();
	assert_int_equal(get_now(fd, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abc", 3);

	/* use up the single rx buffers left from the handshake */
	while (fg_used_idx(&f->g, RXQ) != f->rx_posted) {
		put(fd, "z");
		pump();
	}
	while (get_pkt(f, &h, NULL, NULL))
		;
	fg_desc(&f->g, RXQ, 62, rh, 44, DESC_F_WRITE | DESC_F_NEXT, 63);
	fg_desc(&f->g, RXQ, 63, rp, 100, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, RXQ, 62);
	fg_kick(f->d, RXQ);
	put(fd, "xyz");
	pump();
	assert_int_equal(fg_used_idx(&f->g, RXQ), (uint16_t)(f->rx_seen + 1));
	fg_used_elem(&f->g, RXQ, f->rx_seen, &id, &len);
	assert_int_equal(id, 62);
	assert_int_equal(len, 47);
	memcpy(&h, fg_hva(&f->g, rh), 44);
	assert_int_equal(le16toh(h.op), OP_RW);
	assert_int_equal(le32toh(h.len), 3);
	assert_memory_equal(fg_hva(&f->g, rp), "xyz", 3);
	close(fd);
}

/* Bytes the client sends right behind its CONNECT line are payload. */
static void test_vsock_bytes_after_connect_line_are_kept(void **state)
{
	struct fx *f = *state;
	char buf[64];
	uint32_t local, dlen;
	struct hdr h;
	int fd = client(f);

	post_rx(f, 8);
	put(fd, "CONNECT 1024\nearly");
	pump();
	expect_pkt(f, OP_REQUEST, 0, 1024, &h);
	local = le32toh(h.src_port);
	expect_no_pkt(f); /* nothing read before the guest accepted */
	send_op(f, 1024, local, OP_RESPONSE, 0, 0);
	pump();
	assert_true(get_pkt(f, &h, buf, &dlen));
	assert_int_equal(le16toh(h.op), OP_RW);
	assert_int_equal(dlen, 5);
	assert_memory_equal(buf, "early", 5);
	assert_int_equal(get_now(fd, buf, sizeof(buf)), (ssize_t)strlen("OK 1073741824\n"));
	assert_memory_equal(buf, "OK ", 3);
	close(fd);
}

static void test_vsock_guest_rst_closes_host_client(void **state)
{
	struct fx *f = *state;
	struct hdr h;
	int fd = client(f);

	post_rx(f, 4);
	put(fd, "CONNECT 1024\n");
	pump();
	expect_pkt(f, OP_REQUEST, 0, 1024, &h);
	send_op(f, 1024, le32toh(h.src_port), OP_RST, 0, 0);
	pump();
	assert_true(closed_by_vmm(fd));
	expect_no_pkt(f); /* an RST is never answered */
	close(fd);
}

/* The guest's credit bounds what is read from the host: 8 bytes of window,
 * 20 written; 8 arrive, a CREDIT_REQUEST follows, the rest waits in the
 * host socket until the guest reports it consumed them. */
static void test_vsock_credit_stall_and_resume(void **state)
{
	struct fx *f = *state;
	char buf[64];
	uint32_t local, dlen;
	struct hdr h = { 0 };
	int fd = client(f);

	post_rx(f, 16);
	put(fd, "CONNECT 1024\n");
	pump();
	expect_pkt(f, OP_REQUEST, 0, 1024, &h);
	local = le32toh(h.src_port);
	h = mkhdr(1024, local, OP_RESPONSE, 0);
	h.buf_alloc = htole32(8);
	send_raw(f, &h, NULL, 0, 44);
	pump();
	assert_int_equal(get_now(fd, buf, sizeof(buf)), (ssize_t)strlen("OK 1073741824\n"));

	put(fd, "0123456789abcdefghij");
	pump();
	assert_true(get_pkt(f, &h, buf, &dlen));
	assert_int_equal(le16toh(h.op), OP_RW);
	assert_int_equal(dlen, 8);
	assert_memory_equal(buf, "01234567", 8);
	expect_pkt(f, OP_CREDIT_REQUEST, local, 1024, NULL);
	expect_no_pkt(f);
	pump();
	expect_no_pkt(f); /* asked once per stall */

	/* guest consumed 8: 8 more */
	h = mkhdr(1024, local, OP_CREDIT_UPDATE, 0);
	h.buf_alloc = htole32(8);
	h.fwd_cnt = htole32(8);
	send_raw(f, &h, NULL, 0, 44);
	pump();
	assert_true(get_pkt(f, &h, buf, &dlen));
	assert_int_equal(dlen, 8);
	assert_memory_equal(buf, "89abcdef", 8);
	expect_pkt(f, OP_CREDIT_REQUEST, local, 1024, NULL);

	/* a bigger window lets the rest through */
	h = mkhdr(1024, local, OP_CREDIT_UPDATE, 0);
	h.buf_alloc = htole32(4096);
	h.fwd_cnt = htole32(16);
	send_raw(f, &h, NULL, 0, 44);
	pump();
	assert_true(get_pkt(f, &h, buf, &dlen));
	assert_int_equal(dlen, 4);
	assert_memory_equal(buf, "ghij", 4);
	expect_no_pkt(f);
	close(fd);
}

/* A guest that posts no rx buffers: host bytes stay in the host socket (the
 * client's writes block), nothing is read into the VMM; buffers resume it. */
static void test_vsock_no_rx_buffers_stops_reading_host(void **state)
{
	struct fx *f = *state;
	static char chunk[4096];
	char buf[RXBUF];
	uint32_t local, dlen, got = 0;
	size_t sent = 0;
	struct hdr h;
	int fd = connect_to_guest(f, 1024, &local);

	/* use up the 14 buffers left from the handshake with tiny reads */
	while (fg_used_idx(&f->g, RXQ) != f->rx_posted) {
		put(fd, "z");
		pump();
	}
	while (get_pkt(f, &h, NULL, &dlen))
		got += dlen;
	memset(chunk, 'q', sizeof(chunk));
	for (;;) {
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
		sent += (size_t)n;
		pump();
		assert_true(sent < (64u << 20)); /* the VMM is not draining it */
	}
	/* the writer blocked and the VMM read nothing while starved */
	pump();
	expect_no_pkt(f);

	/* buffers back: data flows, up to the guest's credit (64 KiB window) */
	post_rx(f, 8);
	pump();
	for (int i = 0; i < 8; i++) {
		assert_true(get_pkt(f, &h, buf, &dlen));
		assert_int_equal(le16toh(h.op), OP_RW);
		assert_int_equal(dlen, 4096);
		assert_int_equal(buf[0], 'q');
	}
	close(fd);
}

/* Guest data past the credit we advertised is a protocol error: RST, host
 * client closed; the VMM holds at most BUF_ALLOC bytes for it meanwhile. */
static void test_vsock_guest_overrunning_credit_is_reset(void **state)
{
	struct fx *f = *state;
	static char chunk[4096];
	static char sink[1 << 16];
	uint32_t local;
	size_t sent = 0, got = 0;
	struct hdr h;
	int fd = connect_to_guest(f, 1024, &local);
	bool rst = false;
	ssize_t n;

	post_rx(f, 16);
	memset(chunk, 'w', sizeof(chunk));
	/* the client never reads */
	while (!rst) {
		send_rw(f, 1024, local, chunk, sizeof(chunk), 0);
		sent += sizeof(chunk);
		pump();
		while (get_pkt(f, &h, NULL, NULL))
			if (le16toh(h.op) == OP_RST)
				rst = true;
		assert_true(sent < (16u << 20));
	}
	/* the client gets what the socket took, then EOF */
	while ((n = get_now(fd, sink, sizeof(sink))) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	assert_true(got < sent);
	/* the connection is gone: more data for it is answered with RST */
	send_rw(f, 1024, local, "x", 1, 0);
	expect_pkt(f, OP_RST, local, 1024, NULL);
	close(fd);
	/* and the device still serves new connections */
	fd = connect_to_guest(f, 1025, &local);
	close(fd);
}

/* We return credit: after half the window is forwarded, a CREDIT_UPDATE. */
static void test_vsock_credit_update_after_half_window(void **state)
{
	struct fx *f = *state;
	static char chunk[4096], sink[1 << 16];
	uint32_t local, total = 0;
	struct hdr h;
	bool update = false;
	int fd = connect_to_guest(f, 1024, &local);

	memset(chunk, 'c', sizeof(chunk));
	for (int i = 0; i < 8; i++) {
		send_rw(f, 1024, local, chunk, sizeof(chunk), 0);
		total += sizeof(chunk);
		pump();
		while (get_now(fd, sink, sizeof(sink)) > 0)
			;
		while (get_pkt(f, &h, NULL, NULL)) {
			if (le16toh(h.op) == OP_CREDIT_UPDATE) {
				update = true;
				assert_true(le32toh(h.fwd_cnt) >= BUF_ALLOC / 2);
			}
		}
	}
	assert_true(update);
	/* and on request */
	send_op(f, 1024, local, OP_CREDIT_REQUEST, 0, 0);
	expect_pkt(f, OP_CREDIT_UPDATE, local, 1024, &h);
	assert_int_equal(le32toh(h.fwd_cnt), total);
	close(fd);
}

/* Half-close both ways, then the guest's full shutdown is answered with RST. */
static void test_vsock_shutdown_half_close_and_rst(void **state)
{
	struct fx *f = *state;
	char buf[64];
	uint32_t local, dlen;
	struct hdr h;
	int fd = connect_to_guest(f, 1024, &local);

	/* guest: no more sending -> the client reads EOF, can still write */
	send_op(f, 1024, local, OP_SHUTDOWN, 2 /* SEND */, 0);
	pump();
	assert_true(closed_by_vmm(fd));
	put(fd, "still");
	pump();
	assert_true(get_pkt(f, &h, buf, &dlen));
	assert_int_equal(dlen, 5);

	/* client: no more sending -> guest gets SHUTDOWN(SEND) only */
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	pump();
	expect_pkt(f, OP_SHUTDOWN, local, 1024, &h);
	assert_int_equal(le32toh(h.flags) & 2, 2);

	/* guest closes: RST, slot freed, client fd fully closed */
	send_op(f, 1024, local, OP_SHUTDOWN, 3, 0);
	pump();
	expect_pkt(f, OP_RST, local, 1024, NULL);
	send_op(f, 1024, local, OP_CREDIT_REQUEST, 0, 0);
	expect_pkt(f, OP_RST, local, 1024, NULL); /* unknown now */
	close(fd);
}

/* Client closes: SHUTDOWN with both flags; the guest's RST frees the slot. */
static void test_vsock_host_close_sends_full_shutdown(void **state)
{
	struct fx *f = *state;
	uint32_t local;
	struct hdr h;
	int fd = connect_to_guest(f, 1024, &local);

	close(fd);
	pump();
	expect_pkt(f, OP_SHUTDOWN, local, 1024, &h);
	assert_int_equal(le32toh(h.flags), 3);
	send_op(f, 1024, local, OP_RST, 0, 0);
	pump();
	expect_no_pkt(f);
	assert_int_equal(loop_count(), 1); /* only the listener */
}

static void test_vsock_guest_connect_to_host_port(void **state)
{
	struct fx *f = *state;
	char path[160], buf[64];
	uint32_t dlen;
	struct hdr h;
	int l, fd;

	snprintf(path, sizeof(path), "%s_5000", f->uds);
	l = listen_at(path);
	post_rx(f, 8);
	send_op(f, 7777, 5000, OP_REQUEST, 0, 0);
	pump();
	expect_pkt(f, OP_RESPONSE, 5000, 7777, NULL);
	fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);

	send_rw(f, 7777, 5000, "ping", 4, 0);
	pump();
	assert_int_equal(get_now(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	put(fd, "pong");
	pump();
	assert_true(get_pkt(f, &h, buf, &dlen));
	assert_int_equal(le16toh(h.op), OP_RW);
	assert_int_equal(le32toh(h.src_port), 5000);
	assert_int_equal(le32toh(h.dst_port), 7777);
	assert_memory_equal(buf, "pong", 4);
	close(fd);
	close(l);
}

static void test_vsock_guest_connect_without_listener_is_reset(void **state)
{
	struct fx *f = *state;

	post_rx(f, 4);
	send_op(f, 7777, 5001, OP_REQUEST, 0, 0);
	pump();
	expect_pkt(f, OP_RST, 5001, 7777, NULL);
	expect_no_pkt(f);
}

/* Hostile tx packets: dropped (wrong cids, short header) or answered with
 * RST (unknown connection, bad length, unknown op, wrong type); the device
 * never breaks and the VMM keeps serving. */
static void test_vsock_hostile_tx_packets(void **state)
{
	struct fx *f = *state;
	struct hdr h;
	uint32_t local;
	int fd;

	post_rx(f, 32);
	h = mkhdr(10, 20, OP_RW, 0);
	h.src_cid = htole64(4); /* not our guest */
	send_raw(f, &h, NULL, 0, 44);
	h = mkhdr(10, 20, OP_RW, 0);
	h.dst_cid = htole64(7); /* not the host */
	send_raw(f, &h, NULL, 0, 44);
	h = mkhdr(10, 20, OP_REQUEST, 0);
	send_raw(f, &h, NULL, 0, 20); /* shorter than a header */
	pump();
	expect_no_pkt(f);

	h = mkhdr(10, 20, OP_RW, 0xffffffffu); /* huge len */
	send_raw(f, &h, NULL, 0, 44);
	expect_pkt(f, OP_RST, 20, 10, NULL);
	h = mkhdr(11, 20, OP_RW, 100); /* len past the buffer */
	send_raw(f, &h, "abc", 3, 47);
	expect_pkt(f, OP_RST, 20, 11, NULL);
	send_op(f, 12, 20, 99, 0, 0); /* unknown op */
	expect_pkt(f, OP_RST, 20, 12, NULL);
	send_op(f, 13, 20, OP_RW, 0, 0); /* data for no connection */
	expect_pkt(f, OP_RST, 20, 13, NULL);
	send_op(f, 14, 20, OP_RST, 0, 0); /* RST for no connection: silence */
	expect_no_pkt(f);
	h = mkhdr(15, 20, OP_REQUEST, 0);
	h.type = htole16(2); /* SEQPACKET, never offered */
	send_raw(f, &h, NULL, 0, 44);
	expect_pkt(f, OP_RST, 20, 15, NULL);
	h = mkhdr(16, 20, OP_CREDIT_UPDATE, 5); /* control op with a length */
	send_raw(f, &h, "12345", 5, 49);
	expect_pkt(f, OP_RST, 20, 16, NULL);
	assert_false(virtio_dev_broken(f->d));

	/* on a live connection, a bad packet resets only that connection */
	fd = connect_to_guest(f, 1024, &local);
	send_op(f, 1024, local, 99, 0, 0);
	pump();
	expect_pkt(f, OP_RST, local, 1024, NULL);
	assert_true(closed_by_vmm(fd));
	close(fd);
	fd = connect_to_guest(f, 1024, &local);
	send_op(f, 1024, local, OP_REQUEST, 0, 0); /* REQUEST on a live connection */
	pump();
	expect_pkt(f, OP_RST, local, 1024, NULL);
	assert_true(closed_by_vmm(fd));
	close(fd);
	assert_false(virtio_dev_broken(f->d));
}

/* RSTs owed to a guest that posts no rx buffers are bounded. */
static void test_vsock_rst_backlog_is_bounded(void **state)
{
	struct fx *f = *state;
	unsigned int n = 0;
	struct hdr h;

	for (uint32_t p = 0; p < 3 * RST_RING; p++)
		send_op(f, 100 + p, 20, OP_RW, 0, 0);
	post_rx(f, QSIZE);
	pump();
	while (get_pkt(f, &h, NULL, NULL)) {
		assert_int_equal(le16toh(h.op), OP_RST);
		n++;
	}
	assert_int_equal(n, RST_RING);
}

/* Bad host clients are closed; a good one next to them still works. */
static void test_vsock_bad_host_clients_are_closed(void **state)
{
	struct fx *f = *state;
	static const char *bad[] = {
		"HELLO\n", "CONNECT\n", "CONNECT \n", "CONNECT 12x\n", "connect 1024\n", "CONNECT -1\n",
		"CONNECT 4294967295\n", "CONNECT 99999999999\n", "CONNECT 1024 \n",
		"CONNECT 000000000000000000000001024", /* 32 bytes, no newline */
	};
	int fds[ARRAY_SIZE(bad)], slow, good;
	uint32_t local;

	slow = client(f);
	put(slow, "CONNECT 10"); /* a line still coming is left alone */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fds[i] = client(f);
		put(fds[i], bad[i]);
	}
	pump();
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(closed_by_vmm(fds[i]));
		close(fds[i]);
	}
	assert_false(closed_by_vmm(slow));
	good = connect_to_guest(f, 1024, &local);
	put(slow, "24\n");
	pump();
	expect_pkt(f, OP_REQUEST, 0, 1024, NULL);
	expect_no_pkt(f);
	close(slow);
	close(good);
}

/* At most MAX_CONNS connections: the next client is closed at once, and a
 * slot freed by a leaving client is reused. */
static void test_vsock_connection_limit(void **state)
{
	struct fx *f = *state;
	int fds[MAX_CONNS], extra, l, peer;
	char buf[8], path[160];

	for (int i = 0; i < MAX_CONNS; i++)
		fds[i] = client(f);
	pump();
	extra = client(f);
	pump();
	assert_true(closed_by_vmm(extra));
	close(extra);
	for (int i = 0; i < MAX_CONNS; i++)
		assert_int_equal(get_now(fds[i], buf, 1), -1); /* still open */
	close(fds[0]);
	pump();
	fds[0] = client(f);
	pump();
	assert_int_equal(get_now(fds[0], buf, 1), -1);
	/* guest-initiated connections count too: the host listener's
	 * connection is closed and the guest gets RST */
	snprintf(path, sizeof(path), "%s_5000", f->uds);
	l = listen_at(path);
	post_rx(f, 4);
	send_op(f, 7777, 5000, OP_REQUEST, 0, 0);
	expect_pkt(f, OP_RST, 5000, 7777, NULL);
	peer = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	assert_true(peer >= 0);
	assert_true(closed_by_vmm(peer));
	close(peer);
	close(l);
	for (int i = 0; i < MAX_CONNS; i++)
		close(fds[i]);
	pump();
}

/* Out of fds: the client that cannot be accepted is refused (closed) with
 * the device's spare fd instead of the listener spinning; pump() fails if it
 * spins.  Once fds are back, clients are served again. */
static void test_vsock_out_of_fds_refuses_client_without_spinning(void **state)
{
	struct fx *f = *state;
	struct rlimit old, low;
	uint32_t local;
	int fd = client(f), probe;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	probe = dup(0); /* the lowest free fd: the limit makes it unusable */
	assert_true(probe >= 0);
	close(probe);
	low = old;
	low.rlim_cur = (rlim_t)probe;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	pump();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(closed_by_vmm(fd));
	close(fd);
	assert_int_equal(loop_count(), 1); /* still listening */
	fd = connect_to_guest(f, 1024, &local);
	close(fd);
}

/* Handshake deadlines: none passes within the default 10 s; once the limit
 * is 0, a silent client is closed, a guest that never answered gets RST and
 * its client is closed, one whose REQUEST never reached the guest (no rx
 * buffers) is closed with nothing sent; established connections stay. */
static void test_vsock_handshake_deadlines(void **state)
{
	struct fx *f = *state;
	uint32_t local, dlen;
	int silent, unanswered, starved, live;
	char buf[16];
	struct hdr h, tmp;

	live = connect_to_guest(f, 1024, &local);
	silent = client(f);
	unanswered = client(f);
	put(unanswered, "CONNECT 2000\n");
	pump();
	expect_pkt(f, OP_REQUEST, 0, 2000, &h);
	/* the rx queue runs dry: the next REQUEST cannot even be sent */
	while (fg_used_idx(&f->g, RXQ) != f->rx_posted) {
		put(live, "z");
		pump();
	}
	while (get_pkt(f, &tmp, NULL, NULL))
		;
	starved = client(f);
	put(starved, "CONNECT 3000\n");
	pump();
	assert_false(closed_by_vmm(silent));
	assert_false(closed_by_vmm(unanswered));
	assert_false(closed_by_vmm(starved));

	virtio_vsock_set_handshake_ms(f->d, 0); /* every deadline has passed */
	pump();
	assert_true(closed_by_vmm(silent));
	assert_true(closed_by_vmm(unanswered));
	assert_true(closed_by_vmm(starved));
	post_rx(f, 8);
	pump();
	expect_pkt(f, OP_RST, le32toh(h.src_port), 2000, NULL); /* the unanswered REQUEST */
	expect_no_pkt(f); /* the starved one never reached the guest: nothing to undo */
	/* the established connection is not touched */
	send_rw(f, 1024, local, "alive", 5, 0);
	pump();
	assert_int_equal(get_now(live, buf, sizeof(buf)), 5);
	put(live, "ok");
	pump();
	assert_true(get_pkt(f, &tmp, buf, &dlen));
	assert_int_equal(dlen, 2);
	close(silent);
	close(unanswered);
	close(starved);
	close(live);
	pump();
}

/* A driver reset ends every connection and stops accepting until activate. */
static void test_vsock_reset_closes_connections(void **state)
{
	struct fx *f = *state;
	uint32_t local;
	int fd = connect_to_guest(f, 1024, &local), late;

	pthread_mutex_lock(&f->d->lock);
	f->d->ops->reset(f->d);
	pthread_mutex_unlock(&f->d->lock);
	assert_int_equal(loop_count(), 0);
	assert_true(closed_by_vmm(fd));
	close(fd);
	late = client(f); /* waits in the backlog */
	put(late, "CONNECT 1024\n");
	pump();
	expect_no_pkt(f);
	assert_int_equal(f->d->ops->activate(f->d), 0);
	pump();
	expect_pkt(f, OP_REQUEST, 0, 1024, NULL);
	close(late);
	pump();
}

static void test_vsock_malformed_tx_ring_breaks_only_the_device(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, TXQ, 0, f->txbuf[0], 44, DESC_F_NEXT, QSIZE);
	fg_avail_push(&f->g, TXQ, 0);
	fg_kick(f->d, TXQ);
	assert_true(virtio_dev_broken(f->d));
	assert_int_equal(f->t.config_signals, 1);
	/* kicks are ignored now, host clients are not served */
	post_rx(f, 4);
	expect_no_pkt(f);
}

static void test_vsock_create_rejects_bad_config(void **state)
{
	struct fx *f = fx_new();
	struct hull_err *err = NULL;
	char longp[200], cmd[128];
	int fd;

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_null(virtio_vsock_create(2, f->uds, &err)); /* the host's CID */
	assert_non_null(strstr(err->msg, "cid"));
	hull_err_free(&err);
	assert_null(virtio_vsock_create(3, longp, &err));
	hull_err_free(&err);
	assert_null(virtio_vsock_create(3, "", &err));
	hull_err_free(&err);
	fd = open(f->uds, O_CREAT | O_WRONLY | O_CLOEXEC, 0600); /* path exists */
	close(fd);
	assert_null(virtio_vsock_create(3, f->uds, &err));
	assert_int_equal(err->errnum, EEXIST);
	hull_err_free(&err);
	assert_int_equal(access(f->uds, F_OK), 0); /* not ours: left alone */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	fg_free(&f->g);
	free(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_vsock_config_features_and_socket),
		T(test_vsock_host_connect_handshake_and_data_both_ways),
		T(test_vsock_split_header_and_payload_descriptors),
		T(test_vsock_bytes_after_connect_line_are_kept),
		T(test_vsock_guest_rst_closes_host_client),
		T(test_vsock_credit_stall_and_resume),
		T(test_vsock_no_rx_buffers_stops_reading_host),
		T(test_vsock_guest_overrunning_credit_is_reset),
		T(test_vsock_credit_update_after_half_window),
		T(test_vsock_shutdown_half_close_and_rst),
		T(test_vsock_host_close_sends_full_shutdown),
		T(test_vsock_guest_connect_to_host_port),
		T(test_vsock_guest_connect_without_listener_is_reset),
		T(test_vsock_hostile_tx_packets),
		T(test_vsock_rst_backlog_is_bounded),
		T(test_vsock_bad_host_clients_are_closed),
		T(test_vsock_connection_limit),
		T(test_vsock_out_of_fds_refuses_client_without_spinning),
		T(test_vsock_handshake_deadlines),
		T(test_vsock_reset_closes_connections),
		T(test_vsock_malformed_tx_ring_breaks_only_the_device),
		cmocka_unit_test(test_vsock_create_rejects_bad_config),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
