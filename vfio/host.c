/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator steps around passthrough, through sysfs (vfio/vfio.h):
 * hull vfio bind|unbind and hull sriov enable|disable.
 */
#include "vfio/vfio.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

int vfio_bdf_parse(const char *s, char out[13], struct hull_err **err)
{
	unsigned int dom = 0, bus, dev, fn;
	int end = 0;
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			goto bad;
	if (len == 12) {
		if (sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &end) != 4 || end != 12)
			goto bad;
	} else if (len == 7) {
		if (sscanf(s, "%2x:%2x.%1x%n", &bus, &dev, &fn, &end) != 3 || end != 7)
			goto bad;
	} else {
		goto bad;
	}
	if (dev > 0x1f || fn > 7)
		goto bad;
	snprintf(out, 13, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
bad:
	return hull_err_make(err, 0, "\"%s\": not a PCI address (DDDD:BB:DD.F)", s);
}

static char *dev_path(const struct vfio_host *h, const char *bdf, const char *leaf)
{
	return xasprintf("%s/bus/pci/devices/%s%s%s", h->sys, bdf, leaf ? "/" : "", leaf ? leaf : "");
}

/* A sysfs attribute's value without its trailing newline; NULL if unreadable. */
static char *read_attr(const char *path)
{
	char *buf = NULL;
	size_t len;

	if (read_file_at(AT_FDCWD, path, &buf, &len, 4096, NULL) < 0)
		return NULL;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	return buf;
}

static int write_attr(const struct vfio_host *h, const char *path, const char *val, struct hull_err **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return hull_err_make(err, errno, "open %s", path);
	/* sysfs takes the value in one write(); a short one is an error there */
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		return hull_err_make(err, errno, "write \"%s\" to %s", val, path);
	if (h->written)
		h->written(h, path, val);
	return 0;
}

/* The name of the driver bound to bdf, or NULL when none. */
static char *driver_of(const struct vfio_host *h, const char *bdf)
{
	_cleanup_free_ char *link = dev_path(h, bdf, "driver");
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n <= 0)
		return NULL;
	target[n] = '\0';
	return xstrdup(strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
}

static int need_device(const struct vfio_host *h, const char *bdf, struct hull_err **err)
{
	_cleanup_free_ char *p = dev_path(h, bdf, NULL);
	struct stat st;

	if (stat(p, &st) < 0)
		return hull_err_make(err, 0, "%s: no such PCI device", bdf);
	return 0;
}

/* The IOMMU group number of bdf, or -1 (no IOMMU, or no such device). */
static long group_of(const struct vfio_host *h, const char *bdf)
{
	_cleanup_free_ char *link = dev_path(h, bdf, "iommu_group");
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	uint64_t v;

	if (n <= 0)
		return -1;
	target[n] = '\0';
	if (parse_u64(strrchr(target, '/') ? strrchr(target, '/') + 1 : target, &v) < 0 || v > INT_MAX)
		return -1;
	return (long)v;
}

/* Does a process hold /dev/vfio/<group> open?  Its pid in *pid.  Processes
 * that vanish or whose fds we cannot read are skipped. */
static bool group_in_use(const struct vfio_host *h, long group, long *pid)
{
	_cleanup_free_ char *want = xasprintf("/dev/vfio/%ld", group);
	DIR *d = opendir(h->proc);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		uint64_t p;
		if (parse_u64(e->d_name, &p) < 0)
			continue;
		_cleanup_free_ char *fddir = xasprintf("%s/%s/fd", h->proc, e->d_name);
		DIR *fds = opendir(fddir);
		struct dirent *f;
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			char target[PATH_MAX];
			if (f->d_name[0] == '.')
				continue;
			_cleanup_free_ char *l = xasprintf("%s/%s", fddir, f->d_name);
			ssize_t n = readlink(l, target, sizeof(target) - 1);
			if (n > 0) {
				target[n] = '\0';
				if (strcmp(target, want) == 0) {
					found = true;
					*pid = (long)p;
					break;
				}
			}
		}
		closedir(fds);
	}
	closedir(d);
	return found;
}

