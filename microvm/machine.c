/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The machine: a table of {name, init, exit} stages.  Init walks forward;
 * on failure, and at the end, teardown walks back over exactly the stages
 * whose init ran (kvmtool's init_list, without dying half-way); each exit
 * copes with its own init having failed half-way.
 */
#include "microvm/internal.h"
#include "microvm/virtio/virtio.h"
#include "microvm/x86/x86.h"

#include <sys/epoll.h>

static int st_kvm(struct vm *vm, struct hull_err **err)
{
	return vm_open(vm, vm->cfg, err);
}

static void st_kvm_exit(struct vm *vm)
{
	vm_close(vm);
}

static int st_memory(struct vm *vm, struct hull_err **err)
{
	return vm_setup_memory(vm, err);
}

static int st_evloop(struct vm *vm, struct hull_err **err)
{
	vm->loop = evloop_new(err);
	return vm->loop ? 0 : -1;
}

static void st_evloop_exit(struct vm *vm)
{
	evloop_free(vm->loop);
	vm->loop = NULL;
}

static int st_platform(struct vm *vm, struct hull_err **err)
{
	return platform_devices_init(vm, err);
}

static int st_boot_timer(struct vm *vm, struct hull_err **err)
{
	return boot_timer_init(vm, err);
}

static int st_pci(struct vm *vm, struct hull_err **err)
{
	vm->pci = xcalloc(1, sizeof(*vm->pci));
	pci_bus_init(vm->pci, vm, &vm->mmio);
	return pci_bus_attach(vm->pci, &vm->pio, &vm->mmio, err);
}

static void st_pci_exit(struct vm *vm)
{
	pci_bus_destroy(vm->pci);
	free(vm->pci);
	vm->pci = NULL;
}

static int st_serial(struct vm *vm, struct hull_err **err)
{
	int in = vm->cfg->console == MICROVM_CONSOLE_SERIAL ? vm->cfg->console_in : -1;
	vm->serial = serial_create(vm, in, vm->cfg->console_out, err);
	return vm->serial ? 0 : -1;
}

static void st_serial_exit(struct vm *vm)
{
	serial_destroy(vm->serial);
	vm->serial = NULL;
}

static int st_power_button(struct vm *vm, struct hull_err **err)
{
	if (vm->cfg->power_button_fd < 0)
		return 0;
	vm->ged = ged_create(vm, vm->cfg->power_button_fd, err);
	return vm->ged ? 0 : -1;
}

static void st_power_button_exit(struct vm *vm)
{
	ged_destroy(vm->ged);
	vm->ged = NULL;
}

static int st_virtio(struct vm *vm, struct hull_err **err)
{
	return virtio_devices_plug(vm, err);
}

static void st_virtio_exit(struct vm *vm)
{
	virtio_devices_unplug(vm);
}

static int st_vfio(struct vm *vm, struct hull_err **err)
{
	return vfio_devices_plug(vm, err);
}

static void st_vfio_exit(struct vm *vm)
{
	vfio_devices_unplug(vm);
}

static int st_kernel(struct vm *vm, struct hull_err **err)
{
	return boot_load(vm, err);
}

static int st_acpi(struct vm *vm, struct hull_err **err)
{
	struct acpi_tables t;
	int r;

	if (acpi_build(&t, LAYOUT_ACPI, vm->cfg->cpus, err) < 0)
		return -1;
	r = gm_write(&vm->gm, LAYOUT_ACPI, t.blob, t.len);
	acpi_tables_free(&t);
	return r < 0 ? hull_err_make(err, EFAULT, "ACPI tables") : 0;
}

static int st_vcpus(struct vm *vm, struct hull_err **err)
{
	return vcpus_create(vm, err);
}

static void st_vcpus_exit(struct vm *vm)
{
	vcpus_destroy(vm);
}

static const struct stage {
	const char *name;
	int (*init)(struct vm *vm, struct hull_err **err);
	void (*exit)(struct vm *vm);
} stages[] = {
	{ "kvm", st_kvm, st_kvm_exit },
	{ "memory", st_memory, NULL },
	{ "event loop", st_evloop, st_evloop_exit },
	{ "platform", st_platform, NULL },
	{ "boot timer", st_boot_timer, NULL },
	{ "pci", st_pci, st_pci_exit },
	{ "serial", st_serial, st_serial_exit },
	{ "power button", st_power_button, st_power_button_exit },
	{ "virtio", st_virtio, st_virtio_exit },
	{ "vfio", st_vfio, st_vfio_exit },
	{ "kernel", st_kernel, NULL },
	{ "acpi", st_acpi, NULL },
	{ "vcpus", st_vcpus, st_vcpus_exit },
};

static void teardown(struct vm *vm, size_t done)
{
	/* vCPUs stop first so no device runs while being destroyed. */
	if (vm->vcpus)
		vcpus_stop(vm);
	while (done--)
		if (stages[done].exit)
			stages[done].exit(vm);
}

void microvm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->mem_mib = 128;
	cfg->console = MICROVM_CONSOLE_SERIAL;
	cfg->console_in = STDIN_FILENO;
	cfg->console_out = STDOUT_FILENO;
	cfg->power_button_fd = -1;
	cfg->seccomp = true;
}

