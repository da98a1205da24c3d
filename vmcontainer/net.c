/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network of a VM-isolated container (issue 12, docs/networking.md):
 * the engine (podman, CNI, containerd) made a network namespace with a veth
 * in it and named it in config.json; the supervisor joins that namespace
 * (its VMM threads with it) and, for every link there but lo, makes a tap,
 * redirects every frame between the link and the tap with tc both ways,
 * gives the guest a virtio-net device on the tap with the link's MAC, and
 * tells the agent the link's name, MTU, addresses and routes.
 *
 * What was made is written to ROOT/ID/net as it is made ("tap NAME" before
 * a tap, "redirect LINK TAP" after a redirect): a supervisor killed at any
 * point leaves what `delete` removes, and teardown removes only that.
 */
#include "vmcontainer/internal.h"
#include "net/net.h"

#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define TAP_PREFIX "hulltap"

/* Links hull mirrors: Ethernet links that an engine hands a container. */
static const char *const mirrored_kinds[] = { "veth", "macvlan", "ipvlan" };

const char *vmc_netns_path(const struct oci_spec *spec)
{
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].type == OCI_NS_NETWORK)
			return spec->linux_.namespaces[i].path;
	return NULL;
}

int vmc_net_vhost(const struct oci_spec *spec, enum vm_vhost *out, struct hull_err **err)
{
	*out = VM_VHOST_AUTO;
	for (size_t i = 0; i < spec->n_annotations; i++) {
		const struct oci_kv *kv = &spec->annotations[i];
		if (strcmp(kv->key, VMC_ANN_VHOST) != 0)
			continue;
		if (strcmp(kv->value, "on") == 0)
			*out = VM_VHOST_ON;
		else if (strcmp(kv->value, "off") == 0)
			*out = VM_VHOST_OFF;
		else
			return hull_err_make(err, 0, "annotation " VMC_ANN_VHOST " \"%s\": must be on or off", kv->value);
	}
	return 0;
}

static int join(const char *netns, struct hull_err **err)
{
	_cleanup_close_ int fd = open(netns, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return hull_err_make(err, errno, "network namespace %s", netns);
	if (setns(fd, CLONE_NEWNET) < 0)
		return hull_err_make(err, errno, "join network namespace %s", netns);
	return 0;
}

static bool mirrorable(const struct net_link_desc *l)
{
	if (l->arptype != ARPHRD_ETHER)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(mirrored_kinds); i++)
		if (strcmp(l->kind, mirrored_kinds[i]) == 0)
			return true;
	return false;
}

/* The prefix route an address makes by itself (the kernel's, "proto
 * kernel"): the guest's kernel makes it of the same address. */
static bool address_route(const struct guest_netif *f, const struct net_route *r)
{
	if (r->has_gw)
		return false;
	for (size_t i = 0; i < f->n_addrs; i++) {
		const struct net_addr *a = &f->addrs[i];
		unsigned int bits = a->prefixlen, k;
		bool same = a->family == r->family && bits == r->dst_len;

		for (k = 0; same && k < bits / 8; k++)
			same = a->addr[k] == r->dst[k];
		if (same && bits % 8)
			same = ((a->addr[k] ^ r->dst[k]) & (0xff00 >> (bits % 8))) == 0;
		if (same)
			return true;
	}
	return false;
}

/* What the guest gets of link `name`: MAC, MTU, addresses but the IPv6
 * link-local one (the guest's kernel makes the same of the same MAC), the
 * main table's routes through it. */
static int describe(const char *netns, const char *name, struct guest_netif *f, struct hull_err **err)
{
	_cleanup_free_ struct net_addr *addrs = NULL;
	_cleanup_free_ struct net_route *routes = NULL;
	struct net_link_info li;
	size_t na = 0, nr = 0;

	memset(f, 0, sizeof(*f));
	if (net_link_get(name, &li, err) < 0 || net_link_addrs(name, &addrs, &na, err) < 0 ||
	    net_link_routes(name, &routes, &nr, err) < 0)
		return -1;
	snprintf(f->name, sizeof(f->name), "%s", name);
	memcpy(f->mac, li.mac, 6);
	f->mtu = li.mtu;
	for (size_t i = 0; i < na; i++) {
		if (addrs[i].family == AF_INET6 && addrs[i].scope == RT_SCOPE_LINK)
			continue;
		if (f->n_addrs == GUEST_NET_MAX_ADDRS)
			return hull_err_make(err, 0, "network namespace %s: interface %s: more than %d addresses",
					     netns, name, GUEST_NET_MAX_ADDRS);
		f->addrs[f->n_addrs++] = addrs[i];
	}
	if (f->n_addrs == 0)
		return hull_err_make(err, 0,
				     "network namespace %s: interface %s has no IPv4 or IPv6 address: hull cannot "
				     "mirror it into the VM",
				     netns, name);
	for (size_t i = 0; i < nr; i++) {
		/* fe80::/64 comes with the guest's own link-local address */
		if (routes[i].family == AF_INET6 && routes[i].dst_len == 64 && routes[i].dst[0] == 0xfe &&
		    (routes[i].dst[1] & 0xc0) == 0x80)
			continue;
		if (address_route(f, &routes[i]))
			continue;
		if (f->n_routes == GUEST_NET_MAX_ROUTES)
			return hull_err_make(err, 0, "network namespace %s: interface %s: more than %d routes",
					     netns, name, GUEST_NET_MAX_ROUTES);
		f->routes[f->n_routes++] = routes[i];
	}
	return 0;
}

