/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microvm_seccomp_thread: each thread kind's filter, installed in a forked
 * child (the test process is never filtered).  The child makes a call its
 * kind allows (it must come back with the kernel's answer, not SIGSYS),
 * reports it over a pipe, then one its kind forbids, which must kill the
 * process with SIGSYS after the handler's line (the child's stderr is the
 * same pipe) names the thread kind and the call.  Children leave with
 * exit_group(2) itself: nothing of libc's (or a sanitizer's) exit runs
 * under the filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "microvm/microvm.h"

/* What the child does after installing its filter: the allowed call (its
 * return is reported over the pipe as 'y') and the forbidden one (never
 * returns if the filter works). */
struct probe {
	const char *name;
	enum microvm_thread kind;
	long (*allowed)(void);
	long (*forbidden)(void);
	const char *line; /* what the SIGSYS handler prints */
};

static void say(int fd, char c)
{
	(void)!write(fd, &c, 1);
}

static void probe_child(const struct probe *p, int wr)
{
	struct hull_err *err = NULL;

	if (microvm_seccomp_thread(p->kind, &err) < 0) {
		say(wr, 'E');
		syscall(SYS_exit_group, 100);
	}
	p->allowed();
	say(wr, 'y');
	p->forbidden();
	say(wr, 'n'); /* survived: the filter let it through */
}

/* Runs child(p, wr) in a forked child, which then exits 0; returns what it
 * wrote and its wait status. */
