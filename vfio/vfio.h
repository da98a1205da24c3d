/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vfio/vfio.h: the host-side operator steps around device passthrough
 * (docs/passthrough.md): binding a PCI function to vfio-pci and back, and
 * enabling SR-IOV virtual functions on a physical function.  Everything goes
 * through sysfs under h->sys, so the unit tests run against a fake tree.
 */
#ifndef HULL_VFIO_H
#define HULL_VFIO_H

#include "common/common.h"

struct vfio_host {
	const char *sys;        /* sysfs root: "/sys" */
	const char *proc;       /* procfs root: "/proc" (who holds a group open) */
	const char *state_dir;  /* where bind remembers the original driver: ROOT/vfio */
	/* Tests only: called after each write into sysfs, to play the kernel's
	 * part in a fake tree (NULL on a real one). */
	void (*written)(const struct vfio_host *h, const char *path, const char *val);
	void *opaque;
};

/* A PCI address, DDDD:BB:DD.F or BB:DD.F (domain 0000), normalised into
 * out (lower case, with domain); -1 with a one-line error when malformed. */
int vfio_bdf_parse(const char *s, char out[13], struct hull_err **err);

/* Bind function bdf to vfio-pci: driver_override, unbind from its driver,
 * probe; the original driver (or none) goes into state_dir/<bdf>.  A
 * function already on vfio-pci is left as it is. */
int vfio_bind(const struct vfio_host *h, const char *bdf, struct hull_err **err);
/* Undo vfio_bind: unbind from vfio-pci, clear driver_override, rebind the
 * driver remembered by bind (none if bind found none).  Refuses while a
 * process holds the function's VFIO group open. */
int vfio_unbind(const struct vfio_host *h, const char *bdf, struct hull_err **err);

/* Whether a VMM may take function bdf (hull vm run --device vfio=): bound
 * to vfio-pci, in an IOMMU group (its number in *group) whose other members
 * are unbound or on a driver that does no DMA (vfio-pci, pci-stub,
 * pcieport); a one-line error naming the device in the way otherwise. */
int vfio_passthrough_check(const struct vfio_host *h, const char *bdf, int *group, struct hull_err **err);

/* Enable n virtual functions on physical function pf, with the kernel's
 * autoprobe off (VFs come up unbound, for vfio_bind); 1 <= n <= totalvfs,
 * and pf must have none enabled. */
int sriov_enable(const struct vfio_host *h, const char *pf, unsigned int n, struct hull_err **err);
/* Disable pf's virtual functions; refused while one is bound to vfio-pci. */
int sriov_disable(const struct vfio_host *h, const char *pf, struct hull_err **err);

#endif
