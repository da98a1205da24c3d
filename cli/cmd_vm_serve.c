/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull vm serve --api-sock PATH [--id ID] [--config-file FILE] [--no-seccomp]: a microVM
 * configured and driven through Firecracker's API (api/api.h,
 * docs/sandbox.md).  Exit status as `hull vm run` once the guest stops;
 * 128+N after signal N (the socket is removed either way).
 */
#include "cli.h"
#include "api/api.h"

int cli_vm_serve(struct cli_ctx *g, int argc, char **argv, struct hull_err **err)
{
	enum { O_SOCK = 256, O_ID, O_CONFIG, O_NO_SECCOMP };
	static const struct option opts[] = {
		{ "api-sock", required_argument, NULL, O_SOCK },
		{ "id", required_argument, NULL, O_ID },
		{ "config-file", required_argument, NULL, O_CONFIG },
		{ "no-seccomp", no_argument, NULL, O_NO_SECCOMP },
		{ 0 }
	};
	struct api_opts o = { 0 };
	int c, code;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		switch (c) {
		case O_SOCK: o.sock_path = optarg; break;
		case O_ID: o.id = optarg; break;
		case O_CONFIG: o.config_file = optarg; break;
		case O_NO_SECCOMP: o.no_seccomp = true; break;
		default: return hull_err_make(err, 0, "unknown option");
		}
	}
	if (optind < argc)
		return hull_err_make(err, 0, "unexpected argument \"%s\"", argv[optind]);
	/* The id names the instance in GET / and (later) the jail's directory:
	 * the container id rule keeps it path- and log-safe. */
	if (o.id && runtime_validate_id(o.id, err) < 0)
		return hull_err_wrap(err, "--id");
	/* A closed console pipe must not kill the VMM: the UART just drops output. */
	signal(SIGPIPE, SIG_IGN);
	if (api_serve(&o, &code, err) < 0)
		return -1;
	return code;
}
