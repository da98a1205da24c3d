/* SPDX-License-Identifier: Apache-2.0 */
/* checkpoint: runc's flags; the CRIU options shared with restore are parsed
 * here (cli_criu_opt). */
#include "cli.h"

int cli_criu_opt(int c, struct runtime_criu_opts *o, struct hull_err **err)
{
	switch (c) {
	case O_CRIU_IMAGE: o->image_path = optarg; break;
	case O_CRIU_WORK: o->work_path = optarg; break;
	case O_CRIU_CGMODE: o->manage_cgroups_mode = optarg; break;
	case O_CRIU_TCP: o->tcp_established = true; break;
	case O_CRIU_EXTUNIX: o->ext_unix_sk = true; break;
	case O_CRIU_SHELL: o->shell_job = true; break;
	case O_CRIU_LOCKS: o->file_locks = true; break;
	case O_CRIU_LAZY:
		/* Lazy pages need a page server and CRIU's lazy-pages daemon
		 * between the two hosts; hull does not run them (yet). */
		return hull_err_make(err, 0, "--lazy-pages: not supported by hull (needs --page-server)");
	default:
		return 0;
	}
	return 1;
}

CLI_CMD(checkpoint)
{
	enum { O_PARENT = 400, O_LEAVE, O_PREDUMP };
	static const struct option opts[] = {
		CLI_CRIU_OPTIONS,
		{ "parent-path", required_argument, NULL, O_PARENT },
		{ "leave-running", no_argument, NULL, O_LEAVE },
		{ "pre-dump", no_argument, NULL, O_PREDUMP },
		{ 0 }
	};
	struct runtime_checkpoint_opts o = { 0 };
	int c, r;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		if ((r = cli_criu_opt(c, &o.c, err)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		switch (c) {
		case O_PARENT: o.parent_path = optarg; break;
		case O_LEAVE: o.leave_running = true; break;
		case O_PREDUMP: o.pre_dump = true; break;
		}
	}
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		return -1;
	o.id = argv[optind];
	return runtime_checkpoint(&g->rt, &o, err) < 0 ? -1 : 0;
}
