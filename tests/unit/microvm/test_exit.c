/* SPDX-License-Identifier: Apache-2.0 */
/* vcpu_handle_exit on synthetic struct kvm_run: I/O and MMIO dispatch,
 * zeroed MMIO reads, rep string I/O, and the exit-code mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/internal.h"

struct fake_run {
	struct kvm_run run;
	uint8_t io[64];
};

static uint8_t last_out[16];
static int writes, reads;

static void dev_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	if (write) {
		memcpy(last_out, data, len);
		writes++;
	} else {
		reads++;
		memset(data, 0x5a, 1); /* writes only the first byte: the rest must stay pre-filled */
	}
}

static void buses(struct bus *pio, struct bus *mmio)
{
	bus_init(pio, "port");
	bus_init(mmio, "mmio");
	assert_int_equal(bus_insert(pio, 0x80, 4, dev_io, NULL, "p", NULL), 0);
	assert_int_equal(bus_insert(mmio, 0xd0000000, 0x1000, dev_io, NULL, "m", NULL), 0);
	writes = reads = 0;
}

static void test_exit_io_out_reaches_port_device(void **state)
{
	struct bus pio, mmio;
	struct fake_run f = { 0 };
	int code = -1;
	const char *why = NULL;

	buses(&pio, &mmio);
	f.run.exit_reason = KVM_EXIT_IO;
	f.run.io.direction = KVM_EXIT_IO_OUT;
	f.run.io.size = 1;
	f.run.io.port = 0x80;
	f.run.io.count = 1;
	f.run.io.data_offset = offsetof(struct fake_run, io);
	f.io[0] = 0x42;
	assert_int_equal(vcpu_handle_exit(&pio, &mmio, &f.run, &code, &why), EXIT_CONTINUE);
	assert_int_equal(writes, 1);
	assert_int_equal(last_out[0], 0x42);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static void test_exit_rep_ins_fills_every_element(void **state)
{
	struct bus pio, mmio;
	struct fake_run f = { 0 };
	int code;
	const char *why;

	buses(&pio, &mmio);
	f.run.exit_reason = KVM_EXIT_IO;
	f.run.io.direction = KVM_EXIT_IO_IN;
	f.run.io.size = 2;
	f.run.io.port = 0x82;
	f.run.io.count = 4;
	f.run.io.data_offset = offsetof(struct fake_run, io);
	assert_int_equal(vcpu_handle_exit(&pio, &mmio, &f.run, &code, &why), EXIT_CONTINUE);
	assert_int_equal(reads, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f.io[i * 2], 0x5a);
		assert_int_equal(f.io[i * 2 + 1], 0xff); /* pre-filled like a floating ISA bus */
	}
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static void test_exit_unhandled_port_read_is_all_ones(void **state)
{
	struct bus pio, mmio;
	struct fake_run f = { 0 };
	int code;
	const char *why;

	buses(&pio, &mmio);
	f.run.exit_reason = KVM_EXIT_IO;
	f.run.io.direction = KVM_EXIT_IO_IN;
	f.run.io.size = 4;
	f.run.io.port = 0x1234;
	f.run.io.count = 1;
	f.run.io.data_offset = offsetof(struct fake_run, io);
	assert_int_equal(vcpu_handle_exit(&pio, &mmio, &f.run, &code, &why), EXIT_CONTINUE);
	assert_memory_equal(f.io, "\xff\xff\xff\xff", 4);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static void test_exit_mmio_read_buffer_is_zeroed_first(void **state)
{
	struct bus pio, mmio;
	struct fake_run f = { 0 };
	int code;
	const char *why;

	buses(&pio, &mmio);
	f.run.exit_reason = KVM_EXIT_MMIO;
	f.run.mmio.phys_addr = 0xd0000010;
	f.run.mmio.len = 8;
	f.run.mmio.is_write = 0;
	memset(f.run.mmio.data, 0xcc, sizeof(f.run.mmio.data)); /* stale data from an earlier exit */
	assert_int_equal(vcpu_handle_exit(&pio, &mmio, &f.run, &code, &why), EXIT_CONTINUE);
	assert_int_equal(f.run.mmio.data[0], 0x5a);
	for (int i = 1; i < 8; i++)
		assert_int_equal(f.run.mmio.data[i], 0);
	/* unmapped MMIO reads as zero too */
	memset(f.run.mmio.data, 0xcc, sizeof(f.run.mmio.data));
	f.run.mmio.phys_addr = 0xe0000000ULL;
	assert_int_equal(vcpu_handle_exit(&pio, &mmio, &f.run, &code, &why), EXIT_CONTINUE);
	for (int i = 0; i < 8; i++)
		assert_int_equal(f.run.mmio.data[i], 0);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static void test_exit_mmio_oversized_length_is_ignored(void **state)
{
	struct bus pio, mmio;
	struct fake_run f = { 0 };
	int code;
	const char *why;

	buses(&pio, &mmio);
	f.run.exit_reason = KVM_EXIT_MMIO;
	f.run.mmio.phys_addr = 0xd0000000;
	f.run.mmio.len = 64; /* never valid: data[] holds 8 */
	f.run.mmio.is_write = 1;
	assert_int_equal(vcpu_handle_exit(&pio, &mmio, &f.run, &code, &why), EXIT_CONTINUE);
	assert_int_equal(writes, 0);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static void test_exit_reasons_map_to_exit_codes(void **state)
{
	static const struct { uint32_t reason, event; enum exit_action act; int code; } cases[] = {
		{ KVM_EXIT_HLT, 0, EXIT_STOP, MICROVM_EXIT_POWEROFF },
		{ KVM_EXIT_SHUTDOWN, 0, EXIT_STOP, MICROVM_EXIT_CRASH },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_SHUTDOWN, EXIT_STOP, MICROVM_EXIT_POWEROFF },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET, EXIT_STOP, MICROVM_EXIT_REBOOT },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_CRASH, EXIT_STOP, MICROVM_EXIT_CRASH },
		{ KVM_EXIT_SYSTEM_EVENT, 99, EXIT_STOP, MICROVM_EXIT_ERROR },
		{ KVM_EXIT_INTERNAL_ERROR, 0, EXIT_STOP, MICROVM_EXIT_ERROR },
		{ KVM_EXIT_FAIL_ENTRY, 0, EXIT_STOP, MICROVM_EXIT_ERROR },
		{ KVM_EXIT_INTR, 0, EXIT_CONTINUE, -1 },
		{ 0xdead, 0, EXIT_STOP, MICROVM_EXIT_ERROR },
	};
	struct bus pio, mmio;

	buses(&pio, &mmio);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fake_run f = { 0 };
		int code = -1;
		const char *why = NULL;
		f.run.exit_reason = cases[i].reason;
		f.run.system_event.type = cases[i].event;
		assert_int_equal(vcpu_handle_exit(&pio, &mmio, &f.run, &code, &why), cases[i].act);
		assert_int_equal(code, cases[i].code);
		if (cases[i].act == EXIT_STOP)
			assert_non_null(why);
	}
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static void test_cpuid_patch_sets_apic_id_and_topology(void **state)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(struct kvm_cpuid_entry2));
	c->nent = 4;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0xff00ffff };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1 };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0x40000001, .eax = 0x12345678 };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0 };
	cpuid_patch(c, 3, 4);
	assert_int_equal(c->entries[0].ebx >> 24, 3);
	assert_int_equal((c->entries[0].ebx >> 16) & 0xff, 4);
	assert_int_equal(c->entries[0].ebx & 0xffff, 0xffff);
	assert_true(c->entries[0].edx & (1u << 28));
	assert_int_equal(c->entries[1].edx, 3);       /* x2APIC id */
	assert_int_equal(c->entries[1].ebx, 4);       /* logical processors at core level */
	assert_int_equal(c->entries[1].eax, 2);       /* shift: 4 cores = 2 bits */
	assert_int_equal(c->entries[2].eax, 0x12345678); /* KVM leaves pass through unchanged */
	assert_int_equal(c->entries[3].ebx, 1);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_io_out_reaches_port_device),
		cmocka_unit_test(test_exit_rep_ins_fills_every_element),
		cmocka_unit_test(test_exit_unhandled_port_read_is_all_ones),
		cmocka_unit_test(test_exit_mmio_read_buffer_is_zeroed_first),
		cmocka_unit_test(test_exit_mmio_oversized_length_is_ignored),
		cmocka_unit_test(test_exit_reasons_map_to_exit_codes),
		cmocka_unit_test(test_cpuid_patch_sets_apic_id_and_topology),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
