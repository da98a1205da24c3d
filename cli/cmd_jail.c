/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull jail --id ID --uid U --gid G [options] -- PROGRAM [ARG...]: run a VMM
 * (or any static program) jailed, as Firecracker's jailer does (jail/jail.h,
 * docs/sandbox.md).  hull jail --id ID [--chroot-base DIR] --cleanup: remove
 * what a killed jail left.  Exit status: the program's (128+n for signal n), 0
 * with --daemonize once it runs, 1 when the jail could not be made.
 */
#include "cli.h"
#include "jail/jail.h"

enum { O_ID = 400, O_UID, O_GID, O_BASE, O_NETNS, O_CGROUP, O_RLIMIT, O_FILE, O_DEVICE, O_DAEMON, O_CLEANUP };

static int parse_id_num(const char *flag, const char *s, unsigned *out, struct hull_err **err)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v >= 0xffffffffULL)
		return hull_err_make(err, 0, "%s \"%s\": not a number", flag, s);
	*out = (unsigned)v;
	return 0;
}

CLI_CMD(jail)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, O_ID },
		{ "uid", required_argument, NULL, O_UID },
		{ "gid", required_argument, NULL, O_GID },
		{ "chroot-base", required_argument, NULL, O_BASE },
		{ "netns", required_argument, NULL, O_NETNS },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "resource-limit", required_argument, NULL, O_RLIMIT },
		{ "file", required_argument, NULL, O_FILE },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "daemonize", no_argument, NULL, O_DAEMON },
		{ "cleanup", no_argument, NULL, O_CLEANUP },
		{ 0 },
	};
	struct jail_opts o = { 0 };
	_cleanup_free_ struct oci_kv *cgs = NULL;
	_cleanup_free_ struct jail_rlimit *rls = NULL;
	_cleanup_free_ char **files = NULL, **devs = NULL;
	bool have_uid = false, have_gid = false, clean = false;
	unsigned v = 0;
	int c, status = 0;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		switch (c) {
		case O_ID: o.id = optarg; break;
		case O_UID:
			if (parse_id_num("--uid", optarg, &v, err) < 0)
				return -1;
			o.uid = v, have_uid = true;
			break;
		case O_GID:
			if (parse_id_num("--gid", optarg, &v, err) < 0)
				return -1;
			o.gid = v, have_gid = true;
			break;
		case O_BASE: o.chroot_base = optarg; break;
		case O_NETNS: o.netns = optarg; break;
		case O_CGROUP: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				return hull_err_make(err, 0, "--cgroup %s: want FILE=VALUE", optarg);
			*eq = '\0';
			cgs = xrealloc(cgs, (o.n_cgroup_files + 1) * sizeof(*cgs));
			cgs[o.n_cgroup_files++] = (struct oci_kv){ optarg, eq + 1 };
			o.cgroup_files = cgs;
			break;
		}
		case O_RLIMIT:
			rls = xrealloc(rls, (o.n_rlimits + 1) * sizeof(*rls));
			if (jail_rlimit_parse(optarg, &rls[o.n_rlimits], err) < 0)
				return -1;
			o.rlimits = rls, o.n_rlimits++;
			break;
		case O_FILE:
			files = xrealloc(files, (o.n_files + 1) * sizeof(*files));
			files[o.n_files++] = optarg;
			o.files = files;
			break;
		case O_DEVICE:
			devs = xrealloc(devs, (o.n_devices + 1) * sizeof(*devs));
			devs[o.n_devices++] = optarg;
			o.devices = devs;
			break;
		case O_DAEMON: o.daemonize = true; break;
		case O_CLEANUP: clean = true; break;
		}
	}
	if (!o.id)
		return hull_err_make(err, 0, "--id is required");
	if (clean)
		return jail_cleanup(&o, err) < 0 ? -1 : 0;
	if (!have_uid || !have_gid)
		return hull_err_make(err, 0, "--uid and --gid are required");
	if (optind >= argc)
		return hull_err_make(err, 0, "usage: hull jail --id ID --uid U --gid G [options] -- PROGRAM [ARG...]");
	o.argv = argv + optind;
	if (jail_run(&o, &status, err) < 0)
		return -1;
	return status;
}
