/* SPDX-License-Identifier: Apache-2.0 */
/* api/: the HTTP layer (libhttp_parser, bounded buffers) and the routes with a
 * fake backend, without KVM: malformed, oversized, partial and pipelined
 * requests, unknown routes and methods, Firecracker's status codes and
 * fault_message, the state rules and --config-file's round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/internal.h"

#include <json.h>

/* ---- http ------------------------------------------------------------------- */

static enum http_feed feed_all(struct http_conn *c, const char *s, size_t *used)
{
	return http_conn_feed(c, s, strlen(s), used);
}

static void test_http_whole_request(void **state)
{
	const char *req = "PUT /drives/root HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
	struct http_conn c;
	size_t used;

	http_conn_init(&c);
	assert_int_equal(feed_all(&c, req, &used), HTTP_READY);
	assert_int_equal(used, strlen(req));
	assert_int_equal(c.p.method, HTTP_PUT);
	assert_string_equal(c.url, "/drives/root");
	assert_string_equal(c.body, "{\"a\":1}");
	assert_true(http_conn_keep_alive(&c));
	http_conn_free(&c);
}

/* a client that sends one byte at a time is served when its last byte arrives */
static void test_http_byte_at_a_time(void **state)
{
	const char *req = "PATCH /vm HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"state\": \"Paused\"}\n";
	struct http_conn c;
	size_t used, n = strlen(req);

	http_conn_init(&c);
	for (size_t i = 0; i < n - 1; i++) {
		assert_int_equal(http_conn_feed(&c, req + i, 1, &used), HTTP_MORE);
		assert_int_equal(used, 1);
	}
	assert_int_equal(http_conn_feed(&c, req + n - 1, 1, &used), HTTP_READY);
	assert_int_equal(c.p.method, HTTP_PATCH);
	assert_string_equal(c.body, "{\"state\": \"Paused\"}\n");
	http_conn_free(&c);
}

static void test_http_pipelined_requests_one_at_a_time(void **state)
{
	const char *reqs = "GET / HTTP/1.1\r\n\r\nGET /machine-config HTTP/1.1\r\n\r\n";
	struct http_conn c;
	size_t used, used2;

	http_conn_init(&c);
	assert_int_equal(feed_all(&c, reqs, &used), HTTP_READY);
	assert_string_equal(c.url, "/");
	assert_true(used < strlen(reqs));
	http_conn_reset(&c);
	assert_int_equal(feed_all(&c, reqs + used, &used2), HTTP_READY);
	assert_string_equal(c.url, "/machine-config");
	assert_int_equal(used + used2, strlen(reqs));
	http_conn_free(&c);
}

static void test_http_malformed_is_bad(void **state)
{
	static const char *bad[] = {
		"GARBAGE\r\n\r\n",
		"GET / HTTP/9.9.9\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
		"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct http_conn c;
		size_t used;

		http_conn_init(&c);
		assert_int_equal(feed_all(&c, bad[i], &used), HTTP_BAD);
		assert_non_null(c.bad);
		/* once bad, always bad: nothing more is parsed */
		assert_int_equal(feed_all(&c, "GET / HTTP/1.1\r\n\r\n", &used), HTTP_BAD);
		http_conn_free(&c);
	}
}

static void test_http_oversized_headers_refused(void **state)
{
	struct http_conn c;
	char *req = xmalloc(API_MAX_HEADER_BYTES + 100);
	size_t used;

	strcpy(req, "GET / HTTP/1.1\r\nX-Big: ");
	memset(req + strlen(req), 'a', API_MAX_HEADER_BYTES);
	req[API_MAX_HEADER_BYTES + 20] = '\0';
	http_conn_init(&c);
	assert_int_equal(feed_all(&c, req, &used), HTTP_BAD);
	assert_string_equal(c.bad, "request headers too large");
	http_conn_free(&c);
	free(req);
}

/* refused at the headers: the body is never buffered */
static void test_http_oversized_body_refused_early(void **state)
{
	struct http_conn c;
	size_t used;

	http_conn_init(&c);
	assert_int_equal(feed_all(&c, "PUT /logger HTTP/1.1\r\nContent-Length: 51201\r\n\r\n", &used), HTTP_BAD);
	assert_string_equal(c.bad, "request body too large");
	assert_null(c.body);
	http_conn_free(&c);
}

