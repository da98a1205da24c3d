/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PCI functions passed through with VFIO (issue 14; docs/passthrough.md;
 * the kernel's Documentation/driver-api/vfio.rst).  One type1 v2 container
 * per VM holds every group; all of guest RAM is mapped for DMA at iova =
 * guest physical address before a vCPU runs, so the IOMMU confines the
 * device to the guest's memory.  Each function goes on hull's PCI bus with
 * the configuration space vfio_cfg_build() makes; its BARs are the VFIO
 * regions mmapped into the guest as KVM memory slots, except the pages of
 * the MSI-X table and PBA, which trap to hull's emulation (pci_msix_*).
 * The device's MSI-X vectors signal the emulation's per-vector irqfds
 * (VFIO_DEVICE_SET_IRQS), so an interrupt goes device -> host IRQ ->
 * KVM irqfd -> guest without waking this process.
 *
 * If this process dies, the kernel closes the fds: the device fd's release
 * disables its interrupts and resets it, the container's drops every DMA
 * mapping; nothing stays assigned or mapped.
 */
#include "microvm/internal.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define CFG_COMMAND 0x04
#define CMD_MEMORY 0x0002
#define CMD_MASTER 0x0004
#define CMD_INTX_DISABLE 0x0400
#define PAGE 4096u
#define MAX_GROUPS 16

struct vfio_bar {
	uint64_t size, offset;   /* the VFIO region: device size, offset in the device fd */
	uint8_t *map;            /* the mmap of the region, NULL when it traps whole */
	struct vfio_range direct[2];
	unsigned int ndirect;
	uint32_t slot[2];
};

struct vfio_pdev {
	struct pci_dev pci;      /* first: d->opaque is this */
	struct vm *vm;
	const char *bdf;
	int fd;
	uint64_t cfg_offset;
	struct vfio_cfg_info info;
	struct vfio_bar bars[PCI_NUM_BARS];
	bool on_bus, irqs;
};

struct vfio_vm {
	int container;
	struct { int num, fd; } groups[MAX_GROUPS];
	unsigned int ngroups;
	int kvm_dev;             /* KVM's VFIO pseudo device, -1 none */
	struct { uint64_t iova, size; } dma[GM_MAX_REGIONS];
	unsigned int ndma;
	struct vfio_pdev *devs[PCI_MAX_SLOTS];
	unsigned int ndevs;
};

/* ---- the device on hull's PCI bus --------------------------------------------- */

static void bar_access(struct pci_dev *d, unsigned int bar, uint64_t off, void *data, uint32_t len, bool write)
{
	struct vfio_pdev *p = d->opaque;
	const struct vfio_cfg_info *in = &p->info;
	struct vfio_bar *b = &p->bars[bar];
	ssize_t n;

	if (in->msix_vectors && bar == in->msix_bar) {
		if (off >= in->msix_table_off && off - in->msix_table_off < 16ull * in->msix_dev_vectors) {
			pci_msix_table_access(d, off - in->msix_table_off, data, len, write);
			return;
		}
		if (off >= in->msix_pba_off && off - in->msix_pba_off < 8ull * ((in->msix_dev_vectors + 63) / 64)) {
			pci_msix_pba_access(d, off - in->msix_pba_off, data, len, write);
			return;
		}
	}
	/* The rest of a trapped page, or a BAR that cannot be mmapped: the
	 * device's own registers through the region.  Past the device's size
	 * (hull rounds a BAR up to a page) reads are 0, writes dropped. */
	if (off >= b->size || len > b->size - off)
		return;
	if (write)
		n = pwrite(p->fd, data, len, (off_t)(b->offset + off));
	else
		n = pread(p->fd, data, len, (off_t)(b->offset + off));
	if (n != (ssize_t)len)
		hull_debug("vfio %s: BAR%u+0x%" PRIx64 ": %s", p->bdf, bar, off, n < 0 ? strerror(errno) : "short");
}

static void bar_moved(struct pci_dev *d, unsigned int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct vfio_pdev *p = d->opaque;
	struct vfio_bar *b = &p->bars[bar];

	for (unsigned int i = 0; i < b->ndirect; i++) {
		const struct vfio_range *r = &b->direct[i];
		struct hull_err *err = NULL;

		if (old_addr)
			vm_set_slot(p->vm, b->slot[i], old_addr + r->off, 0, NULL, &err);
		if (!err && new_addr)
			vm_set_slot(p->vm, b->slot[i], new_addr + r->off, r->len, b->map + r->off, &err);
		if (err) {
			/* The bus still decodes the BAR: accesses then trap, slower. */
			hull_warn("vfio %s: BAR%u: %s", p->bdf, bar, err->msg);
			hull_err_free(&err);
		}
	}
}

/* The guest owns the command register of hull's copy; the device gets
 * memory decoding always (its BARs are mapped whether or not the guest
 * decodes them: hull's bus decides what the guest reaches), INTx off (only
 * MSI-X is offered), and bus mastering as the guest sets it: DMA can only
 * reach guest RAM, which is all mapped before the guest runs. */
static void cfg_written(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct vfio_pdev *p = d->opaque;
	uint16_t guest = (uint16_t)(d->cfg[CFG_COMMAND] | d->cfg[CFG_COMMAND + 1] << 8);
	uint16_t cmd = CMD_MEMORY | CMD_INTX_DISABLE | (guest & CMD_MASTER);

	if (!(off < CFG_COMMAND + 2 && CFG_COMMAND < off + len))
		return;
	if (pwrite(p->fd, &cmd, sizeof(cmd), (off_t)(p->cfg_offset + CFG_COMMAND)) != sizeof(cmd))
		hull_debug("vfio %s: command register: %s", p->bdf, strerror(errno));
}

static const struct pci_dev_ops vfio_pci_ops = {
	.bar_access = bar_access,
	.bar_moved = bar_moved,
	.cfg_written = cfg_written,
};

/* ---- the device's regions -------------------------------------------------------- */

static int region_info(struct vfio_pdev *p, unsigned int index, struct vfio_region_info *ri, struct hull_err **err)
{
	*ri = (struct vfio_region_info){ .argsz = sizeof(*ri), .index = index };
	if (ioctl(p->fd, VFIO_DEVICE_GET_REGION_INFO, ri) < 0)
		return hull_err_make(err, errno, "vfio %s: VFIO_DEVICE_GET_REGION_INFO %u", p->bdf, index);
	return 0;
}

static int src_read_cfg(void *opaque, uint8_t *buf, size_t len)
{
	struct vfio_pdev *p = opaque;
	return pread(p->fd, buf, len, (off_t)p->cfg_offset) == (ssize_t)len ? 0 : -1;
}

static uint64_t src_bar_size(void *opaque, unsigned int bar)
{
	return ((struct vfio_pdev *)opaque)->bars[bar].size;
}

static int map_bars(struct vfio_pdev *p, struct hull_err **err)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct vfio_bar *b = &p->bars[i];
		struct vfio_region_info ri;
		void *m;

		if (!p->pci.bars[i].size)
			continue;
		b->ndirect = vfio_bar_direct(&p->info, i, PAGE, b->direct);
		if (region_info(p, VFIO_PCI_BAR0_REGION_INDEX + i, &ri, err) < 0)
			return -1;
		if (!b->ndirect || !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			b->ndirect = 0;
			continue;
		}
		m = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, (off_t)b->offset);
		if (m == MAP_FAILED) {
			hull_debug("vfio %s: mmap BAR%u: %s: it traps", p->bdf, i, strerror(errno));
			b->ndirect = 0;
			continue;
		}
		b->map = m;
		for (unsigned int k = 0; k < b->ndirect; k++)
			b->slot[k] = vm_slot_alloc(p->vm);
	}
	return 0;
}

