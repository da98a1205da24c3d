/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rootfs phases for real: a forked child unshares a mount + pid (+ user)
 * namespace, runs ns_rootfs_mount, ns_rootfs_pivot, ns_rootfs_finalize and
 * ns_bind_console on a busybox rootfs under /tmp, then checks from inside
 * what a container would see.  The parent asserts the child's exit status,
 * that the hostile symlinks created nothing on the host and that the host's
 * mount table is unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "namespaces/internal.h"

#include <ftw.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

struct fixture {
	char base[64];
	char rootfs[128];
	char hostname_src[128];
	char vol[128];
	char *host_mountinfo;
};

/* ---- building the rootfs (parent side) ------------------------------------- */

static void put(const char *dir, const char *rel, const char *content)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, content, strlen(content)), 0);
	close(fd);
}

static void dirs(const char *dir, const char *const *rels)
{
	char p[512];

	for (; *rels; rels++) {
		snprintf(p, sizeof(p), "%s/%s", dir, *rels);
		assert_int_equal(mkdir(p, 0755), 0);
	}
}

static void copy_busybox(const char *rootfs)
{
	char *data = NULL;
	size_t len = 0;
	char p[512];
	int fd;

	assert_int_equal(read_file_at(AT_FDCWD, "/bin/busybox", &data, &len, 64u << 20, NULL), 0);
	snprintf(p, sizeof(p), "%s/bin/busybox", rootfs);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	close(fd);
	free(data);
	snprintf(p, sizeof(p), "%s/bin/sh", rootfs);
	assert_int_equal(symlink("busybox", p), 0);
}

static int setup(void **state)
{
	static const char *const base_dirs[] = { "rootfs", "vol", "hostside", NULL };
	static const char *const root_dirs[] = { "bin", "etc", "etc/secretdir", "etc/rodir", "tmp", "tmp/sub",
						 "tmp/sub/dir", "proc", "sys", "dev", "data", NULL };
	struct fixture *f = calloc(1, sizeof(*f));
	char p[512];

	if (access("/bin/busybox", X_OK) < 0) {
		fprintf(stderr, "skip: /bin/busybox (busybox-static) missing\n");
		free(f);
		return -1;
	}
	snprintf(f->base, sizeof(f->base), "/tmp/hull-ns-rootfs-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	dirs(f->base, base_dirs);
	snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->base);
	snprintf(f->hostname_src, sizeof(f->hostname_src), "%s/hostname", f->base);
	snprintf(f->vol, sizeof(f->vol), "%s/vol", f->base);
	dirs(f->rootfs, root_dirs);
	put(f->rootfs, "etc/secret", "secret\n");
	put(f->rootfs, "etc/secretdir/file", "hidden\n");
	put(f->rootfs, "etc/hostname", "image\n");
	put(f->rootfs, "tmp/seed", "seed\n");
	put(f->rootfs, "tmp/sub/dir/file", "deep\n");
	snprintf(p, sizeof(p), "%s/tmp/sub/link", f->rootfs);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/data", f->rootfs);
	assert_int_equal(chmod(p, 0710), 0);
	put(f->base, "hostname", "fromhost\n");
	put(f->base, "vol/data", "vol\n");
	/* Hostile image: an absolute link to a host directory and a "../" escape. */
	snprintf(p, sizeof(p), "%s/evil", f->rootfs);
	assert_int_equal(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/escape", f->rootfs);
	assert_int_equal(symlink("../hostside", p), 0);
	copy_busybox(f->rootfs);
	assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/mountinfo", &f->host_mountinfo, NULL, 0, NULL), 0);
	*state = f;
	return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->host_mountinfo);
	free(f);
	return 0;
}

/* ---- the spec ---------------------------------------------------------------- */

/* Option lists live as long as the test (file scope, not compound literals). */
static char *o_dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k" };
static char *o_pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620" };
static char *o_shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" };
static char *o_mq[] = { "nosuid", "noexec", "nodev" };
static char *o_sys[] = { "nosuid", "noexec", "nodev", "ro" };
static char *o_cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro" };
static char *o_tmp[] = { "tmpcopyup", "nosuid" };
static char *o_robind[] = { "rbind", "ro" };
static char *o_rro[] = { "rbind", "rro" };
#define OPTS(a) a, ARRAY_SIZE(a)
#define NOOPTS NULL, 0

/* What differs between the runs. */
struct variant {
	bool userns;                /* new user namespace: host device binds, sysfs/cgroup fallbacks */
	bool no_pivot;              /* MS_MOVE + chroot instead of pivot_root */
	const char *propagation;    /* linux.rootfsPropagation */
	bool idmap;                 /* an idmapped bind (needs init-userns privilege) */
};

