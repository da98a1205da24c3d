/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-console (virtio 1.2 §5.3), single port, no MULTIPORT: receiveq (0)
 * carries host input to the guest, transmitq (1) guest output to out_fd.
 *
 * Host input is never buffered here: we read from in_fd straight into a
 * receive buffer the guest posted.  With no buffer available we stop watching
 * in_fd until the guest kicks receiveq again, so a guest that never reads
 * cannot make the VMM grow memory (bounded buffering, Firecracker #2177).
 *
 * Locking: the event loop calls queue_notify with d->lock held; our in_fd
 * callback takes d->lock itself.  evloop_add/evloop_del are called with
 * d->lock held, so the event loop must not hold its own lock while running
 * callbacks.  in_fd and out_fd belong to the caller and are never closed.
 */
#include "microvm/virtio/virtio.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>

#define CONSOLE_RXQ 0
#define CONSOLE_TXQ 1
#define CONSOLE_QUEUE_SIZE 256
/* Receive buffers filled per in_fd wake-up, so a flood of host input cannot
 * monopolise the event loop (level-triggered: we are called again). */
#define CONSOLE_RX_BATCH 64

/* §5.3.4 struct virtio_console_config; all zero: no F_SIZE, MULTIPORT or
 * EMERG_WRITE is offered. */
struct console_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

struct console {
	int in_fd;
	int out_fd;
	bool active;                 /* between activate and reset */
	bool in_registered;          /* in_fd is being watched in d->loop */
	bool in_done;                /* host input hit EOF or failed: stop for good */
	bool out_warned;
};

static void console_input(void *opaque, uint32_t events);

static void arm_input(struct virtio_dev *d)
{
	struct console *con = d->priv;
	int r;

	if (!con->active || con->in_fd < 0 || con->in_done || con->in_registered || !d->loop)
		return;
	r = evloop_add(d->loop, con->in_fd, EPOLLIN, console_input, d);
	if (r < 0) {
		hull_warn("virtio-console: watch input fd %d: %s", con->in_fd, strerror(-r));
		con->in_done = true;
		return;
	}
	con->in_registered = true;
}

static void disarm_input(struct virtio_dev *d)
{
	struct console *con = d->priv;

	if (!con->in_registered)
		return;
	(void)evloop_del(d->loop, con->in_fd);
	con->in_registered = false;
}

/* Hand a popped chain back to the ring untouched: the descriptors are still
 * ours (nothing was put on the used ring), so the next pop re-reads and
 * re-validates the same avail slot. */
static void unpop(struct virtq *q)
{
	q->last_avail--;
}

static bool input_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/* Move host input into receive buffers.  Called with d->lock held. */
static void receive(struct virtio_dev *d)
{
	struct console *con = d->priv;
	struct virtq *q = &d->vqs[CONSOLE_RXQ];

	for (int i = 0; i < CONSOLE_RX_BATCH; i++) {
		struct iovec iov[64];
		struct virtq_chain c;
		unsigned int cnt = 0;
		ssize_t n;
		int r;

		if (virtio_dev_broken(d)) {
			disarm_input(d);  /* or level-triggered epoll spins on us */
			return;
		}
		if (!input_ready(con->in_fd))
			return;
		r = virtq_pop(q, &c);
		if (r < 0) {
			disarm_input(d);
			virtio_dev_set_broken(d, "malformed receiveq");
			return;
		}
		if (r == 0) {
			/* no buffer: leave the input in the host fd until the
			 * guest posts one and kicks receiveq */
			disarm_input(d);
			return;
		}
		for (unsigned int b = 0; b < c.n && cnt < ARRAY_SIZE(iov); b++)
			if (c.bufs[b].write)
				iov[cnt++] = (struct iovec){ .iov_base = c.bufs[b].hva, .iov_len = c.bufs[b].len };
		if (cnt == 0) {
			/* nothing writable to receive into: return it empty */
			virtio_dev_complete(d, CONSOLE_RXQ, c.head, 0);
			virtq_chain_release(&c);
			continue;
		}
		do
			n = readv(con->in_fd, iov, (int)cnt);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			/* n <= sum of u32 lens of at most 64 buffers, and the
			 * kernel caps a single read below 2 GiB */
			virtio_dev_complete(d, CONSOLE_RXQ, c.head, (uint32_t)n);
			virtq_chain_release(&c);
			continue;
		}
		unpop(q);
		virtq_chain_release(&c);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0)
			hull_warn("virtio-console: read input fd %d: %s", con->in_fd, strerror(errno));
		con->in_done = true;
		disarm_input(d);
		return;
	}
}

