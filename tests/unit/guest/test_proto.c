/* SPDX-License-Identifier: Apache-2.0 */
/* The agent protocol codec against hostile bytes: every malformed frame or
 * JSON message is an error (EPROTO/EMSGSIZE), never a crash or a partial
 * result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "guest/guest.h"
#include "oci/oci.h"

#include <json-c/json.h>
#include <sys/socket.h>
#include <sys/wait.h>

static void hdr_of(uint8_t h[8], uint32_t len, uint8_t type, uint8_t r0, uint8_t r1, uint8_t r2)
{
	h[0] = (uint8_t)len;
	h[1] = (uint8_t)(len >> 8);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 24);
	h[4] = type;
	h[5] = r0;
	h[6] = r1;
	h[7] = r2;
}

/* Decode a header; the error's errno (0 when it decoded). */
static int decode_errno(const uint8_t h[8])
{
	struct hull_err *err = NULL;
	enum guest_frame_type t;
	uint32_t len;
	int r = guest_frame_header_decode(h, &t, &len, &err), e = err ? err->errnum : 0;

	assert_true((r < 0) == (err != NULL));
	hull_err_free(&err);
	return e;
}

static void test_header_round_trip_every_type(void **state)
{
	(void)state;
	for (int t = GUEST_FRAME_REQUEST; t <= GUEST_FRAME_RESIZE; t++) {
		uint32_t lens[] = { 0, 1, 255, 256, 65536, GUEST_FRAME_MAX };
		for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
			uint8_t h[8];
			enum guest_frame_type got;
			uint32_t len;
			guest_frame_header_encode(h, t, lens[i]);
			assert_int_equal(h[5] | h[6] | h[7], 0);
			assert_int_equal(guest_frame_header_decode(h, &got, &len, NULL), 0);
			assert_int_equal(got, t);
			assert_int_equal(len, lens[i]);
		}
	}
}

static void test_header_rejects_hostile(void **state)
{
	static const struct { uint32_t len; uint8_t type, r0, r1, r2; int e; } cases[] = {
		{ 0, 0, 0, 0, 0, EPROTO },                     /* type 0 */
		{ 0, 8, 0, 0, 0, EPROTO },                     /* past RESIZE */
		{ 0, 255, 0, 0, 0, EPROTO },
		{ 0, 1, 1, 0, 0, EPROTO },                     /* reserved bytes */
		{ 0, 1, 0, 0x80, 0, EPROTO },
		{ 0, 1, 0, 0, 0xff, EPROTO },
		{ GUEST_FRAME_MAX + 1, 1, 0, 0, 0, EMSGSIZE },
		{ 0x7fffffff, 4, 0, 0, 0, EMSGSIZE },
		{ 0xffffffff, 4, 0, 0, 0, EMSGSIZE },          /* would wrap a len + 1 */
		{ GUEST_FRAME_MAX, 1, 0, 0, 0, 0 },            /* the limit itself is fine */
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t h[8];
		hdr_of(h, cases[i].len, cases[i].type, cases[i].r0, cases[i].r1, cases[i].r2);
		if (decode_errno(h) != cases[i].e)
			fail_msg("case %zu: errno %d, expected %d", i, decode_errno(h), cases[i].e);
	}
}

/* Read one frame from bytes written to a socket then closed. */
static int read_bytes(const void *b, size_t n, struct guest_frame *f, int *errnum)
{
	struct hull_err *err = NULL;
	int sv[2], r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write_all(sv[1], b, n), 0);
	close(sv[1]);
	r = guest_frame_read(sv[0], f, &err);
	close(sv[0]);
	*errnum = err ? err->errnum : 0;
	assert_true((r < 0) == (err != NULL));
	hull_err_free(&err);
	return r;
}

static void test_read_clean_eof_is_zero(void **state)
{
	struct guest_frame f = { .data = NULL };
	int e;
	(void)state;
	assert_int_equal(read_bytes("", 0, &f, &e), 0);
	assert_null(f.data);
}

