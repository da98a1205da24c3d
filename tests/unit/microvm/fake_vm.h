/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM without KVM for transport and device-table tests: buses, an event
 * loop, FV_RAM_SIZE bytes of RAM at guest address 0 and a PCI bus whose
 * BARs land on the MMIO bus (the first one at LAYOUT_PCI_MMIO32).  Include
 * after <cmocka.h>.
 */
#ifndef HULL_TESTS_FAKE_VM_H
#define HULL_TESTS_FAKE_VM_H

#include "microvm/virtio/virtio.h"

#define FV_RAM_SIZE (1u << 20)

struct fake_vm {
	struct vm vm;
	struct vm_config cfg;
	struct pci_bus pb;
	uint8_t *ram;
};

static inline void fv_init(struct fake_vm *f)
{
	memset(f, 0, sizeof(*f));
	f->vm.vm_fd = f->vm.kvm_fd = -1;
	microvm_config_init(&f->cfg);
	f->vm.cfg = &f->cfg;
	bus_init(&f->vm.mmio, "mmio");
	bus_init(&f->vm.pio, "port");
	f->vm.loop = evloop_new(NULL);
	f->ram = aligned_alloc(4096, FV_RAM_SIZE);
	memset(f->ram, 0, FV_RAM_SIZE);
	assert_int_equal(gm_add_region(&f->vm.gm, 0, FV_RAM_SIZE, f->ram, NULL), 0);
	pci_bus_init(&f->pb, &f->vm, &f->vm.mmio);
	f->vm.pci = &f->pb;
}

/* After the devices on it are destroyed. */
static inline void fv_free(struct fake_vm *f)
{
	pci_bus_destroy(&f->pb);
	evloop_free(f->vm.loop);
	bus_destroy(&f->vm.mmio);
	bus_destroy(&f->vm.pio);
	free(f->ram);
}

#endif
