/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microvm/virtio/virtio.h (internal to microvm/): split virtqueues, the
 * transport-independent virtio device model, the virtio-pci transport and
 * the device table.
 *
 * Contract between the machine (microvm/internal.h: kvm, memory, pci, event
 * loop), the transport (pci.c) and the devices (blk.c, rng.c, console.c, vsock.c,
 * one file each, listed in devices.c).  Devices use only guest memory and
 * the event loop of the core, never KVM or PCI; the transport never parses
 * descriptors.  Everything a guest writes is hostile: a bad ring breaks only
 * its own device (DEVICE_NEEDS_RESET), never the VMM.
 */
#ifndef HULL_MICROVM_VIRTIO_H
#define HULL_MICROVM_VIRTIO_H

#include "microvm/internal.h"

/* ---- split virtqueue (virtq.c), virtio 1.2 §2.7 ----------------------------- */

#define VIRTQ_MAX_SIZE 1024
#define VIRTQ_MAX_CHAIN VIRTQ_MAX_SIZE

struct virtq {
	const struct guest_mem *gm;
	uint16_t size;              /* power of two, <= VIRTQ_MAX_SIZE */
	bool ready;
	bool event_idx;             /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;              /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;        /* next avail ring slot we consume */
	uint16_t used_idx;          /* our shadow of used->idx */
	uint16_t signalled_used;    /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_used_valid;
};

struct virtq_buf {
	void *hva;                  /* validated host pointer for the whole buffer */
	uint64_t gpa;
	uint32_t len;
	bool write;                 /* device-writable */
};

struct virtq_chain {
	uint16_t head;
	unsigned int n;             /* number of buffers */
	uint64_t out_len, in_len;   /* total driver->device / device->driver bytes */
	struct virtq_buf *bufs;     /* n entries, owned by the chain (virtq_chain_release) */
};

/* Validate sizes/alignment/ranges (§2.7: desc 16, avail 2, used 4 aligned) and
 * arm the queue.  -EINVAL/-EFAULT on a bad layout. */
int virtq_setup(struct virtq *q, const struct guest_mem *gm, uint16_t size, uint64_t desc,
		uint64_t avail, uint64_t used, bool event_idx, bool indirect);
/* 1 = chain popped into *c, 0 = ring empty, < 0 = malformed ring (loop, index
 * or next >= size, chain > size, out-of-range or zero-length buffer, nested
 * indirect, write-before-read order violation, avail idx jumping by > size). */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
void virtq_chain_release(struct virtq_chain *c);
/* Put head on the used ring with `len` bytes written. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt now (EVENT_IDX used_event, or
 * VRING_AVAIL_F_NO_INTERRUPT without it). */
bool virtq_should_signal(struct virtq *q);
void virtq_reset(struct virtq *q);

/* Copy helpers over a chain's readable / writable buffers. */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len);

/* ---- devices ------------------------------------------------------------- */

#define VIRTIO_MAX_QUEUES 17  /* virtio-net: 8 queue pairs + the controlq */

/* Device ids (§5) */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_VSOCK 19
#define VIRTIO_ID_FS 26

/* Status bits (§2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Transport-level features the transport offers on every device. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint16_t device_id;
	/* PCI class code (PCI Code and ID Assignment spec) the transport puts in
	 * config space; the guest's driver binds by virtio id, so this only names
	 * the device (lspci). */
	uint8_t pci_class, pci_subclass, pci_progif;
	uint16_t num_queues;
	uint16_t queue_max_size;
	uint32_t config_size;
	/* Another process runs the queues (vhost-user): the transport keeps the
	 * kick eventfds out of its event loop and never calls queue_notify; the
	 * device hands them on (virtio_dev.queue_fds) at activate. */
	bool vhost;
	uint64_t (*features)(struct virtio_dev *d);    /* device-specific bits only */
	/* Config space accesses, offset+len already clamped to config_size by the
	 * transport; reads are pre-zeroed. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len);
	/* DRIVER_OK with queues set up; may register fds with d->loop. */
	int (*activate)(struct virtio_dev *d);
	/* The guest kicked queue q (from the event loop thread). */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* Device reset (status written 0): drop in-flight state, unregister fds. */
	void (*reset)(struct virtio_dev *d);
	void (*destroy)(struct virtio_dev *d);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;
	const struct guest_mem *gm;
	struct evloop *loop;
	/* Held by the transport around config/status accesses (vCPU threads) and by
	 * the event loop around queue_notify, so reset never races a pop. */
	pthread_mutex_t lock;
	uint64_t acked_features;
	uint8_t status;
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	/* Set by the transport before activate: */
	void (*signal_used)(struct virtio_dev *d, unsigned int q);  /* queue interrupt */
	void (*signal_config)(struct virtio_dev *d);                /* config change */
	/* Queue q's kick eventfd (what a guest notify signals) and the irqfd of
	 * its MSI-X vector (-1: none, e.g. no vector or no KVM).  Not owned by
	 * the caller. */
	void (*queue_fds)(struct virtio_dev *d, unsigned int q, int *kick, int *call);
	void *transport;
};

