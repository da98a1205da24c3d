/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The systemd backend against a stand-in systemd: a private dbus-daemon and a
 * thread owning org.freedesktop.systemd1 that records StartTransientUnit's
 * properties, answers with a job and emits JobRemoved like systemd does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cgroups/internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>

static char dir[64];
static pid_t daemon_pid;
static pthread_t thread;
static volatile bool stop;
static char props[4096];        /* "Key=value\n" of the last StartTransientUnit */
static char last_unit[256], last_stop[256];
static const char *job_result = "done";

static int on_start(sd_bus_message *m, void *data, sd_bus_error *e)
{
	const char *name, *mode;
	size_t len = 0;
	int k;

	props[0] = '\0';
	if ((k = sd_bus_message_read(m, "ss", &name, &mode)) < 0 ||
	    (k = sd_bus_message_enter_container(m, 'a', "(sv)")) < 0)
		return k;
	snprintf(last_unit, sizeof(last_unit), "%s", name);
	while ((k = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
		const char *key, *contents;
		char type;
		sd_bus_message_read(m, "s", &key);
		sd_bus_message_peek_type(m, &type, &contents);
		sd_bus_message_enter_container(m, 'v', contents);
		if (strcmp(contents, "s") == 0) {
			const char *v;
			sd_bus_message_read(m, "s", &v);
			len += (size_t)snprintf(props + len, sizeof(props) - len, "%s=%s\n", key, v);
		} else if (strcmp(contents, "b") == 0) {
			int v;
			sd_bus_message_read(m, "b", &v);
			len += (size_t)snprintf(props + len, sizeof(props) - len, "%s=%d\n", key, v);
		} else if (strcmp(contents, "t") == 0) {
			uint64_t v;
			sd_bus_message_read(m, "t", &v);
			len += (size_t)snprintf(props + len, sizeof(props) - len, "%s=%" PRIu64 "\n", key, v);
		} else if (strcmp(contents, "au") == 0) {
			uint32_t v;
			sd_bus_message_enter_container(m, 'a', "u");
			while (sd_bus_message_read(m, "u", &v) > 0)
				len += (size_t)snprintf(props + len, sizeof(props) - len, "%s=%u\n", key, v);
			sd_bus_message_exit_container(m);
		} else {
			sd_bus_message_skip(m, contents);
		}
		sd_bus_message_exit_container(m);
		sd_bus_message_exit_container(m);
	}
	if ((k = sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/7")) < 0)
		return k;
	return sd_bus_emit_signal(sd_bus_message_get_bus(m), "/org/freedesktop/systemd1",
				  "org.freedesktop.systemd1.Manager", "JobRemoved", "uoss", 7,
				  "/org/freedesktop/systemd1/job/7", name, job_result);
}

static int on_stop(sd_bus_message *m, void *data, sd_bus_error *e)
{
	const char *name, *mode;
	int k = sd_bus_message_read(m, "ss", &name, &mode);
	if (k < 0)
		return k;
	snprintf(last_stop, sizeof(last_stop), "%s", name);
	return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/8");
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("StartTransientUnit", "ssa(sv)a(sa(sv))", "o", on_start, 0),
	SD_BUS_METHOD("StopUnit", "ss", "o", on_stop, 0),
	SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
	SD_BUS_VTABLE_END
};

static void *serve(void *arg)
{
	sd_bus *bus = arg;
	while (!stop) {
		int k = sd_bus_process(bus, NULL);
		if (k < 0)
			break;
		if (k == 0)
			sd_bus_wait(bus, 50000);
	}
	sd_bus_flush_close_unref(bus);
	return NULL;
}

static int setup(void **state)
{
	char *addr, *cmd;
	sd_bus *bus = NULL;
	FILE *f;
	int pid = 0;

	/* tools/deps.txt installs it: its absence is a failure, not a skip. */
	if (access("/usr/bin/dbus-daemon", X_OK) < 0)
		fail_msg("/usr/bin/dbus-daemon is missing (Debian package dbus-daemon; make deps)");
	strcpy(dir, "/tmp/hull-sdbus.XXXXXX");
	assert_non_null(mkdtemp(dir));
	addr = xasprintf("unix:path=%s/bus", dir);
	cmd = xasprintf("dbus-daemon --session --fork --nopidfile --address=%s --print-pid", addr);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	pclose(f);
	daemon_pid = pid;
	/* sd_bus_open_system() honours this variable. */
	setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);
	assert_true(sd_bus_new(&bus) >= 0);
	assert_true(sd_bus_set_address(bus, addr) >= 0);
	assert_true(sd_bus_set_bus_client(bus, 1) >= 0);
	assert_true(sd_bus_start(bus) >= 0);
	assert_true(sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/systemd1",
					     "org.freedesktop.systemd1.Manager", manager_vtable, NULL) >= 0);
	assert_true(sd_bus_request_name(bus, "org.freedesktop.systemd1", 0) >= 0);
	stop = false;
	assert_int_equal(pthread_create(&thread, NULL, serve, bus), 0);
	free(addr);
	free(cmd);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf %s", dir);
	stop = true;
	pthread_join(thread, NULL);
	kill(daemon_pid, SIGTERM);
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

static void test_systemd_scope_carries_pid_delegate_and_limits(void **state)
{
	struct oci_resources r = { 0 };
	struct hull_err *err = NULL;

	r.memory.has_limit = true;
	r.memory.limit = 32 << 20;
	r.memory.has_swap = true;
	r.memory.swap = 48 << 20;
	r.cpu.has_shares = true;
	r.cpu.shares = 1024;
	r.cpu.has_quota = true;
	r.cpu.quota = 50000;
	r.cpu.has_period = true;
	r.cpu.period = 100000;
	r.pids.has_limit = true;
	r.pids.limit = 100;
	job_result = "done";
	if (cg_systemd_start("libpod-abc.scope", "machine.slice", 4242, &r, &err) < 0)
		fail_msg("%s", err->msg);
	assert_string_equal(last_unit, "libpod-abc.scope");
	assert_non_null(strstr(props, "Slice=machine.slice\n"));
	assert_non_null(strstr(props, "Delegate=1\n"));
	assert_non_null(strstr(props, "PIDs=4242\n"));
	assert_non_null(strstr(props, "MemoryMax=33554432\n"));
	assert_non_null(strstr(props, "MemorySwapMax=16777216\n"));
	assert_non_null(strstr(props, "CPUWeight=39\n"));
	assert_non_null(strstr(props, "CPUQuotaPerSecUSec=500000\n"));
	assert_non_null(strstr(props, "TasksMax=100\n"));
	assert_int_equal(cg_systemd_stop("libpod-abc.scope", &err), 0);
	/* stop is a no-op without /run/systemd/system (this machine). */
	if (cg_systemd_running())
		assert_string_equal(last_stop, "libpod-abc.scope");
}

static void test_systemd_failed_job_is_an_error(void **state)
{
	struct hull_err *err = NULL;

	job_result = "failed";
	assert_true(cg_systemd_start("x.scope", "system.slice", 1, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "--systemd-cgroup: start x.scope: job failed"));
	hull_err_free(&err);
}

static void test_systemd_create_refuses_without_systemd(void **state)
{
	struct cgroups_cfg cfg = { .id = "x", .systemd = true };
	struct cgroup *cg = NULL;
	struct hull_err *err = NULL;

	if (cg_systemd_running())
		skip();
	assert_true(cgroups_create(&cfg, 1, &cg, &err) < 0);
	assert_string_equal(err->msg, "--systemd-cgroup: systemd is not running on this host");
	hull_err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_systemd_scope_carries_pid_delegate_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_failed_job_is_an_error, setup, teardown),
		cmocka_unit_test(test_systemd_create_refuses_without_systemd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
