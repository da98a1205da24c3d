/* SPDX-License-Identifier: Apache-2.0 */
/* vhost-user without KVM: the frontend (microvm/virtio/vhost_user.c) against
 * the backend loop (vhost_user_backend.c, in a thread) over a socketpair,
 * "guest RAM" in a sealed memfd that both map.  A request goes round a real
 * split ring; hostile frontends (bad memory tables, rings outside memory,
 * bad indexes, short or oversized messages, stray fds), a hostile guest
 * (a descriptor outside memory) and hostile backends (wrong replies, a
 * disconnect) each fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/virtio/vhost_user.h"

#include <endian.h>
#include <poll.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/vfs.h>

#define RAM_SIZE (1u << 20)
#define HIGH_GPA 0x100000000ULL  /* second region: RAM_SIZE/2 bytes at 4 GiB, file offset RAM_SIZE/2 */
#define QSZ 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA_IN 0x10000
#define DATA_OUT (HIGH_GPA + 0x100)

struct fx {
	int sv[2];
	int memfd;
	uint8_t *ram;
	struct guest_mem gm;
	struct vhu_front f;
	pthread_t thread;
	int backend_ret;
	struct hull_err *backend_err;
	int handled;
	int kick[2], call[2], errfd[2];
};
static struct fx *fx;

static ssize_t echo_handle(void *opaque, unsigned int q, const struct iovec *in, int nin, const struct iovec *out,
			   int nout)
{
	char buf[64] = "pong:";
	size_t len = 5;

	fx->handled++;
	for (int i = 0; i < nin; i++) {
		size_t n = in[i].iov_len < sizeof(buf) - len ? in[i].iov_len : sizeof(buf) - len;
		memcpy(buf + len, in[i].iov_base, n);
		len += n;
	}
	if (nout < 1 || out[0].iov_len < len)
		return -1;
	memcpy(out[0].iov_base, buf, len);
	return (ssize_t)len;
}

static const struct vub_ops echo_ops = {
	.name = "test", .num_queues = 2, .features = 0, .handle = echo_handle,
};

static void *backend_main(void *arg)
{
	fx->backend_ret = vhost_user_backend_run(fx->sv[1], &echo_ops, NULL, &fx->backend_err);
	shutdown(fx->sv[1], SHUT_RDWR);
	return NULL;
}

static uint8_t *at(uint64_t gpa)
{
	return gpa >= HIGH_GPA ? fx->ram + RAM_SIZE / 2 + (gpa - HIGH_GPA) : fx->ram + gpa;
}

