/* SPDX-License-Identifier: Apache-2.0 */
/* config.json parsing: a hostile-input table plus full-config round checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "oci/oci.h"

#include <sys/stat.h>

/* A minimal valid config around `extra` (which starts with a comma). */
#define CFG(extra) "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"}" extra "}"
#define PROC(extra) CFG(",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]" extra "}")
#define LNX(extra) CFG(",\"linux\":{" extra "}")
#define RES(extra) LNX("\"resources\":{" extra "}")

struct bad_case { const char *name, *json, *want; };

static const struct bad_case bad_cases[] = {
	/* syntax */
	{ "empty", "", "cfg.json: invalid JSON at offset 0: unexpected end of data" },
	{ "truncated", "{\"ociVersion\":", "invalid JSON at offset 14: unexpected end of data" },
	{ "garbage", "{\"a\" 1}", "invalid JSON at offset 5: object property name separator" },
	{ "trailing comma", "{\"a\":1,}", "invalid JSON at offset 7" },
	{ "trailing data", "{} x", "invalid JSON at offset 3" },
	{ "two documents", "{}{}", "invalid JSON at offset 2" },
	{ "comment", "/* hi */{}", "invalid JSON at offset 0" },
	{ "single-quoted key", "{'ociVersion':\"1.0.0\"}", "invalid JSON at offset 1: single-quoted string" },
	{ "single-quoted value", "{\"ociVersion\":'1.0.0'}", "invalid JSON at offset 14" },
	{ "NaN", CFG(",\"x\":NaN"), "unexpected literal \"NaN\"" },
	{ "Infinity", CFG(",\"x\":-Infinity"), "unexpected literal \"Infinity\"" },
	{ "leading zero", "{\"a\":01}", "invalid JSON at offset" },
	{ "integer past 2^64", CFG(",\"x\":18446744073709551616"), "integer out of 64-bit range" },
	{ "integer below -2^63", CFG(",\"x\":-9223372036854775809"), "integer out of 64-bit range" },
	{ "bad utf8", "{\"ociVersion\":\"\xff\"}", "invalid JSON at offset" },
	{ "deep nesting", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	  "invalid JSON at offset" },
	/* top level */
	{ "not an object", "[]", "document: expected object, got array" },
	{ "missing version", "{\"root\":{\"path\":\"r\"}}", "ociVersion: required" },
	{ "version 2", "{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}",
	  "ociVersion: unsupported version \"2.0.0\"" },
	{ "version 0.x", "{\"ociVersion\":\"0.9\",\"root\":{\"path\":\"r\"}}", "ociVersion: unsupported" },
	{ "version number", "{\"ociVersion\":1,\"root\":{\"path\":\"r\"}}",
	  "ociVersion: expected string, got integer" },
	{ "missing root", "{\"ociVersion\":\"1.0.0\"}", "root.path: required" },
	{ "missing root.path", "{\"ociVersion\":\"1.0.0\",\"root\":{}}", "root.path: required" },
	{ "root.path number", "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":5}}",
	  "root.path: expected string" },
	{ "root.readonly string", "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\",\"readonly\":\"yes\"}}",
	  "root.readonly: expected boolean, got string" },
	{ "hostname number", CFG(",\"hostname\":7"), "hostname: expected string" },
	{ "annotation value", CFG(",\"annotations\":{\"a\":1}"), "annotations.a: expected string" },
	{ "NUL in string", CFG(",\"hostname\":\"a\\u0000b\""), "hostname: string contains a NUL" },
	/* process */
	{ "process not object", CFG(",\"process\":[]"), "process: expected object, got array" },
	{ "args not array", CFG(",\"process\":{\"cwd\":\"/\",\"args\":\"sh\"}"),
	  "process.args: expected array of strings" },
	{ "args element", CFG(",\"process\":{\"cwd\":\"/\",\"args\":[\"sh\",3]}"),
	  "process.args[1]: expected string, got integer" },
	{ "args empty", CFG(",\"process\":{\"cwd\":\"/\",\"args\":[]}"),
	  "process.args: must contain at least one element" },
	{ "args missing", CFG(",\"process\":{\"cwd\":\"/\"}"), "process.args: must contain at least" },
	{ "cwd relative", CFG(",\"process\":{\"cwd\":\"tmp\",\"args\":[\"sh\"]}"),
	  "process.cwd: must be an absolute path" },
	{ "cwd missing", CFG(",\"process\":{\"args\":[\"sh\"]}"), "process.cwd: required" },
	{ "commandLine", PROC(",\"commandLine\":\"sh\""), "process.commandLine: Windows only" },
	{ "terminal string", PROC(",\"terminal\":\"true\""), "process.terminal: expected boolean" },
	{ "env element", PROC(",\"env\":[null]"), "process.env[0]: expected string, got null" },
	{ "negative uid", PROC(",\"user\":{\"uid\":-1,\"gid\":0}"),
	  "process.user.uid: expected integer in [0, 4294967295], got -1" },
	{ "huge gid", PROC(",\"user\":{\"uid\":0,\"gid\":4294967296}"),
	  "process.user.gid: expected integer in [0, 4294967295], got 4294967296" },
	{ "fractional uid", PROC(",\"user\":{\"uid\":1.5}"), "process.user.uid: expected integer" },
	{ "negative umask", PROC(",\"user\":{\"umask\":-18}"), "process.user.umask: expected integer" },
	{ "additionalGids", PROC(",\"user\":{\"additionalGids\":[1,-2]}"),
	  "process.user.additionalGids[1]: expected integer" },
	{ "unknown capability", PROC(",\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_FOO\"]}"),
	  "process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"" },
	{ "capability without prefix", PROC(",\"capabilities\":{\"ambient\":[\"KILL\"]}"),
	  "process.capabilities.ambient[0]: unknown capability \"KILL\"" },
	{ "capability lowercase", PROC(",\"capabilities\":{\"effective\":[\"cap_kill\"]}"),
	  "process.capabilities.effective[0]: unknown capability" },
	{ "capabilities set not array", PROC(",\"capabilities\":{\"permitted\":\"CAP_KILL\"}"),
	  "process.capabilities.permitted: expected array" },
	{ "unknown rlimit", PROC(",\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]"),
	  "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"" },
	{ "rlimit soft > hard", PROC(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]"),
	  "process.rlimits[0]: soft limit 2 exceeds hard limit 1" },
	{ "rlimit negative", PROC(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":-1,\"hard\":1}]"),
	  "process.rlimits[0].soft: expected integer in [0, 18446744073709551615], got -1" },
	{ "rlimit missing hard", PROC(",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":1}]"),
	  "process.rlimits[0].hard: required" },
	{ "rlimit duplicate", PROC(",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":1,\"hard\":1},"
				   "{\"type\":\"RLIMIT_CORE\",\"soft\":1,\"hard\":1}]"),
	  "process.rlimits[1].type: duplicate rlimit \"RLIMIT_CORE\"" },
	{ "oomScoreAdj overflow", PROC(",\"oomScoreAdj\":2147483648"), "process.oomScoreAdj: expected integer" },
	{ "ioPriority class", PROC(",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_FOO\"}"),
	  "process.ioPriority.class: unknown class \"IOPRIO_CLASS_FOO\"" },
	{ "ioPriority priority", PROC(",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":8}"),
	  "process.ioPriority.priority: must be in [0, 7]" },
	{ "scheduler policy", PROC(",\"scheduler\":{\"policy\":\"SCHED_FOO\"}"),
	  "process.scheduler.policy: unknown policy \"SCHED_FOO\"" },
	{ "scheduler missing policy", PROC(",\"scheduler\":{\"nice\":1}"), "process.scheduler.policy: required" },
	{ "scheduler flag", PROC(",\"scheduler\":{\"policy\":\"SCHED_RR\",\"flags\":[\"SCHED_FLAG_X\"]}"),
	  "process.scheduler.flags[0]: unknown flag \"SCHED_FLAG_X\"" },
	{ "consoleSize", PROC(",\"consoleSize\":{\"height\":1}"), "process.consoleSize.width: required" },
	/* mounts */
	{ "mounts not array", CFG(",\"mounts\":{}"), "mounts: expected array, got object" },
	{ "mount relative", CFG(",\"mounts\":[{\"destination\":\"/a\"},{\"destination\":\"/b\"},{\"destination\":\"/c\"},"
				 "{\"destination\":\"proc\"}]"),
	  "mounts[3].destination: must be an absolute path, got \"proc\"" },
	{ "mount not object", CFG(",\"mounts\":[{\"destination\":\"/a\"},\"/b\"]"),
	  "mounts[1]: expected object, got string" },
	{ "mount no destination", CFG(",\"mounts\":[{\"type\":\"proc\"}]"), "mounts[0].destination: required" },
	{ "mount options", CFG(",\"mounts\":[{\"destination\":\"/p\",\"options\":[\"ro\",false]}]"),
	  "mounts[0].options[1]: expected string, got boolean" },
	{ "mount idmap size 0", CFG(",\"mounts\":[{\"destination\":\"/p\",\"uidMappings\":"
				    "[{\"containerID\":0,\"hostID\":0,\"size\":0}]}]"),
	  "mounts[0].uidMappings[0]: size must be greater than 0" },
	/* hooks */
	{ "hook relative path", CFG(",\"hooks\":{\"poststop\":[{\"path\":\"bin/true\"}]}"),
	  "hooks.poststop[0].path: must be an absolute path" },
	{ "hook zero timeout", CFG(",\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\",\"timeout\":0}]}"),
	  "hooks.prestart[0].timeout: must be greater than 0" },
	{ "hook negative timeout", CFG(",\"hooks\":{\"createRuntime\":[{\"path\":\"/x\",\"timeout\":-5}]}"),
	  "hooks.createRuntime[0].timeout: must be greater than 0" },
	{ "hooks not object", CFG(",\"hooks\":[]"), "hooks: expected object, got array" },
	{ "hook list not array", CFG(",\"hooks\":{\"poststart\":{}}"), "hooks.poststart: expected array" },
	{ "hook args", CFG(",\"hooks\":{\"startContainer\":[{\"path\":\"/x\",\"args\":[1]}]}"),
	  "hooks.startContainer[0].args[0]: expected string" },
	/* linux */
	{ "linux not object", CFG(",\"linux\":true"), "linux: expected object, got boolean" },
	{ "unknown namespace", LNX("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"foo\"}]"),
	  "linux.namespaces[2].type: unknown namespace \"foo\"" },
	{ "duplicate namespace", LNX("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"net\"}]"),
	  "linux.namespaces[1].type: unknown namespace \"net\"" },
	{ "duplicate namespace 2", LNX("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]"),
	  "linux.namespaces[1].type: duplicate namespace \"pid\"" },
	{ "namespace relative path", LNX("\"namespaces\":[{\"type\":\"network\",\"path\":\"x\"}]"),
	  "linux.namespaces[0].path: must be an absolute path" },
	{ "namespace missing type", LNX("\"namespaces\":[{}]"), "linux.namespaces[0].type: required" },
	{ "uidMapping missing", LNX("\"uidMappings\":[{\"containerID\":0,\"hostID\":1000}]"),
	  "linux.uidMappings[0].size: required" },
	{ "uidMapping negative", LNX("\"uidMappings\":[{\"containerID\":0,\"hostID\":-1,\"size\":1}]"),
	  "linux.uidMappings[0].hostID: expected integer in [0, 4294967295], got -1" },
	{ "uidMapping wraps", LNX("\"uidMappings\":[{\"containerID\":4294967295,\"hostID\":0,\"size\":2}]"),
	  "linux.uidMappings[0]: range exceeds 32-bit ids" },
	{ "gidMapping not object", LNX("\"gidMappings\":[5]"), "linux.gidMappings[0]: expected object" },
	{ "timeOffsets clock", LNX("\"timeOffsets\":{\"realtime\":{\"secs\":1}}"),
	  "linux.timeOffsets.realtime: unknown clock" },
	{ "timeOffsets nanosecs", LNX("\"timeOffsets\":{\"boottime\":{\"nanosecs\":1000000000}}"),
	  "linux.timeOffsets.boottime.nanosecs: must be below" },
	{ "device type", LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\",\"major\":1,\"minor\":1}]"),
	  "linux.devices[0].type: unknown device type \"q\"" },
	{ "device relative", LNX("\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1}]"),
	  "linux.devices[0].path: must be an absolute path" },
	{ "device no major", LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"minor\":1}]"),
	  "linux.devices[0].major: required" },
	{ "device fileMode", LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"p\",\"fileMode\":-1}]"),
	  "linux.devices[0].fileMode: expected integer" },
	{ "propagation", LNX("\"rootfsPropagation\":\"sideways\""),
	  "linux.rootfsPropagation: unknown propagation \"sideways\"" },
	{ "seccomp no default", LNX("\"seccomp\":{}"), "linux.seccomp.defaultAction: required" },
	{ "seccomp names", LNX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
			       "[{\"names\":[\"read\",7],\"action\":\"SCMP_ACT_ERRNO\"}]}"),
	  "linux.seccomp.syscalls[0].names[1]: expected string" },
	{ "seccomp arg value", LNX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
				   "[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":"
				   "[{\"index\":0,\"value\":-1,\"op\":\"SCMP_CMP_EQ\"}]}]}"),
	  "linux.seccomp.syscalls[0].args[0].value: expected integer" },
	{ "seccomp errnoRet", LNX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":\"EPERM\"}"),
	  "linux.seccomp.defaultErrnoRet: expected integer" },
	{ "sysctl value", LNX("\"sysctl\":{\"net.ipv4.ip_forward\":1}"),
	  "linux.sysctl.net.ipv4.ip_forward: expected string" },
	{ "maskedPaths relative", LNX("\"maskedPaths\":[\"/proc/kcore\",\"proc/keys\"]"),
	  "linux.maskedPaths[1]: must be an absolute path" },
	{ "personality", LNX("\"personality\":{\"flags\":[]}"), "linux.personality.domain: required" },
	/* linux.resources */
	{ "resources not object", LNX("\"resources\":[]"), "linux.resources: expected object" },
	{ "device rule allow", RES("\"devices\":[{\"access\":\"rwm\"}]"), "linux.resources.devices[0].allow: required" },
	{ "device rule access", RES("\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]"),
	  "linux.resources.devices[0].access: \"rwx\" is not a subset" },
	{ "device rule type", RES("\"devices\":[{\"allow\":true,\"type\":\"u\"}]"),
	  "linux.resources.devices[0].type: unknown device type" },
	{ "memory limit string", RES("\"memory\":{\"limit\":\"1G\"}"),
	  "linux.resources.memory.limit: expected integer" },
	{ "memory limit past int64", RES("\"memory\":{\"limit\":9223372036854775808}"),
	  "linux.resources.memory.limit: expected integer in [-9223372036854775808, 9223372036854775807]" },
	{ "cpu shares negative", RES("\"cpu\":{\"shares\":-2}"), "linux.resources.cpu.shares: expected integer" },
	{ "cpu cpus", RES("\"cpu\":{\"cpus\":0}"), "linux.resources.cpu.cpus: expected string" },
	{ "blkio weight", RES("\"blockIO\":{\"weight\":65536}"),
	  "linux.resources.blockIO.weight: expected integer in [0, 65535]" },
	{ "blkio throttle", RES("\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0}]}"),
	  "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required" },
	{ "throttle not object", RES("\"blockIO\":{\"throttleWriteBpsDevice\":[[]]}"),
	  "linux.resources.blockIO.throttleWriteBpsDevice[0]: expected object, got array" },
	{ "weightDevice weight", RES("\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":-1}]}"),
	  "linux.resources.blockIO.weightDevice[0].weight: expected integer in [0, 65535]" },
	{ "hugepage", RES("\"hugepageLimits\":[{\"limit\":1}]"), "linux.resources.hugepageLimits[0].pageSize: required" },
	{ "rdma", RES("\"rdma\":{\"mlx5_0\":{\"hcaHandles\":-1}}"),
	  "linux.resources.rdma.mlx5_0.hcaHandles: expected integer" },
	{ "unified", RES("\"unified\":{\"memory.high\":5}"), "linux.resources.unified.memory.high: expected string" },
	{ "network classID", RES("\"network\":{\"classID\":-1}"), "linux.resources.network.classID: expected integer" },
};