static void test_read_short_header_is_error(void **state)
{
	uint8_t h[8];
	(void)state;
	guest_frame_header_encode(h, GUEST_FRAME_STDOUT, 0);
	for (size_t n = 1; n < 8; n++) {
		struct guest_frame f = { .data = NULL };
		int e;
		assert_true(read_bytes(h, n, &f, &e) < 0);
		assert_int_equal(e, EPROTO);
		assert_null(f.data);
	}
}

static void test_read_eof_mid_payload_is_error(void **state)
{
	uint8_t b[8 + 10];
	struct guest_frame f = { .data = NULL };
	int e;
	(void)state;
	guest_frame_header_encode(b, GUEST_FRAME_STDOUT, 11);
	memset(b + 8, 'x', 10);
	assert_true(read_bytes(b, sizeof(b), &f, &e) < 0);
	assert_int_equal(e, EPROTO);
	assert_null(f.data);
}

static void test_read_oversize_length_is_error(void **state)
{
	uint8_t h[8];
	struct guest_frame f = { .data = NULL };
	int e;
	(void)state;
	hdr_of(h, 0xfffffff8, GUEST_FRAME_STDIN, 0, 0, 0);
	assert_true(read_bytes(h, 8, &f, &e) < 0);
	assert_int_equal(e, EMSGSIZE);
	hdr_of(h, 1, GUEST_FRAME_STDIN, 0, 0, 1);
	assert_true(read_bytes(h, 8, &f, &e) < 0);
	assert_int_equal(e, EPROTO);
	assert_null(f.data);
}

static void test_write_read_frames_in_sequence(void **state)
{
	struct guest_frame f;
	int sv[2];
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(guest_frame_write(sv[1], GUEST_FRAME_STDOUT, "hello", 5, NULL), 0);
	assert_int_equal(guest_frame_write(sv[1], GUEST_FRAME_STDERR, "", 0, NULL), 0);
	assert_int_equal(guest_frame_write(sv[1], GUEST_FRAME_STDIN, "a\0b", 3, NULL), 0);
	close(sv[1]);
	assert_int_equal(guest_frame_read(sv[0], &f, NULL), 1);
	assert_int_equal(f.type, GUEST_FRAME_STDOUT);
	assert_int_equal(f.len, 5);
	assert_string_equal(f.data, "hello");
	guest_frame_release(&f);
	assert_int_equal(guest_frame_read(sv[0], &f, NULL), 1);
	assert_int_equal(f.type, GUEST_FRAME_STDERR);
	assert_int_equal(f.len, 0);
	assert_non_null(f.data);
	guest_frame_release(&f);
	assert_int_equal(guest_frame_read(sv[0], &f, NULL), 1);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.data, "a\0b", 3);
	guest_frame_release(&f);
	assert_int_equal(guest_frame_read(sv[0], &f, NULL), 0);
	close(sv[0]);
}

/* A frame of exactly the limit crosses a socket buffer many times over. */
static void test_write_read_largest_frame(void **state)
{
	char *big = xmalloc(GUEST_FRAME_MAX);
	struct guest_frame f;
	int sv[2], status;
	pid_t pid;
	(void)state;
	for (size_t i = 0; i < GUEST_FRAME_MAX; i++)
		big[i] = (char)(i * 7);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(guest_frame_write(sv[1], GUEST_FRAME_STDOUT, big, GUEST_FRAME_MAX, NULL) == 0 ? 0 : 1);
	}
	close(sv[1]);
	assert_int_equal(guest_frame_read(sv[0], &f, NULL), 1);
	assert_int_equal(f.len, GUEST_FRAME_MAX);
	assert_memory_equal(f.data, big, GUEST_FRAME_MAX);
	guest_frame_release(&f);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	close(sv[0]);
	free(big);
}

static void test_write_refuses_oversize(void **state)
{
	struct hull_err *err = NULL;
	int sv[2];
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_true(guest_frame_write(sv[1], GUEST_FRAME_STDOUT, "", (size_t)GUEST_FRAME_MAX + 1, &err) < 0);
	assert_int_equal(err->errnum, EMSGSIZE);
	hull_err_free(&err);
	close(sv[0]);
	close(sv[1]);
}