static int setup(void **state)
{
	struct hull_err *err = NULL;

	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE must not be what saves us */
	fx = calloc(1, sizeof(*fx));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx->sv), 0);
	fx->memfd = memfd_create("test-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fx->memfd >= 0);
	assert_int_equal(ftruncate(fx->memfd, RAM_SIZE), 0);
	assert_int_equal(fcntl(fx->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	fx->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fx->memfd, 0);
	assert_true(fx->ram != MAP_FAILED);
	assert_int_equal(gm_add_region_fd(&fx->gm, 0, RAM_SIZE / 2, fx->ram, fx->memfd, 0, &err), 0);
	assert_int_equal(gm_add_region_fd(&fx->gm, HIGH_GPA, RAM_SIZE / 2, fx->ram + RAM_SIZE / 2, fx->memfd,
					  RAM_SIZE / 2, &err), 0);
	for (int i = 0; i < 2; i++) {
		fx->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		fx->call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		fx->errfd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	fx->f.sock = -1;
	*state = fx;
	return 0;
}

static void start_backend(void)
{
	assert_int_equal(pthread_create(&fx->thread, NULL, backend_main, NULL), 0);
}

/* Close our end and wait for the backend: returns what it returned. */
static int stop_backend(void)
{
	vhu_front_close(&fx->f);
	fx->sv[0] = -1;
	pthread_join(fx->thread, NULL);
	return fx->backend_ret;
}

static void assert_backend_alive(void);

static int teardown(void **state)
{
	if (fx->sv[0] >= 0 && fx->f.sock != fx->sv[0])
		close(fx->sv[0]);
	vhu_front_close(&fx->f);
	close(fx->sv[1]);
	close(fx->memfd);
	munmap(fx->ram, RAM_SIZE);
	for (int i = 0; i < 2; i++) {
		close(fx->kick[i]);
		close(fx->call[i]);
		close(fx->errfd[i]);
	}
	hull_err_free(&fx->backend_err);
	free(fx);
	return 0;
}

static void open_front(void)
{
	struct hull_err *err = NULL;

	start_backend();
	if (vhu_front_open_fd(&fx->f, fx->sv[0], "test", &err) < 0)
		fail_msg("open: %s", err->msg);
	assert_true(fx->f.reply_ack);
	assert_true(fx->f.backend_features & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(fx->f.backend_features & (1ULL << VIRTIO_F_EVENT_IDX));
	assert_int_equal(vhu_front_set_features(&fx->f, 1ULL << VIRTIO_F_VERSION_1, &err), 0);
}

static struct vhu_vring_cfg ring_cfg(unsigned int q, uint64_t desc_gpa)
{
	return (struct vhu_vring_cfg){
		.num = QSZ, .base = 0, .desc = (uintptr_t)at(desc_gpa), .avail = (uintptr_t)at(AVAIL + q * 0x4000),
		.used = (uintptr_t)at(USED + q * 0x4000), .kick = fx->kick[q], .call = fx->call[q],
		.err = fx->errfd[q],
	};
}

static void put_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = at(table + 16u * i);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);
	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
}

/* Make head available on queue q's avail ring as entry idx, and kick. */
static void make_avail(unsigned int q, uint16_t idx, uint16_t head)
{
	uint8_t *avail = at(AVAIL + q * 0x4000);
	uint16_t h = htole16(head), i = htole16((uint16_t)(idx + 1));
	uint64_t one = 1;

	memcpy(avail + 4 + 2 * (idx % QSZ), &h, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(avail + 2, &i, 2);
	assert_int_equal(write(fx->kick[q], &one, 8), 8);
}

/* Block until fd (an eventfd) is signalled. */
static void wait_fd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	assert_int_equal(poll(&p, 1, -1), 1);
	assert_int_equal(read(fd, &v, 8), 8);
}

static uint16_t used_idx(unsigned int q)
{
	uint16_t v;
	memcpy(&v, at(USED + q * 0x4000) + 2, 2);
	return le16toh(v);
}

/* ---- the round trip ------------------------------------------------------------ */

static void test_vhost_user_request_round_trip_through_shared_ring(void **state)
{
	struct hull_err *err = NULL;
	struct vhu_vring_cfg c;
	uint32_t used[2];
	uint16_t base = 99;

	open_front();
	if (vhu_front_set_mem_table(&fx->f, &fx->gm, &err) < 0)
		fail_msg("mem table: %s", err->msg);
	c = ring_cfg(1, DESC + 0x4000);
	if (vhu_front_vring_start(&fx->f, 1, &c, &err) < 0)
		fail_msg("vring start: %s", err->msg);
	memcpy(at(DATA_IN), "ping", 4);
	put_desc(DESC + 0x4000, 0, DATA_IN, 4, 1 /* NEXT */, 1);
	put_desc(DESC + 0x4000, 1, DATA_OUT, 64, 2 /* WRITE */, 0); /* in the second region */
	make_avail(1, 0, 0);
	wait_fd(fx->call[1]);
	assert_int_equal(used_idx(1), 1);
	memcpy(used, at(USED + 0x4000) + 4, 8);
	assert_int_equal(le32toh(used[0]), 0);
	assert_int_equal(le32toh(used[1]), 9);
	assert_memory_equal(at(DATA_OUT), "pong:ping", 9);
	assert_int_equal(fx->handled, 1);

	/* a second request on the same ring */
	memcpy(at(DATA_IN), "again", 5);
	put_desc(DESC + 0x4000, 2, DATA_IN, 5, 1, 3);
	put_desc(DESC + 0x4000, 3, DATA_OUT, 64, 2, 0);
	make_avail(1, 1, 2);
	wait_fd(fx->call[1]);
	assert_int_equal(used_idx(1), 2);
	assert_memory_equal(at(DATA_OUT), "pong:again", 10);

	/* GET_VRING_BASE stops the ring and says where it stopped */
	assert_int_equal(vhu_front_vring_stop(&fx->f, 1, &base, &err), 0);
	assert_int_equal(base, 2);
	make_avail(1, 2, 0); /* stopped: nobody serves it */
	assert_int_equal(stop_backend(), 0);
	assert_int_equal(fx->handled, 2);
	assert_int_equal(used_idx(1), 2);
}

static void test_vhost_user_buffers_before_kick_fd_are_served_at_start(void **state)
{
	struct hull_err *err = NULL;
	struct vhu_vring_cfg c = ring_cfg(0, DESC);

	open_front();
	assert_int_equal(vhu_front_set_mem_table(&fx->f, &fx->gm, &err), 0);
	memcpy(at(DATA_IN), "early", 5);
	put_desc(DESC, 0, DATA_IN, 5, 1, 1);
	put_desc(DESC, 1, DATA_OUT, 64, 2, 0);
	make_avail(0, 0, 0);
	assert_int_equal(vhu_front_vring_start(&fx->f, 0, &c, &err), 0);
	wait_fd(fx->call[0]);
	assert_memory_equal(at(DATA_OUT), "pong:early", 10);
	assert_int_equal(stop_backend(), 0);
}

static void test_vhost_user_new_memory_table_keeps_running_rings(void **state)
{
	struct hull_err *err = NULL;
	struct vhu_vring_cfg c = ring_cfg(1, DESC + 0x4000);
	struct guest_mem high_only = { 0 };

	open_front();
	assert_int_equal(vhu_front_set_mem_table(&fx->f, &fx->gm, &err), 0);
	assert_int_equal(vhu_front_vring_start(&fx->f, 1, &c, &err), 0);
	memcpy(at(DATA_IN), "one", 3);
	put_desc(DESC + 0x4000, 0, DATA_IN, 3, 1, 1);
	put_desc(DESC + 0x4000, 1, DATA_OUT, 64, 2, 0);
	make_avail(1, 0, 0);
	wait_fd(fx->call[1]);
	/* the same table again: the ring is re-checked and goes on where it was */
	assert_int_equal(vhu_front_set_mem_table(&fx->f, &fx->gm, &err), 0);
	memcpy(at(DATA_IN), "two", 3);
	make_avail(1, 1, 0);
	wait_fd(fx->call[1]);
	assert_int_equal(used_idx(1), 2);
	assert_memory_equal(at(DATA_OUT), "pong:two", 8);
	/* a table without the ring's region: that queue stops, the rest goes on */
	assert_int_equal(gm_add_region_fd(&high_only, HIGH_GPA, RAM_SIZE / 2, fx->ram + RAM_SIZE / 2, fx->memfd,
					  RAM_SIZE / 2, &err), 0);
	assert_int_equal(vhu_front_set_mem_table(&fx->f, &high_only, &err), 0);
	wait_fd(fx->errfd[1]);
	make_avail(1, 2, 0);
	assert_backend_alive();
	assert_int_equal(stop_backend(), 0);
	assert_int_equal(fx->handled, 2);
	assert_int_equal(used_idx(1), 2);
}

/* ---- hostile guest ---------------------------------------------------------------- */

static void test_vhost_user_descriptor_outside_memory_stops_only_that_queue(void **state)
{
	struct hull_err *err = NULL;
	struct vhu_vring_cfg c0 = ring_cfg(0, DESC), c1 = ring_cfg(1, DESC + 0x4000);

	open_front();
	assert_int_equal(vhu_front_set_mem_table(&fx->f, &fx->gm, &err), 0);
	assert_int_equal(vhu_front_vring_start(&fx->f, 0, &c0, &err), 0);
	assert_int_equal(vhu_front_vring_start(&fx->f, 1, &c1, &err), 0);
	/* queue 1: a buffer past the end of the low region */
	put_desc(DESC + 0x4000, 0, RAM_SIZE / 2 - 2, 4, 0, 0);
	make_avail(1, 0, 0);
	wait_fd(fx->errfd[1]);
	assert_int_equal(used_idx(1), 0);
	/* queue 0 still serves */
	memcpy(at(DATA_IN), "ok", 2);
	put_desc(DESC, 0, DATA_IN, 2, 1, 1);
	put_desc(DESC, 1, DATA_OUT, 64, 2, 0);
	make_avail(0, 0, 0);
	wait_fd(fx->call[0]);
	assert_memory_equal(at(DATA_OUT), "pong:ok", 7);
	assert_int_equal(fx->handled, 1);
	assert_int_equal(stop_backend(), 0);
}

/* ---- hostile frontend --------------------------------------------------------------- */

static void expect_refused(int r, struct hull_err **err, const char *what)
{
	if (r == 0)
		fail_msg("%s was accepted", what);
	assert_non_null(*err);
	assert_non_null(strstr((*err)->msg, "refused"));
	hull_err_free(err);
}

/* After a refusal the backend still answers. */
static void assert_backend_alive(void)
{
	struct hull_err *err = NULL;
	if (vhu_front_set_features(&fx->f, 1ULL << VIRTIO_F_VERSION_1, &err) < 0)
		fail_msg("backend gone: %s", err->msg);
}

static void test_vhost_user_ring_outside_memory_table_is_refused(void **state)
{
	struct hull_err *err = NULL;
	struct vhu_vring_cfg c = ring_cfg(0, DESC);

	open_front();
	assert_int_equal(vhu_front_set_mem_table(&fx->f, &fx->gm, &err), 0);
	c.desc = 0x1000; /* no region maps this address */
	expect_refused(vhu_front_vring_start(&fx->f, 0, &c, &err), &err, "desc outside memory");
	wait_fd(fx->errfd[0]);
	/* the used ring straddling the end of a region */
	c = ring_cfg(0, DESC);
	c.used = (uintptr_t)(fx->ram + RAM_SIZE / 2 - 8);
	expect_refused(vhu_front_vring_start(&fx->f, 0, &c, &err), &err, "used ring across a region end");
	/* misaligned descriptor table */
	c = ring_cfg(0, DESC);
	c.desc += 8;
	expect_refused(vhu_front_vring_start(&fx->f, 0, &c, &err), &err, "misaligned desc");
	assert_backend_alive();
	assert_int_equal(stop_backend(), 0);
}

static void test_vhost_user_bad_index_and_size_are_refused(void **state)
{
	struct hull_err *err = NULL;
	struct vhu_vring_cfg c = ring_cfg(0, DESC);

	open_front();
	assert_int_equal(vhu_front_set_mem_table(&fx->f, &fx->gm, &err), 0);
	expect_refused(vhu_front_vring_start(&fx->f, 2, &c, &err), &err, "queue 2 of 2");
	expect_refused(vhu_front_vring_start(&fx->f, 200, &c, &err), &err, "queue 200");
	c.num = 3;
	expect_refused(vhu_front_vring_start(&fx->f, 0, &c, &err), &err, "size 3");
	c.num = 2048;
	expect_refused(vhu_front_vring_start(&fx->f, 0, &c, &err), &err, "size 2048");
	assert_backend_alive();
	assert_int_equal(stop_backend(), 0);
}

/* Send a raw SET_MEM_TABLE; returns the backend's REPLY_ACK status. */
static uint64_t raw_mem_table(const struct vhu_region *r, uint32_t n, uint32_t size, const int *fds, unsigned int nfds)
{
	struct vhu_msg m = { .request = VHU_SET_MEM_TABLE, .flags = VHU_VERSION | VHU_FLAG_NEED_REPLY, .size = size };
	unsigned int got = 0;

	m.p.mem.nregions = n;
	for (uint32_t i = 0; i < n && i < VHU_MAX_REGIONS; i++)
		m.p.mem.regions[i] = r[i];
	assert_int_equal(vhu_send(fx->f.sock, &m, fds, nfds), 0);
	assert_int_equal(vhu_recv(fx->f.sock, &m, NULL, 0, &got), 0);
	assert_int_equal(m.request, VHU_SET_MEM_TABLE);
	assert_int_equal(m.size, 8);
	return m.p.u64;
}

static void test_vhost_user_bad_memory_tables_are_refused(void **state)
{
	struct vhu_region ok = { .gpa = 0, .size = RAM_SIZE, .uva = 0x7f0000000000ULL, .mmap_offset = 0 };
	struct vhu_region r[VHU_MAX_REGIONS + 1];
	int fds[VHU_MAX_REGIONS];
	int unsealed = memfd_create("unsealed", MFD_CLOEXEC);
	/* a file on disk: the working directory (the checkout) */
	int disk = open(".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	struct statfs sfs;

	assert_int_equal(ftruncate(unsealed, RAM_SIZE), 0);
	assert_true(disk >= 0);
	assert_int_equal(ftruncate(disk, RAM_SIZE), 0);
	assert_int_equal(fstatfs(disk, &sfs), 0);
	for (int i = 0; i < VHU_MAX_REGIONS; i++)
		fds[i] = fx->memfd;
	open_front();
	assert_int_equal(raw_mem_table(&ok, 1, VHU_MEM_SIZE(1), fds, 1), 0); /* the good one passes */

	r[0] = ok;
	r[0].size = RAM_SIZE + 4096; /* past the end of the file */
	assert_int_equal(raw_mem_table(r, 1, VHU_MEM_SIZE(1), fds, 1), 1);
	r[0] = ok;
	r[0].mmap_offset = ~0ULL - 4095; /* offset + size wraps */
	assert_int_equal(raw_mem_table(r, 1, VHU_MEM_SIZE(1), fds, 1), 1);
	r[0] = ok;
	r[0].gpa = ~0ULL - 4095; /* gpa + size wraps */
	assert_int_equal(raw_mem_table(r, 1, VHU_MEM_SIZE(1), fds, 1), 1);
	r[0] = ok;
	r[0].uva = ~0ULL - 4095; /* uva + size wraps */
	assert_int_equal(raw_mem_table(r, 1, VHU_MEM_SIZE(1), fds, 1), 1);
	r[0] = ok;
	r[0].size = 0;
	assert_int_equal(raw_mem_table(r, 1, VHU_MEM_SIZE(1), fds, 1), 1);
	r[0] = ok;
	r[0].mmap_offset = 100; /* not page aligned: mmap refuses */
	r[0].size = 4096;
	assert_int_equal(raw_mem_table(r, 1, VHU_MEM_SIZE(1), fds, 1), 1);
	/* overlapping guest ranges */
	r[0] = ok;
	r[1] = ok;
	r[1].uva += RAM_SIZE;
	assert_int_equal(raw_mem_table(r, 2, VHU_MEM_SIZE(2), fds, 2), 1);
	/* a file on disk: its I/O errors would be SIGBUS (unless the checkout
	 * itself is on a tmpfs, which is then accepted like the next one) */
	assert_int_equal(raw_mem_table(&ok, 1, VHU_MEM_SIZE(1), &disk, 1), sfs.f_type == TMPFS_MAGIC ? 0 : 1);
	/* an unsealed tmpfs file (hull's huge-page guest RAM): taken; its
	 * shrink ends the file server cleanly (test_virtiofsd.c) */
	assert_int_equal(raw_mem_table(&ok, 1, VHU_MEM_SIZE(1), &unsealed, 1), 0);
	/* counts that do not match */
	assert_int_equal(raw_mem_table(&ok, 1, VHU_MEM_SIZE(1), fds, 2), 1);
	assert_int_equal(raw_mem_table(&ok, 1, VHU_MEM_SIZE(1), NULL, 0), 1);
	r[0] = r[1] = ok;
	assert_int_equal(raw_mem_table(r, 2, VHU_MEM_SIZE(1), fds, 2), 1);
	assert_int_equal(raw_mem_table(&ok, 0, VHU_MEM_SIZE(0), NULL, 0), 1);
	for (int i = 0; i <= VHU_MAX_REGIONS; i++)
		r[i] = (struct vhu_region){ .gpa = (uint64_t)i << 20, .size = 4096, .uva = (uint64_t)i << 20 };
	assert_int_equal(raw_mem_table(r, VHU_MAX_REGIONS + 1, VHU_MEM_SIZE(VHU_MAX_REGIONS), fds, 8), 1);
	close(unsealed);
	close(disk);
	assert_backend_alive();
	assert_int_equal(stop_backend(), 0);
}

/* Messages that break the framing end the connection, never the process. */
static void raw_and_expect_backend_error(const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), fds, sizeof(int));
	}
	start_backend();
	assert_int_equal(sendmsg(fx->sv[0], &mh, MSG_NOSIGNAL), (ssize_t)len);
	shutdown(fx->sv[0], SHUT_WR);
	pthread_join(fx->thread, NULL);
	assert_int_equal(fx->backend_ret, -EPROTO);
	assert_non_null(fx->backend_err);
}

