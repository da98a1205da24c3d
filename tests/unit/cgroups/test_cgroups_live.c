/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups/ against the real cgroup filesystems of the machine it runs on:
 * hybrid (v1 controllers + cgroup2 with hugetlb) on the development machines,
 * pure cgroup v2 inside tests/testhost.  Every test uses a unique relative
 * cgroupsPath and checks that it leaves nothing behind.
 * Tests marked "v2" need every controller in cgroup2 and skip elsewhere,
 * saying so: tests/integration/testhost/cgroups-lib.bats runs them there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cgroups/internal.h"

#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

static char path_name[64];
static int seq;

static void msleep(int ms)
{
	nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L }, NULL);
}

/* Top-level cgroups of every hierarchy, minus hull's (other suites may be
 * running containers concurrently). */
static char *snapshot(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = popen("find /sys/fs/cgroup -maxdepth 2 -mindepth 2 -type d ! -name 'hull*' | sort; "
			"cat /sys/fs/cgroup/cgroup.subtree_control /sys/fs/cgroup/unified/cgroup.subtree_control "
			"2>/dev/null", "r");
	FILE *m = open_memstream(&out, &len);
	char buf[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, m);
	pclose(f);
	fclose(m);
	return out;
}

/* No directory named path_name's top component remains anywhere. */
static void assert_no_leftovers(void)
{
	char *cmd = xasprintf("find /sys/fs/cgroup -maxdepth 6 -type d -name 'hull-cgtest-%d-*' | grep -q .",
			      (int)getpid());
	int r = system(cmd);
	free(cmd);
	if (WEXITSTATUS(r) == 0)
		fail_msg("cgroup directories left behind (hull-cgtest-%d-*)", (int)getpid());
}

static int setup(void **state)
{
	const struct cg_layout *l = cg_layout_get(NULL);
	if (geteuid() != 0 || !l) {
		print_message("skip: needs root and a cgroup filesystem\n");
		return -1;
	}
	snprintf(path_name, sizeof(path_name), "hull-cgtest-%d-%d/c", (int)getpid(), seq++);
	*state = snapshot();
	return 0;
}

static int teardown(void **state)
{
	char *after = snapshot();
	assert_no_leftovers();
	assert_string_equal(*state, after);
	free(after);
	free(*state);
	return 0;
}

