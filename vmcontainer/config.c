/* SPDX-License-Identifier: Apache-2.0 */
/* The bundle's config.json as the guest's hull sees it: the same document
 * with host paths replaced by where the file server shows them. */
#include "vmcontainer/internal.h"

#include <json-c/json.h>

/* The agent's network namespace (guest PID 1), holding the mirrored NICs. */
#define GUEST_NETNS "/proc/1/ns/net"

void vmcontainer_shares_free(struct vmc_share *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].source);
	}
	free(v);
}

static bool has_option(struct json_object *opts, const char *const *names, size_t n)
{
	if (!opts || !json_object_is_type(opts, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(opts); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(opts, i));
		for (size_t k = 0; s && k < n; k++)
			if (strcmp(s, names[k]) == 0)
				return true;
	}
	return false;
}

static bool is_bind(struct json_object *m, struct json_object *opts)
{
	static const char *const binds[] = { "bind", "rbind" };
	struct json_object *type;

	if (json_object_object_get_ex(m, "type", &type) && json_object_is_type(type, json_type_string) &&
	    strcmp(json_object_get_string(type), "bind") == 0)
		return true;
	return has_option(opts, binds, ARRAY_SIZE(binds));
}

static int rewrite_mounts(struct json_object *root, const char *bundle_dir, const char *share,
			  struct vmc_share **shares, size_t *n, struct hull_err **err)
{
	static const char *const ros[] = { "ro", "rro" };
	struct json_object *mounts;

	if (!json_object_object_get_ex(root, "mounts", &mounts) || !json_object_is_type(mounts, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i), *src, *opts = NULL;
		const char *s;

		if (!json_object_is_type(m, json_type_object))
			continue;
		json_object_object_get_ex(m, "options", &opts);
		if (!is_bind(m, opts))
			continue;
		if (!json_object_object_get_ex(m, "source", &src) || !json_object_is_type(src, json_type_string) ||
		    !*(s = json_object_get_string(src)))
			return hull_err_make(err, 0, "mounts[%zu].source: a bind mount needs a source", i);
		*shares = xrealloc(*shares, (*n + 1) * sizeof(**shares));
		(*shares)[*n] = (struct vmc_share){
			.name = xasprintf("m%zu", i),
			.source = s[0] == '/' ? xstrdup(s) : xasprintf("%s/%s", bundle_dir, s),
			.ro = has_option(opts, ros, ARRAY_SIZE(ros)),
		};
		{
			_cleanup_free_ char *guest = xasprintf("%s/%s", share, (*shares)[*n].name);
			json_object_object_add(m, "source", json_object_new_string(guest));
		}
		(*n)++;
	}
	return 0;
}

/* A pod's member (sandbox_pid: its sandbox's init in the guest, else 0):
 * a namespace it joins by path is its sandbox's (CRI gives the sandbox's
 * network, IPC and UTS, and its pid namespace with shareProcessNamespace). */
