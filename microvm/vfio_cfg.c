/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A passed-through PCI function's configuration space as the guest sees it
 * (issue 14; docs/passthrough.md): identity from the device, memory BARs
 * sized as the device reports them (placed by hull's bus, in its MMIO
 * window), I/O BARs and the expansion ROM hidden, MSI-X emulated by hull's
 * own capability and table (pci_msix_*: each vector an irqfd that
 * VFIO_DEVICE_SET_IRQS can take as its trigger), every other capability
 * (MSI, PCIe, power management) left out.  The device is read through
 * struct vfio_cfg_src, so this runs without hardware (tests/unit/microvm).
 */
#include "microvm/internal.h"

#define CFG_BAR0 0x10
#define CFG_STATUS 0x06
#define CFG_STATUS_CAP_LIST 0x10
#define CFG_CAP_PTR 0x34
#define CAP_ID_MSIX 0x11

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }

int vfio_cfg_build(struct pci_dev *d, const struct vfio_cfg_src *src, struct vfio_cfg_info *info,
		   struct hull_err **err)
{
	uint8_t c[256];

	memset(info, 0, sizeof(*info));
	if (src->read_cfg(src->opaque, c, sizeof(c)) < 0)
		return hull_err_make(err, EIO, "vfio: reading the configuration space");
	if (rd16(c) == 0xffff || rd16(c) == 0)
		return hull_err_make(err, ENODEV, "vfio: the function does not answer (vendor id %04x)", rd16(c));
	if ((c[0x0e] & 0x7f) != 0)
		return hull_err_make(err, ENOTSUP, "vfio: header type %u: only endpoints (type 0) pass through",
				     c[0x0e] & 0x7f);
	pci_dev_init(d, rd16(c), rd16(c + 2), c[0x0b], c[0x0a], c[0x09], rd16(c + 0x2c), rd16(c + 0x2e));
	d->cfg[0x08] = c[0x08];

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t bar = rd32(c + CFG_BAR0 + 4 * i);
		bool is64 = (bar & 0x7) == 0x4;
		uint64_t size = src->bar_size(src->opaque, i), sz = 4096;

		if (bar & 1) { /* I/O space: hull's bus has no I/O window */
			info->hidden_io |= 1u << i;
			continue;
		}
		if (size) {
			/* the guest maps at page granularity: at least a page */
			while (sz < size)
				sz <<= 1;
			pci_dev_set_bar(d, i, sz, is64);
			info->bar_size[i] = size;
		}
		if (is64)
			i++;
	}

	/* Capabilities: only MSI-X is offered, with hull's own table. */
	if (rd16(c + CFG_STATUS) & CFG_STATUS_CAP_LIST) {
		unsigned int off = c[CFG_CAP_PTR] & 0xfc, hops = 0;

		while (off >= 0x40 && off <= 0xfc - 4 && hops++ < 48) {
			if (c[off] == CAP_ID_MSIX && off + 12 <= sizeof(c)) {
				unsigned int n = (rd16(c + off + 2) & 0x7ff) + 1;
				uint32_t table = rd32(c + off + 4), pba = rd32(c + off + 8);

				if ((table & 7) != (pba & 7))
					return hull_err_make(err, ENOTSUP, "vfio: MSI-X table in BAR%u, PBA in BAR%u",
							     table & 7, pba & 7);
				if ((table & 7) >= PCI_NUM_BARS || !d->bars[table & 7].size)
					return hull_err_make(err, EINVAL, "vfio: MSI-X table in BAR%u, not a memory BAR",
							     table & 7);
				info->msix_dev_vectors = n;
				if (n > PCI_MSIX_MAX)
					n = PCI_MSIX_MAX; /* the guest sees fewer; the rest stay masked */
				if (pci_msix_init(d, n, table & 7, table & ~7u, pba & ~7u, err) < 0)
					return -1;
				info->msix_vectors = n;
				info->msix_bar = table & 7;
				info->msix_table_off = table & ~7u;
				info->msix_pba_off = pba & ~7u;
				break;
			}
			off = c[off + 1] & 0xfc;
		}
	}
	return 0;
}

unsigned int vfio_bar_direct(const struct vfio_cfg_info *info, unsigned int bar, uint64_t page,
			     struct vfio_range out[2])
{
	uint64_t size = bar < PCI_NUM_BARS ? info->bar_size[bar] : 0, lo, hi;
	unsigned int n = 0;

	if (!size || (size & (page - 1)))
		return 0;
	if (!info->msix_vectors || info->msix_bar != bar) {
		out[0] = (struct vfio_range){ 0, size };
		return 1;
	}
	/* The table (16 bytes a vector) and the PBA (a bit a vector, in
	 * qwords) trap, with the rest of the pages they share. */
	lo = info->msix_table_off < info->msix_pba_off ? info->msix_table_off : info->msix_pba_off;
	/* the device's whole table, also the vectors the guest is not offered */
	hi = (uint64_t)info->msix_table_off + 16ull * info->msix_dev_vectors;
	if ((uint64_t)info->msix_pba_off + 8ull * ((info->msix_dev_vectors + 63) / 64) > hi)
		hi = (uint64_t)info->msix_pba_off + 8ull * ((info->msix_dev_vectors + 63) / 64);
	lo &= ~(page - 1);
	hi = (hi + page - 1) & ~(page - 1);
	if (lo > size)
		lo = size;
	if (hi > size)
		hi = size;
	if (lo)
		out[n++] = (struct vfio_range){ 0, lo };
	if (hi < size)
		out[n++] = (struct vfio_range){ hi, size - hi };
	return n;
}
