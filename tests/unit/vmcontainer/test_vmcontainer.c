/* SPDX-License-Identifier: Apache-2.0 */
/* VM isolation: the choice, the VM's size and the guest's config.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "vmcontainer/internal.h"
#include "microvm/microvm.h"
#include "vfio/vfio.h"

#include <json-c/json.h>

/* A valid spec with `extra` (",\"k\":v" fields) spliced into its top level. */
static struct oci_spec *spec_with(const char *extra)
{
	_cleanup_free_ char *json = xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
					      "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}%s}", extra);
	struct oci_spec *s = NULL;
	struct hull_err *err = NULL;

	if (oci_spec_parse(json, strlen(json), "config.json", &s, &err) < 0)
		fail_msg("spec_with(%s): %s", extra, err->msg);
	return s;
}

static void test_isolation_parse_values_and_error_names_the_source(void **state)
{
	enum vmc_isolation v = VMC_ISOLATION_UNSET;
	struct hull_err *err = NULL;

	assert_int_equal(vmcontainer_isolation_parse("vm", "--isolation", &v, NULL), 0);
	assert_int_equal(v, VMC_ISOLATION_VM);
	assert_int_equal(vmcontainer_isolation_parse("container", "--isolation", &v, NULL), 0);
	assert_int_equal(v, VMC_ISOLATION_CONTAINER);
	static const char *const bad[] = { "", "VM", "vm ", "kata", "containers" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(vmcontainer_isolation_parse(bad[i], "--isolation", &v, &err) < 0);
		assert_non_null(strstr(err->msg, "--isolation"));
		assert_non_null(strstr(err->msg, "must be vm or container"));
		hull_err_free(&err);
	}
}

static void test_isolation_argv0_is_the_basename_hull_vm(void **state)
{
	assert_int_equal(vmcontainer_isolation_argv0("hull-vm"), VMC_ISOLATION_VM);
	assert_int_equal(vmcontainer_isolation_argv0("/usr/local/bin/hull-vm"), VMC_ISOLATION_VM);
	assert_int_equal(vmcontainer_isolation_argv0("./hull-vm"), VMC_ISOLATION_VM);
	assert_int_equal(vmcontainer_isolation_argv0("hull"), VMC_ISOLATION_UNSET);
	assert_int_equal(vmcontainer_isolation_argv0("/usr/bin/hull"), VMC_ISOLATION_UNSET);
	assert_int_equal(vmcontainer_isolation_argv0("hull-vmx"), VMC_ISOLATION_UNSET);
	assert_int_equal(vmcontainer_isolation_argv0("/hull-vm/hull"), VMC_ISOLATION_UNSET);
	assert_int_equal(vmcontainer_isolation_argv0(""), VMC_ISOLATION_UNSET);
	assert_int_equal(vmcontainer_isolation_argv0(NULL), VMC_ISOLATION_UNSET);
}

static void test_isolation_choose_the_stronger_wins(void **state)
{
	static const struct { enum vmc_isolation cmdline; const char *ann; bool vm; } cases[] = {
		{ VMC_ISOLATION_UNSET, NULL, false },
		{ VMC_ISOLATION_CONTAINER, NULL, false },
		{ VMC_ISOLATION_VM, NULL, true },
		{ VMC_ISOLATION_UNSET, "vm", true },
		{ VMC_ISOLATION_UNSET, "container", false },
		{ VMC_ISOLATION_CONTAINER, "vm", true },
		{ VMC_ISOLATION_VM, "container", true },   /* an annotation cannot weaken hull-vm */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *extra = cases[i].ann ? xasprintf(",\"annotations\":{\"org.hull.isolation\":\"%s\"}",
								     cases[i].ann)
							  : xstrdup("");
		struct oci_spec *s = spec_with(extra);
		bool vm = !cases[i].vm;

		assert_int_equal(vmcontainer_isolation_choose(cases[i].cmdline, s, &vm, NULL), 0);
		assert_int_equal(vm, cases[i].vm);
		/* The config text gives the same answer without the spec. */
		_cleanup_free_ char *kv = cases[i].ann ? xasprintf("\"org.hull.isolation\":\"%s\"", cases[i].ann)
						       : xstrdup("");
		_cleanup_free_ char *json = xasprintf("{\"annotations\":{%s}}", kv);
		vm = !cases[i].vm;
		assert_int_equal(vmcontainer_isolation_of_config(cases[i].cmdline, json, strlen(json), &vm, NULL), 0);
		assert_int_equal(vm, cases[i].vm);
		oci_spec_free(s);
	}
}

