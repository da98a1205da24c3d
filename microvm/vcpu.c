/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPUs: one thread each.  Set-up (CPUID, MSRs, LAPIC LINTs, registers for
 * the 64-bit Linux entry or the 32-bit PVH entry) and the run loop, which is
 * one switch on exit_reason in vcpu_handle_exit(), a plain function that
 * unit tests drive with synthetic struct kvm_run.
 */
#include "microvm/internal.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define KICK_SIGNAL (SIGRTMIN + 1)

/* ---- exits ------------------------------------------------------------------- */

static enum exit_action stop(int *code, const char **why, int c, const char *w)
{
	*code = c;
	*why = w;
	return EXIT_STOP;
}

static enum exit_action handle_io(struct bus *pio, struct kvm_run *run)
{
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;

	/* rep ins/outs: count consecutive accesses of `size` bytes */
	for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size) {
		if (!write)
			memset(p, 0xff, run->io.size); /* an empty ISA port floats high */
		if (bus_access(pio, run->io.port, p, run->io.size, write) < 0 && write &&
		    hull_log_enabled(HULL_LOG_DEBUG))
			hull_debug("unhandled port write 0x%x (%u bytes)", run->io.port, run->io.size);
	}
	return EXIT_CONTINUE;
}

static enum exit_action handle_mmio(struct bus *mmio, struct kvm_run *run)
{
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		return EXIT_CONTINUE;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
	bus_access(mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);
	return EXIT_CONTINUE;
}

enum exit_action vcpu_handle_exit(struct bus *pio, struct bus *mmio, struct kvm_run *run, int *code,
				  const char **why)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(pio, run);
	case KVM_EXIT_MMIO:
		return handle_mmio(mmio, run);
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC (tiny test guests): the vCPU is done. */
		return stop(code, why, MICROVM_EXIT_POWEROFF, "guest halted");
	case KVM_EXIT_SHUTDOWN:
		return stop(code, why, MICROVM_EXIT_CRASH, "triple fault");
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			return stop(code, why, MICROVM_EXIT_POWEROFF, "system event: shutdown");
		case KVM_SYSTEM_EVENT_RESET:
			return stop(code, why, MICROVM_EXIT_REBOOT, "system event: reset");
		case KVM_SYSTEM_EVENT_CRASH:
			return stop(code, why, MICROVM_EXIT_CRASH, "system event: crash");
		default:
			return stop(code, why, MICROVM_EXIT_ERROR, "system event: unknown type");
		}
	case KVM_EXIT_INTERNAL_ERROR:
		return stop(code, why, MICROVM_EXIT_ERROR, "KVM internal error");
	case KVM_EXIT_FAIL_ENTRY:
		return stop(code, why, MICROVM_EXIT_ERROR, "KVM entry failed");
	case KVM_EXIT_INTR:
		return EXIT_CONTINUE;
	default:
		return stop(code, why, MICROVM_EXIT_ERROR, "unexpected KVM exit");
	}
}

/* ---- CPUID --------------------------------------------------------------------- */

