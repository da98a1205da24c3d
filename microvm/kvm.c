/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KVM VM: /dev/kvm, the in-kernel irqchip and PIT, guest RAM and its
 * memory slots, GSI routing, irqfds and ioeventfds.
 *
 * Guest RAM is one host mapping of mem_size bytes (anonymous, or a memfd
 * with --hugepages or a vhost-user device) split around the 32-bit MMIO hole: slot 0 maps
 * [0, min(mem, 3 GiB)) and slot 1 maps the rest at 4 GiB.
 */
#include "microvm/internal.h"

#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

static bool path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* PVM (pagetable-based virtual machine) exposes /dev/kvm without VMX/SVM: a
 * stock kernel would spin or fault, so refuse up front with a clear message. */
static bool kvm_is_pvm(void)
{
	return path_exists("/sys/module/kvm_pvm") && !path_exists("/sys/module/kvm_intel") &&
	       !path_exists("/sys/module/kvm_amd");
}

static int pvm_refuse(struct hull_err **err)
{
	return hull_err_make(err, 0, "/dev/kvm is PVM (kvm_pvm): a PVM-enabled guest kernel is required");
}

int microvm_check_host(struct hull_err **err)
{
	int fd;

	if (kvm_is_pvm())
		return pvm_refuse(err);
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "/dev/kvm");
	close(fd);
	return 0;
}

