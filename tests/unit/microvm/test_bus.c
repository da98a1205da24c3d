/* SPDX-License-Identifier: Apache-2.0 */
/* Port/MMIO bus: overlapping and zero-size inserts fail, devices see only
 * offsets inside their range, accesses crossing a range end go nowhere. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/internal.h"

struct rec {
	uint64_t off;
	uint32_t len;
	bool write;
	int calls;
};

static void rec_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	struct rec *r = opaque;
	r->off = off;
	r->len = len;
	r->write = write;
	r->calls++;
	if (!write)
		memset(data, 0xab, len);
}

static void test_bus_insert_rejects_zero_size(void **state)
{
	struct bus b;
	struct rec r = { 0 };
	struct hull_err *err = NULL;

	bus_init(&b, "t");
	assert_true(bus_insert(&b, 0x100, 0, rec_io, &r, "zero", &err) < 0);
	assert_non_null(err);
	hull_err_free(&err);
	bus_destroy(&b);
}

static void test_bus_insert_rejects_wrapping_range(void **state)
{
	struct bus b;
	struct rec r = { 0 };
	struct hull_err *err = NULL;

	bus_init(&b, "t");
	assert_true(bus_insert(&b, UINT64_MAX - 1, 3, rec_io, &r, "wrap", &err) < 0);
	hull_err_free(&err);
	/* ending exactly at 2^64-1 is fine */
	assert_int_equal(bus_insert(&b, UINT64_MAX - 1, 2, rec_io, &r, "top", &err), 0);
	bus_destroy(&b);
}

static void test_bus_insert_rejects_overlap(void **state)
{
	static const struct { uint64_t base, len; bool ok; } cases[] = {
		{ 0x1000, 0x100, false }, /* identical */
		{ 0x0f00, 0x101, false }, /* tail overlaps the first byte */
		{ 0x10ff, 0x10, false },  /* head overlaps the last byte */
		{ 0x1010, 0x10, false },  /* inside */
		{ 0x0f00, 0x300, false }, /* covers */
		{ 0x0f00, 0x100, true },  /* adjacent below */
		{ 0x1100, 0x100, true },  /* adjacent above */
	};
	struct rec r = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bus b;
		struct hull_err *err = NULL;
		bus_init(&b, "t");
		assert_int_equal(bus_insert(&b, 0x1000, 0x100, rec_io, &r, "a", &err), 0);
		int ret = bus_insert(&b, cases[i].base, cases[i].len, rec_io, &r, "b", &err);
		if (cases[i].ok)
			assert_int_equal(ret, 0);
		else
			assert_true(ret < 0);
		hull_err_free(&err);
		bus_destroy(&b);
	}
}

static void test_bus_access_passes_offset_relative_to_range(void **state)
{
	struct bus b;
	struct rec a = { 0 }, c = { 0 };
	uint8_t buf[4] = { 0 };

	bus_init(&b, "t");
	assert_int_equal(bus_insert(&b, 0x3f8, 8, rec_io, &a, "com1", NULL), 0);
	assert_int_equal(bus_insert(&b, 0xcf8, 8, rec_io, &c, "pci", NULL), 0);
	assert_int_equal(bus_access(&b, 0x3fd, buf, 1, false), 0);
	assert_int_equal(a.off, 5);
	assert_int_equal(a.len, 1);
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(bus_access(&b, 0xcfc, buf, 4, true), 0);
	assert_int_equal(c.off, 4);
	assert_true(c.write);
	bus_destroy(&b);
}

static void test_bus_access_crossing_range_end_is_not_dispatched(void **state)
{
	struct bus b;
	struct rec a = { 0 };
	uint8_t buf[8];

	bus_init(&b, "t");
	assert_int_equal(bus_insert(&b, 0x1000, 0x10, rec_io, &a, "a", NULL), 0);
	assert_int_equal(bus_access(&b, 0x100c, buf, 8, false), -ENOENT);
	assert_int_equal(bus_access(&b, 0x0fff, buf, 2, false), -ENOENT);
	assert_int_equal(bus_access(&b, 0x1010, buf, 1, false), -ENOENT);
	assert_int_equal(bus_access(&b, 0x1000, buf, 0, false), -ENOENT);
	assert_int_equal(a.calls, 0);
	assert_int_equal(bus_access(&b, 0x1008, buf, 8, false), 0);
	assert_int_equal(a.calls, 1);
	bus_destroy(&b);
}

static void test_bus_remove_needs_owner(void **state)
{
	struct bus b;
	struct rec a = { 0 }, other = { 0 };
	uint8_t buf[1];

	bus_init(&b, "t");
	assert_int_equal(bus_insert(&b, 0x2000, 0x10, rec_io, &a, "a", NULL), 0);
	assert_int_equal(bus_remove(&b, 0x2000, &other), -ENOENT);
	assert_int_equal(bus_remove(&b, 0x2000, &a), 0);
	assert_int_equal(bus_access(&b, 0x2000, buf, 1, false), -ENOENT);
	/* the space is free again */
	assert_int_equal(bus_insert(&b, 0x2000, 0x10, rec_io, &other, "b", NULL), 0);
	bus_destroy(&b);
}

static void test_bus_lookup_among_many_ranges(void **state)
{
	struct bus b;
	struct rec r[64] = { 0 };
	uint8_t buf[1];

	bus_init(&b, "t");
	/* inserted out of order; lookup is a binary search over sorted ranges */
	for (int i = 63; i >= 0; i--)
		assert_int_equal(bus_insert(&b, 0x10000 + (uint64_t)i * 0x100, 0x80, rec_io, &r[i], "r", NULL), 0);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(bus_access(&b, 0x10000 + (uint64_t)i * 0x100 + 0x7f, buf, 1, false), 0);
		assert_int_equal(r[i].off, 0x7f);
		assert_int_equal(bus_access(&b, 0x10000 + (uint64_t)i * 0x100 + 0x80, buf, 1, false), -ENOENT);
	}
	bus_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_insert_rejects_zero_size),
		cmocka_unit_test(test_bus_insert_rejects_wrapping_range),
		cmocka_unit_test(test_bus_insert_rejects_overlap),
		cmocka_unit_test(test_bus_access_passes_offset_relative_to_range),
		cmocka_unit_test(test_bus_access_crossing_range_end_is_not_dispatched),
		cmocka_unit_test(test_bus_remove_needs_owner),
		cmocka_unit_test(test_bus_lookup_among_many_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
