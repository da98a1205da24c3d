// SPDX-License-Identifier: Apache-2.0
#include "shim/shim.h"

bool shim_argv0(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	const char *base = slash ? slash + 1 : argv0;

	return base && strcmp(base, "containerd-shim-hull-v2") == 0;
}

int shim_main(int argc, char **argv)
{
	fprintf(stderr, "containerd-shim-hull-v2: not implemented yet\n");
	return 1;
}
