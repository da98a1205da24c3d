/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for a hardware-reduced platform (ACPI 6.5 §4.1): RSDP, XSDT,
 * FADT (HW_REDUCED_ACPI, sleep control/status and reset registers in I/O
 * space so S5 and reboot end the VM), MADT, MCFG and a generated DSDT.
 * Everything is laid out in one blob for the guest address `base`.
 */
#include "microvm/x86/x86.h"

#include <sys/stat.h>

#define HDR_LEN 36
#define OEM_ID "HULL  "
#define OEM_TABLE "HULLVM  "

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)(0 - s);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE, 8);
	put32(t + 24, 1);
	memcpy(t + 28, "HULL", 4);
	put32(t + 32, 1);
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

/* Generic Address Structure (§5.2.3.2) for an 8-bit I/O port. */
static void gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = 1; /* system I/O */
	p[1] = 8;
	p[2] = 0;
	p[3] = 1; /* byte access */
	put64(p + 4, port);
}

static void dsdt_body(struct aml *a)
{
	size_t sb, dev, buf, pkg, m;

	sb = aml_scope(a, "\\_SB");

	/* PCI host bridge: bus 0, legacy config ports, the IO and MMIO windows. */
	dev = aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_ADR");
	aml_int(a, 0);
	aml_name(a, "_SEG");
	aml_int(a, 0);
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_name(a, "_BBN");
	aml_int(a, 0);
	aml_name(a, "_CRS");
	buf = aml_buffer(a);
	aml_rt_word_bus(a, 0, 0);
	aml_rt_io(a, LAYOUT_PORT_PCI_CONFIG, 8);
	aml_rt_word_io(a, 0x0000, 0x0cf7);
	aml_rt_word_io(a, 0x0d00, 0xffff);
	aml_rt_dword_mem(a, (uint32_t)LAYOUT_PCI_MMIO32, (uint32_t)(LAYOUT_PCI_MMIO32 + LAYOUT_PCI_MMIO32_SIZE - 1));
	aml_rt_qword_mem(a, LAYOUT_PCI_MMIO64, LAYOUT_PCI_MMIO64 + LAYOUT_PCI_MMIO64_SIZE - 1);
	aml_rt_end(a);
	aml_buffer_end(a, buf);
	aml_end(a, dev);

	/* Motherboard resources: reserves ECAM so Linux uses MMCONFIG. */
	dev = aml_device(a, "MBRD");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_name(a, "_CRS");
	buf = aml_buffer(a);
	aml_rt_mem32_fixed(a, (uint32_t)LAYOUT_PCI_ECAM, (uint32_t)LAYOUT_PCI_ECAM_SIZE);
	aml_rt_io(a, LAYOUT_PORT_ACPI_SLEEP_CTL, 3);
	aml_rt_io(a, LAYOUT_PORT_BOOT_TIMER, 1);
	aml_rt_end(a);
	aml_buffer_end(a, buf);
	aml_end(a, dev);

	/* COM1 */
	dev = aml_device(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_int(a, 0);
	m = aml_method(a, "_STA", 0, false);
	aml_return(a);
	aml_int(a, 0x0f);
	aml_end(a, m);
	aml_name(a, "_CRS");
	buf = aml_buffer(a);
	aml_rt_io(a, LAYOUT_PORT_COM1, 8);
	aml_rt_irq(a, LAYOUT_COM1_IRQ);
	aml_rt_end(a);
	aml_buffer_end(a, buf);
	aml_end(a, dev);

	/* pvpanic (QEMU0001): the guest writes 1 here when it panics. */
	dev = aml_device(a, "PEVT");
	aml_name(a, "_HID");
	aml_string(a, "QEMU0001");
	aml_name(a, "_UID");
	aml_int(a, 0);
	m = aml_method(a, "_STA", 0, false);
	aml_return(a);
	aml_int(a, 0x0f);
	aml_end(a, m);
	aml_name(a, "_CRS");
	buf = aml_buffer(a);
	aml_rt_io(a, LAYOUT_PORT_PVPANIC, 1);
	aml_rt_end(a);
	aml_buffer_end(a, buf);
	aml_end(a, dev);

	/* Power button (ACPI 6.5 §4.8.2.2.1.2): a control-method button so the
	 * guest has one in hardware-reduced mode. */
	dev = aml_device(a, "PWRB");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C0C");
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_end(a, dev);

	/* Generic Event Device (ACPI 6.5 §5.6.9): the hardware-reduced way to
	 * raise an event.  Its interrupt makes the OS run _EVT(gsi), which says
	 * "power button pressed" (§5.6.6: 0x80 on PNP0C0C); the host pulses it to
	 * ask the guest to shut down (ged.c). */
	dev = aml_device(a, "GED0");
	aml_name(a, "_HID");
	aml_string(a, "ACPI0013");
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_name(a, "_CRS");
	buf = aml_buffer(a);
	aml_rt_interrupt(a, LAYOUT_GED_IRQ);
	aml_rt_end(a);
	aml_buffer_end(a, buf);
	m = aml_method(a, "_EVT", 1, false);
	aml_notify(a, "\\_SB.PWRB", 0x80);
	aml_end(a, m);
	aml_end(a, dev);

	aml_end(a, sb);

	/* \_S5: SLP_TYP 5, what the FADT sleep control register receives. */
	aml_name(a, "\\_S5");
	pkg = aml_package(a, 4);
	aml_int(a, 5);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_end(a, pkg);
}

struct blob {
	uint8_t *p;
	size_t len;
};

static size_t reserve(struct blob *b, size_t n, struct acpi_tables *t, const char *sig)
{
	size_t off = (b->len + 15) & ~(size_t)15;
	b->p = xrealloc(b->p, off + n);
	memset(b->p + b->len, 0, off + n - b->len);
	b->len = off + n;
	if (t->n < ARRAY_SIZE(t->t)) {
		memcpy(t->t[t->n].sig, sig, 4);
		t->t[t->n].sig[4] = 0;
		t->t[t->n].off = off;
		t->t[t->n].len = n;
		t->n++;
	}
	return off;
}

int acpi_build(struct acpi_tables *t, uint64_t base, unsigned int ncpus, struct hull_err **err)
{
	struct blob b = { 0 };
	struct aml dsdt = { 0 };
	size_t rsdp, xsdt, fadt, madt, mcfg, dsdt_off, madt_len;
	uint8_t *p;

	memset(t, 0, sizeof(*t));
	if (ncpus == 0 || ncpus > 255)
		return hull_err_make(err, EINVAL, "ACPI: %u CPUs", ncpus);

	/* DSDT first in the AML builder, copied once its length is known. */
	{
		uint8_t hdr[HDR_LEN] = { 0 };
		aml_bytes(&dsdt, hdr, sizeof(hdr));
		dsdt_body(&dsdt);
	}

	rsdp = reserve(&b, 36, t, "RSDP");
	xsdt = reserve(&b, HDR_LEN + 3 * 8, t, "XSDT");
	fadt = reserve(&b, 276, t, "FACP");
	madt_len = HDR_LEN + 8 + ncpus * 8 + 12 + 6;
	madt = reserve(&b, madt_len, t, "APIC");
	mcfg = reserve(&b, HDR_LEN + 8 + 16, t, "MCFG");
	dsdt_off = reserve(&b, dsdt.len, t, "DSDT");
	if (b.len > LAYOUT_RESET_VECTOR - LAYOUT_ACPI) { /* must not reach the reset stub */
		free(b.p);
		aml_free(&dsdt);
		return hull_err_make(err, E2BIG, "ACPI tables: %zu bytes", b.len);
	}

	/* DSDT */
	p = b.p + dsdt_off;
	memcpy(p, dsdt.buf, dsdt.len);
	header(p, "DSDT", (uint32_t)dsdt.len, 2);
	finish(p, (uint32_t)dsdt.len);

	/* FADT, revision 6.5 layout */
	p = b.p + fadt;
	header(p, "FACP", 276, 6);
	put32(p + 40, (uint32_t)(base + dsdt_off));             /* DSDT */
	put16(p + 109, (1u << 2) | (1u << 5));                  /* IAPC_BOOT_ARCH: no VGA, no CMOS RTC */
	/* HW_REDUCED_ACPI, RESET_REG_SUP, SLP_BUTTON and PWR_BUTTON: no fixed
	 * buttons, the power button is the PNP0C0C device of the DSDT. */
	put32(p + 112, (1u << 20) | (1u << 10) | (1u << 5) | (1u << 4));
	gas_io8(p + 116, LAYOUT_PORT_ACPI_RESET);
	p[128] = LAYOUT_ACPI_RESET_VALUE;
	p[131] = 5;                                             /* FADT minor version */
	put64(p + 140, base + dsdt_off);                        /* X_DSDT */
	gas_io8(p + 244, LAYOUT_PORT_ACPI_SLEEP_CTL);
	gas_io8(p + 256, LAYOUT_PORT_ACPI_SLEEP_STS);
	memcpy(p + 268, "HULLHULL", 8);                         /* hypervisor vendor identity */
	finish(p, 276);

	/* MADT: one LAPIC per vCPU, the IOAPIC, LINT1 = NMI on every CPU.  ISA
	 * IRQs are identity-mapped to IOAPIC pins by KVM, so no overrides. */
	p = b.p + madt;
	header(p, "APIC", (uint32_t)madt_len, 5);
	put32(p + 36, (uint32_t)LAYOUT_LAPIC);
	put32(p + 40, 0);
	{
		uint8_t *e = p + 44;
		for (unsigned int i = 0; i < ncpus; i++, e += 8) {
			e[0] = 0;
			e[1] = 8;
			e[2] = (uint8_t)i; /* ACPI processor uid */
			e[3] = (uint8_t)i; /* APIC id */
			put32(e + 4, 1);   /* enabled */
		}
		e[0] = 1;
		e[1] = 12;
		e[2] = (uint8_t)ncpus; /* IOAPIC id after the LAPICs */
		put32(e + 4, (uint32_t)LAYOUT_IOAPIC);
		put32(e + 8, 0);
		e += 12;
		e[0] = 4; /* local APIC NMI */
		e[1] = 6;
		e[2] = 0xff; /* all processors */
		put16(e + 3, 0);
		e[5] = 1; /* LINT1 */
	}
	finish(p, (uint32_t)madt_len);

	/* MCFG: ECAM for segment 0, bus 0 */
	p = b.p + mcfg;
	header(p, "MCFG", HDR_LEN + 8 + 16, 1);
	put64(p + 44, LAYOUT_PCI_ECAM);
	put16(p + 52, 0);
	p[54] = 0;
	p[55] = 0;
	finish(p, HDR_LEN + 8 + 16);

	/* XSDT */
	p = b.p + xsdt;
	header(p, "XSDT", HDR_LEN + 3 * 8, 1);
	put64(p + 36, base + fadt);
	put64(p + 44, base + madt);
	put64(p + 52, base + mcfg);
	finish(p, HDR_LEN + 3 * 8);

	/* RSDP (§5.2.5.3): checksum over the first 20 bytes, extended over 36. */
	p = b.p + rsdp;
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = 2;
	put32(p + 20, 36);
	put64(p + 24, base + xsdt);
	p[8] = acpi_checksum(p, 20);
	p[32] = acpi_checksum(p, 36);

	aml_free(&dsdt);
	t->blob = b.p;
	t->len = b.len;
	t->base = base;
	t->rsdp = base + rsdp;
	return 0;
}

void acpi_tables_free(struct acpi_tables *t)
{
	free(t->blob);
	memset(t, 0, sizeof(*t));
}

/* One file per table (<sig>.dat) for `iasl -d`. */
int acpi_dump(const struct acpi_tables *t, const char *dir, struct hull_err **err)
{
	if (mkdir_p(dir, 0755, err) < 0)
		return -1;
	for (unsigned int i = 0; i < t->n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s.dat", dir, t->t[i].sig);
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return hull_err_make(err, errno, "--dump-acpi %s", path);
		int r = write_all(fd, t->blob + t->t[i].off, t->t[i].len);
		if (r < 0)
			return hull_err_make(err, -r, "--dump-acpi %s", path);
	}
	return 0;
}