static unsigned int order(unsigned int n)
{
	unsigned int s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

/* Each vCPU is a core of one package with one thread per core; APIC id =
 * vCPU index.  The hypervisor leaves (0x40000000..) stay exactly as KVM
 * reports them so kvmclock and PV features are found. */
void cpuid_patch(struct kvm_cpuid2 *c, unsigned int id, unsigned int ncpus)
{
	unsigned int core_shift = order(ncpus);

	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) | ((ncpus & 0xff) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: EBX[23:16] is valid */
			e->ecx |= 1u << 31;          /* hypervisor present */
			break;
		case 4:
			/* EAX[31:26]: cores per package - 1 */
			e->eax = (e->eax & 0x03ffffff) | ((ncpus - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0; /* SMT level */
			} else if (e->index == 1) {
				e->eax = core_shift;
				e->ebx = ncpus;
				e->ecx = (2u << 8) | 1; /* core level */
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xf0ffu) | (core_shift << 12) | (ncpus - 1);
			break;
		case 0x8000001e:
			e->eax = id;
			e->ebx = (e->ebx & ~0xffu) | id; /* core id, one thread per core */
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
}

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

static int setup_cpuid(struct vcpu *c, struct hull_err **err)
{
	struct vm *vm = c->vm;
	_cleanup_free_ struct kvm_cpuid2 *mine = NULL;
	size_t sz;

	if (!vm->cpuid) {
		for (unsigned int n = 128; n <= 4096; n *= 2) {
			struct kvm_cpuid2 *cp = xcalloc(1, sizeof(*cp) + n * sizeof(cp->entries[0]));
			cp->nent = n;
			if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cp) == 0) {
				vm->cpuid = cp;
				break;
			}
			free(cp);
			if (errno != E2BIG)
				return hull_err_make(err, errno, "KVM_GET_SUPPORTED_CPUID");
		}
		if (!vm->cpuid)
			return hull_err_make(err, E2BIG, "KVM_GET_SUPPORTED_CPUID");
		/* The in-kernel LAPIC emulates the TSC-deadline timer, but KVM lists
		 * it only as a capability, not in the supported CPUID.  Offered (as
		 * QEMU, Firecracker and Cloud Hypervisor do), Linux skips calibrating
		 * the LAPIC timer: 100 ms of busy-waiting at every boot. */
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
			for (uint32_t i = 0; i < vm->cpuid->nent; i++)
				if (vm->cpuid->entries[i].function == 1)
					vm->cpuid->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
	}
	sz = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	mine = xmalloc(sz);
	memcpy(mine, vm->cpuid, sz);
	cpuid_patch(mine, c->id, vm->ncpus);
	if (ioctl(c->fd, KVM_SET_CPUID2, mine) < 0)
		return hull_err_make(err, errno, "vcpu %u: KVM_SET_CPUID2", c->id);
	return 0;
}

/* ---- registers ----------------------------------------------------------------- */

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff

static int setup_msrs(struct vcpu *c, struct hull_err **err)
{
	static const struct { uint32_t index; uint64_t data; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 }, { MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 }, { MSR_CSTAR, 0 }, { MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 }, { MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 }, /* fast string operations */
		{ MSR_MTRR_DEF_TYPE, (1u << 11) | 6 }, /* MTRRs on, default write-back */
	};
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[ARRAY_SIZE(init)];
	} m = { .h.nmsrs = ARRAY_SIZE(init) };

	for (size_t i = 0; i < ARRAY_SIZE(init); i++)
		m.e[i] = (struct kvm_msr_entry){ .index = init[i].index, .data = init[i].data };
	int n = ioctl(c->fd, KVM_SET_MSRS, &m);
	if (n < 0)
		return hull_err_make(err, errno, "vcpu %u: KVM_SET_MSRS", c->id);
	if (n != (int)ARRAY_SIZE(init))
		hull_debug("vcpu %u: KVM_SET_MSRS set %d of %zu", c->id, n, ARRAY_SIZE(init));
	return 0;
}

/* LINT0 = ExtINT (the PIC), LINT1 = NMI, as the MP spec's virtual wire mode. */
static int setup_lapic(struct vcpu *c, struct hull_err **err)
{
	struct kvm_lapic_state l;
	uint32_t *lint0, *lint1;

	if (ioctl(c->fd, KVM_GET_LAPIC, &l) < 0)
		return hull_err_make(err, errno, "vcpu %u: KVM_GET_LAPIC", c->id);
	lint0 = (uint32_t *)&l.regs[0x350];
	lint1 = (uint32_t *)&l.regs[0x360];
	*lint0 = (*lint0 & ~0x700u) | (7u << 8); /* ExtINT */
	*lint1 = (*lint1 & ~0x700u) | (4u << 8); /* NMI */
	if (ioctl(c->fd, KVM_SET_LAPIC, &l) < 0)
		return hull_err_make(err, errno, "vcpu %u: KVM_SET_LAPIC", c->id);
	return 0;
}

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

