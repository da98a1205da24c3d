/* SPDX-License-Identifier: Apache-2.0 */
/* ACPI tables: checksums, lengths, the XSDT/FADT pointer graph, MADT
 * entries per vCPU, and the AML builder's PkgLength and name encodings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/x86/x86.h"

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* The table at guest address gpa inside the blob, checked to lie inside it. */
static const uint8_t *table_at(const struct acpi_tables *t, uint64_t gpa, const char *sig)
{
	assert_true(gpa >= t->base);
	assert_true(gpa - t->base + 36 <= t->len);
	const uint8_t *p = t->blob + (gpa - t->base);
	assert_memory_equal(p, sig, 4);
	assert_true(get32(p + 4) <= t->len - (gpa - t->base));
	assert_int_equal(acpi_checksum(p, get32(p + 4)), 0);
	return p;
}

/* The table with signature sig, or NULL; *len its length. */
static const uint8_t *table(const struct acpi_tables *t, const char *sig, size_t *len)
{
	for (unsigned int i = 0; i < t->n; i++)
		if (strcmp(t->t[i].sig, sig) == 0) {
			if (len)
				*len = t->t[i].len;
			return t->blob + t->t[i].off;
		}
	return NULL;
}

static void test_acpi_tables_checksum_to_zero_and_link_up(void **state)
{
	for (unsigned int cpus = 1; cpus <= 64; cpus *= 2) {
		struct acpi_tables t;
		const uint8_t *rsdp, *xsdt, *fadt;
		int seen_apic = 0, seen_mcfg = 0;

		assert_int_equal(acpi_build(&t, LAYOUT_ACPI, cpus, NULL), 0);
		rsdp = t.blob + (t.rsdp - t.base);
		assert_memory_equal(rsdp, "RSD PTR ", 8);
		assert_int_equal(acpi_checksum(rsdp, 20), 0);
		assert_int_equal(acpi_checksum(rsdp, 36), 0);
		assert_int_equal(rsdp[15], 2);
		xsdt = table_at(&t, get64(rsdp + 24), "XSDT");
		unsigned int n = (get32(xsdt + 4) - 36) / 8;
		assert_int_equal(n, 3);
		fadt = table_at(&t, get64(xsdt + 36), "FACP");
		for (unsigned int i = 1; i < n; i++) {
			const uint8_t *p = t.blob + (get64(xsdt + 36 + 8 * i) - t.base);
			if (memcmp(p, "APIC", 4) == 0)
				seen_apic++, table_at(&t, get64(xsdt + 36 + 8 * i), "APIC");
			if (memcmp(p, "MCFG", 4) == 0)
				seen_mcfg++, table_at(&t, get64(xsdt + 36 + 8 * i), "MCFG");
		}
		assert_int_equal(seen_apic, 1);
		assert_int_equal(seen_mcfg, 1);
		/* FADT: 32- and 64-bit DSDT pointers agree */
		assert_int_equal(get32(fadt + 40), get64(fadt + 140));
		table_at(&t, get64(fadt + 140), "DSDT");
		acpi_tables_free(&t);
	}
}

