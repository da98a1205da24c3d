/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading Linux: the x86 boot protocol for bzImage (Documentation/arch/x86/
 * boot.rst), entered straight in 64-bit mode at load address + 0x200 with
 * a zero page, and an ELF vmlinux, entered through its PVH note
 * (XEN_ELFNOTE_PHYS32_ENTRY) in 32-bit protected mode with an
 * hvm_start_info, or at e_entry in 64-bit mode when it has none.
 *
 * The kernel file is hostile input: every header field is checked against
 * the file length by subtraction before use.
 */
#include "microvm/x86/x86.h"

#include <elf.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MAGIC 0x336ec578u
#define KERNEL_FILE_MAX (512ULL << 20)

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

int boot_kernel_kind(const uint8_t *img, size_t len, enum kernel_kind *kind, struct hull_err **err)
{
	if (len >= ZP_HEADER + 4 && le32(img + ZP_HEADER) == BOOT_HDRS_MAGIC) {
		*kind = KERNEL_BZIMAGE;
		return 0;
	}
	if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0) {
		*kind = KERNEL_ELF_64; /* boot_load refines to PVH when the note is there */
		return 0;
	}
	return hull_err_make(err, 0, "not a Linux kernel (no bzImage \"HdrS\" header, no ELF magic)");
}

int boot_parse_bzimage(const uint8_t *img, size_t len, struct bzimage_info *bi, struct hull_err **err)
{
	uint64_t setup_len;

	memset(bi, 0, sizeof(*bi));
	if (len < ZP_HDR_END)
		return hull_err_make(err, 0, "bzImage truncated (%zu bytes, setup header needs %d)", len, ZP_HDR_END);
	if (le32(img + ZP_HEADER) != BOOT_HDRS_MAGIC)
		return hull_err_make(err, 0, "not a bzImage (no \"HdrS\" magic)");
	if (le16(img + ZP_BOOT_FLAG) != 0xaa55)
		return hull_err_make(err, 0, "bzImage: bad boot_flag 0x%04x", le16(img + ZP_BOOT_FLAG));
	bi->version = le16(img + ZP_VERSION);
	if (bi->version < BOOT_MIN_VERSION)
		return hull_err_make(err, 0, "bzImage: boot protocol %u.%02u too old (need 2.12 for the 64-bit entry)",
				     bi->version >> 8, bi->version & 0xff);
	bi->xloadflags = le16(img + ZP_XLOADFLAGS);
	if (!(bi->xloadflags & XLF_KERNEL_64))
		return hull_err_make(err, 0, "bzImage: no 64-bit entry point (XLF_KERNEL_64 clear)");
	if (!(img[ZP_LOADFLAGS] & LOADED_HIGH))
		return hull_err_make(err, 0, "bzImage: not a high-loaded kernel (zImage)");
	bi->setup_sects = img[ZP_SETUP_SECTS] ? img[ZP_SETUP_SECTS] : 4;
	setup_len = ((uint64_t)bi->setup_sects + 1) * 512;
	if (setup_len >= len)
		return hull_err_make(err, 0, "bzImage: setup_sects %u runs past the end of the file (%zu bytes)",
				     bi->setup_sects, len);
	bi->payload_off = setup_len;
	bi->payload_len = len - setup_len;
	bi->initrd_addr_max = le32(img + ZP_INITRD_ADDR_MAX);
	bi->cmdline_size = le32(img + ZP_CMDLINE_SIZE);
	bi->pref_address = le64(img + ZP_PREF_ADDRESS);
	bi->init_size = le32(img + ZP_INIT_SIZE);
	return 0;
}

unsigned int boot_e820(uint64_t mem_size, struct e820_entry *e, unsigned int max)
{
	uint64_t low = mem_size < LAYOUT_RAM_LOW_MAX ? mem_size : LAYOUT_RAM_LOW_MAX;
	struct e820_entry all[] = {
		{ 0, LAYOUT_EBDA, E820_RAM },
		{ LAYOUT_ACPI, LAYOUT_ACPI_SIZE, E820_RESERVED },
		{ LAYOUT_KERNEL, low - LAYOUT_KERNEL, E820_RAM },
		{ LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE, E820_RESERVED },
		{ LAYOUT_RAM_HIGH, mem_size - low, E820_RAM },
	};
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(all) && n < max; i++)
		if (all[i].size)
			e[n++] = all[i];
	return n;
}

static void zp_e820(uint8_t *zp, uint64_t mem_size)
{
	struct e820_entry e[8];
	unsigned int n = boot_e820(mem_size, e, ARRAY_SIZE(e));

	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = zp + ZP_E820_TABLE + i * 20;
		put64(p, e[i].addr);
		put64(p + 8, e[i].size);
		put32(p + 16, e[i].type);
	}
}

