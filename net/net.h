/* SPDX-License-Identifier: Apache-2.0 */
/* net/net.h: network links through libnl-route (tap, veth, bridges, tc come later). */
#ifndef HULL_NET_H
#define HULL_NET_H

#include "common/common.h"

/* Set link `name` up in the current network namespace. */
int net_link_up(const char *name, struct hull_err **err);

#endif
