/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio 1.2 modern PCI transport (§4.1).  One 32-bit memory BAR holds
 * everything:
 *   0x0000 common configuration (§4.1.4.3)   0x1000 ISR status (§4.1.4.5)
 *   0x2000 device-specific configuration     0x3000 notifications, 4 bytes/queue
 *   0x4000 MSI-X table                        0x5000 MSI-X PBA
 * Notifications are KVM ioeventfds handled on the event loop thread, which
 * calls ops->queue_notify under d->lock; interrupts are MSI-X irqfds.
 *
 * The guest is hostile: queue_select is bounds-checked on every use (an
 * out-of-range queue reads as zero and ignores writes), queue sizes must be
 * powers of two within the device maximum, rings are validated by
 * virtq_setup before a queue is enabled, and features never offered are
 * dropped when the driver acks.
 */
#include "microvm/virtio/virtio.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#define VP_BAR 0
#define VP_BAR_SIZE 0x8000
#define VP_COMMON 0x0000
#define VP_COMMON_LEN 0x40
#define VP_ISR 0x1000
#define VP_DEVCFG 0x2000
#define VP_NOTIFY 0x3000
#define VP_NOTIFY_MULT 4
#define VP_MSIX_TABLE 0x4000
#define VP_MSIX_PBA 0x5000
#define VIRTIO_MSI_NO_VECTOR 0xffff

#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

struct vp_queue {
	uint16_t size, vector, enable;
	uint32_t desc_lo, desc_hi, drv_lo, drv_hi, dev_lo, dev_hi;
};

struct vp_notify {
	struct virtio_pci *vp;
	unsigned int q;
	int fd;
};

