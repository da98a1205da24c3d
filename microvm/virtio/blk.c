/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.2 §5.2) over a host file or block device.
 *
 * A request is a 16-byte device-readable header, data, and a device-writable
 * status byte at the very end of the chain.  A chain without header or status
 * cannot be answered at all, so it breaks the device; everything else (bad
 * sector, bad length, read-only disk) is answered with IOERR or UNSUPP.
 * I/O is synchronous preadv/pwritev straight into the validated guest buffers.
 */
#include "microvm/virtio/virtio.h"

#include <endian.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define SECTOR_SIZE 512u
#define BLK_QUEUE_SIZE 256
#define BLK_SERIAL_LEN 20                 /* §5.2.6: GET_ID writes 20 bytes */

/* Feature bits (§5.2.3) */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (§5.2.6) */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1u

/* Limits we advertise for discard / write-zeroes (§5.2.4). */
#define BLK_MAX_DZ_SECTORS (1u << 22)     /* 2 GiB per segment */
#define BLK_MAX_DZ_SEG 32u
#define BLK_DISCARD_ALIGN 8u              /* sectors: 4 KiB, the usual fs block */

/* §5.2.4 struct virtio_blk_config up to (not including) the secure-erase
 * fields, whose feature we do not offer.  Stored little endian. */
struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	struct {
		uint16_t cylinders;
		uint8_t heads;
		uint8_t sectors;
	} geometry;
	uint32_t blk_size;
	struct {
		uint8_t physical_block_exp;
		uint8_t alignment_offset;
		uint16_t min_io_size;
		uint32_t opt_io_size;
	} topology;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));
_Static_assert(sizeof(struct blk_config) == 60, "virtio_blk_config layout");

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_dz_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk {
	int fd;                           /* swapped under the device lock (virtio_blk_set_backing) */
	bool readonly;
	uint64_t reads, writes, read_bytes, write_bytes;  /* metrics, relaxed atomics */
	struct ratelim rl;                /* under the device lock; unlimited by default */
	uint64_t capacity;                /* in 512-byte sectors */
	char serial[BLK_SERIAL_LEN];
	struct blk_config cfg;
};

/* One request being served: the chain plus what the header told us. */
struct blk_req {
	struct blk *b;
	const struct virtq_chain *c;
	uint64_t sector;
	uint64_t data_out;                /* readable bytes after the header */
	uint64_t data_in;                 /* writable bytes before the status */
	uint32_t written;                 /* bytes put into writable buffers */
};

/* [sector, sector + bytes/512) must be whole sectors inside the disk; checked
 * by subtraction so a hostile sector near 2^64 cannot wrap. */
static bool range_ok(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	if (bytes % SECTOR_SIZE != 0 || sector > b->capacity)
		return false;
	return bytes / SECTOR_SIZE <= b->capacity - sector;
}

/* iovecs over bytes [off, off + len) of the chain's device-readable
 * (dev_writable false) or device-writable stream.  iov has room for c->n. */
static unsigned int chain_iov(const struct virtq_chain *c, bool dev_writable, uint64_t off, uint64_t len,
			      struct iovec *iov)
{
	unsigned int cnt = 0;

	for (unsigned int i = 0; i < c->n && len > 0; i++) {
		const struct virtq_buf *vb = &c->bufs[i];
		uint64_t n;

		if (vb->write != dev_writable)
			continue;
		if (off >= vb->len) {
			off -= vb->len;
			continue;
		}
		n = vb->len - off;
		if (n > len)
			n = len;
		iov[cnt++] = (struct iovec){ .iov_base = (uint8_t *)vb->hva + off, .iov_len = n };
		len -= n;
		off = 0;
	}
	return cnt;
}

/* preadv/pwritev the whole iovec at pos, IOV_MAX at a time, resuming short
 * transfers.  0 or -errno (-EIO on an unexpected end of file). */