static void test_spec_parse_rejects_hostile_input(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct oci_spec *spec = NULL;
		struct hull_err *err = NULL;
		int r = oci_spec_parse(c->json, strlen(c->json), "cfg.json", &spec, &err);

		if (r >= 0 || err == NULL || strstr(err->msg, c->want) == NULL ||
		    strncmp(err->msg, "cfg.json: ", 10) != 0) {
			print_error("case \"%s\": r=%d msg=%s\n  want substring: %s\n", c->name, r,
				    err ? err->msg : "(none)", c->want);
			failures++;
		}
		assert_null(spec);
		hull_err_free(&err);
	}
	assert_int_equal(failures, 0);
}

static void test_spec_parse_rejects_bytes_after_nul(void **state)
{
	static const char json[] = CFG("") "\0garbage";
	struct oci_spec *spec = NULL;
	struct hull_err *err = NULL;

	(void)state;
	assert_true(oci_spec_parse(json, sizeof(json) - 1, "c", &spec, &err) < 0);
	assert_non_null(strstr(err->msg, "invalid JSON at offset"));
	hull_err_free(&err);
}

static const char full_config[] =
	"{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"unknownTopLevel\":{\"ignored\":[1,2]},"
	"\"hostname\":\"h\",\"domainname\":\"d\","
	"\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},"
	" \"cwd\":\"/work\",\"args\":[\"sh\",\"-c\",\"true\"],\"env\":[\"A=1\",\"B=2\"],"
	" \"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,\"additionalGids\":[5,6],\"username\":\"u\"},"
	" \"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_CHECKPOINT_RESTORE\"],\"ambient\":[]},"
	" \"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":4096},"
	"              {\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,\"hard\":18446744073709551615}],"
	" \"noNewPrivileges\":true,\"apparmorProfile\":\"ap\",\"selinuxLabel\":\"sl\",\"oomScoreAdj\":-500,"
	" \"ioPriority\":{\"class\":\"IOPRIO_CLASS_IDLE\",\"priority\":7},"
	" \"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"flags\":[\"SCHED_FLAG_RESET_ON_FORK\",\"SCHED_FLAG_RECLAIM\"],"
	"   \"runtime\":10,\"deadline\":20,\"period\":30,\"nice\":-3},"
	" \"execCPUAffinity\":{\"initial\":\"0\",\"final\":\"0-3\"}},"
	"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"  {\"destination\":\"/m\",\"source\":\"/src\",\"options\":[\"rbind\",\"idmap\"],"
	"   \"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]}],"
	"\"hooks\":{\"prestart\":[{\"path\":\"/bin/a\",\"args\":[\"a\",\"b\"],\"env\":[\"X=1\"],\"timeout\":5}],"
	"  \"poststop\":[{\"path\":\"/bin/b\"},{\"path\":\"/bin/c\"}]},"
	"\"annotations\":{\"k\":\"v\"},"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"},"
	"  {\"type\":\"time\"},{\"type\":\"user\"}],"
	" \"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
	" \"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1},{\"containerID\":1,\"hostID\":2000,\"size\":10}],"
	" \"timeOffsets\":{\"monotonic\":{\"secs\":-10,\"nanosecs\":5},\"boottime\":{\"secs\":3600}},"
	" \"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,\"fileMode\":438,\"uid\":0},"
	"              {\"path\":\"/dev/fifo\",\"type\":\"p\"}],"
	" \"cgroupsPath\":\"/hull/x\",\"rootfsPropagation\":\"rslave\","
	" \"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}],"
	"   \"memory\":{\"limit\":1073741824,\"swap\":-1,\"swappiness\":60,\"disableOOMKiller\":true},"
	"   \"cpu\":{\"shares\":1024,\"quota\":-1,\"period\":100000,\"cpus\":\"0-1\",\"mems\":\"0\",\"idle\":1},"
	"   \"pids\":{\"limit\":-1},"
	"   \"blockIO\":{\"weight\":500,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":100}],"
	"     \"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":300}]},"
	"   \"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
	"   \"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000}},"
	"   \"unified\":{\"memory.high\":\"max\"},\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":1}]}},"
	" \"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"architectures\":[\"SCMP_ARCH_X86_64\"],"
	"   \"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],\"listenerPath\":\"/run/l.sock\",\"listenerMetadata\":\"md\","
	"   \"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
	"     {\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,"
	"      \"args\":[{\"index\":0,\"value\":8,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]},"
	" \"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
	" \"mountLabel\":\"ml\",\"personality\":{\"domain\":\"LINUX32\",\"flags\":[]},\"intelRdt\":{\"closID\":\"c\"}}}";

