/* SPDX-License-Identifier: Apache-2.0 */
/* create and run share their options (runc's create/run flag sets). */
#include "cli.h"

enum { O_BUNDLE = 'b', O_PIDFILE = 256, O_CONSOLE, O_NOPIVOT, O_NOKEYRING, O_PRESERVE, O_DETACH = 'd',
       O_KEEP = 300, O_NOSUBREAPER, O_NOTIFY };

static const struct option create_opts[] = {
	{ "bundle", required_argument, NULL, O_BUNDLE },
	{ "pid-file", required_argument, NULL, O_PIDFILE },
	{ "console-socket", required_argument, NULL, O_CONSOLE },
	{ "no-pivot", no_argument, NULL, O_NOPIVOT },
	{ "no-new-keyring", no_argument, NULL, O_NOKEYRING },
	{ "preserve-fds", required_argument, NULL, O_PRESERVE },
	{ "detach", no_argument, NULL, O_DETACH },
	{ "keep", no_argument, NULL, O_KEEP },
	{ "no-subreaper", no_argument, NULL, O_NOSUBREAPER },
	{ 0 }
};

static int parse(int argc, char **argv, bool is_run, struct runtime_create_opts *o, struct hull_err **err)
{
	int c;
	uint64_t n;

	o->bundle = ".";
	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+b:d", create_opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		switch (c) {
		case O_BUNDLE: o->bundle = optarg; break;
		case O_PIDFILE: o->pid_file = optarg; break;
		case O_CONSOLE: o->console_socket = optarg; break;
		case O_NOPIVOT: o->no_pivot = true; break;
		case O_NOKEYRING: o->no_new_keyring = true; break;
		case O_NOSUBREAPER: break;
		case O_PRESERVE:
			if (parse_u64(optarg, &n) < 0 || n > 65536)
				return hull_err_make(err, 0, "--preserve-fds: invalid number \"%s\"", optarg);
			o->preserve_fds = (int)n;
			break;
		case O_DETACH:
		case O_KEEP:
			if (!is_run)
				return hull_err_make(err, 0, "unknown option \"%s\"", argv[optind - 1]);
			if (c == O_DETACH)
				o->detach = true;
			else
				o->keep = true;
			break;
		}
	}
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		return -1;
	o->id = argv[optind];
	if (o->detach && o->keep)
		return hull_err_make(err, 0, "--keep and --detach cannot be used together");
	return 0;
}

CLI_CMD(create)
{
	struct runtime_create_opts o = { 0 };

	bool vm;

	if (parse(argc, argv, false, &o, err) < 0 ||
	    vmcontainer_isolation_of_bundle(g->isolation, o.bundle, &vm, err) < 0)
		return -1;
	if (vm)
		return vmcontainer_create(&g->rt, &o, err) < 0 ? -1 : 0;
	if (runtime_create(&g->rt, &o, err) < 0)
		return -1;
	return 0;
}

CLI_CMD(run)
{
	struct runtime_create_opts o = { 0 };
	int status = 0;
	bool vm;

	if (parse(argc, argv, true, &o, err) < 0 ||
	    vmcontainer_isolation_of_bundle(g->isolation, o.bundle, &vm, err) < 0)
		return -1;
	if (vm)
		return vmcontainer_run(&g->rt, &o, &status, err) < 0 ? -1 : status;
	if (runtime_run(&g->rt, &o, &status, err) < 0)
		return -1;
	return status;
}
