/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-console: transmit to a pipe, receive from a pipe, and no host-side
 * buffering when the guest posts no receive buffers.  The event loop is
 * faked here: this file defines evloop_add/evloop_del, so the real evloop.o
 * is never pulled from libhull.a. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_guest.h"

#include <signal.h>
#include <sys/ioctl.h>

#define QSIZE 8
#define RXQ 0
#define TXQ 1

/* ---- fake event loop ------------------------------------------------------- */

static struct fake_loop {
	int fd;              /* registered fd, -1 if none */
	evloop_cb cb;
	void *opaque;
	unsigned int adds, dels;
} loop;

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	assert_ptr_equal(l, (struct evloop *)&loop);
	assert_int_equal(loop.fd, -1);   /* never registered twice */
	loop.fd = fd;
	loop.cb = cb;
	loop.opaque = opaque;
	loop.adds++;
	return 0;
}

int evloop_del(struct evloop *l, int fd)
{
	assert_ptr_equal(l, (struct evloop *)&loop);
	assert_int_equal(loop.fd, fd);
	loop.fd = -1;
	loop.dels++;
	return 0;
}

/* What the event loop does when in_fd is readable. */
static void fire(void)
{
	assert_int_not_equal(loop.fd, -1);
	loop.cb(loop.opaque, 1 /* EPOLLIN */);
}

/* ---- fixture ----------------------------------------------------------------- */

