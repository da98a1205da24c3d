/* SPDX-License-Identifier: Apache-2.0 */
/* checkpoint: runc's flags; the CRIU options shared with restore are parsed
 * here (cli_criu_opt). */
#include "cli.h"

#include <limits.h>

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
	case O_CRIU_LAZY: o->lazy_pages = true; break;
	case O_CRIU_PARENT: o->parent_path = optarg; break;
	default:
		return 0;
	}
	return 1;
}

CLI_CMD(checkpoint)
{
	enum { O_LEAVE = 400, O_PREDUMP, O_PAGESRV, O_STATUSFD };
	static const struct option opts[] = {
		CLI_CRIU_OPTIONS,
		{ "leave-running", no_argument, NULL, O_LEAVE },
		{ "pre-dump", no_argument, NULL, O_PREDUMP },
		{ "page-server", required_argument, NULL, O_PAGESRV },
		{ "status-fd", required_argument, NULL, O_STATUSFD },
		{ 0 }
	};
	struct runtime_checkpoint_opts o = { .status_fd = -1 };
	int64_t fd;
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
		case O_LEAVE: o.leave_running = true; break;
		case O_PREDUMP: o.pre_dump = true; break;
		case O_PAGESRV: o.page_server = optarg; break;
		case O_STATUSFD:
			if (parse_i64(optarg, &fd) < 0 || fd < -1 || fd > INT_MAX)
				return hull_err_make(err, 0, "--status-fd: invalid value \"%s\" (a descriptor number)",
						     optarg);
			o.status_fd = (int)fd;
			break;
		}
	}
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		return -1;
	o.id = argv[optind];
	return runtime_checkpoint(&g->rt, &o, err) < 0 ? -1 : 0;
}
