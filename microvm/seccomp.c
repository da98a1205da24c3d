/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-thread seccomp filters of the VMM, as Firecracker has them: one
 * allowlist per thread kind, each installed by the thread itself (no TSYNC)
 * once its setup is done and before it handles anything the guest controls,
 * so a guest that takes over a device model holds only what that thread
 * needs.  Anything else traps (SECCOMP_RET_TRAP, as Firecracker): the call
 * never runs, the SIGSYS handler below names it in hull's log (stderr
 * without --log), counts it in the metrics, and the process dies by SIGSYS as SECCOMP_RET_KILL_PROCESS would
 * have killed it.
 *
 *   vcpu        KVM_RUN and what its exits do: bus handlers (UART output,
 *               virtio-pci registers, MSI-X routes, BAR moves, VFIO config
 *               and BAR accesses) and device activation and reset, which
 *               run on the vCPU that wrote the status register (vhost-net:
 *               open /dev/vhost-net and its ioctls; vhost-user: messages).
 *   vmm         the event loop (queues, console, vsock, the power button),
 *               then the stop: joining the vCPUs and the teardown.
 *   api         `hull vm serve`'s thread once the guest runs: HTTP on the
 *               socket, pause, a drive's new file, metrics and logger.
 *   supervisor  a VM-isolated container's supervisor once the container
 *               runs: the stdio relay, agent calls, the tap teardown.
 *
 * What every thread shares (malloc, futexes, clocks, signal delivery: a
 * handler such as `hull vm run`'s SIGTERM one runs on whichever thread the
 * kernel picks) is the base list.  Never allowed: execve, fork/clone of a
 * process, ptrace, mount, module or key syscalls, a socket other than the
 * thread's families, an ioctl number not listed, mmap/mprotect with
 * PROT_EXEC.  Policy and per-thread lists: docs/sandbox.md.
 */
#include "microvm/internal.h"
#include "confine/confine.h"

#include <linux/fs.h>
#include <linux/seccomp.h>
#include <linux/if_tun.h>
#include <linux/vfio.h>
#include <linux/vhost.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <time.h>
#include <ucontext.h>

#define ARG(i, op, v) { (i), CONFINE_CMP_##op, (uint64_t)(v), 0 }
#define MASKED(i, mask, v) { (i), CONFINE_CMP_MASKED_EQ, (uint64_t)(mask), (uint64_t)(v) }
/* The kernel truncates an ioctl number to 32 bits: compare only those. */
#define IOCTL(nr) { "ioctl", 0, { MASKED(1, 0xffffffffu, (nr)) } }
#define SYS(name) { name, 0, { { 0 } } }
#define NOEXEC(name, i) { name, 0, { MASKED(i, PROT_EXEC, 0) } }

static const struct confine_rule base_rules[] = {
	/* memory (malloc arenas, thread stacks): never executable */
	NOEXEC("mmap", 2), NOEXEC("mprotect", 2), SYS("munmap"), SYS("mremap"), SYS("brk"), SYS("madvise"),
	/* locks, time, randomness */
	SYS("futex"), SYS("sched_yield"), SYS("nanosleep"), SYS("clock_nanosleep"), SYS("clock_gettime"),
	SYS("gettimeofday"), SYS("time"), SYS("getrandom"),
	/* signals: delivery, the kick, a handler's re-raise */
	SYS("rt_sigreturn"), SYS("rt_sigprocmask"), SYS("rt_sigaction"), SYS("tgkill"), SYS("getpid"),
	SYS("gettid"), SYS("restart_syscall"), SYS("sigaltstack"),
	/* a write to a closed pipe: SIGPIPE blocked, a pending one swallowed */
	SYS("rt_sigpending"), SYS("rt_sigtimedwait"),
	/* glibc's first shrink of a thread's malloc arena reads
	 * /proc/sys/vm/overcommit_memory (arena.c check_may_shrink_heap): a
	 * vCPU that frees a big buffer; read-only, never creating */
	{ "openat", 0, { ARG(2, EQ, O_RDONLY | O_CLOEXEC) } },
	/* fds it holds: logs, the console, eventfds */
	SYS("read"), SYS("write"), SYS("readv"), SYS("writev"), SYS("close"), SYS("fstat"), SYS("newfstatat"),
	SYS("poll"), SYS("ppoll"), SYS("lseek"),
	/* the end of the thread or the process */
	SYS("exit"), SYS("exit_group"),
	/* a terminal console: raw mode restored on the way out, its size */
	IOCTL(TCGETS), IOCTL(TCSETS), IOCTL(TCSETSW), IOCTL(TCSETSF), IOCTL(TIOCGWINSZ),
};