static void check_process(const struct oci_process *p)
{
	assert_true(p->terminal);
	assert_true(p->console_size.set);
	assert_int_equal(p->console_size.height, 24);
	assert_int_equal(p->console_size.width, 80);
	assert_string_equal(p->cwd, "/work");
	assert_int_equal(p->n_args, 3);
	assert_string_equal(p->args[2], "true");
	assert_null(p->args[3]);
	assert_int_equal(p->n_env, 2);
	assert_string_equal(p->env[1], "B=2");
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 100);
	assert_true(p->user.has_umask);
	assert_int_equal(p->user.umask, 18);
	assert_int_equal(p->user.n_additional_gids, 2);
	assert_int_equal(p->user.additional_gids[1], 6);
	assert_string_equal(p->user.username, "u");
	assert_true(p->has_capabilities);
	assert_true(p->caps[OCI_CAP_BOUNDING] == ((1ull << 0) | (1ull << 40)));
	assert_true(p->caps[OCI_CAP_AMBIENT] == 0);
	assert_int_equal(p->n_rlimits, 2);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(p->rlimits[0].soft == 1024 && p->rlimits[0].hard == 4096);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_true(p->rlimits[1].soft == UINT64_MAX);
	assert_string_equal(p->rlimits[1].name, "RLIMIT_CORE");
	assert_true(p->no_new_privileges);
	assert_string_equal(p->apparmor_profile, "ap");
	assert_string_equal(p->selinux_label, "sl");
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);
	assert_true(p->io_priority.set);
	assert_int_equal(p->io_priority.class_, 3);
	assert_int_equal(p->io_priority.priority, 7);
	assert_true(p->scheduler.set);
	assert_int_equal(p->scheduler.policy, 6);
	assert_int_equal(p->scheduler.flags, 0x3);
	assert_int_equal(p->scheduler.nice, -3);
	assert_true(p->scheduler.runtime == 10 && p->scheduler.deadline == 20 && p->scheduler.period == 30);
	assert_string_equal(p->exec_cpu_affinity_final, "0-3");
}

