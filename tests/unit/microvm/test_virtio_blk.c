/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk against a temp file, driven through ops->activate and
 * ops->queue_notify with a fake transport (no KVM, no event loop). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_guest.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#define SECTORS 64
#define QSIZE 16

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define S_UNTOUCHED 0xee

struct fx {
	struct fake_guest g;
	struct fake_transport t;
	struct virtio_dev *d;
	char path[64];
	uint16_t next_desc;
};

/* Byte i of the disk initially holds i * 7 (mod 256). */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7);
}

static void make_disk(struct fx *f)
{
	uint8_t buf[SECTORS * 512];
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/hull-test-blk.XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	assert_int_equal(write_all(fd, buf, sizeof(buf)), 0);
	close(fd);
}

static int open_dev(void **state, bool readonly)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct hull_err *err = NULL;

	fg_init(&f->g);
	make_disk(f);
	f->d = virtio_blk_create(f->path, readonly, &err);
	assert_non_null(f->d);
	fg_attach(&f->g, f->d, &f->t, NULL, QSIZE);
	*state = f;
	return 0;
}

static int setup_rw(void **state)
{
	return open_dev(state, false);
}

static int setup_ro(void **state)
{
	return open_dev(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_dev_destroy(f->d);
	unlink(f->path);
	fg_free(&f->g);
	free(f);
	return 0;
}

/* A guest request as separate buffers: header, optional readable payload,
 * optional writable data, 1-byte status. */
struct req {
	uint32_t type;
	uint64_t sector;
	const void *out;
	uint32_t out_len;
	uint32_t in_len;
	uint64_t in_gpa;      /* set by submit */
	uint64_t status_gpa;  /* set by submit */
};

static uint16_t add_desc(struct fx *f, uint64_t addr, uint32_t len, uint16_t flags, bool more)
{
	uint16_t i = f->next_desc++ % QSIZE;

	fg_desc(&f->g, 0, i, addr, len, flags | (more ? DESC_F_NEXT : 0), (uint16_t)((i + 1) % QSIZE));
	return i;
}

static void post(struct fx *f, struct req *r)
{
	uint64_t hdr = fg_alloc(&f->g, 16);
	uint8_t *h = fg_hva(&f->g, hdr);
	uint32_t type = htole32(r->type);
	uint64_t sector = htole64(r->sector);
	uint16_t head;

	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	r->status_gpa = fg_alloc(&f->g, 1);
	*(uint8_t *)fg_hva(&f->g, r->status_gpa) = S_UNTOUCHED;

	head = add_desc(f, hdr, 16, 0, true);
	if (r->out_len) {
		uint64_t o = fg_alloc(&f->g, r->out_len);

		memcpy(fg_hva(&f->g, o), r->out, r->out_len);
		add_desc(f, o, r->out_len, 0, true);
	}
	if (r->in_len) {
		r->in_gpa = fg_alloc(&f->g, r->in_len);
		add_desc(f, r->in_gpa, r->in_len, DESC_F_WRITE, true);
	}
	add_desc(f, r->status_gpa, 1, DESC_F_WRITE, false);
	fg_avail_push(&f->g, 0, head);
}

/* Post, kick, and return the status byte the device wrote. */
static uint8_t submit(struct fx *f, struct req *r)
{
	post(f, r);
	fg_kick(f->d, 0);
	return *(uint8_t *)fg_hva(&f->g, r->status_gpa);
}

static void read_disk(struct fx *f, uint64_t off, void *buf, size_t len)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void test_blk_reads_sectors_into_guest_buffer(void **state)
{
	struct fx *f = *state;
	struct req r = { .type = T_IN, .sector = 3, .in_len = 1024 };
	uint32_t id, len;
	uint8_t *data;

	assert_int_equal(submit(f, &r), S_OK);
	data = fg_hva(&f->g, r.in_gpa);
	for (unsigned int i = 0; i < 1024; i++)
		assert_int_equal(data[i], pattern(3 * 512 + i));
	assert_int_equal(fg_used_idx(&f->g, 0), 1);
	fg_used_elem(&f->g, 0, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 1024 + 1);   /* data + status byte */
	assert_int_equal(f->t.used_signals[0], 1);
}

static void test_blk_writes_sectors_to_file(void **state)
{
	struct fx *f = *state;
	uint8_t buf[512], back[512];
	struct req r = { .type = T_OUT, .sector = SECTORS - 1, .out = buf, .out_len = sizeof(buf) };
	uint32_t id, len;

	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(submit(f, &r), S_OK);
	read_disk(f, (SECTORS - 1) * 512, back, sizeof(back));
	assert_memory_equal(buf, back, sizeof(buf));
	fg_used_elem(&f->g, 0, 0, &id, &len);
	assert_int_equal(len, 1);
}

/* Header split over two descriptors and data over three: the device must
 * follow the byte stream, not assume one buffer per part. */
static void test_blk_reads_with_header_and_data_split_across_buffers(void **state)
{
	struct fx *f = *state;
	uint64_t h = fg_alloc(&f->g, 16), d = fg_alloc(&f->g, 512), st = fg_alloc(&f->g, 1);
	uint32_t type = htole32(T_IN);
	uint64_t sector = htole64(1);
	uint8_t *data;

	memcpy(fg_hva(&f->g, h), &type, 4);
	memcpy((uint8_t *)fg_hva(&f->g, h) + 8, &sector, 8);
	add_desc(f, h, 8, 0, true);
	add_desc(f, h + 8, 8, 0, true);
	add_desc(f, d, 100, DESC_F_WRITE, true);
	add_desc(f, d + 100, 400, DESC_F_WRITE, true);
	add_desc(f, d + 500, 12, DESC_F_WRITE, true);
	add_desc(f, st, 1, DESC_F_WRITE, false);
	fg_avail_push(&f->g, 0, 0);
	fg_kick(f->d, 0);
	assert_int_equal(*(uint8_t *)fg_hva(&f->g, st), S_OK);
	data = fg_hva(&f->g, d);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(data[i], pattern(512 + i));
}

static void test_blk_get_id_returns_serial_from_inode(void **state)
{
	struct fx *f = *state;
	struct req r = { .type = T_GET_ID, .in_len = 20 };
	char want[21] = { 0 };
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	snprintf(want, sizeof(want), "hull-%llu", (unsigned long long)st.st_ino);
	assert_int_equal(submit(f, &r), S_OK);
	assert_memory_equal(fg_hva(&f->g, r.in_gpa), want, 20);
}

static void test_blk_flush_succeeds(void **state)
{
	struct fx *f = *state;
	struct req r = { .type = T_FLUSH };

	assert_int_equal(submit(f, &r), S_OK);
}

static void test_blk_out_of_range_sector_is_ioerr(void **state)
{
	static const struct {
		uint32_t type;
		uint64_t sector;
		uint32_t len;
	} cases[] = {
		{ T_IN, SECTORS, 512 },            /* first sector past the end */
		{ T_IN, SECTORS - 1, 1024 },       /* starts inside, runs past */
		{ T_IN, UINT64_MAX, 512 },         /* sector * 512 wraps */
		{ T_IN, UINT64_MAX / 512 + 1, 512 },
		{ T_IN, 0, 100 },                  /* not whole sectors */
		{ T_OUT, SECTORS, 512 },
		{ T_OUT, UINT64_MAX - 1, 1024 },
	};
	struct fx *f = *state;
	uint8_t buf[1024] = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct req r = { .type = cases[i].type, .sector = cases[i].sector };

		if (cases[i].type == T_OUT) {
			r.out = buf;
			r.out_len = cases[i].len;
		} else {
			r.in_len = cases[i].len;
		}
		if (submit(f, &r) != S_IOERR)
			fail_msg("case %zu: sector %llu len %u not IOERR", i, (unsigned long long)cases[i].sector,
				 cases[i].len);
	}
	assert_false(virtio_dev_broken(f->d));
	assert_int_equal(fg_used_idx(&f->g, 0), ARRAY_SIZE(cases));
}

