/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull agent: the guest side of a VM-isolated container, PID 1 of the guest
 * (guest/guest.h).  main() runs it when the kernel started the binary as
 * /init.  Hidden flags: --listen-unix PATH serves the same protocol on a Unix
 * socket without the PID-1 set-up (tests on a host), --run-dir DIR puts its
 * bundles and private files there, --selftest proves the guest image (load
 * the modules, report them, power off).
 */
#include "cli.h"
#include "guest/guest.h"


static int selftest(struct hull_err **err)
{
	struct hull_err *terr = NULL;

	if (getpid() != 1)
		return hull_err_make(err, 0, "--selftest runs only as PID 1 of a guest (it powers off)");
	if (guest_selftest(stdout, &terr) < 0) {
		printf("HULL-SELFTEST error: %s\n", terr->msg);
		hull_err_free(&terr);
	} else {
		printf("HULL-SELFTEST end\n");
	}
	fflush(stdout);
	guest_power_off();
}

int cmd_agent(struct cli_ctx *g, int argc, char **argv, struct hull_err **err)
{
	enum { O_SELFTEST = 256, O_LISTEN_UNIX, O_RUN_DIR };
	static const struct option opts[] = {
		{ "selftest", no_argument, NULL, O_SELFTEST },
		{ "listen-unix", required_argument, NULL, O_LISTEN_UNIX },
		{ "run-dir", required_argument, NULL, O_RUN_DIR },
		{ 0 }
	};
	struct guest_agent_opts o = { .root = g->rt.root, .debug = g->rt.debug };
	bool test = false;
	int c;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		switch (c) {
		case O_SELFTEST: test = true; break;
		case O_LISTEN_UNIX: o.listen_unix = optarg; break;
		case O_RUN_DIR: o.run_dir = optarg; break;
		}
	}
	if (cli_need_args(argc, argv, 0, "", err) < 0)
		return -1;
	if (test)
		return selftest(err);
	if (!o.listen_unix && getpid() != 1)
		return hull_err_make(err, 0, "runs only as PID 1 of a guest (or with --listen-unix PATH)");
	if (guest_agent_run(&o, err) < 0 && !o.listen_unix) {
		/* PID 1 must not exit (the kernel would panic): say why, power off. */
		fprintf(stderr, "hull: agent: %s\n", (*err)->msg);
		guest_power_off();
	}
	return -1;
}