static int record(int dir_fd, const char *line, struct hull_err **err)
{
	_cleanup_close_ int fd = openat(dir_fd, VMC_NET_FILE, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0 || write_all(fd, line, strlen(line)) < 0 || fsync(fd) < 0)
		return hull_err_make(err, errno, "write %s", VMC_NET_FILE);
	return 0;
}

/* Undo what ROOT/ID/net lists, in the current network namespace: the
 * redirects, then the taps. */
static int undo(int dir_fd, struct hull_err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int ret = 0;

	if (read_file_at(dir_fd, VMC_NET_FILE, &text, &len, 1 << 16, err) < 0)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		char *save = NULL, *copy = xstrdup(text);
		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char a[32], b[32];
			if (pass == 0 && sscanf(l, "redirect %31s %31s", a, b) == 2)
				ret |= net_redirect_remove(a, b, ret < 0 ? NULL : err);
			else if (pass == 1 && sscanf(l, "tap %31s", a) == 1)
				ret |= net_link_delete(a, ret < 0 ? NULL : err);
		}
		free(copy);
	}
	return ret < 0 ? -1 : 0;
}

int vmc_net_setup(int dir_fd, const char *netns, unsigned int cpus, enum vm_vhost vhost, struct vmc_net *out,
		  struct hull_err **err)
{
	_cleanup_free_ struct net_link_desc *links = NULL;
	size_t nl = 0;

	memset(out, 0, sizeof(*out));
	if (!netns)
		return 0;
	if (join(netns, err) < 0 || net_links(&links, &nl, err) < 0)
		return -1;
	/* Everything checked before anything is made: one error, nothing left. */
	for (size_t i = 0; i < nl; i++) {
		if (links[i].loopback)
			continue;
		if (!mirrorable(&links[i]))
			return hull_err_make(err, 0,
					     "network namespace %s: interface %s (%s): hull mirrors only veth, macvlan "
					     "and ipvlan interfaces into a VM",
					     netns, links[i].name, links[i].kind[0] ? links[i].kind : "no kind");
		if (out->n == GUEST_NET_MAX_IFS)
			return hull_err_make(err, 0, "network namespace %s: more than %d interfaces", netns,
					     GUEST_NET_MAX_IFS);
		if (describe(netns, links[i].name, &out->ifs[out->n], err) < 0)
			return -1;
		out->n++;
	}
	for (size_t i = 0; i < out->n; i++) {
		_cleanup_free_ char *line = NULL;
		char *tap = out->taps[i];

		snprintf(tap, sizeof(out->taps[i]), TAP_PREFIX "%u", (unsigned int)(i % GUEST_NET_MAX_IFS));
		line = xasprintf("tap %s\n", tap);
		if (record(dir_fd, line, err) < 0 || net_tap_create(tap, cpus > 1, (uid_t)-1, (gid_t)-1, err) < 0 ||
		    net_link_up(tap, err) < 0)
			goto fail;
		free(line);
		line = NULL;
		if (net_redirect_add(out->ifs[i].name, tap, err) < 0)
			goto fail;
		line = xasprintf("redirect %s %s\n", out->ifs[i].name, tap);
		if (record(dir_fd, line, err) < 0)
			goto fail;
		out->vm[i] = (struct vm_net){ .tap = tap, .has_mac = true, .vhost = vhost };
		memcpy(out->vm[i].mac, out->ifs[i].mac, 6);
	}
	hull_debug("network namespace %s: %zu interfaces mirrored", netns, out->n);
	return 0;
fail:
	hull_err_wrap(err, "network namespace %s", netns);
	(void)undo(dir_fd, NULL);
	(void)unlinkat(dir_fd, VMC_NET_FILE, 0);
	out->n = 0;
	return -1;
}

void vmc_net_teardown(int dir_fd)
{
	struct hull_err *e = NULL;

	if (faccessat(dir_fd, VMC_NET_FILE, F_OK, 0) < 0)
		return;
	if (undo(dir_fd, &e) < 0) {
		hull_warn("%s", e->msg);
		hull_err_free(&e);
		return;
	}
	(void)unlinkat(dir_fd, VMC_NET_FILE, 0);
}

int vmc_net_cleanup(int dir_fd, const struct oci_spec *spec, struct hull_err **err)
{
	const char *netns;
	pid_t pid;
	int st;

	if (faccessat(dir_fd, VMC_NET_FILE, F_OK, 0) < 0)
		return 0;
	netns = spec ? vmc_netns_path(spec) : NULL;
	/* A namespace that is gone took the taps and filters with it. */
	if (netns && access(netns, F_OK) == 0) {
		/* setns in a child: the caller stays in its own namespace. */
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return hull_err_make(err, errno, "fork");
		if (pid == 0) {
			struct hull_err *e = NULL;
			if (join(netns, &e) < 0 || undo(dir_fd, &e) < 0) {
				hull_warn("%s", e->msg);
				_exit(1);
			}
			_exit(0);
		}
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return hull_err_make(err, errno, "waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return hull_err_make(err, 0, "network namespace %s: removing hull's taps and filters failed",
					     netns);
	}
	if (unlinkat(dir_fd, VMC_NET_FILE, 0) < 0 && errno != ENOENT)
		return hull_err_make(err, errno, "unlink %s", VMC_NET_FILE);
	return 0;
}
