/* SPDX-License-Identifier: Apache-2.0 */
/* vfio/ operator steps (hull vfio bind|unbind, hull sriov enable|disable)
 * against a fake sysfs and procfs in a temp dir: the `written` hook plays
 * the kernel's part (bind/unbind move the driver link, drivers_probe honours
 * driver_override, sriov_numvfs makes virtfnN links). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vfio/vfio.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#define PF "0000:01:00.0"

struct fake {
	char base[64];
	char sys[128], proc[128], state[128];
	bool refuse_probe;      /* vfio-pci's probe fails (the device stays unbound) */
	struct vfio_host h;
};

static void put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, val, strlen(val)), (ssize_t)strlen(val));
	close(fd);
}

static char *get(const char *path)
{
	char *buf = NULL;
	size_t len;
	if (read_file_at(AT_FDCWD, path, &buf, &len, 0, NULL) < 0)
		return NULL;
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return buf;
}

static char *devp(struct fake *f, const char *bdf, const char *leaf)
{
	return xasprintf("%s/bus/pci/devices/%s/%s", f->sys, bdf, leaf);
}

static void set_driver(struct fake *f, const char *bdf, const char *drv)
{
	_cleanup_free_ char *l = devp(f, bdf, "driver");
	unlink(l);
	if (drv) {
		_cleanup_free_ char *t = xasprintf("%s/bus/pci/drivers/%s", f->sys, drv);
		assert_int_equal(symlink(t, l), 0);
	}
}

static char *driver(struct fake *f, const char *bdf)
{
	_cleanup_free_ char *l = devp(f, bdf, "driver");
	char t[PATH_MAX];
	ssize_t n = readlink(l, t, sizeof(t) - 1);
	if (n <= 0)
		return xstrdup("none");
	t[n] = '\0';
	return xstrdup(strrchr(t, '/') + 1);
}

static void add_device(struct fake *f, const char *bdf, int group, const char *drv)
{
	_cleanup_free_ char *d = xasprintf("%s/bus/pci/devices/%s", f->sys, bdf);
	_cleanup_free_ char *o = devp(f, bdf, "driver_override");
	_cleanup_free_ char *g = devp(f, bdf, "iommu_group");
	_cleanup_free_ char *gt = xasprintf("%s/kernel/iommu_groups/%d", f->sys, group);
	assert_int_equal(mkdir_p(d, 0755, NULL), 0);
	put(o, "(null)\n");
	assert_int_equal(symlink(gt, g), 0);
	set_driver(f, bdf, drv);
}

static void kernel(const struct vfio_host *h, const char *path, const char *val)
{
	struct fake *f = h->opaque;
	const char *leaf = strrchr(path, '/') + 1;
	char bdf[13];

	put(path, val);
	if (strcmp(leaf, "unbind") == 0) {
		set_driver(f, val, NULL);
	} else if (strcmp(leaf, "bind") == 0) {
		char drv[64];
		const char *e = path + strlen(path) - strlen("/bind");
		const char *s = e - 1;
		while (*s != '/')
			s--;
		snprintf(drv, sizeof(drv), "%.*s", (int)(e - s - 1), s + 1);
		set_driver(f, val, drv);
	} else if (strcmp(leaf, "drivers_probe") == 0) {
		_cleanup_free_ char *o = devp(f, val, "driver_override");
		_cleanup_free_ char *ov = get(o);
		if (ov && *ov && strcmp(ov, "(null)") != 0 && !(f->refuse_probe && strcmp(ov, "vfio-pci") == 0))
			set_driver(f, val, ov);
	} else if (strcmp(leaf, "driver_override") == 0 && strcmp(val, "\n") == 0) {
		put(path, "(null)\n");
	} else if (strcmp(leaf, "sriov_numvfs") == 0) {
		int n = atoi(val);
		for (int i = 0; i < 2; i++) {
			_cleanup_free_ char *l = xasprintf("%s/bus/pci/devices/" PF "/virtfn%d", f->sys, i);
			snprintf(bdf, sizeof(bdf), "0000:01:00.%d", i + 1);
			_cleanup_free_ char *t = xasprintf("../%s", bdf);
			unlink(l);
			if (i < n) {
				add_device(f, bdf, 10 + i, NULL);
				assert_int_equal(symlink(t, l), 0);
			}
		}
	}
}

