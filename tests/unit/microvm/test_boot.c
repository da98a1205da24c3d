/* SPDX-License-Identifier: Apache-2.0 */
/* Linux boot protocol: bzImage header parsing with hostile images, the
 * zero page fields, the e820 map around the MMIO hole, and boot_load into
 * guest memory for bzImage and PVH ELF kernels (no KVM). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/x86/x86.h"

#include <elf.h>

#define IMG_SETUP_SECTS 4
#define IMG_LEN (((IMG_SETUP_SECTS + 1) * 512) + 4096)

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* A minimal well-formed bzImage: setup header + a payload of 0xcc bytes. */
static uint8_t *make_bzimage(size_t *len)
{
	uint8_t *img = calloc(1, IMG_LEN);
	img[ZP_SETUP_SECTS] = IMG_SETUP_SECTS;
	put16(img + ZP_BOOT_FLAG, 0xaa55);
	put32(img + ZP_HEADER, BOOT_HDRS_MAGIC);
	put16(img + ZP_VERSION, 0x020f);
	img[ZP_LOADFLAGS] = LOADED_HIGH;
	put32(img + ZP_INITRD_ADDR_MAX, 0x7fffffff);
	put16(img + ZP_XLOADFLAGS, XLF_KERNEL_64 | 2);
	put32(img + ZP_CMDLINE_SIZE, 2047);
	put32(img + ZP_INIT_SIZE, 0x100000);
	memset(img + (IMG_SETUP_SECTS + 1) * 512, 0xcc, 4096);
	*len = IMG_LEN;
	return img;
}

static void test_boot_parses_valid_bzimage(void **state)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	struct bzimage_info bi;

	assert_int_equal(boot_parse_bzimage(img, len, &bi, NULL), 0);
	assert_int_equal(bi.version, 0x020f);
	assert_int_equal(bi.payload_off, 5 * 512);
	assert_int_equal(bi.payload_len, 4096);
	assert_int_equal(bi.init_size, 0x100000);
	free(img);
}

static void test_boot_rejects_hostile_bzimages(void **state)
{
	static const struct { const char *name; int field; uint32_t value; int width; size_t len; } cases[] = {
		{ "truncated before the header", 0, 0, 0, 0x200 },
		{ "truncated inside the header", 0, 0, 0, ZP_HDR_END - 1 },
		{ "wrong magic", ZP_HEADER, 0x53726449, 4, 0 },
		{ "bad boot flag", ZP_BOOT_FLAG, 0x55aa, 2, 0 },
		{ "protocol 2.11 (no 64-bit entry)", ZP_VERSION, 0x020b, 2, 0 },
		{ "protocol 0.0", ZP_VERSION, 0, 2, 0 },
		{ "no XLF_KERNEL_64", ZP_XLOADFLAGS, 0, 2, 0 },
		{ "zImage (not loaded high)", ZP_LOADFLAGS, 0, 1, 0 },
		{ "setup_sects huge", ZP_SETUP_SECTS, 255, 1, 0 },
		{ "setup covers the whole file", ZP_SETUP_SECTS, 12, 1, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len;
		uint8_t *img = make_bzimage(&len);
		struct bzimage_info bi;
		struct hull_err *err = NULL;

		if (cases[i].width == 1)
			img[cases[i].field] = (uint8_t)cases[i].value;
		else if (cases[i].width == 2)
			put16(img + cases[i].field, (uint16_t)cases[i].value);
		else if (cases[i].width == 4)
			put32(img + cases[i].field, cases[i].value);
		if (cases[i].len)
			len = cases[i].len;
		if (boot_parse_bzimage(img, len, &bi, &err) == 0)
			fail_msg("accepted: %s", cases[i].name);
		assert_non_null(err);
		hull_err_free(&err);
		free(img);
	}
}

static void test_boot_kernel_kind_rejects_non_kernels(void **state)
{
	static const uint8_t text[] = "root:x:0:0:root:/root:/bin/bash\n";
	enum kernel_kind k;
	struct hull_err *err = NULL;

	assert_true(boot_kernel_kind(text, sizeof(text), &k, &err) < 0);
	assert_non_null(strstr(err->msg, "not a Linux kernel"));
	hull_err_free(&err);
	assert_true(boot_kernel_kind(text, 0, &k, &err) < 0);
	hull_err_free(&err);
	assert_int_equal(boot_kernel_kind((const uint8_t *)ELFMAG, SELFMAG, &k, NULL), 0);
	assert_int_equal(k, KERNEL_ELF_64);
}

static void test_boot_zero_page_fields(void **state)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	struct bzimage_info bi;
	uint8_t zp[ZP_SIZE];

	assert_int_equal(boot_parse_bzimage(img, len, &bi, NULL), 0);
	boot_fill_zero_page(zp, img, &bi, 20, 0x5000000, 0x123456, MiB(128));
	assert_int_equal(get32(zp + ZP_HEADER), BOOT_HDRS_MAGIC);
	assert_int_equal(zp[ZP_TYPE_OF_LOADER], 0xff);
	assert_true(zp[ZP_LOADFLAGS] & LOADED_HIGH);
	assert_true(zp[ZP_LOADFLAGS] & CAN_USE_HEAP);
	assert_int_equal(get32(zp + ZP_CMD_LINE_PTR), LAYOUT_CMDLINE);
	assert_int_equal(get32(zp + ZP_CMDLINE_SIZE), 20);
	assert_int_equal(get32(zp + ZP_RAMDISK_IMAGE), 0x5000000);
	assert_int_equal(get32(zp + ZP_RAMDISK_SIZE), 0x123456);
	assert_int_equal(get32(zp + ZP_ACPI_RSDP), LAYOUT_ACPI);
	assert_int_equal(zp[ZP_E820_ENTRIES], 4);
	free(img);
}