static bool pod_shared(const char *type)
{
	static const char *const types[] = { "network", "ipc", "uts", "pid" };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

static void drop_ns_paths(struct json_object *root, pid_t sandbox_pid)
{
	struct json_object *linux_, *nss;

	if (!json_object_object_get_ex(root, "linux", &linux_) ||
	    !json_object_object_get_ex(linux_, "namespaces", &nss) || !json_object_is_type(nss, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(nss); i++) {
		struct json_object *ns = json_object_array_get_idx(nss, i), *type, *path;
		if (!json_object_is_type(ns, json_type_object))
			continue;
		if (sandbox_pid > 0 && json_object_object_get_ex(ns, "type", &type) &&
		    json_object_object_get_ex(ns, "path", &path) && json_object_is_type(type, json_type_string) &&
		    pod_shared(json_object_get_string(type))) {
			const char *t = json_object_get_string(type);
			_cleanup_free_ char *p = xasprintf("/proc/%d/ns/%s", (int)sandbox_pid,
							   strcmp(t, "network") == 0 ? "net" : t);
			json_object_object_add(ns, "path", json_object_new_string(p));
			continue;
		}
		/* The host's network namespace is mirrored into the guest's own
		 * (vmcontainer/net.c): the container joins the agent's (guest
		 * PID 1), where the mirrored interfaces are.  Joined by path,
		 * not shared by leaving the entry out: the container still has
		 * a network namespace, so the net.* sysctls engines set (podman:
		 * net.ipv4.ping_group_range) pass runc's rule and are written
		 * there, in the namespace that is the container's. */
		if (json_object_object_get_ex(ns, "type", &type) && json_object_object_get_ex(ns, "path", &path) &&
		    json_object_is_type(type, json_type_string) &&
		    strcmp(json_object_get_string(type), "network") == 0) {
			json_object_object_add(ns, "path", json_object_new_string(GUEST_NETNS));
			continue;
		}
		json_object_object_del(ns, "path");
	}
}

/*
 * Hooks, split where the runtime-spec runs them: prestart, createRuntime,
 * poststart and poststop run in the runtime namespace, the host's, so the
 * host's hull runs them and the guest gets none of them.  createContainer
 * and startContainer run in the container's namespaces, which exist only in
 * the guest: the guest's hull runs them there.  startContainer's path
 * resolves in the container (the shared rootfs, as in container mode);
 * createContainer's would resolve in the guest's runtime namespace, which
 * holds nothing of the host but the container's rootfs, so it is made to
 * resolve in that rootfs (docs/vm-containers.md).
 */
static void rewrite_hooks(struct json_object *root, const char *share)
{
	static const char *const host_only[] = { "prestart", "createRuntime", "poststart", "poststop" };
	struct json_object *hooks, *cc;

	if (!json_object_object_get_ex(root, "hooks", &hooks) || !json_object_is_type(hooks, json_type_object)) {
		json_object_object_del(root, "hooks");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(host_only); i++)
		json_object_object_del(hooks, host_only[i]);
	if (json_object_object_length(hooks) == 0) {
		json_object_object_del(root, "hooks");
		return;
	}
	if (!json_object_object_get_ex(hooks, "createContainer", &cc) || !json_object_is_type(cc, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(cc); i++) {
		struct json_object *h = json_object_array_get_idx(cc, i), *path;
		if (json_object_is_type(h, json_type_object) && json_object_object_get_ex(h, "path", &path) &&
		    json_object_is_type(path, json_type_string) && json_object_get_string(path)[0] == '/') {
			_cleanup_free_ char *in_root =
				xasprintf("%s/rootfs%s", share, json_object_get_string(path));
			json_object_object_add(h, "path", json_object_new_string(in_root));
		}
	}
}

int vmcontainer_rewrite_config(const char *config, size_t len, const char *bundle_dir, char **out,
			       struct vmc_share **shares, size_t *n_shares, struct hull_err **err)
{
	return vmc_rewrite_config(config, len, bundle_dir, VMC_GUEST_SHARE, 0, out, shares, n_shares, err);
}

int vmc_rewrite_config(const char *config, size_t len, const char *bundle_dir, const char *share,
		       pid_t sandbox_pid, char **out, struct vmc_share **shares, size_t *n_shares,
		       struct hull_err **err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root, *r, *anns;
	int ret = -1;

	*out = NULL;
	*shares = NULL;
	*n_shares = 0;
	root = json_tokener_parse_ex(tok, config, (int)len);
	json_tokener_free(tok);
	if (!root || !json_object_is_type(root, json_type_object)) {
		hull_err_make(err, 0, "config.json: not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "root", &r) || !json_object_is_type(r, json_type_object)) {
		hull_err_make(err, 0, "root: required");
		goto out;
	}
	{
		_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", share);
		json_object_object_add(r, "path", json_object_new_string(rootfs));
	}
	if (rewrite_mounts(root, bundle_dir, share, shares, n_shares, err) < 0)
		goto out;
	drop_ns_paths(root, sandbox_pid);
	rewrite_hooks(root, share);
	if (!json_object_object_get_ex(root, "annotations", &anns) || !json_object_is_type(anns, json_type_object)) {
		anns = json_object_new_object();
		json_object_object_add(root, "annotations", anns);
	}
	json_object_object_add(anns, VMC_ANN_ISOLATION, json_object_new_string("container"));
	*out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	ret = 0;
out:
	if (ret < 0) {
		vmcontainer_shares_free(*shares, *n_shares);
		*shares = NULL;
		*n_shares = 0;
	}
	json_object_put(root);
	return ret;
}
