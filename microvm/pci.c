/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PCI: one host bridge (00:00.0) on bus 0, config space through the 0xcf8/
 * 0xcfc ports and ECAM, BARs allocated from the 32-bit window, MSI-X with
 * one KVM MSI route + irqfd per vector.  Devices (virtio-pci today, VFIO
 * later) fill a struct pci_dev and call pci_bus_add.
 *
 * Config space is a byte array plus a write mask, so every width at every
 * offset is the same code: reads copy bytes, writes merge bytes through the
 * mask.  BAR sizing falls out of the mask (write all-ones, read ~(size-1)).
 * pb->lock serialises config accesses and BAR remapping.
 */
#include "microvm/internal.h"

#include <sys/eventfd.h>

#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_START 0x40

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t end)
{
	return off < end && start < off + len;
}

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint8_t class, uint8_t subclass,
		  uint8_t progif, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(d, 0, sizeof(*d));
	wr16(d->cfg + 0x00, vendor);
	wr16(d->cfg + 0x02, device);
	d->cfg[0x08] = 1; /* revision */
	d->cfg[0x09] = progif;
	d->cfg[0x0a] = subclass;
	d->cfg[0x0b] = class;
	wr16(d->cfg + 0x2c, subsys_vendor);
	wr16(d->cfg + 0x2e, subsys_id);
	/* Memory decoding on from the start, as firmware would leave it. */
	d->cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY;
	d->wmask[PCI_COMMAND] = 0x07;     /* IO, memory, bus master */
	d->wmask[PCI_COMMAND + 1] = 0x04; /* INTx disable */
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->cap_end = PCI_CAP_START;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		d->bars[i].dev = d;
		d->bars[i].idx = i;
	}
}

void pci_dev_set_bar(struct pci_dev *d, unsigned int i, uint64_t size, bool is64)
{
	uint64_t mask = ~(size - 1);

	if (i >= PCI_NUM_BARS || (is64 && i + 1 >= PCI_NUM_BARS) || size < 4096 || (size & (size - 1)))
		return;
	d->bars[i].size = size;
	d->bars[i].is64 = is64;
	d->cfg[PCI_BAR0 + 4 * i] = is64 ? 0x4 : 0x0;
	wr32(d->wmask + PCI_BAR0 + 4 * i, (uint32_t)mask & ~0xfu);
	if (is64)
		wr32(d->wmask + PCI_BAR0 + 4 * (i + 1), (uint32_t)(mask >> 32));
}

uint8_t pci_dev_add_cap(struct pci_dev *d, const void *cap, uint8_t len)
{
	uint16_t off = (uint16_t)((d->cap_end + 3) & ~3u);

	if (len < 2 || off + len > 0x100)
		return 0;
	memcpy(d->cfg + off, cap, len);
	d->cfg[off + 1] = 0;
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)off;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->last_cap = (uint8_t)off;
	d->cap_end = (uint16_t)(off + len);
	return (uint8_t)off;
}

void pci_bus_init(struct pci_bus *pb, struct vm *vm, struct bus *mmio)
{
	memset(pb, 0, sizeof(*pb));
	pb->vm = vm;
	pb->mmio = mmio;
	pthread_mutex_init(&pb->lock, NULL);
	pb->mmio32_next = LAYOUT_PCI_MMIO32;
	pb->mmio32_end = LAYOUT_PCI_MMIO32 + LAYOUT_PCI_MMIO32_SIZE;
	/* Red Hat's QEMU PCIe host bridge id: drivers know it needs nothing. */
	pci_dev_init(&pb->host, 0x1b36, 0x0008, 0x06, 0x00, 0x00, 0x1af4, 0x1100);
	pb->host.bus = pb;
	pb->slots[0] = &pb->host;
}

void pci_bus_destroy(struct pci_bus *pb)
{
	pthread_mutex_destroy(&pb->lock);
}

/* ---- BAR decoding ------------------------------------------------------------- */

static void bar_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	struct pci_bar *b = opaque;
	struct pci_dev *d = b->dev;

	if (d->ops && d->ops->bar_access)
		d->ops->bar_access(d, b->idx, off, data, len, write);
}

