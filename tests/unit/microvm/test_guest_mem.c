/* SPDX-License-Identifier: Apache-2.0 */
/* Guest memory accessors: region edges, addresses near 2^64, wrapping
 * lengths, zero length, ranges spanning regions, overlapping regions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/internal.h"

#define R0_GPA 0x1000ull
#define R0_SIZE 0x1000ull
#define R1_GPA 0x2000ull          /* adjacent to r0 */
#define R1_SIZE 0x1000ull

struct two_regions {
	struct guest_mem gm;
	uint8_t r0[R0_SIZE];
	uint8_t r1[R1_SIZE];
};

static int setup(void **state)
{
	struct two_regions *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(gm_add_region(&t->gm, R0_GPA, R0_SIZE, t->r0, NULL), 0);
	assert_int_equal(gm_add_region(&t->gm, R1_GPA, R1_SIZE, t->r1, NULL), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void test_gm_slice_maps_range_ending_at_region_end(void **state)
{
	struct two_regions *t = *state;
	void *p = NULL;

	assert_int_equal(gm_slice(&t->gm, R0_GPA, R0_SIZE, &p), 0);
	assert_ptr_equal(p, t->r0);
	assert_int_equal(gm_slice(&t->gm, R0_GPA + R0_SIZE - 1, 1, &p), 0);
	assert_ptr_equal(p, t->r0 + R0_SIZE - 1);
	assert_int_equal(gm_slice(&t->gm, R1_GPA + 0x10, R1_SIZE - 0x10, &p), 0);
	assert_ptr_equal(p, t->r1 + 0x10);
}

static void test_gm_slice_rejects_range_one_byte_past_region_end(void **state)
{
	struct two_regions *t = *state;
	void *p = NULL;

	assert_int_equal(gm_slice(&t->gm, R1_GPA + R1_SIZE - 1, 2, &p), -EFAULT);
	assert_int_equal(gm_slice(&t->gm, R1_GPA, R1_SIZE + 1, &p), -EFAULT);
	assert_int_equal(gm_slice(&t->gm, R1_GPA + R1_SIZE, 1, &p), -EFAULT);
	assert_null(p);
}

static void test_gm_slice_rejects_gpa_below_first_region(void **state)
{
	struct two_regions *t = *state;

	assert_int_equal(gm_slice(&t->gm, 0, 1, NULL), -EFAULT);
	assert_int_equal(gm_slice(&t->gm, R0_GPA - 1, 2, NULL), -EFAULT);
}

static void test_gm_slice_rejects_zero_length(void **state)
{
	struct two_regions *t = *state;

	assert_int_equal(gm_slice(&t->gm, R0_GPA, 0, NULL), -EFAULT);
}

static void test_gm_slice_rejects_gpa_near_2_64(void **state)
{
	struct two_regions *t = *state;

	assert_int_equal(gm_slice(&t->gm, UINT64_MAX, 1, NULL), -EFAULT);
	assert_int_equal(gm_slice(&t->gm, UINT64_MAX - 1, 4, NULL), -EFAULT);
	assert_int_equal(gm_slice(&t->gm, UINT64_MAX - R0_SIZE, R0_SIZE, NULL), -EFAULT);
}

/* gpa + len wraps to an address inside the region: an additive check
 * (gpa + len <= end) would accept it. */
static void test_gm_slice_rejects_length_that_wraps_past_2_64(void **state)
{
	struct two_regions *t = *state;
	uint64_t len = UINT64_MAX - 0xf;   /* R0_GPA + 0x10 + len == R0_GPA (mod 2^64) */

	assert_int_equal(gm_slice(&t->gm, R0_GPA + 0x10, len, NULL), -EFAULT);
	assert_int_equal(gm_slice(&t->gm, R0_GPA, UINT64_MAX, NULL), -EFAULT);
	assert_int_equal(gm_slice(&t->gm, R0_GPA + 1, UINT64_MAX, NULL), -EFAULT);
}

/* Adjacent regions are separate host mappings: one guest buffer must never
 * cover both, or a device would run off the end of r0's host memory. */
static void test_gm_slice_rejects_range_spanning_two_regions(void **state)
{
	struct two_regions *t = *state;

	assert_int_equal(gm_slice(&t->gm, R0_GPA + R0_SIZE - 8, 16, NULL), -EFAULT);
	assert_int_equal(gm_slice(&t->gm, R0_GPA, R0_SIZE + R1_SIZE, NULL), -EFAULT);
}

static void test_gm_slice_maps_region_at_top_of_address_space(void **state)
{
	struct guest_mem gm = { 0 };
	uint8_t buf[64];
	void *p = NULL;

	assert_int_equal(gm_add_region(&gm, UINT64_MAX - 63, 64, buf, NULL), 0);
	assert_int_equal(gm_slice(&gm, UINT64_MAX, 1, &p), 0);
	assert_ptr_equal(p, buf + 63);
	assert_int_equal(gm_slice(&gm, UINT64_MAX - 63, 64, &p), 0);
	assert_int_equal(gm_slice(&gm, UINT64_MAX, 2, &p), -EFAULT);
	assert_int_equal(gm_slice(&gm, UINT64_MAX - 63, 65, &p), -EFAULT);
}

static void test_gm_read_write_round_trip_and_reject_bad_ranges(void **state)
{
	struct two_regions *t = *state;
	uint8_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8] = { 0 };

	assert_int_equal(gm_write(&t->gm, R1_GPA + R1_SIZE - 8, in, sizeof(in)), 0);
	assert_memory_equal(t->r1 + R1_SIZE - 8, in, sizeof(in));
	assert_int_equal(gm_read(&t->gm, R1_GPA + R1_SIZE - 8, out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));

	memset(out, 0xaa, sizeof(out));
	assert_int_equal(gm_read(&t->gm, R1_GPA + R1_SIZE - 4, out, sizeof(out)), -EFAULT);
	assert_int_equal(out[0], 0xaa);   /* nothing copied on failure */
	assert_int_equal(gm_write(&t->gm, R0_GPA + R0_SIZE - 4, in, sizeof(in)), -EFAULT);
	assert_int_equal(t->r0[R0_SIZE - 4], 0);
	assert_int_equal(gm_read(&t->gm, R0_GPA, out, 0), -EFAULT);
}

static void test_gm_add_region_rejects_overlap(void **state)
{
	static const struct {
		const char *what;
		uint64_t gpa, size;
	} cases[] = {
		{ "same range", 0x10000, 0x1000 },
		{ "inside", 0x10800, 0x100 },
		{ "enclosing", 0xf000, 0x3000 },
		{ "overlapping the start", 0xff00, 0x200 },
		{ "overlapping the last byte", 0x10fff, 0x1000 },
	};
	uint8_t buf[16];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct guest_mem gm = { 0 };
		struct hull_err *err = NULL;

		assert_int_equal(gm_add_region(&gm, 0x10000, 0x1000, buf, NULL), 0);
		if (gm_add_region(&gm, cases[i].gpa, cases[i].size, buf, &err) >= 0)
			fail_msg("overlap accepted: %s", cases[i].what);
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "overlaps"));
		assert_int_equal(gm.n, 1);
		hull_err_free(&err);
	}
}