static void test_http_oversized_chunked_body_refused(void **state)
{
	struct http_conn c;
	char chunk[64];
	size_t used;
	enum http_feed f = HTTP_MORE;

	http_conn_init(&c);
	assert_int_equal(feed_all(&c, "PUT /logger HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &used), HTTP_MORE);
	for (int i = 0; i < 100 && f == HTTP_MORE; i++) {
		char data[1025];
		memset(data, 'x', 1024);
		data[1024] = '\0';
		snprintf(chunk, sizeof(chunk), "400\r\n");
		f = feed_all(&c, chunk, &used);
		if (f == HTTP_MORE)
			f = feed_all(&c, data, &used);
		if (f == HTTP_MORE)
			f = feed_all(&c, "\r\n", &used);
	}
	assert_int_equal(f, HTTP_BAD);
	assert_true(c.body_len <= API_MAX_BODY);
	http_conn_free(&c);
}

static void test_http_long_url_refused(void **state)
{
	struct http_conn c;
	char req[API_MAX_URL + 64];
	size_t used;

	strcpy(req, "GET /");
	memset(req + 5, 'u', API_MAX_URL);
	strcpy(req + 5 + API_MAX_URL, " HTTP/1.1\r\n\r\n");
	http_conn_init(&c);
	assert_int_equal(feed_all(&c, req, &used), HTTP_BAD);
	assert_string_equal(c.bad, "request URL too long");
	http_conn_free(&c);
}

static void test_http_connection_close(void **state)
{
	struct http_conn c;
	size_t used;

	http_conn_init(&c);
	assert_int_equal(feed_all(&c, "GET / HTTP/1.0\r\n\r\n", &used), HTTP_READY);
	assert_false(http_conn_keep_alive(&c));
	http_conn_reset(&c);
	assert_int_equal(feed_all(&c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &used), HTTP_READY);
	assert_false(http_conn_keep_alive(&c));
	http_conn_free(&c);
}

static void test_http_response_format(void **state)
{
	size_t len;
	char *r = http_response(204, NULL, true, &len);

	assert_string_equal(r, "HTTP/1.1 204 No Content\r\nServer: hull\r\n\r\n");
	free(r);
	r = http_response(400, "{}", false, &len);
	assert_string_equal(r, "HTTP/1.1 400 Bad Request\r\nServer: hull\r\nContent-Type: application/json\r\n"
			       "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
	assert_int_equal(len, strlen(r));
	free(r);
}

/* ---- routes, with a fake backend ----------------------------------------------- */

struct fake {
	int starts, pauses, resumes, ctrl_alt_del, set_disk_idx;
	char *set_disk_path;
	int set_limiter_calls, limiter_idx;
	bool limiter_net, limiter_rx, limiter_tx;
	struct vm_rate_limiter limiter, limiter_tx_rl;
	bool vhost;                 /* refuse any limit on an interface, as vhost-net */
	struct vm_config started;
	bool fail_start;
};

static int fake_start(void *o, struct vm_config *cfg, struct hull_err **err)
{
	struct fake *f = o;
	if (f->fail_start)
		return hull_err_make(err, 0, "no KVM here");
	f->starts++;
	f->started = *cfg;
	return 0;
}

static int fake_pause(void *o, bool pause, struct hull_err **err)
{
	struct fake *f = o;
	if (pause)
		f->pauses++;
	else
		f->resumes++;
	return 0;
}

static int fake_set_disk(void *o, unsigned int idx, const char *path, struct hull_err **err)
{
	struct fake *f = o;
	f->set_disk_idx = (int)idx;
	free(f->set_disk_path);
	f->set_disk_path = xstrdup(path);
	return 0;
}

static int fake_cad(void *o, struct hull_err **err)
{
	((struct fake *)o)->ctrl_alt_del++;
	return 0;
}

static void fake_stats(void *o, struct microvm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->exits_io = 42;
}

static int fake_set_limiter(void *o, bool net, unsigned int idx, const struct vm_rate_limiter *rl,
			    const struct vm_rate_limiter *tx, struct hull_err **err)
{
	struct fake *f = o;
	f->set_limiter_calls++;
	if (net && f->vhost && ((rl && vm_rate_limiter_set(rl)) || (tx && vm_rate_limiter_set(tx))))
		return hull_err_make(err, 0, "vhost-net serves this interface's queues");
	f->limiter_net = net;
	f->limiter_idx = (int)idx;
	f->limiter_rx = rl != NULL;
	f->limiter_tx = tx != NULL;
	if (rl)
		f->limiter = *rl;
	if (tx)
		f->limiter_tx_rl = *tx;
	return 0;
}

static const struct api_backend fake_be = { fake_start, fake_pause, fake_set_disk, fake_set_limiter, fake_cad,
					    fake_stats };

struct ctx {
	struct api_vm vm;
	struct fake f;
	char dir[64], kernel[96], disk[96], disk2[96];
};

static int ctx_setup(void **state)
{
	struct ctx *c = xcalloc(1, sizeof(*c));

	strcpy(c->dir, "/tmp/hull-test-api-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->kernel, sizeof(c->kernel), "%s/kernel", c->dir);
	snprintf(c->disk, sizeof(c->disk), "%s/disk", c->dir);
	snprintf(c->disk2, sizeof(c->disk2), "%s/disk2", c->dir);
	for (const char *p = c->kernel; p; p = p == c->kernel ? c->disk : p == c->disk ? c->disk2 : NULL) {
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	c->f.set_disk_idx = -1;
	api_vm_init(&c->vm, "t", &fake_be, &c->f);
	*state = c;
	return 0;
}

static int ctx_teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[128];

	api_vm_free(&c->vm);
	free(c->f.set_disk_path);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
	assert_int_equal(system(cmd), 0);
	free(c);
	return 0;
}

/* One request; returns the status, *body (malloc'd) the response body. */
static int req(struct ctx *c, int method, const char *url, const char *body, char **out)
{
	struct api_resp r;

	api_route(&c->vm, method, url, body ? body : "", body ? strlen(body) : 0, &r);
	if (out)
		*out = r.body;
	else
		free(r.body);
	return r.status;
}

static void assert_fault(struct ctx *c, int method, const char *url, const char *body, const char *want)
{
	char *out = NULL;
	struct json_object *o, *m;

	assert_int_equal(req(c, method, url, body, &out), 400);
	assert_non_null(out);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "fault_message", &m));
	if (!strstr(json_object_get_string(m), want))
		fail_msg("fault_message \"%s\" lacks \"%s\"", json_object_get_string(m), want);
	json_object_put(o);
	free(out);
}

static void test_route_unknown_path_and_wrong_method(void **state)
{
	struct ctx *c = *state;

	assert_fault(c, HTTP_GET, "/nope", NULL, "Invalid request method and/or path: GET /nope");
	assert_fault(c, HTTP_DELETE, "/machine-config", NULL, "Invalid request method and/or path: DELETE");
	assert_fault(c, HTTP_POST, "/actions", "{}", "Invalid request method and/or path: POST /actions");
	assert_fault(c, HTTP_PUT, "/drives", "{}", "Invalid request method and/or path");
	assert_fault(c, HTTP_PUT, "/drives/a/b", "{}", "Invalid request method and/or path");
	assert_fault(c, HTTP_GET, "/drives/a", NULL, "Invalid request method and/or path");
}

static void test_route_bad_json(void **state)
{
	struct ctx *c = *state;

	assert_fault(c, HTTP_PUT, "/machine-config", "{bad", "deserializing the json body");
	assert_fault(c, HTTP_PUT, "/machine-config", "", "deserializing the json body");
	assert_fault(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64} x",
		     "deserializing the json body");
	assert_fault(c, HTTP_PUT, "/machine-config", "[1,2]", "must be a JSON object");
	assert_fault(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64,\"x\":1}",
		     "unknown field `x`");
	assert_fault(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":\"1\",\"mem_size_mib\":64}",
		     "field `vcpu_count`: expected a non-negative integer");
	assert_fault(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":-1,\"mem_size_mib\":64}", "vcpu_count");
	assert_fault(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":1}", "missing field `mem_size_mib`");
	assert_fault(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":0,\"mem_size_mib\":64}", "vcpu_count 0");
	assert_fault(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64,\"smt\":true}", "smt");
	/* nothing refused changed anything */
	assert_int_equal(c->vm.vcpus, 1);
	assert_int_equal(c->vm.mem_mib, 128);
	assert_int_equal(c->vm.bad_requests, 10);
}

static void test_route_machine_config_roundtrip(void **state)
{
	struct ctx *c = *state;
	char *out;

	assert_int_equal(req(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256}", &out), 204);
	assert_null(out);
	assert_int_equal(req(c, HTTP_PATCH, "/machine-config", "{\"mem_size_mib\":512}", NULL), 204);
	assert_int_equal(req(c, HTTP_GET, "/machine-config?x=1", NULL, &out), 200);
	assert_string_equal(out, "{\"vcpu_count\":2,\"mem_size_mib\":512,\"smt\":false,\"track_dirty_pages\":false,"
				 "\"huge_pages\":\"None\"}");
	free(out);
	assert_int_equal(req(c, HTTP_GET, "/", NULL, &out), 200);
	assert_non_null(strstr(out, "\"id\":\"t\""));
	assert_non_null(strstr(out, "\"state\":\"Not started\""));
	free(out);
}

static void put_drive(struct ctx *c, const char *id, const char *path, bool root, int want)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"drive_id\":\"%s\",\"path_on_host\":\"%s\",\"is_root_device\":%s,"
		 "\"is_read_only\":false}", id, path, root ? "true" : "false");
	char url[128];
	snprintf(url, sizeof(url), "/drives/%s", id);
	assert_int_equal(req(c, HTTP_PUT, url, body, NULL), want);
}

