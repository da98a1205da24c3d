/* SPDX-License-Identifier: Apache-2.0 */
/* exec: runc's flag set, as containerd and conmon pass it. */
#include "cli.h"

enum { O_PROCESS = 'p', O_TTY = 't', O_CWD = 256, O_ENV = 'e', O_USER = 'u', O_GIDS = 'g', O_CAP = 'c',
       O_DETACH = 'd', O_PIDFILE = 300, O_CONSOLE, O_PRESERVE, O_NNP, O_APPARMOR, O_LABEL, O_CGROUP,
       O_IGNORE_PAUSED };

static const struct option exec_opts[] = {
	{ "process", required_argument, NULL, O_PROCESS },
	{ "tty", no_argument, NULL, O_TTY },
	{ "cwd", required_argument, NULL, O_CWD },
	{ "env", required_argument, NULL, O_ENV },
	{ "user", required_argument, NULL, O_USER },
	{ "additional-gids", required_argument, NULL, O_GIDS },
	{ "cap", required_argument, NULL, O_CAP },
	{ "detach", no_argument, NULL, O_DETACH },
	{ "pid-file", required_argument, NULL, O_PIDFILE },
	{ "console-socket", required_argument, NULL, O_CONSOLE },
	{ "preserve-fds", required_argument, NULL, O_PRESERVE },
	{ "no-new-privs", no_argument, NULL, O_NNP },
	{ "apparmor", required_argument, NULL, O_APPARMOR },
	{ "process-label", required_argument, NULL, O_LABEL },
	{ "cgroup", required_argument, NULL, O_CGROUP },
	{ "ignore-paused", no_argument, NULL, O_IGNORE_PAUSED },
	{ 0 }
};

static void push(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

CLI_CMD(exec)
{
	_cleanup_strv_ char **env = NULL;
	_cleanup_strv_ char **caps = NULL;
	_cleanup_strv_ char **gids = NULL;
	_cleanup_strv_ char **cgroups = NULL;
	struct runtime_exec_opts o = { 0 };
	uint64_t n;
	int c, status = 0;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+p:te:u:g:c:d", exec_opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		switch (c) {
		case O_PROCESS: o.process_file = optarg; break;
		case O_TTY: o.tty = o.tty_set = true; break;
		case O_CWD: o.cwd = optarg; break;
		case O_ENV: push(&env, optarg); break;
		case O_USER: o.user = optarg; break;
		case O_GIDS: push(&gids, optarg); break;
		case O_CAP: push(&caps, optarg); break;
		case O_DETACH: o.detach = true; break;
		case O_PIDFILE: o.pid_file = optarg; break;
		case O_CONSOLE: o.console_socket = optarg; break;
		case O_NNP: o.no_new_privs_set = o.no_new_privs = true; break;
		case O_APPARMOR: o.apparmor = optarg; break;
		case O_LABEL: o.process_label = optarg; break;
		case O_CGROUP: push(&cgroups, optarg); break;
		case O_IGNORE_PAUSED: o.ignore_paused = true; break;
		case O_PRESERVE:
			if (parse_u64(optarg, &n) < 0 || n > 65536)
				return hull_err_make(err, 0, "--preserve-fds: invalid number \"%s\"", optarg);
			o.preserve_fds = (int)n;
			break;
		}
	}
	if (optind >= argc)
		return hull_err_make(err, 0, "missing container id");
	o.id = argv[optind];
	/* runc: usage errors exit 1, exec's own failures 255, so that a caller
	 * can tell them from the process's status. */
	g->fail_status = 255;
	o.argv = argv + optind + 1;
	if (!o.process_file && !o.argv[0])
		return hull_err_make(err, 0, "missing command (give COMMAND or --process FILE)");
	o.env = env;
	o.caps = caps;
	o.additional_gids = gids;
	o.cgroups = cgroups;
	if (runtime_exec(&g->rt, &o, &status, err) < 0)
		return -1;
	return status;
}