static void test_spec_parse_reads_every_section(void **state)
{
	struct oci_spec *s = NULL;
	struct hull_err *err = NULL;
	const struct oci_linux *l;
	const struct oci_resources *r;

	(void)state;
	if (oci_spec_parse(full_config, strlen(full_config), "full", &s, &err) < 0)
		fail_msg("%s", err->msg);
	assert_string_equal(s->oci_version, "1.2.0");
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "h");
	assert_string_equal(s->domainname, "d");
	assert_true(s->has_process);
	check_process(&s->process);

	assert_int_equal(s->n_mounts, 2);
	assert_string_equal(s->mounts[0].type, "proc");
	assert_null(s->mounts[0].options);
	assert_null(s->mounts[1].type);
	assert_int_equal(s->mounts[1].n_options, 2);
	assert_string_equal(s->mounts[1].options[1], "idmap");
	assert_int_equal(s->mounts[1].n_uid_mappings, 1);
	assert_int_equal(s->mounts[1].uid_mappings[0].size, 65536);

	assert_int_equal(s->hooks[OCI_HOOK_PRESTART].n, 1);
	assert_true(s->hooks[OCI_HOOK_PRESTART].hooks[0].has_timeout);
	assert_int_equal(s->hooks[OCI_HOOK_PRESTART].hooks[0].timeout, 5);
	assert_string_equal(s->hooks[OCI_HOOK_PRESTART].hooks[0].args[1], "b");
	assert_string_equal(s->hooks[OCI_HOOK_PRESTART].hooks[0].env[0], "X=1");
	assert_int_equal(s->hooks[OCI_HOOK_POSTSTOP].n, 2);
	assert_false(s->hooks[OCI_HOOK_POSTSTOP].hooks[1].has_timeout);
	assert_int_equal(s->hooks[OCI_HOOK_CREATE_RUNTIME].n, 0);
	assert_int_equal(s->n_annotations, 1);
	assert_string_equal(s->annotations[0].value, "v");

	assert_true(s->has_linux);
	l = &s->linux_;
	assert_int_equal(l->n_namespaces, 4);
	assert_true(oci_spec_has_ns(s, OCI_NS_TIME));
	assert_false(oci_spec_has_ns(s, OCI_NS_MOUNT));
	assert_string_equal(oci_spec_get_ns(s, OCI_NS_NETWORK)->path, "/run/netns/x");
	assert_null(oci_spec_get_ns(s, OCI_NS_PID)->path);
	assert_int_equal(l->n_gid_mappings, 2);
	assert_int_equal(l->gid_mappings[1].host_id, 2000);
	assert_true(l->time_offsets[0].set);
	assert_int_equal(l->time_offsets[0].secs, -10);
	assert_int_equal(l->time_offsets[0].nanosecs, 5);
	assert_int_equal(l->time_offsets[1].secs, 3600);
	assert_int_equal(l->n_devices, 2);
	assert_int_equal(l->devices[0].type, 'c');
	assert_int_equal(l->devices[0].minor, 229);
	assert_true(l->devices[0].has_file_mode && l->devices[0].has_uid && !l->devices[0].has_gid);
	assert_int_equal(l->devices[1].type, 'p');
	assert_string_equal(l->cgroups_path, "/hull/x");
	assert_string_equal(l->rootfs_propagation, "rslave");

	assert_true(l->has_resources);
	r = &l->resources;
	assert_int_equal(r->n_devices, 2);
	assert_false(r->devices[0].allow);
	assert_int_equal(r->devices[0].type, 0);
	assert_int_equal(r->devices[1].type, 'c');
	assert_true(r->devices[1].has_major && r->devices[1].minor == 3);
	assert_string_equal(r->devices[1].access, "rw");
	assert_true(r->memory.has_limit && r->memory.limit == 1073741824);
	assert_true(r->memory.has_swap && r->memory.swap == -1);
	assert_false(r->memory.has_reservation);
	assert_true(r->memory.has_disable_oom_killer && r->memory.disable_oom_killer);
	assert_true(r->cpu.has_quota && r->cpu.quota == -1);
	assert_false(r->cpu.has_burst);
	assert_string_equal(r->cpu.cpus, "0-1");
	assert_true(r->cpu.has_idle && r->cpu.idle == 1);
	assert_true(r->pids.has_limit && r->pids.limit == -1);
	assert_true(r->block_io.has_weight && r->block_io.weight == 500);
	assert_int_equal(r->block_io.n_weight_device, 1);
	assert_true(r->block_io.weight_device[0].has_weight && !r->block_io.weight_device[0].has_leaf_weight);
	assert_int_equal(r->block_io.n_throttle_write_iops, 1);
	assert_int_equal(r->block_io.throttle_write_iops[0].rate, 300);
	assert_int_equal(r->n_hugepage_limits, 1);
	assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
	assert_int_equal(r->n_rdma, 1);
	assert_string_equal(r->rdma[0].device, "mlx5_1");
	assert_int_equal(r->rdma[0].hca_objects, 10000);
	assert_int_equal(r->n_unified, 1);
	assert_string_equal(r->unified[0].key, "memory.high");
	assert_true(r->network.has_class_id && r->network.class_id == 1048577);

	assert_non_null(l->seccomp);
	assert_string_equal(l->seccomp->default_action, "SCMP_ACT_ERRNO");
	assert_true(l->seccomp->has_default_errno_ret && l->seccomp->default_errno_ret == 38);
	assert_string_equal(l->seccomp->architectures[0], "SCMP_ARCH_X86_64");
	assert_string_equal(l->seccomp->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	assert_string_equal(l->seccomp->listener_path, "/run/l.sock");
	assert_int_equal(l->seccomp->n_syscalls, 2);
	assert_int_equal(l->seccomp->syscalls[0].n_names, 2);
	assert_false(l->seccomp->syscalls[0].has_errno_ret);
	assert_true(l->seccomp->syscalls[1].has_errno_ret);
	assert_int_equal(l->seccomp->syscalls[1].n_args, 1);
	assert_string_equal(l->seccomp->syscalls[1].args[0].op, "SCMP_CMP_MASKED_EQ");
	assert_int_equal(l->seccomp->syscalls[1].args[0].value, 8);
	assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
	assert_string_equal(l->masked_paths[0], "/proc/kcore");
	assert_string_equal(l->readonly_paths[0], "/proc/sys");
	assert_string_equal(l->mount_label, "ml");
	assert_true(l->personality.set);
	assert_string_equal(l->personality.domain, "LINUX32");
	assert_true(l->intel_rdt.set);
	oci_spec_free(s);
}

