/* kvm-probe: check that /dev/kvm can run a guest.
 *
 * Opens /dev/kvm, checks the API version, creates a VM and one vCPU, and runs
 * three instructions in real mode (mov $42,%al; out %al,$0x10; hlt), so a
 * pass means hardware virtualization really executes guest code, not only
 * that the ioctls exist.  Prints one line per step:
 *
 *   api 12
 *   create_vm ok
 *   create_vcpu ok
 *   exit io port=0x10 value=42
 *   exit hlt
 *
 * and exits 0, or names the failing step and exits 1.  Built static by
 * tests/testhost/run-suite into build/bin/kvm-probe, so it runs in the test
 * host and in any rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_ADDR 0x1000
#define GUEST_SIZE 0x1000
#define PROBE_PORT 0x10
#define PROBE_VALUE 42

static int fail(const char *step)
{
	printf("%s failed: %s\n", step, strerror(errno));
	return 1;
}

static int run_once(int vcpu)
{
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN");
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	static const uint8_t code[] = {
		0xb0, PROBE_VALUE,	/* mov $42, %al */
		0xe6, PROBE_PORT,	/* out %al, $0x10 */
		0xf4,			/* hlt */
	};

	int kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api < 0)
		return fail("KVM_GET_API_VERSION");
	printf("api %d\n", api);

	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	printf("create_vm ok\n");

	uint8_t *mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = GUEST_ADDR,
		.memory_size = GUEST_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	printf("create_vcpu ok\n");

	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	/* Real mode, flat code segment at 0: the guest starts at GUEST_ADDR. */
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = GUEST_ADDR, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	if (run_once(vcpu))
		return 1;
	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.size != 1 || run->io.count != 1) {
		printf("first exit: reason %u, want KVM_EXIT_IO out\n", run->exit_reason);
		return 1;
	}
	/* data_offset comes from the kernel; keep the read inside the mapping. */
	if (run->io.data_offset >= (uint64_t)run_size) {
		printf("first exit: data_offset %llu outside kvm_run\n", (unsigned long long)run->io.data_offset);
		return 1;
	}
	printf("exit io port=0x%x value=%u\n", run->io.port, ((uint8_t *)run)[run->io.data_offset]);

	if (run_once(vcpu))
		return 1;
	if (run->exit_reason != KVM_EXIT_HLT) {
		printf("second exit: reason %u, want KVM_EXIT_HLT\n", run->exit_reason);
		return 1;
	}
	printf("exit hlt\n");
	return 0;
}