/* KVM after boot: MSI routes, irqfds and ioeventfds of activated devices,
 * memory slots of moved VFIO BARs. */
#define KVM_RUNTIME_IOCTLS                                                                              \
	IOCTL(KVM_SET_GSI_ROUTING), IOCTL(KVM_IRQFD), IOCTL(KVM_IOEVENTFD), IOCTL(KVM_SET_USER_MEMORY_REGION)
/* A passed-through function's MSI-X and reset; DMA and groups are undone at the stop. */
#define VFIO_RUNTIME_IOCTLS                                                                             \
	IOCTL(VFIO_DEVICE_SET_IRQS), IOCTL(VFIO_DEVICE_RESET), IOCTL(VFIO_DEVICE_GET_INFO),              \
		IOCTL(VFIO_DEVICE_GET_REGION_INFO), IOCTL(VFIO_DEVICE_GET_IRQ_INFO)
/* vhost-net, started when the driver sets DRIVER_OK, and the tap's offloads
 * and queues that the driver's features decide. */
#define NET_RUNTIME_IOCTLS                                                                              \
	IOCTL(VHOST_SET_OWNER), IOCTL(VHOST_RESET_OWNER), IOCTL(VHOST_GET_FEATURES), IOCTL(VHOST_SET_FEATURES), \
		IOCTL(VHOST_SET_MEM_TABLE), IOCTL(VHOST_SET_VRING_NUM), IOCTL(VHOST_SET_VRING_BASE),    \
		IOCTL(VHOST_SET_VRING_ADDR), IOCTL(VHOST_SET_VRING_ERR), IOCTL(VHOST_SET_VRING_KICK),   \
		IOCTL(VHOST_SET_VRING_CALL), IOCTL(VHOST_NET_SET_BACKEND), IOCTL(TUNSETOFFLOAD),        \
		IOCTL(TUNSETVNETHDRSZ), IOCTL(TUNSETQUEUE)

static const struct confine_rule vcpu_rules[] = {
	IOCTL(KVM_RUN),
	KVM_RUNTIME_IOCTLS,
	VFIO_RUNTIME_IOCTLS,
	NET_RUNTIME_IOCTLS,
	/* VFIO config space and BARs that are not mapped */
	SYS("pread64"), SYS("pwrite64"),
	/* activation: eventfds and their event-loop entries, /dev/vhost-net
	 * (open(2) with exactly these flags), vhost-user messages */
	SYS("eventfd2"), SYS("epoll_ctl"),
	{ "openat", 0, { ARG(2, EQ, O_RDWR | O_CLOEXEC) } },
	SYS("sendmsg"), SYS("recvmsg"),
	/* a reset stops the queues' rate limiters (their timerfds disarmed) */
	SYS("timerfd_settime"),
};

