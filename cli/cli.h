/* SPDX-License-Identifier: Apache-2.0 */
/* cli/cli.h: private to cli/. One cmd_<name>.c per subcommand. */
#ifndef HULL_CLI_H
#define HULL_CLI_H

#include "common/common.h"
#include "runtime/runtime.h"

#include <getopt.h>
#include <signal.h>

struct cli_ctx {
	struct runtime_ctx rt;
	const char *log_path;
	bool log_json;
	const char *argv0;
	int fail_status;            /* exit status of a failure (0: 1) */
};

/* A handler returns < 0 on error (with *err set), else the process exit code. */
typedef int (*cli_handler)(struct cli_ctx *g, int argc, char **argv, struct hull_err **err);

struct cli_command {
	const char *name;
	cli_handler run;
	const char *usage;          /* one line after the name */
	const char *help;
	bool seal;                  /* enters a container: run from a sealed binary */
	int flags_until;            /* flags end at this operand (0: anywhere, as runc) */
};

extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;
const struct cli_command *cli_find(const char *name);

/* Parse subcommand options with getopt_long_only (so -flag and --flag both
 * work, as with runc's Go flag parser).  The first call (optind 0) first moves
 * the command's flags that follow operands in front of them, as runc does.
 * Prints nothing; unknown options are returned as an error naming the option. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       int *opt, struct hull_err **err);
/* Require exactly `n` positional args after options, naming them in the error. */
int cli_need_args(int argc, char **argv, int n, const char *what, struct hull_err **err);
void cli_print_usage(const struct cli_command *c, FILE *f);

#define CLI_CMD(name) int cmd_##name(struct cli_ctx *g, int argc, char **argv, struct hull_err **err)
CLI_CMD(create);
CLI_CMD(start);
CLI_CMD(run);
CLI_CMD(state);
CLI_CMD(kill);
CLI_CMD(delete);
CLI_CMD(list);
CLI_CMD(ps);
CLI_CMD(exec);
CLI_CMD(spec);
CLI_CMD(features);
CLI_CMD(pause);
CLI_CMD(resume);
CLI_CMD(update);
CLI_CMD(events);
CLI_CMD(vm);

#endif
