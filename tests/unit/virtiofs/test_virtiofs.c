/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FUSE server against a temp directory, driven by requests built in
 * buffers as the guest's virtio-fs driver lays them out: round trips of
 * every op, then a hostile guest (forged node ids and handles, "..", "/",
 * symlinks to the host's /etc/passwd, wrong lengths, unterminated names,
 * huge sizes, unknown opcodes, a directory renamed under a held node).
 * base/r is the served root; base/outside stands for the rest of the host.
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
#include <sys/xattr.h>

struct fx {
	char base[64];
	char root[96];
	struct vfs_server *s;
	uint64_t unique;
	uint32_t uid, gid;   /* the caller the requests claim */
};

#define BODY_MAX (1u << 20)
static uint8_t body[BODY_MAX + 4096];
#define NAME(str) ((struct iovec){ (void *)(str), strlen(str) + 1 })
#define ARG(x) ((struct iovec){ (void *)&(x), sizeof(x) })

static void hostpath(const struct fx *f, const char *rel, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", f->root, rel);
}

static void put_file(const char *path, const char *data)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

/* Send one request (header + parts); returns the reply's error (0 or
 * -errno) and the body length.  Checks what every reply must be. */
static int send_req(struct fx *f, uint32_t op, uint64_t node, const struct iovec *parts, int nparts, size_t cap,
		    size_t *blen)
{
	struct fuse_in_header h = { .opcode = op, .unique = ++f->unique, .nodeid = node, .uid = f->uid,
				    .gid = f->gid, .pid = 1 };
	struct iovec in[16];
	struct fuse_out_header oh = { 0 };
	struct iovec out[2] = { { &oh, sizeof(oh) }, { body, cap } };
	size_t total = sizeof(h);

	assert_true(nparts < 16);
	in[0] = (struct iovec){ &h, sizeof(h) };
	for (int i = 0; i < nparts; i++) {
		in[i + 1] = parts[i];
		total += parts[i].iov_len;
	}
	h.len = (uint32_t)total;
	ssize_t n = vfs_handle(f->s, in, nparts + 1, out, cap ? 2 : 1);
	if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET) {
		assert_int_equal(n, 0);
		return 0;
	}
	assert_true(n >= (ssize_t)sizeof(oh));
	assert_int_equal(oh.len, (uint32_t)n);
	assert_int_equal(oh.unique, h.unique);
	assert_true(oh.error <= 0);
	if (oh.error)
		assert_int_equal(n, (ssize_t)sizeof(oh));
	if (blen)
		*blen = (size_t)n - sizeof(oh);
	return oh.error;
}

static int req(struct fx *f, uint32_t op, uint64_t node, const struct iovec *parts, int nparts)
{
	return send_req(f, op, node, parts, nparts, BODY_MAX, NULL);
}

static int do_init(struct fx *f, uint32_t minor)
{
	struct fuse_init_in in = { .major = 7, .minor = minor, .max_readahead = 65536,
				   .flags = 0xffffffffu };
	struct iovec p[] = { ARG(in) };
	return req(f, FUSE_INIT, 0, p, 1);
}

static int lookup(struct fx *f, uint64_t parent, const char *name, struct fuse_entry_out *e)
{
	struct iovec p[] = { NAME(name) };
	int rc = req(f, FUSE_LOOKUP, parent, p, 1);
	if (rc == 0 && e)
		memcpy(e, body, sizeof(*e));
	return rc;
}

static uint64_t must_lookup(struct fx *f, uint64_t parent, const char *name)
{
	struct fuse_entry_out e;
	assert_int_equal(lookup(f, parent, name, &e), 0);
	assert_true(e.nodeid != 0);
	return e.nodeid;
}

static int mkdir_(struct fx *f, uint64_t parent, const char *name, uint32_t mode, struct fuse_entry_out *e)
{
	struct fuse_mkdir_in in = { .mode = mode };
	struct iovec p[] = { ARG(in), NAME(name) };
	int rc = req(f, FUSE_MKDIR, parent, p, 2);
	if (rc == 0 && e)
		memcpy(e, body, sizeof(*e));
	return rc;
}

static int create_(struct fx *f, uint64_t parent, const char *name, uint32_t flags, uint32_t mode, uint64_t *node,
		   uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags, .mode = S_IFREG | mode };
	struct iovec p[] = { ARG(in), NAME(name) };
	int rc = req(f, FUSE_CREATE, parent, p, 2);
	if (rc == 0) {
		struct fuse_entry_out e;
		struct fuse_open_out o;
		memcpy(&e, body, sizeof(e));
		memcpy(&o, body + sizeof(e), sizeof(o));
		if (node)
			*node = e.nodeid;
		if (fh)
			*fh = o.fh;
	}
	return rc;
}

static int open_(struct fx *f, uint64_t node, uint32_t flags, uint64_t *fh, uint32_t op)
{
	*fh = 0;
	struct fuse_open_in in = { .flags = flags };
	struct iovec p[] = { ARG(in) };
	int rc = req(f, op, node, p, 1);
	if (rc == 0)
		*fh = ((struct fuse_open_out *)(void *)body)->fh;
	return rc;
}

static int write_(struct fx *f, uint64_t node, uint64_t fh, uint64_t off, const void *data, size_t len)
{
	struct fuse_write_in in = { .fh = fh, .offset = off, .size = (uint32_t)len };
	struct iovec p[] = { ARG(in), { (void *)data, len } };
	int rc = req(f, FUSE_WRITE, node, p, 2);
	return rc ? rc : (int)((struct fuse_write_out *)(void *)body)->size;
}

/* READ into `body`; returns the byte count or -errno. */
static int read_(struct fx *f, uint64_t node, uint64_t fh, uint64_t off, uint32_t size, size_t cap)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec p[] = { ARG(in) };
	size_t n;
	int rc = send_req(f, FUSE_READ, node, p, 1, cap, &n);
	return rc ? rc : (int)n;
}

static int release_(struct fx *f, uint64_t node, uint64_t fh, uint32_t op)
{
	struct fuse_release_in in = { .fh = fh };
	struct iovec p[] = { ARG(in) };
	return req(f, op, node, p, 1);
}

static int getattr_(struct fx *f, uint64_t node, struct fuse_attr *a)
{
	struct fuse_getattr_in in = { 0 };
	struct iovec p[] = { ARG(in) };
	int rc = req(f, FUSE_GETATTR, node, p, 1);
	if (rc == 0 && a)
		memcpy(a, &((struct fuse_attr_out *)(void *)body)->attr, sizeof(*a));
	return rc;
}

static void forget_(struct fx *f, uint64_t node, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };
	struct iovec p[] = { ARG(in) };
	req(f, FUSE_FORGET, node, p, 1);
}

/* READDIR(PLUS) the whole directory: names joined by ',' in host order,
 * sorted by the caller's expectations. */
static void list_dir(struct fx *f, uint64_t node, bool plus, char *names, size_t n)
{
	uint64_t fh = 0, off = 0;

	names[0] = '\0';
	assert_int_equal(open_(f, node, O_RDONLY, &fh, FUSE_OPENDIR), 0);
	for (;;) {
		struct fuse_read_in in = { .fh = fh, .offset = off, .size = 4096 };
		struct iovec p[] = { ARG(in) };
		size_t len;
		assert_int_equal(send_req(f, plus ? FUSE_READDIRPLUS : FUSE_READDIR, node, p, 1, BODY_MAX, &len), 0);
		if (len == 0)
			break;
		for (size_t pos = 0; pos < len;) {
			struct fuse_dirent *d;
			size_t rec;
			if (plus) {
				struct fuse_direntplus *dp = (void *)(body + pos);
				d = &dp->dirent;
				rec = FUSE_DIRENTPLUS_SIZE(dp);
				bool dots = (d->namelen == 1 && d->name[0] == '.') ||
					    (d->namelen == 2 && memcmp(d->name, "..", 2) == 0);
				/* A plus entry comes looked up (or 0 for the dots). */
				assert_true(dots ? dp->entry_out.nodeid == 0 : dp->entry_out.nodeid != 0);
				if (!dots)
					assert_int_equal(dp->entry_out.attr.ino, d->ino);
			} else {
				d = (void *)(body + pos);
				rec = FUSE_DIRENT_SIZE(d);
			}
			assert_true(pos + rec <= len);
			strncat(names, d->name, d->namelen);
			strcat(names, ",");
			off = d->off;
			pos += rec;
		}
		assert_true(strlen(names) < n);
	}
	assert_int_equal(release_(f, node, fh, FUSE_RELEASEDIR), 0);
}

