/* SPDX-License-Identifier: Apache-2.0 */
/* net/internal.h: shared by the files of net/ only. */
#ifndef HULL_NET_INTERNAL_H
#define HULL_NET_INTERNAL_H

#include "net.h"

#include <netlink/netlink.h>

static inline void cleanup_nlsock(struct nl_sock **s)
{
	if (*s)
		nl_socket_free(*s);
}
#define _cleanup_nlsock_ __attribute__((cleanup(cleanup_nlsock)))

/* A connected NETLINK_ROUTE socket in the current network namespace. */
int net_nl_open(struct nl_sock **out, struct hull_err **err);

#endif