static int run_child(void (*child)(const struct probe *p, int wr), const struct probe *p, char *out, size_t cap)
{
	int fds[2], st;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		child(p, fds[1]);
		syscall(SYS_exit_group, 0);
	}
	close(fds[1]);
	/* until the child's end closes both its ends (fd and stderr) */
	while (len + 1 < cap && (n = read(fds[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* ioctl on fd -1: the filter decides on the number before the kernel
 * looks at the fd, so an allowed number fails with EBADF and returns. */
static long kvm_run_ebadf(void) { return ioctl(-1, KVM_RUN, 0); }
static long kvm_create_vm(void) { return ioctl(-1, KVM_CREATE_VM, 0); }
static long unix_socket(void) { return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); }
static long inet_socket(void) { return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }
static long do_getpid(void) { return syscall(SYS_getpid); }
static long do_execve(void)
{
	static char *const argv[] = { "true", NULL };
	return execve("/bin/true", argv, argv + 1);
}
static long do_fork(void) { return syscall(SYS_fork); }
static long create_file(void) { return open("/nonexistent-dir/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0600); }
static long open_rdonly(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }
static long exec_mmap(void) { return (long)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }
static long epoll_wait_none(void) { return syscall(SYS_epoll_wait, -1, NULL, 1, 0); }
static long open_overcommit(void) { return open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC); }
static long pread_ebadf(void)
{
	char c;
	return pread(-1, &c, 1, 0);
}

/* tgkill with signal 0: only to its own process (every VM container's VMM
 * has the same uid: none may signal another). */
static pid_t test_parent;
static long tgkill_self(void) { return syscall(SYS_tgkill, getpid(), gettid(), 0); }
static long tgkill_parent(void) { return syscall(SYS_tgkill, test_parent, test_parent, 0); }

#define LINE(kind, call) "y" "hull: seccomp: " kind " thread: forbidden syscall " call "\n"
static const struct probe probes[] = {
	{ "vcpu: KVM_RUN passes, KVM_CREATE_VM kills", MICROVM_THREAD_VCPU, kvm_run_ebadf, kvm_create_vm,
	  LINE("vcpu", "ioctl (16)") },
	{ "vcpu: a socket kills", MICROVM_THREAD_VCPU, kvm_run_ebadf, unix_socket, LINE("vcpu", "socket (41)") },
	{ "vcpu: execve kills", MICROVM_THREAD_VCPU, do_getpid, do_execve, LINE("vcpu", "execve (59)") },
	{ "vcpu: a read-only open passes (glibc's arena shrink), creating kills", MICROVM_THREAD_VCPU,
	  open_overcommit, create_file, LINE("vcpu", "openat (257)") },
	{ "vmm: AF_UNIX passes, AF_INET kills", MICROVM_THREAD_VMM, unix_socket, inet_socket, LINE("vmm", "socket (41)") },
	{ "vmm: fork kills", MICROVM_THREAD_VMM, epoll_wait_none, do_fork, LINE("vmm", "fork (57)") },
	{ "vcpu: tgkill of its own process passes, of another kills", MICROVM_THREAD_VCPU, tgkill_self, tgkill_parent,
	  LINE("vcpu", "tgkill (234)") },
	{ "supervisor: tgkill of another process kills", MICROVM_THREAD_SUPERVISOR, tgkill_self, tgkill_parent,
	  LINE("supervisor", "tgkill (234)") },
	{ "vmm: an executable mapping kills", MICROVM_THREAD_VMM, do_getpid, exec_mmap, LINE("vmm", "mmap (9)") },
	{ "api: opening passes, creating kills", MICROVM_THREAD_API, open_rdonly, create_file,
	  LINE("api", "openat (257)") },
	{ "api: execve kills", MICROVM_THREAD_API, epoll_wait_none, do_execve, LINE("api", "execve (59)") },
	{ "api: a KVM ioctl kills", MICROVM_THREAD_API, do_getpid, kvm_run_ebadf, LINE("api", "ioctl (16)") },
	{ "supervisor: execve kills", MICROVM_THREAD_SUPERVISOR, unix_socket, do_execve,
	  LINE("supervisor", "execve (59)") },
	{ "supervisor: fork kills", MICROVM_THREAD_SUPERVISOR, open_rdonly, do_fork, LINE("supervisor", "fork (57)") },
	{ "supervisor: pread passes (the console's tail), creating kills", MICROVM_THREAD_SUPERVISOR, pread_ebadf,
	  create_file, LINE("supervisor", "openat (257)") },
};

/* The allowed call came back, the forbidden one never did: one line that
 * names it, then SIGSYS. */
static void test_probe(void **state)
{
	const struct probe *p = *state;
	char out[256];
	int st = run_child(probe_child, p, out, sizeof(out));

	assert_string_equal(out, p->line);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* With a metrics fd, the handler also writes Firecracker's seccomp group
 * (on a line of its own) before the process dies. */
static void metrics_child(const struct probe *p, int wr)
{
	struct hull_err *err = NULL;

	(void)p;
	microvm_seccomp_metrics_fd(wr);
	if (microvm_seccomp_thread(MICROVM_THREAD_API, &err) < 0)
		syscall(SYS_exit_group, 100);
	say(wr, microvm_seccomp_faults() == 0 ? 'y' : 'x');
	kvm_run_ebadf();
}

static void test_fault_counted_in_metrics_line(void **state)
{
	char out[256];
	int st = run_child(metrics_child, NULL, out, sizeof(out));
	const char *m = strstr(out, "\n{\"utc_timestamp_ms\":");
	const char *want = "yhull: seccomp: api thread: forbidden syscall ioctl (16)\n";

	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
	assert_non_null(m);
	assert_true(strncmp(out, want, strlen(want)) == 0);
	assert_non_null(strstr(m, ",\"seccomp\":{\"num_faults\":1}}\n"));
}

/* A SIGSYS that no filter sent (tgkill) kills as it did before the
 * handler, without a line. */
static void tgkill_child(const struct probe *p, int wr)
{
	struct hull_err *err = NULL;

	(void)p;
	if (microvm_seccomp_thread(MICROVM_THREAD_VMM, &err) < 0)
		syscall(SYS_exit_group, 100);
	say(wr, 'y');
	syscall(SYS_tgkill, getpid(), gettid(), SIGSYS);
	say(wr, 'n');
}

static void test_sigsys_sent_by_kill_dies_without_line(void **state)
{
	char out[64];
	int st = run_child(tgkill_child, NULL, out, sizeof(out));

	(void)state;
	assert_string_equal(out, "y");
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* Regression: CI lost `hull vm serve` with no message: glibc's first shrink
 * of a thread's malloc arena opens /proc/sys/vm/overcommit_memory
 * read-only, which the vCPU filter refused.  A vCPU thread that frees big
 * buffers of its arena must live on. */
static void *arena_thread(void *arg)
{
	int wr = *(int *)arg;
	struct hull_err *err = NULL;
	void *p[64];

	if (microvm_seccomp_thread(MICROVM_THREAD_VCPU, &err) < 0) {
		say(wr, 'E');
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
		p[i] = malloc(100000);
		if (p[i])
			memset(p[i], 1, 100000);
	}
	for (size_t i = ARRAY_SIZE(p); i-- > 0;)
		free(p[i]);
	say(wr, 'f');
	return NULL;
}

static void arena_child(const struct probe *p, int wr)
{
	pthread_t t;

	(void)p;
	if (pthread_create(&t, NULL, arena_thread, &wr) != 0 || pthread_join(t, NULL) != 0)
		syscall(SYS_exit_group, 101);
}

static void test_vcpu_thread_survives_glibc_arena_shrink(void **state)
{
	char out[256];
	int st = run_child(arena_child, NULL, out, sizeof(out));

	(void)state;
	assert_string_equal(out, "f");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The filter is the calling thread's only: a vCPU thread's filter leaves
 * the thread that started it free to make a socket. */
static void *vcpu_thread_probe(void *arg)
{
	int wr = *(int *)arg;
	struct hull_err *err = NULL;

	say(wr, microvm_seccomp_thread(MICROVM_THREAD_VCPU, &err) < 0 ? 'E' : 'f');
	return NULL;
}

static void thread_child(const struct probe *p, int wr)
{
	pthread_t t;
	int s;

	(void)p;
	if (pthread_create(&t, NULL, vcpu_thread_probe, &wr) != 0 || pthread_join(t, NULL) != 0)
		syscall(SYS_exit_group, 101);
	/* unfiltered: the socket is made */
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	say(wr, s >= 0 ? 's' : 'x');
}

static void test_filter_covers_the_calling_thread_only(void **state)
{
	char out[8];
	int st = run_child(thread_child, NULL, out, sizeof(out));

	assert_string_equal(out, "fs");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	static const struct CMUnitTest more[] = {
		cmocka_unit_test(test_filter_covers_the_calling_thread_only),
		cmocka_unit_test(test_fault_counted_in_metrics_line),
		cmocka_unit_test(test_sigsys_sent_by_kill_dies_without_line),
		cmocka_unit_test(test_vcpu_thread_survives_glibc_arena_shrink),
	};
	struct CMUnitTest tests[ARRAY_SIZE(probes) + ARRAY_SIZE(more)];

	test_parent = getpid();
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
		tests[i] = (struct CMUnitTest){ .name = probes[i].name, .test_func = test_probe,
						.initial_state = (void *)&probes[i] };
	memcpy(tests + ARRAY_SIZE(probes), more, sizeof(more));
	return _cmocka_run_group_tests("test_seccomp", tests, ARRAY_SIZE(tests), NULL, NULL);
}
