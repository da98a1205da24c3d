/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent protocol's "network" request (issue 12): the interfaces the
 * guest must make of its virtio-net devices, each found by the MAC the host
 * gave it (the veth's):
 *
 *   {"v":1,"op":"network","interfaces":[{"name":"eth0","mac":"aa:bb:..",
 *     "mtu":1500,"addresses":["10.88.0.2/16","fd00::2/64"],
 *     "routes":[{"dst":"0.0.0.0/0","gw":"10.88.0.1"},{"dst":"10.89.0.0/16"}]}]}
 *
 * Both sides treat it as hostile: counts are bounded (GUEST_NET_MAX_*),
 * names are interface names, addresses parse with inet_pton and prefixes
 * fit their family; anything else is EPROTO naming the field.  An agent
 * without this op answers "unknown op" (EINVAL): the host says so.
 */
#include "guest.h"
#include "oci/oci.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

static int bad(struct hull_err **err, const char *field, size_t i, const char *why)
{
	return hull_err_make(err, EPROTO, "network.interfaces[%zu].%s: %s", i, field, why);
}

static void format_prefix(int family, const uint8_t a[16], unsigned int len, char *out, size_t cap)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family, a, s, sizeof(s));
	snprintf(out, cap, "%s/%u", s, len);
}

/* "ADDR/LEN" (with_len) or "ADDR" into family/a/len. */
static bool parse_prefix(const char *s, bool with_len, int *family, uint8_t a[16], unsigned int *len)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long l;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (with_len != (slash != NULL))
		return false;
	if (slash)
		*slash = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, buf, a) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		*family = AF_INET6;
	else
		return false;
	if (!slash) {
		*len = *family == AF_INET ? 32 : 128;
		return true;
	}
	if (!slash[1] || slash[1] == '-' || slash[1] == '+')
		return false;
	errno = 0;
	l = strtoul(slash + 1, &end, 10);
	if (errno || *end || l > (*family == AF_INET ? 32u : 128u))
		return false;
	*len = (unsigned int)l;
	return true;
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= GUEST_NET_IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

struct json_object *guest_net_request(const struct guest_netif *ifs, size_t n)
{
	struct json_object *req = guest_request_new("network"), *arr = json_object_new_array();
	char s[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; i < n; i++) {
		const struct guest_netif *f = &ifs[i];
		struct json_object *o = json_object_new_object(), *as = json_object_new_array(),
				   *rs = json_object_new_array();

		json_object_object_add(o, "name", json_object_new_string(f->name));
		snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", f->mac[0], f->mac[1], f->mac[2], f->mac[3],
			 f->mac[4], f->mac[5]);
		json_object_object_add(o, "mac", json_object_new_string(s));
		if (f->mtu)
			json_object_object_add(o, "mtu", json_object_new_int((int)f->mtu));
		for (size_t j = 0; j < f->n_addrs; j++) {
			format_prefix(f->addrs[j].family, f->addrs[j].addr, f->addrs[j].prefixlen, s, sizeof(s));
			json_object_array_add(as, json_object_new_string(s));
		}
		for (size_t j = 0; j < f->n_routes; j++) {
			struct json_object *r = json_object_new_object();
			format_prefix(f->routes[j].family, f->routes[j].dst, f->routes[j].dst_len, s, sizeof(s));
			json_object_object_add(r, "dst", json_object_new_string(s));
			if (f->routes[j].has_gw) {
				inet_ntop(f->routes[j].family, f->routes[j].gw, s, sizeof(s));
				json_object_object_add(r, "gw", json_object_new_string(s));
			}
			json_object_array_add(rs, r);
		}
		json_object_object_add(o, "addresses", as);
		json_object_object_add(o, "routes", rs);
		json_object_array_add(arr, o);
	}
	json_object_object_add(req, "interfaces", arr);
	return req;
}

static int get_str(struct json_object *o, const char *key, bool required, size_t i, const char **out,
		   struct hull_err **err)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return bad(err, key, i, "missing");
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return bad(err, key, i, "not a string");
	*out = json_object_get_string(v);
	return 0;
}

static int get_array(struct json_object *o, const char *key, size_t max, size_t i, struct json_object **out,
		     struct hull_err **err)
{
	*out = NULL;
	if (!json_object_object_get_ex(o, key, out) || json_object_is_type(*out, json_type_null)) {
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(*out, json_type_array))
		return bad(err, key, i, "not an array");
	if (json_object_array_length(*out) > max)
		return hull_err_make(err, EPROTO, "network.interfaces[%zu].%s: more than %zu entries", i, key, max);
	return 0;
}

