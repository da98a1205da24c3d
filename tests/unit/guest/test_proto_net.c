/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's "network" request (guest/proto_net.c): what the host encodes
 * comes back the same, and hostile requests are EPROTO naming the field,
 * never a crash or a partial result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "guest/guest.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

static void test_net_request_round_trip(void **state)
{
	struct guest_netif in[2] = { 0 }, *out = NULL;
	size_t n = 0;
	struct json_object *req;

	strcpy(in[0].name, "eth0");
	memcpy(in[0].mac, (uint8_t[]){ 0x0a, 0x58, 0x0a, 0x58, 0x00, 0x02 }, 6);
	in[0].mtu = 1400;
	in[0].n_addrs = 2;
	in[0].addrs[0] = (struct net_addr){ .family = AF_INET, .prefixlen = 24 };
	inet_pton(AF_INET, "10.88.0.2", in[0].addrs[0].addr);
	in[0].addrs[1] = (struct net_addr){ .family = AF_INET6, .prefixlen = 64 };
	inet_pton(AF_INET6, "fd00::2", in[0].addrs[1].addr);
	in[0].n_routes = 2;
	in[0].routes[0] = (struct net_route){ .family = AF_INET, .dst_len = 0, .has_gw = true };
	inet_pton(AF_INET, "10.88.0.1", in[0].routes[0].gw);
	in[0].routes[1] = (struct net_route){ .family = AF_INET6, .dst_len = 48 };
	inet_pton(AF_INET6, "fd01::", in[0].routes[1].dst);
	strcpy(in[1].name, "net1");
	memcpy(in[1].mac, (uint8_t[]){ 0x02, 0, 0, 0, 0, 9 }, 6);

	req = guest_net_request(in, 2);
	assert_int_equal(guest_net_parse(req, &out, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].name, "eth0");
	assert_memory_equal(out[0].mac, in[0].mac, 6);
	assert_int_equal(out[0].mtu, 1400);
	assert_int_equal(out[0].n_addrs, 2);
	assert_memory_equal(out[0].addrs[0].addr, in[0].addrs[0].addr, 16);
	assert_int_equal(out[0].addrs[0].prefixlen, 24);
	assert_int_equal(out[0].addrs[1].family, AF_INET6);
	assert_memory_equal(out[0].addrs[1].addr, in[0].addrs[1].addr, 16);
	assert_int_equal(out[0].n_routes, 2);
	assert_true(out[0].routes[0].has_gw);
	assert_int_equal(out[0].routes[0].dst_len, 0);
	assert_int_equal(out[0].routes[0].scope, RT_SCOPE_UNIVERSE);
	assert_memory_equal(out[0].routes[0].gw, in[0].routes[0].gw, 16);
	assert_false(out[0].routes[1].has_gw);
	assert_int_equal(out[0].routes[1].scope, RT_SCOPE_LINK);
	assert_int_equal(out[0].routes[1].dst_len, 48);
	assert_string_equal(out[1].name, "net1");
	assert_int_equal(out[1].mtu, 0);
	assert_int_equal(out[1].n_addrs, 0);
	free(out);
	json_object_put(req);
}

