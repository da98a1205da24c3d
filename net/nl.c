/* SPDX-License-Identifier: Apache-2.0 */
#include "internal.h"

int net_nl_open(struct nl_sock **out, struct hull_err **err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return hull_err_make(err, ENOMEM, "netlink socket");
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return hull_err_make(err, 0, "netlink connect: %s", nl_geterror(r));
	}
	*out = sk;
	return 0;
}