static void test_acpi_fadt_is_hardware_reduced_with_reset_and_sleep_registers(void **state)
{
	struct acpi_tables t;
	const uint8_t *f = NULL;

	assert_int_equal(acpi_build(&t, LAYOUT_ACPI, 2, NULL), 0);
	f = table(&t, "FACP", NULL);
	assert_non_null(f);
	assert_int_equal(get32(f + 4), 276);
	assert_true(get32(f + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_true(get32(f + 112) & (1u << 10)); /* RESET_REG_SUP */
	assert_true(get32(f + 112) & (1u << 4));  /* PWR_BUTTON: no fixed one, PNP0C0C instead */
	assert_int_equal(f[116], 1);              /* reset register in I/O space */
	assert_int_equal(get64(f + 120), LAYOUT_PORT_ACPI_RESET);
	assert_int_equal(f[128], LAYOUT_ACPI_RESET_VALUE);
	assert_int_equal(get64(f + 248), LAYOUT_PORT_ACPI_SLEEP_CTL);
	assert_int_equal(get64(f + 260), LAYOUT_PORT_ACPI_SLEEP_STS);
	acpi_tables_free(&t);
}

static void test_acpi_madt_has_one_lapic_per_cpu_and_the_ioapic(void **state)
{
	struct acpi_tables t;
	const uint8_t *m = NULL;
	unsigned int lapics = 0, ioapics = 0;

	assert_int_equal(acpi_build(&t, LAYOUT_ACPI, 7, NULL), 0);
	m = table(&t, "APIC", NULL);
	assert_non_null(m);
	assert_int_equal(get32(m + 36), LAYOUT_LAPIC);
	for (uint32_t off = 44; off < get32(m + 4);) {
		assert_true(m[off + 1] >= 2);
		if (m[off] == 0) {
			assert_int_equal(m[off + 3], lapics); /* APIC id = vCPU index */
			assert_int_equal(get32(m + off + 4) & 1, 1);
			lapics++;
		} else if (m[off] == 1) {
			assert_int_equal(get32(m + off + 4), LAYOUT_IOAPIC);
			ioapics++;
		}
		off += m[off + 1];
	}
	assert_int_equal(lapics, 7);
	assert_int_equal(ioapics, 1);
	acpi_tables_free(&t);
}

static void test_acpi_rejects_impossible_cpu_counts(void **state)
{
	struct acpi_tables t;
	struct hull_err *err = NULL;

	assert_true(acpi_build(&t, LAYOUT_ACPI, 0, &err) < 0);
	hull_err_free(&err);
	assert_true(acpi_build(&t, LAYOUT_ACPI, 256, &err) < 0);
	hull_err_free(&err);
}

static void test_acpi_dsdt_names_the_devices(void **state)
{
	struct acpi_tables t;
	const uint8_t *d = NULL;
	size_t len = 0;
	static const char *const names[] = { "PCI0", "COM1", "MBRD", "PEVT", "PWRB", "GED0", "_EVT", "_S5_", "_CRS", "_HID" };

	assert_int_equal(acpi_build(&t, LAYOUT_ACPI, 1, NULL), 0);
	d = table(&t, "DSDT", &len);
	assert_non_null(d);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_non_null(memmem(d, len, names[i], 4));
	acpi_tables_free(&t);
}

/* The power button's Generic Event Device, byte for byte (ACPI 6.5 §5.6.9,
 * §6.4.3.6, §20.2.5.3): what Linux's evged needs to run _EVT on GSI
 * LAYOUT_GED_IRQ and what makes its button driver see a press. */
static void test_acpi_dsdt_ged_notifies_the_power_button(void **state)
{
	struct acpi_tables t;
	const uint8_t *d = NULL, *g, *p;
	size_t len = 0;
	static const uint8_t hid[] = "\x08_HID\x0d" "ACPI0013";
	static const uint8_t crs[] = { 0x08, '_', 'C', 'R', 'S', 0x11, 0x11, 0x0c, 0x0b, 0, 0, 0, /* Buffer(11), DWord size */
				       0x89, 0x06, 0x00, 0x03, 0x01, LAYOUT_GED_IRQ, 0, 0, 0, /* Interrupt */
				       0x79, 0x00 };                                    /* EndTag */
	static const uint8_t evt[] = { 0x14, 0x13, '_', 'E', 'V', 'T', 0x01,          /* Method(_EVT, 1) */
				       0x86, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B', /* Notify(\_SB.PWRB, */
				       0x0a, 0x80 };                                   /* 0x80) */

	assert_int_equal(acpi_build(&t, LAYOUT_ACPI, 1, NULL), 0);
	d = table(&t, "DSDT", &len);
	assert_non_null(d);
	/* Device (GED0): ExtOp DeviceOp PkgLength (two bytes: 64..4095) "GED0" */
	g = memmem(d, len, "GED0", 4);
	assert_non_null(g);
	assert_int_equal(g[-4], 0x5b);
	assert_int_equal(g[-3], 0x82);
	assert_int_equal(g[-2] >> 6, 1);
	p = g + 4;
	assert_memory_equal(p, hid, sizeof(hid) - 1);
	p += sizeof(hid) - 1 + 1; /* + the string's NUL */
	assert_memory_equal(p, "\x08_UID\x00", 6);
	p += 6;
	assert_memory_equal(p, crs, sizeof(crs));
	p += sizeof(crs);
	assert_memory_equal(p, evt, sizeof(evt));
	/* the device ends right after _EVT */
	assert_int_equal((size_t)((g[-2] & 0xf) | g[-1] << 4), (size_t)(p + sizeof(evt) - (g - 2)));
	acpi_tables_free(&t);
}

/* PkgLength (§20.2.4): the encoded length counts its own bytes. */
static void test_aml_pkglength_boundaries(void **state)
{
	static const struct { size_t body; size_t nbytes; } cases[] = {
		{ 0, 1 }, { 62, 1 }, { 63, 2 }, { 0xffd, 2 }, { 0xffe, 3 }, { 0xffffc, 3 }, { 0xffffd, 4 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct aml a = { 0 };
		uint8_t *zeros = calloc(1, cases[i].body);
		size_t m = aml_begin(&a, (const uint8_t *)"\x10", 1);
		aml_bytes(&a, zeros, cases[i].body);
		aml_end(&a, m);
		size_t n = (a.buf[1] >> 6) + 1;
		assert_int_equal(n, cases[i].nbytes);
		size_t total;
		if (n == 1) {
			total = a.buf[1] & 0x3f;
		} else {
			total = a.buf[1] & 0xf;
			for (size_t k = 1; k < n; k++)
				total |= (size_t)a.buf[1 + k] << (4 + 8 * (k - 1));
		}
		assert_int_equal(total, cases[i].body + n);
		assert_int_equal(a.len, 1 + n + cases[i].body);
		aml_free(&a);
		free(zeros);
	}
}

static void test_aml_names_and_integers(void **state)
{
	struct aml a = { 0 };

	aml_namestring(&a, "\\_SB.PCI0");
	assert_memory_equal(a.buf, "\\\x2e_SB_PCI0", 10);
	a.len = 0;
	aml_namestring(&a, "_S5");
	assert_memory_equal(a.buf, "_S5_", 4);
	a.len = 0;
	aml_eisaid(&a, "PNP0A08");
	assert_memory_equal(a.buf, "\x0c\x41\xd0\x0a\x08", 5);
	a.len = 0;
	aml_int(&a, 0);
	aml_int(&a, 1);
	aml_int(&a, 0xff);
	aml_int(&a, 0x100);
	aml_int(&a, 0x10000);
	aml_int(&a, 0x100000000ULL);
	assert_memory_equal(a.buf, "\x00\x01\x0a\xff\x0b\x00\x01\x0c\x00\x00\x01\x00\x0e\x00\x00\x00\x00\x01\x00\x00\x00",
			    21);
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acpi_tables_checksum_to_zero_and_link_up),
		cmocka_unit_test(test_acpi_fadt_is_hardware_reduced_with_reset_and_sleep_registers),
		cmocka_unit_test(test_acpi_madt_has_one_lapic_per_cpu_and_the_ioapic),
		cmocka_unit_test(test_acpi_rejects_impossible_cpu_counts),
		cmocka_unit_test(test_acpi_dsdt_names_the_devices),
		cmocka_unit_test(test_acpi_dsdt_ged_notifies_the_power_button),
		cmocka_unit_test(test_aml_pkglength_boundaries),
		cmocka_unit_test(test_aml_names_and_integers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
