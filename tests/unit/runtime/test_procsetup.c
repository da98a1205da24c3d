/* SPDX-License-Identifier: Apache-2.0 */
/* runtime_passwd_home: the image's /etc/passwd is hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runtime/internal.h"

static void test_passwd_home_table(void **state)
{
	static const struct {
		const char *text;
		uint32_t uid;
		const char *want; /* NULL: no entry */
	} cases[] = {
		{ "root:x:0:0:root:/root:/bin/sh\ntest:x:1000:1000::/home/test:/bin/sh\n", 1000, "/home/test" },
		{ "root:x:0:0:root:/root:/bin/sh\n", 0, "/root" },
		{ "root:x:0:0:root:/root:/bin/sh\n", 1, NULL },
		/* the first entry for the uid wins, as in runc */
		{ "a:x:7:7::/first:/bin/sh\nb:x:7:7::/second:/bin/sh\n", 7, "/first" },
		/* no shell field, no final newline */
		{ "a:x:7:7::/short", 7, "/short" },
		/* a shell with colons stays out of the home */
		{ "a:x:7:7::/h:/bin/sh:extra:more", 7, "/h" },
		/* empty home */
		{ "a:x:7:7:::/bin/sh\n", 7, "" },
		/* too few fields, empty, blank and comment-like lines */
		{ "a:x:7:7\n\n\n#:x:7\n:::::\n", 7, NULL },
		{ "", 0, NULL },
		/* not a number, signs, spaces, overflow past 32 bits */
		{ "a:x:seven:7::/h:/bin/sh\n", 7, NULL },
		{ "a:x:-1:7::/h:/bin/sh\n", UINT32_MAX, NULL },
		{ "a:x: 7:7::/h:/bin/sh\n", 7, NULL },
		{ "a:x:4294967303:7::/h:/bin/sh\n", 7, NULL },
		{ "a:x:99999999999999999999999:7::/h:/bin/sh\n", 7, NULL },
		{ "a:x:4294967295:7::/max:/bin/sh\n", UINT32_MAX, "/max" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = xstrdup(cases[i].text);
		const char *got = runtime_passwd_home(text, cases[i].uid);

		if (cases[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwd_home_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
