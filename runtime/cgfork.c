/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forking a child straight into a cgroup (clone3 CLONE_INTO_CGROUP), with the
 * plain fork() fallback.  Used by the stage (stage.c: the init), exec and
 * restore; spawn.c drives the stage.  Its own file so that stage.c does not
 * call back into spawn.c, which calls stage.c.
 */
#include "internal.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

pid_t fork_into_cgroup(const struct cgroup *cg, bool *cloned_in, struct hull_err **err)
{
	_cleanup_close_ int fd = -1;

	if (cg && cgroups_clone_fd(cg, &fd, err) < 0)
		return -1;
	return fork_into_cgroup_fd(fd, cloned_in, err);
}

void (*clone_into_cgroup_test_hook)(pid_t child);

int clone_into_cgroup(int cgroup_fd, pid_t *pid, struct hull_err **err)
{
	struct clone_args a = {
		.flags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
	};
	int *tid = NULL, *ran;
	pid_t p;

	if (cgroup_fd < 0)
		return 0;
	/* glibc's fork() has the kernel store the child's tid in the thread
	 * descriptor, the address glibc gave set_tid_address(); without it,
	 * raise() in the child would signal the parent's tid. */
	if (prctl(PR_GET_TID_ADDRESS, &tid) < 0 || !tid) {
		hull_debug("PR_GET_TID_ADDRESS unavailable: fork, then move into the cgroup");
		return 0;
	}
	/* Set by the child before anything else: see the check below. */
	ran = mmap(NULL, sizeof(*ran), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ran == MAP_FAILED)
		return hull_err_make(err, errno, "mmap");
	a.child_tid = (uintptr_t)tid;
	a.cgroup = (uint64_t)cgroup_fd;
	p = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (p == 0) {
		__atomic_store_n(ran, 1, __ATOMIC_RELEASE);
		munmap(ran, sizeof(*ran));
		*pid = 0;
		return 1;
	}
	if (p < 0) {
		munmap(ran, sizeof(*ran));
		if (errno == ENOSYS || errno == E2BIG) {
			hull_debug("clone3 CLONE_INTO_CGROUP unavailable: fork, then move into the cgroup");
			return 0;
		}
		return hull_err_make(err, errno, "clone3 into the container's cgroup");
	}
	if (clone_into_cgroup_test_hook)
		clone_into_cgroup_test_hook(p);
	/*
	 * Linux 6.14+ kills a child cloned into a cgroup whose cgroup.kill
	 * count differs from its parent's cgroup's (a reused cgroup that was
	 * killed once, or hull running in one): the SIGKILL is queued before
	 * clone3 returns, so the child dies before it runs a single
	 * instruction, and the caller forks again.  Dead or dying is not
	 * enough to say so: under load the child may have done its whole job
	 * and exited before we look (S2 then, and a second S2 would wait
	 * forever for a USERNS_DONE).  Only a child that never ran, and with
	 * SIGKILL pending or dead never will, was killed at birth; the flag is
	 * read after the kill was seen.
	 */
	if (proc_killed(p) && !__atomic_load_n(ran, __ATOMIC_ACQUIRE)) {
		munmap(ran, sizeof(*ran));
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		hull_debug("a child cloned into the container's cgroup was killed by the kernel: "
			   "fork, then move in");
		return 2;
	}
	munmap(ran, sizeof(*ran));
	*pid = p;
	return 1;
}

pid_t fork_into_cgroup_fd(int cgroup_fd, bool *cloned_in, struct hull_err **err)
{
	pid_t pid;
	int r = clone_into_cgroup(cgroup_fd, &pid, err);

	*cloned_in = r == 1;
	if (r < 0)
		return -1;
	if (r == 1)
		return pid;
	pid = fork();
	if (pid < 0)
		hull_err_make(err, errno, "fork");
	return pid;
}