static uint64_t bar_addr(const struct pci_dev *d, unsigned int i)
{
	uint64_t a = rd32(d->cfg + PCI_BAR0 + 4 * i) & ~0xfULL;
	if (d->bars[i].is64)
		a |= (uint64_t)rd32(d->cfg + PCI_BAR0 + 4 * (i + 1)) << 32;
	return a;
}

/* Map each BAR where the guest put it while memory decoding is on.  Caller
 * holds pb->lock. */
static void update_bars(struct pci_dev *d)
{
	struct pci_bus *pb = d->bus;
	bool decode = d->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY;

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];
		uint64_t addr = bar_addr(d, i), want = 0, old = b->mapped;

		if (!b->size)
			continue;
		if (decode && addr && !(addr & (b->size - 1)) && addr <= UINT64_MAX - (b->size - 1))
			want = addr;
		if (want == old)
			continue;
		if (pb && pb->mmio && old)
			bus_remove(pb->mmio, old, b);
		b->mapped = 0;
		if (pb && pb->mmio && want) {
			struct hull_err *err = NULL;
			if (bus_insert(pb->mmio, want, b->size, bar_io, b, "pci-bar", &err) < 0) {
				/* A guest that overlaps BARs loses that BAR, nothing else. */
				hull_debug("pci %02x: BAR%u: %s", d->slot, i, err->msg);
				hull_err_free(&err);
				want = 0;
			}
		}
		b->mapped = want;
		if (d->ops && d->ops->bar_moved && old != want)
			d->ops->bar_moved(d, i, old, want);
	}
}

int pci_bus_add(struct pci_bus *pb, struct pci_dev *d, struct hull_err **err)
{
	unsigned int slot;

	for (slot = 1; slot < PCI_MAX_SLOTS && pb->slots[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS)
		return hull_err_make(err, ENOSPC, "PCI bus 0 is full");
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];
		uint64_t addr;
		if (!b->size)
			continue;
		addr = (pb->mmio32_next + b->size - 1) & ~(b->size - 1);
		if (addr < pb->mmio32_next || b->size > pb->mmio32_end - addr)
			return hull_err_make(err, ENOSPC, "PCI 32-bit window full (BAR%u of %" PRIu64 " bytes)", i,
					     b->size);
		pb->mmio32_next = addr + b->size;
		wr32(d->cfg + PCI_BAR0 + 4 * i, (rd32(d->cfg + PCI_BAR0 + 4 * i) & 0xf) | (uint32_t)addr);
		if (b->is64)
			wr32(d->cfg + PCI_BAR0 + 4 * (i + 1), (uint32_t)(addr >> 32));
	}
	d->bus = pb;
	d->slot = slot;
	pthread_mutex_lock(&pb->lock);
	pb->slots[slot] = d;
	update_bars(d);
	pthread_mutex_unlock(&pb->lock);
	return 0;
}

void pci_bus_remove(struct pci_bus *pb, struct pci_dev *d)
{
	pthread_mutex_lock(&pb->lock);
	d->cfg[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MEMORY;
	update_bars(d);
	if (d->slot < PCI_MAX_SLOTS && pb->slots[d->slot] == d)
		pb->slots[d->slot] = NULL;
	pthread_mutex_unlock(&pb->lock);
}

/* ---- config access ------------------------------------------------------------ */

static void msix_ctrl_changed(struct pci_dev *d);

void pci_cfg_access(struct pci_bus *pb, unsigned int busno, unsigned int slot, unsigned int fn, uint32_t off,
		    void *data, uint32_t len, bool write)
{
	struct pci_dev *d;
	uint8_t *p = data;

	if (!write)
		memset(data, 0xff, len); /* no device: all ones */
	if (busno != 0 || fn != 0 || slot >= PCI_MAX_SLOTS || off >= PCI_CFG_SIZE || len == 0)
		return;
	if (len > PCI_CFG_SIZE - off)
		len = PCI_CFG_SIZE - off;
	pthread_mutex_lock(&pb->lock);
	d = pb->slots[slot];
	if (!d) {
		pthread_mutex_unlock(&pb->lock);
		return;
	}
	if (!write) {
		memcpy(p, d->cfg + off, len);
		pthread_mutex_unlock(&pb->lock);
		return;
	}
	for (uint32_t i = 0; i < len; i++)
		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~d->wmask[off + i]) | (p[i] & d->wmask[off + i]));
	if (overlaps(off, len, PCI_COMMAND, PCI_COMMAND + 2) || overlaps(off, len, PCI_BAR0, PCI_BAR0 + 24))
		update_bars(d);
	if (d->msix && overlaps(off, len, d->msix->cap + 2u, d->msix->cap + 4u))
		msix_ctrl_changed(d);
	if (d->ops && d->ops->cfg_written)
		d->ops->cfg_written(d, off, len);
	pthread_mutex_unlock(&pb->lock);
}

