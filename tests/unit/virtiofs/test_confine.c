/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The file server process's confinement (vfs_confine_process) in a forked
 * child: its root is the served tmpfs (no host path reachable), only kept
 * fds survive, and every FUSE op runs under the seccomp allowlist (a
 * missing syscall kills the child with SIGSYS and fails the test).  Then
 * the parent checks the host side: the writes landed in the shared
 * directory, the read-only mount stayed unwritten, and no mount leaked
 * into the parent's namespace.  Needs root (mount namespace, pivot_root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "virtiofs/virtiofs.h"

#include <dirent.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

/* ---- --mount parsing ---------------------------------------------------------- */

static void test_mount_parse(void **state)
{
	(void)state;
	struct vfs_mount m;
	struct hull_err *err = NULL;
	char *buf = NULL;

	assert_int_equal(vfs_mount_parse("data=/srv/data", &m, &buf, &err), 0);
	assert_string_equal(m.name, "data");
	assert_string_equal(m.source, "/srv/data");
	assert_false(m.readonly);
	free(buf);
	assert_int_equal(vfs_mount_parse("cfg=/etc/x.conf,ro", &m, &buf, &err), 0);
	assert_string_equal(m.source, "/etc/x.conf");
	assert_true(m.readonly);
	free(buf);
	assert_int_equal(vfs_mount_parse("a=/with,comma,rw", &m, &buf, &err), 0);
	assert_string_equal(m.source, "/with,comma");
	assert_false(m.readonly);
	free(buf);
	const char *bad[] = { "noequals", "=/x", "rootfs=/x", "../x=/y", "a/b=/y", ".=/y", "x=relative", "x=" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		buf = NULL;
		assert_true(vfs_mount_parse(bad[i], &m, &buf, &err) < 0);
		assert_non_null(err);
		assert_true(strstr(err->msg, "NAME") || strstr(err->msg, "SRC"));
		hull_err_free(&err);
		assert_null(buf);
	}
}

/* ---- the confined child ------------------------------------------------------------- */

static struct vfs_server *srv;
static uint64_t uniq;
static uint8_t body[1 << 16];

#define CHECK(c) do { if (!(c)) fail_at(__LINE__, #c); } while (0)

static void fail_at(int line, const char *what)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "confined child: line %d: %s (errno %d)\n", line, what, errno);
	if (write(2, msg, (size_t)n) < 0)
		_exit(3);
	_exit(2);
}

/* One request: up to three arg parts after the header; -errno or 0, *n the body. */
static int call(uint32_t op, uint64_t node, const void *a, size_t al, const void *b, size_t bl, const void *c,
		size_t cl, size_t *n)
{
	struct fuse_in_header h = { .opcode = op, .unique = ++uniq, .nodeid = node };
	struct fuse_out_header oh = { 0 };
	struct iovec in[4] = { { &h, sizeof(h) }, { (void *)a, al }, { (void *)b, bl }, { (void *)c, cl } };
	struct iovec out[2] = { { &oh, sizeof(oh) }, { body, sizeof(body) } };

	h.len = (uint32_t)(sizeof(h) + al + bl + cl);
	ssize_t r = vfs_handle(srv, in, 4, out, 2);
	if (op == FUSE_FORGET)
		return 0;
	CHECK(r >= (ssize_t)sizeof(oh) && oh.len == (uint32_t)r && oh.unique == h.unique);
	if (n)
		*n = (size_t)r - sizeof(oh);
	return oh.error;
}

#define S(x) x, strlen(x) + 1

static uint64_t lookup(uint64_t parent, const char *name)
{
	if (call(FUSE_LOOKUP, parent, S(name), NULL, 0, NULL, 0, NULL) != 0)
		return 0;
	return ((struct fuse_entry_out *)(void *)body)->nodeid;
}

