/* SPDX-License-Identifier: Apache-2.0 */
/* The device table (microvm/virtio/devices.c) on a VM without KVM: a config
 * plugs the devices its rows count, in table order on consecutive PCI slots,
 * each with the PCI class its ops declare; bad usage fails in the check, and
 * more devices than PCI slots is refused before anything is created. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_vm.h"

struct fixture {
	struct fake_vm f;
	char disk[64];
	int out[2];
};
static struct fixture *fx;

static int setup(void **state)
{
	int fd;

	fx = calloc(1, sizeof(*fx));
	fv_init(&fx->f);
	strcpy(fx->disk, "/tmp/hull-test-devices-XXXXXX");
	fd = mkstemp(fx->disk);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	assert_int_equal(pipe(fx->out), 0);
	fx->f.cfg.console_in = -1;
	fx->f.cfg.console_out = fx->out[1];
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	virtio_devices_unplug(&fx->f.vm);
	fv_free(&fx->f);
	unlink(fx->disk);
	close(fx->out[0]);
	close(fx->out[1]);
	free(fx);
	return 0;
}

static uint32_t cfg32(unsigned int slot, uint32_t off)
{
	uint32_t v = 0;
	pci_cfg_access(&fx->f.pb, 0, slot, 0, off, &v, 4, false);
	return v;
}

static void test_devices_plug_in_table_order_with_their_class(void **state)
{
	struct vm_disk disks[2] = { { .path = fx->disk }, { .path = fx->disk, .ro = true } };
	struct hull_err *err = NULL;
	char uds[80];

	snprintf(uds, sizeof(uds), "%s.vsock", fx->disk);
	fx->f.cfg.disks = disks;
	fx->f.cfg.ndisks = 2;
	fx->f.cfg.console = MICROVM_CONSOLE_VIRTIO;
	fx->f.cfg.vsock_uds = uds;
	assert_int_equal(virtio_devices_check(&fx->f.cfg, &err), 0);
	if (virtio_devices_plug(&fx->f.vm, &err) < 0)
		fail_msg("plug: %s", err->msg);
	assert_int_equal(fx->f.vm.nvdevs, 5);
	/* vendor:device, then class/subclass/prog-if above the revision byte */
	assert_int_equal(cfg32(1, 0), 0x10441af4); /* rng */
	assert_int_equal(cfg32(1, 8) >> 8, 0xff0000);
	assert_int_equal(cfg32(2, 0), 0x10421af4); /* blk */
	assert_int_equal(cfg32(2, 8) >> 8, 0x018000);
	assert_int_equal(cfg32(3, 0), 0x10421af4);
	assert_int_equal(cfg32(4, 0), 0x10431af4); /* console */
	assert_int_equal(cfg32(4, 8) >> 8, 0x078000);
	assert_int_equal(cfg32(5, 0), 0x10531af4); /* vsock */
	assert_int_equal(cfg32(5, 8) >> 8, 0x078000);
	assert_int_equal(cfg32(6, 0), 0xffffffff); /* nothing else */
	virtio_devices_unplug(&fx->f.vm);
	assert_int_equal(access(uds, F_OK), -1); /* the vsock socket went with it */
}

static void test_devices_serial_console_plugs_rng_only(void **state)
{
	struct hull_err *err = NULL;

	assert_int_equal(virtio_devices_plug(&fx->f.vm, &err), 0);
	assert_int_equal(fx->f.vm.nvdevs, 1);
	assert_int_equal(cfg32(2, 0), 0xffffffff);
}

static void test_devices_check_names_the_bad_disk(void **state)
{
	struct vm_disk disks[2] = { { .path = fx->disk }, { .path = "/nonexistent/disk.img", .ro = true } };
	struct hull_err *err = NULL;

	fx->f.cfg.disks = disks;
	fx->f.cfg.ndisks = 2;
	assert_int_equal(virtio_devices_check(&fx->f.cfg, &err), -1);
	assert_non_null(strstr(err->msg, "--disk /nonexistent/disk.img"));
	hull_err_free(&err);
}

static void test_devices_more_than_the_pci_bus_holds_are_refused(void **state)
{
	struct vm_disk disks[31];
	struct hull_err *err = NULL;

	for (unsigned int i = 0; i < 31; i++)
		disks[i] = (struct vm_disk){ .path = fx->disk, .ro = true };
	fx->f.cfg.disks = disks;
	fx->f.cfg.ndisks = 30; /* + rng = 31 slots: the bus is full, still fine */
	assert_int_equal(virtio_devices_check(&fx->f.cfg, &err), 0);
	fx->f.cfg.ndisks = 31;
	assert_int_equal(virtio_devices_check(&fx->f.cfg, &err), -1);
	assert_string_equal(err->msg, "32 devices: at most 31 fit on the PCI bus");
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_devices_plug_in_table_order_with_their_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_serial_console_plugs_rng_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_check_names_the_bad_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_more_than_the_pci_bus_holds_are_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
