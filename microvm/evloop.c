/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event loop: one epoll thread (the thread that called microvm_run)
 * that runs ioeventfd notifications, host console input and device fds.
 * Callbacks may add and delete fds, including their own.
 */
#include "microvm/internal.h"

#include <sys/epoll.h>

struct ev_entry {
	int fd;
	evloop_cb cb;
	void *opaque;
	bool dead;
	struct ev_entry *next;
};

struct evloop {
	int epfd;
	pthread_mutex_t lock;
	struct ev_entry *entries;
	atomic_bool stop;
};

struct evloop *evloop_new(struct hull_err **err)
{
	struct evloop *l;
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0) {
		hull_err_make(err, errno, "epoll_create1");
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->epfd = fd;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	struct ev_entry *e = xcalloc(1, sizeof(*e));
	struct epoll_event ev = { .events = events, .data.ptr = e };

	e->fd = fd;
	e->cb = cb;
	e->opaque = opaque;
	pthread_mutex_lock(&l->lock);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;
		pthread_mutex_unlock(&l->lock);
		free(e);
		return r;
	}
	e->next = l->entries;
	l->entries = e;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

/* Entries are only marked dead here and freed by the loop between epoll
 * rounds, so an event already returned by epoll_wait never points at freed
 * memory. */
int evloop_del(struct evloop *l, int fd)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&l->lock);
	for (struct ev_entry *e = l->entries; e; e = e->next) {
		if (e->fd == fd && !e->dead) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			e->dead = true;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

static void reap(struct evloop *l)
{
	pthread_mutex_lock(&l->lock);
	for (struct ev_entry **pp = &l->entries; *pp;) {
		struct ev_entry *e = *pp;
		if (e->dead) {
			*pp = e->next;
			free(e);
		} else {
			pp = &e->next;
		}
	}
	pthread_mutex_unlock(&l->lock);
}

int evloop_run(struct evloop *l, struct hull_err **err)
{
	struct epoll_event evs[32];

	while (!atomic_load(&l->stop)) {
		int n = epoll_wait(l->epfd, evs, ARRAY_SIZE(evs), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hull_err_make(err, errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct ev_entry *e = evs[i].data.ptr;
			bool dead;
			pthread_mutex_lock(&l->lock);
			dead = e->dead;
			pthread_mutex_unlock(&l->lock);
			if (!dead)
				e->cb(e->opaque, evs[i].events);
		}
		reap(l);
	}
	return 0;
}

void evloop_stop(struct evloop *l)
{
	atomic_store(&l->stop, true);
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	for (struct ev_entry *e = l->entries; e;) {
		struct ev_entry *n = e->next;
		free(e);
		e = n;
	}
	close(l->epfd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