static int setup(void **state)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	snprintf(f->base, sizeof(f->base), "/tmp/hull-vfio-test.XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->base);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->base);
	snprintf(f->state, sizeof(f->state), "%s/state/vfio", f->base);
	static const char *const drivers[] = { "nvme", "vfio-pci", "e1000e" };
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
		_cleanup_free_ char *p = xasprintf("%s/bus/pci/drivers/%s", f->sys, drivers[i]);
		_cleanup_free_ char *b = xasprintf("%s/bind", p), *u = xasprintf("%s/unbind", p);
		assert_int_equal(mkdir_p(p, 0755, NULL), 0);
		put(b, "");
		put(u, "");
	}
	_cleanup_free_ char *probe = xasprintf("%s/bus/pci/drivers_probe", f->sys);
	put(probe, "");
	assert_int_equal(mkdir_p(f->proc, 0755, NULL), 0);
	add_device(f, PF, 6, "nvme");
	_cleanup_free_ char *tot = devp(f, PF, "sriov_totalvfs"), *num = devp(f, PF, "sriov_numvfs");
	_cleanup_free_ char *ap = devp(f, PF, "sriov_drivers_autoprobe");
	put(tot, "2\n");
	put(num, "0\n");
	put(ap, "1\n");
	add_device(f, "0000:02:00.0", 7, "e1000e");
	f->h = (struct vfio_host){ .sys = f->sys, .proc = f->proc, .state_dir = f->state, .written = kernel,
				   .opaque = f };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", f->base);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void expect_err(int r, struct hull_err **err, const char *part)
{
	assert_true(r < 0);
	assert_non_null(*err);
	if (!strstr((*err)->msg, part))
		fail_msg("error \"%s\" does not say \"%s\"", (*err)->msg, part);
	hull_err_free(err);
}

