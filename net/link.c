/* SPDX-License-Identifier: Apache-2.0 */
#include "net.h"

#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

static void cleanup_nlsock(struct nl_sock **s)
{
	if (*s)
		nl_socket_free(*s);
}
#define _cleanup_nlsock_ __attribute__((cleanup(cleanup_nlsock)))

int net_link_up(const char *name, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link = NULL, *change = NULL;
	int r;

	if (!sk)
		return hull_err_make(err, ENOMEM, "netlink socket");
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		return hull_err_make(err, 0, "netlink connect: %s", nl_geterror(r));
	r = rtnl_link_get_kernel(sk, 0, name, &link);
	if (r < 0)
		return hull_err_make(err, 0, "link %s: %s", name, nl_geterror(r));
	change = rtnl_link_alloc();
	rtnl_link_set_flags(change, IFF_UP);
	r = rtnl_link_change(sk, link, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(link);
	if (r < 0)
		return hull_err_make(err, 0, "set link %s up: %s", name, nl_geterror(r));
	return 0;
}
