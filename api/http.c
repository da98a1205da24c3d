/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One connection's requests, parsed by Debian's libhttp_parser (2.9): it is
 * a push parser, so a slow or partial client costs only its bounded buffers
 * (url, headers, body) and never a blocked thread.  The parser is paused at
 * the end of each message, so pipelined requests are answered one by one.
 */
#include "api/internal.h"

#include <limits.h>

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (len > API_MAX_URL - c->url_len) {
		c->bad = "request URL too long";
		return -1;
	}
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	c->url[c->url_len] = '\0';
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	c->headers_done = true;
	if (p->upgrade) {
		c->bad = "protocol upgrade not supported";
		return -1;
	}
	/* ULLONG_MAX: no Content-Length (chunked, or no body) */
	if (p->content_length != ULLONG_MAX && p->content_length > API_MAX_BODY) {
		c->bad = "request body too large";
		return -1;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (len > API_MAX_BODY - c->body_len) {
		c->bad = "request body too large";
		return -1;
	}
	c->body = xrealloc(c->body, c->body_len + len + 1);
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	c->body[c->body_len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	c->complete = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void http_conn_init(struct http_conn *c)
{
	memset(c, 0, sizeof(*c));
	/* A process-wide limit; api/ is libhttp_parser's only user. */
	http_parser_set_max_header_size(API_MAX_HEADER_BYTES);
	http_parser_init(&c->p, HTTP_REQUEST);
	c->p.data = c;
}

void http_conn_reset(struct http_conn *c)
{
	free(c->body);
	http_conn_init(c);
}

void http_conn_free(struct http_conn *c)
{
	free(c->body);
	c->body = NULL;
}

enum http_feed http_conn_feed(struct http_conn *c, const char *data, size_t len, size_t *used)
{
	size_t n;
	enum http_errno e;

	*used = 0;
	if (c->bad)
		return HTTP_BAD;
	n = http_parser_execute(&c->p, &settings, data, len);
	e = HTTP_PARSER_ERRNO(&c->p);
	*used = n;
	if (c->complete) {
		http_parser_pause(&c->p, 0);
		if (!c->body) {
			c->body = xstrdup("");
		}
		return HTTP_READY;
	}
	if (e != HPE_OK) {
		if (!c->bad)
			c->bad = e == HPE_HEADER_OVERFLOW ? "request headers too large" : http_errno_description(e);
		return HTTP_BAD;
	}
	return HTTP_MORE;
}

bool http_conn_keep_alive(const struct http_conn *c)
{
	return http_should_keep_alive(&c->p) != 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 500: return "Internal Server Error";
	default: return "Unknown";
	}
}

char *http_response(int status, const char *body, bool keep_alive, size_t *len)
{
	char *out = NULL;
	int n;

	if (body)
		n = asprintf(&out, "HTTP/1.1 %d %s\r\nServer: hull\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n%s\r\n%s", status, reason(status), strlen(body),
			     keep_alive ? "" : "Connection: close\r\n", body);
	else
		n = asprintf(&out, "HTTP/1.1 %d %s\r\nServer: hull\r\n%s\r\n", status, reason(status),
			     keep_alive ? "" : "Connection: close\r\n");
	if (n < 0)
		abort();  /* OOM, as xmalloc */
	*len = (size_t)n;
	return out;
}