static int parse_one(struct json_object *o, size_t i, struct guest_netif *f, struct hull_err **err)
{
	struct json_object *v, *as, *rs;
	const char *s;
	unsigned int m[6];
	char tail;
	int64_t mtu;

	if (!json_object_is_type(o, json_type_object))
		return hull_err_make(err, EPROTO, "network.interfaces[%zu]: not an object", i);
	if (get_str(o, "name", true, i, &s, err) < 0)
		return -1;
	if (!ifname_ok(s))
		return bad(err, "name", i, "not an interface name");
	strcpy(f->name, s);
	if (get_str(o, "mac", true, i, &s, err) < 0)
		return -1;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
				      &tail) != 6 || (m[0] & 1))
		return bad(err, "mac", i, "not a unicast MAC address");
	for (int k = 0; k < 6; k++)
		f->mac[k] = (uint8_t)m[k];
	f->mtu = 0;
	if (json_object_object_get_ex(o, "mtu", &v)) {
		if (!json_object_is_type(v, json_type_int))
			return bad(err, "mtu", i, "not an integer");
		mtu = json_object_get_int64(v);
		if (mtu < 68 || mtu > 65535)
			return bad(err, "mtu", i, "not in [68, 65535]");
		f->mtu = (unsigned int)mtu;
	}
	if (get_array(o, "addresses", GUEST_NET_MAX_ADDRS, i, &as, err) < 0 ||
	    get_array(o, "routes", GUEST_NET_MAX_ROUTES, i, &rs, err) < 0)
		return -1;
	f->n_addrs = as ? json_object_array_length(as) : 0;
	for (size_t j = 0; j < f->n_addrs; j++) {
		struct json_object *a = json_object_array_get_idx(as, j);
		struct net_addr *na = &f->addrs[j];

		*na = (struct net_addr){ 0 };
		if (!json_object_is_type(a, json_type_string) ||
		    !parse_prefix(json_object_get_string(a), true, &na->family, na->addr, &na->prefixlen))
			return bad(err, "addresses", i, "not ADDRESS/PREFIXLEN");
		na->scope = RT_SCOPE_UNIVERSE;
	}
	f->n_routes = rs ? json_object_array_length(rs) : 0;
	for (size_t j = 0; j < f->n_routes; j++) {
		struct json_object *r = json_object_array_get_idx(rs, j);
		struct net_route *nr = &f->routes[j];
		unsigned int gl;
		int gf;

		*nr = (struct net_route){ 0 };
		if (!json_object_is_type(r, json_type_object))
			return bad(err, "routes", i, "not an object");
		if (get_str(r, "dst", true, i, &s, err) < 0)
			return -1;
		if (!parse_prefix(s, true, &nr->family, nr->dst, &nr->dst_len))
			return bad(err, "routes", i, "dst is not ADDRESS/PREFIXLEN");
		if (get_str(r, "gw", false, i, &s, err) < 0)
			return -1;
		if (s) {
			if (!parse_prefix(s, false, &gf, nr->gw, &gl) || gf != nr->family)
				return bad(err, "routes", i, "gw is not an address of dst's family");
			nr->has_gw = true;
		}
		/* without a gateway the destination is on the link */
		nr->scope = nr->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	}
	return 0;
}

int guest_net_parse(struct json_object *req, struct guest_netif **out, size_t *n, struct hull_err **err)
{
	struct json_object *arr;
	struct guest_netif *v;
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(req, "interfaces", &arr) || !json_object_is_type(arr, json_type_array))
		return hull_err_make(err, EPROTO, "network.interfaces: missing or not an array");
	cnt = json_object_array_length(arr);
	if (cnt > GUEST_NET_MAX_IFS)
		return hull_err_make(err, EPROTO, "network.interfaces: more than %d", GUEST_NET_MAX_IFS);
	v = xcalloc(cnt ? cnt : 1, sizeof(*v));
	for (size_t i = 0; i < cnt; i++) {
		if (parse_one(json_object_array_get_idx(arr, i), i, &v[i], err) < 0) {
			free(v);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[j].name, v[i].name) == 0 || memcmp(v[j].mac, v[i].mac, 6) == 0) {
				free(v);
				return bad(err, "name", i, "name or MAC given twice");
			}
	}
	*out = v;
	*n = cnt;
	return 0;
}
