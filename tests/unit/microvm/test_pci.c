/* SPDX-License-Identifier: Apache-2.0 */
/* PCI config space: every width at every offset, BAR sizing and remapping,
 * cross-dword accesses, the 0xcf8 and ECAM mechanisms, capabilities, MSI-X
 * masking and pending bits.  No KVM: the bus has no VM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/internal.h"

#define BAR_SIZE 0x8000

struct fixture {
	struct bus mmio;
	struct pci_bus pb;
	struct pci_dev dev;
	int bar_calls;
	uint64_t bar_off;
	uint64_t moved_to;
};

static struct fixture *fx;

static void bar_access(struct pci_dev *d, unsigned int bar, uint64_t off, void *data, uint32_t len, bool write)
{
	fx->bar_calls++;
	fx->bar_off = off;
	if (!write)
		memset(data, 0x77, len);
}

static void bar_moved(struct pci_dev *d, unsigned int bar, uint64_t old, uint64_t addr)
{
	fx->moved_to = addr;
}

static const struct pci_dev_ops ops = { .bar_access = bar_access, .bar_moved = bar_moved };

static int setup(void **state)
{
	fx = calloc(1, sizeof(*fx));
	bus_init(&fx->mmio, "mmio");
	pci_bus_init(&fx->pb, NULL, &fx->mmio);
	pci_dev_init(&fx->dev, 0x1af4, 0x1042, 0x01, 0x80, 0, 0x1af4, 0x1042);
	fx->dev.ops = &ops;
	pci_dev_set_bar(&fx->dev, 0, BAR_SIZE, false);
	pci_dev_set_bar(&fx->dev, 2, 0x100000, true);
	assert_int_equal(pci_msix_init(&fx->dev, 4, 0, 0x4000, 0x5000, NULL), 0);
	assert_int_equal(pci_bus_add(&fx->pb, &fx->dev, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	pci_msix_destroy(&fx->dev);
	pci_bus_destroy(&fx->pb);
	bus_destroy(&fx->mmio);
	free(fx);
	return 0;
}

static uint32_t cfg_read(unsigned int slot, uint32_t off, uint32_t len)
{
	uint32_t v = 0;
	pci_cfg_access(&fx->pb, 0, slot, 0, off, &v, len, false);
	return v;
}

static void cfg_write(unsigned int slot, uint32_t off, uint32_t v, uint32_t len)
{
	pci_cfg_access(&fx->pb, 0, slot, 0, off, &v, len, true);
}

static void test_pci_reads_every_width_at_every_offset(void **state)
{
	unsigned int slot = fx->dev.slot;

	for (uint32_t len = 1; len <= 4; len *= 2) {
		for (uint32_t off = 0; off < PCI_CFG_SIZE; off++) {
			uint8_t buf[4];
			memset(buf, 0xee, sizeof(buf));
			pci_cfg_access(&fx->pb, 0, slot, 0, off, buf, len, false);
			for (uint32_t i = 0; i < len; i++) {
				if (off + i < PCI_CFG_SIZE)
					assert_int_equal(buf[i], fx->dev.cfg[off + i]);
				else
					assert_int_equal(buf[i], 0xff); /* past the end: all ones */
			}
		}
	}
	/* offsets at and past 4096 and absurd ones */
	assert_int_equal(cfg_read(slot, PCI_CFG_SIZE, 4), 0xffffffff);
	assert_int_equal(cfg_read(slot, UINT32_MAX - 1, 4), 0xffffffff);
}

static void test_pci_writes_only_change_writable_bits(void **state)
{
	unsigned int slot = fx->dev.slot;
	uint8_t before[PCI_CFG_SIZE], wmask[PCI_CFG_SIZE];

	memcpy(before, fx->dev.cfg, sizeof(before));
	memcpy(wmask, fx->dev.wmask, sizeof(wmask));
	for (uint32_t len = 1; len <= 4; len *= 2)
		for (uint32_t off = 0; off < PCI_CFG_SIZE; off++)
			if (off < 0x04 || off >= 0x40) /* leave command/BARs/MSI-X alone here */
				cfg_write(slot, off, 0xffffffff, len);
	for (uint32_t off = 0; off < PCI_CFG_SIZE; off++) {
		if (off >= 0x04 && off < 0x40)
			continue;
		assert_int_equal(fx->dev.cfg[off], (before[off] & ~wmask[off]) | wmask[off]);
	}
	assert_int_equal(cfg_read(slot, 0, 4), 0x10421af4); /* ids are read-only */
}

