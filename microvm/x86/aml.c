/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny AML byte builder (ACPI 6.5 §20): just what the DSDT needs — names,
 * integers, strings, EISA ids, scopes, devices, methods, packages, buffers
 * and resource templates (§6.4).  Nested objects are built in place and
 * their PkgLength patched at the end.
 */
#include "microvm/x86/x86.h"

#define NAME_OP 0x08
#define BYTE_PREFIX 0x0a
#define WORD_PREFIX 0x0b
#define DWORD_PREFIX 0x0c
#define STRING_PREFIX 0x0d
#define QWORD_PREFIX 0x0e
#define SCOPE_OP 0x10
#define BUFFER_OP 0x11
#define PACKAGE_OP 0x12
#define METHOD_OP 0x14
#define RETURN_OP 0xa4
#define NOTIFY_OP 0x86
#define EXT_PREFIX 0x5b
#define DEVICE_OP 0x82
#define DUAL_NAME_PREFIX 0x2e
#define MULTI_NAME_PREFIX 0x2f
#define ROOT_CHAR 0x5c

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		while (a->len + n > a->cap)
			a->cap = a->cap ? a->cap * 2 : 256;
		a->buf = xrealloc(a->buf, a->cap);
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, 0x00); /* ZeroOp */
	} else if (v == 1) {
		aml_byte(a, 0x01); /* OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, BYTE_PREFIX);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, WORD_PREFIX);
		le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, DWORD_PREFIX);
		le(a, v, 4);
	} else {
		aml_byte(a, QWORD_PREFIX);
		le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

/* One NameSeg: up to 4 characters padded with '_'. */
static void nameseg(struct aml *a, const char *s, size_t n)
{
	for (size_t i = 0; i < 4; i++)
		aml_byte(a, i < n ? (uint8_t)s[i] : '_');
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *segs[16];
	size_t lens[16], n = 0;

	if (*path == '\\') {
		aml_byte(a, ROOT_CHAR);
		path++;
	}
	while (*path && n < ARRAY_SIZE(segs)) {
		const char *dot = strchr(path, '.');
		size_t l = dot ? (size_t)(dot - path) : strlen(path);
		segs[n] = path;
		lens[n++] = l > 4 ? 4 : l;
		path += l + (dot ? 1 : 0);
	}
	if (n == 0) {
		aml_byte(a, 0x00); /* NullName */
		return;
	}
	if (n == 2) {
		aml_byte(a, DUAL_NAME_PREFIX);
	} else if (n > 2) {
		aml_byte(a, MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)n);
	}
	for (size_t i = 0; i < n; i++)
		nameseg(a, segs[i], lens[i]);
}

static unsigned int hexval(char c)
{
	return (unsigned int)(c >= 'A' ? (c & ~0x20) - 'A' + 10 : c - '0') & 0xf;
}

void aml_eisaid(struct aml *a, const char *id)
{
	/* Three 5-bit letters then four hex digits, stored big-endian (§19.6.35). */
	uint32_t v = ((uint32_t)(id[0] - '@') & 0x1f) << 26 | ((uint32_t)(id[1] - '@') & 0x1f) << 21 |
		     ((uint32_t)(id[2] - '@') & 0x1f) << 16 | hexval(id[3]) << 12 | hexval(id[4]) << 8 |
		     hexval(id[5]) << 4 | hexval(id[6]);
	aml_byte(a, DWORD_PREFIX);
	aml_byte(a, (uint8_t)(v >> 24));
	aml_byte(a, (uint8_t)(v >> 16));
	aml_byte(a, (uint8_t)(v >> 8));
	aml_byte(a, (uint8_t)v);
}

/* Objects reserve 4 PkgLength bytes and shrink them at aml_end. */
size_t aml_begin(struct aml *a, const uint8_t *op, size_t oplen)
{
	size_t mark;
	aml_bytes(a, op, oplen);
	mark = a->len;
	aml_bytes(a, "\0\0\0\0", 4);
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	size_t body = a->len - (mark + 4), n, total;
	uint8_t pl[4];

	/* PkgLength counts its own bytes (§20.2.4). */
	if (body + 1 < 0x40)
		n = 1;
	else if (body + 2 < 0x1000)
		n = 2;
	else if (body + 3 < 0x100000)
		n = 3;
	else
		n = 4;
	total = body + n;
	if (n == 1) {
		pl[0] = (uint8_t)total;
	} else {
		pl[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			pl[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + mark + n, a->buf + mark + 4, body);
	memcpy(a->buf + mark, pl, n);
	a->len -= 4 - n;
}

size_t aml_scope(struct aml *a, const char *name)
{
	static const uint8_t op[] = { SCOPE_OP };
	size_t m = aml_begin(a, op, sizeof(op));
	aml_namestring(a, name);
	return m;
}

size_t aml_device(struct aml *a, const char *name)
{
	static const uint8_t op[] = { EXT_PREFIX, DEVICE_OP };
	size_t m = aml_begin(a, op, sizeof(op));
	aml_namestring(a, name);
	return m;
}

size_t aml_method(struct aml *a, const char *name, uint8_t nargs, bool serialized)
{
	static const uint8_t op[] = { METHOD_OP };
	size_t m = aml_begin(a, op, sizeof(op));
	aml_namestring(a, name);
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 8 : 0)));
	return m;
}

