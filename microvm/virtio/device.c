/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transport-independent virtio device helpers shared by every device.
 *
 * A guest that corrupts a ring breaks only its own device (§2.1.2
 * DEVICE_NEEDS_RESET): the device stops touching its queues until the
 * driver resets it, and the VMM keeps running.
 *
 * Division of work with the transport (virtio-pci):
 * - constructors (virtio_*_create) allocate the struct and its lock; the
 *   transport fills gm, loop, signal_used, signal_config and transport;
 * - at DRIVER_OK the transport runs virtq_setup on each queue with the
 *   negotiated EVENT_IDX / INDIRECT_DESC bits, then ops->activate;
 * - on a status write of 0 it calls ops->reset, then virtq_reset on every
 *   queue and clears status (which also clears NEEDS_RESET);
 * - virtio_dev_destroy runs ops->destroy and frees the struct.
 * "Broken" is the NEEDS_RESET status bit, so a driver reset revives the device.
 */
#include "microvm/virtio/virtio.h"

void virtio_dev_set_broken(struct virtio_dev *d, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;  /* already broken: warn and interrupt once */
	hull_warn("virtio-%s: device needs reset: %s", d->ops->name, why);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->signal_config)
		d->signal_config(d);
}

bool virtio_dev_broken(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_NEEDS_RESET) != 0;
}

void virtio_dev_complete(struct virtio_dev *d, unsigned int q, uint16_t head, uint32_t len)
{
	struct virtq *vq;

	if (q >= VIRTIO_MAX_QUEUES) {
		virtio_dev_set_broken(d, "completion on a queue that does not exist");
		return;
	}
	vq = &d->vqs[q];
	if (virtq_push(vq, head, len) < 0) {
		virtio_dev_set_broken(d, "used ring not writable");
		return;
	}
	if (virtq_should_signal(vq) && d->signal_used)
		d->signal_used(d, q);
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	if (!d)
		return;
	/* ops->destroy frees the device's private state; the struct itself and
	 * its lock were allocated by the device constructor and end here. */
	if (d->ops && d->ops->destroy)
		d->ops->destroy(d);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
