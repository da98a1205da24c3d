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

struct net_link_desc {
	char name[16];
	char kind[16];              /* rtnetlink's IFLA_INFO_KIND ("veth", "macvlan"...); "" for none */
	int ifindex;
	unsigned int arptype;       /* ARPHRD_* */
	bool loopback;
};
/* Every link of the current network namespace (*out freed by the caller). */
int net_links(struct net_link_desc **out, size_t *n, struct hull_err **err);
/* Delete link `name`; one that is already gone is fine. */
int net_link_delete(const char *name, struct hull_err **err);
/* The link whose MAC is mac: renamed to name, MTU mtu (0: unchanged), up. */
int net_link_setup_by_mac(const uint8_t mac[6], const char *name, unsigned int mtu, struct hull_err **err);

/* ---- addresses and routes (addr.c) ------------------------------------------ */

struct net_addr {
	int family;                 /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int prefixlen;
	int scope;                  /* RT_SCOPE_* (link-local IPv6 is RT_SCOPE_LINK) */
};

struct net_route {
	int family;
	uint8_t dst[16];            /* dst_len 0: the default route */
	unsigned int dst_len;
	uint8_t gw[16];
	bool has_gw;
	int scope;
};

/* IPv4/IPv6 addresses of link `name` (*out freed by the caller). */
int net_link_addrs(const char *name, struct net_addr **out, size_t *n, struct hull_err **err);
/* Main-table unicast routes through link `name` (*out freed by the caller). */
int net_link_routes(const char *name, struct net_route **out, size_t *n, struct hull_err **err);

/* Add an address / a route (through link `name`); one that exists already
 * (the prefix route an address made) is fine. */
int net_addr_add(const char *name, const struct net_addr *a, struct hull_err **err);
int net_route_add(const char *name, const struct net_route *r, struct hull_err **err);

/* ---- veth <-> tap redirect (tc.c) ------------------------------------------------ */

/* Ingress qdisc + matchall filter + mirred egress redirect on both links,
 * each to the other: every frame of one leaves through the other.  Fails
 * (leaving nothing of its own) when either link already has an ingress
 * qdisc. */
int net_redirect_add(const char *a, const char *b, struct hull_err **err);
/* Remove both ingress qdiscs (their filters go with them); links or qdiscs
 * that are already gone are fine. */
int net_redirect_remove(const char *a, const char *b, struct hull_err **err);

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
/* Create a persistent tap (multiqueue if asked) owned by uid/gid ((uid_t)-1 /
 * (gid_t)-1: no owner); an error when the name is taken. */
int net_tap_create(const char *name, bool multi_queue, uid_t uid, gid_t gid, struct hull_err **err);


#endif