static void test_blk_write_to_readonly_disk_is_ioerr(void **state)
{
	struct fx *f = *state;
	uint8_t buf[512], back[512];
	struct req w = { .type = T_OUT, .sector = 0, .out = buf, .out_len = sizeof(buf) };
	struct req z = { .type = T_WRITE_ZEROES };
	uint8_t seg[16] = { 0 };
	uint32_t n = htole32(1);

	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(submit(f, &w), S_IOERR);
	memcpy(seg + 8, &n, 4);
	z.out = seg;
	z.out_len = sizeof(seg);
	assert_int_equal(submit(f, &z), S_IOERR);
	read_disk(f, 0, back, sizeof(back));
	assert_int_equal(back[1], pattern(1));
	assert_true(f->d->ops->features(f->d) & (1ull << 5));   /* VIRTIO_BLK_F_RO */
}

static void test_blk_readonly_disk_still_reads(void **state)
{
	struct fx *f = *state;
	struct req r = { .type = T_IN, .sector = 0, .in_len = 512 };

	assert_int_equal(submit(f, &r), S_OK);
	assert_int_equal(((uint8_t *)fg_hva(&f->g, r.in_gpa))[9], pattern(9));
}

static void put_seg(uint8_t *p, uint64_t sector, uint32_t num, uint32_t flags)
{
	sector = htole64(sector);
	num = htole32(num);
	flags = htole32(flags);
	memcpy(p, &sector, 8);
	memcpy(p + 8, &num, 4);
	memcpy(p + 12, &flags, 4);
}