/* The device's MSI-X vectors signal the emulation's irqfds (one per vector,
 * routed by KVM when the guest unmasks it). */
static int set_irqs(struct vfio_pdev *p, struct hull_err **err)
{
	struct pci_msix *m = p->pci.msix;
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	unsigned int n = m ? m->n : 0;
	size_t sz;
	_cleanup_free_ struct vfio_irq_set *set = NULL;

	if (!n)
		return 0;
	if (ioctl(p->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0)
		return hull_err_make(err, errno, "vfio %s: VFIO_DEVICE_GET_IRQ_INFO", p->bdf);
	if (ii.count < n)
		n = ii.count;
	if (!n)
		return 0;
	sz = sizeof(*set) + n * sizeof(int32_t);
	set = xcalloc(1, sz);
	*set = (struct vfio_irq_set){
		.argsz = (uint32_t)sz, .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = n,
	};
	for (unsigned int i = 0; i < n; i++)
		((int32_t *)set->data)[i] = m->irqfd[i];
	if (ioctl(p->fd, VFIO_DEVICE_SET_IRQS, set) < 0)
		return hull_err_make(err, errno, "vfio %s: VFIO_DEVICE_SET_IRQS (MSI-X, %u vectors)", p->bdf, n);
	p->irqs = true;
	return 0;
}

static void clear_irqs(struct vfio_pdev *p)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set), .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = 0,
	};

	if (p->irqs && ioctl(p->fd, VFIO_DEVICE_SET_IRQS, &set) < 0)
		hull_debug("vfio %s: disabling MSI-X: %s", p->bdf, strerror(errno));
	p->irqs = false;
}

static void reset(struct vfio_pdev *p, bool can)
{
	if (can && ioctl(p->fd, VFIO_DEVICE_RESET) < 0)
		hull_debug("vfio %s: VFIO_DEVICE_RESET: %s", p->bdf, strerror(errno));
}

