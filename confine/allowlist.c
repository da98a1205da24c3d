/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allowlist seccomp filters for hull's own processes (confine/confine.h):
 * the rules are C data written by hull, not a config.json, so there is no
 * name table for actions or operators and no ENOSYS prologue (a syscall the
 * list lacks is a bug in hull, and the default action should show it).
 */
#include "internal.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

_Static_assert(CONFINE_ACT_KILL_PROCESS == SCMP_ACT_KILL_PROCESS, "SECCOMP_RET_KILL_PROCESS");
_Static_assert(CONFINE_ACT_KILL_THREAD == SCMP_ACT_KILL_THREAD, "SECCOMP_RET_KILL_THREAD");
_Static_assert(CONFINE_ACT_TRAP == SCMP_ACT_TRAP, "SECCOMP_RET_TRAP");
_Static_assert(CONFINE_ACT_ERRNO(5) == SCMP_ACT_ERRNO(5), "SECCOMP_RET_ERRNO");
_Static_assert(CONFINE_ACT_LOG == SCMP_ACT_LOG, "SECCOMP_RET_LOG");
_Static_assert(CONFINE_ACT_ALLOW == SCMP_ACT_ALLOW, "SECCOMP_RET_ALLOW");

static void cleanup_seccompp(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ __attribute__((cleanup(cleanup_seccompp)))

static bool action_valid(uint32_t act)
{
	switch (act & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS:
	case SECCOMP_RET_KILL_THREAD:
	case SECCOMP_RET_TRAP:
	case SECCOMP_RET_LOG:
	case SECCOMP_RET_ALLOW:
		return (act & SECCOMP_RET_DATA) == 0;
	case SECCOMP_RET_ERRNO:
		return true;
	default: /* TRACE, USER_NOTIF: nothing in hull would answer them */
		return false;
	}
}

static const enum scmp_compare cmp_ops[] = {
	[CONFINE_CMP_NE] = SCMP_CMP_NE, [CONFINE_CMP_LT] = SCMP_CMP_LT,
	[CONFINE_CMP_LE] = SCMP_CMP_LE, [CONFINE_CMP_EQ] = SCMP_CMP_EQ,
	[CONFINE_CMP_GE] = SCMP_CMP_GE, [CONFINE_CMP_GT] = SCMP_CMP_GT,
	[CONFINE_CMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static int add_rule(scmp_filter_ctx ctx, const struct confine_rule *r, size_t i, uint32_t def,
		    struct hull_err **err)
{
	struct scmp_arg_cmp conds[CONFINE_MAX_ARGS];
	uint32_t act = r->action ? r->action : CONFINE_ACT_ALLOW;
	unsigned n = 0;
	int nr, rc;

	if (r->name == NULL || *r->name == '\0')
		return hull_err_make(err, 0, "seccomp allowlist: rules[%zu]: no syscall name", i);
	nr = seccomp_syscall_resolve_name(r->name);
	if (nr == __NR_SCMP_ERROR)
		return hull_err_make(err, 0, "seccomp allowlist: rules[%zu]: unknown syscall \"%s\"", i, r->name);
	if (!action_valid(act))
		return hull_err_make(err, 0, "seccomp allowlist: rules[%zu] (%s): invalid action %#x", i, r->name, act);
	for (; n < CONFINE_MAX_ARGS && r->args[n].op != CONFINE_CMP_NONE; n++) {
		const struct confine_arg *a = &r->args[n];

		if (a->index >= 6)
			return hull_err_make(err, 0, "seccomp allowlist: rules[%zu] (%s): args[%u].index %u is out of range (0-5)",
					     i, r->name, n, a->index);
		if ((unsigned)a->op >= ARRAY_SIZE(cmp_ops))
			return hull_err_make(err, 0, "seccomp allowlist: rules[%zu] (%s): args[%u].op %d is unknown", i,
					     r->name, n, (int)a->op);
		conds[n] = (struct scmp_arg_cmp){ .arg = a->index, .op = cmp_ops[a->op], .datum_a = a->value,
						  .datum_b = a->value_two };
	}
	/* libseccomp refuses a rule that does what the default does. */
	if (act == def)
		return 0;
	/* A name of another arch only (negative pseudo number): not callable here. */
	if (nr < 0) {
		hull_debug("seccomp allowlist: %s does not exist on this arch, rule skipped", r->name);
		return 0;
	}
	rc = seccomp_rule_add_array(ctx, act, nr, n, conds);
	if (rc < 0)
		return hull_err_make(err, -rc, "seccomp allowlist: rules[%zu]: add rule for %s", i, r->name);
	return 0;
}

int confine_allowlist_prepare(const struct confine_rule *rules, size_t n, uint32_t default_action,
			      struct confine_filter *f, struct hull_err **err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	int r;

	*f = (struct confine_filter){ 0 };
	if (!action_valid(default_action))
		return hull_err_make(err, 0, "seccomp allowlist: invalid default action %#x", default_action);
	ctx = seccomp_init(default_action);
	if (ctx == NULL)
		return hull_err_make(err, EINVAL, "seccomp allowlist: seccomp_init");
	/* confine_allowlist_load sets no_new_privs itself; the filter covers
	 * every thread; a foreign ABI kills the process, not one thread. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
		return hull_err_make(err, -r, "seccomp allowlist: filter attributes");
	for (size_t i = 0; i < n; i++)
		if (add_rule(ctx, &rules[i], i, default_action, err) < 0)
			return -1;
	return seccomp_export_prog(ctx, NULL, NULL, 0, false, false, f, err);
}

int confine_allowlist_load(const struct confine_rule *rules, size_t n, uint32_t default_action,
			   struct hull_err **err)
{
	struct sock_filter insns[BPF_MAXINSNS];
	struct sock_fprog prog = { .filter = insns };
	struct confine_filter f;
	unsigned flags;
	long r;

	if (confine_allowlist_prepare(rules, n, default_action, &f, err) < 0)
		return -1;
	/* Onto the stack, so that free() (which may trim the heap: brk,
	 * munmap) runs before the filter does. */
	memcpy(insns, f.insns, f.len * sizeof(*insns));
	prog.len = f.len;
	flags = f.flags;
	free(f.insns);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hull_err_make(err, errno, "seccomp allowlist: PR_SET_NO_NEW_PRIVS");
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0)
		return hull_err_make(err, errno, "seccomp allowlist: load filter");
	/* TSYNC: the id of a thread that could not take the filter (none did). */
	if (r > 0)
		return hull_err_make(err, 0, "seccomp allowlist: thread %ld could not take the filter", r);
	return 0;
}
