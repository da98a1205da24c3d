/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Method + path -> handler: one table.  Status codes are Firecracker's: 200
 * with a JSON body for GET, 204 for a change, 400 with {"fault_message"} for
 * anything refused (bad JSON, an unknown field, a path or method hull does
 * not serve, an operation the VM's state forbids), 500 when the VMM failed.
 */
#include "api/internal.h"

#include <json.h>
#include <stdarg.h>

char *api_fault(const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char *msg = NULL, *out;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	json_object_object_add(o, "fault_message", json_object_new_string(msg));
	out = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	free(msg);
	return out;
}

static void json_reply(struct api_resp *r, struct json_object *o)
{
	r->status = 200;
	r->body = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static const char *state_name(enum api_state s)
{
	return s == API_RUNNING ? "Running" : s == API_PAUSED ? "Paused" : "Not started";
}

/* ---- handlers: body is parsed JSON (NULL for GET), sub the path's {id} ---- */

typedef int (*handler)(struct api_vm *v, const char *sub, struct json_object *body, struct api_resp *r,
		       struct hull_err **err);

static int h_info(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r, struct hull_err **err)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(v->id));
	json_object_object_add(o, "state", json_object_new_string(state_name(v->state)));
	json_object_object_add(o, "vmm_version", json_object_new_string(HULL_COMMIT));
	json_object_object_add(o, "app_name", json_object_new_string("hull"));
	json_reply(r, o);
	return 0;
}

static int h_get_machine(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
			 struct hull_err **err)
{
	struct json_object *all = api_vm_config_json(v), *m = NULL;

	json_object_object_get_ex(all, "machine-config", &m);
	json_reply(r, json_object_get(m));
	json_object_put(all);
	return 0;
}

static int h_get_config(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
			struct hull_err **err)
{
	json_reply(r, api_vm_config_json(v));
	return 0;
}

static int h_put_machine(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
			 struct hull_err **err)
{
	return api_put_machine(v, b, false, err);
}

static int h_patch_machine(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
			   struct hull_err **err)
{
	return api_put_machine(v, b, true, err);
}

static int h_boot(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r, struct hull_err **err)
{
	return api_put_boot(v, b, err);
}

static int h_put_drive(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
		       struct hull_err **err)
{
	return api_put_drive(v, sub, b, err);
}

static int h_patch_drive(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
			 struct hull_err **err)
{
	return api_patch_drive(v, sub, b, err);
}

static int h_net(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r, struct hull_err **err)
{
	return api_put_net(v, sub, b, err);
}

static int h_patch_net(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
		       struct hull_err **err)
{
	return api_patch_net(v, sub, b, err);
}

static int h_vsock(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r, struct hull_err **err)
{
	return api_put_vsock(v, b, err);
}

static int h_logger(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r, struct hull_err **err)
{
	return api_put_logger(v, b, err);
}

static int h_metrics(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
		     struct hull_err **err)
{
	return api_put_metrics(v, b, err);
}

static int h_actions(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
		     struct hull_err **err)
{
	struct json_object *t;
	const char *a;

	if (!json_object_is_type(b, json_type_object) || !json_object_object_get_ex(b, "action_type", &t) ||
	    !json_object_is_type(t, json_type_string))
		return hull_err_make(err, 0, "missing field `action_type`");
	if (json_object_object_length(b) != 1)
		return hull_err_make(err, 0, "only the field `action_type` is expected");
	a = json_object_get_string(t);
	if (strcmp(a, "InstanceStart") == 0)
		return api_instance_start(v, err);
	if (strcmp(a, "FlushMetrics") == 0) {
		if (v->metrics_fd < 0)
			return hull_err_make(err, 0, "FlushMetrics: the metrics system is not initialized (PUT /metrics)");
		return api_flush_metrics(v, err);
	}
	if (strcmp(a, "SendCtrlAltDel") == 0) {
		if (v->state == API_NOT_STARTED)
			return hull_err_make(err, 0,
					     "The requested operation is not supported before starting the microVM.");
		return v->be->ctrl_alt_del(v->be_opaque, err);
	}
	return hull_err_make(err, 0, "unknown action_type `%s`: InstanceStart, SendCtrlAltDel or FlushMetrics", a);
}

static int h_patch_vm(struct api_vm *v, const char *sub, struct json_object *b, struct api_resp *r,
		      struct hull_err **err)
{
	struct json_object *t;
	const char *s;
	bool pause;

