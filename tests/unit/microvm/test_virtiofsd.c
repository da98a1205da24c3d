/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The file server process as `hull virtiofsd` builds it, without KVM: a
 * forked child confines itself (vfs_confine_process: mount namespace,
 * seccomp allowlist), starts the FUSE server and runs the vhost-user
 * backend loop on a socketpair; this process is the VMM and the guest at
 * once (frontend messages, split rings in a sealed memfd).  FUSE requests go
 * round the request queue: INIT, LOOKUP, OPEN + READ of a host file,
 * CREATE + WRITE of a file that then exists on the host, a lookup of a host
 * path outside the shared directory failing.  The child must exit 0 when the
 * frontend disconnects: a syscall missing from the allowlist would have
 * killed it with SIGSYS.  And with unsealed RAM that the frontend shrinks,
 * it must exit 1 with one line.  Needs root (mount namespace, pivot_root).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_guest.h"
#include "microvm/virtio/vhost_user.h"
#include "virtiofs/virtiofs.h"

#include <ftw.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define Q 1          /* the request queue */
#define QSZ 64

static struct {
	char base[64], shared[96];
	struct fake_guest g;
	struct vhu_front f;
	int kick, call, err;
	pid_t child;
	uint64_t unique;
	uint16_t next_desc;
	uint8_t reply[4096] __attribute__((aligned(8)));
	int child_err;      /* the child's stderr, with unsealed RAM */
} t;
static bool unsealed;   /* setup_unsealed: the guest RAM is an unsealed tmpfs file */

static ssize_t serve(void *opaque, unsigned int q, const struct iovec *in, int nin, const struct iovec *out, int nout)
{
	return vfs_handle(opaque, in, nin, out, nout);
}

/* The child: what cmd_virtiofsd does after parsing its arguments. */
static void child(int sock)
{
	static const struct vub_ops ops = { .name = "virtio-fs", .num_queues = 2, .handle = serve };
	int keep[] = { sock, 2 };
	struct vfs_confine_opts o = { .shared_dir = t.shared, .keep_fds = keep, .nkeep = 2 };
	struct vfs_server *s = NULL;
	struct hull_err *err = NULL;
	int root = -1, r;

	if (vfs_confine_process(&o, &root, &err) < 0 || vfs_server_new(root, &s, &err) < 0) {
		dprintf(2, "virtiofsd child: %s\n", err->msg);
		_exit(4);
	}
	r = vhost_user_backend_run(sock, &ops, s, &err);
	if (r < 0)
		dprintf(2, "virtiofsd child: %s\n", err->msg);
	_exit(r < 0 ? 1 : 0);
}

static void put(const char *rel, const char *data)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/%s", t.base, rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static int rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int setup(void **state)
{
	struct hull_err *err = NULL;
	int sv[2], ep[2];

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root (mount namespace, pivot_root)\n");
		return 0;
	}
	memset(&t, 0, sizeof(t));
	strcpy(t.base, "/tmp/hull-virtiofsd-XXXXXX");
	assert_non_null(mkdtemp(t.base));
	snprintf(t.shared, sizeof(t.shared), "%s/share", t.base);
	assert_int_equal(mkdir(t.shared, 0755), 0);
	put("share/hello.txt", "hello from the host\n");
	put("secret", "outside the shared directory\n");
	fg_init_shared_sealed(&t.g, !unsealed);
	t.g.q[Q].size = QSZ;
	t.child_err = -1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	if (unsealed)
		assert_int_equal(pipe2(ep, O_CLOEXEC), 0);
	t.child = fork();
	assert_true(t.child >= 0);
	if (t.child == 0) {
		close(sv[0]);
		if (unsealed)
			dup2(ep[1], 2);
		child(sv[1]);
	}
	close(sv[1]);
	if (unsealed) {
		close(ep[1]);
		t.child_err = ep[0];
	}
	if (vhu_front_open_fd(&t.f, sv[0], "virtiofsd", &err) < 0 ||
	    vhu_front_set_features(&t.f, 1ULL << VIRTIO_F_VERSION_1, &err) < 0 ||
	    vhu_front_set_mem_table(&t.f, &t.g.gm, &err) < 0)
		fail_msg("frontend: %s", err->msg);
	t.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t.err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct vhu_vring_cfg c = { .num = QSZ, .desc = (uintptr_t)fg_hva(&t.g, t.g.q[Q].desc),
				   .avail = (uintptr_t)fg_hva(&t.g, t.g.q[Q].avail),
				   .used = (uintptr_t)fg_hva(&t.g, t.g.q[Q].used), .kick = t.kick, .call = t.call,
				   .err = t.err };
	if (vhu_front_vring_start(&t.f, Q, &c, &err) < 0)
		fail_msg("vring: %s", err->msg);
	*state = &t;
	return 0;
}