static void test_spec_parse_minimal_has_no_optional_sections(void **state)
{
	static const char json[] = CFG(",\"hostname\":\"x\",\"process\":null");
	struct oci_spec *s = NULL;
	struct hull_err *err = NULL;

	(void)state;
	assert_int_equal(oci_spec_parse(json, strlen(json), "m", &s, &err), 0);
	assert_false(s->has_process);
	assert_false(s->has_linux);
	assert_false(s->root_readonly);
	assert_int_equal(s->n_mounts, 0);
	assert_false(oci_spec_has_ns(s, OCI_NS_UTS));   /* hostname without uts is for runtime/ */
	oci_spec_free(s);
}

static void test_spec_load_reads_bundle_config(void **state)
{
	char dir[] = "/tmp/hull-oci-test-XXXXXX", file[64];
	struct oci_spec *s = NULL;
	struct hull_err *err = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/config.json", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(PROC(""), f);
	fclose(f);
	assert_int_equal(oci_spec_load(dir, &s, &err), 0);
	assert_string_equal(s->process.args[0], "sh");
	oci_spec_free(s);
	s = NULL;
	assert_int_equal(oci_spec_load(file, &s, &err), 0);
	oci_spec_free(s);
	unlink(file);
	assert_true(oci_spec_load(dir, &s, &err) < 0);
	assert_non_null(strstr(err->msg, "config.json"));
	assert_int_equal(err->errnum, ENOENT);
	hull_err_free(&err);
	rmdir(dir);
}

