/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microvm/vhost_user.h (internal to microvm/): the vhost-user protocol
 * (QEMU docs/interop/vhost-user.rst), frontend side (the VMM hands a
 * device's queues to another process) and the message codec shared with
 * the backend loop (vhost_user_backend.c).
 *
 * Messages are a 12-byte header {u32 request, u32 flags, u32 size} and
 * `size` payload bytes on a Unix stream socket; fds ride on the header with
 * SCM_RIGHTS.  Both sides treat everything the other sends as hostile:
 * sizes are exact per request, replies must echo the request and carry the
 * REPLY flag, unexpected fds are closed and are a protocol error.
 */
#ifndef HULL_MICROVM_VHOST_USER_H
#define HULL_MICROVM_VHOST_USER_H

#include "microvm/virtio/virtio.h"

enum vhu_request {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
};

#define VHU_VERSION 1u
#define VHU_FLAG_VERSION_MASK 3u
#define VHU_FLAG_REPLY (1u << 2)
#define VHU_FLAG_NEED_REPLY (1u << 3)

/* Virtio feature bit 30 on the vhost-user socket only: the backend speaks
 * GET/SET_PROTOCOL_FEATURES (and its rings start disabled). */
#define VHU_F_PROTOCOL_FEATURES 30
#define VHU_PROTOCOL_F_MQ 0
#define VHU_PROTOCOL_F_REPLY_ACK 3

/* SET_VRING_KICK/CALL/ERR payload: bits 0-7 queue index, bit 8 "no fd". */
#define VHU_VRING_IDX_MASK 0xffu
#define VHU_VRING_NOFD (1u << 8)

#define VHU_MAX_REGIONS 8
#define VHU_MAX_FDS 8
#define VHU_HDR_SIZE 12u
/* Largest payload either side accepts (GET/SET_CONFIG tops out at 268). */
#define VHU_MAX_PAYLOAD 4096u

struct vhu_vring_state {
	uint32_t index, num;
};

struct vhu_vring_addr {
	uint32_t index, flags;
	uint64_t desc, used, avail, log;  /* frontend virtual addresses */
};

struct vhu_region {
	uint64_t gpa, size, uva, mmap_offset;
};

struct vhu_mem {
	uint32_t nregions, padding;
	struct vhu_region regions[VHU_MAX_REGIONS];
};

/* In memory; vhu_send/vhu_recv put the payload right after the 12-byte
 * header on the wire. */
struct vhu_msg {
	uint32_t request, flags, size;
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		struct vhu_vring_addr addr;
		struct vhu_mem mem;
		uint8_t raw[VHU_MAX_PAYLOAD];
	} p;
};
_Static_assert(sizeof(struct vhu_vring_addr) == 40, "vhost_vring_addr is 40 bytes");
_Static_assert(sizeof(struct vhu_region) == 32, "vhost-user memory region is 32 bytes");

/* Payload size of struct vhu_mem with n regions. */
#define VHU_MEM_SIZE(n) (8u + 32u * (n))

/* Send one message with up to VHU_MAX_FDS fds (not consumed).  Never raises
 * SIGPIPE.  0 or -errno (-EPIPE: the peer is gone). */
int vhu_send(int sock, const struct vhu_msg *m, const int *fds, unsigned int nfds);
/* Receive one message: the header with its fds, then exactly `size` payload
 * bytes.  0, -EPIPE at EOF, -EPROTO for a short or oversized message, or
 * -errno.  Received fds land in fds[0..*nfds) (up to cap, the rest are
 * closed); the caller owns them.  On error no fd is left open. */
int vhu_recv(int sock, struct vhu_msg *m, int *fds, unsigned int cap, unsigned int *nfds);
void vhu_close_fds(int *fds, unsigned int n);

/* ---- frontend ------------------------------------------------------------ */

struct vhu_front {
	int sock;
	char *name;                    /* for messages: the socket path */
	uint64_t backend_features;     /* GET_FEATURES */
	uint64_t protocol_features;    /* negotiated */
	bool reply_ack;
	bool dead;                     /* a send/receive failed: nothing more is sent */
};

/* Adopt a connected socket (consumed) and negotiate: GET_FEATURES,
 * GET/SET_PROTOCOL_FEATURES (REPLY_ACK when offered), SET_OWNER. */
int vhu_front_open_fd(struct vhu_front *f, int sock, const char *name, struct hull_err **err);
/* Connect to a backend's Unix socket path and negotiate. */
int vhu_front_connect(struct vhu_front *f, const char *path, struct hull_err **err);
void vhu_front_close(struct vhu_front *f);
/* SET_FEATURES: the driver's acked virtio bits (+ PROTOCOL_FEATURES when offered). */
int vhu_front_set_features(struct vhu_front *f, uint64_t features, struct hull_err **err);
/* SET_MEM_TABLE from every region of gm (each must have an fd). */
int vhu_front_set_mem_table(struct vhu_front *f, const struct guest_mem *gm, struct hull_err **err);

struct vhu_vring_cfg {
	uint16_t num, base;
	uint64_t desc, avail, used;    /* frontend virtual addresses */
	int kick, call, err;           /* eventfds, not consumed; call/err -1 = none */
};
/* NUM, BASE, ADDR, CALL, ERR, KICK, then ENABLE (with protocol features). */
int vhu_front_vring_start(struct vhu_front *f, unsigned int idx, const struct vhu_vring_cfg *c,
			  struct hull_err **err);
/* Disable, then GET_VRING_BASE (which stops the ring in the backend). */
int vhu_front_vring_stop(struct vhu_front *f, unsigned int idx, uint16_t *base, struct hull_err **err);

#endif