struct spec_store {
	struct oci_spec spec;
	struct oci_mount mounts[16];
	struct oci_linux_device devices[3];
	struct oci_id_mapping map, idmap;
	char *masked[4], *ro[3];
};

static void add_mount(struct spec_store *s, const char *dest, const char *type, const char *src,
		      char **opts, size_t n)
{
	struct oci_mount *m = &s->mounts[s->spec.n_mounts++];
	*m = (struct oci_mount){ .destination = (char *)dest, .type = (char *)type, .source = (char *)src,
				 .options = opts, .n_options = n };
}

static void build_spec(struct spec_store *s, struct fixture *f, const struct variant *v)
{
	memset(s, 0, sizeof(*s));
	s->spec.mounts = s->mounts;
	s->spec.has_linux = true;
	s->spec.root_readonly = true;
	add_mount(s, "/proc", "proc", "proc", NOOPTS);
	add_mount(s, "/dev", "tmpfs", "tmpfs", OPTS(o_dev));
	add_mount(s, "/dev/pts", "devpts", "devpts", OPTS(o_pts));
	add_mount(s, "/dev/shm", "tmpfs", "shm", OPTS(o_shm));
	add_mount(s, "/dev/mqueue", "mqueue", "mqueue", OPTS(o_mq));
	add_mount(s, "/sys", "sysfs", "sysfs", OPTS(o_sys));
	add_mount(s, "/sys/fs/cgroup", "cgroup", "cgroup", OPTS(o_cg));
	add_mount(s, "/tmp", "tmpfs", "tmpfs", OPTS(o_tmp));
	add_mount(s, "/data", "tmpfs", "tmpfs", NOOPTS);
	add_mount(s, "/etc/hostname", "bind", f->hostname_src, OPTS(o_robind));
	add_mount(s, "/vol", NULL, f->vol, OPTS(o_rro));
	/* "/evil" -> "/etc": the mount must land in rootfs/etc, never the host's /etc. */
	add_mount(s, "/evil/hull-evil-mnt", "tmpfs", "tmpfs", NOOPTS);
	add_mount(s, "/escape/mnt", "tmpfs", "tmpfs", NOOPTS);

	s->devices[0] = (struct oci_linux_device){ .path = "/dev/fuse", .type = 'c', .major = 10, .minor = 229,
						   .has_file_mode = true, .file_mode = 0600,
						   .has_uid = true, .uid = 1000, .has_gid = true, .gid = 1000 };
	s->devices[1] = (struct oci_linux_device){ .path = "/dev/custom/fifo", .type = 'p',
						   .has_file_mode = true, .file_mode = 0640 };
	s->devices[2] = (struct oci_linux_device){ .path = "/evil/hull-evil-fifo", .type = 'p' };
	s->spec.linux_.devices = s->devices;
	s->spec.linux_.n_devices = 3;
	s->masked[0] = "/etc/secret";
	s->masked[1] = "/etc/secretdir";
	s->masked[2] = "/does/not/exist";
	s->masked[3] = "/proc/kcore";
	s->spec.linux_.masked_paths = s->masked;
	s->spec.linux_.n_masked_paths = 4;
	s->ro[0] = "/etc/rodir";
	s->ro[1] = "/proc/sys";
	s->ro[2] = "/nope";
	s->spec.linux_.readonly_paths = s->ro;
	s->spec.linux_.n_readonly_paths = 3;
	s->spec.linux_.rootfs_propagation = (char *)v->propagation;
	if (v->idmap) {
		/* on-disk uid/gid 0 shows as 1000 through the idmapped mount */
		s->idmap = (struct oci_id_mapping){ 0, 1000, 1 };
		add_mount(s, "/idmapped", "bind", f->vol, NOOPTS);
		s->mounts[s->spec.n_mounts - 1].uid_mappings = &s->idmap;
		s->mounts[s->spec.n_mounts - 1].gid_mappings = &s->idmap;
		s->mounts[s->spec.n_mounts - 1].n_uid_mappings = 1;
		s->mounts[s->spec.n_mounts - 1].n_gid_mappings = 1;
	}
	if (v->userns) {
		s->map = (struct oci_id_mapping){ 0, 0, 65536 };
		s->spec.linux_.uid_mappings = s->spec.linux_.gid_mappings = &s->map;
		s->spec.linux_.n_uid_mappings = s->spec.linux_.n_gid_mappings = 1;
	}
}

/* ---- inside the container (child side: no cmocka here) ----------------------- */