static void assert_disk_zero(struct fx *f, uint64_t sector, unsigned int n)
{
	uint8_t back[512];

	for (unsigned int s = 0; s < n; s++) {
		read_disk(f, (sector + s) * 512, back, sizeof(back));
		for (unsigned int i = 0; i < sizeof(back); i++)
			assert_int_equal(back[i], 0);
	}
}

static void test_blk_write_zeroes_zeroes_the_range(void **state)
{
	struct fx *f = *state;
	uint8_t segs[32], back[512];
	struct req r = { .type = T_WRITE_ZEROES, .out = segs, .out_len = sizeof(segs) };

	put_seg(segs, 8, 8, 0);
	put_seg(segs + 16, 20, 1, 1);   /* UNMAP allowed */
	assert_int_equal(submit(f, &r), S_OK);
	assert_disk_zero(f, 8, 8);
	assert_disk_zero(f, 20, 1);
	read_disk(f, 16 * 512, back, sizeof(back));
	assert_int_equal(back[3], pattern(16 * 512 + 3));   /* neighbours intact */
}

static void test_blk_discard_punches_hole(void **state)
{
	struct fx *f = *state;
	uint8_t seg[16], back[512];
	struct req r = { .type = T_DISCARD, .out = seg, .out_len = sizeof(seg) };
	struct stat before, after;

	assert_int_equal(stat(f->path, &before), 0);
	put_seg(seg, 0, 16, 0);
	assert_int_equal(submit(f, &r), S_OK);
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(after.st_size, before.st_size);   /* KEEP_SIZE */
	assert_disk_zero(f, 0, 16);                          /* holes read as zeroes */
	assert_true(after.st_blocks < before.st_blocks);
	read_disk(f, 16 * 512, back, sizeof(back));
	assert_int_equal(back[5], pattern(16 * 512 + 5));
}

static void test_blk_discard_rejects_bad_segments(void **state)
{
	struct fx *f = *state;
	uint8_t seg[16];
	struct req r = { .type = T_DISCARD, .out = seg, .out_len = sizeof(seg) };

	put_seg(seg, 0, 1, 1);                 /* UNMAP flag on a discard */
	assert_int_equal(submit(f, &r), S_UNSUPP);
	put_seg(seg, SECTORS - 1, 2, 0);       /* runs past the end */
	assert_int_equal(submit(f, &r), S_IOERR);
	put_seg(seg, UINT64_MAX, 1, 0);
	assert_int_equal(submit(f, &r), S_IOERR);
	r.out_len = 8;                         /* not a whole segment */
	assert_int_equal(submit(f, &r), S_IOERR);
	assert_false(virtio_dev_broken(f->d));
}

static void test_blk_unknown_type_is_unsupp(void **state)
{
	struct fx *f = *state;
	struct req r = { .type = 0x7777, .in_len = 16 };
	uint32_t id, len;

	assert_int_equal(submit(f, &r), S_UNSUPP);
	fg_used_elem(&f->g, 0, 0, &id, &len);
	assert_int_equal(len, 1);
}

/* The device is broken, the driver was told (config interrupt, NEEDS_RESET)
 * and a later well-formed request on the same ring is not served. */
static void assert_broken_and_deaf(struct fx *f)
{
	struct req ok = { .type = T_FLUSH };

	assert_true(virtio_dev_broken(f->d));
	assert_true(f->d->status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->t.config_signals, 1);
	assert_int_equal(fg_used_idx(&f->g, 0), 0);
	assert_int_equal(submit(f, &ok), S_UNTOUCHED);
	assert_int_equal(fg_used_idx(&f->g, 0), 0);
	assert_int_equal(f->t.config_signals, 1);   /* warned once */
	assert_int_equal(f->t.used_signals[0], 0);
}

static void test_blk_chain_without_status_breaks_device(void **state)
{
	struct fx *f = *state;
	uint64_t h = fg_alloc(&f->g, 16);

	add_desc(f, h, 16, 0, false);   /* header only: T_IN sector 0 */
	fg_avail_push(&f->g, 0, 0);
	fg_kick(f->d, 0);
	assert_broken_and_deaf(f);
}

