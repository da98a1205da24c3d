/* SPDX-License-Identifier: Apache-2.0 */
/* The log sink's line forms: logrus text (runc's) and JSON, one line per
 * message whatever it contains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"

#include <regex.h>

/* Log one message at `lvl` into a pipe and return the line written. */
static char *logged(bool json, enum hull_log_level lvl, const char *msg)
{
	static char buf[4096];
	int p[2];
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	hull_log_init(p[1], json, HULL_LOG_DEBUG);
	hull_log(lvl, "%s", msg);
	hull_log_init(STDERR_FILENO, false, HULL_LOG_WARN);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

static void assert_matches(const char *s, const char *re)
{
	regex_t r;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&r, s, 0, NULL, 0) != 0)
		fail_msg("\"%s\" does not match /%s/", s, re);
	regfree(&r);
}

static void test_log_text_is_logrus_form(void **state)
{
	(void)state;
	assert_matches(logged(false, HULL_LOG_DEBUG, "create c1: done"),
		       "^time=\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\" "
		       "level=debug msg=\"create c1: done\"\n$");
}

static void test_log_text_escapes_quotes_and_newlines(void **state)
{
	(void)state;
	assert_matches(logged(false, HULL_LOG_DEBUG, "a \"q\" b\\c\nd\te\x01"),
		       " msg=\"a \\\\\"q\\\\\" b\\\\\\\\c\\\\nd\\\\te\\\\x01\"\n$");
}

static void test_log_json_has_level_msg_time(void **state)
{
	(void)state;
	assert_matches(logged(true, HULL_LOG_DEBUG, "exec \"x\"\n"),
		       "^\\{\"level\":\"debug\",\"msg\":\"exec \\\\\"x\\\\\"\\\\n\",\"time\":\"[0-9T:.-]+Z\"\\}\n$");
}

static void test_log_below_level_writes_nothing(void **state)
{
	int p[2];
	char c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	hull_log_init(p[1], false, HULL_LOG_WARN);
	hull_log(HULL_LOG_DEBUG, "hidden");
	hull_log_init(STDERR_FILENO, false, HULL_LOG_WARN);
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_text_is_logrus_form),
		cmocka_unit_test(test_log_text_escapes_quotes_and_newlines),
		cmocka_unit_test(test_log_json_has_level_msg_time),
		cmocka_unit_test(test_log_below_level_writes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
