/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull virtiofsd: the file server behind a VM's virtio-fs device.  A
 * vhost-user backend (microvm/microvm.h) whose requests go to the FUSE
 * server of virtiofs/, in a process confined to the served tree
 * (vfs_confine_process: own mount namespace, seccomp, dies with its parent).
 *
 * The socket is made (or taken, --fd) before confinement, which leaves no
 * way to create one; the process serves ONE frontend and exits 0 when it
 * disconnects.
 */
#include "cli.h"
#include "microvm/microvm.h"
#include "virtiofs/virtiofs.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* virtio-fs queues: hiprio + one request queue, served alike (FUSE). */
static ssize_t fs_handle(void *opaque, unsigned int q, const struct iovec *in, int nin, const struct iovec *out,
			 int nout)
{
	return vfs_handle(opaque, in, nin, out, nout);
}

static const struct vub_ops fs_ops = { .name = "virtio-fs", .num_queues = 2, .handle = fs_handle };

/* A listening socket at path, mode 0600 from the start (umask around bind);
 * a stale socket there is replaced, anything else is refused. */
static int listen_at(const char *path, struct hull_err **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return hull_err_make(err, ENAMETOOLONG, "--socket-path %s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return hull_err_make(err, EEXIST, "--socket-path %s: exists and is not a socket", path);
		if (unlink(path) < 0)
			return hull_err_make(err, errno, "--socket-path %s: remove the stale socket", path);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hull_err_make(err, errno, "--socket-path %s: socket", path);
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 1) < 0) {
		int e = errno;
		close(fd);
		return hull_err_make(err, e, "--socket-path %s", path);
	}
	return fd;
}

/* --fd N: an inherited Unix stream socket, listening or connected. */
static int take_socket(const char *arg, struct hull_err **err)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(type), dlen = sizeof(domain);
	uint64_t v;

	if (parse_u64(arg, &v) < 0 || v < 3 || v > INT32_MAX)
		return hull_err_make(err, 0, "--fd \"%s\": not a file descriptor number >= 3", arg);
	if (getsockopt((int)v, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockopt((int)v, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0)
		return hull_err_make(err, errno, "--fd %s", arg);
	if (type != SOCK_STREAM || domain != AF_UNIX)
		return hull_err_make(err, 0, "--fd %s: not a Unix stream socket", arg);
	if (fcntl((int)v, F_SETFD, FD_CLOEXEC) < 0)
		return hull_err_make(err, errno, "--fd %s", arg);
	return (int)v;
}

static void release(struct vfs_server *srv, struct vfs_mount *mounts, char **bufs, size_t nmounts, int sock)
{
	vfs_server_free(srv);
	for (size_t i = 0; i < nmounts; i++)
		free(bufs[i]);
	free(bufs);
	free(mounts);
	if (sock >= 0)
		close(sock);
}

CLI_CMD(virtiofsd)
{
	enum { O_SOCKET = 256, O_SHARED, O_MOUNT, O_FD, O_POD };
	static const struct option opts[] = {
		{ "socket-path", required_argument, NULL, O_SOCKET },
		{ "shared-dir", required_argument, NULL, O_SHARED },
		{ "mount", required_argument, NULL, O_MOUNT },
		{ "fd", required_argument, NULL, O_FD },
		{ "pod-dir", required_argument, NULL, O_POD },
		{ 0 }
	};
	const char *socket_path = NULL, *fd_arg = NULL, *shared = NULL, *pod = NULL;
	struct vfs_mount *mounts = NULL;
	char **bufs = NULL;
	size_t nmounts = 0;
	struct vfs_server *srv = NULL;
	struct stat st;
	int c, sock = -1, root_fd = -1, r = -1;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "", opts, &c, err) < 0)
			goto out;
		if (c == -1)
			break;
		switch (c) {
		case O_SOCKET: socket_path = optarg; break;
		case O_SHARED: shared = optarg; break;
		case O_FD: fd_arg = optarg; break;
		case O_POD: pod = optarg; break;
		case O_MOUNT:
			mounts = xrealloc(mounts, (nmounts + 1) * sizeof(*mounts));
			bufs = xrealloc(bufs, (nmounts + 1) * sizeof(*bufs));
			bufs[nmounts] = NULL;
			if (vfs_mount_parse(optarg, &mounts[nmounts], &bufs[nmounts], err) < 0) {
				free(bufs[nmounts]);
				hull_err_wrap(err, "--mount %s", optarg);
				goto out;
			}
			nmounts++;
			break;
		default:
			hull_err_make(err, 0, "unknown option");
			goto out;
		}
	}
	if (optind < argc) {
		hull_err_make(err, 0, "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (!shared || !!socket_path == !!fd_arg) {
		hull_err_make(err, 0, "usage: hull virtiofsd --socket-path PATH|--fd N --shared-dir DIR "
			      "[--mount NAME=SRC[,ro]]... [--pod-dir DIR]");
		goto out;
	}
	if (stat(shared, &st) < 0) {
		hull_err_make(err, errno, "--shared-dir %s", shared);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		hull_err_make(err, ENOTDIR, "--shared-dir %s", shared);
		goto out;
	}
	sock = socket_path ? listen_at(socket_path, err) : take_socket(fd_arg, err);
	if (sock < 0)
		goto out;

	if (pod && pod[0] != '/') {
		hull_err_make(err, 0, "--pod-dir %s: must be an absolute path", pod);
		goto out;
	}
	struct vfs_confine_opts co = { .shared_dir = shared, .mounts = mounts, .nmounts = nmounts, .pod_dir = pod,
				       .keep_fds = (const int[]){ sock, STDERR_FILENO }, .nkeep = 2 };
	if (vfs_confine_process(&co, &root_fd, err) < 0)
		goto out;
	if (vfs_server_new(root_fd, &srv, err) == 0)
		/* 0: the frontend (the VMM) went away, which ends this server. */
		r = vhost_user_backend_run(sock, &fs_ops, srv, err);
	/* Confined, the process leaves by _exit: an ASan build's exit-time leak
	 * scan needs syscalls the seccomp allowlist refuses (SIGSYS). */
	release(srv, mounts, bufs, nmounts, sock);
	if (r < 0) {
		hull_log(HULL_LOG_ERROR, "virtiofsd: %s", (*err)->msg);
		if (g->log_path)
			fprintf(stderr, "hull: virtiofsd: %s\n", (*err)->msg);
	}
	_exit(r < 0 ? 1 : 0);
out:
	release(srv, mounts, bufs, nmounts, sock);
	return -1;
}