struct virtio_pci {
	struct pci_dev pci;          /* first: pci_dev -> virtio_pci */
	struct vm *vm;
	struct virtio_dev *vdev;
	uint64_t offered;
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t config_vector, queue_sel;
	uint8_t isr, config_gen;
	bool activated;
	struct vp_queue q[VIRTIO_MAX_QUEUES];
	struct vp_notify notify[VIRTIO_MAX_QUEUES];
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static uint32_t get(const uint8_t *p, unsigned int n)
{
	uint32_t v = 0;
	for (unsigned int i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static unsigned int nqueues(const struct virtio_pci *vp)
{
	unsigned int n = vp->vdev->ops->num_queues;
	return n > VIRTIO_MAX_QUEUES ? VIRTIO_MAX_QUEUES : n;
}

static unsigned int nvectors(const struct virtio_pci *vp)
{
	return nqueues(vp) + 1;
}

/* The selected queue, or NULL when queue_select is out of range. */
static struct vp_queue *selq(struct virtio_pci *vp)
{
	return vp->queue_sel < nqueues(vp) ? &vp->q[vp->queue_sel] : NULL;
}

static void reset_queues(struct virtio_pci *vp)
{
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		vp->q[i] = (struct vp_queue){ .size = vp->vdev->ops->queue_max_size, .vector = VIRTIO_MSI_NO_VECTOR };
		virtq_reset(&vp->vdev->vqs[i]);
	}
}

/* ---- common configuration ----------------------------------------------------- */

static void common_image(struct virtio_pci *vp, uint8_t img[VP_COMMON_LEN])
{
	struct virtio_dev *d = vp->vdev;
	struct vp_queue *q = selq(vp);

	memset(img, 0, VP_COMMON_LEN);
	put32(img + 0, vp->dfselect);
	if (vp->dfselect < 2)
		put32(img + 4, (uint32_t)(vp->offered >> (32 * vp->dfselect)));
	put32(img + 8, vp->gfselect);
	if (vp->gfselect < 2)
		put32(img + 12, (uint32_t)(vp->driver_features >> (32 * vp->gfselect)));
	put16(img + 16, vp->config_vector);
	put16(img + 18, (uint16_t)nqueues(vp));
	img[20] = d->status;
	img[21] = vp->config_gen;
	put16(img + 22, vp->queue_sel);
	if (q) {
		put16(img + 24, q->size);
		put16(img + 26, q->vector);
		put16(img + 28, q->enable);
		put16(img + 30, vp->queue_sel); /* queue_notify_off */
		put32(img + 32, q->desc_lo);
		put32(img + 36, q->desc_hi);
		put32(img + 40, q->drv_lo);
		put32(img + 44, q->drv_hi);
		put32(img + 48, q->dev_lo);
		put32(img + 52, q->dev_hi);
	}
}

static uint16_t check_vector(struct virtio_pci *vp, uint32_t v)
{
	/* A vector the device does not have reads back as NO_VECTOR (§4.1.5.1.2). */
	return v < nvectors(vp) ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void device_reset(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->vdev;

	if (d->ops->reset)
		d->ops->reset(d);
	reset_queues(vp);
	d->status = 0;
	d->acked_features = 0;
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	__atomic_store_n(&vp->isr, 0, __ATOMIC_RELAXED);
	vp->activated = false;
}

static void write_status(struct virtio_pci *vp, uint8_t v)
{
	struct virtio_dev *d = vp->vdev;
	uint8_t old = d->status;

	if (v == 0) {
		device_reset(vp);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		d->acked_features = vp->driver_features & vp->offered;
		/* A modern transport only runs VERSION_1 drivers (§4.1.2.1). */
		if (!(d->acked_features & (1ULL << VIRTIO_F_VERSION_1)))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && !vp->activated &&
	    (v & VIRTIO_STATUS_FEATURES_OK)) {
		vp->activated = true;
		d->status = (uint8_t)(v | (old & VIRTIO_STATUS_NEEDS_RESET));
		if (d->ops->activate && d->ops->activate(d) < 0)
			virtio_dev_set_broken(d, "activation failed");
		return;
	}
	d->status = (uint8_t)(v | (old & VIRTIO_STATUS_NEEDS_RESET));
}

static void enable_queue(struct virtio_pci *vp, unsigned int qi)
{
	struct virtio_dev *d = vp->vdev;
	struct vp_queue *q = &vp->q[qi];
	uint64_t desc = (uint64_t)q->desc_hi << 32 | q->desc_lo, drv = (uint64_t)q->drv_hi << 32 | q->drv_lo,
		 dev = (uint64_t)q->dev_hi << 32 | q->dev_lo;
	int r = virtq_setup(&d->vqs[qi], d->gm, q->size, desc, drv, dev,
			    d->acked_features & (1ULL << VIRTIO_F_EVENT_IDX),
			    d->acked_features & (1ULL << VIRTIO_F_INDIRECT_DESC));

	if (r < 0) {
		virtio_dev_set_broken(d, "queue enabled with an invalid ring layout");
		return;
	}
	q->enable = 1;
}

static void set_field(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	struct vp_queue *q = selq(vp);
	unsigned int qi = vp->queue_sel;
	bool live = q && !q->enable; /* ring addresses are frozen once enabled */

	switch (off) {
	case 0: vp->dfselect = v; break;
	case 8: vp->gfselect = v; break;
	case 12:
		if (vp->gfselect < 2 && !(vp->vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
			uint64_t mask = 0xffffffffULL << (32 * vp->gfselect);
			/* Bits never offered are dropped right away. */
			vp->driver_features = (vp->driver_features & ~mask) |
					      (((uint64_t)v << (32 * vp->gfselect)) & mask & vp->offered);
		}
		break;
	case 16: vp->config_vector = check_vector(vp, v); break;
	case 20: write_status(vp, (uint8_t)v); break;
	case 22: vp->queue_sel = (uint16_t)v; break;
	case 24:
		if (live && v && v <= vp->vdev->ops->queue_max_size && !(v & (v - 1)))
			q->size = (uint16_t)v;
		break;
	case 26: if (q) q->vector = check_vector(vp, v); break;
	case 28: if (live && v == 1) enable_queue(vp, qi); break;
	case 32: if (live) q->desc_lo = v; break;
	case 36: if (live) q->desc_hi = v; break;
	case 40: if (live) q->drv_lo = v; break;
	case 44: if (live) q->drv_hi = v; break;
	case 48: if (live) q->dev_lo = v; break;
	case 52: if (live) q->dev_hi = v; break;
	default: break; /* read-only */
	}
}

static const struct { uint8_t off, size; } fields[] = {
	{ 0, 4 }, { 4, 4 }, { 8, 4 }, { 12, 4 }, { 16, 2 }, { 18, 2 }, { 20, 1 }, { 21, 1 }, { 22, 2 },
	{ 24, 2 }, { 26, 2 }, { 28, 2 }, { 30, 2 }, { 32, 4 }, { 36, 4 }, { 40, 4 }, { 44, 4 }, { 48, 4 },
	{ 52, 4 }, { 56, 2 }, { 58, 2 },
};

/* Any width at any offset: reads slice an image of the registers, writes
 * merge into it and apply each field they touched.  Holds d->lock. */
static void common_access(struct virtio_pci *vp, uint64_t off, void *data, uint32_t len, bool write)
{
	uint8_t img[VP_COMMON_LEN];

	if (off >= VP_COMMON_LEN)
		return;
	if (len > VP_COMMON_LEN - off)
		len = (uint32_t)(VP_COMMON_LEN - off);
	common_image(vp, img);
	if (!write) {
		memcpy(data, img + off, len);
		return;
	}
	memcpy(img + off, data, len);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (off < (uint64_t)fields[i].off + fields[i].size && fields[i].off < off + len)
			set_field(vp, fields[i].off, get(img + fields[i].off, fields[i].size));
}

/* ---- interrupts and notifications ----------------------------------------------- */

static void signal_used(struct virtio_dev *d, unsigned int q)
{
	struct virtio_pci *vp = d->transport;
	uint16_t v;

	if (q >= nqueues(vp))
		return;
	v = __atomic_load_n(&vp->q[q].vector, __ATOMIC_RELAXED);
	__atomic_fetch_or(&vp->isr, 1, __ATOMIC_RELAXED);
	if (v != VIRTIO_MSI_NO_VECTOR)
		pci_msix_signal(&vp->pci, v);
}

static void signal_config(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->transport;
	uint16_t v = __atomic_load_n(&vp->config_vector, __ATOMIC_RELAXED);

	__atomic_fetch_or(&vp->isr, 2, __ATOMIC_RELAXED);
	__atomic_fetch_add(&vp->config_gen, 1, __ATOMIC_RELAXED);
	if (v != VIRTIO_MSI_NO_VECTOR)
		pci_msix_signal(&vp->pci, v);
}

/* Event loop thread: the guest kicked a queue. */
static void notify_ready(void *opaque, uint32_t events)
{
	struct vp_notify *n = opaque;
	struct virtio_pci *vp = n->vp;
	struct virtio_dev *d = vp->vdev;
	uint64_t cnt;

	if (read(n->fd, &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && vp->q[n->q].enable && !virtio_dev_broken(d))
		d->ops->queue_notify(d, n->q);
	pthread_mutex_unlock(&d->lock);
}

static void kick(struct virtio_pci *vp, unsigned int q)
{
	uint64_t one = 1;
	if (q < nqueues(vp) && write(vp->notify[q].fd, &one, sizeof(one)) < 0)
		hull_debug("virtio-pci: notify eventfd: %s", strerror(errno));
}

static void bar_access(struct pci_dev *pd, unsigned int bar, uint64_t off, void *data, uint32_t len, bool write)
{
	struct virtio_pci *vp = (struct virtio_pci *)pd;
	struct virtio_dev *d = vp->vdev;

	if (!write)
		memset(data, 0, len);
	if (bar != VP_BAR)
		return;
	if (off >= VP_MSIX_PBA) {
		pci_msix_pba_access(pd, off - VP_MSIX_PBA, data, len, write);
	} else if (off >= VP_MSIX_TABLE) {
		pci_msix_table_access(pd, off - VP_MSIX_TABLE, data, len, write);
	} else if (off >= VP_NOTIFY) {
		/* Reached only when the ioeventfd did not match; same path anyway. */
		if (write)
			kick(vp, (unsigned int)((off - VP_NOTIFY) / VP_NOTIFY_MULT));
	} else if (off >= VP_DEVCFG) {
		uint64_t o = off - VP_DEVCFG, size = d->ops->config_size;
		if (o >= size)
			return;
		if (len > size - o)
			len = (uint32_t)(size - o);
		pthread_mutex_lock(&d->lock);
		if (write && d->ops->config_write)
			d->ops->config_write(d, (uint32_t)o, data, len);
		else if (!write && d->ops->config_read)
			d->ops->config_read(d, (uint32_t)o, data, len);
		pthread_mutex_unlock(&d->lock);
	} else if (off >= VP_ISR) {
		if (!write && off == VP_ISR)
			*(uint8_t *)data = __atomic_exchange_n(&vp->isr, 0, __ATOMIC_RELAXED); /* read clears */
	} else {
		pthread_mutex_lock(&d->lock);
		common_access(vp, off, data, len, write);
		pthread_mutex_unlock(&d->lock);
	}
}

/* Move the queues' ioeventfds with the BAR.  Called under the PCI lock. */
static void bar_moved(struct pci_dev *pd, unsigned int bar, uint64_t old, uint64_t addr)
{
	struct virtio_pci *vp = (struct virtio_pci *)pd;
	uint32_t len = vp->vm->ioeventfd_any_len ? 0 : 2;

	if (bar != VP_BAR || vp->vm->vm_fd < 0) /* no KVM (unit tests): MMIO kicks only */
		return;
	for (unsigned int q = 0; q < nqueues(vp); q++) {
		uint64_t o = VP_NOTIFY + (uint64_t)q * VP_NOTIFY_MULT;
		if (old)
			vm_ioeventfd(vp->vm, vp->notify[q].fd, old + o, len, false);
		if (addr) {
			int r = vm_ioeventfd(vp->vm, vp->notify[q].fd, addr + o, len, true);
			if (r < 0)
				hull_warn("virtio-%s: KVM_IOEVENTFD: %s", vp->vdev->ops->name, strerror(-r));
		}
	}
}

static const struct pci_dev_ops vp_ops = { .bar_access = bar_access, .bar_moved = bar_moved };

/* ---- construction --------------------------------------------------------------- */

static void add_vcap(struct pci_dev *pd, uint8_t type, uint32_t off, uint32_t len, bool notify)
{
	uint8_t cap[20] = { 0x09, 0, notify ? 20 : 16, type, VP_BAR };
	put32(cap + 8, off);
	put32(cap + 12, len);
	if (notify)
		put32(cap + 16, VP_NOTIFY_MULT);
	pci_dev_add_cap(pd, cap, notify ? 20 : 16);
}

static void queue_fds(struct virtio_dev *d, unsigned int q, int *kick, int *call)
{
	struct virtio_pci *vp = d->transport;
	struct pci_msix *m = vp->pci.msix;
	uint16_t v;

	*kick = *call = -1;
	if (q >= nqueues(vp))
		return;
	*kick = vp->notify[q].fd;
	v = vp->q[q].vector;
	/* The irqfd goes straight to KVM: a vector the guest masks later still
	 * interrupts (spurious for the driver, which re-checks its used ring),
	 * where our own signal_used would set its PBA bit instead. */
	if (m && v != VIRTIO_MSI_NO_VECTOR && v < m->n)
		*call = m->irqfd[v];
}

struct virtio_pci *virtio_pci_create(struct vm *vm, struct virtio_dev *vdev, struct hull_err **err)
{
	struct virtio_pci *vp = xcalloc(1, sizeof(*vp));
	const struct virtio_dev_ops *ops = vdev->ops;
	unsigned int i;

	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vp->notify[i].fd = -1;
	vp->vm = vm;
	vp->vdev = vdev;
	if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MAX_QUEUES || ops->queue_max_size == 0 ||
	    ops->queue_max_size > VIRTQ_MAX_SIZE || (ops->queue_max_size & (ops->queue_max_size - 1)) ||
	    ops->config_size > VP_NOTIFY - VP_DEVCFG) {
		hull_err_make(err, EINVAL, "virtio-%s: bad queue or config geometry", ops->name);
		goto fail;
	}
	pci_dev_init(&vp->pci, 0x1af4, (uint16_t)(0x1040 + ops->device_id), ops->pci_class, ops->pci_subclass,
		     ops->pci_progif, 0x1af4, (uint16_t)(0x1040 + ops->device_id));
	vp->pci.ops = &vp_ops;
	vp->pci.opaque = vp;
	pci_dev_set_bar(&vp->pci, VP_BAR, VP_BAR_SIZE, false);
	add_vcap(&vp->pci, CAP_COMMON, VP_COMMON, VP_COMMON_LEN, false);
	add_vcap(&vp->pci, CAP_ISR, VP_ISR, 4, false);
	if (ops->config_size)
		add_vcap(&vp->pci, CAP_DEVICE, VP_DEVCFG, ops->config_size, false);
	add_vcap(&vp->pci, CAP_NOTIFY, VP_NOTIFY, nqueues(vp) * VP_NOTIFY_MULT, true);
	if (pci_msix_init(&vp->pci, nvectors(vp), VP_BAR, VP_MSIX_TABLE, VP_MSIX_PBA, err) < 0)
		goto fail;

	vp->offered = (ops->features ? ops->features(vdev) : 0) | 1ULL << VIRTIO_F_VERSION_1 |
		      1ULL << VIRTIO_F_EVENT_IDX | 1ULL << VIRTIO_F_INDIRECT_DESC;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vdev->gm = &vm->gm;
	vdev->loop = vm->loop;
	vdev->signal_used = signal_used;
	vdev->signal_config = signal_config;
	vdev->queue_fds = queue_fds;
	vdev->transport = vp;
	reset_queues(vp);

	for (i = 0; i < nqueues(vp); i++) {
		vp->notify[i] = (struct vp_notify){ .vp = vp, .q = i,
						    .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
		if (vp->notify[i].fd < 0) {
			hull_err_make(err, errno, "virtio-%s: eventfd", ops->name);
			goto fail;
		}
		if (ops->vhost)
			continue; /* the backend process reads it */
		int r = evloop_add(vm->loop, vp->notify[i].fd, EPOLLIN, notify_ready, &vp->notify[i]);
		if (r < 0) {
			close(vp->notify[i].fd);
			vp->notify[i].fd = -1;
			hull_err_make(err, -r, "virtio-%s: event loop", ops->name);
			goto fail;
		}
	}
	vp->pci.bus = vm->pci;
	if (pci_msix_connect(&vp->pci, err) < 0)
		goto fail;
	if (pci_bus_add(vm->pci, &vp->pci, err) < 0)
		goto fail;
	return vp;
fail:
	vp->pci.bus = vm->pci;
	vp->vdev = NULL; /* the caller still owns vdev on failure */
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vp->notify[i].fd < 0)
			continue;
		evloop_del(vm->loop, vp->notify[i].fd);
		close(vp->notify[i].fd);
	}
	pci_msix_destroy(&vp->pci);
	free(vp);
	return NULL;
}

/* Consumes the virtio device.  vCPUs and the event loop have stopped. */
void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp)
		return;
	pci_bus_remove(vp->vm->pci, &vp->pci);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vp->notify[i].fd < 0)
			continue;
		evloop_del(vp->vm->loop, vp->notify[i].fd);
		close(vp->notify[i].fd);
	}
	pci_msix_destroy(&vp->pci);
	virtio_dev_destroy(vp->vdev);
	free(vp);
}

struct virtio_dev *virtio_pci_dev(struct virtio_pci *vp)
{
	return vp->vdev;
}