static int setup_unsealed(void **state)
{
	unsealed = true;
	return setup(state);
}

static int teardown(void **state)
{
	if (geteuid() != 0)
		return 0;
	unsealed = false;
	if (t.child_err >= 0)
		close(t.child_err);
	vhu_front_close(&t.f);
	if (t.child > 0) {
		kill(t.child, SIGKILL);
		waitpid(t.child, NULL, 0);
	}
	close(t.kick);
	close(t.call);
	close(t.err);
	fg_free(&t.g);
	nftw(t.base, rm, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* One FUSE request (header + two arg parts) through the ring; returns the
 * reply's error, the body in t.reply, its length in *n. */
static int fuse(uint32_t op, uint64_t node, const void *a, size_t al, const void *b, size_t bl, size_t *n)
{
	struct fuse_in_header h = { .opcode = op, .unique = ++t.unique, .nodeid = node,
				    .len = (uint32_t)(sizeof(h) + al + bl) };
	uint64_t in = fg_alloc(&t.g, h.len), out = fg_alloc(&t.g, sizeof(struct fuse_out_header) + sizeof(t.reply));
	uint16_t head = t.next_desc, before = fg_used_idx(&t.g, Q);
	struct fuse_out_header oh;
	struct pollfd p = { .fd = t.call, .events = POLLIN };
	uint32_t id, len;
	uint64_t one = 1;

	memcpy(fg_hva(&t.g, in), &h, sizeof(h));
	if (al)
		memcpy((uint8_t *)fg_hva(&t.g, in) + sizeof(h), a, al);
	if (bl)
		memcpy((uint8_t *)fg_hva(&t.g, in) + sizeof(h) + al, b, bl);
	fg_desc(&t.g, Q, head, in, h.len, DESC_F_NEXT, (uint16_t)(head + 1));
	fg_desc(&t.g, Q, head + 1u, out, sizeof(oh) + sizeof(t.reply), DESC_F_WRITE, 0);
	t.next_desc = (uint16_t)((head + 2) % QSZ);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fg_avail_push(&t.g, Q, head);
	assert_int_equal(write(t.kick, &one, 8), 8);
	/* the backend's call eventfd is this request's interrupt */
	while (fg_used_idx(&t.g, Q) == before) {
		assert_int_equal(poll(&p, 1, -1), 1);
		if (read(t.call, &one, 8) < 0)
			continue;
	}
	fg_used_elem(&t.g, Q, before, &id, &len);
	assert_int_equal(id, head);
	assert_true(len >= sizeof(oh));
	memcpy(&oh, fg_hva(&t.g, out), sizeof(oh));
	assert_int_equal(oh.len, len);
	assert_int_equal(oh.unique, h.unique);
	memcpy(t.reply, (uint8_t *)fg_hva(&t.g, out) + sizeof(oh), len - sizeof(oh));
	if (n)
		*n = len - sizeof(oh);
	return oh.error;
}

#define S(x) x, strlen(x) + 1

static uint64_t lookup(uint64_t parent, const char *name, int *error)
{
	*error = fuse(FUSE_LOOKUP, parent, S(name), NULL, 0, NULL);
	return *error ? 0 : ((struct fuse_entry_out *)(void *)t.reply)->nodeid;
}

static void test_virtiofsd_serves_the_shared_dir_through_the_ring_confined(void **state)
{
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	size_t n;
	int e, status;

	if (geteuid() != 0)
		skip();
	assert_int_equal(fuse(FUSE_INIT, 0, &init, sizeof(init), NULL, 0, NULL), 0);
	uint64_t rootfs = lookup(FUSE_ROOT_ID, "rootfs", &e);
	assert_int_equal(e, 0);
	uint64_t hello = lookup(rootfs, "hello.txt", &e);
	assert_int_equal(e, 0);
	struct fuse_open_in oi = { .flags = O_RDONLY };
	assert_int_equal(fuse(FUSE_OPEN, hello, &oi, sizeof(oi), NULL, 0, NULL), 0);
	uint64_t fh = ((struct fuse_open_out *)(void *)t.reply)->fh;
	struct fuse_read_in ri = { .fh = fh, .size = 100 };
	assert_int_equal(fuse(FUSE_READ, hello, &ri, sizeof(ri), NULL, 0, &n), 0);
	assert_int_equal(n, strlen("hello from the host\n"));
	assert_memory_equal(t.reply, "hello from the host\n", n);

	/* a write from the guest lands in the host's directory */
	struct fuse_create_in ci = { .flags = O_RDWR, .mode = 0644 };
	assert_int_equal(fuse(FUSE_CREATE, rootfs, &ci, sizeof(ci), S("from-guest.txt"), NULL), 0);
	uint64_t node = ((struct fuse_entry_out *)(void *)t.reply)->nodeid;
	uint64_t fh2 = ((struct fuse_open_out *)(void *)(t.reply + sizeof(struct fuse_entry_out)))->fh;
	struct fuse_write_in wi = { .fh = fh2, .size = 20 };
	assert_int_equal(fuse(FUSE_WRITE, node, &wi, sizeof(wi), "written by the guest", 20, NULL), 0);
	assert_int_equal(((struct fuse_write_out *)(void *)t.reply)->size, 20);
	struct fuse_release_in rel = { .fh = fh2 };
	assert_int_equal(fuse(FUSE_RELEASE, node, &rel, sizeof(rel), NULL, 0, NULL), 0);
	char p[160], buf[64] = { 0 };
	snprintf(p, sizeof(p), "%s/from-guest.txt", t.shared);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 20);
	close(fd);
	assert_string_equal(buf, "written by the guest");

	/* nothing outside the shared directory is reachable */
	assert_int_equal(lookup(rootfs, "secret", &e), 0);
	assert_int_equal(e, -ENOENT);
	assert_int_equal(lookup(FUSE_ROOT_ID, "secret", &e), 0);
	assert_int_not_equal(e, 0);
	e = fuse(FUSE_LOOKUP, rootfs, S(".."), NULL, 0, NULL);
	assert_true(e != 0 || ((struct fuse_entry_out *)(void *)t.reply)->nodeid == FUSE_ROOT_ID ||
		    ((struct fuse_entry_out *)(void *)t.reply)->nodeid == rootfs);

	/* the VMM goes away: the server ends by itself, not killed by seccomp */
	vhu_front_close(&t.f);
	assert_int_equal(waitpid(t.child, &status, 0), t.child);
	t.child = 0;
	if (WIFSIGNALED(status))
		fail_msg("virtiofsd child killed by signal %d (SIGSYS = a syscall missing from the allowlist)",
			 WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* hull's huge-page guest RAM is a tmpfs file, which cannot be sealed: the
 * server maps it, and when the frontend shrinks it, the next ring access
 * ends the server with one line and exit 1, as a hang-up would, not a crash
 * (virtiofs/confine.c's SIGBUS handler, installed before the seccomp
 * filter). */
static void test_virtiofsd_guest_memory_shrunk_by_the_frontend_ends_the_server_cleanly(void **state)
{
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	char buf[256] = { 0 };
	uint64_t one = 1;
	int status;

	if (geteuid() != 0)
		skip();
	/* the unsealed RAM was taken: a request goes round */
	assert_int_equal(fuse(FUSE_INIT, 0, &init, sizeof(init), NULL, 0, NULL), 0);
	assert_int_equal(ftruncate(t.g.memfd, 0), 0);
	assert_int_equal(write(t.kick, &one, 8), 8);
	assert_int_equal(waitpid(t.child, &status, 0), t.child);
	t.child = 0;
	if (WIFSIGNALED(status))
		fail_msg("virtiofsd child killed by signal %d, not ended cleanly", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_true(read(t.child_err, buf, sizeof(buf) - 1) > 0);
	assert_non_null(strstr(buf, "hull: virtiofsd: the guest's memory shrank under the file server (SIGBUS)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_virtiofsd_serves_the_shared_dir_through_the_ring_confined, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_virtiofsd_guest_memory_shrunk_by_the_frontend_ends_the_server_cleanly, setup_unsealed,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