static bool listed(const char *names, const char *name)
{
	char key[300];
	size_t l = strlen(name);

	snprintf(key, sizeof(key), ",%s,", name);
	if (strncmp(names, key + 1, l + 1) == 0)
		return true;
	return strstr(names, key) != NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[256];

	umask(0);   /* as `hull virtiofsd`: the guest's kernel applied its umask */
	snprintf(f->base, sizeof(f->base), "/tmp/hull-vfs-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->root, sizeof(f->root), "%s/r", f->base);
	assert_int_equal(mkdir(f->root, 0755), 0);
	snprintf(p, sizeof(p), "%s/outside", f->base);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/outside/marker", f->base);
	put_file(p, "HOST SECRET\n");
	hostpath(f, "hello", p, sizeof(p));
	put_file(p, "hello world\n");
	int fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct hull_err *err = NULL;
	assert_int_equal(vfs_server_new(fd, &f->s, &err), 0);
	assert_int_equal(do_init(f, 38), 0);
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
	struct fx *f = *state;

	vfs_server_free(f->s);
	nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- round trips -------------------------------------------------------------- */

static void test_init_reply_and_versions(void **state)
{
	struct fx *f = *state;
	struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 131072, .flags = 0xffffffffu };
	struct iovec p[] = { ARG(in) };
	size_t n;

	assert_int_equal(send_req(f, FUSE_INIT, 0, p, 1, BODY_MAX, &n), 0);
	assert_int_equal(n, sizeof(struct fuse_init_out));
	struct fuse_init_out *o = (void *)body;
	assert_int_equal(o->major, 7);
	assert_true(o->minor >= 31);
	assert_int_equal(o->max_readahead, 131072);
	assert_true(o->max_write >= 4096);
	/* Never offered: locks, writeback cache, DAX, export. */
	assert_int_equal(o->flags & (FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS | FUSE_WRITEBACK_CACHE |
				     FUSE_EXPORT_SUPPORT | FUSE_MAP_ALIGNMENT), 0);
	assert_true(o->flags & FUSE_DO_READDIRPLUS);
	/* Too old a guest, and major 6. */
	in.minor = 30;
	assert_int_equal(req(f, FUSE_INIT, 0, p, 1), -EPROTO);
	in.major = 6;
	in.minor = 38;
	assert_int_equal(req(f, FUSE_INIT, 0, p, 1), -EPROTO);
	/* A newer major is told ours alone. */
	in.major = 8;
	assert_int_equal(send_req(f, FUSE_INIT, 0, p, 1, BODY_MAX, &n), 0);
	assert_int_equal(((struct fuse_init_out *)(void *)body)->major, 7);
}

static void test_requests_before_init_are_eio(void **state)
{
	struct fx *f = *state;

	assert_int_equal(req(f, FUSE_DESTROY, 0, NULL, 0), 0);
	assert_int_equal(lookup(f, FUSE_ROOT_ID, "hello", NULL), -EIO);
	assert_int_equal(getattr_(f, FUSE_ROOT_ID, NULL), -EIO);
	assert_int_equal(do_init(f, 31), 0);
	assert_int_equal(lookup(f, FUSE_ROOT_ID, "hello", NULL), 0);
}

static void test_lookup_getattr(void **state)
{
	struct fx *f = *state;
	struct fuse_entry_out e, e2;
	struct fuse_attr a;
	struct stat st;
	char p[256];

	assert_int_equal(lookup(f, FUSE_ROOT_ID, "hello", &e), 0);
	hostpath(f, "hello", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(e.attr.ino, st.st_ino);
	assert_int_equal(e.attr.size, 12);
	assert_true(S_ISREG(e.attr.mode));
	assert_true(e.nodeid != FUSE_ROOT_ID);
	/* The same inode twice: the same node. */
	assert_int_equal(lookup(f, FUSE_ROOT_ID, "hello", &e2), 0);
	assert_int_equal(e2.nodeid, e.nodeid);
	assert_int_equal(getattr_(f, e.nodeid, &a), 0);
	assert_int_equal(a.ino, st.st_ino);
	assert_int_equal(getattr_(f, FUSE_ROOT_ID, &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(lookup(f, FUSE_ROOT_ID, "missing", NULL), -ENOENT);
}

static void test_create_write_read(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh, fh2;
	char p[256], buf[64] = { 0 };

	assert_int_equal(create_(f, FUSE_ROOT_ID, "new", O_WRONLY | O_CREAT, 0640, &node, &fh), 0);
	assert_int_equal(write_(f, node, fh, 0, "abcdef", 6), 6);
	assert_int_equal(write_(f, node, fh, 6, "XYZ", 3), 3);
	assert_int_equal(release_(f, node, fh, FUSE_RELEASE), 0);
	hostpath(f, "new", p, sizeof(p));
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 9);
	close(fd);
	assert_string_equal(buf, "abcdefXYZ");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	assert_int_equal(open_(f, node, O_RDONLY, &fh2, FUSE_OPEN), 0);
	assert_int_equal(read_(f, node, fh2, 2, 100, BODY_MAX), 7);
	assert_memory_equal(body, "cdefXYZ", 7);
	assert_int_equal(read_(f, node, fh2, 100, 100, BODY_MAX), 0);
	/* A read-only handle does not write. */
	assert_int_equal(write_(f, node, fh2, 0, "no", 2), -EBADF);
	assert_int_equal(release_(f, node, fh2, FUSE_RELEASE), 0);
	/* O_EXCL on an existing name. */
	assert_int_equal(create_(f, FUSE_ROOT_ID, "new", O_WRONLY | O_CREAT | O_EXCL, 0600, NULL, NULL), -EEXIST);
	/* O_TRUNC through OPEN. */
	assert_int_equal(open_(f, node, O_WRONLY | O_TRUNC, &fh2, FUSE_OPEN), 0);
	assert_int_equal(release_(f, node, fh2, FUSE_RELEASE), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_create_owner_is_caller(void **state)
{
	struct fx *f = *state;
	struct fuse_entry_out e;
	struct stat st;
	char p[256];
	uint64_t node, fh;

	f->uid = 1234;
	f->gid = 4321;
	assert_int_equal(create_(f, FUSE_ROOT_ID, "mine", O_RDWR, 0600, &node, &fh), 0);
	assert_int_equal(mkdir_(f, FUSE_ROOT_ID, "mydir", 0750, &e), 0);
	assert_int_equal(e.attr.uid, 1234);
	assert_int_equal(e.attr.gid, 4321);
	hostpath(f, "mine", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 4321);
	/* A symlink and a FIFO too (the link itself, never its target). */
	struct iovec sl[] = { NAME("mylink"), NAME("/etc/passwd") };
	assert_int_equal(req(f, FUSE_SYMLINK, FUSE_ROOT_ID, sl, 2), 0);
	hostpath(f, "mylink", p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 4321);
	assert_int_equal(stat("/etc/passwd", &st), 0);
	assert_int_equal(st.st_uid, 0);
	struct fuse_mknod_in mk = { .mode = S_IFIFO | 0600 };
	struct iovec mp[] = { ARG(mk), NAME("myfifo") };
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, mp, 2), 0);
	hostpath(f, "myfifo", p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 1234);
	/* A set-group-ID directory gives its group, as the kernel would. */
	hostpath(f, "mydir", p, sizeof(p));
	assert_int_equal(chmod(p, 02775), 0);
	f->uid = 99;
	f->gid = 99;
	assert_int_equal(create_(f, e.nodeid, "inherit", O_RDWR, 0600, NULL, NULL), 0);
	hostpath(f, "mydir/inherit", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 99);
	assert_int_equal(st.st_gid, 4321);
}

static void test_mkdir_readdir(void **state)
{
	struct fx *f = *state;
	struct fuse_entry_out e;
	char names[4096];

	assert_int_equal(mkdir_(f, FUSE_ROOT_ID, "d", 0755, &e), 0);
	assert_true(S_ISDIR(e.attr.mode));
	assert_int_equal(mkdir_(f, FUSE_ROOT_ID, "d", 0755, NULL), -EEXIST);
	for (int i = 0; i < 200; i++) {
		char n[48];
		snprintf(n, sizeof(n), "file-with-a-longish-name-%03d", i);
		assert_int_equal(create_(f, e.nodeid, n, O_WRONLY, 0644, NULL, NULL), 0);
	}
	static char all[16384];
	for (int plus = 0; plus < 2; plus++) {
		list_dir(f, e.nodeid, plus, all, sizeof(all));
		assert_true(listed(all, "."));
		assert_true(listed(all, ".."));
		for (int i = 0; i < 200; i++) {
			char n[48];
			snprintf(n, sizeof(n), "file-with-a-longish-name-%03d", i);
			assert_true(listed(all, n));
		}
		/* 200 files + . + .., each once (4096-byte pages: several calls). */
		int count = 0;
		for (char *c = all; *c; c++)
			count += *c == ',';
		assert_int_equal(count, 202);
	}
	list_dir(f, FUSE_ROOT_ID, false, names, sizeof(names));
	assert_true(listed(names, "hello"));
	assert_true(listed(names, "d"));
}

static void test_rename_unlink_rmdir(void **state)
{
	struct fx *f = *state;
	struct fuse_entry_out d;
	char p[256];
	struct stat st;

	assert_int_equal(mkdir_(f, FUSE_ROOT_ID, "dir", 0755, &d), 0);
	struct fuse_rename_in rn = { .newdir = d.nodeid };
	struct iovec p1[] = { ARG(rn), NAME("hello"), NAME("moved") };
	assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, p1, 3), 0);
	hostpath(f, "dir/moved", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	/* RENAME2 flags: NOREPLACE refuses, EXCHANGE swaps, junk is EINVAL. */
	assert_int_equal(create_(f, FUSE_ROOT_ID, "other", O_WRONLY, 0600, NULL, NULL), 0);
	struct fuse_rename2_in r2 = { .newdir = FUSE_ROOT_ID, .flags = RENAME_NOREPLACE };
	struct iovec p2[] = { ARG(r2), NAME("moved"), NAME("other") };
	assert_int_equal(req(f, FUSE_RENAME2, d.nodeid, p2, 3), -EEXIST);
	r2.flags = RENAME_EXCHANGE;
	assert_int_equal(req(f, FUSE_RENAME2, d.nodeid, p2, 3), 0);
	hostpath(f, "other", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 12);
	r2.flags = 0x80;
	assert_int_equal(req(f, FUSE_RENAME2, d.nodeid, p2, 3), -EINVAL);

	struct iovec u[] = { NAME("other") };
	assert_int_equal(req(f, FUSE_UNLINK, FUSE_ROOT_ID, u, 1), 0);
	assert_int_equal(lstat(p, &st), -1);
	struct iovec rd[] = { NAME("dir") };
	assert_int_equal(req(f, FUSE_RMDIR, FUSE_ROOT_ID, rd, 1), -ENOTEMPTY);
	struct iovec u2[] = { NAME("moved") };
	assert_int_equal(req(f, FUSE_UNLINK, d.nodeid, u2, 1), 0);
	assert_int_equal(req(f, FUSE_RMDIR, FUSE_ROOT_ID, rd, 1), 0);
	hostpath(f, "dir", p, sizeof(p));
	assert_int_equal(lstat(p, &st), -1);
	/* The node of a removed directory is still a valid id, of nothing. */
	assert_int_equal(create_(f, d.nodeid, "x", O_WRONLY, 0600, NULL, NULL), -ENOENT);
}

static void test_symlink_readlink_link(void **state)
{
	struct fx *f = *state;
	struct fuse_entry_out e;
	char p[256], t[256];
	size_t n;

	struct iovec s1[] = { NAME("ln"), NAME("/etc/passwd") };
	assert_int_equal(req(f, FUSE_SYMLINK, FUSE_ROOT_ID, s1, 2), 0);
	memcpy(&e, body, sizeof(e));
	assert_true(S_ISLNK(e.attr.mode));
	hostpath(f, "ln", p, sizeof(p));
	ssize_t l = readlink(p, t, sizeof(t));
	assert_int_equal(l, 11);
	assert_memory_equal(t, "/etc/passwd", 11);
	assert_int_equal(send_req(f, FUSE_READLINK, e.nodeid, NULL, 0, BODY_MAX, &n), 0);
	assert_int_equal(n, 11);
	assert_memory_equal(body, "/etc/passwd", 11);
	assert_int_equal(send_req(f, FUSE_READLINK, FUSE_ROOT_ID, NULL, 0, BODY_MAX, &n), -EINVAL);

	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");
	struct fuse_link_in li = { .oldnodeid = h };
	struct iovec l1[] = { ARG(li), NAME("hardlink") };
	assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, l1, 2), 0);
	memcpy(&e, body, sizeof(e));
	assert_int_equal(e.nodeid, h);
	assert_int_equal(e.attr.nlink, 2);
	li.oldnodeid = FUSE_ROOT_ID;
	assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, l1, 2), -EPERM);
}