static void test_pci_bar_sizing_reads_back_size_mask(void **state)
{
	unsigned int slot = fx->dev.slot;
	uint32_t orig = cfg_read(slot, 0x10, 4);

	assert_int_equal(orig & 0xf, 0);               /* 32-bit memory BAR */
	assert_int_equal(orig, (uint32_t)fx->dev.bars[0].mapped);
	cfg_write(slot, 0x04, 0, 2);                   /* decoding off while sizing */
	assert_int_equal(fx->dev.bars[0].mapped, 0);
	cfg_write(slot, 0x10, 0xffffffff, 4);
	assert_int_equal(cfg_read(slot, 0x10, 4), ~(uint32_t)(BAR_SIZE - 1));
	/* 64-bit BAR: type bits survive, high dword sizes too */
	cfg_write(slot, 0x18, 0xffffffff, 4);
	cfg_write(slot, 0x1c, 0xffffffff, 4);
	assert_int_equal(cfg_read(slot, 0x18, 4), ~(uint32_t)(0x100000 - 1) | 0x4);
	assert_int_equal(cfg_read(slot, 0x1c, 4), 0xffffffff);
	/* unused BARs read zero whatever is written */
	cfg_write(slot, 0x14, 0xffffffff, 4);
	assert_int_equal(cfg_read(slot, 0x14, 4), 0);
	cfg_write(slot, 0x10, orig, 4);
	cfg_write(slot, 0x04, 0x2, 2);
	assert_int_equal(fx->dev.bars[0].mapped, orig);
}

static void test_pci_bar_moves_on_the_bus(void **state)
{
	unsigned int slot = fx->dev.slot;
	uint8_t buf[4];

	cfg_write(slot, 0x10, 0xd0000000, 4);
	assert_int_equal(fx->moved_to, 0xd0000000);
	assert_int_equal(bus_access(&fx->mmio, 0xd0000010, buf, 4, false), 0);
	assert_int_equal(fx->bar_off, 0x10);
	assert_int_equal(buf[0], 0x77);
	/* the old address is gone */
	assert_int_equal(bus_access(&fx->mmio, LAYOUT_PCI_MMIO32 + 0x10, buf, 4, false), -ENOENT);
	/* a misaligned address (guest bug) is never decoded: low bits are read-only */
	cfg_write(slot, 0x10, 0xd0001000, 4);
	assert_int_equal(cfg_read(slot, 0x10, 4), 0xd0000000);
}

static void test_pci_cross_dword_write_updates_both_registers(void **state)
{
	unsigned int slot = fx->dev.slot;

	cfg_write(slot, 0x04, 0, 2);
	/* 2 bytes at 0x3b..0x3c: last byte of the expansion ROM reg (RO) and interrupt line (RW) */
	cfg_write(slot, 0x3b, 0x5aa5, 2);
	assert_int_equal(fx->dev.cfg[0x3b], 0);
	assert_int_equal(fx->dev.cfg[0x3c], 0x5a);
	/* 4 bytes at 0x12 straddle BAR0's high half and BAR1 (unused) */
	cfg_write(slot, 0x12, 0xffffffff, 4);
	assert_int_equal(cfg_read(slot, 0x10, 4) & 0xffff0000, 0xffff0000 & ~(uint32_t)(BAR_SIZE - 1));
	assert_int_equal(cfg_read(slot, 0x14, 4), 0);
}

