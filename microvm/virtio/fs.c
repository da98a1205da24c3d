/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-fs (virtio 1.2 §5.11) as a vhost-user frontend: the FUSE server is
 * another process (`hull virtiofsd`) that maps guest RAM and runs the
 * queues itself.  This device only owns the config space (tag and
 * num_request_queues, never asked of the backend) and the hand-over: at
 * DRIVER_OK it sends the acked features, the memory table and, per queue,
 * the ring addresses, the queue's KVM ioeventfd as kick fd and its MSI-X
 * irqfd as call fd, so a request costs the VMM nothing.  At reset it takes
 * the rings back (GET_VRING_BASE).
 *
 * A backend that dies or refuses something puts the device in NEEDS_RESET
 * (config interrupt, one warning); the VMM and the other devices go on.
 * Queues: 0 = hiprio, 1 = the one request queue.
 */
#include "microvm/virtio/vhost_user.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#define FS_NUM_REQUEST_QUEUES 1
#define FS_NUM_QUEUES (1 + FS_NUM_REQUEST_QUEUES)
#define FS_CONFIG_SIZE 40 /* tag[36] + le32 num_request_queues (§5.11.4) */

/* The transport offers these on every device; the backend must run them. */
#define FS_NEEDED (1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX | 1ULL << VIRTIO_F_INDIRECT_DESC)

struct fs_queue {
	struct virtio_dev *d;
	unsigned int q;
	bool started;
	int own_call;   /* eventfd we relay to signal_used when the queue has no irqfd */
	int err;        /* the backend signals a ring it stopped */
};

struct fs_dev {
	struct vhu_front front;
	uint8_t config[FS_CONFIG_SIZE];
	bool watching;  /* socket in the event loop */
	struct fs_queue q[FS_NUM_QUEUES];
};

static struct fs_dev *fs_of(struct virtio_dev *d)
{
	return d->priv;
}

static uint64_t fs_features(struct virtio_dev *d)
{
	return 0; /* VIRTIO_FS_F_NOTIFICATION is not offered */
}

static void fs_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	memcpy(buf, fs_of(d)->config + off, len); /* clamped by the transport */
}

static void fs_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
	/* read-only (§5.11.4) */
}

static void fs_queue_notify(struct virtio_dev *d, unsigned int q)
{
	/* never called: the backend reads the kick fds (ops.vhost) */
}

/* Event loop: the backend closed the socket (it died or gave up). */
static void backend_gone(void *opaque, uint32_t events)
{
	struct virtio_dev *d = opaque;
	struct fs_dev *fs = fs_of(d);

	pthread_mutex_lock(&d->lock);
	evloop_del(d->loop, fs->front.sock);
	fs->watching = false;
	fs->front.dead = true;
	virtio_dev_set_broken(d, "vhost-user backend disconnected");
	pthread_mutex_unlock(&d->lock);
}

static void queue_error(void *opaque, uint32_t events)
{
	struct fs_queue *fq = opaque;
	uint64_t v;

	if (read(fq->err, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&fq->d->lock);
	virtio_dev_set_broken(fq->d, "vhost-user backend stopped a queue (malformed ring)");
	pthread_mutex_unlock(&fq->d->lock);
}

/* No irqfd for this queue: relay the backend's call through signal_used
 * (which also honours MSI-X masking). */
static void relay_call(void *opaque, uint32_t events)
{
	struct fs_queue *fq = opaque;
	uint64_t v;

	if (read(fq->own_call, &v, sizeof(v)) >= 0 && fq->d->signal_used)
		fq->d->signal_used(fq->d, fq->q);
}

static int watch(struct virtio_dev *d, int *fd, evloop_cb cb, void *opaque, struct hull_err **err)
{
	int r;

	if (*fd >= 0)
		return 0;
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0)
		return hull_err_make(err, errno, "eventfd");
	r = evloop_add(d->loop, *fd, EPOLLIN, cb, opaque);
	if (r < 0) {
		close(*fd);
		*fd = -1;
		return hull_err_make(err, -r, "event loop");
	}
	return 0;
}