/* struct kvm_segment holds the limit in bytes, as the VMCS/VMCB do: with
 * G set the descriptor's 20-bit limit counts 4 KiB pages.  (Long mode ignores
 * limits; the 32-bit PVH entry does not, and a 1 MiB limit faulted at once.) */
static uint32_t seg_limit(uint64_t e)
{
	uint32_t limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000));
	return (e >> 55) & 1 ? (limit << 12) | 0xfff : limit;
}

static struct kvm_segment seg_from_gdt(uint64_t e, uint8_t index)
{
	return (struct kvm_segment){
		.base = (uint32_t)(((e >> 16) & 0xffffff) | ((e >> 32) & 0xff000000)),
		.limit = seg_limit(e),
		.selector = (uint16_t)(index * 8),
		.type = (e >> 40) & 0xf,
		.present = (e >> 47) & 1,
		.dpl = (e >> 45) & 3,
		.db = (e >> 54) & 1,
		.s = (e >> 44) & 1,
		.l = (e >> 53) & 1,
		.g = (e >> 55) & 1,
		.avl = (e >> 52) & 1,
		.unusable = !((e >> 47) & 1),
	};
}

/* Identity page tables for the first 4 GiB with 2 MiB pages: PML4[0] ->
 * PDPT, PDPT[0..3] -> four page directories. */
static int write_page_tables(struct vm *vm, struct hull_err **err)
{
	uint64_t pml4 = LAYOUT_PDPT | 3, pdpt[4], pd[512];

	if (gm_write(&vm->gm, LAYOUT_PML4, &pml4, sizeof(pml4)) < 0)
		return hull_err_make(err, EFAULT, "page tables");
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + i * 0x1000) | 3;
	if (gm_write(&vm->gm, LAYOUT_PDPT, pdpt, sizeof(pdpt)) < 0)
		return hull_err_make(err, EFAULT, "page tables");
	for (unsigned int d = 0; d < 4; d++) {
		for (unsigned int i = 0; i < 512; i++)
			pd[i] = (((uint64_t)d << 30) + ((uint64_t)i << 21)) | 0x83; /* P, RW, PS */
		if (gm_write(&vm->gm, LAYOUT_PD + d * 0x1000, pd, sizeof(pd)) < 0)
			return hull_err_make(err, EFAULT, "page tables");
	}
	return 0;
}

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static int setup_regs(struct vcpu *c, struct hull_err **err)
{
	struct vm *vm = c->vm;
	bool pvh = vm->boot.pvh;
	/* null, code, data, TSS; code is 64-bit (L) for Linux, 32-bit (D) for PVH */
	uint64_t gdt[4] = { 0, gdt_entry(pvh ? 0xc09b : 0xa09b, 0, 0xfffff), gdt_entry(0xc093, 0, 0xfffff),
			    gdt_entry(0x808b, 0, 0xfffff) };
	uint64_t idt = 0;
	struct kvm_sregs s;
	struct kvm_regs r = { .rflags = 2 };
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return hull_err_make(err, errno, "vcpu %u: KVM_GET_SREGS", c->id);
	if (c->id == 0) {
		if (gm_write(&vm->gm, LAYOUT_GDT, gdt, sizeof(gdt)) < 0 ||
		    gm_write(&vm->gm, LAYOUT_IDT, &idt, sizeof(idt)) < 0)
			return hull_err_make(err, EFAULT, "GDT");
		if (!pvh && write_page_tables(vm, err) < 0)
			return -1;
	}
	s.gdt.base = LAYOUT_GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = LAYOUT_IDT;
	s.idt.limit = sizeof(idt) - 1;
	s.cs = seg_from_gdt(gdt[1], 1);
	s.ds = s.es = s.fs = s.gs = s.ss = seg_from_gdt(gdt[2], 2);
	s.tr = seg_from_gdt(gdt[3], 3);
	s.cr0 = CR0_PE | CR0_ET;
	s.cr4 = 0;
	s.efer = 0;
	if (pvh) {
		/* PVH: 32-bit protected mode, paging off, EBX = start_info. */
		r.rbx = LAYOUT_PVH_INFO;
	} else {
		s.cr3 = LAYOUT_PML4;
		s.cr4 |= CR4_PAE;
		s.cr0 |= CR0_PG;
		s.efer |= EFER_LME | EFER_LMA;
		r.rsp = r.rbp = LAYOUT_BOOT_STACK;
		r.rsi = LAYOUT_ZERO_PAGE;
	}
	r.rip = vm->boot.entry;
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		return hull_err_make(err, errno, "vcpu %u: KVM_SET_SREGS", c->id);
	/* Application processors wait for INIT/SIPI from the BSP in the in-kernel
	 * LAPIC; their registers are set by the SIPI. */
	if (c->id != 0)
		return 0;
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return hull_err_make(err, errno, "vcpu %u: KVM_SET_REGS", c->id);
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return hull_err_make(err, errno, "vcpu %u: KVM_SET_FPU", c->id);
	return 0;
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpus_create(struct vm *vm, struct hull_err **err)
{
	vm->ncpus = vm->cfg->cpus;
	vm->vcpus = xcalloc(vm->ncpus, sizeof(*vm->vcpus));
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		c->vm = vm;
		c->id = i;
		c->fd = -1;
	}
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (c->fd < 0)
			return hull_err_make(err, errno, "KVM_CREATE_VCPU %u", i);
		c->run = mmap(NULL, (size_t)vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (c->run == MAP_FAILED) {
			c->run = NULL;
			return hull_err_make(err, errno, "vcpu %u: mmap kvm_run", i);
		}
		if (setup_cpuid(c, err) < 0 || setup_msrs(c, err) < 0 || setup_lapic(c, err) < 0 ||
		    setup_regs(c, err) < 0)
			return -1;
	}
	return 0;
}

