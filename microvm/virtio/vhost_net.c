/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-net: the data queues of a virtio-net device served by the host
 * kernel (Documentation/virt/... vhost ioctls, <linux/vhost.h>).
 *
 * One /dev/vhost-net fd per queue pair (its vring 0 = receiveq, 1 =
 * transmitq), bound to that pair's tap queue by VHOST_NET_SET_BACKEND.  The
 * kick fd of each vring is the queue's KVM ioeventfd and the call fd its
 * MSI-X irqfd, both from the transport (d->queue_fds, shared with the
 * vhost-user frontend; ops.vhost keeps the kick fds out of our event loop),
 * so a frame costs the VMM nothing.  The memory table is our own mapping of
 * guest RAM (vhost-net runs in this process's address space).  A ring the
 * kernel cannot use signals the vring's error eventfd: the device is then
 * NEEDS_RESET, as for a ring we parse ourselves.
 *
 * The tap does the virtio_net_hdr (vnet_hdr_sz 12 set at create): vhost gets
 * no VHOST_NET_F_VIRTIO_NET_HDR, so it passes headers through.  Started at
 * DRIVER_OK, stopped (fds closed: the kernel drops the rings) at reset.
 */
#include "microvm/virtio/virtio.h"

#include <linux/vhost.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#define VHOST_NET_PATH "/dev/vhost-net"

struct vhost_ring_err {
	struct virtio_dev *d;
	int fd;
};

struct vhost_net {
	struct virtio_dev *d;
	unsigned int npairs;
	int fd[VIRTIO_NET_MAX_PAIRS];
	bool own[VIRTIO_NET_MAX_PAIRS];  /* fd[p] opened at start: closed at stop */
	struct vhost_ring_err err[2 * VIRTIO_NET_MAX_PAIRS];
};

int virtio_net_vhost_usable(bool required, struct hull_err **err)
{
	int fd = open(VHOST_NET_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (required)
			return hull_err_make(err, errno, "vhost=on: %s (vhost_net module loaded?)", VHOST_NET_PATH);
		return 0;
	}
	close(fd);
	return 1;
}

static void ring_failed(void *opaque, uint32_t events)
{
	struct vhost_ring_err *re = opaque;
	uint64_t v;

	if (read(re->fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&re->d->lock);
	virtio_dev_set_broken(re->d, "vhost-net stopped a queue (malformed ring)");
	pthread_mutex_unlock(&re->d->lock);
}

/* Memory table: every guest RAM region at its address in this process. */
static int set_mem_table(int fd, const struct guest_mem *gm, struct hull_err **err)
{
	_cleanup_free_ struct vhost_memory *m =
		xcalloc(1, sizeof(*m) + gm->n * sizeof(struct vhost_memory_region));

	m->nregions = gm->n;
	for (unsigned int i = 0; i < gm->n; i++)
		m->regions[i] = (struct vhost_memory_region){ .guest_phys_addr = gm->regions[i].gpa,
							      .memory_size = gm->regions[i].size,
							      .userspace_addr = (uintptr_t)gm->regions[i].hva };
	if (ioctl(fd, VHOST_SET_MEM_TABLE, m) < 0)
		return hull_err_make(err, errno, "VHOST_SET_MEM_TABLE");
	return 0;
}

static int start_ring(struct vhost_net *v, int fd, unsigned int q, unsigned int idx, struct hull_err **err)
{
	struct virtio_dev *d = v->d;
	struct virtq *vq = &d->vqs[q];
	struct vhost_vring_state num = { .index = idx, .num = vq->size };
	struct vhost_vring_state base = { .index = idx, .num = vq->last_avail };
	struct vhost_vring_file kick = { .index = idx, .fd = -1 }, call = { .index = idx, .fd = -1 };
	struct vhost_ring_err *re = &v->err[q];
	struct vhost_vring_file errf = { .index = idx };
	void *desc, *avail, *used;
	int r;

	/* virtq_setup validated the whole rings; the kernel wants our addresses */
	if (gm_slice(d->gm, vq->desc_gpa, 1, &desc) < 0 || gm_slice(d->gm, vq->avail_gpa, 1, &avail) < 0 ||
	    gm_slice(d->gm, vq->used_gpa, 1, &used) < 0)
		return hull_err_make(err, EFAULT, "queue %u: ring outside guest memory", q);
	struct vhost_vring_addr addr = { .index = idx, .desc_user_addr = (uintptr_t)desc,
					 .avail_user_addr = (uintptr_t)avail, .used_user_addr = (uintptr_t)used };

	if (d->queue_fds)
		d->queue_fds(d, q, &kick.fd, &call.fd);
	if (kick.fd < 0 || call.fd < 0)
		return hull_err_make(err, EINVAL, "queue %u: no MSI-X vector (vhost-net needs one per queue)", q);
	re->d = d;
	re->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (re->fd < 0)
		return hull_err_make(err, errno, "eventfd");
	r = evloop_add(d->loop, re->fd, EPOLLIN, ring_failed, re);
	if (r < 0) {
		close(re->fd);
		re->fd = -1;
		return hull_err_make(err, -r, "event loop");
	}
	errf.fd = re->fd;
	if (ioctl(fd, VHOST_SET_VRING_NUM, &num) < 0)
		return hull_err_make(err, errno, "VHOST_SET_VRING_NUM %u", q);
	if (ioctl(fd, VHOST_SET_VRING_BASE, &base) < 0)
		return hull_err_make(err, errno, "VHOST_SET_VRING_BASE %u", q);
	if (ioctl(fd, VHOST_SET_VRING_ADDR, &addr) < 0)
		return hull_err_make(err, errno, "VHOST_SET_VRING_ADDR %u", q);
	if (ioctl(fd, VHOST_SET_VRING_ERR, &errf) < 0)
		return hull_err_make(err, errno, "VHOST_SET_VRING_ERR %u", q);
	if (ioctl(fd, VHOST_SET_VRING_KICK, &kick) < 0)
		return hull_err_make(err, errno, "VHOST_SET_VRING_KICK %u", q);
	if (ioctl(fd, VHOST_SET_VRING_CALL, &call) < 0)
		return hull_err_make(err, errno, "VHOST_SET_VRING_CALL %u", q);
	return 0;
}

void virtio_net_vhost_open(int *fds, unsigned int npairs)
{
	for (unsigned int p = 0; p < npairs; p++)
		fds[p] = open(VHOST_NET_PATH, O_RDWR | O_CLOEXEC);
}

static int start_pair(struct vhost_net *v, unsigned int p, int tap_fd, int fd, struct hull_err **err)
{
	struct virtio_dev *d = v->d;
	uint64_t have, want;

	if (fd < 0) {
		fd = open(VHOST_NET_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return hull_err_make(err, errno, "%s", VHOST_NET_PATH);
		v->own[p] = true;
	}
	v->fd[p] = fd;
	if (ioctl(fd, VHOST_SET_OWNER) < 0)
		return hull_err_make(err, errno, "VHOST_SET_OWNER");
	if (ioctl(fd, VHOST_GET_FEATURES, &have) < 0)
		return hull_err_make(err, errno, "VHOST_GET_FEATURES");
	/* the ring features are the kernel's business; offloads stay the tap's */
	want = d->acked_features & (1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX |
				    1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	if (want & ~have)
		return hull_err_make(err, ENOTSUP, "vhost-net lacks negotiated features 0x%llx",
				     (unsigned long long)(want & ~have));
	if (ioctl(fd, VHOST_SET_FEATURES, &want) < 0)
		return hull_err_make(err, errno, "VHOST_SET_FEATURES");
	if (set_mem_table(fd, d->gm, err) < 0)
		return -1;
	for (unsigned int i = 0; i < 2; i++) {
		struct vhost_vring_file be = { .index = i, .fd = tap_fd };

		if (start_ring(v, fd, 2 * p + i, i, err) < 0)
			return -1;
		if (ioctl(fd, VHOST_NET_SET_BACKEND, &be) < 0)
			return hull_err_make(err, errno, "VHOST_NET_SET_BACKEND queue %u", 2 * p + i);
	}
	return 0;
}

int virtio_net_vhost_start(struct virtio_dev *d, const int *tap_fds, const int *vhost_fds, unsigned int npairs,
			   struct vhost_net **out, struct hull_err **err)
{
	struct vhost_net *v = xcalloc(1, sizeof(*v));

	v->d = d;
	v->npairs = npairs;
	for (unsigned int i = 0; i < ARRAY_SIZE(v->fd); i++)
		v->fd[i] = -1;
	for (unsigned int i = 0; i < ARRAY_SIZE(v->err); i++)
		v->err[i].fd = -1;
	for (unsigned int p = 0; p < npairs; p++) {
		/* a pair the driver did not set up (both rings) stays off */
		if (!d->vqs[2 * p].ready || !d->vqs[2 * p + 1].ready)
			continue;
		if (start_pair(v, p, tap_fds[p], vhost_fds[p], err) < 0) {
			virtio_net_vhost_stop(v);
			return hull_err_wrap(err, "vhost-net pair %u", p);
		}
	}
	*out = v;
	return 0;
}

void virtio_net_vhost_stop(struct vhost_net *v)
{
	if (!v)
		return;
	/* resetting the owner stops the worker and drops the rings, backend and
	 * memory table: the fd (the device's) is as opened, for the next start */
	for (unsigned int i = 0; i < ARRAY_SIZE(v->fd); i++) {
		if (v->fd[i] >= 0 && v->own[i])
			close(v->fd[i]);
		else if (v->fd[i] >= 0)
			(void)ioctl(v->fd[i], VHOST_RESET_OWNER);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(v->err); i++) {
		if (v->err[i].fd < 0)
			continue;
		(void)evloop_del(v->d->loop, v->err[i].fd);
		close(v->err[i].fd);
	}
	free(v);
}
