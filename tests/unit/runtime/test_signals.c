/* SPDX-License-Identifier: Apache-2.0 */
/* runtime_signal_parse: runc's spellings, real-time offsets, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>

#include "runtime/runtime.h"

static void test_signal_parse_accepts_runc_spellings(void **state)
{
	static const struct { const char *in; int want; } ok[] = {
		{ "KILL", SIGKILL },  { "SIGKILL", SIGKILL }, { "kill", SIGKILL },   { "sigterm", SIGTERM },
		{ "SigHup", SIGHUP }, { "9", 9 },	      { "15", 15 },	      { "0", 0 },
		{ "064", 64 },	      { "USR1", SIGUSR1 },    { "SIGCHLD", SIGCHLD }, { "CLD", SIGCHLD },
		{ "WINCH", SIGWINCH }, { "IOT", SIGABRT },    { "SYS", SIGSYS },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct hull_err *err = NULL;
		int sig = -1;

		assert_int_equal(runtime_signal_parse(ok[i].in, &sig, &err), 0);
		assert_null(err);
		assert_int_equal(sig, ok[i].want);
	}
}

static void test_signal_parse_realtime_offsets(void **state)
{
	static const struct { const char *in; int off_min, off_max; } ok[] = {
		{ "RTMIN", 0, -1 },	 { "SIGRTMIN", 0, -1 },	  { "RTMIN+3", 3, -1 },
		{ "sigrtmin+1", 1, -1 }, { "RTMAX", -1, 0 },	  { "SIGRTMAX-1", -1, 1 },
		{ "RTMAX-30", -1, 30 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int sig = -1;
		int want = ok[i].off_min >= 0 ? SIGRTMIN + ok[i].off_min : SIGRTMAX - ok[i].off_max;

		assert_int_equal(runtime_signal_parse(ok[i].in, &sig, NULL), 0);
		assert_int_equal(sig, want);
	}
	assert_int_equal(SIGRTMIN, 34); /* what `kill -l` shows as RTMIN */
}

static void test_signal_parse_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"", "FOO", "SIG", "SIGFOO", "65", "-1", "9x", "0x9", " 9", "KILL ", "RTMIN+", "RTMIN+31",
		"RTMAX+1", "RTMIN-1", "RTMIN++1", "RTMIN+-1", "1000", "99999999999999999999",
		"KILLKILLKILLKILLKILLKILLKILLKILLKILL", "\x1b[2J", "SIGKILL\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct hull_err *err = NULL;
		int sig = -12345;

		assert_true(runtime_signal_parse(bad[i], &sig, &err) < 0);
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "unknown signal"));
		assert_int_equal(sig, -12345);
		hull_err_free(&err);
	}
}

static void test_signal_parse_error_names_the_input(void **state)
{
	struct hull_err *err = NULL;
	int sig;

	assert_true(runtime_signal_parse("FOO", &sig, &err) < 0);
	assert_string_equal(err->msg, "unknown signal \"FOO\"");
	hull_err_free(&err);
}

static void test_signal_table_names_and_reverse_lookup(void **state)
{
	assert_true(runtime_n_signals >= 31);
	for (size_t i = 0; i < runtime_n_signals; i++) {
		int sig = -1;
		char buf[32];

		assert_int_equal(runtime_signal_parse(runtime_signals[i].name, &sig, NULL), 0);
		assert_int_equal(sig, runtime_signals[i].value);
		snprintf(buf, sizeof(buf), "SIG%s", runtime_signals[i].name);
		assert_int_equal(runtime_signal_parse(buf, &sig, NULL), 0);
		assert_int_equal(sig, runtime_signals[i].value);
	}
	assert_string_equal(runtime_signal_name(SIGKILL), "KILL");
	assert_string_equal(runtime_signal_name(SIGCHLD), "CHLD");
	assert_string_equal(runtime_signal_name(SIGABRT), "ABRT");
	assert_null(runtime_signal_name(SIGRTMIN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_parse_accepts_runc_spellings),
		cmocka_unit_test(test_signal_parse_realtime_offsets),
		cmocka_unit_test(test_signal_parse_rejects_garbage),
		cmocka_unit_test(test_signal_parse_error_names_the_input),
		cmocka_unit_test(test_signal_table_names_and_reverse_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
