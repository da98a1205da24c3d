/* SPDX-License-Identifier: Apache-2.0 */
/* Split virtqueue (virtio 1.2 §2.7): hostile rings written by hand into a
 * fake guest, plus the happy paths and EVENT_IDX interrupt decisions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_guest.h"

#define QSIZE 8

struct fx {
	struct fake_guest g;
	struct virtq q;
	struct virtq_chain c;
};

static int setup_queue(void **state, bool event_idx, bool indirect)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fg_init(&f->g);
	fg_setup_queue(&f->g, 0, &f->q, QSIZE, event_idx, indirect);
	*state = f;
	return 0;
}

static int setup_plain(void **state)
{
	return setup_queue(state, false, false);
}

static int setup_indirect(void **state)
{
	return setup_queue(state, false, true);
}

static int setup_event_idx(void **state)
{
	return setup_queue(state, true, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtq_chain_release(&f->c);
	fg_free(&f->g);
	free(f);
	return 0;
}

/* A malformed pop returns < 0, leaves no buffers behind and consumes nothing. */
static void expect_pop_fails(struct fx *f)
{
	uint16_t before = f->q.last_avail;

	assert_true(virtq_pop(&f->q, &f->c) < 0);
	assert_int_equal(f->c.n, 0);
	assert_null(f->c.bufs);
	assert_int_equal(f->q.last_avail, before);
}

/* ---- hostile descriptor chains ------------------------------------------ */

static void test_virtq_pop_rejects_descriptor_loop(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 64);

	fg_desc(&f->g, 0, 0, a, 16, DESC_F_NEXT, 1);
	fg_desc(&f->g, 0, 1, a + 16, 16, DESC_F_NEXT, 0);   /* next points back */
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_descriptor_pointing_at_itself(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, 0, 3, fg_alloc(&f->g, 16), 16, DESC_F_NEXT, 3);
	fg_avail_push(&f->g, 0, 3);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_next_past_size(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, 0, 0, fg_alloc(&f->g, 16), 16, DESC_F_NEXT, QSIZE);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_head_index_past_size(void **state)
{
	struct fx *f = *state;

	fg_avail_push(&f->g, 0, QSIZE);
	expect_pop_fails(f);
	fg_set_avail_idx(&f->g, 0, 0);
	fg_avail_push(&f->g, 0, 0xffff);
	expect_pop_fails(f);
}

/* Every descriptor of the table chained into a cycle: the walk must stop
 * after size descriptors, not spin. */
static void test_virtq_pop_rejects_chain_longer_than_queue(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 16 * QSIZE);

	for (unsigned int i = 0; i < QSIZE; i++)
		fg_desc(&f->g, 0, i, a + 16 * i, 16, DESC_F_NEXT, (i + 1) % QSIZE);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_accepts_chain_of_exactly_queue_size(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 16 * QSIZE);

	for (unsigned int i = 0; i < QSIZE; i++)
		fg_desc(&f->g, 0, i, a + 16 * i, 16, i + 1 < QSIZE ? DESC_F_NEXT : 0, i + 1);
	fg_avail_push(&f->g, 0, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.n, QSIZE);
	assert_int_equal(f->c.out_len, 16 * QSIZE);
}