static void test_isolation_bad_annotation_names_it(void **state)
{
	static const char *const bad[] = { "\"VM\"", "\"\"", "\"microvm\"", "1", "true", "[\"vm\"]", "{}" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *json = xasprintf("{\"annotations\":{\"org.hull.isolation\":%s}}", bad[i]);
		struct hull_err *err = NULL;
		bool vm;

		assert_true(vmcontainer_isolation_of_config(VMC_ISOLATION_UNSET, json, strlen(json), &vm, &err) < 0);
		assert_non_null(strstr(err->msg, "annotation org.hull.isolation"));
		assert_null(strchr(err->msg, '\n'));
		hull_err_free(&err);
	}
	/* A config that does not parse is the container path's error, not ours. */
	static const char broken[] = "{\"annotations\":{\"org.hull.isolation\":\"vm\"";
	bool vm = true;
	assert_int_equal(vmcontainer_isolation_of_config(VMC_ISOLATION_UNSET, broken, strlen(broken), &vm, NULL), 0);
	assert_false(vm);
}

static void assert_size(const char *extra, unsigned cpus, uint64_t mib)
{
	struct oci_spec *s = spec_with(extra);
	struct vmc_size sz;

	assert_int_equal(vmcontainer_size(s, &sz, NULL), 0);
	assert_int_equal(sz.cpus, cpus);
	assert_int_equal(sz.mem_mib, mib);
	oci_spec_free(s);
}

static void test_size_defaults_and_from_resources(void **state)
{
	static const struct { const char *res; unsigned cpus; uint64_t mib; } cases[] = {
		{ "", 1, VMC_MEM_DEFAULT_MIB },
		{ "\"cpu\":{\"quota\":100000,\"period\":100000}", 1, VMC_MEM_DEFAULT_MIB },
		{ "\"cpu\":{\"quota\":150000,\"period\":100000}", 2, VMC_MEM_DEFAULT_MIB },
		{ "\"cpu\":{\"quota\":200000}", 2, VMC_MEM_DEFAULT_MIB },          /* period 100000 */
		{ "\"cpu\":{\"quota\":1,\"period\":1000000}", 1, VMC_MEM_DEFAULT_MIB },
		{ "\"cpu\":{\"quota\":-1}", 1, VMC_MEM_DEFAULT_MIB },              /* unlimited */
		{ "\"cpu\":{\"quota\":100000000,\"period\":1000}", MICROVM_MAX_CPUS, VMC_MEM_DEFAULT_MIB },
		{ "\"memory\":{\"limit\":536870912}", 1, 512 + VMC_MEM_MARGIN_MIB },
		{ "\"memory\":{\"limit\":1}", 1, 1 + VMC_MEM_MARGIN_MIB },
		{ "\"memory\":{\"limit\":-1}", 1, VMC_MEM_DEFAULT_MIB },
		{ "\"memory\":{\"limit\":9223372036854775807}", 1, VMC_MEM_MAX_MIB },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *extra = xasprintf(",\"linux\":{\"resources\":{%s}}", cases[i].res);
		assert_size(extra, cases[i].cpus, cases[i].mib);
	}
}