static void test_setattr(void **state)
{
	struct fx *f = *state;
	uint64_t node = must_lookup(f, FUSE_ROOT_ID, "hello");
	struct fuse_setattr_in in = { .valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE | FATTR_ATIME | FATTR_MTIME,
				      .mode = S_IFREG | 0604, .uid = 777, .gid = 888, .size = 5,
				      .atime = 1000000, .atimensec = 5, .mtime = 2000000, .mtimensec = 7 };
	struct iovec p[] = { ARG(in) };
	struct stat st;
	char path[256];

	assert_int_equal(req(f, FUSE_SETATTR, node, p, 1), 0);
	struct fuse_attr_out *o = (void *)body;
	assert_int_equal(o->attr.mode & 07777, 0604);
	assert_int_equal(o->attr.size, 5);
	hostpath(f, "hello", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_int_equal(st.st_uid, 777);
	assert_int_equal(st.st_gid, 888);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_atim.tv_sec, 1000000);
	assert_int_equal(st.st_atim.tv_nsec, 5);
	assert_int_equal(st.st_mtim.tv_sec, 2000000);
	assert_int_equal(st.st_mtim.tv_nsec, 7);
	/* NOW */
	in.valid = FATTR_MTIME | FATTR_MTIME_NOW;
	assert_int_equal(req(f, FUSE_SETATTR, node, p, 1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_mtim.tv_sec > 2000000);
	assert_int_equal(st.st_atim.tv_sec, 1000000);
	/* Truncate through an open handle. */
	uint64_t fh;
	assert_int_equal(open_(f, node, O_RDWR, &fh, FUSE_OPEN), 0);
	in.valid = FATTR_SIZE | FATTR_FH;
	in.fh = fh;
	in.size = 1;
	assert_int_equal(req(f, FUSE_SETATTR, node, p, 1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 1);
	in.fh = fh + 1;
	assert_int_equal(req(f, FUSE_SETATTR, node, p, 1), -EBADF);
	/* Bad nanoseconds. */
	in.valid = FATTR_ATIME;
	in.atimensec = 1000000000u;
	assert_int_equal(req(f, FUSE_SETATTR, node, p, 1), -EINVAL);
	/* A directory has no size. */
	in.valid = FATTR_SIZE;
	assert_int_equal(req(f, FUSE_SETATTR, FUSE_ROOT_ID, p, 1), -EISDIR);
}

static void test_statfs_access_mknod_misc(void **state)
{
	struct fx *f = *state;
	size_t n;

	assert_int_equal(send_req(f, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0, BODY_MAX, &n), 0);
	assert_int_equal(n, sizeof(struct fuse_statfs_out));
	assert_true(((struct fuse_statfs_out *)(void *)body)->st.bsize > 0);

	struct fuse_mknod_in mk = { .mode = S_IFIFO | 0600 };
	struct iovec p[] = { ARG(mk), NAME("fifo") };
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, p, 2), 0);
	uint64_t fifo = ((struct fuse_entry_out *)(void *)body)->nodeid;
	/* The guest opens FIFOs itself; the server never does (it would block). */
	uint64_t fh;
	assert_int_equal(open_(f, fifo, O_RDONLY, &fh, FUSE_OPEN), -EINVAL);
	/* A real device node would open the host's hardware: refused; the
	 * overlayfs whiteout (0:0) is fine. */
	mk.mode = S_IFCHR | 0666;
	mk.rdev = (1 << 8) | 3;   /* 1:3, /dev/null */
	struct iovec p2[] = { ARG(mk), NAME("null") };
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, p2, 2), -EPERM);
	mk.mode = S_IFBLK | 0666;
	mk.rdev = (8 << 8);
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, p2, 2), -EPERM);
	mk.mode = S_IFCHR | 0;
	mk.rdev = 0;
	struct iovec p3[] = { ARG(mk), NAME("whiteout") };
	assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, p3, 2), 0);

	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");
	struct fuse_access_in ai = { .mask = R_OK | W_OK };
	struct iovec a[] = { ARG(ai) };
	assert_int_equal(req(f, FUSE_ACCESS, h, a, 1), 0);
	f->uid = 1000;
	assert_int_equal(req(f, FUSE_ACCESS, h, a, 1), -EACCES);
	ai.mask = R_OK;
	assert_int_equal(req(f, FUSE_ACCESS, h, a, 1), 0);

	/* fsync/flush/fallocate/lseek on a handle. */
	f->uid = 0;
	assert_int_equal(open_(f, h, O_RDWR, &fh, FUSE_OPEN), 0);
	struct fuse_fsync_in fs = { .fh = fh };
	struct iovec pf[] = { ARG(fs) };
	assert_int_equal(req(f, FUSE_FSYNC, h, pf, 1), 0);
	struct fuse_flush_in fl = { .fh = fh };
	struct iovec pl[] = { ARG(fl) };
	assert_int_equal(req(f, FUSE_FLUSH, h, pl, 1), 0);
	struct fuse_fallocate_in fa = { .fh = fh, .offset = 0, .length = 65536 };
	struct iovec pa[] = { ARG(fa) };
	assert_int_equal(req(f, FUSE_FALLOCATE, h, pa, 1), 0);
	struct fuse_lseek_in ls = { .fh = fh, .offset = 0, .whence = SEEK_END };
	struct iovec pk[] = { ARG(ls) };
	assert_int_equal(req(f, FUSE_LSEEK, h, pk, 1), 0);
	assert_int_equal(((struct fuse_lseek_out *)(void *)body)->offset, 65536);
	ls.whence = 77;
	assert_int_equal(req(f, FUSE_LSEEK, h, pk, 1), -EINVAL);
	assert_int_equal(req(f, FUSE_SYNCFS, FUSE_ROOT_ID, NULL, 0), 0);
}

