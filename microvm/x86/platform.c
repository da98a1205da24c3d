/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platform ports that end the VM:
 *   0x600 ACPI sleep control: SLP_EN with SLP_TYP 5 (\_S5) = poweroff
 *   0x601 ACPI sleep status: reads 0 (never woken)
 *   0x602 ACPI reset register: RESET_VALUE = reboot
 *   0x064 i8042 command: 0xfe (pulse reset line) = reboot, Linux's fallback
 *   0x505 pvpanic: bit 0 (PANICKED) = crash
 */
#include "microvm/x86/x86.h"

#define SLP_EN 0x20
#define SLP_TYP(v) (((v) >> 2) & 7)
#define PVPANIC_PANICKED 0x1

static void acpi_pm_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	struct vm *vm = opaque;
	uint8_t v = *(uint8_t *)data;

	if (!write) {
		memset(data, 0, len);
		return;
	}
	if (off == LAYOUT_PORT_ACPI_SLEEP_CTL - LAYOUT_PORT_ACPI_SLEEP_CTL && (v & SLP_EN) && SLP_TYP(v) == 5)
		vm_request_exit(vm, MICROVM_EXIT_POWEROFF, "guest ACPI poweroff (S5)");
	else if (off == LAYOUT_PORT_ACPI_RESET - LAYOUT_PORT_ACPI_SLEEP_CTL && v == LAYOUT_ACPI_RESET_VALUE)
		vm_request_exit(vm, MICROVM_EXIT_REBOOT, "guest ACPI reset");
}

static void i8042_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	struct vm *vm = opaque;

	if (!write) {
		memset(data, 0, len); /* status: output empty, input empty, not busy */
		return;
	}
	if (*(uint8_t *)data == 0xfe)
		vm_request_exit(vm, MICROVM_EXIT_REBOOT, "guest i8042 reset");
}

static void pvpanic_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	struct vm *vm = opaque;

	if (!write) {
		*(uint8_t *)data = PVPANIC_PANICKED; /* supported events */
		return;
	}
	if (*(uint8_t *)data & PVPANIC_PANICKED)
		vm_request_exit(vm, MICROVM_EXIT_CRASH, "guest panic (pvpanic)");
}

int platform_devices_init(struct vm *vm, struct hull_err **err)
{
	if (bus_insert(&vm->pio, LAYOUT_PORT_ACPI_SLEEP_CTL, 3, acpi_pm_io, vm, "acpi-pm", err) < 0 ||
	    bus_insert(&vm->pio, LAYOUT_PORT_I8042, 1, i8042_io, vm, "i8042", err) < 0 ||
	    bus_insert(&vm->pio, LAYOUT_PORT_PVPANIC, 1, pvpanic_io, vm, "pvpanic", err) < 0)
		return -1;
	return 0;
}