static int start_queue(struct virtio_dev *d, struct fs_queue *fq, struct hull_err **err)
{
	struct virtq *vq = &d->vqs[fq->q];
	struct vhu_vring_cfg c = { .num = vq->size, .base = 0, .err = -1 };
	void *desc, *avail, *used;

	/* The transport's virtq_setup validated the rings in guest memory;
	 * the backend gets our mapping's addresses (vhost-user "user
	 * addresses"), which it translates through the memory table. */
	if (gm_slice(d->gm, vq->desc_gpa, 1, &desc) < 0 || gm_slice(d->gm, vq->avail_gpa, 1, &avail) < 0 ||
	    gm_slice(d->gm, vq->used_gpa, 1, &used) < 0)
		return hull_err_make(err, EFAULT, "queue %u: ring outside guest memory", fq->q);
	c.desc = (uintptr_t)desc;
	c.avail = (uintptr_t)avail;
	c.used = (uintptr_t)used;
	d->queue_fds(d, fq->q, &c.kick, &c.call);
	if (c.call < 0) {
		if (watch(d, &fq->own_call, relay_call, fq, err) < 0)
			return -1;
		c.call = fq->own_call;
	}
	if (watch(d, &fq->err, queue_error, fq, err) < 0)
		return -1;
	c.err = fq->err;
	if (vhu_front_vring_start(&fs_of(d)->front, fq->q, &c, err) < 0)
		return -1;
	fq->started = true;
	return 0;
}

/* DRIVER_OK, under d->lock on a vCPU thread. */
static int fs_activate(struct virtio_dev *d)
{
	struct fs_dev *fs = fs_of(d);
	struct hull_err *err = NULL;
	int r;

	if (!fs->watching && !fs->front.dead) {
		/* Only hang-ups matter: replies are read synchronously. */
		r = evloop_add(d->loop, fs->front.sock, EPOLLRDHUP, backend_gone, d);
		if (r < 0)
			hull_err_make(&err, -r, "event loop");
		fs->watching = r == 0;
	}
	r = err ? -1 : vhu_front_set_features(&fs->front, d->acked_features, &err);
	if (r == 0)
		r = vhu_front_set_mem_table(&fs->front, d->gm, &err);
	for (unsigned int i = 0; r == 0 && i < FS_NUM_QUEUES; i++)
		if (d->vqs[i].ready)
			r = start_queue(d, &fs->q[i], &err);
	if (r < 0) {
		char why[320];
		snprintf(why, sizeof(why), "%s", err ? err->msg : "vhost-user");
		hull_err_free(&err);
		virtio_dev_set_broken(d, why);
	}
	return r;
}

/* Status 0, under d->lock: take the rings back from the backend. */
static void fs_reset(struct virtio_dev *d)
{
	struct fs_dev *fs = fs_of(d);

	for (unsigned int i = 0; i < FS_NUM_QUEUES; i++) {
		struct hull_err *err = NULL;

		if (!fs->q[i].started)
			continue;
		fs->q[i].started = false;
		if (!fs->front.dead && vhu_front_vring_stop(&fs->front, i, NULL, &err) < 0) {
			hull_warn("virtio-fs: %s", err->msg);
			hull_err_free(&err);
		}
	}
}

static void fs_destroy(struct virtio_dev *d)
{
	struct fs_dev *fs = fs_of(d);

	if (!fs)
		return;
	for (unsigned int i = 0; i < FS_NUM_QUEUES; i++) {
		int *fds[] = { &fs->q[i].own_call, &fs->q[i].err };
		for (size_t k = 0; k < ARRAY_SIZE(fds); k++) {
			if (*fds[k] < 0)
				continue;
			if (d->loop)
				evloop_del(d->loop, *fds[k]);
			close(*fds[k]);
		}
	}
	if (fs->watching)
		evloop_del(d->loop, fs->front.sock);
	vhu_front_close(&fs->front);
	free(fs);
	d->priv = NULL;
}