static void test_blk_readable_status_breaks_device(void **state)
{
	struct fx *f = *state;
	uint64_t h = fg_alloc(&f->g, 16), st = fg_alloc(&f->g, 1);

	add_desc(f, h, 16, 0, true);
	add_desc(f, st, 1, 0, false);   /* status not device-writable */
	fg_avail_push(&f->g, 0, 0);
	fg_kick(f->d, 0);
	assert_broken_and_deaf(f);
	assert_int_equal(*(uint8_t *)fg_hva(&f->g, st), 0);
}

static void test_blk_short_header_breaks_device(void **state)
{
	struct fx *f = *state;
	uint64_t h = fg_alloc(&f->g, 16), st = fg_alloc(&f->g, 1);

	add_desc(f, h, 8, 0, true);
	add_desc(f, st, 1, DESC_F_WRITE, false);
	fg_avail_push(&f->g, 0, 0);
	fg_kick(f->d, 0);
	assert_broken_and_deaf(f);
}

static void test_blk_malformed_ring_breaks_device(void **state)
{
	struct fx *f = *state;
	uint64_t h = fg_alloc(&f->g, 16);

	fg_desc(&f->g, 0, 0, h, 16, DESC_F_NEXT, 0);   /* loop */
	fg_avail_push(&f->g, 0, 0);
	f->next_desc = 1;
	fg_kick(f->d, 0);
	assert_broken_and_deaf(f);
}

static void test_blk_config_reports_capacity_and_limits(void **state)
{
	struct fx *f = *state;
	uint8_t cfg[60] = { 0 };
	uint64_t cap;
	uint32_t blk_size, max_discard_seg;

	assert_int_equal(f->d->ops->config_size, sizeof(cfg));
	f->d->ops->config_read(f->d, 0, cfg, sizeof(cfg));
	memcpy(&cap, cfg, 8);
	memcpy(&blk_size, cfg + 20, 4);
	memcpy(&max_discard_seg, cfg + 40, 4);
	assert_int_equal(le64toh(cap), SECTORS);
	assert_int_equal(le32toh(blk_size), 512);
	assert_true(le32toh(max_discard_seg) >= 1);
	/* a read past the end copies nothing */
	memset(cfg, 0xab, sizeof(cfg));
	f->d->ops->config_read(f->d, 56, cfg, 8);
	assert_int_equal(cfg[0], 0xab);
}

static void test_blk_create_fails_for_missing_file(void **state)
{
	struct hull_err *err = NULL;

	assert_null(virtio_blk_create("/nonexistent/hull/disk.img", false, &err));
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "/nonexistent/hull/disk.img"));
	hull_err_free(&err);
	assert_null(virtio_blk_create("/tmp", false, &err));
	assert_non_null(err);
	hull_err_free(&err);
}

/* PATCH /drives (api/): a new backing file of another size; the guest is told
 * by a config change interrupt, reads the new capacity and the new file's
 * data, and counters count what it did. */
static void test_blk_set_backing_swaps_file_and_signals_config(void **state)
{
	struct fx *f = *state;
	char path2[64] = "/tmp/hull-test-blk2.XXXXXX";
	struct hull_err *err = NULL;
	uint8_t cfg[8], data[512];
	uint64_t cap, reads = 0, writes = 0, rb = 0, wb = 0;
	int fd = mkstemp(path2);

	assert_true(fd >= 0);
	memset(data, 0x5a, sizeof(data));
	assert_int_equal(pwrite(fd, data, sizeof(data), 0), (ssize_t)sizeof(data));
	assert_int_equal(ftruncate(fd, 4 * SECTORS * 512), 0);
	close(fd);

	assert_int_equal(virtio_blk_set_backing(f->d, path2, &err), 0);
	assert_int_equal(f->t.config_signals, 1);
	f->d->ops->config_read(f->d, 0, cfg, sizeof(cfg));
	memcpy(&cap, cfg, 8);
	assert_int_equal(le64toh(cap), 4 * SECTORS);
	struct req r = { .type = T_IN, .sector = 0, .in_len = 512 };
	assert_int_equal(submit(f, &r), S_OK);
	assert_memory_equal(fg_hva(&f->g, r.in_gpa), data, sizeof(data));
	/* past the old end, inside the new one */
	struct req r2 = { .type = T_IN, .sector = 2 * SECTORS, .in_len = 512 };
	assert_int_equal(submit(f, &r2), S_OK);
	assert_true(virtio_blk_stats(f->d, &reads, &writes, &rb, &wb));
	assert_int_equal(reads, 2);
	assert_int_equal(rb, 1024);
	assert_int_equal(writes, 0);

	/* a missing file changes nothing */
	assert_true(virtio_blk_set_backing(f->d, "/nonexistent/hull/disk.img", &err) < 0);
	assert_non_null(strstr(err->msg, "/nonexistent/hull/disk.img"));
	hull_err_free(&err);
	assert_int_equal(f->t.config_signals, 1);
	unlink(path2);
}

