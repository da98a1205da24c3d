/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot timer: guest init writes any byte to port 0x440 (or, where the kernel
 * has no /dev/port, to MMIO 0xe0100000 with `devmem 0xe0100000 8 1`) once
 * userspace is up; the caller's vm_config.boot_timer hook gets the time
 * since the process started (cli/ prints it for --boot-timer).  The start
 * is taken in a constructor (before main) from CLOCK_MONOTONIC, which is
 * within microseconds of exec; /proc/self/stat's starttime has only
 * clock-tick (10 ms) resolution.
 */
#include "microvm/x86/x86.h"

#include <time.h>

static uint64_t process_start_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

__attribute__((constructor)) static void record_start(void)
{
	process_start_ns = now_ns();
}

static void boot_timer_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	struct vm *vm = opaque;
	uint64_t ns;
	bool first;

	if (!write) {
		memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&vm->exit_lock);
	first = !vm->boot_timer_fired;
	vm->boot_timer_fired = true;
	pthread_mutex_unlock(&vm->exit_lock);
	if (!first || !vm->cfg->boot_timer)
		return;
	ns = now_ns() - vm->boot_timer_t0_ns;
	vm->cfg->boot_timer(vm->cfg->boot_timer_opaque, ns);
}

int boot_timer_init(struct vm *vm, struct hull_err **err)
{
	vm->boot_timer_t0_ns = process_start_ns ? process_start_ns : now_ns();
	if (bus_insert(&vm->pio, LAYOUT_PORT_BOOT_TIMER, 1, boot_timer_io, vm, "boot-timer", err) < 0)
		return -1;
	return bus_insert(&vm->mmio, LAYOUT_BOOT_TIMER_MMIO, LAYOUT_BOOT_TIMER_MMIO_SIZE, boot_timer_io, vm,
			  "boot-timer", err);
}