static void test_xattrs(void **state)
{
	struct fx *f = *state;
	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");
	char path[256];
	size_t n;

	hostpath(f, "hello", path, sizeof(path));
	/* The host's own trusted.* stays invisible. */
	if (setxattr(path, "trusted.hostonly", "x", 1, 0) < 0)
		print_message("tmpfs without trusted xattrs: %s\n", strerror(errno));

	struct fuse_setxattr_in si = { .size = 5 };
	struct iovec s1[] = { { &si, FUSE_COMPAT_SETXATTR_IN_SIZE }, NAME("user.test"), { "value", 5 } };
	int rc = req(f, FUSE_SETXATTR, h, s1, 3);
	if (rc == -EOPNOTSUPP) {
		skip();   /* the temp dir's file system has no user xattrs */
		return;
	}
	assert_int_equal(rc, 0);
	char v[16] = { 0 };
	assert_int_equal(getxattr(path, "user.test", v, sizeof(v)), 5);
	assert_string_equal(v, "value");

	struct fuse_getxattr_in gi = { .size = 0 };
	struct iovec g1[] = { ARG(gi), NAME("user.test") };
	assert_int_equal(send_req(f, FUSE_GETXATTR, h, g1, 2, BODY_MAX, &n), 0);
	assert_int_equal(((struct fuse_getxattr_out *)(void *)body)->size, 5);
	gi.size = 64;
	assert_int_equal(send_req(f, FUSE_GETXATTR, h, g1, 2, BODY_MAX, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(body, "value", 5);
	gi.size = 2;
	assert_int_equal(req(f, FUSE_GETXATTR, h, g1, 2), -ERANGE);

	struct iovec s2[] = { { &si, FUSE_COMPAT_SETXATTR_IN_SIZE }, NAME("trusted.overlay.redirect"), { "value", 5 } };
	assert_int_equal(req(f, FUSE_SETXATTR, h, s2, 3), -EOPNOTSUPP);
	struct iovec g2[] = { ARG(gi), NAME("trusted.hostonly") };
	gi.size = 64;
	assert_int_equal(req(f, FUSE_GETXATTR, h, g2, 2), -ENODATA);

	struct fuse_getxattr_in li = { .size = 4096 };
	struct iovec l1[] = { ARG(li) };
	assert_int_equal(send_req(f, FUSE_LISTXATTR, h, l1, 1, BODY_MAX, &n), 0);
	assert_int_equal(n, sizeof("user.test"));
	assert_memory_equal(body, "user.test", sizeof("user.test"));

	struct iovec r1[] = { NAME("user.test") };
	assert_int_equal(req(f, FUSE_REMOVEXATTR, h, r1, 1), 0);
	assert_int_equal(req(f, FUSE_REMOVEXATTR, h, r1, 1), -ENODATA);
}

/* ---- hostile guest --------------------------------------------------------------- */

static void test_bad_node_ids(void **state)
{
	struct fx *f = *state;
	const uint64_t bad[] = { 0, 2, 3, 0xffffffffu, 0x100000001ull, 0x200000002ull, UINT64_MAX, 1ull << 63 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(getattr_(f, bad[i], NULL), -EBADF);
		assert_int_equal(lookup(f, bad[i], "hello", NULL), -EBADF);
		assert_int_equal(mkdir_(f, bad[i], "x", 0755, NULL), -EBADF);
		assert_int_equal(req(f, FUSE_READLINK, bad[i], NULL, 0), -EBADF);
		uint64_t fh;
		assert_int_equal(open_(f, bad[i], O_RDONLY, &fh, FUSE_OPEN), -EBADF);
		assert_int_equal(open_(f, bad[i], O_RDONLY, &fh, FUSE_OPENDIR), -EBADF);
		forget_(f, bad[i], 1);
		struct fuse_rename_in rn = { .newdir = bad[i] };
		struct iovec p[] = { ARG(rn), NAME("hello"), NAME("x") };
		assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, p, 3), -EBADF);
		struct fuse_link_in li = { .oldnodeid = bad[i] };
		struct iovec l[] = { ARG(li), NAME("x") };
		assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, l, 2), -EBADF);
	}
	/* Stale: a node forgotten to 0 is gone, and its slot's next owner has
	 * another id. */
	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");
	assert_int_equal(must_lookup(f, FUSE_ROOT_ID, "hello"), h);
	forget_(f, h, 1);
	assert_int_equal(getattr_(f, h, NULL), 0);
	forget_(f, h, 1);
	assert_int_equal(getattr_(f, h, NULL), -EBADF);
	uint64_t h2 = must_lookup(f, FUSE_ROOT_ID, "hello");
	assert_true(h2 != h);
	assert_int_equal(getattr_(f, h, NULL), -EBADF);
	/* The root is never forgotten. */
	forget_(f, FUSE_ROOT_ID, 1000);
	assert_int_equal(getattr_(f, FUSE_ROOT_ID, NULL), 0);
	/* A file node used as a directory. */
	assert_int_equal(lookup(f, h2, "x", NULL), -ENOTDIR);
	assert_int_equal(mkdir_(f, h2, "x", 0755, NULL), -ENOTDIR);
}

static void test_batch_forget_counts_only_present_entries(void **state)
{
	struct fx *f = *state;
	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");

	must_lookup(f, FUSE_ROOT_ID, "hello");
	struct { struct fuse_batch_forget_in in; struct fuse_forget_one one[2]; } bf = {
		.in = { .count = 1000000 },   /* claims far more than is there */
		.one = { { .nodeid = h, .nlookup = 1 }, { .nodeid = 12345, .nlookup = 1 } },
	};
	struct iovec p[] = { ARG(bf) };
	req(f, FUSE_BATCH_FORGET, 0, p, 1);
	assert_int_equal(getattr_(f, h, NULL), 0);
	bf.in.count = 1;
	req(f, FUSE_BATCH_FORGET, 0, p, 1);
	assert_int_equal(getattr_(f, h, NULL), -EBADF);
	/* Truncated forget args: ignored, no reply, no crash. */
	req(f, FUSE_FORGET, FUSE_ROOT_ID, NULL, 0);
	req(f, FUSE_BATCH_FORGET, 0, NULL, 0);
}

