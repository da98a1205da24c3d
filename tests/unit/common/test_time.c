/* SPDX-License-Identifier: Apache-2.0 */
/* utc_time: the civil UTC date hull writes into state and logs, computed
 * without glibc's time zone file; checked against gmtime_r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"

static void assert_like_gmtime(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm want, got;

	assert_non_null(gmtime_r(&tt, &want));
	utc_time(t, &got);
	assert_int_equal(got.tm_year, want.tm_year);
	assert_int_equal(got.tm_mon, want.tm_mon);
	assert_int_equal(got.tm_mday, want.tm_mday);
	assert_int_equal(got.tm_hour, want.tm_hour);
	assert_int_equal(got.tm_min, want.tm_min);
	assert_int_equal(got.tm_sec, want.tm_sec);
}

static void test_utc_time_known_dates(void **state)
{
	struct tm tm;

	utc_time(0, &tm);
	assert_int_equal(tm.tm_year, 70);
	assert_int_equal(tm.tm_mon, 0);
	assert_int_equal(tm.tm_mday, 1);
	/* 2000-02-29T23:59:59Z: a leap day in a year divisible by 400 */
	utc_time(951868799, &tm);
	assert_int_equal(tm.tm_year, 100);
	assert_int_equal(tm.tm_mon, 1);
	assert_int_equal(tm.tm_mday, 29);
	assert_int_equal(tm.tm_hour, 23);
	assert_int_equal(tm.tm_sec, 59);
	/* 1969-12-31T23:59:59Z: before the epoch */
	utc_time(-1, &tm);
	assert_int_equal(tm.tm_year, 69);
	assert_int_equal(tm.tm_mon, 11);
	assert_int_equal(tm.tm_mday, 31);
	assert_int_equal(tm.tm_hour, 23);
}

static void test_utc_time_matches_gmtime(void **state)
{
	/* Month and year boundaries, 2100 (not a leap year), and a spread of
	 * seconds across 1900..2400. */
	static const int64_t fixed[] = { 4107542399, 4107542400, 4102444799, 4102444800, 1709251199,
					 1709251200, 253402300799, -2208988800, -62135596800 };

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		assert_like_gmtime(fixed[i]);
	for (int64_t t = -2208988800; t < 13569465600; t += 86400 * 7 + 3607)
		assert_like_gmtime(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc_time_known_dates),
		cmocka_unit_test(test_utc_time_matches_gmtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