static void test_boot_e820_splits_ram_around_the_mmio_hole(void **state)
{
	struct e820_entry e[8];
	unsigned int n;
	uint64_t ram = 0;

	n = boot_e820(MiB(128), e, 8);
	assert_int_equal(n, 4);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, LAYOUT_ACPI);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, LAYOUT_KERNEL);
	assert_int_equal(e[2].addr + e[2].size, MiB(128));
	assert_int_equal(e[3].addr, LAYOUT_PCI_ECAM);

	n = boot_e820(GiB(5), e, 8);
	assert_int_equal(n, 5);
	assert_int_equal(e[2].addr + e[2].size, LAYOUT_RAM_LOW_MAX);
	assert_int_equal(e[4].addr, LAYOUT_RAM_HIGH);
	assert_int_equal(e[4].size, GiB(2));
	for (unsigned int i = 0; i < n; i++) {
		if (e[i].type == E820_RAM)
			ram += e[i].size;
		/* no RAM in the MMIO hole */
		if (e[i].type == E820_RAM)
			assert_true(e[i].addr + e[i].size <= LAYOUT_RAM_LOW_MAX || e[i].addr >= LAYOUT_RAM_HIGH);
	}
	assert_true(ram <= GiB(5));
	/* a too-small table is never overrun */
	assert_int_equal(boot_e820(GiB(5), e, 2), 2);
}

/* ---- boot_load into a fake VM (guest memory only) ---------------------------------- */

struct fake_vm {
	struct vm vm;
	struct vm_config cfg;
	uint8_t *ram;
	char kpath[64];
};

static struct fake_vm *fake_vm_new(const void *kernel, size_t len)
{
	struct fake_vm *f = calloc(1, sizeof(*f));
	int fd;

	f->ram = calloc(1, MiB(64));
	f->vm.mem_size = f->vm.ram_low = MiB(64);
	assert_int_equal(gm_add_region(&f->vm.gm, 0, MiB(64), f->ram, NULL), 0);
	microvm_config_init(&f->cfg);
	strcpy(f->kpath, "/tmp/hull-test-kernel.XXXXXX");
	fd = mkstemp(f->kpath);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, kernel, len), 0);
	close(fd);
	f->cfg.kernel = f->kpath;
	f->cfg.cmdline = "console=ttyS0 hello";
	f->vm.cfg = &f->cfg;
	return f;
}

static void fake_vm_free(struct fake_vm *f)
{
	unlink(f->kpath);
	free(f->ram);
	free(f);
}

static void test_boot_load_bzimage_places_kernel_cmdline_and_zero_page(void **state)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	struct fake_vm *f = fake_vm_new(img, len);
	struct hull_err *err = NULL;

	assert_int_equal(boot_load(&f->vm, &err), 0);
	assert_false(f->vm.boot.pvh);
	assert_int_equal(f->vm.boot.entry, LAYOUT_KERNEL + 0x200);
	assert_int_equal(f->ram[LAYOUT_KERNEL], 0xcc);
	assert_string_equal((char *)f->ram + LAYOUT_CMDLINE, "console=ttyS0 hello");
	assert_int_equal(get32(f->ram + LAYOUT_ZERO_PAGE + ZP_HEADER), BOOT_HDRS_MAGIC);
	/* the reset-vector stub writes the reset port */
	assert_int_equal(f->ram[LAYOUT_RESET_VECTOR], 0xb0);
	fake_vm_free(f);
	free(img);
}

static void test_boot_load_rejects_cmdline_longer_than_the_kernel_takes(void **state)
{
	size_t len;
	uint8_t *img = make_bzimage(&len);
	struct fake_vm *f;
	struct hull_err *err = NULL;
	char *longline = malloc(4000);

	put32(img + ZP_CMDLINE_SIZE, 255);
	f = fake_vm_new(img, len);
	memset(longline, 'a', 3999);
	longline[3999] = 0;
	f->cfg.cmdline = longline;
	assert_true(boot_load(&f->vm, &err) < 0);
	assert_non_null(strstr(err->msg, "--cmdline"));
	hull_err_free(&err);
	fake_vm_free(f);
	free(longline);
	free(img);
}