/* 0xcf8: CONFIG_ADDRESS (dword accesses only), 0xcfc..0xcff: CONFIG_DATA. */
void pci_cf8_access(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	struct pci_bus *pb = opaque;
	uint32_t a;

	if (off < 4) {
		if (off + len > 4) {
			if (!write)
				memset(data, 0xff, len);
			return;
		}
		pthread_mutex_lock(&pb->lock);
		if (write && off == 0 && len == 4)
			memcpy(&pb->cf8, data, 4);
		else if (!write)
			memcpy(data, (uint8_t *)&pb->cf8 + off, len);
		pthread_mutex_unlock(&pb->lock);
		return;
	}
	pthread_mutex_lock(&pb->lock);
	a = pb->cf8;
	pthread_mutex_unlock(&pb->lock);
	if (!(a & 0x80000000u)) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	pci_cfg_access(pb, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 0x7, (a & 0xfc) + (uint32_t)(off - 4), data,
		       len, write);
}

void pci_ecam_access(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	if (len > 4) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	pci_cfg_access(opaque, (unsigned int)(off >> 20), (off >> 15) & 0x1f, (off >> 12) & 0x7,
		       (uint32_t)(off & 0xfff), data, len, write);
}

int pci_bus_attach(struct pci_bus *pb, struct bus *pio, struct bus *mmio, struct hull_err **err)
{
	if (bus_insert(pio, LAYOUT_PORT_PCI_CONFIG, 8, pci_cf8_access, pb, "pci-cf8", err) < 0)
		return -1;
	return bus_insert(mmio, LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE, pci_ecam_access, pb, "pci-ecam", err);
}

/* ---- MSI-X (PCI 3.0 §6.8.2) ------------------------------------------------------ */

static bool vec_masked(const struct pci_msix *m, unsigned int i)
{
	return !m->enabled || m->fmask || (m->tab[i].ctrl & 1);
}

static void fire(struct pci_msix *m, unsigned int i)
{
	uint64_t one = 1;
	if (m->irqfd[i] >= 0 && write(m->irqfd[i], &one, sizeof(one)) < 0)
		hull_debug("msix: irqfd write: %s", strerror(errno));
}

/* Route an unmasked vector and deliver what was pending.  Holds m->lock. */
static void update_vector(struct pci_dev *d, unsigned int i)
{
	struct pci_msix *m = d->msix;

	if (vec_masked(m, i))
		return;
	if (d->bus && d->bus->vm) {
		uint64_t addr = (uint64_t)m->tab[i].addr_hi << 32 | m->tab[i].addr_lo;
		int r = vm_msi_route(d->bus->vm, m->gsi_base + i, addr, m->tab[i].data, true);
		if (r < 0)
			hull_debug("msix: route vector %u: %s", i, strerror(-r));
	}
	if (m->pba & (1ULL << i)) {
		m->pba &= ~(1ULL << i);
		fire(m, i);
	}
}

static void msix_ctrl_changed(struct pci_dev *d)
{
	struct pci_msix *m = d->msix;
	uint8_t hi = d->cfg[m->cap + 3];

	pthread_mutex_lock(&m->lock);
	m->enabled = hi & 0x80;
	m->fmask = hi & 0x40;
	for (unsigned int i = 0; i < m->n; i++)
		update_vector(d, i);
	pthread_mutex_unlock(&m->lock);
}

int pci_msix_init(struct pci_dev *d, unsigned int nvec, unsigned int bar, uint32_t table_off, uint32_t pba_off,
		  struct hull_err **err)
{
	struct pci_msix *m;
	uint8_t cap[12] = { PCI_CAP_ID_MSIX, 0 };

