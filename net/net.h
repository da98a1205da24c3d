/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net/net.h: network links through libnl-route (links, addresses, routes,
 * tc qdiscs/filters/actions) and tap devices, always in the caller's
 * current network namespace.
 */
#ifndef HULL_NET_H
#define HULL_NET_H

#include "common/common.h"

#include <sys/types.h>

/* Set link `name` up in the current network namespace. */
int net_link_up(const char *name, struct hull_err **err);

struct net_link_info {
	int ifindex;
	unsigned int mtu;
	uint8_t mac[6];             /* zero for links without one */
	bool up;
};
/* Read link `name`'s index, MTU, MAC and state. */
int net_link_get(const char *name, struct net_link_info *info, struct hull_err **err);

/* ---- taps (tap.c) ----------------------------------------------------------- */

/* Open up to nq queues of the EXISTING tap `name` (IFF_TAP, IFF_NO_PI,
 * IFF_VNET_HDR; IFF_MULTI_QUEUE when the tap is multiqueue), nonblocking and
 * close-on-exec, into fds[0..*got).  A single-queue tap gives one queue.
 * Errors name the tap: missing, busy, not a tap, permission denied.  The
 * caller owns the fds. */
int net_tap_open(const char *name, unsigned int nq, int *fds, unsigned int *got, struct hull_err **err);
/* Enable or disable one queue of a multiqueue tap (TUNSETQUEUE). */
int net_tap_set_queue(int fd, bool attached, struct hull_err **err);
/* Virtio-net header length (TUNSETVNETHDRSZ) and TUN_F_* offloads the
 * reader accepts (TUNSETOFFLOAD). */
int net_tap_set_vnet_hdr(int fd, int hdr_len, unsigned int offloads, struct hull_err **err);


#endif
