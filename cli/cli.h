/* SPDX-License-Identifier: Apache-2.0 */
/* cli/cli.h: private to cli/. One cmd_<name>.c per subcommand. */
#ifndef HULL_CLI_H
#define HULL_CLI_H

#include "common/common.h"
#include "runtime/runtime.h"
#include "vmcontainer/vmcontainer.h"

#include <getopt.h>
#include <signal.h>

struct cli_ctx {
	struct runtime_ctx rt;
	const char *log_path;
	bool log_json;
	const char *argv0;
	int fail_status;            /* exit status of a failure (0: 1) */
	enum vmc_isolation isolation; /* --isolation, else from argv[0] (hull-vm) */
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

/* hull vm tap|redirect|link (cmd_vmnet.c); argv[0] is the subcommand.  1
 * when it is not one of these. */
int cli_vm_net(int argc, char **argv, struct hull_err **err);
/* hull vm serve (cmd_vm_serve.c); argv[0] is "serve". */
int cli_vm_serve(struct cli_ctx *g, int argc, char **argv, struct hull_err **err);

#define CLI_CMD(name) int cmd_##name(struct cli_ctx *g, int argc, char **argv, struct hull_err **err)
CLI_CMD(create);
CLI_CMD(start);
CLI_CMD(virtiofsd);
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
CLI_CMD(vfio);
CLI_CMD(sriov);
CLI_CMD(jail);
CLI_CMD(agent);
CLI_CMD(checkpoint);
CLI_CMD(restore);

/* The CRIU flags checkpoint and restore share (runc's). */
enum { O_CRIU_IMAGE = 300, O_CRIU_WORK, O_CRIU_CGMODE, O_CRIU_TCP, O_CRIU_EXTUNIX, O_CRIU_SHELL,
       O_CRIU_LOCKS, O_CRIU_LAZY, O_CRIU_PARENT };
#define CLI_CRIU_OPTIONS \
	{ "image-path", required_argument, NULL, O_CRIU_IMAGE }, \
	{ "work-path", required_argument, NULL, O_CRIU_WORK }, \
	{ "manage-cgroups-mode", required_argument, NULL, O_CRIU_CGMODE }, \
	{ "tcp-established", no_argument, NULL, O_CRIU_TCP }, \
	{ "ext-unix-sk", no_argument, NULL, O_CRIU_EXTUNIX }, \
	{ "shell-job", no_argument, NULL, O_CRIU_SHELL }, \
	{ "file-locks", no_argument, NULL, O_CRIU_LOCKS }, \
	{ "lazy-pages", no_argument, NULL, O_CRIU_LAZY }, \
	{ "parent-path", required_argument, NULL, O_CRIU_PARENT }
/* 1: c was one of them (stored in o), 0: not one, -1: error. */
int cli_criu_opt(int c, struct runtime_criu_opts *o, struct hull_err **err);

#endif
