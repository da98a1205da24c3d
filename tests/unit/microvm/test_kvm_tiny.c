/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny real-mode guest on the host's /dev/kvm drives the vCPU exit
 * handler and bus dispatch with real KVM exits: port out/in, MMIO write
 * and read outside every memory slot, and HLT.  Runs on hardware KVM and
 * on PVM (which runs raw real-mode code).  Skips when /dev/kvm is absent. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/internal.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#define CODE 0x1000
#define MMIO_BASE 0x20000

struct seen {
	uint8_t port80, port81, mmio_written;
	uint64_t mmio_off;
	int port_writes;
};
static struct seen seen;

static void port_dev(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	uint8_t *p = data;
	if (write) {
		seen.port_writes++;
		if (off == 0)
			seen.port80 = p[0];
		else
			seen.port81 = p[0];
	} else {
		p[0] = 0x5a;
	}
}

static void mmio_dev(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	uint8_t *p = data;
	if (write) {
		seen.mmio_written = p[0];
		seen.mmio_off = off;
	} else {
		p[0] = (uint8_t)(0x70 + off); /* offset 1 reads 0x71 */
	}
}

static void test_kvm_tiny_guest_exits_dispatch_to_buses(void **state)
{
	static const uint8_t code[] = {
		0xb0, 0x42,                   /* mov al, 0x42 */
		0xe6, 0x80,                   /* out 0x80, al */
		0xe4, 0x80,                   /* in al, 0x80       -> 0x5a */
		0xb8, 0x00, 0x20,             /* mov ax, 0x2000 */
		0x8e, 0xd8,                   /* mov ds, ax        (ds base 0x20000: MMIO) */
		0xc6, 0x06, 0x00, 0x00, 0x99, /* mov byte [0], 0x99 */
		0xa0, 0x01, 0x00,             /* mov al, [1]       -> 0x71 */
		0xe6, 0x81,                   /* out 0x81, al */
		0xf4,                         /* hlt */
	};
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		print_message("skipped: /dev/kvm: %s\n", strerror(errno));
		skip();
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	assert_true(vm >= 0);
	uint8_t *mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	memcpy(mem + CODE, code, sizeof(code));
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 0x10000, .userspace_addr = (uintptr_t)mem };
	assert_int_equal(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r), 0);
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	assert_true(cpu >= 0);
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	assert_true(run != MAP_FAILED);
	struct kvm_sregs s;
	assert_int_equal(ioctl(cpu, KVM_GET_SREGS, &s), 0);
	s.cs.base = 0;
	s.cs.selector = 0;
	assert_int_equal(ioctl(cpu, KVM_SET_SREGS, &s), 0);
	struct kvm_regs regs = { .rip = CODE, .rflags = 2 };
	assert_int_equal(ioctl(cpu, KVM_SET_REGS, &regs), 0);

	struct bus pio, mmio;
	bus_init(&pio, "port");
	bus_init(&mmio, "mmio");
	assert_int_equal(bus_insert(&pio, 0x80, 2, port_dev, NULL, "p", NULL), 0);
	assert_int_equal(bus_insert(&mmio, MMIO_BASE, 0x1000, mmio_dev, NULL, "m", NULL), 0);
	memset(&seen, 0, sizeof(seen));

	int code_out = -1, exits = 0;
	const char *why = NULL;
	for (;;) {
		int rr = ioctl(cpu, KVM_RUN, 0);
		if (rr < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		assert_int_equal(rr, 0);
		assert_true(++exits < 64);
		if (vcpu_handle_exit(&pio, &mmio, run, &code_out, &why) == EXIT_STOP)
			break;
	}
	assert_int_equal(code_out, MICROVM_EXIT_POWEROFF); /* HLT without an irqchip */
	assert_int_equal(seen.port80, 0x42);
	assert_int_equal(seen.mmio_written, 0x99);
	assert_int_equal(seen.mmio_off, 0);
	assert_int_equal(seen.port81, 0x71); /* MMIO read came back through the bus */
	assert_int_equal(seen.port_writes, 2);

	bus_destroy(&pio);
	bus_destroy(&mmio);
	munmap(run, (size_t)sz);
	munmap(mem, 0x10000);
	close(cpu);
	close(vm);
	close(kvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_tiny_guest_exits_dispatch_to_buses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