	if (nvec == 0 || nvec > PCI_MSIX_MAX || bar >= PCI_NUM_BARS || (table_off & 7) || (pba_off & 7))
		return hull_err_make(err, EINVAL, "msix: %u vectors in BAR%u", nvec, bar);
	m = xcalloc(1, sizeof(*m));
	m->n = nvec;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	pthread_mutex_init(&m->lock, NULL);
	for (unsigned int i = 0; i < PCI_MSIX_MAX; i++) {
		m->irqfd[i] = -1;
		m->tab[i].ctrl = 1; /* masked at reset */
	}
	wr16(cap + 2, (uint16_t)(nvec - 1));
	wr32(cap + 4, table_off | bar);
	wr32(cap + 8, pba_off | bar);
	m->cap = pci_dev_add_cap(d, cap, sizeof(cap));
	if (!m->cap) {
		free(m);
		return hull_err_make(err, ENOSPC, "msix: no room for the capability");
	}
	d->wmask[m->cap + 3] = 0xc0; /* MSI-X enable, function mask */
	d->msix = m;
	return 0;
}

int pci_msix_connect(struct pci_dev *d, struct hull_err **err)
{
	struct pci_msix *m = d->msix;
	struct vm *vm = d->bus ? d->bus->vm : NULL;

	if (!m || !vm || vm->vm_fd < 0) /* no KVM (unit tests): table and PBA only */
		return 0;
	if (vm_msi_alloc(vm, m->n, &m->gsi_base, err) < 0)
		return -1;
	for (unsigned int i = 0; i < m->n; i++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return hull_err_make(err, errno, "msix: eventfd");
		m->irqfd[i] = fd;
		int r = vm_irqfd(vm, fd, m->gsi_base + i, true);
		if (r < 0)
			return hull_err_make(err, -r, "msix: KVM_IRQFD gsi %u", m->gsi_base + i);
	}
	return 0;
}

void pci_msix_destroy(struct pci_dev *d)
{
	struct pci_msix *m = d->msix;
	struct vm *vm = d->bus ? d->bus->vm : NULL;

	if (!m)
		return;
	for (unsigned int i = 0; i < m->n; i++) {
		if (m->irqfd[i] < 0)
			continue;
		if (vm)
			vm_irqfd(vm, m->irqfd[i], m->gsi_base + i, false);
		close(m->irqfd[i]);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
	d->msix = NULL;
}

void pci_msix_table_access(struct pci_dev *d, uint64_t off, void *data, uint32_t len, bool write)
{
	struct pci_msix *m = d->msix;
	uint32_t v[2] = { 0, 0 };

	if (!write)
		memset(data, 0, len);
	/* Only aligned dword and qword accesses are defined (§6.8.2). */
	if (!m || !((len == 4 && !(off & 3)) || (len == 8 && !(off & 7))) || off / 16 >= m->n)
		return;
	pthread_mutex_lock(&m->lock);
	unsigned int i = (unsigned int)(off / 16), f = (unsigned int)(off % 16) / 4;
	uint32_t *fields = &m->tab[i].addr_lo;
	if (!write) {
		for (unsigned int k = 0; k < len / 4; k++)
			v[k] = fields[f + k];
		memcpy(data, v, len);
	} else {
		bool was_masked = vec_masked(m, i);
		memcpy(v, data, len);
		for (unsigned int k = 0; k < len / 4; k++)
			fields[f + k] = (f + k == 3) ? ((fields[3] & ~1u) | (v[k] & 1u)) : v[k];
		if (!vec_masked(m, i) || was_masked != vec_masked(m, i))
			update_vector(d, i);
	}
	pthread_mutex_unlock(&m->lock);
}

void pci_msix_pba_access(struct pci_dev *d, uint64_t off, void *data, uint32_t len, bool write)
{
	struct pci_msix *m = d->msix;

	if (write)
		return; /* read-only */
	memset(data, 0, len);
	if (!m || off >= 8)
		return;
	pthread_mutex_lock(&m->lock);
	uint64_t pba = m->pba;
	pthread_mutex_unlock(&m->lock);
	if (len > 8 - off)
		len = (uint32_t)(8 - off);
	memcpy(data, (uint8_t *)&pba + off, len);
}

void pci_msix_signal(struct pci_dev *d, unsigned int vec)
{
	struct pci_msix *m = d->msix;

	if (!m || vec >= m->n)
		return;
	pthread_mutex_lock(&m->lock);
	if (vec_masked(m, vec))
		m->pba |= 1ULL << vec;
	else
		fire(m, vec);
	pthread_mutex_unlock(&m->lock);
}
