/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue, device side (virtio 1.2 §2.7).
 *
 * The rings live in guest memory and the guest may rewrite them at any time,
 * so every field is read exactly once into local memory before it is checked
 * and used.  Indexes, `next` and chain length are bounded by the queue size;
 * buffers are validated whole with gm_slice; lengths sum with overflow checks.
 * Any violation returns < 0 and the caller breaks only this device.
 */
#include "microvm/virtio/virtio.h"

#include <endian.h>

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4

#define VRING_AVAIL_F_NO_INTERRUPT 1

#define DESC_SIZE 16u

/* §2.7.5 struct virtq_desc, little endian in guest memory */
struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vdesc) == DESC_SIZE, "virtq_desc is 16 bytes");

/* avail: flags(2) idx(2) ring[size](2 each) used_event(2) */
static uint64_t avail_ring_off(uint16_t slot) { return 4 + 2 * (uint64_t)slot; }
/* used: flags(2) idx(2) ring[size](8 each) avail_event(2) */
static uint64_t used_ring_off(uint16_t slot) { return 4 + 8 * (uint64_t)slot; }

/* The ring addresses were validated whole by virtq_setup, so these accesses
 * stay inside guest memory; a failure here means the queue was not set up. */
static int read_le16(const struct virtq *q, uint64_t gpa, uint16_t *v)
{
	uint16_t raw;
	int r = gm_read(q->gm, gpa, &raw, sizeof(raw));

	if (r < 0)
		return r;
	*v = le16toh(raw);
	return 0;
}

static int write_le16(const struct virtq *q, uint64_t gpa, uint16_t v)
{
	uint16_t raw = htole16(v);

	return gm_write(q->gm, gpa, &raw, sizeof(raw));
}

