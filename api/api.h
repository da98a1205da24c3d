/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api/api.h: the door to hull's Firecracker-compatible API (docs/sandbox.md).
 *
 * api_serve() configures one microVM from Firecracker's JSON resources, over
 * HTTP/1.1 on a Unix socket (sock_path) and/or from a file (config_file,
 * which also starts it), and runs it.  It returns when the guest stops
 * (*exit_code as `hull vm run`: MICROVM_EXIT_*) or a SIGTERM/SIGINT arrives
 * (*exit_code 128 + signal), with the socket removed; < 0 with *err set on
 * a VMM error or bad configuration file.
 */
#ifndef HULL_API_H
#define HULL_API_H

#include "common/common.h"

struct api_opts {
	const char *sock_path;      /* NULL: no socket (config_file required) */
	const char *id;             /* NULL: "anonymous-instance" */
	const char *config_file;    /* NULL: configured through the socket */
	bool no_seccomp;            /* no per-thread seccomp filters (microvm_seccomp_thread) */
};

int api_serve(const struct api_opts *o, int *exit_code, struct hull_err **err);

#endif