/* Park while a pause is asked for; vcpus_stop wakes us (under pause_lock,
 * so the exit check below cannot miss it). */
static void park(struct vcpu *c)
{
	struct vm *vm = c->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->nparked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (vm->pause_req && !vm_exiting(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nparked--;
	pthread_mutex_unlock(&vm->pause_lock);
	/* The pause kick set immediate_exit; vcpus_stop sets it after marking
	 * the VM exiting, which the loop checks next, so clearing it here never
	 * loses a stop. */
	__atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

static void count_exit(struct vm *vm, uint32_t reason)
{
	uint64_t *n = reason == KVM_EXIT_IO ? &vm->exits_io : reason == KVM_EXIT_MMIO ? &vm->exits_mmio
										      : &vm->exits_other;
	__atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vm *vm = c->vm;
	sigset_t set;
	int code = MICROVM_EXIT_ERROR;
	const char *why = "";

	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* Before the guest runs on this vCPU: from here on, what its exits
	 * reach is filtered (seccomp.c). */
	if (vm->vcpu_filter.insns) {
		struct hull_err *e = NULL;

		if (vm_seccomp_apply(MICROVM_THREAD_VCPU, &vm->vcpu_filter, vm->cfg->jail, &e) < 0) {
			char msg[160];
			snprintf(msg, sizeof(msg), "vcpu %u: %s", c->id, e->msg);
			hull_err_free(&e);
			vm_request_exit(vm, MICROVM_EXIT_ERROR, msg);
		}
	}
	for (;;) {
		if (vm_exiting(vm))
			break;
		if (__atomic_load_n(&vm->pause_req, __ATOMIC_SEQ_CST)) {
			park(c);
			continue;
		}
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char msg[96];
			snprintf(msg, sizeof(msg), "vcpu %u: KVM_RUN: %s", c->id, strerror(errno));
			vm_request_exit(vm, MICROVM_EXIT_ERROR, msg);
			break;
		}
		count_exit(vm, c->run->exit_reason);
		if (vcpu_handle_exit(&vm->pio, &vm->mmio, c->run, &code, &why) == EXIT_STOP) {
			char msg[128];
			if (c->run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
				snprintf(msg, sizeof(msg), "vcpu %u: %s (suberror %u)", c->id, why,
					 c->run->internal.suberror);
			else if (c->run->exit_reason == KVM_EXIT_FAIL_ENTRY)
				snprintf(msg, sizeof(msg), "vcpu %u: %s (reason 0x%llx)", c->id, why,
					 (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
			else
				snprintf(msg, sizeof(msg), "vcpu %u: %s (exit %u)", c->id, why, c->run->exit_reason);
			vm_request_exit(vm, code, msg);
			break;
		}
	}
	pthread_mutex_lock(&vm->pause_lock);
	vm->nexited++;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return NULL;
}

static void kick_all(struct vm *vm)
{
	/* immediate_exit makes a KVM_RUN that races with the kick return at once. */
	for (unsigned int i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].run)
			__atomic_store_n(&vm->vcpus[i].run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].started)
			pthread_kill(vm->vcpus[i].thread, KICK_SIGNAL);
}

void vcpus_pause(struct vm *vm, bool pause)
{
	unsigned int started = 0;

	for (unsigned int i = 0; i < vm->ncpus; i++)
		started += vm->vcpus[i].started;
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->pause_req, pause, __ATOMIC_SEQ_CST);
	if (!pause) {
		pthread_cond_broadcast(&vm->pause_cond);
		pthread_mutex_unlock(&vm->pause_lock);
		return;
	}
	pthread_mutex_unlock(&vm->pause_lock);
	kick_all(vm);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nparked + vm->nexited < started && !vm_exiting(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

/* A vCPU thread needs a few KiB of stack (exit handling, device callbacks,
 * snprintf); glibc's default is 8 MiB, and on a host whose THP policy is
 * "always" the first touch of such a stack is a whole 2 MiB huge page, most
 * of the VMM's own resident memory.  256 KiB cannot hold a huge page and
 * leaves room for sanitizer builds. */
#define VCPU_STACK_SIZE (256u << 10)

int vcpus_start(struct vm *vm, struct hull_err **err)
{
	struct sigaction sa = { .sa_handler = kick_handler }; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigset_t set, old;
	pthread_attr_t attr;
	int r = 0;

	sigaction(KICK_SIGNAL, &sa, NULL);
	/* Threads start with the kick signal blocked and unblock it themselves,
	 * so only vCPU threads ever take it. */
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VCPU_STACK_SIZE);
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		int e = pthread_create(&c->thread, &attr, vcpu_thread, c);
		if (e != 0) {
			r = hull_err_make(err, e, "vcpu %u: pthread_create", i);
			break;
		}
		c->started = true;
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void vcpus_stop(struct vm *vm)
{
	/* Make sure every loop sees "exiting" (no-op when an exit was requested). */
	vm_request_exit(vm, MICROVM_EXIT_ERROR, "VMM stopping");
	/* wake parked vCPUs (they see "exiting") and whoever waits for them */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	/* immediate_exit makes a KVM_RUN that races with the kick return at once. */
	for (unsigned int i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].run)
			__atomic_store_n(&vm->vcpus[i].run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		if (!c->started)
			continue;
		pthread_kill(c->thread, KICK_SIGNAL);
		pthread_join(c->thread, NULL);
		c->started = false;
	}
}

void vcpus_destroy(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	vcpus_stop(vm);
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		if (c->run)
			munmap(c->run, (size_t)vm->vcpu_mmap_size);
		if (c->fd >= 0)
			close(c->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
}
