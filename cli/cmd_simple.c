/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommands that take one id and no options beyond runc's: start, state, delete, kill. */
#include "cli.h"

static int only_id(int argc, char **argv, const struct option *opts, const char **id, struct hull_err **err)
{
	int c;

	optind = 0;
	do {
		if (cli_getopt(argc, argv, "+", opts, &c, err) < 0)
			return -1;
	} while (c != -1);
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		return -1;
	*id = argv[optind];
	return 0;
}

static const struct option no_opts[] = { { 0 } };

CLI_CMD(start)
{
	const char *id;

	if (only_id(argc, argv, no_opts, &id, err) < 0)
		return -1;
	return runtime_start(&g->rt, id, err) < 0 ? -1 : 0;
}

CLI_CMD(state)
{
	_cleanup_free_ char *json = NULL;
	const char *id;

	if (only_id(argc, argv, no_opts, &id, err) < 0)
		return -1;
	if (runtime_state_json(&g->rt, id, &json, err) < 0)
		return -1;
	printf("%s\n", json);
	return 0;
}

CLI_CMD(delete)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	bool force = false;
	int c;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+f", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		force = true;
	}
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		return -1;
	return runtime_delete(&g->rt, argv[optind], force, err) < 0 ? -1 : 0;
}

CLI_CMD(kill)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { 0 } };
	bool all = false;
	int c, sig = SIGTERM, nargs;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+a", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		all = true;
	}
	nargs = argc - optind;
	if (nargs < 1)
		return hull_err_make(err, 0, "missing container id");
	if (nargs > 2)
		return hull_err_make(err, 0, "unexpected argument \"%s\"", argv[optind + 2]);
	if (nargs == 2 && runtime_signal_parse(argv[optind + 1], &sig, err) < 0)
		return -1;
	return runtime_kill(&g->rt, argv[optind], sig, all, err) < 0 ? -1 : 0;
}
