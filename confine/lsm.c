/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.apparmorProfile and process.selinuxLabel: both are "on the next
 * execve()" attributes written to procfs, like runc's apparmor.ApplyProfile
 * and selinux.SetExecLabel.  A profile or label given on a host without that
 * LSM is an error (found at validation, before anything is created), never a
 * silent downgrade.
 */
#include "internal.h"

#include <sys/stat.h>

#define APPARMOR_ENABLED "/sys/module/apparmor/parameters/enabled"
#define SELINUX_FS "/sys/fs/selinux"

static bool apparmor_enabled(void)
{
	_cleanup_free_ char *s = NULL;

	if (read_file_at(AT_FDCWD, APPARMOR_ENABLED, &s, NULL, 16, NULL) < 0)
		return false;
	return s[0] == 'Y';
}

static bool selinux_enabled(void)
{
	struct stat st;

	return stat(SELINUX_FS, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool set(const char *s)
{
	return s != NULL && *s != '\0';
}

int lsm_validate(const struct oci_process *proc, struct hull_err **err)
{
	if (set(proc->apparmor_profile) && !apparmor_enabled())
		return hull_err_make(err, 0, "process.apparmorProfile: AppArmor is not enabled on this host");
	if (set(proc->selinux_label) && !selinux_enabled())
		return hull_err_make(err, 0, "process.selinuxLabel: SELinux is not enabled on this host");
	if (set(proc->apparmor_profile) && strpbrk(proc->apparmor_profile, "\n"))
		return hull_err_make(err, 0, "process.apparmorProfile: contains a newline");
	return 0;
}

/* Linux 5.8+ has the per-LSM directory; older kernels only the shared file. */
static int write_exec_attr(const char *stacked, const char *data, const char *field, struct hull_err **err)
{
	struct hull_err *e = NULL;
	int r;

	if (stacked) {
		r = write_file_at(AT_FDCWD, stacked, data, strlen(data), &e);
		if (r == 0)
			return 0;
		if (e->errnum != ENOENT) {
			if (err && *err == NULL)
				*err = take_ptr(e);
			hull_err_free(&e);
			return hull_err_wrap(err, "%s", field);
		}
		hull_err_free(&e);
	}
	if (write_file_at(AT_FDCWD, "/proc/thread-self/attr/exec", data, strlen(data), err) < 0)
		return hull_err_wrap(err, "%s", field);
	return 0;
}

int lsm_apply(const struct oci_process *proc, struct hull_err **err)
{
	if (set(proc->apparmor_profile)) {
		_cleanup_free_ char *cmd = NULL;

		if (!apparmor_enabled())
			return hull_err_make(err, 0, "process.apparmorProfile: AppArmor is not enabled on this host");
		cmd = xasprintf("exec %s", proc->apparmor_profile);
		if (write_exec_attr("/proc/thread-self/attr/apparmor/exec", cmd, "process.apparmorProfile", err) < 0)
			return -1;
	}
	if (set(proc->selinux_label)) {
		if (!selinux_enabled())
			return hull_err_make(err, 0, "process.selinuxLabel: SELinux is not enabled on this host");
		if (write_exec_attr(NULL, proc->selinux_label, "process.selinuxLabel", err) < 0)
			return -1;
	}
	return 0;
}
