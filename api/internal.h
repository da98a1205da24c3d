/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api/internal.h: private to api/.
 *   http.c     one connection's requests: libhttp_parser, bounded buffers
 *   resources.c  Firecracker's resources (JSON) -> the VM's configuration
 *   routes.c   method + path -> handler, status codes, fault_message
 *   metrics.c  metrics lines and the logger
 *   server.c   the socket, the epoll loop, the VMM thread
 * Everything up to routes.c runs without KVM: a backend (ops) starts, pauses
 * and changes the VM, a fake one in unit tests.
 */
#ifndef HULL_API_INTERNAL_H
#define HULL_API_INTERNAL_H

#include "api/api.h"
#include "microvm/microvm.h"

#include <http_parser.h>

/* Limits: a client can hold this much of the VMM's memory per connection. */
#define API_MAX_HEADER_BYTES 8192u  /* request line + headers */
#define API_MAX_BODY 51200u         /* Firecracker's default payload limit */
#define API_MAX_URL 1024u
#define API_MAX_CONNS 32u
#define API_MAX_DRIVES 16u
#define API_MAX_NETS 8u

/* ---- http.c ------------------------------------------------------------- */

enum http_feed { HTTP_MORE, HTTP_READY, HTTP_BAD };

struct http_conn {
	http_parser p;
	char url[API_MAX_URL + 1];
	size_t url_len;
	char *body;                 /* NUL-terminated, body_len bytes */
	size_t body_len;
	size_t header_bytes;
	bool headers_done, complete;
	const char *bad;            /* why the request is refused (HTTP_BAD) */
};

void http_conn_init(struct http_conn *c);
/* Ready for the connection's next request (keeps nothing of the last). */
void http_conn_reset(struct http_conn *c);
void http_conn_free(struct http_conn *c);
/* Feed bytes; *used says how many were consumed (the rest belong to the next
 * request).  HTTP_READY: c->p.method, c->url, c->body hold one request. */
enum http_feed http_conn_feed(struct http_conn *c, const char *data, size_t len, size_t *used);
bool http_conn_keep_alive(const struct http_conn *c);
/* A whole response; body (JSON) may be NULL.  Returns a malloc'd buffer. */
char *http_response(int status, const char *body, bool keep_alive, size_t *len);

/* ---- the backend the routes drive ------------------------------------------ */

struct api_backend {
	/* Boot cfg (owned by the caller until stop) and return once the vCPUs
	 * run, or fail saying why. */
	int (*start)(void *opaque, struct vm_config *cfg, struct hull_err **err);
	int (*pause)(void *opaque, bool pause, struct hull_err **err);
	int (*set_disk)(void *opaque, unsigned int idx, const char *path, struct hull_err **err);
	/* disk idx's (net false: rl) or interface idx's rx (rl) and tx, a NULL
	 * one kept, both or neither: microvm_ctl_set_limiter */
	int (*set_limiter)(void *opaque, bool net, unsigned int idx, const struct vm_rate_limiter *rl,
			   const struct vm_rate_limiter *tx, struct hull_err **err);
	int (*ctrl_alt_del)(void *opaque, struct hull_err **err);
	void (*stats)(void *opaque, struct microvm_stats *st);
};

/* ---- resources.c: the microVM being configured ---------------------------- */

enum api_state { API_NOT_STARTED, API_RUNNING, API_PAUSED };

struct api_drive {
	char *id, *path, *partuuid;
	bool root, ro;
	struct vm_rate_limiter rl;
};

struct api_net {
	char *id, *tap;
	uint8_t mac[6];
	bool has_mac;
	struct vm_rate_limiter rx_rl, tx_rl;
};

struct api_vm {
	const char *id;
	enum api_state state;
	unsigned int vcpus;
	uint64_t mem_mib;
	bool hugepages;
	char *kernel, *initrd, *boot_args;
	struct api_drive drives[API_MAX_DRIVES];
	unsigned int ndrives;
	struct api_net nets[API_MAX_NETS];
	unsigned int nnets;
	bool has_vsock;
	uint64_t vsock_cid;
	char *vsock_uds;
	char *log_path, *log_level;
	char *metrics_path;
	int metrics_fd;
	uint64_t requests, bad_requests;  /* metrics of the API itself */
	const struct api_backend *be;
	void *be_opaque;
	/* What start() was given: lives until api_vm_free. */
	struct vm_config cfg;
	struct vm_disk disks[API_MAX_DRIVES];
	struct vm_net vnets[API_MAX_NETS];
	char *cmdline;
};

void api_vm_init(struct api_vm *v, const char *id, const struct api_backend *be, void *opaque);
void api_vm_free(struct api_vm *v);

/* Each takes a parsed JSON body; errors are the fault_message (400). */
struct json_object;
int api_put_machine(struct api_vm *v, struct json_object *o, bool patch, struct hull_err **err);
int api_put_boot(struct api_vm *v, struct json_object *o, struct hull_err **err);
int api_put_drive(struct api_vm *v, const char *id, struct json_object *o, struct hull_err **err);
int api_patch_drive(struct api_vm *v, const char *id, struct json_object *o, struct hull_err **err);
int api_put_net(struct api_vm *v, const char *id, struct json_object *o, struct hull_err **err);
int api_patch_net(struct api_vm *v, const char *id, struct json_object *o, struct hull_err **err);
int api_put_vsock(struct api_vm *v, struct json_object *o, struct hull_err **err);
int api_put_logger(struct api_vm *v, struct json_object *o, struct hull_err **err);
int api_put_metrics(struct api_vm *v, struct json_object *o, struct hull_err **err);
int api_instance_start(struct api_vm *v, struct hull_err **err);
/* GET /vm/config, the same shape --config-file reads. */
struct json_object *api_vm_config_json(const struct api_vm *v);
/* --config-file: every section of a whole configuration (no start). */
int api_load_config(struct api_vm *v, const char *json, size_t len, struct hull_err **err);

/* ---- metrics.c ------------------------------------------------------------ */

/* One JSON line to the metrics file (no-op without PUT /metrics). */
int api_flush_metrics(struct api_vm *v, struct hull_err **err);

/* ---- routes.c ------------------------------------------------------------- */

struct api_resp {
	int status;
	char *body;                 /* malloc'd JSON, or NULL (204) */
};

/* One request: method as libhttp_parser numbers it. */
void api_route(struct api_vm *v, int method, const char *url, const char *body, size_t len, struct api_resp *r);
/* {"fault_message": msg} */
char *api_fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