static int rw_full(int fd, bool write, struct iovec *iov, unsigned int cnt, off_t pos)
{
	while (cnt > 0) {
		int batch = cnt > IOV_MAX ? IOV_MAX : (int)cnt;
		ssize_t r = write ? pwritev(fd, iov, batch, pos) : preadv(fd, iov, batch, pos);
		size_t left;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		pos += r;
		for (left = (size_t)r; left > 0 && cnt > 0;) {
			if (left >= iov->iov_len) {
				left -= iov->iov_len;
				iov++;
				cnt--;
			} else {
				iov->iov_base = (uint8_t *)iov->iov_base + left;
				iov->iov_len -= left;
				left = 0;
			}
		}
		while (cnt > 0 && iov->iov_len == 0) {
			iov++;
			cnt--;
		}
	}
	return 0;
}

static uint8_t do_io(struct blk_req *rq, bool write)
{
	uint64_t len = write ? rq->data_out : rq->data_in;
	_cleanup_free_ struct iovec *iov = NULL;
	unsigned int cnt;

	if (write && rq->b->readonly)
		return VIRTIO_BLK_S_IOERR;
	/* the used length (data + status) must fit the u32 of the used ring */
	if (!range_ok(rq->b, rq->sector, len) || len >= UINT32_MAX)
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	iov = xcalloc(rq->c->n, sizeof(*iov));
	/* a disk write takes the device-readable data after the header; a disk
	 * read fills the device-writable data before the status byte */
	cnt = chain_iov(rq->c, !write, write ? sizeof(struct blk_req_hdr) : 0, len, iov);
	/* range_ok bounds sector by the capacity, so the byte offset fits off_t */
	if (rw_full(rq->b->fd, write, iov, cnt, (off_t)(rq->sector * SECTOR_SIZE)) < 0)
		return VIRTIO_BLK_S_IOERR;
	__atomic_fetch_add(write ? &rq->b->writes : &rq->b->reads, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(write ? &rq->b->write_bytes : &rq->b->read_bytes, len, __ATOMIC_RELAXED);
	if (!write)
		rq->written = (uint32_t)len;  /* < UINT32_MAX, checked above */
	return VIRTIO_BLK_S_OK;
}

static uint8_t req_in(struct blk_req *rq)
{
	return do_io(rq, false);
}

static uint8_t req_out(struct blk_req *rq)
{
	return do_io(rq, true);
}

static uint8_t req_flush(struct blk_req *rq)
{
	return fdatasync(rq->b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static uint8_t req_get_id(struct blk_req *rq)
{
	size_t n = rq->data_in < BLK_SERIAL_LEN ? (size_t)rq->data_in : BLK_SERIAL_LEN;

	rq->written = (uint32_t)virtq_chain_write(rq->c, 0, rq->b->serial, n);
	return VIRTIO_BLK_S_OK;
}

/* Zero [off, off+len): ZERO_RANGE, else a hole (reads back as zeroes), else
 * plain writes for file systems / devices that support neither. */
static int zero_range(int fd, off_t off, off_t len, bool may_unmap)
{
	static const uint8_t zeroes[64 * 1024];

	if (!may_unmap && fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	while (len > 0) {
		size_t n = len < (off_t)sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t w = pwrite(fd, zeroes, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += w;
		len -= w;
	}
	return 0;
}

static uint8_t discard_or_zero(struct blk_req *rq, bool zero)
{
	uint32_t valid_flags = zero ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
	_cleanup_free_ struct blk_dz_seg *segs = NULL;
	uint64_t nseg;

	if (rq->b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (rq->data_out == 0 || rq->data_out % sizeof(struct blk_dz_seg) != 0)
		return VIRTIO_BLK_S_IOERR;
	nseg = rq->data_out / sizeof(struct blk_dz_seg);
	if (nseg > BLK_MAX_DZ_SEG)
		return VIRTIO_BLK_S_IOERR;
	segs = xcalloc(nseg, sizeof(*segs));
	virtq_chain_read(rq->c, sizeof(struct blk_req_hdr), segs, nseg * sizeof(*segs));

	/* Validate every segment before touching the disk. */
	for (uint64_t i = 0; i < nseg; i++) {
		struct blk_dz_seg *s = &segs[i];

		s->sector = le64toh(s->sector);
		s->num_sectors = le32toh(s->num_sectors);
		s->flags = le32toh(s->flags);
		/* §5.2.6.2: unknown flags, or UNMAP on a discard, are UNSUPP */
		if (s->flags & ~valid_flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (s->num_sectors > BLK_MAX_DZ_SECTORS ||
		    !range_ok(rq->b, s->sector, (uint64_t)s->num_sectors * SECTOR_SIZE))
			return VIRTIO_BLK_S_IOERR;
	}
	for (uint64_t i = 0; i < nseg; i++) {
		off_t off = (off_t)(segs[i].sector * SECTOR_SIZE);
		off_t len = (off_t)segs[i].num_sectors * SECTOR_SIZE;
		int r;

		if (len == 0)
			continue;
		if (zero)
			r = zero_range(rq->b->fd, off, len, segs[i].flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		else if (fallocate(rq->b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0)
			/* discard is a hint (§5.2.6.2): a file system without holes is fine */
			r = errno == EOPNOTSUPP ? 0 : -errno;
		else
			r = 0;
		if (r < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t req_discard(struct blk_req *rq)
{
	return discard_or_zero(rq, false);
}

static uint8_t req_write_zeroes(struct blk_req *rq)
{
	return discard_or_zero(rq, true);
}

static const struct {
	uint32_t type;
	uint8_t (*handle)(struct blk_req *rq);
} blk_requests[] = {
	{ VIRTIO_BLK_T_IN, req_in },
	{ VIRTIO_BLK_T_OUT, req_out },
	{ VIRTIO_BLK_T_FLUSH, req_flush },
	{ VIRTIO_BLK_T_GET_ID, req_get_id },
	{ VIRTIO_BLK_T_DISCARD, req_discard },
	{ VIRTIO_BLK_T_WRITE_ZEROES, req_write_zeroes },
};

/* Serve one chain.  < 0 (with *why) when it cannot even carry a status. */
static int blk_handle(struct blk *b, const struct virtq_chain *c, uint32_t *used_len, const char **why)
{
	struct blk_req rq = { .b = b, .c = c };
	struct blk_req_hdr h;
	uint8_t status = VIRTIO_BLK_S_UNSUPP;
	uint32_t type;

	if (c->out_len < sizeof(h)) {
		*why = "request without a 16-byte device-readable header";
		return -EINVAL;
	}
	/* readable buffers precede writable ones (virtq_pop), so in_len == 0 also
	 * covers a last buffer that is not device-writable */
	if (c->in_len < 1) {
		*why = "request without a device-writable status byte";
		return -EINVAL;
	}
	virtq_chain_read(c, 0, &h, sizeof(h));
	type = le32toh(h.type);
	rq.sector = le64toh(h.sector);
	rq.data_out = c->out_len - sizeof(h);
	rq.data_in = c->in_len - 1;

	for (size_t i = 0; i < ARRAY_SIZE(blk_requests); i++) {
		if (blk_requests[i].type == type) {
			status = blk_requests[i].handle(&rq);
			break;
		}
	}
	if (status != VIRTIO_BLK_S_OK)
		rq.written = 0;
	virtq_chain_write(c, c->in_len - 1, &status, 1);
	*used_len = rq.written + 1;
	return 0;
}

static uint64_t blk_features(struct virtio_dev *d)
{
	struct blk *b = d->priv;
	uint64_t f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH;

	if (b->readonly)
		f |= 1ull << VIRTIO_BLK_F_RO;
	else
		f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct blk *b = d->priv;

	/* the transport clamps; check again since this copies host memory out */
	if (off >= sizeof(b->cfg) || len > sizeof(b->cfg) - off)
		return;
	memcpy(buf, (const uint8_t *)&b->cfg + off, len);
}

/* Only `writeback` is driver-writable and only with CONFIG_WCE, not offered. */
static void blk_config_write(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
}

static int blk_activate(struct virtio_dev *d)
{
	return 0;
}

/* What a request costs the bandwidth bucket: its data bytes for a read or
 * write, nothing for the others (Firecracker's accounting); each request is
 * one operation. */
static uint64_t req_bytes(const struct virtq_chain *c)
{
	struct blk_req_hdr h;

	if (c->out_len < sizeof(h) || c->in_len < 1)
		return 0;  /* blk_handle breaks the device */
	virtq_chain_read(c, 0, &h, sizeof(h));
	if (le32toh(h.type) == VIRTIO_BLK_T_IN)
		return c->in_len - 1;
	if (le32toh(h.type) == VIRTIO_BLK_T_OUT)
		return c->out_len - sizeof(h);
	return 0;
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int qi);

/* The limiter's timer: tokens for the waiting request have refilled. */
static void blk_rl_fired(void *opaque, uint32_t events)
{
	struct virtio_dev *d = opaque;
	struct blk *b = d->priv;

	pthread_mutex_lock(&d->lock);
	if (b->rl.watched) {  /* a reset may have unregistered us after epoll_wait */
		ratelim_timer_fired(&b->rl);
		blk_queue_notify(d, 0);
	}
	pthread_mutex_unlock(&d->lock);
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int qi)
{
	struct blk *b = d->priv;
	struct virtq_chain c;
	uint32_t used_len;
	const char *why;
	int r;

	if (qi != 0 || virtio_dev_broken(d) || b->rl.blocked)
		return;
	while ((r = virtq_pop(&d->vqs[0], &c)) > 0) {
		if (ratelim_limits(&b->rl) && !ratelim_consume(&b->rl, req_bytes(&c), d->loop, blk_rl_fired, d)) {
			/* hand the chain back: the timer pops it again */
			d->vqs[0].last_avail--;
			virtq_chain_release(&c);
			return;
		}
		why = NULL;
		if (blk_handle(b, &c, &used_len, &why) < 0) {
			virtq_chain_release(&c);
			virtio_dev_set_broken(d, why);
			return;
		}
		virtio_dev_complete(d, 0, c.head, used_len);
		virtq_chain_release(&c);
		if (virtio_dev_broken(d))
			return;
	}
	if (r < 0)
		virtio_dev_set_broken(d, "malformed virtqueue");
}

/* Requests complete synchronously, so there is nothing in flight to drop;
 * a throttled queue stops waiting (the limits stay). */
static void blk_reset(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	ratelim_stop(&b->rl, d->loop);
}

static void blk_destroy(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	if (!b)
		return;
	ratelim_free(&b->rl, d->loop);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	d->priv = NULL;
}

static const struct virtio_dev_ops blk_ops = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = 0x01, /* mass storage, other */
	.pci_subclass = 0x80,
	.num_queues = 1,
	.queue_max_size = BLK_QUEUE_SIZE,
	.config_size = sizeof(struct blk_config),
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
};

static int disk_size(int fd, const char *path, uint64_t *bytes, struct stat *st, struct hull_err **err)
{
	if (fstat(fd, st) < 0)
		return hull_err_make(err, errno, "stat %s", path);
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, bytes) < 0)
			return hull_err_make(err, errno, "BLKGETSIZE64 %s", path);
		return 0;
	}
	if (!S_ISREG(st->st_mode))
		return hull_err_make(err, EINVAL, "%s: not a regular file or block device", path);
	*bytes = (uint64_t)st->st_size;
	return 0;
}

static void fill_config(struct blk *b)
{
	struct blk_config *cfg = &b->cfg;

	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = htole64(b->capacity);
	cfg->seg_max = htole32(BLK_QUEUE_SIZE - 2);  /* header and status take two */
	cfg->blk_size = htole32(SECTOR_SIZE);
	cfg->num_queues = htole16(1);
	cfg->max_discard_sectors = htole32(BLK_MAX_DZ_SECTORS);
	cfg->max_discard_seg = htole32(BLK_MAX_DZ_SEG);
	cfg->discard_sector_alignment = htole32(BLK_DISCARD_ALIGN);
	cfg->max_write_zeroes_sectors = htole32(BLK_MAX_DZ_SECTORS);
	cfg->max_write_zeroes_seg = htole32(BLK_MAX_DZ_SEG);
	cfg->write_zeroes_may_unmap = 1;
}

struct virtio_dev *virtio_blk_create(const char *path, bool readonly, struct hull_err **err)
{
	_cleanup_close_ int fd = -1;
	char serial[BLK_SERIAL_LEN + 1] = { 0 };
	struct virtio_dev *d;
	struct blk *b;
	struct stat st;
	uint64_t bytes;

	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		hull_err_make(err, errno, "open %s", path);
		return NULL;
	}
	if (disk_size(fd, path, &bytes, &st, err) < 0)
		return NULL;

	b = xcalloc(1, sizeof(*b));
	ratelim_init(&b->rl);
	b->readonly = readonly;
	b->capacity = bytes / SECTOR_SIZE;  /* a trailing partial sector is not exposed */
	snprintf(serial, sizeof(serial), "hull-%" PRIu64, (uint64_t)st.st_ino);
	memcpy(b->serial, serial, BLK_SERIAL_LEN);  /* NUL-padded when shorter */
	fill_config(b);
	b->fd = take_fd(&fd);

	d = xcalloc(1, sizeof(*d));
	d->ops = &blk_ops;
	d->priv = b;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

/* Requests run under d->lock (the event loop holds it around queue_notify),
 * so swapping the fd under it never splits a request between two files.
 * The guest learns the new capacity from the config change interrupt
 * (virtio 1.2 §5.2.4: capacity may change; Linux re-reads it). */
int virtio_blk_set_backing(struct virtio_dev *d, const char *path, struct hull_err **err)
{
	_cleanup_close_ int fd = -1;
	struct blk *b = d->priv;
	struct stat st;
	uint64_t bytes;
	int old;

	if (d->ops != &blk_ops)
		return hull_err_make(err, EINVAL, "not a virtio-blk device");
	fd = open(path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "open %s", path);
	if (disk_size(fd, path, &bytes, &st, err) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	old = b->fd;
	b->fd = take_fd(&fd);
	b->capacity = bytes / SECTOR_SIZE;
	b->cfg.capacity = htole64(b->capacity);
	if (d->signal_config)
		d->signal_config(d);
	pthread_mutex_unlock(&d->lock);
	close(old);
	return 0;
}

/* Under the device lock, as the requests that read it. */
int virtio_blk_set_limiter(struct virtio_dev *d, const struct vm_rate_limiter *rl, struct hull_err **err)
{
	struct blk *b = d->priv;

	if (d->ops != &blk_ops)
		return hull_err_make(err, EINVAL, "not a virtio-blk device");
	pthread_mutex_lock(&d->lock);
	ratelim_set(&b->rl, rl);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

uint64_t virtio_blk_throttled(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	return d->ops == &blk_ops ? __atomic_load_n(&b->rl.throttled, __ATOMIC_RELAXED) : 0;
}

bool virtio_blk_stats(struct virtio_dev *d, uint64_t *reads, uint64_t *writes, uint64_t *rbytes, uint64_t *wbytes)
{
	struct blk *b = d->priv;

	if (d->ops != &blk_ops)
		return false;
	*reads += __atomic_load_n(&b->reads, __ATOMIC_RELAXED);
	*writes += __atomic_load_n(&b->writes, __ATOMIC_RELAXED);
	*rbytes += __atomic_load_n(&b->read_bytes, __ATOMIC_RELAXED);
	*wbytes += __atomic_load_n(&b->write_bytes, __ATOMIC_RELAXED);
	return true;
}

unsigned int virtio_blk_count(const struct vm_config *cfg)
{
	return cfg->ndisks;
}

int virtio_blk_check(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	const struct vm_disk *disk = &cfg->disks[i];
	struct stat st;

	if (access(disk->path, disk->ro ? R_OK : R_OK | W_OK) < 0 || stat(disk->path, &st) < 0)
		return hull_err_make(err, errno, "--disk %s", disk->path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return hull_err_make(err, 0, "--disk %s: not a regular file or block device", disk->path);
	return 0;
}

struct virtio_dev *virtio_blk_new(const struct vm_config *cfg, unsigned int i, struct hull_err **err)
{
	struct virtio_dev *d = virtio_blk_create(cfg->disks[i].path, cfg->disks[i].ro, err);

	if (!d) {
		hull_err_wrap(err, "--disk %s", cfg->disks[i].path);
		return NULL;
	}
	if (vm_rate_limiter_set(&cfg->disks[i].rl))
		ratelim_set(&((struct blk *)d->priv)->rl, &cfg->disks[i].rl);
	return d;
}
