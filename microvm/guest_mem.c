/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest physical memory: the only way devices touch guest RAM.
 *
 * Every check subtracts from a region's size instead of adding to the guest
 * address, so a hostile gpa near 2^64 or a wrapping len can never produce a
 * range that "fits" (kvmtool translated only the start address; Firecracker
 * CVE-2019-18960).  A range must lie in ONE region so each buffer is a single
 * contiguous host pointer.
 */
#include "microvm/internal.h"

#include <inttypes.h>

static const struct gm_region *find_region(const struct guest_mem *gm, uint64_t gpa)
{
	for (unsigned int i = 0; i < gm->n && i < GM_MAX_REGIONS; i++) {
		const struct gm_region *r = &gm->regions[i];
		/* gpa - r->gpa cannot wrap once gpa >= r->gpa */
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

int gm_slice(const struct guest_mem *gm, uint64_t gpa, uint64_t len, void **hva)
{
	const struct gm_region *r;
	uint64_t off;

	if (!gm || len == 0)
		return -EFAULT;
	r = find_region(gm, gpa);
	if (!r)
		return -EFAULT;
	off = gpa - r->gpa;             /* < r->size by find_region */
	if (len > r->size - off)        /* no addition: cannot overflow */
		return -EFAULT;
	if (hva)
		*hva = r->hva + off;
	return 0;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	void *p;
	int r = gm_slice(gm, gpa, len, &p);

	if (r < 0)
		return r;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *p;
	int r = gm_slice(gm, gpa, len, &p);

	if (r < 0)
		return r;
	memcpy(p, src, len);
	return 0;
}

int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva, struct hull_err **err)
{
	return gm_add_region_fd(gm, gpa, size, hva, -1, 0, err);
}

int gm_add_region_fd(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva, int fd, uint64_t fd_offset,
		     struct hull_err **err)
{
	uint64_t last;

	if (size == 0)
		return hull_err_make(err, EINVAL, "guest memory region at 0x%" PRIx64 ": zero size", gpa);
	if (!hva)
		return hull_err_make(err, EINVAL, "guest memory region at 0x%" PRIx64 ": no host mapping", gpa);
	/* last byte, inclusive: a region may end exactly at 2^64 - 1 */
	if (__builtin_add_overflow(gpa, size - 1, &last))
		return hull_err_make(err, EINVAL,
				     "guest memory region 0x%" PRIx64 "+0x%" PRIx64 ": wraps past 2^64", gpa, size);
	if (gm->n >= GM_MAX_REGIONS)
		return hull_err_make(err, ENOSPC, "guest memory region at 0x%" PRIx64 ": more than %d regions",
				     gpa, GM_MAX_REGIONS);
	for (unsigned int i = 0; i < gm->n; i++) {
		const struct gm_region *o = &gm->regions[i];
		uint64_t olast = o->gpa + (o->size - 1); /* validated when o was added */

		if (gpa <= olast && o->gpa <= last)
			return hull_err_make(err, EEXIST,
					     "guest memory region 0x%" PRIx64 "+0x%" PRIx64
					     ": overlaps region 0x%" PRIx64 "+0x%" PRIx64,
					     gpa, size, o->gpa, o->size);
	}
	gm->regions[gm->n++] = (struct gm_region){ .gpa = gpa, .size = size, .hva = hva, .fd = fd,
						    .fd_offset = fd_offset };
	return 0;
}