static void test_bdf_parse(void **state)
{
	struct hull_err *err = NULL;
	char out[13];

	assert_int_equal(vfio_bdf_parse("0000:01:00.1", out, &err), 0);
	assert_string_equal(out, "0000:01:00.1");
	assert_int_equal(vfio_bdf_parse("0A:1F.7", out, &err), 0);
	assert_string_equal(out, "0000:0a:1f.7");
	static const char *const bad[] = { "", "1:2", "0000:01:00.8", "0000:01:20.0", "0000:01:00.1x",
					   "00000:01:00.1", "../../x/y/z", "0000:01:00-1", "0000 01:00.1" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_err(vfio_bdf_parse(bad[i], out, &err), &err, "not a PCI address");
}

static void test_bind_then_unbind_restores_the_driver(void **state)
{
	struct fake *f = *state;
	struct hull_err *err = NULL;
	_cleanup_free_ char *ov = devp(f, "0000:02:00.0", "driver_override");
	_cleanup_free_ char *st = xasprintf("%s/0000:02:00.0", f->state);
	char *s;

	assert_int_equal(vfio_bind(&f->h, "0000:02:00.0", &err), 0);
	assert_string_equal((s = driver(f, "0000:02:00.0")), "vfio-pci"); free(s);
	assert_string_equal((s = get(ov)), "vfio-pci"); free(s);
	assert_string_equal((s = get(st)), "e1000e"); free(s);
	/* twice: already on vfio-pci, the remembered driver stays */
	assert_int_equal(vfio_bind(&f->h, "0000:02:00.0", &err), 0);
	assert_string_equal((s = get(st)), "e1000e"); free(s);

	assert_int_equal(vfio_unbind(&f->h, "0000:02:00.0", &err), 0);
	assert_string_equal((s = driver(f, "0000:02:00.0")), "e1000e"); free(s);
	assert_string_equal((s = get(ov)), "(null)"); free(s);
	assert_int_equal(access(st, F_OK), -1);
	expect_err(vfio_unbind(&f->h, "0000:02:00.0", &err), &err, "not bound to vfio-pci (driver: e1000e)");
}

static void test_errors_leave_nothing_changed(void **state)
{
	struct fake *f = *state;
	struct hull_err *err = NULL;
	_cleanup_free_ char *ov = devp(f, "0000:02:00.0", "driver_override");
	_cleanup_free_ char *st = xasprintf("%s/0000:02:00.0", f->state);
	_cleanup_free_ char *vd = xasprintf("%s/bus/pci/drivers/vfio-pci", f->sys);
	_cleanup_free_ char *mv = xasprintf("%s/bus/pci/drivers/vfio-pci.gone", f->sys);
	char *s;

	expect_err(vfio_bind(&f->h, "0000:05:00.0", &err), &err, "0000:05:00.0: no such PCI device");
	/* vfio-pci refuses the device: back on its driver, no override, no state */
	f->refuse_probe = true;
	expect_err(vfio_bind(&f->h, "0000:02:00.0", &err), &err, "vfio-pci did not take the device");
	assert_string_equal((s = driver(f, "0000:02:00.0")), "e1000e"); free(s);
	assert_string_equal((s = get(ov)), "(null)"); free(s);
	assert_int_equal(access(st, F_OK), -1);
	f->refuse_probe = false;
	/* vfio-pci not loaded */
	assert_int_equal(rename(vd, mv), 0);
	expect_err(vfio_bind(&f->h, "0000:02:00.0", &err), &err, "vfio-pci driver is not loaded");
	assert_int_equal(rename(mv, vd), 0);
	assert_string_equal((s = driver(f, "0000:02:00.0")), "e1000e"); free(s);
	assert_int_equal(access(st, F_OK), -1);
}

static void test_unbind_refused_while_the_group_is_open(void **state)
{
	struct fake *f = *state;
	struct hull_err *err = NULL;
	_cleanup_free_ char *fd = xasprintf("%s/4242/fd", f->proc);
	_cleanup_free_ char *l = xasprintf("%s/7", fd);
	char *s;

	assert_int_equal(vfio_bind(&f->h, "0000:02:00.0", &err), 0);
	assert_int_equal(mkdir_p(fd, 0755, NULL), 0);
	assert_int_equal(symlink("/dev/vfio/7", l), 0);
	expect_err(vfio_unbind(&f->h, "0000:02:00.0", &err), &err, "in use: process 4242 holds /dev/vfio/7 open");
	assert_string_equal((s = driver(f, "0000:02:00.0")), "vfio-pci"); free(s);
	unlink(l);
	assert_int_equal(vfio_unbind(&f->h, "0000:02:00.0", &err), 0);
}

static void test_sriov_enable_disable(void **state)
{
	struct fake *f = *state;
	struct hull_err *err = NULL;
	_cleanup_free_ char *num = devp(f, PF, "sriov_numvfs"), *ap = devp(f, PF, "sriov_drivers_autoprobe");
	char *s;

	expect_err(sriov_enable(&f->h, "0000:02:00.0", 1, &err), &err, "0000:02:00.0: not an SR-IOV physical function");
	expect_err(sriov_enable(&f->h, "0000:09:00.0", 1, &err), &err, "no such PCI device");
	expect_err(sriov_enable(&f->h, PF, 3, &err), &err, "3 virtual functions asked, it has 1..2");
	expect_err(sriov_enable(&f->h, PF, 0, &err), &err, "0 virtual functions asked");
	assert_string_equal((s = get(num)), "0"); free(s);
	assert_string_equal((s = get(ap)), "1"); free(s);

	assert_int_equal(sriov_enable(&f->h, PF, 2, &err), 0);
	assert_string_equal((s = get(num)), "2"); free(s);
	assert_string_equal((s = get(ap)), "0"); free(s);
	expect_err(sriov_enable(&f->h, PF, 1, &err), &err, "2 virtual functions already enabled");
	/* the PF itself cannot go to vfio-pci with VFs on it */
	expect_err(vfio_bind(&f->h, PF, &err), &err, "in use: 2 virtual functions enabled");

	/* a VF (unbound: autoprobe off) to vfio-pci; disable refuses */
	assert_int_equal(vfio_bind(&f->h, "0000:01:00.2", &err), 0);
	expect_err(sriov_disable(&f->h, PF, &err), &err, "virtual function 0000:01:00.2 is bound to vfio-pci");
	assert_string_equal((s = get(num)), "2"); free(s);
	assert_int_equal(vfio_unbind(&f->h, "0000:01:00.2", &err), 0);
	assert_string_equal((s = driver(f, "0000:01:00.2")), "none"); free(s);
	assert_int_equal(sriov_disable(&f->h, PF, &err), 0);
	assert_string_equal((s = get(num)), "0"); free(s);
	assert_string_equal((s = get(ap)), "1"); free(s);
}

static void test_sriov_needs_a_pf_driver(void **state)
{
	struct fake *f = *state;
	struct hull_err *err = NULL;

	set_driver(f, PF, NULL);
	expect_err(sriov_enable(&f->h, PF, 1, &err), &err, "no driver bound to the physical function");
}

/* Put bdf into the fake's /sys/kernel/iommu_groups/<group>/devices. */
static void add_to_group(struct fake *f, int group, const char *bdf)
{
	_cleanup_free_ char *d = xasprintf("%s/kernel/iommu_groups/%d/devices", f->sys, group);
	_cleanup_free_ char *l = xasprintf("%s/%s", d, bdf);
	_cleanup_free_ char *t = xasprintf("%s/bus/pci/devices/%s", f->sys, bdf);
	assert_int_equal(mkdir_p(d, 0755, NULL), 0);
	assert_int_equal(symlink(t, l), 0);
}

static void test_passthrough_check_names_what_is_in_the_way(void **state)
{
	struct fake *f = *state;
	struct hull_err *err = NULL;
	int group = -1;

	/* 0000:02:00.0 shares group 7 with 0000:02:00.1 (a function on e1000e) */
	add_device(f, "0000:02:00.1", 7, "e1000e");
	add_to_group(f, 7, "0000:02:00.0");
	add_to_group(f, 7, "0000:02:00.1");
	expect_err(vfio_passthrough_check(&f->h, "0000:02:00.0", &group, &err), &err,
		   "0000:02:00.0: not bound to vfio-pci (driver: e1000e; hull vfio bind 0000:02:00.0)");
	expect_err(vfio_passthrough_check(&f->h, "0000:09:00.0", &group, &err), &err,
		   "0000:09:00.0: no such PCI device");
	assert_int_equal(vfio_bind(&f->h, "0000:02:00.0", &err), 0);
	expect_err(vfio_passthrough_check(&f->h, "0000:02:00.0", &group, &err), &err,
		   "0000:02:00.0: IOMMU group 7 is not viable: 0000:02:00.1 shares it and is bound to e1000e");
	assert_int_equal(group, -1);
	/* an unbound sibling is no obstacle (the kernel agrees), nor one on vfio-pci */
	set_driver(f, "0000:02:00.1", NULL);
	assert_int_equal(vfio_passthrough_check(&f->h, "0000:02:00.0", &group, &err), 0);
	assert_int_equal(group, 7);
	set_driver(f, "0000:02:00.1", "vfio-pci");
	assert_int_equal(vfio_passthrough_check(&f->h, "0000:02:00.0", &group, &err), 0);
	/* nothing was changed on the way */
	char *s;
	assert_string_equal((s = driver(f, "0000:02:00.0")), "vfio-pci"); free(s);
	assert_string_equal((s = driver(f, "0000:02:00.1")), "vfio-pci"); free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bdf_parse),
		cmocka_unit_test_setup_teardown(test_bind_then_unbind_restores_the_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_leave_nothing_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbind_refused_while_the_group_is_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sriov_enable_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sriov_needs_a_pf_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passthrough_check_names_what_is_in_the_way, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