/* Writing to a closed peer is EPIPE, not a SIGPIPE that kills the writer. */
static void test_write_closed_peer_is_epipe(void **state)
{
	struct hull_err *err = NULL;
	int sv[2];
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[0]);
	assert_true(guest_frame_write(sv[1], GUEST_FRAME_STDOUT, "x", 1, &err) < 0);
	assert_int_equal(err->errnum, EPIPE);
	hull_err_free(&err);
	close(sv[1]);
}

static void test_decode_needs_whole_frame(void **state)
{
	uint8_t b[8 + 4 + 8];
	struct guest_frame f;
	(void)state;
	guest_frame_header_encode(b, GUEST_FRAME_STDIN, 4);
	memcpy(b + 8, "abcd", 4);
	guest_frame_header_encode(b + 12, GUEST_FRAME_STDIN, 0);
	for (size_t n = 0; n < 12; n++)
		assert_int_equal(guest_frame_decode(b, n, &f, NULL), 0);
	assert_int_equal(guest_frame_decode(b, sizeof(b), &f, NULL), 12);
	assert_int_equal(f.len, 4);
	assert_string_equal(f.data, "abcd");
	guest_frame_release(&f);
	assert_int_equal(guest_frame_decode(b + 12, 8, &f, NULL), 8);
	assert_int_equal(f.len, 0);
	guest_frame_release(&f);
	/* A bad header is an error as soon as its 8 bytes are there. */
	b[5] = 1;
	assert_true(guest_frame_decode(b, 8, &f, NULL) < 0);
}

/* ---- JSON ---------------------------------------------------------------- */

static struct guest_frame frame_of(enum guest_frame_type t, const char *s)
{
	return (struct guest_frame){ .type = t, .len = (uint32_t)strlen(s), .data = (char *)s };
}

static int parse_errno(enum guest_frame_type t, const char *s, size_t len)
{
	struct guest_frame f = { .type = t, .len = (uint32_t)len, .data = (char *)s };
	struct json_object *o = NULL;
	struct hull_err *err = NULL;
	int r = guest_json_parse(&f, GUEST_FRAME_REQUEST, &o, &err), e;

	if (r == 0) {
		assert_non_null(o);
		json_object_put(o);
		return 0;
	}
	assert_null(o);
	assert_non_null(err);
	e = err->errnum;
	hull_err_free(&err);
	return e;
}

static char *nested(int depth)
{
	char *s = xmalloc((size_t)depth * 6 + 16);
	char *p = s;
	p += sprintf(p, "{\"a\":");
	for (int i = 1; i < depth; i++)
		*p++ = '[';
	*p++ = '1';
	for (int i = 1; i < depth; i++)
		*p++ = ']';
	strcpy(p, "}");
	return s;
}

static void test_json_rejects_hostile(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"v\":1", "[]", "1", "\"s\"", "null", "{\"v\":1}x", "{\"v\":1}{}",
		"{'v':1}", "{\"v\":NaN}", "{\"v\":Infinity}",
		"{\"v\":99999999999999999999}", "{\"v\":\"\xff\xfe\"}", "{\"v\":1,}",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int e = parse_errno(GUEST_FRAME_REQUEST, bad[i], strlen(bad[i]));
		if (e != EPROTO)
			fail_msg("\"%s\": errno %d, expected EPROTO", bad[i], e);
	}
	/* A NUL inside the payload ends nothing: the rest is not JSON. */
	assert_int_equal(parse_errno(GUEST_FRAME_REQUEST, "{}\0{}", 5), EPROTO);
	/* The frame must be the type asked for. */
	struct guest_frame f = frame_of(GUEST_FRAME_RESPONSE, "{}");
	struct json_object *o = NULL;
	struct hull_err *err = NULL;
	assert_true(guest_json_parse(&f, GUEST_FRAME_REQUEST, &o, &err) < 0);
	assert_int_equal(err->errnum, EPROTO);
	hull_err_free(&err);
}