static void child(const char *shared, const char *ro, const char *file, int keep, int many_count)
{
	struct vfs_mount mounts[] = { { "ro", ro, true }, { "cfg", file, false } };
	int keep_fds[] = { 2, keep };
	struct vfs_confine_opts o = { .shared_dir = shared, .mounts = mounts, .nmounts = 2, .keep_fds = keep_fds,
				      .nkeep = 2 };
	struct hull_err *err = NULL;
	int root = -1;
	int spare = open("/dev/null", O_RDONLY);   /* not kept: must be gone */

	CHECK(spare >= 0);
	/* The usual soft limit: the server must not be bound by it. */
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = 1024;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (vfs_confine_process(&o, &root, &err) < 0) {
		dprintf(2, "confine: %s\n", err->msg);
		_exit(4);
	}
	/* Only stderr, the kept fd and the root fd are open. */
	struct stat st;
	CHECK(fstat(keep, &st) == 0);
	CHECK(fstat(spare, &st) < 0 && errno == EBADF);
	CHECK(fstat(0, &st) < 0 && errno == EBADF);
	/* The host's tree is gone: absolute paths end in the tmpfs. */
	CHECK(open("/etc/passwd", O_RDONLY) < 0 && errno == ENOENT);
	CHECK(open(shared, O_RDONLY) < 0 && errno == ENOENT);
	CHECK(mkdirat(AT_FDCWD, "/escape", 0755) < 0 && errno == EROFS);
	CHECK(vfs_server_new(root, &srv, &err) == 0);

	struct fuse_init_in init = { .major = 7, .minor = 38 };
	CHECK(call(FUSE_INIT, 0, &init, sizeof(init), NULL, 0, NULL, 0, NULL) == 0);
	/* The served root: rootfs, ro, cfg; nothing else (no proc). */
	uint64_t dh, fh;
	size_t n;
	struct fuse_open_in oi = { .flags = O_RDONLY };
	CHECK(call(FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof(oi), NULL, 0, NULL, 0, NULL) == 0);
	dh = ((struct fuse_open_out *)(void *)body)->fh;
	struct fuse_read_in ri = { .fh = dh, .size = 4096 };
	CHECK(call(FUSE_READDIRPLUS, FUSE_ROOT_ID, &ri, sizeof(ri), NULL, 0, NULL, 0, &n) == 0);
	int names = 0;
	for (size_t pos = 0; pos < n;) {
		struct fuse_direntplus *d = (void *)(body + pos);
		char nm[256] = { 0 };
		memcpy(nm, d->dirent.name, d->dirent.namelen);
		CHECK(!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, "rootfs") || !strcmp(nm, "ro") ||
		      !strcmp(nm, "cfg"));
		names++;
		pos += FUSE_DIRENTPLUS_SIZE(d);
	}
	CHECK(names == 5);
	struct fuse_release_in rel = { .fh = dh };
	CHECK(call(FUSE_RELEASEDIR, FUSE_ROOT_ID, &rel, sizeof(rel), NULL, 0, NULL, 0, NULL) == 0);
	CHECK(lookup(FUSE_ROOT_ID, "proc") == 0);
	struct fuse_mkdir_in mk = { .mode = 0755 };
	CHECK(call(FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), S("x"), NULL, 0, NULL) == -EROFS);

	uint64_t rootfs = lookup(FUSE_ROOT_ID, "rootfs");
	CHECK(rootfs != 0);
	/* Every op, under the filter. */
	struct fuse_create_in ci = { .flags = O_RDWR, .mode = 0644 };
	CHECK(call(FUSE_CREATE, rootfs, &ci, sizeof(ci), S("new"), NULL, 0, NULL) == 0);
	uint64_t nn = ((struct fuse_entry_out *)(void *)body)->nodeid;
	fh = ((struct fuse_open_out *)(void *)(body + sizeof(struct fuse_entry_out)))->fh;
	struct fuse_write_in wi = { .fh = fh, .size = 4 };
	CHECK(call(FUSE_WRITE, nn, &wi, sizeof(wi), "data", 4, NULL, 0, NULL) == 0);
	struct fuse_read_in rd = { .fh = fh, .size = 100 };
	CHECK(call(FUSE_READ, nn, &rd, sizeof(rd), NULL, 0, NULL, 0, &n) == 0 && n == 4);
	struct fuse_fsync_in fs = { .fh = fh };
	CHECK(call(FUSE_FSYNC, nn, &fs, sizeof(fs), NULL, 0, NULL, 0, NULL) == 0);
	struct fuse_fallocate_in fa = { .fh = fh, .offset = 0, .length = 8192, .mode = 1 /* KEEP_SIZE */ };
	CHECK(call(FUSE_FALLOCATE, nn, &fa, sizeof(fa), NULL, 0, NULL, 0, NULL) == 0);
	struct fuse_lseek_in ls = { .fh = fh, .whence = SEEK_DATA };
	CHECK(call(FUSE_LSEEK, nn, &ls, sizeof(ls), NULL, 0, NULL, 0, NULL) == 0);
	struct fuse_flush_in fl = { .fh = fh };
	CHECK(call(FUSE_FLUSH, nn, &fl, sizeof(fl), NULL, 0, NULL, 0, NULL) == 0);
	struct fuse_setattr_in sa = { .valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_ATIME_NOW | FATTR_MTIME |
						FATTR_SIZE,
				      .mode = 0600, .uid = 1000, .gid = 1000, .mtime = 1234, .size = 4 };
	CHECK(call(FUSE_SETATTR, nn, &sa, sizeof(sa), NULL, 0, NULL, 0, NULL) == 0);
	rel.fh = fh;
	CHECK(call(FUSE_RELEASE, nn, &rel, sizeof(rel), NULL, 0, NULL, 0, NULL) == 0);
	struct fuse_getattr_in ga = { 0 };
	CHECK(call(FUSE_GETATTR, nn, &ga, sizeof(ga), NULL, 0, NULL, 0, NULL) == 0);
	struct fuse_setxattr_in sx = { .size = 1 };
	int xr = call(FUSE_SETXATTR, nn, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE, S("user.k"), "v", 1, NULL);
	CHECK(xr == 0 || xr == -EOPNOTSUPP);
	struct fuse_getxattr_in gx = { .size = 100 };
	CHECK(call(FUSE_LISTXATTR, nn, &gx, sizeof(gx), NULL, 0, NULL, 0, NULL) == 0);
	call(FUSE_GETXATTR, nn, &gx, sizeof(gx), S("user.k"), NULL, 0, NULL);
	call(FUSE_REMOVEXATTR, nn, S("user.k"), NULL, 0, NULL, 0, NULL);
	CHECK(call(FUSE_MKDIR, rootfs, &mk, sizeof(mk), S("dir"), NULL, 0, NULL) == 0);
	CHECK(call(FUSE_SYMLINK, rootfs, S("ln"), S("/etc/passwd"), NULL, 0, NULL) == 0);
	uint64_t ln = ((struct fuse_entry_out *)(void *)body)->nodeid;
	CHECK(call(FUSE_READLINK, ln, NULL, 0, NULL, 0, NULL, 0, &n) == 0 && n == 11);
	struct fuse_link_in li = { .oldnodeid = nn };
	CHECK(call(FUSE_LINK, rootfs, &li, sizeof(li), S("hard"), NULL, 0, NULL) == 0);
	struct fuse_rename2_in rn = { .newdir = rootfs, .flags = RENAME_NOREPLACE };
	CHECK(call(FUSE_RENAME2, rootfs, &rn, sizeof(rn), S("hard"), S("hard2"), NULL) == 0);
	CHECK(call(FUSE_UNLINK, rootfs, S("hard2"), NULL, 0, NULL, 0, NULL) == 0);
	struct fuse_mknod_in mn = { .mode = S_IFCHR, .rdev = 0 };
	CHECK(call(FUSE_MKNOD, rootfs, &mn, sizeof(mn), S("whiteout"), NULL, 0, NULL) == 0);
	mn.mode = S_IFIFO | 0600;
	CHECK(call(FUSE_MKNOD, rootfs, &mn, sizeof(mn), S("fifo"), NULL, 0, NULL) == 0);
	CHECK(call(FUSE_STATFS, rootfs, NULL, 0, NULL, 0, NULL, 0, NULL) == 0);
	CHECK(call(FUSE_SYNCFS, rootfs, NULL, 0, NULL, 0, NULL, 0, NULL) == 0);
	/* A device node made on the host is never opened (and the bind is nodev). */
	uint64_t dev = lookup(rootfs, "hostnull");
	CHECK(dev != 0);
	CHECK(call(FUSE_OPEN, dev, &oi, sizeof(oi), NULL, 0, NULL, 0, NULL) == -EINVAL);
	/* The read-only mount and the file mount. */
	uint64_t rod = lookup(FUSE_ROOT_ID, "ro");
	CHECK(rod != 0);
	CHECK(call(FUSE_CREATE, rod, &ci, sizeof(ci), S("no"), NULL, 0, NULL) == -EROFS);
	uint64_t inside = lookup(rod, "inside");
	CHECK(inside != 0);
	/* Every way of changing it stops at the read-only bind. */
	struct fuse_setattr_in rs = { .valid = FATTR_MODE, .mode = 0777 };
	CHECK(call(FUSE_SETATTR, inside, &rs, sizeof(rs), NULL, 0, NULL, 0, NULL) == -EROFS);
	rs.valid = FATTR_UID;
	CHECK(call(FUSE_SETATTR, inside, &rs, sizeof(rs), NULL, 0, NULL, 0, NULL) == -EROFS);
	rs.valid = FATTR_SIZE;
	CHECK(call(FUSE_SETATTR, inside, &rs, sizeof(rs), NULL, 0, NULL, 0, NULL) == -EROFS);
	struct fuse_open_in wo = { .flags = O_WRONLY };
	CHECK(call(FUSE_OPEN, inside, &wo, sizeof(wo), NULL, 0, NULL, 0, NULL) == -EROFS);
	CHECK(call(FUSE_UNLINK, rod, S("inside"), NULL, 0, NULL, 0, NULL) == -EROFS);
	struct fuse_link_in xl = { .oldnodeid = inside };
	CHECK(call(FUSE_LINK, rootfs, &xl, sizeof(xl), S("crossed"), NULL, 0, NULL) == -EXDEV);
	struct fuse_rename_in xr2 = { .newdir = rootfs };
	CHECK(call(FUSE_RENAME, rod, &xr2, sizeof(xr2), S("inside"), S("moved"), NULL) == -EXDEV);
	uint64_t cfg = lookup(FUSE_ROOT_ID, "cfg");
	CHECK(cfg != 0);
	CHECK(call(FUSE_OPEN, cfg, &oi, sizeof(oi), NULL, 0, NULL, 0, NULL) == 0);
	rd.fh = ((struct fuse_open_out *)(void *)body)->fh;
	CHECK(call(FUSE_READ, cfg, &rd, sizeof(rd), NULL, 0, NULL, 0, &n) == 0 && n == 4 && !memcmp(body, "conf", 4));
	/* A guest holding more inodes than 1024 fds. */
	uint64_t many = lookup(rootfs, "many");
	CHECK(many != 0);
	for (int i = 0; i < many_count; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "f%d", i);
		CHECK(lookup(many, nm) != 0);
	}
	struct fuse_forget_in fo = { .nlookup = 1 };
	call(FUSE_FORGET, cfg, &fo, sizeof(fo), NULL, 0, NULL, 0, NULL);
	CHECK(call(FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL, 0, NULL) == 0);
	vfs_server_free(srv);
	_exit(0);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static void put(const char *path, const char *data)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static bool mounted_below(const char *dir)
{
	char *buf = NULL;
	size_t len;
	bool found;

	assert_int_equal(read_file_at(AT_FDCWD, "/proc/self/mountinfo", &buf, &len, 0, NULL), 0);
	found = strstr(buf, dir) != NULL;
	free(buf);
	return found;
}

