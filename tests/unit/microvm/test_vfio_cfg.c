/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration space a passed-through function shows the guest
 * (microvm/vfio_cfg.c), from a fake device: identity copied, memory BARs
 * sized as the device reports (rounded up to a page), the I/O BAR, the ROM
 * and the capabilities other than MSI-X hidden, MSI-X emulated with the
 * device's vector count, table and PBA offsets; bad devices refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_vm.h"

struct fake_dev {
	uint8_t cfg[256];
	uint64_t bars[PCI_NUM_BARS];
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

static int fd_read_cfg(void *opaque, uint8_t *buf, size_t len)
{
	memcpy(buf, ((struct fake_dev *)opaque)->cfg, len);
	return 0;
}

static uint64_t fd_bar_size(void *opaque, unsigned int bar)
{
	return ((struct fake_dev *)opaque)->bars[bar];
}

/* An NVMe-like function: BAR0 64-bit 16 KiB with the MSI-X table (17
 * vectors) at 0x2000 and PBA at 0x3000, BAR2 I/O (32 bytes), BAR3 32-bit
 * 256 bytes, a ROM; capabilities PM (0x40) -> MSI-X (0x60) -> PCIe (0x80). */
static void nvme_like(struct fake_dev *f)
{
	memset(f, 0, sizeof(*f));
	put16(f->cfg + 0x00, 0x1b36);
	put16(f->cfg + 0x02, 0x0010);
	put16(f->cfg + 0x06, 0x0010); /* capability list */
	f->cfg[0x08] = 2;
	f->cfg[0x09] = 0x02;
	f->cfg[0x0a] = 0x08;
	f->cfg[0x0b] = 0x01;
	put32(f->cfg + 0x10, 0xfe000004);
	put32(f->cfg + 0x14, 0);
	put32(f->cfg + 0x18, 0xc001);
	put32(f->cfg + 0x1c, 0xfd000000);
	put16(f->cfg + 0x2c, 0x1af4);
	put16(f->cfg + 0x2e, 0x1100);
	put32(f->cfg + 0x30, 0xfc000001);
	f->cfg[0x34] = 0x40;
	f->cfg[0x40] = 0x01; f->cfg[0x41] = 0x60;
	f->cfg[0x60] = 0x11; f->cfg[0x61] = 0x80;
	put16(f->cfg + 0x62, 16);
	put32(f->cfg + 0x64, 0x2000);
	put32(f->cfg + 0x68, 0x3000);
	f->cfg[0x80] = 0x10; f->cfg[0x81] = 0x00;
	f->bars[0] = 0x4000;
	f->bars[2] = 32;
	f->bars[3] = 0x100;
}

static uint32_t cfg_rd(struct fake_vm *v, struct pci_dev *d, uint32_t off, uint32_t len)
{
	uint32_t x = 0;
	pci_cfg_access(&v->pb, 0, d->slot, 0, off, &x, len, false);
	return x;
}

static void cfg_wr(struct fake_vm *v, struct pci_dev *d, uint32_t off, uint32_t x, uint32_t len)
{
	pci_cfg_access(&v->pb, 0, d->slot, 0, off, &x, len, true);
}

static void test_guest_view_of_a_passed_through_function(void **state)
{
	struct fake_vm v;
	struct fake_dev f;
	struct pci_dev d;
	struct vfio_cfg_info info;
	struct hull_err *err = NULL;
	struct vfio_cfg_src src = { fd_read_cfg, fd_bar_size, &f };

	fv_init(&v);
	nvme_like(&f);
	assert_int_equal(vfio_cfg_build(&d, &src, &info, &err), 0);
	assert_int_equal(pci_bus_add(&v.pb, &d, &err), 0);

	assert_int_equal(cfg_rd(&v, &d, 0x00, 4), 0x00101b36);
	assert_int_equal(cfg_rd(&v, &d, 0x08, 4), 0x01080202);
	assert_int_equal(cfg_rd(&v, &d, 0x2c, 4), 0x11001af4);

	/* BAR sizing as a guest does it: all ones, read back */
	for (uint32_t off = 0x10; off < 0x28; off += 4)
		cfg_wr(&v, &d, off, 0xffffffff, 4);
	assert_int_equal(cfg_rd(&v, &d, 0x10, 4), 0xffffc004); /* 16 KiB, 64-bit */
	assert_int_equal(cfg_rd(&v, &d, 0x14, 4), 0xffffffff);
	assert_int_equal(cfg_rd(&v, &d, 0x18, 4), 0);          /* I/O BAR hidden */
	assert_int_equal(cfg_rd(&v, &d, 0x1c, 4), 0xfffff000); /* 256 bytes -> a page */
	assert_int_equal(cfg_rd(&v, &d, 0x20, 4), 0);
	assert_int_equal(info.bar_size[0], 0x4000);
	assert_int_equal(info.bar_size[3], 0x100);
	assert_int_equal(info.hidden_io, 1u << 2);

	/* the ROM is hidden: nothing there, nothing to size */
	assert_int_equal(cfg_rd(&v, &d, 0x30, 4), 0);
	cfg_wr(&v, &d, 0x30, 0xffffffff, 4);
	assert_int_equal(cfg_rd(&v, &d, 0x30, 4), 0);

	/* only MSI-X in the capability list, as the device laid it out */
	uint32_t cap = cfg_rd(&v, &d, 0x34, 1);
	assert_int_not_equal(cap, 0);
	assert_int_equal(cfg_rd(&v, &d, cap, 1), 0x11);
	assert_int_equal(cfg_rd(&v, &d, cap + 1, 1), 0);
	assert_int_equal(cfg_rd(&v, &d, cap + 2, 2) & 0x7ff, 16);
	assert_int_equal(cfg_rd(&v, &d, cap + 4, 4), 0x2000);
	assert_int_equal(cfg_rd(&v, &d, cap + 8, 4), 0x3000);
	assert_int_equal(info.msix_vectors, 17);
	assert_int_equal(info.msix_bar, 0);
	/* the guest enables MSI-X; the table is hull's (masked at reset) */
	cfg_wr(&v, &d, cap + 3, 0x80, 1);
	assert_int_equal(cfg_rd(&v, &d, cap + 3, 1) & 0x80, 0x80);
	assert_true(d.msix->tab[16].ctrl & 1);

	pci_bus_remove(&v.pb, &d);
	pci_msix_destroy(&d);
	fv_free(&v);
}

static void test_devices_that_cannot_pass_through_are_refused(void **state)
{
	struct fake_dev f;
	struct pci_dev d;
	struct vfio_cfg_info info;
	struct hull_err *err = NULL;
	struct vfio_cfg_src src = { fd_read_cfg, fd_bar_size, &f };

	nvme_like(&f);
	put32(f.cfg + 0x68, 0x3000 | 3); /* PBA in BAR3 */
	assert_true(vfio_cfg_build(&d, &src, &info, &err) < 0);
	assert_non_null(strstr(err->msg, "MSI-X table in BAR0, PBA in BAR3"));
	hull_err_free(&err);

	nvme_like(&f);
	put16(f.cfg, 0xffff);
	assert_true(vfio_cfg_build(&d, &src, &info, &err) < 0);
	assert_non_null(strstr(err->msg, "does not answer"));
	hull_err_free(&err);

	nvme_like(&f);
	f.cfg[0x0e] = 1; /* a bridge */
	assert_true(vfio_cfg_build(&d, &src, &info, &err) < 0);
	assert_non_null(strstr(err->msg, "header type 1"));
	hull_err_free(&err);

	/* a capability list that loops ends; no MSI-X found is no error */
	nvme_like(&f);
	f.cfg[0x41] = 0x40;
	assert_int_equal(vfio_cfg_build(&d, &src, &info, &err), 0);
	assert_int_equal(info.msix_vectors, 0);
	assert_null(d.msix);
}

static void test_direct_ranges_leave_the_msix_pages_to_trap(void **state)
{
	struct fake_dev f;
	struct pci_dev d;
	struct vfio_cfg_info info;
	struct hull_err *err = NULL;
	struct vfio_cfg_src src = { fd_read_cfg, fd_bar_size, &f };
	struct vfio_range r[2];

	/* table 0x2000 (17 vectors), PBA 0x3000, in a 16 KiB BAR0: only the
	 * first two pages are the guest's directly */
	nvme_like(&f);
	assert_int_equal(vfio_cfg_build(&d, &src, &info, &err), 0);
	assert_int_equal(vfio_bar_direct(&info, 0, 4096, r), 1);
	assert_int_equal(r[0].off, 0);
	assert_int_equal(r[0].len, 0x2000);
	/* a 256-byte BAR cannot be mmapped: all of it traps */
	assert_int_equal(vfio_bar_direct(&info, 3, 4096, r), 0);
	assert_int_equal(vfio_bar_direct(&info, 2, 4096, r), 0);
	assert_int_equal(vfio_bar_direct(&info, 9, 4096, r), 0);
	pci_msix_destroy(&d);

	/* table at 0, PBA at 0x800 in one page: the rest of the BAR is direct */
	nvme_like(&f);
	put32(f.cfg + 0x64, 0x0000);
	put32(f.cfg + 0x68, 0x0800);
	assert_int_equal(vfio_cfg_build(&d, &src, &info, &err), 0);
	assert_int_equal(vfio_bar_direct(&info, 0, 4096, r), 1);
	assert_int_equal(r[0].off, 0x1000);
	assert_int_equal(r[0].len, 0x3000);
	pci_msix_destroy(&d);

	/* 2048 vectors (the guest is offered 64), table 0x1000..0x9000, PBA
	 * 0x9000 (256 bytes) in a 64 KiB BAR: the device's whole table traps,
	 * also the entries the guest never sees */
	nvme_like(&f);
	f.bars[0] = 0x10000;
	put16(f.cfg + 0x62, 0x7ff);
	put32(f.cfg + 0x64, 0x1000);
	put32(f.cfg + 0x68, 0x9000);
	assert_int_equal(vfio_cfg_build(&d, &src, &info, &err), 0);
	assert_int_equal(info.msix_vectors, 64);
	assert_int_equal(info.msix_dev_vectors, 2048);
	assert_int_equal(vfio_bar_direct(&info, 0, 4096, r), 2);
	assert_int_equal(r[0].off, 0);
	assert_int_equal(r[0].len, 0x1000);
	assert_int_equal(r[1].off, 0xa000);
	assert_int_equal(r[1].len, 0x6000);
	pci_msix_destroy(&d);

	/* no MSI-X: the whole BAR */
	nvme_like(&f);
	f.cfg[0x41] = 0x80;
	assert_int_equal(vfio_cfg_build(&d, &src, &info, &err), 0);
	assert_int_equal(vfio_bar_direct(&info, 0, 4096, r), 1);
	assert_int_equal(r[0].len, 0x4000);
}

static uint32_t written_off, written_len;
static unsigned int written_calls;

static void record_written(struct pci_dev *d, uint32_t off, uint32_t len)
{
	written_off = off;
	written_len = len;
	written_calls++;
}

static void test_config_writes_reach_the_device_model_after_the_mask(void **state)
{
	static const struct pci_dev_ops ops = { .cfg_written = record_written };
	struct fake_vm v;
	struct fake_dev f;
	struct pci_dev d;
	struct vfio_cfg_info info;
	struct hull_err *err = NULL;
	struct vfio_cfg_src src = { fd_read_cfg, fd_bar_size, &f };

	fv_init(&v);
	nvme_like(&f);
	assert_int_equal(vfio_cfg_build(&d, &src, &info, &err), 0);
	d.ops = &ops;
	assert_int_equal(pci_bus_add(&v.pb, &d, &err), 0);
	/* bus master on: the model sees the write (and forwards it, vfio.c);
	 * the bits hull does not let the guest write stay as they were */
	cfg_wr(&v, &d, 0x04, 0xffff, 2);
	assert_int_equal(written_calls, 1);
	assert_int_equal(written_off, 0x04);
	assert_int_equal(written_len, 2);
	assert_int_equal(cfg_rd(&v, &d, 0x04, 2), 0x0407);
	/* the device id is not the guest's to write */
	cfg_wr(&v, &d, 0x00, 0, 4);
	assert_int_equal(cfg_rd(&v, &d, 0x00, 4), 0x00101b36);
	pci_bus_remove(&v.pb, &d);
	pci_msix_destroy(&d);
	fv_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_view_of_a_passed_through_function),
		cmocka_unit_test(test_devices_that_cannot_pass_through_are_refused),
		cmocka_unit_test(test_direct_ranges_leave_the_msix_pages_to_trap),
		cmocka_unit_test(test_config_writes_reach_the_device_model_after_the_mask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