static const struct confine_rule vmm_rules[] = {
	KVM_RUNTIME_IOCTLS,
	VFIO_RUNTIME_IOCTLS,
	NET_RUNTIME_IOCTLS,
	/* the stop: kvm-vfio, DMA and groups undone */
	IOCTL(VFIO_IOMMU_UNMAP_DMA), IOCTL(VFIO_GROUP_UNSET_CONTAINER),
	SYS("epoll_wait"), SYS("epoll_pwait"), SYS("epoll_ctl"), SYS("eventfd2"),
	/* virtio-blk; virtio-net on a tap without vhost */
	SYS("pread64"), SYS("pwrite64"), SYS("preadv"), SYS("pwritev"), SYS("preadv2"), SYS("pwritev2"),
	SYS("fsync"), SYS("fdatasync"), SYS("fallocate"),
	/* vsock: Unix sockets only (host clients, guest-initiated streams),
	 * /dev/null as the spare fd; vhost-user messages */
	{ "socket", 0, { ARG(0, EQ, AF_UNIX) } }, SYS("connect"), SYS("accept4"), SYS("sendmsg"),
	SYS("recvmsg"), SYS("sendto"), SYS("recvfrom"), SYS("shutdown"), SYS("getsockopt"),
	/* vsock's handshake deadlines; a rate limiter's timer, made when its
	 * queue is first throttled */
	SYS("timerfd_create"), SYS("timerfd_settime"), SYS("timerfd_gettime"), SYS("fcntl"),
	/* (read-only opens: the base list) */
	{ "openat", 0, { ARG(2, EQ, O_RDWR | O_CLOEXEC) } },
	SYS("unlink"), SYS("unlinkat"),
	/* the vCPU threads' end (kick, join, their stacks) */
	SYS("tkill"), SYS("set_robust_list"),
};

static const struct confine_rule api_rules[] = {
	SYS("epoll_wait"), SYS("epoll_pwait"), SYS("epoll_ctl"), SYS("accept4"), SYS("recvfrom"),
	SYS("sendto"), SYS("sendmsg"), SYS("recvmsg"), SYS("shutdown"), SYS("fcntl"), SYS("getsockopt"),
	SYS("setsockopt"),
	/* PATCH /drives (the new file checked, opened, sized), PUT /logger and
	 * /metrics: files that exist, never created or truncated */
	{ "openat", 0, { MASKED(2, O_CREAT | O_TRUNC, 0) } }, SYS("access"), SYS("faccessat"),
	SYS("faccessat2"), IOCTL(BLKGETSIZE64),
	/* PATCH of a rate limiter: a throttled queue retries at once */
	SYS("timerfd_settime"),
	/* PATCH /vm: the vCPUs' kick */
	SYS("tkill"),
	/* the end: the VMM thread joined, the socket removed */
	SYS("unlink"), SYS("unlinkat"), SYS("set_robust_list"),
};

static const struct confine_rule supervisor_rules[] = {
	SYS("epoll_wait"), SYS("epoll_pwait"), SYS("epoll_ctl"), SYS("pipe2"),
	/* agent calls over the VM's vsock socket; the tap teardown over netlink */
	{ "socket", 0, { ARG(0, EQ, AF_UNIX) } }, { "socket", 0, { ARG(0, EQ, AF_NETLINK) } }, SYS("connect"),
	SYS("bind"), SYS("getsockname"), SYS("setsockopt"), SYS("getsockopt"), SYS("sendmsg"), SYS("recvmsg"),
	SYS("sendto"), SYS("recvfrom"), SYS("shutdown"), SYS("fcntl"),
	/* glibc's if_nametoindex: a datagram socket for SIOCGIFINDEX */
	{ "socket", 0, { ARG(0, EQ, AF_INET), MASKED(1, 0xff, SOCK_DGRAM) } }, IOCTL(SIOCGIFINDEX),
	/* the state directory: net.json read and removed; the tail of the
	 * console log read (pread) for the error of a guest that ended under a
	 * running container */
	{ "openat", 0, { MASKED(2, O_CREAT | O_TRUNC | O_WRONLY | O_RDWR, 0) } }, SYS("faccessat"),
	SYS("faccessat2"), SYS("access"), SYS("unlinkat"), SYS("unlink"), SYS("pread64"),
	SYS("tkill"), SYS("set_robust_list"),
};

