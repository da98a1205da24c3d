/* SPDX-License-Identifier: Apache-2.0 */
/* The agent protocol codec: frames and their JSON (guest/guest.h). */
#include "guest/guest.h"
#include "oci/oci.h"

#include <json-c/json.h>
#include <sys/socket.h>
#include <sys/uio.h>

static const char *const type_names[] = {
	[GUEST_FRAME_REQUEST] = "REQUEST", [GUEST_FRAME_RESPONSE] = "RESPONSE",
	[GUEST_FRAME_STDIN] = "STDIN", [GUEST_FRAME_STDOUT] = "STDOUT",
	[GUEST_FRAME_STDERR] = "STDERR", [GUEST_FRAME_EXIT] = "EXIT",
	[GUEST_FRAME_RESIZE] = "RESIZE",
};

static const char *type_name(enum guest_frame_type t)
{
	return (size_t)t < ARRAY_SIZE(type_names) && type_names[t] ? type_names[t] : "?";
}

void guest_frame_header_encode(uint8_t hdr[GUEST_FRAME_HEADER], enum guest_frame_type type,
			       uint32_t len)
{
	hdr[0] = (uint8_t)len;
	hdr[1] = (uint8_t)(len >> 8);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)(len >> 24);
	hdr[4] = (uint8_t)type;
	hdr[5] = hdr[6] = hdr[7] = 0;
}

int guest_frame_header_decode(const uint8_t hdr[GUEST_FRAME_HEADER], enum guest_frame_type *type,
			      uint32_t *len, struct hull_err **err)
{
	uint32_t n = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
		     (uint32_t)hdr[3] << 24;

	if (hdr[4] < GUEST_FRAME_REQUEST || hdr[4] > GUEST_FRAME_RESIZE)
		return hull_err_make(err, EPROTO, "agent frame: unknown type %u", hdr[4]);
	if (hdr[5] || hdr[6] || hdr[7])
		return hull_err_make(err, EPROTO, "agent frame: reserved header bytes not zero");
	if (n > GUEST_FRAME_MAX)
		return hull_err_make(err, EMSGSIZE, "agent frame: length %u over the limit of %u",
				     n, GUEST_FRAME_MAX);
	*type = hdr[4];
	*len = n;
	return 0;
}

/* sendmsg with MSG_NOSIGNAL on a socket (a closed peer is EPIPE, not a
 * signal that kills the agent or the supervisor); writev on anything else. */
static ssize_t put(int fd, struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);

	if (r < 0 && errno == ENOTSOCK)
		r = writev(fd, iov, n);
	return r;
}

int guest_frame_write(int fd, enum guest_frame_type type, const void *data, size_t len,
		      struct hull_err **err)
{
	uint8_t hdr[GUEST_FRAME_HEADER];
	struct iovec iov[2];
	int i = 0;

	if (len > GUEST_FRAME_MAX)
		return hull_err_make(err, EMSGSIZE, "agent frame %s: %zu bytes over the limit of %u",
				     type_name(type), len, GUEST_FRAME_MAX);
	guest_frame_header_encode(hdr, type, (uint32_t)len);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ (void *)data, len };
	while (i < 2) {
		ssize_t r = put(fd, iov + i, 2 - i);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return hull_err_make(err, errno, "write agent frame %s", type_name(type));
		}
		for (; i < 2 && (size_t)r >= iov[i].iov_len; i++)
			r -= (ssize_t)iov[i].iov_len;
		if (i < 2) {
			iov[i].iov_base = (char *)iov[i].iov_base + r;
			iov[i].iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Read exactly len bytes: the count read, short only at EOF. */
static ssize_t read_exact(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int guest_frame_read(int fd, struct guest_frame *f, struct hull_err **err)
{
	uint8_t hdr[GUEST_FRAME_HEADER];
	enum guest_frame_type type;
	uint32_t len;
	ssize_t r;
	char *data;

	r = read_exact(fd, hdr, sizeof(hdr));
	if (r < 0)
		return hull_err_make(err, errno, "read agent frame");
	if (r == 0)
		return 0;
	if ((size_t)r < sizeof(hdr))
		return hull_err_make(err, EPROTO, "agent frame: stream ends inside a header (%zd of %zu bytes)",
				     r, sizeof(hdr));
	if (guest_frame_header_decode(hdr, &type, &len, err) < 0)
		return -1;
	data = xmalloc((size_t)len + 1);
	r = read_exact(fd, data, len);
	if (r < 0 || (size_t)r < len) {
		int e = r < 0 ? errno : EPROTO;
		free(data);
		if (e != EPROTO)
			return hull_err_make(err, e, "read agent frame %s", type_name(type));
		return hull_err_make(err, EPROTO, "agent frame %s: stream ends inside the payload (%zd of %u bytes)",
				     type_name(type), r, len);
	}
	data[len] = '\0';
	*f = (struct guest_frame){ .type = type, .len = len, .data = data };
	return 1;
}

ssize_t guest_frame_decode(const void *buf, size_t len, struct guest_frame *f, struct hull_err **err)
{
	enum guest_frame_type type;
	uint32_t n;
	char *data;

	if (len < GUEST_FRAME_HEADER)
		return 0;
	if (guest_frame_header_decode(buf, &type, &n, err) < 0)
		return -1;
	if (len - GUEST_FRAME_HEADER < n)
		return 0;
	data = xmalloc((size_t)n + 1);
	memcpy(data, (const char *)buf + GUEST_FRAME_HEADER, n);
	data[n] = '\0';
	*f = (struct guest_frame){ .type = type, .len = n, .data = data };
	return (ssize_t)(GUEST_FRAME_HEADER + n);
}

void guest_frame_release(struct guest_frame *f)
{
	free(f->data);
	f->data = NULL;
	f->len = 0;
}

/* ---- JSON ---------------------------------------------------------------- */

/* A malformed message from the peer is a protocol error whatever the parser's
 * own errno (a validation error has none). */
static int proto_err(struct hull_err **err)
{
	if (err && *err)
		(*err)->errnum = EPROTO;
	return -EPROTO;
}

int guest_json_parse(const struct guest_frame *f, enum guest_frame_type want,
		     struct json_object **out, struct hull_err **err)
{
	struct json_object *o = NULL;
	char what[32];

	if (f->type != want)
		return hull_err_make(err, EPROTO, "agent frame: expected %s, got %s", type_name(want),
				     type_name(f->type));
	snprintf(what, sizeof(what), "agent %s", type_name(want));
	if (oci_json_parse(f->data, f->len, what, &o, err) < 0)
		return proto_err(err);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return hull_err_make(err, EPROTO, "%s: not a JSON object", what);
	}
	*out = o;
	return 0;
}

int guest_json_write(int fd, enum guest_frame_type type, struct json_object *o,
		     struct hull_err **err)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	return guest_frame_write(fd, type, s, len, err);
}