static void test_json_depth_limit(void **state)
{
	_cleanup_free_ char *ok = nested(31), *deep = nested(33), *deeper = nested(100000);
	(void)state;
	assert_int_equal(parse_errno(GUEST_FRAME_REQUEST, ok, strlen(ok)), 0);
	assert_int_equal(parse_errno(GUEST_FRAME_REQUEST, deep, strlen(deep)), EPROTO);
	assert_int_equal(parse_errno(GUEST_FRAME_REQUEST, deeper, strlen(deeper)), EPROTO);
}

static int check_request(const char *s, const char **op)
{
	struct guest_frame f = frame_of(GUEST_FRAME_REQUEST, s);
	struct json_object *o = NULL;
	struct hull_err *err = NULL;
	static char opbuf[64];
	int e = 0;

	assert_int_equal(guest_json_parse(&f, GUEST_FRAME_REQUEST, &o, NULL), 0);
	if (guest_request_check(o, op, &err) < 0) {
		e = err->errnum;
		hull_err_free(&err);
	} else {
		snprintf(opbuf, sizeof(opbuf), "%s", *op);
		*op = opbuf;
	}
	json_object_put(o);
	return e;
}

static void test_request_check(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"op\":\"start\"}", "{\"v\":\"1\",\"op\":\"start\"}", "{\"v\":2,\"op\":\"start\"}",
		"{\"v\":1.0,\"op\":\"start\"}", "{\"v\":1}", "{\"v\":1,\"op\":7}", "{\"v\":1,\"op\":null}",
		"{\"v\":1,\"op\":[\"start\"]}", "{\"v\":1,\"op\":\"st\\u0000art\"}",
		"{\"v\":4294967297,\"op\":\"start\"}", "{\"v\":true,\"op\":\"start\"}",
	};
	const char *op = NULL;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (check_request(bad[i], &op) != EPROTO)
			fail_msg("%s accepted", bad[i]);
	assert_int_equal(check_request("{\"v\":1,\"op\":\"start\",\"unknown\":{\"x\":[1]}}", &op), 0);
	assert_string_equal(op, "start");
}

static void test_request_new_round_trip(void **state)
{
	struct json_object *o = guest_request_new("kill"), *got = NULL;
	struct guest_frame f;
	const char *op;
	int sv[2], sig = 0;
	(void)state;
	json_object_object_add(o, "signal", json_object_new_int(9));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(guest_json_write(sv[1], GUEST_FRAME_REQUEST, o, NULL), 0);
	json_object_put(o);
	assert_int_equal(guest_frame_read(sv[0], &f, NULL), 1);
	assert_int_equal(guest_json_parse(&f, GUEST_FRAME_REQUEST, &got, NULL), 0);
	guest_frame_release(&f);
	assert_int_equal(guest_request_check(got, &op, NULL), 0);
	assert_string_equal(op, "kill");
	assert_int_equal(oci_json_get_int(got, "signal", "request", true, &sig, NULL), 1);
	assert_int_equal(sig, 9);
	json_object_put(got);
	close(sv[0]);
	close(sv[1]);
}

/* The check of a response text: its return value, the error's errno and message. */
static int check_response(const char *s, char *msg, size_t msglen)
{
	struct guest_frame f = frame_of(GUEST_FRAME_RESPONSE, s);
	struct json_object *o = NULL;
	struct hull_err *err = NULL;
	int r;

	assert_int_equal(guest_json_parse(&f, GUEST_FRAME_RESPONSE, &o, NULL), 0);
	r = guest_response_check(o, &err);
	json_object_put(o);
	if (r == 0) {
		assert_null(err);
		return 0;
	}
	assert_non_null(err);
	assert_int_equal(r, -err->errnum);
	snprintf(msg, msglen, "%s", err->msg);
	hull_err_free(&err);
	return r;
}

