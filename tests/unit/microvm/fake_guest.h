/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fake guest for virtio unit tests: one malloc'd region registered with
 * gm_add_region, split rings written by hand, and a fake transport that
 * counts interrupts.  No KVM.  Include after <cmocka.h>.
 *
 * Layout (guest physical):
 *   FG_BASE + q*FG_QSTRIDE   queue q: desc table, avail at +0x4000, used at
 *                            +0x5000, an indirect-table scratch area at +0x8000
 *   FG_DATA ...              bump-allocated data buffers (fg_alloc)
 */
#ifndef HULL_TESTS_FAKE_GUEST_H
#define HULL_TESTS_FAKE_GUEST_H

#include "microvm/virtio/virtio.h"

#include <endian.h>
#include <sys/mman.h>

#define FG_BASE 0x100000ull
#define FG_SIZE (2ull << 20)
#define FG_QSTRIDE 0x10000ull
#define FG_NQUEUES 8
#define FG_DATA (FG_BASE + FG_NQUEUES * FG_QSTRIDE)

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define DESC_F_INDIRECT 4

struct fake_queue {
	uint64_t desc, avail, used, indirect;
	uint16_t size;
	uint16_t avail_idx;
};

struct fake_guest {
	struct guest_mem gm;
	uint8_t *ram;
	int memfd;          /* fg_init_shared: the RAM's sealed memfd, else -1 */
	struct fake_queue q[FG_NQUEUES];
	uint64_t data_next;
};

static inline void fg_layout(struct fake_guest *g)
{
	for (unsigned int i = 0; i < FG_NQUEUES; i++) {
		uint64_t base = FG_BASE + i * FG_QSTRIDE;

		g->q[i] = (struct fake_queue){ .desc = base, .avail = base + 0x4000, .used = base + 0x5000,
					       .indirect = base + 0x8000 };
	}
	g->data_next = FG_DATA;
}

static inline void fg_init(struct fake_guest *g)
{
	memset(g, 0, sizeof(*g));
	g->memfd = -1;
	g->ram = calloc(1, FG_SIZE);
	assert_non_null(g->ram);
	assert_int_equal(gm_add_region(&g->gm, FG_BASE, FG_SIZE, g->ram, NULL), 0);
	fg_layout(g);
}

/* RAM that a vhost-user backend can map too, registered with its fd: a
 * memfd sealed against shrinking, or with sealed false an unsealed one (a
 * tmpfs file, like the VMM's huge-page guest RAM for --fs). */
