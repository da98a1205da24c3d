/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-pci common configuration (virtio 1.2 §4.1.4.3) driven through the
 * MMIO bus like a guest would, on a VM without KVM: queue_select bounds,
 * queue size rules, feature negotiation, ring validation on enable, reset,
 * ISR read-to-clear and PCI identity.  The device is virtio-rng. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_vm.h"

#define RAM_SIZE FV_RAM_SIZE
#define BAR LAYOUT_PCI_MMIO32 /* the first BAR allocated from the window */

struct fixture {
	struct fake_vm f;
	struct virtio_pci *vp;
};
static struct fixture *fx;

static int setup(void **state)
{
	struct hull_err *err = NULL;
	struct virtio_dev *d;

	fx = calloc(1, sizeof(*fx));
	fv_init(&fx->f);
	d = virtio_rng_create(&err);
	assert_non_null(d);
	fx->vp = virtio_pci_create(&fx->f.vm, d, &err);
	if (!fx->vp)
		fail_msg("virtio_pci_create: %s", err->msg);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	virtio_pci_destroy(fx->vp);
	fv_free(&fx->f);
	free(fx);
	return 0;
}

static uint32_t rd(uint64_t off, uint32_t len)
{
	uint32_t v = 0xdeadbeef;
	if (len < 4)
		v = 0;
	assert_int_equal(bus_access(&fx->f.vm.mmio, BAR + off, &v, len, false), 0);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

static void wr(uint64_t off, uint32_t v, uint32_t len)
{
	assert_int_equal(bus_access(&fx->f.vm.mmio, BAR + off, &v, len, true), 0);
}

#define C_DFSEL 0
#define C_DF 4
#define C_GFSEL 8
#define C_GF 12
#define C_NUMQ 18
#define C_STATUS 20
#define C_QSEL 22
#define C_QSIZE 24
#define C_QVEC 26
#define C_QEN 28
#define C_QDESC 32
#define C_QDRV 40
#define C_QDEV 48

static void test_vpci_identity_and_bar(void **state)
{
	uint32_t id = 0;
	pci_cfg_access(&fx->f.pb, 0, 1, 0, 0, &id, 4, false);
	assert_int_equal(id, 0x10441af4); /* 1af4:1044 (0x1040 + rng) */
	assert_int_equal(rd(C_NUMQ, 2), 1);
}

static void test_vpci_queue_select_out_of_range_reads_zero_ignores_writes(void **state)
{
	wr(C_QSEL, 0, 2);
	assert_int_equal(rd(C_QSIZE, 2), 256);
	for (uint32_t q = 1; q < 0x10000; q = q * 3 + 1) {
		wr(C_QSEL, q, 2);
		assert_int_equal(rd(C_QSIZE, 2), 0);
		wr(C_QSIZE, 16, 2);
		wr(C_QDESC, 0x1000, 4);
		wr(C_QEN, 1, 2);
		assert_int_equal(rd(C_QEN, 2), 0);
		assert_int_equal(rd(C_QDESC, 4), 0);
	}
	wr(C_QSEL, 0, 2);
	assert_int_equal(rd(C_QSIZE, 2), 256); /* queue 0 untouched */
	assert_int_equal(rd(C_QDESC, 4), 0);
}

static void test_vpci_queue_size_must_be_power_of_two_within_max(void **state)
{
	wr(C_QSEL, 0, 2);
	wr(C_QSIZE, 100, 2);
	assert_int_equal(rd(C_QSIZE, 2), 256);
	wr(C_QSIZE, 512, 2);
	assert_int_equal(rd(C_QSIZE, 2), 256);
	wr(C_QSIZE, 0, 2);
	assert_int_equal(rd(C_QSIZE, 2), 256);
	wr(C_QSIZE, 64, 2);
	assert_int_equal(rd(C_QSIZE, 2), 64);
}

static void test_vpci_features_never_offered_are_dropped(void **state)
{
	uint64_t offered;

	wr(C_DFSEL, 0, 4);
	offered = rd(C_DF, 4);
	wr(C_DFSEL, 1, 4);
	offered |= (uint64_t)rd(C_DF, 4) << 32;
	wr(C_DFSEL, 2, 4);
	assert_int_equal(rd(C_DF, 4), 0); /* no third word */
	assert_true(offered & (1ULL << VIRTIO_F_VERSION_1));
	wr(C_GFSEL, 0, 4);
	wr(C_GF, 0xffffffff, 4);
	assert_int_equal(rd(C_GF, 4), (uint32_t)offered);
	wr(C_GFSEL, 1, 4);
	wr(C_GF, 0xffffffff, 4);
	assert_int_equal(rd(C_GF, 4), (uint32_t)(offered >> 32));
}

static void test_vpci_features_ok_needs_version_1(void **state)
{
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wr(C_GFSEL, 1, 4);
	wr(C_GF, 0, 4); /* a legacy driver */
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	assert_false(rd(C_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
	wr(C_GF, 1, 4); /* VERSION_1 is bit 32 */
	wr(C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	assert_true(rd(C_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK);
	/* features are frozen after FEATURES_OK */
	wr(C_GF, 0, 4);
	assert_int_equal(rd(C_GF, 4), 1);
}

static void setup_queue(uint64_t desc, uint64_t drv, uint64_t dev)
{
	wr(C_QSEL, 0, 2);
	wr(C_QSIZE, 16, 2);
	wr(C_QDESC, (uint32_t)desc, 4);
	wr(C_QDESC + 4, (uint32_t)(desc >> 32), 4);
	wr(C_QDRV, (uint32_t)drv, 4);
	wr(C_QDRV + 4, (uint32_t)(drv >> 32), 4);
	wr(C_QDEV, (uint32_t)dev, 4);
	wr(C_QDEV + 4, (uint32_t)(dev >> 32), 4);
	wr(C_QEN, 1, 2);
}

static void test_vpci_queue_enable_validates_ring_addresses(void **state)
{
	setup_queue(0xfff00000ULL << 12, 0x2000, 0x3000); /* descriptors outside RAM */
	assert_int_equal(rd(C_QEN, 2), 0);
	assert_true(rd(C_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	wr(C_STATUS, 0, 1); /* reset clears it */
	assert_int_equal(rd(C_STATUS, 1), 0);
	setup_queue(0x1000, 0x2000, 0x3000);
	assert_int_equal(rd(C_QEN, 2), 1);
	/* addresses are frozen once enabled */
	wr(C_QDESC, 0x8000, 4);
	assert_int_equal(rd(C_QDESC, 4), 0x1000);
}

static void test_vpci_reset_clears_queues_and_features(void **state)
{
	wr(C_GFSEL, 1, 4);
	wr(C_GF, 1, 4);
	setup_queue(0x1000, 0x2000, 0x3000);
	wr(C_QVEC, 1, 2);
	wr(C_STATUS, 0, 1);
	assert_int_equal(rd(C_QEN, 2), 0);
	assert_int_equal(rd(C_QSIZE, 2), 256);
	assert_int_equal(rd(C_QVEC, 2), 0xffff);
	assert_int_equal(rd(C_QDESC, 4), 0);
	wr(C_GFSEL, 1, 4);
	assert_int_equal(rd(C_GF, 4), 0);
}

static void test_vpci_msix_vector_beyond_table_reads_no_vector(void **state)
{
	wr(C_QSEL, 0, 2);
	wr(C_QVEC, 1, 2); /* 2 vectors: config + 1 queue */
	assert_int_equal(rd(C_QVEC, 2), 1);
	wr(C_QVEC, 2, 2);
	assert_int_equal(rd(C_QVEC, 2), 0xffff);
	wr(16, 7, 2); /* config_msix_vector */
	assert_int_equal(rd(16, 2), 0xffff);
}

static void test_vpci_odd_widths_and_offsets_are_safe(void **state)
{
	for (uint64_t off = 0; off < 0x8000; off += 0x3f1) {
		for (uint32_t len = 1; len <= 8; len *= 2) {
			uint8_t buf[8] = { 0 };
			if (off + len > 0x8000)
				continue;
			bus_access(&fx->f.vm.mmio, BAR + off, buf, len, false);
			memset(buf, 0, sizeof(buf)); /* writes of zero: at worst a reset */
			bus_access(&fx->f.vm.mmio, BAR + off, buf, len, true);
		}
	}
	/* a byte read in the middle of a dword register returns that byte */
	wr(C_DFSEL, 1, 4);
	assert_int_equal(rd(C_DF, 1), 1); /* VERSION_1: bit 0 of the high word */
	/* the ISR is read-to-clear */
	assert_int_equal(rd(0x1000, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vpci_identity_and_bar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpci_queue_select_out_of_range_reads_zero_ignores_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vpci_queue_size_must_be_power_of_two_within_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpci_features_never_offered_are_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpci_features_ok_needs_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpci_queue_enable_validates_ring_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpci_reset_clears_queues_and_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpci_msix_vector_beyond_table_reads_no_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpci_odd_widths_and_offsets_are_safe, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
