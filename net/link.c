/* SPDX-License-Identifier: Apache-2.0 */
/* Links: lookup and state through libnl-route. */
#include "net.h"
#include "internal.h"

#include <net/if.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

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

int net_links(struct net_link_desc **out, size_t *n, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct nl_cache *cache = NULL;
	struct net_link_desc *v = NULL;
	size_t cnt = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (net_nl_open(&sk, err) < 0)
		return -1;
	r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (r < 0)
		return hull_err_make(err, 0, "links: %s", nl_geterror(r));
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l), *kind = rtnl_link_get_type(l);

		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		memset(&v[cnt], 0, sizeof(v[cnt]));
		snprintf(v[cnt].name, sizeof(v[cnt].name), "%s", name ? name : "");
		snprintf(v[cnt].kind, sizeof(v[cnt].kind), "%s", kind ? kind : "");
		v[cnt].ifindex = rtnl_link_get_ifindex(l);
		v[cnt].arptype = rtnl_link_get_arptype(l);
		v[cnt].loopback = rtnl_link_get_flags(l) & IFF_LOOPBACK;
		cnt++;
	}
	nl_cache_free(cache);
	*out = v;
	*n = cnt;
	return 0;
}

int net_link_delete(const char *name, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	int r;

	if (net_nl_open(&sk, err) < 0)
		return -1;
	if (rtnl_link_get_kernel(sk, 0, name, &link) < 0)
		return 0;  /* already gone */
	r = rtnl_link_delete(sk, link);
	rtnl_link_put(link);
	if (r < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
		return hull_err_make(err, 0, "delete link %s: %s", name, nl_geterror(r));
	return 0;
}

int net_link_setup_by_mac(const uint8_t mac[6], const char *name, unsigned int mtu, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct nl_cache *cache = NULL;
	struct rtnl_link *link = NULL, *change = NULL;
	int r;

	if (net_nl_open(&sk, err) < 0)
		return -1;
	r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (r < 0)
		return hull_err_make(err, 0, "links: %s", nl_geterror(r));
	for (struct nl_object *o = nl_cache_get_first(cache); o && !link; o = nl_cache_get_next(o)) {
		struct nl_addr *a = rtnl_link_get_addr((struct rtnl_link *)o);

		if (a && nl_addr_get_len(a) == 6 && memcmp(nl_addr_get_binary_addr(a), mac, 6) == 0) {
			link = (struct rtnl_link *)o;
			nl_object_get(o);
		}
	}
	nl_cache_free(cache);
	if (!link)
		return hull_err_make(err, ENODEV, "no link with MAC %02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
				     mac[2], mac[3], mac[4], mac[5]);
	change = rtnl_link_alloc();
	/* A link is renamed only while down. */
	rtnl_link_unset_flags(change, IFF_UP);
	r = rtnl_link_change(sk, link, change, 0);
	rtnl_link_put(change);
	if (r >= 0) {
		change = rtnl_link_alloc();
		if (strcmp(rtnl_link_get_name(link), name) != 0)
			rtnl_link_set_name(change, name);
		if (mtu)
			rtnl_link_set_mtu(change, mtu);
		rtnl_link_set_flags(change, IFF_UP);
		r = rtnl_link_change(sk, link, change, 0);
		rtnl_link_put(change);
	}
	rtnl_link_put(link);
	if (r < 0)
		return hull_err_make(err, 0, "link %s (MTU %u): %s", name, mtu, nl_geterror(r));
	return 0;
}
