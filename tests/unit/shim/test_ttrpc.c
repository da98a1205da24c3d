/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpc framing and dispatch (shim/ttrpc.c) over a socketpair: a server
 * thread runs ttrpc_serve_conn with a two-method service; the test is the
 * client, well-behaved through ttrpc_call and hostile through raw frames.
 * A malformed frame must end that connection (the server returns < 0 and
 * closes its side) and nothing else; a bad Request or an unknown method
 * must answer with the right gRPC code and keep the connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "shim/shim.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>

/* echo: the payload back; fail: FAILED_PRECONDITION with a message. */
static void echo(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	(void)opaque;
	out->payload = xmalloc(len ? len : 1);
	memcpy(out->payload, in, len);
	out->len = len;
}

static void fail_method(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	(void)opaque, (void)in, (void)len;
	out->code = TTRPC_FAILED_PRECONDITION;
	snprintf(out->msg, sizeof(out->msg), "no such task");
}

static const struct ttrpc_method methods[] = { { "Echo", echo }, { "Fail", fail_method } };
static const struct ttrpc_service svc[] = { { "test.v1.T", methods, ARRAY_SIZE(methods) } };

struct server {
	int fd;
	pthread_t t;
	int ret;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	struct hull_err *err = NULL;

	s->ret = ttrpc_serve_conn(s->fd, svc, ARRAY_SIZE(svc), NULL, &err);
	hull_err_free(&err);
	close(s->fd);
	return NULL;
}

static int start(struct server *s)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s->fd = sv[1];
	s->ret = 1;
	assert_int_equal(pthread_create(&s->t, NULL, serve, s), 0);
	return sv[0];
}

static int stop(struct server *s, int cfd)
{
	close(cfd);
	pthread_join(s->t, NULL);
	return s->ret;
}

/* The server closed its side: the next read is EOF. */
static void assert_closed(int cfd)
{
	char b[64];
	ssize_t n;

	while ((n = read(cfd, b, sizeof(b))) > 0)
		;
	assert_int_equal(n, 0);
}