static void test_size_annotations_override(void **state)
{
	static const struct { const char *ann; unsigned cpus; uint64_t mib; } cases[] = {
		{ "\"org.hull.vm.cpus\":\"4\"", 4, 512 + VMC_MEM_MARGIN_MIB },
		{ "\"org.hull.vm.memory\":\"1024\"", 2, 1024 },
		{ "\"org.hull.vm.memory\":\"300M\"", 2, 300 },
		{ "\"org.hull.vm.memory\":\"300MiB\"", 2, 300 },
		{ "\"org.hull.vm.memory\":\"2G\"", 2, 2048 },
		{ "\"org.hull.vm.memory\":\"2GiB\"", 2, 2048 },
		{ "\"org.hull.vm.cpus\":\"64\",\"org.hull.vm.memory\":\"64\"", 64, 64 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *extra = xasprintf(",\"annotations\":{%s},\"linux\":{\"resources\":{"
						       "\"cpu\":{\"quota\":200000},\"memory\":{\"limit\":536870912}}}",
						       cases[i].ann);
		assert_size(extra, cases[i].cpus, cases[i].mib);
	}
}

static void test_size_bad_annotations_name_them(void **state)
{
	static const struct { const char *key, *value; } bad[] = {
		{ "org.hull.vm.cpus", "0" },      { "org.hull.vm.cpus", "65" },     { "org.hull.vm.cpus", "-1" },
		{ "org.hull.vm.cpus", "two" },    { "org.hull.vm.cpus", "" },       { "org.hull.vm.cpus", "2 " },
		{ "org.hull.vm.memory", "63" },   { "org.hull.vm.memory", "0" },    { "org.hull.vm.memory", "abc" },
		{ "org.hull.vm.memory", "2X" },   { "org.hull.vm.memory", "-512" }, { "org.hull.vm.memory", "" },
		{ "org.hull.vm.memory", "1048577" }, { "org.hull.vm.memory", "1025G" },
		{ "org.hull.vm.memory", "18446744073709551615G" }, { "org.hull.vm.memory", "99999999999999999999" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *extra = xasprintf(",\"annotations\":{\"%s\":\"%s\"}", bad[i].key, bad[i].value);
		struct oci_spec *s = spec_with(extra);
		struct hull_err *err = NULL;
		struct vmc_size sz;

		assert_true(vmcontainer_size(s, &sz, &err) < 0);
		assert_non_null(strstr(err->msg, bad[i].key));
		assert_null(strchr(err->msg, '\n'));
		hull_err_free(&err);
		oci_spec_free(s);
	}
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(o, k, &v))
		fail_msg("no %s", k);
	return v;
}

static void test_rewrite_config_root_binds_and_annotation(void **state)
{
	static const char cfg[] =
		"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
		"\"mounts\":["
		"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		"{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/var/lib/x/hosts\",\"options\":[\"rbind\",\"ro\"]},"
		"{\"destination\":\"/data\",\"source\":\"vol\",\"options\":[\"bind\"]},"
		"{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\"]}],"
		"\"hooks\":{\"prestart\":[{\"path\":\"/usr/bin/host-hook\"}]},"
		"\"annotations\":{\"org.hull.isolation\":\"vm\",\"keep\":\"me\"},"
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"},"
		"{\"type\":\"ipc\",\"path\":\"/proc/1/ns/ipc\"}]}}";
	_cleanup_free_ char *out = NULL;
	struct vmc_share *sh = NULL;
	size_t n = 0;
	struct json_object *o, *m;

	assert_int_equal(vmcontainer_rewrite_config(cfg, strlen(cfg), "/bundles/b", &out, &sh, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sh[0].name, "m1");
	assert_string_equal(sh[0].source, "/var/lib/x/hosts");
	assert_true(sh[0].ro);
	assert_string_equal(sh[1].name, "m2");
	assert_string_equal(sh[1].source, "/bundles/b/vol");
	assert_false(sh[1].ro);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_string_equal(json_object_get_string(get(get(o, "root"), "path")), "/run/share/rootfs");
	assert_true(json_object_get_boolean(get(get(o, "root"), "readonly")));
	m = get(o, "mounts");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(m, 0), "source")), "proc");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(m, 1), "source")), "/run/share/m1");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(m, 2), "source")), "/run/share/m2");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(m, 3), "source")), "tmpfs");
	/* The guest's hull must build a container, not boot another VM. */
	assert_string_equal(json_object_get_string(get(get(o, "annotations"), "org.hull.isolation")), "container");
	assert_string_equal(json_object_get_string(get(get(o, "annotations"), "keep")), "me");
	assert_false(json_object_object_get_ex(o, "hooks", NULL));
	/* The network namespace the engine made is mirrored into the guest's
	 * own (vmcontainer/net.c): the container joins the agent's, by path,
	 * so net.* sysctls (podman sets one) still have their namespace. */
	struct json_object *nss = get(get(o, "linux"), "namespaces"), *ns;
	assert_int_equal(json_object_array_length(nss), 3);
	ns = json_object_array_get_idx(nss, 1);
	assert_string_equal(json_object_get_string(get(ns, "type")), "network");
	assert_string_equal(json_object_get_string(get(ns, "path")), "/proc/1/ns/net");
	ns = json_object_array_get_idx(nss, 2);
	assert_string_equal(json_object_get_string(get(ns, "type")), "ipc");
	assert_false(json_object_object_get_ex(ns, "path", NULL));
	json_object_put(o);
	vmcontainer_shares_free(sh, n);
}

