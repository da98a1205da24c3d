/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime-spec features document (features.md, features-linux.md). */
#include "oci/internal.h"

#include <seccomp.h>

/* The options namespaces/ recognizes (runc's list plus idmapped mounts). */
static const char *const mount_options[] = {
	"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
	"lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
	"nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
	"ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "rnoatime", "rnodev",
	"rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro",
	"rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
	"rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid",
	"symfollow", "sync", "tmpcopyup", "unbindable", "idmap", "ridmap",
};

static const char *const seccomp_actions[] = {
	"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
};

static const char *const seccomp_operators[] = {
	"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
	"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
};

/* {OCI name, libseccomp name}: an arch is listed only if the libseccomp we
 * link resolves it, so the list follows the installed library. */
static const struct { const char *oci, *scmp; } seccomp_archs[] = {
	{ "SCMP_ARCH_AARCH64", "aarch64" },       { "SCMP_ARCH_ARM", "arm" },
	{ "SCMP_ARCH_LOONGARCH64", "loongarch64" }, { "SCMP_ARCH_M68K", "m68k" },
	{ "SCMP_ARCH_MIPS", "mips" },             { "SCMP_ARCH_MIPS64", "mips64" },
	{ "SCMP_ARCH_MIPS64N32", "mips64n32" },   { "SCMP_ARCH_MIPSEL", "mipsel" },
	{ "SCMP_ARCH_MIPSEL64", "mipsel64" },     { "SCMP_ARCH_MIPSEL64N32", "mipsel64n32" },
	{ "SCMP_ARCH_PARISC", "parisc" },         { "SCMP_ARCH_PARISC64", "parisc64" },
	{ "SCMP_ARCH_PPC", "ppc" },               { "SCMP_ARCH_PPC64", "ppc64" },
	{ "SCMP_ARCH_PPC64LE", "ppc64le" },       { "SCMP_ARCH_RISCV64", "riscv64" },
	{ "SCMP_ARCH_S390", "s390" },             { "SCMP_ARCH_S390X", "s390x" },
	{ "SCMP_ARCH_SH", "sh" },                 { "SCMP_ARCH_SHEB", "sheb" },
	{ "SCMP_ARCH_X32", "x32" },               { "SCMP_ARCH_X86", "x86" },
	{ "SCMP_ARCH_X86_64", "x86_64" },
};

/* WAIT_KILLABLE_RECV needs libseccomp 2.6 (SCMP_FLTATR_CTL_WAITKILL); 2.5.4 lacks it. */
static const char *const seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG",
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
#endif
};

static jobj *str_array(const char *const *v, size_t n)
{
	jobj *a = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static jobj *enabled(bool on)
{
	jobj *o = json_object_new_object();
	json_object_object_add(o, "enabled", json_object_new_boolean(on));
	return o;
}

static jobj *linux_seccomp(void)
{
	jobj *o = json_object_new_object(), *archs = json_object_new_array();

	json_object_object_add(o, "enabled", json_object_new_boolean(true));
	json_object_object_add(o, "actions", str_array(seccomp_actions, ARRAY_SIZE(seccomp_actions)));
	json_object_object_add(o, "operators",
			       str_array(seccomp_operators, ARRAY_SIZE(seccomp_operators)));
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_archs); i++)
		if (seccomp_arch_resolve_name(seccomp_archs[i].scmp) != 0)
			json_object_array_add(archs, json_object_new_string(seccomp_archs[i].oci));
	json_object_object_add(o, "archs", archs);
	json_object_object_add(o, "knownFlags", str_array(seccomp_flags, ARRAY_SIZE(seccomp_flags)));
	json_object_object_add(o, "supportedFlags", str_array(seccomp_flags, ARRAY_SIZE(seccomp_flags)));
	return o;
}

static jobj *linux_features(void)
{
	jobj *o = json_object_new_object(), *ns = json_object_new_array(),
	     *caps = json_object_new_array(), *cg = json_object_new_object(),
	     *ext = json_object_new_object();

	for (int i = 0; i < OCI_NS_COUNT; i++)
		json_object_array_add(ns, json_object_new_string(oci_ns_table[i].name));
	json_object_object_add(o, "namespaces", ns);
	for (int c = 0; c <= oci_cap_last(); c++)
		json_object_array_add(caps, json_object_new_string(oci_cap_name(c)));
	json_object_object_add(o, "capabilities", caps);
	json_object_object_add(cg, "v1", json_object_new_boolean(true));
	json_object_object_add(cg, "v2", json_object_new_boolean(true));
	json_object_object_add(cg, "systemd", json_object_new_boolean(true));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
	json_object_object_add(cg, "rdma", json_object_new_boolean(true));
	json_object_object_add(o, "cgroup", cg);
	json_object_object_add(o, "seccomp", linux_seccomp());
	json_object_object_add(o, "apparmor", enabled(true));
	json_object_object_add(o, "selinux", enabled(true));
	json_object_object_add(o, "intelRdt", enabled(false));
	json_object_object_add(ext, "idmap", enabled(true));
	json_object_object_add(o, "mountExtensions", ext);
	return o;
}

char *oci_features_json(void)
{
	_cleanup_jobj_ jobj *o = json_object_new_object();
	jobj *ann = json_object_new_object();

	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string(HULL_OCI_SPEC_VERSION));
	json_object_object_add(o, "hooks", str_array(oci_hook_names, OCI_HOOK_KIND_COUNT));
	json_object_object_add(o, "mountOptions", str_array(mount_options, ARRAY_SIZE(mount_options)));
	json_object_object_add(o, "linux", linux_features());
	json_object_object_add(ann, "io.github.hull.version", json_object_new_string(HULL_VERSION));
	/* The values org.hull.isolation takes (docs/vm-containers.md). */
	json_object_object_add(ann, "org.hull.isolation", json_object_new_string("container,vm"));
	json_object_object_add(o, "annotations", ann);
	return oci_json_dump(o, true);
}