static void test_pci_missing_device_or_function_reads_all_ones(void **state)
{
	uint32_t v = 0;

	assert_int_equal(cfg_read(7, 0, 4), 0xffffffff);
	pci_cfg_access(&fx->pb, 0, fx->dev.slot, 1, 0, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
	pci_cfg_access(&fx->pb, 1, fx->dev.slot, 0, 0, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
	pci_cfg_access(&fx->pb, 0, 40, 0, 0, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
	cfg_write(7, 0x3c, 0xff, 1); /* ignored, no crash */
	/* the host bridge is at 00:00.0 */
	assert_int_equal(cfg_read(0, 0, 4), 0x00081b36);
	assert_int_equal(cfg_read(0, 0x0a, 2), 0x0600);
}

static void test_pci_cf8_mechanism(void **state)
{
	uint32_t addr = 0x80000000u | (fx->dev.slot << 11), v;
	uint8_t b = 0x01;

	pci_cf8_access(&fx->pb, 0, &addr, 4, true);
	v = 0;
	pci_cf8_access(&fx->pb, 4, &v, 4, false);
	assert_int_equal(v, 0x10421af4);
	v = 0;
	pci_cf8_access(&fx->pb, 6, &v, 2, false); /* 0xcfe: upper half of the dword */
	assert_int_equal(v, 0x1042);
	/* Linux's type-1 probe writes a byte to 0xcfb: ignored */
	pci_cf8_access(&fx->pb, 3, &b, 1, true);
	v = 0;
	pci_cf8_access(&fx->pb, 0, &v, 4, false);
	assert_int_equal(v, addr);
	/* enable bit clear: no config cycle */
	addr &= ~0x80000000u;
	pci_cf8_access(&fx->pb, 0, &addr, 4, true);
	pci_cf8_access(&fx->pb, 4, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
	/* an access straddling 0xcfb/0xcfc is refused */
	v = 0;
	pci_cf8_access(&fx->pb, 2, &v, 4, false);
	assert_int_equal(v, 0xffffffff);
}

static void test_pci_ecam_decodes_device_and_register(void **state)
{
	uint32_t v = 0;
	uint64_t base = (uint64_t)fx->dev.slot << 15;
	uint64_t wide = 0;

	pci_ecam_access(&fx->pb, base + 2, &v, 2, false);
	assert_int_equal(v, 0x1042);
	pci_ecam_access(&fx->pb, base + 0xffe, &v, 2, false); /* extended space exists, zero */
	assert_int_equal(v, 0);
	pci_ecam_access(&fx->pb, base + (1 << 12), &v, 4, false); /* function 1 */
	assert_int_equal(v, 0xffffffff);
	pci_ecam_access(&fx->pb, base, &wide, 8, false); /* 8-byte config accesses are not a thing */
	assert_int_equal(wide, UINT64_MAX);
}

static void test_pci_capability_list_terminates_at_msix(void **state)
{
	unsigned int slot = fx->dev.slot, n = 0;
	uint8_t p;

	assert_true(cfg_read(slot, 0x06, 2) & 0x10);
	for (p = (uint8_t)cfg_read(slot, 0x34, 1); p && n < 48; p = (uint8_t)cfg_read(slot, p + 1, 1), n++)
		if (cfg_read(slot, p, 1) == 0x11)
			break;
	assert_int_equal(cfg_read(slot, p, 1), 0x11);
	assert_int_equal(cfg_read(slot, p + 2, 2) & 0x7ff, 3);           /* table size - 1 */
	assert_int_equal(cfg_read(slot, p + 4, 4), 0x4000);              /* table in BAR0 */
	assert_int_equal(cfg_read(slot, p + 8, 4), 0x5000);
}

static void test_pci_msix_masked_vector_sets_pending_until_unmasked(void **state)
{
	struct pci_dev *d = &fx->dev;
	uint8_t cap = d->msix->cap;
	uint32_t v, ctrl;
	uint64_t pba = 0;

	/* vectors start masked, MSI-X disabled: signalling only sets PBA */
	pci_msix_signal(d, 2);
	pci_msix_pba_access(d, 0, &pba, 8, false);
	assert_int_equal(pba, 1 << 2);
	/* program vector 2 and enable MSI-X, still masked per-vector */
	v = 0xfee00000;
	pci_msix_table_access(d, 2 * 16 + 0, &v, 4, true);
	v = 0x4041;
	pci_msix_table_access(d, 2 * 16 + 8, &v, 4, true);
	cfg_write(d->slot, cap + 2, 0x8000 | 3, 2);
	assert_true(d->msix->enabled);
	pci_msix_pba_access(d, 0, &pba, 8, false);
	assert_int_equal(pba, 1 << 2);
	/* unmask: the pending interrupt is delivered and PBA clears */
	ctrl = 0;
	pci_msix_table_access(d, 2 * 16 + 12, &ctrl, 4, true);
	pci_msix_pba_access(d, 0, &pba, 8, false);
	assert_int_equal(pba, 0);
	v = 0;
	pci_msix_table_access(d, 2 * 16 + 8, &v, 4, false);
	assert_int_equal(v, 0x4041);
	/* function mask holds everything again */
	cfg_write(d->slot, cap + 3, 0xc0, 1);
	pci_msix_signal(d, 2);
	pci_msix_pba_access(d, 0, &pba, 8, false);
	assert_int_equal(pba, 1 << 2);
}

static void test_pci_msix_hostile_table_accesses_are_ignored(void **state)
{
	struct pci_dev *d = &fx->dev;
	uint32_t v = 0x12345678;
	uint64_t q = 0;

	pci_msix_table_access(d, 4 * 16, &v, 4, true);  /* entry 4 of 4: past the table */
	pci_msix_table_access(d, 0x3ff0, &v, 4, true);
	pci_msix_table_access(d, 2, &v, 2, true);       /* 2-byte accesses are undefined */
	pci_msix_table_access(d, 4, &q, 8, false);      /* misaligned qword */
	assert_int_equal(q, 0);
	pci_msix_signal(d, 4);                         /* no such vector */
	pci_msix_signal(d, UINT32_MAX);
	/* a qword write covers addr_lo and addr_hi */
	q = 0x00000001fee01000ULL;
	pci_msix_table_access(d, 16, &q, 8, true);
	assert_int_equal(d->msix->tab[1].addr_lo, 0xfee01000);
	assert_int_equal(d->msix->tab[1].addr_hi, 1);
	/* only the mask bit of vector control is writable */
	v = 0xfffffffe;
	pci_msix_table_access(d, 16 + 12, &v, 4, true);
	assert_int_equal(d->msix->tab[1].ctrl, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pci_reads_every_width_at_every_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_writes_only_change_writable_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_bar_sizing_reads_back_size_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_bar_moves_on_the_bus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cross_dword_write_updates_both_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_missing_device_or_function_reads_all_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cf8_mechanism, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_ecam_decodes_device_and_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_capability_list_terminates_at_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_msix_masked_vector_sets_pending_until_unmasked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pci_msix_hostile_table_accesses_are_ignored, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