/* A pod's member: its bundle under VMC_GUEST_SHARE/pod/ID, the namespaces
 * it joins by path its sandbox's in the guest (net as "net"), the others
 * its own. */
static void test_rewrite_config_pod_member(void **state)
{
	static const char cfg[] =
		"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		"\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/v\"}],"
		"\"hooks\":{\"createContainer\":[{\"path\":\"/bin/hook\"}]},"
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"},"
		"{\"type\":\"ipc\",\"path\":\"/proc/9/ns/ipc\"},{\"type\":\"uts\",\"path\":\"/proc/9/ns/uts\"},"
		"{\"type\":\"mount\",\"path\":\"/proc/9/ns/mnt\"}]}}";
	_cleanup_free_ char *out = NULL;
	struct vmc_share *sh = NULL;
	size_t n = 0;
	struct json_object *o, *nss;

	assert_int_equal(vmc_rewrite_config(cfg, strlen(cfg), "/b", "/run/share/pod/c1", 42, &out, &sh, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sh[0].name, "m0");
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_string_equal(json_object_get_string(get(get(o, "root"), "path")), "/run/share/pod/c1/rootfs");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(get(o, "mounts"), 0), "source")),
			    "/run/share/pod/c1/m0");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(
				    get(get(o, "hooks"), "createContainer"), 0), "path")),
			    "/run/share/pod/c1/rootfs/bin/hook");
	nss = get(get(o, "linux"), "namespaces");
	assert_false(json_object_object_get_ex(json_object_array_get_idx(nss, 0), "path", NULL));
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(nss, 1), "path")), "/proc/42/ns/net");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(nss, 2), "path")), "/proc/42/ns/ipc");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(nss, 3), "path")), "/proc/42/ns/uts");
	/* a mount namespace is never the sandbox's: its own */
	assert_false(json_object_object_get_ex(json_object_array_get_idx(nss, 4), "path", NULL));
	json_object_put(o);
	vmcontainer_shares_free(sh, n);
}