static void zp_common(uint8_t *zp, uint64_t cmdline_len, uint64_t initrd_gpa, uint64_t initrd_len,
		      uint64_t mem_size)
{
	zp[ZP_TYPE_OF_LOADER] = 0xff; /* undefined loader */
	zp[ZP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	put16(zp + ZP_HEAP_END_PTR, 0xfe00);
	put16(zp + ZP_VID_MODE, 0xffff); /* "normal" */
	put32(zp + ZP_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);
	put32(zp + ZP_CMDLINE_SIZE, (uint32_t)cmdline_len);
	put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
	put32(zp + ZP_RAMDISK_SIZE, (uint32_t)initrd_len);
	put64(zp + ZP_ACPI_RSDP, LAYOUT_ACPI);
	zp_e820(zp, mem_size);
}

void boot_fill_zero_page(uint8_t *zp, const uint8_t *img, const struct bzimage_info *bi, uint64_t cmdline_len,
			 uint64_t initrd_gpa, uint64_t initrd_len, uint64_t mem_size)
{
	memset(zp, 0, ZP_SIZE);
	/* The setup header is copied from the image, then the loader fields set. */
	memcpy(zp + ZP_HDR, img + ZP_HDR, ZP_HDR_END - ZP_HDR);
	(void)bi;
	zp_common(zp, cmdline_len, initrd_gpa, initrd_len, mem_size);
}

/* ---- ELF ----------------------------------------------------------------------- */

/* The PVH entry from a PT_NOTE segment, 0 if none. */
static uint64_t pvh_entry(const uint8_t *img, size_t len, const Elf64_Phdr *ph)
{
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return 0;
	const uint8_t *p = img + ph->p_offset;
	uint64_t left = ph->p_filesz;

	while (left >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p, sizeof(nh));
		uint64_t name = ((uint64_t)nh.n_namesz + 3) & ~3ULL, desc = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		left -= sizeof(nh);
		p += sizeof(nh);
		if (name > left || desc > left - name)
			return 0;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 && memcmp(p, "Xen", 4) == 0) {
			if (nh.n_descsz == 8)
				return le64(p + name);
			if (nh.n_descsz == 4)
				return le32(p + name);
			return 0;
		}
		p += name + desc;
		left -= name + desc;
	}
	return 0;
}

static int load_elf(struct vm *vm, const uint8_t *img, size_t len, struct hull_err **err)
{
	Elf64_Ehdr eh;
	uint64_t end = 0, pvh = 0;

	if (len < sizeof(eh))
		return hull_err_make(err, 0, "ELF kernel truncated");
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return hull_err_make(err, 0, "ELF kernel: not a little-endian x86-64 ELF64");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return hull_err_make(err, 0, "ELF kernel: program headers out of the file");
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		void *hva;
		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE && !pvh)
			pvh = pvh_entry(img, len, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset || ph.p_filesz > ph.p_memsz)
			return hull_err_make(err, 0, "ELF kernel: segment %u out of the file", i);
		if (ph.p_paddr < LAYOUT_KERNEL || gm_slice(&vm->gm, ph.p_paddr, ph.p_memsz, &hva) < 0)
			return hull_err_make(err, 0, "ELF kernel: segment %u at 0x%" PRIx64 "+0x%" PRIx64
					     " is outside guest RAM above 1 MiB", i, (uint64_t)ph.p_paddr,
					     (uint64_t)ph.p_memsz);
		memcpy(hva, img + ph.p_offset, ph.p_filesz);
		memset((uint8_t *)hva + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
	}
	if (!end)
		return hull_err_make(err, 0, "ELF kernel: no loadable segment");
	vm->boot.kernel_end = end;
	vm->boot.pvh = pvh != 0;
	vm->boot.entry = pvh ? pvh : eh.e_entry;
	return 0;
}

/* ---- files ----------------------------------------------------------------------- */

struct mapped {
	uint8_t *p;
	size_t len;
};

static void unmap(struct mapped *m)
{
	if (m->p && m->len)
		munmap(m->p, m->len);
	m->p = NULL;
}

static int map_file(const char *what, const char *path, struct mapped *m, struct hull_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	m->p = NULL;
	m->len = 0;
	if (fd < 0)
		return hull_err_make(err, errno, "%s %s", what, path);
	if (fstat(fd, &st) < 0)
		return hull_err_make(err, errno, "%s %s", what, path);
	if (!S_ISREG(st.st_mode))
		return hull_err_make(err, 0, "%s %s: not a regular file", what, path);
	if ((uint64_t)st.st_size > KERNEL_FILE_MAX)
		return hull_err_make(err, EFBIG, "%s %s", what, path);
	if (st.st_size == 0)
		return 0;
	m->p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m->p == MAP_FAILED) {
		m->p = NULL;
		return hull_err_make(err, errno, "%s %s: mmap", what, path);
	}
	m->len = (size_t)st.st_size;
	return 0;
}

