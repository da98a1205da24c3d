/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API server: one thread (the caller's) runs an epoll loop over the
 * listening socket, its connections, a signalfd and the VMM's "done"
 * eventfd; the VMM (microvm_run) runs on a thread of its own from
 * InstanceStart.  Every socket is non-blocking and every buffer bounded, so
 * a slow, partial or hostile client holds at most one connection slot and
 * its buffers, never the loop; the VMM never waits for this thread (requests
 * reach it through microvm_ctl, which blocks only us).
 */
#include "api/internal.h"

#include <json.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#define READ_CHUNK 4096u
#define IDLE_SECS 30                /* a connection silent this long is closed */
#define METRICS_PERIOD_SECS 60      /* Firecracker's periodic flush */

/* ---- the real backend: microvm_run on a thread ------------------------------ */

struct vmm {
	struct microvm_ctl *ctl;
	pthread_t thread;
	bool running;               /* thread started, not joined */
	struct vm_config *cfg;
	int done_evt;               /* written when microvm_run returned */
	int power_fd;               /* the guest's ACPI power button */
	int code;
	struct hull_err *err;
	bool seccomp;               /* filter the VMM's threads, and this one once the guest runs */
};

static void *vmm_thread(void *arg)
{
	struct vmm *m = arg;
	uint64_t one = 1;

	if (microvm_run(m->cfg, &m->code, &m->err) < 0)
		m->code = -1;
	if (write(m->done_evt, &one, sizeof(one)) < 0)
		hull_warn("vm serve: done eventfd: %s", strerror(errno));
	return NULL;
}

static int vmm_start(void *opaque, struct vm_config *cfg, struct hull_err **err)
{
	struct vmm *m = opaque;
	sigset_t set, old;
	int e;

	/* A control is good for one microvm_run: after a failed start, a new one. */
	microvm_ctl_free(m->ctl);
	m->ctl = microvm_ctl_new();
	cfg->ctl = m->ctl;
	cfg->power_button_fd = m->power_fd;
	cfg->seccomp = m->seccomp;
	m->cfg = cfg;
	/* The VMM's threads never take the signals the loop's signalfd reads. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	e = pthread_create(&m->thread, NULL, vmm_thread, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return hull_err_make(err, e, "pthread_create");
	m->running = true;
	if (microvm_ctl_wait_started(m->ctl)) {
		/* The guest runs: from now on this thread serves requests that
		 * reach it (pause, a drive's file) under its own filter.  The
		 * VMM's threads have theirs already; this thread's could only
		 * fail where theirs did, which stopped the VM. */
		if (m->seccomp && microvm_seccomp_thread(MICROVM_THREAD_API, err) < 0)
			return -1;
		return 0;
	}
	/* It failed before the guest ran: its error is this request's. */
	pthread_join(m->thread, NULL);
	m->running = false;
	uint64_t v;
	if (read(m->done_evt, &v, sizeof(v)) < 0)
		hull_debug("vm serve: done eventfd: %s", strerror(errno));
	*err = m->err;
	m->err = NULL;
	return *err ? -1 : hull_err_make(err, 0, "the microVM stopped at once");
}

static int vmm_pause(void *opaque, bool pause, struct hull_err **err)
{
	return microvm_ctl_pause(((struct vmm *)opaque)->ctl, pause, err);
}

static int vmm_set_disk(void *opaque, unsigned int idx, const char *path, struct hull_err **err)
{
	return microvm_ctl_set_disk(((struct vmm *)opaque)->ctl, idx, path, err);
}

static int vmm_ctrl_alt_del(void *opaque, struct hull_err **err)
{
	uint64_t one = 1;

	if (write(((struct vmm *)opaque)->power_fd, &one, sizeof(one)) < 0)
		return hull_err_make(err, errno, "power button");
	return 0;
}

static int vmm_set_limiter(void *opaque, bool net, unsigned int idx, const struct vm_rate_limiter *rl,
			   const struct vm_rate_limiter *tx, struct hull_err **err)
{
	return microvm_ctl_set_limiter(((struct vmm *)opaque)->ctl, net, idx, rl, tx, err);
}

static void vmm_stats(void *opaque, struct microvm_stats *st)
{
	microvm_ctl_stats(((struct vmm *)opaque)->ctl, st);
}

static const struct api_backend vmm_backend = {
	.start = vmm_start,
	.pause = vmm_pause,
	.set_disk = vmm_set_disk,
	.set_limiter = vmm_set_limiter,
	.ctrl_alt_del = vmm_ctrl_alt_del,
	.stats = vmm_stats,
};