static void pdev_destroy(struct vfio_pdev *p)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };

	if (!p)
		return;
	clear_irqs(p);
	if (p->on_bus)
		pci_bus_remove(p->vm->pci, &p->pci); /* deletes the BARs' memory slots */
	pci_msix_destroy(&p->pci);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		if (p->bars[i].map)
			munmap(p->bars[i].map, p->bars[i].size);
	if (p->fd >= 0) {
		/* Leave the function as the next user expects it: quiet, reset. */
		uint16_t cmd = CMD_INTX_DISABLE;
		if (pwrite(p->fd, &cmd, sizeof(cmd), (off_t)(p->cfg_offset + CFG_COMMAND)) != sizeof(cmd))
			hull_debug("vfio %s: command register: %s", p->bdf, strerror(errno));
		reset(p, ioctl(p->fd, VFIO_DEVICE_GET_INFO, &di) == 0 && (di.flags & VFIO_DEVICE_FLAGS_RESET));
		close(p->fd);
	}
	free(p);
}

static struct vfio_pdev *pdev_create(struct vm *vm, int group_fd, const char *bdf, struct hull_err **err)
{
	struct vfio_pdev *p = xcalloc(1, sizeof(*p));
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri;
	struct vfio_cfg_src src = { src_read_cfg, src_bar_size, p };
	uint16_t cmd = CMD_MEMORY | CMD_INTX_DISABLE;

	p->vm = vm;
	p->bdf = bdf;
	p->fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (p->fd < 0) {
		hull_err_make(err, errno, "vfio %s: VFIO_GROUP_GET_DEVICE_FD", bdf);
		goto fail;
	}
	if (ioctl(p->fd, VFIO_DEVICE_GET_INFO, &di) < 0) {
		hull_err_make(err, errno, "vfio %s: VFIO_DEVICE_GET_INFO", bdf);
		goto fail;
	}
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) || di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		hull_err_make(err, ENOTSUP, "vfio %s: not a PCI device", bdf);
		goto fail;
	}
	/* Start from a known state: nothing the previous user left running. */
	reset(p, di.flags & VFIO_DEVICE_FLAGS_RESET);
	if (region_info(p, VFIO_PCI_CONFIG_REGION_INDEX, &ri, err) < 0)
		goto fail;
	p->cfg_offset = ri.offset;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		if (region_info(p, VFIO_PCI_BAR0_REGION_INDEX + i, &ri, err) < 0)
			goto fail;
		p->bars[i].size = ri.size;
		p->bars[i].offset = ri.offset;
	}
	if (vfio_cfg_build(&p->pci, &src, &p->info, err) < 0) {
		hull_err_wrap(err, "vfio %s", bdf);
		goto fail;
	}
	p->pci.ops = &vfio_pci_ops;
	p->pci.opaque = p;
	if (map_bars(p, err) < 0)
		goto fail;
	/* Bus mastering stays off until the guest's driver sets it. */
	if (pwrite(p->fd, &cmd, sizeof(cmd), (off_t)(p->cfg_offset + CFG_COMMAND)) != sizeof(cmd)) {
		hull_err_make(err, errno, "vfio %s: writing the command register", bdf);
		goto fail;
	}
	if (pci_bus_add(vm->pci, &p->pci, err) < 0) {
		hull_err_wrap(err, "vfio %s", bdf);
		goto fail;
	}
	p->on_bus = true;
	if (pci_msix_connect(&p->pci, err) < 0 || set_irqs(p, err) < 0) {
		hull_err_wrap(err, "vfio %s", bdf);
		goto fail;
	}
	return p;
fail:
	pdev_destroy(p);
	return NULL;
}

/* ---- container and groups ---------------------------------------------------------- */

static int map_dma(struct vm *vm, struct vfio_vm *v, struct hull_err **err)
{
	for (unsigned int i = 0; i < vm->gm.n; i++) {
		const struct gm_region *r = &vm->gm.regions[i];
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)r->hva, .iova = r->gpa, .size = r->size,
		};
		if (ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m) < 0)
			return hull_err_make(err, errno, "vfio: VFIO_IOMMU_MAP_DMA of guest RAM at 0x%" PRIx64 " (%" PRIu64
						   " MiB)", r->gpa, r->size >> 20);
		v->dma[v->ndma].iova = r->gpa;
		v->dma[v->ndma].size = r->size;
		v->ndma++;
	}
	return 0;
}

/* KVM's VFIO pseudo device learns each group, as QEMU tells it: KVM then
 * knows whether DMA may be non-coherent (caching of guest memory). */