/* The CRI's annotations: containerd's and CRI-O's; bad ones name themselves. */
static void test_pod_role(void **state)
{
	static const struct {
		const char *ann;
		int ret;
		enum vmc_pod_role role;
		const char *sandbox, *msg;
	} cases[] = {
		{ "", 0, VMC_POD_NONE, NULL, NULL },
		{ "\"io.kubernetes.cri.container-type\":\"sandbox\",\"io.kubernetes.cri.sandbox-id\":\"s\"", 0,
		  VMC_POD_SANDBOX, NULL, NULL },
		{ "\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"s1\"", 0,
		  VMC_POD_MEMBER, "s1", NULL },
		{ "\"io.kubernetes.cri-o.ContainerType\":\"container\",\"io.kubernetes.cri-o.SandboxID\":\"s2\"", 0,
		  VMC_POD_MEMBER, "s2", NULL },
		{ "\"io.kubernetes.cri.container-type\":\"container\"", -1, VMC_POD_NONE, NULL,
		  "annotation io.kubernetes.cri.sandbox-id: a pod's container (io.kubernetes.cri.container-type=container) needs it" },
		{ "\"io.kubernetes.cri.container-type\":\"pause\"", -1, VMC_POD_NONE, NULL,
		  "annotation io.kubernetes.cri.container-type \"pause\": must be sandbox or container" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *extra = xasprintf(",\"annotations\":{%s}", cases[i].ann);
		struct oci_spec *s = spec_with(extra);
		enum vmc_pod_role role;
		const char *sb = NULL, *key = NULL;
		struct hull_err *err = NULL;

		assert_int_equal(vmc_pod_role(s, &role, &sb, &key, &err) < 0 ? -1 : 0, cases[i].ret);
		if (cases[i].msg) {
			assert_string_equal(err->msg, cases[i].msg);
			hull_err_free(&err);
		} else {
			assert_int_equal(role, cases[i].role);
			if (cases[i].sandbox) {
				assert_string_equal(sb, cases[i].sandbox);
				assert_non_null(key);
			}
		}
		oci_spec_free(s);
	}
}

/* The guest gets the hooks that run in the container's namespaces; the host
 * keeps the runtime namespace's ones. */
static void test_rewrite_config_splits_hooks(void **state)
{
	static const char cfg[] =
		"{\"root\":{\"path\":\"rootfs\"},\"hooks\":{"
		"\"prestart\":[{\"path\":\"/h/pre\"}],\"createRuntime\":[{\"path\":\"/h/cr\"}],"
		"\"createContainer\":[{\"path\":\"/bin/cc\",\"args\":[\"cc\",\"x\"]},{\"path\":7}],"
		"\"startContainer\":[{\"path\":\"/bin/sc\"}],"
		"\"poststart\":[{\"path\":\"/h/ps\"}],\"poststop\":[{\"path\":\"/h/pst\"}]}}";
	_cleanup_free_ char *out = NULL;
	struct vmc_share *sh = NULL;
	size_t n = 0;
	struct json_object *o, *h;

	assert_int_equal(vmcontainer_rewrite_config(cfg, strlen(cfg), "/b", &out, &sh, &n, NULL), 0);
	o = json_tokener_parse(out);
	h = get(o, "hooks");
	assert_non_null(h);
	assert_int_equal(json_object_object_length(h), 2);
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(get(h, "createContainer"), 0), "path")),
			    "/run/share/rootfs/bin/cc");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(
				    get(json_object_array_get_idx(get(h, "createContainer"), 0), "args"), 1)), "x");
	/* Not a path: left for the guest's hull to refuse, as container mode does. */
	assert_int_equal(json_object_get_int(get(json_object_array_get_idx(get(h, "createContainer"), 1), "path")), 7);
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(get(h, "startContainer"), 0), "path")),
			    "/bin/sc");
	json_object_put(o);
}

static void test_rewrite_config_adds_annotations_when_absent(void **state)
{
	static const char cfg[] = "{\"root\":{\"path\":\"/abs/rootfs\"}}";
	_cleanup_free_ char *out = NULL;
	struct vmc_share *sh = NULL;
	size_t n = 1;
	struct json_object *o;

	assert_int_equal(vmcontainer_rewrite_config(cfg, strlen(cfg), "/b", &out, &sh, &n, NULL), 0);
	assert_int_equal(n, 0);
	o = json_tokener_parse(out);
	assert_string_equal(json_object_get_string(get(get(o, "annotations"), "org.hull.isolation")), "container");
	json_object_put(o);
}

static void test_rewrite_config_hostile_input(void **state)
{
	static const char *const bad[] = {
		"", "[]", "\"x\"", "{", "{\"root\":\"rootfs\"}", "{}",
		"{\"root\":{},\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\"}]}",
		"{\"root\":{},\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"\"}]}",
		"{\"root\":{},\"mounts\":[{\"destination\":\"/x\",\"options\":[\"bind\"],\"source\":7}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct hull_err *err = NULL;
		struct vmc_share *sh = (void *)1;
		char *out = (void *)1;
		size_t n = 5;

		assert_true(vmcontainer_rewrite_config(bad[i], strlen(bad[i]), "/b", &out, &sh, &n, &err) < 0);
		assert_null(out);
		assert_null(sh);
		assert_int_equal(n, 0);
		assert_null(strchr(err->msg, '\n'));
		hull_err_free(&err);
	}
	/* Odd but harmless shapes are left alone. */
	static const char odd[] = "{\"root\":{},\"mounts\":[7,{\"type\":9},{\"options\":[1,null]}],"
				  "\"linux\":{\"namespaces\":[1,{\"path\":2}]},\"annotations\":[]}";
	_cleanup_free_ char *out = NULL;
	struct vmc_share *sh = NULL;
	size_t n = 0;
	assert_int_equal(vmcontainer_rewrite_config(odd, strlen(odd), "/b", &out, &sh, &n, NULL), 0);
	assert_int_equal(n, 0);
}