int virtq_setup(struct virtq *q, const struct guest_mem *gm, uint16_t size, uint64_t desc,
		uint64_t avail, uint64_t used, bool event_idx, bool indirect)
{
	virtq_reset(q);
	if (!gm || size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0)
		return -EINVAL;
	/* §2.7 Table "Virtqueue Part Alignment" */
	if ((desc & 15) != 0 || (avail & 1) != 0 || (used & 3) != 0)
		return -EINVAL;
	/* Whole rings in guest memory, so later ring accesses cannot fault. */
	if (gm_slice(gm, desc, (uint64_t)DESC_SIZE * size, NULL) < 0 ||
	    gm_slice(gm, avail, 6 + 2 * (uint64_t)size, NULL) < 0 ||
	    gm_slice(gm, used, 6 + 8 * (uint64_t)size, NULL) < 0)
		return -EFAULT;

	q->gm = gm;
	q->size = size;
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->ready = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

void virtq_chain_release(struct virtq_chain *c)
{
	free(c->bufs);
	memset(c, 0, sizeof(*c));
}

/* Tell the driver (EVENT_IDX) which avail index we want a kick for next. */
static int publish_avail_event(struct virtq *q)
{
	return write_le16(q, q->used_gpa + used_ring_off(q->size), q->last_avail);
}

static int read_avail_idx(struct virtq *q, uint16_t *idx)
{
	int r = read_le16(q, q->avail_gpa + 2, idx);

	/* Acquire: pairs with the driver's write barrier between filling the
	 * descriptors + avail->ring[] and bumping avail->idx (§2.7.13.2), so the
	 * ring entries we read next are at least as new as this idx. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return r;
}

static int append_buf(struct virtq_chain *c, unsigned int *cap, const struct vdesc *d,
		      const struct guest_mem *gm)
{
	bool write = (d->flags & VIRTQ_DESC_F_WRITE) != 0;
	uint64_t *sum = write ? &c->in_len : &c->out_len;
	void *hva;

	if (d->len == 0)
		return -EINVAL;
	if (gm_slice(gm, d->addr, d->len, &hva) < 0)
		return -EFAULT;
	/* §2.7.4.2: device-readable buffers precede device-writable ones. */
	if (!write && c->in_len > 0)
		return -EINVAL;
	if (__builtin_add_overflow(*sum, (uint64_t)d->len, sum))
		return -EOVERFLOW;
	if (c->n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		c->bufs = xrealloc(c->bufs, *cap * sizeof(*c->bufs));
	}
	c->bufs[c->n++] = (struct virtq_buf){ .hva = hva, .gpa = d->addr, .len = d->len, .write = write };
	return 0;
}

/* Copy descriptor idx of table once; all later checks use the local copy. */
static int read_desc(const struct virtq *q, uint64_t table, uint16_t idx, struct vdesc *d)
{
	struct vdesc raw;
	int r = gm_read(q->gm, table + (uint64_t)idx * DESC_SIZE, &raw, sizeof(raw));

	if (r < 0)
		return r;
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
	return 0;
}

/* Switch the walk to an indirect table (§2.7.5.3). */
static int enter_indirect(const struct virtq *q, const struct vdesc *d, bool nested, uint64_t *table,
			  uint32_t *table_n)
{
	if (!q->indirect || nested)
		return -EINVAL;
	/* §2.7.5.3.1: the driver MUST NOT set both INDIRECT and NEXT. */
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return -EINVAL;
	if (d->len == 0 || d->len % DESC_SIZE != 0 || d->len / DESC_SIZE > VIRTQ_MAX_SIZE)
		return -EINVAL;
	if (gm_slice(q->gm, d->addr, d->len, NULL) < 0)
		return -EFAULT;
	*table = d->addr;
	*table_n = d->len / DESC_SIZE;
	return 0;
}

static int walk_chain(const struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	uint64_t table = q->desc_gpa;
	uint32_t table_n = q->size;
	uint32_t ttl = q->size;          /* a chain visits each descriptor at most once */
	unsigned int cap = 0;
	bool in_indirect = false;
	uint16_t idx = head;
	struct vdesc d;
	int r;

	for (;;) {
		if (ttl-- == 0)
			return -ELOOP;   /* longer than the table: a loop */
		r = read_desc(q, table, idx, &d);
		if (r < 0)
			return r;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			r = enter_indirect(q, &d, in_indirect, &table, &table_n);
			if (r < 0)
				return r;
			in_indirect = true;
			ttl = table_n;
			idx = 0;
			continue;
		}
		r = append_buf(c, &cap, &d, q->gm);
		if (r < 0)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= table_n)
			return -EINVAL;
		idx = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t avail_idx, head;
	int r;

	memset(c, 0, sizeof(*c));
	if (!q->ready)
		return 0;
	r = read_avail_idx(q, &avail_idx);
	if (r < 0)
		return r;
	if (avail_idx == q->last_avail && q->event_idx) {
		/* Ask for a kick on the next buffer, then look again: a buffer the
		 * driver added before seeing our avail_event would otherwise sit
		 * unnoticed.  Full barrier: our avail_event store must be visible
		 * before we re-load avail->idx (pairs with the driver's barrier
		 * between its avail->idx store and its avail_event load). */
		r = publish_avail_event(q);
		if (r < 0)
			return r;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		r = read_avail_idx(q, &avail_idx);
		if (r < 0)
			return r;
	}
	if (avail_idx == q->last_avail)
		return 0;
	/* The driver cannot have more than size buffers outstanding. */
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return -EINVAL;

	r = read_le16(q, q->avail_gpa + avail_ring_off(q->last_avail & (q->size - 1)), &head);
	if (r < 0)
		return r;
	if (head >= q->size)
		return -EINVAL;
	r = walk_chain(q, head, c);
	if (r < 0) {
		virtq_chain_release(c);
		return r;
	}
	c->head = head;
	q->last_avail++;
	if (q->event_idx) {
		r = publish_avail_event(q);
		if (r < 0) {
			virtq_chain_release(c);
			return r;
		}
	}
	return 1;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct {
		uint32_t id;
		uint32_t len;
	} elem = { htole32(head), htole32(len) };
	int r;

	if (!q->ready || head >= q->size)
		return -EINVAL;
	r = gm_write(q->gm, q->used_gpa + used_ring_off(q->used_idx & (q->size - 1)), &elem, sizeof(elem));
	if (r < 0)
		return r;
	/* Release: the used element (and the data written into the buffers) must
	 * be visible before the driver sees used->idx move (§2.7.14). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx++;
	return write_le16(q, q->used_gpa + 2, q->used_idx);
}

/* §2.7.10: interrupt if new_idx passed event_idx since old (mod 2^16). */
static bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

bool virtq_should_signal(struct virtq *q)
{
	uint16_t v, old, new_idx;
	bool valid;

	if (!q->ready)
		return false;
	/* Full barrier: our used->idx store must be visible before we load the
	 * driver's suppression state, or we race its "enable callbacks, then
	 * re-check used->idx" sequence and lose an interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx) {
		if (read_le16(q, q->avail_gpa, &v) < 0)
			return true;
		return !(v & VRING_AVAIL_F_NO_INTERRUPT);
	}
	old = q->signalled_used;
	valid = q->signalled_used_valid;
	new_idx = q->used_idx;
	q->signalled_used = new_idx;
	q->signalled_used_valid = true;
	if (!valid)
		return true;
	if (read_le16(q, q->avail_gpa + avail_ring_off(q->size), &v) < 0)
		return true;
	return vring_need_event(v, new_idx, old);
}

/* Copy between buf and the readable (to_guest false) or writable (true)
 * buffers of c, starting off bytes into that direction's stream. */
static size_t chain_copy(const struct virtq_chain *c, bool to_guest, uint64_t off, uint8_t *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < c->n && done < len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		uint8_t *p = b->hva;
		size_t n;

		if (b->write != to_guest)
			continue;
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = b->len - off;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy(p + off, buf + done, n);
		else
			memcpy(buf + done, p + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len)
{
	return chain_copy(c, false, off, dst, len);
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len)
{
	/* chain_copy only reads from buf when to_guest is set */
	return chain_copy(c, true, off, (uint8_t *)src, len);
}