size_t aml_package(struct aml *a, uint8_t nelem)
{
	static const uint8_t op[] = { PACKAGE_OP };
	size_t m = aml_begin(a, op, sizeof(op));
	aml_byte(a, nelem);
	return m;
}

/* Buffer: PkgLength, BufferSize (a DWordConst patched at the end), bytes. */
size_t aml_buffer(struct aml *a)
{
	static const uint8_t op[] = { BUFFER_OP };
	size_t m = aml_begin(a, op, sizeof(op));
	aml_bytes(a, "\x0c\0\0\0\0", 5);
	return m;
}

void aml_buffer_end(struct aml *a, size_t mark)
{
	uint32_t n = (uint32_t)(a->len - (mark + 4 + 5));
	for (int i = 0; i < 4; i++)
		a->buf[mark + 4 + 1 + i] = (uint8_t)(n >> (8 * i));
	aml_end(a, mark);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, NAME_OP);
	aml_namestring(a, name);
}

void aml_return(struct aml *a)
{
	aml_byte(a, RETURN_OP);
}

void aml_notify(struct aml *a, const char *path, uint64_t value)
{
	aml_byte(a, NOTIFY_OP);
	aml_namestring(a, path);
	aml_int(a, value);
}

/* ---- resource templates (§6.4) --------------------------------------------------- */

void aml_rt_io(struct aml *a, uint16_t base, uint8_t len)
{
	aml_byte(a, 0x47); /* I/O port descriptor, 7 bytes */
	aml_byte(a, 0x01); /* 16-bit decode */
	le(a, base, 2);
	le(a, base, 2);
	aml_byte(a, 1);    /* alignment */
	aml_byte(a, len);
}

void aml_rt_irq(struct aml *a, uint8_t irq)
{
	aml_byte(a, 0x22); /* IRQ descriptor without flags: edge, active high */
	le(a, 1u << irq, 2);
}

void aml_rt_interrupt(struct aml *a, uint32_t gsi)
{
	aml_byte(a, 0x89); /* Extended Interrupt descriptor (§6.4.3.6) */
	le(a, 6, 2);       /* flags, count, one interrupt; no resource source */
	aml_byte(a, 0x03); /* consumer, edge, active high, exclusive, not wake */
	aml_byte(a, 1);
	le(a, gsi, 4);
}

void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	aml_byte(a, 0x86);
	le(a, 9, 2);
	aml_byte(a, 1); /* read-write */
	le(a, base, 4);
	le(a, len, 4);
}

/* Address space descriptors for a bridge window: producer, MinFixed,
 * MaxFixed, positive decode (general flags 0x0c). */
void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	aml_byte(a, 0x88);
	le(a, 13, 2);
	aml_byte(a, 2); /* bus number range */
	aml_byte(a, 0x0c);
	aml_byte(a, 0);
	le(a, 0, 2);
	le(a, min, 2);
	le(a, max, 2);
	le(a, 0, 2);
	le(a, (uint16_t)(max - min + 1), 2);
}

void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	aml_byte(a, 0x88);
	le(a, 13, 2);
	aml_byte(a, 1);    /* I/O range */
	aml_byte(a, 0x0c);
	aml_byte(a, 3);    /* entire range */
	le(a, 0, 2);
	le(a, min, 2);
	le(a, max, 2);
	le(a, 0, 2);
	le(a, (uint16_t)(max - min + 1), 2);
}

void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	aml_byte(a, 0x87);
	le(a, 23, 2);
	aml_byte(a, 0);    /* memory range */
	aml_byte(a, 0x0c);
	aml_byte(a, 0x01); /* read-write, non-cacheable */
	le(a, 0, 4);
	le(a, min, 4);
	le(a, max, 4);
	le(a, 0, 4);
	le(a, max - min + 1, 4);
}

void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t max)
{
	aml_byte(a, 0x8a);
	le(a, 43, 2);
	aml_byte(a, 0);
	aml_byte(a, 0x0c);
	aml_byte(a, 0x01);
	le(a, 0, 8);
	le(a, min, 8);
	le(a, max, 8);
	le(a, 0, 8);
	le(a, max - min + 1, 8);
}

void aml_rt_end(struct aml *a)
{
	aml_byte(a, 0x79);
	aml_byte(a, 0x00); /* checksum 0: "treat as correct" */
}