static void test_process_copy_is_deep(void **state)
{
	struct oci_spec *s = NULL;
	struct hull_err *err = NULL;
	struct oci_process copy;

	(void)state;
	assert_int_equal(oci_spec_parse(full_config, strlen(full_config), "full", &s, &err), 0);
	oci_process_copy(&copy, &s->process);
	assert_ptr_not_equal(copy.args, s->process.args);
	assert_ptr_not_equal(copy.rlimits, s->process.rlimits);
	assert_ptr_not_equal(copy.user.additional_gids, s->process.user.additional_gids);
	oci_spec_free(s);               /* the copy must survive its source */
	check_process(&copy);
	oci_process_clear(&copy);
	assert_null(copy.args);
}

/* Every proper prefix of a valid document is invalid JSON: none may parse, leak or crash. */
static void test_spec_parse_rejects_every_truncation(void **state)
{
	size_t len = strlen(full_config);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		struct oci_spec *s = NULL;
		struct hull_err *err = NULL;
		assert_true(oci_spec_parse(full_config, n, "t", &s, &err) < 0);
		assert_null(s);
		assert_non_null(strstr(err->msg, "t: invalid JSON at offset"));
		hull_err_free(&err);
	}
}

/* Each byte replaced by a quote, a brace or a digit: whatever parses must free cleanly. */
static void test_spec_parse_survives_byte_mutations(void **state)
{
	static const char subst[] = "\"{9";
	size_t len = strlen(full_config);
	char *buf = malloc(len + 1);

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(subst) - 1; k++) {
			struct oci_spec *s = NULL;
			struct hull_err *err = NULL;
			memcpy(buf, full_config, len + 1);
			buf[i] = subst[k];
			if (oci_spec_parse(buf, len, "m", &s, &err) == 0)
				oci_spec_free(s);
			else
				assert_non_null(err);
			hull_err_free(&err);
		}
	}
	free(buf);
}