static void test_bad_file_handles(void **state)
{
	struct fx *f = *state;
	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");
	uint64_t fh, dh;
	const uint64_t bad[] = { 0, 1, 0xffffffffu, 0x100000000ull, UINT64_MAX };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(read_(f, h, bad[i], 0, 10, BODY_MAX), -EBADF);
		assert_int_equal(write_(f, h, bad[i], 0, "x", 1), -EBADF);
		assert_int_equal(release_(f, h, bad[i], FUSE_RELEASE), -EBADF);
		assert_int_equal(release_(f, h, bad[i], FUSE_RELEASEDIR), -EBADF);
	}
	assert_int_equal(open_(f, h, O_RDONLY, &fh, FUSE_OPEN), 0);
	assert_int_equal(open_(f, FUSE_ROOT_ID, O_RDONLY, &dh, FUSE_OPENDIR), 0);
	/* A directory handle is not a file handle and the other way round. */
	assert_int_equal(read_(f, h, dh, 0, 10, BODY_MAX), -EBADF);
	struct fuse_read_in in = { .fh = fh, .size = 4096 };
	struct iovec p[] = { ARG(in) };
	assert_int_equal(req(f, FUSE_READDIR, FUSE_ROOT_ID, p, 1), -EBADF);
	/* Released: stale. */
	assert_int_equal(release_(f, h, fh, FUSE_RELEASE), 0);
	assert_int_equal(read_(f, h, fh, 0, 10, BODY_MAX), -EBADF);
	assert_int_equal(release_(f, h, fh, FUSE_RELEASE), -EBADF);
	assert_int_equal(release_(f, FUSE_ROOT_ID, dh, FUSE_RELEASEDIR), 0);
	/* OPEN of a directory, OPENDIR of a file. */
	assert_int_equal(open_(f, FUSE_ROOT_ID, O_RDONLY, &fh, FUSE_OPEN), -EISDIR);
	assert_int_equal(open_(f, h, O_RDONLY, &fh, FUSE_OPENDIR), -ENOTDIR);
}

static void test_names_must_be_one_component(void **state)
{
	struct fx *f = *state;
	const char *bad[] = { "", ".", "..", "../outside", "a/b", "/etc", "/", "..//..", "x/" };
	char longname[300];
	char p[256];
	struct stat st;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(lookup(f, FUSE_ROOT_ID, bad[i], NULL), -EINVAL);
		assert_int_equal(mkdir_(f, FUSE_ROOT_ID, bad[i], 0755, NULL), -EINVAL);
		assert_int_equal(create_(f, FUSE_ROOT_ID, bad[i], O_WRONLY, 0644, NULL, NULL), -EINVAL);
		struct iovec u[] = { NAME(bad[i]) };
		assert_int_equal(req(f, FUSE_UNLINK, FUSE_ROOT_ID, u, 1), -EINVAL);
		assert_int_equal(req(f, FUSE_RMDIR, FUSE_ROOT_ID, u, 1), -EINVAL);
		struct iovec s[] = { NAME(bad[i]), NAME("target") };
		assert_int_equal(req(f, FUSE_SYMLINK, FUSE_ROOT_ID, s, 2), -EINVAL);
		struct fuse_rename_in rn = { .newdir = FUSE_ROOT_ID };
		struct iovec r1[] = { ARG(rn), NAME("hello"), NAME(bad[i]) };
		assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, r1, 3), -EINVAL);
		struct iovec r2[] = { ARG(rn), NAME(bad[i]), NAME("x") };
		assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, r2, 3), -EINVAL);
		struct fuse_link_in li = { .oldnodeid = must_lookup(f, FUSE_ROOT_ID, "hello") };
		struct iovec l[] = { ARG(li), NAME(bad[i]) };
		assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, l, 2), -EINVAL);
		struct fuse_mknod_in mk = { .mode = S_IFIFO | 0600 };
		struct iovec m[] = { ARG(mk), NAME(bad[i]) };
		assert_int_equal(req(f, FUSE_MKNOD, FUSE_ROOT_ID, m, 2), -EINVAL);
	}
	assert_int_equal(lookup(f, FUSE_ROOT_ID, longname, NULL), -ENAMETOOLONG);
	/* Nothing appeared next to the root, the host's file is intact. */
	snprintf(p, sizeof(p), "%s/outside/marker", f->base);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 12);
	snprintf(p, sizeof(p), "%s/x", f->base);
	assert_int_equal(lstat(p, &st), -1);
	hostpath(f, "hello", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
}

static void test_symlinks_are_never_followed_on_the_host(void **state)
{
	struct fx *f = *state;
	char p[256], marker[256];
	struct stat before, st;
	struct fuse_entry_out e;
	uint64_t fh;

	snprintf(marker, sizeof(marker), "%s/outside/marker", f->base);
	assert_int_equal(stat("/etc/passwd", &before), 0);
	const struct { const char *name, *target; } links[] = {
		{ "pw", "/etc/passwd" },
		{ "up", "../../../../../../etc/passwd" },
		{ "esc", "../outside/marker" },
		{ "escdir", "../outside" },
		{ "etc", "/etc" },
		{ "magic", "/proc/self/root/etc/passwd" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		hostpath(f, links[i].name, p, sizeof(p));
		assert_int_equal(symlink(links[i].target, p), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		const char *name = links[i].name;
		/* LOOKUP gives the link itself ... */
		assert_int_equal(lookup(f, FUSE_ROOT_ID, name, &e), 0);
		assert_true(S_ISLNK(e.attr.mode));
		/* ... that cannot be opened, read, truncated or used as a dir ... */
		assert_int_equal(open_(f, e.nodeid, O_RDONLY, &fh, FUSE_OPEN), -ELOOP);
		assert_int_equal(open_(f, e.nodeid, O_RDWR | O_TRUNC, &fh, FUSE_OPEN), -ELOOP);
		assert_int_equal(open_(f, e.nodeid, O_RDONLY, &fh, FUSE_OPENDIR), -ENOTDIR);
		assert_int_equal(lookup(f, e.nodeid, "passwd", NULL), -ENOTDIR);
		assert_int_equal(lookup(f, e.nodeid, "marker", NULL), -ENOTDIR);
		assert_int_equal(create_(f, e.nodeid, "new", O_WRONLY, 0644, NULL, NULL), -ENOTDIR);
		struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 0 };
		struct iovec ps[] = { ARG(sa) };
		assert_int_equal(req(f, FUSE_SETATTR, e.nodeid, ps, 1), -EINVAL);
		sa.valid = FATTR_MODE;
		sa.mode = 0777;
		assert_int_equal(req(f, FUSE_SETATTR, e.nodeid, ps, 1), -EOPNOTSUPP);
		struct fuse_getxattr_in gi = { .size = 64 };
		struct iovec g[] = { ARG(gi), NAME("user.x") };
		assert_int_equal(req(f, FUSE_GETXATTR, e.nodeid, g, 2), -ENODATA);
		/* ... and CREATE or MKNOD over the name do not write through it. */
		assert_int_equal(create_(f, FUSE_ROOT_ID, name, O_WRONLY | O_TRUNC, 0644, NULL, NULL), -ELOOP);
		/* READLINK returns the text for the guest to resolve in the guest. */
		size_t n;
		assert_int_equal(send_req(f, FUSE_READLINK, e.nodeid, NULL, 0, BODY_MAX, &n), 0);
		assert_int_equal(n, strlen(links[i].target));
	}
	/* setattr with uid/gid and times changes the link, not its target. */
	uint64_t pw = must_lookup(f, FUSE_ROOT_ID, "pw");
	struct fuse_setattr_in sa = { .valid = FATTR_UID | FATTR_GID | FATTR_MTIME, .uid = 4242, .gid = 4242,
				      .mtime = 12345 };
	struct iovec ps[] = { ARG(sa) };
	assert_int_equal(req(f, FUSE_SETATTR, pw, ps, 1), 0);
	hostpath(f, "pw", p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(stat("/etc/passwd", &st), 0);
	assert_int_equal(st.st_uid, before.st_uid);
	assert_int_equal(st.st_size, before.st_size);
	assert_int_equal(st.st_mtim.tv_sec, before.st_mtim.tv_sec);
	/* LINK of the symlink node links the symlink. */
	struct fuse_link_in li = { .oldnodeid = pw };
	struct iovec l[] = { ARG(li), NAME("pw2") };
	assert_int_equal(req(f, FUSE_LINK, FUSE_ROOT_ID, l, 2), 0);
	hostpath(f, "pw2", p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* The host's file is untouched. */
	assert_int_equal(stat(marker, &st), 0);
	assert_int_equal(st.st_size, 12);
}

static void test_in_header_len_must_match_the_bytes(void **state)
{
	struct fx *f = *state;
	struct fuse_mkdir_in mk = { .mode = 0755 };
	const char name[] = "lenx";
	uint8_t buf[256];
	struct fuse_in_header h = { .opcode = FUSE_MKDIR, .unique = 77, .nodeid = FUSE_ROOT_ID };
	struct fuse_out_header oh;
	uint8_t rbody[256];
	struct iovec out[2] = { { &oh, sizeof(oh) }, { rbody, sizeof(rbody) } };
	size_t real = sizeof(h) + sizeof(mk) + sizeof(name);
	char p[256];
	struct stat st;

	const uint32_t lens[] = { 0, 1, sizeof(h) - 1, sizeof(h), (uint32_t)real - 1, (uint32_t)real + 1,
				  (uint32_t)real + 4096, UINT32_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		h.len = lens[i];
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), &mk, sizeof(mk));
		memcpy(buf + sizeof(h) + sizeof(mk), name, sizeof(name));
		struct iovec in = { buf, real };
		ssize_t n = vfs_handle(f->s, &in, 1, out, 2);
		assert_int_equal(n, sizeof(oh));
		assert_int_equal(oh.error, -EINVAL);
		assert_int_equal(oh.unique, 77);
	}
	hostpath(f, name, p, sizeof(p));
	assert_int_equal(lstat(p, &st), -1);
	/* Extensions longer than the args. */
	h.len = (uint32_t)real;
	h.total_extlen = 100;
	memcpy(buf, &h, sizeof(h));
	struct iovec in = { buf, real };
	assert_int_equal(vfs_handle(f->s, &in, 1, out, 2), sizeof(oh));
	assert_int_equal(oh.error, -EINVAL);
	/* Less than a header: an error reply with what can be known. */
	struct iovec shortin = { buf, 10 };
	assert_int_equal(vfs_handle(f->s, &shortin, 1, out, 2), sizeof(oh));
	assert_int_equal(oh.error, -EINVAL);
	assert_int_equal(vfs_handle(f->s, NULL, 0, out, 2), sizeof(oh));
	assert_int_equal(vfs_handle(f->s, &in, -5, out, 2), sizeof(oh));
	/* No room for even the reply header: nothing done, < 0. */
	h.total_extlen = 0;
	memcpy(buf, &h, sizeof(h));
	struct iovec tiny[1] = { { rbody, 8 } };
	assert_true(vfs_handle(f->s, &in, 1, tiny, 1) < 0);
	assert_true(vfs_handle(f->s, &in, 1, NULL, 0) < 0);
	assert_int_equal(lstat(p, &st), -1);
	/* The right length, split across 1-byte iovecs, works. */
	struct iovec bytes[64];
	for (size_t i = 0; i < real; i++)
		bytes[i] = (struct iovec){ buf + i, 1 };
	assert_int_equal(vfs_handle(f->s, bytes, (int)real, out, 2), sizeof(oh) + sizeof(struct fuse_entry_out));
	assert_int_equal(oh.error, 0);
	assert_int_equal(lstat(p, &st), 0);
	/* A reply that does not fit the out buffers is an error, not an overrun. */
	struct iovec small[2] = { { &oh, sizeof(oh) }, { rbody, 8 } };
	h.opcode = FUSE_LOOKUP;
	h.len = sizeof(h) + 6;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "hello", 6);
	in.iov_len = h.len;
	assert_int_equal(vfs_handle(f->s, &in, 1, small, 2), sizeof(oh));
	assert_int_equal(oh.error, -EINVAL);
}

