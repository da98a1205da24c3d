/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (virtio 1.2 §5.4): one requestq whose device-writable buffers we
 * fill from getrandom().  No config space, no feature bits.
 */
#include "microvm/virtio/virtio.h"

#include <sys/random.h>

/* §5.4.6.1 lets the device return fewer bytes than asked; capping one request
 * keeps a guest posting a huge buffer from stalling the event loop. */
#define RNG_MAX_PER_REQUEST (64u * 1024)

static uint64_t rng_features(struct virtio_dev *d)
{
	return 0;
}

/* No config space (§5.4.4); kept non-NULL so no transport must special-case it. */
static void rng_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
}

static void rng_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
}

static int rng_activate(struct virtio_dev *d)
{
	return 0;
}

/* Fill up to `want` bytes of the chain's writable buffers; returns bytes filled. */
static uint32_t fill_random(const struct virtq_chain *c, uint32_t want)
{
	uint32_t done = 0;

	for (unsigned int i = 0; i < c->n && done < want; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		uint32_t n = b->len;
		uint8_t *p = b->hva;

		if (!b->write)
			continue;
		if (n > want - done)
			n = want - done;
		while (n > 0) {
			ssize_t r = getrandom(p, n, 0);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				return done;
			}
			p += r;
			n -= (uint32_t)r;
			done += (uint32_t)r;
		}
	}
	return done;
}

static void rng_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct virtq_chain c;
	int r;

	if (qi != 0 || virtio_dev_broken(d))
		return;
	while ((r = virtq_pop(&d->vqs[0], &c)) > 0) {
		uint32_t n = fill_random(&c, RNG_MAX_PER_REQUEST);

		virtio_dev_complete(d, 0, c.head, n);
		virtq_chain_release(&c);
		if (virtio_dev_broken(d))
			return;
	}
	if (r < 0)
		virtio_dev_set_broken(d, "malformed requestq");
}

static void rng_reset(struct virtio_dev *d)
{
}

static void rng_destroy(struct virtio_dev *d)
{
}

static const struct virtio_dev_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.pci_class = 0xff, /* unassigned class */
	.num_queues = 1,
	.queue_max_size = 256,
	.config_size = 0,
	.features = rng_features,
	.config_read = rng_config_read,
	.config_write = rng_config_write,
	.activate = rng_activate,
	.queue_notify = rng_queue_notify,
	.reset = rng_reset,
	.destroy = rng_destroy,
};

struct virtio_dev *virtio_rng_create(struct hull_err **err)
{
	struct virtio_dev *d = xcalloc(1, sizeof(*d));

	d->ops = &rng_ops;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

unsigned int virtio_rng_count(const struct vm_config *cfg)
{
	return 1;
}

struct virtio_dev *virtio_rng_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	return virtio_rng_create(err);
}