int boot_check_kernel(const char *path, struct hull_err **err)
{
	struct mapped k;
	enum kernel_kind kind;
	struct bzimage_info bi;
	int r = map_file("--kernel", path, &k, err);

	if (r < 0)
		return r;
	r = boot_kernel_kind(k.p, k.len, &kind, err);
	if (r == 0 && kind == KERNEL_BZIMAGE)
		r = boot_parse_bzimage(k.p, k.len, &bi, err);
	unmap(&k);
	if (r < 0)
		return hull_err_wrap(err, "--kernel %s", path);
	return 0;
}

static const char *default_cmdline(const struct vm_config *cfg)
{
	return cfg->console == MICROVM_CONSOLE_VIRTIO ? "console=hvc0" : "console=ttyS0";
}

static int write_pvh_info(struct vm *vm, uint64_t initrd, uint64_t initrd_len, struct hull_err **err)
{
	uint8_t info[0x38] = { 0 }, mod[32] = { 0 }, mm[LAYOUT_PVH_MEMMAP_MAX * 24] = { 0 };
	struct e820_entry e[8];
	unsigned int n = boot_e820(vm->mem_size, e, ARRAY_SIZE(e));

	for (unsigned int i = 0; i < n; i++) {
		put64(mm + i * 24, e[i].addr);
		put64(mm + i * 24 + 8, e[i].size);
		put32(mm + i * 24 + 16, e[i].type);
	}
	put32(info, PVH_MAGIC);
	put32(info + 4, 1); /* version */
	put32(info + 12, initrd_len ? 1 : 0);
	put64(info + 16, LAYOUT_PVH_MODLIST);
	put64(info + 24, LAYOUT_CMDLINE);
	put64(info + 32, LAYOUT_ACPI);
	put64(info + 40, LAYOUT_PVH_MEMMAP);
	put32(info + 48, n);
	put64(mod, initrd);
	put64(mod + 8, initrd_len);
	if (gm_write(&vm->gm, LAYOUT_PVH_INFO, info, sizeof(info)) < 0 ||
	    gm_write(&vm->gm, LAYOUT_PVH_MODLIST, mod, sizeof(mod)) < 0 ||
	    gm_write(&vm->gm, LAYOUT_PVH_MEMMAP, mm, n * 24) < 0)
		return hull_err_make(err, EFAULT, "PVH start info");
	return 0;
}

/* Place the initrd as high as allowed below `max`, above the kernel. */
static int load_initrd(struct vm *vm, uint64_t max, uint64_t *gpa, uint64_t *len, struct hull_err **err)
{
	struct mapped m;
	uint64_t top = vm->ram_low < max ? vm->ram_low : max, addr;
	int r;

	*gpa = *len = 0;
	if (!vm->cfg->initrd)
		return 0;
	r = map_file("--initrd", vm->cfg->initrd, &m, err);
	if (r < 0)
		return r;
	if (m.len == 0 || m.len > top || ((top - m.len) & ~0xfffULL) < vm->boot.kernel_end) {
		unmap(&m);
		return hull_err_make(err, 0, "--initrd %s: %zu bytes do not fit between the kernel and 0x%" PRIx64,
				     vm->cfg->initrd, m.len, top);
	}
	addr = (top - m.len) & ~0xfffULL;
	r = gm_write(&vm->gm, addr, m.p, m.len);
	unmap(&m);
	if (r < 0)
		return hull_err_make(err, EFAULT, "--initrd %s: copy", vm->cfg->initrd);
	*gpa = addr;
	*len = m.len;
	return 0;
}

