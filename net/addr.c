/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A link's addresses and routes, read through libnl-route caches: what the
 * guest of a VM-isolated container must be given for the interface it
 * mirrors (IPv4 and IPv6, default route included).
 */
#include "net.h"
#include "internal.h"

#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

static void copy_addr(struct nl_addr *a, int *family, uint8_t out[16], unsigned int *prefix)
{
	unsigned int len = nl_addr_get_len(a);

	*family = nl_addr_get_family(a);
	memset(out, 0, 16);
	memcpy(out, nl_addr_get_binary_addr(a), len > 16 ? 16 : len);
	if (prefix)
		*prefix = nl_addr_get_prefixlen(a);
}

static int alloc_addrs(struct nl_sock *sk, struct nl_cache **c)
{
	return rtnl_addr_alloc_cache(sk, c);
}

static int alloc_routes(struct nl_sock *sk, struct nl_cache **c)
{
	return rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, c);
}

/* Link `name`'s index and a filled cache of one kind (`what` in errors). */
static int link_cache(const char *name, const char *what, int (*alloc)(struct nl_sock *, struct nl_cache **),
		      int *ifindex, struct nl_cache **cache, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct net_link_info li;
	int r;

	if (net_link_get(name, &li, err) < 0 || net_nl_open(&sk, err) < 0)
		return -1;
	r = alloc(sk, cache);
	if (r < 0)
		return hull_err_make(err, 0, "%s of %s: %s", what, name, nl_geterror(r));
	*ifindex = li.ifindex;
	return 0;
}

int net_link_addrs(const char *name, struct net_addr **out, size_t *n, struct hull_err **err)
{
	struct nl_cache *cache = NULL;
	struct net_addr *v = NULL;
	size_t cnt = 0;
	int ifindex;

	*out = NULL;
	*n = 0;
	if (link_cache(name, "addresses", alloc_addrs, &ifindex, &cache, err) < 0)
		return -1;
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		int fam;

		if (rtnl_addr_get_ifindex(a) != ifindex || !local)
			continue;
		fam = nl_addr_get_family(local);
		if (fam != AF_INET && fam != AF_INET6)
			continue;
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		copy_addr(local, &v[cnt].family, v[cnt].addr, NULL);
		v[cnt].prefixlen = (unsigned int)rtnl_addr_get_prefixlen(a);
		v[cnt].scope = rtnl_addr_get_scope(a);
		cnt++;
	}
	nl_cache_free(cache);
	*out = v;
	*n = cnt;
	return 0;
}

int net_link_routes(const char *name, struct net_route **out, size_t *n, struct hull_err **err)
{
	struct nl_cache *cache = NULL;
	struct net_route *v = NULL;
	size_t cnt = 0;
	int ifindex;

	*out = NULL;
	*n = 0;
	if (link_cache(name, "routes", alloc_routes, &ifindex, &cache, err) < 0)
		return -1;
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *rt = (struct rtnl_route *)o;
		struct rtnl_nexthop *nh;
		struct nl_addr *dst, *gw;
		int fam = rtnl_route_get_family(rt);

		/* the main table's unicast routes through this link (one next hop) */
		if ((fam != AF_INET && fam != AF_INET6) || rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
		    rtnl_route_get_type(rt) != RTN_UNICAST || rtnl_route_get_nnexthops(rt) != 1)
			continue;
		nh = rtnl_route_nexthop_n(rt, 0);
		if (!nh || rtnl_route_nh_get_ifindex(nh) != ifindex)
			continue;
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		memset(&v[cnt], 0, sizeof(v[cnt]));
		v[cnt].family = fam;
		dst = rtnl_route_get_dst(rt);
		if (dst)
			copy_addr(dst, &fam, v[cnt].dst, &v[cnt].dst_len);
		gw = rtnl_route_nh_get_gateway(nh);
		if (gw && nl_addr_get_len(gw) > 0) {
			copy_addr(gw, &fam, v[cnt].gw, NULL);
			v[cnt].has_gw = true;
		}
		v[cnt].scope = rtnl_route_get_scope(rt);
		cnt++;
	}
	nl_cache_free(cache);
	*out = v;
	*n = cnt;
	return 0;
}