	if (!json_object_is_type(b, json_type_object) || !json_object_object_get_ex(b, "state", &t) ||
	    !json_object_is_type(t, json_type_string) || json_object_object_length(b) != 1)
		return hull_err_make(err, 0, "expected {\"state\": \"Paused\" | \"Resumed\"}");
	s = json_object_get_string(t);
	if (strcmp(s, "Paused") == 0)
		pause = true;
	else if (strcmp(s, "Resumed") == 0)
		pause = false;
	else
		return hull_err_make(err, 0, "state `%s`: Paused or Resumed", s);
	if (v->state == API_NOT_STARTED)
		return hull_err_make(err, 0, "The requested operation is not supported before starting the microVM.");
	if (v->be->pause(v->be_opaque, pause, err) < 0)
		return -1;
	v->state = pause ? API_PAUSED : API_RUNNING;
	return 0;
}

enum { NO_ID, ID };

static const struct route {
	int method;
	const char *path;           /* without the trailing /{id} */
	int id;                     /* ID: the path ends in /{id} */
	handler fn;
} routes[] = {
	{ HTTP_GET, "/", NO_ID, h_info },
	{ HTTP_GET, "/machine-config", NO_ID, h_get_machine },
	{ HTTP_PUT, "/machine-config", NO_ID, h_put_machine },
	{ HTTP_PATCH, "/machine-config", NO_ID, h_patch_machine },
	{ HTTP_GET, "/vm/config", NO_ID, h_get_config },
	{ HTTP_PUT, "/boot-source", NO_ID, h_boot },
	{ HTTP_PUT, "/drives", ID, h_put_drive },
	{ HTTP_PATCH, "/drives", ID, h_patch_drive },
	{ HTTP_PUT, "/network-interfaces", ID, h_net },
	{ HTTP_PATCH, "/network-interfaces", ID, h_patch_net },
	{ HTTP_PUT, "/vsock", NO_ID, h_vsock },
	{ HTTP_PUT, "/logger", NO_ID, h_logger },
	{ HTTP_PUT, "/metrics", NO_ID, h_metrics },
	{ HTTP_PUT, "/actions", NO_ID, h_actions },
	{ HTTP_PATCH, "/vm", NO_ID, h_patch_vm },
};

/* path matches r: "/drives/x" for "/drives" with an id (no further '/'). */
static bool match(const struct route *rt, const char *path, const char **sub)
{
	size_t n = strlen(rt->path);

	*sub = NULL;
	if (rt->id == NO_ID)
		return strcmp(path, rt->path) == 0;
	if (strncmp(path, rt->path, n) != 0 || path[n] != '/' || !path[n + 1] || strchr(path + n + 1, '/'))
		return false;
	*sub = path + n + 1;
	return true;
}

void api_route(struct api_vm *v, int method, const char *url, const char *body, size_t len, struct api_resp *r)
{
	struct hull_err *err = NULL;
	struct json_object *jb = NULL;
	const struct route *rt = NULL;
	const char *sub = NULL;
	char path[API_MAX_URL + 1];
	size_t plen = strcspn(url, "?#");

	r->status = 204;
	r->body = NULL;
	v->requests++;
	/* the query string is ignored, as Firecracker's router does */
	snprintf(path, sizeof(path), "%.*s", (int)plen, url);
	for (size_t i = 0; i < ARRAY_SIZE(routes) && !rt; i++)
		if (routes[i].method == method && match(&routes[i], path, &sub))
			rt = &routes[i];
	if (!rt) {
		r->status = 400;
		r->body = api_fault("Invalid request method and/or path: %s %s.", http_method_str(method), path);
		goto out;
	}
	if (method != HTTP_GET) {
		struct json_tokener *tok = json_tokener_new();
		enum json_tokener_error je;

		jb = len ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
		je = len ? json_tokener_get_error(tok) : json_tokener_error_parse_eof;
		/* trailing bytes after the JSON value are an error too */
		if (je == json_tokener_success && (size_t)json_tokener_get_parse_end(tok) != len &&
		    strspn(body + json_tokener_get_parse_end(tok), " \t\r\n") != len - json_tokener_get_parse_end(tok))
			je = json_tokener_error_parse_unexpected;
		json_tokener_free(tok);
		if (je != json_tokener_success) {
			r->status = 400;
			r->body = api_fault("An error occurred when deserializing the json body of a request: %s.",
					    len ? json_tokener_error_desc(je) : "empty body");
			goto out;
		}
	}
	if (rt->fn(v, sub, jb, r, &err) < 0) {
		r->status = 400;
		free(r->body);
		r->body = api_fault("%s", err ? err->msg : "request failed");
		hull_err_free(&err);
	}
out:
	/* a refused request is worth a line at Info (PUT /logger's level) */
	hull_log(r->status >= 400 ? HULL_LOG_INFO : HULL_LOG_DEBUG, "api: %s %s: %d%s%s", http_method_str(method),
		 path, r->status, r->body && r->status >= 400 ? " " : "", r->body && r->status >= 400 ? r->body : "");
	if (r->status >= 400)
		v->bad_requests++;
	json_object_put(jb);
}