/* exec's process goes to the guest as the OCI JSON its hull parses back. */
static void test_process_json_round_trips_through_the_parser(void **state)
{
	struct oci_spec *base = spec_with(
		",\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},"
		"\"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,\"additionalGids\":[5,6]},"
		"\"args\":[\"sh\",\"-c\",\"echo hi\"],\"env\":[\"A=1\",\"PATH=/bin\"],\"cwd\":\"/tmp\","
		"\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"]},"
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}],"
		"\"noNewPrivileges\":true,\"oomScoreAdj\":5}");
	struct json_object *pj = vmc_process_json(&base->process);
	_cleanup_free_ char *json = xasprintf("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
					      "\"process\":%s}", json_object_to_json_string(pj));
	struct oci_spec *back = NULL;
	struct hull_err *err = NULL;
	const struct oci_process *a = &base->process, *b;

	if (oci_spec_parse(json, strlen(json), "exec", &back, &err) < 0)
		fail_msg("%s: %s", json, err->msg);
	b = &back->process;
	assert_true(b->terminal);
	assert_int_equal(b->console_size.height, 24);
	assert_int_equal(b->user.uid, 1000);
	assert_int_equal(b->user.gid, 100);
	assert_int_equal(b->user.umask, 18);
	assert_int_equal(b->user.n_additional_gids, 2);
	assert_int_equal(b->n_args, 3);
	assert_string_equal(b->args[2], "echo hi");
	assert_int_equal(b->n_env, 2);
	assert_string_equal(b->cwd, "/tmp");
	for (int i = 0; i < OCI_CAP_SET_COUNT; i++)
		assert_true(a->caps[i] == b->caps[i]);
	assert_int_equal(b->n_rlimits, 1);
	assert_int_equal(b->rlimits[0].hard, 20);
	assert_true(b->no_new_privileges);
	assert_int_equal(b->oom_score_adj, 5);
	json_object_put(pj);
	oci_spec_free(back);
	oci_spec_free(base);
}

/* update's resources go to the guest as JSON its hull parses back the same. */
static void test_resources_json_round_trips_through_the_parser(void **state)
{
	struct oci_spec *a = spec_with(",\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864,\"swap\":-1,"
				       "\"reservation\":1048576},\"cpu\":{\"shares\":512,\"quota\":50000,"
				       "\"period\":100000,\"cpus\":\"0-1\"},\"pids\":{\"limit\":10},"
				       "\"blockIO\":{\"weight\":300}}}");
	struct json_object *rj = vmc_resources_json(&a->linux_.resources);
	_cleanup_free_ char *extra = xasprintf(",\"linux\":{\"resources\":%s}", json_object_to_json_string(rj));
	struct oci_spec *b = spec_with(extra);
	const struct oci_resources *x = &a->linux_.resources, *y = &b->linux_.resources;

	assert_true(y->memory.has_limit && y->memory.limit == x->memory.limit);
	assert_true(y->memory.has_swap && y->memory.swap == -1);
	assert_true(y->memory.has_reservation && y->memory.reservation == 1048576);
	assert_true(y->cpu.has_shares && y->cpu.shares == 512);
	assert_true(y->cpu.has_quota && y->cpu.quota == 50000);
	assert_true(y->cpu.has_period && y->cpu.period == 100000);
	assert_string_equal(y->cpu.cpus, "0-1");
	assert_true(y->pids.has_limit && y->pids.limit == 10);
	assert_true(y->block_io.has_weight && y->block_io.weight == 300);
	assert_false(y->memory.has_swappiness);
	json_object_put(rj);
	oci_spec_free(a);
	oci_spec_free(b);
	/* nothing set: an empty object, no empty sections */
	struct oci_resources none = { 0 };
	rj = vmc_resources_json(&none);
	assert_string_equal(json_object_to_json_string(rj), "{ }");
	json_object_put(rj);
}

/* org.hull.vm.devices against a fake sysfs: 0000:01:00.1 on vfio-pci, alone
 * in IOMMU group 3; 0000:01:00.2 unbound. */