static void test_response_check(void **state)
{
	static const char *const proto[] = {
		"{}", "{\"ok\":\"true\"}", "{\"ok\":1}", "{\"ok\":null}",
		"{\"ok\":false,\"error\":7}", "{\"ok\":false,\"errno\":\"2\"}",
		"{\"ok\":false,\"error\":\"x\",\"errno\":-5}", "{\"ok\":false,\"error\":\"x\",\"errno\":4096}",
		"{\"ok\":false,\"error\":\"x\",\"errno\":99999999999}",
	};
	char msg[256];
	(void)state;
	assert_int_equal(check_response("{\"ok\":true,\"pid\":5}", msg, sizeof(msg)), 0);
	assert_int_equal(check_response("{\"ok\":false,\"error\":\"no such container\",\"errno\":2}", msg,
					sizeof(msg)), -ENOENT);
	assert_string_equal(msg, "agent: no such container");
	for (size_t i = 0; i < ARRAY_SIZE(proto); i++)
		if (check_response(proto[i], msg, sizeof(msg)) != -EPROTO)
			fail_msg("%s: not EPROTO", proto[i]);
}

static void test_response_error_is_one_line(void **state)
{
	struct json_object *o = guest_response_error(ENOENT, "a\nb\rc");
	_cleanup_free_ char *e = NULL;
	int n = 0;
	bool ok = true;
	(void)state;
	assert_int_equal(oci_json_get_bool(o, "ok", "r", true, &ok, NULL), 1);
	assert_false(ok);
	assert_int_equal(oci_json_get_str(o, "error", "r", true, &e, NULL), 1);
	assert_string_equal(e, "a b c");
	assert_int_equal(oci_json_get_int(o, "errno", "r", true, &n, NULL), 1);
	assert_int_equal(n, ENOENT);
	json_object_put(o);
	o = guest_response_ok();
	assert_int_equal(guest_response_check(o, NULL), 0);
	json_object_put(o);
}

static void test_typed_getters_fail_on_wrong_type(void **state)
{
	struct guest_frame f = frame_of(GUEST_FRAME_REQUEST,
		"{\"s\":\"x\",\"i\":3,\"b\":true,\"o\":{},\"a\":[],\"n\":null,\"big\":3000000000}");
	struct json_object *o = NULL, *sub = NULL;
	struct hull_err *err = NULL;
	char *s = NULL;
	bool b = false;
	int i = 0;
	int64_t l = 0;
	(void)state;
	assert_int_equal(guest_json_parse(&f, GUEST_FRAME_REQUEST, &o, NULL), 0);
	/* right types */
	assert_int_equal(oci_json_get_str(o, "s", "request", true, &s, NULL), 1);
	assert_string_equal(s, "x");
	assert_int_equal(oci_json_get_int(o, "i", "request", true, &i, NULL), 1);
	assert_int_equal(i, 3);
	assert_int_equal(oci_json_get_bool(o, "b", "request", true, &b, NULL), 1);
	assert_true(b);
	assert_int_equal(oci_json_get_object(o, "o", "request", true, &sub, NULL), 1);
	assert_int_equal(oci_json_get_array(o, "a", "request", true, &sub, NULL), 1);
	assert_int_equal(oci_json_get_i64(o, "big", "request", true, &l, NULL), 1);
	assert_int_equal(l, 3000000000LL);
	/* absent or null: 0 when optional, an error naming the field when required */
	assert_int_equal(oci_json_get_str(o, "missing", "request", false, &s, NULL), 0);
	assert_int_equal(oci_json_get_str(o, "n", "request", false, &s, NULL), 0);
	assert_string_equal(s, "x");
	assert_true(oci_json_get_str(o, "missing", "request", true, &s, &err) < 0);
	assert_string_equal(err->msg, "request.missing: required");
	hull_err_free(&err);
	/* wrong types */
	assert_true(oci_json_get_str(o, "i", "request", false, &s, &err) < 0);
	assert_non_null(strstr(err->msg, "request.i: expected string"));
	hull_err_free(&err);
	assert_true(oci_json_get_int(o, "s", "request", false, &i, NULL) < 0);
	assert_true(oci_json_get_int(o, "b", "request", false, &i, NULL) < 0);
	assert_true(oci_json_get_int(o, "big", "request", false, &i, NULL) < 0);
	assert_true(oci_json_get_bool(o, "i", "request", false, &b, NULL) < 0);
	assert_true(oci_json_get_object(o, "a", "request", false, &sub, NULL) < 0);
	assert_true(oci_json_get_array(o, "o", "request", false, &sub, NULL) < 0);
	assert_true(oci_json_get_i64(o, "s", "request", false, &l, NULL) < 0);
	free(s);
	json_object_put(o);
}