static const struct {
	const struct confine_rule *rules;
	size_t n;
} kinds[] = {
	[MICROVM_THREAD_VCPU] = { vcpu_rules, ARRAY_SIZE(vcpu_rules) },
	[MICROVM_THREAD_VMM] = { vmm_rules, ARRAY_SIZE(vmm_rules) },
	[MICROVM_THREAD_API] = { api_rules, ARRAY_SIZE(api_rules) },
	[MICROVM_THREAD_SUPERVISOR] = { supervisor_rules, ARRAY_SIZE(supervisor_rules) },
};

static const char *thread_name(enum microvm_thread kind)
{
	static const char *const names[] = { [MICROVM_THREAD_VCPU] = "vcpu", [MICROVM_THREAD_VMM] = "vmm",
					     [MICROVM_THREAD_API] = "api",
					     [MICROVM_THREAD_SUPERVISOR] = "supervisor" };
	return (unsigned)kind < ARRAY_SIZE(names) ? names[kind] : "?";
}

/* ---- a forbidden syscall: SIGSYS ------------------------------------------
 * The handler runs on the thread whose call was refused and may use only
 * async-signal-safe calls that every kind allows (write, clock_gettime,
 * the refused call itself): the names are resolved before any filter
 * (libseccomp's resolver strdup()s: malloc in a handler could deadlock on
 * the lock the refused thread holds). */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS (linux/signal.h); glibc 2.36 lacks it */
#endif
#define NAMES_MAX 512 /* above every x86-64 syscall number */
static const char *syscall_names[NAMES_MAX];
static pthread_once_t trap_once = PTHREAD_ONCE_INIT;
static _Thread_local int my_kind = -1; /* set by vm_seccomp_apply */
static atomic_ulong faults;
static atomic_int metrics_fd = -1;
static int fault_kind = -1; /* HULL_TEST_SECCOMP_FAULT */

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	const greg_t *r = ((ucontext_t *)ucv)->uc_mcontext.gregs;
	int nr = si->si_syscall, fd;
	unsigned long count;
	struct timespec ts;
	char line[192];
	size_t n = 0;

	if (si->si_code != SYS_SECCOMP || my_kind < 0) {
		/* kill(2) with SIGSYS, or not one of our filters: what SIGSYS
		 * did before this handler (blocked here: delivered on return) */
		signal(sig, SIG_DFL);
		syscall(SYS_tgkill, getpid(), gettid(), sig);
		return;
	}
	count = atomic_fetch_add(&faults, 1) + 1;
	/* To hull's log (stderr but for --log): a VM container's supervisor
	 * has the container's stderr, which is not hull's to write to. */
	n = buf_put_str(line, n, sizeof(line), "seccomp: ");
	n = buf_put_str(line, n, sizeof(line), thread_name((enum microvm_thread)my_kind));
	n = buf_put_str(line, n, sizeof(line), " thread: forbidden syscall ");
	n = buf_put_str(line, n, sizeof(line),
		    nr >= 0 && nr < NAMES_MAX && syscall_names[nr] ? syscall_names[nr] : "unknown");
	n = buf_put_str(line, n, sizeof(line), " (");
	n = buf_put_num(line, n, sizeof(line), (unsigned)nr, 0);
	n = buf_put_str(line, n, sizeof(line), ")");
	line[n] = '\0';
	hull_log_signal_safe(HULL_LOG_ERROR, line);
	/* Firecracker's "seccomp": {"num_faults": N}, as a line of its own:
	 * the full line needs json-c (malloc) and the other threads' counters
	 * (their locks), neither safe here. */
	fd = atomic_load(&metrics_fd);
	if (fd >= 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		n = buf_put_str(line, 0, sizeof(line), "{\"utc_timestamp_ms\":");
		n = buf_put_num(line, n, sizeof(line),
				(unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000, 0);
		n = buf_put_str(line, n, sizeof(line), ",\"seccomp\":{\"num_faults\":");
		n = buf_put_num(line, n, sizeof(line), count, 0);
		n = buf_put_str(line, n, sizeof(line), "}}\n");
		(void)!write(fd, line, n);
	}
	/* Die by SIGSYS: the same call again (the filter decides on the number
	 * and arguments: it traps again).  SIGSYS is blocked in its own
	 * handler, and the kernel (force_sig_seccomp) then resets it to its
	 * default action and unblocks it: the process ends killed by SIGSYS,
	 * as SECCOMP_RET_KILL_PROCESS ended it. */
	syscall(nr, r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10], r[REG_R8], r[REG_R9]);
	/* Not reached; should it be, the default action all the same. */
	signal(sig, SIG_DFL);
	syscall(SYS_tgkill, getpid(), gettid(), sig);
}

