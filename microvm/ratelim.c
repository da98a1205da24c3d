/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rate limiters (Firecracker's): two token buckets per queue, bytes and
 * operations, each refilled continuously at size tokens per refill time,
 * plus a one-time burst spent first.  A throttled queue is retried by a
 * timerfd set for the moment the buckets hold enough, never by polling.
 * Runs on the event loop thread under the device's lock (ratelim_set from
 * the API thread takes the same lock).
 */
#include "microvm/internal.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t clamp128(unsigned __int128 v)
{
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

void tbucket_init(struct tbucket *b, const struct vm_bucket *cfg, uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	if (!cfg->size || !cfg->refill_ms)
		return;  /* Firecracker: no bucket at all */
	b->size = cfg->size;
	b->refill_ns = sat_mul(cfg->refill_ms, 1000000u);
	b->budget = cfg->size;  /* starts full */
	b->burst = cfg->one_time_burst;
	b->last_ns = now_ns;
}

static void refill(struct tbucket *b, uint64_t now_ns)
{
	uint64_t add, room, used_ns;

	if (!b->size || now_ns <= b->last_ns)
		return;
	add = clamp128((unsigned __int128)(now_ns - b->last_ns) * b->size / b->refill_ns);
	if (add == 0)
		return;  /* keep last_ns: the fraction accumulates */
	room = b->size - b->budget;
	if (add >= room && add - room >= b->debt) {
		b->debt = 0;
		b->budget = b->size;
		b->last_ns = now_ns;
		return;
	}
	/* advance only by the time those tokens took, keeping the remainder */
	used_ns = clamp128((unsigned __int128)add * b->refill_ns / b->size);
	b->last_ns += used_ns;
	if (add <= b->debt) {
		b->debt -= add;
		return;
	}
	add -= b->debt;
	b->debt = 0;
	b->budget += add;  /* add < room here */
}

static bool can_take(const struct tbucket *b, uint64_t tokens)
{
	if (!b->size)
		return true;
	if (b->debt)
		return false;
	if (tokens <= b->burst || tokens - b->burst <= b->budget)
		return true;
	/* larger than the bucket: once it is full, so it cannot starve */
	return tokens - b->burst > b->size && b->budget == b->size;
}

static void take(struct tbucket *b, uint64_t tokens)
{
	uint64_t from_burst = tokens < b->burst ? tokens : b->burst;

	if (!b->size)
		return;
	b->burst -= from_burst;
	tokens -= from_burst;
	if (tokens <= b->budget) {
		b->budget -= tokens;
	} else {
		b->debt = tokens - b->budget;
		b->budget = 0;
	}
}

bool tbucket_take(struct tbucket *b, uint64_t tokens, uint64_t now_ns)
{
	refill(b, now_ns);
	if (!can_take(b, tokens))
		return false;
	take(b, tokens);
	return true;
}

uint64_t tbucket_wait_ns(const struct tbucket *b, uint64_t tokens, uint64_t now_ns)
{
	uint64_t want, need, ns, since;

	if (can_take(b, tokens))
		return 1;
	/* refused: tokens > burst, and the wait is for the debt plus what the
	 * budget lacks (the whole bucket for a request larger than it) */
	want = tokens > b->burst ? tokens - b->burst : 0;
	if (want > b->size)
		want = b->size;
	need = b->debt > UINT64_MAX - want ? UINT64_MAX : b->debt + want;
	need -= need > b->budget ? b->budget : need;
	ns = clamp128(((unsigned __int128)need * b->refill_ns + b->size - 1) / b->size);
	since = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
	return ns > since ? ns - since : 1;
}

/* ---- a queue's limiter ---------------------------------------------------------- */

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ratelim_init(struct ratelim *r)
{
	memset(r, 0, sizeof(*r));
	r->timer_fd = -1;
}

static void arm(struct ratelim *r, uint64_t ns)
{
	struct itimerspec it = { .it_value = { .tv_sec = (time_t)(ns / 1000000000u),
					       .tv_nsec = (long)(ns % 1000000000u) } };

	if (it.it_value.tv_sec < 0)
		it.it_value.tv_sec = INT32_MAX;  /* absurd waits still end */
	if (timerfd_settime(r->timer_fd, 0, &it, NULL) < 0)
		hull_warn("rate limiter: timerfd_settime: %s", strerror(errno));
}

void ratelim_set(struct ratelim *r, const struct vm_rate_limiter *cfg)
{
	uint64_t now = monotonic_ns();

	if (memcmp(&r->bw.cfg, &cfg->bw, sizeof(cfg->bw)) != 0)
		tbucket_init(&r->bw, &cfg->bw, now);
	if (memcmp(&r->ops.cfg, &cfg->ops, sizeof(cfg->ops)) != 0)
		tbucket_init(&r->ops, &cfg->ops, now);
	if (r->blocked && r->timer_fd >= 0)
		arm(r, 1);  /* retry under the new settings */
}

bool ratelim_consume(struct ratelim *r, uint64_t bytes, struct evloop *loop, evloop_cb cb, void *opaque)
{
	uint64_t now, w1, w2;

	if (!ratelim_limits(r))
		return true;
	if (r->blocked)
		return false;  /* the timer retries; a kick meanwhile changes nothing */
	now = monotonic_ns();
	/* both or neither: refill both, check both, then take */
	refill(&r->bw, now);
	refill(&r->ops, now);
	if (can_take(&r->bw, bytes) && can_take(&r->ops, 1)) {
		take(&r->bw, bytes);
		take(&r->ops, 1);
		return true;
	}
	__atomic_fetch_add(&r->throttled, 1, __ATOMIC_RELAXED);
	if (r->timer_fd < 0) {
		r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (r->timer_fd < 0) {
			/* without a timer the queue could stall: let it through */
			hull_warn("rate limiter: timerfd_create: %s", strerror(errno));
			return true;
		}
	}
	if (!r->watched) {
		int e = evloop_add(loop, r->timer_fd, EPOLLIN, cb, opaque);
		if (e < 0) {
			hull_warn("rate limiter: watch timer: %s", strerror(-e));
			return true;
		}
		r->watched = true;
	}
	w1 = can_take(&r->bw, bytes) ? 1 : tbucket_wait_ns(&r->bw, bytes, now);
	w2 = can_take(&r->ops, 1) ? 1 : tbucket_wait_ns(&r->ops, 1, now);
	arm(r, w1 > w2 ? w1 : w2);
	r->blocked = true;
	return false;
}

void ratelim_timer_fired(struct ratelim *r)
{
	uint64_t n;

	if (r->timer_fd >= 0 && read(r->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		hull_debug("rate limiter: read timerfd: %s", strerror(errno));
	r->blocked = false;
}

void ratelim_stop(struct ratelim *r, struct evloop *loop)
{
	if (r->watched) {
		(void)evloop_del(loop, r->timer_fd);
		r->watched = false;
	}
	if (r->timer_fd >= 0)
		arm(r, 0);  /* it_value 0 disarms */
	r->blocked = false;
}

void ratelim_free(struct ratelim *r, struct evloop *loop)
{
	ratelim_stop(r, loop);
	if (r->timer_fd >= 0)
		close(r->timer_fd);
	r->timer_fd = -1;
}