static const char *const hostile[] = {
	"{}",
	"{\"interfaces\":{}}",
	"{\"interfaces\":[1]}",
	"{\"interfaces\":[{}]}",
	"{\"interfaces\":[{\"name\":\"eth0\"}]}",
	"{\"interfaces\":[{\"name\":7,\"mac\":\"02:00:00:00:00:01\"}]}",
	"{\"interfaces\":[{\"name\":\"\",\"mac\":\"02:00:00:00:00:01\"}]}",
	"{\"interfaces\":[{\"name\":\"a/b\",\"mac\":\"02:00:00:00:00:01\"}]}",
	"{\"interfaces\":[{\"name\":\"..\",\"mac\":\"02:00:00:00:00:01\"}]}",
	"{\"interfaces\":[{\"name\":\"a b\",\"mac\":\"02:00:00:00:00:01\"}]}",
	"{\"interfaces\":[{\"name\":\"sixteen-chars-xx\",\"mac\":\"02:00:00:00:00:01\"}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"03:00:00:00:00:01\"}]}",        /* multicast */
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01:00\"}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:0g\"}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":67}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":65536}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":\"1500\"}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":-4294965796}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":\"10.0.0.1/8\"}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[\"10.0.0.1\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[\"10.0.0.1/33\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[\"10.0.0.1/-1\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[\"10.0.0.1/+8\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[\"10.0.0.1/\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[\"fd00::1/129\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[\"10.0.0.1/99999999999999999999\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[\"host/8\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"addresses\":[8]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"routes\":[\"0.0.0.0/0\"]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"routes\":[{}]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"routes\":[{\"dst\":\"0.0.0.0\"}]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"fd00::1\"}]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1/32\"}]}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":1}]}]}",
	/* the same name or MAC twice */
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\"},{\"name\":\"e\",\"mac\":\"02:00:00:00:00:02\"}]}",
	"{\"interfaces\":[{\"name\":\"e\",\"mac\":\"02:00:00:00:00:01\"},{\"name\":\"f\",\"mac\":\"02:00:00:00:00:01\"}]}",
};

static void test_net_parse_rejects_hostile(void **state)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct json_object *req = json_tokener_parse(hostile[i]);
		struct guest_netif *out = (struct guest_netif *)1;
		struct hull_err *err = NULL;
		size_t n = 99;

		assert_non_null(req);
		if (guest_net_parse(req, &out, &n, &err) == 0)
			fail_msg("accepted: %s", hostile[i]);
		assert_null(out);
		assert_int_equal(n, 0);
		assert_int_equal(err->errnum, EPROTO);
		assert_non_null(strstr(err->msg, "network.interfaces"));
		hull_err_free(&err);
		json_object_put(req);
	}
}

/* Counts beyond the bounds are refused before anything is parsed. */
static void test_net_parse_bounds(void **state)
{
	struct json_object *req = json_object_new_object(), *arr = json_object_new_array(), *one, *as;
	struct guest_netif *out = NULL;
	struct hull_err *err = NULL;
	size_t n = 0;

	for (int i = 0; i <= GUEST_NET_MAX_IFS; i++) {
		char name[16], mac[32];
		one = json_object_new_object();
		snprintf(name, sizeof(name), "e%d", i);
		snprintf(mac, sizeof(mac), "02:00:00:00:00:%02x", i);
		json_object_object_add(one, "name", json_object_new_string(name));
		json_object_object_add(one, "mac", json_object_new_string(mac));
		json_object_array_add(arr, one);
	}
	json_object_object_add(req, "interfaces", arr);
	assert_true(guest_net_parse(req, &out, &n, &err) < 0);
	assert_int_equal(err->errnum, EPROTO);
	hull_err_free(&err);
	/* one interface, one address too many */
	json_object_array_del_idx(arr, 1, GUEST_NET_MAX_IFS);
	as = json_object_new_array();
	for (int i = 0; i <= GUEST_NET_MAX_ADDRS; i++)
		json_object_array_add(as, json_object_new_string("10.0.0.1/8"));
	json_object_object_add(json_object_array_get_idx(arr, 0), "addresses", as);
	assert_true(guest_net_parse(req, &out, &n, &err) < 0);
	assert_int_equal(err->errnum, EPROTO);
	assert_non_null(strstr(err->msg, "more than"));
	hull_err_free(&err);
	/* at the bound: fine */
	json_object_array_del_idx(as, 0, 1);
	assert_int_equal(guest_net_parse(req, &out, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].n_addrs, GUEST_NET_MAX_ADDRS);
	free(out);
	json_object_put(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_request_round_trip),
		cmocka_unit_test(test_net_parse_rejects_hostile),
		cmocka_unit_test(test_net_parse_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