static void *run_loop(void *l)
{
	evloop_run(l, NULL);
	return NULL;
}

static void stop_loop(void *l, uint32_t events)
{
	evloop_stop(l);
}

/* A rate limiter stops the queue where it is (the request stays in the ring,
 * unanswered, however often the guest kicks) and its timer, not a kick,
 * resumes it: here once a PATCH-like update lifts the limit. */
static void test_blk_rate_limiter_defers_requests_until_its_timer(void **state)
{
	struct fx *f = *state;
	struct vm_rate_limiter rl = { .bw = { .size = 1024, .refill_ms = 3600 * 1000 } };
	struct evloop *loop = evloop_new(NULL);
	struct req r1 = { .type = T_IN, .sector = 0, .in_len = 1024 };
	struct req r2 = { .type = T_IN, .sector = 4, .in_len = 512 };
	struct hull_err *err = NULL;
	int stop = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;
	pthread_t th;

	assert_non_null(loop);
	assert_true(stop >= 0);
	f->d->loop = loop;
	assert_int_equal(virtio_blk_set_limiter(f->d, &rl, &err), 0);
	assert_int_equal(submit(f, &r1), S_OK);  /* the full bucket pays */
	assert_int_equal(submit(f, &r2), S_UNTOUCHED);
	fg_kick(f->d, 0);
	fg_kick(f->d, 0);
	assert_int_equal(*(uint8_t *)fg_hva(&f->g, r2.status_gpa), S_UNTOUCHED);
	assert_int_equal(fg_used_idx(&f->g, 0), 1);
	assert_int_equal(virtio_blk_throttled(f->d), 1);  /* one stop, not one per kick */

	/* the loop thread runs the timer: lifting the limit retries at once */
	assert_int_equal(evloop_add(loop, stop, EPOLLIN, stop_loop, loop), 0);
	assert_int_equal(pthread_create(&th, NULL, run_loop, loop), 0);
	rl.bw.size = 0;
	assert_int_equal(virtio_blk_set_limiter(f->d, &rl, &err), 0);
	for (int i = 0; i < 10000; i++) {  /* bounded: a lost timer fails, slowly */
		pthread_mutex_lock(&f->d->lock);
		bool done = fg_used_idx(&f->g, 0) == 2;
		pthread_mutex_unlock(&f->d->lock);
		if (done)
			break;
		usleep(1000);
	}
	assert_int_equal(write(stop, &one, sizeof(one)), (ssize_t)sizeof(one));
	pthread_join(th, NULL);
	assert_int_equal(fg_used_idx(&f->g, 0), 2);
	assert_int_equal(*(uint8_t *)fg_hva(&f->g, r2.status_gpa), S_OK);
	assert_int_equal(((uint8_t *)fg_hva(&f->g, r2.in_gpa))[0], pattern(4 * 512));
	virtio_dev_destroy(f->d);  /* leaves the loop before it goes */
	f->d = NULL;
	evloop_free(loop);
	close(stop);
}

#define RW(fn) cmocka_unit_test_setup_teardown(fn, setup_rw, teardown)
#define RO(fn) cmocka_unit_test_setup_teardown(fn, setup_ro, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RW(test_blk_reads_sectors_into_guest_buffer),
		RW(test_blk_writes_sectors_to_file),
		RW(test_blk_reads_with_header_and_data_split_across_buffers),
		RW(test_blk_get_id_returns_serial_from_inode),
		RW(test_blk_flush_succeeds),
		RW(test_blk_out_of_range_sector_is_ioerr),
		RO(test_blk_write_to_readonly_disk_is_ioerr),
		RO(test_blk_readonly_disk_still_reads),
		RW(test_blk_write_zeroes_zeroes_the_range),
		RW(test_blk_discard_punches_hole),
		RW(test_blk_discard_rejects_bad_segments),
		RW(test_blk_unknown_type_is_unsupp),
		RW(test_blk_chain_without_status_breaks_device),
		RW(test_blk_readable_status_breaks_device),
		RW(test_blk_short_header_breaks_device),
		RW(test_blk_malformed_ring_breaks_device),
		RW(test_blk_config_reports_capacity_and_limits),
		RW(test_blk_set_backing_swaps_file_and_signals_config),
		cmocka_unit_test(test_blk_create_fails_for_missing_file),
		RW(test_blk_rate_limiter_defers_requests_until_its_timer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