static void kvm_add_group(struct vm *vm, struct vfio_vm *v, int group_fd)
{
	struct kvm_device_attr a = { .group = KVM_DEV_VFIO_GROUP, .attr = KVM_DEV_VFIO_GROUP_ADD,
				     .addr = (uintptr_t)&group_fd };

	if (v->kvm_dev < 0) {
		struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
		if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
			hull_debug("vfio: KVM_CREATE_DEVICE (VFIO): %s", strerror(errno));
			return;
		}
		v->kvm_dev = (int)cd.fd;
	}
	if (ioctl(v->kvm_dev, KVM_SET_DEVICE_ATTR, &a) < 0)
		hull_debug("vfio: KVM_DEV_VFIO_GROUP_ADD: %s", strerror(errno));
}

/* The fd of group num, opened and put in the container on first use. */
static int group_fd(struct vm *vm, struct vfio_vm *v, int num, const char *bdf, struct hull_err **err)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	_cleanup_free_ char *path = xasprintf("/dev/vfio/%d", num);
	_cleanup_close_ int fd = -1;

	for (unsigned int i = 0; i < v->ngroups; i++)
		if (v->groups[i].num == num)
			return v->groups[i].fd;
	if (v->ngroups == MAX_GROUPS)
		return hull_err_make(err, 0, "vfio %s: more than %d IOMMU groups", bdf, MAX_GROUPS);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "vfio %s: open %s%s", bdf, path,
				     errno == EBUSY ? " (another process has the group)" : "");
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0)
		return hull_err_make(err, errno, "vfio %s: VFIO_GROUP_GET_STATUS", bdf);
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return hull_err_make(err, 0, "vfio %s: IOMMU group %d is not viable: a member is bound to a host driver",
				     bdf, num);
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &v->container) < 0)
		return hull_err_make(err, errno, "vfio %s: VFIO_GROUP_SET_CONTAINER", bdf);
	/* From here the group is the container's, closed by unplug. */
	v->groups[v->ngroups].num = num;
	v->groups[v->ngroups].fd = take_fd(&fd);
	v->ngroups++;
	/* The IOMMU model is chosen once the container has a group; guest RAM
	 * is mapped then, before any device can be told to do DMA. */
	if (v->ngroups == 1) {
		if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
			return hull_err_make(err, errno, "vfio %s: VFIO_SET_IOMMU (type1 v2)", bdf);
		if (map_dma(vm, v, err) < 0)
			return -1;
	}
	kvm_add_group(vm, v, v->groups[v->ngroups - 1].fd);
	return v->groups[v->ngroups - 1].fd;
}

static int open_container(struct vfio_vm *v, struct hull_err **err)
{
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return hull_err_make(err, errno, "vfio: open /dev/vfio/vfio (modprobe vfio-pci)");
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return hull_err_make(err, ENOTSUP, "vfio: unknown VFIO API version");
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		return hull_err_make(err, ENOTSUP, "vfio: the kernel has no type1 v2 IOMMU backend (vfio_iommu_type1)");
	return 0;
}

int vfio_devices_plug(struct vm *vm, struct hull_err **err)
{
	const struct vm_config *cfg = vm->cfg;
	struct vfio_vm *v;

	if (!cfg->nvfio)
		return 0;
	v = vm->vfio = xcalloc(1, sizeof(*v));
	v->kvm_dev = -1;
	if (open_container(v, err) < 0)
		return -1;
	for (unsigned int i = 0; i < cfg->nvfio; i++) {
		const struct vm_vfio *f = &cfg->vfios[i];
		int g = group_fd(vm, v, f->group, f->bdf, err);
		struct vfio_pdev *p;

		if (g < 0)
			return -1;
		p = pdev_create(vm, g, f->bdf, err);
		if (!p)
			return -1;
		v->devs[v->ndevs++] = p;
	}
	return 0;
}

void vfio_devices_unplug(struct vm *vm)
{
	struct vfio_vm *v = vm->vfio;

	if (!v)
		return;
	while (v->ndevs)
		pdev_destroy(v->devs[--v->ndevs]);
	for (unsigned int i = v->ndma; i-- > 0;) {
		struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = v->dma[i].iova,
							.size = v->dma[i].size };
		if (ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
			hull_warn("vfio: VFIO_IOMMU_UNMAP_DMA at 0x%" PRIx64 ": %s", v->dma[i].iova, strerror(errno));
	}
	if (v->kvm_dev >= 0)
		close(v->kvm_dev);
	for (unsigned int i = v->ngroups; i-- > 0;) {
		if (ioctl(v->groups[i].fd, VFIO_GROUP_UNSET_CONTAINER) < 0)
			hull_debug("vfio: VFIO_GROUP_UNSET_CONTAINER: %s", strerror(errno));
		close(v->groups[i].fd);
	}
	if (v->container >= 0)
		close(v->container);
	free(v);
	vm->vfio = NULL;
}
