/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-fs as a vhost-user frontend behind the virtio-pci transport, on a
 * VM without KVM, against the backend loop in a thread: the config space
 * (tag, num_request_queues), a guest driver bringing the device up so the
 * backend serves a request on the request queue (the call fd relayed
 * through the event loop, as when a queue has no MSI-X irqfd), reset taking
 * the rings back, and a backend that dies putting the device in
 * NEEDS_RESET while the VMM carries on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_vm.h"
#include "microvm/virtio/vhost_user.h"

#include <endian.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#define RAM_SIZE (1u << 20)
#define BAR LAYOUT_PCI_MMIO32
#define C_GFSEL 8
#define C_GF 12
#define C_NUMQ 18
#define C_STATUS 20
#define C_QSEL 22
#define C_QSIZE 24
#define C_QEN 28
#define C_QDESC 32
#define C_QDRV 40
#define C_QDEV 48
#define DEVCFG 0x2000
#define NOTIFY 0x3000
#define QSZ 16

struct fixture {
	struct fake_vm f;
	int memfd;
	uint8_t *ram;
	char dir[64], path[96];
	int listen_fd, conn_fd;
	pthread_t backend, loop;
	int wake;
	int handled;
	bool backend_joined;
	struct virtio_pci *vp;
};
static struct fixture *fx;

static ssize_t echo(void *opaque, unsigned int q, const struct iovec *in, int nin, const struct iovec *out, int nout)
{
	__atomic_fetch_add(&fx->handled, 1, __ATOMIC_SEQ_CST);
	if (nin < 1 || nout < 1 || out[0].iov_len < in[0].iov_len)
		return -1;
	memcpy(out[0].iov_base, in[0].iov_base, in[0].iov_len);
	return (ssize_t)in[0].iov_len;
}

static const struct vub_ops ops = { .name = "fs-test", .num_queues = 2, .handle = echo };

static void *backend_main(void *arg)
{
	struct hull_err *err = NULL;

	if (vhost_user_backend_run(fx->conn_fd, &ops, NULL, &err) < 0)
		fprintf(stderr, "backend: %s\n", err->msg);
	hull_err_free(&err);
	return NULL;
}

static void *acceptor(void *arg)
{
	fx->conn_fd = accept4(fx->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fx->conn_fd >= 0)
		backend_main(NULL);
	return NULL;
}

static void wake_cb(void *opaque, uint32_t events)
{
	uint64_t v;
	if (read(fx->wake, &v, 8) < 0)
		return;
}

static void *loop_main(void *arg)
{
	evloop_run(fx->f.vm.loop, NULL);
	return NULL;
}

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hull_err *err = NULL;
	struct virtio_dev *d;

	fx = calloc(1, sizeof(*fx));
	fv_init(&fx->f);
	/* guest RAM as the VMM makes it for --fs: a sealed memfd */
	fx->memfd = memfd_create("ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(ftruncate(fx->memfd, RAM_SIZE), 0);
	assert_int_equal(fcntl(fx->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	fx->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fx->memfd, 0);
	assert_true(fx->ram != MAP_FAILED);
	memset(&fx->f.vm.gm, 0, sizeof(fx->f.vm.gm));
	assert_int_equal(gm_add_region_fd(&fx->f.vm.gm, 0, RAM_SIZE, fx->ram, fx->memfd, 0, &err), 0);

	strcpy(fx->dir, "/tmp/hull-vfs-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/fs.sock", fx->dir);
	strcpy(sa.sun_path, fx->path);
	fx->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fx->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fx->listen_fd, 1), 0);
	fx->conn_fd = -1;
	assert_int_equal(pthread_create(&fx->backend, NULL, acceptor, NULL), 0);

	d = virtio_fs_create(fx->path, "hull", &err);
	if (!d)
		fail_msg("virtio_fs_create: %s", err->msg);
	fx->vp = virtio_pci_create(&fx->f.vm, d, &err);
	if (!fx->vp)
		fail_msg("virtio_pci_create: %s", err->msg);
	fx->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(evloop_add(fx->f.vm.loop, fx->wake, EPOLLIN, wake_cb, NULL), 0);
	assert_int_equal(pthread_create(&fx->loop, NULL, loop_main, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	uint64_t one = 1;

	evloop_stop(fx->f.vm.loop);
	assert_int_equal(write(fx->wake, &one, 8), 8);
	pthread_join(fx->loop, NULL);
	virtio_pci_destroy(fx->vp); /* closes the frontend: the backend ends */
	if (!fx->backend_joined)
		pthread_join(fx->backend, NULL);
	if (fx->conn_fd >= 0)
		close(fx->conn_fd);
	close(fx->listen_fd);
	unlink(fx->path);
	rmdir(fx->dir);
	evloop_del(fx->f.vm.loop, fx->wake);
	close(fx->wake);
	munmap(fx->ram, RAM_SIZE);
	close(fx->memfd);
	fv_free(&fx->f);
	free(fx);
	return 0;
}

static uint32_t rd(uint64_t off, uint32_t len)
{
	uint32_t v = 0;
	assert_int_equal(bus_access(&fx->f.vm.mmio, BAR + off, &v, len, false), 0);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

static void wr(uint64_t off, uint32_t v, uint32_t len)
{
	assert_int_equal(bus_access(&fx->f.vm.mmio, BAR + off, &v, len, true), 0);
}

static void put_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = fx->ram + table + 16u * i;
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);
	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
}