static void test_gm_add_region_accepts_adjacent_regions(void **state)
{
	struct guest_mem gm = { 0 };
	uint8_t buf[16];

	assert_int_equal(gm_add_region(&gm, 0x10000, 0x1000, buf, NULL), 0);
	assert_int_equal(gm_add_region(&gm, 0x11000, 0x1000, buf, NULL), 0);
	assert_int_equal(gm_add_region(&gm, 0xf000, 0x1000, buf, NULL), 0);
	assert_int_equal(gm.n, 3);
}

static void test_gm_add_region_rejects_zero_size_wrap_and_too_many(void **state)
{
	struct guest_mem gm = { 0 };
	struct hull_err *err = NULL;
	uint8_t buf[16];

	assert_true(gm_add_region(&gm, 0x1000, 0, buf, &err) < 0);
	assert_non_null(strstr(err->msg, "zero size"));
	hull_err_free(&err);
	assert_true(gm_add_region(&gm, UINT64_MAX - 0xfff, 0x2000, buf, &err) < 0);
	assert_non_null(strstr(err->msg, "wraps"));
	hull_err_free(&err);
	assert_true(gm_add_region(&gm, 2, UINT64_MAX, buf, NULL) < 0); /* ends at 2^64 + 1 */
	assert_int_equal(gm.n, 0);

	for (unsigned int i = 0; i < GM_MAX_REGIONS; i++)
		assert_int_equal(gm_add_region(&gm, 0x1000ull * (i + 1), 0x1000, buf, NULL), 0);
	assert_true(gm_add_region(&gm, 0x100000, 0x1000, buf, &err) < 0);
	assert_int_equal(gm.n, GM_MAX_REGIONS);
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gm_slice_maps_range_ending_at_region_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gm_slice_rejects_range_one_byte_past_region_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gm_slice_rejects_gpa_below_first_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gm_slice_rejects_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gm_slice_rejects_gpa_near_2_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gm_slice_rejects_length_that_wraps_past_2_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gm_slice_rejects_range_spanning_two_regions, setup, teardown),
		cmocka_unit_test(test_gm_slice_maps_region_at_top_of_address_space),
		cmocka_unit_test_setup_teardown(test_gm_read_write_round_trip_and_reject_bad_ranges, setup, teardown),
		cmocka_unit_test(test_gm_add_region_rejects_overlap),
		cmocka_unit_test(test_gm_add_region_accepts_adjacent_regions),
		cmocka_unit_test(test_gm_add_region_rejects_zero_size_wrap_and_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