int vfio_bind(const struct vfio_host *h, const char *bdf, struct hull_err **err)
{
	_cleanup_free_ char *drv = NULL, *vfio_drv = xasprintf("%s/bus/pci/drivers/vfio-pci", h->sys);
	_cleanup_free_ char *override = dev_path(h, bdf, "driver_override");
	_cleanup_free_ char *probe = xasprintf("%s/bus/pci/drivers_probe", h->sys);
	_cleanup_free_ char *state = xasprintf("%s/%s", h->state_dir, bdf);
	_cleanup_free_ char *numvfs = dev_path(h, bdf, "sriov_numvfs"), *nvf = NULL;
	struct stat st;

	if (need_device(h, bdf, err) < 0)
		return -1;
	drv = driver_of(h, bdf);
	if (drv && strcmp(drv, "vfio-pci") == 0)
		return 0;
	if (stat(vfio_drv, &st) < 0)
		return hull_err_make(err, 0, "%s: the vfio-pci driver is not loaded (modprobe vfio-pci)", bdf);
	if (group_of(h, bdf) < 0)
		return hull_err_make(err, 0, "%s: in no IOMMU group (is the IOMMU on? intel_iommu=on / amd_iommu=on)",
				     bdf);
	nvf = read_attr(numvfs);
	if (nvf && strcmp(nvf, "0") != 0)
		return hull_err_make(err, 0, "%s: in use: %s virtual functions enabled (hull sriov disable %s)", bdf,
				     nvf, bdf);
	/* Remember the driver before touching anything: unbind restores it. */
	if (mkdir_p(h->state_dir, 0700, err) < 0 ||
	    write_file_atomic_at(AT_FDCWD, state, drv ? drv : "", drv ? strlen(drv) : 0, 0600, err) < 0)
		return -1;
	if (write_attr(h, override, "vfio-pci", err) < 0)
		goto undo;
	if (drv) {
		_cleanup_free_ char *unbind = dev_path(h, bdf, "driver/unbind");
		if (write_attr(h, unbind, bdf, err) < 0)
			goto undo;
	}
	if (write_attr(h, probe, bdf, err) < 0)
		goto undo;
	free(drv);
	drv = driver_of(h, bdf);
	if (!drv || strcmp(drv, "vfio-pci") != 0) {
		hull_err_make(err, 0, "%s: vfio-pci did not take the device (see dmesg)", bdf);
		goto undo;
	}
	return 0;
undo:
	/* Best effort back to where it was: no override, the old driver. */
	write_attr(h, override, "\n", NULL);
	{
		_cleanup_free_ char *state_drv = read_attr(state);
		if (state_drv && *state_drv) {
			_cleanup_free_ char *bind = xasprintf("%s/bus/pci/drivers/%s/bind", h->sys, state_drv);
			free(drv);
			drv = driver_of(h, bdf);
			if (!drv)
				write_attr(h, bind, bdf, NULL);
		}
	}
	unlink(state);
	return -1;
}

int vfio_unbind(const struct vfio_host *h, const char *bdf, struct hull_err **err)
{
	_cleanup_free_ char *drv = NULL, *orig = NULL, *state = xasprintf("%s/%s", h->state_dir, bdf);
	_cleanup_free_ char *override = dev_path(h, bdf, "driver_override");
	_cleanup_free_ char *unbind = dev_path(h, bdf, "driver/unbind");
	long group, pid = 0;

	if (need_device(h, bdf, err) < 0)
		return -1;
	drv = driver_of(h, bdf);
	if (!drv || strcmp(drv, "vfio-pci") != 0)
		return hull_err_make(err, 0, "%s: not bound to vfio-pci (driver: %s)", bdf, drv ? drv : "none");
	group = group_of(h, bdf);
	/* vfio-pci's remove waits for the last user: refuse instead of hanging. */
	if (group >= 0 && group_in_use(h, group, &pid))
		return hull_err_make(err, 0, "%s: in use: process %ld holds /dev/vfio/%ld open", bdf, pid, group);
	orig = read_attr(state);
	if (write_attr(h, unbind, bdf, err) < 0 || write_attr(h, override, "\n", err) < 0)
		return -1;
	if (orig && *orig) {
		_cleanup_free_ char *bind = xasprintf("%s/bus/pci/drivers/%s/bind", h->sys, orig);
		if (write_attr(h, bind, bdf, err) < 0) {
			hull_err_wrap(err, "%s: unbound from vfio-pci, but %s did not take it back", bdf, orig);
			unlink(state);
			return -1;
		}
	}
	unlink(state);
	return 0;
}

/* Drivers the kernel lets share a group handed to a VMM: they never do DMA
 * of their own (driver_managed_dma), or the function is unbound. */
static bool group_member_ok(const char *drv)
{
	static const char *const ok[] = { "vfio-pci", "pci-stub", "pcieport" };

	if (!drv)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (strcmp(drv, ok[i]) == 0)
			return true;
	return false;
}

