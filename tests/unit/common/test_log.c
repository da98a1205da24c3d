/* SPDX-License-Identifier: Apache-2.0 */
/* The log sink's line forms: logrus text (runc's) and JSON, one line per
 * message whatever it contains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"

#include <regex.h>

/* Log one message at `lvl` into a pipe (or stderr, dup'd to it) and return
 * the line written, by hull_log or by hull_log_signal_safe. */
static char *logged_by(bool safe, int fd, bool json, enum hull_log_level lvl, const char *msg)
{
	static char buf[4096];
	int p[2], saved = -1;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	if (fd == STDERR_FILENO) {
		saved = dup(STDERR_FILENO);
		assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	}
	hull_log_init(fd == STDERR_FILENO ? fd : p[1], json, HULL_LOG_DEBUG);
	if (safe)
		hull_log_signal_safe(lvl, msg);
	else
		hull_log(lvl, "%s", msg);
	if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	hull_log_init(STDERR_FILENO, false, HULL_LOG_WARN);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

static char *logged(bool json, enum hull_log_level lvl, const char *msg)
{
	return logged_by(false, -1, json, lvl, msg);
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

/* From a signal handler (the VMM's SIGSYS line): the same three forms as
 * hull_log, the same line but for the time's fraction in text. */
static void test_log_signal_safe_has_the_same_forms(void **state)
{
	static const char msg[] = "seccomp: vcpu thread: forbidden syscall getppid (110)";
	_cleanup_free_ char *a = NULL, *b = NULL;

	(void)state;
	assert_matches(logged_by(true, -1, true, HULL_LOG_ERROR, msg),
		       "^\\{\"level\":\"error\",\"msg\":\"seccomp: vcpu thread: forbidden syscall getppid \\(110\\)\","
		       "\"time\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z\"\\}\n$");
	assert_matches(logged_by(true, -1, false, HULL_LOG_ERROR, msg),
		       "^time=\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\" "
		       "level=error msg=\"seccomp: vcpu thread: forbidden syscall getppid \\(110\\)\"\n$");
	/* stderr: hull's one-line form, as hull_log writes it */
	a = xstrdup(logged_by(true, STDERR_FILENO, false, HULL_LOG_ERROR, msg));
	b = xstrdup(logged_by(false, STDERR_FILENO, false, HULL_LOG_ERROR, msg));
	assert_string_equal(a, "hull: seccomp: vcpu thread: forbidden syscall getppid (110)\n");
	assert_string_equal(a, b);
	assert_string_equal(logged_by(true, STDERR_FILENO, false, HULL_LOG_WARN, "w"), "hull: warning: w\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_text_is_logrus_form),
		cmocka_unit_test(test_log_text_escapes_quotes_and_newlines),
		cmocka_unit_test(test_log_json_has_level_msg_time),
		cmocka_unit_test(test_log_below_level_writes_nothing),
		cmocka_unit_test(test_log_signal_safe_has_the_same_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
