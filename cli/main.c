/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull: entry point.  Global flags are those runc takes (containerd's shim,
 * conmon and podman pass --root, --log, --log-format, --systemd-cgroup before
 * the subcommand).  This is the only place that prints an error chain.
 */
#include "cli.h"
#include "shim/shim.h"

#include <sys/stat.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: hull [global options] COMMAND [options] [args]\n\n"
		   "Global options:\n"
		   "  --root DIR             state directory (default /run/hull)\n"
		   "  --log FILE             log file (default stderr)\n"
		   "  --log-format text|json log format\n"
		   "  --debug                debug logging\n"
		   "  --systemd-cgroup       use systemd for cgroups\n"
		   "  --cgroup-manager NAME  cgroupfs, systemd or disabled\n"
		   "  --isolation vm|container  isolation of created containers (default container;\n"
		   "                         vm when run as hull-vm; docs/vm-containers.md)\n"
		   "  --version, -v          print the version\n\nCommands:\n");
	for (size_t i = 0; i < cli_n_commands; i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].help);
}

static void print_version(void)
{
	printf("hull version %s\ncommit: %s\nspec: %s\n", HULL_VERSION, HULL_COMMIT, HULL_OCI_SPEC_VERSION);
}

enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_CGMGR, OPT_CRIU, OPT_ROOTLESS, OPT_ISOLATION };

static const struct option global_opts[] = {
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD },
	{ "cgroup-manager", required_argument, NULL, OPT_CGMGR },
	{ "criu", required_argument, NULL, OPT_CRIU },          /* accepted, unused (runc compat) */
	{ "rootless", required_argument, NULL, OPT_ROOTLESS },  /* accepted: auto|true|false */
	{ "isolation", required_argument, NULL, OPT_ISOLATION },
	{ "version", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

static int parse_global(struct cli_ctx *g, int argc, char **argv, bool *done, struct hull_err **err)
{
	const char *log_format = "text";
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+vh", global_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT: g->rt.root = optarg; break;
		case OPT_LOG: g->log_path = optarg; break;
		case OPT_LOG_FORMAT: log_format = optarg; break;
		case OPT_DEBUG: g->rt.debug = true; break;
		case OPT_SYSTEMD: g->rt.systemd_cgroup = true; break;
		case OPT_CGMGR: g->rt.cgroup_manager = optarg; break;
		case OPT_CRIU: case OPT_ROOTLESS: break;
		case OPT_ISOLATION:
			if (vmcontainer_isolation_parse(optarg, "--isolation", &g->isolation, err) < 0)
				return -1;
			break;
		case 'v': print_version(); *done = true; return 0;
		case 'h': usage(stdout); *done = true; return 0;
		default:
			return hull_err_make(err, 0, "%s: unknown global option", argv[optind - 1]);
		}
	}
	if (strcmp(log_format, "json") == 0)
		g->log_json = true;
	else if (strcmp(log_format, "text") != 0)
		return hull_err_make(err, 0, "--log-format: unknown format \"%s\" (text or json)", log_format);
	if (g->rt.cgroup_manager) {
		static const char *const managers[] = { "cgroupfs", "systemd", "disabled" };
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(managers); i++)
			ok |= strcmp(g->rt.cgroup_manager, managers[i]) == 0;
		if (!ok)
			return hull_err_make(err, 0, "--cgroup-manager: unknown manager \"%s\"", g->rt.cgroup_manager);
		if (strcmp(g->rt.cgroup_manager, "systemd") == 0)
			g->rt.systemd_cgroup = true;
	}
	if (g->rt.root[0] != '/')
		return hull_err_make(err, 0, "--root: \"%s\" must be an absolute path", g->rt.root);
	return optind;
}

static int open_log(struct cli_ctx *g, struct hull_err **err)
{
	int fd = STDERR_FILENO;

	if (g->log_path) {
		fd = open(g->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return hull_err_make(err, errno, "--log %s", g->log_path);
	}
	hull_log_init(fd, g->log_json, g->rt.debug ? HULL_LOG_DEBUG : HULL_LOG_WARN);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_ctx g = { .rt = { .root = "/run/hull", .vm = &vmcontainer_ops }, .argv0 = argv[0],
			     .isolation = vmcontainer_isolation_argv0(argv[0]) };
	struct hull_err *err = NULL;
	const struct cli_command *cmd = NULL;
	bool done = false;
	int idx, ret;

	if (argc > 1 && strcmp(argv[1], "__stage") == 0)
		return runtime_stage_main(argc, argv);
	/* The guest kernel runs the initramfs's /init (this binary) as PID 1
	 * with the words after "--" of its command line as arguments: none
	 * means the agent, any are a command line of their own (`-- agent
	 * --selftest`).  The agent's own `/init create ...` children are not
	 * PID 1 and get the CLI. */
	if (getpid() == 1 && argc == 1 && strcmp(argv[0], "/init") == 0) {
		static char *agent_argv[] = { "/init", "agent", NULL };
		argv = agent_argv;
		argc = 2;
	}
	if (shim_argv0(argv[0]))
		return shim_main(argc, argv);
	idx = parse_global(&g, argc, argv, &done, &err);
	if (done)
		return 0;
	if (idx >= 0 && open_log(&g, &err) < 0)
		idx = -1;
	if (idx < 0)
		goto fail;
	if (idx >= argc) {
		usage(stderr);
		return 1;
	}
	cmd = cli_find(argv[idx]);
	if (!cmd) {
		hull_err_make(&err, 0, "%s: unknown command (see hull --help)", argv[idx]);
		goto fail;
	}
	if (cmd->seal && runtime_ensure_sealed_exe(argv, &err) < 0)
		goto fail;
	ret = cmd->run(&g, argc - idx, argv + idx, &err);
	if (ret >= 0)
		return ret;
	if (!err)
		hull_err_make(&err, 0, "failed");
fail:
	/* One line, prefixed with the subcommand: "hull: create: root.path: ...". */
	if (cmd)
		hull_err_wrap(&err, "%s", cmd->name);
	hull_log(HULL_LOG_ERROR, "%s", err->msg);
	/* containerd reads the json log; a terminal user still wants stderr. */
	if (g.log_path)
		fprintf(stderr, "hull: %s\n", err->msg);
	hull_err_free(&err);
	return g.fail_status ? g.fail_status : 1;
}
