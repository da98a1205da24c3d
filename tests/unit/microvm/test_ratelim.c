/* SPDX-License-Identifier: Apache-2.0 */
/* Token buckets (microvm/ratelim.c) on a clock the test moves: refill,
 * one-time burst, a request larger than the bucket, zero = unlimited,
 * arithmetic near 2^64; and a limiter's timer armed, never a busy retry. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/internal.h"

#include <sys/timerfd.h>

#define MS 1000000ull
#define T0 (1000ull * 1000 * MS)  /* an arbitrary monotonic start */

static void init(struct tbucket *b, uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	struct vm_bucket cfg = { .size = size, .one_time_burst = burst, .refill_ms = refill_ms };

	tbucket_init(b, &cfg, T0);
}

static void test_tbucket_starts_full_and_refills_at_its_rate(void **state)
{
	struct tbucket b;

	init(&b, 1000, 0, 100);  /* 1000 tokens per 100 ms */
	assert_true(tbucket_take(&b, 1000, T0));
	assert_false(tbucket_take(&b, 1, T0));
	/* 10 ms: 100 tokens, not 101 */
	assert_true(tbucket_take(&b, 100, T0 + 10 * MS));
	assert_false(tbucket_take(&b, 1, T0 + 10 * MS));
	/* half a token is kept for later, not lost */
	assert_false(tbucket_take(&b, 1, T0 + 10 * MS + MS / 20));
	assert_true(tbucket_take(&b, 1, T0 + 10 * MS + MS / 10));
	/* a long idle time fills the bucket, no more */
	assert_true(tbucket_take(&b, 1000, T0 + 10000 * MS));
	assert_false(tbucket_take(&b, 1, T0 + 10000 * MS));
}

static void test_tbucket_refused_take_takes_nothing(void **state)
{
	struct tbucket b;

	init(&b, 1000, 0, 100);
	assert_true(tbucket_take(&b, 600, T0));
	assert_false(tbucket_take(&b, 500, T0));  /* 400 left: all or nothing */
	assert_true(tbucket_take(&b, 400, T0));
}

static void test_tbucket_wait_is_the_time_to_enough_tokens(void **state)
{
	struct tbucket b;

	init(&b, 1000, 0, 100);
	assert_true(tbucket_take(&b, 1000, T0));
	assert_false(tbucket_take(&b, 500, T0));
	assert_int_equal(tbucket_wait_ns(&b, 500, T0), 50 * MS);
	assert_int_equal(tbucket_wait_ns(&b, 500, T0 + 20 * MS), 30 * MS);
	assert_false(tbucket_take(&b, 500, T0 + 50 * MS - 1));
	assert_true(tbucket_take(&b, 500, T0 + 50 * MS));
}

static void test_tbucket_one_time_burst_is_spent_first_and_never_refills(void **state)
{
	struct tbucket b;

	init(&b, 100, 5000, 1000);
	assert_true(tbucket_take(&b, 5000, T0));  /* the burst alone */
	assert_int_equal(b.burst, 0);
	assert_int_equal(b.budget, 100);
	assert_true(tbucket_take(&b, 100, T0));
	assert_false(tbucket_take(&b, 1, T0));
	/* idle: the budget refills to its size, the burst stays spent */
	assert_true(tbucket_take(&b, 100, T0 + 100000 * MS));
	assert_false(tbucket_take(&b, 1, T0 + 100000 * MS));
	assert_int_equal(b.burst, 0);
	/* burst and budget together pay for one request */
	init(&b, 100, 50, 1000);
	assert_true(tbucket_take(&b, 150, T0));
	assert_false(tbucket_take(&b, 1, T0));
}

static void test_tbucket_request_larger_than_the_bucket_passes_when_full_then_pays(void **state)
{
	struct tbucket b;

	init(&b, 1000, 0, 100);
	assert_true(tbucket_take(&b, 1, T0));
	assert_false(tbucket_take(&b, 3000, T0));  /* not full: wait */
	assert_int_equal(tbucket_wait_ns(&b, 3000, T0), MS / 10);  /* until full, 1 token */
	assert_true(tbucket_take(&b, 3000, T0 + MS / 10));
	assert_int_equal(b.debt, 2000);
	/* the debt refills first: nothing for 200 ms */
	assert_false(tbucket_take(&b, 1, T0 + 150 * MS));
	assert_int_equal(tbucket_wait_ns(&b, 1, T0 + 150 * MS), 50 * MS + 2 * MS / 10);
	assert_true(tbucket_take(&b, 1, T0 + 201 * MS));
}

