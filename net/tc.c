/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The veth <-> tap redirect of VM-isolated containers (Kata's "tcfilter"
 * model), through libnl-route: on each of the two links an ingress qdisc
 * (ffff:) with one matchall filter whose mirred action redirects every
 * frame to the other link's egress (TC_ACT_STOLEN: the frame never reaches
 * the link's own stack).  Neither link needs an address or a bridge, and
 * the engine's veth keeps its MAC, addresses and routes.
 *
 * Removal deletes the two ingress qdiscs, which takes their filters and
 * actions with them.
 */
#include "net.h"
#include "internal.h"

#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/matchall.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#define INGRESS_HANDLE TC_HANDLE(0xffffU, 0) /* unsigned: 0xffff << 16 overflows an int */
#define REDIRECT_PRIO 1

static int ifindex_of(struct nl_sock *sk, const char *name, int *ifindex, struct hull_err **err)
{
	struct rtnl_link *link = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, &link);

	if (r < 0)
		return hull_err_make(err, 0, "link %s: %s", name, nl_geterror(r));
	*ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return 0;
}

static struct rtnl_qdisc *ingress_qdisc(int ifindex)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();

	if (!q)
		return NULL;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
	rtnl_tc_set_kind(TC_CAST(q), "ingress");
	return q;
}

/* One filter on from's ingress: `kind` (matchall, or u32 with the one key
 * "u32 0 0 at 0", which every frame matches) with the mirred egress
 * redirect to to_idx.  A libnl error code. */
static int add_filter(struct nl_sock *sk, int from_idx, int to_idx, const char *kind)
{
	struct rtnl_cls *cls = rtnl_cls_alloc();
	struct rtnl_act *act = rtnl_act_alloc();
	bool u32 = strcmp(kind, "u32") == 0;
	int r;

	if (!cls || !act) {
		r = -NLE_NOMEM;
		goto out;
	}
	rtnl_tc_set_ifindex(TC_CAST(cls), from_idx);
	rtnl_tc_set_parent(TC_CAST(cls), INGRESS_HANDLE);
	rtnl_cls_set_prio(cls, REDIRECT_PRIO);
	rtnl_cls_set_protocol(cls, ETH_P_ALL);
	if ((r = rtnl_tc_set_kind(TC_CAST(cls), kind)) < 0 || (r = rtnl_tc_set_kind(TC_CAST(act), "mirred")) < 0)
		goto out;
	rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
	rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
	rtnl_mirred_set_ifindex(act, (uint32_t)to_idx);
	if (u32) {
		/* u32 takes a reference of its own: ours is put below.  Only a
		 * terminal key node runs its actions (cls_u32: TC_U32_TERMINAL,
		 * which tc sets for "action"). */
		if ((r = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0)) < 0 || (r = rtnl_u32_set_cls_terminal(cls)) < 0 ||
		    (r = rtnl_u32_add_action(cls, act)) < 0)
			goto out;
	} else {
		/* as u32: the classifier takes a reference of its own */
		r = rtnl_mall_append_action(cls, act);
		if (r < 0)
			goto out;
	}
	r = rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL);
out:
	if (act)
		rtnl_act_put(act);
	if (cls)
		rtnl_cls_put(cls);
	return r;
}

/* Ingress qdisc on `from`, then matchall -> mirred egress redirect to `to`
 * (u32 match-all on a kernel without cls_matchall, e.g. built without it);
 * *added once the qdisc is ours (an existing one is never touched). */
static int redirect_one(struct nl_sock *sk, const char *from, int from_idx, int to_idx, bool *added,
			struct hull_err **err)
{
	struct rtnl_qdisc *q = ingress_qdisc(from_idx);
	int r;

	if (!q)
		return hull_err_make(err, ENOMEM, "ingress qdisc");
	r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	if (r < 0)
		return hull_err_make(err, 0, "%s: add ingress qdisc: %s", from, nl_geterror(r));
	*added = true;
	r = add_filter(sk, from_idx, to_idx, "matchall");
	/* the kernel knows no "matchall" classifier: ENOENT (NLE_OBJ_NOTFOUND) */
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_OPNOTSUPP) {
		int r2 = add_filter(sk, from_idx, to_idx, "u32");
		if (r2 < 0)
			return hull_err_make(err, 0, "%s: add redirect filter: no matchall (%s), u32: %s", from,
					     nl_geterror(r), nl_geterror(r2));
		return 0;
	}
	if (r < 0)
		return hull_err_make(err, 0, "%s: add matchall redirect filter: %s", from, nl_geterror(r));
	return 0;
}

static int drop_ingress(struct nl_sock *sk, const char *name, int ifindex, struct hull_err **err)
{
	struct rtnl_qdisc *q = ingress_qdisc(ifindex);
	int r;

	if (!q)
		return hull_err_make(err, ENOMEM, "ingress qdisc");
	r = rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	/* already gone (the link went, or a half-made redirect): nothing left */
	if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_INVAL && r != -NLE_NODEV)
		return hull_err_make(err, 0, "%s: delete ingress qdisc: %s", name, nl_geterror(r));
	return 0;
}

int net_redirect_remove(const char *a, const char *b, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	const char *names[2] = { a, b };
	int ret = 0;

	if (net_nl_open(&sk, err) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		struct rtnl_link *link = NULL;

		/* a link that is gone took its qdisc with it */
		if (rtnl_link_get_kernel(sk, 0, names[i], &link) < 0)
			continue;
		if (drop_ingress(sk, names[i], rtnl_link_get_ifindex(link), ret < 0 ? NULL : err) < 0)
			ret = -1;
		rtnl_link_put(link);
	}
	return ret;
}

int net_redirect_add(const char *a, const char *b, struct hull_err **err)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	bool added_a = false, added_b = false;
	int ia, ib;

	if (net_nl_open(&sk, err) < 0 || ifindex_of(sk, a, &ia, err) < 0 || ifindex_of(sk, b, &ib, err) < 0)
		return -1;
	if (ia == ib)
		return hull_err_make(err, 0, "redirect %s to itself", a);
	if (redirect_one(sk, a, ia, ib, &added_a, err) < 0 || redirect_one(sk, b, ib, ia, &added_b, err) < 0) {
		/* nothing half-made stays: drop what this call added, only that */
		if (added_a)
			drop_ingress(sk, a, ia, NULL);
		if (added_b)
			drop_ingress(sk, b, ib, NULL);
		return -1;
	}
	return 0;
}