static void test_process_copy_of_empty_process(void **state)
{
	struct oci_process empty = { 0 }, copy;

	(void)state;
	oci_process_copy(&copy, &empty);
	assert_null(copy.args);
	assert_null(copy.rlimits);
	assert_null(copy.user.additional_gids);
	oci_process_clear(&copy);
}

static void test_process_parse_uses_relative_paths(void **state)
{
	static const char good[] = "{\"cwd\":\"/\",\"args\":[\"ls\"],\"env\":[\"A=b\"],\"user\":{\"uid\":5}}";
	static const char bad[] = "{\"cwd\":\"/\",\"args\":[\"ls\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}";
	struct oci_process p = { 0 };
	struct hull_err *err = NULL;

	(void)state;
	assert_int_equal(oci_process_parse(good, strlen(good), "p.json", &p, &err), 0);
	assert_int_equal(p.user.uid, 5);
	assert_string_equal(p.args[0], "ls");
	oci_process_clear(&p);
	assert_true(oci_process_parse(bad, strlen(bad), "p.json", &p, &err) < 0);
	assert_string_equal(err->msg, "p.json: capabilities.bounding[0]: unknown capability \"CAP_NOPE\"");
	assert_null(p.args);
	hull_err_free(&err);
	assert_true(oci_process_parse("{\"cwd\":\"/\"}", 11, "p.json", &p, &err) < 0);
	assert_string_equal(err->msg, "p.json: args: must contain at least one element");
	hull_err_free(&err);
}