int vm_open(struct vm *vm, const struct vm_config *cfg, struct hull_err **err)
{
	int ver;

	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->ram_fd = vm->exit_evt = -1;
	vm->exit_code = -1;
	vm->next_gsi = LAYOUT_MSI_GSI_BASE;
	pthread_mutex_init(&vm->route_lock, NULL);
	pthread_mutex_init(&vm->exit_lock, NULL);
	bus_init(&vm->pio, "port");
	bus_init(&vm->mmio, "mmio");

	if (kvm_is_pvm())
		return pvm_refuse(err);
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return hull_err_make(err, errno, "/dev/kvm");
	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return hull_err_make(err, 0, "/dev/kvm: API version %d, want %d", ver, KVM_API_VERSION);
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size < (int)sizeof(struct kvm_run))
		return hull_err_make(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
	for (;;) {
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
		if (vm->vm_fd >= 0 || errno != EINTR)
			break;
	}
	if (vm->vm_fd < 0)
		return hull_err_make(err, errno, "KVM_CREATE_VM");
	/* The TSS (3 pages) and EPT identity map page sit just below the BIOS
	 * area, outside RAM and outside every bus range. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) < 0)
		return hull_err_make(err, errno, "KVM_SET_TSS_ADDR");
	uint64_t idmap = LAYOUT_IDENTITY_MAP;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return hull_err_make(err, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return hull_err_make(err, errno, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return hull_err_make(err, errno, "KVM_CREATE_PIT2");
	vm->ioeventfd_any_len = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	vm->exit_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_evt < 0)
		return hull_err_make(err, errno, "eventfd");
	return 0;
}

/* Guest RAM starts on a 2 MiB boundary of the host address space, so that
 * a transparent huge page backs each guest-physical 2 MiB frame one to one
 * and KVM maps it with one nested (NPT/EPT) entry.  Unaligned, every 4 KiB
 * the guest touches first is a nested page fault handled by the host kernel:
 * booting Linux touches tens of MiB (~27,000 faults, over a second of a
 * nested test host's boot).  Nothing is prefaulted: THP only changes the
 * granule in which the guest's own touches are backed.  fd >= 0 maps that
 * (shared) file at the aligned address instead of anonymous memory. */
static void *map_aligned(uint64_t len, int fd)
{
	const uint64_t align = MiB(2);
	uint8_t *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	uint64_t head;

	if (p == MAP_FAILED)
		return MAP_FAILED;
	head = (align - ((uintptr_t)p & (align - 1))) & (align - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + len, align - head); /* align - head > 0: the tail is never empty */
	if (fd >= 0 && mmap(p + head, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED, fd, 0) ==
			       MAP_FAILED) {
		int e = errno;
		munmap(p + head, len);
		errno = e;
		return MAP_FAILED;
	}
	return p + head;
}

/* RAM another process maps too (vhost-user backends): a memfd whose size is
 * sealed, so the backend can trust that its mapping never shrinks under it
 * (vhost_user_backend.c refuses anything else). */
static int ram_memfd(struct vm *vm, bool huge, struct hull_err **err)
{
	const char *what = huge ? "--hugepages" : "shared guest RAM";
	int fd = memfd_create("hull-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING | (huge ? MFD_HUGETLB : 0));

	if (fd < 0)
		return hull_err_make(err, errno, "%s: memfd_create", what);
	if (ftruncate(fd, (off_t)vm->mem_size) < 0) {
		int e = errno;
		close(fd);
		if (huge)
			return hull_err_make(err, e, "--hugepages: size %" PRIu64 " MiB (not a multiple of the huge page "
					     "size, or none reserved in /proc/sys/vm/nr_hugepages?)", vm->mem_size >> 20);
		return hull_err_make(err, e, "%s: size %" PRIu64 " MiB", what, vm->mem_size >> 20);
	}
	if (vm->cfg->nfs && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int e = errno;
		close(fd);
		return hull_err_make(err, e, "%s: F_ADD_SEALS", what);
	}
	return fd;
}

/* Shared RAM in transparent huge pages whatever the host's shmem policy.  A
 * memfd gets THP only when /sys/kernel/mm/transparent_hugepage/shmem_enabled
 * allows it, and Debian's default is "never": every 4 KiB the guest touches
 * is then a nested page fault, and a VM container's boot took 3.0x a bare
 * boot in the test host against 0.9x in huge pages (BENCHMARKS.md).  A
 * tmpfs instance of our own with huge=within_size decides for itself; it is
 * mounted nowhere (fsmount without move_mount: no mount table sees it) and
 * the file is unlinked at once, so both go with the last fd and mapping.
 * Such a file cannot be sealed: the file server accepts it as tmpfs and
 * turns a shrink into a clean exit (vhost_user_backend.c, virtiofs/confine.c).
 * Returns -2 where the kernel has no huge tmpfs (no THP) or the caller may
 * not make a tmpfs (no CAP_SYS_ADMIN): the caller then takes the memfd. */
static int ram_tmpfs(struct vm *vm, struct hull_err **err)
{
	char size[32];
	int fs, mnt, fd;

	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return errno == EPERM || errno == ENOSYS || errno == ENODEV ? -2 :
		       hull_err_make(err, errno, "shared guest RAM: fsopen tmpfs");
	snprintf(size, sizeof(size), "%" PRIu64, vm->mem_size);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "huge", "within_size", 0) < 0) {
		int e = errno;
		close(fs);
		return e == EINVAL ? -2 : hull_err_make(err, e, "shared guest RAM: tmpfs huge=within_size");
	}
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = errno;
		close(fs);
		return hull_err_make(err, e, "shared guest RAM: tmpfs size=%s", size);
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	close(fs);
	if (mnt < 0)
		return hull_err_make(err, errno, "shared guest RAM: fsmount tmpfs");
	/* Named, then unlinked: /proc/PID/smaps still says what the mapping is. */
	fd = openat(mnt, "hull-guest-ram", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || unlinkat(mnt, "hull-guest-ram", 0) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		close(mnt);
		return hull_err_make(err, e, "shared guest RAM: hull-guest-ram in its tmpfs");
	}
	close(mnt);
	if (ftruncate(fd, (off_t)vm->mem_size) < 0) {
		int e = errno;
		close(fd);
		return hull_err_make(err, e, "shared guest RAM: size %" PRIu64 " MiB", vm->mem_size >> 20);
	}
	return fd;
}