static void test_unterminated_names(void **state)
{
	struct fx *f = *state;
	struct iovec n1[] = { { "hello", 5 } };   /* no NUL */
	assert_int_equal(req(f, FUSE_LOOKUP, FUSE_ROOT_ID, n1, 1), -EINVAL);
	assert_int_equal(req(f, FUSE_UNLINK, FUSE_ROOT_ID, n1, 1), -EINVAL);
	struct iovec s1[] = { NAME("ln"), { "/etc/passwd", 11 } };
	assert_int_equal(req(f, FUSE_SYMLINK, FUSE_ROOT_ID, s1, 2), -EINVAL);
	struct fuse_rename_in rn = { .newdir = FUSE_ROOT_ID };
	struct iovec r1[] = { ARG(rn), NAME("hello") };     /* second name missing */
	assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, r1, 2), -EINVAL);
	struct iovec r2[] = { ARG(rn), NAME("hello"), { "x", 1 } };
	assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, r2, 3), -EINVAL);
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct iovec m1[] = { ARG(mk) };                     /* no name at all */
	assert_int_equal(req(f, FUSE_MKDIR, FUSE_ROOT_ID, m1, 1), -EINVAL);
	struct iovec m2[] = { { &mk, 4 } };                  /* short fixed args */
	assert_int_equal(req(f, FUSE_MKDIR, FUSE_ROOT_ID, m2, 1), -EINVAL);
	struct fuse_getxattr_in gi = { .size = 10 };
	struct iovec g1[] = { ARG(gi), { "user.x", 6 } };
	assert_int_equal(req(f, FUSE_GETXATTR, FUSE_ROOT_ID, g1, 2), -EINVAL);
	/* A setxattr value longer than what is there. */
	struct fuse_setxattr_in si = { .size = 1000 };
	struct iovec x1[] = { { &si, FUSE_COMPAT_SETXATTR_IN_SIZE }, NAME("user.x"), { "abc", 3 } };
	assert_int_equal(req(f, FUSE_SETXATTR, FUSE_ROOT_ID, x1, 3), -EINVAL);
	si.size = 1u << 30;
	assert_int_equal(req(f, FUSE_SETXATTR, FUSE_ROOT_ID, x1, 3), -E2BIG);
}

static void test_huge_read_write_sizes(void **state)
{
	struct fx *f = *state;
	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");
	uint64_t fh;
	static uint8_t big[(1u << 20) + 4096];

	assert_int_equal(open_(f, h, O_RDWR, &fh, FUSE_OPEN), 0);
	/* size 4 GiB - 1, out room 5 bytes: 5 bytes back, nothing past them. */
	memset(body, 0xAA, 64);
	assert_int_equal(read_(f, h, fh, 0, UINT32_MAX, 5), 5);
	assert_memory_equal(body, "hello", 5);
	assert_int_equal(body[5], 0xAA);
	assert_int_equal(read_(f, h, fh, 0, 100, 0), 0);
	assert_int_equal(read_(f, h, fh, UINT64_MAX, 10, BODY_MAX), -EINVAL);
	/* WRITE size vs payload: more, less, over max_write. */
	struct fuse_write_in in = { .fh = fh, .size = 100 };
	struct iovec p[] = { ARG(in), { "short", 5 } };
	assert_int_equal(req(f, FUSE_WRITE, h, p, 2), -EINVAL);
	in.size = 2;
	assert_int_equal(req(f, FUSE_WRITE, h, p, 2), -EINVAL);
	in.size = UINT32_MAX;
	assert_int_equal(req(f, FUSE_WRITE, h, p, 2), -EINVAL);
	in.size = sizeof(big);
	struct iovec p2[] = { ARG(in), { big, sizeof(big) } };
	assert_int_equal(req(f, FUSE_WRITE, h, p2, 2), -EINVAL);
	struct iovec p3[] = { { &in, 10 } };
	assert_int_equal(req(f, FUSE_WRITE, h, p3, 1), -EINVAL);
	/* A full max_write, and read back. */
	for (size_t i = 0; i < (1u << 20); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(write_(f, h, fh, 0, big, 1u << 20), 1 << 20);
	assert_int_equal(read_(f, h, fh, 0, 1u << 20, BODY_MAX), 1 << 20);
	assert_memory_equal(body, big, 1u << 20);
	/* READDIR with a huge size and a tiny buffer: no overrun. */
	uint64_t dh;
	assert_int_equal(open_(f, FUSE_ROOT_ID, O_RDONLY, &dh, FUSE_OPENDIR), 0);
	struct fuse_read_in ri = { .fh = dh, .size = UINT32_MAX };
	struct iovec pr[] = { ARG(ri) };
	size_t n;
	memset(body, 0xAA, 64);
	assert_int_equal(send_req(f, FUSE_READDIR, FUSE_ROOT_ID, pr, 1, 32, &n), 0);
	assert_int_equal(n, 32);   /* one "." entry: 24 + 1 rounded to 32 */
	assert_int_equal(body[32], 0xAA);
	assert_int_equal(send_req(f, FUSE_READDIR, FUSE_ROOT_ID, pr, 1, 8, &n), -EINVAL);
	assert_int_equal(release_(f, FUSE_ROOT_ID, dh, FUSE_RELEASEDIR), 0);
	assert_int_equal(release_(f, h, fh, FUSE_RELEASE), 0);
}

static void test_write_payload_in_many_pieces(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh;
	/* More pieces than an iovec array takes: the server copies them once. */
	static struct iovec pieces[2002];
	static char data[2000];
	struct fuse_in_header h = { .opcode = FUSE_WRITE, .unique = 9 };
	struct fuse_write_in in = { .size = sizeof(data) };
	struct fuse_out_header oh;
	uint8_t rb[64];
	struct iovec out[2] = { { &oh, sizeof(oh) }, { rb, sizeof(rb) } };

	assert_int_equal(create_(f, FUSE_ROOT_ID, "pieces", O_RDWR, 0644, &node, &fh), 0);
	in.fh = fh;
	h.nodeid = node;
	h.len = sizeof(h) + sizeof(in) + sizeof(data);
	pieces[0] = (struct iovec){ &h, sizeof(h) };
	pieces[1] = (struct iovec){ &in, sizeof(in) };
	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (char)('a' + i % 26);
		pieces[i + 2] = (struct iovec){ &data[i], 1 };
	}
	assert_int_equal(vfs_handle(f->s, pieces, (int)sizeof(data) + 2, out, 2), sizeof(oh) + 8);
	assert_int_equal(oh.error, 0);
	assert_int_equal(read_(f, node, fh, 0, sizeof(data), BODY_MAX), (int)sizeof(data));
	assert_memory_equal(body, data, sizeof(data));
}