static const struct virtio_dev_ops fs_ops = {
	.name = "fs",
	.device_id = VIRTIO_ID_FS,
	.pci_class = 0x01, /* mass storage, other (as QEMU's vhost-user-fs-pci) */
	.pci_subclass = 0x80,
	.num_queues = FS_NUM_QUEUES,
	.queue_max_size = VIRTQ_MAX_SIZE,
	.config_size = FS_CONFIG_SIZE,
	.vhost = true,
	.features = fs_features,
	.config_read = fs_config_read,
	.config_write = fs_config_write,
	.activate = fs_activate,
	.queue_notify = fs_queue_notify,
	.reset = fs_reset,
	.destroy = fs_destroy,
};

struct virtio_dev *virtio_fs_create(const char *socket_path, const char *tag, struct hull_err **err)
{
	size_t tlen = tag ? strlen(tag) : 0;
	struct virtio_dev *d;
	struct fs_dev *fs;

	if (tlen == 0 || tlen > MICROVM_FS_TAG_MAX) {
		hull_err_make(err, EINVAL, "virtio-fs tag \"%s\": 1..%d bytes", tag ? tag : "", MICROVM_FS_TAG_MAX);
		return NULL;
	}
	fs = xcalloc(1, sizeof(*fs));
	d = xcalloc(1, sizeof(*d));
	d->ops = &fs_ops;
	d->priv = fs;
	pthread_mutex_init(&d->lock, NULL);
	for (unsigned int i = 0; i < FS_NUM_QUEUES; i++)
		fs->q[i] = (struct fs_queue){ .d = d, .q = i, .own_call = -1, .err = -1 };
	memcpy(fs->config, tag, tlen); /* not NUL-terminated at 36 bytes (§5.11.4) */
	fs->config[36] = FS_NUM_REQUEST_QUEUES; /* le32 */
	if (vhu_front_connect(&fs->front, socket_path, err) < 0)
		goto fail;
	if ((fs->front.backend_features & FS_NEEDED) != FS_NEEDED) {
		hull_err_make(err, ENOTSUP, "vhost-user %s: backend lacks VERSION_1, EVENT_IDX or INDIRECT_DESC",
			      socket_path);
		goto fail;
	}
	return d;
fail:
	virtio_dev_destroy(d);
	return NULL;
}

unsigned int virtio_fs_count(const struct vm_config *cfg)
{
	return cfg->nfs;
}

int virtio_fs_check(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	const struct vm_fs *fs = &cfg->fs[i];
	struct stat st;

	if (!fs->tag || !*fs->tag || strlen(fs->tag) > MICROVM_FS_TAG_MAX)
		return hull_err_make(err, 0, "--fs tag=%s: 1..%d bytes", fs->tag ? fs->tag : "", MICROVM_FS_TAG_MAX);
	for (unsigned int j = 0; j < i; j++)
		if (strcmp(cfg->fs[j].tag, fs->tag) == 0)
			return hull_err_make(err, 0, "--fs tag=%s: used twice", fs->tag);
	if (!fs->socket_path || stat(fs->socket_path, &st) < 0)
		return hull_err_make(err, errno, "--fs socket=%s", fs->socket_path ? fs->socket_path : "");
	if (!S_ISSOCK(st.st_mode))
		return hull_err_make(err, 0, "--fs socket=%s: not a Unix socket", fs->socket_path);
	return 0;
}

struct virtio_dev *virtio_fs_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	struct virtio_dev *d = virtio_fs_create(cfg->fs[i].socket_path, cfg->fs[i].tag, err);

	if (!d)
		hull_err_wrap(err, "--fs tag=%s", cfg->fs[i].tag);
	return d;
}