static void test_confined_server_serves_only_its_tree(void **state)
{
	(void)state;
	char base[64] = "/tmp/hull-vfs-confine-XXXXXX";
	char shared[128], ro[128], file[128], p[192];
	struct stat st;

	if (geteuid() != 0) {
		print_message("skip: needs root (mount namespace, pivot_root)\n");
		skip();
	}
	assert_non_null(mkdtemp(base));
	snprintf(shared, sizeof(shared), "%s/shared", base);
	snprintf(ro, sizeof(ro), "%s/ro", base);
	snprintf(file, sizeof(file), "%s/app.conf", base);
	assert_int_equal(mkdir(shared, 0755), 0);
	assert_int_equal(mkdir(ro, 0755), 0);
	snprintf(p, sizeof(p), "%s/inside", ro);
	put(p, "x");
	put(file, "conf");
	snprintf(p, sizeof(p), "%s/hostnull", shared);
	assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
	/* 3000 held lookups need the server to raise its fd limit past 1024:
	 * as root it can (fs.nr_open); a hard limit this process cannot
	 * raise either (no CAP_SYS_RESOURCE) makes that part moot. */
	struct rlimit rl, want = { 4096, 4096 };
	int many_count = 3000;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < want.rlim_max && setrlimit(RLIMIT_NOFILE, &want) < 0) {
		print_message("RLIMIT_NOFILE hard %lu cannot be raised here: 900 lookups, not 3000\n",
			      (unsigned long)rl.rlim_max);
		many_count = 900;
	}
	snprintf(p, sizeof(p), "%s/many", shared);
	assert_int_equal(mkdir(p, 0755), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(p, sizeof(p), "%s/many/f%d", shared, i);
		put(p, "");
	}
	int keep = open("/dev/null", O_RDONLY);
	assert_true(keep >= 0);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(shared, ro, file, keep, many_count);
	close(keep);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		print_message("confined child killed by signal %d (SIGSYS: a syscall not in the allowlist)\n",
			      WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The host side: writes landed, owner and mode as asked, ro untouched. */
	char buf[16] = { 0 };
	snprintf(p, sizeof(p), "%s/new", shared);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_mode & 07777, 0600);
	int fd = open(p, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	assert_string_equal(buf, "data");
	snprintf(p, sizeof(p), "%s/dir", shared);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(p, sizeof(p), "%s/whiteout", shared);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
	snprintf(p, sizeof(p), "%s/no", ro);
	assert_int_equal(lstat(p, &st), -1);
	/* Nothing of the child's mounts is in ours. */
	assert_false(mounted_below(base));
	nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_parse),
		cmocka_unit_test(test_confined_server_serves_only_its_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