static void test_unknown_opcodes_are_enosys(void **state)
{
	struct fx *f = *state;
	const uint32_t ops[] = { 0, 7, 19, FUSE_GETLK, FUSE_SETLK, FUSE_SETLKW, FUSE_IOCTL, FUSE_POLL, FUSE_BMAP,
				 FUSE_INTERRUPT, FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, FUSE_COPY_FILE_RANGE,
				 FUSE_TMPFILE, 52, 999, CUSE_INIT, FUSE_INIT_BSWAP_RESERVED, UINT32_MAX };
	uint8_t junk[64] = { 0 };
	struct iovec p[] = { { junk, sizeof(junk) } };

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		assert_int_equal(req(f, ops[i], FUSE_ROOT_ID, p, 1), -ENOSYS);
}

static void test_rename_of_a_dir_under_a_held_node_stays_inside(void **state)
{
	struct fx *f = *state;
	struct fuse_entry_out a, b, c;
	char p[256];
	struct stat st;

	assert_int_equal(mkdir_(f, FUSE_ROOT_ID, "a", 0755, &a), 0);
	assert_int_equal(mkdir_(f, a.nodeid, "b", 0755, &b), 0);
	assert_int_equal(mkdir_(f, FUSE_ROOT_ID, "c", 0755, &c), 0);
	/* Move a (with b below it) into c while b is held. */
	struct fuse_rename_in rn = { .newdir = c.nodeid };
	struct iovec r[] = { ARG(rn), NAME("a"), NAME("a") };
	assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, r, 3), 0);
	assert_int_equal(create_(f, b.nodeid, "file", O_WRONLY, 0644, NULL, NULL), 0);
	hostpath(f, "c/a/b/file", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	/* ".." from the held node is refused, and a directory cannot be moved
	 * into its own subtree. */
	assert_int_equal(lookup(f, b.nodeid, "..", NULL), -EINVAL);
	struct fuse_rename_in rn2 = { .newdir = b.nodeid };
	struct iovec r2[] = { ARG(rn2), NAME("c"), NAME("c") };
	assert_int_equal(req(f, FUSE_RENAME, FUSE_ROOT_ID, r2, 3), -EINVAL);
	/* A host process moves the tree out of the root: what the held node
	 * reaches is below it, never the directory above it. */
	char from[256], to[256];
	hostpath(f, "c/a", from, sizeof(from));
	snprintf(to, sizeof(to), "%s/outside/a", f->base);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(lookup(f, b.nodeid, "file", NULL), 0);
	assert_int_equal(lookup(f, b.nodeid, "marker", NULL), -ENOENT);
	assert_int_equal(lookup(f, c.nodeid, "a", NULL), -ENOENT);
}

static void test_destroy_drops_everything_but_the_root(void **state)
{
	struct fx *f = *state;
	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");
	uint64_t fh;

	assert_int_equal(open_(f, h, O_RDONLY, &fh, FUSE_OPEN), 0);
	assert_int_equal(req(f, FUSE_DESTROY, 0, NULL, 0), 0);
	assert_int_equal(do_init(f, 38), 0);
	assert_int_equal(getattr_(f, h, NULL), -EBADF);
	assert_int_equal(read_(f, h, fh, 0, 1, BODY_MAX), -EBADF);
	assert_int_equal(getattr_(f, FUSE_ROOT_ID, NULL), 0);
}

/* A guest that reboots sends INIT again without DESTROY: a new session. */
static void test_second_init_is_a_new_session(void **state)
{
	struct fx *f = *state;
	uint64_t h = must_lookup(f, FUSE_ROOT_ID, "hello");
	uint64_t fh;

	assert_int_equal(open_(f, h, O_RDONLY, &fh, FUSE_OPEN), 0);
	assert_int_equal(do_init(f, 38), 0);
	assert_int_equal(getattr_(f, h, NULL), -EBADF);
	assert_int_equal(read_(f, h, fh, 0, 1, BODY_MAX), -EBADF);
	assert_int_equal(getattr_(f, FUSE_ROOT_ID, NULL), 0);
	assert_true(must_lookup(f, FUSE_ROOT_ID, "hello") != 0);
}

/* Many lookups and forgets: the node table reuses slots and never hands an
 * old id to a new file. */