static void test_vhost_user_short_message_ends_connection(void **state)
{
	uint32_t hdr[3] = { VHU_GET_FEATURES, VHU_VERSION, 8 };
	raw_and_expect_backend_error(hdr, 5, NULL, 0);      /* half a header */
}

static void test_vhost_user_truncated_payload_ends_connection(void **state)
{
	uint32_t msg[4] = { VHU_SET_FEATURES, VHU_VERSION, 8, 1 };
	raw_and_expect_backend_error(msg, sizeof(msg), NULL, 0); /* 4 of 8 payload bytes */
}

static void test_vhost_user_oversized_message_ends_connection(void **state)
{
	uint32_t hdr[3] = { VHU_SET_FEATURES, VHU_VERSION, 1u << 30 };
	raw_and_expect_backend_error(hdr, sizeof(hdr), NULL, 0);
}

static void test_vhost_user_fds_on_a_get_end_connection(void **state)
{
	uint32_t hdr[3] = { VHU_GET_FEATURES, VHU_VERSION, 0 };
	raw_and_expect_backend_error(hdr, sizeof(hdr), &fx->memfd, 1);
}

static void test_vhost_user_reply_flag_from_frontend_ends_connection(void **state)
{
	uint32_t hdr[3] = { VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, 0 };
	raw_and_expect_backend_error(hdr, sizeof(hdr), NULL, 0);
}

