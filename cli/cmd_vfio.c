/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull vfio bind|unbind BDF and hull sriov enable PF N | disable PF: the
 * operator steps around device passthrough (vfio/vfio.h, docs/passthrough.md).
 * bind remembers the original driver under ROOT/@vfio/<BDF> (--root).
 */
#include "cli.h"
#include "vfio/vfio.h"

static struct vfio_host host_of(struct cli_ctx *g, char **state)
{
	/* "@" is in no container id: a container cannot be called so */
	*state = xasprintf("%s/@vfio", g->rt.root);
	return (struct vfio_host){ .sys = "/sys", .proc = "/proc", .state_dir = *state };
}

CLI_CMD(vfio)
{
	_cleanup_free_ char *state = NULL;
	struct vfio_host h = host_of(g, &state);
	char bdf[13];

	if (argc != 3 || (strcmp(argv[1], "bind") != 0 && strcmp(argv[1], "unbind") != 0))
		return hull_err_make(err, 0, "usage: hull vfio bind|unbind DDDD:BB:DD.F");
	if (vfio_bdf_parse(argv[2], bdf, err) < 0)
		return -1;
	if (strcmp(argv[1], "bind") == 0)
		return vfio_bind(&h, bdf, err) < 0 ? -1 : 0;
	return vfio_unbind(&h, bdf, err) < 0 ? -1 : 0;
}

CLI_CMD(sriov)
{
	_cleanup_free_ char *state = NULL;
	struct vfio_host h = host_of(g, &state);
	char pf[13];
	uint64_t n;

	if (argc == 4 && strcmp(argv[1], "enable") == 0) {
		if (vfio_bdf_parse(argv[2], pf, err) < 0)
			return -1;
		if (parse_u64(argv[3], &n) < 0 || n > 65535)
			return hull_err_make(err, 0, "\"%s\": not a number of virtual functions", argv[3]);
		return sriov_enable(&h, pf, (unsigned int)n, err) < 0 ? -1 : 0;
	}
	if (argc == 3 && strcmp(argv[1], "disable") == 0) {
		if (vfio_bdf_parse(argv[2], pf, err) < 0)
			return -1;
		return sriov_disable(&h, pf, err) < 0 ? -1 : 0;
	}
	return hull_err_make(err, 0, "usage: hull sriov enable PF N | hull sriov disable PF");
}
