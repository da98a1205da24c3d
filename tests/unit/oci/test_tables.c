/* SPDX-License-Identifier: Apache-2.0 */
/* Capability, rlimit, namespace and hook name tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "oci/oci.h"

#include <linux/capability.h>
#include <sched.h>

static void test_cap_table_round_trips_every_number(void **state)
{
	(void)state;
	assert_int_equal(oci_cap_last(), 40);
	for (int c = 0; c <= oci_cap_last(); c++) {
		const char *name = oci_cap_name(c);
		assert_non_null(name);
		assert_int_equal(strncmp(name, "CAP_", 4), 0);
		assert_int_equal(oci_cap_from_name(name), c);
	}
	assert_null(oci_cap_name(-1));
	assert_null(oci_cap_name(41));
}

static void test_cap_table_matches_kernel_numbers(void **state)
{
	(void)state;
	assert_int_equal(oci_cap_from_name("CAP_CHOWN"), CAP_CHOWN);
	assert_int_equal(oci_cap_from_name("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
	assert_int_equal(oci_cap_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
	assert_int_equal(oci_cap_from_name("CAP_AUDIT_READ"), CAP_AUDIT_READ);
	assert_int_equal(oci_cap_from_name("CAP_BPF"), CAP_BPF);
	assert_int_equal(oci_cap_from_name("CAP_CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
	assert_int_equal(oci_cap_last(), CAP_LAST_CAP);
}

static void test_cap_from_name_accepts_only_exact_names(void **state)
{
	static const char *const bad[] = { "CHOWN", "cap_chown", "CAP_CHOWN ", " CAP_CHOWN", "CAP_",
					   "", "CAP_FOO", "CAP_CHOWNX" };
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(oci_cap_from_name(bad[i]), -1);
}

static void test_rlimit_table_covers_the_spec_list(void **state)
{
	static const struct { const char *name; int value; } want[] = {
		{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_CPU", RLIMIT_CPU },
		{ "RLIMIT_DATA", RLIMIT_DATA }, { "RLIMIT_FSIZE", RLIMIT_FSIZE },
		{ "RLIMIT_LOCKS", RLIMIT_LOCKS }, { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
		{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
		{ "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_NPROC", RLIMIT_NPROC },
		{ "RLIMIT_RSS", RLIMIT_RSS }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
		{ "RLIMIT_RTTIME", RLIMIT_RTTIME }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
		{ "RLIMIT_STACK", RLIMIT_STACK },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(oci_rlimit_from_name(want[i].name), want[i].value);
	assert_int_equal(oci_rlimit_from_name("RLIMIT_FOO"), -1);
	assert_int_equal(oci_rlimit_from_name("NOFILE"), -1);
	assert_int_equal(oci_rlimit_from_name("rlimit_nofile"), -1);
}

static void test_ns_table_names_flags_and_proc_files(void **state)
{
	static const struct { const char *name, *proc; int flag; } want[OCI_NS_COUNT] = {
		[OCI_NS_PID] = { "pid", "pid", CLONE_NEWPID },
		[OCI_NS_NETWORK] = { "network", "net", CLONE_NEWNET },
		[OCI_NS_MOUNT] = { "mount", "mnt", CLONE_NEWNS },
		[OCI_NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
		[OCI_NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
		[OCI_NS_USER] = { "user", "user", CLONE_NEWUSER },
		[OCI_NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
		[OCI_NS_TIME] = { "time", "time", 0x80 /* CLONE_NEWTIME */ },
	};
	(void)state;
	for (int i = 0; i < OCI_NS_COUNT; i++) {
		assert_string_equal(oci_ns_table[i].name, want[i].name);
		assert_string_equal(oci_ns_table[i].proc_name, want[i].proc);
		assert_int_equal(oci_ns_table[i].clone_flag, want[i].flag);
		assert_int_equal(oci_ns_from_name(want[i].name), i);
	}
	assert_int_equal(oci_ns_from_name("net"), -1);
	assert_int_equal(oci_ns_from_name("mnt"), -1);
	assert_int_equal(oci_ns_from_name("PID"), -1);
	assert_int_equal(oci_ns_from_name(""), -1);
}

static void test_hook_and_status_names(void **state)
{
	(void)state;
	assert_string_equal(oci_hook_names[OCI_HOOK_PRESTART], "prestart");
	assert_string_equal(oci_hook_names[OCI_HOOK_CREATE_RUNTIME], "createRuntime");
	assert_string_equal(oci_hook_names[OCI_HOOK_CREATE_CONTAINER], "createContainer");
	assert_string_equal(oci_hook_names[OCI_HOOK_START_CONTAINER], "startContainer");
	assert_string_equal(oci_hook_names[OCI_HOOK_POSTSTART], "poststart");
	assert_string_equal(oci_hook_names[OCI_HOOK_POSTSTOP], "poststop");
	assert_string_equal(oci_status_names[OCI_STATUS_CREATING], "creating");
	assert_string_equal(oci_status_names[OCI_STATUS_CREATED], "created");
	assert_string_equal(oci_status_names[OCI_STATUS_RUNNING], "running");
	assert_string_equal(oci_status_names[OCI_STATUS_STOPPED], "stopped");
}

/* Scheduler and ioprio names are only reachable through the parser. */
static void test_scheduler_and_ioprio_names_map_to_kernel_values(void **state)
{
	static const struct { const char *policy; int value; } pol[] = {
		{ "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 }, { "SCHED_BATCH", 3 },
		{ "SCHED_ISO", 4 }, { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 },
	};
	static const struct { const char *cls; int value; } io[] = {
		{ "IOPRIO_CLASS_RT", 1 }, { "IOPRIO_CLASS_BE", 2 }, { "IOPRIO_CLASS_IDLE", 3 },
	};
	char json[512];
	(void)state;
	for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
		struct oci_process p = { 0 };
		struct hull_err *err = NULL;
		snprintf(json, sizeof(json),
			 "{\"cwd\":\"/\",\"args\":[\"a\"],\"scheduler\":{\"policy\":\"%s\",\"flags\":"
			 "[\"SCHED_FLAG_KEEP_POLICY\",\"SCHED_FLAG_UTIL_CLAMP_MAX\"]}}", pol[i].policy);
		assert_int_equal(oci_process_parse(json, strlen(json), "p", &p, &err), 0);
		assert_int_equal(p.scheduler.policy, pol[i].value);
		assert_int_equal(p.scheduler.flags, 0x08 | 0x40);
		oci_process_clear(&p);
	}
	for (size_t i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
		struct oci_process p = { 0 };
		struct hull_err *err = NULL;
		snprintf(json, sizeof(json),
			 "{\"cwd\":\"/\",\"args\":[\"a\"],\"ioPriority\":{\"class\":\"%s\",\"priority\":0}}",
			 io[i].cls);
		assert_int_equal(oci_process_parse(json, strlen(json), "p", &p, &err), 0);
		assert_true(p.io_priority.set);
		assert_int_equal(p.io_priority.class_, io[i].value);
		oci_process_clear(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_table_round_trips_every_number),
		cmocka_unit_test(test_cap_table_matches_kernel_numbers),
		cmocka_unit_test(test_cap_from_name_accepts_only_exact_names),
		cmocka_unit_test(test_rlimit_table_covers_the_spec_list),
		cmocka_unit_test(test_ns_table_names_flags_and_proc_files),
		cmocka_unit_test(test_hook_and_status_names),
		cmocka_unit_test(test_scheduler_and_ioprio_names_map_to_kernel_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