static void test_tbucket_zero_size_or_refill_is_unlimited(void **state)
{
	struct tbucket b;

	init(&b, 0, 0, 100);
	assert_true(tbucket_take(&b, UINT64_MAX, T0));
	assert_true(tbucket_take(&b, UINT64_MAX, T0));
	init(&b, 1000, 0, 0);
	assert_true(tbucket_take(&b, UINT64_MAX, T0));
	assert_int_equal(b.size, 0);
}

static void test_tbucket_arithmetic_near_2_64_saturates(void **state)
{
	struct tbucket b;
	uint64_t w;

	/* huge size, huge refill time, huge elapsed time: no wrap */
	init(&b, UINT64_MAX, UINT64_MAX, VM_BUCKET_MAX_REFILL_MS);
	assert_true(tbucket_take(&b, UINT64_MAX, T0));  /* the burst */
	assert_true(tbucket_take(&b, UINT64_MAX, T0));  /* the budget */
	assert_false(tbucket_take(&b, UINT64_MAX, T0 + 1));
	w = tbucket_wait_ns(&b, UINT64_MAX, T0 + 1);
	assert_true(w > 0);
	assert_true(tbucket_take(&b, 1, UINT64_MAX));
	/* a refill time past what ns can hold saturates instead of wrapping */
	init(&b, 10, 0, UINT64_MAX);
	assert_int_equal(b.refill_ns, UINT64_MAX);
	assert_true(tbucket_take(&b, 10, T0));
	assert_false(tbucket_take(&b, 1, T0 + 1000 * MS));
	/* the clock going backwards refills nothing and breaks nothing */
	init(&b, 10, 0, 10);
	assert_true(tbucket_take(&b, 10, T0));
	assert_false(tbucket_take(&b, 1, T0 - 5 * MS));
	assert_true(tbucket_take(&b, 1, T0 + 5 * MS));
}

static int calls;
static void never(void *opaque, uint32_t events)
{
	calls++;
}

static void test_ratelim_throttle_arms_a_timer_and_counts(void **state)
{
	struct vm_rate_limiter cfg = { .ops = { .size = 2, .refill_ms = 1000 } };
	struct evloop *loop = evloop_new(NULL);
	struct itimerspec it;
	struct ratelim r;

	assert_non_null(loop);
	ratelim_init(&r);
	assert_false(ratelim_limits(&r));
	assert_true(ratelim_consume(&r, 1 << 30, loop, never, NULL));  /* unlimited: no timer made */
	assert_int_equal(r.timer_fd, -1);
	ratelim_set(&r, &cfg);
	assert_true(ratelim_limits(&r));
	assert_true(ratelim_consume(&r, 0, loop, never, NULL));
	assert_true(ratelim_consume(&r, 0, loop, never, NULL));
	assert_false(ratelim_consume(&r, 0, loop, never, NULL));
	assert_true(r.blocked);
	assert_int_equal(r.throttled, 1);
	assert_true(r.timer_fd >= 0 && r.watched);
	assert_int_equal(timerfd_gettime(r.timer_fd, &it), 0);
	assert_true(it.it_value.tv_sec > 0 || it.it_value.tv_nsec > 0);  /* armed, ~500 ms */
	assert_true(it.it_value.tv_sec == 0 && it.it_value.tv_nsec <= 500 * (long)MS);
	/* blocked: a kick takes nothing and counts no new event */
	assert_false(ratelim_consume(&r, 0, loop, never, NULL));
	assert_int_equal(r.throttled, 1);
	/* an unchanged setting keeps the state; a new one retries at once */
	ratelim_set(&r, &cfg);
	assert_int_equal(r.ops.budget, 0);
	cfg.ops.size = 100;
	ratelim_set(&r, &cfg);
	assert_int_equal(r.ops.budget, 100);
	ratelim_timer_fired(&r);
	assert_false(r.blocked);
	assert_true(ratelim_consume(&r, 0, loop, never, NULL));
	ratelim_free(&r, loop);
	assert_int_equal(r.timer_fd, -1);
	assert_int_equal(calls, 0);
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tbucket_starts_full_and_refills_at_its_rate),
		cmocka_unit_test(test_tbucket_refused_take_takes_nothing),
		cmocka_unit_test(test_tbucket_wait_is_the_time_to_enough_tokens),
		cmocka_unit_test(test_tbucket_one_time_burst_is_spent_first_and_never_refills),
		cmocka_unit_test(test_tbucket_request_larger_than_the_bucket_passes_when_full_then_pays),
		cmocka_unit_test(test_tbucket_zero_size_or_refill_is_unlimited),
		cmocka_unit_test(test_tbucket_arithmetic_near_2_64_saturates),
		cmocka_unit_test(test_ratelim_throttle_arms_a_timer_and_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
