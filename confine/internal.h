/* SPDX-License-Identifier: Apache-2.0 */
/*
 * confine/internal.h: private to confine/ and its unit tests.
 */
#ifndef HULL_CONFINE_INTERNAL_H
#define HULL_CONFINE_INTERNAL_H

#include "confine/confine.h"

/* ---- capabilities (caps.c) ---------------------------------------------- */

/* Highest capability both libcap and the running kernel know. */
int caps_last_known(void);
/* Drop every capability not in the bounding set (all of them when the process
 * has no capabilities object).  Needs CAP_SETPCAP. */
int caps_drop_bounding(const struct oci_process *proc, struct hull_err **err);
/* keep-caps, setgroups, setresgid, setresuid, capset, ambient, keep-caps off.
 * `extra` capabilities stay effective and permitted on top of the spec's. */
int caps_switch_user(const struct oci_process *proc, uint64_t extra, struct hull_err **err);
/* The capset(2) data of the spec's effective/permitted/inheritable sets. */
void caps_capset_data(const struct oci_process *proc, uint32_t data[6]);

/* ---- seccomp (seccomp.c) ------------------------------------------------- */

/* String tables, exposed for tests.  Each returns 0 or -1 if the name is unknown. */
int confine_seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *act);
int confine_seccomp_op(const char *name, int *op);          /* enum scmp_compare */
int confine_seccomp_arch(const char *name, uint32_t *arch); /* SCMP_ARCH_*; -2: libseccomp lacks it */
int confine_seccomp_flag(const char *name, int *attr);      /* enum scmp_filter_attr */
int confine_seccomp_validate(const struct oci_seccomp *s, struct hull_err **err);

/* seccomp_enosys.c: export libseccomp's filter ctx (a scmp_filter_ctx) into
 * f, with the flags seccomp_load() would use, behind a prologue that returns
 * ENOSYS for syscalls newer than the profile when `enosys` (the default
 * action refuses); notify adds SECCOMP_FILTER_FLAG_NEW_LISTENER.  arches:
 * the profile's architectures as audit arch numbers (seccomp.c resolves the
 * names: this file knows none, so the dependency goes one way). */
int seccomp_export_prog(void *ctx, const struct oci_seccomp *s, const uint32_t *arches, size_t n_arches, bool enosys,
			bool notify, struct confine_filter *f, struct hull_err **err);
/* The prologue for (audit arch, highest syscall number) pairs; 0 if it does
 * not fit in cap instructions.  Exposed for its unit test. */
struct seccomp_arch_max { uint32_t arch; uint32_t max; };
struct sock_filter;
size_t seccomp_enosys_prologue(const struct seccomp_arch_max *a, size_t n, struct sock_filter *out, size_t cap);

/* ---- LSM (lsm.c) ---------------------------------------------------------- */

int lsm_validate(const struct oci_process *proc, struct hull_err **err);
/* Set the AppArmor profile / SELinux label the next execve() switches to. */
int lsm_apply(const struct oci_process *proc, struct hull_err **err);

#endif