static void test_route_drives(void **state)
{
	struct ctx *c = *state;
	char body[512];

	put_drive(c, "data", c->disk2, false, 204);
	put_drive(c, "root", c->disk, true, 204);
	put_drive(c, "root2", c->disk, true, 400);       /* one root only */
	put_drive(c, "bad/id", c->disk, false, 400);
	put_drive(c, "missing", "/nonexistent/disk", false, 400);
	snprintf(body, sizeof(body), "{\"drive_id\":\"other\",\"path_on_host\":\"%s\",\"is_root_device\":false}",
		 c->disk);
	assert_fault(c, HTTP_PUT, "/drives/x", body, "The id from the path does not match the id from the body!");
	/* a bad rate limiter names its field and adds no drive */
	snprintf(body, sizeof(body), "{\"drive_id\":\"x\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"rate_limiter\":{\"bandwidth\":{\"size\":-1,\"refill_time\":100}}}", c->disk);
	assert_fault(c, HTTP_PUT, "/drives/x", body, "rate_limiter.bandwidth: field `size`: expected a non-negative");
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\"}", c->disk);
	assert_fault(c, HTTP_PATCH, "/drives/data", body, "not supported before starting the microVM");
	assert_int_equal(c->vm.ndrives, 2);
}

static void test_route_instance_start(void **state)
{
	struct ctx *c = *state;
	char body[512];

	assert_fault(c, HTTP_PUT, "/actions", "{\"action_type\":\"InstanceStart\"}", "without kernel");
	assert_fault(c, HTTP_PUT, "/actions", "{\"action_type\":\"Reboot\"}", "unknown action_type `Reboot`");
	assert_fault(c, HTTP_PUT, "/actions", "{\"action\":\"InstanceStart\"}", "action_type");
	assert_fault(c, HTTP_PATCH, "/vm", "{\"state\":\"Paused\"}", "not supported before starting");
	assert_fault(c, HTTP_PUT, "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", "before starting");
	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\",\"boot_args\":\"console=ttyS0\"}", c->kernel);
	assert_int_equal(req(c, HTTP_PUT, "/boot-source", body, NULL), 204);
	put_drive(c, "data", c->disk2, false, 204);
	put_drive(c, "root", c->disk, true, 204);

	c->f.fail_start = true;
	assert_fault(c, HTTP_PUT, "/actions", "{\"action_type\":\"InstanceStart\"}", "no KVM here");
	assert_int_equal(c->vm.state, API_NOT_STARTED);
	c->f.fail_start = false;
	assert_int_equal(req(c, HTTP_PUT, "/actions", "{\"action_type\":\"InstanceStart\"}", NULL), 204);
	assert_int_equal(c->f.starts, 1);
	/* the root drive is the first disk (/dev/vda), named on the command line */
	assert_int_equal(c->f.started.ndisks, 2);
	assert_string_equal(c->f.started.disks[0].path, c->disk);
	assert_string_equal(c->f.started.disks[1].path, c->disk2);
	assert_string_equal(c->f.started.cmdline, "console=ttyS0 root=/dev/vda rw");

	/* after start: configuration is frozen, runtime operations work */
	assert_fault(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}",
		     "not supported after starting the microVM");
	assert_fault(c, HTTP_PUT, "/actions", "{\"action_type\":\"InstanceStart\"}", "after starting");
	assert_int_equal(req(c, HTTP_PATCH, "/vm", "{\"state\":\"Paused\"}", NULL), 204);
	assert_int_equal(c->vm.state, API_PAUSED);
	assert_fault(c, HTTP_PATCH, "/vm", "{\"state\":\"Sleeping\"}", "Paused or Resumed");
	assert_int_equal(req(c, HTTP_PATCH, "/vm", "{\"state\":\"Resumed\"}", NULL), 204);
	assert_int_equal(c->f.pauses, 1);
	assert_int_equal(c->f.resumes, 1);
	assert_int_equal(req(c, HTTP_PUT, "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", NULL), 204);
	assert_int_equal(c->f.ctrl_alt_del, 1);
	/* PATCH the data drive: disk index 1 (the root drive is 0) */
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\"}", c->kernel);
	assert_int_equal(req(c, HTTP_PATCH, "/drives/data", body, NULL), 204);
	assert_int_equal(c->f.set_disk_idx, 1);
	assert_string_equal(c->f.set_disk_path, c->kernel);
	assert_fault(c, HTTP_PATCH, "/drives/nope", "{\"drive_id\":\"nope\"}", "no such drive");
}