static void test_devices_annotation(void **state)
{
	char base[] = "/tmp/hull-vmc-dev.XXXXXX";
	struct oci_kv kv = { (char *)"org.hull.vm.devices", NULL };
	struct oci_spec spec = { .annotations = &kv, .n_annotations = 1 };
	struct vm_vfio *v = NULL;
	unsigned int n = 7;
	struct hull_err *err = NULL;

	assert_non_null(mkdtemp(base));
	_cleanup_free_ char *sys = xasprintf("%s/sys", base);
	struct vfio_host h = { .sys = sys, .proc = "/proc" };
	static const char *const dirs[] = { "bus/pci/devices/0000:01:00.1", "bus/pci/devices/0000:01:00.2",
					    "bus/pci/drivers/vfio-pci", "kernel/iommu_groups/3/devices" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", sys, dirs[i]);
		assert_int_equal(mkdir_p(d, 0755, NULL), 0);
	}
	static const char *const links[][2] = {
		{ "bus/pci/devices/0000:01:00.1/driver", "bus/pci/drivers/vfio-pci" },
		{ "bus/pci/devices/0000:01:00.1/iommu_group", "kernel/iommu_groups/3" },
		{ "kernel/iommu_groups/3/devices/0000:01:00.1", "bus/pci/devices/0000:01:00.1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		_cleanup_free_ char *l = xasprintf("%s/%s", sys, links[i][0]), *t = xasprintf("%s/%s", sys, links[i][1]);
		assert_int_equal(symlink(t, l), 0);
	}

	spec.n_annotations = 0; /* none: no device */
	assert_int_equal(vmcontainer_devices(&spec, &h, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	spec.n_annotations = 1;
	kv.value = (char *)"vfio=01:00.1";
	assert_int_equal(vmcontainer_devices(&spec, &h, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].bdf, "0000:01:00.1");
	assert_int_equal(v[0].group, 3);
	vmcontainer_devices_free(v, n);

	static const struct { const char *value, *msg; } bad[] = {
		{ "0000:01:00.1", "annotation org.hull.vm.devices \"0000:01:00.1\": expected vfio=DDDD:BB:DD.F[,...]" },
		{ "vfio=0000:01:00.1,vfio=0000:01:00.1", "annotation org.hull.vm.devices: 0000:01:00.1 given twice" },
		{ "vfio=0000:01:00.1,vfio=0000:01:00.2",
		  "annotation org.hull.vm.devices: 0000:01:00.2: not bound to vfio-pci (driver: none" },
		{ "vfio=0000:07:00.0", "annotation org.hull.vm.devices: 0000:07:00.0: no such PCI device" },
		{ "vfio=x", "not a PCI address" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		kv.value = (char *)bad[i].value;
		assert_int_equal(vmcontainer_devices(&spec, &h, &v, &n, &err), -1);
		assert_null(v);
		assert_int_equal(n, 0);
		if (!strstr(err->msg, bad[i].msg))
			fail_msg("\"%s\": error \"%s\" does not say \"%s\"", bad[i].value, err->msg, bad[i].msg);
		hull_err_free(&err);
	}
	_cleanup_free_ char *rm = xasprintf("rm -rf '%s'", base);
	assert_int_equal(system(rm), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isolation_parse_values_and_error_names_the_source),
		cmocka_unit_test(test_isolation_argv0_is_the_basename_hull_vm),
		cmocka_unit_test(test_isolation_choose_the_stronger_wins),
		cmocka_unit_test(test_isolation_bad_annotation_names_it),
		cmocka_unit_test(test_size_defaults_and_from_resources),
		cmocka_unit_test(test_size_annotations_override),
		cmocka_unit_test(test_devices_annotation),
		cmocka_unit_test(test_size_bad_annotations_name_them),
		cmocka_unit_test(test_rewrite_config_root_binds_and_annotation),
		cmocka_unit_test(test_rewrite_config_splits_hooks),
		cmocka_unit_test(test_rewrite_config_pod_member),
		cmocka_unit_test(test_pod_role),
		cmocka_unit_test(test_rewrite_config_adds_annotations_when_absent),
		cmocka_unit_test(test_rewrite_config_hostile_input),
		cmocka_unit_test(test_process_json_round_trips_through_the_parser),
		cmocka_unit_test(test_resources_json_round_trips_through_the_parser),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