static int failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "container check failed: %s (line %d, errno %s)\n", #cond, __LINE__, \
			strerror(errno)); \
		failures++; \
	} \
} while (0)

static bool creat_fails_with(const char *path, int e)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == e;
}

static bool content_is(const char *path, const char *want)
{
	char *data = NULL;
	bool ok = read_file_at(AT_FDCWD, path, &data, NULL, 0, NULL) == 0 && strcmp(data, want) == 0;
	free(data);
	return ok;
}

static bool is_dev(const char *path, mode_t fmt, unsigned int maj, unsigned int min)
{
	struct stat st;
	return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == fmt && st.st_rdev == makedev(maj, min);
}

static bool link_is(const char *path, const char *target)
{
	char buf[256];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

static bool mounted_at(const char *mnt)
{
	char *info = NULL, *save = NULL;
	bool found = false;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL, 0, NULL) < 0)
		return false;
	for (char *line = strtok_r(info, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		char *f = line;
		for (int i = 0; i < 4 && f; i++) {
			f = strchr(f, ' ');
			f = f ? f + 1 : NULL;
		}
		found = f && strncmp(f, mnt, strlen(mnt)) == 0 && f[strlen(mnt)] == ' ';
	}
	free(info);
	return found;
}

static bool fs_readonly(const char *path)
{
	struct statvfs sv;
	return statvfs(path, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/* The optional fields of "/" in mountinfo: "shared:N" or none (private). */
static bool root_propagation_is(const char *tag)
{
	char *info = NULL, *save = NULL;
	bool ok = false;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &info, NULL, 0, NULL) < 0)
		return false;
	for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f = line, *sep = strstr(line, " - ");
		for (int i = 0; i < 4 && f; i++) {
			f = strchr(f, ' ');
			f = f ? f + 1 : NULL;
		}
		if (!f || strncmp(f, "/ ", 2) != 0 || !sep)
			continue;
		*sep = '\0';
		ok = tag ? strstr(f, tag) != NULL : strstr(f, "shared:") == NULL && strstr(f, "master:") == NULL;
	}
	free(info);
	return ok;
}

static void check_console(void)
{
	struct hull_err *err = NULL;
	struct stat a, b;
	char name[64];
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), slave;

	CHECK(master >= 0);
	if (master < 0)
		return;
	CHECK(unlockpt(master) == 0);
	CHECK(ptsname_r(master, name, sizeof(name)) == 0);
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(slave >= 0);
	CHECK(ns_bind_console(slave, &err) == 0);
	if (err)
		fprintf(stderr, "console: %s\n", err->msg);
	CHECK(stat("/dev/console", &a) == 0 && fstat(slave, &b) == 0 && a.st_rdev == b.st_rdev);
	close(slave);
	close(master);
}