static int map_ram(struct vm *vm, struct hull_err **err)
{
	int fd = -2;

	if (vm->cfg->nfs && !vm->cfg->hugepages) {
		fd = ram_tmpfs(vm, err);
		if (fd == -1)
			return -1;
	}
	if (fd == -2 && (vm->cfg->hugepages || vm->cfg->nfs)) {
		fd = ram_memfd(vm, vm->cfg->hugepages, err);
		if (fd < 0)
			return -1;
	}
	if (fd == -2)
		fd = -1;
	if (vm->cfg->hugepages)
		vm->ram = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	else
		vm->ram = map_aligned(vm->mem_size, fd);
	if (vm->ram == MAP_FAILED) {
		int e = errno;
		vm->ram = NULL;
		if (fd >= 0)
			close(fd);
		return hull_err_make(err, e, "mmap guest RAM (%" PRIu64 " MiB)", vm->mem_size >> 20);
	}
	vm->ram_fd = fd;
	/* KSM merges only private anonymous memory: on shared RAM (--fs) the
	 * kernel accepts the advice and ignores it. */
	if (vm->cfg->ksm && madvise(vm->ram, vm->mem_size, MADV_MERGEABLE) < 0)
		return hull_err_make(err, errno, "--ksm: madvise(MADV_MERGEABLE)");
	/* THP even where the host's policy is "madvise" (QEMU asks the same);
	 * not with --ksm, which shares 4 KiB pages and would split them again.
	 * A host without THP (or, for the shared memfd, with shmem_enabled
	 * "never") says EINVAL or ignores it: RAM then stays in small pages. */
	if (!vm->cfg->hugepages && !vm->cfg->ksm)
		madvise(vm->ram, vm->mem_size, MADV_HUGEPAGE);
	/* Guest RAM never goes into a core dump of the VMM. */
	madvise(vm->ram, vm->mem_size, MADV_DONTDUMP);
	return 0;
}

static int add_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, uint8_t *hva, struct hull_err **err)
{
	uint64_t off = (uint64_t)(hva - vm->ram);
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return hull_err_make(err, errno, "KVM_SET_USER_MEMORY_REGION slot %u", slot);
	return gm_add_region_fd(&vm->gm, gpa, size, hva, vm->ram_fd, off, err);
}

uint32_t vm_slot_alloc(struct vm *vm)
{
	return 2 + vm->extra_slots++; /* 0 and 1: RAM below and above the hole */
}

int vm_set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva, struct hull_err **err)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return hull_err_make(err, errno, "KVM_SET_USER_MEMORY_REGION slot %u at 0x%" PRIx64, slot, gpa);
	return 0;
}

int vm_setup_memory(struct vm *vm, struct hull_err **err)
{
	int r;

	vm->mem_size = vm->cfg->mem_mib << 20;
	vm->ram_low = vm->mem_size < LAYOUT_RAM_LOW_MAX ? vm->mem_size : LAYOUT_RAM_LOW_MAX;
	vm->ram_high = vm->mem_size - vm->ram_low;
	r = map_ram(vm, err);
	if (r < 0)
		return r;
	r = add_slot(vm, 0, 0, vm->ram_low, vm->ram, err);
	if (r < 0)
		return r;
	if (vm->ram_high)
		r = add_slot(vm, 1, LAYOUT_RAM_HIGH, vm->ram_high, vm->ram + vm->ram_low, err);
	return r;
}

void vm_close(struct vm *vm)
{
	if (vm->ram)
		munmap(vm->ram, vm->mem_size);
	vm->ram = NULL;
	if (vm->ram_fd >= 0)
		close(vm->ram_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->exit_evt >= 0)
		close(vm->exit_evt);
	vm->ram_fd = vm->vm_fd = vm->kvm_fd = vm->exit_evt = -1;
	free(vm->cpuid);
	vm->cpuid = NULL;
	free(vm->exit_reason);
	vm->exit_reason = NULL;
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_mutex_destroy(&vm->route_lock);
	pthread_mutex_destroy(&vm->exit_lock);
}

