/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guest/guest.h: the inside of a VM-isolated container.  `hull agent` (the
 * guest's PID 1), the agent protocol codec that host (vmcontainer/) and guest
 * both speak, module loading and the guest image.
 *
 * Agent protocol (docs/architecture.md, /work/coord/ISSUE11.md): one stream
 * (vsock port GUEST_AGENT_PORT) per request.  A frame is an 8-byte header,
 * u32 little-endian payload length (<= GUEST_FRAME_MAX), u8 type, 3 zero
 * bytes, then the payload.  Every received byte is hostile in both directions:
 * a frame that breaks the rules is an error and the stream is closed.
 */
#ifndef HULL_GUEST_H
#define HULL_GUEST_H

#include "common/common.h"
#include "net/net.h"

struct json_object;
struct oci_kv;

/* ---- agent protocol codec (guest/proto.c) -------------------------------- */

#define GUEST_AGENT_PORT 1024
#define GUEST_PROTO_VERSION 1
#define GUEST_FRAME_HEADER 8
#define GUEST_FRAME_MAX (1u << 20)
/* exec's "cgroups" (the host's `exec --cgroup` values): at most this many. */
#define GUEST_EXEC_CGROUPS_MAX 16

enum guest_frame_type {
	GUEST_FRAME_REQUEST = 1,    /* JSON {"v":1,"op":...} */
	GUEST_FRAME_RESPONSE = 2,   /* JSON {"ok":true,...} or {"ok":false,"error","errno"} */
	GUEST_FRAME_STDIN = 3,      /* raw bytes; an empty payload = EOF of that stream */
	GUEST_FRAME_STDOUT = 4,
	GUEST_FRAME_STDERR = 5,
	GUEST_FRAME_EXIT = 6,       /* JSON {"exit_code":N}, 128+n for signal n */
	GUEST_FRAME_RESIZE = 7,     /* u16 le rows, u16 le cols */
};

struct guest_frame {
	enum guest_frame_type type;
	uint32_t len;
	char *data;                 /* malloc'd, len bytes plus a NUL; guest_frame_release() */
};

/* The 8 header bytes of a frame of this type and length (len <= GUEST_FRAME_MAX). */
void guest_frame_header_encode(uint8_t hdr[GUEST_FRAME_HEADER], enum guest_frame_type type,
			       uint32_t len);
/* Check a received header: known type, length <= GUEST_FRAME_MAX, reserved
 * bytes zero.  Errors are EPROTO (EMSGSIZE for the length). */
int guest_frame_header_decode(const uint8_t hdr[GUEST_FRAME_HEADER], enum guest_frame_type *type,
			      uint32_t *len, struct hull_err **err);
/* Write one whole frame (header and payload, retrying short writes; no
 * SIGPIPE on a socket).  Not atomic: writers sharing an fd serialise. */
int guest_frame_write(int fd, enum guest_frame_type type, const void *data, size_t len,
		      struct hull_err **err);
/* Read exactly one frame (blocking fd).  1: *f filled; 0: the peer closed the
 * stream before a frame began; < 0: error (EOF inside a frame, bad header).
 * *f is untouched unless 1 is returned. */
int guest_frame_read(int fd, struct guest_frame *f, struct hull_err **err);
/* The same from a buffer (a non-blocking reader's accumulated bytes): > 0
 * bytes consumed with *f filled, 0 = not a whole frame yet, < 0 = error. */
ssize_t guest_frame_decode(const void *buf, size_t len, struct guest_frame *f, struct hull_err **err);
void guest_frame_release(struct guest_frame *f);

/* JSON frames.  Field access: oci_json_get_*() in oci/oci.h (typed, wrong
 * type = error naming "request.key"/"response.key"). */

/* Parse a frame's payload: its type must be `want`, the payload a strict
 * JSON object (depth <= 32).  *out is a new reference. */
int guest_json_parse(const struct guest_frame *f, enum guest_frame_type want,
		     struct json_object **out, struct hull_err **err);
/* Serialise o (EMSGSIZE beyond GUEST_FRAME_MAX) and write it as one frame. */
int guest_json_write(int fd, enum guest_frame_type type, struct json_object *o,
		     struct hull_err **err);
/* {"v":1,"op":op}; the caller adds the op's fields. */
struct json_object *guest_request_new(const char *op);
/* A received request: "v" must be 1 (EPROTO), "op" a string; *op borrowed from req. */
int guest_request_check(struct json_object *req, const char **op, struct hull_err **err);
/* {"ok":true}; the caller adds the op's fields. */
struct json_object *guest_response_ok(void);
/* {"ok":false,"error":msg (newlines made spaces),"errno":errnum}. */
struct json_object *guest_response_error(int errnum, const char *msg);
/* A received response: 0 when ok is true; when false, an error carrying the
 * agent's errno (bounded to 1..4095, else EPROTO) and message; a response
 * without a boolean "ok" is EPROTO. */
int guest_response_check(struct json_object *resp, struct hull_err **err);
/* EXIT and RESIZE frames. */
int guest_exit_write(int fd, int exit_code, struct hull_err **err);
int guest_exit_parse(const struct guest_frame *f, int *exit_code, struct hull_err **err);
int guest_resize_write(int fd, uint16_t rows, uint16_t cols, struct hull_err **err);
int guest_resize_parse(const struct guest_frame *f, uint16_t *rows, uint16_t *cols,
		       struct hull_err **err);

/* ---- the "network" request (guest/proto_net.c) --------------------------- */

#define GUEST_NET_MAX_IFS 8
#define GUEST_NET_MAX_ADDRS 16
#define GUEST_NET_MAX_ROUTES 32
#define GUEST_NET_IFNAMSIZ 16

/* One guest interface: the virtio-net device whose MAC is mac, to be named
 * name, with MTU mtu (0: as it is), addresses and routes (a route without a
 * gateway is on the link). */
struct guest_netif {
	char name[GUEST_NET_IFNAMSIZ];
	uint8_t mac[6];
	unsigned int mtu;
	struct net_addr addrs[GUEST_NET_MAX_ADDRS];
	size_t n_addrs;
	struct net_route routes[GUEST_NET_MAX_ROUTES];
	size_t n_routes;
};
/* {"v":1,"op":"network","interfaces":[...]} of n interfaces (n, n_addrs
 * and n_routes within the GUEST_NET_MAX_* bounds). */
struct json_object *guest_net_request(const struct guest_netif *ifs, size_t n);
/* The interfaces of a received "network" request (*out malloc'd); any
 * field out of bounds or of the wrong type is EPROTO naming it. */
int guest_net_parse(struct json_object *req, struct guest_netif **out, size_t *n, struct hull_err **err);

/* ---- the agent (guest/agent.c) ------------------------------------------- */

struct guest_agent_opts {
	const char *root;           /* --root of the hull commands it runs */
	const char *listen_unix;    /* test mode: serve on this Unix socket, no PID-1 set-up */
	const char *run_dir;        /* bundles/ and hull-agent/ go under it; NULL: /run */
	bool debug;
};
/* PID 1 mode (no listen_unix): mount the guest's file systems, load modules,
 * mount the share, bring lo up, listen on vsock port GUEST_AGENT_PORT.  Then
 * serve connections (a thread each) until a shutdown request or the deletion
 * of the last container, which power the VM off (the test mode exits).
 * Returns only on a set-up error; PID 1's caller must power off then. */
int guest_agent_run(const struct guest_agent_opts *o, struct hull_err **err);
/* sync and power off (reboot(RB_POWER_OFF)); never returns. */
__attribute__((noreturn)) void guest_power_off(void);

/* ---- modules (guest/modules.c) ------------------------------------------- */

/* Where the image keeps the load order: one path per line, relative to the
 * file's directory (e.g. "6.1.0-57-cloud-amd64/kernel/fs/fuse/fuse.ko"),
 * dependencies first; blank lines and "#" lines are skipped. */
#define GUEST_MODULES_ORDER "/lib/modules/hull.order"

/* Load every module of order_file with finit_module(2), in order.  A module
 * the kernel already has (EEXIST) is fine; any other failure stops there and
 * names the module.  Entries are opened beneath the file's directory
 * (openat2 RESOLVE_BENEATH): no "..", absolute path or symlink out of it.
 * Returns the number of modules loaded now (>= 0). */
int guest_load_modules(const char *order_file, struct hull_err **err);

/* The parser behind it, for the unit tests: split text (NUL-terminated,
 * modified in place) into its entries, checking each; *out gets a
 * NULL-terminated array of pointers into text (free the array only).  what
 * names the file in errors ("FILE line N: ..."). */
int guest_modules_parse(char *text, const char *what, char ***out, size_t *n, struct hull_err **err);

/* ---- leaving the initramfs (guest/rootfs.c) ------------------------------- */

/* PID 1, first thing: the kernel's rootfs cannot be pivot_root'ed away, so
 * containers could not be created on it.  Copies the image into a tmpfs,
 * frees the rootfs' copies, moves the tmpfs onto / and chroots into it
 * (switch_root's way).  Call before mounting anything. */
int guest_leave_initramfs(struct hull_err **err);

/* `hull agent --selftest` (guest/selftest.c): as the guest's PID 1, mount /proc
 * and /sys, load the modules, print "HULL-SELFTEST ..." lines to out (pid,
 * loaded=N, one per loaded module, one per virtio device with its driver).
 * Refuses to run when not PID 1.  The caller powers off. */
int guest_selftest(FILE *out, struct hull_err **err);

/* ---- the image on the host (guest/image.c) -------------------------------- */

#define GUEST_IMAGE_CONF "/etc/hull/vm.conf"
#define GUEST_ANN_KERNEL "org.hull.vm.kernel"
#define GUEST_ANN_INITRD "org.hull.vm.initrd"

/* The kernel and initramfs a VM-isolated container boots.  Each of the two is
 * taken from the first place that names it:
 *   1. the annotations org.hull.vm.kernel / org.hull.vm.initrd (absolute);
 *   2. /etc/hull/vm.conf: "kernel=PATH" / "initrd=PATH" lines ("#" comments;
 *      an unknown key, a repeated key or a relative path is an error naming
 *      the file and line; a missing file is no error);
 *   3. <dir of the hull binary>/../lib/hull/{vmlinuz,initramfs.cpio} (make install);
 *   4. <dir of the hull binary>/../guest/ (the build tree: build/bin/hull ->
 *      build/guest/, make guest).
 * A path named in 1 or 2 that cannot be read is an error naming it; when no
 * place has the file, the error names the install path and says to run
 * `make guest` (or `make install`).  Call it in the process that hull was
 * exec'd as (it reads /proc/self/exe).  *kernel and *initrd are malloc'd. */
int guest_image_find(const struct oci_kv *annotations, size_t n_annotations, char **kernel, char **initrd,
		     struct hull_err **err);

/* vm.conf's other key: the VMMs' jail uids (vmcontainer/, docs/vm-containers.md). */
#define GUEST_CONF_JAIL_UIDS "jail_uids"
/* The value of such a key in conf (GUEST_IMAGE_CONF) and its line: *value
 * malloc'd, NULL when the file or the key is absent.  The whole file is
 * checked as guest_image_find checks it. */
int guest_conf_value(const char *conf, const char *key, char **value, size_t *line, struct hull_err **err);

/* The same with the config file and the binary's path given (unit tests;
 * exe NULL = /proc/self/exe). */
int guest_image_find_at(const char *conf, const char *exe, const struct oci_kv *annotations,
			size_t n_annotations, char **kernel, char **initrd, struct hull_err **err);


#endif