static void setup_queue(unsigned int q, uint64_t base)
{
	wr(C_QSEL, q, 2);
	wr(C_QSIZE, QSZ, 2);
	wr(C_QDESC, (uint32_t)base, 4);
	wr(C_QDRV, (uint32_t)(base + 0x1000), 4);
	wr(C_QDEV, (uint32_t)(base + 0x2000), 4);
	wr(C_QEN, 1, 2);
	assert_int_equal(rd(C_QEN, 2), 1);
}

static void driver_up(void)
{
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(C_GFSEL, 1, 4);
	wr(C_GF, 1, 4); /* VERSION_1 */
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	setup_queue(0, 0x10000);
	setup_queue(1, 0x20000);
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			     VIRTIO_STATUS_DRIVER_OK, 1);
	assert_false(rd(C_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
}

static uint16_t used_idx(uint64_t base)
{
	uint16_t v;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	memcpy(&v, fx->ram + base + 0x2000 + 2, 2);
	return le16toh(v);
}

static void test_virtio_fs_identity_and_config(void **state)
{
	uint32_t id = 0;
	char tag[37] = { 0 };

	pci_cfg_access(&fx->f.pb, 0, 1, 0, 0, &id, 4, false);
	assert_int_equal(id, 0x105a1af4); /* 1af4:105a (0x1040 + 26) */
	assert_int_equal(rd(C_NUMQ, 2), 2); /* hiprio + 1 request queue */
	for (int i = 0; i < 36; i += 4) {
		uint32_t v = rd(DEVCFG + i, 4);
		memcpy(tag + i, &v, 4);
	}
	assert_string_equal(tag, "hull");
	assert_int_equal(rd(DEVCFG + 36, 4), 1);
	wr(DEVCFG, 0x41414141, 4); /* read-only */
	assert_int_equal(rd(DEVCFG, 4), 0x6c6c7568);
}

static void test_virtio_fs_request_served_by_backend_process_side(void **state)
{
	const char msg[] = "hello fs";

	driver_up();
	memcpy(fx->ram + 0x30000, msg, sizeof(msg));
	put_desc(0x20000, 0, 0x30000, sizeof(msg), 1, 1);
	put_desc(0x20000, 1, 0x31000, 64, 2, 0);
	uint16_t h = 0, idx = htole16(1);
	memcpy(fx->ram + 0x21000 + 4, &h, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(fx->ram + 0x21000 + 2, &idx, 2);
	wr(NOTIFY + 4 * 1, 1, 2); /* the guest's notify write on queue 1 */
	/* the backend serves it; its call fd comes back through the event
	 * loop as the queue interrupt (ISR bit 0) */
	while (used_idx(0x20000) != 1)
		usleep(1000);
	assert_memory_equal(fx->ram + 0x31000, msg, sizeof(msg));
	while (!(rd(0x1000, 1) & 1))
		usleep(1000);
	assert_int_equal(__atomic_load_n(&fx->handled, __ATOMIC_SEQ_CST), 1);

	/* reset takes the rings back; a kick afterwards is nobody's */
	wr(C_STATUS, 0, 1);
	assert_int_equal(rd(C_STATUS, 1), 0);
	memcpy(fx->ram + 0x21000 + 4 + 2, &h, 2);
	idx = htole16(2);
	memcpy(fx->ram + 0x21000 + 2, &idx, 2);
	wr(NOTIFY + 4 * 1, 1, 2);
	/* bring it up again: the backend serves the same ring from index 0 */
	memset(fx->ram + 0x20000, 0, 0x3000);
	memset(fx->ram + 0x31000, 0, 64);
	driver_up();
	put_desc(0x20000, 0, 0x30000, sizeof(msg), 1, 1);
	put_desc(0x20000, 1, 0x31000, 64, 2, 0);
	idx = htole16(1);
	memcpy(fx->ram + 0x21000 + 2, &idx, 2);
	wr(NOTIFY + 4 * 1, 1, 2);
	while (used_idx(0x20000) != 1)
		usleep(1000);
	assert_memory_equal(fx->ram + 0x31000, msg, sizeof(msg));
	assert_int_equal(__atomic_load_n(&fx->handled, __ATOMIC_SEQ_CST), 2);
}

static void test_virtio_fs_backend_death_needs_reset_vmm_goes_on(void **state)
{
	driver_up();
	/* the backend process "dies": its connection goes away */
	while (__atomic_load_n(&fx->conn_fd, __ATOMIC_SEQ_CST) < 0)
		usleep(1000);
	shutdown(fx->conn_fd, SHUT_RDWR);
	pthread_join(fx->backend, NULL);
	while (!(rd(C_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET))
		usleep(1000);
	assert_true(rd(0x1000, 1) & 2); /* config interrupt */
	/* the driver resets and tries again: activation fails cleanly */
	wr(C_STATUS, 0, 1);
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(C_GFSEL, 1, 4);
	wr(C_GF, 1, 4);
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	setup_queue(1, 0x20000);
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			     VIRTIO_STATUS_DRIVER_OK, 1);
	assert_true(rd(C_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	fx->backend_joined = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_virtio_fs_identity_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_fs_request_served_by_backend_process_side, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_fs_backend_death_needs_reset_vmm_goes_on, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
