/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jail/jail.h: `hull jail`, the jailer of a per-tenant VMM (Firecracker's
 * jailer, point by point; docs/sandbox.md "Jailer").
 *
 * One call builds <chroot_base>/hull/<id>/root, puts the program and the
 * files it needs there, makes the device nodes a VMM uses, and runs the
 * program as PID 1 of a new pid namespace, in a new mount namespace pivoted
 * into that root, optionally in a given network namespace, in a cgroup of its
 * own, with rlimits, as uid:gid with no capability, no_new_privs and no fd
 * but 0-2.  The caller (the keeper) stays outside: it forwards signals, waits,
 * and then removes the cgroup and the whole <chroot_base>/hull/<id>.
 */
#ifndef HULL_JAIL_H
#define HULL_JAIL_H

#include "common/common.h"
#include "oci/oci.h"

#include <sys/resource.h>

struct jail_rlimit {
	int resource;               /* RLIMIT_* */
	rlim_t value;               /* soft and hard */
};

struct jail_opts {
	const char *id;             /* validated like a container id */
	uid_t uid;
	gid_t gid;
	const char *chroot_base;    /* absolute; NULL: /srv/jailer */
	const char *netns;          /* a network namespace file to join, or NULL */
	/* The program: "hull" for this binary, else a path.  Copied into the
	 * root as /<basename>, and run with argv (argv[0] as given). */
	char **argv;
	/* Hard-linked into the root as /<basename> (copied across file systems). */
	char **files;
	size_t n_files;
	/* Character devices to make in the root besides the default ones
	 * (/dev/kvm, /dev/net/tun, /dev/vhost-net, /dev/vhost-vsock, /dev/urandom,
	 * /dev/null, each when the host has it), e.g. /dev/vfio/12. */
	char **devices;
	size_t n_devices;
	/* --cgroup FILE=VALUE, written as given (cgroups_cfg.files). */
	struct oci_kv *cgroup_files;
	size_t n_cgroup_files;
	struct jail_rlimit *rlimits;
	size_t n_rlimits;
	/* Detach: jail_run returns (*status 0) once the program runs; a keeper
	 * process, in a session of its own, waits for it and cleans up. */
	bool daemonize;
};

/* "fsize=N" / "no-file=N" (Firecracker's --resource-limit names). */
int jail_rlimit_parse(const char *s, struct jail_rlimit *out, struct hull_err **err);

/*
 * Run the program jailed and wait for it: *status is its exit code (128+n
 * for signal n).  Fails before the program runs with everything made so far
 * removed (the chroot, the cgroup).
 */
int jail_run(const struct jail_opts *o, int *status, struct hull_err **err);

/*
 * `hull jail --cleanup`: what a keeper killed with SIGKILL left (its program
 * died with it, PR_SET_PDEATHSIG): the cgroup (what is still in it is
 * killed) and <chroot_base>/hull/<id>.  Uses id and chroot_base only.
 */
int jail_cleanup(const struct jail_opts *o, struct hull_err **err);

#endif
