/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's children: spawn, reap (one thread for all), watch by pid. */
#include "guest/internal.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

struct agent_watch {
	pid_t pid;
	int status;                 /* valid when done */
	bool done;
	int efd;                    /* eventfd, readable once done */
	struct agent_watch *next;
};

/* Statuses nobody watched when they were reaped, newest overwriting oldest:
 * enough for the short window between an exit and its watcher's arrival. */
#define UNCLAIMED 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reaped = PTHREAD_COND_INITIALIZER;
static struct agent_watch *watches;
static struct { pid_t pid; int status; } unclaimed[UNCLAIMED];
static size_t unclaimed_next;

int agent_exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Under lock. */
static void finish(struct agent_watch *w, int status)
{
	uint64_t one = 1;

	w->status = status;
	w->done = true;
	if (write(w->efd, &one, sizeof(one)) < 0)
		hull_warn("agent: eventfd: %s", strerror(errno));
}

static void record(pid_t pid, int status)
{
	pthread_mutex_lock(&lock);
	for (struct agent_watch *w = watches; w; w = w->next) {
		if (w->pid == pid && !w->done) {
			finish(w, status);
			goto out;
		}
	}
	unclaimed[unclaimed_next].pid = pid;
	unclaimed[unclaimed_next].status = status;
	unclaimed_next = (unclaimed_next + 1) % UNCLAIMED;
out:
	pthread_cond_broadcast(&reaped);
	pthread_mutex_unlock(&lock);
}

static void *reaper(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		int status, sig = 0;
		pid_t pid;

		/* A SIGCHLD may stand for several exits: reap until none is left. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			record(pid, status);
		if (sigwait(&set, &sig) != 0)
			hull_warn("agent: sigwait: %s", strerror(errno));
	}
	return NULL;
}

int agent_reaper_start(struct hull_err **err)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, reaper, NULL);

	if (r != 0)
		return hull_err_make(err, r, "agent: reaper thread");
	pthread_detach(t);
	return 0;
}

static struct agent_watch *watch_new(pid_t pid)
{
	struct agent_watch *w = xcalloc(1, sizeof(*w));

	w->pid = pid;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0)
		abort();    /* out of fds or memory: nothing sensible to unwind */
	return w;
}

/* Under lock: link w, or finish it at once from the unclaimed statuses. */
static void watch_add(struct agent_watch *w)
{
	for (size_t i = 0; i < UNCLAIMED; i++) {
		if (unclaimed[i].pid == w->pid) {
			unclaimed[i].pid = 0;
			finish(w, unclaimed[i].status);
			break;
		}
	}
	w->next = watches;
	watches = w;
}

struct agent_watch *agent_watch_pid(pid_t pid)
{
	struct agent_watch *w = watch_new(pid);

	pthread_mutex_lock(&lock);
	watch_add(w);
	pthread_mutex_unlock(&lock);
	return w;
}

int agent_spawn(char *const argv[], const int fds[3], struct agent_watch **out, struct hull_err **err)
{
	struct agent_watch *w = watch_new(0);
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int tmp[3];
	pid_t pid;

	if (devnull < 0) {
		agent_watch_free(w);
		return hull_err_make(err, errno, "open /dev/null");
	}
	/* The lock spans fork and linking the watch: the reaper cannot file
	 * this child's status as unclaimed before its watch exists. */
	pthread_mutex_lock(&lock);
	pid = fork();
	if (pid == 0) {
		sigset_t none;

		/* Only async-signal-safe calls here: other threads hold locks.
		 * The stdio sources go above 2 first so that dup2 cannot
		 * overwrite one that sits in 0..2; the copies are CLOEXEC. */
		for (int i = 0; i < 3; i++)
			tmp[i] = fcntl(fds[i] >= 0 ? fds[i] : devnull, F_DUPFD_CLOEXEC, 3);
		for (int i = 0; i < 3; i++)
			if (tmp[i] < 0 || dup2(tmp[i], i) < 0)
				_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0) {
		int e = errno;
		pthread_mutex_unlock(&lock);
		agent_watch_free(w);
		return hull_err_make(err, e, "fork");
	}
	w->pid = pid;
	/* A status left over from an earlier process of the same pid is stale. */
	for (size_t i = 0; i < UNCLAIMED; i++)
		if (unclaimed[i].pid == pid)
			unclaimed[i].pid = 0;
	watch_add(w);
	pthread_mutex_unlock(&lock);
	*out = w;
	return 0;
}

int agent_watch_fd(const struct agent_watch *w)
{
	return w->efd;
}

int agent_watch_wait(struct agent_watch *w)
{
	int status;

	pthread_mutex_lock(&lock);
	while (!w->done)
		pthread_cond_wait(&reaped, &lock);
	status = w->status;
	pthread_mutex_unlock(&lock);
	return status;
}

int agent_watch_status(struct agent_watch *w)
{
	int status;

	pthread_mutex_lock(&lock);
	status = w->done ? w->status : -1;
	pthread_mutex_unlock(&lock);
	return status;
}

void agent_watch_free(struct agent_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&lock);
	for (struct agent_watch **p = &watches; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	close(w->efd);
	free(w);
}