static void test_resources_parse_uses_relative_paths(void **state)
{
	static const char good[] = "{\"memory\":{\"limit\":100},\"pids\":{\"limit\":10}}";
	static const char bad[] = "{\"cpu\":{\"period\":-1}}";
	struct oci_resources r = { 0 };
	struct hull_err *err = NULL;

	(void)state;
	assert_int_equal(oci_resources_parse(good, strlen(good), "r.json", &r, &err), 0);
	assert_true(r.memory.has_limit && r.memory.limit == 100);
	assert_true(r.pids.has_limit && r.pids.limit == 10);
	oci_resources_clear(&r);
	assert_true(oci_resources_parse(bad, strlen(bad), "r.json", &r, &err) < 0);
	assert_non_null(strstr(err->msg, "r.json: cpu.period: expected integer"));
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse_rejects_hostile_input),
		cmocka_unit_test(test_spec_parse_rejects_bytes_after_nul),
		cmocka_unit_test(test_spec_parse_reads_every_section),
		cmocka_unit_test(test_spec_parse_minimal_has_no_optional_sections),
		cmocka_unit_test(test_spec_load_reads_bundle_config),
		cmocka_unit_test(test_spec_parse_rejects_every_truncation),
		cmocka_unit_test(test_spec_parse_survives_byte_mutations),
		cmocka_unit_test(test_process_copy_is_deep),
		cmocka_unit_test(test_process_copy_of_empty_process),
		cmocka_unit_test(test_process_parse_uses_relative_paths),
		cmocka_unit_test(test_resources_parse_uses_relative_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