/* ---- hostile or dead backend ------------------------------------------------------------- */

struct fake_reply {
	uint32_t request, flags, size;
	uint64_t value;
	bool with_fd;
};

/* A "backend" that answers the first message with r, then closes. */
static void *fake_backend(void *arg)
{
	const struct fake_reply *r = arg;
	struct vhu_msg m;
	int fds[VHU_MAX_FDS];
	unsigned int n = 0;

	if (vhu_recv(fx->sv[1], &m, fds, VHU_MAX_FDS, &n) == 0) {
		vhu_close_fds(fds, n);
		m = (struct vhu_msg){ .request = r->request, .flags = r->flags, .size = r->size, .p.u64 = r->value };
		vhu_send(fx->sv[1], &m, r->with_fd ? &fx->memfd : NULL, r->with_fd);
	}
	shutdown(fx->sv[1], SHUT_RDWR);
	return NULL;
}

static void expect_open_fails(const struct fake_reply *r, int errnum)
{
	struct hull_err *err = NULL;

	assert_int_equal(pthread_create(&fx->thread, NULL, fake_backend, (void *)r), 0);
	assert_true(vhu_front_open_fd(&fx->f, fx->sv[0], "fake", &err) < 0);
	pthread_join(fx->thread, NULL);
	assert_non_null(err);
	assert_int_equal(err->errnum, errnum);
	assert_true(fx->f.dead);
	hull_err_free(&err);
}

