/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port and MMIO buses: sorted, non-overlapping ranges (Firecracker's
 * vstate/bus.rs).  A device sees only offsets inside its own range and only
 * accesses that lie wholly inside it.
 *
 * Locking: the rwlock guards the range array only.  bus_access copies the
 * matching range out under the read lock and calls the handler after
 * dropping it, so handlers may insert/remove ranges (BAR remapping from a
 * config write) without deadlocking.  Devices outlive their ranges: a range
 * is removed before its device is freed, and vCPUs are stopped before any
 * device is destroyed.
 */
#include "microvm/internal.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	pthread_rwlock_init(&b->lock, NULL);
}

void bus_destroy(struct bus *b)
{
	free(b->r);
	b->r = NULL;
	b->n = b->cap = 0;
	pthread_rwlock_destroy(&b->lock);
}

/* Index of the range containing addr, or -1.  Caller holds the lock. */
static ssize_t find(const struct bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &b->r[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return (ssize_t)mid;
	}
	return -1;
}

int bus_insert(struct bus *b, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque, const char *name,
	       struct hull_err **err)
{
	uint64_t last;
	size_t i;

	if (len == 0)
		return hull_err_make(err, EINVAL, "%s bus: %s: zero-size range at 0x%" PRIx64, b->name, name, base);
	if (__builtin_add_overflow(base, len - 1, &last))
		return hull_err_make(err, EINVAL, "%s bus: %s: range 0x%" PRIx64 "+0x%" PRIx64 " wraps", b->name,
				     name, base, len);
	pthread_rwlock_wrlock(&b->lock);
	for (i = 0; i < b->n; i++) {
		const struct bus_range *r = &b->r[i];
		if (base <= r->base + (r->len - 1) && r->base <= last) {
			pthread_rwlock_unlock(&b->lock);
			return hull_err_make(err, EBUSY, "%s bus: %s at 0x%" PRIx64 "+0x%" PRIx64 " overlaps %s",
					     b->name, name, base, len, r->name);
		}
		if (r->base > base)
			break;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->r = xrealloc(b->r, b->cap * sizeof(*b->r));
	}
	memmove(&b->r[i + 1], &b->r[i], (b->n - i) * sizeof(*b->r));
	b->r[i] = (struct bus_range){ .base = base, .len = len, .fn = fn, .opaque = opaque, .name = name };
	b->n++;
	pthread_rwlock_unlock(&b->lock);
	return 0;
}

int bus_remove(struct bus *b, uint64_t base, void *opaque)
{
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&b->lock);
	for (size_t i = 0; i < b->n; i++) {
		if (b->r[i].base == base && b->r[i].opaque == opaque) {
			memmove(&b->r[i], &b->r[i + 1], (b->n - i - 1) * sizeof(*b->r));
			b->n--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

int bus_access(struct bus *b, uint64_t addr, void *data, uint32_t len, bool write)
{
	struct bus_range r;
	ssize_t i;

	if (len == 0)
		return -ENOENT;
	pthread_rwlock_rdlock(&b->lock);
	i = find(b, addr);
	if (i >= 0)
		r = b->r[i];
	pthread_rwlock_unlock(&b->lock);
	if (i < 0)
		return -ENOENT;
	/* Wholly inside: compare by subtraction, never addr + len. */
	if (len > r.len - (addr - r.base))
		return -ENOENT;
	r.fn(r.opaque, addr - r.base, data, len, write);
	return 0;
}