struct fx {
	struct fake_guest g;
	struct fake_transport t;
	struct virtio_dev *d;
	int in[2];     /* host input: test writes in[1], device reads in[0] */
	int out[2];    /* guest output: device writes out[1], test reads out[0] */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	memset(&loop, 0, sizeof(loop));
	loop.fd = -1;
	fg_init(&f->g);
	assert_int_equal(pipe2(f->in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(f->out, O_CLOEXEC | O_NONBLOCK), 0);
	f->d = virtio_console_create(f->in[0], f->out[1], NULL);
	assert_non_null(f->d);
	fg_attach(&f->g, f->d, &f->t, (struct evloop *)&loop, QSIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_dev_destroy(f->d);
	assert_int_equal(loop.fd, -1);   /* destroy unregistered in_fd */
	for (int i = 0; i < 2; i++) {
		if (f->in[i] >= 0)
			close(f->in[i]);
		if (f->out[i] >= 0)
			close(f->out[i]);
	}
	fg_free(&f->g);
	free(f);
	return 0;
}

static int pending_bytes(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* Post one device-writable receive buffer of len bytes as descriptor i. */
static uint64_t post_rx(struct fx *f, uint16_t i, uint32_t len)
{
	uint64_t a = fg_alloc(&f->g, len);

	fg_desc(&f->g, RXQ, i, a, len, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, RXQ, i);
	return a;
}

static void test_console_transmits_guest_output_to_out_fd(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 6), b = fg_alloc(&f->g, 5);
	char got[32] = { 0 };
	uint32_t id, len;

	memcpy(fg_hva(&f->g, a), "hello ", 6);
	memcpy(fg_hva(&f->g, b), "world", 5);
	fg_desc(&f->g, TXQ, 0, a, 6, DESC_F_NEXT, 1);
	fg_desc(&f->g, TXQ, 1, b, 5, 0, 0);
	fg_avail_push(&f->g, TXQ, 0);
	fg_kick(f->d, TXQ);

	assert_int_equal(read(f->out[0], got, sizeof(got)), 11);
	assert_string_equal(got, "hello world");
	assert_int_equal(fg_used_idx(&f->g, TXQ), 1);
	fg_used_elem(&f->g, TXQ, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_int_equal(f->t.used_signals[TXQ], 1);
}

static void test_console_receives_host_input_into_guest_buffer(void **state)
{
	struct fx *f = *state;
	uint64_t a;
	uint32_t id, len;

	assert_int_equal(loop.fd, f->in[0]);   /* activate watched in_fd */
	a = post_rx(f, 0, 16);
	fg_kick(f->d, RXQ);
	assert_int_equal(write(f->in[1], "abc", 3), 3);
	fire();

	assert_int_equal(fg_used_idx(&f->g, RXQ), 1);
	fg_used_elem(&f->g, RXQ, 0, &id, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(fg_hva(&f->g, a), "abc", 3);
	assert_int_equal(f->t.used_signals[RXQ], 1);
	assert_int_equal(loop.fd, f->in[0]);   /* still watching */
}

/* No receive buffer: the device stops watching in_fd and leaves the input
 * in the pipe (nothing buffered in the VMM); a new buffer resumes reading,
 * and only as much as fits is taken. */
static void test_console_stops_reading_input_without_receive_buffers(void **state)
{
	struct fx *f = *state;
	char flood[100];
	uint64_t a;
	uint32_t id, len;

	memset(flood, 'x', sizeof(flood));
	assert_int_equal(write(f->in[1], flood, sizeof(flood)), (ssize_t)sizeof(flood));
	fire();
	assert_int_equal(loop.fd, -1);
	assert_int_equal(loop.dels, 1);
	assert_int_equal(pending_bytes(f->in[0]), 100);
	assert_int_equal(fg_used_idx(&f->g, RXQ), 0);

	a = post_rx(f, 0, 10);
	fg_kick(f->d, RXQ);
	assert_int_equal(loop.fd, f->in[0]);   /* re-armed by the receiveq kick */
	fire();
	assert_int_equal(fg_used_idx(&f->g, RXQ), 1);
	fg_used_elem(&f->g, RXQ, 0, &id, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(fg_hva(&f->g, a), flood, 10);
	assert_int_equal(pending_bytes(f->in[0]), 90);
	assert_int_equal(loop.fd, -1);          /* out of buffers again */
}

static void test_console_input_eof_unregisters_and_keeps_buffer(void **state)
{
	struct fx *f = *state;

	post_rx(f, 0, 16);
	close(f->in[1]);
	f->in[1] = -1;
	fire();
	assert_int_equal(loop.fd, -1);
	assert_int_equal(fg_used_idx(&f->g, RXQ), 0);   /* buffer not consumed */
	assert_int_equal(f->d->vqs[RXQ].last_avail, 0);
	fg_kick(f->d, RXQ);
	assert_int_equal(loop.fd, -1);                  /* EOF is final */
}

static void test_console_reset_unregisters_input(void **state)
{
	struct fx *f = *state;

	assert_int_equal(loop.fd, f->in[0]);
	pthread_mutex_lock(&f->d->lock);
	f->d->ops->reset(f->d);
	pthread_mutex_unlock(&f->d->lock);
	assert_int_equal(loop.fd, -1);
	/* a receiveq kick after reset does not re-arm before activate */
	fg_kick(f->d, RXQ);
	assert_int_equal(loop.fd, -1);
	assert_int_equal(f->d->ops->activate(f->d), 0);
	assert_int_equal(loop.fd, f->in[0]);
}

static void test_console_without_event_loop_does_not_register(void **state)
{
	struct fake_guest g;
	struct fake_transport t;
	struct virtio_dev *d;
	int p[2];

	memset(&loop, 0, sizeof(loop));
	loop.fd = -1;
	fg_init(&g);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	d = virtio_console_create(p[0], p[1], NULL);
	fg_attach(&g, d, &t, NULL, QSIZE);
	fg_kick(d, RXQ);
	assert_int_equal(loop.adds, 0);
	virtio_dev_destroy(d);
	close(p[0]);
	close(p[1]);
	fg_free(&g);
}

/* A reader that went away must not kill the VMM with SIGPIPE; the guest's
 * output is dropped and its buffers are still returned. */
static void test_console_output_to_closed_pipe_is_dropped_without_sigpipe(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 4);
	sigset_t pending;

	close(f->out[0]);
	f->out[0] = -1;
	memcpy(fg_hva(&f->g, a), "lost", 4);
	for (uint16_t i = 0; i < 2; i++) {
		fg_desc(&f->g, TXQ, i, a, 4, 0, 0);
		fg_avail_push(&f->g, TXQ, i);
	}
	fg_kick(f->d, TXQ);
	assert_int_equal(fg_used_idx(&f->g, TXQ), 2);
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE));
	assert_false(virtio_dev_broken(f->d));
}

static void test_console_config_is_all_zero_without_size_feature(void **state)
{
	struct fx *f = *state;
	uint8_t cfg[8];

	assert_int_equal(f->d->ops->features(f->d), 0);
	memset(cfg, 0xff, sizeof(cfg));
	f->d->ops->config_read(f->d, 0, cfg, sizeof(cfg));
	for (size_t i = 0; i < sizeof(cfg); i++)
		assert_int_equal(cfg[i], 0);
}

static void test_console_malformed_transmitq_breaks_device(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, TXQ, 0, fg_alloc(&f->g, 4), 4, DESC_F_NEXT, QSIZE);
	fg_avail_push(&f->g, TXQ, 0);
	fg_kick(f->d, TXQ);
	assert_true(virtio_dev_broken(f->d));
	assert_int_equal(f->t.config_signals, 1);
	/* input is no longer consumed once broken */
	post_rx(f, 0, 16);
	assert_int_equal(write(f->in[1], "z", 1), 1);
	fire();
	assert_int_equal(fg_used_idx(&f->g, RXQ), 0);
	assert_int_equal(loop.fd, -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_console_transmits_guest_output_to_out_fd),
		T(test_console_receives_host_input_into_guest_buffer),
		T(test_console_stops_reading_input_without_receive_buffers),
		T(test_console_input_eof_unregisters_and_keeps_buffer),
		T(test_console_reset_unregisters_input),
		cmocka_unit_test(test_console_without_event_loop_does_not_register),
		T(test_console_output_to_closed_pipe_is_dropped_without_sigpipe),
		T(test_console_config_is_all_zero_without_size_feature),
		T(test_console_malformed_transmitq_breaks_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
