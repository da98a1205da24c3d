/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ENOSYS prologue (confine/seccomp_enosys.c), run through a small
 * interpreter of the BPF it emits: for each (arch, nr) it must either return
 * ENOSYS or fall through to libseccomp's program, never jump elsewhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "confine/internal.h"

#define FALLTHROUGH 0xffffffffu

/* Returns the RET value, or FALLTHROUGH when execution reaches index len. */
static uint32_t run(const struct sock_filter *p, size_t len, uint32_t arch, uint32_t nr)
{
	struct seccomp_data d = { .nr = (int)nr, .arch = arch };
	uint32_t a = 0;

	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *i = &p[pc];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(i->k == offsetof(struct seccomp_data, nr) ||
				    i->k == offsetof(struct seccomp_data, arch));
			a = i->k == offsetof(struct seccomp_data, nr) ? (uint32_t)d.nr : d.arch;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += a >= i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: pc += a > i->k ? i->jt : i->jf; break;
		case BPF_JMP | BPF_JA: pc += i->k; break;
		case BPF_RET | BPF_K: return i->k;
		default: fail_msg("unexpected BPF code 0x%x at %zu", i->code, pc);
		}
		assert_true(pc < len);  /* pc + 1 <= len after the loop's increment */
	}
	return FALLTHROUGH;
}

#define ENOSYS_RET (SECCOMP_RET_ERRNO | ENOSYS)

static void test_prologue_enosys_only_above_each_arch_max(void **state)
{
	const struct seccomp_arch_max a[] = { { AUDIT_ARCH_X86_64, 436 }, { AUDIT_ARCH_I386, 300 } };
	struct sock_filter p[64];
	size_t len = seccomp_enosys_prologue(a, 2, p, 64);

	assert_true(len > 0);
	assert_int_equal(run(p, len, AUDIT_ARCH_X86_64, 0), FALLTHROUGH);
	assert_int_equal(run(p, len, AUDIT_ARCH_X86_64, 436), FALLTHROUGH);
	assert_int_equal(run(p, len, AUDIT_ARCH_X86_64, 437), ENOSYS_RET);
	assert_int_equal(run(p, len, AUDIT_ARCH_X86_64, 1000), ENOSYS_RET);
	/* x32 calls carry bit 30: libseccomp's program decides. */
	assert_int_equal(run(p, len, AUDIT_ARCH_X86_64, 0x40000000u + 5), FALLTHROUGH);
	assert_int_equal(run(p, len, AUDIT_ARCH_X86_64, 0x40000000u + 600), FALLTHROUGH);
	assert_int_equal(run(p, len, AUDIT_ARCH_I386, 300), FALLTHROUGH);
	assert_int_equal(run(p, len, AUDIT_ARCH_I386, 301), ENOSYS_RET);
	/* An arch the profile has no syscall on is libseccomp's (it kills it). */
	assert_int_equal(run(p, len, AUDIT_ARCH_AARCH64, 5000), FALLTHROUGH);
}

static void test_prologue_without_arches_falls_through(void **state)
{
	struct sock_filter p[8];
	size_t len = seccomp_enosys_prologue(NULL, 0, p, 8);

	assert_true(len > 0);
	assert_int_equal(run(p, len, AUDIT_ARCH_X86_64, 9999), FALLTHROUGH);
}

static void test_prologue_that_does_not_fit_is_refused(void **state)
{
	const struct seccomp_arch_max a[] = { { AUDIT_ARCH_X86_64, 436 } };
	struct sock_filter p[4];

	assert_int_equal(seccomp_enosys_prologue(a, 1, p, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prologue_enosys_only_above_each_arch_max),
		cmocka_unit_test(test_prologue_without_arches_falls_through),
		cmocka_unit_test(test_prologue_that_does_not_fit_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