static inline void fg_init_shared_sealed(struct fake_guest *g, bool sealed)
{
	memset(g, 0, sizeof(*g));
	g->memfd = memfd_create("fake-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(g->memfd >= 0);
	assert_int_equal(ftruncate(g->memfd, FG_SIZE), 0);
	if (sealed)
		assert_int_equal(fcntl(g->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	g->ram = mmap(NULL, FG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
	assert_true(g->ram != MAP_FAILED);
	assert_int_equal(gm_add_region_fd(&g->gm, FG_BASE, FG_SIZE, g->ram, g->memfd, 0, NULL), 0);
	fg_layout(g);
}

static inline void fg_init_shared(struct fake_guest *g)
{
	fg_init_shared_sealed(g, true);
}

static inline void fg_free(struct fake_guest *g)
{
	if (g->memfd >= 0) {
		munmap(g->ram, FG_SIZE);
		close(g->memfd);
		g->memfd = -1;
	} else {
		free(g->ram);
	}
	g->ram = NULL;
}

static inline void *fg_hva(struct fake_guest *g, uint64_t gpa)
{
	assert_true(gpa >= FG_BASE && gpa - FG_BASE < FG_SIZE);
	return g->ram + (gpa - FG_BASE);
}

/* Bump-allocate len bytes of guest data (16-byte aligned, zeroed). */
static inline uint64_t fg_alloc(struct fake_guest *g, uint64_t len)
{
	uint64_t gpa = g->data_next;

	assert_true(len <= FG_BASE + FG_SIZE - gpa);
	memset(fg_hva(g, gpa), 0, len);
	g->data_next = (gpa + len + 15) & ~15ull;
	return gpa;
}

static inline void fg_put16(struct fake_guest *g, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(fg_hva(g, gpa), &v, sizeof(v));
}

static inline uint16_t fg_get16(struct fake_guest *g, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, fg_hva(g, gpa), sizeof(v));
	return le16toh(v);
}

static inline uint32_t fg_get32(struct fake_guest *g, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, fg_hva(g, gpa), sizeof(v));
	return le32toh(v);
}

/* Write descriptor i of the table at table_gpa. */
static inline void fg_desc_at(struct fake_guest *g, uint64_t table_gpa, unsigned int i, uint64_t addr,
			      uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = fg_hva(g, table_gpa + 16ull * i);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

static inline void fg_desc(struct fake_guest *g, unsigned int qi, unsigned int i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	fg_desc_at(g, g->q[qi].desc, i, addr, len, flags, next);
}

/* Publish head on the avail ring and bump avail->idx. */
static inline void fg_avail_push(struct fake_guest *g, unsigned int qi, uint16_t head)
{
	struct fake_queue *fq = &g->q[qi];

	fg_put16(g, fq->avail + 4 + 2ull * (fq->avail_idx % fq->size), head);
	fq->avail_idx++;
	fg_put16(g, fq->avail + 2, fq->avail_idx);
}

static inline void fg_set_avail_idx(struct fake_guest *g, unsigned int qi, uint16_t idx)
{
	g->q[qi].avail_idx = idx;
	fg_put16(g, g->q[qi].avail + 2, idx);
}

static inline void fg_set_avail_flags(struct fake_guest *g, unsigned int qi, uint16_t flags)
{
	fg_put16(g, g->q[qi].avail, flags);
}

static inline void fg_set_used_event(struct fake_guest *g, unsigned int qi, uint16_t v)
{
	fg_put16(g, g->q[qi].avail + 4 + 2ull * g->q[qi].size, v);
}

static inline uint16_t fg_avail_event(struct fake_guest *g, unsigned int qi)
{
	return fg_get16(g, g->q[qi].used + 4 + 8ull * g->q[qi].size);
}

static inline uint16_t fg_used_idx(struct fake_guest *g, unsigned int qi)
{
	return fg_get16(g, g->q[qi].used + 2);
}

static inline void fg_used_elem(struct fake_guest *g, unsigned int qi, uint16_t slot, uint32_t *id, uint32_t *len)
{
	uint64_t e = g->q[qi].used + 4 + 8ull * (slot % g->q[qi].size);

	*id = fg_get32(g, e);
	*len = fg_get32(g, e + 4);
}

static inline void fg_setup_queue(struct fake_guest *g, unsigned int qi, struct virtq *q, uint16_t size,
				  bool event_idx, bool indirect)
{
	g->q[qi].size = size;
	g->q[qi].avail_idx = 0;
	assert_int_equal(virtq_setup(q, &g->gm, size, g->q[qi].desc, g->q[qi].avail, g->q[qi].used, event_idx,
				     indirect), 0);
}

/* ---- fake transport ----------------------------------------------------- */

struct fake_transport {
	unsigned int used_signals[VIRTIO_MAX_QUEUES];
	unsigned int config_signals;
};

static inline void fake_signal_used(struct virtio_dev *d, unsigned int q)
{
	struct fake_transport *t = d->transport;

	assert_true(q < VIRTIO_MAX_QUEUES);
	t->used_signals[q]++;
}

static inline void fake_signal_config(struct virtio_dev *d)
{
	struct fake_transport *t = d->transport;

	t->config_signals++;
}

/* What the transport does at DRIVER_OK: wire memory and interrupts, set up
 * every queue of the device at its fake-guest slot, activate. */
static inline void fg_attach(struct fake_guest *g, struct virtio_dev *d, struct fake_transport *t,
			     struct evloop *loop, uint16_t qsize)
{
	memset(t, 0, sizeof(*t));
	d->gm = &g->gm;
	d->loop = loop;
	d->transport = t;
	d->signal_used = fake_signal_used;
	d->signal_config = fake_signal_config;
	assert_true(d->ops->num_queues <= FG_NQUEUES);
	for (unsigned int i = 0; i < d->ops->num_queues; i++)
		fg_setup_queue(g, i, &d->vqs[i], qsize, false, false);
	d->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		    VIRTIO_STATUS_DRIVER_OK;
	assert_int_equal(d->ops->activate(d), 0);
}

/* The transport's side of a kick: lock, notify, unlock. */
static inline void fg_kick(struct virtio_dev *d, unsigned int q)
{
	pthread_mutex_lock(&d->lock);
	d->ops->queue_notify(d, q);
	pthread_mutex_unlock(&d->lock);
}

#endif
