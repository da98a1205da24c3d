/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User namespaces for idmapped mounts: mount_setattr(MOUNT_ATTR_IDMAP) takes
 * a user namespace fd, and the only way to get one with arbitrary mappings is
 * a process living in it.  A child is cloned into a new user namespace, its
 * maps are written from here, its ns fd kept, and the child reaped.
 */
#include "namespaces/internal.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int userns_fd_for_maps(const struct oci_id_mapping *uids, size_t n_uids,
		       const struct oci_id_mapping *gids, size_t n_gids, struct hull_err **err)
{
	_cleanup_free_ char *um = NULL, *gm = NULL, *dir = NULL;
	_cleanup_close_ int dfd = -1;
	int pipefd[2], fd = -1, r = 0;
	pid_t pid;

	if (n_uids == 0 || n_gids == 0)
		return hull_err_make(err, EINVAL, "idmapped mount without uid and gid mappings");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return hull_err_make(err, errno, "pipe");
	/* Raw clone: the child only blocks on the pipe and _exit()s. */
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		r = hull_err_make(err, errno, "clone user namespace");
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		char c;
		close(pipefd[1]);
		while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pipefd[0]);

	um = id_map_text(uids, n_uids);
	gm = id_map_text(gids, n_gids);
	dfd = proc_pid_open(pid, &dir, err);
	if (dfd < 0)
		r = dfd;
	if (r == 0)
		r = write_file_at(dfd, "uid_map", um, strlen(um), err);
	if (r == 0)
		r = write_file_at(dfd, "gid_map", gm, strlen(gm), err);
	if (r == 0) {
		fd = openat(dfd, "ns/user", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = hull_err_make(err, errno, "open %s/ns/user", dir);
	}
	close(pipefd[1]);   /* EOF: the child exits */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return hull_err_wrap(err, "idmapped mount user namespace");
	return fd;
}
