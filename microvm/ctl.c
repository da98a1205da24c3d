/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control of a running VM from another thread (microvm.h, "control").
 *
 * microvm_run attaches the VM once its vCPUs run and detaches it before it
 * stops them, both under ctl->lock; every request holds that lock while it
 * touches the VM, so a request never sees a VM being torn down.  Requests
 * block only their caller: the VMM's threads never wait for ctl->lock except
 * microvm_run at detach, which waits at most for one request to finish.
 */
#include "microvm/internal.h"
#include "microvm/virtio/virtio.h"

enum ctl_state { CTL_IDLE, CTL_RUNNING, CTL_DONE };

struct microvm_ctl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum ctl_state state;
	struct vm *vm;               /* set while CTL_RUNNING */
	struct microvm_stats last;   /* counters at detach */
};

struct microvm_ctl *microvm_ctl_new(void)
{
	struct microvm_ctl *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	return c;
}

void microvm_ctl_free(struct microvm_ctl *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

static void stats_of(struct vm *vm, struct microvm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->exits_io = __atomic_load_n(&vm->exits_io, __ATOMIC_RELAXED);
	st->exits_mmio = __atomic_load_n(&vm->exits_mmio, __ATOMIC_RELAXED);
	st->exits_other = __atomic_load_n(&vm->exits_other, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < vm->nvdevs; i++) {
		struct virtio_dev *d = virtio_pci_dev(vm->vdevs[i]);

		virtio_blk_stats(d, &st->blk_reads, &st->blk_writes, &st->blk_read_bytes, &st->blk_write_bytes);
		st->blk_throttled += virtio_blk_throttled(d);
		st->net_rx_throttled += virtio_net_throttled(d, true);
		st->net_tx_throttled += virtio_net_throttled(d, false);
	}
}

void ctl_attach(struct microvm_ctl *c, struct vm *vm)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->vm = vm;
	c->state = CTL_RUNNING;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void ctl_detach(struct microvm_ctl *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->vm)
		stats_of(c->vm, &c->last);
	c->vm = NULL;
	c->state = CTL_DONE;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

bool microvm_ctl_wait_started(struct microvm_ctl *c)
{
	bool running;

	pthread_mutex_lock(&c->lock);
	while (c->state == CTL_IDLE)
		pthread_cond_wait(&c->cond, &c->lock);
	running = c->state == CTL_RUNNING;
	pthread_mutex_unlock(&c->lock);
	return running;
}

int microvm_ctl_pause(struct microvm_ctl *c, bool pause, struct hull_err **err)
{
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->vm)
		vcpus_pause(c->vm, pause);
	else
		r = hull_err_make(err, 0, "the microVM is not running");
	pthread_mutex_unlock(&c->lock);
	return r;
}

int microvm_ctl_set_disk(struct microvm_ctl *c, unsigned int idx, const char *path, struct hull_err **err)
{
	unsigned int n = 0;
	int r = -1;

	pthread_mutex_lock(&c->lock);
	if (!c->vm) {
		r = hull_err_make(err, 0, "the microVM is not running");
		goto out;
	}
	/* The blk devices were plugged in vm_config.disks[] order. */
	for (unsigned int i = 0; i < c->vm->nvdevs; i++) {
		struct virtio_dev *d = virtio_pci_dev(c->vm->vdevs[i]);
		uint64_t dummy = 0;

		if (!virtio_blk_stats(d, &dummy, &dummy, &dummy, &dummy))
			continue;
		if (n++ == idx) {
			r = virtio_blk_set_backing(d, path, err);
			goto out;
		}
	}
	r = hull_err_make(err, 0, "no disk %u", idx);
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* The idx-th device of one kind, in plug order (vm_config.disks[] or
 * nets[] order); NULL if there is none. */
static struct virtio_dev *nth_dev(struct vm *vm, uint16_t device_id, unsigned int idx)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->nvdevs; i++) {
		struct virtio_dev *d = virtio_pci_dev(vm->vdevs[i]);

		if (d->ops->device_id == device_id && n++ == idx)
			return d;
	}
	return NULL;
}

int microvm_ctl_set_limiter(struct microvm_ctl *c, bool net, unsigned int idx, const struct vm_rate_limiter *rl,
			    const struct vm_rate_limiter *tx, struct hull_err **err)
{
	struct virtio_dev *d;
	int r;

	pthread_mutex_lock(&c->lock);
	if (!c->vm) {
		r = hull_err_make(err, 0, "the microVM is not running");
	} else if (!(d = nth_dev(c->vm, net ? VIRTIO_ID_NET : VIRTIO_ID_BLOCK, idx))) {
		r = hull_err_make(err, 0, "no %s %u", net ? "network interface" : "disk", idx);
	} else {
		r = net ? virtio_net_set_limiter(d, rl, tx, err) : virtio_blk_set_limiter(d, rl, err);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

void microvm_ctl_stats(struct microvm_ctl *c, struct microvm_stats *st)
{
	pthread_mutex_lock(&c->lock);
	if (c->vm)
		stats_of(c->vm, st);
	else
		*st = c->last;
	pthread_mutex_unlock(&c->lock);
}