static void test_echo_and_error(void **state)
{
	(void)state;
	struct server s;
	int cfd = start(&s);
	uint32_t stream = 1;
	struct ttrpc_reply r;
	struct hull_err *err = NULL;

	assert_int_equal(ttrpc_call(cfd, &stream, "test.v1.T", "Echo", "hello", 5, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_OK);
	assert_int_equal(r.len, 5);
	assert_memory_equal(r.payload, "hello", 5);
	free(r.payload);
	assert_int_equal(stream, 3);
	assert_int_equal(ttrpc_call(cfd, &stream, "test.v1.T", "Fail", NULL, 0, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_FAILED_PRECONDITION);
	assert_string_equal(r.msg, "no such task");
	/* An empty payload is a valid empty message. */
	assert_int_equal(ttrpc_call(cfd, &stream, "test.v1.T", "Echo", NULL, 0, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_OK);
	assert_int_equal(r.len, 0);
	assert_int_equal(stop(&s, cfd), 0);
}

static void test_unknown_method_and_service_unimplemented(void **state)
{
	(void)state;
	struct server s;
	int cfd = start(&s);
	uint32_t stream = 1;
	struct ttrpc_reply r;
	struct hull_err *err = NULL;

	assert_int_equal(ttrpc_call(cfd, &stream, "test.v1.T", "Nope", NULL, 0, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_UNIMPLEMENTED);
	assert_int_equal(ttrpc_call(cfd, &stream, "other.Svc", "Echo", NULL, 0, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_UNIMPLEMENTED);
	/* The connection still serves. */
	assert_int_equal(ttrpc_call(cfd, &stream, "test.v1.T", "Echo", "x", 1, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_OK);
	free(r.payload);
	assert_int_equal(stop(&s, cfd), 0);
}

/* A frame whose Request is not protobuf: INVALID_ARGUMENT, connection kept. */
static void test_garbage_request_invalid_argument(void **state)
{
	(void)state;
	struct server s;
	int cfd = start(&s);
	uint8_t frame[TTRPC_HEADER_LEN + 4] = { 0 };
	uint32_t stream = 3;
	struct ttrpc_reply r;
	struct hull_err *err = NULL;

	/* field 1, wire type 2, length 200 with 2 bytes behind it */
	ttrpc_header_put(frame, 4, 1, TTRPC_REQUEST, 0);
	memcpy(frame + TTRPC_HEADER_LEN, "\x0a\xc8\x01\x41", 4);
	assert_int_equal(write(cfd, frame, sizeof(frame)), sizeof(frame));
	/* Read its answer by hand: a RESPONSE on stream 1. */
	uint8_t h[TTRPC_HEADER_LEN];
	assert_int_equal(read(cfd, h, sizeof(h)), sizeof(h));
	uint32_t be;
	memcpy(&be, h + 4, 4);
	assert_int_equal(ntohl(be), 1);
	assert_int_equal(h[8], TTRPC_RESPONSE);
	memcpy(&be, h, 4);
	uint8_t body[512];
	assert_true(ntohl(be) <= sizeof(body));
	assert_int_equal(read(cfd, body, ntohl(be)), ntohl(be));
	/* Response.status (field 1) .code (field 1) = 3 */
	assert_int_equal(body[0], 0x0a);
	assert_int_equal(body[2], 0x08);
	assert_int_equal(body[3], TTRPC_INVALID_ARGUMENT);
	assert_int_equal(ttrpc_call(cfd, &stream, "test.v1.T", "Echo", "y", 1, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_OK);
	free(r.payload);
	assert_int_equal(stop(&s, cfd), 0);
}

/* Each malformed frame ends the connection: the server returns < 0. */
static void hostile(const uint8_t *bytes, size_t n, bool half_close)
{
	struct server s;
	int cfd = start(&s);

	assert_int_equal(write(cfd, bytes, n), (ssize_t)n);
	if (half_close)
		shutdown(cfd, SHUT_WR);
	assert_closed(cfd);
	assert_true(stop(&s, cfd) < 0);
}

static void test_short_header_closes(void **state)
{
	(void)state;
	hostile((const uint8_t *)"\0\0\0\0\0\0\0", 7, true);
}

static void test_short_body_closes(void **state)
{
	(void)state;
	uint8_t f[TTRPC_HEADER_LEN + 3];

	ttrpc_header_put(f, 100, 1, TTRPC_REQUEST, 0);
	memset(f + TTRPC_HEADER_LEN, 0, 3);
	hostile(f, sizeof(f), true);
}

static void test_oversized_length_closes(void **state)
{
	(void)state;
	uint8_t f[TTRPC_HEADER_LEN];

	/* No half-close: the server must not wait for 4 MiB + 1 bytes. */
	ttrpc_header_put(f, TTRPC_MAX_MSG + 1, 1, TTRPC_REQUEST, 0);
	hostile(f, sizeof(f), false);
	ttrpc_header_put(f, 0xffffffffu, 1, TTRPC_REQUEST, 0);
	hostile(f, sizeof(f), false);
}

static void test_bad_type_closes(void **state)
{
	(void)state;
	uint8_t f[TTRPC_HEADER_LEN];
	static const uint8_t types[] = { 0, TTRPC_RESPONSE, TTRPC_DATA, 0x7f, 0xff };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		ttrpc_header_put(f, 0, 1, types[i], 0);
		hostile(f, sizeof(f), false);
	}
}

static void test_even_stream_id_closes(void **state)
{
	(void)state;
	uint8_t f[TTRPC_HEADER_LEN];

	ttrpc_header_put(f, 0, 2, TTRPC_REQUEST, 0);
	hostile(f, sizeof(f), false);
	ttrpc_header_put(f, 0, 0, TTRPC_REQUEST, 0);
	hostile(f, sizeof(f), false);
}

/* One connection's bad frame leaves another connection serving. */
static void test_bad_frame_leaves_other_connection(void **state)
{
	(void)state;
	struct server a, b;
	int ca = start(&a), cb = start(&b);
	uint8_t f[TTRPC_HEADER_LEN];
	uint32_t stream = 1;
	struct ttrpc_reply r;
	struct hull_err *err = NULL;

	ttrpc_header_put(f, 0, 1, 9, 0);
	assert_int_equal(write(ca, f, sizeof(f)), sizeof(f));
	assert_closed(ca);
	assert_true(stop(&a, ca) < 0);
	assert_int_equal(ttrpc_call(cb, &stream, "test.v1.T", "Echo", "z", 1, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_OK);
	free(r.payload);
	assert_int_equal(stop(&b, cb), 0);
}

/* The 4 MiB limit holds exactly: a request of 4 MiB is served. */
static void test_max_size_request_served(void **state)
{
	(void)state;
	struct server s;
	int cfd = start(&s);
	uint32_t stream = 1;
	struct ttrpc_reply r;
	struct hull_err *err = NULL;
	size_t n = TTRPC_MAX_MSG - 64;
	uint8_t *big = xcalloc(1, TTRPC_MAX_MSG);

	assert_int_equal(ttrpc_call(cfd, &stream, "test.v1.T", "Fail", big, n, &r, &err), 0);
	assert_int_equal(r.code, TTRPC_FAILED_PRECONDITION);
	/* Over the limit the client refuses to send. */
	assert_true(ttrpc_call(cfd, &stream, "test.v1.T", "Echo", big, TTRPC_MAX_MSG, &r, &err) < 0);
	hull_err_free(&err);
	free(big);
	assert_int_equal(stop(&s, cfd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_and_error),
		cmocka_unit_test(test_unknown_method_and_service_unimplemented),
		cmocka_unit_test(test_garbage_request_invalid_argument),
		cmocka_unit_test(test_short_header_closes),
		cmocka_unit_test(test_short_body_closes),
		cmocka_unit_test(test_oversized_length_closes),
		cmocka_unit_test(test_bad_type_closes),
		cmocka_unit_test(test_even_stream_id_closes),
		cmocka_unit_test(test_bad_frame_leaves_other_connection),
		cmocka_unit_test(test_max_size_request_served),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