/* ---- connections ---------------------------------------------------------------- */

struct conn {
	int fd;
	struct http_conn http;
	char in[READ_CHUNK];
	size_t in_len;
	char *out;                  /* a response being written */
	size_t out_len, out_off;
	bool close_after;           /* after out is written */
	time_t last;
};

struct server {
	int ep, lfd, sfd;
	struct conn *conns[API_MAX_CONNS];
	struct api_vm vm;
	struct vmm vmm;
};

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void conn_close(struct server *s, unsigned int i)
{
	struct conn *c = s->conns[i];

	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	http_conn_free(&c->http);
	free(c->out);
	free(c);
	s->conns[i] = NULL;
}

static void conn_watch(struct server *s, struct conn *c)
{
	struct epoll_event ev = { .events = c->out ? EPOLLOUT : EPOLLIN, .data.ptr = c };
	epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is pending; false when the connection must go. */
static bool conn_flush(struct conn *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_off += (size_t)w;
	}
	free(c->out);
	c->out = NULL;
	return !c->close_after;
}

static void reply(struct conn *c, int status, char *body, bool keep_alive)
{
	c->out = http_response(status, body, keep_alive, &c->out_len);
	c->out_off = 0;
	c->close_after = !keep_alive;
	free(body);
}

/* Answer every whole request in c->in, one at a time. */
static void conn_process(struct server *s, struct conn *c)
{
	while (!c->out && !c->close_after) {
		size_t used = 0;
		enum http_feed f = http_conn_feed(&c->http, c->in, c->in_len, &used);

		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (f == HTTP_MORE)
			return;
		if (f == HTTP_BAD) {
			s->vm.bad_requests++;
			reply(c, 400, api_fault("Malformed HTTP request: %s.", c->http.bad), false);
			return;
		}
		struct api_resp r;
		bool ka = http_conn_keep_alive(&c->http);
		api_route(&s->vm, c->http.p.method, c->http.url, c->http.body, c->http.body_len, &r);
		reply(c, r.status, r.body, ka);
		http_conn_reset(&c->http);
	}
}

static void conn_event(struct server *s, unsigned int i, uint32_t events)
{
	struct conn *c = s->conns[i];

	c->last = now_s();
	if ((events & EPOLLIN) && c->in_len < sizeof(c->in)) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(s, i);
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		conn_close(s, i);
		return;
	}
	for (;;) {
		conn_process(s, c);
		if (!c->out)
			break;
		if (!conn_flush(c)) {
			conn_close(s, i);
			return;
		}
		if (c->out)
			break;      /* the socket is full: wait for EPOLLOUT */
	}
	conn_watch(s, c);
}

static void accept_all(struct server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned int i;

		if (fd < 0)
			return;
		for (i = 0; i < API_MAX_CONNS && s->conns[i]; i++)
			;
		if (i == API_MAX_CONNS) {
			/* full: refuse rather than queue without bound */
			hull_warn("vm serve: too many API connections (%u), refusing one", API_MAX_CONNS);
			close(fd);
			continue;
		}
		struct conn *c = xcalloc(1, sizeof(*c));
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		c->fd = fd;
		c->last = now_s();
		http_conn_init(&c->http);
		s->conns[i] = c;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(s, i);
	}
}

