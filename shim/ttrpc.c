// SPDX-License-Identifier: Apache-2.0
/*
 * shim/ttrpc.c: ttrpc (containerd/ttrpc v1.1) framing, server dispatch and a
 * small client, over a connected Unix stream socket.
 *
 * Server model: one reader (the caller's thread) reads frames; every request
 * runs on its own detached thread, because containerd multiplexes one
 * connection and keeps a Wait in flight while it sends Kill.  Writes take the
 * connection's lock so frames never interleave.  A frame we cannot parse
 * ends this connection only: after a bad header the byte stream has no
 * reliable boundary left to resynchronise on.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>

#include "shim/shim.h"
#include "shim/ttrpc.pb-c.h"

/* Handlers in flight per connection: a peer that opens more waits for
 * nothing, it gets RESOURCE_EXHAUSTED (bounds the threads one client makes). */
#define MAX_INFLIGHT 64

struct conn {
	int fd;
	const struct ttrpc_service *svcs;
	size_t n_svcs;
	void *opaque;
	pthread_mutex_t lock; /* writes on fd, inflight */
	pthread_cond_t idle;
	int inflight;
};

struct job {
	struct conn *c;
	uint32_t stream;
	ttrpc_handler fn;
	uint8_t *payload;
	size_t len;
};

void ttrpc_header_put(uint8_t h[TTRPC_HEADER_LEN], uint32_t len, uint32_t stream, uint8_t type,
		      uint8_t flags)
{
	uint32_t be = htonl(len);

	memcpy(h, &be, 4);
	be = htonl(stream);
	memcpy(h + 4, &be, 4);
	h[8] = type;
	h[9] = flags;
}

/* send(MSG_NOSIGNAL): a peer gone mid-answer is EPIPE, not a dead shim. */
static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 1 whole buffer, 0 EOF before any byte, -1 error or EOF inside it. */
static int recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = got ? EPROTO : 0;
			return got ? -1 : 0;
		}
		got += (size_t)n;
	}
	return 1;
}

static int send_frame(int fd, uint32_t stream, uint8_t type, const uint8_t *buf, size_t len)
{
	uint8_t h[TTRPC_HEADER_LEN];

	if (len > TTRPC_MAX_MSG) {
		errno = EMSGSIZE;
		return -1;
	}
	ttrpc_header_put(h, (uint32_t)len, stream, type, 0);
	if (send_all(fd, h, sizeof(h)) < 0)
		return -1;
	return len ? send_all(fd, buf, len) : 0;
}

static void send_response(struct conn *c, uint32_t stream, struct ttrpc_reply *r)
{
	Hull__Ttrpc__Response resp = HULL__TTRPC__RESPONSE__INIT;
	Hull__Ttrpc__Status st = HULL__TTRPC__STATUS__INIT;
	uint8_t *buf;
	size_t n;

	st.code = r->code;
	st.message = r->code ? r->msg : (char *)"";
	resp.status = &st;
	if (r->code == TTRPC_OK && r->len) {
		resp.payload.data = r->payload;
		resp.payload.len = r->len;
	}
	n = hull__ttrpc__response__get_packed_size(&resp);
	buf = xmalloc(n ? n : 1);
	hull__ttrpc__response__pack(&resp, buf);
	if (n > TTRPC_MAX_MSG) {
		/* ttrpc refuses to send it too; say why instead of nothing. */
		free(buf);
		resp.payload.len = 0;
		st.code = TTRPC_RESOURCE_EXHAUSTED;
		st.message = (char *)"response over 4 MiB";
		n = hull__ttrpc__response__get_packed_size(&resp);
		buf = xmalloc(n);
		hull__ttrpc__response__pack(&resp, buf);
	}
	pthread_mutex_lock(&c->lock);
	/* A failed send means the peer left: the reader sees it too. */
	(void)send_frame(c->fd, stream, TTRPC_RESPONSE, buf, n);
	pthread_mutex_unlock(&c->lock);
	free(buf);
}