/* Rate limiters: PUT keeps them for InstanceStart, PATCH merges bucket by
 * bucket and hands the result to the running VM; refused input changes nothing. */
static void test_route_rate_limiters(void **state)
{
	struct ctx *c = *state;
	char body[1024], *before = NULL, *after = NULL;

	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\"}", c->kernel);
	assert_int_equal(req(c, HTTP_PUT, "/boot-source", body, NULL), 204);
	put_drive(c, "root", c->disk, true, 204);
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"rate_limiter\":{\"bandwidth\":{\"size\":1048576,\"one_time_burst\":4096,\"refill_time\":1000},"
		 "\"ops\":{\"size\":100,\"refill_time\":1000}}}", c->disk2);
	assert_int_equal(req(c, HTTP_PUT, "/drives/data", body, NULL), 204);
	assert_int_equal(c->vm.drives[1].rl.bw.size, 1048576);
	assert_int_equal(c->vm.drives[1].rl.bw.one_time_burst, 4096);
	assert_int_equal(c->vm.drives[1].rl.ops.refill_ms, 1000);
	/* refused: each names the field; the drive keeps its limiter */
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"rate_limiter\":{\"ops\":{\"size\":1}}}", c->disk2);
	assert_fault(c, HTTP_PUT, "/drives/data", body, "rate_limiter.ops: missing field `refill_time`");
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"rate_limiter\":{\"ops\":{\"size\":1,\"refill_time\":18446744073709551615}}}", c->disk2);
	assert_fault(c, HTTP_PUT, "/drives/data", body, "rate_limiter.ops: field `refill_time`: out of range");
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"rate_limiter\":{\"ops\":{\"size\":1,\"refill_time\":18446744073710}}}", c->disk2);
	assert_fault(c, HTTP_PUT, "/drives/data", body, "rate_limiter.ops: field `refill_time` 18446744073710: at most");
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"rate_limiter\":{\"ops\":{\"size\":1e3,\"refill_time\":1}}}", c->disk2);
	assert_fault(c, HTTP_PUT, "/drives/data", body, "rate_limiter.ops: field `size`: expected a non-negative integer");
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"rate_limiter\":{\"bandwidth\":{\"size\":99999999999999999999999,\"refill_time\":1}}}", c->disk2);
	assert_fault(c, HTTP_PUT, "/drives/data", body, "rate_limiter.bandwidth: field `size`: out of range");
	snprintf(body, sizeof(body), "{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"rate_limiter\":{\"bandwith\":{}}}", c->disk2);
	assert_fault(c, HTTP_PUT, "/drives/data", body, "rate_limiter: unknown field `bandwith`");
	assert_int_equal(c->vm.drives[1].rl.bw.size, 1048576);
	assert_int_equal(c->vm.drives[1].rl.ops.size, 100);
	/* an interface's limiters */
	assert_int_equal(req(c, HTTP_PUT, "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
			     "\"tx_rate_limiter\":{\"bandwidth\":{\"size\":1000,\"refill_time\":10}}}", NULL), 204);
	assert_fault(c, HTTP_PUT, "/network-interfaces/eth1",
		     "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\","
		     "\"rx_rate_limiter\":{\"ops\":{\"size\":-5,\"refill_time\":10}}}",
		     "rx_rate_limiter.ops: field `size`");
	assert_int_equal(c->vm.nnets, 1);
	assert_fault(c, HTTP_PATCH, "/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}", "before starting");

	assert_int_equal(req(c, HTTP_PUT, "/actions", "{\"action_type\":\"InstanceStart\"}", NULL), 204);
	assert_int_equal(c->f.started.disks[1].rl.bw.size, 1048576);
	assert_int_equal(c->f.started.disks[0].rl.bw.size, 0);
	assert_int_equal(c->f.started.nets[0].tx_rl.bw.refill_ms, 10);
	assert_int_equal(c->f.started.nets[0].rx_rl.bw.size, 0);

	/* PATCH: the bucket given replaces its twin, the other stays */
	assert_int_equal(req(c, HTTP_PATCH, "/drives/data",
			     "{\"drive_id\":\"data\",\"rate_limiter\":{\"bandwidth\":{\"size\":0,\"refill_time\":0}}}",
			     NULL), 204);
	assert_int_equal(c->f.set_limiter_calls, 1);
	assert_false(c->f.limiter_net);
	assert_int_equal(c->f.limiter_idx, 1);
	assert_int_equal(c->f.limiter.bw.size, 0);
	assert_int_equal(c->f.limiter.ops.size, 100);
	assert_int_equal(c->vm.drives[1].rl.bw.size, 0);
	assert_fault(c, HTTP_PATCH, "/drives/data",
		     "{\"drive_id\":\"data\",\"rate_limiter\":{\"ops\":{\"size\":true,\"refill_time\":0}}}",
		     "rate_limiter.ops: field `size`");
	assert_int_equal(c->f.set_limiter_calls, 1);
	assert_int_equal(req(c, HTTP_PATCH, "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"rx_rate_limiter\":{\"ops\":{\"size\":7,\"refill_time\":1}}}",
			     NULL), 204);
	assert_int_equal(c->f.set_limiter_calls, 2);
	assert_true(c->f.limiter_net && c->f.limiter_rx && !c->f.limiter_tx);
	assert_int_equal(c->f.limiter_idx, 0);
	assert_int_equal(c->f.limiter.ops.size, 7);
	assert_int_equal(c->vm.nets[0].tx_rl.bw.size, 1000);
	/* both sides in one PATCH reach the VMM in one call */
	assert_int_equal(req(c, HTTP_PATCH, "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"rx_rate_limiter\":{\"ops\":{\"size\":8,\"refill_time\":1}},"
			     "\"tx_rate_limiter\":{\"ops\":{\"size\":9,\"refill_time\":1}}}", NULL), 204);
	assert_int_equal(c->f.set_limiter_calls, 3);
	assert_true(c->f.limiter_rx && c->f.limiter_tx);
	assert_int_equal(c->f.limiter.ops.size, 8);
	assert_int_equal(c->f.limiter_tx_rl.ops.size, 9);
	assert_int_equal(c->vm.nets[0].rx_rl.ops.size, 8);
	assert_int_equal(c->vm.nets[0].tx_rl.ops.size, 9);
	/* a refused side (vhost-net) refuses the whole PATCH: the lifted rx is
	 * neither sent alone nor recorded, GET /vm/config is unchanged */
	assert_int_equal(req(c, HTTP_GET, "/vm/config", NULL, &before), 200);
	c->f.vhost = true;
	assert_fault(c, HTTP_PATCH, "/network-interfaces/eth0",
		     "{\"iface_id\":\"eth0\",\"rx_rate_limiter\":{\"ops\":{\"size\":0,\"refill_time\":0}},"
		     "\"tx_rate_limiter\":{\"bandwidth\":{\"size\":5,\"refill_time\":1}}}",
		     "vhost-net");
	assert_int_equal(c->f.set_limiter_calls, 4);
	assert_int_equal(c->f.limiter.ops.size, 8);
	assert_int_equal(c->vm.nets[0].rx_rl.ops.size, 8);
	assert_int_equal(c->vm.nets[0].tx_rl.bw.size, 1000);
	assert_int_equal(req(c, HTTP_GET, "/vm/config", NULL, &after), 200);
	assert_string_equal(after, before);
	free(before);
	free(after);
	c->f.vhost = false;
	assert_fault(c, HTTP_PATCH, "/network-interfaces/eth9", "{\"iface_id\":\"eth9\"}", "no such interface");
	assert_fault(c, HTTP_PATCH, "/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"host_dev_name\":\"x\"}",
		     "unknown field `host_dev_name`");
}