/* A child that blocks until released (write a byte to *go) and then runs fn. */
static pid_t spawn(int *go, int (*fn)(void *), void *arg)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(100);
		_exit(fn(arg));
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static int release_and_wait(int go, pid_t pid)
{
	int st = 0;
	assert_int_equal(write(go, "x", 1), 1);
	close(go);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *read_ctrl(struct cgroup *cg, enum v1_ctrl c, const char *v1file, const char *v2file)
{
	char *v = NULL;
	const char *dir = cg->v1[c] ? cg->v1[c] : cg->unified;
	assert_int_equal(cg_read(dir, cg->v1[c] ? v1file : v2file, &v, NULL), 0);
	return v;
}

static int fork_many(void *arg)
{
	pid_t kids[16];
	int ok = 0;

	for (int i = 0; i < 10; i++) {
		pid_t k = fork();
		if (k == 0) {
			pause();
			_exit(0);
		}
		if (k > 0)
			kids[ok++] = k;
	}
	for (int i = 0; i < ok; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	return ok;
}

static void destroy_and_check(struct cgroup *cg)
{
	struct hull_err *err = NULL;
	if (cgroups_destroy(cg, &err) < 0)
		fail_msg("destroy: %s", err->msg);
	if (cg->unified)
		assert_int_equal(access(cg->unified, F_OK), -1);
	for (int i = 0; i < V1_COUNT; i++)
		if (cg->v1[i])
			assert_int_equal(access(cg->v1[i], F_OK), -1);
	for (size_t i = 0; i < cg->n_created; i++)
		assert_int_equal(access(cg->created[i], F_OK), -1);
	cgroups_free(cg);
}

static struct cgroup *create(const struct oci_resources *r, pid_t pid)
{
	struct cgroups_cfg cfg = { .id = "t", .cgroups_path = path_name, .resources = r };
	struct cgroup *cg = NULL;
	struct hull_err *err = NULL;

	if (cgroups_create(&cfg, pid, &cg, &err) < 0)
		fail_msg("create: %s", err->msg);
	return cg;
}

static void test_live_pids_and_memory_limits_apply_and_cleanup(void **state)
{
	struct oci_resources r = { 0 };
	struct cgroup *cg;
	char *v;
	int go;
	pid_t pid = spawn(&go, fork_many, NULL);

	r.pids.has_limit = true;
	r.pids.limit = 5;
	r.memory.has_limit = true;
	r.memory.limit = 32 << 20;
	cg = create(&r, pid);
	v = read_ctrl(cg, V1_PIDS, "pids.max", "pids.max");
	assert_string_equal(v, "5");
	free(v);
	v = read_ctrl(cg, V1_MEMORY, "memory.limit_in_bytes", "memory.max");
	assert_string_equal(v, "33554432");
	free(v);
	{
		pid_t *pids = NULL;
		size_t n = 0;
		struct hull_err *err = NULL;
		assert_int_equal(cgroups_pids(cg, &pids, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_int_equal(pids[0], pid);
		free(pids);
	}
	/* The child itself is one of the 5. */
	assert_int_equal(release_and_wait(go, pid), 4);
	destroy_and_check(cg);
}

static int count_forever(void *arg)
{
	volatile uint64_t *c = arg;
	for (;;)
		(*c)++;
	return 0;
}

static void test_live_freeze_stops_progress_until_thawed(void **state)
{
	volatile uint64_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct hull_err *err = NULL;
	struct cgroup *cg;
	bool frozen = true;
	uint64_t a, b;
	int go;
	pid_t pid = spawn(&go, count_forever, (void *)counter);

	cg = create(NULL, pid);
	assert_int_equal(write(go, "x", 1), 1);
	close(go);
	while (*counter == 0)
		msleep(1);
	assert_int_equal(cgroups_is_frozen(cg, &frozen, &err), 0);
	assert_false(frozen);
	if (cgroups_freeze(cg, true, &err) < 0)
		fail_msg("freeze: %s", err->msg);
	assert_int_equal(cgroups_is_frozen(cg, &frozen, &err), 0);
	assert_true(frozen);
	a = *counter;
	msleep(200);
	b = *counter;
	assert_true(a == b);
	assert_int_equal(cgroups_freeze(cg, false, &err), 0);
	msleep(100);
	assert_true(*counter > b);
	assert_int_equal(cgroups_is_frozen(cg, &frozen, &err), 0);
	assert_false(frozen);
	/* destroy kills the still-running child; reap it. */
	destroy_and_check(cg);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	munmap((void *)counter, 4096);
}

struct split_child {
	struct cgroup *cg;
	const char *sub;
	volatile uint64_t *counter;
};

static int enter_and_count(void *arg)
{
	struct split_child *c = arg;

	if (cgroups_vm_enter_self(c->cg, c->sub, NULL) < 0)
		return 1;
	return count_forever((void *)c->counter);
}

/* A VM container's split (cgroups_vm_split): what sits in the "kvm" sub-cgroup
 * (KVM's kernel thread there; a counter here) runs on while the handle, as
 * `hull pause` reloads it from the state, freezes the payload; destroy of the
 * paused cgroup (delete --force) leaves nothing, sub-cgroups included. */
static void test_live_vm_split_freezes_the_payload_only(void **state)
{
	volatile uint64_t *counters = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct hull_err *err = NULL;
	struct cgroup *cg = create(NULL, 0), *loaded = NULL;
	struct split_child kvm = { .sub = CGROUPS_VM_KVM, .counter = &counters[0] };
	struct split_child vmm = { .sub = CGROUPS_VM_PAYLOAD, .counter = &counters[1] };
	bool frozen = true;
	uint64_t a, b, k;
	pid_t pk, pv;
	char *s;
	int go;

	if (cgroups_vm_split(cg, &err) < 0)
		fail_msg("split: %s", err->msg);
	kvm.cg = vmm.cg = cg;
	pk = spawn(&go, enter_and_count, &kvm);
	assert_int_equal(write(go, "x", 1), 1);
	close(go);
	pv = spawn(&go, enter_and_count, &vmm);
	assert_int_equal(write(go, "x", 1), 1);
	close(go);
	while (counters[0] == 0 || counters[1] == 0)
		msleep(1);
	s = cgroups_serialize(cg);
	assert_non_null(strstr(s, "vm_split 1\n"));
	assert_int_equal(cgroups_load(s, &loaded, &err), 0);
	free(s);
	if (cgroups_freeze(loaded, true, &err) < 0)
		fail_msg("freeze: %s", err->msg);
	assert_int_equal(cgroups_is_frozen(loaded, &frozen, &err), 0);
	assert_true(frozen);
	a = counters[1];
	k = counters[0];
	msleep(200);
	b = counters[1];
	assert_true(a == b);
	assert_true(counters[0] > k);
	/* The container's own directory is not frozen itself: only its payload. */
	if (cg->v1[V1_FREEZER]) {
		char *v = NULL;
		assert_int_equal(cg_read(cg->v1[V1_FREEZER], "freezer.state", &v, NULL), 0);
		assert_string_equal(v, "THAWED");
		free(v);
	} else {
		uint64_t f = 2;
		assert_int_equal(cg_read_kv(cg->unified, "cgroup.events", "frozen", &f), 0);
		assert_int_equal(f, 0);
	}
	cgroups_free(loaded);
	destroy_and_check(cg);
	assert_int_equal(waitpid(pk, NULL, 0), pk);
	assert_int_equal(waitpid(pv, NULL, 0), pv);
	munmap((void *)counters, 4096);
}

static int try_open(void *arg)
{
	const char *const *paths = arg;
	int bits = 0;
	for (int i = 0; paths[i]; i++) {
		int fd = open(paths[i], O_RDONLY | O_NOCTTY);
		if (fd >= 0) {
			bits |= 1 << i;
			close(fd);
		} else if (errno != EPERM) {
			bits |= 0x40;
		}
	}
	return bits;
}

static void test_live_default_devices_allow_null_deny_kmsg(void **state)
{
	static const char *const paths[] = { "/dev/null", "/dev/kmsg", "/dev/urandom", NULL };
	int go;
	pid_t pid = spawn(&go, try_open, (void *)paths);
	struct cgroup *cg = create(NULL, pid);

	/* null and urandom are in runc's default list, kmsg (1:11) is not. */
	assert_int_equal(release_and_wait(go, pid), 1 | 4);
	destroy_and_check(cg);
}

static void test_live_device_program_blocks_dev_full_when_not_allowed(void **state)
{
	static const char *const paths[] = { "/dev/null", "/dev/full", NULL };
	const struct cg_dev_rule rules[] = { { false, 'a', -1, -1, 7 }, { true, 'c', 1, 3, 7 } };
	struct hull_err *err = NULL;
	struct bpf_insn *insns = NULL;
	size_t n = 0;
	int prog, go;
	pid_t pid;
	struct cgroup *cg;

	if (!cg_layout_get(NULL)->unified) {
		print_message("skip: no cgroup2 hierarchy to attach a device program to\n");
		skip();
	}
	pid = spawn(&go, try_open, (void *)paths);
	cg = create(NULL, pid);
	assert_int_equal(cg_bpf_build(rules, 2, &insns, &n, &err), 0);
	prog = cg_bpf_load(insns, n, &err);
	if (prog < 0)
		fail_msg("%s", err->msg);
	if (cg_bpf_install(cg->unified, prog, &err) < 0)
		fail_msg("%s", err->msg);
	close(prog);
	/* Installing a new program replaces the old: exactly one stays attached. */
	prog = cg_bpf_load(insns, n, &err);
	assert_true(prog >= 0);
	if (cg_bpf_install(cg->unified, prog, &err) < 0)
		fail_msg("%s", err->msg);
	{
		_cleanup_close_ int cgfd = open(cg->unified, O_RDONLY | O_DIRECTORY);
		uint32_t ids[8];
		union bpf_attr a = { 0 };
		a.query.target_fd = (uint32_t)cgfd;
		a.query.attach_type = BPF_CGROUP_DEVICE;
		a.query.prog_ids = (uintptr_t)ids;
		a.query.prog_cnt = 8;
		assert_int_equal(syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof(a)), 0);
		assert_int_equal(a.query.prog_cnt, 1);
	}
	close(prog);
	free(insns);
	assert_int_equal(release_and_wait(go, pid), 1);
	destroy_and_check(cg);
}

/* runc: a linux.devices node that puts another device (1:9) at a default
 * device's path (/dev/full) drops that default allow rule, and an update that
 * replaces the rules keeps it dropped; other linux.devices (kmsg) are granted
 * nothing. */
static void test_live_linux_device_at_default_path_stays_denied_across_update(void **state)
{
	static const char *const paths[] = { "/dev/kmsg", "/dev/null", "/dev/full", "/dev/console", NULL };
	static struct oci_linux_device devs[] = {
		{ .path = "/dev/full", .type = 'c', .major = 1, .minor = 9 },
		{ .path = "/dev/kmsg", .type = 'c', .major = 1, .minor = 11 },
	};
	static struct oci_device_rule allow_console = { .allow = true, .type = 'c', .has_major = true,
							.has_minor = true, .major = 5, .minor = 1, .access = "r" };
	struct cgroups_cfg cfg = { .id = "t", .cgroups_path = path_name, .devices = devs, .n_devices = 2 };
	struct oci_resources u = { 0 };
	struct cgroup *cg = NULL;
	struct hull_err *err = NULL;
	int go;
	pid_t pid = spawn(&go, try_open, (void *)paths);

	if (cgroups_create(&cfg, pid, &cg, &err) < 0)
		fail_msg("create: %s", err->msg);
	assert_int_equal(release_and_wait(go, pid), 2);
	/* New rules allow /dev/console (5:1, not in the default list); the default
	 * list minus /dev/full still applies. */
	u.devices = &allow_console;
	u.n_devices = 1;
	if (cgroups_update(cg, &u, &err) < 0)
		fail_msg("update: %s", err->msg);
	pid = spawn(&go, try_open, (void *)paths);
	if (cgroups_enter(cg, "../x", pid, &err) >= 0)
		fail_msg("enter accepted ../x");
	assert_non_null(strstr(err->msg, "--cgroup"));
	hull_err_free(&err);
	if (cgroups_enter(cg, "nosuch", pid, &err) >= 0)
		fail_msg("enter accepted a missing sub-cgroup");
	hull_err_free(&err);
	if (cgroups_enter(cg, NULL, pid, &err) < 0)
		fail_msg("enter: %s", err->msg);
	assert_int_equal(release_and_wait(go, pid), 2 | 8);
	destroy_and_check(cg);
}

static int eat_memory(void *arg)
{
	size_t len = 256u << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	return 0;
}

static void test_live_oom_kill_is_counted_and_signalled(void **state)
{
	struct oci_resources r = { 0 };
	struct hull_err *err = NULL;
	struct cgroup *cg;
	uint64_t before = 0, after = 0;
	int go, fd = -1, st = 0;
	pid_t pid = spawn(&go, eat_memory, NULL);

	r.memory.has_limit = true;
	r.memory.limit = 16 << 20;
	r.memory.has_swap = true;
	r.memory.swap = 16 << 20; /* memory+swap == memory: no swap */
	cg = create(&r, pid);
	assert_int_equal(cgroups_oom_count(cg, &before, &err), 0);
	assert_int_equal(before, 0);
	if (cgroups_oom_fd(cg, &fd, &err) < 0)
		fail_msg("%s", err->msg);
	assert_true(fd >= 0);
	assert_int_equal(write(go, "x", 1), 1);
	close(go);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(poll(&(struct pollfd){ .fd = fd, .events = POLLIN | POLLPRI }, 1, 5000), 1);
	assert_int_equal(cgroups_oom_count(cg, &after, &err), 0);
	assert_true(after >= 1);
	close(fd);
	destroy_and_check(cg);
}

static int spawn_sleepers(void *arg)
{
	for (int i = 0; i < 2; i++)
		if (fork() == 0)
			for (;;)
				pause();
	for (;;)
		pause();
	return 0;
}

static void test_live_kill_all_empties_the_cgroup(void **state)
{
	struct hull_err *err = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	int go;
	pid_t pid = spawn(&go, spawn_sleepers, NULL);
	struct cgroup *cg = create(NULL, pid);

	assert_int_equal(write(go, "x", 1), 1);
	close(go);
	for (int i = 0; i < 500 && n < 3; i++) {
		free(pids);
		pids = NULL;
		assert_int_equal(cgroups_pids(cg, &pids, &n, &err), 0);
		msleep(2);
	}
	assert_int_equal(n, 3);
	free(pids);
	if (cgroups_kill_all(cg, SIGKILL, &err) < 0)
		fail_msg("%s", err->msg);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	for (int i = 0; i < 500; i++) {
		pids = NULL;
		assert_int_equal(cgroups_pids(cg, &pids, &n, &err), 0);
		free(pids);
		if (n == 0)
			break;
		msleep(2);
	}
	assert_int_equal(n, 0);
	destroy_and_check(cg);
}

static void test_live_update_changes_pids_limit_and_state_round_trips(void **state)
{
	struct oci_resources r = { 0 };
	struct hull_err *err = NULL;
	struct cgroup *cg, *loaded = NULL;
	char *s, *v, *json = NULL;

	r.pids.has_limit = true;
	r.pids.limit = 5;
	cg = create(&r, 0);
	s = cgroups_serialize(cg);
	assert_int_equal(cgroups_load(s, &loaded, &err), 0);
	free(s);
	r.pids.limit = 10;
	if (cgroups_update(loaded, &r, &err) < 0)
		fail_msg("%s", err->msg);
	v = read_ctrl(loaded, V1_PIDS, "pids.max", "pids.max");
	assert_string_equal(v, "10");
	free(v);
	r.pids.limit = 0; /* runc: 0 leaves the limit alone */
	assert_int_equal(cgroups_update(loaded, &r, &err), 0);
	v = read_ctrl(loaded, V1_PIDS, "pids.max", "pids.max");
	assert_string_equal(v, "10");
	free(v);
	r.pids.limit = -1; /* -1: unlimited */
	assert_int_equal(cgroups_update(loaded, &r, &err), 0);
	v = read_ctrl(loaded, V1_PIDS, "pids.max", "pids.max");
	assert_string_equal(v, "max");
	free(v);
	assert_int_equal(cgroups_stats_json(loaded, &json, &err), 0);
	assert_non_null(strstr(json, "\"pids\":{"));
	free(json);
	cgroups_free(cg);
	destroy_and_check(loaded);
}

static void test_live_failed_create_leaves_nothing(void **state)
{
	struct oci_resources r = { 0 };
	struct cgroups_cfg cfg = { .id = "t", .cgroups_path = path_name, .resources = &r };
	struct cgroup *cg = NULL;
	struct hull_err *err = NULL;

	r.pids.has_limit = true;
	r.pids.limit = 5;
	r.cpu.cpus = "9999"; /* syntactically fine, no such cpu: the kernel refuses */
	assert_true(cgroups_create(&cfg, 0, &cg, &err) < 0);
	assert_null(cg);
	assert_non_null(strstr(err->msg, "cpuset.cpus"));
	hull_err_free(&err);
}

/* ---- pure cgroup v2 --------------------------------------------------------------- */

static bool need_v2(void)
{
	if (cg_layout_get(NULL)->mode == CG_V2)
		return true;
	print_message("skip: needs pure cgroup v2 (runs in tests/testhost via cgroups-lib.bats)\n");
	return false;
}

static void expect(struct cgroup *cg, const char *file, const char *want)
{
	char *v = NULL;
	struct hull_err *err = NULL;
	if (cg_read(cg->unified, file, &v, &err) < 0)
		fail_msg("%s", err->msg);
	if (!strstr(v, want))
		fail_msg("%s: \"%s\" lacks \"%s\"", file, v, want);
	free(v);
}

/* A block device of this machine for io.max, or false. */
static bool find_blockdev(unsigned *maj, unsigned *min)
{
	static const char *const c[] = { "/sys/block/vda/dev", "/sys/block/sda/dev", "/sys/block/loop0/dev",
					 "/sys/block/ram0/dev", "/sys/block/zram0/dev" };
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		char *v = NULL;
		if (read_file_at(AT_FDCWD, c[i], &v, NULL, 0, NULL) == 0 && sscanf(v, "%u:%u", maj, min) == 2) {
			free(v);
			return true;
		}
		free(v);
	}
	return false;
}

static void test_v2_limits_land_in_their_files(void **state)
{
	static struct oci_hugepage_limit hp = { .page_size = "2MB", .limit = 4 << 21 };
	static struct oci_kv uni = { "memory.high", "50331648" };
	struct oci_throttle_device rbps = { 0 };
	struct oci_resources r = { 0 };
	unsigned maj = 0, min = 0;
	bool blk;
	struct cgroup *cg;

	if (!need_v2())
		skip();
	blk = find_blockdev(&maj, &min);
	/* The test host VM has no disk; a RAM disk gives io.max a device. */
	if (!blk && getenv("TESTHOST") && system("modprobe brd rd_nr=1 rd_size=4096 2>/dev/null") == 0)
		blk = find_blockdev(&maj, &min);
	r.memory.has_limit = true;
	r.memory.limit = 32 << 20;
	r.memory.has_reservation = true;
	r.memory.reservation = 16 << 20;
	r.memory.has_swap = true;
	r.memory.swap = 64 << 20;
	r.cpu.has_shares = true;
	r.cpu.shares = 1024;
	r.cpu.has_quota = true;
	r.cpu.quota = 50000;
	r.cpu.has_period = true;
	r.cpu.period = 100000;
	r.cpu.cpus = "0";
	r.cpu.mems = "0";
	r.pids.has_limit = true;
	r.pids.limit = 7;
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0) {
		r.hugepage_limits = &hp;
		r.n_hugepage_limits = 1;
	}
	r.unified = &uni;
	r.n_unified = 1;
	if (blk) {
		rbps = (struct oci_throttle_device){ maj, min, 1048576 };
		r.block_io.throttle_read_bps = &rbps;
		r.block_io.n_throttle_read_bps = 1;
	}
	cg = create(&r, 0);
	expect(cg, "memory.max", "33554432");
	expect(cg, "memory.low", "16777216");
	if (cg_exists(cg->unified, "memory.swap.max"))
		expect(cg, "memory.swap.max", "33554432");
	else
		print_message("note: no memory.swap.max (no swap accounting); not checked\n");
	expect(cg, "memory.high", "50331648");
	expect(cg, "cpu.weight", "39");
	expect(cg, "cpu.max", "50000 100000");
	expect(cg, "cpuset.cpus", "0");
	expect(cg, "pids.max", "7");
	if (r.n_hugepage_limits)
		expect(cg, "hugetlb.2MB.max", "8388608");
	else
		print_message("note: no 2MB huge pages; hugetlb not checked\n");
	if (blk) {
		char *want = xasprintf("%u:%u rbps=1048576", maj, min);
		expect(cg, "io.max", want);
		free(want);
	} else {
		print_message("note: no block device found; io.max not checked\n");
	}
	/* update: only the period changes, the quota stays. */
	{
		struct oci_resources u = { 0 };
		struct hull_err *err = NULL;
		u.cpu.has_period = true;
		u.cpu.period = 200000;
		u.memory.has_limit = true;
		u.memory.limit = 48 << 20;
		if (cgroups_update(cg, &u, &err) < 0)
			fail_msg("%s", err->msg);
		expect(cg, "cpu.max", "50000 200000");
		expect(cg, "memory.max", "50331648");
	}
	destroy_and_check(cg);
}

static void test_v2_unified_key_for_missing_file_fails_naming_the_key(void **state)
{
	static struct oci_kv uni = { "memory.nonexistent", "1" };
	struct oci_resources r = { 0 };
	struct cgroups_cfg cfg = { .id = "t", .cgroups_path = path_name, .resources = &r };
	struct cgroup *cg = NULL;
	struct hull_err *err = NULL;

	if (!need_v2())
		skip();
	r.unified = &uni;
	r.n_unified = 1;
	assert_true(cgroups_create(&cfg, 0, &cg, &err) < 0);
	assert_non_null(strstr(err->msg, "unified.\"memory.nonexistent\""));
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_live_pids_and_memory_limits_apply_and_cleanup),
		T(test_live_freeze_stops_progress_until_thawed),
		T(test_live_vm_split_freezes_the_payload_only),
		T(test_live_default_devices_allow_null_deny_kmsg),
		T(test_live_device_program_blocks_dev_full_when_not_allowed),
		T(test_live_linux_device_at_default_path_stays_denied_across_update),
		T(test_live_oom_kill_is_counted_and_signalled),
		T(test_live_kill_all_empties_the_cgroup),
		T(test_live_update_changes_pids_limit_and_state_round_trips),
		T(test_live_failed_create_leaves_nothing),
		T(test_v2_limits_land_in_their_files),
		T(test_v2_unified_key_for_missing_file_fails_naming_the_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