static void reply_error(struct conn *c, uint32_t stream, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_error(struct conn *c, uint32_t stream, int code, const char *fmt, ...)
{
	struct ttrpc_reply r = { .code = code };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	send_response(c, stream, &r);
}

static void job_done(struct conn *c)
{
	pthread_mutex_lock(&c->lock);
	if (--c->inflight == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct ttrpc_reply r = { .code = TTRPC_OK };

	j->fn(j->c->opaque, j->payload, j->len, &r);
	send_response(j->c, j->stream, &r);
	free(r.payload);
	if (r.after_send)
		r.after_send(j->c->opaque);
	job_done(j->c);
	free(j->payload);
	free(j);
	return NULL;
}

static ttrpc_handler lookup(const struct conn *c, const char *service, const char *method)
{
	for (size_t i = 0; i < c->n_svcs; i++) {
		if (strcmp(c->svcs[i].name, service) != 0)
			continue;
		for (size_t m = 0; m < c->svcs[i].n_methods; m++)
			if (strcmp(c->svcs[i].methods[m].name, method) == 0)
				return c->svcs[i].methods[m].fn;
	}
	return NULL;
}

/* One well-framed request: decode, find the method, hand it to a thread. */
static void dispatch(struct conn *c, uint32_t stream, const uint8_t *p, size_t len)
{
	Hull__Ttrpc__Request *req = hull__ttrpc__request__unpack(NULL, len, p);
	pthread_attr_t attr;
	pthread_t t;
	struct job *j;
	ttrpc_handler fn;

	if (!req) {
		reply_error(c, stream, TTRPC_INVALID_ARGUMENT, "ttrpc: request does not decode");
		return;
	}
	fn = lookup(c, req->service, req->method);
	if (!fn) {
		reply_error(c, stream, TTRPC_UNIMPLEMENTED, "%.100s/%.100s not implemented",
			    req->service, req->method);
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	if (c->inflight >= MAX_INFLIGHT) {
		pthread_mutex_unlock(&c->lock);
		reply_error(c, stream, TTRPC_RESOURCE_EXHAUSTED, "ttrpc: too many requests in flight");
		goto out;
	}
	c->inflight++;
	pthread_mutex_unlock(&c->lock);
	j = xcalloc(1, sizeof(*j));
	j->c = c;
	j->stream = stream;
	j->fn = fn;
	j->len = req->payload.len;
	j->payload = xmalloc(j->len ? j->len : 1);
	if (j->len)
		memcpy(j->payload, req->payload.data, j->len);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, job_run, j) != 0) {
		free(j->payload);
		free(j);
		job_done(c);
		reply_error(c, stream, TTRPC_RESOURCE_EXHAUSTED, "ttrpc: no thread for the request");
	}
	pthread_attr_destroy(&attr);
out:
	hull__ttrpc__request__free_unpacked(req, NULL);
}

static int read_frame_header(int fd, uint32_t *len, uint32_t *stream, uint8_t *type,
			     struct hull_err **err)
{
	uint8_t h[TTRPC_HEADER_LEN];
	uint32_t be;
	int r = recv_all(fd, h, sizeof(h));

	if (r == 0)
		return 0;
	if (r < 0)
		return hull_err_make(err, errno, "ttrpc: read header");
	memcpy(&be, h, 4);
	*len = ntohl(be);
	memcpy(&be, h + 4, 4);
	*stream = ntohl(be);
	*type = h[8];
	if (*len > TTRPC_MAX_MSG)
		return hull_err_make(err, EMSGSIZE, "ttrpc: message of %u bytes over the 4 MiB limit",
				     *len);
	return 1;
}

int ttrpc_serve_conn(int fd, const struct ttrpc_service *svcs, size_t n_svcs, void *opaque,
		     struct hull_err **err)
{
	struct conn c = { .fd = fd, .svcs = svcs, .n_svcs = n_svcs, .opaque = opaque };
	uint8_t *buf = NULL;
	int ret;

	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.idle, NULL);
	for (;;) {
		uint32_t len, stream;
		uint8_t type;

		ret = read_frame_header(fd, &len, &stream, &type, err);
		if (ret <= 0)
			break;
		buf = xrealloc(buf, len ? len : 1);
		if (len && recv_all(fd, buf, len) != 1) {
			ret = hull_err_make(err, errno ? errno : EPROTO, "ttrpc: read %u-byte message", len);
			break;
		}
		if (type != TTRPC_REQUEST) {
			/* ttrpc v1.1 has no client data frames, and a server never
			 * receives responses: the peer speaks something else. */
			ret = hull_err_make(err, EPROTO, "ttrpc: unexpected message type %u", type);
			break;
		}
		if (stream == 0 || stream % 2 == 0) {
			ret = hull_err_make(err, EPROTO, "ttrpc: client stream id %u is not odd", stream);
			break;
		}
		dispatch(&c, stream, buf, len);
	}
	free(buf);
	/* Handlers still running answer into a socket nobody reads; make their
	 * sends fail at once, and keep fd open until the last one is done so it
	 * is never a reused number. */
	shutdown(fd, SHUT_RDWR);
	pthread_mutex_lock(&c.lock);
	while (c.inflight > 0)
		pthread_cond_wait(&c.idle, &c.lock);
	pthread_mutex_unlock(&c.lock);
	pthread_cond_destroy(&c.idle);
	pthread_mutex_destroy(&c.lock);
	return ret < 0 ? ret : 0;
}

int ttrpc_call(int fd, uint32_t *stream, const char *service, const char *method,
	       const void *in, size_t len, struct ttrpc_reply *out, struct hull_err **err)
{
	Hull__Ttrpc__Request req = HULL__TTRPC__REQUEST__INIT;
	uint32_t id = *stream;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	req.service = (char *)service;
	req.method = (char *)method;
	req.payload.data = (uint8_t *)in;
	req.payload.len = len;
	n = hull__ttrpc__request__get_packed_size(&req);
	buf = xmalloc(n ? n : 1);
	hull__ttrpc__request__pack(&req, buf);
	*stream += 2;
	if (send_frame(fd, id, TTRPC_REQUEST, buf, n) < 0)
		return hull_err_make(err, errno, "ttrpc: send %s/%s", service, method);
	for (;;) {
		uint32_t rlen, rstream;
		uint8_t type;
		Hull__Ttrpc__Response *resp;
		int r = read_frame_header(fd, &rlen, &rstream, &type, err);

		if (r == 0)
			return hull_err_make(err, ECONNRESET, "ttrpc: %s/%s: connection closed", service,
					     method);
		if (r < 0)
			return r;
		free(buf);
		buf = xmalloc(rlen ? rlen : 1);
		if (rlen && recv_all(fd, buf, rlen) != 1)
			return hull_err_make(err, errno ? errno : EPROTO, "ttrpc: read response");
		if (type != TTRPC_RESPONSE || rstream != id)
			continue;
		resp = hull__ttrpc__response__unpack(NULL, rlen, buf);
		if (!resp)
			return hull_err_make(err, EPROTO, "ttrpc: %s/%s: response does not decode",
					     service, method);
		if (resp->status) {
			out->code = resp->status->code;
			snprintf(out->msg, sizeof(out->msg), "%s",
				 resp->status->message ? resp->status->message : "");
		}
		if (resp->payload.len) {
			out->payload = xmalloc(resp->payload.len);
			memcpy(out->payload, resp->payload.data, resp->payload.len);
			out->len = resp->payload.len;
		}
		hull__ttrpc__response__free_unpacked(resp, NULL);
		return 0;
	}
}