/* Once per process, before any filter: the names, the test trigger, the
 * handler. */
static void trap_setup(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	const char *t = getenv("HULL_TEST_SECCOMP_FAULT");

	/* Each string is kept for the process's life. */
	for (int nr = 0; nr < NAMES_MAX; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	for (int k = MICROVM_THREAD_VCPU; t && k <= MICROVM_THREAD_SUPERVISOR; k++)
		if (strcmp(t, thread_name((enum microvm_thread)k)) == 0)
			fault_kind = k;
	/* Every other signal blocked: nothing interleaves with the line. */
	sigfillset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
}

void microvm_seccomp_metrics_fd(int fd)
{
	atomic_store(&metrics_fd, fd);
}

unsigned long microvm_seccomp_faults(void)
{
	return atomic_load(&faults);
}

int vm_seccomp_prepare(enum microvm_thread kind, struct confine_filter *f, struct hull_err **err)
{
	size_t nb = ARRAY_SIZE(base_rules), n = kinds[kind].n;
	_cleanup_free_ struct confine_rule *all = xcalloc(nb + n, sizeof(*all));

	pthread_once(&trap_once, trap_setup);
	memcpy(all, base_rules, sizeof(base_rules));
	memcpy(all + nb, kinds[kind].rules, n * sizeof(*all));
	/* Signals within this process only (the kick, a handler's re-raise):
	 * a thread taken over cannot signal another process of its uid (every
	 * VM container's VMM runs as the same one). */
	for (size_t i = 0; i < nb; i++)
		if (strcmp(all[i].name, "tgkill") == 0)
			all[i].args[0] = (struct confine_arg){ 0, CONFINE_CMP_EQ, (uint64_t)getpid(), 0 };
	if (confine_allowlist_prepare(all, nb + n, CONFINE_ACT_TRAP, f, err) < 0)
		return -1;
	/* This thread only: each kind installs its own. */
	f->flags &= ~(unsigned)SECCOMP_FILTER_FLAG_TSYNC;
	return 0;
}

int vm_seccomp_apply(enum microvm_thread kind, const struct confine_filter *f, const struct confine_jail *jail,
		     struct hull_err **err)
{
	/* A copy: confine_seccomp_install marks its filter loaded, and the
	 * vCPU threads share one. */
	struct confine_filter mine = *f;

	if (jail && confine_jail_enter(jail, 0, err) < 0)
		return -1;
	/* no_new_privs is per thread too; needed without CAP_SYS_ADMIN (jailed). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hull_err_make(err, errno, "seccomp: PR_SET_NO_NEW_PRIVS");
	my_kind = (int)kind;
	if (confine_seccomp_install(&mine, NULL, err) < 0) {
		my_kind = -1;
		return -1;
	}
	/* Test only (docs/testing.md): a call no kind allows, as a guest that
	 * took this thread over would make. */
	if (fault_kind == (int)kind)
		syscall(SYS_getppid);
	return 0;
}

int microvm_seccomp_thread(enum microvm_thread kind, struct hull_err **err)
{
	struct confine_filter f;
	int r;

	if (vm_seccomp_prepare(kind, &f, err) < 0)
		return hull_err_wrap(err, "seccomp filter of the %s thread", thread_name(kind));
	r = vm_seccomp_apply(kind, &f, NULL, err);
	free(f.insns);
	return r;
}