static int listen_on(const char *path, struct hull_err **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return hull_err_make(err, ENAMETOOLONG, "--api-sock %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hull_err_make(err, errno, "socket");
	/* Only the owner may drive the VMM: the socket is born 0600 (umask at
	 * bind), never chmod'ed after a window where others could connect. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return hull_err_make(err, errno, "--api-sock %s", path);
	if (listen(fd, 16) < 0) {
		r = hull_err_make(err, errno, "listen %s", path);
		unlink(path);
		return r;
	}
	return take_fd(&fd);
}

static int read_file(const char *path, char **out, size_t *len, struct hull_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 0;
	char *buf = NULL;

	*len = 0;
	if (fd < 0)
		return hull_err_make(err, errno, "--config-file %s", path);
	for (;;) {
		if (*len + 1 >= cap) {
			if (cap >= (1u << 20)) {
				free(buf);
				return hull_err_make(err, EFBIG, "--config-file %s", path);
			}
			cap = cap ? cap * 2 : 4096;
			buf = xrealloc(buf, cap);
		}
		ssize_t n = read(fd, buf + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return hull_err_make(err, errno, "read %s", path);
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	*out = buf;
	return 0;
}

static int add_fd(struct server *s, int fd, void *tag, struct hull_err **err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? hull_err_make(err, errno, "epoll_ctl") : 0;
}

static int setup(struct server *s, const struct api_opts *o, struct hull_err **err)
{
	sigset_t set;

	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0)
		return hull_err_make(err, errno, "epoll_create1");
	s->vmm.done_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->vmm.power_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->vmm.done_evt < 0 || s->vmm.power_fd < 0)
		return hull_err_make(err, errno, "eventfd");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* before any thread exists, so none takes them */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	s->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sfd < 0)
		return hull_err_make(err, errno, "signalfd");
	if (add_fd(s, s->sfd, &s->sfd, err) < 0 || add_fd(s, s->vmm.done_evt, &s->vmm.done_evt, err) < 0)
		return -1;
	/* the socket first: a VM started from the file is then never left
	 * running by a socket that cannot be made */
	if (o->sock_path) {
		s->lfd = listen_on(o->sock_path, err);
		if (s->lfd < 0)
			return -1;
		if (add_fd(s, s->lfd, &s->lfd, err) < 0)
			return -1;
	}
	if (o->config_file) {
		_cleanup_free_ char *json = NULL;
		size_t len;
		if (read_file(o->config_file, &json, &len, err) < 0)
			return -1;
		if (api_load_config(&s->vm, json, len, err) < 0 || api_instance_start(&s->vm, err) < 0)
			return hull_err_wrap(err, "--config-file %s", o->config_file);
	}
	return 0;
}

static int loop(struct server *s, int *exit_code, struct hull_err **err)
{
	time_t next_metrics = now_s() + METRICS_PERIOD_SECS;

	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(s->ep, evs, ARRAY_SIZE(evs), 1000);

		if (n < 0 && errno != EINTR)
			return hull_err_make(err, errno, "epoll_wait");
		for (int k = 0; k < n; k++) {
			void *tag = evs[k].data.ptr;
			if (tag == &s->lfd) {
				accept_all(s);
			} else if (tag == &s->sfd) {
				struct signalfd_siginfo si;
				if (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
					*exit_code = 128 + (int)si.ssi_signo;
					return 0;
				}
			} else if (tag == &s->vmm.done_evt) {
				pthread_join(s->vmm.thread, NULL);
				s->vmm.running = false;
				if (s->vmm.code < 0) {
					*err = s->vmm.err;
					s->vmm.err = NULL;
					return -1;
				}
				*exit_code = s->vmm.code;
				return 0;
			} else {
				for (unsigned int i = 0; i < API_MAX_CONNS; i++)
					if (s->conns[i] == tag) {
						conn_event(s, i, evs[k].events);
						break;
					}
			}
		}
		time_t t = now_s();
		for (unsigned int i = 0; i < API_MAX_CONNS; i++)
			if (s->conns[i] && t - s->conns[i]->last > IDLE_SECS)
				conn_close(s, i);
		if (t >= next_metrics) {
			struct hull_err *e = NULL;
			next_metrics = t + METRICS_PERIOD_SECS;
			if (api_flush_metrics(&s->vm, &e) < 0) {
				hull_warn("vm serve: %s", e->msg);
				hull_err_free(&e);
			}
		}
	}
}

int api_serve(const struct api_opts *o, int *exit_code, struct hull_err **err)
{
	struct server s = { .ep = -1, .lfd = -1, .sfd = -1, .vmm = { .done_evt = -1, .power_fd = -1 } };
	int r;

	*exit_code = MICROVM_EXIT_ERROR;
	if (!o->sock_path && !o->config_file)
		return hull_err_make(err, 0, "--api-sock or --config-file is required");
	s.vmm.ctl = microvm_ctl_new();
	s.vmm.seccomp = !o->no_seccomp;
	api_vm_init(&s.vm, o->id, &vmm_backend, &s.vmm);
	r = setup(&s, o, err);
	if (r == 0)
		r = loop(&s, exit_code, err);
	if (s.lfd >= 0) {
		close(s.lfd);
		unlink(o->sock_path);
	}
	for (unsigned int i = 0; i < API_MAX_CONNS; i++)
		if (s.conns[i])
			conn_close(&s, i);
	if (s.vmm.running) {
		/* a signal while the guest runs: the process exits with the VMM's
		 * threads still running (nothing of theirs outlives the process) */
		return r;
	}
	api_vm_free(&s.vm);
	microvm_ctl_free(s.vmm.ctl);
	hull_err_free(&s.vmm.err);
	for (int *fd = (int[]){ s.ep, s.sfd, s.vmm.done_evt, s.vmm.power_fd }, k = 0; k < 4; k++)
		if (fd[k] >= 0)
			close(fd[k]);
	return r;
}
