/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.capabilities and process.user with libcap, in runc's order:
 *   bounding set drop (needs CAP_SETPCAP, so first),
 *   PR_SET_KEEPCAPS 1 so setresuid() to a non-root uid keeps the permitted set,
 *   setgroups, setresgid, setresuid,
 *   capset (effective/permitted/inheritable),
 *   ambient raise (needs the cap in permitted and inheritable, so after capset),
 *   PR_SET_KEEPCAPS 0.
 * Capabilities the running kernel (or libcap) does not know are skipped, as
 * runc does: a spec written for a newer kernel still runs.
 */
#include "internal.h"

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static void cleanup_capp(cap_t *c)
{
	if (*c)
		cap_free(*c);
}
#define _cleanup_cap_ __attribute__((cleanup(cleanup_capp)))

int caps_last_known(void)
{
	static int last = -1;
	_cleanup_free_ char *s = NULL;
	int64_t v;
	int lib;

	if (last >= 0)
		return last;
	lib = (int)cap_max_bits() - 1;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", &s, NULL, 64, NULL) == 0) {
		s[strcspn(s, "\n")] = '\0';
		if (parse_i64(s, &v) == 0 && v >= 0 && v < lib)
			lib = (int)v;
	}
	last = lib;
	return last;
}

static const char *cap_label(int cap, char *buf, size_t len)
{
	char *name = cap_to_name((cap_value_t)cap);

	snprintf(buf, len, "%s", name ? name : "?");
	cap_free(name);
	/* libcap prints "cap_chown"; the spec spells CAP_CHOWN. */
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return buf;
}

int caps_drop_bounding(const struct oci_process *proc, struct hull_err **err)
{
	uint64_t keep = proc->has_capabilities ? proc->caps[OCI_CAP_BOUNDING] : 0;
	int last = caps_last_known();
	char name[64];

	for (int cap = 0; cap <= last && cap < 64; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (cap_drop_bound((cap_value_t)cap) < 0) {
			if (errno == EINVAL) /* the kernel lacks it after all */
				continue;
			return hull_err_make(err, errno, "process.capabilities.bounding: drop %s",
					     cap_label(cap, name, sizeof(name)));
		}
	}
	return 0;
}

/* The supplementary groups need /proc/self/setgroups "allow" (a user
 * namespace whose gid map was written unprivileged says "deny"). */
static bool setgroups_allowed(void)
{
	_cleanup_free_ char *s = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/setgroups", &s, NULL, 64, NULL) < 0)
		return true; /* no user namespace support: always allowed */
	return strncmp(s, "deny", 4) != 0;
}