static void test_node_table_churn(void **state)
{
	struct fx *f = *state;
	static uint64_t ids[3000];
	char n[32];
	struct rlimit rl;
	int count = 3000;

	/* Each held node is an fd: stay below the limit we could get. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 3100)
		count = (int)rl.rlim_cur - 100;

	for (int i = 0; i < count; i++) {
		snprintf(n, sizeof(n), "f%d", i);
		uint64_t fh;
		assert_int_equal(create_(f, FUSE_ROOT_ID, n, O_WRONLY, 0644, &ids[i], &fh), 0);
		assert_int_equal(release_(f, ids[i], fh, FUSE_RELEASE), 0);
	}
	for (int i = 0; i < count; i += 2)
		forget_(f, ids[i], 1);
	for (int i = 0; i < count; i++) {
		snprintf(n, sizeof(n), "f%d", i);
		uint64_t id = must_lookup(f, FUSE_ROOT_ID, n);
		if (i % 2)
			assert_int_equal(id, ids[i]);
		else
			assert_true(id != ids[i]);
	}
	for (int i = 0; i < count; i += 2)
		assert_int_equal(getattr_(f, ids[i], NULL), -EBADF);
}

/* ---- random requests ----------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t rnd_value(void)
{
	static const uint64_t v[] = { 0, 1, 2, 7, 100, 4096, 65536, 0x7fffffff, 0x80000000u, 0xffffffffu,
				      0x100000000ull, (uint64_t)INT64_MAX, UINT64_MAX, O_RDWR, O_WRONLY | O_TRUNC,
				      S_IFREG | 0644, S_IFDIR | 0755, S_IFCHR, FATTR_SIZE | FATTR_MODE, 0x1ff };
	return rnd() % 4 == 0 ? rnd() : v[rnd() % ARRAY_SIZE(v)];
}

static size_t fixed_size(uint32_t op)
{
	switch (op) {
	case FUSE_SETATTR: return sizeof(struct fuse_setattr_in);
	case FUSE_MKNOD: case FUSE_CREATE: case FUSE_RENAME2: return 16;
	case FUSE_MKDIR: case FUSE_RENAME: case FUSE_LINK: case FUSE_OPEN: case FUSE_OPENDIR:
	case FUSE_SETXATTR: case FUSE_GETXATTR: case FUSE_LISTXATTR: case FUSE_ACCESS: case FUSE_FORGET:
		return 8;
	case FUSE_READ: case FUSE_WRITE: case FUSE_READDIR: case FUSE_READDIRPLUS: return 40;
	case FUSE_RELEASE: case FUSE_RELEASEDIR: case FUSE_FLUSH: case FUSE_LSEEK: return 24;
	case FUSE_BATCH_FORGET: return 8 + 16 * (rnd() % 4);
	default: return 0;
	}
}

/*
 * 30000 requests of every opcode with random fields, node ids and handles
 * from the ones handed out (and forged ones), names good and bad, random
 * and truncated args.  No crash (ASan in `make asan`), every reply well
 * formed (send_req checks), and nothing outside the root changed.
 * FALLOCATE and the syncs are left out: they would really allocate or
 * flush the machine's disk, nothing of the parser.
 */
static void test_random_requests_stay_inside(void **state)
{
	struct fx *f = *state;
	static const uint32_t opcodes[] = { FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR, FUSE_READLINK,
					    FUSE_SYMLINK, FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME,
					    FUSE_LINK, FUSE_OPEN, FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE,
					    FUSE_SETXATTR, FUSE_GETXATTR, FUSE_LISTXATTR, FUSE_REMOVEXATTR, FUSE_FLUSH,
					    FUSE_INIT, FUSE_OPENDIR, FUSE_READDIR, FUSE_RELEASEDIR, FUSE_ACCESS,
					    FUSE_CREATE, FUSE_BATCH_FORGET, FUSE_READDIRPLUS, FUSE_RENAME2, FUSE_LSEEK,
					    FUSE_DESTROY, FUSE_GETLK, 77 };
	static const char *names[] = { "a", "b", "hello", "dir", "..", ".", "", "/", "a/b", "../../etc",
				       "link", "user.x", "trusted.x", "security.capability", "passwd" };
	uint64_t nodes[64] = { FUSE_ROOT_ID }, fhs[64] = { 0 };
	size_t nn = 1, nf = 1;
	struct stat pw_before, pw_after, st;
	char p[256];

	assert_int_equal(stat("/etc/passwd", &pw_before), 0);
	hostpath(f, "link", p, sizeof(p));
	assert_int_equal(symlink("../outside", p), 0);
	hostpath(f, "dir", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	hostpath(f, "dir/a", p, sizeof(p));
	put_file(p, "aaaa");
	hostpath(f, "b", p, sizeof(p));
	put_file(p, "bbbb");
	for (int i = 0; i < 30000; i++) {
		uint8_t args[512];
		size_t len = 0;
		uint32_t op = opcodes[rnd() % ARRAY_SIZE(opcodes)];
		uint64_t node = rnd() % 8 == 0 ? rnd_value() : nodes[rnd() % nn];
		struct iovec part;

		if (op == FUSE_DESTROY && rnd() % 50)
			continue;
		if (rnd() % 5 == 0) {
			len = rnd() % sizeof(args);
			for (size_t k = 0; k < len; k++)
				args[k] = (uint8_t)rnd();
		} else {
			/* The op's fixed part (mostly of its real size) of random,
			 * mostly small values, then names. */
			size_t fixed = rnd() % 5 ? fixed_size(op) : (rnd() % 12) * 8;
			for (size_t k = 0; k < fixed; k += 8) {
				uint64_t v = rnd() % 3 ? rnd() % 5000 : rnd_value();
				if (k == 0 && rnd() % 2)
					v = rnd() % 2 ? fhs[rnd() % nf] : nodes[rnd() % nn];
				memcpy(args + k, &v, 8);
			}
			len = fixed;
			for (int k = (int)(rnd() % 3); k > 0; k--) {
				const char *n = names[rnd() % ARRAY_SIZE(names)];
				size_t l = strlen(n) + (rnd() % 8 ? 1 : 0);   /* sometimes unterminated */
				memcpy(args + len, n, l);
				len += l;
			}
			if (op == FUSE_WRITE && len >= 24 && rnd() % 2) {
				/* A well-formed write: size = the payload. */
				uint32_t sz = (uint32_t)(rnd() % 64);
				memcpy(args + 16, &sz, 4);
				memset(args + len, 'w', sz);
				len += sz;
			} else if (op == FUSE_WRITE || op == FUSE_SETXATTR) {
				size_t extra = rnd() % 64;
				memset(args + len, 'w', extra);
				len += extra;
			}
		}
		if (op == FUSE_INIT) {
			struct fuse_init_in in = { .major = 7, .minor = 31 + (uint32_t)(rnd() % 8) };
			memcpy(args, &in, sizeof(in));
			len = sizeof(in);
		}
		part = (struct iovec){ args, len };
		size_t blen;
		int rc = send_req(f, op, node, &part, 1, rnd() % 10 ? BODY_MAX : rnd() % 200, &blen);
		if (rc != 0)
			continue;
		if ((op == FUSE_LOOKUP || op == FUSE_MKDIR || op == FUSE_CREATE || op == FUSE_SYMLINK ||
		     op == FUSE_MKNOD || op == FUSE_LINK) && blen >= sizeof(struct fuse_entry_out))
			nodes[nn < 64 ? nn++ : rnd() % 64] = ((struct fuse_entry_out *)(void *)body)->nodeid;
		if ((op == FUSE_OPEN || op == FUSE_OPENDIR) && blen >= sizeof(struct fuse_open_out))
			fhs[nf < 64 ? nf++ : rnd() % 64] = ((struct fuse_open_out *)(void *)body)->fh;
		if (op == FUSE_CREATE && blen >= sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out))
			fhs[nf < 64 ? nf++ : rnd() % 64] =
				((struct fuse_open_out *)(void *)(body + sizeof(struct fuse_entry_out)))->fh;
		if (op == FUSE_INIT || op == FUSE_DESTROY)
			assert_int_equal(do_init(f, 38), 0);
	}
	/* The host around the root: as it was. */
	assert_int_equal(stat("/etc/passwd", &pw_after), 0);
	assert_int_equal(pw_after.st_size, pw_before.st_size);
	assert_int_equal(pw_after.st_mtim.tv_sec, pw_before.st_mtim.tv_sec);
	assert_int_equal(pw_after.st_mode, pw_before.st_mode);
	snprintf(p, sizeof(p), "%s/outside/marker", f->base);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 12);
	DIR *d = opendir(f->base);
	struct dirent *e;
	int entries = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			entries++;
	closedir(d);
	assert_int_equal(entries, 2);   /* r and outside */
	snprintf(p, sizeof(p), "%s/outside", f->base);
	d = opendir(p);
	entries = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			entries++;
	closedir(d);
	assert_int_equal(entries, 1);   /* marker */
}

int main(void)
{
	/* Held nodes are fds: as hull virtiofsd, not the shell's 1024 (the
	 * churn test holds 3000). */
	struct rlimit rl, want = { 8192, 8192 };
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < want.rlim_max && setrlimit(RLIMIT_NOFILE, &want) < 0)
		print_message("RLIMIT_NOFILE stays at %lu: %s\n", (unsigned long)rl.rlim_max, strerror(errno));
	else if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_reply_and_versions),
		T(test_requests_before_init_are_eio),
		T(test_lookup_getattr),
		T(test_create_write_read),
		T(test_create_owner_is_caller),
		T(test_mkdir_readdir),
		T(test_rename_unlink_rmdir),
		T(test_symlink_readlink_link),
		T(test_setattr),
		T(test_statfs_access_mknod_misc),
		T(test_xattrs),
		T(test_bad_node_ids),
		T(test_batch_forget_counts_only_present_entries),
		T(test_bad_file_handles),
		T(test_names_must_be_one_component),
		T(test_symlinks_are_never_followed_on_the_host),
		T(test_in_header_len_must_match_the_bytes),
		T(test_unterminated_names),
		T(test_huge_read_write_sizes),
		T(test_write_payload_in_many_pieces),
		T(test_unknown_opcodes_are_enosys),
		T(test_rename_of_a_dir_under_a_held_node_stays_inside),
		T(test_destroy_drops_everything_but_the_root),
		T(test_second_init_is_a_new_session),
		T(test_node_table_churn),
		T(test_random_requests_stay_inside),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
