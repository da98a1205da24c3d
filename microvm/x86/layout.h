/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microvm/x86/layout.h: every magic guest address and port in one place
 * (Firecracker's arch/x86_64/layout.rs).  docs/microvm.md draws the map.
 *
 *   0x0000_0500  GDT (4 entries), IDT right after
 *   0x0000_6000  PVH hvm_start_info, module list and memory map
 *   0x0000_7000  zero page (struct boot_params)
 *   0x0000_8ff0  initial stack
 *   0x0000_9000  PML4, 0xa000 PDPT, 0xb000..0xefff four PDs (2 MiB pages, 4 GiB)
 *   0x0002_0000  kernel command line (up to 64 KiB)
 *   0x000e_0000  ACPI tables (RSDP first), reserved in the e820 map
 *   0x000f_fff0  "BIOS" reset vector: a 16-bit stub writing the ACPI reset port
 *   0x0010_0000  kernel (bzImage protected-mode part or ELF PT_LOADs)
 *   ... RAM up to min(mem, 3 GiB) ...
 *   0xc000_0000  PCI 32-bit MMIO window (BARs), 512 MiB
 *   0xe000_0000  PCI ECAM (bus 0 only, 1 MiB)
 *   0xe010_0000  boot timer (MMIO twin of port 0x440, for guests without /dev/port)
 *   0xfec0_0000  IOAPIC (in KVM), 0xfee0_0000 LAPIC (in KVM)
 *   0x1_0000_0000  RAM above 4 GiB (mem - 3 GiB) when mem > 3 GiB
 *   0x10_0000_0000 PCI 64-bit MMIO window, 64 GiB
 */
#ifndef HULL_MICROVM_LAYOUT_H
#define HULL_MICROVM_LAYOUT_H

#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

/* boot structures */
#define LAYOUT_GDT 0x500ULL
#define LAYOUT_IDT 0x520ULL
#define LAYOUT_PVH_INFO 0x6000ULL
#define LAYOUT_PVH_MODLIST 0x6038ULL /* right after the 56-byte start_info */
#define LAYOUT_PVH_MEMMAP 0x6060ULL
#define LAYOUT_PVH_MEMMAP_MAX 32
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_BOOT_STACK 0x8ff0ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* 4 pages */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_EBDA 0x9fc00ULL /* end of the low RAM entry in e820 */
#define LAYOUT_ACPI 0xe0000ULL
#define LAYOUT_ACPI_SIZE 0x20000ULL
#define LAYOUT_RESET_VECTOR 0xffff0ULL /* F000:FFF0, where machine_real_restart jumps */
#define LAYOUT_KERNEL 0x100000ULL

/* RAM split around the 32-bit MMIO hole */
#define LAYOUT_RAM_LOW_MAX GiB(3)
#define LAYOUT_RAM_HIGH GiB(4)
#define LAYOUT_MEM_MIN_MIB 32
#define LAYOUT_MEM_MAX_MIB (1024 * 1024) /* 1 TiB is below the 64-bit window anyway */

/* MMIO */
#define LAYOUT_PCI_MMIO32 0xc0000000ULL
#define LAYOUT_PCI_MMIO32_SIZE MiB(512)
#define LAYOUT_PCI_ECAM 0xe0000000ULL
#define LAYOUT_PCI_ECAM_SIZE MiB(1) /* bus 0 only */
#define LAYOUT_BOOT_TIMER_MMIO 0xe0100000ULL
#define LAYOUT_BOOT_TIMER_MMIO_SIZE 0x1000ULL
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_PCI_MMIO64 GiB(64)
#define LAYOUT_PCI_MMIO64_SIZE GiB(64)
#define LAYOUT_TSS 0xfffbd000ULL /* KVM_SET_TSS_ADDR: 3 pages */
#define LAYOUT_IDENTITY_MAP 0xfffbc000ULL

/* I/O ports */
#define LAYOUT_PORT_I8042 0x64      /* write 0xfe = reset (Linux's fallback reboot) */
#define LAYOUT_PORT_COM1 0x3f8
#define LAYOUT_COM1_IRQ 4
#define LAYOUT_GED_IRQ 5             /* Generic Event Device (ACPI0013): the power button */
#define LAYOUT_PORT_BOOT_TIMER 0x440 /* guest writes any byte once userspace is up */
#define LAYOUT_PORT_PVPANIC 0x505    /* QEMU0001 pvpanic, bit 0 = panicked */
#define LAYOUT_PORT_ACPI_SLEEP_CTL 0x600
#define LAYOUT_PORT_ACPI_SLEEP_STS 0x601
#define LAYOUT_PORT_ACPI_RESET 0x602
#define LAYOUT_ACPI_RESET_VALUE 0x1
#define LAYOUT_PORT_PCI_CONFIG 0xcf8 /* 0xcf8 address, 0xcfc..0xcff data */
#define LAYOUT_PCI_IO_START 0x1000 /* IO window advertised to the guest (no IO BARs used) */
#define LAYOUT_PCI_IO_END 0xffff

/* Interrupts: GSIs 0..23 are IOAPIC pins; MSI routes start above them. */
#define LAYOUT_IOAPIC_PINS 24
#define LAYOUT_MSI_GSI_BASE 24
#define LAYOUT_MAX_GSI 1024

#endif
