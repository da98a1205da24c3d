/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull agent: the guest side of a VM-isolated container, PID 1 of the guest
 * (guest/guest.h).  For now only the hidden --selftest, which proves the
 * guest image: load its modules, report them, power off.
 */
#include "cli.h"
#include "guest/guest.h"

#include <sys/reboot.h>

int cmd_agent(struct cli_ctx *g, int argc, char **argv, struct hull_err **err)
{
	enum { O_SELFTEST = 256 };
	static const struct option opts[] = {
		{ "selftest", no_argument, NULL, O_SELFTEST },
		{ 0 }
	};
	struct hull_err *terr = NULL;
	bool selftest = false;
	int c;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		if (c == O_SELFTEST)
			selftest = true;
	}
	if (cli_need_args(argc, argv, 0, "", err) < 0)
		return -1;
	if (!selftest)
		return hull_err_make(err, 0, "only --selftest is implemented");
	if (getpid() != 1)
		return hull_err_make(err, 0, "--selftest runs only as PID 1 of a guest (it powers off)");
	if (guest_selftest(stdout, &terr) < 0) {
		printf("HULL-SELFTEST error: %s\n", terr->msg);
		hull_err_free(&terr);
	} else {
		printf("HULL-SELFTEST end\n");
	}
	fflush(stdout);
	sync();
	/* PID 1 must not exit (the kernel would panic): the VMM sees the poweroff */
	reboot(RB_POWER_OFF);
	return hull_err_make(err, errno, "reboot(RB_POWER_OFF)");
}
