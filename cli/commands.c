/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"


const struct cli_command cli_commands[] = {
	{ "create", cmd_create, "[options] ID", "create a container (process waits for start)", false, 0 },
	{ "start", cmd_start, "ID", "start a created container", false, 0 },
	{ "run", cmd_run, "[options] ID", "create, start and wait for a container", false, 0 },
	{ "state", cmd_state, "ID", "print the OCI state JSON of a container", false, 0 },
	{ "kill", cmd_kill, "[--all] ID [SIGNAL]", "send a signal to the container", false, 0 },
	{ "delete", cmd_delete, "[--force] ID", "delete a container", false, 0 },
	{ "list", cmd_list, "[--format table|json] [--quiet]", "list containers", false, 0 },
	{ "ps", cmd_ps, "[--format table|json] ID [-- ps-args]", "list processes in a container", false, 1 },
	{ "exec", cmd_exec, "[options] ID [COMMAND [ARG...]]", "run a process in a running container", true, 2 },
	{ "spec", cmd_spec, "[--rootless] [--bundle DIR]", "write a default config.json", false, 0 },
	{ "features", cmd_features, "", "print the runtime features JSON", false, 0 },
	{ "virtiofsd", cmd_virtiofsd, "--socket-path PATH|--fd N --shared-dir DIR [--mount NAME=SRC[,ro]]...",
	  "serve a directory to a VM's virtio-fs device (vhost-user backend)", false, 0 },
	{ "agent", cmd_agent, "", "the guest agent (PID 1 of a VM-isolated container's guest)", false, 0 },
	{ "vm", cmd_vm, "run --kernel FILE [options]", "boot a kernel in a KVM microVM", false, 0 },
	{ "vfio", cmd_vfio, "bind|unbind DDDD:BB:DD.F", "bind a PCI function to vfio-pci for passthrough, or back",
	  false, 0 },
	{ "jail", cmd_jail, "--id ID --uid U --gid G [options] -- PROGRAM [ARG...]",
	  "run a VMM chrooted, unprivileged and confined (Firecracker's jailer)", false, 0 },
	{ "sriov", cmd_sriov, "enable PF N | disable PF", "enable or disable SR-IOV virtual functions", false, 0 },
	{ "pause", cmd_pause, "ID", "freeze every process of the container", false, 0 },
	{ "resume", cmd_resume, "ID", "thaw a paused container", false, 0 },
	{ "update", cmd_update, "[--resources FILE|-] [runc flags] ID", "change resource limits", false, 0 },
	{ "checkpoint", cmd_checkpoint, "[options] ID", "checkpoint a running container with CRIU", false, 0 },
	{ "restore", cmd_restore, "[options] ID", "restore a container from a CRIU checkpoint", false, 0 },
	{ "events", cmd_events, "[--stats] [--interval D] ID", "stats and OOM events as JSON lines", false, 0 },
};
const size_t cli_n_commands = ARRAY_SIZE(cli_commands);

const struct cli_command *cli_find(const char *name)
{
	for (size_t i = 0; i < cli_n_commands; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

/* Is `a` one of this command's flags, spelled exactly (-name, --name,
 * -name=v, --name=v, or a short letter), and does it take the next argument? */
static bool is_flag(const char *a, const char *shortopts, const struct option *longopts, bool *takes_next)
{
	const char *name = a + 1, *eq;
	size_t len;

	if (a[0] != '-' || !a[1] || strcmp(a, "--") == 0)
		return false;
	if (*name == '-')
		name++;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	if (len == 1 && *name != '+' && *name != ':' && strchr(shortopts, *name)) {
		*takes_next = !eq && name[1] == '\0' && strchr(shortopts, *name)[1] == ':';
		return true;
	}
	for (const struct option *o = longopts; o->name; o++) {
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
			*takes_next = !eq && o->has_arg == required_argument;
			return true;
		}
	}
	return false;
}

/*
 * runc's parser (urfave/cli's reorderArgs) moves the command's own flags in
 * front of the operands, so `update ID --pids-limit 10` works; an argument
 * that is not one of its flags stays an operand, and `--` ends the flags.
 * Unlike urfave/cli, a boolean flag does not carry the next argument along
 * (runc's `kill ID --all KILL` signals a container named KILL).  `until` > 0
 * stops at that operand: ps hands the rest to ps(1), exec to the command.
 */
static void reorder(int argc, char **argv, const char *shortopts, const struct option *longopts, int until)
{
	_cleanup_free_ char **flags = xcalloc((size_t)argc + 1, sizeof(char *));
	_cleanup_free_ char **ops = xcalloc((size_t)argc + 1, sizeof(char *));
	int nf = 0, no = 0, nops = 0, i;
	bool dashdash = false, next;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dashdash = true;
			i++;
			break;
		}
		if (is_flag(argv[i], shortopts, longopts, &next)) {
			flags[nf++] = argv[i];
			if (next && i + 1 < argc)
				flags[nf++] = argv[++i];
			continue;
		}
		ops[no++] = argv[i];
		if (until > 0 && ++nops == until) {
			i++;
			break;
		}
	}
	int k = 1;
	for (int j = 0; j < nf; j++)
		argv[k++] = flags[j];
	if (dashdash)
		argv[k++] = "--";
	for (int j = 0; j < no; j++)
		argv[k++] = ops[j];
	/* argv[i..] stays where it is: k == i here. */
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, int *opt,
	       struct hull_err **err)
{
	int c;

	if (optind == 0) {
		const struct cli_command *cmd = cli_find(argv[0]);
		reorder(argc, argv, shortopts, longopts, cmd ? cmd->flags_until : 0);
	}
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
