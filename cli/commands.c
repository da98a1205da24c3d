/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"


const struct cli_command cli_commands[] = {
	{ "create", cmd_create, "[options] ID", "create a container (process waits for start)", false },
	{ "start", cmd_start, "ID", "start a created container", false },
	{ "run", cmd_run, "[options] ID", "create, start and wait for a container", false },
	{ "state", cmd_state, "ID", "print the OCI state JSON of a container", false },
	{ "kill", cmd_kill, "[--all] ID [SIGNAL]", "send a signal to the container", false },
	{ "delete", cmd_delete, "[--force] ID", "delete a container", false },
	{ "list", cmd_list, "[--format table|json] [--quiet]", "list containers", false },
	{ "ps", cmd_ps, "[--format table|json] ID [-- ps-args]", "list processes in a container", false },
	{ "exec", cmd_exec, "[options] ID [COMMAND [ARG...]]", "run a process in a running container", true },
	{ "spec", cmd_spec, "[--rootless] [--bundle DIR]", "write a default config.json", false },
	{ "features", cmd_features, "", "print the runtime features JSON", false },
	{ "vm", cmd_vm, "run --kernel FILE [options]", "boot a kernel in a KVM microVM", false },
	{ "pause", cmd_pause, "ID", "freeze every process of the container", false },
	{ "resume", cmd_resume, "ID", "thaw a paused container", false },
	{ "update", cmd_update, "[--resources FILE|-] [runc flags] ID", "change resource limits", false },
	{ "events", cmd_events, "[--stats] [--interval D] ID", "stats and OOM events as JSON lines", false },
};
const size_t cli_n_commands = ARRAY_SIZE(cli_commands);

const struct cli_command *cli_find(const char *name)
{
	for (size_t i = 0; i < cli_n_commands; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

void cli_print_usage(const struct cli_command *c, FILE *f)
{
	fprintf(f, "Usage: hull %s %s\n%s\n", c->name, c->usage, c->help);
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, int *opt,
	       struct hull_err **err)
{
	int c;

	opterr = 0;
	c = getopt_long_only(argc, argv, shortopts, longopts, NULL);
	*opt = c;
	if (c == '?' || c == ':') {
		const char *bad = argv[optind - 1];
		if (c == ':' || (optopt && strchr(shortopts, optopt)))
			return hull_err_make(err, 0, "option \"%s\" needs a value", bad);
		return hull_err_make(err, 0, "unknown option \"%s\"", bad);
	}
	return 0;
}

int cli_need_args(int argc, char **argv, int n, const char *what, struct hull_err **err)
{
	int have = argc - optind;
	if (have < n)
		return hull_err_make(err, 0, "missing %s", what);
	if (have > n)
		return hull_err_make(err, 0, "unexpected argument \"%s\"", argv[optind + n]);
	return 0;
}
