/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ENOSYS for syscalls newer than the seccomp profile (runc's patchbpf does
 * the same).  A profile whose default action refuses (errno, kill, trap)
 * lists the syscalls its authors knew; a newer one (clone3, fchmodat2 in
 * their day) would get that default, EPERM say, and libc would not fall back
 * to the older call it uses on ENOSYS.  So a short BPF prologue in front of
 * libseccomp's program answers ENOSYS for any syscall number above the
 * highest the profile names on that architecture.  x32 calls (bit 30 on the
 * x86_64 audit arch) are left to libseccomp's program.
 */
#include "internal.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define X32_SYSCALL_BIT 0x40000000u
#define MAX_ARCHES 16

/* Highest syscall number the profile names on arch, or -1. */
static int64_t profile_max(const struct oci_seccomp *s, uint32_t arch)
{
	int64_t max = -1;

	for (size_t i = 0; i < s->n_syscalls; i++)
		for (size_t j = 0; j < s->syscalls[i].n_names; j++) {
			int nr = seccomp_syscall_resolve_name_arch(arch, s->syscalls[i].names[j]);
			if (nr >= 0 && nr > max)
				max = nr;
		}
	return max;
}

/* The native arch and the profile's (resolved by seccomp.c, which owns the
 * names), without x32 (see above) and without those the profile names no
 * syscall on. */
static size_t arches_of(const struct oci_seccomp *s, const uint32_t *arches, size_t n_arches,
			struct seccomp_arch_max *out)
{
	uint32_t cand[MAX_ARCHES];
	size_t n = 0, k = 0;

	cand[n++] = seccomp_arch_native();
	for (size_t i = 0; i < n_arches && n < MAX_ARCHES; i++)
		cand[n++] = arches[i];
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		int64_t max;
		for (size_t j = 0; j < k; j++)
			dup |= out[j].arch == cand[i];
		if (dup || cand[i] == SCMP_ARCH_X32 || (max = profile_max(s, cand[i])) < 0)
			continue;
		out[k++] = (struct seccomp_arch_max){ .arch = cand[i], .max = (uint32_t)max };
	}
	return k;
}

/* The prologue; returns its length.  Every jump goes forward: to the
 * arch's check, to the ENOSYS return, or to libseccomp's first instruction
 * (index `len` of the prologue). */
size_t seccomp_enosys_prologue(const struct seccomp_arch_max *a, size_t n, struct sock_filter *out, size_t cap)
{
	size_t len = 1 + n + 1, pos;
	size_t check_at[MAX_ARCHES], enosys;

	/* ld arch; jeq per arch; ja filter; per arch: ld nr, [jge x32], jgt max */
	for (size_t i = 0; i < n; i++) {
		check_at[i] = len;
		len += a[i].arch == AUDIT_ARCH_X86_64 ? 3 : 2;
	}
	enosys = len++;
	if (len > cap)
		return 0;
	out[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, a[i].arch,
							  (uint8_t)(check_at[i] - (2 + i)), 0);
	out[1 + n] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, (uint32_t)(len - (2 + n)));
	for (size_t i = 0; i < n; i++) {
		pos = check_at[i];
		out[pos] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
		pos++;
		if (a[i].arch == AUDIT_ARCH_X86_64) {
			out[pos] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT,
								(uint8_t)(len - (pos + 1)), 0);
			pos++;
		}
		out[pos] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, a[i].max,
							(uint8_t)(enosys - (pos + 1)), (uint8_t)(len - (pos + 1)));
	}
	out[enosys] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
	return len;
}

/* The flags seccomp_load() would pass: build_filter set them on ctx from
 * linux.seccomp.flags. */
static unsigned load_flags(scmp_filter_ctx ctx, bool notify)
{
	static const struct { enum scmp_filter_attr attr; unsigned flag; } map[] = {
		{ SCMP_FLTATR_CTL_TSYNC, SECCOMP_FILTER_FLAG_TSYNC },
		{ SCMP_FLTATR_CTL_LOG, SECCOMP_FILTER_FLAG_LOG },
		{ SCMP_FLTATR_CTL_SSB, SECCOMP_FILTER_FLAG_SPEC_ALLOW },
	};
	unsigned f = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
	uint32_t v;

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (seccomp_attr_get(ctx, map[i].attr, &v) == 0 && v)
			f |= map[i].flag;
	/* The kernel refuses TSYNC with a listener unless failing threads are
	 * reported as ESRCH (what libseccomp's seccomp_load adds). */
	if (notify && (f & SECCOMP_FILTER_FLAG_TSYNC))
		f |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
	return f;
}

int seccomp_export_prog(void *ctx, const struct oci_seccomp *s, const uint32_t *arches, size_t n_arches, bool enosys,
			bool notify, struct confine_filter *f, struct hull_err **err)
{
	struct seccomp_arch_max a[MAX_ARCHES];
	size_t n = enosys ? arches_of(s, arches, n_arches, a) : 0, stub_len = 0, prog_len;
	_cleanup_close_ int mfd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	_cleanup_free_ struct sock_filter *insns = NULL;
	struct stat st;
	int r;

	if (mfd < 0)
		return hull_err_make(err, errno, "seccomp: memfd_create");
	if ((r = seccomp_export_bpf(ctx, mfd)) < 0)
		return hull_err_make(err, -r, "seccomp: export the filter");
	if (fstat(mfd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter))
		return hull_err_make(err, EINVAL, "seccomp: exported filter of %lld bytes", (long long)st.st_size);
	prog_len = (size_t)st.st_size / sizeof(struct sock_filter);
	insns = xmalloc((BPF_MAXINSNS + 1) * sizeof(*insns));
	if (enosys)
		stub_len = seccomp_enosys_prologue(a, n, insns, BPF_MAXINSNS);
	if (stub_len + prog_len > BPF_MAXINSNS)
		return hull_err_make(err, E2BIG, "seccomp: the filter has %zu instructions, more than %d",
				     stub_len + prog_len, BPF_MAXINSNS);
	if (pread(mfd, insns + stub_len, (size_t)st.st_size, 0) != st.st_size)
		return hull_err_make(err, errno, "seccomp: read the exported filter");
	*f = (struct confine_filter){ .insns = take_ptr(insns), .len = (unsigned short)(stub_len + prog_len),
				      .flags = load_flags(ctx, notify), .notify = notify };
	return 0;
}