static int set_ids(const struct oci_user *u, struct hull_err **err)
{
	_cleanup_free_ gid_t *gids = NULL;

	if (u->n_additional_gids > 0) {
		gids = xcalloc(u->n_additional_gids, sizeof(*gids));
		for (size_t i = 0; i < u->n_additional_gids; i++)
			gids[i] = u->additional_gids[i];
	}
	/* Always called: clears the groups the runtime itself had.  Only an
	 * EPERM makes /proc/self/setgroups worth reading: "deny" is fine when
	 * no groups are wanted. */
	if (setgroups(u->n_additional_gids, gids) < 0) {
		int e = errno;

		if (e != EPERM || setgroups_allowed())
			return hull_err_make(err, e, "process.user.additionalGids: setgroups");
		if (u->n_additional_gids > 0)
			return hull_err_make(err, EPERM,
					     "process.user.additionalGids: cannot set supplementary groups: /proc/self/setgroups is \"deny\"");
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return hull_err_make(err, errno, "process.user.gid: setresgid %u", u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return hull_err_make(err, errno, "process.user.uid: setresuid %u", u->uid);
	return 0;
}

/* A capset EPERM usually means the spec asks for a capability this process
 * does not have (e.g. CAP_SYS_RESOURCE on a host that withholds it): name it. */
static int first_unheld(const struct oci_process *proc, int last)
{
	_cleanup_cap_ cap_t cur = cap_get_proc();
	uint64_t want = proc->caps[OCI_CAP_PERMITTED] | proc->caps[OCI_CAP_EFFECTIVE];

	for (int cap = 0; cur && cap <= last && cap < 64; cap++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (!(want & (1ULL << cap)))
			continue;
		if (cap_get_flag(cur, (cap_value_t)cap, CAP_PERMITTED, &v) == 0 && v != CAP_SET)
			return cap;
	}
	return -1;
}

static int set_caps(const struct oci_process *proc, uint64_t extra, struct hull_err **err)
{
	static const struct { enum oci_cap_set set; cap_flag_t flag; } sets[] = {
		{ OCI_CAP_EFFECTIVE, CAP_EFFECTIVE },
		{ OCI_CAP_PERMITTED, CAP_PERMITTED },
		{ OCI_CAP_INHERITABLE, CAP_INHERITABLE },
	};
	_cleanup_cap_ cap_t c = cap_init(); /* all clear */
	int last = caps_last_known();

	if (c == NULL)
		return hull_err_make(err, errno, "cap_init");
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		uint64_t want = proc->has_capabilities ? proc->caps[sets[i].set] : 0;

		if (sets[i].flag != CAP_INHERITABLE)
			want |= extra;
		for (int cap = 0; cap <= last && cap < 64; cap++) {
			cap_value_t v = cap;

			if (!(want & (1ULL << cap)))
				continue;
			if (cap_set_flag(c, sets[i].flag, 1, &v, CAP_SET) < 0)
				return hull_err_make(err, errno, "cap_set_flag %d", cap);
		}
	}
	if (cap_set_proc(c) < 0) {
		int e = errno;
		char name[64];
		int missing = e == EPERM ? first_unheld(proc, last) : -1;

		if (missing >= 0)
			return hull_err_make(err, e, "process.capabilities: capset: %s is not held by the runtime",
					     cap_label(missing, name, sizeof(name)));
		return hull_err_make(err, e, "process.capabilities: capset");
	}
	return 0;
}

static int set_ambient(const struct oci_process *proc, struct hull_err **err)
{
	uint64_t amb = proc->has_capabilities ? proc->caps[OCI_CAP_AMBIENT] : 0;
	int last = caps_last_known();
	char name[64];

	/* Kernels before 4.3 have no ambient set: nothing to clear, and asking
	 * for one is an error below.  (libcap's cap_reset_ambient() probes every
	 * capability first: 41 prctl calls for this one.) */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && amb == 0)
		return 0;
	for (int cap = 0; cap <= last && cap < 64; cap++) {
		uint64_t bit = 1ULL << cap;
		int e = EPERM;

		if (!(amb & bit))
			continue;
		/* runc only warns here: engines pass ambient sets without the
		 * matching inheritable bits, and the container must still start.
		 * The kernel would refuse a bit capset did not give both. */
		if (proc->caps[OCI_CAP_PERMITTED] & proc->caps[OCI_CAP_INHERITABLE] & bit) {
			if (cap_set_ambient((cap_value_t)cap, CAP_SET) == 0)
				continue;
			e = errno; /* cap_label() may clobber errno */
		}
		hull_debug("process.capabilities.ambient: cannot raise %s (not permitted and inheritable): %s",
			   cap_label(cap, name, sizeof(name)), strerror(e));
	}
	return 0;
}

void caps_capset_data(const struct oci_process *proc, uint32_t data[6])
{
	static const enum oci_cap_set order[3] = { OCI_CAP_EFFECTIVE, OCI_CAP_PERMITTED, OCI_CAP_INHERITABLE };
	int last = caps_last_known();
	uint64_t known = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;

	/* struct __user_cap_data_struct[2]: {effective, permitted, inheritable}
	 * of capabilities 0-31, then of 32-63. */
	for (int i = 0; i < 3; i++) {
		uint64_t v = proc->has_capabilities ? proc->caps[order[i]] & known : 0;

		data[i] = (uint32_t)v;
		data[3 + i] = (uint32_t)(v >> 32);
	}
}

int caps_switch_user(const struct oci_process *proc, uint64_t extra, struct hull_err **err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hull_err_make(err, errno, "prctl PR_SET_KEEPCAPS 1");
	if (set_ids(&proc->user, err) < 0 || set_caps(proc, extra, err) < 0 || set_ambient(proc, err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hull_err_make(err, errno, "prctl PR_SET_KEEPCAPS 0");
	return 0;
}