void vm_request_exit(struct vm *vm, int code, const char *why)
{
	uint64_t one = 1;
	bool first = false;

	pthread_mutex_lock(&vm->exit_lock);
	if (vm->exit_code < 0) {
		vm->exit_code = code;
		vm->exit_reason = xstrdup(why);
		first = true;
	}
	pthread_mutex_unlock(&vm->exit_lock);
	if (first && vm->exit_evt >= 0 && write(vm->exit_evt, &one, sizeof(one)) < 0)
		hull_warn("microvm: exit eventfd: %s", strerror(errno));
}

bool vm_exiting(struct vm *vm)
{
	bool r;
	pthread_mutex_lock(&vm->exit_lock);
	r = vm->exit_code >= 0;
	pthread_mutex_unlock(&vm->exit_lock);
	return r;
}

int vm_msi_alloc(struct vm *vm, unsigned int count, uint32_t *gsi, struct hull_err **err)
{
	pthread_mutex_lock(&vm->route_lock);
	if (vm->next_gsi + count > LAYOUT_MAX_GSI) {
		pthread_mutex_unlock(&vm->route_lock);
		return hull_err_make(err, ENOSPC, "MSI GSIs exhausted");
	}
	*gsi = vm->next_gsi;
	vm->next_gsi += count;
	pthread_mutex_unlock(&vm->route_lock);
	return 0;
}

/* KVM_SET_GSI_ROUTING replaces the whole table, so every commit rebuilds the
 * default irqchip routes (ISA IRQs on both PICs and the IOAPIC, pins 16..23
 * on the IOAPIC) followed by the valid MSI routes.  Caller holds route_lock. */
static int commit_routes(struct vm *vm)
{
	size_t max = 16 * 2 + LAYOUT_IOAPIC_PINS + ARRAY_SIZE(vm->msi);
	_cleanup_free_ struct kvm_irq_routing *t =
		xcalloc(1, sizeof(*t) + max * sizeof(struct kvm_irq_routing_entry));
	struct kvm_irq_routing_entry *e = t->entries;
	unsigned int n = 0;

	for (uint32_t i = 0; i < 16; i++) {
		if (i == 2)
			continue; /* the cascade */
		e[n++] = (struct kvm_irq_routing_entry){ .gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				       .pin = i & 7 } };
	}
	for (uint32_t i = 0; i < LAYOUT_IOAPIC_PINS; i++)
		e[n++] = (struct kvm_irq_routing_entry){ .gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = i } };
	for (uint32_t i = 0; i < ARRAY_SIZE(vm->msi); i++) {
		if (!vm->msi[i].valid)
			continue;
		e[n++] = (struct kvm_irq_routing_entry){ .gsi = LAYOUT_MSI_GSI_BASE + i, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)vm->msi[i].addr,
				   .address_hi = (uint32_t)(vm->msi[i].addr >> 32), .data = vm->msi[i].data } };
	}
	t->nr = n;
	return ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0 ? -errno : 0;
}

int vm_msi_route(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, bool valid)
{
	int r;

	if (gsi < LAYOUT_MSI_GSI_BASE || gsi >= LAYOUT_MAX_GSI)
		return -EINVAL;
	pthread_mutex_lock(&vm->route_lock);
	uint32_t i = gsi - LAYOUT_MSI_GSI_BASE;
	if (vm->msi[i].valid == valid && (!valid || (vm->msi[i].addr == addr && vm->msi[i].data == data))) {
		pthread_mutex_unlock(&vm->route_lock);
		return 0;
	}
	vm->msi[i].addr = addr;
	vm->msi[i].data = data;
	vm->msi[i].valid = valid;
	r = commit_routes(vm);
	pthread_mutex_unlock(&vm->route_lock);
	return r;
}

int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
	return ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool assign)
{
	struct kvm_ioeventfd e = { .addr = addr, .len = len, .fd = fd,
				   .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN };
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
}