/* Mark the device broken: status |= NEEDS_RESET, config interrupt, stop processing. */
void virtio_dev_set_broken(struct virtio_dev *d, const char *why);
/* Push + interrupt if the driver wants one. */
void virtio_dev_complete(struct virtio_dev *d, unsigned int q, uint16_t head, uint32_t len);
bool virtio_dev_broken(const struct virtio_dev *d);

void virtio_dev_destroy(struct virtio_dev *d);

/* ---- the device table (devices.c) ------------------------------------------- */

/* One row per device kind.  To add a device: one file here with its ops and
 * these three functions, one row in devices.c, its fields in vm_config
 * (docs/microvm.md, "Adding a device"). */
struct vm_device_kind {
	const char *name;
	/* How many instances cfg asks for (0: none). */
	unsigned int (*count)(const struct vm_config *cfg);
	/* Optional: check instance i's settings before /dev/kvm is opened, so bad
	 * usage fails first (one line naming the option). */
	int (*check)(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
	/* Create instance i; NULL with *err set. */
	struct virtio_dev *(*create)(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
};

int virtio_devices_check(const struct vm_config *cfg, struct hull_err **err);
/* Create every device of the table and put it on the PCI bus (vm->vdevs). */
int virtio_devices_plug(struct vm *vm, struct hull_err **err);
void virtio_devices_unplug(struct vm *vm);

/* blk.c: one per vm_config.disks[] */
unsigned int virtio_blk_count(const struct vm_config *cfg);
int virtio_blk_check(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_blk_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_blk_create(const char *path, bool readonly, struct hull_err **err);
/* Swap the backing file (same read-only mode) and signal a config change. */
int virtio_blk_set_backing(struct virtio_dev *d, const char *path, struct hull_err **err);
/* Replace the rate limiter (ratelim_set); requests deferred by it so far. */
int virtio_blk_set_limiter(struct virtio_dev *d, const struct vm_rate_limiter *rl, struct hull_err **err);
uint64_t virtio_blk_throttled(struct virtio_dev *d);
/* Add d's request counters to the sums; false (nothing added) if d is not a blk. */
bool virtio_blk_stats(struct virtio_dev *d, uint64_t *reads, uint64_t *writes, uint64_t *rbytes, uint64_t *wbytes);
/* rng.c: always one */
unsigned int virtio_rng_count(const struct vm_config *cfg);
struct virtio_dev *virtio_rng_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_rng_create(struct hull_err **err);
/* console.c: one with console == MICROVM_CONSOLE_VIRTIO.  in_fd: host input
 * (stdin) or -1; out_fd: where guest output goes. */
unsigned int virtio_console_count(const struct vm_config *cfg);
struct virtio_dev *virtio_console_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_console_create(int in_fd, int out_fd, struct hull_err **err);
/* vsock.c: one when vsock_uds or vsock_cid is set.  Guest CID `cid`; the
 * host side listens on the Unix socket `uds` (created here, 0600; an
 * existing path is an error; unlinked on destroy), and guest-initiated
 * connections to host port P go to "<uds>_P". */
unsigned int virtio_vsock_count(const struct vm_config *cfg);
int virtio_vsock_check(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_vsock_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_vsock_create(uint64_t cid, const char *uds, struct hull_err **err);
/* Tests: how long a host client may take to its CONNECT line, and the guest
 * to answer it (default 10 s each); handshakes under way included. */
void virtio_vsock_set_handshake_ms(struct virtio_dev *d, unsigned int ms);
/* fs.c: one per vm_config.fs[]; its queues run in the vhost-user backend at
 * socket_path, which create connects to and negotiates with right away. */
unsigned int virtio_fs_count(const struct vm_config *cfg);
int virtio_fs_check(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_fs_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_fs_create(const char *socket_path, const char *tag, struct hull_err **err);

/* net.c: one per vm_config.nets[] (virtio 1.2 §5.1) on a tap; vhost_net.c runs
 * its data queues in the kernel when vhost-net is usable. */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
/* pairs + the controlq must fit the transport's queues */
#define VIRTIO_NET_MAX_PAIRS ((VIRTIO_MAX_QUEUES - 1) / 2)

/* §5.1.6 struct virtio_net_hdr (VERSION_1: num_buffers always there),
 * little endian; also the tap's header (TUNSETVNETHDRSZ 12). */
struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define VIRTIO_NET_HDR_LEN 12

struct virtio_net_params {
	int fds[VIRTIO_NET_MAX_PAIRS];  /* one per queue pair; consumed by create */
	unsigned int nfds;
	bool is_tap;                    /* else a socketpair (unit tests): no offloads */
	bool vhost;                     /* data queues in vhost-net */
	uint8_t mac[6];
	uint16_t mtu;
};

unsigned int virtio_net_count(const struct vm_config *cfg);
int virtio_net_check(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
struct virtio_dev *virtio_net_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err);
/* On failure the fds are the caller's. */
struct virtio_dev *virtio_net_create(const struct virtio_net_params *prm, struct hull_err **err);
/* Replace the receive (rx) and transmit (tx) limiters (ratelim_set), a NULL
 * one kept: both or neither; refused while vhost-net serves the queues and
 * one would limit.  Frames deferred by it so far. */
int virtio_net_set_limiter(struct virtio_dev *d, const struct vm_rate_limiter *rx, const struct vm_rate_limiter *tx,
			   struct hull_err **err);
uint64_t virtio_net_throttled(struct virtio_dev *d, bool rx);
/* Frames dropped so far (hostile or undeliverable). */
uint64_t virtio_net_dropped(const struct virtio_dev *d, bool rx);
/* Header checks both ways: a transmitted header may only use acked
 * offloads (-EINVAL: drop); a received one is fixed for the driver
 * (num_buffers set, flags it cannot take cleared) or -EINVAL (drop). */
int virtio_net_tx_hdr(struct virtio_net_hdr_v1 *h, uint64_t features, size_t frame_len);
int virtio_net_rx_hdr(struct virtio_net_hdr_v1 *h, uint64_t features, uint16_t num_buffers);
/* TUN_F_* the tap may hand us for these acked features. */
unsigned int virtio_net_tap_offloads(uint64_t features);

struct vhost_net;
/* 1: /dev/vhost-net opens; 0: it does not (required false); < 0 with *err
 * when required. */
int virtio_net_vhost_usable(bool required, struct hull_err **err);
/* One /dev/vhost-net fd per pair into fds[0..npairs) (-1 where it does not
 * open), opened when the device is made: a jailed VMM thread cannot open it
 * at activation (docs/vm-containers.md, "The VMM's jail"). */
void virtio_net_vhost_open(int *fds, unsigned int npairs);
/* Hand the data queues of an activated device to vhost-net: pair p on
 * tap_fds[p] through vhost_fds[p] (neither consumed; -1: opened now; stop
 * resets the owner of the given ones so that a later activation takes them
 * again). */
int virtio_net_vhost_start(struct virtio_dev *d, const int *tap_fds, const int *vhost_fds, unsigned int npairs,
			   struct vhost_net **out, struct hull_err **err);
void virtio_net_vhost_stop(struct vhost_net *v);

/* ---- virtio-pci transport (pci.c) ------------------------------------------- */

struct virtio_pci *virtio_pci_create(struct vm *vm, struct virtio_dev *vdev, struct hull_err **err);
void virtio_pci_destroy(struct virtio_pci *vp);
struct virtio_dev *virtio_pci_dev(struct virtio_pci *vp);

#endif