int vm_net_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int end = 0;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
	    s[end] != '\0' || end != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	/* a multicast (group) address cannot be an interface's address */
	return (mac[0] & 1) ? -1 : 0;
}

/* Everything a user can get wrong is checked before /dev/kvm is touched. */
static int check_config(const struct vm_config *cfg, struct hull_err **err)
{
	if (!cfg->kernel)
		return hull_err_make(err, 0, "--kernel is required");
	if (cfg->jail && !cfg->seccomp)
		return hull_err_make(err, 0, "a jail needs the seccomp filters (its threads enter it before theirs)");
	if (cfg->cpus < 1 || cfg->cpus > MICROVM_MAX_CPUS)
		return hull_err_make(err, 0, "--cpus %u: must be 1..%d", cfg->cpus, MICROVM_MAX_CPUS);
	if (cfg->mem_mib < LAYOUT_MEM_MIN_MIB || cfg->mem_mib > LAYOUT_MEM_MAX_MIB)
		return hull_err_make(err, 0, "--memory %" PRIu64 ": must be %d..%d MiB", cfg->mem_mib,
				     LAYOUT_MEM_MIN_MIB, LAYOUT_MEM_MAX_MIB);
	if (boot_check_kernel(cfg->kernel, err) < 0)
		return -1;
	if (cfg->initrd && access(cfg->initrd, R_OK) < 0)
		return hull_err_make(err, errno, "--initrd %s", cfg->initrd);
	if (virtio_devices_check(cfg, err) < 0)
		return -1;
	return 0;
}

static void exit_ready(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	if (read(vm->exit_evt, &v, sizeof(v)) < 0 && errno != EAGAIN)
		hull_debug("exit eventfd: %s", strerror(errno));
	if (vm_exiting(vm))
		evloop_stop(vm->loop);
}

int microvm_run(const struct vm_config *cfg, int *exit_code, struct hull_err **err)
{
	struct vm vm = { .cfg = cfg, .kvm_fd = -1, .vm_fd = -1, .ram_fd = -1, .exit_evt = -1, .exit_code = -1,
			 .pause_lock = PTHREAD_MUTEX_INITIALIZER, .pause_cond = PTHREAD_COND_INITIALIZER };
	struct confine_filter vmm_filter = { 0 };
	size_t done = 0;
	int r = -1;

	*exit_code = MICROVM_EXIT_ERROR;
	if (cfg->dump_acpi) {
		struct acpi_tables t;
		if (acpi_build(&t, LAYOUT_ACPI, cfg->cpus, err) < 0)
			return -1;
		r = acpi_dump(&t, cfg->dump_acpi, err);
		acpi_tables_free(&t);
		if (r == 0)
			*exit_code = MICROVM_EXIT_POWEROFF;
		return r;
	}
	if (check_config(cfg, err) < 0) {
		ctl_detach(cfg->ctl);
		return -1;
	}
	for (; done < ARRAY_SIZE(stages); done++) {
		if (stages[done].init(&vm, err) < 0) {
			/* vm_open's own error is the whole story (e.g. PVM, no /dev/kvm). */
			if (done > 0)
				hull_err_wrap(err, "%s", stages[done].name);
			done++; /* every exit copes with its init having failed half-way */
			goto out;
		}
	}
	r = evloop_add(vm.loop, vm.exit_evt, EPOLLIN, exit_ready, &vm);
	if (r < 0) {
		r = hull_err_make(err, -r, "event loop");
		goto out;
	}
	/* Compiled before any vCPU runs; each vCPU thread loads the shared
	 * program, this thread its own once they are started: before it
	 * handles anything the guest sent (the event loop). */
	if (cfg->seccomp && (vm_seccomp_prepare(MICROVM_THREAD_VCPU, &vm.vcpu_filter, err) < 0 ||
			     vm_seccomp_prepare(MICROVM_THREAD_VMM, &vmm_filter, err) < 0)) {
		r = hull_err_wrap(err, "seccomp");
		goto out;
	}
	r = vcpus_start(&vm, err);
	if (r == 0 && vmm_filter.insns)
		r = vm_seccomp_apply(MICROVM_THREAD_VMM, &vmm_filter, cfg->jail, err);
	if (r == 0) {
		ctl_attach(cfg->ctl, &vm);
		r = evloop_run(vm.loop, err);
	}
	ctl_detach(cfg->ctl);
	vcpus_stop(&vm);
	if (r == 0) {
		pthread_mutex_lock(&vm.exit_lock);
		int code = vm.exit_code;
		pthread_mutex_unlock(&vm.exit_lock);
		hull_debug("microvm: %s", vm.exit_reason ? vm.exit_reason : "stopped");
		/* Its exit status says a crash; this says which (a triple fault
		 * or the guest's own report), for whoever reads the log. */
		if (code == MICROVM_EXIT_CRASH)
			hull_warn("microvm: the guest crashed: %s", vm.exit_reason ? vm.exit_reason : "no reason");
		if (code == MICROVM_EXIT_ERROR)
			r = hull_err_make(err, 0, "%s", vm.exit_reason ? vm.exit_reason : "VMM error");
		else
			*exit_code = code;
	}
out:
	ctl_detach(cfg->ctl);  /* a waiter learns that the VM never started */
	teardown(&vm, done);
	free(vm.vcpu_filter.insns);
	free(vmm_filter.insns);
	return r;
}