int vfio_passthrough_check(const struct vfio_host *h, const char *bdf, int *group, struct hull_err **err)
{
	_cleanup_free_ char *drv = NULL, *dir = NULL;
	struct dirent *e;
	DIR *d;
	long g;

	if (need_device(h, bdf, err) < 0)
		return -1;
	drv = driver_of(h, bdf);
	if (!drv || strcmp(drv, "vfio-pci") != 0)
		return hull_err_make(err, 0, "%s: not bound to vfio-pci (driver: %s; hull vfio bind %s)", bdf,
				     drv ? drv : "none", bdf);
	g = group_of(h, bdf);
	if (g < 0)
		return hull_err_make(err, 0, "%s: in no IOMMU group (is the IOMMU on?)", bdf);
	/* The kernel hands a VMM the whole group or nothing: name the member
	 * that stops it, rather than VFIO's bare "group not viable". */
	dir = xasprintf("%s/kernel/iommu_groups/%ld/devices", h->sys, g);
	d = opendir(dir);
	if (!d)
		return hull_err_make(err, errno, "%s: IOMMU group %ld: open %s", bdf, g, dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, bdf) == 0)
			continue;
		_cleanup_free_ char *other = driver_of(h, e->d_name);
		if (!group_member_ok(other)) {
			hull_err_make(err, 0, "%s: IOMMU group %ld is not viable: %s shares it and is bound to %s "
					      "(hull vfio bind %s, or unbind it)",
				      bdf, g, e->d_name, other, e->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	*group = (int)g;
	return 0;
}

/* pf's sriov_totalvfs, or -1 with an error when it is not SR-IOV capable. */
static long totalvfs(const struct vfio_host *h, const char *pf, struct hull_err **err)
{
	_cleanup_free_ char *p = dev_path(h, pf, "sriov_totalvfs"), *v = NULL;
	uint64_t n;

	if (need_device(h, pf, err) < 0)
		return -1;
	v = read_attr(p);
	if (!v || parse_u64(v, &n) < 0 || n == 0)
		return hull_err_make(err, 0, "%s: not an SR-IOV physical function (no virtual functions)", pf);
	return (long)n;
}

int sriov_enable(const struct vfio_host *h, const char *pf, unsigned int n, struct hull_err **err)
{
	_cleanup_free_ char *numvfs = dev_path(h, pf, "sriov_numvfs"), *cur = NULL, *drv = NULL;
	_cleanup_free_ char *autoprobe = dev_path(h, pf, "sriov_drivers_autoprobe");
	char val[16];
	long total = totalvfs(h, pf, err);

	if (total < 0)
		return -1;
	if (n == 0 || n > (unsigned long)total)
		return hull_err_make(err, 0, "%s: %u virtual functions asked, it has 1..%ld", pf, n, total);
	cur = read_attr(numvfs);
	if (cur && strcmp(cur, "0") != 0)
		return hull_err_make(err, 0, "%s: %s virtual functions already enabled (hull sriov disable %s first)",
				     pf, cur, pf);
	drv = driver_of(h, pf);
	if (!drv)
		return hull_err_make(err, 0, "%s: no driver bound to the physical function (its driver enables SR-IOV)",
				     pf);
	snprintf(val, sizeof(val), "%u", n);
	/* VFs come up unbound: the operator binds them to vfio-pci. */
	if (write_attr(h, autoprobe, "0", err) < 0 || write_attr(h, numvfs, val, err) < 0)
		return -1;
	return 0;
}

int sriov_disable(const struct vfio_host *h, const char *pf, struct hull_err **err)
{
	_cleanup_free_ char *numvfs = dev_path(h, pf, "sriov_numvfs");
	_cleanup_free_ char *autoprobe = dev_path(h, pf, "sriov_drivers_autoprobe");
	long total = totalvfs(h, pf, err);

	if (total < 0)
		return -1;
	for (long i = 0; i < total; i++) {
		_cleanup_free_ char *vf = NULL;
		char target[PATH_MAX];
		_cleanup_free_ char *l = xasprintf("%s/bus/pci/devices/%s/virtfn%ld", h->sys, pf, i);
		ssize_t len = readlink(l, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		const char *vbdf = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
		vf = driver_of(h, vbdf);
		if (vf && strcmp(vf, "vfio-pci") == 0)
			return hull_err_make(err, 0, "%s: in use: virtual function %s is bound to vfio-pci (hull vfio unbind %s)",
					     pf, vbdf, vbdf);
	}
	if (write_attr(h, numvfs, "0", err) < 0 || write_attr(h, autoprobe, "1", err) < 0)
		return -1;
	return 0;
}
