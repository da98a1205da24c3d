/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng driven through its ops with a fake guest and transport. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_guest.h"

#define QSIZE 8

struct fx {
	struct fake_guest g;
	struct fake_transport t;
	struct virtio_dev *d;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	fg_init(&f->g);
	f->d = virtio_rng_create(NULL);
	assert_non_null(f->d);
	assert_int_equal(f->d->ops->device_id, VIRTIO_ID_RNG);
	fg_attach(&f->g, f->d, &f->t, NULL, QSIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_dev_destroy(f->d);
	fg_free(&f->g);
	free(f);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_rng_fills_every_writable_buffer(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 64), b = fg_alloc(&f->g, 64);
	uint32_t id, len;

	fg_desc(&f->g, 0, 2, a, 64, DESC_F_WRITE | DESC_F_NEXT, 3);
	fg_desc(&f->g, 0, 3, b, 64, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 2);
	fg_kick(f->d, 0);

	assert_int_equal(fg_used_idx(&f->g, 0), 1);
	fg_used_elem(&f->g, 0, 0, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, 128);
	/* 2^-512 chance of a false failure per buffer */
	assert_false(all_zero(fg_hva(&f->g, a), 64));
	assert_false(all_zero(fg_hva(&f->g, b), 64));
	assert_int_equal(f->t.used_signals[0], 1);
}

static void test_rng_serves_every_pending_request_per_kick(void **state)
{
	struct fx *f = *state;

	for (uint16_t i = 0; i < 3; i++) {
		fg_desc(&f->g, 0, i, fg_alloc(&f->g, 16), 16, DESC_F_WRITE, 0);
		fg_avail_push(&f->g, 0, i);
	}
	fg_kick(f->d, 0);
	assert_int_equal(fg_used_idx(&f->g, 0), 3);
}

/* A huge request is answered with a bounded number of bytes (§5.4.6.1
 * allows fewer), so one guest cannot stall the event loop. */
static void test_rng_caps_bytes_per_request(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 256 * 1024);
	uint32_t id, len;

	fg_desc(&f->g, 0, 0, a, 256 * 1024, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 0);
	fg_kick(f->d, 0);
	fg_used_elem(&f->g, 0, 0, &id, &len);
	assert_true(len > 0 && len <= 64 * 1024);
	assert_true(all_zero(fg_hva(&f->g, a + len), 256 * 1024 - len));
}

static void test_rng_malformed_ring_breaks_device_and_later_kicks_do_nothing(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 16);

	fg_desc(&f->g, 0, 0, a, 16, DESC_F_WRITE | DESC_F_NEXT, 0);   /* loop */
	fg_avail_push(&f->g, 0, 0);
	fg_kick(f->d, 0);
	assert_true(virtio_dev_broken(f->d));
	assert_int_equal(f->t.config_signals, 1);

	fg_desc(&f->g, 0, 1, a, 16, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 1);
	fg_kick(f->d, 0);
	assert_int_equal(fg_used_idx(&f->g, 0), 0);
	assert_true(all_zero(fg_hva(&f->g, a), 16));
	assert_int_equal(f->t.config_signals, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rng_fills_every_writable_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_serves_every_pending_request_per_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_caps_bytes_per_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng_malformed_ring_breaks_device_and_later_kicks_do_nothing,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
