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

static struct nl_addr *nl_addr_of(int family, const uint8_t bytes[16], unsigned int prefixlen)
{
	struct nl_addr *a = nl_addr_build(family, bytes, family == AF_INET ? 4 : 16);

	if (a)
		nl_addr_set_prefixlen(a, (int)prefixlen);
	return a;
}

int net_addr_add(const char *name, const struct net_addr *na, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct net_link_info li;
	struct rtnl_addr *a = NULL;
	struct nl_addr *local = NULL;
	int r = -NLE_NOMEM;

	if (net_link_get(name, &li, err) < 0 || net_nl_open(&sk, err) < 0)
		return -1;
	a = rtnl_addr_alloc();
	local = nl_addr_of(na->family, na->addr, na->prefixlen);
	if (a && local) {
		rtnl_addr_set_ifindex(a, li.ifindex);
		rtnl_addr_set_family(a, na->family);
		rtnl_addr_set_local(a, local);
		rtnl_addr_set_prefixlen(a, (int)na->prefixlen);
		/* IPv6: no duplicate address detection; the address is the
		 * veth's, which the namespace no longer uses. */
		if (na->family == AF_INET6)
			rtnl_addr_set_flags(a, IFA_F_NODAD);
		r = rtnl_addr_add(sk, a, 0);
	}
	nl_addr_put(local);
	rtnl_addr_put(a);
	if (r < 0 && r != -NLE_EXIST)
		return hull_err_make(err, 0, "%s: add address: %s", name, nl_geterror(r));
	return 0;
}

int net_route_add(const char *name, const struct net_route *nr, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct net_link_info li;
	struct rtnl_route *rt = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL;
	int r = -NLE_NOMEM;

	if (net_link_get(name, &li, err) < 0 || net_nl_open(&sk, err) < 0)
		return -1;
	rt = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	dst = nl_addr_of(nr->family, nr->dst, nr->dst_len);
	gw = nr->has_gw ? nl_addr_of(nr->family, nr->gw, nr->family == AF_INET ? 32 : 128) : NULL;
	if (rt && nh && dst && (gw || !nr->has_gw)) {
		rtnl_route_set_family(rt, (uint8_t)nr->family);
		rtnl_route_set_table(rt, RT_TABLE_MAIN);
		rtnl_route_set_type(rt, RTN_UNICAST);
		rtnl_route_set_protocol(rt, RTPROT_BOOT);
		rtnl_route_set_scope(rt, (uint8_t)nr->scope);
		rtnl_route_set_dst(rt, dst);
		rtnl_route_nh_set_ifindex(nh, li.ifindex);
		if (gw)
			rtnl_route_nh_set_gateway(nh, gw);
		rtnl_route_add_nexthop(rt, nh);
		nh = NULL;  /* the route owns it */
		r = rtnl_route_add(sk, rt, NLM_F_CREATE);
	}
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	nl_addr_put(gw);
	rtnl_route_put(rt);
	/* the kernel made the prefix route of an address already */
	if (r < 0 && r != -NLE_EXIST)
		return hull_err_make(err, 0, "%s: add route: %s", name, nl_geterror(r));
	return 0;
}
