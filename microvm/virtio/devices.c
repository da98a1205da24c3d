/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio devices of a machine: ONE table.  Each row names a device kind,
 * how many instances a vm_config asks for, an optional check run before
 * /dev/kvm is opened, and the constructor of instance i.  Plugging walks the
 * table in order (the PCI slot order the guest sees) and puts each device
 * behind a virtio-pci transport.  Adding a device: docs/microvm.md.
 */
#include "microvm/virtio/virtio.h"

static const struct vm_device_kind devices[] = {
	{ "rng", virtio_rng_count, NULL, virtio_rng_new },
	{ "blk", virtio_blk_count, virtio_blk_check, virtio_blk_new },
	{ "console", virtio_console_count, NULL, virtio_console_new },
	{ "vsock", virtio_vsock_count, virtio_vsock_check, virtio_vsock_new },
	{ "fs", virtio_fs_count, virtio_fs_check, virtio_fs_new },
	{ "net", virtio_net_count, virtio_net_check, virtio_net_new },
};

int virtio_devices_check(const struct vm_config *cfg, struct hull_err **err)
{
	unsigned int total = 0;

	for (size_t k = 0; k < ARRAY_SIZE(devices); k++) {
		unsigned int n = devices[k].count(cfg);
		for (unsigned int i = 0; i < n && devices[k].check; i++)
			if (devices[k].check(cfg, i, err) < 0)
				return -1;
		total += n;
	}
	total += cfg->nvfio; /* passed-through functions share the bus (vfio.c) */
	/* Slot 0 is the host bridge. */
	if (total > PCI_MAX_SLOTS - 1)
		return hull_err_make(err, 0, "%u devices: at most %d fit on the PCI bus", total, PCI_MAX_SLOTS - 1);
	return 0;
}

int virtio_devices_plug(struct vm *vm, struct hull_err **err)
{
	for (size_t k = 0; k < ARRAY_SIZE(devices); k++) {
		unsigned int n = devices[k].count(vm->cfg);
		for (unsigned int i = 0; i < n; i++) {
			struct virtio_dev *d = devices[k].create(vm->cfg, i, err);
			struct virtio_pci *vp;

			if (!d)
				return -1;
			vp = virtio_pci_create(vm, d, err);
			if (!vp) {
				virtio_dev_destroy(d);
				return hull_err_wrap(err, "virtio-%s %u", devices[k].name, i);
			}
			vm->vdevs = xrealloc(vm->vdevs, (vm->nvdevs + 1) * sizeof(*vm->vdevs));
			vm->vdevs[vm->nvdevs++] = vp;
		}
	}
	return 0;
}

void virtio_devices_unplug(struct vm *vm)
{
	while (vm->nvdevs)
		virtio_pci_destroy(vm->vdevs[--vm->nvdevs]);
	free(vm->vdevs);
	vm->vdevs = NULL;
}
