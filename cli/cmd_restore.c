/* SPDX-License-Identifier: Apache-2.0 */
/* restore: runc's flags (the CRIU ones parsed by cli_criu_opt). */
#include "cli.h"

CLI_CMD(restore)
{
	enum { O_BUNDLE = 'b', O_DETACH = 'd', O_PIDFILE = 400, O_CONSOLE, O_IGNORED };
	static const struct option opts[] = {
		CLI_CRIU_OPTIONS,
		{ "bundle", required_argument, NULL, O_BUNDLE },
		{ "detach", no_argument, NULL, O_DETACH },
		{ "pid-file", required_argument, NULL, O_PIDFILE },
		{ "console-socket", required_argument, NULL, O_CONSOLE },
		/* CRIU rebuilds the mount namespace from the image: no pivot to
		 * skip; and a foreground restore's tree is hull's own child. */
		{ "no-pivot", no_argument, NULL, O_IGNORED },
		{ "no-subreaper", no_argument, NULL, O_IGNORED },
		{ 0 }
	};
	struct runtime_restore_opts o = { .bundle = "." };
	int c, r, status = 0;
	bool vm;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+b:d", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		if ((r = cli_criu_opt(c, &o.c, err)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		switch (c) {
		case O_BUNDLE: o.bundle = optarg; break;
		case O_DETACH: o.detach = true; break;
		case O_PIDFILE: o.pid_file = optarg; break;
		case O_CONSOLE: o.console_socket = optarg; break;
		}
	}
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		return -1;
	o.id = argv[optind];
	/* CRIU restores host processes: a bundle that asks for a VM would
	 * silently lose its isolation. */
	if (vmcontainer_isolation_of_bundle(g->isolation, o.bundle, &vm, err) < 0)
		return -1;
	if (vm)
		return hull_err_make(err, EOPNOTSUPP, "bundle %s: VM-isolated; CRIU restores only isolation=container", o.bundle);
	if (runtime_restore(&g->rt, &o, &status, err) < 0)
		return -1;
	return status;
}
