/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shim/shim.h: containerd's shim v2, `containerd-shim-hull-v2` (docs/shim.md).
 *
 * The shim speaks ttrpc (containerd/ttrpc v1.1's wire format, written here in
 * C: no C library exists) over a Unix socket.  A frame is a 10-byte header
 * (u32 be payload length, u32 be stream id, u8 type, u8 flags) and a payload
 * of at most 4 MiB; a request's payload is a protobuf Request{service,
 * method, payload, timeout_nano, metadata}, the answer on the same stream id
 * a Response{google.rpc.Status, payload}.  Clients use odd stream ids.
 * The messages are protobuf-c code generated at build time from Debian's
 * containerd protos (shim/ttrpc.proto restates ttrpc's own two).
 */
#ifndef HULL_SHIM_H
#define HULL_SHIM_H

#include "common/common.h"

#define TTRPC_HEADER_LEN 10
#define TTRPC_MAX_MSG (4u << 20) /* ttrpc's messageLengthMax */

enum ttrpc_type { TTRPC_REQUEST = 1, TTRPC_RESPONSE = 2, TTRPC_DATA = 3 };

/* gRPC status codes (google.golang.org/grpc/codes). */
enum ttrpc_code {
	TTRPC_OK = 0, TTRPC_CANCELLED = 1, TTRPC_UNKNOWN = 2, TTRPC_INVALID_ARGUMENT = 3,
	TTRPC_DEADLINE_EXCEEDED = 4, TTRPC_NOT_FOUND = 5, TTRPC_ALREADY_EXISTS = 6,
	TTRPC_PERMISSION_DENIED = 7, TTRPC_RESOURCE_EXHAUSTED = 8, TTRPC_FAILED_PRECONDITION = 9,
	TTRPC_ABORTED = 10, TTRPC_OUT_OF_RANGE = 11, TTRPC_UNIMPLEMENTED = 12, TTRPC_INTERNAL = 13,
	TTRPC_UNAVAILABLE = 14, TTRPC_DATA_LOSS = 15, TTRPC_UNAUTHENTICATED = 16,
};

/* A method's answer: code TTRPC_OK with payload (malloc'd, freed by the
 * server; NULL/0 is an empty message) or an error code with msg. */
struct ttrpc_reply {
	int code;
	char msg[256];
	uint8_t *payload;
	size_t len;
	/* Called with the server's opaque once the answer is sent (Shutdown
	 * exits there: containerd must see the reply before the socket goes). */
	void (*after_send)(void *opaque);
};

/* in/len: the method's protobuf payload, hostile: decode it with bounds.
 * Handlers run on their own thread per request (Wait blocks for an exit
 * while the same connection carries Kill), so they must be thread safe. */
typedef void (*ttrpc_handler)(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out);

struct ttrpc_method {
	const char *name;
	ttrpc_handler fn;
};

struct ttrpc_service {
	const char *name; /* "containerd.task.v2.Task" */
	const struct ttrpc_method *methods;
	size_t n_methods;
};

/* Serve requests on a connected stream socket until the peer closes it (0)
 * or sends a malformed frame (< 0, err says what: short header, length over
 * 4 MiB, unknown type, even stream id); either way only this connection
 * ends.  A Request that does not decode answers INVALID_ARGUMENT, an unknown
 * service or method UNIMPLEMENTED, and the connection stays.  Returns after
 * every handler it started has answered.  The caller keeps fd. */
int ttrpc_serve_conn(int fd, const struct ttrpc_service *svcs, size_t n_svcs, void *opaque,
		     struct hull_err **err);

/* Client side: one call on a connected socket, waiting for its answer
 * (responses for other stream ids are skipped).  *stream is the stream id to
 * use (odd), advanced by 2.  < 0 only for transport or framing errors; a
 * gRPC error is out->code.  out->payload is malloc'd. */
int ttrpc_call(int fd, uint32_t *stream, const char *service, const char *method,
	       const void *in, size_t len, struct ttrpc_reply *out, struct hull_err **err);

/* The header, split out for tests and the client: encode into 10 bytes. */
void ttrpc_header_put(uint8_t h[TTRPC_HEADER_LEN], uint32_t len, uint32_t stream, uint8_t type,
		      uint8_t flags);

/* `containerd-shim-hull-v2 [flags] start|delete` or the serving daemon
 * (cli/main.c dispatches on argv[0]).  Returns the exit code. */
int shim_main(int argc, char **argv);
/* argv[0]'s base name is containerd-shim-hull-v2 (the link `make install` makes). */
bool shim_argv0(const char *argv0);

#endif