static void console_input(void *opaque, uint32_t events)
{
	struct virtio_dev *d = opaque;
	struct console *con = d->priv;

	pthread_mutex_lock(&d->lock);
	/* a reset may have unregistered us after epoll_wait returned */
	if (con->in_registered)
		receive(d);
	pthread_mutex_unlock(&d->lock);
}

/* Write to out_fd without letting a closed pipe kill the VMM with SIGPIPE:
 * block it for this thread, and swallow one we raised ourselves. */
static int write_out(int fd, const void *buf, size_t len)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe_set, old, pending;
	bool was_pending;
	int r;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	r = write_all(fd, buf, len);
	if (r == -EPIPE && !was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static void transmit(struct virtio_dev *d)
{
	struct console *con = d->priv;
	struct virtq_chain c;
	int r;

	while ((r = virtq_pop(&d->vqs[CONSOLE_TXQ], &c)) > 0) {
		for (unsigned int i = 0; i < c.n; i++) {
			if (c.bufs[i].write)
				break;
			r = write_out(con->out_fd, c.bufs[i].hva, c.bufs[i].len);
			if (r < 0 && !con->out_warned) {
				/* keep consuming so the guest never stalls on us */
				hull_warn("virtio-console: write output fd %d: %s (dropping output)",
					  con->out_fd, strerror(-r));
				con->out_warned = true;
			}
		}
		virtio_dev_complete(d, CONSOLE_TXQ, c.head, 0);
		virtq_chain_release(&c);
		if (virtio_dev_broken(d))
			return;
	}
	if (r < 0)
		virtio_dev_set_broken(d, "malformed transmitq");
}

static uint64_t console_features(struct virtio_dev *d)
{
	return 0;
}

static void console_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	static const struct console_config cfg;

	if (off >= sizeof(cfg) || len > sizeof(cfg) - off)
		return;
	memcpy(buf, (const uint8_t *)&cfg + off, len);
}

/* emerg_wr is only writable with F_EMERG_WRITE, which we do not offer. */
static void console_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
}

static int console_activate(struct virtio_dev *d)
{
	struct console *con = d->priv;

	con->active = true;
	arm_input(d);
	return 0;
}

static void console_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	if (virtio_dev_broken(d))
		return;
	if (qi == CONSOLE_RXQ)
		arm_input(d);  /* new receive buffers: resume reading host input */
	else if (qi == CONSOLE_TXQ)
		transmit(d);
}

static void console_reset(struct virtio_dev *d)
{
	struct console *con = d->priv;

	disarm_input(d);
	con->active = false;
}

static void console_destroy(struct virtio_dev *d)
{
	struct console *con = d->priv;

	if (!con)
		return;
	disarm_input(d);
	free(con);
	d->priv = NULL;
}

static const struct virtio_dev_ops console_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.pci_class = 0x07, /* communication, other */
	.pci_subclass = 0x80,
	.num_queues = 2,
	.queue_max_size = CONSOLE_QUEUE_SIZE,
	.config_size = sizeof(struct console_config),
	.features = console_features,
	.config_read = console_config_read,
	.config_write = console_config_write,
	.activate = console_activate,
	.queue_notify = console_queue_notify,
	.reset = console_reset,
	.destroy = console_destroy,
};

struct virtio_dev *virtio_console_create(int in_fd, int out_fd, struct hull_err **err)
{
	struct virtio_dev *d;
	struct console *con;

	if (out_fd < 0) {
		hull_err_make(err, EBADF, "virtio-console: no output fd");
		return NULL;
	}
	con = xcalloc(1, sizeof(*con));
	con->in_fd = in_fd;
	con->out_fd = out_fd;

	d = xcalloc(1, sizeof(*d));
	d->ops = &console_ops;
	d->priv = con;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

unsigned int virtio_console_count(const struct vm_config *cfg)
{
	return cfg->console == MICROVM_CONSOLE_VIRTIO;
}

struct virtio_dev *virtio_console_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	struct virtio_dev *d = virtio_console_create(cfg->console_in, cfg->console_out, err);

	if (!d)
		hull_err_wrap(err, "virtio-console");
	return d;
}