/* An ELF64 vmlinux with one PT_LOAD and a Xen PHYS32_ENTRY note. */
static uint8_t *make_pvh_elf(size_t *len, uint64_t paddr, uint32_t entry, bool note)
{
	size_t sz = 0x2000;
	uint8_t *img = calloc(1, sz);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	uint8_t *n = img + 0x400;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_X86_64;
	eh->e_entry = paddr;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = paddr, .p_filesz = 0x1000,
			      .p_memsz = 0x3000 };
	memset(img + 0x1000, 0x90, 0x1000);
	if (note) {
		put32(n, 4);       /* namesz */
		put32(n + 4, 4);   /* descsz */
		put32(n + 8, 18);  /* XEN_ELFNOTE_PHYS32_ENTRY */
		memcpy(n + 12, "Xen", 4);
		put32(n + 16, entry);
		ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x400, .p_filesz = 20 };
	}
	*len = sz;
	return img;
}

static void test_boot_load_pvh_elf_uses_the_note_entry(void **state)
{
	size_t len;
	uint8_t *img = make_pvh_elf(&len, 0x1000000, 0x1000123, true);
	struct fake_vm *f = fake_vm_new(img, len);
	struct hull_err *err = NULL;

	assert_int_equal(boot_load(&f->vm, &err), 0);
	assert_true(f->vm.boot.pvh);
	assert_int_equal(f->vm.boot.entry, 0x1000123);
	assert_int_equal(f->ram[0x1000000], 0x90);
	assert_int_equal(f->ram[0x1001000], 0); /* bss zeroed */
	assert_int_equal(get32(f->ram + LAYOUT_PVH_INFO), 0x336ec578);
	assert_int_equal(get32(f->ram + LAYOUT_PVH_INFO + 24), LAYOUT_CMDLINE);
	assert_int_equal(get32(f->ram + LAYOUT_PVH_INFO + 48), 4); /* memmap entries */
	fake_vm_free(f);
	free(img);
}

static void test_boot_load_elf_without_note_enters_64bit(void **state)
{
	size_t len;
	uint8_t *img = make_pvh_elf(&len, 0x1000000, 0, false);
	struct fake_vm *f = fake_vm_new(img, len);

	assert_int_equal(boot_load(&f->vm, NULL), 0);
	assert_false(f->vm.boot.pvh);
	assert_int_equal(f->vm.boot.entry, 0x1000000);
	assert_int_equal(get32(f->ram + LAYOUT_ZERO_PAGE + ZP_HEADER), BOOT_HDRS_MAGIC);
	fake_vm_free(f);
	free(img);
}

static void test_boot_load_rejects_hostile_elf_segments(void **state)
{
	static const struct { const char *name; uint64_t off, filesz, memsz, paddr; } cases[] = {
		{ "offset past the file", 0x10000, 0x10, 0x10, 0x1000000 },
		{ "filesz past the file", 0x1000, 0x100000, 0x100000, 0x1000000 },
		{ "filesz > memsz", 0x1000, 0x1000, 0x10, 0x1000000 },
		{ "below 1 MiB (boot structures)", 0x1000, 0x1000, 0x1000, 0x7000 },
		{ "past guest RAM", 0x1000, 0x1000, 0x1000, MiB(64) - 0x800 },
		{ "paddr near 2^64", 0x1000, 0x1000, 0x1000, UINT64_MAX - 0xfff },
		{ "memsz wrapping", 0x1000, 0x1000, UINT64_MAX, 0x1000000 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len;
		uint8_t *img = make_pvh_elf(&len, 0x1000000, 0x1000000, true);
		Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr));
		struct fake_vm *f;
		struct hull_err *err = NULL;

		ph[0].p_offset = cases[i].off;
		ph[0].p_filesz = cases[i].filesz;
		ph[0].p_memsz = cases[i].memsz;
		ph[0].p_paddr = cases[i].paddr;
		f = fake_vm_new(img, len);
		if (boot_load(&f->vm, &err) == 0)
			fail_msg("accepted: %s", cases[i].name);
		hull_err_free(&err);
		fake_vm_free(f);
		free(img);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_parses_valid_bzimage),
		cmocka_unit_test(test_boot_rejects_hostile_bzimages),
		cmocka_unit_test(test_boot_kernel_kind_rejects_non_kernels),
		cmocka_unit_test(test_boot_zero_page_fields),
		cmocka_unit_test(test_boot_e820_splits_ram_around_the_mmio_hole),
		cmocka_unit_test(test_boot_load_bzimage_places_kernel_cmdline_and_zero_page),
		cmocka_unit_test(test_boot_load_rejects_cmdline_longer_than_the_kernel_takes),
		cmocka_unit_test(test_boot_load_pvh_elf_uses_the_note_entry),
		cmocka_unit_test(test_boot_load_elf_without_note_enters_64bit),
		cmocka_unit_test(test_boot_load_rejects_hostile_elf_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
