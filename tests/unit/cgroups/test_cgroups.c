/* SPDX-License-Identifier: Apache-2.0 */
/* cgroups/: conversions, paths, validation, BPF assembly, the controller table, state, stats (fake trees). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cgroups/internal.h"

#include <json-c/json.h>
#include <dirent.h>
#include <sys/stat.h>

/* ---- fake cgroup trees ------------------------------------------------------ */

static char tmpdir[64];

static void put(const char *dir, const char *file, const char *content)
{
	char *p = xasprintf("%s/%s", dir, file);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	free(p);
}

static int setup_fake(void **state)
{
	struct cg_layout l = { 0 };

	strcpy(tmpdir, "/tmp/hull-cg-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	put(tmpdir, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	l.mode = CG_V2;
	l.unified = tmpdir;
	l.own_unified = "/";
	cg_layout_set_for_test(&l);
	return 0;
}

static int teardown_fake(void **state)
{
	char *cmd = xasprintf("rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	cg_layout_set_for_test(NULL);
	return 0;
}

/* ---- conversions -------------------------------------------------------------- */

static void test_shares_to_weight_matches_runc(void **state)
{
	assert_int_equal(cgroups_shares_to_weight(0), 0);
	assert_int_equal(cgroups_shares_to_weight(2), 1);
	assert_int_equal(cgroups_shares_to_weight(1024), 39);
	assert_int_equal(cgroups_shares_to_weight(262144), 10000);
	/* Below the kernel minimum: clamped, no unsigned underflow. */
	assert_int_equal(cgroups_shares_to_weight(1), 1);
}

static void test_blkio_weight_to_io_weight_matches_runc(void **state)
{
	assert_int_equal(cgroups_blkio_to_io_weight(0), 0);
	assert_int_equal(cgroups_blkio_to_io_weight(10), 1);
	assert_int_equal(cgroups_blkio_to_io_weight(500), 1 + (490 * 9999) / 990);
	assert_int_equal(cgroups_blkio_to_io_weight(1000), 10000);
}

static void test_swap_conversion_subtracts_memory(void **state)
{
	struct hull_err *err = NULL;
	int64_t out = 7;

	assert_int_equal(cgroups_swap_to_v2(64 << 20, 32 << 20, &out, &err), 0);
	assert_int_equal(out, 32 << 20);
	assert_int_equal(cgroups_swap_to_v2(-1, 32 << 20, &out, &err), 0);
	assert_int_equal(out, -1);
	assert_int_equal(cgroups_swap_to_v2(0, -1, &out, &err), 0);
	assert_int_equal(out, -1);
	assert_int_equal(cgroups_swap_to_v2(0, 100, &out, &err), 0);
	assert_int_equal(out, 0);
	assert_int_equal(cgroups_swap_to_v2(32 << 20, 32 << 20, &out, &err), 0);
	assert_int_equal(out, 0);
}

static void test_swap_conversion_rejects_swap_below_memory(void **state)
{
	struct hull_err *err = NULL;
	int64_t out;

	assert_true(cgroups_swap_to_v2(16 << 20, 32 << 20, &out, &err) < 0);
	assert_non_null(strstr(err->msg, "linux.resources.memory.swap"));
	hull_err_free(&err);
	assert_true(cgroups_swap_to_v2(16 << 20, 0, &out, &err) < 0);
	assert_non_null(strstr(err->msg, "without a memory limit"));
	hull_err_free(&err);
}

static void test_hugepage_size_names(void **state)
{
	assert_int_equal(cg_hugepage_kb("2MB"), 2048);
	assert_int_equal(cg_hugepage_kb("1GB"), 1048576);
	assert_int_equal(cg_hugepage_kb("64KB"), 64);
	assert_int_equal(cg_hugepage_kb("2mb"), -1);
	assert_int_equal(cg_hugepage_kb("MB"), -1);
	assert_int_equal(cg_hugepage_kb("0MB"), -1);
	assert_int_equal(cg_hugepage_kb(""), -1);
}

/* ---- paths ---------------------------------------------------------------------- */

static void test_path_rejects_dotdot_components(void **state)
{
	struct hull_err *err = NULL;

	assert_true(cgroups_validate(NULL, "../x", false, &err) < 0);
	assert_string_equal(err->msg, "linux.cgroupsPath: \"../x\" escapes the cgroup root");
	hull_err_free(&err);
	assert_true(cgroups_validate(NULL, "/a/b/../../..", false, &err) < 0);
	hull_err_free(&err);
	assert_true(cgroups_validate(NULL, "/", false, &err) < 0);
	assert_non_null(strstr(err->msg, "root cgroup"));
	hull_err_free(&err);
	assert_int_equal(cgroups_validate(NULL, "/a/..b/c..", false, &err), 0);
	assert_int_equal(cgroups_validate(NULL, "a/b", false, &err), 0);
}

static void test_path_resolution_relative_and_absolute(void **state)
{
	struct { const char *path, *id, *own; bool parent; const char *want; } t[] = {
		{ "/foo//bar/", "x", "/user.slice/s.scope", true, "/foo/bar" },
		{ "foo/bar", "x", "/user.slice/s.scope", true, "/user.slice/foo/bar" },
		{ "foo/bar", "x", "/user.slice/s.scope", false, "/user.slice/s.scope/foo/bar" },
		{ NULL, "abc", "/", true, "/hull/abc" },
		{ NULL, "abc", "/a", true, "/hull/abc" },
		{ "", "abc", "/process_api/c8", false, "/process_api/c8/hull/abc" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *r = cg_resolve(t[i].path, t[i].id, t[i].own, t[i].parent);
		assert_string_equal(r, t[i].want);
		free(r);
	}
}

static void test_systemd_path_parsing(void **state)
{
	struct hull_err *err = NULL;
	char *slice = NULL, *unit = NULL, *sp = NULL;

	assert_int_equal(cg_systemd_parse("machine.slice:libpod:abc", "id", &slice, &unit, &err), 0);
	assert_string_equal(slice, "machine.slice");
	assert_string_equal(unit, "libpod-abc.scope");
	free(slice);
	free(unit);
	assert_int_equal(cg_systemd_parse(NULL, "id", &slice, &unit, &err), 0);
	assert_string_equal(slice, "system.slice");
	assert_string_equal(unit, "hull-id.scope");
	free(slice);
	free(unit);
	assert_true(cg_systemd_parse("/foo/bar", "id", &slice, &unit, &err) < 0);
	assert_non_null(strstr(err->msg, "slice:prefix:name"));
	hull_err_free(&err);
	assert_int_equal(cg_systemd_slice_path("a-b-c.slice", &sp, &err), 0);
	assert_string_equal(sp, "/a.slice/a-b.slice/a-b-c.slice");
	free(sp);
	assert_true(cg_systemd_slice_path("a--b.slice", &sp, &err) < 0);
	hull_err_free(&err);
}

/* ---- validation: hostile inputs ----------------------------------------------------- */

static void test_validate_rejects_hostile_resources(void **state)
{
	static struct oci_hugepage_limit bad_hp = { .page_size = "3XB", .limit = 1 };
	static struct oci_hugepage_limit odd_hp = { .page_size = "3MB", .limit = 1 };
	static struct oci_kv bad_keys[] = { { "memory/../../x", "1" }, { "nodot", "1" }, { "memory..max", "1" },
					    { ".max", "1" }, { "memory.", "1" } };
	static struct oci_kv bad_ctrl = { "foo.bar", "1" };
	static struct oci_device_rule bad_dev = { .allow = true, .type = 'c', .access = "rwx" };
	struct { const char *want; void (*set)(struct oci_resources *); } t[] = {
		{ "memory.limit: invalid", ({ void f(struct oci_resources *r) { r->memory.has_limit = true; r->memory.limit = -2; } f; }) },
		{ "memory.reservation: invalid", ({ void f(struct oci_resources *r) { r->memory.has_reservation = true; r->memory.reservation = -5; } f; }) },
		{ "memory.swap", ({ void f(struct oci_resources *r) { r->memory.has_limit = true; r->memory.limit = 100 << 20; r->memory.has_swap = true; r->memory.swap = 1 << 20; } f; }) },
		{ "pids.limit: invalid", ({ void f(struct oci_resources *r) { r->pids.has_limit = true; r->pids.limit = -2; } f; }) },
		{ "memory.swappiness", ({ void f(struct oci_resources *r) { r->memory.has_swappiness = true; r->memory.swappiness = 101; } f; }) },
		{ "cpu.shares", ({ void f(struct oci_resources *r) { r->cpu.has_shares = true; r->cpu.shares = 1u << 20; } f; }) },
		{ "cpu.quota", ({ void f(struct oci_resources *r) { r->cpu.has_quota = true; r->cpu.quota = -7; } f; }) },
		{ "cpu.period: must be > 0", ({ void f(struct oci_resources *r) { r->cpu.has_quota = true; r->cpu.quota = 5000; r->cpu.has_period = true; r->cpu.period = 0; } f; }) },
		{ "cpu.period", ({ void f(struct oci_resources *r) { r->cpu.has_period = true; r->cpu.period = 10; } f; }) },
		{ "cpu.idle", ({ void f(struct oci_resources *r) { r->cpu.has_idle = true; r->cpu.idle = 2; } f; }) },
		{ "cpu.realtimeRuntime: not supported on cgroup v2", ({ void f(struct oci_resources *r) { r->cpu.has_realtime_runtime = true; r->cpu.realtime_runtime = 1000; } f; }) },
		{ "cpu.cpus", ({ void f(struct oci_resources *r) { r->cpu.cpus = "0\n1"; } f; }) },
		{ "blockIO.weight", ({ void f(struct oci_resources *r) { r->block_io.has_weight = true; r->block_io.weight = 5; } f; }) },
		{ "blockIO.weight", ({ void f(struct oci_resources *r) { r->block_io.has_weight = true; r->block_io.weight = 1001; } f; }) },
		{ "hugepageLimits[0].pageSize", ({ void f(struct oci_resources *r) { r->hugepage_limits = &bad_hp; r->n_hugepage_limits = 1; } f; }) },
		{ "not a huge page size of this host", ({ void f(struct oci_resources *r) { r->hugepage_limits = &odd_hp; r->n_hugepage_limits = 1; } f; }) },
		{ "unified: key \"memory/../../x\"", ({ void f(struct oci_resources *r) { r->unified = &bad_keys[0]; r->n_unified = 1; } f; }) },
		{ "unified: key \"nodot\"", ({ void f(struct oci_resources *r) { r->unified = &bad_keys[1]; r->n_unified = 1; } f; }) },
		{ "unified: key \"memory..max\"", ({ void f(struct oci_resources *r) { r->unified = &bad_keys[2]; r->n_unified = 1; } f; }) },
		{ "unified: key \".max\"", ({ void f(struct oci_resources *r) { r->unified = &bad_keys[3]; r->n_unified = 1; } f; }) },
		{ "unified: key \"memory.\"", ({ void f(struct oci_resources *r) { r->unified = &bad_keys[4]; r->n_unified = 1; } f; }) },
		{ "cgroup controller \"foo\" is not available", ({ void f(struct oci_resources *r) { r->unified = &bad_ctrl; r->n_unified = 1; } f; }) },
		{ NULL, ({ void f(struct oci_resources *r) { r->devices = &bad_dev; r->n_devices = 1; } f; }) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct oci_resources r = { 0 };
		struct hull_err *err = NULL;
		t[i].set(&r);
		if (!t[i].want) {
			/* Device rules are checked when the rule list is built. */
			struct cg_dev_rule *rules = NULL;
			size_t n = 0;
			assert_true(cg_dev_rules(&r, NULL, 0, &rules, &n, &err) < 0);
			assert_non_null(strstr(err->msg, "linux.resources.devices[0].access"));
			hull_err_free(&err);
			continue;
		}
		if (cgroups_validate(&r, NULL, false, &err) >= 0)
			fail_msg("case %zu (%s) accepted", i, t[i].want);
		if (!strstr(err->msg, t[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->msg, t[i].want);
		hull_err_free(&err);
	}
}

static void test_validate_accepts_good_resources(void **state)
{
	static struct oci_kv keys[] = { { "memory.high", "max" }, { "cgroup.max.depth", "3" } };
	struct oci_resources r = { 0 };
	struct hull_err *err = NULL;

	r.memory.has_limit = true;
	r.memory.limit = 32 << 20;
	r.memory.has_swap = true;
	r.memory.swap = 64 << 20;
	r.cpu.has_quota = true;
	r.cpu.quota = 50000;
	r.cpu.has_period = true;
	r.cpu.period = 100000;
	r.pids.has_limit = true;
	r.pids.limit = 0;
	r.unified = keys;
	r.n_unified = 2;
	assert_int_equal(cgroups_validate(&r, "/a/b", false, &err), 0);
	assert_null(err);
}

/* ---- BPF ------------------------------------------------------------------------- */

static void test_bpf_program_shape(void **state)
{
	const struct cg_dev_rule rules[] = {
		{ false, 'a', -1, -1, 7 },            /* unconditional: 2 insns, ends the program */
		{ true, 'c', 1, 3, 7 },               /* type, major, minor + 2 = 5 */
		{ true, 'c', 136, -1, CG_ACC_READ },  /* type, 3 access, major + 2 = 7 */
	};
	struct bpf_insn *p = NULL;
	size_t n = 0;
	struct hull_err *err = NULL;

	assert_int_equal(cg_bpf_build(rules, ARRAY_SIZE(rules), &p, &n, &err), 0);
	assert_int_equal(n, 6 + 7 + 5 + 2);
	/* Last rule first: its type check jumps over its own 6 remaining insns. */
	assert_int_equal(p[6].code, BPF_JMP32 | BPF_JNE | BPF_K);
	assert_int_equal(p[6].imm, BPF_DEVCG_DEV_CHAR);
	assert_int_equal(p[6].off, 6);
	assert_int_equal(p[8].imm, CG_ACC_WRITE | CG_ACC_MKNOD);
	assert_int_equal(p[n - 2].imm, 0); /* deny all returns 0 */
	assert_int_equal(p[n - 1].code, BPF_JMP | BPF_EXIT);
	free(p);

	/* No unconditional rule: a default-deny tail is added. */
	assert_int_equal(cg_bpf_build(&rules[1], 1, &p, &n, &err), 0);
	assert_int_equal(n, 6 + 5 + 2);
	free(p);
}

static void test_bpf_program_loads_in_kernel(void **state)
{
	struct cg_dev_rule *rules = NULL;
	struct bpf_insn *p = NULL;
	size_t n = 0, ni = 0;
	struct hull_err *err = NULL;
	int fd;

	assert_int_equal(cg_dev_rules(NULL, NULL, 0, &rules, &n, &err), 0);
	assert_int_equal(cg_bpf_build(rules, n, &p, &ni, &err), 0);
	fd = cg_bpf_load(p, ni, &err);
	if (fd < 0 && err && err->errnum == EPERM) {
		hull_err_free(&err);
		free(p);
		free(rules);
		skip();
	}
	if (fd < 0)
		fail_msg("%s", err->msg);
	close(fd);
	free(p);
	free(rules);
}

/* ---- state and stats ------------------------------------------------------------------ */

static void test_serialize_round_trip(void **state)
{
	struct cgroup *cg = NULL, *cg2 = NULL;
	struct hull_err *err = NULL;
	char *s, *s2;
	const char *text = "hull-cgroups 1\nsystemd 0\npure_v2 0\nrel /hull/x\nunified /sys/fs/cgroup/unified/hull/x\n"
			   "v1 memory /sys/fs/cgroup/memory/hull/x\ncreated /sys/fs/cgroup/memory/hull\ndev c 10 229\n";

	assert_int_equal(cgroups_load(text, &cg, &err), 0);
	assert_string_equal(cgroups_path(cg), "/hull/x");
	assert_string_equal(cgroups_unified_dir(cg), "/sys/fs/cgroup/unified/hull/x");
	s = cgroups_serialize(cg);
	assert_non_null(strstr(s, "dev c 10 229\n"));
	assert_int_equal(cgroups_load(s, &cg2, &err), 0);
	s2 = cgroups_serialize(cg2);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	cgroups_free(cg);
	cgroups_free(cg2);
}

/* A hull killed between the state and the mkdirs: the plan names every
 * directory cgroups_create would make, and makes none. */
static void test_plan_names_missing_dirs_and_makes_nothing(void **state)
{
	struct cgroups_cfg cfg = { .id = "ctr", .cgroups_path = "/a/b/ctr" };
	struct hull_err *err = NULL;
	struct cgroup *cg = NULL;
	char *a = xasprintf("%s/a", tmpdir), *b = xasprintf("%s/a/b", tmpdir);
	char *want = xasprintf("unified %s/a/b/ctr\ncreated %s/a/b\ncreated %s/a/b/ctr\n", tmpdir, tmpdir, tmpdir);
	char *s;

	/* "a" exists already: not hull's to remove. */
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(cgroups_plan(&cfg, &cg, &err), 0);
	assert_non_null(cg);
	s = cgroups_serialize(cg);
	assert_non_null(strstr(s, want));
	{
		char *pre = xasprintf("created %s/a\n", tmpdir);
		assert_null(strstr(s, pre));
		free(pre);
	}
	assert_int_equal(access(b, F_OK), -1);
	free(s);
	cgroups_free(cg);
	cfg.systemd = true;
	cfg.cgroups_path = NULL;
	assert_int_equal(cgroups_plan(&cfg, &cg, &err), 0);
	assert_null(cg);
	free(a);
	free(b);
	free(want);
}

/* hull jail --cgroup FILE=VALUE: names, values, and which hierarchy serves
 * each controller (the fake layout: cgroup2 with the controllers of
 * setup_fake). */
static void test_raw_files_checked_and_controllers_enabled(void **state)
{
	const struct cg_layout *l = cg_layout_get(NULL);
	struct oci_kv ok[] = { { "pids.max", "7" }, { "memory.high", "1m" }, { "pids.current", "x" },
			       { "cgroup.max.depth", "3" } };
	struct cgroups_cfg cfg = { .id = "j", .files = ok, .n_files = ARRAY_SIZE(ok) };
	static const struct { const char *key, *value, *want; } bad[] = {
		{ "pidsmax", "1", "cgroup file \"pidsmax\": not CONTROLLER.FILE" },
		{ "../pids.max", "1", "cgroup file \"../pids.max\": not CONTROLLER.FILE" },
		{ "pids.", "1", "cgroup file \"pids.\": not CONTROLLER.FILE" },
		{ "Pids.max", "1", "cgroup file \"Pids.max\": not CONTROLLER.FILE" },
		{ "pids.max", "1\n2", "cgroup file \"pids.max\": the value contains a newline" },
		{ "nosuch.max", "1", "cgroup file \"nosuch.max\": no hierarchy on this host has the \"nosuch\" controller" },
	};
	const char *need[8] = { "cpu" };
	struct hull_err *err = NULL;
	size_t n;

	assert_non_null(l);
	assert_int_equal(cg_files_check(l, &cfg, &err), 0);
	/* each controller once, after what was there; cgroup.* needs none */
	n = cg_files_needed(l, &cfg, need, 1, ARRAY_SIZE(need));
	assert_int_equal(n, 3);
	assert_string_equal(need[1], "pids");
	assert_string_equal(need[2], "memory");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct oci_kv kv = { (char *)bad[i].key, (char *)bad[i].value };
		struct cgroups_cfg one = { .id = "j", .files = &kv, .n_files = 1 };
		assert_int_equal(cg_files_check(l, &one, &err), -1);
		assert_string_equal(err->msg, bad[i].want);
		hull_err_free(&err);
	}
}

/* --cgroup-manager=disabled: the backend is picked once, when the handle is
 * made, and none of its ops looks at the spec or touches the tree (the
 * fake layout's directory stays as it was). */
static void test_disabled_backend_makes_and_does_nothing(void **state)
{
	struct oci_resources r = { 0 };
	struct cgroups_cfg cfg = { .id = "ctr", .cgroups_path = "/a/ctr", .disabled = true, .resources = &r };
	struct hull_err *err = NULL;
	struct cgroup *cg = NULL;
	char *a = xasprintf("%s/a", tmpdir);
	pid_t *pids = NULL;
	size_t n = 9;
	int fd = 0, fds[4];
	struct dirent *e;
	DIR *d;

	/* Limits the file backends would refuse, and write: not even read. */
	r.memory.has_limit = true;
	r.memory.limit = 1 << 20;
	r.cpu.has_quota = true;
	r.cpu.quota = 5000;
	r.cpu.has_period = true;
	r.cpu.period = 0;
	assert_int_equal(cgroups_plan(&cfg, &cg, &err), 0);
	assert_null(cg);
	assert_int_equal(cgroups_create(&cfg, getpid(), &cg, &err), 0);
	assert_non_null(cg);
	assert_null(err);
	/* Chosen once: what the config says afterwards does not matter. */
	cfg.disabled = false;
	assert_null(cgroups_serialize(cg));
	assert_null(cgroups_path(cg));
	assert_null(cgroups_unified_dir(cg));
	assert_int_equal(cgroups_enter(cg, NULL, getpid(), &err), 0);
	assert_int_equal(cgroups_enter(cg, "sub", getpid(), &err), 0);
	r.cpu.period = 100000;
	assert_int_equal(cgroups_update(cg, &r, &err), 0);
	assert_int_equal(cgroups_clone_fd(cg, &fd, &err), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(cgroups_v1_tasks_fds(cg, fds, ARRAY_SIZE(fds), &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cgroups_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 0);
	free(pids);
	assert_int_equal(cgroups_destroy(cg, &err), 0);
	assert_null(err);
	cgroups_free(cg);
	/* The fake tree holds only what setup_fake put there. */
	assert_int_equal(access(a, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	d = opendir(tmpdir);
	assert_non_null(d);
	n = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			assert_string_equal(e->d_name, "cgroup.controllers");
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
	free(a);
}

static void test_load_rejects_malformed_state(void **state)
{
	const char *bad[] = { "", "garbage", "hull-cgroups 2\nrel /x\n", "hull-cgroups 1\n",
			      "hull-cgroups 1\nrel /x\nv1 bogus /a\n", "hull-cgroups 1\nrel /x\nv1 memory rel\n",
			      "hull-cgroups 1\nrel relative\n", "hull-cgroups 1\nrel /x\nwhat ever\n",
			      "hull-cgroups 1\nrel /x\ndev z 1 2\n", "hull-cgroups 1\nrel /x\ndev c x\n" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cgroup *cg = NULL;
		struct hull_err *err = NULL;
		if (cgroups_load(bad[i], &cg, &err) == 0)
			fail_msg("case %zu accepted", i);
		assert_non_null(strstr(err->msg, "cgroup state"));
		hull_err_free(&err);
	}
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	for (char *k = strtok_r(copy, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			o = NULL;
	free(copy);
	return o;
}

static void test_stats_json_from_fake_v2_tree(void **state)
{
	struct cgroup *cg = NULL;
	struct hull_err *err = NULL;
	char *text = xasprintf("hull-cgroups 1\nsystemd 0\npure_v2 1\nrel /c\nunified %s\n", tmpdir);
	char *json = NULL;
	struct json_object *o, *a;

	put(tmpdir, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\n"
		    "nr_throttled 2\nthrottled_usec 30\n");
	put(tmpdir, "memory.current", "4096\n");
	put(tmpdir, "memory.max", "max\n");
	put(tmpdir, "memory.swap.current", "0\n");
	put(tmpdir, "memory.swap.max", "max\n");
	put(tmpdir, "memory.stat", "anon 100\nfile 200\n");
	put(tmpdir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
	put(tmpdir, "pids.current", "2\n");
	put(tmpdir, "pids.max", "5\n");
	put(tmpdir, "io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n");
	assert_int_equal(cgroups_load(text, &cg, &err), 0);
	assert_int_equal(cgroups_stats_json(cg, &json, &err), 0);
	o = json_tokener_parse(json);
	assert_non_null(o);
	assert_int_equal(json_object_get_uint64(get(o, "cpu.usage.total")), 1500000);
	assert_int_equal(json_object_get_uint64(get(o, "cpu.usage.kernel")), 500000);
	assert_int_equal(json_object_get_uint64(get(o, "cpu.usage.user")), 1000000);
	assert_int_equal(json_object_get_uint64(get(o, "cpu.throttling.periods")), 7);
	assert_int_equal(json_object_get_uint64(get(o, "cpu.throttling.throttledPeriods")), 2);
	assert_int_equal(json_object_get_uint64(get(o, "cpu.throttling.throttledTime")), 30000);
	assert_int_equal(json_object_get_uint64(get(o, "memory.usage.usage")), 4096);
	assert_true(json_object_get_uint64(get(o, "memory.usage.limit")) == UINT64_MAX);
	assert_int_equal(json_object_get_uint64(get(o, "memory.usage.failcnt")), 3);
	assert_int_equal(json_object_get_uint64(get(o, "memory.cache")), 200);
	assert_int_equal(json_object_get_uint64(get(o, "memory.raw.anon")), 100);
	assert_int_equal(json_object_get_uint64(get(o, "pids.current")), 2);
	assert_int_equal(json_object_get_uint64(get(o, "pids.limit")), 5);
	a = get(o, "blkio.ioServiceBytesRecursive");
	assert_int_equal(json_object_array_length(a), 2);
	assert_int_equal(json_object_get_uint64(get(json_object_array_get_idx(a, 1), "value")), 1024);
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(a, 1), "op")), "Write");
	assert_int_equal(json_object_get_uint64(get(json_object_array_get_idx(a, 0), "major")), 8);
	assert_non_null(get(o, "hugetlb"));
	{
		uint64_t n = 0;
		assert_int_equal(cgroups_oom_count(cg, &n, &err), 0);
		assert_int_equal(n, 1);
	}
	json_object_put(o);
	free(json);
	free(text);
	cgroups_free(cg);
}

static void test_stats_json_from_fake_v1_tree(void **state)
{
	struct cgroup *cg = NULL;
	struct hull_err *err = NULL;
	char *mem = xasprintf("%s/memory", tmpdir), *acct = xasprintf("%s/cpuacct", tmpdir);
	char *text = xasprintf("hull-cgroups 1\nsystemd 0\npure_v2 0\nrel /c\nv1 memory %s\nv1 cpuacct %s\n", mem, acct);
	char *json = NULL;
	struct json_object *o;

	assert_int_equal(mkdir(mem, 0755), 0);
	assert_int_equal(mkdir(acct, 0755), 0);
	put(mem, "memory.usage_in_bytes", "8192\n");
	put(mem, "memory.limit_in_bytes", "33554432\n");
	put(mem, "memory.max_usage_in_bytes", "9000\n");
	put(mem, "memory.failcnt", "4\n");
	put(mem, "memory.stat", "cache 12\nrss 34\n");
	put(acct, "cpuacct.usage", "123456\n");
	put(acct, "cpuacct.usage_percpu", "100000 23456 \n");
	put(acct, "cpuacct.stat", "user 3\nsystem 1\n");
	assert_int_equal(cgroups_load(text, &cg, &err), 0);
	assert_int_equal(cgroups_stats_json(cg, &json, &err), 0);
	o = json_tokener_parse(json);
	assert_int_equal(json_object_get_uint64(get(o, "memory.usage.limit")), 33554432);
	assert_int_equal(json_object_get_uint64(get(o, "memory.usage.max")), 9000);
	assert_int_equal(json_object_get_uint64(get(o, "memory.usage.failcnt")), 4);
	assert_int_equal(json_object_get_uint64(get(o, "memory.cache")), 12);
	assert_int_equal(json_object_get_uint64(get(o, "cpu.usage.total")), 123456);
	assert_int_equal(json_object_array_length(get(o, "cpu.usage.percpu")), 2);
	assert_true(json_object_get_uint64(get(o, "cpu.usage.user")) ==
		    3 * (1000000000 / (uint64_t)sysconf(_SC_CLK_TCK)));
	json_object_put(o);
	free(json);
	free(text);
	free(mem);
	free(acct);
	cgroups_free(cg);
}

static void expect_file(const char *file, const char *want)
{
	char *v = NULL;
	assert_int_equal(cg_read(tmpdir, file, &v, NULL), 0);
	if (strcmp(v, want) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", file, v, want);
	free(v);
}

/* ---- the controller table ------------------------------------------------------ */

/* Every row is whole: a cgroup2 name comes with needed() and apply_v2, each
 * row writes its v1 hierarchy, and no two rows share one. */
static void test_controller_rows_are_whole(void **state)
{
	bool seen[V1_COUNT] = { 0 };

	for (size_t i = 0; i < cg_n_controllers; i++) {
		const struct cg_controller *c = &cg_controllers[i];

		assert_true(c->v1 >= 0 && c->v1 < V1_COUNT);
		assert_false(seen[c->v1]);
		seen[c->v1] = true;
		assert_non_null(c->apply_v1);
		assert_true(!c->v2 == !c->needed);
		assert_true(!c->v2 == !c->apply_v2);
		assert_true(!c->stats == !c->stats_key);
	}
}

/* subtree_control gets the controllers the resources ask for, by field or
 * by a unified key, and none that a v1 hierarchy serves. */
static void test_v2_needed_follows_fields_and_unified_keys(void **state)
{
	struct oci_kv uni = { .key = "rdma.max", .value = "x" };
	struct oci_resources r = { 0 };
	struct cg_layout l = { .mode = CG_HYBRID };
	const char *need[16];
	size_t n;

	r.memory.has_limit = true;
	r.pids.has_limit = true;
	r.unified = &uni;
	r.n_unified = 1;
	n = cg_v2_needed(&l, &r, need, ARRAY_SIZE(need));
	assert_int_equal(n, 3);
	assert_string_equal(need[0], "memory");
	assert_string_equal(need[1], "pids");
	assert_string_equal(need[2], "rdma");
	l.v1[V1_MEMORY] = "/sys/fs/cgroup/memory";
	n = cg_v2_needed(&l, &r, need, ARRAY_SIZE(need));
	assert_int_equal(n, 2);
	assert_string_equal(need[0], "pids");
	assert_int_equal(cg_v2_needed(&l, NULL, need, ARRAY_SIZE(need)), 0);
}

static void test_v2_file_values_on_fake_tree(void **state)
{
	static const char *const files[] = { "memory.max", "memory.low", "memory.swap.max", "cpu.weight",
					     "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",
					     "pids.max", "io.weight", "io.max", "hugetlb.2MB.max",
					     "hugetlb.2MB.rsvd.max", "rdma.max", "memory.high" };
	static struct oci_throttle_device wiops = { 8, 16, 300 };
	static struct oci_hugepage_limit hp = { .page_size = "2MB", .limit = 2 << 21 };
	static struct oci_rdma_limit rdma = { .device = "mlx5_0", .has_handles = true, .hca_handles = 3 };
	static struct oci_kv uni = { "memory.high", "123456" };
	const struct cg_layout *l = cg_layout_get(NULL);
	struct oci_resources r = { 0 };
	struct hull_err *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		put(tmpdir, files[i], "");
	r.memory.has_limit = true;
	r.memory.limit = -1;
	r.memory.has_reservation = true;
	r.memory.reservation = 1 << 20;
	r.cpu.has_shares = true;
	r.cpu.shares = 2048;
	r.cpu.has_quota = true;
	r.cpu.quota = -1;
	r.cpu.has_burst = true;
	r.cpu.burst = 1000;
	r.cpu.has_idle = true;
	r.cpu.idle = 1;
	r.cpu.cpus = "0-1";
	r.cpu.mems = "0";
	r.pids.has_limit = true;
	r.pids.limit = -1;
	r.block_io.has_weight = true;
	r.block_io.weight = 500;
	r.block_io.throttle_write_iops = &wiops;
	r.block_io.n_throttle_write_iops = 1;
	r.hugepage_limits = &hp;
	r.n_hugepage_limits = 1;
	r.rdma = &rdma;
	r.n_rdma = 1;
	r.unified = &uni;
	r.n_unified = 1;
	if (cg_apply_v2(l, tmpdir, &r, &err) < 0)
		fail_msg("%s", err->msg);
	expect_file("memory.max", "max");
	expect_file("memory.swap.max", "max"); /* memory -1, swap unset: both unlimited */
	expect_file("memory.low", "1048576");
	expect_file("cpu.weight", "79"); /* 1 + (2046 * 9999) / 262142 */
	expect_file("cpu.max", "max");
	expect_file("cpu.max.burst", "1000");
	expect_file("cpu.idle", "1");
	expect_file("cpuset.cpus", "0-1");
	expect_file("pids.max", "max");
	expect_file("io.weight", "default 4950"); /* 1 + (490 * 9999) / 990 */
	expect_file("io.max", "8:16 wiops=300");
	expect_file("hugetlb.2MB.max", "4194304");
	expect_file("hugetlb.2MB.rsvd.max", "4194304");
	expect_file("rdma.max", "mlx5_0 hca_handle=3");
	expect_file("memory.high", "123456");
}

static void test_v1_file_values_on_fake_tree(void **state)
{
	static const struct { int ctrl; const char *file, *want; } t[] = {
		{ V1_MEMORY, "memory.limit_in_bytes", "33554432" },
		{ V1_MEMORY, "memory.memsw.limit_in_bytes", "67108864" },
		{ V1_MEMORY, "memory.soft_limit_in_bytes", "16777216" },
		{ V1_MEMORY, "memory.swappiness", "10" },
		{ V1_CPU, "cpu.shares", "1024" },
		{ V1_CPU, "cpu.cfs_period_us", "100000" },
		{ V1_CPU, "cpu.cfs_quota_us", "50000" },
		{ V1_PIDS, "pids.max", "5" },
		{ V1_BLKIO, "blkio.weight", "500" },
		{ V1_BLKIO, "blkio.throttle.read_bps_device", "8:0 1048576" },
		{ V1_CPUSET, "cpuset.cpus", "0" },
	};
	static struct oci_throttle_device rbps = { 8, 0, 1048576 };
	struct cgroup cg = { 0 };
	struct oci_resources r = { 0 };
	struct hull_err *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (!cg.v1[t[i].ctrl]) {
			cg.v1[t[i].ctrl] = xasprintf("%s/%s", tmpdir, v1_ctrl_names[t[i].ctrl]);
			assert_int_equal(mkdir(cg.v1[t[i].ctrl], 0755), 0);
		}
		put(cg.v1[t[i].ctrl], t[i].file, "");
	}
	r.memory.has_limit = true;
	r.memory.limit = 32 << 20;
	r.memory.has_swap = true;
	r.memory.swap = 64 << 20;
	r.memory.has_reservation = true;
	r.memory.reservation = 16 << 20;
	r.memory.has_swappiness = true;
	r.memory.swappiness = 10;
	r.cpu.has_shares = true;
	r.cpu.shares = 1024;
	r.cpu.has_quota = true;
	r.cpu.quota = 50000;
	r.cpu.has_period = true;
	r.cpu.period = 100000;
	r.cpu.cpus = "0";
	r.pids.has_limit = true;
	r.pids.limit = 5;
	r.block_io.has_weight = true;
	r.block_io.weight = 500;
	r.block_io.throttle_read_bps = &rbps;
	r.block_io.n_throttle_read_bps = 1;
	if (cg_apply_v1(&cg, &r, &err) < 0)
		fail_msg("%s", err->msg);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *v = NULL;
		assert_int_equal(cg_read(cg.v1[t[i].ctrl], t[i].file, &v, NULL), 0);
		if (strcmp(v, t[i].want) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", t[i].file, v, t[i].want);
		free(v);
	}
	for (int i = 0; i < V1_COUNT; i++)
		free(cg.v1[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_to_weight_matches_runc),
		cmocka_unit_test_setup_teardown(test_raw_files_checked_and_controllers_enabled, setup_fake,
						teardown_fake),
		cmocka_unit_test(test_blkio_weight_to_io_weight_matches_runc),
		cmocka_unit_test(test_swap_conversion_subtracts_memory),
		cmocka_unit_test(test_swap_conversion_rejects_swap_below_memory),
		cmocka_unit_test(test_hugepage_size_names),
		cmocka_unit_test_setup_teardown(test_path_rejects_dotdot_components, setup_fake, teardown_fake),
		cmocka_unit_test(test_path_resolution_relative_and_absolute),
		cmocka_unit_test(test_systemd_path_parsing),
		cmocka_unit_test_setup_teardown(test_validate_rejects_hostile_resources, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_validate_accepts_good_resources, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_plan_names_missing_dirs_and_makes_nothing, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_disabled_backend_makes_and_does_nothing, setup_fake, teardown_fake),
		cmocka_unit_test(test_bpf_program_shape),
		cmocka_unit_test(test_bpf_program_loads_in_kernel),
		cmocka_unit_test(test_controller_rows_are_whole),
		cmocka_unit_test(test_v2_needed_follows_fields_and_unified_keys),
		cmocka_unit_test_setup_teardown(test_v2_file_values_on_fake_tree, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_v1_file_values_on_fake_tree, setup_fake, teardown_fake),
		cmocka_unit_test(test_serialize_round_trip),
		cmocka_unit_test(test_load_rejects_malformed_state),
		cmocka_unit_test_setup_teardown(test_stats_json_from_fake_v2_tree, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_stats_json_from_fake_v1_tree, setup_fake, teardown_fake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
