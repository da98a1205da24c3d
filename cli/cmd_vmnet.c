/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull vm tap|redirect|link: the host-side network plumbing of a VM
 * (net/net.h), in hull's current network namespace:
 *   hull vm tap [--multi-queue] [--owner UID] [--group GID] NAME
 *   hull vm redirect [--remove] VETH TAP
 *   hull vm link NAME        (JSON: ifindex, mtu, mac, up, addresses, routes)
 * The VM-container path calls the same net/ functions itself; these
 * commands are for bare VMs and for tests (docs/microvm.md).
 */
#include "cli.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <sys/socket.h>

static int vm_tap(int argc, char **argv, struct hull_err **err)
{
	enum { O_MQ = 256, O_OWNER, O_GROUP };
	static const struct option opts[] = {
		{ "multi-queue", no_argument, NULL, O_MQ },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "group", required_argument, NULL, O_GROUP },
		{ 0 }
	};
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	bool mq = false;
	uint64_t v;
	int c;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		switch (c) {
		case O_MQ: mq = true; break;
		case O_OWNER:
		case O_GROUP:
			if (parse_u64(optarg, &v) < 0 || v >= UINT32_MAX)
				return hull_err_make(err, 0, "--%s \"%s\": not a numeric id", c == O_OWNER ? "owner" : "group",
						     optarg);
			if (c == O_OWNER)
				uid = (uid_t)v;
			else
				gid = (gid_t)v;
			break;
		default: return hull_err_make(err, 0, "unknown option");
		}
	}
	if (cli_need_args(argc, argv, 1, "tap NAME", err) < 0)
		return -1;
	return net_tap_create(argv[optind], mq, uid, gid, err) < 0 ? -1 : 0;
}

static int vm_redirect(int argc, char **argv, struct hull_err **err)
{
	enum { O_REMOVE = 256 };
	static const struct option opts[] = { { "remove", no_argument, NULL, O_REMOVE }, { 0 } };
	bool remove = false;
	int c;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		if (c != O_REMOVE)
			return hull_err_make(err, 0, "unknown option");
		remove = true;
	}
	if (cli_need_args(argc, argv, 2, "VETH and TAP", err) < 0)
		return -1;
	if (remove)
		return net_redirect_remove(argv[optind], argv[optind + 1], err) < 0 ? -1 : 0;
	return net_redirect_add(argv[optind], argv[optind + 1], err) < 0 ? -1 : 0;
}

static struct json_object *ip_json(int family, const uint8_t *addr, unsigned int prefix, bool with_prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (!inet_ntop(family, addr, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	if (with_prefix)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", prefix);
	return json_object_new_string(buf);
}

static int vm_link(int argc, char **argv, struct hull_err **err)
{
	_cleanup_free_ struct net_addr *addrs = NULL;
	_cleanup_free_ struct net_route *routes = NULL;
	struct json_object *o, *ja, *jr;
	struct net_link_info li;
	size_t na, nr;
	char mac[18];

	if (argc != 2)
		return hull_err_make(err, 0, "usage: hull vm link NAME");
	if (net_link_get(argv[1], &li, err) < 0 || net_link_addrs(argv[1], &addrs, &na, err) < 0 ||
	    net_link_routes(argv[1], &routes, &nr, err) < 0)
		return -1;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", li.mac[0], li.mac[1], li.mac[2], li.mac[3],
		 li.mac[4], li.mac[5]);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(argv[1]));
	json_object_object_add(o, "ifindex", json_object_new_int(li.ifindex));
	json_object_object_add(o, "mtu", json_object_new_int64(li.mtu));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "up", json_object_new_boolean(li.up));
	ja = json_object_new_array();
	for (size_t i = 0; i < na; i++)
		json_object_array_add(ja, ip_json(addrs[i].family, addrs[i].addr, addrs[i].prefixlen, true));
	json_object_object_add(o, "addresses", ja);
	jr = json_object_new_array();
	for (size_t i = 0; i < nr; i++) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "dst", routes[i].dst_len == 0 && !routes[i].dst[0]
							 ? json_object_new_string("default")
							 : ip_json(routes[i].family, routes[i].dst, routes[i].dst_len, true));
		if (routes[i].has_gw)
			json_object_object_add(r, "gateway", ip_json(routes[i].family, routes[i].gw, 0, false));
		json_object_array_add(jr, r);
	}
	json_object_object_add(o, "routes", jr);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv, struct hull_err **err);
} vm_net_cmds[] = {
	{ "tap", vm_tap },
	{ "redirect", vm_redirect },
	{ "link", vm_link },
};

int cli_vm_net(int argc, char **argv, struct hull_err **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(vm_net_cmds); i++)
		if (strcmp(argv[0], vm_net_cmds[i].name) == 0)
			return vm_net_cmds[i].run(argc, argv, err);
	return 1;  /* not one of ours */
}
