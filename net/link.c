/* SPDX-License-Identifier: Apache-2.0 */
/* Links: lookup and state through libnl-route. */
#include "net.h"
#include "internal.h"

#include <net/if.h>
#include <netlink/route/link.h>

int net_link_up(const char *name, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL, *change = NULL;
	int r;

	if (net_nl_open(&sk, err) < 0)
		return -1;
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

int net_link_get(const char *name, struct net_link_info *info, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	struct nl_addr *a;
	int r;

	memset(info, 0, sizeof(*info));
	if (net_nl_open(&sk, err) < 0)
		return -1;
	r = rtnl_link_get_kernel(sk, 0, name, &link);
	if (r < 0)
		return hull_err_make(err, 0, "link %s: %s", name,
				     nl_geterror(r));
	info->ifindex = rtnl_link_get_ifindex(link);
	info->mtu = rtnl_link_get_mtu(link);
	info->up = rtnl_link_get_flags(link) & IFF_UP;
	a = rtnl_link_get_addr(link);
	if (a && nl_addr_get_len(a) == sizeof(info->mac))
		memcpy(info->mac, nl_addr_get_binary_addr(a), sizeof(info->mac));
	rtnl_link_put(link);
	return 0;
}