struct json_object *guest_request_new(const char *op)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "v", json_object_new_int(GUEST_PROTO_VERSION));
	json_object_object_add(o, "op", json_object_new_string(op));
	return o;
}

int guest_request_check(struct json_object *req, const char **op, struct hull_err **err)
{
	struct json_object *v = NULL, *o = NULL;

	if (!json_object_object_get_ex(req, "v", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != GUEST_PROTO_VERSION)
		return hull_err_make(err, EPROTO, "request.v: this agent speaks version %d only",
				     GUEST_PROTO_VERSION);
	if (!json_object_object_get_ex(req, "op", &o) || !json_object_is_type(o, json_type_string) ||
	    strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o))
		return hull_err_make(err, EPROTO, "request.op: expected a string");
	*op = json_object_get_string(o);
	return 0;
}

struct json_object *guest_response_ok(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

struct json_object *guest_response_error(int errnum, const char *msg)
{
	struct json_object *o = json_object_new_object();
	_cleanup_free_ char *line = xstrdup(msg ? msg : "error");

	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(line));
	json_object_object_add(o, "errno", json_object_new_int(errnum));
	return o;
}

int guest_response_check(struct json_object *resp, struct hull_err **err)
{
	_cleanup_free_ char *msg = NULL;
	bool ok = false;
	int e = 0;

	if (oci_json_get_bool(resp, "ok", "response", true, &ok, err) < 0)
		return proto_err(err);
	if (ok)
		return 0;
	if (oci_json_get_str(resp, "error", "response", false, &msg, err) < 0 ||
	    oci_json_get_int(resp, "errno", "response", false, &e, err) < 0)
		return proto_err(err);
	if (e <= 0 || e > 4095)
		e = EPROTO;
	/* The agent's message already says what failed (often ending in the
	 * strerror text): the errno goes beside it, not appended again. */
	hull_err_make(err, 0, "agent: %s", msg && msg[0] ? msg : "request failed");
	if (err && *err)
		(*err)->errnum = e;
	return -e;
}

int guest_exit_write(int fd, int exit_code, struct hull_err **err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "{\"exit_code\":%d}", exit_code);

	return guest_frame_write(fd, GUEST_FRAME_EXIT, buf, (size_t)n, err);
}

int guest_exit_parse(const struct guest_frame *f, int *exit_code, struct hull_err **err)
{
	struct json_object *o = NULL;
	int code = 0, r;

	if (guest_json_parse(f, GUEST_FRAME_EXIT, &o, err) < 0)
		return -EPROTO;
	r = oci_json_get_int(o, "exit_code", "exit", true, &code, err);
	json_object_put(o);
	if (r < 0)
		return proto_err(err);
	if (code < 0 || code > 255)
		return hull_err_make(err, EPROTO, "exit.exit_code: %d is not in [0, 255]", code);
	*exit_code = code;
	return 0;
}

int guest_resize_write(int fd, uint16_t rows, uint16_t cols, struct hull_err **err)
{
	uint8_t b[4] = { (uint8_t)rows, (uint8_t)(rows >> 8), (uint8_t)cols, (uint8_t)(cols >> 8) };

	return guest_frame_write(fd, GUEST_FRAME_RESIZE, b, sizeof(b), err);
}

int guest_resize_parse(const struct guest_frame *f, uint16_t *rows, uint16_t *cols,
		       struct hull_err **err)
{
	const uint8_t *b = (const uint8_t *)f->data;

	if (f->type != GUEST_FRAME_RESIZE)
		return hull_err_make(err, EPROTO, "agent frame: expected RESIZE, got %s", type_name(f->type));
	if (f->len != 4)
		return hull_err_make(err, EPROTO, "agent frame RESIZE: %u bytes, expected 4", f->len);
	*rows = (uint16_t)(b[0] | b[1] << 8);
	*cols = (uint16_t)(b[2] | b[3] << 8);
	return 0;
}
