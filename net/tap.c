/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tap devices through /dev/net/tun (taps are not made by rtnetlink, so this
 * is the one part of net/ without libnl).
 *
 * Opening a tap by name with TUNSETIFF would create it when it is missing,
 * so net_tap_open checks that the link exists first: a typo in
 * `--net tap=NAME` is an error, not a new, unconnected tap.
 */
#include "net.h"

#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#define TUN_PATH "/dev/net/tun"

/* Attach one queue of tap `name`; the fd, or < 0 with errno. */
static int tun_attach(const char *name, short flags)
{
	struct ifreq ifr = { .ifr_flags = flags };
	_cleanup_close_ int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -1;
	return take_fd(&fd);
}

static int tap_error(const char *name, int e, struct hull_err **err)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return hull_err_make(err, 0, "tap %s: permission denied (neither its owner or group, nor CAP_NET_ADMIN)",
				     name);
	case EBUSY:
		return hull_err_make(err, 0, "tap %s: busy (a single-queue tap is already attached elsewhere)", name);
	case EINVAL:
		return hull_err_make(err, 0, "tap %s: not a tap device", name);
	case ENOENT:
	case ENODEV:
		return hull_err_make(err, e, "tap %s: %s missing (tun module not loaded?)", name, TUN_PATH);
	default:
		return hull_err_make(err, e, "tap %s", name);
	}
}

int net_tap_open(const char *name, unsigned int nq, int *fds, unsigned int *got, struct hull_err **err)
{
	const short base = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	unsigned int n = 0;
	int fd;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return hull_err_make(err, 0, "tap \"%s\": not a network interface name", name ? name : "");
	if (nq == 0)
		return hull_err_make(err, EINVAL, "tap %s: no queues asked for", name);
	if (if_nametoindex(name) == 0)
		return hull_err_make(err, 0, "tap %s: no such network interface", name);
	/* A multiqueue tap refuses a single-queue attach and the other way
	 * round (EINVAL): try multiqueue first when more than one queue is
	 * wanted and fall back to one queue for a single-queue tap. */
	if (nq > 1) {
		fd = tun_attach(name, base | IFF_MULTI_QUEUE);
		if (fd < 0 && errno != EINVAL)
			return tap_error(name, errno, err);
		if (fd >= 0) {
			fds[n++] = fd;
			for (; n < nq; n++) {
				fds[n] = tun_attach(name, base | IFF_MULTI_QUEUE);
				if (fds[n] < 0) {
					int e = errno;
					while (n > 0)
						close(fds[--n]);
					return tap_error(name, e, err);
				}
			}
			*got = n;
			return 0;
		}
	}
	fd = tun_attach(name, base);
	if (fd < 0 && errno == EINVAL && nq == 1)
		fd = tun_attach(name, base | IFF_MULTI_QUEUE);  /* a multiqueue tap, one queue used */
	if (fd < 0)
		return tap_error(name, errno, err);
	fds[0] = fd;
	*got = 1;
	return 0;
}

int net_tap_set_queue(int fd, bool attached, struct hull_err **err)
{
	struct ifreq ifr = { .ifr_flags = attached ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE };

	if (ioctl(fd, TUNSETQUEUE, &ifr) < 0)
		return hull_err_make(err, errno, "TUNSETQUEUE %s", attached ? "attach" : "detach");
	return 0;
}

int net_tap_set_vnet_hdr(int fd, int hdr_len, unsigned int offloads, struct hull_err **err)
{
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
		return hull_err_make(err, errno, "TUNSETVNETHDRSZ %d", hdr_len);
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads) < 0)
		return hull_err_make(err, errno, "TUNSETOFFLOAD 0x%x", offloads);
	return 0;
}

int net_tap_create(const char *name, bool multi_queue, uid_t uid, gid_t gid, struct hull_err **err)
{
	short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL | (multi_queue ? IFF_MULTI_QUEUE : 0);
	_cleanup_close_ int fd = -1;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return hull_err_make(err, 0, "tap \"%s\": not a network interface name", name ? name : "");
	fd = tun_attach(name, flags);
	if (fd < 0) {
		if (errno == EBUSY)
			return hull_err_make(err, 0, "tap %s: a link of that name exists", name);
		return tap_error(name, errno, err);
	}
	/* Owner before persist: a failure leaves nothing (the tap goes with fd). */
	if (uid != (uid_t)-1 && ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0)
		return hull_err_make(err, errno, "tap %s: TUNSETOWNER %u", name, (unsigned int)uid);
	if (gid != (gid_t)-1 && ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0)
		return hull_err_make(err, errno, "tap %s: TUNSETGROUP %u", name, (unsigned int)gid);
	if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		return hull_err_make(err, errno, "tap %s: TUNSETPERSIST", name);
	return 0;
}