static int exit_of(const char *s, int *code)
{
	struct guest_frame f = frame_of(GUEST_FRAME_EXIT, s);
	struct hull_err *err = NULL;
	int r = guest_exit_parse(&f, code, &err), e = err ? err->errnum : 0;

	assert_true((r < 0) == (err != NULL));
	hull_err_free(&err);
	return e;
}

static void test_exit_frames(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"exit_code\":\"7\"}", "{\"exit_code\":-1}", "{\"exit_code\":256}",
		"{\"exit_code\":7.5}", "{\"exit_code\":null}", "7",
	};
	struct guest_frame f;
	int code = -1, sv[2];
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (exit_of(bad[i], &code) != EPROTO)
			fail_msg("%s accepted", bad[i]);
	assert_int_equal(code, -1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(guest_exit_write(sv[1], 137, NULL), 0);
	assert_int_equal(guest_frame_read(sv[0], &f, NULL), 1);
	assert_int_equal(guest_exit_parse(&f, &code, NULL), 0);
	assert_int_equal(code, 137);
	/* an EXIT is not a RESIZE, nor the other way round */
	uint16_t rows, cols;
	assert_true(guest_resize_parse(&f, &rows, &cols, NULL) < 0);
	guest_frame_release(&f);
	close(sv[0]);
	close(sv[1]);
}

static void test_resize_frames(void **state)
{
	struct guest_frame f;
	uint16_t rows = 0, cols = 0;
	int sv[2], code;
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(guest_resize_write(sv[1], 50, 0xfffe, NULL), 0);
	assert_int_equal(guest_frame_read(sv[0], &f, NULL), 1);
	assert_int_equal(guest_resize_parse(&f, &rows, &cols, NULL), 0);
	assert_int_equal(rows, 50);
	assert_int_equal(cols, 0xfffe);
	assert_true(guest_exit_parse(&f, &code, NULL) < 0);
	guest_frame_release(&f);
	for (uint32_t n = 0; n < 9; n++) {
		struct guest_frame g = { .type = GUEST_FRAME_RESIZE, .len = n, .data = "abcdefgh" };
		assert_int_equal(guest_resize_parse(&g, &rows, &cols, NULL) == 0, n == 4);
	}
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_round_trip_every_type),
		cmocka_unit_test(test_header_rejects_hostile),
		cmocka_unit_test(test_read_clean_eof_is_zero),
		cmocka_unit_test(test_read_short_header_is_error),
		cmocka_unit_test(test_read_eof_mid_payload_is_error),
		cmocka_unit_test(test_read_oversize_length_is_error),
		cmocka_unit_test(test_write_read_frames_in_sequence),
		cmocka_unit_test(test_write_read_largest_frame),
		cmocka_unit_test(test_write_refuses_oversize),
		cmocka_unit_test(test_write_closed_peer_is_epipe),
		cmocka_unit_test(test_decode_needs_whole_frame),
		cmocka_unit_test(test_json_rejects_hostile),
		cmocka_unit_test(test_json_depth_limit),
		cmocka_unit_test(test_request_check),
		cmocka_unit_test(test_request_new_round_trip),
		cmocka_unit_test(test_response_check),
		cmocka_unit_test(test_response_error_is_one_line),
		cmocka_unit_test(test_typed_getters_fail_on_wrong_type),
		cmocka_unit_test(test_exit_frames),
		cmocka_unit_test(test_resize_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