static void test_route_metrics_flush(void **state)
{
	struct ctx *c = *state;
	char path[128], body[256], line[1024] = { 0 };
	FILE *f;

	assert_fault(c, HTTP_PUT, "/actions", "{\"action_type\":\"FlushMetrics\"}", "metrics");
	snprintf(path, sizeof(path), "%s/metrics", c->dir);
	fclose(fopen(path, "w"));
	snprintf(body, sizeof(body), "{\"metrics_path\":\"%s\"}", path);
	assert_int_equal(req(c, HTTP_PUT, "/metrics", body, NULL), 204);
	assert_fault(c, HTTP_PUT, "/metrics", body, "already configured");
	assert_int_equal(req(c, HTTP_PUT, "/actions", "{\"action_type\":\"FlushMetrics\"}", NULL), 204);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "\"api_server\":{\"requests\":4,\"bad_requests\":2}"));
	assert_non_null(strstr(line, "\"utc_timestamp_ms\":"));
	/* Firecracker's group: 0 in a live process (a fault ends it) */
	assert_non_null(strstr(line, "\"seccomp\":{\"num_faults\":0}"));
	assert_true(line[strlen(line) - 1] == '\n');
}

/* GET /vm/config's output is a --config-file that configures the same VM. */
static void test_config_file_roundtrip(void **state)
{
	struct ctx *c = *state;
	struct api_vm v2;
	struct fake f2 = { 0 };
	char body[512], *a, *b;

	assert_int_equal(req(c, HTTP_PUT, "/machine-config", "{\"vcpu_count\":3,\"mem_size_mib\":300}", NULL), 204);
	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\",\"boot_args\":\"x=1\"}", c->kernel);
	assert_int_equal(req(c, HTTP_PUT, "/boot-source", body, NULL), 204);
	put_drive(c, "root", c->disk, true, 204);
	assert_int_equal(req(c, HTTP_PUT, "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"06:00:00:00:00:01\"}",
			     NULL), 204);
	assert_fault(c, HTTP_PUT, "/network-interfaces/eth0",
		     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"01:00:00:00:00:01\"}",
		     "not a unicast MAC");
	assert_int_equal(req(c, HTTP_PUT, "/vsock", "{\"guest_cid\":5,\"uds_path\":\"/tmp/v.sock\"}", NULL), 204);
	assert_fault(c, HTTP_PUT, "/vsock", "{\"guest_cid\":2,\"uds_path\":\"/tmp/v.sock\"}", "guest_cid 2");
	assert_int_equal(req(c, HTTP_GET, "/vm/config", NULL, &a), 200);

	api_vm_init(&v2, "t2", &fake_be, &f2);
	struct hull_err *err = NULL;
	assert_int_equal(api_load_config(&v2, a, strlen(a), &err), 0);
	struct json_object *o2 = api_vm_config_json(&v2);
	b = xstrdup(json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o2);
	assert_string_equal(a, b);
	free(b);
	/* a bad section is named */
	assert_int_equal(api_load_config(&v2, "{\"machine-config\":{\"vcpu_count\":0,\"mem_size_mib\":1}}", 53, &err),
			 -1);
	assert_non_null(strstr(err->msg, "machine-config"));
	hull_err_free(&err);
	assert_int_equal(api_load_config(&v2, "{\"bogus\":{}}", 12, &err), -1);
	assert_non_null(strstr(err->msg, "unknown section `bogus`"));
	hull_err_free(&err);
	api_vm_free(&v2);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_whole_request),
		cmocka_unit_test(test_http_byte_at_a_time),
		cmocka_unit_test(test_http_pipelined_requests_one_at_a_time),
		cmocka_unit_test(test_http_malformed_is_bad),
		cmocka_unit_test(test_http_oversized_headers_refused),
		cmocka_unit_test(test_http_oversized_body_refused_early),
		cmocka_unit_test(test_http_oversized_chunked_body_refused),
		cmocka_unit_test(test_http_long_url_refused),
		cmocka_unit_test(test_http_connection_close),
		cmocka_unit_test(test_http_response_format),
		cmocka_unit_test_setup_teardown(test_route_unknown_path_and_wrong_method, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_route_bad_json, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_route_machine_config_roundtrip, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_route_drives, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_route_instance_start, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_route_rate_limiters, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_route_metrics_flush, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(test_config_file_roundtrip, ctx_setup, ctx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