static void test_virtq_pop_rejects_buffer_outside_guest_memory(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, 0, 0, FG_BASE - 0x1000, 16, 0, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_buffer_straddling_memory_end(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, 0, 0, FG_BASE + FG_SIZE - 8, 16, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_buffer_wrapping_past_2_64(void **state)
{
	struct fx *f = *state;

	/* addr + len wraps to FG_BASE + 0x10: inside memory if added naively */
	fg_desc(&f->g, 0, 0, UINT64_MAX - 0xf, (uint32_t)(FG_BASE + 0x20), 0, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_zero_length_buffer(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 32);

	fg_desc(&f->g, 0, 0, a, 16, DESC_F_NEXT, 1);
	fg_desc(&f->g, 0, 1, a + 16, 0, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_readable_after_writable(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 32);

	fg_desc(&f->g, 0, 0, a, 16, DESC_F_WRITE | DESC_F_NEXT, 1);
	fg_desc(&f->g, 0, 1, a + 16, 16, 0, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_indirect_without_negotiation(void **state)
{
	struct fx *f = *state;
	uint64_t t = f->g.q[0].indirect;

	fg_desc_at(&f->g, t, 0, fg_alloc(&f->g, 16), 16, 0, 0);
	fg_desc(&f->g, 0, 0, t, 16, DESC_F_INDIRECT, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_indirect_table_with_bad_length(void **state)
{
	static const uint32_t bad_lens[] = { 0, 8, 24, 16 * (VIRTQ_MAX_SIZE + 1) };
	struct fx *f = *state;
	uint64_t t = f->g.q[0].indirect;

	fg_desc_at(&f->g, t, 0, fg_alloc(&f->g, 16), 16, 0, 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad_lens); i++) {
		fg_desc(&f->g, 0, 0, t, bad_lens[i], DESC_F_INDIRECT, 0);
		fg_avail_push(&f->g, 0, 0);
		expect_pop_fails(f);
		fg_set_avail_idx(&f->g, 0, 0);
	}
}

static void test_virtq_pop_rejects_indirect_table_outside_memory(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, 0, 0, FG_BASE + FG_SIZE - 16, 32, DESC_F_INDIRECT, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_nested_indirect(void **state)
{
	struct fx *f = *state;
	uint64_t t = f->g.q[0].indirect, t2 = t + 0x100;

	fg_desc_at(&f->g, t2, 0, fg_alloc(&f->g, 16), 16, 0, 0);
	fg_desc_at(&f->g, t, 0, t2, 16, DESC_F_INDIRECT, 0);
	fg_desc(&f->g, 0, 0, t, 16, DESC_F_INDIRECT, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_indirect_descriptor_with_next_flag(void **state)
{
	struct fx *f = *state;
	uint64_t t = f->g.q[0].indirect;
	uint64_t a = fg_alloc(&f->g, 32);

	fg_desc_at(&f->g, t, 0, a, 16, 0, 0);
	fg_desc(&f->g, 0, 0, t, 16, DESC_F_INDIRECT | DESC_F_NEXT, 1);
	fg_desc(&f->g, 0, 1, a + 16, 16, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_next_past_indirect_table(void **state)
{
	struct fx *f = *state;
	uint64_t t = f->g.q[0].indirect;
	uint64_t a = fg_alloc(&f->g, 32);

	/* 2-entry table; next == 2 is inside the queue size but past the table */
	fg_desc_at(&f->g, t, 0, a, 16, DESC_F_NEXT, 1);
	fg_desc_at(&f->g, t, 1, a + 16, 16, DESC_F_NEXT, 2);
	fg_desc_at(&f->g, t, 2, a, 16, 0, 0);
	fg_desc(&f->g, 0, 0, t, 32, DESC_F_INDIRECT, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_loop_inside_indirect_table(void **state)
{
	struct fx *f = *state;
	uint64_t t = f->g.q[0].indirect;
	uint64_t a = fg_alloc(&f->g, 16);

	fg_desc_at(&f->g, t, 0, a, 16, DESC_F_NEXT, 1);
	fg_desc_at(&f->g, t, 1, a, 16, DESC_F_NEXT, 0);
	fg_desc(&f->g, 0, 0, t, 32, DESC_F_INDIRECT, 0);
	fg_avail_push(&f->g, 0, 0);
	expect_pop_fails(f);
}

static void test_virtq_pop_rejects_avail_idx_jump_past_size(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, 0, 0, fg_alloc(&f->g, 16), 16, 0, 0);
	fg_set_avail_idx(&f->g, 0, QSIZE + 1);
	expect_pop_fails(f);
	fg_set_avail_idx(&f->g, 0, 0x8000);
	expect_pop_fails(f);
}

static void test_virtq_pop_accepts_avail_idx_exactly_size_ahead(void **state)
{
	struct fx *f = *state;

	fg_desc(&f->g, 0, 0, fg_alloc(&f->g, 16), 16, 0, 0);
	fg_set_avail_idx(&f->g, 0, QSIZE);   /* ring slots are all 0 = head 0 */
	for (unsigned int i = 0; i < QSIZE; i++) {
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		virtq_chain_release(&f->c);
	}
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
}

/* ---- setup ---------------------------------------------------------------- */

static void test_virtq_setup_rejects_bad_sizes(void **state)
{
	static const uint16_t bad[] = { 0, 3, 6, 100, 1000, VIRTQ_MAX_SIZE * 2, 0xffff };
	struct fake_guest g;
	struct virtq q;

	fg_init(&g);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(virtq_setup(&q, &g.gm, bad[i], g.q[0].desc, g.q[0].avail, g.q[0].used, false,
					     false), -EINVAL);
		assert_false(q.ready);
	}
	assert_int_equal(virtq_setup(&q, &g.gm, 1, g.q[0].desc, g.q[0].avail, g.q[0].used, false, false), 0);
	assert_int_equal(virtq_setup(&q, &g.gm, VIRTQ_MAX_SIZE, g.q[0].desc, g.q[0].avail, g.q[0].used, false,
				     false), 0);
	assert_true(q.ready);
	fg_free(&g);
}

static void test_virtq_setup_rejects_misaligned_rings(void **state)
{
	struct fake_guest g;
	struct virtq q;
	uint64_t d = FG_DATA, a = FG_DATA + 0x1000, u = FG_DATA + 0x2000;

	fg_init(&g);
	assert_int_equal(virtq_setup(&q, &g.gm, 8, d + 8, a, u, false, false), -EINVAL);
	assert_int_equal(virtq_setup(&q, &g.gm, 8, d, a + 1, u, false, false), -EINVAL);
	assert_int_equal(virtq_setup(&q, &g.gm, 8, d, a, u + 2, false, false), -EINVAL);
	assert_int_equal(virtq_setup(&q, &g.gm, 8, d, a + 2, u + 4, false, false), 0);
	fg_free(&g);
}

static void test_virtq_setup_rejects_rings_outside_memory(void **state)
{
	const uint64_t end = FG_BASE + FG_SIZE;
	struct fake_guest g;
	struct virtq q;
	uint64_t d = FG_DATA, a = FG_DATA + 0x1000, u = FG_DATA + 0x2000;

	fg_init(&g);
	/* each ring runs past the end of the region by 2..16 bytes */
	assert_int_equal(virtq_setup(&q, &g.gm, 8, end - 16 * 8 + 16, a, u, false, false), -EFAULT);
	assert_int_equal(virtq_setup(&q, &g.gm, 8, d, end - (6 + 2 * 8) + 2, u, false, false), -EFAULT);
	assert_int_equal(virtq_setup(&q, &g.gm, 8, d, a, end - 68, false, false), -EFAULT);
	assert_int_equal(virtq_setup(&q, &g.gm, 8, 0, a, u, false, false), -EFAULT);
	assert_int_equal(virtq_setup(&q, &g.gm, 8, UINT64_MAX - 15, a, u, false, false), -EFAULT);
	/* exactly at the end is fine */
	assert_int_equal(virtq_setup(&q, &g.gm, 8, end - 16 * 8, end - 0x400 - 22, end - 72, false, false), 0);
	fg_free(&g);
}

/* ---- happy paths ------------------------------------------------------------ */

static void test_virtq_pop_collects_three_buffer_chain(void **state)
{
	struct fx *f = *state;
	uint64_t hdr = fg_alloc(&f->g, 16), data = fg_alloc(&f->g, 100), st = fg_alloc(&f->g, 1);

	fg_desc(&f->g, 0, 5, hdr, 16, DESC_F_NEXT, 2);
	fg_desc(&f->g, 0, 2, data, 100, DESC_F_NEXT, 7);
	fg_desc(&f->g, 0, 7, st, 1, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 5);

	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 5);
	assert_int_equal(f->c.n, 3);
	assert_int_equal(f->c.out_len, 116);
	assert_int_equal(f->c.in_len, 1);
	assert_ptr_equal(f->c.bufs[0].hva, fg_hva(&f->g, hdr));
	assert_int_equal(f->c.bufs[1].gpa, data);
	assert_int_equal(f->c.bufs[1].len, 100);
	assert_false(f->c.bufs[1].write);
	assert_true(f->c.bufs[2].write);
	assert_ptr_equal(f->c.bufs[2].hva, fg_hva(&f->g, st));
	assert_int_equal(f->q.last_avail, 1);
	virtq_chain_release(&f->c);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
}

static void test_virtq_pop_collects_indirect_chain(void **state)
{
	struct fx *f = *state;
	uint64_t t = f->g.q[0].indirect;
	uint64_t a = fg_alloc(&f->g, 64);

	fg_desc_at(&f->g, t, 0, a, 16, DESC_F_NEXT, 2);
	fg_desc_at(&f->g, t, 2, a + 16, 32, DESC_F_WRITE | DESC_F_NEXT, 1);
	fg_desc_at(&f->g, t, 1, a + 48, 1, DESC_F_WRITE, 0);
	/* §2.7.5.3.2: the WRITE flag on the indirect descriptor is ignored */
	fg_desc(&f->g, 0, 4, t, 48, DESC_F_INDIRECT | DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 4);

	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 4);
	assert_int_equal(f->c.n, 3);
	assert_int_equal(f->c.out_len, 16);
	assert_int_equal(f->c.in_len, 33);
	assert_int_equal(f->c.bufs[1].gpa, a + 16);
	assert_int_equal(f->c.bufs[2].gpa, a + 48);
}

static void test_virtq_pop_returns_empty_ring_and_unready_queue(void **state)
{
	struct fx *f = *state;
	struct virtq unready = { 0 };

	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	fg_avail_push(&f->g, 0, 0);
	assert_int_equal(virtq_pop(&unready, &f->c), 0);
}

static void test_virtq_push_writes_used_element_then_idx(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	assert_int_equal(virtq_push(&f->q, 5, 77), 0);
	assert_int_equal(fg_used_idx(&f->g, 0), 1);
	fg_used_elem(&f->g, 0, 0, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, 77);

	/* the used ring wraps: element size+1 lands in slot 1 again */
	for (unsigned int i = 1; i <= QSIZE; i++)
		assert_int_equal(virtq_push(&f->q, (uint16_t)(i % QSIZE), i), 0);
	assert_int_equal(fg_used_idx(&f->g, 0), QSIZE + 1);
	fg_used_elem(&f->g, 0, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, QSIZE);
}

static void test_virtq_push_rejects_head_past_size(void **state)
{
	struct fx *f = *state;

	assert_int_equal(virtq_push(&f->q, QSIZE, 1), -EINVAL);
	assert_int_equal(fg_used_idx(&f->g, 0), 0);
}

static void test_virtq_used_idx_wraps_at_65536(void **state)
{
	struct fx *f = *state;

	f->q.used_idx = 0xffff;
	assert_int_equal(virtq_push(&f->q, 1, 1), 0);
	assert_int_equal(fg_used_idx(&f->g, 0), 0);
}

static void test_virtq_chain_read_write_cross_buffers_with_offsets(void **state)
{
	struct fx *f = *state;
	uint64_t r0 = fg_alloc(&f->g, 4), r1 = fg_alloc(&f->g, 4), w0 = fg_alloc(&f->g, 3), w1 = fg_alloc(&f->g, 5);
	uint8_t out[16] = { 0 };

	memcpy(fg_hva(&f->g, r0), "abcd", 4);
	memcpy(fg_hva(&f->g, r1), "efgh", 4);
	fg_desc(&f->g, 0, 0, r0, 4, DESC_F_NEXT, 1);
	fg_desc(&f->g, 0, 1, r1, 4, DESC_F_NEXT, 2);
	fg_desc(&f->g, 0, 2, w0, 3, DESC_F_WRITE | DESC_F_NEXT, 3);
	fg_desc(&f->g, 0, 3, w1, 5, DESC_F_WRITE, 0);
	fg_avail_push(&f->g, 0, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);

	assert_int_equal(virtq_chain_read(&f->c, 2, out, 5), 5);
	assert_memory_equal(out, "cdefg", 5);
	/* reads stop at the end of the readable part, never into writable */
	assert_int_equal(virtq_chain_read(&f->c, 6, out, sizeof(out)), 2);
	assert_memory_equal(out, "gh", 2);
	assert_int_equal(virtq_chain_read(&f->c, 8, out, 1), 0);

	assert_int_equal(virtq_chain_write(&f->c, 2, "XYZUVWQ", 7), 6);
	assert_memory_equal(fg_hva(&f->g, w0), "\0\0X", 3);
	assert_memory_equal(fg_hva(&f->g, w1), "YZUVW", 5);
	assert_memory_equal(fg_hva(&f->g, r0), "abcd", 4);   /* readable untouched */
	assert_int_equal(virtq_chain_write(&f->c, 8, "X", 1), 0);
}

/* ---- interrupt suppression ---------------------------------------------- */

static void test_virtq_should_signal_honours_no_interrupt_flag(void **state)
{
	struct fx *f = *state;

	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_true(virtq_should_signal(&f->q));
	fg_set_avail_flags(&f->g, 0, 1);   /* VRING_AVAIL_F_NO_INTERRUPT */
	assert_false(virtq_should_signal(&f->q));
}

static void test_virtq_should_signal_follows_used_event(void **state)
{
	struct fx *f = *state;

	/* first decision after setup always signals (nothing signalled yet) */
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	fg_set_used_event(&f->g, 0, 5);
	assert_true(virtq_should_signal(&f->q));

	/* used 1 -> 3: the driver asked for an interrupt after entry 5 */
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_false(virtq_should_signal(&f->q));

	/* used 3 -> 6 crosses used_event 5 */
	for (int i = 0; i < 3; i++)
		assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_true(virtq_should_signal(&f->q));

	/* no new used entries: never signal twice for the same batch */
	assert_false(virtq_should_signal(&f->q));

	/* used_event == new - 1: exactly the entry just published */
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	fg_set_used_event(&f->g, 0, 6);
	assert_true(virtq_should_signal(&f->q));

	/* the NO_INTERRUPT flag is ignored with EVENT_IDX */
	fg_set_avail_flags(&f->g, 0, 1);
	fg_set_used_event(&f->g, 0, 7);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_true(virtq_should_signal(&f->q));
}

static void test_virtq_should_signal_handles_index_wrap_at_65535(void **state)
{
	struct fx *f = *state;

	f->q.used_idx = 0xfffe;
	f->q.signalled_used = 0xfffe;
	f->q.signalled_used_valid = true;

	/* old 0xfffe -> new 0x0000 passes used_event 0xffff */
	fg_set_used_event(&f->g, 0, 0xffff);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_int_equal(f->q.used_idx, 0);
	assert_true(virtq_should_signal(&f->q));

	/* old 0x0000 -> new 0x0002 does not reach used_event 0x0002 */
	fg_set_used_event(&f->g, 0, 2);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_false(virtq_should_signal(&f->q));

	/* used_event far behind (0xfff0) is not re-triggered by the wrap */
	fg_set_used_event(&f->g, 0, 0xfff0);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_false(virtq_should_signal(&f->q));
}

static void test_virtq_pop_publishes_avail_event(void **state)
{
	struct fx *f = *state;
	uint64_t a = fg_alloc(&f->g, 16);

	fg_desc(&f->g, 0, 0, a, 16, 0, 0);
	fg_avail_push(&f->g, 0, 0);
	fg_avail_push(&f->g, 0, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(fg_avail_event(&f->g, 0), 1);
	virtq_chain_release(&f->c);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(fg_avail_event(&f->g, 0), 2);
	virtq_chain_release(&f->c);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	assert_int_equal(fg_avail_event(&f->g, 0), 2);
}

#define T(fn, s) cmocka_unit_test_setup_teardown(fn, s, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_virtq_pop_rejects_descriptor_loop, setup_plain),
		T(test_virtq_pop_rejects_descriptor_pointing_at_itself, setup_plain),
		T(test_virtq_pop_rejects_next_past_size, setup_plain),
		T(test_virtq_pop_rejects_head_index_past_size, setup_plain),
		T(test_virtq_pop_rejects_chain_longer_than_queue, setup_plain),
		T(test_virtq_pop_accepts_chain_of_exactly_queue_size, setup_plain),
		T(test_virtq_pop_rejects_buffer_outside_guest_memory, setup_plain),
		T(test_virtq_pop_rejects_buffer_straddling_memory_end, setup_plain),
		T(test_virtq_pop_rejects_buffer_wrapping_past_2_64, setup_plain),
		T(test_virtq_pop_rejects_zero_length_buffer, setup_plain),
		T(test_virtq_pop_rejects_readable_after_writable, setup_plain),
		T(test_virtq_pop_rejects_indirect_without_negotiation, setup_plain),
		T(test_virtq_pop_rejects_indirect_table_with_bad_length, setup_indirect),
		T(test_virtq_pop_rejects_indirect_table_outside_memory, setup_indirect),
		T(test_virtq_pop_rejects_nested_indirect, setup_indirect),
		T(test_virtq_pop_rejects_indirect_descriptor_with_next_flag, setup_indirect),
		T(test_virtq_pop_rejects_next_past_indirect_table, setup_indirect),
		T(test_virtq_pop_rejects_loop_inside_indirect_table, setup_indirect),
		T(test_virtq_pop_rejects_avail_idx_jump_past_size, setup_plain),
		T(test_virtq_pop_accepts_avail_idx_exactly_size_ahead, setup_plain),
		cmocka_unit_test(test_virtq_setup_rejects_bad_sizes),
		cmocka_unit_test(test_virtq_setup_rejects_misaligned_rings),
		cmocka_unit_test(test_virtq_setup_rejects_rings_outside_memory),
		T(test_virtq_pop_collects_three_buffer_chain, setup_plain),
		T(test_virtq_pop_collects_indirect_chain, setup_indirect),
		T(test_virtq_pop_returns_empty_ring_and_unready_queue, setup_plain),
		T(test_virtq_push_writes_used_element_then_idx, setup_plain),
		T(test_virtq_push_rejects_head_past_size, setup_plain),
		T(test_virtq_used_idx_wraps_at_65536, setup_plain),
		T(test_virtq_chain_read_write_cross_buffers_with_offsets, setup_plain),
		T(test_virtq_should_signal_honours_no_interrupt_flag, setup_plain),
		T(test_virtq_should_signal_follows_used_event, setup_event_idx),
		T(test_virtq_should_signal_handles_index_wrap_at_65535, setup_event_idx),
		T(test_virtq_pop_publishes_avail_event, setup_event_idx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