static void test_vhost_user_frontend_checks_every_reply(void **state)
{
	const uint32_t ok = VHU_VERSION | VHU_FLAG_REPLY;
	struct fake_reply bad[] = {
		{ VHU_GET_PROTOCOL_FEATURES, ok, 8, 0, false }, /* answers another request */
		{ VHU_GET_FEATURES, VHU_VERSION, 8, 0, false }, /* no REPLY flag */
		{ VHU_GET_FEATURES, 2 | VHU_FLAG_REPLY, 8, 0, false }, /* version 2 */
		{ VHU_GET_FEATURES, ok, 4, 0, false },          /* short payload */
		{ VHU_GET_FEATURES, ok, 8, 0, true },           /* an fd nobody asked for */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		expect_open_fails(&bad[i], EPROTO);
		vhu_front_close(&fx->f);
		close(fx->sv[1]);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx->sv), 0);
	}
}

static void test_vhost_user_backend_disconnect_fails_requests_without_sigpipe(void **state)
{
	struct hull_err *err = NULL;
	struct vhu_vring_cfg c = ring_cfg(0, DESC);

	open_front();
	/* the backend ends: its peer closed?  No: make it go by closing its end */
	shutdown(fx->sv[1], SHUT_RDWR);
	pthread_join(fx->thread, NULL);
	assert_int_equal(fx->backend_ret, 0);
	assert_true(vhu_front_set_mem_table(&fx->f, &fx->gm, &err) < 0);
	assert_int_equal(err->errnum, EPIPE);
	assert_non_null(strstr(err->msg, "disconnected"));
	assert_true(fx->f.dead);
	hull_err_free(&err);
	/* nothing more is sent once dead */
	assert_true(vhu_front_vring_start(&fx->f, 0, &c, &err) < 0);
	assert_int_equal(err->errnum, EPIPE);
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vhost_user_request_round_trip_through_shared_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_buffers_before_kick_fd_are_served_at_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_new_memory_table_keeps_running_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_descriptor_outside_memory_stops_only_that_queue, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_ring_outside_memory_table_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_bad_index_and_size_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_bad_memory_tables_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_short_message_ends_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_truncated_payload_ends_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_oversized_message_ends_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_fds_on_a_get_end_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_reply_flag_from_frontend_ends_connection, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_frontend_checks_every_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhost_user_backend_disconnect_fails_requests_without_sigpipe,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