static int run_busybox(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/busybox", "sh", "-c",
		      "test -c /dev/null && ! touch /x 2>/dev/null && grep -q ' /proc ' /proc/self/mountinfo", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void container_checks(const struct variant *v)
{

	struct stat st;
	char buf[8];
	int fd;

	CHECK(link_is("/proc/self", "1"));
	CHECK(mounted_at("/proc") && mounted_at("/dev") && mounted_at("/dev/pts") && mounted_at("/sys"));
	CHECK(mounted_at("/sys/fs/cgroup") && mounted_at("/tmp") && mounted_at("/dev/mqueue"));
	/* The hostile links resolved inside: "/evil" -> "/etc", "/escape" -> "/hostside". */
	CHECK(mounted_at("/etc/hull-evil-mnt") && mounted_at("/hostside/mnt"));
	/* maskedPaths */
	CHECK(content_is("/etc/secret", ""));
	CHECK(access("/etc/secretdir/file", F_OK) < 0 && errno == ENOENT);
	CHECK(creat_fails_with("/etc/secretdir/new", EROFS));
	/* Not every kernel has /proc/kcore; a missing masked path is skipped. */
	fd = open("/proc/kcore", O_RDONLY);
	CHECK(fd >= 0 ? read(fd, buf, sizeof(buf)) == 0 : errno == ENOENT);
	if (fd >= 0)
		close(fd);
	/* readonlyPaths and root.readonly */
	CHECK(creat_fails_with("/etc/rodir/new", EROFS));
	fd = open("/proc/sys/kernel/hostname", O_WRONLY);
	CHECK(fd < 0 && errno == EROFS);
	CHECK(creat_fails_with("/newfile", EROFS));
	CHECK(fs_readonly("/") && fs_readonly("/sys") && fs_readonly("/sys/fs/cgroup"));
	/* tmpfs with tmpcopyup stays writable and has the image's files */
	CHECK(content_is("/tmp/seed", "seed\n") && content_is("/tmp/sub/dir/file", "deep\n"));
	CHECK(link_is("/tmp/sub/link", "/etc/passwd"));
	/* A tmpfs keeps the mode of the directory it covers (runc). */
	CHECK(stat("/data", &st) == 0 && (st.st_mode & 07777) == 0710 && mounted_at("/data"));
	fd = open("/tmp/new", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	/* binds */
	CHECK(content_is("/etc/hostname", "fromhost\n"));
	CHECK(open("/etc/hostname", O_WRONLY) < 0 && errno == EROFS);
	CHECK(content_is("/vol/data", "vol\n") && fs_readonly("/vol"));
	/* devices */
	CHECK(is_dev("/dev/null", S_IFCHR, 1, 3) && is_dev("/dev/zero", S_IFCHR, 1, 5));
	CHECK(is_dev("/dev/full", S_IFCHR, 1, 7) && is_dev("/dev/urandom", S_IFCHR, 1, 9));
	CHECK(is_dev("/dev/tty", S_IFCHR, 5, 0) && is_dev("/dev/fuse", S_IFCHR, 10, 229));
	CHECK(stat("/dev/custom/fifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0640);
	if (!v->userns)
		CHECK(stat("/dev/fuse", &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_uid == 1000);
	CHECK(link_is("/dev/ptmx", "pts/ptmx") && link_is("/dev/fd", "/proc/self/fd"));
	CHECK(link_is("/dev/stdin", "/proc/self/fd/0") && link_is("/dev/stderr", "/proc/self/fd/2"));
	fd = open("/dev/null", O_WRONLY);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	if (fd >= 0)
		close(fd);
	if (v->idmap) {
		CHECK(stat("/idmapped/data", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000);
		CHECK(stat("/vol/data", &st) == 0 && st.st_uid == 0);
	}
	if (v->propagation)
		CHECK(root_propagation_is(strcmp(v->propagation, "rshared") == 0 ? "shared:" : NULL));
	check_console();
	CHECK(run_busybox() == 0);
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* pid 1 of the new pid namespace */
static int container_init(struct fixture *f, struct spec_store *s, const struct variant *v)
{
	struct ns_rootfs r = { .spec = &s->spec, .rootfs = f->rootfs, .in_userns = v->userns,
			       .no_pivot = v->no_pivot };
	struct hull_err *err = NULL;
	int fds_before = count_fds();

	if (ns_rootfs_mount(&r, &err) < 0 || ns_rootfs_pivot(&r, &err) < 0 || ns_rootfs_finalize(&r, &err) < 0) {
		fprintf(stderr, "rootfs: %s\n", err ? err->msg : "?");
		return 2;
	}
	/* No host fd (rootfs, mount or namespace fds) may survive the phases. */
	CHECK(count_fds() == fds_before);
	container_checks(v);
	return failures ? 1 : 0;
}

static int wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		return 3;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Child: (user namespace, maps written by the parent,) then mount + pid (+ipc) namespaces. */
static int container_main(struct fixture *f, struct spec_store *s, const struct variant *v, int ready_w,
			  int go_r)
{
	int flags = CLONE_NEWNS | CLONE_NEWPID | (v->userns ? CLONE_NEWIPC : 0);
	char c;
	pid_t pid;

	if (v->userns) {
		if (unshare(CLONE_NEWUSER) < 0)
			return 4;
		if (write(ready_w, "r", 1) != 1 || read(go_r, &c, 1) != 1 || c != 'g')
			return 5;
	}
	if (unshare(flags) < 0) {
		perror("unshare");
		return 6;
	}
	pid = fork();
	if (pid == 0)
		_exit(container_init(f, s, v));
	return pid < 0 ? 7 : wait_exit(pid);
}

static void run_container(struct fixture *f, const struct variant *v)
{
	struct spec_store s;
	int ready[2], go[2];
	pid_t pid;
	char *after = NULL, p[512];
	struct stat st;

	build_spec(&s, f, v);
	assert_int_equal(ns_validate_spec(&s.spec, NULL), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(container_main(f, &s, v, ready[1], go[0]));
	if (v->userns) {
		struct hull_err *err = NULL;
		char c;
		assert_int_equal(read(ready[0], &c, 1), 1);
		assert_int_equal(ns_write_id_maps(pid, &s.spec, &err), 0);
		assert_int_equal(write(go[1], "g", 1), 1);
	}
	assert_int_equal(wait_exit(pid), 0);
	close(ready[0]); close(ready[1]); close(go[0]); close(go[1]);

	/* The hostile links were followed inside the rootfs, never on the host. */
	snprintf(p, sizeof(p), "%s/etc/hull-evil-mnt", f->rootfs);
	assert_int_equal(stat(p, &st), 0);
	assert_int_not_equal(stat("/etc/hull-evil-mnt", &st), 0);
	snprintf(p, sizeof(p), "%s/etc/hull-evil-fifo", f->rootfs);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_not_equal(lstat("/etc/hull-evil-fifo", &st), 0);
	snprintf(p, sizeof(p), "%s/hostside/mnt", f->rootfs);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/hostside/mnt", f->base);
	assert_int_not_equal(stat(p, &st), 0);
	/* Nothing leaked onto the host's mount table. */
	assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/mountinfo", &after, NULL, 0, NULL), 0);
	assert_string_equal(after, f->host_mountinfo);
	free(after);
}

static void test_rootfs_phases_as_root(void **state)
{
	const struct variant v = { .idmap = true };
	run_container(*state, &v);
}

static void test_rootfs_phases_in_user_namespace(void **state)
{
	const struct variant v = { .userns = true };
	run_container(*state, &v);
}

static void test_rootfs_phases_no_pivot_rprivate(void **state)
{
	const struct variant v = { .no_pivot = true, .propagation = "rprivate" };
	run_container(*state, &v);
}

static void test_rootfs_phases_rshared_root(void **state)
{
	const struct variant v = { .propagation = "rshared" };
	run_container(*state, &v);
}

/* ns_rootfs_mount in a throwaway mount namespace; returns its error text. */
static char *mount_error(struct fixture *f, struct oci_mount *m)
{
	struct oci_spec spec = { .mounts = m, .n_mounts = 1, .has_linux = true };
	char buf[512] = "";
	int p[2];
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ns_rootfs r = { .spec = &spec, .rootfs = f->rootfs };
		struct hull_err *err = NULL;
		close(p[0]);
		if (unshare(CLONE_NEWNS) < 0)
			_exit(1);
		if (ns_rootfs_mount(&r, &err) == 0)
			_exit(2);
		if (write_all(p[1], err->msg, strlen(err->msg)) < 0)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_int_equal(wait_exit(pid), 0);
	buf[n > 0 ? n : 0] = '\0';
	return xstrdup(buf);
}

static void test_rootfs_mount_errors_name_mount_and_cause(void **state)
{
	struct fixture *f = *state;
	static char *o_bind[] = { "bind" };
	static char *o_size[] = { "size=banana" };
	char link[256];
	struct {
		struct oci_mount m;
		const char *want;
	} cases[] = {
		{ { .destination = "/data", .type = "bind", .source = "/nonexistent-hull" },
		  "mounts[0] /data: bind source /nonexistent-hull: No such file or directory" },
		{ { .destination = "/proc//sys/../self/attr", .source = "/etc/hostname", .options = o_bind,
		    .n_options = 1 },
		  "mounts[0] /proc//sys/../self/attr: only proc itself and a few files (/proc/cpuinfo, ...) may be "
		  "covered inside /proc: Operation not permitted" },
		{ { .destination = "/tmp", .type = "tmpfs", .source = "tmpfs", .options = o_size, .n_options = 1 },
		  "mounts[0] /tmp: mount tmpfs: tmpfs: Bad value for 'size': Invalid argument" },
		{ { .destination = "/proclink", .type = "proc", .source = "proc" },
		  "mounts[0] /proclink: proc must be mounted on an ordinary directory (/proclink is a symlink)" },
		{ { .destination = "/syslink", .type = "sysfs", .source = "sysfs" },
		  "mounts[0] /syslink: sysfs must be mounted on an ordinary directory (/syslink is a symlink)" },
	};

	snprintf(link, sizeof(link), "%s/proclink", f->rootfs);
	assert_int_equal(symlink("/etc", link), 0);
	snprintf(link, sizeof(link), "%s/syslink", f->rootfs);
	assert_int_equal(symlink("/etc", link), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *msg = mount_error(f, &cases[i].m);
		assert_string_equal(msg, cases[i].want);
		free(msg);
	}
	{
		char *after = NULL;
		assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/mountinfo", &after, NULL, 0, NULL), 0);
		assert_string_equal(after, f->host_mountinfo);
		free(after);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rootfs_phases_as_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_phases_in_user_namespace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_phases_no_pivot_rprivate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_phases_rshared_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_mount_errors_name_mount_and_cause, setup, teardown),
	};
	if (geteuid() != 0) {
		fprintf(stderr, "skip: test_rootfs needs root (mount namespaces, mknod)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
