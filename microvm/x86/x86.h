/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microvm/x86/x86.h (internal to microvm/): what makes the machine a PC:
 * the Linux/PVH boot protocol (boot.c), ACPI tables and their AML (acpi.c,
 * aml.c), the 16550A UART (serial.c), the platform ports (platform.c: ACPI
 * PM, pvpanic, i8042 reset) and the boot timer (boot_timer.c).  Addresses
 * and ports are in layout.h.  machine.c calls these stages; the core and
 * virtio/ never do.
 */
#ifndef HULL_MICROVM_X86_H
#define HULL_MICROVM_X86_H

#include "microvm/internal.h"

/* ---- boot (boot.c) ----------------------------------------------------------- */

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst, boot.rst) */
#define ZP_ACPI_RSDP 0x070
#define ZP_E820_ENTRIES 0x1e8
#define ZP_HDR 0x1f1
#define ZP_SETUP_SECTS 0x1f1
#define ZP_VID_MODE 0x1fa
#define ZP_BOOT_FLAG 0x1fe
#define ZP_JUMP 0x200
#define ZP_HEADER 0x202
#define ZP_VERSION 0x206
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_LOADFLAGS 0x211
#define ZP_CODE32_START 0x214
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_HEAP_END_PTR 0x224
#define ZP_CMD_LINE_PTR 0x228
#define ZP_INITRD_ADDR_MAX 0x22c
#define ZP_KERNEL_ALIGNMENT 0x230
#define ZP_RELOCATABLE 0x234
#define ZP_XLOADFLAGS 0x236
#define ZP_CMDLINE_SIZE 0x238
#define ZP_PREF_ADDRESS 0x258
#define ZP_INIT_SIZE 0x260
#define ZP_HDR_END 0x26c
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_MAX 128
#define ZP_SIZE 4096

#define BOOT_HDRS_MAGIC 0x53726448u /* "HdrS" */
#define BOOT_MIN_VERSION 0x020c     /* 2.12: 64-bit entry point, xloadflags */
#define XLF_KERNEL_64 (1u << 0)
#define LOADED_HIGH (1u << 0)
#define CAN_USE_HEAP (1u << 7)

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3 };
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

enum kernel_kind { KERNEL_BZIMAGE, KERNEL_ELF_PVH, KERNEL_ELF_64 };

struct bzimage_info {
	uint8_t setup_sects;
	uint16_t version;
	uint16_t xloadflags;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint32_t init_size;
	uint64_t payload_off, payload_len;
};

/* Pure parsers (unit-tested with hostile images). */
int boot_parse_bzimage(const uint8_t *img, size_t len, struct bzimage_info *bi, struct hull_err **err);
int boot_kernel_kind(const uint8_t *img, size_t len, enum kernel_kind *kind, struct hull_err **err);
/* The e820 map for mem_size bytes of RAM; returns the number of entries. */
unsigned int boot_e820(uint64_t mem_size, struct e820_entry *e, unsigned int max);
/* Fill a zero page (ZP_SIZE bytes) for a parsed bzImage. */
void boot_fill_zero_page(uint8_t *zp, const uint8_t *img, const struct bzimage_info *bi, uint64_t cmdline_len,
			 uint64_t initrd_gpa, uint64_t initrd_len, uint64_t mem_size);
/* Read kernel/initrd and lay them out in guest memory; fills vm->boot. */
int boot_load(struct vm *vm, struct hull_err **err);
/* Check a kernel file before any KVM work so bad usage fails first. */
int boot_check_kernel(const char *path, struct hull_err **err);

/* ---- ACPI (aml.c, acpi.c) ------------------------------------------------- */

struct aml {
	uint8_t *buf;
	size_t len, cap;
};
void aml_free(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_int(struct aml *a, uint64_t v);          /* smallest integer encoding */
void aml_string(struct aml *a, const char *s);
void aml_namestring(struct aml *a, const char *path); /* "\\_SB_.PCI0", "_HID" */
void aml_eisaid(struct aml *a, const char *id);   /* "PNP0A08" */
/* Nested objects: begin returns a mark, end patches the PkgLength. */
size_t aml_begin(struct aml *a, const uint8_t *op, size_t oplen);
void aml_end(struct aml *a, size_t mark);
size_t aml_scope(struct aml *a, const char *name);
size_t aml_device(struct aml *a, const char *name);
size_t aml_method(struct aml *a, const char *name, uint8_t nargs, bool serialized);
size_t aml_package(struct aml *a, uint8_t nelem);
size_t aml_buffer(struct aml *a); /* size is patched at aml_buffer_end */
void aml_buffer_end(struct aml *a, size_t mark);
void aml_name(struct aml *a, const char *name);   /* NameOp; value follows */
void aml_return(struct aml *a);                  /* ReturnOp; value follows */
void aml_notify(struct aml *a, const char *path, uint64_t value); /* Notify(path, value) */
/* Resource template descriptors (ACPI 6.5 §6.4), inside aml_buffer. */
void aml_rt_io(struct aml *a, uint16_t base, uint8_t len);
void aml_rt_irq(struct aml *a, uint8_t irq);
void aml_rt_interrupt(struct aml *a, uint32_t gsi); /* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) */
void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);
void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t max);
void aml_rt_end(struct aml *a);

struct acpi_tables {
	uint8_t *blob;     /* laid out for guest address `base` */
	size_t len;
	uint64_t base;
	uint64_t rsdp;
	struct { char sig[5]; size_t off, len; } t[8];
	unsigned int n;
};
int acpi_build(struct acpi_tables *t, uint64_t base, unsigned int ncpus, struct hull_err **err);
void acpi_tables_free(struct acpi_tables *t);
uint8_t acpi_checksum(const uint8_t *p, size_t len);
int acpi_dump(const struct acpi_tables *t, const char *dir, struct hull_err **err);

/* ---- legacy devices (serial.c, boot_timer.c, platform.c) ------------------ */

struct serial *serial_create(struct vm *vm, int in_fd, int out_fd, struct hull_err **err);
void serial_destroy(struct serial *s);
/* Pure register model for unit tests: */
void serial_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write);

int platform_devices_init(struct vm *vm, struct hull_err **err);
/* The power button (ged.c): pressed whenever vm_config.power_button_fd is readable. */
struct ged *ged_create(struct vm *vm, int in_fd, struct hull_err **err);
void ged_destroy(struct ged *g);
int boot_timer_init(struct vm *vm, struct hull_err **err);

#endif