static int load_bzimage(struct vm *vm, const uint8_t *img, size_t len, struct hull_err **err)
{
	struct bzimage_info bi;
	uint8_t zp[ZP_SIZE];
	uint64_t initrd = 0, initrd_len = 0, need, max;
	const char *cmdline = vm->cfg->cmdline ? vm->cfg->cmdline : default_cmdline(vm->cfg);
	size_t cl = strlen(cmdline) + 1;

	if (boot_parse_bzimage(img, len, &bi, err) < 0)
		return hull_err_wrap(err, "--kernel %s", vm->cfg->kernel);
	/* init_size is the footprint the decompressor needs from the load address. */
	need = bi.init_size > bi.payload_len ? bi.init_size : bi.payload_len;
	if (need > vm->ram_low - LAYOUT_KERNEL)
		return hull_err_make(err, 0, "--kernel %s: needs %" PRIu64 " MiB from 1 MiB, --memory too small",
				     vm->cfg->kernel, need >> 20);
	if (gm_write(&vm->gm, LAYOUT_KERNEL, img + bi.payload_off, bi.payload_len) < 0)
		return hull_err_make(err, EFAULT, "--kernel %s: copy", vm->cfg->kernel);
	vm->boot.kernel_end = LAYOUT_KERNEL + need;
	vm->boot.entry = LAYOUT_KERNEL + 0x200; /* startup_64 */
	vm->boot.pvh = false;
	if (cl > LAYOUT_CMDLINE_MAX || (bi.cmdline_size && cl > (uint64_t)bi.cmdline_size + 1))
		return hull_err_make(err, 0, "--cmdline: %zu bytes, the kernel takes at most %u", cl - 1,
				     bi.cmdline_size);
	if (gm_write(&vm->gm, LAYOUT_CMDLINE, cmdline, cl) < 0)
		return hull_err_make(err, EFAULT, "cmdline");
	max = bi.initrd_addr_max ? (uint64_t)bi.initrd_addr_max + 1 : 0x38000000ULL;
	if (load_initrd(vm, max, &initrd, &initrd_len, err) < 0)
		return -1;
	boot_fill_zero_page(zp, img, &bi, cl - 1, initrd, initrd_len, vm->mem_size);
	if (gm_write(&vm->gm, LAYOUT_ZERO_PAGE, zp, sizeof(zp)) < 0)
		return hull_err_make(err, EFAULT, "zero page");
	return 0;
}

static int load_vmlinux(struct vm *vm, const uint8_t *img, size_t len, struct hull_err **err)
{
	const char *cmdline = vm->cfg->cmdline ? vm->cfg->cmdline : default_cmdline(vm->cfg);
	size_t cl = strlen(cmdline) + 1;
	uint64_t initrd, initrd_len;
	uint8_t zp[ZP_SIZE] = { 0 };

	if (load_elf(vm, img, len, err) < 0)
		return hull_err_wrap(err, "--kernel %s", vm->cfg->kernel);
	if (cl > LAYOUT_CMDLINE_MAX)
		return hull_err_make(err, 0, "--cmdline: %zu bytes is too long", cl - 1);
	if (gm_write(&vm->gm, LAYOUT_CMDLINE, cmdline, cl) < 0)
		return hull_err_make(err, EFAULT, "cmdline");
	if (load_initrd(vm, 0x38000000ULL, &initrd, &initrd_len, err) < 0)
		return -1;
	if (vm->boot.pvh)
		return write_pvh_info(vm, initrd, initrd_len, err);
	/* 64-bit entry of an ELF without PVH note: a minimal zero page. */
	put16(zp + ZP_BOOT_FLAG, 0xaa55);
	put32(zp + ZP_HEADER, BOOT_HDRS_MAGIC);
	put32(zp + ZP_KERNEL_ALIGNMENT, 0x1000000);
	zp_common(zp, cl - 1, initrd, initrd_len, vm->mem_size);
	if (gm_write(&vm->gm, LAYOUT_ZERO_PAGE, zp, sizeof(zp)) < 0)
		return hull_err_make(err, EFAULT, "zero page");
	return 0;
}

/* Linux on a hardware-reduced ACPI machine without EFI reboots through
 * "BIOS": machine_real_restart drops to real mode and jumps to F000:FFF0.
 * Our "BIOS" is this stub: write the ACPI reset value to the reset port and
 * halt, so every reboot path ends in MICROVM_EXIT_REBOOT. */
static int write_reset_vector(struct vm *vm, struct hull_err **err)
{
	static const uint8_t stub[] = {
		0xb0, LAYOUT_ACPI_RESET_VALUE,                              /* mov al, 1 */
		0xba, LAYOUT_PORT_ACPI_RESET & 0xff, LAYOUT_PORT_ACPI_RESET >> 8, /* mov dx, port */
		0xee,                                                       /* out dx, al */
		0xf4,                                                       /* hlt */
		0xeb, 0xfd,                                                 /* jmp hlt */
	};
	if (gm_write(&vm->gm, LAYOUT_RESET_VECTOR, stub, sizeof(stub)) < 0)
		return hull_err_make(err, EFAULT, "reset vector");
	return 0;
}

int boot_load(struct vm *vm, struct hull_err **err)
{
	struct mapped k;
	enum kernel_kind kind;
	int r = map_file("--kernel", vm->cfg->kernel, &k, err);

	if (r < 0)
		return r;
	r = write_reset_vector(vm, err);
	if (r == 0)
		r = boot_kernel_kind(k.p, k.len, &kind, err);
	if (r < 0)
		r = hull_err_wrap(err, "--kernel %s", vm->cfg->kernel);
	else if (kind == KERNEL_BZIMAGE)
		r = load_bzimage(vm, k.p, k.len, err);
	else
		r = load_vmlinux(vm, k.p, k.len, err);
	unmap(&k);
	return r;
}
