/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI hooks: each one is fork+execve'd with the state JSON on stdin and both
 * stdout and stderr on the runtime's stderr (so `hull state` output, or a
 * caller parsing our stdout, is never corrupted by a hook).  The hook inherits
 * no descriptor beyond 0-2.  Like runc: args absent -> {path}; env absent ->
 * the runtime's environment (Go's exec.Cmd with a nil Env).
 *
 * The parent waits on a pidfd with poll(), feeding stdin through a
 * non-blocking pipe in the same loop, so a hook that never reads stdin can
 * neither block us nor outlive its timeout.
 */
#include "runtime/runtime.h"

#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

struct hook_run {
	const char *kind;
	size_t index;
	const struct oci_hook *h;
	const char *state;
	size_t state_len;
	int abort_fd;       /* readable: kill the hook, stop (-1: none) */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child after fork: only async-signal-safe calls.  errpipe is
 * O_CLOEXEC, so a successful execve closes it and the parent reads EOF. */
static __attribute__((noreturn)) void child_exec(const struct oci_hook *h, char *const argv[], char *const envp[],
						 int stdin_fd, int errpipe)
{
	sigset_t none;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* fails harmlessly for KILL/STOP and reserved */
	if (dup2(stdin_fd, 0) < 0 || dup2(2, 1) < 0)
		goto fail;
	/* Everything above 2 goes at exec; errpipe is still needed until then. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 65536; fd++)
			if (fd != errpipe)
				close(fd);
	}
	execve(h->path, argv, envp);
fail:
	e = errno;
	(void)!write(errpipe, &e, sizeof(e));
	_exit(127);
}

/* Feed stdin and wait for exit or deadline.  Returns 0 with *status set, or
 * 1 on timeout, 2 when r->abort_fd became readable (child killed and reaped).  Without a pidfd (old kernel, or a
 * seccomp profile that denies pidfd_open when startContainer hooks run inside
 * the container) poll in 10 ms steps with waitpid(WNOHANG). */
static int supervise(pid_t pid, int pidfd, int wfd, const struct hook_run *r, int *status,
		     struct hull_err **err)
{
	bool timed = r->h->has_timeout && r->h->timeout > 0;
	int64_t deadline = timed ? now_ms() + (int64_t)r->h->timeout * 1000 : -1;
	size_t off = 0;
	bool aborted = false;

	for (;;) {
		/* poll() ignores negative fds, so a missing pidfd or a finished
		 * stdin simply drop out of the set. */
		struct pollfd p[3] = { { .fd = pidfd, .events = POLLIN }, { .fd = wfd, .events = POLLOUT },
				       { .fd = r->abort_fd, .events = POLLIN } };
		int timeout = -1, n;
		pid_t w;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				break;
			timeout = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		if (pidfd < 0 && (timeout < 0 || timeout > 10))
			timeout = 10;
		n = poll(p, 3, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_err_make(err, errno, "hook %s[%zu] %s: poll", r->kind, r->index, r->h->path);
		if (p[2].revents) {
			aborted = true;
			break;
		}
		if (wfd >= 0 && p[1].revents) {
			ssize_t wr = write(wfd, r->state + off, r->state_len - off);
			if (wr > 0)
				off += (size_t)wr;
			/* EPIPE (hook closed stdin) is fine: it chose not to read. */
			if ((wr < 0 && errno != EAGAIN && errno != EINTR) || off == r->state_len) {
				close(wfd);
				wfd = -1;
			}
		}
		if (pidfd >= 0 && !p[0].revents)
			continue;
		w = waitpid(pid, status, pidfd >= 0 ? 0 : WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR)) {
			if (wfd >= 0)
				close(wfd);
			return 0;
		}
	}
	if (wfd >= 0)
		close(wfd);
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
		kill(pid, SIGKILL); /* not reaped yet, so the pid is still ours */
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return aborted ? 2 : 1;
}

static int run_one(const struct hook_run *r, struct hull_err **err)
{
	const struct oci_hook *h = r->h;
	char *default_argv[2] = { h->path, NULL };
	char *const *argv = (h->args && h->args[0]) ? h->args : default_argv;
	char *const *envp = h->env ? h->env : environ;
	int in[2] = { -1, -1 }, ep[2] = { -1, -1 };
	_cleanup_close_ int pidfd = -1, errfd = -1;
	int status = 0, child_errno = 0, rc;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return hull_err_make(err, errno, "hook %s[%zu] %s: pipe", r->kind, r->index, h->path);
	if (pipe2(ep, O_CLOEXEC) < 0) {
		rc = hull_err_make(err, errno, "hook %s[%zu] %s: pipe", r->kind, r->index, h->path);
		close(in[0]);
		close(in[1]);
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = hull_err_make(err, errno, "hook %s[%zu] %s: fork", r->kind, r->index, h->path);
		close(in[0]), close(in[1]), close(ep[0]), close(ep[1]);
		return rc;
	}
	if (pid == 0)
		child_exec(h, (char *const *)argv, (char *const *)envp, in[0], ep[1]);
	close(in[0]);
	close(ep[1]);
	errfd = ep[0];
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1: supervise() polls instead */
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	rc = supervise(pid, pidfd, in[1], r, &status, err);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return hull_err_make(err, 0, "hook %s[%zu] %s: timed out after %ds", r->kind, r->index, h->path,
				     h->timeout);
	if (rc == 2)
		return hull_err_make(err, 0, "hook %s[%zu] %s: interrupted", r->kind, r->index, h->path);
	if (read(errfd, &child_errno, sizeof(child_errno)) == (ssize_t)sizeof(child_errno))
		return hull_err_make(err, child_errno, "hook %s[%zu] %s: exec", r->kind, r->index, h->path);
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return hull_err_make(err, 0, "hook %s[%zu] %s: exit status %d", r->kind, r->index, h->path,
				     WEXITSTATUS(status));
	if (WIFSIGNALED(status)) {
		const char *name = runtime_signal_name(WTERMSIG(status));
		return hull_err_make(err, 0, "hook %s[%zu] %s: killed by signal %d%s%s", r->kind, r->index, h->path,
				     WTERMSIG(status), name ? " SIG" : "", name ? name : "");
	}
	return 0;
}

int hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
	      struct hull_err **err)
{
	return hooks_run_abortable(spec, kind, state_json, -1, err);
}

int hooks_run_abortable(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
			int abort_fd, struct hull_err **err)
{
	const struct oci_hook_list *list;
	sigset_t pipe_set, old;
	int rc = 0;

	if (spec == NULL || (int)kind < 0 || kind >= OCI_HOOK_KIND_COUNT)
		return 0;
	list = &spec->hooks[kind];
	if (list->n == 0)
		return 0;
	/* A hook that closes stdin early must not kill us with SIGPIPE. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	/* Spec: a failing poststart/poststop hook is a warning and the remaining
	 * hooks still run; any other failing hook stops the list. */
	bool keep_going = kind == OCI_HOOK_POSTSTART || kind == OCI_HOOK_POSTSTOP;
	for (size_t i = 0; i < list->n && (rc == 0 || keep_going); i++) {
		struct hook_run r = { .kind = oci_hook_names[kind], .index = i, .h = &list->hooks[i],
				      .state = state_json ? state_json : "", .state_len = state_json ? strlen(state_json) : 0,
				      .abort_fd = abort_fd };
		int one;

		if (r.h->path == NULL || r.h->path[0] != '/')
			one = hull_err_make(err, 0, "hooks.%s[%zu].path: must be absolute", r.kind, i);
		else
			one = run_one(&r, err);
		if (rc == 0)
			rc = one;
	}
	if (!sigismember(&old, SIGPIPE)) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
			; /* drop the SIGPIPEs we caused */
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
